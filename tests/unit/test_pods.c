/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for pod choice (kubectl's ordering, kx's Ready-only rule), target
 * parsing and selectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <kx/pods.h>
#include "internal.h"

static cJSON *pod(const char *name, const char *node, const char *phase, const char *ready,
		  const char *ready_since, int restarts, const char *created)
{
	char buf[1024];
	snprintf(buf, sizeof buf,
		 "{\"metadata\":{\"name\":\"%s\",\"creationTimestamp\":\"%s\"},"
		 "\"spec\":{\"nodeName\":\"%s\"},"
		 "\"status\":{\"phase\":\"%s\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\","
		 "\"lastTransitionTime\":\"%s\"}],\"containerStatuses\":[{\"restartCount\":%d}]}}",
		 name, created, node, phase, ready, ready_since, restarts);
	return cJSON_Parse(buf);
}

static const char *best(const cJSON *items, enum kx_pod_pick pick, int need)
{
	const cJSON *p = kx__pods_pick_best(items, pick, need);
	return p ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			   cJSON_GetObjectItemCaseSensitive(p, "metadata"), "name"))
		 : NULL;
}

static void kubectl_order(void **state)
{
	cJSON *items = cJSON_CreateArray();
	cJSON_AddItemToArray(items, pod("unassigned", "", "Pending", "False", "2026-01-01T00:00:00Z", 0, "2026-01-01T00:00:00Z"));
	cJSON_AddItemToArray(items, pod("pending", "n", "Pending", "False", "2026-01-01T00:00:00Z", 0, "2026-01-01T00:00:00Z"));
	cJSON_AddItemToArray(items, pod("running-notready", "n", "Running", "False", "2026-01-01T00:00:00Z", 0, "2026-01-01T00:00:00Z"));
	cJSON_AddItemToArray(items, pod("ready-restarts", "n", "Running", "True", "2026-01-01T00:00:00Z", 3, "2026-01-01T00:00:00Z"));
	cJSON_AddItemToArray(items, pod("ready-recent", "n", "Running", "True", "2026-03-01T00:00:00Z", 0, "2026-01-01T00:00:00Z"));
	cJSON_AddItemToArray(items, pod("ready-long", "n", "Running", "True", "2026-02-01T00:00:00Z", 0, "2026-01-01T00:00:00Z"));
	/* Ready longest wins (before restarts are compared, as kubectl). */
	assert_string_equal(best(items, KX_PICK_KUBECTL, 1), "ready-restarts");
	cJSON_Delete(items);

	items = cJSON_CreateArray();
	cJSON_AddItemToArray(items, pod("b-more-restarts", "n", "Running", "True", "2026-02-01T00:00:00Z", 2, "2026-01-01T00:00:00Z"));
	cJSON_AddItemToArray(items, pod("a-fewer-restarts", "n", "Running", "True", "2026-02-01T00:00:00Z", 1, "2026-01-02T00:00:00Z"));
	assert_string_equal(best(items, KX_PICK_KUBECTL, 1), "a-fewer-restarts");
	cJSON_Delete(items);
}

static void ready_only_rule(void **state)
{
	cJSON *items = cJSON_CreateArray();
	cJSON_AddItemToArray(items, pod("running-notready", "n", "Running", "False", "2026-01-01T00:00:00Z", 0, "2026-01-01T00:00:00Z"));
	cJSON_AddItemToArray(items, pod("pending", "n", "Pending", "False", "2026-01-01T00:00:00Z", 0, "2026-01-01T00:00:00Z"));
	/* kubectl would take the running one; kx+ takes none until one is Ready. */
	assert_string_equal(best(items, KX_PICK_KUBECTL, 1), "running-notready");
	assert_null(best(items, KX_PICK_READY, 1));
	cJSON_AddItemToArray(items, pod("ready", "n", "Running", "True", "2026-01-01T00:00:00Z", 9, "2026-01-05T00:00:00Z"));
	assert_string_equal(best(items, KX_PICK_READY, 1), "ready");
	cJSON_Delete(items);
}

static void targets(void **state)
{
	char r[64], n[64];
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_target_parse("web-0", r, sizeof r, n, sizeof n, &eb), KX_OK);
	assert_string_equal(r, "pods");
	assert_string_equal(n, "web-0");
	assert_int_equal(kx_target_parse("deploy/web", r, sizeof r, n, sizeof n, &eb), KX_OK);
	assert_string_equal(r, "deployments");
	assert_int_equal(kx_target_parse("svc/web", r, sizeof r, n, sizeof n, &eb), KX_OK);
	assert_string_equal(r, "services");
	assert_int_equal(kx_target_parse("statefulsets.apps/db", r, sizeof r, n, sizeof n, &eb), KX_OK);
	assert_string_equal(r, "statefulsets");
	assert_int_equal(kx_target_parse("foo/web", r, sizeof r, n, sizeof n, &eb), KX_ERR_NOT_FOUND);
	assert_int_equal(kx_target_parse("deploy/", r, sizeof r, n, sizeof n, &eb), KX_ERR_INVALID);
	assert_int_equal(kx_target_parse("a/b/c", r, sizeof r, n, sizeof n, &eb), KX_ERR_INVALID);
}

static void selectors(void **state)
{
	cJSON *d = cJSON_Parse("{\"metadata\":{\"name\":\"d\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"web\"},"
			       "\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]},"
			       "{\"key\":\"canary\",\"operator\":\"DoesNotExist\"}]}}}");
	struct kx_buf b;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_selector_string(d, "deployments", &b, &eb), KX_OK);
	assert_string_equal(b.data, "app=web,tier in (a,b),!canary");
	kx_buf_free(&b);
	cJSON_Delete(d);
	cJSON *svc = cJSON_Parse("{\"metadata\":{\"name\":\"s\"},\"spec\":{\"ports\":[{\"port\":80}]}}");
	assert_int_equal(kx_selector_string(svc, "services", &b, &eb), KX_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "Service is defined without a selector"));
	cJSON_Delete(svc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kubectl_order),
		cmocka_unit_test(ready_only_rule),
		cmocka_unit_test(targets),
		cmocka_unit_test(selectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
