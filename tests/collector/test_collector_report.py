"""The report against a small fixture worked out by hand, and the CLI around it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from collector_helpers import make_batch, make_event

from server_sync.collector import db as dbmod
from server_sync.collector.admin import queries
from server_sync.collector.auth import add_kiosk, kiosk_by_name
from server_sync.collector.cli import main
from server_sync.collector.ingest import Ingestor
from server_sync.collector.models import Batch
from server_sync.collector.report import Row, render, report
from server_sync.collector.rollup import SAT_FIELDS, UNIT_OF, UNIT_SAT_TABLES
from server_sync.collector.stats import Figures
from server_sync.collector.timestamps import local_hour
from server_sync.wire.events import FIELDS as EVENT_FIELDS

T = datetime(2026, 11, 28, 0, 0, tzinfo=UTC).timestamp()
CLOCK_MONO = 200_000.0


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def k5_event(seq, level, when_utc, *, misuse=False, window="1", type="rating"):
    """A press on the 5-button kiosk whose wall clock read 1970: only the anchor places it."""
    mono = utc(when_utc).timestamp() - (T - CLOCK_MONO)
    return make_event(
        seq,
        level=level,
        type=type,
        misuse=misuse,
        window=window,
        boot_id="k5-boot",
        monotonic=mono,
        recorded_at="1970-01-01T00:00:00.000+00:00",
    )


def k3_event(seq, level, when_utc, *, misuse=False):
    """A press on the 3-button kiosk whose wall clock was right."""
    return make_event(
        seq,
        level=level,
        misuse=misuse,
        unit="第二組",
        window="2",
        boot_id="k3-old",
        recorded_at=utc(when_utc).isoformat(),
    )


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "c.db"
    conn = dbmod.open_db(path)
    add_kiosk(conn, "k5")
    add_kiosk(conn, "k5w2")
    add_kiosk(conn, "k3", levels=3)
    ing = Ingestor(conn, clock=lambda: T)
    # Taipei = UTC+8: 01:xx UTC is 09:xx in the office, 06:xx is 14:xx, 16:30 the previous UTC day is 00:30.
    k5 = [
        k5_event(1, 1, "2026-11-26T01:05"),
        k5_event(2, 1, "2026-11-26T01:10"),
        k5_event(3, 2, "2026-11-26T01:15"),
        k5_event(4, 3, "2026-11-26T01:20"),
        k5_event(5, 5, "2026-11-26T01:25"),
        k5_event(6, 1, "2026-11-26T01:25:02", misuse=True),
        k5_event(7, 1, "2026-11-26T01:25:03", misuse=True),
        k5_event(8, 2, "2026-11-26T06:00"),
        k5_event(9, 4, "2026-11-26T06:30"),
        k5_event(10, 1, "2026-11-26T16:30"),
    ]
    ing.ingest(
        kiosk_by_name(conn, "k5"),
        Batch.model_validate_json(
            json.dumps(make_batch(k5, boot_id="k5-boot", monotonic=CLOCK_MONO, wall="1970-01-03T07:33:20+00:00"))
        ),
    )
    # Window 2 of the same unit is another kiosk (a kiosk serves one window), with the same wrong clock.
    w2 = [
        k5_event(1, 5, "2026-11-27T02:00", window="2"),
        k5_event(2, 5, "2026-11-27T02:00:30", type="reason", window="2"),
    ]
    ing.ingest(
        kiosk_by_name(conn, "k5w2"),
        Batch.model_validate_json(
            json.dumps(make_batch(w2, boot_id="k5-boot", monotonic=CLOCK_MONO, wall="1970-01-03T07:33:20+00:00"))
        ),
    )
    k3 = [
        k3_event(1, 1, "2026-11-27T02:10"),
        k3_event(2, 2, "2026-11-27T02:20"),
        k3_event(3, 3, "2026-11-27T02:30"),
        k3_event(4, 3, "2026-11-27T02:30:01", misuse=True),
    ]
    ing.ingest(kiosk_by_name(conn, "k3"), Batch.model_validate_json(json.dumps(make_batch(k3, boot_id="k3-now"))))
    conn.close()
    return path


@pytest.fixture
def conn(db_path):
    c = dbmod.open_db(db_path)
    yield c
    c.close()


def rows(conn, **kw):
    return {
        tuple(v for k, v in r.items() if k in ("unit", "window", "day", "hour")): r
        for r in report(conn, **kw).records()
    }


def check(row, levels, n, hi, csat, misuse):
    assert [row[f"level_{i}"] for i in range(1, 6)] == levels
    assert row["n"] == n and row["misuse"] == misuse
    assert row["happy_index"] == pytest.approx(hi, abs=0.051)
    assert row["csat"] == pytest.approx(csat, abs=0.051)


def test_by_unit(conn):
    r = rows(conn, group_by="unit")
    # 第一組 (5 levels: 100/75/50/25/0): 1,1,2,3,5,2,4,1 and 5 -> 525/9
    check(r[("第一組",)], [3, 2, 1, 1, 2], 9, 525 / 9, 500 / 9, 2)
    # 第二組 (3 levels: 100/50/0): 1,2,3
    check(r[("第二組",)], [1, 1, 1, 0, 0], 3, 50.0, 200 / 3, 1)
    check(r[("合計 total",)], [4, 3, 2, 1, 2], 12, 675 / 12, 700 / 12, 3)


def test_by_window(conn):
    r = rows(conn, group_by="window")
    check(r[("第一組", "1")], [3, 2, 1, 1, 1], 8, 525 / 8, 62.5, 2)
    check(r[("第一組", "2")], [0, 0, 0, 0, 1], 1, 0.0, 0.0, 0)
    check(r[("第二組", "2")], [1, 1, 1, 0, 0], 3, 50.0, 200 / 3, 1)


def test_by_day_in_taipei_time(conn):
    r = rows(conn, group_by="day")
    check(r[("2026-11-26",)], [2, 2, 1, 1, 1], 7, 425 / 7, 400 / 7, 2)
    # 16:30 UTC on the 26th is 00:30 on the 27th in the office.
    check(r[("2026-11-27",)], [2, 1, 1, 0, 1], 5, 50.0, 60.0, 1)


def test_by_hour(conn):
    r = rows(conn, group_by="hour")
    assert list(r)[:-1] == [("2026-11-26 09:00",), ("2026-11-26 14:00",), ("2026-11-27 00:00",), ("2026-11-27 10:00",)]
    check(r[("2026-11-26 09:00",)], [2, 1, 1, 0, 1], 5, 65.0, 60.0, 2)
    check(r[("2026-11-26 14:00",)], [0, 1, 0, 1, 0], 2, 50.0, 50.0, 0)
    check(r[("2026-11-27 00:00",)], [1, 0, 0, 0, 0], 1, 100.0, 100.0, 0)
    check(r[("2026-11-27 10:00",)], [1, 1, 1, 0, 1], 4, 37.5, 50.0, 1)


def test_date_range_is_whole_office_days(conn):
    r = rows(conn, group_by="unit", date_from=date(2026, 11, 27), date_to=date(2026, 11, 27))
    check(r[("合計 total",)], [2, 1, 1, 0, 1], 5, 50.0, 60.0, 1)
    r = rows(conn, group_by="unit", date_to=date(2026, 11, 26))
    check(r[("合計 total",)], [2, 2, 1, 1, 1], 7, 425 / 7, 400 / 7, 2)
    r = rows(conn, group_by="unit", date_from=date(2027, 1, 1))
    assert r[("合計 total",)]["n"] == 0 and r[("合計 total",)]["happy_index"] is None


def test_formats(conn):
    rep = report(conn, group_by="unit")
    text = render(rep, "table")
    assert "快樂指數 Happy Index" in text and "滿意度 CSAT %" in text and "誤觸 misuse" in text
    assert "第一組" in text and "58.3" in text
    parsed = list(csv.reader(io.StringIO(render(rep, "csv"))))
    assert parsed[0][:2] == ["單位 unit", "等級1 level 1"]
    assert parsed[1][0] == "第一組" and parsed[1][6] == "9" and parsed[1][7] == "58.3"
    data = json.loads(render(rep, "json"))
    assert data["timezone"] == "Asia/Taipei" and data["rows"][0]["unit"] == "第一組"


def test_report_cli(db_path):
    runner = CliRunner()
    res = runner.invoke(
        main,
        [
            "report",
            "--db",
            str(db_path),
            "--group-by",
            "day",
            "--format",
            "json",
            "--from",
            "2026-11-26",
            "--to",
            "2026-11-27",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert [r["day"] for r in data["rows"]] == ["2026-11-26", "2026-11-27", "合計 total"]
    assert data["rows"][0]["n"] == 7
    res = runner.invoke(main, ["report", "--db", str(db_path), "--group-by", "window"])
    assert res.exit_code == 0 and "窗口 window" in res.output
    res = runner.invoke(main, ["report", "--db", str(db_path), "--from", "2026-11-28", "--to", "2026-11-01"])
    assert res.exit_code != 0


def test_events_cli_prints_kiosk_fields_plus_kiosk_and_corrected_at(db_path):
    res = CliRunner().invoke(main, ["events", "--db", str(db_path), "--kiosk", "k5"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.output.splitlines()]
    assert len(lines) == 10
    first = lines[0]
    # Every field a kiosk's event carries (the wire's list), then what the collector adds.
    for key in (*EVENT_FIELDS, "kiosk", "corrected_at", "time_suspect"):
        assert key in first
    assert first["kiosk"] == "k5" and first["corrected_at"].startswith("2026-11-26T01:05")
    assert first["recorded_at"].startswith("1970")


def test_kiosk_management_cli(tmp_path):
    runner = CliRunner()
    path = str(tmp_path / "c.db")
    res = runner.invoke(main, ["add-kiosk", "w9", "--db", path])
    assert res.exit_code == 0, res.output
    token = res.output.strip().splitlines()[-1]
    assert len(token) >= 43
    conn = dbmod.open_db(path)
    stored = conn.execute("SELECT token_hash FROM kiosks WHERE name = 'w9'").fetchone()[0]
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in open(path, "rb").read().decode("latin-1")
    assert runner.invoke(main, ["add-kiosk", "w9", "--db", path]).exit_code != 0
    res = runner.invoke(main, ["kiosks", "--db", path])
    assert res.exit_code == 0 and "w9" in res.output and "last seen" in res.output
    assert runner.invoke(main, ["revoke-kiosk", "w9", "--db", path]).exit_code == 0
    assert conn.execute("SELECT revoked_at FROM kiosks WHERE name = 'w9'").fetchone()[0]
    assert runner.invoke(main, ["revoke-kiosk", "nobody", "--db", path]).exit_code != 0
    res = runner.invoke(main, ["rotate-token", "w9", "--db", path])
    assert res.exit_code == 0 and res.output.strip().splitlines()[-1] != token
    res = runner.invoke(main, ["set-setting", "kiosk.office", "嘉義市選舉委員會", "--db", path])
    assert res.exit_code == 0 and "revision 1" in res.output
    res = runner.invoke(main, ["set-setting", "sync.interval", "60", "--kiosk", "w9", "--db", path])
    assert res.exit_code == 0
    res = runner.invoke(main, ["settings", "--db", path])
    assert '*\tkiosk.office\t"嘉義市選舉委員會"' in res.output and "w9\tsync.interval\t60" in res.output
    conn.close()


@pytest.fixture(scope="module")
def months_db(tmp_path_factory):
    """Presses spread over four months, with misuse and two kinds of kiosk."""
    import random

    rnd = random.Random(7)
    path = tmp_path_factory.mktemp("months") / "c.db"
    conn = dbmod.open_db(path)
    add_kiosk(conn, "a")
    add_kiosk(conn, "b", levels=4)
    ing = Ingestor(conn, clock=lambda: T)
    start = datetime(2026, 7, 1, tzinfo=UTC).timestamp() - 8 * 3600  # Taipei midnight
    for name in ("a", "b"):
        events = []
        for seq in range(1, 1501):
            when = start + rnd.uniform(0, 120 * 86400)
            events.append(
                make_event(
                    seq,
                    level=rnd.randint(1, 4),
                    misuse=rnd.random() < 0.1,
                    unit=rnd.choice(["第一組", "第二組"]),
                    window=rnd.choice("123"),
                    boot_id="old",
                    recorded_at=datetime.fromtimestamp(when, UTC).isoformat(),
                )
            )
        for i in range(0, len(events), 500):
            ing.ingest(
                kiosk_by_name(conn, name),
                Batch.model_validate_json(json.dumps(make_batch(events[i : i + 500], store_id=name, boot_id="now"))),
            )
    yield conn
    conn.close()


def test_days_and_months_are_sums_of_hours(months_db):
    for table, cut in (("rollups_day", 10), ("rollups_month", 7)):
        period = "day" if cut == 10 else "month"
        summed = months_db.execute(
            f"SELECT substr(hour, 1, {cut}), kiosk, unit, window, level, misuse, sum(n) FROM rollups"
            f" GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"
        ).fetchall()
        kept = months_db.execute(
            f"SELECT {period}, kiosk, unit, window, level, misuse, n FROM {table} ORDER BY 1, 2, 3, 4, 5, 6"
        ).fetchall()
        assert kept == summed
    assert months_db.execute("SELECT sum(n) FROM rollups").fetchone()[0] == 3000


@pytest.mark.parametrize("group_by", ["unit", "window", "day"])
def test_reading_months_and_days_gives_what_the_hours_give(months_db, group_by):
    import random

    rnd = random.Random(group_by)
    ranges = [
        (None, None),
        (date(2026, 7, 1), date(2026, 8, 31)),
        (date(2026, 7, 15), date(2026, 7, 20)),
        (date(2026, 7, 31), date(2026, 8, 1)),
        (None, date(2026, 9, 30)),
        (date(2026, 8, 2), None),
    ]
    for _ in range(20):
        a = date(2026, 6, 20) + timedelta(days=rnd.randint(0, 140))
        b = a + timedelta(days=rnd.randint(0, 100))
        ranges.append((a, b))
    for lo, hi in ranges:
        fast = report(months_db, date_from=lo, date_to=hi, group_by=group_by).records()
        slow = report(months_db, date_from=lo, date_to=hi, group_by=group_by, source="hour").records()
        assert fast == slow, (lo, hi)


# -- per-unit rollups (issue 15): flat in the number of windows, and equal to what windows give ------


@pytest.fixture(scope="module")
def windows_db(tmp_path_factory):
    """60 windows (one kiosk each, 3 to 5 buttons) in 5 units, presses over ~100 days before now."""
    import random

    rnd = random.Random(15)
    now = time.time()
    path = tmp_path_factory.mktemp("windows") / "c.db"
    conn = dbmod.open_db(path)
    ing = Ingestor(conn, clock=lambda: now)
    for w in range(60):
        name = f"w{w}"
        add_kiosk(conn, name, levels=rnd.choice((3, 4, 5)), unit=f"第{w % 5 + 1}組", window=str(w + 1))
        kiosk = kiosk_by_name(conn, name)
        events = []
        for seq in range(1, rnd.randint(20, 80)):
            when = now - rnd.uniform(0, 100 * 86400)
            extra = {"service": rnd.choice(("A", "B"))} if rnd.random() < 0.5 else {}
            events.append(
                make_event(
                    seq,
                    level=rnd.randint(1, kiosk.levels),
                    misuse=rnd.random() < 0.1,
                    boot_id="old",
                    recorded_at=datetime.fromtimestamp(when, UTC).isoformat(),
                    clock=lambda: now,
                    **extra,
                )
            )
        batch = make_batch(events, store_id=name, boot_id="now", clock=lambda: now)
        ing.ingest(kiosk, Batch.model_validate_json(json.dumps(batch)))
    yield path, now
    conn.close()


def _raw_report(conn, group_by: str, lo: date | None, hi: date | None) -> list[tuple]:
    """The report the slow way: a GROUP BY over the events table itself."""
    levels = dict(conn.execute("SELECT id, levels FROM kiosks"))
    rows: dict[tuple, Row] = {}
    for kiosk, unit, window, level, misuse, corrected in conn.execute(
        "SELECT kiosk, unit, window, level, misuse, corrected_at FROM events WHERE type = 'rating' AND level IS NOT NULL"
    ):
        hour = local_hour(corrected)
        if (lo and hour[:10] < lo.isoformat()) or (hi and hour[:10] > hi.isoformat()):
            continue
        key = {"unit": (unit,), "window": (unit, window), "day": (hour[:10],), "hour": (hour + ":00",)}[group_by]
        rows.setdefault(key, Row(key)).add(level, bool(misuse), 1, levels[kiosk])
    return sorted((r.key, r.levels, r.n, r.misuse, r.happy_index, r.csat) for r in rows.values())


def _as_tuples(rep) -> list[tuple]:
    return sorted((r.key, r.levels, r.n, r.misuse, r.happy_index, r.csat) for r in rep.rows)


@pytest.mark.parametrize("group_by", ["unit", "window", "day", "hour"])
def test_the_report_agrees_with_a_raw_group_by_over_many_windows(windows_db, group_by):
    import random

    path, now = windows_db
    conn = dbmod.open_db(path)
    today = datetime.fromtimestamp(now, UTC).date()
    rnd = random.Random(group_by)
    ranges: list[tuple[date | None, date | None]] = [(None, None), (today - timedelta(days=40), None)]
    for _ in range(8):
        a = today - timedelta(days=rnd.randint(0, 110))
        ranges.append((a, a + timedelta(days=rnd.randint(0, 60))))
    for lo, hi in ranges:
        rep = report(conn, date_from=lo, date_to=hi, group_by=group_by)
        got, want = _as_tuples(rep), _raw_report(conn, group_by, lo, hi)
        # Counts exactly; the Happy Index (rounded to 0.1) within one step: a 3- or 4-button kiosk's
        # per-press values (66.67 …) summed in another order can land either side of a .x5.
        assert [r[:4] + r[5:] for r in got] == [r[:4] + r[5:] for r in want], (lo, hi)
        for g, w in zip(got, want):
            assert (g[4] is None) == (w[4] is None) and abs((g[4] or 0) - (w[4] or 0)) <= 0.1 + 1e-9, (lo, hi, g, w)
    conn.close()


def _rounded(rows) -> list[tuple]:
    """Rows with their float sums rounded: adding in another order may differ in the last bit."""
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in rows]


def test_per_unit_rollups_are_sums_of_the_per_window_ones(windows_db):
    path, _ = windows_db
    conn = dbmod.open_db(path)
    for table, period in (("rollups", "hour"), ("rollups_day", "day"), ("rollups_month", "month")):
        summed = conn.execute(
            f"SELECT r.{period}, r.unit, k.levels, r.level, r.misuse, sum(r.n) FROM {table} r"
            f" JOIN kiosks k ON k.id = r.kiosk GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
        ).fetchall()
        kept = conn.execute(f"SELECT * FROM {UNIT_OF[table]} ORDER BY 1, 2, 3, 4, 5").fetchall()
        assert kept == summed and len(kept) > 0
    for table, (source, key) in UNIT_SAT_TABLES.items():
        keys = ", ".join(key)
        sums = ", ".join(f"sum({f})" for f in SAT_FIELDS)
        summed = conn.execute(f"SELECT {keys}, {sums} FROM {source} GROUP BY {keys} ORDER BY {keys}").fetchall()
        kept = conn.execute(f"SELECT {keys}, {', '.join(SAT_FIELDS)} FROM {table} ORDER BY {keys}").fetchall()
        assert _rounded(kept) == _rounded(summed) and len(kept) > 0
    conn.close()


def test_the_dashboard_reads_the_same_figures_per_unit_as_per_window(windows_db):
    path, now = windows_db
    conn = dbmod.open_db(path)
    today = datetime.fromtimestamp(now, UTC).date()
    for f in (queries.Filter(), queries.Filter(today - timedelta(days=30), today), queries.Filter(unit="第2組")):
        for group in ([], ["unit"], ["service"], ["month"], ["dow", "hod"]):
            fast = queries.satisfaction(conn, f, group)
            # The per-window rows, summed here: a group that names the window reads them.
            per_window = queries.satisfaction(conn, f, [*group, "window"])
            slow: dict[tuple, Figures] = {}
            for key, fig in per_window.items():
                slow.setdefault(key[:-1], Figures()).add(
                    fig.levels, fig.misuse, fig.happy_sum, fig.happy_sq, fig.unhappy
                )
            assert {k: v.as_dict() for k, v in fast.items()} == {k: v.as_dict() for k, v in slow.items()}, (f, group)
    conn.close()


def test_the_migration_backfills_the_per_unit_rollups(windows_db, tmp_path):
    import shutil

    path, _ = windows_db
    copy = tmp_path / "old.db"
    src, dst = sqlite3.connect(path), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    tables = [*UNIT_OF.values(), *UNIT_SAT_TABLES]
    made_by_ingest = {t: dst.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5").fetchall() for t in tables}
    # The database as it was before m510: no per-unit tables, the migration not applied.
    for t in tables:
        dst.execute(f"DROP TABLE {t}")
    dst.execute("DELETE FROM _sqlite_migrations WHERE name = 'm510_unit_rollups'")
    dst.commit()
    dst.close()
    conn = dbmod.open_db(copy)
    for t in tables:
        assert _rounded(conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4, 5").fetchall()) == _rounded(
            made_by_ingest[t]
        )
    conn.close()
    shutil.rmtree(tmp_path, ignore_errors=True)
