/* SPDX-License-Identifier: Apache-2.0 */
/* kx __complete: the candidates the shells' completion scripts ask for. It walks
 * the same command and option tables the parser and help read, so completion
 * cannot drift from them; live names come from the cluster within a short budget.
 *
 * Protocol (cobra's, so the shell scripts stay thin and kubectl's plugin
 * completion can call it too): `kx __complete [--] WORD... CURRENT` prints one
 * candidate a line ("name" or "name<TAB>description"), then ":N", N a bit set:
 * 1 error (offer nothing), 2 no space after the candidate, 4 no file completion.
 * With no candidate and without 4, the shell completes file names. */
#include "kx.h"

#include <kx/client.h>
#include <kx/config.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { DIR_DEFAULT = 0, DIR_ERROR = 1, DIR_NOSPACE = 2, DIR_NOFILE = 4 };

/* The network budget for one completion, all requests together, counted from
 * the process's start (the shell waits from then); past it and a grace period,
 * the process ends whatever it waits for (an exec credential plugin, a
 * prompt): at most 1 s in all by default, however silent the server. */
#define BUDGET_MS_DEFAULT 800
#define GRACE_MS 200

static int help_flag;
static const struct kx_option help_option[] = {
	OPT_BOOL('h', "help", &help_flag, "Show help for the command"),
	OPT_END(),
};
static const struct kx_option no_options[] = {OPT_END()};

/* What the words before the cursor say. */
struct line {
	const struct kx_command *cmd; /* NULL at the top level */
	const struct kx_option *tables[4];
	const char **pos; /* positional words (not owned) */
	int npos;
	int dash;                       /* "--" was seen */
	const struct kx_option *pending; /* the current word is this option's value */
};

/* The candidates printed so far (for de-duplication) and the filter. */
struct comp {
	struct line ln;
	const char *cur;    /* the word being completed */
	const char *prefix; /* printed before each candidate ("--namespace=", "pod/") */
	char **seen;
	size_t nseen;
	int open_ended; /* every candidate so far ends in '/' or '=': more to type */
	/* Lazy client; once a call fails at the transport level, the server is
	 * taken as unreachable and no further request is made. */
	struct kx_config *cfg;
	struct kx_client *client;
	int offline;
	long budget_ms;
	struct timespec start; /* CLOCK_BOOTTIME */
};

/* What the hard deadline says if it ends the answer: the directive the normal
 * end would give for the candidates printed so far ("pods/": no space after). */
static volatile sig_atomic_t deadline_nospace;

static void emit(struct comp *c, const char *name, const char *desc)
{
	size_t plen = strlen(c->prefix), clen = strlen(c->cur);
	if (!*name || strpbrk(name, "\t\n\r"))
		return; /* the protocol is a line per candidate (kubeconfig names are free text) */
	/* Match prefix+name against the current word without building the string. */
	if (clen <= plen) {
		if (strncmp(c->prefix, c->cur, clen))
			return;
	} else if (strncmp(c->prefix, c->cur, plen) || strncmp(name, c->cur + plen, clen - plen)) {
		return;
	}
	for (size_t i = 0; i < c->nseen; i++)
		if (!strcmp(c->seen[i], name))
			return;
	char **seen = realloc(c->seen, (c->nseen + 1) * sizeof *seen);
	char *copy = strdup(name);
	if (!seen || !copy) {
		free(copy);
		if (seen)
			c->seen = seen;
		return;
	}
	c->seen = seen;
	c->seen[c->nseen++] = copy;
	size_t nlen = strlen(name);
	int open = nlen && (name[nlen - 1] == '/' || name[nlen - 1] == '=');
	c->open_ended = (c->nseen == 1 || c->open_ended) && open;
	fputs(c->prefix, stdout);
	fputs(name, stdout);
	if (desc && *desc) {
		/* One line: the description ends at its first newline. */
		fputc('\t', stdout);
		fwrite(desc, 1, strcspn(desc, "\n"), stdout);
	}
	fputc('\n', stdout); /* the line is out (line-buffered): now it counts */
	deadline_nospace = c->open_ended;
}

/* ---- the kubeconfig and the cluster ---- */

static long elapsed_ms(const struct comp *c)
{
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &now);
	return (now.tv_sec - c->start.tv_sec) * 1000 + (now.tv_nsec - c->start.tv_nsec) / 1000000;
}

/* The kubeconfig with the line's global flags, loaded quietly (no error is
 * printed during completion) and leniently (contexts are offered even when the
 * current one is broken). Owned by c. */
static struct kx_config *config(struct comp *c)
{
	if (c->cfg)
		return c->cfg;
	struct kx_config_overrides ov;
	struct kx_errbuf eb = {0};
	kx_globals_overrides(&ov);
	if (kx_config_load_raw(&ov, &c->cfg, &eb))
		c->cfg = NULL;
	return c->cfg;
}

static struct kx_client *client(struct comp *c)
{
	if (c->offline || c->client)
		return c->offline ? NULL : c->client;
	c->offline = 1;
	struct kx_config *cfg = config(c);
	const struct kx_rest_config *rc = cfg ? kx_config_rest(cfg) : NULL;
	if (!rc)
		return NULL;
	/* Every request, discovery included, is bounded by what is left of the budget. */
	long left = c->budget_ms - elapsed_ms(c);
	if (left <= 0)
		return NULL;
	struct kx_rest_config bounded = *rc;
	if (!bounded.timeout_ms || bounded.timeout_ms > left)
		bounded.timeout_ms = left;
	struct kx_errbuf eb = {0};
	if (kx_client_new(&bounded, &c->client, &eb))
		return NULL;
	c->offline = 0;
	return c->client;
}

/* GET a path within what is left of the budget; NULL on any failure. */
static cJSON *get_json(struct comp *c, const char *path, const char *accept)
{
	struct kx_client *cl = client(c);
	long left = c->budget_ms - elapsed_ms(c);
	if (!cl || left <= 0)
		return NULL;
	struct kx_request req = {.method = "GET", .path = path, .accept = accept, .timeout_ms = left};
	struct kx_buf body = KX_BUF_INIT(0);
	struct kx_errbuf eb = {0};
	kx_err err = kx_client_request(cl, &req, &body, &eb);
	cJSON *doc = err ? NULL : cJSON_ParseWithLength(body.data, body.len);
	kx_buf_free(&body);
	if (err && err != KX_ERR_API)
		c->offline = 1;
	return doc;
}

/* The names of one resource type (as kubectl accepts it: "pods", "deploy", …)
 * in the line's namespace, from the server. */
static void emit_names(struct comp *c, const char *type)
{
	struct kx_client *cl = client(c);
	if (!cl)
		return;
	struct kx_resource_type t;
	struct kx_buf path = KX_BUF_INIT(0);
	struct kx_errbuf eb = {0};
	if (!kx_resource_resolve(cl, type, &t, &eb) &&
	    !kx_resource_type_path(&t, kx_client_namespace(cl), NULL, NULL, &path, &eb) &&
	    !kx_buf_appends(&path, "?limit=500")) {
		/* Metadata only: the names are all completion needs. */
		cJSON *list = get_json(c, path.data,
				       "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
				       "application/json");
		const cJSON *item;
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(list, "items"))
		{
			const cJSON *md = cJSON_GetObjectItemCaseSensitive(item, "metadata");
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
			if (cJSON_IsString(name))
				emit(c, name->valuestring, NULL);
		}
		cJSON_Delete(list);
	}
	kx_buf_free(&path);
}

/* Names of the kubeconfig's contexts, clusters or users (no network). */
static void emit_config_names(struct comp *c, const char *section, const char *field)
{
	struct kx_config *cfg = config(c);
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(cfg ? kx_config_merged(cfg) : NULL, section))
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "name");
		if (field) {
			v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "context"),
							      field);
		}
		if (cJSON_IsString(v) && *v->valuestring)
			emit(c, v->valuestring, NULL);
	}
}

/* ---- completion sources: the values of args_complete and an option's complete ---- */

/* npos: how many positional words come before the current one, or -1 when the
 * current word is an option's value. Each returns the directive. */
typedef int (*source_fn)(struct comp *c, int npos);

static int src_commands(struct comp *c, const struct kx_command *const *table)
{
	for (; table && *table; table++)
		if (!((*table)->flags & KX_CMD_HIDDEN))
			emit(c, (*table)->name, (*table)->summary);
	return DIR_NOFILE;
}

/* `kx help config <TAB>`: the positional words so far name a command path. */
static int src_command(struct comp *c, int npos)
{
	const struct kx_command *const *table = kx_commands;
	for (int i = 0; i < npos && table; i++) {
		const struct kx_command *found = kx_find_command(table, c->ln.pos[i]);
		table = found ? found->subcommands : NULL;
	}
	return src_commands(c, table);
}

static int src_context(struct comp *c, int npos)
{
	emit_config_names(c, "contexts", NULL);
	return DIR_NOFILE;
}

static int src_cluster(struct comp *c, int npos)
{
	emit_config_names(c, "clusters", NULL);
	return DIR_NOFILE;
}

static int src_user(struct comp *c, int npos)
{
	emit_config_names(c, "users", NULL);
	return DIR_NOFILE;
}

/* Namespaces: the kubeconfig's (its contexts') and "default" at once, then the
 * server's when it answers in time. */
static int src_namespace(struct comp *c, int npos)
{
	emit_config_names(c, "contexts", "namespace");
	emit(c, "default", NULL);
	emit_names(c, "namespaces");
	return DIR_NOFILE;
}

/* The types that name a workload as TYPE/NAME (exec, attach, port-forward,
 * expose …), offered as "TYPE/" before a '/' is typed: kubectl's list. */
static const char *const workload_types[] = {
	"daemonsets/", "deployments/", "pods/", "jobs/", "replicasets/",
	"replicationcontrollers/", "services/", "statefulsets/", NULL,
};

/* POD or TYPE/NAME, as kubectl completes them for exec and port-forward: pod
 * names and the "TYPE/" prefixes; once a '/' is typed, the names of that type
 * (the type kept as typed: "deploy/we" → "deploy/web"). */
static int src_resource_name(struct comp *c, int npos)
{
	if (npos > 0)
		return DIR_NOFILE;
	const char *slash = strchr(c->cur, '/');
	if (!slash) {
		/* The offline candidates first: they are out even if the server stalls. */
		for (const char *const *t = workload_types; *t; t++)
			emit(c, *t, NULL);
		emit_names(c, "pods");
		return DIR_NOFILE;
	}
	char type[128], prefix[130];
	snprintf(type, sizeof type, "%.*s", (int)(slash - c->cur), c->cur);
	snprintf(prefix, sizeof prefix, "%s/", type);
	const char *saved = c->prefix;
	c->prefix = prefix;
	emit_names(c, type);
	c->prefix = saved;
	return DIR_NOFILE;
}

static int src_service(struct comp *c, int npos)
{
	if (npos > 0)
		return DIR_NOFILE;
	emit_names(c, "services");
	return DIR_NOFILE;
}

/* Containers of the pod named on the line (POD or pod/POD), init and ephemeral
 * containers included, as exec -c accepts them. */
static int src_container(struct comp *c, int npos)
{
	if (c->ln.npos < 1)
		return DIR_NOFILE;
	const char *pod = c->ln.pos[0], *slash = strchr(pod, '/');
	if (slash) {
		size_t tl = (size_t)(slash - pod);
		if (!(tl == 3 && !strncmp(pod, "pod", 3)) && !(tl == 4 && !strncmp(pod, "pods", 4)) &&
		    !(tl == 2 && !strncmp(pod, "po", 2)))
			return DIR_NOFILE;
		pod = slash + 1;
	}
	struct kx_client *cl = client(c);
	struct kx_buf path = KX_BUF_INIT(0);
	struct kx_errbuf eb = {0};
	if (cl && *pod && !kx_resource_path(cl, "pods", kx_client_namespace(cl), pod, NULL, &path, &eb)) {
		cJSON *doc = get_json(c, path.data, NULL);
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(doc, "spec");
		static const char *const kinds[] = {"containers", "initContainers", "ephemeralContainers"};
		for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
			const cJSON *ct;
			cJSON_ArrayForEach(ct, cJSON_GetObjectItemCaseSensitive(spec, kinds[k]))
			{
				const cJSON *name = cJSON_GetObjectItemCaseSensitive(ct, "name");
				if (cJSON_IsString(name))
					emit(c, name->valuestring, NULL);
			}
		}
		cJSON_Delete(doc);
	}
	kx_buf_free(&path);
	return DIR_NOFILE;
}

/* Label selectors (exec -l): the KEY=VALUE pairs of the namespace's pods; after
 * a ',' the next pair (the pairs before it kept as typed). */
static int src_label(struct comp *c, int npos)
{
	struct kx_client *cl = client(c);
	struct kx_buf path = KX_BUF_INIT(0);
	struct kx_errbuf eb = {0};
	const char *comma = strrchr(c->cur, ',');
	char prefix[512];
	snprintf(prefix, sizeof prefix, "%.*s", comma ? (int)(comma + 1 - c->cur) : 0, c->cur);
	if (cl && !kx_resource_path(cl, "pods", kx_client_namespace(cl), NULL, NULL, &path, &eb)) {
		cJSON *doc = get_json(c, path.data, NULL);
		const cJSON *pod, *kv;
		const char *saved = c->prefix;
		c->prefix = prefix;
		cJSON_ArrayForEach(pod, cJSON_GetObjectItemCaseSensitive(doc, "items"))
		{
			cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(
						       cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "labels"))
			{
				char pair[512];
				if (cJSON_IsString(kv) &&
				    snprintf(pair, sizeof pair, "%s=%s", kv->string, kv->valuestring) < (int)sizeof pair)
					emit(c, pair, NULL);
			}
		}
		c->prefix = saved;
		cJSON_Delete(doc);
	}
	kx_buf_free(&path);
	return DIR_NOFILE;
}

/* File names: the shell's own completion. */
static int src_file(struct comp *c, int npos)
{
	return DIR_DEFAULT;
}

static int src_shell(struct comp *c, int npos)
{
	if (npos > 0)
		return DIR_NOFILE;
	for (const char *const *s = kx_completion_shells; *s; s++)
		emit(c, *s, NULL);
	return DIR_NOFILE;
}

static const struct {
	const char *name;
	source_fn fn;
} sources[] = {
	{"command", src_command},
	{"context", src_context},
	{"cluster", src_cluster},
	{"user", src_user},
	{"namespace", src_namespace},
	{"pod", src_resource_name},           /* exec and attach take TYPE/NAME too */
	{"resource/name", src_resource_name},
	{"resource", src_resource_name},      /* short for resource/name */
	{"service", src_service},
	{"container", src_container},
	{"label", src_label},
	{"file", src_file},
	{"shell", src_shell},
};

/* NULL when a table names a source completion does not know (a unit test checks
 * every table against this list). */
static source_fn find_source(const char *name)
{
	for (size_t i = 0; name && i < sizeof sources / sizeof *sources; i++)
		if (!strcmp(sources[i].name, name))
			return sources[i].fn;
	return NULL;
}

int kx_complete_source_known(const char *name)
{
	return find_source(name) != NULL;
}

/* ---- walking the line ---- */

static void set_tables(struct line *ln)
{
	ln->tables[0] = ln->cmd && ln->cmd->options ? ln->cmd->options : no_options;
	ln->tables[1] = kx_global_options;
	ln->tables[2] = help_option;
	ln->tables[3] = NULL;
}

static const struct kx_option *find_short(const struct line *ln, char ch)
{
	for (const struct kx_option *const *t = ln->tables; *t; t++)
		for (const struct kx_option *o = *t; o->type != KX_OPT_END; o++)
			if (o->short_name == ch)
				return o;
	return NULL;
}

/* Keep a flag's value where the parser would: the global connection flags
 * (--context, -n, --kubeconfig …) then shape the live lookups. */
static void take_value(const struct kx_option *o, const char *val)
{
	if (o->type == KX_OPT_STRING && o->value)
		*(const char **)o->value = val;
	else if (o->type == KX_OPT_BOOL && o->value)
		*(int *)o->value = !val || !strcmp(val, "true") || !strcmp(val, "1");
}

/* Returns 0, or -1 when a word names no command (nothing to offer). */
static int walk(struct line *ln, int n, const char **words)
{
	set_tables(ln);
	for (int i = 0; i < n; i++) {
		const char *w = words[i];
		if (ln->pending) {
			take_value(ln->pending, w);
			ln->pending = NULL;
			continue;
		}
		if (!ln->dash && !strcmp(w, "--")) {
			ln->dash = 1;
			continue;
		}
		if (!ln->dash && w[0] == '-' && w[1] == '-') {
			const char *eq = strchr(w + 2, '=');
			const struct kx_option *o =
				kx_find_long(ln->tables, w + 2, eq ? (size_t)(eq - w - 2) : strlen(w + 2));
			if (o && eq)
				take_value(o, eq + 1);
			else if (o && (o->type == KX_OPT_BOOL || (o->flags & KX_OPT_BARE)))
				take_value(o, NULL);
			else if (o)
				ln->pending = o;
			continue;
		}
		if (!ln->dash && w[0] == '-' && w[1]) {
			for (const char *p = w + 1; *p; p++) {
				const struct kx_option *o = find_short(ln, *p);
				if (!o)
					break;
				if (o->type == KX_OPT_BOOL) {
					take_value(o, NULL);
					continue;
				}
				if (p[1])
					take_value(o, p[1] == '=' ? p + 2 : p + 1);
				else
					ln->pending = o;
				break;
			}
			continue;
		}
		/* A word: a command, a subcommand, or a positional argument. */
		if (!ln->dash && ln->npos == 0 && (!ln->cmd || ln->cmd->subcommands)) {
			const struct kx_command *sub = kx_find_command(ln->cmd ? ln->cmd->subcommands : kx_commands, w);
			if (sub) {
				ln->cmd = sub;
				set_tables(ln);
				continue;
			}
			if (!ln->cmd || !ln->cmd->run)
				return -1;
		}
		ln->pos[ln->npos++] = w;
	}
	return 0;
}

static int complete_value(struct comp *c, const struct kx_option *o, const char *prefix)
{
	c->prefix = prefix;
	if (o->choices) {
		for (const char *const *ch = o->choices; *ch; ch++)
			emit(c, *ch, NULL);
		return DIR_NOFILE;
	}
	source_fn fn = find_source(o->complete);
	return fn ? fn(c, -1) : DIR_NOFILE;
}

static int complete_flags(struct comp *c)
{
	int shorts = c->cur[1] != '-';
	for (const struct kx_option *const *t = c->ln.tables; *t; t++)
		for (const struct kx_option *o = *t; o->type != KX_OPT_END; o++) {
			if (o->flags & KX_OPT_HIDDEN)
				continue;
			char name[80];
			snprintf(name, sizeof name, "--%s", o->long_name);
			emit(c, name, o->help);
			if (shorts && o->short_name) {
				snprintf(name, sizeof name, "-%c", o->short_name);
				emit(c, name, o->help);
			}
		}
	return DIR_NOFILE;
}

/* The current word starts with '-' (and no "--" came before). */
static int complete_dash_word(struct comp *c)
{
	const char *cur = c->cur;
	if (cur[1] == '-') {
		const char *eq = strchr(cur, '=');
		if (!eq)
			return complete_flags(c);
		const struct kx_option *o = kx_find_long(c->ln.tables, cur + 2, (size_t)(eq - cur - 2));
		if (!o || o->type == KX_OPT_BOOL)
			return DIR_NOFILE;
		char prefix[96];
		snprintf(prefix, sizeof prefix, "%.*s", (int)(eq - cur + 1), cur);
		return complete_value(c, o, prefix);
	}
	/* "-cweb": a value glued to a short flag; "-it": boolean shorthands. */
	for (const char *p = cur + 1; *p; p++) {
		const struct kx_option *o = find_short(&c->ln, *p);
		if (!o)
			break;
		if (o->type == KX_OPT_BOOL) {
			if (!p[1] && p > cur + 1) {
				emit(c, cur, NULL); /* a complete cluster: just the space */
				return DIR_NOFILE;
			}
			continue;
		}
		if (!p[1])
			break; /* "-c": offer the flags, the value comes next */
		char prefix[8];
		snprintf(prefix, sizeof prefix, "%.*s", (int)(p - cur + 1 + (p[1] == '=')), cur);
		return complete_value(c, o, prefix);
	}
	return complete_flags(c);
}

static int complete(struct comp *c)
{
	const struct line *ln = &c->ln;
	if (ln->pending)
		return complete_value(c, ln->pending, "");
	if (!ln->dash && c->cur[0] == '-')
		return complete_dash_word(c);
	if (!ln->cmd)
		return src_commands(c, kx_commands);
	int dir = DIR_NOFILE;
	if (ln->cmd->subcommands && ln->npos == 0) {
		src_commands(c, ln->cmd->subcommands);
		if (!ln->cmd->run)
			return DIR_NOFILE;
	}
	/* After "--" come the remote command's words: nothing to offer. */
	source_fn fn = ln->dash ? NULL : find_source(ln->cmd->args_complete);
	if (fn)
		dir = fn(c, ln->npos);
	return dir;
}

/* The hard deadline: stdout is line-buffered, so every candidate printed so
 * far is out; end the answer and the process. */
static void deadline_hit(int sig)
{
	char directive[] = {':', (char)('0' + (DIR_NOFILE | (deadline_nospace ? DIR_NOSPACE : 0))), '\n'};
	(void)sig;
	if (write(STDOUT_FILENO, directive, sizeof directive) < 0)
		_exit(KX_EXIT_FAIL);
	_exit(KX_EXIT_OK);
}

static void arm_deadline(long ms)
{
	struct sigaction sa = {.sa_handler = deadline_hit};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {.it_value = {.tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

/* When the kernel started this process (the fork: the shell's wait begins
 * there), on CLOCK_BOOTTIME; now if /proc does not say. */
static void process_start(struct timespec *ts)
{
	clock_gettime(CLOCK_BOOTTIME, ts);
	char stat[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
	if (f)
		fclose(f);
	stat[n] = '\0';
	/* Field 22, starttime in clock ticks; counted after the ")" ending field 2. */
	const char *p = strrchr(stat, ')');
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	if (!p || hz <= 0 ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &ticks) != 1)
		return;
	ts->tv_sec = (time_t)(ticks / (unsigned long long)hz);
	ts->tv_nsec = (long)(ticks % (unsigned long long)hz * (1000000000ULL / (unsigned long long)hz));
}

static long budget_ms(void)
{
	const char *env = getenv("KX_COMPLETE_TIMEOUT");
	long ms = env ? kx_parse_duration_ms(env) : -1;
	return ms > 0 ? ms : BUDGET_MS_DEFAULT;
}

static int complete_run(const struct kx_invocation *inv)
{
	/* The scripts pass "--" first so that the parser leaves the words alone;
	 * without it, put back the "--" the parser took out of the line. */
	int n = inv->argc + (inv->dash > 0);
	const char **words = calloc((size_t)n + 1, sizeof *words);
	struct comp c = {.cur = "", .prefix = "", .budget_ms = budget_ms()};
	c.ln.pos = calloc((size_t)n + 1, sizeof *c.ln.pos);
	if (!words || !c.ln.pos) {
		free(words);
		free(c.ln.pos);
		kx_error("out of memory");
		return KX_EXIT_FAIL;
	}
	for (int i = 0, j = 0; i < inv->argc; i++) {
		if (inv->dash > 0 && i == inv->dash)
			words[j++] = "--";
		words[j++] = inv->argv[i];
	}
	if (inv->dash > 0 && inv->dash == inv->argc)
		words[n - 1] = "--";
	process_start(&c.start);
	setvbuf(stdout, NULL, _IOLBF, 0);
	long left = c.budget_ms + GRACE_MS - elapsed_ms(&c);
	arm_deadline(left > 1 ? left : 1);
	int dir = DIR_NOFILE;
	if (n > 0) {
		c.cur = words[n - 1];
		dir = walk(&c.ln, n - 1, words) ? DIR_ERROR : complete(&c);
		if (c.open_ended)
			dir |= DIR_NOSPACE; /* "pods/": the name comes next, no space */
	} else {
		dir = src_commands(&c, kx_commands);
	}
	/* The answer ends here: the deadline must not end it a second time while
	 * the process cleans up (slow under a sanitizer). */
	struct itimerval off = {0};
	setitimer(ITIMER_REAL, &off, NULL);
	printf(":%d\n", dir);
	for (size_t i = 0; i < c.nseen; i++)
		free(c.seen[i]);
	free(c.seen);
	kx_client_free(c.client);
	kx_config_free(c.cfg);
	free(c.ln.pos);
	free(words);
	return KX_EXIT_OK;
}

const struct kx_command kx_cmd_complete = {
	.name = "__complete",
	.run = complete_run,
	.summary = "Completion candidates for shells",
	.usage = "kx __complete [--] WORD... CURRENT",
	.description = "Prints the candidates for the last word (CURRENT, may be empty) of the line\n"
		       "WORD... CURRENT, one a line (NAME or NAME<TAB>DESCRIPTION), then \":N\": N is 1 for\n"
		       "no candidates, 2 for no space after the candidate, 4 for no file completion\n"
		       "(cobra's protocol). Live names come from the cluster within 0.8 s of the start\n"
		       "(KX_COMPLETE_TIMEOUT overrides), with a hard stop 0.2 s later; when it does not\n"
		       "answer, only the offline ones.",
	.examples = "  # Pods for kx exec\n  kx __complete exec ''\n\n"
		    "  # Containers of pod web-0\n  kx __complete -- exec web-0 -c ''",
	.flags = KX_CMD_HIDDEN,
};
