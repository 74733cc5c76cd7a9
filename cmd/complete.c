/* kx __complete: completion candidates from the command and option tables. */
#include "kx.h"

const struct kx_command kx_cmd_complete = {
	.name = "__complete",
	.summary = "Completion candidates for shells",
	.usage = "kx __complete WORDS...",
	.flags = KX_CMD_HIDDEN,
};
