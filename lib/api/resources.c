/* SPDX-License-Identifier: Apache-2.0 */
/* Resource names to REST paths: the built-in core and grouped resources kx
 * works with (no request needed), and for anything else — CRDs, aggregated
 * APIs, less common built-ins — the server's discovery (discovery.c). */
#include <kx/client.h>
#include "discovery.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct resource {
	const char *plural, *singular, *kind, *short1, *short2;
	const char *group, *version; /* group "" for core */
	int namespaced;
};

static const struct resource resources[] = {
	{"pods", "pod", "Pod", "po", NULL, "", "v1", 1},
	{"services", "service", "Service", "svc", NULL, "", "v1", 1},
	{"endpoints", "endpoints", "Endpoints", "ep", NULL, "", "v1", 1},
	{"namespaces", "namespace", "Namespace", "ns", NULL, "", "v1", 0},
	{"nodes", "node", "Node", "no", NULL, "", "v1", 0},
	{"configmaps", "configmap", "ConfigMap", "cm", NULL, "", "v1", 1},
	{"secrets", "secret", "Secret", NULL, NULL, "", "v1", 1},
	{"serviceaccounts", "serviceaccount", "ServiceAccount", "sa", NULL, "", "v1", 1},
	{"replicationcontrollers", "replicationcontroller", "ReplicationController", "rc", NULL, "", "v1", 1},
	{"events", "event", "Event", "ev", NULL, "", "v1", 1},
	{"deployments", "deployment", "Deployment", "deploy", NULL, "apps", "v1", 1},
	{"replicasets", "replicaset", "ReplicaSet", "rs", NULL, "apps", "v1", 1},
	{"statefulsets", "statefulset", "StatefulSet", "sts", NULL, "apps", "v1", 1},
	{"daemonsets", "daemonset", "DaemonSet", "ds", NULL, "apps", "v1", 1},
	{"jobs", "job", "Job", NULL, NULL, "batch", "v1", 1},
	{"cronjobs", "cronjob", "CronJob", "cj", NULL, "batch", "v1", 1},
	{"ingresses", "ingress", "Ingress", "ing", NULL, "networking.k8s.io", "v1", 1},
	{"ingressclasses", "ingressclass", "IngressClass", NULL, NULL, "networking.k8s.io", "v1", 0},
	{"endpointslices", "endpointslice", "EndpointSlice", NULL, NULL, "discovery.k8s.io", "v1", 1},
};

static int eqn(const char *a, const char *b, size_t blen)
{
	return a && strlen(a) == blen && !strncasecmp(a, b, blen);
}

static int builtin_named(const struct resource *r, const char *name, size_t len)
{
	const char *names[] = {r->plural, r->singular, r->kind, r->short1, r->short2};
	for (size_t j = 0; j < sizeof names / sizeof *names; j++)
		if (eqn(names[j], name, len))
			return 1;
	return 0;
}

/* The built-in table, with kubectl's forms: "deployments", "deployments.apps",
 * "deployment.v1.apps". A group or version that is given must match. */
static const struct resource *lookup_builtin(const char *arg)
{
	const char *dot1 = strchr(arg, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	size_t len = dot1 ? (size_t)(dot1 - arg) : strlen(arg);
	for (size_t i = 0; i < sizeof resources / sizeof *resources; i++) {
		const struct resource *r = &resources[i];
		if (!builtin_named(r, arg, len))
			continue;
		if (!dot1)
			return r;
		if (dot2 && eqn(r->version, dot1 + 1, (size_t)(dot2 - dot1 - 1)) &&
		    !strcasecmp(r->group, dot2 + 1))
			return r;
		if (!strcasecmp(r->group, dot1 + 1))
			return r;
	}
	return NULL;
}

static int copy_field(char *dst, size_t n, const char *src)
{
	return snprintf(dst, n, "%s", src ? src : "") >= (int)n ? -1 : 0;
}

static kx_err fill(struct kx_resource_type *out, const char *group, const char *version,
		   const char *plural, const char *kind, int namespaced, struct kx_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	out->namespaced = namespaced;
	if (copy_field(out->group, sizeof out->group, group) ||
	    copy_field(out->version, sizeof out->version, version) ||
	    copy_field(out->resource, sizeof out->resource, plural) ||
	    copy_field(out->kind, sizeof out->kind, kind))
		return kx__fail(eb, KX_ERR_PROTOCOL, "resource type %s.%s: a name is too long", plural,
				group);
	return KX_OK;
}

/* The types a name stands for in d: with categories allowed, a category's
 * types ("all"; kubectl expands categories first), one version per resource
 * (the preferred, listed first); else the one matching resource. *n = 0 when
 * nothing matches. */
static kx_err match(const struct kx__discovery *d, const char *name, int categories,
		    struct kx_resource_type *types, size_t *n, struct kx_errbuf *eb)
{
	*n = 0;
	for (size_t i = 0; categories && i < d->n; i++) {
		const struct kx__api_resource *r = &d->items[i];
		if (!kx__discovery_in_category(r, name))
			continue;
		size_t j = 0;
		while (j < *n && !(!strcmp(types[j].group, r->group) &&
				   !strcmp(types[j].resource, r->resource)))
			j++;
		if (j < *n)
			continue;
		kx_err err = fill(&types[*n], r->group, r->version, r->resource, r->kind,
				  r->namespaced, eb);
		if (err)
			return err;
		++*n;
	}
	if (*n)
		return KX_OK;
	const struct kx__api_resource *r = kx__discovery_find(d, name);
	if (!r)
		return KX_OK;
	*n = 1;
	return fill(&types[0], r->group, r->version, r->resource, r->kind, r->namespaced, eb);
}

/* The built-in table, else discovery: from the cache, and once more from the
 * server when the cached copy has no match (it may predate a new CRD). */
static kx_err lookup(struct kx_client *c, const char *name, int categories,
		     struct kx_resource_type **out, size_t *n, struct kx_errbuf *eb)
{
	*out = NULL;
	*n = 0;
	if (!name || !*name)
		return kx__fail(eb, KX_ERR_INVALID, "a resource type must not be empty");
	const struct resource *b = lookup_builtin(name);
	if (b) {
		if (!(*out = calloc(1, sizeof **out)))
			return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
		*n = 1;
		return fill(*out, b->group, b->version, b->plural, b->kind, b->namespaced, eb);
	}
	struct kx__discovery d = {0};
	kx_err err = KX_OK;
	for (int refresh = 0; c && refresh < 2 && !*n && !err; refresh++) {
		int from_cache = 0;
		if ((err = kx__discovery_load(c, refresh, &d, &from_cache, eb)))
			break;
		free(*out);
		if (!(*out = calloc(d.n ? d.n : 1, sizeof **out))) {
			err = kx__fail(eb, KX_ERR_NOMEM, "out of memory");
			break;
		}
		err = match(&d, name, categories, *out, n, eb);
		if (!from_cache)
			break;
	}
	kx__discovery_free(&d);
	if (!err && !*n) {
		/* kubectl names the part before the first dot: "pods.nope" → "pods". */
		size_t len = strcspn(name, ".");
		err = kx__fail(eb, KX_ERR_NOT_FOUND, "the server doesn't have a resource type \"%.*s\"",
			       (int)KX_MIN(len, 256), name);
	}
	if (err) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

kx_err kx_resource_resolve(struct kx_client *c, const char *name, struct kx_resource_type *out,
			   struct kx_errbuf *eb)
{
	struct kx_resource_type *types;
	size_t n;
	memset(out, 0, sizeof *out);
	kx_err err = lookup(c, name, 0, &types, &n, eb);
	if (!err)
		*out = types[0];
	free(types);
	return err;
}

kx_err kx_resource_expand(struct kx_client *c, const char *name, struct kx_resource_type **out,
			  size_t *n, struct kx_errbuf *eb)
{
	return lookup(c, name, 1, out, n, eb);
}

/* A path segment, percent-encoded like Go's url.PathEscape. */
static kx_err append_segment(struct kx_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	kx_err err = kx_buf_append(out, "/", 1);
	for (const unsigned char *p = (const unsigned char *)s; !err && *p; p++) {
		unsigned char ch = *p;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-_.~:@&=+$!*'(),;", ch))
			err = kx_buf_append(out, p, 1);
		else
			err = kx_buf_printf(out, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
	}
	return err;
}

kx_err kx_resource_type_path(const struct kx_resource_type *t, const char *ns, const char *name,
			     const char *sub, struct kx_buf *out, struct kx_errbuf *eb)
{
	*out = (struct kx_buf)KX_BUF_INIT(0);
	kx_err err = t->group[0] ? kx_buf_printf(out, "/apis/%s/%s", t->group, t->version)
				 : kx_buf_printf(out, "/api/%s", t->version);
	if (!err && t->namespaced && ns && *ns) {
		err = kx_buf_appends(out, "/namespaces");
		if (!err)
			err = append_segment(out, ns);
	}
	if (!err)
		err = kx_buf_printf(out, "/%s", t->resource);
	if (!err && name)
		err = append_segment(out, name);
	if (!err && name && sub)
		err = kx_buf_printf(out, "/%s", sub);
	if (err) {
		kx_buf_free(out);
		return kx__fail(eb, err, "out of memory");
	}
	return KX_OK;
}

kx_err kx_resource_path(struct kx_client *c, const char *resource, const char *ns,
			const char *name, const char *sub, struct kx_buf *out, struct kx_errbuf *eb)
{
	*out = (struct kx_buf)KX_BUF_INIT(0);
	struct kx_resource_type t;
	kx_err err = kx_resource_resolve(c, resource, &t, eb);
	return err ? err : kx_resource_type_path(&t, ns, name, sub, out, eb);
}
