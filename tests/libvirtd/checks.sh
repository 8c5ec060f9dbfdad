# Checks of the real-libvirtd suite: start/refuse guests, and probe whether the lock
# manager holds a disk. A probe hot-plugs the disk into a running guest `probe`: libvirt
# asks the lock manager (virDomainLockImageAttach) before QEMU opens the image, so a
# refusal there is the lock manager's own decision; it is detached again when accepted.
# Each check sets REASON and returns 1 on failure.

REASON=
# A refusal by the lock manager (lockd and lockspace both raise VIR_ERR_RESOURCE_BUSY).
BUSY_RE='resource busy'
HOLDER_BAD=0   # refusals that did not name their holder correctly (lockspace only)
HOLDER_SEEN=0  # refusals checked for the holder's name

fail() { REASON="$*"; return 1; }
vsh() { "${VIRSH[@]}" "$@" 2>&1; }

# check_holder MESSAGE HOLDER...: lockspace's refusal must name each holder guest with
# the pid of that guest's own QEMU (not the daemon's). lockd names none: not checked.
check_holder() {
  local msg=$1 h pid; shift
  [ "$DRIVER" = lockspace ] || return 0
  HOLDER_SEEN=$((HOLDER_SEEN + 1))
  for h in "$@"; do
    pid=$(guest_pid "$h")
    if ! printf '%s' "$msg" | grep -q "guest '$h'" ||
       ! printf '%s' "$msg" | grep -q "pid $pid\b"; then
      HOLDER_BAD=$((HOLDER_BAD + 1))
      echo "    refusal does not name holder '$h' (pid $pid): $msg"
    fi
  done
  return 0
}

# start_ok GUEST [virsh start options]: started, and its QEMU runs as QEMU_USER.
start_ok() {
  local out u
  out=$(vsh start "$@") || { fail "start $1 refused: $out"; return 1; }
  u=$(stat -c %U "/proc/$(guest_pid "$1")" 2>/dev/null)
  [ "$u" = "${QEMU_USER:-root}" ] || fail "QEMU of $1 runs as '$u', expected ${QEMU_USER:-root}"
}

# start_refused GUEST HOLDER...: the lock manager refuses the start; the guest is left
# shut off.
start_refused() {
  local g=$1 out; shift
  if out=$(vsh start "$g"); then fail "start $g succeeded, expected a lock refusal"; return 1; fi
  printf '%s' "$out" | grep -q "$BUSY_RE" || { fail "start $g failed but not by the lock manager: $out"; return 1; }
  [ "$(guest_state "$g")" = "shut off" ] || { fail "$g is '$(guest_state "$g")' after a refused start"; return 1; }
  check_holder "$out" "$@"
}

resume_ok() { local out; out=$(vsh resume "$1") || fail "resume $1 refused: $out"; }
resume_refused() {
  local g=$1 out; shift
  if out=$(vsh resume "$g"); then fail "resume $g succeeded, expected a lock refusal"; return 1; fi
  printf '%s' "$out" | grep -q "$BUSY_RE" || { fail "resume $g failed but not by the lock manager: $out"; return 1; }
  check_holder "$out" "$@"
}

# attach GUEST DISK TARGET / attach_refused GUEST DISK TARGET HOLDER... / detach GUEST TARGET
attach() {
  local out; out=$(vsh attach-disk "$1" "$2" "$3" --targetbus scsi --live) ||
    fail "attach $2 to $1 refused: $out"
}
attach_refused() {
  local g=$1 d=$2 t=$3 out; shift 3
  if out=$(vsh attach-disk "$g" "$d" "$t" --targetbus scsi --live); then
    vsh detach-disk "$g" "$t" --live >/dev/null
    fail "attach $d to $g succeeded, expected a lock refusal"; return 1
  fi
  printf '%s' "$out" | grep -q "$BUSY_RE" || { fail "attach $d to $g failed but not by the lock manager: $out"; return 1; }
  check_holder "$out" "$@"
}
detach() { local out; out=$(vsh detach-disk "$1" "$2" --live) || fail "detach $2 from $1: $out"; }

ensure_probe() {
  [ "$(guest_state probe)" = running ] && return 0
  define_guest probe && start_ok probe
}
# probe_locked DISK HOLDER...: the lock manager refuses DISK to another guest.
probe_locked() {
  local d=$1; shift
  ensure_probe || return 1
  attach_refused probe "$d" sda "$@" || { REASON="probe: $REASON"; return 1; }
}
# probe_free DISK: the lock manager lets another guest take DISK (then it is detached).
# Where a paused guest still has the image open, QEMU's own image locking refuses the
# hot-plug after the lock manager allowed it: that still means free as far as the lock
# manager goes.
probe_free() {
  local out
  ensure_probe || return 1
  if out=$(vsh attach-disk probe "$1" sda --targetbus scsi --live); then
    detach probe sda
  elif printf '%s' "$out" | grep -q "$BUSY_RE"; then
    fail "probe: the lock manager refused $1: $out"
  elif ! printf '%s' "$out" | grep -q 'Failed to get .* lock'; then
    fail "probe: attach $1 failed: $out"
  fi
}

# wait_stopped GUEST: libvirt noticed the guest is gone (QEMU quit or was killed).
wait_stopped() {
  wait_for 300 eval '[ "$(guest_state '"$1"')" = "shut off" ]' || fail "$1 still '$(guest_state "$1")'"
}
wait_running() {
  wait_for 300 eval '[ "$(guest_state '"$1"')" = running ]' || fail "$1 is '$(guest_state "$1")', expected running"
}

# restart_daemon TERM|KILL: libvirtd goes and comes back; running guests stay.
restart_daemon() {
  stop_libvirtd "$1"
  start_libvirtd || fail "libvirtd did not come back after SIG$1"
}
