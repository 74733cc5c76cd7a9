/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internal, the api layer: an informer inside a streaming command's loop.
 * It LISTs a collection and hands the caller the whole current set (a sync),
 * then WATCHes from the list's resourceVersion and hands over each change. A
 * watch the server ends is started again from the last resourceVersion seen; a
 * watch that lost its place (an ERROR event such as 410 Gone: the version is
 * compacted) or could not start is followed by a new LIST and a new sync, after
 * a backoff (0 s, then 0.5 s doubling to 5 s; a working watch resets it), since
 * a deletion in the gap has no event. One informer, one kx__call at a time, no
 * blocking call.
 *
 * Test-only: KX_TEST_INFORMER_WATCH_RV=V makes every watch start from
 * resourceVersion V (with "1" on a compacted etcd the server answers 410, so
 * every change reaches the caller through a relist and its sync). */
#ifndef KX_INFORMER_H
#define KX_INFORMER_H

#include <kx/json.h>

#include "internal.h"

struct kx_loop;
struct kx__informer;

struct kx__informer_opts {
	const char *path;             /* the collection (no query), e.g. /api/v1/namespaces/NS/pods */
	const char *label_selector;   /* NULL: none */
	const char *field_selector;   /* NULL: none */
	const char *resource_version; /* the caller read the set already: the first watch
					 starts here (no first LIST, no first sync) */
};

struct kx__informer_callbacks {
	/* Everything there is now (a list's items): reconcile, i.e. drop what is
	 * not in items (kx__informer_find) and take each item as it is. */
	void (*on_sync)(void *ud, const cJSON *items);
	/* One change: type is ADDED, MODIFIED or DELETED. */
	void (*on_event)(void *ud, const char *type, const cJSON *obj);
};

/* Start in l (the first call runs from the loop, never from here). The informer
 * copies opts; cb must outlive it. Callbacks must not free the informer (let a
 * timer or task do it). */
kx_err kx__informer_start(struct kx_client *c, struct kx_loop *l, const struct kx__informer_opts *opts,
			  const struct kx__informer_callbacks *cb, void *ud, struct kx__informer **out,
			  struct kx_errbuf *eb);
/* Cancel everything and free. NULL is fine. */
void kx__informer_free(struct kx__informer *inf);

/* The item of a sync's items with this name (and this uid, unless uid is NULL
 * or ""), or NULL: what a caller needs to drop what is gone. */
const cJSON *kx__informer_find(const cJSON *items, const char *name, const char *uid);

/* The request path of a LIST (rv NULL) or of a WATCH from rv, into path. */
kx_err kx__informer_path(const struct kx__informer_opts *o, const char *rv, struct kx_buf *path);

/* The delay before relist number fails+1 after fails failures in a row (ms). */
long kx__informer_backoff_ms(int fails);

#endif
