/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internal: a port-forward inside a loop someone else owns, so several
 * forwards (kx forward: every port of every service of a namespace; reach
 * --check's port-forward probe) share ONE loop. kx_port_forward is this plus a
 * loop of its own and signals.
 *
 * Lifetime, in libuv's shape: kx__pf_start copies what it needs of opts (the
 * caller's strings and arrays may go after the call) and returns a forward
 * living in the loop. It ends either because its owner calls kx__pf_stop, or by
 * itself (a fatal error, the pod lost with exit_on_pod_loss, no listener
 * possible): then on_end(ud, err, eb) runs from the loop, and the owner still
 * calls kx__pf_stop (from on_end or later) to let it go. After kx__pf_stop the
 * owner does not touch the forward again; its connections end ("shutdown"),
 * sessions say GOAWAY, listeners close, and every handle is freed in its own
 * close callback; on_closed(ud) then says nothing of it is left (the owner may
 * stop the loop, free ud). Run the loop until on_closed: the loop is not the
 * forward's to free. */
#ifndef KX_PF_INTERNAL_H
#define KX_PF_INTERNAL_H

#include <kx/portforward.h>
#include <signal.h>

struct kx_loop;
struct kx_io;
struct kx__pf;

struct kx__pf_hooks {
	/* The forward ended by itself: err and why (never KX_OK). */
	void (*on_end)(void *ud, kx_err err, const struct kx_errbuf *eb);
	/* Everything of the forward is freed (after kx__pf_stop). */
	void (*on_closed)(void *ud);
};

/* Start forwarding in loop l. A pinned forward, or a balanced one given opts->pod,
 * opens its first session now and listens once it is up (kubectl's order); a
 * balanced forward without opts->pod (balance_selector set) listens at once and
 * finds its pods from the watch: connections wait for a Ready pod (up to
 * opts->resolve_timeout_ms each when > 0, then they end with "error"). Errors
 * found at once (no port, a listener that cannot open) are returned here and
 * nothing is left in the loop. */
kx_err kx__pf_start(struct kx_client *c, struct kx_loop *l, const struct kx_pf_opts *opts,
		    const struct kx__pf_hooks *hooks, void *ud, struct kx__pf **out,
		    struct kx_errbuf *eb);
/* Let the forward go (see above); safe from any of its callbacks. NULL: no-op. */
void kx__pf_stop(struct kx__pf *pf);

/* SIGINT, SIGTERM and SIGHUP into l through io (a forwarding command's clean
 * end); restore *old_mask with sigprocmask after the loop. */
kx_err kx__pf_end_signals(struct kx_loop *l, struct kx_io *io, sigset_t *old_mask,
			  struct kx_errbuf *eb);

#endif
