"""Cases from the collector to the kiosk through a real `kiosk-collector serve` on loopback:
only masked names and salted hashes arrive (byte scan of kiosk.db and its WAL), updates and
removals follow, closed cases leave after their days, lookups work with the collector gone."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
from casehelp import case_rows, collector_with, csv_bytes
from synchelp import KIOSK_ID, Collector

from kiosk.lookup import CaseLookup
from kiosk.outbox import sync_client
from kiosk.store import Store
from server_sync.collector import masking
from server_sync.collector.cases import pull, storing

SURNAMES = "林陳黃張李王吳劉蔡楊"
UNITS = ("第一組",)  # the unit of every case in these tests, and of the test kiosk
GIVEN = "怡君雅婷家豪志偉淑芬美玲俊傑宗翰佩珊建宏"


def people(n: int, seed: int = 4):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN[::2]) + rng.choice(GIVEN[1::2])
        if i % 7 == 0:
            name = "歐陽" + name[1:]
        if i % 9 == 0:
            name = rng.choice(["Olivia", "Kacper", "Zuzanna"]) + " " + rng.choice(["Kowalczyk", "Brzezinski"])
        code = rng.choice("123456789") + "".join(rng.choice("0123456789") for _ in range(9))
        out.append((f"113-{i + 1:06d}", name, code))
    return out


@pytest.fixture
def collector(tmp_path):
    c = Collector(tmp_path / "collector")
    c.workdir.mkdir()
    c.token = c.add_kiosk(KIOSK_ID)
    c.cli("set-kiosk", KIOSK_ID, "--unit", "第一組")  # the unit whose cases it holds
    yield c
    c.stop()


def write_cases(path: Path, persons, *, closed=None, stage_extra=()):
    rows = []
    for case_no, name, code in persons:
        rows += case_rows(
            case_no,
            name=name,
            code=code,
            stages=(("收件", "2024-05-01"), *stage_extra),
            closed=(closed or {}).get(case_no, ""),
        )
    path.write_bytes(csv_bytes(rows, bom=True))


def sync(data_dir, collector):
    client = sync_client(collector.url, collector.token, data_dir)
    try:
        return client.run_round()
    finally:
        client.close()


def kiosk_cases(data_dir) -> dict[str, tuple]:
    conn = sqlite3.connect(data_dir / "kiosk.db")
    try:
        return {r[0]: r[1:] for r in conn.execute("SELECT case_no, name, stages, revision FROM cases")}
    finally:
        conn.close()


def test_only_masked_data_reaches_the_kiosk_file_and_its_wal(collector, tmp_path):
    persons = people(40)
    f = tmp_path / "cases.csv"
    write_cases(f, persons)
    collector.cli("import-cases", str(f))
    collector.start()
    data = tmp_path / "kiosk"
    running = Store(data, kiosk_id=KIOSK_ID)  # the kiosk app keeps its file open: the WAL stays as it is

    # What the API sends already holds neither names nor codes.
    answer = requests.get(
        f"{collector.url}/api/v1/cases", headers={"Authorization": f"Bearer {collector.token}"}, timeout=10
    )
    assert answer.status_code == 200 and len(answer.json()["changes"]) == 40
    assert requests.get(f"{collector.url}/api/v1/cases", timeout=10).status_code == 401

    result = sync(data, collector)
    assert result.ok and result.cases_error is None and result.cases_changed == 40

    files = [data / "kiosk.db", data / "kiosk.db-wal"]
    assert files[1].exists() and files[1].stat().st_size > 0, "expected the sync to sit in the WAL"
    blobs = [answer.content] + [p.read_bytes() for p in files]
    whole = b"".join(blobs[1:])
    for case_no, name, code in persons:
        secrets = [name.encode(), code.encode()]
        if not name.isascii():
            secrets.append(name[1:].encode())  # the given name alone
        else:
            secrets += [part.encode() for part in name.split()]
        for blob in blobs:
            for secret in secrets:
                assert secret not in blob, f"{secret.decode()!r} of {case_no} found"
        assert masking.mask_name(name).encode() in whole  # control: the scan does see the stored names
        assert case_no.encode() in whole

    collector.stop()  # offline from here on
    store = running
    service = CaseLookup(store)
    case_no, name, code = persons[7]
    found = service.lookup(case_no, code)
    assert found.result == "found" and found.case.name == masking.mask_name(name) == "歐○○○"
    assert service.lookup(case_no, str(int(code) ^ 1).zfill(10)).result == "not_found"
    service.close()
    store.close()


def test_updates_removals_and_closing_reach_the_kiosk(collector, tmp_path):
    today = date.today()
    persons = people(6, seed=9)
    f = tmp_path / "cases.csv"
    closed = {
        persons[4][0]: (today - timedelta(days=10)).isoformat(),
        persons[5][0]: (today - timedelta(days=40)).isoformat(),
    }
    write_cases(f, persons, closed=closed)
    # Stages must not be after closing: give the closed ones their own dates.
    collector.cli("import-cases", str(f))
    collector.start()
    data = tmp_path / "kiosk"
    Store(data, kiosk_id=KIOSK_ID).close()
    sync(data, collector)
    held = kiosk_cases(data)
    assert set(held) == {p[0] for p in persons[:5]}  # closed 40 days ago: never sent

    # A new stage for case 0, case 1 missing from a full export, and case 2 removed via the API.
    write_cases(f, [persons[0], *persons[2:]], closed=closed, stage_extra=(("審核中", "2024-05-03"),))
    out = collector.cli("import-cases", str(f), "--remove-missing")
    assert "removed 1" in out
    admin = collector.cli("add-api-token", "case-system").strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {admin}"}
    put = requests.put(
        f"{collector.url}/api/v1/admin/cases",
        headers=headers,
        timeout=60,
        json={
            "cases": [
                {
                    "case_no": "114-000001",
                    "case_type": "候選人登記",
                    "applicant_name": "諸葛亮",
                    "verify_code": "7301928465",
                    "unit": "第一組",
                    "extension": "1202",
                    "stages": [
                        {"stage": "收件", "date": "2025-01-02"},
                        {"stage": "審核", "stage_en": "Review", "date": "2025-01-05"},
                    ],
                }
            ],
            "remove": [persons[2][0]],
        },
    )
    assert put.status_code == 200, put.text
    assert put.json()["added"] == 1 and put.json()["removed"] == 1
    result = sync(data, collector)
    assert result.cases_error is None
    held = kiosk_cases(data)
    assert set(held) == {persons[0][0], persons[3][0], persons[4][0], "114-000001"}
    assert "審核中" in held[persons[0][0]][1]
    assert held["114-000001"][0] == "諸○○"

    # Fewer days kept: the case closed 10 days ago leaves the kiosks on the next round.
    collector.cli("set-setting", "cases.keep_closed_days", "5")
    assert sync(data, collector).cases_changed >= 1
    assert persons[4][0] not in kiosk_cases(data)
    # Nothing changed: a round pulls nothing.
    assert sync(data, collector).cases_changed == 0

    # The admin API refuses bad tokens and names every bad field.
    assert (
        requests.put(
            f"{collector.url}/api/v1/admin/cases",
            json={"cases": []},
            timeout=10,
            headers={"Authorization": f"Bearer {collector.token}"},
        ).status_code
        == 401
    )
    bad = requests.put(
        f"{collector.url}/api/v1/admin/cases",
        headers=headers,
        timeout=10,
        json={
            "cases": [
                {
                    "case_no": "X-1",
                    "case_type": "t",
                    "verify_code": "12",
                    "unit": "u",
                    "stages": [{"stage": "s", "date": "2025-02-30"}],
                }
            ]
        },
    )
    assert bad.status_code == 422
    locs = [".".join(map(str, d["loc"])) for d in bad.json()["detail"]]
    assert locs == ["body.cases.0.verify_code", "body.cases.0.stages.0.date"]


def test_a_closed_case_disappears_after_its_days_on_the_collectors_clock(tmp_path):
    """The collector's 'now' controlled by the test: day 30 after closing still shown, day 31 not."""
    rows = case_rows("C-1", code="5678012349", stages=(("結案", "2024-05-01"),), closed="2024-05-01")
    t0 = datetime(2024, 5, 2, 4, 0, tzinfo=UTC).timestamp()
    conn = collector_with(tmp_path / "c.db", rows, now=t0)
    first = pull.delta(conn, 0, units=UNITS)
    assert [c["case_no"] for c in first["changes"]] == ["C-1"]
    assert first["changes"][0]["hide_after"] == "2024-05-31"
    day = 86400
    assert storing.refresh(conn, t0 + 29 * day) == 0  # 2024-05-31 in Taipei: still kept
    assert pull.delta(conn, first["revision"], units=UNITS)["changes"] == []
    assert storing.refresh(conn, t0 + 30 * day) == 1  # 2024-06-01
    gone = pull.delta(conn, first["revision"], units=UNITS)
    assert gone["changes"] == [{"case_no": "C-1", "revision": first["revision"] + 1, "removed": True}]
    assert pull.delta(conn, 0, units=UNITS)["changes"] == []  # a new kiosk never sees it
