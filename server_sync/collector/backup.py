"""Online backups of the collector's database, compressed, and restoring one.

SQLite's backup API copies a consistent snapshot while the collector keeps
taking writes (WAL: readers never block the writer). The snapshot goes to a
temporary file, is checked with ``PRAGMA integrity_check``, then gzipped
(standard library: no dependency; a database of 1M ratings went from 258 MB to 91 MB at
level 6, its random event ids being most of what is left) to a second temporary name,
fsynced and only then renamed into place, so a power cut never leaves a half backup that
looks whole.

Retention keeps the newest ``keep`` backups and, if ``max_total`` is given, deletes
the oldest until the rest fit in that many bytes; the backup just made is never
deleted, even when it alone is larger. Restoring takes a compressed backup or an
old uncompressed ``.db`` one.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from server_sync.durable import fsync_dir, make_dirs, replace_file

PREFIX = "collector-"
SUFFIX = ".db"
GZ_SUFFIX = ".db.gz"
GZIP_LEVEL = 6  # zlib's default: most of level 9's size at a fraction of its time
CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
_NAME = re.compile(rf"^{PREFIX}(\d{{8}}T\d+Z)(\.db|\.db\.gz)$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)

SAME_FS_WARNING = (
    "警告：備份資料夾與資料庫在同一個檔案系統，這顆磁碟故障時備份會一起遺失；請把備份複製到另一顆磁碟或另一台機器。\n"
    "Warning: the backup folder is on the database's own file system: a failed disk loses the backups with it;"
    " copy them to another disk or machine."
)


class BackupError(Exception):
    """A backup or restore that could not be done; nothing was replaced."""


@dataclass
class BackupResult:
    """What one backup did: the new file, the backups deleted by retention, warnings in zh/en."""

    path: Path
    deleted: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def parse_size(text: str) -> int:
    """Bytes from '500M', '20G', '1.5T', '2048' (powers of 1024; a trailing B or iB is allowed)."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a size: {text!r} (say 500M, 20G or a number of bytes)")
    power = " kmgt".index(m[2].lower() or " ")
    return int(float(m[1]) * 1024**power)


def same_filesystem(db: Path, to_dir: Path) -> bool:
    """Whether the backup folder and the database's folder are on one file system (same st_dev)."""
    return os.stat(Path(db).resolve().parent).st_dev == os.stat(Path(to_dir).resolve()).st_dev


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


def _fsynced_copy(src_fh, dst: Path) -> None:
    with open(dst, "wb") as out:
        shutil.copyfileobj(src_fh, out, CHUNK)
        out.flush()
        os.fsync(out.fileno())


def backup(
    db: Path, to_dir: Path, *, keep: int = 14, max_total: int | None = None, now: datetime | None = None
) -> BackupResult:
    """Copy ``db`` into ``to_dir`` as collector-<UTC time>.db.gz; keep the newest ``keep``,
    and (``max_total`` bytes) delete the oldest until the backups fit, never the new one."""
    db, to_dir = Path(db), Path(to_dir)
    if not db.is_file():
        raise BackupError(f"找不到資料庫 no database at {db}")
    if keep < 1:
        raise BackupError(f"--keep must be at least 1, got {keep}")
    if max_total is not None and max_total < 1:
        raise BackupError(f"--max-total-size must be at least 1 byte, got {max_total}")
    make_dirs(to_dir)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    target = to_dir / f"{PREFIX}{stamp}{GZ_SUFFIX}"
    raw = to_dir / f"{PREFIX}{stamp}.snapshot.tmp"
    packed = to_dir / f"{PREFIX}{stamp}.gz.tmp"
    try:
        src = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(raw)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # a backup is one self-contained file
        finally:
            dst.close()
            src.close()
        _check(raw)
        # mtime 0 and no name inside: the same snapshot compresses to the same bytes.
        with (
            open(raw, "rb") as fh,
            open(packed, "wb") as out,
            gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=GZIP_LEVEL, mtime=0) as gz,
        ):
            shutil.copyfileobj(fh, gz, CHUNK)
        replace_file(packed, target)  # fsyncs the data, renames, fsyncs the folder
    finally:
        raw.unlink(missing_ok=True)
        packed.unlink(missing_ok=True)
    result = BackupResult(target)
    result.deleted = _retain(to_dir, target, keep, max_total, result.warnings)
    fsync_dir(to_dir)
    if same_filesystem(db, to_dir):
        result.warnings.append(SAME_FS_WARNING)
    return result


def _retain(to_dir: Path, newest: Path, keep: int, max_total: int | None, warnings: list[str]) -> list[Path]:
    backups = [p for p in list_backups(to_dir) if p != newest] + [newest]
    doomed = backups[:-keep]
    kept = backups[len(doomed) :]
    if max_total is not None:
        sizes = {p: p.stat().st_size for p in kept}
        total = sum(sizes.values())
        while total > max_total and len(kept) > 1:  # oldest first; the newest always stays
            old = kept.pop(0)
            doomed.append(old)
            total -= sizes[old]
        if total > max_total:
            warnings.append(
                f"警告：最新的備份 {newest.name} 單獨就超過 --max-total-size，仍保留它。\n"
                f"Warning: the newest backup alone ({sizes[newest]:,} bytes) is larger than --max-total-size"
                f" ({max_total:,} bytes); it is kept anyway."
            )
    for old in doomed:
        old.unlink(missing_ok=True)
    return doomed


def list_backups(to_dir: Path) -> list[Path]:
    """Backups in ``to_dir``, compressed (.db.gz) or from before compression (.db), oldest first."""
    found = []
    for p in Path(to_dir).iterdir() if Path(to_dir).is_dir() else ():
        m = _NAME.match(p.name)
        if m and p.is_file():
            found.append((m[1], p))
    return [p for _, p in sorted(found)]


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def restore(backup_file: Path, db: Path, *, now: datetime | None = None) -> Path | None:
    """Put ``backup_file`` (.db.gz or an old .db) in place of ``db`` (collector stopped).
    The old file is kept beside it; returns its new name, or None if there was none."""
    backup_file, db = Path(backup_file), Path(db)
    # The copy is made, checked and fsynced first, so the moment with no database
    # under the name lasts only for the renames below; the old file stays beside it.
    tmp = db.with_name(db.name + ".restoring")
    try:
        try:
            if _is_gzip(backup_file):
                with gzip.open(backup_file, "rb") as fh:
                    _fsynced_copy(fh, tmp)
            else:
                with open(backup_file, "rb") as fh:
                    _fsynced_copy(fh, tmp)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise BackupError(f"{backup_file} cannot be read: {exc}") from None
        _check(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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
