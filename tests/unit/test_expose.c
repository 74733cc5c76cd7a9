/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the exposure objects (kx/expose.h): create ingress's rule
 * grammar, merging and TLS entries; expose's and create service's Services;
 * what a workload offers a Service. Expected objects are kubectl 1.34's output
 * for the same flags (compared as data). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kx/expose.h>

/* The object equals the JSON text, as data. */
static void same(const cJSON *got, const char *want_json)
{
	cJSON *want = cJSON_Parse(want_json);
	assert_non_null(want);
	if (!cJSON_Compare(got, want, 1)) {
		char *g = cJSON_PrintUnformatted(got);
		fail_msg("got  %s\nwant %s", g, want_json);
	}
	cJSON_Delete(want);
}

static cJSON *ingress(const char *const *rules, size_t n)
{
	struct kx_ingress_spec s = {.name = "i", .rules = rules, .nrules = n};
	cJSON *out = NULL;
	struct kx_errbuf eb = {0};
	if (kx_ingress_build(&s, &out, &eb) != KX_OK)
		fail_msg("%s", eb.msg);
	return out;
}

static const cJSON *spec_of(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "spec"), key);
}

static void rule_grammar(void **state)
{
	static const char *const ok[] = {
		"foo.com/bar=svc1:8080,tls=my-cert", "/path=svc:port", "/=s:1", "*.a.com/x*=s:http",
		"a_b.c-d/=s-1:p_2", "a.com/p=s:80:90junk!", "a.com/a/b/c=s:1,tls", "a.com/x=s:1,anything",
		NULL,
	};
	static const char *const bad[] = {
		"foo.com=svc:80", "foo.com/=svc", "foo.com/=:80", "foo com/=s:80", "", "bad",
		"foo.com/a,=svc:80" /* kubectl panics */, "foo.com/a=b=svc:80" /* kubectl panics */,
		"a.com/p=s.x:80", "é.com/=s:80", NULL,
	};
	struct kx_errbuf eb = {0};
	for (const char *const *r = ok; *r; r++)
		if (kx_ingress_rule_check(*r, &eb) != KX_OK)
			fail_msg("%s: %s", *r, eb.msg);
	for (const char *const *r = bad; *r; r++) {
		struct kx_errbuf e = {0};
		assert_int_equal(kx_ingress_rule_check(*r, &e), KX_ERR_INVALID);
		char want[256];
		snprintf(want, sizeof want,
			 "rule %s is invalid and should be in format host/path=svcname:svcport[,tls[=secret]]", *r);
		assert_string_equal(e.msg, want);
	}
}

static void ingress_merge_and_paths(void **state)
{
	const char *rules[] = {"foo.com/bar*=svc1:8080,tls=my-cert", "foo.com/x=svc2:http", "/=svc3:80,tls",
			       "b.com/=s:1,tls"};
	cJSON *o = ingress(rules, 4);
	same(spec_of(o, "rules"),
	     "[{\"host\":\"foo.com\",\"http\":{\"paths\":["
	     "{\"path\":\"/bar\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"svc1\",\"port\":{\"number\":8080}}}},"
	     "{\"path\":\"/x\",\"pathType\":\"Exact\",\"backend\":{\"service\":{\"name\":\"svc2\",\"port\":{\"name\":\"http\"}}}}]}},"
	     "{\"http\":{\"paths\":[{\"path\":\"/\",\"pathType\":\"Exact\",\"backend\":{\"service\":{\"name\":\"svc3\",\"port\":{\"number\":80}}}}]}},"
	     "{\"host\":\"b.com\",\"http\":{\"paths\":[{\"path\":\"/\",\"pathType\":\"Exact\",\"backend\":{\"service\":{\"name\":\"s\",\"port\":{\"number\":1}}}}]}}]");
	same(spec_of(o, "tls"), "[{\"hosts\":[\"foo.com\"],\"secretName\":\"my-cert\"},{\"hosts\":[\"b.com\"]}]");
	cJSON_Delete(o);
}

static void ingress_tls_sharing(void **state)
{
	/* entries shared by secret; hosts once; the catch-all host joins an existing entry */
	const char *rules[] = {"*.foo.com/x=svc:0,tls=w", "c.com/=s:1,tls=w", "c.com/d=s:1,tls=z", "/=s:2,tls=w",
			       "d.com/=s:1,tls", "e.com/=s:1,tls", "f.com/=s:1,tls,extra"};
	cJSON *o = ingress(rules, 7);
	same(spec_of(o, "tls"),
	     "[{\"hosts\":[\"*.foo.com\",\"c.com\",\"\"],\"secretName\":\"w\"},{\"hosts\":[\"d.com\",\"e.com\"]}]");
	/* port 0 is left out (omitempty), the object stays */
	same(cJSON_GetArrayItem(spec_of(o, "rules"), 0),
	     "{\"host\":\"*.foo.com\",\"http\":{\"paths\":[{\"path\":\"/x\",\"pathType\":\"Exact\",\"backend\":{\"service\":{\"name\":\"svc\",\"port\":{}}}}]}}");
	cJSON_Delete(o);
}

static void ingress_errors(void **state)
{
	struct kx_errbuf eb = {0};
	cJSON *o = NULL;
	struct kx_ingress_spec s = {.name = "i"};
	assert_int_equal(kx_ingress_build(&s, &o, &eb), KX_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "not enough information provided"));
	const char *rules[] = {"a.com/=s:1"};
	const char *ann[] = {"novalue"};
	struct kx_ingress_spec a = {.name = "i", .rules = rules, .nrules = 1, .annotations = ann, .nannotations = 1};
	struct kx_errbuf e2 = {0};
	assert_int_equal(kx_ingress_build(&a, &o, &e2), KX_ERR_INVALID);
	assert_string_equal(e2.msg, "annotation novalue is invalid and should be in format key=[value]");
	struct kx_ingress_spec d = {.name = "i", .default_backend = "svc:1:2"};
	struct kx_errbuf e3 = {0};
	assert_int_equal(kx_ingress_build(&d, &o, &e3), KX_ERR_INVALID);
	assert_string_equal(e3.msg, "default-backend should be in format servicename:serviceport");
	assert_null(o);
}

static void expose_service(void **state)
{
	struct kx_service_spec s = {
		.name = "web", .selector = "app=web", .labels = "b=2,a=1", .ports = "80,53",
		.protocols = "80/TCP,53/UDP,53/TCP", .type = "LoadBalancer", .load_balancer_ip = "1.2.3.4",
		.session_affinity = "ClientIP", .external_ip = "5.6.7.8", .target_port = "http",
	};
	cJSON *o = NULL;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_service_build(&s, &o, &eb), KX_OK);
	same(o, "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web\","
		"\"labels\":{\"a\":\"1\",\"b\":\"2\"}},\"spec\":{\"ports\":["
		"{\"name\":\"port-1\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":\"http\"},"
		"{\"name\":\"port-2-udp\",\"protocol\":\"UDP\",\"port\":53,\"targetPort\":\"http\"},"
		"{\"name\":\"port-2-tcp\",\"protocol\":\"TCP\",\"port\":53,\"targetPort\":\"http\"}],"
		"\"selector\":{\"app\":\"web\"},\"type\":\"LoadBalancer\",\"externalIPs\":[\"5.6.7.8\"],"
		"\"sessionAffinity\":\"ClientIP\",\"loadBalancerIP\":\"1.2.3.4\"},\"status\":{\"loadBalancer\":{}}}");
	/* labels are sorted as Go marshals maps */
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "labels");
	assert_string_equal(labels->child->string, "a");
	cJSON_Delete(o);

	struct { struct kx_service_spec s; const char *msg; } bad[] = {
		{{.name = "x", .ports = "80"}, "selector must be specified"},
		{{.name = "x", .selector = "a==b", .ports = "80"}, "unexpected label spec: a==b"},
		{{.name = "x", .selector = "=b", .ports = "80"}, "unexpected empty label key"},
		{{.name = "x", .selector = "a=b", .ports = "8o"}, "strconv.Atoi: parsing \"8o\": invalid syntax"},
		{{.name = "x", .selector = "a=b", .ports = "99999999999999999999"},
		 "strconv.Atoi: parsing \"99999999999999999999\": value out of range"},
		{{.name = "x", .selector = "a=b", .ports = "80", .session_affinity = "Sticky"}, "unknown session affinity: Sticky"},
		{{.name = "x", .selector = "a=b", .ports = "80", .node_ports = "70000"},
		 "invalid --node-port 70000: must be between 1 and 65535, inclusive"},
		{{.name = "x", .selector = "a=b", .ports = "80", .node_ports = "30001,30002"},
		 "--node-port lists more ports than the service has (1)"},
		{{.selector = "a=b", .ports = "80"}, "name must be specified"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct kx_errbuf e = {0};
		cJSON *x = NULL;
		assert_int_equal(kx_service_build(&bad[i].s, &x, &e), KX_ERR_INVALID);
		assert_string_equal(e.msg, bad[i].msg);
		assert_null(x);
	}
}

static void create_service(void **state)
{
	const char *tcp[] = {"80:8080", "81", "82:metrics"};
	struct kx_create_service_spec s = {.name = "np", .type = "NodePort", .tcp = tcp, .ntcp = 3, .node_port = 30080};
	cJSON *o = NULL;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_create_service_build(&s, &o, &eb), KX_OK);
	same(spec_of(o, "ports"),
	     "[{\"name\":\"80-8080\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":8080,\"nodePort\":30080},"
	     "{\"name\":\"81\",\"protocol\":\"TCP\",\"port\":81,\"targetPort\":81,\"nodePort\":30080},"
	     "{\"name\":\"82-metrics\",\"protocol\":\"TCP\",\"port\":82,\"targetPort\":\"metrics\",\"nodePort\":30080}]");
	cJSON_Delete(o);
	struct { const char *type, *tcp, *cip, *ext, *msg; } bad[] = {
		{"ClusterIP", NULL, NULL, NULL, "at least one tcp port specifier must be provided"},
		{"NodePort", "80", "None", NULL, "ClusterIP=None can only be used with ClusterIP service type"},
		{"ExternalName", NULL, NULL, "Not_DNS", "invalid service external name Not_DNS"},
		{"ExternalName", NULL, NULL, "a..b", "invalid service external name a..b"},
		{"ClusterIP", "65536", NULL, NULL, "strconv.ParseUint: parsing \"65536\": value out of range"},
		{"ClusterIP", "+1", NULL, NULL, "strconv.ParseUint: parsing \"+1\": invalid syntax"},
		{"ClusterIP", "80:0", NULL, NULL, "must be between 1 and 65535, inclusive"},
		{"ClusterIP", "80:-a-", NULL, NULL, "must not begin or end with a hyphen (-)"},
		{"ClusterIP", "80:a--b", NULL, NULL, "must not contain consecutive hyphens (--)"},
		{"ClusterIP", "80:A_B", NULL, NULL,
		 "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-),must contain at least one letter (a-z)"},
		{"ClusterIP", "80:abcdefghijklmnop", NULL, NULL, "must be no more than 15 characters"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *one[] = {bad[i].tcp};
		struct kx_create_service_spec b = {.name = "x", .type = bad[i].type, .tcp = one, .ntcp = bad[i].tcp ? 1 : 0,
						   .cluster_ip = bad[i].cip, .external_name = bad[i].ext};
		struct kx_errbuf e = {0};
		cJSON *x = NULL;
		assert_int_equal(kx_create_service_build(&b, &x, &e), KX_ERR_INVALID);
		assert_string_equal(e.msg, bad[i].msg);
	}
}

static void inspect(void **state)
{
	cJSON *dep = cJSON_Parse(
		"{\"kind\":\"Deployment\",\"metadata\":{\"labels\":{\"x\":\"y\"}},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"w\"}},"
		"\"template\":{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":53,\"protocol\":\"UDP\"},{\"containerPort\":53}]},"
		"{\"ports\":[{\"containerPort\":8080,\"protocol\":\"SCTP\"}]}]}}}}");
	struct kx_expose_source src;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_expose_inspect(dep, &src, &eb), KX_OK);
	assert_string_equal(src.selector, "app=w");
	assert_string_equal(src.labels, "x=y");
	assert_string_equal(src.ports, "53,8080");
	assert_int_equal(src.nports, 2);
	assert_string_equal(src.protocols, "53/UDP,53/TCP,8080/SCTP");
	kx_expose_source_free(&src);
	/* matchExpressions: kubectl's words, with Go's %+v of the requirements */
	cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dep, "spec"), "selector"),
			      "matchExpressions",
			      cJSON_Parse("[{\"key\":\"t\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]},{\"key\":\"u\",\"operator\":\"Exists\"}]"));
	assert_int_equal(kx_expose_inspect(dep, &src, &eb), KX_OK);
	assert_null(src.selector);
	assert_string_equal(src.selector_error,
			    "couldn't convert expressions - \"[{Key:t Operator:In Values:[a b]} {Key:u Operator:Exists Values:[]}]\" to map-based selector format");
	kx_expose_source_free(&src);
	cJSON_Delete(dep);

	cJSON *pod = cJSON_Parse("{\"kind\":\"Pod\",\"metadata\":{},\"spec\":{\"containers\":[]}}");
	assert_int_equal(kx_expose_inspect(pod, &src, &eb), KX_OK);
	assert_string_equal(src.selector_error, "the pod has no labels and cannot be exposed");
	assert_int_equal(src.nports, 0);
	kx_expose_source_free(&src);
	cJSON_Delete(pod);

	cJSON *node = cJSON_Parse("{\"kind\":\"Node\"}");
	struct kx_errbuf e = {0};
	assert_int_equal(kx_expose_inspect(node, &src, &e), KX_ERR_INVALID);
	assert_string_equal(e.msg, "cannot expose a Node");
	cJSON_Delete(node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rule_grammar),     cmocka_unit_test(ingress_merge_and_paths),
		cmocka_unit_test(ingress_tls_sharing), cmocka_unit_test(ingress_errors),
		cmocka_unit_test(expose_service),   cmocka_unit_test(create_service),
		cmocka_unit_test(inspect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
