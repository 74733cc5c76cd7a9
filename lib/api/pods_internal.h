/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internal, the pod layer (pods.c): what its unit test reaches below the
 * public <kx/pods.h>. Kept out of internal.h, so the base layer does not depend on
 * the pod layer. */
#ifndef KX_PODS_INTERNAL_H
#define KX_PODS_INTERNAL_H

#include <kx/pods.h>

/* The best pod of a list by kubectl's order (assigned > Running > Ready > longer
 * Ready > fewer restarts > older); need_qualified: only pods that qualify for pick
 * (Running; or Running and Ready for KX_PICK_READY). */
const cJSON *kx__pods_pick_best(const cJSON *items, enum kx_pod_pick pick, int need_qualified);

/* kx_pod_resolve inside a streaming command's loop: the same rules and
 * messages, without blocking. done gets the pod (the caller's to free) or why;
 * it runs from the loop (never from the start call) and may free the resolver. */
struct kx_loop;
struct kx__pod_resolver;
typedef void (*kx__pod_resolved_fn)(void *ud, kx_err err, cJSON *pod, const struct kx_errbuf *eb);
kx_err kx__pod_resolve_start(struct kx_client *c, struct kx_loop *l, const char *ns,
			     const char *target, enum kx_pod_pick pick, long timeout_ms,
			     kx__pod_resolved_fn done, void *ud, struct kx__pod_resolver **out,
			     struct kx_errbuf *eb);
void kx__pod_resolver_free(struct kx__pod_resolver *r);

#endif
