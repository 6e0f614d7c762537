"""The kiosk's sync client: push pending events to the collector, pull settings.

Runs as a background thread of `kiosk run` (``SyncWorker``) and as
`kiosk sync --once` (``SyncClient.run_round``). Wire contract: docs/protocol-v1.md.

Modules:
    session  one ``requests.Session`` with urllib3 retries and timeouts
    outbox   pending events and the acked watermark in the kiosk's SQLite file
    ack      strict validation of the collector's answers
    push     one sync round: push every pending batch, then pull settings
    worker   the background thread and its backoff
    status   the status line and the `kiosk doctor` summary
"""

from server_sync.client.errors import SyncError
from server_sync.client.push import RoundResult, SyncClient
from server_sync.client.worker import Backoff, SyncWorker

__all__ = ["Backoff", "RoundResult", "SyncClient", "SyncError", "SyncWorker"]
