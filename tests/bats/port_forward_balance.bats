#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx port-forward svc/ and deploy/ balance connections over every Ready pod of
# the target (kx+). The pods are told apart through the data path: the
# fixture's pod port 5 answers with the pod's name and a newline, then echoes
# (tests/cluster/manifests/kwok.yaml). These tests create their own pods,
# Service and Deployment (app=bal, app=roll) and delete them afterwards. Each
# balancing test runs over both transports (the WebSocket tunnel and SPDY).

setup() {
	load pf_helpers
	pf_setup
}

teardown() {
	pf_teardown
	[ -z "${KC_PID:-}" ] || kill "$KC_PID" 2>/dev/null || true
	[ -z "${ROLL_PID:-}" ] || wait "$ROLL_PID" 2>/dev/null || true
	kubectl delete pod,svc,deploy -l kx-test=balance --wait=false >/dev/null 2>&1 || true
	kubectl wait --for=delete pod -l kx-test=balance --timeout=30s >/dev/null 2>&1 || true
}

bal_pod() { # name app [port]: a pod whose port named whoami is 5 (the whoami-echo
	# port; 99: the fixture's dead port), Ready about 1 s later
	kubectl apply -f - >/dev/null <<-YAML
	apiVersion: v1
	kind: Pod
	metadata: {name: $1, labels: {app: $2, kx-test: balance}}
	spec:
	  nodeName: $KX_TEST_NODE
	  containers: [{name: main, image: kx.invalid/fixture/bal:1, ports: [{name: whoami, containerPort: ${3:-5}}]}]
	YAML
}

svc_apply() { # name app ports: a Service selecting app=APP with these ports (YAML flow)
	kubectl apply -f - >/dev/null <<-YAML
	apiVersion: v1
	kind: Service
	metadata: {name: $1, labels: {kx-test: balance}}
	spec:
	  selector: {app: $2}
	  ports: $3
	YAML
}

bal_service() { # the Service bal (port 5 -> the pods' port 5) and two Ready pods
	svc_apply bal bal '[{name: whoami, port: 5, targetPort: 5}]'
	bal_pod bal-a bal
	bal_pod bal-b bal
	kubectl wait --for=condition=Ready pod/bal-a pod/bal-b --timeout=30s >/dev/null
}

not_ready_said() { # POD: wait (up to 15 s) for kx's stderr line saying POD is not Ready
	local line="Pod $1 is not Ready: no new connections to it (open ones finish)"
	for _ in $(seq 150); do
		grep -qx "$line" "$PF_ERR" && return 0
		sleep 0.1
	done
	grep -qx "$line" "$PF_ERR"
}

whoami() { # PORT N: N connections one after another (whoami-client.py)
	timeout 120 python3 "$BATS_TEST_DIRNAME/whoami-client.py" "$1" --count "$2" --size 64
}

@test "svc/: 100 connections spread over both Ready pods (each >= 25%), websocket and spdy" {
	bal_service
	for t in websocket spdy; do
		KX_TRANSPORT=$t start_pf svc/bal :5
		p=$(local_port 5)
		run whoami "$p" 100
		echo "$t: $output"
		assert_line --regexp "^conns [0-9]+ failed 0 bytes [0-9]+$"
		a=$(awk '$1 == "bal-a" {print $2}' <<<"$output")
		b=$(awk '$1 == "bal-b" {print $2}' <<<"$output")
		[ "${a:-0}" -ge 25 ] && [ "${b:-0}" -ge 25 ] || fail "$t: not spread: $output"
		# kubectl's stdout lines are unchanged
		assert_equal "$(grep -c "^Handling connection for $p\$" "$PF_OUT")" 100
		kill -INT "$PF_PID"
		wait_pf
		PF_PID=
	done
}

@test "svc/ --pin (and --exit-on-pod-loss, which implies it): every connection to one pod, as kubectl" {
	bal_service
	for flag in --pin --exit-on-pod-loss; do
		start_pf svc/bal :5 "$flag"
		run whoami "$(local_port 5)" 20
		assert_line --regexp "^conns [0-9]+ failed 0 bytes [0-9]+$"
		assert_equal "$(grep -vc '^conns ' <<<"$output")" 1
		grep -Eq '^bal-[ab] 20$' <<<"$output" || fail "$flag: $output"
		kill -INT "$PF_PID"
		wait_pf
		PF_PID=
	done
}

@test "a pod turned NotReady gets no new connections; its open connection finishes (drain), both transports" {
	bal_service
	for t in websocket spdy; do
		KX_TRANSPORT=$t start_pf svc/bal :5
		p=$(local_port 5)
		# A long connection: learn its pod from the first line, keep it open.
		coproc LONG { exec socat -t 30 - "TCP:127.0.0.1:$p"; }
		# (bash forgets a coproc's fds and pid when it ends: keep copies)
		long_pid=$LONG_PID
		exec {lin}<&"${LONG[0]}" {lout}>&"${LONG[1]}"
		exec {LONG[0]}<&- {LONG[1]}>&-
		read -r -t 10 pod <&"$lin"
		[[ $pod == bal-[ab] ]] || fail "$t: no pod name on the open connection: '$pod'"
		kubectl patch pod "$pod" --subresource=status --type=strategic \
			-p '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}' >/dev/null
		not_ready_said "$pod" || fail "$t: kx did not notice: $(cat "$PF_ERR")"
		run whoami "$p" 20
		echo "$t: $output"
		assert_line --regexp "^conns [0-9]+ failed 0 bytes [0-9]+$"
		other=bal-a
		[ "$pod" = bal-b ] || other=bal-b
		assert_equal "$(grep -v '^conns ' <<<"$output")" "$other 20"
		# The open connection on the NotReady pod still works, then ends cleanly.
		echo "still there" >&"$lout"
		read -r -t 10 back <&"$lin"
		assert_equal "$back" "still there"
		exec {lout}>&-
		! read -r -t 10 rest <&"$lin" || fail "$t: more after the end: '$rest'"
		exec {lin}<&-
		wait "$long_pid"
		kubectl patch pod "$pod" --subresource=status --type=strategic \
			-p '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
		kill -INT "$PF_PID"
		wait_pf
		PF_PID=
	done
}

@test "a pod whose port refuses: the kubelet's error comes before any byte, so kx replays the connection on another Ready pod; none lost, both transports" {
	# The Service's targetPort is named: pods rep-a and rep-b name port 5, rep-bad
	# names the fixture's dead port 99 (the kubelet answers "failed to dial").
	svc_apply rep rep '[{name: whoami, port: 5, targetPort: whoami}]'
	bal_pod rep-a rep
	bal_pod rep-b rep
	bal_pod rep-bad rep 99
	kubectl wait --for=condition=Ready pod/rep-a pod/rep-b pod/rep-bad --timeout=30s >/dev/null
	for t in websocket spdy; do
		ev=$BATS_TEST_TMPDIR/events-$t.ndjson
		KX_TRANSPORT=$t start_pf svc/rep :5 --events "$ev"
		run whoami "$(local_port 5)" 60
		echo "$t: $output"
		assert_line --regexp "^conns 60 failed 0 bytes 3840$"
		refute_line --partial rep-bad
		kill -INT "$PF_PID"
		wait_pf
		PF_PID=
		# rep-bad was offered connections (round robin reaches it) and each moved on
		grep -Eq "^Connection for [0-9]+: pod rep-bad: .*failed to dial.*; sent to another Ready pod$" "$PF_ERR" ||
			fail "$t: no replay line: $(cat "$PF_ERR")"
		refute grep -q "an error occurred forwarding" "$PF_ERR"
		# --events: one connection_replayed per move, the closed lines count them
		run jq -e -s '[.[] | select(.event == "connection_replayed")] as $r
			| ($r | length) > 0
			and all($r[]; (.message | startswith("pod rep-bad: ")) and .port > 0 and .remote_port == 99)
			and ([.[] | select(.event == "connection_closed") | .replays // 0] | add) == ($r | length)
			and all(.[] | select(.event == "connection_closed"); .end == "done" and .pod != "rep-bad")' "$ev"
		assert_success
	done
}

# ---- rolling replacement under load ----------------------------------------

roll_start() { # the Deployment roll and its pods roll-1..3, Ready
	kubectl apply -f - >/dev/null <<-YAML
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: roll, labels: {kx-test: balance}}
	spec:
	  replicas: 3
	  selector: {matchLabels: {app: roll}}
	  template:
	    metadata: {labels: {app: roll}}
	    spec:
	      containers: [{name: main, image: kx.invalid/fixture/bal:1, ports: [{name: whoami, containerPort: 5}]}]
	YAML
	for i in 1 2 3; do bal_pod "roll-$i" roll; done
	kubectl wait --for=condition=Ready pod/roll-1 pod/roll-2 pod/roll-3 --timeout=30s >/dev/null
}

roll_replace() { # what a rolling update does: a new Ready pod first, then the old one deleted
	sleep 3
	for i in 1 2 3; do
		bal_pod "roll-$i-new" roll
		kubectl wait --for=condition=Ready "pod/roll-$i-new" --timeout=30s >/dev/null
		kubectl delete pod "roll-$i" --wait=false >/dev/null
		sleep 6 # spread over the 30 s of load
	done
}

load_conns() { # PORT SECONDS RATE: RATE new connections a second (whoami-client.py)
	timeout 120 python3 "$BATS_TEST_DIRNAME/whoami-client.py" "$1" --seconds "$2" --rate "$3" |
		grep '^conns '
}

@test "rolling replacement under load (20 conn/s for 30 s, 3 pods replaced one by one): kx loses none of 600; kubectl's result beside it (expected to fail)" {
	# 600 connections per tool, each checked byte for byte; the three
	# replacements are spread over the first 25 s.
	roll_start
	start_pf deploy/roll :5
	roll_replace &
	ROLL_PID=$!
	kx_result=$(load_conns "$(local_port 5)" 30 20)
	wait "$ROLL_PID"
	kubectl delete pod -l app=roll --wait=false >/dev/null
	kubectl wait --for=delete pod -l app=roll --timeout=30s >/dev/null
	# the same through kubectl
	roll_start
	"$KUBECTL" port-forward deploy/roll :5 >"$BATS_TEST_TMPDIR/kc.out" 2>&1 &
	KC_PID=$!
	for _ in $(seq 100); do grep -q '^Forwarding from 127' "$BATS_TEST_TMPDIR/kc.out" && break; sleep 0.1; done
	kp=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) -> 5$/\1/p' "$BATS_TEST_TMPDIR/kc.out")
	roll_replace &
	ROLL_PID=$!
	kc_result=$(load_conns "$kp" 30 20)
	wait "$ROLL_PID"
	echo "# kx:      $kx_result ($(grep -c 'sent to another Ready pod$' "$PF_ERR") replayed on another pod)" >&3
	echo "# kubectl: $kc_result (expected to fail: it forwards to one pod and ends with it)" >&3
	read -r _ n _ failed _ bytes <<<"$kx_result"
	# the client paces itself; a slow machine may open fewer, but not few
	[ "$n" -ge 480 ] || fail "kx: only $n connections in 30 s: $kx_result"
	# A connection sent to a pod in the instant it is deleted is refused by the
	# kubelet before any byte: kx replays it on another Ready pod.
	[ "$failed" -eq 0 ] || fail "kx lost $failed of $n connections: $kx_result; $(grep -v '^Handling' "$PF_ERR" | tail -5)"
	assert_equal "$bytes" $(((n - failed) * 4096))
	# kx went to the new pods: all three old ones were drained and left
	grep -qx "Pod roll-3-new is Ready: balancing new connections to it" "$PF_ERR"
	grep -qx "Pod roll-1 is not Ready: no new connections to it (open ones finish)" "$PF_ERR"
}

# ---- --events: NDJSON for scripts (docs/events.md) --------------------------

@test "--events FILE: every connection has an opened and a closed line (same id, peer, pod), byte counts equal to the client's, schema checked with jq" {
	bal_service
	ev=$BATS_TEST_TMPDIR/events.ndjson
	start_pf svc/bal :5 --events "$ev"
	p=$(local_port 5)
	run timeout 120 python3 "$BATS_TEST_DIRNAME/whoami-client.py" "$p" --count 30 --size 200000 --vary \
		--peers "$BATS_TEST_TMPDIR/client"
	assert_line --regexp "^conns 30 failed 0 bytes [0-9]+$"
	kill -INT "$PF_PID"
	wait_pf
	PF_PID=
	# every line: an object with the version, a UTC timestamp and a known event
	run jq -e -s 'length > 0 and all(.[]; .v == 1 and (.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z$"))
		and (.event | IN("listening", "ready", "endpoint_ready", "endpoint_not_ready", "connection_opened",
			"connection_closed", "connection_replayed", "error", "pod_lost", "session_reconnected", "session_lost")))' "$ev"
	assert_success
	# the connection lines: their fields and types
	run jq -e -s '[.[] | select(.event | startswith("connection_"))] | length == 60 and all(.[];
		(.id | type) == "number" and (.peer | test("^127\\.0\\.0\\.1:[0-9]+$")) and .address == "127.0.0.1"
		and .remote_port == 5 and (.pod | IN("bal-a", "bal-b"))
		and (if .event == "connection_closed" then (.bytes_from_client | type) == "number"
			and (.bytes_to_client | type) == "number" and .duration_ms >= 0 and .end == "done"
			else true end))' "$ev"
	assert_success
	# opened and closed pair up by id, with the same peer and pod
	run jq -e -s '[.[] | select(.event == "connection_opened")] as $o | [.[] | select(.event == "connection_closed")] as $c
		| ($o | map(.id) | sort) == ($c | map(.id) | sort) and ($o | map(.id) | unique | length) == 30
		and all($o[]; . as $x | any($c[]; .id == $x.id and .peer == $x.peer and .pod == $x.pod))' "$ev"
	assert_success
	# bytes: what the client sent and received (its pod's name line included), by its local port
	jq -r 'select(.event == "connection_closed") | "\(.peer | split(":") | last) \(.bytes_from_client) \(.bytes_to_client)"' \
		"$ev" | sort >"$BATS_TEST_TMPDIR/kx"
	sort "$BATS_TEST_TMPDIR/client" >"$BATS_TEST_TMPDIR/client.sorted"
	run diff "$BATS_TEST_TMPDIR/client.sorted" "$BATS_TEST_TMPDIR/kx"
	assert_success
	# both pods got connections, and the events said they were Ready
	jq -e -s '[.[] | select(.event == "endpoint_ready") | .pod] | sort == ["bal-a", "bal-b"]' "$ev"
}

@test "--events -: NDJSON on stdout, kubectl's messages move to stderr; a failed connection is an error line and an 'error' end" {
	"$KX_BIN" port-forward pod/web-0 :99 --events - >"$PF_OUT" 2>"$PF_ERR" &
	PF_PID=$!
	for _ in $(seq 100); do grep -q '^Forwarding from' "$PF_ERR" && break; sleep 0.1; done
	p=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) -> 99$/\1/p' "$PF_ERR")
	[ -n "$p" ] || fail "no Forwarding line on stderr: $(cat "$PF_ERR")"
	timeout 10 socat -t 5 - "TCP:127.0.0.1:$p" </dev/null || true
	for _ in $(seq 50); do grep -q '"connection_closed"' "$PF_OUT" && break; sleep 0.1; done
	kill -INT "$PF_PID"
	wait_pf
	PF_PID=
	refute grep -v '^{' "$PF_OUT" # nothing but JSON objects on stdout
	jq -e -s 'any(.[]; .event == "error" and .port > 0 and .remote_port == 99 and (.message | test("failed to dial")))' "$PF_OUT"
	jq -e -s 'any(.[]; .event == "connection_closed" and .end == "error" and .pod == "web-0" and (.message | length > 0))' "$PF_OUT"
	grep -q "^Handling connection for $p\$" "$PF_ERR"
}

@test "bad input: a Service whose selector matches no pod says it waits, and ends within --pod-running-timeout with a one-line error" {
	svc_apply nomatch kx-nothing-has-this '[{port: 80}]'
	start=$(date +%s%N)
	run kx port-forward svc/nomatch 80 --pod-running-timeout=2s
	ms=$((($(date +%s%N) - start) / 1000000))
	assert_failure 1
	assert_line --index 0 "no ready pod found for services/nomatch (selector app=kx-nothing-has-this); waiting up to 2s for one"
	assert_line --index 1 "error: no ready pod found for services/nomatch (selector app=kx-nothing-has-this)"
	[ "${#lines[@]}" -eq 2 ]
	[ "$ms" -ge 1900 ] && [ "$ms" -lt 10000 ] || fail "took $ms ms"
}

@test "the pod watch lost its place (ERROR 410 Gone from the real API server): kx lists again and stops offering a pod deleted meanwhile; 20 connections go to the other" {
	bal_service
	# The API server's watch cache drops its oldest pod events: a watch from
	# resourceVersion 1 is then answered 410. KX_TEST_INFORMER_WATCH_RV=1 (test
	# only) starts every one of kx's watches there, so kx never watches
	# successfully and learns of changes only by listing again.
	# The cache drops nothing younger than 75 s: on a cluster just started
	# (its kubeconfig written by tests/cluster/up), wait for its first events to age.
	age=$(($(date +%s) - $(stat -c %Y "$KUBECONFIG")))
	[ "$age" -ge 80 ] || sleep $((80 - age))
	run timeout 60 python3 "$BATS_TEST_DIRNAME/expire-watch-cache.py" default bal-b 40
	assert_output 410
	KX_TEST_INFORMER_WATCH_RV=1 start_pf -v=6 svc/bal :5
	p=$(local_port 5)
	kubectl delete pod bal-a --force --grace-period=0 >/dev/null 2>&1
	# No watch sees the deletion: a relist (at most 5 s apart) does.
	not_ready_said bal-a || fail "kx did not notice: $(grep -v '^I[0-9]' "$PF_ERR")"
	# kx did watch from 1 and list again (-v=6: one line per finished request).
	watches=$(grep -c '^I6 GET .*/pods?watch=1&.*labelSelector=app%3Dbal&resourceVersion=1 200 ' "$PF_ERR" || true)
	lists=$(grep -c '^I6 GET .*/pods?labelSelector=app%3Dbal 200 ' "$PF_ERR" || true)
	[ "$watches" -ge 1 ] && [ "$lists" -ge 2 ] || fail "watches $watches lists $lists: $(grep '^I6' "$PF_ERR")"
	run whoami "$p" 20
	echo "$output"
	assert_line --regexp "^conns [0-9]+ failed 0 bytes [0-9]+$"
	assert_equal "$(grep -v '^conns ' <<<"$output")" "bal-b 20"
}
