/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internal, bottom layer: reading files and joining paths. Uses only the
 * buffer and error helpers (buf.c, error.c); the kubeconfig layers, auth and the
 * discovery cache build on it. */
#ifndef KX_FSUTIL_H
#define KX_FSUTIL_H

#include <kx/common.h>
#include <stddef.h>

/* The one capped file reader: a whole file, at most max bytes (a regular file that
 * is larger fails before reading), NUL-terminated, read through a secret buffer
 * (tokens and keys leave no copies). On failure *errnum is the errno (0 for "too
 * large": KX_ERR_TOO_LARGE) and *op names the failing step ("open", "read");
 * a missing file is KX_ERR_NOT_FOUND. */
kx_err kx__file_read(const char *path, size_t max, char **out, size_t *len, const char **op,
		     int *errnum);

/* The same, with the error worded into eb ("open PATH: No such file or directory",
 * "PATH: file is larger than N bytes"). len may be NULL. */
kx_err kx__read_file(const char *path, size_t max, char **out, size_t *len, struct kx_errbuf *eb);

/* Go's error text for an errno: strerror with a lower-case first letter. */
const char *kx__errno_text(int errnum, char *buf, size_t n);

/* Go's filepath.Join(dir, p) for a relative p; an absolute p (or no dir) is only
 * cleaned (path.Clean). malloc'd; NULL when p is NULL or out of memory. */
char *kx__path_join(const char *dir, const char *p);

/* filepath.Abs(filepath.Dir(file)): the absolute directory a file's relative paths
 * point into. malloc'd; NULL when out of memory. */
char *kx__path_abs_dir(const char *file);

#endif
