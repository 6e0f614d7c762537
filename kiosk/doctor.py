"""`kiosk doctor`: every check an office's IT staff would run first, in plain words."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Check:
    name: str
    ok: bool
    message: str


def check_config(config_path) -> tuple[Check, object]:
    from kiosk.config import ConfigError, load

    try:
        config = load(config_path)
    except ConfigError as exc:
        return Check("config 設定檔", False, str(exc)), None
    where = config_path or "built-in defaults 內建預設值"
    return Check("config 設定檔", True, f"{where}: {len(config.levels)} rating buttons"), config


def check_font(config) -> Check:
    from kiosk.fonts import FontMissing, find_cjk_font

    try:
        fonts = find_cjk_font(config["display.font"] if config else "")
    except FontMissing as exc:
        return Check("font 字型", False, str(exc))
    return Check("font 字型", True, str(fonts["Regular"]))


def check_data_dir(data_dir: Path) -> Check:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("data dir 資料目錄", False,
                     f"{data_dir} is not writable 無法寫入: {exc.strerror or exc}")
    free = shutil.disk_usage(data_dir).free
    if free < 50 * 1024 * 1024:
        return Check("data dir 資料目錄", False,
                     f"{data_dir}: only {free // 1024 // 1024} MB free 可用空間不足")
    return Check("data dir 資料目錄", True, f"{data_dir} ({free // 1024 // 1024} MB free)")


def check_store(config, data_dir: Path) -> Check:
    from kiosk.store import Store, StoreUnavailable

    try:
        store = Store(data_dir, kiosk_id=config.kiosk_id)
    except StoreUnavailable as exc:
        return Check("database 資料庫", False, str(exc))
    try:
        result = store.conn.execute("PRAGMA integrity_check").fetchone()[0]
        n = store.count()
        note = f"; recovered from a corrupt file, kept as {store.recovered_from.name}" if store.recovered_from else ""
    finally:
        store.close()
    return Check("database 資料庫", result == "ok", f"integrity {result}, {n} events{note}")


def check_pins(demo: bool) -> Check:
    if demo:
        return Check("GPIO pins 腳位", True, "demo: gpiozero MockFactory")
    try:
        from gpiozero import Device
        from gpiozero.pins.local import LocalPiFactory  # noqa: F401

        factory = Device._default_pin_factory()
        name = type(factory).__name__
        factory.close()
    except Exception as exc:  # gpiozero raises several kinds when no GPIO is there
        return Check("GPIO pins 腳位", False,
                     f"no GPIO pin factory 無法使用 GPIO: {exc}. On a Pi install python3-lgpio "
                     "and add the user to the gpio group; elsewhere use --demo.")
    return Check("GPIO pins 腳位", True, name)


def check_sync(config, data_dir: Path) -> Check:
    """Sync to the collector: last success, events pending, last error, clock offset."""
    if not config["sync.url"]:
        return Check("sync 同步", True, "off: no [sync] url 未設定同步 (standalone recorder)")
    if not config["sync.token"]:
        return Check("sync 同步", False, f"{config['sync.url']}: no token 未設定權杖; set [sync] token "
                     "or KIOSK_SYNC_TOKEN to the one `kiosk-collector add-kiosk` printed")
    import sqlite3

    from kiosk.store import Store, StoreUnavailable
    from server_sync.client.status import doctor_summary, read_status

    try:
        store = Store(data_dir, kiosk_id=config.kiosk_id)
    except StoreUnavailable as exc:
        return Check("sync 同步", False, f"cannot read the sync state 無法讀取同步狀態: {exc}")
    try:
        status = read_status(store.conn)
    except sqlite3.Error as exc:
        return Check("sync 同步", False, f"cannot read the sync state 無法讀取同步狀態: {exc}")
    finally:
        store.close()
    ok, message = doctor_summary(status)
    return Check("sync 同步", ok, f"{config['sync.url']}: {message}")


def run_checks(config_path, data_dir: Path | None, *, demo: bool) -> list[Check]:
    from kiosk.config import default_data_dir

    checks = []
    check, config = check_config(config_path)
    checks.append(check)
    checks.append(check_font(config))
    data_dir = data_dir or default_data_dir(demo=demo)
    dir_check = check_data_dir(data_dir)
    checks.append(dir_check)
    if config is not None and dir_check.ok:
        checks.append(check_store(config, data_dir))
        checks.append(check_sync(config, data_dir))
    checks.append(check_pins(demo))
    return checks
