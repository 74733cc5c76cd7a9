/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/base/json.c, the JSON helpers libkx and kx share: typed member
 * access that tolerates any shape, Go's sorted map keys at every depth, and the
 * sorted insert. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <kx/json.h>

static void members_by_type(void **state)
{
	(void)state;
	cJSON *doc = cJSON_Parse("{\"metadata\":{\"name\":\"web-0\",\"gen\":3},\"spec\":[1],\"s\":5}");
	assert_non_null(doc);
	assert_string_equal(kx_json_str(kx_json_get(doc, "metadata"), "name"), "web-0");
	assert_int_equal(kx_json_int(kx_json_get(doc, "metadata"), "gen", -1), 3);
	/* wrong type, missing member, not an object, NULL: NULL or the default */
	assert_null(kx_json_str(doc, "s"));
	assert_int_equal(kx_json_int(doc, "metadata", -1), -1);
	assert_null(kx_json_get(doc, "nope"));
	assert_null(kx_json_get(kx_json_get(doc, "spec"), "0"));
	assert_null(kx_json_str(NULL, "x"));
	assert_int_equal(kx_json_int(NULL, "x", 7), 7);
	/* paths */
	assert_string_equal(kx_json_path(doc, "metadata", "name", NULL)->valuestring, "web-0");
	assert_ptr_equal(kx_json_path(doc, NULL), doc);
	assert_null(kx_json_path(doc, "metadata", "name", "deeper", NULL));
	assert_null(kx_json_path(NULL, "a", NULL));
	cJSON_Delete(doc);
}

static void keys_sorted_at_every_depth(void **state)
{
	(void)state;
	cJSON *doc = cJSON_Parse("{\"b\":1,\"a\":{\"z\":1,\"y\":[{\"d\":1,\"c\":2}]},\"B\":0,\"a2\":null}");
	assert_non_null(doc);
	assert_int_equal(kx_json_sort_keys(doc), KX_OK);
	char *text = cJSON_PrintUnformatted(doc);
	/* bytewise: upper case first; arrays keep their order, their objects are sorted */
	assert_string_equal(text, "{\"B\":0,\"a\":{\"y\":[{\"c\":2,\"d\":1}],\"z\":1},\"a2\":null,\"b\":1}");
	free(text);
	/* the tree is still well formed: cJSON's tail pointer (child->prev) follows */
	cJSON_AddNumberToObject(doc, "c", 3);
	text = cJSON_PrintUnformatted(doc);
	assert_non_null(strstr(text, "\"b\":1,\"c\":3}"));
	free(text);
	cJSON_Delete(doc);
	/* equal keys keep their order; scalars and empty objects are left alone */
	doc = cJSON_Parse("{\"k\":1,\"a\":0,\"k\":2}");
	assert_int_equal(kx_json_sort_keys(doc), KX_OK);
	text = cJSON_PrintUnformatted(doc);
	assert_string_equal(text, "{\"a\":0,\"k\":1,\"k\":2}");
	free(text);
	cJSON_Delete(doc);
	cJSON *n = cJSON_CreateNumber(1);
	assert_int_equal(kx_json_sort_keys(n), KX_OK);
	cJSON_Delete(n);
}

static void map_set_keeps_keys_sorted(void **state)
{
	(void)state;
	cJSON *m = cJSON_CreateObject();
	assert_int_equal(kx_json_map_set(m, "run", "web"), KX_OK);
	assert_int_equal(kx_json_map_set(m, "app", "x"), KX_OK);
	assert_int_equal(kx_json_map_set(m, "tier", "1"), KX_OK);
	assert_int_equal(kx_json_map_set(m, "app", "y"), KX_OK); /* replaced in place */
	char *text = cJSON_PrintUnformatted(m);
	assert_string_equal(text, "{\"app\":\"y\",\"run\":\"web\",\"tier\":\"1\"}");
	free(text);
	cJSON_Delete(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(members_by_type),
		cmocka_unit_test(keys_sorted_at_every_depth),
		cmocka_unit_test(map_set_keeps_keys_sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
