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
	kubectl delete pod,svc,deploy -l kx-test=balance --wait=false >/dev/null 2>&1 || true
	kubectl wait --for=delete pod -l kx-test=balance --timeout=30s >/dev/null 2>&1 || true
}

bal_pod() { # name app: a pod with the whoami-echo port, Ready about 1 s later
	kubectl apply -f - >/dev/null <<-YAML
	apiVersion: v1
	kind: Pod
	metadata: {name: $1, labels: {app: $2, kx-test: balance}}
	spec:
	  nodeName: $KX_TEST_NODE
	  containers: [{name: main, image: kx.invalid/fixture/bal:1, ports: [{name: whoami, containerPort: 5}]}]
	YAML
}

bal_service() { # the Service bal (port 5 -> the pods' port 5) and two Ready pods
	kubectl apply -f - >/dev/null <<-YAML
	apiVersion: v1
	kind: Service
	metadata: {name: bal, labels: {kx-test: balance}}
	spec:
	  selector: {app: bal}
	  ports: [{name: whoami, port: 5, targetPort: 5}]
	YAML
	bal_pod bal-a bal
	bal_pod bal-b bal
	kubectl wait --for=condition=Ready pod/bal-a pod/bal-b --timeout=30s >/dev/null
}

# whoami PORT N: N connections one after another; each sends a line, half-closes
# and must get back "POD\n" + the line. Prints "POD COUNT" lines and "failed N".
whoami() {
	timeout 120 python3 - "$1" "$2" <<-'PY'
	import collections, socket, sys
	port, n = int(sys.argv[1]), int(sys.argv[2])
	seen, failed = collections.Counter(), 0
	for i in range(n):
	    msg = b"hello %d\n" % i
	    try:
	        s = socket.create_connection(("127.0.0.1", port), timeout=10)
	        s.sendall(msg)
	        s.shutdown(socket.SHUT_WR)
	        got = b""
	        while True:
	            b = s.recv(4096)
	            if not b:
	                break
	            got += b
	        s.close()
	        pod, _, rest = got.partition(b"\n")
	        if rest != msg:
	            raise ValueError(got)
	        seen[pod.decode()] += 1
	    except Exception as e:
	        failed += 1
	for pod, k in sorted(seen.items()):
	    print(pod, k)
	print("failed", failed)
	PY
}

@test "svc/: 100 connections spread over both Ready pods (each >= 25%), websocket and spdy" {
	bal_service
	for t in websocket spdy; do
		KX_TRANSPORT=$t start_pf svc/bal :5
		p=$(local_port 5)
		run whoami "$p" 100
		echo "$t: $output"
		assert_line "failed 0"
		a=$(awk '$1 == "bal-a" {print $2}' <<<"$output")
		b=$(awk '$1 == "bal-b" {print $2}' <<<"$output")
		[ "${a:-0}" -ge 25 ] && [ "${b:-0}" -ge 25 ] || fail "$t: not spread: $output"
		# kubectl's stdout lines are unchanged
		assert_equal "$(grep -c "^Handling connection for $p\$" "$PF_OUT")" 100
		kill -INT "$PF_PID"
		wait "$PF_PID"
		PF_PID=
	done
}

@test "svc/ --pin: every connection to one pod (kubectl's behaviour)" {
	bal_service
	start_pf svc/bal :5 --pin
	run whoami "$(local_port 5)" 20
	assert_line "failed 0"
	assert_equal "$(grep -vc '^failed' <<<"$output")" 1
	grep -Eq '^bal-[ab] 20$' <<<"$output"
}

@test "a pod turned NotReady gets no new connections; its open connection finishes (drain), both transports" {
	bal_service
	for t in websocket spdy; do
		KX_TRANSPORT=$t start_pf svc/bal :5
		p=$(local_port 5)
		# A long connection: learn its pod from the first line, keep it open.
		coproc LONG { exec socat -t 30 - "TCP:127.0.0.1:$p"; }
		read -r -t 10 pod <&"${LONG[0]}"
		[[ $pod == bal-[ab] ]] || fail "$t: no pod name on the open connection: '$pod'"
		kubectl patch pod "$pod" --subresource=status --type=strategic \
			-p '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}' >/dev/null
		for _ in $(seq 100); do
			grep -qx "Pod $pod is not Ready: no new connections to it (open ones finish)" "$PF_ERR" && break
			sleep 0.1
		done
		grep -qx "Pod $pod is not Ready: no new connections to it (open ones finish)" "$PF_ERR" ||
			fail "$t: kx did not notice: $(cat "$PF_ERR")"
		run whoami "$p" 20
		echo "$t: $output"
		assert_line "failed 0"
		other=bal-a
		[ "$pod" = bal-b ] || other=bal-b
		assert_equal "$(grep -v '^failed' <<<"$output")" "$other 20"
		# The open connection on the NotReady pod still works, then ends cleanly.
		echo "still there" >&"${LONG[1]}"
		read -r -t 10 back <&"${LONG[0]}"
		assert_equal "$back" "still there"
		exec {LONG[1]}>&-
		wait "$LONG_PID"
		kubectl patch pod "$pod" --subresource=status --type=strategic \
			-p '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}' >/dev/null
		kill -INT "$PF_PID"
		wait "$PF_PID"
		PF_PID=
	done
}
