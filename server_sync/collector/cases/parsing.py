"""Cases from an import file (CSV, one row per stage) or the admin API's JSON, with every problem found."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server_sync.collector.cases import codes
from server_sync.collector.cases.record import (
    Case,
    CaseError,
    Problem,
    check_case_no,
    check_code,
    check_extension,
    check_text,
    parse_date,
)

COLUMNS = (
    "case_no",
    "case_type",
    "applicant_name",
    "verify_code",
    "stage",
    "stage_date",
    "unit",
    "extension",
    "due_date",
    "closed_date",
)
OPTIONAL_COLUMNS = ("case_type_en", "stage_en", "unit_en")  # English labels, shown on the English screen
REQUIRED_COLUMNS = ("case_no", "case_type", "verify_code", "stage", "stage_date", "unit")
# Fields every row of one case must repeat identically.
CASE_FIELDS = (
    "case_type",
    "case_type_en",
    "applicant_name",
    "verify_code",
    "unit",
    "unit_en",
    "extension",
    "due_date",
    "closed_date",
)

TEMPLATE = (
    "case_no,case_type,applicant_name,verify_code,stage,stage_date,unit,extension,due_date,closed_date\n"
    "113-000123,選舉人名冊查詢,王小明,4821395760,收件,2024-05-01,第一組,1201,2024-05-20,\n"
    "113-000123,選舉人名冊查詢,王小明,4821395760,審核中,2024-05-03,第一組,1201,2024-05-20,\n"
)


@dataclass
class Parsed:
    cases: dict[str, Case]
    problems: list[Problem]
    rows: int
    bad_rows: int
    bad_cases: set[str]


def parse_csv(
    raw: bytes, *, progress: Callable[[int], None] = lambda n: None, min_digits: int = codes.DEFAULT_MIN_DIGITS
) -> Parsed:
    """Every case in the file, and every problem with its line number.

    min_digits: the shortest code taken (the collector setting cases.min_code_digits)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return Parsed(
            {},
            [
                Problem(
                    line,
                    "",
                    "檔案不是 UTF-8 編碼（請在 Excel 另存為「CSV UTF-8」）",
                    'the file is not UTF-8 (in Excel, save as "CSV UTF-8")',
                )
            ],
            0,
            0,
            set(),
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return Parsed({}, [Problem(0, "", "檔案是空的", "the file is empty")], 0, 0, set())
    except csv.Error as exc:
        return Parsed({}, [Problem(1, "", f"標題列無法讀取：{exc}", f"unreadable header: {exc}")], 0, 0, set())
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    dup = sorted({n for n in names if n and names.count(n) > 1 and n in COLUMNS + OPTIONAL_COLUMNS})
    if missing or dup:
        why_zh = (f"缺少欄位 {', '.join(missing)}" if missing else "") + (f" 欄位重複 {', '.join(dup)}" if dup else "")
        why_en = (f"missing column(s) {', '.join(missing)}" if missing else "") + (
            f" repeated column(s) {', '.join(dup)}" if dup else ""
        )
        return Parsed(
            {},
            [
                Problem(
                    1,
                    "",
                    why_zh.strip() + f"（需要 {', '.join(COLUMNS)}）",
                    why_en.strip() + f" (expected {', '.join(COLUMNS)})",
                )
            ],
            0,
            0,
            set(),
        )
    index = {n: i for i, n in enumerate(names) if n in COLUMNS + OPTIONAL_COLUMNS}

    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    cases: dict[str, Case] = {}
    seen_stage: dict[tuple, int] = {}
    stage_lines: dict[str, list[tuple[int, str]]] = {}
    bad_cases: set[str] = set()
    bad_rows = rows = 0
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(start, "", f"無法讀取這一行：{exc}", f"unreadable row: {exc}"))
            bad_rows += 1
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines, as Excel leaves at the end
        rows += 1
        progress(1)
        row_problems: list[Problem] = []
        if len(row) > len(header) and any(c.strip() for c in row[len(header) :]):
            row_problems.append(
                Problem(
                    start,
                    "",
                    f"這一行有 {len(row)} 欄，標題列只有 {len(header)} 欄",
                    f"row has {len(row)} fields, the header {len(header)}",
                )
            )
        values = {name: (row[i] if i < len(row) else "") for name, i in index.items()}
        case, stage, errs = _row_case(values, min_digits)
        for fname, err in errs:
            row_problems.append(Problem(start, fname, err.zh, err.en, case.case_no if case else ""))
        if case is not None and not row_problems:
            prev = cases.get(case.case_no)
            if prev is None:
                cases[case.case_no] = case
                first_line[case.case_no] = start
            else:
                for fname in CASE_FIELDS:
                    if getattr(prev, fname) != getattr(case, fname):
                        m = first_line[case.case_no]
                        row_problems.append(
                            Problem(
                                start,
                                fname,
                                f"同一案件在第 {m} 行的值不同",
                                f"differs from line {m} of the same case",
                                case.case_no,
                            )
                        )
            key = (case.case_no, stage["stage"], stage["date"])
            if key in seen_stage:
                m = seen_stage[key]
                row_problems.append(
                    Problem(
                        start,
                        "stage",
                        f"與第 {m} 行重複（同一階段與日期）",
                        f"repeats line {m} (same stage and date)",
                        case.case_no,
                    )
                )
            if not row_problems:
                seen_stage[key] = start
                cases[case.case_no].stages.append(stage)
                stage_lines.setdefault(case.case_no, []).append((start, stage["date"]))
        if row_problems:
            bad_rows += 1
            problems.extend(row_problems)
            if case is not None and case.case_no:
                bad_cases.add(case.case_no)
    for case_no, case in cases.items():
        if case.closed_date:
            for ln, when in stage_lines.get(case_no, []):
                if when > case.closed_date:
                    problems.append(
                        Problem(
                            ln,
                            "closed_date",
                            f"結案日 {case.closed_date} 早於這一階段的日期",
                            f"closed_date {case.closed_date} is before this stage's date",
                            case_no,
                        )
                    )
                    bad_cases.add(case_no)
                    bad_rows += 1
        _order_stages(case)
    if not rows and not problems:
        problems.append(Problem(0, "", "檔案沒有任何案件", "the file holds no cases"))
    problems.sort(key=lambda p: p.line)
    return Parsed(cases, problems, rows, bad_rows, bad_cases)


def _order_stages(case: Case) -> None:
    # Stable: stages on the same day keep the file's order, so the later line is current.
    case.stages.sort(key=lambda s: s["date"])


def _row_case(values: dict[str, str], min_digits: int) -> tuple[Case | None, dict, list[tuple[str, CaseError]]]:
    errs: list[tuple[str, CaseError]] = []

    def take(name, fn, *args, **kw):
        try:
            return fn(values.get(name, ""), *args, **kw)
        except CaseError as exc:
            errs.append((name, exc))
            return None

    case = _case(take, min_digits)
    stage = {
        "stage": take("stage", check_text, required=True) or "",
        "stage_en": take("stage_en", check_text, required=False) or "",
        "date": take("stage_date", parse_date, required=True) or "",
    }
    return (case if case.case_no else None), stage, errs


def _case(take: Callable[..., Any], min_digits: int) -> Case:
    """A case's own fields (its stages aside), each read and checked by ``take``, which keeps the
    problems where its source says (a CSV line, an API body's item) and gives None for a bad one."""
    return Case(
        case_no=take("case_no", check_case_no) or "",
        case_type=take("case_type", check_text, required=True) or "",
        applicant_name=take("applicant_name", check_text, required=False) or "",
        verify_code=take("verify_code", check_code, min_digits) or "",
        unit=take("unit", check_text, required=True) or "",
        extension=take("extension", check_extension) or "",
        due_date=take("due_date", parse_date, required=False),
        closed_date=take("closed_date", parse_date, required=False),
        case_type_en=take("case_type_en", check_text, required=False) or "",
        unit_en=take("unit_en", check_text, required=False) or "",
    )


def case_from_json(
    item: Any, index: int, min_digits: int = codes.DEFAULT_MIN_DIGITS
) -> tuple[Case | None, list[Problem]]:
    """One case of the admin API's body; problems name the item's index in ``field``."""
    if not isinstance(item, dict):
        return None, [Problem(0, f"cases.{index}", "應為物件", "expected an object")]
    errs: list[Problem] = []

    def take(name, fn, *args, **kw):
        try:
            return fn(item.get(name), *args, **kw)
        except CaseError as exc:
            errs.append(Problem(0, f"cases.{index}.{name}", exc.zh, exc.en))
            return None

    case = _case(take, min_digits)
    stages = item.get("stages")
    if not isinstance(stages, list) or not stages:
        errs.append(Problem(0, f"cases.{index}.stages", "至少要有一個階段", "expected a list of at least one stage"))
        stages = []
    for j, st in enumerate(stages):
        if not isinstance(st, dict):
            errs.append(Problem(0, f"cases.{index}.stages.{j}", "應為物件", "expected an object"))
            continue
        entry = {}
        for key, src, fn, kw in (
            ("stage", "stage", check_text, {"required": True}),
            ("stage_en", "stage_en", check_text, {"required": False}),
            ("date", "date", parse_date, {"required": True}),
        ):
            try:
                entry[key] = fn(st.get(src), **kw) or ""
            except CaseError as exc:
                errs.append(Problem(0, f"cases.{index}.stages.{j}.{src}", exc.zh, exc.en))
        case.stages.append(entry)
    if not errs and case.closed_date and any(s["date"] > case.closed_date for s in case.stages):
        errs.append(
            Problem(0, f"cases.{index}.closed_date", "結案日早於某一階段的日期", "closed_date is before a stage's date")
        )
    if errs:
        return None, errs
    _order_stages(case)
    return case, errs
