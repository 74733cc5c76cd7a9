# SPDX-License-Identifier: Apache-2.0
# reach --check: the time to check a service with 6 routes (a node port, a load
# balancer by IP and by name, a plain and a TLS Ingress URL, the API server's
# service proxy), all probes at once on one loop, against the same 6 probes run
# one after another with curl (what a script would do). Loopback stand-ins play
# kube-proxy, the load balancer and the ingress controller
# (tests/bats/reach-standin.py), first answering at once, then each answer held
# 100 ms (routes far away). kx also reads the objects for its static checks; the
# curl side reads nothing. The port-forward route, which curl has no match for,
# is left out (--check-routes). Sourced by bench/run (uses median_ms, row, $KX, $root).
rc_dir=$(mktemp -d)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$rc_dir/ca.key" -out "$rc_dir/ca.crt" -days 2 \
	-subj /CN=kx-bench-ca >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout "$rc_dir/host.key" -out "$rc_dir/host.csr" \
	-subj /CN=good.reach.test >/dev/null 2>&1
printf 'subjectAltName=DNS:good.reach.test\n' >"$rc_dir/ext"
openssl x509 -req -in "$rc_dir/host.csr" -CA "$rc_dir/ca.crt" -CAkey "$rc_dir/ca.key" -CAcreateserial \
	-out "$rc_dir/host.crt" -days 2 -extfile "$rc_dir/ext" >/dev/null 2>&1
rc_pids=()
rc_standin() { # port-file delay-ms
	python3 "$root/tests/bats/reach-standin.py" "$1" --cert "$rc_dir/host.crt" --key "$rc_dir/host.key" \
		--delay "$2" http:node http:0 http:0 https:0 2>/dev/null &
	rc_pids+=($!)
	for _ in $(seq 100); do [ -s "$1" ] && break; sleep 0.1; done
}
rc_objects() { # node-port lb-port ingress-port tls-port
	"$KUBECTL" delete svc bench-reach --ignore-not-found >/dev/null
	"$KUBECTL" apply -f - >/dev/null <<-YAML
	apiVersion: v1
	kind: Service
	metadata: {name: bench-reach}
	spec:
	  type: LoadBalancer
	  selector: {app: web-deploy}
	  ports: [{name: http, port: $2, targetPort: http, nodePort: $1}]
	---
	apiVersion: discovery.k8s.io/v1
	kind: EndpointSlice
	metadata: {name: bench-reach-1, labels: {kubernetes.io/service-name: bench-reach}}
	addressType: IPv4
	ports: [{name: http, port: 80, protocol: TCP}]
	endpoints: [{addresses: [10.0.0.250], conditions: {ready: true}}]
	---
	apiVersion: networking.k8s.io/v1
	kind: Ingress
	metadata: {name: bench-reach-plain}
	spec: {rules: [{host: plain.reach.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: bench-reach, port: {name: http}}}}]}}]}
	---
	apiVersion: networking.k8s.io/v1
	kind: Ingress
	metadata: {name: bench-reach-tls}
	spec:
	  tls: [{hosts: [good.reach.test]}]
	  rules: [{host: good.reach.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: bench-reach, port: {name: http}}}}]}}]
	YAML
	"$KUBECTL" patch svc bench-reach --subresource=status --type=merge \
		-p '{"status":{"loadBalancer":{"ingress":[{"ip":"127.0.0.1"},{"hostname":"localhost"}]}}}' >/dev/null
	"$KUBECTL" patch ingress bench-reach-plain --subresource=status --type=merge \
		-p "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"127.0.0.1\",\"ports\":[{\"port\":$3,\"protocol\":\"TCP\"}]}]}}}" >/dev/null
	"$KUBECTL" patch ingress bench-reach-tls --subresource=status --type=merge \
		-p "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"127.0.0.1\",\"ports\":[{\"port\":$4,\"protocol\":\"TCP\"}]}]}}}" >/dev/null
}
rc_curl_script() { # node-port lb-port ingress-port tls-port: the 6 probes, one after another
	local c="curl -s -o /dev/null --max-time 3"
	local api=${KX_TEST_APISERVER:-https://127.0.0.1:16443}
	cat <<-SH
	$c http://127.0.0.1:$1/
	$c http://127.0.0.1:$2/
	$c http://localhost:$2/
	$c --connect-to plain.reach.test:$3:127.0.0.1:$3 http://plain.reach.test:$3/
	$c --cacert $rc_dir/ca.crt --connect-to good.reach.test:$4:127.0.0.1:$4 https://good.reach.test:$4/
	$c --cacert $KX_TEST_CA --cert $KX_TEST_CLIENT_CERT --key $KX_TEST_CLIENT_KEY $api/api/v1/namespaces/default/services/bench-reach:http/proxy/
	SH
}
for rc_delay in 0 100; do
	rc_pf=$rc_dir/ports.$rc_delay
	rc_standin "$rc_pf" "$rc_delay"
	read -r rc_np rc_lb rc_ing rc_tls <<<"$(awk '{printf "%s ", $2}' "$rc_pf")"
	rc_objects "$rc_np" "$rc_lb" "$rc_ing" "$rc_tls"
	rc_curl_script "$rc_np" "$rc_lb" "$rc_ing" "$rc_tls" >"$rc_dir/curl.sh"
	# --check=any: the API server's proxy answers 404 here (no Endpoints object), the rest answer
	row "reach --check, 6 routes at once vs the same 6 probes one by one with curl (answers held ${rc_delay} ms)" ms \
		"$(median_ms "$KX" reach svc/bench-reach --check=any --check-ca "$rc_dir/ca.crt" \
			--check-routes=node-port,load-balancer,ingress,api-proxy)" \
		"$(median_ms sh "$rc_dir/curl.sh")"
	kill "${rc_pids[@]}" 2>/dev/null || true
	rc_pids=()
done
"$KUBECTL" delete svc bench-reach --ignore-not-found >/dev/null
"$KUBECTL" delete endpointslice bench-reach-1 --ignore-not-found >/dev/null
"$KUBECTL" delete ingress bench-reach-plain bench-reach-tls --ignore-not-found >/dev/null
rm -rf "$rc_dir"
