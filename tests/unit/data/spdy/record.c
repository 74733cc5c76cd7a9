/* Records the SPDY/3.1 byte streams in this directory: runs one exec or
 * port-forward against the local test cluster's kube-apiserver with kx__spdy
 * and saves what each side sent after the 101 (PREFIX.client.bin,
 * PREFIX.server.bin). Not part of the build; see README.md. Loopback only. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "spdy.h"

static FILE *fs, *fc;
static struct kx__spdy *S;
static uint32_t stdin_id;
static const char *stdin_text;

static void on_reply(void *ud, uint32_t id, const struct kx__spdy_headers *h)
{
	fprintf(stderr, "reply %u (%zu headers)\n", id, h->count);
	for (size_t i = 0; i < h->count; i++)
		fprintf(stderr, "  %s: %s\n", h->items[i].name, h->items[i].value);
	if (id == stdin_id && stdin_text) {
		struct kx_errbuf eb = {0};
		if (kx__spdy_write(S, id, stdin_text, strlen(stdin_text), &eb) ||
		    kx__spdy_close_stream(S, id, &eb))
			fprintf(stderr, "write: %s\n", eb.msg);
	}
}
static void on_data(void *ud, uint32_t id, const void *p, size_t n)
{
	fprintf(stderr, "data %u: %.*s\n", id, (int)n, (const char *)p);
}
static void on_fin(void *ud, uint32_t id)
{
	fprintf(stderr, "fin %u\n", id);
}
static void on_reset(void *ud, uint32_t id, uint32_t st, int peer)
{
	fprintf(stderr, "reset %u %u %d\n", id, st, peer);
}
static void on_goaway(void *ud, uint32_t last, uint32_t st)
{
	fprintf(stderr, "goaway %u %u\n", last, st);
}
static void on_pong(void *ud, uint32_t id)
{
	fprintf(stderr, "pong %u\n", id);
}

static void flush_out(SSL *ssl)
{
	size_t n;
	const void *p;
	while ((p = kx__spdy_peek(S, &n)) && n) {
		int w = SSL_write(ssl, p, (int)n);
		if (w <= 0) {
			fprintf(stderr, "SSL_write failed\n");
			exit(1);
		}
		fwrite(p, 1, (size_t)w, fc);
		kx__spdy_consumed(S, (size_t)w);
	}
}

int main(int argc, char **argv)
{
	const char *path = argv[1], *prefix = argv[2];
	int with_stdin = argc > 3;
	stdin_text = with_stdin ? argv[3] : NULL;
	int port = atoi(getenv("KX_TEST_APISERVER_PORT"));
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_load_verify_locations(ctx, getenv("KX_TEST_CA"), NULL);
	SSL_CTX_use_certificate_file(ctx, getenv("KX_TEST_CLIENT_CERT"), SSL_FILETYPE_PEM);
	SSL_CTX_use_PrivateKey_file(ctx, getenv("KX_TEST_CLIENT_KEY"), SSL_FILETYPE_PEM);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		perror("connect");
		return 1;
	}
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set1_host(ssl, "127.0.0.1");
	if (SSL_connect(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	char req[2048];
	snprintf(req, sizeof req,
		 "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
		 "X-Stream-Protocol-Version: %s\r\nContent-Length: 0\r\n\r\n",
		 path, port, strstr(path, "portforward") ? "portforward.k8s.io" : "v4.channel.k8s.io");
	SSL_write(ssl, req, (int)strlen(req));
	char buf[65536];
	size_t have = 0;
	char *end = NULL;
	while (!end) {
		int r = SSL_read(ssl, buf + have, (int)(sizeof buf - 1 - have));
		if (r <= 0) {
			fprintf(stderr, "closed before headers\n");
			return 1;
		}
		have += (size_t)r;
		buf[have] = 0;
		end = strstr(buf, "\r\n\r\n");
	}
	fprintf(stderr, "%.*s", (int)(end + 4 - buf), buf);
	if (strncmp(buf, "HTTP/1.1 101", 12)) {
		fprintf(stderr, "%s\n", end + 4);
		return 1;
	}
	char fn[512];
	snprintf(fn, sizeof fn, "%s.server.bin", prefix);
	fs = fopen(fn, "wb");
	snprintf(fn, sizeof fn, "%s.client.bin", prefix);
	fc = fopen(fn, "wb");
	struct kx__spdy_callbacks cb = {on_reply, NULL, on_data, on_fin, on_reset, on_goaway, on_pong};
	struct kx_errbuf eb = {0};
	kx__spdy_new(&cb, NULL, &S, &eb);
	int pf = with_stdin && !strcmp(argv[3], "--pf");
	if (pf) {
		stdin_text = "ping over spdy\n";
		struct kx__spdy_pair e[] = {{"streamtype", "error"}, {"port", "7"}, {"requestid", "0"}};
		struct kx__spdy_pair d[] = {{"streamtype", "data"}, {"port", "7"}, {"requestid", "0"}};
		if (kx__spdy_open_stream(S, e, 3, 1, NULL, &eb) || kx__spdy_open_stream(S, d, 3, 0, &stdin_id, &eb)) {
			fprintf(stderr, "open: %s\n", eb.msg);
			return 1;
		}
	}
	const char *types[] = {"error", "stdin", "stdout", "stderr"};
	for (int i = 0; i < 4 && !pf; i++) {
		if (i == 1 && !with_stdin)
			continue;
		struct kx__spdy_pair h[] = {{"streamtype", types[i]}};
		uint32_t id;
		if (kx__spdy_open_stream(S, h, 1, 0, &id, &eb)) {
			fprintf(stderr, "open: %s\n", eb.msg);
			return 1;
		}
		if (i == 1)
			stdin_id = id;
	}
	size_t left = have - (size_t)(end + 4 - buf);
	if (left) {
		fwrite(end + 4, 1, left, fs);
		if (kx__spdy_feed(S, end + 4, left, &eb)) {
			fprintf(stderr, "feed: %s\n", eb.msg);
			return 1;
		}
	}
	flush_out(ssl);
	time_t t0 = time(NULL);
	int pinged = 0;
	for (;;) {
		if (!pinged && time(NULL) - t0 >= 0) {
			uint32_t pid;
			kx__spdy_ping(S, &pid, NULL);
			pinged = 1;
			flush_out(ssl);
		}
		struct pollfd p = {fd, POLLIN, 0};
		if (!SSL_pending(ssl) && poll(&p, 1, 10000) <= 0) {
			fprintf(stderr, "timeout\n");
			break;
		}
		int r = SSL_read(ssl, buf, sizeof buf);
		if (r <= 0) {
			fprintf(stderr, "connection closed (%d)\n", SSL_get_error(ssl, r));
			break;
		}
		fwrite(buf, 1, (size_t)r, fs);
		if (kx__spdy_feed(S, buf, (size_t)r, &eb)) {
			fprintf(stderr, "feed: %s\n", eb.msg);
			return 1;
		}
		flush_out(ssl);
	}
	fclose(fs);
	fclose(fc);
	kx__spdy_free(S);
	return 0;
}
