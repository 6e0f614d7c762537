"""Online backups of the collector's database, and restoring one.

SQLite's backup API copies a consistent snapshot while the collector keeps
taking writes (WAL: readers never block the writer). A backup is written to a
temporary name, checked with ``PRAGMA integrity_check``, fsynced and only then
renamed into place, so a power cut never leaves a half backup that looks whole.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from server_sync.durable import fsync_dir, make_dirs, replace_file

PREFIX = "collector-"
SUFFIX = ".db"


class BackupError(Exception):
    """A backup or restore that could not be done; nothing was replaced."""


def _check(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a usable SQLite database: {exc}") from None
    finally:
        conn.close()
    if result != "ok":
        raise BackupError(f"{path} failed the integrity check: {result}")


def backup(db: Path, to_dir: Path, *, keep: int = 14, now: datetime | None = None) -> Path:
    """Copy ``db`` into ``to_dir`` as collector-<UTC time>.db; keep the newest ``keep``."""
    db, to_dir = Path(db), Path(to_dir)
    if not db.is_file():
        raise BackupError(f"找不到資料庫 no database at {db}")
    if keep < 1:
        raise BackupError(f"--keep must be at least 1, got {keep}")
    make_dirs(to_dir)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    target = to_dir / f"{PREFIX}{stamp}{SUFFIX}"
    tmp = target.with_suffix(".tmp")
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a backup is one self-contained file
    finally:
        dst.close()
        src.close()
    try:
        _check(tmp)
    except BackupError:
        tmp.unlink(missing_ok=True)
        raise
    replace_file(tmp, target)
    for old in list_backups(to_dir)[:-keep]:
        old.unlink()
    fsync_dir(to_dir)
    return target


def list_backups(to_dir: Path) -> list[Path]:
    """Backups in ``to_dir``, oldest first."""
    return sorted(Path(to_dir).glob(f"{PREFIX}*{SUFFIX}"))


def restore(backup_file: Path, db: Path, *, now: datetime | None = None) -> Path | None:
    """Put ``backup_file`` in place of ``db`` (collector stopped). The old file is kept beside it."""
    backup_file, db = Path(backup_file), Path(db)
    _check(backup_file)
    # The copy is made and fsynced first, so the moment with no database under
    # the name lasts only for the renames below; the old file stays beside it.
    tmp = db.with_name(db.name + ".restoring")
    with open(tmp, "wb") as fh:
        fh.write(backup_file.read_bytes())
        fh.flush()
        os.fsync(fh.fileno())
    kept = None
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    if db.exists():
        kept = db.with_name(f"{db.name}.before-restore-{stamp}")
        db.replace(kept)
    for suffix in ("-wal", "-shm"):
        stale = Path(str(db) + suffix)
        if stale.exists():
            stale.replace(Path(str(kept) + suffix) if kept else Path(str(stale) + ".old"))
    tmp.replace(db)
    # Renames are entries of the folder: without this a power cut after restore
    # returned could bring the old database back, or leave none under the name.
    fsync_dir(db.parent)
    return kept
