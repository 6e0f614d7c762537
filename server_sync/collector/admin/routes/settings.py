"""The administrator-set options (collector/options.py) and the audit log of every manager action."""

from __future__ import annotations

from fastapi import APIRouter, Request

from server_sync.collector import alerts as alerts_mod
from server_sync.collector import options
from server_sync.collector.admin import accounts
from server_sync.collector.admin.deps import ManagerPageSession, ManagerPost, PageSession, State, back, render
from server_sync.collector.deps import Readers

router = APIRouter()


@router.get("/settings")
def settings_page(request: Request, s: PageSession, readers: Readers, msg: str = "", err: str = ""):
    with readers.connection() as conn:
        values = options.get_all(conn)
    return render("settings.html", request, s, options=options.OPTIONS, values=values, msg=msg, err=err,
                  env_smtp=alerts_mod.SMTP_PASSWORD_ENV, env_hook=alerts_mod.WEBHOOK_SECRET_ENV)


@router.post("/settings")
async def settings_save(post: ManagerPost, state: State):
    s, form = post.session, post.form
    try:
        new = {}
        for opt in options.OPTIONS:
            if opt.kind is bool:
                new[opt.key] = bool(form.get(opt.key))
            elif opt.key in form:
                new[opt.key] = options.parse(opt.key, str(form.get(opt.key)))
        with state.writing() as conn:
            old = options.get_all(conn)
            changed = {k: v for k, v in new.items() if old.get(k) != v}
            for k, v in changed.items():
                options.set_value(conn, k, v)
            if changed:
                accounts.audit(conn, s.user.username, "change_settings", "", changed)
    except options.OptionError as exc:
        return back("/admin/settings", error=str(exc))
    return back("/admin/settings", f"已儲存 saved ({len(changed)})")


@router.get("/audit")
def audit_page(request: Request, s: ManagerPageSession, readers: Readers):
    with readers.connection() as conn:
        rows = accounts.audit_rows(conn)
    return render("audit.html", request, s, rows=rows)
