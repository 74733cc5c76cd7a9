#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx expose against the real cluster: --dry-run=client output equals kubectl's as
# data for a table of inputs; created services read back with what the API
# server allocated; errors as kubectl's, with nothing created.

setup() {
	load helpers
	need_cluster
}

teardown() {
	kubectl delete svc t-exp-a t-exp-b t-exp-c t-exp-d t-exp-sts t-exp-bad --ignore-not-found >/dev/null 2>&1 || true
	kubectl delete sts t-exp-sts --ignore-not-found >/dev/null 2>&1 || true
	kubectl delete deploy t-exp-expr --ignore-not-found >/dev/null 2>&1 || true
	kubectl delete rc t-exp-rc --ignore-not-found >/dev/null 2>&1 || true
	kubectl delete pod t-exp-dns --ignore-not-found --wait=false >/dev/null 2>&1 || true
}

# same_json A B: the two JSON documents are equal as data
same_json() {
	python3 -c 'import json,sys; a,b=json.loads(sys.argv[1]),json.loads(sys.argv[2]); sys.exit(0 if a==b else 1)' "$1" "$2" ||
		{ echo "kx:      $1"; echo "kubectl: $2"; return 1; }
}

# compare ARGS...: kx and kubectl give the same --dry-run=client -o json object
compare() {
	run kx expose "$@" --dry-run=client -o json
	[ "$status" -eq 0 ] || { echo "kx failed: $output"; return 1; }
	local mine=$output
	run kubectl expose "$@" --dry-run=client -o json
	[ "$status" -eq 0 ] || { echo "kubectl failed: $output"; return 1; }
	same_json "$mine" "$output"
}

# same_error ARGS...: both fail with the same message (the "See '… --help'" line
# names the tool, so it is left out)
same_error() {
	run kx expose "$@"
	[ "$status" -eq 1 ] || { echo "kx: status $status: $output"; return 1; }
	local mine
	mine=$(grep -v "^See '" <<<"$output")
	run kubectl expose "$@"
	[ "$status" -ne 0 ]
	assert_equal "$mine" "$(grep -v "^See '" <<<"$output")"
}

no_service() { # NAME: it does not exist
	run kubectl get svc "$1"
	[ "$status" -ne 0 ]
	[[ "$output" == *NotFound* ]]
}

@test "dry-run=client: the same object as kubectl for every type and flag" {
	compare deploy web
	compare deploy/web --name t-exp-a
	compare deploy web --type NodePort --port 80 --target-port http
	compare deploy web --type LoadBalancer --load-balancer-ip 203.0.113.9 --port 80 --target-port 8080
	compare deploy web --type NodePort --load-balancer-ip 203.0.113.9 --port 80
	compare deploy web --type ExternalName --port 80
	compare deploy web --type ClusterIP --cluster-ip None
	compare deploy web --cluster-ip 10.96.0.77 --port 8080 --target-port 80
	compare deploy web --external-ip 198.51.100.1 --session-affinity ClientIP
	compare deploy web --session-affinity None --protocol UDP --port 53
	compare deploy web --selector a=b,c=d -l x=y --port 80,81,82
	compare deploy web --target-port 0 --port 80
	compare pod web-0
	compare pod/solo --port 8080 --target-port http --name t-exp-b
	compare svc web --name t-exp-c
	compare svc web --name t-exp-c --port 80 --target-port echo
	compare rs web-6f7c9d8b5 --name t-exp-d
	compare deploy web -n default
	compare pod demo-0 -n demo
}

@test "dry-run=client: -o yaml is byte for byte kubectl's; -o name and the result line too" {
	run kx expose deploy web --type NodePort --dry-run=client -o yaml
	assert_success
	local mine=$output
	run kubectl expose deploy web --type NodePort --dry-run=client -o yaml
	assert_equal "$mine" "$output"
	run kx expose deploy web --name t-exp-a --dry-run=client -o name
	assert_output "service/t-exp-a"
	run kx expose deploy web --name t-exp-a --dry-run=client
	assert_output "service/t-exp-a exposed (dry run)"
	no_service t-exp-a
}

@test "replication controller and a port with two protocols: kubectl's object" {
	kubectl apply -f - >/dev/null <<-'YAML'
	apiVersion: v1
	kind: ReplicationController
	metadata: {name: t-exp-rc, labels: {tier: rc}}
	spec:
	  replicas: 0
	  selector: {app: t-exp-rc}
	  template:
	    metadata: {labels: {app: t-exp-rc}}
	    spec:
	      containers:
	      - name: c
	        image: kx.invalid/none
	        ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP}, {containerPort: 8080}]
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: t-exp-dns, labels: {app: t-exp-dns}}
	spec:
	  containers:
	  - name: c
	    image: kx.invalid/none
	    ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP}, {containerPort: 9153, name: metrics}]
	---
	apiVersion: v1
	kind: Service
	metadata: {name: t-exp-c}
	spec:
	  selector: {app: t-exp-dns}
	  ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}, {name: m, port: 9153, targetPort: metrics}]
	YAML
	compare rc t-exp-rc
	compare rc t-exp-rc --port 53
	compare rc t-exp-rc --port 53 --protocol TCP
	compare pod t-exp-dns
	compare pod t-exp-dns --port 9153
	compare svc t-exp-c --name t-exp-d
	compare svc t-exp-c --name t-exp-d --protocol UDP
}

@test "kx+: a stateful set is exposed (kubectl refuses), headless for its pods" {
	kubectl apply -f - >/dev/null <<-'YAML'
	apiVersion: apps/v1
	kind: StatefulSet
	metadata: {name: t-exp-sts, labels: {tier: db}}
	spec:
	  replicas: 0
	  serviceName: t-exp-sts
	  selector: {matchLabels: {app: t-exp-sts}}
	  template:
	    metadata: {labels: {app: t-exp-sts}}
	    spec:
	      containers:
	      - name: db
	        image: kx.invalid/db
	        ports: [{containerPort: 5432, name: pg}, {containerPort: 9187, name: metrics}]
	YAML
	run kubectl expose sts t-exp-sts --dry-run=client
	assert_failure
	assert_output --partial "cannot expose a StatefulSet"
	run kx expose sts t-exp-sts --cluster-ip None --dry-run=client -o json
	assert_success
	python3 - "$output" <<-'PY'
	import json, sys
	s = json.loads(sys.argv[1])
	assert s["metadata"] == {"name": "t-exp-sts", "labels": {"tier": "db"}}, s
	assert s["spec"]["selector"] == {"app": "t-exp-sts"}, s
	assert s["spec"]["clusterIP"] == "None", s
	assert s["spec"]["ports"] == [
	    {"name": "port-1", "protocol": "TCP", "port": 5432, "targetPort": 5432},
	    {"name": "port-2", "protocol": "TCP", "port": 9187, "targetPort": 9187}], s
	PY
	run kx expose statefulset/t-exp-sts --cluster-ip None
	assert_success
	assert_output "service/t-exp-sts exposed"
	run kubectl get svc t-exp-sts -o jsonpath='{.spec.clusterIP} {.spec.selector.app}'
	assert_output "None t-exp-sts"
}

@test "a matchExpressions selector cannot become a service selector: kubectl's error" {
	kubectl apply -f - >/dev/null <<-'YAML'
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: t-exp-expr}
	spec:
	  replicas: 0
	  selector:
	    matchLabels: {app: t-exp-expr}
	    matchExpressions: [{key: tier, operator: In, values: [a, b]}]
	  template:
	    metadata: {labels: {app: t-exp-expr, tier: a}}
	    spec: {containers: [{name: c, image: kx.invalid/none, ports: [{containerPort: 80}]}]}
	YAML
	same_error deploy t-exp-expr --dry-run=client
	assert_output --partial 'to map-based selector format'
	# --selector given: no introspection, so it works (as in kubectl)
	compare deploy t-exp-expr --selector app=t-exp-expr
}

@test "created: the server allocates clusterIP and nodePort; read back matches" {
	run kx expose deploy web --name t-exp-a --type NodePort --port 80 --target-port http
	assert_success
	assert_output "service/t-exp-a exposed"
	run kubectl get svc t-exp-a -o json
	assert_success
	python3 - "$output" <<-'PY'
	import json, sys, ipaddress
	s = json.loads(sys.argv[1])["spec"]
	assert ipaddress.ip_address(s["clusterIP"]) in ipaddress.ip_network("10.96.0.0/16"), s
	p = s["ports"][0]
	assert 30000 <= p["nodePort"] <= 32767, p
	assert (p["port"], p["targetPort"], p["protocol"]) == (80, "http", "TCP"), p
	assert s["type"] == "NodePort" and s["selector"] == {"app": "web-deploy"}, s
	PY
	# -o json prints what the server returned (allocated fields included)
	run kx expose deploy web --name t-exp-b -o json
	assert_success
	python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert s["spec"]["clusterIP"] and len(s["spec"]["ports"])==4 and "managedFields" not in s["metadata"], s' "$output"
}

@test "kx+ --node-port is honoured (implies NodePort); a taken node port gives the server's error" {
	run kx expose deploy web --name t-exp-a --port 80 --node-port 30123
	assert_success
	run kubectl get svc t-exp-a -o jsonpath='{.spec.type} {.spec.ports[0].nodePort}'
	assert_output "NodePort 30123"
	run kx expose deploy web --name t-exp-b --port 80 --node-port 30123
	assert_failure
	assert_output 'The Service "t-exp-b" is invalid: spec.ports[0].nodePort: Invalid value: 30123: provided port is already allocated'
	no_service t-exp-b
	# kubectl has no --node-port: its create service nodeport says the same of a taken port
	run kubectl create service nodeport t-exp-b --tcp=80 --node-port 30123
	assert_output --partial 'spec.ports[0].nodePort: Invalid value: 30123: provided port is already allocated'
	# two ports, two node ports, in order
	run kx expose svc web --name t-exp-c --node-port 30124,30125 -o json
	assert_success
	python3 -c 'import json,sys; p=json.loads(sys.argv[1])["spec"]["ports"]; assert [x["nodePort"] for x in p]==[30124,30125], p' "$output"
	run kx expose deploy web --name t-exp-d --type ClusterIP --node-port 30126
	assert_failure
	assert_output "error: --node-port needs --type=NodePort or --type=LoadBalancer, not ClusterIP"
	no_service t-exp-d
}

@test "--dry-run=server: checked by the server, nothing kept" {
	run kx expose deploy web --name t-exp-a --dry-run=server
	assert_success
	assert_output "service/t-exp-a exposed (server dry run)"
	no_service t-exp-a
	run kx expose deploy web --dry-run=server
	assert_failure
	assert_output 'Error from server (AlreadyExists): services "web" already exists'
}

@test "bad input: kubectl's errors, nothing created" {
	same_error deploy nope
	same_error foo web
	same_error node kwok-node-0
	same_error deploy web --name t-exp-bad --port abc
	same_error deploy web --name t-exp-bad --session-affinity Sticky
	same_error deploy web --name t-exp-bad --selector a==b
	same_error deploy web --name t-exp-bad --cluster-ip None --type NodePort
	same_error deploy web --name t-exp-bad --port 70000
	same_error deploy web --name t-exp-bad --port 80 --cluster-ip 10.97.0.1
	same_error pod web-0 --name t-exp-bad --protocol HTTP
	same_error deploy
	run kx expose
	assert_failure
	assert_line --index 0 "error: You must provide one or more resources by argument or filename."
	no_service t-exp-bad
	# kx checks --type before it asks the server (kubectl leaves it to the server)
	run kx expose deploy web --name t-exp-bad --type Fancy
	assert_failure
	assert_line --index 0 'error: invalid argument "Fancy" for "--type" flag: must be one of: ClusterIP, NodePort, LoadBalancer, ExternalName'
	no_service t-exp-bad
}
