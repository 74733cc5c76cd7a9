/* A watch (GET …?watch=1) that lives in the streaming loop: kx's own HTTP/1.1
 * client over lib/tlsconn.c, chunked decoding, one JSON event per line. Used
 * where a streaming command must notice changes while it forwards bytes (a
 * port-forward's pod going away). REST calls outside the loop use libcurl. */
#ifndef KX_WATCHCONN_H
#define KX_WATCHCONN_H

#include <kx/json.h>

#include "loop.h"

struct kx_watchconn;

struct kx_watchconn_callbacks {
	/* One event: type "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR". */
	void (*on_event)(void *ud, const char *type, const cJSON *object);
	/* The watch ended: KX_OK when the server closed it normally (timeout), else
	 * why. Nothing follows; free with kx__watchconn_free outside callbacks. */
	void (*on_end)(void *ud, kx_err err, const char *message);
};

/* path is the full request path (path prefix included), with watch=1. */
kx_err kx__watchconn_open(struct kx_loop *l, const struct kx__conn_info *ci, const char *path,
			  const struct kx_watchconn_callbacks *cb, void *ud,
			  struct kx_watchconn **out, struct kx_errbuf *eb);
void kx__watchconn_free(struct kx_watchconn *w);

#endif
