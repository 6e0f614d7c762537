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
