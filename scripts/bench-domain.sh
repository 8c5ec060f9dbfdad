#!/usr/bin/env bash
# The benchmark table of `make bench`: c-tests/bench_domain.c built against virtcore
# (bench_domain_vc) and against Debian's libvirt.so.0 9.0.0 (bench_domain_lv), run at each
# domain count, plus the lock cycle (bench_lock built against each library), printed as one
# table of ratios (libvirt time / virtcore time: > 1 means virtcore is faster; memory:
# libvirt bytes / virtcore bytes; thread throughput: virtcore / libvirt).
#
#   scripts/bench-domain.sh [BIN_DIR] [COUNTS...]     (default: c-tests/bin 1000 10000 100000)
#
# BENCH_DOMAIN_RUNS processes per library and count (default 3, the libraries alternate),
# BENCH_DOMAIN_ROUNDS rounds per process (default 5; lookups and whole-list operations are
# timed once a round, the other operations, LoadAllConfigs included, once a process). Each figure is the median of all its values
# with its spread (the quartiles: ±half their distance, in % of the median); a ratio
# comes with its range (worst to best quartile pairing) and is marked NOISY when that
# range spans more than 1.5×: then the machine was too busy for the figure to mean much.
# Times are the benchmark thread's CPU time (descheduled time is not counted), except the
# thread rows (wall time). Writes the table, the raw values and a chart to BENCH_OUT
# (default build/bench): report.md, values.tsv, lookups.tsv, lookups.svg.
# Timings are reported, never asserted.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/c-tests/bin}
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000 100000)
runs=${BENCH_DOMAIN_RUNS:-3}
rounds=${BENCH_DOMAIN_ROUNDS:-5}
dest=${BENCH_OUT:-$here/build/bench}
mkdir -p "$dest"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

load0=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date -u +%FT%TZ)
: > "$out/all"
for n in "${counts[@]}"; do
  for r in $(seq 1 "$runs"); do
    for impl in lv vc; do
      echo "running bench_domain_$impl $n $rounds (run $r of $runs) ..." >&2
      "$bin/bench_domain_$impl" "$n" "$rounds" |
        awk -v i="$impl" -v n="$n" 'NF == 2 && $2 ~ /^[0-9.]+$/ {print i, n, $1, $2}' >> "$out/all"
    done
  done
done

# Lock cycle: libvirt's lockd.so + virtlockd through libvirt's loader against virtcore's
# lockspace driver through virtcore's loader (the contract's pairing); N-independent.
lock_lv=; lock_vc=
if [ -x "$bin/bench_lock_libvirt" ] && [ -x "$bin/bench_lock" ]; then
  for r in $(seq 1 "$runs"); do
    echo "running bench_lock_libvirt and bench_lock (run $r of $runs) ..." >&2
    "$bin/bench_lock_libvirt" 2>/dev/null | awk '$1 == "RESULT" && $2 == "cycle:lockd/libvirt" {print "lv lock lock_cycle_ns", $3}' >> "$out/all" || true
    "$bin/bench_lock" 2>/dev/null | awk '$1 == "RESULT" && $2 == "cycle:lockspace/virtcore" {print "vc lock lock_cycle_ns", $3}' >> "$out/all" || true
  done
fi
load1=$(cut -d' ' -f1-3 /proc/loadavg)
cp "$out/all" "$dest/values.tsv"

# stats: impl n key median lo hi count (lo/hi: lower and upper quartile)
sort -k1,1 -k2,2 -k3,3 -k4,4g "$out/all" | awk '
  function flush() {
    if (c == 0) return
    m = (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
    lo = v[int(0.25 * (c - 1)) + 1]; hi = v[c - int(0.25 * (c - 1))]
    print key, m, lo, hi, c
  }
  { k = $1 " " $2 " " $3; if (k != key) { flush(); key = k; c = 0 } v[++c] = $4 }
  END { flush() }' > "$out/stats"

stat() { awk -v i="$1" -v n="$2" -v k="$3" '$1 == i && $2 == n && $3 == k {print $4, $5, $6; f = 1} END {if (!f) print "- - -"}' "$out/stats"; }

# A cell: "median ±spread%"; a ratio: "R× (lo–hi)" and a verdict.
fmt_val() { awk -v m="$1" -v lo="$2" -v hi="$3" -v u="$4" 'BEGIN {
  if (m == "-") { print "-"; exit }
  s = (m > 0) ? 50 * (hi - lo) / m : 0
  if (u == "ns") v = (m >= 1e6) ? sprintf("%.2f ms", m / 1e6) : (m >= 1e4) ? sprintf("%.1f µs", m / 1e3) : sprintf("%.1f ns", m)
  else if (u == "mops") v = sprintf("%.2f M/s", m); else v = sprintf("%.0f B", m)
  printf "%s ±%.0f%%\n", v, s }'; }
ratio() { # lv(m lo hi) vc(m lo hi) higher_is_better
  awk -v a="$1" -v al="$2" -v ah="$3" -v b="$4" -v bl="$5" -v bh="$6" -v up="$7" 'BEGIN {
  if (a == "-" || b == "-" || a <= 0 || b <= 0 || al <= 0 || bl <= 0) { print "n/a|-"; exit }
  if (up) { r = b / a; lo = bl / ah; hi = bh / al } else { r = a / b; lo = al / bh; hi = ah / bl }
  v = (hi / lo > 1.5) ? "NOISY" : "ok"
  printf "%.1f× (%.1f–%.1f)|%s\n", r, lo, hi, v }'; }

# A key "a:b" is a floor row: libvirt's a against b, measured in C with no library (what
# any implementation must spend at least: the best ratio possible).
ops=(find_uuid_ns find_name_ns find_id_ns add_ns find_remove_ns parse_ns format_ns
     count_active_ns active_ids_ns inactive_names_ns inactive_names_ns:inactive_names_floor_ns
     collect_ns collect_ns:collect_floor_ns foreach_ns load_configs_ns load_status_ns
     lock_cycle_ns mem_heap_bytes_per_domain mem_rss_bytes_per_domain
     threads_1_mops threads_2_mops threads_4_mops
     threads_1_writer_mops threads_2_writer_mops threads_4_writer_mops)
label() { case $1 in
  find_uuid_ns) echo "FindByUUID";; find_name_ns) echo "FindByName";; find_id_ns) echo "FindByID";;
  add_ns) echo "Add";; find_remove_ns) echo "Remove (FindByUUID+Remove)";; parse_ns) echo "parse XML";;
  format_ns) echo "format XML";; collect_ns) echo "Collect (all N) + FreeCount";;
  count_active_ns) echo "NumOfDomains(active)";; active_ids_ns) echo "GetActiveIDs (N/2 running)";;
  inactive_names_ns) echo "GetInactiveNames (N/2) + free";; foreach_ns) echo "ForEach(modify=false)";;
  inactive_names_ns:*) echo "  floor: malloc+copy+free of N/2 names";;
  collect_ns:*) echo "  floor: array + ref/unref of N objects";;
  load_configs_ns) echo "LoadAllConfigs, N configs (per file)";;
  load_status_ns) echo "LoadAllConfigs, N status files (per file)";;
  lock_cycle_ns) echo "lock cycle (lockd+virtlockd vs lockspace)";;
  mem_heap_bytes_per_domain) echo "memory/domain (heap)";; mem_rss_bytes_per_domain) echo "memory/domain (RSS)";;
  threads_*_writer_mops) t=${1#threads_}; echo "lookups, ${t%%_*} thread(s) + writer";;
  threads_*_mops) t=${1#threads_}; echo "lookups, ${t%%_*} thread(s)";;
  esac; }
unit() { case $1 in *_ns) echo ns;; *_mops) echo mops;; *) echo B;; esac; }

share() { awk -v i="$1" '$1 == i && $3 == "cpu_share_pct" {s += $4; c++} END {if (c) printf "%.0f%%", s / c; else print "-"}' "$out/all"; }

{
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "libvirt: $(dpkg-query -W -f='${Version}' libvirt0 2>/dev/null || echo unknown); $runs processes × $rounds rounds per library and size; started $t_start"
echo "load average before: $load0; after: $load1; CPU share of the lookup rounds (CPU time / wall time): libvirt $(share lv), virtcore $(share vc)"
echo
echo "Ratios (libvirt / virtcore; thread rows: virtcore / libvirt throughput; ~ marks NOISY):"
echo
printf '| %-42s |' operation
for n in "${counts[@]}"; do printf ' %12s |' "N=$n"; done; echo
printf '|%s|' "--------------------------------------------"
for n in "${counts[@]}"; do printf '%s|' "--------------"; done; echo
for key in "${ops[@]}"; do
  printf '| %-42s |' "$(label "$key")"
  lk=${key%%:*}; vk=${key#*:}
  for n in "${counts[@]}"; do
    nn=$n; [ "$key" = lock_cycle_ns ] && nn=lock
    up=0; case $key in threads_*) up=1;; esac
    # shellcheck disable=SC2046
    r=$(ratio $(stat lv "$nn" "$lk") $(stat vc "$nn" "$vk") "$up" 2>/dev/null || echo "n/a|-")
    v=${r#*|}; r=${r%% (*}; [ "$v" = NOISY ] && r="~$r"
    printf ' %12s |' "$r"
  done
  echo
done
echo
echo "Figures (median ±spread of the rounds; ratio with its range):"
echo
printf '| %-42s | %7s | %16s | %16s | %22s | %5s |\n' operation domains libvirt virtcore ratio noise
printf '|%s|%s|%s|%s|%s|%s|\n' "--------------------------------------------" "---------" "------------------" "------------------" "------------------------" "-------"
for key in "${ops[@]}"; do
  lk=${key%%:*}; vk=${key#*:}
  for n in "${counts[@]}"; do
    nn=$n; [ "$key" = lock_cycle_ns ] && nn=lock
    up=0; case $key in threads_*) up=1;; esac
    # shellcheck disable=SC2046
    set -- $(stat lv "$nn" "$lk"); lv=("$@")
    # shellcheck disable=SC2046
    set -- $(stat vc "$nn" "$vk"); vc=("$@")
    if [ "${lv[0]}" = - ] && [ "${vc[0]}" = - ]; then continue; fi
    r=$(ratio "${lv[@]}" "${vc[@]}" "$up" 2>/dev/null || echo "n/a|-")
    printf '| %-42s | %7s | %16s | %16s | %22s | %5s |\n' "$(label "$key")" "$nn" \
      "$(fmt_val "${lv[0]}" "${lv[1]:-0}" "${lv[2]:-0}" "$(unit "$key")")" \
      "$(fmt_val "${vc[0]}" "${vc[1]:-0}" "${vc[2]:-0}" "$(unit "$key")")" "${r%|*}" "${r#*|}"
    if [ "$key" = lock_cycle_ns ]; then break; fi
  done
done
} | tee "$dest/report.md"

# The chart: lookup time and whole-list operation time against N, both libraries
# (LoadAllConfigs per file times N: the whole load).
awk '$2 != "lock" && $3 ~ /^(find_(uuid|name|id)|count_active|active_ids|inactive_names|collect|foreach|load_configs|load_status)_ns$/ {
  sub(/_ns$/, "", $3); f = ($3 ~ /^load_/) ? $2 : 1
  print ($1 == "lv" ? "libvirt" : "virtcore"), $3, $2, $4 * f, $5 * f, $6 * f}' "$out/stats" > "$dest/lookups.tsv"
chart=${BENCH_CHART:-$here/target/release/bench-chart}
if [ -x "$chart" ] && [ ${#counts[@]} -gt 1 ]; then
  "$chart" "$dest/lookups.tsv" "$dest/lookups.svg" \
    "Domain list, virtcore vs libvirt 9.0 ($(nproc) cores, $(date -u +%F))" &&
    echo "chart: $dest/lookups.svg" >&2
fi
echo "report: $dest/report.md" >&2
