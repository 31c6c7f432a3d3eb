#!/usr/bin/env bash
# Turns Raspberry Pi OS Lite / Debian (arm64 or x64) into an mfp-gateway appliance, from an
# unpacked release bundle (npm run bundle): the app with its own Node runtime, the service
# user, the systemd unit, udev rules for USB-serial adapters, the UART and the hardware
# watchdog in config.txt, journald settings that spare the SD card. Downloads nothing.
#
#   sudo ./board/install.sh                 # on the board, from the unpacked bundle
#   sudo ./board/install.sh --root DIR      # into a directory tree (image builds, tests)
#   sudo ./board/install.sh --uninstall [--purge]
#
# Idempotent: running it again with the same bundle changes nothing, not even a file's
# time, and restarts nothing; the service is restarted only when something it uses changed.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: install.sh [--root DIR] [--prefix DIR] [--bundle DIR] [--journal volatile|persistent]
                  [--with-cloud] [--no-start] [--uninstall [--purge]]

  --root DIR        install into the tree at DIR (a mounted image, a test directory, or an
                    empty directory, which gets the few files it needs: etc/passwd…);
                    nothing on the running system is touched, no service is started
  --prefix DIR      where releases live (default /opt/mfp-gateway)
  --bundle DIR      the unpacked release bundle (default: the bundle this script is in)
  --journal MODE    volatile (default): logs in RAM only, lost at reboot, no SD card wear;
                    persistent: kept on the SD card, capped at 64 MB
  --with-cloud      also install the reference cloud unit (mfp-gateway-cloud.service)
  --no-start        enable the service but do not (re)start it now
  --uninstall       remove the app, units and system settings; keeps config, state, user
  --purge           with --uninstall: also remove /etc/mfp-gateway, /var/lib/mfp-gateway
                    and the mfp-gateway user
EOF
}

ROOT=""
PREFIX=/opt/mfp-gateway
BUNDLE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOURNAL=volatile
WITH_CLOUD=0
START=1
UNINSTALL=0
PURGE=0

SERVICE_USER=mfp-gateway
CLOUD_USER=mfp-cloud
MARK_BEGIN="# >>> mfp-gateway (board/install.sh) >>>"
MARK_END="# <<< mfp-gateway <<<"

# Set by every step that changed the tree: the service restarts only then.
CHANGED=0
changed() { CHANGED=1; }

die() {
  echo "install.sh: $*" >&2
  exit 1
}
say() { echo "install.sh: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift 2 ;;
    --bundle) BUNDLE="${2:?--bundle needs a directory}"; shift 2 ;;
    --journal) JOURNAL="${2:?--journal needs volatile or persistent}"; shift 2 ;;
    --with-cloud) WITH_CLOUD=1; shift ;;
    --no-start) START=0; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

case "$JOURNAL" in volatile | persistent) ;; *) die "--journal must be volatile or persistent, not $JOURNAL" ;; esac
case "$PREFIX" in / | */) die "--prefix must name a directory of its own, without a trailing slash, not $PREFIX" ;; /*) ;; *) die "--prefix must be an absolute path, not $PREFIX" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root (sudo), so the service user and system files can be created"
if [ -n "$ROOT" ]; then
  [ -d "$ROOT" ] || die "--root $ROOT does not exist: give the root of a Debian or Raspberry Pi OS tree, or an empty directory"
  ROOT="$(cd "$ROOT" && pwd)"
fi

UNIT_DIR="$ROOT/etc/systemd/system"
WANTS_DIR="$UNIT_DIR/multi-user.target.wants"
UDEV_RULE="$ROOT/etc/udev/rules.d/99-mfp-gateway-serial.rules"
MODULES_CONF="$ROOT/etc/modules-load.d/mfp-gateway.conf"
JOURNALD_CONF="$ROOT/etc/systemd/journald.conf.d/mfp-gateway.conf"
WATCHDOG_CONF="$ROOT/etc/systemd/system.conf.d/mfp-gateway-watchdog.conf"
CONFIG_DIR="$ROOT/etc/mfp-gateway"
STATE_DIR="$ROOT/var/lib/mfp-gateway"
CLI_LINK="$ROOT/usr/local/bin/mfp-gateway"

# Runs systemctl/udevadm on the live system only; an image or test tree has no manager.
live() { [ -z "$ROOT" ]; }

# The Raspberry Pi firmware config: /boot/firmware since bookworm, /boot before.
config_txt() {
  local f
  for f in "$ROOT/boot/firmware/config.txt" "$ROOT/boot/config.txt"; do
    if [ -f "$f" ]; then
      echo "$f"
      return
    fi
  done
}

# Writes stdin to a file only when the content differs, with the given mode (an
# unchanged file keeps its time too).
put() {
  local dest="$1" mode="$2" tmp
  mkdir -p "$(dirname "$dest")"
  tmp="$(mktemp "$dest.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
    chmod "$mode" "$dest"
    return
  fi
  mv -f "$tmp" "$dest"
  changed
}

# A symlink, replaced only when it points elsewhere.
link() {
  local target="$1" name="$2"
  [ -L "$name" ] && [ "$(readlink "$name")" = "$target" ] && return
  ln -sfn "$target" "$name.new"
  mv -fT "$name.new" "$name"
  changed
}

# config.txt without our marked block (the whole file when it has none).
without_block() {
  sed "\\|^${MARK_BEGIN}\$|,\\|^${MARK_END}\$|d" "$1"
}

# Gives config.txt our block (with "add") or takes it out, keeping the file's mode; an
# unchanged file is not rewritten.
set_config_txt() {
  local file="$1" action="$2" want
  want="$(mktemp)"
  without_block "$file" >"$want"
  # [all]: earlier lines may have opened a [pi4]-style conditional section.
  if [ "$action" = add ]; then
    printf '%s\n[all]\nenable_uart=1\ndtparam=watchdog=on\n%s\n' "$MARK_BEGIN" "$MARK_END" >>"$want"
  fi
  if cmp -s "$want" "$file"; then
    rm -f "$want"
    return
  fi
  put "$file" "$(stat -c %a "$file")" <"$want"
  rm -f "$want"
  say "$file changed: it takes effect at the next reboot"
}

# An empty --root gets what useradd and the service need of a system: the account files
# with root in them. An existing tree keeps its own.
scaffold_root() {
  [ -f "$ROOT/etc/passwd" ] && return
  say "$ROOT has no etc/passwd: laying out a minimal tree (root account, nologin shell)"
  mkdir -p "$ROOT/etc" "$ROOT/usr/sbin"
  printf 'root:x:0:0:root:/root:/bin/bash\n' >"$ROOT/etc/passwd"
  printf 'root:x:0:\ndialout:x:20:\n' >"$ROOT/etc/group"
  printf 'root:*:%s:0:99999:7:::\n' "$(($(date +%s) / 86400))" >"$ROOT/etc/shadow"
  printf 'root:*::\ndialout:*::\n' >"$ROOT/etc/gshadow"
  chmod 0644 "$ROOT/etc/passwd" "$ROOT/etc/group"
  chmod 0640 "$ROOT/etc/shadow" "$ROOT/etc/gshadow"
  [ -e "$ROOT/usr/sbin/nologin" ] || ln -s /bin/false "$ROOT/usr/sbin/nologin"
  changed
}

gid_of() { awk -F: -v g="$1" '$1 == g { print $3 }' "$ROOT/etc/group"; }

ensure_user() {
  local user="$1" home="$2"
  if grep -q "^${user}:" "$ROOT/etc/passwd"; then return; fi
  say "creating system user $user"
  useradd ${ROOT:+--root "$ROOT"} --system --user-group --no-create-home \
    --home-dir "$home" --shell /usr/sbin/nologin --comment "$user service" "$user"
  changed
}

# chown/chmod a path only when it differs (no change of ctime on a second run).
own() {
  local owner="$1" mode="$2" path="$3"
  [ "$(stat -c '%u:%g %a' "$path")" = "$owner $mode" ] && return
  chown "$owner" "$path"
  chmod "$mode" "$path"
  changed
}

install_unit() {
  local name="$1"
  sed "s|/opt/mfp-gateway/|${PREFIX}/|g" "$BUNDLE/systemd/$name" | put "$UNIT_DIR/$name" 0644
}

enable_unit() {
  local name="$1"
  if live; then
    systemctl is-enabled --quiet "$name" 2>/dev/null || { systemctl enable "$name"; changed; }
  else
    mkdir -p "$WANTS_DIR"
    link "/etc/systemd/system/$name" "$WANTS_DIR/$name"
  fi
}

do_install() {
  [ -f "$BUNDLE/VERSION" ] || die "$BUNDLE is not a release bundle (no VERSION file); build one with: npm run bundle"
  local version release
  version="$(cat "$BUNDLE/VERSION")"
  release="$ROOT$PREFIX/releases/$version"
  say "installing mfp-gateway $version into ${ROOT:-/}"
  if [ -n "$ROOT" ]; then scaffold_root; fi

  # The app: releases side by side, `current` names the one that runs (board/update.sh
  # switches and rolls back by moving this link).
  if [ "$(cd "$BUNDLE" && pwd -P)" != "$(cd "$release" 2>/dev/null && pwd -P)" ]; then
    mkdir -p "$ROOT$PREFIX/releases"
    rm -rf "$release.new"
    cp -a "$BUNDLE/." "$release.new"
    if [ -d "$release" ] && diff -r --no-dereference "$release" "$release.new" >/dev/null 2>&1; then
      rm -rf "$release.new"
    else
      rm -rf "$release"
      mv "$release.new" "$release"
      changed
    fi
  fi
  link "releases/$version" "$ROOT$PREFIX/current"
  mkdir -p "$ROOT/usr/local/bin"
  link "$PREFIX/current/bin/mfp-gateway" "$CLI_LINK"

  ensure_user "$SERVICE_USER" /var/lib/mfp-gateway
  local gid
  gid="$(gid_of "$SERVICE_USER")"
  # Config readable by root and the service only: it holds the cloud token.
  mkdir -p "$CONFIG_DIR" "$STATE_DIR"
  own "0:$gid" 750 "$CONFIG_DIR"
  put "$CONFIG_DIR/gateway.yaml.example" 0644 <"$BUNDLE/examples/gateway.yaml"
  own "$(awk -F: -v u="$SERVICE_USER" '$1 == u { print $3 }' "$ROOT/etc/passwd"):$gid" 750 "$STATE_DIR"

  install_unit mfp-gateway.service
  if [ "$WITH_CLOUD" -eq 1 ]; then
    ensure_user "$CLOUD_USER" /var/lib/mfp-cloud
    install_unit mfp-gateway-cloud.service
    mkdir -p "$ROOT/etc/mfp-cloud"
    own "0:$(gid_of "$CLOUD_USER")" 750 "$ROOT/etc/mfp-cloud"
    put "$ROOT/etc/mfp-cloud/cloud.yaml.example" 0644 <"$BUNDLE/examples/cloud.yaml"
  fi

  put "$UDEV_RULE" 0644 <"$BUNDLE/board/udev/99-mfp-gateway-serial.rules"
  # The unit's DeviceAllow=char-ttyUSB/char-ttyACM resolve when the service starts; load
  # the drivers at boot so an adapter plugged in later is still allowed.
  put "$MODULES_CONF" 0644 <<'EOF'
# mfp-gateway: USB-serial drivers loaded at boot (see DeviceAllow= in mfp-gateway.service)
usbserial
cdc_acm
EOF

  if [ "$JOURNAL" = volatile ]; then
    put "$JOURNALD_CONF" 0644 <<'EOF'
# mfp-gateway: logs in RAM only, so the SD card is not worn by them (lost at reboot).
[Journal]
Storage=volatile
RuntimeMaxUse=32M
EOF
  else
    put "$JOURNALD_CONF" 0644 <<'EOF'
# mfp-gateway: logs kept on the SD card, capped, written in batches.
[Journal]
Storage=persistent
SystemMaxUse=64M
SystemMaxFileSize=8M
SyncIntervalSec=5min
EOF
  fi

  # systemd feeds the hardware watchdog (enabled in config.txt): a hung kernel or
  # manager reboots the board. 15 s is the longest the Pi's BCM2835 watchdog allows.
  put "$WATCHDOG_CONF" 0644 <<'EOF'
# mfp-gateway: let systemd feed the hardware watchdog
[Manager]
RuntimeWatchdogSec=15s
RebootWatchdogSec=2min
EOF

  local cfg
  cfg="$(config_txt)"
  if [ -n "$cfg" ]; then
    set_config_txt "$cfg" add
  else
    say "no Raspberry Pi config.txt under ${ROOT:-/}boot: skipping the UART and watchdog lines"
  fi

  enable_unit mfp-gateway.service
  if live; then
    if [ "$CHANGED" -eq 1 ]; then
      systemctl daemon-reload
      udevadm control --reload-rules
      udevadm trigger --subsystem-match=tty --action=add
      say "journald and watchdog settings take effect at the next reboot"
    fi
    if ! { [ -f "$CONFIG_DIR/gateway.yaml" ] || [ -f "$ROOT/boot/firmware/mfp-gateway.yaml" ]; }; then
      say "enabled; put a config at /etc/mfp-gateway/gateway.yaml (see gateway.yaml.example) or" \
        "mfp-gateway.yaml on the boot partition, then: systemctl restart mfp-gateway"
    elif [ "$START" -eq 0 ]; then
      say "enabled, not (re)started (--no-start)"
    elif [ "$CHANGED" -eq 1 ] || ! systemctl is-active --quiet mfp-gateway.service; then
      systemctl restart mfp-gateway.service
      say "started; check it with: systemctl status mfp-gateway (or: mfp-gateway status)"
    else
      say "nothing changed; the running service was left alone"
    fi
  fi
  if [ "$CHANGED" -eq 1 ]; then say "done: mfp-gateway $version"; else say "done: mfp-gateway $version, nothing changed"; fi
}

do_uninstall() {
  say "uninstalling mfp-gateway from ${ROOT:-/}"
  local name
  for name in mfp-gateway.service mfp-gateway-cloud.service; do
    if live; then
      systemctl disable --now "$name" 2>/dev/null || true
    fi
    rm -f "$WANTS_DIR/$name" "$UNIT_DIR/$name"
  done
  rm -f "$UDEV_RULE" "$MODULES_CONF" "$JOURNALD_CONF" "$WATCHDOG_CONF"
  rmdir --ignore-fail-on-non-empty "$WANTS_DIR" "$(dirname "$JOURNALD_CONF")" "$(dirname "$WATCHDOG_CONF")" 2>/dev/null || true
  local cfg
  cfg="$(config_txt)"
  if [ -n "$cfg" ]; then set_config_txt "$cfg" remove; fi
  rm -rf "$ROOT$PREFIX"
  rm -f "$CLI_LINK"
  if [ "$PURGE" -eq 1 ]; then
    rm -rf "$CONFIG_DIR" "$STATE_DIR" "$ROOT/etc/mfp-cloud" "$ROOT/var/lib/mfp-cloud"
    for name in "$SERVICE_USER" "$CLOUD_USER"; do
      if grep -q "^${name}:" "$ROOT/etc/passwd"; then userdel ${ROOT:+--root "$ROOT"} "$name"; fi
    done
  else
    say "kept /etc/mfp-gateway, /var/lib/mfp-gateway and the $SERVICE_USER user (--purge removes them)"
  fi
  if live; then
    systemctl daemon-reload
    udevadm control --reload-rules
  fi
  say "done"
}

if [ "$UNINSTALL" -eq 1 ]; then do_uninstall; else do_install; fi
