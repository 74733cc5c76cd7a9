/* SPDX-License-Identifier: Apache-2.0 */
/* The words kx puts on the terminal for errors and warnings, kubectl's style:
 * "error: …" on stderr; libkx failures mapped to kubectl's messages. */
#include "kx.h"

#include <kx/client.h>

#include <stdarg.h>
#include <string.h>

static void vline(const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void vline(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void kx_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("error: ", fmt, ap);
	va_end(ap);
}

void kx_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("Warning: ", fmt, ap);
	va_end(ap);
}

int kx_usage_error(const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("error: ", fmt, ap);
	va_end(ap);
	fprintf(stderr, "See 'kx %s --help' for usage.\n", path);
	return KX_EXIT_FAIL;
}

int kx_report(kx_err err, const struct kx_errbuf *eb)
{
	kx_error("%s", eb && eb->msg[0] ? eb->msg : kx_strerror(err));
	return KX_EXIT_FAIL;
}

int kx_report_call(struct kx_client *c, kx_err err, const struct kx_errbuf *eb)
{
	const char *detail = eb && eb->msg[0] ? eb->msg : kx_strerror(err);
	const struct kx_status *st = kx_client_status(c);
	switch (err) {
	case KX_ERR_API:
		if (!st)
			break;
		if (st->code == 401)
			kx_error("You must be logged in to the server (%s)", st->message);
		else if (st->reason[0])
			fprintf(stderr, "Error from server (%s): %s\n", st->reason, st->message);
		else
			fprintf(stderr, "Error from server: %s\n", st->message);
		return KX_EXIT_FAIL;
	case KX_ERR_REFUSED:
		fprintf(stderr, "The connection to the server %s was refused - did you specify the right host or port?\n",
			kx_client_host(c));
		return KX_EXIT_FAIL;
	case KX_ERR_CONNECT:
	case KX_ERR_TLS:
	case KX_ERR_TIMEOUT:
		fprintf(stderr, "Unable to connect to the server: %s\n", detail);
		return KX_EXIT_FAIL;
	default:
		break;
	}
	return kx_report(err, eb);
}
