/* Decoding metav1.Status bodies: failed REST calls and exec's exit status. */
#include <kx/client.h>
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_str(char *dst, size_t n, const cJSON *item)
{
	if (cJSON_IsString(item) && item->valuestring)
		snprintf(dst, n, "%s", item->valuestring);
}

/* The standard reason for an HTTP code, for bodies that are not a Status. */
static const char *reason_for_code(int code)
{
	switch (code) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 406: return "NotAcceptable";
	case 409: return "Conflict";
	case 410: return "Expired";
	case 413: return "RequestEntityTooLarge";
	case 415: return "UnsupportedMediaType";
	case 422: return "Invalid";
	case 429: return "TooManyRequests";
	case 500: return "InternalError";
	case 503: return "ServiceUnavailable";
	case 504: return "Timeout";
	}
	return "";
}

void kx_status_decode(const char *body, size_t len, int http_code, struct kx_status *st)
{
	memset(st, 0, sizeof *st);
	st->code = http_code;
	st->exit_code = -1;
	cJSON *doc = body && len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	/* exec's status channel sends Status objects without kind/apiVersion. */
	int is_status = cJSON_IsObject(doc) &&
			((cJSON_IsString(kind) && !strcmp(kind->valuestring, "Status")) ||
			 (!kind && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "status"))));
	if (is_status) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(doc, "code");
		if (cJSON_IsNumber(code) && code->valuedouble > 0 && code->valuedouble < 1000)
			st->code = (int)code->valuedouble;
		copy_str(st->reason, sizeof st->reason, cJSON_GetObjectItemCaseSensitive(doc, "reason"));
		copy_str(st->message, sizeof st->message, cJSON_GetObjectItemCaseSensitive(doc, "message"));
		copy_str(st->status, sizeof st->status, cJSON_GetObjectItemCaseSensitive(doc, "status"));
		const cJSON *details = cJSON_GetObjectItemCaseSensitive(doc, "details");
		copy_str(st->kind, sizeof st->kind, cJSON_GetObjectItemCaseSensitive(details, "kind"));
		copy_str(st->name, sizeof st->name, cJSON_GetObjectItemCaseSensitive(details, "name"));
		const cJSON *cause;
		cJSON_ArrayForEach(cause, cJSON_GetObjectItemCaseSensitive(details, "causes")) {
			const cJSON *r = cJSON_GetObjectItemCaseSensitive(cause, "reason");
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(cause, "message");
			if (cJSON_IsString(r) && !strcmp(r->valuestring, "ExitCode") &&
			    cJSON_IsString(m)) {
				char *end;
				long v = strtol(m->valuestring, &end, 10);
				if (*m->valuestring && !*end && v >= 0 && v <= 255)
					st->exit_code = (int)v;
			}
		}
	} else if (body && len) {
		/* Not a Status: keep the first line of the body as the message. */
		size_t n = 0;
		while (n < len && body[n] != '\n' && body[n] != '\r' && n < sizeof st->message - 1)
			n++;
		memcpy(st->message, body, n);
		st->message[n] = '\0';
	}
	if (!st->reason[0])
		snprintf(st->reason, sizeof st->reason, "%s", reason_for_code(st->code));
	if (!st->status[0])
		snprintf(st->status, sizeof st->status, "%s",
			 st->code >= 200 && st->code < 300 ? "Success" : "Failure");
	if (!st->message[0] && st->code)
		snprintf(st->message, sizeof st->message, "the server responded with the status code %d but did not return more information", st->code);
	cJSON_Delete(doc);
}
