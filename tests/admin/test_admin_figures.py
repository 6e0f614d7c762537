"""Dashboard figures against a fixture worked out by hand: levels, Happy Index, CSAT, both
95 % intervals, the minimum-n suppression, and agreement with the collector's own report."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from collector_helpers import make_batch, make_event
from markupsafe import escape

from server_sync.collector import db as dbmod
from server_sync.collector import labels, margins, options, services, timestamps
from server_sync.collector.admin import exports, response_rate
from server_sync.collector.admin import queries as q
from server_sync.collector.admin.deps import templates
from server_sync.collector.auth import add_kiosk, kiosk_by_name
from server_sync.collector.ingest import Ingestor
from server_sync.collector.models import Batch
from server_sync.collector.report import report
from server_sync.collector.stats import Figures, percentile_from_histogram, wilson
from server_sync.wire.directory import parse_csv
from server_sync.wire.tz import OFFICE_TZ

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


# -- names, office times, settings, margins, response rates (issue 12 finding 12, issue 14 item 6) --

ROOT = Path(__file__).resolve().parents[2]
# The office's last week, whatever today is: Monday 09:00 on, one rating or ticket a minute.
_TODAY = datetime.now(OFFICE_TZ).date()
WEEK = _TODAY - timedelta(days=_TODAY.weekday() + 7)
# 第一組 window 1, candidate_registration: 40 ratings (16/12/6/4/2) for 50 first calls, 5 no-shows;
# window 2, election_bulletin: 3 ratings for 4 calls (too few for a margin); window 3: ratings only.
RATED = [1] * 16 + [2] * 12 + [3] * 6 + [4] * 4 + [5] * 2


def _at(minute: int, day: date = WEEK) -> str:
    return f"{day}T{9 + minute // 60:02d}:{minute % 60:02d}:00+08:00"


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    c = dbmod.open_db(tmp_path_factory.mktemp("named") / "c.db")
    text = (ROOT / "assets" / "services.zh-TW.csv").read_text(encoding="utf-8")
    services.store(c, parse_csv(text, source="services.zh-TW.csv"), "test")
    add_kiosk(c, "k1", unit="第一組", window="1")
    add_kiosk(c, "k2", unit="第一組", window="2")
    add_kiosk(c, "k3", unit="第一組", window="3")
    ing = Ingestor(c)

    def post(name, events):
        ing.ingest(kiosk_by_name(c, name), Batch.model_validate_json(json.dumps(make_batch(events))))

    def e(seq, minute, window, **kw):
        return make_event(seq, window=window, boot_id="never-anchored", recorded_at=_at(minute), **kw)

    svc1, svc2 = "candidate_registration", "election_bulletin"
    events = [e(i + 1, i, "1", level=lv, service=svc1) for i, lv in enumerate(RATED)]
    events.append(e(41, 45, "1", type="reason", level=5, ref=events[-1]["id"], reason="wait"))
    events += [e(42 + i, i, "1", type="ticket_called", level=None, service=svc1) for i in range(50)]
    events += [e(92 + i, 50 + i, "1", type="ticket_no_show", level=None, service=svc1) for i in range(5)]
    post("k1", events)
    events = [e(i + 1, i, "2", level=lv, service=svc2) for i, lv in enumerate([1, 2, 5])]
    events += [e(4 + i, 10 + i, "2", type="ticket_called", level=None, service=svc2) for i in range(4)]
    post("k2", events)
    # Window 3 has no ticket system: its 5 ratings count in no response rate.
    post("k3", [e(i + 1, i, "3", level=1, service=svc1) for i in range(5)])
    yield c
    c.close()


def test_services_and_reasons_are_named_zh_tw_first_not_by_code(named):
    d = q.dashboard(named, q.Filter(WEEK, WEEK), 30)
    assert [d.names.service(k[0]) for k, _ in d.rank_services] == [
        ("候選人登記", "Candidate registration"),
        ("選舉公報與候選人資料", "Election bulletin and candidate profiles"),
    ]
    assert d.names.reason("wait") == ("等候時間過長", "Waited too long")
    assert d.names.service("") == ("未指定", "none") and d.names.service("unknown_code") == ("unknown_code", "")
    html = templates.get_template("dashboard.html").render(
        d=d, f=d.filter, choices=q.choices(named), rates=response_rate.response_rates(named, d.filter, 30), qs=""
    )
    ranking = html[html.index('id="rank-services"') : html.index('id="rank-windows"')]
    assert '候選人登記 <span class="en">Candidate registration</span>' in ranking
    assert "candidate_registration" not in ranking
    reasons = html[html.index('id="reasons"') : html.index('id="cases"')]
    assert "等候時間過長" in reasons and ">wait<" not in reasons
    tables = exports.dashboard_tables(d)
    assert tables["services"].rows[0][1:4] == ["候選人登記", "Candidate registration", "candidate_registration"]
    assert tables["reasons"].rows[0][:3] == ["等候時間過長", "Waited too long", "wait"]


def test_the_collectors_default_reason_names_are_the_kiosks():
    from kiosk.config import DEFAULT_REASONS

    assert {r["code"]: (r["label"], r["label_en"]) for r in DEFAULT_REASONS} == labels.DEFAULT_REASON_NAMES


def test_every_time_an_administrator_reads_is_office_time_with_its_zone():
    # 01:30 UTC is 09:30 in Taipei; an alert's "happened" time is already office time.
    utc = datetime.combine(WEEK, datetime.min.time(), UTC).replace(hour=1, minute=30, second=7)
    iso = utc.isoformat(timespec="milliseconds")
    assert timestamps.office_time(iso) == f"{WEEK} 09:30 (臺北時間 UTC+8)"
    assert timestamps.office_time(iso, seconds=True, labelled=False) == f"{WEEK} 09:30:07"
    assert timestamps.office_local(f"{WEEK} 17:05") == f"{WEEK} 17:05 (臺北時間 UTC+8)"
    assert timestamps.office_time(None) == "—" and timestamps.office_time("not a time") == "not a time"
    pages = {
        "fleet.html": {"rows": [_fleet_row(iso)]},
        "alerts.html": {"open": [_alert(iso, None)], "done": [_alert(iso, iso)], "opts": {}},
        "audit.html": {"rows": [{"at": iso, "user": "mgr", "action": "x", "target": "", "detail": ""}]},
        "services.html": {"services": [], "history": [(1, iso, "test", 8)], "revision": 1},
    }
    for page, ctx in pages.items():
        html = templates.get_template(page).render(session=_Session(), **ctx)
        assert f"{WEEK} 09:30" in html, page
        assert iso not in html and "UTC)" not in html and "T01:30" not in html, page
    alerts = exports.alerts_table([_alert(iso, iso)])
    assert alerts.headers[1] == "發出 raised (臺北時間 UTC+8)" and alerts.rows[0][1] == f"{WEEK} 09:30:07"
    audit = exports.audit_table([{"at": iso, "user": "mgr", "action": "x", "target": "", "detail": ""}])
    assert audit.rows[0][0] == f"{WEEK} 09:30:07"
    assert exports.fleet_table([_fleet_row(iso)]).rows[0][2] == f"{WEEK} 09:30:07"


class _User:
    username, is_manager, is_tester = "mgr", True, False


class _Session:
    user, csrf = _User(), "t"


def _fleet_row(iso: str) -> dict:
    return {
        "kiosk": "k1",
        "levels": 5,
        "status": "active",
        "last_seen": iso,
        "backlog": 0,
        "clock_offset": 0.1,
        "software_version": "0.2.0",
        "unit": "第一組",
        "window": "1",
        "refused": 1,
        "dropped": 0,
        "refused_at": iso,
        "silent": False,
        "silent_hours": 1.0,
    }


def _alert(raised: str, acked: str | None) -> dict:
    return {
        "id": 1,
        "raised_at": raised,
        "event_time": f"{WEEK} 09:30",
        "summary": "s",
        "unit": "第一組",
        "window": "1",
        "kiosk": "k1",
        "deliveries": [],
        "ack_at": acked,
        "ack_by": "mgr" if acked else None,
        "ack_note": "n" if acked else None,
    }


def test_settings_show_their_zh_tw_name_and_description_first():
    assert all(o.name_zh and o.doc_zh and o.name_en for o in options.OPTIONS), [
        o.key for o in options.OPTIONS if not (o.name_zh and o.doc_zh and o.name_en)
    ]
    values = {o.key: o.default for o in options.OPTIONS if not o.secret}
    html = templates.get_template("settings.html").render(
        session=_Session(), options=options.OPTIONS, values=values, shown={}, is_set={}, clear="clear:"
    )
    for o in options.OPTIONS:
        at = html.index(f'for="{o.key}"')
        assert at < html.index(o.name_zh, at) < html.index(o.name_en, at), o.key
        assert html.index(o.name_zh, at) < html.index(o.doc_zh, at) < html.index(str(escape(o.doc)), at), o.key


def test_no_change_is_claimed_from_a_previous_year_without_responses(named):
    cur, prev = exports.self_evaluation(named, WEEK.year, "", 30)
    assert prev.dash.total.n == 0 and cur.dash.total.n == 48
    rows = {r[0]: r for r in exports.self_evaluation_rows(cur, prev)}
    assert rows["有效回覆數 responses (n)"][3] == "無前一年資料 no data for the previous year"
    assert all(r[3] in ("", exports.NO_PREVIOUS) for r in rows.values())
    # With a previous year to compare, the change is a number again.
    cur2, prev2 = exports.self_evaluation(named, WEEK.year + 1, "", 30)
    assert {r[0]: r for r in exports.self_evaluation_rows(cur2, prev2)}["有效回覆數 responses (n)"][3] == -48


def test_margins_as_taiwanese_surveys_state_them():
    # The survey's headline: 1,067 responses at 50 % give ±3.0 points (1.96·√(.25/1067) = 3.0).
    assert margins.margin_points(534, 1067) == 3.0
    assert margins.margin_points(500, 1000) == round(100 * 1.959963984540054 * math.sqrt(0.25 / 1000), 1) == 3.1
    assert margins.margin_points(40, 40) > 5  # all happy: never "±0"
    assert margins.margin_points(0, 0) is None and margins.margin_points(5, 4) is None
    assert margins.phrase(3.1) == (
        "在 95% 信心水準下，抽樣誤差約 ±3.1 個百分點 · margin of error ±3.1 percentage points at 95% confidence"
    )
    assert margins.phrase(None) == "" and margins.short(None) == "—" and margins.short(3.14) == "±3.1"
    fig = Figures(levels={1: 16, 2: 12, 3: 6, 4: 4, 5: 2})
    lo, hi = wilson(28, 40)
    assert margins.csat(fig) == round(100 * max(0.7 - lo, hi - 0.7), 1)
    assert margins.level(fig, 5) == round(100 * max(wilson(2, 40)[1] - 0.05, 0.05 - wilson(2, 40)[0]), 1)
    assert margins.csat(Figures(levels={1: 3})) is None  # below the minimum n: no figure, no margin


def test_every_share_on_the_dashboard_and_in_its_exports_has_its_margin(named):
    d = q.dashboard(named, q.Filter(WEEK, WEEK, window="1"), 30)
    html = templates.get_template("dashboard.html").render(
        d=d, f=d.filter, choices=q.choices(named), rates=response_rate.response_rates(named, d.filter, 30), qs=""
    )
    csat_m = margins.csat(d.total)
    assert f"在 95% 信心水準下，抽樣誤差約 ±{csat_m:.1f} 個百分點" in html
    row = html[html.index('id="levels-moe"') :]
    assert [f"±{margins.level(d.total, lv):.1f}" for lv in range(1, 6)] == re.findall(r"±\d+\.\d", row)[:5]
    tables = exports.dashboard_tables(d)
    summary = dict(zip(tables["summary"].headers, tables["summary"].rows[0]))
    assert summary[exports.MARGIN_HEAD] == csat_m
    assert [r[3] for r in tables["levels"].rows[:5]] == [margins.level(d.total, lv) for lv in range(1, 6)]


def test_response_rate_is_ratings_per_ticket_served(named):
    f = q.Filter(WEEK, WEEK, trend="day")
    rr = response_rate.response_rates(named, f, 30)
    # Window 1: 40 ratings for 50 calls less 5 no-shows; window 2: 3 ratings for 4 calls; window 3
    # (5 ratings) serves no tickets, so counts nowhere.
    assert (rr.total.ratings, rr.total.served) == (43, 49)
    assert [(r.key, r.ratings, r.served, r.rate) for r in rr.windows] == [
        (("第一組", "1"), 40, 45, 88.9),
        (("第一組", "2"), 3, 4, 75.0),
    ]
    assert [(r.key, r.rate) for r in rr.services] == [
        (("candidate_registration",), 88.9),
        (("election_bulletin",), 75.0),
    ]
    assert [(r.key, r.ratings, r.served) for r in rr.periods] == [((WEEK.isoformat(),), 43, 49)]
    assert rr.windows[0].margin(30) == margins.margin_points(40, 45) and rr.windows[1].margin(30) is None
    t = response_rate.table(rr, 30, labels.names(named))
    assert t.rows[0][5:8] == [43, 49, 87.8]
    assert any(r[3] == "候選人登記 Candidate registration" for r in t.rows)
    assert response_rate.response_rates(named, q.Filter(WEEK, WEEK, window="9"), 30).windows == []
