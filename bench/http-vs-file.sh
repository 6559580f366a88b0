#!/usr/bin/env bash
# Side by side: `qflash write` of one image from the local file and from a
# loopback nginx serving that same file, onto files. Prints the best of RUNS
# wall-clock times for each and their ratio (goal: HTTP within 1.2x).
# Usage: bench/http-vs-file.sh [SIZE_MIB=1024] [RUNS=3]; needs tools/build.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
size_mib="${1:-1024}"
runs="${2:-3}"
qflash="${QFLASH:-build/bin/qflash}"

work="$(mktemp -d "${TMPDIR:-/tmp}/qflash-bench-http-XXXXXX")"
nginx_pid=""
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www"
img="$work/www/disk.qcow2"
make_random_qcow2 "$img" "$size_mib"

port="$(free_port)"
start_nginx "$work/www" "$port" "$work/nginx"

best() {  # best wall-clock seconds of $runs runs of: qflash write "$1" target
  local best_s="" s
  for _ in $(seq "$runs"); do
    rm -f "$work/target.raw"
    s="$( { /usr/bin/time -f %e "$qflash" write "$1" "$work/target.raw" >/dev/null; } 2>&1 | tail -1)"
    if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then best_s="$s"; fi
  done
  echo "$best_s"
}

# Warm the page cache for both, so the comparison is of the read paths.
cat "$img" >/dev/null
file_s="$(best "$img")"
http_s="$(best "http://127.0.0.1:$port/disk.qcow2")"
qemu-img convert -O raw "$img" "$work/want.raw"
cmp -s "$work/target.raw" "$work/want.raw" || echo "warning: bytes differ" >&2
echo "image: ${size_mib} MiB virtual, $((size_mib * 3 / 4)) MiB data; best of $runs"
echo "file: ${file_s} s"
echo "http: ${http_s} s (loopback nginx)"
awk "BEGIN{printf \"ratio http/file: %.2f\n\", $http_s / $file_s}"
