"""The collector app's settings in one place: its database file and how large a request may be.

``create_app`` hangs an ``AppConfig`` on ``app.state.config``; the routes read it through
``deps.Config``. ``AppConfig.from_env()`` is what ``uvicorn --factory`` runs get.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from server_sync.collector import db

DEFAULT_MAX_BODY = 2_000_000  # bytes, uncompressed; the compressed body is capped the same
DIRECTORY_MAX_BODY = 512_000  # bytes: a service directory is a few kilobytes

ENV_MAX_BODY = "KIOSK_COLLECTOR_MAX_BODY"


@dataclass(frozen=True)
class AppConfig:
    db_path: Path
    max_body: int = DEFAULT_MAX_BODY  # of one events batch (`serve --max-body`)
    api_docs: bool = False  # Swagger UI at /docs, for logged-in administrators only (`serve --api-docs`)

    @classmethod
    def from_env(cls) -> AppConfig:
        """$KIOSK_COLLECTOR_DB (else db.default_db_path()'s folder) and $KIOSK_COLLECTOR_MAX_BODY."""
        return cls(db.default_db_path(), int(os.environ.get(ENV_MAX_BODY, DEFAULT_MAX_BODY)))
