/* SPDX-License-Identifier: Apache-2.0 */
/* What kx writes for scripts: --events, one JSON object per line, flushed per
 * event (docs/events.md), and whole files that appear at once (ready files). */
#include "events.h"
#include "kx.h"

#include <errno.h>
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

int kx_events_start(const char *where, FILE **text)
{
	if (!where)
		return 0;
	if (kx_events_open(where)) {
		kx_error("cannot write the events file %s: %s", where, strerror(errno));
		return -1;
	}
	if (kx_events_to_stdout())
		*text = stderr;
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

cJSON *kx_events_pf(enum kx_pf_event ev, const char *addr, int local, int remote, const char *msg)
{
	static const char *const names[] = {
		[KX_PF_LISTENING] = "listening",           [KX_PF_READY] = "ready",
		[KX_PF_CONN_ERROR] = "error",              [KX_PF_POD_LOST] = "pod_lost",
		[KX_PF_POD_RESUMED] = "session_reconnected", [KX_PF_ENDPOINT_READY] = "endpoint_ready",
		[KX_PF_ENDPOINT_GONE] = "endpoint_not_ready", [KX_PF_SESSION_LOST] = "session_lost",
		[KX_PF_CONN_REPLAYED] = "connection_replayed",
	};
	if (!kx_events_on() || (size_t)ev >= sizeof names / sizeof names[0] || !names[ev])
		return NULL;
	cJSON *j = kx_events_new(names[ev]);
	if (!j)
		return NULL;
	if (addr)
		cJSON_AddStringToObject(j, "address", addr);
	int conn_msg = ev == KX_PF_CONN_ERROR || ev == KX_PF_CONN_REPLAYED;
	if (ev == KX_PF_LISTENING || conn_msg) {
		cJSON_AddNumberToObject(j, "port", local);
		cJSON_AddNumberToObject(j, "remote_port", remote);
	}
	if (msg)
		cJSON_AddStringToObject(j, conn_msg ? "message" : ev == KX_PF_POD_LOST ? "reason" : "pod", msg);
	return j;
}

cJSON *kx_events_pf_conn(const struct kx_pf_conn_event *e)
{
	cJSON *j = kx_events_conn(e->closed, e->id, e->peer, e->bytes_from_client, e->bytes_to_client,
				  e->duration_ms, e->end);
	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "address", e->address);
	cJSON_AddNumberToObject(j, "port", e->local);
	cJSON_AddNumberToObject(j, "remote_port", e->remote);
	if (e->pod)
		cJSON_AddStringToObject(j, "pod", e->pod);
	else
		cJSON_AddNullToObject(j, "pod");
	if (e->message)
		cJSON_AddStringToObject(j, "message", e->message);
	if (e->closed && e->replays)
		cJSON_AddNumberToObject(j, "replays", e->replays);
	return j;
}

int kx_write_file_atomic(const char *path, const char *data, size_t len)
{
	size_t n = strlen(path) + 32;
	char *tmp = malloc(n);
	if (!tmp)
		return -1;
	snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
	/* 0600 whatever the umask, like everything kx writes. */
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (fd >= 0 && !f)
		close(fd);
	int ok = f && fwrite(data, 1, len, f) == len;
	if (f && fclose(f))
		ok = 0;
	if (!ok || rename(tmp, path)) {
		unlink(tmp);
		ok = 0;
	}
	free(tmp);
	return ok ? 0 : -1;
}
