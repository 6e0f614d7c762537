"""Sync failures, each in plain words (zh-TW and English) for the status line and doctor."""

from __future__ import annotations


class SyncError(Exception):
    """A round could not finish; nothing unconfirmed was marked as sent.

    zh, en: what happened, in words an office's staff understand.
    detail: the technical cause, for logs and `kiosk doctor`.
    """

    def __init__(self, zh: str, en: str, detail: str = ""):
        self.zh, self.en, self.detail = zh, en, detail
        super().__init__(f"{zh} / {en}" + (f" ({detail})" if detail else ""))

    def words(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


def not_configured() -> SyncError:
    return SyncError("未設定收集伺服器", "no collector configured ([sync] url)")


def no_token() -> SyncError:
    return SyncError("未設定同步憑證", "no sync token configured ([sync] token or KIOSK_SYNC_TOKEN)")


def unreachable(detail: str) -> SyncError:
    return SyncError("無法連線到收集伺服器", "cannot reach the collector", detail)


def timed_out(detail: str) -> SyncError:
    return SyncError("收集伺服器沒有及時回應", "the collector did not answer in time", detail)


def cut_off(detail: str) -> SyncError:
    return SyncError("連線在傳輸中斷開，回應不完整", "the connection broke off; the answer was incomplete", detail)


def captive_portal(detail: str) -> SyncError:
    return SyncError(
        "收到非預期的回應（可能是網路登入頁面）", "unexpected response (maybe a captive portal login page)", detail
    )


def bad_answer(detail: str) -> SyncError:
    return SyncError("收集伺服器的回應格式不符", "the collector's answer is not in the expected form", detail)


def unauthorized(detail: str) -> SyncError:
    return SyncError("同步憑證無效或已撤銷", "the sync token is unknown or revoked", detail)


def rejected(status: int, detail: str) -> SyncError:
    return SyncError(
        f"收集伺服器拒絕了這批資料（HTTP {status}）", f"the collector refused the batch (HTTP {status})", detail
    )


def server_error(status: int, detail: str) -> SyncError:
    return SyncError(f"收集伺服器發生錯誤（HTTP {status}）", f"the collector had an error (HTTP {status})", detail)


def unexpected_status(status: int, detail: str) -> SyncError:
    return SyncError(f"收到非預期的回應（HTTP {status}）", f"unexpected response (HTTP {status})", detail)


def no_progress(detail: str) -> SyncError:
    return SyncError("收集伺服器未確認收到資料", "the collector did not confirm the events", detail)


def local_data(detail: str) -> SyncError:
    return SyncError("無法讀寫本機資料檔", "cannot read or write the local data file", detail)
