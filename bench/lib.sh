# Shared by the bench scripts (sourced): Debian packages they need, a free
# port, a QCOW2 of random data, and nginx serving a folder on 127.0.0.1.

# Installs each Debian package of "$@" that is missing.
need_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null
  done
}

# A TCP port free on 127.0.0.1 now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (up to 10 s) until something listens on 127.0.0.1:$1.
wait_port() {
  local _
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
    sleep 0.1
  done
}

# Makes $1, a QCOW2 of $2 MiB whose first three quarters hold random data
# (nothing compresses away), using $1.data as scratch.
make_random_qcow2() {
  qemu-img create -q -f qcow2 "$1" "$2M"
  head -c "$(($2 * 3 / 4))M" /dev/urandom >"$1.data"
  qemu-img convert -q -n -f raw -O qcow2 "$1.data" "$1"
  rm -f "$1.data"
}

# Starts nginx (one process, sendfile, no access log) serving folder $1 on
# 127.0.0.1:$2, its files in folder $3; sets nginx_pid and returns once it
# listens. The caller kills $nginx_pid.
start_nginx() {
  local root="$1" port="$2" dir="$3"
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$port; root $root; }
}
CONF
  nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" &
  nginx_pid=$!
  wait_port "$port"
}
