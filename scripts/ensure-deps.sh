#!/usr/bin/env bash
# Installs the Debian packages the tests need when they are missing (fast no-op otherwise).
# pkg-config: C tests link through it; libvirt-dev/libvirt0: conformance tests and
# benchmarks against Debian's libvirt 9.0; libvirt-daemon: virtlockd and lockd.so;
# libclang-dev: bindgen in the Rust layout tests; valgrind: memcheck of C tests;
# binutils: strip at install time; meson, ninja-build, cmake: install-check builds
# consumers the way their users do.
set -euo pipefail
need=(pkg-config gcc g++ make binutils libvirt0 libvirt-dev libvirt-daemon libclang-dev valgrind
      meson ninja-build cmake)
missing=()
for p in "${need[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-deps: missing packages (${missing[*]}); install them as root" >&2
  exit 1
fi
echo "ensure-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
