"""Making file-system changes survive a power cut, not only a killed process.

A name in a folder (a new file, a new folder, a rename) is only on the disk once
that folder itself has been fsynced; fsyncing the file keeps its data, not its
name. POSIX promises nothing more, and f2fs, XFS or ext4 mounted differently
than usual do lose such names after a cut. The kiosk and the collector use
these three helpers wherever they make a folder or rename a file into place.
Standard library only, so both ends can use it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def fsync_dir(path: str | Path) -> None:
    """Flush the entries of the folder ``path`` (names made, renamed or removed in it)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: str | Path) -> Path:
    """``mkdir -p`` that survives a power cut: each folder it makes is fsynced into its parent.

    Folders that already exist are left alone; a folder made by someone else in
    between is taken as it is.
    """
    path = Path(os.path.abspath(path))
    missing = []
    for p in (path, *path.parents):
        if p.is_dir():
            break
        missing.append(p)
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            if not p.is_dir():
                raise
        # The new name lives in the parent's entries: flush the parent, whoever made it.
        fsync_dir(p.parent)
    return path


def replace_file(tmp: str | Path, target: str | Path) -> None:
    """Put the finished file ``tmp`` in place of ``target`` so a power cut leaves one or the other.

    The data is fsynced before the rename (else the new name may point at an
    empty file) and the folder after it (else the old name may come back).
    """
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    fsync_dir(Path(target).parent)


def write_file(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file beside it, durably.

    The temporary file's name is unique: two processes writing the same target at
    once (two kiosks starting on one cold font cache) each rename a whole file into
    place instead of one renaming the other's away. A failed write (a full disk)
    removes its temporary file and leaves ``target`` as it was.
    """
    target = Path(target)
    # Not mkstemp: its file is 0600, and exports are read by other accounts.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)
