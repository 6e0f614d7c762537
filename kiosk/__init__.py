"""Counter kiosk: what runs on the Raspberry Pi at a service window."""

from __future__ import annotations

from importlib import metadata

# The version is written once, in pyproject.toml; an install (editable too) records it.
try:
    __version__ = metadata.version("counter-kiosk")
except metadata.PackageNotFoundError:  # a bare checkout on sys.path, never installed
    __version__ = "0+unknown"
