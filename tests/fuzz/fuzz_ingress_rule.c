/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: create ingress's rule grammar and object building, and expose's
 * Service generation, on arbitrary flag values. The input is split on NUL bytes:
 * rules, then (after an empty field) annotations; the first field also serves
 * as --tcp/--port/--selector text. */
#include <kx/expose.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	const char *fields[64];
	size_t n = 0;
	for (size_t i = 0, start = 0; i <= size && n < 64; i++)
		if (i == size || buf[i] == '\0') {
			fields[n++] = buf + start;
			start = i + 1;
		}
	size_t nrules = 0;
	while (nrules < n && fields[nrules][0])
		nrules++;
	const char *const *ann = nrules + 1 < n ? fields + nrules + 1 : NULL;
	size_t nann = ann ? n - nrules - 1 : 0;
	for (size_t i = 0; i < nann; i++)
		if (!strchr(ann[i], '=')) /* keep the builder's input valid past validation */
			nann = i;

	struct kx_errbuf eb = {0};
	for (size_t i = 0; i < nrules; i++)
		kx_ingress_rule_check(fields[i], &eb);
	struct kx_ingress_spec s = {.name = "f", .rules = fields, .nrules = nrules, .annotations = ann,
				    .nannotations = nann, .default_backend = n > 1 ? fields[n - 1] : NULL};
	cJSON *o = NULL;
	if (kx_ingress_build(&s, &o, &eb) == KX_OK) {
		char *text = cJSON_PrintUnformatted(o);
		if (!text)
			__builtin_trap();
		free(text);
	} else if (o || !eb.msg[0]) {
		__builtin_trap(); /* a failure leaves no object and says why */
	}
	cJSON_Delete(o);

	const char *first = n ? fields[0] : "";
	struct kx_service_spec svc = {.name = "f", .selector = first, .labels = first, .ports = first,
				      .protocols = first, .target_port = first, .node_ports = first};
	if (kx_service_build(&svc, &o, &eb) == KX_OK)
		cJSON_Delete(o);
	struct kx_create_service_spec cs = {.name = "f", .type = "NodePort", .tcp = fields, .ntcp = nrules};
	if (kx_create_service_build(&cs, &o, &eb) == KX_OK)
		cJSON_Delete(o);
	free(buf);
	return 0;
}
