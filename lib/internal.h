/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internals shared between lib/ files (the curl `Curl_*` idea): nothing
 * here is public API. */
#ifndef KX_INTERNAL_H
#define KX_INTERNAL_H

#include <kx/buf.h>
#include <kx/common.h>
#include <stdarg.h>
#include <stddef.h>

/* Set the error buffer's message unless one is already there (the first, most
 * specific message wins). eb may be NULL. Returns err, so callers can write
 * `return kx__fail(eb, KX_ERR_INVALID, "…", …);`. */
kx_err kx__fail(struct kx_errbuf *eb, kx_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* strdup that tolerates NULL (returns NULL for NULL). */
char *kx__strdup(const char *s);

/* Zero memory in a way the compiler may not drop, then free. */
void kx__free_secret(char *s);
void kx__memzero(void *p, size_t n);

/* The old internal name of kx_buf_query (<kx/buf.h>), until its last users move. */
#define kx__buf_query kx_buf_query

/* proxy.c: the HTTP proxy for a connection (client-go's rules). */
struct kx__proxy {
	int use;
	char host[300];
	int port;
	char userinfo[256]; /* "user:password" for Proxy-Authorization, or "" (a secret) */
};
kx_err kx__proxy_for(const char *proxy_url, int tls, const char *host, struct kx__proxy *out,
		     struct kx_errbuf *eb);
int kx__no_proxy(const char *host);

/* tlserr.c: an OpenSSL verify result in Go's crypto/x509 words. */
const char *kx__x509_words(long verify_result);

#define KX_MIN(a, b) ((a) < (b) ? (a) : (b))

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

/* ---- client.c: what streaming transports need from a client ---- */
struct kx_client;
struct kx_status;
struct kx__conn_info {
	char host[256];        /* address to connect to, without IPv6 brackets */
	int port;
	int tls;               /* https */
	char tls_name[256];    /* name for SNI and certificate checks (--tls-server-name or host) */
	char host_header[300]; /* "host:port" as sent in Host */
	char path_prefix[256]; /* the server URL's path ("" or "/prefix"), prepended to API paths */
	const struct kx_rest_config *rc; /* owned by the client */
	struct kx_creds creds;           /* valid until the next call that takes credentials */
};
kx_err kx__client_conn_info(struct kx_client *c, struct kx__conn_info *ci, struct kx_errbuf *eb);
/* Record a Status (e.g. from an upgrade's error body) as the client's last status. */
void kx__client_set_status(struct kx_client *c, const struct kx_status *st);
/* The server said 401 to an upgrade: returns 1 when new credentials may help. */
int kx__client_unauthorized(struct kx_client *c);

#endif
