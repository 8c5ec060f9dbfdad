# Guests and probes of the real-libvirtd suite. Guests run no OS (a 16 MiB raw disk on a
# `pc` machine under TCG). Every disk is attached with QEMU's `share-rw=on` (set through
# <qemu:override> for disks given at start-up) so that QEMU's own image locking never
# refuses a second writer on this host: what the suite sees is the lock manager's decision.

QEMU_NS='http://libvirt.org/schemas/domain/qemu/1.0'

# new_disk NAME: a fresh 16 MiB raw image, prints its path. Named after the driver and
# scenario too (DISK_TAG), so a lock one scenario leaves behind cannot decide another.
new_disk() {
  local p="$T/disks/${DISK_TAG:-x}-$1.img"
  rm -f "$p"
  truncate -s 16M "$p" && echo "$p"
}

# define_guest NAME DISK[:shareable|:readonly]...: defines (persistently) guest NAME
# with virtio disks vda, vdb, ... in that order.
define_guest() {
  local name=$1; shift
  local xml="$T/xml/$name.xml" i=0 spec path mode dev
  local letters=abcdefghij
  {
    echo "<domain type='qemu' xmlns:qemu='$QEMU_NS'>"
    echo "  <name>$name</name>"
    echo "  <memory unit='MiB'>32</memory><vcpu>1</vcpu>"
    echo "  <os><type arch='x86_64' machine='pc'>hvm</type></os>"
    echo "  <on_poweroff>destroy</on_poweroff><on_crash>destroy</on_crash>"
    echo "  <devices>"
    echo "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"
    echo "    <controller type='usb' model='none'/><memballoon model='none'/>"
    # Hot-plugged disks go on SCSI: its unplug needs no guest OS to acknowledge it.
    echo "    <controller type='scsi' index='0' model='virtio-scsi'/>"
    for spec in "$@"; do
      path=${spec%%:*}; mode=; [ "$path" != "$spec" ] && mode=${spec#*:}
      dev=vd${letters:$i:1}
      echo "    <disk type='file' device='disk'><driver name='qemu' type='raw'/>"
      echo "      <source file='$path'/><target dev='$dev' bus='virtio'/>"
      [ "$mode" = shareable ] && echo "      <shareable/>"
      [ "$mode" = readonly ] && echo "      <readonly/>"
      echo "    </disk>"
      i=$((i + 1))
    done
    echo "  </devices>"
    if [ $# -gt 0 ]; then
      echo "  <qemu:override>"
      for ((i = 0; i < $#; i++)); do
        echo "    <qemu:device alias='virtio-disk$i'><qemu:frontend>"
        echo "      <qemu:property name='share-rw' type='bool' value='true'/>"
        echo "    </qemu:frontend></qemu:device>"
      done
      echo "  </qemu:override>"
    fi
    echo "</domain>"
  } > "$xml"
  # A guest of that name from earlier in the scenario is replaced (new UUID).
  "${VIRSH[@]}" undefine "$name" --managed-save >/dev/null 2>&1
  "${VIRSH[@]}" define "$xml" >/dev/null
}

guest_state() { "${VIRSH[@]}" domstate "$1" 2>/dev/null | head -n1; }
guest_pid() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }

# Removes every guest of the suite (after each scenario): destroy, drop managed save
# images, undefine.
remove_guests() {
  local g
  for g in $("${VIRSH[@]}" list --all --name 2>/dev/null); do
    "${VIRSH[@]}" destroy "$g" >/dev/null 2>&1
    "${VIRSH[@]}" undefine "$g" --managed-save >/dev/null 2>&1
  done
  kill_guests
}
