/* SPDX-License-Identifier: Apache-2.0 */
/* The one way kx reaches the API server: libcurl connects, goes through any
 * proxy (http://, https://, socks5:// — the kubeconfig's proxy-url, else
 * HTTPS_PROXY/HTTP_PROXY/NO_PROXY) and speaks TLS with the resolved kubeconfig
 * (CA file/data, client certificate and key from memory, tls-server-name,
 * insecure). REST calls (client.c) and every streaming connection (tlsconn.c:
 * upgrades, watches, the proxy's upstreams) apply it through these calls, and
 * failures are worded by one function. */
#ifndef KX_CURLCONN_H
#define KX_CURLCONN_H

#include <curl/curl.h>

#include "internal.h"

/* TLS, proxy and connection options of rc and cr on h. connect_to: the
 * CURLOPT_CONNECT_TO list for --tls-server-name, or NULL; share: the client's
 * CURLSH (TLS sessions, DNS) or NULL; errbuf: a
 * CURL_ERROR_SIZE buffer. cr's key is handed over without a copy (it must
 * outlive the handshake). */
void kx__curl_apply(CURL *h, const struct kx_rest_config *rc, const struct kx_creds *cr,
		    struct curl_slist *connect_to, CURLSH *share, char *errbuf);

/* h connects only (CURLOPT_CONNECT_ONLY; its owner reads and writes the
 * socket until it would block) and reads TLS ahead in large buffers. Never for
 * transfers libcurl drives itself: it polls the socket and cannot see bytes
 * OpenSSL has read ahead. ssl_out, when not NULL, receives the connection's
 * OpenSSL SSL (an https proxy's too: the last handshake started) and must
 * outlive the handshake. */
void kx__curl_stream(CURL *h, void **ssl_out);

/* Whether a connection with rc's settings may go through an https:// proxy
 * (the kubeconfig's proxy-url, else one of the environment's proxies): TLS
 * inside TLS. */
int kx__curl_tls_proxy(const struct kx_rest_config *rc);

/* A failed connection or transfer on h, in kubectl's words; host is "host:port". */
kx_err kx__curl_error(CURL *h, CURLcode rc, const char *errbuf, const char *host,
		      struct kx_errbuf *eb);

#endif
