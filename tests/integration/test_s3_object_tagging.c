/*
 * s3i_s3_put_object_tagging against moto_server: tags read back with a raw signed
 * GetObjectTagging (not the code under test), a replaced and an emptied tag set, a version of
 * a versioned bucket, keys that need encoding, missing buckets and keys, and a throttled
 * first attempt (a documented SlowDown served through the launcher's /_fault) retried.
 * s3i_s3_get_object_tagging against the same: tags read back (UTF-8, an empty value), no tags
 * (the callback never called), a version of a versioned bucket, missing bucket, key and
 * version (NoSuchVersion served through /_fault: moto answers 403 without a body), and an
 * InternalError (500) on the first attempt retried.
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
#include "check.h"
#include "moto.h"
#include "test_alloc.h"

static s3i_moto *moto;

static int group_setup(void **state)
{
	(void)state;
	return s3i_moto_start(&moto, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	s3i_moto_stop(moto);
	return 0;
}

static s3i_ctx *begin(void)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	o.max_attempts = 3;
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	return ctx;
}

/* GetObjectTagging, raw and signed: the response document (free() it). */
static char *tags_of(const char *path_and_query)
{
	char *body = NULL;
	int status = 0;
	s3i_moto_req r = { .method = "GET", .path = path_and_query, .service = "s3" };
	assert_int_equal(s3i_moto_call(moto, &r, &body, &status), 0);
	if (status != 200)
		fprintf(stderr, "GET %s: %d %s\n", path_and_query, status, body ? body : "");
	assert_int_equal(status, 200);
	assert_non_null(body);
	return body;
}

static void t_put_read_back_replace_empty(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	assert_int_equal(s3i_s3_create_bucket(ctx, "tagged", NULL), S3I_OK);
	const char *key = "home/al ice/ファイル+1.pem";
	assert_int_equal(s3i_s3_put_object(ctx, "tagged", key, "x", 1), S3I_OK);
	/* characters outside S3's tag alphabet: S3 refuses them (InvalidTag), naming the key */
	s3i_s3_tag bad[] = { { "note", "a&b <c>" } };
	assert_true(s3i_s3_put_object_tagging(ctx, "tagged", key, NULL, bad, 1) < 0);
	assert_string_equal(s3i_error_last()->aws_code, "InvalidTag");
	assert_non_null(strstr(s3i_error_last()->message, "ファイル+1.pem"));
	s3i_s3_tag tags[] = { { "s3insights", "secret" }, { "note", "a b+c=d:e/f@g" } };
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "tagged", key, NULL, tags, 2), S3I_OK);
	const char *path = "/tagged/home/al%20ice/%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB%2B1.pem?tagging";
	char *doc = tags_of(path);
	assert_non_null(strstr(doc, "<Key>s3insights</Key>"));
	assert_non_null(strstr(doc, "<Value>secret</Value>"));
	assert_non_null(strstr(doc, "<Key>note</Key>"));
	assert_non_null(strstr(doc, "<Value>a b+c=d:e/f@g</Value>"));
	free(doc);

	/* PutObjectTagging replaces the whole set */
	s3i_s3_tag other[] = { { "reviewed", "yes" } };
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "tagged", key, "", other, 1), S3I_OK);
	doc = tags_of(path);
	assert_non_null(strstr(doc, "<Key>reviewed</Key>"));
	assert_null(strstr(doc, "s3insights"));
	free(doc);

	/* no tags: none left (DeleteObjectTagging) */
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "tagged", key, NULL, NULL, 0), S3I_OK);
	doc = tags_of(path);
	assert_null(strstr(doc, "<Tag>"));
	free(doc);
	s3i_ctx_release(ctx);
}

static void t_a_version(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	assert_int_equal(s3i_s3_create_bucket(ctx, "versioned", NULL), S3I_OK);
	char *body = NULL;
	int status = 0;
	s3i_moto_req r = { .method = "PUT", .path = "/versioned?versioning", .service = "s3",
		.content_type = "application/xml", .body = "<VersioningConfiguration xmlns=\"http://"
		"s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status></VersioningConfiguration>" };
	assert_int_equal(s3i_moto_call(moto, &r, &body, &status), 0);
	assert_int_equal(status, 200);
	free(body);
	assert_int_equal(s3i_s3_put_object(ctx, "versioned", "k", "v1", 2), S3I_OK);
	/* the first version's id, from a listing of versions */
	char path[512];
	r = (s3i_moto_req){ .method = "GET", .path = "/versioned?versions", .service = "s3" };
	assert_int_equal(s3i_moto_call(moto, &r, &body, &status), 0);
	const char *v = strstr(body, "<VersionId>");
	assert_non_null(v);
	char version[128];
	assert_int_equal(sscanf(v, "<VersionId>%127[^<]", version), 1);
	free(body);
	assert_int_equal(s3i_s3_put_object(ctx, "versioned", "k", "v2", 2), S3I_OK);

	s3i_s3_tag tags[] = { { "old", "1" } };
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "versioned", "k", version, tags, 1), S3I_OK);
	snprintf(path, sizeof(path), "/versioned/k?tagging&versionId=%s", version);
	char *doc = tags_of(path);
	assert_non_null(strstr(doc, "<Key>old</Key>"));
	free(doc);
	doc = tags_of("/versioned/k?tagging");   /* the current version has none */
	assert_null(strstr(doc, "<Key>old</Key>"));
	free(doc);
	s3i_ctx_release(ctx);
}

static void t_missing_bucket_and_key(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	s3i_s3_tag tags[] = { { "k", "v" } };
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "no-such-bucket", "k", NULL, tags, 1),
		S3I_ENOTFOUND);
	assert_non_null(strstr(s3i_error_last()->message, "no-such-bucket"));
	assert_int_equal(s3i_s3_create_bucket(ctx, "present", NULL), S3I_OK);
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "present", "gone.pem", NULL, tags, 1),
		S3I_ENOTFOUND);
	const s3i_error *e = s3i_error_last();
	assert_string_equal(e->aws_code, "NoSuchKey");
	assert_non_null(strstr(e->message, "PutObjectTagging"));
	assert_non_null(strstr(e->message, "gone.pem"));
	s3i_ctx_release(ctx);
}

static void t_throttled_then_retried(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	assert_int_equal(s3i_s3_create_bucket(ctx, "busy", NULL), S3I_OK);
	assert_int_equal(s3i_s3_put_object(ctx, "busy", "k", "x", 1), S3I_OK);
	/* S3's documented SlowDown error once, then moto answers */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\": \"PUT\", \"path\": \"/busy/k\", "
		"\"query\": \"tagging\", \"status\": 503, \"count\": 1, \"content_type\": "
		"\"application/xml\", \"body\": \"<?xml version=\\\"1.0\\\" encoding=\\\"UTF-8\\\"?>"
		"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
		"<RequestId>FAULT1</RequestId></Error>\"}"), 0);
	s3i_s3_tag tags[] = { { "k", "v" } };
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "busy", "k", NULL, tags, 1), S3I_OK);
	char *doc = tags_of("/busy/k?tagging");
	assert_non_null(strstr(doc, "<Key>k</Key>"));
	free(doc);
	assert_int_equal(s3i_moto_clear_faults(moto), 0);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------ s3i_s3_get_object_tagging */

typedef struct got {
	char text[1024];
	int calls;
} got;

static int on_tag(void *payload, const char *key, const char *value)
{
	got *g = payload;
	g->calls++;
	size_t n = strlen(g->text);
	snprintf(g->text + n, sizeof(g->text) - n, "%s=%s;", key, value);
	return 0;
}

static void t_get_tags_back(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	assert_int_equal(s3i_s3_create_bucket(ctx, "tagged", NULL), S3I_OK);
	const char *key = "home/al ice/ファイル+1.pem";
	assert_int_equal(s3i_s3_put_object(ctx, "tagged", key, "x", 1), S3I_OK);
	/* no tags yet: fn is never called */
	got g = { 0 };
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "tagged", key, NULL, on_tag, &g), S3I_OK);
	assert_int_equal(g.calls, 0);

	s3i_s3_tag tags[] = { { "cost-center", "team-a" }, { "ファイル", "ünï éà" }, { "empty", "" },
		{ "note", "a b+c=d:e/f@g" } };
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "tagged", key, NULL, tags, 4), S3I_OK);
	memset(&g, 0, sizeof(g));
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "tagged", key, "", on_tag, &g), S3I_OK);
	assert_int_equal(g.calls, 4);
	assert_non_null(strstr(g.text, "cost-center=team-a;"));
	assert_non_null(strstr(g.text, "ファイル=ünï éà;"));
	assert_non_null(strstr(g.text, "empty=;"));
	assert_non_null(strstr(g.text, "note=a b+c=d:e/f@g;"));

	/* emptied again: none */
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "tagged", key, NULL, NULL, 0), S3I_OK);
	memset(&g, 0, sizeof(g));
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "tagged", key, NULL, on_tag, &g), S3I_OK);
	assert_int_equal(g.calls, 0);
	s3i_ctx_release(ctx);
}

static void t_get_a_version(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	assert_int_equal(s3i_s3_create_bucket(ctx, "versioned", NULL), S3I_OK);
	char *body = NULL;
	int status = 0;
	s3i_moto_req r = { .method = "PUT", .path = "/versioned?versioning", .service = "s3",
		.content_type = "application/xml", .body = "<VersioningConfiguration xmlns=\"http://"
		"s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status></VersioningConfiguration>" };
	assert_int_equal(s3i_moto_call(moto, &r, &body, &status), 0);
	assert_int_equal(status, 200);
	free(body);
	assert_int_equal(s3i_s3_put_object(ctx, "versioned", "k", "v1", 2), S3I_OK);
	r = (s3i_moto_req){ .method = "GET", .path = "/versioned?versions", .service = "s3" };
	assert_int_equal(s3i_moto_call(moto, &r, &body, &status), 0);
	const char *v = strstr(body, "<VersionId>");
	assert_non_null(v);
	char version[128];
	assert_int_equal(sscanf(v, "<VersionId>%127[^<]", version), 1);
	free(body);
	assert_int_equal(s3i_s3_put_object(ctx, "versioned", "k", "v2", 2), S3I_OK);

	s3i_s3_tag old[] = { { "old", "1" } }, cur[] = { { "current", "2" } };
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "versioned", "k", version, old, 1), S3I_OK);
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "versioned", "k", NULL, cur, 1), S3I_OK);
	got g = { 0 };
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "versioned", "k", version, on_tag, &g),
		S3I_OK);
	assert_string_equal(g.text, "old=1;");
	memset(&g, 0, sizeof(g));
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "versioned", "k", NULL, on_tag, &g), S3I_OK);
	assert_string_equal(g.text, "current=2;");

	/* a version that is not there: moto 5.2.1 answers 403 with no body, so AWS's documented
	 * NoSuchVersion is served instead */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\": \"GET\", \"path\": \"/versioned/k\", "
		"\"query\": \"versionId=gone-version\", \"status\": 404, \"count\": 1, \"content_type\": "
		"\"application/xml\", \"body\": \"<?xml version=\\\"1.0\\\" encoding=\\\"UTF-8\\\"?>"
		"<Error><Code>NoSuchVersion</Code><Message>The specified version does not exist."
		"</Message><Key>k</Key><VersionId>gone-version</VersionId><RequestId>FAULT2</RequestId>"
		"</Error>\"}"), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "versioned", "k", "gone-version", on_tag, &g),
		S3I_ENOTFOUND);
	const s3i_error *e = s3i_error_last();
	assert_string_equal(e->aws_code, "NoSuchVersion");
	assert_non_null(strstr(e->message, "GetObjectTagging"));
	assert_non_null(strstr(e->message, "gone-version"));
	assert_non_null(strstr(e->message, "versioned"));
	assert_int_equal(g.calls, 0);
	s3i_check_faults_used(moto);
	assert_int_equal(s3i_moto_clear_faults(moto), 0);
	s3i_ctx_release(ctx);
}

static void t_get_missing_bucket_and_key(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	got g = { 0 };
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "no-such-bucket", "k", NULL, on_tag, &g),
		S3I_ENOTFOUND);
	assert_string_equal(s3i_error_last()->aws_code, "NoSuchBucket");
	assert_non_null(strstr(s3i_error_last()->message, "no-such-bucket"));
	assert_int_equal(s3i_s3_create_bucket(ctx, "present", NULL), S3I_OK);
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "present", "gone.pem", NULL, on_tag, &g),
		S3I_ENOTFOUND);
	const s3i_error *e = s3i_error_last();
	assert_string_equal(e->aws_code, "NoSuchKey");
	assert_non_null(strstr(e->message, "GetObjectTagging"));
	assert_non_null(strstr(e->message, "gone.pem"));
	assert_non_null(strstr(e->message, "present"));
	assert_int_equal(g.calls, 0);
	s3i_ctx_release(ctx);
}

static void t_get_failed_then_retried(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	assert_int_equal(s3i_s3_create_bucket(ctx, "busy", NULL), S3I_OK);
	assert_int_equal(s3i_s3_put_object(ctx, "busy", "k", "x", 1), S3I_OK);
	s3i_s3_tag tags[] = { { "k", "v" } };
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "busy", "k", NULL, tags, 1), S3I_OK);
	/* S3's documented InternalError once, then moto answers */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\": \"GET\", \"path\": \"/busy/k\", "
		"\"query\": \"tagging\", \"status\": 500, \"count\": 1, \"content_type\": "
		"\"application/xml\", \"body\": \"<?xml version=\\\"1.0\\\" encoding=\\\"UTF-8\\\"?>"
		"<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try "
		"again.</Message><RequestId>FAULT3</RequestId></Error>\"}"), 0);
	got g = { 0 };
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "busy", "k", NULL, on_tag, &g), S3I_OK);
	assert_string_equal(g.text, "k=v;");
	s3i_check_faults_used(moto);   /* the first attempt did meet the 500 */
	assert_int_equal(s3i_moto_clear_faults(moto), 0);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_put_read_back_replace_empty),
		S3I_TEST(t_a_version),
		S3I_TEST(t_missing_bucket_and_key),
		S3I_TEST(t_throttled_then_retried),
		S3I_TEST(t_get_tags_back),
		S3I_TEST(t_get_a_version),
		S3I_TEST(t_get_missing_bucket_and_key),
		S3I_TEST(t_get_failed_then_retried),
	};
	return cmocka_run_group_tests_name("s3_object_tagging", tests, group_setup, group_teardown);
}
