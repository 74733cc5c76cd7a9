/* SPDX-License-Identifier: Apache-2.0 */
/* libkx: forwarding local TCP ports to a pod's ports over one SPDY/3.1 session
 * (kubectl port-forward's wire protocol; tunnelled in a WebSocket or straight
 * after an HTTP Upgrade), every accepted connection its own error+data stream
 * pair, all in one event loop. */
#ifndef KX_PORTFORWARD_H
#define KX_PORTFORWARD_H

#include <kx/client.h>
#include <kx/exec.h>

struct kx_pf_port {
	int local;   /* 0 = a random free port */
	int remote;  /* the pod's port number, 1..65535 */
	/* kx+, balanced forwards: a named container port (a Service's named
	 * targetPort), looked up in each pod as it turns Ready, so pods that number
	 * it differently each get theirs (remote: when a pod has no such name).
	 * NULL: remote for every pod. */
	const char *remote_name;
};

enum kx_pf_event {
	KX_PF_LISTENING,   /* addr:local -> remote is accepting */
	KX_PF_CONNECTION,  /* a connection to local was accepted */
	KX_PF_CONN_ERROR,  /* one connection failed (message says why); the others go on */
	KX_PF_READY,       /* every listener is up (after the LISTENING events) */
	KX_PF_POD_LOST,    /* the pod went away or the session broke (message: why); kx re-resolves */
	KX_PF_POD_RESUMED, /* forwarding again, to the pod named in message */
	KX_PF_CONNECTED,   /* a session is up; message: "websocket (PROTOCOL)" or "spdy (PROTOCOL)" */
	/* Balancing (balance_selector set); message: the pod's name. */
	KX_PF_CONN_POD,       /* the connection just accepted on local goes to this pod */
	KX_PF_ENDPOINT_READY, /* a pod of the target is Ready: it takes new connections */
	KX_PF_ENDPOINT_GONE,  /* a pod is no longer Ready (or deleted): no new connections, open ones finish */
	KX_PF_SESSION_LOST,   /* the session to this pod broke: its connections ended */
	KX_PF_CONN_REPLAYED,  /* the kubelet could not forward a connection before the pod's
			       * first byte (message: "pod NAME: its text"): offered to
			       * another Ready pod, with what the client had sent */
};

/* addr is numeric ("127.0.0.1", "::1"); message is NULL except for errors. */
typedef void (*kx_pf_event_fn)(void *ud, enum kx_pf_event ev, const char *addr, int local,
			       int remote, const char *message);

/* One connection's life, for scripts (--events): opened once its pod is
 * chosen (or, never having had one, just before closed), closed once. */
struct kx_pf_conn_event {
	unsigned long long id;       /* 1, 2, … in accept order */
	int closed;                  /* 0: opened, 1: closed */
	const char *peer;            /* the local client: "127.0.0.1:53412", "[::1]:53412" */
	const char *address;         /* the listening address it came in on */
	int local, remote;           /* local port -> the pod's port */
	const char *pod;             /* the pod it went to; NULL: none was chosen */
	/* closed only: */
	unsigned long long bytes_from_client, bytes_to_client;
	long long duration_ms;
	const char *end;             /* "done" (both sides finished), "error" (the pod's side
				      * could not be reached: message), "reset" (the client
				      * went away or reset), "pod-lost" (its session broke),
				      * "shutdown" (the forward ended) */
	const char *message;         /* "error": the kubelet's text; else NULL */
	int replays;                 /* closed: times it moved to another pod (KX_PF_CONN_REPLAYED) */
};
typedef void (*kx_pf_conn_fn)(void *ud, const struct kx_pf_conn_event *e);

struct kx_pf_opts {
	const char *namespace_;            /* NULL = the client's */
	const char *pod;
	const char *pod_resource_version;  /* of the pod as resolved, or NULL */
	const char *pod_uid;               /* its metadata.uid: a new pod of the same name is another pod */
	const struct kx_pf_port *ports;
	size_t nports;
	const char *const *addresses;      /* numeric addresses or "localhost"; NULL = {"localhost"} */
	size_t naddresses;
	kx_pf_event_fn on_event;
	void *ud;
	int handle_signals;                /* SIGINT/SIGTERM/SIGHUP end the forward cleanly (KX_OK) */
	/* kx+: when the pod goes away (deleted, no longer Running) or the session
	 * breaks, choose a Ready pod of this target again (TYPE/NAME as
	 * kx_pod_resolve takes it; a bare pod waits for a pod of that name), waiting
	 * up to resolve_timeout_ms, and carry on with it. The choice runs inside the
	 * forward's loop: connections accepted meanwhile are held and go to the new
	 * pod, and signals are served at once. NULL, or exit_on_pod_loss: end with
	 * KX_ERR_CLOSED ("lost connection to pod") as kubectl does. */
	const char *resolve_target;
	long resolve_timeout_ms;
	int exit_on_pod_loss;
	/* AUTO: the WebSocket tunnel first, SPDY when it is refused (kubectl's
	 * order); or one of them only. */
	enum kx_transport transport;
	/* kx+: balance. Non-NULL: the label selector of the target's pods (a
	 * Service's or a workload's). Each new connection goes to the Ready pod of
	 * the selector with the fewest open connections (round robin among
	 * equals), over one session per pod, opened when first needed. A pod that
	 * stops being Ready or is deleted takes no new connections; its open ones
	 * finish, then its session closes. pod is the first session's pod (one the
	 * caller resolved as Ready): listeners open once it is up. NULL: pinned,
	 * one pod at a time (resolve_target/exit_on_pod_loss apply). */
	const char *balance_selector;
	kx_pf_conn_fn on_conn;             /* NULL: none; ud as for on_event */
};

/* Connect, listen, and forward until a signal (returns KX_OK) or until the
 * session to the pod is lost (KX_ERR_CLOSED). Listening errors (address in use)
 * are KX_ERR_IO naming the address. */
KX_API kx_err kx_port_forward(struct kx_client *c, const struct kx_pf_opts *opts,
			      struct kx_errbuf *eb);

/* Parse one port spec: "8080", "8080:80", ":80" / "0:80" (random local). *local
 * is -1 when the spec names only the remote port ("8080", "http"): the same number.
 * remote_name gets the remote part when it is a name ("http"), with
 * *remote = 0; the caller resolves names against the pod. */
KX_API kx_err kx_pf_parse_spec(const char *spec, int *local, int *remote, char *remote_name,
			       size_t nn, struct kx_errbuf *eb);

/* ---- kx+: kx_forward, every port of many Services at once ---- */

struct kx_fwd_port {
	const char *name;    /* the Service port's name ("" when it has none) */
	int port;            /* the Service's port */
	int local;           /* the local port it listens on */
	const char *target;  /* its targetPort as text: "8080" or "http" */
};

struct kx_fwd_service {
	const char *name;
	const char *address;     /* the numeric loopback address its ports listen on */
	const char *selector;    /* its pods' label selector ("" none) */
	const struct kx_fwd_port *ports;
	size_t nports;           /* TCP ports only */
};

enum kx_fwd_event {
	KX_FWD_STARTED,  /* the Service's ports listen (svc filled in) */
	KX_FWD_STOPPED,  /* the Service was deleted or changed (a change starts it again) */
	KX_FWD_SKIPPED,  /* not forwarded: message says why (no selector, no TCP port) */
	KX_FWD_WAITING,  /* listening, but no Ready pod yet: connections wait for one */
	KX_FWD_FAILED,   /* could not listen (message); the others go on */
	KX_FWD_READY,    /* every Service found at the start listens (svc NULL) */
};

/* svc is NULL for KX_FWD_READY; for SKIPPED/FAILED/STOPPED only its name is sure. */
typedef void (*kx_fwd_service_fn)(void *ud, enum kx_fwd_event ev, const struct kx_fwd_service *svc,
				  const char *message);
typedef void (*kx_fwd_pf_event_fn)(void *ud, const char *service, enum kx_pf_event ev,
				   const char *addr, int local, int remote, const char *message);
typedef void (*kx_fwd_conn_fn)(void *ud, const char *service, const struct kx_pf_conn_event *e);

struct kx_fwd_opts {
	const char *namespace_;            /* NULL = the client's */
	const char *label_selector;        /* of the Services; NULL = every one */
	const char *const *services;       /* names; NULL/0 = the namespace's (watched) */
	size_t nservices;
	int port_offset;                   /* local = the Service's port + this, when free */
	/* A CIDR inside 127.0.0.0/8 ("127.77.0.0/16"): one address of it per
	 * Service (Linux routes all of 127/8 to lo: no root needed). NULL: every
	 * Service on 127.0.0.1. */
	const char *addresses;
	long pod_timeout_ms;               /* how long a connection waits for a Ready pod */
	enum kx_transport transport;
	int handle_signals;                /* SIGINT/SIGTERM/SIGHUP end it cleanly (KX_OK) */
	kx_fwd_service_fn on_service;
	kx_fwd_pf_event_fn on_event;       /* each Service's forward's events; NULL: none */
	kx_fwd_conn_fn on_conn;            /* NULL: none */
	void *ud;
};

/* Forward every TCP port of the selected Services, each balanced over the
 * Ready pods its selector picks (as kx_port_forward with balance_selector),
 * all in one loop, until a signal (KX_OK). Local port: the Service's port (+
 * port_offset) when free on its address, else a free one. The namespace's
 * Services are watched: one added (or matching) later is forwarded, one
 * deleted stops. Explicit names that do not exist are KX_ERR_NOT_FOUND before
 * anything starts; addresses outside 127/8 are KX_ERR_INVALID. */
KX_API kx_err kx_forward(struct kx_client *c, const struct kx_fwd_opts *opts, struct kx_errbuf *eb);

#endif
