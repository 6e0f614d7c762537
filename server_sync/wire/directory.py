"""The service-directory format: which services an office offers, where and when (docs/queue.md).

One format, two spellings. Administrators keep a UTF-8 CSV file (one service a
line; list cells separated by ``;``); the collector and the kiosks exchange the
same records as JSON. Both go through ``validate_records`` so a bad cell is
refused with its line (CSV) or item (JSON) and column named, in zh-TW and
English, before anything is stored.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

from server_sync.wire.tz import OFFICE_TZ

REQUIRED = ("code", "series", "name", "name_en", "unit", "windows", "typical_minutes", "hours")
OPTIONAL = ("unit_en", "documents", "documents_en", "notes", "notes_en")
COLUMNS = REQUIRED + OPTIONAL
LIST_FIELDS = ("windows", "documents", "documents_en")
PRIORITY_SERIES = "P"  # priority tickets' own series, shared by every service at a window
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CODE = re.compile(r"^[a-z0-9_]{1,40}$")
_HOURS_PART = re.compile(r"^(?P<d1>[a-z]{3})(?:-(?P<d2>[a-z]{3}))?\s+(?P<t1>\d{1,2}:\d{2})-(?P<t2>\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class Problem:
    where: str  # "line 5" (CSV) or "item 3" (JSON)
    field: str
    zh: str
    en: str

    def __str__(self) -> str:
        col = f", {self.field}" if self.field else ""
        return f"{self.where}{col}: {self.zh} / {self.en}"


class DirectoryError(ValueError):
    """The directory has one or more bad cells; ``problems`` names each."""

    def __init__(self, problems: list[Problem], source: str = ""):
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + "服務目錄有誤 invalid service directory:\n" + "\n".join(f"  {p}" for p in problems))

    def as_json(self) -> list[dict]:
        return [{"where": p.where, "field": p.field, "msg": f"{p.zh} / {p.en}"} for p in self.problems]


@dataclass(frozen=True)
class Span:
    """One stretch of office hours: days (0 = Monday) and a time range."""

    days: tuple[int, ...]
    start: time
    end: time


@dataclass(frozen=True)
class Service:
    code: str
    series: str
    name: str
    name_en: str
    unit: str
    unit_en: str
    windows: tuple[str, ...]
    documents: tuple[str, ...]
    documents_en: tuple[str, ...]
    typical_minutes: float
    notes: str
    notes_en: str
    hours: str
    spans: tuple[Span, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "series": self.series,
            "name": self.name,
            "name_en": self.name_en,
            "unit": self.unit,
            "unit_en": self.unit_en,
            "windows": list(self.windows),
            "documents": list(self.documents),
            "documents_en": list(self.documents_en),
            "typical_minutes": self.typical_minutes,
            "notes": self.notes,
            "notes_en": self.notes_en,
            "hours": self.hours,
        }

    def open_at(self, when: datetime) -> bool:
        """Whether the office serves this service at ``when`` (any timezone; judged in Asia/Taipei)."""
        local = when.astimezone(OFFICE_TZ)
        t = local.time().replace(tzinfo=None)
        return any(local.weekday() in s.days and s.start <= t < s.end for s in self.spans)

    def served_at(self, window: str) -> bool:
        return str(window) in self.windows

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name


@dataclass(frozen=True)
class Directory:
    revision: int
    services: tuple[Service, ...]

    def get(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def as_json(self) -> dict[str, Any]:
        return {"services": [s.as_json() for s in self.services]}


EMPTY = Directory(0, ())


def parse_hours(text: str) -> tuple[Span, ...]:
    """``mon-fri 08:30-12:00; mon-fri 13:30-17:30`` → spans; raises ValueError naming the bad part."""
    spans = []
    for part in (p.strip().lower() for p in text.split(";")):
        if not part:
            continue
        m = _HOURS_PART.match(part)
        if not m:
            raise ValueError(f"{part!r} is not like 'mon-fri 08:30-17:30'")
        try:
            d1 = DAYS.index(m["d1"])
            d2 = DAYS.index(m["d2"]) if m["d2"] else d1
        except ValueError:
            raise ValueError(f"{part!r}: days are {', '.join(DAYS)}") from None
        if d2 < d1:
            raise ValueError(f"{part!r}: the day range runs backwards")
        try:
            t1 = time.fromisoformat(m["t1"].zfill(5))
            t2 = time.max if m["t2"] == "24:00" else time.fromisoformat(m["t2"].zfill(5))
        except ValueError:
            raise ValueError(f"{part!r}: not a real time of day") from None
        if t2 <= t1:
            raise ValueError(f"{part!r}: closes before it opens")
        spans.append(Span(tuple(range(d1, d2 + 1)), t1, t2))
    if not spans:
        raise ValueError("no opening hours given")
    return tuple(spans)


def _split(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").split(";") if v.strip()]


def validate_records(
    records: Iterable[tuple[str, dict[str, Any]]], *, revision: int = 0, source: str = ""
) -> Directory:
    """Check every record (``where`` label, fields); return the Directory or raise DirectoryError with all problems."""
    problems: list[Problem] = []
    services: list[Service] = []
    codes: dict[str, str] = {}
    series_seen: dict[str, str] = {}

    def bad(where, field, zh, en):
        problems.append(Problem(where, field, zh, en))

    for where, rec in records:
        if not isinstance(rec, dict):
            bad(where, "", "應為一筆服務資料", f"expected an object with {', '.join(REQUIRED)}")
            continue
        unknown = sorted(set(rec) - set(COLUMNS))
        if unknown:
            bad(where, ", ".join(unknown), "不認識的欄位", f"unknown column(s); known: {', '.join(COLUMNS)}")
        start = len(problems)
        text = {}
        for field in COLUMNS:
            value = rec.get(field, "")
            if field in LIST_FIELDS:
                continue
            if value is None:
                value = ""
            if field == "typical_minutes":
                continue
            if not isinstance(value, str):
                bad(where, field, "應為文字", f"expected text, got {value!r}")
                value = ""
            text[field] = value.strip()
            if field in REQUIRED and not text[field]:
                bad(where, field, "必填欄位是空的", "required and empty")
        code = text.get("code", "")
        if code and not _CODE.match(code):
            bad(where, "code", "代碼只能用小寫英文字母、數字與底線", f"{code!r}: use a-z, 0-9 and _ (at most 40)")
        elif code in codes:
            bad(where, "code", f"代碼重複（{codes[code]}）", f"{code!r} is also used at {codes[code]}")
        series = text.get("series", "")
        if series and (len(series) != 1 or not "A" <= series <= "Z" or series == PRIORITY_SERIES):
            bad(
                where,
                "series",
                "號碼字首應為一個大寫英文字母（P 保留給優先號）",
                f"{series!r}: one capital letter A-Z; {PRIORITY_SERIES} is kept for priority tickets",
            )
        elif series in series_seen:
            bad(
                where,
                "series",
                f"號碼字首重複（{series_seen[series]}）",
                f"{series!r} is also used at {series_seen[series]}",
            )
        lists = {}
        for field in LIST_FIELDS:
            value = rec.get(field, "")
            if value is not None and not isinstance(value, (str, list, tuple)):
                bad(where, field, "應為以分號分隔的清單", f"expected a list (or text with ';'), got {value!r}")
                value = ""
            lists[field] = tuple(_split(value))
        if not lists["windows"] and "windows" not in {p.field for p in problems[start:]}:
            bad(where, "windows", "至少要有一個窗口", "at least one window is required")
        elif any(len(w) > 20 for w in lists["windows"]):
            bad(where, "windows", "窗口名稱過長", "a window name is longer than 20 characters")
        if lists["documents_en"] and len(lists["documents_en"]) != len(lists["documents"]):
            bad(
                where,
                "documents_en",
                "英文應備文件數量與中文不符",
                f"{len(lists['documents_en'])} English documents for {len(lists['documents'])} zh-TW ones",
            )
        minutes_raw = rec.get("typical_minutes", "")
        minutes = 0.0
        try:
            if isinstance(minutes_raw, bool):
                raise ValueError
            minutes = (
                float(str(minutes_raw).strip()) if not isinstance(minutes_raw, (int, float)) else float(minutes_raw)
            )
            if not 0.5 <= minutes <= 240:
                raise ValueError
        except ValueError:
            bad(
                where,
                "typical_minutes",
                "一般辦理時間應為 0.5 到 240 分鐘",
                f"expected minutes from 0.5 to 240, got {minutes_raw!r}",
            )
        spans: tuple[Span, ...] = ()
        if text.get("hours"):
            try:
                spans = parse_hours(text["hours"])
            except ValueError as exc:
                bad(where, "hours", "服務時間格式錯誤，例如 mon-fri 08:30-17:30", str(exc))
        for field in ("name", "name_en", "unit", "unit_en", "notes", "notes_en"):
            limit = 400 if field.startswith("notes") else 80
            if len(text.get(field, "")) > limit:
                bad(where, field, f"內容過長（上限 {limit} 字）", f"longer than {limit} characters")
        if code:
            codes.setdefault(code, where)
        if series:
            series_seen.setdefault(series, where)
        if len(problems) == start:
            services.append(
                Service(
                    code=code,
                    series=series,
                    name=text["name"],
                    name_en=text["name_en"],
                    unit=text["unit"],
                    unit_en=text.get("unit_en") or text["unit"],
                    windows=lists["windows"],
                    documents=lists["documents"],
                    documents_en=lists["documents_en"] or lists["documents"],
                    typical_minutes=minutes,
                    notes=text.get("notes", ""),
                    notes_en=text.get("notes_en", ""),
                    hours=text["hours"],
                    spans=spans,
                )
            )
    if problems:
        raise DirectoryError(problems, source)
    return Directory(revision, tuple(services))


def parse_csv(text: str, *, source: str = "", revision: int = 0) -> Directory:
    """A directory from CSV text (header row naming the columns); problems name their line."""
    text = text.lstrip("\ufeff")  # Excel saves UTF-8 CSV with a byte-order mark
    reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DirectoryError(
            [
                Problem(
                    "line 1",
                    ", ".join(missing),
                    "標題列缺少必要欄位",
                    f"the header row lacks required column(s); it needs {', '.join(REQUIRED)}",
                )
            ],
            source,
        )
    records = []
    for row in reader:
        if not any((v or "").strip() for k, v in row.items() if k is not None):
            continue  # blank line
        where = f"line {reader.line_num}"
        if None in row:  # more cells than the header has columns
            records.append((where, {"__extra__": row.pop(None)}))
            continue
        records.append((where, {k: v for k, v in row.items() if k and not k.startswith("#")}))
    problems = [
        Problem(
            w,
            "",
            "此列的欄位比標題列多（文字中的逗號請加上雙引號）",
            "more cells than the header has columns (quote cells that contain commas)",
        )
        for w, r in records
        if "__extra__" in r
    ]
    if problems:
        raise DirectoryError(problems, source)
    return validate_records(records, revision=revision, source=source)


def parse_json(data: Any, *, source: str = "", revision: int = 0) -> Directory:
    """A directory from its JSON form ``{"services": [...]}``; problems name their item (1-based)."""
    if not isinstance(data, dict) or not isinstance(data.get("services"), list):
        raise DirectoryError(
            [Problem("body", "services", '應為 {"services": [...]}', 'expected an object {"services": [...]}')], source
        )
    return validate_records(
        ((f"item {i}", rec) for i, rec in enumerate(data["services"], start=1)), revision=revision, source=source
    )


def load_file(path: str | Path) -> Directory:
    """Read a directory file: .csv, or .json in the JSON form."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DirectoryError([Problem("file", "", "找不到檔案", "file not found")], str(path)) from None
    except UnicodeDecodeError as exc:
        raise DirectoryError(
            [Problem("file", "", "不是 UTF-8 文字檔", f"not UTF-8 text (byte {exc.start})")], str(path)
        ) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DirectoryError(
                [Problem(f"line {getattr(exc, 'lineno', '?')}", "", "不是有效的 JSON", f"not valid JSON: {exc}")],
                str(path),
            ) from None
        return parse_json(data, source=str(path))
    return parse_csv(text, source=str(path))
