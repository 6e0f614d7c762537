"""This install's version, as pyproject.toml gives it (an install, editable too, records it).

Its own module, not kiosk/__init__.py: reading it imports importlib.metadata (and
with it email), which only `kiosk --version` and the sync client's User-Agent need.
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("counter-kiosk")
except metadata.PackageNotFoundError:  # a bare checkout on sys.path, never installed
    __version__ = "0+unknown"
