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

# A kubeconfig whose cluster goes through proxy URL $1.
kubeconfig_with_proxy() {
	kc=$BATS_TEST_TMPDIR/kubeconfig
	kubectl config view --raw --minify >"$kc"
	KUBECONFIG=$kc kubectl config set-cluster "$(KUBECONFIG=$kc kubectl config view -o jsonpath='{.clusters[0].name}')" \
		--proxy-url="$1" >/dev/null
}

# Echo a line through a port-forward to web-0's port 7 made by "$@"; prints what came back.
echo_through_forward() {
	"$@" port-forward pod/web-0 :7 >"$BATS_TEST_TMPDIR/pf.out" 2>"$BATS_TEST_TMPDIR/pf.err" &
	local pf=$! p=""
	for _ in $(seq 100); do
		p=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) -> 7$/\1/p' "$BATS_TEST_TMPDIR/pf.out")
		[ -n "$p" ] && break
		sleep 0.1
	done
	[ -n "$p" ] && echo through-the-proxy | timeout 10 socat - TCP:127.0.0.1:"$p" || true
	kill -INT "$pf" 2>/dev/null
	wait "$pf" 2>/dev/null || true
}

@test "a socks5:// proxy-url carries REST, exec and port-forward on both transports (kubectl too)" {
	command -v microsocks >/dev/null || skip "microsocks is not installed"
	microsocks -i 127.0.0.1 -p "$PROXY_PORT" >"$PROXY_LOG" 2>&1 3>&- &
	PROXY_PID=$!
	for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null && break; sleep 0.1; done
	kubeconfig_with_proxy "socks5://127.0.0.1:$PROXY_PORT"
	seen() { grep -c "connected to 127.0.0.1:$KX_TEST_APISERVER_PORT" "$PROXY_LOG" || true; }
	run kx --kubeconfig "$kc" get pod web-0 -o name
	assert_success
	assert_output "pod/web-0"
	before=$(seen)
	[ "$before" -ge 1 ] || fail "the SOCKS proxy saw no connection: $(cat "$PROXY_LOG")"
	for tr in spdy websocket; do
		KX_TRANSPORT=$tr run kx --kubeconfig "$kc" exec web-0 -- echo "exec-$tr"
		assert_success
		assert_output "exec-$tr"
		assert_equal "$(KX_TRANSPORT=$tr echo_through_forward "$KX_BIN" --kubeconfig "$kc")" through-the-proxy
	done
	# each exec and each forward: a lookup and a stream, every one through the proxy
	[ "$(seen)" -ge $((before + 8)) ] || fail "not every connection used the proxy: $(cat "$PROXY_LOG")"
	# kubectl, the reference, works through the same proxy
	run kubectl --kubeconfig "$kc" exec web-0 -- echo exec-kubectl
	assert_success
	assert_output "exec-kubectl"
}

# A CA (DIR/ca.pem) and a certificate for an https proxy on 127.0.0.1 signed by it
# (DIR/proxy.pem, DIR/proxy.key).
make_proxy_cert() {
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=proxy-test-ca -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$d/proxy.key" -out "$d/proxy.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext"
	openssl x509 -req -in "$d/proxy.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 1 \
		-extfile "$d/ext" -out "$d/proxy.pem" 2>/dev/null
}

@test "an https:// proxy (TLS to the proxy, verified with SSL_CERT_FILE as Go does) carries exec and port-forward" {
	d=$BATS_TEST_TMPDIR
	make_proxy_cert "$d"
	PROXY_TLS_CERT=$d/proxy.pem PROXY_TLS_KEY=$d/proxy.key start_proxy
	for tr in spdy websocket; do
		HTTPS_PROXY=https://127.0.0.1:$PROXY_PORT SSL_CERT_FILE=$d/ca.pem KX_TRANSPORT=$tr \
			run kx exec web-0 -- echo "exec-$tr"
		assert_success
		assert_output "exec-$tr"
		assert_equal "$(HTTPS_PROXY=https://127.0.0.1:$PROXY_PORT SSL_CERT_FILE=$d/ca.pem KX_TRANSPORT=$tr \
			echo_through_forward "$KX_BIN")" through-the-proxy
	done
	[ "$(grep -c "^CONNECT 127.0.0.1:$KX_TEST_APISERVER_PORT " "$PROXY_LOG")" -ge 8 ] ||
		fail "not every connection used the proxy: $(cat "$PROXY_LOG")"
	HTTPS_PROXY=https://127.0.0.1:$PROXY_PORT SSL_CERT_FILE=$d/ca.pem run kubectl exec web-0 -- echo exec-kubectl
	assert_success
	assert_output "exec-kubectl"
	# the proxy's certificate is checked: without its CA, one line and exit 1
	HTTPS_PROXY=https://127.0.0.1:$PROXY_PORT run kx exec web-0 -- echo never
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_output --partial "certificate"
}

# GET PATH through kx proxy (port $1) and directly with kubectl: equal bodies.
same_through_kx_proxy() {
	local port=$1 path=$2
	curl -sS --max-time 20 "http://127.0.0.1:$port$path" >"$BATS_TEST_TMPDIR/via.json"
	kubectl get --raw "$path" >"$BATS_TEST_TMPDIR/direct.json"
	python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for d in (a, b):
    if str(d.get("kind", "")).endswith("List"):
        d["metadata"].pop("resourceVersion", None)
sys.exit(0 if a == b else "through the proxy: %.300s\ndirect: %.300s" % (a, b))' \
		"$BATS_TEST_TMPDIR/via.json" "$BATS_TEST_TMPDIR/direct.json"
}

@test "kx proxy reaches the API server through the kubeconfig's proxy-url, http:// and https:// (TLS inside TLS)" {
	d=$BATS_TEST_TMPDIR
	make_proxy_cert "$d"
	for scheme in http https; do
		: >"$PROXY_LOG"
		if [ "$scheme" = https ]; then
			PROXY_TLS_CERT=$d/proxy.pem PROXY_TLS_KEY=$d/proxy.key start_proxy
		else
			start_proxy
		fi
		kubeconfig_with_proxy "$scheme://127.0.0.1:$PROXY_PORT"
		SSL_CERT_FILE=$d/ca.pem "$KX_BIN" --kubeconfig "$kc" proxy --port=0 >"$d/px.out" 2>"$d/px.err" &
		px=$!
		port=""
		for _ in $(seq 100); do
			port=$(sed -nE 's/^Starting to serve on .*:([0-9]+)$/\1/p' "$d/px.out")
			[ -n "$port" ] && break
			sleep 0.1
		done
		[ -n "$port" ] || fail "kx proxy did not start: $(cat "$d/px.err")"
		# a small answer, a list of many records, and the same again on kept connections
		for _ in 1 2; do
			same_through_kx_proxy "$port" /api/v1/namespaces/default/pods/web-0 || fail "$scheme proxy: pod differs"
			same_through_kx_proxy "$port" /api/v1/pods || fail "$scheme proxy: pod list differs"
		done
		kill "$px"
		wait "$px" || true
		kill "$PROXY_PID"
		wait "$PROXY_PID" 2>/dev/null || true
		PROXY_PID=
		[ "$(grep -c "^CONNECT 127.0.0.1:$KX_TEST_APISERVER_PORT " "$PROXY_LOG")" -ge 1 ] ||
			fail "kx proxy did not use the $scheme proxy: $(cat "$PROXY_LOG")"
	done
}
