#!/usr/bin/env python3
"""Client of the fixture's whoami-echo pod port (5: the pod's name and a
newline, then every byte back), for the balancing tests.

  whoami-client.py PORT --count N            N connections, one after another
  whoami-client.py PORT --seconds S --rate R R new connections a second for S s

Each connection sends SIZE random bytes (--size, default 4096), half-closes,
and is good when it gets back a pod's name and exactly its bytes. Prints one
"POD COUNT" line per pod, then "conns N failed F bytes B" (B: bytes of the
good connections, checked). --peers FILE: also one line per connection,
"LOCALPORT SENT RECEIVED" (the client's own counts; --vary: random sizes 0..SIZE)."""
import argparse
import collections
import os
import random
import socket
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("--count", type=int)
ap.add_argument("--seconds", type=float)
ap.add_argument("--rate", type=int, default=20)
ap.add_argument("--size", type=int, default=4096)
ap.add_argument("--vary", action="store_true")
ap.add_argument("--peers")
a = ap.parse_args()

lock = threading.Lock()
pods = collections.Counter()
stats = {"conns": 0, "failed": 0, "bytes": 0}
peers = []


def one():
    blob = os.urandom(random.randint(0, a.size) if a.vary else a.size)
    pod = None
    got = bytearray()
    try:
        s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        me = s.getsockname()[1]
        s.sendall(blob)
        s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        s.close()
        name, nl, rest = bytes(got).partition(b"\n")
        if nl and name and rest == blob:
            pod = name.decode()
        with lock:
            peers.append("%d %d %d" % (me, len(blob), len(got)))
    except OSError:
        pass
    with lock:
        stats["conns"] += 1
        if pod:
            pods[pod] += 1
            stats["bytes"] += len(blob)
        else:
            stats["failed"] += 1


if a.count is not None:
    for _ in range(a.count):
        one()
else:
    threads, start, k = [], time.monotonic(), 0
    while time.monotonic() - start < a.seconds:
        t = threading.Thread(target=one)
        t.start()
        threads.append(t)
        k += 1
        time.sleep(max(0, start + k / a.rate - time.monotonic()))
    for t in threads:
        t.join(30)
if a.peers:
    with open(a.peers, "w") as f:
        f.write("".join(p + "\n" for p in peers))
for pod, n in sorted(pods.items()):
    print(pod, n)
print("conns %(conns)d failed %(failed)d bytes %(bytes)d" % stats)
