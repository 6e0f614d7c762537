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


# First, so the marks exist when pytest-xdist's own hook reads them (below).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Everything under tests/deploy builds and installs the product: marked ``deploy`` so a pass can
    leave it out (./dev.sh's clock-shifted pass does) without each new file there having to say so."""
    for item in items:
        if DEPLOY in Path(item.path).parents:
            item.add_marker(pytest.mark.deploy)
            # Under pytest-xdist (--dist loadgroup) they share one worker: their session fixtures
            # (the wheel, the Debian root's layers) are then built once, not once per worker.
            item.add_marker(pytest.mark.xdist_group("deploy"))


@pytest.hookimpl(specname="pytest_collection_modifyitems", trylast=True)
def pytest_collection_modifyitems_carry_xdist_groups(items):
    """Make ``--dist loadgroup`` group again under pytest 9.

    pytest-xdist 3.8 groups by an "@group" suffix it writes into ``item._nodeid``; pytest 9
    builds ``nodeid`` from ``item._id`` instead, so the suffix never reached the scheduler and
    every xdist_group was spread over both workers. Each worker then built the Debian root and
    its install layers (~100 s of a core each) and walked the readability screens twice.
    """
    from _pytest.nodeid import NodeId

    for item in items:
        grouped = getattr(item, "_nodeid", None)
        if isinstance(grouped, str) and grouped != item.nodeid and grouped.startswith(item.nodeid + "@"):
            item._id = NodeId.parse(grouped)
