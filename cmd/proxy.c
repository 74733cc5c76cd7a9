/* SPDX-License-Identifier: Apache-2.0 */
/* kx proxy: kubectl proxy — a local HTTP gateway to the API server with the
 * kubeconfig's credentials, kubectl's flags, filters and startup line. */
#include "kx.h"
#include "events.h"

#include <kx/apiproxy.h>
#include <kx/client.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
	long port;
	const char *address, *unix_socket, *api_prefix, *www, *www_prefix;
	const char *accept_hosts, *accept_paths, *reject_paths, *reject_methods, *keepalive;
	int disable_filter, append_server_path;
	const char *events;
} o = {.port = -1};

static const struct kx_option proxy_options[] = {
	OPT_INT('p', "port", &o.port, "PORT", "8001",
		"The port on which to run the proxy. Set to 0 to pick a random port"),
	OPT_STRING_DEF(0, "address", &o.address, "ADDRESS", "127.0.0.1", "The IP address on which to serve on"),
	OPT_COMPLETE('u', "unix-socket", &o.unix_socket, "PATH", "file", "Unix socket on which to run the proxy"),
	OPT_STRING_DEF(0, "api-prefix", &o.api_prefix, "PREFIX", "/", "Prefix to serve the proxied API under"),
	OPT_COMPLETE('w', "www", &o.www, "DIR", "file", "Also serve static files from the given directory under the specified prefix"),
	OPT_STRING_DEF('P', "www-prefix", &o.www_prefix, "PREFIX", "/static/",
		       "Prefix to serve static files under, if static file directory is specified"),
	OPT_STRING_DEF(0, "accept-hosts", &o.accept_hosts, "REGEX", "^localhost$,^127\\.0\\.0\\.1$,^\\[::1\\]$",
		       "Regular expression for hosts that the proxy should accept"),
	OPT_STRING_DEF(0, "accept-paths", &o.accept_paths, "REGEX", "^.*",
		       "Regular expression for paths that the proxy should accept"),
	OPT_STRING_DEF(0, "reject-paths", &o.reject_paths, "REGEX", "^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach",
		       "Regular expression for paths that the proxy should reject. Paths specified here will be rejected even accepted by --accept-paths"),
	OPT_STRING_DEF(0, "reject-methods", &o.reject_methods, "REGEX", "^$",
		       "Regular expression for HTTP methods that the proxy should reject (example --reject-methods='POST,PUT,PATCH')"),
	OPT_BOOL(0, "disable-filter", &o.disable_filter,
		 "If true, disable request filtering in the proxy. This is dangerous, and can leave you vulnerable to XSRF attacks, when used with an accessible port"),
	OPT_STRING_DEF(0, "keepalive", &o.keepalive, "DURATION", "0s",
		       "keepalive specifies the keep-alive period for an active network connection. Set to 0 to disable keepalive"),
	OPT_BOOL(0, "append-server-path", &o.append_server_path,
		 "If true, enables automatic path appending of the kube context server path to each request"),
	OPT_COMPLETE(0, "events", &o.events, "FILE|-", "file",
		     "Write newline-delimited JSON events (listening, each client connection opened/closed with byte counts, errors; schema: docs/events.md) to FILE, or to stdout with - (the startup line then goes to stderr)"),
	OPT_END(),
};

static void on_listening(void *ud, const char *where)
{
	(void)ud;
	FILE *out = kx_events_to_stdout() ? stderr : stdout;
	fprintf(out, "Starting to serve on %s\n", where);
	fflush(out);
	cJSON *j = kx_events_new("listening");
	if (j)
		cJSON_AddStringToObject(j, "address", where);
	kx_events_emit(j);
	kx_events_emit(kx_events_new("ready"));
}

static void on_log(void *ud, const char *line)
{
	(void)ud;
	kx_error("%s", line);
	cJSON *j = kx_events_new("error");
	if (j)
		cJSON_AddStringToObject(j, "message", line);
	kx_events_emit(j);
}

static void on_conn(void *ud, const struct kx_apiproxy_conn_event *e)
{
	(void)ud;
	cJSON *j = kx_events_conn(e->closed, e->id, e->peer, e->bytes_from_client, e->bytes_to_client,
				  e->duration_ms, e->end);
	if (j && e->closed)
		cJSON_AddNumberToObject(j, "requests", (double)e->requests);
	kx_events_emit(j);
}

static int proxy_run(const struct kx_invocation *inv)
{
	if (inv->argc > 0)
		return kx_usage_error(inv->path, "unexpected argument \"%s\"", inv->argv[0]);
	if (o.unix_socket && o.port >= 0)
		return kx_usage_error(inv->path, "Don't specify both --unix-socket and --port");
	if (o.port > 65535 || o.port < -1)
		return kx_usage_error(inv->path, "invalid --port %ld", o.port);
	long keepalive = kx_parse_duration_ms(o.keepalive ? o.keepalive : "0s");
	if (keepalive < 0)
		return kx_usage_error(inv->path, "invalid --keepalive \"%s\"", o.keepalive);
	if (o.disable_filter) {
		/* kubectl's words; a unix socket is reachable only by its owner */
		if (!o.unix_socket)
			kx_warn("Request filter disabled, your proxy is vulnerable to XSRF attacks, please be cautious");
	}
	if (o.events && kx_events_open(o.events)) {
		kx_error("cannot write the events file %s: %s", o.events, strerror(errno));
		return KX_EXIT_FAIL;
	}
	struct kx_client *c = kx_connect(NULL);
	if (!c) {
		kx_events_close();
		return KX_EXIT_FAIL;
	}
	struct kx_apiproxy_opts po = {
		.address = o.address, .port = o.port < 0 ? 8001 : (int)o.port, .unix_socket = o.unix_socket,
		.api_prefix = o.api_prefix, .www = o.www, .www_prefix = o.www_prefix,
		.accept_hosts = o.accept_hosts, .accept_paths = o.accept_paths,
		.reject_paths = o.reject_paths, .reject_methods = o.reject_methods,
		.disable_filter = o.disable_filter, .keepalive_ms = keepalive,
		.append_server_path = o.append_server_path, .handle_signals = 1,
		.on_listening = on_listening, .on_log = on_log,
		.on_conn = kx_events_on() ? on_conn : NULL,
	};
	struct kx_errbuf eb = {0};
	kx_err err = kx_apiproxy_run(c, &po, &eb);
	int rc = err ? kx_report(err, &eb) : KX_EXIT_OK;
	kx_client_free(c);
	kx_events_close();
	return rc;
}

const struct kx_command kx_cmd_proxy = {
	.name = "proxy",
	.run = proxy_run,
	.summary = "Run a proxy to the Kubernetes API server",
	.usage = "kx proxy [--port=PORT] [--www=static-dir] [--www-prefix=prefix] [--api-prefix=prefix] [options]",
	.description = "Creates a proxy server or application-level gateway between localhost and the\n"
		       "Kubernetes API server, with the kubeconfig's credentials. It also allows serving\n"
		       "static content over specified HTTP path. Requests are filtered as kubectl does\n"
		       "(403 Forbidden); bodies stream both ways (watches stay live) and Upgrade requests\n"
		       "(exec, attach, port-forward) are tunnelled when the filter allows them.",
	.examples = "  # To proxy all of the Kubernetes API and nothing else\n  kx proxy --api-prefix=/\n\n"
		    "  # To proxy only part of the Kubernetes API and also some static files\n"
		    "  kx proxy --www=/my/files --www-prefix=/static/ --api-prefix=/api/\n\n"
		    "  # Run a proxy on an arbitrary local port; the chosen port is printed\n  kx proxy --port=0\n\n"
		    "  # Let kubectl exec through it (filter off: only on a port nobody else can reach)\n"
		    "  kx proxy --port=0 --disable-filter",
	.options = proxy_options,
};
