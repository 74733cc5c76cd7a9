/* SPDX-License-Identifier: Apache-2.0 */
/* exec over WebSocket: the v5/v4.channel.k8s.io channel protocol — one binary
 * message per chunk, its first byte the channel (0 stdin, 1 stdout, 2 stderr,
 * 3 status, 4 resize; v5: 255 = close a channel). The WebSocket is kx's own
 * (upconn.c + wsframe.c, over a libcurl connection, so proxies work too). */
#include "exec_internal.h"
#include "upconn.h"
#include "wschannel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_CHUNK (128 * 1024)
#define WS_PING_MS 5000
#define WS_HANGUP_MS 60000   /* nothing received for this long: the connection is dead */

struct ws_state {
	struct kx_exec_session *s;
	struct kx__upconn *conn;
	int established;
	int v5;
	struct kx_chan_decoder dec;
	int stdin_closed_sent;
	int send_failed;              /* a write failed: send nothing more, read on */
	struct kx_timer ping;
	unsigned char msg[1 + WS_CHUNK];
};

/* One message: all of it goes, or nothing (then on_writable brings us back). */
static int send_msg(struct ws_state *w, int channel, const void *data, size_t len)
{
	w->msg[0] = (unsigned char)channel;
	if (len)
		memcpy(w->msg + 1, data, len);
	long n = kx__upconn_write(w->conn, w->msg, len + 1);
	if (n < 0)
		return -1;
	if (n == 0) {
		kx__upconn_want_write(w->conn);
		return 1;
	}
	return 0;
}

/* Send what is pending: resize first, then stdin, then its close. */
static void ws_kick(struct kx_exec_session *s)
{
	struct ws_state *w = s->transport;
	if (!w || !w->established || s->done || w->send_failed)
		return;
	for (;;) {
		int r;
		if (s->resize_pending && s->opts->tty) {
			unsigned cols, rows;
			if (kx__exec_tty_size(s, &cols, &rows)) {
				s->resize_pending = 0;
				continue;
			}
			char js[64];
			int n = kx__resize_json(js, sizeof js, cols, rows);
			if ((r = send_msg(w, KX_CH_RESIZE, js, (size_t)n)) == 0)
				s->resize_pending = 0;
		} else if (s->stdin_buf.len) {
			size_t n = KX_MIN(s->stdin_buf.len, (size_t)WS_CHUNK);
			if ((r = send_msg(w, KX_CH_STDIN, s->stdin_buf.data, n)) == 0) {
				kx_buf_consume(&s->stdin_buf, n);
				kx__exec_stdin_flow(s);
			}
		} else if (s->stdin_eof && s->opts->use_stdin && !w->stdin_closed_sent) {
			/* v5 can say "stdin ended"; v4 cannot (the remote keeps waiting). */
			unsigned char ch = KX_CH_STDIN;
			r = w->v5 ? send_msg(w, KX_CH_CLOSE, &ch, 1) : 0;
			if (r == 0)
				w->stdin_closed_sent = 1;
		} else {
			return;
		}
		if (r < 0) {
			/* The server stopped taking input — the command may have read
			 * what it wanted and exited (`head -c 1`). That ends stdin only:
			 * its output and status may be on the way, and on_closed decides
			 * once the connection has really ended. */
			w->send_failed = 1;
			kx__exec_stdin_stop(s);
			return;
		}
		if (r > 0)
			return; /* full: on_writable continues */
	}
}

static int sink_output(void *ud, int channel, const void *data, size_t len)
{
	struct kx_exec_session *s = ud;
	kx_err err = kx__exec_output(s, channel == KX_CH_STDOUT ? s->opts->out_fd : s->opts->err_fd,
				     data, len);
	if (err)
		kx__exec_finish(s, err);
	return err != KX_OK;
}

static int sink_status(void *ud, const char *json, size_t len)
{
	kx__exec_status(ud, json, len);
	return 0;
}

static void on_message(void *ud, const void *data, size_t len, int first, int last)
{
	struct ws_state *w = ud;
	struct kx_exec_session *s = w->s;
	if (s->done)
		return;
	const struct kx_chan_sink sink = {.on_output = sink_output, .on_status = sink_status, .ud = s};
	if (kx__chan_feed(&w->dec, &sink, first, last, data, len, s->eb) == KX_ERR_PROTOCOL)
		kx__exec_finish(s, KX_ERR_PROTOCOL);
}

static void on_upgraded(void *ud, const char *protocol)
{
	struct ws_state *w = ud;
	struct kx_exec_session *s = w->s;
	snprintf(s->res->protocol, sizeof s->res->protocol, "%s", protocol);
	w->v5 = !strcmp(protocol, "v5.channel.k8s.io");
	w->established = 1;
	if (s->opts->tty)
		s->resize_pending = 1;
	if (kx__exec_start_stdin(s)) {
		kx__exec_finish(s, KX_ERR_IO);
		return;
	}
	kx__timer_arm(s->loop, &w->ping, WS_PING_MS);
	ws_kick(s);
}

static void on_refused(void *ud, int code, const char *body, size_t len)
{
	struct ws_state *w = ud;
	kx__exec_refused(w->s, code, body, len);
}

static void on_writable(void *ud)
{
	struct ws_state *w = ud;
	ws_kick(w->s);
}

static void on_closed(void *ud, kx_err err, const struct kx_errbuf *ceb)
{
	struct ws_state *w = ud;
	struct kx_exec_session *s = w->s;
	if (s->done || s->got_status) {
		kx__exec_end(s);
		return;
	}
	if (!w->established && err && ceb && ceb->msg[0]) {
		kx__fail(s->eb, err, "%s", ceb->msg);
		kx__exec_finish(s, err);
		return;
	}
	kx__fail(s->eb, KX_ERR_CLOSED, "lost connection to the pod before the command's exit status arrived");
	kx__exec_finish(s, KX_ERR_CLOSED);
}

static const struct kx__up_callbacks callbacks = {
	.on_upgraded = on_upgraded,
	.on_refused = on_refused,
	.on_message = on_message,
	.on_writable = on_writable,
	.on_closed = on_closed,
};


/* Keepalive as client-go: a ping every 5 s; a server silent for 60 s is gone. */
static void ping_fire(void *ud)
{
	struct ws_state *w = ud;
	struct kx_exec_session *s = w->s;
	if (s->done || !w->conn)
		return;
	if (kx__upconn_idle_ms(w->conn) > WS_HANGUP_MS) {
		kx__fail(s->eb, KX_ERR_TIMEOUT, "no answer from %s for %d s: the connection is lost",
			 s->ci.host_header, WS_HANGUP_MS / 1000);
		kx__exec_finish(s, KX_ERR_TIMEOUT);
		return;
	}
	kx__upconn_ping(w->conn);
	kx__timer_arm(s->loop, &w->ping, WS_PING_MS);
}

static kx_err ws_start(struct kx_exec_session *s)
{
	static const char *const protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io"};
	struct ws_state *w = calloc(1, sizeof *w);
	if (!w)
		return kx__fail(s->eb, KX_ERR_NOMEM, "out of memory");
	w->s = s;
	kx__chan_init(&w->dec);
	w->ping = (struct kx_timer){.fn = ping_fire, .ud = w};
	s->transport = w;
	struct kx_buf path;
	kx_err err = kx__exec_path(s, &path);
	if (!err) {
		struct kx__up_request rq = {.kind = KX_UP_WEBSOCKET, .path = path.data,
					    .protocols = protocols, .nprotocols = 2};
		err = kx__upconn_open(s->loop, &s->ci, &rq, &callbacks, w, &w->conn, s->eb);
	}
	kx_buf_free(&path);
	return err;
}

static void ws_cleanup(struct kx_exec_session *s)
{
	struct ws_state *w = s->transport;
	if (!w)
		return;
	/* Either the loop is gone (one session: it closed the socket) or it runs
	 * on (many sessions: freeing the connection lets go of its socket). */
	kx__timer_cancel(&w->ping);
	kx__upconn_free(w->conn);
	kx__chan_free(&w->dec);
	free(w);
	s->transport = NULL;
}

const struct kx_exec_transport_ops kx__exec_ws_ops = {
	.name = "websocket",
	.start = ws_start,
	.kick = ws_kick,
	.cleanup = ws_cleanup,
};
