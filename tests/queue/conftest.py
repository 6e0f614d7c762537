"""Fixtures for the queue tests."""

from __future__ import annotations

import pytest
from queuehelp import Counter, all_day_directory, queue_config


@pytest.fixture
def directory_file(tmp_path):
    return all_day_directory(tmp_path / "services.csv")


@pytest.fixture
def counter(tmp_path, directory_file):
    c = Counter(tmp_path / "data", queue_config(directory_file, no_show_after_calls=2))
    yield c
    c.close()
