/* SPDX-License-Identifier: Apache-2.0 */
/* Services as kubectl's `expose` and `create service` generate them, and what an
 * exposable object offers them (selector, ports, protocols, labels). The rules
 * and messages follow kubectl's (pkg/cmd/expose, pkg/cmd/create,
 * polymorphichelpers) so that --dry-run=client prints the same object. */
#include <kx/expose.h>
#include <kx/buf.h>
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int given(const char *s)
{
	return s && *s;
}

/* Go's %q for the plain strings these messages quote. */
static void quoted(char *out, size_t n, const char *s)
{
	size_t o = 0;
	if (n < 3)
		return;
	out[o++] = '"';
	for (; *s && o + 3 < n; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* strconv.Atoi: an optional sign and decimal digits, in int64. */
static kx_err go_atoi(const char *s, long long *v, struct kx_errbuf *eb)
{
	char q[200];
	quoted(q, sizeof q, s);
	const char *p = s + (*s == '+' || *s == '-');
	if (!*p)
		return kx__fail(eb, KX_ERR_INVALID, "strconv.Atoi: parsing %s: invalid syntax", q);
	for (const char *d = p; *d; d++)
		if (!isdigit((unsigned char)*d))
			return kx__fail(eb, KX_ERR_INVALID, "strconv.Atoi: parsing %s: invalid syntax", q);
	errno = 0;
	*v = strtoll(s, NULL, 10);
	if (errno == ERANGE)
		return kx__fail(eb, KX_ERR_INVALID, "strconv.Atoi: parsing %s: value out of range", q);
	return KX_OK;
}

/* A number as Go's intstr.Parse and FromInt keep it: cut to int32. */
static int int32_of(long long v)
{
	return (int)(unsigned)(unsigned long long)v;
}

/* intstr.Parse: a number if Atoi takes it, else the name. */
static cJSON *intstr(const char *s)
{
	long long v;
	if (go_atoi(s, &v, NULL) == KX_OK)
		return cJSON_CreateNumber(int32_of(v));
	return cJSON_CreateString(s);
}

/* kubectl's parseLabels: "k=v,k2=v2" into a map, strictly one '=' each. */
static kx_err parse_labels(const char *spec, cJSON **out, struct kx_errbuf *eb)
{
	cJSON *map = cJSON_CreateObject();
	char *copy = strdup(spec);
	kx_err err = map && copy ? KX_OK : KX_ERR_NOMEM;
	char *save = copy;
	for (char *p = copy; !err && p;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		char *eq = strchr(p, '=');
		if (!eq || strchr(eq + 1, '='))
			err = kx__fail(eb, KX_ERR_INVALID, "unexpected label spec: %s", p);
		else if (eq == p)
			err = kx__fail(eb, KX_ERR_INVALID, "unexpected empty label key");
		else {
			*eq = '\0';
			err = kx_json_map_set(map, p, eq + 1);
		}
		p = comma ? comma + 1 : NULL;
	}
	free(save);
	if (err) {
		cJSON_Delete(map);
		return err;
	}
	*out = map;
	return KX_OK;
}

/* The start of every generated object: kind, apiVersion, metadata. */
static cJSON *object_head(const char *kind, const char *api_version, const char *name,
			  const char *ns, cJSON **meta)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "apiVersion", api_version);
	*meta = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(*meta, "name", name);
	if (given(ns))
		cJSON_AddStringToObject(*meta, "namespace", ns);
	/* no "creationTimestamp": null — kubectl 1.34 leaves the zero time out */
	return o;
}

static void add_status(cJSON *o)
{
	cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "status"), "loadBalancer");
}

/* One ServicePort in Go's field order; targetPort is added later. */
static cJSON *service_port(const char *name, long long port, const char *protocol)
{
	cJSON *p = cJSON_CreateObject();
	if (given(name))
		cJSON_AddStringToObject(p, "name", name);
	if (given(protocol))
		cJSON_AddStringToObject(p, "protocol", protocol);
	cJSON_AddNumberToObject(p, "port", int32_of(port));
	return p;
}

/* Find "PORT/" entries of a "80/TCP,53/UDP" protocol list, in order. */
static kx_err check_protocols(const char *protocols, struct kx_errbuf *eb)
{
	const char *p = protocols;
	while (p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *slash = memchr(p, '/', len);
		const char *slash2 = slash ? memchr(slash + 1, '/', len - (size_t)(slash + 1 - p)) : NULL;
		if (!slash || slash2)
			return kx__fail(eb, KX_ERR_INVALID, "unexpected port protocol mapping: %.*s", (int)len, p);
		if (slash == p)
			return kx__fail(eb, KX_ERR_INVALID, "unexpected empty port");
		if (slash + 1 == p + len)
			return kx__fail(eb, KX_ERR_INVALID, "unexpected empty protocol");
		p = end ? end + 1 : NULL;
	}
	return KX_OK;
}

/* The protocols listed for one port string, in order, each as a pointer into
 * the list and its length. Returns how many. */
static size_t protocols_of(const char *protocols, const char *port, const char **pr, size_t *plen,
			   size_t max)
{
	size_t n = 0, pl = strlen(port);
	for (const char *p = protocols; p && n < max;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *slash = memchr(p, '/', len);
		if (slash && (size_t)(slash - p) == pl && !memcmp(p, port, pl)) {
			pr[n] = slash + 1;
			plen[n++] = len - pl - 1;
		}
		p = end ? end + 1 : NULL;
	}
	return n;
}

static kx_err add_ports(const struct kx_service_spec *s, cJSON *ports, struct kx_errbuf *eb)
{
	int have_map = given(s->protocols);
	if (have_map) {
		kx_err err = check_protocols(s->protocols, eb);
		if (err)
			return err;
	}
	size_t count = 1;
	for (const char *c = s->ports; *c; c++)
		count += *c == ',';
	char *copy = strdup(s->ports);
	if (!copy)
		return KX_ERR_NOMEM;
	kx_err err = KX_OK;
	size_t i = 0;
	for (char *p = copy, *next; !err && p; p = next, i++) {
		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		long long port;
		if ((err = go_atoi(p, &port, eb)))
			break;
		char name[48] = "";
		if (count > 1)
			snprintf(name, sizeof name, "port-%zu", i + 1);
		char protocol[64] = "TCP";
		if (given(s->protocol))
			snprintf(protocol, sizeof protocol, "%s", s->protocol);
		else if (have_map) {
			const char *pr[16];
			size_t plen[16];
			size_t np = protocols_of(s->protocols, p, pr, plen, 16);
			if (np == 1) {
				snprintf(protocol, sizeof protocol, "%.*s", (int)plen[0], pr[0]);
			} else if (np > 1) {
				/* one port carrying several protocols: one entry each */
				for (size_t k = 0; k < np; k++) {
					char pname[96], proto[64];
					snprintf(proto, sizeof proto, "%.*s", (int)plen[k], pr[k]);
					snprintf(pname, sizeof pname, "port-%zu-", i + 1);
					size_t l = strlen(pname);
					for (size_t c = 0; proto[c] && l + 1 < sizeof pname; c++)
						pname[l++] = (char)tolower((unsigned char)proto[c]);
					pname[l] = '\0';
					cJSON_AddItemToArray(ports, service_port(pname, port, proto));
				}
				continue;
			}
		}
		cJSON_AddItemToArray(ports, service_port(name, port, protocol));
	}
	free(copy);
	return err;
}

/* kx+: --node-port values, in port order. */
static kx_err add_node_ports(const char *list, cJSON *ports, struct kx_errbuf *eb)
{
	cJSON *p = ports->child;
	for (const char *v = list; v; p = p ? p->next : NULL) {
		const char *end = strchr(v, ',');
		char one[32];
		snprintf(one, sizeof one, "%.*s", (int)(end ? (size_t)(end - v) : strlen(v)), v);
		char *stop;
		errno = 0;
		long n = strtol(one, &stop, 10);
		if (!one[0] || *stop || errno || n < 1 || n > 65535)
			return kx__fail(eb, KX_ERR_INVALID, "invalid --node-port %s: must be between 1 and 65535, inclusive", one);
		if (!p)
			return kx__fail(eb, KX_ERR_INVALID, "--node-port lists more ports than the service has (%d)",
					cJSON_GetArraySize(ports));
		cJSON_AddNumberToObject(p, "nodePort", (double)n);
		v = end ? end + 1 : NULL;
	}
	return KX_OK;
}

kx_err kx_service_build(const struct kx_service_spec *s, cJSON **out, struct kx_errbuf *eb)
{
	*out = NULL;
	if (!given(s->selector))
		return kx__fail(eb, KX_ERR_INVALID, "selector must be specified");
	cJSON *selector = NULL, *labels = NULL, *svc = NULL;
	kx_err err = parse_labels(s->selector, &selector, eb);
	if (!err && given(s->labels))
		err = parse_labels(s->labels, &labels, eb);
	if (!err && !given(s->name))
		err = kx__fail(eb, KX_ERR_INVALID, "name must be specified");
	if (err)
		goto out;
	cJSON *meta;
	svc = object_head("Service", "v1", s->name, s->namespace_, &meta);
	if (labels)
		cJSON_AddItemToObject(meta, "labels", labels);
	labels = NULL;
	cJSON *spec = cJSON_AddObjectToObject(svc, "spec");
	if (given(s->ports)) {
		cJSON *ports = cJSON_AddArrayToObject(spec, "ports");
		if ((err = add_ports(s, ports, eb)))
			goto out;
		const cJSON *p;
		cJSON_ArrayForEach(p, ports) {
			cJSON *target = given(s->target_port) ? intstr(s->target_port)
							      : cJSON_CreateNumber(cJSON_GetNumberValue(kx_json_get(p, "port")));
			cJSON_AddItemToObject((cJSON *)p, "targetPort", target);
		}
		if (given(s->node_ports) && (err = add_node_ports(s->node_ports, ports, eb)))
			goto out;
	} else if (given(s->node_ports)) {
		err = kx__fail(eb, KX_ERR_INVALID, "--node-port needs a port to go with");
		goto out;
	}
	cJSON_AddItemToObject(spec, "selector", selector);
	selector = NULL;
	if (given(s->cluster_ip))
		cJSON_AddStringToObject(spec, "clusterIP", s->cluster_ip);
	if (given(s->type))
		cJSON_AddStringToObject(spec, "type", s->type);
	if (given(s->external_ip))
		cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "externalIPs"),
				     cJSON_CreateString(s->external_ip));
	if (given(s->session_affinity)) {
		if (strcmp(s->session_affinity, "None") && strcmp(s->session_affinity, "ClientIP")) {
			err = kx__fail(eb, KX_ERR_INVALID, "unknown session affinity: %s", s->session_affinity);
			goto out;
		}
		cJSON_AddStringToObject(spec, "sessionAffinity", s->session_affinity);
	}
	if (given(s->type) && !strcmp(s->type, "LoadBalancer") && given(s->load_balancer_ip))
		cJSON_AddStringToObject(spec, "loadBalancerIP", s->load_balancer_ip);
	add_status(svc);
	*out = svc;
	svc = NULL;
out:
	cJSON_Delete(selector);
	cJSON_Delete(labels);
	cJSON_Delete(svc);
	return err;
}

/* ------------------------------------------------------------ introspection */

static kx_err append_map(struct kx_buf *b, const cJSON *map)
{
	const cJSON *kv;
	kx_err err = KX_OK;
	cJSON_ArrayForEach(kv, map) {
		if (!cJSON_IsString(kv))
			continue;
		err = kx_buf_printf(b, "%s%s=%s", b->len ? "," : "", kv->string, kv->valuestring);
		if (err)
			break;
	}
	return err;
}

static char *map_string(const cJSON *map, kx_err *err)
{
	struct kx_buf b = KX_BUF_INIT(0);
	if (!*err)
		*err = append_map(&b, map);
	if (!*err)
		*err = kx_buf_appends(&b, "");
	char *s = *err ? NULL : kx_buf_steal(&b);
	kx_buf_free(&b);
	if (!*err && !s)
		s = strdup("");
	if (!s && !*err)
		*err = KX_ERR_NOMEM;
	return s;
}

/* Go's %+v of []LabelSelectorRequirement. */
static void expressions_text(const cJSON *exprs, char *out, size_t n)
{
	struct kx_buf b = KX_BUF_INIT(4096);
	kx_buf_appends(&b, "[");
	const cJSON *e;
	int first = 1;
	cJSON_ArrayForEach(e, exprs) {
		const char *k = kx_json_str(e, "key"), *op = kx_json_str(e, "operator");
		kx_buf_printf(&b, "%s{Key:%s Operator:%s Values:[", first ? "" : " ", k ? k : "", op ? op : "");
		const cJSON *v;
		int vf = 1;
		cJSON_ArrayForEach(v, kx_json_get(e, "values")) {
			kx_buf_printf(&b, "%s%s", vf ? "" : " ", cJSON_IsString(v) ? v->valuestring : "");
			vf = 0;
		}
		kx_buf_appends(&b, "]}");
		first = 0;
	}
	kx_buf_appends(&b, "]");
	snprintf(out, n, "%.*s", (int)b.len, b.data ? b.data : "");
	kx_buf_free(&b);
}

/* A controller's label selector as a Service selector (map form only). */
static char *label_selector(const cJSON *sel, const char *what, char *why, size_t n, kx_err *err)
{
	const cJSON *ml = kx_json_get(sel, "matchLabels");
	if (!cJSON_IsObject(ml) || !ml->child) {
		snprintf(why, n, "invalid %s: no selectors, therefore cannot be exposed", what);
		return NULL;
	}
	const cJSON *me = kx_json_get(sel, "matchExpressions");
	if (cJSON_IsArray(me) && me->child) {
		char text[160];
		expressions_text(me, text, sizeof text);
		snprintf(why, n, "couldn't convert expressions - \"%.160s\" to map-based selector format", text);
		return NULL;
	}
	return map_string(ml, err);
}

/* One port of the object: its number once in ports (kubectl keeps each number
 * once), every number/protocol pair in protocols. */
static kx_err add_port(struct kx_buf *ports, struct kx_buf *protocols, int num, const char *proto,
		       size_t *nports)
{
	char n[16];
	snprintf(n, sizeof n, "%d", num);
	int seen = 0;
	size_t nl = strlen(n);
	for (const char *p = ports->data; p && *p && !seen;) {
		const char *end = strchr(p, ',');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		seen = l == nl && !memcmp(p, n, l);
		p = end ? end + 1 : NULL;
	}
	kx_err err = KX_OK;
	if (!seen) {
		err = kx_buf_printf(ports, "%s%s", ports->len ? "," : "", n);
		(*nports)++;
	}
	return err ? err : kx_buf_printf(protocols, "%s%s/%s", protocols->len ? "," : "", n,
					 proto && *proto ? proto : "TCP");
}

kx_err kx_expose_inspect(const cJSON *obj, struct kx_expose_source *out, struct kx_errbuf *eb)
{
	memset(out, 0, sizeof *out);
	const char *kind = kx_json_str(obj, "kind");
	kind = kind ? kind : "";
	const cJSON *spec = kx_json_get(obj, "spec"), *pod_spec = NULL;
	const cJSON *meta = kx_json_get(obj, "metadata");
	kx_err err = KX_OK;
	char *why = out->selector_error;
	size_t wn = sizeof out->selector_error;
	if (!strcmp(kind, "Pod")) {
		pod_spec = spec;
		const cJSON *l = kx_json_get(meta, "labels");
		if (!cJSON_IsObject(l) || !l->child)
			snprintf(why, wn, "the pod has no labels and cannot be exposed");
		else
			out->selector = map_string(l, &err);
	} else if (!strcmp(kind, "Service")) {
		const cJSON *sel = kx_json_get(spec, "selector");
		if (!cJSON_IsObject(sel))
			snprintf(why, wn, "the service has no pod selector set");
		else
			out->selector = map_string(sel, &err);
	} else if (!strcmp(kind, "ReplicationController")) {
		pod_spec = kx_json_get(kx_json_get(spec, "template"), "spec");
		out->selector = map_string(kx_json_get(spec, "selector"), &err);
	} else if (!strcmp(kind, "Deployment") || !strcmp(kind, "ReplicaSet") ||
		   !strcmp(kind, "StatefulSet")) {
		char what[32];
		snprintf(what, sizeof what, "%s", kind);
		for (char *c = what; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		pod_spec = kx_json_get(kx_json_get(spec, "template"), "spec");
		out->selector = label_selector(kx_json_get(spec, "selector"), what, why, wn, &err);
	} else {
		return kx__fail(eb, KX_ERR_INVALID, "cannot expose a %s", kind[0] ? kind : "object without a kind");
	}
	struct kx_buf ports = KX_BUF_INIT(0), protocols = KX_BUF_INIT(0);
	if (!err)
		err = kx_buf_appends(&ports, "");
	if (!err)
		err = kx_buf_appends(&protocols, "");
	const cJSON *list = pod_spec ? NULL : kx_json_get(spec, "ports");
	const cJSON *c, *p;
	if (pod_spec) {
		cJSON_ArrayForEach(c, kx_json_get(pod_spec, "containers")) {
			cJSON_ArrayForEach(p, kx_json_get(c, "ports")) {
				const char *proto = kx_json_str(p, "protocol");
				int num = (int)cJSON_GetNumberValue(kx_json_get(p, "containerPort"));
				err = err ? err : add_port(&ports, &protocols, num, proto, &out->nports);
			}
		}
	} else {
		cJSON_ArrayForEach(p, list) {
			const char *proto = kx_json_str(p, "protocol");
			int num = (int)cJSON_GetNumberValue(kx_json_get(p, "port"));
			err = err ? err : add_port(&ports, &protocols, num, proto, &out->nports);
		}
	}
	const cJSON *labels = kx_json_get(meta, "labels");
	out->labels = map_string(cJSON_IsObject(labels) ? labels : NULL, &err);
	out->ports = err ? NULL : kx_buf_steal(&ports);
	out->protocols = err ? NULL : kx_buf_steal(&protocols);
	kx_buf_free(&ports);
	kx_buf_free(&protocols);
	if (!err && (!out->ports || !out->protocols))
		err = KX_ERR_NOMEM;
	if (err) {
		kx_expose_source_free(out);
		return kx__fail(eb, err, "out of memory");
	}
	return KX_OK;
}

void kx_expose_source_free(struct kx_expose_source *s)
{
	if (!s)
		return;
	free(s->selector);
	free(s->labels);
	free(s->ports);
	free(s->protocols);
	s->selector = s->labels = s->ports = s->protocols = NULL;
}

/* ------------------------------------------------------------ create service */

/* strconv.ParseUint(s, 10, 16), as net.ParsePort(s, true) calls it. */
static kx_err parse_port16(const char *s, long *v, struct kx_errbuf *eb)
{
	char q[200];
	quoted(q, sizeof q, s);
	if (!*s)
		return kx__fail(eb, KX_ERR_INVALID, "strconv.ParseUint: parsing %s: invalid syntax", q);
	for (const char *d = s; *d; d++)
		if (!isdigit((unsigned char)*d))
			return kx__fail(eb, KX_ERR_INVALID, "strconv.ParseUint: parsing %s: invalid syntax", q);
	errno = 0;
	unsigned long long n = strtoull(s, NULL, 10);
	if (errno == ERANGE || n > 65535)
		return kx__fail(eb, KX_ERR_INVALID, "strconv.ParseUint: parsing %s: value out of range", q);
	*v = (long)n;
	return KX_OK;
}

/* validation.IsValidPortName: the messages joined with ",". */
static kx_err check_port_name(const char *s, struct kx_errbuf *eb)
{
	char msg[512] = "";
	size_t len = strlen(s);
	int letter = 0, charset = len > 0;
	for (const char *c = s; *c; c++) {
		if (*c >= 'a' && *c <= 'z')
			letter = 1;
		else if (!(*c >= '0' && *c <= '9') && *c != '-')
			charset = 0;
	}
#define ADD(m) snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%s%s", msg[0] ? "," : "", (m))
	if (len > 15)
		ADD("must be no more than 15 characters");
	if (!charset)
		ADD("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
	if (!letter)
		ADD("must contain at least one letter (a-z)");
	if (strstr(s, "--"))
		ADD("must not contain consecutive hyphens (--)");
	if (len && (s[0] == '-' || s[len - 1] == '-'))
		ADD("must not begin or end with a hyphen (-)");
#undef ADD
	return msg[0] ? kx__fail(eb, KX_ERR_INVALID, "%s", msg) : KX_OK;
}

/* validation.IsDNS1123Subdomain */
static int dns1123_subdomain(const char *s)
{
	size_t len = strlen(s);
	if (!len || len > 253)
		return 0;
	int start = 1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (c == '.') {
			if (start || s[i - 1] == '-')
				return 0;
			start = 1;
		} else if (c == '-') {
			if (start)
				return 0;
		} else if (alnum) {
			start = 0;
		} else {
			return 0;
		}
	}
	return !start && s[len - 1] != '-';
}

kx_err kx_create_service_build(const struct kx_create_service_spec *s, cJSON **out,
			       struct kx_errbuf *eb)
{
	*out = NULL;
	int headless = given(s->cluster_ip) && !strcmp(s->cluster_ip, "None");
	int external = !strcmp(s->type, "ExternalName");
	if (headless && strcmp(s->type, "ClusterIP"))
		return kx__fail(eb, KX_ERR_INVALID, "ClusterIP=None can only be used with ClusterIP service type");
	if (!headless && !s->ntcp && !external)
		return kx__fail(eb, KX_ERR_INVALID, "at least one tcp port specifier must be provided");
	if (external && !dns1123_subdomain(s->external_name ? s->external_name : ""))
		return kx__fail(eb, KX_ERR_INVALID, "invalid service external name %s",
				s->external_name ? s->external_name : "");
	cJSON *meta, *svc = object_head("Service", "v1", s->name, s->namespace_, &meta);
	kx_err err = KX_OK;
	cJSON *spec = NULL;
	if ((err = kx_json_map_set(cJSON_AddObjectToObject(meta, "labels"), "app", s->name)))
		goto out;
	spec = cJSON_AddObjectToObject(svc, "spec");
	cJSON *ports = s->ntcp ? cJSON_AddArrayToObject(spec, "ports") : NULL;
	for (size_t i = 0; i < s->ntcp; i++) {
		const char *t = s->tcp[i];
		const char *colon = strchr(t, ':');
		char first[64], second[64] = "", name[160];
		snprintf(first, sizeof first, "%.*s", (int)(colon ? (size_t)(colon - t) : strlen(t)), t);
		long port = 0;
		if ((err = parse_port16(first, &port, eb)))
			goto out;
		cJSON *target;
		if (colon) {
			const char *end = strchr(colon + 1, ':');
			snprintf(second, sizeof second, "%.*s",
				 (int)(end ? (size_t)(end - colon - 1) : strlen(colon + 1)), colon + 1);
			long long num;
			if (go_atoi(second, &num, NULL) != KX_OK) {
				if ((err = check_port_name(second, eb)))
					goto out;
				target = cJSON_CreateString(second);
			} else {
				if (num < 1 || num > 65535) {
					err = kx__fail(eb, KX_ERR_INVALID, "must be between 1 and 65535, inclusive");
					goto out;
				}
				target = cJSON_CreateNumber((double)num);
			}
		} else {
			target = cJSON_CreateNumber((double)port);
		}
		size_t l = 0;
		for (const char *c = t; *c && l + 1 < sizeof name; c++)
			name[l++] = *c == ':' ? '-' : *c;
		name[l] = '\0';
		cJSON *p = service_port(name, port, "TCP");
		cJSON_AddItemToObject(p, "targetPort", target);
		if (s->node_port)
			cJSON_AddNumberToObject(p, "nodePort", (double)int32_of(s->node_port));
		cJSON_AddItemToArray(ports, p);
	}
	if ((err = kx_json_map_set(cJSON_AddObjectToObject(spec, "selector"), "app", s->name)))
		goto out;
	if (given(s->cluster_ip))
		cJSON_AddStringToObject(spec, "clusterIP", s->cluster_ip);
	cJSON_AddStringToObject(spec, "type", s->type);
	if (given(s->external_name))
		cJSON_AddStringToObject(spec, "externalName", s->external_name);
	add_status(svc);
	*out = svc;
	return KX_OK;
out:
	cJSON_Delete(svc);
	return err;
}
