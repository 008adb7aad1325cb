/*
 * SigV4 with the body handed to the signer (s3i_sigv4_request.payload, which the signer hashes
 * itself while it signs) against moto_server with signature checking ON (moto-notes §2):
 * DynamoDB (JSON 1.0, a 1 KiB PutItem as in bench/sigv4), STS (query form) and an S3 PUT (whose
 * x-amz-content-sha256 header makes the signer hash the body first) are accepted, and a
 * DynamoDB body changed after signing is refused as SignatureDoesNotMatch (moto does not check
 * an S3 body against its x-amz-content-sha256, so that header's value is checked here instead).
 * test_signing covers the same calls signed with a payload hash computed beforehand.
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
#include "aws/headers.h"
#include "aws/http.h"
#include "aws/protocol.h"
#include "aws/sigv4.h"
#include "core/errinfo.h"
#include "moto.h"
#include "test_alloc.h"

static s3i_moto *moto;
static char ak[64], sk[128];   /* the IAM user's keys */

static int group_setup(void **state)
{
	(void)state;
	return s3i_moto_start(&moto, NULL);
}

static s3i_ctx *make_ctx(void)
{
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = ak;
	o.secret_access_key = sk;
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	return ctx;
}

/* A request signed with its body given to the signer, sent as it is or with another body. */
typedef struct raw_req {
	s3i_headers headers;
	char url[512];
	const char *method;
} raw_req;

static void sign_body(raw_req *r, const char *method, const char *path, const char *service,
	const char *const *extra_headers, const char *body)
{
	memset(r, 0, sizeof *r);
	r->method = method;
	snprintf(r->url, sizeof r->url, "%s%s", s3i_moto_url(moto), path);
	s3i_headers_init(&r->headers, s3i_test_alloc());
	const char *host = strstr(s3i_moto_url(moto), "://") + 3;
	assert_int_equal(s3i_headers_add(&r->headers, "Host", host), 0);
	for (const char *const *h = extra_headers; h && *h; h += 2)
		assert_int_equal(s3i_headers_add(&r->headers, h[0], h[1]), 0);
	int is_s3 = !strcmp(service, "s3");
	s3i_sigv4_request sr = {
		.method = method, .path = path, .headers = &r->headers, .payload_hash = NULL,
		.payload = body, .payload_len = strlen(body), .region = "us-east-1",
		.service = service, .time_s = (int64_t)time(NULL),
		.flags = is_s3 ? (S3I_SIGV4_S3_PATH | S3I_SIGV4_CONTENT_SHA256_HEADER) : 0,
	};
	s3i_signer *signer = NULL;
	assert_int_equal(s3i_signer_new(&signer, s3i_test_alloc()), 0);
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_sigv4_sign(signer, &sr, &(s3i_sigv4_creds){ ak, sk, NULL }, NULL, NULL, &err);
	if (rc)
		fprintf(stderr, "s3i_sigv4_sign: %s\n", err.message);
	assert_int_equal(rc, 0);
	s3i_signer_free(signer);
}

/* Send with `body`; the status, the AWS error code (when not 2xx) and the response body. */
static int send_body(s3i_ctx *ctx, raw_req *r, const char *body, char *code, size_t code_cap,
	char **out_body)
{
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_test_alloc());
	s3i_http_request hr = { .method = r->method, .url = r->url, .headers = &r->headers,
		.body = body, .body_len = strlen(body) };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_http_perform(ctx->http, &hr, &resp, &err);
	if (rc)
		fprintf(stderr, "s3i_http_perform: %s\n", err.message);
	assert_int_equal(rc, 0);
	s3i_aws_error_body eb;
	memset(&eb, 0, sizeof eb);
	if (resp.status < 200 || resp.status >= 300)
		s3i_aws_error_parse(&eb, resp.status, &resp.headers, resp.body.ptr, resp.body.size);
	snprintf(code, code_cap, "%s", eb.code);
	if (out_body)
		*out_body = strdup(s3i_buf_cstr(&resp.body));
	int status = resp.status;
	s3i_http_response_free(&resp);
	return status;
}

static void expect_status(int status, const char *code, int want, const char *what)
{
	if (status != want)
		fprintf(stderr, "%s: HTTP %d (%s), wanted %d\n", what, status, code, want);
	assert_int_equal(status, want);
}

static const char *const ddb_create[] = { "Content-Type", "application/x-amz-json-1.0",
	"X-Amz-Target", "DynamoDB_20120810.CreateTable", NULL };
static const char *const ddb_put[] = { "Content-Type", "application/x-amz-json-1.0",
	"X-Amz-Target", "DynamoDB_20120810.PutItem", NULL };
static const char *const ddb_get[] = { "Content-Type", "application/x-amz-json-1.0",
	"X-Amz-Target", "DynamoDB_20120810.GetItem", NULL };

#define TABLE_JSON "{\"TableName\":\"pl_table\",\"AttributeDefinitions\":[{\"AttributeName\":" \
	"\"pk\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":" \
	"\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}"

/* A PutItem body of exactly 1024 bytes, as bench/sigv4 signs. */
static void put_item_body(char body[1025], const char *pk, char fill)
{
	int h = snprintf(body, 1025, "{\"TableName\":\"pl_table\",\"Item\":{\"pk\":{\"S\":\"%s\"},"
		"\"data\":{\"S\":\"", pk);
	memset(body + h, fill, 1024 - (size_t)h - 4);
	memcpy(body + 1020, "\"}}}", 5);
}

static void test_dynamodb_body_signed_by_signer(void **state)
{
	(void)state;
	assert_int_equal(s3i_moto_reset(moto), 0);
	assert_int_equal(s3i_moto_enable_auth(moto, ak, sk), 0);
	s3i_ctx *ctx = make_ctx();
	char code[128], *resp = NULL, body[1025];
	raw_req r;

	sign_body(&r, "POST", "/", "dynamodb", ddb_create, TABLE_JSON);
	expect_status(send_body(ctx, &r, TABLE_JSON, code, sizeof code, NULL), code, 200, "CreateTable");
	s3i_headers_free(&r.headers);

	put_item_body(body, "user#000001", 'x');
	sign_body(&r, "POST", "/", "dynamodb", ddb_put, body);
	expect_status(send_body(ctx, &r, body, code, sizeof code, NULL), code, 200, "PutItem 1 KiB");
	s3i_headers_free(&r.headers);

	/* Signed with one body, sent with another of the same length: refused, nothing written. */
	char tampered[1025];
	put_item_body(body, "user#000002", 'x');
	put_item_body(tampered, "user#000002", 'y');
	sign_body(&r, "POST", "/", "dynamodb", ddb_put, body);
	int status = send_body(ctx, &r, tampered, code, sizeof code, NULL);
	expect_status(status, code, 403, "PutItem with a changed body");
	assert_string_equal(code, "SignatureDoesNotMatch");
	s3i_headers_free(&r.headers);

	static const char get1[] = "{\"TableName\":\"pl_table\",\"Key\":{\"pk\":{\"S\":\"user#000001\"}}}";
	sign_body(&r, "POST", "/", "dynamodb", ddb_get, get1);
	expect_status(send_body(ctx, &r, get1, code, sizeof code, &resp), code, 200, "GetItem");
	assert_non_null(strstr(resp, "xxxxxxxx"));
	free(resp);
	s3i_headers_free(&r.headers);

	static const char get2[] = "{\"TableName\":\"pl_table\",\"Key\":{\"pk\":{\"S\":\"user#000002\"}}}";
	sign_body(&r, "POST", "/", "dynamodb", ddb_get, get2);
	expect_status(send_body(ctx, &r, get2, code, sizeof code, &resp), code, 200, "GetItem 2");
	assert_null(strstr(resp, "yyyy"));   /* the tampered item was not written */
	free(resp);
	s3i_headers_free(&r.headers);
	s3i_ctx_release(ctx);
}

static void test_sts_and_s3_bodies_signed_by_signer(void **state)
{
	(void)state;
	assert_int_equal(s3i_moto_reset(moto), 0);
	assert_int_equal(s3i_moto_enable_auth(moto, ak, sk), 0);
	s3i_ctx *ctx = make_ctx();
	char code[128], *resp = NULL;
	raw_req r;

	static const char *const form[] = { "Content-Type",
		"application/x-www-form-urlencoded; charset=utf-8", NULL };
	static const char sts_body[] = "Action=GetCallerIdentity&Version=2011-06-15";
	sign_body(&r, "POST", "/", "sts", form, sts_body);
	expect_status(send_body(ctx, &r, sts_body, code, sizeof code, &resp), code, 200,
		"GetCallerIdentity");
	assert_non_null(strstr(resp, "<Arn>"));
	free(resp);
	s3i_headers_free(&r.headers);

	assert_int_equal(s3i_s3_create_bucket(ctx, "pl-bucket", NULL), S3I_OK);
	static const char obj[] = "the object's body, hashed by the signer";
	sign_body(&r, "PUT", "/pl-bucket/obj.txt", "s3", NULL, obj);
	/* (moto does not compare an S3 body with this header, so that check is the hash here) */
	char hash[S3I_SHA256_HEX_LEN + 1];
	assert_int_equal(s3i_sha256_hex(obj, strlen(obj), hash), 0);
	assert_string_equal(s3i_headers_get(&r.headers, "x-amz-content-sha256"), hash);
	expect_status(send_body(ctx, &r, obj, code, sizeof code, NULL), code, 200, "PutObject");
	s3i_headers_free(&r.headers);

	sign_body(&r, "GET", "/pl-bucket/obj.txt", "s3", NULL, "");
	expect_status(send_body(ctx, &r, "", code, sizeof code, &resp), code, 200, "GetObject");
	assert_string_equal(resp, obj);
	free(resp);
	s3i_headers_free(&r.headers);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_dynamodb_body_signed_by_signer),
		S3I_TEST(test_sts_and_s3_bodies_signed_by_signer),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
