/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON helpers every part of libkx and kx shares (<kx/json.h>): reading members
 * without repeating cJSON's type checks, Go's sorted map keys, and a sorted insert. */
#include <kx/json.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const cJSON *kx_json_get(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

const char *kx_json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = kx_json_get(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *kx_json_path(const cJSON *obj, ...)
{
	va_list ap;
	va_start(ap, obj);
	for (const char *key; obj && (key = va_arg(ap, const char *));)
		obj = kx_json_get(obj, key);
	va_end(ap);
	return obj;
}

int kx_json_int(const cJSON *obj, const char *key, int def)
{
	const cJSON *v = kx_json_get(obj, key);
	return cJSON_IsNumber(v) ? v->valueint : def;
}

struct member {
	cJSON *item;
	size_t pos;
};

static int by_key(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = strcmp(x->item->string ? x->item->string : "", y->item->string ? y->item->string : "");
	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

kx_err kx_json_sort_keys(cJSON *v)
{
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return KX_OK;
	size_t n = 0;
	for (cJSON *c = v->child; c; c = c->next, n++) {
		kx_err err = kx_json_sort_keys(c);
		if (err)
			return err;
	}
	if (!cJSON_IsObject(v) || n < 2)
		return KX_OK;
	struct member *m = malloc(n * sizeof *m);
	if (!m)
		return KX_ERR_NOMEM;
	n = 0;
	for (cJSON *c = v->child; c; c = c->next, n++)
		m[n] = (struct member){c, n};
	qsort(m, n, sizeof *m, by_key);
	for (size_t i = 0; i < n; i++) {
		m[i].item->prev = i ? m[i - 1].item : m[n - 1].item; /* cJSON: child->prev is the tail */
		m[i].item->next = i + 1 < n ? m[i + 1].item : NULL;
	}
	v->child = m[0].item;
	free(m);
	return KX_OK;
}

kx_err kx_json_map_set(cJSON *map, const char *key, const char *value)
{
	cJSON *v = cJSON_CreateString(value);
	if (!v)
		return KX_ERR_NOMEM;
	if (cJSON_GetObjectItemCaseSensitive(map, key)) {
		cJSON_ReplaceItemInObjectCaseSensitive(map, key, v);
		return KX_OK;
	}
	/* cJSON adds at the end; move the new item to its sorted place. */
	if (!cJSON_AddItemToObject(map, key, v)) {
		cJSON_Delete(v);
		return KX_ERR_NOMEM;
	}
	cJSON_DetachItemViaPointer(map, v);
	cJSON *at = map->child;
	while (at && strcmp(at->string, key) < 0)
		at = at->next;
	if (!at) {
		cJSON_AddItemToArray(map, v); /* appends, keeping v->string */
		return KX_OK;
	}
	/* insert before `at` */
	v->next = at;
	v->prev = at->prev;
	if (at == map->child) {
		map->child = v;
	} else {
		at->prev->next = v;
	}
	at->prev = v;
	return KX_OK;
}
