/* SPDX-License-Identifier: Apache-2.0 */
/* The local terminal for exec -t: raw mode in, and restored on every way out
 * (normal return, error, exit(), and signals the loop turns into returns). */
#include "kx.h"

#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static int saved_fd = -1;

void kx_tty_restore(void)
{
	if (saved_fd >= 0) {
		tcsetattr(saved_fd, TCSADRAIN, &saved);
		saved_fd = -1;
	}
}

int kx_tty_raw(int fd)
{
	struct termios raw;
	if (tcgetattr(fd, &saved))
		return -1;
	raw = saved;
	cfmakeraw(&raw);
	saved_fd = fd;
	static int registered;
	if (!registered++)
		atexit(kx_tty_restore);
	return tcsetattr(fd, TCSADRAIN, &raw);
}
