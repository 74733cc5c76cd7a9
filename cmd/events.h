/* SPDX-License-Identifier: Apache-2.0 */
/* --events FILE|-: newline-delimited JSON events for scripts (port-forward,
 * forward, proxy). The schema is docs/events.md; every line carries "v" (the schema
 * version) and is flushed as it is written. */
#ifndef KX_CMD_EVENTS_H
#define KX_CMD_EVENTS_H

#include <kx/json.h>
#include <kx/portforward.h>
#include <stdio.h>

#define KX_EVENTS_VERSION 1

/* Open the sink: "-" is stdout, else FILE (created 0600, truncated). Returns
 * 0, or -1 with a warning-free errno for the caller's message. */
int kx_events_open(const char *where);
/* kx_events_open for a command's --events (NULL: none): on failure says why
 * and returns -1; with stdout as the sink, *text (the command's text lines)
 * becomes stderr. */
int kx_events_start(const char *where, FILE **text);
/* Whether a sink is open (and it is stdout). */
int kx_events_on(void);
int kx_events_to_stdout(void);
/* A new event object with "v", "ts" and "event" set, or NULL when no sink is open. */
cJSON *kx_events_new(const char *event);
/* Write ev as one line, flush, free it. NULL is a no-op. */
void kx_events_emit(cJSON *ev);
void kx_events_close(void);
/* A connection_opened (closed = 0) or connection_closed event with the fields
 * every command's connections share (docs/events.md); the caller adds its own
 * and emits it. NULL when no sink is open. */
cJSON *kx_events_conn(int closed, unsigned long long id, const char *peer,
		      unsigned long long bytes_from_client, unsigned long long bytes_to_client,
		      long long duration_ms, const char *end);
/* A port-forward event's line (listening, ready, error, endpoint_…, pod_lost,
 * session_…; NULL for the events that have none, or no sink) and a
 * connection's (opened/closed), for port-forward and forward to emit (after
 * adding their own fields). */
cJSON *kx_events_pf(enum kx_pf_event ev, const char *addr, int local, int remote, const char *msg);
cJSON *kx_events_pf_conn(const struct kx_pf_conn_event *e);

/* Write a whole file for scripts to wait on: a temporary file in the same
 * directory (0600), then rename, so no reader sees it half-written. 0 or -1. */
int kx_write_file_atomic(const char *path, const char *data, size_t len);

#endif
