#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Reaching the API server through an HTTP proxy (HTTPS_PROXY, NO_PROXY, and the
# kubeconfig's proxy-url) for REST calls, exec (both transports) and port-forward. The
# proxy is tests/bats/connect-proxy.py on loopback; it logs each CONNECT.

setup() {
	load helpers
	need_cluster
	PROXY_PORT=$((20000 + RANDOM % 10000))
	PROXY_LOG=$BATS_TEST_TMPDIR/proxy.log
	: >"$PROXY_LOG"
}

teardown() {
	[ -z "${PROXY_PID:-}" ] || kill "$PROXY_PID" 2>/dev/null || true
}

start_proxy() { # [user:pass]
	python3 "$BATS_TEST_DIRNAME/connect-proxy.py" "$PROXY_PORT" "$PROXY_LOG" "$@" 3>&- &
	PROXY_PID=$!
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

@test "HTTPS_PROXY carries REST calls and exec (SPDY) through CONNECT tunnels" {
	start_proxy
	HTTPS_PROXY=http://127.0.0.1:$PROXY_PORT run kx exec web-0 -- echo via-proxy
	assert_success
	assert_output "via-proxy"
	# one tunnel for the pod lookup (libcurl), one for the SPDY stream (kx's TLS client)
	assert_equal "$(grep -c "^CONNECT 127.0.0.1:${KX_TEST_APISERVER_PORT:-16443} " "$PROXY_LOG")" 2
}

@test "NO_PROXY (a CIDR) keeps the proxy out" {
	start_proxy
	HTTPS_PROXY=http://127.0.0.1:$PROXY_PORT NO_PROXY=10.0.0.0/8,127.0.0.0/8 run kx exec web-0 -- echo direct
	assert_success
	assert_output "direct"
	assert_equal "$(wc -l <"$PROXY_LOG")" 0
}

@test "the kubeconfig's proxy-url, with credentials, is used for exec" {
	start_proxy kx:s3cret
	kc=$BATS_TEST_TMPDIR/kubeconfig
	kubectl config view --raw --minify >"$kc"
	KUBECONFIG=$kc kubectl config set-cluster "$(KUBECONFIG=$kc kubectl config view -o jsonpath='{.clusters[0].name}')" \
		--proxy-url="http://kx:s3cret@127.0.0.1:$PROXY_PORT" >/dev/null
	run kx --kubeconfig "$kc" exec web-0 -- echo via-proxy-url
	assert_success
	assert_output "via-proxy-url"
	grep -q "auth=yes" "$PROXY_LOG"
	# -v=9 never shows the proxy's password
	run kx --kubeconfig "$kc" -v=9 exec web-0 -- true
	refute_output --partial "s3cret"
}

@test "a proxy that refuses the tunnel: a one-line error naming the proxy, exit 1" {
	start_proxy kx:right
	kc=$BATS_TEST_TMPDIR/kubeconfig
	kubectl config view --raw --minify >"$kc"
	KUBECONFIG=$kc kubectl config set-cluster "$(KUBECONFIG=$kc kubectl config view -o jsonpath='{.clusters[0].name}')" \
		--proxy-url="http://kx:wrong@127.0.0.1:$PROXY_PORT" >/dev/null
	run kx --kubeconfig "$kc" get pods
	assert_failure 1
	assert_equal "${#lines[@]}" 1
}

@test "exec over WebSocket and port-forward's WebSocket tunnel go through the proxy too" {
	start_proxy
	HTTPS_PROXY=http://127.0.0.1:$PROXY_PORT KX_TRANSPORT=websocket run kx exec web-0 -- echo ws-via-proxy
	assert_success
	assert_output "ws-via-proxy"
	n=$(grep -c "CONNECT 127.0.0.1:$KX_TEST_APISERVER_PORT" "$PROXY_LOG")
	[ "$n" -ge 1 ] || fail "the proxy saw no CONNECT: $(cat "$PROXY_LOG")"
	HTTPS_PROXY=http://127.0.0.1:$PROXY_PORT KX_TRANSPORT=websocket "$KX_BIN" -v=4 port-forward pod/web-0 :7 \
		>"$BATS_TEST_TMPDIR/pf.out" 2>"$BATS_TEST_TMPDIR/pf.err" &
	pf=$!
	for _ in $(seq 100); do grep -q '^Forwarding from 127' "$BATS_TEST_TMPDIR/pf.out" && break; sleep 0.1; done
	p=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) -> 7$/\1/p' "$BATS_TEST_TMPDIR/pf.out")
	got=$(echo tunnel-via-proxy | timeout 10 socat - TCP:127.0.0.1:"$p" || true)
	kill -INT "$pf"; wait "$pf" || true
	assert_equal "$got" "tunnel-via-proxy"
	grep -q "session over websocket" "$BATS_TEST_TMPDIR/pf.err"
	[ "$(grep -c "CONNECT 127.0.0.1:$KX_TEST_APISERVER_PORT" "$PROXY_LOG")" -gt "$n" ] ||
		fail "the port-forward did not use the proxy: $(cat "$PROXY_LOG")"
}
