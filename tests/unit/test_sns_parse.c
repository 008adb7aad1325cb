/*
 * SNS helpers and parsers (src/services/sns.c) without a server: topic ARNs, the result,
 * attribute and subscription-page parsers on responses captured from moto 5.2.1 and shaped
 * as AWS documents them, error documents, strictness, out of memory, and the SNS envelope.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/errinfo.h"
#include "services/sns.h"
#include "test_alloc.h"

#define ARN "arn:aws:sns:us-west-2:123456789012:d1-r1-sns-notification-topic"

static void test_topic_arn_parts(void **state)
{
	(void)state;
	char region[32], name[300];
	assert_int_equal(s3i_sns_topic_arn_parts(ARN, region, sizeof(region), name, sizeof(name)),
		S3I_OK);
	assert_string_equal(region, "us-west-2");
	assert_string_equal(name, "d1-r1-sns-notification-topic");
	assert_int_equal(s3i_sns_topic_arn_parts("arn:aws-cn:sns:cn-north-1:123456789012:t.fifo",
		region, sizeof(region), NULL, 0), S3I_OK);
	assert_string_equal(region, "cn-north-1");
	assert_int_equal(s3i_sns_topic_arn_parts("arn:aws-us-gov:sns:us-gov-west-1:123456789012:t",
		NULL, 0, name, sizeof(name)), S3I_OK);
	assert_string_equal(name, "t");
	const char *bad[] = { NULL, "", "arn:aws:sns:us-west-2:123456789012", "arn:aws:sqs:us-west-2:"
		"123456789012:t", "arn:aws:sns::123456789012:t", "arn:aws:sns:us-west-2:12345:t",
		"arn:aws:sns:us-west-2:123456789012:", "arn:aws:sns:us-west-2:123456789012:a:b",
		"arn::sns:us-west-2:123456789012:t", "arn:aws:sns:nowhere:123456789012:t",
		"arn:aws:sns:us-west-2:123456789012:t t", "xrn:aws:sns:us-west-2:123456789012:t",
		"arn:aws:sns:us-west-2:12345678901x:t" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(region, "x");
		assert_int_equal(s3i_sns_topic_arn_parts(bad[i], region, sizeof(region), name,
			sizeof(name)), S3I_EINVALID);
		assert_string_equal(region, "");
	}
	assert_int_equal(s3i_sns_topic_arn_parts(ARN, region, 9, NULL, 0), S3I_EINVALID);
	assert_int_equal(s3i_sns_topic_arn_parts(ARN, region, 10, NULL, 0), S3I_OK);
}

#define PARSE_ERR(rc_, what_) do { \
	assert_int_equal(err.pub.code, (rc_)); \
	assert_non_null(strstr(err.message, (what_))); \
	assert_null(strchr(err.message, '\n')); \
} while (0)

static void test_result_parse(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	const s3i_allocator *a = s3i_test_alloc();
	char out[S3I_SNS_ARN_MAX];
	const char *create = "<CreateTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
		"<CreateTopicResult><TopicArn>" ARN "</TopicArn></CreateTopicResult><ResponseMetadata>"
		"<RequestId>e448T7Wd</RequestId></ResponseMetadata></CreateTopicResponse>";
	assert_int_equal(s3i_sns_result_parse(a, create, strlen(create), "CreateTopic", "TopicArn",
		out, sizeof(out), &err), S3I_OK);
	assert_string_equal(out, ARN);
	/* AWS indents its answers */
	const char *publish = "<?xml version=\"1.0\"?>\n<PublishResponse xmlns=\"http://sns.amazonaws."
		"com/doc/2010-03-31/\">\n  <PublishResult>\n    <MessageId>\n  567910cd-659e-55d4-8ccb-"
		"5aaf14679dc0\n </MessageId>\n  </PublishResult>\n  <ResponseMetadata>\n    <RequestId>"
		"d74b8436</RequestId>\n  </ResponseMetadata>\n</PublishResponse>\n";
	assert_int_equal(s3i_sns_result_parse(a, publish, strlen(publish), "Publish", "MessageId", out,
		sizeof(out), &err), S3I_OK);
	assert_string_equal(out, "567910cd-659e-55d4-8ccb-5aaf14679dc0");
	assert_int_equal(s3i_sns_result_parse(a, create, strlen(create), "CreateTopic", "TopicArn",
		out, 20, &err), S3I_EINVALID);
	assert_string_equal(out, "");

	const char *bad[] = {
		"",
		"<CreateTopicResponse/>",
		"<CreateTopicResponse><CreateTopicResult><TopicArn></TopicArn></CreateTopicResult>"
			"</CreateTopicResponse>",
		"<CreateTopicResponse><OtherResult><TopicArn>" ARN "</TopicArn></OtherResult>"
			"</CreateTopicResponse>",
		"<CreateTopicResponse><CreateTopicResult><X><TopicArn>" ARN "</TopicArn></X>"
			"</CreateTopicResult></CreateTopicResponse>",
		"<CreateTopicResponse><CreateTopicResult><TopicArn>a</TopicArn><TopicArn>b</TopicArn>"
			"</CreateTopicResult></CreateTopicResponse>",
		"<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code></Error></ErrorResponse>",
		"<PublishResponse><PublishResult><MessageId>x</MessageId></PublishResult>"
			"</PublishResponse>",
		"<CreateTopicResponse><CreateTopicResult><TopicArn>" ARN "</TopicArn>",
		"<!DOCTYPE x [<!ENTITY e \"boom\">]><CreateTopicResponse><CreateTopicResult><TopicArn>&e;"
			"</TopicArn></CreateTopicResult></CreateTopicResponse>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = s3i_sns_result_parse(a, bad[i], strlen(bad[i]), "CreateTopic", "TopicArn", out,
			sizeof(out), &err);
		if (rc != S3I_EPARSE)
			fprintf(stderr, "case %zu: %d %s\n", i, rc, out);
		assert_int_equal(rc, S3I_EPARSE);
		PARSE_ERR(S3I_EPARSE, "SNS CreateTopic response");
		assert_string_equal(out, "");
	}
}

static const char attrs_doc[] =
	"<GetTopicAttributesResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
	"<GetTopicAttributesResult><Attributes><entry><key>Owner</key><value>123456789012</value>"
	"</entry><entry><key>Policy</key><value>{\"Version\":\"2012-10-17\",\"Statement\":[]}</value>"
	"</entry><entry><key>TopicArn</key><value>" ARN "</value></entry><entry><key>DisplayName"
	"</key><value>x &amp; y</value></entry><entry><key>DeliveryPolicy</key><value/></entry>"
	"<entry><value>v</value><key>ValueFirst</key></entry></Attributes></GetTopicAttributesResult>"
	"<ResponseMetadata><RequestId>fODxIyL6</RequestId></ResponseMetadata>"
	"</GetTopicAttributesResponse>";

static void test_attrs_parse(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	const s3i_allocator *a = s3i_test_alloc();
	s3i_params p;
	s3i_params_init(&p, a);
	assert_int_equal(s3i_sns_attrs_parse(a, attrs_doc, strlen(attrs_doc), NULL, &p, &err), S3I_OK);
	assert_int_equal(p.count, 6);
	assert_string_equal(s3i_sns_attr_get(&p, "Owner"), "123456789012");
	assert_string_equal(s3i_sns_attr_get(&p, "Policy"), "{\"Version\":\"2012-10-17\","
		"\"Statement\":[]}");
	assert_string_equal(s3i_sns_attr_get(&p, "DisplayName"), "x & y");
	assert_string_equal(s3i_sns_attr_get(&p, "DeliveryPolicy"), "");
	assert_string_equal(s3i_sns_attr_get(&p, "ValueFirst"), "v");
	assert_null(s3i_sns_attr_get(&p, "Missing"));
	const char *none = "<GetTopicAttributesResponse><GetTopicAttributesResult/>"
		"</GetTopicAttributesResponse>";
	assert_int_equal(s3i_sns_attrs_parse(a, none, strlen(none), NULL, &p, &err), S3I_OK);
	assert_int_equal(p.count, 0);
	const char *bad[] = {
		"", "<Other/>",
		"<GetTopicAttributesResponse><GetTopicAttributesResult><Attributes><entry><value>v"
			"</value></entry></Attributes></GetTopicAttributesResult></GetTopicAttributesResponse>",
		"<GetTopicAttributesResponse><GetTopicAttributesResult><Attributes><entry><key>a</key>"
			"<key>b</key></entry></Attributes></GetTopicAttributesResult>"
			"</GetTopicAttributesResponse>",
		"<GetTopicAttributesResponse><GetTopicAttributesResult><Attributes><entry><key>a</key>"
			"</entry><entry><key>a</key></entry></Attributes></GetTopicAttributesResult>"
			"</GetTopicAttributesResponse>",
		"<GetTopicAttributesResponse><GetTopicAttributesResult><Attributes><entry><key></key>"
			"</entry></Attributes></GetTopicAttributesResult></GetTopicAttributesResponse>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(s3i_sns_attrs_parse(a, attrs_doc, strlen(attrs_doc), NULL, &p, &err),
			S3I_OK);
		int rc = s3i_sns_attrs_parse(a, bad[i], strlen(bad[i]), "GetTopicAttributes of t", &p,
			&err);
		if (rc != S3I_EPARSE)
			fprintf(stderr, "case %zu: %d\n", i, rc);
		assert_int_equal(rc, S3I_EPARSE);
		PARSE_ERR(S3I_EPARSE, "GetTopicAttributes of t");
		assert_int_equal(p.count, 0);
	}
	s3i_params_free(&p);
}

static void test_attrs_parse_out_of_memory(void **state)
{
	(void)state;
	const s3i_allocator *a = s3i_test_alloc();
	for (long n = 0;; n++) {
		s3i_errinfo err;
		s3i_errinfo_init(&err);
		s3i_params p;
		s3i_params_init(&p, a);
		s3i_test_alloc_fail_after(n);
		int rc = s3i_sns_attrs_parse(a, attrs_doc, strlen(attrs_doc), NULL, &p, &err);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK) {
			assert_int_equal(p.count, 6);
			s3i_params_free(&p);
			break;
		}
		assert_int_equal(rc, S3I_ENOMEM);
		assert_int_equal(p.count, 0);
		s3i_params_free(&p);
		assert_true(n < 200);
	}
}

/* ---- subscriptions ---- */

typedef struct subs {
	size_t count;
	char arn[4][200];
	char endpoint[4][200];
	char protocol[4][16];
	int stop;
} subs;

static int on_sub(void *payload, const s3i_sns_subscription *s)
{
	subs *x = payload;
	assert_true(x->count < 4);
	snprintf(x->arn[x->count], sizeof(x->arn[0]), "%s", s->subscription_arn);
	snprintf(x->endpoint[x->count], sizeof(x->endpoint[0]), "%s", s->endpoint);
	snprintf(x->protocol[x->count], sizeof(x->protocol[0]), "%s", s->protocol);
	assert_non_null(s->owner);
	assert_non_null(s->topic_arn);
	x->count++;
	return x->stop;
}

static const char subs_doc[] =
	"<ListSubscriptionsByTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
	"<ListSubscriptionsByTopicResult><Subscriptions><member><SubscriptionArn>" ARN
	":21e3ef3b</SubscriptionArn><Owner>123456789012</Owner><Protocol>sqs</Protocol><Endpoint>"
	"arn:aws:sqs:us-east-1:123456789012:central</Endpoint><TopicArn>" ARN "</TopicArn></member>"
	"<member><TopicArn>" ARN "</TopicArn><Protocol>email</Protocol><SubscriptionArn>"
	"PendingConfirmation</SubscriptionArn><Endpoint>a@example.com</Endpoint></member>"
	"</Subscriptions><NextToken>tok-100</NextToken></ListSubscriptionsByTopicResult>"
	"<ResponseMetadata><RequestId>qngIOlIz</RequestId></ResponseMetadata>"
	"</ListSubscriptionsByTopicResponse>";

static void test_subscriptions_parse(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	const s3i_allocator *a = s3i_test_alloc();
	s3i_buf token;
	s3i_buf_init(&token, a);
	subs x;
	memset(&x, 0, sizeof(x));
	size_t count = 0;
	assert_int_equal(s3i_sns_subscriptions_parse(a, subs_doc, strlen(subs_doc), NULL, on_sub, &x,
		&token, &count, &err), S3I_OK);
	assert_int_equal(count, 2);
	assert_int_equal(x.count, 2);
	assert_string_equal(x.arn[0], ARN ":21e3ef3b");
	assert_string_equal(x.endpoint[0], "arn:aws:sqs:us-east-1:123456789012:central");
	assert_string_equal(x.protocol[1], "email");
	assert_string_equal(x.arn[1], "PendingConfirmation");
	assert_string_equal(s3i_buf_cstr(&token), "tok-100");

	/* the last page: no token, an empty list */
	const char *last = "<ListSubscriptionsByTopicResponse><ListSubscriptionsByTopicResult>"
		"<Subscriptions/></ListSubscriptionsByTopicResult></ListSubscriptionsByTopicResponse>";
	assert_int_equal(s3i_sns_subscriptions_parse(a, last, strlen(last), NULL, on_sub, &x, &token,
		&count, &err), S3I_OK);
	assert_int_equal(token.size, 0);
	assert_int_equal(count, 2);

	memset(&x, 0, sizeof(x));
	x.stop = 1;
	assert_int_equal(s3i_sns_subscriptions_parse(a, subs_doc, strlen(subs_doc), "List of t",
		on_sub, &x, &token, NULL, &err), S3I_EUSER);
	PARSE_ERR(S3I_EUSER, "stopped by the callback");
	assert_int_equal(x.count, 1);
	assert_int_equal(token.size, 0);

	const char *bad[] = {
		"", "<ListSubscriptionsResponse/>",
		"<ListSubscriptionsByTopicResponse><ListSubscriptionsByTopicResult><Subscriptions><member>"
			"<Protocol>sqs</Protocol></member></Subscriptions></ListSubscriptionsByTopicResult>"
			"</ListSubscriptionsByTopicResponse>",
		"<ListSubscriptionsByTopicResponse><ListSubscriptionsByTopicResult><Subscriptions><member>"
			"<SubscriptionArn>a</SubscriptionArn><SubscriptionArn>b</SubscriptionArn></member>"
			"</Subscriptions></ListSubscriptionsByTopicResult></ListSubscriptionsByTopicResponse>",
		"<ListSubscriptionsByTopicResponse><ListSubscriptionsByTopicResult><NextToken>a"
			"</NextToken><NextToken>b</NextToken></ListSubscriptionsByTopicResult>"
			"</ListSubscriptionsByTopicResponse>",
		"<ErrorResponse><Error><Code>Throttled</Code></Error></ErrorResponse>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&x, 0, sizeof(x));
		int rc = s3i_sns_subscriptions_parse(a, bad[i], strlen(bad[i]), "List of t", on_sub, &x,
			&token, NULL, &err);
		if (rc != S3I_EPARSE)
			fprintf(stderr, "case %zu: %d\n", i, rc);
		assert_int_equal(rc, S3I_EPARSE);
		PARSE_ERR(S3I_EPARSE, "List of t");
		assert_int_equal(x.count, 0);
		assert_int_equal(token.size, 0);
	}
	s3i_buf_dispose(&token);
}

static void test_subscriptions_parse_out_of_memory(void **state)
{
	(void)state;
	const s3i_allocator *a = s3i_test_alloc();
	for (long n = 0;; n++) {
		s3i_errinfo err;
		s3i_errinfo_init(&err);
		s3i_buf token;
		s3i_buf_init(&token, a);
		s3i_test_alloc_fail_after(n);
		int rc = s3i_sns_subscriptions_parse(a, subs_doc, strlen(subs_doc), NULL, NULL, NULL,
			&token, NULL, &err);
		s3i_test_alloc_fail_after(-1);
		s3i_buf_dispose(&token);
		if (rc == S3I_OK)
			break;
		assert_int_equal(rc, S3I_ENOMEM);
		assert_true(n < 200);
	}
}

/* ---- envelope ---- */

typedef struct env_seen {
	int calls;
	char message[512];
	char topic[200];
	int subject;
} env_seen;

static int on_env(void *payload, const s3i_sns_envelope *e)
{
	env_seen *s = payload;
	s->calls++;
	snprintf(s->message, sizeof(s->message), "%s", e->message);
	snprintf(s->topic, sizeof(s->topic), "%s", e->topic_arn);
	s->subject = e->subject != NULL;
	assert_int_equal(strlen(e->message), e->message_len);
	return 0;
}

static void test_envelope(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	/* as moto 5.2.1 delivers it */
	const char *env = "{\n  \"Message\": \"{\\\"Records\\\":[]}\",\n  \"MessageId\": "
		"\"53e5d778-de9c-47b7-8934-598684fe4512\",\n  \"Signature\": \"ZCPU==\",\n  "
		"\"SignatureVersion\": \"2\",\n  \"SigningCertURL\": \"https://sns.us-west-2.amazonaws.com/"
		"x.pem\",\n  \"Timestamp\": \"2026-12-04T04:38:41.993Z\",\n  \"TopicArn\": \"" ARN "\",\n  "
		"\"Type\": \"Notification\",\n  \"UnsubscribeURL\": \"https://sns\"\n}";
	env_seen s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(s3i_sns_envelope_parse(env, strlen(env), on_env, &s, &err), S3I_OK);
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.message, "{\"Records\":[]}");
	assert_string_equal(s.topic, ARN);
	assert_int_equal(s.subject, 0);

	/* raw bodies are not envelopes, and the thread's error stays as it was */
	s3i_err(NULL, S3I_EAWS, "x", "earlier failure");
	const char *raw[] = { "{\"Records\":[]}", "{\"Service\":\"Amazon S3\",\"Event\":"
		"\"s3:TestEvent\"}", "not json", "", "[1,2]", "{\"Type\":\"Notification\"}", "{broken",
		"\"str\"" };
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		assert_int_equal(s3i_sns_envelope_parse(raw[i], strlen(raw[i]), on_env, &s, &err),
			S3I_ENOTFOUND);
		assert_string_equal(s3i_error_last()->message, "earlier failure");
	}
	assert_int_equal(s.calls, 1);
	/* claims to be one but is damaged */
	const char *broken = "{\"Type\":\"Notification\",\"TopicArn\":\"" ARN "\",\"MessageId\":\"m\"}";
	assert_int_equal(s3i_sns_envelope_parse(broken, strlen(broken), on_env, &s, &err), S3I_EPARSE);
	PARSE_ERR(S3I_EPARSE, "lacks a MessageId or a Message");
	const char *stop = "{\"Type\":\"Notification\",\"TopicArn\":\"t\",\"MessageId\":\"m\","
		"\"Message\":\"x\",\"Subject\":\"s\"}";
	assert_int_equal(s3i_sns_envelope_parse(stop, strlen(stop), NULL, NULL, &err), S3I_OK);
}

static int stop_env(void *payload, const s3i_sns_envelope *e)
{
	(void)payload;
	(void)e;
	return 1;
}

static void test_envelope_stop(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	const char *env = "{\"Type\":\"Notification\",\"TopicArn\":\"t\",\"MessageId\":\"m-1\","
		"\"Message\":\"x\"}";
	assert_int_equal(s3i_sns_envelope_parse(env, strlen(env), stop_env, NULL, &err), S3I_EUSER);
	PARSE_ERR(S3I_EUSER, "'m-1'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_topic_arn_parts),
		S3I_TEST(test_result_parse),
		S3I_TEST(test_attrs_parse),
		S3I_TEST(test_attrs_parse_out_of_memory),
		S3I_TEST(test_subscriptions_parse),
		S3I_TEST(test_subscriptions_parse_out_of_memory),
		S3I_TEST(test_envelope),
		S3I_TEST(test_envelope_stop),
	};
	return cmocka_run_group_tests_name("sns_parse", tests, NULL, NULL);
}
