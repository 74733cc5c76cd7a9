/* SPDX-License-Identifier: Apache-2.0 */
/* A client byte connection to the API server, driven by the streaming loop:
 * libcurl connects it (TCP, any http/https/socks5 proxy, TLS — curlconn.h, the
 * same settings as REST calls), then the loop watches the socket and bytes go
 * through curl_easy_recv/send, read until the socket would block. Upgraded
 * connections (upconn.h: SPDY/3.1 and kx's own WebSocket) and the proxy's
 * upstreams run over it. */
#ifndef KX_TLSCONN_H
#define KX_TLSCONN_H

#include "loop.h"

struct kx_tlsconn;

struct kx_tlsconn_callbacks {
	void (*on_connected)(void *ud);                      /* TCP (+TLS) is up */
	void (*on_data)(void *ud, const void *data, size_t len);
	void (*on_writable)(void *ud);                       /* after kx__tlsconn_want_write */
	/* The connection ended: err KX_OK for an orderly close by the peer, else
	 * why (eb filled). No callback follows; free with kx__tlsconn_free. */
	void (*on_closed)(void *ud, kx_err err, const struct kx_errbuf *eb);
};

kx_err kx__tlsconn_open(struct kx_loop *l, const struct kx__conn_info *ci,
			const struct kx_tlsconn_callbacks *cb, void *ud, struct kx_tlsconn **out,
			struct kx_errbuf *eb);
/* Write what fits now; returns bytes taken (0 when it would block), or -1 after
 * a fatal error (on_closed then follows from the loop). */
long kx__tlsconn_write(struct kx_tlsconn *t, const void *data, size_t len);
/* Ask for one on_writable. */
void kx__tlsconn_want_write(struct kx_tlsconn *t);
/* Stop or resume reading (backpressure). */
void kx__tlsconn_pause_read(struct kx_tlsconn *t, int paused);
void kx__tlsconn_free(struct kx_tlsconn *t);

#endif
