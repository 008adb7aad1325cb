/* The CloudFormation, STS and Organizations response parsers and helpers
 * (src/services/cloudformation.c, sts.c, organizations.c): AWS's documented shapes and moto's,
 * strictness (a bad document hands nothing over), the waiters' reading of stack statuses, the
 * search for the first failing resource, role ARNs and partitions. Every allocation goes
 * through the counting allocator. */
#include "test_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "services/cloudformation.h"
#include "services/organizations.h"
#include "services/sts.h"

#define STACK_ARN "arn:aws:cloudformation:us-east-1:123456789:stack/MyStack/" \
	"aaf549a0-a413-11df-adb3-5081b3858e83"

/* ------------------------------------------------------------------ CreateStack */

static void test_create_stack_shapes(void **state)
{
	(void)state;
	char id[S3I_CFN_STACK_ID_SIZE];
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	/* moto's answer */
	const char *moto = "<CreateStackResponse xmlns=\"http://cloudformation.amazonaws.com/doc/"
		"2010-05-15/\"><CreateStackResult><StackId>arn:aws:cloudformation:us-east-1:123456789012:"
		"stack/s1/8ff5a2e3-16f3-4f9e-a21d-6991869b2fbb</StackId></CreateStackResult>"
		"<ResponseMetadata><RequestId>lU1I</RequestId></ResponseMetadata></CreateStackResponse>";
	assert_int_equal(s3i_cfn_create_stack_parse(moto, strlen(moto), id, sizeof(id), &e), S3I_OK);
	assert_string_equal(id, "arn:aws:cloudformation:us-east-1:123456789012:stack/s1/"
		"8ff5a2e3-16f3-4f9e-a21d-6991869b2fbb");
	/* AWS's documented one, indented */
	const char *aws = "<CreateStackResponse>\n  <CreateStackResult>\n    <StackId>" STACK_ARN
		"</StackId>\n  </CreateStackResult>\n</CreateStackResponse>\n";
	assert_int_equal(s3i_cfn_create_stack_parse(aws, strlen(aws), id, sizeof(id), &e), S3I_OK);
	assert_string_equal(id, STACK_ARN);
	/* the id does not fit */
	char small[16];
	assert_int_equal(s3i_cfn_create_stack_parse(aws, strlen(aws), small, sizeof(small), &e),
		S3I_EPARSE);
	assert_string_equal(small, "");
	assert_non_null(strstr(e.message, "StackId must have 1 to 15 characters"));
	/* no StackId, another document, not XML, empty */
	const char *bad[] = {
		"<CreateStackResponse><CreateStackResult/></CreateStackResponse>",
		"<DescribeStacksResponse/>",
		"<CreateStackResponse><CreateStackResult><StackId>a b</StackId></CreateStackResult>"
			"</CreateStackResponse>",
		"<CreateStackResponse><CreateStackResult><StackId>x</StackId><StackId>y</StackId>"
			"</CreateStackResult></CreateStackResponse>",
		"not xml", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(id, "stale");
		s3i_errinfo_init(&e);
		int rc = s3i_cfn_create_stack_parse(bad[i], strlen(bad[i]), id, sizeof(id), &e);
		assert_int_equal(rc, S3I_EPARSE);
		assert_int_equal(e.pub.code, S3I_EPARSE);
		assert_string_equal(id, "");
		assert_null(strchr(e.message, '\n'));
	}
}

/* ------------------------------------------------------------------ DescribeStacks */

static const char *AWS_DESCRIBE =
	"<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\n"
	"  <DescribeStacksResult>\n    <Stacks>\n      <member>\n"
	"        <StackName>MyStack</StackName>\n"
	"        <StackId>" STACK_ARN "</StackId>\n"
	"        <CreationTime>2010-07-27T22:28:28Z</CreationTime>\n"
	"        <StackStatus>CREATE_COMPLETE</StackStatus>\n"
	"        <DisableRollback>false</DisableRollback>\n"
	"        <Outputs>\n          <member>\n            <OutputKey>StartPage</OutputKey>\n"
	"            <OutputValue>http://my-load-balancer.amazonaws.com:80/index.html</OutputValue>\n"
	"          </member>\n        </Outputs>\n"
	"      </member>\n    </Stacks>\n  </DescribeStacksResult>\n"
	"  <ResponseMetadata>\n    <RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId>\n"
	"  </ResponseMetadata>\n</DescribeStacksResponse>\n";

static int describe(const char *xml, s3i_cfn_stack *st, size_t *n)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_cfn_describe_stacks_parse(xml, strlen(xml), "test describe", st, n, &e);
	if (rc) {
		assert_int_equal(e.pub.code, rc);
		assert_null(strchr(e.message, '\n'));
	}
	return rc;
}

static void test_describe_stacks_shapes(void **state)
{
	(void)state;
	s3i_cfn_stack st;
	s3i_cfn_stack_init(&st, s3i_test_alloc());
	size_t n = 9;
	assert_int_equal(describe(AWS_DESCRIBE, &st, &n), S3I_OK);
	assert_int_equal(n, 1);
	assert_string_equal(st.name, "MyStack");
	assert_string_equal(st.id, STACK_ARN);
	assert_string_equal(st.status, "CREATE_COMPLETE");
	assert_string_equal(st.status_reason, "");
	assert_true(st.created_ms == 1280269708000LL);
	assert_true(st.updated_ms == 0);
	assert_int_equal(st.noutputs, 1);
	assert_string_equal(st.outputs[0].key, "StartPage");
	assert_string_equal(st.outputs[0].description, "");
	assert_string_equal(s3i_cfn_stack_output(&st, "StartPage"),
		"http://my-load-balancer.amazonaws.com:80/index.html");
	assert_null(s3i_cfn_stack_output(&st, "Nope"));

	/* moto's: Parameters and Tags members are not outputs; description and export kept;
	 * reusing a description frees the last one */
	const char *moto = "<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/"
		"2010-05-15/\"><DescribeStacksResult><Stacks><member><StackId>arn:aws:cloudformation:"
		"us-east-1:123456789012:stack/s1/8ff5</StackId><StackName>s1</StackName><Parameters>"
		"<member><ParameterKey>P</ParameterKey><ParameterValue>v</ParameterValue></member>"
		"</Parameters><CreationTime>2026-12-04T05:10:31.453340Z</CreationTime><StackStatus>"
		"CREATE_COMPLETE</StackStatus><DisableRollback>false</DisableRollback><NotificationARNs/>"
		"<Outputs><member><OutputKey>TopicArn</OutputKey><OutputValue>arn:aws:sns:us-east-1:"
		"123456789012:t1</OutputValue><Description>the topic</Description><ExportName>x-topic"
		"</ExportName></member><member><OutputKey>Empty</OutputKey></member></Outputs><Tags>"
		"<member><Key>k</Key><Value>v</Value></member></Tags><EnableTerminationProtection>false"
		"</EnableTerminationProtection></member></Stacks></DescribeStacksResult>"
		"<ResponseMetadata><RequestId>Qg23</RequestId></ResponseMetadata>"
		"</DescribeStacksResponse>";
	assert_int_equal(describe(moto, &st, &n), S3I_OK);
	assert_string_equal(st.name, "s1");
	assert_int_equal(st.noutputs, 2);
	assert_string_equal(st.outputs[0].key, "TopicArn");
	assert_string_equal(st.outputs[0].value, "arn:aws:sns:us-east-1:123456789012:t1");
	assert_string_equal(st.outputs[0].description, "the topic");
	assert_string_equal(st.outputs[0].export_name, "x-topic");
	assert_string_equal(st.outputs[1].key, "Empty");
	assert_string_equal(s3i_cfn_stack_output(&st, "Empty"), "");
	assert_true(st.created_ms == 1796361031453LL);

	/* a rolled back stack with its reason; a second stack listed is counted, not read */
	const char *rolled = "<DescribeStacksResponse><DescribeStacksResult><Stacks><member>"
		"<StackName>inv</StackName><StackStatus>ROLLBACK_COMPLETE</StackStatus>"
		"<StackStatusReason>The following resource(s) failed to create: [StagingBucket]. "
		"Rollback requested by user.</StackStatusReason><CreationTime>2024-05-01T10:00:00.123Z"
		"</CreationTime><LastUpdatedTime>2024-05-01T10:01:00Z</LastUpdatedTime></member>"
		"<member><StackName>other</StackName><StackStatus>CREATE_COMPLETE</StackStatus>"
		"<Outputs><member><OutputKey>X</OutputKey></member></Outputs></member></Stacks>"
		"</DescribeStacksResult></DescribeStacksResponse>";
	assert_int_equal(describe(rolled, &st, &n), S3I_OK);
	assert_int_equal(n, 2);
	assert_string_equal(st.name, "inv");
	assert_string_equal(st.status, "ROLLBACK_COMPLETE");
	assert_string_equal(st.status_reason, "The following resource(s) failed to create: "
		"[StagingBucket]. Rollback requested by user.");
	assert_int_equal(st.noutputs, 0);
	assert_true(st.updated_ms > st.created_ms);

	/* no stack at all */
	const char *none = "<DescribeStacksResponse><DescribeStacksResult><Stacks/>"
		"</DescribeStacksResult></DescribeStacksResponse>";
	assert_int_equal(describe(none, &st, &n), S3I_OK);
	assert_int_equal(n, 0);
	assert_string_equal(st.name, "");
	s3i_cfn_stack_free(&st);
}

static void test_describe_stacks_bad_documents(void **state)
{
	(void)state;
	const char *bad[] = {
		/* no status, no name */
		"<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>a</StackName>"
			"</member></Stacks></DescribeStacksResult></DescribeStacksResponse>",
		"<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackStatus>"
			"CREATE_COMPLETE</StackStatus></member></Stacks></DescribeStacksResult>"
			"</DescribeStacksResponse>",
		/* a status that is not one */
		"<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>a</StackName>"
			"<StackStatus>create complete</StackStatus></member></Stacks></DescribeStacksResult>"
			"</DescribeStacksResponse>",
		/* a bad time */
		"<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>a</StackName>"
			"<StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>yesterday</CreationTime>"
			"</member></Stacks></DescribeStacksResult></DescribeStacksResponse>",
		/* an output without a key, after a good one */
		"<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>a</StackName>"
			"<StackStatus>CREATE_COMPLETE</StackStatus><Outputs><member><OutputKey>k</OutputKey>"
			"</member><member><OutputValue>v</OutputValue></member></Outputs></member></Stacks>"
			"</DescribeStacksResult></DescribeStacksResponse>",
		"<CreateStackResponse/>",
		"<DescribeStacksResponse><unclosed></DescribeStacksResponse>",
		"",
	};
	s3i_cfn_stack st;
	s3i_cfn_stack_init(&st, s3i_test_alloc());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = 7;
		assert_int_equal(describe(AWS_DESCRIBE, &st, &n), S3I_OK);
		assert_int_equal(describe(bad[i], &st, &n), S3I_EPARSE);
		/* nothing of the bad document, nor of the last good one, is left */
		assert_int_equal(n, 0);
		assert_string_equal(st.name, "");
		assert_string_equal(st.status, "");
		assert_int_equal(st.noutputs, 0);
		assert_null(st.outputs);
	}
	s3i_cfn_stack_free(&st);
	/* a stack id longer than its room is refused, a long reason is cut at a character */
	char xml[4096];
	char reason[1500];
	memset(reason, 'r', sizeof(reason) - 3);
	memcpy(reason + sizeof(reason) - 4, "\xc3\xa9", 2);   /* é across the cut */
	reason[sizeof(reason) - 2] = 0;
	snprintf(xml, sizeof(xml), "<DescribeStacksResponse><DescribeStacksResult><Stacks><member>"
		"<StackName>a</StackName><StackStatus>ROLLBACK_FAILED</StackStatus><StackStatusReason>%s"
		"</StackStatusReason></member></Stacks></DescribeStacksResult></DescribeStacksResponse>",
		reason);
	size_t n;
	s3i_cfn_stack_init(&st, s3i_test_alloc());
	assert_int_equal(describe(xml, &st, &n), S3I_OK);
	assert_int_equal(strlen(st.status_reason), S3I_CFN_REASON_SIZE - 1);
	s3i_cfn_stack_free(&st);
}

static void test_describe_stacks_out_of_memory(void **state)
{
	(void)state;
	int done = 0;
	for (long n = 0; !done && n < 50; n++) {
		s3i_cfn_stack st;
		s3i_cfn_stack_init(&st, s3i_test_alloc());
		size_t count = 0;
		s3i_test_alloc_fail_after(n);
		int rc = s3i_cfn_describe_stacks_parse(AWS_DESCRIBE, strlen(AWS_DESCRIBE), NULL, &st,
			&count, NULL);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK) {
			assert_int_equal(st.noutputs, 1);
			done = 1;
		} else {
			assert_int_equal(rc, S3I_ENOMEM);
			assert_int_equal(st.noutputs, 0);
		}
		s3i_cfn_stack_free(&st);
	}
	assert_true(done);
}

/* ------------------------------------------------------------------ DescribeStackEvents */

/* A creation that failed, newest first as CloudFormation lists events: the bucket failed
 * first, the topic was cancelled after it, then the rollback. */
static const char *FAILED_EVENTS =
	"<DescribeStackEventsResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">"
	"<DescribeStackEventsResult><StackEvents>"
	"<member><EventId>e7</EventId><StackName>inv</StackName><LogicalResourceId>inv"
	"</LogicalResourceId><ResourceType>AWS::CloudFormation::Stack</ResourceType><Timestamp>"
	"2024-05-01T10:00:09Z</Timestamp><ResourceStatus>ROLLBACK_COMPLETE</ResourceStatus></member>"
	"<member><EventId>e6</EventId><StackName>inv</StackName><LogicalResourceId>Topic"
	"</LogicalResourceId><ResourceType>AWS::SNS::Topic</ResourceType><Timestamp>"
	"2024-05-01T10:00:08Z</Timestamp><ResourceStatus>DELETE_COMPLETE</ResourceStatus></member>"
	"<member><EventId>e5</EventId><StackName>inv</StackName><LogicalResourceId>inv"
	"</LogicalResourceId><ResourceType>AWS::CloudFormation::Stack</ResourceType><Timestamp>"
	"2024-05-01T10:00:07Z</Timestamp><ResourceStatus>ROLLBACK_IN_PROGRESS</ResourceStatus>"
	"<ResourceStatusReason>The following resource(s) failed to create: [StagingBucket, Topic]. "
	"Rollback requested by user.</ResourceStatusReason></member>"
	"<member><EventId>e4</EventId><StackName>inv</StackName><LogicalResourceId>Topic"
	"</LogicalResourceId><ResourceType>AWS::SNS::Topic</ResourceType><Timestamp>"
	"2024-05-01T10:00:06Z</Timestamp><ResourceStatus>CREATE_FAILED</ResourceStatus>"
	"<ResourceStatusReason>Resource creation cancelled</ResourceStatusReason></member>"
	"<member><EventId>e3</EventId><StackName>inv</StackName><LogicalResourceId>StagingBucket"
	"</LogicalResourceId><PhysicalResourceId>inv-staging</PhysicalResourceId><ResourceType>"
	"AWS::S3::Bucket</ResourceType><Timestamp>2024-05-01T10:00:05.250Z</Timestamp>"
	"<ResourceStatus>CREATE_FAILED</ResourceStatus><ResourceStatusReason>inv-staging already "
	"exists</ResourceStatusReason></member>"
	"<member><EventId>e2</EventId><StackName>inv</StackName><LogicalResourceId>StagingBucket"
	"</LogicalResourceId><ResourceType>AWS::S3::Bucket</ResourceType><Timestamp>"
	"2024-05-01T10:00:02Z</Timestamp><ResourceStatus>CREATE_IN_PROGRESS</ResourceStatus></member>"
	"<member><EventId>e1</EventId><StackName>inv</StackName><LogicalResourceId>inv"
	"</LogicalResourceId><ResourceType>AWS::CloudFormation::Stack</ResourceType><Timestamp>"
	"2024-05-01T10:00:00Z</Timestamp><ResourceStatus>CREATE_IN_PROGRESS</ResourceStatus>"
	"<ResourceStatusReason>User Initiated</ResourceStatusReason></member>"
	"<member><EventId>e0</EventId><StackName>inv</StackName><LogicalResourceId>Old"
	"</LogicalResourceId><ResourceType>AWS::S3::Bucket</ResourceType><Timestamp>"
	"2024-04-01T10:00:00Z</Timestamp><ResourceStatus>DELETE_FAILED</ResourceStatus>"
	"<ResourceStatusReason>from an earlier life of the name</ResourceStatusReason></member>"
	"</StackEvents><NextToken>page-2</NextToken></DescribeStackEventsResult>"
	"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStackEventsResponse>";

typedef struct events {
	s3i_cfn_event ev[16];
	char ids[16][32];
	char logical[16][64];
	char reasons[16][160];
	char types[16][64];
	size_t n;
	size_t stop_after;
	s3i_cfn_failure failure;
	int for_delete;
	int feed_said_stop;
} events;

static int on_event(void *payload, const s3i_cfn_event *ev)
{
	events *s = payload;
	assert_true(s->n < 16);
	assert_non_null(ev->event_id);
	assert_non_null(ev->physical_id);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", ev->event_id);
	snprintf(s->logical[s->n], sizeof(s->logical[0]), "%s", ev->logical_id);
	snprintf(s->reasons[s->n], sizeof(s->reasons[0]), "%s", ev->status_reason);
	snprintf(s->types[s->n], sizeof(s->types[0]), "%s", ev->resource_type);
	s->ev[s->n] = *ev;   /* its strings are borrowed: only numbers are read later */
	s->n++;
	if (!s->feed_said_stop)
		s->feed_said_stop = s3i_cfn_failure_feed(&s->failure, "inv", s->for_delete, ev);
	return s->stop_after && s->n >= s->stop_after;
}

static int events_parse(const char *xml, events *s, char *token, size_t cap, int64_t *count)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_cfn_stack_events_parse(xml, strlen(xml), "test events", on_event, s, token, cap,
		count, &e);
	if (rc) {
		assert_int_equal(e.pub.code, rc);
		assert_null(strchr(e.message, '\n'));
	}
	return rc;
}

static void test_stack_events_shapes(void **state)
{
	(void)state;
	events s;
	memset(&s, 0, sizeof(s));
	char token[S3I_CFN_TOKEN_SIZE];
	int64_t count = -1;
	assert_int_equal(events_parse(FAILED_EVENTS, &s, token, sizeof(token), &count), S3I_OK);
	assert_int_equal(s.n, 8);
	assert_int_equal(count, 8);
	assert_string_equal(token, "page-2");
	assert_string_equal(s.ids[0], "e7");
	assert_string_equal(s.logical[4], "StagingBucket");
	assert_string_equal(s.reasons[4], "inv-staging already exists");
	assert_true(s.ev[4].timestamp_ms == 1714557605250LL);
	/* the first failing resource is the bucket, not the cancelled topic, and the search ended
	 * at the stack's own CREATE_IN_PROGRESS: the older DELETE_FAILED does not count */
	assert_true(s.failure.found);
	assert_true(s.failure.complete);
	assert_true(s.feed_said_stop);
	assert_string_equal(s.failure.logical_id, "StagingBucket");
	assert_string_equal(s.failure.resource_type, "AWS::S3::Bucket");
	assert_string_equal(s.failure.status, "CREATE_FAILED");
	assert_string_equal(s.failure.reason, "inv-staging already exists");

	/* AWS's documented example (oldest first there), no NextToken */
	const char *aws =
		"<DescribeStackEventsResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\n"
		"  <DescribeStackEventsResult>\n    <StackEvents>\n      <member>\n"
		"        <EventId>Event-1-Id</EventId>\n        <StackId>" STACK_ARN "</StackId>\n"
		"        <StackName>MyStack</StackName>\n        <LogicalResourceId>MyStack</LogicalResourceId>\n"
		"        <PhysicalResourceId>MyStack_One</PhysicalResourceId>\n"
		"        <ResourceType>AWS::CloudFormation::Stack</ResourceType>\n"
		"        <Timestamp>2010-07-27T22:26:28Z</Timestamp>\n"
		"        <ResourceStatus>CREATE_IN_PROGRESS</ResourceStatus>\n"
		"        <ResourceStatusReason>User initiated</ResourceStatusReason>\n      </member>\n"
		"      <member>\n        <EventId>Event-2-Id</EventId>\n        <StackId>" STACK_ARN
		"</StackId>\n        <StackName>MyStack</StackName>\n"
		"        <LogicalResourceId>MySG1</LogicalResourceId>\n"
		"        <PhysicalResourceId>MyStack_SG1</PhysicalResourceId>\n"
		"        <ResourceType>AWS::SecurityGroup</ResourceType>\n"
		"        <Timestamp>2010-07-27T22:28:28Z</Timestamp>\n"
		"        <ResourceStatus>CREATE_COMPLETE</ResourceStatus>\n      </member>\n"
		"    </StackEvents>\n  </DescribeStackEventsResult>\n"
		"  <ResponseMetadata>\n    <RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId>\n"
		"  </ResponseMetadata>\n</DescribeStackEventsResponse>\n";
	memset(&s, 0, sizeof(s));
	assert_int_equal(events_parse(aws, &s, token, sizeof(token), &count), S3I_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(token, "");
	assert_string_equal(s.types[1], "AWS::SecurityGroup");
	assert_string_equal(s.reasons[1], "");
	assert_false(s.failure.found);

	/* the callback stops: S3I_EUSER after the first event */
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(events_parse(FAILED_EVENTS, &s, token, sizeof(token), &count), S3I_EUSER);
	assert_int_equal(s.n, 1);
	assert_int_equal(count, 0);
	assert_string_equal(token, "");
}

static void test_stack_events_bad_documents(void **state)
{
	(void)state;
	const char *bad[] = {
		"<DescribeStackEventsResponse><DescribeStackEventsResult><StackEvents><member>"
			"<EventId>a</EventId><Timestamp>not a time</Timestamp></member></StackEvents>"
			"</DescribeStackEventsResult></DescribeStackEventsResponse>",
		"<DescribeStackEventsResponse><DescribeStackEventsResult><StackEvents><member>"
			"<EventId>a</EventId><ResourceStatus>failed!</ResourceStatus></member></StackEvents>"
			"</DescribeStackEventsResult></DescribeStackEventsResponse>",
		"<DescribeStackEventsResponse><DescribeStackEventsResult><StackEvents><member>"
			"<EventId>a</EventId></member></StackEvents><NextToken>t</NextToken><NextToken>u"
			"</NextToken></DescribeStackEventsResult></DescribeStackEventsResponse>",
		"<DescribeStackEventsResponse><DescribeStackEventsResult><NextToken/>"
			"</DescribeStackEventsResult></DescribeStackEventsResponse>",
		"<DescribeStacksResponse/>",
		"<DescribeStackEventsResponse>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		events s;
		memset(&s, 0, sizeof(s));
		char token[S3I_CFN_TOKEN_SIZE] = "stale";
		int64_t count = -1;
		assert_int_equal(events_parse(bad[i], &s, token, sizeof(token), &count), S3I_EPARSE);
		assert_int_equal(s.n, 0);   /* nothing handed over from a bad page */
		assert_int_equal(count, 0);
		assert_string_equal(token, "");
	}
	/* a token longer than the room given */
	events s;
	memset(&s, 0, sizeof(s));
	char small[4];
	int64_t count;
	assert_int_equal(events_parse(FAILED_EVENTS, &s, small, sizeof(small), &count), S3I_EPARSE);
	assert_int_equal(s.n, 0);
}

static void test_first_failure_search(void **state)
{
	(void)state;
	/* deletion: the search looks back to the stack's DELETE_IN_PROGRESS */
	s3i_cfn_failure f;
	memset(&f, 0, sizeof(f));
	s3i_cfn_event evs[] = {
		{ "4", "inv", "inv", "", "AWS::CloudFormation::Stack", "DELETE_FAILED",
			"The following resource(s) failed to delete: [StagingBucket].", 4 },
		{ "3", "inv", "StagingBucket", "inv-staging", "AWS::S3::Bucket", "DELETE_FAILED",
			"The bucket you tried to delete is not empty", 3 },
		{ "2", "inv", "Topic", "", "AWS::SNS::Topic", "DELETE_COMPLETE", "", 2 },
		{ "1", "inv", "inv", "", "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS",
			"User Initiated", 1 },
		{ "0", "inv", "Bucket2", "", "AWS::S3::Bucket", "CREATE_FAILED", "older", 0 },
	};
	int stop = 0;
	for (size_t i = 0; i < 5 && !stop; i++)
		stop = s3i_cfn_failure_feed(&f, "inv", 1, &evs[i]);
	assert_true(stop);
	assert_true(f.found);
	assert_string_equal(f.logical_id, "StagingBucket");
	assert_string_equal(f.reason, "The bucket you tried to delete is not empty");
	/* once complete, later (older) events change nothing */
	assert_int_equal(s3i_cfn_failure_feed(&f, "inv", 1, &evs[4]), 1);
	assert_string_equal(f.logical_id, "StagingBucket");
	/* a nested stack resource of another name is a resource like any other */
	memset(&f, 0, sizeof(f));
	s3i_cfn_event nested = { "9", "inv", "Child", "", "AWS::CloudFormation::Stack",
		"CREATE_FAILED", "Embedded stack failed\ncontrol", 9 };
	assert_int_equal(s3i_cfn_failure_feed(&f, "inv", 0, &nested), 0);
	assert_true(f.found);
	assert_string_equal(f.reason, "Embedded stack failed?control");
	assert_false(f.complete);
}

static void test_wait_states(void **state)
{
	(void)state;
	assert_int_equal(s3i_cfn_create_wait_state("CREATE_COMPLETE"), S3I_CFN_WAIT_DONE);
	assert_int_equal(s3i_cfn_create_wait_state("UPDATE_COMPLETE"), S3I_CFN_WAIT_DONE);
	assert_int_equal(s3i_cfn_create_wait_state("CREATE_IN_PROGRESS"), S3I_CFN_WAIT_PENDING);
	assert_int_equal(s3i_cfn_create_wait_state("REVIEW_IN_PROGRESS"), S3I_CFN_WAIT_PENDING);
	assert_int_equal(s3i_cfn_create_wait_state("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
		S3I_CFN_WAIT_PENDING);
	const char *failed[] = { "CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE",
		"ROLLBACK_FAILED", "DELETE_IN_PROGRESS", "DELETE_COMPLETE", "DELETE_FAILED",
		"UPDATE_FAILED", "UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_IN_PROGRESS",
		"IMPORT_ROLLBACK_COMPLETE", "SOMETHING_NEW", "" };
	for (size_t i = 0; i < sizeof(failed) / sizeof(failed[0]); i++)
		assert_int_equal(s3i_cfn_create_wait_state(failed[i]), S3I_CFN_WAIT_FAILED);
	assert_int_equal(s3i_cfn_create_wait_state(NULL), S3I_CFN_WAIT_FAILED);

	assert_int_equal(s3i_cfn_delete_wait_state("DELETE_COMPLETE"), S3I_CFN_WAIT_DONE);
	assert_int_equal(s3i_cfn_delete_wait_state("DELETE_IN_PROGRESS"), S3I_CFN_WAIT_PENDING);
	assert_int_equal(s3i_cfn_delete_wait_state("ROLLBACK_IN_PROGRESS"), S3I_CFN_WAIT_PENDING);
	assert_int_equal(s3i_cfn_delete_wait_state("DELETE_FAILED"), S3I_CFN_WAIT_FAILED);
	assert_int_equal(s3i_cfn_delete_wait_state("CREATE_COMPLETE"), S3I_CFN_WAIT_FAILED);
	assert_int_equal(s3i_cfn_delete_wait_state(NULL), S3I_CFN_WAIT_FAILED);
}

/* ------------------------------------------------------------------ STS */

static void test_caller_identity_shapes(void **state)
{
	(void)state;
	s3i_sts_identity id;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	const char *moto = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/"
		"2011-06-15/\"><GetCallerIdentityResult><UserId>AKIAIOSFODNN7EXAMPLE</UserId><Account>"
		"123456789012</Account><Arn>arn:aws:sts::123456789012:user/moto</Arn>"
		"</GetCallerIdentityResult><ResponseMetadata><RequestId>Z7oM</RequestId>"
		"</ResponseMetadata></GetCallerIdentityResponse>";
	assert_int_equal(s3i_sts_caller_identity_parse(s3i_test_alloc(), moto, strlen(moto), &id, &e),
		S3I_OK);
	assert_string_equal(id.account, "123456789012");
	assert_string_equal(id.arn, "arn:aws:sts::123456789012:user/moto");
	assert_string_equal(id.user_id, "AKIAIOSFODNN7EXAMPLE");
	/* AWS's documented example for an assumed role */
	const char *aws = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/"
		"2011-06-15/\">\n  <GetCallerIdentityResult>\n"
		"  <Arn>arn:aws:sts::123456789012:assumed-role/my-role-name/my-role-session-name</Arn>\n"
		"    <UserId>ARO123EXAMPLE123:my-role-session-name</UserId>\n"
		"    <Account>123456789012</Account>\n  </GetCallerIdentityResult>\n"
		"  <ResponseMetadata>\n    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>\n"
		"  </ResponseMetadata>\n</GetCallerIdentityResponse>\n";
	assert_int_equal(s3i_sts_caller_identity_parse(NULL, aws, strlen(aws), &id, &e), S3I_OK);
	assert_string_equal(id.arn, "arn:aws:sts::123456789012:assumed-role/my-role-name/"
		"my-role-session-name");
	assert_string_equal(id.user_id, "ARO123EXAMPLE123:my-role-session-name");
	const char *bad[] = {
		"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:sts::1:user/x</Arn>"
			"</GetCallerIdentityResult></GetCallerIdentityResponse>",
		"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123</Account>"
			"</GetCallerIdentityResult></GetCallerIdentityResponse>",
		"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>12a</Account><Arn>"
			"arn:x</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>",
		"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>1</Account><Arn>"
			"not-an-arn</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>",
		"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>1</Account><Account>2"
			"</Account><Arn>arn:x</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>",
		"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>1</Account><Arn>"
			"arn:&#9;x</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>",
		"<AssumeRoleResponse/>", "<", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s3i_errinfo_init(&e);
		assert_int_equal(s3i_sts_caller_identity_parse(s3i_test_alloc(), bad[i], strlen(bad[i]),
			&id, &e), S3I_EPARSE);
		assert_int_equal(e.pub.code, S3I_EPARSE);
		assert_string_equal(id.account, "");
		assert_string_equal(id.arn, "");
	}
}

static void test_role_arns(void **state)
{
	(void)state;
	char arn[128];
	assert_int_equal(s3i_sts_role_arn(arn, sizeof(arn), NULL, "111111111111", "harvest", NULL),
		S3I_OK);
	assert_string_equal(arn, "arn:aws:iam::111111111111:role/harvest");
	assert_int_equal(s3i_sts_role_arn(arn, sizeof(arn), s3i_sts_partition_of_region("cn-north-1"),
		"111111111111", "service-role/s3i+x=1,a.b@c_d-e", NULL), S3I_OK);
	assert_string_equal(arn, "arn:aws-cn:iam::111111111111:role/service-role/s3i+x=1,a.b@c_d-e");
	assert_string_equal(s3i_sts_partition_of_region("us-gov-west-1"), "aws-us-gov");
	assert_string_equal(s3i_sts_partition_of_region("us-iso-east-1"), "aws-iso");
	assert_string_equal(s3i_sts_partition_of_region("us-isob-east-1"), "aws-iso-b");
	assert_string_equal(s3i_sts_partition_of_region("eu-west-1"), "aws");
	assert_string_equal(s3i_sts_partition_of_region(NULL), "aws");

	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_sts_role_arn(arn, sizeof(arn), "aws", "11111111111", "r", &e),
		S3I_EINVALID);
	assert_string_equal(e.pub.resource, "account");
	assert_non_null(strstr(e.message, "'11111111111'"));
	assert_string_equal(arn, "");
	const char *names[] = { "", "a b", "/lead", "trail/", "a//b", "x\ny",
		"0123456789012345678901234567890123456789012345678901234567890123456789" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		s3i_errinfo_init(&e);
		assert_int_equal(s3i_sts_role_arn(arn, sizeof(arn), "aws", "111111111111", names[i], &e),
			S3I_EINVALID);
		assert_string_equal(e.pub.resource, "role name");
		assert_null(strchr(e.message, '\n'));
	}
	assert_int_equal(s3i_sts_role_arn(arn, sizeof(arn), "Aws", "111111111111", "r", NULL),
		S3I_EINVALID);
	char small[20];
	assert_int_equal(s3i_sts_role_arn(small, sizeof(small), "aws", "111111111111", "r", NULL),
		S3I_EINVALID);
	assert_string_equal(small, "");
}

/* ------------------------------------------------------------------ Organizations */

typedef struct accounts {
	char ids[8][16];
	char names[8][32];
	int64_t joined[8];
	size_t n;
	size_t stop_after;
} accounts;

static int on_account(void *payload, const s3i_org_account *a)
{
	accounts *s = payload;
	assert_true(s->n < 8);
	assert_non_null(a->arn);
	assert_non_null(a->email);
	assert_non_null(a->state);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", a->id);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", a->name);
	s->joined[s->n] = a->joined_ms;
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

static void test_list_accounts_shapes(void **state)
{
	(void)state;
	s3i_buf token;
	s3i_buf_init(&token, s3i_test_alloc());
	accounts s;
	memset(&s, 0, sizeof(s));
	int64_t count = -1;
	/* moto's first page */
	const char *moto = "{\"Accounts\": [{\"Id\": \"123456789012\", \"Arn\": \"arn:aws:"
		"organizations::123456789012:account/o-x0wwk586v8/123456789012\", \"Email\": "
		"\"master@example.com\", \"Name\": \"master\", \"Status\": \"ACTIVE\", \"State\": "
		"\"ACTIVE\", \"JoinedMethod\": \"CREATED\", \"JoinedTimestamp\": 1796361036.47636}, "
		"{\"Id\": \"657180220043\", \"Arn\": \"arn:aws:organizations::123456789012:account/"
		"o-x0wwk586v8/657180220043\", \"Email\": \"a1@example.com\", \"Name\": \"a1\", "
		"\"Status\": \"ACTIVE\", \"State\": \"ACTIVE\", \"JoinedMethod\": \"CREATED\", "
		"\"JoinedTimestamp\": 1796361036.554398}], \"NextToken\": \"eyJwYXJh\"}";
	assert_int_equal(s3i_org_list_accounts_parse(moto, strlen(moto), NULL, on_account, &s,
		&token, &count, NULL), S3I_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(count, 2);
	assert_string_equal(s.ids[1], "657180220043");
	assert_string_equal(s.names[1], "a1");
	assert_true(s.joined[0] == 1796361036476LL);
	assert_string_equal(s3i_buf_cstr(&token), "eyJwYXJh");
	/* the last page: NextToken null; AWS's documented shape with an ISO time is taken too */
	memset(&s, 0, sizeof(s));
	const char *last = "{\"Accounts\":[{\"Id\":\"222222222222\",\"Name\":\"Beta\","
		"\"JoinedTimestamp\":\"2016-11-28T17:35:19Z\"}],\"NextToken\":null}";
	assert_int_equal(s3i_org_list_accounts_parse(last, strlen(last), NULL, on_account, &s,
		&token, &count, NULL), S3I_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(token.size, 0);
	assert_true(s.joined[0] == 1480354519000LL);
	const char *empty = "{\"Accounts\": [], \"NextToken\": null}";
	assert_int_equal(s3i_org_list_accounts_parse(empty, strlen(empty), NULL, on_account, &s,
		&token, &count, NULL), S3I_OK);
	assert_int_equal(count, 0);

	/* bad pages hand nothing over */
	const char *bad[] = {
		"{\"Accounts\":[{\"Id\":\"222222222222\"},{\"Id\":\"12\"}]}",
		"{\"Accounts\":[{\"Id\":\"222222222222\"},{\"Name\":\"no id\"}]}",
		"{\"Accounts\":[{\"Id\":\"222222222222\",\"Name\":7}]}",
		"{\"Accounts\":[{\"Id\":\"222222222222\",\"JoinedTimestamp\":-5}]}",
		"{\"Accounts\":[{\"Id\":\"222222222222\",\"JoinedTimestamp\":\"never\"}]}",
		"{\"Accounts\":{}}",
		"{\"Accounts\":[],\"NextToken\":\"\"}",
		"{\"Accounts\":[],\"NextToken\":5}",
		"[]", "{", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, 0, sizeof(s));
		assert_int_equal(s3i_buf_puts(&token, "stale"), S3I_OK);
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		int rc = s3i_org_list_accounts_parse(bad[i], strlen(bad[i]), "test page", on_account, &s,
			&token, &count, &e);
		assert_int_equal(rc, S3I_EPARSE);
		assert_int_equal(e.pub.code, S3I_EPARSE);
		assert_int_equal(s.n, 0);
		assert_int_equal(count, 0);
		assert_int_equal(token.size, 0);
	}
	/* the callback stops */
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(s3i_org_list_accounts_parse(moto, strlen(moto), NULL, on_account, &s,
		&token, &count, NULL), S3I_EUSER);
	assert_int_equal(s.n, 1);
	assert_int_equal(token.size, 0);
	s3i_buf_dispose(&token);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_create_stack_shapes),
		S3I_TEST(test_describe_stacks_shapes),
		S3I_TEST(test_describe_stacks_bad_documents),
		S3I_TEST(test_describe_stacks_out_of_memory),
		S3I_TEST(test_stack_events_shapes),
		S3I_TEST(test_stack_events_bad_documents),
		S3I_TEST(test_first_failure_search),
		S3I_TEST(test_wait_states),
		S3I_TEST(test_caller_identity_shapes),
		S3I_TEST(test_role_arns),
		S3I_TEST(test_list_accounts_shapes),
	};
	return cmocka_run_group_tests_name("cfn_parse", tests, NULL, NULL);
}
