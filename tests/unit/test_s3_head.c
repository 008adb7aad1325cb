/*
 * HeadObject and GetBucketLocation pieces (src/services/s3_head.c) that need no server: the
 * GetBucketLocation body parser and its region normalisation (null = us-east-1, EU =
 * eu-west-1), the HeadObject header parser, the meaning of failed HEAD answers (404 without a
 * body, delete markers), the prepared calls, and the fan-out op's string storage, with
 * out-of-memory loops. The calls themselves run against moto in
 * tests/integration/test_fanout.c.
 */
#include "test_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/headers.h"
#include "services/fanout.h"
#include "services/s3.h"
#include "services/s3_head.h"
#include "s3insights/errors.h"

#define XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

static int location(const char *body, char *region, s3i_errinfo *err)
{
	s3i_errinfo_init(err);
	return s3i_s3_parse_bucket_location(s3i_test_alloc(), body, strlen(body), "my-bucket",
		region, err);
}

/* ------------------------------------------------------------------ GetBucketLocation */

static void t_location_regions(void **state)
{
	(void)state;
	char region[S3I_S3_REGION_MAX];
	s3i_errinfo err;
	static const struct { const char *body, *region; } cases[] = {
		/* AWS's null: us-east-1, in every shape it comes in */
		{ "<LocationConstraint xmlns=\"" XMLNS "\"/>", "us-east-1" },
		{ "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" XMLNS
			"\"></LocationConstraint>", "us-east-1" },
		{ "<LocationConstraint>  \n </LocationConstraint>", "us-east-1" },
		/* the legacy alias */
		{ "<LocationConstraint xmlns=\"" XMLNS "\">EU</LocationConstraint>", "eu-west-1" },
		{ "<LocationConstraint>eu-west-2</LocationConstraint>", "eu-west-2" },
		{ "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" XMLNS
			"\">ap-southeast-2</LocationConstraint>", "ap-southeast-2" },
		{ "\r\n  <LocationConstraint> us-gov-west-1 </LocationConstraint>\n", "us-gov-west-1" },
		{ "<LocationConstraint>cn-northwest-1</LocationConstraint>", "cn-northwest-1" },
		/* a region this library has never heard of is taken as it is */
		{ "<LocationConstraint>eusc-de-east-1</LocationConstraint>", "eusc-de-east-1" },
		{ "<x:LocationConstraint xmlns:x=\"" XMLNS "\">us-west-2</x:LocationConstraint>",
			"us-west-2" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = location(cases[i].body, region, &err);
		if (rc)
			fprintf(stderr, "case %zu: %s\n", i, err.message);
		assert_int_equal(rc, S3I_OK);
		assert_string_equal(region, cases[i].region);
	}
}

static void t_location_bad(void **state)
{
	(void)state;
	char region[S3I_S3_REGION_MAX];
	s3i_errinfo err;
	static const char *bad[] = {
		"",
		"   \n",
		"not xml at all",
		"<LocationConstraint>eu-west-1",                                   /* cut */
		"<Location>eu-west-1</Location>",                                  /* another root */
		"<LocationConstraint><Region>eu-west-1</Region></LocationConstraint>",
		"<LocationConstraint>EU-WEST-1</LocationConstraint>",              /* not a region */
		"<LocationConstraint>eu west 1</LocationConstraint>",
		"<LocationConstraint>1eu-west-1</LocationConstraint>",
		"<LocationConstraint>&lt;script&gt;</LocationConstraint>",
		"<LocationConstraint>eu-west-1\"; DROP</LocationConstraint>",
		"<LocationConstraint>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			"</LocationConstraint>",                                      /* 70 characters */
		"<!DOCTYPE x [<!ENTITY e \"eu-west-1\">]><LocationConstraint>&e;</LocationConstraint>",
		"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(region, "stale");
		int rc = location(bad[i], region, &err);
		if (rc != S3I_EPARSE)
			fprintf(stderr, "case %zu: rc %d region '%s'\n", i, rc, region);
		assert_int_equal(rc, S3I_EPARSE);
		assert_int_equal(err.pub.code, S3I_EPARSE);
		assert_string_equal(region, "");
		assert_non_null(strstr(err.message, "GetBucketLocation on bucket 'my-bucket'"));
		assert_string_equal(err.resource, "my-bucket");
		assert_null(strchr(err.message, '\n'));
	}
}

static void t_location_normalise(void **state)
{
	(void)state;
	char region[S3I_S3_REGION_MAX];
	assert_int_equal(s3i_s3_normalise_location(NULL, region), S3I_OK);
	assert_string_equal(region, "us-east-1");
	assert_int_equal(s3i_s3_normalise_location("", region), S3I_OK);
	assert_string_equal(region, "us-east-1");
	assert_int_equal(s3i_s3_normalise_location("EU", region), S3I_OK);
	assert_string_equal(region, "eu-west-1");
	assert_int_equal(s3i_s3_normalise_location("eu", region), S3I_OK);   /* not the alias */
	assert_string_equal(region, "eu");
	assert_int_equal(s3i_s3_normalise_location("Eu", region), S3I_EPARSE);
	assert_string_equal(region, "");
	char long_name[S3I_S3_REGION_MAX + 1];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(s3i_s3_normalise_location(long_name, region), S3I_EPARSE);
	long_name[S3I_S3_REGION_MAX - 1] = '\0';                               /* 63: fits */
	assert_int_equal(s3i_s3_normalise_location(long_name, region), S3I_OK);
	assert_string_equal(region, long_name);
}

static void t_location_oom(void **state)
{
	(void)state;
	const char *body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\""
		XMLNS "\">EU</LocationConstraint>";
	char region[S3I_S3_REGION_MAX];
	s3i_errinfo err;
	int ok = 0;
	for (long n = 0; n < 200 && !ok; n++) {
		s3i_test_alloc_fail_after(n);
		int rc = location(body, region, &err);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK) {
			assert_string_equal(region, "eu-west-1");
			ok = 1;
		} else {
			assert_int_equal(rc, S3I_ENOMEM);
			assert_string_equal(region, "");
		}
	}
	assert_true(ok);
}

/* ------------------------------------------------------------------ HeadObject headers */

static void add(s3i_headers *h, const char *name, const char *value)
{
	assert_int_equal(s3i_headers_add(h, name, value), S3I_OK);
}

static void t_head_headers(void **state)
{
	(void)state;
	s3i_headers h;
	s3i_headers_init(&h, s3i_test_alloc());
	/* as S3 answers (AWS documentation's HeadObject example) */
	add(&h, "x-amz-id-2", "ef8yU9AS1ed4OpIszj7UDNEHGran");
	add(&h, "x-amz-request-id", "318BC8BC143432E5");
	add(&h, "x-amz-version-id", "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd");
	add(&h, "Date", "Wed, 28 Oct 2009 22:32:00 GMT");
	add(&h, "Last-Modified", "Sun, 1 Jan 2006 12:00:00 GMT");
	add(&h, "ETag", "\"fba9dede5f27731c9771645a39863328\"");
	add(&h, "Content-Length", "434234");
	add(&h, "Content-Type", "text/plain");
	add(&h, "x-amz-storage-class", "GLACIER_IR");
	add(&h, "Server", "AmazonS3");
	s3i_s3_head_result r;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_s3_parse_head_headers(&h, "key 'k' in bucket 'b'", &r, &err), S3I_OK);
	assert_int_equal(r.content_length, 434234);
	assert_int_equal(r.last_modified_ms, 1136116800000LL);
	assert_string_equal(r.etag, "fba9dede5f27731c9771645a39863328");
	assert_string_equal(r.version_id, "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd");
	assert_string_equal(r.content_type, "text/plain");
	assert_string_equal(r.storage_class, "GLACIER_IR");
	assert_int_equal(r.delete_marker, 0);

	/* the minimum: STANDARD is never named; a multipart ETag; an empty object */
	s3i_headers_clear(&h);
	add(&h, "content-length", "0");
	add(&h, "etag", "\"d41d8cd98f00b204e9800998ecf8427e-12\"");
	add(&h, "x-amz-delete-marker", "false");
	assert_int_equal(s3i_s3_parse_head_headers(&h, NULL, &r, &err), S3I_OK);
	assert_int_equal(r.content_length, 0);
	assert_string_equal(r.etag, "d41d8cd98f00b204e9800998ecf8427e-12");
	assert_string_equal(r.storage_class, "STANDARD");
	assert_string_equal(r.version_id, "");
	assert_int_equal(r.last_modified_ms, 0);

	/* nothing at all: unknown length */
	s3i_headers_clear(&h);
	assert_int_equal(s3i_s3_parse_head_headers(&h, NULL, &r, &err), S3I_OK);
	assert_int_equal(r.content_length, -1);
	assert_string_equal(r.etag, "");

	/* 5 TiB, the largest object, and a version id of the longest allowed */
	s3i_headers_clear(&h);
	add(&h, "Content-Length", "5497558138880");
	char vid[S3I_S3_VERSION_ID_MAX + 1];
	memset(vid, 'v', S3I_S3_VERSION_ID_MAX);
	vid[S3I_S3_VERSION_ID_MAX] = '\0';
	add(&h, "x-amz-version-id", vid);
	add(&h, "x-amz-delete-marker", "true");
	assert_int_equal(s3i_s3_parse_head_headers(&h, NULL, &r, &err), S3I_OK);
	assert_int_equal(r.content_length, 5497558138880LL);
	assert_string_equal(r.version_id, vid);
	assert_int_equal(r.delete_marker, 1);
	s3i_headers_free(&h);
}

static void t_head_headers_bad(void **state)
{
	(void)state;
	char long_etag[200], long_vid[S3I_S3_VERSION_ID_MAX + 2];
	memset(long_etag, 'e', sizeof(long_etag) - 1);
	long_etag[sizeof(long_etag) - 1] = '\0';
	memset(long_vid, 'v', sizeof(long_vid) - 1);
	long_vid[sizeof(long_vid) - 1] = '\0';
	const struct { const char *name, *value, *mention; } bad[] = {
		{ "Content-Length", "12a", "Content-Length '12a'" },
		{ "Content-Length", "-1", "Content-Length" },
		{ "Content-Length", "", "Content-Length" },
		{ "Content-Length", " 12", "Content-Length" },
		{ "Content-Length", "99999999999999999999", "Content-Length" },
		{ "Last-Modified", "yesterday", "Last-Modified 'yesterday'" },
		{ "Last-Modified", "2009-10-12T17:50:00Z", "Last-Modified" },
		{ "x-amz-delete-marker", "yes", "x-amz-delete-marker" },
		{ "ETag", long_etag, "ETag" },
		{ "x-amz-version-id", long_vid, "x-amz-version-id" },
		{ "x-amz-storage-class", "A_STORAGE_CLASS_NAME_LONGER_THAN_32", "x-amz-storage-class" },
	};
	s3i_headers h;
	s3i_headers_init(&h, s3i_test_alloc());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s3i_headers_clear(&h);
		add(&h, "x-amz-request-id", "R2");
		add(&h, bad[i].name, bad[i].value);
		s3i_s3_head_result r;
		s3i_errinfo err;
		s3i_errinfo_init(&err);
		int rc = s3i_s3_parse_head_headers(&h, "key 'a/b' in bucket 'bkt'", &r, &err);
		if (rc != S3I_EPARSE)
			fprintf(stderr, "case %zu (%s) passed\n", i, bad[i].name);
		assert_int_equal(rc, S3I_EPARSE);
		assert_non_null(strstr(err.message, "HeadObject on key 'a/b' in bucket 'bkt'"));
		assert_non_null(strstr(err.message, bad[i].mention));
		assert_string_equal(r.etag, "");           /* left reset */
		assert_int_equal(r.content_length, -1);
	}
	s3i_headers_free(&h);
}

/* ------------------------------------------------------------------ failed HEAD answers */

/* A prepared HeadObject and the error the client would have recorded for `status`. */
static void failed_head(s3i_fanout_op *op, s3i_s3_head_result *r, const char *version,
	int http, const char *code, s3i_errinfo *err)
{
	s3i_fanout_op_init(op, s3i_test_alloc());
	assert_int_equal(s3i_s3_head_object_prepare(op, "bkt", "dir/file.csv", version, r, NULL),
		S3I_OK);
	char msg[256];
	snprintf(msg, sizeof(msg), "HeadObject on %s failed: %s (HTTP %d, request id R1)",
		op->call.resource, code, http);
	s3i_errinfo_init(err);
	s3i_err_aws(err, s3i_aws_error_status(http, code), http, code, "R1", op->call.resource, msg);
}

static void t_head_not_found(void **state)
{
	(void)state;
	s3i_fanout_op op;
	s3i_s3_head_result r;
	s3i_errinfo err;
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_test_alloc());

	/* 404 without a body: key or bucket, S3 does not say which */
	failed_head(&op, &r, NULL, 404, "NotFound", &err);
	resp.status = 404;
	int rc = s3i_s3_head_object_parse(&op, S3I_ENOTFOUND, &resp, &err);
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_int_equal(err.pub.code, S3I_ENOTFOUND);
	assert_int_equal(err.pub.http_status, 404);
	assert_string_equal(err.aws_code, "NotFound");
	assert_string_equal(err.request_id, "R1");
	assert_string_equal(err.resource, "key 'dir/file.csv' in bucket 'bkt'");
	assert_non_null(strstr(err.message, "HeadObject on key 'dir/file.csv' in bucket 'bkt'"));
	assert_non_null(strstr(err.message, "does not exist"));
	assert_int_equal(r.delete_marker, 0);
	s3i_fanout_op_free(&op);

	/* the current version is a delete marker */
	failed_head(&op, &r, NULL, 404, "NotFound", &err);
	assert_int_equal(s3i_headers_add(&resp.headers, "x-amz-delete-marker", "true"), S3I_OK);
	assert_int_equal(s3i_headers_add(&resp.headers, "x-amz-version-id", "dm-1"), S3I_OK);
	rc = s3i_s3_head_object_parse(&op, S3I_ENOTFOUND, &resp, &err);
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_int_equal(r.delete_marker, 1);
	assert_string_equal(r.version_id, "dm-1");
	assert_non_null(strstr(err.message, "key 'dir/file.csv' in bucket 'bkt'"));
	assert_non_null(strstr(err.message, "delete marker"));
	assert_non_null(strstr(err.message, "dm-1"));
	s3i_fanout_op_free(&op);

	/* a version that is a delete marker: 405 MethodNotAllowed, still "not found" */
	failed_head(&op, &r, "dm-1", 405, "MethodNotAllowed", &err);
	resp.status = 405;
	rc = s3i_s3_head_object_parse(&op, S3I_EAWS, &resp, &err);
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_int_equal(err.pub.code, S3I_ENOTFOUND);
	assert_string_equal(err.aws_code, "MethodNotAllowed");
	assert_non_null(strstr(err.message, "version 'dm-1' of key 'dir/file.csv' in bucket 'bkt'"));
	assert_int_equal(r.delete_marker, 1);
	s3i_fanout_op_free(&op);

	/* other failures are left as the client described them */
	s3i_headers_clear(&resp.headers);
	failed_head(&op, &r, NULL, 403, "Forbidden", &err);
	resp.status = 403;
	rc = s3i_s3_head_object_parse(&op, S3I_EAUTH, &resp, &err);
	assert_int_equal(rc, S3I_EAUTH);
	assert_non_null(strstr(err.message, "Forbidden"));
	resp.status = 0;   /* no answer at all */
	rc = s3i_s3_head_object_parse(&op, S3I_ENETWORK, &resp, &err);
	assert_int_equal(rc, S3I_ENETWORK);
	s3i_fanout_op_free(&op);
	s3i_http_response_free(&resp);
}

/* ------------------------------------------------------------------ prepared calls */

static void t_prepare(void **state)
{
	(void)state;
	s3i_fanout_op op;
	s3i_fanout_op_init(&op, s3i_test_alloc());
	s3i_s3_head_result r;
	char key[300];
	snprintf(key, sizeof(key), "a b/c+d");
	assert_int_equal(s3i_s3_head_object_prepare(&op, "bkt", key, NULL, &r, NULL), S3I_OK);
	key[0] = 'X';                               /* the op keeps its own copies */
	assert_string_equal(op.call.key, "a b/c+d");
	assert_string_equal(op.call.bucket, "bkt");
	assert_string_equal(op.call.method, "HEAD");
	assert_string_equal(op.call.operation, "HeadObject");
	assert_ptr_equal(op.call.svc, &s3i_svc_s3);
	assert_null(op.call.params);
	assert_ptr_equal(op.result, &r);
	assert_ptr_equal(op.parse, s3i_s3_head_object_parse);
	assert_string_equal(op.call.resource, "key 'a b/c+d' in bucket 'bkt'");
	assert_int_equal(r.content_length, -1);

	assert_int_equal(s3i_s3_head_object_prepare(&op, "bkt", "k", "v1", &r, NULL), S3I_OK);
	assert_non_null(op.call.params);
	assert_int_equal(op.params.count, 1);
	assert_string_equal(op.params.keys[0], "versionId");
	assert_string_equal(op.params.values[0], "v1");

	char region[S3I_S3_REGION_MAX] = "stale";
	assert_int_equal(s3i_s3_bucket_location_prepare(&op, "bkt2", region, NULL), S3I_OK);
	assert_string_equal(region, "");
	assert_string_equal(op.call.operation, "GetBucketLocation");
	assert_string_equal(op.call.method, "GET");
	assert_string_equal(op.call.bucket, "bkt2");
	assert_null(op.call.key);
	assert_int_equal(op.params.count, 1);
	assert_string_equal(op.params.keys[0], "location");
	assert_null(op.params.values[0]);
	assert_string_equal(op.call.resource, "bucket 'bkt2'");

	/* bad names fail before anything is sent, naming what is wrong */
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_s3_head_object_prepare(&op, "bkt", "", NULL, &r, &err), S3I_EINVALID);
	assert_non_null(strstr(err.message, "HeadObject"));
	assert_non_null(strstr(err.message, "bkt"));
	assert_ptr_equal(op.result, &r);
	assert_int_equal(s3i_s3_head_object_prepare(&op, NULL, "k", NULL, &r, &err), S3I_EINVALID);
	assert_int_equal(s3i_s3_bucket_location_prepare(&op, "", region, &err), S3I_EINVALID);
	assert_non_null(strstr(err.message, "GetBucketLocation"));
	s3i_fanout_op_free(&op);
}

static void t_op_strings(void **state)
{
	(void)state;
	s3i_fanout_op op;
	s3i_fanout_op_init(&op, s3i_test_alloc());
	const char *kept[64];
	char text[3000];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 64; i++) {
			size_t n = (size_t)(i * 37 % 2900) + 1;
			memset(text, 'a' + i % 26, n);
			text[n] = '\0';
			kept[i] = i % 2 ? s3i_fanout_op_strdup(&op, text)
				: s3i_fanout_op_printf(&op, "%s", text);
			assert_non_null(kept[i]);
		}
		for (int i = 0; i < 64; i++) {   /* nothing moved */
			size_t n = (size_t)(i * 37 % 2900) + 1;
			assert_int_equal(strlen(kept[i]), n);
			assert_int_equal(kept[i][n - 1], 'a' + i % 26);
		}
		assert_null(s3i_fanout_op_strdup(&op, NULL));
		s3i_fanout_op_reset(&op);
	}
	s3i_fanout_op_free(&op);
}

static void t_prepare_oom(void **state)
{
	(void)state;
	char key[1500];
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	int ok = 0;
	for (long n = 0; n < 100 && !ok; n++) {
		s3i_fanout_op op;
		s3i_fanout_op_init(&op, s3i_test_alloc());
		s3i_s3_head_result r;
		s3i_errinfo err;
		s3i_errinfo_init(&err);
		s3i_test_alloc_fail_after(n);
		int rc = s3i_s3_head_object_prepare(&op, "bkt", key, "version-1", &r, &err);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK) {
			assert_string_equal(op.call.key, key);
			ok = 1;
		} else {
			assert_int_equal(rc, S3I_ENOMEM);
			assert_non_null(strstr(err.message, "out of memory"));
		}
		s3i_fanout_op_free(&op);
	}
	assert_true(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_location_regions),
		S3I_TEST(t_location_bad),
		S3I_TEST(t_location_normalise),
		S3I_TEST(t_location_oom),
		S3I_TEST(t_head_headers),
		S3I_TEST(t_head_headers_bad),
		S3I_TEST(t_head_not_found),
		S3I_TEST(t_prepare),
		S3I_TEST(t_op_strings),
		S3I_TEST(t_prepare_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
