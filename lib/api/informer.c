/* SPDX-License-Identifier: Apache-2.0 */
/* An informer in a streaming command's loop (informer.h): list, then watch
 * from the list's resourceVersion; list again when the watch lost its place. */
#include "informer.h"

#include "loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INF_REWATCH_MS 1000   /* after a watch the server ended normally */
#define INF_BACKOFF_MIN_MS 500
#define INF_BACKOFF_MAX_MS 5000

struct kx__informer {
	struct kx_client *c;
	struct kx_loop *loop;
	struct kx__informer_opts o; /* its strings: copies (own_*) */
	char *own_path, *own_label, *own_field;
	const struct kx__informer_callbacks *cb;
	void *ud;
	char rv[64];       /* the watch goes on from here; "": list first */
	struct kx__call *call;
	struct kx_timer kick; /* the next LIST (rv "") or WATCH */
	int fails;         /* relists in a row without a working watch */
	int lost;          /* this watch sent an ERROR: list again */
};

long kx__informer_backoff_ms(int fails)
{
	long ms = INF_BACKOFF_MIN_MS;
	if (fails <= 0)
		return 0;
	for (int i = 1; i < fails && ms < INF_BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms < INF_BACKOFF_MAX_MS ? ms : INF_BACKOFF_MAX_MS;
}

kx_err kx__informer_path(const struct kx__informer_opts *o, const char *rv, struct kx_buf *path)
{
	kx_err err = kx_buf_appends(path, o->path);
	if (!err && rv)
		err = kx_buf_appends(path, "?watch=1&allowWatchBookmarks=true");
	if (!err && o->label_selector)
		err = kx_buf_query(path, "labelSelector", o->label_selector);
	if (!err && o->field_selector)
		err = kx_buf_query(path, "fieldSelector", o->field_selector);
	if (!err && rv)
		err = kx_buf_query(path, "resourceVersion", rv);
	return err;
}

const cJSON *kx__informer_find(const cJSON *items, const char *name, const char *uid)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, items)
	{
		const cJSON *meta = cJSON_GetObjectItemCaseSensitive(it, "metadata");
		const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
		const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "uid"));
		if (n && !strcmp(n, name) && (!uid || !uid[0] || (u && !strcmp(u, uid))))
			return it;
	}
	return NULL;
}

/* Next: list again after the backoff (the watch lost its place or failed). */
static void relist_later(struct kx__informer *inf)
{
	inf->rv[0] = '\0';
	kx__timer_arm(inf->loop, &inf->kick, kx__informer_backoff_ms(inf->fails++));
}

static int watch_event(void *ud, const char *type, const cJSON *obj)
{
	struct kx__informer *inf = ud;
	if (!strcmp(type, "ERROR")) {
		inf->lost = 1; /* e.g. 410 Gone: the resourceVersion is compacted */
		return 1;      /* end this watch */
	}
	inf->fails = 0;
	const char *rv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion"));
	if (rv && *rv)
		snprintf(inf->rv, sizeof inf->rv, "%s", rv);
	if (strcmp(type, "BOOKMARK"))
		inf->cb->on_event(inf->ud, type, obj);
	return 0;
}

static void watch_done(void *ud, kx_err err, const struct kx_buf *body, const struct kx_errbuf *eb)
{
	struct kx__informer *inf = ud;
	(void)body;
	(void)eb;
	if (inf->lost || err)
		relist_later(inf);
	else /* the server ended it (its timeout, a restart): on from where it was */
		kx__timer_arm(inf->loop, &inf->kick, INF_REWATCH_MS);
}

static void list_done(void *ud, kx_err err, const struct kx_buf *body, const struct kx_errbuf *eb)
{
	struct kx__informer *inf = ud;
	(void)eb;
	cJSON *list = !err && body ? cJSON_ParseWithLength(body->data, body->len) : NULL;
	const char *rv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(list, "metadata"), "resourceVersion"));
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
	if (!rv || !*rv || strlen(rv) >= sizeof inf->rv || !(cJSON_IsArray(items) || cJSON_IsNull(items))) {
		relist_later(inf);
	} else {
		snprintf(inf->rv, sizeof inf->rv, "%s", rv);
		inf->cb->on_sync(inf->ud, cJSON_IsArray(items) ? items : NULL);
		kx__timer_arm(inf->loop, &inf->kick, 0);
	}
	cJSON_Delete(list);
}

/* Timer: the next call, LIST when there is no resourceVersion, else WATCH. */
static void kick_fire(void *ud)
{
	struct kx__informer *inf = ud;
	kx__call_free(inf->call);
	inf->call = NULL;
	inf->lost = 0;
	const char *test_rv = getenv("KX_TEST_INFORMER_WATCH_RV"); /* test-only (informer.h) */
	const char *rv = !inf->rv[0] ? NULL : test_rv && *test_rv ? test_rv : inf->rv;
	struct kx_buf path = KX_BUF_INIT(1 << 16);
	struct kx_errbuf eb = {0};
	kx_err err = kx__informer_path(&inf->o, rv, &path);
	/* A watch lasts as long as the informer; a LIST has the client's timeout. */
	struct kx_request rq = {.method = "GET", .path = path.data, .timeout_ms = rv ? -1 : 0};
	if (!err)
		err = kx__client_start(inf->c, inf->loop, &rq, rv ? watch_event : NULL, inf,
				       rv ? watch_done : list_done, inf, &inf->call, &eb);
	kx_buf_free(&path);
	if (err)
		relist_later(inf);
}

kx_err kx__informer_start(struct kx_client *c, struct kx_loop *l, const struct kx__informer_opts *opts,
			  const struct kx__informer_callbacks *cb, void *ud, struct kx__informer **out,
			  struct kx_errbuf *eb)
{
	*out = NULL;
	struct kx__informer *inf = calloc(1, sizeof *inf);
	if (!inf)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	*inf = (struct kx__informer){.c = c, .loop = l, .cb = cb, .ud = ud};
	inf->kick = (struct kx_timer){.fn = kick_fire, .ud = inf};
	inf->own_path = kx__strdup(opts->path);
	inf->own_label = kx__strdup(opts->label_selector);
	inf->own_field = kx__strdup(opts->field_selector);
	inf->o = (struct kx__informer_opts){.path = inf->own_path, .label_selector = inf->own_label,
					    .field_selector = inf->own_field};
	const char *rv = opts->resource_version;
	if (!inf->own_path || (opts->label_selector && !inf->own_label) ||
	    (opts->field_selector && !inf->own_field)) {
		kx__informer_free(inf);
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	}
	snprintf(inf->rv, sizeof inf->rv, "%s", rv && strlen(rv) < sizeof inf->rv ? rv : "");
	kx__timer_arm(l, &inf->kick, 0);
	*out = inf;
	return KX_OK;
}

void kx__informer_free(struct kx__informer *inf)
{
	if (!inf)
		return;
	kx__timer_cancel(&inf->kick);
	kx__call_free(inf->call);
	free(inf->own_path);
	free(inf->own_label);
	free(inf->own_field);
	free(inf);
}
