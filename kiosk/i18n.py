"""What visitors and staff read: every fixed UI string in zh-TW and English.

Labels that an office configures (rating levels, reasons, office name) come
from the config, and services from the service directory; these are the rest,
for every screen. Kept apart from the Kivy modules so tests can check, without
a window, that the font in use has a glyph for every zh-TW character here and
in the default config.
"""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "prompt": ("請為本次服務評分", "Please rate the service you received"),
    "prompt_hint": ("請按下方按鈕", "Press one of the buttons below"),
    "window": ("{window} 號窗口", "Window {window}"),
    "guidance": ("服務導引", "Service guide"),
    "lookup": ("案件查詢", "Case lookup"),
    "language": ("English", "中文"),
    "large_text": ("大字", "Large text"),
    "normal_text": ("一般字", "Normal"),
    "listen": ("聽語音", "Listen"),  # the 🔊 button ([audio] prompts; kiosk/ui/speech.py)
    "more_below": ("下方還有，請向上滑動", "More below: swipe up"),
    "closed_short": ("未開放", "Closed"),
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
    "notice_body": (
        "系統儲存發生問題：{reason}。請告知櫃台人員，或稍後再試。",
        "A storage problem occurred: {reason}. Please tell the staff at the counter, or try again later.",
    ),
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
    "lookup_unavailable": (
        "暫時無法查詢：{reason}。請洽櫃台人員。",
        "Lookup unavailable: {reason}. Please ask the staff.",
    ),
    "lookup_not_found": ("查無資料或驗證碼錯誤", "No record found, or the verification code is wrong"),
    "lookup_now_locked": (
        "此號碼在本機暫停查詢 {minutes} 分鐘。",
        "This number is paused here for {minutes} min.",
    ),
    "lookup_locked": (
        "錯誤次數過多，請 {minutes} 分鐘後再試，或洽櫃台。",
        "Too many wrong codes. Try again in {minutes} min, or ask the staff.",
    ),
    "lookup_rate_limited": (
        "查詢次數過多，請於 {seconds} 秒後再試。",
        "Too many lookups. Please try again in {seconds} seconds.",
    ),
    "applicant": ("申請人", "Applicant"),
    "current_stage": ("目前進度", "Current stage"),
    "expected": ("預計完成", "Expected completion"),
    "closed_on": ("已結案", "Closed"),
    "handling_unit": ("承辦單位", "Handling unit"),
    "extension": ("分機 {ext}", "Ext. {ext}"),
    "timeline": ("辦理進度", "Progress"),
    "earlier_stages": ("…及較早的 {n} 個階段", "…and {n} earlier stages"),
    "earlier_stages_one": ("…及較早的 1 個階段", "…and 1 earlier stage"),
    "done": ("完成", "Done"),
    "clears_after": ("{seconds} 秒無操作自動清除", "Clears after {seconds} s without a touch"),
    # 服務導引 and the queue (kiosk/queue.py, screens guidance.kv, ticket.kv, calling.kv, staff.kv)
    "choose_service": ("請選擇您要辦理的業務", "What can we help you with?"),
    "what_to_bring": ("請攜帶", "What to bring"),
    "where": ("辦理地點", "Where"),
    "window_unit": ("{window} 號窗口 · {unit}", "Window {window} · {unit}"),
    "go_to_window": ("請至 {windows} 號窗口", "Please go to window {windows}"),
    "not_here": ("本窗口不受理此業務，請至上述窗口取號", "This window does not handle it; take a number there"),
    "now_serving": ("目前叫號", "Now serving"),
    "nobody": ("—", "—"),
    "ahead": ("前面還有 {n} 人", "{n} people ahead of you"),
    "ahead_one": ("前面還有 1 人", "1 person ahead of you"),
    "ahead_none": ("前面沒有人，您是下一位", "Nobody ahead: you are next"),
    "wait": ("預估等候", "Estimated wait"),
    "hours": ("服務時間 {hours}", "Hours {hours}"),
    "closed_note": ("目前非服務時間，無法取號", "Not open now; no numbers are given"),
    "take": ("取號", "Take a number"),
    "take_priority": ("優先取號", "Priority number"),
    "priority_who": ("長者 · 身障 · 孕婦", "Elderly · disabled · pregnant"),
    "back_list": ("返回列表", "Back to the list"),
    "your_number": ("您的號碼", "Your number"),
    "priority_ticket": ("優先號", "Priority"),
    "ticket_where": ("請至 {window} 號窗口 · {service}", "Window {window} · {service}"),
    "ticket_wait": ("前面 {n} 人 · 預估 {band}", "{n} ahead · {band}"),
    "ticket_wait_none": ("您是下一位 · 預估 {band}", "You are next · {band}"),
    "printed": ("號碼單已列印，請取票", "Your ticket is printed; please take it"),
    "printing": ("列印中…", "Printing…"),
    "print_failed": ("無法列印，請記下您的號碼", "Could not print; please note your number"),
    "no_printer": ("請記下您的號碼", "Please note your number"),
    "ticket_failed": ("暫時無法取號", "A number could not be given"),
    "calling_title": ("來賓請注意", "Now calling"),
    "calling_please": ("請 {number} 號", "Number {number}"),
    "calling_window": ("請至 {window} 號窗口", "Please go to window {window}"),
    "calling_full": ("請 {number} 號至 {window} 號窗口", "Number {number}, please go to window {window}"),
    "staff": ("職員", "Staff"),
    "staff_title": ("職員作業", "Staff panel"),
    "pin_prompt": ("請輸入職員密碼", "Enter the staff PIN"),
    "pin_wrong": ("密碼錯誤", "Wrong PIN"),
    "pin_locked": ("密碼錯誤次數過多，已鎖定 {wait}，請稍後再試", "Too many wrong PINs: locked for {wait}"),
    "pin_unavailable": ("暫時無法驗證密碼，請洽資訊人員", "The PIN cannot be checked now; please call IT staff"),
    "clear": ("清除", "Clear"),
    "ok": ("確定", "OK"),
    "waiting_counts": ("等候 {regular} 人 · 優先 {priority} 人", "Waiting {regular} · priority {priority}"),
    "next": ("叫下一號", "Call next"),
    "recall": ("重新呼叫", "Call again"),
    "no_show": ("未到", "No-show"),
    "lock": ("離開", "Leave"),
    "queue_empty": ("目前無人等候", "Nobody is waiting"),
    "no_show_confirm": ("確定 {number} 號未到？", "Mark {number} as a no-show?"),
    "no_show_yes": ("確定未到", "Yes, no-show"),
    "cancel": ("取消", "Cancel"),
    "sync_status": ("同步狀態", "Sync status"),
    "call_failed": ("無法叫號：{reason}", "Could not call: {reason}"),
    # The office's queue host (kiosk/office/, docs/queue.md): a lost host, transfers, the entrance kiosk
    "host_lost": ("無法連線到叫號主機：{undone}", "Queue host unreachable: {undone}"),
    "undone_next": ("未叫號", "nobody called"),
    "undone_recall": ("未重新叫號", "no call repeated"),
    "undone_no_show_confirm": ("未標記未到，也未叫下一號", "nobody marked or called"),
    "undone_transfer": ("未轉介", "nothing transferred"),
    "undone_button": ("按鈕未叫號", "the button called nobody"),
    "notice_call_title": ("無法叫號", "Could not call"),
    "numbers_unavailable": ("暫時無法取號", "Numbers unavailable"),
    "host_lost_visitor": (
        "無法連線到叫號主機，請洽櫃台人員",
        "The office's queue host cannot be reached; please ask the staff",
    ),
    "transfer": ("轉介", "Transfer"),
    "transfer_choose": ("轉介 {number}：請選擇服務", "Transfer {number}: choose the service"),
    "transfer_options": ("將 {number} 轉至 {service}", "Transfer {number} to {service}"),
    "transfer_window": ("窗口", "Window"),
    "transfer_position": ("排隊位置", "Place in line"),
    "any_window": ("任一窗口", "Any window"),
    "window_n": ("第 {window} 號窗口", "window {window}"),
    "front": ("排最前", "Front"),
    "back_of_line": ("排最後", "Back"),
    "transfer_confirm": ("確定轉介", "Transfer"),
    "transfer_question": (
        "{number} → {service} · {where} · {position}？",
        "{number} → {service} · {where} · {position}?",
    ),
    "transfer_done": ("{number} 已轉至 {service} {where}", "{number} transferred to {service}, {where}"),
    "transfer_failed": ("未轉介：{reason}", "Not transferred: {reason}"),
    "transfer_nobody": ("此窗口目前沒有服務中的號碼", "This window is serving no number"),
    "entrance_title": ("請選擇服務並取號", "Choose a service and take a number"),
    "priority_short": ("優先", "Priority"),
    "entrance_priority_note": ("優先號：長者 · 身障 · 孕婦", "Priority: elderly · disabled · pregnant"),
    "entrance_line": ("前面 {n} 人 · {band}", "{n} ahead · {band}"),
    "entrance_line_one": ("前面 1 人 · {band}", "1 ahead · {band}"),
    "entrance_line_none": ("無人等候 · {band}", "Nobody waiting · {band}"),
    # Interruptions, timeouts, face tiles and the ticket's recall (kiosk/flow.py; issue 12)
    "hint_buttons": ("請按螢幕下方的實體按鈕評分", "Rate with the buttons below the screen"),
    "hint_touch": ("請點選表情評分，或按螢幕下方的按鈕", "Tap a face, or press a button below the screen"),
    "rated_level": ("您的評分：{level}", "Your rating: {level}"),
    "rated_banner": ("已收到您的評分：{level}", "Rating received: {level}"),
    "rated_again": ("已收到：{level}（連續按鍵只計一次）", "Received: {level} (repeated presses count once)"),
    "rating_failed_banner": ("暫時無法記錄評分：{reason}", "Your rating could not be recorded: {reason}"),
    "call_banner": ("來賓 {number} 號，請至 {window} 號窗口", "Number {number}, please go to window {window}"),
    "more_time": ("需要更多時間嗎？", "Need more time?"),
    "more_time_left": ("{seconds} 秒後返回首頁", "Returning home in {seconds} s"),
    "more_time_yes": ("繼續", "Continue"),
    "my_number": ("我的號碼", "My number"),
    "taking_number": ("取號中…", "Taking a number…"),
    "ticket_issued_at": ("{time} 取號", "Taken at {time}"),
    "ticket_earlier": ("前一張", "Earlier"),
    "qr_photo": ("可用手機拍下此條碼", "Take a photo of this code"),
}


def text(key: str, lang: str, **fields) -> str:
    """The string ``key`` in ``lang`` ("zh-TW" or "en"), with fields filled in.

    A count of one (``n=1``) takes the ``KEY_one`` string where there is one ("1 earlier stage").
    """
    if fields.get("n") == 1 and f"{key}_one" in STRINGS:
        key = f"{key}_one"
    zh, en = STRINGS[key]
    return (en if lang == "en" else zh).format(**fields)


def label(item, lang: str) -> str:
    """A configured item's label (a Level or Reason) in ``lang``."""
    return item.label_en if lang == "en" else item.label
