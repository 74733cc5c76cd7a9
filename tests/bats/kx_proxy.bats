#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx proxy against the real cluster: REST calls through it equal direct ones,
# watches stream, kubectl's filters and words, kubectl/kx exec through it, and
# bad clients do not stop service to others. kubectl proxy is run beside it
# where its answers are the reference.

setup() {
	load helpers
	need_cluster
	PX_OUT=$BATS_TEST_TMPDIR/px.out
	PX_ERR=$BATS_TEST_TMPDIR/px.err
	PIDS=()
}

teardown() {
	for p in "${PX_PID:-}" "${KC_PID:-}" "${PIDS[@]}"; do
		[ -z "$p" ] || kill "$p" 2>/dev/null || true
	done
	for p in "${PX_PID:-}" "${KC_PID:-}" "${PIDS[@]}"; do
		[ -z "$p" ] || wait "$p" 2>/dev/null || true
	done
	kubectl delete configmap kx-proxy-cm kx-proxy-watch --ignore-not-found >/dev/null 2>&1 || true
	[ ! -f "$BATS_TEST_TMPDIR/pod.log.orig" ] || cp "$BATS_TEST_TMPDIR/pod.log.orig" "$KX_TEST_POD_LOG"
}

# wait_line FILE PID: until FILE has the startup line (or PID died); prints the port.
wait_line() {
	for _ in $(seq 100); do
		grep -q '^Starting to serve on' "$1" 2>/dev/null && break
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	sed -nE 's/^Starting to serve on .*:([0-9]+)$/\1/p' "$1"
}

# start_proxy ARGS...: kx proxy --port=0 in the background; sets PX_PID and PORT.
start_proxy() {
	"$KX_BIN" proxy "$@" >"$PX_OUT" 2>"$PX_ERR" &
	PX_PID=$!
	PORT=$(wait_line "$PX_OUT" "$PX_PID")
	[ -n "$PORT" ] || { cat "$PX_ERR"; return 1; }
}

# start_kubectl_proxy ARGS...: the reference; sets KC_PID and KC_PORT.
start_kubectl_proxy() {
	"$KUBECTL" proxy --port=0 "$@" >"$BATS_TEST_TMPDIR/kc.out" 2>"$BATS_TEST_TMPDIR/kc.err" &
	KC_PID=$!
	KC_PORT=$(wait_line "$BATS_TEST_TMPDIR/kc.out" "$KC_PID")
	[ -n "$KC_PORT" ]
}

c() { curl -sS --max-time 20 "$@"; }
# JSON in one canonical form (the server pretty-prints for curl's User-Agent only);
# a list's resourceVersion is the store's current revision, which node heartbeats move
norm() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
if str(d.get("kind", "")).endswith("List"):
    d.get("metadata", {}).pop("resourceVersion", None)
print(json.dumps(d, sort_keys=True))'
}

@test "--address: IPv6 and names (localhost) as kubectl takes them; the line shows the address" {
	start_proxy --port=0 --address=::1
	grep -Eqx "Starting to serve on \[::1\]:[0-9]+" "$PX_OUT"
	# (Host "[::1]:PORT" itself is refused, as by kubectl: see the Host test)
	run c -o /dev/null -w '%{http_code}' -H "Host: localhost:$PORT" "http://[::1]:$PORT/version"
	assert_output 200
	kill "$PX_PID"; wait "$PX_PID" || true
	start_proxy --port=0 --address=localhost
	grep -Eqx "Starting to serve on (127\.0\.0\.1|\[::1\]):[0-9]+" "$PX_OUT"
}

@test "startup line with the real port for --port=0; Ctrl-C ends it with exit 0" {
	start_proxy --port=0
	grep -Eqx "Starting to serve on 127\.0\.0\.1:[0-9]+" "$PX_OUT"
	[ "$PORT" -gt 0 ]
	kill -INT "$PX_PID"
	rc=0
	wait "$PX_PID" || rc=$?
	PX_PID=
	assert_equal "$rc" 0
}

@test "GET through the proxy equals kubectl get --raw, and kubectl's own proxy" {
	start_proxy --port=0
	start_kubectl_proxy
	for path in /version /api/v1/namespaces/default/pods/web-0 /api/v1/namespaces/default/pods "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb"; do
		direct=$(kubectl get --raw "$path" | norm)
		via_kx=$(c "http://127.0.0.1:$PORT$path")
		via_kc=$(c "http://127.0.0.1:$KC_PORT$path")
		assert_equal "$(norm <<<"$via_kx")" "$direct"
		assert_equal "$(norm <<<"$via_kx")" "$(norm <<<"$via_kc")"
	done
	# an HTTP/1.0 client gets a response it can read (no chunked framing)
	run c -0 -D "$BATS_TEST_TMPDIR/h10" "http://127.0.0.1:$PORT/api/v1/namespaces/default/pods"
	assert_equal "$(norm <<<"$output")" "$(kubectl get --raw /api/v1/namespaces/default/pods | norm)"
	refute grep -qi '^Transfer-Encoding: chunked' "$BATS_TEST_TMPDIR/h10"
	# a server error passes through with its status
	run c -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/namespaces/default/pods/no-such-pod"
	assert_output 404
}

@test "POST, PATCH, DELETE through the proxy act like direct calls (checked with kubectl)" {
	start_proxy --port=0
	u="http://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps"
	run c -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kx-proxy-cm"},"data":{"a":"1"}}' "$u"
	assert_output 201
	run kubectl get configmap kx-proxy-cm -o 'jsonpath={.data.a}'
	assert_output 1
	# a chunked body (no Content-Length) is re-framed toward the server
	run c -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' \
		-H 'Transfer-Encoding: chunked' -d '{"data":{"a":"2","b":"x"}}' "$u/kx-proxy-cm"
	assert_output 200
	run kubectl get configmap kx-proxy-cm -o 'jsonpath={.data.a}{.data.b}'
	assert_output 2x
	assert_equal "$(c "$u/kx-proxy-cm" | norm)" "$(kubectl get --raw /api/v1/namespaces/default/configmaps/kx-proxy-cm | norm)"
	run c -o /dev/null -w '%{http_code}' -X DELETE "$u/kx-proxy-cm"
	assert_output 200
	run kubectl get configmap kx-proxy-cm
	assert_failure
	assert_output --partial 'configmaps "kx-proxy-cm" not found'
}

@test "?watch=1 events arrive live through the proxy" {
	start_proxy --port=0
	curl -sSN --max-time 60 "http://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%3Dkx-proxy-watch" \
		>"$BATS_TEST_TMPDIR/watch" 2>&1 &
	PIDS+=($!)
	sleep 1
	kubectl create configmap kx-proxy-watch --from-literal=k=v1
	for _ in $(seq 100); do grep -q '"ADDED"' "$BATS_TEST_TMPDIR/watch" && break; sleep 0.1; done
	grep -q '"type":"ADDED".*"name":"kx-proxy-watch"' "$BATS_TEST_TMPDIR/watch"
	kubectl patch configmap kx-proxy-watch -p '{"data":{"k":"v2"}}'
	for _ in $(seq 100); do grep -q '"MODIFIED"' "$BATS_TEST_TMPDIR/watch" && break; sleep 0.1; done
	grep -q '"type":"MODIFIED".*"k":"v2"' "$BATS_TEST_TMPDIR/watch"
	kubectl delete configmap kx-proxy-watch
	for _ in $(seq 100); do grep -q '"DELETED"' "$BATS_TEST_TMPDIR/watch" && break; sleep 0.1; done
	grep -q '"type":"DELETED"' "$BATS_TEST_TMPDIR/watch"
}

@test "a 256 MiB response (pod log) streams through a slow client without growing the proxy's memory" {
	cp "$KX_TEST_POD_LOG" "$BATS_TEST_TMPDIR/pod.log.orig"
	python3 - "$KX_TEST_POD_LOG" <<-'PY'
	import sys
	line = b"2025-01-01T00:00:09.000000000Z stdout F " + b"x" * 983 + b"\n"
	with open(sys.argv[1], "ab") as f:
	    for _ in range(256 * 1024):
	        f.write(line)
	PY
	start_proxy --port=0
	want=$(kubectl logs web-0 -c web | wc -c)
	got=$(curl -sS --max-time 120 --limit-rate 64M "http://127.0.0.1:$PORT/api/v1/namespaces/default/pods/web-0/log?container=web" | wc -c)
	assert_equal "$got" "$want"
	[ "$got" -gt 250000000 ] # 256 Ki lines of 984 bytes once the CRI prefix is gone
	hwm=$(sed -nE 's/^VmHWM:\s+([0-9]+) kB/\1/p' "/proc/$PX_PID/status")
	echo "proxy peak RSS: $hwm KiB"
	[ "$hwm" -lt 102400 ]
}

@test "static files under --www-prefix; the API beside them; no way out of the directory" {
	mkdir -p "$BATS_TEST_TMPDIR/www/sub"
	echo "hello static" >"$BATS_TEST_TMPDIR/www/hello.txt"
	echo "<p>index</p>" >"$BATS_TEST_TMPDIR/www/sub/index.html"
	start_proxy --port=0 --www="$BATS_TEST_TMPDIR/www" --www-prefix=/files/
	run c "http://127.0.0.1:$PORT/files/hello.txt"
	assert_output "hello static"
	run c -D - -o /dev/null "http://127.0.0.1:$PORT/files/hello.txt"
	assert_output --partial "Content-Type: text/plain; charset=utf-8"
	assert_output --partial "Content-Length: 13"
	run c "http://127.0.0.1:$PORT/files/sub/"
	assert_output "<p>index</p>"
	run c "http://127.0.0.1:$PORT/files/"
	assert_output --partial '<a href="hello.txt">hello.txt</a>'
	assert_output --partial '<a href="sub/">sub/</a>'
	run c -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/files/missing"
	assert_output 404
	# a FIFO is refused, not opened (opening it would block the one loop)
	mkfifo "$BATS_TEST_TMPDIR/www/fifo"
	run c -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/files/fifo"
	assert_output 403
	# an unclean path is redirected to its clean form first (as net/http does)
	run c -o /dev/null -w '%{http_code} %{redirect_url}' --path-as-is "http://127.0.0.1:$PORT/files/../../etc/passwd"
	assert_output "301 http://127.0.0.1:$PORT/etc/passwd"
	run c -o /dev/null -w '%{http_code}' --path-as-is "http://127.0.0.1:$PORT/files/%2e%2e/%2e%2e/etc/passwd"
	assert_output 301
	# the API is still served at /
	run c "http://127.0.0.1:$PORT/api/v1/namespaces/default/pods/web-0"
	assert_output --partial '"name": "web-0"'
}

@test "--api-prefix serves the API under a prefix (stripped toward the server)" {
	start_proxy --port=0 --api-prefix=/custom/
	assert_equal "$(c "http://127.0.0.1:$PORT/custom/version" | norm)" "$(kubectl get --raw /version | norm)"
	run c -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/version"
	assert_output 404
}

@test "default filter: exec and attach are 403 Forbidden with kubectl proxy's body" {
	start_proxy --port=0
	start_kubectl_proxy
	for path in "/api/v1/namespaces/default/pods/web-0/exec?command=true" /api/v1/namespaces/x/pods/y/attach \
		/api/v1/namespaces/x/pods/y/%65xec; do
		run c -D "$BATS_TEST_TMPDIR/h" -w '|%{http_code}' -X POST "http://127.0.0.1:$PORT$path"
		assert_output "Forbidden
|403"
		grep -qi '^Content-Type: text/plain; charset=utf-8' "$BATS_TEST_TMPDIR/h"
		assert_equal "$output" "$(c -w '|%{http_code}' -X POST "http://127.0.0.1:$KC_PORT$path")"
	done
}

@test "Host headers are filtered exactly as kubectl proxy does (port stripped, then --accept-hosts)" {
	start_proxy --port=0
	start_kubectl_proxy
	run c -w '|%{http_code}' -H 'Host: evil.example.com' "http://127.0.0.1:$PORT/version"
	assert_output "Forbidden
|403"
	# kubectl's quirk kept: "[::1]:PORT" loses its brackets with the port and is refused
	for h in evil.example.com "localhost:$PORT" localhost "127.0.0.1:$PORT" "[::1]:$PORT" "[::1]" ::1 \
		"127.0.0.1.evil.com" "LOCALHOST"; do
		kxc=$(c -o /dev/null -w '%{http_code}' -H "Host: $h" "http://127.0.0.1:$PORT/version")
		kcc=$(c -o /dev/null -w '%{http_code}' -H "Host: $h" "http://127.0.0.1:$KC_PORT/version")
		assert_equal "$h $kxc" "$h $kcc"
	done
	run c -o /dev/null -w '%{http_code}' "http://localhost:$PORT/version"
	assert_output 200
}

@test "--reject-methods='^POST\$' refuses POST, allows GET; --accept-paths narrows paths" {
	start_proxy --port=0 '--reject-methods=^POST$' '--accept-paths=^/api/,^/version$'
	run c -w '|%{http_code}' -X POST -d '{}' "http://127.0.0.1:$PORT/api/v1/namespaces/default/configmaps"
	assert_output "Forbidden
|403"
	run c -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/namespaces/default/pods"
	assert_output 200
	run c -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/apis"
	assert_output 403
}

@test "--disable-filter warns (kubectl's words) and lets exec through: kubectl and kx exec via the proxy" {
	start_proxy --port=0 --disable-filter
	grep -qx "Warning: Request filter disabled, your proxy is vulnerable to XSRF attacks, please be cautious" "$PX_ERR"
	run kubectl --server="http://127.0.0.1:$PORT" exec web-0 -- echo via-proxy
	assert_success
	assert_output "via-proxy"
	# kubectl's stderr apart: its WebSocket client sometimes logs "Unknown stream id 1,
	# discarding message" (its own client-side log line; the proxy only tunnels bytes); stdout is what counts.
	run bash -c "echo stdin-data | timeout 20 '$KUBECTL' --server=http://127.0.0.1:$PORT exec -i web-0 -- cat 2>'$BATS_TEST_TMPDIR/kubectl.err'"
	assert_output "stdin-data"
	# the SPDY upgrade as well
	run env KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false "$KUBECTL" --server="http://127.0.0.1:$PORT" exec web-0 -- echo spdy
	assert_output "spdy"
	# the remote exit code survives the tunnel
	run kubectl --server="http://127.0.0.1:$PORT" exec web-0 -- sh -c 'exit 3'
	assert_failure 3
	# kx talks to a plain-http server too
	run kx --server="http://127.0.0.1:$PORT" exec web-0 -- echo kx-via-proxy
	assert_success
	assert_output "kx-via-proxy"
	# no proxying error was logged for these (the log is shown if one was)
	cat "$PX_ERR"
	run grep -c 'error while proxying' "$PX_ERR"
	assert_output 0
}

@test "kubectl --server=http://proxy get pods equals kubectl get pods; port-forward through it" {
	start_proxy --port=0 --disable-filter
	assert_equal "$(kubectl --server="http://127.0.0.1:$PORT" get pods -o name)" "$(kubectl get pods -o name)"
	"$KUBECTL" --server="http://127.0.0.1:$PORT" port-forward pod/web-0 :7 >"$BATS_TEST_TMPDIR/pf" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do grep -q '^Forwarding from 127' "$BATS_TEST_TMPDIR/pf" && break; sleep 0.1; done
	p=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) -> 7$/\1/p' "$BATS_TEST_TMPDIR/pf")
	[ -n "$p" ]
	run bash -c "echo through-two-hops | timeout 10 socat - TCP:127.0.0.1:$p"
	assert_output "through-two-hops"
}

@test "--unix-socket: curl --unix-socket works, the socket is owner-only, removed at exit; no XSRF warning" {
	sock=$BATS_TEST_TMPDIR/kx.sock
	"$KX_BIN" proxy --unix-socket="$sock" --disable-filter >"$PX_OUT" 2>"$PX_ERR" &
	PX_PID=$!
	for _ in $(seq 100); do grep -q '^Starting to serve on' "$PX_OUT" && break; sleep 0.1; done
	grep -qx "Starting to serve on $sock" "$PX_OUT"
	assert_equal "$(stat -c '%a %F' "$sock")" "700 socket"
	assert_equal "$(c --unix-socket "$sock" http://localhost/version | norm)" "$(kubectl get --raw /version | norm)"
	refute grep -q XSRF "$PX_ERR"
	kill -INT "$PX_PID"
	wait "$PX_PID"
	PX_PID=
	[ ! -e "$sock" ]
	run kx proxy --unix-socket="$sock" --port=8001
	assert_failure 1
	assert_output --partial "Don't specify both --unix-socket and --port"
}

@test "--keepalive=7s sets TCP keep-alive probes on the connection to the API server" {
	start_proxy --port=0 --keepalive=7s
	curl -sSN --max-time 30 "http://127.0.0.1:$PORT/api/v1/namespaces/default/pods?watch=1" >/dev/null 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		ss -tnpo state established "dport = :$KX_TEST_APISERVER_PORT" | grep -q "pid=$PX_PID," && break
		sleep 0.1
	done
	line=$(ss -tnpo state established "dport = :$KX_TEST_APISERVER_PORT" | grep "pid=$PX_PID,")
	echo "$line"
	# the first probe is due within 7 s (ss prints e.g. "timer:(keepalive,6.2sec,0)")
	[[ "$line" =~ timer:\(keepalive,([0-9.]+)(ms|sec), ]]
	[ "${BASH_REMATCH[2]}" = ms ] || python3 -c "import sys; sys.exit(not float(sys.argv[1]) <= 7)" "${BASH_REMATCH[1]}"
}

@test "keep-alive: one client connection serves several requests" {
	start_proxy --port=0
	run c -v -o /dev/null -o /dev/null "http://127.0.0.1:$PORT/version" "http://127.0.0.1:$PORT/api/v1/namespaces/default/pods/web-0"
	assert_success
	assert_output --partial "Re-using existing connection"
}

@test "new client connections reuse an idle connection to the API server (no handshake per client)" {
	start_proxy --port=0
	for _ in $(seq 20); do
		c -o /dev/null "http://127.0.0.1:$PORT/api/v1/namespaces/default/pods/web-0"
	done
	run bash -c "ss -tnp state established 'dport = :$KX_TEST_APISERVER_PORT' | grep -c 'pid=$PX_PID,'"
	assert_output 1
}

@test "a proxied request costs no read that finds nothing: 100 requests, at most 10 EAGAIN reads (strace)" {
	command -v strace >/dev/null || skip "strace is not installed"
	# level-triggered readiness tells when more comes: a response read to its
	# last short TLS record needs no extra read to learn the socket is empty
	# (before: one EAGAIN read per request, about a fifth of the proxy's system calls)
	(
		# an ASan build's leak checker cannot ptrace a process strace already traces
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
		exec strace -f -qq -c -e trace=recvfrom,recvmsg,read -o "$BATS_TEST_TMPDIR/trace" \
			"$KX_BIN" proxy --port=0 >"$PX_OUT" 2>"$PX_ERR"
	) &
	PX_PID=$!
	PORT=$(wait_line "$PX_OUT" "$PX_PID")
	[ -n "$PORT" ] || fail "kx proxy did not start: $(cat "$PX_ERR")"
	args=()
	for _ in $(seq 100); do
		args+=(-o /dev/null "http://127.0.0.1:$PORT/api/v1/namespaces/default/pods/web-0")
	done
	c -w '%{http_code}\n' "${args[@]}" >"$BATS_TEST_TMPDIR/codes"
	assert_equal "$(grep -c '^200$' "$BATS_TEST_TMPDIR/codes")" 100
	kill -INT "$(pgrep -P "$PX_PID" -x kx || pgrep -P "$PX_PID")"
	wait "$PX_PID" || true
	PX_PID=
	# strace -c: "% time seconds usecs/call calls errors syscall"
	errors=$(awk '$NF == "recvfrom" || $NF == "recvmsg" || $NF == "read" { e += ($5 ~ /^[0-9]+$/ ? $5 : 0) } END { print e + 0 }' \
		"$BATS_TEST_TMPDIR/trace")
	[ "$errors" -le 10 ] || fail "$errors reads found nothing: $(cat "$BATS_TEST_TMPDIR/trace")"
}

@test "garbage, huge headers and a slowloris client get 400/431 or wait, and others keep being served" {
	start_proxy --port=0
	# a client that sends half a request and keeps the connection open
	(printf 'GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' ; sleep 30) | socat -t 30 - "TCP:127.0.0.1:$PORT" >/dev/null 2>&1 &
	PIDS+=($!)
	run bash -c "printf 'THIS IS NOT HTTP\r\n\r\n' | timeout 10 socat -t 5 - TCP:127.0.0.1:$PORT"
	assert_output --partial "HTTP/1.1 400 Bad Request"
	run c -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 100000 /dev/zero | tr '\0' a)" "http://127.0.0.1:$PORT/version"
	assert_output 431
	run bash -c "printf 'GET /%%zz HTTP/1.1\r\nHost: localhost\r\n\r\n' | timeout 10 socat -t 5 - TCP:127.0.0.1:$PORT"
	assert_output --partial "HTTP/1.1 400 Bad Request"
	# meanwhile: 20 parallel clients are all served
	run bash -c "for i in \$(seq 20); do curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 http://127.0.0.1:$PORT/version & done; wait"
	assert_equal "$(grep -c '^200$' <<<"$output")" 20
	kill -0 "$PX_PID"
}

# big_head: a request whose headers are 1 MiB, far over the proxy's limit.
BIG_HEAD_PY='
big = b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
ANSWER_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
BODY_431 = b"\r\n\r\n431 Request Header Fields Too Large"
def connect(port):
    import socket, struct
    s = socket.create_connection(("127.0.0.1", port))
    # blocking, so one send() is one write of the whole 1 MiB; never forever
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 20, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 20, 0))
    return s
def read_all(s):
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            return got
        got += b
'

@test "the 431 to 1 MiB of headers sent in one write is read in full, 50 times in a row (lingering close, no reset)" {
	start_proxy --port=0
	run python3 -c "$BIG_HEAD_PY"'
import sys
full = 0
for i in range(50):
    s = connect(int(sys.argv[1]))
    try:
        n = s.send(big)
        if n != len(big):
            print(f"{i}: only {n} of {len(big)} bytes taken")
    except OSError as e:
        print(f"{i}: send: {e}")  # a client that cannot send still reads
    got = b""
    try:
        got = read_all(s)
    except OSError as e:
        print(f"{i}: recv: {e}")
    s.close()
    if got.startswith(ANSWER_431) and got.endswith(BODY_431):
        full += 1
    else:
        print(f"{i}: answer {got[:60]!r}...{got[-40:]!r}")
print(f"{full}/50 full answers")
' "$PORT"
	assert_output "50/50 full answers"
	kill -0 "$PX_PID"
}

@test "the lingering close is bounded: a client that keeps sending is cut, one that never closes is let go" {
	start_proxy --port=0
	run python3 -c "$BIG_HEAD_PY"'
import errno, subprocess, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
# past the byte bound (4 MiB; 64 MiB is beyond it and any socket buffers)
s = connect(port)
sent, err = 0, None
try:
    sent = s.send(big)
    chunk = b"a" * 65536
    while sent < 64 << 20:
        sent += s.send(chunk)
except OSError as e:
    err = e
s.close()
cut = err is not None and err.errno in (errno.ECONNRESET, errno.EPIPE)
print("sender cut" if cut else f"sender not cut after {sent} bytes ({err})")
# a client that reads the answer and then neither sends nor closes
s = connect(port)
got = b""
try:
    s.send(big)
    got = read_all(s)
except OSError as e:
    print(f"send or recv: {e}")
print("answer read" if got.startswith(ANSWER_431) else f"answer {got[:60]!r}")
me = s.getsockname()[1]
t0 = time.monotonic()
while time.monotonic() - t0 < 15:
    ss = subprocess.run(["ss", "-tnpH", "state", "all", f"( sport = :{port} and dport = :{me} )"],
                        capture_output=True, text=True).stdout
    if f"pid={pid}," not in ss:
        break
    time.sleep(0.2)
print("idle client let go" if f"pid={pid}," not in ss else "idle client still held after 15 s")
s.close()
' "$PORT" "$PX_PID"
	assert_output "$(printf 'sender cut\nanswer read\nidle client let go')"
	# and the proxy still serves
	run c -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/version"
	assert_output 200
}

@test "an unreachable API server: 502 with the reason, and one log line per request" {
	start_proxy --port=0 --server="https://127.0.0.1:$KX_TEST_DEAD_PORT"
	run c -w '|%{http_code}' "http://127.0.0.1:$PORT/version"
	assert_output --regexp "dial tcp 127.0.0.1:$KX_TEST_DEAD_PORT: connect: [Cc]onnection refused"
	assert_output --partial "|502"
	run c -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/version"
	assert_output 502
	run grep -ci "^error: error while proxying request: .*connection refused" "$PX_ERR"
	assert_output 2
}

@test "bad flags: a bad regular expression, an extra argument, a bad address" {
	run kx proxy '--accept-paths=^(unclosed'
	assert_failure 1
	assert_output --partial "invalid --accept-paths ^(unclosed"
	run kx proxy extra
	assert_failure 1
	run kx proxy --port=0 --address=not-an-ip.invalid
	assert_failure 1
	assert_output --partial "error: listen tcp: lookup not-an-ip.invalid:"
	# a port in use: kubectl's words
	start_proxy --port=0
	run kx proxy --port="$PORT"
	assert_failure 1
	assert_output --partial "listen tcp 127.0.0.1:$PORT: bind: Address already in use"
}
