"""The QR code a ticket carries, on screen (no printer) and on paper.

What it holds is readable without any server: the number, the date and time it
was issued, the service and the office and window, so a photo of it is the
ticket. A link to the visitor's place in the queue (``/t/<token>`` on the
office's queue host) is added only when something supplies one through
``TicketQR.link``: the queue screens do when the kiosk works through a host.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TicketFacts:
    """What a ticket's QR code says; ``issued_at`` is office-local time."""

    number: str
    issued_at: datetime
    service: str
    service_en: str
    office: str
    office_en: str
    window: str
    priority: bool = False
    token: str = ""  # unguessable, from the office's queue host: its /t/<token> page (not in the text)


def ticket_text(facts: TicketFacts, link: str | None = None) -> str:
    """The QR code's text: zh-TW first, then English, a link last if there is one."""
    lines = [
        f"{facts.number}{' 優先號 Priority' if facts.priority else ''}",
        facts.issued_at.strftime("%Y-%m-%d %H:%M"),
        f"{facts.service} {facts.service_en}",
        f"{facts.office} {facts.window} 號窗口",
        f"{facts.office_en}, Window {facts.window}",
    ]
    if link:
        lines.append(link)
    return "\n".join(lines)


def modules(text: str) -> list[list[bool]]:
    """The code's dark (True) and light modules, row by row, without the quiet zone."""
    # Imported here on purpose, not to dodge a cycle: segno's writers bring xml.sax and with it
    # urllib.request, http.client, ssl and email, which the kiosk's start needs none of.
    import segno

    # UTF-8 in byte mode: segno would otherwise pick Kanji mode (Shift JIS) for Han
    # characters, which phones show as the wrong characters.
    code = segno.make(text, encoding="utf-8", error="m")
    return [[bool(v) for v in row] for row in code.matrix]


class TicketQR:
    """Makes a ticket's QR text; ``link`` is the hook for a queue host's ``/t/<token>`` URL."""

    def __init__(self, link: Callable[[TicketFacts], str | None] | None = None):
        self.link = link or (lambda facts: None)

    def text(self, facts: TicketFacts) -> str:
        return ticket_text(facts, self.link(facts))
