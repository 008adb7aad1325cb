/*
 * Fuzz the manifest reader, the fileSchema parsers, the checksum check and the manifest
 * writer (src/stages/manifest.c). The input is a manifest.json as is; it is also read as a
 * fileSchema of each format and as a manifest.checksum.
 *  - A manifest that parses is written back in S3's format; that parses again to the same
 *    files and columns, and its checksum verifies.
 *  - A schema that parses maps onto the canonical schema with every index in range, and
 *    (when no name holds a comma) reads back from its CSV form as an equal schema.
 *  - Failures are S3I_EPARSE (S3I_EINVALID for a schema without Key) or S3I_ENOMEM, with a
 *    one-line message and empty outputs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/errinfo.h"
#include "stages/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_schema(const s3i_inv_schema *s)
{
	if (!s->n)
		abort();
	s3i_inv_schema canon;
	if (s3i_inv_schema_canonical(&canon, 1, NULL))
		abort();
	int32_t map[S3I_COL_COUNT];
	size_t dropped = 0;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_inv_schema_map(s, &canon, map, &dropped, &err);
	if (rc == S3I_OK) {
		size_t used = 0;
		for (size_t j = 0; j < canon.n; j++) {
			if (map[j] < -1 || map[j] >= (int32_t)s->n)
				abort();
			used += map[j] >= 0;
		}
		if (used + dropped != s->n)
			abort();
	} else if (rc != S3I_EINVALID || (s3i_inv_schema_find(s, S3I_COL_BUCKET) >= 0 &&
		s3i_inv_schema_find(s, S3I_COL_KEY) >= 0)) {
		abort();
	}
	s3i_inv_schema_dispose(&canon);
	int comma = 0;
	for (size_t i = 0; i < s->n; i++)
		comma |= strchr(s->names[i], ',') != NULL;
	if (comma)
		return;
	s3i_buf b = S3I_BUF_INIT;
	if (s3i_inv_schema_format(&b, s))
		abort();
	s3i_inv_schema back;
	if (s3i_inv_schema_parse(&back, S3I_FORMAT_CSV, b.ptr, b.size, NULL, &err) != S3I_OK ||
		!s3i_inv_schema_equal(s, &back)) {
		fprintf(stderr, "schema '%s' does not read back: %s\n", b.ptr, err.message);
		abort();
	}
	s3i_inv_schema_dispose(&back);
	s3i_buf_dispose(&b);
}

static void write_back(const s3i_manifest *m)
{
	/* a column name holding a comma cannot be written as a CSV fileSchema */
	for (size_t i = 0; i < m->schema.n; i++)
		if (strchr(m->schema.names[i], ','))
			return;
	s3i_manifest_spec spec = { m->source_bucket, *m->destination_bucket ? m->destination_bucket :
		"dest", m->creation_ms, &m->schema, m->files, m->n_files };
	s3i_buf b = S3I_BUF_INIT;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_manifest_write(&b, &spec, &err);
	if (rc == S3I_EINVALID)
		return;      /* a name that is not UTF-8 cannot be written as JSON */
	if (rc)
		abort();
	s3i_manifest back;
	if (s3i_manifest_parse(&back, b.ptr, b.size, "written", NULL, &err) != S3I_OK) {
		fprintf(stderr, "written manifest does not parse: %s\n", err.message);
		abort();
	}
	if (back.n_files != m->n_files || back.total_size != m->total_size ||
		strcmp(back.source_bucket, m->source_bucket) || back.schema.n != m->schema.n)
		abort();
	for (size_t i = 0; i < m->n_files; i++)
		if (strcmp(back.files[i].key, m->files[i].key) || back.files[i].size != m->files[i].size ||
			strcmp(back.files[i].md5, m->files[i].md5))
			abort();
	char sum[33];
	if (s3i_manifest_checksum_text(b.ptr, b.size, sum) ||
		s3i_manifest_checksum_verify(b.ptr, b.size, sum, 32, "written", &err))
		abort();
	s3i_manifest_dispose(&back);
	s3i_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_manifest m;
	int rc = s3i_manifest_parse(&m, text, size, "fuzz manifest", NULL, &err);
	if (rc == S3I_OK) {
		check_schema(&m.schema);
		write_back(&m);
		s3i_manifest_dispose(&m);
	} else if ((rc != S3I_EPARSE && rc != S3I_ENOMEM) || err.pub.code != rc || m.n_files ||
		m.files || m.schema.n || strchr(err.message, '\n')) {
		abort();
	}

	static const s3i_report_format formats[] = { S3I_FORMAT_CSV, S3I_FORMAT_ORC,
		S3I_FORMAT_PARQUET };
	for (size_t f = 0; f < 3; f++) {
		s3i_inv_schema s;
		s3i_errinfo_init(&err);
		rc = s3i_inv_schema_parse(&s, formats[f], text, size, NULL, &err);
		if (rc == S3I_OK) {
			check_schema(&s);
			s3i_inv_schema_dispose(&s);
		} else if ((rc != S3I_EPARSE && rc != S3I_ENOMEM) || s.n || strchr(err.message, '\n')) {
			abort();
		}
	}

	/* as a manifest.checksum of itself: never a crash, only these answers */
	rc = s3i_manifest_checksum_verify(text, size, text, size, "fuzz", &err);
	if (rc != S3I_OK && rc != S3I_EPARSE && rc != S3I_ECHECKSUM)
		abort();
	return 0;
}
