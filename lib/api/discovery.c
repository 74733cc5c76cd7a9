/* SPDX-License-Identifier: Apache-2.0 */
/* Discovery of the server's resource types, as kubectl does it: aggregated
 * discovery (GET /api and /apis as APIGroupDiscoveryList) with a fallback to the
 * legacy per-group-version documents, cached on disk for 6 hours under
 * <cache dir>/discovery/<host_port>/ (kubectl's --cache-dir, default ~/.kube/cache;
 * written atomically), and matched
 * against resource names the way kubectl's REST mapper matches them. */
#include "discovery.h"
#include <kx/json.h>
#include "internal.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_FILE "api-resources.json"
#define CACHE_MAX ((size_t)16 << 20)
#define DISCOVERY_MAX ((size_t)64 << 20)

/* Both aggregated versions (v2 since 1.30, v2beta1 in 1.26–1.29), then plain
 * JSON so an older server answers with the legacy documents. */
static const char accept_aggregated[] =
	"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
	"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
	"application/json";

static void resource_clear(struct kx__api_resource *r)
{
	free(r->group);
	free(r->version);
	free(r->resource);
	free(r->singular);
	free(r->kind);
	for (size_t i = 0; i < r->n_short; i++)
		free(r->short_names[i]);
	free(r->short_names);
	for (size_t i = 0; i < r->n_categories; i++)
		free(r->categories[i]);
	free(r->categories);
	memset(r, 0, sizeof *r);
}

void kx__discovery_free(struct kx__discovery *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		resource_clear(&d->items[i]);
	free(d->items);
	d->items = NULL;
	d->n = d->cap = 0;
}

/* Copy a JSON array's non-empty strings; anything else gives an empty list. */
static int copy_strings(const cJSON *arr, char ***out, size_t *n)
{
	int size = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
	*out = NULL;
	*n = 0;
	if (size <= 0)
		return 0;
	if (!(*out = calloc((size_t)size, sizeof **out)))
		return -1;
	const cJSON *s;
	cJSON_ArrayForEach(s, arr) {
		if (*n >= (size_t)size)
			break;
		if (!cJSON_IsString(s) || !*s->valuestring)
			continue;
		if (!((*out)[*n] = strdup(s->valuestring)))
			return -1;
		++*n;
	}
	return 0;
}

/* Append one resource (strings copied). Entries without a plural, version or
 * kind, and subresources ("pods/log"), are skipped. */
static kx_err add_resource(struct kx__discovery *d, const char *group, const char *version,
			   const char *resource, const char *singular, const char *kind,
			   const cJSON *short_names, const cJSON *categories, int namespaced)
{
	if (!version || !*version || !resource || !*resource || strchr(resource, '/') || !kind ||
	    !*kind)
		return KX_OK;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct kx__api_resource *items = realloc(d->items, cap * sizeof *items);
		if (!items)
			return KX_ERR_NOMEM;
		d->items = items;
		d->cap = cap;
	}
	struct kx__api_resource *r = &d->items[d->n];
	memset(r, 0, sizeof *r);
	r->namespaced = namespaced;
	r->group = strdup(group ? group : "");
	r->version = strdup(version);
	r->resource = strdup(resource);
	r->singular = strdup(singular ? singular : "");
	r->kind = strdup(kind);
	/* (a failed copy_strings leaves what it copied counted, for resource_clear) */
	if (!r->group || !r->version || !r->resource || !r->singular || !r->kind ||
	    copy_strings(short_names, &r->short_names, &r->n_short) ||
	    copy_strings(categories, &r->categories, &r->n_categories)) {
		resource_clear(r);
		return KX_ERR_NOMEM;
	}
	d->n++;
	return KX_OK;
}

kx_err kx__discovery_add_aggregated(struct kx__discovery *d, const cJSON *list,
				    struct kx_errbuf *eb)
{
	const char *kind = kx_json_str(list, "kind");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
	if (!kind || strcmp(kind, "APIGroupDiscoveryList") || !cJSON_IsArray(items))
		return kx__fail(eb, KX_ERR_PROTOCOL, "discovery: not an APIGroupDiscoveryList");
	const cJSON *group;
	cJSON_ArrayForEach(group, items) {
		const char *gname = kx_json_str(cJSON_GetObjectItemCaseSensitive(group, "metadata"), "name");
		const cJSON *version;
		cJSON_ArrayForEach(version, cJSON_GetObjectItemCaseSensitive(group, "versions")) {
			const char *vname = kx_json_str(version, "version");
			const cJSON *res;
			cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(version, "resources")) {
				const char *scope = kx_json_str(res, "scope");
				kx_err err = add_resource(
					d, gname, vname, kx_json_str(res, "resource"),
					kx_json_str(res, "singularResource"),
					kx_json_str(cJSON_GetObjectItemCaseSensitive(res, "responseKind"), "kind"),
					cJSON_GetObjectItemCaseSensitive(res, "shortNames"),
					cJSON_GetObjectItemCaseSensitive(res, "categories"),
					scope && !strcmp(scope, "Namespaced"));
				if (err)
					return kx__fail(eb, err, "out of memory");
			}
		}
	}
	return KX_OK;
}

kx_err kx__discovery_add_resource_list(struct kx__discovery *d, const cJSON *list,
				       struct kx_errbuf *eb)
{
	const char *gv = kx_json_str(list, "groupVersion");
	const cJSON *resources = cJSON_GetObjectItemCaseSensitive(list, "resources");
	if (!gv || !cJSON_IsArray(resources))
		return kx__fail(eb, KX_ERR_PROTOCOL, "discovery: not an APIResourceList");
	/* "apps/v1" → group apps, version v1; "v1" → the core group. */
	char group[256] = "";
	const char *slash = strchr(gv, '/'), *version = gv;
	if (slash) {
		if ((size_t)(slash - gv) >= sizeof group)
			return kx__fail(eb, KX_ERR_PROTOCOL, "discovery: group name too long");
		memcpy(group, gv, (size_t)(slash - gv));
		group[slash - gv] = '\0';
		version = slash + 1;
	}
	const cJSON *res;
	cJSON_ArrayForEach(res, resources) {
		kx_err err = add_resource(d, group, version, kx_json_str(res, "name"),
					  kx_json_str(res, "singularName"), kx_json_str(res, "kind"),
					  cJSON_GetObjectItemCaseSensitive(res, "shortNames"),
					  cJSON_GetObjectItemCaseSensitive(res, "categories"),
					  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "namespaced")));
		if (err)
			return kx__fail(eb, err, "out of memory");
	}
	return KX_OK;
}

cJSON *kx__discovery_to_json(const struct kx__discovery *d)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "resources") : NULL;
	if (!arr || !cJSON_AddStringToObject(doc, "kind", "KxDiscoveryCache") ||
	    !cJSON_AddNumberToObject(doc, "version", 1))
		goto fail;
	for (size_t i = 0; i < d->n; i++) {
		const struct kx__api_resource *r = &d->items[i];
		cJSON *o = cJSON_CreateObject();
		if (!o)
			goto fail;
		cJSON_AddItemToArray(arr, o);
		cJSON *sn = cJSON_AddArrayToObject(o, "shortNames");
		cJSON *cat = cJSON_AddArrayToObject(o, "categories");
		if (!sn || !cat || !cJSON_AddStringToObject(o, "group", r->group) ||
		    !cJSON_AddStringToObject(o, "version", r->version) ||
		    !cJSON_AddStringToObject(o, "resource", r->resource) ||
		    !cJSON_AddStringToObject(o, "singular", r->singular) ||
		    !cJSON_AddStringToObject(o, "kind", r->kind) ||
		    !cJSON_AddBoolToObject(o, "namespaced", r->namespaced))
			goto fail;
		for (size_t j = 0; j < r->n_short; j++) {
			cJSON *s = cJSON_CreateString(r->short_names[j]);
			if (!s)
				goto fail;
			cJSON_AddItemToArray(sn, s);
		}
		for (size_t j = 0; j < r->n_categories; j++) {
			cJSON *s = cJSON_CreateString(r->categories[j]);
			if (!s)
				goto fail;
			cJSON_AddItemToArray(cat, s);
		}
	}
	return doc;
fail:
	cJSON_Delete(doc);
	return NULL;
}

kx_err kx__discovery_from_json(const cJSON *doc, struct kx__discovery *d, struct kx_errbuf *eb)
{
	const char *kind = kx_json_str(doc, "kind");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "version");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "resources");
	if (!kind || strcmp(kind, "KxDiscoveryCache") || !cJSON_IsNumber(ver) ||
	    ver->valueint != 1 || !cJSON_IsArray(arr))
		return kx__fail(eb, KX_ERR_PROTOCOL, "discovery cache: unknown format");
	const cJSON *o;
	cJSON_ArrayForEach(o, arr) {
		kx_err err = add_resource(d, kx_json_str(o, "group"), kx_json_str(o, "version"),
					  kx_json_str(o, "resource"), kx_json_str(o, "singular"),
					  kx_json_str(o, "kind"),
					  cJSON_GetObjectItemCaseSensitive(o, "shortNames"),
					  cJSON_GetObjectItemCaseSensitive(o, "categories"),
					  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "namespaced")));
		if (err) {
			kx__discovery_free(d);
			return kx__fail(eb, err, "out of memory");
		}
	}
	return KX_OK;
}

/* ------------------------------------------------------------------ the cache */

char *kx__discovery_cache_dir(const char *base, const char *host)
{
	if (!base || !*base)
		return NULL;
	struct kx_buf b = KX_BUF_INIT(8192);
	kx_err err = kx_buf_printf(&b, "%s%sdiscovery/", base, base[strlen(base) - 1] == '/' ? "" : "/");
	size_t start = b.len;
	if (!err)
		err = kx_buf_appends(&b, host && *host ? host : "default");
	if (err)
		return NULL;
	for (char *p = b.data + start; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '.'))
			*p = '_';
	}
	/* "." and ".." would name a different directory. */
	if (!strcmp(b.data + start, ".") || !strcmp(b.data + start, "..")) {
		kx_buf_free(&b);
		return NULL;
	}
	return kx_buf_steal(&b);
}

int kx__discovery_cache_read(const char *dir, long ttl, time_t now, struct kx__discovery *d)
{
	struct kx_buf path = KX_BUF_INIT(0);
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int rc = -1;
	if (kx_buf_printf(&path, "%s/" CACHE_FILE, dir))
		return -1;
	if (stat(path.data, &st) || !S_ISREG(st.st_mode) || now - st.st_mtime >= ttl ||
	    now - st.st_mtime < -ttl)
		goto done;
	if (kx__read_file(path.data, CACHE_MAX, &text, &len, NULL))
		goto done;
	cJSON *doc = cJSON_ParseWithLength(text, len);
	struct kx__discovery got = {0};
	if (doc && !kx__discovery_from_json(doc, &got, NULL) && got.n) {
		kx__discovery_free(d);
		*d = got;
		rc = 0;
	} else {
		kx__discovery_free(&got);
	}
	cJSON_Delete(doc);
done:
	free(text);
	kx_buf_free(&path);
	return rc;
}

/* mkdir -p with mode 0700 for what is created; existing directories are kept. */
static int make_dirs(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char saved = *p;
		*p = '\0';
		int rc = mkdir(path, 0700);
		int e = errno;
		*p = saved;
		if (rc && e != EEXIST)
			return -1;
		if (!saved)
			return 0;
	}
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int kx__discovery_cache_write(const char *dir, const struct kx__discovery *d)
{
	struct kx_buf tmp = KX_BUF_INIT(0), final = KX_BUF_INIT(0);
	char *dircopy = strdup(dir), *text = NULL;
	cJSON *doc = kx__discovery_to_json(d);
	int fd = -1, rc = -1;
	if (!dircopy || !doc || !(text = cJSON_PrintUnformatted(doc)) || make_dirs(dircopy) ||
	    kx_buf_printf(&tmp, "%s/." CACHE_FILE ".XXXXXX", dir) ||
	    kx_buf_printf(&final, "%s/" CACHE_FILE, dir))
		goto done;
	/* mkstemp makes the file 0600, unique per writer: concurrent runs each
	 * rename a complete file into place, and readers see one or the other. */
	if ((fd = mkostemp(tmp.data, O_CLOEXEC)) < 0)
		goto done;
	if (fchmod(fd, 0600) || write_all(fd, text, strlen(text)) || close(fd)) {
		if (fd >= 0)
			close(fd);
		unlink(tmp.data);
		fd = -1;
		goto done;
	}
	fd = -1;
	if (rename(tmp.data, final.data)) {
		unlink(tmp.data);
		goto done;
	}
	rc = 0;
done:
	free(dircopy);
	free(text);
	cJSON_Delete(doc);
	kx_buf_free(&tmp);
	kx_buf_free(&final);
	return rc;
}

/* ---------------------------------------------------------------- matching */

static int eq(const char *a, const char *b, size_t blen)
{
	return a && strlen(a) == blen && !strncasecmp(a, b, blen);
}

enum match_by { BY_ANY, BY_SHORT, BY_NAME, BY_KIND };

static int name_matches(const struct kx__api_resource *r, const char *res, size_t len,
			enum match_by by)
{
	if (by == BY_ANY || by == BY_SHORT)
		for (size_t i = 0; i < r->n_short; i++)
			if (eq(r->short_names[i], res, len))
				return 1;
	if ((by == BY_ANY || by == BY_NAME) &&
	    (eq(r->resource, res, len) || (*r->singular && eq(r->singular, res, len))))
		return 1;
	return (by == BY_ANY || by == BY_KIND) && eq(r->kind, res, len);
}

static const struct kx__api_resource *find_in(const struct kx__discovery *d, const char *res,
					      size_t res_len, const char *group,
					      const char *version, size_t version_len,
					      enum match_by by)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct kx__api_resource *r = &d->items[i];
		if (group && strcasecmp(r->group, group))
			continue;
		if (version && !eq(r->version, version, version_len))
			continue;
		if (name_matches(r, res, res_len, by))
			return r;
	}
	return NULL;
}

const struct kx__api_resource *kx__discovery_find(const struct kx__discovery *d, const char *arg)
{
	if (!d || !arg || !*arg)
		return NULL;
	const char *dot1 = strchr(arg, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	const struct kx__api_resource *r;
	/* resource.version.group */
	if (dot2 && (r = find_in(d, arg, (size_t)(dot1 - arg), dot2 + 1, dot1 + 1,
				 (size_t)(dot2 - dot1 - 1), BY_ANY)))
		return r;
	/* resource.group, or a bare name */
	size_t len = dot1 ? (size_t)(dot1 - arg) : strlen(arg);
	const char *group = dot1 ? dot1 + 1 : NULL;
	static const enum match_by order[] = {BY_SHORT, BY_NAME, BY_KIND};
	for (size_t i = 0; i < sizeof order / sizeof *order; i++)
		if ((r = find_in(d, arg, len, group, NULL, 0, order[i])))
			return r;
	return NULL;
}

int kx__discovery_in_category(const struct kx__api_resource *r, const char *category)
{
	for (size_t i = 0; i < r->n_categories; i++)
		if (!strcmp(r->categories[i], category))
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- fetching */

static kx_err get_doc(struct kx_client *c, const char *path, const char *accept, cJSON **out,
		      struct kx_errbuf *eb)
{
	struct kx_request req = {.method = "GET", .path = path, .accept = accept,
				 .max_body = DISCOVERY_MAX};
	struct kx_buf body;
	*out = NULL;
	kx_err err = kx_client_request(c, &req, &body, eb);
	if (err)
		return err;
	*out = cJSON_ParseWithLength(body.data ? body.data : "", body.len);
	kx_buf_free(&body);
	if (!*out)
		return kx__fail(eb, KX_ERR_PROTOCOL, "discovery: the answer to GET %s is not JSON", path);
	return KX_OK;
}

/* Legacy: one APIResourceList per group version. A group version that fails
 * (an aggregated API server that is down) is left out, as kubectl does after
 * a warning. */
static kx_err fetch_group_version(struct kx_client *c, struct kx__discovery *d, const char *prefix,
				  const char *gv, struct kx_errbuf *eb)
{
	struct kx_buf path = KX_BUF_INIT(0);
	cJSON *doc = NULL;
	if (kx_buf_printf(&path, "%s/%s", prefix, gv))
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	struct kx_errbuf ignored = {0};
	kx_err err = get_doc(c, path.data, NULL, &doc, &ignored);
	kx_buf_free(&path);
	if (err == KX_ERR_API || err == KX_ERR_PROTOCOL)
		return KX_OK;
	if (err)
		return kx__fail(eb, err, "%s", ignored.msg);
	err = kx__discovery_add_resource_list(d, doc, &ignored);
	cJSON_Delete(doc);
	return err == KX_ERR_NOMEM ? kx__fail(eb, err, "out of memory") : KX_OK;
}

static kx_err fetch_legacy(struct kx_client *c, struct kx__discovery *d, const cJSON *api_versions,
			   struct kx_errbuf *eb)
{
	const cJSON *v;
	kx_err err;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(api_versions, "versions")) {
		if (cJSON_IsString(v) && (err = fetch_group_version(c, d, "/api", v->valuestring, eb)))
			return err;
	}
	cJSON *groups = NULL;
	if ((err = get_doc(c, "/apis", NULL, &groups, eb)))
		return err;
	const cJSON *g;
	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(groups, "groups")) {
		const char *preferred =
			kx_json_str(cJSON_GetObjectItemCaseSensitive(g, "preferredVersion"), "groupVersion");
		if (preferred && (err = fetch_group_version(c, d, "/apis", preferred, eb)))
			break;
		const cJSON *gv;
		cJSON_ArrayForEach(gv, cJSON_GetObjectItemCaseSensitive(g, "versions")) {
			const char *name = kx_json_str(gv, "groupVersion");
			if (!name || (preferred && !strcmp(name, preferred)))
				continue;
			if ((err = fetch_group_version(c, d, "/apis", name, eb)))
				break;
		}
		if (err)
			break;
	}
	cJSON_Delete(groups);
	return err;
}

static kx_err fetch(struct kx_client *c, struct kx__discovery *d, struct kx_errbuf *eb)
{
	cJSON *api = NULL, *apis = NULL;
	kx_err err = get_doc(c, "/api", accept_aggregated, &api, eb);
	if (err)
		return err;
	const char *kind = kx_json_str(api, "kind");
	if (kind && !strcmp(kind, "APIGroupDiscoveryList")) {
		if (!(err = kx__discovery_add_aggregated(d, api, eb)) &&
		    !(err = get_doc(c, "/apis", accept_aggregated, &apis, eb)))
			err = kx__discovery_add_aggregated(d, apis, eb);
	} else {
		err = fetch_legacy(c, d, api, eb);
	}
	cJSON_Delete(api);
	cJSON_Delete(apis);
	if (err)
		kx__discovery_free(d);
	return err;
}

kx_err kx__discovery_load(struct kx_client *c, int refresh, struct kx__discovery *d,
			  int *from_cache, struct kx_errbuf *eb)
{
	/* Keyed like kubectl's: host_port, plus the URL's path when the server sits
	 * behind a path prefix (two clusters behind one proxy host stay apart). */
	struct kx__conn_info ci;
	kx_err err = kx__client_conn_info(c, &ci, eb);
	const char *base = ci.rc ? ci.rc->cache_dir : NULL;
	kx__memzero(&ci.creds, sizeof ci.creds);
	if (err)
		return err;
	char key[600];
	snprintf(key, sizeof key, "%s%s", kx_client_host(c), ci.path_prefix);
	char *dir = kx__discovery_cache_dir(base, key);
	if (from_cache)
		*from_cache = 0;
	if (dir && !refresh && !kx__discovery_cache_read(dir, KX_DISCOVERY_TTL_SECONDS, time(NULL), d)) {
		if (from_cache)
			*from_cache = 1;
		goto done;
	}
	kx__discovery_free(d);
	if ((err = fetch(c, d, eb)))
		goto done;
	if (dir)
		(void)kx__discovery_cache_write(dir, d);
done:
	free(dir);
	return err;
}
