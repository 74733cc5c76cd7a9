/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 6455 framing as a pure client-side codec: a decoder for the server's
 * frames (bytes in, callbacks out, any split) and an encoder for masked client
 * frames. No I/O and no handshake (lib/transport/upconn.c does that). Used by kx's own
 * WebSocket client, which carries the SPDY/3.1 port-forward tunnel. */
#ifndef KX_WSFRAME_H
#define KX_WSFRAME_H

#include <kx/common.h>
#include <stddef.h>
#include <stdint.h>

enum {
	KX_WS_CONT = 0x0,
	KX_WS_TEXT = 0x1,
	KX_WS_BINARY = 0x2,
	KX_WS_CLOSE = 0x8,
	KX_WS_PING = 0x9,
	KX_WS_PONG = 0xA,
};

#define KX_WS_HEADER_MAX 14   /* 2 + 8 (64-bit length) + 4 (mask key) */
#define KX_WS_CONTROL_MAX 125

struct kx_ws_sink {
	/* A piece of a data message's payload (text or binary); last = the
	 * message ends here (only then may len be 0). Return non-zero to stop. */
	int (*on_data)(void *ud, int opcode, const void *data, size_t len, int last);
	/* A whole control frame: close, ping or pong (payload ≤ 125 bytes). */
	int (*on_control)(void *ud, int opcode, const uint8_t *payload, size_t len);
	void *ud;
};

struct kx_ws_decoder {
	uint8_t head[KX_WS_HEADER_MAX];
	size_t head_len, head_need;
	int opcode;              /* of the frame being read */
	int fin;
	int message;             /* opcode of the data message in progress, 0 = none */
	uint64_t left;           /* payload bytes of the current frame still to come */
	uint8_t control[KX_WS_CONTROL_MAX];
	size_t control_len;
	int in_payload;
};

void kx__ws_decoder_init(struct kx_ws_decoder *d);
/* Feed bytes from the server. Protocol violations (reserved bits, unknown or
 * fragmented control opcodes, masked server frames, a continuation with no
 * message, a new message inside one, a 64-bit length with its top bit set)
 * are KX_ERR_PROTOCOL with a message; a sink's stop is KX_ERR_CLOSED. */
kx_err kx__ws_decode(struct kx_ws_decoder *d, const struct kx_ws_sink *sink, const void *data,
		     size_t len, struct kx_errbuf *eb);

/* Write a client frame header (FIN set, masked with key) for a payload of len
 * bytes into out; returns its length. */
size_t kx__ws_header(uint8_t out[KX_WS_HEADER_MAX], int opcode, uint64_t len, const uint8_t key[4]);
/* XOR data with the mask key, as if data started at payload offset off. */
void kx__ws_mask(uint8_t *data, size_t len, const uint8_t key[4], uint64_t off);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (base64 of SHA-1 of key + the
 * RFC's GUID); out gets a NUL-terminated string (29 bytes with the NUL). */
void kx__ws_accept(const char *key, char out[32]);

#endif
