/*
 * Fuzz the Athena response parsers (src/services/athena.c). The input is a JSON document as is.
 *  1. as a GetQueryResults page through a reader, in each header mode: the column callback
 *     runs at most once, rows arrive with consecutive indexes, only row 0 of the first page
 *     can be the header, values are NULL or strings, the counts add up; the same page read
 *     again as the next page must give no header and no second column callback;
 *  2. as a GetQueryExecution body: the state matches its text, strings stay one line.
 * Failures must be S3I_EPARSE (or S3I_ENOMEM) with the reader or output untouched and the
 * code recorded, and the message on one line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/athena.h"
#include "s3insights/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct probe {
	int column_calls;
	size_t ncols;
	int64_t rows;
	int64_t next_index;
	int64_t headers;
	volatile size_t sink;
} probe;

static int on_cols(void *p, const s3i_athena_column *c, size_t n)
{
	probe *s = p;
	s->column_calls++;
	if (!n || !c)
		abort();
	s->ncols = n;
	for (size_t i = 0; i < n; i++) {
		if (!c[i].name || !c[i].type || !c[i].label || !c[i].nullable)
			abort();
		s->sink += strlen(c[i].name) + strlen(c[i].type) + strlen(c[i].label) +
			strlen(c[i].nullable);
	}
	return 0;
}

static int on_row(void *p, const s3i_athena_row *r)
{
	probe *s = p;
	if (r->index != s->next_index++)
		abort();
	if (r->is_header && (r->index != 0 || s->headers))
		abort();
	if (s->ncols && r->count != s->ncols)
		abort();
	if (r->count && !r->values)
		abort();
	for (size_t i = 0; i < r->count; i++)
		if (r->values[i])
			s->sink += strlen(r->values[i]);
	if (r->is_header)
		s->headers++;
	else
		s->rows++;
	return 0;
}

static int one_line(const s3i_errinfo *e)
{
	return !strchr(e->message, '\n') && !strchr(e->message, '\r');
}

static void pages(const char *text, size_t size, s3i_athena_header mode)
{
	s3i_athena_reader r;
	probe s;
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, on_cols, on_row, &s);
	r.header = mode;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_athena_reader_page(&r, text, size, "fuzz page", &err);
	if (rc != S3I_OK) {
		if ((rc != S3I_EPARSE && rc != S3I_ENOMEM) || err.pub.code != rc || !one_line(&err) ||
			r.pages || r.rows || r.header_rows || s.next_index || r.next_token[0])
			abort();
		return;
	}
	if (r.pages != 1 || r.rows != s.rows || r.header_rows != s.headers || r.header_rows > 1 ||
		s.column_calls > 1 || strlen(r.next_token) >= sizeof(r.next_token) ||
		(mode == S3I_ATHENA_HEADER_NONE && r.header_rows))
		abort();
	/* the same body as the next page: no header, no second column callback */
	int64_t before = s.headers;
	s3i_errinfo_init(&err);
	rc = s3i_athena_reader_page(&r, text, size, "fuzz page 2", &err);
	if (rc != S3I_OK && (rc != S3I_ENOMEM || err.pub.code != rc))
		abort();
	if (s.headers != before || s.column_calls > 1 || r.rows != s.rows)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	pages(text, size, S3I_ATHENA_HEADER_AUTO);
	pages(text, size, S3I_ATHENA_HEADER_FIRST_ROW);
	pages(text, size, S3I_ATHENA_HEADER_NONE);

	s3i_athena_execution ex;
	memset(&ex, 0x5a, sizeof(ex));
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_athena_execution_parse(&ex, text, size, "fuzz execution", &err);
	if (rc == S3I_OK) {
		if (!ex.id[0] || strlen(ex.id) >= sizeof(ex.id) || strlen(ex.reason) >= sizeof(ex.reason))
			abort();
		if (ex.state != S3I_ATHENA_STATE_UNKNOWN &&
			strcmp(s3i_athena_state_name(ex.state), ex.state_text))
			abort();
		for (const char *p = ex.reason; *p; p++)
			if ((unsigned char)*p < 0x20)
				abort();
	} else if ((rc != S3I_EPARSE && rc != S3I_ENOMEM) || err.pub.code != rc || !one_line(&err) ||
		(unsigned char)ex.id[0] != 0x5a) {
		abort();
	}
	return 0;
}
