"""The office's queue host: the authoritative queue of every window, and who is told of changes.

``Hub`` holds the office queue (kiosk.queue with ``office=True``) over the host's own
event log: a kiosk Store in ``<data dir>/host`` (WAL, synchronous=FULL), so a ticket or a
call is acknowledged only once it is committed, today's queue is rebuilt from the log after
a restart or a power cut, and the log syncs to the collector like any kiosk's. The
collector is never needed for the queue to run.

Every change is published to the subscribers (the wall displays' and phones' event
streams) as a message: ``state`` (the whole picture, small) and ``call`` (a number called
to a window, with the address of its spoken call).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk import estimate, phrases
from kiosk.config import Config
from kiosk.office import devices
from kiosk.office.messages import PREFIX, ticket_json
from kiosk.queue import CallOutcome, LocalDirectory, Queue, Ticket, local_day
from kiosk.store import Store
from kiosk.voice import Voice

log = logging.getLogger(__name__)

LAST_CALLS = 6  # what the wall display lists under the numbers being served
HOST_DIR = "host"


def host_data_dir(data_dir: Path) -> Path:
    """Where the host keeps its log, beside (not inside) the kiosk's own file."""
    return Path(data_dir) / HOST_DIR


class Hub:
    """The office's queue, the devices that may work it, and the streams that watch it."""

    def __init__(self, config: Config, data_dir: Path, *, clock=None, voice: Voice | None = None):
        self.config = config
        self.store = Store(
            host_data_dir(data_dir),
            kiosk_id=config.kiosk_id,
            unit=config["kiosk.unit"],
            window=config["kiosk.window"],
            clock=clock,
        )
        self.clock = self.store.clock
        self.directory = LocalDirectory(self.store, config["queue.directory"] or None)
        self.queue = Queue(
            self.store,
            window=config["kiosk.window"],
            directory=self.directory.get,
            no_show_after_calls=config["queue.no_show_after_calls"],
            office=True,
        )
        self.voice = voice or Voice(
            cache_dir=host_data_dir(data_dir) / "sounds",
            language=config["audio.language"],
            clips_dir=Path(config["audio.clips"]) if config["audio.clips"] else None,
        )
        self._devices = self.store.side_connection()
        self._devices_lock = threading.Lock()
        with self._devices_lock:
            # This device's own screens (the entrance kiosk, normally) reach the host on loopback.
            self.local_token_file = devices.ensure_local(self._devices, host_data_dir(data_dir), config["kiosk.window"])
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = set()
        self._sub_lock = threading.Lock()
        self.calls: deque[dict[str, Any]] = deque(maxlen=LAST_CALLS)
        self.revision = 0
        self._replay_calls()

    def close(self) -> None:
        self.directory.close()
        self._devices.close()
        self.store.close()

    # -- devices ---------------------------------------------------------------------
    def device(self, token: str) -> devices.Device | None:
        with self._devices_lock:
            return devices.find(self._devices, token)

    def add_device(self, name: str, window: str) -> str:
        with self._devices_lock:
            return devices.add(self._devices, name, window)

    # -- the queue -------------------------------------------------------------------
    def issue(self, service: str, *, priority: bool, press: str | None) -> Ticket:
        ticket = self.queue.issue(service, priority=priority, press=press)
        self._changed()
        return ticket

    def press(self, action: str, window: str, *, press: str | None, **options: Any) -> CallOutcome:
        """A window's staff pressed next, recall, no-show or transfer; stored before it returns."""
        q = self.queue
        if action == "next":
            outcome = q.call_next("host", window=window, press=press)
        elif action == "recall":
            outcome = q.recall("host", window=window, press=press)
        elif action == "no-show":
            outcome = q.no_show("host", window=window, press=press)
        elif action == "transfer":
            outcome = q.transfer(
                options["service"],
                window=window,
                to_window=options.get("to_window"),
                front=options.get("front", False),
                via="host",
                press=press,
            )
        else:
            raise ValueError(action)
        if outcome.called is not None and not outcome.ignored:
            self._announce(outcome.called, window, recall=outcome.recall)
        self._changed()
        return outcome

    def _replay_calls(self) -> None:
        """The last calls of today, from the log (a restarted host shows them again)."""
        today = local_day(self.clock.now())
        recent: deque[dict[str, Any]] = deque(maxlen=LAST_CALLS)
        start = max(0, self.store.count() - 5000)
        for e in self.store.events(after_seq=start, type="ticket_called"):
            if local_day(datetime.fromisoformat(e.recorded_at)) == today:
                recent.append(self._call_message(e.id, e.detail, e.window, e.recorded_at))
        self.calls = recent

    def _call_message(self, event_id: str, d: dict[str, Any], window: str, at: str) -> dict[str, Any]:
        t = self.queue.tickets.get(d.get("ticket", ""))
        return {
            "id": event_id,
            "number": d.get("ticket", ""),
            "window": d.get("at_window") or window,
            "service_name": t.name if t else "",
            "service_name_en": t.name_en if t else "",
            "recall": bool(d.get("recall")),
            "at": at,
            "audio": f"{PREFIX}/calls/{event_id}.wav",
        }

    def _announce(self, ticket: Ticket, window: str, *, recall: bool) -> None:
        last = self.queue.last_event
        if last is None or last.type != "ticket_called" or last.detail.get("ticket") != ticket.number:
            return
        message = self._call_message(last.id, last.detail, last.window, last.recorded_at)
        self.calls.append(message)
        self.publish("call", message)

    def call_sound(self, event_id: str) -> Path | None:
        """The spoken call for one of the recent calls (rendered on first request, then cached)."""
        for call in self.calls:
            if call["id"] == event_id:
                return self.voice.render(phrases.call(call["number"], call["window"])).path
        return None

    # -- what displays and phones see ----------------------------------------------------
    def state(self) -> dict[str, Any]:
        q = self.queue
        with q._lock:
            directory = q.directory()
            windows = sorted({w for s in directory.services for w in s.windows}, key=lambda w: (len(w), w))
            now = self.clock.now()
            services = []
            for s in directory.services:
                waiting = sum(1 for t in q.waiting if t.service == s.code)
                services.append(
                    {
                        "code": s.code,
                        "name": s.name,
                        "name_en": s.name_en,
                        "series": s.series,
                        "windows": list(s.windows),
                        "open": s.open_at(now),
                        "waiting": waiting,
                    }
                )
            return {
                "revision": self.revision,
                "day": str(q.day),
                "office": self.config["kiosk.office"],
                "office_en": self.config["kiosk.office_en"],
                "windows": [{"window": w, "ticket": ticket_json(q.serving.get(w))} for w in windows],
                "services": services,
                "calls": list(self.calls),
            }

    def window_state(self, window: str) -> dict[str, Any]:
        """A window's number being served and how many wait in its lines (regular, priority)."""
        q = self.queue
        with q._lock:
            q._check_day()
            directory = q.directory()
            line = [t for t in q.waiting if window in q._windows_of(directory, t.service)]
            return {
                "serving": ticket_json(q.serving.get(window)),
                "waiting": sum(1 for t in line if not t.priority),
                "waiting_priority": sum(1 for t in line if t.priority),
            }

    def ticket_view(self, token: str) -> dict[str, Any] | None:
        """A visitor's own ticket, found by its unguessable token: where it stands, no personal data."""
        q = self.queue
        with q._lock:
            q._check_day()
            t = next((t for t in q.tickets.values() if t.token and t.token == token), None)
            if t is None:
                return None
            directory = q.directory()
            windows = q._windows_of(directory, t.service)
            ahead = None
            band = None
            if t.status == "waiting":
                line = q._ahead(t.priority, windows)
                before = line[: line.index(t)] if t in line else line
                if not t.priority:  # priority tickets are called first, even those taken later
                    before += [x for x in line[len(before) :] if x.priority and x is not t]
                ahead = len(before)
                band = estimate.band(q._wait_for(q.estimator, windows, before))
            serving = [q.serving[w].number for w in windows if w in q.serving]
            return {
                "number": t.number,
                "service_name": t.name,
                "service_name_en": t.name_en,
                "status": t.status,
                "window": t.window if t.status == "called" else "",
                "ahead": ahead,
                "band": band,
                "now_serving": serving,
                "revision": self.revision,
            }

    # -- streams -----------------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue:
        """A queue of (kind, data) messages for one stream; call from the stream's event loop."""
        loop = asyncio.get_running_loop()
        q: asyncio.Queue = asyncio.Queue(maxsize=100)
        with self._sub_lock:
            self._subscribers.add((loop, q))
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        with self._sub_lock:
            self._subscribers = {(loop, sq) for loop, sq in self._subscribers if sq is not q}

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Tell every stream (from any thread); a stream too slow to keep up loses old messages,
        never the newest state."""
        with self._sub_lock:
            targets = list(self._subscribers)
        for loop, q in targets:
            loop.call_soon_threadsafe(_offer, q, (kind, data))

    def _changed(self) -> None:
        self.revision += 1
        self.publish("state", self.state())


def _offer(q: asyncio.Queue, message: tuple[str, dict[str, Any]]) -> None:
    if q.full():
        q.get_nowait()
    q.put_nowait(message)
