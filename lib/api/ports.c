/* SPDX-License-Identifier: Apache-2.0 */
/* Which pod port a port-forward reaches (see <kx/pods.h>): a container port by name
 * or number, and a Service's port through its targetPort, as kubectl resolves them. */
#include <kx/json.h>
#include <kx/pods.h>

#include <string.h>

int kx_pod_container_port(const cJSON *pod, const char *name, int number, int *udp_only)
{
	const cJSON *c, *p;
	int tcp = 0, udp = 0, found = 0;
	cJSON_ArrayForEach(c, kx_json_path(pod, "spec", "containers", NULL)) {
		cJSON_ArrayForEach(p, kx_json_get(c, "ports")) {
			const char *pn = kx_json_str(p, "name"), *proto = kx_json_str(p, "protocol");
			int num = kx_json_int(p, "containerPort", 0);
			if ((name && pn && !strcmp(pn, name)) || (!name && num == number)) {
				found = num;
				if (proto && !strcmp(proto, "UDP"))
					udp = 1;
				else
					tcp = 1;
			}
		}
	}
	*udp_only = udp && !tcp;
	return found;
}

int kx_service_target_port(const cJSON *svc, const cJSON *pod, int number, const char *name,
			   int *svc_port, int *udp_only, const char **target_name)
{
	if (target_name)
		*target_name = NULL;
	const cJSON *spec = kx_json_get(svc, "spec"), *p;
	const char *cip = kx_json_str(spec, "clusterIP");
	cJSON_ArrayForEach(p, kx_json_get(spec, "ports")) {
		const char *pn = kx_json_str(p, "name"), *proto = kx_json_str(p, "protocol");
		int num = kx_json_int(p, "port", 0);
		if (!(name ? (pn && !strcmp(pn, name)) : num == number))
			continue;
		*udp_only = proto && !strcmp(proto, "UDP");
		*svc_port = num;
		if (cip && !strcmp(cip, "None"))
			return num; /* headless: the port as it is */
		const cJSON *tp = kx_json_get(p, "targetPort");
		if (cJSON_IsNumber(tp))
			return tp->valueint;
		if (cJSON_IsString(tp)) {
			if (target_name)
				*target_name = tp->valuestring;
			int udp = 0, r = kx_pod_container_port(pod, tp->valuestring, 0, &udp);
			return r ? r : -1;
		}
		return num;
	}
	return 0;
}
