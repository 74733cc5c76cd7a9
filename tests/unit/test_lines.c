/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/base/lines.c: whole prefixed lines whatever the pieces the stream
 * arrives in, the unfinished last line, and lines longer than the bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"

static char *feed_in_pieces(const char *in, size_t len, size_t piece, const char *prefix)
{
	struct kx__lines l = {0};
	struct kx_buf out = KX_BUF_INIT(1 << 26);
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		assert_int_equal(kx__lines_feed(&l, prefix, strlen(prefix), in + off, n, &out), KX_OK);
	}
	assert_int_equal(kx__lines_finish(&l, prefix, strlen(prefix), &out), KX_OK);
	kx__lines_free(&l);
	assert_int_equal(kx_buf_append(&out, "", 1), KX_OK);
	return kx_buf_steal(&out);
}

static void every_piece_size_gives_the_same_lines(void **state)
{
	(void)state;
	const char *in = "one\ntwo\n\nthree\nlast without newline";
	const char *want = "[p] one\n[p] two\n[p] \n[p] three\n[p] last without newline\n";
	for (size_t piece = 1; piece <= strlen(in); piece++) {
		char *got = feed_in_pieces(in, strlen(in), piece, "[p] ");
		assert_string_equal(got, want);
		free(got);
	}
}

static void empty_prefix_and_empty_stream(void **state)
{
	(void)state;
	char *got = feed_in_pieces("a\nb", 3, 2, "");
	assert_string_equal(got, "a\nb\n");
	free(got);
	got = feed_in_pieces("", 0, 1, "[p] ");
	assert_string_equal(got, "");
	free(got);
}

static void many_numbered_lines_arrive_whole(void **state)
{
	(void)state;
	struct kx_buf in = KX_BUF_INIT(1 << 24), want = KX_BUF_INIT(1 << 24);
	for (int i = 0; i < 10000; i++) {
		assert_int_equal(kx_buf_printf(&in, "line %d\n", i), KX_OK);
		assert_int_equal(kx_buf_printf(&want, "pod-a line %d\n", i), KX_OK);
	}
	assert_int_equal(kx_buf_append(&want, "", 1), KX_OK);
	char *got = feed_in_pieces(in.data, in.len, 4093, "pod-a ");
	assert_string_equal(got, want.data);
	free(got);
	kx_buf_free(&in);
	kx_buf_free(&want);
}

static void a_line_longer_than_the_bound_goes_out_in_pieces(void **state)
{
	(void)state;
	size_t len = KX_LINES_MAX * 2 + 10;
	char *in = malloc(len + 1);
	memset(in, 'x', len);
	in[len] = '\n';
	char *got = feed_in_pieces(in, len + 1, 1000, "> ");
	/* three lines: two full pieces and the last 10 bytes */
	size_t lines = 0;
	for (char *p = got; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 3);
	assert_int_equal(strlen(got), len + 3 * 3);
	assert_memory_equal(got + strlen(got) - 13, "> xxxxxxxxxx\n", 13);
	free(in);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_piece_size_gives_the_same_lines),
		cmocka_unit_test(empty_prefix_and_empty_stream),
		cmocka_unit_test(many_numbered_lines_arrive_whole),
		cmocka_unit_test(a_line_longer_than_the_bound_goes_out_in_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
