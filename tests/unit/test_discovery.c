/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for discovery: parsing the documents a 1.34 API server sent
 * (tests/unit/data/discovery/, aggregated and legacy), kubectl's name matching,
 * the built-in table, and the disk cache — location, expiry, modes, atomic
 * replacement under concurrent writers, and an unwritable directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <kx/client.h>
#include <kx/config.h>
#include "discovery.h"
#include "internal.h"
#include "fsutil.h"

static char dir[256];

static int make_dir(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/kx-test-discovery-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int remove_dir(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static cJSON *load_doc(const char *name)
{
	char path[512], *text;
	size_t len;
	snprintf(path, sizeof path, "%s/discovery/%s", KX_TEST_DATA, name);
	assert_int_equal(kx__read_file(path, 1 << 24, &text, &len, NULL), KX_OK);
	cJSON *doc = cJSON_ParseWithLength(text, len);
	free(text);
	assert_non_null(doc);
	return doc;
}

/* The recorded aggregated discovery of the test cluster: /api, then /apis. */
static void load_aggregated(struct kx__discovery *d)
{
	const char *files[] = {"aggregated-api.json", "aggregated-apis.json"};
	for (int i = 0; i < 2; i++) {
		cJSON *doc = load_doc(files[i]);
		struct kx_errbuf eb = {0};
		assert_int_equal(kx__discovery_add_aggregated(d, doc, &eb), KX_OK);
		cJSON_Delete(doc);
	}
}

static void expect(const struct kx__discovery *d, const char *arg, const char *group,
		   const char *version, const char *resource, const char *kind, int namespaced)
{
	const struct kx__api_resource *r = kx__discovery_find(d, arg);
	if (!r)
		fail_msg("\"%s\" did not match", arg);
	assert_string_equal(r->group, group);
	assert_string_equal(r->version, version);
	assert_string_equal(r->resource, resource);
	assert_string_equal(r->kind, kind);
	assert_int_equal(r->namespaced, namespaced);
}

static void aggregated_documents_parse(void **state)
{
	struct kx__discovery d = {0};
	load_aggregated(&d);
	/* 17 core + 49 grouped resources, minus none: subresources are not listed
	 * as resources in aggregated discovery. */
	assert_int_equal(d.n, 66);
	/* The core group comes first. */
	assert_string_equal(d.items[0].group, "");
	expect(&d, "pods", "", "v1", "pods", "Pod", 1);
	expect(&d, "namespaces", "", "v1", "namespaces", "Namespace", 0);
	expect(&d, "leases", "coordination.k8s.io", "v1", "leases", "Lease", 1);
	expect(&d, "priorityclasses", "scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", 0);
	kx__discovery_free(&d);
	assert_null(d.items);
	assert_int_equal(d.n, 0);
}

static void names_match_like_kubectl(void **state)
{
	struct kx__discovery d = {0};
	load_aggregated(&d);
	/* plural, singular, kind, short name, any case */
	expect(&d, "pod", "", "v1", "pods", "Pod", 1);
	expect(&d, "Pod", "", "v1", "pods", "Pod", 1);
	expect(&d, "PODS", "", "v1", "pods", "Pod", 1);
	expect(&d, "po", "", "v1", "pods", "Pod", 1);
	expect(&d, "pc", "scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", 0);
	expect(&d, "PriorityClass", "scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", 0);
	expect(&d, "deploy", "apps", "v1", "deployments", "Deployment", 1);
	expect(&d, "crds", "apiextensions.k8s.io", "v1", "customresourcedefinitions",
	       "CustomResourceDefinition", 0);
	/* "events" exists in core and in events.k8s.io: the core group wins … */
	expect(&d, "events", "", "v1", "events", "Event", 1);
	expect(&d, "ev", "", "v1", "events", "Event", 1);
	/* … unless the group is named. */
	expect(&d, "events.events.k8s.io", "events.k8s.io", "v1", "events", "Event", 1);
	expect(&d, "ev.events.k8s.io", "events.k8s.io", "v1", "events", "Event", 1);
	/* resource.group and resource.version.group */
	expect(&d, "leases.coordination.k8s.io", "coordination.k8s.io", "v1", "leases", "Lease", 1);
	expect(&d, "lease.v1.coordination.k8s.io", "coordination.k8s.io", "v1", "leases", "Lease", 1);
	expect(&d, "deployments.apps", "apps", "v1", "deployments", "Deployment", 1);
	/* The preferred version first; another version when named. */
	expect(&d, "hpa", "autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", 1);
	expect(&d, "hpa.v1.autoscaling", "autoscaling", "v1", "horizontalpodautoscalers",
	       "HorizontalPodAutoscaler", 1);
	/* No match */
	assert_null(kx__discovery_find(&d, "foo"));
	assert_null(kx__discovery_find(&d, "pods.apps"));
	assert_null(kx__discovery_find(&d, "pods/log"));
	assert_null(kx__discovery_find(&d, "lease.v2.coordination.k8s.io"));
	assert_null(kx__discovery_find(&d, ""));
	assert_null(kx__discovery_find(&d, NULL));
	kx__discovery_free(&d);
}

/* kubectl's `get all`: the resources in category "all", in discovery order. */
static void categories_are_kept(void **state)
{
	struct kx__discovery d = {0};
	load_aggregated(&d);
	char got[1024] = "";
	for (size_t i = 0; i < d.n; i++)
		if (kx__discovery_in_category(&d.items[i], "all")) {
			strcat(got, d.items[i].resource);
			strcat(got, ".");
			strcat(got, d.items[i].version);
			strcat(got, " ");
		}
	assert_string_equal(got, "pods.v1 replicationcontrollers.v1 services.v1 daemonsets.v1 "
				 "deployments.v1 replicasets.v1 statefulsets.v1 "
				 "horizontalpodautoscalers.v2 horizontalpodautoscalers.v1 "
				 "cronjobs.v1 jobs.v1 ");
	const struct kx__api_resource *crd = kx__discovery_find(&d, "crd");
	assert_non_null(crd);
	assert_true(kx__discovery_in_category(crd, "api-extensions"));
	assert_false(kx__discovery_in_category(crd, "all"));
	assert_false(kx__discovery_in_category(crd, "api"));
	kx__discovery_free(&d);
}

static void legacy_documents_parse(void **state)
{
	struct kx__discovery d = {0};
	struct kx_errbuf eb = {0};
	cJSON *core = load_doc("legacy-api-v1.json"), *apps = load_doc("legacy-apps-v1.json");
	assert_int_equal(kx__discovery_add_resource_list(&d, core, &eb), KX_OK);
	assert_int_equal(kx__discovery_add_resource_list(&d, apps, &eb), KX_OK);
	cJSON_Delete(core);
	cJSON_Delete(apps);
	/* Subresources (pods/log, deployments/scale …) are left out. */
	for (size_t i = 0; i < d.n; i++)
		assert_null(strchr(d.items[i].resource, '/'));
	expect(&d, "po", "", "v1", "pods", "Pod", 1);
	expect(&d, "deploy", "apps", "v1", "deployments", "Deployment", 1);
	expect(&d, "statefulset.v1.apps", "apps", "v1", "statefulsets", "StatefulSet", 1);
	expect(&d, "ns", "", "v1", "namespaces", "Namespace", 0);
	kx__discovery_free(&d);

	/* Wrong documents are refused, not half-read. */
	cJSON *groups = load_doc("legacy-apis.json");
	memset(&eb, 0, sizeof eb);
	assert_int_equal(kx__discovery_add_resource_list(&d, groups, &eb), KX_ERR_PROTOCOL);
	assert_int_equal(kx__discovery_add_aggregated(&d, groups, &eb), KX_ERR_PROTOCOL);
	cJSON_Delete(groups);
	assert_int_equal(d.n, 0);
}

static void cache_document_round_trip(void **state)
{
	struct kx__discovery d = {0}, back = {0};
	load_aggregated(&d);
	cJSON *doc = kx__discovery_to_json(&d);
	assert_non_null(doc);
	char *text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	doc = cJSON_Parse(text);
	free(text);
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__discovery_from_json(doc, &back, &eb), KX_OK);
	cJSON_Delete(doc);
	assert_int_equal(back.n, d.n);
	for (size_t i = 0; i < d.n; i++) {
		assert_string_equal(back.items[i].group, d.items[i].group);
		assert_string_equal(back.items[i].version, d.items[i].version);
		assert_string_equal(back.items[i].resource, d.items[i].resource);
		assert_string_equal(back.items[i].singular, d.items[i].singular);
		assert_string_equal(back.items[i].kind, d.items[i].kind);
		assert_int_equal(back.items[i].namespaced, d.items[i].namespaced);
		assert_int_equal(back.items[i].n_short, d.items[i].n_short);
		for (size_t j = 0; j < d.items[i].n_short; j++)
			assert_string_equal(back.items[i].short_names[j], d.items[i].short_names[j]);
		assert_int_equal(back.items[i].n_categories, d.items[i].n_categories);
		for (size_t j = 0; j < d.items[i].n_categories; j++)
			assert_string_equal(back.items[i].categories[j], d.items[i].categories[j]);
	}
	kx__discovery_free(&d);
	kx__discovery_free(&back);

	/* Anything else is not a cache. */
	cJSON *other = cJSON_Parse("{\"kind\":\"KxDiscoveryCache\",\"version\":2,\"resources\":[]}");
	assert_int_equal(kx__discovery_from_json(other, &back, &eb), KX_ERR_PROTOCOL);
	cJSON_Delete(other);
}

static void cache_directory_names(void **state)
{
	(void)state;
	char *p = kx__discovery_cache_dir("/x/cache", "127.0.0.1:16443");
	assert_string_equal(p, "/x/cache/discovery/127.0.0.1_16443");
	free(p);
	p = kx__discovery_cache_dir("/x/cache/", "[::1]:6443");
	assert_string_equal(p, "/x/cache/discovery/___1__6443");
	free(p);
	/* a server behind a path prefix keeps its path in the name, as kubectl's */
	p = kx__discovery_cache_dir("rel", "h:443/prefix/a");
	assert_string_equal(p, "rel/discovery/h_443_prefix_a");
	free(p);
	/* Nothing can climb out of the discovery directory. */
	p = kx__discovery_cache_dir("/x/cache", "../../etc:1");
	assert_string_equal(p, "/x/cache/discovery/.._.._etc_1");
	free(p);
	/* no base: no disk cache */
	assert_null(kx__discovery_cache_dir(NULL, "h:443"));
	assert_null(kx__discovery_cache_dir("", "h:443"));
}

static int mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (int)(st.st_mode & 07777);
}

static size_t files_in(const char *path)
{
	DIR *dp = opendir(path);
	assert_non_null(dp);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(dp));)
		n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
	closedir(dp);
	return n;
}

static void cache_write_read_expire(void **state)
{
	struct kx__discovery d = {0}, got = {0};
	load_aggregated(&d);
	char cdir[512], file[600];
	snprintf(cdir, sizeof cdir, "%s/new/kx/discovery/h_1", dir);
	snprintf(file, sizeof file, "%s/api-resources.json", cdir);
	/* Nothing cached yet: a miss. */
	assert_int_equal(kx__discovery_cache_read(cdir, KX_DISCOVERY_TTL_SECONDS, time(NULL), &got), -1);
	assert_int_equal(kx__discovery_cache_write(cdir, &d), 0);
	/* Directories it made are private, so is the file; no temporary file is left. */
	assert_int_equal(mode_of(cdir), 0700);
	char parent[512];
	snprintf(parent, sizeof parent, "%s/new/kx", dir);
	assert_int_equal(mode_of(parent), 0700);
	assert_int_equal(mode_of(file), 0600);
	assert_int_equal(files_in(cdir), 1);

	time_t now = time(NULL);
	assert_int_equal(kx__discovery_cache_read(cdir, KX_DISCOVERY_TTL_SECONDS, now, &got), 0);
	assert_int_equal(got.n, d.n);
	expect(&got, "leases", "coordination.k8s.io", "v1", "leases", "Lease", 1);
	kx__discovery_free(&got);
	/* Just inside 6 hours: fresh; at 6 hours: stale. */
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(kx__discovery_cache_read(cdir, KX_DISCOVERY_TTL_SECONDS,
						  st.st_mtime + KX_DISCOVERY_TTL_SECONDS - 1, &got), 0);
	kx__discovery_free(&got);
	assert_int_equal(kx__discovery_cache_read(cdir, KX_DISCOVERY_TTL_SECONDS,
						  st.st_mtime + KX_DISCOVERY_TTL_SECONDS, &got), -1);
	assert_int_equal(got.n, 0);

	/* Rewriting replaces the file in place (same name, one file). */
	assert_int_equal(kx__discovery_cache_write(cdir, &d), 0);
	assert_int_equal(files_in(cdir), 1);

	/* A damaged or truncated file is a miss, never a partial list. */
	FILE *f = fopen(file, "r+");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), 100), 0);
	fclose(f);
	assert_int_equal(kx__discovery_cache_read(cdir, KX_DISCOVERY_TTL_SECONDS, time(NULL), &got), -1);
	assert_int_equal(got.n, 0);
	f = fopen(file, "w");
	fputs("{\"kind\":\"KxDiscoveryCache\",\"version\":1,\"resources\":[]}", f);
	fclose(f);
	assert_int_equal(kx__discovery_cache_read(cdir, KX_DISCOVERY_TTL_SECONDS, time(NULL), &got), -1);
	kx__discovery_free(&d);
}

static void unwritable_cache_fails_quietly(void **state)
{
	struct kx__discovery d = {0};
	load_aggregated(&d);
	/* A path through a regular file cannot be created, even by root. */
	char blocker[512], cdir[600];
	snprintf(blocker, sizeof blocker, "%s/blocker", dir);
	FILE *f = fopen(blocker, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(cdir, sizeof cdir, "%s/kx/discovery/h_1", blocker);
	assert_int_equal(kx__discovery_cache_write(cdir, &d), -1);
	struct kx__discovery got = {0};
	assert_int_equal(kx__discovery_cache_read(cdir, KX_DISCOVERY_TTL_SECONDS, time(NULL), &got), -1);
	kx__discovery_free(&d);
}

/* Writers in several processes rewrite the cache while a reader keeps
 * reading: every read is a complete list (or, before the first write, a miss). */
static void concurrent_writers_never_show_a_partial_file(void **state)
{
	struct kx__discovery d = {0};
	load_aggregated(&d);
	char cdir[512];
	snprintf(cdir, sizeof cdir, "%s/race", dir);
	pid_t pids[4];
	for (int w = 0; w < 4; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (!pids[w]) {
			for (int i = 0; i < 40; i++)
				if (kx__discovery_cache_write(cdir, &d))
					_exit(1);
			_exit(0);
		}
	}
	int hits = 0;
	for (int i = 0; i < 300; i++) {
		struct kx__discovery got = {0};
		if (!kx__discovery_cache_read(cdir, KX_DISCOVERY_TTL_SECONDS, time(NULL), &got)) {
			assert_int_equal(got.n, d.n);
			hits++;
		}
		kx__discovery_free(&got);
	}
	for (int w = 0; w < 4; w++) {
		int status;
		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(files_in(cdir), 1); /* no temporary file left behind */
	struct kx__discovery got = {0};
	assert_int_equal(kx__discovery_cache_read(cdir, KX_DISCOVERY_TTL_SECONDS, time(NULL), &got), 0);
	assert_int_equal(got.n, d.n);
	kx__discovery_free(&got);
	kx__discovery_free(&d);
	(void)hits;
}

static void builtin_types_need_no_server(void **state)
{
	struct kx_resource_type t;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_resource_resolve(NULL, "deploy", &t, &eb), KX_OK);
	assert_string_equal(t.group, "apps");
	assert_string_equal(t.resource, "deployments");
	assert_string_equal(t.kind, "Deployment");
	assert_int_equal(kx_resource_resolve(NULL, "deployment.v1.apps", &t, &eb), KX_OK);
	assert_string_equal(t.resource, "deployments");
	assert_int_equal(kx_resource_resolve(NULL, "Services", &t, &eb), KX_OK);
	assert_string_equal(t.resource, "services");
	assert_string_equal(t.group, "");
	assert_int_equal(kx_resource_resolve(NULL, "endpointslices.discovery.k8s.io", &t, &eb), KX_OK);
	assert_string_equal(t.group, "discovery.k8s.io");
	/* A group that does not match is not the built-in type; with no server,
	 * kubectl's message names the part before the dot. */
	assert_int_equal(kx_resource_resolve(NULL, "pods.apps", &t, &eb), KX_ERR_NOT_FOUND);
	assert_string_equal(eb.msg, "the server doesn't have a resource type \"pods\"");
	memset(&eb, 0, sizeof eb);
	assert_int_equal(kx_resource_resolve(NULL, "deployments.v2.apps", &t, &eb), KX_ERR_NOT_FOUND);
}

static void paths_are_built_and_escaped(void **state)
{
	struct kx_resource_type t;
	struct kx_buf p;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_resource_resolve(NULL, "po", &t, &eb), KX_OK);
	assert_int_equal(kx_resource_type_path(&t, "default", "web-0", "exec", &p, &eb), KX_OK);
	assert_string_equal(p.data, "/api/v1/namespaces/default/pods/web-0/exec");
	kx_buf_free(&p);
	assert_int_equal(kx_resource_type_path(&t, NULL, NULL, NULL, &p, &eb), KX_OK);
	assert_string_equal(p.data, "/api/v1/pods");
	kx_buf_free(&p);
	/* A name is one path segment, whatever it holds. */
	assert_int_equal(kx_resource_type_path(&t, "default", "a b/../c?d#e%", NULL, &p, &eb), KX_OK);
	assert_string_equal(p.data, "/api/v1/namespaces/default/pods/a%20b%2F..%2Fc%3Fd%23e%25");
	kx_buf_free(&p);
	assert_int_equal(kx_resource_resolve(NULL, "nodes", &t, &eb), KX_OK);
	assert_int_equal(kx_resource_type_path(&t, "default", "n1", NULL, &p, &eb), KX_OK);
	assert_string_equal(p.data, "/api/v1/nodes/n1"); /* cluster-scoped: no namespace */
	kx_buf_free(&p);
	assert_int_equal(kx_resource_path(NULL, "deploy", "ns1", "web", "scale", &p, &eb), KX_OK);
	assert_string_equal(p.data, "/apis/apps/v1/namespaces/ns1/deployments/web/scale");
	kx_buf_free(&p);
}

/* Resolution through a client whose cache is prepared: no server is needed
 * until a name is missing from the cache. */
static void resolve_and_expand_through_the_cache(void **state)
{
	struct kx__discovery d = {0};
	load_aggregated(&d);
	char base[512], cdir[600];
	snprintf(base, sizeof base, "%s/kcache", dir);
	snprintf(cdir, sizeof cdir, "%s/discovery/127.0.0.1_1", base);
	assert_int_equal(kx__discovery_cache_write(cdir, &d), 0);
	kx__discovery_free(&d);

	struct kx_rest_config rc = {.server = "https://127.0.0.1:1", .namespace_ = "default",
				    .cache_dir = base};
	struct kx_client *c;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_client_new(&rc, &c, &eb), KX_OK);
	struct kx_resource_type t, *types;
	size_t n;
	assert_int_equal(kx_resource_resolve(c, "leases", &t, &eb), KX_OK);
	assert_string_equal(t.group, "coordination.k8s.io");
	assert_string_equal(t.kind, "Lease");
	assert_int_equal(t.namespaced, 1);
	/* "all": kubectl's get-all types, each once, the preferred version */
	assert_int_equal(kx_resource_expand(c, "all", &types, &n, &eb), KX_OK);
	char got[1024] = "";
	for (size_t i = 0; i < n; i++) {
		strcat(got, types[i].resource);
		strcat(got, ".");
		strcat(got, types[i].version);
		strcat(got, " ");
	}
	free(types);
	assert_string_equal(got, "pods.v1 replicationcontrollers.v1 services.v1 daemonsets.v1 "
				 "deployments.v1 replicasets.v1 statefulsets.v1 "
				 "horizontalpodautoscalers.v2 cronjobs.v1 jobs.v1 ");
	/* a resource name expands to itself; a built-in needs no discovery */
	assert_int_equal(kx_resource_expand(c, "pc", &types, &n, &eb), KX_OK);
	assert_int_equal(n, 1);
	assert_string_equal(types[0].resource, "priorityclasses");
	free(types);
	/* resolve never takes a category */
	memset(&eb, 0, sizeof eb);
	assert_int_not_equal(kx_resource_resolve(c, "all", &t, &eb), KX_OK);
	/* a name the cache lacks is asked of the server (here: nothing listens) */
	memset(&eb, 0, sizeof eb);
	assert_int_equal(kx_resource_resolve(c, "widgets", &t, &eb), KX_ERR_REFUSED);
	kx_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(aggregated_documents_parse),
		cmocka_unit_test(names_match_like_kubectl),
		cmocka_unit_test(categories_are_kept),
		cmocka_unit_test(legacy_documents_parse),
		cmocka_unit_test(cache_document_round_trip),
		cmocka_unit_test(cache_directory_names),
		cmocka_unit_test(cache_write_read_expire),
		cmocka_unit_test(unwritable_cache_fails_quietly),
		cmocka_unit_test(concurrent_writers_never_show_a_partial_file),
		cmocka_unit_test(builtin_types_need_no_server),
		cmocka_unit_test(paths_are_built_and_escaped),
		cmocka_unit_test(resolve_and_expand_through_the_cache),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
