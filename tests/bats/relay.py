"""Byte relaying shared by the test proxies (connect-proxy.py, slow-proxy.py)."""
import asyncio


async def pipe(r, w, before_write=None, close=False):
    """Copy r to w until EOF; then half-close w (or close it, with close=True).
    before_write: an async function awaited before each chunk goes on."""
    try:
        while data := await r.read(65536):
            if before_write:
                await before_write()
            w.write(data)
            await w.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            w.close() if close else w.write_eof()
        except (OSError, RuntimeError):
            pass
