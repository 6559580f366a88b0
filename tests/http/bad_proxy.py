#!/usr/bin/env python3
"""An HTTP forward proxy on 127.0.0.1 that misbehaves, for qflash's tests.

Takes absolute-URI requests (curl's --proxy), fetches them from the origin
and answers according to --mode:
  pass         relays the answer as it is;
  full-200     fetches the whole file and answers a range with 200 and all of it
               (a P2P proxy's known fault: dragonflyoss/client#1889);
  wrong-range  answers a range that does not start at 0 with the range before
               it (truthfully labelled in Content-Range);
  foreign      answers ranges that touch slice --slice (of --slice-size bytes)
               with the same bytes of --foreign FILE; with --same-headers under
               the origin's ETag, Last-Modified and size, else under the
               foreign file's own.
Writes its port to --port-file and one line per request to --log.
"""
import argparse
import http.client
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def note(self, outcome):
        a = self.server.args
        if a.log:
            with self.server.lock:
                with open(a.log, "a") as f:
                    f.write("%s %s range=%s -> %s\n" % (self.command, self.path,
                                                       self.headers.get("Range", "-"), outcome))

    def fetch(self, rng):
        u = urllib.parse.urlsplit(self.path)
        c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("range", "proxy-connection", "connection", "host")}
        if rng:
            headers["Range"] = rng
        c.request("GET", u.path + ("?" + u.query if u.query else ""), headers=headers)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, dict(r.getheaders()), body

    def answer(self, code, headers, body):
        self.send_response(code)
        for k in ("ETag", "Last-Modified", "Content-Range", "Location", "WWW-Authenticate"):
            if k in headers:
                self.send_header(k, headers[k])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        a = self.server.args
        rng = self.headers.get("Range")
        first = last = None
        if rng and rng.startswith("bytes="):
            f, _, l = rng[6:].partition("-")
            first, last = int(f), int(l)
        if a.mode == "full-200" and rng:
            code, headers, body = self.fetch(None)
            headers.pop("Content-Range", None)
            self.note("200 whole file")
            return self.answer(200, headers, body)
        if a.mode == "wrong-range" and first and first >= last - first + 1:
            n = last - first + 1
            code, headers, body = self.fetch("bytes=%d-%d" % (first - n, last - n))
            self.note("%d %s" % (code, headers.get("Content-Range")))
            return self.answer(code, headers, body)
        if a.mode == "foreign" and first is not None:
            lo, hi = a.slice * a.slice_size, (a.slice + 1) * a.slice_size - 1
            if first <= hi and last >= lo:
                code, headers, body = self.fetch(rng)
                with open(a.foreign, "rb") as f:
                    f.seek(first)
                    other = f.read(last - first + 1)
                other = other.ljust(len(body), b"\0")[:len(body)]
                if not a.same_headers:
                    size = os.path.getsize(a.foreign)
                    headers["ETag"] = '"foreign"'
                    headers["Last-Modified"] = "Mon, 01 Jan 2024 00:00:00 GMT"
                    headers["Content-Range"] = "bytes %d-%d/%d" % (first, first + len(body) - 1, size)
                self.note("%d foreign bytes" % code)
                return self.answer(code, headers, other)
        code, headers, body = self.fetch(rng)
        self.note("%d" % code)
        self.answer(code, headers, body)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--log")
    p.add_argument("--mode", default="pass", choices=["pass", "full-200", "wrong-range", "foreign"])
    p.add_argument("--foreign")
    p.add_argument("--slice", type=int, default=3)
    p.add_argument("--slice-size", type=int, default=1 << 20)
    p.add_argument("--same-headers", action="store_true")
    p.add_argument("--lifetime", type=float, default=120.0)
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.args = args
    server.lock = threading.Lock()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Event().wait(args.lifetime)
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
