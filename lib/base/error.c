/* SPDX-License-Identifier: Apache-2.0 */
/* Error codes and the first-message-wins error buffer. */
#include "internal.h"

#include <stdio.h>

#include "kx_build_version.h"

const char *kx_version(void)
{
	return KX_BUILD_VERSION;
}

const char *kx_strerror(kx_err err)
{
	switch (err) {
	case KX_OK: return "success";
	case KX_ERR_NOMEM: return "out of memory";
	case KX_ERR_INVALID: return "invalid input";
	case KX_ERR_CONFIG: return "invalid configuration";
	case KX_ERR_IO: return "input/output error";
	case KX_ERR_CONNECT: return "could not connect to the server";
	case KX_ERR_REFUSED: return "connection refused";
	case KX_ERR_TLS: return "TLS error";
	case KX_ERR_TIMEOUT: return "timed out";
	case KX_ERR_AUTH: return "could not get credentials";
	case KX_ERR_API: return "the server reported an error";
	case KX_ERR_PROTOCOL: return "protocol error";
	case KX_ERR_TOO_LARGE: return "input too large";
	case KX_ERR_NOT_FOUND: return "not found";
	case KX_ERR_CLOSED: return "connection closed";
	case KX_ERR_INTERRUPTED: return "interrupted";
	case KX_ERR_UNSUPPORTED: return "not supported by the server";
	}
	return "unknown error";
}

kx_err kx__fail(struct kx_errbuf *eb, kx_err err, const char *fmt, ...)
{
	if (eb && !eb->msg[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
		va_end(ap);
	}
	return err;
}
