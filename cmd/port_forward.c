/* SPDX-License-Identifier: Apache-2.0 */
/* kx port-forward: kubectl's port-forward — TYPE/NAME targets, [LOCAL:]REMOTE
 * specs (numbers or named ports; a Service's port maps to its targetPort),
 * --address, and kubectl's messages so scripts that wait for them keep working.
 * kx+: a selector-based target picks only a Ready pod, and one failed connection
 * is reported without ending the others. */
#include "kx.h"
#include "events.h"

#include <kx/client.h>
#include <kx/pods.h>
#include <kx/portforward.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
	struct kx_strlist address;
	const char *pod_running_timeout;
	const char *ready_file;
	int exit_on_pod_loss;
	int pin;
	const char *events;
} o;

/* The lines of the ready file, collected from the LISTENING events. */
static struct kx_buf ready_lines = KX_BUF_INIT(1 << 20);
static int listening; /* every listener is up (KX_PF_READY) */
static FILE *msgs;    /* kubectl's messages: stdout, or stderr when the events go there */

static const struct kx_option pf_options[] = {
	OPT_LIST(0, "address", &o.address, "ADDRESSES",
		 "Addresses to listen on (comma separated); localhost = 127.0.0.1 and ::1 [default: localhost]"),
	OPT_STRING_DEF(0, "pod-running-timeout", &o.pod_running_timeout, "DURATION", "1m0s",
		       "How long to wait until at least one pod is running (e.g. 5s, 2m)"),
	OPT_BOOL(0, "exit-on-pod-loss", &o.exit_on_pod_loss,
		 "Exit (status 1) when the pod goes away or the connection breaks, as kubectl does, instead of re-resolving the target (implies --pin)"),
	OPT_BOOL(0, "pin", &o.pin,
		 "svc/, deploy/, rs/, sts/ …: forward to one Ready pod at a time (chosen again when it goes away) instead of balancing connections over every Ready pod"),
	OPT_COMPLETE(0, "events", &o.events, "FILE|-", "file",
		     "Write newline-delimited JSON events (listening, each connection opened/closed with its pod and byte counts, pods ready/not ready, errors; schema: docs/events.md) to FILE, or to stdout with - (kubectl's messages then go to stderr)"),
	OPT_COMPLETE(0, "ready-file", &o.ready_file, "FILE", "file",
		     "When every listener is up, write \"ADDRESS PORT REMOTE\" lines to FILE (atomically), for scripts to wait on"),
	OPT_END(),
};

static const char *str_at(const cJSON *obj, const char *a, const char *b)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, a), b));
}

static void on_conn(void *ud, const struct kx_pf_conn_event *e)
{
	(void)ud;
	kx_events_emit(kx_events_pf_conn(e));
}

static void on_event(void *ud, enum kx_pf_event ev, const char *addr, int local, int remote,
		     const char *msg)
{
	(void)ud;
	kx_events_emit(kx_events_pf(ev, addr, local, remote, msg));
	switch (ev) {
	case KX_PF_POD_LOST:
		fprintf(stderr, "Lost the pod (%s); waiting for a %spod to forward to\n", msg ? msg : "gone",
			"Ready ");
		break;
	case KX_PF_POD_RESUMED:
		fprintf(stderr, "Forwarding to pod %s\n", msg ? msg : "");
		break;
	case KX_PF_READY:
		listening = 1;
		if (o.ready_file && kx_write_file_atomic(o.ready_file, ready_lines.data ? ready_lines.data : "",
							 ready_lines.len))
			kx_warn("could not write the ready file %s", o.ready_file);
		break;
	case KX_PF_LISTENING:
		kx_buf_printf(&ready_lines, "%s %d %d\n", addr, local, remote);
		if (strchr(addr, ':'))
			fprintf(msgs, "Forwarding from [%s]:%d -> %d\n", addr, local, remote);
		else
			fprintf(msgs, "Forwarding from %s:%d -> %d\n", addr, local, remote);
		break;
	case KX_PF_CONNECTION:
		fprintf(msgs, "Handling connection for %d\n", local);
		break;
	case KX_PF_CONNECTED:
		if (kx_g.verbosity >= 4)
			fprintf(stderr, "port-forward: session over %s\n", msg ? msg : "");
		break;
	case KX_PF_CONN_POD:
		if (kx_g.verbosity >= 4)
			fprintf(stderr, "port-forward: connection for %d to pod %s\n", local, msg ? msg : "");
		break;
	case KX_PF_ENDPOINT_READY:
		fprintf(stderr, "Pod %s is Ready: balancing new connections to it\n", msg ? msg : "");
		break;
	case KX_PF_ENDPOINT_GONE:
		fprintf(stderr, "Pod %s is not Ready: no new connections to it (open ones finish)\n", msg ? msg : "");
		break;
	case KX_PF_SESSION_LOST:
		fprintf(stderr, "Lost the connection to pod %s; its open connections ended\n", msg ? msg : "");
		break;
	case KX_PF_CONN_REPLAYED:
		fprintf(stderr, "Connection for %d: %s; sent to another Ready pod\n", local, msg ? msg : "");
		break;
	case KX_PF_CONN_ERROR:
		fflush(msgs);
		kx_error("an error occurred forwarding %d -> %d: %s", local, remote, msg ? msg : "");
		break;
	}
	fflush(msgs);
}

/* A port that cannot be listened on (in use, no permission): kx's line says
 * which address and why; the last line is kubectl's, for the scripts that look
 * for it ("[{LOCAL REMOTE} …]", Go's print of the requested ports). */
static void report_listen_failure(const struct kx_errbuf *eb, const struct kx_pf_port *ports, int n)
{
	struct kx_buf list = KX_BUF_INIT(0);
	for (int i = 0; i < n; i++)
		kx_buf_printf(&list, "%s{%d %d}", i ? " " : "", ports[i].local, ports[i].remote);
	fprintf(stderr, "%s\n", eb->msg);
	kx_error("unable to listen on any of the requested ports: [%s]", list.data ? list.data : "");
	kx_buf_free(&list);
}

static int pf_run(const struct kx_invocation *inv)
{
	if (inv->argc < 2)
		return kx_usage_error(inv->path, "TYPE/NAME and list of ports are required for port-forward");
	long timeout = kx_parse_duration_ms(o.pod_running_timeout ? o.pod_running_timeout : "1m");
	if (timeout < 0)
		return kx_usage_error(inv->path, "invalid --pod-running-timeout \"%s\"", o.pod_running_timeout);
	int nports = inv->argc - 1;
	struct kx_pf_port *ports = calloc((size_t)nports, sizeof *ports);
	char (*names)[32] = calloc((size_t)nports, sizeof *names);
	const char **addrs = NULL;
	size_t naddrs = 0;
	struct kx_errbuf eb = {0};
	struct kx_client *c = NULL;
	cJSON *pod = NULL, *svc = NULL, *workload = NULL;
	struct kx_buf selector = KX_BUF_INIT(0);
	int rc = KX_EXIT_FAIL;
	kx_err err;
	enum kx_transport transport;
	msgs = stdout;
	if (!ports || !names)
		goto done;
	if (kx_events_start(o.events, &msgs))
		goto done;
	if ((err = kx_transport_from_env(&transport, &eb))) {
		kx_report(err, &eb);
		goto done;
	}
	for (int i = 0; i < nports; i++) {
		int local, remote;
		if ((err = kx_pf_parse_spec(inv->argv[i + 1], &local, &remote, names[i], sizeof names[i], &eb))) {
			kx_report(err, &eb);
			goto done;
		}
		ports[i] = (struct kx_pf_port){.local = local, .remote = remote};
	}
	for (size_t i = 0; i < o.address.n; i++) {
		char *list = strdup(o.address.items[i]), *save = NULL;
		for (char *a = list ? strtok_r(list, ",", &save) : NULL; a; a = strtok_r(NULL, ",", &save)) {
			const char **na = realloc(addrs, (naddrs + 1) * sizeof *na);
			if (!na)
				break;
			addrs = na;
			if ((addrs[naddrs] = strdup(a)))
				naddrs++;
		}
		free(list);
	}
	if (!(c = kx_connect(NULL)))
		goto done;
	const char *ns = kx_client_namespace(c);
	char resource[64], name[256];
	if ((err = kx_target_parse(inv->argv[0], resource, sizeof resource, name, sizeof name, &eb))) {
		kx_report(err, &eb);
		goto done;
	}
	int is_svc = !strcmp(resource, "services");
	if (is_svc) {
		struct kx_buf path;
		if ((err = kx_resource_path(c, "services", ns, name, NULL, &path, &eb)) ||
		    (err = kx_client_get(c, path.data, &svc, &eb))) {
			kx_buf_free(&path);
			kx_report_call(c, err, &eb);
			goto done;
		}
		kx_buf_free(&path);
	}
	/* kx+: a selector-based target balances over its Ready pods (--pin: one at a time). */
	int balance = strcmp(resource, "pods") && !o.pin && !o.exit_on_pod_loss; /* that one implies --pin */
	if (balance && !is_svc) {
		struct kx_buf path;
		if ((err = kx_resource_path(c, resource, ns, name, NULL, &path, &eb)) ||
		    (err = kx_client_get(c, path.data, &workload, &eb))) {
			kx_buf_free(&path);
			kx_report_call(c, err, &eb);
			goto done;
		}
		kx_buf_free(&path);
	}
	if (balance && (err = kx_selector_string(is_svc ? svc : workload, resource, &selector, &eb))) {
		kx_report(err, &eb);
		goto done;
	}
	/* kx+: a selector-based target forwards only to a Ready pod. */
	enum kx_pod_pick pick = !strcmp(resource, "pods") ? KX_PICK_KUBECTL : KX_PICK_READY;
	err = KX_ERR_NOT_FOUND;
	if (pick == KX_PICK_READY && timeout > 0) {
		/* No Ready pod at once (none matches yet, or none is Ready): say what
		 * kx waits for, then wait. */
		err = kx_pod_resolve(c, ns, inv->argv[0], pick, 0, &pod, &eb);
		if (err == KX_ERR_NOT_FOUND) {
			fprintf(stderr, "%s; waiting up to %s for one\n", eb.msg,
				o.pod_running_timeout ? o.pod_running_timeout : "1m0s");
			eb = (struct kx_errbuf){0};
		}
	}
	if (err == KX_ERR_NOT_FOUND)
		err = kx_pod_resolve(c, ns, inv->argv[0], pick, timeout, &pod, &eb);
	if (err) {
		kx_report_call(c, err, &eb);
		goto done;
	}
	const char *pod_name = str_at(pod, "metadata", "name");
	const char *phase = kx_pod_phase(pod);
	if (strcmp(phase, "Running")) {
		kx_error("unable to forward port because pod is not running. Current status=%s", phase);
		goto done;
	}
	for (int i = 0; i < nports; i++) {
		int udp_only = 0, target;
		if (is_svc) {
			int svc_port = 0;
			const char *tname = NULL;
			target = kx_service_target_port(svc, pod, ports[i].remote, names[i][0] ? names[i] : NULL,
							&svc_port, &udp_only, &tname);
			/* Balanced: each pod's own number for a named targetPort. */
			if (balance)
				ports[i].remote_name = tname;
			if (!target) {
				kx_error("Service %s does not have a service port %s", name, inv->argv[i + 1] + (strchr(inv->argv[i + 1], ':') ? strchr(inv->argv[i + 1], ':') - inv->argv[i + 1] + 1 : 0));
				goto done;
			}
			if (target < 0) {
				kx_error("Pod '%s' does not have a named port for the service's targetPort", pod_name);
				goto done;
			}
			if (ports[i].local < 0)
				ports[i].local = svc_port;
		} else if (names[i][0]) {
			target = kx_pod_container_port(pod, names[i], 0, &udp_only);
			if (!target) {
				kx_error("Pod '%s' does not have a named port '%s'", pod_name, names[i]);
				goto done;
			}
		} else {
			target = ports[i].remote;
			kx_pod_container_port(pod, NULL, target, &udp_only);
		}
		if (udp_only) {
			kx_error("UDP protocol is not supported for %d", target);
			goto done;
		}
		if (ports[i].local < 0)
			ports[i].local = target;
		ports[i].remote = target;
	}
	struct kx_pf_opts po = {
		.namespace_ = ns, .pod = pod_name, .ports = ports, .nports = (size_t)nports,
		.pod_resource_version = str_at(pod, "metadata", "resourceVersion"),
		.pod_uid = str_at(pod, "metadata", "uid"),
		.addresses = addrs, .naddresses = naddrs, .on_event = on_event, .handle_signals = 1,
		.resolve_target = inv->argv[0], .resolve_timeout_ms = timeout,
		.exit_on_pod_loss = o.exit_on_pod_loss,
		.transport = transport,
		.balance_selector = balance ? selector.data : NULL,
		.on_conn = kx_events_on() ? on_conn : NULL,
	};
	err = kx_port_forward(c, &po, &eb);
	if (!err)
		rc = KX_EXIT_OK;
	else if (err == KX_ERR_IO && !listening)
		report_listen_failure(&eb, ports, nports); /* libkx: listening errors are KX_ERR_IO */
	else
		kx_report_call(c, err, &eb);
done:
	cJSON_Delete(pod);
	cJSON_Delete(svc);
	cJSON_Delete(workload);
	kx_buf_free(&selector);
	kx_client_free(c);
	free(ports);
	free(names);
	for (size_t i = 0; i < naddrs; i++)
		free((char *)addrs[i]);
	free(addrs);
	kx_strlist_free(&o.address);
	kx_buf_free(&ready_lines);
	kx_events_close();
	return rc;
}

const struct kx_command kx_cmd_port_forward = {
	.name = "port-forward",
	.run = pf_run,
	.summary = "Forward one or more local ports to a pod",
	.usage = "kx port-forward TYPE/NAME [options] [LOCAL_PORT:]REMOTE_PORT [...[LOCAL_PORT_N:]REMOTE_PORT_N]",
	.description = "Listens on local ports and forwards each connection to a pod's port over one\n"
		       "SPDY/3.1 session, carried in a WebSocket (kubectl's default) and falling back to\n"
		       "plain SPDY when the server refuses it; KX_TRANSPORT=websocket|spdy forces one.\n"
		       "For deploy/, rs/, sts/, svc/ … (kx+) each new connection goes to the Ready pod\n"
		       "of the target with the fewest open connections (round robin among equals), over\n"
		       "one session per pod; a pod that stops being Ready or is deleted gets no new\n"
		       "connections and its open ones finish, so a rolling update loses none. --pin\n"
		       "forwards to one Ready pod at a time instead (chosen again when it goes away).\n"
		       "A Service's port maps to its targetPort. One failed connection is reported and the\n"
		       "others go on (kubectl ends the session). Ctrl-C ends it cleanly (exit 0).",
	.examples = "  # Local 8080 to port 80 of pod web-0\n  kx port-forward pod/web-0 8080:80\n\n"
		    "  # A random local port to the service's http port\n  kx port-forward svc/web :http\n\n"
		    "  # Listen on every address\n  kx port-forward deploy/web 8080:80 --address 0.0.0.0\n\n"
		    "  # One pod at a time, as kubectl (default: balanced over every Ready pod)\n"
		    "  kx port-forward svc/web 8080:80 --pin\n\n"
		    "  # Connection events as JSON lines, for scripts\n"
		    "  kx port-forward svc/web :80 --events - | jq -c 'select(.event == \"connection_closed\")'",
	.options = pf_options,
	.args_complete = "resource",
};
