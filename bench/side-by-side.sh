#!/usr/bin/env bash
# Side by side: qflash against qemu-img and dd on a realistic disk.
#
# Builds once (kept in WORKDIR for later runs) a 2 GiB GPT disk with an EFI
# partition (FAT) and an ext4 partition filled with real files of this
# system, compresses it with qemu-img convert -c as deflate and as zstd,
# attaches 4 loop devices with direct I/O, and times, for each compression:
#   qemu-img convert -m 16 -W -n -t none -O raw  vs  qflash write   (1 target)
#   4 parallel qemu-img converts  vs  qflash-mass   vs  dd of the raw (4 targets)
# Every target is discarded before each run and compared with the raw disk
# after it. Prints the times, the ratios against the goals and qflash-mass's
# peak RSS. Needs root and about 11 GiB free in WORKDIR.
#
# Usage: bench/side-by-side.sh [WORKDIR]     (default /var/tmp/qflash-side-by-side)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$PWD/${BUILD_DIR:-build}/bin"
work="${1:-/var/tmp/qflash-side-by-side}"
targets=4

for p in dosfstools mtools e2fsprogs gdisk qemu-utils time util-linux; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null
done
[ -x "$bin/qflash" ] || tools/build.sh
mass=("$bin/qflash-mass" --yes)
[ -x "$bin/qflash-mass" ] || mass=("$bin/mass_driver")  # the engine alone until qflash-mass is built
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
detach() { for d in "${devs[@]}"; do losetup -d "$d" 2>/dev/null || true; done; }
trap detach EXIT
for i in $(seq 1 $targets); do
  [ -f "target$i" ] || truncate -s "$size" "target$i"
  devs+=("$(losetup --direct-io=on -f --show "target$i")")
done

now() { date +%s.%N; }
fresh() { for d in "$@"; do blkdiscard -f "$d" 2>/dev/null; done; }
check() {
  for d in "$@"; do
    cmp -n "$size" disk.raw "$d" >/dev/null || { echo "MISMATCH on $d" >&2; exit 1; }
  done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# Runs "$@" (its output dropped); prints the seconds it took.
timed() {
  local t0 t1
  t0=$(now)
  "$@" >/dev/null
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
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

cat disk.raw disk-*.qcow2 >/dev/null  # every run reads from the page cache
echo "disk: $(du -h --apparent-size disk.raw | cut -f1) raw, $(du -h disk.raw | cut -f1) allocated;" \
     "deflate $(du -h disk-deflate.qcow2 | cut -f1), zstd $(du -h disk-zstd.qcow2 | cut -f1); ${#devs[@]} loop devices, direct I/O"
fresh "${devs[@]}"
dd_s=$(timed dd_all "${devs[@]}")
check "${devs[@]}"
printf "%-8s %-34s %8s\n" "" "dd of the raw, $targets targets" "${dd_s}s"
rss_max=0
for c in deflate zstd; do
  img="disk-$c.qcow2"
  fresh "${devs[0]}"
  q1=$(timed qemu_one "$img" "${devs[0]}")
  check "${devs[0]}"
  fresh "${devs[0]}"
  f1=$(timed "$bin/qflash" write --yes "$img" "${devs[0]}")
  check "${devs[0]}"
  fresh "${devs[@]}"
  q4=$(timed qemu_all "$img" "${devs[@]}")
  check "${devs[@]}"
  fresh "${devs[@]}"
  m4=$(timed /usr/bin/time -f %M -o rss.txt "${mass[@]}" "$img" "${devs[@]}")
  check "${devs[@]}"
  rss=$(($(tail -1 rss.txt) / 1024))
  ((rss > rss_max)) && rss_max=$rss
  printf "%-8s %-34s %8s\n" "$c" "qemu-img, 1 target" "${q1}s"
  printf "%-8s %-34s %8s  %5sx qemu-img   (goal <= 0.6)\n" "$c" "qflash write, 1 target" "${f1}s" "$(ratio "$f1" "$q1")"
  printf "%-8s %-34s %8s\n" "$c" "$targets parallel qemu-img" "${q4}s"
  printf "%-8s %-34s %8s  %5sx qemu-img   (goal <= 0.35)\n" "$c" "$(basename "${mass[0]}"), $targets targets" "${m4}s" "$(ratio "$m4" "$q4")"
  printf "%-8s %-34s %8s  %5sx dd         (goal <= 1.3), peak RSS %d MiB\n" "" "" "" "$(ratio "$m4" "$dd_s")" "$rss"
done
echo "peak RSS of $(basename "${mass[0]}"): ${rss_max} MiB (goal <= 300); every target checked byte-exact"
