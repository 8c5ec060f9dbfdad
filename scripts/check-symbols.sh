#!/usr/bin/env bash
# The shared library must export only the C API, every symbol under VIRTCORE_0.1: no
# Rust std, no mangled names, nothing unversioned; and carry SONAME libvirtcore.so.0.
set -euo pipefail
so=${1:-target/release/libvirtcore.so}
fail=0
syms=$(nm -D --defined-only "$so" | awk '{print $3}')
count=$(printf '%s\n' "$syms" | grep -c . || true)
bad=$(printf '%s\n' "$syms" | grep -v '@@VIRTCORE_0\.1$' | grep -v '^VIRTCORE_0\.1$' || true)
if [ -n "$bad" ]; then echo "check-symbols: not under VIRTCORE_0.1:"; echo "$bad"; fail=1; fi
mangled=$(printf '%s\n' "$syms" | grep -E '^_ZN|^_R|rust|^std' || true)
if [ -n "$mangled" ]; then echo "check-symbols: Rust internals exported:"; echo "$mangled"; fail=1; fi
nonapi=$(printf '%s\n' "$syms" | sed 's/@.*//' | grep -v -E '^(vir[A-Z]|virtcore[A-Z]|VIRTCORE_0\.1$)' || true)
if [ -n "$nonapi" ]; then echo "check-symbols: names outside the API namespace:"; echo "$nonapi"; fail=1; fi
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$soname" != "libvirtcore.so.0" ]; then echo "check-symbols: SONAME is '$soname'"; fail=1; fi
if [ $fail -eq 0 ]; then echo "check-symbols: $count symbols, all @@VIRTCORE_0.1, SONAME $soname: 1 passed, 0 failed"; else echo "check-symbols: 0 passed, 1 failed"; fi
exit $fail
