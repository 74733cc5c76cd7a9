/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for credentials: token file rotation, exec plugins (v1, v1beta1,
 * expiry, 401 re-run, failures, missing command with its install hint). The
 * plugins are small shell scripts written into a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <kx/config.h>
#include "internal.h"

static char dir[256];

static int make_dir(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/kx-test-auth-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int remove_dir(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text, int mode)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, (mode_t)mode);
}

/* A path in the test directory, in one of several rotating buffers, so a few
 * paths can be alive at once. */
static char *path_of(const char *name)
{
	static char paths[8][512];
	static unsigned next;
	char *p = paths[next++ % 8];
	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

static void token_file_is_reread_when_it_changes(void **state)
{
	write_file("token", "first-token\n", 0600);
	struct kx_rest_config rc = {.server = "https://127.0.0.1:1", .token_file = path_of("token")};
	struct kx_auth *a;
	struct kx_errbuf eb = {0};
	struct kx_creds cr;
	assert_int_equal(kx__auth_new(&rc, &a, &eb), KX_OK);
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_OK);
	assert_string_equal(cr.bearer, "first-token");
	write_file("token", "rotated-token-longer\n", 0600);
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_OK);
	assert_string_equal(cr.bearer, "rotated-token-longer");
	kx__auth_free(a);
}

static void missing_token_file_is_an_auth_error(void **state)
{
	struct kx_rest_config rc = {.server = "https://x", .token_file = "/nonexistent/kx/token"};
	struct kx_auth *a;
	struct kx_errbuf eb = {0};
	struct kx_creds cr;
	assert_int_equal(kx__auth_new(&rc, &a, &eb), KX_OK);
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "/nonexistent/kx/token"));
	kx__auth_free(a);
}

/* A plugin that counts its runs in a file and echoes the apiVersion it was asked for. */
static const char *plugin =
	"#!/bin/sh\n"
	"echo run >> \"$COUNT\"\n"
	"case \"$KUBERNETES_EXEC_INFO\" in *'\"interactive\":false'*) ;; *) echo bad-info >&2; exit 3;; esac\n"
	"printf '{\"kind\":\"ExecCredential\",\"apiVersion\":\"%s\",\"status\":{\"token\":\"%s\"%s}}' "
	"\"$VER\" \"$1\" \"$EXTRA\"\n";

static struct kx_auth *exec_auth(const char *ver, const char *extra, const char *token,
				 const char *cmd)
{
	static struct kx_exec_env env[3];
	static const char *args[2];
	static struct kx_exec_config ex;
	env[0] = (struct kx_exec_env){"COUNT", path_of("count")};
	env[1] = (struct kx_exec_env){"VER", ver};
	env[2] = (struct kx_exec_env){"EXTRA", extra};
	args[0] = token;
	args[1] = NULL;
	ex = (struct kx_exec_config){.api_version = ver, .command = cmd, .args = args, .env = env,
				     .n_env = 3, .install_hint = "install the kx test plugin",
				     .interactive_mode = "Never"};
	struct kx_rest_config rc = {.server = "https://127.0.0.1:1", .exec = &ex};
	struct kx_auth *a = NULL;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__auth_new(&rc, &a, &eb), KX_OK);
	return a;
}

static void exec_v1_token_cached(void **state)
{
	write_file("plugin", plugin, 0700);
	unlink(path_of("count"));
	struct kx_auth *a = exec_auth("client.authentication.k8s.io/v1", "", "tok1", path_of("plugin"));
	struct kx_creds cr;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_OK);
	assert_string_equal(cr.bearer, "tok1");
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_OK);
	assert_int_equal(kx__auth_exec_runs(a), 1); /* no expiry: cached */
	/* The environment was set in the child only. */
	assert_null(getenv("VER"));
	assert_null(getenv("KUBERNETES_EXEC_INFO"));
	/* A 401 drops the credential: the plugin runs again. */
	assert_int_equal(kx__auth_unauthorized(a), 1);
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_OK);
	assert_int_equal(kx__auth_exec_runs(a), 2);
	kx__auth_free(a);
}

static void exec_v1beta1_expired_credential_reruns(void **state)
{
	write_file("plugin", plugin, 0700);
	struct kx_auth *a = exec_auth("client.authentication.k8s.io/v1beta1",
				      ",\"expirationTimestamp\":\"2001-01-01T00:00:00Z\"", "tok2",
				      path_of("plugin"));
	struct kx_creds cr;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_OK);
	assert_string_equal(cr.bearer, "tok2");
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_OK);
	assert_int_equal(kx__auth_exec_runs(a), 2); /* expired: run each time */
	kx__auth_free(a);

	a = exec_auth("client.authentication.k8s.io/v1beta1",
		      ",\"expirationTimestamp\":\"2999-01-01T00:00:00+02:00\"", "tok3", path_of("plugin"));
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_OK);
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_OK);
	assert_int_equal(kx__auth_exec_runs(a), 1);
	kx__auth_free(a);
}

static void exec_version_mismatch(void **state)
{
	write_file("plugin2", "#!/bin/sh\nprintf '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"status\":{\"token\":\"x\"}}'\n", 0700);
	struct kx_auth *a = exec_auth("client.authentication.k8s.io/v1", "", "t", path_of("plugin2"));
	struct kx_creds cr;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "plugin returned version client.authentication.k8s.io/v1beta1"));
	kx__auth_free(a);
}

static void exec_failures(void **state)
{
	struct kx_creds cr;
	struct kx_errbuf eb = {0};
	struct kx_auth *a = exec_auth("client.authentication.k8s.io/v1", "", "t", "kx-no-such-plugin");
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "executable kx-no-such-plugin not found"));
	assert_non_null(strstr(eb.msg, "install the kx test plugin"));
	kx__auth_free(a);

	write_file("fails", "#!/bin/sh\nexit 7\n", 0700);
	memset(&eb, 0, sizeof eb);
	a = exec_auth("client.authentication.k8s.io/v1", "", "t", path_of("fails"));
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "failed with exit code 7"));
	kx__auth_free(a);

	write_file("garbage", "#!/bin/sh\necho not json\n", 0700);
	memset(&eb, 0, sizeof eb);
	a = exec_auth("client.authentication.k8s.io/v1", "", "t", path_of("garbage"));
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "not JSON"));
	kx__auth_free(a);

	write_file("notoken", "#!/bin/sh\necho '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"status\":{}}'\n", 0700);
	memset(&eb, 0, sizeof eb);
	a = exec_auth("client.authentication.k8s.io/v1", "", "t", path_of("notoken"));
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "didn't return a token"));
	kx__auth_free(a);
}

static void auth_provider_is_refused_by_name(void **state)
{
	struct kx_rest_config rc = {.server = "https://x", .auth_provider = "gcp"};
	struct kx_auth *a = NULL;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__auth_new(&rc, &a, &eb), KX_ERR_CONFIG);
	assert_non_null(strstr(eb.msg, "\"gcp\""));
	assert_null(a);
}

static void static_token_and_basic(void **state)
{
	struct kx_rest_config rc = {.server = "https://x", .username = "bob", .password = "pw"};
	struct kx_auth *a;
	struct kx_errbuf eb = {0};
	struct kx_creds cr;
	assert_int_equal(kx__auth_new(&rc, &a, &eb), KX_OK);
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_OK);
	assert_null(cr.bearer);
	assert_string_equal(cr.username, "bob");
	assert_string_equal(cr.password, "pw");
	kx__auth_free(a);
	rc = (struct kx_rest_config){.server = "https://x", .token = "abc"};
	assert_int_equal(kx__auth_new(&rc, &a, &eb), KX_OK);
	assert_int_equal(kx__auth_get(a, &cr, &eb), KX_OK);
	assert_string_equal(cr.bearer, "abc");
	kx__auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_file_is_reread_when_it_changes),
		cmocka_unit_test(missing_token_file_is_an_auth_error),
		cmocka_unit_test(exec_v1_token_cached),
		cmocka_unit_test(exec_v1beta1_expired_credential_reruns),
		cmocka_unit_test(exec_version_mismatch),
		cmocka_unit_test(exec_failures),
		cmocka_unit_test(auth_provider_is_refused_by_name),
		cmocka_unit_test(static_token_and_basic),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
