#!/usr/bin/env bash
# Bounds (issue 11): time and memory of qflash write on the images that used
# to take quadratic time or unbounded memory. Prints, with the machine load:
#  1. 512-byte clusters alternating data and zero (bench/make_qcow2.py), 1 GiB
#     and 4 GiB: qflash's time per GiB (goal: 4 GiB within 2x of 1 GiB per
#     GiB) and qemu-img convert's time for the 1 GiB one (goal: qflash
#     faster; qemu-img takes minutes on these clusters, so only 1 GiB);
#  2. compressed clusters 512 bytes long, 64 KiB apart on the host (1 GiB
#     disk), at --memory=16M and at the default: peak RSS (goal: --memory +
#     64 MiB);
#  3. a 64-deep chain of sparse 2 MiB-cluster layers (2 TiB disk, each layer
#     writes 64 KiB in each 512 GiB L2 table's span): peak RSS at the default
#     --memory (goal: --memory + 64 MiB).
# Targets are files in WORKDIR (sparse where the image has holes). Needs
# qemu-utils, python3 and GNU time (/usr/bin/time), about 12 GiB free.
#
# Usage: bench/bounds.sh [WORKDIR]    (default: a new directory in ${TMPDIR:-/tmp})
#        QFLASH=path/to/qflash to time another build (e.g. the landed one).
set -euo pipefail
cd "$(dirname "$0")/.."
here="$PWD"
qflash="${QFLASH:-$here/build/bin/qflash}"
work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/qflash-bench-bounds-XXXXXX")}"
[ -n "${1:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
cd "$work"

# Wall seconds and peak RSS (MiB) of a command, as "SECONDS RSS_MIB".
measure() {
  /usr/bin/time -f "%e %M" -o time.out "$@" >/dev/null
  awk '{ printf "%s %.0f\n", $1, $2 / 1024 }' time.out
}

echo "load: $(uptime | sed 's/.*load average: //')"

echo "== 1. 512-byte clusters alternating data and zero"
for gib in 1 4; do
  [ -f "alt$gib.qcow2" ] || python3 "$here/bench/make_qcow2.py" alternating "alt$gib.qcow2" $((gib * 1024))
  rm -f out.raw
  read -r secs rss < <(measure "$qflash" write "alt$gib.qcow2" out.raw)
  per=$(awk -v s="$secs" -v g="$gib" 'BEGIN { printf "%.2f", s / g }')
  echo "qflash write, $gib GiB: ${secs} s (${per} s/GiB), peak RSS ${rss} MiB"
  eval "per$gib=$per"
done
rm -f out.raw
read -r secs _ < <(measure qemu-img convert -O raw alt1.qcow2 out.raw)
echo "qemu-img convert -O raw, 1 GiB: ${secs} s"
awk -v a="$per1" -v b="$per4" 'BEGIN { printf "4 GiB per GiB / 1 GiB per GiB: %.2f (goal <= 2)\n", b / a }'
rm -f out.raw alt1.qcow2 alt4.qcow2

echo "== 2. compressed clusters 512 bytes long, 64 KiB apart (1 GiB disk)"
[ -f sparse.qcow2 ] || python3 "$here/bench/make_qcow2.py" sparse-compressed sparse.qcow2 8
for memory in 16M 256M; do
  rm -f out.raw
  read -r secs rss < <(measure "$qflash" write --memory=$memory sparse.qcow2 out.raw)
  echo "qflash write --memory=$memory: ${secs} s, peak RSS ${rss} MiB"
done
qemu-img convert -O raw sparse.qcow2 want.raw
cmp want.raw out.raw && echo "bytes equal qemu-img convert's"
rm -f out.raw want.raw sparse.qcow2

echo "== 3. 64-deep chain of sparse 2 MiB-cluster layers (2 TiB disk)"
if [ ! -f layer63.qcow2 ]; then
  # Each layer written on its own, then linked (qemu-io on a deep chain is slow).
  for i in $(seq 0 63); do
    qemu-img create -q -f qcow2 -o cluster_size=2M "layer$i.qcow2" 2T
    cmds=()
    for t in 0 1 2 3; do cmds+=(-c "write -P $((i + 1)) $((t * 512 + i))G 64k"); done
    qemu-io "${cmds[@]}" "layer$i.qcow2" >/dev/null
    [ "$i" -eq 0 ] || qemu-img rebase -u -b "layer$((i - 1)).qcow2" -F qcow2 "layer$i.qcow2"
  done
fi
rm -f out.raw
read -r secs rss < <(measure "$qflash" write layer63.qcow2 out.raw)
echo "qflash write (default --memory=256M): ${secs} s, peak RSS ${rss} MiB"
rm -f out.raw
echo "load: $(uptime | sed 's/.*load average: //')"
