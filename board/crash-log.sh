#!/bin/sh
# mfp-gateway: keeps a small crash log in the state directory, because the journal lives in
# RAM (board/install.sh's default) and is lost when the watchdog reboots the board.
# Installed as bin/mfp-gateway-crash-log; the unit runs it as root around the daemon:
#
#   crash-log.sh start   (ExecStartPre=) the box went down last time while the daemon ran
#                        (power cut, hardware watchdog reboot): say so
#   crash-log.sh stop    (ExecStopPost=) the daemon ended badly (exit status, signal,
#                        watchdog, timeout): record how, and its last log lines
#
# The log keeps the newest MFPGW_CRASH_LOG_BYTES (default 64 KiB), cut at whole lines.
set -eu

state_dir="${STATE_DIRECTORY:-/var/lib/mfp-gateway}"
log="$state_dir/crash.log"
running="$state_dir/.running"
max_bytes="${MFPGW_CRASH_LOG_BYTES:-65536}"
lines="${MFPGW_CRASH_LOG_LINES:-30}"

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# Appends stdin to the log, then keeps only its newest max_bytes (whole lines), written
# to a temporary file and renamed so that a power cut leaves the old or the new log.
append() {
  tmp="$log.tmp"
  { [ -f "$log" ] && cat "$log"; cat; } | tail -c "$max_bytes" >"$tmp"
  if [ "$(wc -c <"$tmp")" -ge "$max_bytes" ]; then
    sed -i 1d "$tmp"
  fi
  # The daemon (the state directory's owner) reads it for its diagnostics bundle.
  chown --reference="$state_dir" "$tmp" 2>/dev/null || true
  chmod 0640 "$tmp"
  sync "$tmp" 2>/dev/null || true
  mv -f "$tmp" "$log"
}

case "${1:-}" in
  start)
    if [ -f "$running" ]; then
      printf '=== %s the previous run (started %s) never stopped: the box lost power or was reset (watchdog?)\n' \
        "$(now)" "$(cat "$running")" | append
    fi
    now >"$running"
    ;;
  stop)
    rm -f "$running"
    result="${SERVICE_RESULT:-success}"
    [ "$result" = success ] && exit 0
    {
      printf '=== %s stopped: %s (%s %s)\n' "$(now)" "$result" "${EXIT_CODE:-?}" "${EXIT_STATUS:-?}"
      if [ -n "${INVOCATION_ID:-}" ]; then
        journalctl --no-pager --quiet -o short-iso -n "$lines" "_SYSTEMD_INVOCATION_ID=$INVOCATION_ID" 2>&1 || true
      fi
    } | append
    ;;
  *)
    echo "usage: $0 start|stop (run by mfp-gateway.service)" >&2
    exit 2
    ;;
esac
