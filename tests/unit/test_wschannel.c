/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the channel protocol decoder: messages, fragments, the ready
 * signal, status collection and its cap, v5 close, stop requests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "wschannel.h"

struct rec {
	char out[256], err[256], status[512];
	size_t nout, nerr;
	int statuses, closed, stop_after_output;
};

static int on_output(void *ud, int ch, const void *data, size_t len)
{
	struct rec *r = ud;
	if (ch == KX_CH_STDOUT) {
		memcpy(r->out + r->nout, data, len);
		r->nout += len;
	} else {
		memcpy(r->err + r->nerr, data, len);
		r->nerr += len;
	}
	return r->stop_after_output;
}

static int on_status(void *ud, const char *json, size_t len)
{
	struct rec *r = ud;
	memcpy(r->status, json, len);
	r->status[len] = '\0';
	r->statuses++;
	return 0;
}

static int on_close(void *ud, int ch)
{
	((struct rec *)ud)->closed = ch + 1;
	return 0;
}

static kx_err feed(struct kx_chan_decoder *d, struct rec *r, int first, int last, const char *bytes,
		   size_t len)
{
	struct kx_chan_sink sink = {on_output, on_status, on_close, r};
	struct kx_errbuf eb = {0};
	return kx__chan_feed(d, &sink, first, last, bytes, len, &eb);
}

static void channels_are_kept_apart(void **state)
{
	struct kx_chan_decoder d;
	struct rec r = {0};
	kx__chan_init(&d);
	assert_int_equal(feed(&d, &r, 1, 1, "\x01out", 4), KX_OK);
	assert_int_equal(feed(&d, &r, 1, 1, "\x02" "err", 4), KX_OK);
	assert_int_equal(feed(&d, &r, 1, 1, "\x01", 1), KX_OK); /* ready signal */
	assert_int_equal(feed(&d, &r, 1, 1, "", 0), KX_OK);     /* empty message */
	assert_int_equal(feed(&d, &r, 1, 1, "\x04{}", 3), KX_OK); /* resize echo: ignored */
	assert_int_equal(feed(&d, &r, 1, 1, "\x07zz", 3), KX_OK); /* unknown channel */
	assert_int_equal(r.nout, 3);
	assert_memory_equal(r.out, "out", 3);
	assert_int_equal(r.nerr, 3);
	kx__chan_free(&d);
}

static void fragments_continue_the_channel(void **state)
{
	struct kx_chan_decoder d;
	struct rec r = {0};
	kx__chan_init(&d);
	assert_int_equal(feed(&d, &r, 1, 0, "\x01" "ab", 3), KX_OK);
	assert_int_equal(feed(&d, &r, 0, 0, "\x02" "c", 2), KX_OK); /* not a channel byte */
	assert_int_equal(feed(&d, &r, 0, 1, "d", 1), KX_OK);
	assert_int_equal(r.nout, 5);
	assert_memory_equal(r.out, "ab\x02" "cd", 5);
	assert_int_equal(r.nerr, 0);
	kx__chan_free(&d);
}

static void status_is_collected_across_fragments(void **state)
{
	struct kx_chan_decoder d;
	struct rec r = {0};
	kx__chan_init(&d);
	assert_int_equal(feed(&d, &r, 1, 0, "\x03{\"status\":", 11), KX_OK);
	assert_int_equal(r.statuses, 0);
	assert_int_equal(feed(&d, &r, 0, 1, "\"Success\"}", 10), KX_OK);
	assert_int_equal(r.statuses, 1);
	assert_string_equal(r.status, "{\"status\":\"Success\"}");
	kx__chan_free(&d);
}

static void status_over_cap_is_a_protocol_error(void **state)
{
	static char big[KX_CH_STATUS_MAX + 2];
	struct kx_chan_decoder d;
	struct rec r = {0};
	kx__chan_init(&d);
	big[0] = KX_CH_ERROR;
	memset(big + 1, 'x', sizeof big - 1);
	assert_int_equal(feed(&d, &r, 1, 1, big, sizeof big), KX_ERR_PROTOCOL);
	assert_int_equal(r.statuses, 0);
	kx__chan_free(&d);
}

static void v5_close_and_stop(void **state)
{
	struct kx_chan_decoder d;
	struct rec r = {0};
	kx__chan_init(&d);
	assert_int_equal(feed(&d, &r, 1, 1, "\xff\x01", 2), KX_OK);
	assert_int_equal(r.closed, 2);
	r.stop_after_output = 1;
	assert_int_equal(feed(&d, &r, 1, 1, "\x01x", 2), KX_ERR_CLOSED);
	kx__chan_free(&d);
}

static void resize_json(void **state)
{
	char buf[64];
	int n = kx__resize_json(buf, sizeof buf, 120, 40);
	assert_string_equal(buf, "{\"Width\":120,\"Height\":40}");
	assert_int_equal(n, (int)strlen(buf));
	n = kx__resize_json(buf, 8, 120, 40);
	assert_int_equal(n, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(channels_are_kept_apart),
		cmocka_unit_test(fragments_continue_the_channel),
		cmocka_unit_test(status_is_collected_across_fragments),
		cmocka_unit_test(status_over_cap_is_a_protocol_error),
		cmocka_unit_test(v5_close_and_stop),
		cmocka_unit_test(resize_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
