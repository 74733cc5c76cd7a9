# SPDX-License-Identifier: Apache-2.0
# Starts status-relay.py (a TLS witness between kx and the API server) for the
# exec tests and writes $BATS_TEST_TMPDIR/relay.kubeconfig pointing at it; sets
# RELAY_PID (the test's teardown kills it). Usage: start_status_relay LOG [CUT_POD CUT_AFTER]
start_status_relay() {
	python3 "$BATS_TEST_DIRNAME/status-relay.py" "$BATS_TEST_TMPDIR/relay.port" "$1" \
		"$KX_TEST_APISERVER_PORT" "$KX_TEST_CA" "$KX_CLUSTER_STATE/pki/apiserver.crt" \
		"$KX_CLUSTER_STATE/pki/apiserver.key" "${@:2}" 3>&- &
	RELAY_PID=$!
	for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/relay.port" ] && break; sleep 0.1; done
	cat >"$BATS_TEST_TMPDIR/relay.kubeconfig" <<-EOF
		apiVersion: v1
		kind: Config
		clusters: [{name: relay, cluster: {server: "https://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/relay.port")", certificate-authority: "$KX_TEST_CA"}}]
		users: [{name: admin, user: {token: "$KX_TEST_TOKEN"}}]
		contexts: [{name: relay, context: {cluster: relay, user: admin}}]
		current-context: relay
	EOF
}
