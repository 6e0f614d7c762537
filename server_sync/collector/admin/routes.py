"""The /admin pages and their data API (FastAPI router, Jinja2 templates, server-side SVG charts).

Access: anonymous requests get nothing (pages redirect to the login, data and
exports answer 401); every state-changing request is a POST carrying the
session's CSRF token (403 without it) and, for a manager's action, a manager's
session (403 for a viewer). Every manager action goes to the audit log.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from server_sync.collector import alerts as alerts_mod
from server_sync.collector import db as dbmod
from server_sync.collector import exports
from server_sync.collector import report as report_mod
from server_sync.collector.admin import accounts, charts, options
from server_sync.collector.admin import queries as q
from server_sync.collector.stats import fmt, fmt_ci

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
COOKIE = "kc_session"
LOGIN_COOKIE = "kc_login"
UNAUTH = "請先登入 / log in first"
FORBIDDEN_ROLE = "需要管理者權限 / a manager's action: your account is a viewer"
FORBIDDEN_CSRF = "表單已過期或來源不明 (CSRF) / missing or wrong CSRF token: reload the page and try again"
OFFICE = "嘉義市選舉委員會 Chiayi City Election Commission"


class NeedLogin(Exception):
    pass


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]))
    env.filters["f1"] = fmt
    env.filters["ci"] = fmt_ci
    env.globals["weekdays"] = q.WEEKDAYS
    return env


def parse_filter(params, *, strict: bool = False) -> tuple[q.Filter, str | None]:
    """A Filter from query parameters; on a bad value, the default filter and a bilingual error."""
    default = q.Filter.default()
    try:
        d_from = date.fromisoformat(params["from"]) if params.get("from") else None
        d_to = date.fromisoformat(params["to"]) if params.get("to") else None
    except ValueError:
        return default, "日期格式須為 YYYY-MM-DD / dates must be YYYY-MM-DD"
    if not params.get("from") and not params.get("to") and not params.get("all"):
        d_from, d_to = default.date_from, default.date_to
    if d_from and d_to and d_from > d_to:
        return default, "開始日期晚於結束日期 / the start date is after the end date"
    trend = params.get("trend") or "month"
    if trend not in q.TRENDS:
        return default, "趨勢須為 day, week 或 month / trend must be day, week or month"
    return q.Filter(d_from, d_to, (params.get("unit") or "").strip(), (params.get("window") or "").strip(),
                    (params.get("service") or "").strip(), trend), None


def install(app: FastAPI, db_path, readers, ingestor) -> None:
    env = _env()
    write_conn = dbmod.connect(db_path)
    write_lock = threading.Lock()
    worker = alerts_mod.AlertWorker(db_path)

    class State:
        def close(self):
            worker.close()
            with write_lock:
                write_conn.close()

        notify = staticmethod(worker.notify)

    app.state.admin = State()
    router = APIRouter(prefix="/admin", include_in_schema=False)
    app.mount("/admin/static", StaticFiles(directory=str(HERE / "static")), name="admin-static")

    @contextmanager
    def writing():
        """The admin pages' own write connection, one transaction at a time."""
        with write_lock:
            write_conn.execute("BEGIN IMMEDIATE")
            try:
                yield write_conn
                write_conn.execute("COMMIT")
            except BaseException:
                if write_conn.in_transaction:
                    write_conn.execute("ROLLBACK")
                raise

    def render(template: str, request: Request | None = None, session=None, status: int = 200, **ctx) -> HTMLResponse:
        html = env.get_template(template).render(session=session, path=request.url.path if request else "",
                                                 office=OFFICE, **ctx)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def session_of(request: Request):
        with readers.connection() as conn:
            return accounts.session_for(conn, request.cookies.get(COOKIE))

    def need_session(request: Request, *, api: bool = False):
        s = session_of(request)
        if s is None:
            if api:
                raise HTTPException(401, UNAUTH)
            raise NeedLogin()
        return s

    async def need_post(request: Request, *, manager: bool = True):
        """(session, form) for a state-changing request: logged in, right CSRF token, right role."""
        s = session_of(request)
        if s is None:
            raise HTTPException(401, UNAUTH)
        form = await request.form()
        token = form.get("csrf") or request.headers.get("x-csrf-token")
        if not accounts.csrf_ok(s.csrf, token):
            raise HTTPException(403, FORBIDDEN_CSRF)
        if manager and not s.user.is_manager:
            raise HTTPException(403, FORBIDDEN_ROLE)
        return s, form

    def back(url: str, message: str = "", error: str = "") -> RedirectResponse:
        params = {k: v for k, v in (("msg", message), ("err", error)) if v}
        return RedirectResponse(url + ("?" + urlencode(params) if params else ""), status_code=303)

    @app.exception_handler(NeedLogin)
    async def _login_first(request: Request, exc: NeedLogin):
        target = request.url.path + (("?" + request.url.query) if request.url.query else "")
        return RedirectResponse(f"/admin/login?next={quote(target)}", status_code=303)

    # -- login ---------------------------------------------------------------------

    @router.get("/login")
    def login_page(request: Request, next: str = "/admin", err: str = ""):
        import secrets

        token = secrets.token_urlsafe(24)
        resp = render("login.html", request, login_csrf=token, next=next if next.startswith("/admin") else "/admin",
                      error=err)
        resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="lax", path="/admin",
                        secure=request.url.scheme == "https")
        return resp

    @router.post("/login")
    async def login(request: Request):
        form = await request.form()
        if not accounts.csrf_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
            raise HTTPException(403, FORBIDDEN_CSRF)
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        nxt = str(form.get("next") or "/admin")
        nxt = nxt if nxt.startswith("/admin") and not nxt.startswith("/admin/login") else "/admin"

        def check():
            with write_lock:
                user = accounts.authenticate(write_conn, username, password)
                if user is None:
                    return None
                hours = options.get(write_conn, "admin.session_hours")
                token, _ = accounts.new_session(write_conn, user, hours)
                accounts.audit(write_conn, user.username, "login")
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
    async def logout(request: Request):
        s, _ = await need_post(request, manager=False)
        with write_lock:
            accounts.end_session(write_conn, request.cookies.get(COOKIE))
        resp = RedirectResponse("/admin/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/")
        return resp

    # -- dashboard -----------------------------------------------------------------

    def load_dashboard(f: q.Filter):
        with readers.connection() as conn:
            min_n = options.get(conn, "report.min_n")
            return q.dashboard(conn, f, min_n), q.choices(conn), alerts_mod.list_alerts(conn, open_only=True, limit=20)

    @router.get("")
    @router.get("/")
    def dashboard_page(request: Request):
        s = need_session(request)
        f, error = parse_filter(request.query_params)
        d, choices, open_alerts = load_dashboard(f)
        return render("dashboard.html", request, s, d=d, f=f, error=error, choices=choices, open_alerts=open_alerts,
                      qs=urlencode(f.query()), levels_svg=charts.levels_svg(d.total, d.max_level, width=760),
                      trend_svg=charts.trend_svg(d.trend), heat_svg=charts.heatmap_svg(d.heat, q.WEEKDAYS))

    @router.get("/api/dashboard")
    def dashboard_api(request: Request):
        need_session(request, api=True)
        f, error = parse_filter(request.query_params)
        if error:
            raise HTTPException(422, error)
        with readers.connection() as conn:
            d = q.dashboard(conn, f, options.get(conn, "report.min_n"))
        return JSONResponse(q.dashboard_json(d))

    # -- exports -------------------------------------------------------------------

    def tables_for(request: Request, s, name: str) -> list[exports.Table]:
        if name == "audit":
            if not s.user.is_manager:
                raise HTTPException(403, FORBIDDEN_ROLE)
            with readers.connection() as conn:
                return [exports.audit_table(accounts.audit_rows(conn, 100_000))]
        with readers.connection() as conn:
            if name == "fleet":
                return [exports.fleet_table(fleet_rows(conn))]
            if name == "alerts":
                return [exports.alerts_table(alerts_mod.list_alerts(conn, limit=100_000))]
            f, error = parse_filter(request.query_params)
            if error:
                raise HTTPException(422, error)
            d = q.dashboard(conn, f, options.get(conn, "report.min_n"))
            tables = exports.dashboard_tables(d)
        if name == "all":
            return list(tables.values())
        if name not in tables:
            raise HTTPException(404, f"沒有此表 / no table {name!r}")
        return [tables[name]]

    @router.get("/export/{name}.{ext}")
    def export(request: Request, name: str, ext: str):
        s = need_session(request, api=True)
        if ext not in ("csv", "xlsx"):
            raise HTTPException(404, "格式須為 csv 或 xlsx / format must be csv or xlsx")
        tables = tables_for(request, s, name)
        stamp = date.today().isoformat()
        if ext == "csv":
            if len(tables) != 1:
                raise HTTPException(404, "CSV 一次一張表 / CSV holds one table: use .xlsx for all")
            body, mime = exports.to_csv(tables[0]), "text/csv; charset=utf-8"
        else:
            body = exports.to_xlsx(tables)
            mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(body, media_type=mime, headers={
            "Content-Disposition": f'attachment; filename="kiosk-{name}-{stamp}.{ext}"', "Cache-Control": "no-store"})

    # -- alerts --------------------------------------------------------------------

    @router.get("/alerts")
    def alerts_page(request: Request, msg: str = "", err: str = ""):
        s = need_session(request)
        with readers.connection() as conn:
            rows = alerts_mod.list_alerts(conn, limit=300)
            opts = options.get_all(conn)
        return render("alerts.html", request, s, open=[a for a in rows if not a["ack_at"]],
                      done=[a for a in rows if a["ack_at"]], msg=msg, err=err, opts=opts)

    @router.get("/api/alerts")
    def alerts_api(request: Request, open_only: bool = False):
        need_session(request, api=True)
        with readers.connection() as conn:
            return JSONResponse(alerts_mod.list_alerts(conn, open_only=open_only))

    @router.post("/alerts/{alert_id}/ack")
    async def acknowledge(request: Request, alert_id: int):
        s, form = await need_post(request)
        note = str(form.get("note", ""))
        try:
            with writing() as conn:
                alerts_mod.acknowledge(conn, alert_id, s.user.username, note)
                accounts.audit(conn, s.user.username, "acknowledge_alert", str(alert_id), {"note": note.strip()})
        except alerts_mod.RuleError as exc:
            return back("/admin/alerts", error=str(exc))
        return back("/admin/alerts", f"已處理通報 #{alert_id} acknowledged")

    @router.get("/rules")
    def rules_page(request: Request, msg: str = "", err: str = ""):
        s = need_session(request)
        with readers.connection() as conn:
            rules = alerts_mod.rules(conn)
        return render("rules.html", request, s, rules=rules, kinds=alerts_mod.KIND_LABELS, msg=msg, err=err)

    def _rule_fields(form) -> tuple[str, dict, str, str, bool]:
        try:
            params = json.loads(str(form.get("params") or "{}"))
        except ValueError:
            raise alerts_mod.RuleError("參數須為 JSON / params must be JSON, e.g. {\"hours\": 24}") from None
        chans = ",".join(c for c in ("webhook", "email") if form.get(f"ch_{c}"))
        return str(form.get("name", "")), params, str(form.get("unit", "")), chans, bool(form.get("enabled"))

    @router.post("/rules")
    async def add_rule(request: Request):
        s, form = await need_post(request)
        try:
            name, params, unit, chans, enabled = _rule_fields(form)
            with writing() as conn:
                rid = alerts_mod.add_rule(conn, str(form.get("kind", "")), name, params, unit=unit, channels=chans,
                                          enabled=enabled)
                accounts.audit(conn, s.user.username, "add_rule", str(rid),
                               {"kind": form.get("kind"), "params": params, "unit": unit, "channels": chans})
        except alerts_mod.RuleError as exc:
            return back("/admin/rules", error=str(exc))
        return back("/admin/rules", f"已新增規則 rule {rid} added")

    @router.post("/rules/{rule_id}")
    async def edit_rule(request: Request, rule_id: int):
        s, form = await need_post(request)
        try:
            with writing() as conn:
                if form.get("delete"):
                    alerts_mod.delete_rule(conn, rule_id)
                    accounts.audit(conn, s.user.username, "delete_rule", str(rule_id))
                    return back("/admin/rules", f"已刪除規則 rule {rule_id} deleted")
                name, params, unit, chans, enabled = _rule_fields(form)
                alerts_mod.update_rule(conn, rule_id, name=name, params=params, unit=unit, channels=chans,
                                       enabled=enabled)
                accounts.audit(conn, s.user.username, "update_rule", str(rule_id),
                               {"params": params, "unit": unit, "channels": chans, "enabled": enabled})
        except alerts_mod.RuleError as exc:
            return back("/admin/rules", error=str(exc))
        return back("/admin/rules", f"已更新規則 rule {rule_id} saved")

    # -- fleet ---------------------------------------------------------------------

    def fleet_rows(conn) -> list[dict]:
        rows = report_mod.fleet(conn)
        limits = [r["params"]["hours"] for r in alerts_mod.rules(conn, enabled_only=True) if r["kind"] == "silent"]
        now = time.time()
        from datetime import datetime

        for r in rows:
            r["silent_hours"] = (round((now - datetime.fromisoformat(r["last_seen"]).timestamp()) / 3600, 1)
                                 if r["last_seen"] else None)
            r["silent"] = r["status"] == "active" and bool(limits) and (
                r["silent_hours"] is None or r["silent_hours"] > min(limits))
        return rows

    @router.get("/fleet")
    def fleet_page(request: Request, msg: str = "", err: str = "", token: str = ""):
        s = need_session(request)
        with readers.connection() as conn:
            rows = fleet_rows(conn)
        return render("fleet.html", request, s, rows=rows, msg=msg, err=err)

    @router.get("/api/fleet")
    def fleet_api(request: Request):
        need_session(request, api=True)
        with readers.connection() as conn:
            return JSONResponse(fleet_rows(conn))

    @router.post("/fleet/add")
    async def fleet_add(request: Request):
        s, form = await need_post(request)
        from server_sync.collector.auth import KioskExists, add_kiosk

        name = str(form.get("name", "")).strip()
        try:
            levels = int(form.get("levels") or 5)
            with write_lock:
                token = add_kiosk(write_conn, name, levels=levels)
                accounts.audit(write_conn, s.user.username, "add_kiosk", name, {"levels": levels})
        except KioskExists:
            return back("/admin/fleet", error=f"已有此機台 kiosk {name!r} already exists")
        except ValueError as exc:
            return back("/admin/fleet", error=str(exc))
        with readers.connection() as conn:
            rows = fleet_rows(conn)
        # The token is shown once, in this response only; it is never stored in plain text.
        return render("fleet.html", request, s, rows=rows, msg=f"已新增機台 added kiosk {name}", new_token=token,
                      new_name=name)

    @router.post("/fleet/{name}/revoke")
    async def fleet_revoke(request: Request, name: str):
        s, _ = await need_post(request)
        from server_sync.collector.auth import NoSuchKiosk, revoke_kiosk

        try:
            with write_lock:
                revoke_kiosk(write_conn, name)
                accounts.audit(write_conn, s.user.username, "revoke_kiosk", name)
        except NoSuchKiosk:
            return back("/admin/fleet", error=f"沒有此機台 no kiosk {name!r}")
        return back("/admin/fleet", f"已撤銷 revoked {name}")

    # -- settings, audit -----------------------------------------------------------

    @router.get("/settings")
    def settings_page(request: Request, msg: str = "", err: str = ""):
        s = need_session(request)
        with readers.connection() as conn:
            values = options.get_all(conn)
        return render("settings.html", request, s, options=options.OPTIONS, values=values, msg=msg, err=err,
                      env_smtp=alerts_mod.SMTP_PASSWORD_ENV, env_hook=alerts_mod.WEBHOOK_SECRET_ENV)

    @router.post("/settings")
    async def settings_save(request: Request):
        s, form = await need_post(request)
        try:
            new = {}
            for opt in options.OPTIONS:
                if opt.kind is bool:
                    new[opt.key] = bool(form.get(opt.key))
                elif opt.key in form:
                    new[opt.key] = options.parse(opt.key, str(form.get(opt.key)))
            with writing() as conn:
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
    def audit_page(request: Request):
        s = need_session(request)
        if not s.user.is_manager:
            raise HTTPException(403, FORBIDDEN_ROLE)
        with readers.connection() as conn:
            rows = accounts.audit_rows(conn)
        return render("audit.html", request, s, rows=rows)

    # -- the annual self-evaluation ------------------------------------------------

    @router.get("/self-evaluation")
    def self_eval_page(request: Request):
        s = need_session(request)
        with readers.connection() as conn:
            units = q.choices(conn)["units"]
            min_n = options.get(conn, "report.min_n")
            year = int(request.query_params.get("year") or date.today().year)
            unit = request.query_params.get("unit", "")
            cur, prev = exports.self_evaluation(conn, year, unit, min_n)
        return render("self_evaluation.html", request, s, units=units, year=year, unit=unit,
                      headers=exports.SELF_EVAL_HEADERS, rows=exports.self_evaluation_rows(cur, prev),
                      note=exports.significance_note(cur, prev), years=list(range(date.today().year, 2019, -1)),
                      qs=urlencode({"year": year, "unit": unit}))

    @router.get("/self-evaluation.{ext}")
    def self_eval_file(request: Request, ext: str, year: int | None = None, unit: str = ""):
        need_session(request, api=True)
        year = year or date.today().year
        if not 2000 <= year <= 2100:
            raise HTTPException(422, "年度錯誤 / year must be 2000-2100")
        with readers.connection() as conn:
            min_n = options.get(conn, "report.min_n")
            if ext == "pdf":
                body = exports.self_evaluation_pdf(conn, year, unit, min_n, OFFICE,
                                                   lambda t, **ctx: env.get_template(t).render(**ctx))
                mime = "application/pdf"
            elif ext == "xlsx":
                body = exports.self_evaluation_xlsx(conn, year, unit, min_n, OFFICE)
                mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            else:
                raise HTTPException(404, "格式須為 pdf 或 xlsx / format must be pdf or xlsx")
        fname = f"self-evaluation-{year}-{unit or 'office'}.{ext}"
        return Response(body, media_type=mime, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(fname)}", "Cache-Control": "no-store"})

    from server_sync.collector.admin import manage  # /admin/services and /admin/cases

    manage.install(router, manage.Helpers(render, session_of, need_session, need_post, back, readers, write_conn,
                                          write_lock, UNAUTH, FORBIDDEN_ROLE))

    app.include_router(router)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        # Admin pages get a readable page; everything else keeps FastAPI's JSON body.
        if request.url.path.startswith("/admin") and "text/html" in request.headers.get("accept", "") \
                and exc.status_code in (401, 403, 404, 422):
            return render("error.html", request, None, status=exc.status_code, status_code=exc.status_code,
                          message=exc.detail)
        from fastapi.exception_handlers import http_exception_handler

        return await http_exception_handler(request, exc)
