#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Soak (issue 9): one `kx port-forward pod/web-0 :7` serves 10,000 connections
# (8 at a time, each echoing 32 bytes through the fixture's echo server and
# closing), on each transport. kx's RSS (VmRSS from /proc) is sampled after a
# warm-up of 1,000 connections and every 1,000 after; it may grow by less than
# SOAK_RSS_BOUND_KB (2 MiB) from the warm-up sample to the end, and kx must still
# serve afterwards.
#
# Why 2 MiB: each connection costs kx a fresh stream pair, a struct and buffers
# that grow to a few KiB; a leak of only 256 bytes per connection would add
# 9,000 x 256 B = 2.2 MiB over the measured part, so the bound catches any
# per-connection leak of that size or more. With at most 8 connections at once,
# the allocator's high-water mark is reached during the warm-up; what remains is
# malloc's arena noise (tens to a few hundred KiB), well below the bound.

setup() {
	load helpers
	load pf_helpers
	need_cluster
	[ -z "${KX_UNDER_VALGRIND:-}" ] || skip "RSS of a process under valgrind says nothing about kx's"
	PF_OUT=$BATS_TEST_TMPDIR/pf.out
	PF_ERR=$BATS_TEST_TMPDIR/pf.err
	SOAK_CONNS=${SOAK_CONNS:-10000}
	SOAK_RSS_BOUND_KB=${SOAK_RSS_BOUND_KB:-2048}
	# An ASan build keeps freed memory in a quarantine (256 MiB by default), which
	# would grow RSS by design: off, so the test measures kx, not the sanitizer.
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
}

teardown() {
	[ -z "${PF_PID:-}" ] || kill -INT "$PF_PID" 2>/dev/null || true
	[ -z "${PF_PID:-}" ] || wait "$PF_PID" 2>/dev/null || true
}

# soak TRANSPORT: the whole run on one transport; prints the samples.
soak() {
	KX_TRANSPORT=$1 start_pf pod/web-0 :7
	local p
	p=$(local_port 7)
	[ -n "$p" ]
	# Upper bound for the whole run: a stuck connection fails the test, it does
	# not hang the suite (each socket also has a 30 s timeout).
	run timeout 900 python3 - "$p" "$PF_PID" "$SOAK_CONNS" <<-'PY'
	import socket, sys, time
	from concurrent.futures import ThreadPoolExecutor
	port, pid, total = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
	def rss_kb():
	    for line in open(f"/proc/{pid}/status"):
	        if line.startswith("VmRSS:"):
	            return int(line.split()[1])
	def one(i):
	    msg = b"soak-%08d-0123456789abcdefghij" % i  # 32 bytes
	    try:
	        s = socket.create_connection(("127.0.0.1", port), timeout=30)
	        s.sendall(msg)
	        got = b""
	        while len(got) < len(msg):
	            b = s.recv(64)
	            if not b:
	                break
	            got += b
	        s.close()
	        return got == msg
	    except OSError as e:
	        print(f"connection {i}: {e}", file=sys.stderr)
	        return False
	failed, done, t0 = 0, 0, time.monotonic()
	print(f"rss_kb start {rss_kb()}")
	with ThreadPoolExecutor(8) as pool:
	    while done < total:
	        n = min(1000, total - done)
	        failed += sum(not ok for ok in pool.map(one, range(done, done + n)))
	        done += n
	        print(f"rss_kb after {done} {rss_kb()}", flush=True)
	print(f"failed {failed}")
	print(f"seconds {time.monotonic() - t0:.1f}")
	PY
	echo "# $1:" >&3
	printf '#   %s\n' "${lines[@]}" >&3
	assert_success
	assert_line "failed 0"
	local warm end growth
	warm=$(sed -n 's/^rss_kb after 1000 //p' <<<"$output")
	end=$(sed -n "s/^rss_kb after $SOAK_CONNS //p" <<<"$output")
	[ -n "$warm" ] && [ -n "$end" ]
	growth=$((end - warm))
	echo "#   growth after warm-up: $growth KiB (bound $SOAK_RSS_BOUND_KB KiB)" >&3
	[ "$growth" -lt "$SOAK_RSS_BOUND_KB" ] || fail "$1: RSS grew by $growth KiB after the warm-up (bound $SOAK_RSS_BOUND_KB KiB)"
	# still serving, and still the same process
	kill -0 "$PF_PID"
	run bash -c "echo after-soak | timeout 10 socat - TCP:127.0.0.1:$p"
	assert_output "after-soak"
}

@test "soak, WebSocket tunnel: 10,000 connections (SOAK_CONNS; 2,000 in make test under ASan) through one port-forward, RSS flat after warm-up" {
	soak websocket
}

@test "soak, SPDY/3.1: 10,000 connections (SOAK_CONNS; 2,000 in make test under ASan) through one port-forward, RSS flat after warm-up" {
	soak spdy
}
