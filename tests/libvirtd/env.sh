# Environment of the real-libvirtd suite: a private mount namespace in which Debian's
# libvirtd, virtlockd and QEMU see only the suite's own directories. Sourced by run.sh
# (already inside `unshare -m`). Sets T (the suite's temp dir) and defines the daemon
# helpers; every daemon started here is stopped by stop_daemons.

LOCKDIR_SYS=/usr/lib/x86_64-linux-gnu/libvirt/lock-driver
VIRSH=(virsh -q -c qemu:///system)

# The private view: tmpfs on /run/libvirt, the suite's directories over libvirt's
# config, state, log and cache directories and over the lock-driver directory (so the
# host's real files are never read or written). Mount points libvirt's packages would
# have created are created when missing (empty directories, nothing else).
setup_namespace() {
  local d
  mount --make-rprivate / || return 1
  for d in /run/libvirt /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
    [ -d "$d" ] || mkdir -p "$d" || return 1
  done
  mount -t tmpfs -o mode=0755 vcsuite /run/libvirt || return 1
  mkdir -p "$T/etc" "$T/lib" "$T/log" "$T/cache" "$T/lock-driver" "$T/lockspace" \
           "$T/disks" "$T/xml" "$T/save" || return 1
  # A QEMU that is not root must reach its images under T (mktemp made it 0700); the
  # lockspace directory stays root's (the guest's lease files are opened for it).
  chmod 0755 "$T" "$T/disks" "$T/save" || return 1
  mount --bind "$T/etc" /etc/libvirt || return 1
  mount --bind "$T/lib" /var/lib/libvirt || return 1
  mount --bind "$T/log" /var/log/libvirt || return 1
  mount --bind "$T/cache" /var/cache/libvirt || return 1
  for d in "$LOCKDIR_SYS"/*.so; do
    [ -f "$d" ] && cp "$d" "$T/lock-driver/"
  done
  cp "$LOCKSPACE_SO" "$T/lock-driver/lockspace.so" || return 1
  mount --bind "$T/lock-driver" "$LOCKDIR_SYS" || return 1
  cat > /etc/libvirt/libvirtd.conf <<CONF
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
  cat > /etc/libvirt/qemu-lockspace.conf <<CONF
lockspace_dir = "$T/lockspace"
CONF
  : > /etc/libvirt/qemu-lockd.conf
  : > /etc/libvirt/virtlockd.conf
}

# qemu.conf for one lock driver (facts measured on this machine: no systemd, no cgroups).
# write_qemu_conf DRIVER [QEMU_USER]: QEMU runs as root, or as QEMU_USER (Debian's default
# libvirt-qemu): then libvirt's DAC driver (stacked even with security_driver "none")
# chowns each image to that user while the guest runs (dynamic_ownership = 1) and
# gives it back afterwards (remember_owner = 1).
write_qemu_conf() {
  local user=${2:-root} own=0
  [ "$user" = root ] || { own=1; kvm_for "$user"; }
  cat > /etc/libvirt/qemu.conf <<CONF
user = "$user"
group = "$user"
dynamic_ownership = $own
remember_owner = $own
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
lock_manager = "$1"
CONF
}

# kvm_for USER: USER may open /dev/kvm in this namespace (a node 0660 root:USER bound over
# it), as Debian's udev rule and group kvm allow libvirt-qemu. Without it libvirt 9.0
# finds its cached QEMU capabilities stale at every domain lookup (KVM not usable by
# QEMU's user) and probes QEMU again: ~40 s per `virsh define` here. Guests stay TCG.
# The node lives on a tmpfs of the namespace's own (T's file system may be mounted nodev).
kvm_for() {
  [ -c /dev/kvm ] || return 0
  local maj min
  maj=$((0x$(stat -c %t /dev/kvm))) min=$((0x$(stat -c %T /dev/kvm)))
  mkdir -p "$T/dev" && mount -t tmpfs -o mode=0755 vcdev "$T/dev" &&
    mknod -m 0660 "$T/dev/kvm" c "$maj" "$min" && chgrp "$1" "$T/dev/kvm" &&
    mount --bind "$T/dev/kvm" /dev/kvm || echo "note: /dev/kvm not made usable by $1 (slow QEMU probes)" >&2
}

LIBVIRTD_PID=
VIRTLOCKD_PID=

wait_for() { # wait_for TRIES COMMAND...: polls every 0.1 s
  local n=$1; shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
  return 1
}

start_virtlockd() {
  rm -f /run/libvirt/virtlockd.pid
  virtlockd -d -p /run/libvirt/virtlockd.pid || return 1
  wait_for 100 test -S /run/libvirt/virtlockd-sock -a -s /run/libvirt/virtlockd.pid || return 1
  VIRTLOCKD_PID=$(cat /run/libvirt/virtlockd.pid)
}

# LIBVIRTD_PRELOAD (tests/libvirtd/state): a library LD_PRELOADed into libvirtd alone.
start_libvirtd() {
  rm -f /run/libvirt/libvirtd.pid
  ${LIBVIRTD_PRELOAD:+env LD_PRELOAD=$LIBVIRTD_PRELOAD} libvirtd -d -p /run/libvirt/libvirtd.pid || return 1
  wait_for 600 test -s /run/libvirt/libvirtd.pid || return 1
  LIBVIRTD_PID=$(cat /run/libvirt/libvirtd.pid)
  # Ready once a client gets an answer (the first start probes QEMU's capabilities).
  wait_for 600 "${VIRSH[@]}" version >/dev/null 2>&1
}

# stop_libvirtd [SIGNAL]: TERM (default) or KILL; waits until the process is gone.
stop_libvirtd() {
  local sig=${1:-TERM}
  [ -n "$LIBVIRTD_PID" ] || return 0
  kill -s "$sig" "$LIBVIRTD_PID" 2>/dev/null
  wait_for 300 eval '! kill -0 '"$LIBVIRTD_PID"' 2>/dev/null' || kill -KILL "$LIBVIRTD_PID" 2>/dev/null
  wait_for 50 eval '! kill -0 '"$LIBVIRTD_PID"' 2>/dev/null'
  LIBVIRTD_PID=
}

stop_virtlockd() {
  [ -n "$VIRTLOCKD_PID" ] || return 0
  kill -TERM "$VIRTLOCKD_PID" 2>/dev/null
  wait_for 100 eval '! kill -0 '"$VIRTLOCKD_PID"' 2>/dev/null' || kill -KILL "$VIRTLOCKD_PID" 2>/dev/null
  VIRTLOCKD_PID=
}

# Every QEMU this suite started has its pid file under the private /run/libvirt/qemu.
kill_guests() {
  local f p
  for f in /run/libvirt/qemu/*.pid; do
    [ -s "$f" ] || continue
    p=$(cat "$f")
    [ -n "$p" ] && grep -q qemu "/proc/$p/comm" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  done
}

stop_daemons() {
  kill_guests
  stop_libvirtd TERM
  stop_virtlockd
}
