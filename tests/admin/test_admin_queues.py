"""Queue and case-lookup figures from ticket_* and case_lookup events posted through the real
ingest API of a running collector, against figures worked out by hand."""

from __future__ import annotations

import pytest
from adminhelp import login
from collector_helpers import make_batch, make_event

pytestmark = pytest.mark.slow


def at(minute: int) -> str:
    return f"2026-04-07T09:{minute:02d}:00+08:00"


def test_queue_and_case_lookup_figures(admin_server):
    token = admin_server.new_kiosk("queue-kiosk")

    def e(seq, type, minute, **kw):
        return make_event(
            seq,
            type=type,
            level=None,
            recorded_at=at(minute),
            boot_id="unanchored",
            service=kw.pop("service", "A"),
            **kw,
        )

    issued = [
        e(1, "ticket_issued", 0, ticket="A001", estimate_low=60, estimate_high=300),
        e(2, "ticket_issued", 1, ticket="A002", estimate_seconds=600),
        e(3, "ticket_issued", 2, ticket="A003", estimate_low=300, estimate_high=600),
        e(4, "ticket_issued", 3, ticket="A004"),
    ]
    calls = [
        e(5, "ticket_called", 4, ticket="A001", wait_seconds=120, estimate_low=60, estimate_high=300),
        # no estimate on the call: it is looked up on the ticket_issued event named by ref
        e(6, "ticket_called", 8, ticket="A002", wait_seconds=300, service_seconds=240, ref=issued[1]["id"]),
        e(7, "ticket_called", 9, ticket="A002", wait_seconds=360, recall=True),  # a recall counts once
        e(
            8,
            "ticket_called",
            17,
            ticket="A003",
            wait_seconds=900,
            service_seconds=360,
            estimate_low=300,
            estimate_high=600,
        ),
        e(9, "ticket_no_show", 20, ticket="A003"),
    ]
    lookups = [
        make_event(10 + i, type="case_lookup", level=None, result=r, recorded_at=at(30 + i), boot_id="unanchored")
        for i, r in enumerate(("found", "found", "not_found", "locked"))
    ]
    r = admin_server.post(token, make_batch(issued + calls + lookups))
    assert r.status_code == 200 and r.json()["stored"] == 13
    s = login(admin_server.url, "viewer")
    d = s.get(f"{admin_server.url}/admin/api/dashboard?from=2026-04-07&to=2026-04-07", timeout=30).json()
    qt = d["queues"]["total"]
    assert (qt["issued"], qt["called"], qt["no_show"]) == (4, 3, 1)
    assert qt["no_show_rate"] == 33.3  # 1 of 3 called
    assert qt["wait_mean_min"] == 7.3  # (120 + 300 + 900) / 3 s = 7.33 min
    assert qt["wait_p90_min"] == 16.0  # whole-minute buckets 2, 5, 15: p90 in the 15th
    assert qt["service_mean_min"] == 5.0  # (240 + 360) / 2 s
    assert qt["service_p90_min"] == 7.0
    assert qt["tickets_per_hour"] == 4.0  # 4 tickets, all in the 09:00 hour
    assert qt["estimate_mae_min"] == 4.5  # |120-180|, |300-600|, |900-450| = 270 s mean
    assert qt["estimate_in_band"] == 50.0  # 120 in 60-300; 900 not in 300-600
    assert [x["service"] for x in d["queues"]["services"]] == ["A"]
    assert d["case_lookups"] == {"lookups": 4, "found": 2, "not_found": 1, "locked": 1, "rate_limited": 0}
    # The same figures in the export.
    csv_text = s.get(
        f"{admin_server.url}/admin/export/queues.csv?from=2026-04-07&to=2026-04-07", timeout=30
    ).content.decode("utf-8-sig")
    assert '"合計 total",4,3,1,33.3,7.3,16.0,5.0,7.0,4.0,4.5,50.0' in csv_text  # text quoted, numbers bare


def test_queue_events_as_the_kiosk_writes_them(admin_server):
    """kiosk/queue.py's shapes: the estimate and its band on ticket_issued, calls naming the ticket by
    ref, service time on ticket_served."""
    token = admin_server.new_kiosk("queue-kiosk-2")
    mk = lambda seq, type, minute, ref=None, **d: make_event(  # noqa: E731
        seq,
        type=type,
        level=None,
        ref=ref,
        recorded_at=f"2026-04-08T10:{minute:02d}:00+08:00",
        boot_id="unanchored",
        service="B",
        ticket="B001",
        **d,
    )
    issued = mk(1, "ticket_issued", 0, estimate_seconds=420.0, estimate_band="5-10", ahead=1)
    events = [
        issued,
        mk(2, "ticket_called", 9, ref=issued["id"], call=1, recall=False, wait_seconds=540.0),
        mk(3, "ticket_called", 10, ref=issued["id"], call=2, recall=True, wait_seconds=540.0),
        mk(4, "ticket_served", 15, ref=issued["id"], wait_seconds=540.0, service_seconds=300.0),
        make_event(
            5,
            level=2,
            ref=issued["id"],
            recorded_at="2026-04-08T10:16:00+08:00",
            boot_id="unanchored",
            ticket="B001",
            service="B",
            wait_seconds=540.0,
            service_seconds=310.0,
        ),
    ]
    assert admin_server.post(token, make_batch(events)).status_code == 200
    s = login(admin_server.url, "viewer")
    d = s.get(f"{admin_server.url}/admin/api/dashboard?from=2026-04-08&to=2026-04-08", timeout=30).json()
    qt = d["queues"]["total"]
    assert (qt["issued"], qt["called"], qt["no_show"]) == (1, 1, 0)
    assert qt["wait_mean_min"] == 9.0 and qt["service_mean_min"] == 5.0
    assert qt["estimate_mae_min"] == 2.0  # |540 - 420| s
    assert qt["estimate_in_band"] == 100.0  # 540 s is inside 5-10 min
    # The rating tied to the ticket counts under its service.
    assert [(r["service"], r["n"]) for r in d["ranking"]["services"]] == [("B", 1)]
