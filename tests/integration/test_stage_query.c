/*
 * The query stage (src/stages/query.c) against moto_server, after the create-table stage (its
 * DDL consumes canned results too: moto's canned Athena results are one FIFO per account and
 * region used by every StartQueryExecution, so results are enqueued after the table stage):
 * placeholders substituted, database context and the run's result location sent; every query
 * recorded with state, rows (header not counted, every page read: a NextToken page served
 * through /_fault since moto does not page), data scanned and result file; a query Athena
 * answers FAILED and one it refuses to start are recorded, the run goes on; a query that runs
 * too long is stopped and recorded CANCELLED; the execution id is recorded before the first
 * poll, so a stage resumed after its deadline polls that execution instead of starting the
 * query again; the results read back row by row (s3i_query_results) and the recorded queries
 * listed (s3i_query_list).
 */
#include "report_fixture.h"

#define EXEC_CAP 64

#define QUERIES "[{\"name\":\"failing\",\"query\":\"SELECT nope FROM {ATHENA_TABLE}\"}," \
	"{\"name\":\"paged\",\"query\":\"SELECT bucket, count(*) AS objects FROM " \
	"{ATHENA_DATABASE}.{ATHENA_TABLE} GROUP BY bucket\"}," \
	"{\"name\":\"big objects\",\"query\":\"SELECT bucket, key FROM {ATHENA_TABLE} WHERE " \
	"size > 1073741824\"}]"

static const char COLS[] = "\"ResultSetMetadata\":{\"ColumnInfo\":["
	"{\"CatalogName\":\"hive\",\"SchemaName\":\"\",\"TableName\":\"\",\"Name\":\"bucket\","
	"\"Label\":\"bucket\",\"Type\":\"varchar\",\"Precision\":2147483647,\"Scale\":0,"
	"\"Nullable\":\"UNKNOWN\",\"CaseSensitive\":true},"
	"{\"CatalogName\":\"hive\",\"SchemaName\":\"\",\"TableName\":\"\",\"Name\":\"objects\","
	"\"Label\":\"objects\",\"Type\":\"bigint\",\"Precision\":19,\"Scale\":0,"
	"\"Nullable\":\"UNKNOWN\",\"CaseSensitive\":false}]}";

static void run_table(fx *f)
{
	s3i_table *t = NULL;
	CHECK_OK(s3i_table_new(&t, f->run, NULL));
	int rc = s3i_table_run(t);
	if (rc)
		fail_msg("table: %s", s3i_table_error(t)->message);
	s3i_table_free(t);
}

static void open_with_table(fx *f, const char *queries)
{
	fx_open_input(f, queries, "[\"ops@example.com\"]");
	seed_estate(f);
	run_table(f);   /* 4 statements: database, raw table, view, one partition batch */
}

typedef struct recorded {
	size_t n;
	s3i_state_query q[8];
} recorded;

static int on_info(void *user, const s3i_query_info *i)
{
	recorded *r = user;
	assert_true(r->n < 8);
	s3i_state_query *q = &r->q[r->n++];
	memset(q, 0, sizeof(*q));
	q->index = (int)i->index;
	snprintf(q->name, sizeof(q->name), "%s", i->name);
	snprintf(q->execution_id, sizeof(q->execution_id), "%s", i->execution_id);
	snprintf(q->state, sizeof(q->state), "%s", i->state);
	snprintf(q->reason, sizeof(q->reason), "%s", i->reason);
	q->rows = i->rows;
	q->scanned_bytes = i->scanned_bytes;
	snprintf(q->output_location, sizeof(q->output_location), "%s", i->output_location);
	return 0;
}

static void read_recorded(fx *f, recorded *r)
{
	memset(r, 0, sizeof(*r));
	CHECK_OK(s3i_query_list(f->run, on_info, r));
}

typedef struct got_rows {
	int n;
	char text[2048];
	int stop_after;
} got_rows;

static int on_row(void *user, const s3i_query_row *row)
{
	got_rows *g = user;
	assert_int_equal(row->index, g->n);
	size_t len = strlen(g->text);
	for (size_t i = 0; i < row->count; i++)
		len += (size_t)snprintf(g->text + len, sizeof(g->text) - len, "%s%s=%s", i ? "," : "",
			row->columns[i], row->values[i] ? row->values[i] : "NULL");
	snprintf(g->text + len, sizeof(g->text) - len, ";");
	g->n++;
	return g->stop_after && g->n >= g->stop_after;
}

static void test_queries_recorded_with_rows_and_failures(void **state)
{
	(void)state;
	fx f;
	open_with_table(&f, QUERIES);
	static char ids[EXEC_CAP][S3I_ATHENA_ID_SIZE];
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 4);

	/* one canned result per StartQueryExecution, in order */
	canned_result("[[\"nope\"]]");
	canned_result("[[\"bucket\",\"objects\"],[\"a1-data-east\",\"3\"],[\"a1-data-west\",\"2\"],"
		"[\"a2-data-tokyo\",\"4\"]]");
	canned_result("[[\"bucket\",\"key\"],[\"a2-failed\",\"<script>alert(1)</script>\"],"
		"[\"a1-data-east\",null]]");
	/* "failing": Athena's FAILED answer on its first poll (moto cannot fail a query) */
	athena_fault("GetQueryExecution", 200, 1, "{\"QueryExecution\":{\"QueryExecutionId\":"
		"\"00000000-0000-0000-0000-000000000002\",\"Query\":\"SELECT nope\",\"StatementType\":"
		"\"DML\",\"Status\":{\"State\":\"FAILED\",\"StateChangeReason\":\"SYNTAX_ERROR: line "
		"1:8: Column 'nope' cannot be resolved\",\"SubmissionDateTime\":1.764806400E9},"
		"\"Statistics\":{\"DataScannedInBytes\":0}}}");
	/* "paged": its results in two pages, the second behind a NextToken */
	char page1[4096], page2[2048];
	snprintf(page1, sizeof(page1), "{\"NextToken\":\"tok-2\",\"UpdateCount\":0,\"ResultSet\":"
		"{%s,\"Rows\":[{\"Data\":[{\"VarCharValue\":\"bucket\"},{\"VarCharValue\":\"objects\"}]},"
		"{\"Data\":[{\"VarCharValue\":\"a1-data-east\"},{\"VarCharValue\":\"3\"}]},"
		"{\"Data\":[{\"VarCharValue\":\"a1-data-west\"},{\"VarCharValue\":\"2\"}]}]}}", COLS);
	snprintf(page2, sizeof(page2), "{\"UpdateCount\":0,\"ResultSet\":{%s,\"Rows\":["
		"{\"Data\":[{\"VarCharValue\":\"a2-data-tokyo\"},{\"VarCharValue\":\"4\"}]}]}}", COLS);
	athena_fault("GetQueryResults", 200, 1, page1);
	athena_fault("GetQueryResults", 200, 1, page2);

	s3i_query_options o = S3I_QUERY_OPTIONS_INIT;
	o.max_concurrent = 1;   /* the faults above meet the queries in input order */
	o.poll_interval_ms = 5;
	s3i_query *st = NULL;
	CHECK_OK(s3i_query_new(&st, f.run, &o));
	int rc = s3i_query_run(st);
	if (rc)
		fail_msg("query: %s", s3i_query_error(st)->message);
	s3i_query_free(st);
	s3i_check_faults_used(moto);
	assert_phase(&f, "querying");

	recorded r;
	read_recorded(&f, &r);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.q[0].name, "failing");
	assert_string_equal(r.q[0].state, "FAILED");
	assert_non_null(strstr(r.q[0].reason, "Column 'nope' cannot be resolved"));
	assert_string_equal(r.q[1].name, "paged");
	assert_string_equal(r.q[1].state, "SUCCEEDED");
	assert_int_equal(r.q[1].rows, 3);
	assert_string_equal(r.q[2].name, "big objects");
	assert_string_equal(r.q[2].state, "SUCCEEDED");
	assert_int_equal(r.q[2].rows, 2);
	assert_int_equal(r.q[2].reason[0], 0);
	assert_non_null(strstr(r.q[2].output_location,
		"s3://dep1-123456789012-consolidated/athena/r1/"));
	assert_non_null(strstr(r.q[2].output_location, r.q[2].execution_id));

	/* what Athena was asked: placeholders substituted, database context, result location */
	char body[256];
	snprintf(body, sizeof(body), "{\"QueryExecutionId\":\"%s\"}", r.q[1].execution_id);
	s3i_json doc = athena_raw(&f, "GetQueryExecution", body);
	assert_string_equal(s3i_json_str(s3i_json_path(doc, "QueryExecution.Query")),
		"SELECT bucket, count(*) AS objects FROM s3insights.r1inventorytable GROUP BY bucket");
	assert_string_equal(s3i_json_str(s3i_json_path(doc,
		"QueryExecution.QueryExecutionContext.Database")), "s3insights");
	assert_non_null(strstr(s3i_json_str(s3i_json_path(doc,
		"QueryExecution.ResultConfiguration.OutputLocation")),
		"s3://dep1-123456789012-consolidated/athena/r1/"));
	s3i_json_free(doc);
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 7);

	/* the results, row by row, with the column names; the header row is not a row */
	got_rows g;
	memset(&g, 0, sizeof(g));
	CHECK_OK(s3i_query_results(f.run, "big objects", 0, on_row, &g));
	assert_int_equal(g.n, 2);
	assert_string_equal(g.text, "bucket=a2-failed,key=<script>alert(1)</script>;"
		"bucket=a1-data-east,key=NULL;");
	memset(&g, 0, sizeof(g));
	CHECK_OK(s3i_query_results(f.run, "1", 2, on_row, &g));   /* by index, at most 2 */
	assert_int_equal(g.n, 2);
	assert_string_equal(g.text, "bucket=a1-data-east,objects=3;bucket=a1-data-west,objects=2;");
	memset(&g, 0, sizeof(g));
	g.stop_after = 1;
	rc = s3i_query_results(f.run, "paged", 0, on_row, &g);
	assert_int_equal(rc, S3I_EUSER);
	assert_int_equal(g.n, 1);
	rc = s3i_query_results(f.run, "failing", 0, on_row, &g);
	const char *m1[] = { "failing", "FAILED", "cannot be resolved", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, m1);
	rc = s3i_query_results(f.run, "no such query", 0, on_row, &g);
	const char *m2[] = { "no such query", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, m2);
	assert_int_equal(s3i_query_results(f.run, NULL, 0, on_row, &g), S3I_EINVALID);

	/* a second run of the stage starts nothing */
	CHECK_OK(s3i_query_new(&st, f.run, &o));
	CHECK_OK(s3i_query_run(st));
	s3i_query_free(st);
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 7);
	fx_close(&f);
}

static void test_resume_polls_the_recorded_execution(void **state)
{
	(void)state;
	fx f;
	open_with_table(&f, "[{\"name\":\"count\",\"query\":\"SELECT count(*) AS n FROM "
		"{ATHENA_TABLE}\"}]");
	canned_result("[[\"n\"],[\"14\"]]");
	athena_slow(3);
	s3i_query_options o = S3I_QUERY_OPTIONS_INIT;
	o.poll_interval_ms = 1000;
	s3i_query *st = NULL;
	CHECK_OK(s3i_query_new(&st, f.run, &o));
	int finished = 1;
	CHECK_OK(s3i_query_step(st, s3i_deployment_now_ms(f.d) + 300, &finished));
	assert_int_equal(finished, 0);
	s3i_query_free(st);

	/* started and recorded before the first poll */
	recorded r;
	read_recorded(&f, &r);
	assert_int_equal(r.n, 1);
	assert_true(!strcmp(r.q[0].state, "QUEUED"));
	assert_true(r.q[0].execution_id[0] != 0);
	char first[S3I_ATHENA_ID_SIZE];
	snprintf(first, sizeof(first), "%s", r.q[0].execution_id);
	static char ids[EXEC_CAP][S3I_ATHENA_ID_SIZE];
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 5);

	/* a new handle polls that execution: no second start */
	o.poll_interval_ms = 5;
	o.max_poll_interval_ms = 5;
	CHECK_OK(s3i_query_new(&st, f.run, &o));
	CHECK_OK(s3i_query_run(st));
	s3i_query_free(st);
	athena_fast();
	read_recorded(&f, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.q[0].execution_id, first);
	assert_string_equal(r.q[0].state, "SUCCEEDED");
	assert_int_equal(r.q[0].rows, 1);
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 5);
	fx_close(&f);
}

static void test_refused_and_timed_out_queries_are_recorded(void **state)
{
	(void)state;
	fx f;
	open_with_table(&f, "[{\"name\":\"refused\",\"query\":\"SELEC 1\"},"
		"{\"name\":\"slow\",\"query\":\"SELECT 2\"}]");
	/* StartQueryExecution refused in AWS's documented shape */
	athena_fault("StartQueryExecution", 400, 1, "{\"__type\":\"InvalidRequestException\","
		"\"AthenaErrorCode\":\"MALFORMED_QUERY\",\"Message\":\"line 1:1: mismatched input "
		"'SELEC'\"}");
	canned_result("[[\"_col0\"],[\"2\"]]");
	athena_slow(1000);
	s3i_query_options o = S3I_QUERY_OPTIONS_INIT;
	o.max_concurrent = 1;
	o.poll_interval_ms = 20;
	o.max_poll_interval_ms = 40;
	o.query_timeout_ms = 300;
	s3i_query *st = NULL;
	CHECK_OK(s3i_query_new(&st, f.run, &o));
	int rc = s3i_query_run(st);
	if (rc)
		fail_msg("query: %s", s3i_query_error(st)->message);
	s3i_query_free(st);
	athena_fast();
	s3i_check_faults_used(moto);

	recorded r;
	read_recorded(&f, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.q[0].state, "FAILED");
	assert_string_equal(r.q[0].execution_id, "");
	assert_non_null(strstr(r.q[0].reason, "mismatched input 'SELEC'"));
	assert_string_equal(r.q[1].state, "CANCELLED");
	assert_non_null(strstr(r.q[1].reason, "timed out"));
	/* Athena was told to stop it */
	char body[256];
	snprintf(body, sizeof(body), "{\"QueryExecutionId\":\"%s\"}", r.q[1].execution_id);
	s3i_json doc = athena_raw(&f, "GetQueryExecution", body);
	assert_string_equal(s3i_json_str(s3i_json_path(doc, "QueryExecution.Status.State")),
		"CANCELLED");
	s3i_json_free(doc);
	/* recorded, not the run's failure */
	assert_phase(&f, "querying");
	fx_close(&f);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	s3i_query *st = NULL;
	assert_int_equal(s3i_query_new(&st, NULL, NULL), S3I_EINVALID);
	fx f;
	fx_open_input(&f, "[]", "[\"ops@example.com\"]");
	s3i_query_options o = S3I_QUERY_OPTIONS_INIT;
	o.max_concurrent = -1;
	assert_int_equal(s3i_query_new(&st, f.run, &o), S3I_EINVALID);
	assert_null(st);
	assert_int_equal(s3i_query_list(f.run, NULL, NULL), S3I_EINVALID);
	/* no queries: finished at once */
	CHECK_OK(s3i_query_new(&st, f.run, NULL));
	CHECK_OK(s3i_query_run(st));
	s3i_query_free(st);
	s3i_query_free(NULL);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_queries_recorded_with_rows_and_failures),
		S3I_TEST(test_resume_polls_the_recorded_execution),
		S3I_TEST(test_refused_and_timed_out_queries_are_recorded),
		S3I_TEST(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
