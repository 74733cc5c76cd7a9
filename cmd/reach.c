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
	const char *output, *timeout;
	int wait;
} o = {.timeout = "2m"};

static const char *const output_choices[] = {"json", "yaml", NULL};

static const struct kx_option reach_options[] = {
	OPT_CHOICE('o', "output", &o.output, "FORMAT", NULL, output_choices,
		   "json or yaml instead of the table"),
	OPT_BOOL(0, "wait", &o.wait,
		 "Wait until a LoadBalancer or Ingress address appears, then print"),
	OPT_STRING_DEF(0, "timeout", &o.timeout, "DURATION", "2m", "How long --wait waits (e.g. 30s, 5m)"),
	OPT_END(),
};

static void row(struct kx_table *t, const char *route, const char *address, const char *port,
		const char *note)
{
	const char *r[] = {route, address, port, note};
	kx_table_add(t, r);
}

static void print_table(const cJSON *v)
{
	struct kx_table t = {.ncols = 4};
	row(&t, "ROUTE", "ADDRESS", "PORT", "NOTE");
	char port[64], note[400];
	const cJSON *e, *p;
	cJSON_ArrayForEach(e, kx_json_get(v, "clusterAddresses")) {
		snprintf(port, sizeof port, "%d", kx_json_int(e, "port", 0));
		row(&t, "cluster-ip", kx_json_str(e, "address"), port, kx_json_str(v, "dns"));
	}
	if (kx_json_str(v, "clusterIP") && !strcmp(kx_json_str(v, "clusterIP"), "None"))
		row(&t, "headless", kx_json_str(v, "dns"), "", "DNS names the pods");
	if (kx_json_str(v, "externalName"))
		row(&t, "external-name", kx_json_str(v, "externalName"), "", "DNS alias (CNAME)");
	cJSON_ArrayForEach(e, kx_json_get(v, "nodePorts")) {
		snprintf(port, sizeof port, "%d", kx_json_int(e, "port", 0));
		snprintf(note, sizeof note, "node %s (%s)", kx_json_str(e, "node"), kx_json_str(e, "addressType"));
		row(&t, "node-port", kx_json_str(e, "url"), port, note);
	}
	const cJSON *lb = kx_json_get(v, "loadBalancer");
	if (lb && cJSON_IsTrue(kx_json_get(lb, "pending")))
		row(&t, "load-balancer", "<pending>", "", "no address yet");
	cJSON_ArrayForEach(e, kx_json_get(lb, "addresses")) {
		snprintf(port, sizeof port, "%d", kx_json_int(e, "port", 0));
		row(&t, "load-balancer", kx_json_str(e, "url"), port, "");
	}
	cJSON_ArrayForEach(e, kx_json_get(v, "externalIPs")) {
		snprintf(port, sizeof port, "%d", kx_json_int(e, "port", 0));
		row(&t, "external-ip", kx_json_str(e, "url"), port, "");
	}
	cJSON_ArrayForEach(e, kx_json_get(v, "ingresses")) {
		snprintf(port, sizeof port, "%d", kx_json_int(e, "servicePort", 0));
		const cJSON *a = kx_json_get(e, "addresses");
		snprintf(note, sizeof note, "ingress/%s%s%s%s", kx_json_str(e, "ingress"),
			 cJSON_GetArraySize(a) ? " at " : " (address <pending>)",
			 cJSON_GetArraySize(a) ? cJSON_GetArrayItem(a, 0)->valuestring : "",
			 kx_json_str(e, "pathType") && !strcmp(kx_json_str(e, "pathType"), "Prefix") ? ", prefix" : "");
		row(&t, "ingress", kx_json_str(e, "url"), port, note);
	}
	cJSON_ArrayForEach(p, kx_json_get(v, "proxy")) {
		snprintf(port, sizeof port, "%d", kx_json_int(p, "port", 0));
		row(&t, "api-proxy", kx_json_str(p, "url"), port, "after `kx proxy`");
	}
	cJSON_ArrayForEach(p, kx_json_get(v, "portForward")) {
		snprintf(port, sizeof port, "%d", kx_json_int(p, "port", 0));
		snprintf(note, sizeof note, "then localhost:%d", kx_json_int(p, "localPort", 0));
		row(&t, "port-forward", kx_json_str(p, "command"), port, note);
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

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	struct kx_client *c = kx_connect(NULL);
	if (!c)
		return KX_EXIT_FAIL;
	const char *ns = kx_client_namespace(c);
	struct kx_buf svc_path = KX_BUF_INIT(0), ing_path = KX_BUF_INIT(0);
	struct kx_errbuf eb = {0};
	int rc = KX_EXIT_FAIL;
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
		cJSON_Delete(svc);
		cJSON_Delete(ings);
		if (!o.wait || addresses)
			break;
		if (now_ms() >= deadline) {
			kx_error("timed out waiting for a LoadBalancer or Ingress address of service/%s", name);
			goto out;
		}
		sleep_ms(500);
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
	.usage = "kx reach svc/NAME [-o json|yaml] [--wait [--timeout=2m]]",
	.description = "Lists, for one Service: its cluster IP and DNS name (reachable from inside the\n"
		       "cluster), each node port on every node's address (ExternalIP, else InternalIP),\n"
		       "the load balancer's addresses or <pending>, external IPs, every Ingress rule that\n"
		       "sends traffic to it as a URL (https when a TLS entry covers the host; the host,\n"
		       "else the Ingress's address), the API server proxy URL usable through `kx proxy`,\n"
		       "and the `kx port-forward` command. --wait polls (every 0.5 s) until a load\n"
		       "balancer or Ingress address appears, for scripts that need the address.",
	.examples = "  # Where can I reach service web?\n  kx reach svc/web\n\n"
		    "  # The load balancer's first URL, once it has one\n"
		    "  kx reach svc/web --wait --timeout=5m -o json | jq -r '.loadBalancer.addresses[0].url'",
	.options = reach_options,
	.args_complete = "resource",
};
