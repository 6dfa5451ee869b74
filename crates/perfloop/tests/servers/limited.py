#!/usr/bin/env python3
"""HTTP/1.1 keep-alive servers with known limits, for perfloop's capacity tests.

usage: limited.py KIND [LIFETIME_S [PORT]]

KIND is
  pool:K:S_MS  every request waits for one of K permits, then sleeps S ms: at most K/S
               requests per second with almost no CPU (a waiting bottleneck);
  cpu:US       one event-loop thread spins US microseconds of CPU per request: at most
               10^6/US requests per second, one thread at 100 % (a serial hot path).

Prints `listening HOST:PORT` once it accepts connections (on PORT, or a free port), and
exits after LIFETIME_S seconds (120 by default). An unknown KIND exits at once with an
error, as a server given a bad setting does.
"""

import asyncio
import sys
import time


def worker(kind):
    name, *args = kind.split(":")
    if name == "pool":
        permits = asyncio.Semaphore(int(args[0]))
        service = int(args[1]) / 1000.0

        async def work():
            async with permits:
                await asyncio.sleep(service)

        return work
    if name == "cpu":
        spin = int(args[0]) / 1e6

        async def work():
            end = time.perf_counter() + spin
            while time.perf_counter() < end:
                pass

        return work
    sys.exit(f"unknown server kind {kind!r}")


async def main(kind, lifetime, port):
    work = worker(kind)

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                await work()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening {host}:{port}", flush=True)
    await asyncio.sleep(lifetime)


if __name__ == "__main__":
    lifetime = float(sys.argv[2]) if len(sys.argv) > 2 else 120.0
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    asyncio.run(main(sys.argv[1], lifetime, port))
