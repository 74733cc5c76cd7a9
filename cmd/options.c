/* SPDX-License-Identifier: Apache-2.0 */
/* The option parser: pflag's rules (flags anywhere, "--" ends them, --f=v,
 * --f v, -fv, -f v, -f=v, clustered boolean shorthands) over the same option
 * tables that help and completion read. */
#include "kx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void kx_strlist_free(struct kx_strlist *l)
{
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

const struct kx_option *kx_find_long(const struct kx_option *const *tables, const char *name,
				     size_t len)
{
	for (; *tables; tables++)
		for (const struct kx_option *o = *tables; o->type != KX_OPT_END; o++)
			if (o->long_name && strlen(o->long_name) == len &&
			    !memcmp(o->long_name, name, len))
				return o;
	return NULL;
}

static const struct kx_option *find_short(const struct kx_option *const *tables, char c)
{
	for (; *tables; tables++)
		for (const struct kx_option *o = *tables; o->type != KX_OPT_END; o++)
			if (o->short_name == c)
				return o;
	return NULL;
}

/* "-p, --port" or "--port", as pflag names a flag in its messages. */
static const char *flag_label(const struct kx_option *o, char *buf, size_t n)
{
	if (o->short_name)
		snprintf(buf, n, "-%c, --%s", o->short_name, o->long_name);
	else
		snprintf(buf, n, "--%s", o->long_name);
	return buf;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True", NULL};
	static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False", NULL};
	for (int i = 0; yes[i]; i++)
		if (!strcmp(s, yes[i]))
			return *out = 1, 0;
	for (int i = 0; no[i]; i++)
		if (!strcmp(s, no[i]))
			return *out = 0, 0;
	return -1;
}

static int set_value(const char *path, const struct kx_option *o, const char *val)
{
	char label[96];
	switch (o->type) {
	case KX_OPT_BOOL:
		if (parse_bool(val, (int *)o->value))
			return kx_usage_error(path, "invalid argument \"%s\" for \"%s\" flag: not a boolean",
					      val, flag_label(o, label, sizeof label));
		return 0;
	case KX_OPT_STRING:
		if (o->choices) {
			int ok = 0;
			for (const char *const *c = o->choices; *c && !ok; c++)
				ok = !strcmp(*c, val);
			if (!ok) {
				char list[256] = "";
				for (const char *const *c = o->choices; *c; c++) {
					if (c != o->choices)
						strncat(list, ", ", sizeof list - strlen(list) - 1);
					strncat(list, *c, sizeof list - strlen(list) - 1);
				}
				return kx_usage_error(path, "invalid argument \"%s\" for \"%s\" flag: must be one of: %s",
						      val, flag_label(o, label, sizeof label), list);
			}
		}
		*(const char **)o->value = val;
		return 0;
	case KX_OPT_INT: {
		char *end;
		errno = 0;
		long v = strtol(val, &end, 10);
		if (!*val || *end || errno)
			return kx_usage_error(path, "invalid argument \"%s\" for \"%s\" flag: not a valid integer",
					      val, flag_label(o, label, sizeof label));
		*(long *)o->value = v;
		return 0;
	}
	case KX_OPT_LIST: {
		struct kx_strlist *l = o->value;
		const char **items = realloc(l->items, (l->n + 1) * sizeof *items);
		if (!items) {
			kx_error("out of memory");
			return 1;
		}
		items[l->n++] = val;
		l->items = items;
		return 0;
	}
	case KX_OPT_END:
		break;
	}
	return 1;
}

static int parse_long(const char *path, const struct kx_option *const *tables, int argc,
		      char **argv, int *i)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct kx_option *o = kx_find_long(tables, name, len);
	if (!o)
		return kx_usage_error(path, "unknown flag: --%.*s", (int)len, name);
	if (eq)
		return set_value(path, o, eq + 1);
	if (o->type == KX_OPT_BOOL)
		return set_value(path, o, "true");
	if (o->flags & KX_OPT_BARE)
		return set_value(path, o, o->defval);
	if (*i + 1 >= argc)
		return kx_usage_error(path, "flag needs an argument: --%s", o->long_name);
	return set_value(path, o, argv[++*i]);
}

static int parse_short(const char *path, const struct kx_option *const *tables, int argc,
		       char **argv, int *i)
{
	const char *arg = argv[*i];
	for (const char *p = arg + 1; *p; p++) {
		const struct kx_option *o = find_short(tables, *p);
		if (!o)
			return kx_usage_error(path, "unknown shorthand flag: '%c' in %s", *p, arg);
		if (o->type == KX_OPT_BOOL) {
			if (p[1] == '=')
				return set_value(path, o, p + 2);
			if (set_value(path, o, "true"))
				return 1;
			continue;
		}
		if (p[1])
			return set_value(path, o, p[1] == '=' ? p + 2 : p + 1);
		if (*i + 1 >= argc)
			return kx_usage_error(path, "flag needs an argument: '%c' in %s", *p, arg);
		return set_value(path, o, argv[++*i]);
	}
	return 0;
}

int kx_parse_options(const char *path, const struct kx_option *const *tables, int argc,
		     char **argv, struct kx_invocation *inv)
{
	inv->argv = calloc((size_t)argc + 1, sizeof *inv->argv);
	if (!inv->argv) {
		kx_error("out of memory");
		return 1;
	}
	inv->argc = 0;
	inv->dash = -1;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int rc = 0;
		if (inv->dash >= 0 || a[0] != '-' || !a[1]) {
			inv->argv[inv->argc++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			inv->dash = inv->argc;
			continue;
		}
		rc = a[1] == '-' ? parse_long(path, tables, argc, argv, &i)
				 : parse_short(path, tables, argc, argv, &i);
		if (rc)
			return rc;
	}
	return 0;
}
