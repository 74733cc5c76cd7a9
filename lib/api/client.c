/* SPDX-License-Identifier: Apache-2.0 */
/* REST calls to one API server through libcurl: one easy handle kept for the
 * client's life so the TLS connection is reused, credentials from auth.c,
 * certificates from memory (CURLOPT_*_BLOB), and failures mapped to kx_err with
 * the server's Status kept for the caller. */
#include <kx/client.h>
#include "curlconn.h"
#include "curlm.h"
#include "loop.h"
#include "internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kx_build_version.h"

struct kx_client {
	struct kx_rest_config *rc; /* deep copy */
	struct kx_auth *auth;
	CURL *curl;
	/* One TLS session cache and DNS cache for every handle of this client —
	 * blocking calls, calls in a streaming loop and the loop's streams — so a
	 * new connection resumes the TLS session instead of a full handshake. Not
	 * the connection pool: a stream's CONNECT_ONLY connection waits in its
	 * handle's pool as an idle one, and in a shared pool another transfer's
	 * upkeep (dead-connection pruning, the pool's size limit) could close it. */
	CURLSH *share;
	char host[300];            /* "host:port" for messages */
	char *url_base;            /* server without a trailing '/' */
	char *connect_to;          /* for --tls-server-name: "name:port:host:port" */
	struct curl_slist *connect_to_list; /* the same as libcurl's list, made once (curl does not free it) */
	struct kx_status status;
	int have_status;
	kx_trace_fn trace;
	void *trace_ud;
	kx_warning_fn warn;
	void *warn_ud;
	char warned[8][256];      /* texts already handed out (kubectl deduplicates) */
	unsigned nwarned;
	int verbosity;
	char curl_err[CURL_ERROR_SIZE];
};

const char *kx_client_host(const struct kx_client *c)
{
	return c->host;
}

const char *kx_client_server(const struct kx_client *c)
{
	return c->rc->server;
}

const char *kx_client_namespace(const struct kx_client *c)
{
	return c->rc->namespace_ ? c->rc->namespace_ : "default";
}

const struct kx_status *kx_client_status(const struct kx_client *c)
{
	return c->have_status ? &c->status : NULL;
}

void kx_client_set_warning_handler(struct kx_client *c, kx_warning_fn fn, void *ud)
{
	c->warn = fn;
	c->warn_ud = ud;
}

/* "Warning: 299 - \"text\"" (possibly several, comma-separated): hand each text
 * to the handler once. Quoted-string escapes (\") are undone. */
static void server_warning(struct kx_client *c, const char *v, size_t n)
{
	size_t i = 0;
	while (i < n) {
		const char *q = memchr(v + i, '"', n - i);
		if (!q)
			return;
		char text[256];
		size_t t = 0;
		const char *p = q + 1, *end = v + n;
		while (p < end && *p != '"' && t < sizeof text - 1) {
			if (*p == '\\' && p + 1 < end)
				p++;
			text[t++] = *p++;
		}
		text[t] = '\0';
		i = (size_t)(p - v) + 1;
		/* skip an optional quoted date after the text */
		while (i < n && v[i] != ',')
			i++;
		i++;
		int seen = 0;
		for (unsigned k = 0; k < c->nwarned && k < 8; k++)
			seen |= !strcmp(c->warned[k], text);
		if (seen || !t)
			continue;
		snprintf(c->warned[c->nwarned++ % 8], sizeof c->warned[0], "%s", text);
		c->warn(c->warn_ud, text);
	}
}

void kx_client_set_trace(struct kx_client *c, int verbosity, kx_trace_fn fn, void *ud)
{
	c->verbosity = verbosity;
	c->trace = fn;
	c->trace_ud = ud;
}

static void tracef(struct kx_client *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void tracef(struct kx_client *c, int level, const char *fmt, ...)
{
	if (!c->trace || c->verbosity < level)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	c->trace(c->trace_ud, level, line);
}

/* Split "https://host:port/path" into the host:port kubectl shows. */
static void server_host(const char *server, char *out, size_t n)
{
	const char *p = strstr(server, "://");
	p = p ? p + 3 : server;
	size_t len = strcspn(p, "/?#");
	snprintf(out, n, "%.*s", (int)len, p);
	if (!strchr(out, ':') || (out[0] == '[' && !strstr(out, "]:"))) {
		size_t l = strlen(out);
		snprintf(out + l, n - l, ":%s", !strncmp(server, "http://", 7) ? "80" : "443");
	}
}

/* --tls-server-name: libcurl takes SNI and verification from the URL's host, so
 * the URL names the TLS server name and CONNECT_TO sends the connection to the
 * real address. */
static kx_err use_tls_server_name(struct kx_client *c)
{
	const char *name = c->rc->tls_server_name;
	const char *colon = strrchr(c->host, ':');
	const char *scheme_end = strstr(c->url_base, "://") + 3;
	const char *path = scheme_end + strcspn(scheme_end, "/");
	size_t n = strlen(name) * 2 + strlen(c->host) + strlen(c->url_base) + 32;
	char *ct = malloc(n), *url = malloc(n);
	if (!ct || !url) {
		free(ct);
		free(url);
		return KX_ERR_NOMEM;
	}
	snprintf(ct, n, "%s:%s:%s", name, colon + 1, c->host);
	snprintf(url, n, "%.*s%s:%s%s", (int)(scheme_end - c->url_base), c->url_base, name,
		 colon + 1, path);
	free(c->url_base);
	c->url_base = url;
	c->connect_to = ct;
	return KX_OK;
}

kx_err kx_client_new(const struct kx_rest_config *rc, struct kx_client **out, struct kx_errbuf *eb)
{
	*out = NULL;
	if (!rc || !rc->server || !*rc->server)
		return kx__fail(eb, KX_ERR_CONFIG, "no server found for cluster \"%s\"",
				rc && rc->cluster_name ? rc->cluster_name : "");
	struct kx_client *c = calloc(1, sizeof *c);
	kx_err err = KX_ERR_NOMEM;
	if (!c || !(c->rc = kx__rest_config_dup(rc)))
		goto fail;
	if ((err = kx__auth_new(c->rc, &c->auth, eb)))
		goto fail;
	err = KX_ERR_NOMEM;
	const char *server = c->rc->server;
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7)) {
		/* kubectl accepts "host:port" and means https. */
		size_t n = strlen(server) + 9;
		char *s = malloc(n);
		if (!s)
			goto fail;
		snprintf(s, n, "https://%s", server);
		free((char *)c->rc->server);
		c->rc->server = server = s;
	}
	if (!(c->url_base = strdup(server)))
		goto fail;
	for (size_t l = strlen(c->url_base); l && c->url_base[l - 1] == '/'; l--)
		c->url_base[l - 1] = '\0';
	server_host(server, c->host, sizeof c->host);
	if (c->rc->tls_server_name && (err = use_tls_server_name(c)))
		goto fail;
	if (!(c->curl = curl_easy_init()) || !(c->share = curl_share_init()) ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS))
		goto fail;
	*out = c;
	return KX_OK;
fail:
	kx_client_free(c);
	return err == KX_ERR_NOMEM ? kx__fail(eb, err, "out of memory") : err;
}

void kx_client_free(struct kx_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	/* After every handle that used it (the caller frees streams and loops
	 * before the client). */
	if (c->share)
		curl_share_cleanup(c->share);
	kx__auth_free(c->auth);
	kx__rest_config_free(c->rc);
	free(c->url_base);
	free(c->connect_to);
	curl_slist_free_all(c->connect_to_list);
	free(c);
}

/* What one transfer collects. */
struct xfer {
	struct kx_client *c;
	CURL *h;
	struct kx_buf *body;
	kx_err body_err;
	/* watch mode */
	kx_watch_fn watch;
	void *watch_ud;
	struct kx_buf line;
	int stopped;
	int decode_err;
};

static int http_code(struct xfer *x)
{
	long code = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	return (int)code;
}

static int watch_line(struct xfer *x, const char *line, size_t len)
{
	if (!len)
		return 0;
	cJSON *ev = cJSON_ParseWithLength(line, len);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	int rc = 0;
	if (!cJSON_IsString(type) || !cJSON_IsObject(obj)) {
		x->decode_err = 1;
		rc = 1;
	} else {
		rc = x->watch(x->watch_ud, type->valuestring, obj);
		if (rc)
			x->stopped = 1;
	}
	cJSON_Delete(ev);
	return rc;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	if (!x->watch || http_code(x) >= 300) {
		if ((x->body_err = kx_buf_append(x->body, data, n)))
			return 0;
		return n;
	}
	/* Watch: one JSON event per line; never hold more than one line. */
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (data[i] != '\n')
			continue;
		const char *line = data + start;
		size_t len = i - start;
		if (x->line.len) {
			if ((x->body_err = kx_buf_append(&x->line, line, len)))
				return 0;
			line = x->line.data;
			len = x->line.len;
		}
		int stop = watch_line(x, line, len);
		kx_buf_clear(&x->line);
		if (stop)
			return 0;
		start = i + 1;
	}
	if (start < n && (x->body_err = kx_buf_append(&x->line, data + start, n - start)))
		return 0;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;
	if (x->c->verbosity >= 8 && n > 2)
		tracef(x->c, 8, "Response Header: %.*s", (int)(n - 2), data);
	if (x->c->warn && n > 8 && !strncasecmp(data, "Warning:", 8))
		server_warning(x->c, data + 8, n - 8);
	return n;
}

static kx_err transfer_error(struct kx_client *c, CURL *h, CURLcode rc, const char *errbuf,
			     struct kx_errbuf *eb)
{
	return kx__curl_error(h, rc, errbuf, c->host, eb);
}

/* Apply TLS, proxy, credentials and the request to the easy handle. */
static kx_err setup(struct kx_client *c, const struct kx_request *req, struct xfer *x,
		    struct curl_slist **hdrs, char **url, char *errbuf, struct kx_errbuf *eb)
{
	CURL *h = x->h;
	const struct kx_rest_config *rc = c->rc;
	struct kx_creds cr;
	kx_err err = kx__auth_get(c->auth, &cr, eb);
	if (err)
		return err;
	curl_easy_reset(h);
	size_t ulen = strlen(c->url_base) + strlen(req->path) + 2;
	if (!(*url = malloc(ulen)))
		return KX_ERR_NOMEM;
	snprintf(*url, ulen, "%s%s%s", c->url_base, req->path[0] == '/' ? "" : "/", req->path);
	curl_easy_setopt(h, CURLOPT_URL, *url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "kx/" KX_BUILD_VERSION " (linux) libkx");
	long timeout = req->timeout_ms ? req->timeout_ms : rc->timeout_ms;
	if (timeout > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
	if (c->connect_to && !c->connect_to_list &&
	    !(c->connect_to_list = curl_slist_append(NULL, c->connect_to)))
		return KX_ERR_NOMEM;
	kx__curl_apply(h, rc, &cr, c->connect_to_list, c->share, errbuf);
	/* Credentials. */
	char auth[8192];
	if (cr.bearer) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", cr.bearer);
		*hdrs = curl_slist_append(*hdrs, auth);
		kx__memzero(auth, sizeof auth);
	} else if (cr.username) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, cr.username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, cr.password);
	}
	char line[256];
	snprintf(line, sizeof line, "Accept: %s", req->accept ? req->accept : "application/json");
	*hdrs = curl_slist_append(*hdrs, line);
	const char *method = req->method ? req->method : "GET";
	if (req->body) {
		snprintf(line, sizeof line, "Content-Type: %s",
			 req->content_type ? req->content_type : "application/json");
		*hdrs = curl_slist_append(*hdrs, line);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	for (const char *const *extra = req->headers; extra && *extra; extra++)
		*hdrs = curl_slist_append(*hdrs, *extra);
	if (strcmp(method, "GET") || req->body)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	tracef(c, 7, "%s %s", method, *url);
	tracef(c, 8, "Request Header: Accept: %s", req->accept ? req->accept : "application/json");
	if (cr.bearer)
		tracef(c, 8, "Request Header: Authorization: Bearer <masked>");
	return KX_OK;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* What a finished transfer means: KX_OK, or an error with the server's Status
 * kept. Returns XFER_RETRY (and nothing in eb) when a 401 may be cured by new
 * credentials (attempt 0 only). */
#define XFER_RETRY (-1000)
static kx_err xfer_result(struct kx_client *c, struct xfer *x, CURLcode rc, const char *errbuf,
			  int attempt, struct kx_errbuf *eb)
{
	int code = http_code(x);
	if (x->stopped)
		return KX_OK;
	if (x->body_err == KX_ERR_TOO_LARGE)
		return kx__fail(eb, KX_ERR_TOO_LARGE, "response from %s is larger than %zu bytes",
				c->host, x->body->max);
	if (x->body_err)
		return x->body_err;
	if (rc != CURLE_OK)
		return transfer_error(c, x->h, rc, errbuf, eb);
	if (x->decode_err)
		return kx__fail(eb, KX_ERR_PROTOCOL, "watch: malformed event from %s", c->host);
	if (code >= 200 && code < 300)
		return KX_OK;
	if (code == 401 && attempt == 0 && kx__auth_unauthorized(c->auth))
		return (kx_err)XFER_RETRY;
	tracef(c, 9, "Response Body: %.*s", (int)KX_MIN(x->body->len, 1024),
	       x->body->data ? x->body->data : "");
	kx_status_decode(x->body->data, x->body->len, code, &c->status);
	c->have_status = 1;
	return kx__fail(eb, KX_ERR_API, "%s", c->status.message);
}

/* The header list held the bearer token: wipe it. */
static void free_headers(struct curl_slist *hdrs)
{
	for (struct curl_slist *s = hdrs; s; s = s->next)
		kx__memzero(s->data, strlen(s->data));
	curl_slist_free_all(hdrs);
}

/* One transfer, retried once after a 401 when an exec plugin can be run again. */
static kx_err perform(struct kx_client *c, const struct kx_request *req, struct xfer *x,
		      struct kx_errbuf *eb)
{
	c->have_status = 0;
	x->h = c->curl;
	for (int attempt = 0;; attempt++) {
		struct curl_slist *hdrs = NULL;
		char *url = NULL;
		kx_buf_clear(x->body);
		kx_buf_clear(&x->line);
		kx_err err = setup(c, req, x, &hdrs, &url, c->curl_err, eb);
		if (err) {
			curl_slist_free_all(hdrs);
			free(url);
			return err;
		}
		double t0 = now_ms();
		CURLcode rc = curl_easy_perform(c->curl);
		tracef(c, 6, "%s %s %d in %.0f milliseconds", req->method ? req->method : "GET", url,
		       http_code(x), now_ms() - t0);
		free_headers(hdrs);
		free(url);
		err = xfer_result(c, x, rc, c->curl_err, attempt, eb);
		if (err != (kx_err)XFER_RETRY)
			return err;
	}
}

kx_err kx_client_request(struct kx_client *c, const struct kx_request *req, struct kx_buf *body,
			 struct kx_errbuf *eb)
{
	*body = (struct kx_buf)KX_BUF_INIT(req->max_body);
	struct xfer x = {.c = c, .body = body, .line = KX_BUF_INIT(0)};
	kx_err err = perform(c, req, &x, eb);
	if (err)
		kx_buf_free(body);
	return err;
}

static kx_err json_call(struct kx_client *c, const char *method, const char *path,
			const char *content_type, const cJSON *body_json, cJSON **out,
			struct kx_errbuf *eb)
{
	char *text = NULL;
	if (out)
		*out = NULL;
	if (body_json && !(text = cJSON_PrintUnformatted(body_json)))
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	struct kx_request req = {
		.method = method, .path = path, .body = text, .body_len = text ? strlen(text) : 0,
		.content_type = content_type,
	};
	struct kx_buf body;
	kx_err err = kx_client_request(c, &req, &body, eb);
	free(text);
	if (err)
		return err;
	if (out && body.len) {
		*out = cJSON_ParseWithLength(body.data, body.len);
		if (!*out)
			err = kx__fail(eb, KX_ERR_PROTOCOL, "%s %s: the server's answer is not JSON", method, path);
	}
	kx_buf_free(&body);
	return err;
}

kx_err kx_client_json(struct kx_client *c, const char *method, const char *path,
		      const cJSON *body_json, cJSON **out, struct kx_errbuf *eb)
{
	return json_call(c, method, path, NULL, body_json, out, eb);
}

kx_err kx_client_get(struct kx_client *c, const char *path, cJSON **out, struct kx_errbuf *eb)
{
	return json_call(c, "GET", path, NULL, NULL, out, eb);
}

kx_err kx_client_patch(struct kx_client *c, const char *path, enum kx_patch_type type,
		       const cJSON *patch, cJSON **out, struct kx_errbuf *eb)
{
	static const char *const types[] = {
		[KX_PATCH_MERGE] = "application/merge-patch+json",
		[KX_PATCH_STRATEGIC] = "application/strategic-merge-patch+json",
		[KX_PATCH_JSON] = "application/json-patch+json",
	};
	return json_call(c, "PATCH", path, types[type], patch, out, eb);
}

kx_err kx_client_watch(struct kx_client *c, const char *path, long timeout_ms, kx_watch_fn fn,
		       void *ud, struct kx_errbuf *eb)
{
	struct kx_buf body = KX_BUF_INIT(1 << 20);
	struct xfer x = {.c = c, .body = &body, .watch = fn, .watch_ud = ud,
			 .line = KX_BUF_INIT(16 << 20)};
	struct kx_request req = {.method = "GET", .path = path, .timeout_ms = timeout_ms};
	kx_err err = perform(c, &req, &x, eb);
	kx_buf_free(&body);
	kx_buf_free(&x.line);
	return err;
}

kx_err kx__client_conn_info(struct kx_client *c, struct kx__conn_info *ci, struct kx_errbuf *eb)
{
	memset(ci, 0, sizeof *ci);
	const char *s = c->rc->server;
	ci->tls = strncmp(s, "http://", 7) != 0;
	const char *p = strstr(s, "://");
	p = p ? p + 3 : s;
	size_t hostlen = strcspn(p, "/?#");
	const char *hp_end = p + hostlen;
	const char *port = NULL;
	if (*p == '[') {
		const char *close = memchr(p, ']', hostlen);
		if (!close)
			return kx__fail(eb, KX_ERR_CONFIG, "invalid server URL %s", s);
		snprintf(ci->host, sizeof ci->host, "%.*s", (int)(close - p - 1), p + 1);
		if (close + 1 < hp_end && close[1] == ':')
			port = close + 2;
	} else {
		const char *colon = memchr(p, ':', hostlen);
		snprintf(ci->host, sizeof ci->host, "%.*s", (int)((colon ? colon : hp_end) - p), p);
		if (colon)
			port = colon + 1;
	}
	ci->port = port ? atoi(port) : (ci->tls ? 443 : 80);
	if (ci->port <= 0 || ci->port > 65535)
		return kx__fail(eb, KX_ERR_CONFIG, "invalid port in server URL %s", s);
	snprintf(ci->path_prefix, sizeof ci->path_prefix, "%.*s", (int)strcspn(hp_end, "?#"), hp_end);
	for (size_t l = strlen(ci->path_prefix); l && ci->path_prefix[l - 1] == '/'; l--)
		ci->path_prefix[l - 1] = '\0';
	snprintf(ci->tls_name, sizeof ci->tls_name, "%s",
		 c->rc->tls_server_name ? c->rc->tls_server_name : ci->host);
	snprintf(ci->host_header, sizeof ci->host_header, "%s", c->host);
	ci->rc = c->rc;
	ci->share = c->share;
	c->have_status = 0;
	return kx__auth_get(c->auth, &ci->creds, eb);
}

void kx__client_set_status(struct kx_client *c, const struct kx_status *st)
{
	c->status = *st;
	c->have_status = 1;
}

int kx__client_unauthorized(struct kx_client *c)
{
	return kx__auth_unauthorized(c->auth);
}

/* ---- calls inside a streaming command's loop (no blocking) ---- */

struct kx__call {
	struct kx_client *c;
	struct xfer x;
	struct kx_buf body;
	struct curl_slist *hdrs;
	char *url;
	char method[16];
	struct kx__curlm *cm;
	kx__call_done_fn done;
	void *ud;
	double t0;
	char errbuf[CURL_ERROR_SIZE];
	struct kx_errbuf eb;
};

static void call_done(void *ud, CURLcode rc)
{
	struct kx__call *k = ud;
	struct kx_client *c = k->c;
	tracef(c, 6, "%s %s %d in %.0f milliseconds", k->method, k->url, http_code(&k->x),
	       now_ms() - k->t0);
	kx_err err = xfer_result(c, &k->x, rc, k->errbuf, 1, &k->eb);
	k->done(k->ud, err, &k->body, &k->eb);
}

kx_err kx__client_start(struct kx_client *c, struct kx_loop *l, const struct kx_request *req,
			kx_watch_fn watch, void *watch_ud, kx__call_done_fn done, void *ud,
			struct kx__call **out, struct kx_errbuf *eb)
{
	*out = NULL;
	struct kx__call *k = calloc(1, sizeof *k);
	if (!k)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	k->c = c;
	k->done = done;
	k->ud = ud;
	k->body = (struct kx_buf)KX_BUF_INIT(req->max_body ? req->max_body : 64 << 20);
	k->x = (struct xfer){.c = c, .body = &k->body, .watch = watch, .watch_ud = watch_ud,
			     .line = KX_BUF_INIT(16 << 20)};
	snprintf(k->method, sizeof k->method, "%s", req->method ? req->method : "GET");
	kx_err err = KX_ERR_NOMEM;
	if (!(k->x.h = curl_easy_init()))
		goto fail;
	if ((err = setup(c, req, &k->x, &k->hdrs, &k->url, k->errbuf, eb)))
		goto fail;
	k->t0 = now_ms();
	if ((err = kx__curlm_start(l, k->x.h, call_done, k, &k->cm, eb)))
		goto fail;
	*out = k;
	return KX_OK;
fail:
	kx__call_free(k);
	return err == KX_ERR_NOMEM && !eb->msg[0] ? kx__fail(eb, err, "out of memory") : err;
}

void kx__call_free(struct kx__call *k)
{
	if (!k)
		return;
	kx__curlm_free(k->cm);
	if (k->x.h)
		curl_easy_cleanup(k->x.h);
	free_headers(k->hdrs);
	free(k->url);
	kx_buf_free(&k->body);
	kx_buf_free(&k->x.line);
	free(k);
}

/* ---- waiting for a change (kx_client_wait_any) ---- */

#define WAIT_MAX 4

struct wait_any {
	struct kx_loop *loop;
	struct kx__call *calls[WAIT_MAX];
	struct kx_timer timeout;
	int changed;
	kx_err err;
	struct kx_errbuf eb;
};

static int wait_event(void *ud, const char *type, const cJSON *obj)
{
	struct wait_any *w = ud;
	(void)obj;
	if (!strcmp(type, "BOOKMARK"))
		return 0;
	w->changed = 1;
	kx__loop_stop(w->loop);
	return 1;
}

static void wait_end(void *ud, kx_err err, const struct kx_buf *body, const struct kx_errbuf *eb)
{
	struct wait_any *w = ud;
	(void)body;
	/* A watch the server ended (expiry, restart) counts as a change: the
	 * caller reads again and starts new watches from what it read. */
	if (err && !w->err) {
		w->err = err;
		w->eb = *eb;
	}
	w->changed = 1;
	kx__loop_stop(w->loop);
}

static void wait_timeout(void *ud)
{
	kx__loop_stop(((struct wait_any *)ud)->loop);
}

kx_err kx_client_wait_any(struct kx_client *c, const char *const *paths, size_t n, long timeout_ms,
			  int *changed, struct kx_errbuf *eb)
{
	*changed = 0;
	if (n > WAIT_MAX)
		return kx__fail(eb, KX_ERR_INVALID, "at most %d watches at once", WAIT_MAX);
	struct wait_any w = {.timeout = {.fn = wait_timeout}};
	w.timeout.ud = &w;
	kx_err err = kx__loop_new(&w.loop, eb);
	for (size_t i = 0; !err && i < n; i++) {
		struct kx_request req = {.method = "GET", .path = paths[i]};
		err = kx__client_start(c, w.loop, &req, wait_event, &w, wait_end, &w, &w.calls[i], eb);
	}
	if (!err) {
		kx__timer_arm(w.loop, &w.timeout, timeout_ms > 0 ? timeout_ms : 1);
		kx__loop_run(w.loop);
		if (w.err)
			err = kx__fail(eb, w.err, "%s", w.eb.msg);
		*changed = w.changed && !err;
	}
	for (size_t i = 0; i < n; i++)
		kx__call_free(w.calls[i]);
	kx__timer_cancel(&w.timeout);
	kx__loop_free(w.loop);
	return err;
}
