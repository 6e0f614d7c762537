"""Logging in and out: the login form (its own CSRF cookie), the session cookie."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from server_sync.collector import options
from server_sync.collector.admin import accounts
from server_sync.collector.admin.deps import (COOKIE, FORBIDDEN_CSRF, LOGIN_COOKIE, AnyPost, State,
                                              render)

router = APIRouter()


@router.get("/login")
def login_page(request: Request, next: str = "/admin", err: str = ""):
    token = secrets.token_urlsafe(24)
    resp = render("login.html", request, login_csrf=token, next=next if next.startswith("/admin") else "/admin",
                  error=err)
    resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="lax", path="/admin",
                    secure=request.url.scheme == "https")
    return resp


@router.post("/login")
async def login(request: Request, state: State):
    form = await request.form()
    if not accounts.csrf_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
        raise HTTPException(403, FORBIDDEN_CSRF)
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    nxt = str(form.get("next") or "/admin")
    nxt = nxt if nxt.startswith("/admin") and not nxt.startswith("/admin/login") else "/admin"

    def check():
        with state.write_lock:
            user = accounts.authenticate(state.write_conn, username, password)
            if user is None:
                return None
            hours = options.get(state.write_conn, "admin.session_hours")
            token, _ = accounts.new_session(state.write_conn, user, hours)
            accounts.audit(state.write_conn, user.username, "login")
            return token, hours

    got = await run_in_threadpool(check)
    if got is None:
        return RedirectResponse(f"/admin/login?next={quote(nxt)}&err=1", status_code=303)
    token, hours = got
    resp = RedirectResponse(nxt, status_code=303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/", max_age=int(hours * 3600),
                    secure=request.url.scheme == "https")
    resp.delete_cookie(LOGIN_COOKIE, path="/admin")
    return resp


@router.post("/logout")
async def logout(request: Request, post: AnyPost, state: State):
    with state.write_lock:
        accounts.end_session(state.write_conn, request.cookies.get(COOKIE))
    resp = RedirectResponse("/admin/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp
