/*
 * The library calls the serverless shape needs (docs/deploy.md), against moto with the
 * counting allocator:
 *  - s3i_ingest_process_message: one given message (an SQS event record) done, retried,
 *    unfinished, skipped, or taken from the dead-letter queue;
 *  - s3i_harvest_wait_check: the deadline recorded once, the wait over when nothing is
 *    pending, pending buckets timed out after the deadline (a clock hook moves time);
 *  - s3i_harvest_record_failure: the run failed with its stage and message, the first
 *    failure kept.
 */
#include "ingest_fixture.h"
#include "s3insights/harvest.h"
#include "s3insights/sys/io.h"

/* The S3 event of a delivery as an SQS record's body. */
static char *checksum_body(const delivery *dv)
{
	char staging[64];
	staging_name(staging, dv->run_id, dv->region);
	return s3_event(dv->region, staging, dv->checksum_key, dv->checksum_size, "ObjectCreated:Put");
}

static s3i_ingest_outcome process(s3i_ingest *st, const char *id, const char *body,
	int64_t deadline_ms, int flags)
{
	s3i_ingest_outcome out = (s3i_ingest_outcome)-1;
	CHECK_OK(s3i_ingest_process_message(st, id, body, strlen(body), deadline_ms, flags, &out));
	return out;
}

static void test_process_message_outcomes(void **state)
{
	(void)state;
	fx f;
	s3i_run_input *in = NULL;
	s3i_run *run = fx_open_run(&f, &in);
	add_bucket(&f, run, HOST, "us-east-1", "src-good");
	add_bucket(&f, run, OTHER, "us-east-1", "src-poison");
	add_bucket(&f, run, HOST, "us-east-1", "src-slow");

	row *g = seeded(5, "src-good", 21), *p = seeded(2, "src-poison", 22), *s = seeded(4, "src-slow", 23);
	data_file fg[1] = { { g, 5, 0, 0, 0, "" } };
	delivery dg = { "r1", HOST, "us-east-1", "src-good", "2026-12-04T00-00Z", fg, 1, 0, 0, "", 0 };
	write_delivery(&f, &dg);
	data_file fp[1] = { { p, 2, 0, 0, 0, "" } };
	delivery dp = { "r1", OTHER, "us-east-1", "src-poison", "2026-12-04T00-00Z", fp, 1, 0, 1, "", 0 };
	write_delivery(&f, &dp);      /* no manifest.json: can only ever fail */
	data_file fs[1] = { { s, 4, 0, 0, 0, "" } };
	delivery ds = { "r1", HOST, "us-east-1", "src-slow", "2026-12-04T00-00Z", fs, 1, 0, 0, "", 0 };
	write_delivery(&f, &ds);

	s3i_ingest_options o = S3I_INGEST_OPTIONS_INIT;
	o.manifest_wait_ms = 100;
	s3i_ingest *st = new_ingest(&f, &o);
	char *good = checksum_body(&dg), *poison = checksum_body(&dp), *slow = checksum_body(&ds);

	/* done: the bucket's files counted, the caller deletes the message */
	assert_int_equal(process(st, "m-good", good, 0, 0), S3I_INGEST_MESSAGE_DONE);
	s3i_state_bucket b;
	get_bucket(&f, "r1", HOST, "src-good", &b);
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	assert_int_equal(b.objects, 5);
	/* a redelivery counts nothing twice */
	assert_int_equal(process(st, "m-good-again", good, 0, 0), S3I_INGEST_MESSAGE_DONE);
	get_bucket(&f, "r1", HOST, "src-good", &b);
	assert_int_equal(b.objects, 5);

	/* retry: the manifest never appears; the bucket is left as it was, the detail says why */
	assert_int_equal(process(st, "m-poison", poison, 0, 0), S3I_INGEST_MESSAGE_RETRY);
	get_bucket(&f, "r1", OTHER, "src-poison", &b);
	assert_int_equal(b.status, S3I_BUCKET_IN_PROGRESS);
	assert_non_null(strstr(s3i_ingest_error(st)->message, "manifest.json"));

	/* unfinished: time for the claim, not for the files; the next message goes on */
	int64_t now = s3i_deployment_now_ms(f.d);
	assert_int_equal(process(st, "m-slow", slow, now + 1500, 0), S3I_INGEST_MESSAGE_UNFINISHED);
	get_bucket(&f, "r1", HOST, "src-slow", &b);
	assert_int_equal(b.status, S3I_BUCKET_INGESTING);
	assert_int_equal(process(st, "m-slow", slow, 0, 0), S3I_INGEST_MESSAGE_DONE);
	get_bucket(&f, "r1", HOST, "src-slow", &b);
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	assert_int_equal(b.objects, 4);

	/* nothing to do: done at once */
	assert_int_equal(process(st, "m-junk", "this is not JSON", 0, 0), S3I_INGEST_MESSAGE_DONE);
	assert_int_equal(process(st, "m-empty", "", 0, 0), S3I_INGEST_MESSAGE_DONE);

	/* from the dead-letter queue: the bucket it names fails, the message is done */
	assert_int_equal(process(st, "m-dead", poison, 0, S3I_INGEST_MESSAGE_DEAD_LETTER),
		S3I_INGEST_MESSAGE_DONE);
	get_bucket(&f, "r1", OTHER, "src-poison", &b);
	assert_int_equal(b.status, S3I_BUCKET_FAILED);
	assert_non_null(strstr(b.reason, "dead-letter"));

	s3i_ingest_stats stats = S3I_INGEST_STATS_INIT;
	CHECK_OK(s3i_ingest_get_stats(st, &stats));
	assert_int_equal(stats.messages_received, 7);
	assert_int_equal(stats.messages_deleted, 5);
	assert_int_equal(stats.messages_retried, 2);
	assert_int_equal(stats.messages_skipped, 2);
	assert_int_equal(stats.dlq_messages, 1);
	assert_int_equal(stats.buckets_done, 2);
	assert_int_equal(stats.buckets_failed, 1);

	/* bad arguments name the call; *outcome says retry */
	s3i_ingest_outcome out = S3I_INGEST_MESSAGE_DONE;
	assert_int_equal(s3i_ingest_process_message(st, "x", NULL, 3, 0, 0, &out), S3I_EINVALID);
	assert_int_equal(out, S3I_INGEST_MESSAGE_RETRY);
	assert_non_null(strstr(s3i_ingest_error(st)->message, "s3i_ingest_process_message"));
	assert_int_equal(s3i_ingest_process_message(st, "x", "{}", 2, 0, 0, NULL), S3I_EINVALID);
	assert_int_equal(s3i_ingest_process_message(NULL, "x", "{}", 2, 0, 0, &out), S3I_EINVALID);

	free(good);
	free(poison);
	free(slow);
	s3i_ingest_free(st);
	free_rows(g, 5);
	free_rows(p, 2);
	free_rows(s, 4);
	fx_close_run(&f, run, in);
}

/* A clock the test moves. */
static int64_t fake_now;
static int64_t fake_clock(void *user)
{
	(void)user;
	return fake_now;
}

static void test_wait_check(void **state)
{
	(void)state;
	fx f;
	fx_open(&f);
	/* the same deployment through a context whose clock the test moves */
	s3i_io_hooks hooks = S3I_IO_HOOKS_INIT;
	hooks.now_ms = fake_clock;
	fake_now = (int64_t)time(NULL) * 1000;
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	o.io_hooks = &hooks;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	s3i_deployment_options dopts = S3I_DEPLOYMENT_OPTIONS_INIT;
	dopts.name = "dep1";
	s3i_deployment *d = NULL;
	CHECK_OK(s3i_deployment_open(&d, ctx, &dopts));

	s3i_run_input *in = NULL;
	s3i_run *seed_run = start_run(&f, "r1", &in);
	add_region(&f, "r1", "us-east-1");
	add_bucket(&f, seed_run, HOST, "us-east-1", "src-a");
	add_bucket(&f, seed_run, OTHER, "us-east-1", "src-b");
	s3i_run *run = NULL;
	CHECK_OK(s3i_run_open(&run, d, "r1"));

	/* first look: the deadline is now + 60 h (the default timeout), recorded once */
	s3i_harvest_wait w = S3I_HARVEST_WAIT_INIT;
	CHECK_OK(s3i_harvest_wait_check(run, &w));
	assert_false(w.over);
	assert_int_equal(w.pending, 2);
	assert_int_equal(w.timed_out, 0);
	assert_int_equal(w.now_ms, fake_now);
	int64_t deadline = fake_now + 60LL * 3600 * 1000;
	assert_int_equal(w.deadline_ms, deadline);
	s3i_run_status rs;
	memset(&rs, 0, sizeof(rs));
	rs.struct_size = sizeof(rs);
	CHECK_OK(s3i_run_status_read(run, &rs, NULL, NULL));
	assert_string_equal(rs.phase, "waiting");

	/* an hour later: the same deadline, still waiting */
	fake_now += 3600 * 1000;
	CHECK_OK(s3i_harvest_wait_check(run, &w));
	assert_false(w.over);
	assert_int_equal(w.deadline_ms, deadline);

	/* one bucket completes: one pending */
	CHECK_OK(s3i_state_bucket_set_status(f.state, "r1", HOST, "src-a", S3I_BUCKET_DONE, NULL,
		fake_now, NULL, NULL));
	CHECK_OK(s3i_harvest_wait_check(run, &w));
	assert_false(w.over);
	assert_int_equal(w.pending, 1);

	/* past the deadline: the pending bucket times out, the wait is over */
	fake_now = deadline;
	CHECK_OK(s3i_harvest_wait_check(run, &w));
	assert_true(w.over);
	assert_int_equal(w.pending, 0);
	assert_int_equal(w.timed_out, 1);
	s3i_state_bucket b;
	get_bucket(&f, "r1", OTHER, "src-b", &b);
	assert_int_equal(b.status, S3I_BUCKET_TIMED_OUT);
	assert_non_null(strstr(b.reason, "inventory_timeout_hours (60 h)"));
	get_bucket(&f, "r1", HOST, "src-a", &b);
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	/* again: over, nothing more to time out */
	CHECK_OK(s3i_harvest_wait_check(run, &w));
	assert_true(w.over);
	assert_int_equal(w.timed_out, 0);

	/* a caller compiled against a shorter struct gets only its part */
	struct { uint32_t struct_size; int over; } small = { sizeof(small), 7 };
	CHECK_OK(s3i_harvest_wait_check(run, (s3i_harvest_wait *)&small));
	assert_int_equal(small.over, 1);
	assert_int_equal(small.struct_size, sizeof(small));
	assert_int_equal(s3i_harvest_wait_check(NULL, &w), S3I_EINVALID);
	assert_int_equal(s3i_harvest_wait_check(run, NULL), S3I_EINVALID);

	s3i_run_free(run);
	s3i_run_free(seed_run);
	s3i_run_input_free(in);
	s3i_deployment_free(d);
	s3i_ctx_release(ctx);
	fx_close(&f);
}

static void test_record_failure(void **state)
{
	(void)state;
	fx f;
	fx_open(&f);
	s3i_run_input *in = NULL;
	s3i_run *run = start_run(&f, "r1", &in);
	CHECK_OK(s3i_harvest_record_failure(run, "configure", "S3i.Failed: configure of run r1: boom"));
	s3i_run_status rs;
	memset(&rs, 0, sizeof(rs));
	rs.struct_size = sizeof(rs);
	CHECK_OK(s3i_run_status_read(run, &rs, NULL, NULL));
	assert_string_equal(rs.phase, "failed");
	assert_string_equal(rs.error_stage, "configure");
	assert_non_null(strstr(rs.error, "boom"));
	/* the first failure stays (a retried Catch records nothing new) */
	CHECK_OK(s3i_harvest_record_failure(run, "notify", "later"));
	CHECK_OK(s3i_run_status_read(run, &rs, NULL, NULL));
	assert_string_equal(rs.error_stage, "configure");
	assert_int_equal(s3i_harvest_record_failure(run, NULL, "x"), S3I_EINVALID);
	assert_int_equal(s3i_harvest_record_failure(NULL, "x", "x"), S3I_EINVALID);
	fx_close_run(&f, run, in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_process_message_outcomes),
		S3I_TEST(test_wait_check),
		S3I_TEST(test_record_failure),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
