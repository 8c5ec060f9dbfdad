# virtcore-lock against the real libvirtd (issue 10): lockspace only, since the program
# reads lockspace's lease files. It runs inside the driver's namespace with no
# --config: the default, /etc/libvirt/qemu-lockspace.conf, is the file libvirtd hands
# the plugin. Scenarios are functions sc_NAME like scenarios.sh's.

CLI_SCENARIOS=(cli-run-refused-by-guest cli-run-blocks-start cli-status-shows-guests
               cli-run-readonly-beside-guest cli-run-refused-by-paused-guest
               cli-run-creates-disk)
VL=("$TOP/target/release/virtcore-lock")

# vl_held DISK: waits until virtcore-lock says DISK is held (exit status 1 of `who`).
vl_who_held() { "${VL[@]}" who "$1" >/dev/null 2>&1; [ $? -eq 1 ]; }
vl_held() { wait_for 600 vl_who_held "$1" || fail "virtcore-lock who $1: not held"; }

# `run` on a running guest's exclusive disk is refused (75), naming the guest and its
# QEMU's pid; after `virsh destroy` it succeeds with COMMAND's own status.
sc_cli-run-refused-by-guest() {
  local d out rc; d=$(new_disk d1)
  define_guest a "$d" || return 1
  start_ok a || return 1
  out=$("${VL[@]}" run --disk "$d" -- true 2>&1); rc=$?
  [ "$rc" -eq 75 ] || { fail "run on a's disk: exit $rc, expected 75: $out"; return 1; }
  printf '%s' "$out" | grep -q "guest 'a' (uuid .*, pid $(guest_pid a)," ||
    { fail "refusal does not name guest a with its pid $(guest_pid a): $out"; return 1; }
  vsh destroy a >/dev/null || { fail "destroy a"; return 1; }
  out=$("${VL[@]}" run --disk "$d" -- sh -c 'exit 7' 2>&1); rc=$?
  [ "$rc" -eq 7 ] || fail "run after destroy: exit $rc, expected COMMAND's 7: $out"
}

# While `run --domain-xml` (the guest's own XML) holds the disks, `virsh start` of that
# guest is refused naming the command and its pid; once COMMAND exits, it starts.
sc_cli-run-blocks-start() {
  local d out pid run; d=$(new_disk d1)
  define_guest a "$d" || return 1
  rm -f "$T/cli.pid"
  "${VL[@]}" run --domain-xml "$T/xml/a.xml" -- \
    sh -c "echo \$\$ > $T/cli.pid.tmp; mv $T/cli.pid.tmp $T/cli.pid; exec sleep 600" &
  run=$!
  wait_for 600 test -s "$T/cli.pid" || { fail "run did not start its command"; kill "$run"; return 1; }
  pid=$(cat "$T/cli.pid")
  vl_held "$d" || { kill "$pid"; return 1; }
  if out=$(vsh start a); then
    fail "start a succeeded while virtcore-lock run held its disk"; kill "$pid"; return 1
  fi
  printf '%s' "$out" | grep -q "$BUSY_RE" && printf '%s' "$out" | grep -q "guest 'run:sh' (uuid .*, pid $pid," ||
    { fail "refusal does not name run:sh with pid $pid: $out"; kill "$pid"; return 1; }
  kill -TERM "$pid"
  wait "$run"
  start_ok a && probe_locked "$d" a
}

# `status` lists every running guest's disks (guest name, its QEMU's pid, mode) and
# nothing once they stopped.
sc_cli-status-shows-guests() {
  local d1 d2 d3 out g; d1=$(new_disk d1); d2=$(new_disk d2); d3=$(new_disk d3)
  define_guest a "$d1" "$d3:shareable" && define_guest b "$d2" "$d3:shareable" || return 1
  start_ok a && start_ok b || return 1
  out=$("${VL[@]}" status) || { fail "status failed: $out"; return 1; }
  has() { printf '%s\n' "$out" | grep -q "$1"; }
  has "disk:$d1 .*exclusive .*a (uuid .*, pid $(guest_pid a)," &&
    has "disk:$d2 .*exclusive .*b (uuid .*, pid $(guest_pid b)," &&
    has "disk:$d3 .*shared .*pid $(guest_pid a)," && has "disk:$d3 .*shared .*pid $(guest_pid b)," ||
    { fail "status does not show every disk with its guests: $out"; return 1; }
  "${VL[@]}" status --json > "$T/status.json" || { fail "status --json failed"; return 1; }
  grep -q "\"path\": \"$d1\"" "$T/status.json" || { fail "status --json lacks $d1"; return 1; }
  vsh destroy a >/dev/null && vsh destroy b >/dev/null || { fail "destroy"; return 1; }
  out=$("${VL[@]}" status)
  printf '%s\n' "$out" | grep -q "^no resource held" || fail "status after the guests stopped: $out"
}

# `run --readonly` beside a running guest is allowed, as a <readonly/> disk would be;
# without it, refused.
sc_cli-run-readonly-beside-guest() {
  local d out rc; d=$(new_disk d1)
  define_guest a "$d" || return 1
  start_ok a || return 1
  out=$("${VL[@]}" run --readonly --disk "$d" -- true 2>&1); rc=$?
  [ "$rc" -eq 0 ] || { fail "run --readonly beside a: exit $rc: $out"; return 1; }
  "${VL[@]}" run --disk "$d" -- true >/dev/null 2>&1; rc=$?
  [ "$rc" -eq 75 ] || fail "run (exclusive) beside a: exit $rc, expected 75"
}

# A paused guest (libvirt released its locks, but QEMU still has the disk open): `who`
# and `status` show it "registered (paused)", `run` is refused (75) naming it and its
# QEMU's pid, `run --readonly` is allowed; it resumes undisturbed.
sc_cli-run-refused-by-paused-guest() {
  local d out rc; d=$(new_disk d1)
  define_guest a "$d" || return 1
  start_ok a || return 1
  vsh suspend a >/dev/null || { fail "suspend a"; return 1; }
  out=$("${VL[@]}" who "$d"); rc=$?
  [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q "registered (paused) by a (uuid .*, pid $(guest_pid a)," ||
    { fail "who beside paused a: exit $rc: $out"; return 1; }
  "${VL[@]}" status | grep -q "disk:$d .*registered (paused)" || { fail "status lacks paused a"; return 1; }
  out=$("${VL[@]}" run --disk "$d" -- true 2>&1); rc=$?
  [ "$rc" -eq 75 ] && printf '%s' "$out" | grep -q "paused guest a (uuid .*, pid $(guest_pid a)," ||
    { fail "run beside paused a: exit $rc, expected 75 naming a: $out"; return 1; }
  out=$("${VL[@]}" run --readonly --disk "$d" -- true 2>&1) || { fail "run --readonly beside paused a: $out"; return 1; }
  resume_ok a && probe_locked "$d" a
}

# A disk that does not exist yet, locked by `run` through a symlinked directory and
# created by COMMAND: the guest whose XML names the real path is refused naming it.
sc_cli-run-creates-disk() {
  local d link out pid run; d="$T/disks/$DISK_TAG-new.img"; link="$T/disks-link"
  rm -f "$d" "$link"; ln -s "$T/disks" "$link"
  rm -f "$T/cli.pid"
  "${VL[@]}" run --disk "$link/$DISK_TAG-new.img" -- sh -c \
    "truncate -s 16M $link/$DISK_TAG-new.img; echo \$\$ > $T/cli.pid.tmp; mv $T/cli.pid.tmp $T/cli.pid; exec sleep 600" &
  run=$!
  wait_for 600 test -s "$T/cli.pid" || { fail "run did not start its command"; kill "$run"; return 1; }
  pid=$(cat "$T/cli.pid")
  define_guest a "$d" || { kill "$pid"; return 1; }
  if out=$(vsh start a); then
    fail "start a succeeded on a disk run created under its lock"; kill "$pid"; return 1
  fi
  printf '%s' "$out" | grep -q "guest 'run:sh' (uuid .*, pid $pid," ||
    { fail "refusal does not name run:sh with pid $pid: $out"; kill "$pid"; return 1; }
  kill -TERM "$pid"; wait "$run"; rm -f "$link"
  start_ok a
}
