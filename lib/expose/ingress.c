/* SPDX-License-Identifier: Apache-2.0 */
/* Ingresses from `create ingress` arguments, with kubectl's rule grammar (its
 * Go regexp, run here by PCRE2: same language, ASCII \w), its merging of rules
 * per host, its TLS entries and its messages. */
#include <kx/expose.h>
#include "internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* kubectl's regexHostPathSvc + regexTLS; not anchored at the end, as there. */
static const char rule_pattern[] =
	"^(?P<host>[\\w\\*\\-\\.]*)(?P<path>/.*)=(?P<svcname>[\\w\\-]+):(?P<svcport>[\\w\\-]+)"
	"(,(?P<istls>tls)=?(?P<secretname>[\\w\\-]+)?)?";

static const char rule_format[] = "host/path=svcname:svcport[,tls[=secret]]";

static int rule_matches(const char *rule)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)rule_pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
	if (!re)
		return -1;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc = md ? pcre2_match(re, (PCRE2_SPTR)rule, strlen(rule), 0, 0, md, NULL) : -1;
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc >= 0;
}

/* The part of a rule kubectl builds its path from: between the first '/' and
 * the first ',' (nothing of it is checked beyond the regexp). */
static void rule_parts(const char *rule, const char **host_end, const char **rest, const char **rest_end)
{
	const char *comma = strchr(rule, ',');
	*rest_end = comma ? comma : rule + strlen(rule);
	*host_end = strchr(rule, '/');
	*rest = *host_end ? *host_end + 1 : *rest_end;
}

kx_err kx_ingress_rule_check(const char *rule, struct kx_errbuf *eb)
{
	int m = rule_matches(rule);
	if (m < 0)
		return kx__fail(eb, KX_ERR_INVALID, "failed to compile the regex");
	/* kubectl accepts, then indexes past the end (and panics), when the part
	 * before the first ',' has no "=svc:port": refuse those as invalid too. */
	if (m) {
		const char *host_end, *rest, *end;
		rule_parts(rule, &host_end, &rest, &end);
		const char *eq = host_end ? memchr(rest, '=', (size_t)(end - rest)) : NULL;
		const char *eq2 = eq ? memchr(eq + 1, '=', (size_t)(end - eq - 1)) : NULL;
		const char *svc_end = eq2 ? eq2 : end;
		if (eq && memchr(eq + 1, ':', (size_t)(svc_end - eq - 1)))
			return KX_OK;
	}
	return kx__fail(eb, KX_ERR_INVALID, "rule %s is invalid and should be in format %s", rule, rule_format);
}

/* {"service": {"name": N, "port": {"number": P} | {"name": P}}} from "svc:port"
 * (kubectl splits on ':' and keeps the first two parts). */
static cJSON *backend(const char *svc, size_t len)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), svc);
	char *colon = strchr(buf, ':');
	char *port = colon ? colon + 1 : buf + strlen(buf);
	if (colon)
		*colon = '\0';
	char *colon2 = strchr(port, ':');
	if (colon2)
		*colon2 = '\0';
	cJSON *b = cJSON_CreateObject(), *s = cJSON_AddObjectToObject(b, "service");
	cJSON_AddStringToObject(s, "name", buf);
	cJSON *p = cJSON_AddObjectToObject(s, "port");
	/* intstr.Parse: a number when Atoi takes it (omitted when 0, as omitempty) */
	const char *d = port + (*port == '+' || *port == '-');
	int numeric = *d != '\0';
	for (; *d; d++)
		numeric = numeric && *d >= '0' && *d <= '9';
	if (numeric) {
		long long v = strtoll(port, NULL, 10);
		int n = (int)(unsigned)(unsigned long long)v;
		if (n)
			cJSON_AddNumberToObject(p, "number", n);
	} else if (*port) {
		cJSON_AddStringToObject(p, "name", port);
	}
	return b;
}

static cJSON *find_rule(cJSON *rules, const char *host)
{
	cJSON *r;
	cJSON_ArrayForEach(r, rules) {
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "host");
		if (!strcmp(cJSON_IsString(h) ? h->valuestring : "", host))
			return r;
	}
	return NULL;
}

static void add_rule(cJSON *rules, const char *rule)
{
	const char *host_end, *rest, *end;
	rule_parts(rule, &host_end, &rest, &end);
	char host[512];
	snprintf(host, sizeof host, "%.*s", (int)(host_end - rule), rule);
	const char *eq = memchr(rest, '=', (size_t)(end - rest));
	const char *eq2 = memchr(eq + 1, '=', (size_t)(end - eq - 1));
	const char *svc_end = eq2 ? eq2 : end;

	cJSON *path = cJSON_CreateObject();
	size_t plen = (size_t)(eq - rest);
	int prefix = plen ? rest[plen - 1] == '*' : 0;
	if (prefix)
		plen--;
	char *p = malloc(plen + 2);
	if (p) {
		p[0] = '/';
		memcpy(p + 1, rest, plen);
		p[plen + 1] = '\0';
		cJSON_AddStringToObject(path, "path", p);
		free(p);
	}
	cJSON_AddStringToObject(path, "pathType", prefix ? "Prefix" : "Exact");
	cJSON_AddItemToObject(path, "backend", backend(eq + 1, (size_t)(svc_end - eq - 1)));

	cJSON *r = find_rule(rules, host);
	if (!r) {
		r = cJSON_CreateObject();
		if (host[0])
			cJSON_AddStringToObject(r, "host", host);
		cJSON_AddArrayToObject(cJSON_AddObjectToObject(r, "http"), "paths");
		cJSON_AddItemToArray(rules, r);
	}
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "http"), "paths"),
			     path);
}

struct tls_entry {
	cJSON *hosts; /* array, possibly empty */
	char secret[512];
};

/* kubectl's buildTLSRules: a rule with exactly one ',' asks for TLS; entries
 * are shared by secret name (hosts-only entries share the empty name); a host
 * is listed once. */
static cJSON *build_tls(const struct kx_ingress_spec *s)
{
	struct tls_entry *e = calloc(s->nrules ? s->nrules : 1, sizeof *e);
	char **seen = calloc(s->nrules ? s->nrules : 1, sizeof *seen);
	size_t ne = 0, nseen = 0;
	cJSON *tls = NULL;
	if (!e || !seen)
		goto out;
	for (size_t i = 0; i < s->nrules; i++) {
		const char *rule = s->rules[i];
		const char *comma = strchr(rule, ',');
		if (!comma || strchr(comma + 1, ','))
			continue;
		const char *slash = strchr(rule, '/');
		size_t hl = slash ? (size_t)(slash - rule) : strlen(rule);
		char host[512], secret[512] = "";
		snprintf(host, sizeof host, "%.*s", (int)hl, rule);
		const char *eq = strchr(comma + 1, '=');
		if (eq) {
			const char *eq2 = strchr(eq + 1, '=');
			snprintf(secret, sizeof secret, "%.*s", (int)(eq2 ? (size_t)(eq2 - eq - 1) : strlen(eq + 1)),
				 eq + 1);
		}
		int present = 0;
		for (size_t k = 0; k < nseen && !present; k++)
			present = !strcmp(seen[k], host);
		if (present)
			continue;
		seen[nseen++] = strdup(host);
		size_t idx = ne;
		for (size_t k = 0; k < ne && idx == ne; k++)
			if (!strcmp(e[k].secret, secret))
				idx = k;
		if (idx < ne) {
			cJSON_AddItemToArray(e[idx].hosts, cJSON_CreateString(host));
			continue;
		}
		if (!host[0] && !secret[0])
			continue;
		e[ne].hosts = cJSON_CreateArray();
		if (host[0])
			cJSON_AddItemToArray(e[ne].hosts, cJSON_CreateString(host));
		snprintf(e[ne].secret, sizeof e[ne].secret, "%s", secret);
		ne++;
	}
	if (ne) {
		tls = cJSON_CreateArray();
		for (size_t k = 0; k < ne; k++) {
			cJSON *t = cJSON_CreateObject();
			if (cJSON_GetArraySize(e[k].hosts))
				cJSON_AddItemToObject(t, "hosts", e[k].hosts);
			else
				cJSON_Delete(e[k].hosts);
			e[k].hosts = NULL;
			if (e[k].secret[0])
				cJSON_AddStringToObject(t, "secretName", e[k].secret);
			cJSON_AddItemToArray(tls, t);
		}
	}
out:
	for (size_t k = 0; e && k < ne; k++)
		cJSON_Delete(e[k].hosts);
	for (size_t k = 0; seen && k < nseen; k++)
		free(seen[k]);
	free(seen);
	free(e);
	return tls;
}

kx_err kx_ingress_build(const struct kx_ingress_spec *s, cJSON **out, struct kx_errbuf *eb)
{
	*out = NULL;
	int have_backend = s->default_backend && *s->default_backend;
	if (!have_backend && !s->nrules)
		return kx__fail(eb, KX_ERR_INVALID,
				"not enough information provided: every ingress has to either specify a "
				"default-backend (which catches all traffic) or a list of rules (which "
				"catch specific paths)");
	for (size_t i = 0; i < s->nrules; i++) {
		kx_err err = kx_ingress_rule_check(s->rules[i], eb);
		if (err)
			return err;
	}
	for (size_t i = 0; i < s->nannotations; i++)
		if (!strchr(s->annotations[i], '='))
			return kx__fail(eb, KX_ERR_INVALID, "annotation %s is invalid and should be in format key=[value]",
					s->annotations[i]);
	if (have_backend) {
		const char *c = strchr(s->default_backend, ':');
		if (!c || strchr(c + 1, ':'))
			return kx__fail(eb, KX_ERR_INVALID, "default-backend should be in format servicename:serviceport");
	}

	cJSON *ing = cJSON_CreateObject();
	cJSON_AddStringToObject(ing, "kind", "Ingress");
	cJSON_AddStringToObject(ing, "apiVersion", "networking.k8s.io/v1");
	cJSON *meta = cJSON_AddObjectToObject(ing, "metadata");
	cJSON_AddStringToObject(meta, "name", s->name ? s->name : "");
	if (s->namespace_ && *s->namespace_)
		cJSON_AddStringToObject(meta, "namespace", s->namespace_);
	/* no "creationTimestamp": null — kubectl 1.34 leaves the zero time out */
	kx_err err = KX_OK;
	if (s->nannotations) {
		cJSON *ann = cJSON_AddObjectToObject(meta, "annotations");
		for (size_t i = 0; i < s->nannotations && !err; i++) {
			const char *a = s->annotations[i], *eq = strchr(a, '=');
			char key[512];
			snprintf(key, sizeof key, "%.*s", (int)(eq - a), a);
			err = kx_json_map_set(ann, key, eq + 1);
		}
	}
	cJSON *spec = cJSON_AddObjectToObject(ing, "spec");
	if (s->ingress_class && *s->ingress_class)
		cJSON_AddStringToObject(spec, "ingressClassName", s->ingress_class);
	if (have_backend)
		cJSON_AddItemToObject(spec, "defaultBackend",
				      backend(s->default_backend, strlen(s->default_backend)));
	cJSON *tls = build_tls(s);
	if (tls)
		cJSON_AddItemToObject(spec, "tls", tls);
	if (s->nrules) {
		cJSON *rules = cJSON_AddArrayToObject(spec, "rules");
		for (size_t i = 0; i < s->nrules; i++)
			add_rule(rules, s->rules[i]);
	}
	cJSON_AddObjectToObject(cJSON_AddObjectToObject(ing, "status"), "loadBalancer");
	if (err) {
		cJSON_Delete(ing);
		return kx__fail(eb, err, "out of memory");
	}
	*out = ing;
	return KX_OK;
}
