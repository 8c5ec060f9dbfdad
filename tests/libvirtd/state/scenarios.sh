# Scenarios of the state suite (run.sh), one function each (st_NAME), run in this order
# on one libvirtd with the interposer: the objects made by `objects` (pool vcpool with
# volume vol1, network vcnet, a secret, guest vcguest on vol1) are used by the later ones.

VCLOG=/var/log/libvirt/virtcore-state.log
SECRET_UUID=5a1f9c1e-0b7e-4c8a-9d3e-0000000017aa

# Every list command works on the drivers virtcore started.
st_lists() {
  local cmd out
  for cmd in "list --all" "pool-list --all" "net-list --all" "secret-list" "nwfilter-list" \
             "nodedev-list" "iface-list --all"; do
    # shellcheck disable=SC2086
    out=$(vsh $cmd) || fail "virsh $cmd: $out" || return 1
  done
  # nodedev has content: the driver really runs.
  vsh nodedev-list | grep -q computer || fail "nodedev-list lacks 'computer'"
}

# Define/start/autostart a pool, create a volume, define a network and a secret, define
# and start a guest whose disk is a volume of that pool.
st_objects() {
  local out xml="$T/xml"
  mkdir -p "$T/pool"
  out=$(vsh pool-define-as vcpool dir --target "$T/pool") || fail "pool-define-as: $out" || return 1
  out=$(vsh pool-start vcpool) || fail "pool-start: $out" || return 1
  out=$(vsh pool-autostart vcpool) || fail "pool-autostart: $out" || return 1
  out=$(vsh vol-create-as vcpool vol1 16M --format raw) || fail "vol-create-as: $out" || return 1
  cat > "$xml/vcnet.xml" <<XML
<network><name>vcnet</name><forward mode='bridge'/><bridge name='vcbr17'/></network>
XML
  out=$(vsh net-define "$xml/vcnet.xml") || fail "net-define: $out" || return 1
  out=$(vsh net-autostart vcnet) || fail "net-autostart: $out" || return 1
  cat > "$xml/secret.xml" <<XML
<secret ephemeral='no' private='no'><uuid>$SECRET_UUID</uuid>
  <usage type='volume'><volume>$T/pool/vol1</volume></usage></secret>
XML
  out=$(vsh secret-define "$xml/secret.xml") || fail "secret-define: $out" || return 1
  out=$(vsh secret-set-value "$SECRET_UUID" --base64 dmlydGNvcmU=) || fail "secret-set-value: $out" || return 1
  [ "$(vsh secret-get-value "$SECRET_UUID")" = dmlydGNvcmU= ] || fail "secret value differs" || return 1
  cat > "$xml/vcguest.xml" <<XML
<domain type='qemu'>
  <name>vcguest</name>
  <memory unit='MiB'>32</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/><memballoon model='none'/>
    <disk type='volume' device='disk'><driver name='qemu' type='raw'/>
      <source pool='vcpool' volume='vol1'/><target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>
XML
  out=$(vsh define "$xml/vcguest.xml") || fail "define: $out" || return 1
  start_ok vcguest || return 1
  [ "$(guest_state vcguest)" = running ] || fail "vcguest is $(guest_state vcguest)" || return 1
  # The processes libvirtd starts do not carry the interposer.
  ! tr '\0' '\n' < "/proc/$(guest_pid vcguest)/environ" | grep -q '^LD_PRELOAD=' ||
    fail "QEMU inherited LD_PRELOAD"
}

# SIGHUP: libvirtd's reload handler calls virStateReload, which reaches virtcore.
st_reload() {
  local before
  before=$(grep -c 'virStateReload: ' "$VCLOG")
  kill -HUP "$LIBVIRTD_PID" || fail "cannot signal libvirtd" || return 1
  wait_for 600 eval '[ "$(grep -c "virStateReload: " "$VCLOG")" -gt '"$before"' ]' ||
    fail "no virStateReload in $VCLOG after SIGHUP" || return 1
  kill -0 "$LIBVIRTD_PID" || fail "libvirtd died on SIGHUP" || return 1
  vsh pool-list --all | grep -q vcpool || fail "pool gone after reload" || return 1
  [ "$(guest_state vcguest)" = running ] || fail "vcguest is $(guest_state vcguest) after reload"
}

# Daemon restart with the guest running: same QEMU, still running, and the pool was
# active (tier 0 done) before the QEMU driver (tier 1) reconnected to the guest's volume.
st_restart-keeps-guest() {
  local pid starts log
  pid=$(guest_pid vcguest)
  [ -n "$pid" ] || fail "vcguest has no pid" || return 1
  starts=$(grep -c 'starting tier 0' "$VCLOG")
  stop_libvirtd TERM
  start_libvirtd || fail "libvirtd did not come back" || return 1
  [ "$(guest_pid vcguest)" = "$pid" ] && kill -0 "$pid" || fail "vcguest's QEMU $pid is gone" || return 1
  [ "$(guest_state vcguest)" = running ] || fail "vcguest is $(guest_state vcguest)" || return 1
  vsh pool-info vcpool | grep -q 'State:.*running' || fail "vcpool not active" || return 1
  # In this start's log: storage completed before tier 1 started.
  log=$(awk -v n="$starts" '/starting tier 0/ {k++} k > n' "$VCLOG")
  printf '%s\n' "$log" | grep -n "state driver 'storage' (tier 0): initialize Complete\|starting tier 1: QEMU" |
    awk -F: 'NR == 1 && $0 !~ /storage/ {exit 1} END {exit NR != 2}' ||
    fail "storage did not complete before tier 1 in: $log"
}

# The log shows each driver's tier and start time (Debian's eight state drivers).
st_tiers-logged() {
  local d
  for d in "Remote' (tier 0)" "bridge' (tier 0)" "udev' (tier 0)" "secret' (tier 0)" \
           "storage' (tier 0)" "NWFilter' (tier 0)" "QEMU' (tier 1)"; do
    grep -q "state driver '$d: initialize Complete in [0-9.]* s" "$VCLOG" ||
      fail "no tier and time for '$d in $VCLOG" || return 1
  done
  [ "$(grep -c "state driver 'udev' (tier 0): initialize" "$VCLOG")" -ge 2 ] ||
    fail "not both 'udev' drivers (interface, nodedev) started"
}

# Opt-in parallel start (VIRTCORE_STATE_PARALLEL=4: tier 0's seven drivers on four
# threads, each worker given libvirtd's start-up identity): a restart keeps the guest and
# every object.
st_parallel-restart() {
  local pid rc=0 starts tids
  pid=$(guest_pid vcguest)
  starts=$(grep -c 'starting tier 0' "$VCLOG")
  stop_libvirtd TERM
  VIRTCORE_STATE_PARALLEL=4 start_libvirtd || fail "libvirtd did not start in parallel mode" || rc=1
  # Workers were started, and each took libvirtd's identity before any driver ran on it
  # (which drivers a worker then takes is up to the scheduler).
  tids=$(awk -v n="$starts" '/starting tier 0/ {k++} k == n + 1 && /took libvirtd.s identity/ {print $3}' "$VCLOG" | sort -u | grep -c .)
  [ "$tids" -ge 1 ] || fail "no worker took libvirtd's identity in parallel mode" || rc=1
  ! grep -q "cannot set libvirtd's identity" "$VCLOG" || fail "a worker could not take the identity" || rc=1
  if [ $rc -eq 0 ]; then
    [ "$(guest_pid vcguest)" = "$pid" ] && [ "$(guest_state vcguest)" = running ] ||
      fail "vcguest not kept (pid $pid, now '$(guest_pid vcguest)')" || rc=1
  fi
  [ $rc -eq 0 ] && { vsh pool-info vcpool | grep -q 'State:.*running' || fail "vcpool not active" || rc=1; }
  [ $rc -eq 0 ] && { vsh secret-list | grep -q "$SECRET_UUID" || fail "secret gone" || rc=1; }
  [ $rc -eq 0 ] && { vsh net-list --all | grep -q vcnet || fail "network gone" || rc=1; }
  # Back to the default (sequential) daemon for what follows.
  stop_libvirtd TERM
  start_libvirtd || { fail "libvirtd did not come back"; return 1; }
  return $rc
}

# qemu.conf names a user that does not exist: the QEMU driver fails, what started is
# rolled back in reverse order, libvirtd exits with libvirt's message.
st_driver-fails-rolls-back() {
  local rc
  remove_guests
  stop_libvirtd TERM
  sed -i 's/^user = .*/user = "vc-no-such-user"/' /etc/libvirt/qemu.conf
  rm -f /run/libvirt/libvirtd.pid
  timeout 300 env LD_PRELOAD="$INTERPOSER" libvirtd -p /run/libvirt/libvirtd.pid >/dev/null 2>&1
  rc=$?
  write_qemu_conf lockspace
  # libvirtd ends by itself (libvirt's daemonRunStateInit sends it SIGTERM; it exits 0).
  [ $rc -ne 124 ] || fail "libvirtd did not exit" || return 1
  # libvirt's own wording: "Initialization of QEMU state driver failed: MESSAGE".
  grep -q "error : virStateInitialize:[0-9]* : Initialization of QEMU state driver failed: invalid argument: Failed to parse user 'vc-no-such-user'" \
    /var/log/libvirt/libvirtd.log ||
    fail "libvirtd.log lacks libvirt's message" || return 1
  grep -q 'Driver state initialization failed' /var/log/libvirt/libvirtd.log ||
    fail "libvirtd did not report the failed start-up" || return 1
  grep -q "rolling back: cleanup of NWFilter, udev, storage, secret, udev, bridge, Remote" "$VCLOG" ||
    fail "no rollback in reverse order in $VCLOG"
}
