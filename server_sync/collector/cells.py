"""Spreadsheet cells that a spreadsheet never runs: the one guard every export format uses.

Text in the collector's tables comes from kiosks (unit, window, service, reason, software
version) and from administrators (upload file names, notes), so a cell may read
``=HYPERLINK(...)`` or ``+cmd|' /C calc'!A0``. Following OWASP's CSV-injection guidance, a
text cell starting with ``= + - @``, a tab or a carriage return (or one of the first four
after leading blanks, which some spreadsheets skip) gets a leading single quote, and the CSV
writers quote every text cell. Numbers stay numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Characters no spreadsheet cell may hold (openpyxl refuses them): dropped, not exported.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def cell(value: Any) -> Any:
    """``value`` as an export cell: None as empty, numbers as they are, text made inert."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return value
    text = _CONTROL.sub("", str(value))
    if text.startswith(TRIGGERS) or text.lstrip(" \n\t\r\u3000").startswith(TRIGGERS[:4]):
        return "'" + text
    return text


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]
