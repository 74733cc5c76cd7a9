#!/usr/bin/env bats
# tools/demo (the README's demo) against the running test cluster: what it
# prints as a command is what a user would type to get the output shown.

setup() {
	load helpers
	need_cluster
}

teardown() {
	kubectl delete service web-demo --ignore-not-found >/dev/null 2>&1 || true
}

@test "the demo runs, and its exec step is shown as a shell would take it" {
	kubectl delete service web-demo --ignore-not-found >/dev/null
	run env KX_DEMO_CLUSTER=running KX_BIN="$KX_BIN" timeout 120 "$KX_ROOT/tools/demo"
	assert_success
	assert_line "\$ kx exec web-0 -- sh -c 'echo \"hello from \$(hostname) in the pod\"; exit 3'"
	assert_line "(exit code 3: the remote command's)"
	# Typed at a shell, the line shown does what the demo did: same output, exit 3.
	shown=$(grep -m1 '^\$ kx exec web-0 -- sh -c' <<<"$output")
	said=$(grep -A1 -m1 '^\$ kx exec web-0 -- sh -c' <<<"$output" | tail -1)
	[[ $said == "hello from "*" in the pod" ]]
	run env KX_BIN="$KX_BIN" bash -c 'kx() { "$KX_BIN" "$@" 2>/dev/null; }; '"${shown#\$ }"
	assert_equal "$status" 3
	assert_output "$said"
}
