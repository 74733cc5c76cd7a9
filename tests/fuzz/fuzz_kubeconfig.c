/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for kubeconfig loading: arbitrary bytes as a kubeconfig file,
 * loaded raw and resolved with a few sets of flags, the merged document printed. Files
 * the input names are never opened: a stub reader answers for them. */
#include <kx/config.h>
#include "kubeconfig_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Paths ending in "pem" read as a small PEM text, anything else does not exist. */
static kx_err stub_read(const char *path, size_t max, char **out, size_t *len, const char **op,
			int *errnum)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nfuzz\n-----END CERTIFICATE-----\n";
	size_t n = strlen(path);
	*op = "open";
	if (n < 3 || strcmp(path + n - 3, "pem")) {
		*errnum = ENOENT;
		return KX_ERR_NOT_FOUND;
	}
	if (sizeof pem - 1 > max)
		return KX_ERR_TOO_LARGE;
	*out = malloc(sizeof pem);
	if (!*out)
		return KX_ERR_NOMEM;
	memcpy(*out, pem, sizeof pem);
	*len = sizeof pem - 1;
	return KX_OK;
}

/* Touch every string of the resolved settings, so a dangling one shows up under ASan. */
static size_t walk(const struct kx_rest_config *r)
{
	size_t n = 0;
	const char *s[] = {r->context_name, r->cluster_name, r->user_name, r->server,
			   r->namespace_, r->tls_server_name, r->proxy_url, r->token,
			   r->token_file, r->username, r->password, r->auth_provider};
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		n += s[i] ? strlen(s[i]) : 0;
	if (!r->server || !r->namespace_)
		abort();
	n += r->ca_pem ? r->ca_len : 0;
	n += r->cert_pem ? r->cert_len : 0;
	n += r->key_pem ? r->key_len : 0;
	if (r->exec) {
		n += strlen(r->exec->command) + strlen(r->exec->api_version);
		for (const char *const *a = r->exec->args; *a; a++)
			n += strlen(*a);
		for (size_t i = 0; i < r->exec->n_env; i++)
			n += strlen(r->exec->env[i].name) + strlen(r->exec->env[i].value);
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kx_config_overrides ovs[4] = {KX_CONFIG_OVERRIDES_INIT, KX_CONFIG_OVERRIDES_INIT,
					     KX_CONFIG_OVERRIDES_INIT, KX_CONFIG_OVERRIDES_INIT};
	ovs[1].context = "c";
	ovs[1].namespace_ = "ns";
	ovs[2].server = "https://fuzz:6443";
	ovs[2].user = "u";
	ovs[2].insecure_skip_tls_verify = 1;
	ovs[2].request_timeout = "1m";
	ovs[3].cluster = "c";
	ovs[3].token = "t";
	ovs[3].certificate_authority = "/fuzz/ca.pem";
	for (int i = 0; i < 4; i++) {
		for (int raw = 0; raw < 2; raw++) {
			struct kx_config *cfg = NULL;
			struct kx_errbuf eb = {0};
			kx_err err = kx__config_load_mem((const char *)data, size, "/fuzz/dir/config",
							 &ovs[i], raw, stub_read, &cfg, &eb);
			if (err) {
				if (cfg || !eb.msg[0])
					abort();
				continue;
			}
			const struct kx_rest_config *r = kx_config_rest(cfg);
			if (!raw && !r)
				abort();
			if (r)
				walk(r);
			struct kx_buf out = KX_BUF_INIT(0);
			if (kx_yaml_emit(kx_config_merged(cfg), &out) != KX_OK ||
			    kx_json_emit(kx_config_merged(cfg), &out) != KX_OK)
				abort();
			kx_buf_free(&out);
			kx_config_current_context(cfg);
			kx_config_free(cfg);
		}
	}
	return 0;
}
