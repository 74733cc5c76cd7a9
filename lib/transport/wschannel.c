/* SPDX-License-Identifier: Apache-2.0 */
/* Channel protocol decoder and encoders (see wschannel.h). */
#include "wschannel.h"
#include "internal.h"

#include <stdio.h>

void kx__chan_init(struct kx_chan_decoder *d)
{
	d->channel = -1;
	d->status = (struct kx_buf)KX_BUF_INIT(KX_CH_STATUS_MAX);
}

void kx__chan_free(struct kx_chan_decoder *d)
{
	kx_buf_free(&d->status);
}

kx_err kx__chan_feed(struct kx_chan_decoder *d, const struct kx_chan_sink *sink, int first,
		     int last, const void *data, size_t len, struct kx_errbuf *eb)
{
	const unsigned char *p = data;
	if (first) {
		kx_buf_clear(&d->status);
		d->channel = -1;
		if (!len)
			return KX_OK; /* an empty message */
		d->channel = p[0];
		p++;
		len--;
	}
	int stop = 0;
	switch (d->channel) {
	case KX_CH_STDOUT:
	case KX_CH_STDERR:
		if (len && sink->on_output)
			stop = sink->on_output(sink->ud, d->channel, p, len);
		break;
	case KX_CH_ERROR:
		if (len && kx_buf_append(&d->status, p, len))
			return kx__fail(eb, KX_ERR_PROTOCOL, "exec: the status message is larger than %d bytes",
					KX_CH_STATUS_MAX);
		if (last && d->status.len && sink->on_status)
			stop = sink->on_status(sink->ud, d->status.data, d->status.len);
		break;
	case KX_CH_CLOSE:
		if (first && len >= 1 && sink->on_close)
			stop = sink->on_close(sink->ud, p[0]);
		break;
	default:
		break; /* stdin/resize echoes and unknown channels carry nothing for us */
	}
	if (last)
		d->channel = -1;
	return stop ? KX_ERR_CLOSED : KX_OK;
}

int kx__resize_json(char *out, size_t n, unsigned cols, unsigned rows)
{
	int m = snprintf(out, n, "{\"Width\":%u,\"Height\":%u}", cols, rows);
	return m < 0 ? 0 : (size_t)m >= n ? (int)n - 1 : m;
}
