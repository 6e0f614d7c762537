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
    warning: bool = False  # worth knowing, but the kiosk works: no non-zero exit


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
        return Check("data dir 資料目錄", False, f"{data_dir} is not writable 無法寫入: {exc.strerror or exc}")
    free = shutil.disk_usage(data_dir).free
    if free < 50 * 1024 * 1024:
        return Check("data dir 資料目錄", False, f"{data_dir}: only {free // 1024 // 1024} MB free 可用空間不足")
    return Check("data dir 資料目錄", True, f"{data_dir} ({free // 1024 // 1024} MB free)")


def check_store(config, data_dir: Path) -> Check:
    from kiosk.store import Store, StoreUnavailable

    try:
        store = Store(data_dir, kiosk_id=config.kiosk_id)
    except StoreUnavailable as exc:
        return Check("database 資料庫", False, str(exc))
    assert store.conn is not None  # must_open (the default): Store raised StoreUnavailable otherwise
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
        import warnings

        from gpiozero import Device
        from gpiozero.pins.local import LocalPiFactory  # noqa: F401

        with warnings.catch_warnings():  # gpiozero warns per factory it skips; the result says enough
            warnings.simplefilter("ignore")
            factory = Device._default_pin_factory()
        name = type(factory).__name__
        factory.close()
    except Exception as exc:  # gpiozero raises several kinds when no GPIO is there
        return Check(
            "GPIO pins 腳位",
            False,
            f"no GPIO pin factory 無法使用 GPIO: {exc}. On a Pi install python3-lgpio "
            "and add the user to the gpio group; elsewhere use --demo.",
        )
    return Check("GPIO pins 腳位", True, name)


def check_sync(config, data_dir: Path) -> Check:
    """Sync to the collector: last success, events pending, last error, clock offset."""
    if not config["sync.url"]:
        return Check("sync 同步", True, "off: no [sync] url 未設定同步 (standalone recorder)")
    if not config["sync.token"]:
        return Check(
            "sync 同步",
            False,
            f"{config['sync.url']}: no token 未設定權杖; set [sync] token "
            "or KIOSK_SYNC_TOKEN to the one `kiosk-collector add-kiosk` printed",
        )
    import sqlite3

    from kiosk.outbox import read_status
    from kiosk.store import Store, StoreUnavailable
    from server_sync.client.status import doctor_summary

    try:
        store = Store(data_dir, kiosk_id=config.kiosk_id)
    except StoreUnavailable as exc:
        return Check("sync 同步", False, f"cannot read the sync state 無法讀取同步狀態: {exc}")
    assert store.conn is not None  # must_open (the default): Store raised StoreUnavailable otherwise
    try:
        status = read_status(store.conn)
    except sqlite3.Error as exc:
        return Check("sync 同步", False, f"cannot read the sync state 無法讀取同步狀態: {exc}")
    finally:
        store.close()
    ok, message = doctor_summary(status)
    return Check("sync 同步", ok, f"{config['sync.url']}: {message}")


def check_data_dir_writable_mount(data_dir: Path) -> Check:
    """The data dir's filesystem must be mounted read-write (an SD card remounts read-only on errors)."""
    try:
        read_only = bool(os.statvfs(data_dir).f_flag & os.ST_RDONLY)
    except OSError as exc:
        return Check("filesystem 檔案系統", False, f"{data_dir}: {exc.strerror}")
    if read_only:
        return Check(
            "filesystem 檔案系統",
            False,
            f"{data_dir} is on a read-only filesystem 檔案系統為唯讀 (SD card errors? see dmesg)",
        )
    return Check("filesystem 檔案系統", True, f"{data_dir} mounted read-write")


def check_gpio_access(dev: Path = Path("/dev")) -> Check:
    chips = sorted(dev.glob("gpiochip*"))
    if not chips:
        return Check("GPIO access 腳位權限", False, f"no {dev}/gpiochip* device 找不到 GPIO 裝置")
    denied = [c.name for c in chips if not os.access(c, os.R_OK | os.W_OK)]
    if len(denied) == len(chips):
        return Check(
            "GPIO access 腳位權限",
            False,
            f"no permission on {', '.join(denied)} 無權限: add the user to the gpio group",
        )
    return Check("GPIO access 腳位權限", True, ", ".join(c.name for c in chips if c.name not in denied))


def check_display(environ=os.environ, dri: Path = Path("/dev/dri")) -> Check:
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return Check(
            "display 螢幕", True, f"desktop session {environ.get('DISPLAY') or environ.get('WAYLAND_DISPLAY')}"
        )
    cards = sorted(dri.glob("card*"))
    if not cards:
        return Check(
            "display 螢幕",
            False,
            f"no desktop session and no {dri}/card* for KMS/DRM 找不到螢幕 (is dtoverlay=vc4-kms-v3d set?)",
        )
    if not any(os.access(c, os.R_OK | os.W_OK) for c in cards):
        return Check(
            "display 螢幕", False, f"no permission on {dri}/card* 無權限: add the user to the video and render groups"
        )
    return Check("display 螢幕", True, f"KMS/DRM {cards[0]}")


def check_clock(run=None) -> Check:
    """NTP sync. Not a failure: events carry boot id + monotonic time and the collector corrects them."""
    import subprocess

    run = run or subprocess.run
    try:
        out = run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = "yes" if Path("/run/systemd/timesync/synchronized").exists() else ""
    if out == "yes":
        return Check("clock 時鐘", True, "synchronised with NTP 已校時")
    return Check(
        "clock 時鐘", True, "not synchronised yet 尚未校時 (times are corrected at the collector)", warning=True
    )


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
        checks.append(check_data_dir_writable_mount(data_dir))
    checks.append(check_pins(demo))
    if not demo:
        checks.append(check_gpio_access())
        checks.append(check_display())
    checks.append(check_clock())
    return checks
