# SPDX-License-Identifier: Apache-2.0
# Completion: time to answer `__complete exec ''` (pod names for `kx exec <TAB>`),
# kx vs kubectl, with the live server and with an unreachable one (a copy of the
# kubeconfig whose server is a dead port: connection refused) and with a silent
# one (accepts, never answers: kx answers at its 0.8 s budget, kubectl waits for
# its requests to time out, about a minute: one run of it). Sourced by bench/run.
row "completion: \`__complete exec ''\` (live server: pods listed)" ms \
	"$(median_ms "$KX" __complete exec '')" "$(median_ms "$KUBECTL" __complete exec '')"
dead_kc=$(mktemp)
sed -E "s#(server: *https://127\\.0\\.0\\.1:)[0-9]+#\\1${KX_TEST_DEAD_PORT:-18099}#" "$KUBECONFIG" >"$dead_kc"
row "completion: \`__complete exec ''\` (server unreachable: refused)" ms \
	"$(median_ms env KUBECONFIG="$dead_kc" "$KX" __complete exec '')" \
	"$(median_ms env KUBECONFIG="$dead_kc" "$KUBECTL" __complete exec '')"
row "completion: \`__complete -n ''\` (namespaces, live server)" ms \
	"$(median_ms "$KX" __complete -- -n '')" "$(median_ms "$KUBECTL" __complete -n '')"
silent_port=$(mktemp)
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1])); time.sleep(900)' "$silent_port" &
silent_pid=$!
for _ in $(seq 50); do [ -s "$silent_port" ] && break; sleep 0.1; done
silent_kc=$(mktemp)
sed -E "s#(server: *https://127\\.0\\.0\\.1:)[0-9]+#\\1$(cat "$silent_port")#" "$KUBECONFIG" >"$silent_kc"
row "completion: \`__complete exec ''\` (server silent: accepts, never answers)" ms \
	"$(runs=5 median_ms env KUBECONFIG="$silent_kc" "$KX" __complete exec '')" \
	"$(python3 -c 'import subprocess, sys, time
s = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
print("%.2f" % ((time.perf_counter() - s) * 1000))' env KUBECONFIG="$silent_kc" "$KUBECTL" __complete exec '')"
kill "$silent_pid" 2>/dev/null
rm -f "$dead_kc" "$silent_kc" "$silent_port"
