/* SPDX-License-Identifier: Apache-2.0 */
/* Kubeconfig loading and merging with kubectl's rules: which files (--kubeconfig,
 * KUBECONFIG, ~/.kube/config), how each is read and checked field by field (into the
 * shape client-go's v1 Config has), and how several merge first-wins. The layer above,
 * kubeconfig_resolve.c, resolves the chosen context; config.c puts the two together. */
#include <kx/config.h>
#include "internal.h"
#include "base64.h"
#include "fsutil.h"
#include "kubeconfig_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ lookups */

const struct kx__kc_entry *kx__kc_find(const struct kx__kc_table *t, const char *name)
{
	if (!name)
		return NULL;
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->v[mid].name, name);
		if (!c)
			return &t->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Zero every string of a tree (tokens, keys) before it is freed. */
static void zero_tree(cJSON *v)
{
	for (; v; v = v->next) {
		if (v->valuestring)
			kx__memzero(v->valuestring, strlen(v->valuestring));
		zero_tree(v->child);
	}
}

static void delete_secret_tree(cJSON *v)
{
	if (v) {
		zero_tree(v->child);
		if (v->valuestring)
			kx__memzero(v->valuestring, strlen(v->valuestring));
		cJSON_Delete(v);
	}
}

/* ------------------------------------------------- the shape of a kubeconfig */

enum fkind {
	FK_STR,     /* string */
	FK_BOOL,    /* boolean */
	FK_B64,     /* []byte: base64 text, checked and re-encoded like Go's encoding/json */
	FK_STRS,    /* []string */
	FK_ENV,     /* []{name, value} */
	FK_EXT,     /* []{name, extension}: extensions, kept as they are */
	FK_STRMAP,  /* map[string]string */
	FK_STRSMAP, /* map[string][]string */
	FK_OBJ,     /* a nested struct */
};

#define F_OMIT 1u /* omitempty: left out when empty */
#define F_EXEC 2u /* exec: defaults interactiveMode like client-go's SetDefaults_ExecConfig */

struct field {
	const char *key;
	enum fkind kind;
	unsigned flags;
	const struct field *sub;
};

/* Field lists in client-go's clientcmd/api/v1 struct order (which -o json keeps). */
static const struct field f_env[] = {{"name", FK_STR, 0, NULL}, {"value", FK_STR, 0, NULL}, {0}};
static const struct field f_exec[] = {
	{"command", FK_STR, 0, NULL},
	{"args", FK_STRS, 0, NULL},
	{"env", FK_ENV, 0, NULL},
	{"apiVersion", FK_STR, F_OMIT, NULL},
	{"installHint", FK_STR, F_OMIT, NULL},
	{"provideClusterInfo", FK_BOOL, 0, NULL},
	{"interactiveMode", FK_STR, F_OMIT, NULL},
	{0},
};
static const struct field f_auth_provider[] = {
	{"name", FK_STR, 0, NULL},
	{"config", FK_STRMAP, 0, NULL},
	{0},
};
static const struct field f_cluster[] = {
	{"server", FK_STR, 0, NULL},
	{"tls-server-name", FK_STR, F_OMIT, NULL},
	{"insecure-skip-tls-verify", FK_BOOL, F_OMIT, NULL},
	{"certificate-authority", FK_STR, F_OMIT, NULL},
	{"certificate-authority-data", FK_B64, F_OMIT, NULL},
	{"proxy-url", FK_STR, F_OMIT, NULL},
	{"disable-compression", FK_BOOL, F_OMIT, NULL},
	{"extensions", FK_EXT, F_OMIT, NULL},
	{0},
};
static const struct field f_user[] = {
	{"client-certificate", FK_STR, F_OMIT, NULL},
	{"client-certificate-data", FK_B64, F_OMIT, NULL},
	{"client-key", FK_STR, F_OMIT, NULL},
	{"client-key-data", FK_B64, F_OMIT, NULL},
	{"token", FK_STR, F_OMIT, NULL},
	{"tokenFile", FK_STR, F_OMIT, NULL},
	{"as", FK_STR, F_OMIT, NULL},
	{"as-uid", FK_STR, F_OMIT, NULL},
	{"as-groups", FK_STRS, F_OMIT, NULL},
	{"as-user-extra", FK_STRSMAP, F_OMIT, NULL},
	{"username", FK_STR, F_OMIT, NULL},
	{"password", FK_STR, F_OMIT, NULL},
	{"auth-provider", FK_OBJ, F_OMIT, f_auth_provider},
	{"exec", FK_OBJ, F_OMIT | F_EXEC, f_exec},
	{"extensions", FK_EXT, F_OMIT, NULL},
	{0},
};
static const struct field f_context[] = {
	{"cluster", FK_STR, 0, NULL},
	{"user", FK_STR, 0, NULL},
	{"namespace", FK_STR, F_OMIT, NULL},
	{"extensions", FK_EXT, F_OMIT, NULL},
	{0},
};

/* What is being loaded, for messages and for merging. */
struct loader {
	struct kx_config *cfg;
	struct kx_errbuf *eb;
	const char *path;  /* the current file */
	const char *dir;   /* its absolute directory */
	size_t file;       /* its index: files read so far */
	const char **files; /* the paths of the files read, by index */
	/* first-wins merge of the non-list fields */
	char *current_context;
	int colors;
	cJSON *pref_ext, *ext; /* [{name, extension}] in load order */
};

static kx_err load_fail(struct loader *l, kx_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static kx_err load_fail(struct loader *l, kx_err err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return kx__fail(l->eb, err, "error loading config file \"%s\": %s", l->path, msg);
}

static kx_err type_fail(struct loader *l, const char *path, const char *want)
{
	return load_fail(l, KX_ERR_CONFIG, "%s: expected %s", path, want);
}

static kx_err oom(struct loader *l)
{
	return kx__fail(l->eb, KX_ERR_NOMEM, "out of memory");
}

static int add_item(cJSON *obj, const char *key, cJSON *v)
{
	if (!v)
		return 0;
	if (!cJSON_AddItemToObject(obj, key, v)) {
		cJSON_Delete(v);
		return 0;
	}
	return 1;
}

static const cJSON *member(const cJSON *obj, const char *key)
{
	const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	return cJSON_IsNull(v) ? NULL : v;
}

static kx_err normalize(struct loader *l, const cJSON *in, const struct field *fields,
			const char *path, cJSON **out);

/* A field path for messages ("users[0].user.token"); long ones are cut short. */
static void path_fmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void path_fmt(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

/* A []string; null elements read as "" (as Go's encoding/json does). */
static kx_err norm_strs(struct loader *l, const cJSON *v, const char *path, cJSON **out)
{
	char p[512];
	*out = cJSON_CreateArray();
	if (!*out)
		return oom(l);
	int i = 0;
	for (const cJSON *it = v->child; it; it = it->next, i++) {
		path_fmt(p, sizeof p, "%s[%d]", path, i);
		if (!cJSON_IsString(it) && !cJSON_IsNull(it))
			return type_fail(l, p, "a string");
		cJSON *str = cJSON_CreateString(cJSON_IsString(it) ? it->valuestring : "");
		if (!str || !cJSON_AddItemToArray(*out, str)) {
			cJSON_Delete(str);
			return oom(l);
		}
	}
	return KX_OK;
}

struct child {
	cJSON *item;
	size_t pos;
};

static const char *name_of(const cJSON *it)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
	return cJSON_IsString(n) ? n->valuestring : "";
}

static int by_name(const void *a, const void *b)
{
	const struct child *x = a, *y = b;
	int c = strcmp(name_of(x->item), name_of(y->item));
	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* Sort the elements of a list in place (by_name); ties keep their order. 0 when out
 * of memory. (Objects' keys: kx_json_sort_keys.) */
static int sort_children(cJSON *parent, int (*cmp)(const void *, const void *))
{
	size_t n = 0;
	for (cJSON *it = parent->child; it; it = it->next)
		n++;
	if (n < 2)
		return 1;
	struct child *v = malloc(n * sizeof *v);
	if (!v)
		return 0;
	size_t i = 0;
	for (cJSON *it = parent->child; it; it = it->next, i++)
		v[i] = (struct child){it, i};
	qsort(v, n, sizeof *v, cmp);
	for (i = 0; i < n; i++) {
		v[i].item->prev = i ? v[i - 1].item : v[n - 1].item; /* cJSON: child->prev is the tail */
		v[i].item->next = i + 1 < n ? v[i + 1].item : NULL;
	}
	parent->child = v[0].item;
	free(v);
	return 1;
}

/* Sort [{name, …}] by name (a Go map's order once converted back) and refuse
 * duplicate names, as client-go's conversion does. */
static kx_err sort_named(struct loader *l, cJSON *arr, const char *path)
{
	if (!sort_children(arr, by_name))
		return oom(l);
	for (const cJSON *it = arr->child; it && it->next; it = it->next)
		if (!strcmp(name_of(it), name_of(it->next)))
			return load_fail(l, KX_ERR_CONFIG, "%s: duplicate name \"%s\"", path, name_of(it));
	return KX_OK;
}

/* A deep copy with every mapping's keys sorted bytewise: client-go holds extensions
 * as Go maps, so kubectl prints them in that order. */
static cJSON *copy_sorted(const cJSON *v)
{
	cJSON *c = cJSON_Duplicate(v, 1);
	if (c && kx_json_sort_keys(c)) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

/* [{name, extension}] (extensions) or [{name, value}] (exec env). */
static kx_err norm_pairs(struct loader *l, const cJSON *v, const char *path, int ext, cJSON **out)
{
	char p[512];
	*out = cJSON_CreateArray();
	if (!*out)
		return oom(l);
	int i = 0;
	for (const cJSON *it = v->child; it; it = it->next, i++) {
		path_fmt(p, sizeof p, "%s[%d]", path, i);
		if (!cJSON_IsObject(it) && !cJSON_IsNull(it))
			return type_fail(l, p, "a mapping");
		cJSON *o;
		kx_err err;
		if (ext) {
			static const struct field f_ext[] = {{"name", FK_STR, 0, NULL}, {0}};
			if ((err = normalize(l, it, f_ext, p, &o)))
				return err;
			const cJSON *e = member(it, "extension");
			if (!add_item(o, "extension", e ? copy_sorted(e) : cJSON_CreateNull())) {
				cJSON_Delete(o);
				return oom(l);
			}
		} else if ((err = normalize(l, it, f_env, p, &o))) {
			return err;
		}
		cJSON_AddItemToArray(*out, o);
	}
	return ext ? sort_named(l, *out, path) : KX_OK;
}

/* map[string]string or map[string][]string. */
static kx_err norm_map(struct loader *l, const cJSON *v, const char *path, int lists, cJSON **out)
{
	char p[512];
	*out = cJSON_CreateObject();
	if (!*out)
		return oom(l);
	for (const cJSON *it = v->child; it; it = it->next) {
		path_fmt(p, sizeof p, "%s.%s", path, it->string);
		cJSON *val;
		if (lists) {
			if (cJSON_IsNull(it)) {
				val = cJSON_CreateNull();
			} else if (!cJSON_IsArray(it)) {
				return type_fail(l, p, "a list");
			} else {
				kx_err err = norm_strs(l, it, p, &val);
				if (err) {
					cJSON_Delete(val);
					return err;
				}
			}
		} else {
			if (!cJSON_IsString(it) && !cJSON_IsNull(it))
				return type_fail(l, p, "a string");
			val = cJSON_CreateString(cJSON_IsString(it) ? it->valuestring : "");
		}
		if (!val)
			return oom(l);
		if (!(val->string = kx__strdup(it->string))) {
			cJSON_Delete(val);
			return oom(l);
		}
		cJSON_AddItemToArray(*out, val);
	}
	/* Go's maps print sorted by key */
	if (kx_json_sort_keys(*out))
		return oom(l);
	return KX_OK;
}

/* Check one object against its field list and build its normalized form: only the
 * fields client-go knows, in its order, empty ones left out where it leaves them out. */
static kx_err normalize(struct loader *l, const cJSON *in, const struct field *fields,
			const char *path, cJSON **out)
{
	char p[512];
	kx_err err = KX_OK;
	cJSON *o = cJSON_CreateObject();
	*out = NULL;
	if (!o)
		return oom(l);
	for (const struct field *f = fields; f->key; f++) {
		const cJSON *v = member(in, f->key);
		cJSON *val = NULL;
		path_fmt(p, sizeof p, "%s%s%s", path, *path ? "." : "", f->key);
		switch (f->kind) {
		case FK_STR:
			if (v && !cJSON_IsString(v)) {
				err = type_fail(l, p, "a string");
				goto fail;
			}
			if ((f->flags & F_OMIT) && (!v || !*v->valuestring))
				continue;
			val = cJSON_CreateString(v ? v->valuestring : "");
			break;
		case FK_BOOL:
			if (v && !cJSON_IsBool(v)) {
				err = type_fail(l, p, "a boolean");
				goto fail;
			}
			if ((f->flags & F_OMIT) && !cJSON_IsTrue(v))
				continue;
			val = cJSON_CreateBool(cJSON_IsTrue(v));
			break;
		case FK_B64: {
			if (v && !cJSON_IsString(v)) {
				err = type_fail(l, p, "a string");
				goto fail;
			}
			if (!v || !*v->valuestring)
				continue;
			char *raw;
			size_t rawlen, bad;
			err = kx__b64_decode(v->valuestring, strlen(v->valuestring), &raw, &rawlen, &bad);
			if (err == KX_ERR_NOMEM) {
				err = oom(l);
				goto fail;
			}
			if (err) {
				err = load_fail(l, KX_ERR_CONFIG, "%s: illegal base64 data at input byte %zu",
						p, bad);
				goto fail;
			}
			if (!rawlen) {
				free(raw);
				continue;
			}
			char *enc = kx__b64_encode(raw, rawlen);
			kx__memzero(raw, rawlen);
			free(raw);
			if (enc) {
				val = cJSON_CreateString(enc);
				kx__free_secret(enc);
			}
			break;
		}
		case FK_STRS:
		case FK_ENV:
		case FK_EXT:
			if (v && !cJSON_IsArray(v)) {
				err = type_fail(l, p, "a list");
				goto fail;
			}
			if (!v || ((f->flags & F_OMIT) && !v->child)) {
				if (f->flags & F_OMIT)
					continue;
				val = cJSON_CreateNull();
				break;
			}
			err = f->kind == FK_STRS ? norm_strs(l, v, p, &val)
			      : norm_pairs(l, v, p, f->kind == FK_EXT, &val);
			if (err) {
				delete_secret_tree(val); /* exec env values may be secrets */
				goto fail;
			}
			break;
		case FK_STRMAP:
		case FK_STRSMAP:
			if (v && !cJSON_IsObject(v)) {
				err = type_fail(l, p, "a mapping");
				goto fail;
			}
			if (!v || ((f->flags & F_OMIT) && !v->child)) {
				if (f->flags & F_OMIT)
					continue;
				val = cJSON_CreateNull();
				break;
			}
			if ((err = norm_map(l, v, p, f->kind == FK_STRSMAP, &val))) {
				cJSON_Delete(val);
				goto fail;
			}
			break;
		case FK_OBJ:
			if (v && !cJSON_IsObject(v)) {
				err = type_fail(l, p, "a mapping");
				goto fail;
			}
			if (!v && (f->flags & F_OMIT))
				continue;
			if ((err = normalize(l, v, f->sub, p, &val)))
				goto fail;
			if (f->flags & F_EXEC) {
				const cJSON *api = member(val, "apiVersion");
				const char *a = cJSON_IsString(api) ? api->valuestring : "";
				if (!member(val, "interactiveMode") &&
				    (!strcmp(a, "client.authentication.k8s.io/v1beta1") ||
				     !strcmp(a, "client.authentication.k8s.io/v1alpha1")) &&
				    !add_item(val, "interactiveMode", cJSON_CreateString("IfAvailable"))) {
					cJSON_Delete(val);
					err = oom(l);
					goto fail;
				}
			}
			break;
		}
		if (!add_item(o, f->key, val)) {
			err = oom(l);
			goto fail;
		}
	}
	*out = o;
	return KX_OK;
fail:
	delete_secret_tree(o);
	return err;
}

/* Add one file's clusters/users/contexts list to a table (merged later). */
static kx_err load_named(struct loader *l, const cJSON *doc, const char *list, const char *inner,
			 const struct field *fields, struct kx__kc_table *t)
{
	const cJSON *arr = member(doc, list);
	char p[512];
	if (!arr)
		return KX_OK;
	if (!cJSON_IsArray(arr))
		return type_fail(l, list, "a list");
	int i = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		path_fmt(p, sizeof p, "%s[%d]", list, i);
		if (!cJSON_IsObject(it) && !cJSON_IsNull(it))
			return type_fail(l, p, "a mapping");
		const cJSON *name = member(it, "name");
		char np[540];
		path_fmt(np, sizeof np, "%s.name", p);
		if (name && !cJSON_IsString(name))
			return type_fail(l, np, "a string");
		const cJSON *in = member(it, inner);
		path_fmt(np, sizeof np, "%s.%s", p, inner);
		if (in && !cJSON_IsObject(in))
			return type_fail(l, np, "a mapping");
		cJSON *norm, *item = cJSON_CreateObject();
		if (!item)
			return oom(l);
		kx_err err = normalize(l, in, fields, np, &norm);
		if (err) {
			cJSON_Delete(item);
			return err;
		}
		if (!add_item(item, "name", cJSON_CreateString(name ? name->valuestring : "")) ||
		    !add_item(item, inner, norm)) {
			delete_secret_tree(item);
			return oom(l);
		}
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 16;
			struct kx__kc_entry *v = realloc(t->v, cap * sizeof *v);
			if (!v) {
				delete_secret_tree(item);
				return oom(l);
			}
			t->v = v;
			t->cap = cap;
		}
		t->v[t->n++] = (struct kx__kc_entry){
			.name = cJSON_GetObjectItemCaseSensitive(item, "name")->valuestring,
			.obj = norm,
			.dir = l->dir,
			.item = item,
			.file = l->file,
		};
	}
	return KX_OK;
}

/* Append a file's extensions to the first-wins list. */
static kx_err merge_ext(struct loader *l, cJSON **dst, const cJSON *src)
{
	if (!src)
		return KX_OK;
	if (!*dst && !(*dst = cJSON_CreateArray()))
		return oom(l);
	for (const cJSON *it = src->child; it; it = it->next) {
		cJSON *d = cJSON_Duplicate(it, 1);
		if (!d || !cJSON_AddItemToArray(*dst, d)) {
			cJSON_Delete(d);
			return oom(l);
		}
	}
	return KX_OK;
}

/* One parsed file: check the top level and add its parts to the merge. */
static kx_err load_doc(struct loader *l, const cJSON *doc)
{
	kx_err err;
	if (cJSON_IsNull(doc))
		return KX_OK;
	if (!cJSON_IsObject(doc))
		return load_fail(l, KX_ERR_CONFIG, "expected a mapping at the top level");
	static const struct field f_top[] = {
		{"kind", FK_STR, F_OMIT, NULL},
		{"apiVersion", FK_STR, F_OMIT, NULL},
		{"current-context", FK_STR, F_OMIT, NULL},
		{"extensions", FK_EXT, F_OMIT, NULL},
		{0},
	};
	static const struct field f_prefs[] = {
		{"colors", FK_BOOL, F_OMIT, NULL},
		{"extensions", FK_EXT, F_OMIT, NULL},
		{0},
	};
	cJSON *top = NULL, *prefs = NULL;
	if ((err = normalize(l, doc, f_top, "", &top)))
		return err;
	const cJSON *pv = member(doc, "preferences");
	if (pv && !cJSON_IsObject(pv)) {
		err = type_fail(l, "preferences", "a mapping");
		goto out;
	}
	if ((err = normalize(l, pv, f_prefs, "preferences", &prefs)))
		goto out;
	const cJSON *kind = member(top, "kind"), *api = member(top, "apiVersion");
	if (kind && strcmp(kind->valuestring, "Config")) {
		err = load_fail(l, KX_ERR_CONFIG, "kind: expected \"Config\", not \"%s\"", kind->valuestring);
		goto out;
	}
	if (api && strcmp(api->valuestring, "v1")) {
		err = load_fail(l, KX_ERR_CONFIG, "apiVersion: expected \"v1\", not \"%s\"", api->valuestring);
		goto out;
	}
	if ((err = load_named(l, doc, "clusters", "cluster", f_cluster, &l->cfg->clusters)) ||
	    (err = load_named(l, doc, "users", "user", f_user, &l->cfg->users)) ||
	    (err = load_named(l, doc, "contexts", "context", f_context, &l->cfg->contexts)))
		goto out;
	const cJSON *cc = member(top, "current-context");
	if (cc && !l->current_context && !(l->current_context = kx__strdup(cc->valuestring))) {
		err = oom(l);
		goto out;
	}
	if (cJSON_IsTrue(member(prefs, "colors")))
		l->colors = 1;
	if ((err = merge_ext(l, &l->pref_ext, member(prefs, "extensions"))) ||
	    (err = merge_ext(l, &l->ext, member(top, "extensions"))))
		goto out;
out:
	cJSON_Delete(top);
	cJSON_Delete(prefs);
	return err;
}

static kx_err load_data(struct loader *l, const char *data, size_t len)
{
	cJSON *doc = NULL;
	kx_err err;
	if (!len)
		return KX_OK; /* an empty file is an empty config */
	char source[4200];
	snprintf(source, sizeof source, "error loading config file \"%s\"", l->path);
	struct kx_errbuf yeb = {0};
	err = kx_yaml_parse(data, len, source, &doc, &yeb);
	if (err) {
		kx__fail(l->eb, err == KX_ERR_NOMEM ? err : KX_ERR_CONFIG, "%s", yeb.msg);
		return err == KX_ERR_NOMEM ? err : KX_ERR_CONFIG;
	}
	err = load_doc(l, doc);
	delete_secret_tree(doc);
	return err;
}

static kx_err add_dir(struct loader *l, const char *path)
{
	const char **f = realloc(l->files, (l->file + 1) * sizeof *f);
	if (!f)
		return oom(l);
	l->files = f;
	f[l->file] = path;
	char **d = realloc(l->cfg->dirs, (l->cfg->n_dirs + 1) * sizeof *d);
	if (!d)
		return oom(l);
	l->cfg->dirs = d;
	char *dir = kx__path_abs_dir(path);
	if (!dir)
		return kx__fail(l->eb, KX_ERR_IO,
				"could not determine the absolute path of config file %s", path);
	d[l->cfg->n_dirs++] = dir;
	l->dir = dir;
	return KX_OK;
}

/* Read one file. Missing files are skipped unless the file was named by --kubeconfig. */
static kx_err load_file(struct loader *l, const char *path, int must_exist)
{
	char *data;
	size_t len;
	const char *op;
	int errnum;
	char eb[128];
	l->path = path;
	kx_err err = kx__file_read(path, KX_KUBECONFIG_MAX, &data, &len, &op, &errnum);
	if (err == KX_ERR_NOT_FOUND && !must_exist)
		return KX_OK;
	if (err == KX_ERR_NOT_FOUND)
		return kx__fail(l->eb, KX_ERR_CONFIG, "stat %s: %s", path,
				kx__errno_text(errnum, eb, sizeof eb));
	if (err == KX_ERR_TOO_LARGE)
		return load_fail(l, err, "file is larger than %zu bytes", KX_KUBECONFIG_MAX);
	if (err == KX_ERR_NOMEM)
		return oom(l);
	if (err)
		return load_fail(l, err, "%s %s: %s", op, path, kx__errno_text(errnum, eb, sizeof eb));
	if (!(err = add_dir(l, path))) {
		err = load_data(l, data, len);
		l->file++;
	}
	kx__memzero(data, len);
	free(data);
	return err;
}

/* ----------------------------------------------------------------- merging */

struct sortent {
	struct kx__kc_entry e;
	size_t seq;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct sortent *x = a, *y = b;
	int c = strcmp(x->e.name, y->e.name);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Keep the first file's entry for each name; a name twice in one file is an error.
 * On success the kept items move into *out (NULL when there are none). */
static kx_err merge_table(struct loader *l, struct kx__kc_table *t, const char *list, cJSON **out)
{
	*out = NULL;
	if (!t->n)
		return KX_OK;
	struct sortent *s = malloc(t->n * sizeof *s);
	if (!s)
		return oom(l);
	for (size_t i = 0; i < t->n; i++)
		s[i] = (struct sortent){t->v[i], i};
	qsort(s, t->n, sizeof *s, entry_cmp); /* a total order: seq breaks ties */
	kx_err err = KX_OK;
	size_t w = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (w && !strcmp(t->v[w - 1].name, s[i].e.name)) {
			if (t->v[w - 1].file == s[i].e.file && !err) {
				l->path = l->files[s[i].e.file];
				err = load_fail(l, KX_ERR_CONFIG, "%s: duplicate name \"%s\"", list,
						s[i].e.name);
			}
			delete_secret_tree(s[i].e.item);
			continue;
		}
		t->v[w++] = s[i].e;
	}
	t->n = w;
	free(s);
	if (err)
		return err;
	if (!(*out = cJSON_CreateArray()))
		return oom(l);
	for (size_t i = 0; i < t->n; i++)
		cJSON_AddItemToArray(*out, t->v[i].item);
	t->in_merged = 1; /* the items belong to *out now */
	return KX_OK;
}

static void free_table_items(struct kx__kc_table *t)
{
	if (!t->in_merged)
		for (size_t i = 0; i < t->n; i++)
			delete_secret_tree(t->v[i].item);
	t->n = 0;
}

/* Build the merged document in client-go's v1 Config field order. */
static kx_err build_merged(struct loader *l)
{
	struct kx_config *cfg = l->cfg;
	cJSON *m = cfg->merged = cJSON_CreateObject();
	cJSON *prefs = cJSON_CreateObject();
	if (!m || !add_item(m, "kind", cJSON_CreateString("Config")) ||
	    !add_item(m, "apiVersion", cJSON_CreateString("v1")) || !add_item(m, "preferences", prefs))
		return oom(l);
	struct kx__kc_table *tables[] = {&cfg->clusters, &cfg->users, &cfg->contexts};
	const char *keys[] = {"clusters", "users", "contexts"};
	for (int i = 0; i < 3; i++) {
		cJSON *arr;
		kx_err err = merge_table(l, tables[i], keys[i], &arr);
		if (err)
			return err;
		if (!arr && !add_item(m, keys[i], cJSON_CreateNull()))
			return oom(l);
		if (arr && !cJSON_AddItemToObject(m, keys[i], arr)) {
			delete_secret_tree(arr);
			tables[i]->n = 0;
			return oom(l);
		}
	}
	if (!add_item(m, "current-context",
		      cJSON_CreateString(l->current_context ? l->current_context : "")))
		return oom(l);
	if (l->colors && !add_item(prefs, "colors", cJSON_CreateTrue()))
		return oom(l);
	/* extensions: the first file to name one wins, then sorted by name */
	cJSON *exts[2] = {l->pref_ext, l->ext};
	for (int k = 0; k < 2; k++) {
		if (!exts[k])
			continue;
		/* files' lists in load order: after a stable sort by name, the first of each
		 * run of equal names came from the earliest file */
		cJSON *keep = exts[k];
		if (!sort_children(keep, by_name))
			return oom(l);
		for (cJSON *it = keep->child; it && it->next;) {
			if (strcmp(name_of(it), name_of(it->next))) {
				it = it->next;
				continue;
			}
			cJSON_Delete(cJSON_DetachItemViaPointer(keep, it->next));
		}
		if (k)
			l->ext = NULL;
		else
			l->pref_ext = NULL;
		if (!add_item(k ? m : prefs, "extensions", keep))
			return oom(l);
	}
	return KX_OK;
}

/* ----------------------------------------------------------------- loading */

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/* The files kubectl would read, in order: --kubeconfig alone; else the KUBECONFIG list
 * (empty entries dropped, duplicates once); else ~/.kube/config. */
static kx_err collect_paths(const struct kx_config_overrides *ov, char ***out, size_t *n,
			    int *explicit_file)
{
	char **paths = NULL;
	size_t np = 0;
	*explicit_file = 0;
	const char *env = getenv("KUBECONFIG");
	if (ov && nonempty(ov->kubeconfig)) {
		paths = malloc(sizeof *paths);
		if (!paths || !(paths[0] = kx__strdup(ov->kubeconfig))) {
			free(paths);
			return KX_ERR_NOMEM;
		}
		np = 1;
		*explicit_file = 1;
	} else if (nonempty(env)) {
		size_t max = 1;
		for (const char *c = env; *c; c++)
			max += *c == ':';
		paths = calloc(max, sizeof *paths);
		if (!paths)
			return KX_ERR_NOMEM;
		for (const char *s = env; *s;) {
			const char *e = strchr(s, ':');
			size_t len = e ? (size_t)(e - s) : strlen(s);
			int dup = !len;
			for (size_t i = 0; i < np && !dup; i++)
				dup = strlen(paths[i]) == len && !memcmp(paths[i], s, len);
			if (!dup) {
				if (!(paths[np] = strndup(s, len)))
					goto nomem;
				np++;
			}
			s += len + (e ? 1 : 0);
		}
	} else if (nonempty(getenv("HOME"))) {
		const char *home = getenv("HOME");
		paths = malloc(sizeof *paths);
		if (!paths)
			return KX_ERR_NOMEM;
		paths[0] = kx__path_join(home, ".kube/config");
		if (!paths[0])
			goto nomem;
		np = 1;
	}
	*out = paths;
	*n = np;
	return KX_OK;
nomem:
	for (size_t i = 0; i < np; i++)
		free(paths[i]);
	free(paths);
	return KX_ERR_NOMEM;
}

static void free_paths(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

kx_err kx__config_read(const struct kx_config_overrides *ov, const char *data, size_t len,
			const char *path, kx__kc_reader read, struct kx_config **out,
			struct kx_errbuf *eb)
{
	struct kx_config_overrides none = KX_CONFIG_OVERRIDES_INIT;
	struct kx_config *cfg = calloc(1, sizeof *cfg);
	struct loader l = {.cfg = cfg, .eb = eb};
	char **paths = NULL;
	size_t np = 0;
	int explicit_file = 0;
	kx_err err;
	*out = NULL;
	if (!ov)
		ov = &none;
	if (!cfg)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	cfg->read = read ? read : kx__file_read;
	if (data) {
		paths = malloc(sizeof *paths);
		if (!paths || !(paths[0] = kx__strdup(path ? path : "/dev/null/kubeconfig"))) {
			free(paths);
			paths = NULL;
			err = oom(&l);
			goto out;
		}
		np = 1;
		l.path = paths[0];
		if (!(err = add_dir(&l, paths[0]))) {
			err = load_data(&l, data, len);
			l.file++;
		}
	} else {
		if ((err = collect_paths(ov, &paths, &np, &explicit_file))) {
			err = oom(&l);
			goto out;
		}
		for (size_t i = 0; i < np && !err; i++)
			err = load_file(&l, paths[i], explicit_file);
	}
	if (err || (err = build_merged(&l)))
		goto out;
	const char *ctx = nonempty(ov->context) ? ov->context : nonempty(l.current_context);
	if (ctx && !(cfg->current_context = kx__strdup(ctx)))
		err = oom(&l);
out:
	free_paths(paths, np);
	free(l.current_context);
	free(l.files);
	cJSON_Delete(l.pref_ext);
	cJSON_Delete(l.ext);
	if (err) {
		kx_config_free(cfg);
		return err;
	}
	*out = cfg;
	return KX_OK;
}

void kx_config_free(struct kx_config *cfg)
{
	if (!cfg)
		return;
	delete_secret_tree(cfg->merged);
	free_table_items(&cfg->clusters);
	free_table_items(&cfg->users);
	free_table_items(&cfg->contexts);
	free(cfg->clusters.v);
	free(cfg->users.v);
	free(cfg->contexts.v);
	for (size_t i = 0; i < cfg->n_dirs; i++)
		free(cfg->dirs[i]);
	free(cfg->dirs);
	free(cfg->current_context);
	for (size_t i = 0; i < cfg->n_allocs; i++) {
		if (cfg->allocs[i].secret && cfg->allocs[i].p)
			kx__memzero(cfg->allocs[i].p, cfg->allocs[i].len);
		free(cfg->allocs[i].p);
	}
	free(cfg->allocs);
	free(cfg);
}
