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

Import the module you need (``server_sync.client.worker``, ``.push`` …): this
package imports none of them, so the light ones (cleartext, status, outbox) do
not bring requests, urllib3 and ssl into a kiosk whose sync is off.
"""

from __future__ import annotations
