"""Alerts (the open ones, acknowledging) and the rules that raise them."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from server_sync.collector import alerts as alerts_mod
from server_sync.collector import options
from server_sync.collector.admin import accounts
from server_sync.collector.admin.deps import ApiSession, Banners, ManagerPost, PageSession, State, back, render
from server_sync.collector.deps import Readers

router = APIRouter()


@router.get("/alerts")
def alerts_page(request: Request, s: PageSession, readers: Readers, banners: Banners):
    with readers.connection() as conn:
        rows = alerts_mod.list_alerts(conn, limit=300)
        opts = options.get_all(conn)
    return render(
        "alerts.html",
        request,
        s,
        open=[a for a in rows if not a["ack_at"]],
        done=[a for a in rows if a["ack_at"]],
        opts=opts,
        **banners,
    )


@router.get("/api/alerts")
def alerts_api(s: ApiSession, readers: Readers, open_only: bool = False):
    with readers.connection() as conn:
        return JSONResponse(alerts_mod.list_alerts(conn, open_only=open_only))


@router.post("/alerts/{alert_id}/ack")
async def acknowledge(alert_id: int, post: ManagerPost, state: State):
    s, note = post.session, str(post.form.get("note", ""))
    try:
        with state.writing() as conn:
            alerts_mod.acknowledge(conn, alert_id, s.user.username, note)
            accounts.audit(conn, s.user.username, "acknowledge_alert", str(alert_id), {"note": note.strip()})
    except alerts_mod.RuleError as exc:
        return back("/admin/alerts", error=str(exc))
    return back("/admin/alerts", f"已處理通報 #{alert_id} acknowledged")


@router.get("/rules")
def rules_page(request: Request, s: PageSession, readers: Readers, banners: Banners):
    with readers.connection() as conn:
        rules = alerts_mod.rules(conn)
    return render("rules.html", request, s, rules=rules, kinds=alerts_mod.KIND_LABELS, **banners)


def _rule_fields(form) -> tuple[str, dict, str, str, bool]:
    try:
        params = json.loads(str(form.get("params") or "{}"))
    except ValueError:
        raise alerts_mod.RuleError('參數須為 JSON / params must be JSON, e.g. {"hours": 24}') from None
    chans = ",".join(c for c in ("webhook", "email") if form.get(f"ch_{c}"))
    return str(form.get("name", "")), params, str(form.get("unit", "")), chans, bool(form.get("enabled"))


@router.post("/rules")
async def add_rule(post: ManagerPost, state: State):
    s, form = post.session, post.form
    try:
        name, params, unit, chans, enabled = _rule_fields(form)
        with state.writing() as conn:
            rid = alerts_mod.add_rule(
                conn, str(form.get("kind", "")), name, params, unit=unit, channels=chans, enabled=enabled
            )
            accounts.audit(
                conn,
                s.user.username,
                "add_rule",
                str(rid),
                {"kind": form.get("kind"), "params": params, "unit": unit, "channels": chans},
            )
    except alerts_mod.RuleError as exc:
        return back("/admin/rules", error=str(exc))
    return back("/admin/rules", f"已新增規則 rule {rid} added")


@router.post("/rules/{rule_id}")
async def edit_rule(rule_id: int, post: ManagerPost, state: State):
    s, form = post.session, post.form
    try:
        with state.writing() as conn:
            if form.get("delete"):
                alerts_mod.delete_rule(conn, rule_id)
                accounts.audit(conn, s.user.username, "delete_rule", str(rule_id))
                return back("/admin/rules", f"已刪除規則 rule {rule_id} deleted")
            name, params, unit, chans, enabled = _rule_fields(form)
            alerts_mod.update_rule(conn, rule_id, name=name, params=params, unit=unit, channels=chans, enabled=enabled)
            accounts.audit(
                conn,
                s.user.username,
                "update_rule",
                str(rule_id),
                {"params": params, "unit": unit, "channels": chans, "enabled": enabled},
            )
    except alerts_mod.RuleError as exc:
        return back("/admin/rules", error=str(exc))
    return back("/admin/rules", f"已更新規則 rule {rule_id} saved")
