"""Administrator settings kept in the collector's database (admin_settings), with defaults.

Secrets never live here: the SMTP password comes from $KIOSK_COLLECTOR_SMTP_PASSWORD
and the webhook signing key from $KIOSK_COLLECTOR_WEBHOOK_SECRET.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Option:
    key: str
    kind: type
    default: Any
    doc: str
    secret: bool = False  # shown to managers only, masked (a webhook URL may hold its own key)


OPTIONS = [
    Option("report.min_n", int, 30, "Below this many counted responses a figure shows 回覆數不足 (too few responses)."),
    Option("alerts.webhook_url", str, "", "POST each alert as JSON here (empty: no webhook).", secret=True),
    Option("alerts.smtp_host", str, "", "SMTP server for alert e-mail (empty: no e-mail)."),
    Option("alerts.smtp_port", int, 25, "SMTP port."),
    Option("alerts.smtp_starttls", bool, False, "Use STARTTLS (password from $KIOSK_COLLECTOR_SMTP_PASSWORD)."),
    Option("alerts.smtp_user", str, "", "SMTP login name (empty: no login).", secret=True),
    Option("alerts.smtp_from", str, "kiosk-collector@localhost", "Sender address of alert e-mail."),
    Option("alerts.smtp_to", str, "", "Recipients of alert e-mail, comma-separated."),
    Option(
        "alerts.max_age_hours",
        float,
        24.0,
        "Ratings older than this when they reach the collector (an offline kiosk's backlog) raise no alert.",
    ),
    Option("alerts.poll_seconds", float, 5.0, "How often the alert worker looks for new events and due deliveries."),
    Option(
        "alerts.retry_seconds", float, 30.0, "First retry delay of a failed delivery (doubles each time, at most 1 h)."
    ),
    Option("alerts.max_attempts", int, 8, "Delivery attempts before a delivery is marked failed."),
    Option("admin.session_hours", float, 8.0, "Hours a login lasts."),
    Option("admin.base_url", str, "", "This collector's address as administrators reach it, for links in alerts."),
    # Personal data in cases (docs/cases.md): code strength, retention, no plain codes by default.
    Option(
        "cases.min_code_digits",
        int,
        10,
        "Shortest verification code imported (4-12 digits); 10 leaves 10^10 codes to guess offline.",
    ),
    Option(
        "cases.purge_closed_days",
        int,
        365,
        "Days after its closed_date a case is purged: name, stages and code hash gone.",
    ),
    Option(
        "cases.keep_plain_codes",
        bool,
        False,
        "Keep each plain verification code beside its hash (off: only the salted scrypt hash).",
    ),
]
BY_KEY = {o.key: o for o in OPTIONS}


class OptionError(ValueError):
    pass


def parse(key: str, text: str) -> Any:
    opt = BY_KEY.get(key)
    if opt is None:
        raise OptionError(f"沒有此設定 unknown setting {key!r}; known: {', '.join(BY_KEY)}")
    text = text.strip()
    try:
        if opt.kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        value = opt.kind(text)
    except ValueError:
        raise OptionError(f"{key}: 格式錯誤 expected {opt.kind.__name__}, got {text!r}") from None
    if opt.kind in (int, float) and value < 0:
        raise OptionError(f"{key}: 不可為負 must not be negative")
    if key in ("report.min_n", "cases.purge_closed_days") and value < 1:
        raise OptionError(f"{key}: 至少為 1 must be at least 1")
    if key == "cases.min_code_digits" and not 4 <= value <= 12:
        raise OptionError(f"{key}: 須為 4 至 12 must be 4 to 12")
    return value


def get_all(conn: sqlite3.Connection) -> dict[str, Any]:
    values = {o.key: o.default for o in OPTIONS}
    for key, value in conn.execute("SELECT key, value FROM admin_settings"):
        if key in values:
            values[key] = json.loads(value)
    return values


def get(conn: sqlite3.Connection, key: str) -> Any:
    row = conn.execute("SELECT value FROM admin_settings WHERE key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else BY_KEY[key].default


def set_value(conn: sqlite3.Connection, key: str, value: Any) -> None:
    if key not in BY_KEY:
        raise OptionError(f"沒有此設定 unknown setting {key!r}")
    conn.execute(
        "INSERT INTO admin_settings (key, value, updated_at) VALUES (?,?,?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, json.dumps(value, ensure_ascii=False), datetime.now(UTC).isoformat(timespec="seconds")],
    )
