"""Verification codes: how strong one must be, and codes the collector makes for the office.

The kiosk's keypad has digits and "-" only, so codes are digits: strength is their
number. A stolen kiosk file lets anyone try every code offline at one scrypt check
each (~50 ms on one core), so the default minimum, 10 digits, leaves 10^10 (about
2^33) codes to try (docs/cases.md gives the cost).

``fill_csv`` is `kiosk-collector generate-codes`: it fills the empty ``verify_code``
cells of a cases CSV (one code per case, on every row of it) with random codes from
``secrets``, for the office to print on receipts before importing the file.
"""

from __future__ import annotations

import csv
import io
import math
import secrets
import sqlite3
from dataclasses import dataclass

from server_sync.collector import options
from server_sync.wire import cases as wire_cases

MIN_DIGITS_SETTING = "cases.min_code_digits"
DEFAULT_MIN_DIGITS = options.BY_KEY[MIN_DIGITS_SETTING].default  # 10: 10^10 codes, about 2^33
MAX_DIGITS = 12
LOWEST_MIN_DIGITS = 4  # the setting may go this low, knowingly (docs/cases.md)


def min_digits(conn: sqlite3.Connection) -> int:
    """The collector's setting cases.min_code_digits."""
    return options.get(conn, MIN_DIGITS_SETTING)


def guesses(digits: int) -> int:
    """How many codes of this many digits there are: what an offline attacker must try."""
    return 10**digits


def guess_bits(digits: int) -> float:
    return math.log2(guesses(digits))


def generate(digits: int = DEFAULT_MIN_DIGITS) -> str:
    """A random code of ``digits`` digits, never starting with 0.

    No leading 0: Excel drops it when it opens the CSV again, and 09… is refused as a
    mobile number. 9 × 10^(digits-1) codes remain (10 digits: about 2^33)."""
    if not LOWEST_MIN_DIGITS <= digits <= MAX_DIGITS:
        raise ValueError(f"digits must be {LOWEST_MIN_DIGITS} to {MAX_DIGITS}")
    return str(1 + secrets.randbelow(9)) + "".join(str(secrets.randbelow(10)) for _ in range(digits - 1))


class FillError(ValueError):
    """The file cannot be filled; the message is zh-TW / English."""


@dataclass
class Filled:
    data: bytes
    cases: int  # cases given a new code
    rows: int  # rows whose cell was filled
    codes: dict[str, str]  # case number -> its new code


def fill_csv(raw: bytes, *, digits: int = DEFAULT_MIN_DIGITS, replace_short: int = 0) -> Filled:
    """The CSV with every empty ``verify_code`` cell filled, every row of a case with one code.

    replace_short: also replace codes shorter than this many digits (0: keep every code given).
    Every other cell, the column order, a BOM and the line ends stay as they were written."""
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FillError(
            "檔案不是 UTF-8 編碼（請在 Excel 另存為「CSV UTF-8」）/ "
            'the file is not UTF-8 (in Excel, save as "CSV UTF-8")'
        ) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise FillError(f"無法讀取 CSV / unreadable CSV: {exc}") from None
    if not rows:
        raise FillError("檔案是空的 / the file is empty")
    names = [h.strip().lower() for h in rows[0]]
    if "case_no" not in names or "verify_code" not in names:
        raise FillError("需要 case_no 與 verify_code 欄位 / the columns case_no and verify_code are needed")
    ci, vi = names.index("case_no"), names.index("verify_code")

    def code_of(row: list[str]) -> str:
        return wire_cases.normalize_code(row[vi]) if vi < len(row) else ""

    def keep(code: str) -> bool:
        return bool(code) and not (replace_short and code.isdigit() and len(code) < replace_short)

    # A case that already has a code it keeps on one row gets that code on all its rows.
    codes: dict[str, str] = {}
    for row in rows[1:]:
        if ci < len(row) and keep(code_of(row)):
            codes.setdefault(wire_cases.normalize_case_no(row[ci]), code_of(row))
    new: dict[str, str] = {}
    filled = 0
    for row in rows[1:]:
        case_no = wire_cases.normalize_case_no(row[ci]) if ci < len(row) else ""
        if not case_no or keep(code_of(row)):
            continue
        if case_no not in codes:
            codes[case_no] = new[case_no] = generate(digits)
        row.extend([""] * (vi + 1 - len(row)))
        row[vi] = codes[case_no]
        filled += 1
    ending = "\r\n" if "\r\n" in text else "\n"
    out = io.StringIO()
    csv.writer(out, lineterminator=ending).writerows(rows)
    data = out.getvalue().encode("utf-8")
    return Filled((b"\xef\xbb\xbf" if bom else b"") + data, len(new), filled, new)
