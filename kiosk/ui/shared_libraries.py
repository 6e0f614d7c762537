"""Which shared libraries this process has loaded (Linux: /proc/self/maps)."""

from __future__ import annotations

from pathlib import Path

MAPS = Path("/proc/self/maps")


def loaded_library(stem: str, maps: Path = MAPS) -> str | None:
    """The path of the loaded shared library whose file name starts with ``stem``, if any."""
    try:
        lines = maps.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(maxsplit=5)  # address perms offset device inode path
        if len(fields) == 6 and fields[5].startswith("/") and Path(fields[5]).name.startswith(stem):
            return fields[5].rstrip()
    return None
