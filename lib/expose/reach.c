/* SPDX-License-Identifier: Apache-2.0 */
/* The reach view (<kx/expose.h>): every way into a Service, built from the Service,
 * the Nodes and the Ingresses of its namespace — cluster IP and DNS name, node ports
 * on each node's address, load-balancer addresses or pending, external IPs, Ingress
 * rules as URLs, the API server proxy URL and the port-forward command. Pure: the
 * caller fetches the objects (kx reach). */
#include <kx/expose.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reach_internal.h"

/* A guess kubectl users make too: port 443 or a port named https speaks TLS. */
static const char *scheme_of(const cJSON *port)
{
	const char *n = kx_json_str(port, "name");
	return kx_json_int(port, "port", 0) == 443 || (n && !strcmp(n, "https")) ? "https" : "http";
}

/* "[v6]" for IPv6 addresses in host:port. */
static void host_port(char *out, size_t n, const char *host, int port)
{
	snprintf(out, n, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

static void add_url(cJSON *obj, const char *scheme, const char *hostport)
{
	char url[600];
	snprintf(url, sizeof url, "%s://%s", scheme, hostport);
	cJSON_AddStringToObject(obj, "url", url);
}

/* The addresses a node port is open on: each node's ExternalIPs, else its InternalIPs. */
static void node_ports(cJSON *view, const cJSON *svc_ports, const cJSON *nodes)
{
	cJSON *list = cJSON_AddArrayToObject(view, "nodePorts");
	const cJSON *p, *node, *a;
	cJSON_ArrayForEach(p, svc_ports) {
		int np = kx_json_int(p, "nodePort", 0);
		if (!np)
			continue;
		cJSON_ArrayForEach(node, kx_json_get(nodes, "items")) {
			const cJSON *addrs = kx_json_get(kx_json_get(node, "status"), "addresses");
			const char *want = "ExternalIP";
			int have_ext = 0;
			cJSON_ArrayForEach(a, addrs) have_ext |= kx_json_str(a, "type") && !strcmp(kx_json_str(a, "type"), want);
			if (!have_ext)
				want = "InternalIP";
			cJSON_ArrayForEach(a, addrs) {
				const char *t = kx_json_str(a, "type"), *ad = kx_json_str(a, "address");
				if (!t || !ad || strcmp(t, want))
					continue;
				cJSON *e = cJSON_CreateObject();
				cJSON_AddNumberToObject(e, "port", kx_json_int(p, "port", 0));
				if (kx_json_str(p, "name"))
					cJSON_AddStringToObject(e, "portName", kx_json_str(p, "name"));
				cJSON_AddNumberToObject(e, "nodePort", np);
				cJSON_AddStringToObject(e, "node", kx_json_str(kx_json_get(node, "metadata"), "name"));
				cJSON_AddStringToObject(e, "addressType", t);
				char hp[300];
				host_port(hp, sizeof hp, ad, np);
				cJSON_AddStringToObject(e, "address", hp);
				add_url(e, scheme_of(p), hp);
				cJSON_AddItemToArray(list, e);
			}
		}
	}
}

/* host:port for every (address, service port) pair. */
static cJSON *addresses_for(const char *host, const cJSON *svc_ports)
{
	cJSON *list = cJSON_CreateArray();
	const cJSON *p;
	cJSON_ArrayForEach(p, svc_ports) {
		cJSON *e = cJSON_CreateObject();
		char hp[300];
		host_port(hp, sizeof hp, host, kx_json_int(p, "port", 0));
		cJSON_AddNumberToObject(e, "port", kx_json_int(p, "port", 0));
		cJSON_AddStringToObject(e, "address", hp);
		add_url(e, scheme_of(p), hp);
		cJSON_AddItemToArray(list, e);
	}
	return list;
}

static int load_balancer(cJSON *view, const cJSON *svc, const cJSON *svc_ports)
{
	const char *type = kx_json_str(kx_json_get(svc, "spec"), "type");
	if (!type || strcmp(type, "LoadBalancer"))
		return 0;
	cJSON *lb = cJSON_AddObjectToObject(view, "loadBalancer");
	cJSON *addrs = cJSON_AddArrayToObject(lb, "addresses");
	const cJSON *in;
	int n = 0;
	cJSON_ArrayForEach(in, kx_json_get(kx_json_get(kx_json_get(svc, "status"), "loadBalancer"), "ingress")) {
		const char *host = kx_json_str(in, "ip") ? kx_json_str(in, "ip") : kx_json_str(in, "hostname");
		if (!host)
			continue;
		cJSON *e = addresses_for(host, svc_ports), *x;
		while ((x = cJSON_DetachItemFromArray(e, 0)))
			cJSON_AddItemToArray(addrs, x);
		cJSON_Delete(e);
		n++;
	}
	cJSON_AddBoolToObject(lb, "pending", !n);
	return n;
}

/* The service port an Ingress backend names, or NULL. */
static const cJSON *backend_port(const cJSON *backend, const char *svc_name, const cJSON *svc_ports)
{
	const cJSON *s = kx_json_get(backend, "service");
	const char *n = kx_json_str(s, "name");
	if (!n || strcmp(n, svc_name))
		return NULL;
	const cJSON *bp = kx_json_get(s, "port"), *p;
	cJSON_ArrayForEach(p, svc_ports) {
		const char *pn = kx_json_str(p, "name"), *bn = kx_json_str(bp, "name");
		if ((bn && pn && !strcmp(bn, pn)) || (kx_json_int(bp, "number", 0) && kx_json_int(bp, "number", 0) == kx_json_int(p, "port", 0)))
			return p;
	}
	return NULL;
}

static int tls_covers(const cJSON *ing, const char *host)
{
	const cJSON *t, *h;
	cJSON_ArrayForEach(t, kx_json_get(kx_json_get(ing, "spec"), "tls")) {
		const cJSON *hosts = kx_json_get(t, "hosts");
		if (!cJSON_GetArraySize(hosts))
			return 1; /* no hosts: the entry applies to every host */
		cJSON_ArrayForEach(h, hosts) if (cJSON_IsString(h) && host && !strcmp(h->valuestring, host)) return 1;
	}
	return 0;
}

static void add_ingress_route(cJSON *list, const cJSON *ing, const char *host, const char *path,
			      const char *path_type, const cJSON *port, int *with_address)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "ingress", kx_json_str(kx_json_get(ing, "metadata"), "name"));
	if (host)
		cJSON_AddStringToObject(e, "host", host);
	cJSON_AddStringToObject(e, "path", path ? path : "/");
	if (path_type)
		cJSON_AddStringToObject(e, "pathType", path_type);
	cJSON_AddNumberToObject(e, "servicePort", kx_json_int(port, "port", 0));
	int tls = tls_covers(ing, host);
	cJSON_AddBoolToObject(e, "tls", tls);
	cJSON *addrs = cJSON_AddArrayToObject(e, "addresses");
	const cJSON *in, *first_in = NULL;
	const char *first = NULL;
	cJSON_ArrayForEach(in, kx_json_get(kx_json_get(kx_json_get(ing, "status"), "loadBalancer"), "ingress")) {
		const char *a = kx_json_str(in, "ip") ? kx_json_str(in, "ip") : kx_json_str(in, "hostname");
		if (a) {
			cJSON_AddItemToArray(addrs, cJSON_CreateString(a));
			first_in = first ? first_in : in;
			first = first ? first : a;
		}
	}
	/* The port the controller listens on: 443/80 by the scheme, unless the
	 * address's status lists ports (then that one if listed, else the first). */
	int defport = tls ? 443 : 80, iport = defport;
	const cJSON *ps = kx_json_get(first_in, "ports"), *pp;
	if (cJSON_GetArraySize(ps)) {
		iport = kx_json_int(cJSON_GetArrayItem(ps, 0), "port", defport);
		cJSON_ArrayForEach(pp, ps) if (kx_json_int(pp, "port", 0) == defport) iport = defport;
	}
	if (first)
		cJSON_AddNumberToObject(e, "ingressPort", iport);
	/* the URL: the rule's host, else the Ingress's address; "<pending>" until it has one */
	const char *h = host ? host : first ? first : "<pending>";
	char url[1200], portpart[16] = "";
	if (iport != defport)
		snprintf(portpart, sizeof portpart, ":%d", iport);
	snprintf(url, sizeof url, strchr(h, ':') ? "%s://[%s]%s%s" : "%s://%s%s%s", tls ? "https" : "http", h,
		 portpart, path ? path : "/");
	cJSON_AddStringToObject(e, "url", url);
	cJSON_AddBoolToObject(e, "pending", !first);
	*with_address += first != NULL;
	cJSON_AddItemToArray(list, e);
}

/* Every Ingress rule (and default backend) that sends traffic to the service. */
static int ingresses(cJSON *view, const cJSON *svc, const cJSON *svc_ports, const cJSON *list)
{
	const char *name = kx_json_str(kx_json_get(svc, "metadata"), "name");
	cJSON *routes = cJSON_AddArrayToObject(view, "ingresses");
	int with_address = 0;
	const cJSON *ing, *rule, *path;
	cJSON_ArrayForEach(ing, kx_json_get(list, "items")) {
		const cJSON *spec = kx_json_get(ing, "spec"), *port;
		cJSON_ArrayForEach(rule, kx_json_get(spec, "rules")) {
			cJSON_ArrayForEach(path, kx_json_get(kx_json_get(rule, "http"), "paths")) {
				if ((port = backend_port(kx_json_get(path, "backend"), name, svc_ports)))
					add_ingress_route(routes, ing, kx_json_str(rule, "host"), kx_json_str(path, "path"),
							  kx_json_str(path, "pathType"), port, &with_address);
			}
		}
		if ((port = backend_port(kx_json_get(spec, "defaultBackend"), name, svc_ports)))
			add_ingress_route(routes, ing, NULL, NULL, NULL, port, &with_address);
	}
	return with_address;
}

/* A local port for port-forward: the service port, moved above 1024 when it
 * would need privileges. */
static int local_port(int port)
{
	return port < 1024 ? port + 8000 : port;
}

cJSON *kx_reach_view(const cJSON *svc, const cJSON *nodes, const cJSON *ings, int *addresses)
{
	const cJSON *meta = kx_json_get(svc, "metadata"), *spec = kx_json_get(svc, "spec");
	const char *ns = kx_json_str(meta, "namespace"), *name = kx_json_str(meta, "name");
	const cJSON *ports = kx_json_get(spec, "ports"), *p;
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "namespace", ns ? ns : "");
	cJSON_AddStringToObject(v, "name", name ? name : "");
	cJSON_AddStringToObject(v, "type", kx_json_str(spec, "type") ? kx_json_str(spec, "type") : "ClusterIP");
	if (kx_json_str(spec, "clusterIP"))
		cJSON_AddStringToObject(v, "clusterIP", kx_json_str(spec, "clusterIP"));
	char dns[600];
	snprintf(dns, sizeof dns, "%s.%s.svc", name ? name : "", ns ? ns : "");
	cJSON_AddStringToObject(v, "dns", dns);
	cJSON_AddItemToObject(v, "ports", ports ? cJSON_Duplicate(ports, 1) : cJSON_CreateArray());
	const char *cip = kx_json_str(spec, "clusterIP");
	if (cip && strcmp(cip, "None"))
		cJSON_AddItemToObject(v, "clusterAddresses", addresses_for(cip, ports));
	if (kx_json_str(spec, "externalName"))
		cJSON_AddStringToObject(v, "externalName", kx_json_str(spec, "externalName"));
	node_ports(v, ports, nodes);
	*addresses = load_balancer(v, svc, ports);
	cJSON *ext = cJSON_AddArrayToObject(v, "externalIPs");
	const cJSON *ip;
	cJSON_ArrayForEach(ip, kx_json_get(spec, "externalIPs")) {
		if (!cJSON_IsString(ip))
			continue;
		cJSON *e = addresses_for(ip->valuestring, ports), *x;
		while ((x = cJSON_DetachItemFromArray(e, 0)))
			cJSON_AddItemToArray(ext, x);
		cJSON_Delete(e);
	}
	*addresses += ingresses(v, svc, ports, ings);
	cJSON *proxy = cJSON_AddArrayToObject(v, "proxy"), *pf = cJSON_AddArrayToObject(v, "portForward");
	cJSON_ArrayForEach(p, ports) {
		const char *pn = kx_json_str(p, "name");
		char id[64], url[1200], cmd[700];
		if (pn && *pn)
			snprintf(id, sizeof id, "%s", pn);
		else
			snprintf(id, sizeof id, "%d", kx_json_int(p, "port", 0));
		snprintf(url, sizeof url, "http://127.0.0.1:8001/api/v1/namespaces/%s/services/%s%s:%s/proxy/",
			 ns ? ns : "", strcmp(scheme_of(p), "https") ? "" : "https:", name ? name : "", id);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "port", kx_json_int(p, "port", 0));
		cJSON_AddStringToObject(e, "url", url);
		cJSON_AddItemToArray(proxy, e);
		const char *proto = kx_json_str(p, "protocol");
		if (proto && strcmp(proto, "TCP"))
			continue; /* port-forward carries TCP only */
		snprintf(cmd, sizeof cmd, "kx port-forward -n %s svc/%s %d:%d", ns ? ns : "", name ? name : "",
			 local_port(kx_json_int(p, "port", 0)), kx_json_int(p, "port", 0));
		e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "port", kx_json_int(p, "port", 0));
		cJSON_AddNumberToObject(e, "localPort", local_port(kx_json_int(p, "port", 0)));
		cJSON_AddStringToObject(e, "command", cmd);
		cJSON_AddItemToArray(pf, e);
	}
	return v;
}

/* ---- static checks (kx reach --check): what the objects alone say is broken ---- */

void kx__reach_result(cJSON *obj, const char *status, const char *fmt, va_list ap)
{
	char msg[900];
	vsnprintf(msg, sizeof msg, fmt, ap);
	cJSON_AddStringToObject(obj, "status", status);
	cJSON_AddStringToObject(obj, "message", msg);
}

static void finding(cJSON *list, const char *check, const char *status, const char *where,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void finding(cJSON *list, const char *check, const char *status, const char *where,
		    const char *fmt, ...)
{
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "check", check);
	cJSON_AddStringToObject(f, "object", where);
	va_list ap;
	va_start(ap, fmt);
	kx__reach_result(f, status, fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(list, f);
}

/* Whether a pod's containers declare a port named name. */
static int pod_declares(const cJSON *pod, const char *name)
{
	const cJSON *c, *p;
	cJSON_ArrayForEach(c, kx_json_get(kx_json_get(pod, "spec"), "containers"))
		cJSON_ArrayForEach(p, kx_json_get(c, "ports")) if (kx_json_str(p, "name") &&
								   !strcmp(kx_json_str(p, "name"), name)) return 1;
	return 0;
}

static int service_exists(const cJSON *svcs, const char *name)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, kx_json_get(svcs, "items")) if (!strcmp(kx_json_str(kx_json_get(s, "metadata"), "name") ? kx_json_str(kx_json_get(s, "metadata"), "name") : "", name)) return 1;
	return 0;
}

/* One Ingress backend: a missing service, or a port our service does not have. */
static void check_backend(cJSON *list, const char *ing, const char *host, const char *path,
			  const cJSON *backend, const char *svc_name, const cJSON *svc_ports,
			  const cJSON *svcs)
{
	const cJSON *s = kx_json_get(backend, "service");
	const char *n = kx_json_str(s, "name");
	if (!n)
		return;
	char where[300], rule[700], port[80];
	snprintf(where, sizeof where, "ingress/%s", ing);
	snprintf(rule, sizeof rule, "%s%s", host ? host : "*", path ? path : (host ? "/" : " (default backend)"));
	const cJSON *bp = kx_json_get(s, "port");
	if (kx_json_str(bp, "name"))
		snprintf(port, sizeof port, "%s", kx_json_str(bp, "name"));
	else
		snprintf(port, sizeof port, "%d", kx_json_int(bp, "number", 0));
	if (strcmp(n, svc_name)) {
		if (svcs && !service_exists(svcs, n))
			finding(list, "ingressBackend", "failed", where, "%s sends traffic to service %s, which does not exist",
				rule, n);
		return;
	}
	if (!backend_port(backend, svc_name, svc_ports))
		finding(list, "ingressBackend", "failed", where, "%s sends traffic to port %s of service %s, which it does not have",
			rule, port, svc_name);
}

static int names_service(const cJSON *ing, const char *svc_name)
{
	const cJSON *spec = kx_json_get(ing, "spec"), *rule, *path;
	const char *d = kx_json_str(kx_json_get(kx_json_get(spec, "defaultBackend"), "service"), "name");
	if (d && !strcmp(d, svc_name))
		return 1;
	cJSON_ArrayForEach(rule, kx_json_get(spec, "rules"))
		cJSON_ArrayForEach(path, kx_json_get(kx_json_get(rule, "http"), "paths")) {
			const char *n = kx_json_str(kx_json_get(kx_json_get(path, "backend"), "service"), "name");
			if (n && !strcmp(n, svc_name))
				return 1;
		}
	return 0;
}

static int endpoint_ready(const cJSON *ep)
{
	/* the API: a missing ready condition means ready */
	const cJSON *r = kx_json_get(kx_json_get(ep, "conditions"), "ready");
	return !r || cJSON_IsTrue(r);
}

void kx_reach_static(cJSON *view, const cJSON *svc, const cJSON *pods, const cJSON *slices,
		     const cJSON *ings, const cJSON *svcs)
{
	cJSON *list = cJSON_AddArrayToObject(view, "findings");
	const cJSON *spec = kx_json_get(svc, "spec"), *ports = kx_json_get(spec, "ports");
	const char *name = kx_json_str(kx_json_get(svc, "metadata"), "name");
	const char *type = kx_json_str(spec, "type");
	char where[300];
	snprintf(where, sizeof where, "svc/%s", name ? name : "");
	if (!name)
		return;
	if (!type || strcmp(type, "ExternalName")) {
		const cJSON *sel = kx_json_get(spec, "selector"), *kv;
		char selstr[600] = "";
		cJSON_ArrayForEach(kv, sel) if (cJSON_IsString(kv)) {
			size_t l = strlen(selstr);
			snprintf(selstr + l, sizeof selstr - l, "%s%s=%s", l ? "," : "", kv->string, kv->valuestring);
		}
		int npods = cJSON_GetArraySize(kx_json_get(pods, "items"));
		if (!*selstr)
			finding(list, "selector", "skipped", where, "no selector: endpoints are managed by hand");
		else if (pods && !npods)
			finding(list, "selector", "failed", where, "selector %s matches no pod", selstr);
		else if (pods)
			finding(list, "selector", "ok", where, "selector %s matches %d pod%s", selstr, npods,
				npods == 1 ? "" : "s");
		/* targetPort names: every matching pod must declare them */
		const cJSON *p, *pod;
		cJSON_ArrayForEach(p, ports) {
			const cJSON *tp = kx_json_get(p, "targetPort");
			if (!*selstr || !cJSON_IsString(tp))
				continue;
			const char *first = NULL;
			int missing = 0;
			cJSON_ArrayForEach(pod, kx_json_get(pods, "items")) if (!pod_declares(pod, tp->valuestring)) {
				first = first ? first : kx_json_str(kx_json_get(pod, "metadata"), "name");
				missing++;
			}
			if (missing > 1)
				finding(list, "targetPort", "failed", where, "targetPort %s not declared by pod %s (and %d more)",
					tp->valuestring, first, missing - 1);
			else if (missing)
				finding(list, "targetPort", "failed", where, "targetPort %s not declared by pod %s",
					tp->valuestring, first);
		}
		if (slices) {
			int ready = 0;
			const cJSON *s, *ep;
			cJSON_ArrayForEach(s, kx_json_get(slices, "items"))
				cJSON_ArrayForEach(ep, kx_json_get(s, "endpoints")) ready += endpoint_ready(ep);
			if (ready)
				finding(list, "endpoints", "ok", where, "%d Ready endpoint%s", ready, ready == 1 ? "" : "s");
			else
				finding(list, "endpoints", "failed", where, "no Ready endpoints behind the service");
		}
	}
	const cJSON *ing, *rule, *path;
	cJSON_ArrayForEach(ing, kx_json_get(ings, "items")) {
		if (!names_service(ing, name))
			continue;
		const char *in = kx_json_str(kx_json_get(ing, "metadata"), "name");
		const cJSON *ispec = kx_json_get(ing, "spec");
		cJSON_ArrayForEach(rule, kx_json_get(ispec, "rules"))
			cJSON_ArrayForEach(path, kx_json_get(kx_json_get(rule, "http"), "paths"))
				check_backend(list, in ? in : "", kx_json_str(rule, "host"), kx_json_str(path, "path"),
					      kx_json_get(path, "backend"), name, ports, svcs);
		if (kx_json_get(ispec, "defaultBackend"))
			check_backend(list, in ? in : "", NULL, NULL, kx_json_get(ispec, "defaultBackend"), name, ports, svcs);
	}
}
