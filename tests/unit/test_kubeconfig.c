/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for kubeconfig loading: kubectl's file rules and first-wins merge,
 * relative paths, the global flags, namespaces, the in-cluster service account, and
 * the errors (worded like kubectl's where kubectl has words for them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kx/config.h>
#include "internal.h"
#include "kubeconfig_internal.h"

#define DATA KX_TEST_DATA "/kubeconfig/"

static char tmpdir[64];

/* A clean environment: no KUBECONFIG, a HOME without a config, not in a pod. */
static int env_reset(void **state)
{
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("KX_SERVICEACCOUNT_DIR");
	unsetenv("POD_NAMESPACE");
	unsetenv("KUBECACHEDIR");
	setenv("HOME", "/nonexistent-kx-test-home", 1);
	return 0;
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static const char *tmp_path(const char *name)
{
	static char buf[4][256];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", tmpdir, name);
	return buf[i];
}

static struct kx_config *load_ok(const struct kx_config_overrides *ov)
{
	struct kx_config *cfg = NULL;
	struct kx_errbuf eb = {0};
	kx_err err = kx_config_load(ov, &cfg, &eb);
	if (err)
		fail_msg("kx_config_load: %s (%s)", eb.msg, kx_strerror(err));
	assert_non_null(kx_config_rest(cfg));
	return cfg;
}

static void load_fails(const struct kx_config_overrides *ov, kx_err want, const char *msg)
{
	struct kx_config *cfg = (struct kx_config *)1;
	struct kx_errbuf eb = {0};
	kx_err err = kx_config_load(ov, &cfg, &eb);
	if (err != want || strcmp(eb.msg, msg))
		fail_msg("got %s: %s\nwant %s: %s", kx_strerror(err), eb.msg, kx_strerror(want), msg);
	assert_null(cfg);
}

static const cJSON *named(const struct kx_config *cfg, const char *list, const char *name,
			  const char *inner)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(kx_config_merged(cfg), list)) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return cJSON_GetObjectItemCaseSensitive(it, inner);
	}
	return NULL;
}

static const char *field(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void assert_pem(const char *pem, size_t len, const char *want)
{
	assert_non_null(pem);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(pem, want, len);
}

/* ---------------------------------------------------------------- files, merge */

static void merge_first_file_wins(void **state)
{
	setenv("KUBECONFIG", DATA "a/config:" DATA "b/config", 1);
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	struct kx_config *cfg = load_ok(&ov);
	/* map keys: a's "shared" cluster and user win over b's, wholesale */
	assert_string_equal(field(named(cfg, "clusters", "shared", "cluster"), "server"),
			    "https://from-a:6443");
	const cJSON *u = named(cfg, "users", "shared", "user");
	assert_string_equal(field(u, "client-certificate"), "certs/client.crt");
	assert_null(field(u, "token"));
	/* entries only b has are still there */
	assert_non_null(named(cfg, "clusters", "cluster-b", "cluster"));
	assert_non_null(named(cfg, "contexts", "ctx-b", "context"));
	/* the first file that sets current-context wins; preferences merge */
	assert_string_equal(kx_config_current_context(cfg), "ctx-a");
	const cJSON *m = kx_config_merged(cfg);
	assert_string_equal(field(m, "current-context"), "ctx-a");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(m, "preferences"), "colors")));
	kx_config_free(cfg);

	setenv("KUBECONFIG", DATA "b/config:" DATA "a/config", 1);
	cfg = load_ok(&ov);
	assert_string_equal(field(named(cfg, "clusters", "shared", "cluster"), "server"),
			    "https://from-b:6443");
	assert_string_equal(field(named(cfg, "users", "shared", "user"), "token"), "token-of-b");
	assert_string_equal(kx_config_current_context(cfg), "ctx-b");
	kx_config_free(cfg);

	/* c sets no current-context: the next file that does decides */
	setenv("KUBECONFIG", DATA "c/config:" DATA "b/config:" DATA "a/config", 1);
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_current_context(cfg), "ctx-b");
	kx_config_free(cfg);
}

static void merged_document_is_kubectls_view(void **state)
{
	/* kubectl config view --raw with KUBECONFIG=c:a:b prints exactly this */
	setenv("KUBECONFIG", DATA "c/config:" DATA "a/config:" DATA "b/config", 1);
	struct kx_config *cfg = NULL;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_config_load_raw(NULL, &cfg, &eb), KX_OK);
	struct kx_buf out = KX_BUF_INIT(0);
	assert_int_equal(kx_yaml_emit(kx_config_merged(cfg), &out), KX_OK);
	assert_string_equal(out.data,
			    "apiVersion: v1\n"
			    "clusters:\n"
			    "- cluster:\n"
			    "    certificate-authority-data: Zml4dHVyZSBDQSBkYXRhIG9mIGEK\n"
			    "    proxy-url: http://proxy.example:3128\n"
			    "    server: https://a:6443\n"
			    "    tls-server-name: a.example\n"
			    "  name: cluster-a\n"
			    "- cluster:\n"
			    "    certificate-authority: ca.crt\n"
			    "    server: https://b:6443\n"
			    "  name: cluster-b\n"
			    "- cluster:\n"
			    "    server: http://c:8080\n"
			    "  name: cluster-c\n"
			    "- cluster:\n"
			    "    certificate-authority: ca.crt\n"
			    "    server: https://from-a:6443\n"
			    "  name: shared\n"
			    "contexts:\n"
			    "- context:\n"
			    "    cluster: cluster-a\n"
			    "    namespace: ns-a\n"
			    "    user: user-a\n"
			    "  name: ctx-a\n"
			    "- context:\n"
			    "    cluster: cluster-b\n"
			    "    user: user-b\n"
			    "  name: ctx-b\n"
			    "- context:\n"
			    "    cluster: cluster-c\n"
			    "    user: basic\n"
			    "  name: ctx-c\n"
			    "- context:\n"
			    "    cluster: shared\n"
			    "    user: shared\n"
			    "  name: shared\n"
			    "current-context: ctx-a\n"
			    "kind: Config\n"
			    "preferences:\n"
			    "  colors: true\n"
			    "users:\n"
			    "- name: basic\n"
			    "  user:\n"
			    "    password: hunter2\n"
			    "    username: admin\n"
			    "- name: path-plugin\n"
			    "  user:\n"
			    "    exec:\n"
			    "      apiVersion: client.authentication.k8s.io/v1\n"
			    "      args: null\n"
			    "      command: kubectl-oidc\n"
			    "      env: null\n"
			    "      interactiveMode: Never\n"
			    "      provideClusterInfo: false\n"
			    "- name: shared\n"
			    "  user:\n"
			    "    client-certificate: certs/client.crt\n"
			    "    client-key: certs/client.key\n"
			    "- name: user-a\n"
			    "  user:\n"
			    "    tokenFile: token\n"
			    "- name: user-b\n"
			    "  user:\n"
			    "    exec:\n"
			    "      apiVersion: client.authentication.k8s.io/v1beta1\n"
			    "      args:\n"
			    "      - get-token\n"
			    "      - --cluster\n"
			    "      - b\n"
			    "      command: ./bin/credential-plugin\n"
			    "      env:\n"
			    "      - name: PLUGIN_MODE\n"
			    "        value: test\n"
			    "      installHint: \"install the plugin \\e[1mnow\\e[0m\"\n"
			    "      interactiveMode: IfAvailable\n"
			    "      provideClusterInfo: true\n");
	kx_buf_free(&out);
	kx_config_free(cfg);
}

static void extensions_merge_first_wins(void **state)
{
	/* kubectl config view --raw with KUBECONFIG=ext1:ext2 prints this */
	static const char ext1[] = "extensions:\n- name: zeta\n  extension: {from: one, b: 1, a: 2}\n"
				   "- name: alpha\n  extension: 1\n"
				   "preferences:\n  extensions:\n  - name: p\n    extension: {x: one}\n";
	static const char ext2[] = "extensions:\n- name: alpha\n  extension: 2\n- name: mid\n  extension: [3]\n"
				   "preferences:\n  colors: true\n  extensions:\n  - name: p\n    extension: {x: two}\n"
				   "  - name: a\n    extension: null\n";
	static const char want[] =
		"apiVersion: v1\n"
		"clusters: null\n"
		"contexts: null\n"
		"current-context: \"\"\n"
		"extensions:\n"
		"- extension: 1\n"
		"  name: alpha\n"
		"- extension:\n"
		"  - 3\n"
		"  name: mid\n"
		"- extension:\n"
		"    a: 2\n"
		"    b: 1\n"
		"    from: one\n"
		"  name: zeta\n"
		"kind: Config\n"
		"preferences:\n"
		"  colors: true\n"
		"  extensions:\n"
		"  - extension: null\n"
		"    name: a\n"
		"  - extension:\n"
		"      x: one\n"
		"    name: p\n"
		"users: null\n";
	char list[600];
	write_file(tmp_path("ext1"), ext1, sizeof ext1 - 1);
	write_file(tmp_path("ext2"), ext2, sizeof ext2 - 1);
	snprintf(list, sizeof list, "%s:%s", tmp_path("ext1"), tmp_path("ext2"));
	setenv("KUBECONFIG", list, 1);
	struct kx_config *cfg = NULL;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_config_load_raw(NULL, &cfg, &eb), KX_OK);
	struct kx_buf out = KX_BUF_INIT(0);
	assert_int_equal(kx_yaml_emit(kx_config_merged(cfg), &out), KX_OK);
	assert_string_equal(out.data, want);
	kx_buf_free(&out);
	kx_config_free(cfg);
	/* one name twice in one file is an error */
	static const char dup[] = "extensions:\n- name: x\n  extension: 1\n- name: x\n  extension: 2\n";
	write_file(tmp_path("ext1"), dup, sizeof dup - 1);
	char want_err[600];
	snprintf(want_err, sizeof want_err,
		 "error loading config file \"%s\": extensions: duplicate name \"x\"", tmp_path("ext1"));
	load_fails(NULL, KX_ERR_CONFIG, want_err);
	unlink(tmp_path("ext1"));
	unlink(tmp_path("ext2"));
}

static void relative_paths_resolve_against_each_file(void **state)
{
	setenv("KUBECONFIG", DATA "a/config:" DATA "b/config", 1);
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	/* a's "shared": CA, client certificate and key relative to a/ */
	ov.context = "shared";
	struct kx_config *cfg = load_ok(&ov);
	const struct kx_rest_config *r = kx_config_rest(cfg);
	assert_pem(r->ca_pem, r->ca_len, "-----BEGIN CERTIFICATE-----\nfixture CA of a\n-----END CERTIFICATE-----\n");
	assert_pem(r->cert_pem, r->cert_len,
		   "-----BEGIN CERTIFICATE-----\nfixture client certificate of a\n-----END CERTIFICATE-----\n");
	assert_pem(r->key_pem, r->key_len, "fixture client key of a (not a real key)\n");
	kx_config_free(cfg);
	/* b's cluster-b: its CA relative to b/, its exec command too */
	ov.context = "ctx-b";
	cfg = load_ok(&ov);
	r = kx_config_rest(cfg);
	assert_pem(r->ca_pem, r->ca_len, "-----BEGIN CERTIFICATE-----\nfixture CA of b\n-----END CERTIFICATE-----\n");
	assert_non_null(r->exec);
	assert_string_equal(r->exec->command, DATA "b/bin/credential-plugin");
	kx_config_free(cfg);
	/* a's tokenFile: an absolute path, not read at load */
	ov.context = "ctx-a";
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->token_file, DATA "a/token");
	assert_null(kx_config_rest(cfg)->token);
	/* the merged document keeps paths as written */
	assert_string_equal(field(named(cfg, "users", "user-a", "user"), "tokenFile"), "token");
	kx_config_free(cfg);
	/* a command without a '/' is looked up in PATH, so it stays as it is */
	ov.context = NULL;
	ov.user = "path-plugin";
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->exec->command, "kubectl-oidc");
	kx_config_free(cfg);
}

static void relative_kubeconfig_path_is_made_absolute(void **state)
{
	char *cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(DATA), 0);
	setenv("KUBECONFIG", "./a/../a/config", 1);
	struct kx_config *cfg = load_ok(NULL);
	assert_string_equal(kx_config_rest(cfg)->token_file, DATA "a/token");
	kx_config_free(cfg);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
}

static void kubeconfig_list_skips_missing_and_duplicates(void **state)
{
	/* empty entries, a missing file and a repeated file: a is read once (a second
	 * read would be a duplicate-name error) */
	setenv("KUBECONFIG", "::/nonexistent/config:" DATA "a/config::" DATA "a/config:", 1);
	struct kx_config *cfg = load_ok(NULL);
	assert_string_equal(kx_config_current_context(cfg), "ctx-a");
	kx_config_free(cfg);
	/* only missing files: no configuration */
	setenv("KUBECONFIG", "/nonexistent/1:/nonexistent/2", 1);
	load_fails(NULL, KX_ERR_CONFIG,
		   "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
}

static void explicit_kubeconfig_is_the_only_file(void **state)
{
	setenv("KUBECONFIG", DATA "a/config", 1);
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	ov.kubeconfig = DATA "b/config";
	struct kx_config *cfg = load_ok(&ov);
	assert_string_equal(kx_config_current_context(cfg), "ctx-b");
	assert_null(named(cfg, "clusters", "cluster-a", "cluster"));
	kx_config_free(cfg);
	/* and it must exist (kubectl: "stat F: no such file or directory") */
	ov.kubeconfig = "/nonexistent/kubeconfig";
	load_fails(&ov, KX_ERR_CONFIG, "stat /nonexistent/kubeconfig: no such file or directory");
}

static void home_config_is_the_default(void **state)
{
	setenv("HOME", DATA "home", 1);
	struct kx_config *cfg = load_ok(NULL);
	const struct kx_rest_config *r = kx_config_rest(cfg);
	assert_string_equal(r->server, "https://home:6443");
	assert_true(r->insecure_skip_tls_verify);
	assert_string_equal(r->context_name, "home");
	assert_string_equal(r->user_name, "");
	kx_config_free(cfg);
	/* KUBECONFIG replaces it */
	setenv("KUBECONFIG", DATA "b/config", 1);
	cfg = load_ok(NULL);
	assert_string_equal(kx_config_rest(cfg)->server, "https://b:6443");
	kx_config_free(cfg);
}

static void no_configuration_at_all(void **state)
{
	load_fails(NULL, KX_ERR_CONFIG,
		   "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
	/* kx config commands still get an (empty) document */
	struct kx_config *cfg = NULL;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_config_load_raw(NULL, &cfg, &eb), KX_OK);
	assert_null(kx_config_rest(cfg));
	assert_null(kx_config_current_context(cfg));
	const cJSON *m = kx_config_merged(cfg);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "clusters")));
	assert_string_equal(field(m, "current-context"), "");
	assert_string_equal(field(m, "kind"), "Config");
	kx_config_free(cfg);
	/* an empty file is an empty config too */
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	ov.kubeconfig = DATA "broken/empty.yaml";
	load_fails(&ov, KX_ERR_CONFIG,
		   "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
	/* a server alone is enough */
	ov.kubeconfig = NULL;
	ov.server = "https://flag:6443";
	ov.token = "flag-token";
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->server, "https://flag:6443");
	assert_string_equal(kx_config_rest(cfg)->token, "flag-token");
	assert_string_equal(kx_config_rest(cfg)->context_name, "");
	assert_string_equal(kx_config_rest(cfg)->namespace_, "default");
	kx_config_free(cfg);
}

/* ---------------------------------------------------------------- overrides */

static void cluster_and_tls_overrides(void **state)
{
	setenv("KUBECONFIG", DATA "a/config:" DATA "b/config", 1);
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	/* ctx-a: cluster-a with CA data, tls-server-name and a proxy */
	struct kx_config *cfg = load_ok(&ov);
	const struct kx_rest_config *r = kx_config_rest(cfg);
	assert_string_equal(r->server, "https://a:6443");
	assert_pem(r->ca_pem, r->ca_len, "fixture CA data of a\n");
	assert_string_equal(r->tls_server_name, "a.example");
	assert_string_equal(r->proxy_url, "http://proxy.example:3128");
	assert_false(r->insecure_skip_tls_verify);
	kx_config_free(cfg);

	/* --server drops the config's tls-server-name unless --tls-server-name is given */
	ov.server = "https://flag:1";
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->server, "https://flag:1");
	assert_null(kx_config_rest(cfg)->tls_server_name);
	kx_config_free(cfg);
	ov.tls_server_name = "flag.example";
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->tls_server_name, "flag.example");
	kx_config_free(cfg);
	ov.server = ov.tls_server_name = NULL;

	/* --certificate-authority replaces the CA data */
	ov.certificate_authority = DATA "b/ca.crt";
	cfg = load_ok(&ov);
	r = kx_config_rest(cfg);
	assert_pem(r->ca_pem, r->ca_len, "-----BEGIN CERTIFICATE-----\nfixture CA of b\n-----END CERTIFICATE-----\n");
	kx_config_free(cfg);
	/* --insecure-skip-tls-verify drops the config's CA … */
	ov.certificate_authority = NULL;
	ov.insecure_skip_tls_verify = 1;
	cfg = load_ok(&ov);
	assert_true(kx_config_rest(cfg)->insecure_skip_tls_verify);
	assert_null(kx_config_rest(cfg)->ca_pem);
	kx_config_free(cfg);
	/* … but not one given as a flag: kubectl's error */
	ov.certificate_authority = DATA "b/ca.crt";
	load_fails(&ov, KX_ERR_CONFIG,
		   "specifying a root certificates file with the insecure flag is not allowed");
	/* an explicit =false turns verification back on */
	ov.certificate_authority = NULL;
	ov.insecure_skip_tls_verify = 0;
	setenv("HOME", DATA "home", 1);
	unsetenv("KUBECONFIG");
	cfg = load_ok(&ov);
	assert_false(kx_config_rest(cfg)->insecure_skip_tls_verify);
	kx_config_free(cfg);
	/* a CA file that cannot be read: client-go's words */
	ov.insecure_skip_tls_verify = -1;
	ov.certificate_authority = "/nonexistent/ca.crt";
	load_fails(&ov, KX_ERR_IO,
		   "unable to read certificate-authority /nonexistent/ca.crt for home due to open /nonexistent/ca.crt: no such file or directory");
}

static void user_overrides(void **state)
{
	setenv("KUBECONFIG", DATA "a/config:" DATA "b/config", 1);
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	/* --user picks another user for the same context */
	ov.user = "shared";
	struct kx_config *cfg = load_ok(&ov);
	const struct kx_rest_config *r = kx_config_rest(cfg);
	assert_string_equal(r->context_name, "ctx-a");
	assert_string_equal(r->cluster_name, "cluster-a");
	assert_string_equal(r->user_name, "shared");
	assert_non_null(r->cert_pem);
	kx_config_free(cfg);
	/* --client-certificate/--client-key replace the files */
	ov.client_certificate = DATA "b/ca.crt";
	ov.client_key = DATA "a/token";
	cfg = load_ok(&ov);
	r = kx_config_rest(cfg);
	assert_pem(r->cert_pem, r->cert_len, "-----BEGIN CERTIFICATE-----\nfixture CA of b\n-----END CERTIFICATE-----\n");
	assert_pem(r->key_pem, r->key_len, "token-from-file\n");
	kx_config_free(cfg);
	ov.client_certificate = ov.client_key = NULL;
	/* --token replaces the token and the token file */
	ov.user = "user-a";
	ov.token = "flag-token";
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->token, "flag-token");
	assert_null(kx_config_rest(cfg)->token_file);
	kx_config_free(cfg);
	/* --username/--password */
	ov.token = NULL;
	ov.username = "flag-user";
	ov.password = "flag-password";
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->username, "flag-user");
	assert_string_equal(kx_config_rest(cfg)->password, "flag-password");
	kx_config_free(cfg);
	/* --cluster keeps the context's user */
	ov.username = ov.password = NULL;
	ov.user = NULL;
	ov.cluster = "cluster-b";
	cfg = load_ok(&ov);
	r = kx_config_rest(cfg);
	assert_string_equal(r->server, "https://b:6443");
	assert_string_equal(r->user_name, "user-a");
	kx_config_free(cfg);
}

static void request_timeouts(void **state)
{
	static const struct {
		const char *in;
		long ms;
	} ok[] = {
		{"0", 0}, {"30", 30000}, {"+5", 5000}, {"5s", 5000}, {"1m30s", 90000},
		{"500ms", 500}, {"1.5s", 1500}, {".5m", 30000}, {"1h", 3600000},
		{"1ns", 1}, {"1\xc2\xb5s", 1}, {"-1s", 0}, {"-0", 0},
	};
	static const char *const bad[] = {"1d", " 5", "5S", "1e3", "0x10", "5.", "-1", "abc",
					  "9999999999999999999", "2562048h"};
	setenv("HOME", DATA "home", 1);
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		ov.request_timeout = ok[i].in;
		struct kx_config *cfg = load_ok(&ov);
		if (kx_config_rest(cfg)->timeout_ms != ok[i].ms)
			fail_msg("--request-timeout=%s: %ld ms, want %ld", ok[i].in,
				 kx_config_rest(cfg)->timeout_ms, ok[i].ms);
		kx_config_free(cfg);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ov.request_timeout = bad[i];
		load_fails(&ov, KX_ERR_INVALID,
			   "Invalid timeout value. Timeout must be a single integer in seconds, or an integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)");
	}
}

static void namespace_resolution(void **state)
{
	setenv("KUBECONFIG", DATA "a/config:" DATA "b/config", 1);
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	struct kx_config *cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->namespace_, "ns-a"); /* the context's */
	assert_false(kx_config_rest(cfg)->namespace_from_flag);
	kx_config_free(cfg);
	ov.namespace_ = "from-flag";
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->namespace_, "from-flag");
	assert_true(kx_config_rest(cfg)->namespace_from_flag);
	kx_config_free(cfg);
	ov.namespace_ = "";
	ov.context = "ctx-b"; /* no namespace in ctx-b */
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->namespace_, "default");
	assert_false(kx_config_rest(cfg)->namespace_from_flag);
	kx_config_free(cfg);
}

static void exec_plugin_config(void **state)
{
	setenv("KUBECONFIG", DATA "b/config", 1);
	struct kx_config *cfg = load_ok(NULL);
	const struct kx_exec_config *e = kx_config_rest(cfg)->exec;
	assert_non_null(e);
	assert_string_equal(e->api_version, "client.authentication.k8s.io/v1beta1");
	assert_string_equal(e->args[0], "get-token");
	assert_string_equal(e->args[1], "--cluster");
	assert_string_equal(e->args[2], "b");
	assert_null(e->args[3]);
	assert_int_equal(e->n_env, 1);
	assert_string_equal(e->env[0].name, "PLUGIN_MODE");
	assert_string_equal(e->env[0].value, "test");
	/* escape sequences cannot reach the terminal */
	assert_string_equal(e->install_hint, "install the plugin U+001B[1mnowU+001B[0m");
	assert_true(e->provide_cluster_info);
	assert_string_equal(e->interactive_mode, "IfAvailable"); /* v1beta1's default */
	kx_config_free(cfg);
}

static void plain_http_server_gets_no_credentials(void **state)
{
	/* client-go identifies the user only over TLS */
	setenv("KUBECONFIG", DATA "c/config", 1);
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	ov.context = "ctx-c";
	struct kx_config *cfg = load_ok(&ov);
	const struct kx_rest_config *r = kx_config_rest(cfg);
	assert_string_equal(r->server, "http://c:8080");
	assert_string_equal(r->user_name, "basic");
	assert_null(r->username);
	assert_null(r->password);
	kx_config_free(cfg);
}

/* ---------------------------------------------------------------- in-cluster */

static void in_cluster_service_account(void **state)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s", tmp_path("sa"));
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(tmp_path("sa/token"), "sa-token", 8);
	write_file(tmp_path("sa/ca.crt"), "SA CA\n", 6);
	write_file(tmp_path("sa/namespace"), " team-ns\n", 9);
	setenv("KX_SERVICEACCOUNT_DIR", dir, 1);
	/* not in a pod without both variables */
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	load_fails(NULL, KX_ERR_CONFIG,
		   "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	struct kx_config *cfg = load_ok(NULL);
	const struct kx_rest_config *r = kx_config_rest(cfg);
	assert_true(r->in_cluster);
	assert_string_equal(r->server, "https://10.96.0.1:443");
	assert_string_equal(r->token_file, tmp_path("sa/token"));
	assert_pem(r->ca_pem, r->ca_len, "SA CA\n");
	assert_string_equal(r->namespace_, "team-ns");
	assert_string_equal(r->context_name, "");
	kx_config_free(cfg);
	/* IPv6 is bracketed; POD_NAMESPACE and the flags come first */
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("POD_NAMESPACE", "pod-ns", 1);
	cfg = load_ok(NULL);
	assert_string_equal(kx_config_rest(cfg)->server, "https://[fd00::1]:443");
	assert_string_equal(kx_config_rest(cfg)->namespace_, "pod-ns");
	kx_config_free(cfg);
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	ov.namespace_ = "flag-ns";
	ov.token = "flag-token";
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->namespace_, "flag-ns");
	assert_string_equal(kx_config_rest(cfg)->token, "flag-token");
	assert_null(kx_config_rest(cfg)->token_file);
	kx_config_free(cfg);
	/* a kubeconfig, when there is one, comes first */
	setenv("HOME", DATA "home", 1);
	cfg = load_ok(NULL);
	assert_false(kx_config_rest(cfg)->in_cluster);
	assert_string_equal(kx_config_rest(cfg)->server, "https://home:6443");
	kx_config_free(cfg);
	/* no token file: not in a pod */
	setenv("HOME", "/nonexistent-kx-test-home", 1);
	unlink(tmp_path("sa/token"));
	load_fails(NULL, KX_ERR_CONFIG,
		   "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
	unlink(tmp_path("sa/ca.crt"));
	unlink(tmp_path("sa/namespace"));
	rmdir(dir);
}

/* ---------------------------------------------------------------- errors */

static void missing_context_cluster_user(void **state)
{
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	ov.kubeconfig = DATA "broken/missing-refs.yaml";
	/* the current context names a cluster that is not there */
	load_fails(&ov, KX_ERR_NOT_FOUND, "cluster \"gone\" was not found for context \"no-cluster\"");
	ov.context = "no-user";
	load_fails(&ov, KX_ERR_NOT_FOUND, "user \"gone\" was not found for context \"no-user\"");
	ov.context = "empty-cluster";
	load_fails(&ov, KX_ERR_CONFIG, "no server found for cluster \"no-server\"");
	ov.context = "nothing";
	load_fails(&ov, KX_ERR_CONFIG,
		   "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
	/* kubectl's words for flags naming what does not exist */
	ov.context = "nope";
	load_fails(&ov, KX_ERR_NOT_FOUND, "context was not found for specified context: nope");
	ov.context = "no-user";
	ov.cluster = "nope";
	load_fails(&ov, KX_ERR_NOT_FOUND, "no server found for cluster \"nope\"");
	ov.cluster = NULL;
	ov.user = "nope";
	load_fails(&ov, KX_ERR_NOT_FOUND, "auth info \"nope\" does not exist");
	/* --server makes a missing cluster of the context irrelevant */
	ov.user = NULL;
	ov.context = "no-cluster";
	ov.server = "https://flag:6443";
	struct kx_config *cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->server, "https://flag:6443");
	assert_string_equal(kx_config_rest(cfg)->token, "t");
	kx_config_free(cfg);
}

static void raw_load_survives_broken_context(void **state)
{
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	ov.kubeconfig = DATA "broken/missing-refs.yaml";
	ov.context = "nope";
	struct kx_config *cfg = NULL;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_config_load_raw(&ov, &cfg, &eb), KX_OK);
	assert_string_equal(eb.msg, "");
	assert_null(kx_config_rest(cfg));
	assert_string_equal(kx_config_current_context(cfg), "nope");
	assert_non_null(named(cfg, "contexts", "no-user", "context"));
	kx_config_free(cfg);
	/* but not a broken file */
	ov.kubeconfig = DATA "broken/malformed.yaml";
	cfg = (struct kx_config *)1;
	assert_int_equal(kx_config_load_raw(&ov, &cfg, &eb), KX_ERR_CONFIG);
	assert_null(cfg);
}

static void malformed_files_name_file_and_line(void **state)
{
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	ov.kubeconfig = DATA "broken/malformed.yaml";
	load_fails(&ov, KX_ERR_CONFIG,
		   "error loading config file \"" DATA "broken/malformed.yaml\": line 4, column 1: did not find expected ',' or '}'");
	/* in a KUBECONFIG list too */
	ov.kubeconfig = NULL;
	setenv("KUBECONFIG", DATA "a/config:" DATA "broken/malformed.yaml", 1);
	load_fails(&ov, KX_ERR_CONFIG,
		   "error loading config file \"" DATA "broken/malformed.yaml\": line 4, column 1: did not find expected ',' or '}'");
	unsetenv("KUBECONFIG");
	ov.kubeconfig = DATA "broken/wrong-type.yaml";
	load_fails(&ov, KX_ERR_CONFIG,
		   "error loading config file \"" DATA "broken/wrong-type.yaml\": users[0].user.token: expected a string");
	/* "yes" is a boolean to kubectl's YAML reader as well */
	ov.kubeconfig = DATA "broken/yes-user.yaml";
	load_fails(&ov, KX_ERR_CONFIG,
		   "error loading config file \"" DATA "broken/yes-user.yaml\": users[0].user.username: expected a string");
	ov.kubeconfig = DATA "broken/duplicate.yaml";
	load_fails(&ov, KX_ERR_CONFIG,
		   "error loading config file \"" DATA "broken/duplicate.yaml\": clusters: duplicate name \"c\"");
	/* the same name in two files is a merge, not an error */
	setenv("KUBECONFIG", DATA "a/config:" DATA "b/config", 1);
	ov.kubeconfig = NULL;
	struct kx_config *cfg = load_ok(&ov);
	kx_config_free(cfg);
}

static void bad_base64_names_field_and_file(void **state)
{
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	ov.kubeconfig = DATA "broken/bad-base64.yaml";
	load_fails(&ov, KX_ERR_CONFIG,
		   "error loading config file \"" DATA "broken/bad-base64.yaml\": users[0].user.client-key-data: illegal base64 data at input byte 26");
	/* newlines inside are fine, as in Go; the document shows the canonical form */
	const char *ok = "clusters:\n- name: c\n  cluster:\n    server: https://x\n    certificate-authority-data: \"Q0\\nE=\"\n";
	struct kx_config *cfg = NULL;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__config_load_mem(ok, strlen(ok), "/mem/config", NULL, 1, NULL, &cfg, &eb), KX_OK);
	assert_string_equal(field(named(cfg, "clusters", "c", "cluster"), "certificate-authority-data"), "Q0E=");
	kx_config_free(cfg);
}

static void invalid_users_and_clusters(void **state)
{
	static const struct {
		const char *user, *cluster;
		kx_err err;
		const char *msg;
	} cases[] = {
		{"cert-no-key", NULL, KX_ERR_CONFIG,
		 "client-key-data or client-key must be specified for cert-no-key to use the clientCert authentication method."},
		{"token-and-basic", NULL, KX_ERR_CONFIG,
		 "more than one authentication method found for token-and-basic; found [token basicAuth], only one is allowed"},
		{"exec-v1-no-mode", NULL, KX_ERR_CONFIG,
		 "interactiveMode must be specified for exec-v1-no-mode to use exec authentication plugin"},
		{"exec-no-command", NULL, KX_ERR_CONFIG,
		 "command must be specified for exec-no-command to use exec authentication plugin"},
		{"missing-files", NULL, KX_ERR_IO,
		 "unable to read client-cert " DATA "broken/missing.crt for missing-files due to open " DATA
		 "broken/missing.crt: no such file or directory"},
		{"token", "insecure-with-ca", KX_ERR_CONFIG,
		 "specifying a root certificates file with the insecure flag is not allowed"},
		/* the proxy URL may hold a password: only its scheme is named */
		{"token", "bad-proxy", KX_ERR_CONFIG,
		 "invalid 'proxy-url' for cluster \"bad-proxy\": unsupported scheme \"ftp\", must be http, https, or socks5"},
	};
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	ov.kubeconfig = DATA "broken/invalid-users.yaml";
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ov.user = cases[i].user;
		ov.cluster = cases[i].cluster ? cases[i].cluster : "c";
		load_fails(&ov, cases[i].err, cases[i].msg);
	}
}

static void huge_and_unreadable_files(void **state)
{
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	char want[512];
	/* over the 16 MiB cap: an error, not a crash */
	const char *huge = tmp_path("huge");
	FILE *f = fopen(huge, "w");
	assert_non_null(f);
	char line[64];
	memset(line, '#', sizeof line - 1);
	line[sizeof line - 1] = '\n';
	for (size_t n = 0; n <= KX_KUBECONFIG_MAX; n += sizeof line)
		fwrite(line, 1, sizeof line, f);
	fclose(f);
	ov.kubeconfig = huge;
	snprintf(want, sizeof want, "error loading config file \"%s\": file is larger than 16777216 bytes", huge);
	load_fails(&ov, KX_ERR_TOO_LARGE, want);
	/* a FIFO-like source of unknown size is capped while reading */
	unlink(huge);
	/* a directory */
	ov.kubeconfig = tmpdir;
	snprintf(want, sizeof want, "error loading config file \"%s\": read %s: is a directory", tmpdir, tmpdir);
	load_fails(&ov, KX_ERR_IO, want);
	/* in a KUBECONFIG list, an unreadable file is an error, not skipped */
	ov.kubeconfig = NULL;
	setenv("KUBECONFIG", tmpdir, 1);
	load_fails(&ov, KX_ERR_IO, want);
	unsetenv("KUBECONFIG");
	/* permissions (root reads anything, so only as another user) */
	if (geteuid() != 0) {
		const char *locked = tmp_path("locked");
		write_file(locked, "clusters: []\n", 13);
		chmod(locked, 0);
		ov.kubeconfig = locked;
		snprintf(want, sizeof want, "error loading config file \"%s\": open %s: permission denied", locked, locked);
		load_fails(&ov, KX_ERR_IO, want);
		unlink(locked);
	}
}

static void secrets_stay_out_of_errors(void **state)
{
	/* wrong types, bad data, broken YAML next to secrets: no secret in the message */
	const char *docs[] = {
		"users:\n- name: u\n  user:\n    token: [s3cr3t-token]\n",
		"users:\n- name: u\n  user:\n    client-key-data: s3cr3t+key=\n",
		"users:\n- name: u\n  user:\n    password: !!int s3cr3t\n",
		"users:\n- name: u\n  user: {password: \"s3cr3t\n",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		struct kx_config *cfg = NULL;
		struct kx_errbuf eb = {0};
		assert_int_not_equal(kx__config_load_mem(docs[i], strlen(docs[i]), "/mem/config", NULL, 1, NULL, &cfg, &eb), KX_OK);
		assert_null(cfg);
		assert_string_not_equal(eb.msg, "");
		if (strstr(eb.msg, "s3cr3t"))
			fail_msg("secret in error message: %s", eb.msg);
	}
}

static void overrides_are_copied(void **state)
{
	char server[] = "https://flag:6443", ns[] = "flag-ns", ctx[] = "ctx-a";
	setenv("KUBECONFIG", DATA "a/config", 1);
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	ov.server = server;
	ov.namespace_ = ns;
	ov.context = ctx;
	struct kx_config *cfg = load_ok(&ov);
	memset(server, 'x', sizeof server - 1);
	memset(ns, 'x', sizeof ns - 1);
	memset(ctx, 'x', sizeof ctx - 1);
	assert_string_equal(kx_config_rest(cfg)->server, "https://flag:6443");
	assert_string_equal(kx_config_rest(cfg)->namespace_, "flag-ns");
	assert_string_equal(kx_config_current_context(cfg), "ctx-a");
	kx_config_free(cfg);
	kx_config_free(NULL);
}

static int make_tmpdir(void **state)
{
	strcpy(tmpdir, "/tmp/kx-test-kubeconfig.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	return rmdir(tmpdir);
}

/* kubectl's cache directory: --cache-dir, else KUBECACHEDIR, else ~/.kube/cache;
 * kx+ turns it off. */
static void cache_dir_resolution(void **state)
{
	(void)state;
	struct kx_config_overrides ov = KX_CONFIG_OVERRIDES_INIT;
	ov.kubeconfig = DATA "a/config";
	struct kx_config *cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->cache_dir, "/nonexistent-kx-test-home/.kube/cache");
	kx_config_free(cfg);
	setenv("KUBECACHEDIR", "/env/cache", 1);
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->cache_dir, "/env/cache");
	kx_config_free(cfg);
	ov.cache_dir = "rel/dir";
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->cache_dir, "rel/dir");
	kx_config_free(cfg);
	ov.cache_dir = ""; /* empty is the default, as kubectl's */
	cfg = load_ok(&ov);
	assert_string_equal(kx_config_rest(cfg)->cache_dir, "/env/cache");
	kx_config_free(cfg);
	ov.no_cache = 1;
	cfg = load_ok(&ov);
	assert_null(kx_config_rest(cfg)->cache_dir);
	kx_config_free(cfg);
	/* no home, nothing set: no disk cache */
	ov.no_cache = 0;
	unsetenv("KUBECACHEDIR");
	unsetenv("HOME");
	cfg = load_ok(&ov);
	assert_null(kx_config_rest(cfg)->cache_dir);
	kx_config_free(cfg);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, env_reset)
	const struct CMUnitTest tests[] = {
		T(merge_first_file_wins),
		T(merged_document_is_kubectls_view),
		T(extensions_merge_first_wins),
		T(relative_paths_resolve_against_each_file),
		T(relative_kubeconfig_path_is_made_absolute),
		T(kubeconfig_list_skips_missing_and_duplicates),
		T(explicit_kubeconfig_is_the_only_file),
		T(home_config_is_the_default),
		T(no_configuration_at_all),
		T(cluster_and_tls_overrides),
		T(user_overrides),
		T(request_timeouts),
		T(namespace_resolution),
		T(exec_plugin_config),
		T(plain_http_server_gets_no_credentials),
		T(in_cluster_service_account),
		T(missing_context_cluster_user),
		T(raw_load_survives_broken_context),
		T(malformed_files_name_file_and_line),
		T(bad_base64_names_field_and_file),
		T(invalid_users_and_clusters),
		T(huge_and_unreadable_files),
		T(secrets_stay_out_of_errors),
		T(overrides_are_copied),
		T(cache_dir_resolution),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
