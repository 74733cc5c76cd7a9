/* SPDX-License-Identifier: Apache-2.0 */
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

/* client-go's messages for error answers whose body is not a Status. */
static const char *generic_message(int code)
{
	switch (code) {
	case 401: return "Unauthorized";
	case 404: return "the server could not find the requested resource";
	case 405: return "the server does not allow this method on the requested resource";
	case 406: return "the server could not generate a response in the requested format";
	case 409: return "the server reported a conflict";
	case 410: return "the requested resource is no longer available";
	case 413: return "the server has rejected the request because the request entity is too large";
	case 415: return "the server could not handle the content type of the request";
	case 422: return "the server rejected our request due to an error in our request";
	case 429: return "the server has received too many requests and has asked us to try again later";
	case 503: return "the server is currently unable to handle the request";
	case 504: return "the server was unable to return a response in the time allotted, but may still be processing the request";
	}
	return NULL;
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
	} else {
		/* Not a Status: client-go's words for the code, with the body's first
		 * line where client-go shows it. */
		size_t n = 0;
		while (body && n < len && body[n] != '\n' && body[n] != '\r' && n < 512)
			n++;
		const char *fixed = generic_message(st->code);
		if (fixed)
			snprintf(st->message, sizeof st->message, "%s", fixed);
		else if (n && st->code >= 500)
			snprintf(st->message, sizeof st->message,
				 "an error on the server (\"%.*s\") has prevented the request from succeeding",
				 (int)n, body);
		else if (n)
			snprintf(st->message, sizeof st->message, "%.*s", (int)n, body);
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
