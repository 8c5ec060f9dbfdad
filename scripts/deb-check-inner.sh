# deb-check, inside its private mount namespace (sourced by scripts/deb-check.sh with W,
# its work directory, and DEBDIR). Builds the throw-away root, installs, uses and purges
# the packages there. Prints "ok - ..." / "not ok - ..." per check and a summary.

fail=0
total=0
check() {
  total=$((total + 1))
  if (eval "$2") >"$W/last.log" 2>&1; then echo "ok - $1"; else
    echo "not ok - $1"; sed 's/^/#   /' "$W/last.log" | tail -n 25; fail=$((fail + 1)); fi
}
summary() { echo "deb-check: $((total - fail)) passed, $fail failed"; [ "$fail" -eq 0 ]; }

R=$W/root
U=$W/ov/upper
mount --make-rprivate / || exit 1
mkdir -p "$W/ov" "$R" || exit 1
mount -t tmpfs -o mode=0755 vcdeb "$W/ov" && mkdir "$U" "$W/ov/work" || exit 1
if ! mount -t overlay -o "lowerdir=/,upperdir=$U,workdir=$W/ov/work" vcdeb-root "$R"; then
  echo "deb-check: skipped: no overlay file system here (mount -t overlay refused)"; exit 77
fi
# What a booted system has mounted; /tmp and /run are fresh (nothing of the host's).
mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" && mount --rbind /sys "$R/sys" &&
  mount -t tmpfs -o mode=1777 vcdeb-tmp "$R/tmp" && mount -t tmpfs -o mode=0755 vcdeb-run "$R/run" ||
  exit 1
# Commands in the root run with a minimal environment: nothing points at the packages.
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp LANG=C.UTF-8 "$@"; }

# A fresh machine has no lockspace state: hide any the host's own tests left (a library
# consumer that loads lockspace with its defaults creates /var/lib/virtcore/lockspace).
rm -rf "$R/var/lib/virtcore"
pkgs=()
: > "$W/files"
for d in "$DEBDIR"/*.deb; do
  pkgs+=("$(dpkg-deb -f "$d" Package)")
  # Every file and link of the package (directories are shared with other packages).
  dpkg-deb --fsys-tarfile "$d" | tar -t | grep -v '/$' | sed 's|^\./|/|' >> "$W/files"
done
mkdir "$R/tmp/debs" && cp "$DEBDIR"/*.deb "$R/tmp/debs/" || exit 1
sort -o "$W/files" "$W/files"
# The upper layer before: what differs from the host afterwards is the packages' doing.
upper_list() { (cd "$U" && find . -mindepth 1 | sed 's|^\.||' | sort); }
upper_list > "$W/upper.before"

check "the packages (${pkgs[*]}) are not installed here yet, none of their files exists" \
  "! in_root dpkg-query -W ${pkgs[*]} && while read -r f; do [ ! -e \"\$R\$f\" ] && [ ! -L \"\$R\$f\" ] ||
     { echo \"\$f exists\"; exit 1; }; done < '$W/files'"
check "dpkg -i installs them" "in_root sh -c 'dpkg -i /tmp/debs/*.deb'"
check "dpkg -L lists every file of the packages" \
  "for p in ${pkgs[*]}; do in_root dpkg -L \$p; done | sort > '$W/listed' &&
   comm -23 '$W/files' '$W/listed' | { ! grep .; }"
check "/etc/libvirt/qemu-lockspace.conf is a conffile, all comments (the defaults)" \
  "in_root dpkg-query -W -f='\${Conffiles}' virtcore-lockspace | grep -q ' /etc/libvirt/qemu-lockspace.conf ' &&
   ! grep -v '^#' '$R/etc/libvirt/qemu-lockspace.conf' | grep -q ."
check "the dynamic linker finds libvirtcore.so.0 (ldconfig trigger), SONAME libvirtcore.so.0" \
  "in_root ldconfig -p | grep -qE 'libvirtcore.so.0 .*=> (/usr)?/lib/x86_64-linux-gnu/libvirtcore.so.0\$' &&
   readelf -d '$R/usr/lib/x86_64-linux-gnu/libvirtcore.so.0' | grep -q 'SONAME.*\\[libvirtcore.so.0\\]'"
check "virtcore-lock and its man pages" \
  "in_root virtcore-lock --version | grep -q '^virtcore-lock ' &&
   for p in virtcore-lock virtcore-lock-status virtcore-lock-who virtcore-lock-run; do
     zcat '$R/usr/share/man/man1/'\$p.1.gz | grep -q '^.TH' || exit 1; done"

cat > "$R/tmp/consumer.c" <<'C'
#include <virtcore.h>
#include <stdio.h>
/* A daemon's use of the installed library: lockspace.so is found in libvirtcore's
 * built-in lock-driver directory, which the packages made libvirt's own, and configured
 * from the package's /etc/libvirt/qemu-lockspace.conf. */
int main(void)
{
    unsigned long v = 0;
    virLockManagerPlugin *p;
    if (virtcoreGetVersion(&v) < 0 || v != VIRTCORE_VERSION_NUMBER) {
        fprintf(stderr, "version %lu\n", v);
        return 2;
    }
    p = virLockManagerPluginNew("lockspace", "qemu", "/etc/libvirt", 0);
    if (!p) {
        fprintf(stderr, "%s\n", virGetLastErrorMessage());
        return 3;
    }
    printf("%s\n", virLockManagerPluginGetName(p));
    virLockManagerPluginUnref(p);
    return 0;
}
C
check "a C consumer builds through pkg-config (gcc \$(pkg-config --cflags --libs virtcore))" \
  "in_root sh -c 'cd /tmp && gcc -std=c99 -Wall -Wextra -Werror \$(pkg-config --cflags virtcore) \
     consumer.c -o consumer \$(pkg-config --libs virtcore)' &&
   readelf -d '$R/tmp/consumer' | grep -q 'NEEDED.*\\[libvirtcore.so.0\\]' &&
   ! readelf -d '$R/tmp/consumer' | grep -qE 'RPATH|RUNPATH'"
check "it runs and loads lockspace from the built-in directory (no variable, no rpath)" \
  "[ \"\$(in_root /tmp/consumer)\" = lockspace ]"
# libvirtcore-dev's other ways in: the static library (C library still dynamic, so
# plugins load) through pkg-config, and the CMake package, shared and static.
cat > "$R/tmp/CMakeLists.txt" <<'K'
cmake_minimum_required(VERSION 3.13)
project(consumer C)
find_package(virtcore 0.1 REQUIRED)
add_executable(consumer-shared consumer.c)
target_link_libraries(consumer-shared PRIVATE virtcore::virtcore)
add_executable(consumer-static consumer.c)
target_link_libraries(consumer-static PRIVATE virtcore::virtcore_static)
K
check "static libvirtcore through pkg-config --static, and CMake's find_package(virtcore): they run" \
  "in_root sh -c 'cd /tmp && gcc -std=c99 \$(pkg-config --cflags virtcore) consumer.c -o consumer-a \
     -Wl,-Bstatic -lvirtcore -Wl,-Bdynamic \$(pkg-config --static --libs-only-l virtcore | sed s/-lvirtcore//) &&
     cmake -S /tmp -B /tmp/cmake >/dev/null && cmake --build /tmp/cmake >/dev/null' &&
   ! readelf -d '$R/tmp/consumer-a' '$R/tmp/cmake/consumer-static' | grep -q libvirtcore &&
   readelf -d '$R/tmp/cmake/consumer-shared' | grep -q 'NEEDED.*\\[libvirtcore.so.0\\]' &&
   for p in consumer-a cmake/consumer-shared cmake/consumer-static; do
     [ \"\$(in_root /tmp/\$p)\" = lockspace ] || { echo \"\$p failed\"; exit 1; }; done"
check "virtcore-lock status reads the conffile and the lockspace the plugin created" \
  "in_root virtcore-lock status && [ -d '$R/var/lib/virtcore/lockspace' ]"

# libvirtd, in a nested namespace of its own inside the root (see deb-check-libvirtd.sh).
mkdir -p "$R/tmp/suite" && cp "$top/tests/libvirtd/env.sh" "$top/tests/libvirtd/guests.sh" \
  "$top/scripts/deb-check-libvirtd.sh" "$R/tmp/suite/" || exit 1
echo "deb-check: starting Debian's libvirtd with lock_manager = \"lockspace\" (QEMU probe, a guest)"
in_root unshare -m --propagation private bash /tmp/suite/deb-check-libvirtd.sh > "$W/libvirtd.out" 2>&1
while read -r line; do
  case $line in
    "ok - "*) total=$((total + 1)); echo "$line" ;;
    "not ok - "*) total=$((total + 1)); fail=$((fail + 1)); echo "$line" ;;
    *) echo "#   $line" ;;
  esac
done < "$W/libvirtd.out"
grep -q '^ok - libvirtd' "$W/libvirtd.out" || { echo "not ok - libvirtd part gave no result"; total=$((total + 1)); fail=$((fail + 1)); }

check "dpkg --purge removes them" "in_root dpkg --purge ${pkgs[*]} && ! in_root dpkg-query -W ${pkgs[*]}"
check "none of their files is left" \
  "while read -r f; do [ ! -e \"\$R\$f\" ] && [ ! -L \"\$R\$f\" ] || { echo \"\$f left\"; exit 1; }; done < '$W/files'"
check "no conffile, no lockspace state (/var/lib/virtcore) is left" \
  "[ ! -e '$R/etc/libvirt/qemu-lockspace.conf' ] && [ ! -e '$R/var/lib/virtcore' ]"
# Everything new in the upper layer: only dpkg's records and the caches of the triggers
# (ldconfig, man-db) may remain; a directory is fine when the host has it too (copy-up).
check "nothing else was left or changed on the file system (the overlay's upper layer)" \
  "upper_list | comm -13 '$W/upper.before' - | while read -r f; do
     case \$f in /var/lib/dpkg|/var/lib/dpkg/*|/var/log/dpkg.log|/etc/ld.so.cache|/var/cache/ldconfig|\
/var/cache/ldconfig/*|/var/cache/man|/var/cache/man/*|/var/cache/debconf|/var/cache/debconf/*) continue ;; esac
     [ -d \"\$U\$f\" ] && [ ! -L \"\$U\$f\" ] && [ -d \"\$f\" ] && continue
     echo \"left: \$f\"; done | { ! grep .; }"
summary
