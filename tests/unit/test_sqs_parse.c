/*
 * SQS helpers and response parsers (src/services/sqs.c) without a server: the region of every
 * queue URL form, queue names, redrive policies, and the CreateQueue/GetQueueUrl,
 * GetQueueAttributes, ReceiveMessage (MD5 checks), DeleteMessageBatch and SendMessage
 * parsers, strictness and out-of-memory behaviour.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "aws/sigv4.h"
#include "core/errinfo.h"
#include "core/str.h"
#include "services/sqs.h"
#include "test_alloc.h"

/* ------------------------------------------------------------------ URLs */

static void expect_region(const char *url, const char *fallback, const char *want)
{
	char out[64] = "unchanged";
	int rc = s3i_sqs_queue_url_region(url, fallback, out, sizeof(out));
	if (rc != S3I_OK || strcmp(out, want))
		fprintf(stderr, "%s -> %d '%s', want '%s'\n", url, rc, out, want);
	assert_int_equal(rc, S3I_OK);
	assert_string_equal(out, want);
}

static void test_region_of_each_url_form(void **state)
{
	(void)state;
	/* the current form, in every partition */
	expect_region("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "us-east-1", "eu-west-1");
	expect_region("https://sqs.us-east-1.amazonaws.com/123456789012/q", "eu-west-1", "us-east-1");
	expect_region("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", NULL, "cn-north-1");
	expect_region("https://sqs.us-gov-west-1.amazonaws.com/123456789012/q", NULL,
		"us-gov-west-1");
	expect_region("https://sqs-fips.us-gov-east-1.amazonaws.com/123456789012/q", NULL,
		"us-gov-east-1");
	expect_region("https://SQS.AP-Southeast-2.AmazonAWS.com/123456789012/q", NULL,
		"ap-southeast-2");
	expect_region("https://sqs.eu-central-1.amazonaws.com:443/123456789012/q.fifo", NULL,
		"eu-central-1");
	/* dual-stack and VPC endpoints */
	expect_region("https://sqs.eu-north-1.api.aws/123456789012/q", NULL, "eu-north-1");
	expect_region("https://vpce-0a1b2c3d-4e5f.sqs.ap-south-1.vpce.amazonaws.com/123456789012/q",
		NULL, "ap-south-1");
	/* the legacy forms */
	expect_region("https://eu-west-2.queue.amazonaws.com/123456789012/q", "us-east-1",
		"eu-west-2");
	expect_region("https://queue.amazonaws.com/123456789012/q", "eu-west-1", "us-east-1");
	expect_region("http://sa-east-1.queue.amazonaws.com/123456789012/q", NULL, "sa-east-1");
	/* custom endpoints name no region: the caller's */
	expect_region("http://127.0.0.1:5000/123456789012/q", "eu-west-1", "eu-west-1");
	expect_region("http://localhost:4566/000000000000/q", "us-west-2", "us-west-2");
	expect_region("https://sqs.example.com/123456789012/q", "ca-central-1", "ca-central-1");
	expect_region("https://sqs.notaregion.amazonaws.com/123456789012/q", "us-east-2",
		"us-east-2");
	/* a query string or fragment is no part of the name */
	expect_region("https://sqs.us-west-1.amazonaws.com/123456789012/q?x=1", NULL, "us-west-1");

	char out[64];
	assert_int_equal(s3i_sqs_queue_url_region("http://127.0.0.1:5000/123456789012/q", NULL, out,
		sizeof(out)), S3I_EINVALID);
	assert_int_equal(s3i_sqs_queue_url_region("http://127.0.0.1:5000/123456789012/q", "", out,
		sizeof(out)), S3I_EINVALID);
	const char *bad[] = { NULL, "", "sqs.us-east-1.amazonaws.com/123456789012/q",
		"ftp://sqs.us-east-1.amazonaws.com/1/q", "https://", "https:///1/q",
		"https://sqs.us-east-1.amazonaws.com", "https://sqs.us-east-1.amazonaws.com/",
		"https://sqs.us-east-1.amazonaws.com/123456789012/q/", "https://sq s.x/1/q",
		"https://sqs.us-east-1.amazonaws.com/1/q\x01" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(s3i_sqs_queue_url_region(bad[i], "us-east-1", out, sizeof(out)),
			S3I_EINVALID);
	/* too small an output */
	assert_int_equal(s3i_sqs_queue_url_region("https://sqs.eu-west-1.amazonaws.com/1/q", NULL,
		out, 9), S3I_EINVALID);
	assert_int_equal(s3i_sqs_queue_url_region("https://sqs.eu-west-1.amazonaws.com/1/q", NULL,
		out, 10), S3I_OK);
}

static void test_queue_name_of_url(void **state)
{
	(void)state;
	char name[100];
	assert_int_equal(s3i_sqs_queue_url_name("https://sqs.us-east-1.amazonaws.com/123456789012/"
		"d1-sqs-consolidate-inventory-files", name, sizeof(name)), S3I_OK);
	assert_string_equal(name, "d1-sqs-consolidate-inventory-files");
	assert_int_equal(s3i_sqs_queue_url_name("http://127.0.0.1:5000/123456789012/a.fifo#frag",
		name, sizeof(name)), S3I_OK);
	assert_string_equal(name, "a.fifo");
	assert_int_equal(s3i_sqs_queue_url_name("http://h/q", name, sizeof(name)), S3I_OK);
	assert_string_equal(name, "q");
	assert_int_equal(s3i_sqs_queue_url_name("http://h/q", name, 1), S3I_EINVALID);
	assert_int_equal(s3i_sqs_queue_url_name("http://h/it's", name, sizeof(name)), S3I_EINVALID);
	assert_int_equal(s3i_sqs_queue_url_name("http://h", name, sizeof(name)), S3I_EINVALID);
}

static void test_redrive_policy(void **state)
{
	(void)state;
	char out[200];
	assert_int_equal(s3i_sqs_redrive_policy(out, sizeof(out),
		"arn:aws:sqs:us-east-1:123456789012:d1-sqs-dlq", 5), S3I_OK);
	assert_string_equal(out, "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:123456789012:"
		"d1-sqs-dlq\",\"maxReceiveCount\":5}");
	assert_int_equal(s3i_sqs_redrive_policy(out, sizeof(out), "a\"b", 1), S3I_OK);
	assert_string_equal(out, "{\"deadLetterTargetArn\":\"a\\\"b\",\"maxReceiveCount\":1}");
	assert_int_equal(s3i_sqs_redrive_policy(out, sizeof(out), "arn", 0), S3I_EINVALID);
	assert_string_equal(out, "");
	assert_int_equal(s3i_sqs_redrive_policy(out, sizeof(out), "arn", 1001), S3I_EINVALID);
	assert_int_equal(s3i_sqs_redrive_policy(out, sizeof(out), "", 1), S3I_EINVALID);
	assert_int_equal(s3i_sqs_redrive_policy(out, 20, "arn:aws:sqs:x", 1), S3I_EINVALID);
}

/* ------------------------------------------------------------------ parsers */

#define PARSE_ERR(rc_, what_) do { \
	assert_int_equal(err.pub.code, (rc_)); \
	assert_non_null(strstr(err.message, (what_))); \
	assert_null(strchr(err.message, '\n')); \
} while (0)

static void test_queue_url_parse(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	char url[S3I_SQS_URL_MAX];
	const char *ok = "{\"QueueUrl\": \"http://127.0.0.1:5000/123456789012/central\"}";
	assert_int_equal(s3i_sqs_queue_url_parse(ok, strlen(ok), "CreateQueue", url, sizeof(url),
		&err), S3I_OK);
	assert_string_equal(url, "http://127.0.0.1:5000/123456789012/central");
	assert_int_equal(s3i_sqs_queue_url_parse(ok, strlen(ok), "CreateQueue", url, 10, &err),
		S3I_EINVALID);
	assert_string_equal(url, "");
	const char *bad[] = { "", "[]", "{}", "{\"QueueUrl\": 5}", "{\"QueueUrl\": \"\"}",
		"{\"QueueUrl\": \"central\"}", "{\"QueueUrl\": \"http://h/\"}", "{\"QueueUrl\":" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(s3i_sqs_queue_url_parse(bad[i], strlen(bad[i]), "GetQueueUrl", url,
			sizeof(url), &err), S3I_EPARSE);
		PARSE_ERR(S3I_EPARSE, "GetQueueUrl");
	}
}

static const char attrs_doc[] =
	"{\"Attributes\": {\"ApproximateNumberOfMessages\": \"3\", "
	"\"ApproximateNumberOfMessagesDelayed\": \"0\", "
	"\"ApproximateNumberOfMessagesNotVisible\": \"12\", \"CreatedTimestamp\": "
	"\"1796359110.226109\", \"QueueArn\": \"arn:aws:sqs:us-east-1:123456789012:main\", "
	"\"RedrivePolicy\": \"{\\\"deadLetterTargetArn\\\": \\\"arn:aws:sqs:us-east-1:"
	"123456789012:dlq\\\", \\\"maxReceiveCount\\\": 1}\", \"VisibilityTimeout\": \"30\"}}";

static void test_attrs_parse(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, s3i_test_alloc());
	assert_int_equal(s3i_sqs_attrs_parse(attrs_doc, strlen(attrs_doc), NULL, &at, &err), S3I_OK);
	assert_string_equal(at.arn, "arn:aws:sqs:us-east-1:123456789012:main");
	assert_int_equal(at.messages, 3);
	assert_int_equal(at.not_visible, 12);
	assert_int_equal(at.delayed, 0);
	assert_int_equal(at.all.count, 7);
	assert_non_null(strstr(s3i_sqs_attrs_get(&at, "RedrivePolicy"), "\"maxReceiveCount\": 1"));
	int64_t v = 0;
	assert_int_equal(s3i_sqs_attrs_i64(&at, "VisibilityTimeout", &v), S3I_OK);
	assert_int_equal(v, 30);
	assert_int_equal(s3i_sqs_attrs_i64(&at, "CreatedTimestamp", &v), S3I_EPARSE);
	assert_int_equal(v, 30);
	assert_int_equal(s3i_sqs_attrs_i64(&at, "Policy", &v), S3I_ENOTFOUND);

	/* {} and an empty map: nothing, counts -1 */
	assert_int_equal(s3i_sqs_attrs_parse("{}", 2, NULL, &at, &err), S3I_OK);
	assert_int_equal(at.all.count, 0);
	assert_null(at.arn);
	assert_int_equal(at.messages, -1);
	assert_int_equal(s3i_sqs_attrs_parse("{\"Attributes\":{}}", 17, NULL, &at, &err), S3I_OK);

	const char *bad[] = { "", "null", "{\"Attributes\": []}", "{\"Attributes\": {\"a\": 1}}",
		"{\"Attributes\": {\"a\": \"1\", \"a\": \"2\"}}",
		"{\"Attributes\": {\"ApproximateNumberOfMessages\": \"many\"}}",
		"{\"Attributes\": {\"ApproximateNumberOfMessages\": \"-1\"}}",
		"{\"Attributes\": {\"ApproximateNumberOfMessagesNotVisible\": \"99999999999999999999\"}}",
		"{\"Attributes\": {\"\": \"x\"}}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(s3i_sqs_attrs_parse(attrs_doc, strlen(attrs_doc), NULL, &at, &err),
			S3I_OK);
		int rc = s3i_sqs_attrs_parse(bad[i], strlen(bad[i]), "GetQueueAttributes of q", &at, &err);
		if (rc != S3I_EPARSE)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		assert_int_equal(rc, S3I_EPARSE);
		PARSE_ERR(S3I_EPARSE, "GetQueueAttributes of q");
		/* left empty */
		assert_int_equal(at.all.count, 0);
		assert_null(at.arn);
		assert_int_equal(at.messages, -1);
	}
	s3i_sqs_attrs_free(&at);
	s3i_sqs_attrs_free(&at);   /* twice is fine */
}

static void test_attrs_parse_out_of_memory(void **state)
{
	(void)state;
	for (long n = 0;; n++) {
		s3i_errinfo err;
		s3i_errinfo_init(&err);
		s3i_sqs_attrs at;
		s3i_sqs_attrs_init(&at, s3i_test_alloc());
		s3i_test_alloc_fail_after(n);
		int rc = s3i_sqs_attrs_parse(attrs_doc, strlen(attrs_doc), NULL, &at, &err);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK) {
			assert_int_equal(at.all.count, 7);
			s3i_sqs_attrs_free(&at);
			break;
		}
		assert_int_equal(rc, S3I_ENOMEM);
		assert_int_equal(at.all.count, 0);
		s3i_sqs_attrs_free(&at);
		assert_true(n < 100);
	}
}

/* ---- ReceiveMessage ---- */

typedef struct seen {
	size_t count;
	char ids[4][64];
	int32_t receive_count[4];
	int64_t sent_ms[4];
	char sender[4][64];
	size_t body_len[4];
	size_t stop_after;
} seen;

static int on_message(void *payload, const s3i_sqs_message *m)
{
	seen *s = payload;
	assert_true(s->count < 4);
	snprintf(s->ids[s->count], sizeof(s->ids[0]), "%s", m->message_id);
	s->receive_count[s->count] = m->receive_count;
	s->sent_ms[s->count] = m->sent_ms;
	const char *sid = s3i_sqs_message_attribute(m, "SenderId");
	snprintf(s->sender[s->count], sizeof(s->sender[0]), "%s", sid ? sid : "(none)");
	s->body_len[s->count] = m->body_len;
	assert_null(s3i_sqs_message_attribute(m, "NoSuch"));
	s->count++;
	return s->stop_after && s->count >= s->stop_after;
}

/* Captured from moto 5.2.1 (an SNS envelope and a plain body); MD5s are of the bodies. */
static const char receive_doc[] =
	"{\"Messages\": [{\"MessageId\": \"ad6c4b6c-5a7a-42bf-98d0-801f36e6db12\", "
	"\"ReceiptHandle\": \"smnwluqilbvigwilxocbvltxfyqssgieuqayinusxq\", "
	"\"MD5OfBody\": \"5d41402abc4b2a76b9719d911017c592\", \"Body\": \"hello\", "
	"\"Attributes\": {\"SenderId\": \"AIDAIT2UOQQY3AUEKVGXU\", \"SentTimestamp\": "
	"\"1796359110234\", \"ApproximateReceiveCount\": \"2\", "
	"\"ApproximateFirstReceiveTimestamp\": \"1796359110246\"}}, "
	"{\"MessageId\": \"m2\", \"ReceiptHandle\": \"rh2\", "
	"\"MD5OfBody\": \"E3E6C9F1E4FA3D1C1B4B3D1E6F0E2A7A\", \"Body\": \"caf\\u00e9 \\ud83d\\ude00\"}]}";

static void fix_md5_of_second(char *doc)
{
	/* md5 of "café 😀" in UTF-8, computed here rather than trusted */
	unsigned char raw[16];
	char hex[33];
	const char *body = "caf\xc3\xa9 \xf0\x9f\x98\x80";
	assert_int_equal(s3i_md5(body, strlen(body), raw), 0);
	s3i_hex_encode(hex, raw, 16);
	char *p = strstr(doc, "E3E6C9F1E4FA3D1C1B4B3D1E6F0E2A7A");
	assert_non_null(p);
	for (int i = 0; i < 32; i++)
		p[i] = (char)(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);   /* upper case is fine */
}

static void test_receive_parse(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	char doc[sizeof(receive_doc)];
	memcpy(doc, receive_doc, sizeof(doc));
	fix_md5_of_second(doc);
	seen s;
	memset(&s, 0, sizeof(s));
	size_t n = 0;
	assert_int_equal(s3i_sqs_receive_parse(doc, strlen(doc), NULL, on_message, &s, &n, &err),
		S3I_OK);
	assert_int_equal(n, 2);
	assert_int_equal(s.count, 2);
	assert_string_equal(s.ids[0], "ad6c4b6c-5a7a-42bf-98d0-801f36e6db12");
	assert_int_equal(s.receive_count[0], 2);
	assert_int_equal(s.sent_ms[0], 1796359110234LL);
	assert_string_equal(s.sender[0], "AIDAIT2UOQQY3AUEKVGXU");
	assert_int_equal(s.body_len[0], 5);
	assert_int_equal(s.receive_count[1], 0);
	assert_int_equal(s.sent_ms[1], 0);
	assert_string_equal(s.sender[1], "(none)");
	assert_int_equal(s.body_len[1], 10);

	/* stopping */
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(s3i_sqs_receive_parse(doc, strlen(doc), "Receive from q", on_message, &s,
		&n, &err), S3I_EUSER);
	PARSE_ERR(S3I_EUSER, "stopped by the callback at message 'ad6c4b6c");
	assert_int_equal(s.count, 1);

	/* no messages */
	const char *empty[] = { "{}", "{\"Messages\": []}", "{\"Messages\": null}", " { } " };
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		n = 9;
		assert_int_equal(s3i_sqs_receive_parse(empty[i], strlen(empty[i]), NULL, on_message, &s,
			&n, &err), S3I_OK);
		assert_int_equal(n, 0);
	}
}

static void test_receive_md5_mismatch_stops_before_any_callback(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	/* the second message's MD5 is wrong (receive_doc's placeholder): the first is not handed out */
	seen s;
	memset(&s, 0, sizeof(s));
	size_t n = 0;
	assert_int_equal(s3i_sqs_receive_parse(receive_doc, strlen(receive_doc), "ReceiveMessage on q",
		on_message, &s, &n, &err), S3I_ECHECKSUM);
	PARSE_ERR(S3I_ECHECKSUM, "message 'm2'");
	assert_non_null(strstr(err.message, "MD5OfBody"));
	assert_int_equal(s.count, 0);
	assert_int_equal(n, 2);
	/* a single changed byte of the body */
	const char *one = "{\"Messages\":[{\"MessageId\":\"x\",\"ReceiptHandle\":\"r\",\"Body\":"
		"\"hellp\",\"MD5OfBody\":\"5d41402abc4b2a76b9719d911017c592\"}]}";
	assert_int_equal(s3i_sqs_receive_parse(one, strlen(one), NULL, on_message, &s, &n, &err),
		S3I_ECHECKSUM);
}

static void test_receive_parse_strict(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	const char *bad[] = {
		"", "[]", "{\"Messages\": {}}", "{\"Messages\": [1]}",
		"{\"Messages\": [{\"ReceiptHandle\":\"r\",\"Body\":\"\",\"MD5OfBody\":"
			"\"d41d8cd98f00b204e9800998ecf8427e\"}]}",
		"{\"Messages\": [{\"MessageId\":\"\",\"ReceiptHandle\":\"r\",\"Body\":\"\","
			"\"MD5OfBody\":\"d41d8cd98f00b204e9800998ecf8427e\"}]}",
		"{\"Messages\": [{\"MessageId\":\"m\",\"Body\":\"\",\"MD5OfBody\":"
			"\"d41d8cd98f00b204e9800998ecf8427e\"}]}",
		"{\"Messages\": [{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":5,"
			"\"MD5OfBody\":\"d41d8cd98f00b204e9800998ecf8427e\"}]}",
		"{\"Messages\": [{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"}]}",
		"{\"Messages\": [{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\","
			"\"MD5OfBody\":\"d41d8cd98f00b204e9800998ecf8427e\",\"Attributes\":[]}]}",
		"{\"Messages\": [{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\","
			"\"MD5OfBody\":\"d41d8cd98f00b204e9800998ecf8427e\",\"Attributes\":{\"A\":1}}]}",
		"{\"Messages\": [{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\","
			"\"MD5OfBody\":\"d41d8cd98f00b204e9800998ecf8427e\",\"Attributes\":"
			"{\"ApproximateReceiveCount\":\"two\"}}]}",
		"{\"Messages\": [{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\","
			"\"MD5OfBody\":\"d41d8cd98f00b204e9800998ecf8427e\",\"Attributes\":"
			"{\"ApproximateReceiveCount\":\"99999999999\"}}]}",
		"{\"Messages\": [{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\","
			"\"MD5OfBody\":\"d41d8cd98f00b204e9800998ecf8427e\",\"Attributes\":"
			"{\"SentTimestamp\":\"-5\"}}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		seen s;
		memset(&s, 0, sizeof(s));
		int rc = s3i_sqs_receive_parse(bad[i], strlen(bad[i]), "ReceiveMessage on q", on_message,
			&s, NULL, &err);
		if (rc != S3I_EPARSE)
			fprintf(stderr, "case %zu: %d\n", i, rc);
		assert_int_equal(rc, S3I_EPARSE);
		PARSE_ERR(S3I_EPARSE, "ReceiveMessage on q");
		assert_int_equal(s.count, 0);
	}
	/* an empty body with the MD5 of nothing is a message */
	const char *ok = "{\"Messages\": [{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\","
		"\"MD5OfBody\":\"d41d8cd98f00b204e9800998ecf8427e\",\"MD5OfMessageAttributes\":\"x\","
		"\"Attributes\":null}]}";
	assert_int_equal(s3i_sqs_receive_parse(ok, strlen(ok), NULL, NULL, NULL, NULL, &err), S3I_OK);
}

/* ---- DeleteMessageBatch ---- */

typedef struct fails {
	size_t count;
	size_t index[10];
	char code[10][64];
	int sender[10];
	int stop;
} fails;

static int on_fail(void *payload, size_t index, const char *code, const char *message,
	int sender_fault)
{
	fails *f = payload;
	assert_non_null(message);
	f->index[f->count] = index;
	snprintf(f->code[f->count], sizeof(f->code[0]), "%s", code);
	f->sender[f->count] = sender_fault;
	f->count++;
	return f->stop;
}

static void test_delete_batch_parse(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	fails f;
	memset(&f, 0, sizeof(f));
	size_t nf = 9, ns = 9;
	const char *all = "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"2\"},{\"Id\":\"1\"}],\"Failed\":[]}";
	assert_int_equal(s3i_sqs_delete_batch_parse(all, strlen(all), NULL, 3, on_fail, &f, &nf, &ns,
		&err), S3I_OK);
	assert_int_equal(nf, 0);
	assert_int_equal(ns, 0);
	assert_int_equal(f.count, 0);

	const char *some = "{\"Successful\":[{\"Id\":\"1\"}],\"Failed\":[{\"Id\":\"2\","
		"\"SenderFault\":true,\"Code\":\"ReceiptHandleIsInvalid\",\"Message\":\"bad\"},"
		"{\"Id\":\"0\",\"SenderFault\":false,\"Code\":\"InternalError\"}]}";
	assert_int_equal(s3i_sqs_delete_batch_parse(some, strlen(some), NULL, 3, on_fail, &f, &nf,
		&ns, &err), S3I_OK);
	assert_int_equal(nf, 2);
	assert_int_equal(ns, 1);
	assert_int_equal(f.count, 2);
	assert_int_equal(f.index[0], 2);
	assert_string_equal(f.code[0], "ReceiptHandleIsInvalid");
	assert_int_equal(f.sender[0], 1);
	assert_int_equal(f.index[1], 0);
	assert_int_equal(f.sender[1], 0);

	memset(&f, 0, sizeof(f));
	f.stop = 1;
	assert_int_equal(s3i_sqs_delete_batch_parse(some, strlen(some), "Delete on q", 3, on_fail, &f,
		&nf, &ns, &err), S3I_EUSER);
	assert_int_equal(f.count, 1);

	/* ten entries: Ids 0..9 */
	const char *ten = "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"1\"},{\"Id\":\"2\"},{\"Id\":\"3\"},"
		"{\"Id\":\"4\"},{\"Id\":\"5\"},{\"Id\":\"6\"},{\"Id\":\"7\"},{\"Id\":\"8\"},{\"Id\":\"9\"}]}";
	assert_int_equal(s3i_sqs_delete_batch_parse(ten, strlen(ten), NULL, 10, NULL, NULL, NULL, NULL,
		&err), S3I_OK);
	assert_int_equal(s3i_sqs_delete_batch_parse(ten, strlen(ten), NULL, 11, NULL, NULL, NULL, NULL,
		&err), S3I_EINVALID);

	const char *bad[] = {
		"", "[]", "{\"Successful\":{}}",
		"{\"Successful\":[{\"Id\":\"0\"}]}",                             /* entry 1 missing */
		"{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"0\"},{\"Id\":\"1\"}]}", /* twice */
		"{\"Successful\":[{\"Id\":\"0\"}],\"Failed\":[{\"Id\":\"0\",\"Code\":\"X\"}]}",
		"{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"2\"}]}",              /* not ours */
		"{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"01\"}]}",
		"{\"Successful\":[{\"Id\":\"0\"},{\"Id\":1}]}",
		"{\"Successful\":[{\"Id\":\"0\"}],\"Failed\":[{\"Id\":\"1\"}]}",  /* no Code */
		"{\"Successful\":[\"0\",\"1\"]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&f, 0, sizeof(f));
		int rc = s3i_sqs_delete_batch_parse(bad[i], strlen(bad[i]), "Delete on q", 2, on_fail, &f,
			&nf, &ns, &err);
		if (rc != S3I_EPARSE)
			fprintf(stderr, "case %zu: %d\n", i, rc);
		assert_int_equal(rc, S3I_EPARSE);
		PARSE_ERR(S3I_EPARSE, "Delete on q");
		assert_int_equal(f.count, 0);
		assert_int_equal(nf, 0);
	}
}

static void test_send_parse(void **state)
{
	(void)state;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	char id[S3I_SQS_ID_MAX];
	const char *ok = "{\"MD5OfMessageBody\": \"5d41402abc4b2a76b9719d911017c592\", \"MessageId\": "
		"\"ad6c4b6c-5a7a-42bf-98d0-801f36e6db12\"}";
	assert_int_equal(s3i_sqs_send_parse(ok, strlen(ok), NULL, "hello", 5, id, sizeof(id), &err),
		S3I_OK);
	assert_string_equal(id, "ad6c4b6c-5a7a-42bf-98d0-801f36e6db12");
	assert_int_equal(s3i_sqs_send_parse(ok, strlen(ok), NULL, "hello", 5, NULL, 0, &err), S3I_OK);
	assert_int_equal(s3i_sqs_send_parse(ok, strlen(ok), "SendMessage to q", "hellO", 5, id,
		sizeof(id), &err), S3I_ECHECKSUM);
	PARSE_ERR(S3I_ECHECKSUM, "'ad6c4b6c-5a7a-42bf-98d0-801f36e6db12'");
	assert_string_equal(id, "");
	assert_int_equal(s3i_sqs_send_parse(ok, strlen(ok), NULL, "hello", 5, id, 8, &err),
		S3I_EPARSE);
	const char *bad[] = { "", "{}", "{\"MessageId\":\"x\"}", "{\"MD5OfMessageBody\":\"x\"}",
		"{\"MessageId\":\"\",\"MD5OfMessageBody\":\"5d41402abc4b2a76b9719d911017c592\"}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(s3i_sqs_send_parse(bad[i], strlen(bad[i]), "SendMessage to q", "hello", 5,
			id, sizeof(id), &err), S3I_EPARSE);
		PARSE_ERR(S3I_EPARSE, "SendMessage to q");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_region_of_each_url_form),
		S3I_TEST(test_queue_name_of_url),
		S3I_TEST(test_redrive_policy),
		S3I_TEST(test_queue_url_parse),
		S3I_TEST(test_attrs_parse),
		S3I_TEST(test_attrs_parse_out_of_memory),
		S3I_TEST(test_receive_parse),
		S3I_TEST(test_receive_md5_mismatch_stops_before_any_callback),
		S3I_TEST(test_receive_parse_strict),
		S3I_TEST(test_delete_batch_parse),
		S3I_TEST(test_send_parse),
	};
	return cmocka_run_group_tests_name("sqs_parse", tests, NULL, NULL);
}
