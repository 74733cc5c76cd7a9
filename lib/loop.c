/* The streaming event loop: one lws context per streaming command, its client
 * TLS settings from memory, and dispatch of lws callbacks to struct kx_io. */
#include "loop.h"

#include <errno.h>
#include <openssl/evp.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kx_loop {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	int stopped;
	char *ca, *cert, *key; /* PEM copies lws reads at vhost creation; key zeroed */
	size_t key_len;
};

static int dispatch(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct kx_io *io = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	(void)user;
	if (!io || !io->fn)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	return io->fn(io, wsi, reason, in, len);
}

/* lws binds a client's WebSocket to the vhost protocol named like the
 * subprotocol the server chose, so each one we offer has an entry. Receive
 * buffers are large: lws also sizes SO_SNDBUF from them. */
#define KX_RX_BUF (256 * 1024)
static const struct lws_protocols protocols[] = {
	{"kx-raw", dispatch, 0, KX_RX_BUF, 0, NULL, 0},
	{"v5.channel.k8s.io", dispatch, 0, KX_RX_BUF, 0, NULL, 0},
	{"v4.channel.k8s.io", dispatch, 0, KX_RX_BUF, 0, NULL, 0},
	{"SPDY/3.1+portforward.k8s.io", dispatch, 0, KX_RX_BUF, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static void quiet_log(int level, const char *line)
{
	(void)level;
	(void)line; /* lib never prints: lws's own log lines are dropped */
}

static char *pem_copy(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

kx_err kx__loop_new(const struct kx__conn_info *ci, struct kx_loop **out, struct kx_errbuf *eb)
{
	*out = NULL;
	struct kx_loop *l = calloc(1, sizeof *l);
	if (!l)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	lws_set_log_level(getenv("KX_LWS_DEBUG") ? (LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO | LLL_CLIENT) : 0, getenv("KX_LWS_DEBUG") ? NULL : quiet_log);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.user = l;
	info.pt_serv_buf_size = KX_RX_BUF;
	const struct kx_rest_config *rc = ci->rc;
	if (rc->ca_pem) {
		if (!(l->ca = pem_copy(rc->ca_pem, rc->ca_len)))
			goto nomem;
		info.client_ssl_ca_mem = l->ca;
		info.client_ssl_ca_mem_len = (unsigned int)rc->ca_len;
	}
	if (ci->creds.cert_pem && ci->creds.key_pem) {
		if (!(l->cert = pem_copy(ci->creds.cert_pem, ci->creds.cert_len)) ||
		    !(l->key = pem_copy(ci->creds.key_pem, ci->creds.key_len)))
			goto nomem;
		l->key_len = ci->creds.key_len;
		info.client_ssl_cert_mem = l->cert;
		info.client_ssl_cert_mem_len = (unsigned int)ci->creds.cert_len;
		info.client_ssl_key_mem = l->key;
		info.client_ssl_key_mem_len = (unsigned int)ci->creds.key_len;
	}
	if (!(l->ctx = lws_create_context(&info))) {
		kx__loop_free(l);
		return kx__fail(eb, KX_ERR_TLS, "could not set up the TLS client (bad certificate or key?)");
	}
	l->vh = lws_get_vhost_by_name(l->ctx, "default");
	*out = l;
	return KX_OK;
nomem:
	kx__loop_free(l);
	return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
}

void kx__loop_free(struct kx_loop *l)
{
	if (!l)
		return;
	if (l->ctx)
		lws_context_destroy(l->ctx);
	free(l->ca);
	free(l->cert);
	if (l->key)
		kx__memzero(l->key, l->key_len);
	free(l->key);
	free(l);
}

struct lws_context *kx__loop_context(struct kx_loop *l)
{
	return l->ctx;
}

int kx__auth_header(const struct kx__conn_info *ci, char *out, size_t n)
{
	if (ci->creds.bearer) {
		snprintf(out, n, "Bearer %s", ci->creds.bearer);
		return 1;
	}
	if (ci->creds.username) {
		char plain[1024];
		int m = snprintf(plain, sizeof plain, "%s:%s", ci->creds.username,
				 ci->creds.password ? ci->creds.password : "");
		if (m < 0 || (size_t)m >= sizeof plain || n < 7 + 4 * ((size_t)m + 2) / 3 + 1) {
			kx__memzero(plain, sizeof plain);
			return 0;
		}
		memcpy(out, "Basic ", 6);
		EVP_EncodeBlock((unsigned char *)out + 6, (unsigned char *)plain, m);
		kx__memzero(plain, sizeof plain);
		return 1;
	}
	return 0;
}

static int ssl_flags(const struct kx__conn_info *ci)
{
	if (!ci->tls)
		return 0;
	int f = LCCSCF_USE_SSL;
	if (ci->rc->insecure_skip_tls_verify)
		f |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
		     LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
	return f;
}

/* Keepalive like client-go: a PING after 5 s without traffic; the connection is
 * given up after 60 s without any valid frame (PONGs count). */
static const lws_retry_bo_t keepalive = {
	.secs_since_valid_ping = 5,
	.secs_since_valid_hangup = 60,
};

kx_err kx__loop_ws_connect(struct kx_loop *l, const struct kx__conn_info *ci, const char *path,
			   const char *protocols_offered, struct kx_io *io, struct kx_errbuf *eb)
{
	struct lws_client_connect_info i;
	memset(&i, 0, sizeof i);
	i.context = l->ctx;
	i.vhost = l->vh;
	i.address = ci->host;
	i.port = ci->port;
	i.ssl_connection = ssl_flags(ci);
	i.path = path;
	i.host = ci->tls_name;
	i.origin = NULL;
	i.protocol = protocols_offered;
	i.local_protocol_name = "kx-raw";
	i.alpn = "http/1.1";
	i.opaque_user_data = io;
	i.retry_and_idle_policy = &keepalive;
	io->loop = l;
	io->wsi = NULL;
	if (!lws_client_connect_via_info(&i))
		return kx__fail(eb, KX_ERR_CONNECT, "could not start a WebSocket connection to %s",
				ci->host_header);
	return KX_OK;
}

kx_err kx__loop_adopt_fd(struct kx_loop *l, int fd, struct kx_io *io, struct kx_errbuf *eb)
{
	lws_sock_file_fd_type u;
	u.filefd = fd;
	io->loop = l;
	struct lws *wsi = lws_adopt_descriptor_vhost(l->vh, LWS_ADOPT_RAW_FILE_DESC, u, "kx-raw", NULL);
	if (!wsi)
		return kx__fail(eb, KX_ERR_IO, "could not watch file descriptor %d", fd);
	io->wsi = wsi;
	lws_set_opaque_user_data(wsi, io);
	return KX_OK;
}

kx_err kx__loop_signals(struct kx_loop *l, const sigset_t *set, sigset_t *old_mask,
			struct kx_io *io, struct kx_errbuf *eb)
{
	sigprocmask(SIG_BLOCK, set, old_mask);
	int sfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		return kx__fail(eb, KX_ERR_IO, "signalfd: %s", strerror(errno));
	kx_err err = kx__loop_adopt_fd(l, sfd, io, eb);
	if (err)
		close(sfd);
	return err;
}

void kx__loop_run(struct kx_loop *l)
{
	while (!l->stopped)
		if (lws_service(l->ctx, 0) < 0)
			break;
}

void kx__loop_stop(struct kx_loop *l)
{
	if (!l || l->stopped)
		return;
	l->stopped = 1;
	lws_cancel_service(l->ctx);
}

int kx__loop_stopped(const struct kx_loop *l)
{
	return l->stopped;
}

static void timer_fire(lws_sorted_usec_list_t *sul)
{
	struct kx_timer *t = (struct kx_timer *)sul;
	t->fn(t->ud);
}

void kx__timer_arm(struct kx_loop *l, struct kx_timer *t, long ms)
{
	lws_sul_schedule(l->ctx, 0, &t->sul, timer_fire, (lws_usec_t)ms * LWS_US_PER_MS);
}

void kx__timer_cancel(struct kx_timer *t)
{
	lws_sul_cancel(&t->sul);
}
