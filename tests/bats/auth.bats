#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Authentication against the real test cluster, each way a kubeconfig can say
# it: client certificate (files and inline data), token, tokenFile (re-read
# when it changes), exec credential plugins v1 and v1beta1 (cached, run again
# when expired and after a 401), a missing plugin's install hint, an RBAC
# refusal, a wrong CA, a refused and a silent server, and -v=9 never showing a
# credential. Temporary kubeconfigs live in $BATS_TEST_TMPDIR.

setup() {
	load helpers
	need_cluster
	export KUBECACHEDIR=$BATS_TEST_TMPDIR/cache
	KX_TIMEOUT=20
}

teardown() {
	if [ -n "${SERVER_PID:-}" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
}

# A kubeconfig for the test cluster whose user is the YAML given on stdin
# (indented under "user:").
write_kubeconfig() { # file
	{
		cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kx
  cluster:
    server: $KX_TEST_APISERVER
    certificate-authority: $KX_TEST_CA
contexts:
- name: test
  context: {cluster: kx, user: test}
current-context: test
users:
- name: test
  user:
EOF
		sed 's/^/    /'
	} >"$1"
}

# Lines the test exec plugin appended to its count file (one per run).
plugin_runs() { grep -c '^run apiVersion=' "$1" 2>/dev/null || true; }

now_ms() { date +%s%3N; }

@test "client certificate from files (context admin)" {
	run kx --context admin get pods -o name
	assert_success
	assert_line "pod/web-0"
	assert_equal "$output" "$(kubectl --context admin get pods -o name)"
}

@test "client certificate, key and CA inline as *-data (context admin-data)" {
	run kx --context admin-data get pods -o name
	assert_success
	assert_equal "$output" "$(kubectl --context admin-data get pods -o name)"
}

@test "bearer token (context token)" {
	run kx --context token get pods -o name
	assert_success
	assert_equal "$output" "$(kubectl --context token get pods -o name)"
}

@test "tokenFile: used, re-read when it changes, a bad token is Unauthorized" {
	local kc=$BATS_TEST_TMPDIR/kubeconfig tok=$BATS_TEST_TMPDIR/token
	write_kubeconfig "$kc" <<EOF
tokenFile: $tok
EOF
	printf '%s\n' "$KX_TEST_TOKEN" >"$tok"
	run kx --kubeconfig "$kc" get pods -o name
	assert_success
	assert_line "pod/web-0"
	printf 'not-the-token\n' >"$tok"
	run kx --kubeconfig "$kc" get pods -o name
	assert_failure 1
	assert_output "error: You must be logged in to the server (Unauthorized)"
	assert_equal "$output" "$(kubectl --kubeconfig "$kc" get pods -o name 2>&1)"
	printf '%s\n' "$KX_TEST_TOKEN" >"$tok"
	run kx --kubeconfig "$kc" get pods -o name
	assert_success
	assert_line "pod/web-0"
}

@test "exec plugin v1: runs once per invocation, with the kubeconfig's env" {
	export KX_PLUGIN_COUNT_FILE=$BATS_TEST_TMPDIR/runs
	run kx --context exec get pods -o name
	assert_success
	assert_line "pod/web-0"
	run cat "$KX_PLUGIN_COUNT_FILE"
	assert_output "run apiVersion=client.authentication.k8s.io/v1 interactive=false fixture_env=from-kubeconfig"
	# Several requests (discovery, then the list): the credential is reused.
	rm -f "$KX_PLUGIN_COUNT_FILE"
	run kx --context exec -v=6 get leases -n kube-system -o name
	assert_success
	assert_output --regexp 'GET https://[^ ]+/apis 200'
	assert_equal "$(plugin_runs "$KX_PLUGIN_COUNT_FILE")" 1
}

@test "exec plugin v1beta1" {
	export KX_PLUGIN_COUNT_FILE=$BATS_TEST_TMPDIR/runs
	run kx --context exec-beta get pods -o name
	assert_success
	assert_line "pod/web-0"
	run cat "$KX_PLUGIN_COUNT_FILE"
	assert_output "run apiVersion=client.authentication.k8s.io/v1beta1 interactive=false fixture_env=from-kubeconfig"
}

@test "exec plugin: a credential that has expired still works, the plugin runs again" {
	export KX_PLUGIN_COUNT_FILE=$BATS_TEST_TMPDIR/runs
	export KX_PLUGIN_EXPIRY=2000-01-01T00:00:00Z
	run kx --context exec get pods -o name
	assert_success
	assert_line "pod/web-0"
	[ "$(plugin_runs "$KX_PLUGIN_COUNT_FILE")" -ge 1 ]
	# three requests with an expired credential: a fresh one for each
	rm -f "$KX_PLUGIN_COUNT_FILE"
	run kx --context exec get leases -n kube-system -o name
	assert_success
	[ "$(plugin_runs "$KX_PLUGIN_COUNT_FILE")" -ge 2 ]
	# one that expires in the future is kept
	rm -rf "$KX_PLUGIN_COUNT_FILE" "$KUBECACHEDIR"
	KX_PLUGIN_EXPIRY=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ) run kx --context exec get leases -n kube-system -o name
	assert_success
	assert_equal "$(plugin_runs "$KX_PLUGIN_COUNT_FILE")" 1
}

@test "exec plugin: after a 401 it runs again and the request is retried, in one invocation" {
	local plugin=$BATS_TEST_TMPDIR/flaky-plugin kc=$BATS_TEST_TMPDIR/kubeconfig
	export KX_PLUGIN_COUNT_FILE=$BATS_TEST_TMPDIR/runs KX_FLAKY_STATE=$BATS_TEST_TMPDIR/state
	cat >"$plugin" <<'EOF'
#!/bin/sh
# First run: a token the server refuses (401); later runs: the good one.
if [ ! -e "$KX_FLAKY_STATE" ]; then
	: >"$KX_FLAKY_STATE"
	KX_PLUGIN_TOKEN=not-a-valid-token exec "$KX_TEST_EXEC_PLUGIN"
fi
exec "$KX_TEST_EXEC_PLUGIN"
EOF
	chmod +x "$plugin"
	write_kubeconfig "$kc" <<EOF
exec:
  apiVersion: client.authentication.k8s.io/v1
  command: $plugin
  interactiveMode: Never
EOF
	run kx --kubeconfig "$kc" get pods -o name
	assert_success
	assert_line "pod/web-0"
	assert_equal "$(plugin_runs "$KX_PLUGIN_COUNT_FILE")" 2
}

@test "exec plugin that is not installed: the installHint is printed, exit 1" {
	local kc=$BATS_TEST_TMPDIR/kubeconfig
	write_kubeconfig "$kc" <<'EOF'
exec:
  apiVersion: client.authentication.k8s.io/v1
  command: kx-test-no-such-plugin
  installHint: "Install kx-test-no-such-plugin: see https://example.invalid/install"
  interactiveMode: Never
EOF
	run kx --kubeconfig "$kc" get pods
	assert_failure 1
	assert_output --partial "kx-test-no-such-plugin not found"
	assert_output --partial "Install kx-test-no-such-plugin: see https://example.invalid/install"
}

@test "limited user: pods are allowed, services are Forbidden with kubectl's line" {
	run kx --context limited get pods -o name
	assert_success
	assert_line "pod/web-0"
	run kx --context limited get services
	assert_failure 1
	assert_output 'Error from server (Forbidden): services is forbidden: User "limited" cannot list resource "services" in API group "" in the namespace "default"'
	assert_equal "$output" "$(kubectl --context limited get services 2>&1)"
	# a discovered type is refused the same way (discovery itself is allowed)
	run kx --context limited get leases
	assert_failure 1
	assert_equal "$output" "$(kubectl --context limited get leases 2>&1)"
}

@test "a CA that did not sign the server's certificate: a TLS error, exit 1" {
	local kc=$BATS_TEST_TMPDIR/kubeconfig
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=kx-other-ca \
		-keyout "$BATS_TEST_TMPDIR/other.key" -out "$BATS_TEST_TMPDIR/other.crt" 2>/dev/null
	cat >"$kc" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kx
  cluster:
    server: $KX_TEST_APISERVER
    certificate-authority-data: $(base64 -w0 "$BATS_TEST_TMPDIR/other.crt")
contexts:
- name: test
  context: {cluster: kx, user: test}
current-context: test
users:
- name: test
  user:
    token: $KX_TEST_TOKEN
EOF
	run kx --kubeconfig "$kc" get pods
	assert_failure 1
	assert_output "Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by unknown authority"
	assert_equal "$output" "$(kubectl --kubeconfig "$kc" get pods 2>&1)"
	refute_output --partial "$KX_TEST_TOKEN"
	# exec (its own TLS client for SPDY) says the same
	run kx --kubeconfig "$kc" exec web-0 -- true
	assert_failure 1
	assert_output "Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by unknown authority"
}

@test "a refused port: kubectl's refused message, at once" {
	local t0
	t0=$(now_ms)
	run kx --server https://127.0.0.1:1 --token x --request-timeout 5s get pods
	assert_failure 1
	assert_output "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"
	[ $(($(now_ms) - t0)) -lt 5000 ]
	run kubectl --server https://127.0.0.1:1 --token x get pods
	assert_line --index "$((${#lines[@]} - 1))" "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?"
}

@test "--request-timeout against a server that never answers: a timeout error in about that time" {
	python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])  # accept, then say nothing
' >"$BATS_TEST_TMPDIR/port" &
	SERVER_PID=$!
	local i
	for i in $(seq 50); do
		[ -s "$BATS_TEST_TMPDIR/port" ] && break
		sleep 0.1
	done
	local port t0 elapsed base
	port=$(cat "$BATS_TEST_TMPDIR/port")
	# What a kx run costs here without any network (slow under valgrind or on a
	# loaded machine): the bounds below are on top of it.
	t0=$(now_ms)
	run kx --server "https://127.0.0.1:$port" --request-timeout 1s version --client
	base=$(($(now_ms) - t0))
	t0=$(now_ms)
	run kx --server "https://127.0.0.1:$port" --insecure-skip-tls-verify --token x --request-timeout 2s get pods
	elapsed=$(($(now_ms) - t0))
	assert_failure 1
	assert_line --index 0 "Warning: insecure-skip-tls-verify is set: the server's certificate is not checked"
	assert_line --index 1 --regexp '^Unable to connect to the server: .*(timed out|timeout)'
	[ "$elapsed" -ge 1900 ] || fail "gave up after $elapsed ms, before its 2 s"
	[ $((elapsed - base)) -lt 4000 ] || fail "took $elapsed ms (a run without network: $base ms)"
	# the same through discovery (a type that is not built in): one timeout for
	# the command, not one per discovery request
	t0=$(now_ms)
	run kx --server "https://127.0.0.1:$port" --insecure-skip-tls-verify --token x --request-timeout 1s get leases
	elapsed=$(($(now_ms) - t0))
	assert_failure 1
	assert_line --regexp '^Unable to connect to the server: .*(timed out|timeout)'
	[ "$elapsed" -ge 900 ] || fail "gave up after $elapsed ms, before its 1 s"
	[ $((elapsed - base)) -lt 3000 ] || fail "took $elapsed ms (a run without network: $base ms)"
}

@test "-v=9 shows the requests and never a credential" {
	run kx --context token -v=9 get pods
	assert_success
	assert_output --regexp 'GET https://127\.0\.0\.1:[0-9]+/api/v1/namespaces/default/pods'
	refute_output --partial "$KX_TEST_TOKEN"
	refute_output --partial "Bearer $KX_TEST_TOKEN"
	# a failed call prints bodies at -v=9: still no token
	run kx --context limited -v=9 get services
	assert_failure 1
	assert_output --partial "GET https://"
	refute_output --partial "$KX_TEST_LIMITED_TOKEN"
	# exec credentials, discovery included
	run kx --context exec -v=9 get leases -n kube-system
	assert_success
	assert_output --partial "/apis"
	refute_output --partial "exec-token"
	# a token given on the command line
	run kx --server "$KX_TEST_APISERVER" --certificate-authority "$KX_TEST_CA" --token "$KX_TEST_TOKEN" -v=9 get pods
	assert_success
	refute_output --partial "$KX_TEST_TOKEN"
}
