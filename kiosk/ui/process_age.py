"""How long this process has been running: the start-up benchmark's ``first-frame`` figure."""

from __future__ import annotations

import os
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
