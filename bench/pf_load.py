#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Load for port-forward benchmarks against an echo server at 127.0.0.1:PORT.

  pf_load.py PORT pingpong N     median round trip (µs) of 1-byte ping-pongs on one connection
  pf_load.py PORT setup N        median connect -> first byte back (ms), N sequential connections
  pf_load.py PORT parallel N MIB N connections at once, each echoing MIB MiB: total MB/s and
                                 p99 completion time (ms), every byte checked
Prints one line of numbers. Bounded: every socket has a 60 s timeout."""
import socket, statistics, sys, threading, time

port, mode, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])


def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


if mode == "pingpong":
    s = conn()
    for _ in range(20):  # warm-up
        s.sendall(b"x"); s.recv(1)
    rtts = []
    for _ in range(n):
        t = time.perf_counter()
        s.sendall(b"x")
        if s.recv(1) != b"x":
            sys.exit("pingpong: wrong byte")
        rtts.append((time.perf_counter() - t) * 1e6)
    s.close()
    print("%.0f" % statistics.median(rtts))
elif mode == "setup":
    times = []
    for _ in range(n):
        t = time.perf_counter()
        s = conn()
        s.sendall(b"x")
        if s.recv(1) != b"x":
            sys.exit("setup: wrong byte")
        times.append((time.perf_counter() - t) * 1e3)
        s.close()
    print("%.2f" % statistics.median(times))
elif mode == "parallel":
    mib = int(sys.argv[4])
    payload = bytes(range(256)) * (mib * 4096)
    done, errors = [], []

    def one():
        t = time.perf_counter()
        try:
            s = conn()
            # No half-close: the kubelet side (KWOK, like containerd) closes a
            # forwarded connection 1 s after one direction ends, which cuts the
            # tail of a slow echo — a property of the server, not of the client.
            threading.Thread(target=s.sendall, args=(payload,), daemon=True).start()
            got = bytearray()
            while len(got) < len(payload):
                b = s.recv(1 << 20)
                if not b:
                    break
                got += b
            s.close()
            if len(got) != len(payload):
                errors.append("short: %d of %d bytes" % (len(got), len(payload)))
            elif bytes(got) != payload:
                errors.append("bytes differ")
            done.append((time.perf_counter() - t) * 1e3)
        except OSError as e:
            errors.append(str(e))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(n)]
    for th in threads: th.start()
    for th in threads: th.join(120)
    total = time.perf_counter() - t0
    if errors or len(done) != n:
        sys.exit("parallel: %d of %d connections failed: %s" % (n - len(done) + len(errors), n, errors[:3]))
    done.sort()
    print("%.1f %.0f" % (n * mib / total, done[min(len(done) - 1, int(len(done) * 0.99))]))
