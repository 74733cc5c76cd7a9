/* SPDX-License-Identifier: Apache-2.0 */
/* kubectl's global flags, declared once: every command parses them, help lists
 * them under "Global options", completion offers them. */
#include "kx.h"

#include <kx/client.h>

#include <stdlib.h>
#include <string.h>

struct kx_globals kx_g = {.insecure_skip_tls_verify = -1, .discovery_cache = -1};

const struct kx_option kx_global_options[] = {
	OPT_COMPLETE(0, "kubeconfig", &kx_g.kubeconfig, "FILE", "file",
		     "Path to the kubeconfig file to use for CLI requests."),
	OPT_COMPLETE(0, "context", &kx_g.context, "NAME", "context",
		     "The name of the kubeconfig context to use"),
	OPT_COMPLETE(0, "cluster", &kx_g.cluster, "NAME", "cluster",
		     "The name of the kubeconfig cluster to use"),
	OPT_COMPLETE(0, "user", &kx_g.user, "NAME", "user",
		     "The name of the kubeconfig user to use"),
	OPT_COMPLETE('n', "namespace", &kx_g.namespace_, "NAME", "namespace",
		     "If present, the namespace scope for this CLI request"),
	OPT_STRING('s', "server", &kx_g.server, "URL",
		   "The address and port of the Kubernetes API server"),
	OPT_STRING(0, "token", &kx_g.token, "TOKEN",
		   "Bearer token for authentication to the API server"),
	OPT_STRING(0, "username", &kx_g.username, "NAME",
		   "Username for basic authentication to the API server"),
	OPT_STRING(0, "password", &kx_g.password, "PASSWORD",
		   "Password for basic authentication to the API server"),
	OPT_COMPLETE(0, "certificate-authority", &kx_g.certificate_authority, "FILE", "file",
		     "Path to a cert file for the certificate authority"),
	OPT_COMPLETE(0, "client-certificate", &kx_g.client_certificate, "FILE", "file",
		     "Path to a client certificate file for TLS"),
	OPT_COMPLETE(0, "client-key", &kx_g.client_key, "FILE", "file",
		     "Path to a client key file for TLS"),
	OPT_BOOL(0, "insecure-skip-tls-verify", &kx_g.insecure_skip_tls_verify,
		 "If true, the server's certificate will not be checked for validity"),
	OPT_STRING(0, "tls-server-name", &kx_g.tls_server_name, "NAME",
		   "Server name to use for server certificate validation"),
	OPT_STRING_DEF(0, "request-timeout", &kx_g.request_timeout, "DURATION", "0",
		       "How long to wait for a single server request (e.g. 1s, 2m); 0 = no timeout"),
	OPT_COMPLETE(0, "cache-dir", &kx_g.cache_dir, "DIR", "file",
		     "Default cache directory (default $KUBECACHEDIR, else ~/.kube/cache)"),
	OPT_BOOL(0, "discovery-cache", &kx_g.discovery_cache,
		 "kx+: keep the server's resource types in --cache-dir for 6 hours (default true; false asks the server every time)"),
	OPT_INT('v', "v", &kx_g.verbosity, "LEVEL", "0",
		"Log level: 6 shows requests, 8 headers, 9 bodies (credentials are masked)"),
	OPT_END(),
};

void kx_globals_overrides(struct kx_config_overrides *ov)
{
	*ov = (struct kx_config_overrides){
		.kubeconfig = kx_g.kubeconfig,
		.context = kx_g.context,
		.cluster = kx_g.cluster,
		.user = kx_g.user,
		.namespace_ = kx_g.namespace_,
		.server = kx_g.server,
		.token = kx_g.token,
		.username = kx_g.username,
		.password = kx_g.password,
		.certificate_authority = kx_g.certificate_authority,
		.client_certificate = kx_g.client_certificate,
		.client_key = kx_g.client_key,
		.tls_server_name = kx_g.tls_server_name,
		.insecure_skip_tls_verify = kx_g.insecure_skip_tls_verify,
		.request_timeout = kx_g.request_timeout,
		.cache_dir = kx_g.cache_dir,
		.no_cache = kx_g.discovery_cache == 0,
	};
}

struct kx_config *kx_load_config(void)
{
	struct kx_config_overrides ov;
	struct kx_errbuf eb = {0};
	struct kx_config *cfg = NULL;
	kx_globals_overrides(&ov);
	kx_err err = kx_config_load(&ov, &cfg, &eb);
	if (err) {
		kx_report(err, &eb);
		return NULL;
	}
	const struct kx_rest_config *rc = kx_config_rest(cfg);
	if (rc && rc->insecure_skip_tls_verify)
		kx_warn("insecure-skip-tls-verify is set: the server's certificate is not checked");
	return cfg;
}

static void trace_line(void *ud, int level, const char *line)
{
	(void)ud;
	fprintf(stderr, "I%d %s\n", level, line);
}

static void print_warning(void *ud, const char *text)
{
	(void)ud;
	fprintf(stderr, "Warning: %s\n", text);
}

struct kx_client *kx_connect(struct kx_config **cfg_out)
{
	struct kx_config *cfg = kx_load_config();
	if (!cfg)
		return NULL;
	struct kx_errbuf eb = {0};
	struct kx_client *c = NULL;
	kx_err err = kx_client_new(kx_config_rest(cfg), &c, &eb);
	if (err) {
		kx_report(err, &eb);
		kx_config_free(cfg);
		return NULL;
	}
	if (kx_g.verbosity >= 6)
		kx_client_set_trace(c, (int)kx_g.verbosity, trace_line, NULL);
	kx_client_set_warning_handler(c, print_warning, NULL);
	if (cfg_out)
		*cfg_out = cfg;
	else
		kx_config_free(cfg);
	return c;
}
