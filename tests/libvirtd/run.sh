#!/usr/bin/env bash
# The real-client suite: Debian 12's libvirtd 9.0 + QEMU (TCG) with lock_manager =
# "lockd" (virtlockd, the reference) and "lockspace" (build/lock-driver/lockspace.so),
# every scenario under both. Each driver runs in its own private mount namespace with
# its own daemons and directories; the two run side by side.
#   tests/libvirtd/run.sh [LOCKSPACE_SO]        (as root; `make check` runs it)
# QEMU runs as Debian's default user libvirt-qemu (dynamic_ownership, see env.sh) for
# both drivers; a third instance, "lockspace-root", runs lockspace with QEMU as root.
# Prints one line per scenario x instance as each finishes (the instances' lines
# interleave; other output of an instance is indented and tagged [INSTANCE]), then
# "libvirtd-suite: N passed, N failed".
# Exit 0 all passed, 1 a failure, 77 skipped (not root, or a needed program missing).
# VIRTCORE_SUITE_ONLY="scenario ..." runs a subset; VIRTCORE_SUITE_DRIVERS="lockspace"
# some instances (DRIVER, or DRIVER-root for QEMU as root); VIRTCORE_SUITE_KEEP=1 keeps
# the temp dirs (logs) of a failed run.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
LOCKSPACE_SO=$(realpath "${1:-$TOP/build/lock-driver/lockspace.so}" 2>/dev/null || echo "${1:-}")

if [ -n "${VIRTCORE_SUITE_INNER:-}" ]; then
  # Inside the namespace of one instance (T is its temp dir).
  LABEL=$VIRTCORE_SUITE_INNER DRIVER=${VIRTCORE_SUITE_INNER%-root} QEMU_USER=libvirt-qemu
  [ "$DRIVER" != "$LABEL" ] && QEMU_USER=root
  . "$HERE/env.sh"
  . "$HERE/guests.sh"
  . "$HERE/checks.sh"
  . "$HERE/scenarios.sh"
  . "$HERE/cli.sh"
  # virtcore-lock reads lockspace's lease files: its scenarios are lockspace's alone.
  [ "$DRIVER" = lockspace ] && SCENARIOS+=("${CLI_SCENARIOS[@]}")
  trap 'stop_daemons' EXIT
  setup_namespace || { echo "FAIL $LABEL setup: cannot set up the private namespace"; exit 1; }
  write_qemu_conf "$DRIVER" "$QEMU_USER"
  if [ "$DRIVER" = lockd ] && ! start_virtlockd; then echo "FAIL $LABEL setup: virtlockd did not start"; exit 1; fi
  if ! start_libvirtd; then
    echo "FAIL $LABEL setup: libvirtd did not start"; tail -n 20 "$T/log/libvirtd.log"; exit 1
  fi
  for sc in ${VIRTCORE_SUITE_ONLY:-${SCENARIOS[*]}}; do
    REASON=; t0=$SECONDS; DISK_TAG="$sc"
    if "sc_$sc"; then res=PASS; else res=FAIL; fi
    printf '%s %-14s %s (%ds)%s\n' "$res" "$LABEL" "$sc" $((SECONDS - t0)) "${REASON:+: $REASON}"
    remove_guests
    # A scenario may have left the daemon down (a failed restart): bring it back.
    if ! kill -0 "$LIBVIRTD_PID" 2>/dev/null; then start_libvirtd || exit 1; fi
  done
  if [ "$DRIVER" = lockspace ]; then
    # Every refusal above (start, resume, hot-plug) named its holders with their pids.
    if [ "$HOLDER_SEEN" -gt 0 ] && [ "$HOLDER_BAD" -eq 0 ]; then res=PASS; else res=FAIL; fi
    printf '%s %-14s %s (%d refusals, %d without the right holder)\n' "$res" "$LABEL" \
      refusal-names-holder "$HOLDER_SEEN" "$HOLDER_BAD"
  fi
  exit 0
fi

skip() { echo "libvirtd-suite: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (a private mount namespace, libvirtd as root)"
for p in unshare libvirtd virtlockd virsh qemu-system-x86_64; do
  command -v "$p" >/dev/null || skip "$p not installed (scripts/ensure-deps.sh installs it)"
done
unshare -m --propagation private true 2>/dev/null || skip "no private mount namespace here (unshare -m refused)"
[ -f "$LOCKSPACE_SO" ] || skip "no $LOCKSPACE_SO (run make first)"
getent passwd libvirt-qemu >/dev/null || skip "no user libvirt-qemu (scripts/ensure-deps.sh creates it)"

drivers=${VIRTCORE_SUITE_DRIVERS:-lockd lockspace lockspace-root}
echo "libvirtd-suite: instances $drivers side by side; each result is printed as it finishes"
declare -A TMP
pids=()
for d in $drivers; do
  TMP[$d]=$(mktemp -d /tmp/virtcore-libvirtd-$d.XXXXXX) || exit 1
  # The namespace dies with the inner script: its mounts go with it, nothing to undo.
  # Its output is kept (for the summary below) and streamed line by line.
  { VIRTCORE_SUITE_INNER=$d T=${TMP[$d]} unshare -m --propagation private \
      bash "$0" "$LOCKSPACE_SO" 2>&1 | tee "${TMP[$d]}/out" |
      sed -u -e "/^\(PASS\|FAIL\) /!s/^/    [$d] /"; } &
  pids+=($!)
done
# The two-host suite (twohost.sh) runs beside them, unless only single-host scenarios
# were asked for (VIRTCORE_SUITE_ONLY without VIRTCORE_TWOHOST_ONLY).
TWO=
if [ -z "${VIRTCORE_SUITE_ONLY:-}" ] || [ -n "${VIRTCORE_TWOHOST_ONLY:-}" ]; then
  TWO=$(mktemp /tmp/virtcore-twohost-out.XXXXXX) || exit 1
  # Its lines stream too; its own summary line comes at its end.
  { bash "$HERE/twohost.sh" "$LOCKSPACE_SO"; echo $? > "$TWO.rc"; } 2>&1 | tee "$TWO" &
  TWO_PID=$!
fi
wait "${pids[@]}"
[ -z "$TWO" ] || { wait "$TWO_PID"; TWO_RC=$(cat "$TWO.rc" 2>/dev/null || echo 1); }

declare -A RESULT
pass=0; failn=0
for d in $drivers; do
  while read -r res drv sc _; do
    case $res in PASS) pass=$((pass + 1)) ;; FAIL) failn=$((failn + 1)) ;; *) continue ;; esac
    RESULT[$drv/$sc]=$res
  done < "${TMP[$d]}/out"
  grep -q "^PASS $d\|^FAIL $d" "${TMP[$d]}/out" || { echo "FAIL $d: no result"; failn=$((failn + 1)); }
done

# lockspace must decide as lockd does on every scenario (QEMU's user changes nothing).
. "$HERE/scenarios.sh"
mismatch=()
for sc in ${VIRTCORE_SUITE_ONLY:-${SCENARIOS[*]}}; do
  a=${RESULT[lockd/$sc]:-}
  for b in "${RESULT[lockspace/$sc]:-}" "${RESULT[lockspace-root/$sc]:-}"; do
    [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ] && { mismatch+=("$sc"); break; }
  done
done
[ ${#mismatch[@]} -gt 0 ] && echo "lockspace differs from lockd on: ${mismatch[*]}"
if [ -n "$TWO" ]; then
  rm -f "$TWO" "$TWO.rc"
  case $TWO_RC in 0|77) ;; *) failn=$((failn + 1)) ;; esac
fi
echo "libvirtd-suite: $pass passed, $failn failed"
for d in $drivers; do
  if [ $failn -ne 0 ] && [ -n "${VIRTCORE_SUITE_KEEP:-}" ]; then echo "kept: ${TMP[$d]}"; else rm -rf "${TMP[$d]}"; fi
done
[ "$failn" -eq 0 ]
