/* SPDX-License-Identifier: Apache-2.0 */
/* kx exec: run a command in a container — kubectl's flags and messages, the
 * remote exit code as kx's, and a lost connection never reported as success. */
#include "kx.h"

#include <kx/client.h>
#include <kx/exec.h>
#include <kx/pods.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* exec and attach take the same flags (the same table). */
struct kx_session_flags kx_session_flags;
#define o kx_session_flags

#define SESSION_OPTIONS \
	OPT_COMPLETE('c', "container", &o.container, "NAME", "container", \
		     "Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation, else the first container"), \
	OPT_BOOL('i', "stdin", &o.in, "Pass stdin to the container (with several pods: the same bytes to each, at most 64 MiB)"), \
	OPT_BOOL('t', "tty", &o.tty, "Stdin is a TTY"), \
	OPT_BOOL('q', "quiet", &o.quiet, "Only print output from the remote session"), \
	OPT_STRING_DEF(0, "pod-running-timeout", &o.pod_running_timeout, "DURATION", "1m0s", \
		       "How long to wait until at least one pod is running (e.g. 5s, 2m)")

const struct kx_option kx_session_options[] = {
	SESSION_OPTIONS,
	OPT_END(),
};

/* exec's own: running the command in many pods at once (exec_many.c). */
static struct {
	const char *selector, *output;
	int all_pods, all_containers, all_namespaces, prefix;
	long max_parallel;
} x = {.prefix = 1, .max_parallel = 10};

static const char *const exec_output_choices[] = {"json", NULL};

static const struct kx_option exec_options[] = {
	SESSION_OPTIONS,
	{KX_OPT_STRING, 'l', "selector", &x.selector, "SELECTOR",
	 "kx+: run in every running pod matching this label selector (e.g. app=web)", NULL, NULL,
	 "label", 0},
	OPT_BOOL(0, "all-pods", &x.all_pods, "kx+: run in every running pod of TYPE/NAME, not just one"),
	OPT_BOOL(0, "all-containers", &x.all_containers,
		 "kx+: with -l or --all-pods, run in every container of each pod"),
	OPT_BOOL('A', "all-namespaces", &x.all_namespaces, "kx+: with -l, match pods in every namespace"),
	OPT_INT(0, "max-parallel", &x.max_parallel, "N", "10",
		"kx+: with several pods, at most N sessions open at once"),
	OPT_BOOL(0, "prefix", &x.prefix,
		 "kx+: with several pods, start each output line with POD (or POD/CONTAINER); --prefix=false for raw lines"),
	OPT_CHOICE('o', "output", &x.output, "FORMAT", NULL, exec_output_choices,
		   "kx+: with several pods, one JSON object per pod (exit code, error, duration, byte counts) instead of their output"),
	OPT_END(),
};

/* "1m0s", "30s", "500ms", "2h", "45" (seconds) → milliseconds, or -1. */
long kx_parse_duration_ms(const char *s)
{
	if (!s || !*s)
		return -1;
	double total = 0;
	const char *p = s;
	char *end;
	double v = strtod(p, &end);
	if (end != p && !*end)
		return (long)(v * 1000);
	while (*p) {
		v = strtod(p, &end);
		if (end == p || v < 0)
			return -1;
		p = end;
		if (!strncmp(p, "ms", 2))
			total += v, p += 2;
		else if (*p == 's')
			total += v * 1000, p++;
		else if (*p == 'm')
			total += v * 60000, p++;
		else if (*p == 'h')
			total += v * 3600000, p++;
		else
			return -1;
	}
	return (long)total;
}

static const char *str_at(const cJSON *o_, const char *a, const char *b)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o_, a), b));
}

static int has_container(const cJSON *pod, const char *name)
{
	static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
	for (int l = 0; l < 3; l++) {
		const cJSON *c;
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, lists[l])) {
			const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
			if (n && !strcmp(n, name))
				return 1;
		}
	}
	return 0;
}

/* kubectl's default container: the annotation, else the first (with a notice). */
static const char *default_container(const cJSON *pod, int quiet)
{
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "annotations");
	const char *want = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(ann, "kubectl.kubernetes.io/default-container"));
	if (want && has_container(pod, want))
		return want;
	const cJSON *containers = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(pod, "spec"), "containers");
	const char *first = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetArrayItem(containers, 0), "name"));
	if (first && cJSON_GetArraySize(containers) > 1 && !quiet) {
		fprintf(stderr, "Defaulted container \"%s\" out of: ", first);
		const cJSON *c;
		int i = 0;
		cJSON_ArrayForEach(c, containers)
			fprintf(stderr, "%s%s", i++ ? ", " : "",
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name")));
		fputc('\n', stderr);
	}
	return first;
}

/* KX_TRANSPORT's choice and a client, or NULL after saying why. */
static struct kx_client *session_client(enum kx_transport *transport)
{
	struct kx_errbuf eb = {0};
	kx_err err = kx_transport_from_env(transport, &eb);
	if (err) {
		kx_report(err, &eb);
		return NULL;
	}
	return kx_connect(NULL);
}

/* The session exec and attach share: resolve the pod, choose the container,
 * set up the terminal, run, and turn the result into words and an exit code.
 * argv is the command (NULL for attach). */
int kx_run_session(const struct kx_invocation *inv, const char *target, char **argv)
{
	const char *verb = argv ? "exec into" : "attach to";
	long timeout = kx_parse_duration_ms(o.pod_running_timeout ? o.pod_running_timeout : "1m");
	if (timeout < 0)
		return kx_usage_error(inv->path, "invalid --pod-running-timeout \"%s\"", o.pod_running_timeout);
	struct kx_errbuf eb = {0};
	enum kx_transport transport;
	struct kx_client *c = session_client(&transport);
	if (!c)
		return KX_EXIT_FAIL;
	kx_err err;
	int rc = KX_EXIT_FAIL;
	cJSON *pod = NULL;
	const char *ns = kx_client_namespace(c);
	if ((err = kx_pod_resolve(c, ns, target, KX_PICK_KUBECTL, timeout, &pod, &eb))) {
		kx_report_call(c, err, &eb);
		goto done;
	}
	const char *pod_name = str_at(pod, "metadata", "name");
	const char *phase = kx_pod_phase(pod);
	if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")) {
		kx_error("cannot %s a container in a completed pod; current phase is %s", verb, phase);
		goto done;
	}
	const char *container = o.container;
	/* attach checks the container here, as kubectl attach does; exec leaves it
	 * to the server, as kubectl exec does (its answer: BadRequest, "container X
	 * is not valid for pod P"). */
	if (!argv && container && !has_container(pod, container)) {
		kx_error("cannot attach to the container: container %s not found in pod %s", container, pod_name);
		goto done;
	}
	if (!container)
		container = default_container(pod, o.quiet);

	int tty = o.tty && o.in;
	if (tty && !isatty(STDIN_FILENO)) {
		tty = 0;
		if (!o.quiet)
			fprintf(stderr, "Unable to use a TTY - input is not a terminal or the right kind of file\n");
	}
	struct kx_exec_opts eo = {
		.namespace_ = ns,
		.pod = pod_name,
		.container = container,
		.argv = (const char *const *)argv,
		.attach = !argv,
		.use_stdin = o.in,
		.tty = tty,
		.in_fd = STDIN_FILENO,
		.out_fd = STDOUT_FILENO,
		.err_fd = STDERR_FILENO,
		.tty_fd = tty ? STDIN_FILENO : -1,
		.handle_signals = 1,
		.transport = transport,
	};
	struct kx_exec_result res;
	if (!argv && !o.quiet)
		fprintf(stderr, "If you don't see a command prompt, try pressing enter.\n");
	fflush(stdout);
	if (tty && kx_tty_raw(STDIN_FILENO)) {
		kx_error("could not put the terminal into raw mode");
		goto done;
	}
	err = kx_exec(c, &eo, &res, &eb);
	kx_tty_restore();
	if (kx_g.verbosity >= 4)
		fprintf(stderr, "I4 exec transport: %s (%s)\n",
			res.used == KX_TRANSPORT_SPDY ? "spdy" : "websocket", res.protocol);
	if (err == KX_ERR_INTERRUPTED) {
		rc = 128 + res.signal;
	} else if (err) {
		kx_report_call(c, err, &eb);
	} else {
		rc = res.exit_code;
		if (rc)
			fprintf(stderr, "command terminated with exit code %d\n", rc);
	}
done:
	cJSON_Delete(pod);
	kx_client_free(c);
	return rc;
}

/* ---- kx+: the same command in many pods (kx_exec_many) ---- */

static int pod_live(const cJSON *pod)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	return !strcmp(kx_pod_phase(pod), "Running") &&
	       !cJSON_GetObjectItemCaseSensitive(meta, "deletionTimestamp");
}

/* The pods to run in: those -l matches, or TYPE/NAME's (its selector's). NULL
 * after printing why; an empty list prints kubectl's "No resources found". */
static cJSON *list_pods(struct kx_client *c, const char *ns, const char *target)
{
	struct kx_errbuf eb = {0};
	struct kx_buf sel = KX_BUF_INIT(64 * 1024), path = KX_BUF_INIT(0);
	cJSON *list = NULL, *obj = NULL;
	kx_err err = KX_OK;
	if (target) {
		char resource[64], name[256];
		if ((err = kx_target_parse(target, resource, sizeof resource, name, sizeof name, &eb)) ||
		    (err = kx_resource_path(c, resource, ns, name, NULL, &path, &eb)) ||
		    (err = kx_client_get(c, path.data, &obj, &eb)) ||
		    (err = kx_selector_string(obj, resource, &sel, &eb)))
			goto fail;
		kx_buf_free(&path);
	} else if ((err = kx_buf_appends(&sel, x.selector))) {
		goto fail;
	}
	if ((err = kx_resource_path(c, "pods", x.all_namespaces ? NULL : ns, NULL, NULL, &path, &eb)) ||
	    (err = kx_buf_query(&path, "labelSelector", sel.data)) ||
	    (err = kx_client_get(c, path.data, &list, &eb)))
		goto fail;
	int any = 0;
	const cJSON *pod;
	cJSON_ArrayForEach(pod, cJSON_GetObjectItemCaseSensitive(list, "items"))
		any |= pod_live(pod);
	if (!any) {
		if (x.all_namespaces)
			fputs("No resources found\n", stderr);
		else
			fprintf(stderr, "No resources found in %s namespace.\n", ns);
		cJSON_Delete(list);
		list = NULL;
	}
	goto done;
fail:
	kx_report_call(c, err, &eb);
done:
	cJSON_Delete(obj);
	kx_buf_free(&sel);
	kx_buf_free(&path);
	return list;
}

static const char *const colours[] = {"32", "33", "34", "35", "36", "31", "92", "93", "94", "95", "96"};

/* One -o json object: the pod's outcome, for scripts. */
static void print_json_result(const struct kx_exec_target *t, const struct kx_exec_many_result *r)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "pod", t->pod);
	cJSON_AddStringToObject(obj, "namespace", t->namespace_);
	if (t->container)
		cJSON_AddStringToObject(obj, "container", t->container);
	else
		cJSON_AddNullToObject(obj, "container");
	if (r->err) {
		cJSON_AddNullToObject(obj, "exitCode");
		cJSON_AddStringToObject(obj, "error", r->lost ? "lost connection to the pod before the command's exit status arrived"
							    : r->error);
	} else {
		cJSON_AddNumberToObject(obj, "exitCode", r->exit_code);
		cJSON_AddNullToObject(obj, "error");
	}
	cJSON_AddNumberToObject(obj, "durationMs", (double)r->duration_ms);
	cJSON_AddNumberToObject(obj, "stdoutBytes", (double)r->out_bytes);
	cJSON_AddNumberToObject(obj, "stderrBytes", (double)r->err_bytes);
	cJSON_AddStringToObject(obj, "transport", r->used == KX_TRANSPORT_WEBSOCKET ? "websocket" : "spdy");
	char *text = cJSON_PrintUnformatted(obj);
	if (text)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(obj);
}

static int exec_many_run(const struct kx_invocation *inv, const char *target, char **argv)
{
	if (o.tty)
		return kx_usage_error(inv->path, "-t/--tty cannot be used with -l or --all-pods: one terminal cannot serve several pods");
	if (x.all_containers && o.container)
		return kx_usage_error(inv->path, "--all-containers and -c cannot be used together");
	if (x.selector && target)
		return kx_usage_error(inv->path, "either POD or TYPE/NAME, or -l SELECTOR, not both");
	if (x.all_namespaces && !x.selector)
		return kx_usage_error(inv->path, "-A/--all-namespaces needs -l SELECTOR");
	if (x.max_parallel < 1)
		return kx_usage_error(inv->path, "--max-parallel must be at least 1, got %ld", x.max_parallel);
	if (target && x.all_pods) {
		char resource[64], name[256];
		struct kx_errbuf eb = {0};
		kx_err err = kx_target_parse(target, resource, sizeof resource, name, sizeof name, &eb);
		if (err)
			return kx_report(err, &eb);
		if (!strcmp(resource, "pods"))
			return kx_usage_error(inv->path, "--all-pods needs TYPE/NAME of a workload or service (deploy/NAME, rs/, sts/, ds/, job/, rc/, svc/), not the pod \"%s\"", name);
	}
	enum kx_transport transport;
	struct kx_client *c = session_client(&transport);
	if (!c)
		return KX_EXIT_FAIL;
	struct kx_errbuf eb = {0};
	int rc = KX_EXIT_FAIL;
	kx_err err;
	const char *ns = kx_client_namespace(c);
	struct kx_exec_target *targets = NULL;
	struct kx_exec_many_result *res = NULL;
	char **prefixes = NULL, **labels = NULL; /* "POD " with colour; "POD" */
	size_t n = 0, cap = 0;
	cJSON *list = list_pods(c, ns, target);
	if (!list)
		goto done;
	int colour = !x.output && isatty(STDOUT_FILENO) && !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
	const cJSON *pod;
	cJSON_ArrayForEach(pod, cJSON_GetObjectItemCaseSensitive(list, "items")) {
		if (!pod_live(pod))
			continue;
		const cJSON *containers = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(pod, "spec"), "containers");
		const cJSON *ct = x.all_containers && containers ? containers->child : NULL;
		do {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				void *t = realloc(targets, cap * sizeof *targets), *p = realloc(prefixes, cap * sizeof *prefixes);
				if (t)
					targets = t;
				if (p)
					prefixes = p;
				void *l = realloc(labels, cap * sizeof *labels);
				if (l)
					labels = l;
				if (!t || !p || !l) {
					kx_error("out of memory");
					goto done;
				}
			}
			const char *pname = str_at(pod, "metadata", "name");
			const char *cname = ct ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ct, "name"))
					       : o.container ? o.container : default_container(pod, 1);
			char label[600];
			snprintf(label, sizeof label, "%s%s%s%s%s", x.all_namespaces ? str_at(pod, "metadata", "namespace") : "",
				 x.all_namespaces ? "/" : "", pname, x.all_containers ? "/" : "", x.all_containers ? cname : "");
			char *pfx = NULL, *lab = strdup(label);
			if (colour ? asprintf(&pfx, "\033[%sm%s\033[0m ", colours[n % (sizeof colours / sizeof *colours)], label) < 0
				   : asprintf(&pfx, "%s ", label) < 0)
				pfx = NULL;
			if (!pfx || !lab) {
				free(pfx);
				free(lab);
				kx_error("out of memory");
				goto done;
			}
			prefixes[n] = pfx;
			labels[n] = lab;
			targets[n] = (struct kx_exec_target){
				.namespace_ = str_at(pod, "metadata", "namespace"), .pod = pname, .container = cname,
				.prefix = x.prefix ? pfx : "",
			};
			n++;
			ct = ct ? ct->next : NULL;
		} while (ct);
	}
	if (!(res = calloc(n, sizeof *res))) {
		kx_error("out of memory");
		goto done;
	}
	struct kx_exec_many_opts mo = {
		.targets = targets, .ntargets = n, .argv = (const char *const *)argv,
		.use_stdin = o.in, .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO,
		.count_only = x.output != NULL, .max_parallel = (int)x.max_parallel,
		.handle_signals = 1, .transport = transport,
	};
	int sig = 0;
	fflush(stdout);
	err = kx_exec_many(c, &mo, res, &sig, &eb);
	if (err == KX_ERR_INTERRUPTED) {
		rc = 128 + sig;
		goto done;
	}
	if (err) {
		kx_report(err, &eb);
		goto done;
	}
	/* The words: JSON objects, then the summary of what failed; the exit code is
	 * the highest, a session that did not end with an exit code counting as 1. */
	struct kx_buf summary = KX_BUF_INIT(1 << 20);
	size_t failed = 0;
	rc = 0;
	for (size_t i = 0; i < n; i++) {
		const struct kx_exec_many_result *r = &res[i];
		int code = r->err ? 1 : r->exit_code;
		if (code > rc)
			rc = code;
		char what[600];
		if (!r->err)
			snprintf(what, sizeof what, "exit %d", r->exit_code);
		else if (r->lost)
			snprintf(what, sizeof what, "lost connection");
		else
			snprintf(what, sizeof what, "%s", r->error);
		if (code)
			kx_buf_printf(&summary, "%s%s (%s)", failed++ ? ", " : "", labels[i], what);
		if (x.output)
			print_json_result(&targets[i], r);
	}
	fflush(stdout);
	if (failed)
		fprintf(stderr, "%zu of %zu %s failed: %s\n", failed, n,
			x.all_containers ? "containers" : "pods", summary.data);
	kx_buf_free(&summary);
done:
	for (size_t i = 0; i < n; i++) {
		free(prefixes[i]);
		free(labels[i]);
	}
	free(prefixes);
	free(labels);
	free(targets);
	free(res);
	cJSON_Delete(list);
	kx_client_free(c);
	return rc;
}

static int exec_run(const struct kx_invocation *inv)
{
	if (x.selector || x.all_pods) {
		if (inv->dash < 0 || inv->dash == inv->argc)
			return kx_usage_error(inv->path, "you must specify at least one command for the container");
		if (inv->dash > 1 || (!x.selector && inv->dash == 0))
			return kx_usage_error(inv->path, x.selector ? "with -l, no POD or TYPE/NAME is taken before \"--\""
								  : "--all-pods needs TYPE/NAME before \"--\"");
		return exec_many_run(inv, inv->dash ? inv->argv[0] : NULL, inv->argv + inv->dash);
	}
	if (x.all_containers || x.output || x.all_namespaces)
		return kx_usage_error(inv->path, "%s needs -l SELECTOR or --all-pods",
				      x.all_containers ? "--all-containers" : x.output ? "-o" : "-A");
	if (inv->dash < 0) {
		if (inv->argc == 0)
			return kx_usage_error(inv->path, "pod, type/name or --filename must be specified");
		if (inv->argc == 1)
			return kx_usage_error(inv->path, "you must specify at least one command for the container");
		kx_error("exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead");
		fprintf(stderr, "See 'kx exec -h' for help and examples\n");
		return KX_EXIT_FAIL;
	}
	if (inv->dash == 0)
		return kx_usage_error(inv->path, "pod, type/name or --filename must be specified");
	if (inv->dash > 1)
		return kx_usage_error(inv->path, "exactly one pod, type/name is accepted before \"--\", got %d",
				      inv->dash);
	if (inv->dash == inv->argc)
		return kx_usage_error(inv->path, "you must specify at least one command for the container");
	return kx_run_session(inv, inv->argv[0], inv->argv + inv->dash);
}

const struct kx_command kx_cmd_exec = {
	.name = "exec",
	.run = exec_run,
	.summary = "Execute a command in a container",
	.usage = "kx exec (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] [-q] -- COMMAND [args...]\n"
		 "       kx exec (-l SELECTOR [-A] | TYPE/NAME --all-pods) [-c CONTAINER | --all-containers] [-i]\n"
		 "               [--max-parallel N] [--prefix=false] [-o json] -- COMMAND [args...]",
	.description = "Runs COMMAND in a container and exits with its exit code. Transport: SPDY/3.1, falling\n"
		       "back to WebSocket (v5.channel.k8s.io) when the upgrade is refused; KX_TRANSPORT=websocket|spdy\n"
		       "forces one. A connection lost before the exit status arrives is an error, never 0.\n\n"
		       "kx+: with -l SELECTOR, or TYPE/NAME --all-pods, COMMAND runs in every running pod that\n"
		       "matches, at most --max-parallel at a time (one process, one event loop). Output lines are\n"
		       "whole and start with POD (POD/CONTAINER with --all-containers; coloured on a terminal\n"
		       "unless NO_COLOR is set); stdout and stderr stay apart. The exit code is 0 when every\n"
		       "command exited 0, else the highest code (a lost connection or an error counts as 1), and\n"
		       "a summary of the failures ends stderr. -i reads stdin once (at most 64 MiB) and sends\n"
		       "the same bytes to every pod; -t cannot be used with several pods.",
	.examples = "  # Run date in pod web-0, default container\n  kx exec web-0 -- date\n\n"
		    "  # A shell with a terminal, in container sidecar\n  kx exec -it web-0 -c sidecar -- sh\n\n"
		    "  # Pipe data in and out, binary safe\n  tar cf - dir | kx exec -i web-0 -- tar xf - -C /tmp\n\n"
		    "  # The first running pod of a deployment\n  kx exec deploy/web -- env\n\n"
		    "  # Every pod labelled app=web, 5 at a time; one JSON object per pod\n"
		    "  kx exec -l app=web --max-parallel 5 -- cat /etc/resolv.conf\n"
		    "  kx exec deploy/web --all-pods -o json -- test -f /tmp/lock",
	.options = exec_options,
	.args_complete = "pod",
};
