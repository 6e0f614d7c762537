"""The `kiosk-collector` command: serve the API, manage kiosks and settings, print events and reports."""

from __future__ import annotations

import importlib
import ipaddress
import json
import os
import sys
from pathlib import Path

import click

from server_sync.collector import db as dbmod
from server_sync.extras import require as require_extra


def _db_option(func):
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="The collector's SQLite file "
        "(default: $KIOSK_COLLECTOR_DB, /var/lib/counter-kiosk-collector/collector.db "
        "or the per-user data folder).",
    )(func)


def _output_option(help_text: str):
    """``--output/-o FILE``, the file a command writes (what it defaults to is the command's own)."""
    return click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help=help_text)


def _open(db_path):
    path = db_path or dbmod.default_db_path()
    try:
        return dbmod.open_db(path)
    except OSError as exc:
        raise click.ClickException(f"無法開啟資料檔 cannot open {path}: {exc}") from None


@click.group(name="kiosk-collector")
def main():
    """Central collector for counter kiosks: receives events (protocol v1), stores them once, reports."""
    require_extra("collector")  # before any command imports FastAPI, uvicorn or the admin pages


CLEARTEXT_WARNING = (
    "警告：收集伺服器在 {host} 對外開放，前面卻沒有 TLS：管理頁面的密碼、登入工作階段與機台權杖都會以明文"
    "在網路上傳送。請只聽 127.0.0.1，由 nginx 以 HTTPS 轉送 (docs/collector.md)；若前面已有 TLS 代理，"
    "請加上 --behind-tls。\n"
    "WARNING: the collector listens on {host}, beyond loopback, with no TLS in front: administrators' "
    "passwords, sessions and kiosk tokens cross the network in clear. Listen on 127.0.0.1 behind nginx "
    "with HTTPS (docs/collector.md), or pass --behind-tls if a TLS proxy is in front."
)


def _loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or "localhost"."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name or a wildcard: reached from elsewhere


def _installed(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _pick(choice: str, fast: str, plain: str, option: str) -> str:
    """``auto`` is the C implementation when it is installed, else the pure-Python one."""
    if choice == "auto":
        return fast if _installed(fast) else plain
    if choice == fast and not _installed(fast):
        raise click.UsageError(
            f"{option} {fast}: 未安裝 {fast} / {fast} is not installed (pip install 'counter-kiosk[collector]')"
        )
    return choice


def serving_stack(http: str, loop: str) -> tuple[str, str]:
    """(HTTP parser, event loop) ``serve`` runs uvicorn with. The C ones (httptools, uvloop) cost a
    fraction of the CPU of h11 and asyncio, what a reconnect storm of the whole fleet is bound by."""
    return _pick(http, "httptools", "h11", "--http"), _pick(loop, "uvloop", "asyncio", "--loop")


def _stack_option(flag: str, dest: str, what: str, fast: str, plain: str):
    """One of ``serve``'s choices between a C implementation and its pure-Python fallback."""
    return click.option(
        flag,
        dest,
        type=click.Choice(["auto", fast, plain]),
        default="auto",
        show_default=True,
        help=f"{what}: auto is {fast} when installed, else {plain}.",
    )


# The protocol classes uvicorn loads for each parser, named without loading the app in the parent.
PROTOCOL_CLASS = {"httptools": "HttpToolsProtocol", "h11": "H11Protocol"}


def worker_count(value: str) -> int:
    """``serve --workers``: a whole number from 1, or ``auto``, one per CPU core this process may use."""
    if value == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise click.BadParameter(f"{value!r}: 需為 1 以上的整數或 auto / a whole number from 1, or auto")
    return n


@main.command()
@_db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8470, show_default=True, type=int)
@click.option(
    "--max-body",
    default=2_000_000,
    show_default=True,
    type=int,
    help="Largest request body in bytes (compressed and uncompressed).",
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    help="Proxies trusted for X-Forwarded-For/-Proto (uvicorn --forwarded-allow-ips).",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True)
@click.option("--log-level", default="info", show_default=True)
@_stack_option("--http", "http_impl", "HTTP parser", "httptools", "h11")
@_stack_option("--loop", "loop_impl", "Event loop", "uvloop", "asyncio")
@click.option(
    "--workers",
    default="1",
    show_default=True,
    metavar="N|auto",
    help="Worker processes serving over the one database (auto: one per CPU core).",
)
@click.option(
    "--behind-tls", is_flag=True, help="A TLS proxy (nginx) is in front: no warning when listening beyond loopback."
)
@click.option(
    "--api-docs",
    is_flag=True,
    help="Swagger UI at /admin/api-docs for logged-in administrators (it loads script from a CDN).",
)
def serve(
    db_path,
    host,
    port,
    max_body,
    forwarded_allow_ips,
    access_log,
    log_level,
    http_impl,
    loop_impl,
    workers,
    behind_tls,
    api_docs,
):
    """Run the HTTP API (OpenAPI at /openapi.json) and the /admin pages."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from server_sync.collector.api import create_app

    http_impl, loop_impl = serving_stack(http_impl, loop_impl)
    path = db_path or dbmod.default_db_path()
    n_workers = worker_count(workers)
    if not behind_tls and not _loopback(host):
        click.secho(CLEARTEXT_WARNING.format(host=host), fg="red", bold=True, err=True)
    options = dict(
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        access_log=access_log,
        log_level=log_level,
        server_header=False,
        http=http_impl,
        loop=loop_impl,
    )
    if n_workers > 1:
        _serve_workers(path, n_workers, max_body, api_docs, options)
        return
    app = create_app(path, max_body=max_body, api_docs=api_docs)
    # One process: its single writer thread writes every batch (ingest.py).
    config = uvicorn.Config(app, **options)
    config.load()  # imports the protocol now, so the line below names what really serves
    factory = config.get_loop_factory()
    loop_name = "uvloop" if "uvloop" in getattr(factory, "__module__", "") else "asyncio"
    click.echo(
        f"kiosk-collector: {path} on http://{host}:{port} "
        f"(HTTP {config.http_protocol_class.__name__}, loop {loop_name})",
        err=True,
    )
    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down on, as uvicorn.run() swallows it
        pass
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _serve_workers(path: Path, n: int, max_body: int, api_docs: bool, options: dict) -> None:
    """``serve --workers N``: uvicorn's supervisor, restarting a worker that dies, over N processes
    that each build the app from the environment (api.app_from_env). They share the one SQLite
    file: each batch's exactly-once check and watermark are decided inside its own BEGIN IMMEDIATE
    transaction, which SQLite grants one process at a time (docs/collector.md "Worker processes")."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from server_sync.collector import api
    from server_sync.collector.config import ENV_MAX_BODY

    try:
        dbmod.open_db(path).close()  # migrated once here, before the workers open it
    except OSError as exc:
        raise click.ClickException(f"無法開啟資料檔 cannot open {path}: {exc}") from None
    os.environ.update({api.ENV_DB: str(path), ENV_MAX_BODY: str(max_body), api.ENV_API_DOCS: "1" if api_docs else "0"})
    config = uvicorn.Config(api.APP_FACTORY, factory=True, workers=n, **options)
    click.echo(
        f"kiosk-collector: {path} on http://{options['host']}:{options['port']}, {n} worker processes "
        f"(HTTP {PROTOCOL_CLASS[options['http']]}, loop {options['loop']})",
        err=True,
    )
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        sys.exit(STARTUP_FAILURE)


@main.command()
@_db_option
@click.option(
    "--to", "to_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the backups."
)
@click.option(
    "--keep", default=14, show_default=True, type=click.IntRange(min=1), help="How many of the newest backups to keep."
)
@click.option(
    "--max-total-size",
    "max_total",
    default=None,
    metavar="SIZE",
    help="Delete the oldest backups until all of them fit in SIZE (500M, 20G …); the newest is always kept.",
)
def backup(db_path, to_dir, keep, max_total):
    """Copy the database while the collector runs (SQLite online backup, gzipped), keeping the newest --keep."""
    from server_sync.collector.backup import BackupError, parse_size
    from server_sync.collector.backup import backup as make_backup

    try:
        limit = None if max_total is None else parse_size(max_total)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--max-total-size") from None
    try:
        result = make_backup(db_path or dbmod.default_db_path(), to_dir, keep=keep, max_total=limit)
    except BackupError as exc:
        raise click.ClickException(f"備份失敗 backup failed: {exc}") from None
    click.echo(f"已備份 backed up to {result.path}")
    for old in result.deleted:
        click.echo(f"已刪除舊備份 deleted old backup {old}")
    for warning in result.warnings:
        click.echo(warning, err=True)


@main.command()
@_db_option
@click.argument("backup_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(db_path, backup_file, yes):
    """Put BACKUP_FILE in place of the database (stop the collector first); the old file is kept beside it."""
    from server_sync.collector.backup import BackupError
    from server_sync.collector.backup import restore as do_restore

    path = db_path or dbmod.default_db_path()
    if not yes:
        click.confirm(
            f"以 {backup_file} 取代 {path}？ Replace {path} with {backup_file}? (stop kiosk-collector.service first)",
            abort=True,
        )
    try:
        kept = do_restore(backup_file, path)
    except BackupError as exc:
        raise click.ClickException(f"還原失敗 restore failed: {exc}") from None
    click.echo(f"已還原 restored {path}" + (f"; the previous file is kept as {kept}" if kept else ""))


@main.command("add-kiosk")
@_db_option
@click.argument("name")
@click.option(
    "--levels",
    default=5,
    show_default=True,
    type=click.IntRange(3, 5),
    help="How many rating buttons the kiosk has (for the Happy Index).",
)
@click.option("--unit", default="", help="The unit (單位) it serves: its events count there, whatever they say.")
@click.option("--window", default="", help="The window (窗口) it serves.")
def add_kiosk(db_path, name, levels, unit, window):
    """Create a kiosk identity and print its token (on the last line, shown only this once).
    NAME: 1-64 of A-Z a-z 0-9 . _ -. Without --unit and --window it adopts its first batch's once."""
    from server_sync.collector.admin import accounts
    from server_sync.collector.auth import KioskExists
    from server_sync.collector.auth import add_kiosk as add

    conn = _open(db_path)
    try:
        token = add(conn, name, levels=levels, unit=unit, window=window)
        accounts.audit(
            conn, "cli", "add_kiosk", name, {"levels": levels, "unit": unit.strip(), "window": window.strip()}
        )
    except KioskExists:
        raise click.ClickException(
            f"已有此機台 kiosk {name!r} already exists (new token: kiosk-collector rotate-token {name})"
        ) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"已新增機台 added kiosk {name!r}. 請將下列權杖設定到機台上,此權杖只顯示這一次 "
        "Put this token in the kiosk's settings; it is shown only once:"
    )
    click.echo(token)


@main.command("set-kiosk")
@_db_option
@click.argument("name")
@click.option("--unit", default=None, help="The unit (單位) it serves from now on.")
@click.option("--window", default=None, help="The window (窗口) it serves from now on.")
def set_kiosk(db_path, name, unit, window):
    """Change the unit and/or window a kiosk serves (audited); events already stored keep theirs."""
    from server_sync.collector.admin import accounts
    from server_sync.collector.auth import NoSuchKiosk, set_place

    if unit is None and window is None:
        raise click.UsageError("--unit 或 --window / give --unit, --window or both")
    conn = _open(db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        old, new = set_place(conn, name, unit=unit, window=window)
        accounts.audit(
            conn,
            "cli",
            "set_kiosk_place",
            name,
            {"unit": new[0], "window": new[1], "was": {"unit": old[0], "window": old[1]}},
        )
        conn.execute("COMMIT")
    except NoSuchKiosk:
        conn.execute("ROLLBACK")
        raise click.ClickException(f"沒有此機台 no kiosk named {name!r}") from None
    except ValueError as exc:
        conn.execute("ROLLBACK")
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"機台 {name} 服務 單位 {new[0] or '—'} 窗口 {new[1] or '—'} / kiosk {name!r} serves unit "
        f"{new[0]!r} window {new[1]!r}"
    )


@main.command("rotate-token")
@_db_option
@click.argument("name")
def rotate_token(db_path, name):
    """Give a kiosk a new token (the old one stops working; a revoked kiosk is re-enabled)."""
    from server_sync.collector.auth import NoSuchKiosk
    from server_sync.collector.auth import rotate_token as rotate

    conn = _open(db_path)
    try:
        token = rotate(conn, name)
    except NoSuchKiosk:
        raise click.ClickException(f"沒有此機台 no kiosk named {name!r}") from None
    click.echo(f"新權杖 new token for {name!r} (shown only once):")
    click.echo(token)


@main.command("revoke-kiosk")
@_db_option
@click.argument("name")
def revoke_kiosk(db_path, name):
    """Revoke a kiosk's token: its requests get 401 from now on. Its events stay."""
    from server_sync.collector.auth import NoSuchKiosk
    from server_sync.collector.auth import revoke_kiosk as revoke

    conn = _open(db_path)
    try:
        revoke(conn, name)
    except NoSuchKiosk:
        raise click.ClickException(f"沒有此機台 no kiosk named {name!r}") from None
    click.echo(f"已撤銷 revoked kiosk {name!r}")


@main.command()
@_db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def kiosks(db_path, fmt):
    """The fleet: last seen, last sequence stored, backlog, software version, clock offset."""
    from server_sync.collector.report import fleet, fleet_table

    rows = fleet(_open(db_path))
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    else:
        click.echo(fleet_table(rows))


@main.command()
@_db_option
@click.option("--kiosk", "kiosk_name", help="Only this kiosk's events.")
@click.option("--type", "type_", help="Only events of this type (rating, reason, ...).")
def events(db_path, kiosk_name, type_):
    """Print stored events as JSON lines (the kiosk's fields plus kiosk and corrected_at)."""
    from server_sync.collector.report import iter_events

    conn = _open(db_path)
    for event in iter_events(conn, kiosk=kiosk_name, type=type_):
        click.echo(json.dumps(event, ensure_ascii=False))


@main.command()
@_db_option
@click.option(
    "--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day (Asia/Taipei), inclusive."
)
@click.option(
    "--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (Asia/Taipei), inclusive."
)
@click.option("--group-by", type=click.Choice(["unit", "window", "day", "hour"]), default="unit", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "ods"]), default="table", show_default=True)
@_output_option("Write to this file (ods: needed unless standard output is a pipe or a file).")
def report(db_path, date_from, date_to, group_by, fmt, output):
    """Satisfaction per unit, window, day or hour: counts per level, n, Happy Index, CSAT."""
    from server_sync.collector import report as rep

    if date_from and date_to and date_from > date_to:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    result = rep.report(
        _open(db_path), date_from=date_from and date_from.date(), date_to=date_to and date_to.date(), group_by=group_by
    )
    if fmt == "ods":
        from server_sync.collector import odf

        title, headers, rows = rep.sheet(result)
        _write_binary(odf.to_ods([odf.Sheet("report", title, headers, rows)]), output)
        return
    text = rep.render(result, fmt)
    if output:
        _write_binary(text.encode("utf-8"), output)
    else:
        click.echo(text, nl=False)


def _write_binary(data: bytes, output: Path | None) -> None:
    """``data`` to ``output``, or to standard output unless that is a terminal."""
    from server_sync.durable import write_file

    if output is not None:
        write_file(output, data)
        click.echo(f"已寫入 wrote {output} ({len(data):,} bytes)", err=True)
        return
    if sys.stdout.isatty():
        raise click.UsageError(
            "二進位檔不輸出到終端機,請加 -o FILE / a binary file: give -o FILE or redirect the output"
        )
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@main.command("self-evaluation")
@_db_option
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The year evaluated.")
@click.option("--unit", default="", help="One unit's evaluation (default: the whole office, every unit consolidated).")
@click.option("--format", "fmt", type=click.Choice(["odt", "ods", "pdf", "xlsx"]), default="odt", show_default=True)
@_output_option("The file to write (default: self-evaluation-YEAR-UNIT.FORMAT in the current folder).")
def self_evaluation(db_path, year, unit, fmt, output):
    """Write the year's self-evaluation item by item (points, measured evidence, each unit's
    narrative and attachments, targets, the year-on-year figures) as ODT, ODS, PDF or XLSX."""
    from datetime import UTC, datetime

    from server_sync.collector import options
    from server_sync.collector.admin import evaluation_files
    from server_sync.collector.admin.deps import OFFICE, templates
    from server_sync.durable import write_file

    conn = _open(db_path)
    min_n = options.get(conn, "report.min_n")
    steps = evaluation_files.steps(conn, year, unit.strip())
    with click.progressbar(length=steps, label="彙整 gathering", file=sys.stderr) as bar:
        b = evaluation_files.bundle(conn, year, unit.strip(), min_n, OFFICE, datetime.now(UTC), progress=bar.update)
    data = evaluation_files.render(conn, b, fmt, lambda t, **ctx: templates.get_template(t).render(**ctx))
    target = output or Path(f"self-evaluation-{year}-{unit.strip() or 'office'}.{fmt}")
    write_file(target, data)
    click.echo(f"已寫入 wrote {target} ({len(data):,} bytes)")


@main.command("open-data")
@_db_option
@click.option("--month", required=True, help="The month summarised, YYYY-MM (Asia/Taipei).")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for the files.",
)
def open_data(db_path, month, out_dir):
    """Write the month's public summary per unit (counts per level, CSAT, mean wait, lookups; no
    personal data; figures below report.min_n suppressed) as CSV and ODS, with a data dictionary."""
    from server_sync.collector import opendata, options
    from server_sync.durable import make_dirs, write_file

    try:
        month = opendata.parse_month(month)
    except opendata.MonthError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    conn = _open(db_path)
    files = opendata.files(conn, month, options.get(conn, "report.min_n"))
    make_dirs(out_dir)
    for name, data in (
        (f"opendata-{month}.csv", files.csv),
        (f"opendata-{month}-dictionary.csv", files.dictionary_csv),
        (f"opendata-{month}.ods", files.ods),
    ):
        write_file(out_dir / name, data)
        click.echo(f"已寫入 wrote {out_dir / name}")


@main.command("set-setting")
@_db_option
@click.argument("key")
@click.argument("value")
@click.option("--kiosk", "kiosk_name", help="Only for this kiosk (default: every kiosk).")
def set_setting(db_path, key, value, kiosk_name):
    """Set a setting the kiosks pull. VALUE is JSON if it parses (3, true, [..]), else text."""
    from server_sync.collector import settings as st

    conn = _open(db_path)
    kiosk_id = _setting_kiosk(conn, kiosk_name)
    rev = st.set_setting(conn, key, st.parse_value(value), kiosk_id=kiosk_id)
    click.echo(f"{key} = {value} ({kiosk_name or '*'}), revision {rev}")


@main.command("unset-setting")
@_db_option
@click.argument("key")
@click.option("--kiosk", "kiosk_name", help="Remove this kiosk's own value (default: the global one).")
def unset_setting(db_path, key, kiosk_name):
    """Remove a setting."""
    from server_sync.collector import settings as st

    conn = _open(db_path)
    kiosk_id = _setting_kiosk(conn, kiosk_name)
    rev = st.set_setting(conn, key, None, kiosk_id=kiosk_id)
    click.echo(f"removed {key} ({kiosk_name or '*'}), revision {rev}")


def _setting_kiosk(conn, kiosk_name: str | None) -> int:
    """The kiosk id a setting is stored under: the named kiosk's own, or every kiosk's."""
    from server_sync.collector import settings as st
    from server_sync.collector.auth import kiosk_by_name

    if not kiosk_name:
        return st.GLOBAL
    kiosk = kiosk_by_name(conn, kiosk_name)
    if kiosk is None:
        raise click.ClickException(f"沒有此機台 no kiosk named {kiosk_name!r}")
    return kiosk.id


@main.command("settings")
@_db_option
def list_settings(db_path):
    """Print every stored setting: kiosk (* = all), key, value."""
    from server_sync.collector import settings as st

    for name, key, value in st.all_settings(_open(db_path)):
        click.echo(f"{name}\t{key}\t{json.dumps(value, ensure_ascii=False)}")


@main.command("add-api-token")
@_db_option
@click.argument("name")
def add_api_token(db_path, name):
    """Create an administrator's API token (for /api/v1/admin/...) and print it, shown only this once."""
    from server_sync.collector.admin_tokens import TokenExists
    from server_sync.collector.admin_tokens import add_api_token as add

    try:
        token = add(_open(db_path), name)
    except TokenExists:
        raise click.ClickException(f"已有此名稱的管理權杖 an admin token named {name!r} already exists") from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已新增管理權杖 added admin API token {name!r} (shown only once 只顯示這一次):")
    click.echo(token)


@main.command("revoke-api-token")
@_db_option
@click.argument("name")
def revoke_api_token(db_path, name):
    """Revoke an administrator's API token."""
    from server_sync.collector.admin_tokens import NoSuchToken
    from server_sync.collector.admin_tokens import revoke_api_token as revoke

    try:
        revoke(_open(db_path), name)
    except NoSuchToken:
        raise click.ClickException(f"沒有此管理權杖 no admin token named {name!r}") from None
    click.echo(f"已撤銷 revoked admin token {name!r}")


@main.command("import-services")
@_db_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_services(db_path, file):
    """Replace the service directory with FILE (.csv or .json, docs/queue.md); kiosks get it on their next sync."""
    from server_sync.collector import services as svc
    from server_sync.wire.directory import DirectoryError, load_file

    try:
        directory = load_file(file)
    except DirectoryError as exc:
        raise click.ClickException(str(exc)) from None
    rev = svc.store(_open(db_path), directory, f"import {file.name}")
    click.echo(f"服務目錄已匯入 imported {len(directory.services)} services from {file}, revision {rev}")


@main.command("import-cases")
@_db_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--template", is_flag=True, help="Print the CSV header and an example case, then exit.")
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the good cases even if some rows are bad (a case with any bad row is skipped whole).",
)
@click.option("--remove-missing", is_flag=True, help="The file is a full export: remove stored cases not in it.")
def import_cases(db_path, file, template, skip_invalid, remove_missing):
    """Import case statuses from a CSV (UTF-8, with or without BOM; docs/cases.md). All or nothing
    unless --skip-invalid; importing the same file again changes nothing."""
    from server_sync.collector.cases import codes, parsing, storing

    if template:
        click.echo(parsing.TEMPLATE, nl=False)
        return
    if file is None:
        raise click.UsageError("缺少檔案 missing FILE.csv (or --template)")
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"無法讀取 cannot read {file}: {exc}") from None
    conn = _open(db_path)
    with click.progressbar(length=max(1, raw.count(b"\n")), label="檢查 checking", file=sys.stderr) as bar:
        parsed = parsing.parse_csv(raw, progress=bar.update, min_digits=codes.min_digits(conn))
    for problem in parsed.problems:
        click.echo(str(problem), err=True)
    good = [c for no, c in parsed.cases.items() if no not in parsed.bad_cases]
    if parsed.problems and (not skip_invalid or not good):
        raise click.ClickException(
            f"{len(parsed.problems)} 個問題，未匯入任何案件 {len(parsed.problems)} problem(s); nothing imported"
            + ("" if skip_invalid else " (--skip-invalid imports the good cases)")
        )
    if parsed.problems and remove_missing:
        raise click.ClickException(
            "--remove-missing 需要沒有錯誤的檔案 needs a file without problems; nothing imported"
        )
    with click.progressbar(length=len(good), label="匯入 importing", file=sys.stderr) as bar:
        result = storing.apply_cases(conn, good, remove_missing=remove_missing, progress=bar.update)
    click.echo(
        f"已匯入 imported {file.name}: 新增 added {result.added}, 更新 updated {result.updated}, "
        f"未變 unchanged {result.unchanged}, 移除 removed {result.removed}, "
        f"略過 skipped {len(parsed.bad_cases)}; revision {result.revision}"
    )


# -- case codes and retention (docs/cases.md) -------------------------------------------------------


@main.command("generate-codes")
@_db_option
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@_output_option("Write the filled file here (default: replace FILE).")
@click.option(
    "--digits",
    type=click.IntRange(4, 12),
    default=None,
    help="Digits per code (default: the collector's cases.min_code_digits, 10).",
)
@click.option("--replace-weak", is_flag=True, help="Also replace codes shorter than cases.min_code_digits.")
def generate_codes(db_path, file, output, digits, replace_weak):
    """Fill the empty verify_code cells of a cases CSV with random codes (one per case, from `secrets`)
    for the office to hand out; import the filled file with import-cases."""
    from server_sync.collector.cases import codes
    from server_sync.durable import write_file

    path = db_path or dbmod.default_db_path()
    least = codes.min_digits(_open(path)) if path.exists() else codes.DEFAULT_MIN_DIGITS
    digits = digits or least
    if digits < least:
        raise click.ClickException(
            f"{digits} 位數的驗證碼匯入時會被拒絕（{codes.MIN_DIGITS_SETTING} = {least}）"
            f" / {digits}-digit codes would be refused at import "
            f"({codes.MIN_DIGITS_SETTING} = {least})"
        )
    try:
        filled = codes.fill_csv(file.read_bytes(), digits=digits, replace_short=least if replace_weak else 0)
    except codes.FillError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"無法讀取 cannot read {file}: {exc}") from None
    target = output or file
    write_file(target, filled.data)
    click.echo(
        f"已產生 {filled.cases} 個案件的驗證碼（{filled.rows} 行，每碼 {digits} 位數）寫入 {target} / "
        f"generated codes for {filled.cases} cases ({filled.rows} rows, {digits} digits each) in {target}"
    )


@main.command("purge-cases")
@_db_option
def purge_cases(db_path):
    """Purge closed cases past cases.purge_closed_days, blank plain codes unless cases.keep_plain_codes,
    and truncate the WAL so what was dropped is unreadable (kiosk pulls and imports do this too)."""
    from server_sync.collector.cases import storing

    changes, forgotten = storing.forget_and_purge(_open(db_path))
    click.echo(
        f"已更新 {changes} 個案件，清除 {forgotten} 個明文驗證碼 / "
        f"{changes} case changes (purged or hidden), {forgotten} plain codes blanked"
    )


@main.command("add-admin")
@_db_option
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(["viewer", "manager", "tester"]),
    default="viewer",
    show_default=True,
    help="viewer: reports and exports; manager: also kiosks, alert rules, settings, acknowledging alerts;"
    " tester: only the telephone-courtesy form and the tests they recorded.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--reset", is_flag=True, help="Set a new password (and --role) for an existing account.")
def add_admin(db_path, username, role, password_stdin, reset):
    """Create an administrator account for the /admin pages (password hashed with argon2id)."""
    from server_sync.collector.admin import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密碼 Password", hide_input=True, confirmation_prompt=True)
    conn = _open(db_path)
    try:
        if reset:
            accounts.set_password(conn, username, password, role)
        else:
            accounts.add_user(conn, username, password, role)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'已更新' if reset else '已新增'}管理帳號 {'updated' if reset else 'added'} {username!r} ({role})")


@main.command("unlock-admin")
@_db_option
@click.argument("username", required=False)
@click.option("--address", help="Also unblock this source address (too many failed logins from it).")
def unlock_admin(db_path, username, address):
    """Unlock an administrator account locked by wrong passwords, and/or unblock an address."""
    from server_sync.collector.admin import accounts, login_limits

    if not username and not address:
        raise click.UsageError("請指定帳號或 --address / give a USERNAME, --address, or both")
    conn = _open(db_path)
    try:
        if username:
            accounts.unlock(conn, username, "cli")
            click.echo(f"已解除鎖定 unlocked {username!r}")
        if address:
            found = login_limits.unblock_address(conn, address, "cli")
            click.echo(f"已解除封鎖 unblocked {address}" if found else f"此位址未被封鎖 {address} was not blocked")
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("admin-setting")
@_db_option
@click.argument("key", required=False)
@click.argument("value", required=False)
def admin_setting(db_path, key, value):
    """Show the admin settings, or set KEY to VALUE (report.min_n, alerts.smtp_host, ... see docs/admin.md)."""
    from server_sync.collector import options
    from server_sync.collector.admin import accounts

    conn = _open(db_path)
    if key is None:
        for k, v in options.get_all(conn).items():
            click.echo(f"{k}\t{json.dumps(v, ensure_ascii=False)}")
        return
    try:
        if value is None:
            click.echo(
                json.dumps(
                    options.get(conn, options.BY_KEY[key].key) if key in options.BY_KEY else options.parse(key, ""),
                    ensure_ascii=False,
                )
            )
            return
        parsed = options.parse(key, value)
    except options.OptionError as exc:
        raise click.ClickException(str(exc)) from None
    options.set_value(conn, key, parsed)
    accounts.audit(conn, "cli", "change_settings", "", {key: parsed})
    click.echo(f"{key} = {json.dumps(parsed, ensure_ascii=False)}")


if __name__ == "__main__":
    sys.exit(main())
