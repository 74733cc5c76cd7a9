/* SPDX-License-Identifier: Apache-2.0 */
/* A sans-IO SPDY/3.1 client session (see spdy.h): the incremental frame parser,
 * header blocks on the connection's two shared zlib streams, the stream table
 * and the size-capped outgoing queue. */
#define ZLIB_CONST
#include "spdy.h"
#include "internal.h"

#include <kx/buf.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SPDY_VERSION 3
#define FLAG_FIN 0x01
#define MAX_STREAM_ID 0x7fffffffu
#define MAX_OUT_PAIRS 1024
#define MIN_QUEUE_CAP ((size_t)64 << 10)
#define MAX_QUEUE_CAP ((size_t)1 << 30)
#define FRAME_HEADER 8
#define SYN_STREAM_FIXED 10 /* stream id, associated id, priority, slot */
#define MAX_CONTROL_LEN (SYN_STREAM_FIXED + KX_SPDY_MAX_HEADER_BLOCK)

enum frame_type {
	SYN_STREAM = 1,
	SYN_REPLY = 2,
	RST_STREAM = 3,
	SETTINGS = 4,
	PING = 6,
	GOAWAY = 7,
	HEADERS = 8,
	WINDOW_UPDATE = 9,
};

enum rx_state { RX_HEADER, RX_CONTROL, RX_DATA };

struct stream {
	uint32_t id;
	unsigned char replied, local_closed, remote_closed;
};

struct kx__spdy {
	struct kx__spdy_callbacks cb;
	void *ud;
	z_stream inflater, deflater; /* one per direction for the whole connection */
	int inflater_ok, deflater_ok;

	/* receiving: the frame being parsed */
	enum rx_state rx;
	unsigned char hdr[FRAME_HEADER];
	size_t hdr_len;
	unsigned type, flags;
	size_t frame_len;
	struct kx_buf ctl;     /* control frame body */
	uint32_t data_stream;  /* DATA frame being received */
	size_t data_left;
	int data_deliver;      /* 0: skip the payload */
	struct kx_buf block;   /* inflated header block */
	char *store;           /* NUL-terminated names and values of the block */
	size_t store_cap;
	struct kx__spdy_header *items;
	size_t items_cap;

	/* streams, sorted by id (ids only grow, so appending keeps the order) */
	struct stream *streams;
	size_t nstreams, streams_cap;
	uint32_t next_id, next_ping, last_peer_id;
	int goaway_sent, goaway_received, in_feed;

	/* a fatal error ends the session; its message is repeated on every call */
	kx_err failed;
	char errmsg[KX_ERRBUF_SIZE];

	/* sending: bytes from out_head to out.len are pending */
	struct kx_buf out;
	size_t out_head, queue_cap;
};

static const char *type_name(unsigned type)
{
	switch (type) {
	case SYN_STREAM: return "SYN_STREAM";
	case SYN_REPLY: return "SYN_REPLY";
	case RST_STREAM: return "RST_STREAM";
	case SETTINGS: return "SETTINGS";
	case PING: return "PING";
	case GOAWAY: return "GOAWAY";
	case HEADERS: return "HEADERS";
	case WINDOW_UPDATE: return "WINDOW_UPDATE";
	}
	return "unknown";
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void put_control_header(unsigned char *p, unsigned type, unsigned flags, size_t len)
{
	p[0] = 0x80;
	p[1] = SPDY_VERSION;
	p[2] = (unsigned char)(type >> 8);
	p[3] = (unsigned char)type;
	put32(p + 4, (uint32_t)flags << 24 | (uint32_t)len);
}

static void put_data_header(unsigned char *p, uint32_t id, unsigned flags, size_t len)
{
	put32(p, id & MAX_STREAM_ID);
	put32(p + 4, (uint32_t)flags << 24 | (uint32_t)len);
}

/* A peer-supplied name, made safe to quote in a message. */
static const char *quote(const char *p, size_t n, char out[48])
{
	size_t i, k = 0;
	for (i = 0; i < n && k < 40; i++)
		out[k++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
	if (i < n) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
	return out;
}

/* ---- errors ---- */

static kx_err repeat_failure(const struct kx__spdy *s, struct kx_errbuf *eb)
{
	return kx__fail(eb, s->failed, "%s", s->errmsg);
}

static size_t pending(const struct kx__spdy *s)
{
	return s->out.len - s->out_head;
}

static int fits(const struct kx__spdy *s, size_t n, int control)
{
	size_t limit = s->queue_cap + (control ? KX_SPDY_CONTROL_RESERVE : 0);
	return n <= limit && pending(s) <= limit - n;
}

/* Append one frame (a header and a body) to the queue; the caller checked the
 * cap. kx_buf frees itself on failure, so losing memory here loses queued
 * frames: the session cannot go on. */
static kx_err out_append(struct kx__spdy *s, const void *a, size_t alen, const void *b, size_t blen)
{
	kx_err err = kx_buf_append(&s->out, a, alen);
	if (!err && blen)
		err = kx_buf_append(&s->out, b, blen);
	if (err) {
		s->out_head = 0;
		s->failed = KX_ERR_NOMEM;
		snprintf(s->errmsg, sizeof s->errmsg, "spdy: out of memory queueing a frame");
	}
	return err;
}

/* The session is over: remember why, offer the peer a GOAWAY(PROTOCOL_ERROR). */
static kx_err session_fail(struct kx__spdy *s, struct kx_errbuf *eb, kx_err err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static kx_err session_fail(struct kx__spdy *s, struct kx_errbuf *eb, kx_err err, const char *fmt, ...)
{
	if (!s->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
		va_end(ap);
		s->failed = err;
		if (err == KX_ERR_PROTOCOL && !s->goaway_sent && fits(s, FRAME_HEADER + 8, 1)) {
			unsigned char f[FRAME_HEADER + 8];
			put_control_header(f, GOAWAY, 0, 8);
			put32(f + 8, 0);
			put32(f + 12, KX_SPDY_GOAWAY_PROTOCOL_ERROR);
			if (kx_buf_append(&s->out, f, sizeof f))
				s->out_head = 0; /* best effort: the buffer freed itself */
			else
				s->goaway_sent = 1;
		}
	}
	return repeat_failure(s, eb);
}

/* ---- streams ---- */

static size_t stream_slot(const struct kx__spdy *s, uint32_t id)
{
	size_t lo = 0, hi = s->nstreams;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->streams[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct stream *find_stream(const struct kx__spdy *s, uint32_t id)
{
	size_t i = stream_slot(s, id);
	return i < s->nstreams && s->streams[i].id == id ? &s->streams[i] : NULL;
}

static void forget_stream(struct kx__spdy *s, uint32_t id)
{
	size_t i = stream_slot(s, id);
	if (i < s->nstreams && s->streams[i].id == id) {
		memmove(&s->streams[i], &s->streams[i + 1], (s->nstreams - i - 1) * sizeof *s->streams);
		s->nstreams--;
	}
}

/* Whether id was ever a stream of this session: one we opened (odd) or a
 * server stream we refused (even). Frames for those may still be in flight. */
static int stream_existed(const struct kx__spdy *s, uint32_t id)
{
	if (!id)
		return 0;
	return (id & 1) ? id < s->next_id : id <= s->last_peer_id;
}

/* ---- receiving ---- */

/* Queue a frame the session answers with (PING echo, RST_STREAM). A peer that
 * makes us answer faster than the caller drains the queue ends the session. */
static kx_err queue_answer(struct kx__spdy *s, unsigned type, uint32_t a, uint32_t b, size_t len,
			   struct kx_errbuf *eb)
{
	unsigned char f[FRAME_HEADER + 8];
	put_control_header(f, type, 0, len);
	put32(f + 8, a);
	put32(f + 12, b);
	if (!fits(s, FRAME_HEADER + len, 1))
		return session_fail(s, eb, KX_ERR_PROTOCOL,
				    "spdy: outgoing queue full (%zu bytes) while answering the server's %s",
				    pending(s), type == PING ? "PING" : "frames");
	if (out_append(s, f, FRAME_HEADER + len, NULL, 0))
		return repeat_failure(s, eb);
	return KX_OK;
}

/* A stream error (SPDY/3 2.4.2): RST_STREAM to the server, on_reset to the caller. */
static kx_err stream_error(struct kx__spdy *s, uint32_t id, uint32_t status, struct kx_errbuf *eb)
{
	kx_err err = queue_answer(s, RST_STREAM, id, status, 8, eb);
	if (err)
		return err;
	if (find_stream(s, id)) {
		forget_stream(s, id);
		if (s->cb.on_reset)
			s->cb.on_reset(s->ud, id, status, 0);
	}
	return KX_OK;
}

static void remote_fin(struct kx__spdy *s, uint32_t id)
{
	struct stream *st = find_stream(s, id);
	if (!st)
		return;
	st->remote_closed = 1;
	if (st->local_closed)
		forget_stream(s, id);
	if (s->cb.on_fin)
		s->cb.on_fin(s->ud, id);
}

static kx_err inflate_block(struct kx__spdy *s, const unsigned char *in, size_t n, struct kx_errbuf *eb)
{
	unsigned char chunk[4096];
	z_stream *z = &s->inflater;
	kx_buf_clear(&s->block);
	z->next_in = in;
	z->avail_in = (uInt)n;
	for (;;) {
		z->next_out = chunk;
		z->avail_out = sizeof chunk;
		int rc = inflate(z, Z_SYNC_FLUSH);
		if (rc == Z_NEED_DICT) {
			if (inflateSetDictionary(z, kx__spdy_dict, KX_SPDY_DICT_LEN) != Z_OK)
				return session_fail(s, eb, KX_ERR_PROTOCOL,
						    "spdy: header block wants a zlib dictionary other than SPDY/3's");
			continue;
		}
		size_t got = sizeof chunk - z->avail_out;
		if (got) {
			kx_err err = kx_buf_append(&s->block, chunk, got);
			if (err == KX_ERR_TOO_LARGE)
				return session_fail(s, eb, KX_ERR_PROTOCOL,
						    "spdy: header block inflates to more than %zu bytes",
						    KX_SPDY_MAX_HEADER_BLOCK);
			if (err)
				return session_fail(s, eb, err, "spdy: out of memory inflating a header block");
		}
		if (rc == Z_STREAM_END)
			return session_fail(s, eb, KX_ERR_PROTOCOL,
					    "spdy: the server ended its header compression stream");
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: header block does not inflate (%s)",
					    z->msg ? z->msg : zError(rc));
		if (z->avail_out) {
			if (!z->avail_in)
				return KX_OK;
			if (rc == Z_BUF_ERROR)
				return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: header block does not inflate");
		}
	}
}

static int compare_headers(const void *a, const void *b)
{
	return strcmp(((const struct kx__spdy_header *)a)->name, ((const struct kx__spdy_header *)b)->name);
}

/* Decode s->block (an inflated name/value block) into s->items, sorted by name. */
static kx_err parse_block(struct kx__spdy *s, struct kx__spdy_headers *out, struct kx_errbuf *eb)
{
	const unsigned char *b = (const unsigned char *)s->block.data;
	size_t n = s->block.len, pos = 4, used = 0;
	char q[48];

	if (n < 4)
		return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: header block truncated: %zu bytes, no pair count", n);
	uint32_t count = get32(b);
	if (count > (n - 4) / 8)
		return session_fail(s, eb, KX_ERR_PROTOCOL,
				    "spdy: header block counts %u pairs but its %zu bytes hold at most %zu",
				    count, n, (n - 4) / 8);
	/* names and values with a NUL each need at most the block's own size */
	if (s->store_cap < n + 1) {
		char *p = realloc(s->store, n + 1);
		if (!p)
			return session_fail(s, eb, KX_ERR_NOMEM, "spdy: out of memory decoding headers");
		s->store = p;
		s->store_cap = n + 1;
	}
	if (s->items_cap < count) {
		struct kx__spdy_header *p = realloc(s->items, count * sizeof *p);
		if (!p)
			return session_fail(s, eb, KX_ERR_NOMEM, "spdy: out of memory decoding headers");
		s->items = p;
		s->items_cap = count;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint32_t nl, vl;
		if (n - pos < 4 || (nl = get32(b + pos)) > n - pos - 4)
			return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: header block truncated in pair %u of %u",
					    i + 1, count);
		pos += 4;
		const char *name = (const char *)b + pos;
		if (!nl)
			return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: empty header name in pair %u", i + 1);
		for (uint32_t k = 0; k < nl; k++) {
			if ((name[k] >= 'A' && name[k] <= 'Z') || name[k] == '\0')
				return session_fail(s, eb, KX_ERR_PROTOCOL,
						    "spdy: header name \"%s\" is not lower-case ASCII",
						    quote(name, nl, q));
		}
		pos += nl;
		if (n - pos < 4 || (vl = get32(b + pos)) > n - pos - 4)
			return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: header block truncated in pair %u of %u",
					    i + 1, count);
		pos += 4;
		struct kx__spdy_header *h = &s->items[i];
		memcpy(s->store + used, name, nl);
		s->store[used + nl] = '\0';
		h->name = s->store + used;
		used += nl + 1;
		memcpy(s->store + used, b + pos, vl);
		s->store[used + vl] = '\0';
		h->value = s->store + used;
		h->value_len = vl;
		used += vl + 1;
		pos += vl;
	}
	if (pos != n)
		return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: header block has %zu bytes after its last pair",
				    n - pos);
	if (count > 1)
		qsort(s->items, count, sizeof *s->items, compare_headers);
	for (uint32_t i = 1; i < count; i++) {
		if (!strcmp(s->items[i - 1].name, s->items[i].name))
			return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: header \"%s\" appears twice",
					    quote(s->items[i].name, strlen(s->items[i].name), q));
	}
	out->count = count;
	out->items = s->items;
	return KX_OK;
}

static kx_err on_syn_stream(struct kx__spdy *s, const unsigned char *b, struct kx_errbuf *eb)
{
	uint32_t id = get32(b) & MAX_STREAM_ID;
	if (!id)
		return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: SYN_STREAM for stream 0");
	if (id & 1)
		return session_fail(s, eb, KX_ERR_PROTOCOL,
				    "spdy: server opened stream %u, an odd (client) id", id);
	if (id <= s->last_peer_id)
		return session_fail(s, eb, KX_ERR_PROTOCOL,
				    "spdy: server opened stream %u after stream %u", id, s->last_peer_id);
	s->last_peer_id = id;
	/* after our GOAWAY new streams are ignored (SPDY/3 2.6.6) */
	if (s->goaway_sent)
		return KX_OK;
	return queue_answer(s, RST_STREAM, id, KX_SPDY_REFUSED_STREAM, 8, eb);
}

static kx_err on_syn_reply(struct kx__spdy *s, uint32_t id, const struct kx__spdy_headers *h,
			   struct kx_errbuf *eb)
{
	struct stream *st = find_stream(s, id);
	if (!st) {
		if (stream_existed(s, id))
			return KX_OK;
		return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: SYN_REPLY for unknown stream %u", id);
	}
	if (st->replied)
		return stream_error(s, id, KX_SPDY_STREAM_IN_USE, eb);
	st->replied = 1;
	if (s->cb.on_reply)
		s->cb.on_reply(s->ud, id, h);
	if ((s->flags & FLAG_FIN) && !s->failed)
		remote_fin(s, id);
	return KX_OK;
}

/* Where a HEADERS or DATA frame's stream stands. Returns 1 when the frame is
 * for a live stream that may receive it; 0 when it is to be dropped (the
 * stream error, if any, already raised). */
static int stream_accepts(struct kx__spdy *s, uint32_t id, kx_err *err, struct kx_errbuf *eb)
{
	const struct stream *st = find_stream(s, id);
	*err = KX_OK;
	if (!st) {
		if (!stream_existed(s, id))
			*err = queue_answer(s, RST_STREAM, id, KX_SPDY_INVALID_STREAM, 8, eb);
		return 0;
	}
	if (!st->replied)
		*err = stream_error(s, id, KX_SPDY_PROTOCOL_ERROR, eb);
	else if (st->remote_closed)
		*err = stream_error(s, id, KX_SPDY_STREAM_ALREADY_CLOSED, eb);
	else
		return 1;
	return 0;
}

static kx_err on_headers_frame(struct kx__spdy *s, uint32_t id, const struct kx__spdy_headers *h,
			       struct kx_errbuf *eb)
{
	kx_err err;
	if (!stream_accepts(s, id, &err, eb))
		return err;
	if (s->cb.on_headers)
		s->cb.on_headers(s->ud, id, h);
	if ((s->flags & FLAG_FIN) && !s->failed)
		remote_fin(s, id);
	return KX_OK;
}

static kx_err on_goaway(struct kx__spdy *s, uint32_t last_good, uint32_t status)
{
	s->goaway_received = 1;
	if (s->cb.on_goaway)
		s->cb.on_goaway(s->ud, last_good, status);
	while (!s->failed && s->nstreams && s->streams[s->nstreams - 1].id > last_good) {
		uint32_t id = s->streams[--s->nstreams].id;
		if (s->cb.on_reset)
			s->cb.on_reset(s->ud, id, KX_SPDY_REFUSED_STREAM, 1);
	}
	return KX_OK;
}

/* A complete control frame is in s->ctl. */
static kx_err end_control(struct kx__spdy *s, struct kx_errbuf *eb)
{
	const unsigned char *b = (const unsigned char *)s->ctl.data;
	size_t n = s->ctl.len;
	struct kx__spdy_headers h = {0, NULL};
	uint32_t id = get32(b) & MAX_STREAM_ID;
	kx_err err;

	switch (s->type) {
	case SYN_STREAM:
	case SYN_REPLY:
	case HEADERS: {
		/* inflate first, whatever happens to the frame: the zlib stream is shared */
		size_t fixed = s->type == SYN_STREAM ? SYN_STREAM_FIXED : 4;
		if ((err = inflate_block(s, b + fixed, n - fixed, eb)) || (err = parse_block(s, &h, eb)))
			return err;
		if (!id && s->type != SYN_STREAM)
			return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: %s for stream 0", type_name(s->type));
		if (s->type == SYN_STREAM)
			return on_syn_stream(s, b, eb);
		if (s->type == SYN_REPLY)
			return on_syn_reply(s, id, &h, eb);
		return on_headers_frame(s, id, &h, eb);
	}
	case RST_STREAM: {
		uint32_t status = get32(b + 4);
		if (!id)
			return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: RST_STREAM for stream 0");
		if (!status)
			return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: RST_STREAM for stream %u with status 0", id);
		if (find_stream(s, id)) {
			forget_stream(s, id);
			if (s->cb.on_reset)
				s->cb.on_reset(s->ud, id, status, 1);
		}
		return KX_OK;
	}
	case SETTINGS: {
		/* ignored (no flow control), but the count must match the length */
		uint32_t count = get32(b);
		if (count != (n - 4) / 8)
			return session_fail(s, eb, KX_ERR_PROTOCOL,
					    "spdy: SETTINGS counts %u entries in a %zu-byte frame", count, n);
		return KX_OK;
	}
	case PING: {
		uint32_t ping = get32(b);
		if (!(ping & 1))
			return queue_answer(s, PING, ping, 0, 4, eb);
		if (s->cb.on_ping_reply)
			s->cb.on_ping_reply(s->ud, ping);
		return KX_OK;
	}
	case GOAWAY:
		return on_goaway(s, id, get32(b + 4));
	case WINDOW_UPDATE: /* ignored: no flow control, as spdystream */
		return KX_OK;
	}
	return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: control frame type %u", s->type);
}

static void end_data(struct kx__spdy *s)
{
	if (s->data_deliver && (s->flags & FLAG_FIN))
		remote_fin(s, s->data_stream);
}

/* The 8-byte frame header is in s->hdr: check it and set up for the body. */
static kx_err begin_frame(struct kx__spdy *s, struct kx_errbuf *eb)
{
	const unsigned char *h = s->hdr;
	s->flags = h[4];
	s->frame_len = get32(h + 4) & 0xffffff;

	if (!(h[0] & 0x80)) {
		kx_err err;
		s->data_stream = get32(h) & MAX_STREAM_ID;
		if (!s->data_stream)
			return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: DATA frame for stream 0");
		s->data_deliver = stream_accepts(s, s->data_stream, &err, eb);
		if (err)
			return err;
		s->data_left = s->frame_len;
		s->rx = RX_DATA;
		if (!s->data_left) {
			s->rx = RX_HEADER;
			end_data(s);
		}
		return KX_OK;
	}

	unsigned version = (unsigned)(h[0] & 0x7f) << 8 | h[1];
	size_t min = 0, max = 0, n = s->frame_len;
	s->type = (unsigned)h[2] << 8 | h[3];
	if (version != SPDY_VERSION)
		return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: control frame of version %u, not 3", version);
	/* An unknown type is fatal, as in spdystream's framer: the frame cannot
	 * even be skipped safely if it carried a header block. */
	switch (s->type) {
	case SYN_STREAM: min = SYN_STREAM_FIXED, max = MAX_CONTROL_LEN; break;
	case SYN_REPLY:
	case HEADERS: min = 4, max = 4 + KX_SPDY_MAX_HEADER_BLOCK; break;
	case RST_STREAM:
	case GOAWAY:
	case WINDOW_UPDATE: min = max = 8; break;
	case PING: min = max = 4; break;
	case SETTINGS: min = 4, max = MAX_CONTROL_LEN; break;
	default:
		return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: unknown control frame type %u", s->type);
	}
	if (n < min || n > max) {
		if (min == max)
			return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: %s frame of %zu bytes, not %zu",
					    type_name(s->type), n, min);
		return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: %s frame of %zu bytes (%zu to %zu allowed)",
				    type_name(s->type), n, min, max);
	}
	if (s->type == SETTINGS && (n - 4) % 8)
		return session_fail(s, eb, KX_ERR_PROTOCOL, "spdy: SETTINGS frame of %zu bytes", n);
	kx_buf_clear(&s->ctl);
	s->rx = RX_CONTROL;
	return KX_OK;
}

kx_err kx__spdy_feed(struct kx__spdy *s, const void *data, size_t len, struct kx_errbuf *eb)
{
	const unsigned char *p = data;
	kx_err err = KX_OK;

	if (s->failed)
		return repeat_failure(s, eb);
	if (s->in_feed)
		return kx__fail(eb, KX_ERR_INVALID, "spdy: kx__spdy_feed called from a callback");
	s->in_feed = 1;
	while (len && !err) {
		size_t take;
		switch (s->rx) {
		case RX_HEADER:
			take = KX_MIN(FRAME_HEADER - s->hdr_len, len);
			memcpy(s->hdr + s->hdr_len, p, take);
			s->hdr_len += take;
			if (s->hdr_len == FRAME_HEADER) {
				s->hdr_len = 0;
				err = begin_frame(s, eb);
			}
			break;
		case RX_CONTROL:
			take = KX_MIN(s->frame_len - s->ctl.len, len);
			if (kx_buf_append(&s->ctl, p, take)) {
				err = session_fail(s, eb, KX_ERR_NOMEM, "spdy: out of memory reading a %s frame",
						   type_name(s->type));
				break;
			}
			if (s->ctl.len == s->frame_len) {
				s->rx = RX_HEADER;
				err = end_control(s, eb);
			}
			break;
		case RX_DATA:
			take = KX_MIN(s->data_left, len);
			/* a callback may have reset the stream meanwhile */
			if (s->data_deliver && !find_stream(s, s->data_stream))
				s->data_deliver = 0;
			if (s->data_deliver && s->cb.on_data)
				s->cb.on_data(s->ud, s->data_stream, p, take);
			s->data_left -= take;
			if (!s->data_left) {
				s->rx = RX_HEADER;
				end_data(s);
			}
			break;
		default:
			take = len;
			break;
		}
		p += take;
		len -= take;
		if (!err && s->failed)
			err = repeat_failure(s, eb);
	}
	s->in_feed = 0;
	return err;
}

/* ---- sending ---- */

static int is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int same_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = is_upper(*a) ? (char)(*a + 32) : *a, y = is_upper(*b) ? (char)(*b + 32) : *b;
		if (x != y)
			return 0;
	}
	return *a == *b;
}

static kx_err append32(struct kx_buf *b, size_t v)
{
	unsigned char p[4];
	put32(p, (uint32_t)v);
	return kx_buf_append(b, p, 4);
}

/* The uncompressed name/value block: unique lowercase names, repeated names'
 * values joined with NUL. */
static kx_err build_block(const struct kx__spdy_pair *h, size_t n, struct kx_buf *raw, struct kx_errbuf *eb)
{
	static const char *const forbidden[] = {"connection", "host", "keep-alive", "proxy-connection",
						"transfer-encoding"};
	size_t unique = 0;
	kx_err err = KX_OK;

	if (n > MAX_OUT_PAIRS)
		return kx__fail(eb, KX_ERR_TOO_LARGE, "spdy: %zu headers, at most %d", n, MAX_OUT_PAIRS);
	for (size_t i = 0; i < n; i++) {
		if (!h[i].name || !h[i].name[0] || !h[i].value)
			return kx__fail(eb, KX_ERR_INVALID, "spdy: header %zu has no name or no value", i + 1);
		for (size_t k = 0; k < sizeof forbidden / sizeof *forbidden; k++) {
			if (same_name(h[i].name, forbidden[k]))
				return kx__fail(eb, KX_ERR_INVALID, "spdy: header \"%s\" is not allowed in SPDY",
						forbidden[k]);
		}
	}
	if ((err = append32(raw, 0)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t j, vlen = 0, nvals = 0;
		for (j = 0; j < i && !same_name(h[j].name, h[i].name); j++)
			;
		if (j < i)
			continue; /* sent with its first occurrence */
		unique++;
		size_t nlen = strlen(h[i].name), at = raw->len + 4;
		if ((err = append32(raw, nlen)) || (err = kx_buf_append(raw, h[i].name, nlen)))
			goto out;
		for (size_t k = 0; k < nlen; k++) {
			if (is_upper(raw->data[at + k]))
				raw->data[at + k] = (char)(raw->data[at + k] + 32);
		}
		for (j = i; j < n; j++) {
			if (same_name(h[j].name, h[i].name)) {
				vlen += strlen(h[j].value) + (nvals ? 1 : 0);
				nvals++;
			}
		}
		if (vlen > KX_SPDY_MAX_HEADER_BLOCK) {
			err = KX_ERR_TOO_LARGE;
			goto out;
		}
		if ((err = append32(raw, vlen)))
			goto out;
		for (j = i, nvals = 0; j < n; j++) {
			if (!same_name(h[j].name, h[i].name))
				continue;
			if ((nvals++ && (err = kx_buf_append(raw, "", 1))) ||
			    (err = kx_buf_append(raw, h[j].value, strlen(h[j].value))))
				goto out;
		}
	}
	put32((unsigned char *)raw->data, (uint32_t)unique);
out:
	if (err == KX_ERR_TOO_LARGE)
		return kx__fail(eb, err, "spdy: header block over %zu bytes", KX_SPDY_MAX_HEADER_BLOCK);
	if (err)
		return kx__fail(eb, err, "spdy: out of memory building a header block");
	return KX_OK;
}

static kx_err check_open(const struct kx__spdy *s, struct kx_errbuf *eb)
{
	if (s->failed)
		return repeat_failure(s, eb);
	if (s->goaway_sent)
		return kx__fail(eb, KX_ERR_CLOSED, "spdy: session is going away (GOAWAY sent)");
	if (s->goaway_received)
		return kx__fail(eb, KX_ERR_CLOSED, "spdy: the server sent GOAWAY");
	if (s->next_id > MAX_STREAM_ID)
		return kx__fail(eb, KX_ERR_CLOSED, "spdy: stream ids used up; open a new session");
	if (s->nstreams >= KX_SPDY_MAX_STREAMS)
		return kx__fail(eb, KX_ERR_TOO_LARGE, "spdy: %d streams open already", KX_SPDY_MAX_STREAMS);
	return KX_OK;
}

kx_err kx__spdy_open_stream(struct kx__spdy *s, const struct kx__spdy_pair *headers, size_t n, int fin,
			   uint32_t *id, struct kx_errbuf *eb)
{
	struct kx_buf raw = KX_BUF_INIT(KX_SPDY_MAX_HEADER_BLOCK);
	unsigned char *z = NULL, prefix[FRAME_HEADER + SYN_STREAM_FIXED];
	kx_err err;

	if ((err = check_open(s, eb)))
		goto out;
	if (n && !headers) {
		err = kx__fail(eb, KX_ERR_INVALID, "spdy: no headers given");
		goto out;
	}
	if ((err = build_block(headers, n, &raw, eb)))
		goto out;
	/* Bound the deflated size before deflating: once the shared deflate stream
	 * has taken the block, the frame must be sent or the server's inflater
	 * goes out of step. Deflate with a sync flush grows incompressible input
	 * by 5 bytes per stored block (at least 16 KiB), plus the flush marker and
	 * the first block's zlib header. */
	size_t bound = raw.len + raw.len / 64 + 64;
	if (!fits(s, sizeof prefix + bound, 0)) {
		err = kx__fail(eb, KX_ERR_TOO_LARGE, "spdy: outgoing queue full (%zu bytes pending)", pending(s));
		goto out;
	}
	if (s->nstreams == s->streams_cap) {
		size_t cap = s->streams_cap ? s->streams_cap * 2 : 8;
		struct stream *p = realloc(s->streams, cap * sizeof *p);
		if (!p) {
			err = kx__fail(eb, KX_ERR_NOMEM, "spdy: out of memory opening a stream");
			goto out;
		}
		s->streams = p;
		s->streams_cap = cap;
	}
	if (!(z = malloc(bound))) {
		err = kx__fail(eb, KX_ERR_NOMEM, "spdy: out of memory opening a stream");
		goto out;
	}
	s->deflater.next_in = (const unsigned char *)raw.data;
	s->deflater.avail_in = (uInt)raw.len;
	s->deflater.next_out = z;
	s->deflater.avail_out = (uInt)bound;
	int rc = deflate(&s->deflater, Z_SYNC_FLUSH);
	if (rc != Z_OK || s->deflater.avail_in || !s->deflater.avail_out) {
		/* cannot happen with a sane zlib; the stream state is unknown now */
		err = session_fail(s, eb, KX_ERR_INVALID, "spdy: header compression failed (zlib %d)", rc);
		goto out;
	}
	size_t zlen = bound - s->deflater.avail_out;
	put_control_header(prefix, SYN_STREAM, fin ? FLAG_FIN : 0, SYN_STREAM_FIXED + zlen);
	put32(prefix + 8, s->next_id);
	put32(prefix + 12, 0); /* associated stream */
	prefix[16] = 0;        /* priority 0 (highest), as client-go */
	prefix[17] = 0;        /* credential slot */
	if (out_append(s, prefix, sizeof prefix, z, zlen)) {
		err = repeat_failure(s, eb);
		goto out;
	}
	struct stream *st = &s->streams[s->nstreams++];
	memset(st, 0, sizeof *st);
	st->id = s->next_id;
	st->local_closed = fin ? 1 : 0;
	if (id)
		*id = s->next_id;
	s->next_id += 2;
out:
	kx_buf_free(&raw);
	free(z);
	return err;
}

/* The stream a write or close is for: alive, replied, not closed by us. */
static kx_err writable_stream(struct kx__spdy *s, uint32_t id, struct stream **out, struct kx_errbuf *eb)
{
	struct stream *st = find_stream(s, id);
	*out = st;
	if (s->failed)
		return repeat_failure(s, eb);
	if (!st)
		return kx__fail(eb, KX_ERR_INVALID, "spdy: stream %u is %s", id,
				stream_existed(s, id) ? "closed" : "unknown");
	if (!st->replied)
		return kx__fail(eb, KX_ERR_INVALID,
				"spdy: stream %u has no SYN_REPLY yet (the server would drop the data)", id);
	return KX_OK;
}

kx_err kx__spdy_write(struct kx__spdy *s, uint32_t id, const void *data, size_t len, struct kx_errbuf *eb)
{
	const unsigned char *p = data;
	struct stream *st;
	kx_err err = writable_stream(s, id, &st, eb);

	if (err)
		return err;
	if (st->local_closed)
		return kx__fail(eb, KX_ERR_INVALID, "spdy: write on stream %u after its FIN", id);
	if (!len)
		return KX_OK;
	size_t frames = len / KX_SPDY_MAX_DATA_FRAME + (len % KX_SPDY_MAX_DATA_FRAME ? 1 : 0);
	if (len > s->queue_cap || !fits(s, len + frames * FRAME_HEADER, 0))
		return kx__fail(eb, KX_ERR_TOO_LARGE, "spdy: outgoing queue full (%zu bytes pending, %zu more)",
				pending(s), len);
	while (len) {
		unsigned char h[FRAME_HEADER];
		size_t n = KX_MIN(len, KX_SPDY_MAX_DATA_FRAME);
		put_data_header(h, id, 0, n);
		if (out_append(s, h, sizeof h, p, n))
			return repeat_failure(s, eb);
		p += n;
		len -= n;
	}
	return KX_OK;
}

size_t kx__spdy_write_room(const struct kx__spdy *s)
{
	if (s->failed || pending(s) >= s->queue_cap)
		return 0;
	size_t room = s->queue_cap - pending(s), per = KX_SPDY_MAX_DATA_FRAME + FRAME_HEADER;
	size_t rest = room % per;
	return room / per * KX_SPDY_MAX_DATA_FRAME + (rest > FRAME_HEADER ? rest - FRAME_HEADER : 0);
}

kx_err kx__spdy_close_stream(struct kx__spdy *s, uint32_t id, struct kx_errbuf *eb)
{
	struct stream *st;
	unsigned char h[FRAME_HEADER];

	if (!s->failed && !find_stream(s, id) && stream_existed(s, id))
		return KX_OK;
	kx_err err = writable_stream(s, id, &st, eb);
	if (err)
		return err;
	if (st->local_closed)
		return KX_OK;
	if (!fits(s, sizeof h, 1))
		return kx__fail(eb, KX_ERR_TOO_LARGE, "spdy: outgoing queue full (%zu bytes pending)", pending(s));
	put_data_header(h, id, FLAG_FIN, 0);
	if (out_append(s, h, sizeof h, NULL, 0))
		return repeat_failure(s, eb);
	st->local_closed = 1;
	if (st->remote_closed)
		forget_stream(s, id);
	return KX_OK;
}

static kx_err queue_control8(struct kx__spdy *s, unsigned type, uint32_t a, uint32_t b, size_t len,
			     struct kx_errbuf *eb)
{
	unsigned char f[FRAME_HEADER + 8];
	put_control_header(f, type, 0, len);
	put32(f + 8, a);
	put32(f + 12, b);
	if (!fits(s, FRAME_HEADER + len, 1))
		return kx__fail(eb, KX_ERR_TOO_LARGE, "spdy: outgoing queue full (%zu bytes pending)", pending(s));
	if (out_append(s, f, FRAME_HEADER + len, NULL, 0))
		return repeat_failure(s, eb);
	return KX_OK;
}

kx_err kx__spdy_reset(struct kx__spdy *s, uint32_t id, uint32_t status, struct kx_errbuf *eb)
{
	if (s->failed)
		return repeat_failure(s, eb);
	if (!status)
		return kx__fail(eb, KX_ERR_INVALID, "spdy: RST_STREAM status 0 is invalid");
	if (!find_stream(s, id)) {
		if (stream_existed(s, id))
			return KX_OK;
		return kx__fail(eb, KX_ERR_INVALID, "spdy: reset of unknown stream %u", id);
	}
	kx_err err = queue_control8(s, RST_STREAM, id, status, 8, eb);
	if (!err)
		forget_stream(s, id);
	return err;
}

kx_err kx__spdy_ping(struct kx__spdy *s, uint32_t *id, struct kx_errbuf *eb)
{
	if (s->failed)
		return repeat_failure(s, eb);
	uint32_t ping = s->next_ping;
	kx_err err = queue_control8(s, PING, ping, 0, 4, eb);
	if (err)
		return err;
	s->next_ping = ping >= MAX_STREAM_ID - 1 ? 1 : ping + 2;
	if (id)
		*id = ping;
	return KX_OK;
}

kx_err kx__spdy_goaway(struct kx__spdy *s, uint32_t status, struct kx_errbuf *eb)
{
	if (s->failed)
		return repeat_failure(s, eb);
	if (s->goaway_sent)
		return KX_OK;
	/* last good stream: the last server stream we accepted, and we accept none */
	kx_err err = queue_control8(s, GOAWAY, 0, status, 8, eb);
	if (!err)
		s->goaway_sent = 1;
	return err;
}

size_t kx__spdy_pending(const struct kx__spdy *s)
{
	return pending(s);
}

const void *kx__spdy_peek(const struct kx__spdy *s, size_t *len)
{
	*len = pending(s);
	return *len ? s->out.data + s->out_head : NULL;
}

void kx__spdy_consumed(struct kx__spdy *s, size_t n)
{
	s->out_head += KX_MIN(n, pending(s));
	/* compact once the written part is at least half the buffer, so copies
	 * stay linear in the bytes queued */
	if (s->out_head == s->out.len) {
		kx_buf_clear(&s->out);
		s->out_head = 0;
	} else if (s->out_head >= s->out.len / 2) {
		kx_buf_consume(&s->out, s->out_head);
		s->out_head = 0;
	}
}

/* ---- the session ---- */

const char *kx__spdy_headers_get(const struct kx__spdy_headers *h, const char *name, size_t *len)
{
	for (size_t i = 0; h && name && i < h->count; i++) {
		if (same_name(h->items[i].name, name)) {
			if (len)
				*len = h->items[i].value_len;
			return h->items[i].value;
		}
	}
	return NULL;
}

int kx__spdy_stream_ready(const struct kx__spdy *s, uint32_t id)
{
	const struct stream *st = find_stream(s, id);
	return st && st->replied;
}

int kx__spdy_stream_alive(const struct kx__spdy *s, uint32_t id)
{
	return find_stream(s, id) != NULL;
}

size_t kx__spdy_stream_count(const struct kx__spdy *s)
{
	return s->nstreams;
}

void kx__spdy_set_queue_cap(struct kx__spdy *s, size_t cap)
{
	s->queue_cap = cap < MIN_QUEUE_CAP ? MIN_QUEUE_CAP : KX_MIN(cap, MAX_QUEUE_CAP);
}

kx_err kx__spdy_new(const struct kx__spdy_callbacks *cb, void *ud, struct kx__spdy **out, struct kx_errbuf *eb)
{
	kx_err err = KX_OK;
	struct kx__spdy *s = calloc(1, sizeof *s);

	*out = NULL;
	if (!s) {
		err = kx__fail(eb, KX_ERR_NOMEM, "spdy: out of memory");
		goto out;
	}
	if (cb)
		s->cb = *cb;
	s->ud = ud;
	s->next_id = 1;
	s->next_ping = 1;
	s->queue_cap = KX_SPDY_DEFAULT_QUEUE_CAP;
	s->ctl = (struct kx_buf)KX_BUF_INIT(MAX_CONTROL_LEN);
	s->block = (struct kx_buf)KX_BUF_INIT(KX_SPDY_MAX_HEADER_BLOCK);
	/* the queue's own cap is never reached: fits() checks before appending */
	s->out = (struct kx_buf)KX_BUF_INIT(0);
	if (inflateInit(&s->inflater) != Z_OK) {
		err = kx__fail(eb, KX_ERR_NOMEM, "spdy: cannot set up zlib inflate");
		goto out;
	}
	s->inflater_ok = 1;
	if (deflateInit(&s->deflater, Z_DEFAULT_COMPRESSION) != Z_OK) {
		err = kx__fail(eb, KX_ERR_NOMEM, "spdy: cannot set up zlib deflate");
		goto out;
	}
	s->deflater_ok = 1;
	if (deflateSetDictionary(&s->deflater, kx__spdy_dict, KX_SPDY_DICT_LEN) != Z_OK) {
		err = kx__fail(eb, KX_ERR_NOMEM, "spdy: cannot set the zlib dictionary");
		goto out;
	}
	*out = s;
	s = NULL;
out:
	kx__spdy_free(s);
	return err;
}

void kx__spdy_free(struct kx__spdy *s)
{
	if (!s)
		return;
	if (s->inflater_ok)
		inflateEnd(&s->inflater);
	if (s->deflater_ok)
		deflateEnd(&s->deflater);
	kx_buf_free(&s->ctl);
	kx_buf_free(&s->block);
	kx_buf_free(&s->out);
	free(s->store);
	free(s->items);
	free(s->streams);
	free(s);
}
