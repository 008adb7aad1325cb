/*
 * Fuzz the run report of the notify stage (src/stages/report.c) with outside text in every
 * field. The input is split at NUL bytes into fields: bucket name, bucket reason, status,
 * query name, query reason, then result cells (two columns), and the run's error last.
 * Checks:
 *  - every value written for HTML has no < > " ' and no control character, and both writers
 *    give valid UTF-8 on one line;
 *  - the whole report builds (or fails only with S3I_ENOMEM), subject, text and HTML are
 *    valid UTF-8, the subject is one line, and the MIME message SES would get builds from them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/str.h"
#include "services/mime.h"
#include "stages/report.h"
#include "s3insights/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 16

static void check_value(const char *s)
{
	s3i_buf b;
	s3i_buf_init(&b, NULL);
	if (s3i_report_put_html(&b, s, 0))
		abort();
	for (size_t i = 0; i < b.size; i++) {
		unsigned char c = (unsigned char)b.ptr[i];
		if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"' || c == '\'')
			abort();
	}
	if (!s3i_utf8_valid(b.ptr ? b.ptr : "", b.size))
		abort();
	s3i_buf_clear(&b);
	if (s3i_report_put_text(&b, s, 7))
		abort();
	for (size_t i = 0; i < b.size; i++)
		if ((unsigned char)b.ptr[i] < 0x20)
			abort();
	if (!s3i_utf8_valid(b.ptr ? b.ptr : "", b.size))
		abort();
	s3i_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = 0;
	const char *f[MAX_FIELDS];
	size_t n = 0;
	f[n++] = copy;
	for (size_t i = 0; i < size && n < MAX_FIELDS; i++)
		if (!copy[i])
			f[n++] = copy + i + 1;
	for (size_t i = n; i < MAX_FIELDS; i++)
		f[i] = "";
	for (size_t i = 0; i < n; i++)
		check_value(f[i]);

	s3i_report_bucket b[2] = {
		{ "123456789012", "us-east-1", f[0], f[2], f[1], 3, 300 },
		{ "111111111111", "eu-west-1", f[1], "failed", f[0], 0, 0 },
	};
	const char *cols[2] = { f[5], f[6] };
	const char *cells[4] = { f[7], f[8], size & 1 ? NULL : f[9], f[10] };
	s3i_report_query q = { f[3], "SUCCEEDED", f[4], f[11], f[12], 2, 10, 2, cols, 2, cells, NULL };
	s3i_report r = { 0 };
	r.deployment = "dep1";
	r.run_id = "r1";
	r.failed = (int)(size & 2);
	r.error_stage = f[13];
	r.error = f[15];
	r.region = "us-east-1";
	r.database = "s3insights";
	r.table = "r1inventorytable";
	r.buckets = b;
	r.nbuckets = 2;
	r.queries = &q;
	r.nqueries = 1;
	s3i_buf subject, text, html;
	s3i_buf_init(&subject, NULL);
	s3i_buf_init(&text, NULL);
	s3i_buf_init(&html, NULL);
	int rc = s3i_report_build(&r, &subject, &text, &html, NULL);
	if (rc && rc != S3I_ENOMEM)
		abort();
	if (!rc) {
		if (!s3i_utf8_valid(s3i_buf_cstr(&subject), subject.size)
		    || !s3i_utf8_valid(s3i_buf_cstr(&text), text.size)
		    || !s3i_utf8_valid(s3i_buf_cstr(&html), html.size))
			abort();
		if (strchr(s3i_buf_cstr(&subject), '\n') || strchr(s3i_buf_cstr(&subject), '\r'))
			abort();
		s3i_mime_address to = { NULL, "ops@example.com" };
		s3i_mime_message m = { 0 };
		m.from.address = "reports@example.com";
		m.to = &to;
		m.nto = 1;
		m.subject = s3i_buf_cstr(&subject);
		m.text = s3i_buf_cstr(&text);
		m.html = s3i_buf_cstr(&html);
		m.date_ms = 1764806400000;
		m.message_id = "<x@example.com>";
		m.boundary = "=_fuzz";
		s3i_buf mime;
		s3i_buf_init(&mime, NULL);
		rc = s3i_mime_build(&mime, &m, NULL);
		if (rc && rc != S3I_ENOMEM)
			abort();
		s3i_buf_dispose(&mime);
	}
	s3i_buf_dispose(&subject);
	s3i_buf_dispose(&text);
	s3i_buf_dispose(&html);
	free(copy);
	return 0;
}
