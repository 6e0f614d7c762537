"""The kiosk's one SQLite file: an append-only log of events.

Durability is the point of this module. Every event is committed with
``synchronous=FULL`` in WAL mode before ``append`` returns, and callers only
acknowledge anything to a visitor (LED, thank-you screen) after it returns.
A write that fails (disk full, read-only filesystem) raises ``StoreUnavailable``
and leaves nothing half-written. A corrupt file found at start-up is moved
aside, never deleted, and a fresh one is started.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk.clock import SystemClock
from kiosk.identity import resolve_kiosk_id
from kiosk.migrations import migrations
from server_sync.durable import make_dirs
from server_sync.wire.events import STORE_RECOVERED, Event

log = logging.getLogger(__name__)

DB_NAME = "kiosk.db"

# Errors that mean the storage medium refuses writes, not that the file is bad.
_UNAVAILABLE_CODES = {
    sqlite3.SQLITE_FULL: ("儲存空間已滿", "storage is full"),
    sqlite3.SQLITE_READONLY: ("儲存裝置為唯讀", "storage is read-only"),
    sqlite3.SQLITE_IOERR: ("儲存裝置讀寫錯誤", "storage input/output error"),
    sqlite3.SQLITE_CANTOPEN: ("無法開啟資料檔", "cannot open the data file"),
    sqlite3.SQLITE_PERM: ("沒有寫入權限", "no permission to write"),
    sqlite3.SQLITE_BUSY: ("資料檔忙碌中", "the data file is busy"),
}
_CORRUPT_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


class StoreUnavailable(Exception):
    """Nothing was recorded because the storage refused the write."""

    def __init__(self, zh: str, en: str, detail: str = ""):
        self.zh, self.en, self.detail = zh, en, detail
        super().__init__(f"{zh} / {en}" + (f" ({detail})" if detail else ""))


def _read_only(path: Path) -> bool:
    """True if the filesystem holding ``path`` (or its nearest existing parent) is mounted read-only."""
    for p in (path, *path.parents):
        try:
            return bool(os.statvfs(p).f_flag & os.ST_RDONLY)
        except OSError:
            continue
    return False


def unavailable(exc: BaseException, where: Path | None = None) -> StoreUnavailable:
    zh, en = ("無法寫入資料", "cannot write data")
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        # extended codes share the primary code's low byte
        zh, en = _UNAVAILABLE_CODES.get(code & 0xFF, (zh, en))
    if isinstance(exc, OSError):
        zh, en = ("無法寫入資料目錄", "cannot write the data directory")
        if exc.errno == errno.ENOSPC:
            zh, en = _UNAVAILABLE_CODES[sqlite3.SQLITE_FULL]
    # SQLite reports a read-only filesystem as "unable to open" (it cannot make the
    # -shm file) or as an I/O error; say what staff can act on.
    if where is not None and (zh, en) != _UNAVAILABLE_CODES[sqlite3.SQLITE_FULL] and _read_only(where):
        zh, en = _UNAVAILABLE_CODES[sqlite3.SQLITE_READONLY]
    return StoreUnavailable(zh, en, str(exc))


# The events table's columns in the order ``row_to_event`` reads them.
EVENT_COLUMNS = "seq, id, type, kiosk_id, unit, window, level, misuse, ref, recorded_at, boot_id, monotonic, detail"


def row_to_event(row) -> Event:
    """One row of ``SELECT {EVENT_COLUMNS} FROM events`` as an Event."""
    seq, id_, type_, kiosk_id, unit, window, level, misuse, ref, rec, boot, mono, detail = row
    return Event(
        seq,
        id_,
        type_,
        kiosk_id,
        unit,
        window,
        level,
        bool(misuse),
        ref,
        rec,
        boot,
        mono,
        json.loads(detail) if detail else {},
    )


def connect(path: Path) -> sqlite3.Connection:
    """A connection set up for durable writes: WAL, synchronous=FULL, autocommit."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class Store:
    """The append-only event log in ``data_dir/kiosk.db``.

    kiosk_id: the id stored with every event; empty means this board's own (kiosk.identity).
    unit: the unit stored with every event (第一組 …).
    window: the window number stored with every event.
    clock: where times come from (``SystemClock`` unless simulating).
    must_open: raise StoreUnavailable at once if the file cannot be opened; when
        False (the running kiosk) the store starts closed and every write retries.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        kiosk_id: str,
        unit: str = "",
        window: str = "",
        clock=None,
        must_open: bool = True,
    ):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_NAME
        self.kiosk_id = resolve_kiosk_id(kiosk_id, self.data_dir)
        self.unit, self.window = unit, window
        self.clock = clock or SystemClock()
        self._lock = threading.RLock()
        self.recovered_from: Path | None = None
        self.conn: sqlite3.Connection | None = None
        self.open_error: StoreUnavailable | None = None
        try:
            self._open()
        except StoreUnavailable as exc:
            if must_open:
                raise
            self.open_error = exc
            log.error("Store not available at start-up: %s", exc)

    # -- opening -------------------------------------------------------------
    def _open(self) -> None:
        try:
            make_dirs(self.data_dir)  # fsynced into its parent: a power cut must not take the folder
        except OSError as exc:
            raise unavailable(exc, self.data_dir) from exc
        try:
            self.conn = self._open_checked()
        except sqlite3.DatabaseError as exc:
            code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
            if code not in _CORRUPT_CODES:
                raise unavailable(exc, self.data_dir) from exc
            try:
                moved_to = self._move_aside(str(exc))
            except OSError as move_exc:  # e.g. a corrupt file on a read-only card
                raise unavailable(move_exc, self.data_dir) from exc
            try:
                self.conn = self._open_checked()
            except sqlite3.DatabaseError as exc2:
                raise unavailable(exc2, self.data_dir) from exc2
            self.append(STORE_RECOVERED, detail={"moved_to": moved_to.name, "reason": str(exc)})
        self.db = sqlite_utils.Database(self.conn)

    def _open_checked(self) -> sqlite3.Connection:
        conn = connect(self.path)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
            if result != "ok":
                err = sqlite3.DatabaseError(f"quick_check: {result}")
                err.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
                raise err
            migrations.apply(sqlite_utils.Database(conn))
            if conn.execute("SELECT value FROM meta WHERE key='store_id'").fetchone() is None:
                conn.execute("INSERT INTO meta(key, value) VALUES ('store_id', ?)", [str(uuid.uuid4())])
        except BaseException:
            conn.close()
            raise
        return conn

    def _move_aside(self, reason: str) -> Path:
        """Move the corrupt file (and its -wal, -shm) aside; return where it went."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{DB_NAME}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{DB_NAME}.corrupt-{stamp}-{n}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.rename(Path(str(target) + suffix))
        self.recovered_from = target
        log.error("Corrupt database %s (%s) moved aside to %s; started a fresh one", self.path, reason, target)
        return target

    def close(self) -> None:
        with self._lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None

    # -- writing -------------------------------------------------------------
    def append(
        self,
        type: str,
        *,
        level: int | None = None,
        misuse: bool = False,
        ref: str | None = None,
        detail: dict[str, Any] | None = None,
        window: str | None = None,
    ) -> Event:
        """Durably record one event and return it; raise StoreUnavailable if it could not be.

        window: the window it happened at, when not this kiosk's own (the office's queue host
        records the calls of every window)."""
        window = self.window if window is None else window
        with self._lock:
            conn = self._ensure_open()
            event_id = str(uuid.uuid4())
            recorded_at = self.clock.now().isoformat(timespec="milliseconds")
            mono = self.clock.monotonic()
            detail_json = json.dumps(detail, ensure_ascii=False) if detail else None
            # The event's fields after seq, in the order of the INSERT and of Event (sqlite3 stores misuse as 0/1).
            fields = (
                event_id,
                type,
                self.kiosk_id,
                self.unit,
                window,
                level,
                misuse,
                ref,
                recorded_at,
                self.clock.boot_id,
                mono,
            )
            try:
                conn.execute("BEGIN IMMEDIATE")
                cur = conn.execute(
                    "INSERT INTO events (id, type, kiosk_id, unit, window, level, misuse, ref,"
                    " recorded_at, boot_id, monotonic, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    [*fields, detail_json],
                )
                seq = cur.lastrowid
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._abandon()
                raise unavailable(exc, self.data_dir) from exc
            assert seq is not None  # an INSERT that succeeded always sets lastrowid
            return Event(seq, *fields, detail or {})

    def side_connection(self) -> sqlite3.Connection:
        """A connection of its own to this store's file (made and migrated if need be), for a part
        that keeps its own tables beside the event log: case lookups, the staff PIN's lock."""
        self._ensure_open()
        try:
            return connect(self.path)
        except sqlite3.Error as exc:
            raise unavailable(exc, self.data_dir) from exc

    def _ensure_open(self) -> sqlite3.Connection:
        """The connection, reopened if a failure closed it: the medium may be back."""
        if self.conn is None:
            try:
                make_dirs(self.data_dir)
                self.conn = self._open_checked()
                self.db = sqlite_utils.Database(self.conn)
                self.open_error = None
            except (sqlite3.Error, OSError) as exc:
                self.conn = None
                raise unavailable(exc, self.data_dir) from exc
        return self.conn

    def _abandon(self) -> None:
        """After a failed write: roll back and drop the connection so the next try reopens."""
        conn = self.conn
        if conn is None:
            return
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        try:
            conn.close()
        except sqlite3.Error:
            pass
        self.conn = None

    # -- reading -------------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        # A failed write (disk full) drops the connection; what is stored can still be read.
        return self._ensure_open()

    def events(self, *, after_seq: int = 0, limit: int | None = None, type: str | None = None) -> Iterator[Event]:
        """Stored events, oldest first."""
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?"
        params: list[Any] = [after_seq]
        if type:
            sql += " AND type = ?"
            params.append(type)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._reader().execute(sql, params).fetchall()
        for row in rows:
            yield row_to_event(row)

    def count(self, type: str | None = None) -> int:
        with self._lock:
            if type:
                return self._reader().execute("SELECT count(*) FROM events WHERE type=?", [type]).fetchone()[0]
            return self._reader().execute("SELECT count(*) FROM events").fetchone()[0]

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._reader().execute("SELECT value FROM meta WHERE key=?", [key]).fetchone()
        return row[0] if row else None

    @property
    def store_id(self) -> str:
        value = self.meta("store_id")
        assert value is not None  # _open_checked writes it before a connection is used
        return value


@dataclass
class SideTables:
    """A part that keeps its own tables in the store's file (case lookups, the staff PIN's lock),
    through a connection of its own (Store.side_connection), opened on first use and after ``close``."""

    store: Store
    _conn: sqlite3.Connection | None = field(default=None, repr=False, kw_only=True)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self.store.side_connection()
        return self._conn
