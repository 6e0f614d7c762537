"""`./dev.sh demo`: a kiosk with simulated buttons plus a local collector, on this machine.

Starts `kiosk-collector serve` on loopback with its own SQLite file, registers
a demo kiosk once (its token is kept in the demo folder), writes a demo config
naming that collector, and runs `kiosk run --demo`. Keys 1–5 press the rating
buttons through gpiozero's MockFactory pins. Closing the window stops both.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import platformdirs

from kiosk.config import asset_path

DEMO_CONFIG = """\
# Written by `./dev.sh demo`; delete the demo folder to start over.
[kiosk]
id = "demo-w1"
window = "1"

[sync]
url = "http://127.0.0.1:{port}/"
token = "{token}"
interval = 10
"""


def _free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def _wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"收集伺服器未能啟動 the collector exited with code {proc.returncode}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=(1, 2)).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("收集伺服器沒有回應 the collector did not answer within 20 s")


def _collector(*args: str) -> list[str]:
    return [sys.executable, "-m", "server_sync.collector", *args]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev.sh demo", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="800x480", help="window size, e.g. 800x480 or 1280x800")
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path(platformdirs.user_data_dir("counter-kiosk-demo", appauthor=False)),
        help="where the demo keeps its two SQLite files",
    )
    parser.add_argument("--no-collector", action="store_true", help="run the kiosk alone, offline")
    args = parser.parse_args(argv)

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print(
            "示範需要桌面環境 the demo needs a desktop session (no DISPLAY is set).\n"
            "On a machine without a screen: xvfb-run -s '-screen 0 1280x800x24' ./dev.sh demo",
            file=sys.stderr,
        )
        return 2

    folder: Path = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    kiosk_dir = folder / "kiosk"
    config_path = folder / "kiosk.toml"
    collector = None
    try:
        if args.no_collector:
            config_path.write_text('[kiosk]\nid = "demo-w1"\n', encoding="utf-8")
        else:
            db = folder / "collector.db"
            token_file = folder / "demo-kiosk.token"
            if not token_file.exists():
                out = subprocess.run(
                    _collector("add-kiosk", "demo-w1", "--db", str(db)), check=True, capture_output=True, text=True
                ).stdout
                token_file.write_text(out.strip().splitlines()[-1], encoding="utf-8")
                token_file.chmod(0o600)
                # As an office would: the collector manages the directory the kiosks show.
                subprocess.run(
                    _collector("import-services", str(asset_path("services.zh-TW.csv")), "--db", str(db)),
                    check=True,
                    capture_output=True,
                )
            port = _free_port(8470)
            collector = subprocess.Popen(_collector("serve", "--db", str(db), "--port", str(port), "--no-access-log"))
            _wait_healthy(port, collector)
            config_path.write_text(
                DEMO_CONFIG.format(port=port, token=token_file.read_text().strip()), encoding="utf-8"
            )
            print(f"收集伺服器 collector: http://127.0.0.1:{port}/  (data: {db})")
        print("按鍵 1–5 模擬五個評分按鈕 keys 1-5 press the five rating buttons; close the window to stop.")
        return subprocess.call(
            [
                sys.executable,
                "-m",
                "kiosk",
                "run",
                "--demo",
                "--size",
                args.size,
                "--config",
                str(config_path),
                "--data-dir",
                str(kiosk_dir),
            ]
        )
    except KeyboardInterrupt:
        return 130
    finally:
        if collector is not None:
            collector.terminate()
            try:
                collector.wait(10)
            except subprocess.TimeoutExpired:
                collector.kill()


if __name__ == "__main__":
    sys.exit(main())
