#!/usr/bin/env bash
# HTTP at WAN latency (issue 14): nginx on 127.0.0.1 behind bench/delay_relay
# (bench/delay_relay.cpp, built with the project) adding a fixed delay each
# way. For each round trip, RUNS times one after the other, the wall-clock
# time of
#   curl downloading the image file through the relay,
#   qflash writing from the local file (1 target: qflash write; 4: qflash-mass),
#   qflash writing from the URL through the relay (same targets),
# and the ratio URL / max(curl, local file) (goal: <= 1.15).
# Usage: bench/http-latency.sh [SIZE_MIB=512] [RTTS_MS="0 50 100 200"] [RUNS=3]
# (median of RUNS: writing four files here spreads by a third from run to
# run, as the file system discards the blocks of the last run's targets, and
# the best of each column alone compares the luckiest runs); needs
# tools/build.sh first. Targets are files in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
size_mib="${1:-512}"
rtts="${2:-0 50 100 200}"
runs="${3:-3}"
bin="${QFLASH_BIN_DIR:-build/bin}"

work="$(mktemp -d "${TMPDIR:-/tmp}/qflash-bench-latency-XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1

mkdir -p "$work/www"
img="$work/www/disk.qcow2"
make_random_qcow2 "$img" "$size_mib"

port="$(free_port)"
start_nginx "$work/www" "$port" "$work/nginx"
pids+=("$nginx_pid")

targets() { for i in $(seq "$1"); do echo "$work/t$i.raw"; done; }
seconds() {  # wall-clock seconds of the command (a shell function too); fails with it
  local TIMEFORMAT=%R
  { time "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }; } 2>&1
}
median() { printf "%s\n" "$@" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
write1() { "$bin/qflash" write "$1" "$work/t1.raw"; }
write4() { "$bin/qflash-mass" "$1" $(targets 4); }

cat "$img" >/dev/null  # page cache warm for every reader
qemu-img convert -O raw "$img" "$work/want.raw"

echo "image: ${size_mib} MiB virtual, $(( $(stat -c %s "$img") >> 20 )) MiB file; median of $runs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| round trip | curl | file, 1 target | URL, 1 target | ratio | file, 4 targets | URL, 4 targets | ratio |"
echo "|---|---|---|---|---|---|---|---|"
for rtt in $rtts; do
  rport="$(free_port)"
  "$bin/delay_relay" --to "127.0.0.1:$port" --port "$rport" --delay-ms "$(awk "BEGIN{print $rtt / 2}")" &
  relay=$!
  pids+=($relay)
  wait_port "$rport"
  url="http://127.0.0.1:$rport/disk.qcow2"
  # Each run times the five side by side, so that the local file's times are
  # taken in the same minutes as the URL's.
  c=() f1=() u1=() f4=() u4=()
  for _ in $(seq "$runs"); do
    c+=("$(seconds curl -sf -o /dev/null "$url")")
    rm -f "$work"/t*.raw; f1+=("$(seconds write1 "$img")")
    rm -f "$work"/t*.raw; u1+=("$(seconds write1 "$url")")
    cmp -s "$work/want.raw" "$work/t1.raw" || echo "warning: bytes differ ($rtt ms, 1 target)" >&2
    rm -f "$work"/t*.raw; f4+=("$(seconds write4 "$img")")
    rm -f "$work"/t*.raw; u4+=("$(seconds write4 "$url")")
    cmp -s "$work/want.raw" "$work/t4.raw" || echo "warning: bytes differ ($rtt ms, 4 targets)" >&2
  done
  curl_s="$(median "${c[@]}")" file1="$(median "${f1[@]}")" url1="$(median "${u1[@]}")"
  file4="$(median "${f4[@]}")" url4="$(median "${u4[@]}")"
  kill "$relay"; wait "$relay" 2>/dev/null || true
  awk -v rtt="$rtt" -v c="$curl_s" -v f1="$file1" -v u1="$url1" -v f4="$file4" -v u4="$url4" 'BEGIN{
    m1 = c > f1 ? c : f1; m4 = c > f4 ? c : f4;
    printf "| %d ms | %.2f s | %.2f s | %.2f s | %.2f | %.2f s | %.2f s | %.2f |\n", rtt, c, f1, u1, u1 / m1, f4, u4, u4 / m4 }'
done
