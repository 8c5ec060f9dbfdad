#!/usr/bin/env bash
# Stops the virtlockd that virtlockd-start.sh started (recorded in STATEFILE), and nothing
# else: without a state file it does nothing.
#   usage: virtlockd-stop.sh STATEFILE
set -euo pipefail
state=${1:?usage: virtlockd-stop.sh STATEFILE}
[ -f "$state" ] || exit 0
pid=$(cat "$state")
if [ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = virtlockd ]; then
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
fi
rm -f "$state" "${state}.pid"
echo stopped
