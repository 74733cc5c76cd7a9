/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the sans-IO SPDY/3.1 session (lib/transport/spdy.c): byte-exact frames,
 * the shared zlib header compression, incremental parsing at every split,
 * stream rules, malformed input and the outgoing queue. A tiny server-side
 * encoder below builds what a Kubernetes server would send; a recording of a
 * real kube-apiserver exec (tests/unit/data/spdy/) is replayed too. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <kx/buf.h>
#include "internal.h"
#include "fsutil.h"
#include "spdy.h"

#ifndef KX_TEST_DATA
#define KX_TEST_DATA "tests/unit/data"
#endif

/* ---- recording callbacks as text, one event per line ---- */

struct rec {
	struct kx_buf log;
	uint32_t data_stream; /* last event was data for this stream: coalesce */
	struct kx__spdy *s;
	uint32_t reset_on_data; /* a callback that resets this stream on data */
	int feed_from_callback;
	kx_err nested_err;
};

static void rec_bytes(struct rec *r, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\')
			assert_int_equal(kx_buf_append(&r->log, &b[i], 1), KX_OK);
		else
			assert_int_equal(kx_buf_printf(&r->log, "\\x%02x", b[i]), KX_OK);
	}
}

static void rec_headers(struct rec *r, const struct kx__spdy_headers *h)
{
	for (size_t i = 0; i < h->count; i++) {
		kx_buf_printf(&r->log, " %s=", h->items[i].name);
		rec_bytes(r, h->items[i].value, h->items[i].value_len);
	}
}

static void on_reply(void *ud, uint32_t id, const struct kx__spdy_headers *h)
{
	struct rec *r = ud;
	r->data_stream = 0;
	kx_buf_printf(&r->log, "reply %u", id);
	rec_headers(r, h);
	kx_buf_appends(&r->log, "\n");
}

static void on_headers(void *ud, uint32_t id, const struct kx__spdy_headers *h)
{
	struct rec *r = ud;
	r->data_stream = 0;
	kx_buf_printf(&r->log, "headers %u", id);
	rec_headers(r, h);
	kx_buf_appends(&r->log, "\n");
}

static void on_data(void *ud, uint32_t id, const void *p, size_t n)
{
	struct rec *r = ud;
	assert_true(n > 0);
	if (r->data_stream == id) {
		r->log.len--; /* reopen the last line */
	} else {
		kx_buf_printf(&r->log, "data %u ", id);
	}
	rec_bytes(r, p, n);
	kx_buf_appends(&r->log, "\n");
	r->data_stream = id;
	if (r->reset_on_data == id)
		assert_int_equal(kx__spdy_reset(r->s, id, KX_SPDY_CANCEL, NULL), KX_OK);
	if (r->feed_from_callback)
		r->nested_err = kx__spdy_feed(r->s, "x", 1, NULL);
}

static void on_fin(void *ud, uint32_t id)
{
	struct rec *r = ud;
	r->data_stream = 0;
	kx_buf_printf(&r->log, "fin %u\n", id);
}

static void on_reset(void *ud, uint32_t id, uint32_t status, int by_peer)
{
	struct rec *r = ud;
	r->data_stream = 0;
	kx_buf_printf(&r->log, "reset %u %u %s\n", id, status, by_peer ? "peer" : "local");
}

static void on_goaway(void *ud, uint32_t last, uint32_t status)
{
	struct rec *r = ud;
	r->data_stream = 0;
	kx_buf_printf(&r->log, "goaway %u %u\n", last, status);
}

static void on_ping_reply(void *ud, uint32_t id)
{
	struct rec *r = ud;
	r->data_stream = 0;
	kx_buf_printf(&r->log, "pong %u\n", id);
}

static const struct kx__spdy_callbacks recording = {
	on_reply, on_headers, on_data, on_fin, on_reset, on_goaway, on_ping_reply,
};

static const char *log_of(struct rec *r)
{
	return r->log.data ? r->log.data : "";
}

static struct kx__spdy *new_session(struct rec *r)
{
	struct kx__spdy *s = NULL;
	memset(r, 0, sizeof *r);
	r->log = (struct kx_buf)KX_BUF_INIT(0);
	assert_int_equal(kx__spdy_new(&recording, r, &s, NULL), KX_OK);
	r->s = s;
	return s;
}

static void end_session(struct kx__spdy *s, struct rec *r)
{
	kx__spdy_free(s);
	kx_buf_free(&r->log);
}

/* Take everything the session queued. */
static size_t drain(struct kx__spdy *s, unsigned char *out, size_t cap)
{
	size_t n;
	const void *p = kx__spdy_peek(s, &n);
	assert_true(n <= cap);
	if (n)
		memcpy(out, p, n);
	kx__spdy_consumed(s, n);
	assert_int_equal(kx__spdy_pending(s), 0);
	return n;
}

static void expect_out(struct kx__spdy *s, const unsigned char *want, size_t len)
{
	unsigned char got[256];
	size_t n = drain(s, got, sizeof got);
	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
}

/* ---- a tiny server-side encoder (what spdystream would send) ---- */

struct srv {
	z_stream z;
	struct kx_buf wire;
};

static void srv_init(struct srv *v)
{
	memset(v, 0, sizeof *v);
	v->wire = (struct kx_buf)KX_BUF_INIT(0);
	assert_int_equal(deflateInit(&v->z, Z_BEST_COMPRESSION), Z_OK);
	assert_int_equal(deflateSetDictionary(&v->z, kx__spdy_dict, KX_SPDY_DICT_LEN), Z_OK);
}

static void srv_free(struct srv *v)
{
	deflateEnd(&v->z);
	kx_buf_free(&v->wire);
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void append32(struct kx_buf *b, uint32_t v)
{
	unsigned char p[4];
	put32(p, v);
	assert_int_equal(kx_buf_append(b, p, 4), KX_OK);
}

/* A raw (uncompressed) name/value block from "name", "value" string pairs;
 * values are taken with their length so they can hold NULs. */
struct nv {
	const char *name;
	const char *value;
	size_t vlen;
};

static void raw_block(struct kx_buf *b, const struct nv *h, size_t n)
{
	append32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		size_t vl = h[i].vlen ? h[i].vlen : strlen(h[i].value);
		append32(b, (uint32_t)strlen(h[i].name));
		kx_buf_append(b, h[i].name, strlen(h[i].name));
		append32(b, (uint32_t)vl);
		kx_buf_append(b, h[i].value, vl);
	}
}

/* Deflate bytes on the server's one stream with a sync flush. */
static void srv_deflate(struct srv *v, const void *in, size_t n, struct kx_buf *out)
{
	unsigned char chunk[1 << 16];
	v->z.next_in = (Bytef *)(uintptr_t)in;
	v->z.avail_in = (uInt)n;
	do {
		v->z.next_out = chunk;
		v->z.avail_out = sizeof chunk;
		assert_int_equal(deflate(&v->z, Z_SYNC_FLUSH), Z_OK);
		kx_buf_append(out, chunk, sizeof chunk - v->z.avail_out);
	} while (v->z.avail_out == 0);
}

static void srv_control(struct srv *v, unsigned type, unsigned flags, const void *body, size_t n)
{
	unsigned char h[8] = {0x80, 3, (unsigned char)(type >> 8), (unsigned char)type};
	put32(h + 4, (uint32_t)flags << 24 | (uint32_t)n);
	kx_buf_append(&v->wire, h, 8);
	kx_buf_append(&v->wire, body, n);
}

/* SYN_REPLY (2), HEADERS (8) or SYN_STREAM (1) carrying a raw block. */
static void srv_block_frame(struct srv *v, unsigned type, unsigned flags, uint32_t id, const void *raw,
			    size_t rawlen)
{
	struct kx_buf body = KX_BUF_INIT(0);
	append32(&body, id);
	if (type == 1) {
		append32(&body, 0);
		kx_buf_append(&body, "\0\0", 2);
	}
	srv_deflate(v, raw, rawlen, &body);
	srv_control(v, type, flags, body.data, body.len);
	kx_buf_free(&body);
}

static void srv_headers_frame(struct srv *v, unsigned type, unsigned flags, uint32_t id, const struct nv *h,
			      size_t n)
{
	struct kx_buf raw = KX_BUF_INIT(0);
	raw_block(&raw, h, n);
	srv_block_frame(v, type, flags, id, raw.data, raw.len);
	kx_buf_free(&raw);
}

static void srv_reply(struct srv *v, uint32_t id, unsigned flags)
{
	srv_headers_frame(v, 2, flags, id, NULL, 0);
}

static void srv_data(struct srv *v, uint32_t id, unsigned flags, const void *p, size_t n)
{
	unsigned char h[8];
	put32(h, id);
	put32(h + 4, (uint32_t)flags << 24 | (uint32_t)n);
	kx_buf_append(&v->wire, h, 8);
	kx_buf_append(&v->wire, p, n);
}

static void srv_two(struct srv *v, unsigned type, uint32_t a, uint32_t b)
{
	unsigned char body[8];
	put32(body, a);
	put32(body + 4, b);
	srv_control(v, type, 0, body, 8);
}

static void srv_ping(struct srv *v, uint32_t id)
{
	unsigned char body[4];
	put32(body, id);
	srv_control(v, 6, 0, body, 4);
}

static void srv_settings(struct srv *v)
{
	unsigned char body[20] = {0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 100, 0x01, 0, 0, 7, 0, 1, 0, 0};
	srv_control(v, 4, 0, body, sizeof body);
}

/* Feed the server's bytes; expect success. */
static void feed_ok(struct kx__spdy *s, const void *p, size_t n)
{
	struct kx_errbuf eb = {0};
	kx_err err = kx__spdy_feed(s, p, n, &eb);
	if (err)
		fail_msg("feed: %s: %s", kx_strerror(err), eb.msg);
}

static uint32_t open_plain(struct kx__spdy *s, const char *type)
{
	struct kx__spdy_pair h[] = {{"streamtype", type}};
	uint32_t id = 0;
	assert_int_equal(kx__spdy_open_stream(s, h, 1, 0, &id, NULL), KX_OK);
	return id;
}

/* ---- a client-frame decoder, to check what the session sends ---- */

struct client_frames {
	z_stream z;
	int z_ready;
	struct kx_buf text;
};

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Inflate one block on z (dictionary on demand). Returns 0 on zlib failure. */
static int inflate_on(z_stream *z, const unsigned char *in, size_t n, struct kx_buf *out)
{
	unsigned char chunk[4096];
	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)n;
	for (;;) {
		z->next_out = chunk;
		z->avail_out = sizeof chunk;
		int rc = inflate(z, Z_SYNC_FLUSH);
		if (rc == Z_NEED_DICT) {
			if (inflateSetDictionary(z, kx__spdy_dict, KX_SPDY_DICT_LEN) != Z_OK)
				return 0;
			continue;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return 0;
		kx_buf_append(out, chunk, sizeof chunk - z->avail_out);
		if (z->avail_out && !z->avail_in)
			return 1;
		if (rc == Z_BUF_ERROR && z->avail_out)
			return 0;
	}
}

static void describe_block(struct kx_buf *text, const unsigned char *b, size_t n)
{
	size_t pos = 4;
	assert_true(n >= 4);
	uint32_t count = get32(b);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t nl = get32(b + pos);
		kx_buf_printf(text, " %.*s=", (int)nl, (const char *)b + pos + 4);
		pos += 4 + nl;
		uint32_t vl = get32(b + pos);
		for (uint32_t k = 0; k < vl; k++) {
			char c = (char)b[pos + 4 + k];
			kx_buf_appends(text, c ? (char[]){c, 0} : "\\0");
		}
		pos += 4 + vl;
	}
	assert_int_equal(pos, n);
}

/* Describe every frame of a client byte stream, one line each. */
static const char *describe_client(struct client_frames *c, const unsigned char *p, size_t n)
{
	if (!c->z_ready) {
		assert_int_equal(inflateInit(&c->z), Z_OK);
		c->z_ready = 1;
		c->text = (struct kx_buf)KX_BUF_INIT(0);
	}
	kx_buf_clear(&c->text);
	while (n) {
		assert_true(n >= 8);
		uint32_t len = get32(p + 4) & 0xffffff, flags = p[4];
		assert_true(n >= 8 + len);
		if (p[0] & 0x80) {
			unsigned type = (unsigned)p[2] << 8 | p[3];
			assert_int_equal(p[0], 0x80);
			assert_int_equal(p[1], 3);
			if (type == 1) {
				struct kx_buf raw = KX_BUF_INIT(0);
				assert_true(inflate_on(&c->z, p + 18, len - 10, &raw));
				kx_buf_printf(&c->text, "SYN_STREAM %u flags=%u", get32(p + 8), flags);
				describe_block(&c->text, (const unsigned char *)raw.data, raw.len);
				kx_buf_free(&raw);
			} else {
				kx_buf_printf(&c->text, "CONTROL %u", type);
				for (uint32_t k = 0; k + 4 <= len; k += 4)
					kx_buf_printf(&c->text, " %u", get32(p + 8 + k));
			}
		} else {
			kx_buf_printf(&c->text, "DATA %u flags=%u len=%u", get32(p), flags, len);
		}
		kx_buf_appends(&c->text, "\n");
		p += 8 + len;
		n -= 8 + len;
	}
	return c->text.data ? c->text.data : "";
}

static void client_frames_free(struct client_frames *c)
{
	if (c->z_ready)
		inflateEnd(&c->z);
	kx_buf_free(&c->text);
}

/* ---- tests ---- */

static void dictionary_is_the_spdy3_one(void **state)
{
	assert_int_equal(adler32(1, kx__spdy_dict, KX_SPDY_DICT_LEN), 0xe3c6a7c2);
	assert_memory_equal(kx__spdy_dict, "\0\0\0\x07options\0\0\0\x04head", 19);
}

static void frames_are_byte_exact(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct srv v;
	unsigned char out[4096];
	uint32_t id = 0;
	srv_init(&v);

	/* SYN_STREAM: names lowercased, repeated names joined with NUL, in first-seen order */
	struct kx__spdy_pair h[] = {{"StreamType", "data"}, {"Port", "80"}, {"requestID", "0"}, {"port", "8080"}};
	assert_int_equal(kx__spdy_open_stream(s, h, 4, 0, &id, NULL), KX_OK);
	assert_int_equal(id, 1);
	size_t n = drain(s, out, sizeof out);
	const unsigned char syn_head[] = {0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
					  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	assert_true(n > 18);
	assert_memory_equal(out, syn_head, 5); /* control bit, version 3, type 1, flags 0 */
	assert_int_equal(get32(out + 4) & 0xffffff, n - 8);
	assert_memory_equal(out + 8, syn_head + 8, 10); /* id 1, associated 0, priority 0, slot 0 */
	assert_int_equal(out[18], 0x78);                 /* a zlib header, with a dictionary id: */
	assert_int_equal(out[19] & 0x20, 0x20);
	assert_int_equal(get32(out + 20), 0xe3c6a7c2);
	{
		/* the block, inflated by a fresh inflater, is exactly this */
		const unsigned char want[] = "\0\0\0\x03"
					     "\0\0\0\x0astreamtype\0\0\0\x04" "data"
					     "\0\0\0\x04port\0\0\0\x07" "80\0" "8080"
					     "\0\0\0\x09requestid\0\0\0\x01" "0";
		z_stream z = {0};
		struct kx_buf raw = KX_BUF_INIT(0);
		assert_int_equal(inflateInit(&z), Z_OK);
		assert_true(inflate_on(&z, out + 18, n - 18, &raw));
		assert_int_equal(raw.len, sizeof want - 1);
		assert_memory_equal(raw.data, want, sizeof want - 1);
		inflateEnd(&z);
		kx_buf_free(&raw);
	}

	/* the server replies; now DATA, FIN, PING, RST_STREAM, GOAWAY */
	srv_reply(&v, 1, 0);
	feed_ok(s, v.wire.data, v.wire.len);
	assert_string_equal(log_of(&r), "reply 1\n");
	assert_int_equal(kx__spdy_write(s, 1, "hello", 5, NULL), KX_OK);
	expect_out(s, (const unsigned char *)"\x00\x00\x00\x01\x00\x00\x00\x05hello", 13);
	assert_int_equal(kx__spdy_close_stream(s, 1, NULL), KX_OK);
	expect_out(s, (const unsigned char *)"\x00\x00\x00\x01\x01\x00\x00\x00", 8);
	assert_int_equal(kx__spdy_ping(s, &id, NULL), KX_OK);
	assert_int_equal(id, 1);
	expect_out(s, (const unsigned char *)"\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", 12);
	assert_int_equal(kx__spdy_ping(s, &id, NULL), KX_OK);
	assert_int_equal(id, 3);
	expect_out(s, (const unsigned char *)"\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x03", 12);
	id = open_plain(s, "stdin");
	assert_int_equal(id, 3);
	drain(s, out, sizeof out);
	assert_int_equal(kx__spdy_reset(s, 3, KX_SPDY_CANCEL, NULL), KX_OK);
	expect_out(s,
		   (const unsigned char *)"\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x03\x00\x00\x00\x05",
		   16);
	assert_false(kx__spdy_stream_alive(s, 3));
	/* FIN on open: flags 1 */
	struct kx__spdy_pair e[] = {{"streamtype", "error"}};
	assert_int_equal(kx__spdy_open_stream(s, e, 1, 1, &id, NULL), KX_OK);
	assert_int_equal(id, 5);
	n = drain(s, out, sizeof out);
	assert_memory_equal(out, "\x80\x03\x00\x01\x01", 5);
	assert_memory_equal(out + 8, "\x00\x00\x00\x05", 4);
	assert_int_equal(kx__spdy_goaway(s, KX_SPDY_GOAWAY_OK, NULL), KX_OK);
	expect_out(s,
		   (const unsigned char *)"\x80\x03\x00\x07\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00",
		   16);
	assert_int_equal(kx__spdy_goaway(s, KX_SPDY_GOAWAY_OK, NULL), KX_OK); /* once */
	assert_int_equal(kx__spdy_pending(s), 0);
	assert_int_equal(kx__spdy_open_stream(s, e, 1, 0, &id, NULL), KX_ERR_CLOSED);
	srv_free(&v);
	end_session(s, &r);
}

static void large_writes_split_into_32k_frames(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct srv v;
	struct client_frames c = {0};
	static unsigned char big[100000], out[110000];
	srv_init(&v);
	open_plain(s, "stdin");
	srv_reply(&v, 1, 0);
	feed_ok(s, v.wire.data, v.wire.len);
	drain(s, out, sizeof out);
	memset(big, 'x', sizeof big);
	assert_int_equal(kx__spdy_write(s, 1, big, sizeof big, NULL), KX_OK);
	size_t n = drain(s, out, sizeof out);
	assert_int_equal(n, sizeof big + 4 * 8);
	assert_string_equal(describe_client(&c, out, n), "DATA 1 flags=0 len=32768\n"
							 "DATA 1 flags=0 len=32768\n"
							 "DATA 1 flags=0 len=32768\n"
							 "DATA 1 flags=0 len=1696\n");
	assert_int_equal(kx__spdy_write(s, 1, big, 0, NULL), KX_OK);
	assert_int_equal(kx__spdy_pending(s), 0);
	client_frames_free(&c);
	srv_free(&v);
	end_session(s, &r);
}

/* Client → server: three SYN_STREAMs share one deflate stream. A fresh
 * inflater cannot read the second block alone; the shared one reads all. */
static void outgoing_blocks_share_one_zlib_stream(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct client_frames c = {0};
	unsigned char out[4096];
	size_t off[4], n = 0;
	const char *types[] = {"error", "stdout", "stderr"};
	for (int i = 0; i < 3; i++) {
		struct kx__spdy_pair h[] = {{"streamtype", types[i]}, {"port", "8080"}, {"requestid", "7"}};
		uint32_t id;
		off[i] = n;
		assert_int_equal(kx__spdy_open_stream(s, h, 3, 0, &id, NULL), KX_OK);
		assert_int_equal(id, (uint32_t)(2 * i + 1));
		n += drain(s, out + n, sizeof out - n);
	}
	off[3] = n;
	assert_string_equal(describe_client(&c, out, n),
			    "SYN_STREAM 1 flags=0 streamtype=error port=8080 requestid=7\n"
			    "SYN_STREAM 3 flags=0 streamtype=stdout port=8080 requestid=7\n"
			    "SYN_STREAM 5 flags=0 streamtype=stderr port=8080 requestid=7\n");
	/* later blocks refer back to earlier ones: much smaller than the first */
	assert_true(off[2] - off[1] < off[1] - off[0]);
	{
		z_stream z = {0};
		struct kx_buf raw = KX_BUF_INIT(0);
		assert_int_equal(inflateInit(&z), Z_OK);
		int ok = inflate_on(&z, out + off[1] + 18, off[2] - off[1] - 18, &raw);
		assert_false(ok && raw.len > 0);
		inflateEnd(&z);
		kx_buf_free(&raw);
	}
	client_frames_free(&c);
	end_session(s, &r);
}

/* Server → client: several blocks on the server's one stream decode in
 * order; a fresh session given only the second block fails. */
static void incoming_blocks_share_one_zlib_stream(void **state)
{
	struct rec r, r2;
	struct kx__spdy *s = new_session(&r), *s2;
	struct srv v;
	struct kx_errbuf eb = {0};
	srv_init(&v);
	for (int i = 0; i < 3; i++)
		open_plain(s, "x");
	const struct nv h1[] = {{"x-stream-protocol-version", "v4.channel.k8s.io", 0}};
	const struct nv h2[] = {{"x-stream-protocol-version", "v4.channel.k8s.io", 0}, {"a", "1\0002", 3}};
	srv_headers_frame(&v, 2, 0, 1, h1, 1);
	size_t first = v.wire.len;
	srv_headers_frame(&v, 2, 0, 3, h2, 2);
	size_t second = v.wire.len;
	srv_headers_frame(&v, 2, 0, 5, NULL, 0);
	feed_ok(s, v.wire.data, v.wire.len);
	assert_string_equal(log_of(&r), "reply 1 x-stream-protocol-version=v4.channel.k8s.io\n"
					"reply 3 a=1\\x002 x-stream-protocol-version=v4.channel.k8s.io\n"
					"reply 5\n");
	s2 = new_session(&r2);
	for (int i = 0; i < 3; i++)
		open_plain(s2, "x");
	assert_int_equal(kx__spdy_feed(s2, v.wire.data + first, second - first, &eb), KX_ERR_PROTOCOL);
	assert_non_null(strstr(eb.msg, "header block does not inflate"));
	assert_string_equal(log_of(&r2), "");
	end_session(s2, &r2);
	srv_free(&v);
	end_session(s, &r);
}

/* What a server sends during an exec, plus the frames a client must ignore or answer. */
static void build_conversation(struct srv *v)
{
	const struct nv ver[] = {{"x-stream-protocol-version", "v4.channel.k8s.io", 0}};
	srv_settings(v);
	srv_headers_frame(v, 2, 0, 1, ver, 1);
	srv_reply(v, 3, 0);
	srv_two(v, 9, 0, 65536); /* WINDOW_UPDATE session */
	srv_data(v, 3, 0, "hi\n", 3);
	srv_ping(v, 2);
	srv_reply(v, 5, 0);
	srv_data(v, 5, 0, "", 0);
	const struct nv extra[] = {{"trailer", "yes", 0}};
	srv_headers_frame(v, 8, 0, 3, extra, 1);
	srv_two(v, 9, 3, 100);
	srv_data(v, 3, 1, "bye", 3);
	srv_data(v, 1, 1, "{\"metadata\":{},\"status\":\"Success\"}", 34);
	srv_ping(v, 1);
	srv_two(v, 3, 5, 5); /* RST_STREAM 5 CANCEL */
	srv_data(v, 5, 0, "late", 4); /* after the reset: ignored */
	srv_two(v, 7, 5, 0); /* GOAWAY last good 5, OK */
}

static const char conversation_log[] =
	"reply 1 x-stream-protocol-version=v4.channel.k8s.io\n"
	"reply 3\n"
	"data 3 hi\\x0a\n"
	"reply 5\n"
	"headers 3 trailer=yes\n"
	"data 3 bye\n"
	"fin 3\n"
	"data 1 {\"metadata\":{},\"status\":\"Success\"}\n"
	"fin 1\n"
	"pong 1\n"
	"reset 5 5 peer\n"
	"goaway 5 0\n";

static void open_three(struct kx__spdy *s)
{
	open_plain(s, "error");
	open_plain(s, "stdout");
	open_plain(s, "stderr");
	kx__spdy_consumed(s, kx__spdy_pending(s));
}

static void every_split_gives_the_same_callbacks(void **state)
{
	struct srv v;
	struct rec r;
	unsigned char out[256];
	const unsigned char echo[] = "\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x02";
	srv_init(&v);
	build_conversation(&v);
	const unsigned char *w = (const unsigned char *)v.wire.data;
	size_t n = v.wire.len;

	for (size_t cut = 0; cut <= n; cut++) {
		struct kx__spdy *s = new_session(&r);
		open_three(s);
		feed_ok(s, w, cut);
		feed_ok(s, w + cut, n - cut);
		assert_string_equal(log_of(&r), conversation_log);
		assert_int_equal(drain(s, out, sizeof out), 12); /* the PING echo */
		assert_memory_equal(out, echo, 12);
		end_session(s, &r);
	}
	/* byte by byte */
	struct kx__spdy *s = new_session(&r);
	open_three(s);
	for (size_t i = 0; i < n; i++)
		feed_ok(s, w + i, 1);
	assert_string_equal(log_of(&r), conversation_log);
	assert_int_equal(kx__spdy_stream_count(s), 2); /* 1 and 3: closed by the server only; 5 reset */
	end_session(s, &r);
	srv_free(&v);
}

/* Byte streams a real kube-apiserver v1.34.4 (kubelet: kwok v0.7.0, i.e. the
 * kubelet's streaming code over spdystream) exchanged with this session after
 * the SPDY/3.1 upgrade; tests/unit/data/spdy/README says how they were made.
 * Each is replayed split at every offset and byte by byte. */
struct recording {
	const char *name;
	const char *streams[4]; /* streamtype of the streams opened, ids 1, 3, 5, 7 */
	const char *want[6];    /* lines the callback log must contain */
	const char *client[6];  /* lines our recorded client bytes decode to */
	size_t alive_after;     /* streams still alive after the replay */
};

static const struct recording recordings[] = {
	{"exec-echo-hi", {"error", "stdout", "stderr"},
	 {"reply 1\n", "data 3 hi\\x0a\n", "data 1 {\"metadata\":{},\"status\":\"Success\"}\n",
	  /* the server ends exec streams with RST_STREAM CANCEL, never FIN */
	  "reset 1 5 peer\nreset 3 5 peer\nreset 5 5 peer\ngoaway 5 0\n"},
	 {"SYN_STREAM 1 flags=0 streamtype=error\n", "SYN_STREAM 3 flags=0 streamtype=stdout\n",
	  "SYN_STREAM 5 flags=0 streamtype=stderr\n", "CONTROL 6 1\n"},
	 0},
	{"exec-cat-stdin", {"error", "stdin", "stdout", "stderr"},
	 {"reply 5\nreply 1\npong 1\nreply 7\nreply 3\n", /* replies come in any order */
	  "data 5 hello from kx\\x0a\n", "reset 3 5 peer\n", "goaway 7 0\n"},
	 {"SYN_STREAM 3 flags=0 streamtype=stdin\n", "SYN_STREAM 7 flags=0 streamtype=stderr\n",
	  "DATA 3 flags=0 len=14\nDATA 3 flags=1 len=0\n"},
	 0},
	{"exec-exit3", {"error", "stdout", "stderr"},
	 {"\"reason\":\"NonZeroExitCode\"", "{\"reason\":\"ExitCode\",\"message\":\"3\"}", "goaway 5 0\n"},
	 {NULL},
	 0},
	{"portforward-echo", {"error", "data"},
	 {"reply 3\nreply 1\npong 1\ndata 3 ping over spdy\\x0a\nfin 3\nfin 1\n"},
	 {"SYN_STREAM 1 flags=1 streamtype=error port=7 requestid=0\n",
	  "SYN_STREAM 3 flags=0 streamtype=data port=7 requestid=0\n",
	  "DATA 3 flags=0 len=15\nDATA 3 flags=1 len=0\n"},
	 1 /* the replay does not half-close the data stream as the recording did */},
};

static int read_recording(const char *name, const char *which, char **data, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/spdy/%s.%s.bin", KX_TEST_DATA, name, which);
	return kx__read_file(path, 1 << 20, data, len, NULL) == KX_OK;
}

static struct kx__spdy *replay_session(const struct recording *rc, struct rec *r)
{
	struct kx__spdy *s = new_session(r);
	for (int i = 0; i < 4 && rc->streams[i]; i++) {
		struct kx__spdy_pair h[] = {{"streamtype", rc->streams[i]}, {"port", "7"}, {"requestid", "0"}};
		uint32_t id;
		assert_int_equal(kx__spdy_open_stream(s, h, strcmp(rc->streams[i], "error") ? 1 : 3,
						     !strcmp(rc->name, "portforward-echo") && i == 0, &id, NULL),
				 KX_OK);
	}
	kx__spdy_consumed(s, kx__spdy_pending(s));
	return s;
}

static void replays_real_apiserver_exchanges(void **state)
{
	for (size_t k = 0; k < sizeof recordings / sizeof *recordings; k++) {
		const struct recording *rc = &recordings[k];
		char *w = NULL;
		size_t n = 0;
		struct rec r;
		assert_true(read_recording(rc->name, "server", &w, &n));
		struct kx__spdy *s = replay_session(rc, &r);
		feed_ok(s, w, n);
		char *want = kx__strdup(log_of(&r));
		for (int i = 0; i < 6 && rc->want[i]; i++) {
			if (!strstr(want, rc->want[i]))
				fail_msg("%s: log lacks \"%s\":\n%s", rc->name, rc->want[i], want);
		}
		assert_int_equal(kx__spdy_stream_count(s), rc->alive_after);
		end_session(s, &r);
		for (size_t cut = 0; cut <= n; cut++) {
			s = replay_session(rc, &r);
			feed_ok(s, w, cut);
			feed_ok(s, w + cut, n - cut);
			assert_string_equal(log_of(&r), want);
			end_session(s, &r);
		}
		s = replay_session(rc, &r);
		for (size_t i = 0; i < n; i++)
			feed_ok(s, w + i, 1);
		assert_string_equal(log_of(&r), want);
		end_session(s, &r);
		free(want);
		free(w);
	}
}

/* What this session sent in those exchanges decodes as intended. */
static void recorded_client_bytes_decode(void **state)
{
	for (size_t k = 0; k < sizeof recordings / sizeof *recordings; k++) {
		const struct recording *rc = &recordings[k];
		char *w = NULL;
		size_t n = 0;
		struct client_frames c = {0};
		if (!rc->client[0])
			continue;
		assert_true(read_recording(rc->name, "client", &w, &n));
		const char *d = describe_client(&c, (const unsigned char *)w, n);
		for (int i = 0; i < 6 && rc->client[i]; i++) {
			if (!strstr(d, rc->client[i]))
				fail_msg("%s: client bytes lack \"%s\":\n%s", rc->name, rc->client[i], d);
		}
		client_frames_free(&c);
		free(w);
	}
}

static void server_pings_are_echoed(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct srv v;
	srv_init(&v);
	srv_ping(&v, 2);
	srv_ping(&v, 0x7ffffffe);
	srv_ping(&v, 7); /* odd: an answer to us */
	feed_ok(s, v.wire.data, v.wire.len);
	expect_out(s,
		   (const unsigned char *)"\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x02"
					  "\x80\x03\x00\x06\x00\x00\x00\x04\x7f\xff\xff\xfe",
		   24);
	assert_string_equal(log_of(&r), "pong 7\n");
	srv_free(&v);
	end_session(s, &r);
}

static void goaway_refuses_streams_above_last_good(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct srv v;
	struct kx_errbuf eb = {0};
	uint32_t id;
	srv_init(&v);
	open_three(s);
	srv_reply(&v, 1, 0);
	srv_two(&v, 7, 3, 2); /* GOAWAY last good 3, INTERNAL_ERROR */
	srv_data(&v, 1, 0, "still", 5);
	feed_ok(s, v.wire.data, v.wire.len);
	assert_string_equal(log_of(&r), "reply 1\ngoaway 3 2\nreset 5 3 peer\ndata 1 still\n");
	assert_true(kx__spdy_stream_alive(s, 3));
	assert_false(kx__spdy_stream_alive(s, 5));
	struct kx__spdy_pair h[] = {{"streamtype", "x"}};
	assert_int_equal(kx__spdy_open_stream(s, h, 1, 0, &id, &eb), KX_ERR_CLOSED);
	assert_string_equal(eb.msg, "spdy: the server sent GOAWAY");
	assert_int_equal(kx__spdy_write(s, 1, "ok", 2, NULL), KX_OK); /* old streams go on */
	srv_free(&v);
	end_session(s, &r);
}

static void rst_stream_from_server_forgets_the_stream(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct srv v;
	struct kx_errbuf eb = {0};
	srv_init(&v);
	open_three(s);
	srv_reply(&v, 1, 0);
	srv_two(&v, 3, 1, 6);  /* RST 1 INTERNAL_ERROR */
	srv_two(&v, 3, 1, 5);  /* again: ignored */
	srv_two(&v, 3, 99, 5); /* unknown: ignored */
	srv_data(&v, 1, 1, "x", 1);
	srv_reply(&v, 1, 0);   /* gone stream: ignored, block still inflated */
	srv_reply(&v, 3, 0);
	feed_ok(s, v.wire.data, v.wire.len);
	assert_string_equal(log_of(&r), "reply 1\nreset 1 6 peer\nreply 3\n");
	assert_int_equal(kx__spdy_pending(s), 0);
	assert_int_equal(kx__spdy_write(s, 1, "x", 1, &eb), KX_ERR_INVALID);
	assert_string_equal(eb.msg, "spdy: stream 1 is closed");
	assert_int_equal(kx__spdy_reset(s, 1, KX_SPDY_CANCEL, NULL), KX_OK); /* no-op */
	assert_int_equal(kx__spdy_close_stream(s, 1, NULL), KX_OK);          /* no-op */
	assert_int_equal(kx__spdy_pending(s), 0);
	srv_free(&v);
	end_session(s, &r);
}

static void fin_both_ways_forgets_the_stream(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct srv v;
	srv_init(&v);
	open_three(s);
	srv_reply(&v, 1, 0);
	srv_reply(&v, 3, 1); /* reply with FIN */
	srv_data(&v, 1, 1, NULL, 0);
	feed_ok(s, v.wire.data, v.wire.len);
	assert_string_equal(log_of(&r), "reply 1\nreply 3\nfin 3\nfin 1\n");
	assert_true(kx__spdy_stream_ready(s, 1));
	assert_int_equal(kx__spdy_write(s, 1, "late", 4, NULL), KX_OK); /* half-closed: we may still send */
	assert_int_equal(kx__spdy_close_stream(s, 1, NULL), KX_OK);
	assert_false(kx__spdy_stream_alive(s, 1));
	assert_int_equal(kx__spdy_close_stream(s, 3, NULL), KX_OK);
	assert_false(kx__spdy_stream_alive(s, 3));
	assert_int_equal(kx__spdy_stream_count(s), 1);
	/* our FIN first, then theirs */
	kx_buf_clear(&v.wire);
	srv_reply(&v, 5, 0);
	feed_ok(s, v.wire.data, v.wire.len);
	assert_int_equal(kx__spdy_close_stream(s, 5, NULL), KX_OK);
	assert_int_equal(kx__spdy_close_stream(s, 5, NULL), KX_OK); /* twice: no-op */
	assert_true(kx__spdy_stream_alive(s, 5));
	kx_buf_clear(&v.wire);
	srv_data(&v, 5, 1, "end", 3);
	feed_ok(s, v.wire.data, v.wire.len);
	assert_false(kx__spdy_stream_alive(s, 5));
	assert_int_equal(kx__spdy_stream_count(s), 0);
	assert_non_null(strstr(log_of(&r), "data 5 end\nfin 5\n"));
	srv_free(&v);
	end_session(s, &r);
}

static void settings_and_window_update_are_ignored(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct srv v;
	srv_init(&v);
	open_three(s);
	srv_settings(&v);
	srv_control(&v, 4, 1, "\0\0\0\0", 4); /* empty, CLEAR_SETTINGS */
	srv_two(&v, 9, 0, 0x7fffffff);
	srv_two(&v, 9, 1, 1);
	srv_two(&v, 9, 77, 1);
	feed_ok(s, v.wire.data, v.wire.len);
	assert_string_equal(log_of(&r), "");
	assert_int_equal(kx__spdy_pending(s), 0);
	srv_free(&v);
	end_session(s, &r);
}

static void stream_errors_reset_the_stream(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct srv v;
	struct client_frames c = {0};
	unsigned char out[512];
	srv_init(&v);
	open_three(s);
	open_plain(s, "x"); /* 7 */
	kx__spdy_consumed(s, kx__spdy_pending(s));
	srv_data(&v, 1, 0, "early", 5); /* before SYN_REPLY: PROTOCOL_ERROR */
	srv_reply(&v, 3, 0);
	srv_reply(&v, 3, 0);            /* twice: STREAM_IN_USE */
	srv_reply(&v, 5, 1);
	srv_data(&v, 5, 0, "after", 5); /* after FIN: STREAM_ALREADY_CLOSED */
	srv_data(&v, 9, 0, "never", 5); /* never opened: INVALID_STREAM, no callback */
	srv_data(&v, 1, 0, "gone", 4);  /* reset by us meanwhile: ignored */
	srv_headers_frame(&v, 8, 0, 7, NULL, 0); /* HEADERS before SYN_REPLY */
	feed_ok(s, v.wire.data, v.wire.len);
	assert_string_equal(log_of(&r), "reset 1 1 local\nreply 3\nreset 3 8 local\nreply 5\nfin 5\n"
					"reset 5 9 local\nreset 7 1 local\n");
	size_t n = drain(s, out, sizeof out);
	assert_string_equal(describe_client(&c, out, n), "CONTROL 3 1 1\nCONTROL 3 3 8\nCONTROL 3 5 9\n"
							 "CONTROL 3 9 2\nCONTROL 3 7 1\n");
	assert_int_equal(kx__spdy_stream_count(s), 0);
	client_frames_free(&c);
	srv_free(&v);
	end_session(s, &r);
}

static void server_streams_are_refused(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct srv v;
	struct kx_errbuf eb = {0};
	const struct nv h[] = {{"streamtype", "data", 0}};
	srv_init(&v);
	srv_headers_frame(&v, 1, 0, 2, h, 1);
	srv_data(&v, 2, 0, "x", 1); /* for the refused stream: ignored */
	srv_headers_frame(&v, 1, 0, 4, h, 1);
	feed_ok(s, v.wire.data, v.wire.len);
	expect_out(s,
		   (const unsigned char *)"\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x02\x00\x00\x00\x03"
					  "\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x04\x00\x00\x00\x03",
		   32);
	assert_string_equal(log_of(&r), "");
	/* after our GOAWAY: ignored silently */
	assert_int_equal(kx__spdy_goaway(s, KX_SPDY_GOAWAY_OK, NULL), KX_OK);
	kx__spdy_consumed(s, kx__spdy_pending(s));
	kx_buf_clear(&v.wire);
	srv_headers_frame(&v, 1, 0, 6, h, 1);
	feed_ok(s, v.wire.data, v.wire.len);
	assert_int_equal(kx__spdy_pending(s), 0);
	/* a repeated id is a session error */
	kx_buf_clear(&v.wire);
	srv_headers_frame(&v, 1, 0, 6, h, 1);
	assert_int_equal(kx__spdy_feed(s, v.wire.data, v.wire.len, &eb), KX_ERR_PROTOCOL);
	assert_string_equal(eb.msg, "spdy: server opened stream 6 after stream 6");
	srv_free(&v);
	end_session(s, &r);
}

/* One malformed input: fed to a session with streams 1, 3, 5 open (1 replied). */
struct bad_case {
	const char *what;
	void (*build)(struct srv *v);
	const char *message;
};

static void bad_version(struct srv *v)
{
	srv_two(v, 7, 0, 0);
	v->wire.data[v->wire.len - 15] = 2;
}

static void bad_truncated_block(struct srv *v)
{
	struct kx_buf raw = KX_BUF_INIT(0);
	append32(&raw, 2);
	append32(&raw, 1);
	kx_buf_append(&raw, "a", 1);
	append32(&raw, 1);
	kx_buf_append(&raw, "b", 1);
	srv_block_frame(v, 2, 0, 3, raw.data, raw.len);
	kx_buf_free(&raw);
}

static void bad_value_past_end(struct srv *v)
{
	struct kx_buf raw = KX_BUF_INIT(0);
	append32(&raw, 1);
	append32(&raw, 1);
	kx_buf_append(&raw, "a", 1);
	append32(&raw, 100);
	kx_buf_append(&raw, "bbbb", 4);
	srv_block_frame(v, 2, 0, 3, raw.data, raw.len);
	kx_buf_free(&raw);
}

static void bad_count_too_large(struct srv *v)
{
	struct kx_buf raw = KX_BUF_INIT(0);
	append32(&raw, 1000);
	append32(&raw, 1);
	kx_buf_append(&raw, "a", 1);
	append32(&raw, 1);
	kx_buf_append(&raw, "b", 1);
	srv_block_frame(v, 2, 0, 3, raw.data, raw.len);
	kx_buf_free(&raw);
}

static void bad_trailing_bytes(struct srv *v)
{
	struct kx_buf raw = KX_BUF_INIT(0);
	append32(&raw, 0);
	kx_buf_append(&raw, "zz", 2);
	srv_block_frame(v, 2, 0, 3, raw.data, raw.len);
	kx_buf_free(&raw);
}

static void bad_empty_block(struct srv *v)
{
	srv_control(v, 2, 0, "\0\0\0\x03", 4); /* SYN_REPLY with no compressed bytes */
}

static void bad_not_zlib(struct srv *v)
{
	srv_control(v, 2, 0, "\0\0\0\x03garbage!", 12);
}

static void bad_huge_length(struct srv *v)
{
	unsigned char h[8] = {0x80, 3, 0, 2, 0, 0xff, 0xff, 0xff};
	kx_buf_append(&v->wire, h, 8);
}

static void bad_ping_length(struct srv *v)
{
	srv_control(v, 6, 0, "\0\0\0\x02\0\0\0\0", 8);
}

static void bad_stream_zero_reply(struct srv *v)
{
	srv_reply(v, 0, 0);
}

static void bad_unknown_reply(struct srv *v)
{
	srv_reply(v, 7, 0);
}

static void bad_type_noop(struct srv *v)
{
	srv_control(v, 5, 0, "", 0);
}

static void bad_type_credential(struct srv *v)
{
	srv_control(v, 10, 0, "\0\0\0\0", 4);
}

static void bad_type_ffff(struct srv *v)
{
	srv_control(v, 0xffff, 0, "abcd", 4);
}

static void bad_rst_status_zero(struct srv *v)
{
	srv_two(v, 3, 1, 0);
}

static void bad_rst_stream_zero(struct srv *v)
{
	srv_two(v, 3, 0, 5);
}

static void bad_settings_count(struct srv *v)
{
	srv_control(v, 4, 0, "\0\0\0\x05\0\0\0\x01\0\0\0\x01", 12);
}

static void bad_settings_length(struct srv *v)
{
	srv_control(v, 4, 0, "\0\0\0\x01\0\0\0\x01\0\0\0", 11);
}

static void bad_data_stream_zero(struct srv *v)
{
	srv_data(v, 0, 0, "x", 1);
}

static void bad_upper_case_name(struct srv *v)
{
	const struct nv h[] = {{"Status", "200", 0}};
	srv_headers_frame(v, 2, 0, 3, h, 1);
}

static void bad_duplicate_name(struct srv *v)
{
	const struct nv h[] = {{"a", "1", 0}, {"b", "2", 0}, {"a", "3", 0}};
	srv_headers_frame(v, 2, 0, 3, h, 3);
}

static void bad_empty_name(struct srv *v)
{
	const struct nv h[] = {{"", "1", 0}};
	srv_headers_frame(v, 2, 0, 3, h, 1);
}

static void bad_zlib_bomb(struct srv *v)
{
	struct kx_buf raw = KX_BUF_INIT(0);
	char *zeros = calloc(1, 300000);
	append32(&raw, 1);
	append32(&raw, 1);
	kx_buf_append(&raw, "a", 1);
	append32(&raw, 300000);
	kx_buf_append(&raw, zeros, 300000);
	srv_block_frame(v, 2, 0, 3, raw.data, raw.len);
	free(zeros);
	kx_buf_free(&raw);
}

static void bad_odd_server_stream(struct srv *v)
{
	srv_headers_frame(v, 1, 0, 9, NULL, 0);
}

static void bad_goaway_length(struct srv *v)
{
	srv_control(v, 7, 0, "\0\0\0\0", 4); /* SPDY/2's 4-byte GOAWAY */
}

static const struct bad_case bad_cases[] = {
	{"bad version", bad_version, "spdy: control frame of version 2, not 3"},
	{"truncated header block", bad_truncated_block, "spdy: header block counts 2 pairs but its 14 bytes hold at most 1"},
	{"value past the end", bad_value_past_end, "spdy: header block truncated in pair 1 of 1"},
	{"header count larger than the block", bad_count_too_large,
	 "spdy: header block counts 1000 pairs but its 14 bytes hold at most 1"},
	{"trailing bytes", bad_trailing_bytes, "spdy: header block has 2 bytes after its last pair"},
	{"no compressed bytes", bad_empty_block, "spdy: header block truncated: 0 bytes, no pair count"},
	{"not zlib", bad_not_zlib, "spdy: header block does not inflate"},
	{"huge length", bad_huge_length, "spdy: SYN_REPLY frame of 16777215 bytes (4 to 262148 allowed)"},
	{"PING of 8 bytes", bad_ping_length, "spdy: PING frame of 8 bytes, not 4"},
	{"SYN_REPLY for stream 0", bad_stream_zero_reply, "spdy: SYN_REPLY for stream 0"},
	{"SYN_REPLY for a stream never opened", bad_unknown_reply, "spdy: SYN_REPLY for unknown stream 7"},
	{"NOOP (SPDY/2)", bad_type_noop, "spdy: unknown control frame type 5"},
	{"CREDENTIAL (gone in 3.1)", bad_type_credential, "spdy: unknown control frame type 10"},
	{"type 0xffff", bad_type_ffff, "spdy: unknown control frame type 65535"},
	{"RST_STREAM status 0", bad_rst_status_zero, "spdy: RST_STREAM for stream 1 with status 0"},
	{"RST_STREAM stream 0", bad_rst_stream_zero, "spdy: RST_STREAM for stream 0"},
	{"SETTINGS count", bad_settings_count, "spdy: SETTINGS counts 5 entries in a 12-byte frame"},
	{"SETTINGS length", bad_settings_length, "spdy: SETTINGS frame of 11 bytes"},
	{"DATA for stream 0", bad_data_stream_zero, "spdy: DATA frame for stream 0"},
	{"upper-case name", bad_upper_case_name, "spdy: header name \"Status\" is not lower-case ASCII"},
	{"duplicate name", bad_duplicate_name, "spdy: header \"a\" appears twice"},
	{"empty name", bad_empty_name, "spdy: empty header name in pair 1"},
	{"zlib bomb", bad_zlib_bomb, "spdy: header block inflates to more than 262144 bytes"},
	{"server stream with an odd id", bad_odd_server_stream, "spdy: server opened stream 9, an odd (client) id"},
	{"GOAWAY of 4 bytes", bad_goaway_length, "spdy: GOAWAY frame of 4 bytes, not 8"},
};

static void malformed_input_is_a_protocol_error(void **state)
{
	const unsigned char goaway[] = "\x80\x03\x00\x07\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x01";
	for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
		const struct bad_case *bc = &bad_cases[i];
		for (int bytewise = 0; bytewise < 2; bytewise++) {
			struct rec r;
			struct srv v;
			struct kx_errbuf eb = {0}, eb2 = {0};
			struct kx__spdy *s = new_session(&r);
			kx_err err = KX_OK;
			srv_init(&v);
			open_three(s);
			srv_reply(&v, 1, 0);
			feed_ok(s, v.wire.data, v.wire.len);
			kx_buf_clear(&v.wire);
			bc->build(&v);
			if (bytewise) {
				for (size_t k = 0; k < v.wire.len && !err; k++)
					err = kx__spdy_feed(s, v.wire.data + k, 1, &eb);
			} else {
				err = kx__spdy_feed(s, v.wire.data, v.wire.len, &eb);
			}
			if (err != KX_ERR_PROTOCOL || strncmp(eb.msg, bc->message, strlen(bc->message)))
				fail_msg("%s: got %s \"%s\", want \"%s\"", bc->what, kx_strerror(err), eb.msg,
					 bc->message);
			/* the session stays failed, says so again, and offers GOAWAY(PROTOCOL_ERROR) */
			assert_int_equal(kx__spdy_feed(s, "\0", 1, &eb2), KX_ERR_PROTOCOL);
			assert_string_equal(eb2.msg, eb.msg);
			assert_int_equal(kx__spdy_write(s, 1, "x", 1, NULL), KX_ERR_PROTOCOL);
			assert_int_equal(kx__spdy_ping(s, NULL, NULL), KX_ERR_PROTOCOL);
			expect_out(s, goaway, 16);
			srv_free(&v);
			end_session(s, &r);
		}
	}
}

static void queue_cap_applies_backpressure(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct srv v;
	struct kx_errbuf eb = {0};
	struct client_frames c = {0};
	static unsigned char chunk[70000], out[300000];
	uint32_t id;
	srv_init(&v);
	kx__spdy_set_queue_cap(s, 1); /* raised to the 64 KiB minimum */
	open_plain(s, "stdin");
	srv_reply(&v, 1, 0);
	feed_ok(s, v.wire.data, v.wire.len);
	size_t n = drain(s, out, sizeof out);
	assert_string_equal(describe_client(&c, out, n), "SYN_STREAM 1 flags=0 streamtype=stdin\n");
	size_t room = kx__spdy_write_room(s);
	assert_int_equal(room, 65536 - 16);
	/* too much at once: refused, nothing queued */
	assert_int_equal(kx__spdy_write(s, 1, chunk, room + 1, &eb), KX_ERR_TOO_LARGE);
	assert_int_equal(kx__spdy_pending(s), 0);
	assert_int_equal(kx__spdy_write(s, 1, chunk, sizeof chunk, NULL), KX_ERR_TOO_LARGE);
	/* exactly the room fits */
	assert_int_equal(kx__spdy_write(s, 1, chunk, room, NULL), KX_OK);
	assert_int_equal(kx__spdy_pending(s), 65536);
	assert_int_equal(kx__spdy_write_room(s), 0);
	assert_int_equal(kx__spdy_write(s, 1, chunk, 1, NULL), KX_ERR_TOO_LARGE);
	/* a SYN_STREAM does not fit either, and must not touch the deflate stream */
	struct kx__spdy_pair h[] = {{"streamtype", "stdout"}};
	assert_int_equal(kx__spdy_open_stream(s, h, 1, 0, &id, NULL), KX_ERR_TOO_LARGE);
	/* control frames use the reserve */
	assert_int_equal(kx__spdy_ping(s, &id, NULL), KX_OK);
	assert_int_equal(kx__spdy_close_stream(s, 1, NULL), KX_OK);
	assert_int_equal(kx__spdy_pending(s), 65536 + 12 + 8);
	/* the caller writes part of it: room comes back */
	n = 0;
	size_t len;
	const unsigned char *p = kx__spdy_peek(s, &len);
	memcpy(out, p, 1000);
	kx__spdy_consumed(s, 1000);
	n += 1000;
	assert_int_equal(kx__spdy_pending(s), 65536 + 20 - 1000);
	assert_int_equal(kx__spdy_open_stream(s, h, 1, 0, &id, NULL), KX_OK);
	assert_int_equal(id, 3);
	/* a server that makes us answer while nobody drains: fatal once the reserve is full */
	kx_buf_clear(&v.wire);
	for (int i = 0; i < 6000; i++)
		srv_ping(&v, 2);
	assert_int_equal(kx__spdy_feed(s, v.wire.data, v.wire.len, &eb), KX_ERR_PROTOCOL);
	assert_non_null(strstr(eb.msg, "outgoing queue full"));
	/* everything queued before is intact and in order, and the refused
	 * SYN_STREAM left the shared deflate stream alone */
	n += drain(s, out + n, sizeof out - n);
	const char *d = describe_client(&c, out, n);
	assert_true(!strncmp(d, "DATA 1 flags=0 len=32768\nDATA 1 flags=0 len=32752\nCONTROL 6 1\nDATA 1 flags=1 len=0\n"
				"SYN_STREAM 3 flags=0 streamtype=stdout\nCONTROL 6 2\n",
			     strlen("DATA 1 flags=0 len=32768\nDATA 1 flags=0 len=32752\nCONTROL 6 1\nDATA 1 flags=1 len=0\n"
				    "SYN_STREAM 3 flags=0 streamtype=stdout\nCONTROL 6 2\n")));
	client_frames_free(&c);
	srv_free(&v);
	end_session(s, &r);
}

static void data_needs_the_reply_first(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct kx_errbuf eb = {0};
	uint32_t id = open_plain(s, "stdin");
	kx__spdy_consumed(s, kx__spdy_pending(s));
	assert_false(kx__spdy_stream_ready(s, id));
	assert_true(kx__spdy_stream_alive(s, id));
	assert_int_equal(kx__spdy_write(s, id, "x", 1, &eb), KX_ERR_INVALID);
	assert_string_equal(eb.msg, "spdy: stream 1 has no SYN_REPLY yet (the server would drop the data)");
	assert_int_equal(kx__spdy_close_stream(s, id, NULL), KX_ERR_INVALID);
	assert_int_equal(kx__spdy_write(s, 9, "x", 1, NULL), KX_ERR_INVALID);
	assert_int_equal(kx__spdy_reset(s, 9, KX_SPDY_CANCEL, NULL), KX_ERR_INVALID);
	assert_int_equal(kx__spdy_reset(s, id, 0, NULL), KX_ERR_INVALID);
	assert_int_equal(kx__spdy_pending(s), 0);
	assert_int_equal(kx__spdy_reset(s, id, KX_SPDY_CANCEL, NULL), KX_OK); /* allowed before the reply */
	assert_int_equal(kx__spdy_pending(s), 16);
	assert_false(kx__spdy_stream_alive(s, id));
	end_session(s, &r);
}

static void open_stream_checks_headers(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct kx_errbuf eb = {0};
	uint32_t id = 0;
	struct kx__spdy_pair host[] = {{"streamtype", "x"}, {"Host", "example"}};
	struct kx__spdy_pair empty[] = {{"", "x"}};
	struct kx__spdy_pair novalue[] = {{"a", NULL}};
	assert_int_equal(kx__spdy_open_stream(s, host, 2, 0, &id, &eb), KX_ERR_INVALID);
	assert_string_equal(eb.msg, "spdy: header \"host\" is not allowed in SPDY");
	assert_int_equal(kx__spdy_open_stream(s, empty, 1, 0, &id, NULL), KX_ERR_INVALID);
	assert_int_equal(kx__spdy_open_stream(s, novalue, 1, 0, &id, NULL), KX_ERR_INVALID);
	assert_int_equal(kx__spdy_pending(s), 0);
	assert_int_equal(kx__spdy_open_stream(s, NULL, 0, 0, &id, NULL), KX_OK); /* no headers is fine */
	assert_int_equal(id, 1);
	static char big[300000];
	memset(big, 'v', sizeof big - 1);
	struct kx__spdy_pair huge[] = {{"a", big}};
	assert_int_equal(kx__spdy_open_stream(s, huge, 1, 0, &id, NULL), KX_ERR_TOO_LARGE);
	assert_int_equal(open_plain(s, "y"), 3);
	/* an incompressible block near the limit still fits the deflate bound */
	uint32_t x = 12345;
	for (size_t i = 0; i < 250000; i++) {
		x = x * 1103515245 + 12345;
		big[i] = (char)(1 + (x >> 16) % 255);
	}
	big[250000] = '\0';
	struct client_frames c = {0};
	unsigned char *out = malloc(300000);
	size_t n = drain(s, out, 300000);
	describe_client(&c, out, n);
	assert_int_equal(kx__spdy_open_stream(s, huge, 1, 0, &id, NULL), KX_OK);
	n = drain(s, out, 300000);
	assert_true(n > 250000);
	assert_int_equal(strlen(describe_client(&c, out, n)), strlen("SYN_STREAM 5 flags=0 a=\n") + 250000);
	free(out);
	client_frames_free(&c);
	end_session(s, &r);
}

static void callbacks_may_reset_and_not_feed(void **state)
{
	struct rec r;
	struct kx__spdy *s = new_session(&r);
	struct srv v;
	srv_init(&v);
	open_three(s);
	srv_reply(&v, 1, 0);
	srv_reply(&v, 3, 0);
	srv_data(&v, 1, 1, "abcdef", 6);
	srv_data(&v, 3, 0, "ok", 2);
	r.reset_on_data = 1;
	/* the DATA frame for 1 arrives in two pieces; the reset in the first
	 * on_data call drops the rest and the FIN */
	size_t cut = v.wire.len - 10 - 3;
	feed_ok(s, v.wire.data, cut);
	r.feed_from_callback = 1;
	feed_ok(s, v.wire.data + cut, v.wire.len - cut);
	assert_string_equal(log_of(&r), "reply 1\nreply 3\ndata 1 abc\ndata 3 ok\n");
	assert_int_equal(r.nested_err, KX_ERR_INVALID);
	assert_false(kx__spdy_stream_alive(s, 1));
	expect_out(s,
		   (const unsigned char *)"\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00\x05",
		   16);
	srv_free(&v);
	end_session(s, &r);
}

static void headers_lookup(void **state)
{
	struct kx__spdy_header items[] = {{"a", "1\0002", 3}, {"content-type", "text/plain", 10}};
	struct kx__spdy_headers h = {2, items};
	size_t len = 0;
	assert_string_equal(kx__spdy_headers_get(&h, "Content-Type", &len), "text/plain");
	assert_int_equal(len, 10);
	assert_memory_equal(kx__spdy_headers_get(&h, "a", &len), "1\0002", 3);
	assert_int_equal(len, 3);
	assert_null(kx__spdy_headers_get(&h, "b", NULL));
	assert_null(kx__spdy_headers_get(NULL, "a", NULL));
}

static void free_accepts_null(void **state)
{
	kx__spdy_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dictionary_is_the_spdy3_one),
		cmocka_unit_test(frames_are_byte_exact),
		cmocka_unit_test(large_writes_split_into_32k_frames),
		cmocka_unit_test(outgoing_blocks_share_one_zlib_stream),
		cmocka_unit_test(incoming_blocks_share_one_zlib_stream),
		cmocka_unit_test(every_split_gives_the_same_callbacks),
		cmocka_unit_test(replays_real_apiserver_exchanges),
		cmocka_unit_test(recorded_client_bytes_decode),
		cmocka_unit_test(server_pings_are_echoed),
		cmocka_unit_test(goaway_refuses_streams_above_last_good),
		cmocka_unit_test(rst_stream_from_server_forgets_the_stream),
		cmocka_unit_test(fin_both_ways_forgets_the_stream),
		cmocka_unit_test(settings_and_window_update_are_ignored),
		cmocka_unit_test(stream_errors_reset_the_stream),
		cmocka_unit_test(server_streams_are_refused),
		cmocka_unit_test(malformed_input_is_a_protocol_error),
		cmocka_unit_test(queue_cap_applies_backpressure),
		cmocka_unit_test(data_needs_the_reply_first),
		cmocka_unit_test(open_stream_checks_headers),
		cmocka_unit_test(callbacks_may_reset_and_not_feed),
		cmocka_unit_test(headers_lookup),
		cmocka_unit_test(free_accepts_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
