#!/usr/bin/env python3
"""CPU per byte of a forwarding client: its own utime+stime (from /proc/PID/stat
or wait4's rusage), per GiB moved, and optionally its system calls per MiB.

  cpu.py pf SOURCE_REMOTE_PORT MIB [--strace] -- CMD...
      CMD is a port-forward to a pod's byte source (the fixture's port 19: it
      sends N bytes after reading "N\\n"); CMD must print kubectl's
      "Forwarding from 127.0.0.1:P -> REMOTE" line. One warm-up download, then
      MIB MiB through one connection; the CPU the forwarding process spent in
      between is measured from /proc. With --strace, a second download runs
      under `strace -c -f -p PID` and the calls per MiB are reported.
      Prints: "<cpu-s/GiB> <MB/s> [<syscalls/MiB>]"
  cpu.py exec BLOB -- CMD...
      CMD (exec -i POD -- cat) gets BLOB on stdin; its stdout must equal BLOB
      (sha256). Prints "<cpu-s/GiB> <MB/s>": the process's whole CPU (rusage)
      per GiB of BLOB.

Traffic goes to 127.0.0.1 only. Every socket has a 120 s timeout."""
import hashlib, os, re, signal, subprocess, sys, tempfile, time

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def download(port, nbytes):
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    t = time.perf_counter()
    s.sendall(b"%d\n" % nbytes)
    got = 0
    while got < nbytes:
        b = s.recv(1 << 20)
        if not b:
            break
        got += len(b)
    el = time.perf_counter() - t
    s.close()
    if got != nbytes:
        sys.exit("cpu.py: got %d of %d bytes" % (got, nbytes))
    return el


def pf(args):
    remote, mib = int(args[0]), int(args[1])
    use_strace = "--strace" in args
    cmd = args[args.index("--") + 1:]
    out = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(cmd + ["port-forward", "pod/web-0", ":%d" % remote], stdout=out,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        port = None
        for _ in range(300):
            out.seek(0)
            m = re.search(r"Forwarding from 127\.0\.0\.1:(\d+) -> %d" % remote, out.read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.1)
        if not port:
            sys.exit("cpu.py: the port-forward did not start: %s" % " ".join(cmd))
        download(port, 16 << 20)  # warm-up: session up, buffers grown
        c0 = proc_cpu(p.pid)
        el = download(port, mib << 20)
        cpu = proc_cpu(p.pid) - c0
        res = ["%.3f" % (cpu / (mib / 1024)), "%.1f" % (mib * 1.048576 / el)]
        if use_strace:
            log = tempfile.NamedTemporaryFile(suffix=".strace", delete=False).name
            st = subprocess.Popen(["strace", "-c", "-f", "-q", "-o", log, "-p", str(p.pid)],
                                  stderr=subprocess.DEVNULL)
            time.sleep(1)
            download(port, mib << 20)
            st.send_signal(signal.SIGINT)
            st.wait(timeout=30)
            total = 0
            with open(log) as f:
                for line in f:
                    m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?total", line)
                    if m:
                        total = int(m.group(1))
            os.unlink(log)
            res.append("%.0f" % (total / mib))
        print(" ".join(res))
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=10)


def exec_(args):
    blob = args[0]
    cmd = args[args.index("--") + 1:]
    data = open(blob, "rb").read()
    want = hashlib.sha256(data).hexdigest()
    with open(blob, "rb") as f, tempfile.TemporaryFile() as o:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=f, stdout=o, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        el = time.perf_counter() - t
        o.seek(0)
        if hashlib.sha256(o.read()).hexdigest() != want or status != 0:
            sys.exit("cpu.py: exec output differs from input: %s" % " ".join(cmd))
    gib = len(data) / (1 << 30)
    print("%.3f %.1f" % ((ru.ru_utime + ru.ru_stime) / gib, len(data) / 1e6 / el))


if __name__ == "__main__":
    {"pf": pf, "exec": exec_}[sys.argv[1]](sys.argv[2:])
