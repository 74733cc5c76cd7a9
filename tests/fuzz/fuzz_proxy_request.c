/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the request side of kx proxy (lib/stream/apiproxy.c) — http-parser
 * callbacks, routing, percent-decoding and path cleaning, the filters, header
 * rewriting and chunked re-framing — fed arbitrary client bytes.
 * Input: one byte of options (bit 0: --disable-filter, bit 1: --api-prefix
 * /custom/, bit 2: --www on a missing directory, bit 3: --append-server-path),
 * one byte choosing a split point, then the bytes, fed in two pieces.
 * Checked: no client-sent Proxy-Authorization or second Host ever reaches
 * the server, and nothing at all reaches it for a request the default filter
 * refuses (an exec path). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kx/buf.h>
#include "apiproxy_internal.h"

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static int hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Does the request line's path (percent-decoded) match the default
 * --reject-paths pattern ^/api/.*\/pods/.*\/exec ? */
static int is_exec(const char *line, size_t n)
{
	const char *sp = memchr(line, ' ', n);
	if (!sp)
		return 0;
	char path[4096];
	size_t o = 0;
	for (const char *p = sp + 1; p < line + n && *p != ' ' && *p != '?' && o < sizeof path - 1; p++) {
		if (*p == '%' && p + 2 < line + n && hex(p[1]) >= 0 && hex(p[2]) >= 0) {
			path[o++] = (char)(hex(p[1]) * 16 + hex(p[2]));
			p += 2;
		} else
			path[o++] = *p;
	}
	path[o] = '\0';
	const char *pods = strncmp(path, "/api/", 5) ? NULL : strstr(path + 4, "/pods/");
	return pods && strstr(pods + 5, "/exec");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct kx_apiproxy_opts o = {0};
	o.disable_filter = data[0] & 1;
	o.api_prefix = (data[0] & 2) ? "/custom/" : NULL;
	o.www = (data[0] & 4) ? "/nonexistent-kx-fuzz" : NULL;
	o.append_server_path = (data[0] & 8) != 0;
	size_t split = data[1] * (size - 2) / 255;
	struct kx_buf client = KX_BUF_INIT(64 << 20), up = KX_BUF_INIT(64 << 20);
	struct kx_errbuf eb = {0};
	check(!kx__apiproxy_feed_once(&o, (const char *)data + 2, size - 2, split, &client, &up, &eb));
	if (up.len) {
		/* The first request's head (later ones follow bodies, which may hold
		 * anything): it names the server once, and carries no
		 * Proxy-Authorization and no refused path. */
		const char *end = strstr(up.data, "\r\n\r\n");
		check(end != NULL);
		size_t head = (size_t)(end - up.data) + 2;
		const char *eol = memchr(up.data, '\n', head);
		check(eol && !strncmp(eol + 1, "Host: api.test:6443\r\n", 21));
		int hosts = 0;
		for (const char *p = up.data; p < up.data + head; p++) {
			check(strncasecmp(p, "\nProxy-Authorization:", 21));
			hosts += !strncasecmp(p, "\nHost:", 6);
		}
		check(hosts == 1);
		if (!o.disable_filter)
			check(!is_exec(up.data, (size_t)(eol - up.data)));
	}
	kx_buf_free(&client);
	kx_buf_free(&up);
	return 0;
}
