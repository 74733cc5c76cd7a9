/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the streaming loop (lib/transport/loop.c): readiness, one-shot write
 * interest, read off/on, closes at the end of the turn, timers in order, deferred
 * tasks after a batch, a regular file as always-readable stdin, and a loop freed
 * with timers and tasks still armed. Real descriptors (socketpairs, a file), no
 * network. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"

struct probe {
	struct kx_io io;
	struct kx_loop *loop;
	int fd;
	int reads, writes, closed;
	char got[64];
	size_t got_len;
	int stop_after_read, stop_on_close, read_on_write;
};

static void probe_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct probe *p = io->owner;
	switch (ev) {
	case KX_IO_READABLE: {
		p->reads++;
		ssize_t n = read(kx__io_fd(io), p->got + p->got_len, sizeof p->got - 1 - p->got_len);
		if (n > 0)
			p->got_len += (size_t)n;
		if (n == 0)
			kx__io_close(io);
		if (p->stop_after_read)
			kx__loop_stop(p->loop);
		break;
	}
	case KX_IO_WRITABLE:
		p->writes++;
		if (p->read_on_write) {
			assert_int_equal(p->reads, 0); /* reading was off: the byte waited */
			kx__io_read(io, 1);
			p->stop_after_read = 1;
		} else {
			kx__loop_stop(p->loop);
		}
		break;
	case KX_IO_CLOSED:
		p->closed++;
		if (p->stop_on_close)
			kx__loop_stop(p->loop);
		break;
	}
}

static struct kx_loop *new_loop(void)
{
	struct kx_loop *l = NULL;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx__loop_new(&l, &eb), KX_OK);
	return l;
}

static void adopt(struct kx_loop *l, struct probe *p, int fd)
{
	struct kx_errbuf eb = {0};
	*p = (struct probe){.io = {.fn = probe_cb, .owner = p}, .loop = l, .fd = fd};
	assert_int_equal(kx__loop_adopt_fd(l, fd, &p->io, &eb), KX_OK);
}

/* Bytes wake the reader; EOF ends in a close delivered once, after which the
 * loop has closed the descriptor. */
static void readable_then_eof_then_closed(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct kx_loop *l = new_loop();
	struct probe p;
	adopt(l, &p, sv[0]);
	p.stop_on_close = 1;
	assert_int_equal(write(sv[1], "hello", 5), 5);
	close(sv[1]); /* then EOF */
	kx__loop_run(l);
	assert_int_equal(p.got_len, 5);
	assert_memory_equal(p.got, "hello", 5);
	assert_int_equal(p.closed, 1);
	assert_null(p.io.h);
	kx__loop_free(l);
	assert_int_equal(p.closed, 1); /* not twice */
}

/* A wanted write comes once; reading switched off delivers nothing. */
static void write_once_and_read_off(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct kx_loop *l = new_loop();
	struct probe p;
	adopt(l, &p, sv[0]);
	kx__io_read(&p.io, 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	p.read_on_write = 1;
	kx__io_want_write(&p.io);
	kx__loop_run(l);
	assert_int_equal(p.reads, 1);
	assert_int_equal(p.writes, 1); /* not asked again */
	kx__loop_free(l);
	assert_int_equal(p.closed, 1); /* the loop's end closes what is left */
	close(sv[1]);
}

static int order[8], norder;
static struct kx_loop *tl;

static void mark(void *ud)
{
	order[norder++] = (int)(long)ud;
	if (norder == 3)
		kx__loop_stop(tl);
}

/* Timers fire in due order; a re-armed timer replaces itself; a cancelled one
 * never fires; deferred tasks run in the order queued, once. */
static void timers_and_tasks(void **state)
{
	(void)state;
	tl = new_loop();
	norder = 0;
	struct kx_timer a = {.fn = mark, .ud = (void *)1}, b = {.fn = mark, .ud = (void *)2},
			c = {.fn = mark, .ud = (void *)3};
	struct kx_task t = {.fn = mark, .ud = (void *)9};
	kx__timer_arm(tl, &a, 40);
	kx__timer_arm(tl, &b, 10);
	kx__timer_arm(tl, &c, 20);
	kx__timer_arm(tl, &a, 30); /* re-armed */
	kx__timer_cancel(&c);
	kx__loop_defer(tl, &t);
	kx__loop_defer(tl, &t); /* queued twice: runs once */
	kx__loop_run(tl);
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 9);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 1);
	kx__loop_free(tl);
}

/* A loop freed with a timer armed and a task queued lets both go: cancelling
 * them afterwards touches nothing (ASan would see it). */
static void free_with_armed_timer_and_task(void **state)
{
	(void)state;
	struct kx_loop *l = new_loop();
	struct kx_timer a = {.fn = mark, .ud = (void *)1};
	struct kx_task t = {.fn = mark, .ud = (void *)9};
	kx__timer_arm(l, &a, 100000);
	kx__loop_defer(l, &t);
	kx__loop_free(l);
	assert_int_equal(a.armed, 0);
	assert_int_equal(t.queued, 0);
	kx__timer_cancel(&a);
	kx__task_cancel(NULL, &t);
}

/* A task that frees the owner of a later task of the same batch cancels it: the
 * later task must not run (its owner's memory is gone; ASan would see it). */
struct owner {
	struct kx_task task;
	int ran;
};
static struct owner *victim;
static int victim_runs;
static void owner_ran(void *ud)
{
	((struct owner *)ud)->ran++;
}
static void victim_ran(void *ud)
{
	(void)ud;
	victim_runs++;
}
static void free_victim(void *ud)
{
	(void)ud;
	kx__task_cancel(tl, &victim->task);
	free(victim);
	victim = NULL;
	kx__loop_stop(tl);
}
static void cancel_within_the_running_batch(void **state)
{
	(void)state;
	tl = new_loop();
	struct kx_task killer = {.fn = free_victim};
	victim = calloc(1, sizeof *victim);
	assert_non_null(victim);
	victim->task = (struct kx_task){.fn = victim_ran};
	victim_runs = 0;
	struct owner after = {.task = {.fn = owner_ran}};
	after.task.ud = &after;
	kx__loop_defer(tl, &killer);
	kx__loop_defer(tl, &victim->task);
	kx__loop_defer(tl, &after.task);
	kx__loop_run(tl);
	assert_null(victim);
	assert_int_equal(victim_runs, 0);
	assert_int_equal(after.ran, 1); /* the rest of the batch still runs */
	kx__loop_free(tl);
}

/* A regular file (stdin redirected from a file) cannot be in an epoll set: it
 * counts as always readable, so it is read to its end. */
static void regular_file_is_always_readable(void **state)
{
	(void)state;
	char path[] = "/tmp/kx-test-loop-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "from a file", 11), 11);
	lseek(fd, 0, SEEK_SET);
	struct kx_loop *l = new_loop();
	struct probe p;
	adopt(l, &p, fd);
	p.stop_on_close = 1;
	kx__loop_run(l);
	assert_int_equal(p.got_len, 11);
	assert_int_equal(p.closed, 1);
	kx__loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(readable_then_eof_then_closed),
		cmocka_unit_test(write_once_and_read_off),
		cmocka_unit_test(timers_and_tasks),
		cmocka_unit_test(free_with_armed_timer_and_task),
		cmocka_unit_test(cancel_within_the_running_batch),
		cmocka_unit_test(regular_file_is_always_readable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
