/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for YAML/JSON: parsing with go-yaml v2's rules (as kubectl reads YAML) and
 * printing like kubectl's -o yaml / -o json. The expected texts were captured from
 * kubectl 1.33 (`create service clusterip` and `create configmap --from-literal=…`
 * with --dry-run=client -o json / -o yaml). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kx/json.h>
#include "internal.h"

/* kubectl 1.33 output, verbatim. */
static const char svc_json[] =
	"{\n"
	"    \"kind\": \"Service\",\n"
	"    \"apiVersion\": \"v1\",\n"
	"    \"metadata\": {\n"
	"        \"name\": \"x\",\n"
	"        \"creationTimestamp\": null,\n"
	"        \"labels\": {\n"
	"            \"app\": \"x\"\n"
	"        }\n"
	"    },\n"
	"    \"spec\": {\n"
	"        \"ports\": [\n"
	"            {\n"
	"                \"name\": \"80-8080\",\n"
	"                \"protocol\": \"TCP\",\n"
	"                \"port\": 80,\n"
	"                \"targetPort\": 8080\n"
	"            },\n"
	"            {\n"
	"                \"name\": \"443-8443\",\n"
	"                \"protocol\": \"TCP\",\n"
	"                \"port\": 443,\n"
	"                \"targetPort\": 8443\n"
	"            }\n"
	"        ],\n"
	"        \"selector\": {\n"
	"            \"app\": \"x\"\n"
	"        },\n"
	"        \"type\": \"ClusterIP\"\n"
	"    },\n"
	"    \"status\": {\n"
	"        \"loadBalancer\": {}\n"
	"    }\n"
	"}\n";

static const char svc_yaml[] =
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata:\n"
	"  creationTimestamp: null\n"
	"  labels:\n"
	"    app: x\n"
	"  name: x\n"
	"spec:\n"
	"  ports:\n"
	"  - name: 80-8080\n"
	"    port: 80\n"
	"    protocol: TCP\n"
	"    targetPort: 8080\n"
	"  - name: 443-8443\n"
	"    port: 443\n"
	"    protocol: TCP\n"
	"    targetPort: 8443\n"
	"  selector:\n"
	"    app: x\n"
	"  type: ClusterIP\n"
	"status:\n"
	"  loadBalancer: {}\n";

static const char cm_json[] =
	"{\n"
	"    \"kind\": \"ConfigMap\",\n"
	"    \"apiVersion\": \"v1\",\n"
	"    \"metadata\": {\n"
	"        \"name\": \"tricky\",\n"
	"        \"creationTimestamp\": null\n"
	"    },\n"
	"    \"data\": {\n"
	"        \"-x\": \"3\",\n"
	"        \".x\": \"4\",\n"
	"        \"10\": \"6\",\n"
	"        \"9\": \"5\",\n"
	"        \"A\": \"1\",\n"
	"        \"_x\": \"2\",\n"
	"        \"a-b\": \"7\",\n"
	"        \"a01\": \"13\",\n"
	"        \"a1\": \"14\",\n"
	"        \"a10\": \"x\",\n"
	"        \"a2\": \"y\",\n"
	"        \"a_b\": \"9\",\n"
	"        \"amp\": \"\\u0026x\",\n"
	"        \"b60\": \"1:20\",\n"
	"        \"br\": \"[x]\",\n"
	"        \"col2\": \"x:\",\n"
	"        \"colon\": \"a: b\",\n"
	"        \"crlf\": \"a\\r\\nb\",\n"
	"        \"ctl\": \"a\\u0001b\",\n"
	"        \"dash\": \"- x\",\n"
	"        \"dash2\": \"-x\",\n"
	"        \"date\": \"2024-01-02\",\n"
	"        \"dot\": \".5\",\n"
	"        \"dq\": \"say \\\"hi\\\"\",\n"
	"        \"e\": \"1e3\",\n"
	"        \"emoji\": \"\360\237\230\200\",\n"
	"        \"empty\": \"\",\n"
	"        \"float2\": \"08\",\n"
	"        \"hash\": \"a #b\",\n"
	"        \"hex\": \"0x1F\",\n"
	"        \"html\": \"\\u003ca\\u0026b\\u003e\",\n"
	"        \"inf\": \".inf\",\n"
	"        \"lead\": \"  x\\ny\",\n"
	"        \"long\": \"aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt\",\n"
	"        \"ls\": \"a\\u2028b\",\n"
	"        \"lt\": \"\\n\",\n"
	"        \"ml\": \"line1\\nline2\",\n"
	"        \"mls\": \"line1 \\nline2\",\n"
	"        \"mlt\": \"line1\\nline2\\n\",\n"
	"        \"mlt2\": \"line1\\nline2\\n\\n\",\n"
	"        \"nel\": \"a\302\205b\",\n"
	"        \"nul\": \"Null\",\n"
	"        \"oct\": \"0777\",\n"
	"        \"off\": \"Off\",\n"
	"        \"onlyspace\": \" \",\n"
	"        \"plus\": \"+1\",\n"
	"        \"q\": \"it's\",\n"
	"        \"qm2\": \"? x\",\n"
	"        \"star\": \"*x\",\n"
	"        \"tab\": \"a\\tb\",\n"
	"        \"tilde\": \"~\",\n"
	"        \"trail\": \"x \",\n"
	"        \"uni\": \"h\303\251llo \342\234\223\",\n"
	"        \"us\": \"1_000\",\n"
	"        \"y\": \"y\"\n"
	"    }\n"
	"}\n";

static const char cm_yaml[] =
	"apiVersion: v1\n"
	"data:\n"
	"  -x: \"3\"\n"
	"  .x: \"4\"\n"
	"  _x: \"2\"\n"
	"  \"9\": \"5\"\n"
	"  \"10\": \"6\"\n"
	"  A: \"1\"\n"
	"  a-b: \"7\"\n"
	"  a_b: \"9\"\n"
	"  a1: \"14\"\n"
	"  a01: \"13\"\n"
	"  a2: \"y\"\n"
	"  a10: x\n"
	"  amp: '&x'\n"
	"  b60: \"1:20\"\n"
	"  br: '[x]'\n"
	"  col2: 'x:'\n"
	"  colon: 'a: b'\n"
	"  crlf: \"a\\r\\nb\"\n"
	"  ctl: \"a\\x01b\"\n"
	"  dash: '- x'\n"
	"  dash2: -x\n"
	"  date: \"2024-01-02\"\n"
	"  dot: \".5\"\n"
	"  dq: say \"hi\"\n"
	"  e: \"1e3\"\n"
	"  emoji: \"\\U0001F600\"\n"
	"  empty: \"\"\n"
	"  float2: \"08\"\n"
	"  hash: 'a #b'\n"
	"  hex: \"0x1F\"\n"
	"  html: <a&b>\n"
	"  inf: \".inf\"\n"
	"  lead: |2-\n"
	"      x\n"
	"    y\n"
	"  long: aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo\n"
	"    pppp qqqq rrrr ssss tttt\n"
	"  ls: 'a\342\200\250    b'\n"
	"  lt: |2+\n"
	"\n"
	"  ml: |-\n"
	"    line1\n"
	"    line2\n"
	"  mls: \"line1 \\nline2\"\n"
	"  mlt: |\n"
	"    line1\n"
	"    line2\n"
	"  mlt2: |+\n"
	"    line1\n"
	"    line2\n"
	"\n"
	"  nel: a b\n"
	"  nul: \"Null\"\n"
	"  oct: \"0777\"\n"
	"  \"off\": \"Off\"\n"
	"  onlyspace: ' '\n"
	"  plus: \"+1\"\n"
	"  q: it's\n"
	"  qm2: '? x'\n"
	"  star: '*x'\n"
	"  tab: \"a\\tb\"\n"
	"  tilde: \"~\"\n"
	"  trail: 'x '\n"
	"  uni: h\303\251llo \342\234\223\n"
	"  us: \"1_000\"\n"
	"  \"y\": \"y\"\n"
	"kind: ConfigMap\n"
	"metadata:\n"
	"  creationTimestamp: null\n"
	"  name: tricky\n";

static char *emit_yaml(const cJSON *doc)
{
	struct kx_buf b = KX_BUF_INIT(0);
	assert_int_equal(kx_yaml_emit(doc, &b), KX_OK);
	return kx_buf_steal(&b);
}

static char *emit_json(const cJSON *doc)
{
	struct kx_buf b = KX_BUF_INIT(0);
	assert_int_equal(kx_json_emit(doc, &b), KX_OK);
	return kx_buf_steal(&b);
}

static cJSON *parse_ok(const char *yaml)
{
	cJSON *doc = NULL;
	struct kx_errbuf eb = {0};
	kx_err err = kx_yaml_parse(yaml, strlen(yaml), "test", &doc, &eb);
	if (err)
		fail_msg("parse failed: %s", eb.msg);
	assert_non_null(doc);
	return doc;
}

/* Parse YAML and print it as compact JSON (cJSON's own printer) for comparisons. */
static void assert_parses_to(const char *yaml, const char *json)
{
	cJSON *doc = parse_ok(yaml);
	char *got = cJSON_PrintUnformatted(doc);
	if (strcmp(got, json))
		fail_msg("%s\n  parsed to %s\n  expected  %s", yaml, got, json);
	free(got);
	cJSON_Delete(doc);
}

static void assert_parse_error(const char *yaml, kx_err want, const char *msg)
{
	cJSON *doc = (cJSON *)1;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_yaml_parse(yaml, strlen(yaml), "kubeconfig /x/config", &doc, &eb), want);
	assert_null(doc);
	if (strcmp(eb.msg, msg))
		fail_msg("error for %s\n  got      %s\n  expected %s", yaml, eb.msg, msg);
}

/* ---------------------------------------------------------------- emitting */

static void emit_service_like_kubectl(void **state)
{
	cJSON *doc = cJSON_Parse(svc_json);
	assert_non_null(doc);
	char *y = emit_yaml(doc), *j = emit_json(doc);
	assert_string_equal(y, svc_yaml);
	assert_string_equal(j, svc_json);
	free(y);
	free(j);
	cJSON_Delete(doc);
}

static void emit_tricky_strings_like_kubectl(void **state)
{
	cJSON *doc = cJSON_Parse(cm_json);
	assert_non_null(doc);
	char *y = emit_yaml(doc), *j = emit_json(doc);
	assert_string_equal(y, cm_yaml);
	assert_string_equal(j, cm_json);
	free(y);
	free(j);
	cJSON_Delete(doc);
}

static void emit_yaml_shapes(void **state)
{
	/* empty collections, null, nested lists, list of maps at the parent's indent,
	 * go-yaml's key order (numbers inside keys compare numerically) */
	cJSON *doc = cJSON_Parse("{\"b\":{},\"a\":[],\"n\":null,\"l\":[[1,[]],{\"k\":{}}],"
				 "\"users\":[{\"user\":{\"token\":\"y\"},\"name\":\"x\"}],"
				 "\"a10\":1,\"a2\":2,\"f\":[1.5,1e21,1234567.5,1e-7,-0.25,100000000000000000000]}");
	assert_non_null(doc);
	char *y = emit_yaml(doc);
	assert_string_equal(y, "a: []\n"
			       "a2: 2\n"
			       "a10: 1\n"
			       "b: {}\n"
			       "f:\n"
			       "- 1.5\n"
			       "- 1e+21\n"
			       "- 1.2345675e+06\n"
			       "- 1e-07\n"
			       "- -0.25\n"
			       "- 1e+20\n"
			       "l:\n"
			       "- - 1\n"
			       "  - []\n"
			       "- k: {}\n"
			       "\"n\": null\n" /* "n" is a boolean to YAML 1.1 */
			       "users:\n"
			       "- name: x\n"
			       "  user:\n"
			       "    token: \"y\"\n");
	free(y);
	cJSON_Delete(doc);

	/* scalars at the top level, and an empty document */
	cJSON *s = cJSON_CreateString("true");
	y = emit_yaml(s);
	assert_string_equal(y, "\"true\"\n");
	free(y);
	cJSON_Delete(s);
	cJSON *o = cJSON_CreateObject();
	y = emit_yaml(o);
	assert_string_equal(y, "{}\n");
	free(y);
	cJSON_Delete(o);
}

static void emit_json_escapes_like_go(void **state)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "s", "<a&b>/\x01\b\f\t\n\r\"\\\xe2\x80\xa8\x7f\xc3\xa9\xff");
	cJSON_AddNumberToObject(doc, "n", 1e21);
	cJSON_AddNumberToObject(doc, "m", 0.000001);
	cJSON_AddNumberToObject(doc, "o", 1e-7);
	cJSON_AddItemToObject(doc, "e", cJSON_CreateArray());
	char *j = emit_json(doc);
	assert_string_equal(j, "{\n"
			       "    \"s\": \"\\u003ca\\u0026b\\u003e/\\u0001\\b\\f\\t\\n\\r\\\"\\\\\\u2028\x7f\xc3\xa9\\ufffd\",\n"
			       "    \"n\": 1e+21,\n"
			       "    \"m\": 0.000001,\n"
			       "    \"o\": 1e-7,\n"
			       "    \"e\": []\n"
			       "}\n");
	free(j);
	cJSON_Delete(doc);
}

static void emit_appends_and_respects_cap(void **state)
{
	cJSON *doc = cJSON_Parse(svc_json);
	struct kx_buf b = KX_BUF_INIT(0);
	assert_int_equal(kx_buf_appends(&b, "---\n"), KX_OK);
	assert_int_equal(kx_yaml_emit(doc, &b), KX_OK);
	assert_int_equal(strncmp(b.data, "---\napiVersion: v1\n", 19), 0);
	kx_buf_free(&b);
	struct kx_buf small = KX_BUF_INIT(16);
	assert_int_equal(kx_yaml_emit(doc, &small), KX_ERR_TOO_LARGE);
	assert_int_equal(kx_json_emit(doc, &small), KX_ERR_TOO_LARGE);
	kx_buf_free(&small);
	cJSON_Delete(doc);
}

/* ---------------------------------------------------------------- parsing */

static void parse_scalars_like_go_yaml_v2(void **state)
{
	assert_parses_to("[true, True, TRUE, yes, Yes, on, ON, y, Y, false, no, Off, n, N]",
			 "[true,true,true,true,true,true,true,true,true,false,false,false,false,false]");
	assert_parses_to("[~, null, Null, NULL, nUll, tRUE]",
			 "[null,null,null,null,\"nUll\",\"tRUE\"]");
	assert_parses_to("empty:\nn: n\n", "{\"empty\":null,\"false\":false}");
	assert_parses_to("[0x1F, 0o17, 017, 08, 0b101, -0b11, +5, 1_000, -0, 0x_1F]",
			 "[31,15,15,8,5,-3,5,1000,0,31]");
	assert_parses_to("[1.5, .5, -.5, 1e3, 1.e3, 5., 6.02e+23, 1e999]",
			 "[1.5,0.5,-0.5,1000,1000,5,6.02e+23,\"1e999\"]");
	assert_parses_to("[1:20, 2024-01-02, 2024-01-02T10:00:00Z, 1.2.3, 0x, -, ., abc]",
			 "[\"1:20\",\"2024-01-02\",\"2024-01-02T10:00:00Z\",\"1.2.3\",\"0x\",\"-\",\".\",\"abc\"]");
	assert_parses_to("[\"123\", 'true', \"null\", !!str 5, '']", "[\"123\",\"true\",\"null\",\"5\",\"\"]");
	assert_parses_to("[!!int \"12\", !!float 3, !!bool \"true\", !!binary aGVsbG8=, !custom x]",
			 "[12,3,true,\"hello\",\"x\"]");
	assert_parses_to("s: \"\\t\\x41\\u00e9\\N\"\nf: >\n  a\n  b\n\n  c\nl: |+\n  keep\n\n",
			 "{\"s\":\"\\tA\xc3\xa9\xc2\x85\",\"f\":\"a b\\nc\\n\",\"l\":\"keep\\n\\n\"}");
}

static void parse_keys_and_maps(void **state)
{
	/* non-string keys become strings as sigs.k8s.io/yaml writes them */
	assert_parses_to("{123: a, 0x10: b, 1.5: c, 0.1: d, true: e, yes: f}",
			 "{\"123\":\"a\",\"16\":\"b\",\"1.5\":\"c\",\"0.1\":\"d\",\"true\":\"f\"}");
	/* a repeated key: the last one wins */
	assert_parses_to("a: 1\nb: 2\na: 3\n", "{\"b\":2,\"a\":3}");
	/* merge keys without aliases */
	assert_parses_to("m:\n  <<: {a: 1, b: 2}\n  b: 3\n", "{\"m\":{\"a\":1,\"b\":3}}");
	assert_parses_to("m:\n  <<: [{a: 1}, {a: 2, c: 3}]\n", "{\"m\":{\"c\":3,\"a\":1}}");
	assert_parses_to("m: {\"<<\": {a: 1}}", "{\"m\":{\"<<\":{\"a\":1}}}");
	/* JSON is YAML */
	assert_parses_to("{\"a\": [1, 2.5, \"x\", null, true, {}]}", "{\"a\":[1,2.5,\"x\",null,true,{}]}");
}

static void parse_documents(void **state)
{
	assert_parses_to("", "null");
	assert_parses_to("# only a comment\n", "null");
	assert_parses_to("---\n", "null");
	assert_parses_to("a: 1\n---\nb: 2\n", "{\"a\":1}");
	assert_parses_to("a: 1\n--- [unclosed\n", "{\"a\":1}");
	assert_parses_to("- 1\n- x\n", "[1,\"x\"]");
	assert_parses_to("just a string", "\"just a string\"");
	/* the length counts, not a NUL */
	cJSON *doc;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_yaml_parse("a: 1\nb: 2", 4, "t", &doc, &eb), KX_OK);
	char *s = cJSON_PrintUnformatted(doc);
	assert_string_equal(s, "{\"a\":1}");
	free(s);
	cJSON_Delete(doc);
}

static void parse_errors_name_source_line_and_column(void **state)
{
	assert_parse_error("clusters:\n- name: c\n  cluster: {server: \"x\"\ncontexts: x\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 4, column 1: did not find expected ',' or '}'");
	assert_parse_error("a: 1\n  b: 2\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 2, column 4: mapping values are not allowed in this context");
	assert_parse_error("a: \"x\xff\"\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 1, column 6: invalid leading UTF-8 octet");
	assert_parse_error("a: 1\nb: [1,\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 3, column 1: did not find expected node content");
	assert_parse_error("~: 1\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 1, column 1: unsupported map key: null");
	assert_parse_error("? [a]\n: 1\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 1, column 3: invalid map key: a mapping or sequence");
	assert_parse_error("a: .inf\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 1, column 4: infinity and NaN cannot be represented in JSON");
	/* the value stays out of the message: it might be a token */
	assert_parse_error("token: !!int s3cr3t\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 1, column 8: cannot decode !!str as a !!int");
	assert_parse_error("a: \"x\\0y\"\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 1, column 4: NUL characters are not supported in strings");
	assert_parse_error("m:\n  <<: 5\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 2, column 3: map merge requires map or sequence of maps as the value");
}

static void parse_refuses_anchors_and_aliases(void **state)
{
	assert_parse_error("a: &x 1\nb: *x\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 1, column 4: anchors and aliases are not supported");
	assert_parse_error("a: *x\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 1, column 4: anchors and aliases are not supported");
	assert_parse_error("&m {a: 1}\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 1, column 1: anchors and aliases are not supported");
	/* the classic billion laughs never expands */
	assert_parse_error("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", KX_ERR_INVALID,
			   "kubeconfig /x/config: line 1, column 4: anchors and aliases are not supported");
}

static void parse_depth_limit(void **state)
{
	char buf[400];
	/* the top-level mapping plus 63 lists: 64 levels */
	int n = snprintf(buf, sizeof buf, "a: ");
	for (int i = 0; i < 63; i++)
		buf[n++] = '[';
	for (int i = 0; i < 63; i++)
		buf[n++] = ']';
	buf[n] = '\0';
	cJSON *doc = parse_ok(buf);
	cJSON_Delete(doc);
	n = snprintf(buf, sizeof buf, "a: ");
	for (int i = 0; i < 64; i++)
		buf[n++] = '[';
	for (int i = 0; i < 64; i++)
		buf[n++] = ']';
	buf[n] = '\0';
	assert_parse_error(buf, KX_ERR_INVALID,
			   "kubeconfig /x/config: line 1, column 67: nesting deeper than 64 levels is not supported");
	/* very deep input is refused early, not recursed into */
	size_t big = 1000000;
	char *deep = malloc(big + 1);
	memset(deep, '[', big);
	deep[big] = '\0';
	cJSON *d = NULL;
	struct kx_errbuf eb = {0};
	assert_int_equal(kx_yaml_parse(deep, big, "deep", &d, &eb), KX_ERR_INVALID);
	assert_null(d);
	free(deep);
}

static void round_trips(void **state)
{
	/* (not cm_json: kubectl's output folds its NEL into a space, and so does ours) */
	const char *docs[] = {svc_json,
			      "{\"a\":[{\"b\":[[],{},null,true,false,0,-1,2.5,\"\",\" x\",\"1:2\"]}],"
			      "\"k e y\":\"multi\\nline\\n\\n\",\"\":\"empty key\",\"\\u00e9\":\"\\u2028\"}"};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		cJSON *doc = cJSON_Parse(docs[i]);
		assert_non_null(doc);
		char *y = emit_yaml(doc);
		cJSON *back = parse_ok(y);
		if (!cJSON_Compare(doc, back, 1))
			fail_msg("round trip of document %zu changed it:\n%s", i, y);
		/* and the YAML of the copy is the same text */
		char *y2 = emit_yaml(back);
		assert_string_equal(y, y2);
		free(y);
		free(y2);
		cJSON_Delete(doc);
		cJSON_Delete(back);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(emit_service_like_kubectl),
		cmocka_unit_test(emit_tricky_strings_like_kubectl),
		cmocka_unit_test(emit_yaml_shapes),
		cmocka_unit_test(emit_json_escapes_like_go),
		cmocka_unit_test(emit_appends_and_respects_cap),
		cmocka_unit_test(parse_scalars_like_go_yaml_v2),
		cmocka_unit_test(parse_keys_and_maps),
		cmocka_unit_test(parse_documents),
		cmocka_unit_test(parse_errors_name_source_line_and_column),
		cmocka_unit_test(parse_refuses_anchors_and_aliases),
		cmocka_unit_test(parse_depth_limit),
		cmocka_unit_test(round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
