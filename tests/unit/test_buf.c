/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the size-capped buffer and the error buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <kx/buf.h>
#include "internal.h"

static void append_and_printf(void **state)
{
	struct kx_buf b = KX_BUF_INIT(0);
	assert_int_equal(kx_buf_appends(&b, "abc"), KX_OK);
	assert_int_equal(kx_buf_printf(&b, "-%d-", 42), KX_OK);
	assert_string_equal(b.data, "abc-42-");
	assert_int_equal(b.len, 7);
	kx_buf_consume(&b, 4);
	assert_string_equal(b.data, "42-");
	kx_buf_free(&b);
	assert_null(b.data);
}

static void cap_is_enforced_and_buffer_freed(void **state)
{
	struct kx_buf b = KX_BUF_INIT(8);
	assert_int_equal(kx_buf_appends(&b, "12345678"), KX_OK);
	assert_int_equal(kx_buf_appends(&b, "9"), KX_ERR_TOO_LARGE);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void first_error_wins(void **state)
{
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__fail(&eb, KX_ERR_IO, "first %d", 1), KX_ERR_IO);
	kx__fail(&eb, KX_ERR_INVALID, "second");
	assert_string_equal(eb.msg, "first 1");
	assert_int_equal(kx__fail(NULL, KX_ERR_TLS, "x"), KX_ERR_TLS);
}

static void steal_empty_gives_string(void **state)
{
	struct kx_buf b = KX_BUF_INIT(0);
	char *s = kx_buf_steal(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

/* A secret buffer keeps its contents across growth, and consume/clear wipe the
 * bytes they drop (a plain buffer leaves them behind the NUL). */
static void secret_buffer_wipes_what_it_drops(void **state)
{
	(void)state;
	struct kx_buf b = KX_BUF_INIT_SECRET(0);
	char big[1000];
	memset(big, 'k', sizeof big);
	assert_int_equal(kx_buf_appends(&b, "Bearer t0ken"), KX_OK);
	assert_int_equal(kx_buf_append(&b, big, sizeof big), KX_OK); /* grows past 256 */
	assert_int_equal(b.len, 12 + sizeof big);
	assert_memory_equal(b.data, "Bearer t0ken", 12);
	size_t dropped = 7 + sizeof big - 3;
	kx_buf_consume(&b, dropped);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "t0kenkkk" + 5, 3); /* what is left: the tail */
	/* consume moves a cursor: the dropped bytes in front of it are wiped */
	const char *block = b.data - b.off;
	assert_int_equal(b.off, dropped);
	for (size_t i = 0; i < dropped; i++)
		assert_int_equal(block[i], 0);
	kx_buf_clear(&b);
	assert_ptr_equal(b.data, block);
	for (size_t i = 0; i < 12 + sizeof big; i++)
		assert_int_equal(b.data[i], 0);
	kx_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.secret, 1);
}

/* Consuming from the front costs no copy; appends reuse the consumed room. */
static void consume_is_a_cursor(void **state)
{
	(void)state;
	struct kx_buf b = KX_BUF_INIT(0);
	char chunk[4096];
	for (size_t i = 0; i < sizeof chunk; i++)
		chunk[i] = (char)i;
	assert_int_equal(kx_buf_append(&b, chunk, sizeof chunk), KX_OK);
	size_t cap = b.cap;
	for (int round = 0; round < 1000; round++) {
		kx_buf_consume(&b, 1000);
		assert_int_equal(kx_buf_append(&b, chunk, 1000), KX_OK);
		assert_int_equal(b.len, sizeof chunk);
		assert_int_equal(b.data[b.len], '\0');
	}
	assert_int_equal(b.cap, cap); /* never grew: the consumed room came back */
	char *s = kx_buf_steal(&b);
	assert_ptr_not_equal(s, NULL);
	assert_int_equal(strlen(s) <= sizeof chunk, 1);
	free(s);
}

/* The one query-string builder: '?' then '&', Go's url.QueryEscape. */
static void query_parameters_escape_as_go(void **state)
{
	(void)state;
	struct kx_buf b = KX_BUF_INIT(0);
	assert_int_equal(kx_buf_appends(&b, "/api/v1/pods"), KX_OK);
	assert_int_equal(kx_buf_query(&b, "labelSelector", "app in (web, db),tier!=x"), KX_OK);
	assert_int_equal(kx_buf_query(&b, "command", "sh -c 'echo $HOME/ü'"), KX_OK);
	assert_int_equal(kx_buf_query(&b, "empty", ""), KX_OK);
	assert_int_equal(kx_buf_query(&b, "keep", "A-z_0.9~"), KX_OK);
	/* url.QueryEscape's results for the same values */
	assert_string_equal(b.data, "/api/v1/pods?labelSelector=app+in+%28web%2C+db%29%2Ctier%21%3Dx"
				    "&command=sh+-c+%27echo+%24HOME%2F%C3%BC%27&empty=&keep=A-z_0.9~");
	kx_buf_free(&b);
	/* a path that already has a query continues it */
	b = (struct kx_buf)KX_BUF_INIT(0);
	assert_int_equal(kx_buf_appends(&b, "/x?watch=1"), KX_OK);
	assert_int_equal(kx_buf_query(&b, "a", "b"), KX_OK);
	assert_string_equal(b.data, "/x?watch=1&a=b");
	kx_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(append_and_printf),
		cmocka_unit_test(consume_is_a_cursor),
		cmocka_unit_test(query_parameters_escape_as_go),
		cmocka_unit_test(cap_is_enforced_and_buffer_freed),
		cmocka_unit_test(first_error_wins),
		cmocka_unit_test(steal_empty_gives_string),
		cmocka_unit_test(secret_buffer_wipes_what_it_drops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
