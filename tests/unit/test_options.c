/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the option parser (pflag's rules) and the option tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kx.h"

static struct {
	int flag_i, flag_t, quiet;
	const char *container, *output, *check;
	long port;
	struct kx_strlist addr;
} v;

static const char *const outs[] = {"json", "yaml", NULL};
static const char *const checks[] = {"all", "any", NULL};
static const struct kx_option opts[] = {
	OPT_BOOL('i', "stdin", &v.flag_i, "stdin"),
	OPT_BOOL('t', "tty", &v.flag_t, "tty"),
	OPT_BOOL('q', "quiet", &v.quiet, "quiet"),
	OPT_STRING('c', "container", &v.container, "NAME", "container"),
	OPT_CHOICE('o', "output", &v.output, "F", NULL, outs, "output"),
	OPT_INT('p', "port", &v.port, "PORT", "8001", "port"),
	OPT_LIST(0, "address", &v.addr, "IP", "address"),
	{KX_OPT_STRING, 0, "check", &v.check, "MODE", "check", "all", checks, NULL, KX_OPT_BARE},
	OPT_END(),
};

static int parse(struct kx_invocation *inv, int argc, ...)
{
	static char *argv[32];
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	const struct kx_option *const tables[] = {opts, kx_global_options, NULL};
	memset(inv, 0, sizeof *inv);
	return kx_parse_options("test", tables, argc, argv, inv);
}

static int reset(void **state)
{
	kx_strlist_free(&v.addr);
	memset(&v, 0, sizeof v);
	memset(&kx_g, 0, sizeof kx_g);
	return 0;
}

static void interspersed_flags_and_dashdash(void **state)
{
	struct kx_invocation inv;
	assert_int_equal(parse(&inv, 7, "pod", "-it", "-c", "web", "--", "sh", "-c"), 0);
	assert_true(v.flag_i && v.flag_t);
	assert_string_equal(v.container, "web");
	assert_int_equal(inv.argc, 3);
	assert_string_equal(inv.argv[0], "pod");
	assert_int_equal(inv.dash, 1);
	assert_string_equal(inv.argv[1], "sh");
	assert_string_equal(inv.argv[2], "-c"); /* after "--": an argument, not a flag */
	free(inv.argv);
}

static void value_forms(void **state)
{
	struct kx_invocation inv;
	assert_int_equal(parse(&inv, 4, "--container=a", "-cb", "--port", "0"), 0);
	assert_string_equal(v.container, "b");
	assert_int_equal(v.port, 0);
	free(inv.argv);
	assert_int_equal(parse(&inv, 3, "-c=x", "-p=9", "--stdin=false"), 0);
	assert_string_equal(v.container, "x");
	assert_int_equal(v.port, 9);
	assert_false(v.flag_i);
	free(inv.argv);
	assert_int_equal(parse(&inv, 2, "-qi", "-v=6"), 0);
	assert_true(v.quiet && v.flag_i);
	assert_int_equal(kx_g.verbosity, 6);
	free(inv.argv);
}

/* A bare option: alone it takes its default and leaves the next word alone;
 * with =VALUE it is checked against its choices. */
static void bare_option(void **state)
{
	(void)state;
	struct kx_invocation inv;
	assert_int_equal(parse(&inv, 2, "--check", "svc/web"), 0);
	assert_string_equal(v.check, "all");
	assert_int_equal(inv.argc, 1);
	assert_string_equal(inv.argv[0], "svc/web");
	free(inv.argv);
	assert_int_equal(parse(&inv, 2, "svc/web", "--check=any"), 0);
	assert_string_equal(v.check, "any");
	free(inv.argv);
	assert_int_not_equal(parse(&inv, 1, "--check=some"), 0);
	free(inv.argv);
}

static void lists_and_globals(void **state)
{
	struct kx_invocation inv;
	assert_int_equal(parse(&inv, 6, "--address", "127.0.0.1", "--address=::1", "-n", "demo",
			       "--insecure-skip-tls-verify"), 0);
	assert_int_equal(v.addr.n, 2);
	assert_string_equal(v.addr.items[1], "::1");
	assert_string_equal(kx_g.namespace_, "demo");
	assert_int_equal(kx_g.insecure_skip_tls_verify, 1);
	free(inv.argv);
}

static void single_dash_is_an_argument(void **state)
{
	struct kx_invocation inv;
	assert_int_equal(parse(&inv, 2, "-", "x"), 0);
	assert_int_equal(inv.argc, 2);
	assert_string_equal(inv.argv[0], "-");
	assert_int_equal(inv.dash, -1);
	free(inv.argv);
}

static void errors(void **state)
{
	struct kx_invocation inv;
	assert_int_equal(parse(&inv, 1, "--nope"), 1);
	free(inv.argv);
	assert_int_equal(parse(&inv, 1, "-Z"), 1);
	free(inv.argv);
	assert_int_equal(parse(&inv, 1, "-c"), 1);
	free(inv.argv);
	assert_int_equal(parse(&inv, 2, "-p", "12x"), 1);
	free(inv.argv);
	assert_int_equal(parse(&inv, 1, "--output=xml"), 1);
	free(inv.argv);
	assert_int_equal(parse(&inv, 1, "--stdin=maybe"), 1);
	free(inv.argv);
}

/* Every command in the table has a usage line, a summary and examples, and no two
 * options of one command share a name with each other or with a global flag. */
static void tables_are_consistent(void **state)
{
	for (const struct kx_command *const *c = kx_commands; *c; c++) {
		assert_non_null((*c)->summary);
		assert_non_null((*c)->usage);
		if (!((*c)->flags & KX_CMD_HIDDEN))
			assert_non_null((*c)->examples);
		for (const struct kx_option *o = (*c)->options; o && o->type != KX_OPT_END; o++) {
			const struct kx_option *const g[] = {kx_global_options, NULL};
			const struct kx_option *dup = kx_find_long(g, o->long_name, strlen(o->long_name));
			if (dup)
				fail_msg("%s --%s shadows a global flag", (*c)->name, o->long_name);
			assert_non_null(o->help);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(interspersed_flags_and_dashdash, reset),
		cmocka_unit_test_setup(value_forms, reset),
		cmocka_unit_test_setup(bare_option, reset),
		cmocka_unit_test_setup(lists_and_globals, reset),
		cmocka_unit_test_setup(single_dash_is_an_argument, reset),
		cmocka_unit_test_setup(errors, reset),
		cmocka_unit_test_setup(tables_are_consistent, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
