#!/usr/bin/env bash
# The two-host suite (issue 18): two libvirtd "hosts" A and B on this machine, each in
# its own mount and UTS namespace (own /run/libvirt, /etc/libvirt, /var/lib/libvirt, host
# name, /etc/machine-id and libvirtd host_uuid), sharing one directory S with the images
# and the lock directory (lockspace's lockspace_dir; for lockd, the file_lockspace_dir of
# the two virtlockd, one per host), as an NFS export would be. QEMU runs as libvirt-qemu
# and migrates over TCP on 127.0.0.1. Scenarios in twohost-scenarios.sh, under both
# drivers, the drivers side by side.
#   tests/libvirtd/twohost.sh [LOCKSPACE_SO]    (as root; run.sh runs it)
# Prints one line per scenario x driver and "libvirtd-twohost: N passed, N failed".
# Exit 0 all passed, 1 a failure, 77 skipped. VIRTCORE_TWOHOST_ONLY="scenario ..." a
# subset; VIRTCORE_SUITE_DRIVERS and VIRTCORE_SUITE_KEEP as in run.sh.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
LOCKSPACE_SO=$(realpath "${1:-$TOP/build/lock-driver/lockspace.so}" 2>/dev/null || echo "${1:-}")

if [ -n "${VIRTCORE_TWOHOST_HOST:-}" ]; then
  # One host's namespace (T its own directory, S the shared one): set up, start its
  # daemons, then hold the namespace until told to stop (SIGTERM).
  DRIVER=$VIRTCORE_TWOHOST_DRIVER H=$VIRTCORE_TWOHOST_HOST QEMU_USER=libvirt-qemu
  . "$HERE/env.sh"
  trap 'stop_daemons; exit 0' TERM
  trap 'stop_daemons; [ -z "${GLUSTER_SRC:-}" ] || umount "$MNT" || umount -l "$MNT"' EXIT
  hostname "vc-host-$H" || exit 1
  if [ -n "${GLUSTER_SRC:-}" ]; then
    # This host's own FUSE client of the volume, in place of the one it inherited.
    umount -l "$MNT" && mount -t glusterfs "$GLUSTER_SRC" "$MNT" || exit 1
  fi
  setup_namespace || exit 1
  write_qemu_conf "$DRIVER" "$QEMU_USER"
  # The images are libvirt-qemu's already (twohost-lib.sh's new_disk), as on an NFS
  # export: libvirt 9.0 takes a local directory for unshared, and a source host that
  # gives an image back to root after a migration would lock the destination out of it.
  sed -i -e 's/^dynamic_ownership = 1/dynamic_ownership = 0/' -e 's/^remember_owner = 1/remember_owner = 0/' /etc/libvirt/qemu.conf
  # Each host: its own machine-id (lockspace's image identities) and host_uuid (libvirt
  # refuses a migration to the host it runs on).
  printf '%032x\n' "$(( 0x$H ))" > "$T/machine-id" && mount --bind "$T/machine-id" /etc/machine-id || exit 1
  echo "host_uuid = \"00000000-0000-4000-8000-00000000000$(( 0x$H - 9 ))\"" >> /etc/libvirt/libvirtd.conf
  echo "lockspace_dir = \"$S/lockspace\"" > /etc/libvirt/qemu-lockspace.conf
  echo "file_lockspace_dir = \"$S/lockd\"" > /etc/libvirt/qemu-lockd.conf
  if [ "$DRIVER" = lockd ] && ! start_virtlockd; then echo "virtlockd did not start"; exit 1; fi
  start_libvirtd || { echo "libvirtd did not start"; tail -n 20 "$T/log/libvirtd.log"; exit 1; }
  echo ready > "$T/ready"
  while :; do sleep 1; done
fi

if [ -n "${VIRTCORE_TWOHOST_DRIVER:-}" ]; then
  # One driver: both hosts, then every scenario.
  DRIVER=$VIRTCORE_TWOHOST_DRIVER
  if [ -n "${GLUSTER_SRC:-}" ]; then
    # The shared directory is the driver's directory on the volume (MNT in every host).
    MNT=$W/mnt TWOHOST_S=$W/mnt/$DRIVER
    mkdir -p "$MNT" && mount -t glusterfs "$GLUSTER_SRC" "$MNT" || { echo "FAIL $DRIVER setup: cannot mount $GLUSTER_SRC"; exit 1; }
    trap 'umount -l "$MNT"' EXIT
  fi
  . "$HERE/twohost-lib.sh"
  . "$HERE/twohost-scenarios.sh"
  trap 'stop_hosts; [ -z "${GLUSTER_SRC:-}" ] || umount "$MNT" || umount -l "$MNT"' EXIT
  start_hosts || { echo "FAIL $DRIVER setup: the hosts did not start"; exit 1; }
  for sc in ${VIRTCORE_TWOHOST_ONLY:-${TWOHOST_SCENARIOS[*]}}; do
    REASON=; t0=$SECONDS; DISK_TAG=$sc
    if "sc_$sc"; then res=PASS
    # Where lockd is known to be wrong (LOCKD_WRONG, with the reason), its failure is
    # expected; lockspace must pass.
    elif [ "$DRIVER" = lockd ] && [ -n "${LOCKD_WRONG[$sc]:-}" ]; then res=XFAIL; REASON="${LOCKD_WRONG[$sc]} ($REASON)"
    else res=FAIL; fi
    printf '%s %-9s %s (%ds)%s\n' "$res" "$DRIVER" "$sc" $((SECONDS - t0)) "${REASON:+: $REASON}"
    cleanup_hosts || { echo "FAIL $DRIVER: a host did not come back"; exit 1; }
  done
  exit 0
fi

skip() { echo "libvirtd-twohost: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (private mount namespaces, libvirtd as root)"
for p in unshare nsenter libvirtd virtlockd virsh qemu-system-x86_64; do
  command -v "$p" >/dev/null || skip "$p not installed (scripts/ensure-deps.sh installs it)"
done
unshare -m -u --propagation private true 2>/dev/null || skip "no private mount/UTS namespace here"
[ -f "$LOCKSPACE_SO" ] || skip "no $LOCKSPACE_SO (run make first)"
getent passwd libvirt-qemu >/dev/null || skip "no user libvirt-qemu (scripts/ensure-deps.sh creates it)"

GLUSTER_SRC= GPID= GDIR=
if [ "${VIRTCORE_TWOHOST_FS:-}" = gluster ]; then
  # The shared directory on a GlusterFS volume (twohost-gluster.sh), mounted by each
  # host and each driver's controller separately.
  for p in glusterd gluster glusterfs; do
    command -v "$p" >/dev/null || skip "$p not installed (apt-get install glusterfs-server glusterfs-client)"
  done
  GDIR=$(mktemp -d /tmp/virtcore-gluster.XXXXXX) || exit 1
  unshare -m --propagation private bash "$HERE/twohost-gluster.sh" "$GDIR" > "$GDIR/out" 2>&1 &
  GPID=$!
  for i in $(seq 600); do [ -s "$GDIR/ready" ] && break; kill -0 "$GPID" 2>/dev/null || break; sleep 0.1; done
  GLUSTER_SRC=$(cat "$GDIR/ready" 2>/dev/null)
  [ -n "$GLUSTER_SRC" ] || { echo "FAIL twohost: GlusterFS did not start"; cat "$GDIR/out"; exit 1; }
  echo "twohost: shared directory on GlusterFS $GLUSTER_SRC"
fi
export GLUSTER_SRC

drivers=${VIRTCORE_SUITE_DRIVERS:-lockd lockspace}
declare -A TMP
pids=()
for d in $drivers; do
  case $d in lockd|lockspace) ;; *) continue ;; esac
  TMP[$d]=$(mktemp -d /tmp/virtcore-twohost-$d.XXXXXX) || exit 1
  # Kept for the summary below and streamed as each scenario finishes (as run.sh does).
  { VIRTCORE_TWOHOST_DRIVER=$d W=${TMP[$d]} unshare -m --propagation private \
      bash "$0" "$LOCKSPACE_SO" 2>&1 | tee "${TMP[$d]}/out" |
      sed -u -e "/^\(PASS\|FAIL\|XFAIL\) /!s/^/    [twohost $d] /" -e "/^\(PASS\|FAIL\|XFAIL\) /s/^\([A-Z]*\) /\1 twohost:/"; } &
  pids+=($!)
done
wait "${pids[@]}"
if [ -n "$GPID" ]; then
  kill -TERM "$GPID"; wait "$GPID"; rm -rf "$GDIR"
fi

declare -A RESULT
pass=0; failn=0
for d in "${!TMP[@]}"; do
  while read -r res drv sc _; do
    case $res in PASS|XFAIL) pass=$((pass + 1)) ;; FAIL) failn=$((failn + 1)) ;; *) continue ;; esac
    RESULT[$drv/$sc]=$res
  done < "${TMP[$d]}/out"
  grep -q "^PASS $d\|^FAIL $d\|^XFAIL $d" "${TMP[$d]}/out" || { echo "FAIL $d: no result"; failn=$((failn + 1)); }
done
. "$HERE/twohost-scenarios.sh"
mismatch=()
for sc in ${VIRTCORE_TWOHOST_ONLY:-${TWOHOST_SCENARIOS[*]}}; do
  a=${RESULT[lockd/$sc]:-} b=${RESULT[lockspace/$sc]:-}
  [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ] && mismatch+=("$sc")
done
[ ${#mismatch[@]} -gt 0 ] && echo "twohost: lockspace differs from lockd on: ${mismatch[*]}"
echo "libvirtd-twohost: $pass passed, $failn failed"
for d in "${!TMP[@]}"; do
  if [ $failn -ne 0 ] && [ -n "${VIRTCORE_SUITE_KEEP:-}" ]; then echo "kept: ${TMP[$d]}"; else rm -rf "${TMP[$d]}"; fi
done
[ "$failn" -eq 0 ]
