/* SPDX-License-Identifier: Apache-2.0 */
/* An upgraded connection to the API server: a libcurl connection (tlsconn.c),
 * an HTTP/1.1 Upgrade request, then a byte stream. Two kinds:
 *   KX_UP_SPDY       POST + "Upgrade: SPDY/3.1", the bytes are SPDY frames;
 *   KX_UP_WEBSOCKET  GET + "Upgrade: websocket" (RFC 6455, kx's own framing in
 *                    wsframe.c), the bytes travel in binary messages — the
 *                    port-forward tunnel "SPDY/3.1+portforward.k8s.io".
 * Either way the user sees the same calls: write bytes, get bytes. One place
 * builds the upgrade request (with credentials) and reads the answer, for
 * exec over SPDY and port-forward over both. */
#ifndef KX_UPCONN_H
#define KX_UPCONN_H

#include "loop.h"

enum kx__up_kind { KX_UP_SPDY, KX_UP_WEBSOCKET };

struct kx__up_request {
	enum kx__up_kind kind;
	const char *path;                /* absolute, server prefix and query included */
	const char *const *protocols;    /* SPDY: X-Stream-Protocol-Version values;
	                                    WebSocket: Sec-WebSocket-Protocol values */
	size_t nprotocols;
};

struct kx__upconn;

struct kx__up_callbacks {
	/* 101 and the handshake checks passed; protocol = the one the server chose
	 * ("" if none). Bytes that followed the response come next via on_data. */
	void (*on_upgraded)(void *ud, const char *protocol);
	/* The server answered without upgrading: its status code and body (a
	 * Status, a proxy's page, …). Nothing follows; free the connection. */
	void (*on_refused)(void *ud, int code, const char *body, size_t len);
	void (*on_data)(void *ud, const void *data, size_t len);
	/* WebSocket only, instead of on_data when set: a piece of a message,
	 * first/last marking its bounds (a protocol whose messages mean something,
	 * like exec's channels). */
	void (*on_message)(void *ud, const void *data, size_t len, int first, int last);
	void (*on_writable)(void *ud);   /* after kx__upconn_want_write */
	/* The connection ended (KX_OK: orderly, incl. a WebSocket close); nothing follows. */
	void (*on_closed)(void *ud, kx_err err, const struct kx_errbuf *eb);
};

kx_err kx__upconn_open(struct kx_loop *l, const struct kx__conn_info *ci,
		       const struct kx__up_request *rq, const struct kx__up_callbacks *cb,
		       void *ud, struct kx__upconn **out, struct kx_errbuf *eb);
/* Send payload bytes after the upgrade: returns how many were taken (0 when
 * the connection is full: wait for on_writable), -1 after a fatal error. */
long kx__upconn_write(struct kx__upconn *u, const void *data, size_t len);
void kx__upconn_want_write(struct kx__upconn *u);
void kx__upconn_pause_read(struct kx__upconn *u, int paused);
/* WebSocket: one write of at most KX_UP_MESSAGE_MAX bytes is one whole binary
 * message — taken entirely or not at all (0). */
#define KX_UP_MESSAGE_MAX (256 * 1024)
/* WebSocket: send a ping (keepalive). */
kx_err kx__upconn_ping(struct kx__upconn *u);
/* Milliseconds since bytes last came from the server (for a pong deadline). */
long long kx__upconn_idle_ms(const struct kx__upconn *u);
/* Write what a SPDY session has queued (as much as the connection takes); ask
 * for on_writable while some is left. */
struct kx__spdy;
void kx__upconn_send_spdy(struct kx__upconn *u, struct kx__spdy *spdy);
/* WebSocket: queue a normal Close frame (best effort, before freeing). */
void kx__upconn_close(struct kx__upconn *u);
void kx__upconn_free(struct kx__upconn *u);

#endif
