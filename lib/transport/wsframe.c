/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 6455 frame codec (see wsframe.h). */
#include "wsframe.h"
#include "internal.h"

#include <openssl/evp.h>
#include <string.h>

void kx__ws_decoder_init(struct kx_ws_decoder *d)
{
	memset(d, 0, sizeof *d);
	d->head_need = 2;
}

/* The header is complete: check it and set up the payload. */
static kx_err header_done(struct kx_ws_decoder *d, struct kx_errbuf *eb)
{
	uint8_t b0 = d->head[0], b1 = d->head[1];
	int op = b0 & 0x0f;
	d->fin = !!(b0 & 0x80);
	d->opcode = op;
	if (b0 & 0x70)
		return kx__fail(eb, KX_ERR_PROTOCOL, "websocket: reserved bits set in a frame from the server");
	if (b1 & 0x80)
		return kx__fail(eb, KX_ERR_PROTOCOL, "websocket: the server sent a masked frame");
	uint64_t len = b1 & 0x7f;
	if (len == 126)
		len = (uint64_t)d->head[2] << 8 | d->head[3];
	else if (len == 127) {
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | d->head[i];
		if (len >> 63)
			return kx__fail(eb, KX_ERR_PROTOCOL, "websocket: frame length out of range");
	}
	switch (op) {
	case KX_WS_CLOSE:
	case KX_WS_PING:
	case KX_WS_PONG:
		if (!d->fin || len > KX_WS_CONTROL_MAX)
			return kx__fail(eb, KX_ERR_PROTOCOL, "websocket: malformed control frame (opcode %d)", op);
		d->control_len = 0;
		break;
	case KX_WS_CONT:
		if (!d->message)
			return kx__fail(eb, KX_ERR_PROTOCOL, "websocket: continuation frame outside a message");
		break;
	case KX_WS_TEXT:
	case KX_WS_BINARY:
		if (d->message)
			return kx__fail(eb, KX_ERR_PROTOCOL, "websocket: new message before the last one ended");
		d->message = op;
		break;
	default:
		return kx__fail(eb, KX_ERR_PROTOCOL, "websocket: unknown opcode %d", op);
	}
	d->left = len;
	d->in_payload = 1;
	return KX_OK;
}

/* The frame's payload is complete. */
static kx_err frame_done(struct kx_ws_decoder *d, const struct kx_ws_sink *sink, struct kx_errbuf *eb)
{
	int op = d->opcode;
	d->in_payload = 0;
	d->head_len = 0;
	d->head_need = 2;
	if (op >= KX_WS_CLOSE) {
		if (sink->on_control && sink->on_control(sink->ud, op, d->control, d->control_len))
			return KX_ERR_CLOSED;
		return KX_OK;
	}
	if (d->fin) {
		int msg = d->message;
		d->message = 0;
		/* An empty final frame still ends the message. */
		if (sink->on_data && sink->on_data(sink->ud, msg, "", 0, 1))
			return KX_ERR_CLOSED;
	}
	(void)eb;
	return KX_OK;
}

kx_err kx__ws_decode(struct kx_ws_decoder *d, const struct kx_ws_sink *sink, const void *data,
		     size_t len, struct kx_errbuf *eb)
{
	const uint8_t *p = data;
	kx_err err;
	while (len || (d->in_payload && !d->left)) {
		if (!d->in_payload) {
			size_t take = KX_MIN(len, d->head_need - d->head_len);
			memcpy(d->head + d->head_len, p, take);
			d->head_len += take, p += take, len -= take;
			if (d->head_len < d->head_need)
				return KX_OK;
			if (d->head_need == 2) {
				unsigned l7 = d->head[1] & 0x7f;
				size_t need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (d->head[1] & 0x80 ? 4 : 0);
				if (need > 2) {
					d->head_need = need;
					continue;
				}
			}
			if ((err = header_done(d, eb)))
				return err;
			continue;
		}
		if (d->left) {
			size_t take = (size_t)KX_MIN((uint64_t)len, d->left);
			if (d->opcode >= KX_WS_CLOSE) {
				memcpy(d->control + d->control_len, p, take);
				d->control_len += take;
			} else if (take && sink->on_data &&
				   sink->on_data(sink->ud, d->message, p, take, d->fin && take == d->left)) {
				return KX_ERR_CLOSED;
			}
			int ended_message = d->opcode < KX_WS_CLOSE && d->fin && take == d->left && take;
			d->left -= take, p += take, len -= take;
			if (d->left)
				return KX_OK;
			if (ended_message) {
				/* on_data already said last: finish the frame without another call. */
				d->in_payload = 0;
				d->head_len = 0;
				d->head_need = 2;
				d->message = 0;
				continue;
			}
		}
		if ((err = frame_done(d, sink, eb)))
			return err;
	}
	return KX_OK;
}

size_t kx__ws_header(uint8_t out[KX_WS_HEADER_MAX], int opcode, uint64_t len, const uint8_t key[4])
{
	size_t n = 0;
	out[n++] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		out[n++] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		out[n++] = 0x80 | 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			out[n++] = (uint8_t)(len >> (8 * i));
	}
	memcpy(out + n, key, 4);
	return n + 4;
}

void kx__ws_mask(uint8_t *data, size_t len, const uint8_t key[4], uint64_t off)
{
	size_t i = 0;
	/* Byte-wise up to 8-byte alignment of the key phase, then 8 bytes at a time. */
	while (i < len && ((off + i) & 3)) {
		data[i] ^= key[(off + i) & 3];
		i++;
	}
	uint32_t k32;
	memcpy(&k32, key, 4);
	uint64_t k64 = (uint64_t)k32 << 32 | k32;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, data + i, 8);
		w ^= k64;
		memcpy(data + i, &w, 8);
	}
	for (; i < len; i++)
		data[i] ^= key[(off + i) & 3];
}

void kx__ws_accept(const char *key, char out[32])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	out[0] = '\0';
	if (!ctx)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) && EVP_DigestUpdate(ctx, key, strlen(key)) &&
	    EVP_DigestUpdate(ctx, guid, sizeof guid - 1) && EVP_DigestFinal_ex(ctx, md, &mdlen))
		EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
	EVP_MD_CTX_free(ctx);
}
