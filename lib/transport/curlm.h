/* SPDX-License-Identifier: Apache-2.0 */
/* One libcurl transfer driven by the streaming loop (loop.h) through the multi
 * interface's socket API: the loop watches the sockets libcurl names and runs
 * its timer; done() reports the end. Used for connections to the API server
 * (tlsconn.c: CURLOPT_CONNECT_ONLY, then the socket) and for in-loop REST
 * calls and watches (client.c), so nothing blocks the loop. */
#ifndef KX_CURLM_H
#define KX_CURLM_H

#include <curl/curl.h>

#include "loop.h"

struct kx__curlm;

/* The transfer ended (rc CURLE_OK or why). It may free the curlm. */
typedef void (*kx__curlm_done_fn)(void *ud, CURLcode rc);

/* Start h (set up, not yet added anywhere) in l. h stays the caller's; the
 * curlm only drives it. */
kx_err kx__curlm_start(struct kx_loop *l, CURL *h, kx__curlm_done_fn done, void *ud,
		       struct kx__curlm **out, struct kx_errbuf *eb);
/* Let go of the sockets (before the caller closes or cleans up h), take h out
 * of the multi (a CONNECT_ONLY connection closes with it) and free. Safe from
 * done(). NULL is fine. */
void kx__curlm_free(struct kx__curlm *m);

#endif
