/* The streaming event loop: one lws context per streaming command, used as a
 * poll loop — adopted descriptors (kx's own TLS connections, listeners, stdin,
 * a signalfd) and timers — with lws callbacks dispatched to struct kx_io. All
 * TLS and WebSocket work is kx's own (tlsconn.c, upconn.c, wsframe.c). */
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

#define KX_RX_BUF (256 * 1024)
static const struct lws_protocols protocols[] = {
	{"kx-raw", dispatch, 0, KX_RX_BUF, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static void quiet_log(int level, const char *line)
{
	(void)level;
	(void)line; /* lib never prints: lws's own log lines are dropped */
}

kx_err kx__loop_new(struct kx_loop **out, struct kx_errbuf *eb)
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
	info.user = l;
	info.pt_serv_buf_size = KX_RX_BUF;
	if (!(l->ctx = lws_create_context(&info))) {
		kx__loop_free(l);
		return kx__fail(eb, KX_ERR_IO, "could not set up the event loop");
	}
	l->vh = lws_get_vhost_by_name(l->ctx, "default");
	*out = l;
	return KX_OK;
}

void kx__loop_free(struct kx_loop *l)
{
	if (!l)
		return;
	if (l->ctx)
		lws_context_destroy(l->ctx);
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
