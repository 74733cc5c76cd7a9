/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internal, bottom layer: standard padded base64 (uses only buf.c's kx__memzero). */
#ifndef KX_BASE64_H
#define KX_BASE64_H

#include <kx/common.h>
#include <stddef.h>

/* Standard padded base64 the way Go's base64.StdEncoding decodes it (CR/LF skipped,
 * padding required, nothing after it). *out is malloc'd and NUL-terminated; on
 * KX_ERR_INVALID *bad_at is the offending input offset (Go's "illegal base64 data at
 * input byte N"). */
kx_err kx__b64_decode(const char *in, size_t len, char **out, size_t *outlen, size_t *bad_at);

/* The padded base64 of n bytes, malloc'd and NUL-terminated; NULL when out of memory. */
char *kx__b64_encode(const void *data, size_t n);

#endif
