/* SPDX-License-Identifier: Apache-2.0 */
/* libkx internal: socket addresses as text, for the event streams of the
 * commands that accept local connections (port-forward, proxy). */
#ifndef KX_NETADDR_H
#define KX_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* "127.0.0.1:53412", "[::1]:53412", or "unix" (a Unix socket's peer). */
void kx__format_peer(const struct sockaddr_storage *ss, char *out, size_t n);

#endif
