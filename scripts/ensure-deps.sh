#!/usr/bin/env bash
# Installs the Debian packages the tests need when they are missing (fast no-op otherwise).
# pkg-config: C tests link through it; libvirt-dev/libvirt0: conformance tests and
# benchmarks against Debian's libvirt 9.0; libvirt-daemon: virtlockd and lockd.so;
# libclang-dev: bindgen in the Rust layout tests; valgrind: memcheck of C tests;
# libvirt-daemon-driver-qemu, libvirt-clients (virsh), qemu-system-x86 (+ its data, BIOS):
# the real-libvirtd suite (tests/libvirtd), which also needs the user libvirt-qemu that
# libvirtd 9.0 looks up at start (created below when missing, as Debian's package does);
# binutils: strip at install time; meson, ninja-build, cmake: install-check builds
# consumers the way their users do; debhelper, dpkg-dev, lintian: `make deb` and deb-check.
set -euo pipefail
need=(pkg-config gcc g++ make binutils libvirt0 libvirt-dev libvirt-daemon libclang-dev valgrind
      libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-system-data seabios
      util-linux meson ninja-build cmake debhelper dpkg-dev lintian)
ensure_qemu_user() {
  getent passwd libvirt-qemu >/dev/null && return 0
  [ "$(id -u)" -eq 0 ] || { echo "ensure-deps: no user libvirt-qemu; create it as root" >&2; return 1; }
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin -c "Libvirt Qemu" libvirt-qemu
}
missing=()
for p in "${need[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then ensure_qemu_user; exit; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-deps: missing packages (${missing[*]}); install them as root" >&2
  exit 1
fi
echo "ensure-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
ensure_qemu_user
