"""Cases at the collector: validation, import, revisions, privacy, and the delta the kiosks pull.

What the collector keeps: every field of the CSV or the admin API, including the
applicant's full name and the plain verification secret. It needs them: masking
rules or hash costs may change later, and only the plain values can be masked or
hashed again. What leaves it (``GET /api/v1/cases``): the masked name and a salted
scrypt hash of the secret, never the name, the secret, an ID number or a phone
number (validation refuses rows that carry one in any field).

Every change to a case (added, changed, removed, hidden after closing, shown
again) takes the next number of one revision counter; a kiosk asks for the
changes after the last revision it holds.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import secrets
import sqlite3
import threading
import unicodedata
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server_sync.collector.masking import mask_name

OFFICE_TZ = ZoneInfo("Asia/Taipei")
COLUMNS = ("case_no", "case_type", "applicant_name", "verify_code", "stage", "stage_date", "unit",
           "extension", "due_date", "closed_date")
OPTIONAL_COLUMNS = ("case_type_en", "stage_en", "unit_en")  # English labels, shown on the English screen
REQUIRED_COLUMNS = ("case_no", "case_type", "verify_code", "stage", "stage_date", "unit")
# Fields every row of one case must repeat identically.
CASE_FIELDS = ("case_type", "case_type_en", "applicant_name", "verify_code", "unit", "unit_en", "extension",
               "due_date", "closed_date")

# scrypt N=2**13, r=8, p=1 (8 MiB): 20 ms on the development machine's Xeon core,
# so about 80-120 ms on a Pi 4 core (4-6x slower). See docs/cases.md.
KDF = ("scrypt", 1 << 13, 8, 1)
KEEP_CLOSED_DAYS = 30  # default of the collector setting cases.keep_closed_days
KEEP_SETTING = "cases.keep_closed_days"
MAX_PAGE = 10_000
DEFAULT_PAGE = 2_000
MAX_PUSH = 1_000

TEMPLATE = (
    "case_no,case_type,applicant_name,verify_code,stage,stage_date,unit,extension,due_date,closed_date\n"
    "113-000123,選舉人名冊查詢,王小明,5678,收件,2024-05-01,第一組,1201,2024-05-20,\n"
    "113-000123,選舉人名冊查詢,王小明,5678,審核中,2024-05-03,第一組,1201,2024-05-20,\n"
)

_CASE_NO = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
_EXTENSION = re.compile(r"^[0-9#*\-]{1,12}$")
_DATE = re.compile(r"^(\d{2,4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
# Personal numbers that must never be imported, let alone sent to a kiosk.
_NATIONAL_ID = re.compile(r"[A-Z][12890ABCD]\d{8}")  # ID card, and resident certificates old and new
_MOBILE = re.compile(r"09\d{2}[- ]?\d{3}[- ]?\d{3}")
MAX_TEXT = 80


class CaseError(ValueError):
    """A value that cannot be taken; ``zh`` and ``en`` say why."""

    def __init__(self, zh: str, en: str):
        self.zh, self.en = zh, en
        super().__init__(f"{zh} / {en}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: a CSV line (0 for the whole file) or an API item."""

    line: int
    field: str
    zh: str
    en: str
    case_no: str = ""

    def __str__(self) -> str:
        where = f"第 {self.line} 行 line {self.line}" if self.line else "檔案 file"
        what = f" [{self.field}]" if self.field else ""
        case = f" ({self.case_no})" if self.case_no else ""
        return f"{where}{case}{what}: {self.zh} / {self.en}"


@dataclass
class Case:
    case_no: str
    case_type: str
    applicant_name: str
    verify_code: str
    unit: str
    extension: str = ""
    due_date: str | None = None
    closed_date: str | None = None
    case_type_en: str = ""
    unit_en: str = ""
    stages: list[dict[str, str]] = field(default_factory=list)  # {"stage", "stage_en", "date"}, oldest first

    def content(self) -> dict[str, Any]:
        return {"case_no": self.case_no, "case_type": self.case_type, "case_type_en": self.case_type_en,
                "applicant_name": self.applicant_name, "verify_code": self.verify_code, "unit": self.unit,
                "unit_en": self.unit_en, "extension": self.extension, "due_date": self.due_date,
                "closed_date": self.closed_date, "stages": self.stages}

    def fingerprint(self) -> str:
        raw = json.dumps(self.content(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


# -- field rules -------------------------------------------------------------------------
def _clean(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CaseError("應為文字", "expected text")
    return " ".join(unicodedata.normalize("NFKC", value).split())


def _guard_personal(text: str) -> None:
    upper = text.upper()
    if _NATIONAL_ID.search(upper):
        raise CaseError("含有疑似身分證或居留證號碼，為保護個資不予匯入",
                        "contains what looks like a national ID number; not taken, to protect personal data")
    if _MOBILE.search(upper):
        raise CaseError("含有疑似手機號碼，為保護個資不予匯入",
                        "contains what looks like a mobile phone number; not taken, to protect personal data")


def _text(value: Any, *, required: bool) -> str:
    text = _clean(value)
    if required and not text:
        raise CaseError("不可空白", "must not be empty")
    if len(text) > MAX_TEXT:
        raise CaseError(f"超過 {MAX_TEXT} 字", f"longer than {MAX_TEXT} characters")
    _guard_personal(text)
    return text


def normalize_case_no(value: Any) -> str:
    """Case numbers compare upper-cased, without spaces, full-width folded (also on the kiosk)."""
    return _clean(value).replace(" ", "").upper()


def check_case_no(value: Any) -> str:
    case_no = normalize_case_no(value)
    if not case_no:
        raise CaseError("不可空白", "must not be empty")
    if not _CASE_NO.match(case_no):
        raise CaseError("只能有英文字母、數字與連字號，最多 32 字",
                        "only letters, digits and hyphens, at most 32 characters")
    _guard_personal(case_no)
    return case_no


def normalize_code(value: Any) -> str:
    return _clean(value).replace(" ", "")


def check_code(value: Any) -> str:
    code = normalize_code(value)
    if not code:
        raise CaseError("不可空白", "must not be empty")
    if not code.isascii() or not code.isdigit() or not 4 <= len(code) <= 12:
        raise CaseError("須為 4 至 12 位數字（觸控鍵盤只有數字）",
                        "must be 4 to 12 digits (the touchscreen keypad has digits only)")
    if _MOBILE.fullmatch(code):
        raise CaseError("看來是完整手機號碼，請只用末四碼", "looks like a whole mobile number: use its last four digits")
    return code


def check_extension(value: Any) -> str:
    ext = _clean(value).replace(" ", "")
    if ext and not _EXTENSION.match(ext):
        raise CaseError("分機只能有數字、#、*、-，最多 12 字", "an extension is digits, #, * or -, at most 12")
    _guard_personal(ext)
    return ext


def parse_date(value: Any, *, required: bool) -> str | None:
    """YYYY-MM-DD from 2024-05-01, 2024/5/1 (as Excel writes it), or 民國 113/5/1."""
    text = _clean(value)
    if not text:
        if required:
            raise CaseError("不可空白", "must not be empty")
        return None
    m = _DATE.match(text)
    if not m:
        raise CaseError(f"日期格式錯誤：{text!r}（請用 2024-05-01）", f"not a date: {text!r} (use 2024-05-01)")
    year, month, day = (int(g) for g in m.groups())
    if year < 1000:  # 民國年
        year += 1911
    try:
        when = date(year, month, day)
    except ValueError:
        raise CaseError(f"沒有這一天：{text!r}", f"no such day: {text!r}") from None
    if not 1990 <= when.year <= 2200:
        raise CaseError(f"年份不合理：{text!r}", f"implausible year: {text!r}")
    return when.isoformat()


# -- CSV -----------------------------------------------------------------------------------
@dataclass
class Parsed:
    cases: dict[str, Case]
    problems: list[Problem]
    rows: int
    bad_rows: int
    bad_cases: set[str]


def parse_csv(raw: bytes, *, progress: Callable[[int], None] = lambda n: None) -> Parsed:
    """Every case in the file, and every problem with its line number."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return Parsed({}, [Problem(line, "", "檔案不是 UTF-8 編碼（請在 Excel 另存為「CSV UTF-8」）",
                                   "the file is not UTF-8 (in Excel, save as \"CSV UTF-8\")")], 0, 0, set())
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
        why_en = (f"missing column(s) {', '.join(missing)}" if missing else "") + \
                 (f" repeated column(s) {', '.join(dup)}" if dup else "")
        return Parsed({}, [Problem(1, "", why_zh.strip() + f"（需要 {', '.join(COLUMNS)}）",
                                   why_en.strip() + f" (expected {', '.join(COLUMNS)})")], 0, 0, set())
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
        if len(row) > len(header) and any(c.strip() for c in row[len(header):]):
            row_problems.append(Problem(start, "", f"這一行有 {len(row)} 欄，標題列只有 {len(header)} 欄",
                                        f"row has {len(row)} fields, the header {len(header)}"))
        values = {name: (row[i] if i < len(row) else "") for name, i in index.items()}
        case, stage, errs = _row_case(values)
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
                        row_problems.append(Problem(
                            start, fname, f"同一案件在第 {m} 行的值不同", f"differs from line {m} of the same case",
                            case.case_no))
            key = (case.case_no, stage["stage"], stage["date"])
            if key in seen_stage:
                m = seen_stage[key]
                row_problems.append(Problem(start, "stage", f"與第 {m} 行重複（同一階段與日期）",
                                            f"repeats line {m} (same stage and date)", case.case_no))
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
                    problems.append(Problem(ln, "closed_date", f"結案日 {case.closed_date} 早於這一階段的日期",
                                            f"closed_date {case.closed_date} is before this stage's date", case_no))
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


def _row_case(values: dict[str, str]) -> tuple[Case | None, dict, list[tuple[str, CaseError]]]:
    errs: list[tuple[str, CaseError]] = []

    def take(name, fn, *args, **kw):
        try:
            return fn(values.get(name, ""), *args, **kw)
        except CaseError as exc:
            errs.append((name, exc))
            return None

    case_no = take("case_no", check_case_no)
    case = Case(
        case_no=case_no or "",
        case_type=take("case_type", _text, required=True) or "",
        applicant_name=take("applicant_name", _text, required=False) or "",
        verify_code=take("verify_code", check_code) or "",
        unit=take("unit", _text, required=True) or "",
        extension=take("extension", check_extension) or "",
        due_date=take("due_date", parse_date, required=False),
        closed_date=take("closed_date", parse_date, required=False),
        case_type_en=take("case_type_en", _text, required=False) or "",
        unit_en=take("unit_en", _text, required=False) or "",
    )
    stage = {"stage": take("stage", _text, required=True) or "",
             "stage_en": take("stage_en", _text, required=False) or "",
             "date": take("stage_date", parse_date, required=True) or ""}
    return (case if case_no else None), stage, errs


def case_from_json(item: Any, index: int) -> tuple[Case | None, list[Problem]]:
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

    case = Case(
        case_no=take("case_no", check_case_no) or "",
        case_type=take("case_type", _text, required=True) or "",
        applicant_name=take("applicant_name", _text, required=False) or "",
        verify_code=take("verify_code", check_code) or "",
        unit=take("unit", _text, required=True) or "",
        extension=take("extension", check_extension) or "",
        due_date=take("due_date", parse_date, required=False),
        closed_date=take("closed_date", parse_date, required=False),
        case_type_en=take("case_type_en", _text, required=False) or "",
        unit_en=take("unit_en", _text, required=False) or "",
    )
    stages = item.get("stages")
    if not isinstance(stages, list) or not stages:
        errs.append(Problem(0, f"cases.{index}.stages", "至少要有一個階段", "expected a list of at least one stage"))
        stages = []
    for j, st in enumerate(stages):
        if not isinstance(st, dict):
            errs.append(Problem(0, f"cases.{index}.stages.{j}", "應為物件", "expected an object"))
            continue
        entry = {}
        for key, src, fn, kw in (("stage", "stage", _text, {"required": True}),
                                 ("stage_en", "stage_en", _text, {"required": False}),
                                 ("date", "date", parse_date, {"required": True})):
            try:
                entry[key] = fn(st.get(src), **kw) or ""
            except CaseError as exc:
                errs.append(Problem(0, f"cases.{index}.stages.{j}.{src}", exc.zh, exc.en))
        case.stages.append(entry)
    if not errs and case.closed_date and any(s["date"] > case.closed_date for s in case.stages):
        errs.append(Problem(0, f"cases.{index}.closed_date", "結案日早於某一階段的日期",
                            "closed_date is before a stage's date"))
    if errs:
        return None, errs
    _order_stages(case)
    return case, errs


# -- the secret's hash -------------------------------------------------------------------------
def kdf_name(kdf=KDF) -> str:
    return ":".join(str(p) for p in kdf)


def hash_code(code: str, salt: bytes, kdf=KDF) -> bytes:
    alg, n, r, p = kdf
    if alg != "scrypt":
        raise ValueError(f"unknown kdf {alg}")
    return hashlib.scrypt(code.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p),
                          maxmem=256 * 1024 * 1024, dklen=32)


def verifier(kdf: str, salt: bytes, digest: bytes) -> str:
    """What a kiosk stores: ``scrypt:N:r:p:SALT:HASH`` (base64), the costs inside the record."""
    b64 = base64.b64encode
    return f"{kdf}:{b64(salt).decode()}:{b64(digest).decode()}"


# -- storing ------------------------------------------------------------------------------------------
@dataclass
class Applied:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    hidden: int = 0
    revision: int = 0

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


def today_in_office(now: float) -> date:
    return datetime.fromtimestamp(now, OFFICE_TZ).date()


def keep_closed_days(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM settings WHERE kiosk = 0 AND key = ?", [KEEP_SETTING]).fetchone()
    if row is None:
        return KEEP_CLOSED_DAYS
    try:
        value = json.loads(row[0])
    except ValueError:
        return KEEP_CLOSED_DAYS
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else KEEP_CLOSED_DAYS


def _revision(conn) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'cases_revision'").fetchone()[0])


def _visible(closed: str | None, cutoff: str) -> bool:
    return closed is None or closed >= cutoff


def apply_cases(conn: sqlite3.Connection, cases: Iterable[Case], *, remove: Iterable[str] = (),
                remove_missing: bool = False, now: float | None = None, source: str = "csv",
                progress: Callable[[int], None] = lambda n: None, workers: int | None = None,
                write_lock=None) -> Applied:
    """Store cases (added or replaced whole) and removals, each change under a new revision.

    Unchanged cases (same fingerprint) are left alone: importing the same file again
    changes nothing. New or changed secrets are hashed before the write transaction,
    in threads (hashlib's scrypt releases the GIL).
    remove_missing: remove every stored case not among ``cases`` (a full export).
    write_lock: held while reading and writing ``conn`` (the API's writer), not while hashing.
    """
    import contextlib
    import time

    write_lock = write_lock or contextlib.nullcontext()

    now = time.time() if now is None else now
    cases = list(cases)
    remove = {normalize_case_no(c) for c in remove}
    existing = {}
    want = [c.case_no for c in cases]
    with write_lock:
        for i in range(0, len(want), 900):
            chunk = want[i:i + 900]
            for row in conn.execute(
                    f"SELECT case_no, content_hash, verify_code, kdf, salt, hash, removed FROM cases"
                    f" WHERE case_no IN ({','.join('?' * len(chunk))})", chunk):
                existing[row[0]] = row
    todo: list[tuple[Case, str, tuple | None]] = []
    result = Applied()
    for case in cases:
        fp = case.fingerprint()
        old = existing.get(case.case_no)
        if old is not None and old[1] == fp and not old[6]:
            result.unchanged += 1
            progress(1)
            continue
        todo.append((case, fp, old))
    kdf = kdf_name()
    hashes: dict[str, tuple[str, bytes, bytes]] = {}
    need = []
    for case, _fp, old in todo:
        if old is not None and old[2] == case.verify_code and old[3] == kdf and old[4] and not old[6]:
            hashes[case.case_no] = (old[3], old[4], old[5])  # same secret: keep its hash
            progress(1)
        else:
            need.append(case)
    lock = threading.Lock()

    def work(case):
        salt = secrets.token_bytes(16)
        digest = hash_code(case.verify_code, salt)
        with lock:
            hashes[case.case_no] = (kdf, salt, digest)
        progress(1)

    if need:
        with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
            list(pool.map(work, need))

    stamp = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds")
    with write_lock:
        return _write(conn, todo, hashes, remove, remove_missing, want, now, stamp, source, result)


def _write(conn, todo, hashes, remove, remove_missing, want, now, stamp, source, result) -> Applied:
    conn.execute("BEGIN IMMEDIATE")
    try:
        keep = keep_closed_days(conn)
        cutoff = (today_in_office(now) - timedelta(days=keep)).isoformat()
        rev = _revision(conn)
        rows = []
        for case, fp, old in todo:
            rev += 1
            k, salt, digest = hashes[case.case_no]
            data = case.content()
            published = 1 if _visible(case.closed_date, cutoff) else 0
            result.hidden += 1 - published
            if old is None or old[6]:
                result.added += 1
            else:
                result.updated += 1
            rows.append([case.case_no, rev, published, case.case_type, case.case_type_en, case.applicant_name,
                         mask_name(case.applicant_name), case.verify_code, k, salt, digest,
                         json.dumps(data["stages"], ensure_ascii=False), case.unit, case.unit_en, case.extension,
                         case.due_date, case.closed_date, fp, stamp, source])
        conn.executemany(
            "INSERT INTO cases (case_no, revision, removed, published, case_type, case_type_en, applicant_name,"
            " name_masked, verify_code, kdf, salt, hash, stages, unit, unit_en, extension, due_date,"
            " closed_date, content_hash, updated_at, source) VALUES (?,?,0,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (case_no) DO UPDATE SET revision=excluded.revision, removed=0,"
            " published=excluded.published, case_type=excluded.case_type, case_type_en=excluded.case_type_en,"
            " applicant_name=excluded.applicant_name, name_masked=excluded.name_masked,"
            " verify_code=excluded.verify_code, kdf=excluded.kdf, salt=excluded.salt, hash=excluded.hash,"
            " stages=excluded.stages, unit=excluded.unit, unit_en=excluded.unit_en,"
            " extension=excluded.extension, due_date=excluded.due_date, closed_date=excluded.closed_date,"
            " content_hash=excluded.content_hash, updated_at=excluded.updated_at, source=excluded.source",
            rows)
        if remove_missing:
            keep_set = set(want)
            remove |= {r[0] for r in conn.execute("SELECT case_no FROM cases WHERE removed = 0")
                       if r[0] not in keep_set}
        for case_no in sorted(remove):
            rev += 1
            # A removed case keeps only its number and revision: no personal data stays behind.
            cur = conn.execute(
                "UPDATE cases SET removed=1, published=0, revision=?, applicant_name='', name_masked='',"
                " verify_code='', salt=NULL, hash=NULL, stages='[]', content_hash='', updated_at=?, source=?"
                " WHERE case_no=? AND removed=0", [rev, stamp, source, case_no])
            if cur.rowcount:
                result.removed += 1
            else:
                rev -= 1
        conn.execute("UPDATE meta SET value=? WHERE key='cases_revision'", [str(rev)])
        _refresh(conn, now, keep)
        result.revision = _revision(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _refresh(conn: sqlite3.Connection, now: float, keep: int) -> int:
    """Inside a write transaction: hide closed cases whose days are over (and, if the setting
    changed, show again those it now keeps and resend the rest with their new hide-after date)."""
    cutoff = (today_in_office(now) - timedelta(days=keep)).isoformat()
    rev = _revision(conn)
    changes: list[tuple[int, str]] = []
    expired = [r[0] for r in conn.execute(
        "SELECT case_no FROM cases WHERE published = 1 AND closed_date < ? ORDER BY case_no", [cutoff])]
    for case_no in expired:
        rev += 1
        changes.append((0, rev, case_no))
    applied = conn.execute("SELECT value FROM meta WHERE key='cases_keep_days'").fetchone()
    if applied is None or int(applied[0]) != keep:
        again = conn.execute(
            "SELECT case_no FROM cases WHERE removed = 0 AND closed_date IS NOT NULL AND closed_date >= ?"
            " ORDER BY case_no", [cutoff]).fetchall()
        for (case_no,) in again:
            rev += 1
            changes.append((1, rev, case_no))
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('cases_keep_days', ?)", [str(keep)])
    if changes:
        conn.executemany("UPDATE cases SET published=?, revision=? WHERE case_no=?", changes)
        conn.execute("UPDATE meta SET value=? WHERE key='cases_revision'", [str(rev)])
    return len(changes)


def refresh(conn: sqlite3.Connection, now: float) -> int:
    """Hide expired closed cases (a cheap indexed check when there is nothing to do)."""
    keep = keep_closed_days(conn)
    cutoff = (today_in_office(now) - timedelta(days=keep)).isoformat()
    applied = conn.execute("SELECT value FROM meta WHERE key='cases_keep_days'").fetchone()
    due = conn.execute("SELECT 1 FROM cases WHERE published = 1 AND closed_date < ? LIMIT 1", [cutoff]).fetchone()
    if due is None and applied is not None and int(applied[0]) == keep:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        n = _refresh(conn, now, keep)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return n


# -- the delta the kiosks pull -----------------------------------------------------------------------
def delta(conn: sqlite3.Connection, since: int, limit: int = DEFAULT_PAGE) -> dict[str, Any]:
    """Changes after revision ``since``, oldest first, read in one snapshot."""
    limit = max(1, min(limit, MAX_PAGE))
    conn.execute("BEGIN")
    try:
        dataset = conn.execute("SELECT value FROM meta WHERE key='cases_dataset'").fetchone()[0]
        current = _revision(conn)
        keep = keep_closed_days(conn)
        # From nothing, removals are of no use: only cases shown on kiosks are sent.
        rows = conn.execute(
            "SELECT case_no, revision, published, case_type, case_type_en, name_masked, kdf, salt, hash, stages,"
            " unit, unit_en, extension, due_date, closed_date FROM cases"
            " WHERE revision > ? AND (published = 1 OR ? > 0) ORDER BY revision LIMIT ?",
            [since, since, limit + 1]).fetchall()
    finally:
        conn.execute("COMMIT")
    more = len(rows) > limit
    rows = rows[:limit]
    changes = []
    b64 = base64.b64encode
    for (case_no, rev, published, ctype, ctype_en, name, kdf, salt, digest, stages, unit, unit_en, ext, due,
         closed) in rows:
        if not published:
            changes.append({"case_no": case_no, "revision": rev, "removed": True})
            continue
        hide_after = (date.fromisoformat(closed) + timedelta(days=keep)).isoformat() if closed else None
        changes.append({
            "case_no": case_no, "revision": rev, "removed": False, "case_type": ctype, "case_type_en": ctype_en,
            "name": name, "stages": json.loads(stages), "unit": unit, "unit_en": unit_en, "extension": ext,
            "due_date": due, "closed_date": closed, "hide_after": hide_after,
            "verifier": f"{kdf}:{b64(salt).decode()}:{b64(digest).decode()}",
        })
    upto = changes[-1]["revision"] if more else current
    return {"protocol": 1, "dataset": dataset, "revision": upto, "changes": changes, "more": more}


def new_dataset_id() -> str:
    return str(uuid.uuid4())


# -- HTTP --------------------------------------------------------------------------------------------------------
def case_routes(writer: sqlite3.Connection, write_lock: threading.Lock, readers, authenticate, clock):
    """The case endpoints, as a router create_app includes (docs/protocol-v1.md)."""
    from starlette.concurrency import run_in_threadpool

    from server_sync.collector.admin_tokens import admin_for_token  # `kiosk-collector add-api-token NAME`

    bearer = HTTPBearer(auto_error=False, description="a kiosk token (GET) or an admin API token (PUT)")
    router = APIRouter()

    @router.get("/api/v1/cases", summary="Case changes after a revision (kiosks)", responses={
        401: {"description": "unknown or revoked token"}})
    def get_cases(since: int = Query(0, ge=0, le=2**62), limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE),
                  creds: HTTPAuthorizationCredentials | None = Depends(bearer)):
        authenticate(creds)
        with write_lock:
            refresh(writer, clock())
        with readers.connection() as conn:
            body = delta(conn, since, limit)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.put("/api/v1/admin/cases", summary="Add, replace or remove cases (case-management system)",
                responses={401: {"description": "unknown or revoked admin token"},
                           422: {"description": "`detail` names every bad field, by index"}})
    async def put_cases(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)):
        unauthorized = HTTPException(401, "管理權杖無效或已撤銷 / unknown or revoked admin API token",
                                     headers={"WWW-Authenticate": "Bearer"})
        if creds is None or creds.scheme.lower() != "bearer":
            raise unauthorized
        with readers.connection() as conn:
            admin = admin_for_token(conn, creds.credentials)
        if admin is None:
            raise unauthorized
        who = admin.name
        raw = await request.body()
        if len(raw) > 4_000_000:
            raise HTTPException(413, "請求內容過大 / request body too large (limit 4000000 bytes)")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return _unprocessable([{"loc": ["body"], "msg": f"invalid JSON: {exc}", "type": "json_invalid"}])
        if not isinstance(body, dict) or set(body) - {"cases", "remove"}:
            return _unprocessable([{"loc": ["body"], "msg": "expected an object with \"cases\" and/or \"remove\"",
                                    "type": "value_error"}])
        items, remove = body.get("cases", []), body.get("remove", [])
        errors = []
        if not isinstance(items, list) or len(items) > MAX_PUSH:
            errors.append({"loc": ["body", "cases"], "msg": f"expected a list of at most {MAX_PUSH} cases",
                           "type": "value_error"})
            items = []
        if not isinstance(remove, list) or len(remove) > 10_000:
            errors.append({"loc": ["body", "remove"], "msg": "expected a list of at most 10000 case numbers",
                           "type": "value_error"})
            remove = []
        cases, seen = [], {}
        for i, item in enumerate(items):
            case, problems = case_from_json(item, i)
            errors += [{"loc": ["body", *p.field.split(".")], "msg": f"{p.zh} / {p.en}", "type": "value_error"}
                       for p in problems]
            if case is not None:
                if case.case_no in seen:
                    errors.append({"loc": ["body", "cases", str(i), "case_no"],
                                   "msg": f"同一案件重複 / same case as cases.{seen[case.case_no]}",
                                   "type": "value_error"})
                seen[case.case_no] = i
                cases.append(case)
        removals = []
        for i, value in enumerate(remove):
            try:
                removals.append(check_case_no(value))
            except CaseError as exc:
                errors.append({"loc": ["body", "remove", str(i)], "msg": str(exc), "type": "value_error"})
        if errors:
            return _unprocessable(errors)

        result = await run_in_threadpool(lambda: apply_cases(writer, cases, remove=removals, now=clock(),
                                                             source=f"api:{who}", write_lock=write_lock))
        return JSONResponse({"protocol": 1, **result.as_json()})

    def _unprocessable(errors):
        return JSONResponse({"detail": errors}, status_code=422)

    return router
