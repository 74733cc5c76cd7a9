/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of cmd/print.c's table printer, the one get, config get-contexts and
 * reach share: kubectl's tabwriter (minimum width 6, padding 3), widths counted in
 * code points, the last column unpadded, and no limit on the number of columns. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx.h"

static char *print(const struct kx_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	kx_table_print(f, t);
	fclose(f);
	return buf;
}

static void pads_like_kubectls_tabwriter(void **state)
{
	(void)state;
	struct kx_table t = {.ncols = 3};
	assert_int_equal(kx_table_add(&t, (const char *const[]){"NAME", "READY", "AGE"}), 0);
	assert_int_equal(kx_table_add(&t, (const char *const[]){"web-0", "1/1", "5d"}), 0);
	assert_int_equal(kx_table_add(&t, (const char *const[]){"a-much-longer-name", NULL, "1s"}), 0);
	char *out = print(&t);
	/* NAME: widest 18 + 3; READY: 5 + 3 = 8; AGE last, unpadded; NULL prints empty */
	assert_string_equal(out, "NAME" "                 " "READY" "   " "AGE\n"
				 "web-0" "                " "1/1" "     " "5d\n"
				 "a-much-longer-name" "   " "        " "1s\n");
	free(out);
	kx_table_free(&t);
}

static void narrow_columns_are_six_wide(void **state)
{
	(void)state;
	struct kx_table t = {.ncols = 2};
	assert_int_equal(kx_table_add(&t, (const char *const[]){"A", "B"}), 0);
	char *out = print(&t);
	assert_string_equal(out, "A     B\n");
	free(out);
	kx_table_free(&t);
}

static void widths_count_code_points_not_bytes(void **state)
{
	(void)state;
	struct kx_table t = {.ncols = 2};
	assert_int_equal(kx_table_add(&t, (const char *const[]){"héllo-wörld", "x"}), 0);
	assert_int_equal(kx_table_add(&t, (const char *const[]){"hello-world", "y"}), 0);
	char *out = print(&t);
	/* both names are 11 code points wide: the second column starts at the same place */
	assert_string_equal(out, "héllo-wörld   x\nhello-world   y\n");
	free(out);
	kx_table_free(&t);
}

static void more_than_sixteen_columns(void **state)
{
	(void)state;
	enum { N = 20 };
	struct kx_table t = {.ncols = N};
	const char *row[N];
	char cells[N][8];
	for (int i = 0; i < N; i++) {
		snprintf(cells[i], sizeof cells[i], "c%d", i);
		row[i] = cells[i];
	}
	assert_int_equal(kx_table_add(&t, row), 0);
	char *out = print(&t);
	assert_non_null(strstr(out, "c16   c17   c18   c19\n"));
	free(out);
	kx_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pads_like_kubectls_tabwriter),
		cmocka_unit_test(narrow_columns_are_six_wide),
		cmocka_unit_test(widths_count_code_points_not_bytes),
		cmocka_unit_test(more_than_sixteen_columns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
