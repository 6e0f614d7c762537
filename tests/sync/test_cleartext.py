"""The sync token never goes over plain http to another machine unless [sync] allow_insecure_http says so.

No test here sends a packet beyond loopback: every socket connect to another
address is caught first (``no_connect_beyond_loopback``), and the refusals must
happen before any connect is even tried.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from synchelp import fill

from kiosk.clock import SimulatedClock
from kiosk.config import ConfigError, validate
from kiosk.outbox import KioskOutbox, sync_client, sync_worker
from server_sync.client.cleartext import is_loopback, refusal
from server_sync.client.push import SyncClient
from server_sync.client.session import CleartextRefused, make_retry, make_session

FAR = "http://192.0.2.10:8470/"  # TEST-NET-1 (RFC 5737): never routed, and never tried here


@pytest.fixture
def connects(monkeypatch):
    """Every non-loopback address a socket tried to connect to; none is really connected."""
    tried = []
    real = socket.socket.connect

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if not is_loopback(str(host)):
            tried.append(address)
            raise OSError("test: connecting beyond loopback is not allowed here")
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return tried


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("[::1]", True),
        ("::1", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("192.0.2.10", False),
        ("10.0.0.5", False),
        ("127.0.0.1.example.com", False),
        ("0x7f.1", False),
        ("collector.example", False),
        ("", False),
        (None, False),
    ],
)
def test_what_counts_as_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_the_config_refuses_http_beyond_loopback_and_names_the_setting():
    with pytest.raises(ConfigError) as info:
        validate({"sync": {"url": FAR}})
    assert info.value.key == "sync.url" and "allow_insecure_http" in str(info.value)
    assert validate({"sync": {"url": FAR, "allow_insecure_http": True}})["sync.url"] == FAR
    assert validate({"sync": {"url": "http://127.0.0.1:8470/"}})["sync.url"]  # the demo's collector
    assert validate({"sync": {"url": "https://collector.example/"}})["sync.url"]
    assert refusal("https://192.0.2.10/") is None


def test_the_client_refuses_http_beyond_loopback_before_connecting(data_dir, connects):
    fill(data_dir, 5)
    result = sync_client(FAR, "secret-token", data_dir).run_round()
    assert isinstance(result.error, CleartextRefused)
    assert "allow_insecure_http" in result.error.en and "allow_insecure_http" in result.error.zh
    assert connects == [], "nothing may be sent, not even a connection attempt"
    with KioskOutbox(data_dir) as outbox:
        state = outbox.state()
        assert state["acked_seq"] == 0 and "allow_insecure_http" in state["last_error_en"]


def test_a_client_made_without_the_kiosk_config_refuses_too(data_dir, connects):
    # Defence in depth: SyncClient's own default session guards as well.
    fill(data_dir, 2)
    result = SyncClient(FAR, "secret-token", KioskOutbox(data_dir), clock=SimulatedClock()).run_round()
    assert isinstance(result.error, CleartextRefused) and connects == []


def test_the_setting_lets_the_request_go_out(data_dir, connects):
    fill(data_dir, 2)
    config = validate({"sync": {"url": FAR, "token": "t", "allow_insecure_http": True}})
    worker = sync_worker(config, data_dir)
    result = worker.client.run_round()
    assert not isinstance(result.error, CleartextRefused)
    assert connects, "with the setting the request reaches the network layer (caught by the test)"


def test_plain_http_through_a_proxy_beyond_loopback_is_refused(connects):
    session = make_session("secret-token")
    with pytest.raises(CleartextRefused):
        session.get("http://127.0.0.1:9/api/v1/settings", proxies={"http": "http://192.0.2.20:3128"}, timeout=(2, 5))
    assert connects == []


def test_a_redirect_to_http_beyond_loopback_is_refused(connects):
    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", FAR + "api/v1/settings")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        session = make_session("secret-token")
        with pytest.raises(CleartextRefused):
            session.get(f"http://127.0.0.1:{server.server_port}/api/v1/settings", timeout=(2, 5))
        assert connects == []
        with pytest.raises(requests.RequestException):  # with the setting it is tried (and caught here)
            make_session("t", allow_insecure_http=True, retries=make_retry(total=0)).get(
                f"http://127.0.0.1:{server.server_port}/", timeout=(2, 5)
            )
        assert connects
    finally:
        server.shutdown()
        server.server_close()
