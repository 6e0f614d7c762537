"""Fixtures for the office queue tests: a real queue host and its window devices."""

from __future__ import annotations

import pytest
from officehelp import MANY, HostProcess, add_device, office_config


@pytest.fixture
def office(tmp_path):
    config = office_config(tmp_path, polling_place={"windows": MANY})
    data = tmp_path / "data"
    tokens = {w: add_device(config, data, f"window-{w}", str(w)) for w in range(1, 17)}
    tokens["entrance"] = add_device(config, data, "entrance")
    host = HostProcess(config, data).start()
    yield host, tokens
    host.stop()
