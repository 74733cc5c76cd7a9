#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A minimal HTTP CONNECT proxy for tests: listens on 127.0.0.1:PORT, tunnels only
to loopback targets, logs one line per CONNECT to LOG, and with a third argument
USER:PASS requires that Proxy-Authorization (407 otherwise). With PROXY_TLS_CERT and
PROXY_TLS_KEY (PEM files) in the environment it is an HTTPS proxy: clients speak
TLS to it, then CONNECT inside."""
import asyncio, base64, os, ssl, sys

from relay import pipe

port, log = int(sys.argv[1]), sys.argv[2]
need = ("Basic " + base64.b64encode(sys.argv[3].encode()).decode()) if len(sys.argv) > 3 else None


async def handle(cr, cw):
    head = await cr.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    with open(log, "a") as f:
        f.write(f"{method} {target} auth={'yes' if 'proxy-authorization' in headers else 'no'}\n")
    host, _, tport = target.rpartition(":")
    if method != "CONNECT" or host.strip("[]") not in ("127.0.0.1", "localhost", "::1"):
        cw.write(b"HTTP/1.1 403 Forbidden\r\n\r\n")
        cw.close()
        return
    if need and headers.get("proxy-authorization") != need:
        cw.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
        cw.close()
        return
    ur, uw = await asyncio.open_connection(host.strip("[]"), int(tport))
    cw.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
    await asyncio.gather(pipe(cr, uw), pipe(ur, cw))
    uw.close()
    cw.close()


async def main():
    ctx = None
    if os.environ.get("PROXY_TLS_CERT"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.environ["PROXY_TLS_CERT"], os.environ["PROXY_TLS_KEY"])
    server = await asyncio.start_server(handle, "127.0.0.1", port, ssl=ctx)
    async with server:
        await server.serve_forever()

asyncio.run(main())
