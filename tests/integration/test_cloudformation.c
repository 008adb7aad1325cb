/*
 * CloudFormation operations (src/services/cloudformation.c) against moto_server: CreateStack
 * with parameters, tags and capabilities (seen arriving at moto through its recorder),
 * DescribeStacks with outputs, by name and by id, DescribeStackEvents, DeleteStack and the two
 * waiters; AlreadyExistsException, "does not exist" and refused templates; DescribeStackEvents
 * paged across a page served by /_fault and moto's own (the NextToken seen at moto);
 * the waiters' failure reports from AWS's documented DescribeStacks and DescribeStackEvents
 * answers served through /_fault (the first failing resource and its reason, also on a later
 * page of events, and for DELETE_FAILED); the deadline on a stack moto leaves in
 * CREATE_IN_PROGRESS, on a clock the test moves (no real waiting); throttling then success;
 * stacks in another region and, through AssumeRole, in a second account.
 * Every context uses the counting allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "aws/ctx_internal.h"
#include "core/json.h"
#include "core/str.h"
#include "services/cloudformation.h"
#include "services/sts.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

static s3i_moto *moto;

#define RECORDING S3I_BINARY_DIR "/Testing/Temporary/moto-recording-cloudformation"
#define OTHER "111111111111"
#define HOME "123456789012"

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

/* A clock that moves only when the library sleeps, and the naps it took. */
static int64_t fake_base_ms, fake_moved_ms;
static int64_t naps[64];
static size_t nnaps;

static int64_t fake_now_ms(void *user)
{
	(void)user;
	return fake_base_ms + fake_moved_ms;
}

static void fake_sleep_ms(void *user, int64_t ms)
{
	(void)user;
	if (nnaps < 64)
		naps[nnaps++] = ms;
	fake_moved_ms += ms;
}

static s3i_io_hooks fake_clock = { sizeof(s3i_io_hooks), NULL, fake_now_ms, fake_sleep_ms };

static s3i_ctx *make_ctx(const s3i_io_hooks *hooks)
{
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	o.log_fn = s3i_check_log;
	o.log_level = S3I_LOG_WARN;
	o.io_hooks = hooks;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	return ctx;
}

static s3i_ctx *begin(s3i_svc *svc)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	s3i_ctx *ctx = make_ctx(NULL);
	svc->client = s3i_ctx_client(ctx);
	svc->creds = NULL;
	svc->region = NULL;
	return ctx;
}

/* A /_fault rule answering the CloudFormation query action `action` with an XML body. */
static void add_fault(const char *action, int status, int count, const char *body)
{
	s3i_buf rule;
	s3i_buf_init(&rule, NULL);
	s3i_json_writer w;
	s3i_jw_init(&w, &rule);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "service");
	s3i_jw_str(&w, "cloudformation");
	s3i_jw_key(&w, "action");
	s3i_jw_str(&w, action);
	s3i_jw_key(&w, "status");
	s3i_jw_i64(&w, status);
	s3i_jw_key(&w, "count");
	s3i_jw_i64(&w, count);
	s3i_jw_key(&w, "content_type");
	s3i_jw_str(&w, "text/xml");
	s3i_jw_key(&w, "body");
	s3i_jw_str(&w, body);
	s3i_jw_obj_close(&w);
	assert_int_equal(s3i_jw_finish(&w), S3I_OK);
	assert_int_equal(s3i_moto_add_fault(moto, rule.ptr), 0);
	s3i_buf_dispose(&rule);
}

/* ---- moto's recorder ---- */

/* The decoded form bodies of the recorded calls holding "Action=<action>&", one per line. */
static char *recorder_bodies(const char *action)
{
	s3i_check_moto_post(moto, "/moto-api/recorder/stop-recording", "");
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/moto-api/recorder/download-recording", NULL,
		NULL, &out, &status), 0);
	assert_int_equal(status, 200);
	char want[120];
	snprintf(want, sizeof(want), "Action=%s&", action);
	s3i_buf all;
	s3i_buf_init(&all, NULL);
	for (char *line = out; line && *line;) {
		char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		s3i_json doc = NULL;
		if (len && s3i_json_parse(&doc, line, len, "recording", NULL) == S3I_OK) {
			const char *body = s3i_json_str(s3i_json_get(doc, "body"));
			s3i_buf dec;
			s3i_buf_init(&dec, NULL);
			if (body && s3i_json_bool(s3i_json_get(doc, "body_encoded"), 0))
				assert_int_equal(s3i_base64_decode(&dec, body, strlen(body)), S3I_OK);
			else if (body)
				assert_int_equal(s3i_buf_puts(&dec, body), S3I_OK);
			if (dec.ptr && strstr(dec.ptr, want)) {
				assert_int_equal(s3i_buf_put(&all, dec.ptr, dec.size), S3I_OK);
				assert_int_equal(s3i_buf_putc(&all, '\n'), S3I_OK);
			}
			s3i_buf_dispose(&dec);
		}
		s3i_json_free(doc);
		line = eol ? eol + 1 : NULL;
	}
	free(out);
	char *r = strdup(all.ptr ? all.ptr : "");
	s3i_buf_dispose(&all);
	return r;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* A raw CloudFormation query call around the library; the answer's body. */
static char *raw_call(const char *form, const char *region)
{
	s3i_moto_req req = { .method = "POST", .path = "/", .service = "cloudformation",
		.region = region, .content_type = "application/x-www-form-urlencoded", .body = form };
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &req, &out, &status), 0);
	return out;
}

/* ---- stacks ---- */

static const char *TEMPLATE =
	"{\"AWSTemplateFormatVersion\":\"2010-09-09\","
	"\"Parameters\":{\"TopicName\":{\"Type\":\"String\"}},"
	"\"Resources\":{\"Topic\":{\"Type\":\"AWS::SNS::Topic\","
	"\"Properties\":{\"TopicName\":{\"Ref\":\"TopicName\"}}}},"
	"\"Outputs\":{\"TopicArn\":{\"Description\":\"the inventory topic\","
	"\"Value\":{\"Ref\":\"Topic\"},\"Export\":{\"Name\":{\"Fn::Sub\":\"${AWS::StackName}-topic\"}}},"
	"\"TopicName\":{\"Value\":{\"Fn::GetAtt\":[\"Topic\",\"TopicName\"]}}}}";

static void create(const s3i_svc *svc, const char *name, const char *topic, char *id)
{
	s3i_cfn_kv params[] = { { "TopicName", topic } };
	s3i_cfn_kv tags[] = { { "s3insights", "run-1" }, { "owner", "data team" } };
	s3i_cfn_create_stack req = { .stack_name = name, .template_body = TEMPLATE,
		.parameters = params, .nparameters = 1, .tags = tags, .ntags = 2,
		.capabilities = S3I_CFN_CAPABILITY_IAM | S3I_CFN_CAPABILITY_NAMED_IAM };
	CHECK_OK(s3i_cfn_create_stack_op(svc, &req, id, NULL));
}

typedef struct evlist {
	char logical[32][64];
	char status[32][40];
	char type[32][64];
	char reason[32][160];
	int64_t ts[32];
	size_t n;
} evlist;

static int on_event(void *payload, const s3i_cfn_event *ev)
{
	evlist *s = payload;
	assert_true(s->n < 32);
	snprintf(s->logical[s->n], sizeof(s->logical[0]), "%s", ev->logical_id);
	snprintf(s->status[s->n], sizeof(s->status[0]), "%s", ev->status);
	snprintf(s->type[s->n], sizeof(s->type[0]), "%s", ev->resource_type);
	snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s", ev->status_reason);
	s->ts[s->n] = ev->timestamp_ms;
	s->n++;
	return 0;
}

static void test_create_describe_events_delete(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_check_recorder_start(moto);
	char id[S3I_CFN_STACK_ID_SIZE];
	create(&svc, "s3i-inventory-us-east-1", "s3i-inventory", id);
	assert_true(s3i_str_startswith(id, "arn:aws:cloudformation:us-east-1:" HOME
		":stack/s3i-inventory-us-east-1/"));
	char *calls = recorder_bodies("CreateStack");
	assert_int_equal(count_lines(calls), 1);
	const char *sent[] = { "StackName=s3i-inventory-us-east-1",
		"Parameters.member.1.ParameterKey=TopicName",
		"Parameters.member.1.ParameterValue=s3i-inventory", "Tags.member.1.Key=s3insights",
		"Tags.member.2.Value=data+team", "Capabilities.member.1=CAPABILITY_IAM",
		"Capabilities.member.2=CAPABILITY_NAMED_IAM", "TemplateBody=%7B%22AWSTemplate", NULL };
	for (const char *const *s = sent; *s; s++)
		if (!strstr(calls, *s))
			fail_msg("CreateStack did not send %s: %s", *s, calls);
	free(calls);

	/* moto creates synchronously: the waiter's first look finds it complete */
	s3i_cfn_stack st;
	s3i_cfn_stack_init(&st, s3i_test_alloc());
	CHECK_OK(s3i_cfn_wait_create_complete(&svc, "s3i-inventory-us-east-1", 60000, &st, NULL));
	assert_string_equal(st.status, "CREATE_COMPLETE");
	assert_string_equal(st.id, id);
	assert_string_equal(s3i_cfn_stack_output(&st, "TopicArn"),
		"arn:aws:sns:us-east-1:" HOME ":s3i-inventory");
	assert_string_equal(s3i_cfn_stack_output(&st, "TopicName"), "s3i-inventory");
	for (size_t i = 0; i < st.noutputs; i++)
		if (!strcmp(st.outputs[i].key, "TopicArn")) {
			assert_string_equal(st.outputs[i].description, "the inventory topic");
			assert_string_equal(st.outputs[i].export_name, "s3i-inventory-us-east-1-topic");
		}
	assert_true(st.created_ms > 1500000000000LL);
	/* by id too */
	CHECK_OK(s3i_cfn_describe_stack_op(&svc, id, &st, NULL));
	assert_string_equal(st.name, "s3i-inventory-us-east-1");
	assert_int_equal(st.noutputs, 2);
	/* the tags arrived (read around the library) */
	char *raw = raw_call("Action=DescribeStacks&Version=2010-05-15&StackName="
		"s3i-inventory-us-east-1", NULL);
	assert_non_null(strstr(raw, "<Key>owner</Key><Value>data team</Value>"));
	free(raw);

	/* events: the stack's own, newest first */
	static evlist ev;
	memset(&ev, 0, sizeof(ev));
	s3i_cfn_events_progress progress;
	CHECK_OK(s3i_cfn_describe_stack_events_op(&svc, "s3i-inventory-us-east-1", NULL, on_event,
		&ev, &progress, NULL));
	assert_int_equal(ev.n, 2);
	assert_int_equal(progress.events, 2);
	assert_int_equal(progress.pages, 1);
	assert_string_equal(progress.next_token, "");
	assert_string_equal(ev.status[0], "CREATE_COMPLETE");
	assert_string_equal(ev.status[1], "CREATE_IN_PROGRESS");
	assert_string_equal(ev.logical[1], "s3i-inventory-us-east-1");
	assert_string_equal(ev.type[1], "AWS::CloudFormation::Stack");
	assert_true(ev.ts[0] >= ev.ts[1] && ev.ts[1] > 0);

	/* delete, wait, and it is gone by name; by id it is DELETE_COMPLETE */
	CHECK_OK(s3i_cfn_delete_stack_op(&svc, "s3i-inventory-us-east-1", NULL));
	CHECK_OK(s3i_cfn_wait_delete_complete(&svc, "s3i-inventory-us-east-1", 60000, NULL));
	int rc = s3i_cfn_describe_stack_op(&svc, "s3i-inventory-us-east-1", &st, NULL);
	const char *m[] = { "DescribeStacks: stack 's3i-inventory-us-east-1' does not exist",
		"Stack with id s3i-inventory-us-east-1 does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "ValidationError", m);
	assert_string_equal(s3i_error_last()->resource, "stack 's3i-inventory-us-east-1'");
	CHECK_OK(s3i_cfn_describe_stack_op(&svc, id, &st, NULL));
	assert_string_equal(st.status, "DELETE_COMPLETE");
	CHECK_OK(s3i_cfn_wait_delete_complete(&svc, id, 60000, NULL));
	/* deleting and waiting again is harmless (teardown runs any number of times) */
	CHECK_OK(s3i_cfn_delete_stack_op(&svc, "s3i-inventory-us-east-1", NULL));
	CHECK_OK(s3i_cfn_wait_delete_complete(&svc, "s3i-inventory-us-east-1", 60000, NULL));
	s3i_cfn_stack_free(&st);
	s3i_ctx_release(ctx);
}

static void test_errors_name_the_stack(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char id[S3I_CFN_STACK_ID_SIZE];
	create(&svc, "dup", "dup-topic", id);
	s3i_cfn_create_stack req = { .stack_name = "dup", .template_body = TEMPLATE };
	int rc = s3i_cfn_create_stack_op(&svc, &req, id, NULL);
	const char *m[] = { "CreateStack: stack 'dup' already exists", "Stack dup already exists",
		NULL };
	s3i_check_expect_error(rc, S3I_EEXISTS, "AlreadyExistsException", m);
	assert_string_equal(s3i_error_last()->resource, "stack 'dup'");
	assert_string_equal(id, "");

	s3i_cfn_stack st;
	s3i_cfn_stack_init(&st, s3i_test_alloc());
	rc = s3i_cfn_describe_stack_op(&svc, "missing", &st, NULL);
	const char *m2[] = { "stack 'missing' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "ValidationError", m2);
	rc = s3i_cfn_describe_stack_events_op(&svc, "missing", NULL, on_event, NULL, NULL, NULL);
	const char *m3[] = { "DescribeStackEvents: stack 'missing' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "ValidationError", m3);
	rc = s3i_cfn_wait_create_complete(&svc, "missing", 60000, &st, NULL);
	const char *m4[] = { "waiting for CREATE_COMPLETE: DescribeStacks: stack 'missing' does "
		"not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, m4);
	CHECK_OK(s3i_cfn_delete_stack_op(&svc, "missing", NULL));
	CHECK_OK(s3i_cfn_wait_delete_complete(&svc, "missing", 60000, NULL));
	/* waiting for the deletion of a stack nobody deletes stops at once */
	rc = s3i_cfn_wait_delete_complete(&svc, "dup", 60000, NULL);
	const char *m5[] = { "waiting for DELETE_COMPLETE of stack 'dup': the stack is "
		"CREATE_COMPLETE, not being deleted", NULL };
	s3i_check_expect_error(rc, S3I_EAWS, NULL, m5);

	/* templates CloudFormation refuses, as AWS answers */
	add_fault("CreateStack", 400, 1, "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/"
		"doc/2010-05-15/\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Template "
		"format error: Unresolved resource dependencies [Queue] in the Resources block of the "
		"template</Message></Error><RequestId>a1</RequestId></ErrorResponse>");
	req.stack_name = "refused";
	rc = s3i_cfn_create_stack_op(&svc, &req, id, NULL);
	const char *m6[] = { "CreateStack of stack 'refused' was refused", "Template format error",
		NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "ValidationError", m6);
	add_fault("CreateStack", 400, 1, "<ErrorResponse><Error><Type>Sender</Type><Code>"
		"InsufficientCapabilitiesException</Code><Message>Requires capabilities : "
		"[CAPABILITY_NAMED_IAM]</Message></Error><RequestId>a2</RequestId></ErrorResponse>");
	rc = s3i_cfn_create_stack_op(&svc, &req, id, NULL);
	const char *m7[] = { "stack 'refused'", "Requires capabilities : [CAPABILITY_NAMED_IAM]",
		NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "InsufficientCapabilitiesException", m7);
	s3i_check_faults_used(moto);

	/* refused before any call */
	const char *names[] = { "", "1abc", "has_underscore", "a b",
		"a123456789012345678901234567890123456789012345678901234567890123456789012345678901234"
		"5678901234567890123456789012345678901234567890" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		req.stack_name = names[i];
		assert_int_equal(s3i_cfn_create_stack_op(&svc, &req, id, NULL), S3I_EINVALID);
	}
	req.stack_name = "ok";
	req.template_body = "";
	assert_int_equal(s3i_cfn_create_stack_op(&svc, &req, id, NULL), S3I_EINVALID);
	req.template_body = TEMPLATE;
	s3i_cfn_kv tag = { "k", "" };
	req.tags = &tag;
	req.ntags = 1;
	assert_int_equal(s3i_cfn_create_stack_op(&svc, &req, id, NULL), S3I_EINVALID);
	req.ntags = 51;
	assert_int_equal(s3i_cfn_create_stack_op(&svc, &req, id, NULL), S3I_EINVALID);
	req.ntags = 0;
	req.capabilities = 8;
	assert_int_equal(s3i_cfn_create_stack_op(&svc, &req, id, NULL), S3I_EINVALID);
	assert_int_equal(s3i_cfn_describe_stack_op(&svc, "a\nb", &st, NULL), S3I_EINVALID);
	assert_int_equal(s3i_cfn_wait_create_complete(&svc, "dup", 0, NULL, NULL), S3I_EINVALID);
	s3i_cfn_stack_free(&st);
	s3i_ctx_release(ctx);
}

/* ---- events across pages ---- */

static const char *EVENTS_PAGE_1 =
	"<DescribeStackEventsResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">"
	"<DescribeStackEventsResult><StackEvents>"
	"<member><EventId>n2</EventId><StackName>paged</StackName><LogicalResourceId>Queue"
	"</LogicalResourceId><ResourceType>AWS::SQS::Queue</ResourceType><Timestamp>"
	"2030-01-01T00:00:02Z</Timestamp><ResourceStatus>UPDATE_COMPLETE</ResourceStatus></member>"
	"<member><EventId>n1</EventId><StackName>paged</StackName><LogicalResourceId>Queue"
	"</LogicalResourceId><ResourceType>AWS::SQS::Queue</ResourceType><Timestamp>"
	"2030-01-01T00:00:01Z</Timestamp><ResourceStatus>UPDATE_IN_PROGRESS</ResourceStatus>"
	"<ResourceStatusReason>Requested update</ResourceStatusReason></member>"
	"</StackEvents><NextToken>page-2-of-paged</NextToken></DescribeStackEventsResult>"
	"<ResponseMetadata><RequestId>p1</RequestId></ResponseMetadata>"
	"</DescribeStackEventsResponse>";

static void test_stack_events_across_pages(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char id[S3I_CFN_STACK_ID_SIZE];
	create(&svc, "paged", "paged-topic", id);
	/* moto answers in one page: the first comes from /_fault, its continuation from moto */
	add_fault("DescribeStackEvents", 200, 1, EVENTS_PAGE_1);
	s3i_check_recorder_start(moto);
	static evlist ev;
	memset(&ev, 0, sizeof(ev));
	s3i_cfn_events_progress progress;
	CHECK_OK(s3i_cfn_describe_stack_events_op(&svc, "paged", NULL, on_event, &ev, &progress,
		NULL));
	assert_int_equal(ev.n, 4);
	assert_int_equal(progress.pages, 2);
	assert_int_equal(progress.events, 4);
	assert_string_equal(ev.logical[0], "Queue");
	assert_string_equal(ev.reason[1], "Requested update");
	assert_string_equal(ev.status[2], "CREATE_COMPLETE");
	assert_string_equal(ev.logical[3], "paged");
	s3i_check_faults_used(moto);
	char *calls = recorder_bodies("DescribeStackEvents");
	assert_int_equal(count_lines(calls), 1);
	assert_non_null(strstr(calls, "NextToken=page-2-of-paged"));
	assert_non_null(strstr(calls, "StackName=paged"));
	free(calls);

	/* one page, then resume from where it stopped */
	add_fault("DescribeStackEvents", 200, 1, EVENTS_PAGE_1);
	memset(&ev, 0, sizeof(ev));
	s3i_cfn_events_opts opts = { .max_pages = 1 };
	CHECK_OK(s3i_cfn_describe_stack_events_op(&svc, "paged", &opts, on_event, &ev, &progress,
		NULL));
	assert_int_equal(ev.n, 2);
	assert_string_equal(progress.next_token, "page-2-of-paged");
	char resume[S3I_CFN_TOKEN_SIZE];
	snprintf(resume, sizeof(resume), "%s", progress.next_token);
	opts = (s3i_cfn_events_opts){ .next_token = resume };
	memset(&ev, 0, sizeof(ev));
	CHECK_OK(s3i_cfn_describe_stack_events_op(&svc, "paged", &opts, on_event, &ev, &progress,
		NULL));
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.status[0], "CREATE_COMPLETE");
	assert_string_equal(progress.next_token, "");
	s3i_ctx_release(ctx);
}

/* ---- waiters: failures as AWS reports them ---- */

#define STACK "s3i-inventory-us-east-1"
#define STACK_ID "arn:aws:cloudformation:us-east-1:" HOME ":stack/" STACK \
	"/5e1f2a40-07b1-11ef-9c4c-0affd3b1c2d5"

static char *describe_answer(const char *status, const char *reason)
{
	s3i_buf b;
	s3i_buf_init(&b, NULL);
	assert_int_equal(s3i_buf_printf(&b, "<DescribeStacksResponse xmlns=\"http://cloudformation."
		"amazonaws.com/doc/2010-05-15/\"><DescribeStacksResult><Stacks><member><StackName>" STACK
		"</StackName><StackId>" STACK_ID "</StackId><CreationTime>2024-05-01T10:00:00.123Z"
		"</CreationTime><StackStatus>%s</StackStatus>%s%s%s<DisableRollback>false"
		"</DisableRollback></member></Stacks></DescribeStacksResult><ResponseMetadata>"
		"<RequestId>3d4f3b3a-07b1-11ef-8b0a-example</RequestId></ResponseMetadata>"
		"</DescribeStacksResponse>", status, reason ? "<StackStatusReason>" : "",
		reason ? reason : "", reason ? "</StackStatusReason>" : ""), S3I_OK);
	char *r = strdup(s3i_buf_cstr(&b));   /* free()d by the test */
	s3i_buf_dispose(&b);
	return r;
}

static void event_xml(s3i_buf *b, const char *id, const char *logical, const char *type,
	const char *ts, const char *status, const char *reason)
{
	assert_int_equal(s3i_buf_printf(b, "<member><EventId>%s</EventId><StackId>" STACK_ID
		"</StackId><StackName>" STACK "</StackName><LogicalResourceId>%s</LogicalResourceId>"
		"<PhysicalResourceId></PhysicalResourceId><ResourceType>%s</ResourceType><Timestamp>%s"
		"</Timestamp><ResourceStatus>%s</ResourceStatus>%s%s%s</member>", id, logical, type, ts,
		status, reason ? "<ResourceStatusReason>" : "", reason ? reason : "",
		reason ? "</ResourceStatusReason>" : ""), S3I_OK);
}

static char *events_answer(const char *token, int part)
{
	s3i_buf b;
	s3i_buf_init(&b, NULL);
	assert_int_equal(s3i_buf_puts(&b, "<DescribeStackEventsResponse xmlns=\"http://cloudformation."
		"amazonaws.com/doc/2010-05-15/\"><DescribeStackEventsResult><StackEvents>"), S3I_OK);
	if (part & 1) {
		event_xml(&b, "e7", STACK, "AWS::CloudFormation::Stack", "2024-05-01T10:00:09.512Z",
			"ROLLBACK_COMPLETE", NULL);
		event_xml(&b, "e6", "Topic", "AWS::SNS::Topic", "2024-05-01T10:00:08.844Z",
			"DELETE_COMPLETE", NULL);
		event_xml(&b, "e5", STACK, "AWS::CloudFormation::Stack", "2024-05-01T10:00:07.201Z",
			"ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: "
			"[StagingBucket, Topic]. Rollback requested by user.");
		event_xml(&b, "e4", "Topic", "AWS::SNS::Topic", "2024-05-01T10:00:06.930Z",
			"CREATE_FAILED", "Resource creation cancelled");
	}
	if (part & 2) {
		event_xml(&b, "e3", "StagingBucket", "AWS::S3::Bucket", "2024-05-01T10:00:06.412Z",
			"CREATE_FAILED", "s3i-staging-123456789012-us-east-1 already exists");
		event_xml(&b, "e2", "StagingBucket", "AWS::S3::Bucket", "2024-05-01T10:00:02.118Z",
			"CREATE_IN_PROGRESS", NULL);
		event_xml(&b, "e1", STACK, "AWS::CloudFormation::Stack", "2024-05-01T10:00:00.123Z",
			"CREATE_IN_PROGRESS", "User Initiated");
		/* older than the creation: never read */
		event_xml(&b, "e0", "Ancient", "AWS::S3::Bucket", "2024-04-01T10:00:00Z",
			"CREATE_FAILED", "from an earlier stack of that name");
	}
	assert_int_equal(s3i_buf_printf(&b, "</StackEvents>%s%s%s</DescribeStackEventsResult>"
		"<ResponseMetadata><RequestId>9a8b7c6d-07b1-11ef-bf3e-example</RequestId>"
		"</ResponseMetadata></DescribeStackEventsResponse>", token ? "<NextToken>" : "",
		token ? token : "", token ? "</NextToken>" : ""), S3I_OK);
	char *r = strdup(s3i_buf_cstr(&b));   /* free()d by the test */
	s3i_buf_dispose(&b);
	return r;
}

static void test_create_waiter_names_first_failing_resource(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char *stacks = describe_answer("ROLLBACK_COMPLETE", "The following resource(s) failed to "
		"create: [StagingBucket, Topic]. Rollback requested by user.");
	char *events = events_answer(NULL, 3);
	add_fault("DescribeStacks", 200, 1, stacks);
	add_fault("DescribeStackEvents", 200, 1, events);
	s3i_cfn_stack st;
	s3i_cfn_stack_init(&st, s3i_test_alloc());
	int rc = s3i_cfn_wait_create_complete(&svc, STACK, 60000, &st, NULL);
	const char *m[] = { "waiting for CREATE_COMPLETE of stack '" STACK "'",
		"the stack is ROLLBACK_COMPLETE (The following resource(s) failed to create: "
		"[StagingBucket, Topic]. Rollback requested by user.)",
		"first failing resource: StagingBucket (AWS::S3::Bucket) CREATE_FAILED: "
		"s3i-staging-123456789012-us-east-1 already exists", NULL };
	s3i_check_expect_error(rc, S3I_EAWS, NULL, m);
	fprintf(stderr, "  the waiter reports: %s\n", s3i_error_last()->message);
	assert_string_equal(s3i_error_last()->resource, "stack '" STACK "'");
	assert_null(strstr(s3i_error_last()->message, "Resource creation cancelled"));
	assert_null(strstr(s3i_error_last()->message, "Ancient"));
	assert_string_equal(st.status, "ROLLBACK_COMPLETE");
	s3i_check_faults_used(moto);
	free(stacks);
	free(events);

	/* the rollback under way already counts; the failing resource is on the second page */
	stacks = describe_answer("ROLLBACK_IN_PROGRESS", NULL);
	char *page1 = events_answer("more-events", 1);
	char *page2 = events_answer(NULL, 2);
	add_fault("DescribeStacks", 200, 1, stacks);
	add_fault("DescribeStackEvents", 200, 1, page1);
	add_fault("DescribeStackEvents", 200, 1, page2);
	rc = s3i_cfn_wait_create_complete(&svc, STACK, 60000, NULL, NULL);
	const char *m2[] = { "the stack is ROLLBACK_IN_PROGRESS;", "StagingBucket (AWS::S3::Bucket) "
		"CREATE_FAILED: s3i-staging-123456789012-us-east-1 already exists", NULL };
	s3i_check_expect_error(rc, S3I_EAWS, NULL, m2);
	s3i_check_faults_used(moto);
	free(stacks);
	free(page1);
	free(page2);

	/* events that cannot be read still leave a report naming the stack and its status */
	stacks = describe_answer("CREATE_FAILED", "Template error: resource Topic not found");
	add_fault("DescribeStacks", 200, 1, stacks);
	add_fault("DescribeStackEvents", 403, 1, "<ErrorResponse><Error><Type>Sender</Type><Code>"
		"AccessDenied</Code><Message>User is not authorized to perform: "
		"cloudformation:DescribeStackEvents</Message></Error><RequestId>d</RequestId>"
		"</ErrorResponse>");
	rc = s3i_cfn_wait_create_complete(&svc, STACK, 60000, NULL, NULL);
	const char *m3[] = { "the stack is CREATE_FAILED (Template error: resource Topic not found)",
		"its events could not be read", NULL };
	s3i_check_expect_error(rc, S3I_EAWS, NULL, m3);
	s3i_check_faults_used(moto);
	free(stacks);
	s3i_cfn_stack_free(&st);
	s3i_ctx_release(ctx);
}

static void test_delete_waiter_names_failing_resource(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char *stacks = describe_answer("DELETE_FAILED", "The following resource(s) failed to delete: "
		"[StagingBucket]. ");
	s3i_buf ev;
	s3i_buf_init(&ev, NULL);
	assert_int_equal(s3i_buf_puts(&ev, "<DescribeStackEventsResponse><DescribeStackEventsResult>"
		"<StackEvents>"), S3I_OK);
	event_xml(&ev, "d4", STACK, "AWS::CloudFormation::Stack", "2024-05-02T10:00:09Z",
		"DELETE_FAILED", "The following resource(s) failed to delete: [StagingBucket]. ");
	event_xml(&ev, "d3", "StagingBucket", "AWS::S3::Bucket", "2024-05-02T10:00:08Z",
		"DELETE_FAILED", "The bucket you tried to delete is not empty (Service: S3, Status Code: "
		"409, Request ID: 8Q6ZZ1)");
	event_xml(&ev, "d2", "Topic", "AWS::SNS::Topic", "2024-05-02T10:00:05Z", "DELETE_COMPLETE",
		NULL);
	event_xml(&ev, "d1", STACK, "AWS::CloudFormation::Stack", "2024-05-02T10:00:00Z",
		"DELETE_IN_PROGRESS", "User Initiated");
	event_xml(&ev, "c1", "StagingBucket", "AWS::S3::Bucket", "2024-05-01T10:00:00Z",
		"CREATE_FAILED", "from the creation, long before");
	assert_int_equal(s3i_buf_puts(&ev, "</StackEvents></DescribeStackEventsResult>"
		"</DescribeStackEventsResponse>"), S3I_OK);
	add_fault("DescribeStacks", 200, 1, stacks);
	add_fault("DescribeStackEvents", 200, 1, ev.ptr);
	int rc = s3i_cfn_wait_delete_complete(&svc, STACK, 60000, NULL);
	const char *m[] = { "waiting for DELETE_COMPLETE of stack '" STACK "': the stack is "
		"DELETE_FAILED", "first failing resource: StagingBucket (AWS::S3::Bucket) DELETE_FAILED: "
		"The bucket you tried to delete is not empty", NULL };
	s3i_check_expect_error(rc, S3I_EAWS, NULL, m);
	fprintf(stderr, "  the waiter reports: %s\n", s3i_error_last()->message);
	assert_null(strstr(s3i_error_last()->message, "from the creation"));
	s3i_check_faults_used(moto);
	s3i_buf_dispose(&ev);
	free(stacks);
	s3i_ctx_release(ctx);
}

/* ---- waiters: polling and the deadline ---- */

static void test_waiter_polls_and_stops_at_deadline(void **state)
{
	(void)state;
	assert_int_equal(s3i_moto_reset(moto), 0);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	fake_base_ms = (int64_t)now.tv_sec * 1000;
	fake_moved_ms = 0;
	nnaps = 0;
	s3i_ctx *ctx = make_ctx(&fake_clock);
	s3i_svc svc = { s3i_ctx_client(ctx), NULL, NULL };

	/* in progress twice, then moto's own answer: two naps, doubling */
	char id[S3I_CFN_STACK_ID_SIZE];
	create(&svc, "slow", "slow-topic", id);
	char *progress = describe_answer("CREATE_IN_PROGRESS", NULL);
	add_fault("DescribeStacks", 200, 2, progress);
	s3i_cfn_stack st;
	s3i_cfn_stack_init(&st, s3i_test_alloc());
	CHECK_OK(s3i_cfn_wait_create_complete(&svc, "slow", 60000, &st, NULL));
	assert_string_equal(st.status, "CREATE_COMPLETE");
	assert_string_equal(st.name, "slow");
	assert_int_equal(nnaps, 2);
	assert_true(naps[0] == 2000 && naps[1] == 4000);
	s3i_check_faults_used(moto);
	free(progress);

	/* moto leaves a stack whose resource failed in CREATE_IN_PROGRESS for good */
	s3i_moto_req mk = { .method = "PUT", .path = "/taken-bucket", .service = "s3" };
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &mk, NULL, &status), 0);
	assert_int_equal(status, 200);
	s3i_cfn_create_stack req = { .stack_name = "stuck", .template_body = "{\"Resources\":{"
		"\"B\":{\"Type\":\"AWS::S3::Bucket\",\"Properties\":{\"BucketName\":\"taken-bucket\"}}}}" };
	int rc = s3i_cfn_create_stack_op(&svc, &req, id, NULL);
	const char *m0[] = { "CreateStack on stack 'stuck'", NULL };
	s3i_check_expect_error(rc, S3I_EEXISTS, "BucketAlreadyExists", m0);
	nnaps = 0;
	fake_moved_ms = 0;
	rc = s3i_cfn_wait_create_complete(&svc, "stuck", 60000, &st, NULL);
	const char *m[] = { "waiting for CREATE_COMPLETE of stack 'stuck': the stack is still "
		"CREATE_IN_PROGRESS after 60000 ms", NULL };
	s3i_check_expect_error(rc, S3I_ETIMEOUT, NULL, m);
	assert_true(s3i_status_is_retryable(rc));
	assert_string_equal(st.status, "CREATE_IN_PROGRESS");
	/* 2, 4, 8, 15, 15, 15 s and the last second up to the deadline */
	const int64_t want[] = { 2000, 4000, 8000, 15000, 15000, 15000, 1000 };
	assert_int_equal(nnaps, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < nnaps; i++)
		assert_true(naps[i] == want[i]);
	s3i_cfn_stack_free(&st);
	s3i_ctx_release(ctx);
}

static void test_throttling_then_success(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	const char *throttled = "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/"
		"2010-05-15/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
		"</Message></Error><RequestId>t1</RequestId></ErrorResponse>";
	add_fault("CreateStack", 400, 1, throttled);
	char id[S3I_CFN_STACK_ID_SIZE];
	create(&svc, "throttled", "throttled-topic", id);
	add_fault("DescribeStacks", 400, 2, throttled);
	s3i_cfn_stack st;
	s3i_cfn_stack_init(&st, s3i_test_alloc());
	CHECK_OK(s3i_cfn_wait_create_complete(&svc, "throttled", 60000, &st, NULL));
	assert_string_equal(st.status, "CREATE_COMPLETE");
	s3i_check_faults_used(moto);
	/* throttled for good: S3I_ETHROTTLED naming the stack */
	add_fault("DescribeStacks", 400, -1, throttled);
	int rc = s3i_cfn_describe_stack_op(&svc, "throttled", &st, NULL);
	const char *m[] = { "DescribeStacks on stack 'throttled'", "Rate exceeded", NULL };
	s3i_check_expect_error(rc, S3I_ETHROTTLED, "Throttling", m);
	s3i_moto_clear_faults(moto);
	/* an answer of the wrong shape */
	add_fault("DescribeStacks", 200, 1, "<DescribeStacksResponse><DescribeStacksResult><Stacks>"
		"<member><StackName>throttled</StackName></member></Stacks></DescribeStacksResult>"
		"</DescribeStacksResponse>");
	rc = s3i_cfn_describe_stack_op(&svc, "throttled", &st, NULL);
	const char *m2[] = { "the stack has no StackStatus", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m2);
	s3i_cfn_stack_free(&st);
	s3i_ctx_release(ctx);
}

/* ---- regions and accounts ---- */

static void test_stack_in_another_region(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_svc eu = { svc.client, NULL, "eu-west-1" };
	char id[S3I_CFN_STACK_ID_SIZE];
	create(&eu, "s3i-inventory-eu-west-1", "eu-topic", id);
	assert_true(s3i_str_startswith(id, "arn:aws:cloudformation:eu-west-1:" HOME ":stack/"));
	s3i_cfn_stack st;
	s3i_cfn_stack_init(&st, s3i_test_alloc());
	CHECK_OK(s3i_cfn_wait_create_complete(&eu, "s3i-inventory-eu-west-1", 60000, &st, NULL));
	assert_string_equal(s3i_cfn_stack_output(&st, "TopicArn"),
		"arn:aws:sns:eu-west-1:" HOME ":eu-topic");
	assert_int_equal(s3i_cfn_describe_stack_op(&svc, "s3i-inventory-eu-west-1", &st, NULL),
		S3I_ENOTFOUND);
	CHECK_OK(s3i_cfn_delete_stack_op(&eu, "s3i-inventory-eu-west-1", NULL));
	CHECK_OK(s3i_cfn_wait_delete_complete(&eu, "s3i-inventory-eu-west-1", 60000, NULL));
	s3i_cfn_stack_free(&st);
	s3i_ctx_release(ctx);
}

static void test_second_account_through_assume_role(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_sts_role_cache *cache = NULL;
	CHECK_OK(s3i_sts_role_cache_new_ctx(&cache, ctx, NULL));
	char arn[S3I_STS_ARN_SIZE];
	CHECK_OK(s3i_sts_role_arn(arn, sizeof(arn), NULL, OTHER, "s3insights-deploy", NULL));
	s3i_sts_role role = { arn, "s3i-cfn", "ext-42", 0 };
	s3i_credprov *p = NULL;
	CHECK_OK(s3i_sts_role_cache_get(cache, &role, &p, NULL));
	s3i_svc other = { svc.client, p, NULL };
	s3i_sts_identity who;
	CHECK_OK(s3i_sts_get_caller_identity_op(&other, &who, NULL));
	assert_string_equal(who.account, OTHER);

	char id[S3I_CFN_STACK_ID_SIZE];
	create(&other, "member-stack", "member-topic", id);
	assert_true(s3i_str_startswith(id, "arn:aws:cloudformation:us-east-1:" OTHER ":stack/"
		"member-stack/"));
	s3i_cfn_stack st;
	s3i_cfn_stack_init(&st, s3i_test_alloc());
	CHECK_OK(s3i_cfn_wait_create_complete(&other, "member-stack", 60000, &st, NULL));
	assert_string_equal(s3i_cfn_stack_output(&st, "TopicArn"),
		"arn:aws:sns:us-east-1:" OTHER ":member-topic");
	/* the home account has no such stack */
	int rc = s3i_cfn_describe_stack_op(&svc, "member-stack", &st, NULL);
	const char *m[] = { "stack 'member-stack' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, m);
	static evlist ev;
	memset(&ev, 0, sizeof(ev));
	CHECK_OK(s3i_cfn_describe_stack_events_op(&other, "member-stack", NULL, on_event, &ev, NULL,
		NULL));
	assert_int_equal(ev.n, 2);
	CHECK_OK(s3i_cfn_delete_stack_op(&other, "member-stack", NULL));
	CHECK_OK(s3i_cfn_wait_delete_complete(&other, "member-stack", 60000, NULL));
	assert_int_equal(s3i_cfn_describe_stack_op(&other, "member-stack", &st, NULL), S3I_ENOTFOUND);
	s3i_cfn_stack_free(&st);
	s3i_credprov_release(p);
	s3i_sts_role_cache_free(cache);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_create_describe_events_delete),
		S3I_TEST(test_errors_name_the_stack),
		S3I_TEST(test_stack_events_across_pages),
		S3I_TEST(test_create_waiter_names_first_failing_resource),
		S3I_TEST(test_delete_waiter_names_failing_resource),
		S3I_TEST(test_waiter_polls_and_stops_at_deadline),
		S3I_TEST(test_throttling_then_success),
		S3I_TEST(test_stack_in_another_region),
		S3I_TEST(test_second_account_through_assume_role),
	};
	return cmocka_run_group_tests_name("cloudformation", tests, group_setup, group_teardown);
}
