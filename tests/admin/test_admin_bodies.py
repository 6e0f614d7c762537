"""Request bodies (issue 11, point 5): capped before parsing, streamed with a cap, deep JSON refused
with a 4xx, a huge invalid case file answered with a bounded page. Against a real `serve` process;
its memory is read from /proc (a generous bound: a behaviour check, not a benchmark)."""

from __future__ import annotations

import select
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from adminhelp import add_admins, cli, login
from collector_helpers import start_server, stop_server

from server_sync.collector.admin.routes import uploads
from server_sync.collector.cases.routes import MAX_BODY as CASES_MAX_BODY

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("bodies") / "collector.db"
    cli(path, "kiosks")
    add_admins(path)
    out = cli(path, "add-api-token", "cms")
    assert out.returncode == 0, out.stderr
    srv = start_server(path)
    srv.api_token = out.stdout.strip().split()[-1]
    yield srv
    stop_server(srv)


def rss(pid: int) -> int:
    """The process's resident memory, bytes (VmRSS in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def raw_request(url: str, head: str, body_chunks, *, max_bytes: int) -> tuple[int, str]:
    """Send ``head`` and then chunks until the server answers (or ``max_bytes`` went out).
    Returns (status, response text)."""
    u = urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=60)
    try:
        sock.sendall(head.encode())
        sent = 0
        for chunk in body_chunks:
            if select.select([sock], [], [], 0)[0] or sent >= max_bytes:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        data = b""
        while b"\r\n\r\n" not in data:
            got = sock.recv(65536)
            if not got:
                break
            data += got
    finally:
        sock.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data.decode("utf-8", "replace")


def chunked(total: int, size: int = 64 * 1024):
    piece = b"x" * size
    for _ in range(total // size):
        yield b"%x\r\n%s\r\n" % (len(piece), piece)


def test_a_huge_declared_login_body_is_refused_before_parsing(server):
    head = (
        "POST /admin/login HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {1024 * MB}\r\n\r\n"
    )
    status, _ = raw_request(server.url, head, chunked(0), max_bytes=0)
    assert status == 413


def test_a_streamed_login_body_is_cut_at_its_cap(server):
    before = rss(server.proc.pid)
    head = (
        "POST /admin/login HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    status, _ = raw_request(server.url, head, chunked(256 * MB), max_bytes=256 * MB)
    assert status == 413
    assert rss(server.proc.pid) - before < 64 * MB


def test_other_admin_forms_are_capped_too(server):
    s = login(server.url, "mgr")
    r = s.post(f"{server.url}/admin/logout", data={"csrf": s.csrf, "junk": "x" * (2 * MB)}, timeout=30)
    assert r.status_code == 413
    assert s.get(f"{server.url}/admin", allow_redirects=False, timeout=10).status_code == 200  # still logged in


def test_the_cases_put_is_streamed_with_its_cap(server):
    before = rss(server.proc.pid)
    head = (
        f"PUT /api/v1/admin/cases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.api_token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    status, _ = raw_request(server.url, head, chunked(300 * MB), max_bytes=300 * MB)
    assert status == 413
    assert rss(server.proc.pid) - before < 100 * MB
    head = (
        f"PUT /api/v1/admin/cases HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.api_token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {CASES_MAX_BODY + 1}\r\n\r\n"
    )
    assert raw_request(server.url, head, chunked(0), max_bytes=0)[0] == 413


@pytest.mark.parametrize("path", ["/api/v1/admin/cases", "/api/v1/admin/services"])
def test_json_nested_too_deep_is_a_client_error(server, path):
    body = "[" * 200_000 + "]" * 200_000
    r = requests.put(
        f"{server.url}{path}",
        data=body,
        timeout=60,
        headers={"Authorization": f"Bearer {server.api_token}", "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422), (r.status_code, r.text[:200])
    assert "nested too deeply" in r.text


HEADER = "case_no,case_type,applicant_name,verify_code,stage,stage_date,unit,extension,due_date,closed_date\n"


def invalid_cases(rows: int) -> bytes:
    return (HEADER + "".join(f"113-{i:06d},x,王小明,12,收件,2024-13-45,第一組,12,bad,\n" for i in range(rows))).encode()


def test_a_big_invalid_case_file_gets_a_bounded_page(server):
    s = login(server.url, "mgr")
    rows = 5_000  # three problems each
    r = s.post(
        f"{server.url}/admin/cases",
        data={"csrf": s.csrf},
        files={"file": ("bad.csv", invalid_cases(rows), "text/csv")},
        timeout=120,
    )
    assert r.status_code == 422
    assert len(r.content) < 1 * MB
    assert r.text.count('<td class="where">') == uploads.MAX_LISTED
    assert f"{3 * rows - uploads.MAX_LISTED} more are not" in r.text and f"{3 * rows} problem(s)" in r.text


def test_a_case_file_over_the_row_cap_is_refused_whole(server):
    s = login(server.url, "mgr")
    raw = invalid_cases(uploads.MAX_ROWS + 1)
    assert len(raw) < uploads.MAX_UPLOAD
    r = s.post(
        f"{server.url}/admin/cases", data={"csrf": s.csrf}, files={"file": ("huge.csv", raw, "text/csv")}, timeout=120
    )
    assert r.status_code == 422 and f"more than {uploads.MAX_ROWS} rows" in r.text
    assert len(r.content) < 1 * MB


def test_a_csrf_token_sent_as_a_file_is_refused_not_a_crash(server):
    # A form's csrf field as a file part used to reach .encode() on an UploadFile: a 500.
    s = login(server.url, "mgr")
    r = s.post(
        f"{server.url}/admin/cases",
        files={"csrf": ("x.txt", s.csrf.encode(), "text/plain")},
        timeout=30,
    )
    assert r.status_code == 403 and "CSRF" in r.text, (r.status_code, r.text[:300])
