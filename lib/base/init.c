/* SPDX-License-Identifier: Apache-2.0 */
/* libkx's process-wide set-up (<kx/common.h>): libcurl's global state, so programs
 * using libkx — kx's cmd/ among them — never call libcurl themselves. */
#include <kx/common.h>

#include <curl/curl.h>

kx_err kx_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? KX_OK : KX_ERR_NOMEM;
}

void kx_global_cleanup(void)
{
	curl_global_cleanup();
}
