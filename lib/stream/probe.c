/* SPDX-License-Identifier: Apache-2.0 */
/* kx reach --check's probes (<kx/expose.h>): every route of a reach view tried
 * from this machine at once, on one event loop — node ports, load-balancer and
 * external addresses (a TCP connect, an HTTP GET for http ports), Ingress URLs
 * (Host header, SNI and certificate checks through libcurl's CONNECT_TO), the API
 * server's service proxy (an in-loop call of kx's own client), port-forward (an
 * in-process forward, kx__pf, to the Service's Ready pods on the same loop, and
 * a connection through it) — each with its own timeout, and each result worded
 * by the layer that failed. */
#include <kx/expose.h>

#include <curl/curl.h>
#include <errno.h>
#include <openssl/x509_vfy.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "curlm.h"
#include "internal.h"
#include "loop.h"
#include "pf_internal.h"
#include "reach_internal.h"

#include <arpa/inet.h>
#include <kx/pods.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

enum route_kind { R_CLUSTER, R_NODE, R_LB, R_EXT, R_INGRESS, R_API, R_FORWARD };

struct prober;

struct probe {
	struct prober *pr;
	cJSON *entry; /* the route in the view; its "check" is added at the end */
	enum route_kind kind;
	char target[320];   /* host:port connected to, for words */
	char name[300];     /* the host name, when the route has one (DNS, TLS) */
	int port, http;
	int resolves; /* the address connected to is a name: DNS is timed */
	char conn_host[300]; /* that address */
	CURL *h;
	struct kx__curlm *cm;
	struct kx__call *call; /* the API server proxy probe */
	struct curl_slist *connect_to;
	long long t0;
	int got_body; /* the first body bytes arrived: enough */
	char errbuf[CURL_ERROR_SIZE];
	struct probe *next, *queued_next;
	/* port-forward: the forward, the connection through it (TCP ports: a socket
	 * of our own; HTTP ports: the curl transfer), what its events said */
	struct kx__pf *pf;
	int local_port;
	int fd;
	int decided;
	char pod[256];
	char pf_error[600];
	struct kx_timer grace, deadline;
};

/* Probes running at once, at most: a big cluster's nodes × ports stay within
 * the descriptor limit (each probe holds its socket and its libcurl multi's
 * wake-up pair), and each probe's time starts when it does. */
#define PROBES_AT_ONCE 64
#define FDS_PER_PROBE 4
#define FDS_KEPT 40 /* for the API connections, stdio, the loop */

struct prober {
	struct kx_loop *loop;
	struct kx_client *c;
	const struct kx_reach_check_opts *o;
	long timeout_ms;
	int running, at_once;
	struct probe *probes;
	struct probe *queue, **queue_tail; /* set up, waiting for a place */
	struct kx_task pump;
};

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void set_check(cJSON *entry, const char *status, double latency_ms, const char *layer,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void set_check(cJSON *entry, const char *status, double latency_ms, const char *layer,
		      const char *fmt, ...)
{
	cJSON_DeleteItemFromObject(entry, "check");
	cJSON *c = cJSON_AddObjectToObject(entry, "check");
	va_list ap;
	va_start(ap, fmt);
	kx__reach_result(c, status, fmt, ap);
	va_end(ap);
	if (latency_ms >= 0)
		cJSON_AddNumberToObject(c, "latencyMs", (double)(long long)(latency_ms * 10 + 0.5) / 10);
	if (layer)
		cJSON_AddStringToObject(c, "layer", layer);
}

/* Ports that speak HTTP: declared by appProtocol, named http/https (or
 * http-…/https-…, Istio's convention), or the usual numbers. */
static int port_speaks(const cJSON *view, int port, int *tls)
{
	const cJSON *p;
	*tls = 0;
	cJSON_ArrayForEach(p, kx_json_get(view, "ports")) {
		if (kx_json_int(p, "port", 0) != port)
			continue;
		const char *ap = kx_json_str(p, "appProtocol"), *n = kx_json_str(p, "name");
		const char *proto = ap ? ap : n ? n : "";
		if (!strncmp(proto, "https", 5) || !strcmp(proto, "kubernetes.io/wss"))
			return *tls = 1, 1;
		if (!strncmp(proto, "http", 4) || !strcmp(proto, "kubernetes.io/h2c") || !strcmp(proto, "kubernetes.io/ws"))
			return 1;
		if (ap || (n && *n))
			return 0;
	}
	if (port == 443)
		return *tls = 1, 1;
	return port == 80 || port == 8080;
}

static const char *where_words(enum route_kind k)
{
	switch (k) {
	case R_NODE: return "node port";
	case R_LB: return "load balancer";
	case R_EXT: return "external IP";
	case R_INGRESS: return "the ingress";
	case R_CLUSTER: return "cluster IP";
	case R_API: return "the API server";
	case R_FORWARD: return "port-forward";
	}
	return "";
}

/* The failing layer of a finished transfer, in plain words. */
static void word_failure(struct probe *p, CURLcode rc, double ms)
{
	long oserr = 0, verify = 0;
	double connect_s = 0;
	curl_easy_getinfo(p->h, CURLINFO_OS_ERRNO, &oserr);
	curl_easy_getinfo(p->h, CURLINFO_CONNECT_TIME, &connect_s);
	/* what failed, as a user finds it: "node port 30080 on 10.1.2.3", "the ingress 1.2.3.4:443" */
	char who[sizeof p->target + 64];
	if (p->kind == R_NODE)
		snprintf(who, sizeof who, "node port %d on %s", p->port, p->target);
	else
		snprintf(who, sizeof who, "%s %s", where_words(p->kind), p->target);
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		set_check(p->entry, "failed", ms, "dns", "DNS: cannot resolve %s", p->conn_host);
		return;
	case CURLE_COULDNT_CONNECT:
		if (oserr == ECONNREFUSED && p->kind == R_NODE)
			set_check(p->entry, "failed", ms, "tcp", "node port %d refused on %s (is kube-proxy running?)",
				  p->port, p->target);
		else if (oserr == ECONNREFUSED && p->kind == R_INGRESS)
			set_check(p->entry, "failed", ms, "tcp", "connection refused by %s at %s (is the controller running?)",
				  where_words(p->kind), p->target);
		else if (oserr == ECONNREFUSED)
			set_check(p->entry, "failed", ms, "tcp", "%s refused the connection", who);
		else
			set_check(p->entry, "failed", ms, "tcp", "cannot connect to %s: %s", who,
				  oserr ? strerror((int)oserr) : p->errbuf);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		if (connect_s <= 0)
			set_check(p->entry, "failed", ms, "tcp", "no answer from %s within %.1fs (filtered?)", who,
				  p->pr->timeout_ms / 1000.0);
		else
			set_check(p->entry, "failed", ms, p->http ? "http" : "tcp",
				  "%s took the connection but sent no answer within %.1fs", who,
				  p->pr->timeout_ms / 1000.0);
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
		curl_easy_getinfo(p->h, CURLINFO_SSL_VERIFYRESULT, &verify);
		/* libcurl checks the name itself after OpenSSL's chain check passed */
		if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH ||
		    ((verify == X509_V_OK || verify == X509_V_ERR_UNSPECIFIED) && strstr(p->errbuf, "name")))
			set_check(p->entry, "failed", ms, "tls", "TLS: certificate not valid for %s", p->name);
		else if (verify != X509_V_OK && verify != X509_V_ERR_UNSPECIFIED)
			set_check(p->entry, "failed", ms, "tls", "TLS: %s (for %s)", kx__x509_words(verify), p->name);
		else
			set_check(p->entry, "failed", ms, "tls", "TLS: %s", p->errbuf);
		return;
	case CURLE_SSL_CONNECT_ERROR:
		set_check(p->entry, "failed", ms, "tls", "TLS handshake with %s failed: %s", who, p->errbuf);
		return;
	case CURLE_GOT_NOTHING:
		set_check(p->entry, "failed", ms, "http", "%s closed the connection without an answer", who);
		return;
	default:
		set_check(p->entry, "failed", ms, NULL, "%s: %s", who,
			  p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc));
	}
}

static void curl_done(void *ud, CURLcode rc);

/* Start queued probes while there is room; stop the loop once all are done. */
static void pump(void *ud)
{
	struct prober *pr = ud;
	struct probe *p;
	while (pr->running < pr->at_once && (p = pr->queue)) {
		if (!(pr->queue = p->queued_next))
			pr->queue_tail = &pr->queue;
		struct kx_errbuf eb = {0};
		p->t0 = now_us();
		if (kx__curlm_start(pr->loop, p->h, curl_done, p, &p->cm, &eb))
			set_check(p->entry, "failed", -1, NULL, "not checked: %s", eb.msg);
		else
			pr->running++;
	}
	if (!pr->running)
		kx__loop_stop(pr->loop);
}

/* A probe ended: its place goes to the next (after this turn's events). */
static void probe_finished(struct probe *p)
{
	kx__curlm_free(p->cm);
	p->cm = NULL;
	p->pr->running--;
	kx__loop_defer(p->pr->loop, &p->pr->pump);
}

static int is_ip(const char *host)
{
	return strspn(host, "0123456789.") == strlen(host) || strchr(host, ':');
}

static void fwd_curl_done(struct probe *p, CURLcode rc, long code);

static void curl_done(void *ud, CURLcode rc)
{
	struct probe *p = ud;
	double ms = (now_us() - p->t0) / 1000.0;
	long code = 0;
	curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_WRITE_ERROR && p->got_body)
		rc = CURLE_OK; /* we stopped reading once the answer began */
	if (p->kind == R_FORWARD) {
		fwd_curl_done(p, rc, code);
		probe_finished(p);
		return;
	}
	if (rc != CURLE_OK) {
		word_failure(p, rc, ms);
	} else if (!p->http) {
		set_check(p->entry, "ok", ms, "tcp", "TCP connect to %s", p->target);
	} else if (code >= 400 && code != 401 && code != 403) {
		set_check(p->entry, "failed", ms, "http", "HTTP %ld from %s%s%s", code, where_words(p->kind),
			  p->kind == R_INGRESS ? " at " : " ", p->target);
	} else {
		set_check(p->entry, "ok", ms, "http", "HTTP %ld from %s", code, p->target);
	}
	/* DNS apart from connecting: how long each took (a name only resolves) */
	curl_off_t dns_us = 0, conn_us = 0;
	cJSON *c = cJSON_GetObjectItemCaseSensitive(p->entry, "check");
	curl_easy_getinfo(p->h, CURLINFO_NAMELOOKUP_TIME_T, &dns_us);
	curl_easy_getinfo(p->h, CURLINFO_CONNECT_TIME_T, &conn_us);
	if (p->resolves && (dns_us || rc == CURLE_OK))
		cJSON_AddNumberToObject(c, "dnsMs", (double)((dns_us + 50) / 100) / 10);
	if (conn_us)
		cJSON_AddNumberToObject(c, "connectMs", (double)((conn_us - dns_us + 50) / 100) / 10);
	probe_finished(p);
}

/* Body bytes: the status line and headers are in, which is all a probe needs. */
static size_t on_body(char *d, size_t sz, size_t n, void *ud)
{
	(void)d;
	(void)sz;
	(void)n;
	struct probe *p = ud;
	p->got_body = 1;
	return 0; /* stop: libcurl ends the transfer with CURLE_WRITE_ERROR */
}

static struct probe *probe_new(struct prober *pr, cJSON *entry, enum route_kind kind)
{
	struct probe *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->pr = pr;
	p->entry = entry;
	p->kind = kind;
	p->fd = -1;
	p->next = pr->probes;
	pr->probes = p;
	return p;
}

/* Split "host:port" / "[v6]:port". */
static int split_hostport(const char *hp, char *host, size_t n, int *port)
{
	const char *colon = strrchr(hp, ':');
	if (!colon)
		return -1;
	*port = atoi(colon + 1);
	if (*hp == '[')
		snprintf(host, n, "%.*s", (int)(colon - hp - 2), hp + 1);
	else
		snprintf(host, n, "%.*s", (int)(colon - hp), hp);
	return 0;
}

static kx_err start_curl(struct probe *p, const char *url, struct kx_errbuf *eb)
{
	CURL *h = p->h = curl_easy_init();
	if (!h)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, p->pr->timeout_ms);
	/* From here, as the user's own machine reaches it: no proxy. */
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (p->http) {
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, p);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "kx-reach-check");
		if (p->pr->o->ca_file)
			curl_easy_setopt(h, CURLOPT_CAINFO, p->pr->o->ca_file);
	} else {
		curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	}
	if (p->connect_to)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, p->connect_to);
	*p->pr->queue_tail = p;
	p->pr->queue_tail = &p->queued_next;
	return KX_OK;
}

/* A route by address: TCP connect, or an HTTP(S) GET for http ports. */
static kx_err probe_address(struct prober *pr, const cJSON *view, cJSON *entry, enum route_kind kind,
			    int svc_port, struct kx_errbuf *eb)
{
	const char *hp = kx_json_str(entry, "address");
	char host[300];
	int port = 0, tls = 0;
	if (!hp || split_hostport(hp, host, sizeof host, &port))
		return KX_OK;
	struct probe *p = probe_new(pr, entry, kind);
	if (!p)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	snprintf(p->target, sizeof p->target, "%s", kind == R_NODE ? host : hp);
	snprintf(p->name, sizeof p->name, "%s", host);
	p->resolves = !is_ip(host);
	snprintf(p->conn_host, sizeof p->conn_host, "%s", host);
	p->port = port;
	p->http = port_speaks(view, svc_port, &tls);
	if (tls && is_ip(host))
		p->http = 0; /* a certificate for a bare IP is rare: TCP only */
	char url[700];
	snprintf(url, sizeof url, "%s://%s/", p->http && tls ? "https" : "http", hp);
	return start_curl(p, url, eb);
}

/* An Ingress route: the rule's URL, connected to the Ingress's address. */
static kx_err probe_ingress(struct prober *pr, cJSON *entry, struct kx_errbuf *eb)
{
	if (cJSON_IsTrue(kx_json_get(entry, "pending"))) {
		set_check(entry, "failed", -1, "ingress", "Ingress has no address (no controller?)");
		return KX_OK;
	}
	const cJSON *a0 = cJSON_GetArrayItem(kx_json_get(entry, "addresses"), 0);
	const char *addr = cJSON_IsString(a0) ? a0->valuestring : NULL;
	const char *host = kx_json_str(entry, "host"), *url = kx_json_str(entry, "url");
	int tls = cJSON_IsTrue(kx_json_get(entry, "tls"));
	int port = kx_json_int(entry, "ingressPort", tls ? 443 : 80);
	if (!addr || !url)
		return KX_OK;
	struct probe *p = probe_new(pr, entry, R_INGRESS);
	if (!p)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	p->http = 1;
	p->port = port;
	snprintf(p->target, sizeof p->target, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, port);
	snprintf(p->name, sizeof p->name, "%s", host ? host : addr);
	p->resolves = !is_ip(addr);
	snprintf(p->conn_host, sizeof p->conn_host, "%s", addr);
	if (host) {
		/* Host header and SNI stay the rule's host; the connection goes to the address. */
		char ct[700];
		snprintf(ct, sizeof ct, strchr(addr, ':') ? "%s:%d:[%s]:%d" : "%s:%d:%s:%d", host, port, addr, port);
		if (!(p->connect_to = curl_slist_append(NULL, ct)))
			return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	}
	return start_curl(p, url, eb);
}

static void api_done(void *ud, kx_err err, const struct kx_buf *body, const struct kx_errbuf *eb)
{
	struct probe *p = ud;
	(void)body;
	double ms = (now_us() - p->t0) / 1000.0;
	const struct kx_status *st = kx_client_status(p->pr->c);
	if (!err || err == KX_ERR_TOO_LARGE)
		set_check(p->entry, "ok", ms, "api", "answered through the API server");
	else if (err == KX_ERR_API && st && st->code == 404)
		/* the service was just read: the proxy found no Endpoints object (it
		 * reads v1 Endpoints, not EndpointSlices: no endpoints controller?) */
		set_check(p->entry, "failed", ms, "api", "the API server answered 404: %s (no Endpoints object for the service)",
			  eb->msg);
	else if (err == KX_ERR_API && st)
		set_check(p->entry, "failed", ms, "api", "the API server answered %d: %s", st->code, eb->msg);
	else
		set_check(p->entry, "failed", ms, "api", "API server: %s", eb->msg);
	probe_finished(p);
}

/* The service proxy through kx's own client (straight to the API server, not
 * through a `kx proxy`). */
static kx_err probe_api(struct prober *pr, cJSON *entry, struct kx_errbuf *eb)
{
	const char *url = kx_json_str(entry, "url"), *path = url ? strstr(url, "/api/v1/") : NULL;
	if (!path)
		return KX_OK;
	struct probe *p = probe_new(pr, entry, R_API);
	if (!p)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	struct kx_request rq = {.method = "GET", .path = path, .timeout_ms = pr->timeout_ms,
				.accept = "*/*", .max_body = 64 << 10};
	p->t0 = now_us();
	kx_err err = kx__client_start(pr->c, pr->loop, &rq, NULL, NULL, api_done, p, &p->call, eb);
	if (!err)
		pr->running++;
	return err;
}

/* ---- port-forward: an in-process forward on this loop, a connection through it ---- */

#define PF_PROBE_GRACE_MS 500 /* after its pod is chosen: the kubelet's error comes by then */

static void fwd_decide(struct probe *p, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fwd_decide(struct probe *p, const char *status, const char *fmt, ...)
{
	if (p->decided)
		return;
	p->decided = 1;
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	set_check(p->entry, status, (now_us() - p->t0) / 1000.0, "port-forward", "%s", msg);
	kx__timer_cancel(&p->grace);
	kx__timer_cancel(&p->deadline);
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	kx__pf_stop(p->pf); /* its on_closed ends the probe */
}

static void fwd_event(void *ud, enum kx_pf_event ev, const char *addr, int local, int remote, const char *msg)
{
	struct probe *p = ud;
	(void)addr;
	(void)remote;
	if (ev == KX_PF_LISTENING)
		p->local_port = local;
	else if (ev == KX_PF_CONN_ERROR && msg)
		snprintf(p->pf_error, sizeof p->pf_error, "%s", msg);
}

static void fwd_conn(void *ud, const struct kx_pf_conn_event *e)
{
	struct probe *p = ud;
	if (e->pod)
		snprintf(p->pod, sizeof p->pod, "%s", e->pod);
	if (!e->closed && e->pod && !p->http)
		kx__timer_arm(p->pr->loop, &p->grace, PF_PROBE_GRACE_MS);
	if (!e->closed || p->http)
		return;
	if (!strcmp(e->end, "error") && !e->pod)
		fwd_decide(p, "failed", "no Ready pod behind the service within %.1fs", p->pr->timeout_ms / 1000.0);
	else if (!strcmp(e->end, "error"))
		fwd_decide(p, "failed", "pod %s refused the connection: %s", e->pod, e->message ? e->message : "");
	else if (e->pod)
		fwd_decide(p, "ok", "TCP connect through port-forward to pod %s", e->pod);
}

static void fwd_grace_fire(void *ud)
{
	struct probe *p = ud;
	fwd_decide(p, "ok", "TCP connect through port-forward to pod %s (the kubelet reported no error)", p->pod);
}

static void fwd_deadline_fire(void *ud)
{
	struct probe *p = ud;
	if (p->pod[0])
		fwd_decide(p, "failed", "no answer through port-forward to pod %s within %.1fs", p->pod,
			   p->pr->timeout_ms / 1000.0);
	else
		fwd_decide(p, "failed", "no Ready pod behind the service within %.1fs", p->pr->timeout_ms / 1000.0);
}

static void fwd_ended(void *ud, kx_err err, const struct kx_errbuf *eb)
{
	struct probe *p = ud;
	(void)err;
	fwd_decide(p, "failed", "port-forward: %s", eb->msg);
}

static void fwd_closed(void *ud)
{
	struct probe *p = ud;
	p->pf = NULL;
	p->pr->running--;
	kx__loop_defer(p->pr->loop, &p->pr->pump);
}

static const struct kx__pf_hooks fwd_hooks = {.on_end = fwd_ended, .on_closed = fwd_closed};

/* The HTTP GET through the forward ended (curl_done's words for the others). */
static void fwd_curl_done(struct probe *p, CURLcode rc, long code)
{
	if (p->pf_error[0])
		fwd_decide(p, "failed", "pod %s refused the connection: %s", p->pod, p->pf_error);
	else if (rc == CURLE_OK && code >= 400 && code != 401 && code != 403)
		fwd_decide(p, "failed", "HTTP %ld through port-forward from pod %s", code, p->pod);
	else if (rc == CURLE_OK)
		fwd_decide(p, "ok", "HTTP %ld through port-forward from pod %s", code, p->pod);
	else if (!p->pod[0])
		fwd_decide(p, "failed", "no Ready pod behind the service within %.1fs", p->pr->timeout_ms / 1000.0);
	else
		fwd_decide(p, "failed", "through port-forward to pod %s: %s", p->pod,
			   p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc));
}

/* One port-forward route: a balanced forward to the Service's Ready pods (as
 * `kx port-forward svc/` runs it), listening on a random loopback port of this
 * process, and one connection through it: an HTTP GET for http ports, else a
 * TCP connect that counts once a pod took it and the kubelet said no error. */
static kx_err probe_forward(struct prober *pr, const cJSON *view, cJSON *entry, const char *selector,
			    struct kx_errbuf *eb)
{
	int port = kx_json_int(entry, "port", 0), tls = 0, remote = port;
	const char *remote_name = NULL;
	const cJSON *sp;
	cJSON_ArrayForEach(sp, kx_json_get(view, "ports")) if (kx_json_int(sp, "port", 0) == port)
	{
		const cJSON *tp = kx_json_get(sp, "targetPort");
		if (cJSON_IsString(tp) && tp->valuestring[0])
			remote_name = tp->valuestring, remote = 0;
		else if (cJSON_IsNumber(tp) && tp->valueint > 0)
			remote = tp->valueint;
		break;
	}
	struct probe *p = probe_new(pr, entry, R_FORWARD);
	if (!p)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	p->http = port_speaks(view, port, &tls) && !tls; /* a certificate for 127.0.0.1: TCP only */
	p->grace = (struct kx_timer){.fn = fwd_grace_fire, .ud = p};
	p->deadline = (struct kx_timer){.fn = fwd_deadline_fire, .ud = p};
	p->t0 = now_us();
	struct kx_pf_port pp = {.local = 0, .remote = remote, .remote_name = remote_name};
	const char *addrs[] = {"127.0.0.1"};
	struct kx_pf_opts po = {
		.namespace_ = kx_json_str(view, "namespace"), .ports = &pp, .nports = 1, .addresses = addrs,
		.naddresses = 1, .on_event = fwd_event, .on_conn = fwd_conn, .ud = p,
		.resolve_timeout_ms = pr->timeout_ms, .balance_selector = selector,
	};
	struct kx_errbuf peb = {0};
	if (kx__pf_start(pr->c, pr->loop, &po, &fwd_hooks, p, &p->pf, &peb)) {
		set_check(entry, "failed", -1, "port-forward", "port-forward: %s", peb.msg);
		p->decided = 1;
		return KX_OK;
	}
	pr->running++; /* until the forward is closed (fwd_closed) */
	kx__timer_arm(pr->loop, &p->deadline, pr->timeout_ms + 1000);
	snprintf(p->target, sizeof p->target, "127.0.0.1:%d", p->local_port);
	if (p->http) {
		char url[64];
		snprintf(url, sizeof url, "http://127.0.0.1:%d/", p->local_port);
		return start_curl(p, url, eb);
	}
	/* A loopback connect to our own listener: it completes in the kernel's backlog. */
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->local_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || (connect(p->fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS))
		fwd_decide(p, "failed", "cannot connect to the forward's own listener: %s", strerror(errno));
	return KX_OK;
}

/* The Service's selector, read for port-forward (the view does not carry it). */
static kx_err view_selector(struct prober *pr, const cJSON *view, struct kx_buf *sel, struct kx_errbuf *eb)
{
	struct kx_buf path = KX_BUF_INIT(1 << 16);
	cJSON *svc = NULL;
	kx_err err = kx_resource_path(pr->c, "services", kx_json_str(view, "namespace"), kx_json_str(view, "name"),
				      NULL, &path, eb);
	if (!err)
		err = kx_client_get(pr->c, path.data, &svc, eb);
	if (!err)
		err = kx_selector_string(svc, "services", sel, eb);
	cJSON_Delete(svc);
	kx_buf_free(&path);
	return err;
}

static int wanted(const struct kx_reach_check_opts *o, const char *kind)
{
	if (!o->routes || !*o->routes)
		return strcmp(kind, "cluster-ip") || o->cluster_ip;
	size_t n = strlen(kind);
	for (const char *s = o->routes; *s;) {
		size_t l = strcspn(s, ",");
		if (l == n && !strncmp(s, kind, n))
			return 1;
		s += l + (s[l] == ',');
	}
	return 0;
}

static void skip(cJSON *list, const char *why)
{
	cJSON *e;
	cJSON_ArrayForEach(e, list) set_check(e, "skipped", -1, NULL, "not checked: %s", why);
}

static void prober_free(struct prober *pr)
{
	struct probe *p;
	/* A forward started before a setup error stopped the check: let it close
	 * (its handles are freed in the loop's close callbacks) before its probe goes. */
	int live = 0;
	for (p = pr->probes; p; p = p->next)
		if (p->pf) {
			live = 1;
			kx__pf_stop(p->pf);
		}
	if (live && pr->loop && !kx__loop_stopped(pr->loop)) {
		pr->queue = NULL;
		pr->queue_tail = &pr->queue;
		kx__loop_run(pr->loop);
	}
	while ((p = pr->probes)) {
		pr->probes = p->next;
		kx__curlm_free(p->cm);
		if (p->h)
			curl_easy_cleanup(p->h);
		curl_slist_free_all(p->connect_to);
		kx__call_free(p->call);
		kx__timer_cancel(&p->grace);
		kx__timer_cancel(&p->deadline);
		if (p->fd >= 0)
			close(p->fd);
		free(p);
	}
	kx__loop_free(pr->loop);
}

/* Each kind of route: its name in --check-routes, where the view lists it, how it is probed. */
static const struct route_list {
	const char *kind, *parent, *list;
	enum route_kind rk;
} route_lists[] = {
	{"cluster-ip", NULL, "clusterAddresses", R_CLUSTER},
	{"node-port", NULL, "nodePorts", R_NODE},
	{"load-balancer", "loadBalancer", "addresses", R_LB},
	{"external-ip", NULL, "externalIPs", R_EXT},
	{"ingress", NULL, "ingresses", R_INGRESS},
	{"api-proxy", NULL, "proxy", R_API},
	{"port-forward", NULL, "portForward", R_FORWARD},
};

static kx_err probe_list(struct prober *pr, cJSON *view, const struct route_list *rl, struct kx_errbuf *eb)
{
	cJSON *parent = rl->parent ? cJSON_GetObjectItemCaseSensitive(view, rl->parent) : view;
	cJSON *list = cJSON_GetObjectItemCaseSensitive(parent, rl->list), *e;
	kx_err err = KX_OK;
	if (!wanted(pr->o, rl->kind)) {
		/* cluster IPs answer only inside the cluster (or over a VPN to it) */
		skip(list, pr->o->routes || rl->rk != R_CLUSTER
				   ? "not among --check-routes"
				   : "a cluster IP answers only inside the cluster (--check-cluster-ip)");
		return KX_OK;
	}
	if (rl->rk == R_FORWARD && cJSON_GetArraySize(list)) {
		struct kx_buf sel = KX_BUF_INIT(1 << 16);
		struct kx_errbuf seb = {0};
		if (view_selector(pr, view, &sel, &seb)) {
			cJSON_ArrayForEach(e, list) set_check(e, "failed", -1, "port-forward", "port-forward: %s", seb.msg);
		} else {
			cJSON_ArrayForEach(e, list) if ((err = probe_forward(pr, view, e, sel.data, eb))) break;
		}
		kx_buf_free(&sel);
		return err;
	}
	if (rl->rk == R_LB && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(parent, "pending")))
		set_check(parent, "failed", -1, "load-balancer", "load balancer pending (no address yet)");
	cJSON_ArrayForEach(e, list) {
		if (rl->rk == R_INGRESS)
			err = probe_ingress(pr, e, eb);
		else if (rl->rk == R_API)
			err = probe_api(pr, e, eb);
		else
			err = probe_address(pr, view, e, rl->rk, kx_json_int(e, "port", 0), eb);
		if (err)
			break;
	}
	return err;
}

kx_err kx_reach_routes_check(const char *routes, struct kx_errbuf *eb)
{
	char known[200] = "";
	for (const char *s = routes ? routes : ""; *s;) {
		size_t l = strcspn(s, ","), ok = 0;
		for (size_t i = 0; i < sizeof route_lists / sizeof *route_lists && !ok; i++)
			ok = strlen(route_lists[i].kind) == l && !strncmp(route_lists[i].kind, s, l);
		if (!ok) {
			for (size_t i = 0; i < sizeof route_lists / sizeof *route_lists; i++)
				snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
					 route_lists[i].kind);
			return kx__fail(eb, KX_ERR_INVALID, "unknown route %.*s (one of: %s)", (int)l, s, known);
		}
		s += l + (s[l] == ',');
	}
	return KX_OK;
}

kx_err kx_reach_probe(struct kx_client *c, cJSON *view, const struct kx_reach_check_opts *o,
		      struct kx_errbuf *eb)
{
	struct prober pr = {.c = c, .o = o, .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 3000};
	pr.queue_tail = &pr.queue;
	struct rlimit rl;
	long fds = getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ? 1024 : (long)rl.rlim_cur;
	pr.at_once = (int)KX_MIN((fds - FDS_KEPT) / FDS_PER_PROBE, PROBES_AT_ONCE);
	pr.at_once = pr.at_once < 1 ? 1 : pr.at_once;
	pr.pump = (struct kx_task){.fn = pump, .ud = &pr};
	kx_err err = kx__loop_new(&pr.loop, eb);
	for (size_t i = 0; !err && i < sizeof route_lists / sizeof *route_lists; i++)
		err = probe_list(&pr, view, &route_lists[i], eb);
	if (!err)
		pump(&pr);
	if (!err && pr.running)
		kx__loop_run(pr.loop);
	prober_free(&pr);
	return err;
}

static void tally_one(const cJSON *e, int *ok, int *failed)
{
	const char *s = kx_json_str(kx_json_get(e, "check"), "status");
	if (!s)
		s = kx_json_str(e, "status");
	*ok += s && !strcmp(s, "ok");
	*failed += s && !strcmp(s, "failed");
}

void kx_reach_tally(const cJSON *view, int *routes_ok, int *routes_failed, int *findings_failed)
{
	const cJSON *e, *lb = kx_json_get(view, "loadBalancer");
	int ok = 0, failed = 0, fok = 0, ffailed = 0;
	for (size_t i = 0; i < sizeof route_lists / sizeof *route_lists; i++) {
		const struct route_list *rl = &route_lists[i];
		cJSON_ArrayForEach(e, kx_json_get(rl->parent ? kx_json_get(view, rl->parent) : view, rl->list))
			tally_one(e, &ok, &failed);
	}
	if (kx_json_get(lb, "check"))
		tally_one(lb, &ok, &failed);
	cJSON_ArrayForEach(e, kx_json_get(view, "findings")) tally_one(e, &fok, &ffailed);
	*routes_ok = ok;
	*routes_failed = failed;
	*findings_failed = ffailed;
}
