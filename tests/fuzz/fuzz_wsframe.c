/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: kx's WebSocket frame decoder (server frames of the port-forward
 * tunnel). The first byte picks the split size; the rest is fed in pieces.
 * Checks: data only inside a message, control payloads ≤ 125 bytes, every
 * byte handed out readable. */
#include <stdint.h>
#include <string.h>

#include "wsframe.h"

static int on_data(void *ud, int opcode, const void *data, size_t len, int last)
{
	(void)ud;
	(void)last;
	if (opcode != KX_WS_BINARY && opcode != KX_WS_TEXT)
		__builtin_trap();
	unsigned char sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += ((const unsigned char *)data)[i];
	return sum == 0xFFu && len == (size_t)-1;
}

static int on_control(void *ud, int opcode, const uint8_t *payload, size_t len)
{
	(void)ud;
	if (len > KX_WS_CONTROL_MAX || opcode < KX_WS_CLOSE || opcode > KX_WS_PONG)
		__builtin_trap();
	unsigned char sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += payload[i];
	return sum == 0xFFu && len == (size_t)-1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	size_t step = (size_t)data[0] + 1;
	data++, size--;
	struct kx_ws_decoder d;
	struct kx_ws_sink sink = {on_data, on_control, NULL};
	kx__ws_decoder_init(&d);
	for (size_t i = 0; i < size; i += step) {
		struct kx_errbuf eb = {0};
		size_t n = i + step > size ? size - i : step;
		if (kx__ws_decode(&d, &sink, data + i, n, &eb))
			break;
	}
	return 0;
}
