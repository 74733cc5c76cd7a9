#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx attach against the real cluster: KWOK attaches to the pod's log file, so a
# line appended to it is the main process's output. Compared with kubectl.

setup() {
	load helpers
	need_cluster
	# time for kx to attach before a line is appended (longer under valgrind)
	ATTACH_WAIT=1.5
	[ -z "${KX_UNDER_VALGRIND:-}" ] || ATTACH_WAIT=30 # kx under valgrind attaches in ~8-15 s
}

append_line() {
	printf '%s stdout F %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.000000000Z)" "$1" >>"$KX_TEST_POD_LOG"
}

@test "attach streams the main process's output, on both transports; SIGTERM detaches (exit 143)" {
	for t in spdy websocket; do
		KX_TRANSPORT=$t "$KX_BIN" attach web-0 >"$BATS_TEST_TMPDIR/out.$t" 2>"$BATS_TEST_TMPDIR/err.$t" &
		pid=$!
		sleep "$ATTACH_WAIT"
		append_line "attached-line-$t"
		for _ in $(seq 50); do grep -q "attached-line-$t" "$BATS_TEST_TMPDIR/out.$t" && break; sleep 0.1; done
		kill -TERM $pid
		rc=0
		wait $pid || rc=$?
		assert_equal "$rc" 143
		grep -q "attached-line-$t" "$BATS_TEST_TMPDIR/out.$t" || fail "$t: the appended line did not arrive"
		assert_equal "$(cat "$BATS_TEST_TMPDIR/err.$t")" "If you don't see a command prompt, try pressing enter."
	done
}

@test "attach -q prints only the remote output" {
	"$KX_BIN" attach -q web-0 >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep "$ATTACH_WAIT"
	append_line "quiet-line"
	for _ in $(seq 50); do grep -q quiet-line "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
	kill -TERM $pid
	wait $pid || true
	grep -q quiet-line "$BATS_TEST_TMPDIR/out"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" ""
}

@test "attach errors are kubectl's: no argument, wrong container, missing pod" {
	run kx attach
	assert_failure 1
	assert_line --index 0 "error: at least 1 argument is required for attach"
	run kx attach web-0 -c nope
	assert_failure 1
	assert_output "error: cannot attach to the container: container nope not found in pod web-0"
	assert_equal "$output" "$(kubectl attach web-0 -c nope 2>&1)"
	run kx attach nope
	assert_failure 1
	assert_output 'Error from server (NotFound): pods "nope" not found'
}
