/* SPDX-License-Identifier: Apache-2.0 */
/* libkx: a local HTTP/1.1 gateway to the API server (kubectl proxy): requests
 * are filtered, forwarded with the client's credentials and TLS, and streamed
 * both ways; Upgrade requests (exec, attach, port-forward) become tunnels. */
#ifndef KX_APIPROXY_H
#define KX_APIPROXY_H

#include <kx/client.h>

/* One client connection's life: opened (accepted), then closed once. */
struct kx_apiproxy_conn_event {
	unsigned long long id;      /* 1, 2, … in accept order */
	int closed;                 /* 0: opened, 1: closed */
	const char *peer;           /* "127.0.0.1:53412", "[::1]:53412", or "unix" */
	/* closed only: */
	unsigned long long bytes_from_client, bytes_to_client;
	unsigned long long requests; /* request heads read on it */
	long long duration_ms;
	const char *end;            /* "done" (the client finished), "closed" (the proxy
				     * ended it: an answer that closes, an error, a reset),
				     * "shutdown" (the proxy was ending) */
};

struct kx_apiproxy_opts {
	const char *address;       /* IP address or name to listen on; NULL = "127.0.0.1" */
	int port;                  /* 0 = a random free port */
	const char *unix_socket;   /* listen here instead (made with umask 077) */
	const char *api_prefix;    /* NULL = "/"; a missing trailing '/' is added */
	const char *www;           /* directory of static files, or NULL */
	const char *www_prefix;    /* NULL = "/static/" */
	/* Comma-separated regular expressions (PCRE2; kubectl uses Go's RE2).
	 * NULL = kubectl's defaults. */
	const char *accept_hosts, *accept_paths, *reject_paths, *reject_methods;
	int disable_filter;
	long keepalive_ms;         /* TCP keep-alive period toward the API server; 0 = off */
	int append_server_path;    /* prefix request paths with the server URL's path */
	int handle_signals;        /* SIGINT/SIGTERM/SIGHUP end the proxy cleanly (KX_OK) */
	/* Listening: where is "127.0.0.1:8001" or the socket's path. */
	void (*on_listening)(void *ud, const char *where);
	/* One line about a request that failed upstream (no secrets in it). */
	void (*on_log)(void *ud, const char *line);
	/* kx+: each client connection, opened then closed (for --events). */
	void (*on_conn)(void *ud, const struct kx_apiproxy_conn_event *e);
	void *ud;
};

/* Listen and serve until a signal (KX_OK) or a fatal error (a bad regular
 * expression: KX_ERR_INVALID; listening failed: KX_ERR_IO). */
KX_API kx_err kx_apiproxy_run(struct kx_client *c, const struct kx_apiproxy_opts *opts,
			      struct kx_errbuf *eb);

#endif
