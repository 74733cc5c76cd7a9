#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx create service / create ingress against the real cluster: the objects
# kubectl builds for the same flags (compared as data), kubectl's errors, and
# what the API server allocates and refuses.

setup() {
	load helpers
	need_cluster
}

teardown() {
	kubectl delete svc t-cr-a t-cr-b t-cr-c t-cr-bad --ignore-not-found >/dev/null 2>&1 || true
	kubectl delete ingress t-cr-i t-cr-bad --ignore-not-found >/dev/null 2>&1 || true
}

same_json() {
	python3 -c 'import json,sys; a,b=json.loads(sys.argv[1]),json.loads(sys.argv[2]); sys.exit(0 if a==b else 1)' "$1" "$2" ||
		{ echo "kx:      $1"; echo "kubectl: $2"; return 1; }
}

# compare ARGS...: `create ARGS --dry-run=client -o json` is the same object
compare() {
	run kx create "$@" --dry-run=client -o json
	[ "$status" -eq 0 ] || { echo "kx failed: $output"; return 1; }
	local mine=$output
	run kubectl create "$@" --dry-run=client -o json
	[ "$status" -eq 0 ] || { echo "kubectl failed: $output"; return 1; }
	same_json "$mine" "$output"
}

# same_error ARGS...: both refuse with the same message (usage hint lines aside)
same_error() {
	run kx create "$@"
	[ "$status" -eq 1 ] || { echo "kx: status $status: $output"; return 1; }
	local mine
	mine=$(grep -v "^See '" <<<"$output")
	run kubectl create "$@"
	[ "$status" -ne 0 ]
	assert_equal "$mine" "$(grep -v "^See '" <<<"$output")"
}

absent() { # KIND NAME
	run kubectl get "$1" "$2"
	[ "$status" -ne 0 ]
	[[ "$output" == *NotFound* ]]
}

@test "create service: kubectl's object for each type and port form" {
	compare service clusterip t-cr-a --tcp=5678:8080
	compare service clusterip t-cr-a --tcp=80 --tcp=443:https
	compare service clusterip t-cr-a --tcp=80:8080,81,82:metrics
	compare service clusterip t-cr-a --clusterip=None
	compare service clusterip t-cr-a --clusterip=10.96.0.99 --tcp=80
	compare service nodeport t-cr-a --tcp=80:http --node-port=30080
	compare service nodeport t-cr-a --tcp=80:8080:9
	compare service loadbalancer t-cr-a --tcp=0:80
	compare service externalname t-cr-a --external-name=db.example.com
	compare service externalname t-cr-a --external-name=db.example.com --tcp=5432
	compare service clusterip t-cr-a --tcp=80 -n demo
	compare svc loadbalancer t-cr-a --tcp=80
}

@test "create service: -o yaml byte for byte, -o name, result line, nothing created by client dry run" {
	run kx create service nodeport t-cr-a --tcp=80:http --dry-run=client -o yaml
	assert_success
	local mine=$output
	run kubectl create service nodeport t-cr-a --tcp=80:http --dry-run=client -o yaml
	assert_equal "$mine" "$output"
	run kx create service clusterip t-cr-a --tcp=80 --dry-run=client -o name
	assert_output "service/t-cr-a"
	run kx create service clusterip t-cr-a --tcp=80 --dry-run=client
	assert_output "service/t-cr-a created (dry run)"
	run kx create service clusterip t-cr-a --tcp=80 --dry-run=server
	assert_output "service/t-cr-a created (server dry run)"
	absent svc t-cr-a
}

@test "create service: kubectl's errors, nothing created" {
	same_error service clusterip t-cr-bad
	same_error service nodeport t-cr-bad
	same_error service externalname t-cr-bad
	same_error service externalname t-cr-bad --external-name=Not_DNS
	same_error service loadbalancer t-cr-bad --tcp=99999
	same_error service loadbalancer t-cr-bad --tcp=abc
	same_error service loadbalancer t-cr-bad --tcp=-1
	same_error service loadbalancer t-cr-bad --tcp=80:Bad_Name
	same_error service loadbalancer t-cr-bad --tcp=80:this-is-too-long-a-name
	same_error service loadbalancer t-cr-bad --tcp=80:0
	same_error service loadbalancer t-cr-bad --tcp=80:70000
	same_error service loadbalancer t-cr-bad --tcp=80:
	same_error service clusterip --tcp=80
	same_error service clusterip a b --tcp=80
	absent svc t-cr-bad
}

@test "create service: allocated clusterIP and nodePort read back; --node-port honoured; taken port refused as kubectl words it" {
	run kx create service nodeport t-cr-a --tcp=80:http --node-port=30210
	assert_success
	assert_output "service/t-cr-a created"
	run kubectl get svc t-cr-a -o json
	python3 - "$output" <<-'PY'
	import json, sys, ipaddress
	s = json.loads(sys.argv[1])
	assert s["metadata"]["labels"] == {"app": "t-cr-a"}
	sp = s["spec"]
	assert ipaddress.ip_address(sp["clusterIP"]) in ipaddress.ip_network("10.96.0.0/16"), sp
	assert sp["ports"] == [{"name": "80-http", "protocol": "TCP", "port": 80, "targetPort": "http", "nodePort": 30210}], sp
	PY
	run kx create service nodeport t-cr-b --tcp=80 --node-port=30210
	assert_failure
	local mine=$output
	run kubectl create service nodeport t-cr-b --tcp=80 --node-port=30210
	assert_equal "$mine" "${output//kubectl/kx}"
	assert_equal "$mine" 'error: failed to create NodePort service: Service "t-cr-b" is invalid: spec.ports[0].nodePort: Invalid value: 30210: provided port is already allocated'
	absent svc t-cr-b
	# a LoadBalancer gets node ports too; -o json is the server's object
	run kx create service loadbalancer t-cr-c --tcp=443:8443 -o json
	assert_success
	python3 -c 'import json,sys; p=json.loads(sys.argv[1])["spec"]["ports"][0]; assert 30000<=p["nodePort"]<=32767, p' "$output"
	# and a name taken
	run kx create service clusterip t-cr-a --tcp=80
	assert_failure
	assert_output 'error: failed to create ClusterIP service: services "t-cr-a" already exists'
}

@test "create ingress: kubectl's object for a table of rules" {
	compare ingress t-cr-i --rule='foo.com/bar=svc1:8080,tls=my-cert'
	compare ingress t-cr-i --rule='/path=svc:port' --class=otheringress
	compare ingress t-cr-i --rule='foo.com/bar=svc:port' --annotation ingress.annotation1=foo --annotation ingress.annotation2=bla --annotation empty=
	compare ingress t-cr-i --rule='foo.com/=svc:port' --rule='foo.com/admin/=svcadmin:portadmin'
	compare ingress t-cr-i --rule='foo.com/path*=svc:8080' --rule='bar.com/admin*=svc2:http'
	compare ingress t-cr-i --rule='foo.com/=svc:https,tls' --rule='foo.com/path/subpath*=othersvc:8080'
	compare ingress t-cr-i --rule='foo.com/*=svc:8080,tls=secret1'
	compare ingress t-cr-i --default-backend=defaultsvc:http --rule='foo.com/*=svc:8080,tls=secret1'
	compare ingress t-cr-i --default-backend=defaultsvc:80
	compare ingress t-cr-i --rule='/=catchall:80,tls' --rule='a.com/=a:80,tls' --rule='b.com/=b:80,tls'
	compare ingress t-cr-i --rule='*.foo.com/x=svc:0,tls=w' --rule='c.com/=s:1,tls=w' --rule='c.com/d=s:1,tls=z' --rule='/=s:2,tls=w'
	compare ingress t-cr-i --rule='a.com/p=s:80:90,tls=sec=ret' --rule='a.com/q=s:80,tls,x' --rule='a.com/r=s:-5'
	compare ingress t-cr-i --rule='foo.com/bar=svc:80' -n demo
	compare ing t-cr-i --rule='foo.com/=svc:80'
}

@test "create ingress: -o yaml byte for byte; created and read back; -o name" {
	run kx create ingress t-cr-i --rule='foo.com/a*=web:http,tls=cert' --rule='foo.com/b=web:80' --class=nginx --dry-run=client -o yaml
	assert_success
	local mine=$output
	run kubectl create ingress t-cr-i --rule='foo.com/a*=web:http,tls=cert' --rule='foo.com/b=web:80' --class=nginx --dry-run=client -o yaml
	assert_equal "$mine" "$output"
	run kx create ingress t-cr-i --rule='foo.com/a*=web:http,tls=cert' --rule='foo.com/b=web:80'
	assert_success
	assert_output "ingress.networking.k8s.io/t-cr-i created"
	run kubectl get ingress t-cr-i -o jsonpath='{.spec.rules[0].host} {.spec.rules[0].http.paths[*].pathType} {.spec.tls[0].secretName}'
	assert_output "foo.com Prefix Exact cert"
	run kx create ingress t-cr-i --rule='foo.com/=web:80' -o name --dry-run=server
	assert_failure
	assert_output 'error: failed to create ingress: ingresses.networking.k8s.io "t-cr-i" already exists'
}

@test "create ingress: kubectl's errors for invalid rules, nothing created" {
	same_error ingress t-cr-bad
	same_error ingress t-cr-bad --rule='foo.com=svc:80'
	same_error ingress t-cr-bad --rule='foo.com/=svc'
	same_error ingress t-cr-bad --rule='foo.com/path=:80'
	same_error ingress t-cr-bad --rule='foo com/=svc:80'
	same_error ingress t-cr-bad --rule='foo.com/=svc:80,tls' --rule='bad'
	same_error ingress t-cr-bad --rule='foo.com/=svc:80' --annotation novalue
	same_error ingress t-cr-bad --rule='foo.com/=svc:80' --default-backend=svc
	same_error ingress t-cr-bad --rule='foo.com/=svc:80' --default-backend=svc:80:90
	same_error ingress
	absent ingress t-cr-bad
	# kubectl accepts these, then panics (index out of range); kx refuses them
	for r in 'foo.com/a,=svc:80' 'foo.com/a=b=svc:80'; do
		run kx create ingress t-cr-bad --rule="$r" --dry-run=client
		assert_failure
		assert_output "error: rule $r is invalid and should be in format host/path=svcname:svcport[,tls[=secret]]"
	done
}
