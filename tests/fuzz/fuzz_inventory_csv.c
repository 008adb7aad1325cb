/*
 * Fuzz the inventory CSV reader, writer and rewriter, the key codec and the gzip streams
 * (src/stages/inventory_csv.c). The input is the content of a data file; its first byte also
 * chooses the piece size for streaming.
 *  - Read whole and read in pieces: the same rows (or the same error).
 *  - Rows written back with the writer read back as the same rows.
 *  - Every key decodes and re-encodes to something that decodes the same.
 *  - gzip of the input gunzips to the input; the input itself as gzip fails cleanly.
 *  - The rewriter onto the canonical schema never fails other than with S3I_EPARSE.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/errinfo.h"
#include "stages/inventory_csv.h"
#include "stages/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every row as its fields with their lengths, so two readings compare byte for byte. */
static int dump_row(void *user, const s3i_csv_row *row)
{
	s3i_buf *b = user;
	s3i_buf_printf(b, "%zu:", row->n);
	for (size_t i = 0; i < row->n; i++) {
		if (row->fields[i][row->lens[i]] != '\0')
			abort();
		s3i_buf_printf(b, "%zu=", row->lens[i]);
		s3i_buf_put(b, row->fields[i], row->lens[i]);
	}
	s3i_buf_putc(b, '\n');
	return 0;
}

/* Write every row back with the writer. */
static int rewrite_row(void *user, const s3i_csv_row *row)
{
	if (s3i_csv_put_row(user, row->fields, row->lens, row->n))
		abort();
	return 0;
}

/* Read data in pieces of `step`; the dump of rows, the status, the row count. */
static int read_csv(const char *data, size_t size, size_t step, size_t max_row,
	s3i_csv_row_fn fn, void *user, uint64_t *rows)
{
	s3i_csv_reader *r = NULL;
	if (s3i_csv_reader_new(&r, NULL, "fuzz", max_row, fn, user))
		abort();
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = S3I_OK;
	for (size_t off = 0; !rc && off < size; off += step)
		rc = s3i_csv_reader_feed(r, data + off, size - off < step ? size - off : step, &err);
	if (!rc)
		rc = s3i_csv_reader_finish(r, &err);
	if (rc && (rc != S3I_EPARSE || strchr(err.message, '\n')))
		abort();
	*rows = s3i_csv_reader_rows(r);
	s3i_csv_reader_free(r);
	return rc;
}

static int to_buf(void *user, const void *data, size_t len)
{
	return s3i_buf_put(user, data, len);
}

static int discard(void *user, const void *data, size_t len)
{
	(void)user;
	(void)data;
	(void)len;
	return 0;
}

static void gzip_round_trip(const char *data, size_t size)
{
	s3i_buf gz = S3I_BUF_INIT, back = S3I_BUF_INIT;
	s3i_gzip_writer *w = NULL;
	if (s3i_gzip_writer_new(&w, NULL, 1, to_buf, &gz, NULL) ||
		s3i_gzip_writer_write(w, data, size, NULL) || s3i_gzip_writer_finish(w, NULL) ||
		s3i_gzip_writer_out_bytes(w) != gz.size)
		abort();
	s3i_gzip_writer_free(w);
	s3i_gunzip *g = NULL;
	if (s3i_gunzip_new(&g, NULL, "fuzz", to_buf, &back, NULL) ||
		s3i_gunzip_feed(g, gz.ptr, gz.size, NULL) || s3i_gunzip_finish(g, NULL) ||
		back.size != size || (size && memcmp(back.ptr, data, size)))
		abort();
	s3i_gunzip_free(g);
	s3i_buf_dispose(&gz);
	s3i_buf_dispose(&back);
	/* the input as gzip: any answer but a crash; errors are EPARSE */
	if (s3i_gunzip_new(&g, NULL, "fuzz", discard, NULL, NULL))
		abort();
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_gunzip_feed(g, data, size, &err);
	if (!rc)
		rc = s3i_gunzip_finish(g, &err);
	if (rc && rc != S3I_EPARSE)
		abort();
	s3i_gunzip_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t step = size ? (size_t)(data[0] % 17) + 1 : 1;

	s3i_buf whole = S3I_BUF_INIT, pieces = S3I_BUF_INIT;
	uint64_t n1 = 0, n2 = 0;
	int rc1 = read_csv(text, size, size ? size : 1, 4096, dump_row, &whole, &n1);
	int rc2 = read_csv(text, size, step, 4096, dump_row, &pieces, &n2);
	if (rc1 != rc2 || n1 != n2 || whole.size != pieces.size ||
		(whole.size && memcmp(whole.ptr, pieces.ptr, whole.size)))
		abort();

	if (rc1 == S3I_OK) {
		/* written back and read again: the same rows */
		s3i_buf written = S3I_BUF_INIT, again = S3I_BUF_INIT;
		uint64_t n3 = 0, n4 = 0;
		read_csv(text, size, size ? size : 1, 4096, rewrite_row, &written, &n3);
		/* quoting makes rows longer: read them back without the small limit */
		if (read_csv(written.ptr ? written.ptr : "", written.size, step, 0, dump_row, &again,
			&n4) || n3 != n1 || n4 != n1 || again.size != whole.size ||
			(whole.size && memcmp(again.ptr, whole.ptr, whole.size)))
			abort();
		s3i_buf_dispose(&written);
		s3i_buf_dispose(&again);
	}
	s3i_buf_dispose(&whole);
	s3i_buf_dispose(&pieces);

	/* keys: decode, encode, decode gives the same bytes */
	s3i_buf dec = S3I_BUF_INIT, enc = S3I_BUF_INIT, dec2 = S3I_BUF_INIT;
	if (s3i_inventory_key_decode(&dec, text, size) ||
		s3i_inventory_key_encode(&enc, dec.ptr, dec.size) ||
		s3i_inventory_key_decode(&dec2, enc.ptr, enc.size) || dec.size != dec2.size ||
		(dec.size && memcmp(dec.ptr, dec2.ptr, dec.size)))
		abort();
	s3i_buf_dispose(&dec);
	s3i_buf_dispose(&enc);
	s3i_buf_dispose(&dec2);

	gzip_round_trip(text, size);

	/* the rewriter onto the canonical schema */
	s3i_inv_schema from, to;
	if (s3i_inv_schema_parse(&from, S3I_FORMAT_CSV, "Bucket, Key, Size, ETag", 23, NULL, NULL) ||
		s3i_inv_schema_canonical(&to, 1, NULL))
		abort();
	s3i_csv_rewriter *rw = NULL;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	if (s3i_csv_rewriter_new(&rw, NULL, "fuzz", &from, &to, discard, NULL, &err))
		abort();
	int rc = s3i_csv_rewriter_feed(rw, text, size, &err);
	if (!rc)
		rc = s3i_csv_rewriter_finish(rw, &err);
	if ((rc && rc != S3I_EPARSE) || s3i_csv_rewriter_bytes(rw) < 0)
		abort();
	s3i_csv_rewriter_free(rw);
	s3i_inv_schema_dispose(&from);
	s3i_inv_schema_dispose(&to);
	return 0;
}
