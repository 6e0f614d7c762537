"""The kiosk's side of the service directory: the demo directory it ships with.

The format and its parser are the wire's (server_sync.wire.directory): the
collector validates with the very same code.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.config import asset_path


def bundled_path() -> Path:
    """The demo directory shipped in kiosk.assets (an election commission's counter services)."""
    return asset_path("services.zh-TW.csv")
