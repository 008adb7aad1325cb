/*
 * The configure stage with "snapshot": "inventory" (src/stages/configure.c) against
 * moto_server: two accounts (the host and 111111111111 through its cross-account role), two
 * regions, an empty bucket, a versioned bucket holding only delete markers (not empty with
 * "All", empty with "Current"), a bucket whose PutBucketInventoryConfiguration is refused
 * (AccessDenied through /_fault) and a bucket that does not exist; the configuration read back
 * with every field; the run's phase and deadline; resuming with tiny step deadlines.
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
#include "s3insights/stage_configure.h"
#include "stages/names.h"
#include "stages/run_internal.h"
#include "stages/state.h"
#include "stages/table_ddl.h"
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "moto.h"
#include "stage_fixture.h"
#include "check.h"
#include "test_alloc.h"

#define HOST "123456789012"
#define OTHER "111111111111"
#define DEP "cfgt"

static s3i_moto *moto;

static int group_setup(void **state)
{
	(void)state;
	return s3i_stage_fx_start_moto(&moto, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	s3i_moto_stop(moto);
	return 0;
}

/* ---------------------------------------------------------------- the fixture */

typedef s3i_stage_fx fx;

static void fx_open(fx *f, const char *input_json)
{
	s3i_stage_fx_deploy(f, moto, DEP, S3I_LOG_ERROR);
	s3i_stage_fx_start_run(f, input_json);
}

static void fx_close(fx *f)
{
	s3i_stage_fx_close(f);
}

static void seed_region(fx *f, const char *region, char staging[64])
{
	s3i_stage_fx_seed_region(f, region, staging);
}

/* A source bucket in an account and region with `n` objects, recorded as discovered.
 * create 0: only recorded (a bucket that does not exist). */
static void seed_bucket(fx *f, const char *account, const char *region, const char *bucket,
	int n, int create)
{
	if (create) {
		s3i_credprov *hold;
		s3i_svc svc = s3i_stage_fx_svc_of(f, account, region, &hold);
		CHECK_OK(s3i_s3_create_bucket_op(&svc, bucket, region, NULL));
		for (int i = 0; i < n; i++) {
			char key[64];
			snprintf(key, sizeof(key), "dir/object %d.txt", i);
			CHECK_OK(s3i_s3_put_object_op(&svc, bucket, key, "hello", 5, "text/plain", NULL));
		}
		s3i_stage_fx_release(hold);
	}
	int created = 0;
	CHECK_OK(s3i_state_bucket_add(f->state, s3i_run_id(f->run), account, region, bucket,
		S3I_BUCKET_DISCOVERED, NULL, s3i_deployment_now_ms(f->d), &created, NULL));
	assert_int_equal(created, 1);
}

/* A versioned bucket holding only a noncurrent version and a delete marker (moto creates no
 * delete marker for a key that never existed, as AWS does, so the object is put first). */
static void seed_markers_only(fx *f, const char *account, const char *region, const char *bucket)
{
	s3i_credprov *hold;
	s3i_svc svc = s3i_stage_fx_svc_of(f, account, region, &hold);
	CHECK_OK(s3i_s3_create_bucket_op(&svc, bucket, region, NULL));
	CHECK_OK(s3i_s3_put_bucket_versioning_op(&svc, bucket, S3I_S3_VERSIONING_ENABLED, NULL));
	CHECK_OK(s3i_s3_put_object_op(&svc, bucket, "gone.txt", "x", 1, "text/plain", NULL));
	CHECK_OK(s3i_s3_delete_object_op(&svc, bucket, "gone.txt", NULL));
	s3i_stage_fx_release(hold);
	int created = 0;
	CHECK_OK(s3i_state_bucket_add(f->state, s3i_run_id(f->run), account, region, bucket,
		S3I_BUCKET_DISCOVERED, NULL, s3i_deployment_now_ms(f->d), &created, NULL));
}

static s3i_state_bucket bucket_state(fx *f, const char *account, const char *bucket)
{
	s3i_state_bucket b;
	CHECK_OK(s3i_state_bucket_get(f->state, s3i_run_id(f->run), account, bucket, &b, NULL));
	return b;
}

static void expect_status(fx *f, const char *account, const char *bucket, s3i_bucket_state st,
	const char *reason_part)
{
	s3i_state_bucket b = bucket_state(f, account, bucket);
	if (b.status != st)
		fprintf(stderr, "bucket %s: %s (%s), expected %s\n", bucket,
			s3i_bucket_state_name(b.status), b.reason, s3i_bucket_state_name(st));
	assert_int_equal(b.status, st);
	if (reason_part) {
		if (!strstr(b.reason, reason_part))
			fprintf(stderr, "bucket %s reason: %s\n", bucket, b.reason);
		assert_non_null(strstr(b.reason, reason_part));
	}
}

/* The configuration S3 holds for a bucket, checked field by field. */
static void expect_config(fx *f, const char *account, const char *region, const char *bucket,
	const char *staging, s3i_s3_inventory_versions versions, s3i_s3_inventory_format format)
{
	s3i_credprov *hold;
	s3i_svc svc = s3i_stage_fx_svc_of(f, account, region, &hold);
	char id[128];
	CHECK_OK(s3i_names_inventory_id(id, sizeof(id), DEP, s3i_run_id(f->run)));
	s3i_s3_inventory_config cfg;
	s3i_buf storage = S3I_BUF_INIT;
	storage.alloc = s3i_test_alloc();
	CHECK_OK(s3i_s3_get_bucket_inventory_configuration_op(&svc, bucket, id, &cfg, &storage,
		NULL));
	assert_string_equal(cfg.id, id);
	assert_int_equal(cfg.enabled, 1);
	char arn[128], prefix[64];
	snprintf(arn, sizeof(arn), "arn:aws:s3:::%s", staging);
	snprintf(prefix, sizeof(prefix), "%s/%s", account, region);
	assert_string_equal(cfg.destination_bucket_arn, arn);
	assert_string_equal(cfg.destination_account_id, HOST);
	assert_string_equal(cfg.destination_prefix, prefix);
	assert_int_equal(cfg.format, format);
	assert_int_equal(cfg.versions, versions);
	assert_int_equal(cfg.frequency, S3I_S3_INVENTORY_DAILY);
	assert_true(cfg.filter_prefix == NULL || !*cfg.filter_prefix);
	/* every optional field S3 offers, which is every optional column of the canonical
	 * schema the manifest and DDL code expects */
	assert_int_equal(cfg.optional_fields, S3I_S3_INVENTORY_FIELDS_ALL);
	const char *const *cols;
	size_t n = s3i_ddl_canonical_columns(1, &cols);
	uint32_t from_schema = 0;
	for (size_t i = 0; i < n; i++)
		from_schema |= s3i_s3_inventory_field_bit(cols[i], strlen(cols[i]));
	assert_int_equal(cfg.optional_fields, from_schema);
	assert_true(cfg.other_fields == NULL || !*cfg.other_fields);
	s3i_buf_dispose(&storage);
	s3i_stage_fx_release(hold);
}

static void expect_no_config(fx *f, const char *account, const char *region, const char *bucket)
{
	s3i_credprov *hold;
	s3i_svc svc = s3i_stage_fx_svc_of(f, account, region, &hold);
	s3i_s3_inventory_page page;
	s3i_s3_inventory_page_init(&page, s3i_test_alloc());
	CHECK_OK(s3i_s3_list_bucket_inventory_configurations_page_op(&svc, bucket, NULL, NULL, NULL,
		&page, NULL));
	assert_int_equal(page.configs, 0);
	s3i_s3_inventory_page_free(&page);
	s3i_stage_fx_release(hold);
}

#define INPUT(versions, fmt, extra) "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"" HOST "\"}," \
	"{\"id\":\"" OTHER "\",\"exclude\":[\"never\"]}]," \
	"\"athena_queries\":[{\"name\":\"q\",\"query\":\"select 1\"}]," \
	"\"sender_email_address\":\"a@example.com\",\"recipient_email_addresses\":[\"b@example.com\"]," \
	"\"supported_regions\":[\"us-east-1\",\"eu-west-1\"],\"object_versions\":\"" versions "\"," \
	"\"inventory_format\":\"" fmt "\"" extra "}"

static void expect_phase(fx *f, s3i_run_phase phase, int64_t deadline_after)
{
	s3i_state_run r;
	CHECK_OK(s3i_state_run_get(f->state, s3i_run_id(f->run), &r, NULL));
	assert_int_equal(r.phase, phase);
	if (deadline_after)
		assert_true(r.inventory_deadline_ms >= deadline_after);
	s3i_state_run_dispose(&r);
}

/* ---------------------------------------------------------------- tests */

static void test_all_versions_two_accounts_two_regions(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT("All", "CSV", ""));
	int64_t t0 = s3i_deployment_now_ms(f.d);
	char st_use1[64], st_euw1[64];
	seed_region(&f, "us-east-1", st_use1);
	seed_region(&f, "eu-west-1", st_euw1);
	seed_bucket(&f, HOST, "us-east-1", "cfg-full", 3, 1);
	seed_bucket(&f, HOST, "eu-west-1", "cfg-eu", 2, 1);
	seed_bucket(&f, HOST, "us-east-1", "cfg-empty", 0, 1);
	seed_bucket(&f, OTHER, "us-east-1", "cfg-other", 4, 1);
	seed_bucket(&f, OTHER, "eu-west-1", "cfg-other-eu", 1, 1);
	seed_markers_only(&f, OTHER, "us-east-1", "cfg-markers");
	seed_bucket(&f, HOST, "us-east-1", "cfg-denied", 1, 1);
	seed_bucket(&f, OTHER, "us-east-1", "cfg-missing", 0, 0);
	/* a bucket provision left out stays as it is */
	int created;
	CHECK_OK(s3i_state_bucket_add(f.state, "r1", HOST, "us-east-1", "cfg-excluded",
		S3I_BUCKET_EXCLUDED, "excluded by input", 1, &created, NULL));
	/* AccessDenied for one bucket's PutBucketInventoryConfiguration only */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"PUT\",\"path\":\"^/cfg-denied\","
		"\"query\":\"inventory\",\"status\":403,\"count\":-1,\"body\":\"<Error><Code>AccessDenied"
		"</Code><Message>Access Denied</Message><RequestId>R1</RequestId></Error>\"}"), 0);

	s3i_configure *st = NULL;
	s3i_configure_options o = S3I_CONFIGURE_OPTIONS_INIT;
	o.concurrency = 4;
	CHECK_OK(s3i_configure_new(&st, f.run, &o));
	CHECK_OK(s3i_configure_run(st));
	assert_int_equal(s3i_configure_error(st)->code, S3I_OK);
	s3i_configure_free(st);

	expect_status(&f, HOST, "cfg-full", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, HOST, "cfg-eu", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, OTHER, "cfg-other", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, OTHER, "cfg-other-eu", S3I_BUCKET_IN_PROGRESS, NULL);
	/* only a delete marker: not empty when all versions are wanted */
	expect_status(&f, OTHER, "cfg-markers", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, HOST, "cfg-empty", S3I_BUCKET_EMPTY, "no object versions");
	expect_status(&f, HOST, "cfg-denied", S3I_BUCKET_FAILED, "AccessDenied");
	expect_status(&f, HOST, "cfg-denied", S3I_BUCKET_FAILED, "cfg-denied");
	expect_status(&f, OTHER, "cfg-missing", S3I_BUCKET_FAILED, "NoSuchBucket");
	expect_status(&f, HOST, "cfg-excluded", S3I_BUCKET_EXCLUDED, "excluded by input");
	assert_true(bucket_state(&f, HOST, "cfg-full").inventory_configured);
	assert_false(bucket_state(&f, HOST, "cfg-empty").inventory_configured);
	assert_false(bucket_state(&f, HOST, "cfg-denied").inventory_configured);

	expect_config(&f, HOST, "us-east-1", "cfg-full", st_use1, S3I_S3_INVENTORY_VERSIONS_ALL,
		S3I_S3_INVENTORY_CSV);
	expect_config(&f, HOST, "eu-west-1", "cfg-eu", st_euw1, S3I_S3_INVENTORY_VERSIONS_ALL,
		S3I_S3_INVENTORY_CSV);
	expect_config(&f, OTHER, "us-east-1", "cfg-other", st_use1, S3I_S3_INVENTORY_VERSIONS_ALL,
		S3I_S3_INVENTORY_CSV);
	expect_config(&f, OTHER, "eu-west-1", "cfg-other-eu", st_euw1, S3I_S3_INVENTORY_VERSIONS_ALL,
		S3I_S3_INVENTORY_CSV);
	expect_config(&f, OTHER, "us-east-1", "cfg-markers", st_use1, S3I_S3_INVENTORY_VERSIONS_ALL,
		S3I_S3_INVENTORY_CSV);
	expect_no_config(&f, HOST, "us-east-1", "cfg-empty");
	/* the configuration was put in the other account, not in the host's view of it */
	expect_phase(&f, S3I_PHASE_WAITING,
		t0 + s3i_run_input_get_inventory_timeout_ms(f.in));

	/* running the stage again changes nothing (nothing is discovered any more) */
	CHECK_OK(s3i_configure_new(&st, f.run, NULL));
	int finished = 0;
	CHECK_OK(s3i_configure_step(st, 0, &finished));
	assert_int_equal(finished, 1);
	s3i_configure_free(st);
	expect_status(&f, HOST, "cfg-denied", S3I_BUCKET_FAILED, "AccessDenied");
	fx_close(&f);
}

static void test_current_versions_parquet_markers_are_empty(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT("Current", "Parquet", ""));
	char st_use1[64];
	seed_region(&f, "us-east-1", st_use1);
	seed_markers_only(&f, OTHER, "us-east-1", "cfg-markers");
	seed_bucket(&f, OTHER, "us-east-1", "cfg-other", 2, 1);
	{
		/* a crash after the PUT but before the state write left a configuration of the run's
		 * id behind (here a stale one): the rerun replaces it */
		s3i_credprov *hold;
		s3i_svc svc = s3i_stage_fx_svc_of(&f, OTHER, "us-east-1", &hold);
		char id[128];
		CHECK_OK(s3i_names_inventory_id(id, sizeof(id), DEP, "r1"));
		s3i_s3_inventory_config old = { .id = id, .enabled = 0,
			.destination_bucket_arn = "arn:aws:s3:::somewhere-else",
			.destination_prefix = "old", .format = S3I_S3_INVENTORY_CSV,
			.versions = S3I_S3_INVENTORY_VERSIONS_ALL, .frequency = S3I_S3_INVENTORY_WEEKLY,
			.optional_fields = S3I_S3_INVENTORY_FIELD_SIZE | S3I_S3_INVENTORY_FIELD_ETAG };
		CHECK_OK(s3i_s3_put_bucket_inventory_configuration_op(&svc, "cfg-other", &old, NULL));
		s3i_stage_fx_release(hold);
	}
	/* a region provision did not record: its bucket fails with the reason */
	seed_bucket(&f, HOST, "eu-west-1", "cfg-noregion", 1, 1);
	s3i_configure *st = NULL;
	CHECK_OK(s3i_configure_new(&st, f.run, NULL));
	CHECK_OK(s3i_configure_run(st));
	s3i_configure_free(st);
	/* only a delete marker: empty when only current versions are wanted */
	expect_status(&f, OTHER, "cfg-markers", S3I_BUCKET_EMPTY, "no objects");
	expect_status(&f, OTHER, "cfg-other", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, HOST, "cfg-noregion", S3I_BUCKET_FAILED, "eu-west-1");
	expect_config(&f, OTHER, "us-east-1", "cfg-other", st_use1,
		S3I_S3_INVENTORY_VERSIONS_CURRENT, S3I_S3_INVENTORY_PARQUET);
	expect_no_config(&f, OTHER, "us-east-1", "cfg-markers");
	fx_close(&f);
}

static void test_resume_with_tiny_deadlines(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT("All", "ORC", ""));
	char st_use1[64];
	seed_region(&f, "us-east-1", st_use1);
	enum { N = 9 };
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "cfg-resume-%d", i);
		seed_bucket(&f, i % 2 ? OTHER : HOST, "us-east-1", name, i % 3 ? 1 : 0, 1);
	}
	int steps = 0, finished = 0;
	while (!finished) {
		/* a new handle every time, as a Lambda invocation would have */
		s3i_configure *st = NULL;
		s3i_configure_options o = S3I_CONFIGURE_OPTIONS_INIT;
		o.concurrency = 2;
		CHECK_OK(s3i_configure_new(&st, f.run, &o));
		CHECK_OK(s3i_configure_step(st, s3i_deployment_now_ms(f.d) + 1, &finished));
		s3i_configure_free(st);
		steps++;
		assert_true(steps <= N + 1);
		if (!finished)
			expect_phase(&f, S3I_PHASE_CONFIGURING, 0);
	}
	/* the deadline let each step do a bucket or two, never all of them */
	assert_true(steps >= N / 2);
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "cfg-resume-%d", i);
		expect_status(&f, i % 2 ? OTHER : HOST, name,
			i % 3 ? S3I_BUCKET_IN_PROGRESS : S3I_BUCKET_EMPTY, NULL);
		if (i % 3)
			expect_config(&f, i % 2 ? OTHER : HOST, "us-east-1", name, st_use1,
				S3I_S3_INVENTORY_VERSIONS_ALL, S3I_S3_INVENTORY_ORC);
	}
	expect_phase(&f, S3I_PHASE_WAITING, 0);
	fx_close(&f);
}

static void test_bad_options(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT("All", "CSV", ""));
	s3i_configure *st = NULL;
	s3i_configure_options o = S3I_CONFIGURE_OPTIONS_INIT;
	o.concurrency = 1000;
	int rc = s3i_configure_new(&st, f.run, &o);
	const char *m1[] = { "concurrency", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, m1);
	assert_null(st);
	o = (s3i_configure_options)S3I_CONFIGURE_OPTIONS_INIT;
	o.snapshot_page_size = 5000;
	rc = s3i_configure_new(&st, f.run, &o);
	const char *m2[] = { "snapshot_page_size", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, m2);
	o = (s3i_configure_options)S3I_CONFIGURE_OPTIONS_INIT;
	o.struct_size = 2;
	assert_int_equal(s3i_configure_new(&st, f.run, &o), S3I_EINVALID);
	assert_int_equal(s3i_configure_new(NULL, f.run, NULL), S3I_EINVALID);
	assert_int_equal(s3i_configure_new(&st, NULL, NULL), S3I_EINVALID);
	/* an older caller's smaller options struct is accepted */
	o = (s3i_configure_options)S3I_CONFIGURE_OPTIONS_INIT;
	o.struct_size = (uint32_t)offsetof(s3i_configure_options, snapshot_file_bytes);
	CHECK_OK(s3i_configure_new(&st, f.run, &o));
	int finished = 0;
	assert_int_equal(s3i_configure_step(st, 0, NULL), S3I_EINVALID);
	/* no bucket at all: finished at once, the run waits */
	CHECK_OK(s3i_configure_step(st, 0, &finished));
	assert_int_equal(finished, 1);
	s3i_configure_free(st);
	s3i_configure_free(NULL);
	expect_phase(&f, S3I_PHASE_WAITING, 0);
	fx_close(&f);
}

static void test_failed_run_is_not_configured(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT("All", "CSV", ""));
	char st_use1[64];
	seed_region(&f, "us-east-1", st_use1);
	seed_bucket(&f, HOST, "us-east-1", "cfg-late", 1, 1);
	CHECK_OK(s3i_state_run_fail(f.state, "r1", "provision", "stack failed",
		s3i_deployment_now_ms(f.d), NULL));
	s3i_configure *st = NULL;
	CHECK_OK(s3i_configure_new(&st, f.run, NULL));
	int finished = 0;
	int rc = s3i_configure_step(st, 0, &finished);
	assert_int_equal(rc, S3I_ECONFLICT);
	assert_int_equal(finished, 0);
	assert_int_equal(s3i_configure_error(st)->code, S3I_ECONFLICT);
	assert_non_null(strstr(s3i_configure_error(st)->message, "failed"));
	s3i_configure_free(st);
	expect_status(&f, HOST, "cfg-late", S3I_BUCKET_DISCOVERED, NULL);
	expect_no_config(&f, HOST, "us-east-1", "cfg-late");
	expect_phase(&f, S3I_PHASE_FAILED, 0);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_all_versions_two_accounts_two_regions),
		S3I_TEST(test_current_versions_parquet_markers_are_empty),
		S3I_TEST(test_resume_with_tiny_deadlines),
		S3I_TEST(test_bad_options),
		S3I_TEST(test_failed_run_is_not_configured),
	};
	return cmocka_run_group_tests_name("stage_configure", tests, group_setup, group_teardown);
}
