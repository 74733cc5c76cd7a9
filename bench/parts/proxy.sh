# SPDX-License-Identifier: Apache-2.0
# kx proxy vs kubectl proxy: requests/s and p99 latency with wrk on the same
# small API path, at 1 and 50 connections, and each proxy's peak RSS (VmHWM)
# after that load. Sourced by bench/run (uses row, $KX, $KUBECTL, $root).
px_secs=${KX_BENCH_PROXY_SECS:-10}
px_path=/api/v1/namespaces/default/pods/web-0
px_start() { # binary: start "<binary> proxy --port=0", print "PID PORT"
	local out
	out=$(mktemp)
	"$1" proxy --port=0 >"$out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 100); do
		grep -q '^Starting to serve on' "$out" && break
		sleep 0.1
	done
	echo "$pid $(sed -nE 's/^Starting to serve on .*:([0-9]+)$/\1/p' "$out")"
	rm -f "$out"
}
px_wrk() { # port connections: "requests/s p99-ms" from wrk
	local threads=$(( $2 < 2 ? 1 : 2 ))
	wrk -t"$threads" -c"$2" -d"${px_secs}s" --latency "http://127.0.0.1:$1$px_path" | python3 -c '
import re, sys
t = sys.stdin.read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)
v, u = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", t, re.M).groups()
print(rps, "%.2f" % (float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u]))'
}
px_hwm() { sed -nE 's/^VmHWM:\s+([0-9]+) kB/\1/p' "/proc/$1/status"; }
read -r kx_px_pid kx_px_port <<<"$(px_start "$KX")"
read -r kc_px_pid kc_px_port <<<"$(px_start "$KUBECTL")"
for conns in 1 50; do
	read -r kx_rps kx_p99 <<<"$(px_wrk "$kx_px_port" "$conns")"
	read -r kc_rps kc_p99 <<<"$(px_wrk "$kc_px_port" "$conns")"
	row "proxy: GET $px_path, $conns connection(s), requests/s (higher is better)" req/s "$kx_rps" "$kc_rps"
	row "proxy: GET $px_path, $conns connection(s), p99 latency" ms "$kx_p99" "$kc_p99"
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
