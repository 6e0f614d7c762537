"""What visitors and staff read on the queue's screens, zh-TW and English (kiosk/ui/queue_screens.py).

Kept apart from the Kivy module so tests can check the font covers every character.
"""

STRINGS = {
    "choose_service": ("請選擇您要辦理的業務", "What can we help you with?"),
    "what_to_bring": ("請攜帶", "What to bring"),
    "where": ("辦理地點", "Where"),
    "window_unit": ("{window} 號窗口 · {unit}", "Window {window} · {unit}"),
    "go_to_window": ("請至 {windows} 號窗口", "Please go to window {windows}"),
    "not_here": ("本窗口不受理此業務，請至上述窗口取號", "This window does not handle it; take a number there"),
    "now_serving": ("目前叫號", "Now serving"),
    "nobody": ("—", "—"),
    "ahead": ("前面還有 {n} 人", "{n} ahead of you"),
    "wait": ("預估等候", "Estimated wait"),
    "hours": ("服務時間 {hours}", "Hours {hours}"),
    "closed_note": ("目前非服務時間，無法取號", "Not open now; no numbers are given"),
    "take": ("取號", "Take a number"),
    "take_priority": ("優先取號", "Priority number"),
    "priority_who": ("長者 · 身障 · 孕婦", "Elderly · disabled · pregnant"),
    "back_list": ("返回", "Back"),
    "your_number": ("您的號碼", "Your number"),
    "priority_ticket": ("優先號", "Priority"),
    "ticket_where": ("請至 {window} 號窗口 · {service}", "Window {window} · {service}"),
    "ticket_wait": ("前面 {n} 人 · 預估 {band}", "{n} ahead · {band}"),
    "printed": ("號碼單已列印，請取票", "Your ticket is printed; please take it"),
    "printing": ("列印中…", "Printing…"),
    "print_failed": ("無法列印，請記下您的號碼", "Could not print; please note your number"),
    "no_printer": ("請記下您的號碼", "Please note your number"),
    "ticket_failed": ("暫時無法取號", "A number could not be given"),
    "calling_title": ("來賓請注意", "Now calling"),
    "calling_please": ("請 {number} 號", "Number {number}"),
    "calling_window": ("請至 {window} 號窗口", "please go to window {window}"),
    "staff": ("職員", "Staff"),
    "staff_title": ("職員作業", "Staff panel"),
    "pin_prompt": ("請輸入職員密碼", "Enter the staff PIN"),
    "pin_wrong": ("密碼錯誤", "Wrong PIN"),
    "pin_locked": ("錯誤次數過多，請稍後再試", "Too many wrong PINs; try again later"),
    "clear": ("清除", "Clear"),
    "ok": ("確定", "OK"),
    "waiting_counts": ("等候 {regular} 人 · 優先 {priority} 人", "Waiting {regular} · priority {priority}"),
    "next": ("叫下一號", "Call next"),
    "recall": ("重新呼叫", "Call again"),
    "no_show": ("未到", "No-show"),
    "lock": ("離開", "Leave"),
    "queue_empty": ("目前無人等候", "Nobody is waiting"),
    "call_failed": ("無法叫號：{reason}", "Could not call: {reason}"),
}


def tr(key: str, lang: str, **fields) -> str:
    zh, en = STRINGS[key]
    return (en if lang == "en" else zh).format(**fields)
