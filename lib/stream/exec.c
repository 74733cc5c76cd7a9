/* SPDX-License-Identifier: Apache-2.0 */
/* kx_exec: run a command in a container. The session here is shared by both
 * transports — local stdio, signals, resize, exit status — and the wire format
 * lives in exec_ws.c (WebSocket channels) and exec_spdy.c (SPDY streams). */
#include <kx/exec.h>
#include "exec_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

kx_err kx_transport_from_env(enum kx_transport *out, struct kx_errbuf *eb)
{
	const char *v = getenv("KX_TRANSPORT");
	*out = KX_TRANSPORT_AUTO;
	if (!v || !*v || !strcmp(v, "auto"))
		return KX_OK;
	if (!strcmp(v, "websocket"))
		*out = KX_TRANSPORT_WEBSOCKET;
	else if (!strcmp(v, "spdy"))
		*out = KX_TRANSPORT_SPDY;
	else
		return kx__fail(eb, KX_ERR_INVALID,
				"KX_TRANSPORT=%s: expected websocket, spdy or auto", v);
	return KX_OK;
}

kx_err kx__exec_path(const struct kx_exec_session *s, struct kx_buf *path)
{
	const struct kx_exec_opts *o = s->opts;
	*path = (struct kx_buf)KX_BUF_INIT(1 << 20);
	kx_err err = kx_buf_printf(path, "%s/api/v1/namespaces/%s/pods/%s/%s", s->ci.path_prefix,
				   s->ns, o->pod, o->attach ? "attach" : "exec");
	for (size_t i = 0; !err && !o->attach && o->argv[i]; i++)
		err = kx_buf_query(path, "command", o->argv[i]);
	if (!err && o->container)
		err = kx_buf_query(path, "container", o->container);
	if (!err)
		err = kx_buf_query(path, "stdin", o->use_stdin ? "true" : "false");
	if (!err)
		err = kx_buf_query(path, "stdout", "true");
	if (!err)
		err = kx_buf_query(path, "stderr", o->tty ? "false" : "true");
	if (!err)
		err = kx_buf_query(path, "tty", o->tty ? "true" : "false");
	return err;
}

/* Write everything, waiting (poll) when the descriptor is non-blocking and full.
 * Output is written synchronously: a full stdout stops the loop from reading the
 * connection, which is the backpressure the server's reader expects. */
static kx_err write_all(struct kx_exec_session *s, int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			poll(&pfd, 1, -1);
			continue;
		}
		if (n < 0 && errno == EPIPE) {
			/* The reader went away (`kx exec … | head`): end quietly, as a
			 * process killed by SIGPIPE would (kubectl exits 141 here). */
			s->res->signal = SIGPIPE;
			s->output_failed = 1;
			return KX_ERR_INTERRUPTED;
		}
		if (n < 0) {
			if (!s->output_failed)
				kx__fail(s->eb, KX_ERR_IO, "writing output: %s", strerror(errno));
			s->output_failed = 1;
			return KX_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return KX_OK;
}

#define EXEC_OUT_BATCH (128 * 1024)

static kx_err flush_output(struct kx_exec_session *s)
{
	if (!s->out.len)
		return KX_OK;
	kx_err err = write_all(s, s->out_fd, s->out.data, s->out.len);
	kx_buf_clear(&s->out);
	return err;
}

static void flush_task(void *ud)
{
	struct kx_exec_session *s = ud;
	kx_err err = flush_output(s);
	if (err)
		kx__exec_finish(s, err);
}

kx_err kx__exec_output(struct kx_exec_session *s, int fd, const void *data, size_t len)
{
	kx_err err;
	if (s->out.len && fd != s->out_fd && (err = flush_output(s)))
		return err;
	if (!s->out.len && len >= EXEC_OUT_BATCH)
		return write_all(s, fd, data, len);
	s->out_fd = fd;
	if (kx_buf_append(&s->out, data, len)) {
		s->out = (struct kx_buf)KX_BUF_INIT(EXEC_OUT_BATCH * 2);
		return write_all(s, fd, data, len);
	}
	if (s->out.len >= EXEC_OUT_BATCH)
		return flush_output(s);
	kx__loop_defer(s->loop, &s->out_task);
	return KX_OK;
}

void kx__exec_refused(struct kx_exec_session *s, int code, const char *body, size_t len)
{
	struct kx_status st;
	kx_status_decode(body, len, code, &st);
	cJSON *doc = cJSON_ParseWithLength(body, len);
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "kind"));
	if (!kind || strcmp(kind, "Status") || strstr(st.message, "pgrade"))
		s->upgrade_failed = 1;
	cJSON_Delete(doc);
	kx__client_set_status(s->client, &st);
	kx__fail(s->eb, KX_ERR_API, "%s", st.message);
	kx__exec_finish(s, KX_ERR_API);
}

void kx__exec_finish(struct kx_exec_session *s, kx_err err)
{
	kx_err ferr = flush_output(s); /* what came before the end goes out first */
	if (ferr && !err)
		err = ferr;
	if (!s->done) {
		s->done = 1;
		s->err = err;
	}
	kx__loop_stop(s->loop);
}

void kx__exec_status(struct kx_exec_session *s, const char *json, size_t len)
{
	struct kx_status st;
	kx_status_decode(json, len, 0, &st);
	s->got_status = 1;
	if (!strcmp(st.status, "Success")) {
		s->res->exit_code = 0;
	} else if (st.exit_code >= 0 && !strcmp(st.reason, "NonZeroExitCode")) {
		s->res->exit_code = st.exit_code;
	} else {
		/* A failure that is not the command's own exit (it could not be
		 * started): the server's message. It came over the stream, not as an
		 * HTTP answer, so no kx_client_status (client-go too reports it as a
		 * plain error, not an API status). */
		kx__fail(s->eb, KX_ERR_API, "%s", st.message);
		kx__exec_finish(s, KX_ERR_API);
		return;
	}
	kx__exec_finish(s, KX_OK);
}

/* The terminal's size, for the resize channel/stream. */
int kx__exec_tty_size(const struct kx_exec_session *s, unsigned *cols, unsigned *rows)
{
	struct winsize ws;
	if (s->opts->tty_fd < 0 || ioctl(s->opts->tty_fd, TIOCGWINSZ, &ws) || !ws.ws_col)
		return -1;
	*cols = ws.ws_col;
	*rows = ws.ws_row;
	return 0;
}

void kx__exec_stdin_flow(struct kx_exec_session *s)
{
	int want = s->stdin_buf.len < KX_EXEC_STDIN_HIGH && s->transport_ready;
	if (s->stdin_io.h && want != s->stdin_reading) {
		kx__io_read(&s->stdin_io, want);
		s->stdin_reading = want;
	}
}

void kx__exec_stdin_stop(struct kx_exec_session *s)
{
	s->transport_ready = 0;
	kx_buf_clear(&s->stdin_buf);
	kx__exec_stdin_flow(s);
}

/* Local stdin: read into the bounded buffer, then ask the transport to send. */
static void stdin_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct kx_exec_session *s = io->owner;
	switch (ev) {
	case KX_IO_READABLE: {
		static char chunk[KX_EXEC_STDIN_HIGH]; /* one read per wakeup up to the bound (one loop per process) */
		size_t room = KX_EXEC_STDIN_HIGH > s->stdin_buf.len ? KX_EXEC_STDIN_HIGH - s->stdin_buf.len : 0;
		if (!room) {
			kx__exec_stdin_flow(s);
			return;
		}
		ssize_t n = read(kx__io_fd(io), chunk, KX_MIN(room, sizeof chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n <= 0) {
			s->stdin_eof = 1;
			kx__io_close(io);
			s->ops->kick(s);
			return;
		}
		if (kx_buf_append(&s->stdin_buf, chunk, (size_t)n)) {
			kx__fail(s->eb, KX_ERR_NOMEM, "out of memory");
			kx__exec_finish(s, KX_ERR_NOMEM);
			kx__io_close(io);
			return;
		}
		kx__exec_stdin_flow(s);
		s->ops->kick(s);
		return;
	}
	case KX_IO_CLOSED:
		if (!s->stdin_eof) {
			s->stdin_eof = 1;
			s->ops->kick(s);
		}
		return;
	case KX_IO_WRITABLE:
		return;
	}
}

/* Signals arrive on a signalfd, inside the loop. */
static void signal_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct kx_exec_session *s = io->owner;
	if (ev != KX_IO_READABLE)
		return;
	struct signalfd_siginfo si;
	while (read(kx__io_fd(io), &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGWINCH) {
			s->resize_pending = 1;
			s->ops->kick(s);
		} else {
			s->res->signal = (int)si.ssi_signo;
			kx__fail(s->eb, KX_ERR_INTERRUPTED, "interrupted by signal %d", (int)si.ssi_signo);
			kx__exec_finish(s, KX_ERR_INTERRUPTED);
		}
	}
}

static kx_err start_local(struct kx_exec_session *s)
{
	if (!s->opts->handle_signals)
		return KX_OK;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	s->signal_io = (struct kx_io){.fn = signal_cb, .owner = s};
	s->mask_saved = 1;
	return kx__loop_signals(s->loop, &set, &s->old_mask, &s->signal_io, s->eb);
}

/* Called by a transport when it can carry stdin. */
kx_err kx__exec_start_stdin(struct kx_exec_session *s)
{
	s->transport_ready = 1;
	if (!s->opts->use_stdin) {
		s->stdin_eof = 1;
		return KX_OK;
	}
	/* A dup, so closing the handle leaves the caller's descriptor open. */
	int fd = dup(s->opts->in_fd);
	if (fd < 0) {
		s->stdin_eof = 1; /* no stdin at all (closed): EOF at once */
		s->ops->kick(s);
		return KX_OK;
	}
	s->stdin_io = (struct kx_io){.fn = stdin_cb, .owner = s};
	kx_err err = kx__loop_adopt_fd(s->loop, fd, &s->stdin_io, s->eb);
	if (err)
		close(fd);
	s->stdin_reading = 1;
	return err;
}

static kx_err run_transport(struct kx_exec_session *s, const struct kx_exec_transport_ops *ops)
{
	kx_err err;
	s->ops = ops;
	s->done = 0;
	s->err = KX_OK;
	s->got_status = 0;
	s->upgrade_failed = 0;
	if ((err = kx__loop_new(&s->loop, s->eb)))
		return err;
	if (!(err = start_local(s)) && !(err = ops->start(s)))
		kx__loop_run(s->loop);
	if (!err)
		err = s->err;
	kx_err ferr = flush_output(s);
	if (ferr && !err)
		err = ferr;
	kx__task_cancel(s->loop, &s->out_task);
	/* Destroying the loop closes its connections, whose callbacks still see the
	 * transport's state: free that afterwards. */
	kx__loop_free(s->loop);
	s->loop = NULL;
	if (ops->cleanup)
		ops->cleanup(s);
	s->stdin_io.h = s->signal_io.h = NULL;
	if (s->mask_saved) {
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
		s->mask_saved = 0;
	}
	return err;
}

kx_err kx_exec(struct kx_client *c, const struct kx_exec_opts *opts, struct kx_exec_result *res,
	       struct kx_errbuf *eb)
{
	memset(res, 0, sizeof *res);
	res->exit_code = -1;
	if (!opts->pod || (!opts->attach && (!opts->argv || !opts->argv[0])))
		return kx__fail(eb, KX_ERR_INVALID, "exec needs a pod and a command");
	struct kx_exec_session s = {
		.client = c, .opts = opts, .res = res, .eb = eb,
		.ns = opts->namespace_ ? opts->namespace_ : kx_client_namespace(c),
		.stdin_buf = KX_BUF_INIT(KX_EXEC_STDIN_HIGH + 65536),
		.out = KX_BUF_INIT(EXEC_OUT_BATCH * 2),
	};
	s.out_task = (struct kx_task){.fn = flush_task, .ud = &s};
	kx_err err = kx__client_conn_info(c, &s.ci, eb);
	if (err)
		return err;
	/* kx+: exec prefers SPDY. Over WebSocket the API server's stream translator
	 * reports a kubelet lost mid-command as Status Success (seen on 1.34 with the
	 * kubelet killed; kubectl then exits 0 on either transport), while over SPDY
	 * kx sees the connection drop before any Status and reports it. WebSocket is
	 * the fallback when the SPDY upgrade is refused (e.g. by a proxy). */
	enum kx_transport t = opts->transport;
	err = KX_ERR_UNSUPPORTED;
	if (t != KX_TRANSPORT_WEBSOCKET) {
		res->used = KX_TRANSPORT_SPDY;
		err = run_transport(&s, &kx__exec_spdy_ops);
		if (err && s.upgrade_failed && t == KX_TRANSPORT_AUTO) {
			memset(eb, 0, sizeof *eb);
			t = KX_TRANSPORT_WEBSOCKET;
		}
	}
	if (t == KX_TRANSPORT_WEBSOCKET) {
		res->used = KX_TRANSPORT_WEBSOCKET;
		if ((err = kx__client_conn_info(c, &s.ci, eb)) == KX_OK)
			err = run_transport(&s, &kx__exec_ws_ops);
	}
	kx_buf_free(&s.stdin_buf);
	kx_buf_free(&s.out);
	kx__memzero(&s.ci.creds, sizeof s.ci.creds);
	return err;
}
