/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the SPDY/3.1 session (lib/transport/spdy.c) fed arbitrary server bytes.
 * Input: two bytes choosing a split point (the top bit picks the mode), then
 * the byte stream, fed in two pieces to a session with streams 1, 3, 5 and 7
 * open. In the second mode the bytes are frame records whose header blocks the
 * harness deflates itself, so the fuzzer reaches the block parser without
 * having to invent zlib. Callbacks write, close, reset and open streams as a
 * real caller would; afterwards everything the session queued must be
 * well-formed SPDY that a server's inflater can read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <kx/buf.h>
#include "spdy.h"

struct fuzz {
	struct kx__spdy *s;
	unsigned events;
	uint32_t last_stream;
};

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void check_headers(const struct kx__spdy_headers *h)
{
	for (size_t i = 0; i < h->count; i++) {
		check(h->items[i].name[0] != '\0');
		check(h->items[i].value[h->items[i].value_len] == '\0');
		check(kx__spdy_headers_get(h, h->items[i].name, NULL) != NULL);
		if (i)
			check(strcmp(h->items[i - 1].name, h->items[i].name) < 0);
	}
}

static void on_reply(void *ud, uint32_t id, const struct kx__spdy_headers *h)
{
	struct fuzz *f = ud;
	check_headers(h);
	check(kx__spdy_stream_ready(f->s, id));
	f->events++;
	kx__spdy_write(f->s, id, "input", 5, NULL);
	if (f->events % 3 == 0) {
		struct kx__spdy_pair p[] = {{"streamtype", "data"}, {"port", "80"}, {"Port", "81"}};
		uint32_t nid;
		kx__spdy_open_stream(f->s, p, 3, 0, &nid, NULL);
	}
}

static void on_headers(void *ud, uint32_t id, const struct kx__spdy_headers *h)
{
	check_headers(h);
	((struct fuzz *)ud)->events++;
}

static void on_data(void *ud, uint32_t id, const void *p, size_t n)
{
	struct fuzz *f = ud;
	check(n > 0 && kx__spdy_stream_alive(f->s, id));
	f->events++;
	if (((const unsigned char *)p)[0] == 'R')
		kx__spdy_reset(f->s, id, KX_SPDY_CANCEL, NULL);
	else if (((const unsigned char *)p)[0] == 'C')
		kx__spdy_close_stream(f->s, id, NULL);
	check(kx__spdy_feed(f->s, "x", 1, NULL) == KX_ERR_INVALID);
}

static void on_fin(void *ud, uint32_t id)
{
	struct fuzz *f = ud;
	f->events++;
	if (kx__spdy_close_stream(f->s, id, NULL) == KX_OK)
		check(!kx__spdy_stream_alive(f->s, id));
}

static void on_reset(void *ud, uint32_t id, uint32_t status, int by_peer)
{
	struct fuzz *f = ud;
	f->events++;
	check(!kx__spdy_stream_alive(f->s, id));
	check(status != 0);
}

static void on_goaway(void *ud, uint32_t last, uint32_t status)
{
	((struct fuzz *)ud)->events++;
	kx__spdy_ping(((struct fuzz *)ud)->s, NULL, NULL);
}

static void on_ping_reply(void *ud, uint32_t id)
{
	check(id & 1);
	((struct fuzz *)ud)->events++;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Everything the session queued: whole frames, version 3, known types, and
 * SYN_STREAM blocks that one shared inflater (the server's) reads. */
static void check_output(z_stream *z, const unsigned char *p, size_t n)
{
	static unsigned char block[1 << 16];
	while (n) {
		check(n >= 8);
		uint32_t len = get32(p + 4) & 0xffffff;
		check(n - 8 >= len);
		if (p[0] & 0x80) {
			unsigned type = (unsigned)p[2] << 8 | p[3];
			check(p[0] == 0x80 && p[1] == 3);
			check(type == 1 || type == 3 || type == 6 || type == 7);
			if (type == 1) {
				check(len >= 10 && (get32(p + 8) & 1));
				z->next_in = (Bytef *)(uintptr_t)(p + 18);
				z->avail_in = len - 10;
				z->next_out = block;
				z->avail_out = sizeof block;
				int rc = inflate(z, Z_SYNC_FLUSH);
				if (rc == Z_NEED_DICT) {
					check(inflateSetDictionary(z, kx__spdy_dict, KX_SPDY_DICT_LEN) == Z_OK);
					rc = inflate(z, Z_SYNC_FLUSH);
				}
				check(rc == Z_OK && z->avail_in == 0);
				check(sizeof block - z->avail_out >= 4);
			} else {
				check(len == (type == 6 ? 4u : 8u));
			}
		} else {
			check(get32(p) != 0);
		}
		p += 8 + len;
		n -= 8 + len;
	}
}

/* Records: type (0 = DATA), flags, 4-byte stream id, 2-byte length, payload.
 * SYN_STREAM, SYN_REPLY and HEADERS payloads are raw name/value blocks,
 * deflated here on one stream with the dictionary, as a server would. */
static void build_frames(const uint8_t *p, size_t n, struct kx_buf *wire)
{
	static unsigned char z[1 << 17];
	z_stream d = {0};
	if (deflateInit(&d, Z_DEFAULT_COMPRESSION) != Z_OK)
		return;
	deflateSetDictionary(&d, kx__spdy_dict, KX_SPDY_DICT_LEN);
	while (n >= 8) {
		unsigned type = p[0], flags = p[1];
		uint32_t id = get32(p + 2);
		size_t len = (size_t)p[6] << 8 | p[7];
		unsigned char h[8];
		p += 8;
		n -= 8;
		len = len < n ? len : n;
		const unsigned char *body = p;
		size_t blen = len, fixed = 0;
		if (type == 1 || type == 2 || type == 8) {
			fixed = type == 1 ? 10 : 4;
			d.next_in = (Bytef *)(uintptr_t)p;
			d.avail_in = (uInt)len;
			d.next_out = z + fixed;
			d.avail_out = (uInt)(sizeof z - fixed);
			if (deflate(&d, Z_SYNC_FLUSH) != Z_OK)
				break;
			memset(z, 0, fixed);
			z[0] = (unsigned char)(id >> 24), z[1] = (unsigned char)(id >> 16);
			z[2] = (unsigned char)(id >> 8), z[3] = (unsigned char)id;
			body = z;
			blen = sizeof z - d.avail_out;
		}
		if (type) {
			h[0] = 0x80, h[1] = 3, h[2] = 0, h[3] = (unsigned char)type;
		} else {
			h[0] = (unsigned char)(id >> 24) & 0x7f, h[1] = (unsigned char)(id >> 16);
			h[2] = (unsigned char)(id >> 8), h[3] = (unsigned char)id;
		}
		h[4] = (unsigned char)flags;
		h[5] = (unsigned char)(blen >> 16), h[6] = (unsigned char)(blen >> 8), h[7] = (unsigned char)blen;
		kx_buf_append(wire, h, 8);
		kx_buf_append(wire, body, blen);
		p += len;
		n -= len;
	}
	deflateEnd(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct kx__spdy_callbacks cb = {
		on_reply, on_headers, on_data, on_fin, on_reset, on_goaway, on_ping_reply,
	};
	struct fuzz f = {0};
	struct kx_buf out = KX_BUF_INIT(0);
	z_stream z = {0};
	const char *types[] = {"error", "stdin", "stdout", "stderr"};

	if (size < 2 || kx__spdy_new(&cb, &f, &f.s, NULL))
		return 0;
	struct kx_buf frames = KX_BUF_INIT(0);
	int structured = data[0] & 0x80;
	size_t split = ((size_t)(data[0] & 0x7f) << 8 | data[1]);
	data += 2;
	size -= 2;
	if (structured) {
		build_frames(data, size, &frames);
		data = frames.data ? (const uint8_t *)frames.data : (const uint8_t *)"";
		size = frames.len;
	}
	split = size ? split % (size + 1) : 0;
	kx__spdy_set_queue_cap(f.s, 64 << 10);
	for (int i = 0; i < 4; i++) {
		struct kx__spdy_pair h[] = {{"streamtype", types[i]}};
		uint32_t id;
		check(kx__spdy_open_stream(f.s, h, 1, i == 0, &id, NULL) == KX_OK && id == (uint32_t)(2 * i + 1));
	}
	kx_err e1 = kx__spdy_feed(f.s, data, split, NULL);
	size_t n;
	const void *p = kx__spdy_peek(f.s, &n);
	kx_buf_append(&out, p, n);
	kx__spdy_consumed(f.s, n);
	kx_err e2 = kx__spdy_feed(f.s, data + split, size - split, NULL);
	check(!e1 || e2 == e1); /* a failed session stays failed */
	kx__spdy_ping(f.s, NULL, NULL);
	p = kx__spdy_peek(f.s, &n);
	kx_buf_append(&out, p, n);
	check(inflateInit(&z) == Z_OK);
	check_output(&z, (const unsigned char *)out.data, out.len);
	inflateEnd(&z);
	kx_buf_free(&out);
	kx_buf_free(&frames);
	kx__spdy_free(f.s);
	return 0;
}
