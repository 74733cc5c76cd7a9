#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx port-forward against the real cluster (a SPDY/3.1 session — in the WebSocket
# tunnel by default, directly with KX_TRANSPORT=spdy — to KWOK's kubelet
# port-forward, forwarding to the fixture's echo/http servers), compared with
# kubectl where kubectl can do the same.

setup() {
	load pf_helpers
	pf_setup
}

teardown() {
	pf_teardown
}

@test "kubectl's messages: Forwarding from 127.0.0.1 and [::1], Handling connection for" {
	start_pf pod/web-0 :7
	p=$(local_port 7)
	[ -n "$p" ]
	grep -qx "Forwarding from \[::1\]:$p -> 7" "$PF_OUT"
	run bash -c "echo hello | timeout 10 socat - TCP:127.0.0.1:$p"
	assert_output "hello"
	grep -qx "Handling connection for $p" "$PF_OUT"
}

@test "Ctrl-C (SIGINT) ends the forward cleanly with exit 0" {
	start_pf pod/web-0 :7
	kill -INT "$PF_PID"
	rc=0
	wait "$PF_PID" || rc=$?
	PF_PID=
	assert_equal "$rc" 0
}

@test "bytes: 50 concurrent connections of 3 MiB each through the echo server, every byte checked" {
	start_pf pod/web-0 :7
	p=$(local_port 7)
	# Each client sends its 3 MiB and reads them back before it closes: no
	# half-close, because the kubelet side (KWOK, like containerd) closes a
	# forwarded connection 1 s after one direction ends, whatever is still in
	# flight — a slow machine would then lose the tail, and this test is about kx.
	run timeout 120 python3 - "$p" <<-'PY'
	import hashlib, os, socket, sys, threading
	port = int(sys.argv[1])
	results = [None] * 50
	def one(i):
	    blob = os.urandom(3 << 20)
	    s = socket.create_connection(("127.0.0.1", port), timeout=60)
	    threading.Thread(target=s.sendall, args=(blob,), daemon=True).start()
	    got = bytearray()
	    while len(got) < len(blob):
	        b = s.recv(1 << 20)
	        if not b:
	            break
	        got += b
	    s.close()
	    results[i] = hashlib.sha256(got).digest() == hashlib.sha256(blob).digest()
	threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
	for t in threads: t.start()
	for t in threads: t.join(90)
	print("%d of 50 intact" % sum(1 for r in results if r))
	PY
	assert_output "50 of 50 intact"
	# kx still serves afterwards
	run bash -c "echo after | timeout 10 socat - TCP:127.0.0.1:$p"
	assert_output "after"
}

@test "a big transfer both ways: 32 MiB through one connection, checked" {
	start_pf pod/web-0 :7
	p=$(local_port 7)
	head -c 33554432 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	got=$(timeout 60 socat -t 30 - "TCP:127.0.0.1:$p" <"$BATS_TEST_TMPDIR/big" | sha256sum | cut -d' ' -f1)
	assert_equal "$got" "$(sha256sum <"$BATS_TEST_TMPDIR/big" | cut -d' ' -f1)"
}

@test "one bad connection does not end the session (kubectl exits with 'lost connection to pod')" {
	start_pf pod/web-0 :99 :7
	bad=$(local_port 99)
	good=$(local_port 7)
	# a client that stays until the pod side has answered
	(sleep 3) | timeout 6 socat -t 5 - "TCP:127.0.0.1:$bad" || true
	grep -q "error: an error occurred forwarding $bad -> 99: .*${KX_TEST_DEAD_PORT:-18099}" "$PF_ERR"
	kill -0 "$PF_PID"
	run bash -c "echo still-here | timeout 10 socat - TCP:127.0.0.1:$good"
	assert_output "still-here"
}

@test "a client that half-closes at once still gets the error reported, on both transports" {
	transports="websocket spdy"
	pf_ws_tunnel || transports=spdy # a v1.30 server has no WebSocket tunnel to force
	for t in $transports; do
		KX_TRANSPORT=$t start_pf pod/web-0 :99
		bad=$(local_port 99)
		# a few bytes, then shutdown(SHUT_WR) right away; read until the end
		timeout 10 python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=8)
s.sendall(b"hello\n")
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass' "$bad" || true
		for _ in $(seq 30); do
			grep -q "an error occurred forwarding" "$PF_ERR" && break
			sleep 0.1
		done
		grep -q "^error: an error occurred forwarding $bad -> 99: .*${KX_TEST_DEAD_PORT:-18099}" "$PF_ERR" ||
			fail "$t: no error reported; stderr: $(cat "$PF_ERR")"
		kill -INT "$PF_PID"
		wait "$PF_PID" || true
		PF_PID=
	done
}

@test "svc/NAME with a named targetPort, random local port: the fixture's page" {
	start_pf svc/web :http
	p=$(local_port 80)
	[ -n "$p" ]
	run curl -fsS --max-time 10 "http://127.0.0.1:$p/"
	assert_output "kx fixture web"
}

@test "deploy/NAME forwards to a Ready pod of the deployment; named container port" {
	start_pf deploy/web :echo
	p=$(local_port 7)
	# -t 5: the answer may come from the pod whose session opens only now (balanced),
	# which under valgrind takes longer than socat's default half a second
	run bash -c "echo via-deploy | timeout 10 socat -t 5 - TCP:127.0.0.1:$p"
	assert_output "via-deploy"
}

@test "--address 127.0.0.1 listens there only; a port in use is a clear error" {
	start_pf pod/web-0 :7 --address 127.0.0.1
	p=$(local_port 7)
	refute grep -q '::1' "$PF_OUT"
	run kx port-forward pod/web-0 "$p:7" --address 127.0.0.1
	assert_failure 1
	# kx's cause, then kubectl's last line (scripts written for kubectl look for it)
	assert_line --index 0 "unable to listen on 127.0.0.1:$p: Address already in use"
	assert_line --index 1 "error: unable to listen on any of the requested ports: [{$p 7}]"
	assert_equal "${#lines[@]}" 2
	run kubectl port-forward pod/web-0 "$p:7" --address 127.0.0.1
	assert_failure 1
	assert_equal "${lines[-1]}" "error: unable to listen on any of the requested ports: [{$p 7}]"
}

@test "bad input: kubectl-like errors, nothing started" {
	run kx port-forward pod/web-0
	assert_failure 1
	assert_line --index 0 "error: TYPE/NAME and list of ports are required for port-forward"
	run kx port-forward pod/web-0 0
	assert_failure 1
	assert_output "error: remote port must be > 0"
	run kx port-forward pod/web-0 65536
	assert_failure 1
	assert_output --partial "error parsing remote port '65536'"
	run kx port-forward pod/web-0 a:80
	assert_failure 1
	assert_output --partial "error parsing local port 'a'"
	run kx port-forward pod/web-0 nope
	assert_failure 1
	assert_output "error: Pod 'web-0' does not have a named port 'nope'"
	assert_equal "$output" "$(kubectl port-forward pod/web-0 nope 2>&1)"
	run kx port-forward svc/web 81
	assert_failure 1
	assert_output "error: Service web does not have a service port 81"
	run kx port-forward foo/web 80
	assert_failure 1
	assert_output 'error: the server doesn'"'"'t have a resource type "foo"'
}

@test "--ready-file: written once every listener is up, with the real (random) ports" {
	rf=$BATS_TEST_TMPDIR/ready
	start_pf pod/web-0 :7 :80 --ready-file "$rf"
	for _ in $(seq 50); do [ -s "$rf" ] && break; sleep 0.1; done
	p7=$(local_port 7)
	p80=$(local_port 80)
	grep -qx "127.0.0.1 $p7 7" "$rf"
	grep -qx "::1 $p7 7" "$rf"
	grep -qx "127.0.0.1 $p80 80" "$rf"
	assert_equal "$(wc -l <"$rf")" 4
	# what a CI script does with it
	port=$(awk '$1 == "127.0.0.1" && $3 == 80 {print $2}' "$rf")
	run curl -fsS --max-time 10 "http://127.0.0.1:$port/"
	assert_output "kx fixture web"
}

# --- kx+: the forward that does not die ---------------------------------------
# These tests play the controller: they delete pods and create the replacements.

restore_pods() {
	kubectl apply -f "$KX_ROOT/tests/cluster/manifests/deployment-pods.yaml" >/dev/null
	kubectl apply -f "$KX_ROOT/tests/cluster/manifests/workloads.yaml" >/dev/null 2>&1 || true
	kubectl wait --for=condition=Ready pod -l app=web-deploy --timeout=30s >/dev/null
	kubectl wait --for=condition=Ready pod/solo --timeout=30s >/dev/null
}

echo_through() { # port text: the text back through the forward, within 15 s
	timeout 15 socat -t 5 - "TCP:127.0.0.1:$1" <<<"$2"
}

@test "survival (--pin): the deployment's pods are replaced; new connections reach the new pod, kx never restarts" {
	# --pin: one pod at a time, chosen again when it goes away (balancing, the
	# default for deploy/, is tested in port_forward_balance.bats).
	start_pf deploy/web :7 --pin
	p=$(local_port 7)
	assert_equal "$(echo_through "$p" before)" "before"
	kubectl delete pod web-deploy-a web-deploy-b --wait=false >/dev/null
	kubectl wait --for=delete pod/web-deploy-a pod/web-deploy-b --timeout=30s >/dev/null
	sed -e 's/web-deploy-a/web-deploy-new/' "$KX_ROOT/tests/cluster/manifests/deployment-pods.yaml" |
		awk 'BEGIN{RS="---"} NR==1' | kubectl apply -f - >/dev/null
	# kx may first move to the other old pod while it is being deleted; wait
	# (bounded) until it settles on the replacement.
	for _ in $(seq 150); do
		grep -qx "Forwarding to pod web-deploy-new" "$PF_ERR" && break
		sleep 0.1
	done
	got=$(echo_through "$p" after)
	kubectl delete pod web-deploy-new --wait=false >/dev/null
	restore_pods
	assert_equal "$got" "after"
	kill -0 "$PF_PID"
	grep -q "^Lost the pod" "$PF_ERR" || fail "no notice: $(cat "$PF_ERR")"
	grep -qx "Forwarding to pod web-deploy-new" "$PF_ERR" || fail "not on the new pod: $(cat "$PF_ERR")"
}

@test "survival: a bare pod/NAME waits for a pod of that name to be Running again" {
	start_pf pod/solo :80
	p=$(local_port 80)
	kubectl delete pod solo --wait=false >/dev/null
	kubectl wait --for=delete pod/solo --timeout=30s >/dev/null
	restore_pods
	run curl -fsS --max-time 15 --retry 3 --retry-all-errors "http://127.0.0.1:$p/"
	assert_output "kx fixture web"
	grep -qx "Forwarding to pod solo" "$PF_ERR"
}

@test "survival: KWOK (the kubelet) killed and restarted mid-forward: the forward recovers" {
	start_pf pod/web-0 :7
	p=$(local_port 7)
	assert_equal "$(echo_through "$p" before)" "before"
	"$KX_ROOT/tests/cluster/restart" kwok
	kubectl wait --for=condition=Ready node --all --timeout=30s >/dev/null
	got=""
	for _ in $(seq 20); do
		got=$(echo_through "$p" after 2>/dev/null) && [ "$got" = after ] && break
		sleep 0.5
	done
	assert_equal "$got" "after"
	kill -0 "$PF_PID"
}

@test "choosing a pod again against a slow API server: the loop runs on — connections held, SIGINT at once" {
	# The API server behind a relay that, once told to, holds every answer 3 s:
	# kx's re-resolution then waits on it, and meanwhile must still accept
	# connections (not leave them in the kernel's backlog) and obey Ctrl-C.
	slow=$BATS_TEST_TMPDIR/slow
	sp=$((20000 + RANDOM % 10000))
	python3 "$BATS_TEST_DIRNAME/slow-proxy.py" "$sp" "$KX_TEST_APISERVER_PORT" "$slow" 3 3>&- &
	SLOW_PID=$!
	for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$sp") 2>/dev/null && break; sleep 0.1; done
	start_pf --server "https://127.0.0.1:$sp" pod/solo :80
	p=$(local_port 80)
	touch "$slow"
	kubectl delete pod solo --wait=false >/dev/null
	for _ in $(seq 150); do grep -q "^Lost the pod" "$PF_ERR" && break; sleep 0.1; done
	grep -q "^Lost the pod" "$PF_ERR" || fail "kx did not notice the deletion: $(cat "$PF_ERR")"
	# kx now asks the (slow) API server for the pod again; a client connects meanwhile
	exec 5<>"/dev/tcp/127.0.0.1/$p"
	sleep 0.5
	backlog=$(ss -Hltn "sport = :$p" | awk '$2 > 0 {n++} END {print n+0}')
	assert_equal "$backlog" 0 # taken off the listener by kx's loop, held for the next pod
	ms=$(sigint_ms "$PF_PID")
	PF_PID=
	exec 5<&-
	kill "$SLOW_PID"
	restore_pods
	# The same measure on an idle forward, on this machine now: how long a Ctrl-C
	# and a process exit take anyway. Waiting on the API server may add < 100 ms.
	start_pf pod/web-0 :7
	idle=$(sigint_ms "$PF_PID")
	PF_PID=
	[ "$ms" -le $((idle + 100)) ] || fail "SIGINT took $ms ms to end kx while it chose a pod (idle: $idle ms)"
}

sigint_ms() { # pid: milliseconds from SIGINT to its exit
	local start
	start=$(date +%s%N)
	kill -INT "$1"
	wait "$1" || true
	echo $((($(date +%s%N) - start) / 1000000))
}

@test "--exit-on-pod-loss: kubectl's behaviour, exit 1 when the pod goes away" {
	start_pf pod/solo :80 --exit-on-pod-loss
	kubectl delete pod solo --wait=false >/dev/null
	rc=0
	timeout 20 tail --pid="$PF_PID" -f /dev/null || fail "kx did not exit"
	wait "$PF_PID" || rc=$?
	PF_PID=
	restore_pods
	assert_equal "$rc" 1
	grep -q "^error: lost connection to pod solo" "$PF_ERR"
}

@test "a Service without a selector and a UDP-only port: kubectl's refusals" {
	kubectl apply -f - >/dev/null <<-YAML
	apiVersion: v1
	kind: Service
	metadata: {name: noselector}
	spec:
	  ports: [{port: 80}]
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: udp-only}
	spec:
	  nodeName: $KX_TEST_NODE
	  containers: [{name: main, image: busybox, ports: [{name: dns, containerPort: 53, protocol: UDP}]}]
	YAML
	kubectl wait --for=condition=Ready pod/udp-only --timeout=20s >/dev/null
	run kx port-forward svc/noselector 80
	assert_failure 1
	assert_output --partial "invalid service 'noselector': Service is defined without a selector"
	run kx port-forward pod/udp-only 53
	k=$(kubectl port-forward pod/udp-only 53 2>&1 || true)
	kubectl delete svc noselector >/dev/null
	kubectl delete pod udp-only --wait=false >/dev/null
	assert_failure 1
	assert_output "error: UDP protocol is not supported for 53"
	assert_equal "$output" "$k"
}

@test "--address with a list: 127.0.0.1,::1 listens on both" {
	start_pf pod/web-0 :7 --address 127.0.0.1,::1
	p=$(local_port 7)
	grep -qx "Forwarding from \[::1\]:$p -> 7" "$PF_OUT"
	run bash -c "echo six | timeout 10 socat - TCP6:[::1]:$p"
	assert_output "six"
}

# ---- transports: the WebSocket tunnel (kubectl's default) and SPDY ----
# The whole file also runs with KX_TRANSPORT=spdy (tests/run-all); these tests
# pin which transport carried the session, from the server's own answer (-v=4
# prints the subprotocol the server chose).

pf_transport_line() { # the -v=4 line naming the session's transport
	grep '^port-forward: session over ' "$PF_ERR" | head -1
}

@test "transport: by default the session is a WebSocket tunnel (SPDY/3.1+portforward.k8s.io), SPDY/3.1 where the server has none (v1.30), bytes checked" {
	KX_TRANSPORT= start_pf -v=4 pod/web-0 :7
	if pf_ws_tunnel; then
		assert_equal "$(pf_transport_line)" "port-forward: session over websocket (SPDY/3.1+portforward.k8s.io)"
	else
		assert_equal "$(pf_transport_line)" "port-forward: session over spdy (portforward.k8s.io)"
	fi
	p=$(local_port 7)
	run timeout 60 python3 -c '
import hashlib, os, socket, sys
blob = os.urandom(4 << 20)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
import threading; threading.Thread(target=s.sendall, args=(blob,), daemon=True).start()
got = bytearray()
while len(got) < len(blob):
    b = s.recv(1 << 20)
    if not b: break
    got += b
print(hashlib.sha256(got).digest() == hashlib.sha256(blob).digest())' "$p"
	assert_output "True"
}

@test "transport: KX_TRANSPORT=spdy uses SPDY/3.1 directly (portforward.k8s.io)" {
	KX_TRANSPORT=spdy start_pf -v=4 pod/web-0 :7
	assert_equal "$(pf_transport_line)" "port-forward: session over spdy (portforward.k8s.io)"
	run bash -c "echo over-spdy | timeout 10 socat - TCP:127.0.0.1:$(local_port 7)"
	assert_output "over-spdy"
}

grant_pf_create_only() { # user "limited" may create pods/portforward (SPDY's POST) but not get it (WebSocket's GET)
	kubectl apply -f - >/dev/null <<-'YAML'
	apiVersion: rbac.authorization.k8s.io/v1
	kind: Role
	metadata: {name: pf-create-only, namespace: default}
	rules:
	- {apiGroups: [""], resources: ["pods/portforward"], verbs: ["create"]}
	---
	apiVersion: rbac.authorization.k8s.io/v1
	kind: RoleBinding
	metadata: {name: limited-pf-create-only, namespace: default}
	subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: limited}]
	roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pf-create-only}
	YAML
}
revoke_pf_create_only() {
	kubectl delete role/pf-create-only rolebinding/limited-pf-create-only --ignore-not-found >/dev/null
}

@test "transport: a refused WebSocket upgrade (403 for GET) falls back to SPDY, as kubectl does" {
	grant_pf_create_only
	KX_TRANSPORT= start_pf --context limited -v=4 pod/web-0 :7 || { revoke_pf_create_only; false; }
	line=$(pf_transport_line)
	run bash -c "echo fell-back | timeout 10 socat - TCP:127.0.0.1:$(local_port 7)"
	kill -INT "$PF_PID"; wait "$PF_PID" || true; PF_PID=
	# kubectl, same user, same cluster: it falls back too and forwards.
	"$KUBECTL" --context limited port-forward pod/web-0 :7 >"$PF_OUT.k" 2>&1 &
	kpid=$!
	for _ in $(seq 100); do grep -q '^Forwarding from 127' "$PF_OUT.k" && break; sleep 0.1; done
	kp=$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) -> 7$/\1/p' "$PF_OUT.k")
	kout=$(echo fell-back | timeout 10 socat - TCP:127.0.0.1:"$kp" || true)
	kill "$kpid"; wait "$kpid" || true
	revoke_pf_create_only
	assert_equal "$line" "port-forward: session over spdy (portforward.k8s.io)"
	assert_output "fell-back"
	assert_equal "$kout" "fell-back"
}

@test "transport: KX_TRANSPORT=websocket does not fall back: the server's Forbidden, exit 1" {
	grant_pf_create_only
	KX_TRANSPORT=websocket run kx --context limited port-forward pod/web-0 :7
	revoke_pf_create_only
	assert_failure 1
	assert_output 'Error from server (Forbidden): pods "web-0" is forbidden: User "limited" cannot get resource "pods/portforward" in API group "" in the namespace "default"'
}

@test "transport: KX_TRANSPORT with an unknown value is a one-line error" {
	KX_TRANSPORT=carrier-pigeon run kx port-forward pod/web-0 :7
	assert_failure 1
	assert_output "error: KX_TRANSPORT=carrier-pigeon: expected websocket, spdy or auto"
}
