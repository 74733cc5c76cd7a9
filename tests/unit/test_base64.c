/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/base/base64.c: the decoder against Go's base64.StdEncoding (kubeconfig
 * *-data fields, YAML !!binary), the encoder, and the two round-tripping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

static void decodes_as_go_does(void **state)
{
	(void)state;
	/* the decoder against Go's base64.StdEncoding (results taken from Go 1.2x) */
	static const struct {
		const char *in;
		long bad_at; /* -1: valid */
	} go[] = {
		{"QQ", 0}, {"Q===", 1}, {"QQ==QQ==", 4}, {"QQ=", 3}, {"=", 0}, {"Q=Q=", 1},
		{"QUJDRA", 4}, {"QQ==\nx", 5}, {"Q0\nE=", -1}, {"QQ==\n", -1}, {"QQ=\n=", -1},
		{"QUI=", -1}, {"QUJ=", -1}, {"QUJD", -1}, {"", -1},
	};
	for (size_t i = 0; i < sizeof go / sizeof go[0]; i++) {
		char *out;
		size_t len, bad;
		kx_err err = kx__b64_decode(go[i].in, strlen(go[i].in), &out, &len, &bad);
		if (go[i].bad_at < 0) {
			assert_int_equal(err, KX_OK);
			free(out);
		} else {
			assert_int_equal(err, KX_ERR_INVALID);
			assert_int_equal(bad, (size_t)go[i].bad_at);
		}
	}
}

static void decodes_bytes(void **state)
{
	(void)state;
	char *out;
	size_t len, bad;
	assert_int_equal(kx__b64_decode("AP8Aa3g=", 8, &out, &len, &bad), KX_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "\0\xff\0kx", 5);
	assert_int_equal(out[5], '\0'); /* NUL-terminated */
	free(out);
}

static void encodes_with_padding(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} v[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
		 {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}}; /* RFC 4648's vectors */
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *e = kx__b64_encode(v[i].in, strlen(v[i].in));
		assert_non_null(e);
		assert_string_equal(e, v[i].out);
		free(e);
	}
}

static void round_trips_every_byte(void **state)
{
	(void)state;
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (size_t n = 0; n <= sizeof all; n += 37) {
		char *e = kx__b64_encode(all, n), *d;
		size_t len, bad;
		assert_non_null(e);
		assert_int_equal(strlen(e), (n + 2) / 3 * 4);
		assert_int_equal(kx__b64_decode(e, strlen(e), &d, &len, &bad), KX_OK);
		assert_int_equal(len, n);
		if (n)
			assert_memory_equal(d, all, n);
		free(d);
		free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decodes_as_go_does),
		cmocka_unit_test(decodes_bytes),
		cmocka_unit_test(encodes_with_padding),
		cmocka_unit_test(round_trips_every_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
