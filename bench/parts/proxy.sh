# SPDX-License-Identifier: Apache-2.0
# kx proxy vs kubectl proxy: requests/s, p99 latency and the proxy process's own
# CPU (utime+stime) per 10,000 requests with wrk on the same small API path, at
# 1, 50 and 200 connections, and each proxy's peak RSS (VmHWM) after that load.
# Sourced by bench/run and bench/proxy (uses row, $KX, $KUBECTL, $root).
# KX_BENCH_PROXY_KUBECTL_ENV: environment for kubectl proxy alone, e.g.
# DISABLE_HTTP2=1 (client-go's switch: one HTTP/1.1 upstream per request in
# flight, as kx has, instead of one multiplexed HTTP/2 connection).
px_secs=${KX_BENCH_PROXY_SECS:-10}
px_path=/api/v1/namespaces/default/pods/web-0
px_start() { # command...: start "<command> proxy --port=0", print "PID PORT"
	local out
	out=$(mktemp)
	"$@" proxy --port=0 >"$out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 100); do
		grep -q '^Starting to serve on' "$out" && break
		sleep 0.1
	done
	echo "$pid $(sed -nE 's/^Starting to serve on .*:([0-9]+)$/\1/p' "$out")"
	rm -f "$out"
}
px_cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks
px_wrk() { # port connections pid: "requests/s p99-ms cpu-s-per-10k-requests" from wrk
	local threads=$(( $2 < 2 ? 1 : 2 )) c0 c1 out
	c0=$(px_cpu "$3")
	out=$(wrk -t"$threads" -c"$2" -d"${px_secs}s" --latency "http://127.0.0.1:$1$px_path")
	c1=$(px_cpu "$3")
	python3 -c '
import os, re, sys
t = sys.stdin.read()
c0, c1 = int(sys.argv[1]), int(sys.argv[2])
rps = re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)
n = int(re.search(r"(\d+) requests in", t).group(1))
v, u = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", t, re.M).groups()
cpu = (c1 - c0) / os.sysconf("SC_CLK_TCK")
print(rps, "%.2f" % (float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u]), "%.3f" % (cpu / n * 10000))' \
		"$c0" "$c1" <<<"$out"
}
px_hwm() { sed -nE 's/^VmHWM:\s+([0-9]+) kB/\1/p' "/proc/$1/status"; }
read -r kx_px_pid kx_px_port <<<"$(px_start "$KX")"
# shellcheck disable=SC2086 # the variable holds NAME=VALUE words
read -r kc_px_pid kc_px_port <<<"$(px_start env ${KX_BENCH_PROXY_KUBECTL_ENV:-} "$KUBECTL")"
for conns in 1 50 200; do
	read -r kx_rps kx_p99 kx_cpu <<<"$(px_wrk "$kx_px_port" "$conns" "$kx_px_pid")"
	read -r kc_rps kc_p99 kc_cpu <<<"$(px_wrk "$kc_px_port" "$conns" "$kc_px_pid")"
	row "proxy: GET $px_path, $conns connection(s), requests/s (higher is better)" req/s "$kx_rps" "$kc_rps"
	row "proxy: GET $px_path, $conns connection(s), p99 latency" ms "$kx_p99" "$kc_p99"
	row "proxy: $conns connection(s), the proxy's CPU per 10,000 requests" cpu-s "$kx_cpu" "$kc_cpu"
done
px_conn_ms() { # port: median ms of one request on a new connection (Connection: close)
	python3 - "$1" "$px_path" <<'PY'
import socket, statistics, sys, time
port, path = int(sys.argv[1]), sys.argv[2]
def one():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path.encode())
    while s.recv(65536):
        pass
    s.close()
for _ in range(20):
    one()
t = []
for _ in range(300):
    a = time.perf_counter()
    one()
    t.append((time.perf_counter() - a) * 1000)
print("%.2f" % statistics.median(t))
PY
}
row "proxy: one request per new client connection, median of 300" ms "$(px_conn_ms "$kx_px_port")" "$(px_conn_ms "$kc_px_port")"
row "peak RSS of the proxy after the wrk runs" KiB "$(px_hwm "$kx_px_pid")" "$(px_hwm "$kc_px_pid")"
kill "$kx_px_pid" "$kc_px_pid"
wait "$kx_px_pid" "$kc_px_pid" 2>/dev/null || true
