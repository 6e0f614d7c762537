"""Administrator settings kept in the collector's database (admin_settings), with defaults.

Secrets never live here: the SMTP password comes from $KIOSK_COLLECTOR_SMTP_PASSWORD
and the webhook signing key from $KIOSK_COLLECTOR_WEBHOOK_SECRET.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Option:
    """One setting: its key and type, and what the Settings page says of it, zh-TW first."""

    key: str
    kind: type
    default: Any
    doc: str  # the English description
    secret: bool = False  # shown to managers only, masked (a webhook URL may hold its own key)
    name_zh: str = ""
    doc_zh: str = ""
    name_en: str = ""


OPTIONS = [
    Option(
        "report.min_n",
        int,
        30,
        "Below this many counted responses a figure shows 回覆數不足 (too few responses).",
        name_zh="最少回覆數",
        doc_zh="有效回覆少於此數時，百分比、指數與信賴區間一律顯示「回覆數不足」。",
        name_en="Minimum responses",
    ),
    Option(
        "alerts.webhook_url",
        str,
        "",
        "POST each alert as JSON here (empty: no webhook).",
        secret=True,
        name_zh="通報 Webhook 網址",
        doc_zh="每則通報以 JSON 送到此網址（留空：不送 webhook）。",
        name_en="Alert webhook URL",
    ),
    Option(
        "alerts.smtp_host",
        str,
        "",
        "SMTP server for alert e-mail (empty: no e-mail).",
        name_zh="通報郵件伺服器",
        doc_zh="寄送通報電子郵件的 SMTP 伺服器（留空：不寄郵件）。",
        name_en="Alert mail server",
    ),
    Option(
        "alerts.smtp_port",
        int,
        25,
        "SMTP port.",
        name_zh="郵件伺服器埠號",
        doc_zh="SMTP 伺服器的連接埠。",
        name_en="Mail server port",
    ),
    Option(
        "alerts.smtp_starttls",
        bool,
        False,
        "Use STARTTLS (password from $KIOSK_COLLECTOR_SMTP_PASSWORD).",
        name_zh="使用 STARTTLS 加密",
        doc_zh="以 STARTTLS 加密連線（密碼取自環境變數 $KIOSK_COLLECTOR_SMTP_PASSWORD）。",
        name_en="Use STARTTLS",
    ),
    Option(
        "alerts.smtp_user",
        str,
        "",
        "SMTP login name (empty: no login).",
        secret=True,
        name_zh="郵件登入帳號",
        doc_zh="SMTP 登入帳號（留空：不登入）。",
        name_en="Mail login name",
    ),
    Option(
        "alerts.smtp_from",
        str,
        "kiosk-collector@localhost",
        "Sender address of alert e-mail.",
        name_zh="寄件人地址",
        doc_zh="通報郵件的寄件人地址。",
        name_en="Sender address",
    ),
    Option(
        "alerts.smtp_to",
        str,
        "",
        "Recipients of alert e-mail, comma-separated.",
        name_zh="收件人地址",
        doc_zh="通報郵件的收件人，多位以逗號分隔。",
        name_en="Recipients",
    ),
    Option(
        "alerts.max_age_hours",
        float,
        24.0,
        "Ratings older than this when they reach the collector (an offline kiosk's backlog) raise no alert.",
        name_zh="通報時效（小時）",
        doc_zh="評分送達收集伺服器時已超過此時數（離線機台補傳的舊資料）者，不發出通報。",
        name_en="Alert age limit (hours)",
    ),
    Option(
        "alerts.poll_seconds",
        float,
        5.0,
        "How often the alert worker looks for new events and due deliveries.",
        name_zh="通報檢查間隔（秒）",
        doc_zh="通報程序多久檢查一次新事件與待送的通知。",
        name_en="Alert check interval (s)",
    ),
    Option(
        "alerts.retry_seconds",
        float,
        30.0,
        "First retry delay of a failed delivery (doubles each time, at most 1 h).",
        name_zh="重送等待（秒）",
        doc_zh="通知送出失敗後第一次重送前的等待時間（每次加倍，最長 1 小時）。",
        name_en="Retry delay (s)",
    ),
    Option(
        "alerts.max_attempts",
        int,
        8,
        "Delivery attempts before a delivery is marked failed.",
        name_zh="最多重送次數",
        doc_zh="通知嘗試送出幾次後標示為失敗。",
        name_en="Delivery attempts",
    ),
    Option(
        "admin.session_hours",
        float,
        8.0,
        "Hours a login lasts.",
        name_zh="登入有效時數",
        doc_zh="登入後多少小時需重新登入。",
        name_en="Login lasts (hours)",
    ),
    Option(
        "admin.base_url",
        str,
        "",
        "This collector's address as administrators reach it, for links in alerts.",
        name_zh="管理網址",
        doc_zh="管理者連到本收集伺服器的網址，用於通報中的連結。",
        name_en="Admin address",
    ),
    # Personal data in cases (docs/cases.md): code strength, retention, no plain codes by default.
    Option(
        "cases.min_code_digits",
        int,
        10,
        "Shortest verification code imported (4-12 digits); 10 leaves 10^10 codes to guess offline.",
        name_zh="驗證碼最少位數",
        doc_zh="匯入案件時驗證碼至少幾位數（4 至 12 位）；10 位時離線猜測須試 10^10 組。",
        name_en="Shortest verification code",
    ),
    Option(
        "cases.purge_closed_days",
        int,
        365,
        "Days after its closed_date a case is purged: name, stages and code hash gone.",
        name_zh="結案資料保存天數",
        doc_zh="案件結案日後經過此天數即刪除：姓名、階段與驗證碼雜湊一併清除。",
        name_en="Days kept after closing",
    ),
    Option(
        "cases.keep_plain_codes",
        bool,
        False,
        "Keep each plain verification code beside its hash (off: only the salted scrypt hash).",
        name_zh="保留驗證碼原文",
        doc_zh="在雜湊旁另存驗證碼原文（關閉：只存加鹽的 scrypt 雜湊）。",
        name_en="Keep plain codes",
    ),
]
BY_KEY = {o.key: o for o in OPTIONS}


class OptionError(ValueError):
    pass


def parse(key: str, text: str) -> Any:
    opt = BY_KEY.get(key)
    if opt is None:
        raise OptionError(f"沒有此設定 unknown setting {key!r}; known: {', '.join(BY_KEY)}")
    text = text.strip()
    try:
        if opt.kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        value = opt.kind(text)
    except ValueError:
        raise OptionError(f"{key}: 格式錯誤 expected {opt.kind.__name__}, got {text!r}") from None
    if opt.kind in (int, float) and value < 0:
        raise OptionError(f"{key}: 不可為負 must not be negative")
    if key in ("report.min_n", "cases.purge_closed_days") and value < 1:
        raise OptionError(f"{key}: 至少為 1 must be at least 1")
    if key == "cases.min_code_digits" and not 4 <= value <= 12:
        raise OptionError(f"{key}: 須為 4 至 12 must be 4 to 12")
    return value


def get_all(conn: sqlite3.Connection) -> dict[str, Any]:
    values = {o.key: o.default for o in OPTIONS}
    for key, value in conn.execute("SELECT key, value FROM admin_settings"):
        if key in values:
            values[key] = json.loads(value)
    return values


def get(conn: sqlite3.Connection, key: str) -> Any:
    row = conn.execute("SELECT value FROM admin_settings WHERE key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else BY_KEY[key].default


def set_value(conn: sqlite3.Connection, key: str, value: Any) -> None:
    if key not in BY_KEY:
        raise OptionError(f"沒有此設定 unknown setting {key!r}")
    conn.execute(
        "INSERT INTO admin_settings (key, value, updated_at) VALUES (?,?,?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, json.dumps(value, ensure_ascii=False), datetime.now(UTC).isoformat(timespec="seconds")],
    )
