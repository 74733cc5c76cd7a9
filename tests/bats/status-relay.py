#!/usr/bin/env python3
"""A witness between kx and the API server, for exec tests. kx talks TLS to
127.0.0.1:PORT (the API server's own certificate; a kubeconfig with a token);
the relay talks TLS to the API server (loopback only) and copies the plain bytes
both ways, ending as the API server does: when the server's side ends, what it
sent goes out to kx, then kx's socket is closed with whatever kx sent still
unread (a reset, as the API server's own close gives). Server->client exec
bytes are plain (SPDY data frames and WebSocket frames from a server are neither
compressed nor masked), so the relay sees whether the server sent an exec's exit
Status ("NonZeroExitCode"). For each exec connection it appends one line to LOG
when the connection ends: "status-sent", "no-status", or (WebSocket)
"close-before-status" when the server's close frame came before the status.

  status-relay.py PORT_FILE LOG API_PORT CA_FILE CERT_FILE KEY_FILE [CUT_POD CUT_AFTER]

With CUT_POD, the exec connection of that pod is cut (a reset, both sides
closed) CUT_AFTER seconds after its request: one pod's session lost mid-command
while the others go on.
"""
import fcntl, os, select, socket, ssl, struct, sys, threading, time

port_file, log, api_port, ca, cert, key = sys.argv[1:7]
cut_pod, cut_after = (sys.argv[7], float(sys.argv[8])) if len(sys.argv) > 8 else (None, 0)
api_port = int(api_port)
SIOCOUTQ = 0x5411
lock = threading.Lock()


def outq(s):
    return struct.unpack("i", fcntl.ioctl(s.fileno(), SIOCOUTQ, b"\0\0\0\0"))[0]


def io(op, arg):
    """One read or write on a non-blocking socket: (result, gone). result is
    None when TLS or the socket would block; gone is True when that socket
    failed (each error belongs to the socket that raised it)."""
    try:
        return op(arg), False
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return None, False
    except OSError:
        return None, True


def handle(raw):
    """One connection, one thread, both directions in one select loop (an SSL
    object must not be read and written from two threads at once)."""
    try:
        kx = server_ctx.wrap_socket(raw, server_side=True)
        up = client_ctx.wrap_socket(socket.create_connection(("127.0.0.1", api_port)),
                                    server_hostname="127.0.0.1")
    except OSError:
        raw.close()
        return
    kx.setblocking(False)
    up.setblocking(False)
    to_up, to_kx, seen = b"", b"", b""
    head, frames, ws, closed_first = b"", b"", None, False
    is_exec = None
    reading_kx, up_open, up_taking, sent = True, True, True, False
    cut_at = None
    while up_open or to_kx:
        if cut_at and time.monotonic() >= cut_at:
            kx.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            kx.close()
            up.close()
            return
        rl = ([kx] if reading_kx and len(to_up) < 1 << 20 else []) + \
             ([up] if up_open and len(to_kx) < 1 << 20 else [])
        wl = ([up] if to_up and up_open and up_taking else []) + ([kx] if to_kx else [])
        ready = [s for s in rl if s.pending()]
        if not ready:
            r, w, _ = select.select(rl, wl, [], 0.05 if cut_at else 1)
            ready = r + w
        for s in set(ready):
            if s is kx and reading_kx:
                data, gone = io(kx.recv, 65536)
                if gone:
                    # kx reset: nothing more can reach it
                    reading_kx, up_open, to_kx = False, False, b""
                    break
                if data == b"":
                    reading_kx = False
                elif data is not None:
                    if is_exec is None:
                        line = data.split(b"\r\n", 1)[0]
                        is_exec = b"/exec?" in line
                        if cut_pod and f"/pods/{cut_pod}/exec?".encode() in line:
                            cut_at = time.monotonic() + cut_after
                    to_up += data
            if s is up and up_open:
                data, gone = io(up.recv, 65536)
                if gone or data == b"":
                    up_open = False  # the server's end: deliver what it sent, then close kx
                elif data is not None:
                    if ws is None:
                        head += data
                        if b"\r\n\r\n" in head:
                            h, rest = head.split(b"\r\n\r\n", 1)
                            ws = b"websocket" in h.lower()
                            frames = rest
                            if not ws:
                                seen = rest[-4096:]
                                sent = sent or b"NonZeroExitCode" in seen
                    elif ws:
                        frames += data
                    if ws:
                        # WebSocket: the status counts as sent only when its
                        # message comes before the server's close frame (after
                        # that, a client reads nothing more, as RFC 6455 says).
                        while len(frames) >= 2 and not closed_first:
                            n, off = frames[1] & 0x7F, 2
                            if n == 126:
                                if len(frames) < 4:
                                    break
                                n, off = struct.unpack(">H", frames[2:4])[0], 4
                            elif n == 127:
                                if len(frames) < 10:
                                    break
                                n, off = struct.unpack(">Q", frames[2:10])[0], 10
                            if len(frames) < off + n:
                                break
                            op, payload = frames[0] & 0x0F, frames[off:off + n]
                            frames = frames[off + n:]
                            if op == 8:
                                closed_first = not sent
                            elif b"NonZeroExitCode" in payload:
                                sent = True
                    elif ws is False:
                        seen = (seen + data)[-4096:]
                        sent = sent or b"NonZeroExitCode" in seen
                    to_kx += data
        if to_up and up_open and up_taking:
            n, gone = io(up.send, to_up)
            if gone:
                # The server stopped taking input (it closed with kx's bytes
                # unread, a reset): send it nothing more and stop reading kx,
                # whose bytes then stay unread; what the server sent before is
                # still read from up and delivered.
                up_taking, reading_kx, to_up = False, False, b""
            elif n:
                to_up = to_up[n:]
        if to_kx:
            n, gone = io(kx.send, to_kx)
            if gone:
                reading_kx, up_open, to_kx = False, False, b""
            elif n:
                to_kx = to_kx[n:]
    # What was written leaves the relay's socket before it closes.
    deadline = time.monotonic() + 5
    while outq(kx) and time.monotonic() < deadline:
        time.sleep(0.005)
    kx.close()
    up.close()
    if is_exec:
        with lock, open(log, "a") as f:
            f.write("status-sent\n" if sent else "close-before-status\n" if closed_first else "no-status\n")


server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(cert, key)
client_ctx = ssl.create_default_context(cafile=ca)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(64)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
