"""systemd/install.sh in a throw-away Debian root (debootstrap + chroot).

One fresh minimal Debian 12 is made per run; the kiosk and then the collector
are installed into it, each twice (the second run must change nothing), the
unit files are verified with systemd-analyze, and uninstall keeps the data.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
UNITS = ["kiosk.service", "kiosk-collector.service", "kiosk-collector-backup.service",
         "kiosk-collector-backup.timer"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap and chroot need root (CI runs as root)"),
]


def _mirror() -> str:
    """The Debian mirror this machine's apt already uses."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        match = re.search(r"^URIs:\s*(\S+/debian)\s*$", sources.read_text(), re.M)
        if match:
            return match.group(1)
    return "http://deb.debian.org/debian"


def _chroot(root: Path, *cmd: str, check=True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    result = subprocess.run(["chroot", str(root), *cmd], capture_output=True, text=True, env=env,
                            timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    if not shutil.which("debootstrap"):
        pytest.fail("debootstrap is not installed: ./dev.sh setup installs it")
    root = tmp_path_factory.mktemp("debian-root")
    subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(root), _mirror()],
                   check=True, capture_output=True, timeout=900)
    # The chroot trusts what this machine trusts (an office proxy's CA, say) and
    # resolves names the same way; policy-rc.d keeps apt from starting services.
    (root / "etc/ssl/certs").mkdir(parents=True, exist_ok=True)
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", root / "etc/ssl/certs/ca-certificates.crt")
    local_cas = Path("/usr/local/share/ca-certificates")  # kept when apt regenerates the bundle
    if local_cas.is_dir():
        shutil.copytree(local_cas, root / "usr/local/share/ca-certificates", dirs_exist_ok=True)
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            dest = root / "opt/src" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")])
        shutil.rmtree(root, ignore_errors=True)


def _manifest(root: Path) -> dict[str, tuple]:
    """Every file the installer may touch, with owner, mode and content hash."""
    out = {}
    for top in ("etc/counter-kiosk", "etc/systemd/system", "etc/udev/rules.d", "opt/counter-kiosk", "var/lib/counter-kiosk",
                "var/lib/counter-kiosk-collector"):
        for path in sorted((root / top).rglob("*")) if (root / top).exists() else []:
            if "__pycache__" in path.parts:
                continue
            st = path.lstat()
            digest = ""
            if stat.S_ISREG(st.st_mode) and "site-packages" not in path.parts:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(path.relative_to(root))] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_mtime_ns, digest)
    for name in ("etc/passwd", "etc/group"):
        out[name] = (hashlib.sha256((root / name).read_bytes()).hexdigest(),)
    return out


def _verify_units(root: Path, units: list[str]) -> None:
    for unit in units:
        result = subprocess.run(["systemd-analyze", "verify", f"--root={root}", f"/etc/systemd/system/{unit}"],
                                capture_output=True, text=True)
        assert result.returncode == 0, f"{unit}: {result.stderr}"


def test_kiosk_install_then_again_changes_nothing(root):
    first = _chroot(root, "/opt/src/systemd/install.sh")
    assert "enabled kiosk.service" in first.stdout

    groups = _chroot(root, "id", "-nG", "kiosk").stdout.split()
    assert {"kiosk", "gpio", "video", "input", "render"} <= set(groups)
    data = root / "var/lib/counter-kiosk"
    assert stat.S_IMODE(data.stat().st_mode) == 0o750
    assert _chroot(root, "stat", "-c", "%U", "/var/lib/counter-kiosk").stdout.strip() == "kiosk"
    config = (root / "etc/counter-kiosk/kiosk.toml").read_text()
    assert re.search(r'^id = ""', config, re.M), "a kiosk id must not be baked into the image"
    secrets = root / "etc/counter-kiosk/secrets.env"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o640
    assert (root / "etc/systemd/system/kiosk.service").read_bytes() == (REPO / "systemd/kiosk.service").read_bytes()
    assert (root / "etc/systemd/system/multi-user.target.wants/kiosk.service").is_symlink()
    _chroot(root, "/opt/counter-kiosk/venv/bin/kiosk", "check-config", "--config", "/etc/counter-kiosk/kiosk.toml")
    # The installed (non-editable) kiosk finds its chime and demo directory.
    found = _chroot(root, "/opt/counter-kiosk/venv/bin/python", "-c",
                    "import kiosk.chime, kiosk.directory; print(kiosk.chime.CHIME_PATH.is_file(),"
                    " kiosk.directory.bundled_path().is_file())").stdout.split()
    assert found == ["True", "True"], found
    _verify_units(root, ["kiosk.service"])
    rule = root / "etc/udev/rules.d/60-counter-kiosk-backlight.rules"
    assert rule.read_bytes() == (REPO / "systemd/60-counter-kiosk-backlight.rules").read_bytes()

    before = _manifest(root)
    second = _chroot(root, "/opt/src/systemd/install.sh")
    assert "nothing to change" in second.stdout
    assert _manifest(root) == before


def test_an_edited_config_survives_a_reinstall(root):
    config = root / "etc/counter-kiosk/kiosk.toml"
    edited = config.read_text().replace('window = "1"', 'window = "7"')
    config.write_text(edited)
    _chroot(root, "/opt/src/systemd/install.sh")
    assert config.read_text() == edited


def test_an_invalid_config_stops_the_upgrade_before_any_restart(root):
    config = root / "etc/counter-kiosk/kiosk.toml"
    good = config.read_text()
    config.write_text(good.replace("rotation = 0", "rotation = 45"))
    try:
        result = _chroot(root, "/opt/src/systemd/install.sh", check=False)
        assert result.returncode != 0
        assert "rotation" in result.stderr and "not restarted" in result.stderr
    finally:
        config.write_text(good)


def test_collector_install_then_again_changes_nothing(root):
    first = _chroot(root, "/opt/src/systemd/install.sh", "--collector")
    assert "enabled kiosk-collector.service" in first.stdout
    assert (root / "etc/systemd/system/timers.target.wants/kiosk-collector-backup.timer").is_symlink()
    _chroot(root, "/opt/counter-kiosk/venv/bin/kiosk-collector", "--help")
    # The self-evaluation PDF needs Pango and a CJK font from apt, not only pip.
    pdf = _chroot(root, "/opt/counter-kiosk/venv/bin/python", "-c",
                  "import sys, weasyprint; sys.stdout.buffer.write("
                  "weasyprint.HTML(string='<p>嘉義市選舉委員會 年度自評</p>').write_pdf()[:5])").stdout
    assert pdf == "%PDF-"
    _verify_units(root, UNITS)
    before = _manifest(root)
    second = _chroot(root, "/opt/src/systemd/install.sh", "--collector")
    assert "nothing to change" in second.stdout
    assert _manifest(root) == before


def test_uninstall_keeps_data_and_config(root):
    (root / "var/lib/counter-kiosk/kiosk.db").write_bytes(b"recorded ratings")
    _chroot(root, "/opt/src/systemd/install.sh", "--collector", "--uninstall")
    assert (root / "opt/counter-kiosk").exists(), "the kiosk still needs the shared venv"
    _chroot(root, "/opt/src/systemd/install.sh", "--uninstall")
    for unit in UNITS:
        assert not (root / "etc/systemd/system" / unit).exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/kiosk.service").exists()
    assert not (root / "opt/counter-kiosk").exists()
    assert not (root / "etc/udev/rules.d/60-counter-kiosk-backlight.rules").exists()
    assert (root / "var/lib/counter-kiosk/kiosk.db").read_bytes() == b"recorded ratings"
    assert (root / "etc/counter-kiosk/kiosk.toml").exists()
