/* SPDX-License-Identifier: Apache-2.0 */
/* exec over SPDY/3.1: an HTTP/1.1 Upgrade (upconn.c), then one
 * SPDY stream per role (error, stdin, stdout, stderr or resize), as client-go
 * opens them. The SPDY session itself is spdy.c (sans-IO). */
#include "exec_internal.h"
#include "spdy.h"
#include "upconn.h"
#include "wschannel.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PING_MS 5000
#define WRITE_CHUNK (64 * 1024)

enum role { R_ERROR, R_STDIN, R_STDOUT, R_STDERR, R_RESIZE, R_COUNT };
static const char *const role_names[R_COUNT] = {"error", "stdin", "stdout", "stderr", "resize"};

struct spdy_state {
	struct kx__upconn *conn;
	struct kx_exec_session *s;
	struct kx__spdy *spdy;
	int legacy;                   /* v1-v3 channel protocol: no Status on success */
	uint32_t id[R_COUNT];         /* 0 = not opened */
	int ended[R_COUNT];           /* FIN or reset seen */
	int replies;
	int opened;
	struct kx_buf status;
	int stdin_fin_sent;
	struct kx_timer ping;
};

static void flush(struct spdy_state *p)
{
	if (p->conn && p->spdy && kx__spdy_pending(p->spdy))
		kx__upconn_want_write(p->conn);
}

static enum role role_of(struct spdy_state *p, uint32_t id)
{
	for (int r = 0; r < R_COUNT; r++)
		if (p->id[r] == id)
			return (enum role)r;
	return R_COUNT;
}

static void maybe_done(struct spdy_state *p)
{
	struct kx_exec_session *s = p->s;
	if (!p->ended[R_ERROR])
		return;
	if ((p->id[R_STDOUT] && !p->ended[R_STDOUT]) || (p->id[R_STDERR] && !p->ended[R_STDERR]))
		return;
	if (!s->got_status) {
		if (p->status.len) {
			kx__exec_status(s, p->status.data, p->status.len);
		} else if (p->legacy) {
			/* v1-v3 say nothing on success. */
			kx__exec_status(s, "{\"status\":\"Success\"}", 20);
		} else {
			/* v4 and v5 always send a Status: its absence means the other end
			 * (kubelet, proxy) went away. client-go calls this a success. */
			kx__fail(s->eb, KX_ERR_CLOSED,
				 "lost connection to the pod before the command's exit status arrived");
			kx__exec_finish(s, KX_ERR_CLOSED);
		}
	}
	kx__exec_end(s);
}

static void on_reply(void *ud, uint32_t stream, const struct kx__spdy_headers *h)
{
	struct spdy_state *p = ud;
	(void)stream;
	(void)h;
	if (++p->replies == p->opened) {
		/* Every stream is accepted: stdin may flow, the terminal size goes first. */
		if (p->s->opts->tty)
			p->s->resize_pending = 1;
		if (kx__exec_start_stdin(p->s))
			kx__exec_finish(p->s, KX_ERR_IO);
		p->s->ops->kick(p->s);
	}
}

static void on_data(void *ud, uint32_t stream, const void *data, size_t len)
{
	struct spdy_state *p = ud;
	struct kx_exec_session *s = p->s;
	kx_err err = KX_OK;
	switch (role_of(p, stream)) {
	case R_STDOUT:
		err = kx__exec_output(s, s->opts->out_fd, data, len);
		break;
	case R_STDERR:
		err = kx__exec_output(s, s->opts->err_fd, data, len);
		break;
	case R_ERROR:
		if ((err = kx_buf_append(&p->status, data, len)))
			kx__fail(s->eb, KX_ERR_PROTOCOL, "exec: the status is larger than %d bytes",
				 KX_EXEC_STATUS_MAX);
		break;
	default:
		break;
	}
	if (err)
		kx__exec_finish(s, err);
}

static void stream_ended(struct spdy_state *p, uint32_t stream)
{
	enum role r = role_of(p, stream);
	if (r < R_COUNT)
		p->ended[r] = 1;
	maybe_done(p);
}

static void on_fin(void *ud, uint32_t stream)
{
	stream_ended(ud, stream);
}

static void on_reset(void *ud, uint32_t stream, uint32_t status, int by_peer)
{
	(void)status;
	(void)by_peer;
	stream_ended(ud, stream);
}

static void on_goaway(void *ud, uint32_t last_good, uint32_t status)
{
	(void)ud;
	(void)last_good;
	(void)status;
}

static const struct kx__spdy_callbacks callbacks = {
	.on_reply = on_reply,
	.on_data = on_data,
	.on_fin = on_fin,
	.on_reset = on_reset,
	.on_goaway = on_goaway,
};

static void ping_fire(void *ud)
{
	struct spdy_state *p = ud;
	if (p->spdy && !kx__spdy_ping(p->spdy, NULL, NULL))
		flush(p);
	kx__timer_arm(p->s->loop, &p->ping, PING_MS);
}

static kx_err open_streams(struct spdy_state *p)
{
	const struct kx_exec_opts *o = p->s->opts;
	int want[R_COUNT] = {1, o->use_stdin, 1, !o->tty, o->tty};
	kx_err err = kx__spdy_new(&callbacks, p, &p->spdy, p->s->eb);
	for (int r = 0; !err && r < R_COUNT; r++) {
		if (!want[r])
			continue;
		struct kx__spdy_pair h[] = {{"streamtype", role_names[r]}};
		err = kx__spdy_open_stream(p->spdy, h, 1, 0, &p->id[r], p->s->eb);
		p->opened++;
	}
	flush(p);
	kx__timer_arm(p->s->loop, &p->ping, PING_MS);
	return err;
}

static void on_upgraded(void *ud, const char *protocol)
{
	struct spdy_state *p = ud;
	struct kx_exec_session *s = p->s;
	snprintf(s->res->protocol, sizeof s->res->protocol, "%s", protocol);
	p->legacy = strncmp(protocol, "v4.", 3) && strncmp(protocol, "v5.", 3);
	if (open_streams(p))
		kx__exec_finish(s, KX_ERR_PROTOCOL);
}

static void on_refused(void *ud, int code, const char *body, size_t len)
{
	struct spdy_state *p = ud;
	kx__exec_refused(p->s, code, body, len);
}

static void conn_data(void *ud, const void *data, size_t len)
{
	struct spdy_state *p = ud;
	struct kx_exec_session *s = p->s;
	if (s->done || !p->spdy)
		return;
	if (kx__spdy_feed(p->spdy, data, len, s->eb)) {
		kx__exec_finish(s, KX_ERR_PROTOCOL);
		return;
	}
	flush(p);
}

static void conn_writable(void *ud)
{
	struct spdy_state *p = ud;
	kx__upconn_send_spdy(p->conn, p->spdy);
	p->s->ops->kick(p->s); /* room in the queue: more stdin may go */
}

/* Is the collected error-stream text a complete Status document? */
static int complete_status(const struct kx_buf *b)
{
	cJSON *doc = b->len ? cJSON_ParseWithLength(b->data, b->len) : NULL;
	int yes = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "status"));
	cJSON_Delete(doc);
	return yes;
}

static void conn_closed(void *ud, kx_err err, const struct kx_errbuf *ceb)
{
	struct spdy_state *p = ud;
	struct kx_exec_session *s = p->s;
	if (s->done || s->got_status) {
		kx__exec_end(s);
		return;
	}
	/* The server may close the connection right after the Status, before the
	 * error stream's RST reaches us: a complete Status is the answer. */
	if (complete_status(&p->status)) {
		kx__exec_status(s, p->status.data, p->status.len);
		kx__exec_end(s);
		return;
	}
	if (err && err != KX_ERR_CLOSED && ceb->msg[0]) {
		kx__fail(s->eb, err, "%s", ceb->msg);
		kx__exec_finish(s, err);
		return;
	}
	kx__fail(s->eb, KX_ERR_CLOSED, "lost connection to the pod before the command's exit status arrived");
	kx__exec_finish(s, KX_ERR_CLOSED);
}

static const struct kx__up_callbacks conn_callbacks = {
	.on_upgraded = on_upgraded,
	.on_refused = on_refused,
	.on_data = conn_data,
	.on_writable = conn_writable,
	.on_closed = conn_closed,
};

/* Move what is pending locally (resize, stdin, its EOF) into the SPDY queue. */
static void spdy_kick(struct kx_exec_session *s)
{
	struct spdy_state *p = s->transport;
	if (!p || !p->spdy || p->replies < p->opened)
		return;
	if (s->resize_pending && p->id[R_RESIZE]) {
		unsigned cols, rows;
		s->resize_pending = 0;
		if (!kx__exec_tty_size(s, &cols, &rows)) {
			char js[64];
			int n = kx__resize_json(js, sizeof js - 1, cols, rows);
			js[n++] = '\n'; /* client-go writes the JSON with a newline */
			kx__spdy_write(p->spdy, p->id[R_RESIZE], js, (size_t)n, NULL);
		}
	}
	if (p->id[R_STDIN]) {
		while (s->stdin_buf.len && kx__spdy_pending(p->spdy) < KX_SPDY_DEFAULT_QUEUE_CAP / 2) {
			size_t n = KX_MIN(s->stdin_buf.len, kx__spdy_write_room(p->spdy));
			n = KX_MIN(n, (size_t)KX_SPDY_MAX_DATA_FRAME);
			if (!n || kx__spdy_write(p->spdy, p->id[R_STDIN], s->stdin_buf.data, n, NULL))
				break;
			kx_buf_consume(&s->stdin_buf, n);
		}
		kx__exec_stdin_flow(s);
		if (s->stdin_eof && !s->stdin_buf.len && !p->stdin_fin_sent) {
			p->stdin_fin_sent = 1;
			kx__spdy_close_stream(p->spdy, p->id[R_STDIN], NULL);
		}
	}
	flush(p);
}

static kx_err spdy_start(struct kx_exec_session *s)
{
	struct spdy_state *p = calloc(1, sizeof *p);
	if (!p)
		return kx__fail(s->eb, KX_ERR_NOMEM, "out of memory");
	static const char *const protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io",
						"v3.channel.k8s.io", "v2.channel.k8s.io",
						"channel.k8s.io"};
	p->s = s;
	p->status = (struct kx_buf)KX_BUF_INIT(KX_EXEC_STATUS_MAX);
	p->ping = (struct kx_timer){.fn = ping_fire, .ud = p};
	s->transport = p;
	struct kx_buf path;
	kx_err err = kx__exec_path(s, &path);
	if (!err) {
		/* POST, like kubectl. */
		struct kx__up_request rq = {.kind = KX_UP_SPDY, .path = path.data, .protocols = protocols,
					    .nprotocols = sizeof protocols / sizeof *protocols};
		err = kx__upconn_open(s->loop, &s->ci, &rq, &conn_callbacks, p, &p->conn, s->eb);
	}
	kx_buf_free(&path);
	return err;
}

static void spdy_cleanup(struct kx_exec_session *s)
{
	struct spdy_state *p = s->transport;
	if (!p)
		return;
	kx__timer_cancel(&p->ping);
	kx__upconn_free(p->conn);
	kx__spdy_free(p->spdy);
	kx_buf_free(&p->status);
	free(p);
	s->transport = NULL;
}

const struct kx_exec_transport_ops kx__exec_spdy_ops = {
	.name = "spdy",
	.start = spdy_start,
	.kick = spdy_kick,
	.cleanup = spdy_cleanup,
};
