/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/base/fsutil.c, the bottom layer under the kubeconfig loader, auth and
 * the discovery cache: the capped file reader and its errors, Go's errno wording,
 * and Go's rules for joining and cleaning paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "internal.h"

static char dir[] = "/tmp/kx-test-fsutil-XXXXXX";

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *data, size_t len)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static void reads_a_whole_file_nul_terminated(void **state)
{
	(void)state;
	const char *path = write_file("token", "abc\0def", 7);
	char *out;
	size_t len;
	const char *op;
	int errnum;
	assert_int_equal(kx__file_read(path, 7, &out, &len, &op, &errnum), KX_OK);
	assert_int_equal(len, 7);
	assert_memory_equal(out, "abc\0def", 7);
	assert_int_equal(out[7], '\0');
	free(out);
	/* an empty file is an empty string, not NULL */
	path = write_file("empty", "", 0);
	assert_int_equal(kx__file_read(path, 10, &out, &len, &op, &errnum), KX_OK);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	free(out);
}

static void says_which_step_failed_and_why(void **state)
{
	(void)state;
	char path[256], *out = (char *)1;
	size_t len;
	const char *op;
	int errnum;
	snprintf(path, sizeof path, "%s/missing", dir);
	assert_int_equal(kx__file_read(path, 10, &out, &len, &op, &errnum), KX_ERR_NOT_FOUND);
	assert_null(out);
	assert_string_equal(op, "open");
	assert_int_equal(errnum, ENOENT);
	/* a directory opens but does not read */
	assert_int_equal(kx__file_read(dir, 10, &out, &len, &op, &errnum), KX_ERR_IO);
	assert_string_equal(op, "read");
	assert_int_equal(errnum, EISDIR);
}

static void refuses_files_over_the_cap(void **state)
{
	(void)state;
	const char *path = write_file("big", "0123456789", 10);
	char *out = (char *)1;
	size_t len;
	const char *op;
	int errnum = -1;
	assert_int_equal(kx__file_read(path, 9, &out, &len, &op, &errnum), KX_ERR_TOO_LARGE);
	assert_null(out);
	assert_int_equal(errnum, 0);
	assert_int_equal(kx__file_read(path, 10, &out, &len, &op, &errnum), KX_OK);
	free(out);
	/* a file whose size stat cannot tell (a device that never ends) is capped too */
	assert_int_equal(kx__file_read("/dev/zero", 100000, &out, &len, &op, &errnum), KX_ERR_TOO_LARGE);
}

static void read_file_words_its_errors(void **state)
{
	(void)state;
	char path[256], want[512], *out;
	size_t len = 99;
	struct kx_errbuf eb = {0};
	snprintf(path, sizeof path, "%s/missing", dir);
	assert_int_equal(kx__read_file(path, 10, &out, &len, &eb), KX_ERR_NOT_FOUND);
	snprintf(want, sizeof want, "open %s: No such file or directory", path);
	assert_string_equal(eb.msg, want);
	const char *big = write_file("big", "0123456789", 10);
	memset(&eb, 0, sizeof eb);
	assert_int_equal(kx__read_file(big, 4, &out, NULL, &eb), KX_ERR_TOO_LARGE);
	snprintf(want, sizeof want, "%s: file is larger than 4 bytes", big);
	assert_string_equal(eb.msg, want);
	assert_int_equal(kx__read_file(big, 10, &out, NULL, NULL), KX_OK); /* len and eb optional */
	assert_string_equal(out, "0123456789");
	free(out);
}

static void errno_text_as_go_words_it(void **state)
{
	(void)state;
	char buf[128];
	assert_string_equal(kx__errno_text(ENOENT, buf, sizeof buf), "no such file or directory");
	assert_string_equal(kx__errno_text(EACCES, buf, sizeof buf), "permission denied");
}

static void joins_and_cleans_paths_as_go(void **state)
{
	(void)state;
	/* filepath.Join(dir, p) for relative p; absolute p only cleaned (Go's results) */
	static const struct {
		const char *dir, *p, *want;
	} v[] = {
		{"/home/u/.kube", "certs/ca.crt", "/home/u/.kube/certs/ca.crt"},
		{"/a/b", "../c", "/a/c"},
		{"/x", "y/./z/", "/x/y/z"},
		{"/x", "/abs/../p", "/p"},
		{"", "a//b/", "a/b"},
		{NULL, "./a", "a"},
		{"d", "", "d"},
		{"..", "../a", "../../a"},
		{"/", "..", "/"},
		{"a", "../..", ".."},
		{"a", "..", "."},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *j = kx__path_join(v[i].dir, v[i].p);
		assert_non_null(j);
		if (strcmp(j, v[i].want))
			fail_msg("join(\"%s\", \"%s\") = \"%s\", want \"%s\"", v[i].dir ? v[i].dir : "(null)",
				 v[i].p, j, v[i].want);
		free(j);
	}
	assert_null(kx__path_join("/x", NULL));
}

static void abs_dir_of_a_file(void **state)
{
	(void)state;
	char *d = kx__path_abs_dir("/a/b/../c/config");
	assert_string_equal(d, "/a/c");
	free(d);
	char *cwd = getcwd(NULL, 0), want[4096];
	d = kx__path_abs_dir("config");
	assert_string_equal(d, cwd);
	free(d);
	snprintf(want, sizeof want, "%s/x", strcmp(cwd, "/") ? cwd : "");
	d = kx__path_abs_dir("x/y");
	assert_string_equal(d, want);
	free(d);
	free(cwd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_a_whole_file_nul_terminated),
		cmocka_unit_test(says_which_step_failed_and_why),
		cmocka_unit_test(refuses_files_over_the_cap),
		cmocka_unit_test(read_file_words_its_errors),
		cmocka_unit_test(errno_text_as_go_words_it),
		cmocka_unit_test(joins_and_cleans_paths_as_go),
		cmocka_unit_test(abs_dir_of_a_file),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
