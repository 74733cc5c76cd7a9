#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Secrets audit (issue 9): for every kind of credential the test cluster offers —
# client certificate files and inline data, bearer tokens, exec plugins (v1 and
# v1beta1, returning a token or a client certificate and key), basic auth, and a
# wrong token (401) — kx's stdout and stderr at every verbosity -v=0..10, for
# get, version, exec, port-forward and config view, hold no token, password,
# private-key PEM body or exec-plugin credential. kubectl is the reference for
# what is masked. Then: under strace, kx opens for writing only the discovery
# cache and the --ready-file, with modes 0600/0700 whatever the umask, and no
# credential lands in them.

setup() {
	load helpers
	need_cluster
	PKI=$KX_CLUSTER_STATE/pki
	OUT=$BATS_TEST_TMPDIR/all.out
	: >"$OUT"
}

teardown() {
	[ -z "${PF_PID:-}" ] || kill -INT "$PF_PID" 2>/dev/null || true
	[ -z "${PF_PID:-}" ] || wait "$PF_PID" 2>/dev/null || true
}

# The strings that must never show: the cluster's tokens, a basic-auth password,
# a wrong token, and the client key — each line of the PEM body, and slices of
# its base64 form as the kubeconfig's client-key-data holds it.
BASIC_PASSWORD=kx-basic-pw-7f3a91c2e5
WRONG_TOKEN=kx-wrong-token-5c1e0b7d93
secret_patterns() {
	printf '%s\n' admin-token limited-token exec-token "$BASIC_PASSWORD" "$WRONG_TOKEN"
	grep -v -- '-----' "$PKI/admin.key"
	local b64
	b64=$(base64 -w0 "$PKI/admin.key")
	for off in 100 400 800 1200 1600; do
		printf '%s\n' "${b64:$off:40}"
	done
}

# assert_no_secret FILE: fails, naming the pattern and the line, when any secret shows.
assert_no_secret() {
	secret_patterns >"$BATS_TEST_TMPDIR/patterns"
	if grep -n -F -f "$BATS_TEST_TMPDIR/patterns" "$1" >"$BATS_TEST_TMPDIR/leaks"; then
		echo "credential material in $1:" >&2
		head -5 "$BATS_TEST_TMPDIR/leaks" | cut -c1-200 >&2
		return 1
	fi
}

# pf_once ARGS...: a port-forward to pod/web-0 :7 with ARGS, one echoed line
# through it, then Ctrl-C. Output appended to $OUT.
pf_once() {
	local ready=$BATS_TEST_TMPDIR/ready p=
	rm -f "$ready"
	"$KX_BIN" "$@" port-forward pod/web-0 :7 --ready-file "$ready" >>"$OUT" 2>&1 &
	PF_PID=$!
	for _ in $(seq 100); do
		[ -s "$ready" ] && break
		kill -0 "$PF_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$ready" ] && p=$(awk '$1 == "127.0.0.1" {print $2; exit}' "$ready")
	if [ -n "$p" ]; then
		echo "pf-echo: $(echo pf-hello | timeout 10 socat - TCP:127.0.0.1:"$p")" >>"$OUT"
	fi
	kill -INT "$PF_PID" 2>/dev/null || true
	wait "$PF_PID" 2>/dev/null || true
	PF_PID=
}

# every_level ARGS...: the audited commands at -v=0..10 with ARGS (a context or
# credential flags), all output (stdout and stderr) appended to $OUT.
every_level() {
	local v
	for v in 0 1 2 3 4 5 6 7 8 9 10; do
		echo "== -v=$v" >>"$OUT"
		kx "$@" -v="$v" get pods >>"$OUT" 2>&1 || true
		kx "$@" -v="$v" version >>"$OUT" 2>&1 || true
		kx "$@" -v="$v" exec web-0 -- sh -c 'echo exec-ran' >>"$OUT" 2>&1 || true
		kx "$@" -v="$v" config view >>"$OUT" 2>&1 || true
		pf_once "$@" -v="$v"
	done
}

# The credential worked at every level (so the audit is not of error paths only).
assert_worked() {
	assert_equal "$(grep -c '^web-0 ' "$OUT")" 11
	assert_equal "$(grep -c '^exec-ran$' "$OUT")" 11
	assert_equal "$(grep -c '^pf-echo: pf-hello$' "$OUT")" 11
	assert_equal "$(grep -c '^Server Version: ' "$OUT")" 11
}

@test "client certificate and key files (context admin): no key material at -v=0..10" {
	every_level --context admin
	assert_worked
	assert_no_secret "$OUT"
}

@test "inline certificate and key data (context admin-data): no key material at -v=0..10" {
	every_level --context admin-data
	assert_worked
	# config view shows the inline key as kubectl does: DATA+OMITTED
	grep -q 'client-key-data: DATA+OMITTED' "$OUT"
	assert_no_secret "$OUT"
}

@test "bearer token (context token): never shown at -v=0..10; -v=8+ masks it like kubectl" {
	every_level --context token
	assert_worked
	grep -q 'Authorization: Bearer <masked>' "$OUT"
	grep -q 'token: REDACTED' "$OUT"
	assert_no_secret "$OUT"
	# kubectl, the reference, masks the same header the same way
	kubectl --context token -v=9 get pods >"$BATS_TEST_TMPDIR/kubectl.out" 2>&1
	grep -q 'Authorization: Bearer <masked>' "$BATS_TEST_TMPDIR/kubectl.out"
	assert_no_secret "$BATS_TEST_TMPDIR/kubectl.out"
}

# A kubeconfig whose user has no credential, so --token is what authenticates.
no_user_kubeconfig() {
	cat >"$BATS_TEST_TMPDIR/nouser" <<-EOF
	apiVersion: v1
	kind: Config
	clusters: [{name: c, cluster: {server: "$KX_TEST_APISERVER", certificate-authority: "$KX_TEST_CA"}}]
	users: [{name: u, user: {}}]
	contexts: [{name: x, context: {cluster: c, user: u}}]
	current-context: x
	EOF
	echo "$BATS_TEST_TMPDIR/nouser"
}

@test "token from --token: never shown at -v=0..10" {
	every_level --kubeconfig "$(no_user_kubeconfig)" --token "$KX_TEST_TOKEN"
	assert_worked
	assert_no_secret "$OUT"
}

@test "token file (tokenFile): never shown at -v=0..10" {
	local tf=$BATS_TEST_TMPDIR/token kc=$BATS_TEST_TMPDIR/kubeconfig
	printf '%s\n' "$KX_TEST_TOKEN" >"$tf"
	cat >"$kc" <<-EOF
	apiVersion: v1
	kind: Config
	clusters: [{name: c, cluster: {server: "$KX_TEST_APISERVER", certificate-authority: "$KX_TEST_CA"}}]
	users: [{name: u, user: {tokenFile: "$tf"}}]
	contexts: [{name: x, context: {cluster: c, user: u}}]
	current-context: x
	EOF
	every_level --kubeconfig "$kc"
	assert_worked
	assert_no_secret "$OUT"
}

@test "exec plugin, client.authentication.k8s.io/v1 (context exec): its token never shown at -v=0..10" {
	every_level --context exec
	assert_worked
	assert_no_secret "$OUT"
}

@test "exec plugin, v1beta1 (context exec-beta): its token never shown at -v=0..10" {
	every_level --context exec-beta
	assert_worked
	assert_no_secret "$OUT"
}

@test "exec plugin returning a client certificate and key: the key never shown at -v=0..10" {
	local plugin=$BATS_TEST_TMPDIR/cert-plugin kc=$BATS_TEST_TMPDIR/kubeconfig
	python3 - "$PKI/admin.crt" "$PKI/admin.key" >"$BATS_TEST_TMPDIR/cred.json" <<-'PY'
	import json, sys
	print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
	                  "status": {"clientCertificateData": open(sys.argv[1]).read(),
	                             "clientKeyData": open(sys.argv[2]).read()}}))
	PY
	printf '#!/bin/sh\nexec cat %s\n' "$BATS_TEST_TMPDIR/cred.json" >"$plugin"
	chmod +x "$plugin"
	cat >"$kc" <<-EOF
	apiVersion: v1
	kind: Config
	clusters: [{name: c, cluster: {server: "$KX_TEST_APISERVER", certificate-authority: "$KX_TEST_CA"}}]
	users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: "$plugin", interactiveMode: Never}}}]
	contexts: [{name: x, context: {cluster: c, user: u}}]
	current-context: x
	EOF
	every_level --kubeconfig "$kc"
	assert_worked
	assert_no_secret "$OUT"
}

@test "basic auth (username/password, refused by this API server): the password never shown at -v=0..10" {
	local kc=$BATS_TEST_TMPDIR/kubeconfig
	cat >"$kc" <<-EOF
	apiVersion: v1
	kind: Config
	clusters: [{name: c, cluster: {server: "$KX_TEST_APISERVER", certificate-authority: "$KX_TEST_CA"}}]
	users: [{name: u, user: {username: kx-basic-user, password: "$BASIC_PASSWORD"}}]
	contexts: [{name: x, context: {cluster: c, user: u}}]
	current-context: x
	EOF
	every_level --kubeconfig "$kc"
	# the server has no basic authenticator: every call fails, at every level
	assert_equal "$(grep -c '^web-0 ' "$OUT")" 0
	grep -q 'password: REDACTED' "$OUT"
	assert_no_secret "$OUT"
}

@test "a wrong token (401 Unauthorized) at -v=0..10: the error and the response bodies, never the token" {
	every_level --kubeconfig "$(no_user_kubeconfig)" --token "$WRONG_TOKEN"
	assert_equal "$(grep -c '^web-0 ' "$OUT")" 0
	grep -q 'Unauthorized' "$OUT"
	assert_no_secret "$OUT"
	# an exec plugin that returns a wrong token: refused twice (kx re-runs it once)
	: >"$OUT"
	for v in 0 6 9 10; do
		KX_PLUGIN_TOKEN=$WRONG_TOKEN kx --context exec -v=$v get pods >>"$OUT" 2>&1 || true
		KX_PLUGIN_TOKEN=$WRONG_TOKEN kx --context exec -v=$v exec web-0 -- true >>"$OUT" 2>&1 || true
	done
	grep -q 'Unauthorized' "$OUT"
	assert_no_secret "$OUT"
}

@test "config view --raw prints the credentials on purpose, exactly like kubectl's --raw" {
	run kx --context token config view --raw -o json
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/kx.json"
	run kubectl --context token config view --raw -o json
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/kubectl.json"
	# same data, secrets included (that is what --raw is for, in both tools)
	run python3 -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); sys.exit(a!=b)' \
		"$BATS_TEST_TMPDIR/kx.json" "$BATS_TEST_TMPDIR/kubectl.json"
	assert_success
	grep -q '"admin-token"' "$BATS_TEST_TMPDIR/kx.json"
	# without --raw, neither shows them
	run kx config view -o json
	assert_success
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/kx-view.json"
	grep -q REDACTED "$BATS_TEST_TMPDIR/kx-view.json"
	assert_no_secret "$BATS_TEST_TMPDIR/kx-view.json"
}

# The writes kx made, from an strace log: "PATH" per successful open for writing,
# creat, mkdir or rename (both names).
written_paths() {
	grep -E '(openat|open)\(.*(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND).*\) = [0-9]+$' "$1" |
		sed -E 's/^[0-9]+ +(openat\(AT_FDCWD, |open\()"([^"]*)".*/\2/'
	grep -E '(creat|mkdir)\(.*\) = 0$|creat\(.*\) = [0-9]+$' "$1" | sed -E 's/^[0-9]+ +(creat|mkdir)\("([^"]*)".*/\2/'
	grep -E 'rename(at2?)?\(.*\) = 0$' "$1" | grep -oE '"[^"]*"' | tr -d '"'
}

@test "strace: kx writes only its discovery cache and the --ready-file, 0600/0700 whatever the umask, no credential in them" {
	command -v strace >/dev/null || skip "strace is not installed"
	local cache=$BATS_TEST_TMPDIR/xdg/cache ready=$BATS_TEST_TMPDIR/run/ready trace=$BATS_TEST_TMPDIR/trace
	mkdir -p "$BATS_TEST_TMPDIR/run"
	: >"$trace.all"
	(
		umask 000
		export KUBECACHEDIR=$cache
		# an ASan build's leak checker cannot ptrace a process strace already traces
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
		# a discovery-driven get (writes the cache), an exec and a port-forward, with
		# each credential kind that loads key material or runs a plugin
		for ctx in admin admin-data exec token; do
			timeout 60 strace -f -qq -e trace=open,openat,creat,mkdir,rename,renameat,renameat2 -o "$trace" \
				"$KX_BIN" --context $ctx get leases -A >/dev/null 2>&1
			cat "$trace" >>"$trace.all"
			timeout 60 strace -f -qq -e trace=open,openat,creat,mkdir,rename,renameat,renameat2 -o "$trace" \
				"$KX_BIN" --context $ctx exec web-0 -- true >/dev/null 2>&1
			cat "$trace" >>"$trace.all"
			rm -rf "$cache"
		done
		timeout 60 strace -f -qq -e trace=open,openat,creat,mkdir,rename,renameat,renameat2 -o "$trace" \
			"$KX_BIN" --context admin-data get leases -A >/dev/null 2>&1
		cat "$trace" >>"$trace.all"
		timeout 60 strace -f -qq -e trace=open,openat,creat,mkdir,rename,renameat,renameat2 -o "$trace" \
			"$KX_BIN" --context admin-data port-forward pod/web-0 :7 --ready-file "$ready" >/dev/null 2>&1 &
		to_pid=$!
		for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
		# timeout -> strace -> kx: Ctrl-C to kx itself, by pid
		strace_pid=$(pgrep -P "$to_pid")
		kx_pid=$(pgrep -P "$strace_pid")
		[ -z "$kx_pid" ] || kill -INT "$kx_pid"
		wait
		cat "$trace" >>"$trace.all"
	)
	# the runs did write (the check below is not vacuous)
	[ -s "$ready" ]
	ls "$cache"/discovery/*/api-resources.json >/dev/null
	written_paths "$trace.all" | sort -u >"$BATS_TEST_TMPDIR/written"
	grep -q "^$cache/discovery/" "$BATS_TEST_TMPDIR/written"
	grep -q "^$ready\$" "$BATS_TEST_TMPDIR/written"
	# (the cache directory and, like mkdir -p, its missing parents: xdg/)
	run grep -v -E "^($BATS_TEST_TMPDIR/xdg(/cache(/.*)?)?|$ready(\\.tmp[0-9]+)?|/dev/null|/dev/tty)\$" "$BATS_TEST_TMPDIR/written"
	assert_output ""
	# modes: 0600 files, 0700 directories (what kx created: from $KUBECACHEDIR down)
	# (no group/other bit at all; a setgid bit inherited from the parent is fine)
	run find "$BATS_TEST_TMPDIR/xdg" "$ready" -perm /077 -o \( -type f ! -perm -600 \) -o \( -type d ! -perm -700 \)
	assert_output ""
	find "$cache" -type f -exec cat {} + >"$BATS_TEST_TMPDIR/cache-contents"
	cat "$ready" >>"$BATS_TEST_TMPDIR/cache-contents"
	assert_no_secret "$BATS_TEST_TMPDIR/cache-contents"
}
