#!/usr/bin/env bash
# Side by side: qflash against qemu-img and dd on a realistic disk.
#
# Builds once (kept in WORKDIR for later runs) a 2 GiB GPT disk with an EFI
# partition (FAT) and an ext4 partition filled with real files of this
# system, compresses it with qemu-img convert -c as deflate and as zstd,
# attaches 4 loop devices with direct I/O, and times, for each compression:
#   qemu-img convert -m 16 -W -n -t none -O raw  vs  qflash write   (1 target)
#   4 parallel qemu-img converts  vs  qflash-mass   vs  dd of the raw (4 targets)
#   qflash-mass from a loopback nginx (http://) vs from the local file (4 targets)
# Every target is discarded before each run and compared with the raw disk
# after it. Prints the times, the ratios against the goals and qflash-mass's
# peak RSS. Needs root and about 11 GiB free in WORKDIR.
#
# Usage: bench/side-by-side.sh [WORKDIR]     (default /var/tmp/qflash-side-by-side)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bin="$PWD/${BUILD_DIR:-build}/bin"
work="${1:-/var/tmp/qflash-side-by-side}"
targets=4

need_packages dosfstools mtools e2fsprogs gdisk qemu-utils time util-linux nginx python3
[ -x "$bin/qflash-mass" ] || tools/build.sh
mkdir -p "$work"
cd "$work"

build_disk() {
  [ -f disk-zstd.qcow2 ] && return  # made last
  echo "building the disk in $work (once)..."
  rm -rf root && mkdir root
  cp -a /usr/bin /usr/lib/x86_64-linux-gnu root/
  rm -f disk.raw efi.img ext4.img && truncate -s 2G disk.raw
  sgdisk -n 1:2048:+256M -t 1:ef00 -c 1:EFI -n 2:0:0 -t 2:8300 -c 2:root disk.raw >/dev/null
  local s1 s2 e2
  s1=$(sgdisk -i 1 disk.raw | awk '/First sector/ {print $3}')
  s2=$(sgdisk -i 2 disk.raw | awk '/First sector/ {print $3}')
  e2=$(sgdisk -i 2 disk.raw | awk '/Last sector/ {print $3}')
  mkfs.vfat -C efi.img $((256 * 1024)) >/dev/null
  mmd -i efi.img ::/EFI ::/EFI/BOOT
  mcopy -i efi.img /usr/lib/x86_64-linux-gnu/libc.so.6 ::/EFI/BOOT/BOOTX64.EFI
  mcopy -s -i efi.img /usr/share/zoneinfo ::/ 2>/dev/null  # (it skips symlinked folders)
  mkfs.ext4 -q -F -d root ext4.img $(((e2 - s2 + 1) / 2))k
  dd if=efi.img of=disk.raw bs=512 seek="$s1" conv=notrunc,sparse status=none
  dd if=ext4.img of=disk.raw bs=1M oflag=seek_bytes seek=$((s2 * 512)) conv=notrunc,sparse status=none
  rm -rf root efi.img ext4.img
  qemu-img convert -f raw -O qcow2 -c -o compression_type=zlib disk.raw disk-deflate.qcow2
  qemu-img convert -f raw -O qcow2 -c -o compression_type=zstd disk.raw disk-zstd.part
  mv disk-zstd.part disk-zstd.qcow2
}
build_disk
size=$(stat -c %s disk.raw)

devs=()
nginx_pid=""
detach() {
  for d in "${devs[@]}"; do losetup -d "$d" 2>/dev/null || true; done
  [ -z "$nginx_pid" ] || { kill "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null || true; }
}
trap detach EXIT
for i in $(seq 1 $targets); do
  [ -f "target$i" ] || truncate -s "$size" "target$i"
  devs+=("$(losetup --direct-io=on -f --show "target$i")")
done

fresh() { for d in "$@"; do blkdiscard -f "$d" 2>/dev/null; done; }
check() {
  for d in "$@"; do
    cmp -n "$size" disk.raw "$d" >/dev/null || { echo "MISMATCH on $d" >&2; exit 1; }
  done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# Runs "$@" (output dropped) under /usr/bin/time; sets wall and cpu (user +
# sys seconds, its children included) and rss (peak, MiB).
measure() {
  local user sys kib
  /usr/bin/time -f "%e %U %S %M" -o stats.txt "$@" >/dev/null 2>run.err || { cat run.err stats.txt >&2; exit 1; }
  read -r wall user sys kib < <(tail -1 stats.txt)
  cpu=$(awk -v a="$user" -v b="$sys" 'BEGIN { printf "%.2f", a + b }')
  rss=$((kib / 1024))
}
row() {  # label wall cpu [ratio text]
  printf "%-36s %7ss %7ss  %s\n" "$1" "$2" "$3" "${4:-}"
}
qemu_one() { qemu-img convert -m 16 -W -n -t none -O raw "$1" "$2"; }
qemu_all() {
  local img=$1 pids=()
  shift
  for d in "$@"; do qemu_one "$img" "$d" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
}
dd_all() {
  local pids=()
  for d in "$@"; do dd if=disk.raw of="$d" bs=4M oflag=direct conv=fsync status=none & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
}
export -f qemu_one qemu_all dd_all

cat disk.raw disk-*.qcow2 >/dev/null  # every run reads from the page cache
echo "disk: $(du -h --apparent-size disk.raw | cut -f1) raw, $(du -h disk.raw | cut -f1) allocated;" \
     "deflate $(du -h disk-deflate.qcow2 | cut -f1), zstd $(du -h disk-zstd.qcow2 | cut -f1); ${#devs[@]} loop devices, direct I/O"
echo "$(nproc) CPUs, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-36s %8s %8s\n" "" "wall" "cpu"
fresh "${devs[@]}"
measure bash -c 'dd_all "$@"' _ "${devs[@]}"
check "${devs[@]}"
dd_wall=$wall
row "dd of the raw, $targets targets" "$wall" "$cpu"
rss_max=0
for c in deflate zstd; do
  img="disk-$c.qcow2"
  fresh "${devs[0]}"
  measure qemu-img convert -m 16 -W -n -t none -O raw "$img" "${devs[0]}"
  check "${devs[0]}"
  q1=$wall q1c=$cpu
  row "$c: qemu-img, 1 target" "$wall" "$cpu"
  fresh "${devs[0]}"
  measure "$bin/qflash" write --yes "$img" "${devs[0]}"
  check "${devs[0]}"
  row "$c: qflash write, 1 target" "$wall" "$cpu" \
      "$(ratio "$wall" "$q1")x qemu-img (goal <= 0.6); cpu $(ratio "$cpu" "$q1c")x"
  fresh "${devs[@]}"
  measure bash -c 'qemu_all "$@"' _ "$img" "${devs[@]}"
  check "${devs[@]}"
  q4=$wall q4c=$cpu
  row "$c: $targets parallel qemu-img" "$wall" "$cpu"
  fresh "${devs[@]}"
  measure "$bin/qflash-mass" --yes "$img" "${devs[@]}"
  check "${devs[@]}"
  ((rss > rss_max)) && rss_max=$rss
  row "$c: qflash-mass, $targets targets" "$wall" "$cpu" \
      "$(ratio "$wall" "$q4")x qemu-img (goal <= 0.35); cpu $(ratio "$cpu" "$q4c")x; $(ratio "$wall" "$dd_wall")x dd (goal <= 1.3); RSS $rss MiB"
done
echo "peak RSS of qflash-mass: $rss_max MiB (goal <= 300); every target checked byte-exact"

# The same images served by nginx on 127.0.0.1 (one process, sendfile; its
# CPU is not in the cpu column): qflash-mass reads them with range requests.
port=$(free_port)
start_nginx "$work" "$port" "$work/nginx"
for c in deflate zstd; do
  fresh "${devs[@]}"
  measure "$bin/qflash-mass" --yes "disk-$c.qcow2" "${devs[@]}"
  check "${devs[@]}"
  fw=$wall
  row "$c: qflash-mass from the file" "$wall" "$cpu"
  fresh "${devs[@]}"
  measure "$bin/qflash-mass" --yes "http://127.0.0.1:$port/disk-$c.qcow2" "${devs[@]}"
  check "${devs[@]}"
  row "$c: qflash-mass from nginx" "$wall" "$cpu" "$(ratio "$wall" "$fw")x the file (goal <= 1.2)"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows every row)"
