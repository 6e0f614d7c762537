"""The kiosks: their state, adding one (its token shown once), the unit and window each serves, and
revoking one. A kiosk's name travels in URLs percent-encoded (``{name:path}`` takes even one with a
``/`` in it, from before names were restricted: auth.NAME_PATTERN)."""

from __future__ import annotations

import time
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from server_sync.collector import alerts as alerts_mod
from server_sync.collector import report as report_mod
from server_sync.collector.admin import accounts
from server_sync.collector.admin.deps import ApiSession, Banners, ManagerPost, PageSession, State, back, render
from server_sync.collector.auth import KioskExists, NoSuchKiosk, add_kiosk, revoke_kiosk, set_place
from server_sync.collector.deps import Readers, Writer

router = APIRouter()


def fleet_rows(conn, pending: dict[str, tuple[int, int]] | None = None) -> list[dict]:
    """Every kiosk, with how long it has been silent and whether a silent rule counts it as such.
    pending: refused and dropped events the writer has not stored yet (volume.Limits.pending)."""
    rows = report_mod.fleet(conn)
    for r in rows:
        refused, dropped = (pending or {}).get(r["kiosk"], (0, 0))
        r["refused"] += refused
        r["dropped"] += dropped
    limits = [r["params"]["hours"] for r in alerts_mod.rules(conn, enabled_only=True) if r["kind"] == "silent"]
    now = time.time()
    for r in rows:
        r["silent_hours"] = (
            round((now - datetime.fromisoformat(r["last_seen"]).timestamp()) / 3600, 1) if r["last_seen"] else None
        )
        r["silent"] = (
            r["status"] == "active" and bool(limits) and (r["silent_hours"] is None or r["silent_hours"] > min(limits))
        )
    return rows


@router.get("/fleet")
def fleet_page(request: Request, s: PageSession, readers: Readers, writer: Writer, banners: Banners):
    with readers.connection() as conn:
        rows = fleet_rows(conn, writer.limits.pending())
    return render("fleet.html", request, s, rows=rows, **banners)


@router.get("/api/fleet")
def fleet_api(s: ApiSession, readers: Readers, writer: Writer):
    with readers.connection() as conn:
        return JSONResponse(fleet_rows(conn, writer.limits.pending()))


@router.post("/fleet/add")
async def fleet_add(request: Request, post: ManagerPost, state: State, readers: Readers):
    s, form = post.session, post.form
    name = str(form.get("name", "")).strip()
    unit, window = str(form.get("unit", "")), str(form.get("window", ""))
    try:
        levels = int(str(form.get("levels") or 5))
        with state.write_lock:
            token = add_kiosk(state.write_conn, name, levels=levels, unit=unit, window=window)
            accounts.audit(
                state.write_conn,
                s.user.username,
                "add_kiosk",
                name,
                {"levels": levels, "unit": unit.strip(), "window": window.strip()},
            )
    except KioskExists:
        return back("/admin/fleet", error=f"已有此機台 kiosk {name!r} already exists")
    except ValueError as exc:
        return back("/admin/fleet", error=str(exc))
    with readers.connection() as conn:
        rows = fleet_rows(conn)
    # The token is shown once, in this response only; it is never stored in plain text.
    return render(
        "fleet.html", request, s, rows=rows, msg=f"已新增機台 added kiosk {name}", new_token=token, new_name=name
    )


@router.post("/fleet/{name:path}/place")
async def fleet_place(name: str, post: ManagerPost, state: State):
    """Change the unit and window a kiosk serves (audited); its later events count there."""
    form = post.form
    try:
        with state.write_lock:
            old, new = set_place(
                state.write_conn, name, unit=str(form.get("unit", "")), window=str(form.get("window", ""))
            )
            accounts.audit(
                state.write_conn,
                post.session.user.username,
                "set_kiosk_place",
                name,
                {"unit": new[0], "window": new[1], "was": {"unit": old[0], "window": old[1]}},
            )
    except NoSuchKiosk:
        return back("/admin/fleet", error="沒有此機台 no such kiosk")
    except ValueError as exc:
        return back("/admin/fleet", error=str(exc))
    return back("/admin/fleet", f"已更新 {name} 的單位與窗口 / updated the unit and window of {name}")


@router.post("/fleet/{name:path}/revoke")
async def fleet_revoke(name: str, post: ManagerPost, state: State):
    try:
        with state.write_lock:
            revoke_kiosk(state.write_conn, name)
            accounts.audit(state.write_conn, post.session.user.username, "revoke_kiosk", name)
    except NoSuchKiosk:
        return back("/admin/fleet", error=f"沒有此機台 no kiosk {name!r}")
    return back("/admin/fleet", f"已撤銷 revoked {name}")
