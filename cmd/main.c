/* SPDX-License-Identifier: Apache-2.0 */
/* kx's entry point and dispatch: global flags may come before the command (as
 * kubectl allows), subcommands nest; the command table is in commands.c. */
#include "kx.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int want_help;
static const struct kx_option no_options[] = {OPT_END()};
static const struct kx_option help_options[] = {
	OPT_BOOL('h', "help", &want_help, "Show help for the command"),
	OPT_END(),
};

/* Index of the first argument that is not a flag (nor a flag's value), or argc. */
static int first_word(int argc, char **argv, const struct kx_option *const *tables)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1])
			return i;
		if (!strcmp(a, "--"))
			return argc;
		if (a[1] == '-' && !strchr(a, '=')) {
			const struct kx_option *o = kx_find_long(tables, a + 2, strlen(a + 2));
			if (o && o->type != KX_OPT_BOOL)
				i++;
		} else if (a[1] != '-' && !a[2]) {
			for (const struct kx_option *const *t = tables; *t; t++)
				for (const struct kx_option *o = *t; o->type != KX_OPT_END; o++)
					if (o->short_name == a[1] && o->type != KX_OPT_BOOL)
						i++;
		}
	}
	return argc;
}

static int dispatch(const struct kx_command *cmd, const char *path, int argc, char **argv)
{
	const struct kx_option *const tables[] = {cmd->options ? cmd->options : no_options,
						  kx_global_options, help_options, NULL};
	if (cmd->subcommands) {
		int w = first_word(argc, argv, tables);
		if (w < argc) {
			const struct kx_command *sub = kx_find_command(cmd->subcommands, argv[w]);
			if (!sub && !cmd->run) {
				kx_error("unknown command \"%s\" for \"kx %s\"", argv[w], path);
				fprintf(stderr, "See 'kx %s --help' for usage.\n", path);
				return KX_EXIT_FAIL;
			}
			if (sub) {
				char subpath[256];
				snprintf(subpath, sizeof subpath, "%s %s", path, sub->name);
				memmove(argv + w, argv + w + 1, (size_t)(argc - w - 1) * sizeof *argv);
				return dispatch(sub, subpath, argc - 1, argv);
			}
		}
	}
	struct kx_invocation inv = {.cmd = cmd, .path = path};
	int rc = kx_parse_options(path, tables, argc, argv, &inv);
	if (rc == 0 && (want_help || !cmd->run)) {
		kx_print_command_help(stdout, cmd, path);
	} else if (rc == 0) {
		rc = cmd->run(&inv);
	}
	free(inv.argv);
	return rc;
}

/* A standard descriptor the caller closed (`kx … <&-`) would be handed to the
 * next thing kx opens — a connection, the event loop — and stdin would then be
 * that. /dev/null stands in for it: a closed stdin reads as EOF. */
static void fill_standard_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", fd ? O_WRONLY : O_RDONLY);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
}

int main(int argc, char **argv)
{
	fill_standard_fds();
	signal(SIGPIPE, SIG_IGN);
	const struct kx_option *const globals[] = {kx_global_options, help_options, NULL};
	int w = first_word(argc - 1, argv + 1, globals) + 1;
	if (w >= argc) {
		/* Only flags: "kx", "kx --help", "kx -n x". */
		struct kx_invocation inv = {0};
		int rc = kx_parse_options("help", globals, argc - 1, argv + 1, &inv);
		free(inv.argv);
		if (rc)
			return rc;
		kx_print_main_help(stdout);
		return KX_EXIT_OK;
	}
	const struct kx_command *cmd = kx_find_command(kx_commands, argv[w]);
	if (!cmd) {
		kx_error("unknown command \"%s\" for \"kx\"", argv[w]);
		fputs("Run 'kx --help' for usage.\n", stderr);
		return KX_EXIT_FAIL;
	}
	if (kx_global_init()) {
		kx_error("could not initialise libkx (libcurl)");
		return KX_EXIT_FAIL;
	}
	/* Drop the command's name; leading global flags stay in place. */
	memmove(argv + w, argv + w + 1, (size_t)(argc - w - 1) * sizeof *argv);
	argv[argc - 1] = NULL;
	int rc = dispatch(cmd, cmd->name, argc - 2, argv + 1);
	fflush(stdout);
	if (ferror(stdout)) {
		kx_error("writing to standard output failed");
		rc = KX_EXIT_FAIL;
	}
	kx_global_cleanup();
	return rc;
}
