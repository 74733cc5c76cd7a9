#!/usr/bin/env python3
"""A TCP relay for tests that makes a server slow on demand: listens on
127.0.0.1:PORT and relays each connection to 127.0.0.1:TARGET; while the file
SLOW exists, every chunk from the target waits DELAY seconds before it goes on.
(TLS passes through untouched.) Loopback only; runs until killed."""
import asyncio, os, sys

from relay import pipe

port, target, slow, delay = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])


async def hold():
    if os.path.exists(slow):
        await asyncio.sleep(delay)


async def handle(cr, cw):
    try:
        ur, uw = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pipe(cr, uw, close=True), pipe(ur, cw, hold, close=True))


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=256)
    async with server:
        await server.serve_forever()

asyncio.run(main())
