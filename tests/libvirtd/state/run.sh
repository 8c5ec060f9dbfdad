#!/usr/bin/env bash
# Debian's unmodified libvirtd 9.0 on virtcore's state core: the interposer
# (c-tests/bin/state-interposer.so, see interposer.c) is LD_PRELOADed into libvirtd, so
# libvirtd's real network, interface, secret, storage, nodedev, nwfilter and QEMU drivers
# register with and are started by virtcore (QEMU in tier 1, the rest in tier 0).
#   tests/libvirtd/state/run.sh INTERPOSER [LOCKSPACE_SO]   (as root; `make check` runs it)
# Runs in a private mount namespace (tests/libvirtd/env.sh). Prints one line per scenario
# and "libvirtd-state-suite: N passed, N failed"; exit 0 all passed, 1 a failure, 77
# skipped. VIRTCORE_SUITE_ONLY="scenario ..." runs a subset; VIRTCORE_SUITE_KEEP=1 keeps
# the temp dir of a failed run.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=$(cd "$HERE/.." && pwd)
TOP=$(cd "$SUITE/../.." && pwd)
INTERPOSER=$(realpath "${1:-$TOP/c-tests/bin/state-interposer.so}" 2>/dev/null || echo "${1:-}")
LOCKSPACE_SO=$(realpath "${2:-$TOP/build/lock-driver/lockspace.so}" 2>/dev/null || echo "${2:-}")

SCENARIOS=(lists objects reload restart-keeps-guest tiers-logged parallel-restart
           driver-fails-rolls-back)

if [ -n "${VIRTCORE_STATE_INNER:-}" ]; then
  DRIVER=lockspace
  . "$SUITE/env.sh"
  . "$SUITE/guests.sh"
  . "$SUITE/checks.sh"
  . "$HERE/scenarios.sh"
  trap 'stop_daemons' EXIT
  setup_namespace || { echo "FAIL state setup: cannot set up the private namespace"; exit 1; }
  write_qemu_conf lockspace
  export LIBVIRTD_PRELOAD=$INTERPOSER VIRTCORE_STATE_LOG=/var/log/libvirt/virtcore-state.log
  if ! start_libvirtd; then
    echo "FAIL state setup: libvirtd did not start"; tail -n 20 "$T/log/libvirtd.log"
    tail -n 20 "$T/log/virtcore-state.log"; exit 1
  fi
  for sc in ${VIRTCORE_SUITE_ONLY:-${SCENARIOS[*]}}; do
    REASON=; t0=$SECONDS
    if "st_$sc"; then res=PASS; else res=FAIL; fi
    printf '%s state     %s (%ds)%s\n' "$res" "$sc" $((SECONDS - t0)) "${REASON:+: $REASON}"
    if ! kill -0 "$LIBVIRTD_PID" 2>/dev/null; then write_qemu_conf lockspace; start_libvirtd || exit 1; fi
  done
  exit 0
fi

skip() { echo "libvirtd-state-suite: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (a private mount namespace, libvirtd as root)"
for p in unshare libvirtd virsh qemu-system-x86_64; do
  command -v "$p" >/dev/null || skip "$p not installed (scripts/ensure-deps.sh installs it)"
done
unshare -m --propagation private true 2>/dev/null || skip "no private mount namespace here"
[ -f "$INTERPOSER" ] || skip "no $INTERPOSER (make -C c-tests bin/state-interposer.so)"
[ -f "$LOCKSPACE_SO" ] || skip "no $LOCKSPACE_SO (run make first)"

T=$(mktemp -d /tmp/virtcore-libvirtd-state.XXXXXX) || exit 1
VIRTCORE_STATE_INNER=1 T=$T unshare -m --propagation private \
  bash "$0" "$INTERPOSER" "$LOCKSPACE_SO" > "$T/out" 2>&1
cat "$T/out"
pass=$(grep -c '^PASS ' "$T/out"); failn=$(grep -c '^FAIL ' "$T/out")
[ "$pass" -gt 0 ] || [ "$failn" -gt 0 ] || { echo "FAIL state: no result"; failn=1; }
echo "libvirtd-state-suite: $pass passed, $failn failed"
if [ "$failn" -ne 0 ] && [ -n "${VIRTCORE_SUITE_KEEP:-}" ]; then echo "kept: $T"; else rm -rf "$T"; fi
[ "$failn" -eq 0 ]
