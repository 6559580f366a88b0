#!/usr/bin/env bash
# Pacing: a slow target must not hold the fast ones (issue 10), and what the
# SHA-256 digests cost (issue 11).
#
# Makes (once, kept in WORKDIR) a zstd-compressed QCOW2 of SIZE MiB of this
# system's files, attaches 4 loop devices with direct I/O, and times:
#   1. qflash-mass onto the 3 fast loops alone;
#   2. qflash-mass onto the 4th loop alone, throttled to a tenth of the rate
#      of run 1 (blkio cgroup v1 throttle.write_bps_device, else cgroup v2
#      io.max);
#   3. all four together, the 4th throttled as in 2.
# Goals: in run 3 the fast three finish within 1.15x their time in run 1 and
# the slow one within 1.1x its time in run 2; every target byte-exact; peak
# RSS <= 300 MiB. With BASELINE=/path/to/old/qflash-mass, run 1 is also timed
# with that binary (an engine without digests) for the digest cost (goal:
# under 10%). Prints the load average beside the figures. Needs root.
#
# Usage: bench/pacing.sh [WORKDIR] [SIZE_MIB]   (default /var/tmp/qflash-pacing 512)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$PWD/${BUILD_DIR:-build}/bin"
work="${1:-/var/tmp/qflash-pacing}"
mib="${2:-512}"
[ -x "$bin/qflash-mass" ] || tools/build.sh
mkdir -p "$work"
cd "$work"

if [ ! -f img.qcow2 ] || [ "$(stat -c %s disk.raw)" != $((mib << 20)) ]; then
  echo "pacing: making a $mib MiB disk from /usr/lib files"
  rm -f disk.raw img.qcow2
  find /usr/lib /usr/bin -type f -size +64k 2>/dev/null | head -4000 | xargs cat 2>/dev/null |
    head -c $((mib * 3 / 4 << 20)) >disk.raw || true
  truncate -s $((mib << 20)) disk.raw
  qemu-img convert -q -f raw -O qcow2 -c -o compression_type=zstd disk.raw img.qcow2
fi

loops=()
cleanup() {
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  [ -n "${cg:-}" ] && rmdir "$cg" 2>/dev/null || true
}
trap cleanup EXIT
for i in 1 2 3 4; do
  truncate -s $((mib << 20)) "t$i.img"
  loops+=("$(losetup -f --show --direct-io=on "t$i.img")")
done
fast=("${loops[@]:0:3}")
slow="${loops[3]}"

# The throttled group: cgroup v1 blkio if present, else v2 io.
if [ -d /sys/fs/cgroup/blkio ]; then
  cg=/sys/fs/cgroup/blkio/qflash-pacing-$$
  mkdir "$cg"
  throttle() { echo "$(lsblk -dno MAJ:MIN "$slow" | tr -d ' ') $1" >"$cg/blkio.throttle.write_bps_device"; }
else
  cg=/sys/fs/cgroup/qflash-pacing-$$
  mkdir "$cg"
  echo +io >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
  throttle() { echo "$(lsblk -dno MAJ:MIN "$slow" | tr -d ' ') wbps=$1" >"$cg/io.max"; }
fi

# Runs qflash-mass (or $QFLASH) in the throttled group onto "$@"; the JSON
# report goes to run.json, peak RSS (KiB) to rss.
mass() {
  for t in "$@"; do blkdiscard -f "$t" 2>/dev/null || true; done
  sh -c "echo \$\$ >$cg/cgroup.procs; exec /usr/bin/time -f %M -o rss ${QFLASH:-$bin/qflash-mass} --yes --json img.qcow2 $*" >run.json
  for t in "$@"; do cmp -n $((mib << 20)) disk.raw "$t" >/dev/null || { echo "pacing: $t differs"; exit 1; }; done
}
seconds() { python3 -c "import json,sys; d=json.load(open('run.json')); print(max(t['seconds'] for t in d['targets'] if t['path'] in sys.argv[1:]))" "$@"; }

echo "pacing: load before: $(cut -d' ' -f1-3 /proc/loadavg)"
mass "${fast[@]}"
t_fast=$(seconds "${fast[@]}")
rss1=$(cat rss)
rate=$(python3 -c "print(int($mib * 1048576 / $t_fast / 10))")
throttle "$rate"
mass "$slow"
t_slow=$(seconds "$slow")
mass "${fast[@]}" "$slow"
t3_fast=$(seconds "${fast[@]}")
t3_slow=$(seconds "$slow")
rss3=$(cat rss)
throttle 0 2>/dev/null || true
python3 - "$t_fast" "$t_slow" "$t3_fast" "$t3_slow" "$rss1" "$rss3" "$rate" <<'PY'
import sys
tf, ts, tf3, ts3, r1, r3, rate = map(float, sys.argv[1:])
print(f"3 fast alone {tf:.2f} s; slow alone (throttled to {rate/1e6:.1f} MB/s) {ts:.2f} s")
print(f"together: fast {tf3:.2f} s = {tf3/tf:.2f}x (goal <= 1.15x), slow {ts3:.2f} s = {ts3/ts:.2f}x (goal <= 1.1x)")
print(f"peak RSS {r1/1024:.0f} MiB (3 targets), {r3/1024:.0f} MiB (4 targets) (goal <= 300 MiB)")
PY
if [ -n "${BASELINE:-}" ]; then
  for run in 1 2; do
    QFLASH="$BASELINE" mass "${fast[@]}"
    b=$(seconds "${fast[@]}")
    mass "${fast[@]}"
    n=$(seconds "${fast[@]}")
    echo "digest cost, 3 fast targets: without digests (baseline) $b s, with $n s: $(python3 -c "print(f'{$n/$b:.2f}')")x (goal < 1.10x)"
  done
fi
echo "pacing: load after: $(cut -d' ' -f1-3 /proc/loadavg)"
