/* SPDX-License-Identifier: Apache-2.0 */
/* The one connection path to the API server through libcurl (curlconn.h). */
#include "curlconn.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Large TLS reads: with read-ahead one recv takes many records, so a stream
 * costs few system calls per MiB (curl's default reads a record at a time). */
#define KX_TLS_READ_AHEAD (32 * 1024) /* larger costs more: OpenSSL moves what is left in it to the front for every record */

/* The SSL_CTX's slot for where its connection's SSL goes (kx__curl_stream). */
static int ssl_slot = -1;

/* A handshake starts: tell the stream's owner which SSL it runs on (libcurl
 * does not say for a CONNECT_ONLY handle once connected). */
static void note_ssl(const SSL *ssl, int where, int ret)
{
	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_START))
		return;
	SSL **out = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ssl_slot);
	if (out)
		*out = (SSL *)ssl;
}

static CURLcode read_ahead(CURL *h, void *ctx, void *ud)
{
	(void)h;
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, KX_TLS_READ_AHEAD);
	/* libcurl asks OpenSSL to free its buffers whenever they are empty: for a
	 * stream that is a free and a malloc of each buffer per read. Keep them. */
	SSL_CTX_clear_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (ud && ssl_slot >= 0 && SSL_CTX_set_ex_data(ctx, ssl_slot, ud))
		SSL_CTX_set_info_callback(ctx, note_ssl);
	return CURLE_OK;
}

void kx__curl_stream(CURL *h, void **ssl_out)
{
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	/* An http:// API server behind an HTTP proxy is tunnelled too (https always is). */
	curl_easy_setopt(h, CURLOPT_HTTPPROXYTUNNEL, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, read_ahead);
	if (ssl_out && ssl_slot < 0) /* one loop thread uses streams */
		ssl_slot = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, ssl_out);
}

void kx__curl_apply(CURL *h, const struct kx_rest_config *rc, const struct kx_creds *cr,
		    struct curl_slist *connect_to, CURLSH *share, char *errbuf)
{
	errbuf[0] = '\0';
	if (share)
		curl_easy_setopt(h, CURLOPT_SHARE, share);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* HTTP/1.1 (ALPN too): upgrades and kx's own framing need it. */
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	/* TLS: verified unless the user said otherwise; material from memory only. */
	if (rc->insecure_skip_tls_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (rc->ca_pem) {
		struct curl_blob b = {(void *)rc->ca_pem, rc->ca_len, CURL_BLOB_COPY};
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
	}
	if (cr->cert_pem && cr->key_pem) {
		struct curl_blob cb = {(void *)cr->cert_pem, cr->cert_len, CURL_BLOB_COPY};
		/* NOCOPY: libcurl frees its copies without zeroing, so the key stays in
		 * the caller's buffer only (wiped at free). */
		struct curl_blob kb = {(void *)cr->key_pem, cr->key_len, CURL_BLOB_NOCOPY};
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (connect_to)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to);
	/* Proxy: the kubeconfig's proxy-url (then, as client-go, NO_PROXY does not
	 * apply), else libcurl's own HTTPS_PROXY/HTTP_PROXY/NO_PROXY. http://,
	 * https:// and socks5:// proxies alike; streams go through a tunnel. */
	if (rc->proxy_url) {
		curl_easy_setopt(h, CURLOPT_PROXY, rc->proxy_url);
		curl_easy_setopt(h, CURLOPT_NOPROXY, "");
	}
	/* An https:// proxy is verified against the system's roots, which Go (and
	 * so kubectl) lets SSL_CERT_FILE / SSL_CERT_DIR replace: kx does the same. */
	const char *f = getenv("SSL_CERT_FILE"), *d = getenv("SSL_CERT_DIR");
	if (f && *f)
		curl_easy_setopt(h, CURLOPT_PROXY_CAINFO, f);
	if (d && *d)
		curl_easy_setopt(h, CURLOPT_PROXY_CAPATH, d);
}

int kx__curl_tls_proxy(const struct kx_rest_config *rc)
{
	if (rc && rc->proxy_url)
		return !strncasecmp(rc->proxy_url, "https:", 6);
	/* libcurl's own choice among these depends on the URL and NO_PROXY: any
	 * of them naming an https proxy counts. */
	static const char *const vars[] = {"https_proxy", "HTTPS_PROXY", "http_proxy", "all_proxy",
					   "ALL_PROXY"};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		const char *v = getenv(vars[i]);
		if (v && !strncasecmp(v, "https:", 6))
			return 1;
	}
	return 0;
}

/* Map a failed transfer to kx_err with a useful message (never credentials). */
kx_err kx__curl_error(CURL *h, CURLcode rc, const char *errbuf, const char *host,
		      struct kx_errbuf *eb)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	long oserr = 0;
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		if (oserr == ECONNREFUSED)
			return kx__fail(eb, KX_ERR_REFUSED, "dial tcp %s: connect: connection refused", host);
		return kx__fail(eb, KX_ERR_CONNECT, "dial tcp %s: %s", host,
				oserr ? strerror((int)oserr) : detail);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return kx__fail(eb, KX_ERR_CONNECT, "dial tcp: lookup %s: %s", host, detail);
	case CURLE_OPERATION_TIMEDOUT:
		return kx__fail(eb, KX_ERR_TIMEOUT, "request to %s timed out: %s", host, detail);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_INVALIDCERTSTATUS: {
		long vr = 0;
		curl_easy_getinfo(h, CURLINFO_SSL_VERIFYRESULT, &vr);
		/* UNSPECIFIED is OpenSSL's value before verification ran (the peer
		 * went away mid-handshake): not a certificate problem. */
		if (vr && vr != X509_V_ERR_UNSPECIFIED)
			return kx__fail(eb, KX_ERR_TLS, "tls: failed to verify certificate: %s",
					kx__x509_words(vr));
		/* The server went away during the handshake (killed, restarting). */
		if (strstr(detail, "reset by peer") || strstr(detail, "SSL_ERROR_SYSCALL") ||
		    strstr(detail, "unexpected eof"))
			return kx__fail(eb, KX_ERR_CLOSED, "connection to %s lost: %s", host, detail);
		return kx__fail(eb, KX_ERR_TLS, "tls: %s", detail);
	}
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return kx__fail(eb, KX_ERR_CLOSED, "connection to %s lost: %s", host, detail);
	default:
		return kx__fail(eb, KX_ERR_CONNECT, "%s", detail);
	}
}

