/* SPDX-License-Identifier: Apache-2.0 */
/* apiproxy.c internals for tests and fuzzing: the request side of one client
 * connection without sockets (no upstream is opened; bytes meant for the
 * client or the API server are only counted). */
#ifndef KX_APIPROXY_INTERNAL_H
#define KX_APIPROXY_INTERNAL_H

#include <kx/apiproxy.h>

#include <kx/buf.h>

/* Feed data, split at split, to a fresh connection of a proxy set up with
 * opts (filters compiled as kx_apiproxy_run would; the server is
 * "api.test:6443", no credentials). Every request gets an empty answer so the
 * next is parsed. Returns KX_OK or the setup's error; what was queued for the
 * client and for the server is appended to the caller's buffers. */
kx_err kx__apiproxy_feed_once(const struct kx_apiproxy_opts *opts, const char *data, size_t len,
			      size_t split, struct kx_buf *to_client, struct kx_buf *to_upstream,
			      struct kx_errbuf *eb);

/* Go's path.Clean, keeping a trailing slash (as net/http's ServeMux does) into
 * out (n bytes). */
void kx__apiproxy_clean_path(const char *p, char *out, size_t n);

#endif
