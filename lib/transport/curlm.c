/* SPDX-License-Identifier: Apache-2.0 */
/* A libcurl multi handle driven by the streaming loop (see curlm.h). */
#include "curlm.h"

#include <stdlib.h>

#define CM_MAX_SOCKETS 4 /* happy eyeballs (v4 + v6) and a proxy */

struct kx__curlm;

/* A socket libcurl asked us to watch. */
struct cm_sock {
	struct kx_io io;
	struct kx__curlm *m;
	curl_socket_t fd;
	int active, want_out;
};

struct kx__curlm {
	struct kx_loop *loop;
	CURLM *multi;
	CURL *h;
	kx__curlm_done_fn done;
	void *ud;
	struct cm_sock socks[CM_MAX_SOCKETS];
	struct kx_timer timer;
	int busy, free_pending, finished;
};

static void really_free(struct kx__curlm *m);

static void sock_forget(struct cm_sock *s)
{
	if (!s->active)
		return;
	kx__io_detach(&s->io);
	s->active = 0;
}

static void forget_all(struct kx__curlm *m)
{
	for (int i = 0; i < CM_MAX_SOCKETS; i++)
		sock_forget(&m->socks[i]);
	kx__timer_cancel(&m->timer);
}

static void check_done(struct kx__curlm *m)
{
	CURLMsg *msg;
	int left;
	while (!m->finished && !m->free_pending && (msg = curl_multi_info_read(m->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		m->finished = 1;
		/* A finished transfer's sockets are no longer libcurl's business (a
		 * CONNECT_ONLY socket becomes the caller's to watch). */
		forget_all(m);
		m->done(m->ud, msg->data.result);
	}
}

static void action(struct kx__curlm *m, curl_socket_t fd, int events)
{
	int running;
	m->busy++;
	curl_multi_socket_action(m->multi, fd, events, &running);
	check_done(m);
	if (--m->busy == 0 && m->free_pending)
		really_free(m);
}

static void sock_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct cm_sock *s = io->owner;
	struct kx__curlm *m = s->m;
	if (ev == KX_IO_CLOSED)
		return;
	curl_socket_t fd = s->fd;
	m->busy++;
	action(m, fd, ev == KX_IO_READABLE ? CURL_CSELECT_IN : CURL_CSELECT_OUT);
	/* libcurl's "tell me when writable" lasts until it says otherwise. */
	if (ev == KX_IO_WRITABLE && s->active && s->fd == fd && s->want_out && !m->free_pending)
		kx__io_want_write(&s->io);
	if (--m->busy == 0 && m->free_pending)
		really_free(m);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
	struct kx__curlm *m = ud;
	struct cm_sock *s = sockp;
	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_forget(s);
		curl_multi_assign(m->multi, fd, NULL);
		return 0;
	}
	if (!s || !s->active) {
		s = NULL;
		for (int i = 0; i < CM_MAX_SOCKETS && !s; i++)
			if (!m->socks[i].active)
				s = &m->socks[i];
		struct kx_errbuf eb = {0};
		if (!s)
			return -1;
		*s = (struct cm_sock){.io = {.fn = sock_cb, .owner = s}, .m = m, .fd = fd};
		if (kx__loop_watch_fd(m->loop, fd, &s->io, &eb))
			return -1;
		s->active = 1;
		curl_multi_assign(m->multi, fd, s);
	}
	kx__io_read(&s->io, !!(what & CURL_POLL_IN));
	s->want_out = !!(what & CURL_POLL_OUT);
	if (s->want_out)
		kx__io_want_write(&s->io);
	return 0;
}

static void timer_fire(void *ud)
{
	action(ud, CURL_SOCKET_TIMEOUT, 0);
}

static int on_timer(CURLM *multi, long ms, void *ud)
{
	struct kx__curlm *m = ud;
	(void)multi;
	if (ms < 0)
		kx__timer_cancel(&m->timer);
	else
		kx__timer_arm(m->loop, &m->timer, ms);
	return 0;
}

kx_err kx__curlm_start(struct kx_loop *l, CURL *h, kx__curlm_done_fn done, void *ud,
		       struct kx__curlm **out, struct kx_errbuf *eb)
{
	*out = NULL;
	struct kx__curlm *m = calloc(1, sizeof *m);
	if (!m || !(m->multi = curl_multi_init())) {
		free(m);
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	}
	m->loop = l;
	m->done = done;
	m->ud = ud;
	m->timer = (struct kx_timer){.fn = timer_fire, .ud = m};
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	if (curl_multi_add_handle(m->multi, h) != CURLM_OK) {
		really_free(m);
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	}
	m->h = h;
	*out = m;
	return KX_OK;
}

void kx__curlm_free(struct kx__curlm *m)
{
	if (!m)
		return;
	/* The easy handle leaves now (the caller may clean it up next); the multi
	 * itself goes once our own frames have unwound. */
	forget_all(m);
	if (m->h)
		curl_multi_remove_handle(m->multi, m->h);
	m->h = NULL;
	if (m->busy) {
		m->free_pending = 1;
		return;
	}
	really_free(m);
}

static void really_free(struct kx__curlm *m)
{
	forget_all(m);
	if (m->h)
		curl_multi_remove_handle(m->multi, m->h);
	curl_multi_cleanup(m->multi);
	free(m);
}
