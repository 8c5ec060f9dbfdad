#!/usr/bin/env bash
# Installs into a staging DESTDIR and builds a C program the way a user would: through
# pkg-config, against the installed header, shared (via the SONAME link) and static.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
make -s -C "$top" install DESTDIR="$stage" >/dev/null
prefix=$(sed -n 's/^prefix=//p' "$top/virtcore.pc")
libdir=$(sed -n 's/^libdir=//p' "$top/virtcore.pc")
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=$((fail+1)); fi; }

check "SONAME link libvirtcore.so.0" "[ -L '$stage$libdir/libvirtcore.so.0' ]"
check "dev link libvirtcore.so" "[ -L '$stage$libdir/libvirtcore.so' ]"
check "static library" "[ -f '$stage$libdir/libvirtcore.a' ]"
check "header" "[ -f '$stage$prefix/include/virtcore.h' ]"
check "lock driver directory" "[ -d '$stage$libdir/virtcore/lock-driver' ]"
check "virtcore-lock in bindir, runs" "'$stage$prefix/bin/virtcore-lock' --version | grep -q '^virtcore-lock '"
check "virtcore-lock does not link libvirtcore" "! readelf -d '$stage$prefix/bin/virtcore-lock' | grep -q libvirtcore"
check "virtcore-lock man pages" "for p in virtcore-lock virtcore-lock-status virtcore-lock-who virtcore-lock-run; do grep -q '^.TH' '$stage$prefix/share/man/man1/'\$p.1 || exit 1; done"

export PKG_CONFIG_PATH="$stage$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage"
check "pkg-config knows virtcore" "pkg-config --exists virtcore"
check "lockdriverdir variable" "PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=lockdriverdir virtcore | grep -qx '$libdir/virtcore/lock-driver'"

cat > "$stage/user.c" <<'C'
#include <virtcore.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    virResetLastError();
    virReportErrorHelper(VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, __FILE__, __func__, __LINE__, "x=%d", 42);
    if (virGetLastErrorCode() != VIR_ERR_INTERNAL_ERROR) return 1;
    if (strcmp(virGetLastErrorMessage(), "internal error: x=42") != 0) return 2;
    puts("installed library works");
    return 0;
}
C
cflags=$(pkg-config --cflags virtcore)
libs=$(pkg-config --libs virtcore)
check "compile and link against the installed shared library" \
  "gcc -std=c99 -Wall -Wextra -Werror $cflags '$stage/user.c' -o '$stage/user' $libs"
check "run it (resolves libvirtcore.so.0 by SONAME)" \
  "LD_LIBRARY_PATH='$stage$libdir' '$stage/user' >/dev/null && readelf -d '$stage/user' | grep -q 'NEEDED.*libvirtcore.so.0'"
check "link statically (pkg-config --static)" \
  "gcc -std=c99 $cflags '$stage/user.c' -o '$stage/user-static' -Wl,-Bstatic -L'$stage$libdir' -lvirtcore -Wl,-Bdynamic \$(pkg-config --static --libs-only-l virtcore | sed 's/-lvirtcore//') && '$stage/user-static' >/dev/null"
check "static binary does not need libvirtcore.so" "! readelf -d '$stage/user-static' | grep -q libvirtcore"

total=14
echo "install-check: $((total-fail)) passed, $fail failed"
exit $(( fail > 0 ))
