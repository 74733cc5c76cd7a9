/* SPDX-License-Identifier: Apache-2.0 */
/* libkx: a client for one API server — authenticated REST calls (libcurl, one
 * reused connection), watches decoded event by event, and the decoded
 * metav1.Status of a failed call. */
#ifndef KX_CLIENT_H
#define KX_CLIENT_H

#include <kx/buf.h>
#include <kx/common.h>
#include <kx/config.h>
#include <kx/json.h>

struct kx_client; /* opaque */

/* A decoded metav1.Status (or what stood in for one: an HTTP status with a body
 * that was not a Status). */
struct kx_status {
	int code;            /* HTTP status, e.g. 404 */
	char reason[64];     /* "NotFound", "Forbidden", "Unauthorized", … or "" */
	char message[1024];  /* the server's message, or the body's first line */
	char status[16];     /* "Failure" / "Success" */
	/* details: */
	char kind[64], name[256];
	int exit_code;       /* from details.causes[reason=ExitCode], else -1 */
};

/* Decode a Status JSON body; for a non-Status body keep its first line as the
 * message. Never fails: unknown input gives code and a generic message. */
KX_API void kx_status_decode(const char *body, size_t len, int http_code, struct kx_status *st);

/* Create a client from resolved settings. The config is copied; the caller may
 * free it afterwards. Nothing touches the network yet. */
KX_API kx_err kx_client_new(const struct kx_rest_config *rc, struct kx_client **out,
			    struct kx_errbuf *eb);
KX_API void kx_client_free(struct kx_client *c);

/* "host:port" of the server, as kubectl names it in connection errors. */
KX_API const char *kx_client_host(const struct kx_client *c);
/* The server URL as configured ("https://host:port[/path]"). */
KX_API const char *kx_client_server(const struct kx_client *c);
/* The namespace resolved from flags and context. */
KX_API const char *kx_client_namespace(const struct kx_client *c);

/* Trace hook for -v: called with one line at a time (request line, status,
 * timing at level >= 6; headers at >= 8; bodies at >= 9). Authorization and other
 * credentials are already masked. */
typedef void (*kx_trace_fn)(void *ud, int level, const char *line);
KX_API void kx_client_set_trace(struct kx_client *c, int verbosity, kx_trace_fn fn, void *ud);

/* Server warnings (RFC 7234 "Warning: 299 - \"text\"" headers, e.g. deprecated
 * APIs) are handed to fn with the text only, once per distinct text per client.
 * Without a handler they are dropped (libkx never prints). */
typedef void (*kx_warning_fn)(void *ud, const char *text);
KX_API void kx_client_set_warning_handler(struct kx_client *c, kx_warning_fn fn, void *ud);

enum kx_patch_type { KX_PATCH_MERGE, KX_PATCH_STRATEGIC, KX_PATCH_JSON };

struct kx_request {
	const char *method;       /* GET POST PUT PATCH DELETE */
	const char *path;         /* "/api/v1/namespaces/default/pods?limit=500" */
	const char *body;         /* may be NULL */
	size_t body_len;
	const char *content_type; /* default "application/json" when a body is given */
	const char *accept;       /* default "application/json" */
	long timeout_ms;          /* 0 = the config's --request-timeout */
	size_t max_body;          /* response cap; 0 = 64 MiB */
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
};

/* Run one request. A 2xx answer returns KX_OK with the body in *body (caller
 * frees with kx_buf_free). Any other answer returns KX_ERR_API and decodes the
 * Status into kx_client_status(c). Transport failures return KX_ERR_REFUSED,
 * KX_ERR_CONNECT, KX_ERR_TLS, KX_ERR_TIMEOUT, with detail in eb. On 401 with an
 * exec credential plugin, the plugin runs once more and the call is retried. */
KX_API kx_err kx_client_request(struct kx_client *c, const struct kx_request *req,
				struct kx_buf *body, struct kx_errbuf *eb);

/* The Status of the last failed call (KX_ERR_API), or NULL. Owned by c. */
KX_API const struct kx_status *kx_client_status(const struct kx_client *c);

/* Convenience: JSON in, JSON out. body_json may be NULL; *out may be NULL to ignore. */
KX_API kx_err kx_client_json(struct kx_client *c, const char *method, const char *path,
			     const cJSON *body_json, cJSON **out, struct kx_errbuf *eb);
KX_API kx_err kx_client_get(struct kx_client *c, const char *path, cJSON **out,
			    struct kx_errbuf *eb);
KX_API kx_err kx_client_patch(struct kx_client *c, const char *path, enum kx_patch_type type,
			      const cJSON *patch, cJSON **out, struct kx_errbuf *eb);

/* A watch: GET path (which should carry watch=1 or watch=true) and call fn for
 * each event as it arrives, with type ("ADDED", "MODIFIED", "DELETED",
 * "BOOKMARK", "ERROR") and the object (owned by libkx, valid during the call).
 * fn returns 0 to go on, anything else to stop (then KX_OK is returned).
 * Events are never buffered beyond one (capped) line. */
typedef int (*kx_watch_fn)(void *ud, const char *type, const cJSON *object);
KX_API kx_err kx_client_watch(struct kx_client *c, const char *path, long timeout_ms,
			      kx_watch_fn fn, void *ud, struct kx_errbuf *eb);

/* Wait until one of n (at most 4) watches sends an event other than BOOKMARK,
 * or ends, or timeout_ms passes. Each path carries watch=1 and the
 * resourceVersion the caller last read, so only a change wakes it. All the
 * watches run at once in a loop of their own. *changed is 1 when something
 * changed (read again), 0 on the timeout. For commands that wait for a state
 * (`reach --wait`) without polling. */
KX_API kx_err kx_client_wait_any(struct kx_client *c, const char *const *paths, size_t n,
				 long timeout_ms, int *changed, struct kx_errbuf *eb);

/* Resource paths. kind is a plural resource name ("pods", "deployments"…);
 * ns NULL = cluster scope or all namespaces; name NULL = the collection;
 * sub NULL or "exec", "portforward", "status", …. Core and the common grouped
 * resources are built in; others go through discovery. Writes into out
 * (kx_buf_free to release). */
KX_API kx_err kx_resource_path(struct kx_client *c, const char *resource, const char *ns,
			       const char *name, const char *sub, struct kx_buf *out,
			       struct kx_errbuf *eb);

/* A resource type as the server serves it (what kubectl calls a REST mapping). */
struct kx_resource_type {
	char group[256];    /* "" for the core group */
	char version[64];   /* "v1" */
	char resource[256]; /* plural, as in the path: "pods" */
	char kind[256];     /* "Pod" */
	int namespaced;
};

/* Resolve a resource name as kubectl accepts it — plural, singular, kind, short
 * name, any case, "resource.group" or "resource.version.group" — to a type: the
 * built-in table first, else the server's discovery (aggregated when the server
 * has it), cached on disk for 6 hours under $XDG_CACHE_HOME/kx (or
 * ~/.cache/kx)/discovery/<host_port>/; a name missing from a cached copy is
 * looked up once more on the server. Unknown names fail with KX_ERR_NOT_FOUND and
 * kubectl's message (the server doesn't have a resource type "x"); a failed
 * discovery request returns its error (kx_client_status for KX_ERR_API). */
KX_API kx_err kx_resource_resolve(struct kx_client *c, const char *name,
				  struct kx_resource_type *out, struct kx_errbuf *eb);

/* Like kx_resource_resolve, but a discovery category ("all", as in kubectl's
 * `get all`) stands for its types, in the server's order, one version each
 * (the preferred); categories come before resource names, as in kubectl. *out
 * is an array of *n >= 1 types on success (free() it). */
KX_API kx_err kx_resource_expand(struct kx_client *c, const char *name,
				 struct kx_resource_type **out, size_t *n, struct kx_errbuf *eb);

/* The REST path of a resolved type, like kx_resource_path (ns is ignored for
 * cluster-scoped types; name is percent-encoded). Writes into out (kx_buf_free). */
KX_API kx_err kx_resource_type_path(const struct kx_resource_type *t, const char *ns,
				    const char *name, const char *sub, struct kx_buf *out,
				    struct kx_errbuf *eb);

#endif
