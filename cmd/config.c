/* SPDX-License-Identifier: Apache-2.0 */
/* kx config: read-only views of the merged kubeconfig — view (secrets redacted
 * unless --raw, --minify), get-contexts, current-context. Works on incomplete
 * configs and never touches the network. */
#include "kx.h"

#include <stdlib.h>
#include <string.h>

static struct {
	int raw, minify;
	const char *output;
	const char *getctx_output;
} o;

static const char *const view_outputs[] = {"yaml", "json", NULL};
static const char *const name_output[] = {"name", NULL};

static struct kx_config *load_raw(void)
{
	struct kx_config_overrides ov;
	struct kx_errbuf eb = {0};
	struct kx_config *cfg = NULL;
	kx_globals_overrides(&ov);
	kx_err err = kx_config_load_raw(&ov, &cfg, &eb);
	if (err) {
		kx_report(err, &eb);
		return NULL;
	}
	return cfg;
}

/* strdup that survives NULL (gives ""); names are copied before the doc is edited. */
static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

static const cJSON *named(const cJSON *list, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
		if (cJSON_IsString(n) && name && !strcmp(n->valuestring, name))
			return it;
	}
	return NULL;
}

static const char *field(const cJSON *obj, const char *inner, const char *key)
{
	return kx_json_str(inner ? kx_json_get(obj, inner) : obj, key);
}

/* Replace secret values as kubectl does without --raw. */
static void redact(cJSON *doc)
{
	static const char *const omitted[] = {"certificate-authority-data", "client-certificate-data",
					      "client-key-data", NULL};
	static const char *const redacted[] = {"token", "password", NULL};
	const char *lists[] = {"clusters", "users"};
	const char *inner[] = {"cluster", "user"};
	for (int l = 0; l < 2; l++) {
		cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, lists[l])) {
			cJSON *obj = cJSON_GetObjectItemCaseSensitive(it, inner[l]);
			for (int i = 0; omitted[i]; i++)
				if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, omitted[i])))
					cJSON_ReplaceItemInObjectCaseSensitive(obj, omitted[i],
									       cJSON_CreateString("DATA+OMITTED"));
			for (int i = 0; redacted[i]; i++)
				if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, redacted[i])))
					cJSON_ReplaceItemInObjectCaseSensitive(obj, redacted[i],
									       cJSON_CreateString("REDACTED"));
		}
	}
}

/* Keep one entry of a named list (or none). */
static void keep_only(cJSON *doc, const char *list, const char *name)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, list);
	cJSON *keep = cJSON_CreateArray();
	const cJSON *it = named(arr, name);
	if (it)
		cJSON_AddItemToArray(keep, cJSON_Duplicate(it, 1));
	cJSON_ReplaceItemInObjectCaseSensitive(doc, list, keep);
}

/* kubectl's key order for the Config object; preferences only when it holds
 * something (kubectl 1.34 leaves an empty one out). */
static cJSON *ordered(const cJSON *merged)
{
	static const char *const keys[] = {"kind", "apiVersion", "preferences", "clusters",
					   "users", "contexts", "current-context", "extensions", NULL};
	cJSON *out = cJSON_CreateObject();
	for (int i = 0; keys[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(merged, keys[i]);
		if (!strcmp(keys[i], "preferences") && (!v || !v->child))
			continue;
		if (v)
			cJSON_AddItemToObject(out, keys[i], cJSON_Duplicate(v, 1));
		else if (!strcmp(keys[i], "kind"))
			cJSON_AddStringToObject(out, "kind", "Config");
		else if (!strcmp(keys[i], "apiVersion"))
			cJSON_AddStringToObject(out, "apiVersion", "v1");
		else if (!strcmp(keys[i], "current-context"))
			cJSON_AddStringToObject(out, "current-context", "");
		else if (strcmp(keys[i], "extensions"))
			cJSON_AddItemToObject(out, keys[i], cJSON_CreateNull());
	}
	return out;
}

static int view_run(const struct kx_invocation *inv)
{
	if (inv->argc)
		return kx_usage_error(inv->path, "unexpected argument \"%s\"", inv->argv[0]);
	struct kx_config *cfg = load_raw();
	if (!cfg)
		return KX_EXIT_FAIL;
	cJSON *doc = ordered(kx_config_merged(cfg));
	int rc = KX_EXIT_OK;
	if (o.minify) {
		const char *cur = kx_config_current_context(cfg);
		const cJSON *ctx = named(cJSON_GetObjectItemCaseSensitive(doc, "contexts"), cur);
		if (!cur || !*cur) {
			kx_error("current-context must exist in order to minify");
			rc = KX_EXIT_FAIL;
			goto done;
		}
		if (!ctx) {
			kx_error("cannot locate context %s", cur);
			rc = KX_EXIT_FAIL;
			goto done;
		}
		const char *cluster = field(ctx, "context", "cluster");
		const char *user = field(ctx, "context", "user");
		char *cl = xstrdup(cluster), *us = xstrdup(user), *cu = xstrdup(cur);
		keep_only(doc, "clusters", cl);
		keep_only(doc, "users", us);
		keep_only(doc, "contexts", cu);
		cJSON_ReplaceItemInObjectCaseSensitive(doc, "current-context", cJSON_CreateString(cu));
		free(cl);
		free(us);
		free(cu);
	}
	if (!o.raw)
		redact(doc);
	rc = kx_print_doc(doc, o.output ? o.output : "yaml");
done:
	cJSON_Delete(doc);
	kx_config_free(cfg);
	return rc;
}

static int get_contexts_run(const struct kx_invocation *inv)
{
	struct kx_config *cfg = load_raw();
	if (!cfg)
		return KX_EXIT_FAIL;
	const cJSON *contexts = cJSON_GetObjectItemCaseSensitive(kx_config_merged(cfg), "contexts");
	/* The files' current-context, as kubectl marks it (--context does not move the star). */
	const char *cur = field(kx_config_merged(cfg), NULL, "current-context");
	struct kx_table t = {.ncols = 5};
	const char *header[] = {"CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"};
	int rc = KX_EXIT_OK;
	if (!o.getctx_output)
		kx_table_add(&t, header);
	const cJSON *it;
	cJSON_ArrayForEach(it, contexts) {
		const char *name = field(it, NULL, "name");
		int wanted = inv->argc == 0;
		for (int i = 0; i < inv->argc && name; i++)
			wanted |= !strcmp(inv->argv[i], name);
		if (!name || !wanted)
			continue;
		if (o.getctx_output) {
			printf("%s\n", name);
			continue;
		}
		const char *row[] = {cur && !strcmp(cur, name) ? "*" : "", name,
				     field(it, "context", "cluster"), field(it, "context", "user"),
				     field(it, "context", "namespace")};
		kx_table_add(&t, row);
	}
	kx_table_print(stdout, &t);
	for (int i = 0; i < inv->argc; i++)
		if (!named(contexts, inv->argv[i])) {
			fflush(stdout);
			kx_error("context %s not found", inv->argv[i]);
			rc = KX_EXIT_FAIL;
		}
	kx_table_free(&t);
	kx_config_free(cfg);
	return rc;
}

static int current_context_run(const struct kx_invocation *inv)
{
	struct kx_config *cfg = load_raw();
	if (!cfg)
		return KX_EXIT_FAIL;
	/* The files' value, as kubectl prints it: --context does not change it. */
	const char *cur = field(kx_config_merged(cfg), NULL, "current-context");
	int rc = KX_EXIT_OK;
	if (cur && *cur) {
		printf("%s\n", cur);
	} else {
		kx_error("current-context is not set");
		rc = KX_EXIT_FAIL;
	}
	kx_config_free(cfg);
	return rc;
}

static const struct kx_option view_options[] = {
	OPT_BOOL(0, "raw", &o.raw, "Display raw byte data and sensitive data"),
	OPT_BOOL(0, "minify", &o.minify, "Remove all information not used by current-context from the output"),
	OPT_CHOICE('o', "output", &o.output, "FORMAT", "yaml", view_outputs, "Output format"),
	OPT_END(),
};

static const struct kx_option get_contexts_options[] = {
	OPT_CHOICE('o', "output", &o.getctx_output, "FORMAT", NULL, name_output,
		   "Output format: name"),
	OPT_END(),
};

static const struct kx_command config_view = {
	.name = "view",
	.run = view_run,
	.summary = "Display merged kubeconfig settings or a specified kubeconfig file",
	.usage = "kx config view [--raw] [--minify] [-o yaml|json]",
	.examples = "  # The merged kubeconfig, secrets redacted\n  kx config view\n\n"
		    "  # Only what the current context uses, as JSON\n  kx config view --minify -o json",
	.options = view_options,
};

static const struct kx_command config_get_contexts = {
	.name = "get-contexts",
	.run = get_contexts_run,
	.summary = "Describe one or many contexts",
	.usage = "kx config get-contexts [NAME ...] [-o name]",
	.examples = "  kx config get-contexts\n  kx config get-contexts -o name",
	.options = get_contexts_options,
	.args_complete = "context",
};

static const struct kx_command config_current_context = {
	.name = "current-context",
	.run = current_context_run,
	.summary = "Display the current-context",
	.usage = "kx config current-context",
	.examples = "  kx config current-context",
};

static const struct kx_command *const config_subcommands[] = {
	&config_view, &config_get_contexts, &config_current_context, NULL,
};

const struct kx_command kx_cmd_config = {
	.name = "config",
	.summary = "Show kubeconfig settings (view, get-contexts, current-context)",
	.usage = "kx config SUBCOMMAND [options]",
	.description = "Read-only views of the kubeconfig: the merged files of --kubeconfig, KUBECONFIG\n"
		       "or ~/.kube/config, as kubectl merges them. No network access.",
	.examples = "  kx config view --minify\n  kx config get-contexts\n  kx config current-context",
	.subcommands = config_subcommands,
};
