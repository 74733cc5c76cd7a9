/* SPDX-License-Identifier: Apache-2.0 */
/* The kubeconfig façade (<kx/config.h>): load and merge (kubeconfig.c), then resolve
 * the current context (kubeconfig_resolve.c). The layers below never call up:
 *   config.c -> kubeconfig_resolve.c -> kubeconfig.c -> fsutil.c, base64.c, yaml.c */
#include <kx/config.h>
#include "internal.h"
#include "kubeconfig_internal.h"

#include <stddef.h>

/* raw: a context that does not resolve is no error (config view, completion). */
static kx_err load(const struct kx_config_overrides *ov, int raw, const char *data, size_t len,
		   const char *path, kx__kc_reader read, struct kx_config **out,
		   struct kx_errbuf *eb)
{
	struct kx_config_overrides none = KX_CONFIG_OVERRIDES_INIT;
	struct kx_config *cfg;
	*out = NULL;
	if (!ov)
		ov = &none;
	kx_err err = kx__config_read(ov, data, len, path, read, &cfg, eb);
	if (err)
		return err;
	if (raw) {
		struct kx_errbuf ignored = {0};
		if (kx__config_resolve(cfg, ov, &ignored) == KX_ERR_NOMEM)
			err = kx__fail(eb, KX_ERR_NOMEM, "out of memory");
	} else {
		err = kx__config_resolve(cfg, ov, eb);
	}
	if (err) {
		kx_config_free(cfg);
		return err;
	}
	*out = cfg;
	return KX_OK;
}

kx_err kx_config_load(const struct kx_config_overrides *ov, struct kx_config **out,
		      struct kx_errbuf *eb)
{
	return load(ov, 0, NULL, 0, NULL, NULL, out, eb);
}

kx_err kx_config_load_raw(const struct kx_config_overrides *ov, struct kx_config **out,
			  struct kx_errbuf *eb)
{
	return load(ov, 1, NULL, 0, NULL, NULL, out, eb);
}

kx_err kx__config_load_mem(const char *data, size_t len, const char *path,
			   const struct kx_config_overrides *ov, int raw, kx__kc_reader read,
			   struct kx_config **out, struct kx_errbuf *eb)
{
	return load(ov, raw, data ? data : "", len, path, read, out, eb);
}

const struct kx_rest_config *kx_config_rest(const struct kx_config *cfg)
{
	return cfg && cfg->have_rest ? &cfg->rest : NULL;
}

const cJSON *kx_config_merged(const struct kx_config *cfg)
{
	return cfg ? cfg->merged : NULL;
}

const char *kx_config_current_context(const struct kx_config *cfg)
{
	return cfg ? cfg->current_context : NULL;
}
