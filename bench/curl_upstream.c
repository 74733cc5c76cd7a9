/* SPDX-License-Identifier: Apache-2.0 */
/* What an upstream through libcurl would cost (issue 13, the proxy's p99): C
 * GETs kept in flight for D seconds straight at the API server with libcurl's
 * multi interface, HTTP/2 multiplexed over one connection (H2=1) or HTTP/1.1
 * over one connection each (H2=0); prints requests/s, p50/p90/p99 and this
 * process's CPU per 10,000 requests (compare with the proxy's in bench/proxy).
 * A measuring tool, built beside kx (build/curl_upstream; use the plain
 * build, `make build`), run by hand:
 *   . $KX_CLUSTER_STATE/env; URL=$KX_TEST_APISERVER/api/v1/namespaces/default/pods/web-0 \
 *     CA=$KX_TEST_CA TOKEN=$KX_TEST_TOKEN build/curl_upstream H2 50 8 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static size_t sink(char *p, size_t s, size_t n, void *u) { (void)p; (void)u; return s * n; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static double *lat; static size_t nlat, cap;
struct slot { CURL *h; double t0; };
static struct curl_slist *hdrs; static const char *url, *ca; static int h2;

static void start(CURLM *m, struct slot *s)
{
	if (!s->h) {
		s->h = curl_easy_init();
		curl_easy_setopt(s->h, CURLOPT_URL, url);
		curl_easy_setopt(s->h, CURLOPT_CAINFO, ca);
		curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
		curl_easy_setopt(s->h, CURLOPT_HTTP_VERSION, h2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
		curl_easy_setopt(s->h, CURLOPT_PIPEWAIT, 1L);
	}
	s->t0 = now();
	curl_multi_add_handle(m, s->h);
}

int main(int argc, char **argv)
{
	if (argc != 4 || !getenv("URL") || !getenv("CA") || !getenv("TOKEN")) {
		fprintf(stderr, "usage: URL=… CA=… TOKEN=… curl_upstream H2(0|1) CONNECTIONS SECONDS\n");
		return 2;
	}
	h2 = atoi(argv[1]); int c = atoi(argv[2]); double d = atof(argv[3]);
	if (c < 1 || d <= 0) {
		fprintf(stderr, "curl_upstream: CONNECTIONS ≥ 1 and SECONDS > 0\n");
		return 2;
	}
	url = getenv("URL"); ca = getenv("CA");
	char auth[256]; snprintf(auth, sizeof auth, "Authorization: Bearer %s", getenv("TOKEN"));
	hdrs = curl_slist_append(NULL, auth);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURLM *m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, h2 ? 1L : 0L);
	struct slot *s = calloc(c, sizeof *s);
	/* warm: one request opens the connection first */
	start(m, &s[0]); int run = 1;
	while (run) { curl_multi_perform(m, &run); curl_multi_poll(m, NULL, 0, 100, NULL); }
	CURLMsg *msg; int left; while ((msg = curl_multi_info_read(m, &left))) curl_multi_remove_handle(m, msg->easy_handle);
	struct rusage r0, r1; getrusage(RUSAGE_SELF, &r0);
	double t_end = now() + d, t_start = now();
	for (int i = 0; i < c; i++) start(m, &s[i]);
	for (;;) {
		curl_multi_perform(m, &run);
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE) continue;
			struct slot *x; curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			double t = now();
			if (nlat == cap) { cap = cap ? cap * 2 : 4096; lat = realloc(lat, cap * sizeof *lat); }
			lat[nlat++] = (t - x->t0) * 1000;
			curl_multi_remove_handle(m, msg->easy_handle);
			if (t < t_end) start(m, x);
		}
		if (now() >= t_end && !run) break;
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	getrusage(RUSAGE_SELF, &r1);
	double cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 +
		     (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
	qsort(lat, nlat, sizeof *lat, cmp);
	long conns = 0; curl_easy_getinfo(s[0].h, CURLINFO_NUM_CONNECTS, &conns);
	printf("libcurl h2=%d c=%d n=%zu rps=%.0f p50=%.1f p90=%.1f p99=%.1f cpu/10k=%.3f\n", h2, c, nlat, nlat / (now() - t_start),
	       lat[nlat / 2], lat[nlat * 9 / 10], lat[nlat * 99 / 100], cpu / nlat * 10000);
	return 0;
}
