/* SPDX-License-Identifier: Apache-2.0 */
/* libkx: the objects that expose workloads, built as kubectl builds them —
 * Services (`expose`, `create service`), Ingresses (`create ingress` rules) —
 * and what a workload says about itself (selector, ports, protocols, labels).
 * Pure functions: no I/O, so every rule is unit-tested and fuzzed. */
#ifndef KX_EXPOSE_H
#define KX_EXPOSE_H

#include <kx/common.h>
#include <kx/json.h>

/* A Service as `kubectl expose` generates it. Strings are borrowed; NULL or ""
 * means "not given". */
struct kx_service_spec {
	const char *name;             /* required */
	const char *namespace_;       /* metadata.namespace, or NULL to leave it out */
	const char *selector;         /* "k=v,k2=v2" (kubectl's parseLabels); required */
	const char *labels;           /* "k=v,…" */
	const char *ports;            /* "80" or "80,7,9": several become port-1..n */
	const char *protocols;        /* "80/TCP,53/UDP" from the exposed object */
	const char *protocol;         /* --protocol: wins over protocols */
	const char *target_port;      /* number or name, for every port */
	const char *type;             /* ClusterIP NodePort LoadBalancer ExternalName */
	const char *external_ip;
	const char *load_balancer_ip; /* kept only for type LoadBalancer, as kubectl */
	const char *session_affinity; /* None or ClientIP */
	const char *cluster_ip;       /* an address, or "None" (headless) */
	const char *node_ports;       /* kx+: "30080[,30081…]", matched to ports in order */
};

/* Build the Service (kind, apiVersion, metadata, spec, status as kubectl prints
 * it for --dry-run=client). Errors carry kubectl's words ("unknown session
 * affinity: x", "strconv.Atoi: parsing \"x\": invalid syntax", …). *out is the
 * caller's (cJSON_Delete). */
KX_API kx_err kx_service_build(const struct kx_service_spec *s, cJSON **out, struct kx_errbuf *eb);

/* What an exposable object (Pod, Service, ReplicationController, Deployment,
 * ReplicaSet, StatefulSet, as the server returns it) offers a new Service. */
struct kx_expose_source {
	char *selector;            /* "k=v,…", or NULL with the reason in selector_error */
	char selector_error[256];
	char *labels;              /* "k=v,…" or "" */
	char *ports;               /* "80,7" or "" */
	size_t nports;
	char *protocols;           /* "80/TCP,7/TCP" or "" */
};

/* Read an object's selector, ports, protocols and labels as kubectl's
 * polymorphic helpers do (matchExpressions cannot be a Service selector: that is
 * reported in selector_error, not as a failure). Fails with KX_ERR_INVALID
 * ("cannot expose a Node") for kinds that cannot be exposed. */
KX_API kx_err kx_expose_inspect(const cJSON *obj, struct kx_expose_source *out,
				struct kx_errbuf *eb);
KX_API void kx_expose_source_free(struct kx_expose_source *s);

/* A Service as `kubectl create service TYPE` builds it: ports from "--tcp"
 * values ("PORT[:TARGET]", each its own item), labels and selector app=NAME
 * (ExternalName ones too, as kubectl's). */
struct kx_create_service_spec {
	const char *name, *namespace_;
	const char *type;              /* ClusterIP NodePort LoadBalancer ExternalName */
	const char *const *tcp;        /* ntcp "PORT[:TARGET]" strings */
	size_t ntcp;
	const char *cluster_ip;        /* clusterip only */
	long node_port;                /* nodeport only; 0 = allocate */
	const char *external_name;     /* externalname only */
};
/* Validates as kubectl does ("at least one tcp port specifier must be provided",
 * "invalid service external name x", port parse errors) and builds the object. */
KX_API kx_err kx_create_service_build(const struct kx_create_service_spec *s, cJSON **out,
				      struct kx_errbuf *eb);

/* An Ingress from `kubectl create ingress` arguments. */
struct kx_ingress_spec {
	const char *name, *namespace_;
	const char *ingress_class;     /* --class */
	const char *default_backend;   /* "svc:port" */
	const char *const *rules;      /* "host/path=svc:port[,tls[=secret]]" */
	size_t nrules;
	const char *const *annotations;/* "key=value" */
	size_t nannotations;
};

/* Check one rule against kubectl's grammar; KX_ERR_INVALID with kubectl's
 * message ("rule X is invalid and should be in format …") if it does not fit. */
KX_API kx_err kx_ingress_rule_check(const char *rule, struct kx_errbuf *eb);

/* Validate and build: same-host rules merge into one rule's paths, a path
 * ending in '*' is Prefix (the star dropped), else Exact; a numeric port is
 * port.number, else port.name; ",tls[=secret]" adds TLS entries as kubectl
 * does. Rules kubectl accepts but then crashes on are refused as invalid. */
KX_API kx_err kx_ingress_build(const struct kx_ingress_spec *s, cJSON **out, struct kx_errbuf *eb);

/* kx+ reach: every way into a Service as one JSON view (the shape `kx reach -o json`
 * prints: namespace, name, type, clusterIP, dns, ports, clusterAddresses, nodePorts,
 * loadBalancer, externalIPs, ingresses, proxy, portForward). nodes is the NodeList
 * and ingresses the IngressList of the Service's namespace; either may be NULL (not
 * readable). *addresses counts the load-balancer and Ingress addresses found (what
 * `reach --wait` waits for). Returns a new tree (cJSON_Delete), NULL when out of memory. */
KX_API cJSON *kx_reach_view(const cJSON *svc, const cJSON *nodes, const cJSON *ingresses, int *addresses);

/* kx+ reach --check, the part that needs no network: adds "findings" to view, each
 * {check, object, status ok|failed|skipped, message} — the selector matches pods
 * ("selector app=x matches no pod"), every matching pod declares each named
 * targetPort ("targetPort http not declared by pod web-0"), the EndpointSlices
 * have Ready endpoints ("no Ready endpoints behind the service"), and the
 * backends of every Ingress naming the service exist (a missing service, a port
 * the service does not have). pods (matching the selector), slices (labelled
 * kubernetes.io/service-name), ingresses and services (of the namespace) are
 * lists; a NULL one (not readable) leaves its checks out. */
KX_API void kx_reach_static(cJSON *view, const cJSON *svc, const cJSON *pods, const cJSON *slices,
			    const cJSON *ingresses, const cJSON *services);

struct kx_reach_check_opts {
	long timeout_ms;     /* per probe; <= 0: 3000 */
	int cluster_ip;      /* probe cluster IPs too (from a node, or over a VPN) */
	const char *ca_file; /* PEM CA bundle for TLS checks of Ingress URLs; NULL: the system's */
	const char *routes;  /* "node-port,ingress,…" (cluster-ip node-port load-balancer
	                        external-ip ingress api-proxy port-forward); NULL: all but cluster-ip */
};

struct kx_client;
/* kx+ reach --check: probe every route of view from this machine, all at once on
 * one event loop, each bounded by timeout_ms, and add a "check" object {status
 * ok|failed|skipped, message, latencyMs, layer dns|tcp|tls|http|api|ingress|
 * load-balancer, dnsMs (names only), connectMs} to each route (and to
 * loadBalancer when it is pending). Node ports,
 * load-balancer and external addresses: a TCP connect, or an HTTP GET for http
 * ports; Ingress routes: the URL with the rule's Host (SNI and certificate
 * checked for TLS) connected to the Ingress's first address; the API server's
 * service proxy: a GET through c. Probes go direct (no proxy). A probe's failure
 * is a result, not an error: errors are only out of memory and the like. */
KX_API kx_err kx_reach_probe(struct kx_client *c, cJSON *view, const struct kx_reach_check_opts *o,
			     struct kx_errbuf *eb);
/* Whether every name in routes is a route kind (KX_ERR_INVALID naming the first
 * that is not, with the list). */
KX_API kx_err kx_reach_routes_check(const char *routes, struct kx_errbuf *eb);
/* Counts over a checked view: routes ok and failed, and failed findings. */
KX_API void kx_reach_tally(const cJSON *view, int *routes_ok, int *routes_failed, int *findings_failed);

#endif
