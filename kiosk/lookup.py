"""Case-status lookup on the kiosk: one set of checks for the touchscreen and `kiosk lookup`.

Order of the checks, and why:

1. The kiosk's allowance (a token bucket: ``rate_burst`` failed lookups at once,
   then ``rate_per_minute``). Only failures spend it, so visitors who know their
   code are never slowed; someone trying many case numbers is.
2. The case number's lockout: ``lock_after`` wrong codes in a row lock that number
   on this kiosk for ``lock_minutes``. Unknown numbers count and lock exactly like
   known ones, otherwise a sixth try would tell whether a case exists.
3. The code, against the salted scrypt hash from the collector. An unknown case is
   checked against a dummy hash of the same cost, so the answer's timing does not
   tell either. Unknown case and wrong code give the same message.

Every lookup is stored (``case_lookup`` event: result and where from; never the
case number, which at the collector would link the event to a name, nor the code)
and the counters updated, both durably, before the result is returned for showing. Times are the wall clock of the kiosk's clock, so the
screen and the command share one lockout; a lock that seems to last longer than
``lock_minutes`` (the clock jumped back) is treated as over.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk import i18n
from kiosk.store import SideTables, Store, unavailable
from server_sync.wire import cases as wire_cases
from server_sync.wire.tz import OFFICE_TZ

EVENT = "case_lookup"
RESULTS = ("found", "not_found", "locked", "rate_limited")


def format_date(iso: str | None, lang: str) -> str:
    """2024-05-01 in English; 民國 113/05/01 in Chinese, as Taiwanese offices write it."""
    if not iso:
        return ""
    if lang == "en":
        return iso
    year, month, day = iso.split("-")
    return f"{int(year) - 1911}/{month}/{day}"


@dataclass(frozen=True)
class Stage:
    stage: str
    stage_en: str
    date: str

    def label(self, lang: str) -> str:
        return self.stage_en if lang == "en" and self.stage_en else self.stage


@dataclass(frozen=True)
class CaseView:
    """What a visitor may see of a case."""

    case_no: str
    case_type: str
    case_type_en: str
    name: str  # masked at the collector
    stages: tuple[Stage, ...]
    unit: str
    unit_en: str
    extension: str
    due_date: str | None
    closed_date: str | None

    @property
    def current(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def type_label(self, lang: str) -> str:
        return self.case_type_en if lang == "en" and self.case_type_en else self.case_type

    def unit_label(self, lang: str) -> str:
        return self.unit_en if lang == "en" and self.unit_en else self.unit

    def as_json(self) -> dict[str, Any]:
        cur = self.current
        return {
            "case_no": self.case_no,
            "case_type": self.case_type,
            "case_type_en": self.case_type_en,
            "name": self.name,
            "stages": [s.__dict__ for s in self.stages],
            "current_stage": cur.stage if cur else None,
            "current_stage_en": cur.stage_en if cur else None,
            "current_since": cur.date if cur else None,
            "expected_completion": self.due_date,
            "closed_date": self.closed_date,
            "unit": self.unit,
            "unit_en": self.unit_en,
            "extension": self.extension,
        }


@dataclass
class LookupResult:
    result: str  # one of RESULTS
    case: CaseView | None = None
    now_locked: bool = False  # this wrong code was the one that locked the case number
    retry_after: float = 0.0  # seconds, for locked and rate_limited
    lock_minutes: int = 15
    event_seq: int | None = None

    def message(self, lang: str) -> str:
        """The text shown for anything but a found case ('' when found)."""
        if self.result == "found":
            return ""
        if self.result == "rate_limited":
            return i18n.text("lookup_rate_limited", lang, seconds=max(1, round(self.retry_after)))
        if self.result == "locked":
            return i18n.text("lookup_locked", lang, minutes=max(1, -(-int(self.retry_after) // 60)))
        text = i18n.text("lookup_not_found", lang)
        if self.now_locked:
            text += ("。" if lang != "en" else ". ") + i18n.text("lookup_now_locked", lang, minutes=self.lock_minutes)
        return text

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"result": self.result}
        if self.case is not None:
            out["case"] = self.case.as_json()
        else:
            out["message"] = self.message("zh-TW")
            out["message_en"] = self.message("en")
        if self.retry_after:
            out["retry_after"] = round(self.retry_after, 1)
        return out


def _dummy_verifier() -> str:
    # At the collector's current cost, so checking an unknown case takes as long as a known one.
    return wire_cases.verifier(
        wire_cases.kdf_name(), secrets.token_bytes(16), secrets.token_bytes(wire_cases.DIGEST_BYTES)
    )


@dataclass
class CaseLookup(SideTables):
    """Lookups against the cases synced into ``store``'s file.

    check: the hash check (``server_sync.wire.cases.check``); the lookup benchmark swaps in a free one.
    """

    lock_after: int = 5
    lock_minutes: float = 15
    rate_burst: int = 10
    rate_per_minute: float = 2.0
    check: Callable[[str, str], bool] = wire_cases.check
    _dummy: str = field(default_factory=_dummy_verifier, repr=False)

    @classmethod
    def from_config(cls, store: Store, config) -> CaseLookup:
        return cls(
            store,
            lock_after=config["lookup.lock_after"],
            lock_minutes=config["lookup.lock_minutes"],
            rate_burst=config["lookup.rate_burst"],
            rate_per_minute=config["lookup.rate_per_minute"],
        )

    @property
    def clock(self):
        return self.store.clock

    # -- reading ------------------------------------------------------------------
    def find(self, case_no: str) -> tuple[CaseView, str] | None:
        """The case and its verifier, if this kiosk holds it and may still show it."""
        row = (
            self.conn()
            .execute(
                "SELECT case_no, case_type, case_type_en, name, stages, unit, unit_en, extension, due_date,"
                " closed_date, hide_after, verifier FROM cases WHERE case_no = ?",
                [case_no],
            )
            .fetchone()
        )
        if row is None:
            return None
        hide_after = row[10]
        if hide_after and hide_after < self.clock.now().astimezone(OFFICE_TZ).date().isoformat():
            return None  # closed long enough ago: gone even if the kiosk has been offline since
        stages = tuple(
            Stage(s.get("stage", ""), s.get("stage_en", "") or "", s.get("date", "")) for s in json.loads(row[4])
        )
        return CaseView(row[0], row[1], row[2], row[3], stages, row[5], row[6], row[7], row[8], row[9]), row[11]

    def count(self) -> int:
        return self.conn().execute("SELECT count(*) FROM cases").fetchone()[0]

    def _bucket(self, conn, now: float) -> float:
        row = conn.execute("SELECT tokens, at FROM lookup_bucket WHERE id = 1").fetchone()
        if row is None:
            return float(self.rate_burst)
        tokens, at = row
        return min(float(self.rate_burst), tokens + max(0.0, now - at) * self.rate_per_minute / 60.0)

    def _lock_left(self, conn, case_no: str, now: float) -> float:
        row = conn.execute("SELECT locked_until FROM lookup_failures WHERE case_no = ?", [case_no]).fetchone()
        if row is None or row[0] is None:
            return 0.0
        left = row[0] - now
        return left if 0 < left <= self.lock_minutes * 60 else 0.0

    # -- the lookup ------------------------------------------------------------------
    def lookup(self, case_no: str, code: str, *, source: str = "screen") -> LookupResult:
        """Check, count, store the event, then return what to show. Raises StoreUnavailable
        (nothing is shown then) and ValueError for an empty case number or code."""
        case_no, code = wire_cases.normalize_case_no(case_no), wire_cases.normalize_code(code)
        if not case_no or not code:
            raise ValueError("case number and code are both needed")
        now = self.clock.now().timestamp()
        lock_seconds = self.lock_minutes * 60
        try:
            conn = self.conn()
            tokens = self._bucket(conn, now)
            lock_left = self._lock_left(conn, case_no, now)
        except sqlite3.Error as exc:
            raise unavailable(exc, self.store.data_dir) from exc
        result = LookupResult("not_found", lock_minutes=int(round(self.lock_minutes)))
        if tokens < 1.0:
            result.result = "rate_limited"
            result.retry_after = (1.0 - tokens) * 60.0 / self.rate_per_minute
        elif lock_left:
            result.result, result.retry_after = "locked", lock_left
        else:
            found = self.find(case_no)
            ok = self.check(code, found[1] if found else self._dummy)
            if ok and found is not None:
                result.result, result.case = "found", found[0]
        try:
            self._record(result, case_no, now, lock_seconds)
        except sqlite3.Error as exc:
            raise unavailable(exc, self.store.data_dir) from exc
        event = self.store.append(EVENT, detail={"result": result.result, "source": source})
        result.event_seq = event.seq
        return result

    def _record(self, result: LookupResult, case_no: str, now: float, lock_seconds: float) -> None:
        """Update the counters for this outcome in one durable transaction."""
        if result.result in ("rate_limited", "locked"):
            return  # nothing was checked: nothing to count
        conn = self.conn()
        if (
            result.result == "found"
            and not conn.execute("SELECT 1 FROM lookup_failures WHERE case_no = ?", [case_no]).fetchone()
        ):
            return  # no wrong codes to forget: spare the SD card a write
        conn.execute("BEGIN IMMEDIATE")
        try:
            if result.result == "found":
                conn.execute("DELETE FROM lookup_failures WHERE case_no = ?", [case_no])
            else:
                row = conn.execute(
                    "SELECT failures, last_at FROM lookup_failures WHERE case_no = ?", [case_no]
                ).fetchone()
                # Wrong codes further apart than a lock's length do not add up.
                failures = 1 if row is None or not (0 <= now - row[1] <= lock_seconds) else row[0] + 1
                locked_until = None
                if failures >= self.lock_after:
                    locked_until, failures = now + lock_seconds, 0
                    result.now_locked = True
                conn.execute(
                    "INSERT OR REPLACE INTO lookup_failures (case_no, failures, last_at, locked_until)"
                    " VALUES (?,?,?,?)",
                    [case_no, failures, now, locked_until],
                )
                tokens = self._bucket(conn, now) - 1.0
                conn.execute(
                    "INSERT OR REPLACE INTO lookup_bucket (id, tokens, at) VALUES (1, ?, ?)", [max(tokens, 0.0), now]
                )
                # Old counters say nothing any more; keep the table small.
                conn.execute(
                    "DELETE FROM lookup_failures WHERE last_at < ? AND coalesce(locked_until, 0) < ?",
                    [now - 2 * lock_seconds, now],
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def render_text(result: LookupResult, lang: str = "zh-TW") -> str:
    """What the screen shows, as plain text for staff (`kiosk lookup`)."""
    case = result.case
    if case is None:
        zh, en = result.message("zh-TW"), result.message("en")
        return f"{zh}\n{en}\n"
    cur = case.current
    lines = [
        f"案件編號 Case number: {case.case_no}",
        f"案件類別 Case type: {case.case_type}" + (f" / {case.case_type_en}" if case.case_type_en else ""),
        f"申請人 Applicant: {case.name}",
        f"目前階段 Current stage: {cur.stage if cur else ''}"
        + (f" / {cur.stage_en}" if cur and cur.stage_en else "")
        + (f" ({format_date(cur.date, 'zh-TW')} / {cur.date})" if cur else ""),
        "預計完成 Expected completion: "
        + (f"{format_date(case.due_date, 'zh-TW')} / {case.due_date}" if case.due_date else "-"),
    ]
    if case.closed_date:
        lines.append(f"結案日期 Closed: {format_date(case.closed_date, 'zh-TW')} / {case.closed_date}")
    lines.append(
        f"承辦單位 Handling unit: {case.unit}"
        + (f" / {case.unit_en}" if case.unit_en else "")
        + (f"  分機 ext. {case.extension}" if case.extension else "")
    )
    lines.append("進度 Timeline:")
    for i, st in enumerate(case.stages):
        mark = "  ← 目前 current" if i == len(case.stages) - 1 else ""
        lines.append(f"  {st.date}  {st.stage}" + (f" / {st.stage_en}" if st.stage_en else "") + mark)
    return "\n".join(lines) + "\n"
