/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the WebSocket channel decoder. The input is cut into fragments:
 * each byte b of a small header says a fragment's length (b & 63) and whether
 * it starts (0x40) or ends (0x80) a message. */
#include <stdint.h>
#include <string.h>

#include "wschannel.h"

static int on_output(void *ud, int ch, const void *data, size_t len)
{
	(void)ud;
	if (ch != 1 && ch != 2)
		__builtin_trap();
	/* Touch every byte: ASan flags a callback handed memory it may not read. */
	unsigned char sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += ((const unsigned char *)data)[i];
	return sum == 0xFFu && len == (size_t)-1;
}

static int on_status(void *ud, const char *json, size_t len)
{
	(void)ud;
	if (!len || len > KX_CH_STATUS_MAX || json[len] != '\0')
		__builtin_trap();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kx_chan_decoder d;
	struct kx_chan_sink sink = {on_output, on_status, NULL, NULL};
	kx__chan_init(&d);
	size_t i = 0;
	while (i < size) {
		uint8_t h = data[i++];
		size_t n = h & 63;
		if (n > size - i)
			n = size - i;
		struct kx_errbuf eb = {0};
		if (kx__chan_feed(&d, &sink, !!(h & 0x40), !!(h & 0x80), data + i, n, &eb) == KX_ERR_PROTOCOL)
			break;
		i += n;
	}
	kx__chan_free(&d);
	return 0;
}
