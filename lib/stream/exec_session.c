/* SPDX-License-Identifier: Apache-2.0 */
/* The exec session under both transports (exec_ws.c, exec_spdy.c): the request
 * path, output, stdin (from a descriptor or from memory), the exit status and
 * the session's end. The layer below the transports; exec.c and exec_many.c,
 * which choose a transport and run sessions, sit above them. */
#include "exec_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

kx_err kx__exec_path(const struct kx_exec_session *s, struct kx_buf *path)
{
	const struct kx_exec_opts *o = s->opts;
	*path = (struct kx_buf)KX_BUF_INIT(1 << 20);
	kx_err err = kx_buf_printf(path, "%s/api/v1/namespaces/%s/pods/%s/%s", s->ci.path_prefix,
				   s->ns, o->pod, o->attach ? "attach" : "exec");
	for (size_t i = 0; !err && !o->attach && o->argv[i]; i++)
		err = kx_buf_query(path, "command", o->argv[i]);
	if (!err && o->container)
		err = kx_buf_query(path, "container", o->container);
	if (!err)
		err = kx_buf_query(path, "stdin", o->use_stdin ? "true" : "false");
	if (!err)
		err = kx_buf_query(path, "stdout", "true");
	if (!err)
		err = kx_buf_query(path, "stderr", o->tty ? "false" : "true");
	if (!err)
		err = kx_buf_query(path, "tty", o->tty ? "true" : "false");
	return err;
}

int kx__exec_write_fd(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			poll(&pfd, 1, -1);
			continue;
		}
		if (n < 0)
			return errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Output is written synchronously: a full stdout stops the loop from reading the
 * connection, which is the backpressure the server's reader expects. */
static kx_err write_all(struct kx_exec_session *s, int fd, const void *data, size_t len)
{
	int e = kx__exec_write_fd(fd, data, len);
	if (e == EPIPE) {
		/* The reader went away (`kx exec … | head`): end quietly, as a
		 * process killed by SIGPIPE would (kubectl exits 141 here). */
		s->res->signal = SIGPIPE;
		s->output_failed = 1;
		return KX_ERR_INTERRUPTED;
	}
	if (e) {
		if (!s->output_failed)
			kx__fail(s->eb, KX_ERR_IO, "writing output: %s", strerror(e));
		s->output_failed = 1;
		return KX_ERR_IO;
	}
	return KX_OK;
}

kx_err kx__exec_flush_output(struct kx_exec_session *s)
{
	if (!s->out.len)
		return KX_OK;
	kx_err err = write_all(s, s->out_fd, s->out.data, s->out.len);
	kx_buf_clear(&s->out);
	return err;
}

void kx__exec_flush_task(void *ud)
{
	struct kx_exec_session *s = ud;
	kx_err err = kx__exec_flush_output(s);
	if (err)
		kx__exec_finish(s, err);
}

kx_err kx__exec_output(struct kx_exec_session *s, int fd, const void *data, size_t len)
{
	kx_err err;
	if (s->sink)
		return s->sink(s, fd == s->opts->err_fd, data, len);
	if (s->out.len && fd != s->out_fd && (err = kx__exec_flush_output(s)))
		return err;
	if (!s->out.len && len >= KX_EXEC_OUT_BATCH)
		return write_all(s, fd, data, len);
	s->out_fd = fd;
	if (kx_buf_append(&s->out, data, len)) {
		s->out = (struct kx_buf)KX_BUF_INIT(KX_EXEC_OUT_BATCH * 2);
		return write_all(s, fd, data, len);
	}
	if (s->out.len >= KX_EXEC_OUT_BATCH)
		return kx__exec_flush_output(s);
	kx__loop_defer(s->loop, &s->out_task);
	return KX_OK;
}

void kx__exec_refused(struct kx_exec_session *s, int code, const char *body, size_t len)
{
	struct kx_status st;
	kx_status_decode(body, len, code, &st);
	cJSON *doc = cJSON_ParseWithLength(body, len);
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "kind"));
	if (!kind || strcmp(kind, "Status") || strstr(st.message, "pgrade"))
		s->upgrade_failed = 1;
	cJSON_Delete(doc);
	if (!s->on_end) /* several sessions share the client: its status means nothing */
		kx__client_set_status(s->client, &st);
	kx__fail(s->eb, KX_ERR_API, "%s", st.message);
	kx__exec_finish(s, KX_ERR_API);
}

void kx__exec_end(struct kx_exec_session *s)
{
	if (s->on_end)
		s->on_end(s);
	else
		kx__loop_stop(s->loop);
}

void kx__exec_finish(struct kx_exec_session *s, kx_err err)
{
	kx_err ferr = kx__exec_flush_output(s); /* what came before the end goes out first */
	if (ferr && !err)
		err = ferr;
	if (!s->done) {
		s->done = 1;
		s->err = err;
	}
	kx__exec_end(s);
}

void kx__exec_status(struct kx_exec_session *s, const char *json, size_t len)
{
	struct kx_status st;
	kx_status_decode(json, len, 0, &st);
	s->got_status = 1;
	if (!strcmp(st.status, "Success")) {
		s->res->exit_code = 0;
	} else if (st.exit_code >= 0 && !strcmp(st.reason, "NonZeroExitCode")) {
		s->res->exit_code = st.exit_code;
	} else {
		/* A failure that is not the command's own exit (it could not be
		 * started): the server's message. It came over the stream, not as an
		 * HTTP answer, so no kx_client_status (client-go too reports it as a
		 * plain error, not an API status). */
		kx__fail(s->eb, KX_ERR_API, "%s", st.message);
		kx__exec_finish(s, KX_ERR_API);
		return;
	}
	kx__exec_finish(s, KX_OK);
}

/* The terminal's size, for the resize channel/stream. */
int kx__exec_tty_size(const struct kx_exec_session *s, unsigned *cols, unsigned *rows)
{
	struct winsize ws;
	if (s->opts->tty_fd < 0 || ioctl(s->opts->tty_fd, TIOCGWINSZ, &ws) || !ws.ws_col)
		return -1;
	*cols = ws.ws_col;
	*rows = ws.ws_row;
	return 0;
}

void kx__exec_stdin_flow(struct kx_exec_session *s)
{
	if (s->mem_stdin) {
		/* stdin from memory (shared by several sessions): refill the
		 * bounded buffer from it; its end is stdin's EOF. */
		while (s->transport_ready && s->stdin_buf.len < KX_EXEC_STDIN_HIGH &&
		       s->mem_off < s->mem_len) {
			size_t n = KX_MIN(s->mem_len - s->mem_off, KX_EXEC_STDIN_HIGH - s->stdin_buf.len);
			if (kx_buf_append(&s->stdin_buf, s->mem_in + s->mem_off, n)) {
				kx__fail(s->eb, KX_ERR_NOMEM, "out of memory");
				kx__exec_finish(s, KX_ERR_NOMEM);
				return;
			}
			s->mem_off += n;
		}
		if (s->transport_ready && s->mem_off == s->mem_len)
			s->stdin_eof = 1;
		return;
	}
	int want = s->stdin_buf.len < KX_EXEC_STDIN_HIGH && s->transport_ready;
	if (s->stdin_io.h && want != s->stdin_reading) {
		kx__io_read(&s->stdin_io, want);
		s->stdin_reading = want;
	}
}

void kx__exec_stdin_stop(struct kx_exec_session *s)
{
	s->transport_ready = 0;
	kx_buf_clear(&s->stdin_buf);
	if (s->mem_stdin)
		s->mem_off = s->mem_len;
	kx__exec_stdin_flow(s);
}

/* Local stdin: read into the bounded buffer, then ask the transport to send. */
static void stdin_cb(struct kx_io *io, enum kx_io_event ev)
{
	struct kx_exec_session *s = io->owner;
	switch (ev) {
	case KX_IO_READABLE: {
		size_t room = KX_EXEC_STDIN_HIGH > s->stdin_buf.len ? KX_EXEC_STDIN_HIGH - s->stdin_buf.len : 0;
		if (!room) {
			kx__exec_stdin_flow(s);
			return;
		}
		/* One read per wakeup up to the bound, into this session's own chunk. */
		ssize_t n = read(kx__io_fd(io), s->stdin_chunk, KX_MIN(room, (size_t)KX_EXEC_STDIN_HIGH));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n <= 0) {
			s->stdin_eof = 1;
			kx__io_close(io);
			s->ops->kick(s);
			return;
		}
		if (kx_buf_append(&s->stdin_buf, s->stdin_chunk, (size_t)n)) {
			kx__fail(s->eb, KX_ERR_NOMEM, "out of memory");
			kx__exec_finish(s, KX_ERR_NOMEM);
			kx__io_close(io);
			return;
		}
		kx__exec_stdin_flow(s);
		s->ops->kick(s);
		return;
	}
	case KX_IO_CLOSED:
		if (!s->stdin_eof) {
			s->stdin_eof = 1;
			s->ops->kick(s);
		}
		return;
	case KX_IO_WRITABLE:
		return;
	}
}

/* Called by a transport when it can carry stdin. */
kx_err kx__exec_start_stdin(struct kx_exec_session *s)
{
	s->transport_ready = 1;
	if (!s->opts->use_stdin) {
		s->stdin_eof = 1;
		return KX_OK;
	}
	if (s->mem_stdin) {
		kx__exec_stdin_flow(s);
		s->ops->kick(s);
		return KX_OK;
	}
	if (!s->stdin_chunk && !(s->stdin_chunk = malloc(KX_EXEC_STDIN_HIGH)))
		return kx__fail(s->eb, KX_ERR_NOMEM, "out of memory");
	/* A dup, so closing the handle leaves the caller's descriptor open. */
	int fd = dup(s->opts->in_fd);
	if (fd < 0) {
		s->stdin_eof = 1; /* no stdin at all (closed): EOF at once */
		s->ops->kick(s);
		return KX_OK;
	}
	s->stdin_io = (struct kx_io){.fn = stdin_cb, .owner = s};
	kx_err err = kx__loop_adopt_fd(s->loop, fd, &s->stdin_io, s->eb);
	if (err)
		close(fd);
	s->stdin_reading = 1;
	return err;
}
