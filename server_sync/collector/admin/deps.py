"""What every /admin route is handed: the pages' settings, templates, write connection, session and checks.

Access rules (docs/admin.md): anonymous requests get nothing (pages redirect to the
login, data and exports answer 401); every state-changing request is a POST carrying
the session's CSRF token (403 without it) and, for a manager's action, a manager's
session (403 for a viewer).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, TypedDict
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData

from server_sync.collector import margins
from server_sync.collector.admin import accounts
from server_sync.collector.admin import queries as q
from server_sync.collector.admin.notices import NOTICES
from server_sync.collector.bodies import FORM_LIMIT, capped_form
from server_sync.collector.deps import Readers
from server_sync.collector.stats import fmt, fmt_ci
from server_sync.collector.timestamps import office_local, office_time

# -- the pages' settings (those an administrator changes live in collector/options.py) ----------
PACKAGE = "server_sync.collector.admin"  # templates/ and static/ are package data
COOKIE = "kc_session"
LOGIN_COOKIE = "kc_login"
OFFICE = "嘉義市選舉委員會 Chiayi City Election Commission"
UNAUTH = "請先登入 / log in first"
FORBIDDEN_ROLE = "需要管理者權限 / a manager's action: your account is a viewer"
FORBIDDEN_CSRF = "表單已過期或來源不明 (CSRF) / missing or wrong CSRF token: reload the page and try again"


class NeedLogin(Exception):
    """A page asked for without a session: answered with a redirect to the login."""


class TesterOnly(Exception):
    """A tester asked for a page beyond the telephone-courtesy form: answered with a redirect to it."""


FORBIDDEN_TESTER = "測試員帳號只能填寫電話禮貌測試 / a tester's account records telephone-courtesy tests only"
TESTER_HOME = "/admin/courtesy"


# -- templates ----------------------------------------------------------------------------------
def _environment() -> Environment:
    env = Environment(loader=PackageLoader(PACKAGE, "templates"), autoescape=select_autoescape(["html"]))
    env.filters["f1"] = fmt
    env.filters["ci"] = fmt_ci
    env.filters["taipei"] = office_time  # a stored UTC time, in office time with its zone labelled
    env.filters["taipei_local"] = office_local  # a time already in office time, labelled the same way
    env.globals["margins"] = margins  # the ± percentage points beside every share
    env.globals["weekdays"] = q.WEEKDAYS
    return env


templates = _environment()


def render(template: str, request: Request | None = None, session=None, status: int = 200, **ctx) -> HTMLResponse:
    html = templates.get_template(template).render(
        session=session, path=request.url.path if request else "", office=OFFICE, **ctx
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def back(url: str, message: str = "", error: str = "") -> RedirectResponse:
    """Redirect after a POST, with the message or error the next page shows: the URL carries
    only a key to the text (notices.py), so no link can make a page say something else."""
    params = {k: NOTICES.keep(v) for k, v in (("msg", message), ("err", error)) if v}
    sep = "&" if "?" in url else "?"  # a URL that already has a query (the courtesy form's ?kind=)
    return RedirectResponse(url + (sep + urlencode(params) if params else ""), status_code=303)


class BannerTexts(TypedDict):
    """A page's banners, spread into ``render``'s keywords (their names known, unlike a dict's)."""

    msg: str
    err: str


def banners(msg: str = "", err: str = "") -> BannerTexts:
    """A page's ``msg`` and ``err`` banners: the texts ``back`` kept under the URL's keys, else none."""
    return {"msg": NOTICES.text(msg) if msg else "", "err": NOTICES.text(err) if err else ""}


Banners = Annotated[BannerTexts, Depends(banners)]


# -- the pages' own writer ----------------------------------------------------------------------
@dataclass
class AdminState:
    """The admin pages' write connection (one transaction at a time)."""

    write_conn: sqlite3.Connection
    write_lock: threading.Lock

    def close(self) -> None:
        with self.write_lock:
            self.write_conn.close()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """The write connection inside one transaction, committed on success."""
        with self.write_lock:
            self.write_conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.write_conn
                self.write_conn.execute("COMMIT")
            except BaseException:
                if self.write_conn.in_transaction:
                    self.write_conn.execute("ROLLBACK")
                raise


def get_state(request: Request) -> AdminState:
    return request.app.state.admin


State = Annotated[AdminState, Depends(get_state)]


# -- sessions and checks ------------------------------------------------------------------------
# The session checks are ``async``: FastAPI runs a plain ``def`` dependency in a worker thread,
# and in a reconnect storm each such trip waits behind the kiosks' requests for a thread and the
# event loop. session_of's one read is a primary-key lookup on a WAL reader (it never waits for
# the writer), short enough for the event loop; a page or data request then costs one trip, its own.
async def session_of(request: Request, readers: Readers) -> accounts.Session | None:
    with readers.connection() as conn:
        return accounts.session_for(conn, request.cookies.get(COOKIE))


MaybeSession = Annotated[accounts.Session | None, Depends(session_of)]


async def page_session(session: MaybeSession) -> accounts.Session:
    """A page's session; without one, the login page (NeedLogin)."""
    if session is None:
        raise NeedLogin()
    if session.user.is_tester:
        raise TesterOnly()
    return session


async def any_page_session(session: MaybeSession) -> accounts.Session:
    """A page every role may open, a tester's included (the courtesy form)."""
    if session is None:
        raise NeedLogin()
    return session


async def api_session(session: MaybeSession) -> accounts.Session:
    """A data or file request's session; without one, 401; a tester's, 403."""
    if session is None:
        raise HTTPException(401, UNAUTH)
    if session.user.is_tester:
        raise HTTPException(403, FORBIDDEN_TESTER)
    return session


async def manager_page_session(session: Annotated[accounts.Session, Depends(page_session)]) -> accounts.Session:
    if not session.user.is_manager:
        raise HTTPException(403, FORBIDDEN_ROLE)
    return session


PageSession = Annotated[accounts.Session, Depends(page_session)]
AnyPageSession = Annotated[accounts.Session, Depends(any_page_session)]
ApiSession = Annotated[accounts.Session, Depends(api_session)]
ManagerPageSession = Annotated[accounts.Session, Depends(manager_page_session)]


@dataclass
class Post:
    """A checked state-changing request: its session and form."""

    session: accounts.Session
    form: FormData


async def checked_post(
    request: Request, session: MaybeSession, *, manager: bool = True, limit: int = FORM_LIMIT, max_files: int = 0
) -> Post:
    """Logged in (401), a body of at most ``limit`` bytes (413, before parsing), the right CSRF
    token (403), the right role (403)."""
    if session is None:
        raise HTTPException(401, UNAUTH)
    form = await capped_form(request, limit, max_files=max_files)
    field = form.get("csrf")  # an UploadFile if sent as a file part: no token
    token = (field if isinstance(field, str) else None) or request.headers.get("x-csrf-token")
    if not accounts.csrf_ok(session.csrf, token):
        raise HTTPException(403, FORBIDDEN_CSRF)
    if manager and not session.user.is_manager:
        raise HTTPException(403, FORBIDDEN_ROLE)
    return Post(session, form)


async def any_post(request: Request, session: MaybeSession) -> Post:
    return await checked_post(request, session, manager=False)


async def manager_post(request: Request, session: MaybeSession) -> Post:
    return await checked_post(request, session, manager=True)


AnyPost = Annotated[Post, Depends(any_post)]  # any logged-in account (logging out)
ManagerPost = Annotated[Post, Depends(manager_post)]  # a manager's action
