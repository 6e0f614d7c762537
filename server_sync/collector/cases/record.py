"""One case as the collector holds it, and the rules each of its fields must pass."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from server_sync.collector.cases import codes
from server_sync.wire import cases as wire_cases
from server_sync.wire.errors import BilingualError

_CASE_NO = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
_EXTENSION = re.compile(r"^[0-9#*\-]{1,12}$")
_DATE = re.compile(r"^(\d{2,4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
# Personal numbers that must never be imported, let alone sent to a kiosk.
_NATIONAL_ID = re.compile(r"[A-Z][12890ABCD]\d{8}")  # ID card, and resident certificates old and new
_MOBILE = re.compile(r"09\d{2}[- ]?\d{3}[- ]?\d{3}")
MAX_TEXT = 80


class CaseError(BilingualError):
    """A value that cannot be taken; ``zh`` and ``en`` say why."""


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
        return {
            "case_no": self.case_no,
            "case_type": self.case_type,
            "case_type_en": self.case_type_en,
            "applicant_name": self.applicant_name,
            "verify_code": self.verify_code,
            "unit": self.unit,
            "unit_en": self.unit_en,
            "extension": self.extension,
            "due_date": self.due_date,
            "closed_date": self.closed_date,
            "stages": self.stages,
        }

    def fingerprint(self) -> str:
        """Every field but the code: a fast hash of a short code would be guessed in seconds, so
        whether the code changed is told by its slow hash (storing.py)."""
        fields = {k: v for k, v in self.content().items() if k != "verify_code"}
        raw = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CaseError("應為文字", "expected text")
    return " ".join(unicodedata.normalize("NFKC", value).split())


def _guard_personal(text: str) -> None:
    upper = text.upper()
    if _NATIONAL_ID.search(upper):
        raise CaseError(
            "含有疑似身分證或居留證號碼，為保護個資不予匯入",
            "contains what looks like a national ID number; not taken, to protect personal data",
        )
    if _MOBILE.search(upper):
        raise CaseError(
            "含有疑似手機號碼，為保護個資不予匯入",
            "contains what looks like a mobile phone number; not taken, to protect personal data",
        )


def check_text(value: Any, *, required: bool) -> str:
    text = _clean(value)
    if required and not text:
        raise CaseError("不可空白", "must not be empty")
    if len(text) > MAX_TEXT:
        raise CaseError(f"超過 {MAX_TEXT} 字", f"longer than {MAX_TEXT} characters")
    _guard_personal(text)
    return text


def check_case_no(value: Any) -> str:
    case_no = wire_cases.normalize_case_no(_clean(value))
    if not case_no:
        raise CaseError("不可空白", "must not be empty")
    if not _CASE_NO.match(case_no):
        raise CaseError(
            "只能有英文字母、數字與連字號，最多 32 字", "only letters, digits and hyphens, at most 32 characters"
        )
    _guard_personal(case_no)
    return case_no


def check_code(value: Any, min_digits: int = codes.DEFAULT_MIN_DIGITS) -> str:
    """A verification code of ``min_digits`` (the setting cases.min_code_digits) to 12 digits."""
    code = wire_cases.normalize_code(_clean(value))
    if not code:
        raise CaseError(
            "不可空白（kiosk-collector generate-codes 可產生驗證碼）",
            "must not be empty (kiosk-collector generate-codes makes codes)",
        )
    if not code.isascii() or not code.isdigit() or len(code) > codes.MAX_DIGITS:
        raise CaseError(
            f"須為數字，最多 {codes.MAX_DIGITS} 位（觸控鍵盤只有數字）",
            f"must be digits, at most {codes.MAX_DIGITS} (the touchscreen keypad has digits only)",
        )
    if len(code) < min_digits:
        raise CaseError(
            f"驗證碼太弱：只有 {len(code)} 位，至少需 {min_digits} 位數字（設定 {codes.MIN_DIGITS_SETTING}），"
            "可用 kiosk-collector generate-codes 產生",
            f"code too weak: {len(code)} digits, at least {min_digits} are needed (setting "
            f"{codes.MIN_DIGITS_SETTING}); kiosk-collector generate-codes makes strong ones",
        )
    if _MOBILE.fullmatch(code):
        raise CaseError(
            "看來是完整手機號碼，請只用末四碼", "looks like a whole mobile number: use its last four digits"
        )
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
