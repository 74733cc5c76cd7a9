/* The Kubernetes channel protocol's constants and small codecs, shared by
 * exec over WebSocket (channel bytes) and over SPDY (resize JSON). */
#ifndef KX_WSCHANNEL_H
#define KX_WSCHANNEL_H

#include <stddef.h>

enum {
	KX_CH_STDIN = 0,
	KX_CH_STDOUT = 1,
	KX_CH_STDERR = 2,
	KX_CH_ERROR = 3,
	KX_CH_RESIZE = 4,
	KX_CH_CLOSE = 255, /* v5: [255, ch] half-closes channel ch */
};

/* {"Width":C,"Height":R} as client-go writes it; returns its length. */
int kx__resize_json(char *out, size_t n, unsigned cols, unsigned rows);

#endif
