/* SPDX-License-Identifier: Apache-2.0 */
/* libkx: JSON and YAML documents. libkx's object model is cJSON (a Debian
 * package); this header makes it part of the public API and adds YAML both ways. */
#ifndef KX_JSON_H
#define KX_JSON_H

#include <kx/buf.h>
#include <kx/common.h>
#include <cjson/cJSON.h>

/* Parse one YAML document (or JSON, which is YAML) into a cJSON tree.
 * `source` names the input in error messages ("kubeconfig /x/config"): errors
 * read like "<source>: line 3, column 5: mapping values are not allowed here".
 * Scalars: plain true/false/null/numbers as YAML 1.1 core (like sigs.k8s.io/yaml),
 * quoted scalars are always strings. Anchors/aliases are refused (no billion laughs).
 * Input is capped at len; nesting deeper than 64 levels is refused.
 * *out is owned by the caller (cJSON_Delete). */
KX_API kx_err kx_yaml_parse(const char *data, size_t len, const char *source,
			    cJSON **out, struct kx_errbuf *eb);

/* Emit a cJSON tree as YAML the way kubectl prints it (sigs.k8s.io/yaml over
 * JSON: keys sorted, two-space indent, block style, strings quoted only when
 * needed, lists of maps as "- key: v"). Appends to out. */
KX_API kx_err kx_yaml_emit(const cJSON *doc, struct kx_buf *out);

/* Emit JSON like kubectl's -o json: four-space indent, keys in the tree's order. */
KX_API kx_err kx_json_emit(const cJSON *doc, struct kx_buf *out);

/* Reading a tree without repeating cJSON's type checks. Each returns NULL (or def)
 * when obj is not an object, the member is missing or has another type. */
KX_API const cJSON *kx_json_get(const cJSON *obj, const char *key);
KX_API const char *kx_json_str(const cJSON *obj, const char *key);
KX_API int kx_json_int(const cJSON *obj, const char *key, int def);
/* The member at a path of keys ending with NULL: kx_json_path(pod, "status", "phase", NULL). */
KX_API const cJSON *kx_json_path(const cJSON *obj, ...);

/* Sort every object's members by key, bytewise, at every depth, keeping the order of
 * equal keys: Go's encoding/json writes maps so, and kubectl prints objects as maps.
 * KX_ERR_NOMEM leaves the tree intact (partly sorted). */
KX_API kx_err kx_json_sort_keys(cJSON *v);

/* Add key=value to a JSON object keeping keys sorted (Go marshals maps so),
 * replacing an existing key. */
KX_API kx_err kx_json_map_set(cJSON *map, const char *key, const char *value);

#endif
