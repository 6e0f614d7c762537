"""Every press the kiosk acknowledged survives a power cut, not only a killed process.

test_crash_safety kills the kiosk, but the kernel then still writes out what
the kiosk had only handed to it. Here the kiosk runs on keepfs (keepfs.py): a
FUSE file system that keeps only what was fsynced, file data and folder
entries alike. At a random moment the test freezes it (nothing more reaches
the "disk"), SIGKILLs the kiosk, drops every change not made durable and
unmounts: a power cut. The kiosk then starts again on what is left
and must find every event it had acknowledged, under the same kiosk id, in a
file that passes ``PRAGMA integrity_check``.

Each session starts with a data folder that does not exist yet, two levels
deep, so the kiosk makes it (and its identity file) itself; the cut may come
while it starts, recovers the last WAL or presses. Two more tests show the
harness can fail: a kiosk whose store runs with ``synchronous=OFF``, and one
that makes its folder without fsyncing the parent, must both lose
acknowledged events here.

The seed is printed; POWERCUT_SEED=<seed> repeats a run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from keepfs_mount import Mount, fuse_missing

CHILD = Path(__file__).with_name("powercut_child.py")
SESSIONS = 3  # data folders made from nothing
ROUNDS = 5  # power cuts in each session
TRIES = 3  # a broken kiosk must lose an acknowledged event within this many cuts

pytestmark = [pytest.mark.dateless, pytest.mark.slow]


@pytest.fixture
def disk(tmp_path):
    """The backing folder, mount point and graveyard of one simulated disk."""
    why = fuse_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI cannot run the power-cut test: {why}. ./dev.sh setup installs fuse3", pytrace=False)
        pytest.skip(why)
    return tmp_path / "backing", tmp_path / "mnt", tmp_path / "grave"


@pytest.fixture
def rng():
    seed = int(os.environ.get("POWERCUT_SEED") or random.randrange(2**32))
    print(f"power-cut seed {seed} (POWERCUT_SEED={seed} repeats this run)")
    return random.Random(seed)


class KioskChild:
    """powercut_child.py as a process, and what it said, line by line."""

    def __init__(self, data_dir: Path, seed: int, mode: str, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(data_dir), str(seed), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.kiosk_id = self.integrity = ""
        self.have: set[str] = set()
        self.acks: list[str] = []
        self.other: list[str] = []  # recovered, failed, bad pragmas: never expected
        # A press failing once the power is being cut is the kiosk saying so, as it should: the file
        # system refuses everything from the freeze on (EIO), and that press was never acknowledged.
        self.cutting = False
        self.failed_at_cut: list[str] = []
        self.ready = False
        self._raw = b""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := os.read(self.proc.stdout.fileno(), 65536):
            self._raw += chunk
            end = self._raw.rfind(b"\n") + 1  # only complete lines
            lines, self._raw = self._raw[:end].decode().splitlines(), self._raw[end:]
            with self._changed:
                for line in lines:
                    word, _, rest = line.partition(" ")
                    if word == "ack":
                        self.acks.append(rest)
                    elif word == "have":
                        self.have.add(rest)
                    elif word == "kiosk":
                        self.kiosk_id = rest
                    elif word == "integrity":
                        self.integrity = rest
                    elif word == "ready":
                        self.ready = True
                    elif word == "failed" and self.cutting:
                        self.failed_at_cut.append(line)
                    else:
                        self.other.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_until(self, condition, timeout: float) -> bool:
        """Wait for ``condition()`` on what was said so far; False if the child ended or time ran out."""
        with self._changed:
            return (
                self._changed.wait_for(
                    lambda: condition() or self.proc.poll() is not None or not self._reader.is_alive(), timeout
                )
                and condition()
            )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.finish()

    def finish(self) -> str:
        self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        stderr = self.proc.stderr.read().decode(errors="replace")
        self.proc.stdout.close()
        self.proc.stderr.close()
        return stderr

    def why(self) -> str:
        return f"exit {self.proc.poll()}, said {self.other}"


def power_on(disk, data_dir: Path, seed: int, *, cut, env=None) -> tuple[KioskChild, str]:
    """One power-on: mount, start the kiosk, let ``cut(kiosk)`` wait for the moment, cut the power.

    cut: None starts the kiosk only to look (check mode) and unmounts cleanly once it ended.
    """
    with Mount(*disk) as fs:
        kiosk = KioskChild(data_dir, seed, "press" if cut else "check", env)
        try:
            if cut is None:
                stderr = kiosk.finish()
                assert kiosk.proc.returncode == 0, f"the kiosk did not start: {stderr}"
                return kiosk, ""
            cut(kiosk)
            kiosk.cutting = True  # before the freeze: nothing fails from the cut until it begins
            fs.freeze()
        finally:
            if kiosk.proc.poll() is None:
                kiosk.kill()
        fs.cut()
        return kiosk, fs.undone


def after_acks(rng: random.Random, most: int):
    """A moment while the kiosk presses: right after its n-th acknowledgement, plus up to 10 ms.

    Now and then n is large, so the cut may meet a WAL checkpoint (every 1000 pages or so).
    """
    n = rng.randint(1, most) if rng.random() < 0.75 else rng.randint(most, 1500)
    extra = rng.uniform(0, 0.01)

    def cut(kiosk: KioskChild) -> None:
        assert kiosk.wait_until(lambda: len(kiosk.acks) >= n, 30), f"no {n} presses: {kiosk.why()}"
        threading.Event().wait(extra)  # a cut somewhere inside the next press

    return cut


def during_start(rng: random.Random, longest: float):
    """A moment while the kiosk starts: making its folder, recovering the WAL, migrating."""
    delay = rng.uniform(0, longest)

    def cut(kiosk: KioskChild) -> None:
        kiosk.wait_until(lambda: False, delay)  # the kiosk may be ready by then, or not

    return cut


def check_survivors(kiosk: KioskChild, acked: set[str], acked_as: str, seed_note: str) -> None:
    """What a restarted kiosk found against everything acknowledged before."""
    assert kiosk.ready, f"the kiosk did not start after the cut: {kiosk.why()} {seed_note}"
    assert kiosk.other == [], f"unexpected: {kiosk.other} {seed_note}"
    assert kiosk.integrity == "ok", f"integrity_check: {kiosk.integrity} {seed_note}"
    lost = acked - kiosk.have
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged events lost by a power cut {seed_note}"
    if acked_as:
        assert kiosk.kiosk_id == acked_as, f"the kiosk id changed after a cut {seed_note}"


def test_acknowledged_presses_survive_power_cuts(disk, rng):
    mnt = disk[1]
    startup = 1.0  # how long a start takes, measured below
    cuts = 0
    for session in range(SESSIONS):
        data_dir = mnt / f"office-{session}" / "kiosk"
        acked: set[str] = set()
        acked_as = ""
        for round_ in range(ROUNDS + 1):
            note = f"(session {session}, cut {round_})"
            if round_ == ROUNDS:
                cut = None  # a last start, only to look
            elif round_ and rng.random() < 0.3:
                cut = during_start(rng, startup)
            else:
                cut = after_acks(rng, 40)
            began = time.monotonic()
            kiosk, undone = power_on(disk, data_dir, rng.randrange(2**31), cut=cut)
            if kiosk.ready:
                check_survivors(kiosk, acked, acked_as, note)
                startup = max(startup, time.monotonic() - began) if cut is None else startup
            if kiosk.acks:
                acked_as = acked_as or kiosk.kiosk_id
                acked |= set(kiosk.acks)
            cuts += cut is not None
            print(f"{note}: {len(kiosk.acks)} acknowledged, {len(acked)} in all; undone (writes, entries): {undone}")
        assert acked, f"session {session} acknowledged nothing: the test proved nothing"
    assert cuts == SESSIONS * ROUNDS


def lost_in_tries(disk, rng, env: dict[str, str], name: str) -> set[str]:
    """Cut the power under a kiosk started with ``env`` up to TRIES times; the acknowledged events lost."""
    for attempt in range(TRIES):
        data_dir = disk[1] / f"{name}-{attempt}" / "kiosk"
        broken, _ = power_on(disk, data_dir, rng.randrange(2**31), cut=after_acks(rng, 30), env=env)
        assert broken.acks, f"the kiosk acknowledged nothing: {broken.why()}"
        after, _ = power_on(disk, data_dir, rng.randrange(2**31), cut=None)
        lost = set(broken.acks) - after.have
        print(f"{name} try {attempt}: {len(lost)} of {len(broken.acks)} acknowledged events lost")
        if lost:
            return lost
    return set()


def test_the_cut_catches_a_store_without_synchronous_full(disk, rng):
    lost = lost_in_tries(disk, rng, {"POWERCUT_SYNC_OFF": "1"}, "sync-off")
    assert lost, f"synchronous=OFF lost nothing in {TRIES} cuts: keepfs keeps data it should drop"


def test_the_cut_catches_a_data_folder_not_fsynced_into_its_parent(disk, rng):
    lost = lost_in_tries(disk, rng, {"POWERCUT_PLAIN_MKDIR": "1"}, "plain-mkdir")
    assert lost, f"mkdir without fsync lost nothing in {TRIES} cuts: keepfs keeps entries it should drop"
