/* SPDX-License-Identifier: Apache-2.0 */
/* libkx: a growable byte buffer with a size cap. Used for every body, line or
 * document whose size comes from outside, so no input can grow memory unbounded. */
#ifndef KX_BUF_H
#define KX_BUF_H

#include <kx/common.h>
#include <stdarg.h>

struct kx_buf {
	char *data;     /* always NUL-terminated when non-NULL (not counted in len) */
	size_t len;
	size_t cap;
	size_t max;     /* the cap: appends beyond it fail with KX_ERR_TOO_LARGE; 0 = 64 MiB */
	int secret;     /* holds credentials: no copy is ever left in freed memory (growth
			   copies and zeroes the old block; consume, clear and free zero) */
	size_t off;     /* bytes consumed at the front of the block (data - off): consume
			   moves a cursor, and the bytes move only when room is needed */
};

#define KX_BUF_INIT(maxbytes) { NULL, 0, 0, (maxbytes), 0, 0 }
/* A buffer for credentials (tokens, keys, plugin output, request heads). */
#define KX_BUF_INIT_SECRET(maxbytes) { NULL, 0, 0, (maxbytes), 1, 0 }

/* Append bytes. On failure the buffer is freed and reset (it "frees itself"). */
KX_API kx_err kx_buf_append(struct kx_buf *b, const void *data, size_t len);
KX_API kx_err kx_buf_appends(struct kx_buf *b, const char *s);
KX_API kx_err kx_buf_printf(struct kx_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
KX_API kx_err kx_buf_vprintf(struct kx_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Drop the first n bytes. */
KX_API void kx_buf_consume(struct kx_buf *b, size_t n);
/* Reset length to 0 and keep the allocation. */
KX_API void kx_buf_clear(struct kx_buf *b);
/* Free memory (zeroed first for a secret buffer); the buffer can be reused
 * afterwards. Safe on a zeroed buffer. */
KX_API void kx_buf_free(struct kx_buf *b);
/* Zero the contents (for secrets), then free. */
KX_API void kx_buf_free_secret(struct kx_buf *b);
/* Take ownership of the data (NUL-terminated, never NULL on success); the buffer is reset. */
KX_API char *kx_buf_steal(struct kx_buf *b);

/* Append a query parameter: "?key=value" when b holds no '?' yet, else "&key=value",
 * with value escaped as Go's url.QueryEscape does (what client-go sends): letters,
 * digits and -_.~ as they are, space as '+', every other byte as %XX. */
KX_API kx_err kx_buf_query(struct kx_buf *b, const char *key, const char *value);

#endif
