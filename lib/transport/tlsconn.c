/* SPDX-License-Identifier: Apache-2.0 */
/* A client byte connection to the API server in the streaming loop (see
 * tlsconn.h): libcurl connects it — TCP, any proxy, TLS, all configured by
 * curlconn.c — driven by the loop through a multi handle (CURLOPT_CONNECT_ONLY);
 * then the loop watches the connected socket and bytes go through
 * curl_easy_recv/curl_easy_send. States: CONNECTING -> OPEN -> CLOSED. */
#include "tlsconn.h"
#include "curlconn.h"
#include "curlm.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum state { T_CONNECTING, T_OPEN, T_CLOSED };

#define TLS_APP_CHUNK (64 * 1024)         /* one curl_easy_recv */
#define TLS_READ_BUDGET (4 * 1024 * 1024) /* per wakeup, for fairness */
#define TLS_RECORD_MAX 16384              /* a full TLS record's plaintext */
struct kx_tlsconn {
	struct kx_io io;          /* the connected socket (libcurl's: borrowed) */
	struct kx_tlsconn_callbacks cb;
	void *ud;
	struct kx_loop *loop;
	struct kx__curlm *cm;     /* while connecting (and to close: it holds the connection) */
	CURL *h;
	struct curl_slist *connect_to;
	char *key;                /* our copy of the client key: libcurl reads it without copying */
	size_t key_len;
	curl_socket_t fd;
	enum state state;
	char host[300];
	int want_write;
	int paused;               /* the owner stopped reading (backpressure) */
	int busy;                 /* inside our own callbacks: a free waits */
	int free_pending;
	/* A short read with nothing held below ends a wakeup (see do_read): the
	 * connection's SSL (set by curlconn.c's handshake hook), or NULL for plain
	 * TCP; stacked: an https proxy's TLS lies below, whose buffered bytes
	 * this cannot see. */
	void *ssl;
	int tls, stacked;
	struct kx_task more;      /* read again next turn (budget spent) */
	char errbuf[CURL_ERROR_SIZE];
	struct kx_errbuf eb;
};

static void really_free(struct kx_tlsconn *t);
static void io_cb(struct kx_io *io, enum kx_io_event ev);
static void read_more(void *ud);

static void closed(struct kx_tlsconn *t, kx_err err)
{
	if (t->state == T_CLOSED)
		return;
	t->state = T_CLOSED;
	if (t->io.h)
		kx__io_detach(&t->io);
	if (t->cb.on_closed)
		t->cb.on_closed(t->ud, err, &t->eb);
}

/* ---- connecting: libcurl in the loop (curlm.c) ---- */

static void connect_done(void *ud, CURLcode rc)
{
	struct kx_tlsconn *t = ud;
	if (rc != CURLE_OK) {
		closed(t, kx__curl_error(t->h, rc, t->errbuf, t->host, &t->eb));
		return;
	}
	curl_socket_t fd = CURL_SOCKET_BAD;
	curl_easy_getinfo(t->h, CURLINFO_ACTIVESOCKET, &fd);
	struct kx_errbuf eb2 = {0};
	if (fd == CURL_SOCKET_BAD || kx__loop_watch_fd(t->loop, fd, &t->io, &eb2)) {
		closed(t, kx__fail(&t->eb, KX_ERR_CONNECT, "connection to %s: no socket", t->host));
		return;
	}
	t->fd = fd;
	t->state = T_OPEN;
	if (t->paused)
		kx__io_read(&t->io, 0);
	if (t->want_write)
		kx__io_want_write(&t->io);
	/* Bytes the handshake read ahead wake no poll(): look once. */
	kx__loop_defer(t->loop, &t->more);
	if (t->cb.on_connected)
		t->cb.on_connected(t->ud);
}

/* ---- open ---- */

/* "host" or "[v6]" */
static void url_host(char *out, size_t n, const char *h)
{
	snprintf(out, n, strchr(h, ':') ? "[%s]" : "%s", h);
}

static kx_err setup(struct kx_tlsconn *t, const struct kx__conn_info *ci, struct kx_errbuf *eb)
{
	char name[300], real[300], url[700], ct[700];
	url_host(name, sizeof name, ci->tls_name);
	url_host(real, sizeof real, ci->host);
	if (!(t->h = curl_easy_init()))
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	/* --tls-server-name: the URL names the TLS name (SNI and verification) and
	 * CONNECT_TO sends the connection to the real address, as REST calls do. */
	snprintf(url, sizeof url, "%s://%s:%d/", ci->tls ? "https" : "http", name, ci->port);
	if (strcmp(ci->tls_name, ci->host)) {
		snprintf(ct, sizeof ct, "%s:%d:%s:%d", name, ci->port, real, ci->port);
		if (!(t->connect_to = curl_slist_append(NULL, ct)))
			return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	}
	struct kx_creds cr = ci->creds;
	if (cr.key_pem) {
		if (!(t->key = malloc(cr.key_len + 1)))
			return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
		memcpy(t->key, cr.key_pem, cr.key_len);
		t->key[cr.key_len] = '\0';
		t->key_len = cr.key_len;
		cr.key_pem = t->key;
	}
	curl_easy_setopt(t->h, CURLOPT_URL, url);
	curl_easy_setopt(t->h, CURLOPT_PROTOCOLS_STR, "https,http");
	kx__curl_apply(t->h, ci->rc, &cr, t->connect_to, ci->share, t->errbuf);
	if (ci->keepalive_ms > 0) { /* set before the socket exists: no window with the default */
		long secs = ci->keepalive_ms < 1000 ? 1 : ci->keepalive_ms / 1000;
		curl_easy_setopt(t->h, CURLOPT_TCP_KEEPIDLE, secs);
		curl_easy_setopt(t->h, CURLOPT_TCP_KEEPINTVL, secs);
	}
	kx__curl_stream(t->h, &t->ssl);
	return kx__curlm_start(t->loop, t->h, connect_done, t, &t->cm, eb);
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
	t->loop = l;
	t->fd = CURL_SOCKET_BAD;
	t->io = (struct kx_io){.fn = io_cb, .owner = t};
	t->more = (struct kx_task){.fn = read_more, .ud = t};
	snprintf(t->host, sizeof t->host, "%s", ci->host_header);
	t->tls = ci->tls;
	t->stacked = kx__curl_tls_proxy(ci->rc);
	kx_err err = setup(t, ci, eb);
	if (err) {
		really_free(t);
		return err;
	}
	*out = t;
	return KX_OK;
}

/* ---- open: bytes ---- */

/* The bytes just read end what the peer sent in one go, and nothing is held
 * where the loop cannot see it: a record (or plain read) shorter than the
 * most one read gives, and OpenSSL holds no byte of a further record. The
 * loop's epoll is level-triggered, so anything arriving later wakes it; one
 * more read would only return EAGAIN — on a virtual machine a system call
 * costs more than the proxy's own work on a request (docs/benchmarks.md). */
static int burst_ended(const struct kx_tlsconn *t, size_t n)
{
	if (t->stacked)
		return 0;
	if (!t->ssl)
		return !t->tls && n < TLS_APP_CHUNK;
	return n < TLS_RECORD_MAX && !SSL_has_pending(t->ssl);
}

/* Read until the socket (and TLS) would block or the burst ends
 * (burst_ended), the owner pauses or frees the connection, or this wakeup's
 * budget is spent. With TLS read-ahead (curlconn.c) one recv takes many
 * records: few system calls per MiB. */
static void do_read(struct kx_tlsconn *t)
{
	char buf[TLS_APP_CHUNK];
	size_t budget = TLS_READ_BUDGET;
	t->busy++;
	while (t->state == T_OPEN && !t->paused && !t->free_pending && budget) {
		size_t n = 0;
		CURLcode rc = curl_easy_recv(t->h, buf, sizeof buf, &n);
		if (rc == CURLE_AGAIN)
			break;
		if (rc != CURLE_OK) {
			closed(t, kx__curl_error(t->h, rc, t->errbuf, t->host, &t->eb));
			break;
		}
		if (n == 0) {
			closed(t, KX_OK);
			break;
		}
		budget = n >= budget ? 0 : budget - n;
		int ended = burst_ended(t, n);
		if (t->cb.on_data)
			t->cb.on_data(t->ud, buf, n);
		if (ended)
			break;
	}
	int again = !budget && t->state == T_OPEN && !t->paused;
	if (--t->busy == 0 && t->free_pending)
		really_free(t);
	else if (again)
		kx__loop_defer(t->loop, &t->more); /* TLS may hold bytes poll() will not announce */
}

static void read_more(void *ud)
{
	do_read(ud);
}

static void io_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct kx_tlsconn *t = io->owner;
	switch (ev) {
	case KX_IO_READABLE:
		do_read(t);
		break;
	case KX_IO_WRITABLE:
		if (t->state == T_OPEN && t->want_write) {
			t->want_write = 0;
			if (t->cb.on_writable)
				t->cb.on_writable(t->ud);
		}
		break;
	case KX_IO_CLOSED:
		closed(t, kx__fail(&t->eb, KX_ERR_CLOSED, "connection to %s closed", t->host));
		break;
	}
}

long kx__tlsconn_write(struct kx_tlsconn *t, const void *data, size_t len)
{
	if (t->state != T_OPEN)
		return t->state == T_CLOSED ? -1 : 0;
	if (!len)
		return 0;
	size_t n = 0;
	CURLcode rc = curl_easy_send(t->h, data, len, &n);
	if (rc == CURLE_AGAIN)
		return 0;
	if (rc != CURLE_OK) {
		kx__curl_error(t->h, rc, t->errbuf, t->host, &t->eb);
		return -1;
	}
	return (long)n;
}

void kx__tlsconn_want_write(struct kx_tlsconn *t)
{
	t->want_write = 1;
	if (t->state == T_OPEN)
		kx__io_want_write(&t->io);
}

void kx__tlsconn_pause_read(struct kx_tlsconn *t, int paused)
{
	t->paused = paused;
	if (t->state == T_OPEN)
		kx__io_read(&t->io, !paused);
	if (!paused && t->state == T_OPEN)
		kx__loop_defer(t->loop, &t->more); /* bytes TLS already holds */
}

void kx__tlsconn_free(struct kx_tlsconn *t)
{
	if (!t)
		return;
	t->state = T_CLOSED;
	if (t->busy) {
		/* Called from one of our own callbacks: finish when they unwind. */
		t->free_pending = 1;
		return;
	}
	really_free(t);
}

static void really_free(struct kx_tlsconn *t)
{
	/* The loop lets go of the sockets before libcurl closes them. */
	if (t->io.h)
		kx__io_detach(&t->io);
	kx__task_cancel(t->loop, &t->more);
	kx__curlm_free(t->cm); /* closes the connection */
	if (t->h)
		curl_easy_cleanup(t->h);
	curl_slist_free_all(t->connect_to);
	if (t->key) {
		kx__memzero(t->key, t->key_len);
		free(t->key);
	}
	free(t);
}
