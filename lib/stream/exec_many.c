/* SPDX-License-Identifier: Apache-2.0 */
/* kx_exec_many: the same command in many containers at once — one event loop,
 * at most max_parallel sessions open, each a normal exec session (the
 * transports of exec_ws.c/exec_spdy.c, SPDY first with WebSocket when the
 * upgrade is refused, as kx_exec) whose end calls back here instead of stopping
 * the loop. Output leaves as whole prefixed lines (lines.c); stdin is read once,
 * in the loop, and every session sends the same bytes from memory. */
#include <kx/exec.h>
#include "exec_internal.h"
#include "lines.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

enum { M_WAITING, M_RUNNING, M_ENDED, M_REAPED };

struct group;

struct member {
	struct group *g;
	int state;
	enum kx_transport t;          /* the transport of the current attempt */
	struct kx_exec_session s;
	struct kx_exec_opts eo;
	struct kx_exec_result xres;
	struct kx_errbuf eb;
	struct kx__lines lines[2];    /* stdout, stderr */
	const char *prefix;
	size_t plen;
	long long t0;
};

struct group {
	struct kx_client *c;
	const struct kx_exec_many_opts *o;
	struct kx_exec_many_result *res;
	struct kx_errbuf *eb;
	struct kx_loop *loop;
	struct member *m;
	size_t n, next, open, ended;
	size_t maxp;
	/* Closing sessions and opening more: a task after the batch of events in
	 * which a session ended (freeing a session cancels its own queued tasks,
	 * even in the batch being run). */
	struct kx_task pump;
	struct kx_io stdin_io, signal_io;
	struct kx_buf in;             /* all of stdin, shared by the sessions */
	int in_done;
	sigset_t old_mask;
	int mask_saved;
	int signal;
	kx_err fatal;
	struct kx_buf out;            /* prefixed lines on their way to a descriptor */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void stop_all(struct group *g, kx_err err, int sig)
{
	if (!g->fatal) {
		g->fatal = err;
		g->signal = sig;
	}
	kx__loop_stop(g->loop);
}

static kx_err write_out(struct group *g, int fd)
{
	int e = g->out.len ? kx__exec_write_fd(fd, g->out.data, g->out.len) : 0;
	kx_buf_clear(&g->out);
	if (e == EPIPE) {
		stop_all(g, KX_ERR_INTERRUPTED, SIGPIPE);
		return KX_ERR_INTERRUPTED;
	}
	if (e) {
		if (!g->fatal)
			kx__fail(g->eb, KX_ERR_IO, "writing output: %s", strerror(e));
		stop_all(g, KX_ERR_IO, 0);
		return KX_ERR_IO;
	}
	return KX_OK;
}

static kx_err sink(struct kx_exec_session *s, int is_err, const void *data, size_t len)
{
	struct member *m = s->owner;
	struct group *g = m->g;
	struct kx_exec_many_result *r = &g->res[m - g->m];
	if (is_err)
		r->err_bytes += len;
	else
		r->out_bytes += len;
	if (g->o->count_only)
		return KX_OK;
	/* A slice at a time: prefixes can make many short lines several times
	 * larger, and what is gathered before a write stays bounded. */
	const char *p = data;
	kx_err err = KX_OK;
	while (!err && len) {
		size_t n = KX_MIN(len, (size_t)4096);
		if (kx__lines_feed(&m->lines[is_err], m->prefix, m->plen, p, n, &g->out)) {
			kx_buf_clear(&g->out);
			return kx__fail(s->eb, KX_ERR_NOMEM, "out of memory");
		}
		err = write_out(g, is_err ? g->o->err_fd : g->o->out_fd);
		p += n;
		len -= n;
	}
	return err;
}

static void on_end(struct kx_exec_session *s)
{
	struct member *m = s->owner;
	if (m->state != M_RUNNING)
		return;
	m->state = M_ENDED;
	kx__loop_defer(m->g->loop, &m->g->pump);
}

static void start(struct group *g, struct member *m)
{
	const struct kx_exec_target *tg = &g->o->targets[m - g->m];
	m->s = (struct kx_exec_session){
		.client = g->c, .opts = &m->eo, .res = &m->xres, .eb = &m->eb,
		.ns = tg->namespace_ ? tg->namespace_ : kx_client_namespace(g->c),
		.loop = g->loop,
		.on_end = on_end, .sink = sink, .owner = m,
		.stdin_buf = KX_BUF_INIT(KX_EXEC_STDIN_HIGH + 65536),
		.out = KX_BUF_INIT(KX_EXEC_OUT_BATCH * 2),
		.mem_stdin = g->o->use_stdin,
		.mem_in = (const unsigned char *)(g->in.data ? g->in.data : ""),
		.mem_len = g->in.len,
	};
	m->s.out_task = (struct kx_task){.fn = kx__exec_flush_task, .ud = &m->s};
	memset(&m->xres, 0, sizeof m->xres);
	m->xres.exit_code = -1;
	m->xres.used = m->t;
	memset(&m->eb, 0, sizeof m->eb);
	m->s.ops = m->t == KX_TRANSPORT_WEBSOCKET ? &kx__exec_ws_ops : &kx__exec_spdy_ops;
	m->state = M_RUNNING;
	kx_err err = kx__client_conn_info(g->c, &m->s.ci, &m->eb);
	if (!err)
		err = m->s.ops->start(&m->s);
	if (err && !m->s.done) {
		m->s.done = 1;
		m->s.err = err;
		on_end(&m->s);
	}
}

/* The member's outcome into its result; what is left of its lines goes out. */
static void record(struct group *g, struct member *m)
{
	struct kx_exec_many_result *r = &g->res[m - g->m];
	r->ran = 1;
	r->err = m->s.done ? m->s.err : KX_ERR_INTERRUPTED;
	r->exit_code = r->err ? -1 : m->xres.exit_code;
	r->lost = r->err == KX_ERR_CLOSED;
	r->used = m->xres.used;
	r->duration_ms = now_ms() - m->t0;
	if (r->err == KX_ERR_INTERRUPTED && !m->s.done)
		snprintf(r->error, sizeof r->error, "interrupted");
	else
		snprintf(r->error, sizeof r->error, "%s", m->eb.msg[0] ? m->eb.msg : kx_strerror(r->err));
	if (!r->err)
		r->error[0] = '\0';
	for (int i = 0; i < 2; i++) {
		if (!g->o->count_only && !g->fatal &&
		    !kx__lines_finish(&m->lines[i], m->prefix, m->plen, &g->out))
			write_out(g, i ? g->o->err_fd : g->o->out_fd);
		kx_buf_clear(&g->out);
		kx__lines_free(&m->lines[i]);
	}
}

static void release(struct member *m)
{
	if (m->s.ops && m->s.ops->cleanup)
		m->s.ops->cleanup(&m->s);
	kx__task_cancel(m->g->loop, &m->s.out_task);
	kx_buf_free(&m->s.stdin_buf);
	kx_buf_free(&m->s.out);
	free(m->s.stdin_chunk);
	m->s.stdin_chunk = NULL;
	kx__memzero(&m->s.ci.creds, sizeof m->s.ci.creds);
}

/* After each turn's events and tasks: close the sessions that ended (retrying one whose
 * SPDY upgrade was refused over WebSocket), then open more, up to max_parallel. */
static void pump(void *ud)
{
	struct group *g = ud;
	for (size_t i = 0; i < g->n; i++) {
		struct member *m = &g->m[i];
		if (m->state != M_ENDED)
			continue;
		release(m);
		if (m->s.err && m->s.upgrade_failed && m->t == KX_TRANSPORT_SPDY &&
		    g->o->transport == KX_TRANSPORT_AUTO) {
			m->t = KX_TRANSPORT_WEBSOCKET;
			start(g, m);
			continue;
		}
		record(g, m);
		m->state = M_REAPED;
		g->open--;
		g->ended++;
	}
	if (g->fatal)
		return;
	while ((!g->o->use_stdin || g->in_done) && g->open < g->maxp && g->next < g->n) {
		struct member *m = &g->m[g->next++];
		g->open++;
		m->t0 = now_ms();
		start(g, m);
	}
	if (g->ended == g->n)
		kx__loop_stop(g->loop);
}

static void stdin_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct group *g = io->owner;
	if (ev != KX_IO_READABLE) {
		if (ev == KX_IO_CLOSED && !g->in_done) {
			g->in_done = 1;
			kx__loop_defer(g->loop, &g->pump);
		}
		return;
	}
	char chunk[64 * 1024];
	ssize_t n = read(kx__io_fd(io), chunk, sizeof chunk);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		g->in_done = 1;
		kx__io_close(io);
		kx__loop_defer(g->loop, &g->pump);
		return;
	}
	if (g->in.len + (size_t)n > KX_EXEC_MANY_STDIN_MAX) {
		kx__fail(g->eb, KX_ERR_INVALID,
			 "stdin is larger than %d MiB, the most that is held to send to every pod",
			 KX_EXEC_MANY_STDIN_MAX >> 20);
		stop_all(g, KX_ERR_INVALID, 0);
		return;
	}
	if (kx_buf_append(&g->in, chunk, (size_t)n)) {
		kx__fail(g->eb, KX_ERR_NOMEM, "out of memory");
		stop_all(g, KX_ERR_NOMEM, 0);
	}
}

static void signal_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct group *g = io->owner;
	struct signalfd_siginfo si;
	if (ev != KX_IO_READABLE)
		return;
	while (read(kx__io_fd(io), &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGWINCH)
			continue;
		kx__fail(g->eb, KX_ERR_INTERRUPTED, "interrupted by signal %d", (int)si.ssi_signo);
		stop_all(g, KX_ERR_INTERRUPTED, (int)si.ssi_signo);
	}
}

static kx_err start_local(struct group *g)
{
	kx_err err = KX_OK;
	if (g->o->handle_signals) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGHUP);
		g->signal_io = (struct kx_io){.fn = signal_cb, .owner = g};
		g->mask_saved = 1;
		err = kx__loop_signals(g->loop, &set, &g->old_mask, &g->signal_io, g->eb);
	}
	if (!err && g->o->use_stdin) {
		int fd = dup(g->o->in_fd);
		if (fd < 0) {
			g->in_done = 1; /* no stdin at all: empty */
		} else {
			g->stdin_io = (struct kx_io){.fn = stdin_cb, .owner = g};
			if ((err = kx__loop_adopt_fd(g->loop, fd, &g->stdin_io, g->eb)))
				close(fd);
		}
	}
	return err;
}

kx_err kx_exec_many(struct kx_client *c, const struct kx_exec_many_opts *o,
		    struct kx_exec_many_result *res, int *signal, struct kx_errbuf *eb)
{
	*signal = 0;
	memset(res, 0, sizeof *res * o->ntargets);
	for (size_t i = 0; i < o->ntargets; i++)
		res[i].exit_code = -1;
	if (!o->ntargets || !o->argv || !o->argv[0])
		return kx__fail(eb, KX_ERR_INVALID, "exec needs pods and a command");
	struct group g = {
		.c = c, .o = o, .res = res, .eb = eb, .n = o->ntargets,
		.maxp = o->max_parallel > 0 ? (size_t)o->max_parallel : 10,
		.in = KX_BUF_INIT(KX_EXEC_MANY_STDIN_MAX),
		.out = KX_BUF_INIT(16 * 1024 * 1024),
	};
	g.pump = (struct kx_task){.fn = pump, .ud = &g};
	if (!(g.m = calloc(g.n, sizeof *g.m)))
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < g.n; i++) {
		struct member *m = &g.m[i];
		const struct kx_exec_target *tg = &o->targets[i];
		m->g = &g;
		m->t = o->transport == KX_TRANSPORT_WEBSOCKET ? KX_TRANSPORT_WEBSOCKET : KX_TRANSPORT_SPDY;
		m->prefix = tg->prefix ? tg->prefix : "";
		m->plen = strlen(m->prefix);
		m->eo = (struct kx_exec_opts){
			.namespace_ = tg->namespace_, .pod = tg->pod, .container = tg->container,
			.argv = o->argv, .use_stdin = o->use_stdin,
			.in_fd = -1, .out_fd = o->out_fd, .err_fd = o->err_fd, .tty_fd = -1,
			.transport = o->transport,
		};
	}
	kx_err err = kx__loop_new(&g.loop, eb);
	if (!err && !(err = start_local(&g))) {
		kx__loop_defer(g.loop, &g.pump);
		kx__loop_run(g.loop);
		err = g.fatal;
	}
	/* Sessions still open (a signal, a closed output): their outcome, then the
	 * loop closes their connections before their transports are freed. */
	for (size_t i = 0; g.loop && i < g.n; i++)
		if (g.m[i].state == M_RUNNING || g.m[i].state == M_ENDED)
			record(&g, &g.m[i]);
	kx__task_cancel(g.loop, &g.pump);
	kx__loop_free(g.loop);
	g.loop = NULL;
	for (size_t i = 0; i < g.n; i++) {
		if (g.m[i].state == M_RUNNING || g.m[i].state == M_ENDED)
			release(&g.m[i]);
		kx__lines_free(&g.m[i].lines[0]);
		kx__lines_free(&g.m[i].lines[1]);
	}
	if (g.mask_saved)
		sigprocmask(SIG_SETMASK, &g.old_mask, NULL);
	*signal = g.signal;
	kx_buf_free(&g.in);
	kx_buf_free(&g.out);
	free(g.m);
	return err;
}
