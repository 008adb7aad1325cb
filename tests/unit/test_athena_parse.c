/* The Athena response parsers (src/services/athena.c): GetQueryResults pages through a reader
 * (column info once, rows in order with nulls, the header row flagged under each header mode,
 * paging state, strictness: a bad page delivers nothing, callbacks that stop) and
 * GetQueryExecution bodies (AWS's documented shape, moto's, failures with AthenaError, nulls,
 * cuts at character boundaries). Every allocation goes through the counting allocator. */
#include "test_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/athena.h"

/* A page as AWS documents it: ColumnInfo with every member, the header row first. */
static const char PAGE1[] =
	"{\"NextToken\":\"tok-2\",\"UpdateCount\":0,\"ResultSet\":{"
	"\"ResultSetMetadata\":{\"ColumnInfo\":["
	"{\"CatalogName\":\"hive\",\"SchemaName\":\"\",\"TableName\":\"\",\"Name\":\"bucket\","
	"\"Label\":\"bucket\",\"Type\":\"varchar\",\"Precision\":2147483647,\"Scale\":0,"
	"\"Nullable\":\"UNKNOWN\",\"CaseSensitive\":true},"
	"{\"CatalogName\":\"hive\",\"SchemaName\":\"\",\"TableName\":\"\",\"Name\":\"objects\","
	"\"Label\":\"objects\",\"Type\":\"bigint\",\"Precision\":19,\"Scale\":0,"
	"\"Nullable\":\"UNKNOWN\",\"CaseSensitive\":false}]},"
	"\"Rows\":[{\"Data\":[{\"VarCharValue\":\"bucket\"},{\"VarCharValue\":\"objects\"}]},"
	"{\"Data\":[{\"VarCharValue\":\"b1\"},{\"VarCharValue\":\"42\"}]},"
	"{\"Data\":[{\"VarCharValue\":\"b2\"},{}]}]}}";

/* The next page: the same metadata, no header, no NextToken. */
static const char PAGE2[] =
	"{\"UpdateCount\":0,\"ResultSet\":{\"ResultSetMetadata\":{\"ColumnInfo\":["
	"{\"Name\":\"bucket\",\"Type\":\"varchar\"},{\"Name\":\"objects\",\"Type\":\"bigint\"}]},"
	"\"Rows\":[{\"Data\":[{\"VarCharValue\":\"bucket\"},{\"VarCharValue\":\"objects\"}]},"
	"{\"Data\":[{\"VarCharValue\":\"b3 \\u00e9\\u65e5\"},{\"VarCharValue\":\"7\"}]}]}}";

typedef struct seen {
	int column_calls;
	size_t ncols;
	char cols[8][64];
	char types[8][64];
	int32_t precision[8];
	char rows[32][128];      /* "v1|v2" with NULL as "<null>", "H:" prefix for the header */
	int64_t index[32];
	size_t nrows;
	size_t stop_at;          /* stop when this many rows were seen (0: never) */
} seen;

static int on_cols(void *p, const s3i_athena_column *c, size_t n)
{
	seen *s = p;
	s->column_calls++;
	s->ncols = n;
	for (size_t i = 0; i < n && i < 8; i++) {
		snprintf(s->cols[i], sizeof(s->cols[i]), "%s", c[i].name);
		snprintf(s->types[i], sizeof(s->types[i]), "%s", c[i].type);
		s->precision[i] = c[i].precision;
		assert_non_null(c[i].label);
		assert_non_null(c[i].nullable);
	}
	return 0;
}

static int on_row(void *p, const s3i_athena_row *r)
{
	seen *s = p;
	assert_true(s->nrows < 32);
	char *out = s->rows[s->nrows];
	size_t n = (size_t)snprintf(out, 128, "%s", r->is_header ? "H:" : "");
	for (size_t i = 0; i < r->count; i++)
		n += (size_t)snprintf(out + n, 128 - n, "%s%s", i ? "|" : "",
			r->values[i] ? r->values[i] : "<null>");
	s->index[s->nrows] = r->index;
	s->nrows++;
	return s->stop_at && s->nrows >= s->stop_at;
}

static void reader(s3i_athena_reader *r, seen *s)
{
	memset(s, 0, sizeof(*s));
	s3i_athena_reader_init(r, on_cols, on_row, s);
	r->alloc = s3i_test_alloc();
}

static int page(s3i_athena_reader *r, const char *json)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_athena_reader_page(r, json, strlen(json), "test page", &e);
	if (rc)
		assert_int_equal(e.pub.code, rc);
	return rc;
}

static void test_two_pages(void **state)
{
	(void)state;
	s3i_athena_reader r;
	seen s;
	reader(&r, &s);
	assert_int_equal(page(&r, PAGE1), S3I_OK);
	assert_string_equal(r.next_token, "tok-2");
	assert_int_equal(r.pages, 1);
	assert_int_equal(r.rows, 2);
	assert_int_equal(r.header_rows, 1);
	assert_int_equal(r.update_count, 0);
	assert_int_equal(page(&r, PAGE2), S3I_OK);
	assert_string_equal(r.next_token, "");
	assert_int_equal(r.pages, 2);
	assert_int_equal(r.rows, 4);
	assert_int_equal(r.header_rows, 1);
	/* columns once, with their details */
	assert_int_equal(s.column_calls, 1);
	assert_int_equal(s.ncols, 2);
	assert_string_equal(s.cols[0], "bucket");
	assert_string_equal(s.types[1], "bigint");
	assert_int_equal(s.precision[0], 2147483647);
	/* rows in order; only the very first is the header, even though page 2 repeats it */
	const char *want[] = { "H:bucket|objects", "b1|42", "b2|<null>", "bucket|objects",
		"b3 \xc3\xa9\xe6\x97\xa5|7" };
	assert_int_equal(s.nrows, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(s.rows[i], want[i]);
		assert_int_equal(s.index[i], (int64_t)i);
	}
}

static void test_header_modes(void **state)
{
	(void)state;
	/* SHOW TABLES: no header row; AUTO must not take the first table for one */
	const char *show = "{\"ResultSet\":{\"ResultSetMetadata\":{\"ColumnInfo\":[{\"Name\":"
		"\"tab_name\",\"Type\":\"string\"}]},\"Rows\":[{\"Data\":[{\"VarCharValue\":\"t1\"}]},"
		"{\"Data\":[{\"VarCharValue\":\"t2\"}]}]}}";
	s3i_athena_reader r;
	seen s;
	reader(&r, &s);
	assert_int_equal(page(&r, show), S3I_OK);
	assert_int_equal(r.header_rows, 0);
	assert_int_equal(r.rows, 2);
	assert_string_equal(s.rows[0], "t1");

	reader(&r, &s);
	r.header = S3I_ATHENA_HEADER_FIRST_ROW;
	assert_int_equal(page(&r, show), S3I_OK);
	assert_string_equal(s.rows[0], "H:t1");
	assert_int_equal(r.header_rows, 1);
	assert_int_equal(r.rows, 1);

	reader(&r, &s);
	r.header = S3I_ATHENA_HEADER_NONE;
	assert_int_equal(page(&r, PAGE1), S3I_OK);
	assert_string_equal(s.rows[0], "bucket|objects");
	assert_int_equal(r.header_rows, 0);
	assert_int_equal(r.rows, 3);

	/* resuming from a token: the header was on a page before */
	reader(&r, &s);
	snprintf(r.next_token, sizeof(r.next_token), "tok-1");
	assert_int_equal(page(&r, PAGE1), S3I_OK);
	assert_string_equal(s.rows[0], "bucket|objects");
	assert_int_equal(r.header_rows, 0);

	/* a header with a null is not the column names */
	reader(&r, &s);
	assert_int_equal(page(&r, "{\"ResultSet\":{\"ResultSetMetadata\":{\"ColumnInfo\":[{\"Name\":"
		"\"a\",\"Type\":\"varchar\"},{\"Name\":\"b\",\"Type\":\"varchar\"}]},\"Rows\":["
		"{\"Data\":[{\"VarCharValue\":\"a\"},{}]}]}}"), S3I_OK);
	assert_int_equal(r.header_rows, 0);
}

static void test_empty_and_minimal_pages(void **state)
{
	(void)state;
	s3i_athena_reader r;
	seen s;
	const char *pages[] = { "{}", "{\"ResultSet\":null}", "{\"ResultSet\":{}}",
		"{\"ResultSet\":{\"Rows\":[],\"ResultSetMetadata\":{\"ColumnInfo\":[]}}}",
		"{\"ResultSet\":{\"Rows\":[{}]}}", "{\"UpdateCount\":12,\"NextToken\":null}" };
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		reader(&r, &s);
		assert_int_equal(page(&r, pages[i]), S3I_OK);
		assert_int_equal(s.column_calls, 0);
		assert_string_equal(r.next_token, "");
		assert_int_equal(r.pages, 1);
	}
	assert_int_equal(r.update_count, 12);
	/* callbacks may be NULL */
	s3i_athena_reader_init(&r, NULL, NULL, NULL);
	r.alloc = s3i_test_alloc();
	assert_int_equal(page(&r, PAGE1), S3I_OK);
	assert_int_equal(r.rows, 2);
}

static void test_bad_pages_deliver_nothing(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "[]", "null", "{\"ResultSet\":[]}", "{\"ResultSet\":{\"Rows\":{}}}",
		"{\"ResultSet\":{\"Rows\":[1]}}", "{\"ResultSet\":{\"Rows\":[{\"Data\":{}}]}}",
		"{\"ResultSet\":{\"Rows\":[{\"Data\":[{\"VarCharValue\":1}]}]}}",
		"{\"ResultSet\":{\"Rows\":[{\"Data\":[\"x\"]}]}}",
		"{\"NextToken\":\"\"}", "{\"NextToken\":5}", "{\"UpdateCount\":\"1\"}",
		"{\"ResultSet\":{\"ResultSetMetadata\":[]}}",
		"{\"ResultSet\":{\"ResultSetMetadata\":{\"ColumnInfo\":{}}}}",
		"{\"ResultSet\":{\"ResultSetMetadata\":{\"ColumnInfo\":[{\"Type\":\"x\"}]}}}",
		"{\"ResultSet\":{\"ResultSetMetadata\":{\"ColumnInfo\":[{\"Name\":\"a\",\"Type\":7}]}}}",
		"{\"ResultSet\":{\"ResultSetMetadata\":{\"ColumnInfo\":[{\"Name\":\"a\",\"Type\":\"x\","
		"\"Precision\":\"9\"}]}}}",
		/* a row that does not match the columns, after good rows */
		"{\"ResultSet\":{\"ResultSetMetadata\":{\"ColumnInfo\":[{\"Name\":\"a\",\"Type\":\"x\"}]},"
		"\"Rows\":[{\"Data\":[{\"VarCharValue\":\"1\"}]},{\"Data\":[{},{}]}]}}",
		"{\"ResultSet\":{\"Rows\":[{\"Data\":[{\"VarCharValue\":\"1\"}]}]}} trailing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s3i_athena_reader r;
		seen s;
		reader(&r, &s);
		snprintf(r.next_token, sizeof(r.next_token), "before");
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		int rc = s3i_athena_reader_page(&r, bad[i], strlen(bad[i]), "bad page", &e);
		if (rc != S3I_EPARSE)
			fail_msg("page %zu: rc %d (%s)", i, rc, e.message);
		assert_non_null(strstr(e.message, "bad page"));
		assert_int_equal(s.nrows, 0);
		assert_int_equal(s.column_calls, 0);
		assert_int_equal(r.pages, 0);
		assert_string_equal(r.next_token, "before");
	}
	/* page 2 with another number of columns than page 1 */
	s3i_athena_reader r;
	seen s;
	reader(&r, &s);
	assert_int_equal(page(&r, PAGE1), S3I_OK);
	int rc = page(&r, "{\"ResultSet\":{\"ResultSetMetadata\":{\"ColumnInfo\":[{\"Name\":\"a\","
		"\"Type\":\"x\"}]}}}");
	assert_int_equal(rc, S3I_EPARSE);
	assert_non_null(strstr(s3i_error_last()->message, "has 1 columns where the first page had 2"));
	rc = page(&r, "{\"ResultSet\":{\"Rows\":[{\"Data\":[{}]}]}}");
	assert_int_equal(rc, S3I_EPARSE);
	assert_non_null(strstr(s3i_error_last()->message, "Rows[0] has 1 values for 2 columns"));
}

static void test_callbacks_stop(void **state)
{
	(void)state;
	s3i_athena_reader r;
	seen s;
	reader(&r, &s);
	s.stop_at = 2;
	assert_int_equal(page(&r, PAGE1), S3I_EUSER);
	assert_non_null(strstr(s3i_error_last()->message, "row callback asked to stop at row 1"));
	assert_int_equal(s.nrows, 2);
	assert_int_equal(r.pages, 0);               /* the page does not count as read */
	assert_string_equal(r.next_token, "");
}

static int stop_cols(void *p, const s3i_athena_column *c, size_t n)
{
	(void)p;
	(void)c;
	(void)n;
	return 1;
}

static void test_column_callback_stops(void **state)
{
	(void)state;
	s3i_athena_reader r;
	seen s;
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, stop_cols, on_row, &s);
	r.alloc = s3i_test_alloc();
	assert_int_equal(page(&r, PAGE1), S3I_EUSER);
	assert_int_equal(s.nrows, 0);
	assert_int_equal(r.columns_delivered, 0);
}

static void test_out_of_memory(void **state)
{
	(void)state;
	for (long n = 0;; n++) {
		s3i_athena_reader r;
		seen s;
		reader(&r, &s);
		s3i_test_alloc_fail_after(n);
		int rc = page(&r, PAGE1);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK)
			break;
		assert_int_equal(rc, S3I_ENOMEM);
		assert_int_equal(r.pages, 0);
		assert_true(n < 100);
	}
}

/* ------------------------------------------------------------------ executions */

static int parse_exec(s3i_athena_execution *ex, const char *json)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	return s3i_athena_execution_parse(ex, json, strlen(json), "test execution", &e);
}

static void test_execution_aws_shape(void **state)
{
	(void)state;
	/* AWS's documented shape for a failed query */
	const char *failed =
		"{\"QueryExecution\":{\"QueryExecutionId\":\"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111\","
		"\"Query\":\"SELECT * FROM nope\",\"StatementType\":\"DML\","
		"\"ResultConfiguration\":{\"OutputLocation\":\"s3://out/r/a1b2.csv\"},"
		"\"QueryExecutionContext\":{\"Database\":\"s3insights\",\"Catalog\":\"AwsDataCatalog\"},"
		"\"Status\":{\"State\":\"FAILED\",\"StateChangeReason\":\"TABLE_NOT_FOUND: line 1:15: "
		"Table awsdatacatalog.s3insights.nope does not exist\",\"SubmissionDateTime\":1582754862.291,"
		"\"CompletionDateTime\":1582754863.5,\"AthenaError\":{\"ErrorCategory\":2,"
		"\"ErrorType\":1301,\"Retryable\":false,\"ErrorMessage\":\"TABLE_NOT_FOUND\"}},"
		"\"Statistics\":{\"EngineExecutionTimeInMillis\":1207,\"DataScannedInBytes\":0,"
		"\"TotalExecutionTimeInMillis\":1436},\"WorkGroup\":\"primary\","
		"\"EngineVersion\":{\"SelectedEngineVersion\":\"AUTO\"}}}";
	s3i_athena_execution ex;
	assert_int_equal(parse_exec(&ex, failed), S3I_OK);
	assert_string_equal(ex.id, "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111");
	assert_int_equal(ex.state, S3I_ATHENA_FAILED);
	assert_string_equal(ex.state_text, "FAILED");
	assert_non_null(strstr(ex.reason, "Table awsdatacatalog.s3insights.nope does not exist"));
	assert_int_equal(ex.error_category, 2);
	assert_int_equal(ex.error_type, 1301);
	assert_int_equal(ex.error_retryable, 0);
	assert_string_equal(ex.statement_type, "DML");
	assert_string_equal(ex.output_location, "s3://out/r/a1b2.csv");
	assert_string_equal(ex.database, "s3insights");
	assert_string_equal(ex.workgroup, "primary");
	assert_int_equal(ex.engine_ms, 1207);
	assert_int_equal(ex.total_ms, 1436);
	assert_int_equal(ex.data_scanned_bytes, 0);
	assert_int_equal(ex.submitted_ms, 1582754862291LL);
	assert_int_equal(ex.completed_ms, 1582754863500LL);
	assert_true(s3i_athena_state_is_terminal(ex.state));
	assert_string_equal(s3i_athena_state_name(ex.state), "FAILED");

	/* no StateChangeReason: the AthenaError message */
	assert_int_equal(parse_exec(&ex, "{\"QueryExecution\":{\"QueryExecutionId\":\"x\",\"Status\":"
		"{\"State\":\"FAILED\",\"AthenaError\":{\"ErrorMessage\":\"boom\",\"Retryable\":true}}}}"),
		S3I_OK);
	assert_string_equal(ex.reason, "boom");
	assert_int_equal(ex.error_retryable, 1);
	assert_int_equal(ex.data_scanned_bytes, -1);
	assert_int_equal(ex.engine_ms, -1);
}

static void test_execution_moto_shape(void **state)
{
	(void)state;
	/* captured from moto 5.2.1: nulls where nothing was given */
	const char *moto =
		"{\"QueryExecution\": {\"QueryExecutionId\": \"858415cb-5cf4-4c92-8808-05238bb90b15\", "
		"\"Query\": \"SELECT 1\", \"StatementType\": \"DML\", \"ResultConfiguration\": null, "
		"\"ResultReuseConfiguration\": {\"ResultReuseByAgeConfiguration\": {\"Enabled\": false}}, "
		"\"QueryExecutionContext\": null, \"Status\": {\"State\": \"SUCCEEDED\", "
		"\"SubmissionDateTime\": 1796358827.007711, \"CompletionDateTime\": 1796358827.0077167}, "
		"\"Statistics\": {\"EngineExecutionTimeInMillis\": 0, \"DataScannedInBytes\": 0, "
		"\"TotalExecutionTimeInMillis\": 0}, \"WorkGroup\": \"primary\"}}";
	s3i_athena_execution ex;
	assert_int_equal(parse_exec(&ex, moto), S3I_OK);
	assert_int_equal(ex.state, S3I_ATHENA_SUCCEEDED);
	assert_string_equal(ex.output_location, "");
	assert_string_equal(ex.database, "");
	assert_string_equal(ex.reason, "");
	assert_int_equal(ex.submitted_ms, 1796358827007LL);

	/* a state this library does not know yet */
	assert_int_equal(parse_exec(&ex, "{\"QueryExecution\":{\"QueryExecutionId\":\"x\",\"Status\":"
		"{\"State\":\"PAUSED\"}}}"), S3I_OK);
	assert_int_equal(ex.state, S3I_ATHENA_STATE_UNKNOWN);
	assert_string_equal(ex.state_text, "PAUSED");
	assert_false(s3i_athena_state_is_terminal(ex.state));
	assert_string_equal(s3i_athena_state_name(ex.state), "UNKNOWN");
}

static void test_execution_bad_shapes(void **state)
{
	(void)state;
	const char *bad[] = { "", "{}", "[]", "{\"QueryExecution\":{}}",
		"{\"QueryExecution\":{\"QueryExecutionId\":\"x\"}}",
		"{\"QueryExecution\":{\"QueryExecutionId\":\"x\",\"Status\":{}}}",
		"{\"QueryExecution\":{\"QueryExecutionId\":\"x\",\"Status\":{\"State\":3}}}",
		"{\"QueryExecution\":{\"QueryExecutionId\":\"\",\"Status\":{\"State\":\"QUEUED\"}}}",
		"{\"QueryExecution\":{\"QueryExecutionId\":7,\"Status\":{\"State\":\"QUEUED\"}}}",
		"{\"QueryExecution\":{\"QueryExecutionId\":\"x\",\"Status\":{\"State\":\"QUEUED\","
		"\"StateChangeReason\":[]}}}",
		"{\"QueryExecution\":{\"QueryExecutionId\":\"x\",\"Status\":{\"State\":\"QUEUED\"},"
		"\"ResultConfiguration\":{\"OutputLocation\":1}}}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s3i_athena_execution ex;
		memset(&ex, 0x5a, sizeof(ex));
		int rc = parse_exec(&ex, bad[i]);
		if (rc != S3I_EPARSE)
			fail_msg("execution %zu: rc %d", i, rc);
		assert_int_equal((unsigned char)ex.id[0], 0x5a);   /* untouched */
	}
	/* an id longer than 128 characters */
	char big[400];
	snprintf(big, sizeof(big), "{\"QueryExecution\":{\"QueryExecutionId\":\"%0129d\",\"Status\":"
		"{\"State\":\"QUEUED\"}}}", 0);
	s3i_athena_execution ex;
	assert_int_equal(parse_exec(&ex, big), S3I_EPARSE);
}

static void test_execution_reason_cut_at_character(void **state)
{
	(void)state;
	/* 1021 ASCII bytes then "日本" (3 bytes each): the 1023 bytes that fit end inside 日, and
	 * the cut must not split it */
	char *json = malloc(4000);
	int n = snprintf(json, 4000, "{\"QueryExecution\":{\"QueryExecutionId\":\"x\",\"Status\":"
		"{\"State\":\"FAILED\",\"StateChangeReason\":\"");
	memset(json + n, 'r', 1021);
	n += 1021;
	n += snprintf(json + n, 4000 - (size_t)n, "\xe6\x97\xa5\xe6\x9c\xac\\nnext\"}}}");
	s3i_athena_execution ex;
	assert_int_equal(parse_exec(&ex, json), S3I_OK);
	assert_int_equal(strlen(ex.reason), 1021);
	assert_int_equal(ex.reason[1020], 'r');
	free(json);
	/* control characters become spaces (one-line messages) */
	assert_int_equal(parse_exec(&ex, "{\"QueryExecution\":{\"QueryExecutionId\":\"x\",\"Status\":"
		"{\"State\":\"FAILED\",\"StateChangeReason\":\"a\\nb\\tc\"}}}"), S3I_OK);
	assert_string_equal(ex.reason, "a b c");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_two_pages),
		S3I_TEST(test_header_modes),
		S3I_TEST(test_empty_and_minimal_pages),
		S3I_TEST(test_bad_pages_deliver_nothing),
		S3I_TEST(test_callbacks_stop),
		S3I_TEST(test_column_callback_stops),
		S3I_TEST(test_out_of_memory),
		S3I_TEST(test_execution_aws_shape),
		S3I_TEST(test_execution_moto_shape),
		S3I_TEST(test_execution_bad_shapes),
		S3I_TEST(test_execution_reason_cut_at_character),
	};
	return cmocka_run_group_tests_name("athena_parse", tests, NULL, NULL);
}
