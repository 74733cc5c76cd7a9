/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for metav1.Status decoding (REST errors and exec exit codes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <kx/client.h>

static void not_found(void **state)
{
	const char *b = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
			"\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\","
			"\"details\":{\"name\":\"x\",\"kind\":\"pods\"},\"code\":404}";
	struct kx_status st;
	kx_status_decode(b, strlen(b), 404, &st);
	assert_int_equal(st.code, 404);
	assert_string_equal(st.reason, "NotFound");
	assert_string_equal(st.message, "pods \"x\" not found");
	assert_string_equal(st.kind, "pods");
	assert_string_equal(st.name, "x");
	assert_int_equal(st.exit_code, -1);
}

static void exit_code_cause(void **state)
{
	const char *b = "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated\","
			"\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\","
			"\"message\":\"42\"}]}}";
	struct kx_status st;
	kx_status_decode(b, strlen(b), 0, &st);
	/* exec's status channel omits kind: a "status" field makes it a Status. */
	assert_int_equal(st.exit_code, 42);
	const char *other = "{\"kind\":\"Pod\",\"status\":\"x\",\"message\":\"m\"}";
	kx_status_decode(other, strlen(other), 400, &st);
	assert_string_equal(st.message, other); /* not a Status: the body's first line */
	const char *b2 = "{\"kind\":\"Status\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"m\","
			 "\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\","
			 "\"message\":\"42\"}]}}";
	kx_status_decode(b2, strlen(b2), 0, &st);
	assert_int_equal(st.exit_code, 42);
	assert_string_equal(st.reason, "NonZeroExitCode");
}

static void bad_exit_codes_ignored(void **state)
{
	const char *b = "{\"kind\":\"Status\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\","
			"\"message\":\"4x2\"},{\"reason\":\"ExitCode\",\"message\":\"999\"}]}}";
	struct kx_status st;
	kx_status_decode(b, strlen(b), 500, &st);
	assert_int_equal(st.exit_code, -1);
}

static void non_status_body_first_line(void **state)
{
	const char *b = "upstream connect error\nsecond line";
	struct kx_status st;
	kx_status_decode(b, strlen(b), 503, &st);
	assert_int_equal(st.code, 503);
	assert_string_equal(st.reason, "ServiceUnavailable");
	assert_string_equal(st.message, "the server is currently unable to handle the request");
	assert_string_equal(st.status, "Failure");
	kx_status_decode(b, strlen(b), 500, &st);
	assert_string_equal(st.message, "an error on the server (\"upstream connect error\") has prevented the request from succeeding");
	kx_status_decode("404 page not found\n", 19, 404, &st);
	assert_string_equal(st.message, "the server could not find the requested resource");
	kx_status_decode("teapot", 6, 418, &st);
	assert_string_equal(st.message, "teapot");
}

static void empty_body(void **state)
{
	struct kx_status st;
	kx_status_decode(NULL, 0, 401, &st);
	assert_string_equal(st.reason, "Unauthorized");
	assert_string_equal(st.message, "Unauthorized");
	kx_status_decode(NULL, 0, 418, &st);
	assert_non_null(strstr(st.message, "418"));
}

static void huge_message_truncated(void **state)
{
	static char b[8192];
	int n = snprintf(b, sizeof b, "{\"kind\":\"Status\",\"message\":\"");
	memset(b + n, 'a', 5000);
	strcpy(b + n + 5000, "\"}");
	struct kx_status st;
	kx_status_decode(b, strlen(b), 500, &st);
	assert_int_equal(strlen(st.message), sizeof st.message - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(not_found),
		cmocka_unit_test(exit_code_cause),
		cmocka_unit_test(bad_exit_codes_ignored),
		cmocka_unit_test(non_status_body_first_line),
		cmocka_unit_test(empty_body),
		cmocka_unit_test(huge_message_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
