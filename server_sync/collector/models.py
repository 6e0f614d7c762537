"""The request and response bodies of protocol v1 (docs/protocol-v1.md), as pydantic models.

Types are strict where a kiosk has no excuse to be loose (``"3"`` is not a level,
``1`` is not ``true``); numbers are bounded so nothing valid can overflow SQLite
or a datetime. Extra event fields are allowed and kept (``detail``).
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from server_sync.wire.events import FIELDS
from server_sync.wire.protocol import MAX_EVENTS, PROTOCOL

INT64_MAX = 2**63 - 1
# Monotonic seconds since boot: ten years is far beyond any real uptime.
MAX_MONOTONIC = 10 * 366 * 86400.0
# An ISO 8601 / RFC 3339 date-time with a UTC offset (checked for real by ingest.prepare).
ISO_DATETIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$"
)


class Clock(BaseModel):
    """The kiosk's clocks at the moment it sent the batch."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    wall: AwareDatetime = Field(strict=True, description="the kiosk's wall clock, ISO 8601 with offset")
    boot_id: str = Field(strict=True, min_length=1, max_length=128)
    monotonic: float = Field(strict=True, ge=0, le=MAX_MONOTONIC, description="seconds since boot")


# Validated into plain dicts (a TypedDict) rather than model instances: building
# 1,000 model objects per batch cost about as much as everything else the API does.
# Optional fields may be absent from the dict (defaults: "" for kiosk_id, unit and
# window, None for level and ref, False for misuse).
STANDARD_FIELDS = frozenset(FIELDS)


@with_config(ConfigDict(extra="allow", allow_inf_nan=False))
class Event(TypedDict):
    """One event as `kiosk events` prints it; extra fields are kept as they are."""

    id: Annotated[str, Field(strict=True, min_length=1, max_length=128)]
    seq: Annotated[int, Field(strict=True, ge=1, le=INT64_MAX)]
    type: Annotated[str, Field(strict=True, min_length=1, max_length=64)]
    kiosk_id: NotRequired[Annotated[str, Field(strict=True, max_length=200)]]
    unit: NotRequired[Annotated[str, Field(strict=True, max_length=200)]]
    window: NotRequired[Annotated[str, Field(strict=True, max_length=200)]]
    level: NotRequired[Annotated[int | None, Field(strict=True, ge=1, le=5)]]
    misuse: NotRequired[Annotated[bool, Field(strict=True)]]
    ref: NotRequired[Annotated[str | None, Field(strict=True, max_length=128)]]
    # Kept as the kiosk wrote it; parsed (and refused with 422 if not a real
    # date-time with an offset) by ingest.prepare, which is much faster than
    # a pydantic datetime followed by isoformat() on every event.
    recorded_at: Annotated[
        str,
        Field(
            strict=True,
            max_length=64,
            pattern=ISO_DATETIME,
            json_schema_extra={"format": "date-time"},
            description="the kiosk's wall clock, ISO 8601 with offset",
        ),
    ]
    boot_id: Annotated[str, Field(strict=True, min_length=1, max_length=128)]
    monotonic: Annotated[float, Field(strict=True, ge=0, le=MAX_MONOTONIC, description="seconds since boot")]


class Batch(BaseModel):
    """POST /api/v1/events: at most 1,000 events, oldest first."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    store_id: str = Field(strict=True, min_length=1, max_length=128)
    software_version: str = Field("", strict=True, max_length=64)
    backlog: int = Field(0, strict=True, ge=0, le=INT64_MAX)
    clock: Clock
    events: list[Event] = Field(max_length=MAX_EVENTS)


class Ack(BaseModel):
    protocol: int = PROTOCOL
    stored: int
    duplicates: int
    acked_seq: int
    server_time: str


class Settings(BaseModel):
    revision: int
    settings: dict[str, Any]


class Health(BaseModel):
    ok: bool
    protocol: int
