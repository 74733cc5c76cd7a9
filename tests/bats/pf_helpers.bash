# SPDX-License-Identifier: Apache-2.0
# Shared by the bats files that run `kx port-forward` in the background
# (port_forward.bats, port_forward_balance.bats, faults.bats). Each file's setup
# calls pf_setup (PF_OUT, PF_ERR); its teardown calls pf_teardown (ends PF_PID).

pf_setup() {
	load helpers
	need_cluster
	PF_OUT=$BATS_TEST_TMPDIR/pf.out
	PF_ERR=$BATS_TEST_TMPDIR/pf.err
}

pf_teardown() {
	[ -z "${PF_PID:-}" ] || kill -INT "$PF_PID" 2>/dev/null || true
	[ -z "${PF_PID:-}" ] || wait_pf || true
}

# wait_pf [SECONDS]: wait for kx port-forward ($PF_PID) to exit, at most SECONDS
# (default 20); returns its exit status, as `wait` does. A kx still running then
# has hung on its way out: it is killed and wait_pf fails saying so, instead of
# the suite waiting for ever.
wait_pf() {
	local i limit=${1:-20}
	for i in $(seq $((limit * 10))); do
		kill -0 "$PF_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$PF_PID" 2>/dev/null; then
		kill -9 "$PF_PID" 2>/dev/null
		wait "$PF_PID" 2>/dev/null
		PF_PID=
		echo "kx port-forward did not exit within $limit s; its stderr ends: $(tail -3 "$PF_ERR")" >&2
		return 1
	fi
	wait "$PF_PID"
}

# start_pf ARGS...: runs kx port-forward in the background and waits (up to
# 10 s) for its "Forwarding from" lines; fails with kx's stderr otherwise.
start_pf() {
	"$KX_BIN" port-forward "$@" >"$PF_OUT" 2>"$PF_ERR" &
	PF_PID=$!
	for _ in $(seq 100); do
		grep -q '^Forwarding from' "$PF_OUT" 2>/dev/null && break
		kill -0 "$PF_PID" 2>/dev/null || break
		sleep 0.1
	done
	sleep 0.2
	grep -q '^Forwarding from' "$PF_OUT" || { cat "$PF_ERR"; return 1; }
}

local_port() { # remote -> the local port of the first 127.0.0.1 line for it
	sed -nE "s/^Forwarding from 127\.0\.0\.1:([0-9]+) -> $1\$/\1/p" "$PF_OUT" | head -1
}

# pf_ws_tunnel: true when the API server has port-forward's WebSocket tunnel
# (Kubernetes 1.31 and later; tests/compat-apiserver runs these suites against
# v1.30, where clients fall back to SPDY/3.1). Asked once per test.
pf_ws_tunnel() {
	if [ -z "${PF_SERVER_MINOR:-}" ]; then
		PF_SERVER_MINOR=$(kubectl version -o json 2>/dev/null |
			python3 -c 'import json, re, sys; print(re.sub(r"\D", "", json.load(sys.stdin)["serverVersion"]["minor"]))')
	fi
	[ "${PF_SERVER_MINOR:-0}" -ge 31 ]
}
