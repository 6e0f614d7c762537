"""Admin-page fixtures: a real `kiosk-collector serve` process with administrator accounts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "collector"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from adminhelp import add_admins, cli
from collector_helpers import start_server, stop_server


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("admin") / "collector.db"
    cli(path, "kiosks")  # creates and migrates the file
    add_admins(path)
    server = start_server(path)
    yield server
    stop_server(server)
