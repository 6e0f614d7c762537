"""Collector fixtures: a live `kiosk-collector serve` process (see collector_helpers)."""

from __future__ import annotations

import pytest
from collector_helpers import start_server, stop_server


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("collector") / "collector.db")
    yield server
    stop_server(server)
