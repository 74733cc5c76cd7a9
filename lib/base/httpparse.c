/* SPDX-License-Identifier: Apache-2.0 */
/* kx's names for http-parser (see httpparse.h). */
#include "httpparse.h"

#include <http_parser.h>
#include <stdlib.h>

struct kx__http {
	http_parser p;
	http_parser_settings s;
	const struct kx__http_callbacks *cb;
	void *ud;
	int response;
};

#define UD(p) (((struct kx__http *)(p)->data)->ud)
#define CB(p) (((struct kx__http *)(p)->data)->cb)

static int begin(http_parser *p) { return CB(p)->on_begin ? CB(p)->on_begin(UD(p)) : 0; }
static int url(http_parser *p, const char *a, size_t n) { return CB(p)->on_url ? CB(p)->on_url(UD(p), a, n) : 0; }
static int field(http_parser *p, const char *a, size_t n) { return CB(p)->on_field ? CB(p)->on_field(UD(p), a, n) : 0; }
static int value(http_parser *p, const char *a, size_t n) { return CB(p)->on_value ? CB(p)->on_value(UD(p), a, n) : 0; }
static int headers(http_parser *p) { return CB(p)->on_headers ? CB(p)->on_headers(UD(p)) : 0; }
static int body(http_parser *p, const char *a, size_t n) { return CB(p)->on_body ? CB(p)->on_body(UD(p), a, n) : 0; }
static int complete(http_parser *p) { return CB(p)->on_complete ? CB(p)->on_complete(UD(p)) : 0; }

struct kx__http *kx__http_new(int response, const struct kx__http_callbacks *cb, void *ud)
{
	struct kx__http *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->cb = cb;
	h->ud = ud;
	h->response = response;
	h->s = (http_parser_settings){.on_message_begin = begin, .on_url = url, .on_header_field = field,
				      .on_header_value = value, .on_headers_complete = headers,
				      .on_body = body, .on_message_complete = complete};
	kx__http_reset(h);
	return h;
}

void kx__http_free(struct kx__http *h)
{
	free(h);
}

void kx__http_reset(struct kx__http *h)
{
	http_parser_init(&h->p, h->response ? HTTP_RESPONSE : HTTP_REQUEST);
	h->p.data = h;
}

size_t kx__http_feed(struct kx__http *h, const char *data, size_t len)
{
	return http_parser_execute(&h->p, &h->s, data, len);
}

enum kx__http_state kx__http_state(const struct kx__http *h)
{
	switch (HTTP_PARSER_ERRNO(&h->p)) {
	case HPE_OK: return KX_HTTP_OK;
	case HPE_PAUSED: return KX_HTTP_PAUSED;
	case HPE_HEADER_OVERFLOW: return KX_HTTP_HEADER_OVERFLOW;
	default: return KX_HTTP_ERROR;
	}
}

const char *kx__http_error_text(const struct kx__http *h)
{
	return http_errno_description(HTTP_PARSER_ERRNO(&h->p));
}

void kx__http_pause(struct kx__http *h, int paused) { http_parser_pause(&h->p, paused); }
int kx__http_keep_alive(const struct kx__http *h) { return http_should_keep_alive(&h->p); }
int kx__http_chunked(const struct kx__http *h) { return (h->p.flags & F_CHUNKED) != 0; }
int kx__http_upgrade(const struct kx__http *h) { return h->p.upgrade; }
int kx__http_status(const struct kx__http *h) { return (int)h->p.status_code; }
const char *kx__http_method(const struct kx__http *h) { return http_method_str((enum http_method)h->p.method); }
int kx__http_is_connect(const struct kx__http *h) { return h->p.method == HTTP_CONNECT; }
int kx__http_is_head(const struct kx__http *h) { return h->p.method == HTTP_HEAD; }
int kx__http_version(const struct kx__http *h) { return h->p.http_major * 10 + h->p.http_minor; }

int kx__http_split_url(const char *u, size_t n, size_t *path_off, size_t *path_len,
		       size_t *query_off, size_t *query_len, int *has_path, int *has_query)
{
	struct http_parser_url pu;
	http_parser_url_init(&pu);
	if (http_parser_parse_url(u, n, 0, &pu))
		return -1;
	*has_path = (pu.field_set & (1 << UF_PATH)) != 0;
	*has_query = (pu.field_set & (1 << UF_QUERY)) != 0;
	*path_off = pu.field_data[UF_PATH].off;
	*path_len = pu.field_data[UF_PATH].len;
	*query_off = pu.field_data[UF_QUERY].off;
	*query_len = pu.field_data[UF_QUERY].len;
	return 0;
}
