"""The `kiosk` command: run the touchscreen, print events, simulate, check the setup."""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

import click

from kiosk.config import ConfigError, asset_path, default_data_dir, load
from server_sync.extras import require as require_extra


def common_options(func):
    """--config and --data-dir, taken by every command."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="KIOSK_CONFIG",
        help="TOML config file (default: built-in defaults).",
    )
    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="KIOSK_DATA_DIR",
        help="Folder holding kiosk.db (default: /var/lib/counter-kiosk on the Pi, a per-user folder in demo).",
    )
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


def _load(config_path):
    try:
        return load(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _store_or_exit(func):
    """Turn a storage failure into a plain message and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from kiosk.store import StoreUnavailable

        try:
            return func(*args, **kwargs)
        except StoreUnavailable as exc:
            raise click.ClickException(f"資料檔無法使用 data file unavailable: {exc}") from None

    return wrapper


@click.group()
@click.version_option(package_name="counter-kiosk", prog_name="kiosk")  # read only when asked: kiosk/version.py
def main():
    """Service-counter kiosk 服務櫃台評分機: satisfaction buttons and touchscreen."""
    require_extra("kiosk")  # before any command imports Kivy or gpiozero
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@common_options
@click.option("--demo", is_flag=True, help="Simulated buttons (gpiozero MockFactory; keys 1-5 press them), windowed.")
@click.option("--size", metavar="WxH", help="Window size in demo, e.g. 800x480 or 1280x800.")
def run(config_path, data_dir, demo, size):
    """Run the kiosk: buttons and touchscreen."""
    config = _load(config_path)
    data_dir = data_dir or default_data_dir(demo=demo)
    from kiosk.fonts import FontMissing, find_cjk_font

    try:
        fonts = find_cjk_font(config["display.font"])
    except FontMissing as exc:
        raise click.ClickException(str(exc)) from None
    if size:
        try:
            w, h = (int(v) for v in size.lower().split("x"))
        except ValueError:
            raise click.BadParameter(
                f"expected WIDTHxHEIGHT such as 800x480, got {size!r}", param_hint="--size"
            ) from None
        config.values["display.width"], config.values["display.height"] = w, h
    from kiosk.ui.app import run_app

    run_app(config, data_dir, fonts=fonts, demo=demo)


@main.command()
@common_options
@click.option("--type", "type_", help="Only events of this type (rating, reason, ...).")
@_store_or_exit
def events(config_path, data_dir, type_):
    """Print stored events as JSON lines, oldest first (a queue host's log where the folder holds
    only that: `kiosk simulate --windows` leaves one)."""
    from kiosk.office.hub import host_data_dir
    from kiosk.store import DB_NAME, Store

    config = _load(config_path)
    folder = data_dir or default_data_dir(demo=False)
    if not (folder / DB_NAME).exists() and (host_data_dir(folder) / DB_NAME).exists():
        folder = host_data_dir(folder)
    store = Store(folder, kiosk_id=config.kiosk_id)
    try:
        for event in store.events(type=type_):
            click.echo(json.dumps(event.as_json(), ensure_ascii=False))
    finally:
        store.close()


@main.command()
@common_options
@click.option("--ratings", "n", type=click.IntRange(min=1), help="How many presses to record.")
@click.option(
    "--queue-days",
    type=click.IntRange(1, 400),
    help="Instead: this many office days of tickets, calls and ratings at this window (docs/queue.md).",
)
@click.option(
    "--windows",
    type=click.IntRange(1, 64),
    help="With --queue-days: an office of this many window kiosks and one queue host, as real processes "
    "on loopback (the host's log in DATA_DIR/host; docs/queue.md).",
)
@click.option(
    "--speed",
    type=click.FloatRange(1, 100_000),
    default=2400.0,
    show_default=True,
    help="With --windows: simulated seconds per real second.",
)
@click.option("--seed", type=int, help="Random seed, for repeatable runs.")
@_store_or_exit
def simulate(config_path, data_dir, n, queue_days, windows, speed, seed):
    """Record N ratings (or office days of the queue) through the real button path (mock pins, simulated clock)."""
    from kiosk.simulate import simulate_ratings

    config = _load(config_path)
    data_dir = data_dir or default_data_dir(demo=True)
    if windows and not queue_days:
        raise click.UsageError("--windows needs --queue-days N")
    if windows:  # an office: a queue host and its windows as processes, kiosk/office/simulation.py
        require_extra("host")
        from kiosk.office.simulation import report_lines as office_lines
        from kiosk.office.simulation import simulate_office

        with click.progressbar(length=queue_days, label="模擬辦公日 simulating office days", file=sys.stderr) as bar:
            try:
                office = simulate_office(
                    config, data_dir, queue_days, windows, seed=seed, speed=speed, progress=bar.update
                )
            except RuntimeError as exc:
                raise click.ClickException(str(exc)) from None
        for line in office_lines(office, data_dir):
            click.echo(line)
        return
    if queue_days:  # the queue's office days: kiosk/queue_sim.py
        from kiosk.queue_sim import report_lines, simulate_queue_days

        with click.progressbar(length=queue_days, label="模擬辦公日 simulating office days", file=sys.stderr) as bar:
            try:
                result = simulate_queue_days(config, data_dir, queue_days, seed=seed, progress=bar.update)
            except ValueError as exc:
                raise click.ClickException(str(exc)) from None
        for line in report_lines(result):
            click.echo(line)
        return
    if n is None:
        raise click.UsageError("give --ratings N or --queue-days N")
    with click.progressbar(length=n, label="模擬評分 simulating ratings", file=sys.stderr) as bar:
        counts = simulate_ratings(config, data_dir, n, seed=seed, progress=bar.update)
    click.echo(
        f"已記錄 recorded {counts['presses']} presses "
        f"({counts['misuse']} flagged misuse, {counts['reasons']} reasons) in {data_dir}"
    )


@main.command("check-config")
@common_options
def check_config(config_path, data_dir):
    """Validate the config file only; exit non-zero naming the problem (run before a restart)."""
    config = _load(config_path)
    click.echo(
        f"設定檔正確 config OK: {config_path or 'built-in defaults'} "
        f"({len(config.levels)} rating buttons, {len(config.reasons)} reasons)"
    )


@main.command("example-config")
@common_options
def example_config(config_path, data_dir):
    """Print the example config (every setting at its default) to start a config file from."""
    click.echo(asset_path("kiosk.example.toml").read_text(encoding="utf-8"), nl=False)


@main.command("set-staff-pin")
@common_options
@click.option(
    "--stdin", "from_stdin", is_flag=True, help="Read the PIN once from standard input instead of asking twice."
)
@click.option("--group", default=None, help="Give the config file this group (the one the kiosk service runs as).")
def set_staff_pin(config_path, data_dir, from_stdin, group):
    """Set the staff screen's PIN (6 to 12 digits): only its hash goes into the config file."""
    import grp

    from kiosk.config_edit import EditError, write_setting
    from kiosk.pinhash import hash_pin, pin_problem

    if config_path is None:
        raise click.UsageError("give --config FILE (or KIOSK_CONFIG): the file the PIN's hash is written into")
    if from_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = click.prompt("職員密碼 Staff PIN", hide_input=True, confirmation_prompt=True, err=True).strip()
    problem = pin_problem(pin)
    if problem:
        raise click.ClickException(f"密碼不符規定 PIN not accepted: {problem}")
    try:
        gid = grp.getgrnam(group).gr_gid if group else None
    except KeyError:
        raise click.ClickException(f"沒有這個群組 no such group: {group}") from None
    try:
        write_setting(config_path, "queue.staff_pin_hash", hash_pin(pin), drop=("staff_pin",), group=gid)
    except EditError as exc:
        raise click.ClickException(f"無法寫入設定檔 cannot update {config_path}: {exc}") from None
    _load(config_path)  # the whole file must still be valid
    click.echo(
        f"已設定職員密碼 staff PIN set in {config_path} (hash only); "
        "重新啟動評分機後生效 restart the kiosk to use it: sudo systemctl restart kiosk"
    )


@main.command()
@common_options
@click.option("--demo", is_flag=True, help="Check for demo mode (mock pins) instead of real GPIO.")
def doctor(config_path, data_dir, demo):
    """Check config, font, data dir, database, sync, GPIO, display and clock; exit non-zero on any problem."""
    from kiosk.doctor import run_checks

    checks = run_checks(config_path, data_dir, demo=demo)
    for check in checks:
        mark = (
            click.style("FAIL", fg="red")
            if not check.ok
            else click.style("WARN", fg="yellow")
            if check.warning
            else click.style("OK  ", fg="green")
        )
        click.echo(f"{mark} {check.name}: {check.message}")
    problems = [c for c in checks if not c.ok]
    if problems:
        click.echo(f"{len(problems)} 項問題 problem(s) found.")
        sys.exit(1)
    click.echo("一切正常 all checks passed.")


@main.command()
@common_options
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Listen on this port instead of [queue] listen's (0: any free one)."
)
# A simulated office's accelerated clock (kiosk simulate --windows, bench/): hidden, not for an office.
@click.option("--clock-speed", type=click.FloatRange(min=0, min_open=True), hidden=True)
@click.option("--clock-start", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z"]), hidden=True)
@click.option("--clock-epoch", type=float, hidden=True)
@_store_or_exit
def host(config_path, data_dir, port, clock_speed, clock_start, clock_epoch):
    """Hold the office's queue for every window ([queue] role = "host"): the windows' API, /display, /t/<ticket>."""
    require_extra("host")
    from kiosk.clock import AcceleratedClock
    from kiosk.office.serve import serve

    config = _load(config_path)
    clock = None
    if clock_speed is not None:
        if clock_start is None:
            raise click.UsageError("--clock-speed needs --clock-start")
        clock = AcceleratedClock(clock_start, clock_speed, epoch=clock_epoch)
    serve(config, data_dir or default_data_dir(demo=False), port=port, clock=clock)


@main.command("host-add-device")
@common_options
@click.argument("name")
@click.option("--window", default="", help="The window it calls for; leave out for the entrance kiosk (tickets only).")
@_store_or_exit
def host_add_device(config_path, data_dir, name, window):
    """Let a window (or the entrance) kiosk work the office's queue: prints its token once, for [queue] host_token."""
    from kiosk.office.devices import DeviceError, add, ensure_table
    from kiosk.office.hub import host_data_dir
    from kiosk.store import Store

    config = _load(config_path)
    store = Store(host_data_dir(data_dir or default_data_dir(demo=False)), kiosk_id=config.kiosk_id)
    conn = store.side_connection()
    try:
        ensure_table(conn)
        token = add(conn, name, window)
    except DeviceError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        conn.close()
        store.close()
    click.echo(token)
    click.echo(
        f"已加入 {name}（{window + ' 號窗口' if window else '入口取號機'}）/ added {name}; put the token above in its [queue] host_token",
        err=True,
    )


@main.command()
@common_options
@click.option(
    "--once",
    is_flag=True,
    help="One full round (push everything pending, pull settings), then exit: "
    "0 when nothing is left pending, 1 otherwise, 2 when sync is not configured.",
)
@_store_or_exit
def sync(config_path, data_dir, once):
    """Send pending events to the collector ([sync] url, token); without --once, keep syncing."""
    import time

    from kiosk.outbox import sync_client
    from kiosk.store import Store
    from server_sync.client.worker import SyncWorker

    config = _load(config_path)
    data_dir = data_dir or default_data_dir(demo=False)
    if not config["sync.url"]:
        click.echo(
            "未設定收集伺服器，請在設定檔 [sync] 填寫 url / "
            "no collector configured: set [sync] url in the config file.",
            err=True,
        )
        sys.exit(2)
    # Open (and migrate) the store once, as the kiosk does, so store_id and sync_state exist.
    Store(data_dir, kiosk_id=config.kiosk_id).close()
    client = sync_client(
        config["sync.url"], config["sync.token"], data_dir, allow_insecure_http=config["sync.allow_insecure_http"]
    )

    def report(result):
        if result.error is None and result.pending == 0:
            click.echo(f"已同步，沒有待同步的資料 all synced, nothing pending ({result.sent} sent 已送出 this round).")
        else:
            why = result.error or "尚有資料未確認 some events are not confirmed yet"
            click.echo(
                f"未能同步 not synced: {why}. "
                f"待同步 {result.pending} 筆 / {result.pending} events still pending "
                f"({result.sent} sent 已送出 this round).",
                err=True,
            )
        if result.settings_error is not None:
            click.echo(f"設定未更新 settings not pulled: {result.settings_error}", err=True)
        elif result.settings_changed:
            click.echo("已取得新設定 new settings received (stored; applied with a later version).")
        if getattr(result, "cases_error", None) is not None:
            click.echo(f"案件資料未更新 case data not pulled: {result.cases_error}", err=True)
        elif getattr(result, "cases_changed", 0):
            click.echo(f"案件資料已更新 {result.cases_changed} 筆 case changes received.")

    if once:
        try:
            result = client.run_round()
        finally:
            client.close()
        report(result)
        sys.exit(0 if result.ok else 1)
    worker = SyncWorker(client, interval=config["sync.interval"], on_round=report)
    worker.start()
    try:
        while worker.running:
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()


@main.command()
@common_options
@click.argument("case_no")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@_store_or_exit
def lookup(config_path, data_dir, case_no, code, as_json):
    """Look up a case as the 案件查詢 screen would, through the same checks and lockout; the lookup
    is stored as an event. Exit 0 found, 3 not found or wrong code, 4 locked, 5 rate limited."""
    from kiosk.lookup import CaseLookup, render_text
    from kiosk.store import Store

    config = _load(config_path)
    store = Store(
        data_dir or default_data_dir(demo=False),
        kiosk_id=config.kiosk_id,
        unit=config["kiosk.unit"],
        window=config["kiosk.window"],
    )
    service = CaseLookup.from_config(store, config)
    try:
        try:
            result = service.lookup(case_no, code, source="cli")
        except ValueError as exc:
            raise click.BadParameter(f"案件編號與驗證碼都不可空白 {exc}") from None
    finally:
        service.close()
        store.close()
    click.echo(json.dumps(result.as_json(), ensure_ascii=False) if as_json else render_text(result), nl=as_json)
    sys.exit({"found": 0, "not_found": 3, "locked": 4, "rate_limited": 5}[result.result])
