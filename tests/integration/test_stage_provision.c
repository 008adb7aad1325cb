/*
 * The provision stage (src/stages/provision.c) against moto_server: two accounts (the host
 * and 111111111111 through the cross-account role), buckets in three supported regions, an
 * excluded bucket, the deployment's own buckets, a bucket outside supported_regions, a legacy
 * "EU" bucket and an unreadable one (both through /_fault), an account whose role cannot be
 * assumed; everything moto's CloudFormation ignores applied and checked end to end (an object
 * put into a staging bucket reaches the central queue, raw); resumability with tiny step
 * deadlines and a second handle (no second CreateStack); a stack that fails.
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
#include "s3insights/stage_provision.h"
#include "core/buf.h"
#include "stages/names.h"
#include "stages/run_internal.h"
#include "services/cloudformation.h"
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "services/ses.h"
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

/* ------------------------------------------------------------------ seeding (raw calls) */

static char *raw(const char *method, const char *path, const char *region, const char *body,
	const char *account, int want_status)
{
	return s3i_stage_fx_s3_raw(moto, method, path, region, body, account, want_status);
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

static void expect_bucket(fx *f, const char *account, const char *bucket,
	s3i_bucket_state status, const char *region, const char *reason_part)
{
	s3i_state_bucket b;
	int rc = s3i_state_bucket_get(s3i_run_state(f->run), "r1", account, bucket, &b, NULL);
	if (rc)
		fprintf(stderr, "bucket %s/%s not recorded\n", account, bucket);
	CHECK_OK(rc);
	if (b.status != status || (reason_part && !strstr(b.reason, reason_part)))
		fprintf(stderr, "bucket %s/%s: %s (%s) in %s\n", account, bucket,
			s3i_bucket_state_name(b.status), b.reason, b.region);
	assert_int_equal(b.status, status);
	if (region)
		assert_string_equal(b.region, region);
	if (reason_part)
		assert_non_null(strstr(b.reason, reason_part));
}

static void expect_discovery(fx *f)
{
	expect_bucket(f, HOST, "src-east", S3I_BUCKET_DISCOVERED, "us-east-1", NULL);
	expect_bucket(f, HOST, "src-west", S3I_BUCKET_DISCOVERED, "us-west-2", NULL);
	expect_bucket(f, HOST, "legacy-eu", S3I_BUCKET_DISCOVERED, "eu-west-1", NULL);
	expect_bucket(f, HOST, "excluded-one", S3I_BUCKET_EXCLUDED, "us-east-1", "excluded by input");
	expect_bucket(f, HOST, "dep1-" HOST "-consolidated", S3I_BUCKET_EXCLUDED, NULL,
		"pipeline bucket of deployment dep1");
	expect_bucket(f, HOST, "dep1-old-dest-" HOST "-us-east-1", S3I_BUCKET_EXCLUDED, NULL,
		"pipeline bucket of deployment dep1");
	expect_bucket(f, HOST, "far-away", S3I_BUCKET_SKIPPED_REGION, "ap-south-1",
		"region ap-south-1 not in supported_regions");
	expect_bucket(f, HOST, "unreadable", S3I_BUCKET_FAILED, NULL, "AccessDenied");
	expect_bucket(f, OTHER, "other-west", S3I_BUCKET_DISCOVERED, "us-west-2", NULL);
	expect_bucket(f, OTHER, "other-east", S3I_BUCKET_DISCOVERED, "us-east-1", NULL);
	/* buckets are per account: the host's are not the other account's */
	s3i_state_bucket b;
	assert_int_equal(s3i_state_bucket_get(s3i_run_state(f->run), "r1", OTHER, "src-east", &b,
		NULL), S3I_ENOTFOUND);
}

typedef struct queue_look {
	int raw_checksum;
	int envelope;
} queue_look;

static int on_message(void *payload, const s3i_sqs_message *m)
{
	queue_look *q = payload;
	if (strstr(m->body, "\"TopicArn\""))
		q->envelope++;
	else if (strstr(m->body, "manifest.checksum") && strstr(m->body, "ObjectCreated"))
		q->raw_checksum++;
	return 0;
}

/* An object put into each staging bucket reaches the central queue as a raw S3 event:
 * notification, topic, subscription and raw delivery all work. */
static void expect_delivery(fx *f)
{
	s3i_estate_regions rs = s3i_estate_regions_of(f);
	char url[1024];
	CHECK_OK(s3i_deployment_queue_url(f->d, url, sizeof(url)));
	for (size_t i = 0; i < rs.n; i++) {
		char path[256];
		snprintf(path, sizeof(path), "/%s/" HOST "/us-east-1/src-east/dep1-r1-s3-inventory/"
			"2026-12-04T00-00Z/manifest.checksum", rs.r[i].staging_bucket);
		free(raw("PUT", path, rs.r[i].region, "0123456789abcdef0123456789abcdef", NULL, 200));
		snprintf(path, sizeof(path), "/%s/" HOST "/us-east-1/src-east/dep1-r1-s3-inventory/"
			"data/unrelated.csv.gz", rs.r[i].staging_bucket);
		free(raw("PUT", path, rs.r[i].region, "x", NULL, 200));
	}
	s3i_svc host = svc_in(f, "us-east-1");
	queue_look q = { 0, 0 };
	for (int round = 0; round < 10; round++) {
		size_t got = 0;
		s3i_sqs_receive_opts ro = { .max_messages = 10 };
		CHECK_OK(s3i_sqs_receive_op(&host, url, &ro, on_message, &q, &got, NULL));
		if (!got)
			break;
	}
	assert_int_equal(q.raw_checksum, 3);   /* one per region; the data file is filtered out */
	assert_int_equal(q.envelope, 0);
}

/* ------------------------------------------------------------------ tests */

static void test_provision_full(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT);
	/* a queue policy that does not let the topics in: provision adds a statement, keeping
	 * what is there */
	char url[1024];
	CHECK_OK(s3i_deployment_queue_url(f.d, url, sizeof(url)));
	s3i_svc host = svc_in(&f, "us-east-1");
	s3i_sqs_kv pol = { "Policy", "{\"Version\":\"2012-10-17\",\"Id\":\"keep\",\"Statement\":[{"
		"\"Sid\":\"SomethingElse\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::"
		HOST ":root\"},\"Action\":\"sqs:*\",\"Resource\":\"*\"}]}" };
	CHECK_OK(s3i_sqs_set_queue_attributes_op(&host, url, &pol, 1, NULL));

	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	CHECK_OK(s3i_provision_run(p));
	assert_int_equal(s3i_provision_error(p)->code, S3I_OK);
	s3i_provision_free(p);

	assert_int_equal(s3i_estate_phase_of(&f, NULL, 0), S3I_PHASE_PROVISIONING);
	expect_discovery(&f);
	s3i_estate_expect_provisioned(&f);

	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, s3i_test_alloc());
	const char *names[] = { "Policy" };
	CHECK_OK(s3i_sqs_get_queue_attributes_op(&host, url, names, 1, &at, NULL));
	const char *qp = s3i_sqs_attrs_get(&at, "Policy");
	assert_non_null(qp);
	assert_non_null(strstr(qp, "SomethingElse"));
	assert_non_null(strstr(qp, "keep"));   /* moto re-serialises: spacing differs */
	assert_non_null(strstr(qp, "AllowStagingTopics"));
	assert_non_null(strstr(qp, "arn:aws:sns:*:" HOST ":dep1-*-sns-notification-topic"));
	s3i_sqs_attrs_free(&at);

	expect_delivery(&f);

	/* SES was asked to verify the sender (moto verifies at once) */
	const char *ids[] = { "sender@example.com" };
	s3i_ses_verification v = S3I_SES_VERIFY_ABSENT;
	CHECK_OK(s3i_ses_get_verification_op(&host, ids, 1, &v, NULL));
	assert_int_equal(v, S3I_SES_VERIFY_SUCCESS);
	fx_close(&f);
}

/* Tiny deadlines: each step does a little and returns; the result is the same, and a second
 * handle finds everything done without creating anything again. */
static void test_provision_resumable(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT);
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	int finished = 0, steps = 0;
	while (!finished) {
		CHECK_OK(s3i_provision_step(p, s3i_deployment_now_ms(f.d) + 1, &finished));
		assert_true(++steps < 200);
	}
	s3i_provision_free(p);
	fprintf(stderr, "  provisioned in %d steps\n", steps);
	assert_true(steps > 3);
	expect_discovery(&f);
	s3i_estate_expect_provisioned(&f);

	/* no second CreateStack: a refused one would fail the run */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"cloudformation\",\"action\":"
		"\"CreateStack\",\"status\":400,\"count\":1,\"content_type\":\"text/xml\",\"body\":"
		"\"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>"
		"second CreateStack</Message></Error><RequestId>x</RequestId></ErrorResponse>\"}"), 0);
	for (int round = 0; round < 2; round++) {
		CHECK_OK(s3i_provision_new(&p, f.run, NULL));
		CHECK_OK(s3i_provision_step(p, 0, &finished));
		assert_int_equal(finished, 1);
		s3i_provision_free(p);
	}
	char *rules = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/_fault", NULL, NULL, &rules, &status), 0);
	assert_non_null(strstr(rules, "second CreateStack"));
	assert_non_null(strstr(rules, "\"count\": 1"));   /* never used */
	free(rules);
	s3i_estate_expect_provisioned(&f);
	assert_int_equal(s3i_estate_phase_of(&f, NULL, 0), S3I_PHASE_PROVISIONING);
	fx_close(&f);
}

/* moto's failure mode: CreateStack itself refuses. The run fails naming the stack. */
static void test_provision_create_stack_refused(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT);
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"cloudformation\",\"action\":"
		"\"CreateStack\",\"region\":\"us-west-2\",\"status\":400,\"count\":1,\"content_type\":"
		"\"text/xml\",\"body\":\"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError"
		"</Code><Message>Template format error: injected</Message></Error><RequestId>r-1"
		"</RequestId></ErrorResponse>\"}"), 0);
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	int rc = s3i_provision_run(p);
	assert_true(rc < 0);
	const char *msg = s3i_provision_error(p)->message;
	fprintf(stderr, "  provision reports: %s\n", msg);
	assert_non_null(strstr(msg, STACK));
	assert_non_null(strstr(msg, "us-west-2"));
	assert_non_null(strstr(msg, "injected"));
	s3i_provision_free(p);
	char error[1024];
	assert_int_equal(s3i_estate_phase_of(&f, error, sizeof(error)), S3I_PHASE_FAILED);
	assert_non_null(strstr(error, STACK));
	/* a failed run is not provisioned again */
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	int finished = 0;
	assert_int_equal(s3i_provision_step(p, 0, &finished), S3I_ECONFLICT);
	assert_non_null(strstr(s3i_provision_error(p)->message, "failed"));
	s3i_provision_free(p);
	fx_close(&f);
}

#define STACK_ID "arn:aws:cloudformation:us-west-2:" HOST ":stack/" STACK \
	"/5e1f2a40-07b1-11ef-9c4c-0affd3b1c2d5"

/* AWS's failure mode: the stack rolls back; the run fails naming the stack and the failing
 * resource (DescribeStacks and DescribeStackEvents as AWS documents them, through /_fault). */
static void test_provision_stack_rolls_back(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT);
	const char *stacks = "{\"service\":\"cloudformation\",\"action\":\"DescribeStacks\","
		"\"region\":\"us-west-2\",\"status\":200,\"count\":-1,\"content_type\":\"text/xml\","
		"\"body\":\"<DescribeStacksResponse xmlns=\\\"http://cloudformation.amazonaws.com/doc/"
		"2010-05-15/\\\"><DescribeStacksResult><Stacks><member><StackName>" STACK "</StackName>"
		"<StackId>" STACK_ID "</StackId><CreationTime>2026-12-04T07:00:00.123Z</CreationTime>"
		"<StackStatus>ROLLBACK_COMPLETE</StackStatus><StackStatusReason>The following "
		"resource(s) failed to create: [StagingBucket].</StackStatusReason></member></Stacks>"
		"</DescribeStacksResult></DescribeStacksResponse>\"}";
	const char *events = "{\"service\":\"cloudformation\",\"action\":\"DescribeStackEvents\","
		"\"region\":\"us-west-2\",\"status\":200,\"count\":-1,\"content_type\":\"text/xml\","
		"\"body\":\"<DescribeStackEventsResponse xmlns=\\\"http://cloudformation.amazonaws.com/"
		"doc/2010-05-15/\\\"><DescribeStackEventsResult><StackEvents>"
		"<member><EventId>e3</EventId><StackId>" STACK_ID "</StackId><StackName>" STACK
		"</StackName><LogicalResourceId>StagingBucket</LogicalResourceId><PhysicalResourceId>"
		"</PhysicalResourceId><ResourceType>AWS::S3::Bucket</ResourceType><Timestamp>"
		"2026-12-04T07:00:06.412Z</Timestamp><ResourceStatus>CREATE_FAILED</ResourceStatus>"
		"<ResourceStatusReason>dep1-r1-dest-" HOST "-us-west-2 already exists"
		"</ResourceStatusReason></member>"
		"<member><EventId>e1</EventId><StackId>" STACK_ID "</StackId><StackName>" STACK
		"</StackName><LogicalResourceId>" STACK "</LogicalResourceId><PhysicalResourceId>"
		"</PhysicalResourceId><ResourceType>AWS::CloudFormation::Stack</ResourceType><Timestamp>"
		"2026-12-04T07:00:00.123Z</Timestamp><ResourceStatus>CREATE_IN_PROGRESS</ResourceStatus>"
		"<ResourceStatusReason>User Initiated</ResourceStatusReason></member>"
		"</StackEvents></DescribeStackEventsResult></DescribeStackEventsResponse>\"}";
	assert_int_equal(s3i_moto_add_fault(moto, stacks), 0);
	assert_int_equal(s3i_moto_add_fault(moto, events), 0);
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	int rc = s3i_provision_run(p);
	assert_int_equal(rc, S3I_EAWS);
	const char *msg = s3i_provision_error(p)->message;
	fprintf(stderr, "  provision reports: %s\n", msg);
	assert_non_null(strstr(msg, STACK));
	assert_non_null(strstr(msg, "ROLLBACK_COMPLETE"));
	assert_non_null(strstr(msg, "StagingBucket"));
	assert_non_null(strstr(msg, "already exists"));
	s3i_provision_free(p);
	char error[1024];
	assert_int_equal(s3i_estate_phase_of(&f, error, sizeof(error)), S3I_PHASE_FAILED);
	assert_non_null(strstr(error, "StagingBucket"));
	/* and on the region */
	s3i_estate_regions rs = s3i_estate_regions_of(&f);
	int seen = 0;
	for (size_t i = 0; i < rs.n; i++)
		if (!strcmp(rs.r[i].region, "us-west-2")) {
			seen = 1;
			assert_string_equal(rs.r[i].status, "pending");
			assert_non_null(strstr(rs.r[i].reason, "StagingBucket"));
		}
	assert_true(seen);
	fx_close(&f);
}

/* A stack that stays CREATE_IN_PROGRESS: a step's deadline ends the wait without failing;
 * the stack's own timeout fails the run, naming the stack and its status. */
static void test_provision_stack_timeout(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT);
	const char *stuck = "{\"service\":\"cloudformation\",\"action\":\"DescribeStacks\","
		"\"region\":\"eu-west-1\",\"status\":200,\"count\":-1,\"content_type\":\"text/xml\","
		"\"body\":\"<DescribeStacksResponse xmlns=\\\"http://cloudformation.amazonaws.com/doc/"
		"2010-05-15/\\\"><DescribeStacksResult><Stacks><member><StackName>" STACK "</StackName>"
		"<StackId>arn:aws:cloudformation:eu-west-1:" HOST ":stack/" STACK "/1</StackId>"
		"<CreationTime>2026-12-04T07:00:00.123Z</CreationTime><StackStatus>CREATE_IN_PROGRESS"
		"</StackStatus></member></Stacks></DescribeStacksResult></DescribeStacksResponse>\"}";
	assert_int_equal(s3i_moto_add_fault(moto, stuck), 0);
	s3i_provision_options o = S3I_PROVISION_OPTIONS_INIT;
	o.stack_timeout_ms = 3000;   /* far more than three 50 ms steps */
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f.run, &o));
	int finished = 1, rc = S3I_OK, steps = 0;
	/* the first steps stop at their deadline: unfinished, not failed */
	for (; steps < 3; steps++) {
		CHECK_OK(s3i_provision_step(p, s3i_deployment_now_ms(f.d) + 50, &finished));
		assert_int_equal(finished, 0);
	}
	assert_int_equal(s3i_estate_phase_of(&f, NULL, 0), S3I_PHASE_PROVISIONING);
	/* without a deadline the stack's 3 s run out */
	rc = s3i_provision_run(p);
	assert_int_equal(rc, S3I_ETIMEOUT);
	const char *msg = s3i_provision_error(p)->message;
	fprintf(stderr, "  provision reports: %s\n", msg);
	assert_non_null(strstr(msg, STACK));
	assert_non_null(strstr(msg, "eu-west-1"));
	assert_non_null(strstr(msg, "CREATE_IN_PROGRESS"));
	s3i_provision_free(p);
	assert_int_equal(s3i_estate_phase_of(&f, NULL, 0), S3I_PHASE_FAILED);
	fx_close(&f);
}

/* The other account's role cannot be assumed: recorded (bucket "*"), the run goes on with the
 * host's buckets. When no account can be listed, the run fails. */
static void test_provision_account_unreachable(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT);
	const char *deny = "{\"service\":\"sts\",\"action\":\"AssumeRole\",\"status\":403,"
		"\"count\":-1,\"content_type\":\"text/xml\",\"body\":\"<ErrorResponse><Error><Type>"
		"Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform "
		"sts:AssumeRole</Message></Error><RequestId>deny-1</RequestId></ErrorResponse>\"}";
	assert_int_equal(s3i_moto_add_fault(moto, deny), 0);
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	CHECK_OK(s3i_provision_run(p));
	s3i_provision_free(p);
	expect_bucket(&f, OTHER, "*", S3I_BUCKET_FAILED, NULL, "account " OTHER);
	expect_bucket(&f, OTHER, "*", S3I_BUCKET_FAILED, NULL, "AccessDenied");
	expect_bucket(&f, HOST, "src-east", S3I_BUCKET_DISCOVERED, "us-east-1", NULL);
	s3i_state_bucket b;
	assert_int_equal(s3i_state_bucket_get(s3i_run_state(f.run), "r1", OTHER, "other-west", &b,
		NULL), S3I_ENOTFOUND);
	s3i_estate_expect_provisioned(&f);
	fx_close(&f);

	/* only the unreachable account: the run fails, naming it */
	fx_open(&f, "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"" OTHER "\"}],"
		"\"athena_queries\":[],\"sender_email_address\":\"sender@example.com\","
		"\"recipient_email_addresses\":[\"b@example.com\"]}");
	assert_int_equal(s3i_moto_add_fault(moto, deny), 0);
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	int rc = s3i_provision_run(p);
	assert_int_equal(rc, S3I_EAUTH);
	assert_non_null(strstr(s3i_provision_error(p)->message, "no input account"));
	assert_non_null(strstr(s3i_provision_error(p)->message, OTHER));
	s3i_provision_free(p);
	char error[1024];
	assert_int_equal(s3i_estate_phase_of(&f, error, sizeof(error)), S3I_PHASE_FAILED);
	assert_non_null(strstr(error, OTHER));
	fx_close(&f);
}

static void test_provision_bad_arguments(void **state)
{
	(void)state;
	s3i_provision *p = NULL;
	assert_int_equal(s3i_provision_new(&p, NULL, NULL), S3I_EINVALID);
	assert_null(p);
	assert_int_equal(s3i_provision_error(NULL)->code, S3I_EINVALID);
	s3i_provision_free(NULL);
	int finished = 1;
	assert_int_equal(s3i_provision_step(NULL, 0, &finished), S3I_EINVALID);
	assert_int_equal(finished, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_provision_bad_arguments),
		S3I_TEST(test_provision_full),
		S3I_TEST(test_provision_resumable),
		S3I_TEST(test_provision_create_stack_refused),
		S3I_TEST(test_provision_stack_rolls_back),
		S3I_TEST(test_provision_stack_timeout),
		S3I_TEST(test_provision_account_unreachable),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
