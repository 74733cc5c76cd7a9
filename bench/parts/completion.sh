# SPDX-License-Identifier: Apache-2.0
# Completion: time to answer `__complete exec ''` (pod names for `kx exec <TAB>`),
# kx vs kubectl, with the live server and with an unreachable one (a copy of the
# kubeconfig whose server is a dead port: connection refused). Sourced by bench/run.
row "completion: \`__complete exec ''\` (live server: pods listed)" ms \
	"$(median_ms "$KX" __complete exec '')" "$(median_ms "$KUBECTL" __complete exec '')"
dead_kc=$(mktemp)
sed -E "s#(server: *https://127\\.0\\.0\\.1:)[0-9]+#\\1${KX_TEST_DEAD_PORT:-18099}#" "$KUBECONFIG" >"$dead_kc"
row "completion: \`__complete exec ''\` (server unreachable: refused)" ms \
	"$(median_ms env KUBECONFIG="$dead_kc" "$KX" __complete exec '')" \
	"$(median_ms env KUBECONFIG="$dead_kc" "$KUBECTL" __complete exec '')"
row "completion: \`__complete -n ''\` (namespaces, live server)" ms \
	"$(median_ms "$KX" __complete -- -n '')" "$(median_ms "$KUBECTL" __complete -n '')"
rm -f "$dead_kc"
