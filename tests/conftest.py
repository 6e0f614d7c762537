"""Shared fixtures: mock GPIO pins, simulated clocks, stores in temporary folders."""

from __future__ import annotations

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from kiosk.clock import SimulatedClock
from kiosk.config import validate


@pytest.fixture
def mock_factory():
    """gpiozero's MockFactory as the default pin factory, reset after the test."""
    previous = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    yield factory
    factory.reset()
    Device.pin_factory = previous


@pytest.fixture
def clock():
    return SimulatedClock()


@pytest.fixture
def config():
    return validate({"kiosk": {"id": "test-w1", "window": "1"}})


def pytest_configure(config):
    """In CI the GUI tests must run, not skip: missing X tools there are a broken setup."""
    import os
    import shutil

    if os.environ.get("CI"):
        missing = [tool for tool in ("Xvfb", "xdotool", "import", "chromium")
                   if shutil.which(tool) is None]
        if missing:
            raise pytest.UsageError(f"CI is missing {', '.join(missing)}: ./dev.sh setup installs them")
