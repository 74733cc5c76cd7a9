/* SPDX-License-Identifier: Apache-2.0 */
/* kx_exec: run a command in a container — one session in a loop of its own,
 * with local stdio and signals. The session itself is exec_session.c, the wire
 * formats exec_ws.c (WebSocket channels) and exec_spdy.c (SPDY streams). */
#include <kx/exec.h>
#include "exec_internal.h"

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
	kx_err ferr = kx__exec_flush_output(s);
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
		.out = KX_BUF_INIT(KX_EXEC_OUT_BATCH * 2),
	};
	s.out_task = (struct kx_task){.fn = kx__exec_flush_task, .ud = &s};
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
	free(s.stdin_chunk);
	kx__memzero(&s.ci.creds, sizeof s.ci.creds);
	return err;
}
