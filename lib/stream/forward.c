/* SPDX-License-Identifier: Apache-2.0 */
/* kx_forward: every TCP port of every selected Service, each a balanced
 * port-forward (kx__pf_start) over the Service's Ready pods, all in ONE loop;
 * the namespace's Services are watched in that loop, so one added later is
 * forwarded and one deleted stops. Optionally one loopback address per Service. */
#include <kx/pods.h>
#include <kx/portforward.h>

#include "informer.h"
#include "internal.h"
#include "loop.h"
#include "pf_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define FWD_MAX_PORTS 64
#define FWD_WAITING_MS 1500 /* no Ready pod this long after the start: say so */

struct fwd;
struct fwd_svc;

/* One port-forward of a Service. It outlives its Service record while it
 * closes (a deleted or changed Service), so it keeps the name for its events. */
struct fwd_pf {
	struct fwd *f;
	struct fwd_svc *s; /* NULL once its Service let it go */
	char service[256];
	struct kx__pf *pf;
	size_t nlistening;  /* LISTENING events so far: the k-th is port k */
};

struct fwd_svc {
	struct fwd *f;
	struct fwd_svc *next;
	char name[256];
	char addr[INET_ADDRSTRLEN];
	char *fingerprint;  /* selector and ports: a change starts the forward again */
	char selector[1024];
	struct kx_fwd_port ports[FWD_MAX_PORTS];
	char port_names[FWD_MAX_PORTS][64];
	char targets[FWD_MAX_PORTS][64];
	size_t nports;
	struct fwd_pf *cur;
	int any_ready;
	struct kx_timer waiting;
};

struct fwd {
	struct kx_client *c;
	const struct kx_fwd_opts *o;
	const char *ns;
	struct kx_loop *loop;
	struct fwd_svc *svcs;
	uint32_t net;            /* --addresses: the network (host order) */
	uint32_t hosts;          /* its size; 0: no --addresses */
	uint32_t next_host;      /* the next address to give */
	size_t live;             /* forwards not yet closed */
	int stopping;
	char rv[64];             /* the Services' informer watches from here */
	struct kx__informer *svcs_informer; /* the Services: changes and relists */
	struct kx_io signal_io;
};

static void fwd_emit(struct fwd *f, enum kx_fwd_event ev, const struct fwd_svc *s, const char *name,
		     const char *msg)
{
	if (!f->o->on_service)
		return;
	struct kx_fwd_service v = {.name = s ? s->name : name};
	if (s) {
		v.address = s->addr;
		v.selector = s->selector;
		v.ports = s->ports;
		v.nports = s->nports;
	}
	f->o->on_service(f->o->ud, ev, name || s ? &v : NULL, msg);
}

/* "127.77.0.0/16" → its network and size; only inside 127.0.0.0/8. */
static kx_err parse_addresses(struct fwd *f, const char *cidr, struct kx_errbuf *eb)
{
	char ip[64];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	long bits = 32;
	if (slash) {
		char *end;
		bits = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || bits < 8 || bits > 32)
			return kx__fail(eb, KX_ERR_INVALID,
					"addresses %s: the prefix length must be 8..32 (a range inside 127.0.0.0/8)", cidr);
	}
	struct in_addr a;
	if (n >= sizeof ip)
		return kx__fail(eb, KX_ERR_INVALID, "addresses %s: not an IPv4 range (e.g. 127.77.0.0/16)", cidr);
	memcpy(ip, cidr, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1)
		return kx__fail(eb, KX_ERR_INVALID, "addresses %s: not an IPv4 range (e.g. 127.77.0.0/16)", cidr);
	uint32_t host = ntohl(a.s_addr);
	if ((host >> 24) != 127)
		return kx__fail(eb, KX_ERR_INVALID,
				"addresses %s: outside 127.0.0.0/8 (kx forward listens on loopback addresses only)", cidr);
	uint32_t mask = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
	f->net = host & mask;
	f->hosts = bits == 32 ? 1 : (uint32_t)1 << (32 - bits);
	f->next_host = f->hosts > 1 ? 1 : 0; /* skip the network's own address when there are others */
	return KX_OK;
}

/* The next loopback address for a Service. */
static int give_address(struct fwd *f, char *out, size_t n)
{
	if (!f->hosts) {
		snprintf(out, n, "127.0.0.1");
		return 0;
	}
	if (f->next_host >= f->hosts)
		return -1;
	struct in_addr a = {.s_addr = htonl(f->net + f->next_host++)};
	inet_ntop(AF_INET, &a, out, (socklen_t)n);
	return 0;
}

/* Whether addr:port can be listened on now (a quick bind). */
static int port_free(const char *addr, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	int ok = !bind(fd, (struct sockaddr *)&sa, sizeof sa) && !listen(fd, 1);
	close(fd);
	return ok;
}

/* ---- one Service's forward ---- */

static void pf_event(void *ud, enum kx_pf_event ev, const char *addr, int local, int remote,
		     const char *msg)
{
	struct fwd_pf *h = ud;
	struct fwd_svc *s = h->s;
	if (ev == KX_PF_LISTENING && s && h->nlistening < s->nports)
		s->ports[h->nlistening++].local = local;
	if (ev == KX_PF_ENDPOINT_READY && s)
		s->any_ready = 1;
	if (h->f->o->on_event)
		h->f->o->on_event(h->f->o->ud, h->service, ev, addr, local, remote, msg);
}

static void pf_conn(void *ud, const struct kx_pf_conn_event *e)
{
	struct fwd_pf *h = ud;
	if (h->f->o->on_conn)
		h->f->o->on_conn(h->f->o->ud, h->service, e);
}

static void pf_closed(void *ud)
{
	struct fwd_pf *h = ud;
	struct fwd *f = h->f;
	if (h->s && h->s->cur == h)
		h->s->cur = NULL;
	free(h);
	if (!--f->live && f->stopping)
		kx__loop_stop(f->loop);
}

static void pf_ended(void *ud, kx_err err, const struct kx_errbuf *eb)
{
	struct fwd_pf *h = ud;
	(void)err;
	if (h->s) {
		fwd_emit(h->f, KX_FWD_FAILED, h->s, NULL, eb->msg);
		h->s->cur = NULL;
		h->s = NULL;
	}
	kx__pf_stop(h->pf);
}

static const struct kx__pf_hooks pf_hooks = {.on_end = pf_ended, .on_closed = pf_closed};

static void waiting_fire(void *ud)
{
	struct fwd_svc *s = ud;
	if (!s->any_ready && s->cur)
		fwd_emit(s->f, KX_FWD_WAITING, s, NULL, NULL);
}

static void svc_stop(struct fwd_svc *s)
{
	kx__timer_cancel(&s->waiting);
	if (s->cur) {
		s->cur->s = NULL;
		kx__pf_stop(s->cur->pf);
		s->cur = NULL;
	}
}

/* Read the Service's selector and TCP ports into s; 0 when it can be forwarded,
 * else why not in why. */
static int svc_read(struct fwd_svc *s, const cJSON *obj, char *why, size_t nwhy)
{
	struct kx_buf sel = KX_BUF_INIT(sizeof s->selector - 1);
	struct kx_errbuf eb = {0};
	int bad = kx_selector_string(obj, "services", &sel, &eb) != KX_OK || !sel.len;
	snprintf(s->selector, sizeof s->selector, "%s", sel.data && !bad ? sel.data : "");
	kx_buf_free(&sel);
	s->nports = 0;
	const cJSON *p;
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(spec, "ports"))
	{
		const char *proto = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "protocol"));
		const cJSON *port = cJSON_GetObjectItemCaseSensitive(p, "port");
		if ((proto && strcmp(proto, "TCP")) || !cJSON_IsNumber(port) || s->nports >= FWD_MAX_PORTS)
			continue;
		size_t i = s->nports++;
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));
		const cJSON *tp = cJSON_GetObjectItemCaseSensitive(p, "targetPort");
		snprintf(s->port_names[i], sizeof s->port_names[i], "%s", name ? name : "");
		if (cJSON_IsString(tp) && tp->valuestring[0])
			snprintf(s->targets[i], sizeof s->targets[i], "%s", tp->valuestring);
		else
			snprintf(s->targets[i], sizeof s->targets[i], "%d",
				 cJSON_IsNumber(tp) && tp->valueint > 0 ? tp->valueint : port->valueint);
		s->ports[i] = (struct kx_fwd_port){.name = s->port_names[i], .port = port->valueint,
						   .target = s->targets[i]};
	}
	if (bad) {
		snprintf(why, nwhy, "it has no selector (kx forwards to the pods a selector picks)");
		return -1;
	}
	if (!s->nports) {
		snprintf(why, nwhy, "it has no TCP port");
		return -1;
	}
	return 0;
}

static void svc_start(struct fwd_svc *s, const cJSON *obj)
{
	struct fwd *f = s->f;
	char why[300];
	s->any_ready = 0;
	if (svc_read(s, obj, why, sizeof why)) {
		fwd_emit(f, KX_FWD_SKIPPED, s, NULL, why);
		return;
	}
	/* Its address, given once it is forwarded, kept while the Service lives. */
	if (!s->addr[0] && give_address(f, s->addr, sizeof s->addr)) {
		fwd_emit(f, KX_FWD_FAILED, s, NULL, "no address left in --addresses for it");
		return;
	}
	struct kx_pf_port pp[FWD_MAX_PORTS];
	for (size_t i = 0; i < s->nports; i++) {
		long want = (long)s->ports[i].port + f->o->port_offset;
		int local = want > 0 && want <= 65535 && port_free(s->addr, (int)want) ? (int)want : 0;
		const char *t = s->targets[i];
		int numeric = t[0] >= '0' && t[0] <= '9';
		pp[i] = (struct kx_pf_port){.local = local, .remote = numeric ? atoi(t) : 0,
					    .remote_name = numeric ? NULL : t};
		s->ports[i].local = local;
	}
	struct fwd_pf *h = calloc(1, sizeof *h);
	if (!h) {
		fwd_emit(f, KX_FWD_FAILED, s, NULL, "out of memory");
		return;
	}
	*h = (struct fwd_pf){.f = f, .s = s};
	snprintf(h->service, sizeof h->service, "%s", s->name);
	const char *addrs[] = {s->addr};
	struct kx_pf_opts po = {
		.namespace_ = f->ns, .ports = pp, .nports = s->nports, .addresses = addrs, .naddresses = 1,
		.on_event = pf_event, .on_conn = f->o->on_conn ? pf_conn : NULL, .ud = h,
		.resolve_timeout_ms = f->o->pod_timeout_ms, .transport = f->o->transport,
		.balance_selector = s->selector,
	};
	struct kx_errbuf eb = {0};
	s->cur = h;
	if (kx__pf_start(f->c, f->loop, &po, &pf_hooks, h, &h->pf, &eb)) {
		s->cur = NULL;
		free(h);
		fwd_emit(f, KX_FWD_FAILED, s, NULL, eb.msg);
		return;
	}
	f->live++;
	fwd_emit(f, KX_FWD_STARTED, s, NULL, NULL);
	kx__timer_arm(f->loop, &s->waiting, FWD_WAITING_MS);
}

/* The Service's selector and ports as they matter to its forward. */
static char *fingerprint(const cJSON *obj)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	cJSON *fp = cJSON_CreateArray();
	if (!fp)
		return NULL;
	cJSON_AddItemToArray(fp, cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(spec, "selector"), 1));
	cJSON_AddItemToArray(fp, cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(spec, "ports"), 1));
	char *s = cJSON_PrintUnformatted(fp);
	cJSON_Delete(fp);
	return s;
}

static struct fwd_svc *svc_find(struct fwd *f, const char *name)
{
	for (struct fwd_svc *s = f->svcs; s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

static int wanted(struct fwd *f, const char *name)
{
	if (!f->o->nservices)
		return 1;
	for (size_t i = 0; i < f->o->nservices; i++)
		if (!strcmp(f->o->services[i], name))
			return 1;
	return 0;
}

/* A Service as it is now: forward it, or again if what matters changed. */
static void svc_upsert(struct fwd *f, const cJSON *obj)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name"));
	if (!name || !wanted(f, name))
		return;
	char *fp = fingerprint(obj);
	struct fwd_svc *s = svc_find(f, name);
	if (s && fp && s->fingerprint && !strcmp(fp, s->fingerprint)) {
		free(fp);
		return;
	}
	if (s) {
		if (s->cur)
			fwd_emit(f, KX_FWD_STOPPED, s, NULL, "changed");
		svc_stop(s);
	} else {
		s = calloc(1, sizeof *s);
		if (!s) {
			free(fp);
			return;
		}
		s->f = f;
		snprintf(s->name, sizeof s->name, "%s", name);
		s->waiting = (struct kx_timer){.fn = waiting_fire, .ud = s};
		s->next = f->svcs;
		f->svcs = s;
	}
	free(s->fingerprint);
	s->fingerprint = fp;
	svc_start(s, obj);
}

static void svc_remove(struct fwd *f, const char *name)
{
	for (struct fwd_svc **pp = &f->svcs; *pp; pp = &(*pp)->next) {
		struct fwd_svc *s = *pp;
		if (strcmp(s->name, name))
			continue;
		*pp = s->next;
		fwd_emit(f, KX_FWD_STOPPED, s, NULL, "deleted");
		svc_stop(s);
		free(s->fingerprint);
		free(s);
		return;
	}
}

/* ---- the Services' informer ---- */

static void svcs_event(void *ud, const char *type, const cJSON *obj)
{
	struct fwd *f = ud;
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name"));
	if (f->stopping)
		return;
	if (strcmp(type, "DELETED"))
		svc_upsert(f, obj);
	else if (name)
		svc_remove(f, name);
}

/* The list read again (the watch lost its place: a deletion in the gap has no
 * event): forward what is there, stop what is not. */
static void svcs_sync(void *ud, const cJSON *items)
{
	struct fwd *f = ud;
	if (f->stopping)
		return;
	const cJSON *it;
	cJSON_ArrayForEach(it, items) svc_upsert(f, it);
	for (struct fwd_svc *s = f->svcs, *next; s; s = next) {
		next = s->next;
		if (!kx__informer_find(items, s->name, NULL)) {
			char name[sizeof s->name];
			snprintf(name, sizeof name, "%s", s->name);
			svc_remove(f, name);
		}
	}
}

static const struct kx__informer_callbacks svcs_callbacks = {.on_sync = svcs_sync, .on_event = svcs_event};

/* ---- the whole ---- */

static void stop_all(struct fwd *f)
{
	if (f->stopping)
		return;
	f->stopping = 1;
	kx__informer_free(f->svcs_informer);
	f->svcs_informer = NULL;
	for (struct fwd_svc *s = f->svcs; s; s = s->next)
		svc_stop(s);
	if (!f->live)
		kx__loop_stop(f->loop);
}

static void signal_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct fwd *f = io->owner;
	if (ev != KX_IO_READABLE)
		return;
	struct signalfd_siginfo si;
	while (read(kx__io_fd(io), &si, sizeof si) == (ssize_t)sizeof si)
		stop_all(f);
}

/* The Services' path: the collection (name NULL) or one, with a query. */
static kx_err services_path(struct fwd *f, const char *name, const char *selector, int limit,
			    struct kx_buf *path, struct kx_errbuf *eb)
{
	char n[16];
	snprintf(n, sizeof n, "%d", limit);
	kx_err err = kx_resource_path(f->c, "services", f->ns, name, NULL, path, eb);
	if (!err && selector)
		err = kx_buf_query(path, "labelSelector", selector);
	if (!err && limit)
		err = kx_buf_query(path, "limit", n);
	return err;
}

/* The namespace's Services (limit: at most that many; 0 all) and the
 * resourceVersion the watch starts from. */
static kx_err list_services(struct fwd *f, const char *selector, int limit, cJSON **items,
			    struct kx_errbuf *eb)
{
	struct kx_buf path = KX_BUF_INIT(1 << 16);
	cJSON *list = NULL;
	kx_err err = services_path(f, NULL, selector, limit, &path, eb);
	if (!err)
		err = kx_client_get(f->c, path.data, &list, eb);
	const char *rv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(list, "metadata"), "resourceVersion"));
	snprintf(f->rv, sizeof f->rv, "%s", rv ? rv : "");
	*items = cJSON_DetachItemFromObjectCaseSensitive(list, "items");
	cJSON_Delete(list);
	kx_buf_free(&path);
	return err;
}

/* The Services to start with (blocking, before the loop): the list, or each
 * one named (an unknown name is an error before anything listens). */
static kx_err initial_services(struct fwd *f, cJSON **out, struct kx_errbuf *eb)
{
	if (!f->o->nservices)
		return list_services(f, f->o->label_selector, 0, out, eb);
	/* The watch starts from before these reads: a change after them is an event. */
	cJSON *items = NULL;
	kx_err err = list_services(f, NULL, 1, &items, eb);
	cJSON_Delete(items);
	items = cJSON_CreateArray();
	struct kx_buf path = KX_BUF_INIT(1 << 16);
	for (size_t i = 0; !err && items && i < f->o->nservices; i++) {
		cJSON *svc = NULL;
		kx_buf_free(&path);
		err = services_path(f, f->o->services[i], NULL, 0, &path, eb);
		if (!err)
			err = kx_client_get(f->c, path.data, &svc, eb);
		if (svc)
			cJSON_AddItemToArray(items, svc);
	}
	kx_buf_free(&path);
	*out = items;
	return err;
}

/* Watch the Services from the initial read on (an informer: a watch that
 * loses its place lists again, svcs_sync). */
static kx_err watch_services(struct fwd *f, struct kx_errbuf *eb)
{
	struct kx_buf path = KX_BUF_INIT(1 << 16);
	kx_err err = services_path(f, NULL, NULL, 0, &path, eb);
	struct kx__informer_opts io = {.path = path.data, .label_selector = f->o->label_selector,
				       .resource_version = f->rv};
	if (!err)
		err = kx__informer_start(f->c, f->loop, &io, &svcs_callbacks, f, &f->svcs_informer, eb);
	kx_buf_free(&path);
	return err;
}

kx_err kx_forward(struct kx_client *c, const struct kx_fwd_opts *o, struct kx_errbuf *eb)
{
	struct fwd f = {.c = c, .o = o, .ns = o->namespace_ ? o->namespace_ : kx_client_namespace(c)};
	sigset_t old_mask;
	int mask_saved = 0;
	cJSON *items = NULL;
	kx_err err = o->addresses ? parse_addresses(&f, o->addresses, eb) : KX_OK;
	if (!err)
		err = initial_services(&f, &items, eb);
	if (!err)
		err = kx__loop_new(&f.loop, eb);
	if (!err && o->handle_signals) {
		f.signal_io = (struct kx_io){.fn = signal_cb, .owner = &f};
		mask_saved = 1;
		err = kx__pf_end_signals(f.loop, &f.signal_io, &old_mask, eb);
	}
	if (!err)
		err = watch_services(&f, eb);
	if (!err) {
		const cJSON *svc;
		cJSON_ArrayForEach(svc, items) svc_upsert(&f, svc);
		fwd_emit(&f, KX_FWD_READY, NULL, NULL, NULL);
		kx__loop_run(f.loop); /* until a signal, and every forward closed */
	}
	cJSON_Delete(items);
	kx__informer_free(f.svcs_informer);
	while (f.svcs) {
		struct fwd_svc *s = f.svcs;
		f.svcs = s->next;
		kx__timer_cancel(&s->waiting);
		free(s->fingerprint);
		free(s);
	}
	kx__loop_free(f.loop);
	if (mask_saved)
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return err;
}
