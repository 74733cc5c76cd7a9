/* SPDX-License-Identifier: Apache-2.0 */
/* The one event loop of a streaming command: kx's own, on epoll. Handles, in
 * libuv's shape: a watched descriptor (struct kx_io: a connection, a listener,
 * stdin, a signalfd) and a timer (struct kx_timer), both embedded in their
 * owners; deferred tasks (struct kx_task) that run once the current batch of
 * events has been handled (to coalesce writes). The backend is this header's
 * source alone: nothing else in kx knows it is epoll.
 *
 * Ownership: the loop owns an adopted descriptor; kx__io_close() ends it
 * asynchronously — no event reaches the io after the call except one
 * KX_IO_CLOSED at the end of the loop's turn, after which the owner may be
 * freed (and the loop closes the descriptor). kx__loop_free() closes every
 * descriptor still open the same way. Not thread-safe: one loop per command. */
#ifndef KX_LOOP_H
#define KX_LOOP_H

#include <kx/common.h>
#include <kx/config.h>
#include <signal.h>

#include "internal.h"

struct kx_loop;
struct kx__handle;

enum kx_io_event {
	KX_IO_READABLE, /* readable (or an error/hang-up to read): read until EAGAIN */
	KX_IO_WRITABLE, /* after kx__io_want_write, once */
	KX_IO_CLOSED,   /* the handle is gone: the last event; the owner may be freed */
};

struct kx_io;
typedef void (*kx_io_fn)(struct kx_io *io, enum kx_io_event ev);

struct kx_io {
	kx_io_fn fn;
	void *owner;              /* the object that embeds this io */
	struct kx_loop *loop;     /* set by kx__loop_adopt_fd */
	struct kx__handle *h;     /* set while the descriptor is watched */
};

kx_err kx__loop_new(struct kx_loop **out, struct kx_errbuf *eb);
/* Closes every descriptor still adopted (each owner gets KX_IO_CLOSED first). */
void kx__loop_free(struct kx_loop *l);

/* Watch fd (the caller makes sockets non-blocking; stdin is left as it is, its
 * file description being shared with the shell): KX_IO_READABLE while reading is on (it starts
 * on). The loop owns fd afterwards. A descriptor epoll cannot watch (a regular
 * file as stdin) counts as always readable. */
kx_err kx__loop_adopt_fd(struct kx_loop *l, int fd, struct kx_io *io, struct kx_errbuf *eb);
/* Watch fd as kx__loop_adopt_fd, but the caller keeps it: closing the handle
 * does not close fd (a socket libcurl owns). */
kx_err kx__loop_watch_fd(struct kx_loop *l, int fd, struct kx_io *io, struct kx_errbuf *eb);
/* The descriptor of a live io (-1 when closed). */
int kx__io_fd(const struct kx_io *io);
/* Start or stop KX_IO_READABLE (backpressure). */
void kx__io_read(struct kx_io *io, int on);
/* Deliver one KX_IO_WRITABLE when the descriptor can take bytes. */
void kx__io_want_write(struct kx_io *io);
/* End the handle: no more events but one KX_IO_CLOSED at the end of this turn;
 * the loop then closes the descriptor. No-op on a closed io. */
void kx__io_close(struct kx_io *io);
/* As kx__io_close, without even KX_IO_CLOSED: the owner is being freed now. */
void kx__io_detach(struct kx_io *io);

/* Take the signals in set into the loop: block them (the previous mask goes to
 * *old_mask, to restore with sigprocmask after the loop) and deliver them to io
 * through a signalfd (KX_IO_READABLE; read struct signalfd_siginfo). */
kx_err kx__loop_signals(struct kx_loop *l, const sigset_t *set, sigset_t *old_mask,
			struct kx_io *io, struct kx_errbuf *eb);

/* Run until kx__loop_stop. */
void kx__loop_run(struct kx_loop *l);
void kx__loop_stop(struct kx_loop *l);
int kx__loop_stopped(const struct kx_loop *l);

/* A one-shot timer: fn(ud) after ms milliseconds. Re-arming replaces it; cancel
 * before freeing an armed timer. Zero-initialised = not armed. */
struct kx_timer {
	void (*fn)(void *ud);
	void *ud;
	struct kx_loop *loop;
	long long due_ms;
	int armed;
	struct kx_timer *prev, *next;
};
void kx__timer_arm(struct kx_loop *l, struct kx_timer *t, long ms);
void kx__timer_cancel(struct kx_timer *t);

/* A deferred task: fn(ud) once, after the current batch of events (queued
 * twice = run once). Cancel before freeing a queued task. */
struct kx_task {
	void (*fn)(void *ud);
	void *ud;
	int queued;
	struct kx_task *next;
};
void kx__loop_defer(struct kx_loop *l, struct kx_task *t);
void kx__task_cancel(struct kx_loop *l, struct kx_task *t);

#endif
