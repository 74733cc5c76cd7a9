/* SPDX-License-Identifier: Apache-2.0 */
/* kx_port_forward: local listeners, and for each accepted connection an error
 * and a data stream on one SPDY/3.1 session to the pod (protocol
 * portforward.k8s.io) — carried in a WebSocket (SPDY/3.1+portforward.k8s.io,
 * kubectl's default since 1.31) or directly after an HTTP Upgrade, the one
 * falling back to the other as kubectl does (upconn.c) — bytes copied both ways
 * with half-close, bounded buffers and backpressure. One failed connection is
 * reported and closed; the rest and the listeners go on. */
#include <kx/portforward.h>
#include "informer.h"
#include "internal.h"
#include "loop.h"
#include "netaddr.h"
#include "pf_internal.h"
#include "pods_internal.h"
#include "spdy.h"
#include "upconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PF_TO_LOCAL_MAX (1024 * 1024)  /* per connection; above it the session stops reading */
#define PF_READ_CHUNK (64 * 1024)
#define PF_SEND_BATCH (128 * 1024)     /* bytes from the pod sent in one go */
#define PF_PING_MS 5000
#define PF_MAX_LISTENERS 64
#define PF_RECONNECT_TRIES 20
#define PF_REPLAY_MAX (32 * 1024)      /* client bytes kept until the pod's first byte */
#define PF_REPLAY_TRIES 3              /* pods a connection is offered to, at most */

struct kx__pf;

struct pf_listener {
	struct kx_io io;
	struct kx__pf *pf;
	size_t port;               /* its index in opts->ports */
	int local, remote;
	char addr[64];
};

/* One pod and its SPDY session (opened when a connection needs it). Pinned
 * forwards have one, re-pointed at another pod when theirs is lost; balanced
 * forwards one per pod of the target (an endpoint), from the pod watch. */
struct pf_sess {
	struct kx__pf *pf;
	struct pf_sess *next;
	char pod[256];
	char uid[64];
	struct kx__upconn *conn;
	struct kx__spdy *spdy;
	int use_ws;                /* this session: the WebSocket tunnel (else SPDY directly) */
	struct kx_timer fallback;
	struct kx_timer ping;
	unsigned next_request;
	int session_paused;
	int ready;                 /* balanced: a Ready endpoint, takes new connections */
	int gone;                  /* balanced: the pod is deleted; free the record when idle */
	int broken;                /* balanced: the session failed; dropped by the sweep */
	long long backoff_until;   /* balanced: not chosen before (ms) after a failure */
	size_t nconns;             /* connections assigned to it (until freed) */
	int *remotes;              /* per opts->ports: this pod's number of a named port
				      (0: the port's remote; -1: the pod has no such name) */
};

struct pf_conn {
	struct kx_io io;
	struct kx__pf *pf;
	struct pf_sess *s;         /* NULL: waiting for a Ready endpoint (balanced) */
	struct pf_conn *next;
	size_t port;               /* its listener's index in opts->ports */
	int local, remote;
	uint32_t err_id, data_id;
	int data_ready;
	struct kx_buf to_local;    /* from the pod, not yet written to the local socket */
	struct kx_buf err_text;
	int local_eof;             /* the local side finished sending: FIN sent */
	int remote_fin;            /* the pod finished sending */
	int write_shut;
	int paused;                /* local reading stopped (backpressure or not ready) */
	int pending;               /* accepted while reconnecting: no streams yet */
	int data_reset;            /* the pod's side reset the data stream */
	struct kx_task drain;      /* write to_local out after this batch of reads */
	int err_done;              /* the error stream ended (its text, if any, reported) */
	int closing;
	int orphan;                /* the local socket is gone; kept for the error stream */
	/* for on_conn */
	unsigned long long id;
	const char *address;       /* the listener's (lives as long as the forward) */
	char peer[64];
	char pod[256];             /* the pod chosen ("" none yet) */
	int opened;                /* the opened event went out */
	const char *end;           /* why it ended, first cause (NULL: see conn_end_reason) */
	unsigned long long bytes_in, bytes_out;
	long long t_open;
	/* balanced: what the client sent before the pod's first byte, replayed on
	 * another Ready pod when the kubelet could not forward it (conn_replay) */
	struct kx_buf sent;
	int replay_off;            /* a byte came back, or more than PF_REPLAY_MAX went out */
	int replays;
};

struct kx__pf {
	struct kx_client *client;
	const struct kx_pf_opts *opts; /* &own: a copy of the caller's (copy_opts) */
	struct kx_pf_opts own;
	struct kx_errbuf *eb;          /* &ebuf: the first error, for on_end */
	struct kx_errbuf ebuf;
	struct kx__pf_hooks hooks;
	void *hooks_ud;
	const char *ns;
	struct kx__conn_info ci;
	struct kx_loop *loop;
	enum kx_transport transport;
	int use_ws;                /* new sessions: the WebSocket tunnel (else SPDY directly) */
	struct pf_listener listeners[PF_MAX_LISTENERS];
	size_t nlisteners;
	struct pf_conn *conns;
	int done;                  /* ended (by itself or stopped): tearing down */
	kx_err err;                /* ended by itself: why (on_end) */
	int released;              /* the owner called kx__pf_stop */
	int torn_down;             /* teardown ran: only close callbacks are left */
	size_t nopen;              /* listener and connection handles not yet closed */
	struct kx_task teardown;
	struct kx_task reap;
	struct pf_sess *sessions;  /* pinned: exactly one (pin) */
	struct pf_sess *pin;       /* pinned mode's session; NULL when balancing */
	/* survival (pinned) */
	char rv[64];               /* the pod's resourceVersion: its watch starts there ("": list first) */
	struct kx__informer *watch; /* the pod (pinned) or the target's pods: in this loop */
	struct kx__pod_resolver *resolver; /* choosing a pod again, in this loop */
	int listening;
	int reconnecting;
	int tries;
	struct kx_timer reconnect;
	/* balancing */
	unsigned long long conn_ids;
	unsigned rr;               /* round robin among equally loaded endpoints */
	int nready_seen;           /* some endpoint was Ready (for the "no endpoint" notice) */
	struct kx_timer sweep;     /* frees drained and broken sessions outside their callbacks */
	struct kx_timer retry;     /* connections waiting for an endpoint try again */
};
static void reap_task(void *ud);

kx_err kx_pf_parse_spec(const char *spec, int *local, int *remote, char *remote_name, size_t nn,
			struct kx_errbuf *eb)
{
	const char *colon = strchr(spec, ':');
	char lpart[32] = "";
	const char *rpart = spec;
	*local = -1;
	*remote = 0;
	if (nn)
		remote_name[0] = '\0';
	if (colon) {
		if ((size_t)(colon - spec) >= sizeof lpart || strchr(colon + 1, ':'))
			return kx__fail(eb, KX_ERR_INVALID, "invalid port specification '%s': expected [LOCAL:]REMOTE", spec);
		memcpy(lpart, spec, (size_t)(colon - spec));
		rpart = colon + 1;
		char *end;
		long l = *lpart ? strtol(lpart, &end, 10) : 0;
		if (*lpart && (*end || l < 0 || l > 65535 || !(lpart[0] >= '0' && lpart[0] <= '9')))
			return kx__fail(eb, KX_ERR_INVALID, "error parsing local port '%s': not a port number (0-65535)", lpart);
		*local = (int)l;
	}
	if (!*rpart)
		return kx__fail(eb, KX_ERR_INVALID, "remote port must be > 0");
	if (rpart[0] >= '0' && rpart[0] <= '9') {
		char *end;
		long r = strtol(rpart, &end, 10);
		if (*end || r > 65535)
			return kx__fail(eb, KX_ERR_INVALID, "error parsing remote port '%s': not a port number (1-65535)", rpart);
		if (r <= 0)
			return kx__fail(eb, KX_ERR_INVALID, "remote port must be > 0");
		*remote = (int)r;
		return KX_OK;
	}
	if (strlen(rpart) >= nn || strlen(rpart) > 15)
		return kx__fail(eb, KX_ERR_INVALID, "invalid port name '%s'", rpart);
	snprintf(remote_name, nn, "%s", rpart);
	return KX_OK;
}

/* The forward ends by itself (err) or is stopped (KX_OK): everything closes
 * from a task, outside the callbacks of what it frees. */
static void pf_finish(struct kx__pf *p, kx_err err)
{
	if (p->done)
		return;
	p->done = 1;
	p->err = err;
	kx__loop_defer(p->loop, &p->teardown);
}

static void event(struct kx__pf *p, enum kx_pf_event ev, const char *addr, int local, int remote,
		  const char *msg)
{
	if (p->opts->on_event)
		p->opts->on_event(p->opts->ud, ev, addr, local, remote, msg);
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void flush(struct pf_sess *s)
{
	if (s && s->conn && s->spdy && kx__spdy_pending(s->spdy))
		kx__upconn_want_write(s->conn);
}

/* on_conn: the connection's pod is chosen (s), or it ends without one (NULL). */
static void conn_opened(struct pf_conn *c, struct pf_sess *s)
{
	struct kx__pf *p = c->pf;
	if (c->opened)
		return;
	c->opened = 1;
	if (s)
		snprintf(c->pod, sizeof c->pod, "%s", s->pod);
	if (!p->opts->on_conn)
		return;
	struct kx_pf_conn_event e = {.id = c->id, .peer = c->peer, .address = c->address,
				     .local = c->local, .remote = c->remote,
				     .pod = c->pod[0] ? c->pod : NULL};
	p->opts->on_conn(p->opts->ud, &e);
}

/* The kubelet's error text for c, without its line end, into msg. */
static const char *err_line(const struct pf_conn *c, char *msg, size_t size)
{
	size_t n = KX_MIN(c->err_text.len, size - 1);
	while (n && (c->err_text.data[n - 1] == '\n' || c->err_text.data[n - 1] == '\r'))
		n--;
	snprintf(msg, size, "%.*s", (int)n, n ? c->err_text.data : "");
	return msg;
}

static void conn_ended(struct pf_conn *c)
{
	struct kx__pf *p = c->pf;
	conn_opened(c, NULL);
	if (!p->opts->on_conn)
		return;
	char msg[1024] = "";
	const char *end = c->end;
	if (!end)
		end = p->done ? "shutdown" : c->local_eof && c->remote_fin ? "done" : "reset";
	if (!strcmp(end, "error"))
		err_line(c, msg, sizeof msg);
	struct kx_pf_conn_event e = {.id = c->id, .closed = 1, .peer = c->peer, .address = c->address,
				     .local = c->local, .remote = c->remote,
				     .pod = c->pod[0] ? c->pod : NULL,
				     .bytes_from_client = c->bytes_in, .bytes_to_client = c->bytes_out,
				     .duration_ms = mono_ms() - c->t_open, .end = end,
				     .message = msg[0] ? msg : NULL, .replays = c->replays};
	p->opts->on_conn(p->opts->ud, &e);
}

static struct pf_conn *conn_by_stream(struct pf_sess *s, uint32_t id)
{
	for (struct pf_conn *c = s->pf->conns; c; c = c->next)
		if (c->s == s && !c->closing && !c->pending && (c->err_id == id || c->data_id == id))
			return c;
	return NULL;
}

static void set_paused(struct pf_conn *c, int paused)
{
	if (c->io.h && c->paused != paused && !c->local_eof) {
		kx__io_read(&c->io, !paused);
		c->paused = paused;
	}
}

/* Forget a connection: reset its live streams, let the loop close the socket. */
static void conn_close(struct pf_conn *c)
{
	struct pf_sess *s = c->s;
	if (c->closing)
		return;
	c->closing = 1;
	if (s && s->spdy && !c->pending) {
		if (kx__spdy_stream_alive(s->spdy, c->data_id))
			kx__spdy_reset(s->spdy, c->data_id, KX_SPDY_CANCEL, NULL);
		if (kx__spdy_stream_alive(s->spdy, c->err_id))
			kx__spdy_reset(s->spdy, c->err_id, KX_SPDY_CANCEL, NULL);
		flush(s);
	}
	if (c->io.h) {
		/* End it for the local peer now, not at the end of the loop's turn. */
		shutdown(kx__io_fd(&c->io), SHUT_RDWR);
		kx__io_close(&c->io);
	}
}

static void conn_unassign(struct pf_conn *c)
{
	struct pf_sess *s = c->s;
	if (!s)
		return;
	c->s = NULL;
	s->nconns--;
	/* A drained endpoint (no longer Ready, or gone) lets its session go. */
	if (!s->nconns && !s->pf->done && s != s->pf->pin && (!s->ready || s->gone || s->broken))
		kx__timer_arm(s->pf->loop, &s->pf->sweep, 0);
}

static void conn_free(struct pf_conn *c)
{
	struct kx__pf *p = c->pf;
	for (struct pf_conn **pp = &p->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	conn_ended(c);
	conn_unassign(c);
	kx__task_cancel(p->loop, &c->drain);
	kx_buf_free(&c->to_local);
	kx_buf_free(&c->err_text);
	kx_buf_free(&c->sent);
	free(c);
}

/* Both directions finished: the connection is done. */
static void conn_maybe_done(struct pf_conn *c)
{
	/* The error stream ends last: its text (if any) explains a failed connection. */
	if (c->local_eof && c->remote_fin && c->err_done && !c->to_local.len)
		conn_close(c);
}

static void session_flow(struct pf_sess *s)
{
	if (!s)
		return;
	size_t queued = 0;
	for (struct pf_conn *c = s->pf->conns; c; c = c->next)
		if (c->s == s)
			queued = queued > c->to_local.len ? queued : c->to_local.len;
	int pause = queued >= PF_TO_LOCAL_MAX;
	if (pause != s->session_paused && s->conn) {
		kx__upconn_pause_read(s->conn, pause);
		s->session_paused = pause;
	}
}

/* A pod's FIN before any byte from it may be the kubelet ending a stream it
 * could not forward: the client is not told (it would see an empty answer)
 * until the error stream has ended without text, so that the connection can
 * still be replayed. */
static int conn_holds_fin(const struct pf_conn *c)
{
	return !c->pf->pin && !c->replay_off && !c->err_done;
}

/* Write what we hold for the local socket; shut its write side after the pod's FIN. */
static int conn_drain(struct pf_conn *c)
{
	if (!c->io.h) {
		kx_buf_clear(&c->to_local); /* the local socket is gone (waiting for the error stream) */
		session_flow(c->s);
		return 0;
	}
	while (c->to_local.len) {
		ssize_t n = send(kx__io_fd(&c->io), c->to_local.data, c->to_local.len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			kx__io_want_write(&c->io);
			return 0;
		}
		if (n < 0) {
			if (!c->end)
				c->end = "reset";
			conn_close(c); /* the local client went away */
			return -1;
		}
		c->bytes_out += (size_t)n;
		kx_buf_consume(&c->to_local, (size_t)n);
	}
	session_flow(c->s);
	if (c->remote_fin && !c->write_shut && !conn_holds_fin(c)) {
		shutdown(kx__io_fd(&c->io), SHUT_WR);
		c->write_shut = 1;
	}
	conn_maybe_done(c);
	return 0;
}

/* Until the pod's first byte a balanced connection keeps what it sent, to
 * offer it to another pod (conn_replay); past PF_REPLAY_MAX it cannot move. */
static void keep_sent(struct pf_conn *c, const void *data, size_t len)
{
	if (c->pf->pin || c->sent.len + len > PF_REPLAY_MAX || kx_buf_append(&c->sent, data, len)) {
		c->replay_off = 1;
		kx_buf_free(&c->sent);
	}
}

static void conn_read(struct pf_conn *c)
{
	struct pf_sess *s = c->s;
	char buf[PF_READ_CHUNK];
	size_t room = s && s->spdy ? KX_MIN(kx__spdy_write_room(s->spdy), sizeof buf) : 0;
	if (!c->data_ready || room < 1024 || kx__spdy_pending(s->spdy) > KX_SPDY_DEFAULT_QUEUE_CAP / 2) {
		set_paused(c, 1);
		return;
	}
	ssize_t n = recv(kx__io_fd(&c->io), buf, room, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* Local EOF (or reset): half-close toward the pod. */
		if (n < 0) {
			if (!c->end)
				c->end = "reset";
			conn_close(c);
			return;
		}
		set_paused(c, 1);
		c->local_eof = 1;
		kx__spdy_close_stream(s->spdy, c->data_id, NULL);
		flush(s);
		conn_maybe_done(c);
		return;
	}
	c->bytes_in += (size_t)n;
	if (kx__spdy_write(s->spdy, c->data_id, buf, (size_t)n, NULL))
		conn_close(c);
	else if (!c->replay_off)
		keep_sent(c, buf, (size_t)n);
	flush(s);
}

/* The local socket closed (the client left, or both halves are shut: a
 * prompt half-close meets the pod's FIN) while the pod's error stream is still
 * open: it may yet say why the connection failed, and that is reported
 * however the client behaved (kubectl waits for it too). Keep the connection
 * without its socket until the error stream ends (stream_ended frees it). */
static int conn_awaits_error(struct pf_conn *c)
{
	struct kx__pf *p = c->pf;
	struct pf_sess *s = c->s;
	if (p->done || c->closing || c->pending || c->err_done || !s || !s->spdy ||
	    !kx__spdy_stream_alive(s->spdy, c->err_id))
		return 0;
	c->orphan = 1;
	kx_buf_clear(&c->to_local);
	session_flow(s);
	if (!c->local_eof && kx__spdy_stream_alive(s->spdy, c->data_id)) {
		c->local_eof = 1;
		kx__spdy_close_stream(s->spdy, c->data_id, NULL);
		flush(s);
	}
	return 1;
}

static void conn_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct pf_conn *c = io->owner;
	switch (ev) {
	case KX_IO_READABLE:
		if (!c->closing)
			conn_read(c);
		return;
	case KX_IO_WRITABLE:
		if (!c->closing)
			conn_drain(c);
		return;
	case KX_IO_CLOSED: {
		struct kx__pf *p = c->pf;
		p->nopen--;
		if (conn_awaits_error(c))
			return;
		conn_close(c);
		conn_free(c);
		if (!p->nopen)
			reap_task(p);
		return;
	}
	}
}

static int conn_open_streams(struct pf_conn *c);

static void drain_task(void *ud)
{
	struct pf_conn *c = ud;
	if (!c->closing && c->io.h)
		conn_drain(c);
}

/* The session's queue drained: open its connections that waited for room, and
 * resume local reading on every ready connection. */
static void resume_all(struct pf_sess *s)
{
	struct kx__pf *p = s->pf;
	for (struct pf_conn *c = p->conns; c; c = c->next) {
		if (c->s != s)
			continue;
		if (c->pending && !c->closing && !(s == p->pin && p->reconnecting) && s->spdy &&
		    conn_open_streams(c) < 0)
			conn_close(c);
		if (c->data_ready && !c->closing && !c->local_eof)
			set_paused(c, 0);
	}
}

/* Open the connection's error and data streams on its session.
 * Returns 1 when the session's queue is full for now: the connection stays
 * pending and is opened when the queue drains (resume_all). */
static int conn_open_streams(struct pf_conn *c)
{
	struct kx__pf *p = c->pf;
	struct pf_sess *s = c->s;
	char port[16], req[16];
	snprintf(port, sizeof port, "%d", c->remote);
	snprintf(req, sizeof req, "%u", s->next_request++);
	/* The error stream is half-closed at once (FIN on SYN_STREAM: a FIN sent
	 * before the reply would be dropped); the data stream carries the bytes. */
	struct kx__spdy_pair eh[] = {{"streamtype", "error"}, {"port", port}, {"requestid", req}};
	struct kx__spdy_pair dh[] = {{"streamtype", "data"}, {"port", port}, {"requestid", req}};
	struct kx_errbuf eb2 = {0};
	/* Both SYN_STREAMs must fit, or neither is sent (room for two small frames). */
	if (kx__spdy_write_room(s->spdy) < 4096)
		return 1;
	kx_err err = kx__spdy_open_stream(s->spdy, eh, 3, 1, &c->err_id, &eb2);
	if (!err)
		err = kx__spdy_open_stream(s->spdy, dh, 3, 0, &c->data_id, &eb2);
	if (err) {
		event(p, KX_PF_CONN_ERROR, NULL, c->local, c->remote, eb2.msg);
		return -1;
	}
	c->pending = 0;
	flush(s);
	return 0;
}

/* ---- balancing: choosing an endpoint per connection ---- */

/* A connection that cannot be forwarded (no pod for it): reported as the
 * kubelet's errors are, and ended with "error". */
static void conn_fail(struct pf_conn *c, const char *why)
{
	kx_buf_clear(&c->err_text);
	kx_buf_appends(&c->err_text, why);
	c->end = "error";
	event(c->pf, KX_PF_CONN_ERROR, NULL, c->local, c->remote, why);
	conn_close(c);
}

static kx_err sess_open(struct pf_sess *s, struct kx_errbuf *eb);

/* The Ready endpoint with the fewest connections (round robin among equals),
 * or NULL. Endpoints whose session just failed are skipped for a while. */
static struct pf_sess *pick_endpoint(struct kx__pf *p)
{
	long long now = mono_ms();
	size_t n = 0, best = (size_t)-1;
	for (struct pf_sess *s = p->sessions; s; s = s->next)
		if (s->ready && !s->gone && !s->broken && s->backoff_until <= now) {
			n++;
			best = KX_MIN(best, s->nconns);
		}
	if (!n)
		return NULL;
	/* Among the least loaded, the one after the last chosen (by position). */
	size_t k = 0, want = p->rr++;
	size_t neq = 0;
	for (struct pf_sess *s = p->sessions; s; s = s->next)
		if (s->ready && !s->gone && !s->broken && s->backoff_until <= now && s->nconns == best)
			neq++;
	want %= neq;
	for (struct pf_sess *s = p->sessions; s; s = s->next)
		if (s->ready && !s->gone && !s->broken && s->backoff_until <= now && s->nconns == best &&
		    k++ == want)
			return s;
	return NULL;
}

/* Give a waiting connection (no streams yet) to an endpoint: open its
 * streams now if the session is up, or when it comes up. No Ready endpoint:
 * it waits (the retry timer, or the next endpoint that turns Ready). */
static void conn_assign(struct pf_conn *c)
{
	struct kx__pf *p = c->pf;
	struct pf_sess *s = pick_endpoint(p);
	if (!s) {
		long limit = p->opts->resolve_timeout_ms;
		if (limit > 0 && mono_ms() - c->t_open >= limit) {
			/* Waited --pod-running-timeout for a Ready pod: give up on this one. */
			conn_fail(c, "no Ready pod to forward to within --pod-running-timeout");
			return;
		}
		kx__timer_arm(p->loop, &p->retry, 250);
		return;
	}
	c->s = s;
	s->nconns++;
	if (s->remotes && s->remotes[c->port])
		c->remote = s->remotes[c->port];
	event(p, KX_PF_CONN_POD, NULL, c->local, c->remote, s->pod);
	conn_opened(c, s);
	snprintf(c->pod, sizeof c->pod, "%s", s->pod); /* a replay's new pod */
	if (c->remote <= 0) {
		char msg[400];
		snprintf(msg, sizeof msg, "pod %s has no port named %s", s->pod,
			 p->opts->ports[c->port].remote_name ? p->opts->ports[c->port].remote_name : "?");
		conn_fail(c, msg);
		return;
	}
	if (!s->conn) {
		struct kx_errbuf eb2 = {0};
		if (sess_open(s, &eb2)) {
			s->broken = 1;
			s->backoff_until = mono_ms() + 1000;
			kx__timer_arm(p->loop, &p->sweep, 0);
		}
		return; /* opened in on_upgraded (or moved on by the sweep) */
	}
	if (s->spdy && conn_open_streams(c) < 0)
		conn_close(c);
}

/* Connections without an endpoint: try again. */
static void assign_waiting(struct kx__pf *p)
{
	for (struct pf_conn *c = p->conns; c; c = c->next)
		if (!c->s && c->pending && !c->closing)
			conn_assign(c);
}

static void retry_fire(void *ud)
{
	struct kx__pf *p = ud;
	if (!p->done)
		assign_waiting(p);
}

static void accept_one(struct pf_listener *l)
{
	struct kx__pf *p = l->pf;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof peer;
	int fd = accept4(kx__io_fd(&l->io), (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	event(p, KX_PF_CONNECTION, l->addr, l->local, l->remote, NULL);
	struct pf_conn *c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	*c = (struct pf_conn){.pf = p, .port = l->port, .local = l->local, .remote = l->remote, .pending = 1,
			      .to_local = KX_BUF_INIT(PF_TO_LOCAL_MAX + PF_READ_CHUNK * 4),
			      .err_text = KX_BUF_INIT(64 * 1024)};
	c->id = ++p->conn_ids;
	c->address = l->addr;
	c->t_open = mono_ms();
	kx__format_peer(&peer, c->peer, sizeof c->peer);
	c->next = p->conns;
	p->conns = c;
	c->io = (struct kx_io){.fn = conn_cb, .owner = c};
	c->drain = (struct kx_task){.fn = drain_task, .ud = c};
	struct kx_errbuf eb2 = {0};
	if (kx__loop_adopt_fd(p->loop, fd, &c->io, &eb2)) {
		close(fd);
		c->closing = 1;
		conn_free(c);
		return;
	}
	p->nopen++;
	set_paused(c, 1); /* until the data stream's reply */
	if (!p->pin) {
		conn_assign(c);
		return;
	}
	c->s = p->pin;
	p->pin->nconns++;
	conn_opened(c, p->pin);
	/* While kx looks for a new pod, the connection waits for the new session. */
	if (!p->reconnecting && p->pin->spdy && conn_open_streams(c) < 0)
		conn_close(c);
}

static void listener_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct pf_listener *l = io->owner;
	if (ev == KX_IO_READABLE)
		accept_one(l);
	else if (ev == KX_IO_CLOSED && !--l->pf->nopen)
		reap_task(l->pf);
}

/* ---- the SPDY session's events ---- */

static void on_reply(void *ud, uint32_t stream, const struct kx__spdy_headers *h)
{
	struct pf_sess *s = ud;
	(void)h;
	struct pf_conn *c = conn_by_stream(s, stream);
	if (!c || stream != c->data_id)
		return;
	c->data_ready = 1;
	if (c->replays && (c->sent.len || c->local_eof)) {
		/* A replay: what the client sent (and its FIN) goes to this pod. */
		if ((c->sent.len && kx__spdy_write(s->spdy, c->data_id, c->sent.data, c->sent.len, NULL)) ||
		    (c->local_eof && kx__spdy_close_stream(s->spdy, c->data_id, NULL))) {
			conn_close(c);
			return;
		}
		flush(s);
	}
	set_paused(c, 0);
}

static void on_data(void *ud, uint32_t stream, const void *data, size_t len)
{
	struct pf_sess *s = ud;
	struct pf_conn *c = conn_by_stream(s, stream);
	if (!c || c->closing)
		return;
	if (stream == c->err_id) {
		kx_buf_append(&c->err_text, data, len);
		return;
	}
	if (!c->replay_off) { /* the pod answered: the connection stays with it */
		c->replay_off = 1;
		kx_buf_free(&c->sent);
	}
	if (kx_buf_append(&c->to_local, data, len)) {
		conn_close(c);
		return;
	}
	/* One send for what this wakeup brought (the TLS layer reads many frames
	 * per wakeup), not one per frame; but in pieces that stay in the cache. */
	if (c->to_local.len >= PF_SEND_BATCH)
		conn_drain(c);
	else
		kx__loop_defer(s->pf->loop, &c->drain);
	session_flow(s);
}

/* The kubelet could not forward a balanced connection (its error stream says
 * why: the pod was deleted that instant, its port refused) before the pod sent
 * a byte: offer the connection, with what the client sent, to another Ready
 * pod (a rollout loses no connection). This pod is skipped for a second.
 * Returns 1 when the connection moved. */
static int conn_replay(struct pf_conn *c, const char *why)
{
	struct kx__pf *p = c->pf;
	struct pf_sess *s = c->s;
	if (p->pin || p->done || !s || c->closing || c->orphan || !c->io.h || c->replay_off ||
	    c->replays + 1 >= PF_REPLAY_TRIES)
		return 0;
	long long backoff = s->backoff_until;
	s->backoff_until = mono_ms() + 1000;
	if (!pick_endpoint(p)) { /* no other pod to offer it to: the error stands */
		s->backoff_until = backoff;
		return 0;
	}
	char msg[1300];
	snprintf(msg, sizeof msg, "pod %s: %s", s->pod, why);
	event(p, KX_PF_CONN_REPLAYED, NULL, c->local, c->remote, msg);
	uint32_t old_data = c->data_id;
	set_paused(c, 1);
	conn_unassign(c);
	/* Off s first: the reset's own callback must not find the connection. */
	if (s->spdy && kx__spdy_stream_alive(s->spdy, old_data)) {
		kx__spdy_reset(s->spdy, old_data, KX_SPDY_CANCEL, NULL);
		flush(s);
	}
	c->replays++;
	c->err_id = c->data_id = 0;
	c->data_ready = c->err_done = c->remote_fin = c->data_reset = 0;
	c->pending = 1;
	kx_buf_clear(&c->err_text);
	conn_assign(c);
	return 1;
}

static void stream_ended(struct pf_sess *s, uint32_t stream, int by_reset)
{
	struct kx__pf *p = s->pf;
	struct pf_conn *c = conn_by_stream(s, stream);
	if (!c || c->closing)
		return;
	if (stream == c->err_id) {
		c->err_done = 1;
		char why[1024];
		if (c->err_text.len && conn_replay(c, err_line(c, why, sizeof why)))
			return;
		if (c->err_text.len) {
			/* The kubelet could not reach the pod's port: this connection only. */
			char msg[1024];
			event(p, KX_PF_CONN_ERROR, NULL, c->local, c->remote, err_line(c, msg, sizeof msg));
			c->end = "error";
			conn_close(c);
		} else if (c->data_reset || c->orphan) {
			conn_close(c);
		} else {
			conn_drain(c); /* a FIN held back for it goes out (conn_holds_fin) */
		}
		if (c->orphan)
			conn_free(c); /* no socket whose close would free it */
		return;
	}
	if (by_reset) {
		/* Wait for the error stream: its text says why, and it may come after. */
		c->data_reset = 1;
		if (c->err_done)
			conn_close(c);
		return;
	}
	c->remote_fin = 1;
	conn_drain(c);
}

static void on_fin(void *ud, uint32_t stream)
{
	stream_ended(ud, stream, 0);
}

static void on_reset(void *ud, uint32_t stream, uint32_t status, int by_peer)
{
	(void)status;
	(void)by_peer;
	stream_ended(ud, stream, 1);
}

static const struct kx__spdy_callbacks spdy_callbacks = {
	.on_reply = on_reply,
	.on_data = on_data,
	.on_fin = on_fin,
	.on_reset = on_reset,
};

/* ---- listeners ---- */

static kx_err listen_on(struct kx__pf *p, const char *addr, int *port, size_t index, struct kx_errbuf *eb)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)*port);
		sl = sizeof *a4;
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)*port);
		sl = sizeof *a6;
	} else {
		return kx__fail(eb, KX_ERR_INVALID, "%s is not a valid IP address", addr);
	}
	if (p->nlisteners >= PF_MAX_LISTENERS)
		return kx__fail(eb, KX_ERR_INVALID, "too many listeners");
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd >= 0 && ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 128)) {
		kx_err err = kx__fail(eb, KX_ERR_IO, "unable to listen on %s%s%s:%d: %s",
				      ss.ss_family == AF_INET6 ? "[" : "", addr,
				      ss.ss_family == AF_INET6 ? "]" : "", *port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
	struct pf_listener *l = &p->listeners[p->nlisteners];
	*l = (struct pf_listener){.io = {.fn = listener_cb, .owner = l}, .pf = p, .port = index,
				  .local = *port, .remote = p->opts->ports[index].remote};
	snprintf(l->addr, sizeof l->addr, "%s", addr);
	kx_err err = kx__loop_adopt_fd(p->loop, fd, &l->io, eb);
	if (err) {
		close(fd);
		return err;
	}
	p->nlisteners++;
	p->nopen++;
	return KX_OK;
}

/* kubectl's rules: "localhost" is 127.0.0.1 and ::1 and fails only when both
 * fail; a random local port is chosen once and reused for the other addresses. */
static kx_err start_listeners(struct kx__pf *p)
{
	static const char *const dflt[] = {"localhost"};
	const char *const *addrs = p->opts->addresses ? p->opts->addresses : dflt;
	size_t naddrs = p->opts->addresses ? p->opts->naddresses : 1;
	for (size_t i = 0; i < p->opts->nports; i++) {
		int port = p->opts->ports[i].local;
		int remote = p->opts->ports[i].remote;
		for (size_t a = 0; a < naddrs; a++) {
			if (!strcmp(addrs[a], "localhost")) {
				struct kx_errbuf e4 = {0}, e6 = {0};
				size_t before = p->nlisteners;
				kx_err r4 = listen_on(p, "127.0.0.1", &port, i, &e4);
				kx_err r6 = listen_on(p, "::1", &port, i, &e6);
				if (r4 && r6)
					return kx__fail(p->eb, KX_ERR_IO, "%s", e4.msg);
				for (size_t k = before; k < p->nlisteners; k++)
					event(p, KX_PF_LISTENING, p->listeners[k].addr, port, remote, NULL);
			} else {
				kx_err err = listen_on(p, addrs[a], &port, i, p->eb);
				if (err)
					return err;
				event(p, KX_PF_LISTENING, addrs[a], port, remote, NULL);
			}
		}
	}
	return KX_OK;
}


/* ---- the sessions to the API server ---- */

static void ping_fire(void *ud)
{
	struct pf_sess *s = ud;
	if (s->spdy && !kx__spdy_ping(s->spdy, NULL, NULL))
		flush(s);
	kx__timer_arm(s->pf->loop, &s->ping, PF_PING_MS);
}

static void start_watch(struct kx__pf *p);
static void sess_fail(struct pf_sess *s, const char *why);

static void on_upgraded(void *ud, const char *protocol)
{
	struct pf_sess *s = ud;
	struct kx__pf *p = s->pf;
	char what[160];
	snprintf(what, sizeof what, "%s (%s)", s->use_ws ? "websocket" : "spdy",
		 protocol[0] ? protocol : "no protocol named");
	event(p, KX_PF_CONNECTED, NULL, 0, 0, what);
	kx_err err = kx__spdy_new(&spdy_callbacks, s, &s->spdy, p->eb);
	int first = !p->listening;
	if (!err && !p->listening) {
		err = start_listeners(p);
		if (!err) {
			p->listening = 1;
			event(p, KX_PF_READY, NULL, 0, 0, NULL);
			if (!p->pin)
				event(p, KX_PF_ENDPOINT_READY, NULL, 0, 0, s->pod);
		}
	}
	if (err) {
		pf_finish(p, err);
		return;
	}
	if (s == p->pin && p->reconnecting) {
		p->reconnecting = 0;
		p->tries = 0;
		event(p, KX_PF_POD_RESUMED, NULL, 0, 0, s->pod);
	}
	for (struct pf_conn *c = p->conns; c; c = c->next)
		if (c->s == s && c->pending && !c->closing && conn_open_streams(c) < 0)
			conn_close(c);
	if (s == p->pin || first)
		start_watch(p);
	kx__timer_arm(p->loop, &s->ping, PF_PING_MS);
}

static void on_refused(void *ud, int code, const char *body, size_t len)
{
	struct pf_sess *s = ud;
	struct kx__pf *p = s->pf;
	if (s->use_ws && p->transport == KX_TRANSPORT_AUTO) {
		/* Like kubectl: any failed WebSocket upgrade falls back to SPDY, which
		 * then stays the transport of this forward. */
		s->use_ws = p->use_ws = 0;
		kx__timer_arm(p->loop, &s->fallback, 0);
		return;
	}
	if (s == p->pin && p->reconnecting) {
		/* The new pod is not ready for us yet (or went away again): retry. */
		kx__timer_arm(p->loop, &p->reconnect, 500L * p->tries);
		return;
	}
	struct kx_status st;
	kx_status_decode(body, len, code, &st);
	if (!p->pin && p->listening) {
		sess_fail(s, st.message);
		return;
	}
	kx__client_set_status(p->client, &st);
	pf_finish(p, kx__fail(p->eb, KX_ERR_API, "%s", st.message));
}

static void conn_data(void *ud, const void *data, size_t len)
{
	struct pf_sess *s = ud;
	struct kx__pf *p = s->pf;
	if (p->done || !s->spdy || s->broken)
		return;
	struct kx_errbuf eb2 = {0};
	if (kx__spdy_feed(s->spdy, data, len, &eb2)) {
		if (!p->pin && p->listening) {
			sess_fail(s, eb2.msg);
			return;
		}
		kx__fail(p->eb, KX_ERR_PROTOCOL, "%s", eb2.msg);
		pf_finish(p, KX_ERR_PROTOCOL);
		return;
	}
	flush(s);
}

static void conn_writable(void *ud)
{
	struct pf_sess *s = ud;
	kx__upconn_send_spdy(s->conn, s->spdy);
	if (s->spdy && kx__spdy_pending(s->spdy) < KX_SPDY_DEFAULT_QUEUE_CAP / 4)
		resume_all(s);
}

static void pod_lost(struct kx__pf *p, const char *why);

static void conn_closed(void *ud, kx_err err, const struct kx_errbuf *ceb)
{
	struct pf_sess *s = ud;
	struct kx__pf *p = s->pf;
	if (p->done)
		return;
	if (s == p->pin && p->reconnecting) {
		/* A new session failed before it was up: try again shortly. */
		kx__timer_arm(p->loop, &p->reconnect, 500L * p->tries);
		return;
	}
	if (p->listening) {
		/* The session broke after forwarding had started: kx carries on. */
		const char *why = ceb && ceb->msg[0] ? ceb->msg : "the connection to the pod was lost";
		if (p->pin)
			pod_lost(p, why);
		else
			sess_fail(s, why);
		return;
	}
	if (err && err != KX_ERR_CLOSED && ceb->msg[0])
		pf_finish(p, kx__fail(p->eb, err, "%s", ceb->msg));
	else
		pf_finish(p, kx__fail(p->eb, KX_ERR_CLOSED, "lost connection to pod"));
}

static const struct kx__up_callbacks conn_callbacks = {
	.on_upgraded = on_upgraded,
	.on_refused = on_refused,
	.on_data = conn_data,
	.on_writable = conn_writable,
	.on_closed = conn_closed,
};

/* Open a session to s->pod over the current transport. */
static kx_err sess_open(struct pf_sess *s, struct kx_errbuf *eb)
{
	struct kx__pf *p = s->pf;
	static const char *const ws_protocols[] = {"SPDY/3.1+portforward.k8s.io"};
	static const char *const spdy_protocols[] = {"portforward.k8s.io"};
	struct kx_buf path = KX_BUF_INIT(1 << 16);
	kx_err err = kx_buf_printf(&path, "%s/api/v1/namespaces/%s/pods/%s/portforward",
				   p->ci.path_prefix, p->ns, s->pod);
	if (!err) {
		struct kx__up_request rq = {
			.kind = s->use_ws ? KX_UP_WEBSOCKET : KX_UP_SPDY,
			.path = path.data,
			.protocols = s->use_ws ? ws_protocols : spdy_protocols,
			.nprotocols = 1,
		};
		err = kx__upconn_open(p->loop, &p->ci, &rq, &conn_callbacks, s, &s->conn, eb);
	} else {
		kx__fail(eb, err, "port-forward: the request path does not fit");
	}
	kx_buf_free(&path);
	return err;
}

/* Free the session (never from inside its own callbacks: timers do this). */
static void sess_drop(struct pf_sess *s)
{
	kx__upconn_free(s->conn);
	s->conn = NULL;
	kx__spdy_free(s->spdy);
	s->spdy = NULL;
	s->session_paused = 0;
	kx__timer_cancel(&s->ping);
}

/* Timer: the WebSocket tunnel was refused; the same request again over SPDY. */
static void fallback_fire(void *ud)
{
	struct pf_sess *s = ud;
	struct kx__pf *p = s->pf;
	if (p->done)
		return;
	sess_drop(s);
	struct kx_errbuf eb2 = {0};
	kx_err err = sess_open(s, p->listening || (s == p->pin && p->reconnecting) ? &eb2 : p->eb);
	if (!err)
		return;
	if (s == p->pin && p->reconnecting)
		kx__timer_arm(p->loop, &p->reconnect, 500L * p->tries);
	else if (p->listening && !p->pin)
		sess_fail(s, eb2.msg);
	else
		pf_finish(p, err);
}

static struct pf_sess *sess_new(struct kx__pf *p, const char *pod, const char *uid)
{
	struct pf_sess *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	*s = (struct pf_sess){.pf = p, .use_ws = p->use_ws};
	snprintf(s->pod, sizeof s->pod, "%s", pod);
	snprintf(s->uid, sizeof s->uid, "%s", uid ? uid : "");
	s->fallback = (struct kx_timer){.fn = fallback_fire, .ud = s};
	s->ping = (struct kx_timer){.fn = ping_fire, .ud = s};
	s->next = p->sessions;
	p->sessions = s;
	return s;
}

static void sess_free(struct pf_sess *s)
{
	struct kx__pf *p = s->pf;
	for (struct pf_sess **pp = &p->sessions; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	sess_drop(s);
	kx__timer_cancel(&s->fallback);
	free(s->remotes);
	free(s);
}

/* ---- balancing: the target's pods, their sessions, drain ---- */

/* The session s is lost: connections with streams on it cannot move and end;
 * those still waiting for it (no streams yet) stay for its replacement, or
 * with move_waiting go to another endpoint now. */
static void end_open_conns(struct pf_sess *s, int move_waiting)
{
	for (struct pf_conn *c = s->pf->conns, *next; c; c = next) {
		next = c->next;
		if (c->s != s)
			continue;
		if (c->pending && !c->closing) {
			if (move_waiting) {
				conn_unassign(c);
				conn_assign(c);
			}
			continue;
		}
		if (!c->end)
			c->end = "pod-lost";
		conn_close(c);
		if (c->orphan)
			conn_free(c);
	}
}

/* A balanced session broke (the pod went away, the kubelet or the API server
 * restarted): its connections cannot move and end; connections still waiting
 * for it go to another endpoint. The endpoint is skipped for a second. */
static void sess_fail(struct pf_sess *s, const char *why)
{
	struct kx__pf *p = s->pf;
	if (s->broken)
		return;
	s->broken = 1;
	s->backoff_until = mono_ms() + 1000;
	event(p, KX_PF_SESSION_LOST, NULL, 0, 0, s->pod);
	(void)why;
	end_open_conns(s, 1);
	kx__timer_arm(p->loop, &p->sweep, 0);
}

/* Timer: free drained and broken sessions (outside their callbacks). A broken
 * session of a Ready pod keeps its record: the next connection opens anew. */
static void sweep_fire(void *ud)
{
	struct kx__pf *p = ud;
	for (struct pf_sess *s = p->sessions, *next; s; s = next) {
		next = s->next;
		if (s == p->pin)
			continue;
		if (s->broken) {
			if (s->nconns)
				continue;
			sess_drop(s);
			s->broken = 0;
		}
		if (!s->nconns && (s->gone || !s->ready) && s->conn) {
			/* Drained: its last connection finished. */
			if (s->spdy) {
				kx__spdy_goaway(s->spdy, KX_SPDY_GOAWAY_OK, NULL);
				kx__upconn_send_spdy(s->conn, s->spdy);
			}
			sess_drop(s);
		}
		if (!s->nconns && s->gone && !s->conn)
			sess_free(s);
	}
	assign_waiting(p);
}

static struct pf_sess *sess_find(struct kx__pf *p, const char *pod)
{
	for (struct pf_sess *s = p->sessions; s; s = s->next)
		if (!s->gone && !strcmp(s->pod, pod))
			return s;
	return NULL;
}

static int endpoint_ready(const cJSON *pod)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	return !cJSON_GetObjectItemCaseSensitive(meta, "deletionTimestamp") &&
	       !strcmp(kx_pod_phase(pod), "Running") && kx_pod_is_ready(pod);
}

/* The pod's numbers for the forward's named ports (a Service's named
 * targetPort: each pod may number it differently). */
static void sess_named_ports(struct pf_sess *s, const cJSON *pod)
{
	const struct kx_pf_opts *o = s->pf->opts;
	for (size_t i = 0; i < o->nports; i++) {
		if (!o->ports[i].remote_name)
			continue;
		if (!s->remotes && !(s->remotes = calloc(o->nports, sizeof *s->remotes)))
			return;
		int udp_only = 0;
		int n = kx_pod_container_port(pod, o->ports[i].remote_name, 0, &udp_only);
		s->remotes[i] = n > 0 && !udp_only ? n : o->ports[i].remote > 0 ? o->ports[i].remote : -1;
	}
}

/* The endpoint's pod is deleted: no new connections, the open ones finish. */
static void endpoint_deleted(struct kx__pf *p, struct pf_sess *s)
{
	s->gone = 1;
	if (s->ready)
		event(p, KX_PF_ENDPOINT_GONE, NULL, 0, 0, s->pod);
	s->ready = 0;
	kx__timer_arm(p->loop, &p->sweep, 0);
}

/* One change of the target's pods: endpoints come and go. */
static void endpoints_event(void *ud, const char *type, const cJSON *obj)
{
	struct kx__pf *p = ud;
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
	const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "uid"));
	if (!name)
		return;
	struct pf_sess *s = sess_find(p, name);
	if (s && uid && s->uid[0] && strcmp(s->uid, uid)) {
		/* Another pod of the same name: the old one is gone. */
		s->gone = 1;
		s->ready = 0;
		event(p, KX_PF_ENDPOINT_GONE, NULL, 0, 0, s->pod);
		kx__timer_arm(p->loop, &p->sweep, 0);
		s = NULL;
	}
	int ready = strcmp(type, "DELETED") && endpoint_ready(obj);
	if (!s && !ready)
		return;
	if (!s && !(s = sess_new(p, name, uid)))
		return;
	if (!s->uid[0] && uid)
		snprintf(s->uid, sizeof s->uid, "%s", uid);
	if (ready)
		sess_named_ports(s, obj);
	if (!strcmp(type, "DELETED")) {
		endpoint_deleted(p, s);
		return;
	}
	if (ready != s->ready) {
		s->ready = ready;
		event(p, ready ? KX_PF_ENDPOINT_READY : KX_PF_ENDPOINT_GONE, NULL, 0, 0, s->pod);
		if (ready) {
			s->backoff_until = 0;
			assign_waiting(p);
		} else {
			/* No new connections; the open ones finish (drain). */
			kx__timer_arm(p->loop, &p->sweep, 0);
		}
	}
}

/* The target's pods as they are now (the first list, or a relist after the
 * watch lost its place): an endpoint whose pod is not there was deleted. */
static void endpoints_sync(void *ud, const cJSON *items)
{
	struct kx__pf *p = ud;
	for (struct pf_sess *s = p->sessions; s; s = s->next)
		if (!s->gone && !kx__informer_find(items, s->pod, s->uid))
			endpoint_deleted(p, s);
	const cJSON *it;
	cJSON_ArrayForEach(it, items) endpoints_event(p, "ADDED", it);
}

static const struct kx__informer_callbacks endpoints_callbacks = {.on_sync = endpoints_sync,
								  .on_event = endpoints_event};

/* Watch the pods of the target's selector: its informer's first list is the
 * endpoint list. */
static void start_endpoints_watch(struct kx__pf *p)
{
	struct kx_buf path = KX_BUF_INIT(1 << 16);
	struct kx_errbuf eb2 = {0};
	kx__informer_free(p->watch);
	p->watch = NULL;
	struct kx__informer_opts io = {.label_selector = p->opts->balance_selector};
	if (!kx_buf_printf(&path, "/api/v1/namespaces/%s/pods", p->ns)) {
		io.path = path.data;
		kx__informer_start(p->client, p->loop, &io, &endpoints_callbacks, p, &p->watch, &eb2);
	}
	kx_buf_free(&path);
}

/* ---- survival (pinned): the pod goes away, kx finds another ---- */

static void start_session(struct kx__pf *p);
static void resolved(void *ud, kx_err err, cJSON *pod, const struct kx_errbuf *eb);

/* One change of the pinned pod. */
static void watch_event(void *ud, const char *type, const cJSON *obj)
{
	struct kx__pf *p = ud;
	struct pf_sess *s = p->pin;
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
	if (!name || strcmp(name, s->pod) || p->reconnecting)
		return;
	const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "uid"));
	const char *phase = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "status"), "phase"));
	if (s->uid[0] && !(uid && !strcmp(uid, s->uid))) {
		/* Another pod of this name: ours is gone (an older one's deletion is news to no one). */
		if (strcmp(type, "DELETED"))
			pod_lost(p, "replaced by a new pod of the same name");
		return;
	}
	if (!strcmp(type, "DELETED"))
		pod_lost(p, "deleted");
	else if (cJSON_GetObjectItemCaseSensitive(meta, "deletionTimestamp"))
		pod_lost(p, "being deleted");
	else if (phase && strcmp(phase, "Running"))
		pod_lost(p, phase);
}

/* The pinned pod as it is now (a relist after the watch lost its place, or the
 * first list): not there means it was deleted while no watch ran. */
static void watch_sync(void *ud, const cJSON *items)
{
	struct kx__pf *p = ud;
	const cJSON *pod = kx__informer_find(items, p->pin->pod, NULL);
	if (pod)
		watch_event(p, "MODIFIED", pod);
	else
		pod_lost(p, "deleted");
}

static const struct kx__informer_callbacks watch_callbacks = {.on_sync = watch_sync, .on_event = watch_event};

static void start_watch(struct kx__pf *p)
{
	if (!p->pin) {
		start_endpoints_watch(p);
		return;
	}
	if (!p->opts->resolve_target && !p->opts->exit_on_pod_loss)
		return; /* kubectl's behaviour: only the session matters */
	struct kx_buf path = KX_BUF_INIT(1 << 16);
	char sel[300];
	snprintf(sel, sizeof sel, "metadata.name=%s", p->pin->pod);
	struct kx_errbuf eb2 = {0};
	kx__informer_free(p->watch);
	p->watch = NULL;
	/* From the pod's resourceVersion when there is one, else a list first. */
	struct kx__informer_opts io = {.field_selector = sel, .resource_version = p->rv};
	if (!kx_buf_printf(&path, "/api/v1/namespaces/%s/pods", p->ns)) {
		io.path = path.data;
		kx__informer_start(p->client, p->loop, &io, &watch_callbacks, p, &p->watch, &eb2);
	}
	kx_buf_free(&path);
}

static void pod_lost(struct kx__pf *p, const char *why)
{
	if (p->done || p->reconnecting)
		return;
	if (!p->opts->resolve_target || p->opts->exit_on_pod_loss) {
		pf_finish(p, kx__fail(p->eb, KX_ERR_CLOSED, "lost connection to pod %s (%s)", p->pin->pod, why));
		return;
	}
	p->reconnecting = 1;
	event(p, KX_PF_POD_LOST, NULL, 0, 0, why);
	/* Connections on the old session cannot move: close them. New ones wait. */
	end_open_conns(p->pin, 0);
	kx__timer_arm(p->loop, &p->reconnect, 0);
}

/* Timer: (re)start the watch, or replace the session (outside any callback of
 * the objects freed here). */
static void reconnect_fire(void *ud)
{
	struct kx__pf *p = ud;
	if (p->done)
		return;
	if (!p->reconnecting)
		return;
	kx__informer_free(p->watch);
	p->watch = NULL;
	sess_drop(p->pin);
	if (++p->tries > PF_RECONNECT_TRIES) {
		pf_finish(p, kx__fail(p->eb, KX_ERR_CLOSED, "lost connection to pod: gave up after %d attempts",
				      PF_RECONNECT_TRIES));
		return;
	}
	/* Choose a pod again inside the loop: connections keep being accepted
	 * (they wait for the new session) and signals keep working meanwhile. */
	struct kx_errbuf eb2 = {0};
	kx__pod_resolver_free(p->resolver);
	p->resolver = NULL;
	if (kx__pod_resolve_start(p->client, p->loop, p->ns, p->opts->resolve_target, KX_PICK_READY,
				  p->opts->resolve_timeout_ms, resolved, p, &p->resolver, &eb2))
		resolved(p, KX_ERR_CONNECT, NULL, &eb2);
}

/* The resolver's answer: a Ready pod (carry on with it), the API server away
 * (ask again shortly), or none within --pod-running-timeout (give up). */
static void resolved(void *ud, kx_err err, cJSON *pod, const struct kx_errbuf *eb)
{
	struct kx__pf *p = ud;
	const struct kx_status *st = kx_client_status(p->client);
	char why[700];
	snprintf(why, sizeof why, "%s", eb && eb->msg[0] ? eb->msg : "");
	if (!err) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "name"));
		if (name && kx_pod_is_ready(pod)) {
			const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
			const char *rv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion"));
			const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "uid"));
			snprintf(p->pin->pod, sizeof p->pin->pod, "%s", name);
			snprintf(p->rv, sizeof p->rv, "%s", rv ? rv : "");
			snprintf(p->pin->uid, sizeof p->pin->uid, "%s", uid ? uid : "");
		} else {
			err = KX_ERR_NOT_FOUND;
			why[0] = '\0';
		}
	}
	cJSON_Delete(pod);
	if (p->done)
		return;
	if (err == KX_ERR_CONNECT || err == KX_ERR_REFUSED || err == KX_ERR_TIMEOUT || err == KX_ERR_CLOSED ||
	    (err == KX_ERR_API && st && st->code >= 500)) {
		/* The API server itself is away (restarting): ask again shortly. */
		kx__timer_arm(p->loop, &p->reconnect, 500L * p->tries);
		return;
	}
	if (err == KX_ERR_API)
		pf_finish(p, kx__fail(p->eb, err, "no Ready pod for %.100s within --pod-running-timeout: %.300s",
				      p->opts->resolve_target, st ? st->message : why));
	else if (err)
		pf_finish(p, kx__fail(p->eb, err, "%s", why[0] ? why : "no Ready pod within --pod-running-timeout"));
	else
		start_session(p);
}

static void start_session(struct kx__pf *p)
{
	struct kx_errbuf eb2 = {0};
	p->pin->use_ws = p->use_ws;
	if (sess_open(p->pin, &eb2)) {
		/* Try again shortly: the API server may be restarting. */
		kx__timer_arm(p->loop, &p->reconnect, 500L * p->tries);
	}
}

/* ---- the forward's life in its owner's loop ---- */

static char *dup_or_null(const char *v, int *fail)
{
	char *d = v ? strdup(v) : NULL;
	if (v && !d)
		*fail = 1;
	return d;
}

/* The forward keeps its own copy of the options: its owner's strings may go
 * (kx forward builds them per service, then lets them go). */
static kx_err copy_opts(struct kx__pf *p, const struct kx_pf_opts *o)
{
	int fail = 0;
	p->own = *o;
	p->own.namespace_ = dup_or_null(o->namespace_, &fail);
	p->own.pod = dup_or_null(o->pod, &fail);
	p->own.pod_resource_version = dup_or_null(o->pod_resource_version, &fail);
	p->own.pod_uid = dup_or_null(o->pod_uid, &fail);
	p->own.resolve_target = dup_or_null(o->resolve_target, &fail);
	p->own.balance_selector = dup_or_null(o->balance_selector, &fail);
	struct kx_pf_port *ports = calloc(o->nports ? o->nports : 1, sizeof *ports);
	p->own.ports = ports;
	if (!ports)
		fail = 1;
	for (size_t i = 0; ports && i < o->nports; i++) {
		ports[i] = o->ports[i];
		ports[i].remote_name = dup_or_null(o->ports[i].remote_name, &fail);
	}
	p->own.addresses = NULL;
	p->own.naddresses = 0;
	if (o->addresses && o->naddresses) {
		const char **addrs = calloc(o->naddresses, sizeof *addrs);
		p->own.addresses = addrs;
		if (!addrs)
			fail = 1;
		for (size_t i = 0; addrs && i < o->naddresses; i++)
			addrs[i] = dup_or_null(o->addresses[i], &fail);
		if (addrs)
			p->own.naddresses = o->naddresses;
	}
	return fail ? kx__fail(p->eb, KX_ERR_NOMEM, "out of memory") : KX_OK;
}

static void free_opts(struct kx_pf_opts *o)
{
	free((char *)o->namespace_);
	free((char *)o->pod);
	free((char *)o->pod_resource_version);
	free((char *)o->pod_uid);
	free((char *)o->resolve_target);
	free((char *)o->balance_selector);
	for (size_t i = 0; o->ports && i < o->nports; i++)
		free((char *)o->ports[i].remote_name);
	free((struct kx_pf_port *)o->ports);
	for (size_t i = 0; i < o->naddresses; i++)
		free((char *)o->addresses[i]);
	free((char **)o->addresses);
}

/* Everything closed and the owner let go: free what is left, say so. */
static void reap_task(void *ud)
{
	struct kx__pf *p = ud;
	if (!p->released || !p->torn_down || p->nopen || p->conns)
		return;
	while (p->sessions)
		sess_free(p->sessions);
	kx__task_cancel(p->loop, &p->reap);
	kx__task_cancel(p->loop, &p->teardown);
	struct kx__pf_hooks hooks = p->hooks;
	void *ud2 = p->hooks_ud;
	free_opts(&p->own);
	kx__memzero(&p->ci.creds, sizeof p->ci.creds);
	free(p);
	if (hooks.on_closed)
		hooks.on_closed(ud2);
}

/* Task: the forward ended (pf_finish). Stop everything that could start new
 * work, end the connections ("shutdown"; their close callbacks free them),
 * tell each session's server it is over, close the listeners. */
static void teardown_task(void *ud)
{
	struct kx__pf *p = ud;
	kx__timer_cancel(&p->reconnect);
	kx__timer_cancel(&p->sweep);
	kx__timer_cancel(&p->retry);
	kx__informer_free(p->watch);
	p->watch = NULL;
	kx__pod_resolver_free(p->resolver);
	p->resolver = NULL;
	for (struct pf_conn *c = p->conns, *next; c; c = next) {
		next = c->next;
		conn_close(c); /* resets its streams while the session is still there */
		if (!c->io.h)
			conn_free(c); /* an orphan: no socket whose close would free it */
	}
	for (struct pf_sess *s = p->sessions; s; s = s->next) {
		if (s->spdy) {
			kx__spdy_goaway(s->spdy, KX_SPDY_GOAWAY_OK, NULL);
			kx__upconn_send_spdy(s->conn, s->spdy);
		}
		kx__upconn_close(s->conn);
		sess_drop(s);
		kx__timer_cancel(&s->fallback);
	}
	for (size_t i = 0; i < p->nlisteners; i++)
		kx__io_close(&p->listeners[i].io);
	p->torn_down = 1;
	if (p->err && p->hooks.on_end)
		p->hooks.on_end(p->hooks_ud, p->err, p->eb); /* may call kx__pf_stop */
	if (!p->released)
		return;
	if (!p->nopen)
		kx__loop_defer(p->loop, &p->reap);
}

void kx__pf_stop(struct kx__pf *p)
{
	if (!p || p->released)
		return;
	p->released = 1;
	if (!p->done)
		pf_finish(p, KX_OK);
	else if (p->torn_down && !p->nopen)
		kx__loop_defer(p->loop, &p->reap);
}

kx_err kx__pf_start(struct kx_client *c, struct kx_loop *l, const struct kx_pf_opts *opts,
		    const struct kx__pf_hooks *hooks, void *ud, struct kx__pf **out,
		    struct kx_errbuf *eb)
{
	*out = NULL;
	if (!opts->nports || (!opts->pod && !opts->balance_selector))
		return kx__fail(eb, KX_ERR_INVALID, "port-forward needs a pod (or a selector) and at least one port");
	struct kx__pf *p = calloc(1, sizeof *p);
	if (!p)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	*p = (struct kx__pf){.client = c, .loop = l, .hooks_ud = ud};
	p->opts = &p->own;
	p->eb = &p->ebuf;
	if (hooks)
		p->hooks = *hooks;
	p->reconnect = (struct kx_timer){.fn = reconnect_fire, .ud = p};
	p->sweep = (struct kx_timer){.fn = sweep_fire, .ud = p};
	p->retry = (struct kx_timer){.fn = retry_fire, .ud = p};
	p->teardown = (struct kx_task){.fn = teardown_task, .ud = p};
	p->reap = (struct kx_task){.fn = reap_task, .ud = p};
	p->transport = opts->transport;
	p->use_ws = p->transport != KX_TRANSPORT_SPDY;
	kx_err err = copy_opts(p, opts);
	p->ns = p->opts->namespace_ ? p->opts->namespace_ : kx_client_namespace(c);
	if (!err && opts->pod_resource_version && !opts->balance_selector)
		snprintf(p->rv, sizeof p->rv, "%s", opts->pod_resource_version);
	if (!err)
		err = kx__client_conn_info(c, &p->ci, p->eb);
	if (!err && p->opts->pod) {
		/* The first session goes to the pod the caller resolved: forwarding
		 * starts (listeners open) once it is up, as kubectl's does. Balancing
		 * then adds the target's other Ready pods from the watch. */
		struct pf_sess *first = sess_new(p, p->opts->pod, p->opts->pod_uid);
		if (!first)
			err = kx__fail(p->eb, KX_ERR_NOMEM, "out of memory");
		else if (!p->opts->balance_selector)
			p->pin = first;
		else
			first->ready = 1;
		if (!err)
			err = sess_open(first, p->eb);
	} else if (!err) {
		/* No pod yet: listen now, the watch brings the endpoints. */
		err = start_listeners(p);
		if (!err) {
			p->listening = 1;
			event(p, KX_PF_READY, NULL, 0, 0, NULL);
			start_watch(p);
		}
	}
	if (err) {
		kx__fail(eb, err, "%s", p->ebuf.msg);
		/* Nothing ran in the loop yet: close at once what was opened. */
		kx__informer_free(p->watch);
		for (size_t i = 0; i < p->nlisteners; i++)
			kx__io_detach(&p->listeners[i].io);
		while (p->sessions)
			sess_free(p->sessions);
		free_opts(&p->own);
		kx__memzero(&p->ci.creds, sizeof p->ci.creds);
		free(p);
		return err;
	}
	*out = p;
	return KX_OK;
}

/* ---- kx_port_forward: one forward in a loop of its own ---- */

kx_err kx__pf_end_signals(struct kx_loop *l, struct kx_io *io, sigset_t *old_mask, struct kx_errbuf *eb)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	return kx__loop_signals(l, &set, old_mask, io, eb);
}

struct pf_run {
	struct kx_loop *loop;
	struct kx__pf *pf;
	kx_err err;
	struct kx_errbuf *eb;
	struct kx_io signal_io;
};

static void run_end(void *ud, kx_err err, const struct kx_errbuf *eb)
{
	struct pf_run *r = ud;
	r->err = kx__fail(r->eb, err, "%s", eb->msg);
	kx__pf_stop(r->pf);
}

static void run_closed(void *ud)
{
	struct pf_run *r = ud;
	r->pf = NULL;
	kx__loop_stop(r->loop);
}

static void run_signal(struct kx_io *io, enum kx_io_event ev)
{
	struct pf_run *r = io->owner;
	if (ev != KX_IO_READABLE)
		return;
	struct signalfd_siginfo si;
	while (read(kx__io_fd(io), &si, sizeof si) == (ssize_t)sizeof si)
		kx__pf_stop(r->pf); /* a clean end: KX_OK */
}

kx_err kx_port_forward(struct kx_client *c, const struct kx_pf_opts *opts, struct kx_errbuf *eb)
{
	if (!opts->pod || !opts->nports)
		return kx__fail(eb, KX_ERR_INVALID, "port-forward needs a pod and at least one port");
	struct pf_run r = {.eb = eb};
	static const struct kx__pf_hooks hooks = {.on_end = run_end, .on_closed = run_closed};
	sigset_t old_mask;
	int mask_saved = 0;
	kx_err err = kx__loop_new(&r.loop, eb);
	if (!err && opts->handle_signals) {
		r.signal_io = (struct kx_io){.fn = run_signal, .owner = &r};
		mask_saved = 1;
		err = kx__pf_end_signals(r.loop, &r.signal_io, &old_mask, eb);
	}
	if (!err)
		err = kx__pf_start(c, r.loop, opts, &hooks, &r, &r.pf, eb);
	if (!err) {
		kx__loop_run(r.loop); /* until the forward is closed */
		err = r.err;
	}
	kx__loop_free(r.loop);
	if (mask_saved)
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return err;
}
