/* SPDX-License-Identifier: Apache-2.0 */
/* Deep copies of resolved connection settings, so a client never keeps pointers
 * into its caller's kx_config. */
#include <kx/config.h>
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static char *dup_mem(const char *p, size_t n)
{
	if (!p)
		return NULL;
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

#define DUP(field) do { if (src->field && !(dst->field = kx__strdup(src->field))) goto fail; } while (0)

static void exec_free(struct kx_exec_config *e)
{
	if (!e)
		return;
	for (size_t i = 0; e->args && e->args[i]; i++)
		free((char *)e->args[i]);
	free((void *)e->args);
	for (size_t i = 0; i < e->n_env; i++) {
		free((char *)e->env[i].name);
		kx__free_secret((char *)e->env[i].value);
	}
	free((void *)e->env);
	free((char *)e->api_version);
	free((char *)e->command);
	free((char *)e->install_hint);
	free((char *)e->interactive_mode);
	free(e);
}

static struct kx_exec_config *exec_dup(const struct kx_exec_config *src)
{
	struct kx_exec_config *dst = calloc(1, sizeof *dst);
	if (!dst)
		return NULL;
	size_t nargs = 0;
	while (src->args && src->args[nargs])
		nargs++;
	const char **args = calloc(nargs + 1, sizeof *args);
	struct kx_exec_env *env = calloc(src->n_env + 1, sizeof *env);
	dst->args = args;
	dst->env = env;
	if (!args || !env)
		goto fail;
	DUP(api_version);
	DUP(command);
	DUP(install_hint);
	DUP(interactive_mode);
	dst->provide_cluster_info = src->provide_cluster_info;
	for (size_t i = 0; i < nargs; i++)
		if (!(args[i] = strdup(src->args[i])))
			goto fail;
	for (size_t i = 0; i < src->n_env; i++) {
		dst->n_env = i + 1;
		env[i].name = kx__strdup(src->env[i].name);
		env[i].value = kx__strdup(src->env[i].value);
		if (!env[i].name || !env[i].value)
			goto fail;
	}
	return dst;
fail:
	exec_free(dst);
	return NULL;
}

struct kx_rest_config *kx__rest_config_dup(const struct kx_rest_config *src)
{
	struct kx_rest_config *dst = calloc(1, sizeof *dst);
	if (!dst)
		return NULL;
	*dst = (struct kx_rest_config){
		.namespace_from_flag = src->namespace_from_flag,
		.ca_len = src->ca_len, .cert_len = src->cert_len, .key_len = src->key_len,
		.insecure_skip_tls_verify = src->insecure_skip_tls_verify,
		.timeout_ms = src->timeout_ms, .in_cluster = src->in_cluster,
	};
	DUP(context_name);
	DUP(cluster_name);
	DUP(user_name);
	DUP(server);
	DUP(namespace_);
	DUP(tls_server_name);
	DUP(proxy_url);
	DUP(token);
	DUP(token_file);
	DUP(username);
	DUP(password);
	DUP(auth_provider);
	DUP(cache_dir);
	if (src->ca_pem && !(dst->ca_pem = dup_mem(src->ca_pem, src->ca_len)))
		goto fail;
	if (src->cert_pem && !(dst->cert_pem = dup_mem(src->cert_pem, src->cert_len)))
		goto fail;
	if (src->key_pem && !(dst->key_pem = dup_mem(src->key_pem, src->key_len)))
		goto fail;
	if (src->exec && !(dst->exec = exec_dup(src->exec)))
		goto fail;
	return dst;
fail:
	kx__rest_config_free(dst);
	return NULL;
}

void kx__rest_config_free(struct kx_rest_config *rc)
{
	if (!rc)
		return;
	free((char *)rc->context_name);
	free((char *)rc->cluster_name);
	free((char *)rc->user_name);
	free((char *)rc->server);
	free((char *)rc->namespace_);
	free((char *)rc->tls_server_name);
	kx__free_secret((char *)rc->proxy_url); /* may carry user:password */
	kx__free_secret((char *)rc->token);
	free((char *)rc->token_file);
	free((char *)rc->username);
	kx__free_secret((char *)rc->password);
	free((char *)rc->auth_provider);
	free((char *)rc->cache_dir);
	free((char *)rc->ca_pem);
	free((char *)rc->cert_pem);
	if (rc->key_pem)
		kx__memzero((char *)rc->key_pem, rc->key_len);
	free((char *)rc->key_pem);
	exec_free((struct kx_exec_config *)rc->exec);
	free(rc);
}
