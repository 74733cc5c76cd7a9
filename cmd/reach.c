/* SPDX-License-Identifier: Apache-2.0 */
/* kx reach (kx+): every way to a Service in one view — its cluster IP and DNS
 * name, node ports on each node's address, the load balancer's addresses,
 * external IPs, the Ingress rules that send traffic to it (as URLs), the API
 * server proxy URL for `kx proxy`, and the `kx port-forward` command; -o json
 * for scripts, --wait for an address to appear. */
#include "kx.h"

#include <kx/client.h>
#include <kx/expose.h>
#include <kx/json.h>
#include <kx/pods.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
	const char *output, *timeout, *check, *check_timeout, *check_routes, *check_ca;
	int wait, check_cluster_ip;
} o = {.timeout = "2m", .check_timeout = "3s"};

static const char *const output_choices[] = {"json", "yaml", NULL};
static const char *const check_choices[] = {"all", "any", NULL};

static const struct kx_option reach_options[] = {
	OPT_CHOICE('o', "output", &o.output, "FORMAT", NULL, output_choices,
		   "json or yaml instead of the table"),
	OPT_BOOL(0, "wait", &o.wait,
		 "Wait until a LoadBalancer or Ingress address appears (with --check: until the routes answer), then print"),
	OPT_STRING_DEF(0, "timeout", &o.timeout, "DURATION", "2m", "How long --wait waits (e.g. 30s, 5m)"),
	{KX_OPT_STRING, 0, "check", &o.check, "MODE",
	 "Probe every route from here; exit 0 when all answer (any: when one does)", "all", check_choices, NULL,
	 KX_OPT_BARE},
	OPT_STRING_DEF(0, "check-timeout", &o.check_timeout, "DURATION", "3s", "How long each probe of --check may take"),
	OPT_BOOL(0, "check-cluster-ip", &o.check_cluster_ip,
		 "Probe cluster IPs too (they answer only from a node or over a VPN into the cluster)"),
	OPT_STRING(0, "check-routes", &o.check_routes, "LIST",
		   "Probe only these routes: cluster-ip,node-port,load-balancer,external-ip,ingress,api-proxy,port-forward"),
	OPT_COMPLETE(0, "check-ca", &o.check_ca, "FILE", "file",
		     "PEM CA bundle to verify Ingress certificates with, instead of the system's"),
	OPT_END(),
};

static int checking;

/* One row; with --check, the check's STATUS and LATENCY, and its words as NOTE. */
static void row(struct kx_table *t, const char *route, const char *address, const char *port,
		const cJSON *check, const char *note)
{
	char lat[32] = "-";
	if (kx_json_get(check, "latencyMs"))
		snprintf(lat, sizeof lat, "%.1fms", kx_json_get(check, "latencyMs")->valuedouble);
	const char *st = kx_json_str(check, "status") ? kx_json_str(check, "status") : "-";
	const char *r4[] = {route, address, port, note};
	const char *r6[] = {route, address, port, st, lat, check ? kx_json_str(check, "message") : note};
	kx_table_add(t, checking ? r6 : r4);
}

#define CHECK(e) kx_json_get((e), "check")

static void print_table(const cJSON *v)
{
	struct kx_table t = {.ncols = checking ? 6 : 4};
	if (checking) {
		const char *h[] = {"ROUTE", "ADDRESS", "PORT", "STATUS", "LATENCY", "NOTE"};
		kx_table_add(&t, h);
	} else {
		row(&t, "ROUTE", "ADDRESS", "PORT", NULL, "NOTE");
	}
	char port[64], note[400];
	const cJSON *e, *p;
	/* the static checks first: they need no network and explain the rest */
	cJSON_ArrayForEach(e, kx_json_get(v, "findings")) {
		const char *check = kx_json_str(e, "check");
		const char *route = !strcmp(check, "ingressBackend") ? "ingress-backend" :
				    !strcmp(check, "targetPort") ? "target-port" : check;
		row(&t, route, kx_json_str(e, "object"), "", e, kx_json_str(e, "message"));
	}
	cJSON_ArrayForEach(e, kx_json_get(v, "clusterAddresses")) {
		snprintf(port, sizeof port, "%d", kx_json_int(e, "port", 0));
		row(&t, "cluster-ip", kx_json_str(e, "address"), port, CHECK(e), kx_json_str(v, "dns"));
	}
	if (kx_json_str(v, "clusterIP") && !strcmp(kx_json_str(v, "clusterIP"), "None"))
		row(&t, "headless", kx_json_str(v, "dns"), "", NULL, "DNS names the pods");
	if (kx_json_str(v, "externalName"))
		row(&t, "external-name", kx_json_str(v, "externalName"), "", NULL, "DNS alias (CNAME)");
	cJSON_ArrayForEach(e, kx_json_get(v, "nodePorts")) {
		snprintf(port, sizeof port, "%d", kx_json_int(e, "port", 0));
		snprintf(note, sizeof note, "node %s (%s)", kx_json_str(e, "node"), kx_json_str(e, "addressType"));
		row(&t, "node-port", kx_json_str(e, "url"), port, CHECK(e), note);
	}
	const cJSON *lb = kx_json_get(v, "loadBalancer");
	if (lb && cJSON_IsTrue(kx_json_get(lb, "pending")))
		row(&t, "load-balancer", "<pending>", "", CHECK(lb), "no address yet");
	cJSON_ArrayForEach(e, kx_json_get(lb, "addresses")) {
		snprintf(port, sizeof port, "%d", kx_json_int(e, "port", 0));
		row(&t, "load-balancer", kx_json_str(e, "url"), port, CHECK(e), "");
	}
	cJSON_ArrayForEach(e, kx_json_get(v, "externalIPs")) {
		snprintf(port, sizeof port, "%d", kx_json_int(e, "port", 0));
		row(&t, "external-ip", kx_json_str(e, "url"), port, CHECK(e), "");
	}
	cJSON_ArrayForEach(e, kx_json_get(v, "ingresses")) {
		snprintf(port, sizeof port, "%d", kx_json_int(e, "servicePort", 0));
		const cJSON *a = kx_json_get(e, "addresses");
		snprintf(note, sizeof note, "ingress/%s%s%s%s", kx_json_str(e, "ingress"),
			 cJSON_GetArraySize(a) ? " at " : " (address <pending>)",
			 cJSON_GetArraySize(a) ? cJSON_GetArrayItem(a, 0)->valuestring : "",
			 kx_json_str(e, "pathType") && !strcmp(kx_json_str(e, "pathType"), "Prefix") ? ", prefix" : "");
		row(&t, "ingress", kx_json_str(e, "url"), port, CHECK(e), note);
	}
	cJSON_ArrayForEach(p, kx_json_get(v, "proxy")) {
		snprintf(port, sizeof port, "%d", kx_json_int(p, "port", 0));
		row(&t, "api-proxy", kx_json_str(p, "url"), port, CHECK(p), "after `kx proxy`");
	}
	cJSON_ArrayForEach(p, kx_json_get(v, "portForward")) {
		snprintf(port, sizeof port, "%d", kx_json_int(p, "port", 0));
		snprintf(note, sizeof note, "then localhost:%d", kx_json_int(p, "localPort", 0));
		row(&t, "port-forward", kx_json_str(p, "command"), port, CHECK(p), note);
	}
	kx_table_print(stdout, &t);
	kx_table_free(&t);
}

/* A bare NAME, or TYPE/NAME of a Service in any of kubectl's spellings (svc/,
 * service/, services/): the same parser as exec's and port-forward's targets. */
static int service_name(const char *arg, char *name, size_t n)
{
	char resource[64];
	struct kx_errbuf eb = {0};
	if (!strchr(arg, '/')) {
		snprintf(name, n, "%s", arg);
		return *name != '\0';
	}
	return !kx_target_parse(arg, resource, sizeof resource, name, n, &eb) && !strcmp(resource, "services");
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static const char *resource_version(const cJSON *obj)
{
	const char *rv = kx_json_str(kx_json_get(obj, "metadata"), "resourceVersion");
	return rv ? rv : "";
}

/* --wait for an address: sleep until the Service or an Ingress of the namespace
 * changes (watches from the resourceVersions just read), the deadline, or a watch
 * ends (then the caller reads again and watches anew). ing_rv NULL: Ingresses are
 * not readable for this user, the Service alone is watched. */
static kx_err wait_for_change(struct kx_client *c, const char *ns, const char *name, const char *svc_rv,
			      const struct kx_buf *ing_path, const char *ing_rv, long ms,
			      struct kx_errbuf *eb)
{
	struct kx_buf sp = KX_BUF_INIT(0), ip = KX_BUF_INIT(0);
	char sel[300];
	snprintf(sel, sizeof sel, "metadata.name=%s", name);
	const char *paths[2];
	size_t n = 0;
	int changed;
	kx_err err = kx_resource_path(c, "services", ns, NULL, NULL, &sp, eb);
	if (!err && (kx_buf_query(&sp, "fieldSelector", sel) || kx_buf_query(&sp, "watch", "1") ||
		     kx_buf_query(&sp, "resourceVersion", svc_rv)))
		err = KX_ERR_NOMEM;
	paths[n++] = sp.data;
	if (!err && ing_rv) {
		if (kx_buf_appends(&ip, ing_path->data) || kx_buf_query(&ip, "watch", "1") ||
		    kx_buf_query(&ip, "resourceVersion", ing_rv))
			err = KX_ERR_NOMEM;
		paths[n++] = ip.data;
	}
	if (!err)
		err = kx_client_wait_any(c, paths, n, ms, &changed, eb);
	kx_buf_free(&sp);
	kx_buf_free(&ip);
	return err;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "k=v,k2=v2" from a Service's selector map; "" when it has none. */
static void selector_string(const cJSON *svc, char *out, size_t n)
{
	const cJSON *kv;
	*out = '\0';
	cJSON_ArrayForEach(kv, kx_json_get(kx_json_get(svc, "spec"), "selector")) if (cJSON_IsString(kv)) {
		size_t l = strlen(out);
		snprintf(out + l, n - l, "%s%s=%s", l ? "," : "", kv->string, kv->valuestring);
	}
}

/* A list the static checks read; NULL when it cannot be read (forbidden). */
static cJSON *list_of(struct kx_client *c, const char *resource, const char *ns, const char *key,
		      const char *selector)
{
	struct kx_buf path = KX_BUF_INIT(0);
	struct kx_errbuf eb = {0};
	cJSON *out = NULL;
	if (!kx_resource_path(c, resource, ns, NULL, NULL, &path, &eb) &&
	    (!key || !kx_buf_query(&path, key, selector)))
		kx_client_get(c, path.data, &out, &eb);
	kx_buf_free(&path);
	return out;
}

/* --check: the static checks, then every probe; returns whether the routes pass. */
static int check_view(struct kx_client *c, cJSON *view, const cJSON *svc, const cJSON *ings,
		      const char *ns, const char *name, long probe_ms, struct kx_errbuf *eb, kx_err *err)
{
	char sel[1024], slice_sel[400];
	selector_string(svc, sel, sizeof sel);
	snprintf(slice_sel, sizeof slice_sel, "kubernetes.io/service-name=%s", name);
	cJSON *pods = *sel ? list_of(c, "pods", ns, "labelSelector", sel) : NULL;
	cJSON *slices = list_of(c, "endpointslices", ns, "labelSelector", slice_sel);
	cJSON *svcs = list_of(c, "services", ns, NULL, NULL);
	kx_reach_static(view, svc, pods, slices, ings, svcs);
	cJSON_Delete(pods);
	cJSON_Delete(slices);
	cJSON_Delete(svcs);
	struct kx_reach_check_opts co = {.timeout_ms = probe_ms, .cluster_ip = o.check_cluster_ip,
					 .ca_file = o.check_ca, .routes = o.check_routes};
	if ((*err = kx_reach_probe(c, view, &co, eb)))
		return 0;
	int ok = 0, failed = 0, ffailed = 0, any = !strcmp(o.check, "any");
	kx_reach_tally(view, &ok, &failed, &ffailed);
	int pass = any ? ok > 0 : ok > 0 && !failed && !ffailed;
	cJSON *sum = cJSON_AddObjectToObject(view, "checkSummary");
	cJSON_AddStringToObject(sum, "mode", o.check);
	cJSON_AddBoolToObject(sum, "pass", pass);
	cJSON_AddNumberToObject(sum, "routesOk", ok);
	cJSON_AddNumberToObject(sum, "routesFailed", failed);
	cJSON_AddNumberToObject(sum, "findingsFailed", ffailed);
	return pass;
}

static int reach_run(const struct kx_invocation *inv)
{
	if (inv->argc != 1)
		return kx_usage_error(inv->path, "exactly one service is required (svc/NAME), got %d", inv->argc);
	char name[256];
	if (!service_name(inv->argv[0], name, sizeof name))
		return kx_usage_error(inv->path, "%s is not a service: use svc/NAME", inv->argv[0]);
	long timeout = kx_parse_duration_ms(o.timeout);
	if (timeout < 0)
		return kx_usage_error(inv->path, "invalid --timeout %s", o.timeout);
	long probe_ms = kx_parse_duration_ms(o.check_timeout);
	if (probe_ms <= 0)
		return kx_usage_error(inv->path, "invalid --check-timeout %s", o.check_timeout);
	struct kx_errbuf reb = {0};
	if (kx_reach_routes_check(o.check_routes, &reb))
		return kx_usage_error(inv->path, "--check-routes: %s", reb.msg);
	checking = o.check != NULL;
	struct kx_client *c = kx_connect(NULL);
	if (!c)
		return KX_EXIT_FAIL;
	const char *ns = kx_client_namespace(c);
	struct kx_buf svc_path = KX_BUF_INIT(0), ing_path = KX_BUF_INIT(0);
	struct kx_errbuf eb = {0};
	int rc = KX_EXIT_FAIL, pass = 0, timed_out = 0;
	cJSON *view = NULL;
	kx_err err = kx_resource_path(c, "services", ns, name, NULL, &svc_path, &eb);
	if (!err)
		err = kx_resource_path(c, "ingresses", ns, NULL, NULL, &ing_path, &eb);
	long long deadline = now_ms() + timeout;
	cJSON *nodes = NULL;
	int first = 1;
	while (!err) {
		cJSON *svc = NULL, *ings = NULL;
		if ((err = kx_client_get(c, svc_path.data, &svc, &eb)))
			break;
		/* Nodes and Ingresses may be forbidden to this user: then they are left
		 * out. Node addresses are read once; --wait re-reads the rest. */
		struct kx_errbuf ignored = {0};
		if (first)
			kx_client_get(c, "/api/v1/nodes", &nodes, &ignored);
		first = 0;
		kx_client_get(c, ing_path.data, &ings, &ignored);
		int addresses = 0;
		cJSON_Delete(view);
		view = kx_reach_view(svc, nodes, ings, &addresses);
		if (checking) {
			long left = (long)(deadline - now_ms());
			pass = check_view(c, view, svc, ings, ns, name, o.wait && left < probe_ms ? (left > 100 ? left : 100) : probe_ms,
					  &eb, &err);
		}
		char svc_rv[64] = "", ing_rv[64] = "";
		snprintf(svc_rv, sizeof svc_rv, "%s", resource_version(svc));
		snprintf(ing_rv, sizeof ing_rv, "%s", resource_version(ings));
		cJSON_Delete(svc);
		cJSON_Delete(ings);
		if (err || !o.wait || (checking ? pass : addresses))
			break;
		long left = (long)(deadline - now_ms());
		if (left <= 0) {
			if (!checking) {
				kx_error("timed out waiting for a LoadBalancer or Ingress address of service/%s", name);
				goto out;
			}
			timed_out = 1;
			break;
		}
		/* Routes that do not answer yet are probed again after a pause; an
		 * address is waited for with watches, not by polling. */
		if (checking || !svc_rv[0])
			sleep_ms(500);
		else if ((err = wait_for_change(c, ns, name, svc_rv, &ing_path, ing_rv[0] ? ing_rv : NULL, left, &eb)))
			break;
	}
	if (err) {
		rc = kx_report_call(c, err, &eb);
		goto out;
	}
	if (o.output)
		rc = kx_print_doc(view, o.output);
	else {
		print_table(view);
		rc = KX_EXIT_OK;
	}
	if (checking && !pass && rc == KX_EXIT_OK) {
		const cJSON *sum = kx_json_get(view, "checkSummary");
		int ok = kx_json_int(sum, "routesOk", 0), failed = kx_json_int(sum, "routesFailed", 0);
		int ff = kx_json_int(sum, "findingsFailed", 0);
		fflush(stdout); /* the verdict comes after the result it sums up */
		if (timed_out)
			kx_error("timed out waiting for the routes of service/%s to answer", name);
		else if (!ok)
			kx_error("no route to service/%s answered", name);
		else
			kx_error("%d of %d routes to service/%s failed%s", failed, ok + failed, name,
				 ff ? ", and the static checks found problems" : "");
		rc = KX_EXIT_FAIL;
	}
out:
	cJSON_Delete(nodes);
	cJSON_Delete(view);
	kx_buf_free(&svc_path);
	kx_buf_free(&ing_path);
	kx_client_free(c);
	return rc;
}

const struct kx_command kx_cmd_reach = {
	.name = "reach",
	.run = reach_run,
	.summary = "Show every way to reach a service: node ports, load balancer, ingress URLs… (kx+)",
	.usage = "kx reach svc/NAME [-o json|yaml] [--wait [--timeout=2m]] [--check[=all|any] [--check-timeout=3s]]",
	.description = "Lists, for one Service: its cluster IP and DNS name (reachable from inside the\n"
		       "cluster), each node port on every node's address (ExternalIP, else InternalIP),\n"
		       "the load balancer's addresses or <pending>, external IPs, every Ingress rule that\n"
		       "sends traffic to it as a URL (https when a TLS entry covers the host; the host,\n"
		       "else the Ingress's address), the API server proxy URL usable through `kx proxy`,\n"
		       "and the `kx port-forward` command. --wait watches the Service and Ingresses\n"
		       "until a load balancer or Ingress address appears, for scripts that need the\n"
		       "address.\n\n"
		       "--check probes every route from here, all at once, each within --check-timeout:\n"
		       "static checks first (selector, Ready endpoints, targetPort names, Ingress\n"
		       "backends), then node ports and load-balancer addresses (TCP; HTTP GET for http\n"
		       "ports), Ingress URLs (Host, SNI and certificate checked; --check-ca for a private\n"
		       "CA), and the API server's service proxy. The table gains STATUS and LATENCY, and\n"
		       "each failure names its layer. Exit 0 only when every checked route is ok\n"
		       "(--check=any: one is enough); --wait --check waits until they answer. Cluster\n"
		       "IPs only with --check-cluster-ip; port-forward is not checked yet.",
	.examples = "  # Where can I reach service web?\n  kx reach svc/web\n\n"
		    "  # The load balancer's first URL, once it has one\n"
		    "  kx reach svc/web --wait --timeout=5m -o json | jq -r '.loadBalancer.addresses[0].url'\n\n"
		    "  # Which routes work from here, and why the others do not\n  kx reach svc/web --check\n\n"
		    "  # CI: wait until at least one route answers\n  kx reach svc/web --wait --check=any --timeout=2m",
	.options = reach_options,
	.args_complete = "resource",
};
