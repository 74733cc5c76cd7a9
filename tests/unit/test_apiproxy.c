/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for kx proxy's request side (lib/stream/apiproxy.c): path cleaning as
 * net/http's ServeMux does it, kubectl's filter semantics, and what is
 * forwarded toward the API server (header rewriting, chunked re-framing). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <kx/buf.h>
#include "apiproxy_internal.h"

static void test_clean_path(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"/", "/"}, {"", "/"}, {"/a/b", "/a/b"}, {"/a/b/", "/a/b/"}, {"//a//b", "/a/b"},
		{"/a/./b", "/a/b"}, {"/a/../b", "/b"}, {"/../../etc/passwd", "/etc/passwd"},
		{"/a/b/..", "/a"}, {"/a/b/../", "/a/"}, {"/..", "/"}, {"/.", "/"}, {"/a/...", "/a/..."},
	};
	char out[64];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		kx__apiproxy_clean_path(cases[i][0], out, sizeof out);
		assert_string_equal(out, cases[i][1]);
	}
}

/* Feed one request; return what went to the client and to the server. */
static void run(const struct kx_apiproxy_opts *o, const char *req, struct kx_buf *cl, struct kx_buf *up)
{
	*cl = (struct kx_buf)KX_BUF_INIT(1 << 20);
	*up = (struct kx_buf)KX_BUF_INIT(1 << 20);
	struct kx_errbuf eb = {0};
	size_t n = strlen(req);
	assert_int_equal(kx__apiproxy_feed_once(o, req, n, n / 2, cl, up, &eb), KX_OK);
}

static void test_default_filter(void **state)
{
	(void)state;
	struct kx_apiproxy_opts o = {0};
	struct kx_buf cl, up;
	static const char *const refused[] = {
		"POST /api/v1/namespaces/x/pods/y/exec?command=sh HTTP/1.1\r\nHost: localhost\r\n\r\n",
		"GET /api/v1/namespaces/x/pods/y/%65xec HTTP/1.1\r\nHost: localhost\r\n\r\n",
		"GET /api/v1/namespaces/x/pods/y/attach HTTP/1.1\r\nHost: 127.0.0.1:8001\r\n\r\n",
		"GET /version HTTP/1.1\r\nHost: evil.example.com\r\n\r\n",
		"GET /version HTTP/1.1\r\nHost: [::1]:8001\r\n\r\n", /* kubectl's quirk */
		"GET /version HTTP/1.1\r\n\r\n",                      /* no Host: "" matches nothing */
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		run(&o, refused[i], &cl, &up);
		assert_int_equal(up.len, 0);
		assert_non_null(strstr(cl.data, "HTTP/1.1 403 Forbidden\r\n"));
		assert_non_null(strstr(cl.data, "\r\n\r\nForbidden\n"));
		kx_buf_free(&cl);
		kx_buf_free(&up);
	}
	run(&o, "GET /version HTTP/1.1\r\nHost: [::1]\r\n\r\n", &cl, &up);
	assert_true(up.len > 0);
	kx_buf_free(&cl);
	kx_buf_free(&up);
	o.disable_filter = 1;
	run(&o, refused[0], &cl, &up);
	assert_true(up.len > 0);
	kx_buf_free(&cl);
	kx_buf_free(&up);
}

static void test_forwarded_head(void **state)
{
	(void)state;
	struct kx_apiproxy_opts o = {0};
	struct kx_buf cl, up;
	run(&o,
	    "POST /api/v1/namespaces/default/configmaps?dryRun=All HTTP/1.1\r\nHost: localhost:8001\r\n"
	    "Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\nX-Keep: yes\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
	    &cl, &up);
	assert_int_equal(cl.len, 0);
	assert_string_equal(up.data,
			    "POST /api/v1/namespaces/default/configmaps?dryRun=All HTTP/1.1\r\nHost: api.test:6443\r\n"
			    "X-Keep: yes\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
	kx_buf_free(&cl);
	kx_buf_free(&up);
	/* an upgrade keeps Connection/Upgrade; a prefix not under /api is stripped */
	o.api_prefix = "/k8s";
	run(&o,
	    "GET /k8s/api/v1/namespaces/x/pods/y/portforward HTTP/1.1\r\nHost: localhost\r\n"
	    "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nAuthorization: Bearer mine\r\n\r\n",
	    &cl, &up);
	assert_string_equal(up.data,
			    "GET /api/v1/namespaces/x/pods/y/portforward HTTP/1.1\r\nHost: api.test:6443\r\n"
			    "Authorization: Bearer mine\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n");
	kx_buf_free(&cl);
	kx_buf_free(&up);
}

static void test_local_answers(void **state)
{
	(void)state;
	struct kx_apiproxy_opts o = {.api_prefix = "/custom/"};
	struct kx_buf cl, up;
	run(&o, "GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n", &cl, &up);
	assert_non_null(strstr(cl.data, "HTTP/1.1 404 Not Found\r\n"));
	kx_buf_free(&cl);
	kx_buf_free(&up);
	run(&o, "GET /custom HTTP/1.1\r\nHost: localhost\r\n\r\n", &cl, &up);
	assert_non_null(strstr(cl.data, "HTTP/1.1 301 Moved Permanently\r\n"));
	assert_non_null(strstr(cl.data, "\r\nLocation: /custom/\r\n"));
	kx_buf_free(&cl);
	kx_buf_free(&up);
	run(&o, "GET /custom/a/../api?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n", &cl, &up);
	assert_non_null(strstr(cl.data, "\r\nLocation: /custom/api?x=1\r\n"));
	assert_int_equal(up.len, 0);
	kx_buf_free(&cl);
	kx_buf_free(&up);
	run(&o, "GET /custom/%zz HTTP/1.1\r\nHost: localhost\r\n\r\n", &cl, &up);
	assert_non_null(strstr(cl.data, "HTTP/1.1 400 Bad Request\r\n"));
	kx_buf_free(&cl);
	kx_buf_free(&up);
	run(&o, "GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\001b\r\n\r\n", &cl, &up);
	assert_non_null(strstr(cl.data, "HTTP/1.1 400 Bad Request\r\n"));
	assert_int_equal(up.len, 0);
	kx_buf_free(&cl);
	kx_buf_free(&up);
	/* two pipelined requests: both answered, in order */
	run(&o, "GET /a HTTP/1.1\r\nHost: localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\n\r\n", &cl, &up);
	char *second = strstr(cl.data, "404 Not Found");
	assert_non_null(second);
	assert_non_null(strstr(second + 1, "404 Not Found"));
	kx_buf_free(&cl);
	kx_buf_free(&up);
}

static void test_bad_regex(void **state)
{
	(void)state;
	struct kx_apiproxy_opts o = {.reject_methods = "^POST$,(unclosed"};
	struct kx_buf cl = KX_BUF_INIT(0), up = KX_BUF_INIT(0);
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__apiproxy_feed_once(&o, "", 0, 0, &cl, &up, &eb), KX_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "invalid --reject-methods (unclosed"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_path),
		cmocka_unit_test(test_default_filter),
		cmocka_unit_test(test_forwarded_head),
		cmocka_unit_test(test_local_answers),
		cmocka_unit_test(test_bad_regex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
