#!/usr/bin/env python3
"""Loopback stand-ins for what the test cluster lacks, for `kx reach --check`:
kube-proxy on a node port, a cloud load balancer, a one-host ingress controller.
Each listener is an HTTP (or HTTPS) server on 127.0.0.1 that answers 200 "ok
HOST" when the request's Host is one it serves (--host, repeatable; none given:
every host), else 404 — what an ingress controller answers for a host it has no
rule for. HTTPS listeners present --cert/--key (a test CA's certificate for one
host). Once every listener is up it writes "SPEC PORT" lines to PORT_FILE
(atomically).

  reach-standin.py PORT_FILE [--cert F --key F] [--host H]... [--delay MS] SPEC...
  SPEC: http:PORT | https:PORT; PORT 0 = any free port, "node" = a free port in
  the node-port range (30000-32767)
"""
import http.server, os, random, socket, ssl, sys, threading, time

args = sys.argv[1:]
port_file = args.pop(0)
cert = key = None
hosts = []
specs = []
delay = 0.0
while args:
    a = args.pop(0)
    if a == "--cert":
        cert = args.pop(0)
    elif a == "--key":
        key = args.pop(0)
    elif a == "--delay":
        delay = int(args.pop(0)) / 1000.0
    elif a == "--host":
        hosts.append(args.pop(0))
    else:
        specs.append(a)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0]
        ok = not hosts or host in hosts
        time.sleep(delay)
        body = (("ok %s\n" % host) if ok else ("no rule for host %s\n" % host)).encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def bind(port):
    if port != "node":
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(port)))
        return s
    for _ in range(200):
        p = random.randint(30000, 32767)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return s
        except OSError:
            s.close()
    raise SystemExit("no free node port")


lines = []
for spec in specs:
    scheme, port = spec.split(":", 1)
    sock = bind(port)
    sock.listen(64)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    srv.socket.close()
    if scheme == "https":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        sock = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
    srv.socket = sock
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    lines.append("%s %d\n" % (spec, sock.getsockname()[1]))

tmp = port_file + ".tmp"
with open(tmp, "w") as f:
    f.writelines(lines)
os.rename(tmp, port_file)
threading.Event().wait()
