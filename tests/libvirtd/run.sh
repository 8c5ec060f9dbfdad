#!/usr/bin/env bash
# The real-client suite: Debian 12's libvirtd 9.0 + QEMU (TCG) with lock_manager =
# "lockd" (virtlockd, the reference) and "lockspace" (build/lock-driver/lockspace.so),
# every scenario under both, in a private mount namespace with its own daemons.
#   tests/libvirtd/run.sh [LOCKSPACE_SO]        (as root; `make check` runs it)
# Prints one line per scenario x driver and "libvirtd-suite: N passed, N failed".
# Exit 0 all passed, 1 a failure, 77 skipped (not root, or a needed program missing).
# VIRTCORE_SUITE_ONLY="scenario ..." runs a subset; VIRTCORE_SUITE_DRIVERS="lockspace"
# one driver.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
LOCKSPACE_SO=$(realpath "${1:-$TOP/build/lock-driver/lockspace.so}" 2>/dev/null || echo "${1:-}")

if [ -z "${VIRTCORE_SUITE_INNER:-}" ]; then
  skip() { echo "libvirtd-suite: skipped: $*"; exit 77; }
  [ "$(id -u)" = 0 ] || skip "needs root (a private mount namespace, libvirtd as root)"
  for p in unshare libvirtd virtlockd virsh qemu-system-x86_64; do
    command -v "$p" >/dev/null || skip "$p not installed (scripts/ensure-deps.sh installs it)"
  done
  [ -f "$LOCKSPACE_SO" ] || skip "no $LOCKSPACE_SO (run make first)"
  getent passwd libvirt-qemu >/dev/null || skip "no user libvirt-qemu (scripts/ensure-deps.sh creates it)"
  T=$(mktemp -d /tmp/virtcore-libvirtd.XXXXXX) || exit 1
  # The namespace dies with the inner script: its mounts go with it, nothing to undo.
  VIRTCORE_SUITE_INNER=1 T=$T unshare -m --propagation private bash "$0" "$LOCKSPACE_SO"
  rc=$?
  if [ $rc -ne 0 ] && [ -n "${VIRTCORE_SUITE_KEEP:-}" ]; then echo "logs kept in $T"; else rm -rf "$T"; fi
  exit $rc
fi

. "$HERE/env.sh"
. "$HERE/guests.sh"
. "$HERE/checks.sh"
. "$HERE/scenarios.sh"

trap 'stop_daemons' EXIT
setup_namespace || { echo "libvirtd-suite: cannot set up the private namespace"; exit 1; }

pass=0; failn=0
declare -A RESULT
only=${VIRTCORE_SUITE_ONLY:-${SCENARIOS[*]}}
drivers=${VIRTCORE_SUITE_DRIVERS:-lockd lockspace}

for DRIVER in $drivers; do
  write_qemu_conf "$DRIVER"
  [ "$DRIVER" = lockd ] && { start_virtlockd || { echo "virtlockd did not start"; exit 1; }; }
  start_libvirtd || { echo "libvirtd ($DRIVER) did not start; log:"; tail -n 20 "$T/log/libvirtd.log"; exit 1; }
  HOLDER_BAD=0; HOLDER_SEEN=0
  for sc in $only; do
    REASON=; t0=$SECONDS
    if "sc_$sc"; then res=PASS; pass=$((pass + 1)); else res=FAIL; failn=$((failn + 1)); fi
    RESULT[$DRIVER/$sc]=$res
    printf '%s %-9s %s (%ds)%s\n' "$res" "$DRIVER" "$sc" $((SECONDS - t0)) "${REASON:+: $REASON}"
    remove_guests
    # A scenario may have left the daemon down (a failed restart): bring it back.
    if ! kill -0 "$LIBVIRTD_PID" 2>/dev/null; then start_libvirtd || exit 1; fi
  done
  if [ "$DRIVER" = lockspace ]; then
    # Every refusal above (start, resume, hot-plug) named its holders with their pids.
    if [ "$HOLDER_SEEN" -gt 0 ] && [ "$HOLDER_BAD" -eq 0 ]; then res=PASS; pass=$((pass + 1))
    else res=FAIL; failn=$((failn + 1)); fi
    printf '%s %-9s %s (%d refusals, %d without the right holder)\n' "$res" "$DRIVER" \
      refusal-names-holder "$HOLDER_SEEN" "$HOLDER_BAD"
  fi
  stop_daemons
done

# lockspace must decide as lockd does on every scenario.
mismatch=()
for sc in $only; do
  a=${RESULT[lockd/$sc]:-} b=${RESULT[lockspace/$sc]:-}
  [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ] && mismatch+=("$sc")
done
[ ${#mismatch[@]} -gt 0 ] && echo "lockspace differs from lockd on: ${mismatch[*]}"
echo "libvirtd-suite: $pass passed, $failn failed"
[ "$failn" -eq 0 ]
