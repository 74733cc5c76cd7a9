/* SPDX-License-Identifier: Apache-2.0 */
/* Socket addresses as text (netaddr.h). */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

void kx__format_peer(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
		snprintf(out, n, "[%s]:%u", host, ntohs(a6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
		snprintf(out, n, "%s:%u", host, ntohs(a4->sin_port));
	} else {
		snprintf(out, n, "unix");
	}
}
