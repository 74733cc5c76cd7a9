/* In-loop watch client (see watchconn.h): request, response head, chunked or
 * plain body, lines of JSON. Everything from the peer is size-capped. */
#include "watchconn.h"
#include "tlsconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WC_HEAD_MAX (64 * 1024)
#define WC_LINE_MAX (16 * 1024 * 1024)

enum wc_state { WC_HEAD, WC_CHUNK_SIZE, WC_CHUNK_DATA, WC_CHUNK_CRLF, WC_PLAIN, WC_DONE };

struct kx_watchconn {
	struct kx_tlsconn *conn;
	struct kx_watchconn_callbacks cb;
	void *ud;
	char *request;            /* held until connected; holds a credential: zeroed */
	size_t request_len;
	enum wc_state state;
	struct kx_buf head, line, sizeline;
	size_t chunk_left;
	int code;
	int ended;
};

static void end(struct kx_watchconn *w, kx_err err, const char *msg)
{
	if (w->ended)
		return;
	w->ended = 1;
	w->state = WC_DONE;
	if (w->cb.on_end)
		w->cb.on_end(w->ud, err, msg);
}

static void body_bytes(struct kx_watchconn *w, const char *p, size_t n)
{
	while (n && !w->ended) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		if (kx_buf_append(&w->line, p, take)) {
			end(w, KX_ERR_TOO_LARGE, "watch: an event is too large");
			return;
		}
		if (!nl)
			return;
		if (w->line.len) {
			cJSON *ev = cJSON_ParseWithLength(w->line.data, w->line.len);
			const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "type"));
			const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
			if (type && cJSON_IsObject(obj)) {
				if (w->cb.on_event)
					w->cb.on_event(w->ud, type, obj);
			} else {
				cJSON_Delete(ev);
				end(w, KX_ERR_PROTOCOL, "watch: malformed event");
				return;
			}
			cJSON_Delete(ev);
		}
		kx_buf_clear(&w->line);
		p = nl + 1;
		n -= take + 1;
	}
}

static void on_data(void *ud, const void *data, size_t len)
{
	struct kx_watchconn *w = ud;
	const char *p = data;
	while (len && !w->ended) {
		switch (w->state) {
		case WC_HEAD: {
			if (kx_buf_append(&w->head, p, len)) {
				end(w, KX_ERR_PROTOCOL, "watch: response head too large");
				return;
			}
			char *e = strstr(w->head.data, "\r\n\r\n");
			if (!e)
				return;
			*e = '\0';
			size_t used = (size_t)(e + 4 - w->head.data);
			if (sscanf(w->head.data, "HTTP/1.%*d %d", &w->code) != 1 || w->code != 200) {
				char msg[160];
				snprintf(msg, sizeof msg, "watch: the server answered HTTP %d", w->code);
				end(w, KX_ERR_API, msg);
				return;
			}
			w->state = strcasestr(w->head.data, "\r\nTransfer-Encoding: chunked") ? WC_CHUNK_SIZE : WC_PLAIN;
			/* what followed the head */
			size_t rest = w->head.len - used;
			const char *r = w->head.data + used;
			struct kx_buf keep = KX_BUF_INIT(WC_HEAD_MAX);
			kx_buf_append(&keep, r, rest);
			kx_buf_free(&w->head);
			on_data(w, keep.data ? keep.data : "", keep.len);
			kx_buf_free(&keep);
			return;
		}
		case WC_CHUNK_SIZE: {
			const char *nl = memchr(p, '\n', len);
			size_t take = nl ? (size_t)(nl - p) + 1 : len;
			if (kx_buf_append(&w->sizeline, p, take)) {
				end(w, KX_ERR_PROTOCOL, "watch: bad chunk size");
				return;
			}
			p += take;
			len -= take;
			if (!nl)
				break;
			char *endp;
			unsigned long sz = strtoul(w->sizeline.data, &endp, 16);
			if (endp == w->sizeline.data) {
				end(w, KX_ERR_PROTOCOL, "watch: bad chunk size");
				return;
			}
			kx_buf_clear(&w->sizeline);
			if (!sz) {
				end(w, KX_OK, NULL); /* last chunk: the server ended the watch */
				return;
			}
			w->chunk_left = sz;
			w->state = WC_CHUNK_DATA;
			break;
		}
		case WC_CHUNK_DATA: {
			size_t take = KX_MIN(len, w->chunk_left);
			body_bytes(w, p, take);
			p += take;
			len -= take;
			if (!(w->chunk_left -= take))
				w->state = WC_CHUNK_CRLF;
			break;
		}
		case WC_CHUNK_CRLF:
			if (*p == '\n')
				w->state = WC_CHUNK_SIZE;
			p++;
			len--;
			break;
		case WC_PLAIN:
			body_bytes(w, p, len);
			return;
		case WC_DONE:
			return;
		}
	}
}

static void on_connected(void *ud)
{
	struct kx_watchconn *w = ud;
	long n = kx__tlsconn_write(w->conn, w->request, w->request_len);
	kx__memzero(w->request, w->request_len);
	if (n != (long)w->request_len)
		end(w, KX_ERR_CLOSED, "watch: sending the request failed");
}

static void on_closed(void *ud, kx_err err, const struct kx_errbuf *eb)
{
	struct kx_watchconn *w = ud;
	end(w, err ? err : KX_ERR_CLOSED, eb && eb->msg[0] ? eb->msg : "watch: connection closed");
}

static const struct kx_tlsconn_callbacks conn_cb = {
	.on_connected = on_connected,
	.on_data = on_data,
	.on_closed = on_closed,
};

kx_err kx__watchconn_open(struct kx_loop *l, const struct kx__conn_info *ci, const char *path,
			  const struct kx_watchconn_callbacks *cb, void *ud,
			  struct kx_watchconn **out, struct kx_errbuf *eb)
{
	*out = NULL;
	struct kx_watchconn *w = calloc(1, sizeof *w);
	if (!w)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	w->cb = *cb;
	w->ud = ud;
	w->head = (struct kx_buf)KX_BUF_INIT(WC_HEAD_MAX);
	w->line = (struct kx_buf)KX_BUF_INIT(WC_LINE_MAX);
	w->sizeline = (struct kx_buf)KX_BUF_INIT(64);
	char auth[8192];
	int have = kx__auth_header(ci, auth, sizeof auth);
	struct kx_buf req = KX_BUF_INIT_SECRET(1 << 20);
	kx_err err = kx_buf_printf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kx/%s\r\n"
				   "Accept: application/json\r\n%s%s%s\r\n",
				   path, ci->host_header, kx_version(), have ? "Authorization: " : "",
				   have ? auth : "", have ? "\r\n" : "");
	kx__memzero(auth, sizeof auth);
	if (err) {
		kx_buf_free_secret(&req);
		kx__watchconn_free(w);
		return kx__fail(eb, err, "out of memory");
	}
	w->request_len = req.len;
	w->request = kx_buf_steal(&req);
	if ((err = kx__tlsconn_open(l, ci, &conn_cb, w, &w->conn, eb))) {
		kx__watchconn_free(w);
		return err;
	}
	*out = w;
	return KX_OK;
}

void kx__watchconn_free(struct kx_watchconn *w)
{
	if (!w)
		return;
	kx__tlsconn_free(w->conn);
	if (w->request)
		kx__free_secret(w->request);
	kx_buf_free(&w->head);
	kx_buf_free(&w->line);
	kx_buf_free(&w->sizeline);
	free(w);
}
