/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of lib/expose/reach.c, kx reach's view of every way into a Service, built from
 * the Service, Nodes and Ingresses alone (no cluster). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kx/expose.h>
#include <kx/json.h>

static const char nodes_json[] =
	"{\"items\":[{\"metadata\":{\"name\":\"n1\"},\"status\":{\"addresses\":["
	"{\"type\":\"InternalIP\",\"address\":\"192.168.0.1\"},{\"type\":\"ExternalIP\",\"address\":\"203.0.113.1\"}]}},"
	"{\"metadata\":{\"name\":\"n2\"},\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"fd00::2\"}]}}]}";

static cJSON *view_of(const char *svc_json, const char *ings_json, int *addresses)
{
	cJSON *svc = cJSON_Parse(svc_json), *nodes = cJSON_Parse(nodes_json);
	cJSON *ings = ings_json ? cJSON_Parse(ings_json) : NULL;
	assert_non_null(svc);
	cJSON *v = kx_reach_view(svc, nodes, ings, addresses);
	assert_non_null(v);
	cJSON_Delete(svc);
	cJSON_Delete(nodes);
	cJSON_Delete(ings);
	return v;
}

static const char *str_at(const cJSON *v, const char *list, int i, const char *key)
{
	return kx_json_str(cJSON_GetArrayItem(kx_json_get(v, list), i), key);
}

static void node_ports_cluster_ip_proxy_and_port_forward(void **state)
{
	(void)state;
	int addresses = -1;
	cJSON *v = view_of("{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},\"spec\":{\"type\":\"NodePort\","
			   "\"clusterIP\":\"10.96.0.5\",\"ports\":[{\"name\":\"http\",\"port\":80,\"nodePort\":30080},"
			   "{\"name\":\"https\",\"port\":443,\"nodePort\":30443},"
			   "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}}",
			   NULL, &addresses);
	assert_int_equal(addresses, 0);
	assert_string_equal(kx_json_str(v, "dns"), "web.shop.svc");
	assert_string_equal(kx_json_str(v, "type"), "NodePort");
	assert_string_equal(str_at(v, "clusterAddresses", 0, "url"), "http://10.96.0.5:80");
	assert_string_equal(str_at(v, "clusterAddresses", 1, "url"), "https://10.96.0.5:443");
	/* each node port on each node: its ExternalIP, else its InternalIP ([v6]) */
	assert_int_equal(cJSON_GetArraySize(kx_json_get(v, "nodePorts")), 4);
	assert_string_equal(str_at(v, "nodePorts", 0, "url"), "http://203.0.113.1:30080");
	assert_string_equal(str_at(v, "nodePorts", 0, "addressType"), "ExternalIP");
	assert_string_equal(str_at(v, "nodePorts", 1, "url"), "http://[fd00::2]:30080");
	assert_string_equal(str_at(v, "nodePorts", 3, "url"), "https://[fd00::2]:30443");
	/* not a load balancer: no such entry */
	assert_null(kx_json_get(v, "loadBalancer"));
	/* the proxy URL names https ports; port-forward only for TCP, above 1024 locally */
	assert_string_equal(str_at(v, "proxy", 1, "url"),
			    "http://127.0.0.1:8001/api/v1/namespaces/shop/services/https:web:https/proxy/");
	assert_int_equal(cJSON_GetArraySize(kx_json_get(v, "portForward")), 2);
	assert_string_equal(str_at(v, "portForward", 0, "command"), "kx port-forward -n shop svc/web 8080:80");
	cJSON_Delete(v);
}

static void load_balancer_and_ingress_addresses(void **state)
{
	(void)state;
#define LB_SVC(status) "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"type\":\"LoadBalancer\"," \
		       "\"clusterIP\":\"10.96.0.6\",\"ports\":[{\"name\":\"http\",\"port\":80}]}" status "}"
	int addresses = -1;
	/* no address yet: pending, nothing to wait for */
	cJSON *v = view_of(LB_SVC(""), NULL, &addresses);
	assert_int_equal(addresses, 0);
	assert_true(cJSON_IsTrue(kx_json_path(v, "loadBalancer", "pending", NULL)));
	cJSON_Delete(v);
	/* an address, and an Ingress whose TLS covers its host: https URL */
	v = view_of(LB_SVC(",\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.7\"}]}}"),
		    "{\"items\":[{\"metadata\":{\"name\":\"ing\"},\"spec\":{\"tls\":[{\"hosts\":[\"shop.example\"]}],"
		    "\"rules\":[{\"host\":\"shop.example\",\"http\":{\"paths\":[{\"path\":\"/api\",\"pathType\":\"Prefix\","
		    "\"backend\":{\"service\":{\"name\":\"web\",\"port\":{\"name\":\"http\"}}}}]}},"
		    "{\"host\":\"other.example\",\"http\":{\"paths\":[{\"path\":\"/\",\"pathType\":\"Exact\","
		    "\"backend\":{\"service\":{\"name\":\"not-web\",\"port\":{\"number\":80}}}}]}}]},"
		    "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.8\"}]}}}]}",
		    &addresses);
	assert_int_equal(addresses, 2);
	assert_false(cJSON_IsTrue(kx_json_path(v, "loadBalancer", "pending", NULL)));
	assert_string_equal(kx_json_str(cJSON_GetArrayItem(kx_json_path(v, "loadBalancer", "addresses", NULL), 0), "url"),
			    "http://198.51.100.7:80");
	/* only the rule that sends traffic to this service */
	assert_int_equal(cJSON_GetArraySize(kx_json_get(v, "ingresses")), 1);
	assert_string_equal(str_at(v, "ingresses", 0, "url"), "https://shop.example/api");
	assert_string_equal(str_at(v, "ingresses", 0, "ingress"), "ing");
	cJSON_Delete(v);
}

static void headless_and_external_name(void **state)
{
	(void)state;
	int addresses = -1;
	cJSON *v = view_of("{\"metadata\":{\"name\":\"db\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"None\","
			   "\"ports\":[{\"port\":5432}]}}",
			   NULL, &addresses);
	assert_string_equal(kx_json_str(v, "type"), "ClusterIP"); /* the default type */
	assert_null(kx_json_get(v, "clusterAddresses"));          /* no cluster IP to list */
	cJSON_Delete(v);
	v = view_of("{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},\"spec\":{\"type\":\"ExternalName\","
		    "\"externalName\":\"db.example.com\"}}",
		    NULL, &addresses);
	assert_string_equal(kx_json_str(v, "externalName"), "db.example.com");
	assert_int_equal(cJSON_GetArraySize(kx_json_get(v, "portForward")), 0);
	cJSON_Delete(v);
}

static const char *finding_at(const cJSON *v, int i, const char *key)
{
	return str_at(v, "findings", i, key);
}

/* The static checks of --check: the objects alone say what is broken. */
static void static_checks(void **state)
{
	(void)state;
	int addresses;
	const char *svc_json = "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{"
			       "\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\",\"port\":80,"
			       "\"targetPort\":\"http\"},{\"name\":\"m\",\"port\":9090,\"targetPort\":\"metrics\"}]}}";
	cJSON *svc = cJSON_Parse(svc_json);
	cJSON *pods = cJSON_Parse("{\"items\":[{\"metadata\":{\"name\":\"p1\"},\"spec\":{\"containers\":[{\"ports\":"
				  "[{\"name\":\"http\",\"containerPort\":80}]}]}},{\"metadata\":{\"name\":\"p2\"},"
				  "\"spec\":{\"containers\":[{\"ports\":[{\"name\":\"http\",\"containerPort\":80}]}]}}]}");
	/* one endpoint not ready, one whose ready condition is absent (the API: ready) */
	cJSON *slices = cJSON_Parse("{\"items\":[{\"endpoints\":[{\"conditions\":{\"ready\":false}},{}]}]}");
	cJSON *ings = cJSON_Parse("{\"items\":[{\"metadata\":{\"name\":\"i1\"},\"spec\":{\"rules\":[{\"host\":\"a.test\","
				  "\"http\":{\"paths\":[{\"path\":\"/\",\"backend\":{\"service\":{\"name\":\"web\",\"port\":"
				  "{\"number\":80}}}},{\"path\":\"/x\",\"backend\":{\"service\":{\"name\":\"gone\",\"port\":"
				  "{\"number\":80}}}},{\"path\":\"/y\",\"backend\":{\"service\":{\"name\":\"web\",\"port\":"
				  "{\"name\":\"grpc\"}}}}]}}]}},"
				  "{\"metadata\":{\"name\":\"other\"},\"spec\":{\"defaultBackend\":{\"service\":{\"name\":\"gone2\"}}}}]}");
	cJSON *svcs = cJSON_Parse("{\"items\":[{\"metadata\":{\"name\":\"web\"}}]}");
	cJSON *v = view_of(svc_json, NULL, &addresses);
	kx_reach_static(v, svc, pods, slices, ings, svcs);
	assert_int_equal(cJSON_GetArraySize(kx_json_get(v, "findings")), 5);
	assert_string_equal(finding_at(v, 0, "message"), "selector app=web matches 2 pods");
	assert_string_equal(finding_at(v, 1, "message"), "targetPort metrics not declared by pod p1 (and 1 more)");
	assert_string_equal(finding_at(v, 2, "message"), "1 Ready endpoint");
	assert_string_equal(finding_at(v, 3, "message"), "a.test/x sends traffic to service gone, which does not exist");
	assert_string_equal(finding_at(v, 4, "message"),
			    "a.test/y sends traffic to port grpc of service web, which it does not have");
	/* an Ingress that does not name the service is not this service's business */
	assert_string_equal(finding_at(v, 4, "object"), "ingress/i1");
	int ok, failed, ffailed;
	kx_reach_tally(v, &ok, &failed, &ffailed);
	assert_int_equal(ffailed, 3);
	cJSON_Delete(v);
	/* nothing readable: no findings; no pods: the selector matches none */
	v = view_of(svc_json, NULL, &addresses);
	kx_reach_static(v, svc, NULL, NULL, NULL, NULL);
	assert_int_equal(cJSON_GetArraySize(kx_json_get(v, "findings")), 0);
	cJSON_Delete(v);
	cJSON *none = cJSON_Parse("{\"items\":[]}");
	v = view_of(svc_json, NULL, &addresses);
	kx_reach_static(v, svc, none, none, NULL, NULL);
	assert_string_equal(finding_at(v, 0, "message"), "selector app=web matches no pod");
	assert_string_equal(finding_at(v, 1, "message"), "no Ready endpoints behind the service");
	assert_string_equal(finding_at(v, 1, "status"), "failed");
	cJSON_Delete(v);
	cJSON_Delete(none);
	cJSON_Delete(svc);
	cJSON_Delete(pods);
	cJSON_Delete(slices);
	cJSON_Delete(ings);
	cJSON_Delete(svcs);
}

static void route_names(void **state)
{
	(void)state;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_reach_routes_check("node-port,ingress", &eb), KX_OK);
	assert_int_equal(kx_reach_routes_check(NULL, &eb), KX_OK);
	assert_int_equal(kx_reach_routes_check("node-port,tunnel", &eb), KX_ERR_INVALID);
	assert_string_equal(eb.msg, "unknown route tunnel (one of: cluster-ip, node-port, load-balancer, external-ip, "
				    "ingress, api-proxy, port-forward)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(node_ports_cluster_ip_proxy_and_port_forward),
		cmocka_unit_test(load_balancer_and_ingress_addresses),
		cmocka_unit_test(headless_and_external_name),
		cmocka_unit_test(static_checks),
		cmocka_unit_test(route_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
