/* SPDX-License-Identifier: Apache-2.0 */
/* The exec session shared by exec.c and its two transports (exec_ws.c,
 * exec_spdy.c). */
#ifndef KX_EXEC_INTERNAL_H
#define KX_EXEC_INTERNAL_H

#include <kx/exec.h>
#include <signal.h>

#include "internal.h"
#include "loop.h"

#define KX_EXEC_STDIN_HIGH (256 * 1024) /* stop reading stdin above this */
#define KX_EXEC_STATUS_MAX (64 * 1024)

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

	struct kx_io stdin_io, signal_io;
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
