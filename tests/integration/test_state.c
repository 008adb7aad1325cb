/*
 * The state store (src/stages/state.c) against moto_server's DynamoDB: runs and their
 * phases, regions and routing, bucket statuses that never move backwards, the first manifest
 * winning, data files counted exactly once (also when workers redeliver the same files),
 * completion, queries. Every context uses the counting allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "aws/ctx_internal.h"
#include "stages/state.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

static s3i_moto *moto;

static int group_setup(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);
	return s3i_moto_start(&moto, NULL);
}

typedef struct fixture {
	s3i_ctx *ctx;
	s3i_state *st;
} fixture;

static void begin(fixture *f)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	CHECK_OK(s3i_ctx_new(&f->ctx, &o));
	s3i_svc svc = { s3i_ctx_client(f->ctx), NULL, NULL };
	CHECK_OK(s3i_state_new(&f->st, &svc, "dep1_configuration_table", NULL));
	CHECK_OK(s3i_state_create_table(f->st, 10000, NULL));
	/* idempotent */
	CHECK_OK(s3i_state_create_table(f->st, 10000, NULL));
}

static void end(fixture *f)
{
	s3i_state_free(f->st);
	s3i_ctx_release(f->ctx);
}

static void test_run_lifecycle(void **state)
{
	(void)state;
	fixture f;
	begin(&f);
	CHECK_OK(s3i_state_run_create(f.st, "r1", "{\"run_id\":\"r1\"}", "123456789012", "us-east-1",
		1000, NULL));
	int rc = s3i_state_run_create(f.st, "r1", "{}", "123456789012", "us-east-1", 2000, NULL);
	assert_int_equal(rc, S3I_EEXISTS);
	assert_non_null(strstr(s3i_error_last()->message, "r1"));

	s3i_state_run r;
	CHECK_OK(s3i_state_run_get(f.st, "r1", &r, NULL));
	assert_string_equal(r.input_json, "{\"run_id\":\"r1\"}");
	assert_int_equal(r.phase, S3I_PHASE_PROVISIONING);
	assert_int_equal(r.finished, 0);
	assert_string_equal(r.host_account, "123456789012");
	assert_int_equal(r.created_ms, 1000);
	s3i_state_run_dispose(&r);

	rc = s3i_state_run_get(f.st, "nope", &r, NULL);
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_non_null(strstr(s3i_error_last()->message, "nope"));
	s3i_state_run_dispose(&r);

	int moved = -1;
	CHECK_OK(s3i_state_run_set_phase(f.st, "r1", S3I_PHASE_WAITING, 3000, &moved, NULL));
	assert_int_equal(moved, 1);
	/* backwards and same: refused without error */
	CHECK_OK(s3i_state_run_set_phase(f.st, "r1", S3I_PHASE_CONFIGURING, 3100, &moved, NULL));
	assert_int_equal(moved, 0);
	CHECK_OK(s3i_state_run_set_phase(f.st, "r1", S3I_PHASE_WAITING, 3200, &moved, NULL));
	assert_int_equal(moved, 0);
	rc = s3i_state_run_set_phase(f.st, "ghost", S3I_PHASE_WAITING, 3200, &moved, NULL);
	assert_int_equal(rc, S3I_ENOTFOUND);

	/* the first failure wins; a failed run goes nowhere but cleaned */
	CHECK_OK(s3i_state_run_fail(f.st, "r1", "table", "Athena said no", 4000, NULL));
	CHECK_OK(s3i_state_run_fail(f.st, "r1", "query", "second failure", 4100, NULL));
	CHECK_OK(s3i_state_run_set_phase(f.st, "r1", S3I_PHASE_QUERYING, 4200, &moved, NULL));
	assert_int_equal(moved, 0);
	CHECK_OK(s3i_state_run_set_phase(f.st, "r1", S3I_PHASE_DONE, 4200, &moved, NULL));
	assert_int_equal(moved, 0);
	CHECK_OK(s3i_state_run_get(f.st, "r1", &r, NULL));
	assert_int_equal(r.phase, S3I_PHASE_FAILED);
	assert_string_equal(r.error_stage, "table");
	assert_string_equal(r.error, "Athena said no");
	assert_int_equal(r.finished, 0);
	s3i_state_run_dispose(&r);
	CHECK_OK(s3i_state_run_set_phase(f.st, "r1", S3I_PHASE_CLEANED, 5000, &moved, NULL));
	assert_int_equal(moved, 1);
	CHECK_OK(s3i_state_run_set_phase(f.st, "r1", S3I_PHASE_CLEANED, 5001, &moved, NULL));
	assert_int_equal(moved, 0);

	/* a normal run to done */
	CHECK_OK(s3i_state_run_create(f.st, "r2", "{}", "123456789012", "us-east-1", 1000, NULL));
	CHECK_OK(s3i_state_run_create(f.st, "r3", "{}", "123456789012", "us-east-1", 1000, NULL));
	CHECK_OK(s3i_state_run_set_phase(f.st, "r2", S3I_PHASE_TEARING_DOWN, 6000, &moved, NULL));
	CHECK_OK(s3i_state_run_set_phase(f.st, "r2", S3I_PHASE_DONE, 6100, &moved, NULL));
	assert_int_equal(moved, 1);
	CHECK_OK(s3i_state_run_fail(f.st, "r2", "late", "too late", 6200, NULL));
	CHECK_OK(s3i_state_run_get(f.st, "r2", &r, NULL));
	assert_int_equal(r.phase, S3I_PHASE_DONE);
	assert_int_equal(r.finished, 1);
	s3i_state_run_dispose(&r);

	/* deadline: the first value stays */
	CHECK_OK(s3i_state_run_set_deadline(f.st, "r3", 777, NULL));
	CHECK_OK(s3i_state_run_set_deadline(f.st, "r3", 888, NULL));
	CHECK_OK(s3i_state_run_get(f.st, "r3", &r, NULL));
	assert_int_equal(r.inventory_deadline_ms, 777);
	s3i_state_run_dispose(&r);
	end(&f);
}

typedef struct run_list {
	char ids[8][16];
	int finished[8];
	int n;
} run_list;

static int collect_run(void *user, const char *run_id, s3i_run_phase phase, int finished)
{
	run_list *l = user;
	(void)phase;
	assert_true(l->n < 8);
	snprintf(l->ids[l->n], 16, "%s", run_id);
	l->finished[l->n++] = finished;
	return 0;
}

static void test_runs_index(void **state)
{
	(void)state;
	fixture f;
	begin(&f);
	const char *ids[] = { "b", "a", "c" };
	for (int i = 0; i < 3; i++)
		CHECK_OK(s3i_state_run_create(f.st, ids[i], "{}", "123456789012", "us-east-1", 1, NULL));
	CHECK_OK(s3i_state_run_set_phase(f.st, "b", S3I_PHASE_DONE, 2, NULL, NULL));
	run_list all = { 0 }, open = { 0 };
	CHECK_OK(s3i_state_runs_list(f.st, 0, collect_run, &all, NULL));
	CHECK_OK(s3i_state_runs_list(f.st, 1, collect_run, &open, NULL));
	assert_int_equal(all.n, 3);
	assert_string_equal(all.ids[0], "a");
	assert_string_equal(all.ids[1], "b");
	assert_int_equal(all.finished[1], 1);
	assert_int_equal(open.n, 2);
	assert_string_equal(open.ids[0], "a");
	assert_string_equal(open.ids[1], "c");
	end(&f);
}

static int collect_region(void *user, const s3i_state_region *r)
{
	int *n = user;
	assert_string_equal(r->region, *n == 0 ? "eu-west-1" : "us-east-1");
	if (*n == 0)
		assert_string_equal(r->topic_arn, "arn:aws:sns:eu-west-1:123456789012:t");
	(*n)++;
	return 0;
}

static void test_regions_and_routes(void **state)
{
	(void)state;
	fixture f;
	begin(&f);
	CHECK_OK(s3i_state_run_create(f.st, "r1", "{}", "123456789012", "us-east-1", 1, NULL));
	s3i_state_region r;
	memset(&r, 0, sizeof(r));
	snprintf(r.region, sizeof(r.region), "us-east-1");
	snprintf(r.staging_bucket, sizeof(r.staging_bucket), "dep1-r1-dest-123456789012-us-east-1");
	CHECK_OK(s3i_state_region_put(f.st, "r1", &r, NULL));
	snprintf(r.region, sizeof(r.region), "eu-west-1");
	snprintf(r.topic_arn, sizeof(r.topic_arn), "arn:aws:sns:eu-west-1:123456789012:t");
	snprintf(r.status, sizeof(r.status), "provisioned");
	CHECK_OK(s3i_state_region_put(f.st, "r1", &r, NULL));
	int n = 0;
	CHECK_OK(s3i_state_regions_list(f.st, "r1", collect_region, &n, NULL));
	assert_int_equal(n, 2);

	const char *staging = "dep1-r1-dest-123456789012-us-east-1";
	CHECK_OK(s3i_state_route_put(f.st, staging, "r1", "us-east-1", "123456789012", NULL));
	CHECK_OK(s3i_state_route_put(f.st, staging, "r1", "us-east-1", "123456789012", NULL));
	int rc = s3i_state_route_put(f.st, staging, "r9", "us-east-1", "123456789012", NULL);
	assert_int_equal(rc, S3I_ECONFLICT);
	assert_non_null(strstr(s3i_error_last()->message, "r1"));
	assert_non_null(strstr(s3i_error_last()->message, staging));
	char run_id[16], region[32];
	CHECK_OK(s3i_state_route_get(f.st, staging, run_id, region, NULL));
	assert_string_equal(run_id, "r1");
	assert_string_equal(region, "us-east-1");
	CHECK_OK(s3i_state_route_delete(f.st, staging, NULL));
	rc = s3i_state_route_get(f.st, staging, run_id, region, NULL);
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_non_null(strstr(s3i_error_last()->message, staging));
	end(&f);
}

static void test_bucket_status_never_moves_back(void **state)
{
	(void)state;
	fixture f;
	begin(&f);
	const char *acct = "111111111111";
	int created = -1, moved = -1;
	CHECK_OK(s3i_state_bucket_add(f.st, "r1", acct, "us-east-1", "b1", S3I_BUCKET_DISCOVERED,
		NULL, 10, &created, NULL));
	assert_int_equal(created, 1);
	CHECK_OK(s3i_state_bucket_add(f.st, "r1", acct, "eu-west-1", "b1", S3I_BUCKET_EXCLUDED,
		"again", 11, &created, NULL));
	assert_int_equal(created, 0);
	CHECK_OK(s3i_state_bucket_add(f.st, "r1", acct, "ap-east-1", "b2", S3I_BUCKET_SKIPPED_REGION,
		"region ap-east-1 is not in supported_regions", 12, &created, NULL));
	assert_int_equal(created, 1);

	CHECK_OK(s3i_state_bucket_set_status(f.st, "r1", acct, "b1", S3I_BUCKET_IN_PROGRESS, NULL, 20,
		&moved, NULL));
	assert_int_equal(moved, 1);
	CHECK_OK(s3i_state_bucket_set_status(f.st, "r1", acct, "b1", S3I_BUCKET_IN_PROGRESS, NULL, 21,
		&moved, NULL));
	assert_int_equal(moved, 1);     /* same rank: idempotent rewrite */
	CHECK_OK(s3i_state_bucket_set_status(f.st, "r1", acct, "b1", S3I_BUCKET_DISCOVERED, NULL, 22,
		&moved, NULL));
	assert_int_equal(moved, 0);
	CHECK_OK(s3i_state_bucket_set_status(f.st, "r1", acct, "b1", S3I_BUCKET_FAILED,
		"AccessDenied on PutBucketInventoryConfiguration", 23, &moved, NULL));
	assert_int_equal(moved, 1);
	CHECK_OK(s3i_state_bucket_set_status(f.st, "r1", acct, "b1", S3I_BUCKET_TIMED_OUT, "late", 24,
		&moved, NULL));
	assert_int_equal(moved, 0);
	s3i_state_bucket b;
	CHECK_OK(s3i_state_bucket_get(f.st, "r1", acct, "b1", &b, NULL));
	assert_int_equal(b.status, S3I_BUCKET_FAILED);
	assert_string_equal(b.reason, "AccessDenied on PutBucketInventoryConfiguration");
	assert_string_equal(b.region, "us-east-1");
	assert_int_equal(b.expected_files, -1);

	int rc = s3i_state_bucket_set_status(f.st, "r1", acct, "ghost", S3I_BUCKET_DONE, NULL, 25,
		&moved, NULL);
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_non_null(strstr(s3i_error_last()->message, "ghost"));
	CHECK_OK(s3i_state_bucket_set_inventory_configured(f.st, "r1", acct, "b2", 1, 26, NULL));
	rc = s3i_state_bucket_set_inventory_configured(f.st, "r1", acct, "ghost", 1, 26, NULL);
	assert_int_equal(rc, S3I_ENOTFOUND);
	end(&f);
}

static void test_manifest_and_files_counted_once(void **state)
{
	(void)state;
	fixture f;
	begin(&f);
	const char *acct = "222222222222";
	CHECK_OK(s3i_state_bucket_add(f.st, "r1", acct, "us-east-1", "src", S3I_BUCKET_IN_PROGRESS,
		NULL, 1, NULL, NULL));
	int won = -1, counted = -1, done = -1;
	CHECK_OK(s3i_state_bucket_claim_manifest(f.st, "r1", acct, "src", "m/2026-12-01T00-00Z/manifest.json",
		2, 10, &won, NULL));
	assert_int_equal(won, 1);
	CHECK_OK(s3i_state_bucket_claim_manifest(f.st, "r1", acct, "src", "m/2026-12-01T00-00Z/manifest.json",
		2, 11, &won, NULL));
	assert_int_equal(won, 1);
	CHECK_OK(s3i_state_bucket_claim_manifest(f.st, "r1", acct, "src", "m/2026-12-02T00-00Z/manifest.json",
		5, 12, &won, NULL));
	assert_int_equal(won, 0);
	CHECK_OK(s3i_state_delivery_ignored(f.st, "r1", acct, "src", "m/2026-12-02T00-00Z/manifest.json",
		"a manifest was already verified for this bucket", 12, NULL));

	CHECK_OK(s3i_state_file_done(f.st, "r1", acct, "src", "data/a.csv.gz", "inv/a.csv.gz", 100,
		"md5a", 10, 1000, 20, &counted, NULL));
	assert_int_equal(counted, 1);
	CHECK_OK(s3i_state_bucket_try_complete(f.st, "r1", acct, "src", 21, &done, NULL));
	assert_int_equal(done, 0);
	CHECK_OK(s3i_state_file_done(f.st, "r1", acct, "src", "data/a.csv.gz", "inv/a.csv.gz", 100,
		"md5a", 10, 1000, 22, &counted, NULL));
	assert_int_equal(counted, 0);
	CHECK_OK(s3i_state_file_done(f.st, "r1", acct, "src", "data/b#1.csv.gz", "inv/b.csv.gz", 50,
		"md5b", 5, 500, 23, &counted, NULL));
	assert_int_equal(counted, 1);
	CHECK_OK(s3i_state_bucket_try_complete(f.st, "r1", acct, "src", 24, &done, NULL));
	assert_int_equal(done, 1);
	CHECK_OK(s3i_state_bucket_try_complete(f.st, "r1", acct, "src", 25, &done, NULL));
	assert_int_equal(done, 1);

	s3i_state_bucket b;
	CHECK_OK(s3i_state_bucket_get(f.st, "r1", acct, "src", &b, NULL));
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	assert_int_equal(b.expected_files, 2);
	assert_int_equal(b.partitioned_files, 2);
	assert_int_equal(b.objects, 15);
	assert_int_equal(b.bytes, 1500);
	assert_string_equal(b.manifest_key, "m/2026-12-01T00-00Z/manifest.json");

	int rc = s3i_state_file_done(f.st, "r1", acct, "ghost", "k", "d", 1, "", 1, 1, 1, &counted, NULL);
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_int_equal(counted, 0);
	/* A terminal bucket takes no manifest */
	CHECK_OK(s3i_state_bucket_add(f.st, "r1", acct, "us-east-1", "late", S3I_BUCKET_TIMED_OUT,
		"no report", 1, NULL, NULL));
	CHECK_OK(s3i_state_bucket_claim_manifest(f.st, "r1", acct, "late", "x/manifest.json", 1, 30,
		&won, NULL));
	assert_int_equal(won, 0);
	end(&f);
}

typedef struct counter_job {
	s3i_state *st;
	int thread;
	int counted;
	int failures;
} counter_job;

static void *count_files(void *arg)
{
	counter_job *j = arg;
	for (int i = 0; i < 12; i++) {
		char key[32];
		snprintf(key, sizeof(key), "data/%02d.csv.gz", (i + j->thread * 5) % 12);
		int counted = 0;
		if (s3i_state_file_done(j->st, "r1", "333333333333", "busy", key, key, 10, "m", 3, 30,
			    1, &counted, NULL))
			j->failures++;
		j->counted += counted;
	}
	return NULL;
}

static int sum_file(void *user, const s3i_state_file *f)
{
	int64_t *objects = user;
	*objects += f->objects;
	return 0;
}

static void test_redelivered_counting(void **state)
{
	(void)state;
	fixture f;
	begin(&f);
	CHECK_OK(s3i_state_bucket_add(f.st, "r1", "333333333333", "us-east-1", "busy",
		S3I_BUCKET_IN_PROGRESS, NULL, 1, NULL, NULL));
	int won = 0;
	CHECK_OK(s3i_state_bucket_claim_manifest(f.st, "r1", "333333333333", "busy", "m.json", 12, 2,
		&won, NULL));
	/* Four workers redeliver overlapping sets of files. They run one after the other:
	 * moto serves concurrent requests without isolating conditional writes (two
	 * attribute_not_exists puts of one item can both succeed, seen under ASan), where
	 * DynamoDB makes them atomic; so only the sequential interleaving is testable here. */
	counter_job jobs[4];
	int total = 0;
	for (int i = 0; i < 4; i++) {
		pthread_t t;
		jobs[i] = (counter_job){ f.st, i, 0, 0 };
		assert_int_equal(pthread_create(&t, NULL, count_files, &jobs[i]), 0);
		pthread_join(t, NULL);
		assert_int_equal(jobs[i].failures, 0);
		total += jobs[i].counted;
	}
	assert_int_equal(total, 12);
	s3i_state_bucket b;
	CHECK_OK(s3i_state_bucket_get(f.st, "r1", "333333333333", "busy", &b, NULL));
	assert_int_equal(b.partitioned_files, 12);
	assert_int_equal(b.objects, 36);
	int64_t objects = 0;
	CHECK_OK(s3i_state_files_list(f.st, "r1", "333333333333", "busy", sum_file, &objects, NULL));
	assert_int_equal(objects, 36);
	end(&f);
}

static int collect_query(void *user, const s3i_state_query *q)
{
	int *n = user;
	assert_int_equal(q->index, *n);
	if (*n == 1) {
		assert_string_equal(q->name, "secrets");
		assert_int_equal(q->rows, 42);
	}
	(*n)++;
	return 0;
}

static void test_queries(void **state)
{
	(void)state;
	fixture f;
	begin(&f);
	s3i_state_query q;
	memset(&q, 0, sizeof(q));
	q.index = 1;
	snprintf(q.name, sizeof(q.name), "secrets");
	snprintf(q.state, sizeof(q.state), "SUCCEEDED");
	q.rows = 42;
	CHECK_OK(s3i_state_query_put(f.st, "r1", &q, NULL));
	q.index = 0;
	snprintf(q.name, sizeof(q.name), "big files");
	CHECK_OK(s3i_state_query_put(f.st, "r1", &q, NULL));
	int n = 0;
	CHECK_OK(s3i_state_queries_list(f.st, "r1", collect_query, &n, NULL));
	assert_int_equal(n, 2);
	end(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_run_lifecycle),
		S3I_TEST(test_runs_index),
		S3I_TEST(test_regions_and_routes),
		S3I_TEST(test_bucket_status_never_moves_back),
		S3I_TEST(test_manifest_and_files_counted_once),
		S3I_TEST(test_redelivered_counting),
		S3I_TEST(test_queries),
	};
	return cmocka_run_group_tests_name("state", tests, group_setup, NULL);
}
