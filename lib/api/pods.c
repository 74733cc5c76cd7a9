/* SPDX-License-Identifier: Apache-2.0 */
/* Resolving exec/port-forward targets to pods: TYPE/NAME parsing, selectors,
 * kubectl's pod ordering and kx's Ready-only choice, waiting with a watch. */
#include <kx/pods.h>
#include "internal.h"
#include "loop.h"
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

/* ---- choosing a pod inside a loop (no blocking) ---- */

enum stage { S_GET_POD, S_WATCH_POD, S_GET_OWNER, S_LIST, S_WATCH_LIST, S_DONE };

struct kx__pod_resolver {
	struct kx_client *c;
	struct kx_loop *loop;
	char ns[256], resource[64], name[256];
	enum kx_pod_pick pick;
	long timeout_ms;
	long long deadline;
	enum stage stage;
	struct kx__call *call;
	struct kx_buf sel;
	cJSON *pod;               /* a named pod as it was (maybe not qualifying) */
	cJSON *found;
	struct kx_timer timer;    /* the deadline of a wait */
	struct kx_task finish;    /* report outside libcurl's callbacks */
	kx_err err;
	struct kx_errbuf eb;
	kx__pod_resolved_fn done;
	void *ud;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* End: report on the next turn (never from inside a transfer's callbacks). */
static void resolver_end(struct kx__pod_resolver *r, kx_err err)
{
	if (r->stage == S_DONE)
		return;
	r->stage = S_DONE;
	r->err = err;
	kx__timer_cancel(&r->timer);
	kx__loop_defer(r->loop, &r->finish);
}

static void finish_task(void *ud)
{
	struct kx__pod_resolver *r = ud;
	kx__call_free(r->call);
	r->call = NULL;
	cJSON *pod = NULL;
	if (!r->err) {
		pod = r->found;
		r->found = NULL;
	}
	r->done(r->ud, r->err, pod, &r->eb); /* may free r */
}

static int on_event(void *ud, const char *type, const cJSON *obj)
{
	struct kx__pod_resolver *r = ud;
	if (strcmp(type, "ADDED") && strcmp(type, "MODIFIED"))
		return 0;
	if (r->stage == S_WATCH_POD && strcmp(str_at(obj, "metadata", "name"), r->name))
		return 0;
	if (!qualifies(obj, r->pick))
		return 0;
	cJSON_Delete(r->found);
	r->found = cJSON_Duplicate(obj, 1);
	return 1; /* stop the watch: its done comes next */
}

static void call_done(void *ud, kx_err err, const struct kx_buf *body, const struct kx_errbuf *eb);

static kx_err start_call(struct kx__pod_resolver *r, enum stage stage, const char *path, int watch)
{
	r->stage = stage;
	kx__call_free(r->call);
	r->call = NULL;
	long left = (long)(r->deadline - now_ms());
	struct kx_request rq = {.method = "GET", .path = path, .timeout_ms = watch ? left + 1000 : 0};
	return kx__client_start(r->c, r->loop, &rq, watch ? on_event : NULL, r, call_done, r, &r->call,
				&r->eb);
}

/* Nothing qualifies yet: a watch until something does or the time is up. */
static void wait_for_pod(struct kx__pod_resolver *r, const char *rv)
{
	long left = (long)(r->deadline - now_ms());
	struct kx_buf path = KX_BUF_INIT(0);
	char sel[300];
	kx_err err = kx_resource_path(r->c, "pods", r->ns, NULL, NULL, &path, &r->eb);
	if (!err && r->stage == S_GET_POD) {
		snprintf(sel, sizeof sel, "metadata.name=%s", r->name);
		err = kx_buf_query(&path, "fieldSelector", sel);
	} else if (!err) {
		err = kx_buf_query(&path, "labelSelector", r->sel.data);
	}
	if (!err)
		err = kx_buf_printf(&path, "&watch=1&timeoutSeconds=%ld", (left + 999) / 1000);
	if (!err && rv && *rv)
		err = kx_buf_query(&path, "resourceVersion", rv);
	if (!err)
		err = start_call(r, r->stage == S_GET_POD ? S_WATCH_POD : S_WATCH_LIST, path.data, 1);
	kx_buf_free(&path);
	if (err)
		resolver_end(r, err);
	else
		kx__timer_arm(r->loop, &r->timer, left);
}

static void not_found(struct kx__pod_resolver *r)
{
	if (r->stage == S_WATCH_POD || r->stage == S_GET_POD) {
		/* A named pod: as it is, even when it does not qualify (the caller says why). */
		if (r->pod) {
			r->found = r->pod;
			r->pod = NULL;
			resolver_end(r, KX_OK);
			return;
		}
		resolver_end(r, kx__fail(&r->eb, KX_ERR_NOT_FOUND, "pod %s did not appear within the timeout",
					 r->name));
		return;
	}
	resolver_end(r, kx__fail(&r->eb, KX_ERR_NOT_FOUND, "no %spod found for %s/%s (selector %s)",
				 r->pick == KX_PICK_READY ? "ready " : "running ", r->resource, r->name,
				 r->sel.data ? r->sel.data : ""));
}

static void deadline_fire(void *ud)
{
	struct kx__pod_resolver *r = ud;
	kx__call_free(r->call); /* a timer: outside the transfer's callbacks */
	r->call = NULL;
	not_found(r);
}

static void call_done(void *ud, kx_err err, const struct kx_buf *body, const struct kx_errbuf *eb)
{
	struct kx__pod_resolver *r = ud;
	cJSON *doc = NULL;
	if (r->stage == S_DONE)
		return;
	if (err && eb && eb->msg[0])
		r->eb = *eb; /* the call's words for why */
	if (r->stage == S_WATCH_POD || r->stage == S_WATCH_LIST) {
		/* Ended: with a pod, or by the server's timeout, or broken — none found. */
		if (r->found)
			resolver_end(r, KX_OK);
		else
			not_found(r);
		return;
	}
	if (!err && body->len && !(doc = cJSON_ParseWithLength(body->data, body->len)))
		err = kx__fail(&r->eb, KX_ERR_PROTOCOL, "the server's answer is not JSON");
	if (r->stage == S_GET_POD) {
		const struct kx_status *st = kx_client_status(r->c);
		/* kx+: with a wait allowed, a missing pod may still appear (re-created). */
		int missing = err == KX_ERR_API && st && st->code == 404;
		int may_wait = r->pick == KX_PICK_READY && r->timeout_ms > 0;
		if (err && !(missing && may_wait)) {
			resolver_end(r, err);
		} else if (doc && (qualifies(doc, r->pick) || !may_wait)) {
			r->found = doc;
			doc = NULL;
			resolver_end(r, KX_OK);
		} else {
			memset(&r->eb, 0, sizeof r->eb);
			r->pod = doc;
			doc = NULL;
			wait_for_pod(r, NULL);
		}
	} else if (r->stage == S_GET_OWNER) {
		struct kx_buf path = KX_BUF_INIT(0);
		if (!err)
			err = kx_selector_string(doc, r->resource, &r->sel, &r->eb);
		if (!err)
			err = kx_resource_path(r->c, "pods", r->ns, NULL, NULL, &path, &r->eb);
		if (!err)
			err = kx_buf_query(&path, "labelSelector", r->sel.data);
		if (!err)
			err = start_call(r, S_LIST, path.data, 0);
		kx_buf_free(&path);
		if (err)
			resolver_end(r, err);
	} else if (r->stage == S_LIST) {
		const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
		const cJSON *best = err ? NULL : kx__pods_pick_best(items, r->pick, 1);
		if (err) {
			resolver_end(r, err);
		} else if (best) {
			r->found = cJSON_Duplicate(best, 1);
			resolver_end(r, KX_OK);
		} else if (r->timeout_ms > 0 && now_ms() < r->deadline) {
			wait_for_pod(r, str_at(doc, "metadata", "resourceVersion"));
		} else if (r->pick == KX_PICK_KUBECTL && (best = kx__pods_pick_best(items, r->pick, 0))) {
			/* kubectl takes it and fails on its phase later */
			r->found = cJSON_Duplicate(best, 1);
			resolver_end(r, KX_OK);
		} else {
			not_found(r);
		}
	}
	cJSON_Delete(doc);
}

kx_err kx__pod_resolve_start(struct kx_client *c, struct kx_loop *l, const char *ns,
			     const char *target, enum kx_pod_pick pick, long timeout_ms,
			     kx__pod_resolved_fn done, void *ud, struct kx__pod_resolver **out,
			     struct kx_errbuf *eb)
{
	*out = NULL;
	struct kx__pod_resolver *r = calloc(1, sizeof *r);
	if (!r)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	*r = (struct kx__pod_resolver){.c = c, .loop = l, .pick = pick, .timeout_ms = timeout_ms,
				       .deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0),
				       .done = done, .ud = ud, .sel = KX_BUF_INIT(0)};
	r->timer = (struct kx_timer){.fn = deadline_fire, .ud = r};
	r->finish = (struct kx_task){.fn = finish_task, .ud = r};
	snprintf(r->ns, sizeof r->ns, "%s", ns);
	struct kx_buf path = KX_BUF_INIT(0);
	kx_err err = kx_target_parse(target, r->resource, sizeof r->resource, r->name, sizeof r->name, eb);
	int named = !err && !strcmp(r->resource, "pods");
	if (!err)
		err = kx_resource_path(c, r->resource, ns, r->name, NULL, &path, eb);
	if (!err && (err = start_call(r, named ? S_GET_POD : S_GET_OWNER, path.data, 0)))
		kx__fail(eb, err, "%s", r->eb.msg);
	kx_buf_free(&path);
	if (err) {
		kx__pod_resolver_free(r);
		return err;
	}
	*out = r;
	return KX_OK;
}

void kx__pod_resolver_free(struct kx__pod_resolver *r)
{
	if (!r)
		return;
	kx__timer_cancel(&r->timer);
	kx__task_cancel(r->loop, &r->finish);
	kx__call_free(r->call);
	kx_buf_free(&r->sel);
	cJSON_Delete(r->pod);
	cJSON_Delete(r->found);
	free(r);
}

/* The blocking form: the same resolver in a loop of its own. */
struct sync_result {
	struct kx_loop *loop;
	kx_err err;
	cJSON *pod;
	struct kx_errbuf *eb;
};

static void sync_done(void *ud, kx_err err, cJSON *pod, const struct kx_errbuf *eb)
{
	struct sync_result *res = ud;
	res->err = err;
	res->pod = pod;
	if (err)
		kx__fail(res->eb, err, "%s", eb->msg);
	kx__loop_stop(res->loop);
}

kx_err kx_pod_resolve(struct kx_client *c, const char *ns, const char *target,
		      enum kx_pod_pick pick, long timeout_ms, cJSON **pod, struct kx_errbuf *eb)
{
	*pod = NULL;
	struct sync_result res = {.eb = eb};
	struct kx__pod_resolver *r = NULL;
	kx_err err = kx__loop_new(&res.loop, eb);
	if (!err)
		err = kx__pod_resolve_start(c, res.loop, ns, target, pick, timeout_ms, sync_done, &res, &r, eb);
	if (!err) {
		kx__loop_run(res.loop);
		err = res.err;
		*pod = res.pod;
	}
	kx__pod_resolver_free(r);
	kx__loop_free(res.loop);
	return err;
}
