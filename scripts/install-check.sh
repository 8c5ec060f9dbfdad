#!/usr/bin/env bash
# Installs what `make` built the way users do and checks every installed file agrees with
# the directories of *that* install, whatever the build was made for: another prefix,
# DESTDIR staging, LIBDIR/INCLUDEDIR/LOCKDRIVERDIR overrides; consumers built through
# pkg-config (shared, static with dynamic libc, fully static), meson and CMake, each run; uninstall removes
# exactly what install put there. Every install runs `make install` with sudo's kind of
# environment (no cargo in PATH). Everything happens under one temporary directory; the
# source tree (build/, target/) is left as it was, so a later `make check` is unaffected.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/virtcore-install-check.XXXXXX)
# The consumers load lockspace with its defaults, whose drvInit creates the default
# lockspace directory: removed afterwards (rmdir, only when empty) unless it was there.
vl=/var/lib/virtcore
[ -e "$vl" ] && vl_existed=1 || vl_existed=
trap 'rm -rf "$work"; [ -n "$vl_existed" ] || rmdir "$vl/lockspace" "$vl" 2>/dev/null' EXIT
fail=0
total=0
check() {
  total=$((total + 1))
  if (eval "$2") >"$work/last.log" 2>&1; then echo "ok - $1"; else
    echo "not ok - $1"; sed 's/^/#   /' "$work/last.log" | tail -n 15; fail=$((fail + 1)); fi
}
# make install/uninstall as under sudo: minimal environment, PATH without cargo.
vmake() { env -i PATH=/usr/bin:/bin HOME=/nonexistent make -s -C "$top" "$@"; }
ver=$(sed -n 's/^version = "\(.*\)"/\1/p' "$top/Cargo.toml" | head -n1)
# The in-tree state a later `make check` uses, to compare at the end.
intree() { cat "$top/build/pkgconfig/virtcore.pc"; md5sum "$top/target/release/libvirtcore.so" \
           "$top/target/release/libvirtcore.a"; }
intree > "$work/intree.before"

# A consumer: the library works, and the built-in lock-driver directory is the installed
# one (it names it in its error for a missing plugin, and loads lockspace from it).
mkdir -p "$work/src"
cat > "$work/src/user.c" <<'C'
#define _GNU_SOURCE
#include <virtcore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* usage: user LOCKDRIVERDIR dynamic|static|staged */
int main(int argc, char **argv)
{
    char want[8192];
    virLockManagerPlugin *p;
    if (argc != 3) return 9;
    virResetLastError();
    virReportErrorHelper(VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, __FILE__, __func__, __LINE__, "x=%d", 42);
    if (virGetLastErrorCode() != VIR_ERR_INTERNAL_ERROR ||
        strcmp(virGetLastErrorMessage(), "internal error: x=42") != 0) return 2;
    unsetenv("VIRTCORE_LOCK_DRIVER_DIR");
    unsetenv("LIBVIRT_LOCK_MANAGER_PLUGIN_DIR");
    snprintf(want, sizeof(want), "%s/doesnotexist.so", argv[1]);
    if (virLockManagerPluginNew("doesnotexist", "qemu", "/nonexistent", 0) ||
        !strstr(virGetLastErrorMessage(), want)) {
        fprintf(stderr, "built-in lock-driver dir is not %s: %s\n", argv[1], virGetLastErrorMessage());
        return 3;
    }
    if (strcmp(argv[2], "staged") == 0) { puts("ok"); return 0; }
    /* lockspace.so is found there: it loads (its drvInit may still want its lockspace
     * directory), or, in a fully static program, is refused with a clear error. */
    snprintf(want, sizeof(want), "%s/lockspace.so", argv[1]);
    p = virLockManagerPluginNew("lockspace", "qemu", "/nonexistent", 0);
    if (p) { virLockManagerPluginUnref(p); puts("ok"); return 0; }
    if (!strstr(virGetLastErrorMessage(), want) || strstr(virGetLastErrorMessage(), "not found") ||
        (strcmp(argv[2], "static") == 0) != (strstr(virGetLastErrorMessage(), "statically linked") != NULL)) {
        fprintf(stderr, "lockspace: %s\n", virGetLastErrorMessage());
        return 4;
    }
    puts("ok");
    return 0;
}
C
cat > "$work/src/meson.build" <<'M'
project('user', 'c', default_options: ['c_std=c99', 'warning_level=2', 'werror=true'])
executable('user-shared', 'user.c', dependencies: dependency('virtcore', version: '>=0.1'))
executable('user-static', 'user.c', dependencies: dependency('virtcore', static: true),
           link_args: '-static')
M
cat > "$work/src/CMakeLists.txt" <<'K'
cmake_minimum_required(VERSION 3.13)
project(user C)
find_package(virtcore 0.1 REQUIRED)
add_executable(user-shared user.c)
target_link_libraries(user-shared PRIVATE virtcore::virtcore)
add_executable(user-static user.c)
target_link_libraries(user-static PRIVATE virtcore::virtcore_static)
target_link_options(user-static PRIVATE -static)
K
# A CMake project asking for a version this package must refuse.
mkdir -p "$work/src/toonew"
sed 's/find_package(virtcore 0.1 REQUIRED)/find_package(virtcore 1.0 REQUIRED)/' \
  "$work/src/CMakeLists.txt" > "$work/src/toonew/CMakeLists.txt"
cp "$work/src/user.c" "$work/src/toonew/"

# FILE holds the built-in lock-driver directory record for DIR (src/locking/builtin_dir.rs).
has_record() {
  perl -e 'local $/; open(F, "<:raw", $ARGV[0]) or exit 1; my $d = <F>;
           exit(index($d, "\@VIRTCORE_LOCKDRIVERDIR\@=$ARGV[1]\0") < 0 ? 1 : 0)' "$1" "$2"
}

# Checks one installed tree: $1 name, $2 DESTDIR ('' for none), $3 prefix, $4 libdir,
# $5 includedir, $6 lockdriverdir, $7 'run' when the consumers can run from there.
tree_checks() {
  local n=$1 d=$2 prefix=$3 libdir=$4 incdir=$5 lockdir=$6 run=$7
  local L="$d$libdir" pc="$d$libdir/pkgconfig"
  check "$n: SONAME link, dev link, static library, header, lock driver" \
    "[ -f '$L/libvirtcore.so.$ver' ] && [ \"\$(readlink '$L/libvirtcore.so.0')\" = libvirtcore.so.$ver ] &&
     [ \"\$(readlink '$L/libvirtcore.so')\" = libvirtcore.so.0 ] && [ -f '$L/libvirtcore.a' ] &&
     [ -f '$d$incdir/virtcore.h' ] && [ -f '$d$lockdir/lockspace.so' ]"
  check "$n: .pc says prefix, libdir, includedir, lockdriverdir of this install" \
    "grep -qx 'prefix=$prefix' '$pc/virtcore.pc' && grep -qx 'libdir=$libdir' '$pc/virtcore.pc' &&
     grep -qx 'includedir=$incdir' '$pc/virtcore.pc' && grep -qx 'lockdriverdir=$lockdir' '$pc/virtcore.pc'"
  check "$n: the library's built-in lock-driver directory is this install's (.so and .a)" \
    "has_record '$L/libvirtcore.so.$ver' '$lockdir' && has_record '$L/libvirtcore.a' '$lockdir'"
  check "$n: .so, .a and lock driver stripped of debug info" \
    "! readelf -S -W '$L/libvirtcore.so.$ver' '$L/libvirtcore.a' '$d$lockdir/lockspace.so' |
       grep -qE ' \\.(debug_|llvmbc)'"
  check "$n: installed .so exports only VIRTCORE_0.1, SONAME libvirtcore.so.0" \
    "bash '$top/scripts/check-symbols.sh' '$L/libvirtcore.so.$ver'"
  check "$n: virtcore-lock in bindir runs, links no libvirtcore; its man pages in mandir, README in docdir" \
    "'$d$prefix/bin/virtcore-lock' --version | grep -q '^virtcore-lock ' &&
     grep -q '^### Operating lockspace' '$d$prefix/share/doc/virtcore/README.md' &&
     ! readelf -d '$d$prefix/bin/virtcore-lock' | grep -q libvirtcore &&
     for p in virtcore-lock virtcore-lock-status virtcore-lock-who virtcore-lock-run; do
       grep -q '^.TH' '$d$prefix/share/man/man1/'\$p.1 || exit 1; done"

  local b="$work/build-$n"
  mkdir -p "$b"
  export PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$d"
  check "$n: pkg-config --static --libs lists no -lgcc_s" \
    "pkg-config --static --libs virtcore | grep -v -- -lgcc_s"
  check "$n: pkg-config consumer, shared, builds and runs" \
    "gcc -std=c99 -Wall -Wextra -Werror \$(pkg-config --cflags virtcore) '$work/src/user.c' \
       -o '$b/pc-shared' \$(pkg-config --libs virtcore) &&
     readelf -d '$b/pc-shared' | grep -q 'NEEDED.*\\[libvirtcore.so.0\\]' &&
     LD_LIBRARY_PATH='$L' '$b/pc-shared' '$lockdir' '$run'"
  # The README's recipe: libvirtcore.a, the C library dynamic (so plugins still load).
  check "$n: pkg-config consumer, static libvirtcore with dynamic libc, builds and runs" \
    "gcc -std=c99 -Wall -Wextra -Werror \$(pkg-config --cflags virtcore) '$work/src/user.c' \
       -o '$b/pc-mixed' \$(pkg-config --libs-only-L virtcore) -Wl,-Bstatic -lvirtcore \
       -Wl,-Bdynamic \$(pkg-config --static --libs-only-l virtcore) &&
     ! readelf -d '$b/pc-mixed' | grep -q libvirtcore && readelf -d '$b/pc-mixed' | grep -q 'NEEDED.*libc.so' &&
     '$b/pc-mixed' '$lockdir' '$run'"
  check "$n: pkg-config consumer, fully static (cc -static), builds and runs" \
    "gcc -static -std=c99 \$(pkg-config --cflags virtcore) '$work/src/user.c' -o '$b/pc-static' \
       \$(pkg-config --static --libs virtcore) 2>'$b/static.warn' &&
     ! readelf -d '$b/pc-static' | grep -q NEEDED && '$b/pc-static' '$lockdir' \
       \$([ '$run' = run ] && echo static || echo staged)"
  check "$n: meson consumer (dependency('virtcore'), shared and static) builds and runs" \
    "meson setup '$b/meson' '$work/src' >'$b/meson.log' 2>&1 && ninja -C '$b/meson' >>'$b/meson.log' 2>&1 &&
     LD_LIBRARY_PATH='$L' '$b/meson/user-shared' '$lockdir' '$run' &&
     '$b/meson/user-static' '$lockdir' \$([ '$run' = run ] && echo static || echo staged) ||
     { tail -n 20 '$b/meson.log'; exit 1; }"
  unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
  # CMake searches PREFIX/lib/cmake (and lib/<arch>); another LIBDIR is named with virtcore_DIR.
  local where="-DCMAKE_PREFIX_PATH='$d$prefix'"
  [ "$libdir" = "$prefix/lib" ] || where="-Dvirtcore_DIR='$L/cmake/virtcore'"
  check "$n: CMake consumer (find_package(virtcore 0.1), shared and static) builds and runs" \
    "cmake -S '$work/src' -B '$b/cmake' $where >'$b/cmake.log' 2>&1 &&
     cmake --build '$b/cmake' >>'$b/cmake.log' 2>&1 &&
     LD_LIBRARY_PATH='$L' '$b/cmake/user-shared' '$lockdir' '$run' &&
     '$b/cmake/user-static' '$lockdir' \$([ '$run' = run ] && echo static || echo staged) ||
     { tail -n 20 '$b/cmake.log'; exit 1; }"
}

# Nothing of ours is left under $1 (files or links), except the paths listed after it.
only_left() {
  local root=$1; shift
  diff <(find "$root" \( -type f -o -type l \) | sort) <(printf '%s\n' "$@" | grep . | sort)
}

# 1. Install refuses when nothing was built, and builds nothing.
check "install without a build fails and says to run make" \
  "! vmake install PREFIX='$work/none' REL='$work/empty' 2>'$work/none.err' &&
   grep -q \"run 'make' first\" '$work/none.err' && [ ! -e '$work/none/lib/libvirtcore.a' ]"

# 2. The default build installed into another prefix (no DESTDIR): as root, ldconfig runs.
printf '#!/bin/sh\necho ran >> "%s"\n' "$work/ldconfig.ran" > "$work/ldconfig"
chmod +x "$work/ldconfig"
A=$work/a
check "install PREFIX=$A (the build was made for another prefix)" \
  "vmake install PREFIX='$A' LDCONFIG='$work/ldconfig'"
if [ "$(id -u)" -eq 0 ]; then
  check "install as root without DESTDIR runs ldconfig" "[ -s '$work/ldconfig.ran' ]"
  # $A/lib is in no linker path: install says so, and how to fix it (else "cannot open
  # shared object file" when the program starts).
  check "install into a LIBDIR outside the linker's path prints the fix" \
    "vmake install PREFIX='$A' LDCONFIG=true | grep -q \"$A/lib is not in the dynamic linker's path\""
fi
tree_checks prefix "" "$A" "$A/lib" "$A/include" "$A/lib/virtcore/lock-driver" run
check "a second install over the first works (running programs keep their copy)" \
  "vmake install PREFIX='$A' LDCONFIG=true"

# 3. Every override, each reaching the files, the .pc, the CMake package and the library.
B=$work/b
check "install with LIBDIR, INCLUDEDIR, LOCKDRIVERDIR overrides" \
  "vmake install PREFIX='$B' LIBDIR='$B/lib64' INCLUDEDIR='$B/inc/virtcore' \
     LOCKDRIVERDIR='$B/plugins/lock' LDCONFIG=true"
tree_checks overrides "" "$B" "$B/lib64" "$B/inc/virtcore" "$B/plugins/lock" run

# 4. DESTDIR staging for /opt/virtcore-test: files under the stage, paths without it; no
# ldconfig; the CMake package works from the stage (it is relative to itself).
S=$work/stage
rm -f "$work/ldconfig.ran"
check "install DESTDIR=$S PREFIX=/opt/virtcore-test" \
  "vmake install DESTDIR='$S' PREFIX=/opt/virtcore-test LDCONFIG='$work/ldconfig' &&
   [ ! -e /opt/virtcore-test ] && [ ! -e '$work/ldconfig.ran' ]"
tree_checks destdir "$S" /opt/virtcore-test /opt/virtcore-test/lib /opt/virtcore-test/include \
  /opt/virtcore-test/lib/virtcore/lock-driver staged

# 5. A failed copy fails the install.
F=$work/f
mkdir -p "$F/lib/virtcore/lock-driver/lockspace.so/blocker"
check "a copy that fails makes install fail" \
  "! vmake install PREFIX='$F' LDCONFIG=true 2>/dev/null"

# 6. Uninstall removes exactly what install put there.
touch "$A/lib/virtcore/lock-driver/foreign.so" "$B/plugins/lock/foreign.so" "$S/opt/virtcore-test/lib/other.so"
check "uninstall: nothing of ours left; another lock driver in the directory kept" \
  "vmake uninstall PREFIX='$A' LDCONFIG=true && only_left '$A' '$A/lib/virtcore/lock-driver/foreign.so'"
check "uninstall with overrides: nothing of ours left; the overridden plugin dir kept" \
  "vmake uninstall PREFIX='$B' LIBDIR='$B/lib64' INCLUDEDIR='$B/inc/virtcore' \
     LOCKDRIVERDIR='$B/plugins/lock' LDCONFIG=true && only_left '$B' '$B/plugins/lock/foreign.so' &&
   [ -d '$B/plugins/lock' ]"
check "uninstall DESTDIR: nothing of ours left, our directories removed" \
  "vmake uninstall DESTDIR='$S' PREFIX=/opt/virtcore-test LDCONFIG=true &&
   only_left '$S' '$S/opt/virtcore-test/lib/other.so' &&
   [ ! -e '$S/opt/virtcore-test/lib/virtcore' ] && [ ! -e '$S/opt/virtcore-test/lib/cmake/virtcore' ]"

# 7. The CMake package's version file refuses another ABI.
check "find_package(virtcore 1.0) is refused by the version file" \
  "vmake install PREFIX='$A' LDCONFIG=true &&
   ! cmake -S '$work/src/toonew' -B '$work/toonew' -DCMAKE_PREFIX_PATH='$A' >'$work/toonew.log' 2>&1 &&
   grep -q 'virtcoreConfig.cmake, version: $ver' '$work/toonew.log'"

check "the source tree is as before (in-tree .pc, built libraries)" \
  "intree | diff '$work/intree.before' -"

echo "install-check: $((total - fail)) passed, $fail failed"
exit $((fail > 0))
