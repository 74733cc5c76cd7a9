/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internals of kubeconfig handling, shared by lib/kubeconfig*.c, lib/yaml.c and
 * the kubeconfig fuzz target. Nothing here is public API. */
#ifndef KX_KUBECONFIG_INTERNAL_H
#define KX_KUBECONFIG_INTERNAL_H

#include <kx/config.h>

/* Cap for a kubeconfig file and for the certificate, key and token files it names. */
#define KX_KUBECONFIG_MAX ((size_t)16 << 20)

/* Standard padded base64 the way Go's base64.StdEncoding decodes it (CR/LF skipped,
 * padding required). *out is malloc'd and NUL-terminated; on KX_ERR_INVALID *bad_at is
 * the offending input offset (Go's "illegal base64 data at input byte N"). Lives in
 * yaml.c, which needs it for !!binary. */
kx_err kx__b64_decode(const char *in, size_t len, char **out, size_t *outlen, size_t *bad_at);

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

/* Reads a file the way kx__kc_read does; the fuzzer swaps in one that never touches
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

/* Read a whole file capped at max bytes (NUL-terminated). On failure *errnum is the
 * errno (0 for "too large") and *op names the failing step ("open", "read"). */
kx_err kx__kc_read(const char *path, size_t max, char **out, size_t *len, const char **op,
		   int *errnum);

/* Go's error text for an errno: strerror with a lower-case first letter. */
const char *kx__kc_errno_text(int errnum, char *buf, size_t n);

/* The entry named name, or NULL. */
const struct kx__kc_entry *kx__kc_find(const struct kx__kc_table *t, const char *name);

/* Go's filepath.Join(dir, p) for a relative p; an absolute p is only cleaned. */
char *kx__kc_path_join(const char *dir, const char *p);

/* Resolve the current context of a loaded config into cfg->rest (kubeconfig_resolve.c). */
kx_err kx__config_resolve(struct kx_config *cfg, const struct kx_config_overrides *ov,
			  struct kx_errbuf *eb);

/* Load a kubeconfig held in memory as if it were the file at path (for the fuzzer and
 * tests): the same parsing, normalization and resolution as kx_config_load(_raw).
 * Files the config names are read with read (NULL: kx__kc_read). */
kx_err kx__config_load_mem(const char *data, size_t len, const char *path,
			   const struct kx_config_overrides *ov, int raw, kx__kc_reader read,
			   struct kx_config **out, struct kx_errbuf *eb);

#endif
