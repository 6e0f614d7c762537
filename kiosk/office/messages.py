"""What the office's queue host and its window kiosks say to each other, as JSON.

Both ends read these shapes: the host (kiosk.office.api) writes them, the window kiosk's
client (kiosk.office.client) reads them back into the queue's own types. Standard library
only, so a window kiosk needs no web framework. Nothing here carries personal data: a ticket
is its number, service, status and an unguessable token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kiosk import estimate
from kiosk.queue import CallOutcome, ServiceStatus, Ticket

PREFIX = "/office/v1"
# The wall display counts the host lost after this long without a message (the host pings sooner).
PING_SECONDS = 5


def ticket_json(t: Ticket | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "id": t.issued_id,  # the host's ticket_issued event: a window kiosk's rating refers to it
        "number": t.number,
        "service": t.service,
        "service_name": t.name,
        "service_name_en": t.name_en,
        "priority": t.priority,
        "status": t.status,
        "window": t.window,
        "token": t.token,
        "issued_at": t.issued_at.isoformat(timespec="seconds"),
        "ahead": t.ahead,
        "estimate_seconds": t.estimate_seconds,
        "estimate_band": t.estimate_band,
        "calls": t.calls,
        "wait_seconds": t.wait_seconds,
    }


def ticket_from(data: dict[str, Any] | None, *, mono: float, boot_id: str) -> Ticket | None:
    """A Ticket as a window kiosk knows it (times are the host's; ``mono`` is this kiosk's clock now)."""
    if data is None:
        return None
    issued = datetime.fromisoformat(data["issued_at"])
    t = Ticket(
        data["number"],
        data["service"],
        data["service_name"],
        data["service_name_en"],
        bool(data["priority"]),
        data.get("id", ""),
        issued,
        mono,
        boot_id,
        data.get("estimate_seconds"),
        data.get("estimate_band", estimate.CLOSED),
        int(data.get("ahead", 0)),
    )
    t.status, t.window, t.token = data.get("status", "waiting"), data.get("window", ""), data.get("token", "")
    t.calls, t.wait_seconds = int(data.get("calls", 0)), data.get("wait_seconds")
    return t


def outcome_json(o: CallOutcome) -> dict[str, Any]:
    return {
        "called": ticket_json(o.called),
        "served": ticket_json(o.served),
        "no_show": ticket_json(o.no_show),
        "transferred": ticket_json(o.transferred),
        "recall": o.recall,
        "ignored": o.ignored,
    }


def outcome_from(data: dict[str, Any], *, mono: float, boot_id: str) -> CallOutcome:
    def t(key: str) -> Ticket | None:
        return ticket_from(data.get(key), mono=mono, boot_id=boot_id)

    return CallOutcome(
        t("called"),
        served=t("served"),
        no_show=t("no_show"),
        recall=bool(data.get("recall")),
        ignored=bool(data.get("ignored")),
        transferred=t("transferred"),
    )


def status_json(s: ServiceStatus) -> dict[str, Any]:
    return {
        "service": s.service.as_json(),
        "here": s.here,
        "open": s.open,
        "now_serving": s.now_serving,
        "ahead": s.ahead,
        "ahead_priority": s.ahead_priority,
        "estimate_seconds": s.estimate_seconds,
        "band": s.band,
        "band_priority": s.band_priority,
    }
