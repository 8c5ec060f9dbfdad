#!/usr/bin/env bash
# Makes sure a root virtlockd listens on /run/libvirt/virtlockd-sock for the lockd.so tests
# and benchmarks. Prints "running" when one was already there (leave it alone), or
# "started PID" when this script started it; the PID is recorded in STATEFILE so that
# virtlockd-stop.sh stops only a daemon we started.
#   usage: virtlockd-start.sh STATEFILE
set -euo pipefail
state=${1:?usage: virtlockd-start.sh STATEFILE}
sock=/run/libvirt/virtlockd-sock
[ "$(id -u)" -eq 0 ] || { echo "not root" >&2; exit 2; }
command -v virtlockd >/dev/null || { echo "virtlockd not installed" >&2; exit 2; }
if [ -S "$sock" ] && pgrep -x virtlockd >/dev/null; then
  echo running
  exit 0
fi
mkdir -p /run/libvirt /var/log/libvirt
# A socket left by a dead daemon would make the new one fail to bind.
[ -S "$sock" ] && rm -f "$sock"
pidfile="${state}.pid"
rm -f "$pidfile"
virtlockd -d -p "$pidfile"
for _ in $(seq 1 100); do
  [ -S "$sock" ] && [ -s "$pidfile" ] && break
  sleep 0.05
done
[ -S "$sock" ] || { echo "virtlockd did not create $sock" >&2; exit 1; }
pid=$(cat "$pidfile")
echo "$pid" > "$state"
echo "started $pid"
