#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Proves the test cluster with kubectl: pods, exec (exit codes, stdin EOF),
# port-forward (echo, sink, source, http through a service), logs, and the
# kubeconfig's contexts (client cert inline, token, exec plugin v1/v1beta1,
# limited RBAC, default namespace). Needs a running cluster:
#
#     tests/cluster/up && bats tests/cluster/smoke.bats
#
# It sources $KX_CLUSTER_STATE/env (default /tmp/kx-cluster-$UID/env). KUBECTL
# overrides the kubectl used (default: the pinned one, see tests/cluster/versions). Every command runs under `timeout`.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-60}

setup_file() {
	local env=${KX_CLUSTER_STATE:-/tmp/kx-cluster-$(id -u)}/env
	if [ ! -f "$env" ]; then
		echo "# no test cluster: $env is missing (run tests/cluster/up)" >&3
		return 1
	fi
}

setup() {
	# shellcheck disable=SC1090
	source "${KX_CLUSTER_STATE:-/tmp/kx-cluster-$(id -u)}/env"
	# shellcheck source=versions
	. "$BATS_TEST_DIRNAME/versions"
	K=${KUBECTL:-$KX_PINNED_KUBECTL}
	PY=python3
	[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
	PF_PID=
}

teardown() {
	if [ -n "$PF_PID" ]; then
		kill "$PF_PID" 2>/dev/null || true
		wait "$PF_PID" 2>/dev/null || true
	fi
}

kc() { timeout 30 "$K" --request-timeout=20s "$@"; }

# port_forward ARGS...: starts `kubectl port-forward ARGS` in the background and sets
# PORTS to the local ports it reports, in order ("Forwarding from 127.0.0.1:P -> R").
port_forward() {
	local out=$BATS_TEST_TMPDIR/pf.out want=$(($# - 1)) i
	timeout 60 "$K" port-forward "$@" > "$out" 2>&1 3>&- &
	PF_PID=$!
	for i in $(seq 100); do
		mapfile -t PORTS < <(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) -> .*/\1/p' "$out")
		[ "${#PORTS[@]}" -ge "$want" ] && return 0
		kill -0 "$PF_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "port-forward did not start:" >&2
	cat "$out" >&2
	return 1
}

# tcp PORT SEND [HALF_CLOSE]: connects to 127.0.0.1:PORT, sends SEND (Python bytes
# literal syntax), half-closes if asked, prints what comes back until EOF (10 s max).
tcp() {
	timeout 20 "$PY" - "$@" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(eval("b'" + sys.argv[2] + "'") if len(sys.argv) > 2 else b"")
if len(sys.argv) > 3:
    s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode("latin-1"))
EOF
}

@test "get pods lists web-0 Running with both containers ready" {
	run kc get pods
	assert_success
	assert_output --regexp 'web-0 +2/2 +Running'
	assert_output --regexp 'web-deploy-a +1/1 +Running'
	assert_output --regexp 'solo +1/1 +Running'
}

@test "node kwok-node-0 is Ready with InternalIP 127.0.0.1" {
	run kc get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.addresses[?(@.type=="InternalIP")].address}'
	assert_success
	assert_output 'True 127.0.0.1'
}

@test "exec web-0 -- echo ok prints ok" {
	run --separate-stderr kc exec web-0 -- echo ok
	assert_success
	assert_output ok
}

@test "exec passes the command's exit code (3)" {
	run kc exec web-0 -- sh -c 'exit 3'
	assert_failure 3
	assert_output --partial 'command terminated with exit code 3'
}

@test "exec -i passes stdin and its EOF" {
	run --separate-stderr bash -c "printf 'line one\nline two\n' | timeout 30 '$K' exec -i web-0 -- cat"
	assert_success
	assert_output "$(printf 'line one\nline two')"
}

@test "exec -c sidecar runs in the fixture's exec root" {
	run --separate-stderr kc exec web-0 -c sidecar -- pwd
	assert_success
	assert_output "$KX_TEST_EXEC_ROOT"
}

@test "port-forward pod/web-0 :7 echoes bytes back" {
	port_forward pod/web-0 :7
	run tcp "${PORTS[0]}" 'hello through the forward\n' half-close
	assert_success
	assert_output 'hello through the forward'
}

@test "port-forward: 5 MB through echo come back identical" {
	port_forward pod/web-0 :echo
	run timeout 30 "$PY" - "${PORTS[0]}" <<'EOF'
import hashlib, os, socket, sys, threading
data = os.urandom(5 * 1024 * 1024)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=send).start()
h, n = hashlib.sha256(), 0
while True:
    b = s.recv(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest() == hashlib.sha256(data).hexdigest())
EOF
	assert_success
	assert_output '5242880 True'
}

@test "port-forward: sink counts bytes, source sends as many as asked" {
	port_forward pod/web-0 :9 :19
	run tcp "${PORTS[0]}" 'twelve bytes' half-close
	assert_success
	assert_output '12'
	run bash -c "printf '1000\n' | timeout 10 socat -t 5 - TCP:127.0.0.1:${PORTS[1]} | wc -c"
	assert_success
	assert_output '1000'
}

@test "port-forward svc/web :80 returns the fixture page" {
	port_forward svc/web :80
	run timeout 10 curl -sS --max-time 8 "http://127.0.0.1:${PORTS[0]}/"
	assert_success
	assert_output 'kx fixture web'
}

@test "port-forward to pod port 99 (nothing listens) reports the dial error" {
	port_forward pod/web-0 :99
	run tcp "${PORTS[0]}" ''
	sleep 0.5
	run cat "$BATS_TEST_TMPDIR/pf.out"
	assert_output --partial 'failed to dial 127.0.0.1:'
}

@test "fixture echo server: 50 concurrent connections straight to it all echo at once" {
	# No forwarding at all: load tests must measure kx, not the fixture. With
	# socketserver's backlog of 5, a burst drops SYNs (a second or more per
	# retry) and some connections time out.
	run timeout 30 "$PY" - "$KX_TEST_ECHO_PORT" <<'EOF'
import socket, sys, threading, time
port, n = int(sys.argv[1]), 50
barrier = threading.Barrier(n)
res = [None] * n
def one(i):
    barrier.wait()
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            msg = b"connection %d\n" % i
            s.sendall(msg)
            got = s.makefile("rb").readline()
        res[i] = got == msg and time.monotonic() - t0 < 1.0
    except OSError:
        res[i] = False
threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("%d of %d echoed within 1 s" % (sum(1 for r in res if r), n))
EOF
	assert_success
	assert_output "50 of 50 echoed within 1 s"
}

@test "logs web-0 shows the fixture log" {
	run --separate-stderr kc logs web-0
	assert_success
	assert_line --index 0 'kx fixture log line 1'
	assert_line 'kx fixture log line 5'
}

@test "context admin-data (inline cert data) works" {
	run --separate-stderr kc --context admin-data get pod web-0 -o name
	assert_success
	assert_output pod/web-0
}

@test "context token works" {
	run --separate-stderr kc --context token auth whoami -o jsonpath='{.status.userInfo.username}'
	assert_success
	assert_output token-admin
	run --separate-stderr kc --context token get pods
	assert_success
	assert_output --partial web-0
}

@test "context exec (plugin, v1) works and the plugin runs" {
	export KX_PLUGIN_COUNT_FILE=$BATS_TEST_TMPDIR/count
	run --separate-stderr kc --context exec auth whoami -o jsonpath='{.status.userInfo.username}'
	assert_success
	assert_output exec-user
	run cat "$KX_PLUGIN_COUNT_FILE"
	assert_line --index 0 'run apiVersion=client.authentication.k8s.io/v1 interactive=false fixture_env=from-kubeconfig'
}

@test "context exec-beta (plugin, v1beta1) works" {
	export KX_PLUGIN_COUNT_FILE=$BATS_TEST_TMPDIR/count
	run --separate-stderr kc --context exec-beta get pods
	assert_success
	assert_output --partial web-0
	run cat "$KX_PLUGIN_COUNT_FILE"
	assert_line --index 0 --partial 'apiVersion=client.authentication.k8s.io/v1beta1'
}

@test "exec plugin returning a bad token gives Unauthorized" {
	KX_PLUGIN_TOKEN=not-a-token run kc --context exec get pods
	assert_failure
	assert_output --partial Unauthorized
}

@test "context limited: get pods ok, get services Forbidden" {
	run --separate-stderr kc --context limited get pods
	assert_success
	assert_output --partial web-0
	run kc --context limited get services
	assert_failure
	assert_output --partial Forbidden
}

@test "context demo defaults to namespace demo" {
	run --separate-stderr kc --context demo get pods -o name
	assert_success
	assert_output pod/demo-0
}

@test "an unknown token gives 401 Unauthorized" {
	run kc --context token --token expired-token get pods
	assert_failure
	assert_output --partial Unauthorized
}
