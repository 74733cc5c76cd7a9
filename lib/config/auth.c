/* SPDX-License-Identifier: Apache-2.0 */
/* Credentials for requests: static token, a token file re-read when it changes
 * (projected tokens rotate), basic auth, and exec credential plugins
 * (client.authentication.k8s.io v1/v1beta1) run with fork/execvp on an argv, the
 * environment set in the child only, the credential cached until it expires. */
#include <kx/config.h>
#include <kx/json.h>
#include "internal.h"
#include "base64.h"
#include "fsutil.h"

#include <errno.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KX_PLUGIN_OUTPUT_MAX ((size_t)1 << 20)
#define KX_TOKEN_FILE_MAX ((size_t)1 << 20)

struct kx_auth {
	struct kx_rest_config *rc; /* a deep copy */
	/* token file */
	char *file_token;
	struct timespec file_mtime;
	off_t file_size;
	ino_t file_ino;
	/* exec plugin */
	char *exec_token;
	char *exec_cert, *exec_key;
	size_t exec_cert_len, exec_key_len;
	time_t exec_expiry; /* 0 = never */
	int exec_valid;
	int exec_runs;
};

kx_err kx__auth_new(const struct kx_rest_config *rc, struct kx_auth **out, struct kx_errbuf *eb)
{
	*out = NULL;
	if (rc->auth_provider)
		return kx__fail(eb, KX_ERR_CONFIG,
				"no Auth Provider found for name \"%s\"", rc->auth_provider);
	struct kx_auth *a = calloc(1, sizeof *a);
	if (!a || !(a->rc = kx__rest_config_dup(rc))) {
		free(a);
		return KX_ERR_NOMEM;
	}
	*out = a;
	return KX_OK;
}

static void drop_exec_cred(struct kx_auth *a)
{
	kx__free_secret(a->exec_token);
	free(a->exec_cert);
	if (a->exec_key)
		kx__memzero(a->exec_key, a->exec_key_len);
	free(a->exec_key);
	a->exec_token = a->exec_cert = a->exec_key = NULL;
	a->exec_cert_len = a->exec_key_len = 0;
	a->exec_valid = 0;
}

void kx__auth_free(struct kx_auth *a)
{
	if (!a)
		return;
	drop_exec_cred(a);
	kx__free_secret(a->file_token);
	kx__rest_config_free(a->rc);
	free(a);
}

int kx__auth_exec_runs(const struct kx_auth *a)
{
	return a ? a->exec_runs : 0;
}

/* Re-read the token file when its identity, size or mtime changed. */
static kx_err refresh_token_file(struct kx_auth *a, struct kx_errbuf *eb)
{
	struct stat st;
	const char *path = a->rc->token_file;
	if (stat(path, &st))
		return kx__fail(eb, KX_ERR_AUTH, "reading token file %s: %s", path, strerror(errno));
	if (a->file_token && st.st_ino == a->file_ino && st.st_size == a->file_size &&
	    st.st_mtim.tv_sec == a->file_mtime.tv_sec && st.st_mtim.tv_nsec == a->file_mtime.tv_nsec)
		return KX_OK;
	char *data;
	size_t len;
	kx_err err = kx__read_file(path, KX_TOKEN_FILE_MAX, &data, &len, eb);
	if (err)
		return err == KX_ERR_NOMEM ? err : KX_ERR_AUTH;
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
		data[--len] = '\0';
	kx__free_secret(a->file_token);
	a->file_token = data;
	a->file_ino = st.st_ino;
	a->file_size = st.st_size;
	a->file_mtime = st.st_mtim;
	return KX_OK;
}

/* RFC 3339 ("2026-11-26T01:02:03Z", fractions and offsets allowed) to time_t. */
static int parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = timegm(&tm) - off;
	return 0;
}

/* KUBERNETES_EXEC_INFO: the ExecCredential the plugin reads. */
static char *exec_info(const struct kx_rest_config *rc, int interactive)
{
	const struct kx_exec_config *ex = rc->exec;
	cJSON *doc = cJSON_CreateObject(), *spec = cJSON_AddObjectToObject(doc, "spec");
	char *out = NULL;
	cJSON_AddStringToObject(doc, "kind", "ExecCredential");
	cJSON_AddStringToObject(doc, "apiVersion", ex->api_version);
	cJSON_AddBoolToObject(spec, "interactive", interactive);
	if (ex->provide_cluster_info) {
		cJSON *cl = cJSON_AddObjectToObject(spec, "cluster");
		cJSON_AddStringToObject(cl, "server", rc->server);
		if (rc->tls_server_name)
			cJSON_AddStringToObject(cl, "tls-server-name", rc->tls_server_name);
		if (rc->ca_pem) {
			char *b64 = kx__b64_encode(rc->ca_pem, rc->ca_len);
			if (b64)
				cJSON_AddStringToObject(cl, "certificate-authority-data", b64);
			free(b64);
		}
		if (rc->insecure_skip_tls_verify)
			cJSON_AddBoolToObject(cl, "insecure-skip-tls-verify", 1);
		if (rc->proxy_url)
			cJSON_AddStringToObject(cl, "proxy-url", rc->proxy_url);
	}
	out = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return out;
}

/* Run the plugin; capture its stdout (capped). stderr goes to ours, as kubectl. */
static kx_err run_plugin(struct kx_auth *a, struct kx_buf *outbuf, struct kx_errbuf *eb)
{
	const struct kx_exec_config *ex = a->rc->exec;
	int interactive = 0;
	const char *mode = ex->interactive_mode ? ex->interactive_mode : "IfAvailable";
	if (strcmp(mode, "Never"))
		interactive = isatty(STDIN_FILENO);
	if (!strcmp(mode, "Always") && !interactive)
		return kx__fail(eb, KX_ERR_AUTH,
				"getting credentials: exec plugin cannot support interactive mode: standard input is not a terminal");

	size_t nargs = 0;
	while (ex->args && ex->args[nargs])
		nargs++;
	char **argv = calloc(nargs + 2, sizeof *argv);
	char *info = exec_info(a->rc, interactive);
	int out[2] = {-1, -1}, errp[2] = {-1, -1};
	kx_err err = KX_OK;
	if (!argv || !info) {
		err = KX_ERR_NOMEM;
		goto done;
	}
	argv[0] = (char *)ex->command;
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = (char *)ex->args[i];
	if (pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		err = kx__fail(eb, KX_ERR_AUTH, "getting credentials: pipe: %s", strerror(errno));
		goto done;
	}
	a->exec_runs++;
	pid_t pid = fork();
	if (pid < 0) {
		err = kx__fail(eb, KX_ERR_AUTH, "getting credentials: fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0) {
		/* The child: environment set here only, stdout to the pipe. */
		dup2(out[1], STDOUT_FILENO);
		if (!interactive) {
			int devnull = open("/dev/null", O_RDONLY);
			if (devnull >= 0)
				dup2(devnull, STDIN_FILENO);
		}
		for (size_t i = 0; i < ex->n_env; i++)
			setenv(ex->env[i].name, ex->env[i].value, 1);
		setenv("KUBERNETES_EXEC_INFO", info, 1);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		int e = errno;
		if (write(errp[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	out[1] = errp[1] = -1;
	char chunk[4096];
	for (;;) {
		ssize_t n = read(out[0], chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!err && (err = kx_buf_append(outbuf, chunk, (size_t)n)))
			kx__fail(eb, KX_ERR_AUTH, "getting credentials: exec plugin output is larger than %zu bytes",
				 KX_PLUGIN_OUTPUT_MAX);
	}
	kx__memzero(chunk, sizeof chunk);
	int child_errno = 0;
	ssize_t got = read(errp[0], &child_errno, sizeof child_errno);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof child_errno) {
		if (child_errno == ENOENT)
			err = kx__fail(eb, KX_ERR_AUTH, "getting credentials: exec: executable %s not found%s%s",
				       ex->command, ex->install_hint ? "\n\n" : "",
				       ex->install_hint ? ex->install_hint : "");
		else
			err = kx__fail(eb, KX_ERR_AUTH, "getting credentials: exec: %s: %s", ex->command,
				       strerror(child_errno));
	} else if (!err && (!WIFEXITED(status) || WEXITSTATUS(status))) {
		if (WIFEXITED(status))
			err = kx__fail(eb, KX_ERR_AUTH,
				       "getting credentials: exec: executable %s failed with exit code %d",
				       ex->command, WEXITSTATUS(status));
		else
			err = kx__fail(eb, KX_ERR_AUTH,
				       "getting credentials: exec: executable %s was killed by signal %d",
				       ex->command, WTERMSIG(status));
	}
	if (err == KX_ERR_TOO_LARGE)
		err = KX_ERR_AUTH;
done:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	free(argv);
	free(info);
	return err;
}

static kx_err take_string(const cJSON *st, const char *key, char **dst, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, key);
	if (!v)
		return KX_OK;
	if (!cJSON_IsString(v))
		return KX_ERR_AUTH;
	if (!(*dst = strdup(v->valuestring)))
		return KX_ERR_NOMEM;
	if (len)
		*len = strlen(*dst);
	return KX_OK;
}

static kx_err decode_credential(struct kx_auth *a, const char *text, size_t len, struct kx_errbuf *eb)
{
	const struct kx_exec_config *ex = a->rc->exec;
	cJSON *doc = cJSON_ParseWithLength(text, len);
	kx_err err = KX_OK;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "apiVersion");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");
	if (!cJSON_IsObject(doc)) {
		err = kx__fail(eb, KX_ERR_AUTH, "getting credentials: decoding stdout: the exec plugin's output is not JSON");
		goto done;
	}
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "ExecCredential")) {
		err = kx__fail(eb, KX_ERR_AUTH, "getting credentials: decoding stdout: kind is not ExecCredential");
		goto done;
	}
	if (!cJSON_IsString(ver) || strcmp(ver->valuestring, ex->api_version)) {
		err = kx__fail(eb, KX_ERR_AUTH,
			       "getting credentials: exec plugin is configured to use API version %s, plugin returned version %s",
			       ex->api_version, cJSON_IsString(ver) ? ver->valuestring : "(none)");
		goto done;
	}
	if (!cJSON_IsObject(st)) {
		err = kx__fail(eb, KX_ERR_AUTH, "getting credentials: exec plugin didn't return a status field");
		goto done;
	}
	drop_exec_cred(a);
	if (take_string(st, "token", &a->exec_token, NULL) ||
	    take_string(st, "clientCertificateData", &a->exec_cert, &a->exec_cert_len) ||
	    take_string(st, "clientKeyData", &a->exec_key, &a->exec_key_len)) {
		err = kx__fail(eb, KX_ERR_AUTH, "getting credentials: exec plugin returned a malformed status");
		goto done;
	}
	if (!a->exec_token && !(a->exec_cert && a->exec_key)) {
		err = kx__fail(eb, KX_ERR_AUTH,
			       "getting credentials: exec plugin didn't return a token or cert/key pair");
		goto done;
	}
	if (!!a->exec_cert != !!a->exec_key) {
		err = kx__fail(eb, KX_ERR_AUTH, "getting credentials: exec plugin returned only one of the client certificate and key");
		goto done;
	}
	a->exec_expiry = 0;
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(st, "expirationTimestamp");
	if (cJSON_IsString(exp) && parse_rfc3339(exp->valuestring, &a->exec_expiry)) {
		err = kx__fail(eb, KX_ERR_AUTH, "getting credentials: exec plugin returned a bad expirationTimestamp \"%s\"",
			       exp->valuestring);
		goto done;
	}
	a->exec_valid = 1;
done:
	if (err)
		drop_exec_cred(a);
	if (doc) {
		/* The document held the token: wipe its strings before freeing. */
		char *tok = NULL;
		if (cJSON_IsObject(st)) {
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(st, "token");
			if (cJSON_IsString(t))
				tok = t->valuestring;
			const cJSON *k = cJSON_GetObjectItemCaseSensitive(st, "clientKeyData");
			if (cJSON_IsString(k))
				kx__memzero(k->valuestring, strlen(k->valuestring));
		}
		if (tok)
			kx__memzero(tok, strlen(tok));
	}
	cJSON_Delete(doc);
	return err;
}

static kx_err refresh_exec(struct kx_auth *a, struct kx_errbuf *eb)
{
	if (a->exec_valid && (!a->exec_expiry || time(NULL) < a->exec_expiry))
		return KX_OK;
	struct kx_buf out = KX_BUF_INIT_SECRET(KX_PLUGIN_OUTPUT_MAX);
	kx_err err = run_plugin(a, &out, eb);
	if (!err)
		err = decode_credential(a, out.data ? out.data : "", out.len, eb);
	kx_buf_free_secret(&out);
	return err;
}

kx_err kx__auth_get(struct kx_auth *a, struct kx_creds *c, struct kx_errbuf *eb)
{
	memset(c, 0, sizeof *c);
	const struct kx_rest_config *rc = a->rc;
	kx_err err;
	if (rc->token) {
		c->bearer = rc->token;
	} else if (rc->token_file) {
		if ((err = refresh_token_file(a, eb)))
			return err;
		c->bearer = a->file_token;
	} else if (rc->username || rc->password) {
		c->username = rc->username ? rc->username : "";
		c->password = rc->password ? rc->password : "";
	}
	if (rc->exec && !c->bearer) {
		if ((err = refresh_exec(a, eb)))
			return err;
		c->bearer = a->exec_token;
		if (a->exec_cert) {
			c->cert_pem = a->exec_cert;
			c->cert_len = a->exec_cert_len;
			c->key_pem = a->exec_key;
			c->key_len = a->exec_key_len;
		}
	}
	if (!c->cert_pem && rc->cert_pem) {
		c->cert_pem = rc->cert_pem;
		c->cert_len = rc->cert_len;
		c->key_pem = rc->key_pem;
		c->key_len = rc->key_len;
	}
	return KX_OK;
}

int kx__auth_unauthorized(struct kx_auth *a)
{
	if (!a->rc->exec || a->rc->token || a->rc->token_file)
		return 0;
	drop_exec_cred(a);
	return 1;
}

int kx__auth_header(const struct kx__conn_info *ci, char *out, size_t n)
{
	if (ci->creds.bearer) {
		snprintf(out, n, "Bearer %s", ci->creds.bearer);
		return 1;
	}
	if (ci->creds.username) {
		char plain[1024];
		int m = snprintf(plain, sizeof plain, "%s:%s", ci->creds.username,
				 ci->creds.password ? ci->creds.password : "");
		if (m < 0 || (size_t)m >= sizeof plain || n < 7 + 4 * ((size_t)m + 2) / 3 + 1) {
			kx__memzero(plain, sizeof plain);
			return 0;
		}
		memcpy(out, "Basic ", 6);
		EVP_EncodeBlock((unsigned char *)out + 6, (unsigned char *)plain, m);
		kx__memzero(plain, sizeof plain);
		return 1;
	}
	return 0;
}
