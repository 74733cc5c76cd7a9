/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the YAML/JSON module: parse arbitrary bytes, print the result
 * as YAML and JSON, and check that both read back as the same document. */
#include <kx/json.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* kubectl's printer folds NEL (U+0085) in strings, so such documents do not round-trip. */
static int has_nel(const cJSON *v)
{
	for (; v; v = v->next) {
		if ((v->string && strstr(v->string, "\xc2\x85")) ||
		    (cJSON_IsString(v) && strstr(v->valuestring, "\xc2\x85")) || has_nel(v->child))
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *doc = NULL, *back = NULL;
	struct kx_errbuf eb = {0};
	if (kx_yaml_parse((const char *)data, size, "fuzz", &doc, &eb) != KX_OK) {
		if (!eb.msg[0])
			abort(); /* every failure explains itself */
		return 0;
	}
	struct kx_buf y = KX_BUF_INIT(0), j = KX_BUF_INIT(0);
	if (kx_yaml_emit(doc, &y) != KX_OK || kx_json_emit(doc, &j) != KX_OK)
		abort();

	/* the JSON is valid JSON holding the same document */
	back = cJSON_ParseWithLength(j.data, j.len);
	if (!back || !cJSON_Compare(doc, back, 1))
		abort();
	cJSON_Delete(back);
	back = NULL;

	/* the YAML reads back (as kubectl's would) to the same document */
	struct kx_errbuf eb2 = {0};
	if (kx_yaml_parse(y.data, y.len, "re-read", &back, &eb2) != KX_OK)
		abort();
	if (!has_nel(doc) && !cJSON_Compare(doc, back, 1))
		abort();

	cJSON_Delete(back);
	cJSON_Delete(doc);
	kx_buf_free(&y);
	kx_buf_free(&j);
	return 0;
}
