/* SPDX-License-Identifier: Apache-2.0 */
/* File and path utilities at the bottom of libkx (see fsutil.h): one capped file
 * reader, errno text as Go words it, and Go's path rules for joining and cleaning. */
#include "fsutil.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *kx__errno_text(int errnum, char *buf, size_t n)
{
	snprintf(buf, n, "%s", strerror(errnum));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

kx_err kx__file_read(const char *path, size_t max, char **out, size_t *len, const char **op,
		    int *errnum)
{
	*out = NULL;
	*len = 0;
	*op = "open";
	*errnum = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*errnum = errno;
		return errno == ENOENT ? KX_ERR_NOT_FOUND : KX_ERR_IO;
	}
	*op = "read";
	struct kx_buf b = KX_BUF_INIT_SECRET(max); /* tokens, keys, passwords */
	struct stat st;
	kx_err err = KX_OK;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
		err = KX_ERR_TOO_LARGE;
		goto out;
	}
	for (;;) {
		char chunk[16384];
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*errnum = errno;
			err = KX_ERR_IO;
			break;
		}
		if (n == 0)
			break;
		err = kx_buf_append(&b, chunk, (size_t)n);
		kx__memzero(chunk, (size_t)n);
		if (err)
			break;
	}
out:
	close(fd);
	if (err) {
		kx_buf_free_secret(&b);
		return err;
	}
	*len = b.len;
	*out = kx_buf_steal(&b);
	return *out ? KX_OK : KX_ERR_NOMEM;
}

/* Go's path.Clean. */
static char *path_clean(const char *path)
{
	size_t n = strlen(path);
	char *out = malloc(n + 2);
	if (!out)
		return NULL;
	if (!n) {
		strcpy(out, ".");
		return out;
	}
	int rooted = path[0] == '/';
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && path[r] != '/'; r++)
				out[w++] = path[r];
		}
	}
	if (!w)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

char *kx__path_join(const char *dir, const char *p)
{
	if (!p)
		return NULL;
	if (p[0] == '/' || !dir || !*dir)
		return path_clean(p);
	size_t dl = strlen(dir), pl = strlen(p);
	char *j = malloc(dl + pl + 2);
	if (!j)
		return NULL;
	memcpy(j, dir, dl);
	j[dl] = '/';
	memcpy(j + dl + 1, p, pl + 1);
	char *c = path_clean(j);
	free(j);
	return c;
}

char *kx__path_abs_dir(const char *file)
{
	const char *slash = strrchr(file, '/');
	size_t dl = slash ? (size_t)(slash - file) + 1 : 0;
	char *dir = malloc(dl + 1);
	if (!dir)
		return NULL;
	memcpy(dir, file, dl);
	dir[dl] = '\0';
	char *res;
	if (dir[0] == '/') {
		res = path_clean(dir);
	} else {
		char *cwd = getcwd(NULL, 0);
		res = cwd ? kx__path_join(cwd, dir) : NULL;
		free(cwd);
	}
	free(dir);
	return res;
}

kx_err kx__read_file(const char *path, size_t max, char **out, size_t *len, struct kx_errbuf *eb)
{
	const char *op;
	int errnum;
	size_t n = 0;
	kx_err err = kx__file_read(path, max, out, &n, &op, &errnum);
	if (err == KX_ERR_TOO_LARGE)
		return kx__fail(eb, err, "%s: file is larger than %zu bytes", path, max);
	if (err && err != KX_ERR_NOMEM)
		return kx__fail(eb, err, "%s %s: %s", op, path, strerror(errnum));
	if (len)
		*len = n;
	return err;
}
