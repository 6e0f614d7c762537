"""The kiosk's sync client: push pending events to the collector, pull settings.

Runs as a background thread of `kiosk run` (``SyncWorker``) and as
`kiosk sync --once` (``SyncClient.run_round``). Wire contract: docs/protocol-v1.md.
It never imports the kiosk: the kiosk hands it an ``Outbox`` (kiosk/outbox.py).

Modules:
    session  one ``requests.Session`` with urllib3 retries and timeouts
    cleartext  when plain http is allowed (loopback, or [sync] allow_insecure_http)
    outbox   the interface of the kiosk's store the client is handed
    ack      strict validation of the collector's answers
    push     one sync round: push every pending batch, then pull settings
    worker   the background thread and its backoff
    services the service directory, pulled by ETag
    cases    case-status changes, pulled by revision
    status   the status line and the `kiosk doctor` summary
"""

from __future__ import annotations

from server_sync.client.errors import SyncError
from server_sync.client.push import RoundResult, SyncClient
from server_sync.client.worker import Backoff, SyncWorker

__all__ = ["Backoff", "RoundResult", "SyncClient", "SyncError", "SyncWorker"]
