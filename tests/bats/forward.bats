#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx forward (kx+): every TCP port of a namespace's Services, each balanced over
# its Ready pods, on one loop. The tests make their own namespace kx-fwd
# (nothing other tests see): Services alpha (one port) and beta (two ports, a
# named targetPort; two pods), the Service gamma added after the start, lonely
# (its selector matches no pod) and external (no selector). Pods answer on port
# 5 with their name (the fixture's whoami-echo) and echo on port 7, so a
# connection through a Service's address says which pod it reached. Traffic goes
# only to loopback addresses (127.78.0.0/16 and 127.0.0.1).

NS=kx-fwd

fwd_pod() { # name app
	cat <<-YAML
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: $1, namespace: $NS, labels: {app: $2}}
	spec:
	  nodeName: $KX_TEST_NODE
	  containers: [{name: main, image: kx.invalid/fixture/fwd:1, ports: [{name: whoami, containerPort: 5}, {name: echo, containerPort: 7}]}]
	YAML
}

fwd_svc() { # name app ports-yaml
	cat <<-YAML
	---
	apiVersion: v1
	kind: Service
	metadata: {name: $1, namespace: $NS}
	spec:
	  selector: {app: $2}
	  ports: $3
	YAML
}

setup_file() {
	load helpers
	[ -n "${KUBECONFIG:-}" ] && [ -f "$KUBECONFIG" ] || return 0
	kubectl create namespace $NS >/dev/null 2>&1 || true
	{
		fwd_pod alpha-0 alpha
		fwd_pod beta-0 beta
		fwd_pod beta-1 beta
		fwd_pod gamma-0 gamma
		fwd_svc alpha alpha '[{name: whoami, port: 5, targetPort: 5}]'
		fwd_svc beta beta '[{name: whoami, port: 5, targetPort: whoami}, {name: echo-tcp, port: 7, targetPort: 7}]'
		fwd_svc lonely nobody '[{port: 5, targetPort: 5}]'
		cat <<-YAML
		---
		apiVersion: v1
		kind: Service
		metadata: {name: external, namespace: $NS}
		spec:
		  ports: [{port: 5}]
		YAML
	} | kubectl apply -f - >/dev/null
	kubectl -n $NS wait --for=condition=Ready pod --all --timeout=30s >/dev/null
}

teardown_file() {
	load helpers
	[ -n "${KUBECONFIG:-}" ] && [ -f "$KUBECONFIG" ] || return 0
	# The objects first (KWOK finalizes the pods), then the namespace; with no
	# controller-manager in the test cluster nothing empties a namespace being
	# deleted, so its finalizer is cleared here, as that controller would.
	kubectl -n $NS delete pod,svc --all --wait=false >/dev/null 2>&1 || true
	kubectl -n $NS wait --for=delete pod --all --timeout=30s >/dev/null 2>&1 || true
	kubectl delete namespace $NS --wait=false >/dev/null 2>&1 || true
	kubectl get namespace $NS -o json 2>/dev/null | jq '.spec.finalizers = []' |
		kubectl replace --raw /api/v1/namespaces/$NS/finalize -f - >/dev/null 2>&1 || true
}

setup() {
	load helpers
	need_cluster
	FWD_OUT=$BATS_TEST_TMPDIR/fwd.out
	FWD_ERR=$BATS_TEST_TMPDIR/fwd.err
	READY=$BATS_TEST_TMPDIR/ready.json
}

teardown() {
	[ -z "${FWD_PID:-}" ] || kill -INT "$FWD_PID" 2>/dev/null || true
	[ -z "${FWD_PID:-}" ] || wait "$FWD_PID" 2>/dev/null || true
	[ -z "${HOLD_PID:-}" ] || kill "$HOLD_PID" 2>/dev/null || true
	kubectl -n $NS delete svc gamma --ignore-not-found --wait=false >/dev/null 2>&1 || true
}

# start_fwd ARGS...: kx forward in the background with a ready file; waits (up
# to 10 s) for the file, fails with kx's stderr otherwise.
start_fwd() {
	rm -f "$READY"
	"$KX_BIN" forward --ready-file "$READY" "$@" >"$FWD_OUT" 2>"$FWD_ERR" &
	FWD_PID=$!
	for _ in $(seq 100); do
		[ -s "$READY" ] && return 0
		kill -0 "$FWD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$FWD_ERR"
	return 1
}

# addr SERVICE PORTNAME: ADDRESS:LOCALPORT from the ready file
addr() {
	jq -r --arg s "$1" --arg p "$2" \
		'.services[] | select(.name == $s) | .address + ":" + (.ports[] | select(.name == $p) | .local_port | tostring)' "$READY"
}

# through ADDRESS:PORT DATA: connect, send DATA, half-close, print what came back
through() {
	timeout 10 python3 - "$1" "$2" <<-'PY'
	import socket, sys
	host, port = sys.argv[1].rsplit(":", 1)
	s = socket.create_connection((host, int(port)), timeout=8)
	s.sendall(sys.argv[2].encode())
	s.shutdown(socket.SHUT_WR)
	got = b""
	while True:
	    b = s.recv(4096)
	    if not b:
	        break
	    got += b
	sys.stdout.write(got.decode(errors="replace"))
	PY
}

# who ADDRESS:PORT: the pod's name (the whoami port's first line), checking
# the rest is the line sent, echoed
who() {
	local got
	got=$(through "$1" $'ping\n') || return 1
	[ "$(sed -n 2p <<<"$got")" = ping ] && [ "$(wc -l <<<"$got")" -eq 2 ] || { echo "BAD $got"; return 0; }
	head -1 <<<"$got"
}

# echo7 ADDRESS:PORT: bytes through the pods' echo port come back
echo7() {
	through "$1" $'hello through beta\n'
}

wait_ready_has() { # jq-filter: wait up to 10 s until the ready file satisfies it
	for _ in $(seq 100); do
		[ "$(jq -r "$1" "$READY" 2>/dev/null)" = true ] && return 0
		sleep 0.1
	done
	cat "$READY" "$FWD_ERR"
	return 1
}

@test "forward -n: every Service's ports on its own loopback address, files right, a Service added and deleted later (websocket and spdy)" {
	for t in websocket spdy; do
		KX_TRANSPORT=$t start_fwd -n $NS --addresses 127.78.0.0/16 --port-offset 30000 \
			--env-file "$BATS_TEST_TMPDIR/env" --hosts-file "$BATS_TEST_TMPDIR/hosts"
		# The table: one row per port (beta has two), the skipped Service said so.
		run cat "$FWD_OUT"
		assert_line --index 0 --regexp '^SERVICE +PORT +LOCAL ADDRESS +POD PORT$'
		assert_line --regexp '^alpha +whoami/5 +127\.78\.[0-9]+\.[0-9]+:30005 +5$'
		assert_line --regexp '^beta +whoami/5 +127\.78\.[0-9]+\.[0-9]+:30005 +whoami$'
		assert_line --regexp '^beta +echo-tcp/7 +127\.78\.[0-9]+\.[0-9]+:30007 +7$'
		assert_line --regexp '^lonely +5 +127\.78\.[0-9]+\.[0-9]+:30005 +5$'
		refute_output --partial external
		grep -q "Skipping Service external: it has no selector" "$FWD_ERR"
		# The ready file: the forwarded Services, each on its own address.
		run jq -r '[.services[].name] | join(",")' "$READY"
		assert_output "alpha,beta,lonely"
		run jq -r '[.services[].address] | unique | length' "$READY"
		assert_output 3
		# Each Service's address reaches a pod of that Service (and only those).
		a=$(addr alpha whoami)
		b=$(addr beta whoami)
		e=$(addr beta echo-tcp)
		[ "${a%:*}" != "${b%:*}" ]
		[ "${b%:*}" = "${e%:*}" ]
		run who "$a"
		assert_output alpha-0
		seen=""
		for _ in 1 2 3 4; do
			run who "$b"
			assert_output --regexp '^beta-[01]$'
			seen="$seen $output"
		done
		# balanced: both of beta's pods answered
		[[ $seen == *beta-0* && $seen == *beta-1* ]]
		run echo7 "$e"
		assert_output "hello through beta"
		# The env file: SERVICE_PORT_ADDR, upper case, other characters as _.
		run cat "$BATS_TEST_TMPDIR/env"
		assert_line "ALPHA_WHOAMI_ADDR=$a"
		assert_line "BETA_WHOAMI_ADDR=$b"
		assert_line "BETA_ECHO_TCP_ADDR=$e"
		# The hosts fragment: the Service's address and its names.
		run cat "$BATS_TEST_TMPDIR/hosts"
		assert_line "${a%:*} alpha alpha.$NS alpha.$NS.svc alpha.$NS.svc.cluster.local"
		assert_line "${b%:*} beta beta.$NS beta.$NS.svc beta.$NS.svc.cluster.local"
		# A Service added later: forwarded, the files rewritten; deleted: it stops.
		fwd_svc gamma gamma '[{name: whoami, port: 5, targetPort: 5}]' | kubectl apply -f - >/dev/null
		wait_ready_has '[.services[].name] | index("gamma") != null'
		g=$(addr gamma whoami)
		[ "${g%:*}" != "${a%:*}" ] && [ "${g%:*}" != "${b%:*}" ]
		run who "$g"
		assert_output gamma-0
		grep -q "^GAMMA_WHOAMI_ADDR=$g\$" "$BATS_TEST_TMPDIR/env"
		grep -q "^Forwarding Service gamma:" "$FWD_OUT"
		kubectl -n $NS delete svc gamma --wait=false >/dev/null
		wait_ready_has '[.services[].name] | index("gamma") == null'
		grep -q "^Stopped forwarding Service gamma (deleted)" "$FWD_OUT"
		run who "$g"
		assert_failure
		# Ctrl-C: a clean end.
		kill -INT "$FWD_PID"
		rc=0
		wait "$FWD_PID" || rc=$?
		FWD_PID=
		assert_equal "$rc" 0
	done
}

@test "forward: a local port already taken (by another program, or by another Service on the same address) goes to a free port, said on stderr, in the table and in the files" {
	python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 31007)); s.listen(1); time.sleep(60)' &
	HOLD_PID=$!
	for _ in $(seq 50); do
		python3 -c 'import socket; socket.create_connection(("127.0.0.1", 31007), timeout=1)' 2>/dev/null && break
		sleep 0.1
	done
	# Both Services on 127.0.0.1: alpha (named first) gets 31005, beta cannot.
	start_fwd -n $NS svc/alpha svc/beta --port-offset 31000 --env-file "$BATS_TEST_TMPDIR/env"
	a=$(addr alpha whoami)
	assert_equal "$a" 127.0.0.1:31005
	run who "$a"
	assert_output alpha-0
	b=$(addr beta whoami)
	e=$(addr beta echo-tcp)
	grep -q "^Service beta: 127.0.0.1:31005 is taken; listening on $b instead" "$FWD_ERR"
	grep -q "^Service beta: 127.0.0.1:31007 is taken; listening on $e instead" "$FWD_ERR"
	[ "$b" != 127.0.0.1:31005 ] && [ "$e" != 127.0.0.1:31007 ] && [ "$b" != "$e" ]
	grep -q "^beta .*whoami/5 .*$b " "$FWD_OUT"
	grep -q "^BETA_ECHO_TCP_ADDR=$e\$" "$BATS_TEST_TMPDIR/env"
	run who "$b"
	assert_output --regexp '^beta-[01]$'
	run echo7 "$e"
	assert_output "hello through beta"
}

@test "forward: a selector that matches no pod waits with a message; a connection waits --pod-running-timeout, then closes (events say why)" {
	start_fwd -n $NS svc/lonely --pod-running-timeout 2s --events "$BATS_TEST_TMPDIR/ev"
	for _ in $(seq 50); do
		grep -q "no Ready pod" "$FWD_ERR" && break
		sleep 0.1
	done
	run cat "$FWD_ERR"
	assert_line "Service lonely: no Ready pod matches its selector (app=nobody) yet; connections wait up to 2.0s for one"
	l=$(jq -r '.services[0].address + ":" + (.services[0].ports[0].local_port | tostring)' "$READY")
	start=$(date +%s%N)
	run who "$l"
	took=$((($(date +%s%N) - start) / 1000000))
	echo "closed after $took ms: $output"
	[ "$took" -ge 1500 ] && [ "$took" -lt 6000 ]
	run jq -c 'select(.event == "connection_closed") | [.service, .end, .pod, .message]' "$BATS_TEST_TMPDIR/ev"
	assert_output '["lonely","error",null,"no Ready pod to forward to within --pod-running-timeout"]'
	run jq -c 'select(.event == "service_waiting") | .service' "$BATS_TEST_TMPDIR/ev"
	assert_output '"lonely"'
}

@test "forward --events: Services started, every connection opened and closed with its Service, pod and byte counts" {
	start_fwd -n $NS svc/alpha --port-offset 32000 --events "$BATS_TEST_TMPDIR/ev"
	run who 127.0.0.1:32005
	assert_output alpha-0
	for _ in $(seq 30); do
		grep -q connection_closed "$BATS_TEST_TMPDIR/ev" && break
		sleep 0.1
	done
	# every line: schema version 1, a time, an event name
	run jq -e -s 'all(.v == 1 and (.ts | test("Z$")) and (.event | type == "string"))' "$BATS_TEST_TMPDIR/ev"
	assert_success
	run jq -c 'select(.event == "service_started") | [.service, .address, .ports[0].local_port, .ports[0].target_port]' "$BATS_TEST_TMPDIR/ev"
	assert_output '["alpha","127.0.0.1",32005,"5"]'
	run jq -c 'select(.event == "connection_opened") | [.service, .id, .pod, .port]' "$BATS_TEST_TMPDIR/ev"
	assert_output '["alpha",1,"alpha-0",32005]'
	# 5 bytes sent; the pod's name line and the 5 bytes back
	run jq -c 'select(.event == "connection_closed") | [.service, .id, .pod, .bytes_from_client, .bytes_to_client, .end]' "$BATS_TEST_TMPDIR/ev"
	assert_output '["alpha",1,"alpha-0",5,13,"done"]'
	run jq -s '[.[] | select(.event == "ready")] | length' "$BATS_TEST_TMPDIR/ev"
	assert_output 1
}

@test "forward: bad input is one line and a non-zero exit, nothing listens" {
	run kx forward -n $NS --addresses 10.0.0.0/8
	assert_failure
	assert_output "error: --addresses 10.0.0.0/8: outside 127.0.0.0/8 (kx forward listens on loopback addresses only)"
	run kx forward -n $NS --addresses 127.0.0.0/4
	assert_failure
	assert_output --partial "the prefix length must be 8..32"
	run kx forward -n $NS --addresses nonsense
	assert_failure
	assert_output --partial "not an IPv4 range"
	run kx forward -n $NS svc/alpha svc/nope
	assert_failure
	assert_output 'Error from server (NotFound): services "nope" not found'
	run kx forward -n $NS deploy/web
	assert_failure
	assert_line --index 0 "error: deploy/web: kx forward takes Services (svc/NAME or NAME)"
	run kx forward -n $NS --port-offset 70000
	assert_failure
	assert_line --index 0 --partial "must be within -65535..65535"
}
