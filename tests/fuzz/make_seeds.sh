#!/usr/bin/env bash
# Makes the seed corpora of the fuzzers in DIR/<fuzzer>/ from small qemu-img
# images (header, image), gzip/zstd streams (deflate, zstd) and disks
# partitioned by sgdisk and sfdisk (partitions).
set -euo pipefail
out="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out"/{fuzz_header,fuzz_image,fuzz_deflate,fuzz_zstd,fuzz_partitions,fuzz_streams}

# Small images covering the header variants and every kind of cluster.
image() {  # image NAME CREATE-OPTIONS QEMU-IO-COMMANDS...
  local name="$1" opts="$2"
  shift 2
  local img="$tmp/$name.qcow2"
  qemu-img create -q -f qcow2 -o "$opts" "$img" 1M
  local cmds=()
  for c in "$@"; do cmds+=(-c "$c"); done
  ((${#cmds[@]})) && qemu-io -f qcow2 "${cmds[@]}" "$img" >/dev/null
  cp "$img" "$out/fuzz_image/$name"
  cp "$img" "$out/fuzz_header/$name"
}
image v2 compat=0.10,cluster_size=512 'write -P 0x11 0 4k' 'write -z 8k 4k'
image v3 compat=1.1,cluster_size=4096 'write -P 0x22 0 8k' 'write -z 64k 4k' 'discard 0 4k'
image lazy compat=1.1,cluster_size=1024,lazy_refcounts=on 'write -P 0x33 4k 4k'
image ext_l2 compat=1.1,cluster_size=16k,extended_l2=on 'write -P 0x44 0 2k' 'write -z 32k 4k'
image refcount1 compat=1.1,cluster_size=512,refcount_bits=1 'write -P 0x55 1k 1k'
image zstd compat=1.1,cluster_size=4096,compression_type=zstd 'write -c -P 0x66 0 4k'
image deflate compat=1.1,cluster_size=4096 'write -c -P 0x77 4k 4k' 'write -P 0x78 8k 4k'
head -c 1M /dev/zero >"$tmp/base.raw"
image backing_fmt compat=1.1,cluster_size=512,backing_file=base.raw,backing_fmt=raw
qemu-img create -q -f qcow2 -o cluster_size=512,data_file="$tmp/data.raw",data_file_raw=on \
  "$tmp/ext.qcow2" 1M
cp "$tmp/ext.qcow2" "$out/fuzz_header/data_file"
head -c 4096 /dev/zero >"$out/fuzz_image/raw"

# Streams: one selector byte (cluster 512 << k), then the stream of a cluster.
for k in 0 3 7; do
  size=$((512 << k))
  for fill in zero text; do
    if [ $fill = zero ]; then head -c $size /dev/zero >"$tmp/c"; else
      { yes "qflash seed $k" || true; } | head -c $size >"$tmp/c"; fi
    printf "\\x$(printf %02x $k)" >"$tmp/sel"
    # gzip's member is a raw deflate stream between a 10-byte header and an 8-byte trailer.
    gzip -n -c "$tmp/c" | tail -c +11 | head -c -8 | cat "$tmp/sel" - >"$out/fuzz_deflate/${fill}_$k"
    zstd -q -c "$tmp/c" | cat "$tmp/sel" - >"$out/fuzz_zstd/${fill}_$k"
  done
done
# Compressed streams: one selector byte (format in the low 3 bits: gzip,
# xz, zstd, bzip2, zip; pieces of the high 5 bits' size, 0: whole), then the
# stream of 64 KiB of text and zeros; zip also as written to a pipe.
{ yes "qflash stream seed" || true; } | head -c 32K >"$tmp/s"
head -c 32K /dev/zero >>"$tmp/s"
stream() {  # stream NAME SELECTOR COMMAND...
  local name="$1" sel="$2"
  shift 2
  # Through cat: zip seeks back in a file it writes (headers), not in a pipe.
  { printf "\\$(printf %03o "$sel")"; "$@" <"$tmp/s" | cat; } >"$out/fuzz_streams/$name"
}
stream gzip 0 gzip -c
stream gzip_pieces $((7 << 3 | 0)) gzip -c
stream xz 1 xz -c --check=crc32
stream zstd 2 zstd -q -c
stream bzip2 3 bzip2 -c
stream zip 4 zip -q
stream zip_pieces $((1 << 3 | 4)) zip -q
zip -q -j "$tmp/file.zip" "$tmp/s"
{ printf '\004'; cat "$tmp/file.zip"; } >"$out/fuzz_streams/zip_file"
# Disks: one selector byte (0: detect the sector size), then a 128 KiB disk.
truncate -s 128K "$tmp/gpt" "$tmp/mbr"
sgdisk -a 1 -n 1:34:120 -c 1:boot -n 2:121:200 -t 2:8300 "$tmp/gpt" >/dev/null
printf 'label: dos\nstart=1, size=60, type=83, bootable\nstart=61, size=150, type=5\n%s\n%s\n' \
  'start=62, size=40, type=83' 'start=110, size=40, type=82' | sfdisk -q "$tmp/mbr"
for disk in gpt mbr; do
  printf '\x00' | cat - "$tmp/$disk" >"$out/fuzz_partitions/$disk"
done
touch "$out/.stamp"
