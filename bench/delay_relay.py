#!/usr/bin/env python3
"""A TCP relay on 127.0.0.1 that adds a fixed delay each way, for bench/.

Listens on --port (0: any; written to --port-file) and relays each
connection to --to HOST:PORT, holding every piece of data --delay-ms
milliseconds before passing it on, in both directions: a round trip of
twice that. Each direction of a connection holds at most --window bytes in
flight, as a TCP receive window would, so one connection's rate is bounded
by window / delay as on a real long link.
"""
import argparse
import asyncio
import os
import sys
import time


async def pump(reader, writer, delay, window):
    queue = asyncio.Queue()
    room = asyncio.Semaphore(max(window // 262144, 1))

    async def receive():
        while True:
            await room.acquire()
            data = await reader.read(262144)
            await queue.put((time.monotonic() + delay, data))
            if not data:
                return

    async def send():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            room.release()
            if not data:
                try:
                    writer.write_eof()
                except OSError:
                    pass
                return
            writer.write(data)
            await writer.drain()

    try:
        await asyncio.gather(receive(), send())
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--to", required=True)
    p.add_argument("--delay-ms", type=float, default=0)
    p.add_argument("--window", type=int, default=16 << 20)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    a = p.parse_args()
    host, port = a.to.rsplit(":", 1)
    delay = a.delay_ms / 1000

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, server_writer, delay, a.window),
                             pump(server_reader, client_writer, delay, a.window))

    server = await asyncio.start_server(handle, "127.0.0.1", a.port, limit=1 << 20)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.sockets[0].getsockname()[1]))
        os.rename(tmp, a.port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
