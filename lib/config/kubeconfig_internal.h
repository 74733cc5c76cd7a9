/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internals of kubeconfig handling, shared by its layers — kubeconfig.c (load,
 * merge), kubeconfig_resolve.c (resolve), config.c (the façade) — and the kubeconfig
 * fuzz target. Nothing here is public API. */
#ifndef KX_KUBECONFIG_INTERNAL_H
#define KX_KUBECONFIG_INTERNAL_H

#include <kx/config.h>

/* Cap for a kubeconfig file and for the certificate, key and token files it names. */
#define KX_KUBECONFIG_MAX ((size_t)16 << 20)

/* One named cluster, user or context of the merged config. */
struct kx__kc_entry {
	const char *name;  /* the entry's "name" (owned by the merged document) */
	const cJSON *obj;  /* its normalized "cluster"/"user"/"context" object */
	const char *dir;   /* absolute directory of the file it came from (owned by cfg) */
	cJSON *item;       /* the {"name", …} element of the merged list */
	size_t file;       /* index of that file in load order */
};

struct kx__kc_table {
	struct kx__kc_entry *v; /* sorted by name once loading is done */
	size_t n, cap;
	int in_merged; /* the items belong to the merged document */
};

/* Reads a file the way kx__file_read does; the fuzzer swaps in one that never touches
 * the file system. */
typedef kx_err (*kx__kc_reader)(const char *path, size_t max, char **out, size_t *len,
				const char **op, int *errnum);

/* An allocation behind the resolved kx_rest_config; secrets are zeroed on free. */
struct kx__kc_alloc {
	void *p;
	size_t len;
	int secret;
};

struct kx_config {
	cJSON *merged;
	struct kx__kc_table clusters, users, contexts;
	char **dirs;
	size_t n_dirs;
	char *current_context; /* after --context; NULL when none */
	struct kx_rest_config rest;
	struct kx_exec_config exec;
	int have_rest;
	kx__kc_reader read; /* for the certificate, key and CA files the config names */
	struct kx__kc_alloc *allocs;
	size_t n_allocs, cap_allocs;
};

/* The entry named name, or NULL. */
const struct kx__kc_entry *kx__kc_find(const struct kx__kc_table *t, const char *name);

/* Read and merge the kubeconfig files kubectl would read (or, when data is not NULL,
 * the one held in memory as if it were the file at path), and choose the current
 * context; nothing is resolved yet (kubeconfig.c, the load layer). Files the
 * config names are read later with read (NULL: kx__file_read). */
kx_err kx__config_read(const struct kx_config_overrides *ov, const char *data, size_t len,
			const char *path, kx__kc_reader read, struct kx_config **out,
			struct kx_errbuf *eb);

/* Resolve the current context of a loaded config into cfg->rest (kubeconfig_resolve.c,
 * the layer above loading). */
kx_err kx__config_resolve(struct kx_config *cfg, const struct kx_config_overrides *ov,
			  struct kx_errbuf *eb);

/* Load a kubeconfig held in memory as if it were the file at path (for the fuzzer and
 * tests): the same parsing, normalization and resolution as kx_config_load(_raw).
 * Files the config names are read with read (NULL: kx__kc_read). */
kx_err kx__config_load_mem(const char *data, size_t len, const char *path,
			   const struct kx_config_overrides *ov, int raw, kx__kc_reader read,
			   struct kx_config **out, struct kx_errbuf *eb);

#endif
