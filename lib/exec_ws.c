/* exec over WebSocket: the v5/v4.channel.k8s.io channel protocol — one binary
 * message per chunk, its first byte the channel (0 stdin, 1 stdout, 2 stderr,
 * 3 status, 4 resize; v5: 255 = close a channel). */
#include "exec_internal.h"
#include "wschannel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_CHUNK (128 * 1024)

struct ws_state {
	struct kx_io io;
	int established;
	int v5;
	struct kx_chan_decoder dec;
	int stdin_closed_sent;
	int refused_code;             /* HTTP status of a refused upgrade */
	unsigned char msg[LWS_PRE + 1 + WS_CHUNK];
};

static void ws_kick(struct kx_exec_session *s)
{
	struct ws_state *w = s->transport;
	if (w && w->io.wsi && w->established)
		lws_callback_on_writable(w->io.wsi);
}

static int send_msg(struct ws_state *w, struct lws *wsi, int channel, const void *data, size_t len)
{
	w->msg[LWS_PRE] = (unsigned char)channel;
	if (len)
		memcpy(w->msg + LWS_PRE + 1, data, len);
	int n = lws_write(wsi, w->msg + LWS_PRE, len + 1, LWS_WRITE_BINARY);
	return n < (int)(len + 1) ? -1 : 0;
}

/* One message per writeable callback: resize first, then stdin, then its close. */
static int ws_writeable(struct kx_exec_session *s, struct ws_state *w, struct lws *wsi)
{
	if (s->resize_pending && s->opts->tty) {
		unsigned cols, rows;
		s->resize_pending = 0;
		if (!kx__exec_tty_size(s, &cols, &rows)) {
			char js[64];
			int n = kx__resize_json(js, sizeof js, cols, rows);
			if (send_msg(w, wsi, KX_CH_RESIZE, js, (size_t)n))
				return -1;
		}
	} else if (s->stdin_buf.len) {
		size_t n = KX_MIN(s->stdin_buf.len, (size_t)WS_CHUNK);
		if (send_msg(w, wsi, KX_CH_STDIN, s->stdin_buf.data, n))
			return -1;
		kx_buf_consume(&s->stdin_buf, n);
		kx__exec_stdin_flow(s);
	} else if (s->stdin_eof && s->opts->use_stdin && !w->stdin_closed_sent) {
		/* v5 can say "stdin ended"; v4 cannot (the remote keeps waiting). */
		w->stdin_closed_sent = 1;
		if (w->v5) {
			unsigned char ch = KX_CH_STDIN;
			if (send_msg(w, wsi, KX_CH_CLOSE, &ch, 1))
				return -1;
		}
	} else {
		return 0;
	}
	if (s->resize_pending || s->stdin_buf.len || (s->stdin_eof && s->opts->use_stdin && !w->stdin_closed_sent))
		lws_callback_on_writable(wsi);
	return 0;
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

static int ws_receive(struct kx_exec_session *s, struct ws_state *w, struct lws *wsi,
		      const unsigned char *in, size_t len)
{
	const struct kx_chan_sink sink = {.on_output = sink_output, .on_status = sink_status, .ud = s};
	kx_err err = kx__chan_feed(&w->dec, &sink, lws_is_first_fragment(wsi),
				   lws_is_final_fragment(wsi), in, len, s->eb);
	if (err == KX_ERR_PROTOCOL)
		kx__exec_finish(s, err);
	return err ? -1 : 0;
}

static int ws_cb(struct kx_io *io, struct lws *wsi, enum lws_callback_reasons reason, void *in,
		 size_t len)
{
	struct kx_exec_session *s = io->owner;
	struct ws_state *w = s->transport;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = in, *end = *p + len;
		char auth[8192];
		int rc = 0;
		if (kx__auth_header(&s->ci, auth, sizeof auth))
			rc = lws_add_http_header_by_name(wsi, (const unsigned char *)"authorization:",
							 (const unsigned char *)auth, (int)strlen(auth), p, end);
		kx__memzero(auth, sizeof auth);
		return rc ? -1 : 0;
	}
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH: {
		char proto[64] = "";
		lws_hdr_copy(wsi, proto, sizeof proto, WSI_TOKEN_PROTOCOL);
		snprintf(s->res->protocol, sizeof s->res->protocol, "%.39s", proto);
		w->v5 = !strcmp(proto, "v5.channel.k8s.io");
		if (!w->v5 && strcmp(proto, "v4.channel.k8s.io")) {
			/* The server picked nothing we offered: SPDY may still work. */
			s->upgrade_failed = 1;
			kx__fail(s->eb, KX_ERR_UNSUPPORTED,
				 "the server chose WebSocket subprotocol \"%s\", not one kx offered", proto);
			return -1;
		}
		return 0;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		io->wsi = wsi;
		w->established = 1;
		if (s->opts->tty)
			s->resize_pending = 1;
		if (kx__exec_start_stdin(s)) {
			kx__exec_finish(s, KX_ERR_IO);
			return -1;
		}
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return ws_receive(s, w, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return ws_writeable(s, w, wsi);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		io->wsi = NULL;
		const char *why = in ? (const char *)in : "unknown error";
		int code = wsi ? (int)lws_http_client_http_response(wsi) : 0;
		if (!w->established && code && code != 101) {
			/* The server refused the upgrade: its Status is in a body lws does
			 * not keep, so ask for it once more as a plain request. */
			w->refused_code = code;
			kx__exec_finish(s, KX_ERR_API);
			return 0;
		}
		if (!w->established && (strstr(why, "PROTOCOL") || strstr(why, "Upgrade")))
			s->upgrade_failed = 1;
		if (!s->done) {
			kx__fail(s->eb, strstr(why, "refused") ? KX_ERR_REFUSED : KX_ERR_CONNECT,
				 "exec over WebSocket to %s: %s", s->ci.host_header, why);
			kx__exec_finish(s, strstr(why, "refused") ? KX_ERR_REFUSED : KX_ERR_CONNECT);
		}
		return 0;
	}
	case LWS_CALLBACK_CLIENT_CLOSED:
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (reason == LWS_CALLBACK_CLIENT_CLOSED)
			io->wsi = NULL;
		if (!s->done && !s->got_status) {
			kx__fail(s->eb, KX_ERR_CLOSED,
				 "lost connection to the pod before the command's exit status arrived");
			kx__exec_finish(s, KX_ERR_CLOSED);
		}
		return 0;
	default:
		return 0;
	}
}

static kx_err ws_start(struct kx_exec_session *s)
{
	struct kx__proxy proxy;
	kx_err perr = kx__proxy_for(s->ci.rc->proxy_url, s->ci.tls, s->ci.host, &proxy, s->eb);
	kx__memzero(&proxy.userinfo, sizeof proxy.userinfo);
	if (perr)
		return perr;
	if (proxy.use)
		return kx__fail(s->eb, KX_ERR_UNSUPPORTED,
				"exec over WebSocket cannot go through proxy %s:%d (Debian's libwebsockets has no proxy support); SPDY, the default, can",
				proxy.host, proxy.port);
	struct ws_state *w = calloc(1, sizeof *w);
	if (!w)
		return kx__fail(s->eb, KX_ERR_NOMEM, "out of memory");
	kx__chan_init(&w->dec);
	w->io = (struct kx_io){.fn = ws_cb, .owner = s};
	s->transport = w;
	struct kx_buf path;
	kx_err err = kx__exec_path(s, &path);
	if (!err)
		err = kx__loop_ws_connect(s->loop, &s->ci, path.data,
					  "v5.channel.k8s.io,v4.channel.k8s.io", &w->io, s->eb);
	kx_buf_free(&path);
	return err;
}

/* Fetch the Status of a refused upgrade: the same request, upgrade headers and
 * all, through the REST client, which keeps the body. */
static void refused_status(struct kx_exec_session *s, int code)
{
	struct kx_buf path, body;
	struct kx_errbuf eb2 = {0};
	static const char *const hdrs[] = {
		"Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Key: a3gta3hreC1rZXkta3gtMQ==", "Sec-WebSocket-Protocol: v5.channel.k8s.io", NULL};
	if (kx__exec_path(s, &path))
		return;
	/* The REST client adds the path prefix itself. */
	struct kx_request req = {.method = "GET", .path = path.data + strlen(s->ci.path_prefix),
				 .headers = hdrs, .timeout_ms = 10000, .max_body = 1 << 20};
	kx_err err = kx_client_request(s->client, &req, &body, &eb2);
	if (err == KX_ERR_API && kx_client_status(s->client)) {
		kx__fail(s->eb, KX_ERR_API, "%s", kx_client_status(s->client)->message);
	} else {
		struct kx_status st = {.code = code, .exit_code = -1};
		snprintf(st.message, sizeof st.message, "the server refused the WebSocket upgrade with HTTP %d", code);
		kx__client_set_status(s->client, &st);
		kx__fail(s->eb, KX_ERR_API, "%s", st.message);
	}
	if (!err)
		kx_buf_free(&body);
	kx_buf_free(&path);
}

static void ws_cleanup(struct kx_exec_session *s)
{
	struct ws_state *w = s->transport;
	if (!w)
		return;
	if (w->refused_code)
		refused_status(s, w->refused_code);
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
