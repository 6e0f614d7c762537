"""Logging in under attack (issue 11, points 4 and 6): the wrong-password counters per account,
known browser and source address; locks that end and start counting again; a manager unlocking;
the audit with addresses; logins that never stall kiosk batches; a login CSRF pair bound to the
server.

The collector runs on loopback under uvicorn with an injected clock (in this process, so the
test moves time instead of sleeping); its proxy-header trust of 127.0.0.1 (as `serve` has it)
lets the test speak from many source addresses with X-Forwarded-For.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlencode, urlsplit

import pytest
import requests
import uvicorn
from adminhelp import PASSWORDS, add_admins, cli, csrf_of, post_login
from argon2 import PasswordHasher
from collector_helpers import free_port, make_batch, make_event, start_server, stop_server

from server_sync.collector import auth
from server_sync.collector import db as dbmod
from server_sync.collector.admin import login_limits
from server_sync.collector.api import create_app

START = 1_900_000_000.0  # the injected clock's start; only differences matter


@contextmanager
def serving(app):
    """The app under uvicorn on a free loopback port, trusting 127.0.0.1's proxy headers like `serve`."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=True, forwarded_allow_ips="127.0.0.1"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        thread.join(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


@pytest.fixture
def env(tmp_path):
    """(url, clock list, db path): a collector with accounts mgr and viewer."""
    path = tmp_path / "c.db"
    cli(path, "kiosks")
    add_admins(path)
    now = [START]
    with serving(create_app(path, clock=lambda: now[0])) as url:
        yield url, now, path


def attempt(url: str, user: str, password: str, address: str, browser: requests.Session | None = None):
    """One login from ``address`` (a fresh browser unless one is given): 'ok', 'wrong' or 'blocked'."""
    b = browser or requests.Session()
    b.headers["X-Forwarded-For"] = address
    page = b.get(f"{url}/admin/login", timeout=10)
    r = post_login(b, url, user, password, csrf_of(page.text), next="/admin")
    if r.status_code == 429:
        return "blocked"
    assert r.status_code == 303, (r.status_code, r.text)
    return "ok" if r.headers["location"] == "/admin" else "wrong"


def audit(path) -> list[tuple[str, str, dict]]:
    conn = dbmod.connect(path)
    try:
        return [
            (a, t, json.loads(d) if d else {})
            for a, t, d in conn.execute("SELECT action, target, detail FROM admin_audit ORDER BY id")
        ]
    finally:
        conn.close()


def lock_out(url: str, user: str, first_address: int = 1) -> None:
    """MAX_FAILED wrong passwords for ``user``, each from its own address (no address limit met)."""
    for i in range(login_limits.MAX_FAILED):
        assert attempt(url, user, "wrong-password-x", f"10.0.{first_address}.{i + 1}") == "wrong"


def test_a_lock_ends_and_counting_starts_again(env):
    url, now, path = env
    lock_out(url, "mgr")
    # Locked: even the right password from a new browser is refused.
    assert attempt(url, "mgr", PASSWORDS["mgr"], "10.9.0.1") == "wrong"
    # The old attack: one wrong try per lock period kept the account locked for good.
    for _ in range(3):
        now[0] += login_limits.LOCK_SECONDS + 1
        assert attempt(url, "mgr", "wrong-password-x", "10.9.0.2") == "wrong"
        assert attempt(url, "mgr", PASSWORDS["mgr"], "10.9.0.3") == "ok"
    actions = [a for a, _, _ in audit(path)]
    assert actions.count("login_locked") == 1


def test_a_known_browser_is_not_locked_out(env):
    url, now, _path = env
    own = requests.Session()
    assert attempt(url, "mgr", PASSWORDS["mgr"], "10.1.1.1", own) == "ok"
    assert own.cookies.get(login_limits.DEVICE_COOKIE)
    own.cookies.pop("kc_session")
    lock_out(url, "mgr", first_address=2)
    assert attempt(url, "mgr", PASSWORDS["mgr"], "10.1.1.2") == "wrong"  # a new browser: locked
    assert attempt(url, "mgr", PASSWORDS["mgr"], "10.1.1.1", own) == "ok"  # the manager's own: in
    # Its own wrong passwords count against that browser alone, and lock it too.
    own.cookies.pop("kc_session")
    for _i in range(login_limits.MAX_FAILED):
        assert attempt(url, "mgr", "wrong-password-x", "10.1.1.1", own) == "wrong"
    assert attempt(url, "mgr", PASSWORDS["mgr"], "10.1.1.1", own) == "wrong"
    now[0] += login_limits.LOCK_SECONDS + 1
    assert attempt(url, "mgr", PASSWORDS["mgr"], "10.1.1.1", own) == "ok"


def test_one_address_cannot_go_on_guessing(env):
    url, now, path = env
    for i in range(login_limits.ADDRESS_MAX_FAILED):
        assert attempt(url, f"nobody{i}", "wrong-password-x", "192.0.2.7") == "wrong"
    # Blocked: refused without a password check, whatever the account; other addresses are not.
    r_page = requests.get(f"{url}/admin/login", headers={"X-Forwarded-For": "192.0.2.7"}, timeout=10)
    assert attempt(url, "viewer", PASSWORDS["viewer"], "192.0.2.7") == "blocked"
    assert attempt(url, "viewer", PASSWORDS["viewer"], "192.0.2.8") == "ok"
    assert r_page.ok
    blocked = requests.Session()
    blocked.headers["X-Forwarded-For"] = "192.0.2.7"
    page = blocked.get(f"{url}/admin/login", timeout=10)
    r = post_login(blocked, url, "viewer", PASSWORDS["viewer"], csrf_of(page.text))
    assert r.status_code == 429 and "too many failed logins from this address" in r.text
    assert int(r.headers["Retry-After"]) > 0
    now[0] += login_limits.LOCK_SECONDS + 1
    assert attempt(url, "viewer", PASSWORDS["viewer"], "192.0.2.7") == "ok"
    rows = audit(path)
    failed = [d for a, _, d in rows if a == "login_failed"]
    assert len(failed) == login_limits.ADDRESS_MAX_FAILED
    assert {d["address"] for d in failed} == {"192.0.2.7"} and failed[0]["reason"] == "unknown_user"
    assert [t for a, t, _ in rows if a == "login_address_blocked"] == ["192.0.2.7"]


def test_failed_logins_and_locks_are_audited_with_the_address(env):
    url, _now, path = env
    lock_out(url, "viewer", first_address=3)
    rows = audit(path)
    failed = [(t, d) for a, t, d in rows if a == "login_failed"]
    assert [t for t, _ in failed] == ["viewer"] * login_limits.MAX_FAILED
    assert [d["address"] for _, d in failed] == [f"10.0.3.{i + 1}" for i in range(login_limits.MAX_FAILED)]
    locked = [(t, d) for a, t, d in rows if a == "login_locked"]
    assert locked == [
        (
            "viewer",
            {
                "address": f"10.0.3.{login_limits.MAX_FAILED}",
                "what": "account",
                "until": START + login_limits.LOCK_SECONDS,
            },
        )
    ]


def unlock(browser: requests.Session, url: str, username: str, page: requests.Response) -> requests.Response:
    """The accounts page's unlock form for ``username``, with the CSRF token of ``page``."""
    return browser.post(
        f"{url}/admin/accounts/unlock",
        data={"username": username, "csrf": csrf_of(page.text)},
        allow_redirects=False,
        timeout=10,
    )


def test_a_manager_unlocks_an_account_on_the_page_and_with_the_cli(env):
    url, _now, path = env
    lock_out(url, "viewer")
    mgr = requests.Session()
    assert attempt(url, "mgr", PASSWORDS["mgr"], "10.5.5.5", mgr) == "ok"
    page = mgr.get(f"{url}/admin/accounts", timeout=10)
    assert page.ok and re.search(r"<td>viewer</td>.*?locked", page.text, re.S)
    assert unlock(mgr, url, "viewer", page).status_code == 303
    assert attempt(url, "viewer", PASSWORDS["viewer"], "10.5.5.6") == "ok"
    # A viewer may not unlock.
    lock_out(url, "mgr", first_address=4)
    viewer = requests.Session()
    assert attempt(url, "viewer", PASSWORDS["viewer"], "10.5.5.7", viewer) == "ok"
    page = viewer.get(f"{url}/admin", timeout=10)
    assert unlock(viewer, url, "mgr", page).status_code == 403
    assert attempt(url, "mgr", PASSWORDS["mgr"], "10.5.5.8") == "wrong"
    out = cli(path, "unlock-admin", "mgr")
    assert out.returncode == 0, out.stderr
    assert attempt(url, "mgr", PASSWORDS["mgr"], "10.5.5.8") == "ok"
    assert [(t, d) for a, t, d in [(a, t, d) for a, t, d in audit(path)] if a == "unlock_user"] == [
        ("viewer", {}),
        ("mgr", {}),
    ]


def test_a_forged_login_csrf_pair_is_refused(env):
    url, _now, _path = env
    b = requests.Session()
    b.cookies.set("kc_login", "abc", path="/admin")
    assert post_login(b, url, "mgr", PASSWORDS["mgr"], "abc").status_code == 403
    # A real pair from another browser's form does not fit this browser's cookie either.
    other = requests.get(f"{url}/admin/login", timeout=10)
    assert post_login(b, url, "mgr", PASSWORDS["mgr"], csrf_of(other.text)).status_code == 403
    assert attempt(url, "mgr", PASSWORDS["mgr"], "10.6.6.6") == "ok"


# -- a burst of logins does not stall kiosk batches ----------------------------------------------

LOGINS = 60  # more than the server's default worker threads (40), fewer than login.MAX_WAITING
BATCHES = 5


@pytest.mark.dateless  # threads and a held password check: no date in it
def test_a_burst_of_logins_does_not_stall_a_kiosk_batch(tmp_path):
    path = tmp_path / "c.db"
    cli(path, "kiosks")
    add_admins(path)
    server = start_server(path)
    try:
        token = server.new_kiosk("w1")
        host = urlsplit(server.url)
        forms = []
        for _ in range(LOGINS):  # each login its own browser: cookie and form token
            b = requests.Session()
            page = b.get(f"{server.url}/admin/login", timeout=10)
            forms.append((b.cookies.get("kc_login"), csrf_of(page.text)))
        order, lock, sent = [], threading.Lock(), threading.Semaphore(0)

        def log_in(cookie: str, csrf: str) -> None:
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
            body = urlencode({"username": "mgr", "password": PASSWORDS["mgr"], "csrf": csrf, "next": "/admin"})
            conn.request(
                "POST",
                "/admin/login",
                body,
                {"Cookie": f"kc_login={cookie}", "Content-Type": "application/x-www-form-urlencoded"},
            )
            sent.release()
            status = conn.getresponse().status
            with lock:
                order.append(("login", status))

        threads = [threading.Thread(target=log_in, args=f) for f in forms]
        for t in threads:
            t.start()
        for _ in range(LOGINS):
            assert sent.acquire(timeout=60)
        for seq in range(1, BATCHES + 1):  # a kiosk's backlog, one batch after another
            r = server.post(token, make_batch([make_event(seq)]))
            with lock:
                order.append(("batch", r.status_code))
        for t in threads:
            t.join(120)
        assert sorted(order) == sorted([("login", 303)] * LOGINS + [("batch", 200)] * BATCHES)
        kinds = [kind for kind, _ in order]
        logins_before = kinds[: len(kinds) - kinds[::-1].index("batch")].count("login")
        # Every login and every batch got through, and the batches did not queue behind the burst.
        # How many logins finish meanwhile depends on the machine's load, so this bound is loose
        # (about 0-10 here, 21 before the fix): the test below pins the behaviour exactly.
        assert logins_before < LOGINS // 2, logins_before
    finally:
        stop_server(server)


@pytest.mark.dateless  # threads and a held password check: no date in it
def test_a_kiosk_batch_is_stored_while_a_password_check_is_running(tmp_path, monkeypatch):
    """The deterministic form of the test above: one login is held inside argon2's verify (the
    library's, wrapped to wait for this test) and a kiosk batch must be stored meanwhile. Before,
    the check ran under the collector's write lock and the batch waited for it."""
    path = tmp_path / "c.db"
    cli(path, "kiosks")
    add_admins(path)
    inside, release = threading.Event(), threading.Event()
    real_verify = PasswordHasher.verify

    def held_verify(self, hash, password):
        inside.set()
        release.wait(60)
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", held_verify)
    with serving(create_app(path)) as url:
        conn = dbmod.open_db(path)
        try:
            token = auth.add_kiosk(conn, "w1", levels=5, unit="第一組", window="1")
        finally:
            conn.close()
        done: list[int] = []
        browser = requests.Session()
        page = browser.get(f"{url}/admin/login", timeout=10)
        form = {"username": "mgr", "password": PASSWORDS["mgr"], "csrf": csrf_of(page.text), "next": "/admin"}
        login = threading.Thread(
            target=lambda: done.append(
                browser.post(f"{url}/admin/login", data=form, allow_redirects=False, timeout=60).status_code
            )
        )
        login.start()
        try:
            assert inside.wait(30), "the login never reached its password check"
            r = requests.post(
                f"{url}/api/v1/events",
                json=make_batch([make_event(1)]),
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,  # before, it waited for the held check and timed out here
            )
            assert r.status_code == 200 and r.json()["stored"] == 1
            assert not done, "the login finished before its check was released"
        finally:
            release.set()
            login.join(60)
        assert done == [303]
