"""The lookup's checks on the kiosk, with a clock the test controls: same message for an
unknown case and a wrong code, lockout after five wrong codes, the per-kiosk rate limit,
an event for every lookup (never the code), and `kiosk lookup` sharing all of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from casehelp import case_rows, collector_with, kiosk_with_cases
from click.testing import CliRunner

from kiosk.cli import main as kiosk_cli
from kiosk.clock import SimulatedClock
from kiosk.flow import Flow
from kiosk.lookup import CaseLookup
from kiosk.store import Store

START = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def kiosk_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("lookup")
    rows = [
        *case_rows("113-000123", code="5678012349", stages=(("收件", "2024-05-01"), ("審核中", "2024-05-03"))),
        *case_rows("113-000124", name="歐陽小明", code="2468135790"),
    ]
    conn = collector_with(base / "collector.db", rows, now=START.timestamp())
    kiosk_with_cases(conn, base / "template")
    return base / "template"


@pytest.fixture
def setup(kiosk_dir, tmp_path):
    import shutil

    data = tmp_path / "kiosk"
    shutil.copytree(kiosk_dir, data)
    clock = SimulatedClock(START)
    store = Store(data, kiosk_id="w1", clock=clock)
    service = CaseLookup(store)
    yield store, service, clock
    service.close()
    store.close()


def lookups(store):
    return [e.detail for e in store.events(type="case_lookup")]


def test_found_case_shows_masked_name_timeline_and_is_stored_without_the_code(setup):
    store, service, _ = setup
    result = service.lookup(" 113-000123 ", "5678012349")
    assert result.result == "found"
    case = result.case
    assert case.name == "王○○" and case.current.stage == "審核中" and case.due_date == "2024-05-20"
    assert [s.stage for s in case.stages] == ["收件", "審核中"] and case.extension == "1201"
    # Only what the figures need: neither the code nor the case number, which links to a name.
    assert lookups(store) == [{"result": "found", "source": "screen"}]
    raw = json.dumps([e.as_json() for e in store.events()])
    assert "5678012349" not in raw and "113-000123" not in raw


def test_unknown_case_and_wrong_code_read_the_same(setup):
    _, service, _ = setup
    wrong = service.lookup("113-000123", "0000")
    unknown = service.lookup("999-999999", "5678012349")
    assert wrong.result == unknown.result == "not_found"
    assert wrong.message("zh-TW") == unknown.message("zh-TW") == "查無資料或驗證碼錯誤"
    assert wrong.message("en") == unknown.message("en")


def test_five_wrong_codes_lock_the_case_for_fifteen_minutes(setup):
    store, service, clock = setup
    for i in range(4):
        assert service.lookup("113-000123", f"000{i}").result == "not_found"
        clock.advance(10)
    fifth = service.lookup("113-000123", "0009")
    assert fifth.result == "not_found" and fifth.now_locked and "15" in fifth.message("zh-TW")
    locked = service.lookup("113-000123", "5678012349")  # even the right code
    assert locked.result == "locked" and locked.case is None
    assert service.lookup("113-000124", "2468135790").result == "found"  # other cases are not locked
    clock.advance(14 * 60)
    assert service.lookup("113-000123", "5678012349").result == "locked"
    clock.advance(61)
    assert service.lookup("113-000123", "5678012349").result == "found"
    results = [d["result"] for d in lookups(store)]
    assert results == ["not_found"] * 5 + ["locked", "found", "locked", "found"]


def test_unknown_numbers_lock_like_known_ones(setup):
    _, service, clock = setup
    for _ in range(5):
        service.lookup("999-000001", "1111")
        clock.advance(1)
    assert service.lookup("999-000001", "1111").result == "locked"


def test_wrong_codes_far_apart_do_not_add_up(setup):
    _, service, clock = setup
    for _ in range(8):
        assert service.lookup("113-000123", "0000").result == "not_found"
        clock.advance(16 * 60)  # longer than a lock: each counts alone (and refills the bucket)
    assert service.lookup("113-000123", "5678012349").result == "found"


def test_rate_limit_slows_many_case_probing(setup):
    store, service, clock = setup
    service.rate_burst, service.rate_per_minute = 10, 2.0
    results = []
    for n in range(12):
        results.append(service.lookup(f"500-{n:06d}", "1234").result)
    assert results == ["not_found"] * 10 + ["rate_limited"] * 2
    limited = service.lookup("113-000123", "5678012349")
    assert limited.result == "rate_limited" and 29 <= limited.retry_after <= 30
    assert "30" in limited.message("zh-TW")
    clock.advance(30)  # one failure's worth at 2 per minute
    assert service.lookup("113-000123", "5678012349").result == "found"  # a success costs nothing
    assert service.lookup("600-000001", "1234").result == "not_found"
    assert service.lookup("600-000002", "1234").result == "rate_limited"
    assert [d["result"] for d in lookups(store)].count("rate_limited") == 4


def test_a_clock_jumping_back_does_not_lock_for_ever(setup):
    _, service, clock = setup
    for _ in range(5):
        service.lookup("113-000123", "0000")
    clock.set_wall(datetime(2023, 1, 1, tzinfo=UTC))  # NTP moved the clock back a year
    assert service.lookup("113-000123", "5678012349").result == "found"


def test_closed_case_is_hidden_after_its_day_even_offline(tmp_path):
    from datetime import date, timedelta

    today = date.today()
    closed = (today - timedelta(days=29)).isoformat()
    rows = case_rows("C-1", code="5678012349", stages=(("結案", closed),), closed=closed)
    conn = collector_with(tmp_path / "c.db", rows)
    kiosk_with_cases(conn, tmp_path / "k")
    clock = SimulatedClock(datetime.now(UTC))
    store = Store(tmp_path / "k", kiosk_id="w1", clock=clock)
    service = CaseLookup(store)
    assert service.lookup("C-1", "5678012349").result == "found"
    clock.advance(3 * 86400)  # no sync since: day 32 after closing, past the 30 days
    assert service.lookup("C-1", "5678012349").result == "not_found"
    service.close()
    store.close()


WRONG_CODE = "9081726354"


def test_kiosk_lookup_command_shares_checks_and_lockout(kiosk_dir, tmp_path):
    import shutil

    data = tmp_path / "k"
    shutil.copytree(kiosk_dir, data)
    runner = CliRunner()

    def cli(*args):
        return runner.invoke(kiosk_cli, ["lookup", *args, "--data-dir", str(data)])

    found = cli("113-000123", "5678012349")
    assert found.exit_code == 0, found.output
    assert "王○○" in found.output and "審核中" in found.output and "1201" in found.output
    as_json = json.loads(cli("113-000124", "2468135790", "--json").output)
    assert as_json["result"] == "found" and as_json["case"]["name"] == "歐○○○"
    for _ in range(5):
        out = cli("113-000123", WRONG_CODE, "--json")
        assert out.exit_code == 3
    assert json.loads(out.output)["result"] == "not_found"
    # The screen's service on the same folder sees the lock the command set.
    store = Store(data, kiosk_id="w1")
    service = CaseLookup(store)
    assert service.lookup("113-000123", "5678012349").result == "locked"
    service.close()
    store.close()
    locked = cli("113-000123", "5678012349")
    assert locked.exit_code == 4 and "分鐘" in locked.output
    events = [
        json.loads(line)
        for line in runner.invoke(
            kiosk_cli, ["events", "--data-dir", str(data), "--type", "case_lookup"]
        ).output.splitlines()
    ]
    assert [e["result"] for e in events] == ["found", "found"] + ["not_found"] * 5 + ["locked", "locked"]
    assert {e["source"] for e in events} == {"cli", "screen"}
    # Both codes are ten digits: a short one (it was "1111") turned up by chance inside an
    # event's random uuid and failed this check on CI.
    assert not any("5678012349" in json.dumps(e) or WRONG_CODE in json.dumps(e) for e in events)


def test_flow_result_screen_clears_on_done_and_after_idle():
    flow = Flow(idle_timeout=60)
    flow.open("lookup", 0.0)
    with pytest.raises(ValueError):
        Flow().case_found(0.0)  # only from the lookup screen
    assert flow.case_found(1.0) == "case_result"
    assert flow.tick(60.9) == "case_result"
    flow.touched(30.0)
    assert flow.tick(89.0) == "case_result"
    assert flow.tick(90.0) == "home"
    flow.open("lookup", 100.0)
    assert flow.tick(159.0) == "lookup" and flow.tick(160.0) == "home"
    flow.open("lookup", 200.0)
    flow.case_found(201.0)
    assert flow.home(202.0) == "home"
