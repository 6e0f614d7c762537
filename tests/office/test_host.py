"""The office's queue host as a real process: windows calling together, retries, power cuts, lost links."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
import requests
from faultproxy import FaultProxy

from kiosk.clock import SystemClock
from kiosk.office.client import HostClient, HostUnavailable, RemoteQueue
from kiosk.office.hub import host_data_dir
from kiosk.queue import QueueRefused


def windows_of(host, tokens, *numbers):
    return {
        str(w): RemoteQueue(HostClient(host.url, tokens[w]), window=str(w), directory=None, clock=SystemClock())
        for w in numbers
    }


def entrance(host, tokens) -> HostClient:
    return HostClient(host.url, tokens["entrance"])


def host_events(host, type_):
    out = subprocess.run(
        [sys.executable, "-m", "kiosk", "events", "--data-dir", str(host_data_dir(host.data_dir)), "--type", type_],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def issue(client: HostClient, n: int, service: str = "polling_place") -> list[str]:
    return [client.issue(service, priority=False, press=f"entrance-{i:04d}")["number"] for i in range(n)]


def test_sixteen_windows_pressing_next_together_call_sixteen_different_tickets(office):
    host, tokens = office
    issued = issue(entrance(host, tokens), 20)
    windows = windows_of(host, tokens, *range(1, 17))
    start = threading.Barrier(len(windows))
    called: dict[str, str] = {}

    def press(name: str, queue: RemoteQueue):
        start.wait()
        called[name] = queue.call_next().called.number

    threads = [threading.Thread(target=press, args=item) for item in windows.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(called.values()) == sorted(issued[:16])  # none twice, none skipped, in line order
    events = host_events(host, "ticket_called")
    assert sorted(e["window"] for e in events) == sorted(windows)  # each call names the window that made it
    assert sorted(e["ticket"] for e in events) == sorted(issued[:16])


def test_a_retried_press_returns_the_first_answer(office):
    host, tokens = office
    client = entrance(host, tokens)
    first = client.issue("polling_place", priority=False, press="same-key-1")
    again = client.issue("polling_place", priority=False, press="same-key-1")
    assert first["number"] == again["number"] and first["token"] == again["token"]
    window = HostClient(host.url, tokens[3])
    a = window.press("3", "next", press="press-key-1")
    b = window.press("3", "next", press="press-key-1")
    assert a["called"]["number"] == b["called"]["number"] == first["number"]
    assert len(host_events(host, "ticket_called")) == 1
    assert len(host_events(host, "ticket_issued")) == 1


def test_devices_act_only_for_their_own_window(office):
    host, tokens = office
    url = host.url + "/office/v1/windows/2/next"
    assert requests.post(url, json={"press": "abcdefgh1"}, timeout=(2, 5)).status_code == 401
    assert (
        requests.post(
            url, json={"press": "abcdefgh1"}, headers={"Authorization": "Bearer nope"}, timeout=(2, 5)
        ).status_code
        == 401
    )
    wrong = requests.post(
        url, json={"press": "abcdefgh1"}, headers={"Authorization": f"Bearer {tokens[1]}"}, timeout=(2, 5)
    )
    assert wrong.status_code == 403 and "window 2" in wrong.json()["detail"]["en"]
    entrance_press = requests.post(
        url, json={"press": "abcdefgh1"}, headers={"Authorization": f"Bearer {tokens['entrance']}"}, timeout=(2, 5)
    )
    assert entrance_press.status_code == 403
    bad = requests.post(
        host.url + "/office/v1/tickets",
        json={"service": "x" * 500, "press": "k"},
        headers={"Authorization": f"Bearer {tokens['entrance']}"},
        timeout=(2, 5),
    )
    assert bad.status_code == 422
    with pytest.raises(QueueRefused, match="changed"):
        entrance(host, tokens).issue("no_such_service", priority=False, press="unknown-service-1")


def test_the_host_killed_mid_day_rebuilds_its_queue_from_its_log(office):
    host, tokens = office
    issued = issue(entrance(host, tokens), 5)
    windows = windows_of(host, tokens, 1, 2, 3)
    assert windows["1"].call_next().called.number == issued[0]
    assert windows["2"].call_next().called.number == issued[1]
    host.kill()
    with pytest.raises(HostUnavailable, match="queue host"):
        windows["3"].call_next()
    host.start(port=host.port)
    state = requests.get(host.url + "/office/v1/state", timeout=(2, 5)).json()
    serving = {w["window"]: w["ticket"]["number"] for w in state["windows"] if w["ticket"]}
    assert serving == {"1": issued[0], "2": issued[1]}
    assert [c["number"] for c in state["calls"]] == issued[:2]
    assert next(s for s in state["services"] if s["code"] == "polling_place")["waiting"] == 3
    # window 3's press was never answered; its next press is the first call it gets: the third ticket
    assert windows["3"].call_next().called.number == issued[2]


def test_a_window_cut_off_from_the_host_calls_nobody_twice(office):
    host, tokens = office
    issued = issue(entrance(host, tokens), 4)
    with FaultProxy(("127.0.0.1", host.port), weights={"reset": 1}) as proxy:
        window = RemoteQueue(HostClient(proxy.url, tokens[5]), window="5", directory=None, clock=SystemClock())
        # The host stores the call, then every answer is lost (and retried, and lost again).
        with pytest.raises(HostUnavailable) as lost:
            window.call_next()
        assert "無法連線到叫號主機" in lost.value.zh and "nothing was called" in lost.value.en
        assert proxy.forwarded >= 1
        proxy.faults = False  # the link is back
        outcome = window.call_next()
    assert outcome.called.number == issued[0]
    calls = host_events(host, "ticket_called")
    assert [c["ticket"] for c in calls] == [issued[0]]  # one call, whatever the retries


def test_a_transfer_through_the_host_keeps_the_number(office):
    host, tokens = office
    issued = issue(entrance(host, tokens), 2)
    windows = windows_of(host, tokens, 1, 2)
    windows["1"].call_next()
    moved = windows["1"].transfer("election_bulletin", front=True)  # windows 1;2 serve it
    assert moved.transferred.number == issued[0]
    assert windows["2"].call_next().called.number == issued[0]  # the front of its new line
    with pytest.raises(QueueRefused, match="does not serve"):
        windows["2"].transfer("electoral_roll", to_window="1")


def test_the_host_devices_own_screens_need_no_token_of_their_own(office):
    host, _ = office
    token_file = host_data_dir(host.data_dir) / "local-device.token"
    assert token_file.stat().st_mode & 0o077 == 0  # readable by the kiosk's user only
    client = HostClient(host.url, "", token_file=token_file)
    assert client.issue("polling_place", priority=False, press="own-screen-1")["number"].startswith("D")
    with pytest.raises(HostUnavailable, match="Unknown device"):
        HostClient(host.url, "", token_file=token_file.with_name("missing")).issue(
            "polling_place", priority=False, press="own-screen-2"
        )
