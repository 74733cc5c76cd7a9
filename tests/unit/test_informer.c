/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the informer's pure parts (lib/api/informer.c): what a sync's
 * reconcile finds, the LIST and WATCH paths, the relist backoff. The informer
 * itself runs against the real API server (port_forward_balance.bats). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "informer.h"

static void find_by_name_and_uid(void **state)
{
	(void)state;
	cJSON *items = cJSON_Parse("[{\"metadata\":{\"name\":\"a\",\"uid\":\"1\"}},"
				   "{\"metadata\":{\"name\":\"b\",\"uid\":\"2\"}},{\"metadata\":{}},{}]");
	assert_non_null(items);
	const cJSON *b = kx__informer_find(items, "b", NULL);
	assert_ptr_equal(b, cJSON_GetArrayItem(items, 1));
	assert_ptr_equal(kx__informer_find(items, "b", ""), b);
	assert_ptr_equal(kx__informer_find(items, "b", "2"), b);
	/* Another pod of the same name is not the one the caller had: it is gone. */
	assert_null(kx__informer_find(items, "b", "1"));
	assert_null(kx__informer_find(items, "c", NULL));
	/* An empty set (a list with items null): everything is gone. */
	assert_null(kx__informer_find(NULL, "a", NULL));
	cJSON_Delete(items);
}

static void list_and_watch_paths(void **state)
{
	(void)state;
	struct kx__informer_opts o = {.path = "/api/v1/namespaces/ns/pods", .label_selector = "app=bal,tier in (a,b)"};
	struct kx_buf b = KX_BUF_INIT(1 << 16);
	assert_int_equal(kx__informer_path(&o, NULL, &b), KX_OK);
	assert_string_equal(b.data, "/api/v1/namespaces/ns/pods?labelSelector=app%3Dbal%2Ctier+in+%28a%2Cb%29");
	kx_buf_free(&b);
	o = (struct kx__informer_opts){.path = "/api/v1/namespaces/ns/pods", .field_selector = "metadata.name=p"};
	assert_int_equal(kx__informer_path(&o, "42", &b), KX_OK);
	assert_string_equal(b.data, "/api/v1/namespaces/ns/pods?watch=1&allowWatchBookmarks=true"
				    "&fieldSelector=metadata.name%3Dp&resourceVersion=42");
	kx_buf_free(&b);
	o = (struct kx__informer_opts){.path = "/api/v1/namespaces/ns/services"};
	assert_int_equal(kx__informer_path(&o, NULL, &b), KX_OK);
	assert_string_equal(b.data, "/api/v1/namespaces/ns/services");
	kx_buf_free(&b);
}

static void relist_backoff(void **state)
{
	(void)state;
	/* The first relist at once (a 410 is routine); then 0.5 s doubling to 5 s,
	 * so a broken server is asked at most every 5 s. */
	static const long want[] = {0, 500, 1000, 2000, 4000, 5000, 5000};
	for (int i = 0; i < (int)(sizeof want / sizeof *want); i++)
		assert_int_equal(kx__informer_backoff_ms(i), want[i]);
	assert_int_equal(kx__informer_backoff_ms(1000), 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(find_by_name_and_uid),
		cmocka_unit_test(list_and_watch_paths),
		cmocka_unit_test(relist_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
