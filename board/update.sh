#!/usr/bin/env bash
# Updates an installed mfp-gateway to a new release bundle, and rolls back if the new
# release fails its first health check:
#
#   sudo /opt/mfp-gateway/current/board/update.sh mfp-gateway-0.2.0-linux-arm64.tar.gz
#
# 1. checks the tarball against its .sha256 (when it lies beside it),
# 2. unpacks it beside the running release under PREFIX/releases/VERSION,
# 3. installs it with its own board/install.sh (switches `current`, refreshes the unit),
# 4. restarts the service and waits until it is active with at least one push line up,
# 5. if it is not within --health-timeout: switches `current` back, reinstalls the old
#    release the same way, restarts it, and exits 1,
# 6. otherwise removes older releases, keeping the one before for a manual rollback.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: update.sh BUNDLE.tar.gz [--prefix DIR] [--health-timeout SECONDS]
EOF
}

PREFIX=/opt/mfp-gateway
HEALTH_TIMEOUT=120
TARBALL=""
SERVICE=mfp-gateway.service

die() {
  echo "update.sh: $*" >&2
  exit 1
}
say() { echo "update.sh: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift 2 ;;
    --health-timeout) HEALTH_TIMEOUT="${2:?--health-timeout needs seconds}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option: $1" ;;
    *) TARBALL="$1"; shift ;;
  esac
done

[ -n "$TARBALL" ] || { usage >&2; die "name the bundle tarball to install"; }
[ -f "$TARBALL" ] || die "no such file: $TARBALL"
[ "$(id -u)" -eq 0 ] || die "run as root (sudo)"
[ -L "$PREFIX/current" ] || die "no installed release at $PREFIX/current; install one first with board/install.sh"
case "$HEALTH_TIMEOUT" in '' | *[!0-9]*) die "--health-timeout must be a number of seconds" ;; esac

if [ -f "$TARBALL.sha256" ]; then
  (cd "$(dirname "$TARBALL")" && sha256sum --check --quiet "$(basename "$TARBALL").sha256") ||
    die "$TARBALL does not match its checksum; copy it again"
  say "checksum ok"
else
  say "no $TARBALL.sha256 beside the bundle: not checking its checksum"
fi

previous="$(readlink "$PREFIX/current")"
incoming="$(mktemp -d "$PREFIX/releases/.incoming.XXXXXX")"
trap 'rm -rf "$incoming"' EXIT
tar -xzf "$TARBALL" -C "$incoming"
bundle="$(find "$incoming" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
[ -f "$bundle/VERSION" ] || die "$TARBALL is not a release bundle (no VERSION file)"
version="$(cat "$bundle/VERSION")"
if [ "$previous" = "releases/$version" ]; then
  say "mfp-gateway $version is already the current release"
  exit 0
fi
rm -rf "$PREFIX/releases/$version"
mv "$bundle" "$PREFIX/releases/$version"

# Healthy: the unit is active (systemd saw READY=1) and its status line says at least one
# push line is up. Systemd restarting it in between counts as a failure.
healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT)) restarts state status
  restarts="$(systemctl show --property=NRestarts --value "$SERVICE")"
  while [ "$SECONDS" -lt "$deadline" ]; do
    state="$(systemctl show --property=ActiveState --value "$SERVICE")"
    status="$(systemctl show --property=StatusText --value "$SERVICE")"
    if [ "$(systemctl show --property=NRestarts --value "$SERVICE")" != "$restarts" ]; then
      say "the service restarted: $status"
      return 1
    fi
    case "$state" in failed | inactive)
      say "the service is $state"
      return 1
      ;;
    esac
    if [ "$state" = active ] && [[ "$status" =~ ^[1-9][0-9]*/[0-9]+\ push\ lines\ up ]]; then
      say "healthy: $status"
      return 0
    fi
    sleep 2
  done
  say "not healthy within ${HEALTH_TIMEOUT}s (state: ${state:-unknown}, status: ${status:-none})"
  return 1
}

switch_to() {
  "$PREFIX/$1/board/install.sh" --prefix "$PREFIX" --bundle "$PREFIX/$1" --no-start
  systemctl restart "$SERVICE"
}

say "switching from ${previous#releases/} to $version"
switch_to "releases/$version"
if ! healthy; then
  say "rolling back to ${previous#releases/}"
  switch_to "$previous"
  journalctl --unit="$SERVICE" --lines=30 --no-pager >&2 || true
  die "mfp-gateway $version failed its health check; ${previous#releases/} runs again (its log is above)"
fi

for old in "$PREFIX"/releases/*; do
  case "releases/${old##*/}" in "releases/$version" | "$previous") ;; *)
    say "removing old release ${old##*/}"
    rm -rf "$old"
    ;;
  esac
done
say "mfp-gateway $version is running"
