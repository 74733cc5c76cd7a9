/* SPDX-License-Identifier: Apache-2.0 */
/* The one table of commands: adding a command is one row here, one file in
 * cmd/, one bats file and one section of the man page. */
#include "kx.h"

#include <string.h>

const struct kx_command *const kx_commands[] = {
	&kx_cmd_exec,
	&kx_cmd_attach,
	&kx_cmd_port_forward,
	&kx_cmd_forward,
	&kx_cmd_proxy,
	&kx_cmd_version,
	&kx_cmd_config,
	&kx_cmd_get,
	&kx_cmd_expose,
	&kx_cmd_create,
	&kx_cmd_reach,
	&kx_cmd_help,
	&kx_cmd_options,
	&kx_cmd_complete,
	&kx_cmd_completion,
	&kx_cmd_man,
	NULL,
};

const struct kx_command *kx_find_command(const struct kx_command *const *table, const char *name)
{
	for (; table && *table; table++)
		if (!strcmp((*table)->name, name))
			return *table;
	return NULL;
}

