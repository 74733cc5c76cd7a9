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

#endif
