/* S3 event notifications as SQS delivers them, raw and inside SNS envelopes, and inventory
 * delivery keys (src/stages/s3_event.c). Shapes from AWS's "Event message structure" page and
 * from what moto 5.2.1 delivers (moto-notes §4). */
#include "test_alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "stages/s3_event.h"

/* AWS's documented example (eventVersion 2.1), with a key holding a space and a slash. */
static const char aws_event[] =
	"{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"awsRegion\":\"us-west-2\","
	"\"eventTime\":\"1970-01-01T00:00:00.000Z\",\"eventName\":\"ObjectCreated:Put\","
	"\"userIdentity\":{\"principalId\":\"AIDAJDPLRKLG7UEXAMPLE\"},"
	"\"requestParameters\":{\"sourceIPAddress\":\"127.0.0.1\"},"
	"\"responseElements\":{\"x-amz-request-id\":\"C3D13FE58DE4C810\","
	"\"x-amz-id-2\":\"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD\"},"
	"\"s3\":{\"s3SchemaVersion\":\"1.0\",\"configurationId\":\"testConfigRule\","
	"\"bucket\":{\"name\":\"mybucket\",\"ownerIdentity\":{\"principalId\":\"A3NL1KOZZKExample\"},"
	"\"arn\":\"arn:aws:s3:::mybucket\"},"
	"\"object\":{\"key\":\"photos/red+flower.jpg\",\"size\":1024,"
	"\"eTag\":\"d41d8cd98f00b204e9800998ecf8427e\",\"versionId\":\"096fKKXTRTtl3on89fVO.nfljtsv6qko\","
	"\"sequencer\":\"0055AED6DCD90281E5\"}}}]}";

/* What moto 5.2.1 delivers: the key quote_plus-encoded, eventTime without a zone, no
 * sequencer, userIdentity, versionId. */
static const char moto_event[] =
	"{\"Records\": [{\"eventVersion\": \"2.1\", \"eventSource\": \"aws:s3\", \"awsRegion\": \"us-east-1\", "
	"\"eventTime\": \"2026-11-23T19:49:33.106652\", \"eventName\": \"ObjectCreated:Put\", "
	"\"s3\": {\"s3SchemaVersion\": \"1.0\", \"configurationId\": \"toqueue\", "
	"\"bucket\": {\"name\": \"nbk\", \"arn\": \"arn:aws:s3:::nbk\"}, "
	"\"object\": {\"key\": \"inv%2F2024-01-01T00-00Z%2Fmanifest.json\", \"size\": 2, "
	"\"eTag\": \"99914b932bd37a50b983c5e7c90ae93b\"}}}]}";

static const char test_event[] =
	"{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\",\"Time\":\"2024-01-01T00:00:00.000Z\","
	"\"Bucket\":\"dep1-r1-dest-123456789012-us-east-1\",\"RequestId\":\"5582815E1AEA5ADF\","
	"\"HostId\":\"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE\"}";

/* An SNS envelope around `msg` (escaped as SNS writes it). */
static char *envelope(const char *type, const char *msg)
{
	s3i_buf b = S3I_BUF_INIT;
	b.alloc = s3i_test_alloc();
	s3i_buf_printf(&b, "{\"Type\" : \"%s\", \"MessageId\" : \"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\", "
		"\"TopicArn\" : \"arn:aws:sns:us-west-2:123456789012:dep1-r1-sns-notification-topic\", "
		"\"Subject\" : \"Amazon S3 Notification\", \"Message\" : \"", type);
	for (const char *p = msg; *p; p++) {
		if (*p == '"' || *p == '\\')
			s3i_buf_putc(&b, '\\');
		s3i_buf_putc(&b, *p);
	}
	s3i_buf_puts(&b, "\", \"Timestamp\" : \"2024-01-01T00:00:00.000Z\", \"SignatureVersion\" : \"1\", "
		"\"Signature\" : \"EXAMPLEpH+..\", \"SigningCertURL\" : \"https://sns.us-west-2.amazonaws.com/"
		"SimpleNotificationService-0000000000000000000000.pem\", \"UnsubscribeURL\" : "
		"\"https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe\"}");
	return s3i_buf_detach(&b);
}

static void parse_ok(const char *body, s3i_s3_event *ev)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_s3_event_parse(ev, body, strlen(body), s3i_test_alloc(), &e);
	if (rc)
		fail_msg("parse failed (%d): %s", rc, e.message);
}

static void parse_bad(const char *body, size_t len, const char *part)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_s3_event ev;
	if (len == (size_t)-1)
		len = strlen(body);
	int rc = s3i_s3_event_parse(&ev, body, len, s3i_test_alloc(), &e);
	assert_int_equal(rc, S3I_EPARSE);
	assert_int_equal(e.pub.code, S3I_EPARSE);
	assert_int_equal(s3i_error_last()->code, S3I_EPARSE);
	assert_string_equal(s3i_error_last()->message, e.message);
	assert_int_equal(ev.n_records, 0);
	assert_null(ev.records);
	assert_null(strchr(e.message, '\n'));
	if (!strstr(e.message, part))
		fail_msg("'%s' lacks '%s'", e.message, part);
	s3i_s3_event_dispose(&ev);
}

static void t_aws_sample(void **state)
{
	(void)state;
	s3i_s3_event ev;
	parse_ok(aws_event, &ev);
	assert_int_equal(ev.kind, S3I_S3_EVENT_RECORDS);
	assert_false(ev.via_sns);
	assert_string_equal(ev.topic_arn, "");
	assert_int_equal(ev.n_records, 1);
	const s3i_s3_event_record *r = &ev.records[0];
	assert_string_equal(r->event_name, "ObjectCreated:Put");
	assert_true(s3i_s3_event_is_created(r));
	assert_string_equal(r->event_time, "1970-01-01T00:00:00.000Z");
	assert_string_equal(r->region, "us-west-2");
	assert_string_equal(r->bucket, "mybucket");
	assert_string_equal(r->key, "photos/red flower.jpg");
	assert_int_equal(r->key_len, strlen("photos/red flower.jpg"));
	assert_int_equal(r->size, 1024);
	assert_string_equal(r->etag, "d41d8cd98f00b204e9800998ecf8427e");
	assert_string_equal(r->version_id, "096fKKXTRTtl3on89fVO.nfljtsv6qko");
	assert_string_equal(r->sequencer, "0055AED6DCD90281E5");
	s3i_s3_event_dispose(&ev);
	s3i_s3_event_dispose(&ev);     /* twice is harmless */
}

static void t_moto_sample(void **state)
{
	(void)state;
	s3i_s3_event ev;
	parse_ok(moto_event, &ev);
	assert_int_equal(ev.n_records, 1);
	assert_string_equal(ev.records[0].key, "inv/2024-01-01T00-00Z/manifest.json");
	assert_string_equal(ev.records[0].event_time, "2026-11-23T19:49:33.106652");
	assert_string_equal(ev.records[0].sequencer, "");
	assert_string_equal(ev.records[0].version_id, "");
	assert_int_equal(ev.records[0].size, 2);
	s3i_s3_event_dispose(&ev);
}

static void t_sns_envelope(void **state)
{
	(void)state;
	char *body = envelope("Notification", aws_event);
	s3i_s3_event ev;
	parse_ok(body, &ev);
	assert_int_equal(ev.kind, S3I_S3_EVENT_RECORDS);
	assert_true(ev.via_sns);
	assert_string_equal(ev.sns_type, "Notification");
	assert_string_equal(ev.topic_arn, "arn:aws:sns:us-west-2:123456789012:dep1-r1-sns-notification-topic");
	assert_int_equal(ev.n_records, 1);
	assert_string_equal(ev.records[0].key, "photos/red flower.jpg");
	s3i_s3_event_dispose(&ev);
	s3i_free(s3i_test_alloc(), body);

	/* the test event inside an envelope */
	body = envelope("Notification", test_event);
	parse_ok(body, &ev);
	assert_int_equal(ev.kind, S3I_S3_EVENT_TEST);
	assert_true(ev.via_sns);
	assert_string_equal(ev.test_bucket, "dep1-r1-dest-123456789012-us-east-1");
	s3i_s3_event_dispose(&ev);
	s3i_free(s3i_test_alloc(), body);

	/* a subscription confirmation is no event */
	body = envelope("SubscriptionConfirmation", "You have chosen to subscribe to the topic ...");
	parse_ok(body, &ev);
	assert_int_equal(ev.kind, S3I_S3_EVENT_OTHER);
	assert_string_equal(ev.sns_type, "SubscriptionConfirmation");
	assert_int_equal(ev.n_records, 0);
	s3i_s3_event_dispose(&ev);
	s3i_free(s3i_test_alloc(), body);
}

static void t_test_event(void **state)
{
	(void)state;
	s3i_s3_event ev;
	parse_ok(test_event, &ev);
	assert_int_equal(ev.kind, S3I_S3_EVENT_TEST);
	assert_false(ev.via_sns);
	assert_string_equal(ev.test_bucket, "dep1-r1-dest-123456789012-us-east-1");
	assert_int_equal(ev.n_records, 0);
	s3i_s3_event_dispose(&ev);
	parse_ok("{\"Event\":\"s3:TestEvent\"}", &ev);
	assert_int_equal(ev.kind, S3I_S3_EVENT_TEST);
	assert_string_equal(ev.test_bucket, "");
	s3i_s3_event_dispose(&ev);
}

static void t_event_kinds(void **state)
{
	(void)state;
	s3i_s3_event ev;
	parse_ok("{\"Records\":[{\"eventVersion\":\"2.2\",\"eventName\":\"ObjectCreated:CompleteMultipartUpload\","
		"\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\",\"size\":123456789012345,"
		"\"eTag\":\"\\\"0123456789abcdef0123456789abcdef-3\\\"\"}}},"
		"{\"eventVersion\":\"2.9\",\"eventName\":\"ObjectRemoved:Delete\",\"s3\":{\"bucket\":{\"name\":\"b\"},"
		"\"object\":{\"key\":\"gone\",\"sequencer\":\"0A1B\"}}},"
		"{\"eventName\":\"s3:ObjectCreated:Copy\",\"s3\":{\"bucket\":{\"name\":\"b\"},"
		"\"object\":{\"key\":\"c\",\"size\":null,\"eTag\":null}}}]}", &ev);
	assert_int_equal(ev.n_records, 3);
	assert_true(s3i_s3_event_is_created(&ev.records[0]));
	assert_int_equal(ev.records[0].size, INT64_C(123456789012345));
	assert_string_equal(ev.records[0].etag, "0123456789abcdef0123456789abcdef-3");
	assert_false(s3i_s3_event_is_created(&ev.records[1]));
	assert_int_equal(ev.records[1].size, -1);
	assert_string_equal(ev.records[1].sequencer, "0A1B");
	assert_string_equal(ev.records[1].region, "");
	assert_string_equal(ev.records[2].event_name, "ObjectCreated:Copy");
	assert_true(s3i_s3_event_is_created(&ev.records[2]));
	assert_int_equal(ev.records[2].size, -1);
	assert_false(s3i_s3_event_is_created(NULL));
	s3i_s3_event_dispose(&ev);
	parse_ok("{\"Records\":[]}", &ev);
	assert_int_equal(ev.kind, S3I_S3_EVENT_RECORDS);
	assert_int_equal(ev.n_records, 0);
	s3i_s3_event_dispose(&ev);
}

static void t_key_decoding(void **state)
{
	(void)state;
	struct { const char *raw, *want; } cases[] = {
		{ "red+flower.jpg", "red flower.jpg" },
		{ "a%2Bb", "a+b" },
		{ "dir%2Fsub%2Ffile.txt", "dir/sub/file.txt" },
		{ "caf%C3%A9+%28copy%29", "caf\xc3\xa9 (copy)" },
		{ "100%25", "100%" },
		{ "odd%zz%4", "odd%zz%4" },     /* not an escape: kept */
		{ "plain/key", "plain/key" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char body[512];
		snprintf(body, sizeof(body), "{\"Records\":[{\"eventName\":\"ObjectCreated:Put\","
			"\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"%s\",\"size\":1}}}]}",
			cases[i].raw);
		s3i_s3_event ev;
		parse_ok(body, &ev);
		assert_string_equal(ev.records[0].key, cases[i].want);
		assert_int_equal(ev.records[0].key_len, strlen(cases[i].want));
		s3i_s3_event_dispose(&ev);
	}
}

#define REC(obj) "{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":" obj "}}]}"

static void t_malformed(void **state)
{
	(void)state;
	parse_bad("not json", (size_t)-1, "S3 event notification is not valid JSON");
	parse_bad("[1,2]", (size_t)-1, "the message is not a JSON object");
	parse_bad("{}", (size_t)-1, "Records is missing");
	parse_bad("{\"Records\":{}}", (size_t)-1, "Records is not an array");
	parse_bad("{\"Event\":\"s3:Other\"}", (size_t)-1, "Event is not s3:TestEvent");
	parse_bad("{\"Records\":[5]}", (size_t)-1, "Records[0] is not an object");
	parse_bad("{\"Records\":[{\"s3\":{}}]}", (size_t)-1, "Records[0].eventName is missing");
	parse_bad("{\"Records\":[{\"eventName\":\"\",\"s3\":{}}]}", (size_t)-1,
		"Records[0].eventName is not a non-empty string");
	parse_bad("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\"}]}", (size_t)-1,
		"Records[0].s3 is missing");
	parse_bad("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"object\":{}}}]}",
		(size_t)-1, "Records[0].s3.bucket is missing");
	parse_bad("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{}}}]}",
		(size_t)-1, "Records[0].s3.bucket.name is missing");
	parse_bad("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"}}}]}",
		(size_t)-1, "Records[0].s3.object is missing");
	parse_bad(REC("{\"size\":1}"), (size_t)-1, "Records[0].s3.object.key is missing");
	parse_bad(REC("{\"key\":\"\"}"), (size_t)-1, "Records[0].s3.object.key is not a non-empty string");
	parse_bad(REC("{\"key\":7}"), (size_t)-1, "Records[0].s3.object.key is not a non-empty string");
	parse_bad(REC("{\"key\":\"a%00b\"}"), (size_t)-1, "Records[0].s3.object.key \"a%00b\" decodes to a NUL byte");
	parse_bad(REC("{\"key\":\"a%C0%AFb\"}"), (size_t)-1,
		"Records[0].s3.object.key \"a%C0%AFb\" does not decode to UTF-8");
	parse_bad("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":"
		"\"b\xc0\xaf\"},\"object\":{\"key\":\"k\"}}}]}", (size_t)-1,
		"Records[0].s3.bucket.name is not valid UTF-8");
	parse_bad(REC("{\"key\":\"k\",\"size\":-1}"), (size_t)-1, "Records[0].s3.object.size is not a number of bytes");
	parse_bad(REC("{\"key\":\"k\",\"size\":\"12\"}"), (size_t)-1, "s3.object.size is not a number");
	parse_bad(REC("{\"key\":\"k\",\"size\":1.5}"), (size_t)-1, "s3.object.size is not a number");
	parse_bad(REC("{\"key\":\"k\",\"eTag\":5}"), (size_t)-1, "Records[0].s3.object.eTag is not a string");
	parse_bad("{\"Records\":[{\"eventVersion\":\"3.0\",\"eventName\":\"ObjectCreated:Put\"}]}",
		(size_t)-1, "Records[0].eventVersion \"3.0\" is not a supported S3 event version (2.x)");
	parse_bad("{\"Records\":[{\"eventVersion\":2.1,\"eventName\":\"x\"}]}", (size_t)-1,
		"Records[0].eventVersion is not a string");
	parse_bad("{\"Records\":[{\"eventSource\":\"aws:sqs\",\"eventName\":\"x\"}]}", (size_t)-1,
		"Records[0].eventSource is \"aws:sqs\", not \"aws:s3\"");
	parse_bad("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"awsRegion\":[],\"s3\":{}}]}",
		(size_t)-1, "Records[0].awsRegion is not a string");
	/* the second record is the bad one: named, and nothing is returned */
	parse_bad("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},"
		"\"object\":{\"key\":\"k\"}}},{\"eventName\":\"ObjectCreated:Put\"}]}", (size_t)-1,
		"Records[1].s3 is missing");
	parse_bad("{\"Records\":[]} x", (size_t)-1, "not valid JSON");
	parse_bad("", 0, "not valid JSON");
	parse_bad("{\"Records\":[]}\0", 15, "not valid JSON");
	parse_bad(NULL, 0, "no message body");
	/* a long outside value is cut in the message */
	parse_bad("{\"Records\":[{\"eventVersion\":\"9999999999999999999999999999999999999999999999999999999999999999999999\","
		"\"eventName\":\"x\"}]}", (size_t)-1, "...\" is not a supported");
}

static void t_malformed_envelope(void **state)
{
	(void)state;
	/* the Message is not JSON: the error says it came through SNS and names the topic */
	char *body = envelope("Notification", "not json at all");
	parse_bad(body, (size_t)-1, "S3 event notification in an SNS message is not valid JSON");
	s3i_free(s3i_test_alloc(), body);
	body = envelope("Notification", "{\"Records\":[{\"eventName\":\"ObjectCreated:Put\"}]}");
	parse_bad(body, (size_t)-1, "S3 event notification (in an SNS message from topic "
		"'arn:aws:sns:us-west-2:123456789012:dep1-r1-sns-notification-topic'): Records[0].s3 is missing");
	s3i_free(s3i_test_alloc(), body);
	/* an envelope without a Message */
	parse_bad("{\"Type\":\"Notification\",\"TopicArn\":\"arn:aws:sns:us-east-1:123456789012:t\","
		"\"MessageId\":\"m\"}", (size_t)-1, "lacks a MessageId or a Message");
	s3i_s3_event ev;
	assert_int_equal(s3i_s3_event_parse(NULL, "{}", 2, NULL, NULL), S3I_EINVALID);
	(void)ev;
}

static void t_oom(void **state)
{
	(void)state;
	char *body = envelope("Notification", aws_event);
	const char *bodies[] = { aws_event, body, test_event };
	for (size_t k = 0; k < 3; k++) {
		int done = 0;
		for (long n = 0; n < 1000 && !done; n++) {
			s3i_s3_event ev;
			s3i_errinfo e;
			s3i_errinfo_init(&e);
			s3i_test_alloc_fail_after(n);
			int rc = s3i_s3_event_parse(&ev, bodies[k], strlen(bodies[k]), s3i_test_alloc(), &e);
			s3i_test_alloc_fail_after(-1);
			if (rc == S3I_OK) {
				done = 1;
				s3i_s3_event_dispose(&ev);
			} else {
				assert_int_equal(rc, S3I_ENOMEM);
				assert_non_null(strstr(e.message, "out of memory"));
			}
			assert_int_equal(s3i_test_alloc_outstanding(), 1);   /* only `body` */
		}
		assert_true(done);
	}
	s3i_free(s3i_test_alloc(), body);
}

/* ---------------------------------------------------------------- inventory keys */

static void span_is(const char *key, s3i_key_span sp, const char *want)
{
	char out[256];
	assert_int_equal(s3i_key_span_copy(key, sp, out, sizeof(out)), S3I_OK);
	assert_string_equal(out, want);
}

static void t_inventory_keys(void **state)
{
	(void)state;
	s3i_inventory_key k;
	/* our layout: prefix <account>/<region> */
	const char *key = "123456789012/eu-west-1/src.bucket/dep1-r1-s3-inventory/2024-01-02T03-04Z/manifest.checksum";
	s3i_inventory_key_parse(key, strlen(key), &k);
	assert_int_equal(k.kind, S3I_INVKEY_MANIFEST_CHECKSUM);
	span_is(key, k.prefix, "123456789012/eu-west-1");
	span_is(key, k.account, "123456789012");
	span_is(key, k.region, "eu-west-1");
	span_is(key, k.source_bucket, "src.bucket");
	span_is(key, k.config_id, "dep1-r1-s3-inventory");
	span_is(key, k.timestamp, "2024-01-02T03-04Z");
	span_is(key, k.folder, "123456789012/eu-west-1/src.bucket/dep1-r1-s3-inventory/2024-01-02T03-04Z/");
	span_is(key, k.name, "manifest.checksum");

	/* no destination prefix (AWS's own example layout) */
	key = "example-source-bucket/config1/2016-11-06T21-32Z/manifest.json";
	s3i_inventory_key_parse(key, strlen(key), &k);
	assert_int_equal(k.kind, S3I_INVKEY_MANIFEST_JSON);
	span_is(key, k.prefix, "");
	span_is(key, k.account, "");
	span_is(key, k.source_bucket, "example-source-bucket");
	span_is(key, k.timestamp, "2016-11-06T21-32Z");

	/* a deeper prefix that is not ours */
	key = "a/b/c/src/cfg/2016-11-06T21-32Z/manifest.checksum";
	s3i_inventory_key_parse(key, strlen(key), &k);
	assert_int_equal(k.kind, S3I_INVKEY_MANIFEST_CHECKSUM);
	span_is(key, k.prefix, "a/b/c");
	span_is(key, k.account, "");
	span_is(key, k.region, "");

	key = "123456789012/us-east-1/src/cfg/data/939c6d46-85a9-4ba8-87bd-9db705a579ce.csv.gz";
	s3i_inventory_key_parse(key, strlen(key), &k);
	assert_int_equal(k.kind, S3I_INVKEY_DATA);
	span_is(key, k.source_bucket, "src");
	span_is(key, k.config_id, "cfg");
	span_is(key, k.name, "939c6d46-85a9-4ba8-87bd-9db705a579ce.csv.gz");
	span_is(key, k.timestamp, "");
	span_is(key, k.account, "123456789012");

	key = "123456789012/us-east-1/src/cfg/hive/dt=2024-01-02-03-04/symlink.txt";
	s3i_inventory_key_parse(key, strlen(key), &k);
	assert_int_equal(k.kind, S3I_INVKEY_SYMLINK);
	span_is(key, k.source_bucket, "src");
	span_is(key, k.timestamp, "2024-01-02-03-04");

	const char *others[] = {
		"manifest.checksum",
		"cfg/2024-01-02T03-04Z/manifest.checksum",                 /* no source bucket */
		"p/src/cfg/2024-01-02T03:04Z/manifest.checksum",          /* wrong timestamp */
		"p/src/cfg/2024-01-02T03-04/manifest.json",
		"p//cfg/2024-01-02T03-04Z/manifest.json",                 /* empty bucket */
		"p/src//2024-01-02T03-04Z/manifest.json",                 /* empty config id */
		"p/src/cfg/2024-01-02T03-04Z/manifest.json.bak",
		"p/src/cfg/data/",                                        /* a folder marker */
		"p/src/cfg/hive/dt=2024-01-02/symlink.txt",
		"cfg/hive/dt=2024-01-02-03-04/symlink.txt",                /* no source bucket */
		"some/other/object.txt",
		"",
	};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		s3i_inventory_key_parse(others[i], strlen(others[i]), &k);
		if (k.kind != S3I_INVKEY_OTHER)
			fail_msg("'%s' classified as %d", others[i], k.kind);
		assert_int_equal(k.source_bucket.len, 0);
		assert_int_equal(k.name.len, 0);
	}
	s3i_inventory_key_parse(NULL, 0, &k);
	assert_int_equal(k.kind, S3I_INVKEY_OTHER);
	/* too deep to be a delivery */
	char deep[400] = "";
	for (int i = 0; i < 70; i++)
		strcat(deep, "a/");
	strcat(deep, "src/cfg/2024-01-02T03-04Z/manifest.json");
	s3i_inventory_key_parse(deep, strlen(deep), &k);
	assert_int_equal(k.kind, S3I_INVKEY_OTHER);

	char small[4];
	key = "123456789012/us-east-1/src/cfg/data/x.csv.gz";
	s3i_inventory_key_parse(key, strlen(key), &k);
	assert_int_equal(s3i_key_span_copy(key, k.account, small, sizeof(small)), S3I_EINVALID);
	assert_string_equal(small, "");
}

static void t_sibling(void **state)
{
	(void)state;
	s3i_buf b = S3I_BUF_INIT;
	b.alloc = s3i_test_alloc();
	const char *key = "p/src/cfg/2024-01-02T03-04Z/manifest.checksum";
	assert_int_equal(s3i_inventory_sibling_key(&b, key, strlen(key), "manifest.json"), S3I_OK);
	assert_string_equal(b.ptr, "p/src/cfg/2024-01-02T03-04Z/manifest.json");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_inventory_sibling_key(&b, "top", 3, "manifest.json"), S3I_OK);
	assert_string_equal(b.ptr, "manifest.json");
	assert_int_equal(s3i_inventory_sibling_key(&b, NULL, 0, "x"), S3I_EINVALID);
	s3i_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_aws_sample),
		S3I_TEST(t_moto_sample),
		S3I_TEST(t_sns_envelope),
		S3I_TEST(t_test_event),
		S3I_TEST(t_event_kinds),
		S3I_TEST(t_key_decoding),
		S3I_TEST(t_malformed),
		S3I_TEST(t_malformed_envelope),
		S3I_TEST(t_oom),
		S3I_TEST(t_inventory_keys),
		S3I_TEST(t_sibling),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
