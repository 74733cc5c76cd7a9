/* SPDX-License-Identifier: Apache-2.0 */
/* Prefixed whole lines from a stream of pieces (see lines.h). */
#include "lines.h"

#include <string.h>

static kx_err emit(const char *prefix, size_t plen, const char *a, size_t alen, const char *b,
		   size_t blen, int add_newline, struct kx_buf *out)
{
	kx_err err = kx_buf_append(out, prefix, plen);
	if (!err && alen)
		err = kx_buf_append(out, a, alen);
	if (!err && blen)
		err = kx_buf_append(out, b, blen);
	if (!err && add_newline)
		err = kx_buf_append(out, "\n", 1);
	return err;
}

kx_err kx__lines_feed(struct kx__lines *l, const char *prefix, size_t plen, const void *data,
		      size_t len, struct kx_buf *out)
{
	const char *p = data, *end = p + len;
	kx_err err = KX_OK;
	if (!l->part.max)
		l->part = (struct kx_buf)KX_BUF_INIT(KX_LINES_MAX + 1);
	while (!err && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t room = KX_LINES_MAX - l->part.len;
		if (nl && (size_t)(nl - p) <= room) {
			/* A whole line: what was kept, then this piece up to the '\n'. */
			err = emit(prefix, plen, l->part.data, l->part.len, p, (size_t)(nl + 1 - p), 0, out);
			kx_buf_clear(&l->part);
			p = nl + 1;
		} else if ((size_t)(end - p) < room) {
			err = kx_buf_append(&l->part, p, (size_t)(end - p)); /* wait for its end */
			p = end;
		} else {
			/* Too long for one line: a piece of KX_LINES_MAX bytes goes out. */
			err = emit(prefix, plen, l->part.data, l->part.len, p, room, 1, out);
			kx_buf_clear(&l->part);
			p += room;
		}
	}
	return err;
}

kx_err kx__lines_finish(struct kx__lines *l, const char *prefix, size_t plen, struct kx_buf *out)
{
	if (!l->part.len)
		return KX_OK;
	kx_err err = emit(prefix, plen, l->part.data, l->part.len, NULL, 0, 1, out);
	kx_buf_clear(&l->part);
	return err;
}

void kx__lines_free(struct kx__lines *l)
{
	kx_buf_free(&l->part);
}
