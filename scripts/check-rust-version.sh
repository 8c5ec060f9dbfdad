#!/usr/bin/env bash
# The Rust toolchain must be at least the rust-version Cargo.toml declares (the locked
# crates' own minimum: `scripts/check-rust-version.sh --lock` checks that the declared value
# still covers every crate in Cargo.lock, and that every workspace crate declares it).
#   usage: check-rust-version.sh [--lock]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
declared() { sed -n 's/^rust-version = "\(.*\)"/\1/p' "$1" | head -n1; }
want=$(declared "$top/Cargo.toml")
[ -n "$want" ] || { echo "check-rust-version: no rust-version in Cargo.toml" >&2; exit 1; }
# true when version $1 >= $2
# (versions padded to three parts first: 1.89 and 1.89.0 are the same version)
pad() { local v=$1; while [ "$(tr -cd . <<<"$v" | wc -c)" -lt 2 ]; do v=$v.0; done; echo "$v"; }
ge() { local a b; a=$(pad "$1"); b=$(pad "$2")
       [ "$(printf '%s\n%s\n' "$a" "$b" | sort -V | head -n1)" = "$b" ]; }

if [ "${1:-}" = --lock ]; then
  fail=0
  # Every workspace crate declares the same value (metadata --no-deps: only our crates).
  mine=$(cd "$top" && ${CARGO:-cargo} metadata --locked --no-deps --format-version 1 |
         grep -oE '"rust_version":(null|"[0-9.]*")' | sed 's/"rust_version"://; s/"//g' | sort -u)
  if [ "$mine" != "$want" ]; then
    echo "check-rust-version: the workspace crates declare rust-version" $mine "; all must say $want"
    fail=1
  fi
  # The highest rust-version among the locked crates (cargo metadata reports each).
  need=$(cd "$top" && ${CARGO:-cargo} metadata --locked --format-version 1 |
         grep -o '"rust_version":"[0-9.]*"' | sed 's/.*:"\(.*\)"/\1/' | sort -V | tail -n1)
  if ! ge "$want" "$need"; then
    echo "check-rust-version: Cargo.lock needs Rust $need but rust-version is $want: raise it"
    fail=1
  fi
  [ $fail -eq 0 ] && echo "check-rust-version: rust-version $want covers Cargo.lock (needs $need): 1 passed, 0 failed" \
    || echo "check-rust-version: 0 passed, 1 failed"
  exit $fail
fi

rustc=${RUSTC:-rustc}
have=$("$rustc" --version 2>/dev/null | sed -n 's/^rustc \([0-9][0-9.]*\).*/\1/p') || true
if [ -z "$have" ]; then
  echo "virtcore needs Rust $want or newer: '$rustc --version' does not answer (install Rust with rustup)" >&2
  exit 1
fi
if ! ge "$have" "$want"; then
  echo "virtcore needs Rust $want or newer (Cargo.toml rust-version), but $rustc is $have: run 'rustup update'" >&2
  exit 1
fi
