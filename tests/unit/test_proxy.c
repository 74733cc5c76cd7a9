/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for proxy selection: proxy-url parsing, HTTPS_PROXY/HTTP_PROXY and
 * NO_PROXY matching (hosts, suffixes, CIDRs, "*", host:port entries). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int clean_env(void **state)
{
	const char *vars[] = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"};
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
		unsetenv(vars[i]);
	return 0;
}

static void proxy_url_with_credentials(void **state)
{
	struct kx__proxy p;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__proxy_for("http://u:pw@proxy.example:3128", 1, "10.1.2.3", &p, &eb), KX_OK);
	assert_true(p.use);
	assert_string_equal(p.host, "proxy.example");
	assert_int_equal(p.port, 3128);
	assert_string_equal(p.userinfo, "u:pw");
	assert_int_equal(kx__proxy_for("http://[::1]:8080/", 1, "h", &p, &eb), KX_OK);
	assert_string_equal(p.host, "::1");
	assert_int_equal(p.port, 8080);
	assert_int_equal(kx__proxy_for("proxy:99", 1, "h", &p, &eb), KX_OK);
	assert_string_equal(p.host, "proxy");
	assert_int_equal(p.port, 99);
}

static void unsupported_scheme_is_named(void **state)
{
	struct kx__proxy p;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__proxy_for("socks5://user:secret@h:1080", 1, "h", &p, &eb), KX_ERR_CONFIG);
	assert_non_null(strstr(eb.msg, "socks5"));
	assert_null(strstr(eb.msg, "secret"));
}

static void environment_and_no_proxy(void **state)
{
	struct kx__proxy p;
	struct kx_errbuf eb = {0};
	setenv("HTTPS_PROXY", "http://envproxy:8443", 1);
	setenv("http_proxy", "http://plainproxy:80", 1);
	assert_int_equal(kx__proxy_for(NULL, 1, "api.example.com", &p, &eb), KX_OK);
	assert_true(p.use);
	assert_string_equal(p.host, "envproxy");
	assert_int_equal(kx__proxy_for(NULL, 0, "api.example.com", &p, &eb), KX_OK);
	assert_string_equal(p.host, "plainproxy");

	setenv("NO_PROXY", "localhost,.internal.example, 10.0.0.0/8,api.other:6443", 1);
	assert_true(kx__no_proxy("localhost"));
	assert_true(kx__no_proxy("k8s.internal.example"));
	assert_false(kx__no_proxy("internal.example")); /* a leading dot: subdomains only (Go's rule) */
	assert_false(kx__no_proxy("notinternal.example"));
	assert_true(kx__no_proxy("10.20.30.40"));
	assert_false(kx__no_proxy("11.0.0.1"));
	assert_true(kx__no_proxy("api.other"));
	assert_int_equal(kx__proxy_for(NULL, 1, "10.1.1.1", &p, &eb), KX_OK);
	assert_false(p.use);
	/* the kubeconfig's proxy-url wins over NO_PROXY, as in client-go */
	assert_int_equal(kx__proxy_for("http://cfg:1", 1, "10.1.1.1", &p, &eb), KX_OK);
	assert_true(p.use);
	setenv("NO_PROXY", "example.com", 1); /* no dot: the name and its subdomains */
	assert_true(kx__no_proxy("example.com"));
	assert_true(kx__no_proxy("a.b.example.com"));
	assert_false(kx__no_proxy("badexample.com"));
	setenv("NO_PROXY", "*", 1);
	assert_true(kx__no_proxy("anything"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(proxy_url_with_credentials, clean_env),
		cmocka_unit_test_setup(unsupported_scheme_is_named, clean_env),
		cmocka_unit_test_setup(environment_and_no_proxy, clean_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
