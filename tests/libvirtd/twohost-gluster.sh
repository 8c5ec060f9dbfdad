#!/usr/bin/env bash
# GlusterFS for the two-host suite (VIRTCORE_TWOHOST_FS=gluster): one glusterd and a
# one-brick volume (created with `force`: the brick is on this machine's root file
# system), in a mount namespace of their own (own /var/lib/glusterd, /var/log/glusterfs,
# /run/gluster), so that each host mounts the volume with its own FUSE client and lock
# arbitration between hosts is GlusterFS's.
#   twohost-gluster.sh DIR    starts it; prints "ready IP:/VOLUME" to DIR/ready; stops
#                             everything it started on SIGTERM.
set -u
G=$1
trap 'stop; exit 0' TERM
stop() {
  local p
  gluster --mode=script volume stop vcvol force >/dev/null 2>&1
  # Only processes of this server: their command lines name G (brick) or its pid file.
  for p in $(pgrep -f -- "$G/brick" ; cat "$G/glusterd.pid" 2>/dev/null); do kill "$p" 2>/dev/null; done
}
mount --make-rprivate / || exit 1
mkdir -p "$G/lib" "$G/log" "$G/run" "$G/brick" /var/lib/glusterd /var/log/glusterfs /run/gluster || exit 1
mount --bind "$G/lib" /var/lib/glusterd && mount --bind "$G/log" /var/log/glusterfs &&
  mount --bind "$G/run" /run/gluster || exit 1
glusterd -p "$G/glusterd.pid" || exit 1
# GlusterFS refuses loopback addresses for bricks: this machine's first address.
IP=$(hostname -I | awk '{print $1}')
for i in $(seq 100); do gluster --mode=script volume info >/dev/null 2>&1 && break; sleep 0.2; done
gluster --mode=script volume create vcvol "$IP:$G/brick" force >/dev/null || { stop; exit 1; }
# Client-side caches off: a holder record written through one host's client must be read
# by the other's at once (with them on, lockspace still refuses, but cannot name holders).
for o in write-behind read-ahead io-cache quick-read stat-prefetch open-behind readdir-ahead; do
  gluster --mode=script volume set vcvol "performance.$o" off >/dev/null || { stop; exit 1; }
done
gluster --mode=script volume start vcvol >/dev/null || { stop; exit 1; }
echo "$IP:/vcvol" > "$G/ready"
while :; do sleep 1; done
