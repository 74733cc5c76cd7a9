#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx config against kubectl config on the same kubeconfigs, compared as data
# (JSON) and as text where kubectl's text is the contract (tables, YAML).

setup() {
	load helpers
	need_cluster
	K2=$BATS_TEST_TMPDIR/second.yaml
	cat >"$K2" <<-EOF
	apiVersion: v1
	kind: Config
	clusters:
	- name: kx
	  cluster: {server: https://shadowed.invalid:1}
	- name: second
	  cluster: {server: https://127.0.0.1:2, certificate-authority: relative/ca.crt}
	contexts:
	- name: second
	  context: {cluster: second, user: second, namespace: two}
	current-context: second
	users:
	- name: second
	  user: {token: second-secret-token, client-key-data: c2VjcmV0}
	EOF
}

same_json() { # args...: kx and kubectl `config ARGS -o json` equal as data
	local a b
	a=$(kx config "$@" -o json) || return 1
	b=$(kubectl config "$@" -o json) || return 1
	python3 -c 'import json,sys; a,b=json.loads(sys.argv[1]),json.loads(sys.argv[2]); sys.exit(0 if a==b else 1)' "$a" "$b" ||
		{ diff <(echo "$a") <(echo "$b"); return 1; }
}

@test "config view equals kubectl's: the test cluster's kubeconfig, as data and as YAML" {
	same_json view
	same_json view --raw
	same_json view --minify
	assert_equal "$(kx config view)" "$(kubectl config view)"
}

@test "config view of a merged KUBECONFIG (first wins per name and for current-context) equals kubectl's" {
	export KUBECONFIG="$KUBECONFIG:$K2"
	same_json view
	same_json view --raw
	same_json view --minify
	assert_equal "$(kx config view)" "$(kubectl config view)"
	run kx config current-context
	assert_output "$(kubectl config current-context)"
	# the second file's context is there, its shadowed cluster is not
	run kx config view -o json
	assert_output --partial '"second"'
	refute_output --partial "shadowed.invalid"
}

@test "secrets are redacted without --raw, and shown with it" {
	export KUBECONFIG="$K2"
	run kx config view
	assert_output --partial "token: REDACTED"
	assert_output --partial "client-key-data: DATA+OMITTED"
	refute_output --partial "second-secret-token"
	run kx config view --raw
	assert_output --partial "second-secret-token"
}

@test "get-contexts and current-context equal kubectl's, with --context and -o name" {
	assert_equal "$(kx config get-contexts)" "$(kubectl config get-contexts)"
	assert_equal "$(kx config get-contexts -o name)" "$(kubectl config get-contexts -o name)"
	assert_equal "$(kx config get-contexts demo)" "$(kubectl config get-contexts demo)"
	assert_equal "$(kx --context demo config current-context)" "$(kubectl --context demo config current-context)"
	run kx config get-contexts nope
	assert_failure 1
	assert_line --index 1 "error: context nope not found"
}

@test "config commands never touch the network (unreachable server, instant answer)" {
	export KUBECONFIG="$K2"
	run timeout 2 "$KX_BIN" config view
	assert_success
	run timeout 2 "$KX_BIN" config get-contexts
	assert_success
}

@test "a malformed kubeconfig: one line naming the file and the line, exit 1" {
	printf 'apiVersion: v1\nclusters:\n- name: x\n  cluster: {server: [\n' >"$BATS_TEST_TMPDIR/bad.yaml"
	run kx --kubeconfig "$BATS_TEST_TMPDIR/bad.yaml" config view
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "bad.yaml.*line [0-9]+"
	run kx --kubeconfig "$BATS_TEST_TMPDIR/missing.yaml" get pods
	assert_failure 1
	assert_output --partial "missing.yaml"
}
