"""Protocol v1's version and limits (docs/protocol-v1.md)."""

from __future__ import annotations

PROTOCOL = 1  # the "protocol" of every ack and of GET /api/v1/health; versioned in the URL too
MAX_EVENTS = 1000  # events per POST /api/v1/events
