#!/usr/bin/env bash
# `make bench` (c-tests/state.mk): Debian's libvirtd start-up time with 20 autostarted
# pools and 20 autostarted networks, side by side: libvirt's own state core, virtcore's
# (the interposer, sequential) and virtcore's with the drivers of a tier started in
# parallel (VIRTCORE_STATE_PARALLEL=4). Each start is a fresh "boot" (/run/libvirt
# empty, so everything autostarts); the time is from libvirtd's exec until a client is
# answered (libvirtd serves clients once its state drivers are up). Rounds alternate the
# three modes; the median of each is printed with ratios to libvirt's.
#   tests/libvirtd/state/bench.sh INTERPOSER [LOCKSPACE_SO] [ROUNDS]   (as root)
# Runs in private mount and network namespaces: the networks' bridges (made here, the
# networks use them in forward mode 'bridge') never touch the host.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=$(cd "$HERE/.." && pwd)
TOP=$(cd "$SUITE/../.." && pwd)
INTERPOSER=$(realpath "${1:-$TOP/c-tests/bin/state-interposer.so}")
LOCKSPACE_SO=$(realpath "${2:-$TOP/build/lock-driver/lockspace.so}")
ROUNDS=${3:-3}
N=20

if [ -z "${VIRTCORE_STATE_BENCH_INNER:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "bench-libvirtd-state: skipped (needs root)"; exit 0; }
  command -v libvirtd >/dev/null && command -v virsh >/dev/null && command -v ip >/dev/null ||
    { echo "bench-libvirtd-state: skipped (libvirtd, virsh or ip missing)"; exit 0; }
  T=$(mktemp -d /tmp/virtcore-state-bench.XXXXXX) || exit 1
  VIRTCORE_STATE_BENCH_INNER=1 T=$T unshare -m -n --propagation private bash "$0" "$@"
  rc=$?
  rm -rf "$T"
  exit $rc
fi

. "$SUITE/env.sh"
trap 'stop_libvirtd TERM' EXIT
setup_namespace || { echo "bench-libvirtd-state: cannot set up the namespace"; exit 1; }
write_qemu_conf lockspace
ip link set lo up

echo "bench-libvirtd-state: defining $N pools and $N networks (autostart)..."
start_libvirtd || { echo "libvirtd did not start"; exit 1; }
for i in $(seq 1 $N); do
  mkdir -p "$T/pools/p$i"
  "${VIRSH[@]}" pool-define-as "p$i" dir --target "$T/pools/p$i" >/dev/null &&
    "${VIRSH[@]}" pool-autostart "p$i" >/dev/null || exit 1
  # Bridged networks on bridges made here: no firewall or dnsmasq (not installed) needed.
  ip link add "vcb$i" type bridge || exit 1
  printf "<network><name>n%d</name><forward mode='bridge'/><bridge name='vcb%d'/></network>\n" "$i" "$i" > "$T/xml/n$i.xml"
  "${VIRSH[@]}" net-define "$T/xml/n$i.xml" >/dev/null &&
    "${VIRSH[@]}" net-autostart "n$i" >/dev/null || exit 1
done
stop_libvirtd TERM

# One start on a fresh /run/libvirt; prints milliseconds.
start_once() {
  local t0 t1 active
  umount /run/libvirt && mount -t tmpfs -o mode=0755 vcbench /run/libvirt || return 1
  t0=$(date +%s%N)
  ${LIBVIRTD_PRELOAD:+env LD_PRELOAD=$LIBVIRTD_PRELOAD} libvirtd -d -p /run/libvirt/libvirtd.pid || return 1
  # Polled faster than env.sh's start_libvirtd (0.1 s) for a finer figure.
  for _ in $(seq 1 3000); do "${VIRSH[@]}" version >/dev/null 2>&1 && break; sleep 0.02; done
  t1=$(date +%s%N)
  LIBVIRTD_PID=$(cat /run/libvirt/libvirtd.pid)
  active=$("${VIRSH[@]}" pool-list --name | grep -c .)$'/'$("${VIRSH[@]}" net-list --name | grep -c .)
  stop_libvirtd TERM
  if [ "$active" != "$N/$N" ]; then
    echo "only $active pools/networks active; libvirtd.log:" >&2
    grep -i 'error' /var/log/libvirt/libvirtd.log | grep -iv 'dmi\|dmidecode\|system bus\|ethtool' | tail -n 5 >&2
    return 1
  fi
  echo $(((t1 - t0) / 1000000))
}

declare -A times
modes=(libvirt virtcore virtcore-parallel)
start_once >/dev/null || exit 1 # warm QEMU's capability cache
for r in $(seq 1 "$ROUNDS"); do
  for m in "${modes[@]}"; do
    case $m in
      libvirt) unset LIBVIRTD_PRELOAD VIRTCORE_STATE_PARALLEL ;;
      virtcore) export LIBVIRTD_PRELOAD=$INTERPOSER; unset VIRTCORE_STATE_PARALLEL ;;
      virtcore-parallel) export LIBVIRTD_PRELOAD=$INTERPOSER VIRTCORE_STATE_PARALLEL=4 ;;
    esac
    ms=$(start_once) || { echo "bench-libvirtd-state: $m start failed"; exit 1; }
    times[$m]="${times[$m]:-} $ms"
  done
done
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(median "${times[libvirt]}")
echo "bench-libvirtd-state: libvirtd start-up, $N autostarted pools + $N networks, median of $ROUNDS (ms; each run: ${times[libvirt]} |${times[virtcore]} |${times[virtcore-parallel]})"
for m in "${modes[@]}"; do
  med=$(median "${times[$m]}")
  awk -v m="$m" -v t="$med" -v b="$base" 'BEGIN {printf "  %-18s %6d ms  %.2fx libvirt'"'"'s time\n", m, t, t / b}'
done
