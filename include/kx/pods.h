/* SPDX-License-Identifier: Apache-2.0 */
/* libkx: from what a user names ("web-0", "pod/web-0", "deploy/web", "svc/web")
 * to a pod, the way kubectl's exec, attach and port-forward resolve it — and
 * kx's stricter choice (Ready pods only) where asked. */
#ifndef KX_PODS_H
#define KX_PODS_H

#include <kx/client.h>

/* Split "TYPE/NAME" (or a bare NAME, which means a pod) and normalise TYPE to
 * its plural resource name. Writes into the caller's buffers. */
KX_API kx_err kx_target_parse(const char *target, char *resource, size_t rn, char *name, size_t nn,
			      struct kx_errbuf *eb);

/* The label selector of a workload or service object as a query string value
 * ("app=web,tier in (a,b)"). A Service without a selector is KX_ERR_INVALID. */
KX_API kx_err kx_selector_string(const cJSON *obj, const char *resource, struct kx_buf *out,
				 struct kx_errbuf *eb);

/* Pod choice rules. */
enum kx_pod_pick {
	KX_PICK_KUBECTL,  /* kubectl's order: assigned > Running > Ready > fewer restarts > older */
	KX_PICK_READY,    /* kx+: only Running and Ready pods qualify */
};

/* Resolve target in namespace ns to one pod (*pod: the pod object, caller frees).
 * For a bare or pod/ target, that pod. For a workload or service, the pods its
 * selector matches; with none qualifying yet, wait (a watch, not polling) up to
 * timeout_ms for one. */
KX_API kx_err kx_pod_resolve(struct kx_client *c, const char *ns, const char *target,
			     enum kx_pod_pick pick, long timeout_ms, cJSON **pod, struct kx_errbuf *eb);

/* A container port of pod: the one named name, or (name NULL) the one numbered
 * number. Returns its number, 0 when no container has it; *udp_only is set when
 * every matching port is UDP (port-forward carries TCP only). */
KX_API int kx_pod_container_port(const cJSON *pod, const char *name, int number, int *udp_only);

/* A Service's port — by name when name is not NULL, else by number — to the pod
 * port it sends traffic to, as kubectl's port-forward resolves svc/NAME: a numeric
 * targetPort; a named targetPort looked up in pod's containers; the port itself
 * for a headless Service or one without targetPort. Returns that pod port, 0 when
 * the Service has no such port, -1 when a named targetPort is not in the pod.
 * Sets *svc_port (the Service's port number) and *udp_only (its protocol is UDP);
 * *target_name (when not NULL) to a named targetPort (owned by svc), else NULL:
 * each pod may number that name differently. */
KX_API int kx_service_target_port(const cJSON *svc, const cJSON *pod, int number, const char *name,
				  int *svc_port, int *udp_only, const char **target_name);

/* True when the pod is Running and its Ready condition is True. */
KX_API int kx_pod_is_ready(const cJSON *pod);
/* status.phase, or "" */
KX_API const char *kx_pod_phase(const cJSON *pod);

#endif
