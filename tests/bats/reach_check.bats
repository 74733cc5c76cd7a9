#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx reach --check against the real cluster. The cluster has no kube-proxy, no
# cloud load balancer and no ingress controller, so the test stands them in with
# loopback HTTP(S) servers (reach-standin.py) and writes the Service's and the
# Ingresses' status to point at 127.0.0.1. Every address kx probes here is a
# loopback one: the only node's address is 127.0.0.1 (asserted before each
# check), load-balancer and Ingress addresses are 127.0.0.1, cluster IPs are not
# probed (no test passes --check-cluster-ip), and the API server's service proxy
# answers from its own side (the fixture's services have EndpointSlices only,
# no Endpoints objects, so it never dials a pod).

setup_file() {
	# a test CA and a certificate for good.reach.test, as an ingress controller would present
	local d=$BATS_FILE_TMPDIR
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 \
		-subj /CN=kx-reach-test-ca >/dev/null 2>&1
	openssl req -newkey rsa:2048 -nodes -keyout "$d/host.key" -out "$d/host.csr" \
		-subj /CN=good.reach.test >/dev/null 2>&1
	printf 'subjectAltName=DNS:good.reach.test\n' >"$d/ext"
	openssl x509 -req -in "$d/host.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-out "$d/host.crt" -days 2 -extfile "$d/ext" >/dev/null 2>&1
}

setup() {
	load helpers
	need_cluster
	CA=$BATS_FILE_TMPDIR/ca.crt
	STANDIN_PIDS=()
}

teardown() {
	local p
	for p in "${STANDIN_PIDS[@]}" ${WAIT_PID:-}; do kill "$p" 2>/dev/null || true; done
	kubectl delete --ignore-not-found svc/t-rc-pf svc/t-rc-nopod svc/t-rc-ok svc/t-rc-np svc/t-rc-nosel svc/t-rc-tp svc/t-rc-lb svc/t-rc-slow \
		ingress/t-rc-plain ingress/t-rc-tls ingress/t-rc-bad endpointslice/t-rc-ok-1 endpointslice/t-rc-np-1 endpointslice/t-rc-slow-1 \
		>/dev/null 2>&1 || true
}

# check JSON PYTHON: run python assertions with `r` = the JSON document
check() {
	python3 -c "import json,sys; r=json.loads(sys.argv[1]); $2" "$1" || { echo "$1"; return 1; }
}

# The loopback rule, checked rather than assumed: every node address kx would
# probe is 127.0.0.1 (reach.bats adds a node with documentation addresses and
# deletes it; make sure it is gone).
only_loopback_nodes() {
	kubectl delete node t-reach-node --ignore-not-found >/dev/null 2>&1 || true
	run kubectl get nodes -o jsonpath='{.items[*].status.addresses[*].address}'
	assert_success
	local a
	for a in $output; do [[ $a == 127.* ]] || fail "node address $a is not loopback"; done
}

# standin FILE SPEC...: start reach-standin.py, wait for its port file
standin() {
	local file=$1
	shift
	python3 "$BATS_TEST_DIRNAME/reach-standin.py" "$file" --cert "$BATS_FILE_TMPDIR/host.crt" \
		--key "$BATS_FILE_TMPDIR/host.key" "$@" 3>&- 2>>"$BATS_TEST_TMPDIR/standin.log" &
	STANDIN_PIDS+=($!)
	local i
	for i in $(seq 100); do [ -s "$file" ] && return 0; sleep 0.1; done
	fail "stand-in did not start"
}

# same_results TABLE JSON: every row of the table is a route (or finding) of the
# JSON with the same status and words, and the other way round (latencies are
# compared for form only: the two come from two runs)
same_results() {
	python3 - "$1" "$2" <<-'PY' || { echo "$1"; return 1; }
	import json, re, sys
	lines = sys.argv[1].splitlines()
	r = json.loads(sys.argv[2])
	head = lines[0]
	cols = [m.start() for m in re.finditer(r'\S+', head)]
	rows = set()
	for l in lines[1:]:
	    cells = [l[a:b].strip() for a, b in zip(cols, cols[1:] + [None])]
	    assert re.fullmatch(r'-|[0-9]+\.[0-9]ms', cells[4]), cells
	    rows.add((cells[0], cells[1], cells[3], cells[5]))
	want = {('ingress-backend' if f['check'] == 'ingressBackend' else 'target-port' if f['check'] == 'targetPort' else f['check'], f['object'], f['status'], f['message']) for f in r['findings']}
	for kind, lst, key in [('cluster-ip', r.get('clusterAddresses', []), 'address'), ('node-port', r['nodePorts'], 'url'), ('load-balancer', r.get('loadBalancer', {}).get('addresses', []), 'url'), ('ingress', r['ingresses'], 'url'), ('api-proxy', r['proxy'], 'url'), ('port-forward', r['portForward'], 'command')]:
	    for e in lst:
	        want.add((kind, e[key], e['check']['status'], e['check']['message']))
	assert rows == want, (rows ^ want)
	PY
}

# ingress_at NAME PORT: the Ingress's status, as its controller would write it:
# listening on 127.0.0.1:PORT
ingress_at() {
	kubectl patch ingress "$1" --subresource=status --type=merge -p \
		"{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"127.0.0.1\",\"ports\":[{\"port\":$2,\"protocol\":\"TCP\"}]}]}}}" >/dev/null
}

# A free port in the node-port range (the listener comes later).
free_node_port() {
	python3 -c '
import random, socket
for _ in range(200):
    p = random.randint(30000, 32767); s = socket.socket()
    try: s.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: s.close()'
}

# An EndpointSlice for SVC with one Ready endpoint at a fake pod address (the
# cluster has no EndpointSlice controller; nothing ever connects to 10.0.0.x).
endpoints_for() {
	kubectl apply -f - >/dev/null <<-YAML
	apiVersion: discovery.k8s.io/v1
	kind: EndpointSlice
	metadata: {name: $1-1, labels: {kubernetes.io/service-name: $1}}
	addressType: IPv4
	ports: [{name: http, port: 80, protocol: TCP}]
	endpoints: [{addresses: [10.0.0.250], conditions: {ready: true}, targetRef: {kind: Pod, name: web-deploy-a, namespace: default}}]
	YAML
}

# service_on_deploy NAME TYPE PORT NODEPORT: a service on the Deployment's pods
# (port http), with its endpoints
service_on_deploy() {
	kubectl apply -f - >/dev/null <<-YAML
	apiVersion: v1
	kind: Service
	metadata: {name: $1}
	spec:
	  type: $2
	  selector: {app: web-deploy}
	  ports: [{name: http, port: $3, targetPort: http, nodePort: $4}]
	YAML
	endpoints_for "$1"
}

@test "--check: node port, load balancer and Ingress URLs (plain and TLS) all answer; latency; JSON matches the table" {
	only_loopback_nodes
	pf=$BATS_TEST_TMPDIR/ports
	# kube-proxy on a node port and the cloud LB (any Host), and an ingress
	# controller with rules for two hosts (plain HTTP and TLS)
	standin "$pf" http:node http:0
	standin "$pf.ing" --host plain.reach.test --host good.reach.test http:0 https:0
	np=$(awk 'NR==1{print $2}' "$pf") lbp=$(awk 'NR==2{print $2}' "$pf")
	ingp=$(awk 'NR==1{print $2}' "$pf.ing") tlsp=$(awk 'NR==2{print $2}' "$pf.ing")
	service_on_deploy t-rc-ok LoadBalancer "$lbp" "$np"
	kubectl patch svc t-rc-ok --subresource=status --type=merge \
		-p '{"status":{"loadBalancer":{"ingress":[{"ip":"127.0.0.1"},{"hostname":"localhost"}]}}}' >/dev/null
	run kx create ingress t-rc-plain --rule="plain.reach.test/*=t-rc-ok:http"
	assert_success
	run kx create ingress t-rc-tls --rule="good.reach.test/*=t-rc-ok:http,tls=good"
	assert_success
	ingress_at t-rc-plain "$ingp"
	ingress_at t-rc-tls "$tlsp"
	run kx reach svc/t-rc-ok --check --check-ca "$CA" --check-routes=node-port,load-balancer,ingress -o json
	assert_success
	local j=$output
	check "$j" "
routes = [('node-port', e) for e in r['nodePorts']] + [('load-balancer', e) for e in r['loadBalancer']['addresses']] + [('ingress', e) for e in r['ingresses']]
assert len(routes) == 5, routes
for kind, e in routes:
    c = e['check']
    assert c['status'] == 'ok' and c['layer'] == 'http' and 0 < c['latencyMs'] < 3000, (kind, e)
    assert 0 <= c['connectMs'] <= c['latencyMs'], (kind, e)
# DNS is timed apart from the connection, for names only (localhost: /etc/hosts, loopback)
lb = r['loadBalancer']['addresses']
assert lb[1]['address'] == 'localhost:$lbp' and 0 <= lb[1]['check']['dnsMs'] <= lb[1]['check']['latencyMs'], lb
assert 'dnsMs' not in lb[0]['check'] and 'dnsMs' not in r['nodePorts'][0]['check'], r
assert r['nodePorts'][0]['check']['message'] == 'HTTP 200 from 127.0.0.1', r['nodePorts']
assert [e['url'] for e in r['ingresses']] == ['http://plain.reach.test:$ingp/', 'https://good.reach.test:$tlsp/'], r['ingresses']
assert r['ingresses'][1]['check']['message'] == 'HTTP 200 from 127.0.0.1:$tlsp', r['ingresses']
assert [(f['check'], f['status']) for f in r['findings']] == [('selector', 'ok'), ('endpoints', 'ok')], r['findings']
assert all(e['check']['status'] == 'skipped' for e in r['proxy'] + r['portForward'] + r['clusterAddresses']), r
assert r['checkSummary'] == {'mode': 'all', 'pass': True, 'routesOk': 5, 'routesFailed': 0, 'findingsFailed': 0}, r['checkSummary']"
	# the table: the same rows, STATUS and LATENCY, in the JSON's words
	run kx reach svc/t-rc-ok --check --check-ca "$CA" --check-routes=node-port,load-balancer,ingress
	assert_success
	assert_line --regexp "^ROUTE +ADDRESS +PORT +STATUS +LATENCY +NOTE$"
	assert_line --regexp "^node-port +http://127\.0\.0\.1:$np +$lbp +ok +[0-9]+\.[0-9]ms +HTTP 200 from 127\.0\.0\.1$"
	assert_line --regexp "^load-balancer +http://127\.0\.0\.1:$lbp +$lbp +ok +[0-9]+\.[0-9]ms +HTTP 200 from 127\.0\.0\.1:$lbp$"
	assert_line --regexp "^load-balancer +http://localhost:$lbp +$lbp +ok +[0-9]+\.[0-9]ms +HTTP 200 from localhost:$lbp$"
	assert_line --regexp "^ingress +https://good\.reach\.test:$tlsp/ +$lbp +ok +[0-9]+\.[0-9]ms +HTTP 200 from 127\.0\.0\.1:$tlsp$"
	assert_line --regexp "^selector +svc/t-rc-ok +ok +- +selector app=web-deploy matches 2 pods$"
	assert_line --regexp "^port-forward +kx port-forward .* +skipped +- +not checked: not among --check-routes$"
	# every route (7): the API server's proxy answers from its own side, as it
	# answers kubectl (404); port-forward goes through an in-process forward to a
	# Ready pod of the Service (its HTTP file server, over loopback). So "all"
	# fails and "any" passes.
	run kubectl get --raw "/api/v1/namespaces/default/services/t-rc-ok:http/proxy/"
	assert_failure
	assert_output 'Error from server (NotFound): services "t-rc-ok" not found'
	run kx reach svc/t-rc-ok --check --check-ca "$CA" -o json
	assert_failure
	check "$(sed '$d' <<<"$output")" "
p = r['proxy'][0]['check']
assert (p['status'], p['layer'], p['message']) == ('failed', 'api', 'the API server answered 404: services \"t-rc-ok\" not found (no Endpoints object for the service)'), p
f = r['portForward'][0]['check']
assert (f['status'], f['layer']) == ('ok', 'port-forward') and f['message'] in ('HTTP 200 through port-forward from pod web-deploy-a', 'HTTP 200 through port-forward from pod web-deploy-b') and 0 < f['latencyMs'] < 3000, f
assert r['checkSummary'] == {'mode': 'all', 'pass': False, 'routesOk': 6, 'routesFailed': 1, 'findingsFailed': 0}, r['checkSummary']"
	assert_line "error: 1 of 7 routes to service/t-rc-ok failed"
	local j=$output table
	run kx reach svc/t-rc-ok --check=any --check-ca "$CA"
	assert_success
	table=$output
	same_results "$table" "$(sed '$d' <<<"$j")"
	assert_line --regexp "^api-proxy +http://127\.0\.0\.1:8001/.* +failed +[0-9.]+ms +the API server answered 404: services \"t-rc-ok\" not found \(no Endpoints object for the service\)$"
}

@test "--check names each failure: nothing on the node port, wrong certificate, HTTP 404 from the ingress, no Ingress address, LB pending" {
	only_loopback_nodes
	pf=$BATS_TEST_TMPDIR/ports
	standin "$pf" --host plain.reach.test --host good.reach.test http:0 https:0
	ingp=$(awk 'NR==1{print $2}' "$pf") tlsp=$(awk 'NR==2{print $2}' "$pf")
	np=$(free_node_port)
	service_on_deploy t-rc-ok LoadBalancer 80 "$np"
	# bad.reach.test: TLS, but the controller's certificate is for good.reach.test;
	# t-rc-plain: no address yet
	run kx create ingress t-rc-tls --rule="bad.reach.test/=t-rc-ok:80,tls=x"
	assert_success
	run kx create ingress t-rc-plain --rule="plain.reach.test/=t-rc-ok:80"
	assert_success
	ingress_at t-rc-tls "$tlsp"
	run kx reach svc/t-rc-ok --check --check-ca "$CA" --check-timeout=2s -o json
	assert_failure
	local j
	j=$(sed '$d' <<<"$output")
	check "$j" "
c = {e['url']: (e['check']['status'], e['check']['layer'], e['check']['message']) for e in r['nodePorts'] + r['ingresses']}
assert c['http://127.0.0.1:$np'] == ('failed', 'tcp', 'node port $np refused on 127.0.0.1 (is kube-proxy running?)'), c
assert c['https://bad.reach.test:$tlsp/'] == ('failed', 'tls', 'TLS: certificate not valid for bad.reach.test'), c
assert c['http://plain.reach.test/'] == ('failed', 'ingress', 'Ingress has no address (no controller?)'), c
assert r['loadBalancer']['check'] == {'status': 'failed', 'layer': 'load-balancer', 'message': 'load balancer pending (no address yet)'}, r['loadBalancer']"
	run kx reach svc/t-rc-ok --check --check-ca "$CA"
	assert_failure
	assert_line --regexp "^node-port +http://127\.0\.0\.1:$np +80 +failed +[0-9.]+ms +node port $np refused on 127\.0\.0\.1 \(is kube-proxy running\?\)$"
	assert_line --regexp "^load-balancer +<pending> +failed +- +load balancer pending \(no address yet\)$"
	assert_line --regexp "^ingress +https://bad\.reach\.test:$tlsp/ +80 +failed +[0-9.]+ms +TLS: certificate not valid for bad\.reach\.test$"
	# every route from outside fails; port-forward still reaches the Deployment's pods
	assert_line --regexp "^port-forward +kx port-forward -n default svc/t-rc-ok 8080:80 +80 +ok +[0-9.]+ms +HTTP 200 through port-forward from pod web-deploy-[ab]$"
	assert_line "error: 5 of 6 routes to service/t-rc-ok failed"
	# the plain-HTTP ingress answers, but has no rule for other.reach.test: its 404 is the finding
	kubectl patch ingress t-rc-plain --type=merge \
		-p '{"spec":{"rules":[{"host":"other.reach.test","http":{"paths":[{"path":"/","pathType":"Exact","backend":{"service":{"name":"t-rc-ok","port":{"number":80}}}}]}}]}}' >/dev/null
	ingress_at t-rc-plain "$ingp"
	run kx reach svc/t-rc-ok --check --check-ca "$CA" --check-routes=ingress
	assert_failure
	assert_line --regexp "^ingress +http://other\.reach\.test:$ingp/ +80 +failed +[0-9.]+ms +HTTP 404 from the ingress at 127\.0\.0\.1:$ingp$"
	# without the test CA the good host's certificate is from an unknown authority
	kubectl patch ingress t-rc-tls --type=json -p '[{"op":"replace","path":"/spec/rules/0/host","value":"good.reach.test"},{"op":"replace","path":"/spec/tls/0/hosts/0","value":"good.reach.test"}]' >/dev/null
	run kx reach svc/t-rc-ok --check --check-routes=ingress
	assert_line --regexp "^ingress +https://good\.reach\.test:$tlsp/ +80 +failed +[0-9.]+ms +TLS: x509: certificate signed by unknown authority \(for good\.reach\.test\)$"
	run kx reach svc/t-rc-ok --check --check-routes=ingress --check-ca "$CA"
	assert_line --regexp "^ingress +https://good\.reach\.test:$tlsp/ +80 +ok +"
}

@test "--check's port-forward route: through an in-process forward to a Ready pod; a pod port that refuses, a selector with no Ready pod" {
	kubectl apply -f - >/dev/null <<-YAML
	apiVersion: v1
	kind: Service
	metadata: {name: t-rc-pf}
	spec:
	  selector: {app: web-deploy}
	  ports: [{name: echo, port: 7, targetPort: 7}, {name: dead, port: 99, targetPort: 99}]
	---
	apiVersion: v1
	kind: Service
	metadata: {name: t-rc-nopod}
	spec:
	  selector: {app: kx-no-pod-has-this}
	  ports: [{name: tcp, port: 5}]
	YAML
	run kx reach svc/t-rc-pf --check --check-routes=port-forward
	assert_failure
	assert_line --regexp "^port-forward +kx port-forward -n default svc/t-rc-pf 8007:7 +7 +ok +[0-9.]+ms +TCP connect through port-forward to pod web-deploy-[ab] \(the kubelet reported no error\)$"
	assert_line --regexp "^port-forward +kx port-forward -n default svc/t-rc-pf 8099:99 +99 +failed +[0-9.]+ms +pod web-deploy-[ab] refused the connection: .*failed to dial.*$"
	assert_line "error: 1 of 2 routes to service/t-rc-pf failed, and the static checks found problems" # no EndpointSlice
	start=$(date +%s%N)
	run kx reach svc/t-rc-nopod --check --check-routes=port-forward --check-timeout=1s
	ms=$((($(date +%s%N) - start) / 1000000))
	assert_failure
	assert_line --regexp "^port-forward +kx port-forward -n default svc/t-rc-nopod 8005:5 +5 +failed +[0-9.]+ms +no Ready pod behind the service within 1\.0s$"
	[ "$ms" -lt 5000 ] || fail "took $ms ms"
}

@test "--check static findings: selector matches no pod, no Ready endpoints, targetPort not declared, Ingress backend to a missing service or port" {
	run kx create service clusterip t-rc-nosel --tcp=80:80
	assert_success
	kubectl patch svc t-rc-nosel --type=merge -p '{"spec":{"selector":{"app":"t-rc-nobody"}}}' >/dev/null
	run kx reach svc/t-rc-nosel --check -o json
	assert_failure
	check "$(sed '$d' <<<"$output")" "assert [(f['check'], f['status'], f['object'], f['message']) for f in r['findings']] == [
    ('selector', 'failed', 'svc/t-rc-nosel', 'selector app=t-rc-nobody matches no pod'),
    ('endpoints', 'failed', 'svc/t-rc-nosel', 'no Ready endpoints behind the service')], r['findings']"
	run kx reach svc/t-rc-nosel --check
	assert_failure
	assert_line --index 1 --regexp "^selector +svc/t-rc-nosel +failed +- +selector app=t-rc-nobody matches no pod$"
	assert_line --index 2 --regexp "^endpoints +svc/t-rc-nosel +failed +- +no Ready endpoints behind the service$"
	# web-0 (app=web) declares http, echo, sink and source, not metrics
	kubectl apply -f - >/dev/null <<-'YAML'
	apiVersion: v1
	kind: Service
	metadata: {name: t-rc-tp}
	spec:
	  selector: {app: web}
	  ports: [{name: http, port: 80, targetPort: http}, {name: metrics, port: 9090, targetPort: metrics}]
	YAML
	run kx create ingress t-rc-bad --rule="a.reach.test/=t-rc-tp:80" --rule="a.reach.test/gone=t-rc-missing:80" \
		--rule="a.reach.test/wrong=t-rc-tp:8080"
	assert_success
	run kx reach svc/t-rc-tp --check -o json
	assert_failure
	check "$(sed '$d' <<<"$output")" "assert [(f['check'], f['status'], f['object'], f['message']) for f in r['findings']] == [
    ('selector', 'ok', 'svc/t-rc-tp', 'selector app=web matches 1 pod'),
    ('targetPort', 'failed', 'svc/t-rc-tp', 'targetPort metrics not declared by pod web-0'),
    ('endpoints', 'failed', 'svc/t-rc-tp', 'no Ready endpoints behind the service'),
    ('ingressBackend', 'failed', 'ingress/t-rc-bad', 'a.reach.test/gone sends traffic to service t-rc-missing, which does not exist'),
    ('ingressBackend', 'failed', 'ingress/t-rc-bad', 'a.reach.test/wrong sends traffic to port 8080 of service t-rc-tp, which it does not have')], r['findings']"
	run kx reach svc/t-rc-tp --check
	assert_line --regexp "^target-port +svc/t-rc-tp +failed +- +targetPort metrics not declared by pod web-0$"
	assert_line --regexp "^ingress-backend +ingress/t-rc-bad +failed +- +a\.reach\.test/gone sends traffic to service t-rc-missing, which does not exist$"
}

@test "--check=any: exit 1 when nothing answers, 0 when one route does; bad options are one-line errors" {
	only_loopback_nodes
	np=$(free_node_port)
	run kx create service nodeport t-rc-np --tcp=80:80 --node-port="$np"
	assert_success
	run kx reach svc/t-rc-np --check=any --check-routes=node-port
	assert_failure
	assert_line "error: no route to service/t-rc-np answered"
	pf=$BATS_TEST_TMPDIR/ports
	standin "$pf" "http:$np"
	# (1 s each: port-forward waits that long for a Ready pod, and none comes)
	run kx reach svc/t-rc-np --check=any --check-timeout=1s
	assert_success
	assert_line --regexp "^node-port +http://127\.0\.0\.1:$np +80 +ok +"
	# "all": the selector (app=t-rc-np) matches nothing, so the service fails as a
	# whole, and its port-forward route has no pod to go to
	run kx reach svc/t-rc-np --check --check-timeout=1s
	assert_failure
	assert_line --regexp "^port-forward +kx port-forward -n default svc/t-rc-np 8080:80 +80 +failed +[0-9.]+ms +no Ready pod behind the service within 1\.0s$"
	assert_line --regexp "^error: 2 of 3 routes to service/t-rc-np failed, and the static checks found problems$"
	run kx reach svc/t-rc-np --check=some
	assert_failure
	assert_line --index 0 'error: invalid argument "some" for "--check" flag: must be one of: all, any'
	run kx reach svc/t-rc-np --check --check-routes=node-port,tunnel
	assert_failure
	assert_line --index 0 "error: --check-routes: unknown route tunnel (one of: cluster-ip, node-port, load-balancer, external-ip, ingress, api-proxy, port-forward)"
	run kx reach svc/t-rc-np --check --check-timeout=never
	assert_failure
	assert_line --index 0 "error: invalid --check-timeout never"
}

@test "--check-timeout: a node port that takes the connection but never answers fails at the timeout, named as such" {
	only_loopback_nodes
	np=$(free_node_port)
	service_on_deploy t-rc-slow NodePort 80 "$np" # port "http": probed with a GET
	# the stand-in answers only after 20 s: kx must give up at its 1 s
	standin "$BATS_TEST_TMPDIR/ports" --delay 20000 "http:$np"
	start=$(date +%s)
	run kx reach svc/t-rc-slow --check --check-routes=node-port --check-timeout=1s
	elapsed=$(($(date +%s) - start))
	assert_failure
	assert_line --regexp "^node-port +http://127\.0\.0\.1:$np +80 +failed +[0-9.]+m?s +node port $np on 127\.0\.0\.1 took the connection but sent no answer within 1\.0s$"
	# well before the stand-in's answer (a slow machine adds seconds, not 19)
	[ "$elapsed" -lt 15 ] || fail "took $elapsed s"
}

@test "--wait --check returns once the stand-in listener starts; times out with the last result otherwise" {
	only_loopback_nodes
	np=$(free_node_port)
	service_on_deploy t-rc-np NodePort 80 "$np"
	out=$BATS_TEST_TMPDIR/wait.out
	"$KX_BIN" reach svc/t-rc-np --wait --check --check-routes=node-port --timeout=30s --check-timeout=1s >"$out" 2>&1 &
	WAIT_PID=$!
	sleep 1.5
	kill -0 "$WAIT_PID" # still waiting: nothing listens on the node port
	standin "$BATS_TEST_TMPDIR/ports" "http:$np"
	rc=0
	wait "$WAIT_PID" || rc=$?
	WAIT_PID=
	assert_equal "$rc" 0
	run cat "$out"
	assert_line --regexp "^node-port +http://127\.0\.0\.1:$np +80 +ok +"
	kill "${STANDIN_PIDS[0]}"
	wait "${STANDIN_PIDS[0]}" 2>/dev/null || true
	run kx reach svc/t-rc-np --wait --check --check-routes=node-port --timeout=1s
	assert_failure
	assert_line --regexp "^node-port +http://127\.0\.0\.1:$np +80 +failed +"
	assert_line "error: timed out waiting for the routes of service/t-rc-np to answer"
}

@test "--check over 200 load-balancer addresses: every one probed, as many at once as 100 descriptors allow" {
	run kx create service loadbalancer t-rc-lb --tcp=80:80
	assert_success
	# 127.0.0.1 … 127.0.0.200: loopback addresses where nothing listens on port 80
	ips=$(python3 -c 'import json; print(json.dumps({"status":{"loadBalancer":{"ingress":[{"ip":"127.0.0.%d" % i} for i in range(1, 201)]}}}))')
	kubectl patch svc t-rc-lb --subresource=status --type=merge -p "$ips" >/dev/null
	run bash -c "ulimit -n 100; exec \"$KX_BIN\" reach svc/t-rc-lb --check --check-routes=load-balancer -o json"
	assert_failure
	check "$(sed '$d' <<<"$output")" "
lb = r['loadBalancer']['addresses']
assert len(lb) == 200, len(lb)
msgs = {e['check']['message'] for e in lb}
assert msgs == {'load balancer 127.0.0.%d:80 refused the connection' % i for i in range(1, 201)}, msgs"
}
