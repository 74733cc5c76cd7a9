/* TCP + OpenSSL client connection in the lws loop (see tlsconn.h). State:
 * CONNECTING (non-blocking connect) -> HANDSHAKE (SSL_connect) -> OPEN -> CLOSED. */
#include "tlsconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum state { T_CONNECTING, T_PROXY, T_HANDSHAKE, T_OPEN, T_CLOSED };

struct kx_tlsconn {
	struct kx_io io;
	struct kx_tlsconn_callbacks cb;
	void *ud;
	int fd;
	enum state state;
	SSL_CTX *ctx;
	SSL *ssl;                 /* NULL for plain http */
	char host[300];
	int want_write;
	struct kx_errbuf eb;
	struct kx__proxy proxy;
	char target[300];         /* "host:port" for CONNECT */
	char proxy_resp[4096];
	size_t proxy_len;
};

static void closed(struct kx_tlsconn *t, kx_err err)
{
	if (t->state == T_CLOSED)
		return;
	t->state = T_CLOSED;
	if (t->cb.on_closed)
		t->cb.on_closed(t->ud, err, &t->eb);
}

static kx_err ssl_fail(struct kx_tlsconn *t, const char *what)
{
	char buf[256] = "";
	unsigned long e = ERR_get_error();
	long vr = t->ssl ? SSL_get_verify_result(t->ssl) : X509_V_OK;
	if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		/* The peer closed without close_notify (killed, or a proxy cut it): a
		 * lost connection, not a TLS failure. The protocols on top (SPDY,
		 * WebSocket, Status) notice truncation themselves. */
		ERR_clear_error();
		return kx__fail(&t->eb, KX_ERR_CLOSED, "the connection to %s was closed", t->host);
	}
	if (vr != X509_V_OK && vr != X509_V_ERR_UNSPECIFIED)
		snprintf(buf, sizeof buf, "failed to verify certificate: %s",
			 kx__x509_words(vr));
	else if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	else
		snprintf(buf, sizeof buf, "%s", errno ? strerror(errno) : "connection closed");
	ERR_clear_error();
	(void)what;
	return kx__fail(&t->eb, KX_ERR_TLS, "tls: %s", buf);
}

static void update_events(struct kx_tlsconn *t, int want_write)
{
	if (want_write && t->io.wsi)
		lws_callback_on_writable(t->io.wsi);
}

static void step_handshake(struct kx_tlsconn *t)
{
	int r = SSL_connect(t->ssl);
	if (r == 1) {
		t->state = T_OPEN;
		if (t->cb.on_connected)
			t->cb.on_connected(t->ud);
		return;
	}
	int e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return;
	if (e == SSL_ERROR_WANT_WRITE) {
		update_events(t, 1);
		return;
	}
	closed(t, ssl_fail(t, "handshake with"));
}

/* TCP (and any proxy tunnel) is up: TLS next, or open for plain http. */
static void transport_ready(struct kx_tlsconn *t)
{
	if (!t->ssl) {
		t->state = T_OPEN;
		if (t->cb.on_connected)
			t->cb.on_connected(t->ud);
		return;
	}
	t->state = T_HANDSHAKE;
	step_handshake(t);
}

static void connect_done(struct kx_tlsconn *t)
{
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr) {
		kx_err err = soerr == ECONNREFUSED ? KX_ERR_REFUSED : KX_ERR_CONNECT;
		if (t->proxy.use)
			closed(t, kx__fail(&t->eb, err, "proxyconnect tcp %s:%d: connect: %s", t->proxy.host,
					   t->proxy.port, strerror(soerr)));
		else
			closed(t, kx__fail(&t->eb, err, "dial tcp %s: connect: %s", t->host, strerror(soerr)));
		return;
	}
	if (!t->proxy.use) {
		transport_ready(t);
		return;
	}
	/* An HTTP proxy: ask it for a tunnel first. */
	char req[1024], auth[400] = "";
	if (t->proxy.userinfo[0]) {
		char b64[360];
		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)t->proxy.userinfo,
				(int)KX_MIN(strlen(t->proxy.userinfo), (size_t)255));
		snprintf(auth, sizeof auth, "Proxy-Authorization: Basic %s\r\n", b64);
		kx__memzero(b64, sizeof b64);
	}
	int n = snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", t->target,
			 t->target, auth);
	kx__memzero(auth, sizeof auth);
	ssize_t w = send(t->fd, req, (size_t)n, MSG_NOSIGNAL);
	kx__memzero(req, sizeof req);
	if (w != n) {
		closed(t, kx__fail(&t->eb, KX_ERR_CONNECT, "proxy %s:%d: sending CONNECT failed", t->proxy.host,
				   t->proxy.port));
		return;
	}
	t->state = T_PROXY;
}

/* The proxy's answer to CONNECT: read up to the end of its head, byte by byte
 * so no tunnelled byte is taken. */
static void proxy_read(struct kx_tlsconn *t)
{
	while (t->proxy_len < sizeof t->proxy_resp - 1) {
		ssize_t r = recv(t->fd, t->proxy_resp + t->proxy_len, 1, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			closed(t, kx__fail(&t->eb, KX_ERR_CONNECT, "proxy %s:%d closed the connection",
					   t->proxy.host, t->proxy.port));
			return;
		}
		t->proxy_len++;
		t->proxy_resp[t->proxy_len] = '\0';
		if (t->proxy_len >= 4 && !strcmp(t->proxy_resp + t->proxy_len - 4, "\r\n\r\n")) {
			int code = 0;
			if (sscanf(t->proxy_resp, "HTTP/1.%*d %d", &code) != 1 || code != 200) {
				closed(t, kx__fail(&t->eb, KX_ERR_CONNECT, "proxy %s:%d refused the tunnel: %.*s",
						   t->proxy.host, t->proxy.port,
						   (int)strcspn(t->proxy_resp, "\r\n"), t->proxy_resp));
				return;
			}
			transport_ready(t);
			return;
		}
	}
	closed(t, kx__fail(&t->eb, KX_ERR_PROTOCOL, "proxy %s:%d: answer too long", t->proxy.host,
			   t->proxy.port));
}

static void do_read(struct kx_tlsconn *t)
{
	char buf[65536];
	for (int rounds = 0; rounds < 16 && t->state == T_OPEN; rounds++) {
		ssize_t n;
		if (t->ssl) {
			int r = SSL_read(t->ssl, buf, sizeof buf);
			if (r <= 0) {
				int e = SSL_get_error(t->ssl, r);
				if (e == SSL_ERROR_WANT_READ)
					return;
				if (e == SSL_ERROR_WANT_WRITE) {
					update_events(t, 1);
					return;
				}
				if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !ERR_peek_error()))
					closed(t, KX_OK);
				else
					closed(t, ssl_fail(t, "reading from"));
				return;
			}
			n = r;
		} else {
			n = recv(t->fd, buf, sizeof buf, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n < 0) {
				closed(t, kx__fail(&t->eb, KX_ERR_CLOSED, "reading from %s: %s", t->host,
						   strerror(errno)));
				return;
			}
			if (n == 0) {
				closed(t, KX_OK);
				return;
			}
		}
		if (t->cb.on_data)
			t->cb.on_data(t->ud, buf, (size_t)n);
		/* TLS may hold decrypted bytes that poll() will not announce. */
		if (!t->ssl || !SSL_pending(t->ssl))
			return;
	}
}

static int io_cb(struct kx_io *io, struct lws *wsi, enum lws_callback_reasons reason, void *in,
		 size_t len)
{
	struct kx_tlsconn *t = io->owner;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (t->state == T_CONNECTING)
			connect_done(t);
		else if (t->state == T_PROXY)
			proxy_read(t);
		else if (t->state == T_HANDSHAKE)
			step_handshake(t);
		else if (t->state == T_OPEN)
			do_read(t);
		break;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (t->state == T_CONNECTING)
			connect_done(t);
		else if (t->state == T_HANDSHAKE)
			step_handshake(t);
		else if (t->state == T_OPEN && t->want_write) {
			t->want_write = 0;
			if (t->cb.on_writable)
				t->cb.on_writable(t->ud);
		}
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		io->wsi = NULL;
		t->fd = -1; /* lws closed it */
		closed(t, kx__fail(&t->eb, KX_ERR_CLOSED, "connection to %s closed", t->host));
		break;
	default:
		break;
	}
	(void)wsi;
	return 0;
}

static kx_err setup_tls(struct kx_tlsconn *t, const struct kx__conn_info *ci, struct kx_errbuf *eb)
{
	const struct kx_rest_config *rc = ci->rc;
	if (!(t->ctx = SSL_CTX_new(TLS_client_method())))
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (rc->insecure_skip_tls_verify) {
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
		if (rc->ca_pem) {
			X509_STORE *store = SSL_CTX_get_cert_store(t->ctx);
			BIO *bio = BIO_new_mem_buf(rc->ca_pem, (int)rc->ca_len);
			X509 *x;
			int n = 0;
			while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
				X509_STORE_add_cert(store, x);
				X509_free(x);
				n++;
			}
			BIO_free(bio);
			ERR_clear_error();
			if (!n)
				return kx__fail(eb, KX_ERR_TLS, "tls: the certificate authority data holds no certificate");
		} else {
			SSL_CTX_set_default_verify_paths(t->ctx);
		}
	}
	if (ci->creds.cert_pem && ci->creds.key_pem) {
		BIO *cb = BIO_new_mem_buf(ci->creds.cert_pem, (int)ci->creds.cert_len);
		BIO *kb = BIO_new_mem_buf(ci->creds.key_pem, (int)ci->creds.key_len);
		X509 *cert = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
		EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
		int ok = cert && key && SSL_CTX_use_certificate(t->ctx, cert) == 1 &&
			 SSL_CTX_use_PrivateKey(t->ctx, key) == 1;
		/* Intermediates after the leaf. */
		X509 *extra;
		while (ok && cb && (extra = PEM_read_bio_X509(cb, NULL, NULL, NULL)))
			if (SSL_CTX_add_extra_chain_cert(t->ctx, extra) != 1)
				X509_free(extra);
		X509_free(cert);
		EVP_PKEY_free(key);
		BIO_free(cb);
		BIO_free(kb);
		ERR_clear_error();
		if (!ok)
			return kx__fail(eb, KX_ERR_TLS, "tls: the client certificate or key could not be loaded");
	}
	if (!(t->ssl = SSL_new(t->ctx)))
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_set_alpn_protos(t->ssl, alpn, sizeof alpn - 1);
	struct in6_addr a6;
	struct in_addr a4;
	int is_ip = inet_pton(AF_INET, ci->tls_name, &a4) == 1 || inet_pton(AF_INET6, ci->tls_name, &a6) == 1;
	if (!is_ip)
		SSL_set_tlsext_host_name(t->ssl, ci->tls_name);
	if (!rc->insecure_skip_tls_verify) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
		if (is_ip ? !X509_VERIFY_PARAM_set1_ip_asc(vp, ci->tls_name)
			  : !X509_VERIFY_PARAM_set1_host(vp, ci->tls_name, 0))
			return kx__fail(eb, KX_ERR_TLS, "tls: bad server name %s", ci->tls_name);
	}
	SSL_set_fd(t->ssl, t->fd);
	return KX_OK;
}

kx_err kx__tlsconn_open(struct kx_loop *l, const struct kx__conn_info *ci,
			const struct kx_tlsconn_callbacks *cb, void *ud, struct kx_tlsconn **out,
			struct kx_errbuf *eb)
{
	*out = NULL;
	struct kx_tlsconn *t = calloc(1, sizeof *t);
	if (!t)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	t->cb = *cb;
	t->ud = ud;
	t->fd = -1;
	snprintf(t->host, sizeof t->host, "%s", ci->host_header);
	snprintf(t->target, sizeof t->target, "%s", ci->host_header);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	kx_err err = kx__proxy_for(ci->rc->proxy_url, ci->tls, ci->host, &t->proxy, eb);
	if (err)
		goto fail;
	const char *dial = t->proxy.use ? t->proxy.host : ci->host;
	char port[16];
	snprintf(port, sizeof port, "%d", t->proxy.use ? t->proxy.port : ci->port);
	int gai = getaddrinfo(dial, port, &hints, &res);
	if (gai) {
		err = kx__fail(eb, KX_ERR_CONNECT, "dial tcp: lookup %s: %s", dial, gai_strerror(gai));
		goto fail;
	}
	t->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		err = kx__fail(eb, KX_ERR_CONNECT, "socket: %s", strerror(errno));
		goto fail;
	}
	int one = 1;
	setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(t->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	if (connect(t->fd, res->ai_addr, res->ai_addrlen) && errno != EINPROGRESS) {
		err = kx__fail(eb, errno == ECONNREFUSED ? KX_ERR_REFUSED : KX_ERR_CONNECT,
			       "dial tcp %s: connect: %s", dial, strerror(errno));
		goto fail;
	}
	if (ci->tls && (err = setup_tls(t, ci, eb)))
		goto fail;
	t->io = (struct kx_io){.fn = io_cb, .owner = t};
	if ((err = kx__loop_adopt_fd(l, t->fd, &t->io, eb)))
		goto fail;
	freeaddrinfo(res);
	lws_callback_on_writable(t->io.wsi); /* connect completes as "writable" */
	*out = t;
	return KX_OK;
fail:
	if (res)
		freeaddrinfo(res);
	kx__tlsconn_free(t);
	return err;
}

long kx__tlsconn_write(struct kx_tlsconn *t, const void *data, size_t len)
{
	if (t->state != T_OPEN)
		return t->state == T_CLOSED ? -1 : 0;
	if (!len)
		return 0;
	if (t->ssl) {
		int r = SSL_write(t->ssl, data, (int)KX_MIN(len, (size_t)1 << 30));
		if (r > 0)
			return r;
		int e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
			return 0;
		ssl_fail(t, "writing to");
		return -1;
	}
	ssize_t n = send(t->fd, data, len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0) {
		kx__fail(&t->eb, KX_ERR_CLOSED, "writing to %s: %s", t->host, strerror(errno));
		return -1;
	}
	return n;
}

void kx__tlsconn_want_write(struct kx_tlsconn *t)
{
	t->want_write = 1;
	if (t->io.wsi)
		lws_callback_on_writable(t->io.wsi);
}

void kx__tlsconn_pause_read(struct kx_tlsconn *t, int paused)
{
	if (t->io.wsi)
		lws_rx_flow_control(t->io.wsi, !paused);
}

void kx__tlsconn_free(struct kx_tlsconn *t)
{
	if (!t)
		return;
	if (t->io.wsi) {
		/* The loop owns the fd now: detach our callbacks and let lws close it. */
		lws_set_opaque_user_data(t->io.wsi, NULL);
		lws_set_timeout(t->io.wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
		t->fd = -1;
	}
	kx__memzero(&t->proxy, sizeof t->proxy);
	if (t->ssl)
		SSL_free(t->ssl);
	if (t->ctx)
		SSL_CTX_free(t->ctx);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

void kx__tlsconn_keepalive(struct kx_tlsconn *t, long ms)
{
	int secs = ms < 1000 ? 1 : (int)(ms / 1000);
	setsockopt(t->fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof secs);
	setsockopt(t->fd, IPPROTO_TCP, TCP_KEEPINTVL, &secs, sizeof secs);
}
