"""What visitors read: every fixed UI string in zh-TW and English.

Labels that an office configures (rating levels, reasons, office name) come
from the config; these are the rest. A test checks the font in use has a
glyph for every zh-TW character here and in the default config.
"""

STRINGS: dict[str, tuple[str, str]] = {
    "prompt": ("請為本次服務評分", "Please rate the service you received"),
    "prompt_hint": ("請按下方按鈕", "Press one of the buttons below"),
    "window": ("{window} 號窗口", "Window {window}"),
    "guidance": ("服務導引", "Service guide"),
    "lookup": ("案件查詢", "Case lookup"),
    "language": ("English", "中文"),
    "thanks_title": ("謝謝您的評分！", "Thank you for your rating!"),
    "thanks_body": ("您的意見將協助我們改善服務。", "Your opinion helps us improve our service."),
    "reason_thanks": ("謝謝您的意見！", "Thank you for your feedback!"),
    "reasons_title": ("謝謝您的評分。請問主要原因是？", "Thank you. What was the main reason?"),
    "reasons_hint": ("可略過，不會影響您的評分", "Optional; your rating is already saved"),
    "skip": ("略過", "Skip"),
    "back": ("返回首頁", "Back to home"),
    "notice_title": ("暫時無法記錄評分", "Your rating could not be recorded"),
    "notice_reason_title": ("暫時無法記錄您的意見", "Your feedback could not be recorded"),
    "notice_ticket_title": ("暫時無法取號", "A number could not be given"),
    "notice_body": ("系統儲存發生問題：{reason}。請告知櫃台人員，或稍後再試。",
                    "A storage problem occurred: {reason}. Please tell the staff at the counter, or try again later."),
    "sync_ok": ("已同步 {when}", "Synced {when}"),
    "sync_pending": ("待同步 {n} 筆", "{n} waiting to sync"),
    "sync_never": ("尚未同步", "Not synced yet"),
    "sync_failed": ("未能同步：{reason}", "Not synced: {reason}"),
    "sync_unreadable": ("無法讀取同步狀態", "sync status unreadable"),
    # 案件查詢 (kiosk/lookup.py, screens lookup.kv and case_result.kv)
    "lookup_help": ("請輸入案件編號及驗證碼", "Enter your case number and verification code"),
    "case_no_label": ("案件編號", "Case number"),
    "code_label": ("驗證碼", "Verification code"),
    "case_no_hint": ("輸入或掃描收據條碼", "Type, or scan your receipt"),
    "code_hint": ("收據上的驗證碼", "The code on your receipt"),
    "search": ("查詢", "Search"),
    "key_clear": ("清除", "Clear"),
    "key_delete": ("刪除", "Delete"),
    "key_next": ("下一欄", "Next field"),
    "lookup_need_both": ("請輸入案件編號及驗證碼", "Please enter both the case number and the code"),
    "lookup_searching": ("查詢中…", "Searching…"),
    "lookup_unavailable": ("暫時無法查詢：{reason}。請洽櫃台人員。", "Lookup unavailable: {reason}. Please ask the staff."),
    "lookup_not_found": ("查無資料或驗證碼錯誤", "No record found, or the verification code is wrong"),
    "lookup_now_locked": ("錯誤次數過多，此案件編號在本機暫停查詢 {minutes} 分鐘。",
                          "Too many wrong codes: this case number is paused on this kiosk for {minutes} minutes."),
    "lookup_locked": ("此案件編號錯誤次數過多，請於 {minutes} 分鐘後再試，或洽櫃台人員。",
                      "Too many wrong codes for this case number. Try again in {minutes} minutes, or ask the staff."),
    "lookup_rate_limited": ("查詢次數過多，請於 {seconds} 秒後再試。", "Too many lookups. Please try again in {seconds} seconds."),
    "applicant": ("申請人", "Applicant"),
    "current_stage": ("目前進度", "Current stage"),
    "expected": ("預計完成", "Expected completion"),
    "closed_on": ("已結案", "Closed"),
    "handling_unit": ("承辦單位", "Handling unit"),
    "extension": ("分機 {ext}", "ext. {ext}"),
    "timeline": ("辦理進度", "Progress"),
    "earlier_stages": ("…及較早的 {n} 個階段", "…and {n} earlier stages"),
    "done": ("完成", "Done"),
    "clears_after": ("{seconds} 秒無操作自動清除", "Clears after {seconds} s without a touch"),
}


def text(key: str, lang: str, **fields) -> str:
    """The string ``key`` in ``lang`` ("zh-TW" or "en"), with fields filled in."""
    zh, en = STRINGS[key]
    return (en if lang == "en" else zh).format(**fields)


def label(item, lang: str) -> str:
    """A configured item's label (a Level or Reason) in ``lang``."""
    return item.label_en if lang == "en" else item.label
