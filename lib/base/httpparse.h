/* SPDX-License-Identifier: Apache-2.0 */
/* kx's one HTTP/1.1 parser: a thin wrapper over Node's http-parser (Debian
 * libhttp-parser) with kx's own names, for every head kx reads itself — the
 * proxy's requests and upstream responses, and the answers to upgrades
 * (upconn.c). Everything else HTTP goes through libcurl. */
#ifndef KX_HTTPPARSE_H
#define KX_HTTPPARSE_H

#include <stddef.h>

struct kx__http;

/* Return 0 to go on, -1 to stop with an error. on_headers may return 1 in a
 * response parser: no body follows (the answer to HEAD). */
struct kx__http_callbacks {
	int (*on_begin)(void *ud);
	int (*on_url)(void *ud, const char *at, size_t n);
	int (*on_field)(void *ud, const char *at, size_t n);
	int (*on_value)(void *ud, const char *at, size_t n);
	int (*on_headers)(void *ud);
	int (*on_body)(void *ud, const char *at, size_t n);
	int (*on_complete)(void *ud);
};

enum kx__http_state { KX_HTTP_OK, KX_HTTP_PAUSED, KX_HTTP_HEADER_OVERFLOW, KX_HTTP_ERROR };

struct kx__http *kx__http_new(int response, const struct kx__http_callbacks *cb, void *ud);
void kx__http_free(struct kx__http *h);
/* Start over (a new response on a new connection). */
void kx__http_reset(struct kx__http *h);
/* Parse; returns the bytes used. len 0 = the peer's EOF. */
size_t kx__http_feed(struct kx__http *h, const char *data, size_t len);
enum kx__http_state kx__http_state(const struct kx__http *h);
const char *kx__http_error_text(const struct kx__http *h);
void kx__http_pause(struct kx__http *h, int paused);
int kx__http_keep_alive(const struct kx__http *h);
int kx__http_chunked(const struct kx__http *h);
int kx__http_upgrade(const struct kx__http *h);  /* stopped at an Upgrade / 101 */
int kx__http_status(const struct kx__http *h);
const char *kx__http_method(const struct kx__http *h);
int kx__http_is_connect(const struct kx__http *h);
int kx__http_is_head(const struct kx__http *h);
/* The message's HTTP version as major * 10 + minor (11 for HTTP/1.1). */
int kx__http_version(const struct kx__http *h);
/* Split a request target into path and query (offsets into url); -1 if malformed. */
int kx__http_split_url(const char *url, size_t n, size_t *path_off, size_t *path_len,
		       size_t *query_off, size_t *query_len, int *has_path, int *has_query);

#endif
