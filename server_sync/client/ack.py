"""Strict reading of the collector's answers.

Only a 2xx ``application/json`` body of the expected shape counts as an ack.
Anything else — a captive portal's "200 OK" login page, a body cut off in
transit, invalid JSON, a missing field, any other status — raises a
``SyncError`` in plain words, and the caller leaves every event pending.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from server_sync.client import errors

PROTOCOL = 1


@dataclass(frozen=True)
class Ack:
    stored: int
    duplicates: int
    acked_seq: int
    server_time: datetime


@dataclass(frozen=True)
class SettingsAnswer:
    unchanged: bool
    etag: str | None = None
    revision: int | None = None
    settings: dict[str, Any] | None = None


def _snippet(resp: requests.Response, n: int = 120) -> str:
    try:
        text = resp.content[:2000].decode("utf-8", "replace")
    except Exception:  # the body itself may be what failed
        return ""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", text)).strip()
    return text[:n]


def _media_type(resp: requests.Response) -> str:
    return resp.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _error_detail(resp: requests.Response) -> str:
    """The collector's {"detail": ...} in one line, or a snippet of whatever came back."""
    if _media_type(resp) == "application/json":
        try:
            detail = resp.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        if isinstance(detail, list):  # FastAPI 422: [{"loc": [...], "msg": ...}]
            parts = []
            for item in detail[:5]:
                if isinstance(item, dict):
                    loc = ".".join(str(p) for p in item.get("loc", []))
                    parts.append(f"{loc}: {item.get('msg', '')}".strip(": "))
            return "; ".join(parts)
        if detail:
            return str(detail)[:300]
    return f"{_media_type(resp) or 'no content type'}: {_snippet(resp)}"


def check_status(resp: requests.Response) -> None:
    """Raise a plain-words SyncError for any status that is not 2xx."""
    status = resp.status_code
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        # Portals answer with a redirect to their login page; we never follow it.
        raise errors.captive_portal(f"HTTP {status} to {resp.headers.get('Location', '?')}")
    detail = _error_detail(resp)
    if status in (401, 403):
        raise errors.unauthorized(f"HTTP {status}: {detail}")
    if status in (400, 413, 422):
        raise errors.rejected(status, detail)
    if status >= 500:
        raise errors.server_error(status, detail)
    raise errors.unexpected_status(status, detail)


def json_body(resp: requests.Response) -> Any:
    """The parsed JSON of a 2xx answer; a non-JSON 2xx is taken for a captive portal."""
    check_status(resp)
    media = _media_type(resp)
    if media != "application/json":
        raise errors.captive_portal(f"HTTP {resp.status_code} {media or 'no content type'}: {_snippet(resp)}")
    try:
        return json.loads(resp.content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_answer(f"invalid JSON ({exc}): {_snippet(resp, 60)}") from None


def _int_field(body: dict, name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.bad_answer(f"{name} is {value!r}, expected a whole number of 0 or more")
    return value


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise errors.bad_answer(f"server_time is {value!r}, expected an ISO 8601 time")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise errors.bad_answer(f"server_time {value!r} is not an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def validate_ack(resp: requests.Response) -> Ack:
    """The ack of POST /api/v1/events, or SyncError if it is not exactly one."""
    body = json_body(resp)
    if not isinstance(body, dict):
        raise errors.bad_answer(f"expected a JSON object, got {type(body).__name__}")
    protocol = body.get("protocol")
    if isinstance(protocol, bool) or protocol != PROTOCOL:
        raise errors.bad_answer(f"protocol is {protocol!r}, expected {PROTOCOL}")
    return Ack(
        stored=_int_field(body, "stored"),
        duplicates=_int_field(body, "duplicates"),
        acked_seq=_int_field(body, "acked_seq"),
        server_time=parse_time(body.get("server_time")),
    )


def validate_settings(resp: requests.Response) -> SettingsAnswer:
    """The answer to GET /api/v1/settings: 304 (unchanged) or 200 with revision and settings."""
    if resp.status_code == 304:
        return SettingsAnswer(unchanged=True, etag=resp.headers.get("ETag"))
    body = json_body(resp)
    if not isinstance(body, dict):
        raise errors.bad_answer(f"expected a JSON object, got {type(body).__name__}")
    revision = body.get("revision")
    if isinstance(revision, bool) or not isinstance(revision, int):
        raise errors.bad_answer(f"revision is {revision!r}, expected a whole number")
    settings = body.get("settings")
    if not isinstance(settings, dict):
        raise errors.bad_answer(f"settings is {type(settings).__name__}, expected an object")
    return SettingsAnswer(unchanged=False, etag=resp.headers.get("ETag"), revision=revision, settings=settings)


def describe_exception(exc: requests.RequestException) -> errors.SyncError:
    """A transport failure (after urllib3's retries) in plain words."""
    detail = f"{type(exc).__name__}: {exc}"[:300]
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return errors.unreachable(detail)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return errors.timed_out(detail)
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return errors.cut_off(detail)
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else None
        text = f"{reason!r} {exc}"
        if (
            "NewConnectionError" in text
            or "refused" in text.lower()
            or "resolve" in text.lower()
            or "Name or service" in text
        ):
            return errors.unreachable(detail)
        return errors.cut_off(detail)
    return errors.unreachable(detail)
