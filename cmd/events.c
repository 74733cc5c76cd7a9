/* SPDX-License-Identifier: Apache-2.0 */
/* --events: one JSON object per line, flushed per event (docs/events.md). */
#include "events.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static FILE *sink;
static int to_stdout;

int kx_events_open(const char *where)
{
	if (!strcmp(where, "-")) {
		sink = stdout;
		to_stdout = 1;
		return 0;
	}
	int fd = open(where, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	sink = fdopen(fd, "w");
	if (!sink) {
		close(fd);
		return -1;
	}
	return 0;
}

int kx_events_on(void)
{
	return sink != NULL;
}

int kx_events_to_stdout(void)
{
	return to_stdout;
}

cJSON *kx_events_new(const char *event)
{
	if (!sink)
		return NULL;
	struct timeval tv;
	struct tm tm;
	char ts[40];
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof ts - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "v", KX_EVENTS_VERSION);
	cJSON_AddStringToObject(o, "ts", ts);
	cJSON_AddStringToObject(o, "event", event);
	return o;
}

void kx_events_emit(cJSON *ev)
{
	if (!ev)
		return;
	char *line = sink ? cJSON_PrintUnformatted(ev) : NULL;
	if (line) {
		fputs(line, sink);
		fputc('\n', sink);
		fflush(sink);
	}
	free(line);
	cJSON_Delete(ev);
}

void kx_events_close(void)
{
	if (sink && !to_stdout)
		fclose(sink);
	sink = NULL;
	to_stdout = 0;
}

cJSON *kx_events_conn(int closed, unsigned long long id, const char *peer,
		      unsigned long long bytes_from_client, unsigned long long bytes_to_client,
		      long long duration_ms, const char *end)
{
	cJSON *j = kx_events_new(closed ? "connection_closed" : "connection_opened");
	if (!j)
		return NULL;
	cJSON_AddNumberToObject(j, "id", (double)id);
	cJSON_AddStringToObject(j, "peer", peer);
	if (closed) {
		cJSON_AddNumberToObject(j, "bytes_from_client", (double)bytes_from_client);
		cJSON_AddNumberToObject(j, "bytes_to_client", (double)bytes_to_client);
		cJSON_AddNumberToObject(j, "duration_ms", (double)duration_ms);
		cJSON_AddStringToObject(j, "end", end);
	}
	return j;
}
