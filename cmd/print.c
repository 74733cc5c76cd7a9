/* SPDX-License-Identifier: Apache-2.0 */
/* Printing shared by commands: documents as -o json / -o yaml, and kubectl's
 * aligned tables (tabwriter with padding 3, the last column unpadded). */
#include "kx.h"

#include <stdlib.h>
#include <string.h>

int kx_print_doc(const cJSON *doc, const char *format)
{
	struct kx_buf out = KX_BUF_INIT(0);
	int json = !strcmp(format, "json");
	kx_err err = json ? kx_json_emit(doc, &out) : kx_yaml_emit(doc, &out);
	if (err) {
		kx_buf_free(&out);
		return kx_report(err, NULL);
	}
	fwrite(out.data, 1, out.len, stdout);
	if (json && (!out.len || out.data[out.len - 1] != '\n'))
		fputc('\n', stdout);
	kx_buf_free(&out);
	return KX_EXIT_OK;
}

void kx_table_free(struct kx_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

int kx_table_add(struct kx_table *t, const char *const *row)
{
	char **cells = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *cells);
	if (!cells)
		return -1;
	t->cells = cells;
	for (size_t c = 0; c < t->ncols; c++)
		cells[t->nrows * t->ncols + c] = strdup(row[c] ? row[c] : "");
	t->nrows++;
	return 0;
}

void kx_table_print(FILE *out, const struct kx_table *t)
{
	size_t width[16] = {0};
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols && c < 16; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t l = s ? strlen(s) : 0;
			if (l > width[c])
				width[c] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols && c < 16; c++) {
			const char *s = t->cells[r * t->ncols + c];
			s = s ? s : "";
			if (c + 1 < t->ncols)
				fprintf(out, "%-*s", (int)(width[c] + 3), s);
			else
				fputs(s, out);
		}
		fputc('\n', out);
	}
}

/* kubectl's printing of an object a command made or changed: -o json|yaml the
 * object (managedFields left out, as kubectl does), -o name "TYPE/NAME", else
 * "TYPE/NAME VERB", with " (dry run)" / " (server dry run)". */
int kx_print_result(const cJSON *obj, const char *format, const char *type, const char *verb,
		    const char *dry_run)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
	const char *n = cJSON_IsString(name) ? name->valuestring : "";
	if (format && (!strcmp(format, "json") || !strcmp(format, "yaml"))) {
		cJSON *copy = cJSON_Duplicate(obj, 1);
		if (!copy)
			return kx_report(KX_ERR_NOMEM, NULL);
		cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(copy, "metadata"),
							"managedFields");
		int rc = kx_print_doc(copy, format);
		cJSON_Delete(copy);
		return rc;
	}
	if (format && !strcmp(format, "name")) {
		printf("%s/%s\n", type, n);
		return KX_EXIT_OK;
	}
	const char *dry = !dry_run ? "" : !strcmp(dry_run, "client") ? " (dry run)"
					: !strcmp(dry_run, "server") ? " (server dry run)" : "";
	printf("%s/%s %s%s\n", type, n, verb, dry);
	return KX_EXIT_OK;
}
