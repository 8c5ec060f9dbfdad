#!/usr/bin/env bash
# Domain object list benchmark: runs c-tests/bench_domain.c built against virtcore
# (bench_domain_vc) and against Debian's libvirt.so.0 9.0.0 (bench_domain_lv) at each
# domain count and prints a table of ratios = libvirt time / virtcore time (speed-up;
# for memory: libvirt bytes / virtcore bytes, so > 1 means virtcore uses less).
#
#   scripts/bench-domain.sh [BIN_DIR] [COUNTS...]     (default: c-tests/bin 1000 10000 100000)
# `make bench` runs it. Each (library, count) runs BENCH_DOMAIN_RUNS times (default 3),
# alternating the libraries, and every figure is the median of its runs (the machine is
# shared; the median resists a noisy neighbour). Timings are reported, never asserted.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/c-tests/bin}
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000 100000)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

runs=${BENCH_DOMAIN_RUNS:-3}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for n in "${counts[@]}"; do
  for r in $(seq 1 "$runs"); do
    for impl in lv vc; do
      echo "running bench_domain_$impl $n (run $r of $runs) ..." >&2
      "$bin/bench_domain_$impl" "$n" > "$out/$impl.$n.$r"
    done
  done
done

# median of one key over the runs of (impl, n)
median() {
  cat "$out/$1.$2".* | awk -v k="$3" '$1 == k {print $2}' | sort -g |
    awk '{v[NR] = $1} END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

keys=(find_uuid_ns find_name_ns find_id_ns parse_ns add_ns parse_add_ns find_remove_ns
      collect_ns concurrent_lookup_ns concurrent_addremove_ns
      mem_heap_bytes_per_domain mem_rss_bytes_per_domain)

echo
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "libvirt: $(dpkg-query -W -f='${Version}' libvirt0 2>/dev/null || echo unknown); median of $runs runs; load average before: $load0"
echo
printf '| %-26s | %8s | %14s | %14s | %9s |\n' operation domains "libvirt" "virtcore" "speed-up"
printf '|%s|%s|%s|%s|%s|\n' "----------------------------" "----------" "----------------" "----------------" "-----------"
for key in "${keys[@]}"; do
  for n in "${counts[@]}"; do
    lv=$(median lv "$n" "$key")
    vc=$(median vc "$n" "$key")
    ratio=$(awk -v a="$lv" -v b="$vc" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }')
    unit=ns; case $key in mem_*) unit=B;; esac
    printf '| %-26s | %8s | %11s %-2s | %11s %-2s | %9s |\n' "${key%_ns}" "$n" "$lv" "$unit" "$vc" "$unit" "$ratio"
  done
done
