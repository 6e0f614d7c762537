"""The kiosk adapted to its sync client: the client's ``Outbox`` over the kiosk's SQLite file.

The sync client (server_sync.client) never opens the kiosk's file nor knows its
tables; everything it reads or writes here goes through ``KioskOutbox``. It has
a connection of its own (``kiosk.store.connect``: WAL, synchronous=FULL), so
reading a batch never blocks the UI's durable writes. The status line and
`kiosk doctor` read the sync state through ``read_status`` (kiosk/sync_state.py),
also straight from the file, so they are right even when the sync thread is busy or stuck.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from kiosk.clock import SystemClock
from kiosk.migrations import migrations
from kiosk.store import DB_NAME, EVENT_COLUMNS, connect, row_to_event
from kiosk.sync_state import StatusReader as StatusReader
from kiosk.sync_state import read_services as read_services
from kiosk.sync_state import read_status as read_status
from kiosk.version import __version__
from server_sync.client import errors
from server_sync.client.outbox import CASE_COLUMNS, STATE_COLUMNS, EncodedBatch
from server_sync.client.push import SyncClient
from server_sync.client.session import make_session
from server_sync.client.worker import SyncWorker
from server_sync.wire.events import Event

T = TypeVar("T")

# Catch-up sends every row as JSON, so SQLite writes it: for an event without extra fields (the
# bulk: ratings) this is the text event_json gives, field for field, in the wire's order (FIELDS),
# without an Event and a dict per row. monotonic is added in Python: SQLite 3.40 prints a REAL
# with 15 digits where Python's repr round-trips.
_HEAD_JSON = (
    "json_object('id', id, 'seq', seq, 'type', type, 'kiosk_id', kiosk_id, 'unit', unit, 'window', window,"
    " 'level', level, 'misuse', json(CASE WHEN misuse THEN 'true' ELSE 'false' END), 'ref', ref,"
    " 'recorded_at', recorded_at, 'boot_id', boot_id)"
)


class KioskOutbox:
    """``server_sync.client.outbox.Outbox`` over ``kiosk.db``; a context manager per round.

    path: the SQLite file (``kiosk.db``) or the folder holding it.
    """

    def __init__(self, path: str | Path):
        path = Path(path)
        self.path = path / DB_NAME if path.is_dir() or path.suffix != ".db" else path
        self.conn: sqlite3.Connection | None = None

    # -- connection ----------------------------------------------------------
    def open(self) -> KioskOutbox:
        if self.conn is not None:
            return self
        if not self.path.exists():
            # Never create the kiosk's file from here: the Store owns its creation.
            raise errors.local_data(f"{self.path} does not exist yet")
        try:
            conn = connect(self.path)
            try:
                db = sqlite_utils.Database(conn)
                if migrations.pending(db):  # read-only check: an up-to-date file costs no write
                    migrations.apply(db)
            except BaseException:
                conn.close()
                raise
        except sqlite3.Error as exc:
            raise errors.local_data(str(exc)) from exc
        self.conn = conn
        return self

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def __enter__(self) -> KioskOutbox:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn(conn), turning SQLite errors into a plain-words SyncError."""
        conn = self.conn if self.conn is not None else self.open().conn
        assert conn is not None
        try:
            return fn(conn)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise errors.local_data(str(exc)) from exc

    def _transaction(self, fn: Callable[[sqlite3.Connection], object]) -> None:
        """fn(conn) in one transaction, durable when this returns (synchronous=FULL)."""

        def go(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            fn(conn)
            conn.execute("COMMIT")

        self._run(go)

    # -- events and the watermark -------------------------------------------------
    @property
    def store_id(self) -> str:
        row = self._run(lambda c: c.execute("SELECT value FROM meta WHERE key='store_id'").fetchone())
        if row is None:
            raise errors.local_data("the data file has no store_id yet")
        return row[0]

    def state(self, store_id: str | None = None) -> dict[str, Any]:
        """This store's sync_state row (created with acked_seq 0 if missing)."""
        store_id = store_id or self.store_id

        def go(conn: sqlite3.Connection) -> tuple:
            conn.execute("INSERT OR IGNORE INTO sync_state(store_id) VALUES (?)", [store_id])
            return conn.execute(
                f"SELECT {', '.join(STATE_COLUMNS)} FROM sync_state WHERE store_id=?", [store_id]
            ).fetchone()

        return dict(zip(STATE_COLUMNS, self._run(go)))

    def pending_count(self, after_seq: int) -> int:
        # seq is gapless (the store appends with seq = rowid and never deletes; the collector's
        # contiguous watermark relies on it too), so the count is a subtraction: one look at the
        # end of the table, where counting walked every pending row, twice per batch in catch-up.
        top = self._run(lambda c: c.execute("SELECT max(seq) FROM events").fetchone()[0])
        return max(0, (top or 0) - after_seq)

    def batch(self, after_seq: int, limit: int) -> list[Event]:
        rows = self._run(
            lambda c: c.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", [after_seq, limit]
            ).fetchall()
        )
        return [row_to_event(row) for row in rows]

    def encoded_batch(self, after_seq: int, limit: int) -> EncodedBatch:
        rows = self._run(
            lambda c: c.execute(
                f"SELECT seq, {_HEAD_JSON}, monotonic, detail FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                [after_seq, limit],
            ).fetchall()
        )
        if not rows:
            return EncodedBatch([])
        items = []
        for _seq, head, mono, detail in rows:
            if detail or not isinstance(mono, float) or not math.isfinite(mono):
                # Extra fields go after the wire's own, as Event.as_json puts them; rare rows.
                event = json.loads(head)
                event["monotonic"] = mono
                extra = json.loads(detail) if detail else {}
                event.update({k: v for k, v in extra.items() if k not in event})
                items.append(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
            else:
                items.append(f'{head[:-1]},"monotonic":{mono!r}}}')
        return EncodedBatch(items, rows[0][0], rows[-1][0])

    def mark_acked(self, store_id: str, acked_seq: int, pending: int, succeeded_at: str) -> None:
        self._transaction(
            lambda c: c.execute(
                "UPDATE sync_state SET acked_seq=?, pending=?, last_success_at=? WHERE store_id=?",
                [acked_seq, pending, succeeded_at, store_id],
            )
        )

    def update_state(self, store_id: str, values: dict[str, Any]) -> None:
        unknown = set(values) - set(STATE_COLUMNS[1:])
        if unknown:
            raise ValueError(f"not sync_state columns: {sorted(unknown)}")
        if values:
            names = list(values)
            self._transaction(
                lambda c: c.execute(
                    f"UPDATE sync_state SET {', '.join(f'{n}=?' for n in names)} WHERE store_id=?",
                    [values[n] for n in names] + [store_id],
                )
            )

    # -- the service directory's last good copy (migration m201_queue) ---------------
    def services_etag(self) -> str | None:
        row = self._run(lambda c: c.execute("SELECT etag FROM service_directory WHERE id = 1").fetchone())
        return row[0] if row else None

    def save_services(self, revision: int, etag: str | None, directory_json: str, received_at: str) -> None:
        self._transaction(
            lambda c: c.execute(
                "INSERT INTO service_directory (id, revision, etag, directory, received_at, error)"
                " VALUES (1, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO UPDATE SET revision = excluded.revision,"
                " etag = excluded.etag, directory = excluded.directory, received_at = excluded.received_at,"
                " error = NULL",
                [revision, etag, directory_json, received_at],
            )
        )

    def services_refused(self, message: str) -> None:
        self._transaction(lambda c: c.execute("UPDATE service_directory SET error = ? WHERE id = 1", [message]))

    # -- case statuses (migration m101_cases) --------------------------------------------
    def case_position(self) -> tuple[str | None, int]:
        row = self._run(lambda c: c.execute("SELECT dataset, revision FROM case_sync WHERE id = 1").fetchone())
        return (row[0], row[1]) if row else (None, 0)

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
        def go(conn: sqlite3.Connection) -> None:
            if wipe:
                conn.execute("DELETE FROM cases")
            conn.executemany(
                f"INSERT OR REPLACE INTO cases ({', '.join(CASE_COLUMNS)})"
                f" VALUES ({', '.join('?' for _ in CASE_COLUMNS)})",
                rows,
            )
            conn.executemany("DELETE FROM cases WHERE case_no = ?", [[n] for n in removed])
            conn.execute("DELETE FROM cases WHERE hide_after < ?", [today])
            conn.execute(
                "INSERT INTO case_sync (id, dataset, revision, pulled_at, error) VALUES (1, ?, ?, ?, NULL)"
                " ON CONFLICT (id) DO UPDATE SET dataset=excluded.dataset, revision=excluded.revision,"
                " pulled_at=excluded.pulled_at, error=NULL",
                [dataset, revision, pulled_at],
            )

        self._run(lambda c: c.execute("PRAGMA secure_delete = ON"))  # a removed case leaves no bytes behind
        self._transaction(go)

    def case_error(self, message: str) -> None:
        try:
            self._run(lambda c: c.execute("UPDATE case_sync SET error = ? WHERE id = 1", [message[:500]]))
        except errors.SyncError:
            pass


def sync_client(
    url: str,
    token: str,
    data_dir: str | Path,
    *,
    clock=None,
    allow_insecure_http: bool = False,
    retries=None,
    **kwargs: Any,
) -> SyncClient:
    """A sync client for the kiosk data folder ``data_dir``, with the kiosk's clock and version.

    allow_insecure_http: [sync] allow_insecure_http; without it plain http goes to loopback only.
    """
    if "session" not in kwargs:
        kwargs["session"] = make_session(
            token or "", software_version=__version__, retries=retries, allow_insecure_http=allow_insecure_http
        )
    return SyncClient(
        url, token, KioskOutbox(data_dir), clock=clock or SystemClock(), software_version=__version__, **kwargs
    )


def sync_worker(config, data_dir: str | Path, *, clock=None, **kwargs: Any) -> SyncWorker:
    """The background sync of a kiosk with ``config`` ([sync] url, token, interval, allow_insecure_http)."""
    client = sync_client(
        config["sync.url"],
        config["sync.token"],
        data_dir,
        clock=clock,
        allow_insecure_http=config["sync.allow_insecure_http"],
    )
    return SyncWorker(client, interval=config["sync.interval"], **kwargs)
