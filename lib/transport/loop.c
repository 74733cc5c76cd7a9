/* SPDX-License-Identifier: Apache-2.0 */
/* The streaming event loop (loop.h) on epoll: interest follows what each
 * handle wants (read on/off, one write wanted), a descriptor with no interest
 * is out of the epoll set (so a hang-up cannot spin), timers are a short sorted
 * list, and closes and deferred tasks run after each batch of events. */
#include "loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct kx__handle {
	struct kx_io *io;           /* NULL once detached */
	struct kx_loop *loop;
	int fd;
	int reading, want_write;
	unsigned registered;        /* the events epoll has for it (0 = not in the set) */
	int unpollable;             /* a regular file: always ready */
	int closing;
	int borrowed;               /* the fd is not ours to close */
	struct kx__handle *prev, *next;        /* all live handles */
	struct kx__handle *next_closing;
};

struct kx_loop {
	int epfd;
	int stopped;
	struct kx__handle *handles;
	struct kx__handle *closing;
	struct kx_timer *timers;    /* sorted by due time */
	struct kx_task *tasks, **tasks_tail;
	struct kx_task *running;    /* the rest of the batch run_tasks is running */
	int unpollable;             /* handles that count as always readable */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

kx_err kx__loop_new(struct kx_loop **out, struct kx_errbuf *eb)
{
	*out = NULL;
	struct kx_loop *l = calloc(1, sizeof *l);
	if (!l)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	l->tasks_tail = &l->tasks;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		free(l);
		return kx__fail(eb, KX_ERR_IO, "could not set up the event loop: %s", strerror(errno));
	}
	*out = l;
	return KX_OK;
}

/* Tell epoll what h wants now (a syscall only when that changes). */
static void update(struct kx__handle *h)
{
	if (h->unpollable || h->closing)
		return;
	unsigned want = (h->reading ? EPOLLIN : 0) | (h->want_write ? EPOLLOUT : 0);
	if (want == h->registered)
		return;
	struct epoll_event ev = {.events = want, .data.ptr = h};
	int op = !h->registered ? EPOLL_CTL_ADD : want ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
	if (!epoll_ctl(h->loop->epfd, op, h->fd, &ev))
		h->registered = want;
}

static void handle_unlink(struct kx__handle *h)
{
	struct kx_loop *l = h->loop;
	if (h->prev)
		h->prev->next = h->next;
	else
		l->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
}

/* Stop watching h and queue it for the end of the turn. */
static void handle_close(struct kx__handle *h)
{
	if (h->closing)
		return;
	if (h->registered)
		epoll_ctl(h->loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	h->registered = 0;
	if (h->unpollable && h->reading)
		h->loop->unpollable--;
	h->closing = 1;
	handle_unlink(h);
	h->next_closing = h->loop->closing;
	h->loop->closing = h;
}

static void run_closes(struct kx_loop *l)
{
	while (l->closing) {
		struct kx__handle *h = l->closing;
		l->closing = h->next_closing;
		struct kx_io *io = h->io;
		if (io) {
			io->h = NULL;
			io->fn(io, KX_IO_CLOSED);
		}
		if (!h->borrowed)
			close(h->fd);
		free(h);
	}
}

kx_err kx__loop_adopt_fd(struct kx_loop *l, int fd, struct kx_io *io, struct kx_errbuf *eb)
{
	struct kx__handle *h = calloc(1, sizeof *h);
	if (!h)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	*h = (struct kx__handle){.io = io, .loop = l, .fd = fd, .reading = 1};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = h};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		if (errno != EPERM) {
			int e = errno;
			free(h);
			return kx__fail(eb, KX_ERR_IO, "could not watch file descriptor %d: %s", fd, strerror(e));
		}
		h->unpollable = 1; /* a regular file or /dev/null: always ready */
		l->unpollable++;
	} else {
		h->registered = EPOLLIN;
	}
	io->loop = l;
	io->h = h;
	h->next = l->handles;
	if (l->handles)
		l->handles->prev = h;
	l->handles = h;
	return KX_OK;
}

kx_err kx__loop_watch_fd(struct kx_loop *l, int fd, struct kx_io *io, struct kx_errbuf *eb)
{
	kx_err err = kx__loop_adopt_fd(l, fd, io, eb);
	if (!err)
		io->h->borrowed = 1;
	return err;
}

int kx__io_fd(const struct kx_io *io)
{
	return io->h ? io->h->fd : -1;
}

void kx__io_read(struct kx_io *io, int on)
{
	struct kx__handle *h = io->h;
	if (!h || h->reading == !!on)
		return;
	h->reading = !!on;
	if (h->unpollable)
		h->loop->unpollable += on ? 1 : -1;
	update(h);
}

void kx__io_want_write(struct kx_io *io)
{
	struct kx__handle *h = io->h;
	if (!h || h->want_write)
		return;
	h->want_write = 1;
	update(h);
}

void kx__io_close(struct kx_io *io)
{
	if (io->h)
		handle_close(io->h);
}

void kx__io_detach(struct kx_io *io)
{
	struct kx__handle *h = io->h;
	if (!h)
		return;
	h->io = NULL;
	io->h = NULL;
	handle_close(h);
}

kx_err kx__loop_signals(struct kx_loop *l, const sigset_t *set, sigset_t *old_mask,
			struct kx_io *io, struct kx_errbuf *eb)
{
	sigprocmask(SIG_BLOCK, set, old_mask);
	int sfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		return kx__fail(eb, KX_ERR_IO, "signalfd: %s", strerror(errno));
	kx_err err = kx__loop_adopt_fd(l, sfd, io, eb);
	if (err)
		close(sfd);
	return err;
}

/* ---- timers and tasks ---- */

void kx__timer_cancel(struct kx_timer *t)
{
	if (!t->armed)
		return;
	if (t->prev)
		t->prev->next = t->next;
	else
		t->loop->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->prev = t->next = NULL;
	t->armed = 0;
}

void kx__timer_arm(struct kx_loop *l, struct kx_timer *t, long ms)
{
	kx__timer_cancel(t);
	t->loop = l;
	t->due_ms = now_ms() + (ms < 0 ? 0 : ms);
	t->armed = 1;
	struct kx_timer **pp = &l->timers, *prev = NULL;
	while (*pp && (*pp)->due_ms <= t->due_ms) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	t->next = *pp;
	t->prev = prev;
	if (*pp)
		(*pp)->prev = t;
	*pp = t;
}

static void run_timers(struct kx_loop *l)
{
	long long now = now_ms();
	/* Only timers due now: one re-armed for 0 ms runs on the next turn. */
	while (l->timers && l->timers->due_ms <= now && !l->stopped) {
		struct kx_timer *t = l->timers;
		kx__timer_cancel(t);
		t->fn(t->ud);
	}
}

void kx__loop_defer(struct kx_loop *l, struct kx_task *t)
{
	if (t->queued)
		return;
	t->queued = 1;
	t->next = NULL;
	*l->tasks_tail = t;
	l->tasks_tail = &t->next;
}

void kx__task_cancel(struct kx_loop *l, struct kx_task *t)
{
	if (!t->queued || !l)
		return;
	/* Queued for the next batch, or still waiting in the batch being run (an
	 * earlier task of it may free this task's owner). */
	for (struct kx_task **pp = &l->tasks; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			if (l->tasks_tail == &t->next)
				l->tasks_tail = pp;
			t->queued = 0;
			return;
		}
	for (struct kx_task **pp = &l->running; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->queued = 0;
}

static void run_tasks(struct kx_loop *l)
{
	/* Tasks queued while these run wait for the next batch. */
	l->running = l->tasks;
	l->tasks = NULL;
	l->tasks_tail = &l->tasks;
	struct kx_task *t;
	while ((t = l->running)) {
		l->running = t->next;
		t->queued = 0;
		t->fn(t->ud);
	}
}

/* ---- running ---- */

static void dispatch(struct kx__handle *h, unsigned events)
{
	/* An error or hang-up is delivered as what the handle waits for: the
	 * read or write then tells what happened. */
	if (events & (EPOLLERR | EPOLLHUP))
		events |= EPOLLIN | EPOLLOUT;
	if ((events & EPOLLIN) && h->reading && !h->closing && h->io)
		h->io->fn(h->io, KX_IO_READABLE);
	if ((events & EPOLLOUT) && h->want_write && !h->closing && h->io) {
		/* EPOLLOUT stays registered: a writer that fills the socket again asks
		 * again at once, and a syscall per ask would be wasted. It goes when it
		 * fires with no one asking. */
		h->want_write = 0;
		h->io->fn(h->io, KX_IO_WRITABLE);
	} else if ((events & EPOLLOUT) && !h->want_write && !h->closing) {
		update(h);
	}
}

void kx__loop_run(struct kx_loop *l)
{
	struct epoll_event evs[64];
	while (!l->stopped) {
		int timeout = -1;
		if (l->tasks || l->closing || l->unpollable > 0)
			timeout = 0;
		else if (l->timers) {
			long long d = l->timers->due_ms - now_ms();
			timeout = d <= 0 ? 0 : d > 60000 ? 60000 : (int)d;
		}
		int n = epoll_wait(l->epfd, evs, 64, timeout);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n && !l->stopped; i++)
			dispatch(evs[i].data.ptr, evs[i].events);
		if (l->unpollable > 0)
			for (struct kx__handle *h = l->handles, *next; h && !l->stopped; h = next) {
				next = h->next;
				if (h->unpollable && h->reading)
					dispatch(h, EPOLLIN);
			}
		if (!l->stopped)
			run_tasks(l);
		if (!l->stopped)
			run_timers(l);
		run_closes(l);
	}
}

void kx__loop_stop(struct kx_loop *l)
{
	if (l)
		l->stopped = 1;
}

int kx__loop_stopped(const struct kx_loop *l)
{
	return l->stopped;
}

void kx__loop_free(struct kx_loop *l)
{
	if (!l)
		return;
	run_closes(l);
	while (l->handles)
		handle_close(l->handles);
	run_closes(l);
	/* Owners freed in their close events may have closed more handles. */
	while (l->handles) {
		handle_close(l->handles);
		run_closes(l);
	}
	/* Timers and tasks still armed belong to owners freed after the loop: they
	 * are let go here, so a later cancel touches nothing of the loop. */
	while (l->timers)
		kx__timer_cancel(l->timers);
	for (struct kx_task *t = l->tasks, *next; t; t = next) {
		next = t->next;
		t->queued = 0;
		t->next = NULL;
	}
	close(l->epfd);
	free(l);
}
