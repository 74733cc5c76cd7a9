/* SPDX-License-Identifier: Apache-2.0 */
/* kx get: list or read resources as kubectl does — the server's own table
 * columns (so every type, CRDs included, gets kubectl's columns), -o
 * json|yaml|name with kubectl's List wrapping, label selectors, all namespaces,
 * paged lists, and --raw for any path. */
#include "kx.h"

#include <kx/client.h>
#include <kx/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static struct {
	const char *output, *selector, *raw;
	int all_namespaces, no_headers, show_managed_fields, server_print, ignore_not_found;
	long chunk_size;
} o = {.server_print = 1, .chunk_size = 500};

static const char *const output_choices[] = {"json", "yaml", "name", "wide", NULL};

static const struct kx_option get_options[] = {
	OPT_CHOICE('o', "output", &o.output, "FORMAT", NULL, output_choices,
		   "Output format; the default is a table of the server's columns."),
	OPT_STRING('l', "selector", &o.selector, "SELECTOR",
		   "Selector (label query) to filter on: -l key1=value1,key2!=value2"),
	OPT_BOOL('A', "all-namespaces", &o.all_namespaces,
		 "List the requested objects across all namespaces"),
	OPT_STRING(0, "raw", &o.raw, "PATH",
		   "Print the server's answer to GET PATH as it is (e.g. --raw /version)"),
	OPT_BOOL(0, "no-headers", &o.no_headers, "Print tables without the header line"),
	OPT_BOOL(0, "ignore-not-found", &o.ignore_not_found,
		 "Treat \"resource not found\" as a successful retrieval"),
	OPT_BOOL(0, "show-managed-fields", &o.show_managed_fields,
		 "Keep metadata.managedFields in -o json and -o yaml"),
	OPT_BOOL(0, "server-print", &o.server_print,
		 "Let the server choose the table's columns (--server-print=false: NAME and AGE) [default: true]"),
	OPT_INT(0, "chunk-size", &o.chunk_size, "N", "500",
		"Fetch lists in pages of N objects; 0 fetches everything at once"),
	OPT_END(),
};

static const char accept_table[] = "application/json;as=Table;v=v1;g=meta.k8s.io,"
				   "application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
				   "application/json";

/* One requested type, as typed and as resolved. */
struct type {
	const char *arg;
	struct kx_resource_type t;
};

/* One GET: a type's collection (name NULL) or one object, and what came back. */
struct request {
	size_t type;
	const char *name;
	cJSON *doc;      /* a Table (table output) or a list / object */
	char *error;     /* kubectl's line for a failed GET */
	int not_found;
};

struct get {
	struct kx_client *c;
	const char *ns; /* NULL with -A */
	struct type *types;
	size_t ntypes;
	struct request *reqs;
	size_t nreqs;
	int table;  /* human-readable output */
	int tuples; /* arguments in TYPE/NAME form */
	const char *const *names; /* the NAME arguments of "TYPE[,TYPE…] NAME…" */
	size_t nnames;
	int with_kind;
	int wrote; /* anything on stdout yet */
};

/* ---------------------------------------------------------------- helpers */

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d) {
		kx_error("out of memory");
		exit(KX_EXIT_FAIL);
	}
	return d;
}

static void drop_managed_fields(cJSON *obj)
{
	if (!o.show_managed_fields)
		cJSON_DeleteItemFromObjectCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "managedFields");
}

/* kubectl's duration.HumanDuration: about two significant figures. */
static void human_duration(long long ms, char *out, size_t n)
{
	long long secs = ms / 1000;
	if (secs < -1) {
		snprintf(out, n, "<invalid>");
		return;
	}
	if (secs < 0) {
		snprintf(out, n, "0s");
		return;
	}
	if (secs < 120) {
		snprintf(out, n, "%llds", secs);
		return;
	}
	long long minutes = ms / 60000;
	if (minutes < 10) {
		if (secs % 60 == 0)
			snprintf(out, n, "%lldm", minutes);
		else
			snprintf(out, n, "%lldm%llds", minutes, secs % 60);
		return;
	}
	if (minutes < 180) {
		snprintf(out, n, "%lldm", minutes);
		return;
	}
	long long hours = ms / 3600000;
	if (hours < 8) {
		if (minutes % 60 == 0)
			snprintf(out, n, "%lldh", hours);
		else
			snprintf(out, n, "%lldh%lldm", hours, minutes % 60);
	} else if (hours < 48) {
		snprintf(out, n, "%lldh", hours);
	} else if (hours < 24 * 8) {
		if (hours % 24 == 0)
			snprintf(out, n, "%lldd", hours / 24);
		else
			snprintf(out, n, "%lldd%lldh", hours / 24, hours % 24);
	} else if (hours < 24 * 365 * 2) {
		snprintf(out, n, "%lldd", hours / 24);
	} else if (hours < 24 * 365 * 8) {
		long long days = hours / 24;
		if (days % 365 == 0)
			snprintf(out, n, "%lldy", days / 365);
		else
			snprintf(out, n, "%lldy%lldd", days / 365, days % 365);
	} else {
		snprintf(out, n, "%lldy", hours / 24 / 365);
	}
}

/* AGE of an object from metadata.creationTimestamp, as kubectl's client-side
 * printer shows it. */
static void object_age(const cJSON *obj, char *out, size_t n)
{
	const char *ts = kx_json_str(kx_json_get(obj, "metadata"), "creationTimestamp");
	struct tm tm = {0};
	const char *end = ts ? strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end) {
		snprintf(out, n, "<unknown>");
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long long created_ms = (long long)timegm(&tm) * 1000;
	human_duration(now.tv_sec * 1000LL + now.tv_nsec / 1000000 - created_ms, out, n);
}

/* ------------------------------------------------------------ arguments */

static int same_type(const struct type *a, const struct type *b)
{
	return !strcmp(a->t.group, b->t.group) && !strcmp(a->t.version, b->t.version) &&
	       !strcmp(a->t.resource, b->t.resource);
}

/* kubectl's ResourceTypeOrNameArgs: "TYPE[,TYPE…] [NAME…]" or "TYPE/NAME…". */
static int parse_args(const struct kx_invocation *inv, struct get *g)
{
	int slashes = 0;
	size_t commas = 0;
	for (int i = 0; i < inv->argc; i++)
		slashes += strchr(inv->argv[i], '/') != NULL;
	for (const char *p = inv->argv[0]; *p; p++)
		commas += *p == ',';
	g->types = calloc((size_t)inv->argc + commas + 1, sizeof *g->types);
	if (!g->types)
		return kx_report(KX_ERR_NOMEM, NULL);
	if (slashes && slashes != inv->argc) {
		kx_error("there is no need to specify a resource type as a separate argument when "
			 "passing arguments in resource/name form (e.g. 'kx get resource/<resource_name>' "
			 "instead of 'kx get resource resource/<resource_name>'");
		return KX_EXIT_FAIL;
	}
	if (slashes) {
		g->tuples = 1;
		g->reqs = calloc((size_t)inv->argc, sizeof *g->reqs);
		if (!g->reqs)
			return kx_report(KX_ERR_NOMEM, NULL);
		for (int i = 0; i < inv->argc; i++) {
			char *a = inv->argv[i], *slash = strchr(a, '/');
			if (strchr(slash + 1, '/')) {
				kx_error("arguments in resource/name form may not have more than one slash");
				return KX_EXIT_FAIL;
			}
			if (slash == a || !slash[1]) {
				kx_error("arguments in resource/name form must have a single resource and name");
				return KX_EXIT_FAIL;
			}
			*slash = '\0'; /* argv is ours to edit: the type ends here */
			size_t t = 0;
			while (t < g->ntypes && strcmp(g->types[t].arg, a))
				t++;
			if (t == g->ntypes)
				g->types[g->ntypes++].arg = a;
			g->reqs[g->nreqs++] = (struct request){.type = t, .name = slash + 1};
		}
		return 0;
	}
	/* "pods,services": unique, in order. */
	char *list = inv->argv[0];
	for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t t = 0;
		while (t < g->ntypes && strcmp(g->types[t].arg, tok))
			t++;
		if (t == g->ntypes)
			g->types[g->ntypes++] = (struct type){.arg = tok};
	}
	if (!g->ntypes)
		return kx_usage_error(inv->path, "Required resource not specified.");
	g->names = (const char *const *)inv->argv + 1;
	g->nnames = (size_t)inv->argc - 1;
	if (g->ntypes > 1 && g->nnames) {
		/* kubectl turns "pods,svc a b" into pods/a pods/b svc/a svc/b. */
		g->tuples = 1;
		g->reqs = calloc(g->ntypes * g->nnames, sizeof *g->reqs);
		if (!g->reqs)
			return kx_report(KX_ERR_NOMEM, NULL);
		for (size_t t = 0; t < g->ntypes; t++)
			for (size_t i = 0; i < g->nnames; i++)
				g->reqs[g->nreqs++] = (struct request){.type = t, .name = g->names[i]};
	}
	return 0;
}

/* Resolve the types; outside TYPE/NAME arguments a category ("all") stands
 * for its types. A list of types fetches each type once ("pods,po" is one type
 * to kubectl). Returns 0 or an exit code after reporting. */
static int resolve_types(struct get *g)
{
	struct type *all = NULL;
	size_t n = 0;
	int rc = 0;
	for (size_t t = 0; t < g->ntypes && !rc; t++) {
		struct kx_errbuf eb = {0};
		struct kx_resource_type *types = NULL;
		size_t count = 0;
		kx_err err;
		if (g->tuples) {
			/* TYPE/NAME names a resource, never a category (as in kubectl). */
			count = 1;
			types = calloc(1, sizeof *types);
			err = types ? kx_resource_resolve(g->c, g->types[t].arg, types, &eb)
				    : KX_ERR_NOMEM;
		} else {
			err = kx_resource_expand(g->c, g->types[t].arg, &types, &count, &eb);
		}
		if (err) {
			rc = kx_report_call(g->c, err, &eb);
			free(types);
			break;
		}
		struct type *grown = realloc(all, (n + count) * sizeof *all);
		if (!grown)
			rc = kx_report(KX_ERR_NOMEM, NULL);
		for (size_t i = 0; grown && i < count; i++)
			grown[n++] = (struct type){.arg = g->types[t].arg, .t = types[i]};
		free(types);
		all = grown ? grown : all;
	}
	if (rc || g->tuples) {
		/* TYPE/NAME: one type per argument, in place. */
		for (size_t i = 0; !rc && i < n; i++)
			g->types[i] = all[i];
		free(all);
		return rc;
	}
	free(g->types);
	g->types = all;
	g->ntypes = n;
	if (n > 1 && g->nnames) {
		kx_error("you must specify only one resource");
		return KX_EXIT_FAIL;
	}
	size_t names = g->nnames ? g->nnames : 1;
	g->reqs = calloc(n * names + 1, sizeof *g->reqs);
	if (!g->reqs)
		return kx_report(KX_ERR_NOMEM, NULL);
	for (size_t t = 0; t < n; t++) {
		size_t first = 0;
		while (!same_type(&g->types[first], &g->types[t]))
			first++;
		if (first != t)
			continue;
		for (size_t i = 0; i < names; i++)
			g->reqs[g->nreqs++] = (struct request){.type = t,
							       .name = g->nnames ? g->names[i] : NULL};
	}
	return 0;
}

/* ------------------------------------------------------------- fetching */

/* kubectl's words for a failed call, kept to print after the output, as kubectl
 * does. */
static char *api_error_line(struct kx_client *c, const struct kx_errbuf *eb)
{
	const struct kx_status *st = kx_client_status(c);
	struct kx_buf b = KX_BUF_INIT(0);
	if (!st)
		kx_buf_printf(&b, "error: %s", eb->msg);
	else if (st->code == 401)
		kx_buf_printf(&b, "error: You must be logged in to the server (%s)", st->message);
	else if (st->reason[0])
		kx_buf_printf(&b, "Error from server (%s): %s", st->reason, st->message);
	else
		kx_buf_printf(&b, "Error from server: %s", st->message);
	return b.data ? kx_buf_steal(&b) : xstrdup("error: out of memory");
}

/* Move the second page's rows (Table) or items (list) onto the first. */
static void append_page(cJSON *into, cJSON *page, const char *key)
{
	cJSON *dst = cJSON_GetObjectItemCaseSensitive(into, key);
	cJSON *src = cJSON_GetObjectItemCaseSensitive(page, key);
	if (!cJSON_IsArray(src))
		return;
	if (!cJSON_IsArray(dst)) {
		cJSON_DeleteItemFromObjectCaseSensitive(into, key);
		cJSON_AddItemToObject(into, key, cJSON_DetachItemFromObjectCaseSensitive(page, key));
		return;
	}
	cJSON *it;
	while ((it = cJSON_DetachItemFromArray(src, 0)))
		cJSON_AddItemToArray(dst, it);
}

/* GET one request, following "continue" through the pages of a list.
 * Returns 0, or 1 after a failure that ends the command (already reported). */
static int fetch(struct get *g, struct request *r)
{
	const struct type *ty = &g->types[r->type];
	struct kx_buf path = KX_BUF_INIT(0), url = KX_BUF_INIT(0);
	struct kx_errbuf eb = {0};
	kx_err err = kx_resource_type_path(&ty->t, g->ns, r->name, NULL, &path, &eb);
	const char *accept = g->table && o.server_print ? accept_table : "application/json";
	char *cont = NULL;
	int rc = 0;
	if (err) {
		rc = kx_report(err, &eb);
		goto done;
	}
	for (;;) {
		char limit[32];
		snprintf(limit, sizeof limit, "%ld", o.chunk_size);
		kx_buf_clear(&url);
		err = kx_buf_appends(&url, path.data);
		if (!err && !r->name && o.selector)
			err = kx_buf_query(&url, "labelSelector", o.selector);
		if (!err && !r->name && o.chunk_size > 0)
			err = kx_buf_query(&url, "limit", limit);
		if (!err && cont)
			err = kx_buf_query(&url, "continue", cont);
		if (err) {
			rc = kx_report(err, NULL);
			goto done;
		}
		struct kx_request req = {.method = "GET", .path = url.data, .accept = accept};
		struct kx_buf body;
		memset(&eb, 0, sizeof eb);
		if ((err = kx_client_request(g->c, &req, &body, &eb))) {
			if (err != KX_ERR_API) {
				rc = kx_report_call(g->c, err, &eb);
				goto done;
			}
			const struct kx_status *st = kx_client_status(g->c);
			r->not_found = st && st->code == 404;
			r->error = api_error_line(g->c, &eb);
			cJSON_Delete(r->doc);
			r->doc = NULL;
			goto done;
		}
		cJSON *page = cJSON_ParseWithLength(body.data ? body.data : "", body.len);
		kx_buf_free(&body);
		if (!cJSON_IsObject(page)) {
			cJSON_Delete(page);
			kx_error("the server's answer to GET %s is not a JSON object", url.data);
			rc = KX_EXIT_FAIL;
			goto done;
		}
		const char *next = kx_json_str(kx_json_get(page, "metadata"), "continue");
		free(cont);
		cont = next && *next && !r->name ? xstrdup(next) : NULL;
		if (!r->doc) {
			r->doc = page;
		} else {
			append_page(r->doc, page, "rows");
			append_page(r->doc, page, "items");
			cJSON_Delete(page);
		}
		if (!cont)
			break;
	}
done:
	free(cont);
	kx_buf_free(&path);
	kx_buf_free(&url);
	return rc;
}

/* ------------------------------------------------------- -o json|yaml|name */

static int is_list(const cJSON *doc)
{
	return cJSON_IsArray(kx_json_get(doc, "items"));
}

/* The items a list holds, with the apiVersion and kind the server leaves out
 * of list items (kubectl's flattening fills them in). */
static void collect_items(cJSON *doc, cJSON *into)
{
	if (!is_list(doc)) {
		cJSON *obj = cJSON_Duplicate(doc, 1);
		drop_managed_fields(obj);
		cJSON_AddItemToArray(into, obj);
		return;
	}
	const char *api = kx_json_str(doc, "apiVersion"), *kind = kx_json_str(doc, "kind");
	char item_kind[256] = "";
	if (kind) {
		size_t n = strlen(kind);
		if (n > 4 && !strcmp(kind + n - 4, "List"))
			n -= 4;
		snprintf(item_kind, sizeof item_kind, "%.*s", (int)n, kind);
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, kx_json_get(doc, "items")) {
		cJSON *obj = cJSON_Duplicate(it, 1);
		if (!obj)
			continue;
		if (api && !kx_json_get(obj, "apiVersion"))
			cJSON_AddStringToObject(obj, "apiVersion", api);
		if (item_kind[0] && !kx_json_get(obj, "kind"))
			cJSON_AddStringToObject(obj, "kind", item_kind);
		drop_managed_fields(obj);
		cJSON_AddItemToArray(into, obj);
	}
}

/* -o name: "pod/web-0", "deployment.apps/web". */
static void print_name(const cJSON *obj)
{
	const char *api = kx_json_str(obj, "apiVersion"), *kind = kx_json_str(obj, "kind");
	const char *name = kx_json_str(kx_json_get(obj, "metadata"), "name");
	const char *slash = api ? strchr(api, '/') : NULL;
	if (kind && *kind) {
		for (const char *p = kind; *p; p++)
			putchar(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		if (slash)
			printf(".%.*s", (int)(slash - api), api);
		putchar('/');
	}
	printf("%s\n", name ? name : "");
}

static int print_generic(struct get *g)
{
	int single = g->nreqs == 1 && g->reqs[0].name;
	int rc = KX_EXIT_OK;
	if (single && g->reqs[0].error) {
		if (o.ignore_not_found && g->reqs[0].not_found)
			return KX_EXIT_OK;
		fprintf(stderr, "%s\n", g->reqs[0].error);
		return KX_EXIT_FAIL;
	}
	cJSON *items = cJSON_CreateArray();
	for (size_t i = 0; i < g->nreqs; i++)
		if (g->reqs[i].doc)
			collect_items(g->reqs[i].doc, items);
	if (!strcmp(o.output, "name")) {
		const cJSON *it;
		cJSON_ArrayForEach(it, items)
			print_name(it);
		cJSON_Delete(items);
	} else {
		cJSON *doc;
		if (single) {
			doc = cJSON_DetachItemFromArray(items, 0);
			cJSON_Delete(items);
		} else {
			doc = cJSON_CreateObject();
			cJSON_AddStringToObject(doc, "apiVersion", "v1");
			cJSON_AddItemToObject(doc, "items", items);
			cJSON_AddStringToObject(doc, "kind", "List");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(doc, "metadata"), "resourceVersion", "");
		}
		(void)kx_json_sort_keys(doc); /* unsorted output beats none */
		rc = doc ? kx_print_doc(doc, o.output) : kx_report(KX_ERR_NOMEM, NULL);
		cJSON_Delete(doc);
	}
	fflush(stdout);
	for (size_t i = 0; i < g->nreqs; i++) {
		if (!g->reqs[i].error || (o.ignore_not_found && g->reqs[i].not_found))
			continue;
		fprintf(stderr, "%s\n", g->reqs[i].error);
		rc = KX_EXIT_FAIL;
	}
	return rc;
}

/* ------------------------------------------------------------- tables */

/* A Table built on this side (kubectl's default columns NAME and AGE) for
 * answers that are not a Table: --server-print=false, or a server without
 * table support. */
static cJSON *client_side_table(const cJSON *doc)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "kind", "Table");
	cJSON *cols = cJSON_AddArrayToObject(t, "columnDefinitions");
	const char *names[] = {"Name", "Age"}, *formats[] = {"name", ""};
	for (int i = 0; i < 2; i++) {
		cJSON *col = cJSON_CreateObject();
		cJSON_AddStringToObject(col, "name", names[i]);
		cJSON_AddStringToObject(col, "type", "string");
		cJSON_AddStringToObject(col, "format", formats[i]);
		cJSON_AddNumberToObject(col, "priority", 0);
		cJSON_AddItemToArray(cols, col);
	}
	cJSON *rows = cJSON_AddArrayToObject(t, "rows");
	const cJSON *one[] = {doc, NULL}, *it;
	const cJSON *list = is_list(doc) ? kx_json_get(doc, "items") : NULL;
	for (it = list ? list->child : one[0]; it; it = list ? it->next : NULL) {
		cJSON *row = cJSON_CreateObject();
		cJSON *cells = cJSON_AddArrayToObject(row, "cells");
		char age[32];
		object_age(it, age, sizeof age);
		const char *name = kx_json_str(kx_json_get(it, "metadata"), "name");
		cJSON_AddItemToArray(cells, cJSON_CreateString(name ? name : ""));
		cJSON_AddItemToArray(cells, cJSON_CreateString(age));
		cJSON *meta = cJSON_AddObjectToObject(cJSON_AddObjectToObject(row, "object"), "metadata");
		const char *ns = kx_json_str(kx_json_get(it, "metadata"), "namespace");
		if (ns)
			cJSON_AddStringToObject(meta, "namespace", ns);
		cJSON_AddItemToArray(rows, row);
	}
	return t;
}

/* Go's %v of a float64 (strconv 'g', shortest): the fewest digits that read
 * back the same, in %e form for exponents below -4 or from 6 up. */
static void go_float(double v, char *out, size_t n)
{
	char buf[64];
	int prec;
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
	int exp = atoi(strchr(buf, 'e') + 1);
	if (exp < -4 || exp >= 6) {
		/* Go's form too: e+XX with at least two exponent digits. */
		snprintf(out, n, "%s", buf);
		return;
	}
	snprintf(out, n, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
}

/* A cell as kubectl prints it: strings cut at the first line break (then
 * "..."), ESC shown as ^[; numbers as Go prints int64 / float64. */
static char *cell_text(const cJSON *cell)
{
	struct kx_buf b = KX_BUF_INIT(0);
	char num[64];
	if (cJSON_IsString(cell)) {
		const char *s = cell->valuestring;
		size_t cut = strcspn(s, "\f\n\r");
		for (size_t i = 0; i < cut; i++) {
			if (s[i] == '\x1b')
				kx_buf_appends(&b, "^[");
			else
				kx_buf_append(&b, s + i, 1);
		}
		if (s[cut])
			kx_buf_appends(&b, "...");
	} else if (cJSON_IsNumber(cell)) {
		double v = cell->valuedouble;
		if (v == (double)(long long)v && v < 9.2e18 && v > -9.2e18)
			snprintf(num, sizeof num, "%lld", (long long)v);
		else
			go_float(v, num, sizeof num);
		kx_buf_appends(&b, num);
	} else if (cJSON_IsBool(cell)) {
		kx_buf_appends(&b, cJSON_IsTrue(cell) ? "true" : "false");
	} else if (cell && !cJSON_IsNull(cell)) {
		char *text = cJSON_PrintUnformatted(cell);
		kx_buf_appends(&b, text ? text : "");
		free(text);
	}
	return b.data ? kx_buf_steal(&b) : xstrdup("");
}

/* Rows of one Table into the group's grid, with kubectl's decorations: a
 * NAMESPACE column first (-A), "kind/" before names (several types). */
static void add_table(struct get *g, const struct type *ty, const cJSON *table,
		      struct kx_table *grid, int *header_done)
{
	int wide = o.output && !strcmp(o.output, "wide");
	int with_ns = !g->ns && ty->t.namespaced;
	const cJSON *defs = kx_json_get(table, "columnDefinitions"), *rows = kx_json_get(table, "rows");
	int ndefs = cJSON_GetArraySize(defs);
	if (!cJSON_GetArraySize(rows) || ndefs <= 0)
		return;
	char *keep = calloc((size_t)ndefs, 1);
	if (!keep)
		return;
	size_t ncols = with_ns;
	int name_col = -1;
	for (int i = 0; i < ndefs; i++) {
		const cJSON *d = cJSON_GetArrayItem(defs, i);
		const cJSON *prio = kx_json_get(d, "priority");
		keep[i] = wide || !cJSON_IsNumber(prio) || prio->valuedouble == 0;
		ncols += keep[i];
		const char *fmt = kx_json_str(d, "format"), *type = kx_json_str(d, "type");
		if (name_col < 0 && fmt && type && !strcmp(fmt, "name") && !strcmp(type, "string"))
			name_col = i;
	}
	if (!grid->ncols)
		grid->ncols = ncols;
	char **row = calloc(grid->ncols + 1, sizeof *row);
	if (!row || grid->ncols != ncols)
		goto done; /* one type has one set of columns */
	if (!*header_done && !o.no_headers) {
		size_t k = 0;
		if (with_ns)
			row[k++] = xstrdup("NAMESPACE");
		for (int i = 0; i < ndefs; i++) {
			if (!keep[i])
				continue;
			const char *name = kx_json_str(cJSON_GetArrayItem(defs, i), "name");
			char *up = xstrdup(name);
			for (char *p = up; *p; p++)
				if (*p >= 'a' && *p <= 'z')
					*p = (char)(*p - 'a' + 'A');
			row[k++] = up;
		}
		kx_table_add(grid, (const char *const *)row);
		for (size_t k2 = 0; k2 < k; k2++)
			free(row[k2]);
	}
	*header_done = 1;
	/* "Deployment.apps" → "deployment.apps/" */
	char prefix[600] = "";
	if (g->with_kind) {
		snprintf(prefix, sizeof prefix, "%s%s%s/", ty->t.kind, ty->t.group[0] ? "." : "",
			 ty->t.group);
		for (char *p = prefix; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	const cJSON *r;
	cJSON_ArrayForEach(r, rows) {
		size_t k = 0;
		memset(row, 0, (grid->ncols + 1) * sizeof *row);
		if (with_ns)
			row[k++] = xstrdup(kx_json_str(kx_json_get(kx_json_get(r, "object"), "metadata"), "namespace"));
		const cJSON *cells = kx_json_get(r, "cells");
		for (int i = 0; i < ndefs; i++) {
			if (!keep[i])
				continue;
			char *text = cell_text(cJSON_GetArrayItem(cells, i));
			if (i == name_col && prefix[0]) {
				struct kx_buf b = KX_BUF_INIT(0);
				kx_buf_printf(&b, "%s%s", prefix, text);
				free(text);
				text = b.data ? kx_buf_steal(&b) : xstrdup("");
			}
			row[k++] = text;
		}
		kx_table_add(grid, (const char *const *)row);
		for (size_t k2 = 0; k2 < k; k2++)
			free(row[k2]);
	}
done:
	free(row);
	free(keep);
}

static int print_tables(struct get *g)
{
	int rc = KX_EXIT_OK, any_error = 0, all_namespaced = g->ns != NULL;
	/* kubectl shows kinds when the answers span several types. */
	for (size_t i = 0; i < g->nreqs; i++)
		for (size_t j = 0; j < i; j++)
			if (g->reqs[i].doc && g->reqs[j].doc &&
			    (strcmp(g->types[g->reqs[i].type].t.kind, g->types[g->reqs[j].type].t.kind) ||
			     strcmp(g->types[g->reqs[i].type].t.group, g->types[g->reqs[j].type].t.group)))
				g->with_kind = 1;
	for (size_t i = 0; i < g->nreqs;) {
		/* One group: consecutive answers of one type share a header and widths. */
		const struct type *ty = &g->types[g->reqs[i].type];
		struct kx_table grid = {0};
		int header_done = 0;
		size_t j = i;
		for (; j < g->nreqs && same_type(&g->types[g->reqs[j].type], ty); j++) {
			struct request *r = &g->reqs[j];
			all_namespaced = all_namespaced && ty->t.namespaced;
			if (!r->doc)
				continue;
			const char *kind = kx_json_str(r->doc, "kind");
			if (kind && !strcmp(kind, "Table")) {
				add_table(g, ty, r->doc, &grid, &header_done);
			} else {
				cJSON *t = client_side_table(r->doc);
				add_table(g, ty, t, &grid, &header_done);
				cJSON_Delete(t);
			}
		}
		if (grid.nrows) {
			if (g->wrote && !o.no_headers)
				putchar('\n');
			kx_table_print(stdout, &grid);
			g->wrote = 1;
		}
		kx_table_free(&grid);
		i = j;
	}
	fflush(stdout);
	for (size_t i = 0; i < g->nreqs; i++) {
		if (!g->reqs[i].error)
			continue;
		if (o.ignore_not_found && g->reqs[i].not_found)
			continue;
		fprintf(stderr, "%s\n", g->reqs[i].error);
		any_error = 1;
		rc = KX_EXIT_FAIL;
	}
	if (!g->wrote && !any_error && !o.ignore_not_found) {
		if (all_namespaced)
			fprintf(stderr, "No resources found in %s namespace.\n", g->ns);
		else
			fputs("No resources found\n", stderr);
	}
	return rc;
}

/* ---------------------------------------------------------------- --raw */

static int get_raw(const struct kx_invocation *inv)
{
	if (inv->argc)
		return kx_usage_error(inv->path, "arguments may not be passed when --raw is specified");
	if (o.output || o.selector || o.all_namespaces)
		return kx_usage_error(inv->path, "--raw cannot be combined with -o, -l or -A");
	struct kx_client *c = kx_connect(NULL);
	if (!c)
		return KX_EXIT_FAIL;
	struct kx_request req = {.method = "GET", .path = o.raw, .accept = "application/json, */*"};
	struct kx_buf body;
	struct kx_errbuf eb = {0};
	kx_err err = kx_client_request(c, &req, &body, &eb);
	int rc = KX_EXIT_OK;
	if (err) {
		rc = kx_report_call(c, err, &eb);
	} else {
		if (body.len)
			fwrite(body.data, 1, body.len, stdout);
		kx_buf_free(&body);
	}
	kx_client_free(c);
	return rc;
}

/* ---------------------------------------------------------------- main */

static int get_run(const struct kx_invocation *inv)
{
	if (o.raw)
		return get_raw(inv);
	if (!inv->argc) {
		fputs("You must specify the type of resource to get.\n\n", stderr);
		return kx_usage_error(inv->path, "Required resource not specified.");
	}
	if (o.chunk_size < 0)
		return kx_usage_error(inv->path, "--chunk-size must not be negative");
	struct get g = {.table = !o.output || !strcmp(o.output, "wide")};
	int rc = parse_args(inv, &g);
	if (rc)
		goto done;
	int named = g.nnames > 0;
	for (size_t i = 0; i < g.nreqs; i++)
		named |= g.reqs[i].name != NULL;
	if (named && o.selector) {
		kx_error("%s", g.tuples ? "selectors and the all flag cannot be used when passing resource/name arguments"
					: "name cannot be provided when a selector is specified");
		rc = KX_EXIT_FAIL;
		goto done;
	}
	if (named && o.all_namespaces) {
		kx_error("a resource cannot be retrieved by name across all namespaces");
		rc = KX_EXIT_FAIL;
		goto done;
	}
	if (!(g.c = kx_connect(NULL))) {
		rc = KX_EXIT_FAIL;
		goto done;
	}
	g.ns = o.all_namespaces ? NULL : kx_client_namespace(g.c);
	if ((rc = resolve_types(&g)))
		goto done;
	for (size_t i = 0; i < g.nreqs; i++)
		if ((rc = fetch(&g, &g.reqs[i])))
			goto done;
	rc = g.table ? print_tables(&g) : print_generic(&g);
done:
	for (size_t i = 0; i < g.nreqs; i++) {
		cJSON_Delete(g.reqs[i].doc);
		free(g.reqs[i].error);
	}
	free(g.reqs);
	free(g.types);
	kx_client_free(g.c);
	return rc;
}

const struct kx_command kx_cmd_get = {
	.name = "get",
	.run = get_run,
	.summary = "Display one or many resources",
	.usage = "kx get TYPE[,TYPE...] [NAME...] | TYPE/NAME... [-o json|yaml|name|wide] [-l SELECTOR] [-A]\n"
		 "  kx get --raw PATH",
	.description = "Prints a table of the server's columns for each type, as kubectl does, or the\n"
		       "objects with -o json|yaml|name. TYPE is any name kubectl accepts: plural,\n"
		       "singular, kind, short name, or TYPE.GROUP; types the server adds (custom\n"
		       "resources) are found through its discovery, cached for 6 hours under\n"
		       "~/.cache/kx/discovery.",
	.examples = "  # Pods in the current namespace\n  kx get pods\n\n"
		    "  # One pod as YAML\n  kx get pod web-0 -o yaml\n\n"
		    "  # Pods labelled app=web in every namespace\n  kx get pods -l app=web -A\n\n"
		    "  # Several types at once, by name\n  kx get pod/web-0 service/web\n\n"
		    "  # Any API path, printed as the server sent it\n  kx get --raw /version",
	.options = get_options,
};
