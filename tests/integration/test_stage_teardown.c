/*
 * The teardown stage, also the Cleanup workflow (src/stages/teardown.c), against moto_server:
 * after a full provision over two accounts and three regions, with inventory configurations
 * on source buckets of both accounts and objects (versions and delete markers too) in the
 * staging buckets, teardown leaves no staging bucket, stack, topic, route or inventory
 * configuration (and keeps the source buckets and configurations that are not the run's);
 * twice is harmless; tiny step deadlines; a kill at the teardown.mid crash point and a
 * second teardown; Cleanup of a failed half-provisioned run and of a run stopped midway.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "s3insights/stage_provision.h"
#include "s3insights/stage_teardown.h"
#include "core/buf.h"
#include "stages/names.h"
#include "stages/run_internal.h"
#include "services/cloudformation.h"
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "services/sns.h"
#include "services/sqs.h"
#include "moto.h"
#include "provision_estate.h"
#include "stage_fixture.h"
#include "check.h"
#include "test_alloc.h"

#define HOST "123456789012"
#define OTHER "111111111111"
#define STACK "dep1-r1-stack-dest-resources"

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

/* ------------------------------------------------------------------ fixture */

typedef s3i_stage_fx fx;

#define INPUT S3I_PROVISION_ESTATE_INPUT

static void fx_open(fx *f, const char *input)
{
	s3i_provision_estate_open(f, moto, input);
}

static void fx_close(fx *f)
{
	s3i_stage_fx_close(f);
}

static s3i_svc svc_in(fx *f, const char *region)
{
	s3i_svc svc = { s3i_deployment_client(f->d), NULL, region };
	return svc;
}


static void provision(fx *f)
{
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f->run, NULL));
	CHECK_OK(s3i_provision_run(p));
	s3i_provision_free(p);
}

#define INV_ID "dep1-r1-s3-inventory"

/* What configure would have done on one bucket: the run's inventory configuration, recorded. */
static void configure_bucket(fx *f, const char *account, const char *bucket, const char *region,
	const char *id, int record)
{
	s3i_svc svc;
	s3i_credprov *hold = NULL;
	CHECK_OK(s3i_run_account_svc(f->run, account, region, &svc, &hold, NULL));
	char dest[128], prefix[64];
	snprintf(dest, sizeof(dest), "arn:aws:s3:::dep1-r1-dest-" HOST "-%s", region);
	snprintf(prefix, sizeof(prefix), "%s/%s", account, region);
	s3i_s3_inventory_config cfg = { .id = id, .enabled = 1, .destination_bucket_arn = dest,
		.destination_prefix = prefix, .format = S3I_S3_INVENTORY_CSV,
		.versions = S3I_S3_INVENTORY_VERSIONS_ALL, .frequency = S3I_S3_INVENTORY_DAILY,
		.optional_fields = S3I_S3_INVENTORY_FIELD_SIZE };
	CHECK_OK(s3i_s3_put_bucket_inventory_configuration_op(&svc, bucket, &cfg, NULL));
	if (hold)
		s3i_credprov_release(hold);
	if (record) {
		CHECK_OK(s3i_state_bucket_set_status(s3i_run_state(f->run), "r1", account, bucket,
			S3I_BUCKET_IN_PROGRESS, NULL, s3i_deployment_now_ms(f->d), NULL, NULL));
		CHECK_OK(s3i_state_bucket_set_inventory_configured(s3i_run_state(f->run), "r1", account,
			bucket, 1, s3i_deployment_now_ms(f->d), NULL));
	}
}

static int inventory_exists(fx *f, const char *account, const char *bucket, const char *region,
	const char *id)
{
	s3i_svc svc;
	s3i_credprov *hold = NULL;
	CHECK_OK(s3i_run_account_svc(f->run, account, region, &svc, &hold, NULL));
	/* the bucket itself must still be there (stock moto's DELETE ?inventory deletes it) */
	CHECK_OK(s3i_s3_head_bucket_op(&svc, bucket, NULL, NULL));
	s3i_s3_inventory_config cfg;
	s3i_buf storage = S3I_BUF_INIT;
	s3i_buf_init(&storage, s3i_test_alloc());
	int rc = s3i_s3_get_bucket_inventory_configuration_op(&svc, bucket, id, &cfg, &storage, NULL);
	s3i_buf_dispose(&storage);
	if (hold)
		s3i_credprov_release(hold);
	assert_true(rc == S3I_OK || rc == S3I_ENOTFOUND);
	return rc == S3I_OK;
}

/* Objects, versions and delete markers in every provisioned staging bucket; the first one
 * versioned. */
static void fill_staging(fx *f)
{
	s3i_estate_regions rs = s3i_estate_regions_of(f);
	for (size_t i = 0; i < rs.n; i++) {
		if (strcmp(rs.r[i].status, "provisioned"))
			continue;   /* no staging bucket yet */
		s3i_svc svc = svc_in(f, rs.r[i].region);
		const char *b = rs.r[i].staging_bucket;
		if (i == 0)
			CHECK_OK(s3i_s3_put_bucket_versioning_op(&svc, b, S3I_S3_VERSIONING_ENABLED, NULL));
		for (int k = 0; k < 5; k++) {
			char key[128];
			snprintf(key, sizeof(key), HOST "/%s/src/" INV_ID "/data/file %d.csv.gz",
				rs.r[i].region, k);
			CHECK_OK(s3i_s3_put_object_op(&svc, b, key, "abc", 3, "application/octet-stream",
				NULL));
			if (i == 0) {
				CHECK_OK(s3i_s3_put_object_op(&svc, b, key, "abcd", 4,
					"application/octet-stream", NULL));
				if (k % 2)
					CHECK_OK(s3i_s3_delete_object_op(&svc, b, key, NULL));
			}
		}
	}
}

/* Nothing of the run is left: staging buckets, stacks, topics, routes, configurations. */
static void expect_gone(fx *f)
{
	s3i_estate_regions rs = s3i_estate_regions_of(f);
	assert_int_equal(rs.n, 3);
	for (size_t i = 0; i < rs.n; i++) {
		const s3i_state_region *r = &rs.r[i];
		assert_string_equal(r->status, "torn_down");
		s3i_svc svc = svc_in(f, r->region);
		assert_int_equal(s3i_s3_head_bucket_op(&svc, r->staging_bucket, NULL, NULL),
			S3I_ENOTFOUND);
		s3i_cfn_stack desc;
		s3i_cfn_stack_init(&desc, s3i_test_alloc());
		int rc = s3i_cfn_describe_stack_op(&svc, STACK, &desc, NULL);
		s3i_cfn_stack_free(&desc);
		assert_int_equal(rc, S3I_ENOTFOUND);
		s3i_params attrs;
		s3i_params_init(&attrs, s3i_test_alloc());
		char topic_arn[256];
		snprintf(topic_arn, sizeof(topic_arn), "arn:aws:sns:%s:" HOST
			":dep1-r1-sns-notification-topic", r->region);
		assert_int_equal(s3i_sns_get_topic_attributes_op(&svc, topic_arn, &attrs, NULL),
			S3I_ENOTFOUND);
		s3i_params_free(&attrs);
		char run_id[16];
		assert_int_equal(s3i_state_route_get(s3i_run_state(f->run), r->staging_bucket, run_id,
			NULL, NULL), S3I_ENOTFOUND);
	}
	s3i_errinfo_clear(s3i_errinfo_thread());
}

static void test_teardown_full_and_twice(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT);
	provision(&f);
	s3i_estate_expect_provisioned(&f);
	configure_bucket(&f, HOST, "src-east", "us-east-1", INV_ID, 1);
	configure_bucket(&f, OTHER, "other-west", "us-west-2", INV_ID, 1);
	/* not the run's: left alone */
	configure_bucket(&f, HOST, "src-west", "us-west-2", "someone-elses", 0);
	fill_staging(&f);

	s3i_teardown *t = NULL;
	CHECK_OK(s3i_teardown_new(&t, f.run, NULL));
	CHECK_OK(s3i_teardown_run(t));
	assert_int_equal(s3i_teardown_error(t)->code, S3I_OK);
	s3i_teardown_free(t);

	expect_gone(&f);
	assert_false(inventory_exists(&f, HOST, "src-east", "us-east-1", INV_ID));
	assert_false(inventory_exists(&f, OTHER, "other-west", "us-west-2", INV_ID));
	assert_true(inventory_exists(&f, HOST, "src-west", "us-west-2", "someone-elses"));
	s3i_state_bucket b;
	CHECK_OK(s3i_state_bucket_get(s3i_run_state(f.run), "r1", OTHER, "other-west", &b, NULL));
	assert_int_equal(b.inventory_configured, 0);
	assert_int_equal(s3i_estate_phase_of(&f, NULL, 0), S3I_PHASE_DONE);

	/* twice: harmless, nothing changes */
	CHECK_OK(s3i_teardown_new(&t, f.run, NULL));
	CHECK_OK(s3i_teardown_run(t));
	s3i_teardown_free(t);
	expect_gone(&f);
	assert_int_equal(s3i_estate_phase_of(&f, NULL, 0), S3I_PHASE_DONE);
	fx_close(&f);
}

/* Tiny deadlines: a little per step, the same end. */
static void test_teardown_tiny_steps(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT);
	provision(&f);
	configure_bucket(&f, HOST, "src-east", "us-east-1", INV_ID, 1);
	configure_bucket(&f, OTHER, "other-west", "us-west-2", INV_ID, 1);
	configure_bucket(&f, OTHER, "other-east", "us-east-1", INV_ID, 1);
	fill_staging(&f);
	s3i_teardown *t = NULL;
	CHECK_OK(s3i_teardown_new(&t, f.run, NULL));
	int finished = 0, steps = 0;
	while (!finished) {
		CHECK_OK(s3i_teardown_step(t, s3i_deployment_now_ms(f.d) + 1, &finished));
		assert_true(++steps < 100);
	}
	s3i_teardown_free(t);
	fprintf(stderr, "  torn down in %d steps\n", steps);
	assert_true(steps > 1);
	expect_gone(&f);
	assert_false(inventory_exists(&f, OTHER, "other-east", "us-east-1", INV_ID));
	assert_int_equal(s3i_estate_phase_of(&f, NULL, 0), S3I_PHASE_DONE);
	fx_close(&f);
}

/* Killed at teardown.mid (one region removed, the others not): the next teardown finishes. */
static void test_teardown_crash_and_resume(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT);
	provision(&f);
	configure_bucket(&f, HOST, "src-east", "us-east-1", INV_ID, 1);
	fill_staging(&f);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("S3I_TEST_CRASH_AT", "teardown.mid", 1);
		s3i_teardown *t = NULL;
		if (s3i_teardown_new(&t, f.run, NULL) == S3I_OK)
			s3i_teardown_run(t);
		_exit(3);   /* the crash point was not reached */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	s3i_estate_regions rs = s3i_estate_regions_of(&f);
	int torn = 0;
	for (size_t i = 0; i < rs.n; i++)
		torn += !strcmp(rs.r[i].status, "torn_down");
	assert_int_equal(torn, 1);
	assert_int_equal(s3i_estate_phase_of(&f, NULL, 0), S3I_PHASE_TEARING_DOWN);
	assert_false(inventory_exists(&f, HOST, "src-east", "us-east-1", INV_ID));

	s3i_teardown *t = NULL;
	CHECK_OK(s3i_teardown_new(&t, f.run, NULL));
	CHECK_OK(s3i_teardown_run(t));
	s3i_teardown_free(t);
	expect_gone(&f);
	assert_int_equal(s3i_estate_phase_of(&f, NULL, 0), S3I_PHASE_DONE);
	fx_close(&f);
}

/* Cleanup after a run that failed in provision (one region without a stack, moto's stuck
 * CREATE_IN_PROGRESS failure mode not needed): everything goes, the run is cleaned. */
static void test_cleanup_failed_half_provisioned(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT);
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"cloudformation\",\"action\":"
		"\"CreateStack\",\"region\":\"us-west-2\",\"status\":400,\"count\":1,\"content_type\":"
		"\"text/xml\",\"body\":\"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError"
		"</Code><Message>injected</Message></Error><RequestId>r-1</RequestId></ErrorResponse>\"}"),
		0);
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	assert_true(s3i_provision_run(p) < 0);
	s3i_provision_free(p);
	assert_int_equal(s3i_estate_phase_of(&f, NULL, 0), S3I_PHASE_FAILED);
	s3i_estate_regions rs = s3i_estate_regions_of(&f);
	int provisioned = 0;
	for (size_t i = 0; i < rs.n; i++)
		provisioned += !strcmp(rs.r[i].status, "provisioned");
	assert_int_equal(provisioned, 2);
	fill_staging(&f);

	for (int round = 0; round < 2; round++) {
		s3i_teardown_options o = S3I_TEARDOWN_OPTIONS_INIT;
		o.cleanup = 1;
		s3i_teardown *t = NULL;
		CHECK_OK(s3i_teardown_new(&t, f.run, &o));
		CHECK_OK(s3i_teardown_run(t));
		s3i_teardown_free(t);
		expect_gone(&f);
		char error[1024];
		assert_int_equal(s3i_estate_phase_of(&f, error, sizeof(error)), S3I_PHASE_CLEANED);
		assert_non_null(strstr(error, "injected"));   /* the original failure stays */
	}
	fx_close(&f);
}

/* Cleanup of a run stopped midway (not failed): it ends cleaned, recorded as cancelled. */
static void test_cleanup_cancels_unfinished_run(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT);
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	int finished = 0, provisioned = 0;
	s3i_estate_regions rs;
	/* step until one region is provisioned, not all */
	while (!provisioned) {
		CHECK_OK(s3i_provision_step(p, s3i_deployment_now_ms(f.d) + 1, &finished));
		assert_false(finished);
		rs = s3i_estate_regions_of(&f);
		for (size_t i = 0; i < rs.n; i++)
			provisioned += !strcmp(rs.r[i].status, "provisioned");
	}
	s3i_provision_free(p);
	assert_int_equal(provisioned, 1);

	s3i_teardown_options o = S3I_TEARDOWN_OPTIONS_INIT;
	o.cleanup = 1;
	s3i_teardown *t = NULL;
	CHECK_OK(s3i_teardown_new(&t, f.run, &o));
	CHECK_OK(s3i_teardown_run(t));
	s3i_teardown_free(t);
	expect_gone(&f);
	s3i_state_run r;
	memset(&r, 0, sizeof(r));
	CHECK_OK(s3i_state_run_get(s3i_run_state(f.run), "r1", &r, NULL));
	assert_int_equal(r.phase, S3I_PHASE_CLEANED);
	assert_string_equal(r.error_stage, "cleanup");
	assert_non_null(strstr(r.error, "cancelled"));
	s3i_state_run_dispose(&r);
	fx_close(&f);
}

static void test_teardown_bad_arguments(void **state)
{
	(void)state;
	s3i_teardown *t = NULL;
	assert_int_equal(s3i_teardown_new(&t, NULL, NULL), S3I_EINVALID);
	assert_null(t);
	assert_int_equal(s3i_teardown_error(NULL)->code, S3I_EINVALID);
	s3i_teardown_free(NULL);
	int finished = 1;
	assert_int_equal(s3i_teardown_step(NULL, 0, &finished), S3I_EINVALID);
	assert_int_equal(finished, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_teardown_bad_arguments),
		S3I_TEST(test_teardown_full_and_twice),
		S3I_TEST(test_teardown_tiny_steps),
		S3I_TEST(test_teardown_crash_and_resume),
		S3I_TEST(test_cleanup_failed_half_provisioned),
		S3I_TEST(test_cleanup_cancels_unfinished_run),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
