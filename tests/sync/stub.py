"""A scriptable stand-in collector (stdlib http.server) for answers a real collector never gives."""

from __future__ import annotations

import gzip
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubCollector:
    """``answer(batch) -> (status, headers, body bytes)`` decides each POST /api/v1/events."""

    def __init__(self, answer):
        self.answer = answer
        self.batches: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, headers, body):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                batch = json.loads(raw)
                stub.batches.append(batch)
                self._send(*stub.answer(batch))

            def do_GET(self):
                self._send(
                    200,
                    {"Content-Type": "application/json", "ETag": '"1"'},
                    json.dumps({"revision": 1, "settings": {}}).encode(),
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def ack(acked_seq: int, stored: int = 0, duplicates: int = 0):
    body = {
        "protocol": 1,
        "stored": stored,
        "duplicates": duplicates,
        "acked_seq": acked_seq,
        "server_time": datetime.now(UTC).isoformat(),
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
