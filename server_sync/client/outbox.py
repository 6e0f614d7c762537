"""What the sync client needs of the kiosk's store: the ``Outbox`` interface it is handed.

The kiosk implements it over its own SQLite file (kiosk/outbox.py); the client
never opens that file itself, so it knows nothing of the kiosk's tables. Every
write is durable when it returns; every failure of the local file raises a
``SyncError`` (``errors.local_data``), which ends the round with nothing
unconfirmed marked as sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from server_sync.wire.events import Event

# The sync state the client keeps per store_id. A store replaced after corruption
# gets a new id and so starts again at seq 1.
STATE_COLUMNS = (
    "store_id",
    "acked_seq",
    "pending",
    "pending_since",
    "last_attempt_at",
    "last_round_ok",
    "last_success_at",
    "last_error_at",
    "last_error_zh",
    "last_error_en",
    "last_error_detail",
    "clock_offset",
    "clock_offset_at",
    "settings_etag",
    "settings_revision",
    "settings_json",
    "settings_at",
    "settings_error",
)
# The case rows the client hands over, in this order (server_sync/client/cases.py checks each field).
CASE_COLUMNS = (
    "case_no",
    "revision",
    "case_type",
    "case_type_en",
    "name",
    "stages",
    "unit",
    "unit_en",
    "extension",
    "due_date",
    "closed_date",
    "hide_after",
    "verifier",
)


@dataclass(frozen=True)
class EncodedBatch:
    """Events ready for the wire: each one's JSON object as ``event_json`` writes it, oldest first."""

    items: list[str]
    first_seq: int = 0  # 0 when empty
    last_seq: int = 0

    def __len__(self) -> int:
        return len(self.items)


def event_json(event: Event) -> str:
    """One event as the batch carries it: ``Event.as_json`` in compact JSON, non-ASCII kept as UTF-8."""
    return json.dumps(event.as_json(), ensure_ascii=False, separators=(",", ":"))


class Outbox(Protocol):
    """The kiosk's store as the sync client sees it; used as a context manager for one round."""

    def __enter__(self) -> Outbox: ...

    def __exit__(self, *exc: object) -> None: ...

    def close(self) -> None: ...

    # -- events and the watermark -------------------------------------------------
    @property
    def store_id(self) -> str:
        """The id of the kiosk's data file (it changes when a corrupt file was replaced)."""
        ...

    def state(self, store_id: str) -> dict[str, Any]:
        """This store's sync state, keyed by STATE_COLUMNS (acked_seq 0 and the rest None at first)."""
        ...

    def pending_count(self, after_seq: int) -> int:
        """How many events have a seq above ``after_seq``."""
        ...

    def batch(self, after_seq: int, limit: int) -> Sequence[Event]:
        """Up to ``limit`` events after ``after_seq``, oldest first."""
        ...

    def encoded_batch(self, after_seq: int, limit: int) -> EncodedBatch:
        """What ``batch`` returns, already as the wire's JSON (what a push sends): the same text
        ``event_json`` gives for each event, made without building an Event per row."""
        ...

    def mark_acked(self, store_id: str, acked_seq: int, pending: int, succeeded_at: str) -> None:
        """Move the watermark, the pending count and the last success time in one transaction."""
        ...

    def update_state(self, store_id: str, values: dict[str, Any]) -> None:
        """Write the given STATE_COLUMNS (not store_id) in one transaction."""
        ...

    # -- the service directory's last good copy -------------------------------------
    def services_etag(self) -> str | None: ...

    def save_services(self, revision: int, etag: str | None, directory_json: str, received_at: str) -> None: ...

    def services_refused(self, message: str) -> None:
        """Keep why the collector's copy was refused; the old copy stays."""
        ...

    # -- case statuses ----------------------------------------------------------------
    def case_position(self) -> tuple[str | None, int]:
        """(dataset, revision) of the cases held; (None, 0) before the first pull."""
        ...

    def apply_cases(
        self,
        dataset: str,
        revision: int,
        rows: Sequence[Sequence[Any]],
        removed: Sequence[str],
        *,
        pulled_at: str,
        today: str,
        wipe: bool,
    ) -> None:
        """One page of changes and the new position, in one transaction; rows follow CASE_COLUMNS.

        wipe: drop every case held first (another dataset, or one restored from an older backup).
        today: the office's date; cases whose hide_after is before it go.
        """
        ...

    def case_error(self, message: str) -> None:
        """Keep why the last case pull failed; never raises."""
        ...


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
