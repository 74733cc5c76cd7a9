# SPDX-License-Identifier: Apache-2.0
# exec across many pods: `kx exec -l SELECTOR -- true` over 5 and 20 pods (one
# process, one loop, 10 sessions at a time) against what people write with
# kubectl — a serial shell loop of `kubectl exec`, and `xargs -P 10 kubectl exec`.
# The pods are created here (on KWOK's node) and deleted afterwards.
fan_runs=${KX_BENCH_FAN_RUNS:-5}
fan_pods() { # count: create pods bench-fan-1..count labelled bench-fan=COUNT
	for i in $(seq "$1"); do
		printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: bench-fan%s-%s, labels: {bench-fan: "%s"}}\nspec:\n  nodeName: %s\n  containers: [{name: main, image: kx.invalid/fixture/web:1}]\n---\n' \
			"$1" "$i" "$1" "${KX_TEST_NODE:-kwok-node-0}"
	done | "$KUBECTL" apply -f - >/dev/null
	"$KUBECTL" wait --for=condition=Ready pod -l "bench-fan=$1" --timeout=60s >/dev/null
}
saved_runs=$runs
runs=$fan_runs
for n in 5 20; do
	fan_pods "$n"
	names="$("$KUBECTL" get pods -l "bench-fan=$n" -o name | sed 's|^pod/||' | tr '\n' ' ')"
	kx_ms=$(median_ms "$KX" exec -l "bench-fan=$n" -- true)
	row "exec in $n pods: \`kx exec -l … -- true\` vs a serial loop of \`kubectl exec\`" ms "$kx_ms" \
		"$(median_ms sh -c "for p in $names; do \"$KUBECTL\" exec \$p -- true || exit 1; done")"
	row "exec in $n pods: \`kx exec -l … -- true\` vs \`xargs -P 10 kubectl exec\`" ms "$kx_ms" \
		"$(median_ms sh -c "echo $names | tr ' ' '\n' | grep . | xargs -P 10 -I{} \"$KUBECTL\" exec {} -- true")"
	"$KUBECTL" delete pod -l "bench-fan=$n" --grace-period=0 --force --wait=false >/dev/null 2>&1
done
runs=$saved_runs
