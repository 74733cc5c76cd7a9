/* SPDX-License-Identifier: Apache-2.0 */
/* kx create: objects from flags, as kubectl's generators build them —
 * `create service clusterip|nodeport|loadbalancer|externalname` and
 * `create ingress` — printed (--dry-run=client), checked by the server
 * (--dry-run=server) or created. The objects come from libkx (kx/expose.h). */
#include "kx.h"

#include <kx/client.h>
#include <kx/expose.h>
#include <stdlib.h>
#include <string.h>

const char *const kx_dry_run_choices[] = {"none", "client", "server", NULL};
const char *const kx_create_output_choices[] = {"json", "yaml", "name", NULL};

int kx_dry_run_client(const char *dry_run)
{
	return dry_run && !strcmp(dry_run, "client");
}

int kx_report_write(struct kx_client *c, kx_err err, const struct kx_errbuf *eb)
{
	const struct kx_status *st = err == KX_ERR_API ? kx_client_status(c) : NULL;
	if (!st || st->code != 422 || !st->kind[0] || !st->name[0])
		return kx_report_call(c, err, eb);
	/* kubectl: "The Service \"x\" is invalid: field: detail", and with several
	 * causes one per line after "* ". The server's message lists them as
	 * "[c1, c2]"; a cause starts with its field path ("spec.ports[0].port: "). */
	const char *m = st->message, *colon = strstr(m, " is invalid: ");
	size_t ml = strlen(m);
	if (!colon || colon[13] != '[' || m[ml - 1] != ']') {
		fprintf(stderr, "The %s\n", m);
		return KX_EXIT_FAIL;
	}
	fprintf(stderr, "The %.*s: ", (int)(colon + 11 - m), m);
	const char *p = colon + 14, *end = m + ml - 1;
	fputs("\n* ", stderr);
	while (p < end) {
		const char *q = p;
		for (; q < end; q++) {
			if (q[0] != ',' || q[1] != ' ')
				continue;
			size_t f = strspn(q + 2, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[]-");
			if (f && q[2 + f] == ':' && q[3 + f] == ' ')
				break;
		}
		fwrite(p, 1, (size_t)(q - p), stderr);
		p = q < end ? q + 2 : end;
		if (p < end)
			fputs("\n* ", stderr);
	}
	fputc('\n', stderr);
	return KX_EXIT_FAIL;
}

kx_err kx_create_send(struct kx_client *c, const char *resource, const cJSON *obj,
		      const char *dry_run, const char *field_manager, cJSON **out, struct kx_errbuf *eb)
{
	struct kx_buf path = KX_BUF_INIT(0);
	kx_err err = kx_resource_path(c, resource, kx_client_namespace(c), NULL, NULL, &path, eb);
	if (!err)
		err = kx_buf_printf(&path, "?fieldManager=%s", field_manager);
	if (!err && dry_run && !strcmp(dry_run, "server"))
		err = kx_buf_appends(&path, "&dryRun=All");
	if (!err)
		err = kx_client_json(c, "POST", path.data, obj, out, eb);
	kx_buf_free(&path);
	return err;
}

/* Send (or --dry-run=server check) a built object and print the result; a
 * failure reads "error: <what>: <server's message>" as kubectl's create words it. */
static int send_and_print(const cJSON *obj, const char *resource, const char *type,
			  const char *dry_run, const char *output, const char *field_manager,
			  const char *what)
{
	if (kx_dry_run_client(dry_run))
		return kx_print_result(obj, output, type, "created", dry_run);
	struct kx_client *c = kx_connect(NULL);
	if (!c)
		return KX_EXIT_FAIL;
	cJSON *created = NULL;
	struct kx_errbuf eb = {0};
	int rc = KX_EXIT_FAIL;
	kx_err err = kx_create_send(c, resource, obj, dry_run, field_manager, &created, &eb);
	const struct kx_status *st = err == KX_ERR_API ? kx_client_status(c) : NULL;
	if (st)
		kx_error("%s: %s", what, st->message);
	else if (err)
		kx_report_call(c, err, &eb);
	else
		rc = kx_print_result(created, output, type, "created", dry_run);
	cJSON_Delete(created);
	kx_client_free(c);
	return rc;
}

/* ----------------------------------------------------------- create service */

static struct {
	struct kx_strlist tcp;
	const char *clusterip, *external_name, *dry_run, *output, *field_manager;
	long node_port;
} so = {.field_manager = "kx-create"};

#define SERVICE_COMMON_OPTIONS                                                                  \
	OPT_CHOICE('o', "output", &so.output, "FORMAT", NULL, kx_create_output_choices,         \
		   "Print the object as json or yaml, or its name, instead of the result line"), \
	OPT_CHOICE(0, "dry-run", &so.dry_run, "STRATEGY", "none", kx_dry_run_choices,           \
		   "client: only print the object; server: let the server check it, keep nothing"), \
	OPT_STRING_DEF(0, "field-manager", &so.field_manager, "NAME", "kx-create",              \
		       "Name of the manager used to track field ownership")

#define TCP_OPTION                                                         \
	OPT_LIST(0, "tcp", &so.tcp, "PORT[:TARGET]",                       \
		 "Port pairs, '<port>:<targetPort>'; repeat or separate with commas")

static const struct kx_option clusterip_options[] = {
	TCP_OPTION,
	OPT_STRING(0, "clusterip", &so.clusterip, "IP",
		   "Assign your own ClusterIP or set to 'None' for a 'headless' service (no loadbalancing)"),
	SERVICE_COMMON_OPTIONS,
	OPT_END(),
};
static const struct kx_option nodeport_options[] = {
	TCP_OPTION,
	OPT_INT(0, "node-port", &so.node_port, "PORT", "0", "Port used to expose the service on each node in a cluster"),
	SERVICE_COMMON_OPTIONS,
	OPT_END(),
};
static const struct kx_option loadbalancer_options[] = {
	TCP_OPTION,
	SERVICE_COMMON_OPTIONS,
	OPT_END(),
};
static const struct kx_option externalname_options[] = {
	TCP_OPTION,
	OPT_STRING(0, "external-name", &so.external_name, "NAME", "External name of service (required)"),
	SERVICE_COMMON_OPTIONS,
	OPT_END(),
};

/* "exactly one NAME is required, got N" */
static int one_name(const struct kx_invocation *inv)
{
	if (inv->argc == 1)
		return 0;
	kx_error("exactly one NAME is required, got %d", inv->argc);
	fprintf(stderr, "See 'kx %s --help' for usage.\n", inv->path);
	return 1;
}

/* --tcp values split on commas, as a Go string slice flag does. */
static int split_tcp(const char ***out, size_t *n, char **storage)
{
	size_t total = 0;
	for (size_t i = 0; i < so.tcp.n; i++)
		total += strlen(so.tcp.items[i]) + 1;
	char *buf = malloc(total + 1);
	const char **items = calloc(total + 1, sizeof *items);
	if (!buf || !items) {
		free(buf);
		free(items);
		return -1;
	}
	size_t k = 0;
	char *w = buf;
	for (size_t i = 0; i < so.tcp.n; i++) {
		strcpy(w, so.tcp.items[i]);
		for (char *p = w, *next; p; p = next) {
			next = strchr(p, ',');
			if (next)
				*next++ = '\0';
			items[k++] = p;
		}
		w += strlen(w) + 1;
	}
	*out = items;
	*n = k;
	*storage = buf;
	return 0;
}

static int service_run(const struct kx_invocation *inv, const char *type)
{
	if (one_name(inv))
		return KX_EXIT_FAIL;
	if (!strcmp(type, "ExternalName") && !so.external_name) {
		kx_error("required flag(s) \"external-name\" not set");
		return KX_EXIT_FAIL;
	}
	const char **tcp = NULL;
	size_t ntcp = 0;
	char *storage = NULL;
	if (split_tcp(&tcp, &ntcp, &storage)) {
		kx_error("out of memory");
		return KX_EXIT_FAIL;
	}
	struct kx_create_service_spec spec = {
		.name = inv->argv[0],
		.namespace_ = kx_g.namespace_,
		.type = type,
		.tcp = tcp,
		.ntcp = ntcp,
		.cluster_ip = so.clusterip,
		.node_port = so.node_port,
		.external_name = so.external_name,
	};
	cJSON *svc = NULL;
	struct kx_errbuf eb = {0};
	kx_err err = kx_create_service_build(&spec, &svc, &eb);
	int rc;
	if (err) {
		rc = kx_report(err, &eb);
	} else {
		char what[64];
		snprintf(what, sizeof what, "failed to create %s service", type);
		rc = send_and_print(svc, "services", "service", so.dry_run, so.output, so.field_manager, what);
	}
	cJSON_Delete(svc);
	free(tcp);
	free(storage);
	return rc;
}

static int clusterip_run(const struct kx_invocation *inv)
{
	return service_run(inv, "ClusterIP");
}
static int nodeport_run(const struct kx_invocation *inv)
{
	return service_run(inv, "NodePort");
}
static int loadbalancer_run(const struct kx_invocation *inv)
{
	return service_run(inv, "LoadBalancer");
}
static int externalname_run(const struct kx_invocation *inv)
{
	return service_run(inv, "ExternalName");
}

static const struct kx_command service_clusterip = {
	.name = "clusterip",
	.run = clusterip_run,
	.summary = "Create a ClusterIP service",
	.usage = "kx create service clusterip NAME [--tcp=<port>:<targetPort>] [--clusterip=IP|None] [--dry-run=none|client|server] [-o json|yaml|name]",
	.examples = "  # A ClusterIP service my-cs: port 5678 to the pods' 8080\n"
		    "  kx create service clusterip my-cs --tcp=5678:8080\n\n"
		    "  # Headless\n  kx create service clusterip my-cs --clusterip=None",
	.options = clusterip_options,
};
static const struct kx_command service_nodeport = {
	.name = "nodeport",
	.run = nodeport_run,
	.summary = "Create a NodePort service",
	.usage = "kx create service nodeport NAME [--tcp=port:targetPort] [--node-port=PORT] [--dry-run=none|client|server] [-o json|yaml|name]",
	.examples = "  kx create service nodeport my-ns --tcp=5678:8080\n"
		    "  kx create service nodeport my-ns --tcp=80:http --node-port=30080",
	.options = nodeport_options,
};
static const struct kx_command service_loadbalancer = {
	.name = "loadbalancer",
	.run = loadbalancer_run,
	.summary = "Create a LoadBalancer service",
	.usage = "kx create service loadbalancer NAME [--tcp=port:targetPort] [--dry-run=none|client|server] [-o json|yaml|name]",
	.examples = "  kx create service loadbalancer my-lbs --tcp=5678:8080",
	.options = loadbalancer_options,
};
static const struct kx_command service_externalname = {
	.name = "externalname",
	.run = externalname_run,
	.summary = "Create an ExternalName service",
	.usage = "kx create service externalname NAME --external-name external.name [--dry-run=none|client|server] [-o json|yaml|name]",
	.description = "An ExternalName service is a DNS alias (CNAME) for a name outside the cluster.",
	.examples = "  kx create service externalname my-ns --external-name bar.com",
	.options = externalname_options,
};

static const struct kx_command *const service_subcommands[] = {
	&service_clusterip, &service_externalname, &service_loadbalancer, &service_nodeport, NULL,
};

static const struct kx_command create_service = {
	.name = "service",
	.summary = "Create a service using a specified subcommand (clusterip, nodeport, loadbalancer, externalname)",
	.usage = "kx create service clusterip|nodeport|loadbalancer|externalname NAME [options]",
	.examples = "  # A ClusterIP service: port 80 to the pods' port 8080\n"
		    "  kx create service clusterip web --tcp=80:8080\n\n"
		    "  # A NodePort service on a chosen node port\n"
		    "  kx create service nodeport web --tcp=80:http --node-port=30080",
	.subcommands = service_subcommands,
};
/* kubectl's alias */
static const struct kx_command create_svc = {
	.name = "svc",
	.summary = "Alias of create service",
	.usage = "kx create svc clusterip|nodeport|loadbalancer|externalname NAME [options]",
	.examples = "  kx create svc clusterip web --tcp=80:8080",
	.subcommands = service_subcommands,
	.flags = KX_CMD_HIDDEN,
};

/* ----------------------------------------------------------- create ingress */

static struct {
	struct kx_strlist rules, annotations;
	const char *ingress_class, *default_backend, *dry_run, *output, *field_manager;
} io = {.field_manager = "kx-create"};

static const struct kx_option ingress_options[] = {
	OPT_LIST(0, "rule", &io.rules, "host/path=svc:port[,tls[=secret]]",
		 "A rule; a path ending in '*' is pathType Prefix, else Exact; an empty host catches all"),
	OPT_STRING(0, "class", &io.ingress_class, "CLASS", "Ingress class to be used"),
	OPT_STRING(0, "default-backend", &io.default_backend, "SVC:PORT",
		   "Default service for backend, in format of svcname:port"),
	OPT_LIST(0, "annotation", &io.annotations, "KEY=VALUE", "Annotation to insert in the ingress object"),
	OPT_CHOICE('o', "output", &io.output, "FORMAT", NULL, kx_create_output_choices,
		   "Print the object as json or yaml, or its name, instead of the result line"),
	OPT_CHOICE(0, "dry-run", &io.dry_run, "STRATEGY", "none", kx_dry_run_choices,
		   "client: only print the object; server: let the server check it, keep nothing"),
	OPT_STRING_DEF(0, "field-manager", &io.field_manager, "NAME", "kx-create",
		       "Name of the manager used to track field ownership"),
	OPT_END(),
};

static int ingress_run(const struct kx_invocation *inv)
{
	if (one_name(inv))
		return KX_EXIT_FAIL;
	struct kx_ingress_spec spec = {
		.name = inv->argv[0],
		.namespace_ = kx_g.namespace_,
		.ingress_class = io.ingress_class,
		.default_backend = io.default_backend,
		.rules = io.rules.items,
		.nrules = io.rules.n,
		.annotations = io.annotations.items,
		.nannotations = io.annotations.n,
	};
	cJSON *ing = NULL;
	struct kx_errbuf eb = {0};
	kx_err err = kx_ingress_build(&spec, &ing, &eb);
	if (err)
		return kx_report(err, &eb);
	int rc = send_and_print(ing, "ingresses", "ingress.networking.k8s.io", io.dry_run, io.output,
				io.field_manager, "failed to create ingress");
	cJSON_Delete(ing);
	return rc;
}

static const struct kx_command create_ingress = {
	.name = "ingress",
	.run = ingress_run,
	.summary = "Create an ingress with the specified name",
	.usage = "kx create ingress NAME --rule=host/path=service:port[,tls[=secret]] ... [--class=CLASS] [--default-backend=svc:port] [--annotation=k=v ...] [--dry-run=none|client|server] [-o json|yaml|name]",
	.description = "Rules with the same host become one rule with several paths. A path ending in\n"
		       "'*' is matched as a prefix (pathType Prefix, the '*' removed), any other path\n"
		       "exactly (Exact). A numeric port is port.number, a name port.name. ',tls' adds\n"
		       "the host to a TLS entry (the controller's default certificate), ',tls=SECRET'\n"
		       "to the entry of that secret.",
	.examples = "  # foo.com/bar to svc1:8080, TLS with the secret my-cert\n"
		    "  kx create ingress simple --rule=\"foo.com/bar=svc1:8080,tls=my-cert\"\n\n"
		    "  # Catch-all host, prefix path, an ingress class\n"
		    "  kx create ingress catch-all --class=nginx --rule=\"/path*=svc:http\"\n\n"
		    "  # Same host, two paths; a default backend\n"
		    "  kx create ingress multipath --rule=\"foo.com/=svc:80\" --rule=\"foo.com/admin/*=admin:http\" \\\n"
		    "      --default-backend=fallback:80",
	.options = ingress_options,
};
static const struct kx_command create_ing = {
	.name = "ing",
	.run = ingress_run,
	.summary = "Alias of create ingress",
	.usage = "kx create ing NAME --rule=... [options]",
	.examples = "  kx create ing web --rule=\"foo.com/*=web:80\"",
	.options = ingress_options,
	.flags = KX_CMD_HIDDEN,
};

static const struct kx_command *const create_subcommands[] = {
	&create_ingress, &create_service, &create_ing, &create_svc, NULL,
};

const struct kx_command kx_cmd_create = {
	.name = "create",
	.summary = "Create a service or an ingress from flags",
	.usage = "kx create service|ingress ...",
	.description = "Builds the object as kubectl's generators do; --dry-run=client prints it\n"
		       "without contacting the server (the same object kubectl prints).",
	.examples = "  # A NodePort service for pods labelled app=web\n"
		    "  kx create service nodeport web --tcp=80:http\n\n"
		    "  # An ingress for foo.com, TLS with the secret foo-tls\n"
		    "  kx create ingress web --rule=\"foo.com/*=web:80,tls=foo-tls\"",
	.subcommands = create_subcommands,
};
