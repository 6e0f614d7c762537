#!/usr/bin/env bash
# Developer entry point for a fresh Debian or Raspberry Pi OS machine.
#   ./dev.sh demo   kiosk with simulated buttons plus a local collector
#   ./dev.sh test   the checks (ruff, mypy, import contracts), then the whole test suite in random
#                   order, then again with the clock a month ahead
#   ./dev.sh test ARGS  only pytest ARGS (one pass, random order), e.g. ./dev.sh test tests/test_flow.py
#   ./dev.sh test-shifted ARGS  pytest ARGS with the clock a month ahead (to replay a pass-2 failure)
#   ./dev.sh check  only the checks the test command starts with: ruff, mypy, import contracts
#   ./dev.sh setup  only install what the other two need
# Safe to run again: apt only installs what is missing; the venv is reused.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(python3 python3-venv python3-dev build-essential
  xvfb xauth x11-utils xdotool imagemagick fonts-noto-cjk
  libgl1 libegl1 libmtdev1 chromium chromium-driver sqlite3 curl
  debootstrap systemd util-linux libpango-1.0-0 libpangoft2-1.0-0 fontconfig poppler-utils faketime fuse3
  libreoffice-calc libreoffice-writer espeak-ng)
VENV=${KIOSK_VENV:-.venv}
# How far ahead the clock-shifted pass puts the wall clock: past month ends, past "last 24 h".
CLOCK_SHIFT=+31d
SLEEP_FIX="$VENV/lib/faketime-monotonic-sleep.so"
# What the clock-shifted pass runs (the reasons are at pass 2 below).
SHIFTED="not deploy and not browser and not gui and not dateless"
# Both passes spread over pytest-xdist workers, one per CI core by default; most tests wait on
# a subprocess, a window or a socket, so two workers nearly halve the wall time. The deploy
# tests stay together on one worker (tests/conftest.py groups them).
WORKERS=(-n "${KIOSK_TEST_WORKERS:-2}" --dist loadgroup)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_apt() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> apt: installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

install_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtualenv $VENV"
    python3 -m venv "$VENV"
  fi
  # Reinstall only when pyproject.toml changed since the last install.
  local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "==> pip: installing the project and its test dependencies"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e '.[test]'
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
}

# Debian's libfaketime breaks Python's time.sleep when the monotonic clock is left real
# (tests/faketime_monotonic_sleep.c says why); this preload goes in front of it.
build_sleep_fix() {
  local src=tests/faketime_monotonic_sleep.c
  if [ ! -f "$SLEEP_FIX" ] || [ "$src" -nt "$SLEEP_FIX" ]; then
    gcc -shared -fPIC -O2 -o "$SLEEP_FIX" "$src" -ldl
  fi
}

# axe-core checks the admin pages' accessibility in the browser tests (tests/admin/test_admin_browser.py
# injects it into every page); npm puts it inside the venv, where the tests look for it. Debian's
# nodejs and npm only when there is no npm at all: a machine with NodeSource's node has its npm.
AXE_CORE_VERSION=4.14.1
install_axe() {
  local pkg="$VENV/node/node_modules/axe-core/package.json"
  if ! command -v npm >/dev/null; then
    echo "==> apt: installing nodejs npm"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  if ! grep -q "\"version\": \"$AXE_CORE_VERSION\"" "$pkg" 2>/dev/null; then
    echo "==> npm: installing axe-core $AXE_CORE_VERSION into $VENV/node"
    npm install --prefix "$VENV/node" --no-audit --no-fund --silent "axe-core@$AXE_CORE_VERSION"
  fi
}

setup() { install_apt; install_python; install_axe; build_sleep_fix; }

# Every process the tests start (collectors, kiosks, Chromium) inherits the shifted wall clock;
# monotonic time stays real, so timeouts and rate limits behave as they do on any day.
clock_shifted() {
  LD_PRELOAD="$(realpath "$SLEEP_FIX")${LD_PRELOAD:+:$LD_PRELOAD}" FAKETIME_DONT_FAKE_MONOTONIC=1 \
    faketime -f "$CLOCK_SHIFT" "$@"
}

# Lint, format, types and the import contracts (settings in pyproject.toml; .pre-commit-config.yaml runs the same).
checks() {
  local status=0
  echo "==> checks: ruff, mypy, import contracts"
  "$VENV/bin/ruff" check --no-cache . || status=$?
  "$VENV/bin/ruff" format --no-cache --check . || status=$?
  "$VENV/bin/mypy" || status=$?
  "$VENV/bin/lint-imports" || status=$?
  return "$status"
}

case "${1:-}" in
  setup) setup ;;
  check)
    setup
    checks
    ;;
  test)
    setup
    shift
    # pytest exits 5 when it collected no tests; that is a failure here, as is any other non-zero.
    # pytest-randomly shuffles the order and prints "Using --randomly-seed=N": pass
    # `-p randomly --randomly-seed=N` to replay a failing order.
    if [ $# -gt 0 ]; then
      exec "$VENV/bin/python" -m pytest "$@"
    fi
    status=0
    checks || status=$?
    echo "==> pass 1: the whole suite, random order"
    "$VENV/bin/python" -m pytest "${WORKERS[@]}" || status=$?
    # The clock-shifted pass leaves out two kinds of test. The deploy tests build wheels and
    # Debian roots: nothing in them reads the date, and they would double the run's time.
    # Chromium under libfaketime 0.9.10 takes 30-60 s to start a page (1 s without) and the
    # tests' Playwright calls time out, so the browser tests run in pass 1 only; the figures
    # and dates on their pages come from the collector, which pass 2 covers. The Kivy GUI
    # tests drive screens whose dates come from the kiosk's core (queue day, case dates,
    # office hours), which pass 2 covers without a window; leaving them out keeps the whole
    # command inside CI's 15 minutes. So does leaving out the tests marked dateless, whose checks
    # cannot depend on the date (fuzzing the API, crash and power-cut safety, the watchdog).
    echo "==> pass 2: the clock $CLOCK_SHIFT ahead ($(clock_shifted date -Iseconds)), random order"
    clock_shifted "$VENV/bin/python" -m pytest "${WORKERS[@]}" -m "$SHIFTED" || status=$?
    exit "$status"
    ;;
  test-shifted)
    setup
    shift
    [ $# -gt 0 ] || set -- -m "$SHIFTED"
    clock_shifted "$VENV/bin/python" -m pytest "$@"
    ;;
  demo)
    setup
    shift
    exec "$VENV/bin/python" -m kiosk.demo "$@"
    ;;
  *)
    echo "usage: ./dev.sh demo | test [pytest args] | test-shifted [pytest args] | check | setup" >&2
    exit 2
    ;;
esac
