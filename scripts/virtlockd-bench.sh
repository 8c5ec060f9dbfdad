#!/usr/bin/env bash
# Runs the lock benchmark built against libvirt and against virtcore in one go and prints
# a table: mean time per operation, and how many times faster than the baseline (the lock
# cycle or plugin load of Debian's lockd.so through libvirt's own loader).
#   usage: virtlockd-bench.sh BENCH_LIBVIRT BENCH_VIRTCORE
set -euo pipefail
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$1" | tee -a "$out" | grep -v '^RESULT' || true
"$2" | tee -a "$out" | grep -v '^RESULT' || true
awk '
  /^RESULT/ { ns[$2] = $3; n[$2] = $4; order[++k] = $2 }
  function fmt(t) { return (t >= 1e6) ? sprintf("%.2f ms", t / 1e6) : (t >= 1e3) ? sprintf("%.1f us", t / 1e3) : sprintf("%d ns", t) }
  END {
    base = ns["cycle:lockd/libvirt"]
    printf "%-26s %11s %8s %-26s %s\n", "case/loader", "mean", "runs", "speed-up vs libvirt loader", "speed-up vs lockd.so cycle via libvirt"
    for (i = 1; i <= k; i++) {
      c = order[i]; t = ns[c]; split(c, a, "/")
      same = ns[a[1] "/libvirt"]
      r1 = (a[2] == "virtcore" && same > 0) ? sprintf("%.2fx", same / t) : "-"
      r2 = (c ~ /^cycle/ && base > 0) ? sprintf("%.1fx", base / t) : "-"
      printf "%-26s %11s %8d %-26s %s\n", c, fmt(t), n[c], r1, r2
    }
  }' "$out"
