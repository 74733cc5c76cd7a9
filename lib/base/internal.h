/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internals shared between lib/ files (the curl `Curl_*` idea): nothing
 * here is public API. */
#ifndef KX_INTERNAL_H
#define KX_INTERNAL_H

#include <kx/buf.h>
#include <kx/client.h> /* the client internals below: REST calls, connection info */
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
	void *share;                     /* the client's CURLSH (TLS sessions, DNS) */
	struct kx_creds creds;           /* valid until the next call that takes credentials */
	long keepalive_ms;               /* TCP keep-alive idle and interval (proxy --keepalive); 0: libcurl's 60 s */
};
kx_err kx__client_conn_info(struct kx_client *c, struct kx__conn_info *ci, struct kx_errbuf *eb);
/* The Authorization header value for ci's creds (auth.c) ("Bearer …" or "Basic …") into
 * out; returns 0 when there is none. Zero out after use. */
int kx__auth_header(const struct kx__conn_info *ci, char *out, size_t n);
/* A REST call or watch inside a streaming command's loop (libcurl's multi
 * interface driven by the loop: curlm.h), so the loop never blocks. watch NULL:
 * the body is collected and handed to done; else events go to watch as they
 * come. done gets KX_OK or why (the Status kept as for blocking calls); it may
 * free the call. Free a call that has not finished to cancel it. */
struct kx_loop;
struct kx__call;
struct kx_request;
typedef void (*kx__call_done_fn)(void *ud, kx_err err, const struct kx_buf *body,
				 const struct kx_errbuf *eb);
kx_err kx__client_start(struct kx_client *c, struct kx_loop *l, const struct kx_request *req,
			kx_watch_fn watch, void *watch_ud, kx__call_done_fn done, void *ud,
			struct kx__call **out, struct kx_errbuf *eb);
void kx__call_free(struct kx__call *k);
/* Record a Status (e.g. from an upgrade's error body) as the client's last status. */
void kx__client_set_status(struct kx_client *c, const struct kx_status *st);
/* The server said 401 to an upgrade: returns 1 when new credentials may help. */
int kx__client_unauthorized(struct kx_client *c);

#endif
