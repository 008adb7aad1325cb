/*
 * Athena operations (src/services/athena.c) against moto_server: StartQueryExecution (the
 * request checked through moto's recorder), GetQueryExecution, the waiter through moto's
 * state manager (QUEUED, RUNNING, SUCCEEDED) and its deadline, StopQueryExecution, FAILED
 * executions and InvalidRequestException / throttling in AWS's documented shapes through the
 * launcher's /_fault rules, GetQueryResults from moto's canned results and paged across two
 * pages served by /_fault (moto ignores NextToken), the NextToken seen arriving at moto, and a
 * second account reached through AssumeRole. Every context uses the counting allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "aws/ctx_internal.h"
#include "core/json.h"
#include "core/str.h"
#include "services/athena.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

static s3i_moto *moto;

#define RECORDING S3I_BINARY_DIR "/Testing/Temporary/moto-recording-athena"

static int group_setup(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);   /* fast client retries */
	const char *env[] = { "MOTO_RECORDER_FILEPATH=" RECORDING, NULL };
	return s3i_moto_start(&moto, env);
}

static int group_teardown(void **state)
{
	(void)state;
	remove(RECORDING);
	return 0;
}

/* rc must be `code`, and the thread's error must mention every string given. */
static void unset_transition(void)
{
	s3i_check_moto_post(moto, "/moto-api/state-manager/unset-transition", "{\"model_name\":\"athena::execution\"}");
}

/* Reset moto and open a context on it with the counting allocator and dummy keys. */
static s3i_ctx *begin(s3i_svc *svc)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	unset_transition();   /* survives reset; a failed test must not leave it behind */
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	o.log_fn = s3i_check_log;
	o.log_level = S3I_LOG_WARN;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	svc->client = s3i_ctx_client(ctx);
	svc->creds = NULL;
	svc->region = NULL;
	return ctx;
}

/* A /_fault rule answering `target` with a JSON body, `count` times. */
static void add_fault(const char *op, int status, int count, const char *body)
{
	char target[128];
	snprintf(target, sizeof(target), "AmazonAthena.%s", op);
	s3i_check_json_fault(moto, target, status, count, body);
}

/* Every /_fault rule used up. */
static void assert_faults_used(void)
{
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/_fault", NULL, NULL, &out, &status), 0);
	assert_int_equal(status, 200);
	s3i_json doc = NULL;
	assert_int_equal(s3i_json_parse(&doc, out, strlen(out), "faults", NULL), S3I_OK);
	for (size_t i = 0; i < s3i_json_len(doc); i++) {
		int64_t left = -2;
		assert_int_equal(s3i_json_i64(s3i_json_get(s3i_json_at(doc, i), "count"), &left), S3I_OK);
		if (left != 0)
			fail_msg("fault rule %zu has %lld answers left: %s", i, (long long)left, out);
	}
	s3i_json_free(doc);
	free(out);
}

/* ---- moto's recorder: what reached moto ---- */

/* The decoded bodies of the recorded requests with X-Amz-Target `target`, each followed by
 * "\n" (malloc'd). */
static char *recorder_bodies(const char *target)
{
	s3i_check_moto_post(moto, "/moto-api/recorder/stop-recording", "");
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/moto-api/recorder/download-recording", NULL,
		NULL, &out, &status), 0);
	assert_int_equal(status, 200);
	s3i_buf all;
	s3i_buf_init(&all, NULL);
	assert_int_equal(s3i_buf_puts(&all, ""), S3I_OK);
	for (char *line = out; line && *line;) {
		char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		s3i_json doc = NULL;
		if (len && s3i_json_parse(&doc, line, len, "recording", NULL) == S3I_OK) {
			const char *t = s3i_json_str(s3i_json_path(doc, "headers.X-Amz-Target"));
			const char *body = s3i_json_str(s3i_json_get(doc, "body"));
			if (t && body && !strcmp(t, target)) {
				s3i_buf dec;
				s3i_buf_init(&dec, NULL);
				if (s3i_json_bool(s3i_json_get(doc, "body_encoded"), 0))
					assert_int_equal(s3i_base64_decode(&dec, body, strlen(body)), S3I_OK);
				else
					assert_int_equal(s3i_buf_puts(&dec, body), S3I_OK);
				assert_int_equal(s3i_buf_put(&all, dec.ptr ? dec.ptr : "", dec.size), S3I_OK);
				assert_int_equal(s3i_buf_putc(&all, '\n'), S3I_OK);
				s3i_buf_dispose(&dec);
			}
		}
		s3i_json_free(doc);
		line = eol ? eol + 1 : NULL;
	}
	free(out);
	char *r = strdup(all.ptr ? all.ptr : "");
	s3i_buf_dispose(&all);
	return r;
}

/* ---- results collection ---- */

typedef struct seen {
	int column_calls;
	char cols[160];             /* "name:type,..." */
	char rows[40][160];         /* "H:" for the header; "v1|v2", NULL as "<null>" */
	size_t nrows;
} seen;

static int on_cols(void *p, const s3i_athena_column *c, size_t n)
{
	seen *s = p;
	s->column_calls++;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(s->cols + k, sizeof(s->cols) - k, "%s%s:%s", i ? "," : "",
			c[i].name, c[i].type);
	return 0;
}

static int on_row(void *p, const s3i_athena_row *r)
{
	seen *s = p;
	assert_true(s->nrows < 40);
	assert_int_equal(r->index, (int64_t)s->nrows);
	char *out = s->rows[s->nrows++];
	size_t n = (size_t)snprintf(out, 160, "%s", r->is_header ? "H:" : "");
	for (size_t i = 0; i < r->count; i++)
		n += (size_t)snprintf(out + n, 160 - n, "%s%s", i ? "|" : "",
			r->values[i] ? r->values[i] : "<null>");
	return 0;
}

static void start(const s3i_svc *svc, const char *query, char id[S3I_ATHENA_ID_SIZE])
{
	s3i_athena_query q = { .query = query, .workgroup = "primary" };
	CHECK_OK(s3i_athena_start_query_op(svc, &q, id, NULL));
	assert_true(strlen(id) > 8);
}

/* ------------------------------------------------------------------ start, get, stop */

static void test_start_and_get_execution(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	int status = 0;
	s3i_moto_req mk = { .method = "PUT", .path = "/athena-out", .service = "s3" };
	assert_int_equal(s3i_moto_call(moto, &mk, NULL, &status), 0);
	assert_int_equal(status, 200);

	s3i_check_recorder_start(moto);
	const char *token = "run-r1-query-biggest-buckets-0001";
	s3i_athena_query q = { .query = "SELECT bucketname, count(*) FROM s3insights.inventory "
		"GROUP BY 1", .database = "s3insights", .catalog = "AwsDataCatalog",
		.output_location = "s3://athena-out/results/", .workgroup = "primary",
		.client_request_token = token };
	char id[S3I_ATHENA_ID_SIZE];
	CHECK_OK(s3i_athena_start_query_op(&svc, &q, id, NULL));
	char *sent = recorder_bodies("AmazonAthena.StartQueryExecution");
	/* every member went out as the model names it */
	s3i_json doc = NULL;
	assert_int_equal(s3i_json_parse(&doc, sent, strlen(sent), "sent", NULL), S3I_OK);
	assert_string_equal(s3i_json_str(s3i_json_get(doc, "QueryString")), q.query);
	assert_string_equal(s3i_json_str(s3i_json_get(doc, "ClientRequestToken")), token);
	assert_string_equal(s3i_json_str(s3i_json_path(doc, "QueryExecutionContext.Database")),
		"s3insights");
	assert_string_equal(s3i_json_str(s3i_json_path(doc, "QueryExecutionContext.Catalog")),
		"AwsDataCatalog");
	assert_string_equal(s3i_json_str(s3i_json_path(doc, "ResultConfiguration.OutputLocation")),
		"s3://athena-out/results/");
	assert_string_equal(s3i_json_str(s3i_json_get(doc, "WorkGroup")), "primary");
	s3i_json_free(doc);
	free(sent);

	s3i_athena_execution ex;
	CHECK_OK(s3i_athena_get_execution_op(&svc, id, &ex, NULL));
	assert_string_equal(ex.id, id);
	assert_int_equal(ex.state, S3I_ATHENA_SUCCEEDED);
	assert_string_equal(ex.statement_type, "DML");
	assert_string_equal(ex.database, "s3insights");
	assert_string_equal(ex.workgroup, "primary");
	char loc[300];
	snprintf(loc, sizeof(loc), "s3://athena-out/results/%s.csv", id);
	assert_string_equal(ex.output_location, loc);
	assert_int_equal(ex.data_scanned_bytes, 0);
	assert_true(ex.submitted_ms > 1500000000000LL);

	/* without a token the library makes one (a UUID: 36 characters, within 32-128) */
	s3i_check_recorder_start(moto);
	s3i_athena_query ddl = { .query = "CREATE DATABASE IF NOT EXISTS s3insights" };
	CHECK_OK(s3i_athena_start_query_op(&svc, &ddl, id, NULL));
	sent = recorder_bodies("AmazonAthena.StartQueryExecution");
	assert_int_equal(s3i_json_parse(&doc, sent, strlen(sent), "sent", NULL), S3I_OK);
	assert_int_equal(strlen(s3i_json_str(s3i_json_get(doc, "ClientRequestToken"))), 36);
	assert_null(s3i_json_get(doc, "WorkGroup"));
	assert_null(s3i_json_get(doc, "ResultConfiguration"));
	s3i_json_free(doc);
	free(sent);
	CHECK_OK(s3i_athena_get_execution_op(&svc, id, &ex, NULL));
	assert_string_equal(ex.statement_type, "DDL");
	s3i_ctx_release(ctx);
}

static void test_stop_query(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char id[S3I_ATHENA_ID_SIZE];
	start(&svc, "SELECT 1", id);
	CHECK_OK(s3i_athena_stop_query_op(&svc, id, NULL));
	s3i_athena_execution ex;
	CHECK_OK(s3i_athena_get_execution_op(&svc, id, &ex, NULL));
	assert_int_equal(ex.state, S3I_ATHENA_CANCELLED);
	/* waiting on a cancelled query fails at once, naming it */
	s3i_athena_wait_opts wo = { .timeout_ms = 5000, .first_delay_ms = 5 };
	memset(&ex, 0, sizeof(ex));
	int rc = s3i_athena_wait_op(&svc, id, &wo, &ex, NULL);
	char res[200];
	snprintf(res, sizeof(res), "query execution '%s'", id);
	const char *m[] = { "Athena query was cancelled", res, "CANCELLED", NULL };
	s3i_check_expect_error(rc, S3I_EAWS, NULL, m);
	assert_string_equal(s3i_error_last()->resource, res);
	assert_int_equal(ex.state, S3I_ATHENA_CANCELLED);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ waiting */

static void test_wait_through_states(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	/* each GetQueryExecution moves the state on: QUEUED, RUNNING, RUNNING, SUCCEEDED */
	s3i_check_moto_post(moto, "/moto-api/state-manager/set-transition", "{\"model_name\":\"athena::execution\","
		"\"transition\":{\"progression\":\"manual\",\"times\":2}}");
	char id[S3I_ATHENA_ID_SIZE];
	start(&svc, "SELECT 1", id);
	s3i_athena_execution ex;
	s3i_athena_wait_opts wo = { .timeout_ms = 10000, .first_delay_ms = 5, .max_delay_ms = 20 };
	CHECK_OK(s3i_athena_wait_op(&svc, id, &wo, &ex, NULL));
	assert_int_equal(ex.state, S3I_ATHENA_SUCCEEDED);
	assert_string_equal(ex.id, id);

	/* results before the query finished: InvalidRequestException -> EINVALID naming it */
	start(&svc, "SELECT 2", id);
	s3i_athena_reader r;
	seen s;
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, on_cols, on_row, &s);
	int rc = s3i_athena_get_results_op(&svc, id, NULL, &r, NULL);
	char res[200];
	snprintf(res, sizeof(res), "query execution '%s'", id);
	const char *m[] = { "GetQueryResults", res, "Query has not yet finished", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "InvalidRequestException", m);
	unset_transition();
	s3i_ctx_release(ctx);
}

static void test_wait_deadline(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	/* many calls per state: the query stays QUEUED for the whole wait */
	s3i_check_moto_post(moto, "/moto-api/state-manager/set-transition", "{\"model_name\":\"athena::execution\","
		"\"transition\":{\"progression\":\"manual\",\"times\":1000}}");
	char id[S3I_ATHENA_ID_SIZE];
	start(&svc, "SELECT 1", id);
	s3i_athena_execution ex;
	s3i_athena_wait_opts wo = { .timeout_ms = 150, .first_delay_ms = 10, .max_delay_ms = 40 };
	int rc = s3i_athena_wait_op(&svc, id, &wo, &ex, NULL);
	char res[200];
	snprintf(res, sizeof(res), "query execution '%s' is still QUEUED after", id);
	const char *m[] = { res, NULL };
	s3i_check_expect_error(rc, S3I_ETIMEOUT, NULL, m);
	assert_true(s3i_status_is_retryable(rc));
	assert_int_equal(ex.state, S3I_ATHENA_QUEUED);
	/* bad options */
	wo.timeout_ms = 0;
	rc = s3i_athena_wait_op(&svc, id, &wo, &ex, NULL);
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, NULL);
	assert_int_equal(s3i_athena_wait_op(&svc, id, NULL, &ex, NULL), S3I_EINVALID);
	unset_transition();
	s3i_ctx_release(ctx);
}

/* FAILED is only reachable through /_fault: AWS's documented GetQueryExecution shape. */
static void test_wait_failed_query(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char id[S3I_ATHENA_ID_SIZE];
	start(&svc, "SELECT * FROM nope", id);
	char body[1500];
	const char *shape = "{\"QueryExecution\":{\"QueryExecutionId\":\"%s\",\"Query\":\"SELECT * "
		"FROM nope\",\"StatementType\":\"DML\",\"Status\":{\"State\":\"%s\","
		"\"StateChangeReason\":\"TABLE_NOT_FOUND: line 1:15: Table awsdatacatalog.default.nope "
		"does not exist\",\"SubmissionDateTime\":1.7E9,\"CompletionDateTime\":1.7E9,"
		"\"AthenaError\":{\"ErrorCategory\":%d,\"ErrorType\":%d,\"Retryable\":%s}},"
		"\"Statistics\":{\"EngineExecutionTimeInMillis\":412,\"DataScannedInBytes\":0},"
		"\"WorkGroup\":\"primary\"}}";
	snprintf(body, sizeof(body), shape, id, "RUNNING", 0, 0, "false");
	add_fault("GetQueryExecution", 200, 1, body);
	snprintf(body, sizeof(body), shape, id, "FAILED", 2, 1301, "false");
	add_fault("GetQueryExecution", 200, 1, body);
	s3i_athena_execution ex;
	s3i_athena_wait_opts wo = { .timeout_ms = 10000, .first_delay_ms = 5 };
	int rc = s3i_athena_wait_op(&svc, id, &wo, &ex, NULL);
	char res[200];
	snprintf(res, sizeof(res), "query execution '%s'", id);
	const char *m[] = { "Athena query failed", res, "FAILED: TABLE_NOT_FOUND",
		"Table awsdatacatalog.default.nope does not exist", "error category 2, type 1301", NULL };
	s3i_check_expect_error(rc, S3I_EAWS, NULL, m);
	assert_false(s3i_status_is_retryable(rc));
	assert_int_equal(ex.state, S3I_ATHENA_FAILED);
	assert_int_equal(ex.engine_ms, 412);
	assert_faults_used();

	/* Athena says a retry may help: a retryable status */
	snprintf(body, sizeof(body), shape, id, "FAILED", 1, 401, "true");
	add_fault("GetQueryExecution", 200, 1, body);
	rc = s3i_athena_wait_op(&svc, id, &wo, &ex, NULL);
	const char *m2[] = { "retryable", NULL };
	s3i_check_expect_error(rc, S3I_ESERVICE, NULL, m2);
	assert_true(s3i_status_is_retryable(rc));
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ results */

static void test_results_from_moto(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	/* moto's canned results, consumed by the next StartQueryExecution (moto-notes §9) */
	s3i_check_moto_post(moto, "/moto-api/static/athena/query-results", "{\"account_id\":\"123456789012\","
		"\"region\":\"us-east-1\",\"results\":[{\"rows\":["
		"{\"Data\":[{\"VarCharValue\":\"bucket\"},{\"VarCharValue\":\"objects\"}]},"
		"{\"Data\":[{\"VarCharValue\":\"b1\"},{\"VarCharValue\":\"42\"}]},"
		"{\"Data\":[{\"VarCharValue\":\"b2\"},{}]}],"
		"\"column_info\":[{\"Name\":\"bucket\",\"Type\":\"varchar\"},"
		"{\"Name\":\"objects\",\"Type\":\"bigint\"}]}]}");
	char id[S3I_ATHENA_ID_SIZE];
	start(&svc, "SELECT bucket, objects FROM t", id);
	s3i_athena_reader r;
	seen s;
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, on_cols, on_row, &s);
	CHECK_OK(s3i_athena_get_results_op(&svc, id, NULL, &r, NULL));
	assert_int_equal(s.column_calls, 1);
	assert_string_equal(s.cols, "bucket:varchar,objects:bigint");
	assert_int_equal(s.nrows, 3);
	assert_string_equal(s.rows[0], "H:bucket|objects");
	assert_string_equal(s.rows[1], "b1|42");
	assert_string_equal(s.rows[2], "b2|<null>");
	assert_int_equal(r.rows, 2);
	assert_int_equal(r.header_rows, 1);
	assert_int_equal(r.pages, 1);
	assert_string_equal(r.next_token, "");

	/* the next query had no canned result: no rows, no columns */
	start(&svc, "SELECT 1", id);
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, on_cols, on_row, &s);
	CHECK_OK(s3i_athena_get_results_op(&svc, id, NULL, &r, NULL));
	assert_int_equal(s.column_calls, 0);
	assert_int_equal(s.nrows, 0);
	s3i_ctx_release(ctx);
}

/* Two pages in AWS's documented shape: the header and two rows with a NextToken, then two
 * more rows (one null) and no token. */
static const char PAGE1[] =
	"{\"NextToken\":\"AW6pfPzKWbTq2p0lD1tIQ2MxmJRw1ewAJz9qFEkZTZtGwVLeoHl8bl0=\","
	"\"UpdateCount\":0,\"ResultSet\":{\"ResultSetMetadata\":{\"ColumnInfo\":["
	"{\"CatalogName\":\"hive\",\"SchemaName\":\"\",\"TableName\":\"\",\"Name\":\"bucketname\","
	"\"Label\":\"bucketname\",\"Type\":\"varchar\",\"Precision\":2147483647,\"Scale\":0,"
	"\"Nullable\":\"UNKNOWN\",\"CaseSensitive\":true},"
	"{\"CatalogName\":\"hive\",\"SchemaName\":\"\",\"TableName\":\"\",\"Name\":\"total\","
	"\"Label\":\"total\",\"Type\":\"bigint\",\"Precision\":19,\"Scale\":0,"
	"\"Nullable\":\"UNKNOWN\",\"CaseSensitive\":false}]},"
	"\"Rows\":[{\"Data\":[{\"VarCharValue\":\"bucketname\"},{\"VarCharValue\":\"total\"}]},"
	"{\"Data\":[{\"VarCharValue\":\"alpha\"},{\"VarCharValue\":\"1000\"}]},"
	"{\"Data\":[{\"VarCharValue\":\"bravo\"},{\"VarCharValue\":\"999\"}]}]}}";
static const char PAGE2[] =
	"{\"UpdateCount\":0,\"ResultSet\":{\"ResultSetMetadata\":{\"ColumnInfo\":["
	"{\"CatalogName\":\"hive\",\"SchemaName\":\"\",\"TableName\":\"\",\"Name\":\"bucketname\","
	"\"Label\":\"bucketname\",\"Type\":\"varchar\",\"Precision\":2147483647,\"Scale\":0,"
	"\"Nullable\":\"UNKNOWN\",\"CaseSensitive\":true},"
	"{\"CatalogName\":\"hive\",\"SchemaName\":\"\",\"TableName\":\"\",\"Name\":\"total\","
	"\"Label\":\"total\",\"Type\":\"bigint\",\"Precision\":19,\"Scale\":0,"
	"\"Nullable\":\"UNKNOWN\",\"CaseSensitive\":false}]},"
	"\"Rows\":[{\"Data\":[{\"VarCharValue\":\"charlie \\u00e9\"},{\"VarCharValue\":\"12\"}]},"
	"{\"Data\":[{\"VarCharValue\":\"delta\"},{}]}]}}";

static void test_results_two_pages(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char id[S3I_ATHENA_ID_SIZE];
	start(&svc, "SELECT bucketname, total FROM t", id);
	add_fault("GetQueryResults", 200, 1, PAGE1);
	add_fault("GetQueryResults", 200, 1, PAGE2);
	s3i_athena_reader r;
	seen s;
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, on_cols, on_row, &s);
	s3i_athena_results_opts ro = { .max_results = 3 };
	CHECK_OK(s3i_athena_get_results_op(&svc, id, &ro, &r, NULL));
	assert_faults_used();
	/* every row of both pages, in order; columns once; the header flagged, not dropped */
	assert_int_equal(s.column_calls, 1);
	assert_string_equal(s.cols, "bucketname:varchar,total:bigint");
	const char *want[] = { "H:bucketname|total", "alpha|1000", "bravo|999",
		"charlie \xc3\xa9|12", "delta|<null>" };
	assert_int_equal(s.nrows, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(s.rows[i], want[i]);
	assert_int_equal(r.pages, 2);
	assert_int_equal(r.rows, 4);
	assert_int_equal(r.header_rows, 1);
	assert_string_equal(r.next_token, "");
	s3i_ctx_release(ctx);
}

/* Page 1 from /_fault with a NextToken; page 2 from moto itself, whose recorder shows the
 * token arriving with the second request. */
static void test_results_next_token_is_sent(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_check_moto_post(moto, "/moto-api/static/athena/query-results", "{\"account_id\":\"123456789012\","
		"\"region\":\"us-east-1\",\"results\":[{\"rows\":["
		"{\"Data\":[{\"VarCharValue\":\"echo\"},{\"VarCharValue\":\"5\"}]}],"
		"\"column_info\":[{\"Name\":\"bucketname\",\"Type\":\"varchar\"},"
		"{\"Name\":\"total\",\"Type\":\"bigint\"}]}]}");
	char id[S3I_ATHENA_ID_SIZE];
	start(&svc, "SELECT bucketname, total FROM t", id);
	add_fault("GetQueryResults", 200, 1, PAGE1);
	s3i_check_recorder_start(moto);
	s3i_athena_reader r;
	seen s;
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, on_cols, on_row, &s);
	s3i_athena_results_opts ro = { .max_results = 3 };
	CHECK_OK(s3i_athena_get_results_op(&svc, id, &ro, &r, NULL));
	char *sent = recorder_bodies("AmazonAthena.GetQueryResults");
	/* exactly one request reached moto: the second, with the token and the id */
	s3i_json doc = NULL;
	assert_int_equal(s3i_json_parse(&doc, sent, strlen(sent), "sent", NULL), S3I_OK);
	assert_string_equal(s3i_json_str(s3i_json_get(doc, "NextToken")),
		"AW6pfPzKWbTq2p0lD1tIQ2MxmJRw1ewAJz9qFEkZTZtGwVLeoHl8bl0=");
	assert_string_equal(s3i_json_str(s3i_json_get(doc, "QueryExecutionId")), id);
	int64_t mr = 0;
	assert_int_equal(s3i_json_i64(s3i_json_get(doc, "MaxResults"), &mr), S3I_OK);
	assert_int_equal(mr, 3);
	s3i_json_free(doc);
	free(sent);
	assert_int_equal(s.nrows, 4);
	assert_string_equal(s.rows[0], "H:bucketname|total");
	assert_string_equal(s.rows[2], "bravo|999");
	assert_string_equal(s.rows[3], "echo|5");
	assert_int_equal(s.column_calls, 1);
	s3i_ctx_release(ctx);
}

/* One page at a time, then resuming from the token with a new reader. */
static void test_results_resume(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char id[S3I_ATHENA_ID_SIZE];
	start(&svc, "SELECT bucketname, total FROM t", id);
	add_fault("GetQueryResults", 200, 1, PAGE1);
	add_fault("GetQueryResults", 200, 1, PAGE2);
	s3i_athena_reader r;
	seen s;
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, on_cols, on_row, &s);
	s3i_athena_results_opts ro = { .max_pages = 1 };
	CHECK_OK(s3i_athena_get_results_op(&svc, id, &ro, &r, NULL));
	assert_int_equal(s.nrows, 3);
	assert_string_equal(r.next_token, "AW6pfPzKWbTq2p0lD1tIQ2MxmJRw1ewAJz9qFEkZTZtGwVLeoHl8bl0=");

	char token[S3I_ATHENA_TOKEN_SIZE];
	snprintf(token, sizeof(token), "%s", r.next_token);
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, on_cols, on_row, &s);
	ro = (s3i_athena_results_opts){ .next_token = token };
	CHECK_OK(s3i_athena_get_results_op(&svc, id, &ro, &r, NULL));
	assert_int_equal(s.nrows, 2);
	assert_string_equal(s.rows[0], "charlie \xc3\xa9|12");   /* no header on a later page */
	assert_int_equal(r.header_rows, 0);
	assert_int_equal(s.column_calls, 1);
	assert_faults_used();

	/* a page whose NextToken does not move stops the loop */
	add_fault("GetQueryResults", 200, -1, PAGE1);
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, NULL, NULL, NULL);
	int rc = s3i_athena_get_results_op(&svc, id, NULL, &r, NULL);
	const char *m[] = { "gave back the NextToken it was asked for", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m);
	assert_int_equal(r.pages, 2);
	/* a page that is not the documented shape */
	assert_int_equal(s3i_moto_clear_faults(moto), 0);
	add_fault("GetQueryResults", 200, 1, "{\"ResultSet\":{\"Rows\":[{\"Data\":[7]}]}}");
	s3i_athena_reader_init(&r, NULL, NULL, NULL);
	rc = s3i_athena_get_results_op(&svc, id, NULL, &r, NULL);
	char res[200];
	snprintf(res, sizeof(res), "GetQueryResults response for query execution '%s' (page 1)", id);
	const char *m2[] = { res, "Rows[0].Data[0]", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m2);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ errors */

static void test_errors_name_the_execution(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	/* moto answers an unknown id with a 500 (moto-notes §9): ESERVICE after the retries */
	s3i_athena_execution ex;
	int rc = s3i_athena_get_execution_op(&svc, "5d2b9f1c-0000-4000-8000-000000000000", &ex, NULL);
	const char *m[] = { "GetQueryExecution",
		"query execution '5d2b9f1c-0000-4000-8000-000000000000'", NULL };
	s3i_check_expect_error(rc, S3I_ESERVICE, NULL, m);
	assert_string_equal(s3i_error_last()->resource,
		"query execution '5d2b9f1c-0000-4000-8000-000000000000'");
	rc = s3i_athena_stop_query_op(&svc, "5d2b9f1c-0000-4000-8000-000000000000", NULL);
	s3i_check_expect_error(rc, S3I_ESERVICE, NULL, m + 1);

	/* what AWS answers: InvalidRequestException -> EINVALID naming the id */
	add_fault("GetQueryExecution", 400, 1, "{\"__type\":\"InvalidRequestException\","
		"\"AthenaErrorCode\":\"INVALID_INPUT\",\"Message\":\"QueryExecution "
		"5d2b9f1c-0000-4000-8000-000000000000 was not found\"}");
	rc = s3i_athena_get_execution_op(&svc, "5d2b9f1c-0000-4000-8000-000000000000", &ex, NULL);
	const char *m2[] = { "GetQueryExecution on query execution "
		"'5d2b9f1c-0000-4000-8000-000000000000'", "QueryExecution "
		"5d2b9f1c-0000-4000-8000-000000000000 was not found", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "InvalidRequestException", m2);
	assert_int_equal(s3i_error_last()->http_status, 400);

	/* moto's own InvalidRequestException: an unknown workgroup, naming query and workgroup */
	s3i_athena_query q = { .query = "SELECT 1", .workgroup = "nope", .database = "db" };
	char id[S3I_ATHENA_ID_SIZE];
	rc = s3i_athena_start_query_op(&svc, &q, id, NULL);
	const char *m3[] = { "StartQueryExecution on query 'SELECT 1' in workgroup 'nope' on "
		"database 'db'", "WorkGroup does not exist", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "InvalidRequestException", m3);
	assert_string_equal(id, "");

	/* refused before any call */
	s3i_athena_query bad[] = {
		{ .query = "" },
		{ .query = "SELECT 1", .client_request_token = "short" },
		{ .query = "SELECT 1", .workgroup = "white space" },
		{ .query = "SELECT 1", .output_location = "/tmp/out" },
		{ .query = "SELECT 1", .database = "" },
	};
	const char *fields[] = { "QueryString", "ClientRequestToken", "WorkGroup",
		"OutputLocation", "Database" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = s3i_athena_start_query_op(&svc, &bad[i], id, NULL);
		assert_int_equal(rc, S3I_EINVALID);
		assert_string_equal(s3i_error_last()->resource, fields[i]);
	}
	assert_int_equal(s3i_athena_get_execution_op(&svc, "has space", &ex, NULL), S3I_EINVALID);
	assert_int_equal(s3i_athena_get_execution_op(&svc, "", &ex, NULL), S3I_EINVALID);
	assert_int_equal(s3i_athena_stop_query_op(&svc, NULL, NULL), S3I_EINVALID);
	s3i_athena_reader r;
	s3i_athena_reader_init(&r, NULL, NULL, NULL);
	s3i_athena_results_opts ro = { .max_results = 1001 };
	assert_int_equal(s3i_athena_get_results_op(&svc, "x", &ro, &r, NULL), S3I_EINVALID);
	s3i_ctx_release(ctx);
}

static void test_throttling_then_success(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	/* Athena's own throttling error, then a success */
	add_fault("StartQueryExecution", 400, 1, "{\"__type\":\"TooManyRequestsException\","
		"\"Message\":\"Rate exceeded\",\"Reason\":\"CONCURRENT_QUERY_LIMIT_EXCEEDED\"}");
	char id[S3I_ATHENA_ID_SIZE];
	start(&svc, "SELECT 1", id);
	/* the generic ThrottlingException twice, then moto answers */
	const char *thr = "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}";
	add_fault("GetQueryExecution", 400, 2, thr);
	s3i_athena_execution ex;
	CHECK_OK(s3i_athena_get_execution_op(&svc, id, &ex, NULL));
	assert_int_equal(ex.state, S3I_ATHENA_SUCCEEDED);
	add_fault("GetQueryResults", 400, 1, thr);
	s3i_athena_reader r;
	s3i_athena_reader_init(&r, NULL, NULL, NULL);
	CHECK_OK(s3i_athena_get_results_op(&svc, id, NULL, &r, NULL));
	assert_faults_used();
	/* for ever: ETHROTTLED naming the execution once the attempts are spent */
	add_fault("GetQueryExecution", 400, -1, thr);
	int rc = s3i_athena_get_execution_op(&svc, id, &ex, NULL);
	char res[200];
	snprintf(res, sizeof(res), "query execution '%s'", id);
	const char *m[] = { "GetQueryExecution", res, NULL };
	s3i_check_expect_error(rc, S3I_ETHROTTLED, "ThrottlingException", m);
	assert_true(s3i_status_is_retryable(rc));
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ two accounts */

static void test_second_account_through_assume_role(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_credprov_env env = { .alloc = s3i_ctx_alloc(ctx), .http = ctx->http, .region = "us-east-1",
		.endpoint_url = s3i_moto_url(moto), .logger = s3i_ctx_logger(ctx) };
	s3i_credprov *role = NULL;
	CHECK_OK(s3i_credprov_new_assume_role(&role, &env, ctx->creds,
		"arn:aws:iam::111111111111:role/x", "athena-test", NULL, 900, NULL));
	s3i_svc other = { svc.client, role, NULL };
	/* canned results for the member account only */
	s3i_check_moto_post(moto, "/moto-api/static/athena/query-results", "{\"account_id\":\"111111111111\","
		"\"region\":\"us-east-1\",\"results\":[{\"rows\":["
		"{\"Data\":[{\"VarCharValue\":\"member-bucket\"}]}],"
		"\"column_info\":[{\"Name\":\"bucket\",\"Type\":\"varchar\"}]}]}");
	char id[S3I_ATHENA_ID_SIZE], home_id[S3I_ATHENA_ID_SIZE];
	start(&svc, "SELECT bucket FROM t", home_id);
	start(&other, "SELECT bucket FROM t", id);
	s3i_athena_execution ex;
	CHECK_OK(s3i_athena_get_execution_op(&other, id, &ex, NULL));
	assert_int_equal(ex.state, S3I_ATHENA_SUCCEEDED);
	/* the execution lives in the member account: the home account does not know it */
	assert_int_equal(s3i_athena_get_execution_op(&svc, id, &ex, NULL), S3I_ESERVICE);
	s3i_athena_reader r;
	seen s;
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, on_cols, on_row, &s);
	r.header = S3I_ATHENA_HEADER_NONE;
	CHECK_OK(s3i_athena_get_results_op(&other, id, NULL, &r, NULL));
	assert_int_equal(s.nrows, 1);
	assert_string_equal(s.rows[0], "member-bucket");
	/* and the home account's query got no canned rows */
	memset(&s, 0, sizeof(s));
	s3i_athena_reader_init(&r, on_cols, on_row, &s);
	CHECK_OK(s3i_athena_get_results_op(&svc, home_id, NULL, &r, NULL));
	assert_int_equal(s.nrows, 0);
	s3i_credprov_release(role);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_start_and_get_execution),
		S3I_TEST(test_stop_query),
		S3I_TEST(test_wait_through_states),
		S3I_TEST(test_wait_deadline),
		S3I_TEST(test_wait_failed_query),
		S3I_TEST(test_results_from_moto),
		S3I_TEST(test_results_two_pages),
		S3I_TEST(test_results_next_token_is_sent),
		S3I_TEST(test_results_resume),
		S3I_TEST(test_errors_name_the_execution),
		S3I_TEST(test_throttling_then_success),
		S3I_TEST(test_second_account_through_assume_role),
	};
	return cmocka_run_group_tests_name("athena", tests, group_setup, group_teardown);
}
