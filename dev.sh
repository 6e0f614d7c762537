#!/usr/bin/env bash
# Developer entry point for a fresh Debian or Raspberry Pi OS machine.
#   ./dev.sh demo   kiosk with simulated buttons plus a local collector
#   ./dev.sh test   the whole test suite
#   ./dev.sh setup  only install what the other two need
# Safe to run again: apt only installs what is missing; the venv is reused.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(python3 python3-venv python3-dev build-essential
  xvfb xauth x11-utils xdotool imagemagick fonts-noto-cjk
  libgl1 libegl1 libmtdev1 chromium chromium-driver sqlite3 curl
  debootstrap systemd util-linux libpango-1.0-0 libpangoft2-1.0-0 fontconfig poppler-utils fuse3)
VENV=${KIOSK_VENV:-.venv}

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
    "$VENV/bin/pip" install -q -e '.[test,collector]'
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
}

setup() { install_apt; install_python; }

case "${1:-}" in
  setup) setup ;;
  test)
    setup
    shift
    # pytest exits 5 when it collected no tests; that is a failure here, as is any other non-zero.
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  demo)
    setup
    shift
    exec "$VENV/bin/python" -m kiosk.demo "$@"
    ;;
  *)
    echo "usage: ./dev.sh demo | test [pytest args] | setup" >&2
    exit 2
    ;;
esac
