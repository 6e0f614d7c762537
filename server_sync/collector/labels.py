"""Which service and reason codes the figures name; every other code counts under one label.

A kiosk's events keep whatever code they carried (the raw value stays in the event's detail),
but the rollups, and so the dashboard, name only known codes: the service directory's (every
revision, so old figures keep their names) and the follow-up reason list (the kiosk's defaults
and any ``reasons.items`` the collector serves). Anything else counts as ``OTHER``, so a flood
of made-up codes adds one row, not thirty thousand (docs/collector.md "Who a kiosk is").

Before any directory is imported an office may still tag ratings with services; then the first
``ADMIT_WITHOUT_DIRECTORY`` codes seen are named and later ones are grouped.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from server_sync.wire.events import DEFAULT_REASON_CODES

OTHER = "其他 other"
MAX_LABEL = 40  # a directory code is at most 40 characters
ADMIT_WITHOUT_DIRECTORY = 100


@dataclass
class Known:
    """The codes the figures name. ``services`` None: no directory yet, see ``admitted``."""

    services: frozenset[str] | None
    reasons: frozenset[str]
    admitted: set[str] = field(default_factory=set)

    def service(self, raw: str) -> str:
        if not raw:
            return ""
        if self.services is not None:
            return raw if raw in self.services else OTHER
        if raw in self.admitted:
            return raw
        if len(raw) <= MAX_LABEL and raw.isprintable() and len(self.admitted) < ADMIT_WITHOUT_DIRECTORY:
            self.admitted.add(raw)
            return raw
        return OTHER

    def reason(self, raw: str) -> str:
        return raw if raw in self.reasons else OTHER


def _directory_codes(conn: sqlite3.Connection) -> frozenset[str] | None:
    codes: set[str] = set()
    any_revision = False
    for (body,) in conn.execute("SELECT directory FROM services_revisions"):
        any_revision = True
        try:
            codes.update(s["code"] for s in json.loads(body)["services"])
        except (ValueError, KeyError, TypeError):
            continue
    return frozenset(codes) if any_revision else None


def _reason_codes(conn: sqlite3.Connection) -> frozenset[str]:
    codes = set(DEFAULT_REASON_CODES)
    for (value,) in conn.execute("SELECT value FROM settings WHERE key = 'reasons.items'"):
        try:
            codes.update(r["code"] for r in json.loads(value) if isinstance(r.get("code"), str))
        except (ValueError, TypeError, AttributeError):
            continue
    return frozenset(codes)


def revision(conn: sqlite3.Connection) -> tuple:
    """Changes whenever what ``load`` reads may have changed: the directory's and settings' revisions."""
    svc = conn.execute("SELECT max(revision) FROM services_revisions").fetchone()[0]
    st = conn.execute("SELECT value FROM meta WHERE key = 'settings_revision'").fetchone()
    return svc, st[0] if st else None


def load(conn: sqlite3.Connection) -> Known:
    known = Known(_directory_codes(conn), _reason_codes(conn))
    if known.services is None:  # the codes already named in the figures stay named
        known.admitted.update(
            s
            for (s,) in conn.execute(
                "SELECT DISTINCT service FROM admin_sat_mon UNION SELECT DISTINCT service FROM admin_queue_hour"
            )
            if s and s != OTHER
        )
    return known


# -- names the pages show for codes --------------------------------------------------------------

# The kiosk's default follow-up reasons (kiosk/config.py DEFAULT_REASONS, which the collector may not
# import; tests/admin/test_admin_figures.py holds the two lists together).
DEFAULT_REASON_NAMES = {
    "wait": ("等候時間過長", "Waited too long"),
    "attitude": ("服務態度", "Staff attitude"),
    "unclear": ("說明不清楚", "Unclear explanation"),
    "procedure": ("流程繁瑣", "Complicated procedure"),
    "facilities": ("環境設施", "Facilities"),
    "other": ("其他", "Other"),
}
NO_SERVICE = ("未指定", "none")
OTHER_NAME = ("其他", "other")


@dataclass(frozen=True)
class Names:
    """zh-TW and English names for service and reason codes: what the pages and exports show."""

    services: dict[str, tuple[str, str]] = field(default_factory=dict)
    reasons: dict[str, tuple[str, str]] = field(default_factory=dict)

    def service(self, code: str) -> tuple[str, str]:
        """(zh-TW, English); a code no directory names is its own name (an office may tag ratings
        with plain Chinese service names before it imports a directory)."""
        if not code:
            return NO_SERVICE
        if code == OTHER:
            return OTHER_NAME
        return self.services.get(code, (code, ""))

    def reason(self, code: str) -> tuple[str, str]:
        if code == OTHER:
            return OTHER_NAME
        return self.reasons.get(code, (code, ""))


def _pair(zh, en, code: str) -> tuple[str, str]:
    zh = zh.strip() if isinstance(zh, str) and zh.strip() else code
    return zh, en.strip() if isinstance(en, str) else ""


def names(conn: sqlite3.Connection) -> Names:
    """The names of every directory revision (the newest wins, old codes keep theirs) and of the
    reasons: the kiosk's defaults, then the ``reasons.items`` the collector serves."""
    services: dict[str, tuple[str, str]] = {}
    for (body,) in conn.execute("SELECT directory FROM services_revisions ORDER BY revision"):
        try:
            for s in json.loads(body)["services"]:
                services[s["code"]] = _pair(s.get("name"), s.get("name_en"), s["code"])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    reasons = dict(DEFAULT_REASON_NAMES)
    for (value,) in conn.execute("SELECT value FROM settings WHERE key = 'reasons.items'"):
        try:
            for r in json.loads(value):
                if isinstance(r.get("code"), str):
                    reasons[r["code"]] = _pair(r.get("label"), r.get("label_en"), r["code"])
        except (ValueError, TypeError, AttributeError):
            continue
    return Names(services, reasons)
