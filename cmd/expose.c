/* SPDX-License-Identifier: Apache-2.0 */
/* kx expose: a Service for a pod, service, replication controller, deployment,
 * replica set or (kx+) stateful set, with the selector, ports, protocols and
 * labels read from it as kubectl reads them; kx+ --node-port. */
#include "kx.h"

#include <kx/client.h>
#include <kx/expose.h>
#include <stdlib.h>
#include <string.h>

static struct {
	const char *port, *target_port, *protocol, *type, *name, *selector, *labels;
	const char *external_ip, *load_balancer_ip, *session_affinity, *cluster_ip, *node_port;
	const char *dry_run, *output, *field_manager;
} o = {.field_manager = "kx-expose"};

static const char *const type_choices[] = {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName", NULL};

static const struct kx_option expose_options[] = {
	OPT_STRING(0, "port", &o.port, "PORT",
		   "The port the service serves on; copied from the resource when not given"),
	OPT_STRING(0, "target-port", &o.target_port, "PORT|NAME",
		   "The port (number or name) on the pods the service sends traffic to"),
	OPT_STRING(0, "protocol", &o.protocol, "PROTOCOL",
		   "TCP, UDP or SCTP; copied from the resource's ports when not given"),
	OPT_CHOICE(0, "type", &o.type, "TYPE", "ClusterIP", type_choices, "Type of the service"),
	OPT_STRING(0, "name", &o.name, "NAME", "The name of the new service (default: the resource's)"),
	OPT_STRING(0, "selector", &o.selector, "K=V,...",
		   "Label selector of the service (default: the resource's)"),
	OPT_STRING('l', "labels", &o.labels, "K=V,...", "Labels of the service (default: the resource's)"),
	OPT_STRING(0, "external-ip", &o.external_ip, "IP", "An external IP address to accept traffic on"),
	OPT_STRING(0, "load-balancer-ip", &o.load_balancer_ip, "IP",
		   "IP to ask of the load balancer (type LoadBalancer only)"),
	OPT_STRING(0, "session-affinity", &o.session_affinity, "None|ClientIP", "Session affinity"),
	OPT_STRING(0, "cluster-ip", &o.cluster_ip, "IP|None",
		   "ClusterIP to assign; empty allocates, 'None' makes a headless service"),
	OPT_STRING(0, "node-port", &o.node_port, "PORT[,PORT...]",
		   "kx+: node port(s) for the service's ports, in order (implies --type=NodePort)"),
	OPT_CHOICE('o', "output", &o.output, "FORMAT", NULL, kx_create_output_choices,
		   "Print the service as json or yaml, or its name, instead of the result line"),
	OPT_CHOICE(0, "dry-run", &o.dry_run, "STRATEGY", "none", kx_dry_run_choices,
		   "client: only print the service; server: let the server check it, keep nothing"),
	OPT_STRING_DEF(0, "field-manager", &o.field_manager, "NAME", "kx-expose",
		       "Name of the manager used to track field ownership"),
	OPT_END(),
};

static int exposable(const char *kind)
{
	static const char *const kinds[] = {"Pod", "Service", "ReplicationController", "Deployment",
					    "ReplicaSet", "StatefulSet", NULL};
	for (const char *const *k = kinds; *k; k++)
		if (!strcmp(*k, kind))
			return 1;
	return 0;
}

/* Expose one object; returns an exit code. */
static int expose_one(struct kx_client *c, const char *type_arg, const char *name)
{
	struct kx_errbuf eb = {0};
	struct kx_resource_type t;
	kx_err err = kx_resource_resolve(c, type_arg, &t, &eb);
	if (err)
		return kx_report_call(c, err, &eb);
	struct kx_buf path = KX_BUF_INIT(0);
	cJSON *obj = NULL, *svc = NULL, *created = NULL;
	struct kx_expose_source src = {0};
	int rc = KX_EXIT_FAIL;
	if ((err = kx_resource_type_path(&t, kx_client_namespace(c), name, NULL, &path, &eb)) ||
	    (err = kx_client_get(c, path.data, &obj, &eb))) {
		rc = kx_report_call(c, err, &eb);
		goto out;
	}
	if (!exposable(t.kind)) {
		kx_error("cannot expose a %s", t.kind);
		goto out;
	}
	/* the server's GET may leave kind out of typed answers: take the mapping's */
	if (!cJSON_GetObjectItemCaseSensitive(obj, "kind"))
		cJSON_AddStringToObject(obj, "kind", t.kind);
	if ((err = kx_expose_inspect(obj, &src, &eb))) {
		rc = kx_report(err, &eb);
		goto out;
	}
	int headless = o.cluster_ip && !strcmp(o.cluster_ip, "None");
	struct kx_service_spec spec = {
		.namespace_ = kx_g.namespace_,
		.selector = o.selector,
		.labels = o.labels,
		.ports = o.port,
		.protocols = src.protocols,
		.protocol = o.protocol,
		.target_port = o.target_port,
		.type = o.type,
		.external_ip = o.external_ip,
		.load_balancer_ip = o.load_balancer_ip,
		.session_affinity = o.session_affinity,
		.cluster_ip = o.cluster_ip,
		.node_ports = o.node_port,
	};
	char default_name[64];
	snprintf(default_name, sizeof default_name, "%.63s", name); /* a DNS-1035 label's length */
	spec.name = o.name && *o.name ? o.name : default_name;
	if (!o.selector || !*o.selector) {
		if (!src.selector) {
			kx_error("couldn't retrieve selectors via --selector flag or introspection: %s",
				 src.selector_error);
			goto out;
		}
		spec.selector = src.selector;
	}
	if (!o.port || !*o.port) {
		if (!src.nports && !headless) {
			kx_error("couldn't find port via --port flag or introspection");
			goto out;
		}
		spec.ports = src.ports;
	}
	if (!o.labels || !*o.labels)
		spec.labels = src.labels;
	if (o.node_port && !o.type)
		spec.type = "NodePort";
	else if (o.node_port && strcmp(o.type, "NodePort") && strcmp(o.type, "LoadBalancer")) {
		kx_error("--node-port needs --type=NodePort or --type=LoadBalancer, not %s", o.type);
		goto out;
	}
	if ((err = kx_service_build(&spec, &svc, &eb))) {
		rc = kx_report(err, &eb);
		goto out;
	}
	if (kx_dry_run_client(o.dry_run)) {
		rc = kx_print_result(svc, o.output, "service", "exposed", o.dry_run);
		goto out;
	}
	if ((err = kx_create_send(c, "services", svc, o.dry_run, o.field_manager, &created, &eb)))
		rc = kx_report_write(c, err, &eb);
	else
		rc = kx_print_result(created, o.output, "service", "exposed", o.dry_run);
out:
	kx_expose_source_free(&src);
	cJSON_Delete(created);
	cJSON_Delete(svc);
	cJSON_Delete(obj);
	kx_buf_free(&path);
	return rc;
}

static int expose_run(const struct kx_invocation *inv)
{
	if (!inv->argc) {
		kx_error("You must provide one or more resources by argument or filename.\n"
			 "Example resource specifications include:\n"
			 "   '<resource> <name>'\n"
			 "   '<resource>/<name>'");
		return KX_EXIT_FAIL;
	}
	int slashed = strchr(inv->argv[0], '/') != NULL;
	for (int i = 1; i < inv->argc; i++)
		if ((strchr(inv->argv[i], '/') != NULL) != slashed) {
			kx_error("there is no need to specify a resource type as a separate argument when "
				 "passing arguments in resource/name form (e.g. 'kx expose resource/<resource_name>' "
				 "instead of 'kx expose resource resource/<resource_name>'");
			return KX_EXIT_FAIL;
		}
	if (!slashed && inv->argc == 1) {
		kx_error("resource(s) were provided, but no name was specified");
		return KX_EXIT_FAIL;
	}
	struct kx_client *c = kx_connect(NULL);
	if (!c)
		return KX_EXIT_FAIL;
	int rc = KX_EXIT_OK;
	for (int i = slashed ? 0 : 1; i < inv->argc; i++) {
		char type[256], name[256];
		if (slashed) {
			const char *a = inv->argv[i], *slash = strchr(a, '/');
			if (slash == a || !slash[1] || strchr(slash + 1, '/')) {
				kx_error("arguments in resource/name form must have a single resource and name");
				rc = KX_EXIT_FAIL;
				continue;
			}
			snprintf(type, sizeof type, "%.*s", (int)(slash - a), a);
			snprintf(name, sizeof name, "%s", slash + 1);
		} else {
			snprintf(type, sizeof type, "%s", inv->argv[0]);
			snprintf(name, sizeof name, "%s", inv->argv[i]);
		}
		if (expose_one(c, type, name))
			rc = KX_EXIT_FAIL;
	}
	kx_client_free(c);
	return rc;
}

const struct kx_command kx_cmd_expose = {
	.name = "expose",
	.run = expose_run,
	.summary = "Expose a pod, service, deployment, replica set, rc or stateful set as a new Service",
	.usage = "kx expose (TYPE NAME... | TYPE/NAME...) [--port=PORT] [--target-port=PORT|NAME] [--protocol=TCP|UDP|SCTP]\n"
		 "      [--type=ClusterIP|NodePort|LoadBalancer|ExternalName] [--name=NAME] [--selector=K=V] [-l K=V]\n"
		 "      [--external-ip=IP] [--load-balancer-ip=IP] [--session-affinity=None|ClientIP] [--cluster-ip=IP|None]\n"
		 "      [--node-port=PORT[,PORT...]] [--dry-run=none|client|server] [-o json|yaml|name]",
	.description = "Looks the resource up and uses its selector (a pod: its labels) as the new service's\n"
		       "selector, its ports (several become port-1..n, targetPort = port) and their protocols,\n"
		       "and its labels, unless flags say otherwise — as kubectl expose does. A deployment,\n"
		       "replica set or stateful set can be exposed only when its selector is matchLabels only.\n"
		       "kx+: stateful sets can be exposed, and --node-port chooses the node ports.",
	.examples = "  # Port 80 of the service to port 8000 of deployment nginx's pods\n"
		    "  kx expose deployment nginx --port=80 --target-port=8000\n\n"
		    "  # Every port of pod web-0, as a NodePort service on node port 30080 (kx+)\n"
		    "  kx expose pod web-0 --port=80 --node-port=30080\n\n"
		    "  # A headless service for a stateful set (kx+)\n"
		    "  kx expose sts db --cluster-ip=None --name=db-headless\n\n"
		    "  # Show the service kx would create, as YAML\n"
		    "  kx expose deploy/web --type=LoadBalancer --dry-run=client -o yaml",
	.options = expose_options,
	.args_complete = "resource",
};
