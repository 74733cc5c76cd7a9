#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# kx get against the real test cluster, compared with kubectl on the same
# arguments: tables (the server's columns), -o json|yaml|name, selectors, all
# namespaces, --raw, kubectl's errors, and types found through discovery
# (with its disk cache). A fake legacy API server covers pre-aggregated
# discovery and answers that are not Tables.

setup() {
	load helpers
	# Each test gets its own discovery cache, so discovery really runs.
	export KUBECACHEDIR=$BATS_TEST_TMPDIR/cache
}

teardown() {
	if [ -n "${CRD_NAME:-}" ]; then
		kubectl delete crd "$CRD_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true
	fi
	if [ -n "${FAKE_PID:-}" ]; then
		kill "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
	fi
}

# kx and kubectl run one after the other, so an AGE can tick between them (a pod
# under 10 minutes old shows seconds; under ASan or valgrind the two runs are
# seconds apart), and a longer or shorter age re-pads its column. So the outputs
# must be the same byte for byte, or else the same with every age read as <age>
# and runs of spaces as one.
ages() {
	sed -E 's/\b[0-9]+[smhdy]([0-9]+[smh])?\b/<age>/g; s/ +/ /g'
}

# kubectl and kx with the same arguments: the same stdout, stderr and exit code.
same_as_kubectl() {
	local want got
	want=$(kubectl "$@" 2>&1; echo "exit $?")
	got=$(kx "$@" 2>&1; echo "exit $?")
	[ "$want" = "$got" ] && return 0
	[ "$(ages <<<"$want")" = "$(ages <<<"$got")" ] && return 0
	echo "kubectl $*:" >&2
	diff <(echo "$want") <(echo "$got") >&2 || true
	return 1
}

# The NAME column of a table.
names_of() { awk 'NR > 1 { print $1 }'; }

@test "get pods: the same names as kubectl, and the same table" {
	need_cluster
	run kx get pods
	assert_success
	assert_line --index 0 --regexp '^NAME +READY +STATUS +RESTARTS +AGE$'
	assert_output --partial "web-0"
	local mine theirs
	mine=$(names_of <<<"$output")
	theirs=$(kubectl get pods | names_of)
	assert_equal "$mine" "$theirs"
	same_as_kubectl get pods
}

@test "get pods: READY counts ready containers (web-0 has two)" {
	need_cluster
	run kx get pods web-0
	assert_success
	assert_line --index 1 --regexp '^web-0 +2/2 +Running +0 +[0-9]+[smhdy]'
}

@test "get pods -o json: the same items as kubectl's, as data and byte for byte" {
	need_cluster
	run kx get pods -o json
	assert_success
	local mine=$output theirs
	theirs=$(kubectl get pods -o json)
	run python3 -c '
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["kind"] == "List" and a["apiVersion"] == "v1", a.keys()
assert a["metadata"] == {"resourceVersion": ""}, a["metadata"]
ids = lambda d: [(i["metadata"]["name"], i["metadata"]["uid"], i["kind"], i["apiVersion"]) for i in d["items"]]
assert ids(a) == ids(b), (ids(a), ids(b))
assert all("managedFields" not in i["metadata"] for i in a["items"])
assert a == b
' "$mine" "$theirs"
	assert_success
	same_as_kubectl get pods -o json
}

@test "get pod web-0 -o yaml: parses and equals kubectl's, as data and as text" {
	need_cluster
	run kx get pod web-0 -o yaml
	assert_success
	assert_line --index 0 "apiVersion: v1"
	local mine=$output theirs
	theirs=$(kubectl get pod web-0 -o yaml)
	run python3 -c '
import sys, yaml
a, b = yaml.safe_load(sys.argv[1]), yaml.safe_load(sys.argv[2])
assert a["kind"] == "Pod" and a["metadata"]["name"] == "web-0"
assert a == b
' "$mine" "$theirs"
	assert_success
	same_as_kubectl get pod web-0 -o yaml
}

@test "--show-managed-fields keeps metadata.managedFields, as kubectl's flag" {
	need_cluster
	run kx get pod web-0 -o json --show-managed-fields
	assert_success
	assert_output --partial '"managedFields"'
	same_as_kubectl get pod web-0 -o json --show-managed-fields
}

@test "get -o name, for core and grouped types" {
	need_cluster
	run kx get pods -o name
	assert_success
	assert_line "pod/web-0"
	same_as_kubectl get pods -o name
	run kx get deploy -o name
	assert_output "deployment.apps/web"
	same_as_kubectl get deploy,rs -o name
}

@test "-l selects by label (names and table as kubectl's)" {
	need_cluster
	run kx get pods -l app=web -o name
	assert_success
	assert_output "pod/web-0"
	same_as_kubectl get pods -l app=web
	same_as_kubectl get pods -l 'app in (web,web-deploy)' -o name
	same_as_kubectl get pods -l app=nothing
	same_as_kubectl get pods -l app=nothing -o json
}

@test "-A lists every namespace with a NAMESPACE column" {
	need_cluster
	run kx get pods -A
	assert_success
	assert_line --index 0 --regexp '^NAMESPACE +NAME +READY'
	assert_line --regexp '^demo +demo-0 '
	assert_line --regexp '^default +web-0 '
	same_as_kubectl get pods -A
	same_as_kubectl get pods --all-namespaces -o name
	# cluster-scoped types get no NAMESPACE column
	same_as_kubectl get nodes -A
}

@test "-n picks the namespace; an empty namespace says so on stderr" {
	need_cluster
	same_as_kubectl get pods -n demo
	run kx get pods -n nope
	assert_success
	assert_output "No resources found in nope namespace."
	same_as_kubectl get pods -n nope
}

@test "--raw prints the server's body as it is" {
	need_cluster
	run kx get --raw /version
	assert_success
	assert_output --partial '"gitVersion"'
	local mine theirs
	mine=$(kx get --raw /version | od -c)
	theirs=$(kubectl get --raw /version | od -c)
	assert_equal "$mine" "$theirs"
	same_as_kubectl get --raw /api/v1/namespaces/default/pods/web-0
	run kx get --raw /version pods
	assert_failure 1
	assert_output --partial "arguments may not be passed when --raw is specified"
}

@test "a missing object: kubectl's NotFound line, exit 1" {
	need_cluster
	run kx get pods nope
	assert_failure 1
	assert_output 'Error from server (NotFound): pods "nope" not found'
	same_as_kubectl get pods nope
	same_as_kubectl get pods nope -o json
	# found ones are printed first, then the errors
	same_as_kubectl get pods nope web-0
	same_as_kubectl get pods nope solo -o json
	same_as_kubectl get pods x y -o name
	run kx get pods nope --ignore-not-found
	assert_success
	assert_output ""
}

@test "an unknown type: kubectl's error, exit 1" {
	need_cluster
	run kx get foo
	assert_failure 1
	assert_output 'error: the server doesn'"'"'t have a resource type "foo"'
	same_as_kubectl get foo
	# a group that does not serve the resource: kubectl names the part before the dot
	same_as_kubectl get pods.apps
}

@test "several names, TYPE/NAME and comma-separated types, as kubectl prints them" {
	need_cluster
	same_as_kubectl get pods web-0 solo
	same_as_kubectl get pod/web-0 svc/web
	same_as_kubectl get pod/web-0 po/solo
	same_as_kubectl get pods,svc
	same_as_kubectl get pods,po
	same_as_kubectl get svc,pods -o name
	same_as_kubectl get pods,svc --no-headers
	same_as_kubectl get deploy,rs -o yaml
}

@test "get all: the types of category \"all\" from discovery, as kubectl" {
	need_cluster
	run kx get all
	assert_success
	assert_line --index 0 --regexp '^NAME +READY +STATUS'
	assert_line --regexp '^pod/web-0 '
	assert_line --regexp '^deployment.apps/web '
	same_as_kubectl get all
	same_as_kubectl get all -o name
	same_as_kubectl get all -A
	same_as_kubectl get pods,all -l app=web
	# kubectl's rules for names with several types
	same_as_kubectl get all web-0
	same_as_kubectl get pods,svc web web-0
	same_as_kubectl get pods,po web-0
}

@test "-o wide, --no-headers and --server-print=false match kubectl" {
	need_cluster
	same_as_kubectl get pods -o wide
	same_as_kubectl get pods --no-headers
	same_as_kubectl get pods --server-print=false
	same_as_kubectl get pods -A --server-print=false
}

@test "kubectl's forms of a type name: singular, kind, short, any case, TYPE.GROUP" {
	need_cluster
	same_as_kubectl get Pod web-0
	same_as_kubectl get PODS
	same_as_kubectl get po web-0
	same_as_kubectl get deployments.apps
	same_as_kubectl get deployment.v1.apps web
}

@test "paged lists (--chunk-size) give the same answer as one page" {
	need_cluster
	run kx get pods -A -o name
	local whole=$output
	run kx get pods -A -o name --chunk-size=1
	assert_success
	assert_equal "$output" "$whole"
	run kx -v=6 get pods -A --chunk-size=2
	assert_success
	assert_output --partial "continue="
	same_as_kubectl get pods -A --chunk-size=1
}

@test "argument errors are kubectl's" {
	need_cluster
	run kx get
	assert_failure 1
	assert_output --partial "Required resource not specified."
	run kx get pods web-0 -l app=web
	assert_failure 1
	assert_output "error: name cannot be provided when a selector is specified"
	run kx get pods/web-0 -A
	assert_failure 1
	assert_output "error: a resource cannot be retrieved by name across all namespaces"
	run kx get pod web-0 svc/web
	assert_failure 1
	assert_output --partial "error: there is no need to specify a resource type as a separate argument"
	same_as_kubectl get pod/
	same_as_kubectl get a/b/c
}

@test "discovered types (leases, priorityclasses) equal kubectl's" {
	need_cluster
	run kx get leases -n kube-system
	assert_success
	assert_line --index 0 --regexp '^NAME +HOLDER +AGE$'
	same_as_kubectl get leases -n kube-system
	same_as_kubectl get priorityclasses
	same_as_kubectl get pc -o name
	same_as_kubectl get leases.coordination.k8s.io -A -o name
	same_as_kubectl get lease.v1.coordination.k8s.io -A
	same_as_kubectl get events.events.k8s.io -A
	same_as_kubectl get crds
	same_as_kubectl get pc,leases -A
}

@test "discovery is cached: two requests the first time, none within 6 hours" {
	need_cluster
	local dir=$KUBECACHEDIR/discovery/127.0.0.1_${KX_TEST_APISERVER##*:}
	run kx -v=6 get priorityclasses
	assert_success
	assert_output --regexp 'GET https://[^ ]+/api 200'
	assert_output --regexp 'GET https://[^ ]+/apis 200'
	[ -f "$dir/api-resources.json" ]
	assert_equal "$(stat -c %a "$dir/api-resources.json")" 600
	assert_equal "$(stat -c %a "$dir")" 700
	assert_equal "$(stat -c %a "$KUBECACHEDIR")" 700
	assert_equal "$(ls -A "$dir")" "api-resources.json" # no temporary file left
	run kx -v=6 get priorityclasses
	assert_success
	refute_output --regexp 'GET https://[^ ]+/apis? '
	# Older than 6 hours: asked again.
	touch -d '7 hours ago' "$dir/api-resources.json"
	run kx -v=6 get priorityclasses
	assert_success
	assert_output --regexp 'GET https://[^ ]+/apis 200'
}

@test "a type missing from a fresh cache is looked up on the server once more" {
	need_cluster
	local dir=$KUBECACHEDIR/discovery/127.0.0.1_${KX_TEST_APISERVER##*:}
	mkdir -p "$dir"
	# a cache from before "leases" existed
	echo '{"kind":"KxDiscoveryCache","version":1,"resources":[{"group":"scheduling.k8s.io","version":"v1","resource":"priorityclasses","singular":"priorityclass","kind":"PriorityClass","namespaced":false,"shortNames":["pc"]}]}' \
		>"$dir/api-resources.json"
	run kx -v=6 get pc -o name
	assert_success
	refute_output --regexp 'GET https://[^ ]+/apis '
	run kx -v=6 get leases -n kube-system -o name
	assert_success
	assert_output --regexp 'GET https://[^ ]+/apis 200'
	assert_output --partial "lease.coordination.k8s.io/"
	run kx get foo
	assert_failure 1
	assert_output 'error: the server doesn'"'"'t have a resource type "foo"'
}

@test "a custom resource created after the cache was written: found, with its printer columns" {
	need_cluster
	kx get priorityclasses -o name >/dev/null # the cache now predates the CRD
	local group=kx-get-$$-$RANDOM.example.com
	CRD_NAME=widgets.$group
	kubectl apply -f - >/dev/null <<EOF
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: $CRD_NAME
spec:
  group: $group
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
EOF
	kubectl wait --for=condition=Established "crd/$CRD_NAME" --timeout=20s >/dev/null
	printf 'apiVersion: %s/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3, color: blue}\n' "$group" |
		kubectl apply -f - >/dev/null
	run kx get widgets
	assert_success
	assert_line --index 0 --regexp '^NAME +SIZE +AGE$'
	assert_line --index 1 --regexp '^w1 +3 +[0-9]+s$'
	same_as_kubectl get widgets
	same_as_kubectl get wdg -o wide
	same_as_kubectl get "widget.v1.$group" -o name
	same_as_kubectl get "widgets.$group" w1 -o json
}

@test "--cache-dir: discovery kept where kubectl keeps it (DIR/discovery/HOST_PORT), default ~/.kube/cache; --discovery-cache=false keeps nothing" {
	need_cluster
	local d=$BATS_TEST_TMPDIR/cd host=127.0.0.1_${KX_TEST_APISERVER##*:}
	run kx --cache-dir "$d" get leases -n kube-system -o name
	assert_success
	assert_line --partial "lease.coordination.k8s.io/"
	kubectl --cache-dir "$d" get leases -n kube-system -o name >/dev/null
	# kx's file and kubectl's side by side, in one directory per server
	[ -f "$d/discovery/$host/api-resources.json" ] || fail "kx wrote no cache under --cache-dir"
	[ -f "$d/discovery/$host/servergroups.json" ] || fail "kubectl's cache is elsewhere: $(find "$d")"
	# KUBECACHEDIR empty or unset: ~/.kube/cache, as kubectl
	HOME=$BATS_TEST_TMPDIR/home KUBECACHEDIR= run kx get leases -n kube-system -o name
	assert_success
	[ -f "$BATS_TEST_TMPDIR/home/.kube/cache/discovery/$host/api-resources.json" ]
	# turned off: asked every time, nothing written
	run kx --discovery-cache=false --cache-dir "$BATS_TEST_TMPDIR/off" -v=6 get leases -n kube-system -o name
	assert_success
	assert_output --regexp 'GET https://[^ ]+/apis 200'
	[ ! -e "$BATS_TEST_TMPDIR/off" ]
}

@test "an unwritable cache directory does not fail the command" {
	need_cluster
	echo "not a directory" >"$BATS_TEST_TMPDIR/file"
	KUBECACHEDIR=$BATS_TEST_TMPDIR/file/cache run kx get priorityclasses -o name
	assert_success
	assert_line "priorityclass.scheduling.k8s.io/system-node-critical"
}

@test "concurrent runs share one cache safely" {
	need_cluster
	local i pids=()
	for i in 1 2 3 4 5 6; do
		kx get leases -n kube-system -o name >"$BATS_TEST_TMPDIR/out.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	for i in 1 2 3 4 5 6; do
		run cat "$BATS_TEST_TMPDIR/out.$i"
		assert_output --partial "lease.coordination.k8s.io/"
	done
	local dir=$KUBECACHEDIR/discovery/127.0.0.1_${KX_TEST_APISERVER##*:}
	assert_equal "$(ls -A "$dir")" "api-resources.json"
}

# A fake API server with only legacy discovery and no Table support.
start_fake_apiserver() {
	cat >"$BATS_TEST_TMPDIR/fake.py" <<'EOF'
import http.server, json, os, sys
data, log = sys.argv[1], sys.argv[2]
docs = {"/api": "legacy-api.json", "/apis": "legacy-apis.json",
        "/api/v1": "legacy-api-v1.json", "/apis/apps/v1": "legacy-apps-v1.json"}
pvcs = {"kind": "PersistentVolumeClaimList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
        "items": [{"metadata": {"name": "data-%d" % i, "namespace": "default", "uid": "u-%d" % i,
                                "creationTimestamp": ts}, "status": {"phase": "Pending"}}
                  for i, ts in enumerate(["2020-02-03T04:05:06Z", "2026-01-01T00:00:00Z"])]}
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.path + "\n")
        path = self.path.split("?")[0]
        if path in docs:
            with open(os.path.join(data, docs[path]), "rb") as f:
                return self.send(200, f.read())
        if path == "/api/v1/namespaces/default/persistentvolumeclaims":
            return self.send(200, json.dumps(pvcs).encode())
        self.send(404, json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "the server could not find the requested resource",
            "reason": "NotFound", "code": 404}).encode())
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
EOF
	python3 "$BATS_TEST_TMPDIR/fake.py" "$KX_ROOT/tests/unit/data/discovery" "$BATS_TEST_TMPDIR/requests" \
		>"$BATS_TEST_TMPDIR/port" &
	FAKE_PID=$!
	local i
	for i in $(seq 50); do
		[ -s "$BATS_TEST_TMPDIR/port" ] && break
		sleep 0.1
	done
	FAKE_URL=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")
}

@test "legacy discovery and a non-Table answer: NAME and AGE, as kubectl prints them" {
	start_fake_apiserver
	run kx --kubeconfig /dev/null --server "$FAKE_URL" get pvc
	assert_success
	assert_line --index 0 --regexp '^NAME +AGE$'
	assert_line --index 1 --regexp '^data-0 +6y[0-9]+d$'
	local theirs
	theirs=$(kubectl --kubeconfig /dev/null --server "$FAKE_URL" --cache-dir "$BATS_TEST_TMPDIR/kcache" get pvc 2>/dev/null)
	assert_equal "$output" "$theirs"
	run kx --kubeconfig /dev/null --server "$FAKE_URL" get pvc -o json
	assert_success
	theirs=$(kubectl --kubeconfig /dev/null --server "$FAKE_URL" --cache-dir "$BATS_TEST_TMPDIR/kcache" get pvc -o json 2>/dev/null)
	assert_equal "$output" "$theirs"
	# discovery went the legacy way (per group version), once; then the cache
	run grep -c '^/api/v1$' "$BATS_TEST_TMPDIR/requests"
	assert_output 1
	run kx --kubeconfig /dev/null --server "$FAKE_URL" get foo
	assert_failure 1
	assert_output 'error: the server doesn'"'"'t have a resource type "foo"'
}

@test "server warnings (deprecated APIs) are printed on stderr as kubectl prints them" {
	kx get endpoints >/dev/null 2>"$BATS_TEST_TMPDIR/kx.err" || true
	kubectl get endpoints >/dev/null 2>"$BATS_TEST_TMPDIR/kubectl.err" || true
	grep -q '^Warning: v1 Endpoints is deprecated' "$BATS_TEST_TMPDIR/kx.err"
	assert_equal "$(grep '^Warning:' "$BATS_TEST_TMPDIR/kx.err")" "$(grep '^Warning:' "$BATS_TEST_TMPDIR/kubectl.err")"
}
