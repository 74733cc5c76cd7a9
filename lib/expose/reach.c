/* SPDX-License-Identifier: Apache-2.0 */
/* The reach view (<kx/expose.h>): every way into a Service, built from the Service,
 * the Nodes and the Ingresses of its namespace — cluster IP and DNS name, node ports
 * on each node's address, load-balancer addresses or pending, external IPs, Ingress
 * rules as URLs, the API server proxy URL and the port-forward command. Pure: the
 * caller fetches the objects (kx reach). */
#include <kx/expose.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	const cJSON *in;
	const char *first = NULL;
	cJSON_ArrayForEach(in, kx_json_get(kx_json_get(kx_json_get(ing, "status"), "loadBalancer"), "ingress")) {
		const char *a = kx_json_str(in, "ip") ? kx_json_str(in, "ip") : kx_json_str(in, "hostname");
		if (a) {
			cJSON_AddItemToArray(addrs, cJSON_CreateString(a));
			first = first ? first : a;
		}
	}
	/* the URL: the rule's host, else the Ingress's address; "<pending>" until it has one */
	const char *h = host ? host : first ? first : "<pending>";
	char url[1200];
	snprintf(url, sizeof url, strchr(h, ':') ? "%s://[%s]%s" : "%s://%s%s", tls ? "https" : "http", h,
		 path ? path : "/");
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
