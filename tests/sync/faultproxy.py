"""A TCP proxy that breaks HTTP exchanges on purpose, between the kiosk and a real collector.

One request per connection: the proxy reads the whole request, rewrites its
``Connection`` header to ``close`` and then, chosen at random from a seeded RNG:

pass         forwards the request and returns the whole response
drop         closes the connection before forwarding anything
reset        forwards (so the collector stores the batch), then sends part of
             the response and resets the connection (RST): the ack is lost
delay        waits a little, then passes
stall        forwards, then holds the response past the client's read timeout
truncate     forwards, then sends the headers and only part of the body
portal       answers by itself: ``HTTP/1.1 200 OK`` with an HTML login page
bad_gateway  forwards, then answers 502 with an HTML page (a retryable status)
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter

ACTIONS = ("pass", "drop", "reset", "delay", "stall", "truncate", "portal", "bad_gateway")

PORTAL_PAGE = (
    b"<!DOCTYPE html><html><head><title>Wi-Fi Login</title></head><body>"
    b"<h1>\xe6\xad\xa1\xe8\xbf\x8e\xe4\xbd\xbf\xe7\x94\xa8 Free Wi-Fi</h1>"
    b"<form action='/login'><input name='user'><button>Login</button></form></body></html>"
)


def _http(status: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def _read_request(conn: socket.socket) -> bytes | None:
    """The whole request with ``Connection: close``, or None if the client went away."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = 0
    kept = [lines[0]]
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            length = int(value.strip())
        if lname in (b"connection", b"keep-alive"):
            continue
        kept.append(line)
    kept.append(b"Connection: close")
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def _reset(conn: socket.socket) -> None:
    """Close with RST instead of FIN."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    conn.close()


class FaultProxy:
    """Listens on 127.0.0.1 (``url``) and forwards to ``upstream`` with faults.

    weights: action name -> weight (missing actions weigh 0); default: half the
        exchanges pass, the rest spread over the faults.
    stall: seconds a stalled response is held (set above the client's read timeout).
    """

    DEFAULT_WEIGHTS = {
        "pass": 10,
        "drop": 2,
        "reset": 2,
        "delay": 2,
        "stall": 1,
        "truncate": 2,
        "portal": 2,
        "bad_gateway": 2,
    }

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        seed: int = 0,
        weights: dict | None = None,
        delay: tuple[float, float] = (0.02, 0.2),
        stall: float = 1.5,
    ):
        self.upstream = upstream
        self.rng = random.Random(seed)
        self.weights = dict(weights or self.DEFAULT_WEIGHTS)
        self.delay, self.stall = delay, stall
        self.counts: Counter[str] = Counter()
        self.forwarded = 0  # requests the collector received
        self.faults = True  # False: every exchange passes
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="faultproxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed = True
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def _choose(self) -> str:
        with self._lock:
            if not self.faults:
                action = "pass"
            else:
                names = [a for a in ACTIONS if self.weights.get(a)]
                action = self.rng.choices(names, [self.weights[a] for a in names])[0]
            self.counts[action] += 1
            return action

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _forward(self, request: bytes) -> bytes:
        with socket.create_connection(self.upstream, timeout=30) as up:
            up.sendall(request)
            with self._lock:
                self.forwarded += 1
            chunks = []
            while True:
                chunk = up.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        try:
            request = _read_request(conn)
            if request is None:
                conn.close()
                return
            action = self._choose()
            if action == "drop":
                conn.close()
                return
            if action == "portal":
                conn.sendall(_http("200 OK", PORTAL_PAGE))
                conn.close()
                return
            if action == "delay":
                time.sleep(self.rng.uniform(*self.delay))
            response = self._forward(request)
            if action == "stall":
                time.sleep(self.stall)
            if action == "reset":
                conn.sendall(response[: self.rng.randint(0, max(0, len(response) // 2))])
                _reset(conn)
                return
            if action == "truncate":
                head, sep, body = response.partition(b"\r\n\r\n")
                conn.sendall(head + sep + body[: len(body) // 2])
                conn.close()
                return
            if action == "bad_gateway":
                conn.sendall(_http("502 Bad Gateway", b"<html><body><h1>502 Bad Gateway</h1></body></html>"))
                conn.close()
                return
            conn.sendall(response)
            conn.close()
        except OSError:
            try:
                conn.close()
            except OSError:
                pass
