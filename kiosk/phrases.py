"""What the kiosk says aloud: calls and the visitor prompts, as clip names and as text.

Clip names are plain ASCII so an office can record them with any tool; docs/queue.md
lists every name and what to say in it. Numbers are read character by character
("A 0 1 2"), as counters do, so one clip per digit and letter covers every ticket.
"""

from __future__ import annotations

from kiosk.voice import Phrase

# Clip name -> what the office records for it (華語 wording; 台語 and 客語 offices say the same).
CLIP_WORDS: dict[str, str] = {
    "guest": "來賓",
    "number": "號",
    "please_go_to": "請到",
    "counter": "號櫃台",
    "your_number_is": "您的號碼是",
    "ahead": "前面還有",
    "people": "位",
    "next_one": "您是下一位",
    "welcome": "歡迎光臨，請為本次服務評分：請按下方實體按鈕，左邊是非常滿意，右邊是非常不滿意。",
    "thanks": "謝謝您的評分，您選擇了",
    "level_1": "非常滿意",
    "level_2": "滿意",
    "level_3": "普通",
    "level_4": "不滿意",
    "level_5": "非常不滿意",
}
CLIP_WORDS.update({d: d for d in "0123456789"})
CLIP_WORDS.update({c: c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})


def _characters(text: str) -> tuple[str, ...]:
    return tuple(ch.upper() for ch in text if ch.isalnum())


def _spoken(text: str) -> str:
    return " ".join(_characters(text))


def call(number: str, window: str) -> Phrase:
    """A ticket called to a window: 來賓 A 0 1 2 號，請到 2 號櫃台."""
    return Phrase(
        ("guest", *_characters(number), "number", "please_go_to", *_characters(window), "counter"),
        f"來賓 {_spoken(number)} 號，請到 {_spoken(window)} 號櫃台",
    )


def home() -> Phrase:
    """The home screen read to someone who cannot read it."""
    return Phrase(("welcome",), CLIP_WORDS["welcome"])


def thanks(level: int, label: str) -> Phrase:
    """The thank-you, naming the level that was recorded (``label`` as configured, for the text)."""
    return Phrase(("thanks", f"level_{level}"), f"{CLIP_WORDS['thanks']}{label}")


def ticket(number: str, ahead: int | None) -> Phrase:
    """A ticket just taken (or recalled): the number, and how many wait before it when known."""
    clips: tuple[str, ...] = ("your_number_is", *_characters(number), "number")
    text = f"{CLIP_WORDS['your_number_is']} {_spoken(number)} 號"
    if ahead == 0:
        clips += ("next_one",)
        text += f"，{CLIP_WORDS['next_one']}"
    elif ahead is not None:
        clips += ("ahead", *_characters(str(ahead)), "people")
        text += f"，{CLIP_WORDS['ahead']} {ahead} 位"
    return Phrase(clips, text)


def lookup_result(case_type: str, stage: str, masked_name: str) -> Phrase:
    """A case's progress. Its words come from the office's case file, so only the synthesiser can
    say them: no clip names (an office without espeak-ng hears the chime)."""
    return Phrase((), f"{masked_name}的{case_type}，目前進度：{stage}")
