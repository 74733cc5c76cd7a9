/* Which HTTP proxy a connection to the API server goes through, by client-go's
 * rules: the kubeconfig's proxy-url, else HTTPS_PROXY/HTTP_PROXY (either case)
 * unless NO_PROXY matches the host ("*", a host, a domain suffix, an IP, or an
 * IPv4 CIDR). Only http:// proxies (CONNECT) are supported for streaming. */
#include "internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env2(const char *upper, const char *lower)
{
	const char *v = getenv(upper);
	return v && *v ? v : getenv(lower);
}

static int cidr_match(const char *cidr, const char *host)
{
	char net[64];
	const char *slash = strchr(cidr, '/');
	struct in_addr a, n;
	if (!slash || (size_t)(slash - cidr) >= sizeof net)
		return 0;
	memcpy(net, cidr, (size_t)(slash - cidr));
	net[slash - cidr] = '\0';
	int bits = atoi(slash + 1);
	if (bits < 0 || bits > 32 || inet_pton(AF_INET, net, &n) != 1 || inet_pton(AF_INET, host, &a) != 1)
		return 0;
	uint32_t mask = bits ? htonl(~0u << (32 - bits)) : 0;
	return (a.s_addr & mask) == (n.s_addr & mask);
}

/* Does NO_PROXY exempt host? */
int kx__no_proxy(const char *host)
{
	const char *list = env2("NO_PROXY", "no_proxy");
	if (!list || !*list)
		return 0;
	char *copy = strdup(list), *save = NULL;
	int hit = 0;
	size_t hl = strlen(host);
	for (char *e = copy ? strtok_r(copy, ", ", &save) : NULL; e && !hit; e = strtok_r(NULL, ", ", &save)) {
		char *colon = strrchr(e, ':'); /* "host:port" entries: the host part */
		if (colon && !strchr(e, ']') && strchr(e, ':') == colon)
			*colon = '\0';
		if (!strcmp(e, "*") || !strcasecmp(e, host) || cidr_match(e, host))
			hit = 1;
		else {
			const char *suffix = e[0] == '.' ? e + 1 : e;
			size_t sl = strlen(suffix);
			if (sl && hl > sl && host[hl - sl - 1] == '.' && !strcasecmp(host + hl - sl, suffix))
				hit = 1;
		}
	}
	free(copy);
	return hit;
}

kx_err kx__proxy_for(const char *proxy_url, int tls, const char *host, struct kx__proxy *out,
		     struct kx_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	const char *url = proxy_url;
	if (!url || !*url) {
		if (kx__no_proxy(host))
			return KX_OK;
		url = tls ? env2("HTTPS_PROXY", "https_proxy") : env2("HTTP_PROXY", "http_proxy");
		if (!url || !*url)
			return KX_OK;
	}
	const char *p = url;
	if (!strncmp(p, "http://", 7))
		p += 7;
	else if (strstr(p, "://"))
		return kx__fail(eb, KX_ERR_CONFIG, "proxy scheme %.*s is not supported for exec and port-forward (only http://)",
				(int)(strstr(p, "://") - p), p);
	const char *at = strchr(p, '@'), *end = p + strcspn(p, "/?#");
	if (at && at < end) {
		snprintf(out->userinfo, sizeof out->userinfo, "%.*s", (int)(at - p), p);
		p = at + 1;
	}
	size_t hl = (size_t)(end - p);
	char hostport[300];
	snprintf(hostport, sizeof hostport, "%.*s", (int)hl, p);
	char *colon = strrchr(hostport, ':');
	if (colon && (!strchr(hostport, ']') || colon > strchr(hostport, ']'))) {
		*colon = '\0';
		out->port = atoi(colon + 1);
	} else {
		out->port = 80;
	}
	char *h = hostport;
	if (*h == '[') {
		h++;
		h[strcspn(h, "]")] = '\0';
	}
	if (!*h || out->port <= 0 || out->port > 65535)
		return kx__fail(eb, KX_ERR_CONFIG, "invalid proxy address");
	snprintf(out->host, sizeof out->host, "%s", h);
	out->use = 1;
	return KX_OK;
}
