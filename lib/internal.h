/* libkx internals shared between lib/ files (the curl `Curl_*` idea): nothing
 * here is public API. */
#ifndef KX_INTERNAL_H
#define KX_INTERNAL_H

#include <kx/common.h>
#include <stdarg.h>
#include <stddef.h>

/* Set the error buffer's message unless one is already there (the first, most
 * specific message wins). eb may be NULL. Returns err, so callers can write
 * `return kx__fail(eb, KX_ERR_INVALID, "…", …);`. */
kx_err kx__fail(struct kx_errbuf *eb, kx_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Read a whole file into memory, capped at max bytes. *out is NUL-terminated. */
kx_err kx__read_file(const char *path, size_t max, char **out, size_t *len, struct kx_errbuf *eb);

/* strdup that tolerates NULL (returns NULL for NULL). */
char *kx__strdup(const char *s);

/* Zero memory in a way the compiler may not drop, then free. */
void kx__free_secret(char *s);
void kx__memzero(void *p, size_t n);

#define KX_MIN(a, b) ((a) < (b) ? (a) : (b))

#endif

/* ---- restconfig.c: deep copies of struct kx_rest_config ---- */
struct kx_rest_config;
/* A deep copy that owns every string; free with kx__rest_config_free. */
struct kx_rest_config *kx__rest_config_dup(const struct kx_rest_config *rc);
void kx__rest_config_free(struct kx_rest_config *rc);

/* ---- auth.c: credentials for requests ---- */
struct kx_auth;
kx_err kx__auth_new(const struct kx_rest_config *rc, struct kx_auth **out, struct kx_errbuf *eb);
void kx__auth_free(struct kx_auth *a);
/* The credentials to send now. Any of them may be NULL. Runs the exec plugin when
 * its cached credential is missing or expired; re-reads a token file that changed.
 * Pointers stay valid until the next call on a. */
struct kx_creds {
	const char *bearer;
	const char *cert_pem, *key_pem;
	size_t cert_len, key_len;
	const char *username, *password;
};
kx_err kx__auth_get(struct kx_auth *a, struct kx_creds *out, struct kx_errbuf *eb);
/* The server said 401: drop a cached exec credential. Returns 1 when a retry could
 * get a different credential (the plugin will run again), else 0. */
int kx__auth_unauthorized(struct kx_auth *a);
/* For tests: how many times the exec plugin ran. */
int kx__auth_exec_runs(const struct kx_auth *a);
