"""A real full disk and a real read-only filesystem under a running kiosk.

Each test mounts its own small tmpfs. That needs root: these tests run as root
here and in CI (.ci/run runs the suite as root in the CI container). A
developer running the suite as an ordinary user sees them skipped, with the
reason. As root, a mount that fails is a test failure, not a skip, so CI never
silently stops checking this.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest

from kiosk.buttons import PressFailed
from kiosk.config import validate
from kiosk.flow import Flow
from kiosk.ratings import PressOutcome
from kiosk.runtime import Kiosk
from kiosk.store import DB_NAME, StoreUnavailable

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs as root)")

FULL = ("儲存空間已滿", "storage is full")
READ_ONLY = ("儲存裝置為唯讀", "storage is read-only")


def _mount(*args):
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(
            f"mount {' '.join(args)} failed (exit {result.returncode}): {result.stderr.strip()}. "
            "These tests need root with CAP_SYS_ADMIN (a privileged container in CI)."
        )


@pytest.fixture
def small_fs(tmp_path):
    """A 2 MB tmpfs at tmp_path/mnt, unmounted afterwards whatever happens."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    _mount("-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(mnt))
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(mnt) -> os.PathLike:
    """Write a filler file until the filesystem refuses another byte."""
    filler = mnt / "filler"
    with open(filler, "wb", buffering=0) as f:
        for chunk in (1 << 16, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == 28  # ENOSPC
    assert os.statvfs(mnt).f_bavail == 0
    return filler


def rows(data_dir, *, ro=False):
    # On a read-only filesystem SQLite cannot make the WAL index (-shm), so even
    # mode=ro fails; immutable=1 reads the main file alone, which is complete
    # there because the last connection checkpointed the WAL when it closed.
    uri = f"file:{data_dir / DB_NAME}" + ("?immutable=1" if ro else "")
    conn = sqlite3.connect(uri, uri=True)
    try:
        return conn.execute("SELECT seq, id, type, level, misuse FROM events ORDER BY seq").fetchall()
    finally:
        conn.close()


def integrity(data_dir):
    conn = sqlite3.connect(data_dir / DB_NAME)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


class Counter:
    """A kiosk on mock pins plus what its listener heard and whether the LED was lit then."""

    def __init__(self, data_dir, factory, clock, *, must_open=True):
        self.heard, self.lit = [], []
        self.factory, self.clock, self.data_dir = factory, clock, data_dir
        self.config = validate({"kiosk": {"id": "test-w1"}})
        self.kiosk = Kiosk(
            self.config, data_dir, pin_factory=factory, clock=clock, listener=self._listen, must_open=must_open
        )

    def _listen(self, outcome):
        self.heard.append(outcome)
        led = self.kiosk.buttons.leds[outcome.level]
        self.lit.append(led.is_lit)

    def press(self, level):
        self.clock.advance(1)
        self.kiosk.buttons.leds[level].off()
        pin = self.factory.pin(self.config.levels[level - 1].pin)
        before = len(self.heard)
        pin.drive_low()
        pin.drive_high()
        assert len(self.heard) == before + 1, "every press must be answered, stored or failed"
        return self.heard[-1], self.lit[-1]

    def visitors(self, levels):
        """Counted presses, one per visitor (past the repeat window each time)."""
        out = []
        for level in levels:
            self.clock.advance(10)
            outcome, lit = self.press(level)
            assert isinstance(outcome, PressOutcome) and outcome.counted and lit
            out.append(outcome)
        return out


@pytest.fixture
def counter(small_fs, mock_factory, clock):
    made = []

    def make(**kw):
        c = Counter(small_fs / "data", mock_factory, clock, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.kiosk.close()


def assert_failed(outcome, lit, expected):
    assert isinstance(outcome, PressFailed), f"press acknowledged although storage refused it: {outcome!r}"
    assert (outcome.error.zh, outcome.error.en) == expected
    assert expected[0] in str(outcome.error) and expected[1] in str(outcome.error)
    assert not lit


def test_full_disk_refuses_presses_keeps_old_events_and_recovers(small_fs, counter):
    c = counter()
    before = c.visitors([1, 2, 3, 4, 5])
    reason = c.kiosk.recorder.reason(before[3].event, "wait")
    stored_before = rows(c.data_dir)
    assert len(stored_before) == 6
    c.clock.advance(10)

    filler = fill(small_fs)
    for level in (1, 3, 5, 3):
        outcome, lit = c.press(level)
        assert_failed(outcome, lit, FULL)
    with pytest.raises(StoreUnavailable) as info:
        c.kiosk.recorder.reason(before[4].event, "other")
    assert (info.value.zh, info.value.en) == FULL

    # What the visitor sees: the notice, never a thank-you.
    flow = Flow()
    screen = flow.press_failed(outcome.error.zh, outcome.error.en, now=0)
    assert screen == "notice" and flow.notice == FULL

    # Nothing was lost, nothing half-written; what is stored can still be read.
    assert rows(c.data_dir) == stored_before
    assert [e.id for e in c.kiosk.store.events()] == [r[1] for r in stored_before]
    assert reason.id in {r[1] for r in stored_before}

    filler.unlink()
    outcome, lit = c.press(2)
    # Counted: the refused presses never happened, so none restarted the repeat window.
    assert isinstance(outcome, PressOutcome) and outcome.counted and lit
    after = rows(c.data_dir)
    assert after[:6] == stored_before
    assert after[6][1:] == (outcome.event.id, "rating", 2, 0)
    assert [r[0] for r in after] == list(range(1, 8))  # seq stays gapless
    assert integrity(c.data_dir) == "ok"


def test_full_disk_at_start_up_then_space_freed(small_fs, counter):
    filler = fill(small_fs)
    c = counter(must_open=False)
    assert c.kiosk.store.conn is None
    outcome, lit = c.press(1)
    assert_failed(outcome, lit, FULL)
    filler.unlink()
    c.clock.advance(10)
    outcome, lit = c.press(1)
    assert isinstance(outcome, PressOutcome) and outcome.counted and lit
    assert [r[2:] for r in rows(c.data_dir)] == [("rating", 1, 0)]


def test_read_only_filesystem_refuses_presses_keeps_old_events_and_recovers(small_fs, counter):
    c = counter()
    before = c.visitors([5, 4, 1])
    stored_before = rows(c.data_dir)
    assert [r[1] for r in stored_before] == [o.event.id for o in before]
    # Linux refuses `remount,ro` ("mount point is busy") while a file on it is
    # open for writing, as the kiosk's database is; the kernel's own remount on
    # I/O errors (errors=remount-ro) has no such check. So the kiosk's
    # connection is closed first, as a failed write closes it, and the next
    # press has to reopen on the read-only filesystem.
    c.kiosk.store.close()
    _mount("-o", "remount,ro", str(small_fs))
    c.clock.advance(10)
    for level in (1, 2):
        outcome, lit = c.press(level)
        assert_failed(outcome, lit, READ_ONLY)
    assert not (c.data_dir / (DB_NAME + "-wal")).exists()
    assert rows(c.data_dir, ro=True) == stored_before

    _mount("-o", "remount,rw", str(small_fs))
    outcome, lit = c.press(2)
    assert isinstance(outcome, PressOutcome) and outcome.counted and lit
    after = rows(c.data_dir)
    assert after[:3] == stored_before
    assert after[3][1:] == (outcome.event.id, "rating", 2, 0)
    assert [r[0] for r in after] == [1, 2, 3, 4]
    assert integrity(c.data_dir) == "ok"


def test_read_only_at_start_up_then_writable(small_fs, counter):
    _mount("-o", "remount,ro", str(small_fs))
    c = counter(must_open=False)
    assert c.kiosk.store.conn is None
    assert (c.kiosk.store.open_error.zh, c.kiosk.store.open_error.en) == READ_ONLY
    outcome, lit = c.press(3)
    assert_failed(outcome, lit, READ_ONLY)
    _mount("-o", "remount,rw", str(small_fs))
    outcome, lit = c.press(3)
    assert isinstance(outcome, PressOutcome) and outcome.counted and lit
    assert [r[2:] for r in rows(c.data_dir)] == [("rating", 3, 0)]


def test_a_file_written_on_a_full_disk_leaves_the_old_one_and_no_temporary(small_fs):
    """durable.write_file (exports, the kiosk's identity, the font cache) on a full disk:
    ENOSPC reaches the caller, the file already there is whole, no half temporary stays."""
    from server_sync.durable import write_file

    target = small_fs / "report.csv"
    write_file(target, b"old,whole\n")
    fill(small_fs)
    with pytest.raises(OSError) as raised:
        write_file(target, b"new," * 4096)
    assert raised.value.errno == 28
    assert target.read_bytes() == b"old,whole\n"
    assert sorted(p.name for p in small_fs.iterdir()) == ["filler", "report.csv"]
