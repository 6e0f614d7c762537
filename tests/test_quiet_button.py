"""QuietButton: held-button events as gpiozero's, without a thread waking ten times a second."""

from __future__ import annotations

import threading

import pytest
from gpiozero.pins.mock import MockFactory
from waiting import wait_until

from kiosk.quiet_button import QuietButton


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.close()


def test_a_held_button_fires_when_held_once_and_close_ends_its_thread(factory):
    button = QuietButton(5, pin_factory=factory, hold_time=0.05)
    held = threading.Event()
    button.when_held = held.set
    pin = factory.pin(5)
    pin.drive_low()
    assert held.wait(5)
    pin.drive_high()
    thread = button._hold_thread
    button.close()
    assert not thread.is_alive()


def test_the_hold_thread_waits_for_a_press_without_a_timeout(factory, monkeypatch):
    waits: list[tuple[threading.Thread, float | None]] = []
    original = threading.Event.wait

    def recording_wait(self, timeout=None):
        waits.append((threading.current_thread(), timeout))
        return original(self, timeout)

    monkeypatch.setattr(threading.Event, "wait", recording_wait)
    button = QuietButton(6, pin_factory=factory)
    ours = button._hold_thread
    wait_until(lambda: any(thread is ours for thread, _ in waits), what="the hold thread to wait")
    button.close()
    assert {timeout for thread, timeout in waits if thread is ours} == {None}
