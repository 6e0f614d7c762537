#!/usr/bin/env bash
# Install, upgrade or remove the counter kiosk on Raspberry Pi OS Bookworm 64-bit
# (or Debian 12). Run from a clone of the repository, as root:
#
#   sudo systemd/install.sh                 the kiosk (at a service window)
#   sudo systemd/install.sh --collector     the central collector (on a server)
#   sudo systemd/install.sh --uninstall     remove programs and units; keep data and config
#   sudo systemd/install.sh --uninstall --purge   also remove data, config and users
#
# Safe to run again: a second run changes nothing that is already in place, and
# never overwrites a config file, a secret or recorded data. An upgrade (a run
# from a newer clone) validates the config before it restarts anything.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${KIOSK_PREFIX:-/opt/counter-kiosk}
VENV=$PREFIX/venv
ETC=/etc/counter-kiosk
UNITS=/etc/systemd/system
ROLE=kiosk
ACTION=install
PURGE=no

for arg in "$@"; do
  case "$arg" in
    --collector) ROLE=collector ;;
    --uninstall) ACTION=uninstall ;;
    --purge) PURGE=yes ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: 請以 root 執行 run as root: sudo $0 $*" >&2
  exit 1
fi

say() { printf '==> %s\n' "$*"; }
changed=0
note_change() { changed=1; say "$*"; }

# systemctl talks to a running systemd; in a chroot or image build there is none,
# and enabling then only means creating the [Install] symlinks, which it does offline.
have_systemd() { [ -d /run/systemd/system ]; }

if [ "$ROLE" = kiosk ]; then
  USER_NAME=kiosk
  DATA=/var/lib/counter-kiosk
  GROUPS_WANTED=(gpio video input render)
  # kiosk-host.service: the office's queue host, enabled by hand on the one device that holds it.
  UNIT_FILES=(kiosk.service kiosk-host.service)
  APT=(python3 python3-venv fonts-noto-cjk libgl1 libegl1 libgles2 libmtdev1 libsdl2-2.0-0 systemd sqlite3)
  EXTRA=pi,host
else
  USER_NAME=kiosk-collector
  DATA=/var/lib/counter-kiosk-collector
  GROUPS_WANTED=()
  UNIT_FILES=(kiosk-collector.service kiosk-collector-backup.service kiosk-collector-backup.timer)
  # Pango and the CJK font: the self-evaluation PDF (WeasyPrint) prints Chinese.
  APT=(python3 python3-venv systemd sqlite3 libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-noto-cjk)
  EXTRA=collector
fi

uninstall() {
  for unit in "${UNIT_FILES[@]}"; do
    if [ -e "$UNITS/$unit" ]; then
      if have_systemd; then systemctl disable --now "$unit" || true; else systemctl disable "$unit" || true; fi
      rm -f "$UNITS/$unit"
      note_change "removed unit $unit"
    fi
  done
  have_systemd && systemctl daemon-reload || true
  # Kiosk and collector share the venv: keep it while the other role is installed.
  local other=kiosk-collector.service
  [ "$ROLE" = collector ] && other=kiosk.service
  if [ -d "$PREFIX" ] && [ ! -e "$UNITS/$other" ]; then rm -rf "$PREFIX"; note_change "removed $PREFIX"; fi
  [ "$ROLE" = kiosk ] && rm -f /etc/udev/rules.d/60-counter-kiosk-backlight.rules
  if [ "$PURGE" = yes ]; then
    rm -rf "$DATA" "$ETC"
    if id "$USER_NAME" >/dev/null 2>&1; then userdel "$USER_NAME"; fi
    note_change "purged data ($DATA), config ($ETC) and user $USER_NAME"
  else
    say "kept data in $DATA and config in $ETC (add --purge to remove them)"
  fi
}

install_apt() {
  local missing=() pkg
  for pkg in "${APT[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  # gpiozero's pin factory on Bookworm; Raspberry Pi OS has it, plain Debian does not.
  if [ "$ROLE" = kiosk ] && apt-cache show python3-lgpio >/dev/null 2>&1 &&
     ! dpkg-query -W -f='${Status}' python3-lgpio 2>/dev/null | grep -q "install ok installed"; then
    missing+=(python3-lgpio)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    note_change "apt: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

install_user() {
  local group
  for group in "${GROUPS_WANTED[@]}"; do
    getent group "$group" >/dev/null || { groupadd --system "$group"; note_change "created group $group"; }
  done
  if ! id "$USER_NAME" >/dev/null 2>&1; then
    useradd --system --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
    note_change "created user $USER_NAME"
  fi
  for group in "${GROUPS_WANTED[@]}"; do
    id -nG "$USER_NAME" | tr ' ' '\n' | grep -qx "$group" || { usermod -aG "$group" "$USER_NAME"; note_change "added $USER_NAME to $group"; }
  done
}

install_dirs() {
  install -d -m 0750 -o "$USER_NAME" -g "$USER_NAME" "$DATA"
  install -d -m 0755 "$ETC"
  if [ "$ROLE" = kiosk ]; then
    if [ ! -e "$ETC/secrets.env" ]; then
      printf '# KIOSK_SYNC_TOKEN=the token printed by kiosk-collector add-kiosk\n' > "$ETC/secrets.env"
      chown "root:$USER_NAME" "$ETC/secrets.env"
      chmod 0640 "$ETC/secrets.env"
      note_change "wrote $ETC/secrets.env (put the sync token there)"
    fi
  fi
}

install_venv() {
  local stamp want
  # The installed version is identified by the source tree's content, so a run
  # from the same clone skips pip entirely.
  want=$(cd "$SRC" && find pyproject.toml kiosk server_sync assets -type f -not -path '*/__pycache__/*' -print0 |
         sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  stamp=$PREFIX/installed-$EXTRA-$want
  if [ -e "$stamp" ]; then return; fi
  [ -x "$VENV/bin/python" ] || { python3 -m venv --system-site-packages "$VENV"; note_change "created $VENV"; }
  # The chime, the demo directory, the config template and the admin pages are package data.
  "$VENV/bin/pip" install -q --disable-pip-version-check "$SRC[$EXTRA]"
  rm -rf "$PREFIX/assets"  # the copy an older install.sh made; the package holds them now
  rm -f "$PREFIX"/installed-"$EXTRA"-*
  touch "$stamp"
  note_change "installed counter-kiosk into $VENV"
}

install_config() {
  [ "$ROLE" = kiosk ] || return 0
  if [ ! -e "$ETC/kiosk.toml" ]; then
    # From the installed package's example. No kiosk.id here: each kiosk makes its own
    # on first start, so a cloned SD card image never carries another kiosk's identity.
    "$VENV/bin/kiosk" example-config |
      sed -e 's/^id = "chiayi-ec-w1".*$/id = ""                                # empty: made on first start/' \
      > "$ETC/kiosk.toml.new"
    chown "root:$USER_NAME" "$ETC/kiosk.toml.new"
    chmod 0640 "$ETC/kiosk.toml.new"
    mv "$ETC/kiosk.toml.new" "$ETC/kiosk.toml"
    note_change "wrote $ETC/kiosk.toml from the template: edit office, unit, window and [sync] url"
  fi
  # The config holds the staff PIN's hash (kiosk set-staff-pin): the kiosk's group reads it, others don't.
  # An older install wrote it 0644 root:root; mend that once.
  if [ "$(stat -c '%U:%G %a' "$ETC/kiosk.toml")" != "root:$USER_NAME 640" ]; then
    chown "root:$USER_NAME" "$ETC/kiosk.toml"
    chmod 0640 "$ETC/kiosk.toml"
    note_change "made $ETC/kiosk.toml readable only by root and the $USER_NAME group"
  fi
}

install_units() {
  local unit
  for unit in "${UNIT_FILES[@]}"; do
    if ! cmp -s "$SRC/systemd/$unit" "$UNITS/$unit"; then
      install -m 0644 "$SRC/systemd/$unit" "$UNITS/$unit"
      note_change "installed unit $unit"
    fi
  done
  have_systemd && systemctl daemon-reload
  for unit in "${UNIT_FILES[@]}"; do
    # The backup is started by its timer; the queue host only where an office chose it (docs/queue.md).
    case "$unit" in kiosk-collector-backup.service | kiosk-host.service) continue ;; esac
    systemctl is-enabled --quiet "$unit" 2>/dev/null || { systemctl enable --quiet "$unit"; note_change "enabled $unit"; }
  done
}

install_udev() {
  [ "$ROLE" = kiosk ] || return 0
  local rule=60-counter-kiosk-backlight.rules
  if ! cmp -s "$SRC/systemd/$rule" "/etc/udev/rules.d/$rule"; then
    install -D -m 0644 "$SRC/systemd/$rule" "/etc/udev/rules.d/$rule"
    note_change "installed udev rule $rule (backlight off outside office hours)"
  fi
}

check_config() {
  [ "$ROLE" = kiosk ] || return 0
  # Never restart into a config that would stop start-up: the running kiosk keeps
  # going on its old code until the file is fixed and install.sh runs again.
  if ! "$VENV/bin/kiosk" check-config --config "$ETC/kiosk.toml"; then
    echo "install.sh: 設定檔有誤，未重新啟動評分機 $ETC/kiosk.toml is invalid (above): fix it, then run install.sh again; the kiosk was not restarted" >&2
    exit 1
  fi
}

restart_if_running() {
  have_systemd || return 0
  if [ "$ROLE" = kiosk ]; then
    systemctl try-restart kiosk.service
  else
    systemctl try-restart kiosk-collector.service
  fi
}

if [ "$ACTION" = uninstall ]; then
  uninstall
else
  install_apt
  install_user
  install_dirs
  install_venv
  install_config
  install_units
  install_udev
  check_config
  [ "$changed" = 1 ] && restart_if_running
  if [ "$changed" = 0 ]; then say "nothing to change 已是最新"; fi
fi
