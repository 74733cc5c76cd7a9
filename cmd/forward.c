/* SPDX-License-Identifier: Apache-2.0 */
/* kx forward (kx+): every TCP port of every Service of a namespace (or of the
 * ones named), each balanced over the Service's Ready pods as port-forward svc/
 * does, in one process and one loop, with no root: a table on start, and for
 * scripts an env file, an /etc/hosts fragment, a JSON ready file and --events. */
#include "kx.h"
#include "events.h"

#include <kx/client.h>
#include <kx/portforward.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
	const char *selector;
	long port_offset;
	const char *addresses;
	const char *env_file, *hosts_file, *ready_file, *events;
	const char *pod_running_timeout;
} o;

static const struct kx_option fwd_options[] = {
	OPT_STRING('l', "selector", &o.selector, "SELECTOR",
		   "Forward only the Services with these labels (e.g. -l tier=web)"),
	OPT_INT(0, "port-offset", &o.port_offset, "N", "0",
		"Listen on each Service's port + N (when that is taken: a free port)"),
	OPT_STRING(0, "addresses", &o.addresses, "CIDR",
		   "One loopback address of this range per Service, e.g. 127.77.0.0/16 (inside 127.0.0.0/8; no root needed) [default: every Service on 127.0.0.1]"),
	OPT_COMPLETE(0, "env-file", &o.env_file, "FILE", "file",
		     "Write SERVICE_PORT_ADDR=ADDRESS:PORT lines (names upper-cased, other characters as _) to FILE, again whenever Services change"),
	OPT_COMPLETE(0, "hosts-file", &o.hosts_file, "FILE", "file",
		     "Write an /etc/hosts fragment (ADDRESS NAME NAME.NS NAME.NS.svc NAME.NS.svc.cluster.local) to FILE; kx never edits /etc/hosts"),
	OPT_COMPLETE(0, "ready-file", &o.ready_file, "FILE", "file",
		     "When every Service found at the start listens, write them as JSON to FILE (atomically), again whenever Services change"),
	OPT_COMPLETE(0, "events", &o.events, "FILE|-", "file",
		     "Write newline-delimited JSON events (Services started/stopped, each connection with its Service and pod; schema: docs/events.md) to FILE, or to stdout with - (the table then goes to stderr)"),
	OPT_STRING_DEF(0, "pod-running-timeout", &o.pod_running_timeout, "DURATION", "1m0s",
		       "How long a connection waits for a Ready pod of its Service before it is closed"),
	OPT_END(),
};

/* What is forwarded now, for the table and the files (a copy of libkx's). */
struct row_port {
	char name[64], target[64];
	int port, local;
};
struct row {
	struct row *next;
	char name[256], address[64];
	struct row_port *ports;
	size_t nports;
};

static struct row *rows;
static int ready;     /* the Services found at the start listen */
static FILE *out;     /* the table: stdout, or stderr when the events go there */
static const char *ns;
static long pod_timeout_ms;

static void row_drop(const char *name)
{
	for (struct row **pp = &rows; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name)) {
			struct row *r = *pp;
			*pp = r->next;
			free(r->ports);
			free(r);
			return;
		}
}

static struct row *row_set(const struct kx_fwd_service *s)
{
	row_drop(s->name);
	struct row *r = calloc(1, sizeof *r);
	if (!r || !(r->ports = calloc(s->nports ? s->nports : 1, sizeof *r->ports))) {
		free(r);
		return NULL;
	}
	snprintf(r->name, sizeof r->name, "%s", s->name);
	snprintf(r->address, sizeof r->address, "%s", s->address);
	for (size_t i = 0; i < s->nports; i++) {
		struct row_port *p = &r->ports[i];
		snprintf(p->name, sizeof p->name, "%s", s->ports[i].name);
		snprintf(p->target, sizeof p->target, "%s", s->ports[i].target);
		p->port = s->ports[i].port;
		p->local = s->ports[i].local;
	}
	r->nports = s->nports;
	/* Sorted by name: the table and the files read the same every time. */
	struct row **pp = &rows;
	while (*pp && strcmp((*pp)->name, r->name) < 0)
		pp = &(*pp)->next;
	r->next = *pp;
	*pp = r;
	return r;
}

/* WEB_HTTP_ADDR: upper case, every other character _. */
static void env_name(struct kx_buf *b, const char *s)
{
	for (; *s; s++) {
		char ch = isalnum((unsigned char)*s) ? (char)toupper((unsigned char)*s) : '_';
		kx_buf_append(b, &ch, 1);
	}
}

static void print_rows(const struct row *r, int header)
{
	if (header)
		fprintf(out, "%-24s %-16s %-22s %s\n", "SERVICE", "PORT", "LOCAL ADDRESS", "POD PORT");
	for (; r; r = header ? r->next : NULL)
		for (size_t i = 0; i < r->nports; i++) {
			char port[96], local[96];
			if (r->ports[i].name[0])
				snprintf(port, sizeof port, "%s/%d", r->ports[i].name, r->ports[i].port);
			else
				snprintf(port, sizeof port, "%d", r->ports[i].port);
			snprintf(local, sizeof local, "%s:%d", r->address, r->ports[i].local);
			fprintf(out, "%-24s %-16s %-22s %s\n", r->name, port, local, r->ports[i].target);
		}
	fflush(out);
}

static void write_files(void)
{
	struct kx_buf env = KX_BUF_INIT(16 << 20), hosts = KX_BUF_INIT(16 << 20);
	cJSON *doc = cJSON_CreateObject(), *svcs = cJSON_CreateArray();
	cJSON_AddNumberToObject(doc, "v", 1);
	cJSON_AddStringToObject(doc, "namespace", ns);
	cJSON_AddItemToObject(doc, "services", svcs);
	for (const struct row *r = rows; r; r = r->next) {
		kx_buf_printf(&hosts, "%s %s %s.%s %s.%s.svc %s.%s.svc.cluster.local\n", r->address, r->name,
			      r->name, ns, r->name, ns, r->name, ns);
		cJSON *js = cJSON_CreateObject(), *jp = cJSON_CreateArray();
		cJSON_AddStringToObject(js, "name", r->name);
		cJSON_AddStringToObject(js, "address", r->address);
		cJSON_AddItemToObject(js, "ports", jp);
		cJSON_AddItemToArray(svcs, js);
		for (size_t i = 0; i < r->nports; i++) {
			const struct row_port *p = &r->ports[i];
			char num[16];
			snprintf(num, sizeof num, "%d", p->port);
			env_name(&env, r->name);
			kx_buf_appends(&env, "_");
			env_name(&env, p->name[0] ? p->name : num);
			kx_buf_printf(&env, "_ADDR=%s:%d\n", r->address, p->local);
			cJSON *q = cJSON_CreateObject();
			cJSON_AddStringToObject(q, "name", p->name);
			cJSON_AddNumberToObject(q, "port", p->port);
			cJSON_AddNumberToObject(q, "local_port", p->local);
			cJSON_AddStringToObject(q, "target_port", p->target);
			cJSON_AddItemToArray(jp, q);
		}
	}
	char *json = cJSON_Print(doc);
	if (o.env_file && kx_write_file_atomic(o.env_file, env.data ? env.data : "", env.len))
		kx_warn("could not write the env file %s", o.env_file);
	if (o.hosts_file && kx_write_file_atomic(o.hosts_file, hosts.data ? hosts.data : "", hosts.len))
		kx_warn("could not write the hosts file %s", o.hosts_file);
	if (o.ready_file && (!json || kx_write_file_atomic(o.ready_file, json, strlen(json))))
		kx_warn("could not write the ready file %s", o.ready_file);
	free(json);
	cJSON_Delete(doc);
	kx_buf_free(&env);
	kx_buf_free(&hosts);
}

static void service_event(const char *what, const char *name, const char *message)
{
	cJSON *j = kx_events_new(what);
	if (!j)
		return;
	cJSON_AddStringToObject(j, "service", name);
	if (message)
		cJSON_AddStringToObject(j, "message", message);
	kx_events_emit(j);
}

static void on_service(void *ud, enum kx_fwd_event ev, const struct kx_fwd_service *s, const char *msg)
{
	(void)ud;
	struct row *r;
	switch (ev) {
	case KX_FWD_READY:
		ready = 1;
		if (!rows)
			fprintf(stderr, "No Service to forward in namespace %s yet; waiting for one\n", ns);
		else
			print_rows(rows, 1);
		write_files();
		kx_events_emit(kx_events_new("ready"));
		return;
	case KX_FWD_STARTED:
		r = row_set(s);
		if (kx_events_on()) {
			cJSON *j = kx_events_new("service_started");
			cJSON_AddStringToObject(j, "service", s->name);
			cJSON_AddStringToObject(j, "address", s->address);
			cJSON *jp = cJSON_AddArrayToObject(j, "ports");
			for (size_t i = 0; i < s->nports; i++) {
				cJSON *q = cJSON_CreateObject();
				cJSON_AddStringToObject(q, "name", s->ports[i].name);
				cJSON_AddNumberToObject(q, "port", s->ports[i].port);
				cJSON_AddNumberToObject(q, "local_port", s->ports[i].local);
				cJSON_AddStringToObject(q, "target_port", s->ports[i].target);
				cJSON_AddItemToArray(jp, q);
			}
			kx_events_emit(j);
		}
		for (size_t i = 0; i < s->nports; i++)
			if (s->ports[i].local != s->ports[i].port + o.port_offset)
				fprintf(stderr, "Service %s: %s:%ld is taken; listening on %s:%d instead\n", s->name,
					s->address, s->ports[i].port + o.port_offset, s->address, s->ports[i].local);
		if (ready && r) {
			fprintf(out, "Forwarding Service %s:\n", s->name);
			print_rows(r, 0);
			write_files();
		}
		return;
	case KX_FWD_STOPPED:
		service_event("service_stopped", s->name, msg);
		row_drop(s->name);
		if (ready) {
			fprintf(out, "Stopped forwarding Service %s (%s)\n", s->name, msg ? msg : "");
			fflush(out);
			write_files();
		}
		return;
	case KX_FWD_SKIPPED:
		service_event("service_skipped", s->name, msg);
		fprintf(stderr, "Skipping Service %s: %s\n", s->name, msg ? msg : "");
		return;
	case KX_FWD_WAITING: {
		char t[32];
		snprintf(t, sizeof t, "%ld.%lds", pod_timeout_ms / 1000, pod_timeout_ms % 1000 / 100);
		service_event("service_waiting", s->name, NULL);
		fprintf(stderr,
			"Service %s: no Ready pod matches its selector (%s) yet; connections wait up to %s for one\n",
			s->name, s->selector, t);
		return;
	}
	case KX_FWD_FAILED:
		service_event("service_failed", s->name, msg);
		row_drop(s->name);
		kx_error("Service %s: %s", s->name, msg ? msg : "failed");
		if (ready)
			write_files();
		return;
	}
}

/* The port-forward events, with the Service each came from. */
static void on_event(void *ud, const char *service, enum kx_pf_event ev, const char *addr, int local,
		     int remote, const char *msg)
{
	(void)ud;
	/* One "ready" for the whole (on_service); a named targetPort has no number here. */
	cJSON *j = ev == KX_PF_READY ? NULL : kx_events_pf(ev, addr, local, remote, msg);
	if (j && !remote)
		cJSON_DeleteItemFromObjectCaseSensitive(j, "remote_port");
	if (j)
		cJSON_AddStringToObject(j, "service", service);
	kx_events_emit(j);
	if (ev == KX_PF_CONN_ERROR)
		kx_error("Service %s: an error occurred forwarding %d -> %d: %s", service, local, remote,
			 msg ? msg : "");
	else if (ev == KX_PF_CONN_REPLAYED)
		fprintf(stderr, "Service %s: connection for %d: %s; sent to another Ready pod\n", service, local,
			msg ? msg : "");
	else if (ev == KX_PF_ENDPOINT_READY && kx_g.verbosity >= 2)
		fprintf(stderr, "Service %s: pod %s is Ready\n", service, msg ? msg : "");
}

static void on_conn(void *ud, const char *service, const struct kx_pf_conn_event *e)
{
	(void)ud;
	cJSON *j = kx_events_pf_conn(e);
	if (j)
		cJSON_AddStringToObject(j, "service", service);
	kx_events_emit(j);
}

static int fwd_run(const struct kx_invocation *inv)
{
	int rc = KX_EXIT_FAIL;
	struct kx_client *c = NULL;
	struct kx_errbuf eb = {0};
	const char **names = calloc((size_t)inv->argc + 1, sizeof *names);
	out = stdout;
	pod_timeout_ms = kx_parse_duration_ms(o.pod_running_timeout ? o.pod_running_timeout : "1m");
	if (!names)
		goto done;
	if (pod_timeout_ms < 0) {
		rc = kx_usage_error(inv->path, "invalid --pod-running-timeout \"%s\"", o.pod_running_timeout);
		goto done;
	}
	if (o.port_offset < -65535 || o.port_offset > 65535) {
		rc = kx_usage_error(inv->path, "--port-offset %ld: must be within -65535..65535", o.port_offset);
		goto done;
	}
	for (int i = 0; i < inv->argc; i++) {
		const char *a = inv->argv[i], *slash = strchr(a, '/');
		if (slash && !(slash - a == 3 && !strncmp(a, "svc", 3)) &&
		    !(slash - a == 7 && !strncmp(a, "service", 7)) && !(slash - a == 8 && !strncmp(a, "services", 8))) {
			rc = kx_usage_error(inv->path, "%s: kx forward takes Services (svc/NAME or NAME)", a);
			goto done;
		}
		names[i] = slash ? slash + 1 : a;
		if (!*names[i]) {
			rc = kx_usage_error(inv->path, "%s: a Service name is required", a);
			goto done;
		}
	}
	if (inv->argc && o.selector) {
		rc = kx_usage_error(inv->path, "-l/--selector cannot be combined with Service names");
		goto done;
	}
	if (kx_events_start(o.events, &out))
		goto done;
	enum kx_transport transport;
	kx_err err;
	if ((err = kx_transport_from_env(&transport, &eb))) {
		kx_report(err, &eb);
		goto done;
	}
	if (!(c = kx_connect(NULL)))
		goto done;
	ns = kx_client_namespace(c);
	struct kx_fwd_opts fo = {
		.namespace_ = ns, .label_selector = o.selector, .services = names,
		.nservices = (size_t)inv->argc, .port_offset = (int)o.port_offset, .addresses = o.addresses,
		.pod_timeout_ms = pod_timeout_ms, .transport = transport, .handle_signals = 1,
		.on_service = on_service, .on_event = on_event, /* errors go to stderr, events or not */
		.on_conn = kx_events_on() ? on_conn : NULL,
	};
	err = kx_forward(c, &fo, &eb);
	if (!err)
		rc = KX_EXIT_OK;
	else if (err == KX_ERR_INVALID)
		kx_error("--addresses %s", eb.msg + (strncmp(eb.msg, "addresses ", 10) ? 0 : 10));
	else
		kx_report_call(c, err, &eb);
done:
	while (rows)
		row_drop(rows->name);
	kx_client_free(c);
	free(names);
	kx_events_close();
	return rc;
}

const struct kx_command kx_cmd_forward = {
	.name = "forward",
	.run = fwd_run,
	.summary = "Forward every port of a namespace's Services, balanced over their Ready pods (kx+)",
	.usage = "kx forward [svc/NAME ...] [-n NAMESPACE] [-l SELECTOR] [options]",
	.description = "kx+. Listens on a local port for every TCP port of every Service of the namespace\n"
		       "(-l: those with these labels; or only the Services named) and forwards each\n"
		       "connection to one of the Service's Ready pods, balanced as `kx port-forward svc/`\n"
		       "does (fewest open connections; a pod that stops being Ready gets no new ones),\n"
		       "all in one process, with no root and no pod installed in the cluster.\n"
		       "Local ports: the Service's port (+ --port-offset) when it is free, else a free\n"
		       "port (said on stderr and in the table). --addresses gives each Service its own\n"
		       "loopback address, so every Service keeps its own port numbers; --hosts-file then\n"
		       "writes the names to append to /etc/hosts yourself. Services added later (or\n"
		       "matching -l later) are forwarded, deleted ones stop; the files are rewritten.\n"
		       "A Service without a selector is skipped; one whose selector matches no Ready pod\n"
		       "listens anyway, says so, and its connections wait up to --pod-running-timeout\n"
		       "for a pod, then close. Ctrl-C ends it cleanly (exit 0).",
	.examples = "  # Every Service of the namespace dev, each on its own loopback address\n"
		    "  kx forward -n dev --addresses 127.77.0.0/16 --hosts-file dev.hosts --env-file dev.env\n\n"
		    "  # Two Services, their ports shifted by 10000 (80 -> 10080)\n"
		    "  kx forward svc/web svc/api --port-offset 10000\n\n"
		    "  # Wait for everything to listen, then read the addresses\n"
		    "  kx forward -n dev --ready-file ready.json & until [ -s ready.json ]; do sleep 0.1; done",
	.options = fwd_options,
	.args_complete = "resource",
};
