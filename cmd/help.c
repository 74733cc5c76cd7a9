/* SPDX-License-Identifier: Apache-2.0 */
/* Help text, rendered from the command and option tables (the same tables the
 * parser and completion use, so the three cannot drift). */
#include "kx.h"

#include <string.h>

static void print_option(FILE *out, const struct kx_option *o)
{
	char left[96];
	int n = o->short_name ? snprintf(left, sizeof left, "  -%c, --%s", o->short_name, o->long_name)
			      : snprintf(left, sizeof left, "      --%s", o->long_name);
	if (o->type != KX_OPT_BOOL && o->argh && n > 0 && (size_t)n < sizeof left)
		snprintf(left + n, sizeof left - (size_t)n, o->flags & KX_OPT_BARE ? "[=%s]" : "=%s", o->argh);
	fprintf(out, "%-36s %s", left, o->help);
	if (o->choices) {
		fputs(" (one of:", out);
		for (const char *const *c = o->choices; *c; c++)
			fprintf(out, " %s", *c);
		fputc(')', out);
	}
	if (o->defval && *o->defval)
		fprintf(out, " [default: %s]", o->defval);
	fputc('\n', out);
}

static void print_options(FILE *out, const char *title, const struct kx_option *opts)
{
	int any = 0;
	for (const struct kx_option *o = opts; o && o->type != KX_OPT_END; o++) {
		if (o->flags & KX_OPT_HIDDEN)
			continue;
		if (!any++)
			fprintf(out, "\n%s:\n", title);
		print_option(out, o);
	}
}

void kx_print_command_help(FILE *out, const struct kx_command *cmd, const char *path)
{
	fprintf(out, "%s\n", cmd->summary);
	if (cmd->description)
		fprintf(out, "\n%s\n", cmd->description);
	if (cmd->subcommands) {
		fputs("\nAvailable Commands:\n", out);
		for (const struct kx_command *const *s = cmd->subcommands; *s; s++)
			if (!((*s)->flags & KX_CMD_HIDDEN))
				fprintf(out, "  %-16s %s\n", (*s)->name, (*s)->summary);
	}
	if (cmd->examples)
		fprintf(out, "\nExamples:\n%s\n", cmd->examples);
	print_options(out, "Options", cmd->options);
	fprintf(out, "\nUsage:\n  %s\n", cmd->usage);
	if (cmd->subcommands)
		fprintf(out, "\nUse \"kx %s <command> --help\" for more information about a given command.\n",
			path);
	fputs("Use \"kx options\" for a list of global command-line options (applies to all commands).\n",
	      out);
}

void kx_print_main_help(FILE *out)
{
	fputs("kx reaches workloads inside a Kubernetes cluster: exec, port-forward, proxy, expose.\n"
	      "It reads the same kubeconfig as kubectl and takes the same flags.\n\nCommands:\n",
	      out);
	for (const struct kx_command *const *c = kx_commands; *c; c++)
		if (!((*c)->flags & KX_CMD_HIDDEN))
			fprintf(out, "  %-16s %s\n", (*c)->name, (*c)->summary);
	fputs("\nUsage:\n  kx [flags] <command> [options]\n\n"
	      "Use \"kx <command> --help\" for more information about a given command.\n"
	      "Use \"kx options\" for a list of global command-line options (applies to all commands).\n",
	      out);
}

static int cmd_help_run(const struct kx_invocation *inv)
{
	if (inv->argc == 0) {
		kx_print_main_help(stdout);
		return KX_EXIT_OK;
	}
	const struct kx_command *const *table = kx_commands;
	const struct kx_command *found = NULL;
	char path[256] = "";
	for (int i = 0; i < inv->argc && table; i++) {
		found = NULL;
		found = kx_find_command(table, inv->argv[i]);
		if (!found) {
			kx_error("unknown command \"%s\" for \"kx%s%s\"", inv->argv[i], *path ? " " : "", path);
			return KX_EXIT_FAIL;
		}
		if (*path)
			strncat(path, " ", sizeof path - strlen(path) - 1);
		strncat(path, found->name, sizeof path - strlen(path) - 1);
		table = found->subcommands;
	}
	kx_print_command_help(stdout, found, path);
	return KX_EXIT_OK;
}

static int cmd_options_run(const struct kx_invocation *inv)
{
	(void)inv;
	fputs("The following options can be passed to any command:\n", stdout);
	print_options(stdout, "Global options", kx_global_options);
	return KX_EXIT_OK;
}

const struct kx_command kx_cmd_help = {
	.name = "help",
	.run = cmd_help_run,
	.summary = "Help about any command",
	.usage = "kx help [COMMAND [SUBCOMMAND]]",
	.examples = "  kx help\n  kx help exec\n  kx help config view",
	.args_complete = "command",
};

const struct kx_command kx_cmd_options = {
	.name = "options",
	.run = cmd_options_run,
	.summary = "Print the list of flags inherited by all commands",
	.usage = "kx options",
	.examples = "  kx options",
};
