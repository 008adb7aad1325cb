/*
 * The create-table stage (src/stages/table.c) against moto_server: the executed statements,
 * read back through ListQueryExecutions and GetQueryExecution, are exactly table_ddl's
 * CREATE DATABASE, raw table, view and ALTER TABLE ... ADD PARTITION for every bucket with
 * data (done, and timed out with files in the layout; not empty, excluded or failed ones),
 * in batches of at most 100; the phase moves to `table`; a second run of the stage starts
 * nothing; a stage interrupted by its deadline while a statement runs polls that execution
 * on resume instead of starting it again; a statement Athena answers FAILED (served through
 * /_fault: moto cannot fail one) fails the run, naming the statement.
 */
#include "report_fixture.h"
#include "services/dynamodb.h"
#include "stages/stage_athena.h"

#define EXEC_CAP 64

/* The statements the stage must have run, from table_ddl, for `parts` in order. */
static size_t expected_statements(char ***out, const s3i_ddl_partition *parts, size_t nparts)
{
	s3i_ddl_table t = { "s3insights", "r1inventorytable",
		"s3://dep1-123456789012-consolidated/inventory/r1/", S3I_FORMAT_CSV, 1 };
	size_t nb = (nparts + 99) / 100;
	char **s = calloc(3 + nb, sizeof(char *));
	s3i_buf b;
	s3i_buf_init(&b, NULL);
	CHECK_OK(s3i_ddl_create_database(&b, t.database));
	s[0] = strdup(s3i_buf_cstr(&b));
	s3i_buf_clear(&b);
	CHECK_OK(s3i_ddl_create_table(&b, &t));
	s[1] = strdup(s3i_buf_cstr(&b));
	s3i_buf_clear(&b);
	CHECK_OK(s3i_ddl_create_view(&b, &t));
	s[2] = strdup(s3i_buf_cstr(&b));
	for (size_t i = 0; i < nb; i++) {
		s3i_buf_clear(&b);
		size_t n = nparts - i * 100 < 100 ? nparts - i * 100 : 100;
		CHECK_OK(s3i_ddl_add_partitions(&b, &t, parts + i * 100, n));
		s[3 + i] = strdup(s3i_buf_cstr(&b));
	}
	s3i_buf_dispose(&b);
	*out = s;
	return 3 + nb;
}

static void free_strings(char **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

/* Every execution moto holds ran exactly one of `want`, and each of `want` ran once. */
static void assert_executed(fx *f, char **want, size_t nwant)
{
	static char ids[EXEC_CAP][S3I_ATHENA_ID_SIZE];
	size_t n = list_executions(f, ids, EXEC_CAP);
	if (n != nwant)
		fail_msg("%zu executions, expected %zu statements", n, nwant);
	int *seen = calloc(nwant, sizeof(int));
	for (size_t i = 0; i < n; i++) {
		char *q = execution_query(f, ids[i]);
		size_t j = 0;
		while (j < nwant && (seen[j] || strcmp(want[j], q)))
			j++;
		if (j == nwant)
			fail_msg("execution %s ran a statement not expected (or twice):\n%s", ids[i], q);
		seen[j] = 1;
		free(q);
	}
	free(seen);
}

typedef struct items {
	int n;
	char ids[EXEC_CAP][S3I_ATHENA_ID_SIZE];
	char states[EXEC_CAP][32];
	int64_t index[EXEC_CAP];
} items;

static int on_table_item(void *user, const char *sortkey, const s3i_ddb_item *it)
{
	items *x = user;
	assert_true(x->n < EXEC_CAP);
	assert_non_null(strstr(sortkey, "table#"));
	snprintf(x->ids[x->n], S3I_ATHENA_ID_SIZE, "%s", s3i_ddb_item_get_s(it, "execution_id"));
	snprintf(x->states[x->n], 32, "%s", s3i_ddb_item_get_s(it, "state"));
	CHECK_OK(s3i_ddb_item_get_i64(it, "index", &x->index[x->n]));
	x->n++;
	return 0;
}

static void read_items(fx *f, items *x)
{
	memset(x, 0, sizeof(*x));
	CHECK_OK(s3i_stage_items_list(f->run, "table#", on_table_item, x, NULL));
}

static int count_items(fx *f, char *state, size_t cap, char *reason, size_t rcap);

static void test_statements_create_table_and_every_partition(void **state)
{
	(void)state;
	fx f;
	fx_open_input(&f, "[]", "[\"ops@example.com\"]");
	seed_estate(&f);

	s3i_table *st = NULL;
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	int rc = s3i_table_run(st);
	if (rc)
		fail_msg("table: %s", s3i_table_error(st)->message);
	s3i_table_free(st);
	assert_phase(&f, "table");

	/* the state table orders buckets by account then name: 111... before 123... */
	const s3i_ddl_partition parts[] = {
		{ OTHER, "ap-northeast-1", "a2-data-tokyo" },
		{ OTHER, "eu-west-1", "a2-partial" },
		{ HOST, "us-east-1", "a1-data-east" },
		{ HOST, "eu-west-1", "a1-data-west" },
	};
	char **want = NULL;
	size_t nwant = expected_statements(&want, parts, 4);
	assert_int_equal(nwant, 4);
	assert_executed(&f, want, nwant);
	/* buckets without data in the layout get no partition */
	assert_null(strstr(want[3], "a1-empty"));
	assert_null(strstr(want[3], "a1-excluded"));
	assert_null(strstr(want[3], "a2-failed"));
	assert_non_null(strstr(want[3], "LOCATION 's3://dep1-123456789012-consolidated/inventory/r1/"
		"account=111111111111/region=eu-west-1/bucketname=a2-partial/'"));

	/* each statement recorded, in order, SUCCEEDED, with its execution */
	items x;
	read_items(&f, &x);
	assert_int_equal(x.n, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(x.index[i], i);
		assert_string_equal(x.states[i], "SUCCEEDED");
		char *q = execution_query(&f, x.ids[i]);
		assert_string_equal(q, want[i]);
		free(q);
	}

	/* CSV rows were counted while copied: no counting statement, no count record, and
	 * the status has no bucket not counted */
	char cstate[32], reason[256];
	assert_int_equal(count_items(&f, cstate, sizeof(cstate), reason, sizeof(reason)), 0);
	s3i_run_status s = { .struct_size = sizeof(s) };
	CHECK_OK(s3i_run_status_read(f.run, &s, NULL, NULL));
	assert_int_equal(s.buckets_not_counted, 0);
	assert_int_equal(s.objects, 3 + 2 + 4 + 5);

	/* a second run of the stage starts nothing */
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	assert_executed(&f, want, nwant);
	free_strings(want, nwant);
	fx_close(&f);
}

static void test_partitions_in_batches_of_100(void **state)
{
	(void)state;
	fx f;
	fx_open_input(&f, "[]", "[\"ops@example.com\"]");
	enum { N = 205 };
	static const char *const regions[] = { "us-east-1", "eu-west-1", "ap-northeast-1" };
	static char names[N][64];
	static s3i_ddl_partition parts[N];
	/* bucket names sort in seeding order within each account; OTHER's come first */
	size_t k = 0;
	for (int acct = 0; acct < 2; acct++)
		for (int i = 0; i < N; i++) {
			if ((i % 2) != acct)
				continue;
			const char *account = acct ? HOST : OTHER;
			snprintf(names[k], sizeof(names[k]), "bkt-%03d", i);
			parts[k].account = account;
			parts[k].region = regions[i % 3];
			parts[k].bucket = names[k];
			k++;
		}
	assert_int_equal(k, N);
	for (size_t i = 0; i < N; i++) {
		s3i_state *s = s3i_run_state(f.run);
		int created = 0, won = 0, counted = 0;
		CHECK_OK(s3i_state_bucket_add(s, "r1", parts[i].account, parts[i].region,
			parts[i].bucket, S3I_BUCKET_DISCOVERED, NULL, 1000, &created, NULL));
		CHECK_OK(s3i_state_bucket_claim_manifest(s, "r1", parts[i].account, parts[i].bucket,
			"m/manifest.json", 1, 1001, &won, NULL));
		CHECK_OK(s3i_state_file_done(s, "r1", parts[i].account, parts[i].bucket, "m/data/f.gz",
			"inventory/r1/x/f.gz", 10, "0123456789abcdef0123456789abcdef", 1, 10, 1002,
			&counted, NULL));
	}
	s3i_table *st = NULL;
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	char **want = NULL;
	size_t nwant = expected_statements(&want, parts, N);
	assert_int_equal(nwant, 6);   /* database, raw table, view, 100 + 100 + 5 partitions */
	assert_executed(&f, want, nwant);
	/* every partition is in exactly one statement */
	for (size_t i = 0; i < N; i++) {
		char needle[160];
		snprintf(needle, sizeof(needle), "bucketname=%s/'", parts[i].bucket);
		int found = 0;
		for (size_t j = 3; j < nwant; j++)
			found += strstr(want[j], needle) != NULL;
		assert_int_equal(found, 1);
	}
	free_strings(want, nwant);
	fx_close(&f);
}

static void test_resume_polls_the_running_statement(void **state)
{
	(void)state;
	fx f;
	fx_open_input(&f, "[]", "[\"ops@example.com\"]");
	seed_estate(&f);
	athena_slow(3);   /* QUEUED, RUNNING x3, SUCCEEDED: one state per GetQueryExecution */

	s3i_table_options o = S3I_TABLE_OPTIONS_INIT;
	o.poll_interval_ms = 1000;
	s3i_table *st = NULL;
	CHECK_OK(s3i_table_new(&st, f.run, &o));
	int finished = 1;
	int64_t deadline = s3i_deployment_now_ms(f.d) + 300;
	CHECK_OK(s3i_table_step(st, deadline, &finished));
	assert_int_equal(finished, 0);
	s3i_table_free(st);

	/* the first statement was started and recorded before its first poll */
	items x;
	read_items(&f, &x);
	assert_int_equal(x.n, 1);
	assert_true(!strcmp(x.states[0], "QUEUED") || !strcmp(x.states[0], "RUNNING"));
	char first[S3I_ATHENA_ID_SIZE];
	snprintf(first, sizeof(first), "%s", x.ids[0]);
	static char ids[EXEC_CAP][S3I_ATHENA_ID_SIZE];
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 1);

	/* a new handle polls that execution to its end, then runs the rest */
	o.poll_interval_ms = 5;
	o.max_poll_interval_ms = 5;
	CHECK_OK(s3i_table_new(&st, f.run, &o));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	athena_fast();
	read_items(&f, &x);
	assert_int_equal(x.n, 4);
	assert_string_equal(x.ids[0], first);
	for (int i = 0; i < 4; i++)
		assert_string_equal(x.states[i], "SUCCEEDED");
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 4);
	fx_close(&f);
}

static void test_failed_statement_fails_the_run(void **state)
{
	(void)state;
	fx f;
	fx_open_input(&f, "[]", "[\"ops@example.com\"]");
	seed_estate(&f);
	/* Athena's documented shape of a FAILED execution (moto never fails one) */
	athena_fault("GetQueryExecution", 200, 1, "{\"QueryExecution\":{\"QueryExecutionId\":"
		"\"00000000-0000-0000-0000-000000000001\",\"Query\":\"CREATE DATABASE\","
		"\"StatementType\":\"DDL\",\"Status\":{\"State\":\"FAILED\",\"StateChangeReason\":"
		"\"FAILED: Execution Error, return code 1 from DDLTask. Access denied to <s3://x>\","
		"\"SubmissionDateTime\":1.764806400E9},\"Statistics\":{\"DataScannedInBytes\":0}}}");
	s3i_table *st = NULL;
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	int rc = s3i_table_run(st);
	assert_int_equal(rc, S3I_EAWS);
	const s3i_error *e = s3i_table_error(st);
	assert_non_null(strstr(e->message, "CREATE DATABASE s3insights"));
	assert_non_null(strstr(e->message, "return code 1 from DDLTask"));
	s3i_table_free(st);
	s3i_check_faults_used(moto);

	s3i_state_run r;
	run_record(&f, &r);
	assert_string_equal(s3i_run_phase_name(r.phase), "failed");
	assert_string_equal(r.error_stage, "table");
	assert_non_null(strstr(r.error, "statement 1 (CREATE DATABASE s3insights)"));
	s3i_state_run_dispose(&r);
	items x;
	read_items(&f, &x);
	assert_int_equal(x.n, 1);
	assert_string_equal(x.states[0], "FAILED");
	fx_close(&f);
}

/* A step whose reading of the buckets fails (the state table's documented error, served)
 * returns the error; the next step builds the statements afresh, not twice. */
static void test_failed_step_is_redone_cleanly(void **state)
{
	(void)state;
	fx f;
	fx_open_input(&f, "[]", "[\"ops@example.com\"]");
	seed_estate(&f);
	assert_int_equal(s3i_moto_add_fault(moto, "{\"target\":\"DynamoDB_20120810.Query\","
		"\"status\":400,\"count\":1,\"content_type\":\"application/x-amz-json-1.0\","
		"\"body\":\"{\\\"__type\\\":\\\"com.amazon.coral.validate#ValidationException\\\","
		"\\\"message\\\":\\\"injected\\\"}\"}"), 0);
	s3i_table *st = NULL;
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	int finished = 1;
	int rc = s3i_table_step(st, 0, &finished);
	assert_int_not_equal(rc, S3I_OK);
	assert_int_equal(finished, 0);
	assert_non_null(strstr(s3i_table_error(st)->message, "reading its buckets"));
	s3i_check_faults_used(moto);
	CHECK_OK(s3i_table_step(st, 0, &finished));
	assert_int_equal(finished, 1);
	s3i_table_free(st);
	static char ids[EXEC_CAP][S3I_ATHENA_ID_SIZE];
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 4);
	assert_phase(&f, "table");
	fx_close(&f);
}

#define ORC_COUNT_SQL "SELECT account, region, bucketname, count(*), sum(size) FROM " \
	"\"inv_db\".\"objects\" GROUP BY 1, 2, 3"

/* An ORC run r1 of both accounts, database inv_db, table objects. */
static void fx_open_orc(fx *f, const char *format)
{
	char json[1024];
	snprintf(json, sizeof(json), "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"" HOST "\"},"
		"{\"id\":\"" OTHER "\"}],\"athena_queries\":[],\"sender_email_address\":\"" SENDER "\","
		"\"recipient_email_addresses\":[\"o@example.com\"],\"inventory_format\":\"%s\","
		"\"object_versions\":\"All\",\"athena_database_name\":\"inv_db\","
		"\"athena_table_name\":\"objects\"}", format);
	fx_open(f, json);
}

typedef struct seen_bucket {
	char bucket[64];
	int64_t objects, bytes;
} seen_bucket;

typedef struct seen_status {
	int n;
	seen_bucket b[16];
} seen_status;

static int on_status(void *user, const s3i_bucket_status *b)
{
	seen_status *x = user;
	assert_true(x->n < 16);
	snprintf(x->b[x->n].bucket, 64, "%s", b->bucket);
	x->b[x->n].objects = b->objects;
	x->b[x->n].bytes = b->bytes;
	x->n++;
	return 0;
}

/* The run's status; *x the buckets as the public status gives them. */
static s3i_run_status read_status(fx *f, seen_status *x)
{
	memset(x, 0, sizeof(*x));
	s3i_run_status s = { .struct_size = sizeof(s) };
	CHECK_OK(s3i_run_status_read(f->run, &s, on_status, x));
	return s;
}

static void assert_bucket_counts(const seen_status *x, const char *bucket, int64_t objects,
	int64_t bytes)
{
	for (int i = 0; i < x->n; i++) {
		if (strcmp(x->b[i].bucket, bucket))
			continue;
		if (x->b[i].objects != objects || x->b[i].bytes != bytes)
			fail_msg("bucket %s: %lld objects, %lld bytes; expected %lld, %lld", bucket,
				(long long)x->b[i].objects, (long long)x->b[i].bytes, (long long)objects,
				(long long)bytes);
		return;
	}
	fail_msg("bucket %s not in the status", bucket);
}

/* ORC data: three buckets with files (partition counts no ORC rows: 0), one empty. */
static void seed_orc_estate(fx *f)
{
	seed_data_bucket(f, HOST, "us-east-1", "orc-east", 2, 2, 0, 0);
	seed_data_bucket(f, OTHER, "eu-west-1", "orc-west", 1, 1, 0, 0);
	seed_data_bucket(f, OTHER, "eu-west-1", "orc-markers", 1, 1, 0, 0);
	seed_terminal_bucket(f, HOST, "us-east-1", "orc-empty", S3I_BUCKET_EMPTY, "no objects");
}

/* The canned results of the DDL (none) and of the count: orc-markers holds only delete
 * markers (sum(size) NULL). */
static void canned_orc_count(void)
{
	for (int i = 0; i < 3; i++)   /* CREATE DATABASE, CREATE TABLE, ADD PARTITION */
		canned_result("[[\"x\"]]");
	canned_result("[[\"account\",\"region\",\"bucketname\",\"_col3\",\"_col4\"],"
		"[\"" HOST "\",\"us-east-1\",\"orc-east\",\"3000000\",\"123456789012345\"],"
		"[\"" OTHER "\",\"eu-west-1\",\"orc-markers\",\"12\",null],"
		"[\"" OTHER "\",\"eu-west-1\",\"orc-west\",\"41\",\"4100\"]]");
}

/* The bucket item as raw DynamoDB: counted_ms removed and objects, bytes zeroed, as if the
 * count had never been recorded. */
static void forget_count(fx *f, const char *account, const char *bucket)
{
	s3i_svc svc = { s3i_deployment_client(f->d), NULL, "us-east-1" };
	s3i_ddb_item *key = NULL, *vals = NULL, *names = NULL;
	CHECK_OK(s3i_ddb_item_new(&key, NULL));
	CHECK_OK(s3i_ddb_item_new(&vals, NULL));
	CHECK_OK(s3i_ddb_item_new(&names, NULL));
	char sk[160];
	snprintf(sk, sizeof(sk), "bucket#%s#%s", account, bucket);
	CHECK_OK(s3i_ddb_item_set_s(key, "partitionkey", "run#r1"));
	CHECK_OK(s3i_ddb_item_set_s(key, "sortkey", sk));
	CHECK_OK(s3i_ddb_item_set_n_i64(vals, ":z", 0));
	CHECK_OK(s3i_ddb_item_set_s(names, "#b", "bytes"));
	s3i_ddb_write_opts wo = { 0 };
	wo.update = "SET objects = :z, #b = :z REMOVE counted_ms";
	wo.names = names;
	wo.values = vals;
	CHECK_OK(s3i_ddb_update_item_op(&svc, s3i_state_table(s3i_run_state(f->run)), key, &wo,
		NULL, NULL));
	s3i_ddb_item_free(key);
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(names);
}

/* ORC: not counted before the table stage; one counting statement after the partitions;
 * each bucket with data gets the registered numbers (NULL sum: 0 bytes), the run its
 * totals; a second handle starts nothing and adds nothing. */
static void test_orc_buckets_counted_by_athena(void **state)
{
	(void)state;
	fx f;
	fx_open_orc(&f, "ORC");
	seed_orc_estate(&f);
	seen_status x;
	s3i_run_status s = read_status(&f, &x);
	assert_int_equal(s.buckets_not_counted, 3);
	assert_int_equal(s.objects, -1);
	assert_int_equal(s.bytes, -1);
	assert_bucket_counts(&x, "orc-east", -1, -1);
	assert_bucket_counts(&x, "orc-west", -1, -1);
	assert_bucket_counts(&x, "orc-empty", 0, 0);

	canned_orc_count();
	s3i_table *st = NULL;
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);

	static char ids[EXEC_CAP][S3I_ATHENA_ID_SIZE];
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 4);
	int found = 0;
	for (int i = 0; i < 4; i++) {
		char *q = execution_query(&f, ids[i]);
		found += !strcmp(q, ORC_COUNT_SQL);
		free(q);
	}
	assert_int_equal(found, 1);
	s = read_status(&f, &x);
	assert_int_equal(s.buckets_not_counted, 0);
	assert_bucket_counts(&x, "orc-east", 3000000, 123456789012345LL);
	assert_bucket_counts(&x, "orc-markers", 12, 0);
	assert_bucket_counts(&x, "orc-west", 41, 4100);
	assert_bucket_counts(&x, "orc-empty", 0, 0);
	assert_int_equal(s.objects, 3000053);
	assert_int_equal(s.bytes, 123456789012345LL + 4100);
	char cstate[32], reason[256];
	assert_int_equal(count_items(&f, cstate, sizeof(cstate), reason, sizeof(reason)), 1);
	assert_string_equal(cstate, "SUCCEEDED");

	/* resumed after the count: nothing started, nothing added */
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 4);
	s = read_status(&f, &x);
	assert_int_equal(s.objects, 3000053);
	assert_bucket_counts(&x, "orc-east", 3000000, 123456789012345LL);

	/* a count recorded is never changed by a second one (set once) */
	int set = 1;
	CHECK_OK(s3i_state_bucket_set_counts(s3i_run_state(f.run), "r1", HOST, "orc-east", 1, 1,
		5000, &set, NULL));
	assert_int_equal(set, 0);
	assert_int_equal(s3i_state_bucket_set_counts(s3i_run_state(f.run), "r1", HOST, "nope", 1,
		1, 5000, &set, NULL), S3I_ENOTFOUND);
	s = read_status(&f, &x);
	assert_bucket_counts(&x, "orc-east", 3000000, 123456789012345LL);
	fx_close(&f);
}

/* Stopped after the count succeeded but before every bucket's count was written: the next
 * handle reads the recorded execution's results again instead of counting again. */
static void test_orc_count_resumed_reads_results_again(void **state)
{
	(void)state;
	fx f;
	fx_open_orc(&f, "Parquet");
	seed_orc_estate(&f);
	canned_orc_count();
	s3i_table *st = NULL;
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	forget_count(&f, OTHER, "orc-west");
	seen_status x;
	s3i_run_status s = read_status(&f, &x);
	assert_int_equal(s.buckets_not_counted, 1);
	assert_int_equal(s.objects, -1);
	assert_bucket_counts(&x, "orc-west", -1, -1);
	assert_bucket_counts(&x, "orc-east", 3000000, 123456789012345LL);

	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	static char ids[EXEC_CAP][S3I_ATHENA_ID_SIZE];
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 4);
	s = read_status(&f, &x);
	assert_int_equal(s.buckets_not_counted, 0);
	assert_bucket_counts(&x, "orc-west", 41, 4100);
	assert_bucket_counts(&x, "orc-east", 3000000, 123456789012345LL);
	assert_int_equal(s.objects, 3000053);

	/* a bucket whose data came later gets its partition: the table changed, so the count
	 * runs again (the counted buckets keep their counts: set once) */
	seed_data_bucket(&f, HOST, "us-east-1", "orc-late", 1, 1, 0, 0);
	canned_result("[[\"x\"]]");   /* ADD PARTITION */
	canned_result("[[\"account\",\"region\",\"bucketname\",\"_col3\",\"_col4\"],"
		"[\"" HOST "\",\"us-east-1\",\"orc-east\",\"1\",\"1\"],"
		"[\"" HOST "\",\"us-east-1\",\"orc-late\",\"6\",\"60\"]]");
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	assert_int_equal(list_executions(&f, ids, EXEC_CAP), 6);
	s = read_status(&f, &x);
	assert_int_equal(s.buckets_not_counted, 0);
	assert_bucket_counts(&x, "orc-late", 6, 60);
	assert_bucket_counts(&x, "orc-east", 3000000, 123456789012345LL);
	fx_close(&f);
}

static int on_count_item(void *user, const char *sortkey, const s3i_ddb_item *it)
{
	char **out = user;
	assert_string_equal(sortkey, "count#00000");
	snprintf(out[0], 32, "%s", s3i_ddb_item_get_s(it, "state"));
	snprintf(out[1], 256, "%s", s3i_ddb_item_get_s(it, "reason"));
	return 0;
}

/* The count's record: 1 and its state and reason when there is one, else 0. */
static int count_items(fx *f, char *state, size_t cap, char *reason, size_t rcap)
{
	(void)cap;
	(void)rcap;
	char *out[2] = { state, reason };
	state[0] = reason[0] = 0;
	CHECK_OK(s3i_stage_items_list(f->run, "count#", on_count_item, out, NULL));
	return state[0] != 0;
}

/* The DDL done and recorded with every bucket counted; then the buckets forgotten, so the
 * next handle's first Athena calls are the count's (faults can then aim at them). */
static void orc_ddl_done_count_pending(fx *f)
{
	s3i_state *ss = s3i_run_state(f->run);
	const char *b[3][2] = { { HOST, "orc-east" }, { OTHER, "orc-west" }, { OTHER, "orc-markers" } };
	for (int i = 0; i < 3; i++)
		CHECK_OK(s3i_state_bucket_set_counts(ss, "r1", b[i][0], b[i][1], 0, 0, 2000, NULL,
			NULL));
	s3i_table *st = NULL;
	CHECK_OK(s3i_table_new(&st, f->run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	static char ids[EXEC_CAP][S3I_ATHENA_ID_SIZE];
	assert_int_equal(list_executions(f, ids, EXEC_CAP), 3);   /* no count: all counted */
	for (int i = 0; i < 3; i++)
		forget_count(f, b[i][0], b[i][1]);
}

/* A counting statement Athena answers FAILED (served: moto fails nothing) fails nothing: the
 * buckets stay not counted, the stage finishes, the run keeps its phase; the record says
 * why, and the report's note says it. */
static void test_orc_count_failure_leaves_not_counted(void **state)
{
	(void)state;
	fx f;
	fx_open_orc(&f, "ORC");
	seed_orc_estate(&f);
	orc_ddl_done_count_pending(&f);
	athena_fault("GetQueryExecution", 200, 1, "{\"QueryExecution\":{\"QueryExecutionId\":"
		"\"00000000-0000-0000-0000-000000000002\",\"Query\":\"SELECT\","
		"\"StatementType\":\"DML\",\"Status\":{\"State\":\"FAILED\",\"StateChangeReason\":"
		"\"HIVE_BAD_DATA: Error reading ORC footer\","
		"\"SubmissionDateTime\":1.764806400E9},\"Statistics\":{\"DataScannedInBytes\":0}}}");
	s3i_table *st = NULL;
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	s3i_check_faults_used(moto);
	assert_phase(&f, "table");
	seen_status x;
	s3i_run_status s = read_status(&f, &x);
	assert_int_equal(s.buckets_not_counted, 3);
	assert_int_equal(s.objects, -1);
	assert_bucket_counts(&x, "orc-west", -1, -1);
	assert_bucket_counts(&x, "orc-empty", 0, 0);
	char cstate[32], reason[256];
	assert_int_equal(count_items(&f, cstate, sizeof(cstate), reason, sizeof(reason)), 1);
	assert_string_equal(cstate, "FAILED");
	assert_non_null(strstr(reason, "Error reading ORC footer"));

	/* Athena refusing to start it (a documented error) is no failure either */
	athena_fault("StartQueryExecution", 400, 1, "{\"__type\":\"InvalidRequestException\","
		"\"Message\":\"Queries of this type are not supported\"}");
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	s3i_check_faults_used(moto);
	s = read_status(&f, &x);
	assert_int_equal(s.buckets_not_counted, 3);
	assert_int_equal(count_items(&f, cstate, sizeof(cstate), reason, sizeof(reason)), 1);
	assert_string_equal(cstate, "FAILED");
	assert_non_null(strstr(reason, "not supported"));
	fx_close(&f);
}

/* Results that cannot be used (a count that is no number), or that come in pages: all or
 * nothing, every page read. */
static void test_orc_count_results_paged_and_checked(void **state)
{
	(void)state;
	fx f;
	fx_open_orc(&f, "ORC");
	seed_orc_estate(&f);
	orc_ddl_done_count_pending(&f);
	/* pages served: moto ignores NextToken */
	athena_fault("GetQueryResults", 200, 1, "{\"ResultSet\":{\"Rows\":["
		"{\"Data\":[{\"VarCharValue\":\"account\"},{\"VarCharValue\":\"region\"},"
		"{\"VarCharValue\":\"bucketname\"},{\"VarCharValue\":\"_col3\"},{\"VarCharValue\":\"_col4\"}]},"
		"{\"Data\":[{\"VarCharValue\":\"" HOST "\"},{\"VarCharValue\":\"us-east-1\"},"
		"{\"VarCharValue\":\"orc-east\"},{\"VarCharValue\":\"7\"},{\"VarCharValue\":\"700\"}]}],"
		"\"ResultSetMetadata\":{\"ColumnInfo\":[{\"Name\":\"account\",\"Type\":\"varchar\"},"
		"{\"Name\":\"region\",\"Type\":\"varchar\"},{\"Name\":\"bucketname\",\"Type\":\"varchar\"},"
		"{\"Name\":\"_col3\",\"Type\":\"bigint\"},{\"Name\":\"_col4\",\"Type\":\"bigint\"}]}},"
		"\"NextToken\":\"page2\"}");
	athena_fault("GetQueryResults", 200, 1, "{\"ResultSet\":{\"Rows\":["
		"{\"Data\":[{\"VarCharValue\":\"" OTHER "\"},{\"VarCharValue\":\"eu-west-1\"},"
		"{\"VarCharValue\":\"orc-west\"},{\"VarCharValue\":\"8\"},{\"VarCharValue\":\"800\"}]}],"
		"\"ResultSetMetadata\":{\"ColumnInfo\":[{\"Name\":\"account\",\"Type\":\"varchar\"},"
		"{\"Name\":\"region\",\"Type\":\"varchar\"},{\"Name\":\"bucketname\",\"Type\":\"varchar\"},"
		"{\"Name\":\"_col3\",\"Type\":\"bigint\"},{\"Name\":\"_col4\",\"Type\":\"bigint\"}]}}}");
	s3i_table *st = NULL;
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	s3i_check_faults_used(moto);
	seen_status x;
	s3i_run_status s = read_status(&f, &x);
	assert_int_equal(s.buckets_not_counted, 0);
	assert_bucket_counts(&x, "orc-east", 7, 700);
	assert_bucket_counts(&x, "orc-west", 8, 800);
	assert_bucket_counts(&x, "orc-markers", 0, 0);   /* files, but no rows */
	fx_close(&f);

	/* a row whose count is no number: nothing is recorded */
	fx_open_orc(&f, "ORC");
	seed_orc_estate(&f);
	for (int i = 0; i < 3; i++)
		canned_result("[[\"x\"]]");
	canned_result("[[\"account\",\"region\",\"bucketname\",\"_col3\",\"_col4\"],"
		"[\"" HOST "\",\"us-east-1\",\"orc-east\",\"5\",\"50\"],"
		"[\"" OTHER "\",\"eu-west-1\",\"orc-west\",\"lots\",\"1\"]]");
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	s = read_status(&f, &x);
	assert_int_equal(s.buckets_not_counted, 3);
	assert_bucket_counts(&x, "orc-east", -1, -1);
	char cstate[32], reason[256];
	assert_int_equal(count_items(&f, cstate, sizeof(cstate), reason, sizeof(reason)), 1);
	assert_non_null(strstr(reason, "orc-west"));
	fx_close(&f);
}

/* ORC reports: one typed table (no raw table, no view), partitions on it, then the count. */
static void test_orc_typed_table(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"" HOST "\"}],\"athena_queries\":[],"
		"\"sender_email_address\":\"" SENDER "\",\"recipient_email_addresses\":[\"o@example.com\"],"
		"\"inventory_format\":\"ORC\",\"object_versions\":\"Current\","
		"\"athena_database_name\":\"inv_db\",\"athena_table_name\":\"objects\"}");
	seed_data_bucket(&f, HOST, "us-east-1", "orc-bucket", 1, 1, 0, 0);
	s3i_table *st = NULL;
	CHECK_OK(s3i_table_new(&st, f.run, NULL));
	CHECK_OK(s3i_table_run(st));
	s3i_table_free(st);
	s3i_ddl_table t = { "inv_db", "objects", "s3://dep1-123456789012-consolidated/inventory/r1/",
		S3I_FORMAT_ORC, 0 };
	s3i_ddl_partition p = { HOST, "us-east-1", "orc-bucket" };
	char *want[4];
	s3i_buf b;
	s3i_buf_init(&b, NULL);
	CHECK_OK(s3i_ddl_create_database(&b, "inv_db"));
	want[0] = strdup(s3i_buf_cstr(&b));
	s3i_buf_clear(&b);
	CHECK_OK(s3i_ddl_create_table(&b, &t));
	want[1] = strdup(s3i_buf_cstr(&b));
	s3i_buf_clear(&b);
	CHECK_OK(s3i_ddl_add_partitions(&b, &t, &p, 1));
	want[2] = strdup(s3i_buf_cstr(&b));
	want[3] = strdup(ORC_COUNT_SQL);
	s3i_buf_dispose(&b);
	assert_non_null(strstr(want[1], "ORC"));
	assert_executed(&f, want, 4);
	for (int i = 0; i < 4; i++)
		free(want[i]);
	/* moto's empty result: the bucket's files hold no rows */
	seen_status x;
	s3i_run_status s = read_status(&f, &x);
	assert_int_equal(s.buckets_not_counted, 0);
	assert_bucket_counts(&x, "orc-bucket", 0, 0);
	fx_close(&f);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	s3i_table *st = NULL;
	assert_int_equal(s3i_table_new(&st, NULL, NULL), S3I_EINVALID);
	fx f;
	fx_open_input(&f, "[]", "[\"ops@example.com\"]");
	s3i_table_options o = S3I_TABLE_OPTIONS_INIT;
	o.struct_size = 0;
	assert_int_equal(s3i_table_new(&st, f.run, &o), S3I_EINVALID);
	o = (s3i_table_options)S3I_TABLE_OPTIONS_INIT;
	o.statement_timeout_ms = -1;
	assert_int_equal(s3i_table_new(&st, f.run, &o), S3I_EINVALID);
	assert_null(st);
	/* an old caller's smaller options get the defaults for the rest */
	o = (s3i_table_options)S3I_TABLE_OPTIONS_INIT;
	o.struct_size = sizeof(uint32_t) + 4 + sizeof(int64_t);
	CHECK_OK(s3i_table_new(&st, f.run, &o));
	int finished = 0;
	assert_int_equal(s3i_table_step(st, 0, NULL), S3I_EINVALID);
	assert_int_equal(s3i_table_step(NULL, 0, &finished), S3I_EINVALID);
	s3i_table_free(st);
	s3i_table_free(NULL);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_statements_create_table_and_every_partition),
		S3I_TEST(test_partitions_in_batches_of_100),
		S3I_TEST(test_resume_polls_the_running_statement),
		S3I_TEST(test_failed_statement_fails_the_run),
		S3I_TEST(test_failed_step_is_redone_cleanly),
		S3I_TEST(test_orc_typed_table),
		S3I_TEST(test_orc_buckets_counted_by_athena),
		S3I_TEST(test_orc_count_resumed_reads_results_again),
		S3I_TEST(test_orc_count_failure_leaves_not_counted),
		S3I_TEST(test_orc_count_results_paged_and_checked),
		S3I_TEST(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
