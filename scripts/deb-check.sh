#!/usr/bin/env bash
# The Debian packages as an operator gets them (`make deb-check`, run by `make check`):
#   scripts/deb-check.sh DEBDIR        (as root; DEBDIR holds the .deb files of `make deb`)
# 1. lintian reports no error and no warning (overrides carry their reason).
# 2. The packages are installed with dpkg into a throw-away root: an overlay whose lower
#    layer is this machine's root file system (Debian 12 with libvirt, as ensure-deps.sh
#    set it up) and whose upper layer is a tmpfs, in a private mount namespace. The host
#    is never written to; everything the packages change lands in the upper layer.
# 3. In that root, with no environment variable and no path set by hand: a C consumer
#    built through pkg-config runs and loads lockspace from libvirtcore's built-in
#    directory; Debian's libvirtd with lock_manager = "lockspace" in qemu.conf loads the
#    plugin from where libvirt looks and starts a guest whose disk `virtcore-lock` (with
#    its default config, the package's conffile) then shows held.
# 4. `dpkg --purge` removes the packages; none of their files, no directory they created,
#    no state of the plugin (/var/lib/virtcore) is left: the upper layer holds only dpkg's
#    own records and caches afterwards.
# Exit 0 passed, 1 failed, 77 skipped (not root, no overlayfs or namespaces, a tool missing).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)

if [ -n "${VIRTCORE_DEB_INNER:-}" ]; then
  . "$top/scripts/deb-check-inner.sh"
  exit $?
fi

debdir=$(realpath "${1:-$top/build/deb}")
skip() { echo "deb-check: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (dpkg in a private mount namespace)"
for p in dpkg-deb lintian unshare chroot gcc pkg-config libvirtd virsh qemu-system-x86_64; do
  command -v "$p" >/dev/null || skip "$p not installed (scripts/ensure-deps.sh installs it)"
done
ls "$debdir"/*.deb >/dev/null 2>&1 || { echo "deb-check: no .deb in $debdir (run make deb)"; exit 1; }
getent passwd libvirt-qemu >/dev/null || skip "no user libvirt-qemu (scripts/ensure-deps.sh creates it)"

echo "deb-check: lintian on $(cd "$debdir" && echo *.deb)"
out=$(lintian --fail-on error,warning "$debdir"/*.deb 2>&1); rc=$?
printf '%s\n' "$out" | grep -v '^running with root privileges' | grep . | sed 's/^/#   /'
[ $rc -eq 0 ] || { echo "not ok - lintian"; exit 1; }
echo "ok - lintian: no error, no warning"

work=$(mktemp -d /tmp/virtcore-deb-check.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
# The overlay and every mount below die with the namespace: nothing to undo on the host.
VIRTCORE_DEB_INNER=1 W=$work DEBDIR=$debdir unshare -m --propagation private \
  bash "$0"
exit $?
