"""The kiosk's side of the service directory: the demo directory it ships with.

The format and its parser are the wire's (server_sync.wire.directory): the
collector validates with the very same code.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kiosk.config import asset_path


def bundled_path() -> Path:
    """The demo directory shipped in kiosk.assets (an election commission's counter services)."""
    return asset_path("services.zh-TW.csv")


def bundled_rows() -> list[dict[str, str]]:
    """The demo directory's rows, column name to text, for a variant of it (a simulated office's)."""
    with bundled_path().open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    """A directory file of ``rows`` (the demo directory's columns, in its order) at ``path``."""
    buf = io.StringIO()
    # The rows' own columns; the demo file is read again for them only when there are no rows.
    writer = csv.DictWriter(buf, fieldnames=list(rows[0] if rows else bundled_rows()[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path
