#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Fault tests (issue 9): the API server killed with SIGKILL mid-forward and
# mid-exec, a pod deleted mid-transfer, a client that resets its connection
# mid-transfer, and a full disk under the discovery cache. Every wait is
# bounded; the cluster is put back in teardown whatever happened.

setup() {
	load pf_helpers
	pf_setup
	TMUX_SOCK="kx-faults-$$-$BATS_TEST_NUMBER"
}

teardown() {
	pf_teardown
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	[ -z "${REVIVE_API:-}" ] || revive_apiserver
	[ -z "${MNT:-}" ] || umount "$MNT" 2>/dev/null || true
}

revive_apiserver() {
	"$KX_ROOT/tests/cluster/restart" kube-apiserver --start
	REVIVE_API=
	for _ in $(seq 150); do
		kubectl get --raw /readyz >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "the API server did not come back" >&2
	return 1
}

echo_through() { # port text: the text back through the forward, trying for up to 30 s
	local out
	for _ in $(seq 60); do
		out=$(echo "$2" | timeout 3 socat - TCP:127.0.0.1:"$1" 2>/dev/null || true)
		[ "$out" = "$2" ] && { echo "$out"; return 0; }
		sleep 0.5
	done
	return 1
}

@test "kube-apiserver killed -9 mid-forward and restarted: the forward recovers (both transports)" {
	for tr in websocket spdy; do
		KX_TRANSPORT=$tr start_pf pod/web-0 :7
		p=$(local_port 7)
		run echo_through "$p" "before-$tr"
		assert_output "before-$tr"
		REVIVE_API=1
		"$KX_ROOT/tests/cluster/restart" kube-apiserver --kill
		sleep 1
		kill -0 "$PF_PID" || fail "$tr: kx exited when the API server died: $(cat "$PF_ERR")"
		revive_apiserver
		run echo_through "$p" "after-$tr"
		assert_output "after-$tr"
		grep -q '^Lost the pod' "$PF_ERR" || fail "$tr: no notice of the loss: $(cat "$PF_ERR")"
		kill -INT "$PF_PID"
		rc=0
		wait "$PF_PID" || rc=$?
		PF_PID=
		assert_equal "$rc" 0
	done
}

@test "kube-apiserver killed -9 under a balanced deploy/ forward and restarted: new connections reach both pods again" {
	# deploy/web balances over web-deploy-a and web-deploy-b (one session each);
	# pod port 5 answers with the pod's name (whoami-client.py).
	whoami() { timeout 60 python3 "$BATS_TEST_DIRNAME/whoami-client.py" "$1" --count 10 --size 16; }
	start_pf deploy/web :5
	p=$(local_port 5)
	run whoami "$p"
	assert_output "$(printf 'web-deploy-a 5\nweb-deploy-b 5\nconns 10 failed 0 bytes 160')"
	REVIVE_API=1
	"$KX_ROOT/tests/cluster/restart" kube-apiserver --kill
	sleep 1
	kill -0 "$PF_PID" || fail "kx exited when the API server died: $(cat "$PF_ERR")"
	revive_apiserver
	# the sessions broke with the API server; new ones open as connections come
	for _ in $(seq 30); do
		run whoami "$p"
		[ "${lines[-1]}" = "conns 10 failed 0 bytes 160" ] && break
		sleep 1
	done
	assert_output "$(printf 'web-deploy-a 5\nweb-deploy-b 5\nconns 10 failed 0 bytes 160')"
	grep -q '^Lost the connection to pod web-deploy-' "$PF_ERR" || fail "no notice of the loss: $(cat "$PF_ERR")"
	kill -INT "$PF_PID"
	rc=0
	wait "$PF_PID" || rc=$?
	PF_PID=
	assert_equal "$rc" 0
}

@test "kube-apiserver killed -9 mid-exec: exit 1 with a one-line error, not 0 (both transports)" {
	for tr in websocket spdy; do
		KX_TRANSPORT=$tr "$KX_BIN" exec web-0 -- sh -c 'echo started; sleep 30' \
			>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
		pid=$!
		for _ in $(seq 100); do grep -q started "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
		REVIVE_API=1
		"$KX_ROOT/tests/cluster/restart" kube-apiserver --kill
		timeout 20 tail --pid=$pid -f /dev/null || fail "$tr: kx did not exit"
		rc=0
		wait $pid || rc=$?
		assert_equal "$rc" 1
		assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/err")" 1
		grep -q '^error: ' "$BATS_TEST_TMPDIR/err" || fail "$tr: $(cat "$BATS_TEST_TMPDIR/err")"
		revive_apiserver
	done
}

@test "kube-apiserver killed -9 mid exec -it: non-zero exit and the terminal restored" {
	t() { tmux -L "$TMUX_SOCK" "$@"; }
	d=$BATS_TEST_TMPDIR
	t new-session -d -s kx -x 80 -y 24 "env -i PATH=$PATH HOME=$HOME TERM=xterm bash --norc --noprofile"
	t send-keys -t kx "export KUBECONFIG=$KUBECONFIG PS1='local\$ '" Enter
	t send-keys -t kx "stty -g > $d/before; $KX_BIN exec -it web-0 -- sh; echo \$? > $d/rc; stty -g > $d/after" Enter
	for _ in $(seq 100); do t capture-pane -p -t kx | grep -q '^#\( \|$\)' && break; sleep 0.2; done
	REVIVE_API=1
	"$KX_ROOT/tests/cluster/restart" kube-apiserver --kill
	for _ in $(seq 100); do [ -s "$d/after" ] && break; sleep 0.2; done
	[ -s "$d/after" ] || fail "kx did not exit: $(t capture-pane -p -t kx)"
	[ "$(cat "$d/rc")" -ne 0 ] || fail "exit 0 after losing the API server"
	assert_equal "$(cat "$d/after")" "$(cat "$d/before")"
}

@test "a pod deleted mid-transfer: that download ends (no hang), kx goes on to the new pod" {
	kubectl delete pod fault-pf --ignore-not-found --grace-period=0 --force >/dev/null 2>&1 || true
	mkpod() {
		kubectl apply -f - >/dev/null <<-YAML
		apiVersion: v1
		kind: Pod
		metadata: {name: fault-pf, labels: {app: fault-pf}}
		spec:
		  nodeName: $KX_TEST_NODE
		  containers: [{name: main, image: busybox, ports: [{containerPort: 19}, {containerPort: 7}]}]
		YAML
		kubectl wait --for=condition=Ready pod/fault-pf --timeout=30s >/dev/null
	}
	mkpod
	start_pf pod/fault-pf :19 :7
	src=$(local_port 19)
	echo_port=$(local_port 7)
	# An endless download from the byte source, then the pod goes away under it.
	python3 - "$src" >"$BATS_TEST_TMPDIR/dl" 2>&1 <<-'PY' &
	import socket, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
	s.sendall(b"%d\n" % (1 << 40))
	got = 0
	while True:
	    try:
	        b = s.recv(1 << 20)
	    except OSError as e:
	        print("ended: %s after %d bytes" % (e.__class__.__name__, got)); break
	    if not b:
	        print("ended: eof after %d bytes" % got); break
	    if not got:
	        print("flowing", flush=True)
	    got += len(b)
	PY
	dl=$!
	# mid-transfer means bytes are flowing: a connection kx has not put on the
	# pod's session yet rightly waits for the next pod instead of ending
	for _ in $(seq 150); do grep -q '^flowing' "$BATS_TEST_TMPDIR/dl" && break; sleep 0.2; done
	grep -q '^flowing' "$BATS_TEST_TMPDIR/dl" || fail "the download did not start: $(cat "$BATS_TEST_TMPDIR/dl" "$PF_ERR")"
	kubectl delete pod fault-pf --grace-period=0 --force >/dev/null 2>&1
	timeout 30 tail --pid=$dl -f /dev/null ||
		fail "the download did not end when its pod went away: $(cat "$PF_ERR")"
	grep -q '^ended: ' "$BATS_TEST_TMPDIR/dl"
	kill -0 "$PF_PID" || fail "kx exited: $(cat "$PF_ERR")"
	mkpod
	run echo_through "$echo_port" "new-pod"
	assert_output "new-pod"
	kubectl delete pod fault-pf --grace-period=0 --force >/dev/null 2>&1
}

@test "a client that resets its connection mid-transfer: kx keeps serving the others (both transports)" {
	for tr in websocket spdy; do
		KX_TRANSPORT=$tr start_pf pod/web-0 :19 :7
		src=$(local_port 19)
		run timeout 60 python3 - "$src" <<-'PY'
		import socket, struct, sys
		for i in range(20):
		    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
		    s.sendall(b"%d\n" % (1 << 30))
		    s.recv(65536)
		    # SO_LINGER 0: close sends RST instead of FIN
		    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
		    s.close()
		print("reset 20")
		PY
		assert_output "reset 20"
		run echo_through "$(local_port 7)" "still-$tr"
		assert_output "still-$tr"
		kill -INT "$PF_PID"; wait "$PF_PID" || true; PF_PID=
	done
}

@test "a full disk under the discovery cache: the command still works, the old cache is intact, no temp file left" {
	MNT=$BATS_TEST_TMPDIR/cache
	mkdir -p "$MNT"
	mount -t tmpfs -o size=256k tmpfs "$MNT" 2>/dev/null || { MNT=; skip "cannot mount a small tmpfs here"; }
	# leases are not among kx's built-in kinds: finding them needs discovery
	KUBECACHEDIR=$MNT run kx get leases -A -o name
	assert_success
	cache=$(find "$MNT" -name '*.json' -type f | head -1)
	[ -n "$cache" ] || fail "no discovery cache was written"
	assert_equal "$(stat -c %a "$cache")" 600
	assert_equal "$(stat -c %a "$(dirname "$cache")")" 700
	before=$(sha256sum <"$cache")
	# Fill the disk, and age the cache past its 6 h so kx refreshes and tries to write.
	dd if=/dev/zero of="$MNT/filler" bs=4k 2>/dev/null || true
	touch -d '7 hours ago' "$cache"
	KUBECACHEDIR=$MNT run kx get leases -A -o name
	assert_success
	assert_output "$(kubectl get leases -A -o name)"
	assert_equal "$(sha256sum <"$cache")" "$before"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$cache"
	run find "$MNT" -name '.*.json.*'
	assert_output ""
}
