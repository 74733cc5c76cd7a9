#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx reach (kx+) against the real cluster: node ports on node addresses, a load
# balancer whose status the test fills in (standing in for a cloud controller),
# Ingresses routing to the service, checked field by field in -o json.

setup() {
	load helpers
	need_cluster
}

teardown() {
	[ -z "${WAIT_PID:-}" ] || kill "$WAIT_PID" 2>/dev/null || true
	kubectl delete svc t-reach-np t-reach-lb t-reach-hl t-reach-ext --ignore-not-found >/dev/null 2>&1 || true
	kubectl delete ingress t-reach-i1 t-reach-i2 --ignore-not-found >/dev/null 2>&1 || true
	kubectl delete node t-reach-node --ignore-not-found >/dev/null 2>&1 || true
}

# check JSON PYTHON: run python assertions with `r` = the JSON document
check() {
	python3 -c "import json,sys; r=json.loads(sys.argv[1]); $2" "$1" || { echo "$1"; return 1; }
}

# A second node with an ExternalIP (KWOK marks it Ready first; then the test sets
# its addresses and reads them back, so the expectation is what the API holds).
extra_node() {
	kubectl apply -f - >/dev/null <<-'YAML'
	apiVersion: v1
	kind: Node
	metadata: {name: t-reach-node, labels: {type: kx-test}}
	YAML
	kubectl wait --for=condition=Ready node/t-reach-node --timeout=20s >/dev/null
	kubectl patch node t-reach-node --subresource=status --type=merge \
		-p '{"status":{"addresses":[{"type":"InternalIP","address":"192.0.2.10"},{"type":"ExternalIP","address":"198.51.100.20"}]}}' >/dev/null
}

@test "NodePort: each node's ExternalIP, else InternalIP, as host:port and URL; cluster IP, proxy and port-forward" {
	extra_node
	run kx expose svc web --name t-reach-np --node-port 30301,30302
	assert_success
	cip=$(kubectl get svc t-reach-np -o jsonpath='{.spec.clusterIP}')
	internal=$(kubectl get node kwok-node-0 -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
	run kubectl get node t-reach-node -o jsonpath='{.status.addresses[?(@.type=="ExternalIP")].address}'
	assert_output "198.51.100.20"
	run kx reach svc/t-reach-np -o json
	assert_success
	local j=$output
	check "$j" "assert (r['namespace'], r['name'], r['type'], r['clusterIP'], r['dns']) == ('default', 't-reach-np', 'NodePort', '$cip', 't-reach-np.default.svc'), r"
	check "$j" "assert [a['address'] for a in r['clusterAddresses']] == ['$cip:80', '$cip:7'], r"
	check "$j" "assert [p['nodePort'] for p in r['ports']] == [30301, 30302], r"
	# kwok-node-0 has only an InternalIP; t-reach-node's ExternalIP wins over its InternalIP
	check "$j" "
np = sorted((e['node'], e['addressType'], e['address'], e['url'], e['port']) for e in r['nodePorts'])
assert np == sorted([
    ('kwok-node-0', 'InternalIP', '$internal:30301', 'http://$internal:30301', 80),
    ('kwok-node-0', 'InternalIP', '$internal:30302', 'http://$internal:30302', 7),
    ('t-reach-node', 'ExternalIP', '198.51.100.20:30301', 'http://198.51.100.20:30301', 80),
    ('t-reach-node', 'ExternalIP', '198.51.100.20:30302', 'http://198.51.100.20:30302', 7)]), np
assert '192.0.2.10' not in json.dumps(r), r"
	check "$j" "assert 'loadBalancer' not in r and r['ingresses'] == [] and r['externalIPs'] == [], r"
	check "$j" "assert [p['url'] for p in r['proxy']] == ['http://127.0.0.1:8001/api/v1/namespaces/default/services/t-reach-np:port-1/proxy/', 'http://127.0.0.1:8001/api/v1/namespaces/default/services/t-reach-np:port-2/proxy/'], r"
	check "$j" "assert [(p['port'], p['localPort'], p['command']) for p in r['portForward']] == [(80, 8080, 'kx port-forward -n default svc/t-reach-np 8080:80'), (7, 8007, 'kx port-forward -n default svc/t-reach-np 8007:7')], r"
	# the table says the same
	run kx reach svc/t-reach-np
	assert_success
	assert_line --regexp "^node-port +http://198\.51\.100\.20:30301 +80 +node t-reach-node \(ExternalIP\)$"
	assert_line --regexp "^cluster-ip +$cip:80 +80 +t-reach-np\.default\.svc$"
	assert_line --regexp "^port-forward +kx port-forward -n default svc/t-reach-np 8080:80 +80 +then localhost:8080$"
}

@test "LoadBalancer: <pending>, then --wait sees the address the test sets in its status" {
	run kx create service loadbalancer t-reach-lb --tcp=443:8443
	assert_success
	run kx reach svc/t-reach-lb -o json
	assert_success
	check "$output" "assert r['loadBalancer'] == {'addresses': [], 'pending': True}, r"
	run kx reach svc/t-reach-lb
	assert_line --regexp "^load-balancer +<pending> "
	out=$BATS_TEST_TMPDIR/wait.json
	"$KX_BIN" reach svc/t-reach-lb --wait --timeout=60s -o json -v=6 >"$out" 2>"$BATS_TEST_TMPDIR/wait.err" &
	WAIT_PID=$!
	# still waiting: nothing has an address yet
	sleep 3
	kill -0 "$WAIT_PID"
	kubectl patch svc t-reach-lb --subresource=status --type=merge \
		-p '{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.7"},{"hostname":"lb.example.com"}]}}}' >/dev/null
	rc=0
	wait "$WAIT_PID" || rc=$?
	WAIT_PID=
	assert_equal "$rc" 0
	# it waited on watches, not by polling: the Service was read once before the
	# 3 s wait and once after the change (a 0.5 s poll would have read it 6 times)
	reads=$(grep -c 'GET .*/services/t-reach-lb ' "$BATS_TEST_TMPDIR/wait.err" || true)
	[ "$reads" -le 2 ] || fail "the Service was read $reads times while waiting: $(cat "$BATS_TEST_TMPDIR/wait.err")"
	check "$(cat "$out")" "
lb = r['loadBalancer']
assert lb['pending'] is False, lb
assert lb['addresses'] == [
    {'port': 443, 'address': '203.0.113.7:443', 'url': 'https://203.0.113.7:443'},
    {'port': 443, 'address': 'lb.example.com:443', 'url': 'https://lb.example.com:443'}], lb"
}

@test "Ingresses: every rule routing to the service as a URL (TLS, host, path, the Ingress's address)" {
	run kx expose deploy web --name t-reach-np --port 80 --target-port http --type NodePort
	assert_success
	# i1: a host with TLS and a prefix path, plus a rule for another service
	run kx create ingress t-reach-i1 --rule='a.example.com/api*=t-reach-np:80,tls=cert-a' --rule='a.example.com/other=web:80'
	assert_success
	# i2: catch-all host, exact path, by the port's number; and a default backend
	run kx create ingress t-reach-i2 --rule='/static=t-reach-np:80' --default-backend=t-reach-np:80
	assert_success
	kubectl patch ingress t-reach-i1 --subresource=status --type=merge \
		-p '{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.50"}]}}}' >/dev/null
	run kx reach svc/t-reach-np -o json
	assert_success
	check "$output" "
ing = [(e['ingress'], e.get('host'), e['path'], e.get('pathType'), e['servicePort'], e['tls'], e['url'], e['addresses'], e['pending']) for e in r['ingresses']]
assert ing == [
    ('t-reach-i1', 'a.example.com', '/api', 'Prefix', 80, True, 'https://a.example.com/api', ['203.0.113.50'], False),
    ('t-reach-i2', None, '/static', 'Exact', 80, False, 'http://<pending>/static', [], True),
    ('t-reach-i2', None, '/', None, 80, False, 'http://<pending>/', [], True)], ing"
	# an address for i2 appears: --wait returns at once, and the catch-all URL uses it
	kubectl patch ingress t-reach-i2 --subresource=status --type=merge \
		-p '{"status":{"loadBalancer":{"ingress":[{"hostname":"edge.example.net"}]}}}' >/dev/null
	run kx reach svc/t-reach-np --wait --timeout=10s -o json
	assert_success
	check "$output" "assert [e['url'] for e in r['ingresses']] == ['https://a.example.com/api', 'http://edge.example.net/static', 'http://edge.example.net/'], r"
	run kx reach svc/t-reach-np
	assert_line --regexp "^ingress +https://a\.example\.com/api +80 +ingress/t-reach-i1 at 203\.0\.113\.50, prefix$"
}

@test "--wait for an Ingress address: an Ingress created and given an address while kx waits" {
	out=$BATS_TEST_TMPDIR/wait.json
	run kx create service clusterip t-reach-ext --tcp=8080:http
	assert_success
	"$KX_BIN" reach svc/t-reach-ext --wait --timeout=60s -o json >"$out" 2>&1 &
	WAIT_PID=$!
	run kx create ingress t-reach-i2 --rule='svc.example.com/=t-reach-ext:8080-http'
	assert_success
	kill -0 "$WAIT_PID"
	kubectl patch ingress t-reach-i2 --subresource=status --type=merge \
		-p '{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.60"}]}}}' >/dev/null
	rc=0
	wait "$WAIT_PID" || rc=$?
	WAIT_PID=
	assert_equal "$rc" 0
	check "$(cat "$out")" "assert [(e['url'], e['addresses']) for e in r['ingresses']] == [('http://svc.example.com/', ['203.0.113.60'])], r"
}

@test "headless and ExternalName services: DNS rows; bad input: one-line errors" {
	run kx create service clusterip t-reach-hl --clusterip=None
	assert_success
	run kx reach svc/t-reach-hl
	assert_success
	assert_line --regexp "^headless +t-reach-hl\.default\.svc "
	run kx create service externalname t-reach-ext --external-name=db.example.com
	assert_success
	run kx reach service/t-reach-ext -o json
	assert_success
	check "$output" "assert r['type'] == 'ExternalName' and r['externalName'] == 'db.example.com' and 'clusterAddresses' not in r, r"
	run kx reach svc/t-reach-nope
	assert_failure
	assert_output 'Error from server (NotFound): services "t-reach-nope" not found'
	run kx reach pod/web-0
	assert_failure
	assert_line --index 0 "error: pod/web-0 is not a service: use svc/NAME"
	run kx reach svc/web --timeout=banana
	assert_failure
	assert_line --index 0 "error: invalid --timeout banana"
	# nothing will give web an address: --wait ends with an error at the timeout
	run kx reach svc/web --wait --timeout=1s
	assert_failure
	assert_output "error: timed out waiting for a LoadBalancer or Ingress address of service/web"
}
