"""Dashboard figures against a fixture worked out by hand: levels, Happy Index, CSAT, both
95 % intervals, the minimum-n suppression, and agreement with the collector's own report."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from datetime import date

import pytest
from collector_helpers import make_batch, make_event

from server_sync.collector import db as dbmod
from server_sync.collector.admin import exports
from server_sync.collector.admin import queries as q
from server_sync.collector.auth import add_kiosk, kiosk_by_name
from server_sync.collector.ingest import Ingestor
from server_sync.collector.models import Batch
from server_sync.collector.report import report
from server_sync.collector.stats import Figures, percentile_from_histogram, wilson

DAY = date(2026, 3, 2)  # a Monday
# Window 1, service A: 30 counted presses 10/12/5/2/1 at levels 1-5, plus 3 misuse presses.
W1 = [1] * 10 + [2] * 12 + [3] * 5 + [4] * 2 + [5]
# Window 2, service B: 6 presses (below the minimum n of 30).
W2 = [1, 2, 2, 4, 5, 5]


def ev(seq, level, hour, minute, window, service, misuse=False, **kw):
    return make_event(
        seq,
        level=level,
        window=window,
        misuse=misuse,
        service=service,
        boot_id="never-anchored",
        recorded_at=f"{DAY.isoformat()}T{hour:02d}:{minute:02d}:00+08:00",
        **kw,
    )


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    path = tmp_path_factory.mktemp("fig") / "c.db"
    c = dbmod.open_db(path)
    add_kiosk(c, "k", unit="第一組", window="1")
    add_kiosk(c, "k2", unit="第一組", window="2")  # a kiosk serves one window
    events, seq = [], 0
    for i, lv in enumerate(W1):
        seq += 1
        events.append(ev(seq, lv, 9 + i % 2, i, "1", "A"))
    for m in range(3):
        seq += 1
        events.append(ev(seq, 1, 9, 50 + m, "1", "A", misuse=True))
    ing = Ingestor(c)
    ing.ingest(kiosk_by_name(c, "k"), Batch.model_validate_json(json.dumps(make_batch(events))))
    events, seq = [], 0
    for i, lv in enumerate(W2):
        seq += 1
        events.append(ev(seq, lv, 14, i, "2", "B"))
    seq += 1
    events.append(
        make_event(
            seq,
            type="reason",
            level=5,
            window="2",
            ref=events[-1]["id"],
            reason="wait",
            boot_id="never-anchored",
            recorded_at=f"{DAY}T14:10:00+08:00",
        )
    )
    ing.ingest(kiosk_by_name(c, "k2"), Batch.model_validate_json(json.dumps(make_batch(events))))
    yield c
    c.close()


def by_hand(levels: list[int], L: int = 5):
    points = [100 * (L - lv) / (L - 1) for lv in levels]
    n = len(points)
    mean = sum(points) / n
    half = 1.959963984540054 * statistics.stdev(points) / math.sqrt(n)
    top2 = sum(1 for lv in levels if lv <= 2)
    p, z2 = top2 / n, 1.959963984540054**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    w = math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) * 1.959963984540054 / (1 + z2 / n)
    return mean, (mean - half, mean + half), 100 * top2 / n, (100 * (centre - w), 100 * (centre + w))


def test_window_figures_match_hand_computation(conn):
    f = q.Filter(DAY, DAY, window="1")
    fig = q.satisfaction(conn, f, [], min_n=30)[()]
    assert fig.levels == {1: 10, 2: 12, 3: 5, 4: 2, 5: 1}
    assert fig.n == 30 and fig.misuse == 3
    # By hand: (10*100 + 12*75 + 5*50 + 2*25 + 1*0) / 30 = 2200/30 = 73.33; CSAT 22/30 = 73.33 %.
    assert fig.happy_index == 73.3 and fig.csat == 73.3
    assert [fig.share(lv) for lv in range(1, 6)] == [33.3, 40.0, 16.7, 6.7, 3.3]
    _mean, hi_ci, _csat, csat_ci = by_hand(W1)
    assert fig.happy_ci == (round(hi_ci[0], 1), round(hi_ci[1], 1)) == (64.0, 82.7)
    assert fig.csat_ci == (round(csat_ci[0], 1), round(csat_ci[1], 1)) == (55.6, 85.8)
    assert not fig.suppressed


def test_too_few_responses_are_suppressed_not_shown(conn):
    f = q.Filter(DAY, DAY, window="2")
    fig = q.satisfaction(conn, f, [], min_n=30)[()]
    assert fig.n == 6 and fig.levels == {1: 1, 2: 2, 3: 0, 4: 1, 5: 2}
    assert fig.suppressed
    assert fig.happy_index is fig.csat is fig.happy_ci is fig.csat_ci is fig.share(1) is None
    # The same six presses with a minimum n of 5 give figures: (100 + 75*2 + 25) / 6 = 45.8.
    low = q.satisfaction(conn, f, [], min_n=5)[()]
    assert low.happy_index == 45.8 and low.csat == 50.0
    # The exported tables say 回覆數不足 where the figure would be, never a number.
    d = q.dashboard(conn, f, 30)
    rows = list(csv.reader(io.StringIO(exports.to_csv(exports.dashboard_tables(d)["summary"]).decode("utf-8-sig"))))
    header, row = rows
    assert row[header.index("有效數 n")] == "6"
    assert row[header.index("快樂指數 Happy Index")] == "回覆數不足"
    assert row[header.index("滿意度 CSAT %")] == "回覆數不足"


def test_service_ranking_heatmap_reasons_and_the_collectors_report_agree(conn):
    f = q.Filter(DAY, DAY)
    d = q.dashboard(conn, f, 30)
    assert d.total.n == 36 and d.total.misuse == 3
    services = {k[0]: v for k, v in d.rank_services}
    assert services["A"].n == 30 and services["B"].n == 6
    assert [k[0] for k, _ in d.rank_services] == ["A", "B"]  # suppressed groups rank last
    # Heat-map: Monday (0), 09:00 holds 15 counted presses + 3 misuse, 10:00 holds 15, 14:00 holds 6.
    assert {k: v.n for k, v in d.heat.items()} == {(0, 9): 15, (0, 10): 15, (0, 14): 6}
    assert d.reasons == [{"reason": "wait", "n": 1, "share": 100.0}]
    total = report(conn, date_from=DAY, date_to=DAY).total
    assert (total.n, total.misuse, total.happy_index, total.csat) == (
        d.total.n,
        d.total.misuse,
        round(d.total.happy_sum / d.total.n, 1),
        round(100 * d.total.top2 / d.total.n, 1),
    )


def test_interval_helpers_edge_cases():
    assert wilson(0, 0) is None
    lo, hi = wilson(12, 12)  # all happy: Wilson does not claim 100 % ± 0
    assert hi == 1.0 and 0.7 < lo < 0.8
    assert Figures().happy_index is None
    assert percentile_from_histogram({0: 5, 4: 4, 9: 1}, 0.9) == 5.0
    assert percentile_from_histogram({}, 0.9) is None
