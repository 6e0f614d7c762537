"""Building case files and kiosk data folders for the case-lookup tests."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from kiosk.store import Store
from server_sync.collector import db as dbmod
from server_sync.collector.cases import parsing, pull, storing

HEADER = [*parsing.COLUMNS, *parsing.OPTIONAL_COLUMNS]


def csv_bytes(rows: list[dict], *, bom: bool = False, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in header})
    data = out.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


def case_rows(
    case_no: str,
    *,
    name="王小明",
    code="4821395760",
    stages=(("收件", "2024-05-01"),),
    case_type="選舉人名冊查詢",
    unit="第一組",
    extension="1201",
    due="2024-05-20",
    closed="",
    **extra,
) -> list[dict]:
    return [
        {
            "case_no": case_no,
            "case_type": case_type,
            "applicant_name": name,
            "verify_code": code,
            "stage": stage,
            "stage_date": when,
            "unit": unit,
            "extension": extension,
            "due_date": due,
            "closed_date": closed,
            **extra,
        }
        for stage, when in stages
    ]


def collector_with(path: Path, rows: list[dict], now: float | None = None):
    """A collector database holding the cases of ``rows`` (imported as the CLI would)."""
    parsed = parsing.parse_csv(csv_bytes(rows))
    assert not parsed.problems, [str(p) for p in parsed.problems]
    conn = dbmod.open_db(path)
    storing.apply_cases(conn, parsed.cases.values(), now=now)
    return conn


def kiosk_with_cases(collector_conn, data_dir: Path, kiosk_id="cases-test", units=("第一組",)) -> None:
    """Give a kiosk data folder the collector's cases through the client's own apply step."""
    from kiosk.outbox import KioskOutbox
    from server_sync.client import cases as client_cases
    from server_sync.wire.tz import OFFICE_TZ

    Store(data_dir, kiosk_id=kiosk_id).close()
    body = pull.delta(collector_conn, 0, pull.MAX_PAGE, units=units)
    with KioskOutbox(data_dir) as outbox:
        client_cases.apply_page(
            outbox, body, pulled_at="2024-05-01T00:00:00Z", today=datetime.now(OFFICE_TZ).date().isoformat()
        )
