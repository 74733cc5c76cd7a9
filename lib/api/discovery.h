/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internal: the server's resource types from discovery — aggregated
 * (apidiscovery.k8s.io/v2, two requests) or the legacy per-group-version
 * documents — kept in a disk cache like kubectl's, and matched against what a
 * user typed. Used by resources.c for names outside the built-in table. */
#ifndef KX_DISCOVERY_H
#define KX_DISCOVERY_H

#include <kx/client.h>
#include <time.h>

/* How long a cached discovery stays fresh (kubectl: 6 hours). */
#define KX_DISCOVERY_TTL_SECONDS (6 * 3600)

struct kx__api_resource {
	char *group;   /* "" for the core group */
	char *version;
	char *resource; /* plural */
	char *singular; /* may be "" (legacy discovery before 1.27 often has none) */
	char *kind;
	char **short_names; /* n_short entries */
	size_t n_short;
	char **categories; /* n_categories entries: "all", "api-extensions" … */
	size_t n_categories;
	int namespaced;
};

/* The resource types in the server's priority order: the core group first,
 * then the groups in the order the server lists them; within a group the
 * preferred version first. */
struct kx__discovery {
	struct kx__api_resource *items;
	size_t n, cap;
};

void kx__discovery_free(struct kx__discovery *d); /* frees the items, not d */

/* Append the resources of an APIGroupDiscoveryList (the answer to /api or /apis
 * with the aggregated Accept header). Subresources are left out. */
kx_err kx__discovery_add_aggregated(struct kx__discovery *d, const cJSON *list,
				    struct kx_errbuf *eb);
/* Append the resources of a legacy APIResourceList (/api/v1, /apis/G/V). */
kx_err kx__discovery_add_resource_list(struct kx__discovery *d, const cJSON *list,
				       struct kx_errbuf *eb);

/* The cache's own document: {"kind":"KxDiscoveryCache","version":1,"resources":[…]}. */
cJSON *kx__discovery_to_json(const struct kx__discovery *d);
kx_err kx__discovery_from_json(const cJSON *doc, struct kx__discovery *d, struct kx_errbuf *eb);

/* The cache directory for a server: <base>/discovery/<host_port>, where base is the
 * client's cache_dir (kubectl's --cache-dir, default ~/.kube/cache, so kx's file sits
 * beside kubectl's in the same per-server directory) and host_port is
 * kx_client_host() plus the server URL's path, with every character other than
 * [A-Za-z0-9_.] replaced by '_' (kubectl's naming: "127.0.0.1_6443"). NULL when base
 * is NULL or empty (no disk cache). Caller frees. */
char *kx__discovery_cache_dir(const char *base, const char *host);
/* Read <dir>/api-resources.json if it is younger than ttl seconds at `now`.
 * Returns 0 on a hit (d filled), -1 on a miss (missing, stale, unreadable or
 * malformed — a half-written file is never seen: writers rename into place). */
int kx__discovery_cache_read(const char *dir, long ttl, time_t now, struct kx__discovery *d);
/* Write the cache atomically: directories made 0700, a temporary file 0600 in
 * the same directory, then rename. Returns 0, or -1 (nothing left behind);
 * callers ignore failures — an unwritable cache only costs requests. */
int kx__discovery_cache_write(const char *dir, const struct kx__discovery *d);

/* Find what a user typed: "pods", "pod", "Pod", "po", "pods.apps" style
 * resource.group, or resource.version.group. kubectl's order: a fully
 * qualified match, then short names, then plural or singular, then kind; the
 * first in priority order wins. NULL when nothing matches. */
const struct kx__api_resource *kx__discovery_find(const struct kx__discovery *d, const char *arg);

/* Whether r is in the category (exact, as kubectl compares). */
int kx__discovery_in_category(const struct kx__api_resource *r, const char *category);

/* Discovery for the client's server: from the cache when fresh and refresh is
 * 0, else from the server (then the cache is rewritten). *from_cache tells
 * which (may be NULL). */
kx_err kx__discovery_load(struct kx_client *c, int refresh, struct kx__discovery *d,
			  int *from_cache, struct kx_errbuf *eb);

#endif
