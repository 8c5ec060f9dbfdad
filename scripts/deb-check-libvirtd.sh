# deb-check, in the throw-away root with the packages installed, in a mount namespace of
# its own (run by scripts/deb-check-inner.sh as `chroot ROOT unshare -m bash THIS`, with
# an empty environment). Debian's libvirtd with lock_manager = "lockspace" and nothing
# else set: it must find lockspace.so where libvirt looks, read the package's conffile
# (the default lockspace directory) and hold a guest's disk. libvirt's state, log and
# cache directories and a copy of /etc/libvirt are private to this run (tmpfs under
# /tmp), so only the plugin's own state lands in the root. Prints "ok - ..." lines.
set -u
T=/tmp/lv
mkdir -p "$T/etc" "$T/lib" "$T/log" "$T/cache" "$T/disks" "$T/xml" /run/libvirt || exit 1
. /tmp/suite/env.sh
. /tmp/suite/guests.sh
cp -a /etc/libvirt/. "$T/etc/" || exit 1
mount --bind "$T/etc" /etc/libvirt && mount --bind "$T/lib" /var/lib/libvirt &&
  mount --bind "$T/log" /var/log/libvirt && mount --bind "$T/cache" /var/cache/libvirt || exit 1
echo 'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"' > /etc/libvirt/libvirtd.conf
write_qemu_conf lockspace
trap 'stop_daemons' EXIT
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }

if ! start_libvirtd; then
  notok "libvirtd with lock_manager = \"lockspace\" starts"; tail -n 20 "$T/log/libvirtd.log"; exit 1
fi
so=/usr/lib/x86_64-linux-gnu/libvirt/lock-driver/lockspace.so
if grep -q " $so\$" "/proc/$LIBVIRTD_PID/maps"; then
  ok "libvirtd with lock_manager = \"lockspace\" starts and loaded $so"
else
  notok "libvirtd loaded $so"; grep lock-driver "/proc/$LIBVIRTD_PID/maps"; exit 1
fi

DISK_TAG=deb
disk=$(new_disk a)
if define_guest vcdeb "$disk" && out=$("${VIRSH[@]}" start vcdeb 2>&1); then
  ok "virsh starts a guest under lockspace"
else
  notok "virsh starts a guest under lockspace"; echo "$out"; tail -n 20 "$T/log/libvirtd.log"; exit 1
fi
# virtcore-lock with its defaults (the conffile) sees what libvirtd's plugin holds.
out=$(virtcore-lock status 2>&1)
if printf '%s\n' "$out" | grep -qF "$disk" && printf '%s\n' "$out" | grep -q vcdeb; then
  ok "virtcore-lock status (the package's config) shows the guest holding its disk"
else
  notok "virtcore-lock status shows the guest holding its disk"; echo "$out"
fi
virtcore-lock run --disk "$disk" -- true > "$T/run.out" 2>&1
rc=$?
if [ $rc -eq 75 ] && grep -q vcdeb "$T/run.out"; then
  ok "virtcore-lock run on the guest's disk is refused naming the guest"
else
  notok "virtcore-lock run on the guest's disk is refused (exit $rc)"; cat "$T/run.out"
fi
"${VIRSH[@]}" destroy vcdeb >/dev/null 2>&1
if virtcore-lock who "$disk" >/dev/null 2>&1; then
  ok "the disk is free once the guest is destroyed"
else
  notok "the disk is free once the guest is destroyed"
fi
remove_guests
