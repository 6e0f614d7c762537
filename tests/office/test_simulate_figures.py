"""The dashboard's queue figures from an office's queue host: per service, every window's calls pooled.

The host's own log (kiosk.office.hub.Hub over a simulated clock, in-process) is what reaches the
collector; it is fed through the collector's real ingest and read back by the dashboard's query."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from statistics import mean

import pytest

TESTS = Path(__file__).resolve().parents[1]
for _helpers in (TESTS / "collector", TESTS / "queue"):
    if str(_helpers) not in sys.path:
        sys.path.append(str(_helpers))

from collector_helpers import make_batch  # noqa: E402
from queuehelp import all_day_directory  # noqa: E402

from kiosk.clock import SimulatedClock  # noqa: E402
from kiosk.config import validate  # noqa: E402
from kiosk.office.hub import Hub  # noqa: E402
from server_sync.collector import db as dbmod  # noqa: E402
from server_sync.collector.admin import queries  # noqa: E402
from server_sync.collector.auth import add_kiosk, kiosk_by_name  # noqa: E402
from server_sync.collector.ingest import Ingestor  # noqa: E402
from server_sync.collector.models import Batch  # noqa: E402
from server_sync.wire.tz import OFFICE_TZ  # noqa: E402


@pytest.fixture
def host_events(tmp_path):
    """A morning at three windows: polling-place questions at 1;2;3, the bulletin at 1;2; a
    transfer, a no-show after recalls, and a call of a transferred number in its new line."""
    directory = all_day_directory(tmp_path / "services.csv", polling_place={"windows": "1;2;3"})
    config = validate(
        {
            "kiosk": {"id": "office-host", "window": "", "unit": "第二組"},
            "queue": {"role": "host", "directory": str(directory)},
        }
    )
    yesterday = datetime.now(OFFICE_TZ) - timedelta(days=1)
    clock = SimulatedClock(yesterday.replace(hour=9, minute=0, second=0, microsecond=0))
    hub = Hub(config, tmp_path / "host", clock=clock)
    presses = iter(range(10_000))

    def press(action: str, window: str, **options):
        clock.advance(60)
        return hub.press(action, window, press=f"press-{next(presses):05d}", **options)

    try:
        for i in range(7):
            hub.issue("polling_place", priority=False, press=f"issue-{i:04d}")
            clock.advance(45)
        hub.issue("election_bulletin", priority=False, press="issue-b1")
        clock.advance(240)
        for w in "123":
            press("next", w)  # D001, D002, D003
        clock.advance(300)
        press("transfer", "3", service="election_bulletin")  # D003 on to the bulletin, at the back
        press("next", "1")  # D001 served; D004
        press("recall", "2")
        press("recall", "2")
        press("no-show", "2")  # D002 never came; D005
        press("next", "3")  # D006
        clock.advance(420)
        for w in "123":
            press("next", w)  # D007, then window 1 and 2 take the bulletin's line: B001, D003
        clock.advance(200)
        for w in "123":
            press("next", w)
        events = [e.as_json() for e in hub.store.events()]
        boot = hub.clock.boot_id
    finally:
        hub.close()
    return events, boot


def expected(events: list[dict], service: str) -> dict:
    """The figures worked out from the host's log alone, whichever window made each call."""
    issued = {e["id"]: e for e in events if e["type"] == "ticket_issued"}
    calls = [e for e in events if e["type"] == "ticket_called" and not e["recall"] and e["service"] == service]
    served = [e["service_seconds"] for e in events if e["type"] == "ticket_served" and e["service"] == service]
    # An estimate was made for the line a ticket was issued to, not for one it was transferred to.
    errors = [
        abs(c["wait_seconds"] - issued[c["ref"]]["estimate_seconds"])
        for c in calls
        if issued[c["ref"]]["service"] == service
    ]
    return {
        "issued": sum(1 for e in issued.values() if e["service"] == service),
        "called": len(calls),
        "no_show": sum(1 for e in events if e["type"] == "ticket_no_show" and e["service"] == service),
        "wait_mean_min": round(mean(c["wait_seconds"] for c in calls) / 60, 1),
        "service_mean_min": round(mean(served) / 60, 1),
        "estimate_mae_min": round(mean(errors) / 60, 1),
        "windows": sorted({c["window"] for c in calls}),
    }


def test_per_service_queue_figures_pool_every_windows_calls(tmp_path, host_events):
    events, boot = host_events
    polling, bulletin = expected(events, "polling_place"), expected(events, "election_bulletin")
    assert polling["windows"] == ["1", "2", "3"] and bulletin["windows"] == ["1", "2"]
    assert polling["no_show"] == 1 and bulletin["issued"] == 1 and bulletin["called"] == 2  # B001 and D003
    conn = dbmod.open_db(tmp_path / "collector.db")
    try:
        add_kiosk(conn, "office-host")  # the host syncs as one device, for every window
        ingest = Ingestor(conn)
        batch = make_batch(events, boot_id=f"not-{boot}")  # no clock anchor: recorded_at stands
        result = ingest.ingest(kiosk_by_name(conn, "office-host"), Batch.model_validate_json(json.dumps(batch)))
        assert result.stored == len(events)
        day = datetime.fromisoformat(events[0]["recorded_at"]).astimezone(OFFICE_TZ).date()
        figures = queries.queues(conn, queries.Filter(day, day))
    finally:
        conn.close()
    rows = {row["service"]: row for row in figures["services"]}
    for code, want in (("polling_place", polling), ("election_bulletin", bulletin)):
        row = rows[code]
        got = {k: row[k] for k in want if k != "windows"}
        assert got == {k: v for k, v in want.items() if k != "windows"}, code
    assert figures["total"]["called"] == polling["called"] + bulletin["called"]
