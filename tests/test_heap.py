"""The touchscreen's malloc settings (kiosk/ui/heap.py): set through glibc, skipped without it."""

from __future__ import annotations

import subprocess
import sys

from kiosk.ui.heap import M_ARENA_MAX, M_MMAP_THRESHOLD, M_TOP_PAD, M_TRIM_THRESHOLD, tune_malloc


class FakeGlibc:
    def __init__(self, answer: int = 1):
        self.calls: list[tuple[int, int]] = []
        self.answer = answer

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.answer

    def gnu_get_libc_version(self) -> bytes:
        return b"2.36"


class Musl:
    def mallopt(self, param: int, value: int) -> int:
        raise AssertionError("musl's mallopt is a no-op: not called")


def test_large_blocks_are_mapped_apart_and_the_free_top_given_back():
    libc = FakeGlibc()
    assert tune_malloc(libc)
    assert dict(libc.calls) == {M_MMAP_THRESHOLD: 65536, M_TRIM_THRESHOLD: 0, M_TOP_PAD: 0, M_ARENA_MAX: 2}


def test_a_refused_setting_is_reported_and_no_glibc_means_nothing_is_set():
    assert not tune_malloc(FakeGlibc(answer=0))
    assert not tune_malloc(Musl())


def test_this_systems_glibc_takes_them():
    # In a process of its own: the settings last for the process that makes them.
    code = "from kiosk.ui.heap import tune_malloc; print(tune_malloc())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "True"
