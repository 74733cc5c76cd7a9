/* SPDX-License-Identifier: Apache-2.0 */
/* kx attach: attach to the main process of a running container — exec's
 * session without a command (same flags, transports and exit rules). */
#include "kx.h"

static int attach_run(const struct kx_invocation *inv)
{
	if (inv->argc == 0)
		return kx_usage_error(inv->path, "at least 1 argument is required for attach");
	if (inv->argc > 1 || inv->dash >= 0)
		return kx_usage_error(inv->path, "expected a single pod, type/name argument");
	return kx_run_session(inv, inv->argv[0], NULL);
}

const struct kx_command kx_cmd_attach = {
	.name = "attach",
	.run = attach_run,
	.summary = "Attach to a running container",
	.usage = "kx attach (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] [-q]",
	.description = "Streams the container's main process: its output, and with -i your input.\n"
		       "Ctrl-C (without -t) detaches; kx then exits 130.",
	.examples = "  # Follow the output of pod web-0's default container\n  kx attach web-0\n\n"
		    "  # Interactive, with a terminal, in container sidecar\n  kx attach -it web-0 -c sidecar",
	.options = kx_session_options,
	.args_complete = "pod",
};
