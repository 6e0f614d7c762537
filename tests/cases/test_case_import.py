"""`kiosk-collector import-cases`: every bad row reported with its line, all or nothing,
idempotent, with or without BOM; the admin push API shares the rules."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest
from casehelp import case_rows, csv_bytes
from click.testing import CliRunner

from server_sync.collector.cases import parsing
from server_sync.collector.cli import main as collector_cli
from server_sync.wire import cases as wire_cases


def run(db, *args):
    return CliRunner().invoke(collector_cli, ["import-cases", *args, "--db", str(db)])


def stored(db) -> dict[str, tuple]:
    if not db.exists():
        return {}
    conn = sqlite3.connect(db)
    try:
        return {
            r[0]: r[1:]
            for r in conn.execute("SELECT case_no, revision, removed, published, name_masked, stages FROM cases")
        }
    finally:
        conn.close()


def test_template_prints_header_and_an_example_that_imports(tmp_path):
    result = CliRunner().invoke(collector_cli, ["import-cases", "--template"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines[0].split(",") == list(parsing.COLUMNS)
    f = tmp_path / "t.csv"
    f.write_text(result.output, encoding="utf-8")
    assert run(tmp_path / "c.db", str(f)).exit_code == 0
    assert stored(tmp_path / "c.db")["113-000123"][3] == "王○○"


BAD_ROWS = [
    # (row overrides, field named in the report)
    ({"case_no": ""}, "case_no"),
    ({"case_no": "113/0001"}, "case_no"),
    ({"case_type": ""}, "case_type"),
    ({"verify_code": ""}, "verify_code"),
    ({"verify_code": "12a4"}, "verify_code"),
    ({"verify_code": "123"}, "verify_code"),
    ({"verify_code": "0912345678"}, "verify_code"),
    ({"stage": ""}, "stage"),
    ({"stage_date": "tomorrow"}, "stage_date"),
    ({"stage_date": "2024-02-30"}, "stage_date"),
    ({"unit": ""}, "unit"),
    ({"extension": "ext 12"}, "extension"),
    ({"due_date": "2024-13-01"}, "due_date"),
    ({"closed_date": "1890-01-01"}, "closed_date"),
    ({"applicant_name": "王小明 A123456789"}, "applicant_name"),
    ({"case_type": "call 0912-345-678"}, "case_type"),
]


@pytest.mark.parametrize("override,field", BAD_ROWS, ids=[f"{f}:{o[f]!r}" for o, f in BAD_ROWS])
def test_each_kind_of_bad_row_is_named_with_its_line(override, field):
    good = case_rows("A-1", code="5678012349")
    bad = case_rows("B-2", code="4321098765")[0] | override
    parsed = parsing.parse_csv(csv_bytes([*good, bad, *case_rows("C-3", code="8765012349")]))
    assert [(p.line, p.field) for p in parsed.problems] == [(3, field)], [str(p) for p in parsed.problems]
    assert "第 3 行 line 3" in str(parsed.problems[0])


def test_rows_of_one_case_must_agree_and_not_repeat():
    rows = case_rows("A-1", stages=(("收件", "2024-05-01"), ("審核", "2024-05-02")))
    rows[1]["applicant_name"] = "王大明"
    rows.append(dict(rows[0]))  # the same stage and date again
    parsed = parsing.parse_csv(csv_bytes(rows))
    got = [(p.line, p.field) for p in parsed.problems]
    assert got == [(3, "applicant_name"), (4, "stage")], [str(p) for p in parsed.problems]
    assert "line 2" in parsed.problems[0].en


def test_closing_before_a_stage_and_whole_file_problems():
    rows = case_rows("A-1", stages=(("收件", "2024-05-01"), ("結案", "2024-05-09")), closed="2024-05-05")
    parsed = parsing.parse_csv(csv_bytes(rows))
    assert [(p.line, p.field) for p in parsed.problems] == [(3, "closed_date")]
    assert parsing.parse_csv(b"").problems[0].en == "the file is empty"
    no_code = csv_bytes(case_rows("A-1"), header=[c for c in parsing.COLUMNS if c != "verify_code"])
    assert "verify_code" in parsing.parse_csv(no_code).problems[0].en
    big5 = csv_bytes(case_rows("A-1")).decode("utf-8").encode("big5")
    problem = parsing.parse_csv(big5).problems[0]
    assert problem.line == 2 and "UTF-8" in problem.en
    extra = (
        csv_bytes(case_rows("A-1"), header=list(parsing.COLUMNS))
        .replace(b"\r\n", b",surplus\r\n")
        .replace(b"closed_date,surplus", b"closed_date")
    )
    assert "fields" in parsing.parse_csv(extra).problems[0].en


def test_a_file_with_errors_imports_nothing_unless_skip_invalid(tmp_path):
    db = tmp_path / "c.db"
    rows = [*case_rows("A-1", code="5678012349"), *case_rows("B-2", code="12"), *case_rows("C-3", code="8765012349")]
    f = tmp_path / "cases.csv"
    f.write_bytes(csv_bytes(rows))
    result = run(db, str(f))
    assert result.exit_code == 1
    assert "第 3 行 line 3 (B-2) [verify_code]" in result.output
    assert "nothing imported" in result.output
    assert stored(db) == {}
    result = run(db, str(f), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert set(stored(db)) == {"A-1", "C-3"}


def test_reimport_changes_nothing_and_bom_does_not_matter(tmp_path):
    db = tmp_path / "c.db"
    rows = [
        *case_rows("A-1", stages=(("收件", "2024/5/1"), ("審核中", "113/05/03"))),
        *case_rows("B-2", name="歐陽小明", code="9081726354", closed=(date.today() - timedelta(days=10)).isoformat()),
    ]
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    plain.write_bytes(csv_bytes(rows))
    bom.write_bytes(csv_bytes(rows, bom=True))
    assert run(db, str(plain)).exit_code == 0
    first = stored(db)
    assert (
        first["A-1"][4] == '[{"stage": "收件", "stage_en": "", "date": "2024-05-01"}, '
        '{"stage": "審核中", "stage_en": "", "date": "2024-05-03"}]'
    )
    again = run(db, str(bom))
    assert again.exit_code == 0 and "unchanged 2" in again.output
    assert stored(db) == first  # same revisions: nothing for kiosks to pull
    # One changed stage: only that case gets a new revision.
    rows.append(case_rows("A-1", stages=(("核發", "2024-05-06"),))[0])
    plain.write_bytes(csv_bytes(rows))
    out = run(db, str(plain))
    assert "updated 1" in out.output and "unchanged 1" in out.output
    now = stored(db)
    assert now["B-2"] == first["B-2"] and now["A-1"][0] > max(r[0] for r in first.values())


def test_remove_missing_treats_the_file_as_the_full_set(tmp_path):
    db = tmp_path / "c.db"
    f = tmp_path / "all.csv"
    f.write_bytes(csv_bytes([*case_rows("A-1"), *case_rows("B-2", code="5678012349")]))
    run(db, str(f))
    f.write_bytes(csv_bytes(case_rows("A-1")))
    out = run(db, str(f), "--remove-missing")
    assert out.exit_code == 0 and "removed 1" in out.output
    conn = sqlite3.connect(db)
    gone = conn.execute("SELECT removed, applicant_name, verify_code, hash FROM cases WHERE case_no='B-2'").fetchone()
    assert gone == (1, "", "", None)  # a removed case keeps no personal data


def test_the_secret_is_stored_as_a_salted_scrypt_hash_with_its_costs(tmp_path):
    db = tmp_path / "c.db"
    f = tmp_path / "c.csv"
    f.write_bytes(csv_bytes([*case_rows("A-1", code="5678012349"), *case_rows("B-2", code="5678012349")]))
    run(db, str(f))
    conn = sqlite3.connect(db)
    (k1, s1, h1), (k2, s2, h2) = conn.execute("SELECT kdf, salt, hash FROM cases ORDER BY case_no")
    assert k1 == k2 == "scrypt:8192:8:1"
    assert s1 != s2 and h1 != h2  # per-case salt: equal codes do not show as equal hashes
    assert wire_cases.hash_code("5678012349", s1) == h1
