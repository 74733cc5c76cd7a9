/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate verification failures (OpenSSL's verify result, as libcurl reports
 * it: curlconn.c) in the words Go's crypto/x509 uses, so kx's TLS errors read
 * like kubectl's. */
#include "internal.h"

#include <openssl/x509.h>

const char *kx__x509_words(long verify_result)
{
	switch (verify_result) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return "x509: certificate signed by unknown authority";
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "x509: certificate has expired or is not yet valid";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "x509: certificate is not valid for the server's name or address";
	default:
		return X509_verify_cert_error_string(verify_result);
	}
}
