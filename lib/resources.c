/* Resource names to REST paths: kubectl's short names and the built-in core and
 * grouped resources kx works with. */
#include <kx/client.h>
#include "internal.h"

#include <string.h>

struct resource {
	const char *plural, *singular, *kind, *short1, *short2;
	const char *group_version; /* "v1" for core, else "group/version" */
	int namespaced;
};

static const struct resource resources[] = {
	{"pods", "pod", "Pod", "po", NULL, "v1", 1},
	{"services", "service", "Service", "svc", NULL, "v1", 1},
	{"endpoints", "endpoints", "Endpoints", "ep", NULL, "v1", 1},
	{"namespaces", "namespace", "Namespace", "ns", NULL, "v1", 0},
	{"nodes", "node", "Node", "no", NULL, "v1", 0},
	{"configmaps", "configmap", "ConfigMap", "cm", NULL, "v1", 1},
	{"secrets", "secret", "Secret", NULL, NULL, "v1", 1},
	{"serviceaccounts", "serviceaccount", "ServiceAccount", "sa", NULL, "v1", 1},
	{"replicationcontrollers", "replicationcontroller", "ReplicationController", "rc", NULL, "v1", 1},
	{"events", "event", "Event", "ev", NULL, "v1", 1},
	{"deployments", "deployment", "Deployment", "deploy", NULL, "apps/v1", 1},
	{"replicasets", "replicaset", "ReplicaSet", "rs", NULL, "apps/v1", 1},
	{"statefulsets", "statefulset", "StatefulSet", "sts", NULL, "apps/v1", 1},
	{"daemonsets", "daemonset", "DaemonSet", "ds", NULL, "apps/v1", 1},
	{"jobs", "job", "Job", NULL, NULL, "batch/v1", 1},
	{"cronjobs", "cronjob", "CronJob", "cj", NULL, "batch/v1", 1},
	{"ingresses", "ingress", "Ingress", "ing", NULL, "networking.k8s.io/v1", 1},
	{"ingressclasses", "ingressclass", "IngressClass", NULL, NULL, "networking.k8s.io/v1", 0},
	{"endpointslices", "endpointslice", "EndpointSlice", NULL, NULL, "discovery.k8s.io/v1", 1},
};

static const struct resource *lookup(const char *name)
{
	/* "deployments.apps" and "deployment.v1.apps" name the group too. */
	size_t len = strcspn(name, ".");
	for (size_t i = 0; i < sizeof resources / sizeof *resources; i++) {
		const struct resource *r = &resources[i];
		const char *names[] = {r->plural, r->singular, r->kind, r->short1, r->short2};
		for (size_t j = 0; j < 5; j++)
			if (names[j] && strlen(names[j]) == len && !strncasecmp(names[j], name, len))
				return r;
	}
	return NULL;
}

kx_err kx_resource_path(struct kx_client *c, const char *resource, const char *ns,
			const char *name, const char *sub, struct kx_buf *out, struct kx_errbuf *eb)
{
	*out = (struct kx_buf)KX_BUF_INIT(0);
	const struct resource *r = lookup(resource);
	if (!r)
		return kx__fail(eb, KX_ERR_NOT_FOUND,
				"the server doesn't have a resource type \"%s\"", resource);
	kx_err err = kx_buf_printf(out, "/%s/%s", strchr(r->group_version, '/') ? "apis" : "api",
				   r->group_version);
	if (!err && r->namespaced && ns)
		err = kx_buf_printf(out, "/namespaces/%s", ns);
	if (!err)
		err = kx_buf_printf(out, "/%s", r->plural);
	if (!err && name)
		err = kx_buf_printf(out, "/%s", name);
	if (!err && name && sub)
		err = kx_buf_printf(out, "/%s", sub);
	(void)c;
	return err ? kx__fail(eb, err, "out of memory") : KX_OK;
}
