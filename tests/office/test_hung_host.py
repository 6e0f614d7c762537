"""A queue host that has hung (it takes connections and never answers) must not freeze a window's screens.

The screens read the host on the UI thread (a service's line on the guidance page, the window's
state on the staff panel). Before, each read waited 5 s three times over, and the guidance list
asks once per service. Now a read waits once, briefly, and for HOLD_OFF seconds after that the
reads fail at once; presses still go to the host, and its first answer ends the hold-off.
"""

from __future__ import annotations

import signal
import socket
import threading

import pytest

from kiosk.office import client as office_client
from kiosk.office.client import HOLD_OFF, HostClient, HostUnreachable


class HungHost:
    """Listens on loopback, takes every connection and never answers; counts the connections."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.taken = threading.Semaphore(0)
        threading.Thread(target=self._take, daemon=True).start()

    def _take(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            self.taken.release()

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hung():
    host = HungHost()
    yield host
    host.close()


def test_a_hung_host_costs_a_read_one_wait_then_none_until_the_hold_off_ends(hung, monkeypatch):
    monkeypatch.setattr(office_client, "READ_TIMEOUT", (1.0, 0.3))  # the test need not wait the real 2 s
    clock = Ticking()
    client = HostClient(hung.url, "token", monotonic=clock)
    with pytest.raises(HostUnreachable) as first:
        client.status("polling_place")
    assert "Read timed out" in first.value.detail
    assert hung.taken.acquire(timeout=10)
    # A read that timed out is not sent again: its retry's connection would have been taken
    # before the read's own time ran out.
    assert not hung.taken.acquire(timeout=0)
    clock.now += HOLD_OFF / 2
    with pytest.raises(HostUnreachable) as held_off:
        client.status("electoral_roll")
    # Not asked: the next service on the list costs the visitor nothing.
    assert "asked again after" in held_off.value.detail
    assert not hung.taken.acquire(timeout=0)
    clock.now += HOLD_OFF / 2
    with pytest.raises(HostUnreachable) as again:
        client.window_state("2")
    assert "Read timed out" in again.value.detail  # the hold-off over, the host is asked again
    assert hung.taken.acquire(timeout=10)


def test_a_press_still_goes_to_the_host_during_the_hold_off_and_its_answer_ends_it(tmp_path, monkeypatch):
    """The real host, stopped with SIGSTOP (hung), then continued: a read fails; a press during the
    hold-off is sent and answered; the reads work again at once."""
    from officehelp import HostProcess, add_device, office_config

    monkeypatch.setattr(office_client, "READ_TIMEOUT", (1.0, 0.5))
    config = office_config(tmp_path)
    data = tmp_path / "host-data"
    entrance_token = add_device(config, data, "entrance")
    host = HostProcess(config, data).start()
    try:
        clock = Ticking()
        entrance = HostClient(host.url, entrance_token, monotonic=clock)
        assert entrance.status("polling_place")["ahead"] == 0
        host.proc.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(HostUnreachable):
                entrance.status("polling_place")
        finally:
            host.proc.send_signal(signal.SIGCONT)
        with pytest.raises(HostUnreachable):  # held off: not asked
            entrance.status("polling_place")
        ticket = entrance.issue("polling_place", priority=False, press="hung-host-0001")
        assert ticket["number"] == "D001"
        assert entrance.status("polling_place")["ahead"] == 1  # the host answered: no more hold-off
    finally:
        host.stop()
