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

#endif
