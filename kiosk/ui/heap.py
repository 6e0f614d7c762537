"""glibc malloc settings for the touchscreen process, set once before Kivy starts.

glibc keeps memory a process has freed: blocks freed below the top of the heap stay
mapped, and once a large block (a text's pixels, a screen's vertices) has been freed,
its dynamic mmap threshold rises and later blocks of that size come from the heap too,
where they leave holes. For a kiosk that builds its screens once and then idles all
day, that is several megabytes it never uses again (bench/bench_startup.py measures
it). So: blocks of 64 KiB and more are mapped on their own and returned when freed,
the heap's free top is given back at once, and the threads (buttons, sync, speech)
share two arenas instead of one each.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger("kiosk.ui")

# mallopt parameters (glibc's malloc.h) and the values set.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -2, -3, -8
SETTINGS = (
    (M_MMAP_THRESHOLD, 64 * 1024),  # fixed: glibc no longer raises it after a large free
    (M_TRIM_THRESHOLD, 0),
    (M_TOP_PAD, 0),
    (M_ARENA_MAX, 2),
)


def tune_malloc(libc=None) -> bool:
    """Apply ``SETTINGS`` through glibc's ``mallopt``; False where there is no glibc."""
    try:
        libc = libc if libc is not None else ctypes.CDLL(None)  # the C library the interpreter uses
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018  (glibc only: musl's mallopt does nothing)
    except (OSError, AttributeError):
        return False
    ok = all(mallopt(param, value) == 1 for param, value in SETTINGS)  # mallopt returns 1 on success
    if not ok:
        log.warning("malloc settings not all taken")
    return ok
