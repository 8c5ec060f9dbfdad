#!/usr/bin/env bash
# header-c89.sh: virtcore.h needs C99. Compiled as C89/C90 it stops with its own clear
# #error (first diagnostic) instead of a list of -pedantic warnings; as strict C99 and
# C11 it is clean. Uses $CC and the in-tree virtcore.pc (PKG_CONFIG_PATH from the Makefile).
set -u
cc=${CC:-gcc}
cflags=$(pkg-config --cflags virtcore) || { echo "header-c89: pkg-config virtcore failed"; exit 1; }
tmp=$(mktemp -d /tmp/virtcore-c89-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
printf '#include <virtcore.h>\nint main(void) { return VIRTCORE_VERSION_NUMBER > 0 ? 0 : 1; }\n' >"$tmp/t.c"
fail=0
for std in c89 c90 gnu89; do
  if out=$($cc -std=$std -pedantic -Wall -Werror $cflags -c "$tmp/t.c" -o "$tmp/t.o" 2>&1); then
    echo "header-c89: -std=$std compiled, expected the #error"; fail=1
  else
    first=$(printf '%s\n' "$out" | grep -m1 -E 'error|warning')
    case $first in
      *"#error"*"needs C99 or later"*) ;;
      *) echo "header-c89: -std=$std: first diagnostic is not the #error: $first"; fail=1 ;;
    esac
  fi
done
for std in c99 c11 gnu11; do
  if ! out=$($cc -std=$std -pedantic -Wall -Wextra -Werror $cflags -c "$tmp/t.c" -o "$tmp/t.o" 2>&1); then
    echo "header-c89: -std=$std failed:"; printf '%s\n' "$out" | head -5; fail=1
  fi
done
[ $fail -eq 0 ] && echo "header-c89: C89/C90 stop at the #error; C99/C11 clean"
exit $fail
