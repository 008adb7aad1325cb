/*
 * Fuzz the parser of the create-table stage's counting rows (s3i_stage_count_row_parse in
 * src/stages/stage_athena.c), the values GetQueryResults gives for SELECT account, region,
 * bucketname, count(*), sum(size). The input is the row's values separated by tabs; a value
 * "\N" is an SQL NULL. A row that parses has its three names non-empty and pointing at the
 * values given, objects and bytes >= 0 and equal to the decimal values (a NULL sum: 0);
 * every other row is S3I_EPARSE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/errinfo.h"
#include "s3insights/errors.h"
#include "stages/stage_athena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VALUES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	const char *values[MAX_VALUES];
	size_t n = 0;
	char *p = text;
	for (;;) {
		char *tab = strchr(p, '\t');
		if (tab)
			*tab = 0;
		if (n < MAX_VALUES)
			values[n] = strcmp(p, "\\N") ? p : NULL;
		n++;
		if (!tab)
			break;
		p = tab + 1;
	}
	if (n > MAX_VALUES)
		n = MAX_VALUES;
	s3i_stage_count_row row;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_stage_count_row_parse(n, values, &row, &err);
	if (rc == S3I_OK) {
		if (n != 5 || row.account != values[0] || row.region != values[1]
		    || row.bucket != values[2] || !*row.account || !*row.region || !*row.bucket)
			abort();
		if (row.objects < 0 || row.bytes < 0)
			abort();
		if (strtoll(values[3], NULL, 10) != row.objects)
			abort();
		if (values[4] ? strtoll(values[4], NULL, 10) != row.bytes : row.bytes != 0)
			abort();
	} else if (rc != S3I_EPARSE || !err.message[0]) {
		abort();
	}
	free(text);
	return 0;
}
