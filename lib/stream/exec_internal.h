/* SPDX-License-Identifier: Apache-2.0 */
/* The exec session shared by exec.c, exec_many.c and the two transports
 * (exec_ws.c, exec_spdy.c). Layers, bottom up: exec_session.c (this header's
 * functions), the transports (kx__exec_ws_ops, kx__exec_spdy_ops), then exec.c
 * (one session, its own loop) and exec_many.c (many sessions, one loop). */
#ifndef KX_EXEC_INTERNAL_H
#define KX_EXEC_INTERNAL_H

#include <kx/exec.h>
#include <signal.h>

#include "internal.h"
#include "loop.h"

#define KX_EXEC_STDIN_HIGH (256 * 1024) /* stop reading stdin above this */
#define KX_EXEC_STATUS_MAX (64 * 1024)
#define KX_EXEC_OUT_BATCH (128 * 1024) /* output gathered before one write */

struct kx_exec_session;

struct kx_exec_transport_ops {
	const char *name;
	kx_err (*start)(struct kx_exec_session *s);   /* connect */
	void (*kick)(struct kx_exec_session *s);      /* there is stdin, EOF or a resize to send */
	void (*cleanup)(struct kx_exec_session *s);
};

struct kx_exec_session {
	struct kx_client *client;
	const struct kx_exec_opts *opts;
	struct kx_exec_result *res;
	struct kx_errbuf *eb;
	const char *ns;
	struct kx__conn_info ci;
	struct kx_loop *loop;
	const struct kx_exec_transport_ops *ops;
	void *transport;              /* the transport's own state */

	/* Several sessions in one loop (exec_many.c): the end of the session calls
	 * on_end instead of stopping the loop, and output goes to sink (is_err:
	 * stderr) instead of the descriptors. */
	void (*on_end)(struct kx_exec_session *s);
	kx_err (*sink)(struct kx_exec_session *s, int is_err, const void *data, size_t len);
	void *owner;

	struct kx_io stdin_io, signal_io;
	char *stdin_chunk;            /* this session's read buffer for stdin_io */
	int mem_stdin;                /* stdin comes from mem_in, not a descriptor */
	const unsigned char *mem_in;  /* shared by the sessions; not owned */
	size_t mem_len, mem_off;
	struct kx_buf stdin_buf;      /* read from stdin, not yet sent */
	int stdin_eof;                /* local stdin ended (or is not used) */
	int stdin_reading;
	int transport_ready;          /* streams/channels ready: stdin may flow */
	int resize_pending;
	sigset_t old_mask;
	int mask_saved;

	struct kx_buf out;            /* output not yet written (one fd at a time) */
	int out_fd;
	struct kx_task out_task;      /* write it after this batch of events */

	int got_status;
	int upgrade_failed;           /* the upgrade itself failed: another transport may work */
	int output_failed;
	int done;
	kx_err err;
};

extern const struct kx_exec_transport_ops kx__exec_ws_ops, kx__exec_spdy_ops;

kx_err kx__exec_path(const struct kx_exec_session *s, struct kx_buf *path);
/* Write all of data to fd, waiting (poll) while a non-blocking fd is full;
 * 0 or an errno value. */
int kx__exec_write_fd(int fd, const void *data, size_t len);
kx_err kx__exec_flush_output(struct kx_exec_session *s);
void kx__exec_flush_task(void *ud);     /* out_task's function */
/* The session is over (or its connection is, after the end): stop the loop,
 * or tell on_end. May be called more than once. */
void kx__exec_end(struct kx_exec_session *s);
/* Output for fd (stdout or stderr): gathered while one wakeup's frames are
 * handled, then written in one go (in order across the two descriptors). */
kx_err kx__exec_output(struct kx_exec_session *s, int fd, const void *data, size_t len);
void kx__exec_status(struct kx_exec_session *s, const char *json, size_t len);
void kx__exec_finish(struct kx_exec_session *s, kx_err err);
/* The server answered the upgrade without upgrading: a Status body (pod not
 * found, Forbidden …) is final; anything else (a proxy's page, no body, a
 * protocol not spoken) marks upgrade_failed, so the other transport may try. */
void kx__exec_refused(struct kx_exec_session *s, int code, const char *body, size_t len);
int kx__exec_tty_size(const struct kx_exec_session *s, unsigned *cols, unsigned *rows);
kx_err kx__exec_start_stdin(struct kx_exec_session *s);
void kx__exec_stdin_flow(struct kx_exec_session *s);
/* A write to the server failed: stop stdin (reading and sending) and nothing
 * else — the command may just have stopped reading its input and exited, and
 * its output and exit status may still be on the way. The connection's end
 * (read side) finishes the session. */
void kx__exec_stdin_stop(struct kx_exec_session *s);

#endif
