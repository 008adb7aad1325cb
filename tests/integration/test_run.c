/*
 * Deployments and runs (src/stages/deployment.c, run.c) against moto_server: opening with and
 * without a known host account, init creating and completing the host resources idempotently,
 * starting, resuming and refusing runs, the status read-back, per-account service handles
 * through the cross-account role, and crash points.
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
#include "stages/run_internal.h"
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "services/sqs.h"
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

static int group_teardown(void **state)
{
	(void)state;
	s3i_moto_stop(moto);
	return 0;
}

static s3i_ctx *new_ctx(void)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	return ctx;
}

static s3i_run_input *input_of(const char *json)
{
	s3i_run_input *in = NULL;
	CHECK_OK(s3i_run_input_parse(&in, json, strlen(json), s3i_test_alloc(), NULL));
	return in;
}

#define INPUT_R1 "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"123456789012\"}," \
	"{\"id\":\"111111111111\",\"external_id\":\"ext-1234\"}]," \
	"\"athena_queries\":[],\"sender_email_address\":\"a@example.com\"," \
	"\"recipient_email_addresses\":[\"b@example.com\"],\"supported_regions\":[\"us-east-1\"]}"

static void test_open_names_and_account(void **state)
{
	(void)state;
	s3i_ctx *ctx = new_ctx();
	s3i_deployment *d = NULL;
	s3i_deployment_options o = S3I_DEPLOYMENT_OPTIONS_INIT;
	o.name = "dep1";
	CHECK_OK(s3i_deployment_open(&d, ctx, &o));
	/* the host account comes from GetCallerIdentity: moto's default account */
	assert_string_equal(s3i_deployment_host_account(d), "123456789012");
	assert_string_equal(s3i_deployment_host_region(d), "us-east-1");
	assert_string_equal(s3i_deployment_state_table(d), "dep1_configuration_table");
	assert_string_equal(s3i_deployment_queue_name(d), "dep1-sqs-consolidate-inventory-files");
	assert_string_equal(s3i_deployment_dlq_name(d), "dep1-sqs-dlq");
	assert_non_null(strstr(s3i_deployment_consolidated_bucket(d), "123456789012"));
	s3i_deployment_free(d);

	/* a bad name is refused, naming it, before anything is touched */
	o.name = "Bad_Name";
	int rc = s3i_deployment_open(&d, ctx, &o);
	assert_int_equal(rc, S3I_EINVALID);
	assert_null(d);
	assert_non_null(strstr(s3i_error_last()->message, "Bad_Name"));

	/* no name anywhere */
	unsetenv("S3I_DEPLOYMENT");
	o.name = NULL;
	rc = s3i_deployment_open(&d, ctx, &o);
	assert_int_equal(rc, S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "S3I_DEPLOYMENT"));
	setenv("S3I_DEPLOYMENT", "fromenv", 1);
	o.host_account_id = "222222222222";
	o.host_region = "eu-west-1";
	CHECK_OK(s3i_deployment_open(&d, ctx, &o));
	assert_string_equal(s3i_deployment_name(d), "fromenv");
	assert_string_equal(s3i_deployment_host_account(d), "222222222222");
	assert_string_equal(s3i_deployment_host_region(d), "eu-west-1");
	s3i_deployment_free(d);
	unsetenv("S3I_DEPLOYMENT");

	o.name = "dep1";
	o.host_account_id = "12345";
	rc = s3i_deployment_open(&d, ctx, &o);
	assert_int_equal(rc, S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "12345"));
	s3i_ctx_release(ctx);
}

static s3i_deployment *open_dep(s3i_ctx *ctx)
{
	s3i_deployment *d = NULL;
	s3i_deployment_options o = S3I_DEPLOYMENT_OPTIONS_INIT;
	o.name = "dep1";
	CHECK_OK(s3i_deployment_open(&d, ctx, &o));
	return d;
}

static void test_init_is_idempotent_and_completes(void **state)
{
	(void)state;
	s3i_ctx *ctx = new_ctx();
	s3i_deployment *d = open_dep(ctx);
	char url[1024];
	/* before init the queue does not exist */
	int rc = s3i_deployment_queue_url(d, url, sizeof(url));
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_non_null(strstr(s3i_error_last()->message, "init"));

	CHECK_OK(s3i_deployment_init(d));
	CHECK_OK(s3i_deployment_init(d));
	CHECK_OK(s3i_deployment_queue_url(d, url, sizeof(url)));
	assert_non_null(strstr(url, "dep1-sqs-consolidate-inventory-files"));

	s3i_svc svc = { s3i_ctx_client(ctx), NULL, "us-east-1" };
	s3i_sqs_attrs attrs;
	s3i_sqs_attrs_init(&attrs, s3i_test_alloc());
	CHECK_OK(s3i_sqs_get_queue_attributes_op(&svc, url, NULL, 0, &attrs, NULL));
	const char *redrive = s3i_sqs_attrs_get(&attrs, "RedrivePolicy");
	assert_non_null(redrive);
	assert_non_null(strstr(redrive, "dep1-sqs-dlq"));
	const char *policy = s3i_sqs_attrs_get(&attrs, "Policy");
	assert_non_null(policy);
	assert_non_null(strstr(policy, "dep1-*-sns-notification-topic"));
	assert_string_equal(s3i_sqs_attrs_get(&attrs, "VisibilityTimeout"), "900");

	/* a queue someone changed is completed, not replaced: its messages stay */
	s3i_sqs_kv vis = { "VisibilityTimeout", "30" };
	CHECK_OK(s3i_sqs_set_queue_attributes_op(&svc, url, &vis, 1, NULL));
	CHECK_OK(s3i_sqs_send_op(&svc, url, "keep me", 0, NULL, 0, NULL));
	s3i_deployment_free(d);
	d = open_dep(ctx);
	CHECK_OK(s3i_deployment_init(d));
	CHECK_OK(s3i_sqs_get_queue_attributes_op(&svc, url, NULL, 0, &attrs, NULL));
	assert_string_equal(s3i_sqs_attrs_get(&attrs, "VisibilityTimeout"), "900");
	int64_t n = 0;
	CHECK_OK(s3i_sqs_attrs_i64(&attrs, "ApproximateNumberOfMessages", &n));
	assert_int_equal(n, 1);
	s3i_sqs_attrs_free(&attrs);

	/* the consolidated bucket exists, with a lifecycle rule (HeadBucket finds it) */
	char region[64];
	CHECK_OK(s3i_s3_head_bucket_op(&svc, s3i_deployment_consolidated_bucket(d), region, NULL));
	assert_string_equal(region, "us-east-1");
	/* the state table is there: a run can be recorded */
	s3i_run_input *in = input_of(INPUT_R1);
	s3i_run *run = NULL;
	CHECK_OK(s3i_run_start(&run, d, in));
	s3i_run_free(run);
	s3i_run_input_free(in);
	s3i_deployment_free(d);
	s3i_ctx_release(ctx);
}

typedef struct seen {
	int n;
	char buckets[8][64];
	char statuses[8][32];
} seen;

static int collect(void *user, const s3i_bucket_status *b)
{
	seen *s = user;
	if (s->n < 8) {
		snprintf(s->buckets[s->n], 64, "%s", b->bucket);
		snprintf(s->statuses[s->n], 32, "%s", b->status);
	}
	s->n++;
	return 0;
}

static void test_run_start_resume_refuse_status(void **state)
{
	(void)state;
	s3i_ctx *ctx = new_ctx();
	s3i_deployment *d = open_dep(ctx);
	CHECK_OK(s3i_deployment_init(d));
	s3i_run_input *in = input_of(INPUT_R1);
	s3i_run *run = NULL;
	CHECK_OK(s3i_run_start(&run, d, in));
	assert_string_equal(s3i_run_id(run), "r1");
	assert_true(s3i_run_input_equal(s3i_run_get_input(run), in));

	s3i_state *st = s3i_run_state(run);
	CHECK_OK(s3i_state_bucket_add(st, "r1", "123456789012", "us-east-1", "zeta", S3I_BUCKET_DISCOVERED,
		NULL, 10, NULL, NULL));
	CHECK_OK(s3i_state_bucket_add(st, "r1", "111111111111", "us-east-1", "alpha", S3I_BUCKET_EXCLUDED,
		"excluded by input", 10, NULL, NULL));
	s3i_run_free(run);

	/* resuming with the same input works and sees the recorded buckets */
	CHECK_OK(s3i_run_start(&run, d, in));
	s3i_run_status status = { .struct_size = sizeof(status) };
	seen s = { 0 };
	CHECK_OK(s3i_run_status_read(run, &status, collect, &s));
	assert_string_equal(status.run_id, "r1");
	assert_string_equal(status.phase, "provisioning");
	assert_int_equal(status.finished, 0);
	assert_int_equal(status.buckets_total, 2);
	assert_int_equal(status.buckets_pending, 1);
	assert_int_equal(s.n, 2);
	/* ordered by account then bucket */
	assert_string_equal(s.buckets[0], "alpha");
	assert_string_equal(s.statuses[0], "excluded");
	assert_string_equal(s.buckets[1], "zeta");
	s3i_run_free(run);

	/* another input for the same unfinished run id is refused */
	s3i_run_input *other = input_of("{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"123456789012\"}],"
		"\"athena_queries\":[],\"sender_email_address\":\"a@example.com\","
		"\"recipient_email_addresses\":[\"b@example.com\"],\"supported_regions\":[\"us-east-1\"]}");
	int rc = s3i_run_start(&run, d, other);
	assert_int_equal(rc, S3I_ECONFLICT);
	assert_null(run);
	assert_non_null(strstr(s3i_error_last()->message, "r1"));
	s3i_run_input_free(other);

	/* a finished run cannot be started again, but can be opened */
	CHECK_OK(s3i_state_run_set_phase(st, "r1", S3I_PHASE_DONE, 20, NULL, NULL));
	rc = s3i_run_start(&run, d, in);
	assert_int_equal(rc, S3I_EEXISTS);
	assert_non_null(strstr(s3i_error_last()->message, "finished"));
	CHECK_OK(s3i_run_open(&run, d, "r1"));
	/* an older caller's smaller struct: nothing past it is written */
	struct { s3i_run_status st; char guard[8]; } small;
	memset(&small, 0x5a, sizeof(small));
	small.st.struct_size = offsetof(s3i_run_status, finished);
	CHECK_OK(s3i_run_status_read(run, &small.st, NULL, NULL));
	assert_string_equal(small.st.phase, "done");
	const unsigned char *tail = (const unsigned char *)&small.st + offsetof(s3i_run_status, finished);
	for (size_t i = 0; i < sizeof(small) - offsetof(s3i_run_status, finished); i++)
		assert_int_equal(tail[i], 0x5a);
	small.st.struct_size = 4;
	assert_int_equal(s3i_run_status_read(run, &small.st, NULL, NULL), S3I_EINVALID);
	CHECK_OK(s3i_run_status_read(run, &status, NULL, NULL));
	assert_string_equal(status.phase, "done");
	assert_int_equal(status.finished, 1);
	s3i_run_free(run);

	rc = s3i_run_open(&run, d, "nosuch");
	assert_int_equal(rc, S3I_ENOTFOUND);
	rc = s3i_run_open(&run, d, "BAD!");
	assert_int_equal(rc, S3I_EINVALID);

	/* engine "local" parses but is refused until it exists */
	s3i_run_input *local = input_of("{\"run_id\":\"r2\",\"engine\":\"local\",\"accounts\":[{\"id\":\"123456789012\"}],"
		"\"athena_queries\":[],\"sender_email_address\":\"a@example.com\","
		"\"recipient_email_addresses\":[\"b@example.com\"],\"supported_regions\":[\"us-east-1\"]}");
	rc = s3i_run_start(&run, d, local);
	assert_int_equal(rc, S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "local"));
	rc = s3i_run_open(&run, d, "r2");
	assert_int_equal(rc, S3I_ENOTFOUND);
	s3i_run_input_free(local);

	s3i_run_input_free(in);
	s3i_deployment_free(d);
	s3i_ctx_release(ctx);
}

static void test_account_svc_assumes_the_cross_account_role(void **state)
{
	(void)state;
	s3i_ctx *ctx = new_ctx();
	s3i_deployment *d = open_dep(ctx);
	CHECK_OK(s3i_deployment_init(d));
	s3i_run_input *in = input_of(INPUT_R1);
	s3i_run *run = NULL;
	CHECK_OK(s3i_run_start(&run, d, in));

	s3i_svc host, other;
	s3i_credprov *hold_host = NULL, *hold_other = NULL;
	CHECK_OK(s3i_run_account_svc(run, "123456789012", "eu-west-1", &host, &hold_host, NULL));
	assert_null(hold_host);
	assert_string_equal(host.region, "eu-west-1");
	CHECK_OK(s3i_run_account_svc(run, "111111111111", NULL, &other, &hold_other, NULL));
	assert_non_null(hold_other);
	assert_string_equal(other.region, "us-east-1");

	/* a bucket made through the role belongs to the other account */
	CHECK_OK(s3i_s3_create_bucket_op(&other, "member-bucket", "us-east-1", NULL));
	s3i_sts_identity id;
	CHECK_OK(s3i_sts_get_caller_identity_op(&other, &id, NULL));
	assert_string_equal(id.account, "111111111111");
	assert_non_null(strstr(id.arn, "dep1-cross-account-iam-role"));
	s3i_credprov_release(hold_other);

	/* an account outside the input is refused, naming it */
	int rc = s3i_run_account_svc(run, "333333333333", NULL, &other, &hold_other, NULL);
	assert_int_equal(rc, S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "333333333333"));

	s3i_run_free(run);
	s3i_run_input_free(in);
	s3i_deployment_free(d);
	s3i_ctx_release(ctx);
}

static void test_crashpoint_kills_only_at_its_point(void **state)
{
	(void)state;
	s3i_crashpoint("x.unset");  /* no variable: nothing happens */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("S3I_TEST_CRASH_AT", "x.here", 1);
		setenv("S3I_TEST_CRASH_SKIP", "1", 1);
		s3i_crashpoint("x.elsewhere");
		s3i_crashpoint("x.here");    /* skipped once */
		s3i_crashpoint("x.here");
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_open_names_and_account),
		S3I_TEST(test_init_is_idempotent_and_completes),
		S3I_TEST(test_run_start_resume_refuse_status),
		S3I_TEST(test_account_svc_assumes_the_cross_account_role),
		S3I_TEST(test_crashpoint_kills_only_at_its_point),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
