"""Running the queue host: its web app under uvicorn, and its log's sync to the collector."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import uvicorn

from kiosk.config import Config
from kiosk.office.app import create_app
from kiosk.office.hub import Hub, host_data_dir
from kiosk.outbox import sync_worker

log = logging.getLogger(__name__)


def listen_address(config: Config) -> tuple[str, int]:
    host, _, port = config["queue.listen"].rpartition(":")
    return host.strip("[]"), int(port)


def _stop(signum, frame) -> None:
    raise SystemExit(0)


def serve(config: Config, data_dir: Path, *, port: int | None = None, clock=None) -> None:
    """Serve until stopped (SIGTERM or Ctrl-C); ``port`` overrides queue.listen's (0: any free port,
    printed in the log line ``queue host listening on``); ``clock``: a simulated office's
    (kiosk.clock.AcceleratedClock), else the system's."""
    hub = Hub(config, data_dir, clock=clock)
    worker = None
    if config["sync.url"]:
        # The host's log goes to the collector like a kiosk's: its own store, the device's token.
        worker = sync_worker(config, host_data_dir(data_dir), clock=hub.clock)
        worker.start()
    address, configured_port = listen_address(config)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(hub),
            host=address,
            port=configured_port if port is None else port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=3,  # the display's event streams never end by themselves
        )
    )
    original_startup = server.startup

    async def startup(sockets=None):
        await original_startup(sockets)
        for s in server.servers:
            for sock in s.sockets:
                name = sock.getsockname()
                print(f"queue host listening on http://{name[0]}:{name[1]}/ (display: /display)", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    # uvicorn stops gracefully on SIGTERM or Ctrl-C, then puts back the handlers it found and raises
    # the signal again. With the default handlers the process would die right there (exit -15, as
    # systemd stops it), before the lines below stop the sync worker and close the host's log; with
    # these the signal ends in a clean exit 0 through them.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    try:
        server.run()
    finally:
        if worker is not None:
            worker.stop()
        hub.close()
