"""Admin-page test helpers: administrator accounts made with the CLI, logged-in requests sessions
(the HTML forms' own CSRF tokens). A module of its own name: `conftest` is ambiguous across tests/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "collector"))

from collector_helpers import collector_command

PASSWORDS = {"mgr": "manager-password-1", "viewer": "viewer-password-1"}
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-output" / "admin"
# The dashboard's tables: each a CSV export of its own and a sheet of all.xlsx.
DASHBOARD_TABLES = (
    "summary",
    "levels",
    "trend",
    "heatmap",
    "units",
    "windows",
    "services",
    "reasons",
    "queues",
    "cases",
)


def cli(db_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*collector_command(), *args, "--db", str(db_path)], input=stdin, capture_output=True, text=True, timeout=60
    )


def add_admins(db_path: Path) -> None:
    for user, role in (("mgr", "manager"), ("viewer", "viewer")):
        out = cli(db_path, "add-admin", user, "--role", role, "--password-stdin", stdin=PASSWORDS[user] + "\n")
        assert out.returncode == 0, out.stderr


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def post_login(browser, url: str, user: str, password: str, csrf: str, **form: str) -> requests.Response:
    """The login form as a browser posts it, the redirect not followed; ``browser``: a requests
    Session (its cookies go along) or the ``requests`` module itself (none do)."""
    return browser.post(
        f"{url}/admin/login",
        data={"username": user, "password": password, "csrf": csrf, **form},
        allow_redirects=False,
        timeout=30,
    )


def login(url: str, user: str, password: str | None = None) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{url}/admin/login", timeout=10)
    r = post_login(s, url, user, password or PASSWORDS[user], csrf_of(page.text), next="/admin")
    assert r.status_code == 303 and r.headers["location"] == "/admin", (r.status_code, r.headers)
    s.csrf = csrf_of(s.get(f"{url}/admin", timeout=30).text)
    return s


def shot(pg, name: str, full: bool = True) -> Path:
    """The browser page as test-output/admin/<name>.png; ``full``: the whole page, not only the viewport."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=full)
    return path


def shots_to_docs(*names: str) -> None:
    """With ADMIN_SCREENSHOTS_TO_DOCS set, test-output/admin/<name>.png → docs/screenshots/admin-<name>.png."""
    if os.environ.get("ADMIN_SCREENSHOTS_TO_DOCS"):
        for name in names:
            shutil.copy(SHOTS / f"{name}.png", REPO / "docs" / "screenshots" / f"admin-{name}.png")
