#!/usr/bin/env python3
"""A small HTTP/1.1 file server with faults, for qflash's HTTP source tests.

Serves files under --root on 127.0.0.1 with Range, ETag and Last-Modified,
writes its port to --port-file, and logs one line per request to --log.
Faults come from a random generator with a fixed --seed: --fail-rate of the
requests (from request --fail-from on) either get 503 or lose their connection (before the answer, or
halfway through the body, with a TCP reset). --ignore-range answers 200 with
the whole file (--full-200: only to a range that covers it all); --stall N,M... holds those requests 5 s before answering;
--change-after N serves a new version (other ETag and
Last-Modified; --grow also appends bytes) from the N-th request on.
--unknown-size answers ranges with a Content-Range of size '*'.
--auth USER:PASS and --require-header 'Name: value' answer 401/403 without
them. /redirect/PATH answers 302 to /PATH (to --redirect-to BASE + /PATH if
given: another origin). --cut N,M... sends half of those requests' bodies,
then resets the connection. The server stops by itself after
--max-requests requests or --lifetime seconds.
"""
import argparse
import base64
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.rng = random.Random(args.seed)
        self.count = 0
        self.log = open(args.log, "a", buffering=1) if args.log else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass  # one line per request goes to --log instead

    def note(self, n, outcome):
        st = self.server.state
        if st.log:
            with st.lock:
                st.log.write("%d %s %s range=%s auth=%s headers=%s -> %s\n" % (
                    n, self.command, self.path, self.headers.get("Range", "-"),
                    "yes" if self.headers.get("Authorization") else "no",
                    ",".join(sorted(self.headers.keys())), outcome))

    def reply(self, code, headers=(), body=b""):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reset(self):
        """Closes the connection with a TCP RST (SO_LINGER 0)."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        st = self.server.state
        a = st.args
        with st.lock:
            n = st.count
            st.count += 1
            fault, kind = st.rng.random(), st.rng.random()
        if n >= a.max_requests:
            self.note(n, "over the request limit")
            self.server.quit.set()
            self.reset()
            return
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if path.startswith("/redirect/"):
            self.note(n, "302")
            return self.reply(302, [("Location", (a.redirect_to or "") + path[len("/redirect"):])])
        if a.auth:
            want = "Basic " + base64.b64encode(a.auth.encode()).decode()
            if self.headers.get("Authorization") != want:
                self.note(n, "401")
                return self.reply(401, [("WWW-Authenticate", 'Basic realm="qflash"')])
        if a.require_header:
            name, value = a.require_header.split(":", 1)
            if self.headers.get(name.strip()) != value.strip():
                self.note(n, "403")
                return self.reply(403)
        file = os.path.realpath(os.path.join(a.root, path.lstrip("/")))
        if not file.startswith(os.path.realpath(a.root) + os.sep) or not os.path.isfile(file):
            self.note(n, "404")
            return self.reply(404)
        with open(file, "rb") as f:
            data = f.read()
        etag, modified = '"v1"', "Tue, 01 Sep 2026 10:00:00 GMT"
        if a.change_after is not None and n >= a.change_after:
            etag, modified = '"v2"', "Tue, 01 Sep 2026 11:00:00 GMT"
            if a.grow:
                data += bytes(65536)
        failing = (fault < a.fail_rate and n >= a.fail_from) or n in a.cut
        if n in a.stall:
            self.note(n, "stalled")
            time.sleep(5)
            return self.reset()
        if failing and n not in a.cut:
            if kind < 1 / 3:
                self.note(n, "503")
                return self.reply(503, [("Retry-After", "0")], b"busy\n")
            if kind < 2 / 3:
                self.note(n, "reset before answering")
                return self.reset()
        start, end, code = 0, len(data) - 1, 200
        rng = self.headers.get("Range")
        if rng and not a.ignore_range and rng.startswith("bytes="):
            first, _, last = rng[6:].partition("-")
            start = int(first)
            end = min(int(last) if last else len(data) - 1, len(data) - 1)
            if start >= len(data):
                self.note(n, "416")
                return self.reply(416, [("Content-Range", "bytes */%d" % len(data))])
            code = 200 if a.full_200 and start == 0 and end == len(data) - 1 else 206
        body = data[start:end + 1]
        headers = [("ETag", etag), ("Last-Modified", modified), ("Accept-Ranges", "bytes")]
        if code == 206:
            total = "*" if a.unknown_size else str(len(data))
            headers.append(("Content-Range", "bytes %d-%d/%s" % (start, end, total)))
        if failing:
            self.note(n, "reset halfway through the body")
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            return self.reset()
        self.note(n, str(code))
        self.reply(code, headers, body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # clients hanging up are no news
            super().handle_error(request, client_address)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fail-rate", type=float, default=0.0)
    p.add_argument("--fail-from", type=int, default=0)
    p.add_argument("--stall", type=lambda v: {int(x) for x in v.split(",")}, default=set())
    p.add_argument("--cut", type=lambda v: {int(x) for x in v.split(",")}, default=set())
    p.add_argument("--redirect-to")
    p.add_argument("--ignore-range", action="store_true")
    p.add_argument("--full-200", action="store_true")
    p.add_argument("--change-after", type=int)
    p.add_argument("--grow", action="store_true")
    p.add_argument("--unknown-size", action="store_true")
    p.add_argument("--auth")
    p.add_argument("--require-header")
    p.add_argument("--max-requests", type=int, default=2000)
    p.add_argument("--lifetime", type=float, default=120.0)
    args = p.parse_args()

    server = Server(("127.0.0.1", 0), Handler)
    server.state = State(args)
    server.quit = threading.Event()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.quit.wait(args.lifetime)
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
