/* SPDX-License-Identifier: Apache-2.0 */
/* libkx: kubeconfig loading, merging and resolution — kubectl's rules for
 * --kubeconfig, KUBECONFIG (":"-separated, merged first-wins), ~/.kube/config and
 * the in-cluster service account, with the global flags as overrides. */
#ifndef KX_CONFIG_H
#define KX_CONFIG_H

#include <kx/common.h>
#include <kx/json.h>

/* kubectl's global connection flags. NULL / -1 = not given. Copied by
 * kx_config_load; the caller keeps ownership. */
struct kx_config_overrides {
	const char *kubeconfig;            /* --kubeconfig: the only file read when set */
	const char *context;               /* --context */
	const char *cluster;               /* --cluster */
	const char *user;                  /* --user */
	const char *namespace_;            /* -n/--namespace */
	const char *server;                /* -s/--server */
	const char *token;                 /* --token */
	const char *username, *password;   /* --username/--password */
	const char *certificate_authority; /* --certificate-authority (file) */
	const char *client_certificate;    /* --client-certificate (file) */
	const char *client_key;            /* --client-key (file) */
	const char *tls_server_name;       /* --tls-server-name */
	int insecure_skip_tls_verify;      /* --insecure-skip-tls-verify: -1 unset, 0, 1 */
	const char *request_timeout;       /* --request-timeout: "0", "30", "5s", "1m", "1h" */
	const char *cache_dir;             /* --cache-dir; NULL or "": $KUBECACHEDIR, else ~/.kube/cache */
	int no_cache;                      /* kx+ --discovery-cache=false: no disk cache at all */
};
#define KX_CONFIG_OVERRIDES_INIT { .insecure_skip_tls_verify = -1 }

/* One exec credential plugin (users[].user.exec). */
struct kx_exec_env { const char *name, *value; };
struct kx_exec_config {
	const char *api_version;      /* client.authentication.k8s.io/v1 or v1beta1 */
	const char *command;          /* resolved like kubectl: relative paths with a '/' are
	                                 relative to the kubeconfig file's directory */
	const char *const *args;      /* NULL-terminated */
	const struct kx_exec_env *env;
	size_t n_env;
	const char *install_hint;
	int provide_cluster_info;
	const char *interactive_mode; /* Never | IfAvailable | Always (default IfAvailable for v1beta1) */
};

/* The settings for talking to one cluster as one user: the current (or chosen)
 * context resolved, overrides applied, files read. Strings are owned by the
 * kx_config they came from and live as long as it does. */
struct kx_rest_config {
	const char *context_name;     /* "" when there is no context (e.g. --server only) */
	const char *cluster_name;
	const char *user_name;
	const char *server;           /* "https://127.0.0.1:6443"; never NULL once loaded */
	const char *namespace_;       /* resolved: flag > context > "default" */
	int namespace_from_flag;
	/* TLS: PEM data in memory (read from files or decoded from *-data). */
	const char *ca_pem; size_t ca_len;       /* NULL = the system store */
	const char *cert_pem; size_t cert_len;   /* client certificate */
	const char *key_pem; size_t key_len;     /* client key (zeroed on free) */
	int insecure_skip_tls_verify;
	const char *tls_server_name;
	const char *proxy_url;        /* clusters[].cluster.proxy-url */
	/* Authentication, at most one scheme used: token > token_file > basic; exec
	 * and client certs can combine with them as in client-go. */
	const char *token;
	const char *token_file;       /* absolute path; the client re-reads it when it changes */
	const char *username, *password;
	const struct kx_exec_config *exec;
	const char *auth_provider;    /* users[].user.auth-provider.name: unsupported, the
	                                 client fails with an error naming it */
	long timeout_ms;              /* --request-timeout; 0 = none */
	int in_cluster;               /* loaded from the service-account directory */
	const char *cache_dir;        /* where discovery is cached (DIR/discovery/HOST_PORT/), as
	                                 kubectl's --cache-dir; NULL = no disk cache */
};

struct kx_config; /* opaque */

/* Load and merge kubeconfig files, apply overrides and resolve the context.
 * A missing context/cluster/user named by the config or a flag is an error that
 * names it, as kubectl's. With no kubeconfig at all and no in-cluster
 * environment, the error reads like kubectl's (no configuration has been provided).
 * *out is freed with kx_config_free. */
KX_API kx_err kx_config_load(const struct kx_config_overrides *ov, struct kx_config **out,
			     struct kx_errbuf *eb);

/* Like kx_config_load, but does not fail when the context cannot be resolved
 * (for `kx config` commands, which must work on incomplete configs). */
KX_API kx_err kx_config_load_raw(const struct kx_config_overrides *ov, struct kx_config **out,
				 struct kx_errbuf *eb);

KX_API void kx_config_free(struct kx_config *cfg);

/* The resolved settings; NULL when loaded with kx_config_load_raw and resolution failed. */
KX_API const struct kx_rest_config *kx_config_rest(const struct kx_config *cfg);

/* The merged kubeconfig as a document (apiVersion, kind, clusters, contexts,
 * current-context, preferences, users), as kubectl's `config view --raw` sees it:
 * relative paths as written. Owned by cfg. */
KX_API const cJSON *kx_config_merged(const struct kx_config *cfg);

/* The name of the current context (after --context), or NULL. */
KX_API const char *kx_config_current_context(const struct kx_config *cfg);

#endif
