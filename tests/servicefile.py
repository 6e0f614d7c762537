"""The service directory file a test writes: the bundled services, open whenever the test runs."""

from __future__ import annotations

from pathlib import Path

from kiosk.directory import bundled_rows, write_rows


def all_day_directory(path: Path, **changes) -> Path:
    """The bundled directory with every service open around the clock (for tests at any hour).

    changes: service code → {column: value} to alter; a value of None drops the service.
    """
    out = []
    for row in bundled_rows():
        row["hours"] = "mon-sun 00:00-24:00"
        change = changes.get(row["code"], {})
        if change is None:
            continue
        row.update(change)
        out.append(row)
    return write_rows(path, out)
