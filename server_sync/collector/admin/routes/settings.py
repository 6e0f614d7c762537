"""The administrator-set options (collector/options.py) and the audit log of every manager action.

Options marked ``secret`` (a webhook URL can carry its own key, the SMTP login) never reach a
viewer's page, and a manager sees them masked: the form leaves them unchanged unless a new
value is typed or "clear" is ticked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request

from server_sync.collector import alerts as alerts_mod
from server_sync.collector import options
from server_sync.collector.admin import accounts
from server_sync.collector.admin.deps import Banners, ManagerPageSession, ManagerPost, PageSession, State, back, render
from server_sync.collector.deps import Readers

router = APIRouter()
HIDDEN = "••••"
CLEAR = "clear:"  # form field prefix: empty this secret option


def masked(value) -> str:
    """A secret option as a manager sees it: a URL's scheme and host, else its first character."""
    text = str(value or "")
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme and parts.hostname:
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}/{HIDDEN}"
    return text[:1] + HIDDEN


def _for_audit(changed: dict) -> dict:
    return {k: masked(v) if options.BY_KEY[k].secret else v for k, v in changed.items()}


@router.get("/settings")
def settings_page(request: Request, s: PageSession, readers: Readers, banners: Banners):
    with readers.connection() as conn:
        values = options.get_all(conn)
    secrets = {o.key: values.pop(o.key) for o in options.OPTIONS if o.secret}
    shown = {k: masked(v) for k, v in secrets.items()} if s.user.is_manager else {}
    return render(
        "settings.html",
        request,
        s,
        options=options.OPTIONS,
        values=values,
        shown=shown,
        is_set={k: bool(v) for k, v in secrets.items()},
        clear=CLEAR,
        **banners,
        env_smtp=alerts_mod.SMTP_PASSWORD_ENV,
        env_hook=alerts_mod.WEBHOOK_SECRET_ENV,
    )


@router.post("/settings")
async def settings_save(post: ManagerPost, state: State):
    s, form = post.session, post.form
    try:
        new: dict[str, object] = {}  # option values: bools, strs, ints… (options.parse)
        for opt in options.OPTIONS:
            if opt.kind is bool:
                new[opt.key] = bool(form.get(opt.key))
            elif opt.secret:
                typed = str(form.get(opt.key, "")).strip()
                if form.get(CLEAR + opt.key):
                    new[opt.key] = ""
                elif typed:  # empty: unchanged (the page never holds the value)
                    new[opt.key] = options.parse(opt.key, typed)
            elif opt.key in form:
                new[opt.key] = options.parse(opt.key, str(form.get(opt.key)))
        with state.writing() as conn:
            old = options.get_all(conn)
            changed = {k: v for k, v in new.items() if old.get(k) != v}
            for k, v in changed.items():
                options.set_value(conn, k, v)
            if changed:
                accounts.audit(conn, s.user.username, "change_settings", "", _for_audit(changed))
    except options.OptionError as exc:
        return back("/admin/settings", error=str(exc))
    return back("/admin/settings", f"已儲存 saved ({len(changed)})")


@router.get("/audit")
def audit_page(request: Request, s: ManagerPageSession, readers: Readers):
    with readers.connection() as conn:
        rows = accounts.audit_rows(conn)
    return render("audit.html", request, s, rows=rows)
