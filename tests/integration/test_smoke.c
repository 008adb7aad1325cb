/*
 * Smoke tests (DESIGN §3 `is_smoke_test`) against moto_server: the run chooses random
 * database and table names once, records them on its run item and every later handle
 * (s3i_run_open, s3i_run_start again) reads the same names back; a normal run uses the
 * input's. The create-table and query stages use the random names (the executed statements
 * read back through ListQueryExecutions / GetQueryExecution); teardown drops the view, the
 * raw table and the database (CASCADE) through Athena, then deletes the run's consolidated
 * data and query results, and a second teardown starts nothing. A normal run's teardown
 * drops nothing. A DROP still running when a step's deadline comes is polled by the next
 * handle, not started again; a DROP of the view that fails is only logged when the DROP
 * DATABASE ... CASCADE succeeds; a DROP that Athena refuses fails the step, and the next
 * one finishes.
 */
#include "report_fixture.h"
#include "s3insights/stage_teardown.h"
#include "services/s3.h"
#include "stages/stage_athena.h"

#define EXEC_CAP 64

static char *smoke_json(const char *run_id, int smoke)
{
	const char *fmt = "{\"run_id\":\"%s\",\"accounts\":[{\"id\":\"" HOST "\"},{\"id\":\"" OTHER
		"\"}],\"athena_queries\":[{\"name\":\"count\",\"query\":\"SELECT count(*) FROM "
		"{ATHENA_DATABASE}.{ATHENA_TABLE}\"}],\"sender_email_address\":\"" SENDER "\","
		"\"recipient_email_addresses\":[\"ops@example.com\"],\"athena_database_name\":"
		"\"realdb\",\"athena_table_name\":\"realtable\",\"is_smoke_test\":%s,"
		"\"supported_regions\":[\"us-east-1\",\"eu-west-1\",\"ap-northeast-1\"]}";
	size_t n = strlen(fmt) + 32;
	char *s = malloc(n);
	snprintf(s, n, fmt, run_id, smoke ? "true" : "false");
	return s;
}

/* s3i_smoke_ + 10 of [a-z0-9] and smoke_ + the same 10. */
static void assert_smoke_names(const char *db, const char *table)
{
	assert_non_null(db);
	assert_non_null(table);
	assert_int_equal(strlen(db), 20);
	assert_memory_equal(db, "s3i_smoke_", 10);
	for (int i = 10; i < 20; i++)
		assert_true((db[i] >= 'a' && db[i] <= 'z') || (db[i] >= '0' && db[i] <= '9'));
	assert_int_equal(strlen(table), 16);
	assert_memory_equal(table, "smoke_", 6);
	assert_string_equal(table + 6, db + 10);
}

/* fx_open with the input of smoke_json(run_id, smoke). */
static void smoke_open(fx *f, const char *run_id, int smoke)
{
	char *json = smoke_json(run_id, smoke);
	fx_open(f, json);
	free(json);
}

static void start_run(fx *f, const char *run_id, int smoke, s3i_run_input **in, s3i_run **run)
{
	char *json = smoke_json(run_id, smoke);
	CHECK_OK(s3i_run_input_parse(in, json, strlen(json), s3i_test_alloc(), NULL));
	free(json);
	CHECK_OK(s3i_run_start(run, f->d, *in));
}

static void test_names_random_recorded_once_and_read_back(void **state)
{
	(void)state;
	fx f;
	smoke_open(&f, "r1", 1);
	char db[72], table[72];
	snprintf(db, sizeof(db), "%s", s3i_run_get_database(f.run));
	snprintf(table, sizeof(table), "%s", s3i_run_get_table(f.run));
	assert_smoke_names(db, table);
	/* the input still says what it said: parsing stays deterministic */
	assert_string_equal(s3i_run_input_get_database(s3i_run_get_input(f.run)), "realdb");
	assert_string_equal(s3i_run_input_get_table(s3i_run_get_input(f.run)), "realtable");

	/* recorded on the run item */
	s3i_state_run rec;
	run_record(&f, &rec);
	assert_string_equal(rec.smoke_database, db);
	assert_string_equal(rec.smoke_table, table);
	s3i_state_run_dispose(&rec);

	/* open and resume read the same names back */
	s3i_run *opened = NULL, *resumed = NULL;
	CHECK_OK(s3i_run_open(&opened, f.d, "r1"));
	assert_string_equal(s3i_run_get_database(opened), db);
	assert_string_equal(s3i_run_get_table(opened), table);
	CHECK_OK(s3i_run_start(&resumed, f.d, f.in));
	assert_string_equal(s3i_run_get_database(resumed), db);
	assert_string_equal(s3i_run_get_table(resumed), table);
	s3i_run_free(opened);
	s3i_run_free(resumed);

	/* a second record of names changes nothing: the first stay */
	CHECK_OK(s3i_state_run_set_smoke_names(s3i_run_state(f.run), "r1", "s3i_smoke_other00000",
		"smoke_other00000", NULL));
	CHECK_OK(s3i_run_open(&opened, f.d, "r1"));
	assert_string_equal(s3i_run_get_database(opened), db);
	s3i_run_free(opened);
	assert_int_equal(s3i_state_run_set_smoke_names(s3i_run_state(f.run), "nosuch", "a", "b",
		NULL), S3I_ENOTFOUND);

	/* another smoke run gets other names */
	s3i_run_input *in2 = NULL;
	s3i_run *r2 = NULL;
	start_run(&f, "r2", 1, &in2, &r2);
	assert_smoke_names(s3i_run_get_database(r2), s3i_run_get_table(r2));
	assert_string_not_equal(s3i_run_get_database(r2), db);
	s3i_run_free(r2);
	s3i_run_input_free(in2);

	/* a normal run uses the input's names and records none */
	s3i_run_input *in3 = NULL;
	s3i_run *r3 = NULL;
	start_run(&f, "r3", 0, &in3, &r3);
	assert_string_equal(s3i_run_get_database(r3), "realdb");
	assert_string_equal(s3i_run_get_table(r3), "realtable");
	CHECK_OK(s3i_state_run_get(s3i_run_state(f.run), "r3", &rec, NULL));
	assert_string_equal(rec.smoke_database, "");
	s3i_state_run_dispose(&rec);
	s3i_run_free(r3);
	s3i_run_input_free(in3);
	assert_null(s3i_run_get_database(NULL));
	assert_null(s3i_run_get_table(NULL));
	fx_close(&f);
}

/* A smoke run recorded without its names (a crash right after the run item was written)
 * gets them from the next handle, and keeps them. */
static void test_names_recorded_after_a_crash(void **state)
{
	(void)state;
	fx f;
	smoke_open(&f, "r1", 1);
	s3i_run_input *in = NULL;
	char *json = smoke_json("r4", 1);
	CHECK_OK(s3i_run_input_parse(&in, json, strlen(json), s3i_test_alloc(), NULL));
	free(json);
	s3i_buf canon;
	s3i_buf_init(&canon, s3i_test_alloc());
	CHECK_OK(s3i_run_input_to_json(in, &canon));
	CHECK_OK(s3i_state_run_create(s3i_run_state(f.run), "r4", s3i_buf_cstr(&canon), HOST,
		"us-east-1", 1000, NULL));
	s3i_buf_dispose(&canon);
	s3i_run *opened = NULL, *resumed = NULL;
	CHECK_OK(s3i_run_open(&opened, f.d, "r4"));
	assert_smoke_names(s3i_run_get_database(opened), s3i_run_get_table(opened));
	CHECK_OK(s3i_run_start(&resumed, f.d, in));
	assert_string_equal(s3i_run_get_database(resumed), s3i_run_get_database(opened));
	assert_string_equal(s3i_run_get_table(resumed), s3i_run_get_table(opened));
	s3i_run_free(opened);
	s3i_run_free(resumed);
	s3i_run_input_free(in);
	fx_close(&f);
}

/* ------------------------------------------------------------------ Athena and S3 */

typedef struct execs {
	size_t n;
	char *sql[EXEC_CAP];
} execs;

static void read_execs(fx *f, execs *x)
{
	static char ids[EXEC_CAP][S3I_ATHENA_ID_SIZE];
	x->n = list_executions(f, ids, EXEC_CAP);
	for (size_t i = 0; i < x->n; i++)
		x->sql[i] = execution_query(f, ids[i]);
}

static void free_execs(execs *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->sql[i]);
	x->n = 0;
}

static size_t count_execs(const execs *x, const char *text)
{
	size_t n = 0;
	for (size_t i = 0; i < x->n; i++)
		n += !strcmp(x->sql[i], text);
	return n;
}

static size_t count_containing(const execs *x, const char *text)
{
	size_t n = 0;
	for (size_t i = 0; i < x->n; i++)
		n += strstr(x->sql[i], text) != NULL;
	return n;
}

/* Whether moto's Athena catalog holds the database (CREATE/DROP DATABASE are parsed). */
static int athena_has_database(fx *f, const char *db)
{
	s3i_json doc = athena_raw(f, "ListDatabases", "{\"CatalogName\":\"AwsDataCatalog\"}");
	s3i_json list = s3i_json_get(doc, "DatabaseList");
	int found = 0;
	for (size_t i = 0; i < s3i_json_len(list); i++) {
		const char *name = s3i_json_str(s3i_json_get(s3i_json_at(list, i), "Name"));
		found |= name && !strcmp(name, db);
	}
	s3i_json_free(doc);
	return found;
}

static void put_consolidated(fx *f, const char *key)
{
	s3i_svc svc = { s3i_deployment_client(f->d), NULL, "us-east-1" };
	CHECK_OK(s3i_s3_put_object_op(&svc, s3i_deployment_consolidated_bucket(f->d), key, "x", 1,
		NULL, NULL));
}

static int count_object(void *payload, const s3i_s3_object_info *o)
{
	(void)o;
	++*(int *)payload;
	return 0;
}

static int objects_under(fx *f, const char *prefix)
{
	s3i_svc svc = { s3i_deployment_client(f->d), NULL, "us-east-1" };
	int n = 0;
	CHECK_OK(s3i_s3_list_objects_op(&svc, s3i_deployment_consolidated_bucket(f->d), prefix,
		count_object, &n, NULL));
	return n;
}

static void run_table_and_query(fx *f)
{
	s3i_table *t = NULL;
	CHECK_OK(s3i_table_new(&t, f->run, NULL));
	int rc = s3i_table_run(t);
	if (rc)
		fail_msg("table: %s", s3i_table_error(t)->message);
	s3i_table_free(t);
	s3i_query *q = NULL;
	CHECK_OK(s3i_query_new(&q, f->run, NULL));
	rc = s3i_query_run(q);
	if (rc)
		fail_msg("query: %s", s3i_query_error(q)->message);
	s3i_query_free(q);
}

static void teardown_ok(fx *f)
{
	s3i_teardown *td = NULL;
	CHECK_OK(s3i_teardown_new(&td, f->run, NULL));
	int rc = s3i_teardown_run(td);
	if (rc)
		fail_msg("teardown: %s", s3i_teardown_error(td)->message);
	s3i_teardown_free(td);
}

/* The three DROP statements of a smoke run with database db and table tb. */
static void drop_texts(const char *db, const char *tb, char out[3][256])
{
	snprintf(out[0], 256, "DROP VIEW IF EXISTS \"%s\".\"%s\"", db, tb);
	snprintf(out[1], 256, "DROP TABLE IF EXISTS `%s`.`%s_raw`", db, tb);
	snprintf(out[2], 256, "DROP DATABASE IF EXISTS `%s` CASCADE", db);
}

static void test_stages_use_random_names_and_teardown_drops_everything(void **state)
{
	(void)state;
	fx f;
	smoke_open(&f, "r1", 1);
	seed_estate(&f);
	const char *db = s3i_run_get_database(f.run), *tb = s3i_run_get_table(f.run);
	run_table_and_query(&f);
	assert_true(athena_has_database(&f, db));
	assert_false(athena_has_database(&f, "realdb"));

	execs x;
	read_execs(&f, &x);
	char want[256];
	snprintf(want, sizeof(want), "CREATE DATABASE IF NOT EXISTS `%s`", db);
	assert_int_equal(count_execs(&x, want), 1);
	snprintf(want, sizeof(want), "`%s`.`%s_raw`", db, tb);
	assert_true(count_containing(&x, want) >= 2);   /* the raw table and its partitions */
	snprintf(want, sizeof(want), "SELECT count(*) FROM %s.%s", db, tb);
	assert_int_equal(count_execs(&x, want), 1);
	assert_int_equal(count_containing(&x, "realdb"), 0);
	assert_int_equal(count_containing(&x, "realtable"), 0);
	assert_int_equal(count_containing(&x, "DROP"), 0);
	size_t before = x.n;
	free_execs(&x);

	/* the run's data and results, and another run's data that must stay */
	put_consolidated(&f, "inventory/r1/account=" HOST "/region=us-east-1/bucketname=a1-data-east/"
		"f0.csv.gz");
	put_consolidated(&f, "athena/r1/some-result.csv");
	put_consolidated(&f, "inventory/r10/account=" HOST "/region=us-east-1/bucketname=b/f.csv.gz");
	assert_true(objects_under(&f, "athena/r1/") >= 1);

	teardown_ok(&f);
	assert_phase(&f, "done");
	read_execs(&f, &x);
	assert_int_equal(x.n, before + 3);
	char drops[3][256];
	drop_texts(db, tb, drops);
	for (int i = 0; i < 3; i++)
		assert_int_equal(count_execs(&x, drops[i]), 1);
	free_execs(&x);
	assert_false(athena_has_database(&f, db));
	assert_int_equal(objects_under(&f, "inventory/r1/"), 0);
	assert_int_equal(objects_under(&f, "athena/r1/"), 0);
	assert_int_equal(objects_under(&f, "inventory/r10/"), 1);

	/* each DROP recorded SUCCEEDED; a second teardown starts nothing */
	teardown_ok(&f);
	read_execs(&f, &x);
	assert_int_equal(x.n, before + 3);
	free_execs(&x);
	fx_close(&f);
}

static void test_normal_run_drops_nothing(void **state)
{
	(void)state;
	fx f;
	smoke_open(&f, "r1", 0);
	seed_estate(&f);
	run_table_and_query(&f);
	put_consolidated(&f, "inventory/r1/account=" HOST "/region=us-east-1/bucketname=a1-data-east/"
		"f0.csv.gz");
	teardown_ok(&f);
	assert_phase(&f, "done");
	execs x;
	read_execs(&f, &x);
	assert_int_equal(count_containing(&x, "DROP"), 0);
	assert_int_equal(count_execs(&x, "CREATE DATABASE IF NOT EXISTS `realdb`"), 1);
	free_execs(&x);
	assert_true(athena_has_database(&f, "realdb"));
	assert_int_equal(objects_under(&f, "inventory/r1/"), 1);
	fx_close(&f);
}

/* A DROP still running when the step's deadline comes is polled by a new handle, never
 * started twice. */
static void test_running_drop_is_polled_on_resume(void **state)
{
	(void)state;
	fx f;
	smoke_open(&f, "r1", 1);
	athena_slow(50);
	s3i_teardown *td = NULL;
	CHECK_OK(s3i_teardown_new(&td, f.run, NULL));
	int finished = 0;
	int64_t now = s3i_deployment_now_ms(f.d);
	CHECK_OK(s3i_teardown_step(td, now + 300, &finished));
	assert_false(finished);
	s3i_teardown_free(td);
	execs x;
	read_execs(&f, &x);
	assert_int_equal(x.n, 1);   /* the DROP VIEW, still running */
	free_execs(&x);
	assert_phase(&f, "tearing_down");

	athena_fast();
	teardown_ok(&f);
	assert_phase(&f, "done");
	read_execs(&f, &x);
	char drops[3][256];
	drop_texts(s3i_run_get_database(f.run), s3i_run_get_table(f.run), drops);
	assert_int_equal(x.n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(count_execs(&x, drops[i]), 1);
	free_execs(&x);
	fx_close(&f);
}

/* A DROP VIEW that fails (Athena's documented FAILED shape, served: moto never fails one) is
 * logged; the DROP DATABASE ... CASCADE that follows takes the rest. */
static void test_failed_view_drop_is_covered_by_cascade(void **state)
{
	(void)state;
	fx f;
	smoke_open(&f, "r1", 1);
	athena_fault("GetQueryExecution", 200, 1, "{\"QueryExecution\":{\"QueryExecutionId\":"
		"\"00000000-0000-0000-0000-000000000001\",\"Query\":\"DROP VIEW\","
		"\"StatementType\":\"DDL\",\"Status\":{\"State\":\"FAILED\",\"StateChangeReason\":"
		"\"FAILED: SemanticException [Error 10072]: Database does not exist\","
		"\"SubmissionDateTime\":1.764806400E9},\"Statistics\":{\"DataScannedInBytes\":0}}}");
	teardown_ok(&f);
	s3i_check_faults_used(moto);
	assert_phase(&f, "done");
	execs x;
	read_execs(&f, &x);
	assert_int_equal(x.n, 3);
	free_execs(&x);
	fx_close(&f);
}

/* A DROP that Athena refuses to start fails the step (unfinished, phase kept, the message
 * naming the database and Athena's reason); the next step finishes. */
static void test_refused_drop_fails_the_step(void **state)
{
	(void)state;
	fx f;
	smoke_open(&f, "r1", 1);
	athena_fault("StartQueryExecution", 400, 1, "{\"__type\":\"InvalidRequestException\","
		"\"Message\":\"injected: no Athena today\"}");
	s3i_teardown *td = NULL;
	CHECK_OK(s3i_teardown_new(&td, f.run, NULL));
	int finished = 0;
	int rc = s3i_teardown_step(td, 0, &finished);
	assert_int_not_equal(rc, S3I_OK);
	assert_false(finished);
	const char *msg = s3i_teardown_error(td)->message;
	assert_non_null(strstr(msg, "no Athena today"));
	assert_non_null(strstr(msg, s3i_run_get_database(f.run)));
	s3i_check_faults_used(moto);
	assert_phase(&f, "tearing_down");
	CHECK_OK(s3i_teardown_run(td));
	s3i_teardown_free(td);
	assert_phase(&f, "done");
	execs x;
	read_execs(&f, &x);
	assert_int_equal(x.n, 3);
	free_execs(&x);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_names_random_recorded_once_and_read_back),
		S3I_TEST(test_names_recorded_after_a_crash),
		S3I_TEST(test_stages_use_random_names_and_teardown_drops_everything),
		S3I_TEST(test_normal_run_drops_nothing),
		S3I_TEST(test_running_drop_is_polled_on_resume),
		S3I_TEST(test_failed_view_drop_is_covered_by_cascade),
		S3I_TEST(test_refused_drop_fails_the_step),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
