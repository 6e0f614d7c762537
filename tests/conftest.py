"""Shared fixtures: mock GPIO pins, simulated clocks, stores in temporary folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from kiosk.clock import SimulatedClock
from kiosk.config import validate

DEPLOY = Path(__file__).resolve().parent / "deploy"


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
    if os.environ.get("CI"):
        missing = [
            tool for tool in ("Xvfb", "xdotool", "import", "chromium", "espeak-ng") if shutil.which(tool) is None
        ]
        if missing:
            raise pytest.UsageError(f"CI is missing {', '.join(missing)}: ./dev.sh setup installs them")


def pytest_collection_modifyitems(config, items):
    """Everything under tests/deploy builds and installs the product: marked ``deploy`` so a pass can
    leave it out (./dev.sh's clock-shifted pass does) without each new file there having to say so."""
    for item in items:
        if DEPLOY in Path(item.path).parents:
            item.add_marker(pytest.mark.deploy)
            # Under pytest-xdist (--dist loadgroup) they share one worker: their session fixtures
            # (the wheel, the Debian root's layers) are then built once, not once per worker.
            item.add_marker(pytest.mark.xdist_group("deploy"))
