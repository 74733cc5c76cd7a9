/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests over the whole command table: what help, completion and the man
 * page rely on — every command has examples, every completion source a table
 * names exists, and the man page has a section for every command and a line
 * for every option. A new command or flag that breaks one of these fails here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx.h"

typedef void (*visit_fn)(const struct kx_command *cmd, const char *path, void *ud);

static void walk(const struct kx_command *const *table, const char *parent, visit_fn fn, void *ud)
{
	for (; table && *table; table++) {
		char path[256];
		int n = snprintf(path, sizeof path, "%s%s%s", parent, *parent ? " " : "", (*table)->name);
		if (n < 0 || (size_t)n >= sizeof path)
			fail_msg("command path too long: \"%s %s\"", parent, (*table)->name);
		fn(*table, path, ud);
		walk((*table)->subcommands, path, fn, ud);
	}
}

static void check_examples(const struct kx_command *cmd, const char *path, void *ud)
{
	(void)ud;
	if (!cmd->examples || !strstr(cmd->examples, "  kx "))
		fail_msg("kx %s has no examples (a line \"  kx …\")", path);
	if (!cmd->summary || !cmd->usage)
		fail_msg("kx %s lacks a summary or usage", path);
}

static void every_command_has_examples(void **state)
{
	(void)state;
	walk(kx_commands, "", check_examples, NULL);
}

static void check_sources_of(const struct kx_option *opts, const char *where)
{
	for (const struct kx_option *o = opts; o && o->type != KX_OPT_END; o++)
		if (o->complete && !kx_complete_source_known(o->complete))
			fail_msg("%s --%s: unknown completion source \"%s\"", where, o->long_name, o->complete);
}

static void check_sources(const struct kx_command *cmd, const char *path, void *ud)
{
	(void)ud;
	if (cmd->args_complete && !kx_complete_source_known(cmd->args_complete))
		fail_msg("kx %s: unknown completion source \"%s\"", path, cmd->args_complete);
	check_sources_of(cmd->options, path);
}

static void every_completion_source_exists(void **state)
{
	(void)state;
	walk(kx_commands, "", check_sources, NULL);
	check_sources_of(kx_global_options, "global");
	assert_true(kx_complete_source_known("resource/name"));
	assert_false(kx_complete_source_known("no-such-source"));
}

static void check_man_options(const char *man, const struct kx_option *opts, const char *where)
{
	for (const struct kx_option *o = opts; o && o->type != KX_OPT_END; o++) {
		if (o->flags & KX_OPT_HIDDEN)
			continue;
		/* The page writes "--name" as "\-\-name". */
		char want[128];
		snprintf(want, sizeof want, "\\fB\\-\\-%s\\fR", o->long_name);
		for (char *p = want; *p; p++)
			if (*p == '-' && p[-1] != '\\') {
				memmove(p + 1, p, strlen(p) + 1);
				*p++ = '\\';
			}
		if (!strstr(man, want))
			fail_msg("man page: %s option --%s missing (looked for %s)", where, o->long_name, want);
	}
}

static void check_man(const struct kx_command *cmd, const char *path, void *ud)
{
	const char *man = ud;
	char want[320], esc[300];
	size_t j = 0;
	for (const char *p = path; *p && j + 3 < sizeof esc; p++) {
		if (*p == '-')
			esc[j++] = '\\';
		esc[j++] = *p;
	}
	esc[j] = 0;
	snprintf(want, sizeof want, ".SS \"kx %s\"\n", esc);
	if (!strstr(man, want))
		fail_msg("man page: no section for kx %s", path);
	check_man_options(man, cmd->options, path);
}

static void man_page_covers_the_tables(void **state)
{
	(void)state;
	char *man = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&man, &len);
	assert_non_null(f);
	kx_print_man(f);
	fclose(f);
	assert_non_null(strstr(man, ".TH KX 1"));
	walk(kx_commands, "", check_man, man);
	check_man_options(man, kx_global_options, "global");
	/* No raw byte above 0x7f reaches troff. */
	for (const char *p = man; *p; p++)
		assert_true((unsigned char)*p < 0x80);
	free(man);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_command_has_examples),
		cmocka_unit_test(every_completion_source_exists),
		cmocka_unit_test(man_page_covers_the_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
