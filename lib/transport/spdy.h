/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internal: a sans-IO SPDY/3.1 client session, as Kubernetes speaks it for
 * exec, attach and port-forward (over TLS after an HTTP Upgrade, or inside the
 * WebSocket byte pipe of SPDY/3.1+portforward.k8s.io). No sockets, no threads:
 * the caller feeds received bytes in, gets callbacks out, and writes the bytes
 * the session queues. See docs: protocols.md section 2.
 *
 * Intended use, in one event loop:
 *
 *     kx__spdy_new(&callbacks, ud, &s, eb);
 *     kx__spdy_open_stream(s, headers, n, 0, &id, eb);       (one per stream)
 *     loop:
 *         socket readable  -> kx__spdy_feed(s, bytes, n, eb)   (callbacks run)
 *         socket writable  -> p = kx__spdy_peek(s, &len); n = write(p, len);
 *                             kx__spdy_consumed(s, n)
 *         source readable  -> only while kx__spdy_pending(s) is below a
 *                             high-water mark (say half of the queue cap) and
 *                             kx__spdy_stream_ready(s, id):
 *                             kx__spdy_write(s, id, buf, min(n, write_room))
 *         every 5 s        -> kx__spdy_ping(s, &id) (proxies cut idle connections)
 *     kx__spdy_goaway(s, KX_SPDY_GOAWAY_OK); flush; close; kx__spdy_free(s)
 *
 * There is no flow control: SETTINGS and WINDOW_UPDATE are ignored and never
 * sent, and nothing ever waits for window credit (spdystream does the same).
 * Backpressure is the caller's: stop reading a local source while the outgoing
 * queue is above the high-water mark, and stop reading the socket while a
 * stream's consumer cannot take more data (the server's writer then blocks).
 *
 * Callbacks run only inside kx__spdy_feed. They may call any function below on
 * the same session (write, close, reset, open, ping, consumed …) except
 * kx__spdy_feed (refused with KX_ERR_INVALID) and kx__spdy_free. Pointers passed
 * to a callback are valid only until it returns. */
#ifndef KX_SPDY_H
#define KX_SPDY_H

#include <kx/common.h>
#include <stddef.h>
#include <stdint.h>

struct kx_errbuf;

/* The SPDY/3 header-compression dictionary (lib/transport/spdy_dict.c). */
#define KX_SPDY_DICT_LEN 1423
extern const unsigned char kx__spdy_dict[KX_SPDY_DICT_LEN];

/* RST_STREAM status codes (SPDY/3 section 2.4.2). 0 is invalid on the wire. */
enum kx__spdy_rst_status {
	KX_SPDY_PROTOCOL_ERROR = 1,
	KX_SPDY_INVALID_STREAM = 2,
	KX_SPDY_REFUSED_STREAM = 3,
	KX_SPDY_UNSUPPORTED_VERSION = 4,
	KX_SPDY_CANCEL = 5,
	KX_SPDY_INTERNAL_ERROR = 6,
	KX_SPDY_FLOW_CONTROL_ERROR = 7,
	KX_SPDY_STREAM_IN_USE = 8,
	KX_SPDY_STREAM_ALREADY_CLOSED = 9,
	KX_SPDY_INVALID_CREDENTIALS = 10,
	KX_SPDY_FRAME_TOO_LARGE = 11,
};

/* GOAWAY status codes, as spdystream (and Chromium) number them. */
enum kx__spdy_goaway_status {
	KX_SPDY_GOAWAY_OK = 0,
	KX_SPDY_GOAWAY_PROTOCOL_ERROR = 1,
	KX_SPDY_GOAWAY_INTERNAL_ERROR = 2,
};

/* Limits. Everything a peer sends is bounded by one of these. */
#define KX_SPDY_MAX_HEADER_BLOCK ((size_t)256 << 10) /* decompressed, and compressed */
#define KX_SPDY_MAX_DATA_FRAME ((size_t)32 << 10)    /* payload of each DATA frame we send */
#define KX_SPDY_MAX_STREAMS 4096                      /* streams alive at once */
#define KX_SPDY_DEFAULT_QUEUE_CAP ((size_t)1 << 20)  /* outgoing queue, see kx__spdy_set_queue_cap */
#define KX_SPDY_CONTROL_RESERVE ((size_t)64 << 10)   /* extra room for small control frames */

/* One name/value pair to send. Names are lowercased on the wire; several
 * entries with the same name (compared case-insensitively) are sent as one
 * header whose values are joined with NUL, as SPDY requires unique names. */
struct kx__spdy_pair {
	const char *name;
	const char *value;
};

/* One received header. name is lowercase and NUL-terminated. value is
 * NUL-terminated too, but holds value_len bytes, which include the NULs that
 * separate several values of one name (SPDY/3 section 2.6.10). */
struct kx__spdy_header {
	const char *name;
	const char *value;
	size_t value_len;
};

/* A received header block: count entries, unique names, sorted by name
 * (bytewise). Borrowed from the session: valid only during the callback that
 * receives it. */
struct kx__spdy_headers {
	size_t count;
	const struct kx__spdy_header *items;
};

/* The value of header name (ASCII case-insensitive), or NULL when absent. *len
 * (if len is non-NULL) gets the value's length; several values of one name
 * come back joined with NUL. */
const char *kx__spdy_headers_get(const struct kx__spdy_headers *h, const char *name, size_t *len);

/* Events of a session. Every member may be NULL. ud is the pointer given to
 * kx__spdy_new. Stream ids are those kx__spdy_open_stream returned. */
struct kx__spdy_callbacks {
	/* SYN_REPLY: the server accepted the stream; from now on
	 * kx__spdy_stream_ready(s, stream) is true and data may be written. If the
	 * reply also half-closed the stream, on_fin follows. Replies to several
	 * streams arrive in any order (spdystream answers on several workers).
	 * h->items are sorted by name. */
	void (*on_reply)(void *ud, uint32_t stream, const struct kx__spdy_headers *h);
	/* HEADERS after the reply (Kubernetes never sends them). on_fin may follow. */
	void (*on_headers)(void *ud, uint32_t stream, const struct kx__spdy_headers *h);
	/* Stream data, in order. One DATA frame may arrive in several calls (the
	 * session does not buffer frames): chunk boundaries mean nothing. len > 0. */
	void (*on_data)(void *ud, uint32_t stream, const void *data, size_t len);
	/* The server half-closed the stream (FIN): no more on_data for it. Once
	 * both sides have closed, the stream is forgotten. */
	void (*on_fin)(void *ud, uint32_t stream);
	/* The stream is dead and forgotten. by_peer = 1: the server sent
	 * RST_STREAM with this status (or its GOAWAY did not cover the stream:
	 * KX_SPDY_REFUSED_STREAM). by_peer = 0: the server broke the stream's rules
	 * (data before SYN_REPLY, after its FIN, a second SYN_REPLY …) and the
	 * session queued an RST_STREAM with this status. A stream the caller resets
	 * with kx__spdy_reset gets no callback. Note: Kubernetes servers end exec
	 * and attach streams with RST_STREAM CANCEL, not FIN (client-go's
	 * connection Close resets every stream, then spdystream sends GOAWAY), so
	 * by_peer with KX_SPDY_CANCEL is the normal end of such a stream. */
	void (*on_reset)(void *ud, uint32_t stream, uint32_t status, int by_peer);
	/* GOAWAY from the server: no new streams; streams above last_good were not
	 * processed and get on_reset(REFUSED_STREAM, by_peer = 1) right after this;
	 * the others may still finish. status: enum kx__spdy_goaway_status. */
	void (*on_goaway)(void *ud, uint32_t last_good, uint32_t status);
	/* The server echoed one of our PINGs (an odd id from kx__spdy_ping). */
	void (*on_ping_reply)(void *ud, uint32_t id);
};

struct kx__spdy;

/* A new client session. cb is copied; ud is passed to every callback and not
 * owned. Free with kx__spdy_free. */
kx_err kx__spdy_new(const struct kx__spdy_callbacks *cb, void *ud, struct kx__spdy **out,
		   struct kx_errbuf *eb);
/* Frees the session and all its state; NULL is fine. Not from a callback. */
void kx__spdy_free(struct kx__spdy *s);

/* The outgoing queue's cap (default KX_SPDY_DEFAULT_QUEUE_CAP, 64 KiB to 1 GiB).
 * Data and SYN_STREAM frames that would take the queue past it fail with
 * KX_ERR_TOO_LARGE and queue nothing. Small control frames (RST_STREAM, PING
 * and its echo, GOAWAY, the empty FIN of kx__spdy_close_stream) may use another
 * KX_SPDY_CONTROL_RESERVE bytes on top, so closing never fails for lack of room. */
void kx__spdy_set_queue_cap(struct kx__spdy *s, size_t cap);

/* Parse received bytes: any split works, down to one byte at a time; every
 * byte is consumed. Dispatches the callbacks, and queues PING echoes and the
 * RST_STREAMs the rules call for. Returns KX_OK, or a fatal error:
 * KX_ERR_PROTOCOL for anything malformed or over a limit (eb says what, e.g.
 * "spdy: SYN_REPLY for unknown stream 7"), KX_ERR_NOMEM. After a fatal error
 * the session queues GOAWAY(PROTOCOL_ERROR) (flush it if you like, then close
 * the connection) and refuses everything but kx__spdy_peek/consumed/pending/free,
 * returning the same error and message again.
 *
 * What the session does with frames that break the rules (SPDY/3 sections 2.2.2,
 * 2.3, 2.4; the peer is spdystream, which never does any of it):
 *  - fatal (session error): a version other than 3; an unknown control frame
 *    type (spdystream's framer fails on those too, and one cannot skip a frame
 *    whose header-block state one does not know); a length wrong for the frame
 *    type; stream id 0 where a stream is needed; a header block that does not
 *    inflate, is truncated, has trailing bytes, counts more pairs than it can
 *    hold, has empty, upper-case, NUL-holding or duplicate names, or exceeds
 *    KX_SPDY_MAX_HEADER_BLOCK; SETTINGS whose count does not match its length;
 *    RST_STREAM with status 0; SYN_REPLY for a stream never opened; a server
 *    SYN_STREAM with an odd or non-increasing id.
 *  - server SYN_STREAM (even, increasing id): RST_STREAM REFUSED_STREAM (ignored
 *    after we sent GOAWAY).
 *  - DATA or HEADERS before the stream's SYN_REPLY: RST_STREAM PROTOCOL_ERROR;
 *    a second SYN_REPLY: RST_STREAM STREAM_IN_USE; DATA or HEADERS after the
 *    server's FIN: RST_STREAM STREAM_ALREADY_CLOSED (each also on_reset, by_peer 0).
 *  - DATA or HEADERS for a stream id never opened: RST_STREAM INVALID_STREAM.
 *  - any frame for a stream that existed but is gone (reset, or closed both
 *    ways), and RST_STREAM for an unknown stream: ignored, because frames sent
 *    before the server saw our RST_STREAM are normal.
 * Header blocks of ignored or refused frames are still inflated: the zlib state
 * is shared by the whole connection. */
kx_err kx__spdy_feed(struct kx__spdy *s, const void *data, size_t len, struct kx_errbuf *eb);

/* Open a stream: queue SYN_STREAM with the next client id (odd, from 1, up by
 * 2) in *id, header names lowercased and the block deflated on the session's
 * one zlib stream. fin = 1 half-closes our side at once (the only way to send
 * FIN before the reply). The pairs are copied. Wait for on_reply (or
 * kx__spdy_stream_ready) before writing: Kubernetes servers drop DATA that
 * arrives before they replied. Errors: KX_ERR_INVALID (empty name or one
 * SPDY forbids: connection, host, keep-alive, proxy-connection,
 * transfer-encoding), KX_ERR_TOO_LARGE (queue full, header block too large,
 * too many streams), KX_ERR_CLOSED (GOAWAY sent or received, ids exhausted). */
kx_err kx__spdy_open_stream(struct kx__spdy *s, const struct kx__spdy_pair *headers, size_t n,
			   int fin, uint32_t *id, struct kx_errbuf *eb);

/* Queue len bytes of stream data, in DATA frames of at most
 * KX_SPDY_MAX_DATA_FRAME bytes. All or nothing: KX_ERR_TOO_LARGE when it does
 * not fit in the queue (see kx__spdy_write_room); KX_ERR_INVALID when the
 * stream is unknown, has no SYN_REPLY yet, or was closed by us. len 0 is a no-op. */
kx_err kx__spdy_write(struct kx__spdy *s, uint32_t id, const void *data, size_t len,
		     struct kx_errbuf *eb);

/* The most bytes kx__spdy_write can take now (frame headers accounted for). */
size_t kx__spdy_write_room(const struct kx__spdy *s);

/* Half-close our side: an empty DATA frame with FIN. Needs the SYN_REPLY, like
 * kx__spdy_write. Closing a stream we already closed is a no-op. */
kx_err kx__spdy_close_stream(struct kx__spdy *s, uint32_t id, struct kx_errbuf *eb);

/* Queue RST_STREAM with status (KX_SPDY_CANCEL to abandon a stream) and forget
 * the stream; no callback. A stream already gone is a no-op; an id never
 * opened is KX_ERR_INVALID. */
kx_err kx__spdy_reset(struct kx__spdy *s, uint32_t id, uint32_t status, struct kx_errbuf *eb);

/* Queue a PING with the next odd id (in *id, if non-NULL); on_ping_reply reports
 * the echo. Time it out yourself (client-go gives up after about 60 s). */
kx_err kx__spdy_ping(struct kx__spdy *s, uint32_t *id, struct kx_errbuf *eb);

/* Queue GOAWAY(status) once (later calls are no-ops); no new streams after it.
 * Open streams may finish. */
kx_err kx__spdy_goaway(struct kx__spdy *s, uint32_t status, struct kx_errbuf *eb);

/* The outgoing queue: bytes pending, a pointer to them (valid until the next
 * call on s), and how many the caller wrote (n <= pending). */
size_t kx__spdy_pending(const struct kx__spdy *s);
const void *kx__spdy_peek(const struct kx__spdy *s, size_t *len);
void kx__spdy_consumed(struct kx__spdy *s, size_t n);

/* Stream state. ready: alive and its SYN_REPLY arrived. alive: opened and not
 * yet forgotten (forgotten = reset either way, or closed both ways). */
int kx__spdy_stream_ready(const struct kx__spdy *s, uint32_t id);
int kx__spdy_stream_alive(const struct kx__spdy *s, uint32_t id);
/* How many streams are alive. */
size_t kx__spdy_stream_count(const struct kx__spdy *s);

#endif
