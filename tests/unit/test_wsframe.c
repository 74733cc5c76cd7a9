/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for kx's RFC 6455 frame codec: server frames split anywhere,
 * fragmented messages, control frames between fragments, protocol errors, the
 * client-side encoder and mask, and the handshake's accept value (RFC 6455's
 * own example). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "wsframe.h"

struct rec {
	uint8_t data[80000];
	size_t n;
	int messages, pings, closes;
	uint8_t ping[KX_WS_CONTROL_MAX];
	size_t ping_len;
	int stop;
};

static int on_data(void *ud, int opcode, const void *data, size_t len, int last)
{
	struct rec *r = ud;
	assert_true(opcode == KX_WS_BINARY || opcode == KX_WS_TEXT);
	memcpy(r->data + r->n, data, len);
	r->n += len;
	r->messages += last;
	return r->stop;
}

static int on_control(void *ud, int opcode, const uint8_t *payload, size_t len)
{
	struct rec *r = ud;
	if (opcode == KX_WS_PING) {
		r->pings++;
		memcpy(r->ping, payload, len);
		r->ping_len = len;
	} else if (opcode == KX_WS_CLOSE) {
		r->closes++;
	}
	return 0;
}

/* An unmasked server frame. */
static size_t server_frame(uint8_t *out, int fin, int op, const void *payload, size_t len)
{
	size_t n = 0;
	out[n++] = (uint8_t)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		out[n++] = (uint8_t)len;
	} else if (len <= 0xffff) {
		out[n++] = 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = 127;
		for (int i = 7; i >= 0; i--)
			out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	memcpy(out + n, payload, len);
	return n + len;
}

static kx_err feed_split(struct kx_ws_decoder *d, struct rec *r, const uint8_t *in, size_t len, size_t step)
{
	struct kx_ws_sink sink = {on_data, on_control, r};
	struct kx_errbuf eb = {0};
	for (size_t i = 0; i < len; i += step) {
		kx_err err = kx__ws_decode(d, &sink, in + i, i + step > len ? len - i : step, &eb);
		if (err)
			return err;
	}
	return KX_OK;
}

static void frames_of_every_length_form_any_split(void **state)
{
	(void)state;
	static uint8_t wire[3 * 70100], payload[70000];
	static struct rec r;
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7);
	size_t n = 0;
	n += server_frame(wire + n, 1, KX_WS_BINARY, payload, 100);     /* 7-bit length */
	n += server_frame(wire + n, 1, KX_WS_BINARY, payload, 1000);    /* 16-bit */
	n += server_frame(wire + n, 1, KX_WS_BINARY, payload, 70000);   /* 64-bit */
	size_t steps[] = {1, 2, 3, 13, 4096, sizeof wire};
	for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
		struct kx_ws_decoder d;
		kx__ws_decoder_init(&d);
		memset(&r, 0, sizeof r);
		assert_int_equal(feed_split(&d, &r, wire, n, steps[s]), KX_OK);
		assert_int_equal(r.messages, 3);
		assert_int_equal(r.n, 71100);
		assert_memory_equal(r.data, payload, 100);
		assert_memory_equal(r.data + 100, payload, 1000);
		assert_memory_equal(r.data + 1100, payload, 70000);
	}
}

static void fragments_with_a_ping_in_between(void **state)
{
	(void)state;
	uint8_t wire[256];
	static struct rec r;
	memset(&r, 0, sizeof r);
	size_t n = 0;
	n += server_frame(wire + n, 0, KX_WS_BINARY, "abc", 3);
	n += server_frame(wire + n, 1, KX_WS_PING, "hi", 2);
	n += server_frame(wire + n, 0, KX_WS_CONT, "", 0);
	n += server_frame(wire + n, 1, KX_WS_CONT, "def", 3);
	n += server_frame(wire + n, 1, KX_WS_BINARY, "", 0);            /* an empty message */
	struct kx_ws_decoder d;
	kx__ws_decoder_init(&d);
	assert_int_equal(feed_split(&d, &r, wire, n, 1), KX_OK);
	assert_int_equal(r.n, 6);
	assert_memory_equal(r.data, "abcdef", 6);
	assert_int_equal(r.messages, 2);
	assert_int_equal(r.pings, 1);
	assert_int_equal(r.ping_len, 2);
	assert_memory_equal(r.ping, "hi", 2);
}

static void protocol_errors(void **state)
{
	(void)state;
	struct {
		uint8_t bytes[16];
		size_t len;
	} bad[] = {
		{{0xC2, 0x00}, 2},                   /* RSV1 set */
		{{0x82, 0x81, 1, 2, 3, 4, 0}, 7},    /* masked server frame */
		{{0x80, 0x00}, 2},                   /* continuation with no message */
		{{0x83, 0x00}, 2},                   /* reserved opcode 3 */
		{{0x09, 0x00}, 2},                   /* fragmented ping */
		{{0x89, 126, 0, 126}, 4},            /* ping longer than 125 */
		{{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10}, /* 64-bit length with the top bit */
		{{0x02, 0x00, 0x82, 0x00}, 4},       /* a new message inside one */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct kx_ws_decoder d;
		struct rec r = {0};
		struct kx_ws_sink sink = {on_data, on_control, &r};
		struct kx_errbuf eb = {0};
		kx__ws_decoder_init(&d);
		assert_int_equal(kx__ws_decode(&d, &sink, bad[i].bytes, bad[i].len, &eb), KX_ERR_PROTOCOL);
		assert_true(strncmp(eb.msg, "websocket: ", 11) == 0);
	}
}

static void a_stopping_sink_is_closed(void **state)
{
	(void)state;
	uint8_t wire[64];
	struct rec r = {0};
	r.stop = 1;
	size_t n = server_frame(wire, 1, KX_WS_BINARY, "x", 1);
	struct kx_ws_decoder d;
	struct kx_ws_sink sink = {on_data, on_control, &r};
	struct kx_errbuf eb = {0};
	kx__ws_decoder_init(&d);
	assert_int_equal(kx__ws_decode(&d, &sink, wire, n, &eb), KX_ERR_CLOSED);
}

static void encoder_and_mask(void **state)
{
	(void)state;
	const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t h[KX_WS_HEADER_MAX];
	/* RFC 6455 5.7: a masked "Hello". */
	assert_int_equal(kx__ws_header(h, KX_WS_TEXT, 5, key), 6);
	const uint8_t want[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d};
	assert_memory_equal(h, want, 6);
	uint8_t hello[] = "Hello";
	kx__ws_mask(hello, 5, key, 0);
	const uint8_t masked[] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
	assert_memory_equal(hello, masked, 5);
	assert_int_equal(kx__ws_header(h, KX_WS_BINARY, 300, key), 8);
	assert_int_equal(h[1], 0x80 | 126);
	assert_int_equal(kx__ws_header(h, KX_WS_BINARY, 70000, key), 14);
	assert_int_equal(h[1], 0x80 | 127);
	/* The word-wise mask equals the byte-wise one at every offset and length. */
	uint8_t a[100], b[100];
	for (uint64_t off = 0; off < 8; off++)
		for (size_t len = 0; len < 40; len++) {
			for (size_t i = 0; i < sizeof a; i++)
				a[i] = b[i] = (uint8_t)(i * 31 + 5);
			kx__ws_mask(a + 3, len, key, off);
			for (size_t i = 0; i < len; i++)
				b[3 + i] ^= key[(off + i) & 3];
			assert_memory_equal(a, b, sizeof a);
		}
}

static void accept_value(void **state)
{
	(void)state;
	char out[32];
	kx__ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out); /* RFC 6455 1.3 */
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frames_of_every_length_form_any_split),
		cmocka_unit_test(fragments_with_a_ping_in_between),
		cmocka_unit_test(protocol_errors),
		cmocka_unit_test(a_stopping_sink_is_closed),
		cmocka_unit_test(encoder_and_mask),
		cmocka_unit_test(accept_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
