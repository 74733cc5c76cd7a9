/* SPDX-License-Identifier: Apache-2.0 */
/* From a merged kubeconfig to the settings for one cluster and user, with kubectl's
 * rules: context selection, the global flags as overrides, client-go's validation and
 * wording, TLS material read into memory, and the in-cluster service account. */
#include <kx/config.h>
#include "internal.h"
#include "base64.h"
#include "fsutil.h"
#include "kubeconfig_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The service account directory of a pod. KX_SERVICEACCOUNT_DIR replaces it — for
 * tests only, so the in-cluster path can run outside a pod. */
#define SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

#define TIMEOUT_MSG                                                                               \
	"Invalid timeout value. Timeout must be a single integer in seconds, or an integer "   \
	"followed by a corresponding time unit (e.g. 1s | 2m | 3h)"

static const char *nz(const char *s)
{
	return s && *s ? s : NULL;
}

/* A non-empty string member of a normalized object, or NULL. */
/* A non-empty string member (client-go treats "" as unset), else NULL. */
static const char *str_of(const cJSON *obj, const char *key)
{
	return nz(kx_json_str(obj, key));
}

static int bool_of(const cJSON *obj, const char *key)
{
	return cJSON_IsTrue(kx_json_get(obj, key));
}

/* ------------------------------------------------ allocations owned by cfg */

static void *keep(struct kx_config *cfg, void *p, size_t len, int secret)
{
	if (!p)
		return NULL;
	if (cfg->n_allocs == cfg->cap_allocs) {
		size_t cap = cfg->cap_allocs ? cfg->cap_allocs * 2 : 32;
		struct kx__kc_alloc *a = realloc(cfg->allocs, cap * sizeof *a);
		if (!a) {
			if (secret)
				kx__memzero(p, len);
			free(p);
			return NULL;
		}
		cfg->allocs = a;
		cfg->cap_allocs = cap;
	}
	cfg->allocs[cfg->n_allocs++] = (struct kx__kc_alloc){p, len, secret};
	return p;
}

/* A copy of s owned by cfg; *ok drops to 0 when memory runs out. NULL stays NULL. */
static const char *keep_str(struct kx_config *cfg, const char *s, int secret, int *ok)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *c = keep(cfg, kx__strdup(s), n, secret);
	if (!c)
		*ok = 0;
	return c;
}

/* ------------------------------------------------------------- timeouts */

/* Go's time.ParseDuration, in nanoseconds. */
static int go_parse_duration(const char *s, int64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {
		{"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000},
		{"ms", 1000000}, {"s", 1000000000ull}, {"m", 60000000000ull}, {"h", 3600000000000ull},
	};
	int neg = 0;
	uint64_t d = 0;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*out = 0;
		return 1;
	}
	if (!*s)
		return 0;
	while (*s) {
		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return 0;
		uint64_t v = 0, f = 0, scale = 1;
		const char *st = s;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (v > (UINT64_MAX - 9) / 10 || v * 10 + (uint64_t)(*s - '0') > (1ull << 63))
				return 0;
			v = v * 10 + (uint64_t)(*s - '0');
		}
		int pre = s != st, post = 0;
		if (*s == '.') {
			s++;
			const char *fs = s;
			for (; *s >= '0' && *s <= '9'; s++) {
				if (scale <= UINT64_MAX / 100) { /* excess digits only lose precision */
					f = f * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				}
			}
			post = s != fs;
		}
		if (!pre && !post)
			return 0;
		const char *us = s;
		while (*s && *s != '.' && !(*s >= '0' && *s <= '9'))
			s++;
		size_t ul = (size_t)(s - us);
		if (!ul)
			return 0; /* missing unit */
		uint64_t unit = 0;
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
			if (strlen(units[i].unit) == ul && !memcmp(units[i].unit, us, ul))
				unit = units[i].ns;
		if (!unit)
			return 0;
		if (v > (1ull << 63) / unit)
			return 0;
		v *= unit;
		if (f) {
			v += (uint64_t)((long double)f * (long double)unit / (long double)scale);
			if (v > (1ull << 63))
				return 0;
		}
		d += v;
		if (d > (1ull << 63))
			return 0;
	}
	if (!neg && d > (uint64_t)INT64_MAX)
		return 0;
	*out = neg ? (d == (1ull << 63) ? INT64_MIN : -(int64_t)d) : (int64_t)d;
	return 1;
}

/* --request-timeout as client-go's ParseTimeout: whole seconds, or a Go duration.
 * Zero or negative means no timeout; anything shorter than 1ms rounds up to 1ms. */
static int parse_timeout(const char *s, long *ms)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	int digits = *p != '\0';
	for (const char *q = p; *q; q++)
		digits &= *q >= '0' && *q <= '9';
	if (digits && *s != '-') {
		uint64_t v = 0;
		for (; *p; p++) {
			if (v > (uint64_t)INT64_MAX / 10)
				return 0;
			v = v * 10 + (uint64_t)(*p - '0');
		}
		*ms = v > (uint64_t)(LONG_MAX / 1000) ? LONG_MAX : (long)v * 1000;
		return 1;
	}
	int64_t ns;
	if (!go_parse_duration(s, &ns))
		return 0;
	if (ns <= 0)
		*ms = 0;
	else
		*ms = (long)((ns + 999999) / 1000000);
	return 1;
}

/* ------------------------------------------------------------- files */

/* Read a certificate, key or CA file named by the config; client-go's wording
 * ("unable to read client-cert F for U due to open F: no such file or directory"). */
static kx_err read_ref(const struct kx_config *cfg, const char *path, const char *what,
		       const char *owner, char **out, size_t *len, struct kx_errbuf *eb)
{
	const char *op = "open";
	int errnum = 0;
	char eb2[128];
	kx_err err = cfg->read(path, KX_KUBECONFIG_MAX, out, len, &op, &errnum);
	if (err == KX_ERR_NOMEM)
		return kx__fail(eb, err, "out of memory");
	if (err == KX_ERR_TOO_LARGE)
		return kx__fail(eb, err, "unable to read %s %s for %s due to %s: file is larger than %zu bytes",
				what, path, owner, path, KX_KUBECONFIG_MAX);
	if (err)
		return kx__fail(eb, KX_ERR_IO, "unable to read %s %s for %s due to %s %s: %s", what, path,
				owner, op, path, kx__errno_text(errnum, eb2, sizeof eb2));
	return KX_OK;
}

/* Decode a -data field (already checked when loading). */
static kx_err decode_ref(const char *b64, char **out, size_t *len, struct kx_errbuf *eb)
{
	size_t bad;
	kx_err err = kx__b64_decode(b64, strlen(b64), out, len, &bad);
	if (err)
		return kx__fail(eb, err, err == KX_ERR_NOMEM ? "out of memory" : "invalid base64 data");
	return KX_OK;
}

/* PEM material from a file or -data field into cfg; secrets are zeroed on free. */
static kx_err load_pem(struct kx_config *cfg, const char *file, const char *data, const char *what,
		       const char *owner, int secret, const char **pem, size_t *pem_len,
		       struct kx_errbuf *eb)
{
	char *buf = NULL;
	size_t len = 0;
	kx_err err = KX_OK;
	*pem = NULL;
	*pem_len = 0;
	if (data)
		err = decode_ref(data, &buf, &len, eb);
	else if (file)
		err = read_ref(cfg, file, what, owner, &buf, &len, eb);
	else
		return KX_OK;
	if (err)
		return err;
	if (!keep(cfg, buf, len, secret))
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	*pem = buf;
	*pem_len = len;
	return KX_OK;
}

/* --------------------------------------------------------------- exec */

/* client-go's cleanANSIEscapeCodes: control characters other than \t..\r become "U+001B",
 * so an install hint cannot drive the terminal. */
static char *clean_hint(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(n * 6 + 1), *w = o;
	if (!o)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned c = *p;
		if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) { /* C1 controls */
			w += sprintf(w, "U+%04X", (unsigned)p[1]);
			p++;
		} else if ((c < 0x20 && !(c >= '\t' && c <= '\r')) || c == 0x7f) {
			w += sprintf(w, "U+%04X", c);
		} else {
			*w++ = (char)c;
		}
	}
	*w = '\0';
	return o;
}

static kx_err build_exec(struct kx_config *cfg, const cJSON *ex, const char *dir,
			 struct kx_errbuf *eb)
{
	struct kx_exec_config *e = &cfg->exec;
	int ok = 1;
	const char *cmd = str_of(ex, "command");
	e->api_version = keep_str(cfg, str_of(ex, "apiVersion"), 0, &ok);
	if (cmd && strchr(cmd, '/') && cmd[0] != '/')
		e->command = keep(cfg, kx__path_join(dir, cmd), 0, 0);
	else
		e->command = keep_str(cfg, cmd, 0, &ok);
	ok = ok && e->command;
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(ex, "args");
	size_t na = (size_t)cJSON_GetArraySize(args), i = 0;
	const char **av = keep(cfg, calloc(na + 1, sizeof *av), 0, 0);
	ok = ok && av;
	for (const cJSON *a = cJSON_IsArray(args) ? args->child : NULL; ok && a; a = a->next)
		av[i++] = keep_str(cfg, a->valuestring, 0, &ok);
	e->args = av;
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(ex, "env");
	size_t ne = (size_t)cJSON_GetArraySize(env);
	struct kx_exec_env *ev = ne ? keep(cfg, calloc(ne, sizeof *ev), 0, 0) : NULL;
	ok = ok && (ev || !ne);
	i = 0;
	for (const cJSON *v = cJSON_IsArray(env) ? env->child : NULL; ok && v; v = v->next, i++) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, "name");
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(v, "value");
		ev[i].name = keep_str(cfg, cJSON_IsString(n) ? n->valuestring : "", 0, &ok);
		ev[i].value = keep_str(cfg, cJSON_IsString(val) ? val->valuestring : "", 1, &ok);
	}
	e->env = ev;
	e->n_env = ne;
	const char *hint = str_of(ex, "installHint");
	if (hint && ok)
		ok = (e->install_hint = keep(cfg, clean_hint(hint), 0, 0)) != NULL;
	e->provide_cluster_info = bool_of(ex, "provideClusterInfo");
	e->interactive_mode = keep_str(cfg, str_of(ex, "interactiveMode"), 0, &ok);
	if (!ok)
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	cfg->rest.exec = e;
	return KX_OK;
}

/* ------------------------------------------------------------ resolving */

/* What was selected: the context, cluster and user objects and their origins. */
struct selection {
	const char *context_name, *cluster_name, *user_name;
	const cJSON *context, *cluster, *user;
	const char *cluster_dir, *user_dir;
	const char *default_namespace;
	int in_cluster;
};

/* client-go's validateAuthInfo, in its order, for the user as overridden. */
static kx_err validate_user(const char *uname, const char *token, const char *username,
			    const char *password, const char *cert_file, const char *cert_data,
			    const char *key_file, const char *key_data, const cJSON *ex,
			    const cJSON *provider, struct kx_errbuf *eb)
{
	if (cert_file || cert_data) {
		if (cert_file && cert_data)
			return kx__fail(eb, KX_ERR_CONFIG,
					"client-cert-data and client-cert are both specified for %s. client-cert-data will override.",
					uname);
		if (key_file && key_data)
			return kx__fail(eb, KX_ERR_CONFIG,
					"client-key-data and client-key are both specified for %s; client-key-data will override",
					uname);
		if (!key_file && !key_data)
			return kx__fail(eb, KX_ERR_CONFIG,
					"client-key-data or client-key must be specified for %s to use the clientCert authentication method.",
					uname);
	}
	if (ex) {
		if (provider)
			return kx__fail(eb, KX_ERR_CONFIG,
					"authProvider cannot be provided in combination with an exec plugin for %s",
					uname);
		if (!str_of(ex, "command"))
			return kx__fail(eb, KX_ERR_CONFIG,
					"command must be specified for %s to use exec authentication plugin",
					uname);
		if (!str_of(ex, "apiVersion"))
			return kx__fail(eb, KX_ERR_CONFIG,
					"apiVersion must be specified for %s to use exec authentication plugin",
					uname);
		const cJSON *env = cJSON_GetObjectItemCaseSensitive(ex, "env");
		for (const cJSON *v = cJSON_IsArray(env) ? env->child : NULL; v; v = v->next)
			if (!str_of(v, "name"))
				return kx__fail(eb, KX_ERR_CONFIG,
						"env variable name must be specified for %s to use exec authentication plugin",
						uname);
		const char *mode = str_of(ex, "interactiveMode");
		if (!mode)
			return kx__fail(eb, KX_ERR_CONFIG,
					"interactiveMode must be specified for %s to use exec authentication plugin",
					uname);
		if (strcmp(mode, "Never") && strcmp(mode, "IfAvailable") && strcmp(mode, "Always"))
			return kx__fail(eb, KX_ERR_CONFIG, "invalid interactiveMode for %s: \"%s\"", uname,
					mode);
	}
	if (token && (username || password))
		return kx__fail(eb, KX_ERR_CONFIG,
				"more than one authentication method found for %s; found [token basicAuth], only one is allowed",
				uname);
	return KX_OK;
}

/* The scheme of a proxy URL as Go's url.Parse sees it, lower-cased; "" when none. */
static void url_scheme(const char *u, char *out, size_t n)
{
	size_t i = 0;
	out[0] = '\0';
	if (!isalpha((unsigned char)u[0]))
		return;
	while (u[i] && (isalnum((unsigned char)u[i]) || u[i] == '+' || u[i] == '-' || u[i] == '.'))
		i++;
	if (u[i] != ':' || i >= n)
		return;
	for (size_t k = 0; k < i; k++)
		out[k] = (char)tolower((unsigned char)u[k]);
	out[i] = '\0';
}

static kx_err build_rest(struct kx_config *cfg, const struct kx_config_overrides *ov,
			 const struct selection *s, struct kx_errbuf *eb)
{
	struct kx_rest_config *r = &cfg->rest;
	const char *uname = s->user_name ? s->user_name : "";
	const char *cname = s->cluster_name ? s->cluster_name : "";
	char *owned[5] = {0}; /* resolved paths, freed at the end */
	kx_err err = KX_OK;
	int ok = 1;
	memset(r, 0, sizeof *r);
	memset(&cfg->exec, 0, sizeof cfg->exec);

	/* The user, overridden field by field as client-go merges ConfigOverrides.AuthInfo. */
	const cJSON *u = s->user;
	const char *token = nz(ov->token) ? ov->token : str_of(u, "token");
	const char *token_file = nz(ov->token) ? NULL : str_of(u, "tokenFile");
	const char *username = nz(ov->username) ? ov->username : str_of(u, "username");
	const char *password = nz(ov->password) ? ov->password : str_of(u, "password");
	const char *cert_file, *cert_data, *key_file, *key_data;
	if (nz(ov->client_certificate)) {
		cert_file = ov->client_certificate;
		cert_data = NULL;
	} else {
		cert_file = owned[0] = kx__path_join(s->user_dir, str_of(u, "client-certificate"));
		cert_data = str_of(u, "client-certificate-data");
	}
	if (nz(ov->client_key)) {
		key_file = ov->client_key;
		key_data = NULL;
	} else {
		key_file = owned[1] = kx__path_join(s->user_dir, str_of(u, "client-key"));
		key_data = str_of(u, "client-key-data");
	}
	if (token_file)
		token_file = owned[2] = kx__path_join(s->user_dir, token_file);
	const cJSON *ex = u ? cJSON_GetObjectItemCaseSensitive(u, "exec") : NULL;
	const cJSON *provider = u ? cJSON_GetObjectItemCaseSensitive(u, "auth-provider") : NULL;
	if ((str_of(u, "client-certificate") && !cert_file && !nz(ov->client_certificate)) ||
	    (str_of(u, "client-key") && !key_file && !nz(ov->client_key)) ||
	    (str_of(u, "tokenFile") && !token_file && !nz(ov->token))) {
		err = kx__fail(eb, KX_ERR_NOMEM, "out of memory");
		goto out;
	}

	/* The cluster, with client-go's special cases for the TLS flags. */
	const cJSON *c = s->cluster;
	const char *server = nz(ov->server) ? ov->server : str_of(c, "server");
	const char *tls_name = nz(ov->tls_server_name) || nz(ov->server) ? nz(ov->tls_server_name)
									 : str_of(c, "tls-server-name");
	int insecure;
	const char *ca_file, *ca_data;
	if (ov->insecure_skip_tls_verify == 1 || nz(ov->certificate_authority)) {
		insecure = ov->insecure_skip_tls_verify == 1;
		ca_file = nz(ov->certificate_authority);
		ca_data = NULL;
	} else {
		/* an explicit --insecure-skip-tls-verify=false turns verification back on */
		insecure = ov->insecure_skip_tls_verify == 0 ? 0 : bool_of(c, "insecure-skip-tls-verify");
		ca_file = owned[3] = kx__path_join(s->cluster_dir, str_of(c, "certificate-authority"));
		if (str_of(c, "certificate-authority") && !ca_file) {
			err = kx__fail(eb, KX_ERR_NOMEM, "out of memory");
			goto out;
		}
		ca_data = str_of(c, "certificate-authority-data");
	}
	const char *proxy = str_of(c, "proxy-url");

	/* Validation in client-go's order: user, then cluster, then the timeout. */
	if ((err = validate_user(uname, token, username, password, cert_file, cert_data, key_file,
				 key_data, ex, provider, eb)))
		goto out;
	if (proxy) {
		char scheme[32];
		url_scheme(proxy, scheme, sizeof scheme);
		if (strcmp(scheme, "http") && strcmp(scheme, "https") && strcmp(scheme, "socks5")) {
			/* the URL itself may carry a password: name the scheme only */
			err = kx__fail(eb, KX_ERR_CONFIG,
				       "invalid 'proxy-url' for cluster \"%s\": unsupported scheme \"%s\", must be http, https, or socks5",
				       cname, scheme);
			goto out;
		}
	}
	if (ca_file && ca_data) {
		err = kx__fail(eb, KX_ERR_CONFIG,
			       "certificate-authority-data and certificate-authority are both specified for %s. certificate-authority-data will override.",
			       cname);
		goto out;
	}
	if (ov->request_timeout && *ov->request_timeout &&
	    !parse_timeout(ov->request_timeout, &r->timeout_ms)) {
		err = kx__fail(eb, KX_ERR_INVALID, TIMEOUT_MSG);
		goto out;
	}
	if (insecure && (ca_file || ca_data)) {
		err = kx__fail(eb, KX_ERR_CONFIG,
			       "specifying a root certificates file with the insecure flag is not allowed");
		goto out;
	}

	/* Files and data into memory: CA, then the client certificate and key. */
	if ((err = load_pem(cfg, ca_file, ca_data, "certificate-authority", cname, 0, &r->ca_pem,
			    &r->ca_len, eb)))
		goto out;
	if (cert_file || cert_data) {
		if ((err = load_pem(cfg, cert_file, cert_data, "client-cert", uname, 0, &r->cert_pem,
				    &r->cert_len, eb)) ||
		    (err = load_pem(cfg, key_file, key_data, "client-key", uname, 1, &r->key_pem,
				    &r->key_len, eb)))
			goto out;
	}

	r->context_name = keep_str(cfg, s->context_name ? s->context_name : "", 0, &ok);
	r->cluster_name = keep_str(cfg, cname, 0, &ok);
	r->user_name = keep_str(cfg, uname, 0, &ok);
	r->server = keep_str(cfg, server, 0, &ok);
	if (nz(ov->namespace_)) {
		r->namespace_ = keep_str(cfg, ov->namespace_, 0, &ok);
		r->namespace_from_flag = 1;
	} else {
		const char *ns = str_of(s->context, "namespace");
		r->namespace_ = keep_str(cfg, ns ? ns : s->default_namespace, 0, &ok);
	}
	r->insecure_skip_tls_verify = insecure;
	r->tls_server_name = keep_str(cfg, tls_name, 0, &ok);
	r->proxy_url = keep_str(cfg, proxy, 1, &ok);
	r->in_cluster = s->in_cluster;

	/* client-go only identifies the user over TLS: no credentials for http:// servers. */
	if (!strncasecmp(server, "http://", 7))
		goto done;
	r->token = keep_str(cfg, token, 1, &ok);
	r->token_file = keep_str(cfg, token_file, 0, &ok);
	r->username = keep_str(cfg, username, 1, &ok);
	r->password = keep_str(cfg, password, 1, &ok);
	r->auth_provider = keep_str(cfg, str_of(provider, "name"), 0, &ok);
	if (provider && !r->auth_provider && ok)
		r->auth_provider = keep_str(cfg, "", 0, &ok);
	if (ok && ex && (err = build_exec(cfg, ex, s->user_dir, eb)))
		goto out;
done:
	if (!ok) {
		err = kx__fail(eb, KX_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!strncasecmp(server, "http://", 7)) {
		r->cert_pem = r->key_pem = NULL;
		r->cert_len = r->key_len = 0;
	}
	cfg->have_rest = 1;
out:
	for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
		free(owned[i]);
	if (err) {
		memset(r, 0, sizeof *r);
		memset(&cfg->exec, 0, sizeof cfg->exec);
	}
	return err;
}

/* ---------------------------------------------------------- in-cluster */

static const char *sa_dir(void)
{
	const char *d = getenv("KX_SERVICEACCOUNT_DIR");
	return nz(d) ? d : SERVICEACCOUNT_DIR;
}

/* client-go's inClusterClientConfig.Possible(). */
static int in_cluster_possible(void)
{
	if (!nz(getenv("KUBERNETES_SERVICE_HOST")) || !nz(getenv("KUBERNETES_SERVICE_PORT")))
		return 0;
	char *tok = kx__path_join(sa_dir(), "token");
	struct stat st;
	int ok = tok && stat(tok, &st) == 0 && !S_ISDIR(st.st_mode);
	free(tok);
	return ok;
}

/* The service account as a cluster and a user, then the ordinary path with the flags. */
static kx_err resolve_in_cluster(struct kx_config *cfg, const struct kx_config_overrides *ov,
				 struct kx_errbuf *eb)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	char *dir = NULL, *cwd = NULL, *ns_path = NULL, *ns_data = NULL, *server = NULL;
	cJSON *cluster = cJSON_CreateObject(), *user = cJSON_CreateObject();
	kx_err err = KX_ERR_NOMEM;
	const char *d = sa_dir();
	if (d[0] != '/') {
		cwd = getcwd(NULL, 0);
		dir = cwd ? kx__path_join(cwd, d) : NULL;
	} else {
		dir = kx__path_join("/", d);
	}
	size_t sl = strlen(host) + strlen(port) + 16;
	server = malloc(sl);
	if (!cluster || !user || !dir || !server)
		goto out;
	snprintf(server, sl, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	char *ca = kx__path_join(dir, "ca.crt"), *tok = kx__path_join(dir, "token");
	int ok = ca && tok && cJSON_AddStringToObject(cluster, "server", server) &&
		 cJSON_AddStringToObject(user, "tokenFile", tok);
	/* client-go logs an unreadable CA and carries on with the system store */
	if (ok && access(ca, R_OK) == 0)
		ok = cJSON_AddStringToObject(cluster, "certificate-authority", ca) != NULL;
	free(ca);
	free(tok);
	if (!ok)
		goto out;
	const char *ns = nz(getenv("POD_NAMESPACE"));
	if (!ns && (ns_path = kx__path_join(dir, "namespace"))) {
		size_t len;
		const char *op;
		int errnum;
		if (kx__file_read(ns_path, 4096, &ns_data, &len, &op, &errnum) == KX_OK) {
			char *b = ns_data, *e = ns_data + len;
			while (b < e && isspace((unsigned char)*b))
				b++;
			while (e > b && isspace((unsigned char)e[-1]))
				e--;
			*e = '\0';
			ns = nz(b);
		}
	}
	struct selection s = {
		.cluster = cluster,
		.user = user,
		.cluster_dir = dir,
		.user_dir = dir,
		.default_namespace = ns ? ns : "default",
		.in_cluster = 1,
	};
	err = build_rest(cfg, ov, &s, eb);
out:
	if (err == KX_ERR_NOMEM)
		kx__fail(eb, err, "out of memory");
	cJSON_Delete(cluster);
	cJSON_Delete(user);
	free(dir), free(cwd), free(ns_path), free(ns_data), free(server);
	return err;
}

static kx_err resolve_context(struct kx_config *cfg, const struct kx_config_overrides *ov,
			      struct kx_errbuf *eb)
{
	struct selection s = {.default_namespace = "default"};
	const struct kx__kc_entry *ctx = NULL, *cl = NULL, *us = NULL;
	s.context_name = cfg->current_context;
	if (s.context_name) {
		ctx = kx__kc_find(&cfg->contexts, s.context_name);
		if (!ctx)
			return kx__fail(eb, KX_ERR_NOT_FOUND,
					"context was not found for specified context: %s", s.context_name);
		s.context = ctx->obj;
	}
	s.cluster_name = nz(ov->cluster) ? ov->cluster : str_of(s.context, "cluster");
	s.user_name = nz(ov->user) ? ov->user : str_of(s.context, "user");
	cl = kx__kc_find(&cfg->clusters, s.cluster_name);
	us = kx__kc_find(&cfg->users, s.user_name);
	/* kubectl's wording and order: a --cluster that does not exist has "no server",
	 * even when --server is given */
	if (nz(ov->cluster) && !cl)
		return kx__fail(eb, KX_ERR_NOT_FOUND, "no server found for cluster \"%s\"", ov->cluster);
	if (nz(ov->user) && !us)
		return kx__fail(eb, KX_ERR_NOT_FOUND, "auth info \"%s\" does not exist", ov->user);
	if (s.user_name && !us)
		return kx__fail(eb, KX_ERR_NOT_FOUND, "user \"%s\" was not found for context \"%s\"",
				s.user_name, s.context_name);
	if (s.cluster_name && !cl && !nz(ov->server))
		return kx__fail(eb, KX_ERR_NOT_FOUND, "cluster \"%s\" was not found for context \"%s\"",
				s.cluster_name, s.context_name);
	if (cl)
		s.cluster = cl->obj, s.cluster_dir = cl->dir;
	if (us)
		s.user = us->obj, s.user_dir = us->dir;
	if (!nz(ov->server) && !str_of(s.cluster, "server")) {
		if (s.cluster_name)
			return kx__fail(eb, KX_ERR_CONFIG, "no server found for cluster \"%s\"",
					s.cluster_name);
		/* Nothing names a cluster: client-go's "empty config", where a pod falls back
		 * to its service account. */
		if (in_cluster_possible())
			return resolve_in_cluster(cfg, ov, eb);
		return kx__fail(eb, KX_ERR_CONFIG,
				"invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable");
	}
	return build_rest(cfg, ov, &s, eb);
}

/* kubectl's cache directory: --cache-dir, else $KUBECACHEDIR, else ~/.kube/cache;
 * none without a home, or when the cache is turned off (kx+). */
static kx_err resolve_cache_dir(struct kx_config *cfg, const struct kx_config_overrides *ov,
				struct kx_errbuf *eb)
{
	const char *dir = nz(ov->cache_dir) ? ov->cache_dir : nz(getenv("KUBECACHEDIR"));
	char *home_dir = NULL;
	if (ov->no_cache)
		dir = NULL;
	else if (!dir && nz(getenv("HOME")) && !(dir = home_dir = kx__path_join(getenv("HOME"), ".kube/cache")))
		return kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	int ok = 1;
	cfg->rest.cache_dir = keep_str(cfg, dir, 0, &ok);
	free(home_dir);
	return ok ? KX_OK : kx__fail(eb, KX_ERR_NOMEM, "out of memory");
}

kx_err kx__config_resolve(struct kx_config *cfg, const struct kx_config_overrides *ov,
			  struct kx_errbuf *eb)
{
	kx_err err = resolve_context(cfg, ov, eb);
	return err ? err : resolve_cache_dir(cfg, ov, eb);
}
