/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for port-forward's port specs: "8080", "8080:80", ":80", names, and
 * the errors kubectl gives for bad ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include <kx/portforward.h>

static void parse_ok(const char *spec, int want_local, int want_remote, const char *want_name)
{
	int local, remote;
	char name[32];
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_pf_parse_spec(spec, &local, &remote, name, sizeof name, &eb), KX_OK);
	assert_int_equal(local, want_local);
	assert_int_equal(remote, want_remote);
	assert_string_equal(name, want_name);
}

static void parse_err(const char *spec, const char *want)
{
	int local, remote;
	char name[32];
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_pf_parse_spec(spec, &local, &remote, name, sizeof name, &eb), KX_ERR_INVALID);
	if (!strstr(eb.msg, want))
		fail_msg("%s: got \"%s\", want \"%s\"", spec, eb.msg, want);
}

static void forms(void **state)
{
	parse_ok("8080", -1, 8080, "");
	parse_ok("8080:80", 8080, 80, "");
	parse_ok(":80", 0, 80, "");
	parse_ok("0:80", 0, 80, "");
	parse_ok("http", -1, 0, "http");
	parse_ok("9000:http", 9000, 0, "http");
	parse_ok("65535:65535", 65535, 65535, "");
}

static void errors(void **state)
{
	parse_err("0", "remote port must be > 0");
	parse_err(":0", "remote port must be > 0");
	parse_err("8080:", "remote port must be > 0");
	parse_err("65536", "error parsing remote port '65536'");
	parse_err("a:80", "error parsing local port 'a'");
	parse_err("65536:80", "error parsing local port '65536'");
	parse_err("-1:80", "error parsing local port '-1'");
	parse_err("8080:80:1", "invalid port specification");
	parse_err("80x", "error parsing remote port '80x'");
	parse_err("a-very-long-port-name-indeed", "invalid port name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forms),
		cmocka_unit_test(errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
