"""Personal data kept only as long as needed (issue 11, points 12-14), through a real
`kiosk-collector` process and the real kiosk code: weak codes refused and strong ones
generated, each kiosk holding only its unit's cases, removed and purged cases unreadable in
the collector's file and its WAL, and case_lookup events without the case number."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import time
from datetime import date, timedelta

import pytest
import requests
import sqlite_utils
from casehelp import case_rows, collector_with, csv_bytes, kiosk_with_cases
from click.testing import CliRunner
from synchelp import KIOSK_ID, Collector, collector_command

from kiosk.lookup import CaseLookup
from kiosk.outbox import sync_client
from kiosk.store import Store
from server_sync.collector import db as dbmod
from server_sync.collector.cases import codes, parsing, pull, storing
from server_sync.collector.cli import main as collector_cli


@pytest.fixture
def collector(tmp_path):
    c = Collector(tmp_path / "collector")
    c.workdir.mkdir()
    c.token = c.add_kiosk(KIOSK_ID)
    yield c
    c.stop()


def cli(db, *args):
    return CliRunner().invoke(collector_cli, [*args, "--db", str(db)])


def sync(data_dir, collector, token=None):
    client = sync_client(collector.url, token or collector.token, data_dir)
    try:
        result = client.run_round()
    finally:
        client.close()
    assert result.cases_error is None, result.cases_error
    return result


def held(data_dir) -> set[str]:
    conn = sqlite3.connect(data_dir / "kiosk.db")
    try:
        return {r[0] for r in conn.execute("SELECT case_no FROM cases")}
    finally:
        conn.close()


def file_bytes(db) -> bytes:
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


# -- 12. strong codes -------------------------------------------------------------------------------


def test_a_weak_code_is_refused_naming_its_row_and_the_rule(tmp_path):
    db, f = tmp_path / "c.db", tmp_path / "cases.csv"
    f.write_bytes(csv_bytes([*case_rows("A-1"), *case_rows("B-2", code="12345678")]))
    out = cli(db, "import-cases", str(f))
    assert out.exit_code != 0 and "nothing imported" in out.output
    assert "第 3 行 line 3 (B-2) [verify_code]" in out.output
    assert "cases.min_code_digits" in out.output and "至少需 10 位數字" in out.output and "at least 10" in out.output
    assert dbmod.open_db(db).execute("SELECT count(*) FROM cases").fetchone()[0] == 0
    # An office that knowingly accepts 8 digits says so in the setting.
    assert cli(db, "admin-setting", "cases.min_code_digits", "8").exit_code == 0
    assert cli(db, "import-cases", str(f)).exit_code == 0
    assert cli(db, "admin-setting", "cases.min_code_digits", "3").exit_code != 0


def test_the_admin_api_refuses_weak_codes_too(collector):
    collector.start()
    admin = collector.cli("add-api-token", "case-system").strip().splitlines()[-1]
    case = {
        "case_no": "A-1",
        "case_type": "t",
        "verify_code": "4821",
        "unit": "第一組",
        "stages": [{"stage": "收件", "date": "2025-01-02"}],
    }
    r = requests.put(
        f"{collector.url}/api/v1/admin/cases",
        json={"cases": [case]},
        timeout=30,
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert [d["loc"] for d in detail] == [["body", "cases", "0", "verify_code"]]
    assert "cases.min_code_digits" in detail[0]["msg"]


def test_generated_codes_fill_the_empty_column_one_per_case_and_work_on_a_kiosk(tmp_path):
    db, f = tmp_path / "c.db", tmp_path / "cases.csv"
    rows = [
        *case_rows("A-1", code="", stages=(("收件", "2024-05-01"), ("審核中", "2024-05-03"))),
        *case_rows("B-2", code=""),
        *case_rows("C-3", code="7301928465"),
    ]
    f.write_bytes(csv_bytes(rows, bom=True))
    assert cli(db, "import-cases", str(f)).exit_code != 0  # empty codes are refused, not guessed

    out = cli(db, "generate-codes", str(f))
    assert out.exit_code == 0, out.output
    assert "generated codes for 2 cases (3 rows, 10 digits each)" in out.output
    raw = f.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # still opens in Excel as UTF-8
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    got = {}
    for row in table:
        got.setdefault(row["case_no"], set()).add(row["verify_code"])
    assert got["C-3"] == {"7301928465"}  # a code given is kept
    (a,), (b,) = got["A-1"], got["B-2"]  # one code per case, on every row of it
    assert a != b and all(len(c) == 10 and c.isdigit() and c[0] != "0" for c in (a, b))
    assert len({codes.generate() for _ in range(200)}) == 200
    assert cli(db, "import-cases", str(f)).exit_code == 0

    conn = dbmod.open_db(db)
    data = tmp_path / "kiosk"
    kiosk_with_cases(conn, data)
    store = Store(data, kiosk_id="w1")
    service = CaseLookup(store)
    try:
        assert service.lookup("A-1", a).result == "found"
        assert service.lookup("B-2", a).result == "not_found"
    finally:
        service.close()
        store.close()


def test_each_kiosk_holds_only_the_cases_of_its_unit(collector, tmp_path):
    f = tmp_path / "cases.csv"
    f.write_bytes(
        csv_bytes(
            [
                *case_rows("A-1", unit="第一組"),
                *case_rows("A-2", unit="第一組"),
                *case_rows("B-1", unit="第二組", name="林志強"),
            ]
        )
    )
    collector.cli("import-cases", str(f))
    other = collector.add_kiosk("no-unit")
    collector.cli("set-kiosk", KIOSK_ID, "--unit", "第一組")
    collector.start()
    k1, k0 = tmp_path / "k1", tmp_path / "k0"
    Store(k1, kiosk_id=KIOSK_ID).close()
    Store(k0, kiosk_id="no-unit").close()
    sync(k1, collector)
    sync(k0, collector, token=other)
    assert held(k1) == {"A-1", "A-2"} and held(k0) == set()  # a kiosk with no unit gets none
    assert "林志強".encode() not in (k1 / "kiosk.db").read_bytes()

    # A case moved to another unit leaves the kiosk.
    f.write_bytes(
        csv_bytes(
            [
                *case_rows("A-1", unit="第一組"),
                *case_rows("A-2", unit="第二組"),
                *case_rows("B-1", unit="第二組", name="林志強"),
            ]
        )
    )
    collector.cli("import-cases", str(f))
    sync(k1, collector)
    assert held(k1) == {"A-1"}

    # The kiosk now serves another unit: a full re-sync, nothing of the old unit left.
    collector.cli("set-kiosk", KIOSK_ID, "--unit", "第二組")
    sync(k1, collector)
    assert held(k1) == {"A-2", "B-1"}
    assert sync(k1, collector).cases_changed == 0


# -- 13. retention ------------------------------------------------------------------------------------


def test_removed_and_purged_cases_are_unreadable_in_the_file_and_its_wal(collector, tmp_path):
    today = date.today()
    f = tmp_path / "cases.csv"
    closed = (today - timedelta(days=200)).isoformat()
    f.write_bytes(
        csv_bytes(
            [
                *case_rows("A-1", name="諸葛孔明", code="7301928465"),
                *case_rows("B-2", name="司馬懿仲達", code="5820194736", closed=closed),
                *case_rows("C-3", name="王小明", code="4829105736"),
            ]
        )
    )
    collector.cli("import-cases", str(f))
    collector.cli("set-kiosk", KIOSK_ID, "--unit", "第一組")
    collector.start()
    db = collector.db
    whole = file_bytes(db)
    for name in ("諸葛孔明", "司馬懿仲達"):  # control: the scan sees stored names
        assert name.encode() in whole
    for code in ("7301928465", "5820194736", "4829105736"):  # no plain code is kept, ever
        assert code.encode() not in whole

    # Removed through the admin API of the running collector.
    admin = collector.cli("add-api-token", "case-system").strip().splitlines()[-1]
    r = requests.put(
        f"{collector.url}/api/v1/admin/cases",
        json={"remove": ["A-1"]},
        timeout=30,
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert r.status_code == 200 and r.json()["removed"] == 1
    # Closed 200 days ago: purged once the office keeps closed cases 100 days, at the next kiosk pull.
    collector.cli("admin-setting", "cases.purge_closed_days", "100")
    answer = requests.get(
        f"{collector.url}/api/v1/cases", headers={"Authorization": f"Bearer {collector.token}"}, timeout=30
    )
    assert answer.status_code == 200
    whole = file_bytes(db)
    for name in ("諸葛孔明", "司馬懿仲達"):
        assert name.encode() not in whole, f"{name} still readable in {db.name} or its WAL"
    assert "王小明".encode() in whole  # an open case stays
    conn = sqlite3.connect(db)
    assert conn.execute(
        "SELECT removed, applicant_name, hash, closed_date, source FROM cases WHERE case_no='B-2'"
    ).fetchone() == (1, "", None, None, "purge")
    conn.close()


def test_closed_cases_are_purged_a_year_after_closing_on_the_collectors_clock(tmp_path):
    t0 = time.time()
    closed = storing.today_in_office(t0) - timedelta(days=20)
    rows = case_rows("C-1", stages=(("結案", closed.isoformat()),), closed=closed.isoformat())
    conn = collector_with(tmp_path / "c.db", rows, now=t0)
    day = 86400
    storing.refresh(conn, t0 + (365 - 20) * day)
    assert conn.execute("SELECT applicant_name FROM cases").fetchone() == ("王小明",)
    before = storing.revision(conn)
    assert storing.refresh(conn, t0 + (365 - 20 + 1) * day) == 1  # 366 days after closing
    assert conn.execute("SELECT removed, applicant_name, stages FROM cases").fetchone() == (1, "", "[]")
    # A kiosk that still held it learns of the removal; importing it again stores nothing.
    assert pull.delta(conn, before, units=("第一組",))["changes"] == [
        {"case_no": "C-1", "revision": before + 1, "removed": True}
    ]
    again = storing.apply_cases(conn, parsing.parse_csv(csv_bytes(rows)).cases.values(), now=t0 + 400 * day)
    assert again.added == 0 and storing.revision(conn) == before + 1


def test_plain_codes_only_when_a_setting_asks(tmp_path):
    db, f = tmp_path / "c.db", tmp_path / "cases.csv"
    f.write_bytes(csv_bytes(case_rows("A-1", code="7301928465")))
    assert cli(db, "admin-setting", "cases.keep_plain_codes", "true").exit_code == 0
    assert cli(db, "import-cases", str(f)).exit_code == 0
    assert b"7301928465" in file_bytes(db)
    assert cli(db, "admin-setting", "cases.keep_plain_codes", "false").exit_code == 0
    out = cli(db, "purge-cases")
    assert out.exit_code == 0 and "1 plain codes blanked" in out.output
    assert b"7301928465" not in file_bytes(db)
    again = cli(db, "import-cases", str(f))  # told apart by its hash: still unchanged
    assert "unchanged 1" in again.output


# -- 14. case_lookup events -------------------------------------------------------------------------


def test_lookup_events_reach_the_collector_without_the_case_number(collector, tmp_path):
    f = tmp_path / "cases.csv"
    f.write_bytes(csv_bytes(case_rows("113-000123", code="7301928465")))
    collector.cli("import-cases", str(f))
    collector.cli("set-kiosk", KIOSK_ID, "--unit", "第一組")
    collector.start()
    data = tmp_path / "kiosk"
    store = Store(data, kiosk_id=KIOSK_ID)
    sync(data, collector)
    service = CaseLookup(store)
    assert service.lookup("113-000123", "7301928465").result == "found"
    assert service.lookup("113-000123", "1111111111").result == "not_found"
    # An older kiosk's event, with the number in it.
    store.append("case_lookup", detail={"result": "found", "case_no": "113-000123", "source": "screen"})
    service.close()
    sync(data, collector)
    store.close()
    lookups = [e for e in collector.events() if e["type"] == "case_lookup"]
    assert [e["result"] for e in lookups] == ["found", "not_found", "found"]
    assert all("case_no" not in e and "113-000123" not in json.dumps(e) for e in lookups)


def test_the_upgrade_strips_case_numbers_and_plain_codes_already_stored(tmp_path):
    path = tmp_path / "c.db"
    db = sqlite_utils.Database(dbmod.connect(path))
    dbmod.migrations.apply(db, stop_before="m401_case_privacy")
    db.execute("INSERT INTO kiosks (id, name, token_hash, levels, created_at) VALUES (1, 'w1', 'h', 5, 'x')")
    db.execute(
        "INSERT INTO events (kiosk, store_id, id, seq, type, kiosk_id, unit, window, level, misuse, ref,"
        " recorded_at, boot_id, monotonic, detail, corrected_at, time_suspect, received_at) VALUES"
        " (1, 's', 'e1', 1, 'case_lookup', 'w1', 'u', '1', NULL, 0, NULL, 'x', 'b', 1.0, ?, 1.0, 0, 'x')",
        [json.dumps({"result": "found", "case_no": "113-000123", "source": "screen"})],
    )
    db.execute(
        "INSERT INTO cases (case_no, revision, published, case_type, applicant_name, name_masked,"
        " verify_code, stages, unit, content_hash, updated_at, source)"
        " VALUES ('A-1', 1, 1, 't', '王小明', '王○○', '5678', '[]', 'u', 'h', 'x', 'csv')"
    )
    db.conn.close()
    conn = dbmod.open_db(path)
    assert json.loads(conn.execute("SELECT detail FROM events").fetchone()[0]) == {
        "result": "found",
        "source": "screen",
    }
    assert conn.execute("SELECT verify_code FROM cases").fetchone() == ("",)
    conn.close()


def test_the_generate_codes_command_is_installed(tmp_path):
    f = tmp_path / "c.csv"
    f.write_bytes(csv_bytes(case_rows("A-1", code="")))
    out = subprocess.run(
        [*collector_command(), "generate-codes", str(f), "--db", str(tmp_path / "c.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert len(list(csv.DictReader(io.StringIO(f.read_text("utf-8"))))[0]["verify_code"]) == 10
