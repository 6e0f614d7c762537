"""How long this process has been running, and the CPU it has used: the start-up benchmark's ``first-frame`` figures."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

# kiosk.ui.app imports this module before Kivy loads, so the fallback counts from about then.
_IMPORTED_AT = time.monotonic()


def process_age() -> float:
    """Seconds since this process was started (from /proc), else since this module was imported."""
    try:
        stat = Path("/proc/self/stat").read_text()
        start_ticks = int(stat[stat.rindex(")") + 2 :].split()[19])  # field 22, starttime
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _IMPORTED_AT


def process_cpu() -> float:
    """CPU-seconds this process has used so far (user and system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
