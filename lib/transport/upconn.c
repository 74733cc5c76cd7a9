/* SPDX-License-Identifier: Apache-2.0 */
/* Upgraded connections to the API server (see upconn.h). States: sending the
 * request and reading the response head (HANDSHAKE) -> UPGRADED (bytes flow,
 * framed as WebSocket messages for KX_UP_WEBSOCKET) -> DONE (refused, closed). */
#include "upconn.h"
#include "internal.h"
#include "spdy.h"
#include "tlsconn.h"
#include "wsframe.h"
#include "httpparse.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define UP_HEAD_MAX (1024 * 1024)     /* response head plus a refusal's body */
#define UP_FRAME_MAX KX_UP_MESSAGE_MAX /* payload of one WebSocket frame we send */
#define UP_OUT_MAX (UP_FRAME_MAX + 64 * 1024)

enum up_state { UP_HANDSHAKE, UP_UPGRADED, UP_DONE };

struct kx__upconn {
	struct kx_tlsconn *t;
	struct kx__up_callbacks cb;
	void *ud;
	enum kx__up_kind kind;
	enum up_state state;
	struct kx_buf out;         /* bytes for the server (request, frames); written up to out_off */
	size_t out_off;
	struct kx__http *hp;       /* the response head (and a refusal's body), while in HANDSHAKE */
	struct kx_buf body;        /* a refusal's body (decoded) */
	char field[40];            /* the header being read (names kx needs are short) */
	int field_done;            /* its value has begun */
	int complete;              /* the whole response (a refusal) is in */
	struct kx_buf value;
	char h_upgrade[32], h_accept[64], h_protocol[160]; /* the response headers kx checks */
	char accept[32];           /* the Sec-WebSocket-Accept we expect */
	char offered[512];         /* "a, b": the subprotocols we asked for */
	struct kx_ws_decoder dec;
	int close_sent;
	int write_failed;          /* sending failed: the read side still ends the connection */
	int user_want;             /* the user asked for on_writable */
	int in_message;            /* a received message is in progress (for on_message's first) */
	long long last_rx_ms;
	struct kx_errbuf eb;
};

/* Write out what is queued; 1 = all gone, 0 = some left (on_writable follows), -1 = broken. */
static int flush_out(struct kx__upconn *u)
{
	if (u->write_failed)
		return -1;
	while (u->out_off < u->out.len) {
		long w = kx__tlsconn_write(u->t, u->out.data + u->out_off, u->out.len - u->out_off);
		if (w < 0) {
			u->write_failed = 1;
			return -1;
		}
		if (w == 0) {
			kx__tlsconn_want_write(u->t);
			return 0;
		}
		/* An offset, not a memmove per partial write: frames are up to 256 KiB. */
		u->out_off += (size_t)w;
	}
	u->out_off = 0;
	kx_buf_clear(&u->out);  /* a secret buffer (the request head) is wiped here */
	u->out.secret = 0;      /* the frames that follow need no wiping on the data path */
	return 1;
}

static void finish(struct kx__upconn *u, kx_err err, const struct kx_errbuf *eb)
{
	if (u->state == UP_DONE)
		return;
	u->state = UP_DONE;
	if (u->cb.on_closed)
		u->cb.on_closed(u->ud, err, eb);
}

/* Queue one masked frame. */
static kx_err queue_frame(struct kx__upconn *u, int opcode, const void *data, size_t len)
{
	uint8_t head[KX_WS_HEADER_MAX], key[4];
	if (RAND_bytes(key, sizeof key) != 1)
		return kx__fail(&u->eb, KX_ERR_TLS, "websocket: no random bytes for a frame mask");
	size_t hl = kx__ws_header(head, opcode, len, key);
	size_t at = u->out.len;
	if (kx_buf_append(&u->out, head, hl) || kx_buf_append(&u->out, data, len))
		return kx__fail(&u->eb, KX_ERR_NOMEM, "websocket: output queue full");
	kx__ws_mask((uint8_t *)u->out.data + at + hl, len, key, 0);
	return KX_OK;
}

/* ---- WebSocket messages from the server ---- */

static int ws_data(void *ud, int opcode, const void *data, size_t len, int last)
{
	struct kx__upconn *u = ud;
	(void)opcode;
	if (u->cb.on_message) {
		int first = !u->in_message;
		u->in_message = !last;
		u->cb.on_message(u->ud, data, len, first, last);
	} else if (len && u->cb.on_data) {
		u->cb.on_data(u->ud, data, len);
	}
	return u->state != UP_UPGRADED;
}

static int ws_control(void *ud, int opcode, const uint8_t *payload, size_t len)
{
	struct kx__upconn *u = ud;
	if (opcode == KX_WS_PING) {
		if (queue_frame(u, KX_WS_PONG, payload, len))
			finish(u, KX_ERR_CLOSED, &u->eb);
		else
			flush_out(u);
		return u->state != UP_UPGRADED;
	}
	if (opcode != KX_WS_CLOSE)
		return 0;
	unsigned code = len >= 2 ? (unsigned)payload[0] << 8 | payload[1] : 1005;
	if (!u->close_sent) {
		u->close_sent = 1;
		uint8_t echo[2] = {(uint8_t)(code >> 8), (uint8_t)code};
		if (!queue_frame(u, KX_WS_CLOSE, echo, len >= 2 ? 2 : 0))
			flush_out(u);
	}
	if (code == 1000 || code == 1005) {
		finish(u, KX_OK, NULL);
	} else {
		kx__fail(&u->eb, KX_ERR_CLOSED, "the server closed the websocket (code %u%s%.*s)", code,
			 len > 2 ? ": " : "", (int)(len > 2 ? len - 2 : 0), (const char *)payload + 2);
		finish(u, KX_ERR_CLOSED, &u->eb);
	}
	return 1;
}

static const struct kx_ws_sink ws_sink = {.on_data = ws_data, .on_control = ws_control};

static void deliver(struct kx__upconn *u, const void *data, size_t len)
{
	if (!len || u->state != UP_UPGRADED)
		return;
	if (u->kind == KX_UP_SPDY) {
		if (u->cb.on_data)
			u->cb.on_data(u->ud, data, len);
		return;
	}
	kx_err err = kx__ws_decode(&u->dec, &(struct kx_ws_sink){ws_sink.on_data, ws_sink.on_control, u},
				   data, len, &u->eb);
	if (err && err != KX_ERR_CLOSED)
		finish(u, err, &u->eb);
}

/* ---- the response to the upgrade request ---- */

static void refused(struct kx__upconn *u, const char *body, size_t len)
{
	u->state = UP_DONE;
	kx__tlsconn_pause_read(u->t, 1);
	if (u->cb.on_refused)
		u->cb.on_refused(u->ud, kx__http_status(u->hp), body, len);
}

static int protocol_offered(const struct kx__upconn *u, const char *p, size_t n)
{
	for (const char *s = u->offered; *s;) {
		size_t l = strcspn(s, ",");
		if (l == n && !strncmp(s, p, n))
			return 1;
		s += l;
		while (*s == ',' || *s == ' ')
			s++;
	}
	return 0;
}

/* A 101: check it, then hand over. */
static void upgraded(struct kx__upconn *u)
{
	if (u->kind == KX_UP_WEBSOCKET) {
		if (strcasecmp(u->h_upgrade, "websocket")) {
			const char msg[] = "websocket: the server's 101 response does not upgrade to websocket";
			refused(u, msg, sizeof msg - 1);
			return;
		}
		if (strcmp(u->h_accept, u->accept)) {
			const char msg[] = "websocket: the server's Sec-WebSocket-Accept does not match";
			refused(u, msg, sizeof msg - 1);
			return;
		}
		if (u->offered[0] && !protocol_offered(u, u->h_protocol, strlen(u->h_protocol))) {
			char msg[300];
			int n = snprintf(msg, sizeof msg, "websocket: the server chose subprotocol '%.100s', not one of '%s'",
					 u->h_protocol, u->offered);
			refused(u, msg, (size_t)KX_MIN(n, (int)sizeof msg - 1));
			return;
		}
		kx__ws_decoder_init(&u->dec);
	}
	u->state = UP_UPGRADED;
	if (u->cb.on_upgraded)
		u->cb.on_upgraded(u->ud, u->h_protocol);
}

/* ---- the response head, by http-parser (httpparse.h) ---- */

static void header_done(struct kx__upconn *u)
{
	if (!u->field_done)
		return;
	static const struct {
		const char *name;
		size_t off, size;
	} wanted[] = {
		{"Upgrade", offsetof(struct kx__upconn, h_upgrade), sizeof ((struct kx__upconn *)0)->h_upgrade},
		{"Sec-WebSocket-Accept", offsetof(struct kx__upconn, h_accept), sizeof ((struct kx__upconn *)0)->h_accept},
		{"Sec-WebSocket-Protocol", offsetof(struct kx__upconn, h_protocol), sizeof ((struct kx__upconn *)0)->h_protocol},
		{"X-Stream-Protocol-Version", offsetof(struct kx__upconn, h_protocol), sizeof ((struct kx__upconn *)0)->h_protocol},
	};
	for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++)
		if (!strcasecmp(u->field, wanted[i].name)) {
			size_t n = u->value.len;
			while (n && (u->value.data[n - 1] == ' ' || u->value.data[n - 1] == '\t'))
				n--;
			snprintf((char *)u + wanted[i].off, wanted[i].size, "%.*s", (int)n,
				 u->value.len ? u->value.data : "");
		}
	u->field[0] = '\0';
	u->field_done = 0;
	kx_buf_clear(&u->value);
}

static int hp_field(void *ud, const char *at, size_t n)
{
	struct kx__upconn *u = ud;
	header_done(u);
	size_t have = strlen(u->field);
	snprintf(u->field + have, sizeof u->field - have, "%.*s", (int)n, at);
	return 0;
}

static int hp_value(void *ud, const char *at, size_t n)
{
	struct kx__upconn *u = ud;
	u->field_done = 1;
	if (!u->value.len)
		while (n && (*at == ' ' || *at == '\t'))
			at++, n--;
	kx_buf_append(&u->value, at, n); /* a longer value is cut: it is not one kx checks */
	return 0;
}

static int hp_headers(void *ud)
{
	header_done(ud);
	return 0;
}

static int hp_body(void *ud, const char *at, size_t n)
{
	struct kx__upconn *u = ud;
	return kx_buf_append(&u->body, at, n) ? -1 : 0;
}

static int hp_complete(void *ud)
{
	struct kx__upconn *u = ud;
	u->complete = 1; /* acted on once the parser has returned (the owner may free us) */
	kx__http_pause(u->hp, 1);
	return 0;
}

static const struct kx__http_callbacks hp_callbacks = {
	.on_field = hp_field,
	.on_value = hp_value,
	.on_headers = hp_headers,
	.on_body = hp_body,
	.on_complete = hp_complete,
};

static void handshake(struct kx__upconn *u, const char *data, size_t len)
{
	size_t used = kx__http_feed(u->hp, data, len);
	if (u->complete && kx__http_status(u->hp) != 101) {
		refused(u, u->body.data ? u->body.data : "", u->body.len);
		return;
	}
	if (kx__http_upgrade(u->hp) && kx__http_status(u->hp) == 101) {
		upgraded(u);
		/* Frames that came with the head. */
		if (u->state == UP_UPGRADED && used < len)
			deliver(u, data + used, len - used);
		return;
	}
	enum kx__http_state st = kx__http_state(u->hp);
	if (st == KX_HTTP_ERROR || st == KX_HTTP_HEADER_OVERFLOW) {
		kx__fail(&u->eb, KX_ERR_PROTOCOL, "malformed response to the upgrade request: %s",
			 kx__http_error_text(u->hp));
		finish(u, KX_ERR_PROTOCOL, &u->eb);
	}
}

/* ---- tlsconn callbacks ---- */

static void t_connected(void *ud)
{
	struct kx__upconn *u = ud;
	if (flush_out(u) < 0)
		finish(u, KX_ERR_CLOSED, &u->eb);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long kx__upconn_idle_ms(const struct kx__upconn *u)
{
	return now_ms() - u->last_rx_ms;
}

static void t_data(void *ud, const void *data, size_t len)
{
	struct kx__upconn *u = ud;
	u->last_rx_ms = now_ms();
	if (u->state == UP_HANDSHAKE)
		handshake(u, data, len);
	else
		deliver(u, data, len);
}

static void t_writable(void *ud)
{
	struct kx__upconn *u = ud;
	/* A failed write does not end the connection: what the server sent
	 * before it gave up on our bytes (an exec's output and status) is still
	 * to be read, and the read side reports the end. */
	int r = flush_out(u);
	if (r <= 0 || u->state != UP_UPGRADED || !u->user_want)
		return;
	u->user_want = 0;
	if (u->cb.on_writable)
		u->cb.on_writable(u->ud);
}

static void t_closed(void *ud, kx_err err, const struct kx_errbuf *eb)
{
	struct kx__upconn *u = ud;
	if (u->state == UP_HANDSHAKE && !err) {
		/* A body that ends with the connection: the parser completes it. */
		kx__http_feed(u->hp, NULL, 0);
		if (u->complete && kx__http_status(u->hp) != 101) {
			refused(u, u->body.data ? u->body.data : "", u->body.len);
			return;
		}
	}
	if (u->state == UP_HANDSHAKE && !err) {
		kx__fail(&u->eb, KX_ERR_CLOSED, "the server closed the connection during the upgrade");
		finish(u, KX_ERR_CLOSED, &u->eb);
		return;
	}
	if (eb && eb != &u->eb)
		u->eb = *eb;
	finish(u, err, &u->eb);
}

static const struct kx_tlsconn_callbacks t_callbacks = {
	.on_connected = t_connected,
	.on_data = t_data,
	.on_writable = t_writable,
	.on_closed = t_closed,
};

static kx_err build_request(struct kx__upconn *u, const struct kx__conn_info *ci,
			    const struct kx__up_request *rq, struct kx_errbuf *eb)
{
	char auth[8192];
	int have = kx__auth_header(ci, auth, sizeof auth);
	struct kx_buf *r = &u->out;
	kx_err err;
	if (rq->kind == KX_UP_WEBSOCKET) {
		unsigned char raw[16];
		char key[32];
		if (RAND_bytes(raw, sizeof raw) != 1) {
			kx__memzero(auth, sizeof auth);
			return kx__fail(eb, KX_ERR_TLS, "websocket: no random bytes for the handshake key");
		}
		EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
		kx__ws_accept(key, u->accept);
		for (size_t i = 0; i < rq->nprotocols; i++) {
			size_t at = strlen(u->offered);
			snprintf(u->offered + at, sizeof u->offered - at, "%s%s", i ? ", " : "", rq->protocols[i]);
		}
		err = kx_buf_printf(r, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kx/%s\r\n"
				       "Connection: Upgrade\r\nUpgrade: websocket\r\n"
				       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n",
				    rq->path, ci->host_header, kx_version(), key);
		if (!err && u->offered[0])
			err = kx_buf_printf(r, "Sec-WebSocket-Protocol: %s\r\n", u->offered);
	} else {
		err = kx_buf_printf(r, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kx/%s\r\n"
				       "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nContent-Length: 0\r\n",
				    rq->path, ci->host_header, kx_version());
		for (size_t i = 0; !err && i < rq->nprotocols; i++)
			err = kx_buf_printf(r, "X-Stream-Protocol-Version: %s\r\n", rq->protocols[i]);
	}
	if (!err && have)
		err = kx_buf_printf(r, "Authorization: %s\r\n", auth);
	if (!err)
		err = kx_buf_appends(r, "\r\n");
	kx__memzero(auth, sizeof auth);
	if (err)
		return kx__fail(eb, err, "the upgrade request does not fit");
	return KX_OK;
}

kx_err kx__upconn_open(struct kx_loop *l, const struct kx__conn_info *ci,
		       const struct kx__up_request *rq, const struct kx__up_callbacks *cb,
		       void *ud, struct kx__upconn **out, struct kx_errbuf *eb)
{
	struct kx__upconn *u = calloc(1, sizeof *u);
	if (!u)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	u->cb = *cb;
	u->ud = ud;
	u->kind = rq->kind;
	u->out = (struct kx_buf)KX_BUF_INIT_SECRET(UP_OUT_MAX); /* the Authorization header first */
	u->body = (struct kx_buf)KX_BUF_INIT(UP_HEAD_MAX);
	u->value = (struct kx_buf)KX_BUF_INIT(1024);
	if (!(u->hp = kx__http_new(1, &hp_callbacks, u))) {
		kx__upconn_free(u);
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	}
	u->last_rx_ms = now_ms();
	kx_err err = build_request(u, ci, rq, eb);
	if (!err)
		err = kx__tlsconn_open(l, ci, &t_callbacks, u, &u->t, eb);
	if (err) {
		kx__upconn_free(u);
		return err;
	}
	*out = u;
	return KX_OK;
}

long kx__upconn_write(struct kx__upconn *u, const void *data, size_t len)
{
	if (u->state != UP_UPGRADED)
		return u->state == UP_DONE ? -1 : 0;
	int r = flush_out(u);
	if (r <= 0)
		return r;
	if (u->kind == KX_UP_SPDY) {
		long w = kx__tlsconn_write(u->t, data, len);
		u->write_failed = w < 0;
		return w;
	}
	size_t n = KX_MIN(len, (size_t)UP_FRAME_MAX);
	if (!n)
		return 0;
	if (queue_frame(u, KX_WS_BINARY, data, n))
		return -1;
	return flush_out(u) < 0 ? -1 : (long)n;
}

void kx__upconn_want_write(struct kx__upconn *u)
{
	if (u->write_failed)
		return; /* nothing will be writable again */
	u->user_want = 1;
	kx__tlsconn_want_write(u->t);
}

void kx__upconn_pause_read(struct kx__upconn *u, int paused)
{
	kx__tlsconn_pause_read(u->t, paused);
}

void kx__upconn_send_spdy(struct kx__upconn *u, struct kx__spdy *spdy)
{
	size_t n;
	const void *q = u && spdy ? kx__spdy_peek(spdy, &n) : NULL;
	if (!q || !n)
		return;
	long w = kx__upconn_write(u, q, n);
	if (w > 0)
		kx__spdy_consumed(spdy, (size_t)w);
	if (kx__spdy_pending(spdy))
		kx__upconn_want_write(u);
}

kx_err kx__upconn_ping(struct kx__upconn *u)
{
	if (u->kind != KX_UP_WEBSOCKET || u->state != UP_UPGRADED)
		return KX_OK;
	static const char payload[] = "kx";
	if (queue_frame(u, KX_WS_PING, payload, sizeof payload - 1) || flush_out(u) < 0)
		return KX_ERR_CLOSED;
	return KX_OK;
}

void kx__upconn_close(struct kx__upconn *u)
{
	if (!u || u->kind != KX_UP_WEBSOCKET || u->state != UP_UPGRADED || u->close_sent)
		return;
	u->close_sent = 1;
	const uint8_t normal[2] = {0x03, 0xe8}; /* 1000 */
	if (!queue_frame(u, KX_WS_CLOSE, normal, sizeof normal))
		flush_out(u);
}

void kx__upconn_free(struct kx__upconn *u)
{
	if (!u)
		return;
	kx__tlsconn_free(u->t);
	kx_buf_free_secret(&u->out); /* held the Authorization header */
	kx__http_free(u->hp);
	kx_buf_free(&u->body);
	kx_buf_free(&u->value);
	free(u);
}
