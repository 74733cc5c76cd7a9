/* The one event loop of a streaming command (libwebsockets' poll loop, used
 * only as a poll loop): adopted descriptors (kx's own TLS connections to the API
 * server — tlsconn.h, upconn.h — listeners and accepted sockets, stdin, a
 * signalfd) and timers. Every handle is a struct kx_io whose function gets the
 * lws callbacks meant for it. */
#ifndef KX_LOOP_H
#define KX_LOOP_H

#include <kx/common.h>
#include <kx/config.h>
#include <libwebsockets.h>
#include <signal.h>

#include "internal.h"

struct kx_loop;
struct kx_io;

/* Called for every lws callback on the io's connection. Return 0 to go on,
 * -1 to close that connection (lws semantics). */
typedef int (*kx_io_fn)(struct kx_io *io, struct lws *wsi, enum lws_callback_reasons reason,
			void *in, size_t len);

struct kx_io {
	kx_io_fn fn;
	struct kx_loop *loop;
	struct lws *wsi;    /* set while the connection exists */
	void *owner;        /* the object that embeds this io */
};

/* A new loop (connections bring their own TLS: tlsconn.c). */
kx_err kx__loop_new(struct kx_loop **out, struct kx_errbuf *eb);
void kx__loop_free(struct kx_loop *l);
struct lws_context *kx__loop_context(struct kx_loop *l);

/* Watch a local file descriptor for reading (LWS_CALLBACK_RAW_RX_FILE). The
 * loop owns the fd afterwards and closes it with the handle. */
kx_err kx__loop_adopt_fd(struct kx_loop *l, int fd, struct kx_io *io, struct kx_errbuf *eb);

/* Take the signals in set into the loop: block them (the previous mask goes to
 * *old_mask, to restore with sigprocmask after the loop) and deliver them to io
 * through a signalfd (LWS_CALLBACK_RAW_RX_FILE; read struct signalfd_siginfo). */
kx_err kx__loop_signals(struct kx_loop *l, const sigset_t *set, sigset_t *old_mask,
			struct kx_io *io, struct kx_errbuf *eb);

/* Run until kx__loop_stop. */
void kx__loop_run(struct kx_loop *l);
void kx__loop_stop(struct kx_loop *l);
int kx__loop_stopped(const struct kx_loop *l);

/* A one-shot timer: fn(ud) after ms milliseconds. Re-arming replaces it. */
struct kx_timer {
	lws_sorted_usec_list_t sul; /* first: the loop recovers the timer from it */
	void (*fn)(void *ud);
	void *ud;
};
void kx__timer_arm(struct kx_loop *l, struct kx_timer *t, long ms);
void kx__timer_cancel(struct kx_timer *t);

/* The Authorization header value for ci's creds ("Bearer …" or "Basic …") into
 * out; returns 0 when there is none. Zero out after use. */
int kx__auth_header(const struct kx__conn_info *ci, char *out, size_t n);

#endif
