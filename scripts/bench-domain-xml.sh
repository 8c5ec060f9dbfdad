#!/usr/bin/env bash
# Domain XML parse/format benchmark: c-tests/bench_domain_xml.c built against virtcore
# (bench_domain_xml_vc) and Debian's libvirt.so.0 9.0.0 (bench_domain_xml_lv), over the
# documents both libraries parse, and formatting a domain with 1000..40000 disks (which
# must grow linearly). Prints medians of BENCH_DOMAIN_RUNS runs (default 3), alternating
# the libraries, and ratios = libvirt time / virtcore time. Reported, never asserted.
#
#   scripts/bench-domain-xml.sh [BIN_DIR] [DIR_OR_FILE...]
# Default corpus: libvirt 9.0's own test documents kept in the repository
# (tests/data/libvirt-9.0/*/, 1848 files, about 1650 of which both libraries parse; see its
# README for their origin), else tests/data/domain-xml (40 documents). Directories are read
# one level deep (`find -maxdepth 1`): pass each one.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/c-tests/bin}
shift || true
srcs=("$@")
if [ ${#srcs[@]} -eq 0 ]; then
  if [ -d "$here/tests/data/libvirt-9.0" ]; then
    srcs=("$here"/tests/data/libvirt-9.0/*/)
  else
    srcs=("$here/tests/data/domain-xml")
  fi
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

find -L "${srcs[@]}" -maxdepth 1 -name '*.xml' -type f | sort > "$out/all"
# Time only what both parse (libvirt refuses some test inputs on purpose).
BENCH_LIST_ONLY=1 xargs -a "$out/all" "$bin/bench_domain_xml_lv" 2>/dev/null |
  awk '$1 == "file" && $2 == "ok" {print $3}' > "$out/lv_ok"
BENCH_LIST_ONLY=1 xargs -a "$out/lv_ok" "$bin/bench_domain_xml_vc" 2>/dev/null |
  awk '$1 == "file" && $2 == "ok" {print $3}' > "$out/both"
echo "documents: $(wc -l < "$out/all") found, $(wc -l < "$out/lv_ok") parsed by libvirt, $(wc -l < "$out/both") by both"

runs=${BENCH_DOMAIN_RUNS:-3}
for r in $(seq 1 "$runs"); do
  for impl in lv vc; do
    echo "running bench_domain_xml_$impl (run $r of $runs) ..." >&2
    xargs -a "$out/both" "$bin/bench_domain_xml_$impl" 2>/dev/null | grep -v '^file ' > "$out/$impl.$r"
  done
done

median() {
  cat "$out/$1".* | awk -v k="$2" '$1 == k {print $2}' | sort -g |
    awk '{v[NR] = $1} END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
printf '%-26s %14s %14s %8s\n' key libvirt_ns virtcore_ns ratio
for k in parse_ns format_ns format_1000_disks_ns format_4000_disks_ns format_16000_disks_ns \
         format_40000_disks_ns; do
  lv=$(median lv "$k"); vc=$(median vc "$k")
  ratio=$(awk -v a="$lv" -v b="$vc" 'BEGIN { if (b + 0 > 0) printf "%.1fx", a / b; else print "n/a" }')
  printf '%-26s %14s %14s %8s\n' "$k" "$lv" "$vc" "$ratio"
done
echo "load average before/after: $(cut -d' ' -f1-3 /proc/loadavg)"
