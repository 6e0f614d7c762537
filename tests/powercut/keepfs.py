"""A FUSE file system that keeps only what was fsynced, and can lose the rest like a power cut.

It passes every call through to a backing folder and remembers what is not
durable yet:

- file data: an undo log per file (its size and the bytes each write or
  truncate replaced) since that file's last fsync or fdatasync;
- folder entries: every create, mkdir, rename, unlink and rmdir since the
  last fsync of each folder it touched (a removed or replaced file is kept in
  a graveyard until then). fsyncing a file does not make its name durable.

``keepfs_mount.Mount`` runs it in a child process (``python keepfs.py BACKING
MOUNT GRAVE``) and drives it over a pipe: ``freeze`` makes every later call fail with EIO
and change nothing (the moment of the cut; calls already running finish
first), ``cut`` undoes every change that was not made durable, newest first.
What the backing folder then holds is what a disk would after the power cut.
The backing folder's own durability plays no part, so no real fsync is made.

Not modelled, as the kiosk and collector do not use them: links, symlinks,
xattrs, fallocate, and renames of folders that replace a folder.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import shutil
import sys
import threading
from dataclasses import dataclass, field

import mfusepy
from mfusepy import FuseOSError, Operations


@dataclass
class _Unsynced:
    """A file changed since its last fsync: how to put its data back."""

    fd: int  # our own descriptor on the inode, valid across renames and unlinks
    size: int  # its size at the last fsync
    undo: list[tuple[int, bytes]] = field(default_factory=list)  # (offset, bytes that were there)


@dataclass
class _Entry:
    """One change of folder entries, waiting for an fsync of each folder it touched."""

    kind: str  # create, mkdir, rmdir, unlink, rename
    path: str  # the backing path (rename: the old one)
    waiting: set[int]  # inode numbers of the folders not yet fsynced since
    new: str = ""  # rename: the new path
    grave: str = ""  # unlink, rename over a file: where the old file is kept
    mode: int = 0o755  # rmdir: to make the folder again


def _locked(method):
    """Run one FUSE call under the lock; after the freeze, refuse it without touching anything."""

    @functools.wraps(method)  # mfusepy reads the signature (create's flags)
    def run(self, *args):
        with self.mutex:
            if self.frozen:
                raise FuseOSError(errno.EIO)
            return method(self, *args)

    return run


class KeepFS(Operations):
    use_ns = True

    def __init__(self, root: str, grave: str, on_mounted):
        self.root, self.grave, self.on_mounted = root, grave, on_mounted
        self.mutex = threading.Lock()
        self.frozen = False
        self.files: dict[int, _Unsynced] = {}
        self.entries: list[_Entry] = []
        self.graves = 0

    # -- bookkeeping ----------------------------------------------------------------------
    def _real(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def _dir_ino(self, real: str) -> int:
        return os.stat(os.path.dirname(real)).st_ino

    def _unsynced(self, fd: int) -> _Unsynced:
        ino = os.fstat(fd).st_ino
        if ino not in self.files:
            own = os.open(f"/proc/self/fd/{fd}", os.O_RDWR)
            self.files[ino] = _Unsynced(own, os.fstat(own).st_size)
        return self.files[ino]

    def _keep_old(self, fd: int, offset: int, length: int) -> None:
        """Before bytes [offset, offset+length) of the file change: remember what was there."""
        rec = self._unsynced(fd)
        size = os.fstat(rec.fd).st_size
        if offset < size:
            rec.undo.append((offset, os.pread(rec.fd, min(length, size - offset), offset)))

    def _bury(self, real: str) -> str:
        self.graves += 1
        grave = os.path.join(self.grave, str(self.graves))
        os.rename(real, grave)
        return grave

    # -- control (called from the control thread) -------------------------------------------
    def freeze(self) -> None:
        with self.mutex:
            self.frozen = True

    def cut(self) -> str:
        """Undo everything not durable, newest first; return what was undone."""
        with self.mutex:
            undone_writes = sum(len(rec.undo) + 1 for rec in self.files.values())
            for rec in self.files.values():
                for offset, old in reversed(rec.undo):
                    os.pwrite(rec.fd, old, offset)
                os.ftruncate(rec.fd, rec.size)
                os.close(rec.fd)
            self.files.clear()
            for entry in reversed(self.entries):
                self._undo(entry)
            undone_entries = len(self.entries)
            self.entries.clear()
            return f"{undone_writes} {undone_entries}"

    def _undo(self, e: _Entry) -> None:
        if e.kind == "create":
            if os.path.lexists(e.path):
                os.unlink(e.path)
        elif e.kind == "mkdir":
            shutil.rmtree(e.path, ignore_errors=True)
        elif e.kind == "rmdir":
            os.makedirs(e.path, e.mode, exist_ok=True)
        elif e.kind == "unlink":
            os.replace(e.grave, e.path)
        elif e.kind == "rename":
            if os.path.lexists(e.new):
                os.replace(e.new, e.path)
            if e.grave:
                os.replace(e.grave, e.new)

    # -- FUSE calls that change nothing ------------------------------------------------------
    def init(self, path):
        self.on_mounted()

    @_locked
    def getattr(self, path, fh=None):
        st = os.fstat(fh) if fh is not None else os.lstat(self._real(path))
        out = {key: getattr(st, key) for key in ("st_mode", "st_nlink", "st_size", "st_uid", "st_gid", "st_ino")}
        out.update(st_atime=st.st_atime_ns, st_mtime=st.st_mtime_ns, st_ctime=st.st_ctime_ns)
        return out

    @_locked
    def access(self, path, amode):
        if not os.access(self._real(path), amode):
            raise FuseOSError(errno.EACCES)
        return 0

    @_locked
    def readdir(self, path, fh):
        return [".", "..", *os.listdir(self._real(path))]

    @_locked
    def statfs(self, path):
        st = os.statvfs(self._real(path))
        return {
            key: getattr(st, key)
            for key in (
                "f_bavail",
                "f_bfree",
                "f_blocks",
                "f_bsize",
                "f_favail",
                "f_ffree",
                "f_files",
                "f_flag",
                "f_frsize",
                "f_namemax",
            )
        }

    @_locked
    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    @_locked
    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        # Allowed after the freeze too: closing changes nothing, and the killed writer's
        # descriptors must go for the unmount.
        with self.mutex:
            os.close(fh)
        return 0

    @_locked
    def chmod(self, path, mode):
        os.chmod(self._real(path), mode)
        return 0

    @_locked
    def chown(self, path, uid, gid):
        os.chown(self._real(path), uid, gid)
        return 0

    @_locked
    def utimens(self, path, times=None):
        os.utime(self._real(path), ns=times)
        return 0

    # -- file data ----------------------------------------------------------------------------
    @_locked
    def open(self, path, flags):
        fd = os.open(self._real(path), flags & ~os.O_TRUNC)
        if flags & os.O_TRUNC:
            self._keep_old(fd, 0, os.fstat(fd).st_size)
            os.ftruncate(fd, 0)
        return fd

    @_locked
    def create(self, path, mode, flags):
        real = self._real(path)
        existed = os.path.lexists(real)
        fd = os.open(real, (flags | os.O_CREAT) & ~os.O_TRUNC, mode)
        if not existed:
            self.entries.append(_Entry("create", real, {self._dir_ino(real)}))
        elif flags & os.O_TRUNC:
            self._keep_old(fd, 0, os.fstat(fd).st_size)
            os.ftruncate(fd, 0)
        return fd

    @_locked
    def write(self, path, data, offset, fh):
        self._keep_old(fh, offset, len(data))
        return os.pwrite(fh, data, offset)

    @_locked
    def truncate(self, path, length, fh=None):
        fd = fh if fh is not None else os.open(self._real(path), os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            if length < size:
                self._keep_old(fd, length, size - length)
            else:
                self._unsynced(fd)
            os.ftruncate(fd, length)
        finally:
            if fh is None:
                os.close(fd)
        return 0

    @_locked
    def fsync(self, path, datasync, fh):
        rec = self.files.pop(os.fstat(fh).st_ino, None)
        if rec is not None:
            os.close(rec.fd)
        return 0

    # -- folder entries ---------------------------------------------------------------------------
    @_locked
    def mkdir(self, path, mode):
        real = self._real(path)
        os.mkdir(real, mode)
        self.entries.append(_Entry("mkdir", real, {self._dir_ino(real)}))
        return 0

    @_locked
    def rmdir(self, path):
        real = self._real(path)
        mode = os.stat(real).st_mode & 0o7777
        os.rmdir(real)
        self.entries.append(_Entry("rmdir", real, {self._dir_ino(real)}, mode=mode))
        return 0

    @_locked
    def unlink(self, path):
        real = self._real(path)
        waiting = {self._dir_ino(real)}
        self.entries.append(_Entry("unlink", real, waiting, grave=self._bury(real)))
        return 0

    @_locked
    def rename(self, old, new):
        real_old, real_new = self._real(old), self._real(new)
        grave = ""
        if os.path.lexists(real_new) and not os.path.isdir(real_new):
            grave = self._bury(real_new)
        os.rename(real_old, real_new)
        waiting = {self._dir_ino(real_old), self._dir_ino(real_new)}
        self.entries.append(_Entry("rename", real_old, waiting, new=real_new, grave=grave))
        return 0

    @_locked
    def fsyncdir(self, path, datasync, fh):
        ino = os.stat(self._real(path)).st_ino
        for entry in self.entries:
            entry.waiting.discard(ino)
        for entry in [e for e in self.entries if not e.waiting]:
            if entry.grave:  # the removal is durable: the old file is gone for good
                shutil.rmtree(entry.grave) if os.path.isdir(entry.grave) else os.unlink(entry.grave)
        self.entries = [e for e in self.entries if e.waiting]
        return 0


def serve(backing: str, mountpoint: str, grave: str) -> None:
    """Mount, then answer ``freeze`` and ``cut`` lines on stdin until unmounted."""

    def say(line: str) -> None:
        os.write(1, (line + "\n").encode())

    fs = KeepFS(os.path.abspath(backing), os.path.abspath(grave), on_mounted=lambda: say("mounted"))

    def control() -> None:
        for line in sys.stdin:
            command = line.strip()
            if command == "freeze":
                fs.freeze()
                say("frozen")
            elif command == "cut":
                say(f"undone {fs.cut()}")

    threading.Thread(target=control, daemon=True).start()
    # One thread: calls are serialised anyway, and a cut must not meet one half done.
    # hard_remove: an unlinked open file is unlinked, not renamed to .fuse_hidden*.
    mfusepy.FUSE(fs, mountpoint, foreground=True, nothreads=True, fsname="keepfs", hard_remove=True)


if __name__ == "__main__":
    # KEEPFS_DEBUG=1: every call and its errno in the log (keepfs.log beside the backing folder).
    logging.basicConfig(level=logging.DEBUG if os.environ.get("KEEPFS_DEBUG") else logging.WARNING)
    serve(*sys.argv[1:4])
