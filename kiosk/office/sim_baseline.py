"""The fixed-average baseline (ZMS, Qmatic) replayed over an office host's log.

A simulated office's tickets carry the host's learned estimate, pooled over each line's
windows. To judge it, this replays the same log and asks, at every ticket's issue, what an
administrator's fixed time per service (the directory's ``typical_minutes``) would have said
about the same lines at the same moment: the work left at the line's windows plus everyone
ahead (priority first), shared among those windows, as kiosk.queue does for the learned one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from kiosk import estimate
from kiosk.queue import local_day
from server_sync.wire.directory import load_file
from server_sync.wire.events import Event


@dataclass
class _Ticket:
    service: str
    priority: bool
    called_at: datetime | None = None


def fixed_pairs(events: Iterable[Event], directory: Path) -> list[tuple[float, str, float]]:
    """(fixed-average estimate, its band, the wait to the first call) for every ticket called."""
    found = load_file(directory)
    windows_of = {s.code: set(s.windows) for s in found.services}
    fixed = estimate.FixedEstimator({s.code: s.typical_minutes * 60 for s in found.services})
    day: date | None = None
    tickets: dict[str, _Ticket] = {}
    waiting: list[str] = []
    serving: dict[str, str] = {}  # window -> ticket id
    guessed: dict[str, float] = {}
    pairs: list[tuple[float, str, float]] = []
    for e in events:
        wall = datetime.fromisoformat(e.recorded_at)
        if local_day(wall) != day:
            day, tickets, waiting, serving = local_day(wall), {}, [], {}
        d = e.detail
        if e.type == "ticket_issued":
            service, priority = d.get("service", ""), bool(d.get("priority"))
            line = windows_of.get(service, set())
            before = [
                tickets[i].service
                for i in waiting
                if (tickets[i].priority or not priority) and windows_of.get(tickets[i].service, set()) & line
            ]
            # As kiosk.queue weighs them: the part of each one's line that these windows serve.
            shares = [len(windows_of[s] & line) / len(windows_of[s]) for s in before]
            current = []
            for w in line:
                t = tickets.get(serving.get(w, ""))
                if t is not None and t.called_at is not None:
                    current.append((t.service, (wall - t.called_at).total_seconds()))
            guessed[e.id] = fixed.pooled_wait(current, before, servers=len(line), shares=shares)
            tickets[e.id] = _Ticket(service, priority)
            waiting.append(e.id)
            continue
        t = tickets.get(e.ref or "")
        if t is None:
            continue
        ref = e.ref or ""
        for w in [w for w, i in serving.items() if i == ref and e.type != "ticket_called"]:
            del serving[w]
        if e.type == "ticket_called":
            if ref in waiting:
                waiting.remove(ref)
            for w in [w for w, i in serving.items() if i == ref]:
                del serving[w]
            serving[str(d.get("at_window") or e.window)] = ref
            if t.called_at is None:
                t.called_at = wall
            if ref in guessed and d.get("wait_seconds") is not None:
                g = guessed.pop(ref)  # the first call only, as estimate.accuracy_of_events
                pairs.append((g, estimate.band(g), float(d["wait_seconds"])))
        elif e.type == "ticket_no_show" and ref in waiting:
            waiting.remove(ref)
        elif e.type == "ticket_transferred":
            t.service, t.called_at = d.get("service", t.service), None
            if ref in waiting:
                waiting.remove(ref)
            if d.get("position") == "front":
                waiting.insert(0, ref)
            else:
                waiting.append(ref)
    return pairs
