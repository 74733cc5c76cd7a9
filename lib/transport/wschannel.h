/* SPDX-License-Identifier: Apache-2.0 */
/* The Kubernetes channel protocol (v4/v5.channel.k8s.io) as a pure decoder and
 * small encoders, shared by exec over WebSocket (channel bytes) and over SPDY
 * (resize JSON). No I/O: fragments in, callbacks out. */
#ifndef KX_WSCHANNEL_H
#define KX_WSCHANNEL_H

#include <kx/buf.h>
#include <kx/common.h>
#include <stddef.h>

enum {
	KX_CH_STDIN = 0,
	KX_CH_STDOUT = 1,
	KX_CH_STDERR = 2,
	KX_CH_ERROR = 3,
	KX_CH_RESIZE = 4,
	KX_CH_CLOSE = 255, /* v5: [255, ch] half-closes channel ch */
};

#define KX_CH_STATUS_MAX (64 * 1024)

struct kx_chan_sink {
	/* Output of channel 1 or 2 (never empty). Return non-zero to stop. */
	int (*on_output)(void *ud, int channel, const void *data, size_t len);
	/* A complete message on channel 3: the Status JSON. */
	int (*on_status)(void *ud, const char *json, size_t len);
	/* v5 close of a channel by the server ([255, ch]). May be NULL. */
	int (*on_close)(void *ud, int channel);
	void *ud;
};

struct kx_chan_decoder {
	int channel;        /* channel of the message being received, -1 before one */
	struct kx_buf status;
};

void kx__chan_init(struct kx_chan_decoder *d);
void kx__chan_free(struct kx_chan_decoder *d);
/* One WebSocket fragment: first = it starts a message (its first byte is the
 * channel), last = it ends one. Empty messages and bare channel bytes (the
 * server's "ready" signal) carry nothing. A status over KX_CH_STATUS_MAX is
 * KX_ERR_PROTOCOL; a callback's stop is KX_ERR_CLOSED. */
kx_err kx__chan_feed(struct kx_chan_decoder *d, const struct kx_chan_sink *sink, int first,
		     int last, const void *data, size_t len, struct kx_errbuf *eb);

/* {"Width":C,"Height":R} as client-go writes it; returns its length. */
int kx__resize_json(char *out, size_t n, unsigned cols, unsigned rows);

#endif
