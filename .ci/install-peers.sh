#!/usr/bin/env bash
# Installs the real protocol peers the tests talk to, from Debian's packages.
# Idempotent: skips apt-get when everything is already there. Needs root (CI runs as root).
set -euo pipefail

# package:file pairs; the file (a binary or a library; a glob for versioned paths) says
# whether the package is already installed.
peers=(
  "squid:/usr/sbin/squid"
  "openssl:/usr/bin/openssl"
  "cups-ipp-utils:/usr/sbin/ippeveprinter"
  "dbus:/usr/bin/dbus-daemon"
  "avahi-daemon:/usr/sbin/avahi-daemon"
  "socat:/usr/bin/socat"
  "lprng:/usr/sbin/lpd"
  "snmp:/usr/bin/snmpget"
  "snmpd:/usr/sbin/snmpd"
  "mosquitto:/usr/sbin/mosquitto"
  "systemd:/usr/bin/systemd-analyze"
  "shellcheck:/usr/bin/shellcheck"
  "python3:/usr/bin/python3"
  "passwd:/usr/sbin/useradd"
  "chromium:/usr/bin/chromium"
  "postgresql:/usr/lib/postgresql/*/bin/initdb"
  "nats-server:/usr/sbin/nats-server"
  # File servers a NAS speaks, for secure storage (test/support/file-servers.ts): OpenSSH's
  # sftp-server behind sshd, and Samba with its client smbclient, which the gateway itself uses.
  "openssh-server:/usr/sbin/sshd"
  "openssh-sftp-server:/usr/lib/openssh/sftp-server"
  "samba:/usr/sbin/smbd"
  "smbclient:/usr/bin/smbclient"
  # C compilers for the app's malloc_trim addon (board/bundle/build-native.ts): the build
  # host's, and the Pi's (arm64) cross compiler for the release bundle.
  "gcc:/usr/bin/gcc"
  "libc6-dev:/usr/include/malloc.h"
  "gcc-aarch64-linux-gnu:/usr/bin/aarch64-linux-gnu-gcc"
  "libc6-dev-arm64-cross:/usr/aarch64-linux-gnu/include/malloc.h"
  # The arm64 release bundle runs under user-mode emulation in test/board/arm64.test.ts.
  "qemu-user-static:/usr/bin/qemu-aarch64-static"
  "libc6-arm64-cross:/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"
  "libstdc++6-arm64-cross:/usr/aarch64-linux-gnu/lib/libstdc++.so.6"
)

missing=()
for entry in "${peers[@]}"; do
  pkg=${entry%%:*}
  found=no
  for bin in ${entry#*:}; do [ -e "$bin" ] && found=yes; done
  [ "$found" = yes ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-peers: all peers present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-peers: need root to install: ${missing[*]} (run: sudo bash .ci/install-peers.sh)" >&2
  exit 1
fi

echo "install-peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
