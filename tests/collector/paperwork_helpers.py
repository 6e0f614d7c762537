"""A year of one office's measured service, ingested for real (Ingestor, rollups), for the
annual targets, the self-evaluation and the open-data summary. Dates come from the caller's
year (the tests take it from the clock), never a fixed one."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from collector_helpers import make_batch, make_event

from server_sync.collector.auth import add_kiosk, kiosk_by_name
from server_sync.collector.ingest import Ingestor
from server_sync.collector.models import Batch
from server_sync.wire.tz import OFFICE_TZ

# 第一組: 60 ratings in March, 54 in the top two levels (CSAT 90 %, Wilson 79.9-95.3).
UNIT_A = "第一組"
A_LEVELS = [1] * 30 + [2] * 24 + [3] * 4 + [5] * 2
# 第二組: 10 ratings, below the minimum n of 30.
UNIT_B = "第二組"
B_LEVELS = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
# 第一組's waits: 40 tickets called after 2..9 minutes (mean 5.5 min).
WAITS_MIN = [2, 3, 4, 5, 6, 7, 8, 9] * 5


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> str:
    return datetime.combine(date(year, month, day), time(hour, minute), OFFICE_TZ).isoformat()


def _ingest(conn, kiosk_name: str, events: list[dict]) -> None:
    Ingestor(conn).ingest(kiosk_by_name(conn, kiosk_name), Batch.model_validate_json(json.dumps(make_batch(events))))


def seed(conn, year: int) -> None:
    """Ratings, reasons, tickets and case lookups in ``year``; alerts raised and acknowledged."""
    add_kiosk(conn, "a1", unit=UNIT_A, window="1")
    add_kiosk(conn, "b1", unit=UNIT_B, window="3")
    ev = []
    for i, lv in enumerate(A_LEVELS):
        ev.append(make_event(i + 1, level=lv, unit=UNIT_A, boot_id="x", recorded_at=at(year, 3, 2 + i % 20, 9, i % 60)))
    seq = len(ev)
    for i, w in enumerate(WAITS_MIN):
        seq += 1
        ev.append(
            make_event(
                seq,
                type="ticket_called",
                level=None,
                unit=UNIT_A,
                boot_id="x",
                ticket=f"A{i:03d}",
                service="戶籍",
                wait_seconds=w * 60 + 30,
                recorded_at=at(year, 4, 1 + i % 20, 10, i),
            )
        )
    for i, result in enumerate(["found"] * 8 + ["not_found"] * 2):
        seq += 1
        ev.append(
            make_event(
                seq,
                type="case_lookup",
                level=None,
                unit=UNIT_A,
                boot_id="x",
                result=result,
                recorded_at=at(year, 5, 4, 11, i),
            )
        )
    seq += 1
    ev.append(
        make_event(seq, type="reason", level=5, unit=UNIT_A, boot_id="x", reason="wait", recorded_at=at(year, 3, 2, 9))
    )
    _ingest(conn, "a1", ev)
    _ingest(
        conn,
        "b1",
        [
            make_event(i + 1, level=lv, unit=UNIT_B, window="3", boot_id="x", recorded_at=at(year, 3, 9, 14, i))
            for i, lv in enumerate(B_LEVELS)
        ],
    )


def add_alert(conn, unit: str, raised: datetime, acked: datetime | None, key: str) -> None:
    def utc(d: datetime | None) -> str | None:
        return None if d is None else d.astimezone(UTC).isoformat(timespec="seconds")

    conn.execute(
        "INSERT INTO alerts (kind, dedupe, raised_at, unit, summary, ack_at, ack_by, ack_note)"
        " VALUES ('level', ?, ?, ?, 'test', ?, ?, ?)",
        [key, utc(raised), unit, utc(acked), "mgr" if acked else None, "called back" if acked else None],
    )


def first_weekday(year: int, month: int, weekday: int) -> date:
    d = date(year, month, 1)
    return d + timedelta(days=(weekday - d.weekday()) % 7)
