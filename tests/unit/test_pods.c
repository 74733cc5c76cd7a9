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
#include "pods_internal.h"

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

/* The pod's containers: web (http 80, echo 7, dns 53 UDP only, both 5353 TCP+UDP),
 * sidecar (metrics 9090). */
static const char pod_json[] =
	"{\"spec\":{\"containers\":[{\"name\":\"web\",\"ports\":["
	"{\"name\":\"http\",\"containerPort\":80},{\"name\":\"echo\",\"containerPort\":7,\"protocol\":\"TCP\"},"
	"{\"name\":\"dns\",\"containerPort\":53,\"protocol\":\"UDP\"},"
	"{\"name\":\"both-t\",\"containerPort\":5353,\"protocol\":\"TCP\"},"
	"{\"name\":\"both-u\",\"containerPort\":5353,\"protocol\":\"UDP\"}]},"
	"{\"name\":\"sidecar\",\"ports\":[{\"name\":\"metrics\",\"containerPort\":9090}]}]}}";

static void container_ports(void **state)
{
	(void)state;
	cJSON *pod = cJSON_Parse(pod_json);
	int udp = -1;
	assert_int_equal(kx_pod_container_port(pod, "http", 0, &udp), 80);
	assert_int_equal(udp, 0);
	assert_int_equal(kx_pod_container_port(pod, "metrics", 0, &udp), 9090); /* any container */
	assert_int_equal(kx_pod_container_port(pod, "dns", 0, &udp), 53);
	assert_int_equal(udp, 1);
	assert_int_equal(kx_pod_container_port(pod, NULL, 5353, &udp), 5353);
	assert_int_equal(udp, 0); /* TCP too: not UDP-only */
	assert_int_equal(kx_pod_container_port(pod, NULL, 7, &udp), 7);
	assert_int_equal(kx_pod_container_port(pod, "nope", 0, &udp), 0);
	assert_int_equal(kx_pod_container_port(pod, NULL, 8080, &udp), 0);
	assert_int_equal(kx_pod_container_port(NULL, "http", 0, &udp), 0);
	cJSON_Delete(pod);
}

static void service_ports_to_pod_ports(void **state)
{
	(void)state;
	cJSON *pod = cJSON_Parse(pod_json);
	cJSON *svc = cJSON_Parse("{\"spec\":{\"clusterIP\":\"10.96.0.10\",\"ports\":["
				 "{\"name\":\"http\",\"port\":8080,\"targetPort\":\"http\"},"
				 "{\"name\":\"echo\",\"port\":7000,\"targetPort\":7},"
				 "{\"name\":\"plain\",\"port\":9090},"
				 "{\"name\":\"gone\",\"port\":81,\"targetPort\":\"missing\"},"
				 "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\",\"targetPort\":53}]}}");
	int sp = 0, udp = -1;
	const char *tn = "unset";
	/* by name: a named targetPort looked up in the pod, and its name */
	assert_int_equal(kx_service_target_port(svc, pod, 0, "http", &sp, &udp, &tn), 80);
	assert_int_equal(sp, 8080);
	assert_int_equal(udp, 0);
	assert_string_equal(tn, "http");
	/* by number: a numeric targetPort as it is (no name) */
	assert_int_equal(kx_service_target_port(svc, pod, 7000, NULL, &sp, &udp, &tn), 7);
	assert_null(tn);
	assert_int_equal(sp, 7000);
	/* no targetPort: the port itself */
	assert_int_equal(kx_service_target_port(svc, pod, 9090, NULL, &sp, &udp, NULL), 9090);
	/* a named targetPort the pod lacks; a port the service lacks */
	assert_int_equal(kx_service_target_port(svc, pod, 0, "gone", &sp, &udp, NULL), -1);
	assert_int_equal(kx_service_target_port(svc, pod, 1234, NULL, &sp, &udp, NULL), 0);
	assert_int_equal(kx_service_target_port(svc, pod, 0, "nope", &sp, &udp, NULL), 0);
	/* the protocol is the service port's */
	assert_int_equal(kx_service_target_port(svc, pod, 53, NULL, &sp, &udp, NULL), 53);
	assert_int_equal(udp, 1);
	cJSON_Delete(svc);
	/* headless: the port as it is, targetPort ignored */
	svc = cJSON_Parse("{\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":8080,\"targetPort\":\"http\"}]}}");
	assert_int_equal(kx_service_target_port(svc, pod, 8080, NULL, &sp, &udp, NULL), 8080);
	cJSON_Delete(svc);
	cJSON_Delete(pod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kubectl_order),
		cmocka_unit_test(ready_only_rule),
		cmocka_unit_test(targets),
		cmocka_unit_test(selectors),
		cmocka_unit_test(container_ports),
		cmocka_unit_test(service_ports_to_pod_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
