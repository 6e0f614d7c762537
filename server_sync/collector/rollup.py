"""Rollups: counts kept beside the events, added in the same transaction (ingest.py calls
``add_rollups`` and ``apply``), so reports and the dashboard never scan the events.

The collector's own rollups (rollups, rollups_day, rollups_month) count presses
per level, unit and window (``add_rollups``). The dashboard also needs the service a rating was
about (queue issue: a rating carries its ticket's service), a sum of squares
for the Happy Index's confidence interval, the hour x weekday heat-map, follow-up
reasons, queue times and case lookups, so it keeps these tables beside them:

* admin_sat_hour  (day, hour of day, unit, window, service): counts per level, misuse,
  Happy Index sum and sum of squares, unhappy count;
* admin_sat_month (month, weekday, hour of day, unit, window, service): the same, so a
  year of heat-map reads a few thousand rows;
* admin_sat_day, admin_sat_mon: the same without the hour, for totals, trends and rankings;
* admin_reason_day, admin_queue_hour, admin_queue_hist (whole-minute histogram of waits
  and service times, for the p90), admin_case_day.

Both sets also have a copy without the window (issue 15: reading per window made a 500-window
office's "hour, last 7 days" report take 0.5 s): rollups_unit_hour/_day/_month (period, unit,
the kiosk's button count for the Happy Index, level, misuse) for the report's unit, day and hour
groups, and admin_sat_*_unit for every dashboard figure that neither filters nor groups by window.
They are added in the same transaction as the rest, so they always agree with the per-window rows.

Event shapes read (extra fields of an event arrive in its ``detail``):

* rating: ``service`` or ``ticket.service`` (optional);
* reason: ``reason`` code, ``ref`` = the rating's id (its service is looked up);
* ticket_issued: ``service``, ``estimate_seconds``, ``estimate_band`` ("lt5", "5-10", "30+":
  minutes); ticket_called: ``service``, ``wait_seconds`` (from issue to this call), ``recall``
  true on a repeated call (not counted again), the estimate either on the call
  (``estimate_seconds``, ``estimate_low``/``estimate_high``) or looked up on the ticket_issued
  event its ``ref`` names; ticket_served: ``service_seconds`` (first call to the next call;
  also accepted on ticket_called); ticket_no_show: ``service``;
* case_lookup: ``result`` found | not_found | locked | rate_limited.

Services and reasons are named only if known (labels.py), others count as 其他 other; every number
is checked at ingest (ingest.prepare), and read here again as if it were not: a row stored before
those checks must not put an infinity into a figure.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable
from datetime import date
from functools import lru_cache

from server_sync.collector import labels
from server_sync.collector.event_row import COLUMNS, EventRow
from server_sync.collector.stats import happy_points, is_unhappy
from server_sync.collector.timestamps import MAX_EPOCH, MIN_EPOCH, local_hour
from server_sync.wire.events import MAX_SECONDS, parse_band

# (table, period column, length of the 'YYYY-MM-DD HH' hour key that names the period)
ROLLUP_TABLES = (("rollups", "hour", 13), ("rollups_day", "day", 10), ("rollups_month", "month", 7))
UPSERT_ROLLUP = {
    table: (
        f"INSERT INTO {table} ({period}, kiosk, unit, window, level, misuse, n) VALUES (?,?,?,?,?,?,?)"
        f" ON CONFLICT ({period}, kiosk, unit, window, level, misuse) DO UPDATE SET n = n + excluded.n"
    )
    for table, period, _ in ROLLUP_TABLES
}

SAT_FIELDS = ("l1", "l2", "l3", "l4", "l5", "misuse", "happy_sum", "happy_sq", "unhappy")
QUEUE_FIELDS = (
    "issued",
    "called",
    "no_show",
    "wait_n",
    "wait_sum",
    "service_n",
    "service_sum",
    "est_n",
    "est_err_sum",
    "band_n",
    "in_band",
)
WAIT_KEYS = ("wait_seconds", "wait_s", "wait")
SERVICE_TIME_KEYS = ("service_seconds", "service_time_seconds", "service_time", "service_s")
ESTIMATE_KEYS = ("estimate_seconds", "estimated_wait_seconds", "wait_estimate_seconds", "estimate")


def _upsert(table: str, keys: tuple[str, ...], fields: tuple[str, ...]) -> str:
    cols = (*keys, *fields)
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(f"{f} = {f} + excluded.{f}" for f in fields)
    )


SQL = {
    "sat_hour": _upsert("admin_sat_hour", ("day", "hod", "unit", "window", "service"), SAT_FIELDS),
    "sat_month": _upsert("admin_sat_month", ("month", "dow", "hod", "unit", "window", "service"), SAT_FIELDS),
    "sat_day": _upsert("admin_sat_day", ("day", "unit", "window", "service"), SAT_FIELDS),
    "sat_mon": _upsert("admin_sat_mon", ("month", "unit", "window", "service"), SAT_FIELDS),
    # The same per unit, for the figures that do not look at windows (created by m510_unit_rollups).
    "sat_hour_u": _upsert("admin_sat_hour_unit", ("day", "hod", "unit", "service"), SAT_FIELDS),
    "sat_month_u": _upsert("admin_sat_month_unit", ("month", "dow", "hod", "unit", "service"), SAT_FIELDS),
    "sat_day_u": _upsert("admin_sat_day_unit", ("day", "unit", "service"), SAT_FIELDS),
    "sat_mon_u": _upsert("admin_sat_mon_unit", ("month", "unit", "service"), SAT_FIELDS),
    "reason": _upsert("admin_reason_day", ("day", "unit", "window", "service", "reason"), ("n",)),
    "queue": _upsert("admin_queue_hour", ("day", "hod", "unit", "window", "service"), QUEUE_FIELDS),
    "hist": _upsert("admin_queue_hist", ("day", "unit", "window", "service", "metric", "minute"), ("n",)),
    "case": _upsert("admin_case_day", ("day", "unit", "window", "result"), ("n",)),
}


# The report's rollups without kiosk and window: (period, unit, levels, level, misuse) -> n.
UNIT_ROLLUP_TABLES = (
    ("rollups_unit_hour", "hour", 13),
    ("rollups_unit_day", "day", 10),
    ("rollups_unit_month", "month", 7),
)
UNIT_OF = {"rollups": "rollups_unit_hour", "rollups_day": "rollups_unit_day", "rollups_month": "rollups_unit_month"}
UPSERT_UNIT_ROLLUP = {
    table: (
        f"INSERT INTO {table} ({period}, unit, levels, level, misuse, n) VALUES (?,?,?,?,?,?)"
        f" ON CONFLICT ({period}, unit, levels, level, misuse) DO UPDATE SET n = n + excluded.n"
    )
    for table, period, _ in UNIT_ROLLUP_TABLES
}


def add_rollups(conn: sqlite3.Connection, kiosk_id: int, hourly: dict[tuple, int]) -> None:
    """Add hourly counts {(hour, unit, window, level, misuse): n} to the hour, day and month rollups,
    per kiosk and window and (the kiosk's button count beside them) per unit."""
    row = conn.execute("SELECT levels FROM kiosks WHERE id = ?", [kiosk_id]).fetchone()
    levels = row[0] if row else 5
    for (table, _, cut), (unit_table, _, _) in zip(ROLLUP_TABLES, UNIT_ROLLUP_TABLES):
        if cut == 13:
            counts = hourly
        else:
            counts = {}
            for (h, u, w, lv, m), n in hourly.items():
                key = (h[:cut], u, w, lv, m)
                counts[key] = counts.get(key, 0) + n
        conn.executemany(
            UPSERT_ROLLUP[table], [(p, kiosk_id, u, w, lv, int(m), n) for (p, u, w, lv, m), n in counts.items()]
        )
        per_unit: dict[tuple, int] = {}
        for (p, u, _w, lv, m), n in counts.items():
            unit_key = (p, u, lv, int(m))
            per_unit[unit_key] = per_unit.get(unit_key, 0) + n
        conn.executemany(
            UPSERT_UNIT_ROLLUP[unit_table], [(p, u, levels, lv, m, n) for (p, u, lv, m), n in per_unit.items()]
        )


@lru_cache(maxsize=8192)
def weekday(day: str) -> int:
    """0 = Monday … 6 = Sunday."""
    return date.fromisoformat(day).weekday()


def _num(detail: dict, keys) -> float | None:
    for k in keys:
        v = detail.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < MAX_SECONDS:
            return float(v)
    return None


def service_of(detail: dict | None) -> str:
    if not detail:
        return ""
    s = detail.get("service")
    if s is None and isinstance(detail.get("ticket"), dict):
        s = detail["ticket"].get("service")
    if isinstance(s, dict):  # a service object: its code or id
        s = s.get("code") or s.get("id") or s.get("name")
    return "" if s is None else str(s)[:200]


@lru_cache(maxsize=64)
def _rating_values(level: int, L: int, misuse: bool) -> tuple:
    if misuse:
        return (0, 0, 0, 0, 0, 1, 0.0, 0.0, 0)
    p = happy_points(level, L)
    counts = [0, 0, 0, 0, 0]
    counts[min(max(level, 1), 5) - 1] = 1
    return (*counts, 0, p, p * p, int(is_unhappy(level, L)))


def band_seconds(key) -> tuple[float | None, float | None]:
    """The wait band a kiosk showed ("lt5", "5-10", "30+", in minutes) as seconds; (None, None) if none
    or malformed (parsed strictly: "lt1e308" is no band, not an infinity)."""
    band = parse_band(key)
    return (None, None) if band is None else band


class Increments:
    """Counts to add. Ratings, the bulk of events, are only counted per (hour, dims, level) here and
    expanded into the rollups' columns once per key in ``write``."""

    def __init__(self):
        self.t: dict[str, dict[tuple, list]] = {k: {} for k in SQL}
        self.ratings: dict[tuple, int] = {}

    def add(self, table: str, key: tuple, values: tuple) -> None:
        acc = self.t[table].get(key)
        if acc is None:
            self.t[table][key] = list(values)
        else:
            for i, v in enumerate(values):
                acc[i] += v

    def merge(self, other: Increments) -> None:
        for table, rows in other.t.items():
            for key, values in rows.items():
                self.add(table, key, tuple(values))
        r = self.ratings
        for key, n in other.ratings.items():
            r[key] = r.get(key, 0) + n

    def write(self, conn: sqlite3.Connection, *, units: bool = True) -> None:
        """Add everything counted to the rollups. units=False leaves the per-unit copies out
        (``rebuild`` in a migration older than the tables; it derives them afterwards)."""
        for (hour, unit, window, service, level, misuse, L), n in self.ratings.items():
            day, hod = hour[:10], int(hour[11:13])
            vals = tuple(v * n for v in _rating_values(level, L, misuse))
            dow = weekday(day)
            self.add("sat_hour", (day, hod, unit, window, service), vals)
            self.add("sat_month", (day[:7], dow, hod, unit, window, service), vals)
            self.add("sat_day", (day, unit, window, service), vals)
            self.add("sat_mon", (day[:7], unit, window, service), vals)
            if units:
                self.add("sat_hour_u", (day, hod, unit, service), vals)
                self.add("sat_month_u", (day[:7], dow, hod, unit, service), vals)
                self.add("sat_day_u", (day, unit, service), vals)
                self.add("sat_mon_u", (day[:7], unit, service), vals)
        self.ratings = {}
        for table, rows in self.t.items():
            if rows:
                conn.executemany(SQL[table], [(*k, *v) for k, v in rows.items()])


def collect(rows: Iterable[EventRow], kiosk_levels, lookup=None, known: labels.Known | None = None) -> Increments:
    """Increments for new event rows. kiosk_levels: buttons on the kiosk (an int, or a dict
    kiosk id -> levels). lookup(kiosk, event_id) -> (type, detail dict) for refs, or None.
    known: the codes figures name (labels.load); None names every code (tests, benchmarks)."""
    inc = Increments()
    svc_label = known.service if known is not None else (lambda s: s)
    reason_label = known.reason if known is not None else (lambda s: s[:64])
    ratings = inc.ratings
    fixed_levels = kiosk_levels if isinstance(kiosk_levels, int) else None
    for r in rows:
        etype = r.type
        corrected = r.corrected_at
        if etype == "rating":  # the hot path: no JSON unless the rating carries extra fields
            level = r.level
            if level is None or not MIN_EPOCH <= corrected <= MAX_EPOCH:
                continue
            service = ""
            if r.detail:
                d = json.loads(r.detail)
                service = svc_label(service_of(d)) if isinstance(d, dict) else ""
            key = (
                local_hour(corrected),
                r.unit,
                r.window,
                service,
                level,
                bool(r.misuse),
                fixed_levels or kiosk_levels.get(r.kiosk, 5),
            )
            ratings[key] = ratings.get(key, 0) + 1
            continue
        if etype != "reason" and not etype.startswith(("ticket_", "case_")):
            continue
        if not MIN_EPOCH <= corrected <= MAX_EPOCH:
            continue
        hour = local_hour(corrected)
        day, hod = hour[:10], int(hour[11:13])
        unit, window = r.unit, r.window
        detail = json.loads(r.detail) if r.detail else {}
        if not isinstance(detail, dict):
            detail = {}
        if etype == "reason":
            code = detail.get("reason")
            if not isinstance(code, str) or not code:
                continue
            service = service_of(detail)
            if not service and r.ref and lookup is not None:
                found = lookup(r.kiosk, r.ref)
                if found:
                    service = service_of(found[1])
            inc.add("reason", (day, unit, window, svc_label(service), reason_label(code)), (1,))
        elif etype == "case_lookup":
            result = detail.get("result")
            result = result if result in ("found", "not_found", "locked", "rate_limited") else "other"
            inc.add("case", (day, unit, window, result), (1,))
        elif etype == "ticket_served":  # the service time, from the ticket's first call to the next call
            svc_time = _num(detail, SERVICE_TIME_KEYS)
            if svc_time is not None:
                service = svc_label(service_of(detail))
                q: list[float] = [0] * len(QUEUE_FIELDS)  # counts are ints, sums seconds
                q[5], q[6] = 1, svc_time
                inc.add("queue", (day, hod, unit, window, service), tuple(q))
                inc.add("hist", (day, unit, window, service, "service", int(svc_time // 60)), (1,))
        elif etype in ("ticket_issued", "ticket_called", "ticket_no_show"):
            service = svc_label(service_of(detail))
            q = [0] * len(QUEUE_FIELDS)
            if etype == "ticket_issued":
                q[0] = 1
            elif etype == "ticket_no_show":
                q[2] = 1
            elif not detail.get("recall"):
                q[1] = 1
                wait = _num(detail, WAIT_KEYS)
                if wait is not None:
                    q[3], q[4] = 1, wait
                    inc.add("hist", (day, unit, window, service, "wait", int(wait // 60)), (1,))
                    est_detail = detail
                    if (
                        _num(detail, ESTIMATE_KEYS) is None
                        and "estimate_low" not in detail
                        and r.ref
                        and lookup is not None
                    ):
                        found = lookup(r.kiosk, r.ref)
                        est_detail = found[1] if found else {}
                        if service_of(est_detail) not in ("", service_of(detail)):
                            # A call in the line a ticket was transferred to (an office's queue host):
                            # the ticket's estimate was for its first line, not this one.
                            est_detail = {}
                    lo, hi = _num(est_detail, ("estimate_low",)), _num(est_detail, ("estimate_high",))
                    if lo is None and hi is None:
                        lo, hi = band_seconds(est_detail.get("estimate_band"))
                    est = _num(est_detail, ESTIMATE_KEYS)
                    if est is None and lo is not None and hi is not None:
                        est = (lo + hi) / 2
                    if est is not None and math.isfinite(est):
                        q[7], q[8] = 1, abs(wait - est)
                    if lo is not None and hi is not None:
                        q[9], q[10] = 1, int(lo <= wait <= hi)
                svc_time = _num(detail, SERVICE_TIME_KEYS)
                if svc_time is not None:
                    q[5], q[6] = 1, svc_time
                    inc.add("hist", (day, unit, window, service, "service", int(svc_time // 60)), (1,))
            inc.add("queue", (day, hod, unit, window, service), tuple(q))
    return inc


def _lookup(conn: sqlite3.Connection):
    def look(kiosk: int, event_id: str):
        row = conn.execute("SELECT type, detail FROM events WHERE kiosk = ? AND id = ?", [kiosk, event_id]).fetchone()
        if row is None:
            return None
        d = json.loads(row[1]) if row[1] else {}
        return row[0], d if isinstance(d, dict) else {}

    return look


def apply(conn: sqlite3.Connection, kiosk_levels: int, rows: list[EventRow], known: labels.Known | None = None) -> None:
    """The ingest hook: add the new rows (already inserted, same transaction) to the rollups."""
    collect(rows, kiosk_levels, _lookup(conn), known if known is not None else labels.load(conn)).write(conn)


ADMIN_TABLES = (
    "admin_sat_hour",
    "admin_sat_month",
    "admin_sat_day",
    "admin_sat_mon",
    "admin_reason_day",
    "admin_queue_hour",
    "admin_queue_hist",
    "admin_case_day",
)
QUEUE_TABLES = {"admin_queue_hour": "queue", "admin_queue_hist": "hist"}


def rebuild(conn: sqlite3.Connection, tables: tuple[str, ...] = ADMIN_TABLES) -> None:
    """Fill the dashboard's rollups (``tables`` of them) from every stored event: the migration,
    on a database with history."""
    levels = dict(conn.execute("SELECT id, levels FROM kiosks"))
    for table in tables:
        conn.execute(f"DELETE FROM {table}")
    queue_only = set(tables) <= set(QUEUE_TABLES)
    where = (
        "type LIKE 'ticket\\_%' ESCAPE '\\'"
        if queue_only
        else "type = 'rating' OR type = 'reason' OR type LIKE 'ticket\\_%' ESCAPE '\\'"
        " OR type LIKE 'case\\_%' ESCAPE '\\'"
    )
    cur = conn.execute(f"SELECT {COLUMNS} FROM events WHERE {where} ORDER BY pk")
    look = _lookup(conn)
    known = labels.load(conn)
    keep = {QUEUE_TABLES[t] for t in tables} if queue_only else None
    while True:
        chunk = cur.fetchmany(50_000)
        if not chunk:
            break
        inc = collect(map(EventRow._make, chunk), levels, look, known)
        if keep is not None:
            inc.ratings = {}
            inc.t = {k: (v if k in keep else {}) for k, v in inc.t.items()}
        inc.write(conn, units=False)
    if not queue_only and _has_table(conn, "admin_sat_hour_unit"):
        derive_unit_rollups(conn, report=False)


# -- the per-unit copies (migration m510_unit_rollups) ------------------------------------

_SAT_COLS = ", ".join(f"{f} {'REAL' if f.startswith('happy') else 'INTEGER'} NOT NULL DEFAULT 0" for f in SAT_FIELDS)
# unit table: (the per-window table it sums, its key)
UNIT_SAT_TABLES = {
    "admin_sat_hour_unit": ("admin_sat_hour", ("day", "hod", "unit", "service")),
    "admin_sat_month_unit": ("admin_sat_month", ("month", "dow", "hod", "unit", "service")),
    "admin_sat_day_unit": ("admin_sat_day", ("day", "unit", "service")),
    "admin_sat_mon_unit": ("admin_sat_mon", ("month", "unit", "service")),
}
_KEY_TYPES = {"hod": "INTEGER", "dow": "INTEGER"}


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone() is not None


def create_unit_tables(conn: sqlite3.Connection) -> None:
    """The report's and the dashboard's per-unit rollups (empty: ``derive_unit_rollups`` fills them)."""
    for table, period, doc in zip(
        UNIT_OF.values(), ("hour", "day", "month"), ("'YYYY-MM-DD HH'", "'YYYY-MM-DD'", "'YYYY-MM'")
    ):
        conn.execute(f"""
            CREATE TABLE {table} (
                {period} TEXT NOT NULL,            -- {doc}, Asia/Taipei
                unit TEXT NOT NULL,
                levels INTEGER NOT NULL,           -- the kiosks' buttons: the Happy Index's scale
                level INTEGER NOT NULL,
                misuse INTEGER NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY ({period}, unit, levels, level, misuse)
            ) WITHOUT ROWID
        """)
    for table, (_, key) in UNIT_SAT_TABLES.items():
        cols = ", ".join(f"{k} {_KEY_TYPES.get(k, 'TEXT')} NOT NULL" for k in key)
        conn.execute(f"CREATE TABLE {table} ({cols}, {_SAT_COLS}, PRIMARY KEY ({', '.join(key)})) WITHOUT ROWID")


def derive_unit_rollups(conn: sqlite3.Connection, *, report: bool = True, dashboard: bool = True) -> None:
    """Fill the per-unit rollups again as sums of the per-window ones (the migration's backfill)."""
    if report:
        for (table, period, _), unit_table in zip(ROLLUP_TABLES, UNIT_OF.values()):
            conn.execute(f"DELETE FROM {unit_table}")
            conn.execute(
                f"INSERT INTO {unit_table} ({period}, unit, levels, level, misuse, n)"
                f" SELECT r.{period}, r.unit, coalesce(k.levels, 5), r.level, r.misuse, sum(r.n)"
                f" FROM {table} r LEFT JOIN kiosks k ON k.id = r.kiosk GROUP BY 1, 2, 3, 4, 5"
            )
    if dashboard:
        sums = ", ".join(f"sum({f})" for f in SAT_FIELDS)
        for table, (source, key) in UNIT_SAT_TABLES.items():
            keys = ", ".join(key)
            conn.execute(f"DELETE FROM {table}")
            conn.execute(
                f"INSERT INTO {table} ({keys}, {', '.join(SAT_FIELDS)})"
                f" SELECT {keys}, {sums} FROM {source} GROUP BY {keys}"
            )
