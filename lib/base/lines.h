/* SPDX-License-Identifier: Apache-2.0 */
/* Whole lines with a prefix, from a byte stream that arrives in arbitrary
 * pieces: exec across many pods writes only whole lines, so the pods' output
 * never tears mid-line. Pure: no descriptors, no loop.
 *
 * Recipe: kx__lines_feed() each piece as it comes (complete lines, each with the
 * prefix before it, are appended to out; an unfinished line is kept), then
 * kx__lines_finish() at the end of the stream (the unfinished line, with a '\n'
 * added), then kx__lines_free(). A line longer than KX_LINES_MAX bytes goes out
 * in pieces of that size, each prefixed and ended with '\n' (memory stays
 * bounded whatever the command writes). */
#ifndef KX_LINES_H
#define KX_LINES_H

#include <kx/buf.h>
#include <kx/common.h>

#define KX_LINES_MAX (64 * 1024)

struct kx__lines {
	struct kx_buf part; /* the unfinished line (zero-initialise) */
};

kx_err kx__lines_feed(struct kx__lines *l, const char *prefix, size_t plen, const void *data,
		      size_t len, struct kx_buf *out);
kx_err kx__lines_finish(struct kx__lines *l, const char *prefix, size_t plen, struct kx_buf *out);
void kx__lines_free(struct kx__lines *l);

#endif
