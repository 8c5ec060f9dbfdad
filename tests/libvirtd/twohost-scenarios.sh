# Scenarios of the two-host suite, one function each (sc_NAME), run once per driver by
# twohost.sh on fresh disks in the shared directory. Hosts A and B (twohost-lib.sh).

TWOHOST_SCENARIOS=(migrate-live migrate-aborted migrate-dest-killed host-a-dies stale-state-start
                   migrate-suspend migrate-paused migrate-undefinesource migrate-source-restart
                   shareable-readonly migrate-hotplugged)
QEMU_USER=libvirt-qemu
# Scenarios in which lockd (libvirt's own driver) is wrong, and why.
declare -A LOCKD_WRONG=()

# poll_third G DISK OUT: until OUT/stop exists, starts guest G (DISK) on B then A, over and
# over; when a start succeeds, notes whether guest a ran anywhere beside it ("two
# writers") in OUT/log, and stops G again.
poll_third() {
  local g=$1 out=$3 h sa sb
  while [ ! -e "$out/stop" ]; do
    for h in B A; do
      if ! vsh_on "$h" start "$g" >/dev/null; then
        echo "refused on $h" >> "$out/log"
      else
        sa=$(state_on A a); sb=$(state_on B a)
        echo "started on $h; a on A: '$sa', on B: '$sb'" >> "$out/log"
        [ "$sa" = running ] || [ "$sb" = running ] && echo "TWO WRITERS" >> "$out/log"
        vsh_on "$h" destroy "$g" >/dev/null
      fi
    done
  done
}

# Live migration A -> B while a third guest c (same disk, defined on both hosts) tries to
# start throughout: it never runs beside a. Afterwards B's QEMU holds the disk: refused on
# both hosts naming a on B, and `virtcore-lock status` on both hosts names a, B's QEMU pid
# and host B.
sc_migrate-live() {
  local d out poll pb st h; d=$(new_disk d1)
  define_slow_on A a "$d" && define_on A c "$d" && define_on B c "$d" || return 1
  use_host A; start_ok a || return 1
  mkdir -p "$W/poll" && rm -f "$W/poll/"*
  poll_third c "$d" "$W/poll" & poll=$!
  out=$(migrate A B a --bandwidth 4); st=$?
  touch "$W/poll/stop"; wait "$poll"
  [ $st -eq 0 ] || { fail "migration failed: $out"; return 1; }
  ! grep -q "TWO WRITERS" "$W/poll/log" 2>/dev/null || { fail "two writers: $(cat "$W/poll/log")"; return 1; }
  [ "$(state_on B a)" = running ] || { fail "a is '$(state_on B a)' on B after the migration"; return 1; }
  [ -z "$(state_on A a)" ] || [ "$(state_on A a)" = "shut off" ] || { fail "a is '$(state_on A a)' on A"; return 1; }
  use_host A; start_refused c a@B || return 1
  holds_on B "$d" a@B && holds_on A "$d" a@B || return 1
  REASON="c refused $(grep -c '^refused' "$W/poll/log") times, started $(grep -c '^started' "$W/poll/log") times during the migration"
  [ "$DRIVER" = lockspace ] || return 0
  pb=$(pid_on B a)
  for h in A B; do
    out=$(on "$h" "$TOP/target/release/virtcore-lock" status 2>&1)
    printf '%s\n' "$out" | grep -q "disk:$d .*exclusive .*a (uuid .*, pid $pb, host vc-host-B)" ||
      { fail "virtcore-lock status on $h does not name a on B (pid $pb): $out"; return 1; }
  done
}

# A migration aborted (domjobabort) mid-way: a keeps running on A holding its disk; B
# holds nothing and has no a.
sc_migrate-aborted() {
  local d out mig; d=$(new_disk d1)
  define_slow_on A a "$d" && define_on B c "$d" || return 1
  use_host A; start_ok a || return 1
  migrate A B a --bandwidth 1 > "$W/mig.out" & mig=$!
  wait_for 300 eval '[ -n "$(pid_on B a)" ]' || { fail "no destination QEMU on B"; wait $mig; return 1; }
  sleep 1
  out=$(vsh_on A domjobabort a) || { fail "domjobabort: $out"; wait $mig; return 1; }
  wait $mig && { fail "migration succeeded after domjobabort"; return 1; }
  still_on_a "$d"
}

# The destination QEMU killed mid-way: the same.
sc_migrate-dest-killed() {
  local d p mig; d=$(new_disk d1)
  define_slow_on A a "$d" && define_on B c "$d" || return 1
  use_host A; start_ok a || return 1
  migrate A B a --bandwidth 1 > "$W/mig.out" & mig=$!
  wait_for 300 eval '[ -n "$(pid_on B a)" ]' || { fail "no destination QEMU on B"; wait $mig; return 1; }
  sleep 1
  p=$(pid_on B a); kill -KILL "$p"
  wait $mig && { fail "migration succeeded with its destination killed"; return 1; }
  still_on_a "$d"
}

# still_on_a DISK: after a failed migration, a runs on A with its disk; B has no a, and
# c cannot start on B.
still_on_a() {
  wait_for 300 eval '[ "$(state_on A a)" = running ]' || { fail "a is '$(state_on A a)' on A"; return 1; }
  wait_for 300 eval '[ -z "$(pid_on B a)" ]' || { fail "a's QEMU is left on B"; return 1; }
  case $(state_on B a) in ""|"shut off") ;; *) fail "a is '$(state_on B a)' on B"; return 1 ;; esac
  use_host B; start_refused c a@A && holds_on A "$1" a@A
}

# Host A dies: its libvirtd killed first; while A's QEMU still runs, B's start of a is
# refused naming A's guest and host; then A's QEMU (and virtlockd) killed: a starts on B.
sc_host-a-dies() {
  local d p; d=$(new_disk d1)
  define_on A a "$d" && define_on B a "$d" || return 1
  use_host A; start_ok a || return 1
  p=$(pid_on A a)
  kill -KILL "$(daemon_pid_on A libvirtd)"
  use_host B; start_refused a a@A || { REASON="A's libvirtd killed: $REASON"; return 1; }
  kill -KILL "$p"
  [ "$DRIVER" = lockd ] && kill -KILL "$(daemon_pid_on A virtlockd)"
  wait_for 100 eval '! kill -0 '"$p"' 2>/dev/null'
  use_host B; start_ok a && holds_on B "$d" a@B
}

# A guest migrated away keeps, in its definition on the source host, the lock state
# libvirt 9.0 saved when it paused for the migration (priv->lockState); the next ordinary
# start there passes it to drvAcquire. It must start (twice: a failed resume keeps the
# state), and its disk is then held.
sc_stale-state-start() {
  local d; d=$(new_disk d1)
  define_on A a "$d" || return 1
  use_host A; start_ok a || return 1
  out=$(migrate A B a) || { fail "migration failed: $out"; return 1; }
  vsh_on B destroy a >/dev/null
  use_host A; start_ok a || { REASON="after a migration away: $REASON"; return 1; }
  holds_on B "$d" a@A || return 1
  vsh_on A destroy a >/dev/null
  use_host A; start_ok a && holds_on B "$d" a@A
}

# --suspend: a arrives paused on B (libvirt registers it only: the disk is free); once
# resumed there, B's QEMU holds it.
sc_migrate-suspend() {
  local d out; d=$(new_disk d1)
  define_on A a "$d" || return 1
  use_host A; start_ok a || return 1
  out=$(migrate A B a --suspend) || { fail "migration failed: $out"; return 1; }
  [ "$(state_on B a)" = paused ] || { fail "a is '$(state_on B a)' on B, expected paused"; return 1; }
  use_host B; resume_ok a && holds_on A "$d" a@B
}

# A paused guest migrated: it stays paused on B, and resumes there holding its disk.
sc_migrate-paused() {
  local d out; d=$(new_disk d1)
  define_on A a "$d" || return 1
  use_host A; start_ok a && vsh suspend a >/dev/null || return 1
  out=$(migrate A B a) || { fail "migration failed: $out"; return 1; }
  [ "$(state_on B a)" = paused ] || { fail "a is '$(state_on B a)' on B, expected paused"; return 1; }
  use_host B; resume_ok a && holds_on A "$d" a@B
}

# --persistent --undefinesource: a is defined on B only afterwards; B holds the disk, and
# a defined again on A cannot start there.
sc_migrate-undefinesource() {
  local d out; d=$(new_disk d1)
  define_on A a "$d" || return 1
  use_host A; start_ok a || return 1
  out=$(migrate A B a --persistent --undefinesource) || { fail "migration failed: $out"; return 1; }
  [ -z "$(state_on A a)" ] || { fail "a is still defined on A: '$(state_on A a)'"; return 1; }
  vsh_on B dominfo a | grep -q "^Persistent: *yes" || { fail "a is not persistent on B"; return 1; }
  define_on A a "$d" && use_host A && start_refused a a@B
}

# A's libvirtd restarted (SIGTERM, then SIGKILL) right after the migration: nothing
# changes, B keeps the disk.
sc_migrate-source-restart() {
  local d out sig; d=$(new_disk d1)
  define_on A a "$d" && define_on A c "$d" || return 1
  use_host A; start_ok a || return 1
  out=$(migrate A B a) || { fail "migration failed: $out"; return 1; }
  for sig in TERM KILL; do
    on A kill -s "$sig" "$(daemon_pid_on A libvirtd)"
    wait_for 300 eval '! on A test -e /proc/'"$(daemon_pid_on A libvirtd)"'/comm' >/dev/null
    on A bash -c '. "$0"; start_libvirtd' "$HERE/env.sh" || { fail "A's libvirtd did not come back after SIG$sig"; return 1; }
    use_host A; start_refused c a@B || { REASON="after SIG$sig: $REASON"; return 1; }
  done
  holds_on B "$d" a@B
}

# A <shareable/> disk used by guests on both hosts, a <readonly/> one beside a writer on
# the other host; an exclusive user is refused on either host naming both sharers.
sc_shareable-readonly() {
  local d r; d=$(new_disk d1); r=$(new_disk r1)
  define_on A a "$d:shareable" "$r:readonly" && define_on B b "$d:shareable" "$r:readonly" &&
    define_on B c "$d" && define_on A w "$r" || return 1
  use_host A; start_ok a || return 1
  use_host B; start_ok b && start_refused c a@A b@B || return 1
  use_host A; start_ok w && holds_on B "$r" w@A
}

# A disk hot-plugged into a on A moves with it to B: held by a on B afterwards.
sc_migrate-hotplugged() {
  local d h out; d=$(new_disk d1); h=$(new_disk h1)
  define_on A a "$d" || return 1
  use_host A; start_ok a && attach a "$h" sdb || return 1
  out=$(migrate A B a) || { fail "migration failed: $out"; return 1; }
  holds_on A "$h" a@B && holds_on B "$h" a@B
}
