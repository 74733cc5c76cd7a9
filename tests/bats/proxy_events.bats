#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx proxy --events FILE|-: newline-delimited JSON (docs/events.md) — every
# client connection opened and closed with the bytes the client sent and
# received, checked against the client's own counts with jq.

setup() {
	load helpers
	need_cluster
}

teardown() {
	[ -z "${PX_PID:-}" ] || kill -INT "$PX_PID" 2>/dev/null || true
	[ -z "${PX_PID:-}" ] || wait "$PX_PID" 2>/dev/null || true
}

start_proxy() { # ARGS...: kx proxy --port=0 ARGS in the background; sets PX_PORT
	"$KX_BIN" proxy --port=0 "$@" >"$BATS_TEST_TMPDIR/px.out" 2>"$BATS_TEST_TMPDIR/px.err" &
	PX_PID=$!
	for _ in $(seq 100); do
		PX_PORT=$(sed -nE 's/^Starting to serve on 127\.0\.0\.1:([0-9]+)$/\1/p' \
			"$BATS_TEST_TMPDIR/px.out" "$BATS_TEST_TMPDIR/px.err" | head -1)
		[ -n "$PX_PORT" ] && return 0
		sleep 0.1
	done
	cat "$BATS_TEST_TMPDIR/px.err"
	return 1
}

@test "proxy --events FILE: each connection opened and closed, byte counts equal to the client's, requests counted" {
	ev=$BATS_TEST_TMPDIR/events.ndjson
	start_proxy --events "$ev"
	# 10 connections, each with 1..3 keep-alive requests; the client counts raw socket bytes.
	run timeout 60 python3 - "$PX_PORT" <<-'PY'
	import socket, sys
	port = int(sys.argv[1])
	for i in range(10):
	    s = socket.create_connection(("127.0.0.1", port), timeout=10)
	    n = 1 + i % 3
	    req = b"".join(b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (b"Connection: close\r\n" if k == n - 1 else b"")
	                   for k in range(n))
	    s.sendall(req)
	    got = 0
	    while True:
	        b = s.recv(65536)
	        if not b:
	            break
	        got += len(b)
	    print(s.getsockname()[1], len(req), got, n)
	    s.close()
	PY
	assert_success
	client=$output
	kill -INT "$PX_PID"
	wait "$PX_PID"
	PX_PID=
	jq -e -s 'all(.[]; .v == 1 and (.ts | type) == "string") and .[0].event == "listening"
		and (.[0].address | test("^127\\.0\\.0\\.1:[0-9]+$")) and .[1].event == "ready"' "$ev"
	jq -e -s '[.[] | select(.event == "connection_opened") | .id] as $o | [.[] | select(.event == "connection_closed") | .id] as $c
		| ($o | sort) == ($c | sort) and ($o | length) == 10' "$ev"
	run jq -r 'select(.event == "connection_closed") | "\(.peer | split(":") | last) \(.bytes_from_client) \(.bytes_to_client) \(.requests)"' "$ev"
	assert_equal "$(sort <<<"$output")" "$(sort <<<"$client")"
}

@test "proxy --events -: only JSON on stdout, the startup line on stderr" {
	start_proxy --events -
	grep -qx "Starting to serve on 127.0.0.1:$PX_PORT" "$BATS_TEST_TMPDIR/px.err"
	curl -fsS --max-time 10 "http://127.0.0.1:$PX_PORT/version" >/dev/null
	for _ in $(seq 50); do grep -q connection_closed "$BATS_TEST_TMPDIR/px.out" && break; sleep 0.1; done
	kill -INT "$PX_PID"
	wait "$PX_PID"
	PX_PID=
	jq -e -s 'length >= 4 and any(.[]; .event == "connection_closed" and .requests == 1 and .bytes_to_client > 0)' \
		"$BATS_TEST_TMPDIR/px.out"
}
