"""Alert rules, evaluated as events arrive, delivered by webhook and e-mail from a background thread.

Nothing here runs inside the ingest transaction. After each stored batch the API
calls ``AlertWorker.notify()``, which only sets a flag; the worker thread then,
on its own connection, in rounds at most ``gather_seconds`` apart while batches keep
arriving (a reconnect storm's hundreds of batches a second cost one round a second,
not one each), and taking the ingest writer's lock around each of its write
transactions (the two writers then take turns in this process instead of meeting
SQLite's busy wait):

1. reads the events stored since its watermark (``admin_meta.alerts_pk``, the
   events table's primary key) and applies the rules; the alerts it raises, the
   deliveries it queues and the new watermark commit together, so every event
   is evaluated exactly once, even across a crash or restart;
2. looks for kiosks silent longer than a silent rule allows;
3. sends due deliveries (webhook POST, SMTP), retrying failures with a delay that
   doubles from ``alerts.retry_seconds`` up to an hour, ``alerts.max_attempts`` times.

A slow or dead webhook or mail server therefore never slows or fails ingest.

One worker for the whole collector, however many processes serve (``serve --workers N``): the
worker that holds an exclusive ``flock`` on ``collector.db.alerts-lock`` beside the database runs
the rounds; the others stand by and try the lock every few seconds. The kernel drops the lock
when its process dies, so another takes over; no delivery is ever sent by two processes.

Rule kinds (params as JSON):

* ``level``: ``{"level": L}`` any counted rating at level L or worse; ``0`` = the
  kiosk's worst button (非常不滿意). One alert per rating.
* ``window_unhappy``: ``{"minutes": 15, "share": 0.5, "min_n": 4}`` at least
  ``share`` of the counted ratings at one window within ``minutes`` are unhappy
  (stats.is_unhappy), with at least ``min_n`` ratings. One alert per window and span.
* ``silent``: ``{"hours": 24}`` a kiosk has not synced for more than ``hours``.
  One alert per silence (a kiosk that syncs again and falls silent again alerts again).

Ratings older than ``alerts.max_age_hours`` (default 24) when they arrive raise no
alert: a kiosk's backlog after a week offline is history, not an emergency.

Every alert stays on the dashboard until someone acknowledges it with a note.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import smtplib
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from server_sync.collector import db as dbmod
from server_sync.collector import options
from server_sync.collector.stats import is_unhappy
from server_sync.collector.tamper import data as tamper_data
from server_sync.collector.tamper import rules as tamper_rules

log = logging.getLogger(__name__)
OFFICE_TZ = ZoneInfo("Asia/Taipei")
KINDS = ("level", "window_unhappy", "silent", *tamper_rules.KINDS)
CHANNELS = ("webhook", "email")
KIND_LABELS = {
    "level": "單筆評分 single rating",
    "window_unhappy": "窗口短時間不滿意 unhappy window",
    "silent": "機台未連線 silent kiosk",
    **tamper_rules.KIND_LABELS,
}
TAMPER_CHECK_SECONDS = 900.0  # the statistical tamper checks read weeks of rollups: every 15 minutes is enough
# ... and the first of them waits this long after the worker starts: they take ~2 CPU-s at 500
# windows, and a collector just (re)started first has its fleet's reconnect storm to take.
FIRST_TAMPER_SECONDS = 120.0
SMTP_PASSWORD_ENV = "KIOSK_COLLECTOR_SMTP_PASSWORD"
WEBHOOK_SECRET_ENV = "KIOSK_COLLECTOR_WEBHOOK_SECRET"
MAX_RETRY_DELAY = 3600.0
GATHER_SECONDS = 1.0  # at most one round a second while batches keep arriving
STANDBY_SECONDS = 5.0  # how often a standby process tries to become the alert worker


class RuleError(ValueError):
    pass


def _now_iso(t: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if t is None else t, UTC).isoformat(timespec="seconds")


def office_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, OFFICE_TZ).strftime("%Y-%m-%d %H:%M")


# -- rules ---------------------------------------------------------------------------


def check_params(kind: str, params: dict) -> dict:
    """Validated params for a rule kind (defaults filled in); RuleError names what is wrong."""
    if kind not in KINDS:
        raise RuleError(f"規則種類錯誤 rule kind must be one of {', '.join(KINDS)}")
    if not isinstance(params, dict):
        raise RuleError("參數須為 JSON 物件 params must be a JSON object")
    if kind in tamper_rules.KINDS:
        try:
            return tamper_rules.check_params(kind, params)
        except tamper_rules.ParamError as exc:
            raise RuleError(str(exc)) from None

    def number(key, default, lo, hi, integer=False):
        v = params.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi or (integer and v != int(v)):
            raise RuleError(
                f"{key}: 須為 {lo}–{hi} 的{'整數' if integer else '數字'} must be a "
                f"{'whole ' if integer else ''}number from {lo} to {hi}"
            )
        return int(v) if integer else float(v)

    if kind == "level":
        return {"level": number("level", 0, 0, 5, True)}
    if kind == "window_unhappy":
        return {
            "minutes": number("minutes", 15, 1, 24 * 60, True),
            "share": number("share", 0.5, 0.01, 1),
            "min_n": number("min_n", 4, 1, 10_000, True),
        }
    return {"hours": number("hours", 24, 0.001, 24 * 365)}


def _channels(text: str) -> str:
    chans = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in chans if c not in CHANNELS]
    if bad:
        raise RuleError(f"通知管道錯誤 unknown channel {bad[0]!r}: use webhook, email")
    return ",".join(dict.fromkeys(chans))


def add_rule(
    conn, kind: str, name: str, params: dict, *, unit: str = "", channels: str = "webhook,email", enabled: bool = True
) -> int:
    params = check_params(kind, params)
    name = name.strip() or KIND_LABELS[kind]
    cur = conn.execute(
        "INSERT INTO alert_rules (kind, name, params, unit, channels, enabled, created_at) VALUES (?,?,?,?,?,?,?)",
        [kind, name[:200], json.dumps(params), unit.strip(), _channels(channels), int(enabled), _now_iso()],
    )
    return cur.lastrowid


def update_rule(conn, rule_id: int, *, name: str, params: dict, unit: str, channels: str, enabled: bool) -> None:
    row = conn.execute("SELECT kind FROM alert_rules WHERE id = ?", [rule_id]).fetchone()
    if row is None:
        raise RuleError(f"沒有此規則 no rule {rule_id}")
    params = check_params(row[0], params)
    conn.execute(
        "UPDATE alert_rules SET name = ?, params = ?, unit = ?, channels = ?, enabled = ? WHERE id = ?",
        [
            name.strip()[:200] or KIND_LABELS[row[0]],
            json.dumps(params),
            unit.strip(),
            _channels(channels),
            int(enabled),
            rule_id,
        ],
    )


def delete_rule(conn, rule_id: int) -> None:
    if conn.execute("DELETE FROM alert_rules WHERE id = ?", [rule_id]).rowcount == 0:
        raise RuleError(f"沒有此規則 no rule {rule_id}")


def rules(conn, enabled_only: bool = False) -> list[dict]:
    sql = "SELECT id, kind, name, params, unit, channels, enabled FROM alert_rules"
    if enabled_only:
        sql += " WHERE enabled = 1"
    return [
        {
            "id": r[0],
            "kind": r[1],
            "name": r[2],
            "params": json.loads(r[3]),
            "unit": r[4],
            "channels": r[5],
            "enabled": bool(r[6]),
        }
        for r in conn.execute(sql + " ORDER BY id")
    ]


# -- alerts --------------------------------------------------------------------------


def list_alerts(conn, *, open_only: bool = False, limit: int = 500) -> list[dict]:
    sql = (
        "SELECT id, rule_id, kind, raised_at, event_time, unit, window, kiosk, summary, detail, ack_at, ack_by,"
        " ack_note FROM alerts"
    )
    if open_only:
        sql += " WHERE ack_at IS NULL"
    rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", [limit]).fetchall()
    out = []
    for r in rows:
        deliveries = conn.execute(
            "SELECT channel, status, attempts, last_error FROM alert_deliveries WHERE alert_id = ? ORDER BY id", [r[0]]
        ).fetchall()
        out.append(
            {
                "id": r[0],
                "rule_id": r[1],
                "kind": r[2],
                "raised_at": r[3],
                "event_time": r[4],
                "unit": r[5],
                "window": r[6],
                "kiosk": r[7],
                "summary": r[8],
                "detail": json.loads(r[9]) if r[9] else {},
                "ack_at": r[10],
                "ack_by": r[11],
                "ack_note": r[12],
                "deliveries": [{"channel": d[0], "status": d[1], "attempts": d[2], "error": d[3]} for d in deliveries],
            }
        )
    return out


def acknowledge(conn, alert_id: int, username: str, note: str) -> None:
    note = note.strip()
    if not note:
        raise RuleError("請填寫處理說明 write what was done (the note is the complaint-handling record)")
    cur = conn.execute(
        "UPDATE alerts SET ack_at = ?, ack_by = ?, ack_note = ? WHERE id = ? AND ack_at IS NULL",
        [_now_iso(), username, note[:4000], alert_id],
    )
    if cur.rowcount == 0:
        raise RuleError(f"通報 {alert_id} 不存在或已處理 alert {alert_id} does not exist or is already acknowledged")


def raise_alert(
    conn,
    rule: dict,
    dedupe: str,
    summary: str,
    *,
    unit="",
    window="",
    kiosk="",
    event_time=None,
    detail=None,
    now: float | None = None,
) -> int | None:
    """Insert an alert (once per dedupe key) and queue its deliveries; the id, or None if it existed."""
    now = time.time() if now is None else now
    cur = conn.execute(
        "INSERT OR IGNORE INTO alerts (rule_id, kind, dedupe, raised_at, event_time, unit, window, kiosk, summary,"
        " detail) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            rule["id"],
            rule["kind"],
            dedupe,
            _now_iso(now),
            event_time,
            unit,
            window,
            kiosk,
            summary,
            json.dumps(detail or {}, ensure_ascii=False),
        ],
    )
    if cur.rowcount == 0:
        return None
    alert_id = cur.lastrowid
    opts = options.get_all(conn)
    chans = rule["channels"].split(",")
    if "webhook" in chans and opts["alerts.webhook_url"]:
        conn.execute(
            "INSERT INTO alert_deliveries (alert_id, channel, target, next_attempt) VALUES (?,?,?,?)",
            [alert_id, "webhook", opts["alerts.webhook_url"], now],
        )
    if "email" in chans and opts["alerts.smtp_host"] and opts["alerts.smtp_to"]:
        conn.execute(
            "INSERT INTO alert_deliveries (alert_id, channel, target, next_attempt) VALUES (?,?,?,?)",
            [alert_id, "email", opts["alerts.smtp_to"], now],
        )
    log.info("alert %d raised: %s", alert_id, summary)
    return alert_id


def _rating_rules(all_rules, unit):
    return [r for r in all_rules if not r["unit"] or r["unit"] == unit]


def evaluate_events(
    conn: sqlite3.Connection,
    *,
    now: float | None = None,
    chunk: int = 2000,
    lock: AbstractContextManager | None = None,
) -> int:
    """Apply the rating rules to events stored since the watermark; return the alerts raised.

    Each chunk is its own short write transaction, inside ``lock`` (the ingest writer's), with a
    pause between chunks so the ingest writer (and the admin pages) always get their turn at
    SQLite's single write lock."""
    now = time.time() if now is None else now
    raised = 0
    first = True
    while True:
        if not first:
            time.sleep(0.005)
        first = False
        with lock or nullcontext():
            n = _evaluate_chunk(conn, now, chunk)
        if n is None:
            return raised
        raised += n


def _evaluate_chunk(conn: sqlite3.Connection, now: float, chunk: int) -> int | None:
    """One write transaction over at most ``chunk`` new events: the alerts raised, None if none were new."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        mark = int(conn.execute("SELECT value FROM admin_meta WHERE key = 'alerts_pk'").fetchone()[0])
        top = conn.execute(
            "SELECT max(pk) FROM (SELECT pk FROM events WHERE pk > ? ORDER BY pk LIMIT ?)", [mark, chunk]
        ).fetchone()[0]
        if top is None:
            conn.execute("COMMIT")
            return None
        raised = _evaluate_range(conn, mark, top, now)
        conn.execute("UPDATE admin_meta SET value = ? WHERE key = 'alerts_pk'", [str(top)])
        conn.execute("COMMIT")
        return raised
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _evaluate_range(conn, lo: int, hi: int, now: float) -> int:
    active = rules(conn, enabled_only=True)
    level_rules = [r for r in active if r["kind"] == "level"]
    window_rules = [r for r in active if r["kind"] == "window_unhappy"]
    if not level_rules and not window_rules:
        return 0
    levels = dict(conn.execute("SELECT id, levels FROM kiosks"))
    names = dict(conn.execute("SELECT id, name FROM kiosks"))
    raised = 0
    touched: set[tuple[str, str, int]] = set()
    # A backlog arriving days late is history, not something to act on now.
    oldest = now - 3600 * float(options.get(conn, "alerts.max_age_hours"))
    for kiosk, eid, unit, window, level, corrected in conn.execute(
        "SELECT kiosk, id, unit, window, level, corrected_at FROM events"
        " WHERE pk > ? AND pk <= ? AND type = 'rating' AND misuse = 0 AND level IS NOT NULL"
        " AND corrected_at >= ? ORDER BY pk",
        [lo, hi, oldest],
    ).fetchall():
        L = levels.get(kiosk, 5)
        for rule in _rating_rules(level_rules, unit):
            threshold = rule["params"]["level"] or L
            if level >= threshold:
                worst = "非常不滿意 very dissatisfied" if level >= L else f"等級 level {level}"
                summary = f"{unit} 窗口 window {window}: {worst} ({level}/{L}) {office_time(corrected)}"
                if (
                    raise_alert(
                        conn,
                        rule,
                        f"r{rule['id']}:e{kiosk}:{eid}",
                        summary,
                        unit=unit,
                        window=window,
                        kiosk=names.get(kiosk, ""),
                        event_time=office_time(corrected),
                        detail={"level": level, "levels": L, "event_id": eid},
                        now=now,
                    )
                    is not None
                ):
                    raised += 1
        minute = int(corrected // 60)
        conn.execute(
            "INSERT INTO alert_minutes (minute, unit, window, n, unhappy) VALUES (?,?,?,1,?)"
            " ON CONFLICT (minute, unit, window) DO UPDATE SET n = n + 1, unhappy = unhappy + excluded.unhappy",
            [minute, unit, window, int(is_unhappy(level, L))],
        )
        touched.add((unit, window, minute))
    # Evaluate every minute that received a rating: the span ending there.
    for unit, window, minute in sorted(touched, key=lambda t: t[2]):
        for rule in _rating_rules(window_rules, unit):
            p = rule["params"]
            n, unhappy = conn.execute(
                "SELECT coalesce(sum(n), 0), coalesce(sum(unhappy), 0) FROM alert_minutes"
                " WHERE unit = ? AND window = ? AND minute > ? AND minute <= ?",
                [unit, window, minute - p["minutes"], minute],
            ).fetchone()
            if n < p["min_n"] or unhappy < p["share"] * n:
                continue
            # One alert per window per span: skip if one was raised for a span overlapping this one.
            recent = conn.execute(
                "SELECT 1 FROM alerts WHERE rule_id = ? AND unit = ? AND window = ?"
                " AND json_extract(detail, '$.minute') > ? AND json_extract(detail, '$.minute') < ?",
                [rule["id"], unit, window, minute - p["minutes"], minute + p["minutes"]],
            ).fetchone()
            if recent:
                continue
            when = office_time(minute * 60)
            summary = (
                f"{unit} 窗口 window {window}: {p['minutes']} 分鐘內 {unhappy}/{n} 不滿意 unhappy "
                f"within {p['minutes']} min, {when}"
            )
            if raise_alert(
                conn,
                rule,
                f"r{rule['id']}:w{unit}\x00{window}:{minute}",
                summary,
                unit=unit,
                window=window,
                event_time=when,
                detail={"minute": minute, "n": n, "unhappy": unhappy},
                now=now,
            ):
                raised += 1
    return raised


def check_silent(conn, *, now: float | None = None, lock: AbstractContextManager | None = None) -> int:
    now = time.time() if now is None else now
    silent_rules = [r for r in rules(conn, enabled_only=True) if r["kind"] == "silent"]
    if not silent_rules:
        return 0
    kiosks = conn.execute("SELECT name, last_seen, created_at FROM kiosks WHERE revoked_at IS NULL").fetchall()
    with lock or nullcontext():
        return _raise_silent(conn, silent_rules, kiosks, now)


def _raise_silent(conn, silent_rules: list[dict], kiosks: list, now: float) -> int:
    raised = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for rule in silent_rules:
            limit = rule["params"]["hours"] * 3600
            for name, last_seen, created in kiosks:
                since = datetime.fromisoformat(last_seen or created).timestamp()
                if now - since <= limit:
                    continue
                hours = (now - since) / 3600
                summary = (
                    f"機台 {name} 已 {hours:.1f} 小時未連線 kiosk {name} silent for {hours:.1f} h "
                    f"(上次 last sync {office_time(since) if last_seen else '從未 never'})"
                )
                if raise_alert(
                    conn,
                    rule,
                    f"r{rule['id']}:s{name}:{last_seen or 'never'}",
                    summary,
                    kiosk=name,
                    detail={"last_seen": last_seen, "hours": round(hours, 1)},
                    now=now,
                ):
                    raised += 1
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return raised


def check_tamper(
    conn, *, now: float | None = None, statistics: bool = True, lock: AbstractContextManager | None = None
) -> int:
    """Raise the tamper and health rules' alerts (tamper/): stuck buttons reported since the last
    call always, the statistical checks when ``statistics``; the alerts raised."""
    now = time.time() if now is None else now
    active = [
        r
        for r in rules(conn, enabled_only=True)
        if r["kind"] in tamper_rules.KINDS and (statistics or r["kind"] == tamper_rules.STUCK)
    ]
    stuck = tamper_data.stuck_range(conn)
    found = [(rule, f) for rule in active for f in tamper_data.findings(conn, rule, now, stuck)]
    raised = 0
    with lock or nullcontext():
        conn.execute("BEGIN IMMEDIATE")
        try:
            for rule, f in found:
                if rule["unit"] and f.unit != rule["unit"]:
                    continue
                alert_id = raise_alert(
                    conn,
                    rule,
                    f"r{rule['id']}:{f.cause}",
                    f.summary,
                    unit=f.unit,
                    window=f.window,
                    kiosk=f.kiosk,
                    event_time=office_time(now),
                    detail=f.detail,
                    now=now,
                )
                raised += alert_id is not None
            conn.execute("INSERT OR REPLACE INTO admin_meta VALUES ('tamper_pk', ?)", [str(stuck[1])])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return raised


# -- delivery ------------------------------------------------------------------------


def payload(alert: dict, base_url: str = "") -> dict:
    return {
        "alert": {
            k: alert[k]
            for k in ("id", "kind", "raised_at", "event_time", "unit", "window", "kiosk", "summary", "detail")
        },
        "url": f"{base_url.rstrip('/')}/admin/alerts" if base_url else None,
    }


def _alert(conn, alert_id: int) -> dict:
    r = conn.execute(
        "SELECT id, kind, raised_at, event_time, unit, window, kiosk, summary, detail FROM alerts WHERE id = ?",
        [alert_id],
    ).fetchone()
    return {
        "id": r[0],
        "kind": r[1],
        "raised_at": r[2],
        "event_time": r[3],
        "unit": r[4],
        "window": r[5],
        "kiosk": r[6],
        "summary": r[7],
        "detail": json.loads(r[8]) if r[8] else {},
    }


def send_webhook(url: str, body: dict) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "kiosk-collector-alerts"}
    secret = os.environ.get(WEBHOOK_SECRET_ENV)
    if secret:
        headers["X-Kiosk-Signature"] = "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()
    resp = requests.post(url, data=data, headers=headers, timeout=10)
    if not 200 <= resp.status_code < 300:
        raise RuntimeError(f"webhook answered {resp.status_code}")


def send_email(opts: dict, to: str, body: dict) -> None:
    a = body["alert"]
    msg = EmailMessage()
    msg["Subject"] = f"[服務滿意度通報 alert #{a['id']}] {a['summary']}"[:200]
    msg["From"] = opts["alerts.smtp_from"]
    msg["To"] = to
    lines = [
        f"通報 Alert #{a['id']}",
        a["summary"],
        "",
        f"單位 unit: {a['unit']}  窗口 window: {a['window']}  機台 kiosk: {a['kiosk']}",
        f"發生 happened: {a['event_time'] or '-'}   發出 raised: {a['raised_at']} (UTC)",
        "",
        "請於管理頁面填寫處理說明後確認 Acknowledge it with a note of what was done on the admin pages.",
    ]
    if body.get("url"):
        lines.append(body["url"])
    msg.set_content("\n".join(lines))
    with smtplib.SMTP(opts["alerts.smtp_host"], opts["alerts.smtp_port"], timeout=15) as smtp:
        if opts["alerts.smtp_starttls"]:
            smtp.starttls()
        if opts["alerts.smtp_user"]:
            smtp.login(opts["alerts.smtp_user"], os.environ.get(SMTP_PASSWORD_ENV, ""))
        smtp.send_message(msg, to_addrs=[t.strip() for t in to.split(",") if t.strip()])


def deliver_due(conn, *, now: float | None = None) -> int:
    """Try every due delivery once; return how many succeeded."""
    now = time.time() if now is None else now
    opts = options.get_all(conn)
    due = conn.execute(
        "SELECT id, alert_id, channel, target, attempts FROM alert_deliveries"
        " WHERE status = 'pending' AND next_attempt <= ? ORDER BY id LIMIT 50",
        [now],
    ).fetchall()
    sent = 0
    for did, alert_id, channel, target, attempts in due:
        body = payload(_alert(conn, alert_id), opts["admin.base_url"])
        try:
            if channel == "webhook":
                send_webhook(target, body)
            else:
                send_email(opts, target, body)
        except Exception as exc:  # any failure of the far end: retry later
            attempts += 1
            failed = attempts >= opts["alerts.max_attempts"]
            delay = min(MAX_RETRY_DELAY, opts["alerts.retry_seconds"] * 2 ** (attempts - 1))
            conn.execute(
                "UPDATE alert_deliveries SET attempts = ?, status = ?, next_attempt = ?, last_error = ? WHERE id = ?",
                [attempts, "failed" if failed else "pending", now + delay, str(exc)[:500], did],
            )
            log.warning("alert %d %s delivery failed (attempt %d): %s", alert_id, channel, attempts, exc)
            continue
        conn.execute(
            "UPDATE alert_deliveries SET attempts = attempts + 1, status = 'sent', sent_at = ?,"
            " last_error = NULL WHERE id = ?",
            [_now_iso(now), did],
        )
        sent += 1
    return sent


def election_path(db_path: str | Path) -> Path:
    """The file whose exclusive flock makes a process the collector's one alert worker."""
    return Path(f"{db_path}.alerts-lock")


class Election:
    """An exclusive, non-blocking flock on ``election_path(db_path)``, kept once won.

    flock, not a row in the database: the kernel releases it the moment its holder dies, so a
    crashed worker process never leaves the alerts without a worker."""

    def __init__(self, db_path: str | Path):
        self.path = election_path(db_path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_win(self) -> bool:
        """Whether this process is (now) the alert worker."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:  # a folder it may not write: no alerts until that is mended
            log.error("alert worker: cannot open %s: %s", self.path, exc)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


class AlertWorker:
    """The background thread. ``notify()`` after each stored batch; ``close()`` to stop.

    ``clock`` is the collector's wall clock (the ingest's own), so a rating's age and a
    kiosk's silence are measured against the same "now" the events were stored by.
    ``write_lock`` is the ingest writer's lock (Ingestor.lock), taken around each write
    transaction; ``gather_seconds`` the least time from one round's start to the next
    while notifications keep coming; ``first_tamper_seconds`` how long after it starts the
    statistical tamper checks first run (then every TAMPER_CHECK_SECONDS). Rounds run only while this process holds the election
    (``Election``); until then it tries again every ``standby_seconds``."""

    def __init__(
        self,
        db_path,
        *,
        clock: Callable[[], float] = time.time,
        silent_check_seconds: float = 60.0,
        write_lock: AbstractContextManager | None = None,
        gather_seconds: float = GATHER_SECONDS,
        standby_seconds: float = STANDBY_SECONDS,
        first_tamper_seconds: float = FIRST_TAMPER_SECONDS,
    ):
        self.db_path = db_path
        self._first_tamper = first_tamper_seconds
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._silent_every = silent_check_seconds
        self._write_lock = write_lock
        self._gather = gather_seconds
        self._standby = standby_seconds
        self._election = Election(db_path)
        self.standby_checks = 0  # times it found another process holding the election
        self.rounds = 0  # rounds completed (each: rating rules, silence, tamper, deliveries)
        self._thread = threading.Thread(target=self._run, name="alert-worker", daemon=True)
        self._thread.start()

    @property
    def leading(self) -> bool:
        """Whether this process is the collector's alert worker."""
        return self._election.held

    def notify(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not self._election.try_win():
                self.standby_checks += 1
                self._stop.wait(self._standby)
            self._rounds()
        finally:
            self._election.release()

    def _rounds(self) -> None:
        conn = None
        last_silent = 0.0
        # The statistical checks first run first_tamper_seconds after this (stuck buttons at once).
        last_tamper = time.monotonic() - TAMPER_CHECK_SECONDS + self._first_tamper
        while not self._stop.is_set():
            poll = 5.0
            started = time.monotonic()
            try:
                if conn is None:
                    conn = dbmod.connect(self.db_path)
                poll = float(options.get(conn, "alerts.poll_seconds")) or 5.0
                evaluate_events(conn, now=self.clock(), lock=self._write_lock)
                if time.monotonic() - last_silent >= min(self._silent_every, poll * 6):
                    check_silent(conn, now=self.clock(), lock=self._write_lock)
                    last_silent = time.monotonic()
                statistics = time.monotonic() - last_tamper >= TAMPER_CHECK_SECONDS
                check_tamper(conn, now=self.clock(), statistics=statistics, lock=self._write_lock)
                last_tamper = time.monotonic() if statistics else last_tamper
                deliver_due(conn, now=self.clock())
                self.rounds += 1
            except Exception:
                log.exception("alert worker step failed; retrying")
                if conn is not None:
                    try:
                        conn.close()
                    except sqlite3.Error:
                        pass
                    conn = None
            if self._wake.wait(poll) and not self._stop.is_set():
                # Woken by a stored batch. In a storm many more follow within the second: one
                # round reads them all, instead of a read and a commit for each.
                self._stop.wait(max(0.0, started + self._gather - time.monotonic()))
            self._wake.clear()
        if conn is not None:
            conn.close()
