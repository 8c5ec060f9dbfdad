# Scenarios of the real-libvirtd suite, one function each (sc_NAME), run once per lock
# driver by run.sh on fresh disks and guests. Guests: a, b, c (probe is the checks').

SCENARIOS=(exclusive-refused shareable-shared readonly suspend-resume
           paused-disk-taken-then-freed stop-destroy-frees stop-qmp-quit-frees
           stop-sigkill-frees restart-sigterm-keeps restart-sigkill-keeps
           hotplug-refused hotplug-moved hotplug-freed hotplug-kept-across-restart
           save-restore managedsave start-paused-resume cycles-20)

sc_exclusive-refused() {
  local d; d=$(new_disk d1)
  define_guest a "$d" && define_guest b "$d" || return 1
  start_ok a && start_refused b a && probe_locked "$d" a
}

sc_shareable-shared() {
  local d; d=$(new_disk d1)
  define_guest a "$d:shareable" && define_guest b "$d:shareable" && define_guest c "$d" || return 1
  start_ok a && start_ok b && start_refused c a b &&
    vsh destroy a >/dev/null && vsh destroy b >/dev/null && start_ok c
}

# Read-only disks take no lock (as in lockd): readers and one writer coexist.
sc_readonly() {
  local d; d=$(new_disk d1)
  define_guest a "$d:readonly" && define_guest b "$d:readonly" && define_guest c "$d" || return 1
  start_ok a && start_ok b && start_ok c && probe_locked "$d" c
}

sc_suspend-resume() {
  local d; d=$(new_disk d1)
  define_guest a "$d" || return 1
  start_ok a && vsh suspend a >/dev/null && resume_ok a && probe_locked "$d" a &&
    vsh suspend a >/dev/null && resume_ok a && probe_locked "$d" a
}

# Pausing releases (libvirt's virDomainLockProcessPause): another guest may take the disk;
# resuming is refused while it has it, and works once it is gone.
sc_paused-disk-taken-then-freed() {
  local d; d=$(new_disk d1)
  define_guest a "$d" && define_guest b "$d" || return 1
  start_ok a && vsh suspend a >/dev/null && start_ok b && resume_refused a b &&
    vsh destroy b >/dev/null && resume_ok a && probe_locked "$d" a
}

sc_stop-destroy-frees() {
  local d; d=$(new_disk d1)
  define_guest a "$d" && define_guest b "$d" || return 1
  start_ok a && vsh destroy a >/dev/null && probe_free "$d" && start_ok b
}

sc_stop-qmp-quit-frees() {
  local d; d=$(new_disk d1)
  define_guest a "$d" && define_guest b "$d" || return 1
  start_ok a || return 1
  vsh qemu-monitor-command a '{"execute":"quit"}' >/dev/null
  wait_stopped a && probe_free "$d" && start_ok b
}

sc_stop-sigkill-frees() {
  local d p; d=$(new_disk d1)
  define_guest a "$d" && define_guest b "$d" || return 1
  start_ok a || return 1
  p=$(guest_pid a); [ -n "$p" ] || { fail "no pid for a"; return 1; }
  kill -KILL "$p"
  wait_stopped a && probe_free "$d" && start_ok b
}

restart_keeps() {
  local sig=$1 d1 d2; d1=$(new_disk d1); d2=$(new_disk d2)
  define_guest a "$d1" && define_guest b "$d2" && define_guest c "$d1" || return 1
  start_ok a && start_ok b && restart_daemon "$sig" && wait_running a && wait_running b &&
    probe_locked "$d1" a && probe_locked "$d2" b && start_refused c a &&
    define_guest c "$d2" && start_refused c b
}
sc_restart-sigterm-keeps() { restart_keeps TERM; }
sc_restart-sigkill-keeps() { restart_keeps KILL; }

sc_hotplug-refused() {
  local d; d=$(new_disk d1)
  define_guest a "$d" && define_guest b || return 1
  start_ok a && start_ok b && attach_refused b "$d" sdb a
}

sc_hotplug-moved() {
  local d; d=$(new_disk d3)
  define_guest a && define_guest b || return 1
  start_ok a && start_ok b && attach a "$d" sdb && attach_refused b "$d" sdb a &&
    detach a sdb && attach b "$d" sdb && probe_locked "$d" b
}

sc_hotplug-freed() {
  local d; d=$(new_disk d3)
  define_guest a || return 1
  start_ok a && attach a "$d" sdb && probe_locked "$d" a && detach a sdb && probe_free "$d"
}

sc_hotplug-kept-across-restart() {
  local d; d=$(new_disk d4)
  define_guest a || return 1
  start_ok a && attach a "$d" sdb && restart_daemon TERM && wait_running a &&
    probe_locked "$d" a && restart_daemon KILL && wait_running a && probe_locked "$d" a
}

sc_save-restore() {
  local d out; d=$(new_disk d1)
  define_guest a "$d" || return 1
  start_ok a || return 1
  out=$(vsh save a "$T/save/a.save") || { fail "save: $out"; return 1; }
  probe_free "$d" || return 1
  out=$(vsh restore "$T/save/a.save") || { fail "restore: $out"; return 1; }
  wait_running a && probe_locked "$d" a
}

sc_managedsave() {
  local d out; d=$(new_disk d1)
  define_guest a "$d" || return 1
  start_ok a || return 1
  out=$(vsh managedsave a) || { fail "managedsave: $out"; return 1; }
  probe_free "$d" && start_ok a && wait_running a && probe_locked "$d" a
}

# A guest started paused is only registered (libvirt: REGISTER_ONLY in the child): the
# disk is locked once it is resumed.
sc_start-paused-resume() {
  local d; d=$(new_disk d1)
  define_guest a "$d" || return 1
  start_ok a --paused && probe_free "$d" && resume_ok a && probe_locked "$d" a
}

# 20 start/destroy cycles leave nothing behind: no QEMU, no new descriptors in the
# daemons, no new files in the lockspace directory, the disk free.
sc_cycles-20() {
  local d i p fd0 fd1 lfd0 lfd1 f0 f1 pids=(); d=$(new_disk d1)
  define_guest a "$d" || return 1
  ensure_probe || return 1
  start_ok a && vsh destroy a >/dev/null || return 1   # warm-up
  fd0=$(ls /proc/"$LIBVIRTD_PID"/fd | wc -l)
  lfd0=$([ -n "$VIRTLOCKD_PID" ] && ls /proc/"$VIRTLOCKD_PID"/fd | wc -l)
  f0=$(ls -A "$T/lockspace" | wc -l)
  for ((i = 0; i < 20; i++)); do
    start_ok a || { REASON="cycle $i: $REASON"; return 1; }
    pids+=("$(guest_pid a)")
    vsh destroy a >/dev/null || { fail "cycle $i: destroy failed"; return 1; }
  done
  fd1=$(ls /proc/"$LIBVIRTD_PID"/fd | wc -l)
  lfd1=$([ -n "$VIRTLOCKD_PID" ] && ls /proc/"$VIRTLOCKD_PID"/fd | wc -l)
  f1=$(ls -A "$T/lockspace" | wc -l)
  # A descriptor or two come and go with client connections; a leak per cycle is 20.
  [ "$fd1" -lt $((fd0 + 5)) ] || { fail "libvirtd descriptors $fd0 -> $fd1"; return 1; }
  [ "${lfd1:-0}" -lt $((${lfd0:-0} + 5)) ] || { fail "virtlockd descriptors $lfd0 -> $lfd1"; return 1; }
  [ "$f1" -le "$f0" ] || { fail "lockspace files $f0 -> $f1"; return 1; }
  for p in "${pids[@]}"; do
    [ -n "$p" ] && [ -d "/proc/$p" ] && grep -q qemu "/proc/$p/comm" 2>/dev/null &&
      { fail "QEMU $p of guest a is left"; return 1; }
  done
  [ -e /run/libvirt/qemu/a.pid ] && { fail "pid file of guest a is left"; return 1; }
  probe_free "$d"
}
