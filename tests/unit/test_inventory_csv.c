/* S3 Inventory CSV reader, writer and rewriter, and the gzip streams
 * (src/stages/inventory_csv.c). */
#include "test_alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "stages/inventory_csv.h"
#include "stages/manifest.h"

/* Rows as S3 writes them: every field quoted, keys URL-encoded ('+' a space). */
static const char s3_rows[] =
	"\"example-source-bucket\",\"object-key-1\",\"\",\"true\",\"false\",\"4\",\"2024-08-21T15:28:26.000Z\","
	"\"1111111111\",\"STANDARD\",\"false\",\"\",\"SSE-S3\"\n"
	"\"example-source-bucket\",\"photos%2Fred+flower.jpg\",\"096fKKXTRTtl3on89fVO.nfljtsv6qko\",\"true\","
	"\"false\",\"1024\",\"2024-08-21T15:28:26.000Z\",\"d41d8cd98f00b204e9800998ecf8427e\",\"GLACIER\","
	"\"true\",\"COMPLETED\",\"SSE-KMS\"\n";

/* ---------------------------------------------------------------- collecting rows */

typedef struct rows {
	s3i_buf text;            /* every row as "f1|f2|...\n" with the fields raw */
	uint64_t n;
	uint64_t last_row;
	int stop_at;             /* stop (return this status) at this row; 0: never */
	int stop_with;
} rows;

static int on_row(void *user, const s3i_csv_row *row)
{
	rows *r = user;
	r->n++;
	r->last_row = row->row;
	for (size_t i = 0; i < row->n; i++) {
		assert_int_equal(strlen(row->fields[i]) <= row->lens[i], 1);
		assert_int_equal(row->fields[i][row->lens[i]], '\0');
		s3i_buf_put(&r->text, row->fields[i], row->lens[i]);
		s3i_buf_putc(&r->text, i + 1 < row->n ? '|' : '\n');
	}
	if (r->stop_at && (int)r->n == r->stop_at)
		return r->stop_with;
	return 0;
}

static void rows_init(rows *r)
{
	memset(r, 0, sizeof(*r));
	s3i_buf_init(&r->text, s3i_test_alloc());
}

/* Read `data` in pieces of `step` bytes; the result text (rows) is compared with `want`. */
static void read_all(const char *data, size_t len, size_t step, const char *want, uint64_t nrows)
{
	rows r;
	rows_init(&r);
	s3i_csv_reader *rd = NULL;
	assert_int_equal(s3i_csv_reader_new(&rd, s3i_test_alloc(), "data file 'k'", 0, on_row, &r),
		S3I_OK);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;
		int rc = s3i_csv_reader_feed(rd, data + off, n, &e);
		if (rc)
			fail_msg("feed failed at %zu: %s", off, e.message);
	}
	int rc = s3i_csv_reader_finish(rd, &e);
	if (rc)
		fail_msg("finish failed: %s", e.message);
	assert_int_equal(s3i_csv_reader_rows(rd), nrows);
	assert_int_equal(r.n, nrows);
	assert_string_equal(s3i_buf_cstr(&r.text), want);
	s3i_csv_reader_free(rd);
	s3i_buf_dispose(&r.text);
}

static void t_reader_s3_rows(void **state)
{
	(void)state;
	const char *want =
		"example-source-bucket|object-key-1||true|false|4|2024-08-21T15:28:26.000Z|1111111111|STANDARD|false||SSE-S3\n"
		"example-source-bucket|photos%2Fred+flower.jpg|096fKKXTRTtl3on89fVO.nfljtsv6qko|true|false|1024|"
		"2024-08-21T15:28:26.000Z|d41d8cd98f00b204e9800998ecf8427e|GLACIER|true|COMPLETED|SSE-KMS\n";
	/* whatever the piece size, the same rows */
	size_t steps[] = { 1, 2, 3, 7, 64, sizeof(s3_rows) };
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		read_all(s3_rows, strlen(s3_rows), steps[i], want, 2);
}

static void t_reader_quoting(void **state)
{
	(void)state;
	/* commas, doubled quotes and a line break inside quotes; unquoted fields; CRLF; blank
	 * lines; a quoted empty field alone is a row; the last row without a newline */
	const char *data =
		"\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
		"plain,,x\r\n"
		"\n\n"
		"\"\"\n"
		"\"\"\"\"\r"
		"last,row";
	const char *want =
		"a,b|say \"hi\"|two\nlines\n"
		"plain||x\n"
		"\n"
		"\"\n"
		"last|row\n";
	for (size_t step = 1; step <= strlen(data); step++)
		read_all(data, strlen(data), step, want, 5);
	read_all("", 0, 1, "", 0);
	read_all("\n\r\n", 3, 1, "", 0);
	read_all("\"x\"", 3, 1, "x\n", 1);
	read_all("x,", 2, 1, "x|\n", 1);
}

static void t_reader_nul_byte(void **state)
{
	(void)state;
	rows r;
	rows_init(&r);
	s3i_csv_reader *rd = NULL;
	assert_int_equal(s3i_csv_reader_new(&rd, s3i_test_alloc(), NULL, 0, on_row, &r), S3I_OK);
	assert_int_equal(s3i_csv_reader_feed(rd, "\"a\0b\",c\n", 8, NULL), S3I_OK);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.text.size, 6);
	assert_memory_equal(r.text.ptr, "a\0b|c\n", 6);
	s3i_csv_reader_free(rd);
	s3i_buf_dispose(&r.text);
}

static int read_bad(const char *data, size_t max_row, const char *part)
{
	rows r;
	rows_init(&r);
	s3i_csv_reader *rd = NULL;
	assert_int_equal(s3i_csv_reader_new(&rd, s3i_test_alloc(), "data file 'd/x.csv.gz'", max_row,
		on_row, &r), S3I_OK);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_csv_reader_feed(rd, data, strlen(data), &e);
	if (!rc)
		rc = s3i_csv_reader_finish(rd, &e);
	assert_int_not_equal(rc, S3I_OK);
	assert_non_null(strstr(e.message, "data file 'd/x.csv.gz': "));
	if (!strstr(e.message, part))
		fail_msg("'%s' lacks '%s'", e.message, part);
	assert_null(strchr(e.message, '\n'));
	/* sticky */
	s3i_errinfo e2;
	s3i_errinfo_init(&e2);
	assert_int_equal(s3i_csv_reader_feed(rd, "\"ok\"\n", 5, &e2), rc);
	assert_string_equal(e2.message, e.message);
	assert_int_equal(s3i_csv_reader_finish(rd, &e2), rc);
	uint64_t n = r.n;
	s3i_csv_reader_free(rd);
	s3i_buf_dispose(&r.text);
	return (int)n;
}

static void t_reader_errors(void **state)
{
	(void)state;
	assert_int_equal(read_bad("\"ok\"\nab\"c\n", 0, "row 2, field 1: a quote inside an unquoted field"), 1);
	assert_int_equal(read_bad("\"a\",\"b\"x\n", 0, "row 1, field 2: text after the closing quote"), 0);
	assert_int_equal(read_bad("\"a\"\n\"open", 0, "row 2: the data ends inside a quoted field"), 1);
	assert_int_equal(read_bad("\"12345678901\"\n", 10, "row 1 is longer than 10 bytes"), 0);
	/* a row of more fields than the limit */
	size_t n = S3I_CSV_MAX_FIELDS + 2;
	char *wide = s3i_malloc(s3i_test_alloc(), n + 2);
	memset(wide, ',', n);
	wide[n] = '\n';
	wide[n + 1] = '\0';
	read_bad(wide, n + 10, "has more than 4096 fields");
	s3i_free(s3i_test_alloc(), wide);

	/* a callback that stops: its status, naming the row */
	rows r;
	rows_init(&r);
	r.stop_at = 2;
	r.stop_with = 1;
	s3i_csv_reader *rd = NULL;
	assert_int_equal(s3i_csv_reader_new(&rd, s3i_test_alloc(), NULL, 0, on_row, &r), S3I_OK);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_csv_reader_feed(rd, "a\nb\nc\n", 6, &e), S3I_EUSER);
	assert_non_null(strstr(e.message, "row 2: stopped by the callback"));
	assert_int_equal(r.n, 2);
	s3i_csv_reader_free(rd);
	s3i_buf_dispose(&r.text);
	rows_init(&r);
	r.stop_at = 1;
	r.stop_with = S3I_ETHROTTLED;
	assert_int_equal(s3i_csv_reader_new(&rd, s3i_test_alloc(), NULL, 0, on_row, &r), S3I_OK);
	assert_int_equal(s3i_csv_reader_feed(rd, "a\n", 2, &e), S3I_ETHROTTLED);
	s3i_csv_reader_free(rd);
	s3i_buf_dispose(&r.text);
	assert_int_equal(s3i_csv_reader_new(NULL, NULL, NULL, 0, on_row, NULL), S3I_EINVALID);
	assert_int_equal(s3i_csv_reader_new(&rd, NULL, NULL, 0, NULL, NULL), S3I_EINVALID);
	assert_int_equal(s3i_csv_reader_feed(NULL, "a", 1, &e), S3I_EINVALID);
	assert_int_equal(s3i_csv_reader_finish(NULL, &e), S3I_EINVALID);
	s3i_csv_reader_free(NULL);
}

/* ---------------------------------------------------------------- keys */

static void t_keys(void **state)
{
	(void)state;
	s3i_buf b = S3I_BUF_INIT;
	b.alloc = s3i_test_alloc();
	struct { const char *key, *enc; } cases[] = {
		{ "a b+c/d%", "a+b%2Bc%2Fd%25" },
		{ "*-._~", "*-._%7E" },
		{ "caf\xc3\xa9 \"x\",y", "caf%C3%A9+%22x%22%2Cy" },
		{ "line\nbreak", "line%0Abreak" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s3i_buf_clear(&b);
		assert_int_equal(s3i_inventory_key_encode(&b, cases[i].key, strlen(cases[i].key)), S3I_OK);
		assert_string_equal(b.ptr, cases[i].enc);
		s3i_buf c = S3I_BUF_INIT;
		c.alloc = s3i_test_alloc();
		assert_int_equal(s3i_inventory_key_decode(&c, b.ptr, b.size), S3I_OK);
		assert_string_equal(s3i_buf_cstr(&c), cases[i].key);
		s3i_buf_dispose(&c);
	}
	/* every byte survives the round trip */
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	s3i_buf_clear(&b);
	assert_int_equal(s3i_inventory_key_encode(&b, all, 256), S3I_OK);
	s3i_buf c = S3I_BUF_INIT;
	c.alloc = s3i_test_alloc();
	assert_int_equal(s3i_inventory_key_decode(&c, b.ptr, b.size), S3I_OK);
	assert_int_equal(c.size, 256);
	assert_memory_equal(c.ptr, all, 256);
	s3i_buf_dispose(&c);
	/* other encoders' output reads the same: %20, lowercase hex, '/' kept */
	c.alloc = s3i_test_alloc();
	assert_int_equal(s3i_inventory_key_decode(&c, "a%20b/c%2fd+e", 13), S3I_OK);
	assert_string_equal(c.ptr, "a b/c/d e");
	s3i_buf_dispose(&c);
	assert_int_equal(s3i_inventory_key_encode(NULL, "a", 1), S3I_EINVALID);
	assert_int_equal(s3i_inventory_key_decode(&b, NULL, 1), S3I_EINVALID);
	s3i_buf_dispose(&b);
}

/* ---------------------------------------------------------------- writer */

static void t_writer(void **state)
{
	(void)state;
	s3i_buf b = S3I_BUF_INIT;
	b.alloc = s3i_test_alloc();
	const char *f[] = { "b", "say \"hi\", ok", NULL, "" };
	assert_int_equal(s3i_csv_put_row(&b, f, NULL, 4), S3I_OK);
	assert_string_equal(b.ptr, "\"b\",\"say \"\"hi\"\", ok\",\"\",\"\"\n");
	s3i_buf_clear(&b);
	size_t lens[] = { 1, 3 };
	const char *g[] = { "x", "a\0b" };
	assert_int_equal(s3i_csv_put_row(&b, g, lens, 2), S3I_OK);
	assert_int_equal(b.size, 10);
	assert_memory_equal(b.ptr, "\"x\",\"a\0b\"\n", 10);
	s3i_buf_clear(&b);
	assert_int_equal(s3i_csv_put_row(&b, NULL, NULL, 0), S3I_OK);
	assert_string_equal(b.ptr, "\n");
	assert_int_equal(s3i_csv_put_row(&b, NULL, NULL, 1), S3I_EINVALID);

	char t[25], i64[21], bo[6];
	s3i_inv_format_time(t, INT64_C(1724254106000));
	assert_string_equal(t, "2024-08-21T15:28:26.000Z");
	s3i_inv_format_i64(i64, INT64_MAX);
	assert_string_equal(i64, "9223372036854775807");
	s3i_inv_format_bool(bo, 1);
	assert_string_equal(bo, "true");
	s3i_inv_format_bool(bo, 0);
	assert_string_equal(bo, "false");

	/* an object in a schema's order, the key encoded, unknown columns empty */
	s3i_inv_schema schema;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	const char *cols = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, "
		"ETag, StorageClass, SomeFutureField";
	assert_int_equal(s3i_inv_schema_parse(&schema, S3I_FORMAT_CSV, cols, strlen(cols),
		s3i_test_alloc(), &e), S3I_OK);
	const char *vals[S3I_COL_COUNT] = { 0 };
	vals[S3I_COL_BUCKET] = "src";
	vals[S3I_COL_KEY] = "photos/red flower \"1\".jpg";
	vals[S3I_COL_IS_LATEST] = "true";
	vals[S3I_COL_IS_DELETE_MARKER] = "false";
	vals[S3I_COL_SIZE] = "1024";
	vals[S3I_COL_LAST_MODIFIED_DATE] = t;
	vals[S3I_COL_ETAG] = "d41d8cd98f00b204e9800998ecf8427e";
	vals[S3I_COL_STORAGE_CLASS] = "STANDARD";
	vals[S3I_COL_REPLICATION_STATUS] = "COMPLETED";   /* not in the schema: not written */
	s3i_buf_clear(&b);
	assert_int_equal(s3i_inv_csv_put_object(&b, &schema, vals), S3I_OK);
	assert_string_equal(b.ptr, "\"src\",\"photos%2Fred+flower+%221%22.jpg\",\"\",\"true\",\"false\","
		"\"1024\",\"2024-08-21T15:28:26.000Z\",\"d41d8cd98f00b204e9800998ecf8427e\",\"STANDARD\",\"\"\n");
	assert_int_equal(s3i_inv_csv_put_object(&b, NULL, vals), S3I_EINVALID);
	s3i_inv_schema_dispose(&schema);
	s3i_buf_dispose(&b);
}

/* ---------------------------------------------------------------- rewriter */

typedef struct sink {
	s3i_buf data;
	size_t calls;
	size_t biggest;
	int fail_after;          /* calls; 0: never */
	int fail_with;
	long blocks_seen;        /* outstanding allocations, at the first call and later */
	long blocks_max;
} sink;

static int to_sink(void *user, const void *data, size_t len)
{
	sink *s = user;
	s->calls++;
	if (len > s->biggest)
		s->biggest = len;
	if (s->fail_after && (int)s->calls >= s->fail_after)
		return s->fail_with;
	long blocks = s3i_test_alloc_outstanding();
	if (!s->blocks_seen)
		s->blocks_seen = blocks;
	if (blocks > s->blocks_max)
		s->blocks_max = blocks;
	return s3i_buf_put(&s->data, data, len);
}

static void sink_init(sink *s)
{
	memset(s, 0, sizeof(*s));
	s3i_buf_init(&s->data, s3i_test_alloc());
}

static void t_rewrite_row(void **state)
{
	(void)state;
	const char *fields[] = { "b", "k", "7" };
	size_t lens[] = { 1, 1, 1 };
	s3i_csv_row row = { 3, fields, lens, 1 };
	int32_t map[] = { 0, 1, -1, 2, 5 };
	s3i_buf b = S3I_BUF_INIT;
	b.alloc = s3i_test_alloc();
	assert_int_equal(s3i_csv_rewrite_row(&b, &row, map, 5), S3I_OK);
	assert_string_equal(b.ptr, "\"b\",\"k\",\"\",\"7\",\"\"\n");
	assert_int_equal(s3i_csv_rewrite_row(&b, &row, NULL, 1), S3I_EINVALID);
	s3i_buf_dispose(&b);
}

static void t_rewriter(void **state)
{
	(void)state;
	s3i_inv_schema from, to;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	/* a data file delivered before ETag was added to the configuration, columns reordered */
	const char *cols = "Bucket, Key, Size, LastModifiedDate, StorageClass";
	assert_int_equal(s3i_inv_schema_parse(&from, S3I_FORMAT_CSV, cols, strlen(cols),
		s3i_test_alloc(), &e), S3I_OK);
	int ids[] = { S3I_COL_BUCKET, S3I_COL_KEY, S3I_COL_SIZE, S3I_COL_LAST_MODIFIED_DATE,
		S3I_COL_ETAG, S3I_COL_STORAGE_CLASS };
	assert_int_equal(s3i_inv_schema_from_ids(&to, ids, 6, s3i_test_alloc()), S3I_OK);
	sink s;
	sink_init(&s);
	s3i_csv_rewriter *rw = NULL;
	assert_int_equal(s3i_csv_rewriter_new(&rw, s3i_test_alloc(), "data file 'd/1.csv.gz'", &from, &to,
		to_sink, &s, &e), S3I_OK);
	const char *in =
		"\"src\",\"a+b\",\"10\",\"2024-01-01T00:00:00.000Z\",\"STANDARD\"\n"
		"\"src\",\"del\",\"\",\"2024-01-02T00:00:00.000Z\",\"\"\n"
		"\"src\",\"q%22\",\"32\",\"2024-01-03T00:00:00.000Z\",\"GLACIER\"";
	for (size_t i = 0; i < strlen(in); i += 5)
		assert_int_equal(s3i_csv_rewriter_feed(rw, in + i, strlen(in) - i < 5 ? strlen(in) - i : 5, &e),
			S3I_OK);
	assert_int_equal(s3i_csv_rewriter_finish(rw, &e), S3I_OK);
	assert_int_equal(s3i_csv_rewriter_rows(rw), 3);
	assert_int_equal(s3i_csv_rewriter_bytes(rw), 42);
	assert_string_equal(s3i_buf_cstr(&s.data),
		"\"src\",\"a+b\",\"10\",\"2024-01-01T00:00:00.000Z\",\"\",\"STANDARD\"\n"
		"\"src\",\"del\",\"\",\"2024-01-02T00:00:00.000Z\",\"\",\"\"\n"
		"\"src\",\"q%22\",\"32\",\"2024-01-03T00:00:00.000Z\",\"\",\"GLACIER\"\n");
	s3i_csv_rewriter_free(rw);
	s3i_buf_dispose(&s.data);

	/* a row with the wrong number of fields, named */
	sink_init(&s);
	assert_int_equal(s3i_csv_rewriter_new(&rw, s3i_test_alloc(), "data file 'd/2.csv.gz'", &from, &to,
		to_sink, &s, &e), S3I_OK);
	assert_int_equal(s3i_csv_rewriter_feed(rw, "\"a\",\"b\",\"1\",\"t\",\"S\"\n\"a\",\"b\"\n", 30, &e),
		S3I_EPARSE);
	assert_non_null(strstr(e.message, "data file 'd/2.csv.gz': row 2 has 2 fields, the fileSchema 5"));
	assert_string_equal(s3i_error_last()->message, e.message);
	assert_int_equal(s3i_csv_rewriter_finish(rw, &e), S3I_EPARSE);
	s3i_csv_rewriter_free(rw);
	s3i_buf_dispose(&s.data);

	/* a Size that is not a number */
	sink_init(&s);
	assert_int_equal(s3i_csv_rewriter_new(&rw, s3i_test_alloc(), "f", &from, &to, to_sink, &s, &e),
		S3I_OK);
	assert_int_equal(s3i_csv_rewriter_feed(rw, "\"a\",\"b\",\"1x\",\"t\",\"S\"\n", 22, &e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "row 1: Size is not a number of bytes"));
	s3i_csv_rewriter_free(rw);
	s3i_buf_dispose(&s.data);

	/* the sink stops the stream with its status */
	sink_init(&s);
	s.fail_after = 1;
	s.fail_with = S3I_ENETWORK;
	assert_int_equal(s3i_csv_rewriter_new(&rw, s3i_test_alloc(), "f", &from, &to, to_sink, &s, &e),
		S3I_OK);
	assert_int_equal(s3i_csv_rewriter_feed(rw, "\"a\",\"b\",\"1\",\"t\",\"S\"\n", 20, &e), S3I_OK);
	assert_int_equal(s3i_csv_rewriter_finish(rw, &e), S3I_ENETWORK);
	s3i_csv_rewriter_free(rw);
	s3i_buf_dispose(&s.data);

	/* a file without Key cannot be rewritten */
	s3i_inv_schema nokey;
	assert_int_equal(s3i_inv_schema_parse(&nokey, S3I_FORMAT_CSV, "Bucket, Size", 12,
		s3i_test_alloc(), &e), S3I_OK);
	rw = NULL;
	assert_int_equal(s3i_csv_rewriter_new(&rw, s3i_test_alloc(), "f", &nokey, &to, to_sink, &s, &e),
		S3I_EINVALID);
	assert_null(rw);
	assert_int_equal(s3i_csv_rewriter_new(&rw, NULL, NULL, NULL, &to, to_sink, &s, &e), S3I_EINVALID);
	s3i_inv_schema_dispose(&nokey);
	s3i_inv_schema_dispose(&from);
	s3i_inv_schema_dispose(&to);
}

/* Many rows through the rewriter: output in pieces of at most 64 KiB, memory flat. */
static void t_rewriter_streaming(void **state)
{
	(void)state;
	s3i_inv_schema from, to;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_inv_schema_parse(&from, S3I_FORMAT_CSV, "Bucket, Key, Size", 17,
		s3i_test_alloc(), &e), S3I_OK);
	assert_int_equal(s3i_inv_schema_canonical(&to, 0, s3i_test_alloc()), S3I_OK);
	sink s;
	sink_init(&s);
	s3i_csv_rewriter *rw = NULL;
	assert_int_equal(s3i_csv_rewriter_new(&rw, s3i_test_alloc(), "f", &from, &to, to_sink, &s, &e),
		S3I_OK);
	char line[128];
	int64_t total = 0;
	long blocks_early = 0;
	for (int i = 0; i < 20000; i++) {
		int n = snprintf(line, sizeof(line), "\"bucket\",\"dir%%2Fkey-%06d\",\"%d\"\n", i, i);
		total += i;
		assert_int_equal(s3i_csv_rewriter_feed(rw, line, (size_t)n, &e), S3I_OK);
		if (i == 5000)   /* after the first flush: the sink has its buffer */
			blocks_early = s3i_test_alloc_outstanding();
	}
	long blocks_late = s3i_test_alloc_outstanding();
	assert_int_equal(s3i_csv_rewriter_finish(rw, &e), S3I_OK);
	assert_int_equal(s3i_csv_rewriter_rows(rw), 20000);
	assert_int_equal(s3i_csv_rewriter_bytes(rw), total);
	assert_true(s.calls > 10);
	assert_true(s.biggest <= 64 * 1024 + 1024);
	/* the same blocks after 5000 rows and after 20000: nothing piles up */
	assert_int_equal(blocks_late, blocks_early);
	s3i_csv_rewriter_free(rw);
	s3i_buf_dispose(&s.data);
	s3i_inv_schema_dispose(&from);
	s3i_inv_schema_dispose(&to);
}

/* ---------------------------------------------------------------- gzip */

static void gunzip_all(const void *gz, size_t len, size_t step, s3i_buf *out, int want_rc,
	const char *part)
{
	sink s;
	sink_init(&s);
	s3i_gunzip *g = NULL;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_gunzip_new(&g, s3i_test_alloc(), "data file 'd/x.csv.gz'", to_sink, &s, &e),
		S3I_OK);
	int rc = S3I_OK;
	for (size_t off = 0; !rc && off < len; off += step)
		rc = s3i_gunzip_feed(g, (const char *)gz + off, len - off < step ? len - off : step, &e);
	if (!rc)
		rc = s3i_gunzip_finish(g, &e);
	assert_int_equal(rc, want_rc);
	if (rc) {
		assert_non_null(strstr(e.message, "data file 'd/x.csv.gz': "));
		if (part && !strstr(e.message, part))
			fail_msg("'%s' lacks '%s'", e.message, part);
		assert_int_equal(s3i_gunzip_feed(g, "x", 1, &e), rc);   /* sticky */
	} else {
		assert_int_equal(s3i_gunzip_out_bytes(g), s.data.size);
		assert_true(s.biggest <= 64 * 1024);
	}
	if (out)
		s3i_buf_put(out, s.data.ptr ? s.data.ptr : "", s.data.size);
	s3i_gunzip_free(g);
	s3i_buf_dispose(&s.data);
}

static void gzip_all(const void *data, size_t len, size_t step, s3i_buf *gz, char md5[33])
{
	sink s;
	sink_init(&s);
	s3i_gzip_writer *w = NULL;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_gzip_writer_new(&w, s3i_test_alloc(), 6, to_sink, &s, &e), S3I_OK);
	assert_int_equal(s3i_gzip_writer_md5(w, md5), S3I_EINVALID);   /* not before finish */
	for (size_t off = 0; off < len; off += step)
		assert_int_equal(s3i_gzip_writer_write(w, (const char *)data + off,
			len - off < step ? len - off : step, &e), S3I_OK);
	assert_int_equal(s3i_gzip_writer_finish(w, &e), S3I_OK);
	assert_int_equal(s3i_gzip_writer_finish(w, &e), S3I_OK);      /* twice is harmless */
	assert_int_equal(s3i_gzip_writer_in_bytes(w), len);
	assert_int_equal(s3i_gzip_writer_out_bytes(w), s.data.size);
	assert_int_equal(s3i_gzip_writer_md5(w, md5), S3I_OK);
	char check[33];
	assert_int_equal(s3i_md5_hex(s.data.ptr, s.data.size, check), S3I_OK);
	assert_string_equal(md5, check);
	assert_int_equal(s3i_gzip_writer_write(w, "x", 1, &e), S3I_EINVALID);
	assert_true(s.biggest <= 64 * 1024);
	s3i_buf_put(gz, s.data.ptr, s.data.size);
	s3i_gzip_writer_free(w);
	s3i_buf_dispose(&s.data);
}

static void t_gzip_round_trip(void **state)
{
	(void)state;
	s3i_buf gz = S3I_BUF_INIT, back = S3I_BUF_INIT;
	gz.alloc = back.alloc = s3i_test_alloc();
	char md5[33];
	gzip_all(s3_rows, strlen(s3_rows), 7, &gz, md5);
	assert_int_equal((unsigned char)gz.ptr[0], 0x1f);   /* gzip magic */
	assert_int_equal((unsigned char)gz.ptr[1], 0x8b);
	size_t steps[] = { 1, 3, 100, gz.size };
	for (size_t i = 0; i < 4; i++) {
		s3i_buf_clear(&back);
		gunzip_all(gz.ptr, gz.size, steps[i], &back, S3I_OK, NULL);
		assert_int_equal(back.size, strlen(s3_rows));
		assert_memory_equal(back.ptr, s3_rows, back.size);
	}
	/* two members one after the other read as their concatenation */
	size_t one = gz.size;
	char *copy = s3i_malloc(s3i_test_alloc(), one);     /* not from itself: the buffer moves */
	memcpy(copy, gz.ptr, one);
	s3i_buf_put(&gz, copy, one);
	s3i_free(s3i_test_alloc(), copy);
	s3i_buf_clear(&back);
	gunzip_all(gz.ptr, gz.size, 13, &back, S3I_OK, NULL);
	assert_int_equal(back.size, 2 * strlen(s3_rows));
	/* an empty content is a valid (small) gzip file */
	s3i_buf_clear(&gz);
	gzip_all("", 0, 1, &gz, md5);
	assert_true(gz.size >= 20);
	s3i_buf_clear(&back);
	gunzip_all(gz.ptr, gz.size, 1, &back, S3I_OK, NULL);
	assert_int_equal(back.size, 0);
	s3i_buf_dispose(&gz);
	s3i_buf_dispose(&back);
}

static void t_gzip_large(void **state)
{
	(void)state;
	/* 4 MiB of rows, poorly compressible keys: many output chunks, memory flat */
	size_t n = 4u << 20;
	char *data = s3i_malloc(s3i_test_alloc(), n);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (char)('a' + (x >> 16) % 26);
		if (i % 80 == 79)
			data[i] = '\n';
	}
	sink s;
	sink_init(&s);
	s3i_gzip_writer *w = NULL;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_gzip_writer_new(&w, s3i_test_alloc(), 1, to_sink, &s, &e), S3I_OK);
	long before = s3i_test_alloc_outstanding();
	for (size_t off = 0; off < n; off += 100000)
		assert_int_equal(s3i_gzip_writer_write(w, data + off, n - off < 100000 ? n - off : 100000, &e),
			S3I_OK);
	assert_int_equal(s3i_gzip_writer_finish(w, &e), S3I_OK);
	assert_true(s.calls > 20);
	assert_true(s.biggest <= 64 * 1024);
	/* no allocation other than the sink's growing buffer happened while writing */
	assert_true(s.blocks_max <= before + 1);
	s3i_gzip_writer_free(w);
	s3i_buf back = S3I_BUF_INIT;
	back.alloc = s3i_test_alloc();
	gunzip_all(s.data.ptr, s.data.size, 70000, &back, S3I_OK, NULL);
	assert_int_equal(back.size, n);
	assert_memory_equal(back.ptr, data, n);
	s3i_buf_dispose(&back);
	s3i_buf_dispose(&s.data);
	s3i_free(s3i_test_alloc(), data);
}

static void t_gzip_errors(void **state)
{
	(void)state;
	gunzip_all("plain text, not gzip", 20, 5, NULL, S3I_EPARSE, "not gzip or corrupt near byte");
	gunzip_all("", 0, 1, NULL, S3I_EPARSE, "no gzip data at all");
	s3i_buf gz = S3I_BUF_INIT;
	gz.alloc = s3i_test_alloc();
	char md5[33];
	gzip_all(s3_rows, strlen(s3_rows), 1000, &gz, md5);
	/* truncated: every cut but the full length fails at the end */
	gunzip_all(gz.ptr, gz.size - 1, 3, NULL, S3I_EPARSE, "ends inside a gzip member");
	gunzip_all(gz.ptr, 5, 1, NULL, S3I_EPARSE, "truncated after 5 bytes");
	/* a corrupted byte in the middle, and a broken CRC at the end */
	gz.ptr[gz.size / 2] ^= 0x55;
	gunzip_all(gz.ptr, gz.size, 4, NULL, S3I_EPARSE, NULL);
	gz.ptr[gz.size / 2] ^= 0x55;
	gz.ptr[gz.size - 6] ^= 0x01;
	gunzip_all(gz.ptr, gz.size, 4, NULL, S3I_EPARSE, "incorrect data check");
	gz.ptr[gz.size - 6] ^= 0x01;
	/* garbage after a good member */
	s3i_buf_puts(&gz, "junk");
	gunzip_all(gz.ptr, gz.size, 64, NULL, S3I_EPARSE, "not gzip or corrupt");

	/* a sink that stops, in both directions */
	sink s;
	sink_init(&s);
	s.fail_after = 1;
	s.fail_with = 7;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_gunzip *g = NULL;
	assert_int_equal(s3i_gunzip_new(&g, s3i_test_alloc(), NULL, to_sink, &s, &e), S3I_OK);
	assert_int_equal(s3i_gunzip_feed(g, gz.ptr, gz.size - 4, &e), S3I_EUSER);
	assert_non_null(strstr(e.message, "gzip data: the output stopped"));
	s3i_gunzip_free(g);
	s3i_gzip_writer *w = NULL;
	s.calls = 0;
	s.fail_with = S3I_ESERVICE;
	assert_int_equal(s3i_gzip_writer_new(&w, s3i_test_alloc(), 9, to_sink, &s, &e), S3I_OK);
	int wrc = s3i_gzip_writer_write(w, "abc", 3, &e);   /* zlib may emit the header now */
	assert_true(wrc == S3I_OK || wrc == S3I_ESERVICE);
	assert_int_equal(s3i_gzip_writer_finish(w, &e), S3I_ESERVICE);
	assert_int_equal(s3i_gzip_writer_finish(w, &e), S3I_ESERVICE);
	assert_int_equal(s3i_gzip_writer_write(w, "abc", 3, &e), S3I_ESERVICE);
	assert_int_equal(s3i_gzip_writer_md5(w, md5), S3I_EINVALID);
	s3i_gzip_writer_free(w);
	s3i_buf_dispose(&s.data);
	assert_int_equal(s3i_gzip_writer_new(&w, NULL, 10, to_sink, &s, &e), S3I_EINVALID);
	assert_int_equal(s3i_gzip_writer_new(&w, NULL, 1, NULL, &s, &e), S3I_EINVALID);
	assert_int_equal(s3i_gunzip_new(&g, NULL, NULL, NULL, &s, &e), S3I_EINVALID);
	assert_int_equal(s3i_gunzip_finish(NULL, &e), S3I_EINVALID);
	s3i_gzip_writer_free(NULL);
	s3i_gunzip_free(NULL);
	s3i_buf_dispose(&gz);
}

/* ---------------------------------------------------------------- end to end */

/* Objects -> CSV -> gzip -> gunzip -> reader -> decoded keys: the same objects. */
typedef struct collect {
	s3i_buf keys;
	uint64_t n;
} collect;

static int collect_row(void *user, const s3i_csv_row *row)
{
	collect *c = user;
	c->n++;
	s3i_inventory_key_decode(&c->keys, row->fields[1], row->lens[1]);
	s3i_buf_putc(&c->keys, '\n');
	return 0;
}

static int feed_reader(void *user, const void *data, size_t len)
{
	return s3i_csv_reader_feed(user, data, len, NULL);
}

static void t_end_to_end(void **state)
{
	(void)state;
	const char *keys[] = { "plain", "with space", "a+b", "dir/sub/file.txt", "q\"uote,comma",
		"caf\xc3\xa9", "100%", "tab\there", "new\nline" };
	size_t nk = sizeof(keys) / sizeof(keys[0]);
	s3i_inv_schema schema;
	assert_int_equal(s3i_inv_schema_canonical(&schema, 1, s3i_test_alloc()), S3I_OK);
	s3i_buf csv = S3I_BUF_INIT, gz = S3I_BUF_INIT, want = S3I_BUF_INIT;
	csv.alloc = gz.alloc = want.alloc = s3i_test_alloc();
	for (size_t i = 0; i < nk; i++) {
		const char *vals[S3I_COL_COUNT] = { 0 };
		vals[S3I_COL_BUCKET] = "src";
		vals[S3I_COL_KEY] = keys[i];
		vals[S3I_COL_SIZE] = "1";
		assert_int_equal(s3i_inv_csv_put_object(&csv, &schema, vals), S3I_OK);
		s3i_buf_printf(&want, "%s\n", keys[i]);
	}
	char md5[33];
	gzip_all(csv.ptr, csv.size, 17, &gz, md5);
	collect c = { S3I_BUF_INIT, 0 };
	c.keys.alloc = s3i_test_alloc();
	s3i_csv_reader *rd = NULL;
	assert_int_equal(s3i_csv_reader_new(&rd, s3i_test_alloc(), NULL, 0, collect_row, &c), S3I_OK);
	s3i_gunzip *g = NULL;
	assert_int_equal(s3i_gunzip_new(&g, s3i_test_alloc(), NULL, feed_reader, rd, NULL), S3I_OK);
	assert_int_equal(s3i_gunzip_feed(g, gz.ptr, gz.size, NULL), S3I_OK);
	assert_int_equal(s3i_gunzip_finish(g, NULL), S3I_OK);
	assert_int_equal(s3i_csv_reader_finish(rd, NULL), S3I_OK);
	assert_int_equal(c.n, nk);
	assert_string_equal(c.keys.ptr, want.ptr);
	s3i_gunzip_free(g);
	s3i_csv_reader_free(rd);
	s3i_buf_dispose(&c.keys);
	s3i_buf_dispose(&csv);
	s3i_buf_dispose(&gz);
	s3i_buf_dispose(&want);
	s3i_inv_schema_dispose(&schema);
}

/* ---------------------------------------------------------------- memory */

static void t_oom(void **state)
{
	(void)state;
	s3i_inv_schema from, to;
	assert_int_equal(s3i_inv_schema_parse(&from, S3I_FORMAT_CSV, "Bucket, Key, Size", 17,
		s3i_test_alloc(), NULL), S3I_OK);
	assert_int_equal(s3i_inv_schema_canonical(&to, 1, s3i_test_alloc()), S3I_OK);
	long base = s3i_test_alloc_outstanding();
	int done = 0;
	for (long n = 0; n < 1000 && !done; n++) {
		sink s;
		sink_init(&s);
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		s3i_csv_rewriter *rw = NULL;
		s3i_gzip_writer *w = NULL;
		s3i_gunzip *g = NULL;
		s3i_test_alloc_fail_after(n);
		int rc = s3i_csv_rewriter_new(&rw, s3i_test_alloc(), "f", &from, &to, to_sink, &s, &e);
		if (!rc)
			rc = s3i_csv_rewriter_feed(rw, "\"a\",\"b\",\"1\"\n\"c\",\"d\",\"2\"\n", 24, &e);
		if (!rc)
			rc = s3i_csv_rewriter_finish(rw, &e);
		if (!rc)
			rc = s3i_gzip_writer_new(&w, s3i_test_alloc(), 0, to_sink, &s, &e);
		if (!rc)
			rc = s3i_gzip_writer_write(w, "abc", 3, &e);
		if (!rc)
			rc = s3i_gzip_writer_finish(w, &e);
		if (!rc)
			rc = s3i_gunzip_new(&g, s3i_test_alloc(), "g", to_sink, &s, &e);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK)
			done = 1;
		else
			assert_int_equal(rc, S3I_ENOMEM);
		s3i_csv_rewriter_free(rw);
		s3i_gzip_writer_free(w);
		s3i_gunzip_free(g);
		s3i_buf_dispose(&s.data);
		assert_int_equal(s3i_test_alloc_outstanding(), base);
	}
	assert_true(done);
	s3i_inv_schema_dispose(&from);
	s3i_inv_schema_dispose(&to);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_reader_s3_rows),
		S3I_TEST(t_reader_quoting),
		S3I_TEST(t_reader_nul_byte),
		S3I_TEST(t_reader_errors),
		S3I_TEST(t_keys),
		S3I_TEST(t_writer),
		S3I_TEST(t_rewrite_row),
		S3I_TEST(t_rewriter),
		S3I_TEST(t_rewriter_streaming),
		S3I_TEST(t_gzip_round_trip),
		S3I_TEST(t_gzip_large),
		S3I_TEST(t_gzip_errors),
		S3I_TEST(t_end_to_end),
		S3I_TEST(t_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
