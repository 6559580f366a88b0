#!/usr/bin/env bash
# Side by side: `qflash write` of one image from the local file and from a
# loopback nginx serving that same file, onto files. Prints the best of RUNS
# wall-clock times for each and their ratio (goal: HTTP within 1.2x).
# Usage: bench/http-vs-file.sh [SIZE_MIB=1024] [RUNS=3]; needs tools/build.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
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

# Three quarters of the disk hold data (random, so nothing compresses away).
mkdir -p "$work/www" "$work/nginx"
img="$work/www/disk.qcow2"
qemu-img create -q -f qcow2 "$img" "${size_mib}M"
head -c "$((size_mib * 3 / 4))M" /dev/urandom >"$work/data.raw"
qemu-img convert -q -n -f raw -O qcow2 "$work/data.raw" "$img"
rm -f "$work/data.raw"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$work/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$port; root $work/www; }
}
CONF
nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx.conf" &
nginx_pid=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

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
