/* SPDX-License-Identifier: Apache-2.0 */
/* libkx: shared definitions of the public API — export macro, error codes, the
 * caller-owned error buffer. Every other public header includes this one. */
#ifndef KX_COMMON_H
#define KX_COMMON_H

#include <stddef.h>

#define KX_API __attribute__((visibility("default")))

/* Every fallible libkx function returns one of these. Details — the first, most
 * specific message — go into a caller's error buffer (struct kx_errbuf). */
typedef enum kx_err {
	KX_OK = 0,
	KX_ERR_NOMEM,     /* out of memory */
	KX_ERR_INVALID,   /* invalid argument or input (a parse error, a bad value) */
	KX_ERR_CONFIG,    /* kubeconfig missing, malformed or inconsistent */
	KX_ERR_IO,        /* reading or writing a local file or socket failed */
	KX_ERR_CONNECT,   /* could not connect to the server (unreachable, DNS) */
	KX_ERR_REFUSED,   /* the server's address refused the connection */
	KX_ERR_TLS,       /* TLS handshake or certificate verification failed */
	KX_ERR_TIMEOUT,   /* the request or operation timed out */
	KX_ERR_AUTH,      /* obtaining credentials failed (exec plugin, token file) */
	KX_ERR_API,       /* the server answered with an error Status (see kx_status) */
	KX_ERR_PROTOCOL,  /* the peer sent something malformed or unexpected */
	KX_ERR_TOO_LARGE, /* input over a size limit */
	KX_ERR_NOT_FOUND, /* a named local thing (context, user, container …) does not exist */
	KX_ERR_CLOSED,    /* the connection was closed */
	KX_ERR_INTERRUPTED, /* a signal (SIGINT, SIGTERM, SIGHUP) ended the operation */
	KX_ERR_UNSUPPORTED, /* the server does not support what was asked (e.g. a transport) */
} kx_err;

/* libkx's version, "v0.1.0" (the kx binary reports the same). */
KX_API const char *kx_version(void);

/* Once per process, before any other libkx call (libcurl's global set-up), and
 * kx_global_cleanup at the end; KX_ERR_NOMEM when it cannot be done. */
KX_API kx_err kx_global_init(void);
KX_API void kx_global_cleanup(void);

/* The transport of a streaming session (exec, attach, port-forward). */
enum kx_transport {
	KX_TRANSPORT_AUTO = 0,  /* the command's order, falling back when an upgrade is refused:
	                           exec/attach SPDY first, port-forward WebSocket first */
	KX_TRANSPORT_WEBSOCKET,
	KX_TRANSPORT_SPDY,
};

/* A short, constant description of an error code; never NULL. */
KX_API const char *kx_strerror(kx_err err);

/* Caller-owned buffer for an error's human-readable detail. libkx fills it with
 * the first, most specific message and never overwrites a message already there;
 * it never contains a secret. Zero-initialise it before use. */
#define KX_ERRBUF_SIZE 512
struct kx_errbuf {
	char msg[KX_ERRBUF_SIZE];
};

#endif
