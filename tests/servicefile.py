"""The service directory file a test writes: the bundled services, open whenever the test runs."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kiosk.directory import bundled_path


def all_day_directory(path: Path, **changes) -> Path:
    """The bundled directory with every service open around the clock (for tests at any hour).

    changes: service code → {column: value} to alter; a value of None drops the service.
    """
    rows = list(csv.DictReader(bundled_path().open(encoding="utf-8")))
    out = []
    for row in rows:
        row["hours"] = "mon-sun 00:00-24:00"
        change = changes.get(row["code"], {})
        if change is None:
            continue
        row.update(change)
        out.append(row)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(out)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path
