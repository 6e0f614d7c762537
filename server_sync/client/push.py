"""One sync round: push every pending event in batches, then pull settings by ETag.

The watermark moves only after an ack passed ``ack.validate_ack``, and only
to ``min(acked_seq, highest seq in the batch)``; it is committed durably
before the next batch is read. If anything fails the round stops, records the
error in plain words and leaves the rest pending for the next round.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import requests

from server_sync.client import cases, errors, services
from server_sync.client.ack import describe_exception, validate_ack, validate_settings
from server_sync.client.errors import SyncError
from server_sync.client.outbox import EncodedBatch, Outbox, iso
from server_sync.client.session import DEFAULT_TIMEOUT, make_session
from server_sync.wire.protocol import MAX_EVENTS
from server_sync.wire.tz import OFFICE_TZ

log = logging.getLogger(__name__)

MAX_BATCH = MAX_EVENTS  # protocol limit per POST
# gzip level 1: a third of level 5's CPU on a batch of events, for a body about 10 % larger
# (catch-up after a month offline is CPU-bound on a Pi, not bound by its network).
GZIP_LEVEL = 1


class Clock(Protocol):
    """The kiosk's clock (kiosk.clock): wall time, and the boot id and monotonic time it is anchored to."""

    boot_id: str

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


@dataclass
class RoundResult:
    """What one round did. ``ok`` only when nothing is left pending."""

    sent: int = 0  # events newly confirmed by the collector
    stored: int = 0  # the collector's counts, summed over the batches
    duplicates: int = 0
    batches: int = 0
    pending: int = 0  # events still waiting after the round
    error: SyncError | None = None
    settings_error: SyncError | None = None
    settings_changed: bool = False
    services_changed: bool = False  # a new service directory was stored
    cases_changed: int = 0  # case-status changes applied (server_sync/client/cases.py)
    cases_error: SyncError | None = None
    clock_offset: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.pending == 0


class SyncClient:
    """Talks to one collector on behalf of one kiosk data folder.

    url: the collector's base URL ([sync] url).
    token: this kiosk's bearer token ([sync] token / KIOSK_SYNC_TOKEN).
    outbox: the kiosk's store as the client needs it (kiosk/outbox.py makes one).
    clock: the kiosk's clock (the Store's), for the batch's wall/boot/monotonic times.
    software_version: the kiosk's version, sent with every batch and as the User-Agent.
    timeout: (connect, read) seconds, passed on every request.
    batch_size: events per POST, at most 1,000.
    session: a ready ``requests.Session`` (default: ``session.make_session``).
    """

    def __init__(
        self,
        url: str,
        token: str,
        outbox: Outbox,
        *,
        clock: Clock,
        software_version: str = "",
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        batch_size: int = MAX_BATCH,
        session: requests.Session | None = None,
        retries=None,
    ):
        self.base = (url or "").rstrip("/")
        self.token = token or ""
        self.outbox = outbox
        self.clock = clock
        self.software_version = software_version
        self.timeout = timeout
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.gzip_level = GZIP_LEVEL
        self.session = session or make_session(self.token, software_version=software_version, retries=retries)

    def close(self) -> None:
        self.session.close()
        self.outbox.close()

    # -- the round -------------------------------------------------------------
    def run_round(self) -> RoundResult:
        """Push everything pending, then pull settings; never raises for network trouble.

        Besides the watermark (saved after each validated ack), the round's outcome is
        written once, at its end, in one transaction: an idle kiosk costs the SD card one
        small durable write per round.
        """
        result = RoundResult()
        if not self.base:
            result.error = errors.not_configured()
            return result
        outbox = self.outbox
        try:
            with outbox:
                store_id = outbox.store_id
                state = outbox.state(store_id)
                started = self.clock.now()
                result.pending = outbox.pending_count(state["acked_seq"])
                update: dict = {"last_attempt_at": iso(started)}
                try:
                    try:
                        if not self.token:
                            raise errors.no_token()
                        self._push(outbox, store_id, state["acked_seq"], result)
                    except SyncError as exc:
                        result.error = exc
                        log.warning("sync round stopped, %d events pending: %s", result.pending, exc)
                        update.update(
                            last_round_ok=0,
                            last_error_at=iso(self.clock.now()),
                            last_error_zh=exc.zh,
                            last_error_en=exc.en,
                            last_error_detail=exc.detail[:500],
                        )
                    else:
                        update.update(last_round_ok=1, last_success_at=iso(self.clock.now()))
                        try:
                            update.update(self._pull_settings(state["settings_etag"], result))
                        except SyncError as exc:
                            result.settings_error = exc
                            log.warning("settings not pulled: %s", exc)
                            update["settings_error"] = f"{exc.zh} / {exc.en}" + (
                                f" ({exc.detail[:300]})" if exc.detail else ""
                            )
                        try:  # the service directory, by its own ETag (server_sync/client/services.py)
                            result.services_changed = services.pull(
                                self.session, self.base, outbox, iso(self.clock.now()), self.timeout
                            )
                        except SyncError as exc:
                            result.settings_error = result.settings_error or exc
                            log.warning("service directory not pulled: %s", exc)
                        try:  # case-status changes since our revision (server_sync/client/cases.py)
                            now = self.clock.now()
                            result.cases_changed = cases.pull(
                                self.session,
                                self.base,
                                outbox,
                                iso(now),
                                now.astimezone(OFFICE_TZ).date().isoformat(),
                                self.timeout,
                            )
                        except SyncError as exc:
                            result.cases_error = exc
                            outbox.case_error(str(exc))
                            log.warning("case changes not pulled: %s", exc)
                finally:
                    if result.clock_offset is not None:
                        update.update(clock_offset=result.clock_offset, clock_offset_at=iso(self.clock.now()))
                    update["pending"] = result.pending
                    update["pending_since"] = _pending_since(state["pending_since"], result.pending, started)
                    outbox.update_state(store_id, update)
        except SyncError as exc:  # the local file itself failed
            result.error = exc
            log.error("sync round failed on the local data file: %s", exc)
        return result

    def _payload(self, store_id: str, events: EncodedBatch, backlog: int) -> bytes:
        """The batch's body, gzipped; the events' JSON is spliced in as the outbox wrote it."""
        head = {
            "store_id": store_id,
            "software_version": self.software_version,
            "backlog": backlog,
            "clock": {
                "wall": self.clock.now().isoformat(timespec="milliseconds"),
                "boot_id": self.clock.boot_id,
                "monotonic": self.clock.monotonic(),
            },
        }
        envelope = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
        raw = f'{envelope[:-1]},"events":[{",".join(events.items)}]}}'.encode()
        return gzip.compress(raw, compresslevel=self.gzip_level)

    def _push(self, outbox: Outbox, store_id: str, acked: int, result: RoundResult) -> None:
        """Send batches until none is left. With nothing pending, one empty batch goes as a
        heartbeat: the collector sees the kiosk (last seen, backlog 0, clock) and the round
        only counts as a success if the collector was actually reached."""
        batch_size = self.batch_size
        rewound = False  # the collector may go back once (restored from a backup), not twice
        reached = False  # the collector answered with a valid ack this round
        best_rtt = None
        while True:
            events = outbox.encoded_batch(acked, batch_size)
            if not events and reached:
                result.pending = 0
                return
            pending = outbox.pending_count(acked) if events else 0
            result.pending = pending
            body = self._payload(store_id, events, pending - len(events))
            sent_wall, t0 = self.clock.now(), time.monotonic()
            try:
                resp = self.session.post(
                    f"{self.base}/api/v1/events",
                    data=body,
                    timeout=self.timeout,
                    allow_redirects=False,
                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                )
            except requests.RequestException as exc:
                raise describe_exception(exc) from exc
            rtt = time.monotonic() - t0
            if resp.status_code == 413 and len(events) > 1:
                batch_size = max(1, len(events) // 2)
                log.warning("collector says the batch is too large; trying %d events", batch_size)
                continue
            ack = validate_ack(resp)  # raises: nothing is marked
            reached = True
            if best_rtt is None or rtt < best_rtt:
                best_rtt = rtt
                kiosk_mid = sent_wall.timestamp() + rtt / 2
                result.clock_offset = ack.server_time.timestamp() - kiosk_mid
            # Never past what the collector holds, nor past what this batch carried.
            new_acked = min(ack.acked_seq, events.last_seq if events else acked)
            if new_acked < acked:
                if rewound:
                    raise errors.no_progress(f"acked_seq went back twice, to {ack.acked_seq}")
                rewound = True
                log.warning(
                    "collector holds events only up to seq %d of store %s (we had %d acked); sending again from there",
                    new_acked,
                    store_id,
                    acked,
                )
            if events or new_acked != acked:
                new_pending = outbox.pending_count(new_acked)
                # With the success time in one transaction: the status line never reads
                # "never synced, nothing pending" between the two.
                outbox.mark_acked(store_id, new_acked, new_pending, iso(self.clock.now()))  # durable before going on
                result.pending = new_pending
            if events:
                result.batches += 1
                result.stored += ack.stored
                result.duplicates += ack.duplicates
                result.sent += max(0, new_acked - acked)
                if new_acked == acked:
                    # Sending the same batch again would get the same answer: stop the round.
                    raise errors.no_progress(
                        f"acked_seq {ack.acked_seq} for a batch of seq {events.first_seq}-{events.last_seq}"
                    )
            acked = new_acked

    def _pull_settings(self, etag: str | None, result: RoundResult) -> dict:
        """GET the settings with If-None-Match; return the sync_state columns to update."""
        headers = {"If-None-Match": etag} if etag else {}
        try:
            resp = self.session.get(
                f"{self.base}/api/v1/settings", headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise describe_exception(exc) from exc
        answer = validate_settings(resp)
        update = {"settings_at": iso(self.clock.now()), "settings_error": None}
        if answer.unchanged:
            return update
        # Stored only: applying them to the running UI comes with a later issue.
        result.settings_changed = True
        return {
            **update,
            "settings_etag": answer.etag,
            "settings_revision": answer.revision,
            "settings_json": json.dumps(answer.settings, ensure_ascii=False),
        }


def _pending_since(previous: str | None, pending: int, now: datetime) -> str | None:
    """When events started waiting: kept while some wait, cleared when none do.

    A value from before 2020 or from the future was written under a wrong wall clock
    (a Pi before NTP answered) and restarts from now.
    """
    if not pending:
        return None
    if previous is None or previous > iso(now) or previous < "2020":
        return iso(now)
    return previous
