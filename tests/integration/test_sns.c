/*
 * SNS operations (src/services/sns.c) against moto_server: topics with attributes, tags and
 * policies, subscriptions (raw delivery attribute, listings across pages), idempotent
 * DeleteTopic, SNS -> SQS delivery end to end (envelope and raw), calls signed in the topic
 * ARN's region from a client of another region, missing topics, throttling and 5xx through
 * /_fault, a paging loop guard, and a second account through AssumeRole. Every context uses
 * the counting allocator, so a leak fails the test that caused it.
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
#include "aws/ctx_internal.h"
#include "services/sns.h"
#include "services/sqs.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

static s3i_moto *moto;

#define TOPIC "d1-r1-sns-notification-topic"
#define TOPIC_ARN_W2 "arn:aws:sns:us-west-2:123456789012:" TOPIC

static int group_setup(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);
	return s3i_moto_start(&moto, NULL);
}

static s3i_ctx *begin(s3i_svc *svc)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	o.log_fn = s3i_check_log;
	o.log_level = S3I_LOG_WARN;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	svc->client = s3i_ctx_client(ctx);
	svc->creds = NULL;
	svc->region = NULL;
	return ctx;
}

/* A query call made outside the library, signed for SNS in `region`. */
static char *raw_sns(const char *region, const char *form)
{
	s3i_moto_req req = { .service = "sns", .region = region, .path = "/", .body = form,
		.content_type = "application/x-www-form-urlencoded" };
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &req, &out, &status), 0);
	if (status != 200)
		fprintf(stderr, "raw SNS call answered %d: %s\n", status, out ? out : "");
	assert_int_equal(status, 200);
	return out;
}

/* ------------------------------------------------------------------ topics */

static void test_topic_lifecycle(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_svc west = { svc.client, NULL, "us-west-2" };
	const s3i_sns_kv attrs[] = { { "DisplayName", "inventory" } };
	const s3i_sns_kv tags[] = { { "project", "s3insights" }, { "run", "r1" } };
	char arn[S3I_SNS_ARN_MAX], again[S3I_SNS_ARN_MAX];
	CHECK_OK(s3i_sns_create_topic_op(&west, TOPIC, attrs, 1, tags, 2, arn, sizeof(arn), NULL));
	assert_string_equal(arn, TOPIC_ARN_W2);
	CHECK_OK(s3i_sns_create_topic_op(&west, TOPIC, attrs, 1, NULL, 0, again, sizeof(again), NULL));
	assert_string_equal(again, arn);

	/* a us-east-1 svc reaches the us-west-2 topic: the ARN's region signs */
	s3i_params at;
	s3i_params_init(&at, s3i_test_alloc());
	CHECK_OK(s3i_sns_get_topic_attributes_op(&svc, arn, &at, NULL));
	assert_string_equal(s3i_sns_attr_get(&at, "DisplayName"), "inventory");
	assert_string_equal(s3i_sns_attr_get(&at, "TopicArn"), arn);
	assert_string_equal(s3i_sns_attr_get(&at, "Owner"), "123456789012");
	assert_null(s3i_sns_attr_get(&at, "NoSuchAttribute"));

	const char *policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"s3\","
		"\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"s3.amazonaws.com\"},"
		"\"Action\":\"SNS:Publish\",\"Resource\":\"" TOPIC_ARN_W2 "\",\"Condition\":"
		"{\"StringEquals\":{\"aws:SourceAccount\":\"123456789012\"}}}]}";
	CHECK_OK(s3i_sns_set_topic_attribute_op(&svc, arn, "Policy", policy, NULL));
	CHECK_OK(s3i_sns_get_topic_attributes_op(&west, arn, &at, NULL));
	assert_non_null(s3i_sns_attr_get(&at, "Policy"));
	assert_non_null(strstr(s3i_sns_attr_get(&at, "Policy"), "aws:SourceAccount"));
	s3i_params_free(&at);

	/* the tags arrived (read back independently of the library) */
	char *out = raw_sns("us-west-2", "Action=ListTagsForResource&Version=2010-03-31&"
		"ResourceArn=" TOPIC_ARN_W2);
	assert_non_null(strstr(out, "s3insights"));
	assert_non_null(strstr(out, "<Key>run</Key>"));
	free(out);

	/* the same name in another region is another topic */
	CHECK_OK(s3i_sns_create_topic_op(&svc, TOPIC, NULL, 0, NULL, 0, again, sizeof(again), NULL));
	assert_string_equal(again, "arn:aws:sns:us-east-1:123456789012:" TOPIC);

	CHECK_OK(s3i_sns_delete_topic_op(&svc, arn, NULL));
	int rc = s3i_sns_get_topic_attributes_op(&svc, arn, &at, NULL);
	const char *m[] = { "GetTopicAttributes", "topic '" TOPIC "' does not exist in us-west-2",
		TOPIC_ARN_W2, NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "NotFound", m);
	assert_string_equal(s3i_error_last()->resource, "topic '" TOPIC "'");
	/* deleting it again is no error: teardown runs any number of times */
	CHECK_OK(s3i_sns_delete_topic_op(&svc, arn, NULL));
	/* the us-east-1 topic is still there */
	CHECK_OK(s3i_sns_get_topic_attributes_op(&svc, again, &at, NULL));
	s3i_params_free(&at);
	s3i_ctx_release(ctx);
}

static void test_invalid_arguments(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char arn[S3I_SNS_ARN_MAX];
	int rc = s3i_sns_create_topic_op(&svc, "bad:name", NULL, 0, NULL, 0, arn, sizeof(arn), NULL);
	const char *n[] = { "CreateTopic", "'bad:name' is not a topic name", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, n);
	rc = s3i_sns_subscribe_op(&svc, "arn:aws:sqs:us-east-1:123456789012:q", "sqs", "x", NULL, 0,
		NULL, 0, NULL);
	const char *a[] = { "Subscribe", "is not a topic ARN", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, a);
	rc = s3i_sns_publish_op(&svc, TOPIC_ARN_W2, "m", "two\nlines", NULL, 0, NULL);
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, NULL);
	rc = s3i_sns_subscribe_op(&svc, TOPIC_ARN_W2, "sqs", "", NULL, 0, NULL, 0, NULL);
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, NULL);
	s3i_ctx_release(ctx);
}

static void test_missing_topic_everywhere(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	const char *missing = "arn:aws:sns:eu-west-1:123456789012:nope";
	const char *m[] = { "topic 'nope' does not exist in eu-west-1", NULL };
	s3i_params at;
	s3i_params_init(&at, s3i_test_alloc());
	int rc = s3i_sns_get_topic_attributes_op(&svc, missing, &at, NULL);
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "NotFound", m);
	assert_int_equal(at.count, 0);
	rc = s3i_sns_set_topic_attribute_op(&svc, missing, "DisplayName", "x", NULL);
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, m);
	char sub[S3I_SNS_ARN_MAX];
	rc = s3i_sns_subscribe_op(&svc, missing, "sqs", "arn:aws:sqs:us-east-1:123456789012:q",
		NULL, 0, sub, sizeof(sub), NULL);
	const char *s[] = { "Subscribe", "topic 'nope' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, s);
	size_t count = 9;
	rc = s3i_sns_list_subscriptions_op(&svc, missing, NULL, NULL, &count, NULL);
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, m);
	assert_int_equal(count, 0);
	rc = s3i_sns_publish_op(&svc, missing, "hello", NULL, NULL, 0, NULL);
	const char *p[] = { "Publish", "topic 'nope' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, p);
	CHECK_OK(s3i_sns_delete_topic_op(&svc, missing, NULL));
	/* moto deletes a missing topic silently, as AWS does; an endpoint that answers NotFound
	 * is taken as "already gone" too */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"sns\",\"action\":\"DeleteTopic\","
		"\"status\":404,\"content_type\":\"text/xml\",\"body\":\"<ErrorResponse><Error><Type>"
		"Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error>"
		"</ErrorResponse>\"}"), 0);
	CHECK_OK(s3i_sns_delete_topic_op(&svc, missing, NULL));
	/* other failures are not hidden */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"sns\",\"action\":\"DeleteTopic\","
		"\"status\":403,\"content_type\":\"text/xml\",\"body\":\"<ErrorResponse><Error><Type>"
		"Sender</Type><Code>AuthorizationError</Code><Message>not allowed</Message></Error>"
		"</ErrorResponse>\"}"), 0);
	rc = s3i_sns_delete_topic_op(&svc, missing, NULL);
	const char *d[] = { "DeleteTopic", "topic 'nope'", "not allowed", NULL };
	s3i_check_expect_error(rc, S3I_EAUTH, "AuthorizationError", d);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ subscriptions */

typedef struct subs {
	size_t count;
	size_t to_central;
	char central_arn[S3I_SNS_ARN_MAX];
	size_t stop_after;
} subs;

static int on_sub(void *payload, const s3i_sns_subscription *s)
{
	subs *x = payload;
	x->count++;
	assert_string_equal(s->protocol, "sqs");
	assert_string_equal(s->topic_arn, TOPIC_ARN_W2);
	assert_string_equal(s->owner, "123456789012");
	if (!strcmp(s->endpoint, "arn:aws:sqs:us-east-1:123456789012:central")) {
		x->to_central++;
		snprintf(x->central_arn, sizeof(x->central_arn), "%s", s->subscription_arn);
	}
	return x->stop_after && x->count >= x->stop_after;
}

static void test_subscriptions_across_pages(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_svc west = { svc.client, NULL, "us-west-2" };
	char arn[S3I_SNS_ARN_MAX], sub[S3I_SNS_ARN_MAX];
	CHECK_OK(s3i_sns_create_topic_op(&west, TOPIC, NULL, 0, NULL, 0, arn, sizeof(arn), NULL));
	const s3i_sns_kv raw[] = { { "RawMessageDelivery", "true" } };
	CHECK_OK(s3i_sns_subscribe_op(&svc, arn, "sqs", "arn:aws:sqs:us-east-1:123456789012:central",
		raw, 1, sub, sizeof(sub), NULL));
	assert_true(!strncmp(sub, TOPIC_ARN_W2 ":", strlen(TOPIC_ARN_W2) + 1));
	/* moto pages by 100: 130 subscriptions take two pages */
	for (int i = 0; i < 129; i++) {
		char ep[128];
		snprintf(ep, sizeof(ep), "arn:aws:sqs:us-east-1:123456789012:other-%03d", i);
		CHECK_OK(s3i_sns_subscribe_op(&svc, arn, "sqs", ep, NULL, 0, NULL, 0, NULL));
	}
	subs x;
	memset(&x, 0, sizeof(x));
	size_t count = 0;
	CHECK_OK(s3i_sns_list_subscriptions_op(&svc, arn, on_sub, &x, &count, NULL));
	assert_int_equal(count, 130);
	assert_int_equal(x.count, 130);
	assert_int_equal(x.to_central, 1);
	assert_string_equal(x.central_arn, sub);

	/* the raw delivery attribute arrived (read back independently of the library) */
	char form[700];
	snprintf(form, sizeof(form), "Action=GetSubscriptionAttributes&Version=2010-03-31&"
		"SubscriptionArn=%s", sub);
	char *out = raw_sns("us-west-2", form);
	assert_non_null(strstr(out, "<key>RawMessageDelivery</key><value>true</value>"));
	free(out);

	/* the callback can stop the listing */
	memset(&x, 0, sizeof(x));
	x.stop_after = 3;
	int rc = s3i_sns_list_subscriptions_op(&svc, arn, on_sub, &x, &count, NULL);
	const char *m[] = { "stopped by the callback", NULL };
	s3i_check_expect_error(rc, S3I_EUSER, NULL, m);
	assert_int_equal(count, 3);
	assert_string_equal(s3i_error_last()->resource, "topic '" TOPIC "'");
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ SNS -> SQS */

typedef struct seen {
	size_t count;
	char body[4096];
	char receipt[1024];
} seen;

static int on_message(void *payload, const s3i_sqs_message *m)
{
	seen *s = payload;
	s->count++;
	snprintf(s->body, sizeof(s->body), "%s", m->body);
	snprintf(s->receipt, sizeof(s->receipt), "%s", m->receipt_handle);
	return 0;
}

typedef struct env_seen {
	int calls;
	char type[32], topic[S3I_SNS_ARN_MAX], message[1024], subject[128];
	int has_subject;
} env_seen;

static int on_envelope(void *payload, const s3i_sns_envelope *e)
{
	env_seen *s = payload;
	s->calls++;
	snprintf(s->type, sizeof(s->type), "%s", e->type);
	snprintf(s->topic, sizeof(s->topic), "%s", e->topic_arn);
	snprintf(s->message, sizeof(s->message), "%s", e->message);
	assert_int_equal(strlen(e->message), e->message_len);
	assert_non_null(e->message_id);
	s->has_subject = e->subject != NULL;
	if (e->subject)
		snprintf(s->subject, sizeof(s->subject), "%s", e->subject);
	return 0;
}

static void receive_one(const s3i_svc *svc, const char *url, seen *s)
{
	memset(s, 0, sizeof(*s));
	s3i_sqs_receive_opts o = { .max_messages = 10, .wait_seconds = 2 };
	CHECK_OK(s3i_sqs_receive_op(svc, url, &o, on_message, s, NULL, NULL));
	assert_int_equal(s->count, 1);
}

static void test_sns_to_sqs_delivery(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_svc west = { svc.client, NULL, "us-west-2" };
	/* the central queue in the host region, a topic in a source region */
	char url[S3I_SQS_URL_MAX], raw_url[S3I_SQS_URL_MAX], arn[S3I_SNS_ARN_MAX];
	CHECK_OK(s3i_sqs_create_queue_op(&svc, "central", NULL, 0, NULL, 0, url, sizeof(url), NULL));
	CHECK_OK(s3i_sqs_create_queue_op(&svc, "central-raw", NULL, 0, NULL, 0, raw_url,
		sizeof(raw_url), NULL));
	CHECK_OK(s3i_sns_create_topic_op(&west, TOPIC, NULL, 0, NULL, 0, arn, sizeof(arn), NULL));
	const s3i_sns_kv off[] = { { "RawMessageDelivery", "false" } };
	const s3i_sns_kv on[] = { { "RawMessageDelivery", "true" } };
	CHECK_OK(s3i_sns_subscribe_op(&svc, arn, "sqs", "arn:aws:sqs:us-east-1:123456789012:central",
		off, 1, NULL, 0, NULL));
	CHECK_OK(s3i_sns_subscribe_op(&svc, arn, "sqs",
		"arn:aws:sqs:us-east-1:123456789012:central-raw", on, 1, NULL, 0, NULL));

	const char *event = "{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":"
		"{\"name\":\"d1-r1-dest-123456789012-us-west-2\"},\"object\":{\"key\":"
		"\"123456789012%2Fus-west-2%2Fsrc%2Fmanifest.checksum\"}}}]}";
	char id[S3I_SNS_ID_MAX];
	CHECK_OK(s3i_sns_publish_op(&svc, arn, event, "Amazon S3 Notification", id, sizeof(id), NULL));
	assert_true(strlen(id) > 10);

	/* without raw delivery: the SNS envelope, whose Message is the event */
	seen s;
	receive_one(&svc, url, &s);
	env_seen e;
	memset(&e, 0, sizeof(e));
	CHECK_OK(s3i_sns_envelope_parse(s.body, strlen(s.body), on_envelope, &e, NULL));
	assert_int_equal(e.calls, 1);
	assert_string_equal(e.type, "Notification");
	assert_string_equal(e.topic, TOPIC_ARN_W2);
	assert_string_equal(e.message, event);
	assert_true(e.has_subject);
	assert_string_equal(e.subject, "Amazon S3 Notification");

	/* with raw delivery: the event itself, which is no envelope */
	receive_one(&svc, raw_url, &s);
	assert_string_equal(s.body, event);
	memset(&e, 0, sizeof(e));
	assert_int_equal(s3i_sns_envelope_parse(s.body, strlen(s.body), on_envelope, &e, NULL),
		S3I_ENOTFOUND);
	assert_int_equal(e.calls, 0);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ faults */

static void test_throttling_and_5xx_are_retried(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	const char *throttle = "{\"service\":\"sns\",\"action\":\"%s\",\"status\":%d,\"count\":%d,"
		"\"content_type\":\"text/xml\",\"body\":\"<ErrorResponse xmlns=\\\"http://sns.amazonaws."
		"com/doc/2010-03-31/\\\"><Error><Type>Sender</Type><Code>Throttled</Code><Message>Rate "
		"exceeded</Message></Error><RequestId>req-1</RequestId></ErrorResponse>\"}";
	char rule[800], arn[S3I_SNS_ARN_MAX];
	snprintf(rule, sizeof(rule), throttle, "CreateTopic", 429, 2);
	assert_int_equal(s3i_moto_add_fault(moto, rule), 0);
	CHECK_OK(s3i_sns_create_topic_op(&svc, "busy", NULL, 0, NULL, 0, arn, sizeof(arn), NULL));
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"sns\",\"action\":\"Publish\","
		"\"status\":500,\"count\":1,\"body\":\"<ErrorResponse><Error><Type>Receiver</Type>"
		"<Code>InternalError</Code><Message>oops</Message></Error></ErrorResponse>\"}"), 0);
	CHECK_OK(s3i_sns_publish_op(&svc, arn, "hello", NULL, NULL, 0, NULL));
	snprintf(rule, sizeof(rule), throttle, "ListSubscriptionsByTopic", 429, -1);
	assert_int_equal(s3i_moto_add_fault(moto, rule), 0);
	int rc = s3i_sns_list_subscriptions_op(&svc, arn, NULL, NULL, NULL, NULL);
	const char *m[] = { "ListSubscriptionsByTopic", "topic 'busy'", "Rate exceeded", NULL };
	s3i_check_expect_error(rc, S3I_ETHROTTLED, "Throttled", m);
	assert_string_equal(s3i_error_last()->request_id, "req-1");
	s3i_ctx_release(ctx);
}

/* A service that hands back the token it was given would page for ever: refused. */
static void test_paging_loop_is_refused(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char arn[S3I_SNS_ARN_MAX];
	CHECK_OK(s3i_sns_create_topic_op(&svc, "loop", NULL, 0, NULL, 0, arn, sizeof(arn), NULL));
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"sns\",\"action\":"
		"\"ListSubscriptionsByTopic\",\"status\":200,\"count\":-1,\"content_type\":\"text/xml\","
		"\"body\":\"<ListSubscriptionsByTopicResponse><ListSubscriptionsByTopicResult>"
		"<Subscriptions><member><SubscriptionArn>arn:aws:sns:us-east-1:123456789012:loop:1"
		"</SubscriptionArn><Owner>123456789012</Owner><Protocol>sqs</Protocol><Endpoint>"
		"arn:aws:sqs:us-east-1:123456789012:q</Endpoint><TopicArn>arn:aws:sns:us-east-1:"
		"123456789012:loop</TopicArn></member></Subscriptions><NextToken>same</NextToken>"
		"</ListSubscriptionsByTopicResult></ListSubscriptionsByTopicResponse>\"}"), 0);
	size_t count = 0;
	int rc = s3i_sns_list_subscriptions_op(&svc, arn, NULL, NULL, &count, NULL);
	const char *m[] = { "returned the NextToken it was given", "topic 'loop'", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m);
	assert_int_equal(count, 2);
	/* a Result of the wrong operation */
	assert_int_equal(s3i_moto_clear_faults(moto), 0);
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"sns\",\"action\":\"CreateTopic\","
		"\"status\":200,\"content_type\":\"text/xml\",\"body\":\"<PublishResponse><PublishResult>"
		"<MessageId>x</MessageId></PublishResult></PublishResponse>\"}"), 0);
	rc = s3i_sns_create_topic_op(&svc, "loop", NULL, 0, NULL, 0, arn, sizeof(arn), NULL);
	const char *w[] = { "CreateTopic", "not <CreateTopicResponse>", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, w);
	assert_string_equal(arn, "");
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ two accounts */

static void test_second_account_through_assume_role(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_credprov_env env = { .alloc = s3i_ctx_alloc(ctx), .http = ctx->http, .region = "us-east-1",
		.endpoint_url = s3i_moto_url(moto), .logger = s3i_ctx_logger(ctx) };
	s3i_credprov *role = NULL;
	CHECK_OK(s3i_credprov_new_assume_role(&role, &env, ctx->creds,
		"arn:aws:iam::111111111111:role/x", "sns-test", NULL, 900, NULL));
	s3i_svc other = { svc.client, role, "eu-west-1" };
	char arn[S3I_SNS_ARN_MAX], home[S3I_SNS_ARN_MAX];
	CHECK_OK(s3i_sns_create_topic_op(&other, TOPIC, NULL, 0, NULL, 0, arn, sizeof(arn), NULL));
	assert_string_equal(arn, "arn:aws:sns:eu-west-1:111111111111:" TOPIC);
	CHECK_OK(s3i_sns_create_topic_op(&svc, TOPIC, NULL, 0, NULL, 0, home, sizeof(home), NULL));
	assert_string_equal(home, "arn:aws:sns:us-east-1:123456789012:" TOPIC);

	/* a queue in the member account subscribed to its topic gets the published message */
	s3i_svc other_east = { svc.client, role, NULL };
	char url[S3I_SQS_URL_MAX];
	CHECK_OK(s3i_sqs_create_queue_op(&other_east, "member-central", NULL, 0, NULL, 0, url,
		sizeof(url), NULL));
	CHECK_OK(s3i_sns_subscribe_op(&other, arn, "sqs",
		"arn:aws:sqs:us-east-1:111111111111:member-central", NULL, 0, NULL, 0, NULL));
	s3i_params at;
	s3i_params_init(&at, s3i_test_alloc());
	CHECK_OK(s3i_sns_get_topic_attributes_op(&other, arn, &at, NULL));
	assert_string_equal(s3i_sns_attr_get(&at, "Owner"), "111111111111");
	s3i_params_free(&at);
	CHECK_OK(s3i_sns_publish_op(&other, arn, "member event", NULL, NULL, 0, NULL));
	seen s;
	receive_one(&other_east, url, &s);
	assert_non_null(strstr(s.body, "member event"));
	CHECK_OK(s3i_sns_delete_topic_op(&other, arn, NULL));
	size_t count = 0;
	int rc = s3i_sns_list_subscriptions_op(&other, arn, NULL, NULL, &count, NULL);
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, NULL);
	s3i_credprov_release(role);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_topic_lifecycle),
		S3I_TEST(test_invalid_arguments),
		S3I_TEST(test_missing_topic_everywhere),
		S3I_TEST(test_subscriptions_across_pages),
		S3I_TEST(test_sns_to_sqs_delivery),
		S3I_TEST(test_throttling_and_5xx_are_retried),
		S3I_TEST(test_paging_loop_is_refused),
		S3I_TEST(test_second_account_through_assume_role),
	};
	return cmocka_run_group_tests_name("sns", tests, group_setup, NULL);
}
