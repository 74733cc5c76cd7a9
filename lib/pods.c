/* SPDX-License-Identifier: Apache-2.0 */
/* Resolving exec/port-forward targets to pods: TYPE/NAME parsing, selectors,
 * kubectl's pod ordering and kx's Ready-only choice, waiting with a watch. */
#include <kx/pods.h>
#include "internal.h"
#include "pods_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
	const char *names[4];
	const char *plural;
} kinds[] = {
	{{"pod", "pods", "po", NULL}, "pods"},
	{{"service", "services", "svc", NULL}, "services"},
	{{"deployment", "deployments", "deploy", NULL}, "deployments"},
	{{"replicaset", "replicasets", "rs", NULL}, "replicasets"},
	{{"replicationcontroller", "replicationcontrollers", "rc", NULL}, "replicationcontrollers"},
	{{"statefulset", "statefulsets", "sts", NULL}, "statefulsets"},
	{{"daemonset", "daemonsets", "ds", NULL}, "daemonsets"},
	{{"job", "jobs", NULL, NULL}, "jobs"},
};

kx_err kx_target_parse(const char *target, char *resource, size_t rn, char *name, size_t nn,
		       struct kx_errbuf *eb)
{
	const char *slash = strchr(target, '/');
	if (!slash) {
		snprintf(resource, rn, "pods");
		snprintf(name, nn, "%s", target);
	} else {
		char type[64];
		size_t tl = (size_t)(slash - target);
		if (!tl || tl >= sizeof type || !slash[1] || strchr(slash + 1, '/'))
			return kx__fail(eb, KX_ERR_INVALID, "arguments in resource/name form must have a single resource and name");
		memcpy(type, target, tl);
		type[tl] = '\0';
		char *dot = strchr(type, '.'); /* "deployments.apps" */
		if (dot)
			*dot = '\0';
		const char *plural = NULL;
		for (size_t i = 0; i < sizeof kinds / sizeof *kinds && !plural; i++)
			for (int j = 0; j < 4 && kinds[i].names[j]; j++)
				if (!strcasecmp(kinds[i].names[j], type))
					plural = kinds[i].plural;
		if (!plural)
			return kx__fail(eb, KX_ERR_NOT_FOUND, "the server doesn't have a resource type \"%.*s\"",
					(int)tl, target);
		snprintf(resource, rn, "%s", plural);
		snprintf(name, nn, "%s", slash + 1);
	}
	if (!*name)
		return kx__fail(eb, KX_ERR_INVALID, "a resource name is required");
	return KX_OK;
}

static kx_err add_expr(struct kx_buf *b, const cJSON *e, struct kx_errbuf *eb)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(e, "key");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(e, "operator");
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(e, "values");
	if (!cJSON_IsString(key) || !cJSON_IsString(op))
		return kx__fail(eb, KX_ERR_INVALID, "malformed matchExpressions entry");
	const char *o = op->valuestring;
	kx_err err = kx_buf_printf(b, "%s%s", b->len ? "," : "", !strcmp(o, "DoesNotExist") ? "!" : "");
	if (!err)
		err = kx_buf_appends(b, key->valuestring);
	if (err || !strcmp(o, "Exists") || !strcmp(o, "DoesNotExist"))
		return err;
	if (strcmp(o, "In") && strcmp(o, "NotIn"))
		return kx__fail(eb, KX_ERR_INVALID, "unsupported selector operator %s", o);
	err = kx_buf_printf(b, " %s (", !strcmp(o, "In") ? "in" : "notin");
	const cJSON *v;
	int first = 1;
	cJSON_ArrayForEach(v, vals) {
		if (!err && cJSON_IsString(v))
			err = kx_buf_printf(b, "%s%s", first ? "" : ",", v->valuestring);
		first = 0;
	}
	return err ? err : kx_buf_appends(b, ")");
}

kx_err kx_selector_string(const cJSON *obj, const char *resource, struct kx_buf *out,
			  struct kx_errbuf *eb)
{
	*out = (struct kx_buf)KX_BUF_INIT(64 * 1024);
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	const cJSON *sel = cJSON_GetObjectItemCaseSensitive(spec, "selector");
	const cJSON *labels = sel;
	/* Services and ReplicationControllers hold a plain map; the rest a LabelSelector. */
	int plain = !strcmp(resource, "services") || !strcmp(resource, "replicationcontrollers");
	if (!plain)
		labels = cJSON_GetObjectItemCaseSensitive(sel, "matchLabels");
	kx_err err = KX_OK;
	const cJSON *kv;
	cJSON_ArrayForEach(kv, labels) {
		if (cJSON_IsString(kv) && !err)
			err = kx_buf_printf(out, "%s%s=%s", out->len ? "," : "", kv->string, kv->valuestring);
	}
	if (!plain) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions")) {
			if (!err)
				err = add_expr(out, e, eb);
		}
	}
	if (!err && !out->len)
		err = kx__fail(eb, KX_ERR_INVALID,
			       !strcmp(resource, "services")
				       ? "invalid service '%s': Service is defined without a selector"
				       : "%s has no selector", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name")));
	if (err)
		kx_buf_free(out);
	return err;
}

const char *kx_pod_phase(const cJSON *pod)
{
	const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(pod, "status"), "phase"));
	return p ? p : "";
}

static const cJSON *condition(const cJSON *pod, const char *type)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(
				      cJSON_GetObjectItemCaseSensitive(pod, "status"), "conditions")) {
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

int kx_pod_is_ready(const cJSON *pod)
{
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(condition(pod, "Ready"), "status"));
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	return !strcmp(kx_pod_phase(pod), "Running") && st && !strcmp(st, "True") &&
	       !cJSON_GetObjectItemCaseSensitive(meta, "deletionTimestamp");
}

static long restarts(const cJSON *pod)
{
	long n = 0;
	const cJSON *cs;
	cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(
				       cJSON_GetObjectItemCaseSensitive(pod, "status"), "containerStatuses")) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(cs, "restartCount");
		if (cJSON_IsNumber(r))
			n += (long)r->valuedouble;
	}
	return n;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const char *s = kx_json_str(kx_json_get(o, a), b);
	return s ? s : "";
}

/* kubectl's ActivePods order, reversed so the best candidate sorts first:
 * assigned to a node > Running > Ready > longer Ready > fewer restarts > older. */
static int better(const cJSON *a, const cJSON *b)
{
	int an = *str_at(a, "spec", "nodeName") != 0, bn = *str_at(b, "spec", "nodeName") != 0;
	if (an != bn)
		return an > bn;
	int ar = !strcmp(kx_pod_phase(a), "Running"), br = !strcmp(kx_pod_phase(b), "Running");
	if (ar != br)
		return ar > br;
	int ady = kx_pod_is_ready(a), bdy = kx_pod_is_ready(b);
	if (ady != bdy)
		return ady > bdy;
	if (ady) { /* longer Ready (earlier transition) first; RFC 3339 strings sort */
		const char *ta = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(condition(a, "Ready"), "lastTransitionTime"));
		const char *tb = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(condition(b, "Ready"), "lastTransitionTime"));
		if (ta && tb && strcmp(ta, tb))
			return strcmp(ta, tb) < 0;
	}
	long ra = restarts(a), rb = restarts(b);
	if (ra != rb)
		return ra < rb;
	const char *ca = str_at(a, "metadata", "creationTimestamp"), *cb = str_at(b, "metadata", "creationTimestamp");
	return strcmp(ca, cb) < 0;
}

static int qualifies(const cJSON *pod, enum kx_pod_pick pick)
{
	if (pick == KX_PICK_READY)
		return kx_pod_is_ready(pod);
	return !strcmp(kx_pod_phase(pod), "Running");
}

/* The best pod of a list, or NULL. */
const cJSON *kx__pods_pick_best(const cJSON *items, enum kx_pod_pick pick, int need_qualified)
{
	const cJSON *best = NULL, *p;
	cJSON_ArrayForEach(p, items) {
		if (need_qualified && !qualifies(p, pick))
			continue;
		if (!best || better(p, best))
			best = p;
	}
	return best;
}

struct wait_ctx {
	enum kx_pod_pick pick;
	const char *name; /* for a single pod */
	cJSON *found;
};

static int on_event(void *ud, const char *type, const cJSON *obj)
{
	struct wait_ctx *w = ud;
	if (strcmp(type, "ADDED") && strcmp(type, "MODIFIED"))
		return 0;
	if (w->name && strcmp(str_at(obj, "metadata", "name"), w->name))
		return 0;
	if (!qualifies(obj, w->pick))
		return 0;
	w->found = cJSON_Duplicate(obj, 1);
	return 1;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

kx_err kx_pod_resolve(struct kx_client *c, const char *ns, const char *target,
		      enum kx_pod_pick pick, long timeout_ms, cJSON **pod, struct kx_errbuf *eb)
{
	char resource[64], name[256];
	struct kx_buf path = KX_BUF_INIT(0), sel = KX_BUF_INIT(0);
	cJSON *obj = NULL, *list = NULL;
	*pod = NULL;
	kx_err err = kx_target_parse(target, resource, sizeof resource, name, sizeof name, eb);
	if (err)
		return err;
	long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	if (!strcmp(resource, "pods")) {
		if ((err = kx_resource_path(c, "pods", ns, name, NULL, &path, eb)))
			goto done;
		struct kx_errbuf geb = {0};
		err = kx_client_get(c, path.data, &obj, &geb);
		const struct kx_status *st = kx_client_status(c);
		/* kx+: with a wait allowed, a missing pod may still appear (re-created). */
		int missing = err == KX_ERR_API && st && st->code == 404;
		if (err && !(missing && pick == KX_PICK_READY && timeout_ms > 0)) {
			kx__fail(eb, err, "%s", geb.msg);
			goto done;
		}
		err = KX_OK;
		/* A named pod: kubectl takes it as it is; kx+ may wait for it to qualify. */
		if (pick == KX_PICK_READY && (!obj || !qualifies(obj, pick)) && timeout_ms > 0) {
			struct wait_ctx w = {.pick = pick, .name = name};
			struct kx_buf wpath = KX_BUF_INIT(0);
			char by_name[512], secs[32];
			snprintf(by_name, sizeof by_name, "metadata.name=%s", name);
			snprintf(secs, sizeof secs, "%ld", (timeout_ms + 999) / 1000);
			if (!kx_buf_printf(&wpath, "/api/v1/namespaces/%s/pods", ns) &&
			    !kx_buf_query(&wpath, "watch", "1") && !kx_buf_query(&wpath, "fieldSelector", by_name) &&
			    !kx_buf_query(&wpath, "timeoutSeconds", secs))
				kx_client_watch(c, wpath.data, timeout_ms + 1000, on_event, &w, NULL);
			kx_buf_free(&wpath);
			if (w.found) {
				cJSON_Delete(obj);
				obj = w.found;
			}
		}
		if (!obj) {
			err = kx__fail(eb, KX_ERR_NOT_FOUND, "pod %s did not appear within the timeout", name);
			goto done;
		}
		*pod = obj;
		obj = NULL;
		goto done;
	}
	if ((err = kx_resource_path(c, resource, ns, name, NULL, &path, eb)) ||
	    (err = kx_client_get(c, path.data, &obj, eb)) ||
	    (err = kx_selector_string(obj, resource, &sel, eb)))
		goto done;
	kx_buf_free(&path);
	if ((err = kx_resource_path(c, "pods", ns, NULL, NULL, &path, eb)) ||
	    (err = kx_buf_query(&path, "labelSelector", sel.data)) ||
	    (err = kx_client_get(c, path.data, &list, eb)))
		goto done;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
	const cJSON *best = kx__pods_pick_best(items, pick, 1);
	if (!best && timeout_ms > 0) {
		/* Nothing qualifies yet: watch from the list's version until one does. */
		struct wait_ctx w = {.pick = pick};
		const char *rv = str_at(list, "metadata", "resourceVersion");
		long left = deadline - now_ms();
		kx_buf_free(&path);
		if (left > 0 && !(err = kx_resource_path(c, "pods", ns, NULL, NULL, &path, eb)) &&
		    !(err = kx_buf_query(&path, "labelSelector", sel.data)) &&
		    !(err = kx_buf_printf(&path, "&watch=1&resourceVersion=%s&timeoutSeconds=%ld", rv,
					  (left + 999) / 1000))) {
			kx_err werr = kx_client_watch(c, path.data, left + 1000, on_event, &w, NULL);
			(void)werr; /* a watch that ends or times out just means: none found */
		}
		if (err)
			goto done;
		if (w.found) {
			*pod = w.found;
			goto done;
		}
	}
	if (!best && pick == KX_PICK_KUBECTL)
		best = kx__pods_pick_best(items, pick, 0); /* kubectl takes it and fails on its phase later */
	if (!best) {
		err = kx__fail(eb, KX_ERR_NOT_FOUND, "no %spod found for %s/%s (selector %s)",
			       pick == KX_PICK_READY ? "ready " : "running ", resource, name, sel.data);
		goto done;
	}
	*pod = cJSON_Duplicate(best, 1);
done:
	kx_buf_free(&path);
	kx_buf_free(&sel);
	cJSON_Delete(obj);
	cJSON_Delete(list);
	return err;
}
