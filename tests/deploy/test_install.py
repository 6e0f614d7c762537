"""systemd/install.sh in a throw-away Debian root (debootstrap + chroot).

One fresh minimal Debian 12 is made per run, and the kiosk and the collector are
each installed over it once, as overlay layers; every test then gets its own root
over those layers. Each is installed twice (the second run must change nothing), the
unit files are verified with systemd-analyze, and uninstall keeps the data.
The installed binaries are started as their service users would start them: the
kiosk simulates a queue day and draws its home screen under Xvfb, the collector
serves its admin login page and style sheet on loopback.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from deployhelp import free_port, http_get, wait_for_health, wait_for_home
from processes import stop_process
from xvfb import Xvfb

REPO = Path(__file__).resolve().parent.parent.parent
UNITS = [
    "kiosk.service",
    "kiosk-host.service",
    "kiosk-collector.service",
    "kiosk-collector-backup.service",
    "kiosk-collector-backup.timer",
]
VENV_BIN = "/opt/counter-kiosk/venv/bin"

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


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "KIOSK_", "KIVY_", "SDL_"))
    }
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env.update(extra)
    return env


def _chroot(root: Path, *cmd: str, check=True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(["chroot", str(root), *cmd], capture_output=True, text=True, env=env or _env(), timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


# Session-scoped, not module-scoped: under pytest-xdist the deploy group's worker also runs other
# tests between these, and a module fixture is torn down whenever the next test is another module's,
# so the Debian root and its layers (minutes each) were built again mid-run.
@pytest.fixture(scope="session")
def debian(tmp_path_factory) -> Path:
    """A fresh minimal Debian 12 with this tree in /opt/src: the bottom layer every test's root stands on."""
    if not shutil.which("debootstrap"):
        pytest.fail("debootstrap is not installed: ./dev.sh setup installs it")
    root = tmp_path_factory.mktemp("debian-root")
    root.chmod(0o755)  # it becomes "/", which the kiosk and collector users must traverse (pytest makes it 0700)
    subprocess.run(
        ["debootstrap", "--variant=minbase", "bookworm", str(root), _mirror()],
        check=True,
        capture_output=True,
        timeout=900,
    )
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
    # What git tracks plus new files it does not ignore: the tree as it stands, without build leftovers.
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, files.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            dest = root / "opt/src" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def _overlay(work: Path, lowers: list[Path]):
    """A root whose changes go to ``work/upper`` over read-only ``lowers`` (top first), with /proc mounted.

    Each test gets its own root this way in a fraction of a second, so no test sees another's changes,
    while the slow steps (debootstrap, the first installs) run once per session as layers.
    """
    upper, scratch, merged = work / "upper", work / "scratch", work / "root"
    for folder in (upper, scratch, merged):
        folder.mkdir(parents=True)
    subprocess.run(
        [
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            f"lowerdir={':'.join(map(str, lowers))},upperdir={upper},workdir={scratch}",
            str(merged),
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(["mount", "-t", "proc", "proc", str(merged / "proc")], check=True)
        try:
            yield merged
        finally:
            subprocess.run(["umount", "-l", str(merged / "proc")])
    finally:
        subprocess.run(["umount", "-l", str(merged)])


def _layer(tmp_path_factory, name: str, lowers: list[Path], *install_args: str) -> tuple[Path, str]:
    """Run install.sh once over ``lowers``; its changes become a layer. (layer, the installer's stdout)."""
    work = tmp_path_factory.mktemp(name)
    with _overlay(work, lowers) as root:
        first = _chroot(root, "/opt/src/systemd/install.sh", *install_args)
    return work / "upper", first.stdout


@pytest.fixture(scope="session")
def kiosk_layer(debian, tmp_path_factory) -> tuple[Path, str]:
    return _layer(tmp_path_factory, "kiosk-layer", [debian])


@pytest.fixture(scope="session")
def collector_layer(debian, tmp_path_factory) -> tuple[Path, str]:
    return _layer(tmp_path_factory, "collector-layer", [debian], "--collector")


@pytest.fixture
def kiosk_root(debian, kiosk_layer, tmp_path):
    """This test's own Debian with the kiosk installed."""
    with _overlay(tmp_path / "overlay", [kiosk_layer[0], debian]) as root:
        yield root


@pytest.fixture
def collector_root(debian, collector_layer, tmp_path):
    """This test's own Debian with the collector installed."""
    with _overlay(tmp_path / "overlay", [collector_layer[0], debian]) as root:
        yield root


def _manifest(root: Path) -> dict[str, tuple]:
    """Every file the installer may touch, with owner, mode and content hash."""
    out = {}
    for top in (
        "etc/counter-kiosk",
        "etc/systemd/system",
        "etc/udev/rules.d",
        "opt/counter-kiosk",
        "var/lib/counter-kiosk",
        "var/lib/counter-kiosk-collector",
    ):
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
        result = subprocess.run(
            ["systemd-analyze", "verify", f"--root={root}", f"/etc/systemd/system/{unit}"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{unit}: {result.stderr}"


def _as_user(user: str, *cmd: str) -> list[str]:
    """``cmd`` as ``user``, exec'd in place (as systemd's User= would, and signals reach it directly)."""
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *cmd]


def _start_installed_kiosk(root: Path) -> None:
    """The installed `kiosk` as its user: a simulated queue day, then `kiosk run --demo` up to its home screen."""
    env = _env(HOME="/var/lib/counter-kiosk")
    sim = _chroot(
        root,
        *_as_user(
            "kiosk",
            f"{VENV_BIN}/kiosk",
            "simulate",
            "--queue-days",
            "1",
            "--seed",
            "1",
            "--data-dir",
            "/tmp/kiosk-simulate",
        ),
        env=env,
    )
    assert "simulated 1 office days" in sim.stdout, sim.stdout + sim.stderr
    if not shutil.which("Xvfb"):
        pytest.fail("Xvfb is not installed: ./dev.sh setup installs it")
    log = root / "tmp/kiosk-demo.log"
    with Xvfb(800, 480) as xvfb, open(log, "wb") as out:
        # The chroot shares this machine's network namespace, so the X server's abstract socket reaches it.
        proc = subprocess.Popen(
            [
                "chroot",
                str(root),
                *_as_user(
                    "kiosk",
                    f"{VENV_BIN}/kiosk",
                    "run",
                    "--demo",
                    "--size",
                    "800x480",
                    "--config",
                    "/etc/counter-kiosk/kiosk.toml",
                    "--data-dir",
                    "/tmp/kiosk-demo",
                ),
            ],
            env={**env, "DISPLAY": xvfb.display, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_for_home(proc, log, timeout=120)
        finally:
            code = stop_process(proc, grace=20)  # SIGTERM, as systemd stops a unit
    text = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0 and "Traceback" not in text, f"exit {code}:\n{text[-4000:]}"


def _start_installed_collector(root: Path) -> None:
    """The installed `kiosk-collector serve` as its user, on loopback: the admin login page and its style sheet."""
    port = free_port()
    log = root / "tmp/collector.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                "chroot",
                str(root),
                *_as_user(
                    "kiosk-collector",
                    f"{VENV_BIN}/kiosk-collector",
                    "serve",
                    "--db",
                    "/tmp/collector-check/collector.db",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-access-log",
                ),
            ],
            env=_env(HOME="/var/lib/counter-kiosk-collector"),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(proc, base, log)
        status, kind, body = http_get(f"{base}/admin/login")
        assert status == 200 and "<form" in body and 'type="password"' in body, f"{status}:\n{log.read_text()[-4000:]}"
        status, kind, _ = http_get(f"{base}/admin/static/admin.css")
        assert status == 200 and "text/css" in kind, (status, kind)
    finally:
        stop_process(proc, grace=20)


def test_kiosk_install_then_again_changes_nothing(kiosk_layer, kiosk_root):
    root = kiosk_root
    assert "enabled kiosk.service" in kiosk_layer[1]

    groups = _chroot(root, "id", "-nG", "kiosk").stdout.split()
    assert {"kiosk", "gpio", "video", "input", "render"} <= set(groups)
    data = root / "var/lib/counter-kiosk"
    assert stat.S_IMODE(data.stat().st_mode) == 0o750
    assert _chroot(root, "stat", "-c", "%U", "/var/lib/counter-kiosk").stdout.strip() == "kiosk"
    config = (root / "etc/counter-kiosk/kiosk.toml").read_text()
    assert re.search(r'^id = ""', config, re.M), "a kiosk id must not be baked into the image"
    secrets = root / "etc/counter-kiosk/secrets.env"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o640
    # The config holds the staff PIN's hash: root and the kiosk's group only.
    assert stat.S_IMODE((root / "etc/counter-kiosk/kiosk.toml").stat().st_mode) == 0o640
    assert _chroot(root, "stat", "-c", "%U:%G", "/etc/counter-kiosk/kiosk.toml").stdout.strip() == "root:kiosk"
    assert (root / "etc/systemd/system/kiosk.service").read_bytes() == (REPO / "systemd/kiosk.service").read_bytes()
    assert (root / "etc/systemd/system/multi-user.target.wants/kiosk.service").is_symlink()
    _chroot(root, "/opt/counter-kiosk/venv/bin/kiosk", "check-config", "--config", "/etc/counter-kiosk/kiosk.toml")
    # The installed (non-editable) kiosk finds its chime and demo directory.
    found = _chroot(
        root,
        "/opt/counter-kiosk/venv/bin/python",
        "-c",
        "import kiosk.chime, kiosk.directory; print(kiosk.chime.CHIME_PATH.is_file(),"
        " kiosk.directory.bundled_path().is_file())",
    ).stdout.split()
    assert found == ["True", "True"], found
    _start_installed_kiosk(root)
    _verify_units(root, ["kiosk.service", "kiosk-host.service"])
    # Installed beside the kiosk, enabled only on the office's one queue host.
    assert not (root / "etc/systemd/system/multi-user.target.wants/kiosk-host.service").exists()
    rule = root / "etc/udev/rules.d/60-counter-kiosk-backlight.rules"
    assert rule.read_bytes() == (REPO / "systemd/60-counter-kiosk-backlight.rules").read_bytes()

    before = _manifest(root)
    second = _chroot(root, "/opt/src/systemd/install.sh")
    assert "nothing to change" in second.stdout
    assert _manifest(root) == before


def test_an_edited_config_survives_a_reinstall(kiosk_root):
    root = kiosk_root
    config = root / "etc/counter-kiosk/kiosk.toml"
    edited = config.read_text().replace('window = "1"', 'window = "7"')
    config.write_text(edited)
    _chroot(root, "/opt/src/systemd/install.sh")
    assert config.read_text() == edited


def test_an_invalid_config_stops_the_upgrade_before_any_restart(kiosk_root):
    root = kiosk_root
    config = root / "etc/counter-kiosk/kiosk.toml"
    good = config.read_text()
    config.write_text(good.replace("rotation = 0", "rotation = 45"))
    try:
        result = _chroot(root, "/opt/src/systemd/install.sh", check=False)
        assert result.returncode != 0
        assert "rotation" in result.stderr and "not restarted" in result.stderr
    finally:
        config.write_text(good)


def test_collector_install_then_again_changes_nothing(collector_layer, collector_root):
    root = collector_root
    assert "enabled kiosk-collector.service" in collector_layer[1]
    assert (root / "etc/systemd/system/timers.target.wants/kiosk-collector-backup.timer").is_symlink()
    _chroot(root, "/opt/counter-kiosk/venv/bin/kiosk-collector", "--help")
    _chroot(root, "install", "-d", "-o", "kiosk-collector", "/tmp/collector-check")
    _start_installed_collector(root)
    # The self-evaluation PDF needs Pango and a CJK font from apt, not only pip.
    pdf = _chroot(
        root,
        "/opt/counter-kiosk/venv/bin/python",
        "-c",
        "import sys, weasyprint; sys.stdout.buffer.write("
        "weasyprint.HTML(string='<p>嘉義市選舉委員會 年度自評</p>').write_pdf()[:5])",
    ).stdout
    assert pdf == "%PDF-"
    _verify_units(root, [unit for unit in UNITS if unit not in ("kiosk.service", "kiosk-host.service")])
    before = _manifest(root)
    second = _chroot(root, "/opt/src/systemd/install.sh", "--collector")
    assert "nothing to change" in second.stdout
    assert _manifest(root) == before


def test_uninstall_keeps_data_and_config(kiosk_root):
    root = kiosk_root
    _chroot(root, "/opt/src/systemd/install.sh", "--collector")  # both on one machine, sharing the venv
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
