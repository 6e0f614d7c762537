"""The plan's paperwork in plain Python, on a year ingested for real (paperwork_helpers): ODF cells
never formulas, targets judged on the 95 % interval, what is measured for them, the deadline in
office time, locked submissions, attachments checked, items fixed once signed, the open-data
summary's suppression and dictionary (issue 14, items 1, 2, 3, 7)."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import paperwork_helpers as ph
import pytest

from server_sync.collector import db as dbmod
from server_sync.collector import odf, opendata, targets
from server_sync.collector.courtesy.scores import CourtesyYear
from server_sync.collector.evaluation import document, evidence, items, submission
from server_sync.collector.measures import Measure, Period, ack_deadline, measure
from server_sync.wire.tz import OFFICE_TZ

NOW = datetime.now(UTC)  # the injected clock of every call below
YEAR = NOW.astimezone(OFFICE_TZ).year - 1  # a whole year that is over
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    c = dbmod.open_db(tmp_path_factory.mktemp("paperwork") / "c.db")
    ph.seed(c, YEAR)
    yield c
    c.close()


@pytest.fixture
def fresh(tmp_path):
    c = dbmod.open_db(tmp_path / "c.db")
    yield c
    c.close()


def _content(ods: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(ods)).read("content.xml").decode("utf-8")


def test_ods_text_cells_are_strings_never_formulas_and_cjk_survives():
    sheet = odf.Sheet("t", "標題 第一組", ["單位 unit", "n"], [['=HYPERLINK("http://x")', 3], ["@SUM(1)", 2.5]])
    xml = _content(odf.to_ods([sheet], ["註 note"]))
    assert "table:formula" not in xml
    assert 'office:value-type="string"' in xml and 'office:value-type="float"' in xml
    assert "'=HYPERLINK" in xml and "'@SUM(1)" in xml and "第一組" in xml
    assert 'style:font-name-asian="Noto Sans CJK TC"' in _styles(odf.to_ods([sheet]))
    odt = odf.to_odt("自評", [odf.Heading("一"), odf.Grid(["a"], [["+cmd"]])])
    assert "'+cmd" in zipfile.ZipFile(io.BytesIO(odt)).read("content.xml").decode()


def _styles(doc: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(doc)).read("styles.xml").decode("utf-8")


@pytest.mark.parametrize(
    ("direction", "ci", "n", "verdict"),
    [
        (">=", (86.0, 92.0), 60, targets.MET),
        (">=", (70.0, 84.0), 60, targets.NOT_MET),
        (">=", (80.0, 90.0), 60, targets.UNDECIDED),  # straddles 85
        (">=", (95.0, 99.0), 12, targets.UNDECIDED),  # n below the minimum
        ("<=", (5.0, 9.0), 40, targets.MET),
        ("<=", (11.0, 14.0), 40, targets.NOT_MET),
        ("<=", (9.0, 11.0), 40, targets.UNDECIDED),
    ],
)
def test_a_target_is_judged_on_the_whole_interval(direction, ci, n, verdict):
    metric = targets.METRICS["csat" if direction == ">=" else "wait_mean"]
    threshold = 85.0 if direction == ">=" else 10.0
    value = None if n < 30 else (ci[0] + ci[1]) / 2
    assert targets.judge(metric, threshold, Measure(value, ci if value else None, n, 30)).code == verdict


def test_what_is_measured_for_a_unit_and_the_office(conn):
    a = measure(conn, Period.year(YEAR), ph.UNIT_A, 30, NOW)
    # 54 of 60 in the top two levels: Wilson 79.9-95.3 (as stats.wilson has it).
    assert a.by_metric["csat"] == Measure(90.0, (79.9, 95.3), 60, 30)
    # Waits of 2..9 minutes plus 30 s: mean 6.0; the 36th of 40 is in the 9-minute bucket (upper edge 10).
    assert a.wait_mean.value == 6.0 and a.wait_mean.ci[0] < 6.0 < a.wait_mean.ci[1]
    assert a.wait_p90.value == 10.0 and a.wait_p90.ci[0] <= 10.0 <= a.wait_p90.ci[1]
    assert (a.lookups.lookups, a.lookups.answered, a.lookups.found) == (10, 10, 8)
    assert a.by_metric["lookups_answered"].value is None  # 10 lookups: below the minimum n
    office = measure(conn, Period.year(YEAR), "", 30, NOW)
    assert office.satisfaction.n == 70  # 第二組's 10 ratings count office-wide
    assert measure(conn, Period.year(YEAR), ph.UNIT_B, 30, NOW).by_metric["csat"].value is None
    assert measure(conn, Period.year(YEAR + 1), ph.UNIT_A, 30, NOW).satisfaction.n == 0


def test_alerts_acknowledged_within_one_working_day(fresh):
    friday = datetime.combine(ph.first_weekday(YEAR, 5, 4), time(15), OFFICE_TZ)
    saturday = friday + timedelta(days=1)
    # The end of the first working day after the day raised: Friday and Saturday -> Monday 24:00.
    assert (
        ack_deadline(friday)
        == ack_deadline(saturday)
        == datetime.combine((friday + timedelta(days=4)).date(), time(0), OFFICE_TZ)
    )
    monday = friday + timedelta(days=3)
    ph.add_alert(fresh, "第一組", friday, friday + timedelta(days=3, hours=2), "a")  # Monday 17:00: in time
    ph.add_alert(fresh, "第一組", monday, monday + timedelta(days=2), "b")  # Wednesday: late
    ph.add_alert(fresh, "第一組", monday, None, "c")  # still open, long past its deadline: late
    period = Period.month(f"{YEAR}-05")
    m = measure(fresh, period, "第一組", 30, NOW, alerts_min_n=1)
    assert (m.alerts.raised, m.alerts.acknowledged, m.alerts.in_time, m.alerts.decided) == (3, 2, 1, 3)
    assert m.by_metric["ack_1wd"].value == 33.3
    # Seen from that Monday, the open alert's deadline (Tuesday 24:00) is still ahead: not decided.
    early = measure(fresh, period, "第一組", 30, monday + timedelta(hours=1), alerts_min_n=1)
    assert (early.alerts.raised, early.alerts.decided) == (3, 2)


def test_a_units_own_targets_override_the_offices(fresh):
    tgts, default = targets.effective(fresh, YEAR, "第一組")
    assert default and {t.metric.key: t.threshold for t in tgts}["csat"] == 85
    targets.adopt_defaults(fresh, YEAR, "mgr", NOW)
    changed = targets.set_targets(fresh, YEAR, "第一組", {"csat": 80.0, "wait_mean": None}, "mgr", NOW)
    assert changed == {"csat": 80.0}
    tgts, default = targets.effective(fresh, YEAR, "第一組")
    by = {t.metric.key: t for t in tgts}
    assert not default and by["csat"].threshold == 80 and by["csat"].unit == "第一組"
    assert by["wait_mean"].threshold == 10 and by["wait_mean"].unit == ""
    with pytest.raises(targets.TargetError, match="0 至 100"):
        targets.parse_threshold(targets.METRICS["csat"], "120")


CODES = [i.code for i in items.DEFAULT_ITEMS]


def test_the_deadline_is_1_december_office_time(fresh):
    year = YEAR + 2
    deadline = submission.deadline(year)
    assert deadline.astimezone(UTC) == datetime(year, 11, 30, 16, tzinfo=UTC)  # 00:00 in Taipei
    before = deadline - timedelta(seconds=1)
    submission.save_narratives(fresh, year, "第一組", {"1-1": "新座椅"}, CODES, "viewer", before, manager=False)
    with pytest.raises(submission.EvaluationError, match="已過送出期限"):
        submission.save_narratives(fresh, year, "第一組", {"1-1": "x"}, CODES, "viewer", deadline, manager=False)
    with pytest.raises(submission.EvaluationError, match="已過送出期限"):
        submission.submit(fresh, year, "第一組", "viewer", deadline, manager=False)
    late = submission.submit(fresh, year, "第一組", "mgr", deadline, manager=True)
    assert late.submitted and late.late


def test_a_submitted_evaluation_is_locked_until_a_manager_reopens_it(fresh):
    year, now = YEAR + 2, submission.deadline(YEAR + 2) - timedelta(days=10)
    with pytest.raises(submission.EvaluationError, match="尚未填寫"):
        submission.submit(fresh, year, "第二組", "viewer", now, manager=False)
    submission.save_narratives(fresh, year, "第二組", {"3-1": "每件通報當日回電"}, CODES, "viewer", now, manager=False)
    sub = submission.submit(fresh, year, "第二組", "viewer", now, manager=False)
    assert sub.submitted and not sub.late
    for change in (
        lambda: submission.save_narratives(fresh, year, "第二組", {"3-1": "x"}, CODES, "mgr", now, manager=True),
        lambda: submission.add_attachment(
            fresh, year, "第二組", "3-1", "a.png", PNG, "mgr", now, item_codes=CODES, manager=True
        ),
    ):
        with pytest.raises(submission.Locked, match="送出並鎖定"):
            change()
    with pytest.raises(items.ItemError, match="鎖定"):
        items.set_items(fresh, year, list(items.DEFAULT_ITEMS[:2]), "mgr", now)
    submission.reopen(fresh, year, "第二組", "mgr", now)
    assert submission.get(fresh, year, "第二組").narratives == {"3-1": "每件通報當日回電"}
    submission.save_narratives(fresh, year, "第二組", {"3-1": "改"}, CODES, "viewer", now, manager=False)


def test_attachments_are_checked_by_content_and_capped(fresh):
    year, now = YEAR + 2, submission.deadline(YEAR + 2) - timedelta(days=10)

    def add(name, data):
        return submission.add_attachment(
            fresh, year, "第一組", "1-1", name, data, "viewer", now, item_codes=CODES, manager=False
        )

    att = add("../../照片.png", PNG)
    assert att.filename == "照片.png" and att.mime == "image/png" and att.size == len(PNG)
    with pytest.raises(submission.EvaluationError, match="不符"):
        add("report.pdf", b"MZ\x90\x00 an exe")
    with pytest.raises(submission.EvaluationError, match="不接受"):
        add("run.exe", b"MZ")
    with pytest.raises(submission.EvaluationError, match="MB"):
        add("big.pdf", b"%PDF-" + b"0" * submission.MAX_ATTACHMENT_BYTES)
    ods = odf.to_ods([odf.Sheet("s", "", ["a"], [[1]])])
    assert add("表.ods", ods).mime == odf.ODS_MIME
    with pytest.raises(submission.EvaluationError, match="不符"):
        add("表.odt", ods)  # a spreadsheet named as a text document
    with pytest.raises(submission.EvaluationError, match="沒有此評核項目"):
        submission.add_attachment(fresh, year, "第一組", "9-9", "a.png", PNG, "v", now, item_codes=CODES, manager=False)


def test_items_are_checked(fresh):
    good = [items.Item("A", "伍、一", "場所", 40, ("satisfaction",)), items.Item("B", "伍、五", "創新", 60)]
    items.set_items(fresh, YEAR, good, "mgr", NOW)
    assert items.items_for(fresh, YEAR) == (good, False)
    assert items.items_for(fresh, YEAR + 1)[1]  # another year: the bundled table
    assert sum(i.points for i in items.DEFAULT_ITEMS) == 100
    for bad, why in (
        ([good[0], good[0]], "重複"),
        ([replace(good[0], points=120)], "配分"),
        ([replace(good[0], evidence=("weather",))], "沒有此佐證"),
        ([replace(good[0], title=" ")], "缺少"),
    ):
        with pytest.raises(items.ItemError, match=why):
            items.set_items(fresh, YEAR, bad, "mgr", NOW)


def test_evidence_for_each_item(conn):
    ev = evidence.gather(conn, YEAR, ph.UNIT_A, 30, NOW)
    sat = evidence.lines(ev, "satisfaction")
    assert "90%" in sat[0] and "79.9–95.3" in sat[0]
    # The year before had no responses at all: said so, not shown as a figure or a change.
    assert f"{YEAR - 1}: 無前一年資料" in sat[0] and "n = 0" not in sat[0]
    assert sat[1] == "與去年比較：無前一年資料 no data for the previous year"
    assert "去年 last year 無前一年資料" in evidence.lines(ev, "waits")[0]
    assert "6 分 min" in evidence.lines(ev, "waits")[0]
    assert "查到 found 8" in evidence.lines(ev, "lookups")[0]
    assert "尚無資料" in evidence.lines(ev, "courtesy")[0]
    tested = replace(ev, courtesy=CourtesyYear(91.5, 12, "優良"))
    assert (
        "12 次 tests" in evidence.lines(tested, "courtesy")[0]
        and "優良 excellent" in evidence.lines(tested, "courtesy")[0]
    )
    tgt = evidence.lines(ev, "targets")
    assert tgt[0].startswith("年度目標") and any("達成 met" in line for line in tgt[1:])
    assert "wait 1" in evidence.lines(ev, "reasons")[0]
    # The consolidated document: the office first, then every unit with the year's items.
    parts = document.parts(conn, YEAR, "", 30, NOW)
    assert [p.unit for p in parts] == ["", ph.UNIT_A, ph.UNIT_B]
    assert all(len(p.items) == len(items.DEFAULT_ITEMS) for p in parts)


def test_open_data_suppresses_small_cells_and_documents_every_column(conn):
    month = f"{YEAR}-03"
    rows = {r[1]: r for r in opendata.rows(conn, month, 30, NOW)}
    assert list(rows) == [ph.UNIT_A, ph.UNIT_B, opendata.OFFICE_ROW]
    names = [c.name for c in opendata.COLUMNS]
    a, b = dict(zip(names, rows[ph.UNIT_A])), dict(zip(names, rows[ph.UNIT_B]))
    assert a["有效回覆數"] == 60 and a["滿意度"] == 90.0 and a["等級1次數"] == 30
    assert b["有效回覆數"] == 10 and b["等級5次數"] == 2  # counts are facts and stay
    assert b["滿意度"] == b["快樂指數"] == "回覆數不足(n<30)" and "少於 30" in b["備註"]
    files = opendata.files(conn, month, 30, NOW)
    dictionary = files.dictionary_csv.decode("utf-8-sig").splitlines()
    assert len(dictionary) == 1 + len(names) and all(any(f'"{n}"' in line for line in dictionary) for n in names)
    assert files.csv.startswith("\ufeff".encode()) and files.csv.decode("utf-8-sig").splitlines()[0].count(",") == 15
    xml = _content(files.ods)
    assert re.search(r'table:name="data".*table:name="dictionary"', xml, re.S) and "回覆數不足(n&lt;30)" in xml
    with pytest.raises(opendata.MonthError):
        opendata.parse_month("2025-13")
