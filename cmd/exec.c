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

const struct kx_option kx_session_options[] = {
	OPT_COMPLETE('c', "container", &o.container, "NAME", "container",
		     "Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation, else the first container"),
	OPT_BOOL('i', "stdin", &o.in, "Pass stdin to the container"),
	OPT_BOOL('t', "tty", &o.tty, "Stdin is a TTY"),
	OPT_BOOL('q', "quiet", &o.quiet, "Only print output from the remote session"),
	OPT_STRING_DEF(0, "pod-running-timeout", &o.pod_running_timeout, "DURATION", "1m0s",
		       "How long to wait until at least one pod is running (e.g. 5s, 2m)"),
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
	kx_err err = kx_transport_from_env(&transport, &eb);
	if (err)
		return kx_report(err, &eb);

	struct kx_client *c = kx_connect(NULL);
	if (!c)
		return KX_EXIT_FAIL;
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

static int exec_run(const struct kx_invocation *inv)
{
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
	.usage = "kx exec (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] [-q] -- COMMAND [args...]",
	.description = "Runs COMMAND in a container and exits with its exit code. Transport: WebSocket\n"
		       "(v5.channel.k8s.io), falling back to SPDY/3.1 like kubectl; KX_TRANSPORT=websocket|spdy\n"
		       "forces one. A connection lost before the exit status arrives is an error, never 0.",
	.examples = "  # Run date in pod web-0, default container\n  kx exec web-0 -- date\n\n"
		    "  # A shell with a terminal, in container sidecar\n  kx exec -it web-0 -c sidecar -- sh\n\n"
		    "  # Pipe data in and out, binary safe\n  tar cf - dir | kx exec -i web-0 -- tar xf - -C /tmp\n\n"
		    "  # The first running pod of a deployment\n  kx exec deploy/web -- env",
	.options = kx_session_options,
	.args_complete = "pod",
};
