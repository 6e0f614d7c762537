"""The tamper and health rule kinds: their names, parameters and defaults (alerts.py runs them)."""

from __future__ import annotations

import re
from typing import Any

QUIET = "tamper_quiet"
SHIFT = "tamper_shift"
STUCK = "stuck_button"
OFFICE_SILENT = "office_silent"
KINDS = (QUIET, SHIFT, STUCK, OFFICE_SILENT)
KIND_LABELS = {
    QUIET: "按鈕疑遭遮蔽 buttons unpressed (tamper)",
    SHIFT: "評分分布突變 a window's ratings changed",
    STUCK: "按鈕卡住 stuck button",
    OFFICE_SILENT: "上班時間無訊號 silent in office hours",
}
# The defaults: alpha from the simulated offices (bench/bench_tamper.py, docs/admin.md).
DEFAULTS: dict[str, dict[str, Any]] = {
    QUIET: {"alpha": 1e-6, "lookback_days": 28, "min_pool": 200},
    SHIFT: {"alpha": 1e-5, "recent_days": 7, "base_days": 28, "min_recent": 100},
    STUCK: {},
    OFFICE_SILENT: {"days": "1-5", "start": "08:00", "end": "17:00", "minutes": 60, "alpha": 1e-4},
}
# (kind, name, params, enabled): office_silent starts disabled, as the office's hours are its own
# to set first (and the silent rule already covers a kiosk gone for a day).
DEFAULT_RULES = [(kind, KIND_LABELS[kind], DEFAULTS[kind], kind != OFFICE_SILENT) for kind in KINDS]
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class ParamError(ValueError):
    """A rule parameter out of range; the message is zh-TW and English."""


def _number(params: dict, key: str, lo: float, hi: float, integer: bool = False) -> float:
    v = params.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi or (integer and v != int(v)):
        raise ParamError(
            f"{key}: 須為 {lo:g}–{hi:g} 的{'整數' if integer else '數字'} must be a number from {lo:g} to {hi:g}"
        )
    return int(v) if integer else float(v)


def minutes_of(text: str) -> int:
    m = _CLOCK.fullmatch(text)
    if m is None:
        raise ParamError(f"時間須為 HH:MM time must be HH:MM, not {text!r}")
    return int(m[1]) * 60 + int(m[2])


def weekdays(text: str) -> frozenset[int]:
    """ "1-5" or "1,3,5" (1 = Monday … 7 = Sunday) as Python weekdays (0 = Monday)."""
    days: set[int] = set()
    for part in str(text).split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ParamError('days: 例如 "1-5"（星期一至五） e.g. "1-5" for Monday to Friday') from None
        if not 1 <= a <= b <= 7:
            raise ParamError('days: 1 = 星期一 … 7 = 星期日 1 = Monday … 7 = Sunday, e.g. "1-5"')
        days.update(range(a - 1, b))
    return frozenset(days)


def check_params(kind: str, params: dict) -> dict:
    """Validated params for a tamper kind, defaults filled in."""
    p = {**DEFAULTS[kind], **params}
    if kind == QUIET:
        return {
            "alpha": _number(p, "alpha", 1e-12, 0.05),
            "lookback_days": _number(p, "lookback_days", 1, 365, True),
            "min_pool": _number(p, "min_pool", 1, 1_000_000, True),
        }
    if kind == SHIFT:
        return {
            "alpha": _number(p, "alpha", 1e-12, 0.05),
            "recent_days": _number(p, "recent_days", 1, 90, True),
            "base_days": _number(p, "base_days", 1, 365, True),
            "min_recent": _number(p, "min_recent", 1, 1_000_000, True),
        }
    if kind == OFFICE_SILENT:
        days = str(p.get("days", ""))
        weekdays(days)
        start, end = str(p.get("start", "")), str(p.get("end", ""))
        if minutes_of(start) >= minutes_of(end):
            raise ParamError("start 須早於 end the office opens before it closes")
        return {
            "days": days,
            "start": start,
            "end": end,
            "minutes": _number(p, "minutes", 1, 24 * 60 * 7),
            "alpha": _number(p, "alpha", 1e-12, 0.05),
        }
    return {}
