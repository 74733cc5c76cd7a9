# SPDX-License-Identifier: Apache-2.0
# kx forward (kx+): connections per second and p99 setup time (connect → the
# echo's first byte back) through a Service with 1, 2 and 4 Ready pods, kx
# balancing each connection over all of them (a session per pod), against
# kubectl port-forward svc/ on the same Service (one pod, whatever the count),
# same load, same run: 8 clients opening connections one after another for a few
# seconds each. Traffic to loopback only (the forwards' listeners). Sourced by
# bench/run (uses row, $KX, $KUBECTL, $root).
fw_dir=$(mktemp -d)
fw_secs=${KX_BENCH_FORWARD_SECONDS:-4}
fw_pod() { # name: a pod of the Service bench-fwd
	cat <<-YAML
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: $1, labels: {app: bench-fwd}}
	spec:
	  nodeName: ${KX_TEST_NODE:-kwok-node-0}
	  containers: [{name: main, image: kx.invalid/bench/fwd:1, ports: [{name: echo, containerPort: 7}]}]
	YAML
}
fw_load() { # port: "CONNS_PER_S P99_MS" for 8 clients, each connection: connect, 1 byte echoed, close
	python3 - "$1" "$fw_secs" <<-'PY'
	import socket, sys, threading, time
	port, secs = int(sys.argv[1]), float(sys.argv[2])
	times, errors, lock = [], [0], threading.Lock()
	end = time.perf_counter() + secs
	def client():
	    while time.perf_counter() < end:
	        t = time.perf_counter()
	        try:
	            s = socket.create_connection(("127.0.0.1", port), timeout=30)
	            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
	            s.sendall(b"x")
	            ok = s.recv(1) == b"x"
	            s.close()
	        except OSError:
	            ok = False
	        with lock:
	            if ok:
	                times.append((time.perf_counter() - t) * 1e3)
	            else:
	                errors[0] += 1
	start = time.perf_counter()
	th = [threading.Thread(target=client) for _ in range(8)]
	for x in th: x.start()
	for x in th: x.join()
	if errors[0] or not times:
	    sys.exit("forward benchmark: %d failed connections" % errors[0])
	times.sort()
	print("%.0f %.2f" % (len(times) / (time.perf_counter() - start), times[int(len(times) * 0.99) - 1]))
	PY
}
fw_wait_port() { # file sed-expression: the local port once the file shows it
	for _ in $(seq 100); do
		p=$(sed -nE "$2" "$1" 2>/dev/null | head -1)
		[ -n "$p" ] && { echo "$p"; return; }
		sleep 0.1
	done
}
{
	cat <<-YAML
	apiVersion: v1
	kind: Service
	metadata: {name: bench-fwd}
	spec:
	  selector: {app: bench-fwd}
	  ports: [{name: echo, port: 7, targetPort: echo}]
	YAML
	fw_pod bench-fwd-0
} | "$KUBECTL" apply -f - >/dev/null
fw_have=1
for fw_n in 1 2 4; do
	while [ "$fw_have" -lt "$fw_n" ]; do
		fw_pod "bench-fwd-$fw_have" | "$KUBECTL" apply -f - >/dev/null
		fw_have=$((fw_have + 1))
	done
	"$KUBECTL" wait --for=condition=Ready pod -l app=bench-fwd --timeout=60s >/dev/null
	"$KX" forward svc/bench-fwd --port-offset 0 >"$fw_dir/kx.out" 2>/dev/null &
	fw_kxpid=$!
	fw_kxp=$(fw_wait_port "$fw_dir/kx.out" 's/^bench-fwd +echo\/7 +127\.0\.0\.1:([0-9]+) .*/\1/p')
	"$KUBECTL" port-forward svc/bench-fwd :7 >"$fw_dir/kc.out" 2>/dev/null &
	fw_kcpid=$!
	fw_kcp=$(fw_wait_port "$fw_dir/kc.out" 's/^Forwarding from 127\.0\.0\.1:([0-9]+) -> 7$/\1/p')
	sleep 1 # kx: every pod's endpoint seen from the watch
	read -r fw_kx_rate fw_kx_p99 <<<"$(fw_load "$fw_kxp")"
	read -r fw_kc_rate fw_kc_p99 <<<"$(fw_load "$fw_kcp" || echo "0 0")"
	kill -INT "$fw_kxpid" "$fw_kcpid" 2>/dev/null || true
	wait "$fw_kxpid" "$fw_kcpid" 2>/dev/null || true
	row "forward svc/ ($fw_n Ready pod$([ "$fw_n" -gt 1 ] && echo s); kubectl: one of them): connections/s, 8 clients (higher is better)" conns/s \
		"$fw_kx_rate" "$fw_kc_rate"
	row "forward svc/ ($fw_n Ready pod$([ "$fw_n" -gt 1 ] && echo s)): p99 setup, connect → first byte back" ms \
		"$fw_kx_p99" "$fw_kc_p99"
done
"$KUBECTL" delete svc bench-fwd --ignore-not-found >/dev/null
"$KUBECTL" delete pod -l app=bench-fwd --wait=false >/dev/null
rm -rf "$fw_dir"
