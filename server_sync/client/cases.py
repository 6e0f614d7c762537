"""Pulling case-status changes into the kiosk's own file, so lookups work offline.

Each sync round asks ``GET /api/v1/cases?since=R`` for the changes after the
revision the kiosk holds and hands every page, checked field by field, to the
outbox, which applies it in one durable transaction together with the new
revision: a round cut off half-way resumes where the last committed page ended.
Another ``dataset`` (the collector's case set was replaced) or a revision that
went backwards (restored from a backup) starts over from nothing.
"""

from __future__ import annotations

import json
import re

import requests

from server_sync.client import errors
from server_sync.client.ack import describe_exception, json_body
from server_sync.client.outbox import Outbox

PAGE = 5000
MAX_PAGES = 1000  # a safety stop: 5 million changes in one round is not a real collector
_VERIFIER = re.compile(r"^scrypt:\d{1,8}:\d{1,3}:\d{1,3}:[A-Za-z0-9+/=]{4,64}:[A-Za-z0-9+/=]{4,128}$")
_TEXT_FIELDS = ("case_type", "case_type_en", "name", "unit", "unit_en", "extension")


def _opt_date(change: dict, key: str) -> str | None:
    value = change.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise errors.bad_answer(f"case {change.get('case_no')!r}: {key} is {value!r}")
    return value


def _row(change: dict) -> list:
    """One added or changed case as a row in CASE_COLUMNS order, checked field by field."""
    case_no = change["case_no"]
    for key in _TEXT_FIELDS:
        if not isinstance(change.get(key, ""), str):
            raise errors.bad_answer(f"case {case_no!r}: {key} is not text")
    stages = change.get("stages")
    if not isinstance(stages, list) or not all(
        isinstance(s, dict) and isinstance(s.get("stage"), str) and isinstance(s.get("date"), str) for s in stages
    ):
        raise errors.bad_answer(f"case {case_no!r}: stages is not a list of stages")
    verifier = change.get("verifier")
    if not isinstance(verifier, str) or not _VERIFIER.match(verifier):
        raise errors.bad_answer(f"case {case_no!r}: no usable verifier")
    return [
        case_no,
        change["revision"],
        change.get("case_type", ""),
        change.get("case_type_en", ""),
        change.get("name", ""),
        json.dumps(stages, ensure_ascii=False),
        change.get("unit", ""),
        change.get("unit_en", ""),
        change.get("extension", ""),
        _opt_date(change, "due_date"),
        _opt_date(change, "closed_date"),
        _opt_date(change, "hide_after"),
        verifier,
    ]


def _check_page(body) -> tuple[str, int, list, bool]:
    if not isinstance(body, dict):
        raise errors.bad_answer("cases: expected a JSON object")
    dataset, revision, changes, more = (body.get(k) for k in ("dataset", "revision", "changes", "more"))
    if not isinstance(dataset, str) or not dataset:
        raise errors.bad_answer(f"cases: dataset is {dataset!r}")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        raise errors.bad_answer(f"cases: revision is {revision!r}")
    if not isinstance(changes, list) or not isinstance(more, bool):
        raise errors.bad_answer("cases: changes must be a list and more true or false")
    for change in changes:
        if not (
            isinstance(change, dict)
            and isinstance(change.get("case_no"), str)
            and 0 < len(change["case_no"]) <= 32
            and isinstance(change.get("revision"), int)
            and isinstance(change.get("removed"), bool)
        ):
            raise errors.bad_answer(f"cases: malformed change {str(change)[:80]}")
    return dataset, revision, changes, more


def apply_page(outbox: Outbox, body: dict, *, pulled_at: str, today: str, wipe: bool = False) -> int:
    """Check one page of ``GET /api/v1/cases`` whole, then hand it to the outbox; return its changes."""
    dataset, revision, changes, _ = _check_page(body)
    rows = [_row(c) for c in changes if not c["removed"]]  # checked before anything is written
    removed = [c["case_no"] for c in changes if c["removed"]]
    outbox.apply_cases(dataset, revision, rows, removed, pulled_at=pulled_at, today=today, wipe=wipe)
    return len(changes)


def pull(
    session: requests.Session, base: str, outbox: Outbox, now_iso: str, today: str, timeout, *, page: int = PAGE
) -> int:
    """Fetch and store every case change since the last pull; return how many were applied.

    today: the office's date (cases hidden after it are dropped). Raises SyncError;
    what was committed before the error stays.
    """
    held_dataset, since = outbox.case_position()
    wipe = False
    applied = 0
    for _ in range(MAX_PAGES):
        try:
            resp = session.get(
                f"{base}/api/v1/cases", params={"since": since, "limit": page}, timeout=timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise describe_exception(exc) from exc
        body = json_body(resp)
        dataset, revision, _changes, more = _check_page(body)
        if not wipe and since and (dataset != held_dataset or revision < since):
            # Another case set, or one restored from an older backup: start over.
            wipe, since = True, 0
            continue
        applied += apply_page(outbox, body, pulled_at=now_iso, today=today, wipe=wipe)
        wipe, held_dataset = False, dataset
        if not more or revision <= since:
            return applied
        since = revision
    raise errors.no_progress(f"cases: more than {MAX_PAGES} pages in one round")
