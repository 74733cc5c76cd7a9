/* SPDX-License-Identifier: Apache-2.0 */
/* Printing shared by commands: documents as -o json / -o yaml, and kubectl's
 * aligned tables (its tabwriter: minimum width 6, padding 3, widths in code points,
 * the last column unpadded) for get, config get-contexts and reach. */
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

/* Visible width: code points, as Go's tabwriter counts them. */
static size_t text_width(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Go's tabwriter as kubectl sets it up (minwidth 6, padding 3, spaces): every
 * column but the last padded to max(6, widest + 3); any number of columns. */
void kx_table_print(FILE *out, const struct kx_table *t)
{
	if (!t->nrows || !t->ncols)
		return;
	size_t *width = calloc(t->ncols, sizeof *width);
	if (!width)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c + 1 < t->ncols; c++) {
			size_t w = text_width(t->cells[r * t->ncols + c]) + 3;
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			fputs(s ? s : "", out);
			if (c + 1 < t->ncols)
				for (size_t pad = text_width(s); pad < (width[c] > 6 ? width[c] : 6); pad++)
					fputc(' ', out);
		}
		fputc('\n', out);
	}
	free(width);
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
