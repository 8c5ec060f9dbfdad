# Helpers of the two-host suite (sourced by twohost.sh for one driver; W is the driver's
# temp dir). Host H (A or B) is a namespace held by a shell whose pid is HP[H]; every
# command for H runs in it through nsenter. The controller sees S, the shared directory,
# as T (so guests.sh's new_disk and define_guest put disks and XML there).

. "$HERE/env.sh"   # wait_for
. "$HERE/guests.sh"
. "$HERE/checks.sh"
S=${TWOHOST_S:-$W/shared}
T=$S
mkdir -p "$S/disks" "$S/xml" "$S/lockspace" "$S/lockd" && chmod 0755 "$W" "$S" "$S/disks"
declare -A HP HT
# Disks belong to QEMU's user (see twohost.sh: no dynamic ownership between hosts).
eval "guests_new_disk() $(declare -f new_disk | tail -n +2)"
new_disk() { local p; p=$(guests_new_disk "$@") && chown libvirt-qemu:libvirt-qemu "$p" && echo "$p"; }
NHOST=0
# A fixed port per driver run would collide with another suite's: pick one in a range.
MIG_PORT=$((49200 + RANDOM % 700))

start_host() { # start_host A|B
  local h=$1 t
  NHOST=$((NHOST + 1)); t=$W/$h.$NHOST
  mkdir -p "$t" || return 1
  HT[$h]=$t
  VIRTCORE_TWOHOST_HOST=$h VIRTCORE_TWOHOST_DRIVER=$DRIVER T=$t S=$S MNT=${MNT:-} \
    unshare -m -u --propagation private bash "$HERE/twohost.sh" "$LOCKSPACE_SO" > "$t/host.log" 2>&1 &
  HP[$h]=$!
  wait_for 1200 test -e "$t/ready" || { cat "$t/host.log"; return 1; }
}
start_hosts() { start_host A && start_host B; }

stop_host() { # stop_host A|B: its guests and daemons go, then its namespace
  local h=$1 p=${HP[$1]:-}
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null
  wait_for 300 eval '! kill -0 '"$p"' 2>/dev/null' || kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  HP[$h]=
}
stop_hosts() { stop_host A; stop_host B; }

on() { local h=$1; shift; nsenter -t "${HP[$h]}" -m -u -- "$@"; }
# vsh_on H ARGS: virsh on host H (output and errors).
vsh_on() { local h=$1; shift; on "$h" virsh -q -c qemu:///system "$@" 2>&1; }
# use_host H: guests.sh's and checks.sh's functions act on host H from now on.
use_host() { VIRSH=(nsenter -t "${HP[$1]}" -m -u -- virsh -q -c qemu:///system); CUR=$1; }
guest_pid() { cat "/proc/${HP[$CUR]}/root/run/libvirt/qemu/$1.pid" 2>/dev/null; }
pid_on() { cat "/proc/${HP[$1]}/root/run/libvirt/qemu/$2.pid" 2>/dev/null; }
state_on() { on "$1" virsh -q -c qemu:///system domstate "$2" 2>/dev/null | head -n1; }
daemon_pid_on() { cat "/proc/${HP[$1]}/root/run/libvirt/$2.pid" 2>/dev/null; }

# define_on H NAME DISK...: guest NAME on host H (the XML in S, so both hosts share it).
define_on() { local h=$1; shift; use_host "$h"; define_guest "$@"; }

# A guest whose RAM holds 16 MiB of random data (QEMU's loader device), so that a
# migration at a few MiB/s lasts seconds: time to abort it or to kill its destination.
define_slow_on() { # define_slow_on H NAME DISK...
  local h=$1 name=$2 xml
  [ -s "$S/ram.bin" ] || head -c 16M /dev/urandom > "$S/ram.bin" && chmod 0644 "$S/ram.bin"
  define_on "$@" || return 1
  xml="$S/xml/$name.xml"
  sed -i "s|</domain>|  <qemu:commandline><qemu:arg value='-device'/><qemu:arg value='loader,file=$S/ram.bin,addr=0x800000,force-raw=on'/></qemu:commandline>\n</domain>|" "$xml"
  vsh_on "$h" undefine "$name" >/dev/null
  vsh_on "$h" define "$xml" >/dev/null || fail "define $name on $h: $(vsh_on "$h" define "$xml")"
}

# migrate FROM TO GUEST [virsh migrate options]: live migration over TCP on 127.0.0.1,
# the client (virsh) on host FROM reaching TO's libvirtd through its socket.
migrate() {
  local from=$1 to=$2 g=$3; shift 3
  vsh_on "$from" migrate --live "$g" \
    "qemu+unix:///system?socket=/proc/${HP[$to]}/root/run/libvirt/libvirt-sock" \
    --migrateuri "tcp://127.0.0.1:$MIG_PORT" --unsafe "$@"
}

# After each scenario: every guest of both hosts removed; a host that was killed or
# lost its daemon is replaced by a fresh one (new directories).
cleanup_hosts() {
  local h g
  for h in A B; do
    if [ -n "${HP[$h]}" ] && kill -0 "${HP[$h]}" 2>/dev/null &&
       [ -n "$(daemon_pid_on "$h" libvirtd)" ] && kill -0 "$(daemon_pid_on "$h" libvirtd)" 2>/dev/null; then
      for g in $(vsh_on "$h" list --all --name); do
        vsh_on "$h" destroy "$g" >/dev/null
        vsh_on "$h" undefine "$g" --managed-save >/dev/null
      done
    else
      stop_host "$h"; start_host "$h" || return 1
    fi
  done
  return 0
}

# holds_on H DISK HOLDER: on host H a probe guest cannot take DISK (lock manager's refusal).
holds_on() {
  local h=$1 d=$2; shift 2
  use_host "$h"
  probe_locked "$d" "$@" || { REASON="host $h: $REASON"; return 1; }
}
free_on() { use_host "$1"; probe_free "$2" || { REASON="host $1: $REASON"; return 1; }; }

# check_holder MESSAGE NAME@H...: lockspace's refusal names each holder guest with the pid
# of its QEMU on host H and that host's name (lockd names none: not checked).
check_holder() {
  local msg=$1 spec g h pid; shift
  [ "$DRIVER" = lockspace ] || return 0
  for spec in "$@"; do
    g=${spec%@*}; h=${spec#*@}; pid=$(pid_on "$h" "$g")
    printf '%s' "$msg" | grep -q "guest '$g' (uuid [^,]*, pid $pid, host vc-host-$h)" ||
      { fail "refusal does not name $g (pid $pid, host vc-host-$h): $msg"; return 1; }
  done
}
