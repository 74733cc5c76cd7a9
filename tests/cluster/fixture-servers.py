#!/usr/bin/env python3
"""TCP servers behind the test cluster's fake pods (kwok forwards pod ports to them).

Started by tests/cluster/up; every listener binds 127.0.0.1 only. One process,
one thread per connection; a listen backlog of 1024 (socketserver's default is 5:
a burst of connections would get dropped SYNs and resets, and load tests would
measure the fixture instead of kx). Usage:

  fixture-servers.py --www DIR --http PORT --echo PORT --sink PORT --source PORT

  http    HTTP/1.1 file server for DIR (index.html says "kx fixture web").
  echo    sends back every byte it receives; half-closes its side at the client's EOF.
  sink    discards what it receives; at the client's EOF it answers with the byte
          count as decimal ASCII plus "\\n", then closes.
  source  if the client sends a line "N\\n" within 1 s of connecting, sends exactly N
          bytes then closes; otherwise (no line within 1 s, or an empty line) sends
          bytes until the client goes away. Byte k of the stream is k % 251 (a prime,
          so a lost or repeated chunk shows).
"""
import argparse
import functools
import http.server
import socket
import socketserver
import sys
import threading

CHUNK = 64 * 1024
BACKLOG = 1024
PATTERN = bytes(k % 251 for k in range(251 * 262))  # 65762 bytes, whole periods


class TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = BACKLOG


class HTTPServer(http.server.ThreadingHTTPServer):
    request_queue_size = BACKLOG


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        while True:
            b = s.recv(CHUNK)
            if not b:
                break
            s.sendall(b)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Sink(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        n = 0
        while True:
            b = s.recv(CHUNK)
            if not b:
                break
            n += len(b)
        try:
            s.sendall(b"%d\n" % n)
        except OSError:
            pass


def stream(s, count):
    """Sends count bytes of the pattern (None: forever) from offset 0."""
    off = 0
    sent = 0
    while count is None or sent < count:
        n = len(PATTERN) - off
        if count is not None:
            n = min(n, count - sent)
        s.sendall(PATTERN[off:off + n])
        sent += n
        off = (off + n) % 251


class Source(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        count = None
        s.settimeout(1.0)
        line = b""
        try:
            while b"\n" not in line and len(line) < 64:
                b = s.recv(64)
                if not b:
                    break
                line += b
        except socket.timeout:
            pass
        s.settimeout(None)
        text = line.split(b"\n", 1)[0].strip()
        if text.isdigit():
            count = int(text)
        try:
            stream(s, count)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Web(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("http: %s - %s\n" % (self.address_string(), fmt % args))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--www", required=True)
    for name in ("http", "echo", "sink", "source"):
        ap.add_argument("--" + name, type=int, required=True)
    a = ap.parse_args()

    servers = [
        TCPServer(("127.0.0.1", a.echo), Echo),
        TCPServer(("127.0.0.1", a.sink), Sink),
        TCPServer(("127.0.0.1", a.source), Source),
        HTTPServer(("127.0.0.1", a.http), functools.partial(Web, directory=a.www)),
    ]
    for srv in servers[:-1]:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stderr.write("fixture servers up: http %d echo %d sink %d source %d\n"
                     % (a.http, a.echo, a.sink, a.source))
    sys.stderr.flush()
    servers[-1].serve_forever()


if __name__ == "__main__":
    main()
