"""Logging in and out (docs/admin.md "Logging in"), and the accounts page where a manager unlocks one.

The login form's body is capped before it is parsed (bodies.LOGIN_LIMIT), its CSRF pair is
bound to a server secret (accounts.login_csrf), and the wrong-password counters are
login_limits.py's. argon2 runs in a worker thread of its own small pool, outside every lock,
so a burst of logins neither holds the admin writer nor takes the threads kiosk batches use.
"""

from __future__ import annotations

from urllib.parse import quote

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from server_sync.collector import options
from server_sync.collector.admin import accounts, login_limits
from server_sync.collector.admin.deps import (
    COOKIE,
    FORBIDDEN_CSRF,
    LOGIN_COOKIE,
    AnyPost,
    Banners,
    ManagerPageSession,
    ManagerPost,
    State,
    back,
    render,
)
from server_sync.collector.bodies import LOGIN_LIMIT, capped_form
from server_sync.collector.deps import Readers, Writer

HASHERS = 2  # argon2 verifications at once (each ~50 ms of CPU and 64 MiB)
MAX_WAITING = 64  # logins queued for a hasher beyond which more are told to retry
BUSY = "登入要求過多，請稍後再試 / too many logins at once: try again in a moment"

router = APIRouter()


def _hashers(request: Request) -> anyio.CapacityLimiter:
    """The app's own hashing pool (made on first use, inside the event loop that uses it)."""
    limiter = getattr(request.app.state, "login_hashers", None)
    if limiter is None:
        limiter = request.app.state.login_hashers = anyio.CapacityLimiter(HASHERS)
    return limiter


def _address(request: Request) -> str:
    # uvicorn has already put X-Forwarded-For of a trusted proxy (serve --forwarded-allow-ips) here.
    return request.client.host if request.client else ""


def _next(value) -> str:
    nxt = str(value or "/admin")
    return nxt if nxt.startswith("/admin") and not nxt.startswith("/admin/login") else "/admin"


def _login_form(request: Request, readers, *, next: str = "/admin", status: int = 200, **ctx):
    with readers.connection() as conn:
        cookie, field = accounts.login_csrf(accounts.login_secret(conn))
    resp = render(
        "login.html",
        request,
        login_csrf=field,
        next=next if next.startswith("/admin") else "/admin",
        status=status,
        **ctx,
    )
    resp.set_cookie(
        LOGIN_COOKIE, cookie, httponly=True, samesite="lax", path="/admin", secure=request.url.scheme == "https"
    )
    return resp


@router.get("/login")
def login_page(request: Request, readers: Readers, next: str = "/admin", err: str = ""):
    return _login_form(request, readers, next=next, error=bool(err))


@router.post("/login")
async def login(request: Request, state: State, readers: Readers, writer: Writer):
    form = await capped_form(request, LOGIN_LIMIT)  # 413 before any parsing
    with readers.connection() as conn:
        secret = accounts.login_secret(conn)
    field = form.get("csrf")  # never a file: capped_form allows no file parts here
    if not accounts.login_csrf_ok(secret, request.cookies.get(LOGIN_COOKIE), field if isinstance(field, str) else None):
        raise HTTPException(403, FORBIDDEN_CSRF)
    username, password = str(form.get("username", ""))[:200], str(form.get("password", ""))[:1000]
    nxt, address, now = _next(form.get("next")), _address(request), writer.clock()
    with readers.connection() as conn:
        plan = login_limits.plan(conn, username, address, request.cookies.get(login_limits.DEVICE_COOKIE), now)

    ok = False
    if not plan.refused_unchecked:
        hashers = _hashers(request)
        if hashers.statistics().tasks_waiting >= MAX_WAITING:
            raise HTTPException(429, BUSY, headers={"Retry-After": "5"})
        ok = await anyio.to_thread.run_sync(accounts.password_matches, plan.hash_to_check, password, limiter=hashers)

    def save():
        with state.writing() as conn:  # brief: the hash is already checked
            outcome = login_limits.record(conn, plan, ok, password)
            if outcome.user is None:
                return outcome, None, 0.0
            hours = options.get(conn, "admin.session_hours")
            token, _ = accounts.new_session(conn, outcome.user, hours)
            return outcome, token, hours

    outcome, token, hours = await run_in_threadpool(save)
    if outcome.reason == "address_blocked":
        minutes = max(1, round(outcome.retry_after / 60))
        resp = _login_form(request, readers, next=nxt, status=429, blocked_minutes=minutes)
        resp.headers["Retry-After"] = str(int(outcome.retry_after) + 1)
        return resp
    if token is None:
        return RedirectResponse(f"/admin/login?next={quote(nxt)}&err=1", status_code=303)
    resp = RedirectResponse(nxt, status_code=303)
    secure = request.url.scheme == "https"
    resp.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/", max_age=int(hours * 3600), secure=secure)
    if outcome.new_device:
        resp.set_cookie(
            login_limits.DEVICE_COOKIE,
            outcome.new_device,
            httponly=True,
            samesite="strict",
            path="/admin/login",
            max_age=login_limits.DEVICE_DAYS * 86400,
            secure=secure,
        )
    resp.delete_cookie(LOGIN_COOKIE, path="/admin")
    return resp


@router.post("/logout")
async def logout(request: Request, post: AnyPost, state: State):
    with state.write_lock:
        accounts.end_session(state.write_conn, request.cookies.get(COOKIE))
    resp = RedirectResponse("/admin/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


# -- accounts: who is locked, and unlocking (managers) -----------------------------------------


@router.get("/accounts")
def accounts_page(request: Request, s: ManagerPageSession, readers: Readers, writer: Writer, banners: Banners):
    now = writer.clock()
    with readers.connection() as conn:
        users = accounts.users(conn, now)
        blocked = [
            {"address": a, "until": u}
            for a, u in conn.execute(
                "SELECT address, blocked_until FROM admin_login_sources WHERE blocked_until > ? ORDER BY address", [now]
            )
        ]
    return render("accounts.html", request, s, users=users, blocked=blocked, **banners)


@router.post("/accounts/unlock")
async def unlock(post: ManagerPost, state: State, writer: Writer):
    username = str(post.form.get("username", ""))

    def save():
        with state.writing() as conn:
            accounts.unlock(conn, username, post.session.user.username, writer.clock())

    try:
        await run_in_threadpool(save)
    except accounts.AccountError as exc:
        return back("/admin/accounts", error=str(exc))
    return back("/admin/accounts", f"已解除鎖定 {username} / unlocked {username}")


@router.post("/accounts/unblock")
async def unblock(post: ManagerPost, state: State, writer: Writer):
    address = str(post.form.get("address", ""))

    def save():
        with state.writing() as conn:
            return login_limits.unblock_address(conn, address, post.session.user.username, writer.clock())

    if not await run_in_threadpool(save):
        return back("/admin/accounts", error=f"此位址未被封鎖 / {address} is not blocked")
    return back("/admin/accounts", f"已解除封鎖 {address} / unblocked {address}")
