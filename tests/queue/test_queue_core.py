"""The window's queue through the real store, the real buttons (mock pins) and a simulated clock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from queuehelp import MONDAY_9AM, Counter, all_day_directory, queue_config

from kiosk import estimate
from kiosk.config import ConfigError, validate
from kiosk.directory import bundled_path
from kiosk.printer import TicketPrint, parse_spec, print_ticket
from kiosk.queue import QueueRefused
from kiosk.store import Store
from server_sync.wire.directory import DirectoryError, load_file, parse_csv
from server_sync.wire.tz import OFFICE_TZ


def test_priority_tickets_have_their_own_series_and_are_called_first(counter):
    q = counter.queue
    issued = [
        q.issue("candidate_registration").number,
        q.issue("polling_place").number,
        q.issue("polling_place", priority=True).number,
        q.issue("candidate_registration").number,
        q.issue("certificates", priority=True).number,
    ]
    assert issued == ["A001", "D001", "P001", "A002", "P002"]
    called = []
    for _ in issued:
        counter.clock.advance(60)
        called.append(counter.next().called.number)
    assert called == ["P001", "P002", "A001", "D001", "A002"]
    counter.clock.advance(60)
    last = counter.next()
    assert last.called is None and last.served.number == "A002"
    stored = [e.detail["ticket"] for e in counter.events("ticket_called")]
    assert stored == called


def test_a_double_press_of_next_calls_only_one_number(counter):
    counter.queue.issue("polling_place")
    counter.queue.issue("polling_place")
    assert counter.next().called.number == "D001"
    counter.clock.advance(0.5)
    assert counter.next().ignored
    assert [e.detail["ticket"] for e in counter.events("ticket_called")] == ["D001"]


def test_recall_then_no_show_after_the_configured_calls(counter):
    q = counter.queue  # no_show_after_calls = 2
    q.issue("polling_place")
    q.issue("certificates")
    assert counter.next().called.number == "D001"
    counter.clock.advance(40)
    again = q.recall()
    assert again.recall and again.called.number == "D001" and again.called.calls == 2
    counter.clock.advance(40)
    gave_up = q.recall()
    assert gave_up.no_show.number == "D001" and gave_up.called.number == "H001"
    calls = [(e.detail["ticket"], e.detail["call"], e.detail["recall"]) for e in counter.events("ticket_called")]
    assert calls == [("D001", 1, False), ("D001", 2, True), ("H001", 1, False)]
    no_show = counter.events("ticket_no_show")
    assert [(e.detail["ticket"], e.detail["calls"]) for e in no_show] == [("D001", 2)]
    # A no-show is not a service: no service time was learned from it.
    assert counter.events("ticket_served") == []
    # Staff can also give up at once from the staff screen.
    out = q.no_show(via="staff")
    assert out.no_show.number == "H001" and out.called is None


def test_numbers_restart_at_midnight_taipei_and_survive_a_restart(tmp_path, directory_file):
    config = queue_config(directory_file)
    late = datetime(2026, 3, 2, 23, 58, tzinfo=OFFICE_TZ)
    c = Counter(tmp_path / "data", config)
    c.clock.set_wall(late)
    assert [c.queue.issue("polling_place").number for _ in range(2)] == ["D001", "D002"]
    assert c.next().called.number == "D001"
    c.clock.advance(180)  # 00:01 the next day
    assert c.queue.counts() == (0, 0), "yesterday's tickets are not today's queue"
    assert c.queue.now_serving() is None
    assert c.queue.issue("polling_place").number == "D001"
    c.close()
    # After a restart the queue is rebuilt from today's events only.
    again = Counter(tmp_path / "data", config, clock=c.clock)
    assert again.queue.counts() == (1, 0)
    assert again.queue.issue("polling_place").number == "D002"
    assert again.next().called.number == "D001"
    again.close()


def test_a_ticket_is_durable_before_issue_returns(tmp_path, directory_file):
    """The child prints the number once `issue` returned (what the screen would show), then is killed."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
from queuehelp import Counter, queue_config
from pathlib import Path
c = Counter(Path({str(tmp_path / "data")!r}), queue_config(Path({str(directory_file)!r})))
t = c.queue.issue('candidate_registration', priority=True)
print(t.number, flush=True)
time.sleep(60)
""",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        number = child.stdout.readline().strip()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
    assert number == "P001"
    store = Store(tmp_path / "data", kiosk_id="queue-w1")
    try:
        tickets = [e.detail["ticket"] for e in store.events(type="ticket_issued")]
    finally:
        store.close()
    assert tickets == ["P001"]


def test_a_rating_carries_the_ticket_its_service_wait_and_service_time(counter):
    q = counter.queue
    first = q.issue("candidate_registration")
    second = q.issue("polling_place")
    counter.clock.advance(120)
    counter.next()  # A001 called after 120 s
    counter.clock.advance(600)
    rating = counter.rate(2).event
    assert rating.ref == first.issued_id
    assert rating.detail == {
        "ticket": "A001",
        "service": "candidate_registration",
        "priority": False,
        "wait_seconds": 120.0,
        "service_seconds": 600.0,
    }
    # Staff call the next visitor while the first is still rating on the way out: the
    # rating in the next seconds still belongs to A001, with its measured service time.
    counter.clock.advance(30)
    counter.next()
    counter.clock.advance(8)
    late = counter.rate(4).event
    assert late.ref == first.issued_id and late.detail["service_seconds"] == 630.0
    # Later ratings belong to D001, now being served.
    counter.clock.advance(200)
    third = counter.rate(1).event
    assert third.ref == second.issued_id
    assert third.detail["wait_seconds"] == 750.0 and third.detail["service_seconds"] == 208.0
    served = counter.events("ticket_served")
    assert [(e.detail["ticket"], e.detail["service_seconds"]) for e in served] == [("A001", 630.0)]


def test_a_rating_with_no_ticket_is_stored_as_before(counter):
    rating = counter.rate(1).event
    assert rating.ref is None and rating.detail == {}


def test_tickets_refused_where_the_service_is_not_here_or_not_open(tmp_path):
    c = Counter(tmp_path / "data", queue_config())  # the bundled directory and its real hours
    try:
        with pytest.raises(QueueRefused) as not_here:
            c.queue.issue("recall_referendum")  # window 4 only
        assert "4" in not_here.value.zh and "window 4" in not_here.value.en
        c.clock.set_wall(MONDAY_9AM.replace(hour=12, minute=30))  # candidate registration closes for lunch
        with pytest.raises(QueueRefused):
            c.queue.issue("candidate_registration")
        status = c.queue.status("candidate_registration")
        assert status.here and not status.open and status.band == estimate.CLOSED
        assert c.queue.issue("polling_place").number == "D001"  # open over lunch
        assert c.events("ticket_issued")[0].detail["ticket"] == "D001"
    finally:
        c.close()


def test_every_ticket_stores_its_estimate(counter):
    q = counter.queue
    q.issue("candidate_registration")
    t = q.issue("polling_place")
    d = counter.events("ticket_issued")[-1].detail
    assert d["ahead"] == 1 and d["estimate_seconds"] == 25 * 60  # the directory's typical A time
    assert d["estimate_band"] == estimate.band(25 * 60) == "20-30" == t.estimate_band


def test_the_printed_ticket_holds_number_service_window_and_time(tmp_path):
    path = tmp_path / "printer.bin"
    when = datetime(2026, 3, 2, 9, 41, tzinfo=OFFICE_TZ)
    print_ticket(
        parse_spec(f"file:{path}"),
        TicketPrint(
            "A007",
            "候選人登記",
            "Candidate registration",
            "1",
            when,
            "嘉義市選舉委員會",
            "Chiayi City Election Commission",
            3,
            "約 5–10 分鐘",
            "About 5–10 minutes",
        ),
    )
    data = path.read_bytes()
    assert data.startswith(b"\x1b@") or b"\x1ba\x01" in data  # ESC/POS: initialise / centre
    for text in (b"A007", b"Candidate registration", b"Window 1", b"2026-03-02 09:41", b"3 ahead"):
        assert text in data, f"{text!r} not printed"
    assert b"\x1dv0" in data, "the zh-TW lines go as a raster image (GS v 0)"
    assert data.rstrip().endswith(b"\x1dV\x00") or b"\x1dV" in data[-8:], "the ticket is cut"


def test_printer_and_queue_settings_are_checked():
    assert parse_spec("") is None
    assert parse_spec("usb:0416:5011").vendor == 0x0416
    for bad, key in (
        ({"printer": "lpt1"}, "queue.printer"),
        ({"printer": "usb:zz:1"}, "queue.printer"),
        ({"staff_pin_hash": "12ab"}, "queue.staff_pin_hash"),
        ({"no_show_after_calls": 0}, "queue.no_show_after_calls"),
    ):
        with pytest.raises(ConfigError) as err:
            validate({"queue": bad})
        assert err.value.key == key


def test_the_bundled_directory_is_valid_and_complete():
    d = load_file(bundled_path())
    names = {s.name for s in d.services}
    for needed in ("候選人登記", "罷免與公民投票連署", "投開票所查詢", "選舉人名冊問題", "競選經費收據"):
        assert needed in names
    assert {s.unit for s in d.services} >= {"第一組", "第二組", "第三組", "第四組", "行政室"}
    assert all(s.name_en and s.documents and s.typical_minutes > 0 and s.spans for s in d.services)


def test_directory_errors_name_line_and_column():
    text = bundled_path().read_text(encoding="utf-8").splitlines()
    text[2] = text[2].replace(",10,", ",ten,")  # election_bulletin's typical minutes, file line 3
    text[3] = "electoral_roll,A," + text[3].split(",", 2)[2]  # series A again, line 4
    with pytest.raises(DirectoryError) as err:
        parse_csv("\n".join(text), source="services.csv")
    found = {(p.where, p.field) for p in err.value.problems}
    assert ("line 3", "typical_minutes") in found and ("line 4", "series") in found
    assert "services.csv" in str(err.value) and "line 3" in str(err.value)
    with pytest.raises(DirectoryError) as bad_hours:
        parse_csv(
            "code,series,name,name_en,unit,windows,typical_minutes,hours\nx,B,名,Name,第一組,1,5,mon-fri 17:00-08:00\n"
        )
    assert bad_hours.value.problems[0].field == "hours"


def test_a_directory_file_for_the_kiosk_overrides_the_bundled_one(tmp_path):
    path = all_day_directory(tmp_path / "s.csv", polling_place={"name": "投票所在哪裡", "typical_minutes": "2"})
    c = Counter(tmp_path / "data", queue_config(path))
    try:
        assert c.queue.status("polling_place").service.name == "投票所在哪裡"
    finally:
        c.close()


def test_the_font_has_every_character_the_queue_shows():
    from kiosk.fonts import find_cjk_font, missing_glyphs
    from kiosk.i18n import STRINGS

    texts = [zh for zh, _ in STRINGS.values()] + [zh for zh, _ in estimate.BAND_LABELS.values()]
    for s in load_file(bundled_path()).services:
        texts += [s.name, s.unit, s.notes, *s.documents]
    texts.append("每日週一二三四五六日至、")
    fonts = find_cjk_font()
    for weight in ("Regular", "Bold"):
        assert missing_glyphs(fonts[weight], "".join(texts)) == set()


def test_queue_screens_in_the_flow():
    from kiosk.flow import Flow

    flow = Flow(ask_from_level=3)
    flow.open("guidance", 0)
    assert flow.queue_screen("ticket", 1) == "ticket"
    assert flow.tick(1 + flow.ticket_seconds) == "home"
    assert flow.queue_screen("calling", 30) == "calling"
    assert flow.tick(30 + flow.calling_seconds) == "home"
    flow.queue_screen("staff", 40)
    assert flow.queue_screen("calling", 41) == "staff", "staff see the call on their panel"
    flow.home(42)
    flow.screen = "reasons"
    assert flow.queue_screen("calling", 43) == "reasons", "a visitor answering is not pushed aside"
    with pytest.raises(ValueError):
        flow.queue_screen("lookup", 44)
