/* SPDX-License-Identifier: Apache-2.0 */
/* Standard base64 (RFC 4648 with padding), decoded the way Go's base64.StdEncoding
 * decodes it, for kubeconfig *-data fields and YAML's !!binary (see base64.h). */
#include "base64.h"
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 with padding, as Go's base64.StdEncoding decodes it: CR and LF
 * are skipped anywhere, padding is required, nothing may follow it. */
kx_err kx__b64_decode(const char *in, size_t len, char **out, size_t *outlen, size_t *bad_at)
{
	*out = NULL;
	*outlen = 0;
	*bad_at = 0;
	unsigned char *dst = malloc(len / 4 * 3 + 4);
	if (!dst)
		return KX_ERR_NOMEM;
	size_t si = 0, n = 0;
	for (;;) {
		int q[4];
		size_t j, dlen = 4;
		for (j = 0; j < 4; j++) {
			if (si == len) {
				if (j == 0)
					goto done;
				*bad_at = si - j;
				goto bad;
			}
			unsigned char c = (unsigned char)in[si++];
			int v = b64_value(c);
			if (v >= 0) {
				q[j] = v;
				continue;
			}
			if (c == '\n' || c == '\r') {
				j--;
				continue;
			}
			if (c != '=' || j < 2) {
				*bad_at = si - 1;
				goto bad;
			}
			if (j == 2) {
				while (si < len && (in[si] == '\n' || in[si] == '\r'))
					si++;
				if (si == len) {
					*bad_at = len;
					goto bad;
				}
				if (in[si] != '=') {
					*bad_at = si - 1;
					goto bad;
				}
				si++;
			}
			while (si < len && (in[si] == '\n' || in[si] == '\r'))
				si++;
			if (si < len) {
				*bad_at = si;
				goto bad;
			}
			dlen = j;
			break;
		}
		uint32_t v = 0;
		for (size_t k = 0; k < 4; k++)
			v = (v << 6) | (uint32_t)(k < dlen ? q[k] : 0);
		dst[n++] = (unsigned char)(v >> 16);
		if (dlen > 2)
			dst[n++] = (unsigned char)(v >> 8);
		if (dlen > 3)
			dst[n++] = (unsigned char)v;
		if (dlen < 4)
			break;
	}
done:
	dst[n] = '\0';
	*out = (char *)dst;
	*outlen = n;
	return KX_OK;
bad:
	kx__memzero(dst, len / 4 * 3 + 4);
	free(dst);
	return KX_ERR_INVALID;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *kx__b64_encode(const void *data, size_t n)
{
	const unsigned char *d = data;
	char *o = malloc((n + 2) / 3 * 4 + 1), *p = o;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) |
			     (i + 2 < n ? d[i + 2] : 0);
		*p++ = b64chars[v >> 18 & 63];
		*p++ = b64chars[v >> 12 & 63];
		*p++ = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		*p++ = i + 2 < n ? b64chars[v & 63] : '=';
	}
	*p = '\0';
	return o;
}
