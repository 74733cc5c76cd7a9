/* Channel protocol helpers (see wschannel.h). */
#include "wschannel.h"

#include <stdio.h>

int kx__resize_json(char *out, size_t n, unsigned cols, unsigned rows)
{
	int m = snprintf(out, n, "{\"Width\":%u,\"Height\":%u}", cols, rows);
	return m < 0 ? 0 : (size_t)m >= n ? (int)n - 1 : m;
}
