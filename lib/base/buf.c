/* SPDX-License-Identifier: Apache-2.0 */
/* The size-capped growable buffer (see <kx/buf.h>) and small memory helpers. */
#include <kx/buf.h>
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KX_BUF_DEFAULT_MAX ((size_t)64 << 20)

static size_t buf_max(const struct kx_buf *b)
{
	return b->max ? b->max : KX_BUF_DEFAULT_MAX;
}

/* Move the bytes back to the front of the block (after consumes). */
static void buf_compact(struct kx_buf *b)
{
	if (!b->off)
		return;
	char *block = b->data - b->off;
	memmove(block, b->data, b->len + 1);
	if (b->secret)
		kx__memzero(block + b->len + 1, b->off);
	b->data = block;
	b->off = 0;
}

static kx_err buf_reserve(struct kx_buf *b, size_t extra)
{
	if (extra > buf_max(b) || b->len > buf_max(b) - extra) {
		kx_buf_free(b);
		return KX_ERR_TOO_LARGE;
	}
	size_t need = b->len + extra + 1;
	if (b->off + need <= b->cap)
		return KX_OK;
	buf_compact(b); /* at most once per block's worth of consumed bytes */
	if (need <= b->cap)
		return KX_OK;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *p;
	if (b->secret) {
		/* realloc would free the old block with the secret still in it */
		if ((p = malloc(cap)) && b->data) {
			memcpy(p, b->data, b->len + 1);
			kx__memzero(b->data, b->cap);
			free(b->data);
		}
	} else {
		p = realloc(b->data, cap);
	}
	if (!p) {
		kx_buf_free(b);
		return KX_ERR_NOMEM;
	}
	b->data = p;
	b->cap = cap;
	return KX_OK;
}

kx_err kx_buf_append(struct kx_buf *b, const void *data, size_t len)
{
	kx_err err = buf_reserve(b, len);
	if (err)
		return err;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return KX_OK;
}

kx_err kx_buf_appends(struct kx_buf *b, const char *s)
{
	return kx_buf_append(b, s, strlen(s));
}

kx_err kx_buf_vprintf(struct kx_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return KX_ERR_INVALID;
	kx_err err = buf_reserve(b, (size_t)n);
	if (err)
		return err;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return KX_OK;
}

kx_err kx_buf_printf(struct kx_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kx_err err = kx_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return err;
}

void kx_buf_consume(struct kx_buf *b, size_t n)
{
	if (!b->data)
		return;
	if (n >= b->len) {
		kx_buf_clear(b);
		return;
	}
	/* A cursor, not a memmove of what is left: a socket taking part of a
	 * large buffer would otherwise cost a copy of the rest per write. */
	if (b->secret)
		kx__memzero(b->data, n);
	b->data += n;
	b->off += n;
	b->len -= n;
}

void kx_buf_clear(struct kx_buf *b)
{
	if (!b->data)
		return;
	if (b->secret)
		kx__memzero(b->data, b->len);
	b->data -= b->off;
	b->off = 0;
	b->len = 0;
	b->data[0] = '\0';
}

void kx_buf_free(struct kx_buf *b)
{
	if (b->data) {
		b->data -= b->off;
		if (b->secret)
			kx__memzero(b->data, b->cap);
	}
	free(b->data);
	b->data = NULL;
	b->len = b->cap = b->off = 0;
}

void kx_buf_free_secret(struct kx_buf *b)
{
	b->secret = 1;
	kx_buf_free(b);
}

char *kx_buf_steal(struct kx_buf *b)
{
	if (!b->data && kx_buf_append(b, "", 0))
		return NULL;
	buf_compact(b);
	char *p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void kx__memzero(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

void kx__free_secret(char *s)
{
	if (s)
		kx__memzero(s, strlen(s));
	free(s);
}

char *kx__strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

kx_err kx_buf_query(struct kx_buf *b, const char *key, const char *val)
{
	kx_err err = kx_buf_printf(b, "%c%s=", b->data && strchr(b->data, '?') ? '&' : '?', key);
	for (const unsigned char *p = (const unsigned char *)val; !err && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-_.~", *p))
			err = kx_buf_append(b, p, 1);
		else if (*p == ' ')
			err = kx_buf_append(b, "+", 1);
		else
			err = kx_buf_printf(b, "%%%02X", *p);
	}
	return err;
}
