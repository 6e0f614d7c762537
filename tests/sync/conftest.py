"""Fixtures for the sync tests: a real collector process on loopback, a kiosk data folder."""

from __future__ import annotations

import os

import pytest
from synchelp import KIOSK_ID, Collector


@pytest.fixture
def collector(tmp_path):
    """A running collector with one kiosk; ``collector.token`` is its token."""
    c = Collector(tmp_path / "collector")
    c.workdir.mkdir()
    c.token = c.add_kiosk(KIOSK_ID)
    c.start()
    yield c
    c.stop()


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "kiosk"
    d.mkdir()
    return d


@pytest.fixture(autouse=True)
def _no_env_proxy(monkeypatch):
    """Loopback only: an HTTP proxy from the environment must not be used."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("KIOSK_SYNC_TOKEN", raising=False)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
