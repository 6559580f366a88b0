#!/usr/bin/env bash
# Compressed raw images: qflash against the tools people use for them.
#
# Builds once (kept in WORKDIR) a GPT disk of DISK_MIB MiB (default 512) whose
# ext4 partition holds real files of this system, its bmap (bmaptool create),
# and the disk compressed as multi-block xz (xz -T0), zstd -T0, gzip and
# bzip2 (XZ_LEVEL, default -1: the compressor's speed, not the decoder's, is
# what the level changes, and -6 takes minutes on a shared 2-core machine;
# -1 still makes a multi-block stream with -T0). Attaches 4 loop devices with direct I/O and times, per format:
#   DEC -dc | dd oflag=direct conv=fsync  vs  qflash write --no-bmap (1 target)
#     (conv=fsync as the Raspberry Pi documentation writes it: like qflash
#     and bmaptool, dd's time then includes the flush that makes it durable;
#     without it, the loop's backing file commits its allocations later)
#   bmaptool copy --bmap        vs  qflash write --bmap             (1 target)
#   qflash write --no-bmap (1)  vs  qflash-mass --no-bmap (4 targets)
# and, once, the testbed's own ceiling for four targets: qflash-mass of the
# uncompressed disk, from the page cache, onto the four (no decoding). The
# four loop devices share this machine's one disk, where four real drives
# would each bring their own bandwidth; "4/max" is the four-target time
# over the larger of the one-target time and that ceiling.
# Targets are discarded before and compared with the disk after each run.
# Goals (issue 12): qflash <= 0.8x DEC|dd, <= 0.5x bmaptool, 4 targets <= 1.3x one.
# Each time is the median of RUNS runs (default 3): single runs of the fast
# formats spread by a third on a shared 2-core VM.
#
# Usage: bench/raw-vs-tools.sh [WORKDIR]   (default /var/tmp/qflash-raw-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bin="$PWD/${BUILD_DIR:-build}/bin"
work="${1:-/var/tmp/qflash-raw-bench}"
mib="${DISK_MIB:-512}"
formats="${FORMATS:-xz zst gz bz2}"
xz_level="${XZ_LEVEL:--1}"
runs="${RUNS:-3}"

need_packages e2fsprogs gdisk xz-utils zstd gzip bzip2 bmap-tools time util-linux
[ -x "$bin/qflash-mass" ] || tools/build.sh
mkdir -p "$work"
cd "$work"

build_disk() {
  [ -f disk.raw.bmap ] && { compress; return; }
  echo "building the disk in $work (once)..."
  rm -rf root && mkdir -p root/lib
  cp -a /usr/bin root/
  # Real files up to about half of the disk.
  find /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f | head -n 2000 |
    while read -r f; do
      [ "$(du -sm root | cut -f1)" -lt $((mib / 2)) ] || break
      cp "$f" root/lib/
    done
  rm -f disk.raw ext4.img && truncate -s "${mib}M" disk.raw
  sgdisk -n 1:2048:+16M -t 1:ef00 -n 2:0:0 -t 2:8300 disk.raw >/dev/null
  local s2 e2
  s2=$(sgdisk -i 2 disk.raw | awk '/First sector/ {print $3}')
  e2=$(sgdisk -i 2 disk.raw | awk '/Last sector/ {print $3}')
  mkfs.ext4 -q -F -d root ext4.img $(((e2 - s2 + 1) / 2))k
  dd if=ext4.img of=disk.raw bs=1M oflag=seek_bytes seek=$((s2 * 512)) conv=notrunc,sparse status=none
  rm -rf root ext4.img
  bmaptool -q create -o disk.raw.bmap disk.raw
  compress
}
compress() {  # the formats asked for, each once
  for f in $formats; do
    [ -f "disk.raw.$f" ] && continue
    case "$f" in
      xz) xz -k -T0 "$xz_level" disk.raw ;;
      zst) zstd -q -k -T0 disk.raw ;;
      gz) gzip -k disk.raw ;;
      bz2) bzip2 -k disk.raw ;;
    esac
  done
}
build_disk
size=$(stat -c %s disk.raw)

devs=()
detach() { for d in "${devs[@]}"; do losetup -d "$d" 2>/dev/null || true; done; }
trap detach EXIT
for i in 1 2 3 4; do
  [ -f "target$i" ] || truncate -s "$size" "target$i"
  devs+=("$(losetup --direct-io=on -f --show "target$i")")
done

fresh() { for d in "$@"; do blkdiscard -f "$d" 2>/dev/null || dd if=/dev/zero of="$d" bs=4M oflag=direct status=none 2>/dev/null || true; done; }
check() {
  for d in "$@"; do cmp -n "$size" disk.raw "$d" >/dev/null || { echo "MISMATCH on $d" >&2; exit 1; }; done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# Wall seconds of "$1" (run through sh -c), output dropped.
measure() {
  /usr/bin/time -f "%e" -o stats.txt sh -c "$1" >/dev/null 2>run.err || { cat run.err >&2; exit 1; }
  wall=$(tail -1 stats.txt)
}
# timed "CMD" DEVICES...: the median wall seconds of $runs runs of CMD, the
# devices discarded before each and compared with the disk after it.
timed() {
  local cmd="$1" times=() _
  shift
  for _ in $(seq "$runs"); do
    fresh "$@"; measure "$cmd"; check "$@"
    times+=("$wall")
  done
  wall=$(printf "%s\n" "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
}
dec() { case "$1" in xz) echo xz ;; zst) echo zstd ;; gz) echo gzip ;; bz2) echo bzip2 ;; esac; }

echo "disk: $((size >> 20)) MiB, $(($(stat -c %b disk.raw) * 512 >> 20)) MiB allocated; median of $runs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
cat disk.raw >/dev/null
timed "$bin/qflash write --yes --no-bmap disk.raw ${devs[0]}" "${devs[0]}"; t_raw1=$wall
timed "$bin/qflash-mass --yes --no-bmap disk.raw ${devs[*]}" "${devs[@]}"; t_raw4=$wall
echo "testbed: the uncompressed disk from the page cache onto 1 target ${t_raw1} s, onto 4 targets ${t_raw4} s"
printf "%-5s %9s %9s %6s %9s %9s %6s %9s %6s %6s\n" fmt "dec|dd" qflash ratio bmaptool "q+bmap" ratio "q 4 tgt" "4/1" "4/max"
for f in $formats; do
  d1="${devs[0]}"
  timed "$(dec "$f") -dc disk.raw.$f | dd of=$d1 bs=4M oflag=direct iflag=fullblock conv=fsync status=none" "$d1"; t_dd=$wall
  timed "$bin/qflash write --yes --no-bmap disk.raw.$f $d1" "$d1"; t_q=$wall
  timed "bmaptool -q copy --bmap disk.raw.bmap disk.raw.$f $d1" "$d1"; t_b=$wall
  timed "$bin/qflash write --yes --bmap=disk.raw.bmap disk.raw.$f $d1" "$d1"; t_qb=$wall
  r_b=$(ratio "$t_qb" "$t_b")
  timed "$bin/qflash-mass --yes --no-bmap disk.raw.$f ${devs[*]}" "${devs[@]}"; t_q4=$wall
  t_max=$(awk -v a="$t_q" -v b="$t_raw4" 'BEGIN { print (a > b ? a : b) }')
  printf "%-5s %9s %9s %6s %9s %9s %6s %9s %6s %6s\n" "$f" "$t_dd" "$t_q" "$(ratio "$t_q" "$t_dd")" \
    "$t_b" "$t_qb" "$r_b" "$t_q4" "$(ratio "$t_q4" "$t_q")" "$(ratio "$t_q4" "$t_max")"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
