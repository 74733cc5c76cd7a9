/* SPDX-License-Identifier: Apache-2.0 */
/* YAML and JSON documents for libkx: YAML is read with libyaml's event parser under
 * go-yaml v2's scalar rules (what sigs.k8s.io/yaml, and so kubectl, reads) into cJSON,
 * and cJSON is printed the way kubectl's -o yaml and -o json print objects. */
#include <kx/json.h>
#include "internal.h"
#include "base64.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 64
#define EMIT_MAX_DEPTH 1000

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 — the same
 * rules as Go's utf8 package: no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t len;
	uint32_t v, min;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Decode one code point, mapping each invalid byte to U+FFFD like Go's range loop. */
static size_t utf8_next(const char *s, size_t n, uint32_t *cp)
{
	size_t l = utf8_seq((const unsigned char *)s, n, cp);
	if (!l) {
		*cp = 0xfffd;
		l = 1;
	}
	return l;
}

/* A copy of s with every invalid byte replaced by U+FFFD (as Go's encoding/json does),
 * or NULL when out of memory. */
static char *utf8_sanitize(const char *s, size_t n, size_t *outlen)
{
	size_t bad = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_seq((const unsigned char *)s + i, n - i, &cp);
		if (!l) {
			bad++;
			l = 1;
		}
		i += l;
	}
	char *out = malloc(n + bad * 2 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_seq((const unsigned char *)s + i, n - i, &cp);
		if (!l) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* ------------------------------------------------------ go-yaml scalar rules */

enum ykind { Y_STR, Y_NULL, Y_BOOL, Y_INT, Y_FLOAT, Y_TIMESTAMP };

struct yscalar {
	enum ykind kind;
	int b;
	double num;
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Go's strconv.ParseUint(s, 0, 64): base prefixes 0b/0o/0x and a bare leading 0 (octal). */
static int go_parse_uint(const char *s, size_t n, uint64_t *out)
{
	if (!n)
		return 0;
	unsigned base = 10;
	if (s[0] == '0') {
		if (n >= 3 && (s[1] == 'b' || s[1] == 'B'))
			base = 2, s += 2, n -= 2;
		else if (n >= 3 && (s[1] == 'o' || s[1] == 'O'))
			base = 8, s += 2, n -= 2;
		else if (n >= 3 && (s[1] == 'x' || s[1] == 'X'))
			base = 16, s += 2, n -= 2;
		else
			base = 8, s += 1, n -= 1;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'z')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'Z')
			d = (unsigned)(c - 'A' + 10);
		else
			return 0;
		if (d >= base)
			return 0;
		if (v > (UINT64_MAX - d) / base)
			return 0;
		v = v * base + d;
	}
	*out = v;
	return 1;
}

/* Go's strconv.ParseInt(s, 0, 64). */
static int go_parse_int(const char *s, size_t n, int64_t *out)
{
	int neg = 0;
	if (n && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++, n--;
	}
	uint64_t u;
	if (!go_parse_uint(s, n, &u))
		return 0;
	if (neg) {
		if (u > (uint64_t)INT64_MAX + 1)
			return 0;
		*out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	} else {
		if (u > (uint64_t)INT64_MAX)
			return 0;
		*out = (int64_t)u;
	}
	return 1;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int yaml_style_float(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i < n && s[i] == '.') {
		i++;
		size_t d = i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == d)
			return 0;
	} else {
		size_t d = i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == d)
			return 0;
		if (i < n && s[i] == '.') {
			i++;
			while (i < n && is_digit(s[i]))
				i++;
		}
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = i;
		while (i < n && is_digit(s[i]))
			i++;
		if (i == d)
			return 0;
	}
	return i == n;
}

/* Parse a string already matched by yaml_style_float; 0 when it overflows
 * (Go's ParseFloat reports a range error and go-yaml keeps the string). */
static int parse_float(const char *s, size_t n, double *out)
{
	char buf[512];
	if (n >= sizeof buf)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	double v = strtod(buf, &end);
	if (*end || v > 1.7976931348623157e308 || v < -1.7976931348623157e308)
		return 0;
	*out = v;
	return 1;
}

/* go-yaml's isBase60Float: ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
 * ("1:20" is not a number to go-yaml v2, but it quotes such strings on output). */
static int is_base60_float(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= n || !is_digit(s[i]))
		return 0;
	while (i < n && (is_digit(s[i]) || s[i] == '_'))
		i++;
	int groups = 0;
	while (i < n && s[i] == ':') {
		i++;
		if (i + 1 < n && s[i] >= '0' && s[i] <= '5' && is_digit(s[i + 1]))
			i += 2;
		else if (i < n && is_digit(s[i]))
			i++;
		else
			return 0;
		groups++;
	}
	if (!groups)
		return 0;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && (is_digit(s[i]) || s[i] == '_'))
			i++;
	}
	return i == n;
}

/* Go's time.Parse getnum: one or two digits. */
static int ts_num(const char *s, size_t n, size_t *i, int *out)
{
	if (*i >= n || !is_digit(s[*i]))
		return 0;
	int v = s[(*i)++] - '0';
	if (*i < n && is_digit(s[*i]))
		v = v * 10 + (s[(*i)++] - '0');
	*out = v;
	return 1;
}

static int days_in(int month, int year)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return 29;
	return d[month - 1];
}

/* Does s parse as one of go-yaml v2's timestamp layouts ("2006-1-2T15:4:5.999999999Z07:00",
 * the same with 't' or ' ' and no zone, "2006-1-2") under Go's time.Parse? */
static int is_timestamp(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && is_digit(s[i]))
		i++;
	if (i != 4 || i == n || s[i] != '-')
		return 0;
	int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int month, day, hh, mm, ss;
	i = 5;
	if (!ts_num(s, n, &i, &month) || i >= n || s[i++] != '-' || !ts_num(s, n, &i, &day))
		return 0;
	if (month < 1 || month > 12 || day < 1 || day > days_in(month, year))
		return 0;
	if (i == n)
		return 1;
	char sep = s[i++];
	if (sep != 'T' && sep != 't' && sep != ' ')
		return 0;
	if (!ts_num(s, n, &i, &hh) || hh > 23 || i >= n || s[i++] != ':' ||
	    !ts_num(s, n, &i, &mm) || mm > 59 || i >= n || s[i++] != ':' ||
	    !ts_num(s, n, &i, &ss) || ss > 59)
		return 0;
	if (i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1])) {
		i++;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (sep == ' ')
		return i == n;
	if (i < n && s[i] == 'Z')
		return i + 1 == n;
	if (n - i != 6 || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':' || !is_digit(s[i + 1]) ||
	    !is_digit(s[i + 2]) || !is_digit(s[i + 4]) || !is_digit(s[i + 5]))
		return 0;
	int zh = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
	int zm = (s[i + 4] - '0') * 10 + (s[i + 5] - '0');
	return zh <= 24 && zm <= 60;
}

struct ymap_entry {
	const char *s;
	enum ykind kind;
	int b;
};

/* go-yaml v2's resolve table of exact spellings. */
static const struct ymap_entry ymap[] = {
	{"y", Y_BOOL, 1}, {"Y", Y_BOOL, 1}, {"yes", Y_BOOL, 1}, {"Yes", Y_BOOL, 1},
	{"YES", Y_BOOL, 1}, {"true", Y_BOOL, 1}, {"True", Y_BOOL, 1}, {"TRUE", Y_BOOL, 1},
	{"on", Y_BOOL, 1}, {"On", Y_BOOL, 1}, {"ON", Y_BOOL, 1},
	{"n", Y_BOOL, 0}, {"N", Y_BOOL, 0}, {"no", Y_BOOL, 0}, {"No", Y_BOOL, 0},
	{"NO", Y_BOOL, 0}, {"false", Y_BOOL, 0}, {"False", Y_BOOL, 0}, {"FALSE", Y_BOOL, 0},
	{"off", Y_BOOL, 0}, {"Off", Y_BOOL, 0}, {"OFF", Y_BOOL, 0},
	{"", Y_NULL, 0}, {"~", Y_NULL, 0}, {"null", Y_NULL, 0}, {"Null", Y_NULL, 0},
	{"NULL", Y_NULL, 0},
	{".nan", Y_FLOAT, 2}, {".NaN", Y_FLOAT, 2}, {".NAN", Y_FLOAT, 2},
	{".inf", Y_FLOAT, 1}, {".Inf", Y_FLOAT, 1}, {".INF", Y_FLOAT, 1},
	{"+.inf", Y_FLOAT, 1}, {"+.Inf", Y_FLOAT, 1}, {"+.INF", Y_FLOAT, 1},
	{"-.inf", Y_FLOAT, -1}, {"-.Inf", Y_FLOAT, -1}, {"-.INF", Y_FLOAT, -1},
};

/* go-yaml v2's resolve() for an untagged plain scalar (or one tagged !!bool/!!int/
 * !!float/!!timestamp). For Y_FLOAT from the table, b is 2 for NaN, ±1 for ±Inf. */
static void resolve_plain(const char *s, size_t n, int want_timestamp, struct yscalar *out)
{
	out->kind = Y_STR;
	out->b = 0;
	out->num = 0;
	char hint = 'N';
	if (n) {
		char c = s[0];
		if (c == '+' || c == '-')
			hint = 'S';
		else if (is_digit(c))
			hint = 'D';
		else if (strchr("yYnNtTfFoO~", c))
			hint = 'M';
		else if (c == '.')
			hint = '.';
		else
			return;
	}
	for (size_t i = 0; i < sizeof ymap / sizeof ymap[0]; i++) {
		if (strlen(ymap[i].s) == n && !memcmp(ymap[i].s, s, n)) {
			out->kind = ymap[i].kind;
			out->b = ymap[i].b;
			return;
		}
	}
	if (hint == '.') {
		if (yaml_style_float(s, n) && parse_float(s, n, &out->num))
			out->kind = Y_FLOAT, out->b = 0;
		return;
	}
	if (hint != 'D' && hint != 'S')
		return;
	if (want_timestamp && is_timestamp(s, n)) {
		out->kind = Y_TIMESTAMP;
		return;
	}
	char buf[512];
	size_t pn = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_')
			continue;
		if (pn + 1 >= sizeof buf)
			return; /* far longer than any number */
		buf[pn++] = s[i];
	}
	buf[pn] = '\0';
	int64_t iv;
	uint64_t uv;
	if (go_parse_int(buf, pn, &iv)) {
		out->kind = Y_INT;
		out->num = (double)iv;
	} else if (go_parse_uint(buf, pn, &uv)) {
		out->kind = Y_INT;
		out->num = (double)uv;
	} else if (yaml_style_float(buf, pn) && parse_float(buf, pn, &out->num)) {
		out->kind = Y_FLOAT;
		out->b = 0;
	}
}

/* ------------------------------------------------------ Go float formatting */

/* The shortest decimal digits that read back as v (v > 0, finite): digits[0..nd) and the
 * decimal point position dp (value = 0.d1d2… × 10^dp), like Go's strconv shortest mode. */
static void shortest_digits(double v, int bits32, char *digits, int *nd, int *dp)
{
	char buf[64];
	int maxp = bits32 ? 9 : 17;
	for (int p = 1; p <= maxp; p++) {
		snprintf(buf, sizeof buf, "%.*e", p - 1, v);
		int ok = bits32 ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v;
		if (ok || p == maxp)
			break;
	}
	/* buf is "d.ddde±XX" or "de±XX" */
	int n = 0;
	const char *p = buf;
	for (; *p && *p != 'e'; p++)
		if (is_digit(*p))
			digits[n++] = *p;
	int exp = *p == 'e' ? atoi(p + 1) : 0;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	*nd = n;
	*dp = exp + 1;
}

/* Go's %e with shortest digits: "1.5e+06", "1e-07". */
static void fmt_e(char *out, int neg, const char *d, int nd, int dp)
{
	int exp = dp - 1;
	char *o = out;
	if (neg)
		*o++ = '-';
	*o++ = d[0];
	if (nd > 1) {
		*o++ = '.';
		memcpy(o, d + 1, (size_t)nd - 1);
		o += nd - 1;
	}
	sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* Go's %f with shortest digits: "1234567.5", "0.001", "100000000000000000000". */
static void fmt_f(char *out, int neg, const char *d, int nd, int dp)
{
	char *o = out;
	if (neg)
		*o++ = '-';
	if (dp > 0) {
		for (int i = 0; i < dp; i++)
			*o++ = i < nd ? d[i] : '0';
	} else {
		*o++ = '0';
	}
	int prec = nd - dp > 0 ? nd - dp : 0;
	if (prec) {
		*o++ = '.';
		for (int i = 0; i < prec; i++) {
			int j = dp + i;
			*o++ = j >= 0 && j < nd ? d[j] : '0';
		}
	}
	*o = '\0';
}

static int is_neg(double v)
{
	return v < 0 || (v == 0 && 1 / v < 0);
}

/* strconv.FormatFloat(v, 'g', -1, 64 or 32). out holds at least 40 bytes. */
static void go_format_g(double v, int bits32, char *out)
{
	if (v != v) {
		strcpy(out, "NaN");
		return;
	}
	if (v > 1.7976931348623157e308 || v < -1.7976931348623157e308) {
		strcpy(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	int neg = is_neg(v);
	if (v == 0) {
		strcpy(out, neg ? "-0" : "0");
		return;
	}
	char d[32];
	int nd, dp;
	shortest_digits(neg ? -v : v, bits32, d, &nd, &dp);
	int exp = dp - 1;
	if (exp < -4 || exp >= 6) { /* Go uses precision 6 for this test in shortest mode */
		fmt_e(out, neg, d, nd, dp);
		return;
	}
	fmt_f(out, neg, d, nd, dp);
}

/* How Go's encoding/json prints a float64 ('f' format, 'e' below 1e-6 and from 1e21). */
static void go_json_number(double v, char *out)
{
	if (v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308) {
		strcpy(out, "null"); /* Go refuses these; JSON cannot carry them */
		return;
	}
	int neg = is_neg(v);
	if (v == 0) {
		strcpy(out, neg ? "-0" : "0");
		return;
	}
	char d[32];
	int nd, dp;
	double a = neg ? -v : v;
	shortest_digits(a, 0, d, &nd, &dp);
	if (a < 1e-6 || a >= 1e21) {
		fmt_e(out, neg, d, nd, dp);
		size_t n = strlen(out);
		if (n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0') {
			out[n - 2] = out[n - 1];
			out[n - 1] = '\0';
		}
		return;
	}
	fmt_f(out, neg, d, nd, dp);
}

/* A number as kubectl's YAML shows it: the JSON text read back by go-yaml, so integers
 * that fit 64 bits stay integers and everything else is a float in 'g' format. */
static void yaml_number(double v, char *out)
{
	if (v != v) {
		strcpy(out, ".nan");
		return;
	}
	if (v > 1.7976931348623157e308 || v < -1.7976931348623157e308) {
		strcpy(out, v > 0 ? ".inf" : "-.inf");
		return;
	}
	char t[64];
	go_json_number(v, t);
	size_t n = strlen(t);
	int64_t iv;
	uint64_t uv;
	if (!strpbrk(t, ".eE")) {
		if (go_parse_int(t, n, &iv)) {
			snprintf(out, 40, "%lld", (long long)iv);
			return;
		}
		if (go_parse_uint(t, n, &uv)) {
			snprintf(out, 40, "%llu", (unsigned long long)uv);
			return;
		}
	}
	go_format_g(v, 0, out);
}

/* ---------------------------------------------------------------- parsing */

struct yparse {
	yaml_parser_t parser;
	const char *data;
	size_t len;
	const char *source;
	struct kx_errbuf *eb;
	int depth;
};

static kx_err fail_at(struct yparse *p, size_t line, size_t column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static kx_err fail_at(struct yparse *p, size_t line, size_t column, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return kx__fail(p->eb, KX_ERR_INVALID, "%s: line %zu, column %zu: %s", p->source, line + 1,
			column + 1, msg);
}

static kx_err fail_mark(struct yparse *p, yaml_mark_t m, const char *msg)
{
	return fail_at(p, m.line, m.column, "%s", msg);
}

static kx_err parser_failed(struct yparse *p)
{
	yaml_parser_t *ps = &p->parser;
	const char *problem = ps->problem ? ps->problem : "invalid YAML";
	switch (ps->error) {
	case YAML_MEMORY_ERROR:
		return kx__fail(p->eb, KX_ERR_NOMEM, "%s: out of memory", p->source);
	case YAML_READER_ERROR: {
		/* Reader errors carry a byte offset, not a mark. */
		size_t line = 0, col = 0, off = KX_MIN(ps->problem_offset, p->len);
		for (size_t i = 0; i < off; i++) {
			if (p->data[i] == '\n')
				line++, col = 0;
			else
				col++;
		}
		return fail_at(p, line, col, "%s", problem);
	}
	default: /* the problem alone, as go-yaml reports it */
		return fail_mark(p, ps->problem_mark, problem);
	}
}

/* Scalars may be tokens or keys (a kubeconfig): wipe them before libyaml frees them. */
static void event_delete(yaml_event_t *ev)
{
	if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.value)
		kx__memzero(ev->data.scalar.value, ev->data.scalar.length);
	yaml_event_delete(ev);
}

/* libyaml's input buffers hold (a window of) the whole document, decoded: wipe. */
static void parser_delete(yaml_parser_t *ps)
{
	if (ps->raw_buffer.start)
		kx__memzero(ps->raw_buffer.start, (size_t)(ps->raw_buffer.end - ps->raw_buffer.start));
	if (ps->buffer.start)
		kx__memzero(ps->buffer.start, (size_t)(ps->buffer.end - ps->buffer.start));
	yaml_parser_delete(ps);
}

static kx_err next_event(struct yparse *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&p->parser, ev))
		return parser_failed(p);
	return KX_OK;
}

/* "tag:yaml.org,2002:int" → "!!int", as go-yaml's shortTag. */
static const char *short_tag(const char *tag, char *buf, size_t n)
{
	static const char prefix[] = "tag:yaml.org,2002:";
	if (!tag)
		return "";
	if (!strncmp(tag, prefix, sizeof prefix - 1)) {
		snprintf(buf, n, "!!%s", tag + sizeof prefix - 1);
		return buf;
	}
	return tag;
}

static int resolvable_tag(const char *t)
{
	return !*t || !strcmp(t, "!!str") || !strcmp(t, "!!bool") || !strcmp(t, "!!int") ||
	       !strcmp(t, "!!float") || !strcmp(t, "!!timestamp");
}

static const char *kind_tag(enum ykind k)
{
	switch (k) {
	case Y_STR: return "!!str";
	case Y_NULL: return "!!null";
	case Y_BOOL: return "!!bool";
	case Y_INT: return "!!int";
	case Y_FLOAT: return "!!float";
	case Y_TIMESTAMP: return "!!timestamp";
	}
	return "!!str";
}

/* The value of a scalar event as go-yaml v2 decodes it into interface{}. On success
 * *str is set (malloc'd) for string results, else *sc holds the kind and value. */
static kx_err scalar_value(struct yparse *p, yaml_event_t *ev, struct yscalar *sc, char **str,
			   size_t *slen)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	char tb[128];
	const char *tag = short_tag((const char *)ev->data.scalar.tag, tb, sizeof tb);
	*str = NULL;
	sc->kind = Y_STR;
	if (strlen(v) != n)
		return fail_mark(p, ev->start_mark, "NUL characters are not supported in strings");
	if (!*tag && !ev->data.scalar.plain_implicit) {
		/* quoted (or a block scalar): always a string */
	} else if (!strcmp(tag, "!!binary")) {
		size_t bad;
		char *raw;
		size_t rawlen;
		kx_err err = kx__b64_decode(v, n, &raw, &rawlen, &bad);
		if (err == KX_ERR_NOMEM)
			return kx__fail(p->eb, err, "%s: out of memory", p->source);
		if (err)
			return fail_mark(p, ev->start_mark,
					 "!!binary value contains invalid base64 data");
		if (strlen(raw) != rawlen) {
			kx__free_secret(raw);
			return fail_mark(p, ev->start_mark,
					 "NUL characters are not supported in strings");
		}
		*str = utf8_sanitize(raw, rawlen, slen);
		kx__memzero(raw, rawlen);
		free(raw);
		if (!*str)
			return kx__fail(p->eb, KX_ERR_NOMEM, "%s: out of memory", p->source);
		return KX_OK;
	} else if (resolvable_tag(tag) && strcmp(tag, "!!str")) {
		resolve_plain(v, n, !*tag || !strcmp(tag, "!!timestamp"), sc);
		const char *rtag = kind_tag(sc->kind);
		if (*tag && strcmp(tag, rtag)) {
			if (!strcmp(tag, "!!float") && sc->kind == Y_INT) {
				sc->kind = Y_FLOAT;
			} else {
				/* The value itself stays out of the message: it may be a secret. */
				return fail_at(p, ev->start_mark.line, ev->start_mark.column,
					       "cannot decode %s as a %s", rtag, tag);
			}
		}
		if (sc->kind == Y_FLOAT && sc->b)
			return fail_mark(p, ev->start_mark,
					 "infinity and NaN cannot be represented in JSON");
		if (sc->kind == Y_TIMESTAMP)
			sc->kind = Y_STR; /* go-yaml v2 keeps timestamps as strings */
	}
	if (sc->kind == Y_STR) {
		*str = malloc(n + 1);
		if (!*str)
			return kx__fail(p->eb, KX_ERR_NOMEM, "%s: out of memory", p->source);
		memcpy(*str, v, n + 1);
		*slen = n;
	}
	return KX_OK;
}

static kx_err parse_node(struct yparse *p, yaml_event_t *ev, cJSON **out);

static kx_err nomem(struct yparse *p)
{
	return kx__fail(p->eb, KX_ERR_NOMEM, "%s: out of memory", p->source);
}

static const char *anchor_of(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT: return (const char *)ev->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT: return (const char *)ev->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT: return (const char *)ev->data.mapping_start.anchor;
	default: return NULL;
	}
}

static void merge_sort(void **v, void **tmp, size_t n, int (*less)(const void *, const void *))
{
	if (n < 2)
		return;
	size_t h = n / 2;
	merge_sort(v, tmp, h, less);
	merge_sort(v + h, tmp, n - h, less);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = less(v[j], v[i]) ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof *v);
}

struct keyed {
	const char *key;
	size_t pos;
	cJSON *item;
};

static int keyed_less(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c < 0 || (c == 0 && x->pos < y->pos);
}

/* Repeated keys: the last one wins, as in go-yaml v2 (and its "<<" merges). */
static kx_err dedupe_keys(struct yparse *p, cJSON *obj)
{
	size_t n = (size_t)cJSON_GetArraySize(obj);
	if (n < 2)
		return KX_OK;
	struct keyed *ks = malloc(n * sizeof *ks);
	void **v = malloc(n * sizeof *v), **tmp = malloc(n * sizeof *tmp);
	if (!ks || !v || !tmp) {
		free(ks), free(v), free(tmp);
		return nomem(p);
	}
	size_t i = 0;
	for (cJSON *it = obj->child; it; it = it->next, i++) {
		ks[i] = (struct keyed){it->string, i, it};
		v[i] = &ks[i];
	}
	merge_sort(v, tmp, n, keyed_less);
	for (i = 0; i + 1 < n; i++) {
		struct keyed *a = v[i], *b = v[i + 1];
		if (!strcmp(a->key, b->key))
			cJSON_Delete(cJSON_DetachItemViaPointer(obj, a->item));
	}
	free(ks), free(v), free(tmp);
	return KX_OK;
}

/* Move the members of src (a mapping) to the end of dst. */
static void merge_into(cJSON *dst, cJSON *src)
{
	while (src->child) {
		cJSON *it = src->child;
		cJSON_DetachItemViaPointer(src, it);
		cJSON_AddItemToArray(dst, it); /* keeps it->string: a member of dst */
	}
}

/* A mapping key as a string, as sigs.k8s.io/yaml turns go-yaml keys into JSON keys. */
static kx_err map_key(struct yparse *p, yaml_event_t *ev, char **key, int *is_merge)
{
	*key = NULL;
	*is_merge = 0;
	if (ev->type == YAML_ALIAS_EVENT || anchor_of(ev))
		return fail_mark(p, ev->start_mark, "anchors and aliases are not supported");
	if (ev->type != YAML_SCALAR_EVENT)
		return fail_mark(p, ev->start_mark, "invalid map key: a mapping or sequence");
	char tb[128];
	const char *tag = short_tag((const char *)ev->data.scalar.tag, tb, sizeof tb);
	if (!strcmp((const char *)ev->data.scalar.value, "<<") &&
	    ((!*tag && ev->data.scalar.plain_implicit) || !strcmp(tag, "!!merge"))) {
		*is_merge = 1;
		return KX_OK;
	}
	struct yscalar sc;
	size_t slen;
	kx_err err = scalar_value(p, ev, &sc, key, &slen);
	if (err || *key)
		return err;
	char buf[64];
	switch (sc.kind) {
	case Y_NULL:
		return fail_mark(p, ev->start_mark, "unsupported map key: null");
	case Y_BOOL:
		strcpy(buf, sc.b ? "true" : "false");
		break;
	case Y_INT:
		if (sc.num < 0)
			snprintf(buf, sizeof buf, "%lld", (long long)sc.num);
		else
			snprintf(buf, sizeof buf, "%llu", (unsigned long long)sc.num);
		/* Go prints the exact integer; doubles lose digits past 2^53, so use the text */
		if (sc.num >= 9007199254740992.0 || sc.num <= -9007199254740992.0) {
			int64_t iv;
			uint64_t uv;
			char plain[512];
			size_t pn = 0;
			const char *v = (const char *)ev->data.scalar.value;
			for (size_t i = 0; v[i] && pn + 1 < sizeof plain; i++)
				if (v[i] != '_')
					plain[pn++] = v[i];
			if (go_parse_int(plain, pn, &iv))
				snprintf(buf, sizeof buf, "%lld", (long long)iv);
			else if (go_parse_uint(plain, pn, &uv))
				snprintf(buf, sizeof buf, "%llu", (unsigned long long)uv);
		}
		break;
	default:
		go_format_g(sc.num, 1, buf); /* sigs.k8s.io/yaml formats float keys as float32 */
		break;
	}
	*key = kx__strdup(buf);
	return *key ? KX_OK : nomem(p);
}

static kx_err parse_mapping(struct yparse *p, cJSON *obj)
{
	for (;;) {
		yaml_event_t kev, vev;
		kx_err err = next_event(p, &kev);
		if (err)
			return err;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			event_delete(&kev);
			return dedupe_keys(p, obj);
		}
		char *key;
		int is_merge;
		yaml_mark_t km = kev.start_mark;
		err = map_key(p, &kev, &key, &is_merge);
		event_delete(&kev);
		if (err)
			return err;
		if ((err = next_event(p, &vev))) {
			free(key);
			return err;
		}
		cJSON *val = NULL;
		if ((err = parse_node(p, &vev, &val))) {
			free(key);
			return err;
		}
		if (is_merge) {
			/* "<<: {…}" or "<<: [{…}, {…}]": earlier maps in a list take precedence. */
			if (cJSON_IsObject(val)) {
				merge_into(obj, val);
			} else if (cJSON_IsArray(val)) {
				for (cJSON *m = val->child; m; m = m->next)
					if (!cJSON_IsObject(m)) {
						cJSON_Delete(val);
						return fail_mark(p, km, "map merge requires map or sequence of maps as the value");
					}
				for (cJSON *m = cJSON_GetArrayItem(val, cJSON_GetArraySize(val) - 1); m;
				     m = m == val->child ? NULL : m->prev)
					merge_into(obj, m);
			} else {
				cJSON_Delete(val);
				return fail_mark(p, km, "map merge requires map or sequence of maps as the value");
			}
			cJSON_Delete(val);
			continue;
		}
		/* Add without cJSON's key copy: ownership of key moves to the item. */
		val->string = key;
		val->type &= ~cJSON_StringIsConst;
		cJSON_AddItemToArray(obj, val);
	}
}

static kx_err parse_node(struct yparse *p, yaml_event_t *ev, cJSON **out)
{
	kx_err err = KX_OK;
	*out = NULL;
	if (ev->type == YAML_ALIAS_EVENT || anchor_of(ev)) {
		err = fail_mark(p, ev->start_mark, "anchors and aliases are not supported");
		goto done;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		struct yscalar sc;
		char *s;
		size_t slen;
		if ((err = scalar_value(p, ev, &sc, &s, &slen)))
			goto done;
		if (s) {
			*out = cJSON_CreateString("");
			if (*out) {
				cJSON_free((*out)->valuestring);
				(*out)->valuestring = s;
			} else {
				free(s);
			}
		} else if (sc.kind == Y_NULL) {
			*out = cJSON_CreateNull();
		} else if (sc.kind == Y_BOOL) {
			*out = cJSON_CreateBool(sc.b);
		} else {
			*out = cJSON_CreateNumber(sc.num);
		}
		if (!*out)
			err = nomem(p);
		break;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		int is_map = ev->type == YAML_MAPPING_START_EVENT;
		if (++p->depth > YAML_MAX_DEPTH) {
			err = fail_mark(p, ev->start_mark, "nesting deeper than 64 levels is not supported");
			goto done;
		}
		*out = is_map ? cJSON_CreateObject() : cJSON_CreateArray();
		if (!*out) {
			err = nomem(p);
			goto done;
		}
		if (is_map) {
			err = parse_mapping(p, *out);
		} else {
			for (;;) {
				yaml_event_t iev;
				if ((err = next_event(p, &iev)))
					break;
				if (iev.type == YAML_SEQUENCE_END_EVENT) {
					event_delete(&iev);
					break;
				}
				cJSON *item;
				if ((err = parse_node(p, &iev, &item)))
					break;
				cJSON_AddItemToArray(*out, item);
			}
		}
		p->depth--;
		break;
	}
	default:
		err = fail_mark(p, ev->start_mark, "unexpected YAML event");
		break;
	}
done:
	event_delete(ev);
	if (err) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	return err;
}

kx_err kx_yaml_parse(const char *data, size_t len, const char *source, cJSON **out,
		     struct kx_errbuf *eb)
{
	struct yparse p = {.data = data, .len = len, .source = source ? source : "<input>", .eb = eb};
	yaml_event_t ev;
	cJSON *doc = NULL;
	kx_err err;
	*out = NULL;
	if (!data && len)
		return kx__fail(eb, KX_ERR_INVALID, "%s: no data", p.source);
	if (!yaml_parser_initialize(&p.parser))
		return kx__fail(eb, KX_ERR_NOMEM, "%s: out of memory", p.source);
	yaml_parser_set_input_string(&p.parser, (const unsigned char *)(data ? data : ""), len);
	if ((err = next_event(&p, &ev))) /* STREAM-START */
		goto out;
	event_delete(&ev);
	if ((err = next_event(&p, &ev)))
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		event_delete(&ev);
		doc = cJSON_CreateNull();
		err = doc ? KX_OK : nomem(&p);
		goto out;
	}
	event_delete(&ev); /* DOCUMENT-START */
	if ((err = next_event(&p, &ev)) || (err = parse_node(&p, &ev, &doc)))
		goto out;
	/* Only the first document counts, but it must end properly (go-yaml reads its end). */
	if ((err = next_event(&p, &ev)))
		goto out;
	event_delete(&ev);
out:
	parser_delete(&p.parser);
	if (err) {
		cJSON_Delete(doc);
		return err;
	}
	*out = doc;
	return KX_OK;
}

/* ---------------------------------------------------------------- YAML output */

/* unicode.IsLetter, exactly for ASCII and Latin-1, approximately beyond: the blocks of
 * punctuation, symbols, marks, private use and emoji count as non-letters. */
static int is_letter(uint32_t c)
{
	if (c < 0x80)
		return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
	if (c < 0xc0)
		return c == 0xaa || c == 0xb5 || c == 0xba;
	if (c == 0xd7 || c == 0xf7)
		return 0;
	if (c < 0x300)
		return 1;
	if (c < 0x370)
		return 0; /* combining marks */
	if ((c >= 0x2000 && c < 0x2c00) || (c >= 0x3000 && c < 0x3005) ||
	    (c >= 0xe000 && c < 0xf900) || (c >= 0xfe00 && c < 0xfe70) ||
	    (c >= 0xff00 && c < 0xff21) || (c >= 0xfff0 && c < 0x10000) ||
	    (c >= 0x1f000 && c < 0x1fc00))
		return 0;
	return 1;
}

/* go-yaml v2's keyList.Less for two string keys: letters by code point, runs of
 * digits by numeric value, anything else before letters. */
static int key_less(const void *pa, const void *pb)
{
	const char *a = ((const cJSON *)pa)->string, *b = ((const cJSON *)pb)->string;
	a = a ? a : "";
	b = b ? b : "";
	size_t an_ = strlen(a), bn_ = strlen(b);
	size_t ia = 0, ib = 0;
	/* digits already passed in both (the runes before position i are equal) */
	size_t run_start_a = 0;
	while (ia < an_ && ib < bn_) {
		uint32_t ca, cb;
		size_t la = utf8_next(a + ia, an_ - ia, &ca), lb = utf8_next(b + ib, bn_ - ib, &cb);
		if (ca == cb) {
			ia += la, ib += lb;
			if (!(ca >= '0' && ca <= '9'))
				run_start_a = ia;
			continue;
		}
		int al = is_letter(ca), bl = is_letter(cb);
		if (al && bl)
			return ca < cb;
		if (al || bl)
			return bl;
		uint64_t an = 0, bn = 0;
		if (ca == '0' || cb == '0') {
			/* a preceding digit run that is not all zeros makes the zeros significant */
			for (size_t j = run_start_a; j < ia; j++)
				if (a[j] != '0') {
					an = bn = 1;
					break;
				}
		}
		size_t ea = ia, eb = ib;
		while (ea < an_ && is_digit(a[ea]))
			an = an * 10 + (uint64_t)(a[ea++] - '0');
		while (eb < bn_ && is_digit(b[eb]))
			bn = bn * 10 + (uint64_t)(b[eb++] - '0');
		if (an != bn)
			return (int64_t)an < (int64_t)bn;
		if (ea - ia != eb - ib)
			return ea - ia < eb - ib;
		return ca < cb;
	}
	/* fewer runes first */
	size_t ra = 0, rb = 0;
	for (; ia < an_; ra++) {
		uint32_t c;
		ia += utf8_next(a + ia, an_ - ia, &c);
	}
	for (; ib < bn_; rb++) {
		uint32_t c;
		ib += utf8_next(b + ib, bn_ - ib, &c);
	}
	return ra < rb;
}

struct yemit {
	yaml_emitter_t em;
	struct kx_buf *out;
	kx_err err;
};

static int yemit_write(void *data, unsigned char *buffer, size_t size)
{
	struct yemit *e = data;
	kx_err err = kx_buf_append(e->out, buffer, size);
	if (err) {
		e->err = err;
		return 0;
	}
	return 1;
}

static kx_err yemit_event(struct yemit *e, yaml_event_t *ev, int init_ok)
{
	if (!init_ok)
		return e->err ? e->err : KX_ERR_NOMEM;
	if (!yaml_emitter_emit(&e->em, ev))
		return e->err ? e->err : (e->em.error == YAML_MEMORY_ERROR ? KX_ERR_NOMEM : KX_ERR_INVALID);
	return KX_OK;
}

static kx_err yemit_scalar(struct yemit *e, const char *s, size_t n, yaml_scalar_style_t style)
{
	yaml_event_t ev;
	if (n > INT_MAX)
		return KX_ERR_TOO_LARGE;
	int ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)s, (int)n, 1, 1,
					      style);
	return yemit_event(e, &ev, ok);
}

/* kubectl prints YAML by reading its JSON back with go-yaml, and YAML folds a raw line
 * break inside a double-quoted scalar. Go's JSON escapes every break but NEL (U+0085),
 * so a run of spaces and NELs becomes " " (one NEL) or n-1 newlines (n NELs). */
static void fold_nel(char *s, size_t *n)
{
	size_t r = 0, w = 0, len = *n;
	const char *nel = s;
	while ((nel = strchr(nel, '\xc2')) && nel[1] != '\x85')
		nel++;
	if (!nel)
		return;
	while (r < len) {
		if (s[r] != ' ' && !(s[r] == '\xc2' && r + 1 < len && s[r + 1] == '\x85')) {
			s[w++] = s[r++];
			continue;
		}
		size_t q = r, k = 0;
		for (;;) {
			if (q < len && s[q] == ' ')
				q++;
			else if (q + 1 < len && s[q] == '\xc2' && s[q + 1] == '\x85')
				q += 2, k++;
			else
				break;
		}
		if (!k) {
			memmove(s + w, s + r, q - r);
			w += q - r;
		} else if (k == 1) {
			s[w++] = ' ';
		} else {
			for (size_t i = 1; i < k; i++)
				s[w++] = '\n';
		}
		r = q;
	}
	s[w] = '\0';
	*n = w;
}

/* go-yaml v2's choice for a string: a literal block if it has a newline, plain when it
 * would read back as a string, double-quoted otherwise; libyaml's emitter then falls
 * back (plain → single → double) exactly as go-yaml's port of it does. */
static kx_err yemit_string(struct yemit *e, const char *s)
{
	size_t n;
	char *clean = utf8_sanitize(s, strlen(s), &n);
	if (!clean)
		return KX_ERR_NOMEM;
	fold_nel(clean, &n);
	yaml_scalar_style_t style;
	struct yscalar sc;
	resolve_plain(clean, n, 1, &sc);
	if (memchr(clean, '\n', n))
		style = YAML_LITERAL_SCALAR_STYLE;
	else if (sc.kind == Y_STR && !is_base60_float(clean, n) && strcmp(clean, "<<"))
		/* (go-yaml leaves "<<" plain, which reads back as a merge key: quoted here) */
		style = YAML_PLAIN_SCALAR_STYLE;
	else
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	kx_err err = yemit_scalar(e, clean, n, style);
	free(clean);
	return err;
}

static kx_err yemit_node(struct yemit *e, const cJSON *v, int depth)
{
	yaml_event_t ev;
	kx_err err = KX_OK;
	if (depth > EMIT_MAX_DEPTH)
		return KX_ERR_INVALID;
	switch (v->type & 0xff) {
	case cJSON_NULL:
		return yemit_scalar(e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
	case cJSON_True:
		return yemit_scalar(e, "true", 4, YAML_PLAIN_SCALAR_STYLE);
	case cJSON_False:
		return yemit_scalar(e, "false", 5, YAML_PLAIN_SCALAR_STYLE);
	case cJSON_Number: {
		char buf[64];
		yaml_number(v->valuedouble, buf);
		return yemit_scalar(e, buf, strlen(buf), YAML_PLAIN_SCALAR_STYLE);
	}
	case cJSON_String:
	case cJSON_Raw:
		return yemit_string(e, v->valuestring ? v->valuestring : "");
	case cJSON_Array: {
		int ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		if ((err = yemit_event(e, &ev, ok)))
			return err;
		for (const cJSON *it = v->child; it; it = it->next)
			if ((err = yemit_node(e, it, depth + 1)))
				return err;
		ok = yaml_sequence_end_event_initialize(&ev);
		return yemit_event(e, &ev, ok);
	}
	case cJSON_Object: {
		size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
		void **items = n ? malloc(n * sizeof *items) : NULL;
		void **tmp = n ? malloc(n * sizeof *tmp) : NULL;
		if (n && (!items || !tmp)) {
			free(items), free(tmp);
			return KX_ERR_NOMEM;
		}
		for (const cJSON *it = v->child; it; it = it->next)
			items[i++] = (void *)it;
		merge_sort(items, tmp, n, key_less);
		free(tmp);
		int ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		err = yemit_event(e, &ev, ok);
		for (i = 0; !err && i < n; i++) {
			const cJSON *it = items[i];
			if (!(err = yemit_string(e, it->string ? it->string : "")))
				err = yemit_node(e, it, depth + 1);
		}
		free(items);
		if (err)
			return err;
		ok = yaml_mapping_end_event_initialize(&ev);
		return yemit_event(e, &ev, ok);
	}
	default:
		return KX_ERR_INVALID;
	}
}

kx_err kx_yaml_emit(const cJSON *doc, struct kx_buf *out)
{
	if (!doc || !out)
		return KX_ERR_INVALID;
	struct kx_buf tmp = KX_BUF_INIT(out->max);
	struct yemit e = {.out = &tmp};
	yaml_event_t ev;
	kx_err err;
	if (!yaml_emitter_initialize(&e.em))
		return KX_ERR_NOMEM;
	yaml_emitter_set_output(&e.em, yemit_write, &e);
	yaml_emitter_set_unicode(&e.em, 1);
	yaml_emitter_set_indent(&e.em, 2);
	yaml_emitter_set_width(&e.em, 80);
	int ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if ((err = yemit_event(&e, &ev, ok)))
		goto out;
	ok = yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if ((err = yemit_event(&e, &ev, ok)))
		goto out;
	if ((err = yemit_node(&e, doc, 0)))
		goto out;
	ok = yaml_document_end_event_initialize(&ev, 1);
	if ((err = yemit_event(&e, &ev, ok)))
		goto out;
	/* As go-yaml's encoder does: no "..." after a trailing "|+" block. */
	e.em.open_ended = 0;
	ok = yaml_stream_end_event_initialize(&ev);
	if ((err = yemit_event(&e, &ev, ok)))
		goto out;
	if (!yaml_emitter_flush(&e.em)) {
		err = e.err ? e.err : KX_ERR_INVALID;
		goto out;
	}
	err = kx_buf_append(out, tmp.data ? tmp.data : "", tmp.len);
out:
	yaml_emitter_delete(&e.em);
	kx_buf_free(&tmp);
	return err;
}

/* ---------------------------------------------------------------- JSON output */

/* A string as Go's encoding/json writes it (HTML-safe: <, >, & escaped; U+2028/9
 * escaped; invalid UTF-8 as U+FFFD). */
static kx_err json_string(struct kx_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(s), start = 0, i = 0;
	kx_err err = kx_buf_append(b, "\"", 1);
	while (!err && i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
				i++;
				continue;
			}
			if ((err = kx_buf_append(b, s + start, i - start)))
				break;
			char esc[8];
			switch (c) {
			case '"': case '\\': esc[0] = '\\', esc[1] = (char)c, esc[2] = 0; break;
			case '\b': strcpy(esc, "\\b"); break;
			case '\f': strcpy(esc, "\\f"); break;
			case '\n': strcpy(esc, "\\n"); break;
			case '\r': strcpy(esc, "\\r"); break;
			case '\t': strcpy(esc, "\\t"); break;
			default:
				snprintf(esc, sizeof esc, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
			}
			err = kx_buf_appends(b, esc);
			start = ++i;
			continue;
		}
		uint32_t cp;
		size_t l = utf8_seq((const unsigned char *)s + i, n - i, &cp);
		if (l && cp != 0x2028 && cp != 0x2029) {
			i += l;
			continue;
		}
		if ((err = kx_buf_append(b, s + start, i - start)))
			break;
		err = kx_buf_appends(b, !l ? "\\ufffd" : cp == 0x2028 ? "\\u2028" : "\\u2029");
		i += l ? l : 1;
		start = i;
	}
	if (!err)
		err = kx_buf_append(b, s + start, i - start);
	if (!err)
		err = kx_buf_append(b, "\"", 1);
	return err;
}

static kx_err json_indent(struct kx_buf *b, int depth)
{
	kx_err err = kx_buf_append(b, "\n", 1);
	for (int i = 0; !err && i < depth; i++)
		err = kx_buf_append(b, "    ", 4);
	return err;
}

static kx_err json_value(struct kx_buf *b, const cJSON *v, int depth)
{
	kx_err err = KX_OK;
	if (depth > EMIT_MAX_DEPTH)
		return KX_ERR_INVALID;
	switch (v->type & 0xff) {
	case cJSON_NULL: return kx_buf_appends(b, "null");
	case cJSON_True: return kx_buf_appends(b, "true");
	case cJSON_False: return kx_buf_appends(b, "false");
	case cJSON_Number: {
		char buf[64];
		go_json_number(v->valuedouble, buf);
		return kx_buf_appends(b, buf);
	}
	case cJSON_String: return json_string(b, v->valuestring ? v->valuestring : "");
	case cJSON_Raw: return kx_buf_appends(b, v->valuestring ? v->valuestring : "null");
	case cJSON_Array:
	case cJSON_Object: {
		int obj = (v->type & 0xff) == cJSON_Object;
		if (!v->child)
			return kx_buf_appends(b, obj ? "{}" : "[]");
		err = kx_buf_append(b, obj ? "{" : "[", 1);
		for (const cJSON *it = v->child; !err && it; it = it->next) {
			if (!err && (err = json_indent(b, depth + 1)))
				break;
			if (obj && (err = json_string(b, it->string ? it->string : "")))
				break;
			if (obj && (err = kx_buf_append(b, ": ", 2)))
				break;
			if ((err = json_value(b, it, depth + 1)))
				break;
			if (it->next)
				err = kx_buf_append(b, ",", 1);
		}
		if (!err)
			err = json_indent(b, depth);
		if (!err)
			err = kx_buf_append(b, obj ? "}" : "]", 1);
		return err;
	}
	default:
		return KX_ERR_INVALID;
	}
}

kx_err kx_json_emit(const cJSON *doc, struct kx_buf *out)
{
	if (!doc || !out)
		return KX_ERR_INVALID;
	struct kx_buf tmp = KX_BUF_INIT(out->max);
	kx_err err = json_value(&tmp, doc, 0);
	if (!err)
		err = kx_buf_append(&tmp, "\n", 1);
	if (!err)
		err = kx_buf_append(out, tmp.data, tmp.len);
	kx_buf_free(&tmp);
	return err;
}
