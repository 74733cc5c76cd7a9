#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx exec across many pods (-l, --all-pods): prefixed whole lines, the highest
# exit code, the summary, -o json, one stdin for all, --max-parallel, a pod lost
# mid-command — on both transports. The test creates its pods (label fan=<test>,
# on KWOK's node so KWOK runs them) and deletes them. KWOK runs every pod's
# command on this machine in the same exec root, so a command learns which
# session it is from a ticket it takes there (mkdir is atomic).

setup_file() {
	load helpers
	need_cluster
	LABEL="fan$$"
	export LABEL
	for i in 1 2 3 4 5; do
		printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s-%s, labels: {fan: "%s"}}\nspec:\n  nodeName: %s\n  containers: [{name: main, image: kx.invalid/fixture/web:1}, {name: side, image: kx.invalid/fixture/web:1}]\n' \
			"$LABEL" "$i" "$LABEL" "${KX_TEST_NODE:-kwok-node-0}"
		echo ---
	done | kubectl apply -f - >/dev/null
	kubectl wait --for=condition=Ready pod -l "fan=$LABEL" --timeout=30s >/dev/null
}

teardown_file() {
	load helpers
	kubectl delete pod -l "fan=$LABEL" --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
}

setup() {
	load helpers
	load status_relay
	need_cluster
	TICKETS=$KX_TEST_EXEC_ROOT/tickets-$$-$BATS_TEST_NUMBER
}

teardown() {
	rm -rf "$TICKETS"
	[ -z "${RELAY_PID:-}" ] || kill "$RELAY_PID" 2>/dev/null || true
}

transports="websocket spdy"
pods() { for i in 1 2 3 4 5; do echo "$LABEL-$i"; done; }

# A command that takes the next ticket N (1, 2, …) and exits N-1.
ticket='mkdir -p "$T"; n=1; while ! mkdir "$T/$n" 2>/dev/null; do n=$((n+1)); done'

@test "prefixes, the highest exit code, the summary and -o json, on both transports" {
	for t in $transports; do
		rm -rf "$TICKETS"
		KX_TRANSPORT=$t kx exec -l "fan=$LABEL" -- \
			sh -c "T=$TICKETS; $ticket; echo ticket \$n; echo warn \$n >&2; exit \$((n-1))" \
			>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" && rc=0 || rc=$?
		[ "$rc" -eq 4 ] || fail "$t: exit $rc, want 4 (the highest)"
		# every pod once, on stdout and on stderr, with its prefix
		assert_equal "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/out" | sort)" "$(pods)"
		assert_equal "$(grep -v failed "$BATS_TEST_TMPDIR/err" | cut -d' ' -f1 | sort)" "$(pods)"
		grep -Eq "^$LABEL-[1-5] ticket [1-5]\$" "$BATS_TEST_TMPDIR/out" || fail "$t: $(cat "$BATS_TEST_TMPDIR/out")"
		# the summary names each failed pod with its own code (the ticket it printed)
		summary=$(grep failed "$BATS_TEST_TMPDIR/err")
		[[ $summary == "4 of 5 pods failed: "* ]] || fail "$t: $summary"
		while read -r pod _ n; do
			[ "$n" -eq 1 ] && continue
			[[ $summary == *"$pod (exit $((n-1)))"* ]] || fail "$t: $pod printed ticket $n: $summary"
		done <"$BATS_TEST_TMPDIR/out"

		rm -rf "$TICKETS"
		KX_TRANSPORT=$t kx exec -l "fan=$LABEL" -o json -- \
			sh -c "T=$TICKETS; $ticket; echo ticket \$n; printf ab >&2; exit \$((n-1))" >"$BATS_TEST_TMPDIR/json" && rc=0 || rc=$?
		[ "$rc" -eq 4 ] || fail "$t: -o json exit $rc"
		python3 - "$BATS_TEST_TMPDIR/json" "$t" "$(pods)" <<-'PY'
			import json, sys
			objs = [json.loads(l) for l in open(sys.argv[1])]
			assert sorted(o["pod"] for o in objs) == sys.argv[3].split(), objs
			assert sorted(o["exitCode"] for o in objs) == [0, 1, 2, 3, 4], objs
			for o in objs:
			    assert o["container"] == "main" and o["namespace"] == "default" and o["error"] is None, o
			    assert o["stdoutBytes"] == len("ticket 1\n") and o["stderrBytes"] == 2, o
			    assert o["transport"] == sys.argv[2] and o["durationMs"] >= 0, o
		PY
	done
}

@test "--all-containers: POD/CONTAINER prefixes; --prefix=false: raw lines; all 0 means exit 0 and no summary" {
	kx exec -l "fan=$LABEL" --all-containers -- echo hi >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	assert_equal "$(sort "$BATS_TEST_TMPDIR/out")" "$(for p in $(pods); do echo "$p/main hi"; echo "$p/side hi"; done)"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" ""
	kx exec -l "fan=$LABEL" --prefix=false -- echo hi >"$BATS_TEST_TMPDIR/out"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "$(printf 'hi\n%.0s' 1 2 3 4 5)"
	# no colour when stdout is not a terminal, nor with NO_COLOR on one
	! grep -q $'\033' "$BATS_TEST_TMPDIR/out"
	# many empty lines: each gets its prefix (the prefixed output is many times larger)
	kx exec -l "fan=$LABEL" -- sh -c 'head -c 100000 /dev/zero | tr "\0" "\n"' >"$BATS_TEST_TMPDIR/out"
	assert_equal "$(sort "$BATS_TEST_TMPDIR/out" | uniq -c | awk '{print $1, $2}')" "$(for p in $(pods); do echo "100000 $p"; done)"
}

@test "colours per pod on a terminal, none with NO_COLOR" {
	command -v script >/dev/null || skip "script(1) is not installed"
	script -qec "$KX_BIN exec -l fan=$LABEL -- echo hi" /dev/null >"$BATS_TEST_TMPDIR/tty" </dev/null
	assert_equal "$(grep -c $'\033\\[[0-9]*m'"$LABEL"'-[1-5]'$'\033\\[0m hi' "$BATS_TEST_TMPDIR/tty")" 5
	NO_COLOR=1 script -qec "$KX_BIN exec -l fan=$LABEL -- echo hi" /dev/null >"$BATS_TEST_TMPDIR/tty" </dev/null
	! grep -q $'\033' "$BATS_TEST_TMPDIR/tty"
	assert_equal "$(tr -d '\r' <"$BATS_TEST_TMPDIR/tty" | sort)" "$(for p in $(pods); do echo "$p hi"; done)"
}

@test "10,000 numbered lines per pod on stdout and stderr at once: every line whole, once, with its pod" {
	for t in $transports; do
		# (a generous time limit: 100,000 lines through a loaded machine under ASan)
		KX_TIMEOUT=120 KX_TRANSPORT=$t kx exec -l "fan=$LABEL" -- \
			sh -c 'i=0; while [ $i -lt 10000 ]; do echo "out line $i of the pod"; echo "err line $i of the pod" >&2; i=$((i+1)); done' \
			>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" && rc=0 || rc=$?
		[ "$rc" -eq 0 ] || fail "$t: exit $rc: $(grep -v ' err line ' "$BATS_TEST_TMPDIR/err" | tail -5)"
		for s in out err; do
			python3 - "$BATS_TEST_TMPDIR/$s" "$s" "$(pods)" <<-'PY' || fail "$t: $s"
				import sys, collections
				path, stream, pods = sys.argv[1], sys.argv[2], sys.argv[3].split()
				seen = collections.Counter()
				for line in open(path):
				    pod, rest = line.rstrip("\n").split(" ", 1)
				    seen[(pod, rest)] += 1
				want = {(p, f"{stream} line {i} of the pod") for p in pods for i in range(10000)}
				assert set(seen) == want, (len(set(seen) ^ want), sorted(set(seen) ^ want)[:5])
				assert all(n == 1 for n in seen.values()), [k for k, n in seen.items() if n > 1][:5]
			PY
		done
	done
}

@test "-i: one MiB of stdin, the same bytes to every pod (sha256sum), on both transports" {
	head -c 1048576 /dev/urandom >"$BATS_TEST_TMPDIR/in"
	want=$(sha256sum <"$BATS_TEST_TMPDIR/in" | cut -d' ' -f1)
	for t in $transports; do
		KX_TRANSPORT=$t kx exec -i -l "fan=$LABEL" -- sh -c 'sha256sum | cut -d" " -f1' \
			<"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
		assert_equal "$(sort "$BATS_TEST_TMPDIR/out")" "$(for p in $(pods); do echo "$p $want"; done)"
	done
}

@test "--max-parallel 2 with 5 pods: never more than 2 commands running at once (and 2 do run together)" {
	for t in $transports; do
		rm -rf "$TICKETS"
		mkdir -p "$TICKETS/running"
		# each command: mark itself running, record how many are, wait, unmark
		KX_TRANSPORT=$t kx exec -l "fan=$LABEL" --max-parallel 2 -- \
			sh -c 'T='"$TICKETS"'; touch "$T/running/$$"; ls "$T/running" | wc -l >>"$T/counts"; sleep 0.4; ls "$T/running" | wc -l >>"$T/counts"; rm "$T/running/$$"' \
			>/dev/null
		assert_equal "$(sort -n "$TICKETS/counts" | tail -1)" 2
		assert_equal "$(wc -l <"$TICKETS/counts")" 10
	done
}

@test "the same command with --all-pods over a deployment's pods" {
	kx exec deploy/web --all-pods -- echo hi >"$BATS_TEST_TMPDIR/out"
	assert_equal "$(sort "$BATS_TEST_TMPDIR/out")" "$(printf 'web-deploy-a hi\nweb-deploy-b hi')"
	# without --all-pods: one pod, no prefix (kubectl's behaviour)
	run kx exec deploy/web -- echo hi
	assert_success
	assert_output "hi"
}

@test "bad input: -t with a selector, a selector matching nothing, --all-pods with a pod, and others" {
	run kx exec -t -l "fan=$LABEL" -- true
	assert_failure 1
	assert_line -n 0 "error: -t/--tty cannot be used with -l or --all-pods: one terminal cannot serve several pods"
	run kx exec -l "fan=no-such-$LABEL" -- true
	assert_failure 1
	assert_output "No resources found in default namespace."
	run kx exec -n demo -l "fan=$LABEL" -- true
	assert_failure 1
	assert_output "No resources found in demo namespace."
	run kx exec web-0 --all-pods -- true
	assert_failure 1
	assert_line -n 0 'error: --all-pods needs TYPE/NAME of a workload or service (deploy/NAME, rs/, sts/, ds/, job/, rc/, svc/), not the pod "web-0"'
	run kx exec pod/web-0 --all-pods -- true
	assert_failure 1
	run kx exec -l "fan=$LABEL" web-0 -- true
	assert_failure 1
	assert_line -n 0 'error: either POD or TYPE/NAME, or -l SELECTOR, not both'
	run kx exec -l "fan=$LABEL" --max-parallel 0 -- true
	assert_failure 1
	assert_line -n 0 "error: --max-parallel must be at least 1, got 0"
	run kx exec -l "fan=$LABEL" -- 
	assert_failure 1
	run kx exec -l "fan=$LABEL" -c nope -- true
	assert_failure 1
	assert_line "5 of 5 pods failed: $LABEL-1 (container nope is not valid for pod $LABEL-1), $LABEL-2 (container nope is not valid for pod $LABEL-2), $LABEL-3 (container nope is not valid for pod $LABEL-3), $LABEL-4 (container nope is not valid for pod $LABEL-4), $LABEL-5 (container nope is not valid for pod $LABEL-5)"
	run kx exec web-0 --all-containers -- true
	assert_failure 1
	assert_line -n 0 "error: --all-containers needs -l SELECTOR or --all-pods"
}

@test "-i: stdin over the documented bound (64 MiB) is refused with a clear error" {
	run sh -c "head -c 67108865 /dev/zero | timeout 30 $KX_BIN exec -i -l fan=$LABEL -- true"
	assert_failure 1
	assert_output "error: stdin is larger than 64 MiB, the most that is held to send to every pod"
}

@test "one pod's connection lost mid-command: that pod reported lost, the others complete, exit 1, on both transports" {
	# A relay between kx and the API server cuts the chosen pod's exec
	# connection (a reset) half a second in; the commands take 2 s.
	local cut=$LABEL-3
	start_status_relay /dev/null "$cut" 0.5
	for t in $transports; do
		KUBECONFIG=$BATS_TEST_TMPDIR/relay.kubeconfig KX_TRANSPORT=$t kx exec -l "fan=$LABEL" -- \
			sh -c 'sleep 2; echo done' >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" && rc=0 || rc=$?
		[ "$rc" -eq 1 ] || fail "$t: exit $rc, want 1: $(cat "$BATS_TEST_TMPDIR/err")"
		assert_equal "$(sort "$BATS_TEST_TMPDIR/out")" "$(for p in $(pods); do [ "$p" = "$cut" ] || echo "$p done"; done)"
		assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" "1 of 5 pods failed: $cut (lost connection)"
	done
}

@test "completion: -l offers the pods' KEY=VALUE labels (also after a comma), and --all-pods is offered" {
	run kx __complete -- exec -l ''
	assert_success
	assert_line "fan=$LABEL"
	assert_line "app=web"
	run kx __complete -- exec -l "app=web,fa"
	assert_line "app=web,fan=$LABEL"
	refute_line "app=web,app=web"
	run kx __complete -- exec --all-p
	assert_line -p -- "--all-pods"
}

@test "-A: NS/POD prefixes; Ctrl-C ends every session at once (exit 130); a closed stdout ends kx as SIGPIPE would (141)" {
	kx exec -A -l "fan=$LABEL" -- echo hi >"$BATS_TEST_TMPDIR/out"
	assert_equal "$(sort "$BATS_TEST_TMPDIR/out")" "$(for p in $(pods); do echo "default/$p hi"; done)"
	"$KX_BIN" exec -l "fan=$LABEL" -- sh -c 'echo started; sleep 20' >"$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do [ "$(grep -c started "$BATS_TEST_TMPDIR/out")" -eq 5 ] && break; sleep 0.1; done
	kill -INT "$pid"
	SECONDS=0
	wait "$pid" && rc=0 || rc=$?
	assert_equal "$rc" 130
	[ "$SECONDS" -lt 5 ] || fail "kx took ${SECONDS}s to stop"
	run bash -c "set -o pipefail; $KX_BIN exec -l fan=$LABEL -- seq 1000000 | head -1"
	assert_failure 141
	[[ $output == "$LABEL-"*" 1" ]] || fail "$output"
}
