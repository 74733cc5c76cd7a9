/* SPDX-License-Identifier: Apache-2.0 */
/* kx_apiproxy_run: kubectl proxy's gateway in the streaming loop. Client
 * requests are parsed with Node's http-parser (Debian libhttp-parser), filtered
 * like kubectl (PCRE2 for its RE2 patterns), and forwarded over one kept-alive
 * lib/transport/tlsconn.c connection per client; the response goes back byte for byte
 * (the parser only finds where it ends). Both directions are bounded buffers
 * with backpressure, so a watch stays live and a huge body does not grow memory. */
#include <kx/apiproxy.h>
#include <kx/buf.h>

#include "apiproxy_internal.h"
#include "httpparse.h"
#include "loop.h"
#include "netaddr.h"
#include "tlsconn.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define AP_URL_MAX (64 * 1024)
#define AP_HEAD_MAX (128 * 1024)
#define AP_BUF_MAX (4 * 1024 * 1024)  /* hard cap of a direction's queue */
#define AP_HIGH (256 * 1024)          /* stop reading the source above this */
#define AP_LOW (64 * 1024)            /* resume below this */
#define AP_READ 65536
#define AP_IDLE_MAX 32                /* idle upstream connections kept for new clients */
#define AP_LINGER_MS 5000             /* a lingering close lasts at most this long … */
#define AP_LINGER_BYTES (4 * 1024 * 1024) /* … and drops at most this much (docs/proxy.md) */

#define DEFAULT_ACCEPT_HOSTS "^localhost$,^127\\.0\\.0\\.1$,^\\[::1\\]$"
#define DEFAULT_ACCEPT_PATHS "^.*"
#define DEFAULT_REJECT_PATHS "^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach"
#define DEFAULT_REJECT_METHODS "^$"

struct ap_regexes {
	pcre2_code **re;
	size_t n;
};

/* A tlsconn's callbacks get this, not the connection: a dropped upstream
 * (link->c NULL) may still call back in the same loop turn, and is freed
 * only from a timer, never inside its own callbacks. */
struct up_link {
	struct kx_tlsconn *t;
	struct ap_conn *c;
	struct ap *ap;
	int idle;                  /* parked in ap->idle for the next client */
	struct up_link *next;
};

struct ap {
	struct kx_client *client;
	struct kx_loop *loop;          /* NULL when fed by tests (no sockets) */
	struct kx__conn_info ci;
	struct kx_apiproxy_opts o;
	char api_prefix[512], www_prefix[512];
	struct ap_regexes accept_hosts, accept_paths, reject_paths, reject_methods;
	pcre2_match_data *md;
	struct kx_io listen_io, signal_io;
	struct ap_conn *conns;
	struct up_link *dropped;       /* freed by the reaper */
	struct up_link *idle;          /* open upstreams no client uses (keep-alive pool) */
	int nidle;
	struct kx_timer reaper;
	sigset_t old_mask;
	int mask_saved;
	struct kx_errbuf *eb;
	unsigned long long conn_ids;
	int stopping;
};

enum c_state {
	C_HEAD,     /* reading a request head */
	C_BODY,     /* forwarding the request body */
	C_WAIT,     /* request done; the response is on its way */
	C_TUNNEL,   /* after 101 Switching Protocols: bytes both ways */
};

struct ap_conn {
	unsigned long long id, bytes_in, bytes_out, requests; /* for on_conn */
	long long t_open;
	struct ap *ap;
	struct ap_conn *next;
	struct kx_io io;
	enum c_state state;
	struct kx__http *req;
	struct kx_buf url, field, value, headers, host, upgrade;
	int in_value, has_auth, local;  /* local: answered by the proxy, body dropped */
	int keep_alive, closing, eof, paused, upgrade_req, head_req;
	/* unread: answered before the request was read to its end; lingering:
	 * the answer is out, the client's last bytes are being dropped */
	int unread, lingering;
	size_t lingered;            /* bytes dropped while lingering */
	struct kx_timer linger;
	struct kx_buf inbuf;           /* client bytes not parsed yet (after a request) */
	struct kx_buf to_client, to_upstream;
	/* the server's bytes of one wakeup go to the client in one send */
	struct kx_task flush_soon;
	/* upstream */
	struct up_link *link;       /* the tlsconn's callback argument */
	struct kx_tlsconn *up;
	int up_open, up_paused;
	struct kx__http *resp;
	int resp_started, resp_done, req_done, resp_keep;
	/* a static file being sent */
	int file_fd;
	char peer[64];
	char method[16];
};

static const struct kx__http_callbacks req_callbacks;
static const struct kx__http_callbacks resp_callbacks;

/* ---- filters ---- */

static void regexes_free(struct ap_regexes *r)
{
	for (size_t i = 0; i < r->n; i++)
		pcre2_code_free(r->re[i]);
	free(r->re);
	r->re = NULL;
	r->n = 0;
}

/* A comma-separated list, each item a pattern (Go's strings.Split: an empty
 * item is an empty pattern, which matches everything). */
static kx_err regexes_compile(struct ap_regexes *r, const char *list, const char *flag,
			      struct kx_errbuf *eb)
{
	const char *p = list;
	for (;;) {
		size_t len = strcspn(p, ",");
		pcre2_code **nr = realloc(r->re, (r->n + 1) * sizeof *nr);
		if (!nr)
			return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
		r->re = nr;
		int ec;
		PCRE2_SIZE off;
		/* Byte mode (no UTF): any byte sequence is a subject, so a path with
		 * invalid UTF-8 cannot slip past a reject pattern. */
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)p, len, 0, &ec, &off, NULL);
		if (!re) {
			PCRE2_UCHAR msg[160];
			pcre2_get_error_message(ec, msg, sizeof msg);
			return kx__fail(eb, KX_ERR_INVALID, "invalid %s %.*s: %s", flag, (int)len, p,
					(const char *)msg);
		}
		r->re[r->n++] = re;
		if (!p[len])
			return KX_OK;
		p += len + 1;
	}
}

static int regexes_match(struct ap *ap, const struct ap_regexes *r, const char *s, size_t n)
{
	for (size_t i = 0; i < r->n; i++)
		if (pcre2_match(r->re[i], (PCRE2_SPTR)s, n, 0, 0, ap->md, NULL) >= 0)
			return 1;
	return 0;
}

/* kubectl's FilterServer.accept. */
static int filter_accepts(struct ap *ap, const char *method, const char *path, size_t plen,
			  const char *host)
{
	if (regexes_match(ap, &ap->reject_paths, path, plen) ||
	    regexes_match(ap, &ap->reject_methods, method, strlen(method)))
		return 0;
	return regexes_match(ap, &ap->accept_paths, path, plen) &&
	       regexes_match(ap, &ap->accept_hosts, host, strlen(host));
}

/* ---- paths ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode n bytes of src into dst (room for n + 1); -1 when malformed
 * (Go's url.Parse fails: 400). NUL bytes are refused too. */
static long unescape(const char *src, size_t n, char *dst)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = src[i];
		if (ch == '%') {
			if (i + 2 >= n)
				return -1;
			int a = hexval((unsigned char)src[i + 1]), b = hexval((unsigned char)src[i + 2]);
			if (a < 0 || b < 0)
				return -1;
			ch = (char)(a * 16 + b);
			i += 2;
		}
		if (!ch)
			return -1;
		dst[o++] = ch;
	}
	dst[o] = '\0';
	return (long)o;
}

void kx__apiproxy_clean_path(const char *p, char *out, size_t n)
{
	if (n < 2)
		return;
	size_t len = strlen(p), o = 1;
	out[0] = '/';
	for (size_t i = 0; i < len;) {
		while (i < len && p[i] == '/')
			i++;
		size_t s = i;
		while (i < len && p[i] != '/')
			i++;
		size_t sl = i - s;
		if (!sl || (sl == 1 && p[s] == '.'))
			continue;
		if (sl == 2 && p[s] == '.' && p[s + 1] == '.') {
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--; /* the slash before the dropped element */
			continue;
		}
		if (o > 1 && o < n - 1)
			out[o++] = '/';
		for (size_t k = 0; k < sl && o < n - 1; k++)
			out[o++] = p[s + k];
	}
	if (len && p[len - 1] == '/' && o > 1 && o < n - 1)
		out[o++] = '/';
	out[o] = '\0';
}

/* ---- output toward the client ---- */

static void conn_close(struct ap_conn *c);
static void conn_end(struct ap_conn *c);
static void conn_flush_client(struct ap_conn *c);
static void conn_flush_upstream(struct ap_conn *c);

static void local_response(struct ap_conn *c, int code, const char *reason, const char *ctype,
			   const char *extra, const char *body, size_t body_len)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (kx_buf_printf(&c->to_client,
			  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nX-Content-Type-Options: nosniff\r\n"
			  "Date: %s\r\n%sContent-Length: %zu\r\n%s\r\n",
			  code, reason, ctype, date, extra ? extra : "", body_len,
			  c->keep_alive ? "" : "Connection: close\r\n") ||
	    (!c->head_req && body_len && kx_buf_append(&c->to_client, body, body_len)))
		c->keep_alive = 0;
	conn_flush_client(c);
}

static void text_response(struct ap_conn *c, int code, const char *reason, const char *text)
{
	local_response(c, code, reason, "text/plain; charset=utf-8", NULL, text, strlen(text));
}

/* A request the proxy cannot read: answer and close (Go's server does the same). */
static void bad_request(struct ap_conn *c, int code, const char *reason)
{
	c->keep_alive = 0;
	c->head_req = 0;
	c->unread = 1;
	char body[64];
	snprintf(body, sizeof body, "%d %s", code, reason);
	/* Go writes "400 Bad Request" without a newline and closes. */
	kx_buf_printf(&c->to_client,
		      "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%s",
		      code, reason, body);
	c->state = C_WAIT;
	c->req_done = c->resp_done = 1;
	conn_flush_client(c);
}

/* ---- static files (kubectl --www: Go's http.FileServer under --www-prefix) ---- */

static const char *mime_type(const char *path)
{
	static const char *const map[][2] = {
		{".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
		{".json", "application/json"},         {".txt", "text/plain; charset=utf-8"},
		{".svg", "image/svg+xml"},             {".png", "image/png"},
		{".jpg", "image/jpeg"},                {".gif", "image/gif"},
		{".wasm", "application/wasm"},         {".xml", "text/xml; charset=utf-8"},
	};
	const char *dot = strrchr(path, '.');
	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
			if (!strcasecmp(dot, map[i][0]))
				return map[i][1];
	return "application/octet-stream";
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void html_escape(struct kx_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': kx_buf_appends(b, "&lt;"); break;
		case '>': kx_buf_appends(b, "&gt;"); break;
		case '&': kx_buf_appends(b, "&amp;"); break;
		case '"': kx_buf_appends(b, "&#34;"); break;
		case '\'': kx_buf_appends(b, "&#39;"); break;
		default: kx_buf_append(b, s, 1);
		}
	}
}

static void dir_listing(struct ap_conn *c, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		text_response(c, 500, "Internal Server Error", "Error reading directory\n");
		return;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 10000) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char **nn = realloc(names, (n + 1) * sizeof *nn);
		if (!nn)
			break;
		names = nn;
		size_t l = strlen(e->d_name);
		if (!(names[n] = malloc(l + 2)))
			break;
		memcpy(names[n], e->d_name, l + 1);
		if (e->d_type == DT_DIR)
			strcpy(names[n] + l, "/");
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	struct kx_buf b = KX_BUF_INIT(AP_BUF_MAX);
	kx_buf_appends(&b, "<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n");
	for (size_t i = 0; i < n; i++) {
		kx_buf_appends(&b, "<a href=\"");
		html_escape(&b, names[i]);
		kx_buf_appends(&b, "\">");
		html_escape(&b, names[i]);
		kx_buf_appends(&b, "</a>\n");
		free(names[i]);
	}
	free(names);
	kx_buf_appends(&b, "</pre>\n");
	local_response(c, 200, "OK", "text/html; charset=utf-8", NULL, b.data ? b.data : "", b.len);
	kx_buf_free(&b);
}

/* path: cleaned and decoded, below the prefix ("/a/b.txt"). */
static void serve_file(struct ap_conn *c, const char *path, const char *full_path)
{
	struct ap *ap = c->ap;
	if (strcmp(c->method, "GET") && strcmp(c->method, "HEAD")) {
		text_response(c, 405, "Method Not Allowed", "405 method not allowed\n");
		return;
	}
	size_t n = strlen(ap->o.www) + strlen(path) + 16;
	char *fs = malloc(n);
	if (!fs) {
		text_response(c, 500, "Internal Server Error", "500 Internal Server Error\n");
		return;
	}
	snprintf(fs, n, "%s%s", ap->o.www, path);
	struct stat st;
	if (stat(fs, &st)) {
		free(fs);
		text_response(c, 404, "Not Found", "404 page not found\n");
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		size_t fl = strlen(full_path);
		if (!fl || full_path[fl - 1] != '/') {
			char loc[AP_URL_MAX + 32];
			const char *slash = strrchr(full_path, '/');
			snprintf(loc, sizeof loc, "Location: %s/\r\n", slash ? slash + 1 : full_path);
			local_response(c, 301, "Moved Permanently", "text/html; charset=utf-8", loc, "", 0);
			free(fs);
			return;
		}
		char *index = malloc(n + 16);
		if (index) {
			snprintf(index, n + 16, "%s/index.html", fs);
			if (!stat(index, &st) && S_ISREG(st.st_mode)) {
				free(fs);
				fs = index;
				index = NULL;
			}
		}
		free(index);
		if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
			dir_listing(c, fs);
			free(fs);
			return;
		}
	}
	/* only regular files: opening a FIFO or a device could block the loop */
	int fd = S_ISREG(st.st_mode) ? open(fs, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
	if (fd < 0) {
		if (fd >= 0)
			close(fd);
		free(fs);
		text_response(c, 403, "Forbidden", "403 Forbidden\n");
		return;
	}
	char extra[128], lm[64];
	struct tm tm;
	gmtime_r(&st.st_mtime, &tm);
	strftime(lm, sizeof lm, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(extra, sizeof extra, "Last-Modified: %s\r\nAccept-Ranges: bytes\r\n", lm);
	/* The head now, the bytes as the client takes them (conn_flush_client). */
	int head = c->head_req;
	c->head_req = 1;
	local_response(c, 200, "OK", mime_type(fs), extra, NULL, (size_t)st.st_size);
	c->head_req = head;
	free(fs);
	if (head)
		close(fd);
	else {
		c->file_fd = fd;
		conn_flush_client(c);
	}
}

/* ---- the request head ---- */

static int header_is(const struct kx_buf *f, const char *name)
{
	return f->len == strlen(name) && !strncasecmp(f->data, name, f->len);
}

/* One header (field + value) is complete: keep what is forwarded. */
static int commit_header(struct ap_conn *c)
{
	struct kx_buf *f = &c->field, *v = &c->value;
	if (!f->len)
		return 0;
	int err = 0;
	if (header_is(f, "Host")) {
		kx_buf_clear(&c->host);
		err = kx_buf_append(&c->host, v->data ? v->data : "", v->len);
	} else if (header_is(f, "Upgrade")) {
		kx_buf_clear(&c->upgrade);
		err = kx_buf_append(&c->upgrade, v->data ? v->data : "", v->len);
	} else if (header_is(f, "Connection") || header_is(f, "Keep-Alive") ||
		   header_is(f, "Proxy-Connection") || header_is(f, "Proxy-Authorization") ||
		   header_is(f, "TE") || header_is(f, "Trailer") || header_is(f, "Transfer-Encoding")) {
		/* hop-by-hop: not forwarded (Go's ReverseProxy drops them) */
	} else {
		/* client-go sends a request's own Authorization as it is, and adds its
		 * credentials only when there is none: the same here. */
		if (header_is(f, "Authorization"))
			c->has_auth = 1;
		err = kx_buf_append(&c->headers, f->data, f->len) || kx_buf_appends(&c->headers, ": ") ||
		      kx_buf_append(&c->headers, v->data ? v->data : "", v->len) ||
		      kx_buf_appends(&c->headers, "\r\n");
	}
	kx_buf_clear(f);
	kx_buf_clear(v);
	return err ? -1 : 0;
}

static int on_message_begin(void *ud)
{
	struct ap_conn *c = ud;
	c->requests++;
	kx_buf_clear(&c->url);
	kx_buf_clear(&c->field);
	kx_buf_clear(&c->value);
	kx_buf_free_secret(&c->headers);
	c->headers = (struct kx_buf)KX_BUF_INIT(AP_HEAD_MAX);
	kx_buf_clear(&c->host);
	kx_buf_clear(&c->upgrade);
	c->in_value = c->has_auth = c->local = c->upgrade_req = c->head_req = 0;
	c->req_done = c->resp_done = c->resp_started = 0;
	c->state = C_HEAD;
	return 0;
}

static int on_url(void *ud, const char *at, size_t n)
{
	struct ap_conn *c = ud;
	return kx_buf_append(&c->url, at, n) ? -1 : 0;
}

static int on_header_field(void *ud, const char *at, size_t n)
{
	struct ap_conn *c = ud;
	if (c->in_value) {
		if (commit_header(c))
			return -1;
		c->in_value = 0;
	}
	return kx_buf_append(&c->field, at, n) ? -1 : 0;
}

static int on_header_value(void *ud, const char *at, size_t n)
{
	struct ap_conn *c = ud;
	c->in_value = 1;
	/* Go's server refuses control bytes in a value (400); never forward them */
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)at[i] < 0x20 && at[i] != '\t') || at[i] == 0x7f)
			return -1;
	return kx_buf_append(&c->value, at, n) ? -1 : 0;
}

static void start_upstream(struct ap_conn *c);

/* Decide what the request is (proxied, static, refused) and queue the head
 * toward the API server when it is proxied. Returns 0, or -1 to stop parsing. */
static int route(struct ap_conn *c)
{
	struct ap *ap = c->ap;
	struct kx__http *p = c->req;
	snprintf(c->method, sizeof c->method, "%s", kx__http_method(p));
	c->head_req = kx__http_is_head(p);
	c->keep_alive = kx__http_keep_alive(p);
	const char *url = c->url.data ? c->url.data : "";
	size_t po, pl, qo, ql;
	int has_path, has_query;
	if (kx__http_is_connect(p) || kx__http_split_url(url, c->url.len, &po, &pl, &qo, &ql, &has_path, &has_query)) {
		bad_request(c, 400, "Bad Request");
		return -1;
	}
	const char *rawpath = has_path ? url + po : "/";
	size_t rawlen = has_path ? pl : 1;
	const char *query = has_query ? url + qo : NULL;
	size_t qlen = query ? ql : 0;
	char *path = malloc(rawlen + 1), *clean = malloc(rawlen + 3);
	int rc = 0;
	if (!path || !clean || unescape(rawpath, rawlen, path) < 0) {
		bad_request(c, 400, "Bad Request");
		rc = -1;
		goto out;
	}
	c->local = 1;
	/* net/http's ServeMux redirects an unclean path to its clean form, before
	 * any handler (and filter) sees it. */
	kx__apiproxy_clean_path(path, clean, rawlen + 3);
	if (strcmp(clean, path)) {
		struct kx_buf loc = KX_BUF_INIT(AP_URL_MAX * 2);
		kx_buf_printf(&loc, "Location: %s%s%.*s\r\n", clean, query ? "?" : "", (int)qlen,
			      query ? query : "");
		local_response(c, 301, "Moved Permanently", "text/html; charset=utf-8",
			       loc.data ? loc.data : "", "", 0);
		kx_buf_free(&loc);
		goto out;
	}
	size_t wl = strlen(ap->www_prefix), al = strlen(ap->api_prefix);
	/* ServeMux: the longest matching pattern wins. */
	if (ap->o.www && !strncmp(path, ap->www_prefix, wl) && (wl >= al || strncmp(path, ap->api_prefix, al))) {
		serve_file(c, path + wl - 1, path);
		goto out;
	}
	if (strncmp(path, ap->api_prefix, al) && strcmp(path, ap->api_prefix)) {
		/* "/custom" for "/custom/": ServeMux redirects to the slash form */
		if (al > 1 && strlen(path) == al - 1 && !strncmp(path, ap->api_prefix, al - 1)) {
			struct kx_buf loc = KX_BUF_INIT(AP_URL_MAX * 2);
			kx_buf_printf(&loc, "Location: %s\r\n", ap->api_prefix);
			local_response(c, 301, "Moved Permanently", "text/html; charset=utf-8",
				       loc.data ? loc.data : "", "", 0);
			kx_buf_free(&loc);
		} else
			text_response(c, 404, "Not Found", "404 page not found\n");
		goto out;
	}
	/* kubectl strips a prefix that does not start with /api, leaving a slash. */
	const char *fpath = path, *fraw = rawpath;
	size_t frawlen = rawlen;
	if (strncmp(ap->api_prefix, "/api", 4)) {
		fpath = path + al - 1;
		if (rawlen >= al && !strncmp(rawpath, ap->api_prefix, al)) {
			fraw = rawpath + al - 1;
			frawlen = rawlen - (al - 1);
		} else {
			/* the prefix was written with escapes: forward the decoded path */
			fraw = fpath;
			frawlen = strlen(fpath);
		}
	}
	char host[300];
	snprintf(host, sizeof host, "%.*s", (int)c->host.len, c->host.data ? c->host.data : "");
	/* net.SplitHostPort: "[::1]:8001" -> "::1"; without a port the whole Host. */
	char *colon = strrchr(host, ':');
	if (host[0] == '[' && colon && colon > host && colon[-1] == ']') {
		memmove(host, host + 1, (size_t)(colon - host) - 2);
		host[colon - host - 2] = '\0';
	} else if (colon && colon == strchr(host, ':') && host[0] != '[')
		*colon = '\0';
	if (!ap->o.disable_filter && !filter_accepts(ap, c->method, fpath, strlen(fpath), host)) {
		text_response(c, 403, "Forbidden", "Forbidden\n");
		goto out;
	}
	/* Forward: the request line, Host of the server, the client's headers, our
	 * credentials, the body's framing. */
	c->local = 0;
	c->upgrade_req = kx__http_upgrade(p) && c->upgrade.len;
	struct kx_buf *h = &c->to_upstream;
	char auth[8192];
	int have_auth = !c->has_auth && kx__auth_header(&ap->ci, auth, sizeof auth);
	/* An HTTP/1.0 client is asked for as HTTP/1.0: the server then answers
	 * without chunked framing, which such a client could not read. */
	int err = kx_buf_printf(h, "%s %s%.*s%s%.*s HTTP/1.%d\r\nHost: %s\r\n", c->method,
				ap->o.append_server_path ? ap->ci.path_prefix : "", (int)frawlen, fraw,
				query ? "?" : "", (int)qlen, query ? query : "",
				kx__http_version(p) < 11 ? 0 : 1, ap->ci.host_header) ||
		  kx_buf_append(h, c->headers.data ? c->headers.data : "", c->headers.len);
	if (have_auth)
		err = err || kx_buf_printf(h, "Authorization: %s\r\n", auth);
	if (have_auth)
		kx__memzero(auth, strlen(auth)); /* only what was written: this runs per request */
	if (c->upgrade_req)
		err = err || kx_buf_printf(h, "Connection: Upgrade\r\nUpgrade: %.*s\r\n", (int)c->upgrade.len,
					   c->upgrade.data);
	else if (kx__http_chunked(p))
		err = err || kx_buf_appends(h, "Transfer-Encoding: chunked\r\n");
	err = err || kx_buf_appends(h, "\r\n");
	kx_buf_free_secret(&c->headers);
	if (err) {
		bad_request(c, 431, "Request Header Fields Too Large");
		rc = -1;
		goto out;
	}
	c->state = C_BODY;
	start_upstream(c);
out:
	free(path);
	free(clean);
	return rc;
}

static int on_headers_complete(void *ud)
{
	struct ap_conn *c = ud;
	if (c->in_value && commit_header(c))
		return -1;
	c->in_value = 0;
	return route(c) ? -1 : 0;
}

static int on_body(void *ud, const char *at, size_t n)
{
	struct ap_conn *c = ud;
	if (c->local)
		return 0;
	int err = 0;
	if (kx__http_chunked(c->req))
		err = kx_buf_printf(&c->to_upstream, "%zx\r\n", n) || kx_buf_append(&c->to_upstream, at, n) ||
		      kx_buf_appends(&c->to_upstream, "\r\n");
	else
		err = kx_buf_append(&c->to_upstream, at, n);
	return err ? -1 : 0;
}

static int on_message_complete(void *ud)
{
	struct ap_conn *c = ud;
	if (!c->local && !c->upgrade_req && kx__http_chunked(c->req) &&
	    kx_buf_appends(&c->to_upstream, "0\r\n\r\n"))
		return -1;
	c->req_done = 1;
	if (c->local)
		c->resp_done = 1;
	if (c->state != C_TUNNEL)
		c->state = C_WAIT;
	/* One request at a time: the next one waits in inbuf. */
	kx__http_pause(c->req, 1);
	return 0;
}

static const struct kx__http_callbacks req_callbacks = {
	.on_begin = on_message_begin,
	.on_url = on_url,
	.on_field = on_header_field,
	.on_value = on_header_value,
	.on_headers = on_headers_complete,
	.on_body = on_body,
	.on_complete = on_message_complete,
};

/* ---- the connection's cycle ---- */

static void set_client_paused(struct ap_conn *c, int paused)
{
	if (c->io.h && c->paused != paused && !c->eof) {
		kx__io_read(&c->io, !paused);
		c->paused = paused;
	}
}

static void set_upstream_paused(struct ap_conn *c, int paused)
{
	if (c->up && c->up_paused != paused) {
		kx__tlsconn_pause_read(c->up, paused);
		c->up_paused = paused;
	}
}

static void feed(struct ap_conn *c, const char *data, size_t len);

/* A request and its response are both done: the next request, or the end. */
static void cycle_done(struct ap_conn *c)
{
	if (!c->req_done || !c->resp_done || c->to_client.len || c->file_fd >= 0 || c->state == C_TUNNEL)
		return;
	if (!c->keep_alive || c->closing) {
		conn_end(c);
		return;
	}
	c->state = C_HEAD;
	c->req_done = c->resp_done = 0;
	kx__http_pause(c->req, 0);
	if (c->inbuf.len) {
		struct kx_buf b = c->inbuf;
		c->inbuf = (struct kx_buf)KX_BUF_INIT(AP_BUF_MAX);
		feed(c, b.data, b.len);
		kx_buf_free(&b);
	}
	if (c->eof && c->state == C_HEAD && !c->inbuf.len)
		conn_close(c);
	else if (!c->closing && c->state == C_HEAD)
		set_client_paused(c, 0);
}

/* Parse client bytes (or pass them through a tunnel). */
static void feed(struct ap_conn *c, const char *data, size_t len)
{
	if (c->closing)
		return;
	if (c->state == C_TUNNEL) {
		if (kx_buf_append(&c->to_upstream, data, len))
			conn_close(c);
		else
			conn_flush_upstream(c);
		return;
	}
	if (c->state == C_WAIT) {
		/* pipelined: held until the current response is done. Reading stops
		 * only when much is held: toggling it per request costs latency. */
		if (kx_buf_append(&c->inbuf, data, len))
			conn_close(c);
		else if (c->inbuf.len > AP_HIGH)
			set_client_paused(c, 1);
		return;
	}
	size_t used = kx__http_feed(c->req, data, len);
	enum kx__http_state e = kx__http_state(c->req);
	if (c->closing)
		return;
	if (e != KX_HTTP_OK && e != KX_HTTP_PAUSED) {
		if (c->req_done || c->state == C_WAIT)
			return; /* already answered (bad_request) */
		if (c->state == C_HEAD)
			bad_request(c, e == KX_HTTP_HEADER_OVERFLOW ? 431 : 400,
				    e == KX_HTTP_HEADER_OVERFLOW ? "Request Header Fields Too Large" : "Bad Request");
		else
			conn_close(c); /* a broken body: the upstream request is lost too */
		return;
	}
	if (kx__http_upgrade(c->req) && c->upgrade_req) {
		/* Bytes after an Upgrade head belong to the tunnel; they wait with the
		 * request until the server agrees. */
		c->req_done = 1;
		c->state = C_WAIT;
		if (used < len && kx_buf_append(&c->inbuf, data + used, len - used))
			conn_close(c);
		conn_flush_upstream(c);
		return;
	}
	if (used < len && kx_buf_append(&c->inbuf, data + used, len - used)) {
		conn_close(c);
		return;
	}
	conn_flush_upstream(c);
	if (c->to_upstream.len > AP_HIGH)
		set_client_paused(c, 1);
	cycle_done(c);
}

/* ---- upstream (the API server) ---- */

static void reap(void *ud)
{
	struct ap *ap = ud;
	while (ap->dropped) {
		struct up_link *l = ap->dropped;
		ap->dropped = l->next;
		kx__tlsconn_free(l->t);
		free(l);
	}
}

static void link_drop(struct ap *ap, struct up_link *l)
{
	l->c = NULL;
	l->next = ap->dropped;
	ap->dropped = l;
	if (ap->loop)
		kx__timer_arm(ap->loop, &ap->reaper, 0);
}

/* An idle pooled upstream closed or spoke out of turn: out of the pool. */
static void idle_gone(struct up_link *l)
{
	struct ap *ap = l->ap;
	for (struct up_link **pp = &ap->idle; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			ap->nidle--;
			break;
		}
	l->idle = 0;
	link_drop(ap, l);
}

static void up_drop(struct ap_conn *c);

/* The connection is done with its upstream: keep it for another client when
 * it is open and between requests, else let it go. */
static void up_park_or_drop(struct ap_conn *c)
{
	struct ap *ap = c->ap;
	struct up_link *l = c->link;
	if (l && c->up_open && ap->nidle < AP_IDLE_MAX && c->state != C_TUNNEL && !c->to_upstream.len &&
	    (c->state == C_HEAD || (c->req_done && c->resp_done))) {
		if (c->up_paused)
			kx__tlsconn_pause_read(c->up, 0);
		l->c = NULL;
		l->idle = 1;
		l->next = ap->idle;
		ap->idle = l;
		ap->nidle++;
		c->link = NULL;
		c->up = NULL;
		c->up_open = c->up_paused = 0;
		return;
	}
	up_drop(c);
}

/* Let go of the connection's upstream (see struct up_link). */
static void up_drop(struct ap_conn *c)
{
	struct ap *ap = c->ap;
	if (c->link)
		link_drop(ap, c->link);
	c->link = NULL;
	c->up = NULL;
	c->up_open = c->up_paused = 0;
}

static void up_log(struct ap_conn *c, const char *msg)
{
	struct ap *ap = c->ap;
	if (ap->o.on_log) {
		char line[700];
		snprintf(line, sizeof line, "error while proxying request: %s", msg);
		ap->o.on_log(ap->o.ud, line);
	}
}

static void up_failed(struct ap_conn *c, const char *msg)
{
	up_drop(c);
	if (c->local || c->state == C_HEAD)
		return;
	up_log(c, msg);
	if (!c->req_done && c->state != C_TUNNEL)
		c->unread = 1;
	if (!c->resp_started && c->state != C_TUNNEL) {
		/* nothing was sent yet: a gateway error the client can read */
		kx_buf_clear(&c->to_upstream);
		c->keep_alive = 0;
		c->resp_done = c->req_done = 1;
		char body[600];
		snprintf(body, sizeof body, "%s\n", msg);
		text_response(c, 502, "Bad Gateway", body);
		cycle_done(c);
		return;
	}
	/* mid-response or a tunnel: the client sees the connection end */
	c->keep_alive = 0;
	c->resp_done = c->req_done = 1;
	if (c->state == C_TUNNEL)
		c->state = C_WAIT;
	conn_flush_client(c); /* closes once the last bytes are out */
}

static int on_resp_headers(void *ud)
{
	struct ap_conn *c = ud;
	/* a response to HEAD has no body whatever its headers say */
	return c->head_req ? 1 : 0;
}

static int on_resp_complete(void *ud)
{
	struct ap_conn *c = ud;
	int code = kx__http_status(c->resp);
	if (code >= 100 && code < 200 && code != 101)
		return 0; /* interim (100 Continue): the real response follows */
	c->resp_done = 1;
	c->resp_keep = kx__http_keep_alive(c->resp);
	kx__http_pause(c->resp, 1);
	return 0;
}

static const struct kx__http_callbacks resp_callbacks = {
	.on_headers = on_resp_headers,
	.on_complete = on_resp_complete,
};

static void flush_soon_fn(void *ud)
{
	struct ap_conn *c = ud;
	conn_flush_client(c);
	if (!c->closing && c->to_client.len > AP_HIGH)
		set_upstream_paused(c, 1);
}

/* The API server's bytes reach the client once this wakeup's reads are done
 * (a response often comes as two TLS records, read one at a time: one send
 * instead of two), or now when much is queued. */
static void client_flush_soon(struct ap_conn *c)
{
	if (c->ap->loop && c->to_client.len <= AP_HIGH)
		kx__loop_defer(c->ap->loop, &c->flush_soon);
	else
		flush_soon_fn(c);
}

static void up_data(void *ud, const void *data, size_t len)
{
	struct up_link *l = ud;
	struct ap_conn *c = l->c;
	if (l->idle)
		idle_gone(l); /* bytes nobody asked for: the connection is not reusable */
	if (!c)
		return;
	if (c->closing)
		return;
	if (c->state == C_TUNNEL) {
		if (kx_buf_append(&c->to_client, data, len))
			conn_close(c);
		else
			client_flush_soon(c);
		return;
	}
	if (c->resp_done || c->state == C_HEAD) {
		up_failed(c, "the server sent bytes after its response");
		return;
	}
	if (!c->resp_started) {
		kx__http_reset(c->resp);
		c->resp_started = 1;
	}
	size_t used = kx__http_feed(c->resp, data, len);
	enum kx__http_state e = kx__http_state(c->resp);
	if (e != KX_HTTP_OK && e != KX_HTTP_PAUSED && !kx__http_upgrade(c->resp)) {
		up_failed(c, kx__http_error_text(c->resp));
		return;
	}
	if (kx_buf_append(&c->to_client, data, used)) {
		conn_close(c);
		return;
	}
	if (kx__http_upgrade(c->resp) && kx__http_status(c->resp) == 101 && c->upgrade_req) {
		/* The server switched protocols: a tunnel from here on. */
		c->state = C_TUNNEL;
		c->keep_alive = 0;
		if (used < len && kx_buf_append(&c->to_client, (const char *)data + used, len - used)) {
			conn_close(c);
			return;
		}
		if (c->inbuf.len) {
			if (kx_buf_append(&c->to_upstream, c->inbuf.data, c->inbuf.len)) {
				conn_close(c);
				return;
			}
			kx_buf_free(&c->inbuf);
		}
		set_client_paused(c, 0);
		conn_flush_upstream(c);
	} else if (c->resp_done) {
		if (!c->resp_keep) {
			up_drop(c);
			c->keep_alive = 0;
		}
		if (c->upgrade_req)
			c->keep_alive = 0; /* refused upgrade: the client's tunnel bytes are void */
	}
	client_flush_soon(c);
}

static void up_connected(void *ud)
{
	struct ap_conn *c = ((struct up_link *)ud)->c;
	if (!c)
		return;
	c->up_open = 1;
	conn_flush_upstream(c);
}

static void up_writable(void *ud)
{
	struct ap_conn *c = ((struct up_link *)ud)->c;
	if (c)
		conn_flush_upstream(c);
}

static void up_closed(void *ud, kx_err err, const struct kx_errbuf *ceb)
{
	struct up_link *l = ud;
	struct ap_conn *c = l->c;
	if (l->idle)
		idle_gone(l);
	if (!c)
		return;
	if (c->closing)
		return;
	if (c->state == C_TUNNEL) {
		/* the end of an exec or port-forward: not an error; the client's
		 * connection ends once what the server sent is out */
		up_drop(c);
		c->state = C_WAIT;
		c->keep_alive = 0;
		c->req_done = c->resp_done = 1;
		conn_flush_client(c);
		return;
	}
	if (!err && c->resp_started && !c->resp_done) {
		/* a body read to the end of the connection */
		kx__http_feed(c->resp, NULL, 0);
		if (c->resp_done) {
			up_drop(c);
			c->keep_alive = 0;
			cycle_done(c);
			return;
		}
	}
	if (c->state == C_HEAD || (c->req_done && c->resp_done && c->state != C_TUNNEL)) {
		/* an idle kept-alive connection closed by the server: fine */
		up_drop(c);
		return;
	}
	char msg[512];
	snprintf(msg, sizeof msg, "%s", err && ceb && ceb->msg[0] ? ceb->msg : "the server closed the connection");
	up_failed(c, msg);
}

static const struct kx_tlsconn_callbacks up_callbacks = {
	.on_connected = up_connected,
	.on_data = up_data,
	.on_writable = up_writable,
	.on_closed = up_closed,
};

static void start_upstream(struct ap_conn *c)
{
	struct ap *ap = c->ap;
	if (c->up || !ap->loop)
		return;
	if (ap->idle) {
		/* an open connection another client left behind: no new handshake */
		struct up_link *l = ap->idle;
		ap->idle = l->next;
		ap->nidle--;
		l->idle = 0;
		l->next = NULL;
		l->c = c;
		c->link = l;
		c->up = l->t;
		c->up_open = 1;
		c->up_paused = 0;
		return;
	}
	struct kx_errbuf eb = {0};
	/* Fresh credentials for a new connection (an exec plugin's may expire). */
	struct up_link *l = calloc(1, sizeof *l);
	kx_err err = l ? kx__client_conn_info(ap->client, &ap->ci, &eb)
		       : kx__fail(&eb, KX_ERR_NOMEM, "out of memory");
	if (!err) {
		ap->ci.keepalive_ms = ap->o.keepalive_ms;
		l->c = c;
		l->ap = ap;
		err = kx__tlsconn_open(ap->loop, &ap->ci, &up_callbacks, l, &l->t, &eb);
	}
	if (err) {
		free(l);
		up_failed(c, eb.msg[0] ? eb.msg : kx_strerror(err));
		return;
	}
	c->link = l;
	c->up = l->t;
}

static void conn_flush_upstream(struct ap_conn *c)
{
	if (!c->closing && !c->up && c->to_upstream.len && c->state != C_HEAD && c->ap->loop && !c->local)
		start_upstream(c);
	if (c->closing || !c->up || !c->up_open)
		return;
	while (c->to_upstream.len) {
		long w = kx__tlsconn_write(c->up, c->to_upstream.data, c->to_upstream.len);
		if (w < 0)
			return; /* on_closed follows */
		if (w == 0) {
			kx__tlsconn_want_write(c->up);
			break;
		}
		kx_buf_consume(&c->to_upstream, (size_t)w);
	}
	if (c->to_upstream.len < AP_LOW && (c->state == C_BODY || c->state == C_TUNNEL))
		set_client_paused(c, 0);
	if (c->eof && c->state == C_TUNNEL && !c->to_upstream.len)
		conn_close(c);
}

/* ---- the client socket ---- */

static void conn_flush_client(struct ap_conn *c)
{
	if (!c->io.h || c->closing || c->lingering)
		return;
	int fd = kx__io_fd(&c->io);
	for (;;) {
		/* refill from a static file as the client takes the bytes */
		if (c->file_fd >= 0 && c->to_client.len < AP_LOW) {
			char buf[AP_READ];
			ssize_t r = read(c->file_fd, buf, sizeof buf);
			if (r <= 0) {
				close(c->file_fd);
				c->file_fd = -1;
				if (r < 0)
					c->keep_alive = 0;
			} else if (kx_buf_append(&c->to_client, buf, (size_t)r)) {
				conn_close(c);
				return;
			}
		}
		if (!c->to_client.len)
			break;
		ssize_t n = send(fd, c->to_client.data, c->to_client.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			kx__io_want_write(&c->io);
			return;
		}
		if (n < 0) {
			conn_close(c); /* the client went away */
			return;
		}
		c->bytes_out += (size_t)n;
		kx_buf_consume(&c->to_client, (size_t)n);
	}
	if (c->to_client.len < AP_LOW)
		set_upstream_paused(c, 0);
	if (!c->keep_alive && c->resp_done && c->req_done && c->state != C_TUNNEL && c->file_fd < 0) {
		conn_end(c);
		return;
	}
	if (c->state == C_TUNNEL && !c->up && !c->to_client.len) {
		conn_close(c);
		return;
	}
	cycle_done(c);
}

/* ---- the lingering close ----
 * An answer sent before the request was read to its end (400, 431, 502 …)
 * must reach the client: a socket closed while the client's bytes are unread
 * or still coming makes the kernel send a reset, and the client's TCP then
 * throws away what it received but had not read yet — the answer. So the
 * write side is shut once the answer is out (the client reads it to its end),
 * and what the client still sends is read and dropped until it closes, for
 * at most AP_LINGER_MS and AP_LINGER_BYTES; past either the connection is
 * closed as it is (nginx's lingering_close, Go's closeWriteAndWait). */

static void linger_over(void *ud)
{
	conn_close(ud);
}

/* The connection is done once its answer is out: linger or close. */
static void conn_end(struct ap_conn *c)
{
	if (c->lingering)
		return;
	if (!c->unread || c->eof || c->closing || !c->io.h || !c->ap->loop) {
		conn_close(c);
		return;
	}
	c->lingering = 1;
	up_park_or_drop(c);
	if (shutdown(kx__io_fd(&c->io), SHUT_WR)) {
		conn_close(c);
		return;
	}
	set_client_paused(c, 0);
	c->linger = (struct kx_timer){.fn = linger_over, .ud = c};
	kx__timer_arm(c->ap->loop, &c->linger, AP_LINGER_MS);
}

/* Client bytes after an answer that ends the connection: dropped, counted. */
static void conn_drop_input(struct ap_conn *c)
{
	int fd = kx__io_fd(&c->io);
	char buf[AP_READ];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0)
			c->bytes_in += (size_t)n;
		if (n < 0 || (n == 0 && c->lingering) || (c->lingered += (size_t)n) > AP_LINGER_BYTES) {
			conn_close(c);
			return;
		}
		if (n == 0) {
			/* the client is done sending; the answer still goes out */
			set_client_paused(c, 1);
			c->eof = 1;
			return;
		}
	}
}

static void conn_read(struct ap_conn *c)
{
	if (c->unread) {
		conn_drop_input(c);
		return;
	}
	char buf[AP_READ];
	ssize_t n = recv(kx__io_fd(&c->io), buf, sizeof buf, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		c->bytes_in += (size_t)n;
	if (n <= 0) {
		set_client_paused(c, 1);
		c->eof = 1;
		if (n < 0 || c->state == C_HEAD || (c->state == C_BODY && !c->req_done)) {
			conn_close(c);
			return;
		}
		if (c->state == C_TUNNEL && !c->to_upstream.len)
			conn_close(c);
		/* otherwise: a request is complete, its response still comes (a client
		 * may half-close after sending); closed when it is out */
		c->keep_alive = 0;
		return;
	}
	feed(c, buf, (size_t)n);
}

static long long ap_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_event(struct ap_conn *c, int closed)
{
	struct ap *ap = c->ap;
	if (!ap->o.on_conn || !c->id)
		return;
	struct kx_apiproxy_conn_event e = {
		.id = c->id, .closed = closed, .peer = c->peer,
		.bytes_from_client = c->bytes_in, .bytes_to_client = c->bytes_out,
		.requests = c->requests, .duration_ms = ap_mono_ms() - c->t_open,
		.end = ap->stopping ? "shutdown" : c->eof ? "done" : "closed",
	};
	ap->o.on_conn(ap->o.ud, &e);
}

static void conn_free(struct ap_conn *c)
{
	struct ap *ap = c->ap;
	conn_event(c, 1);
	for (struct ap_conn **pp = &ap->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	up_drop(c);
	if (ap->loop)
		kx__task_cancel(ap->loop, &c->flush_soon);
	if (c->lingering)
		kx__timer_cancel(&c->linger);
	if (c->file_fd >= 0)
		close(c->file_fd);
	kx__http_free(c->req);
	kx__http_free(c->resp);
	kx_buf_free(&c->url);
	kx_buf_free(&c->field);
	kx_buf_free_secret(&c->value);
	kx_buf_free_secret(&c->headers);
	kx_buf_free(&c->host);
	kx_buf_free(&c->upgrade);
	kx_buf_free(&c->inbuf);
	kx_buf_free(&c->to_client);
	kx_buf_free_secret(&c->to_upstream);
	free(c);
}

static void conn_close(struct ap_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	up_park_or_drop(c);
	kx__io_close(&c->io);
}

static void conn_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct ap_conn *c = io->owner;
	switch (ev) {
	case KX_IO_READABLE:
		if (!c->closing)
			conn_read(c);
		return;
	case KX_IO_WRITABLE:
		if (!c->closing)
			conn_flush_client(c);
		return;
	case KX_IO_CLOSED:
		conn_close(c);
		conn_free(c);
		return;
	}
}

static struct ap_conn *conn_new(struct ap *ap)
{
	struct ap_conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->ap = ap;
	c->file_fd = -1;
	c->flush_soon = (struct kx_task){.fn = flush_soon_fn, .ud = c};
	c->url = (struct kx_buf)KX_BUF_INIT(AP_URL_MAX);
	c->field = (struct kx_buf)KX_BUF_INIT(AP_HEAD_MAX);
	c->value = (struct kx_buf)KX_BUF_INIT(AP_HEAD_MAX);
	c->headers = (struct kx_buf)KX_BUF_INIT(AP_HEAD_MAX);
	c->host = (struct kx_buf)KX_BUF_INIT(AP_HEAD_MAX);
	c->upgrade = (struct kx_buf)KX_BUF_INIT(1024);
	c->inbuf = (struct kx_buf)KX_BUF_INIT(AP_BUF_MAX);
	c->to_client = (struct kx_buf)KX_BUF_INIT(AP_BUF_MAX);
	c->to_upstream = (struct kx_buf)KX_BUF_INIT(AP_BUF_MAX);
	c->req = kx__http_new(0, &req_callbacks, c);
	c->resp = kx__http_new(1, &resp_callbacks, c);
	if (!c->req || !c->resp) {
		kx__http_free(c->req);
		kx__http_free(c->resp);
		free(c);
		return NULL;
	}
	c->keep_alive = 1;
	c->next = ap->conns;
	ap->conns = c;
	return c;
}

static void accept_one(struct ap *ap)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = accept4(kx__io_fd(&ap->listen_io), (struct sockaddr *)&ss, &sl,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	int one = 1;
	if (ss.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct ap_conn *c = conn_new(ap);
	if (!c) {
		close(fd);
		return;
	}
	c->io = (struct kx_io){.fn = conn_cb, .owner = c};
	c->id = ++ap->conn_ids;
	c->t_open = ap_mono_ms();
	kx__format_peer(&ss, c->peer, sizeof c->peer);
	conn_event(c, 0);
	struct kx_errbuf eb = {0};
	if (kx__loop_adopt_fd(ap->loop, fd, &c->io, &eb)) {
		close(fd);
		c->closing = 1;
		conn_free(c);
	}
}

static void listener_cb(struct kx_io *io, enum kx_io_event ev)
{
	if (ev == KX_IO_READABLE)
		accept_one(io->owner);
}

static kx_err listen_tcp(struct ap *ap, char *where, size_t wn, struct kx_errbuf *eb)
{
	const char *addr = ap->o.address ? ap->o.address : "127.0.0.1";
	char port[16];
	snprintf(port, sizeof port, "%d", ap->o.port);
	/* a name is looked up as kubectl does (its first address is used) */
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(addr, port, &hints, &res);
	if (gai)
		return kx__fail(eb, KX_ERR_IO, "listen tcp: lookup %s: %s", addr, gai_strerror(gai));
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 512)) {
		int e = errno;
		int v6 = res->ai_family == AF_INET6;
		freeaddrinfo(res);
		if (fd >= 0)
			close(fd);
		return kx__fail(eb, KX_ERR_IO, "listen tcp %s%s%s:%d: bind: %s", v6 ? "[" : "", addr,
				v6 ? "]" : "", ap->o.port, strerror(e));
	}
	freeaddrinfo(res);
	/* Go's net.Listener Addr().String(): the numeric address, brackets for IPv6 */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	char host[INET6_ADDRSTRLEN] = "", serv[16] = "";
	getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv,
		    NI_NUMERICHOST | NI_NUMERICSERV);
	int v6 = ss.ss_family == AF_INET6;
	snprintf(where, wn, "%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", serv);
	kx_err err = kx__loop_adopt_fd(ap->loop, fd, &ap->listen_io, eb);
	if (err)
		close(fd);
	return err;
}

static kx_err listen_unix(struct ap *ap, char *where, size_t wn, struct kx_errbuf *eb)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = ap->o.unix_socket;
	if (strlen(path) >= sizeof sa.sun_path)
		return kx__fail(eb, KX_ERR_INVALID, "unix socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	/* A stale socket from an earlier run is removed (kubectl does the same);
	 * anything else at the path is left alone and bind fails. */
	struct stat st;
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(077);
	int bad = fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 512);
	int saved = errno;
	umask(old);
	if (bad) {
		if (fd >= 0)
			close(fd);
		return kx__fail(eb, KX_ERR_IO, "listen unix %s: bind: %s", path, strerror(saved));
	}
	snprintf(where, wn, "%s", path);
	kx_err err = kx__loop_adopt_fd(ap->loop, fd, &ap->listen_io, eb);
	if (err)
		close(fd);
	return err;
}

static void signal_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct ap *ap = io->owner;
	if (ev != KX_IO_READABLE)
		return;
	struct signalfd_siginfo si;
	while (read(kx__io_fd(io), &si, sizeof si) == (ssize_t)sizeof si) {
		ap->stopping = 1;
		kx__loop_stop(ap->loop);
	}
}

/* ---- setup ---- */

static void with_slash(char *out, size_t n, const char *s, const char *def)
{
	s = s && *s ? s : def;
	size_t l = strlen(s);
	snprintf(out, n, "%s%s%s", s[0] == '/' ? "" : "/", s, s[l - 1] == '/' ? "" : "/");
}

static kx_err ap_setup(struct ap *ap, const struct kx_apiproxy_opts *opts, struct kx_errbuf *eb)
{
	ap->o = *opts;
	ap->eb = eb;
	with_slash(ap->api_prefix, sizeof ap->api_prefix, opts->api_prefix, "/");
	with_slash(ap->www_prefix, sizeof ap->www_prefix, opts->www_prefix, "/static/");
	kx_err err;
	if ((err = regexes_compile(&ap->accept_hosts, opts->accept_hosts ? opts->accept_hosts : DEFAULT_ACCEPT_HOSTS,
				   "--accept-hosts", eb)) ||
	    (err = regexes_compile(&ap->accept_paths, opts->accept_paths ? opts->accept_paths : DEFAULT_ACCEPT_PATHS,
				   "--accept-paths", eb)) ||
	    (err = regexes_compile(&ap->reject_paths, opts->reject_paths ? opts->reject_paths : DEFAULT_REJECT_PATHS,
				   "--reject-paths", eb)) ||
	    (err = regexes_compile(&ap->reject_methods,
				   opts->reject_methods ? opts->reject_methods : DEFAULT_REJECT_METHODS,
				   "--reject-methods", eb)))
		return err;
	if (!(ap->md = pcre2_match_data_create(4, NULL)))
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	return KX_OK;
}

static void ap_cleanup(struct ap *ap)
{
	while (ap->conns) {
		struct ap_conn *c = ap->conns;
		kx__io_detach(&c->io);
		c->closing = 1;
		conn_free(c);
	}
	while (ap->idle)
		idle_gone(ap->idle);
	if (ap->loop)
		kx__timer_cancel(&ap->reaper);
	reap(ap);
	regexes_free(&ap->accept_hosts);
	regexes_free(&ap->accept_paths);
	regexes_free(&ap->reject_paths);
	regexes_free(&ap->reject_methods);
	pcre2_match_data_free(ap->md);
	kx__memzero(&ap->ci, sizeof ap->ci);
}

kx_err kx_apiproxy_run(struct kx_client *client, const struct kx_apiproxy_opts *opts,
		       struct kx_errbuf *eb)
{
	struct ap ap;
	memset(&ap, 0, sizeof ap);
	ap.client = client;
	char where[600];
	kx_err err = ap_setup(&ap, opts, eb);
	if (!err)
		err = kx__client_conn_info(client, &ap.ci, eb);
	if (!err)
		err = kx__loop_new(&ap.loop, eb);
	if (err)
		goto out;
	ap.listen_io = (struct kx_io){.fn = listener_cb, .owner = &ap};
	ap.reaper = (struct kx_timer){.fn = reap, .ud = &ap};
	err = opts->unix_socket ? listen_unix(&ap, where, sizeof where, eb)
				: listen_tcp(&ap, where, sizeof where, eb);
	if (err)
		goto out;
	if (opts->handle_signals) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGHUP);
		ap.signal_io = (struct kx_io){.fn = signal_cb, .owner = &ap};
		ap.mask_saved = 1;
		if ((err = kx__loop_signals(ap.loop, &set, &ap.old_mask, &ap.signal_io, eb)))
			goto out;
	}
	if (opts->on_listening)
		opts->on_listening(opts->ud, where);
	kx__loop_run(ap.loop);
out:
	ap_cleanup(&ap);
	kx__loop_free(ap.loop);
	if (opts->unix_socket && !err)
		unlink(opts->unix_socket);
	if (ap.mask_saved)
		sigprocmask(SIG_SETMASK, &ap.old_mask, NULL);
	return err;
}

/* ---- tests and fuzzing ---- */

kx_err kx__apiproxy_feed_once(const struct kx_apiproxy_opts *opts, const char *data, size_t len,
			      size_t split, struct kx_buf *to_client, struct kx_buf *to_upstream,
			      struct kx_errbuf *eb)
{
	struct ap ap;
	memset(&ap, 0, sizeof ap);
	snprintf(ap.ci.host_header, sizeof ap.ci.host_header, "api.test:6443");
	kx_err err = ap_setup(&ap, opts, eb);
	struct ap_conn *c = err ? NULL : conn_new(&ap);
	if (!err && !c)
		err = kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	if (c) {
		split = split > len ? len : split;
		feed(c, data, split);
		feed(c, data + split, len - split);
		/* as if each response arrived: the next request gets parsed */
		for (int i = 0; i < 64 && !c->closing && c->req_done && c->state != C_TUNNEL; i++) {
			c->resp_done = 1;
			if (c->file_fd >= 0) {
				close(c->file_fd);
				c->file_fd = -1;
			}
			kx_buf_append(to_client, c->to_client.data, c->to_client.len);
			kx_buf_clear(&c->to_client);
			cycle_done(c);
		}
		kx_buf_append(to_client, c->to_client.data, c->to_client.len);
		kx_buf_append(to_upstream, c->to_upstream.data, c->to_upstream.len);
	}
	ap_cleanup(&ap);
	return err;
}
