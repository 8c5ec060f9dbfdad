#!/usr/bin/env bash
# Runs the README's lock-manager example (bin/readme-lock-example, extracted from
# README.md) as a user would after `make install`: no config file, no lockspace
# directory yet. It runs in a private mount namespace with an empty tmpfs over /var/lib
# (and /etc/virtcore), so the machine is untouched: the plugin must create
# /var/lib/virtcore/lockspace itself (0700), lock the disk and release it; and when the
# directory cannot be created the example prints why (never "lock ... must not be NULL").
set -u
here=$(cd "$(dirname "$0")" && pwd)
prog=$here/bin/readme-lock-example
export VIRTCORE_LOCK_DRIVER_DIR=$here/../build/lock-driver
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then
  echo "needs root and unshare -m for a private /var/lib"; exit 77
fi
exec unshare -m --propagation private bash -c '
  set -u
  prog=$1
  fail() { echo "FAIL: $*"; exit 1; }
  mount -t tmpfs -o mode=0755 none /var/lib || exit 77
  [ -d /etc/virtcore ] && mount -t tmpfs -o mode=0755 none /etc/virtcore
  mkdir -p /var/lib/images && truncate -s 1M /var/lib/images/guest1.img
  out=$("$prog" 2>&1) || fail "example failed: $out"
  [ "$out" = "guest1 holds /var/lib/images/guest1.img" ] || fail "unexpected output: $out"
  [ "$(stat -c %a /var/lib/virtcore/lockspace)" = 700 ] || fail "lockspace dir not 0700"
  # Default directory impossible to create safely: the example says why.
  rm -rf /var/lib/virtcore && chmod 0777 /var/lib
  out=$("$prog" 2>&1) && fail "ran with an unsafe /var/lib"
  case $out in *"lockspace directory '\''/var/lib/virtcore/lockspace'\'' is missing and cannot be created"*) ;;
    *) fail "error: $out";; esac
  echo "readme lock example: ok"
' bash "$prog"
