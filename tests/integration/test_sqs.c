/*
 * SQS operations (src/services/sqs.c) against moto_server: queue lifecycle with attributes,
 * tags and policies, send/receive/batch delete with MD5 checks, visibility, long polls that
 * outlast a short client timeout, a queue in a second region used from a us-east-1 client,
 * a dead-letter queue (redrive), throttling and 5xx through /_fault, damaged checksums, error
 * mapping for missing queues, and a second account reached through AssumeRole. Every context
 * uses the counting allocator, so a leak fails the test that caused it.
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
#include "services/sqs.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

static s3i_moto *moto;

static int group_setup(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);   /* fast client retries */
	return s3i_moto_start(&moto, NULL);
}

/* rc must be `code`, and the thread's error must mention every string given. */
/* A context on moto with the counting allocator and dummy keys; request_timeout_ms 0: none. */
static s3i_ctx *open_ctx(s3i_svc *svc, int32_t request_timeout_ms)
{
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	o.log_fn = s3i_check_log;
	o.log_level = S3I_LOG_WARN;
	o.request_timeout_ms = request_timeout_ms;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	svc->client = s3i_ctx_client(ctx);
	svc->creds = NULL;
	svc->region = NULL;
	return ctx;
}

static s3i_ctx *begin(s3i_svc *svc)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	return open_ctx(svc, 0);
}

static void make_queue(const s3i_svc *svc, const char *name, char *url)
{
	CHECK_OK(s3i_sqs_create_queue_op(svc, name, NULL, 0, NULL, 0, url, S3I_SQS_URL_MAX, NULL));
}

static void queue_arn(const s3i_svc *svc, const char *url, char *arn, size_t cap)
{
	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, s3i_test_alloc());
	const char *names[] = { "QueueArn" };
	CHECK_OK(s3i_sqs_get_queue_attributes_op(svc, url, names, 1, &at, NULL));
	assert_non_null(at.arn);
	snprintf(arn, cap, "%s", at.arn);
	s3i_sqs_attrs_free(&at);
}

/* Messages seen by a receive callback. */
typedef struct got {
	size_t count;
	char ids[40][S3I_SQS_ID_MAX];
	char handles[40][1024];
	char bodies[40][256];
	int32_t receive_count[40];
	int64_t sent_ms[40];
	size_t stop_after;
} got;

static int collect(void *payload, const s3i_sqs_message *m)
{
	got *g = payload;
	assert_true(g->count < 40);
	assert_int_equal(strlen(m->body), m->body_len);
	snprintf(g->ids[g->count], sizeof(g->ids[0]), "%s", m->message_id);
	snprintf(g->handles[g->count], sizeof(g->handles[0]), "%s", m->receipt_handle);
	snprintf(g->bodies[g->count], sizeof(g->bodies[0]), "%s", m->body);
	g->receive_count[g->count] = m->receive_count;
	g->sent_ms[g->count] = m->sent_ms;
	g->count++;
	return g->stop_after && g->count >= g->stop_after;
}

/* Receive until `want` messages came or a short poll comes back empty twice. */
static void receive_all(const s3i_svc *svc, const char *url, got *g, size_t want)
{
	int empty = 0;
	while (g->count < want && empty < 2) {
		size_t n = 0;
		s3i_sqs_receive_opts o = { .max_messages = 10, .wait_seconds = 1 };
		CHECK_OK(s3i_sqs_receive_op(svc, url, &o, collect, g, &n, NULL));
		empty = n ? 0 : empty + 1;
	}
}

/* ------------------------------------------------------------------ queues */

static void test_queue_lifecycle(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	const s3i_sqs_kv attrs[] = { { "VisibilityTimeout", "45" },
		{ "MessageRetentionPeriod", "86400" } };
	const s3i_sqs_kv tags[] = { { "project", "s3insights" }, { "run", "r1" } };
	char url[S3I_SQS_URL_MAX], again[S3I_SQS_URL_MAX];
	CHECK_OK(s3i_sqs_create_queue_op(&svc, "d1-sqs-consolidate-inventory-files", attrs, 2, tags,
		2, url, sizeof(url), NULL));
	assert_non_null(strstr(url, "/123456789012/d1-sqs-consolidate-inventory-files"));
	/* the same attributes again: the same queue, as on AWS */
	CHECK_OK(s3i_sqs_create_queue_op(&svc, "d1-sqs-consolidate-inventory-files", attrs, 2, NULL,
		0, again, sizeof(again), NULL));
	assert_string_equal(url, again);
	CHECK_OK(s3i_sqs_get_queue_url_op(&svc, "d1-sqs-consolidate-inventory-files", NULL, again,
		sizeof(again), NULL));
	assert_string_equal(url, again);

	/* other attributes: EEXISTS naming the queue */
	const s3i_sqs_kv other[] = { { "VisibilityTimeout", "46" } };
	int rc = s3i_sqs_create_queue_op(&svc, "d1-sqs-consolidate-inventory-files", other, 1, NULL,
		0, again, sizeof(again), NULL);
	const char *ex[] = { "CreateQueue", "queue 'd1-sqs-consolidate-inventory-files' already "
		"exists in us-east-1", NULL };
	s3i_check_expect_error(rc, S3I_EEXISTS, NULL, ex);
	assert_string_equal(s3i_error_last()->resource, "queue 'd1-sqs-consolidate-inventory-files'");

	/* every attribute, typed and by name */
	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, s3i_test_alloc());
	CHECK_OK(s3i_sqs_get_queue_attributes_op(&svc, url, NULL, 0, &at, NULL));
	assert_string_equal(at.arn,
		"arn:aws:sqs:us-east-1:123456789012:d1-sqs-consolidate-inventory-files");
	assert_int_equal(at.messages, 0);
	assert_int_equal(at.not_visible, 0);
	assert_int_equal(at.delayed, 0);
	assert_string_equal(s3i_sqs_attrs_get(&at, "VisibilityTimeout"), "45");
	int64_t v = 0;
	CHECK_OK(s3i_sqs_attrs_i64(&at, "MessageRetentionPeriod", &v));
	assert_int_equal(v, 86400);
	assert_int_equal(s3i_sqs_attrs_i64(&at, "NoSuchAttribute", &v), S3I_ENOTFOUND);
	assert_null(s3i_sqs_attrs_get(&at, "Policy"));

	/* a policy, read back by name only */
	const char *policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
		"\"Principal\":{\"Service\":\"sns.amazonaws.com\"},\"Action\":\"sqs:SendMessage\","
		"\"Resource\":\"*\"}]}";
	const s3i_sqs_kv set[] = { { "Policy", policy }, { "VisibilityTimeout", "60" } };
	CHECK_OK(s3i_sqs_set_queue_attributes_op(&svc, url, set, 2, NULL));
	const char *names[] = { "Policy", "VisibilityTimeout" };
	CHECK_OK(s3i_sqs_get_queue_attributes_op(&svc, url, names, 2, &at, NULL));
	assert_non_null(strstr(s3i_sqs_attrs_get(&at, "Policy"), "sqs:SendMessage"));
	assert_string_equal(s3i_sqs_attrs_get(&at, "VisibilityTimeout"), "60");
	assert_null(at.arn);
	assert_int_equal(at.messages, -1);
	s3i_sqs_attrs_free(&at);

	/* the tags arrived (read back independently of the library) */
	char body[1200];
	snprintf(body, sizeof(body), "{\"QueueUrl\":\"%s\"}", url);
	const char *hdrs[] = { "X-Amz-Target: AmazonSQS.ListQueueTags", NULL };
	s3i_moto_req req = { .service = "sqs", .path = "/", .body = body,
		.content_type = "application/x-amz-json-1.0", .headers = hdrs };
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &req, &out, &status), 0);
	assert_int_equal(status, 200);
	assert_non_null(strstr(out, "\"project\""));
	assert_non_null(strstr(out, "\"s3insights\""));
	free(out);

	CHECK_OK(s3i_sqs_delete_queue_op(&svc, url, NULL));
	rc = s3i_sqs_get_queue_url_op(&svc, "d1-sqs-consolidate-inventory-files", NULL, again,
		sizeof(again), NULL);
	const char *gone[] = { "GetQueueUrl", "queue 'd1-sqs-consolidate-inventory-files' does not "
		"exist in us-east-1", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, gone);
	assert_string_equal(again, "");
	s3i_ctx_release(ctx);
}

static void test_invalid_arguments(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char url[S3I_SQS_URL_MAX];
	int rc = s3i_sqs_create_queue_op(&svc, "bad name", NULL, 0, NULL, 0, url, sizeof(url), NULL);
	const char *bn[] = { "CreateQueue", "'bad name' is not a queue name", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, bn);
	rc = s3i_sqs_receive_op(&svc, "not a url", NULL, NULL, NULL, NULL, NULL);
	const char *bu[] = { "ReceiveMessage", "'not a url' is not a queue URL", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, bu);
	make_queue(&svc, "q", url);
	s3i_sqs_receive_opts o = { .max_messages = 11 };
	rc = s3i_sqs_receive_op(&svc, url, &o, NULL, NULL, NULL, NULL);
	const char *mm[] = { "max_messages 11", "queue 'q'", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, mm);
	o.max_messages = 1;
	o.wait_seconds = 21;
	rc = s3i_sqs_receive_op(&svc, url, &o, NULL, NULL, NULL, NULL);
	const char *ws[] = { "wait_seconds 21", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, ws);
	rc = s3i_sqs_change_visibility_op(&svc, url, "h", 43201, NULL);
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, NULL);
	rc = s3i_sqs_send_op(&svc, url, "", 0, NULL, 0, NULL);
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, NULL);
	rc = s3i_sqs_set_queue_attributes_op(&svc, url, NULL, 0, NULL);
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, NULL);
	s3i_sqs_delete_entry e = { "m1", "" };
	rc = s3i_sqs_delete_batch_op(&svc, url, &e, 1, NULL, NULL, NULL, NULL);
	const char *rh[] = { "message 'm1'", "no receipt handle", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, rh);
	s3i_ctx_release(ctx);
}

static void test_missing_queue_everywhere(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char url[S3I_SQS_URL_MAX];
	int rc = s3i_sqs_get_queue_url_op(&svc, "nope", NULL, url, sizeof(url), NULL);
	const char *m[] = { "queue 'nope' does not exist in us-east-1", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, m);
	assert_string_equal(s3i_error_last()->resource, "queue 'nope'");

	snprintf(url, sizeof(url), "%s/123456789012/nope", s3i_moto_url(moto));
	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, s3i_test_alloc());
	rc = s3i_sqs_get_queue_attributes_op(&svc, url, NULL, 0, &at, NULL);
	const char *ga[] = { "GetQueueAttributes", "queue 'nope' does not exist in us-east-1", url,
		NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, ga);
	assert_int_equal(at.all.count, 0);
	rc = s3i_sqs_set_queue_attributes_op(&svc, url, &(s3i_sqs_kv){ "DelaySeconds", "1" }, 1, NULL);
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, m);
	size_t n = 7;
	rc = s3i_sqs_receive_op(&svc, url, NULL, collect, NULL, &n, NULL);
	const char *rm[] = { "ReceiveMessage", "queue 'nope' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, rm);
	assert_int_equal(n, 0);
	char id[S3I_SQS_ID_MAX];
	rc = s3i_sqs_send_op(&svc, url, "hello", 0, id, sizeof(id), NULL);
	const char *sm[] = { "SendMessage", "queue 'nope' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, sm);
	s3i_sqs_delete_entry e = { "m1", "handle" };
	rc = s3i_sqs_delete_batch_op(&svc, url, &e, 1, NULL, NULL, NULL, NULL);
	const char *db[] = { "DeleteMessageBatch", "queue 'nope' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, db);
	rc = s3i_sqs_change_visibility_op(&svc, url, "handle", 0, NULL);
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, m);
	rc = s3i_sqs_delete_queue_op(&svc, url, NULL);
	const char *dq[] = { "DeleteQueue", "queue 'nope' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, dq);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ messages */

typedef struct failures {
	size_t count;
	char ids[4][64];
	char codes[4][64];
	int sender;
} failures;

static int on_failed(void *payload, const s3i_sqs_delete_entry *entry, const char *code,
	const char *message, int sender_fault)
{
	failures *f = payload;
	assert_non_null(message);
	assert_true(f->count < 4);
	snprintf(f->ids[f->count], sizeof(f->ids[0]), "%s", entry->message_id);
	snprintf(f->codes[f->count], sizeof(f->codes[0]), "%s", code);
	f->sender += sender_fault;
	f->count++;
	return 0;
}

static void test_send_receive_delete_batches(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char url[S3I_SQS_URL_MAX];
	make_queue(&svc, "central", url);
	char id[S3I_SQS_ID_MAX];
	for (int i = 0; i < 25; i++) {
		char body[64];
		snprintf(body, sizeof(body), "{\"n\": %d, \"text\": \"h\\u00e9llo \\u2603\"}", i);
		CHECK_OK(s3i_sqs_send_op(&svc, url, body, 0, id, sizeof(id), NULL));
		assert_true(strlen(id) > 10);
	}
	/* UTF-8 beyond ASCII: the MD5 is over the bytes */
	CHECK_OK(s3i_sqs_send_op(&svc, url, "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80", 0, NULL, 0,
		NULL));
	static got g;
	memset(&g, 0, sizeof(g));
	receive_all(&svc, url, &g, 26);
	assert_int_equal(g.count, 26);
	int saw_utf8 = 0;
	for (size_t i = 0; i < g.count; i++) {
		assert_int_equal(g.receive_count[i], 1);
		assert_true(g.sent_ms[i] > 1500000000000LL);
		saw_utf8 |= !strcmp(g.bodies[i], "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80");
	}
	assert_true(saw_utf8);

	/* 26 deletions in three requests, one entry broken: it alone fails, named by its id */
	static s3i_sqs_delete_entry entries[27];
	for (size_t i = 0; i < 26; i++) {
		entries[i].message_id = g.ids[i];
		entries[i].receipt_handle = g.handles[i];
	}
	entries[26].message_id = "broken-one";
	entries[26].receipt_handle = "garbage";
	failures f = { 0 };
	size_t nfailed = 0;
	int rc = s3i_sqs_delete_batch_op(&svc, url, entries, 27, on_failed, &f, &nfailed, NULL);
	const char *m[] = { "DeleteMessageBatch on queue 'central'", "1 of 27", "'broken-one'",
		"ReceiptHandleIsInvalid", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "ReceiptHandleIsInvalid", m);
	assert_int_equal(nfailed, 1);
	assert_int_equal(f.count, 1);
	assert_string_equal(f.ids[0], "broken-one");
	assert_string_equal(f.codes[0], "ReceiptHandleIsInvalid");
	assert_int_equal(f.sender, 1);

	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, s3i_test_alloc());
	CHECK_OK(s3i_sqs_get_queue_attributes_op(&svc, url, NULL, 0, &at, NULL));
	assert_int_equal(at.messages, 0);
	assert_int_equal(at.not_visible, 0);
	s3i_sqs_attrs_free(&at);

	/* the callback can stop a receive; the rest stay in flight */
	CHECK_OK(s3i_sqs_send_op(&svc, url, "a", 0, NULL, 0, NULL));
	CHECK_OK(s3i_sqs_send_op(&svc, url, "b", 0, NULL, 0, NULL));
	memset(&g, 0, sizeof(g));
	g.stop_after = 1;
	size_t n = 0;
	s3i_sqs_receive_opts o = { .max_messages = 10, .wait_seconds = 1 };
	rc = s3i_sqs_receive_op(&svc, url, &o, collect, &g, &n, NULL);
	if (n == 2) {
		const char *st[] = { "stopped by the callback", NULL };
		s3i_check_expect_error(rc, S3I_EUSER, NULL, st);
		assert_string_equal(s3i_error_last()->resource, "queue 'central'");
	} else {
		CHECK_OK(rc);
	}
	assert_int_equal(g.count, 1);
	s3i_ctx_release(ctx);
}

static void test_visibility(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char url[S3I_SQS_URL_MAX];
	make_queue(&svc, "vis", url);
	CHECK_OK(s3i_sqs_send_op(&svc, url, "once", 0, NULL, 0, NULL));
	static got g;
	memset(&g, 0, sizeof(g));
	s3i_sqs_receive_opts o = { .max_messages = 1, .visibility_timeout = 600,
		.use_visibility_timeout = 1 };
	CHECK_OK(s3i_sqs_receive_op(&svc, url, &o, collect, &g, NULL, NULL));
	assert_int_equal(g.count, 1);
	assert_int_equal(g.receive_count[0], 1);
	/* in flight: nothing to receive */
	size_t n = 9;
	CHECK_OK(s3i_sqs_receive_op(&svc, url, &o, collect, &g, &n, NULL));
	assert_int_equal(n, 0);
	/* visible again at once, with a second receive count */
	CHECK_OK(s3i_sqs_change_visibility_op(&svc, url, g.handles[0], 0, NULL));
	const char *names[] = { "ApproximateReceiveCount" };
	o.attribute_names = names;
	o.nattribute_names = 1;
	CHECK_OK(s3i_sqs_receive_op(&svc, url, &o, collect, &g, &n, NULL));
	assert_int_equal(n, 1);
	assert_string_equal(g.ids[1], g.ids[0]);
	assert_int_equal(g.receive_count[1], 2);
	assert_int_equal(g.sent_ms[1], 0);   /* not asked for */
	int rc = s3i_sqs_change_visibility_op(&svc, url, "garbage", 0, NULL);
	const char *m[] = { "ChangeMessageVisibility on queue 'vis'", "receipt handle is not valid",
		NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "ReceiptHandleIsInvalid", m);
	s3i_ctx_release(ctx);
}

/* A long poll must outlast a client whose per-attempt timeout is shorter than the poll. */
static void test_long_poll_outlasts_client_timeout(void **state)
{
	(void)state;
	assert_int_equal(s3i_moto_reset(moto), 0);
	s3i_svc svc;
	s3i_ctx *ctx = open_ctx(&svc, 1000);
	char url[S3I_SQS_URL_MAX];
	make_queue(&svc, "quiet", url);
	size_t n = 5;
	s3i_sqs_receive_opts o = { .wait_seconds = 2 };
	CHECK_OK(s3i_sqs_receive_op(&svc, url, &o, NULL, NULL, &n, NULL));
	assert_int_equal(n, 0);
	/* and a message sent before the poll is returned by it */
	CHECK_OK(s3i_sqs_send_op(&svc, url, "late", 0, NULL, 0, NULL));
	static got g;
	memset(&g, 0, sizeof(g));
	o.wait_seconds = 20;
	CHECK_OK(s3i_sqs_receive_op(&svc, url, &o, collect, &g, &n, NULL));
	assert_int_equal(n, 1);
	assert_string_equal(g.bodies[0], "late");
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ regions */

static void test_queue_in_second_region(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_svc west = { svc.client, NULL, "eu-west-1" };
	char east_url[S3I_SQS_URL_MAX], west_url[S3I_SQS_URL_MAX];
	make_queue(&svc, "shared", east_url);
	make_queue(&west, "shared", west_url);
	/* moto's URLs carry no region: the caller's region decides (here they are equal) */
	assert_string_equal(east_url, west_url);
	char arn[256];
	queue_arn(&west, west_url, arn, sizeof(arn));
	assert_string_equal(arn, "arn:aws:sqs:eu-west-1:123456789012:shared");
	queue_arn(&svc, east_url, arn, sizeof(arn));
	assert_string_equal(arn, "arn:aws:sqs:us-east-1:123456789012:shared");

	/* an AWS-shaped URL names its region: the us-east-1 client signs in eu-west-1 */
	const char *aws_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/shared";
	CHECK_OK(s3i_sqs_send_op(&svc, aws_url, "to the west", 0, NULL, 0, NULL));
	queue_arn(&svc, aws_url, arn, sizeof(arn));
	assert_string_equal(arn, "arn:aws:sqs:eu-west-1:123456789012:shared");
	CHECK_OK(s3i_sqs_send_op(&svc, "https://eu-west-1.queue.amazonaws.com/123456789012/shared",
		"legacy form", 0, NULL, 0, NULL));

	static got g;
	memset(&g, 0, sizeof(g));
	size_t n = 0;
	s3i_sqs_receive_opts o = { .wait_seconds = 1 };
	CHECK_OK(s3i_sqs_receive_op(&svc, east_url, &o, collect, &g, &n, NULL));
	assert_int_equal(n, 0);   /* nothing reached us-east-1 */
	receive_all(&west, west_url, &g, 2);
	assert_int_equal(g.count, 2);
	/* the region-less URL follows svc->region; the AWS one wins over it */
	s3i_svc east_says_west = { svc.client, NULL, "us-east-1" };
	CHECK_OK(s3i_sqs_send_op(&east_says_west, aws_url, "third", 0, NULL, 0, NULL));
	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, s3i_test_alloc());
	CHECK_OK(s3i_sqs_get_queue_attributes_op(&west, west_url, NULL, 0, &at, NULL));
	assert_int_equal(at.messages, 1);
	s3i_sqs_attrs_free(&at);

	/* a queue missing in the named region says which region */
	int rc = s3i_sqs_send_op(&svc, "https://sqs.ap-south-1.amazonaws.com/123456789012/shared",
		"x", 0, NULL, 0, NULL);
	const char *m[] = { "queue 'shared' does not exist in ap-south-1", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, m);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ dead-letter queue */

static void test_dead_letter_queue(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char dlq_url[S3I_SQS_URL_MAX], url[S3I_SQS_URL_MAX], dlq_arn[256], redrive[512];
	make_queue(&svc, "d1-sqs-dlq", dlq_url);
	queue_arn(&svc, dlq_url, dlq_arn, sizeof(dlq_arn));
	CHECK_OK(s3i_sqs_redrive_policy(redrive, sizeof(redrive), dlq_arn, 1));
	const s3i_sqs_kv attrs[] = { { "RedrivePolicy", redrive }, { "VisibilityTimeout", "30" } };
	CHECK_OK(s3i_sqs_create_queue_op(&svc, "d1-sqs-consolidate-inventory-files", attrs, 2, NULL,
		0, url, sizeof(url), NULL));
	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, s3i_test_alloc());
	const char *names[] = { "RedrivePolicy" };
	CHECK_OK(s3i_sqs_get_queue_attributes_op(&svc, url, names, 1, &at, NULL));
	assert_non_null(strstr(s3i_sqs_attrs_get(&at, "RedrivePolicy"), dlq_arn));
	s3i_sqs_attrs_free(&at);

	char id[S3I_SQS_ID_MAX];
	CHECK_OK(s3i_sqs_send_op(&svc, url, "poison", 0, id, sizeof(id), NULL));
	static got g;
	memset(&g, 0, sizeof(g));
	/* received once and not deleted; visible again at once */
	s3i_sqs_receive_opts o = { .max_messages = 10, .visibility_timeout = 0,
		.use_visibility_timeout = 1 };
	size_t n = 0;
	CHECK_OK(s3i_sqs_receive_op(&svc, url, &o, collect, &g, &n, NULL));
	assert_int_equal(n, 1);
	assert_string_equal(g.ids[0], id);
	/* the second receive exceeds maxReceiveCount=1: the message moves to the DLQ */
	CHECK_OK(s3i_sqs_receive_op(&svc, url, &o, collect, &g, &n, NULL));
	assert_int_equal(n, 0);
	memset(&g, 0, sizeof(g));
	receive_all(&svc, dlq_url, &g, 1);
	assert_int_equal(g.count, 1);
	assert_string_equal(g.ids[0], id);
	assert_string_equal(g.bodies[0], "poison");
	assert_true(g.receive_count[0] >= 2);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ faults */

static const char *const throttle_rule =
	"{\"service\":\"sqs\",\"target\":\"AmazonSQS.%s\",\"status\":400,\"count\":%d,"
	"\"content_type\":\"application/x-amz-json-1.0\","
	"\"headers\":{\"x-amzn-query-error\":\"AWS.SimpleQueueService.RequestThrottled;Sender\"},"
	"\"body\":\"{\\\"__type\\\":\\\"com.amazonaws.sqs#RequestThrottled\\\","
	"\\\"message\\\":\\\"Request is throttled.\\\"}\"}";

static void test_throttling_and_5xx_are_retried(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char url[S3I_SQS_URL_MAX], fault[900];
	make_queue(&svc, "busy", url);
	CHECK_OK(s3i_sqs_send_op(&svc, url, "m", 0, NULL, 0, NULL));

	/* two throttles, then moto answers */
	snprintf(fault, sizeof(fault), throttle_rule, "ReceiveMessage", 2);
	assert_int_equal(s3i_moto_add_fault(moto, fault), 0);
	static got g;
	memset(&g, 0, sizeof(g));
	size_t n = 0;
	CHECK_OK(s3i_sqs_receive_op(&svc, url, NULL, collect, &g, &n, NULL));
	assert_int_equal(n, 1);

	/* a 503 and a 500 on SendMessage, then success */
	assert_int_equal(s3i_moto_add_fault(moto, "[{\"service\":\"sqs\",\"target\":"
		"\"AmazonSQS.SendMessage\",\"status\":503,\"count\":1,\"content_type\":"
		"\"application/x-amz-json-1.0\",\"body\":\"{\\\"__type\\\":\\\"com.amazonaws.sqs#"
		"ServiceUnavailable\\\",\\\"message\\\":\\\"Service is unavailable.\\\"}\"},"
		"{\"service\":\"sqs\",\"target\":\"AmazonSQS.SendMessage\",\"status\":500,\"count\":1,"
		"\"content_type\":\"application/x-amz-json-1.0\",\"body\":\"{\\\"__type\\\":"
		"\\\"com.amazonaws.sqs#InternalError\\\"}\"}]"), 0);
	CHECK_OK(s3i_sqs_send_op(&svc, url, "after 5xx", 0, NULL, 0, NULL));

	/* without end: ETHROTTLED once the client's attempts are spent, naming the queue */
	snprintf(fault, sizeof(fault), throttle_rule, "GetQueueAttributes", -1);
	assert_int_equal(s3i_moto_add_fault(moto, fault), 0);
	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, s3i_test_alloc());
	int rc = s3i_sqs_get_queue_attributes_op(&svc, url, NULL, 0, &at, NULL);
	const char *m[] = { "GetQueueAttributes", "queue 'busy'", NULL };
	s3i_check_expect_error(rc, S3I_ETHROTTLED, "RequestThrottled", m);
	/* a 5xx for ever: ESERVICE */
	assert_int_equal(s3i_moto_clear_faults(moto), 0);
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"sqs\",\"target\":"
		"\"AmazonSQS.DeleteQueue\",\"status\":503,\"count\":-1,\"content_type\":"
		"\"application/x-amz-json-1.0\",\"body\":\"\"}"), 0);
	rc = s3i_sqs_delete_queue_op(&svc, url, NULL);
	const char *d[] = { "DeleteQueue", "queue 'busy'", NULL };
	s3i_check_expect_error(rc, S3I_ESERVICE, NULL, d);
	assert_int_equal(s3i_moto_clear_faults(moto), 0);
	CHECK_OK(s3i_sqs_delete_queue_op(&svc, url, NULL));
	s3i_ctx_release(ctx);
}

static void test_checksum_mismatch(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	char url[S3I_SQS_URL_MAX];
	make_queue(&svc, "damaged", url);
	/* the second message's MD5OfBody is that of another body: no message reaches the callback */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"sqs\",\"target\":"
		"\"AmazonSQS.ReceiveMessage\",\"status\":200,\"content_type\":"
		"\"application/x-amz-json-1.0\",\"body\":\"{\\\"Messages\\\":["
		"{\\\"MessageId\\\":\\\"good-1\\\",\\\"ReceiptHandle\\\":\\\"rh1\\\",\\\"Body\\\":"
		"\\\"hello\\\",\\\"MD5OfBody\\\":\\\"5d41402abc4b2a76b9719d911017c592\\\"},"
		"{\\\"MessageId\\\":\\\"bad-2\\\",\\\"ReceiptHandle\\\":\\\"rh2\\\",\\\"Body\\\":"
		"\\\"hellO\\\",\\\"MD5OfBody\\\":\\\"5d41402abc4b2a76b9719d911017c592\\\"}]}\"}"), 0);
	static got g;
	memset(&g, 0, sizeof(g));
	size_t n = 0;
	int rc = s3i_sqs_receive_op(&svc, url, NULL, collect, &g, &n, NULL);
	const char *m[] = { "ReceiveMessage on queue 'damaged'", "message 'bad-2'", "MD5OfBody", NULL };
	s3i_check_expect_error(rc, S3I_ECHECKSUM, NULL, m);
	assert_string_equal(s3i_error_last()->resource, "queue 'damaged'");
	assert_int_equal(g.count, 0);
	assert_int_equal(n, 2);

	/* SendMessage's answer is checked against what was sent */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"sqs\",\"target\":"
		"\"AmazonSQS.SendMessage\",\"status\":200,\"content_type\":"
		"\"application/x-amz-json-1.0\",\"body\":\"{\\\"MessageId\\\":\\\"sent-1\\\","
		"\\\"MD5OfMessageBody\\\":\\\"00000000000000000000000000000000\\\"}\"}"), 0);
	rc = s3i_sqs_send_op(&svc, url, "hello", 0, NULL, 0, NULL);
	const char *s[] = { "SendMessage to queue 'damaged'", "'sent-1'", "does not match", NULL };
	s3i_check_expect_error(rc, S3I_ECHECKSUM, NULL, s);

	/* a response of the wrong shape */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"sqs\",\"target\":"
		"\"AmazonSQS.ReceiveMessage\",\"status\":200,\"content_type\":"
		"\"application/x-amz-json-1.0\",\"body\":\"{\\\"Messages\\\":{}}\"}"), 0);
	rc = s3i_sqs_receive_op(&svc, url, NULL, collect, &g, &n, NULL);
	const char *p[] = { "Messages is not an array", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, p);
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
		"arn:aws:iam::111111111111:role/x", "sqs-test", NULL, 900, NULL));
	s3i_svc other = { svc.client, role, NULL };

	char url[S3I_SQS_URL_MAX], home[S3I_SQS_URL_MAX];
	make_queue(&other, "member-queue", url);
	assert_non_null(strstr(url, "/111111111111/member-queue"));
	make_queue(&svc, "home-queue", home);
	char arn[256];
	queue_arn(&other, url, arn, sizeof(arn));
	assert_string_equal(arn, "arn:aws:sqs:us-east-1:111111111111:member-queue");
	int rc = s3i_sqs_get_queue_url_op(&svc, "member-queue", NULL, home, sizeof(home), NULL);
	const char *m[] = { "queue 'member-queue' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, m);
	rc = s3i_sqs_get_queue_url_op(&other, "home-queue", NULL, home, sizeof(home), NULL);
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, NULL);

	CHECK_OK(s3i_sqs_send_op(&other, url, "in the member account", 0, NULL, 0, NULL));
	static got g;
	memset(&g, 0, sizeof(g));
	receive_all(&other, url, &g, 1);
	assert_int_equal(g.count, 1);
	s3i_sqs_delete_entry e = { g.ids[0], g.handles[0] };
	CHECK_OK(s3i_sqs_delete_batch_op(&other, url, &e, 1, NULL, NULL, NULL, NULL));
	CHECK_OK(s3i_sqs_delete_queue_op(&other, url, NULL));
	s3i_credprov_release(role);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_queue_lifecycle),
		S3I_TEST(test_invalid_arguments),
		S3I_TEST(test_missing_queue_everywhere),
		S3I_TEST(test_send_receive_delete_batches),
		S3I_TEST(test_visibility),
		S3I_TEST(test_long_poll_outlasts_client_timeout),
		S3I_TEST(test_queue_in_second_region),
		S3I_TEST(test_dead_letter_queue),
		S3I_TEST(test_throttling_and_5xx_are_retried),
		S3I_TEST(test_checksum_mismatch),
		S3I_TEST(test_second_account_through_assume_role),
	};
	return cmocka_run_group_tests_name("sqs", tests, group_setup, NULL);
}
