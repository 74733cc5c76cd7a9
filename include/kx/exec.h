/* SPDX-License-Identifier: Apache-2.0 */
/* libkx: running a command in a container (exec), or attaching to its main
 * process (attach), over WebSocket
 * (v5/v4.channel.k8s.io) or SPDY/3.1, with stdin/stdout/stderr pumped from file
 * descriptors in one event loop, terminal resizes, and the remote exit status. */
#ifndef KX_EXEC_H
#define KX_EXEC_H

#include <kx/client.h>
#include <kx/common.h>

/* KX_TRANSPORT_AUTO unless KX_TRANSPORT=websocket|spdy is set in the
 * environment; an unknown value is an error naming it. */
KX_API kx_err kx_transport_from_env(enum kx_transport *out, struct kx_errbuf *eb);

struct kx_exec_opts {
	const char *namespace_;       /* NULL = the client's namespace */
	const char *pod;
	const char *container;        /* NULL = the server's default (the only container) */
	const char *const *argv;      /* the command, NULL-terminated; never split or joined */
	int attach;                   /* attach to the container's main process (argv unused) */
	int use_stdin;                /* send in_fd to the container's stdin (-i) */
	int tty;                      /* allocate a TTY (-t): stderr merges into stdout */
	int in_fd, out_fd, err_fd;    /* usually 0, 1, 2 */
	int tty_fd;                   /* with tty: the local terminal whose size is sent, or -1 */
	int handle_signals;           /* take SIGWINCH, SIGINT, SIGTERM, SIGHUP into the loop */
	enum kx_transport transport;
	int ping_interval_s;          /* keepalive; 0 = 5 s (as client-go) */
};

struct kx_exec_result {
	int exit_code;                /* the remote command's exit code (0..255), or -1 */
	int signal;                   /* a local signal ended the session (SIGINT…), or SIGPIPE
	                                 when an output's reader went away; else 0 */
	enum kx_transport used;       /* the transport that carried the session */
	char protocol[40];            /* the negotiated subprotocol, e.g. "v5.channel.k8s.io" */
};

/* Run the command and pump data until the remote side reports its exit status.
 * Returns KX_OK when the remote command ran to completion, whatever its code
 * (see res->exit_code). A connection lost before the exit status arrived is an
 * error (KX_ERR_CLOSED), never a success. Failures before the upgrade (pod or
 * container not found, Forbidden) return KX_ERR_API with kx_client_status(c);
 * a failure Status on the stream that is not an exit code (the command could
 * not be started) returns KX_ERR_API with its message in eb and no
 * kx_client_status. */
KX_API kx_err kx_exec(struct kx_client *c, const struct kx_exec_opts *opts,
		      struct kx_exec_result *res, struct kx_errbuf *eb);

/* Exec across many pods: the same command in several containers at once, on one
 * event loop (no thread or process per pod), at most max_parallel sessions open
 * at a time. Each session uses the transports and fallback of kx_exec. */
struct kx_exec_target {
	const char *namespace_;
	const char *pod;
	const char *container;        /* NULL = the server's default */
	const char *prefix;           /* put before each output line ("" or NULL: none) */
};

/* stdin is read once (inside the loop) and the same bytes go to every pod; it is
 * held in memory, so it is bounded: more is an error (KX_ERR_INVALID). */
#define KX_EXEC_MANY_STDIN_MAX (64 * 1024 * 1024)

struct kx_exec_many_opts {
	const struct kx_exec_target *targets;
	size_t ntargets;
	const char *const *argv;      /* the command, NULL-terminated */
	int use_stdin;                /* read in_fd to its end, send it to every pod (-i) */
	int in_fd, out_fd, err_fd;
	int count_only;               /* count output bytes, write nothing (for -o json) */
	int max_parallel;             /* 0 = 10 */
	int handle_signals;           /* SIGINT, SIGTERM, SIGHUP end every session */
	enum kx_transport transport;
};

/* One per target. Output is written as whole lines (a line longer than 64 KiB in
 * 64 KiB pieces), each with the target's prefix; a last line without a newline
 * gets one. */
struct kx_exec_many_result {
	int ran;                      /* the session was started */
	kx_err err;                   /* KX_OK: the command exited (exit_code); else why not */
	int exit_code;                /* 0..255, or -1 */
	int lost;                     /* err is a connection lost before the exit status */
	char error[512];              /* err's message */
	long long duration_ms;
	unsigned long long out_bytes, err_bytes;
	enum kx_transport used;
};

/* Run argv in every target. Returns KX_OK when every session was run (each one's
 * outcome in res[i]); KX_ERR_INTERRUPTED when a signal (or a closed output,
 * SIGPIPE) ended them, the signal in *signal; another error when nothing could be
 * started (stdin too large, no loop). */
KX_API kx_err kx_exec_many(struct kx_client *c, const struct kx_exec_many_opts *opts,
			   struct kx_exec_many_result *res, int *signal, struct kx_errbuf *eb);

#endif
