/* SPDX-License-Identifier: Apache-2.0 */
/* kx version: the client's version and, when a cluster is reachable, the
 * server's (GET /version), as kubectl prints them. */
#include "kx.h"

#include <kx/client.h>
#include <kx/json.h>
#include <stdio.h>
#include <string.h>

static struct {
	int client;
	const char *output;
} o;

static const char *const output_choices[] = {"json", "yaml", NULL};

static const struct kx_option version_options[] = {
	OPT_BOOL(0, "client", &o.client, "If true, shows client version only (no server required)."),
	OPT_CHOICE('o', "output", &o.output, "FORMAT", NULL, output_choices,
		   "One of 'yaml' or 'json'."),
	OPT_END(),
};

static cJSON *client_info(void)
{
	cJSON *ci = cJSON_CreateObject();
	const char *v = kx_version() + 1; /* "0.1.0" */
	char major[16] = "", minor[16] = "";
	sscanf(v, "%15[0-9].%15[0-9]", major, minor);
	cJSON_AddStringToObject(ci, "major", major);
	cJSON_AddStringToObject(ci, "minor", minor);
	cJSON_AddStringToObject(ci, "gitVersion", kx_version());
	cJSON_AddStringToObject(ci, "compiler", "gcc");
	cJSON_AddStringToObject(ci, "platform", "linux/amd64");
	return ci;
}

static int version_run(const struct kx_invocation *inv)
{
	if (inv->argc)
		return kx_usage_error(inv->path, "unexpected argument \"%s\"", inv->argv[0]);
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddItemToObject(doc, "clientVersion", client_info());
	int rc = KX_EXIT_OK;
	cJSON *server = NULL;
	struct kx_client *c = NULL;
	struct kx_errbuf eb = {0};
	kx_err err = KX_OK;
	if (!o.client) {
		c = kx_connect(NULL);
		if (!c)
			rc = KX_EXIT_FAIL;
		else if ((err = kx_client_get(c, "/version", &server, &eb)))
			rc = KX_EXIT_FAIL;
		else
			cJSON_AddItemToObject(doc, "serverVersion", server);
	}
	if (o.output) {
		int prc = kx_print_doc(doc, o.output);
		rc = rc ? rc : prc;
	} else {
		printf("Client Version: %s\n", kx_version());
		const cJSON *gv = cJSON_GetObjectItemCaseSensitive(server, "gitVersion");
		if (cJSON_IsString(gv))
			printf("Server Version: %s\n", gv->valuestring);
	}
	fflush(stdout);
	if (err)
		kx_report_call(c, err, &eb);
	kx_client_free(c);
	cJSON_Delete(doc);
	return rc;
}

const struct kx_command kx_cmd_version = {
	.name = "version",
	.run = version_run,
	.summary = "Print the client and server version information",
	.usage = "kx version [--client] [-o json|yaml]",
	.examples = "  # Client and server versions\n  kx version\n\n"
		    "  # Only the client, as JSON (no cluster needed)\n  kx version --client -o json",
	.options = version_options,
};
