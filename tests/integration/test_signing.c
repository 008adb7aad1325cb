/*
 * SigV4 against moto_server with signature checking ON (moto-notes §2): the library's
 * signatures are accepted for S3 (REST-XML), STS (query) and DynamoDB (JSON 1.0), and what a
 * real AWS refuses is refused here too, each as a clear S3I_EAUTH error: a wrong secret, an
 * unknown key id, a signed header changed after signing, a request sent to another path than
 * the one signed, and a JSON or form body changed after signing. Object keys stay within
 * [A-Za-z0-9-_.~/]: moto wrongly rejects others in this mode (test_s3_objects covers them with
 * checking off).
 *
 * STS and DynamoDB have no public API yet, so those calls go through the internal client
 * (s3i_client_call) with service descriptions defined here; the tampering tests sign with
 * s3i_sigv4_sign and send with s3i_http_perform themselves, as only that allows changing a
 * request after it was signed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "aws/client.h"
#include "aws/ctx_internal.h"
#include "aws/headers.h"
#include "aws/http.h"
#include "aws/protocol.h"
#include "aws/sigv4.h"
#include "core/errinfo.h"
#include "moto.h"
#include "test_alloc.h"

static const s3i_service svc_sts = {
	.endpoint_id = "sts", .signing_name = "sts", .protocol = S3I_PROTO_QUERY,
	.api_version = "2011-06-15",
};
static const s3i_service svc_ddb = {
	.endpoint_id = "dynamodb", .signing_name = "dynamodb", .protocol = S3I_PROTO_JSON_10,
	.target_prefix = "DynamoDB_20120810",
};

#define TABLE_JSON "{\"TableName\":\"sig_table\",\"AttributeDefinitions\":[{\"AttributeName\":" \
	"\"pk\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":" \
	"\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}"

static s3i_moto *moto;
static char ak[64], sk[128];   /* the IAM user's keys of the current test */

static int group_setup(void **state)
{
	(void)state;
	return s3i_moto_start(&moto, NULL);
}

static void test_log(void *user, s3i_log_level level, const char *line)
{
	(void)user;
	fprintf(stderr, "  [s3i %d] %s\n", (int)level, line);
}

static void show_error(const char *what, int rc, const s3i_error *e)
{
	fprintf(stderr, "%s -> %d (%s): %s [aws_code '%s', HTTP %d]\n", what, rc, s3i_strerror(rc),
		e->message, e->aws_code, (int)e->http_status);
}

#define CHECK_OK(call) do { \
	int rc_ = (call); \
	if (rc_ != S3I_OK) \
		show_error(#call, rc_, s3i_error_last()); \
	assert_int_equal(rc_, S3I_OK); \
} while (0)

/* Reset moto, switch checking on and remember the IAM user's keys. */
static void begin(void)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	assert_int_equal(s3i_moto_enable_auth(moto, ak, sk), 0);
}

static s3i_ctx *make_ctx(const char *access_key_id, const char *secret_access_key)
{
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = access_key_id;
	o.secret_access_key = secret_access_key;
	o.log_fn = test_log;
	o.log_level = S3I_LOG_WARN;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	return ctx;
}

/* One STS or DynamoDB operation through the internal client. The body (2xx) is copied into
 * *out_body (plain malloc) when asked. */
static int client_call(s3i_ctx *ctx, const s3i_service *svc, const char *operation,
	const char *json, s3i_errinfo *err, char **out_body)
{
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_ctx_alloc(ctx));
	s3i_call call = { .svc = svc, .operation = operation,
		.resource = svc == &svc_ddb ? "table 'sig_table'" : NULL,
		.body = json, .body_len = json ? strlen(json) : 0 };
	s3i_errinfo_init(err);
	int rc = s3i_client_call(s3i_ctx_client(ctx), &call, &resp, err);
	if (out_body)
		*out_body = rc == S3I_OK ? strdup(s3i_buf_cstr(&resp.body)) : NULL;
	s3i_http_response_free(&resp);
	return rc;
}

/* An expected refusal: status, AWS code, 403 and the operation named in the message, both in
 * the given detail and in s3i_error_last(). */
static void expect_refused(int rc, const s3i_error *e, const char *aws_code, const char *operation)
{
	if (rc != S3I_EAUTH || strcmp(e->aws_code, aws_code))
		show_error(operation, rc, e);
	assert_int_equal(rc, S3I_EAUTH);
	assert_int_equal(e->code, S3I_EAUTH);
	assert_string_equal(e->aws_code, aws_code);
	assert_int_equal(e->http_status, 403);
	assert_non_null(strstr(e->message, operation));
	const s3i_error *last = s3i_error_last();
	assert_int_equal(last->code, S3I_EAUTH);
	assert_string_equal(last->aws_code, aws_code);
	/* a refused signature never leaks the secret into the message */
	assert_null(strstr(e->message, sk));
}

/* ------------------------------------------------------------------ accepted */

static const char *const safe_keys[] = {
	"plain.txt",
	"dir/sub/file_name-1.v2~",
	"UPPER/lower/0123456789",
	"a//double/slash",
	NULL
};

static int collect_keys(void *payload, const s3i_s3_object_info *info)
{
	char *seen = payload;
	strcat(seen, info->key);
	strcat(seen, "\n");
	return 0;
}

static void test_good_signatures_are_accepted(void **state)
{
	(void)state;
	begin();
	s3i_ctx *ctx = make_ctx(ak, sk);

	/* S3: bucket, objects from memory and streamed from a file, listing, deletes. */
	CHECK_OK(s3i_s3_create_bucket(ctx, "sig-bucket", NULL));
	for (int i = 0; safe_keys[i]; i++)
		CHECK_OK(s3i_s3_put_object(ctx, "sig-bucket", safe_keys[i], safe_keys[i],
			strlen(safe_keys[i])));
	char path[256];
	snprintf(path, sizeof path, "/tmp/s3i-signing-%d.bin", (int)getpid());
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (int i = 0; i < 100000; i++)
		fputc(i * 7 & 0xff, f);
	assert_int_equal(fclose(f), 0);
	CHECK_OK(s3i_s3_put_object_file(ctx, "sig-bucket", "streamed/file.bin", path));
	unlink(path);

	for (int i = 0; safe_keys[i]; i++) {
		s3i_buf got = S3I_BUF_INIT;
		CHECK_OK(s3i_s3_get_object(ctx, "sig-bucket", safe_keys[i], &got));
		assert_int_equal(got.size, strlen(safe_keys[i]));
		assert_memory_equal(got.ptr, safe_keys[i], got.size);
		s3i_buf_dispose(&got);
	}
	s3i_buf got = S3I_BUF_INIT;
	CHECK_OK(s3i_s3_get_object(ctx, "sig-bucket", "streamed/file.bin", &got));
	assert_int_equal(got.size, 100000);
	for (size_t i = 0; i < got.size; i++)
		assert_int_equal((unsigned char)got.ptr[i], (unsigned)(i * 7 & 0xff));
	s3i_buf_dispose(&got);

	char seen[1024] = "";
	CHECK_OK(s3i_s3_list_objects(ctx, "sig-bucket", NULL, collect_keys, seen));
	assert_string_equal(seen, "UPPER/lower/0123456789\na//double/slash\n"
		"dir/sub/file_name-1.v2~\nplain.txt\nstreamed/file.bin\n");
	/* A prefix without '/': werkzeug decodes %2F in the query before moto checks the
	 * signature, so moto refuses a correctly signed "prefix=dir%2F" (boto3's too). */
	seen[0] = '\0';
	CHECK_OK(s3i_s3_list_objects(ctx, "sig-bucket", "dir", collect_keys, seen));
	assert_string_equal(seen, "dir/sub/file_name-1.v2~\n");

	for (int i = 0; safe_keys[i]; i++)
		CHECK_OK(s3i_s3_delete_object(ctx, "sig-bucket", safe_keys[i]));
	CHECK_OK(s3i_s3_delete_object(ctx, "sig-bucket", "streamed/file.bin"));
	CHECK_OK(s3i_s3_delete_bucket(ctx, "sig-bucket"));

	/* STS (query protocol): the caller is the IAM user whose keys signed. */
	s3i_errinfo err;
	char *body = NULL;
	int rc = client_call(ctx, &svc_sts, "GetCallerIdentity", NULL, &err, &body);
	if (rc)
		show_error("GetCallerIdentity", rc, &err.pub);
	assert_int_equal(rc, S3I_OK);
	assert_non_null(strstr(body, ":user/ci</Arn>"));
	free(body);

	/* DynamoDB (JSON 1.0): CreateTable, then ListTables sees it. */
	rc = client_call(ctx, &svc_ddb, "CreateTable", TABLE_JSON, &err, &body);
	if (rc)
		show_error("CreateTable", rc, &err.pub);
	assert_int_equal(rc, S3I_OK);
	assert_non_null(strstr(body, "sig_table"));
	free(body);
	rc = client_call(ctx, &svc_ddb, "ListTables", "{}", &err, &body);
	if (rc)
		show_error("ListTables", rc, &err.pub);
	assert_int_equal(rc, S3I_OK);
	assert_non_null(strstr(body, "sig_table"));
	free(body);

	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ refused */

static void test_wrong_secret_is_refused(void **state)
{
	(void)state;
	begin();
	s3i_ctx *good = make_ctx(ak, sk);
	CHECK_OK(s3i_s3_create_bucket(good, "sig-secret", NULL));
	CHECK_OK(s3i_s3_put_object(good, "sig-secret", "obj.txt", "data", 4));

	s3i_ctx *bad = make_ctx(ak, "wrong-secret-wrong-secret-wrong-secret00");
	s3i_buf out = S3I_BUF_INIT;
	int rc = s3i_s3_get_object(bad, "sig-secret", "obj.txt", &out);
	expect_refused(rc, s3i_error_last(), "SignatureDoesNotMatch", "GetObject");
	assert_null(out.ptr);
	assert_non_null(strstr(s3i_error_last()->message, "obj.txt"));
	rc = s3i_s3_put_object(bad, "sig-secret", "other.txt", "x", 1);
	expect_refused(rc, s3i_error_last(), "SignatureDoesNotMatch", "PutObject");
	rc = s3i_s3_list_objects(bad, "sig-secret", NULL, collect_keys, NULL);
	expect_refused(rc, s3i_error_last(), "SignatureDoesNotMatch", "ListObjectsV2");

	s3i_errinfo err;
	rc = client_call(bad, &svc_sts, "GetCallerIdentity", NULL, &err, NULL);
	expect_refused(rc, &err.pub, "SignatureDoesNotMatch", "GetCallerIdentity");
	/* moto answers JSON services' auth errors in XML: parsed all the same */
	rc = client_call(bad, &svc_ddb, "ListTables", "{}", &err, NULL);
	expect_refused(rc, &err.pub, "SignatureDoesNotMatch", "ListTables");
	rc = client_call(bad, &svc_ddb, "CreateTable", TABLE_JSON, &err, NULL);
	expect_refused(rc, &err.pub, "SignatureDoesNotMatch", "CreateTable");

	/* nothing got through */
	s3i_buf still = S3I_BUF_INIT;
	CHECK_OK(s3i_s3_get_object(good, "sig-secret", "obj.txt", &still));
	assert_int_equal(still.size, 4);
	s3i_buf_dispose(&still);
	assert_int_equal(s3i_s3_get_object(good, "sig-secret", "other.txt", &still), S3I_ENOTFOUND);
	char *body = NULL;
	assert_int_equal(client_call(good, &svc_ddb, "ListTables", "{}", &err, &body), S3I_OK);
	assert_null(strstr(body, "sig_table"));
	free(body);

	CHECK_OK(s3i_s3_delete_object(good, "sig-secret", "obj.txt"));
	CHECK_OK(s3i_s3_delete_bucket(good, "sig-secret"));
	s3i_ctx_release(bad);
	s3i_ctx_release(good);
}

static void test_unknown_key_is_refused(void **state)
{
	(void)state;
	begin();
	/* The dummy key every other test uses is no IAM user's once checking is on. */
	s3i_ctx *ctx = make_ctx("testing", "testing");
	int rc = s3i_s3_create_bucket(ctx, "sig-unknown", NULL);
	expect_refused(rc, s3i_error_last(), "InvalidAccessKeyId", "CreateBucket");
	s3i_errinfo err;
	rc = client_call(ctx, &svc_sts, "GetCallerIdentity", NULL, &err, NULL);
	expect_refused(rc, &err.pub, "InvalidClientTokenId", "GetCallerIdentity");
	rc = client_call(ctx, &svc_ddb, "ListTables", "{}", &err, NULL);
	expect_refused(rc, &err.pub, "InvalidClientTokenId", "ListTables");
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ tampered */

/* A request signed by hand, so it can be changed after signing and sent as it is. */
typedef struct raw_req {
	s3i_headers headers;
	char url[512];
	char path[256];
	const char *method;
	const char *body;
} raw_req;

static const char *moto_host(void)
{
	const char *u = s3i_moto_url(moto);
	return strstr(u, "://") + 3;
}

static void raw_sign(raw_req *r, const char *method, const char *path, const char *service,
	const char *const *extra_headers, const char *signed_body, int64_t time_s)
{
	memset(r, 0, sizeof *r);
	r->method = method;
	r->body = signed_body;
	snprintf(r->path, sizeof r->path, "%s", path);
	snprintf(r->url, sizeof r->url, "%s%s", s3i_moto_url(moto), path);
	s3i_headers_init(&r->headers, s3i_test_alloc());
	assert_int_equal(s3i_headers_add(&r->headers, "Host", moto_host()), 0);
	for (const char *const *h = extra_headers; h && *h; h += 2)
		assert_int_equal(s3i_headers_add(&r->headers, h[0], h[1]), 0);
	char hash[S3I_SHA256_HEX_LEN + 1];
	int is_s3 = !strcmp(service, "s3");
	assert_int_equal(s3i_sha256_hex(signed_body ? signed_body : "",
		signed_body ? strlen(signed_body) : 0, hash), 0);
	s3i_sigv4_request sr = {
		.method = method, .path = path, .query = NULL, .headers = &r->headers,
		.payload_hash = hash, .region = "us-east-1", .service = service, .time_s = time_s,
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
	assert_non_null(s3i_headers_get(&r->headers, "Authorization"));
	assert_non_null(s3i_headers_get(&r->headers, "X-Amz-Date"));
}

/* Send (url possibly changed, body possibly replaced) and return the status; the parsed error
 * goes to *eb when the answer is not 2xx. */
static int raw_send(s3i_ctx *ctx, raw_req *r, const char *url, const char *body,
	s3i_aws_error_body *eb, char **out_body)
{
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_test_alloc());
	s3i_http_request hr = { .method = r->method, .url = url ? url : r->url, .headers = &r->headers,
		.body = body, .body_len = body ? strlen(body) : 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_http_perform(ctx->http, &hr, &resp, &err);
	if (rc)
		fprintf(stderr, "s3i_http_perform: %s\n", err.message);
	assert_int_equal(rc, 0);
	memset(eb, 0, sizeof *eb);
	if (resp.status < 200 || resp.status >= 300)
		s3i_aws_error_parse(eb, resp.status, &resp.headers, resp.body.ptr, resp.body.size);
	if (out_body)
		*out_body = strdup(s3i_buf_cstr(&resp.body));
	int status = resp.status;
	s3i_http_response_free(&resp);
	return status;
}

static void expect_raw_refused(int status, const s3i_aws_error_body *eb, const char *what)
{
	if (status != 403 || strcmp(eb->code, "SignatureDoesNotMatch"))
		fprintf(stderr, "%s: HTTP %d, code '%s': %s\n", what, status, eb->code, eb->message);
	assert_int_equal(status, 403);
	assert_string_equal(eb->code, "SignatureDoesNotMatch");
	assert_int_equal(s3i_aws_error_status(status, eb->code), S3I_EAUTH);
}

static void test_tampered_signed_header_is_refused(void **state)
{
	(void)state;
	begin();
	s3i_ctx *ctx = make_ctx(ak, sk);
	CHECK_OK(s3i_s3_create_bucket(ctx, "sig-tamper", NULL));
	CHECK_OK(s3i_s3_put_object(ctx, "sig-tamper", "obj.txt", "original", 8));
	CHECK_OK(s3i_s3_put_object(ctx, "sig-tamper", "other.txt", "other", 5));
	int64_t now = (int64_t)time(NULL);
	static const char *const meta[] = { "X-Amz-Meta-Probe", "original-value", NULL };
	s3i_aws_error_body eb;
	char *body = NULL;

	/* Untouched, the hand-signed request works: the refusals below are the tampering's. */
	raw_req r;
	raw_sign(&r, "GET", "/sig-tamper/obj.txt", "s3", meta, NULL, now);
	const char *auth = s3i_headers_get(&r.headers, "Authorization");
	assert_non_null(strstr(auth, "x-amz-meta-probe"));   /* the header is covered */
	assert_int_equal(raw_send(ctx, &r, NULL, NULL, &eb, &body), 200);
	assert_string_equal(body, "original");
	free(body);

	/* A signed custom header changed after signing. */
	assert_int_equal(s3i_headers_set(&r.headers, "X-Amz-Meta-Probe", "changed-value"), 0);
	expect_raw_refused(raw_send(ctx, &r, NULL, NULL, &eb, NULL), &eb, "changed x-amz-meta-probe");
	s3i_headers_free(&r.headers);

	/* X-Amz-Date moved by one second. */
	raw_sign(&r, "GET", "/sig-tamper/obj.txt", "s3", NULL, NULL, now);
	char date[17];
	snprintf(date, sizeof date, "%s", s3i_headers_get(&r.headers, "X-Amz-Date"));
	date[14] = date[14] == '0' ? '1' : '0';   /* 20240101T120000Z: the seconds' last digit */
	assert_int_equal(s3i_headers_set(&r.headers, "X-Amz-Date", date), 0);
	expect_raw_refused(raw_send(ctx, &r, NULL, NULL, &eb, NULL), &eb, "changed X-Amz-Date");
	s3i_headers_free(&r.headers);

	/* The signature for one key presented for another. */
	raw_sign(&r, "GET", "/sig-tamper/obj.txt", "s3", NULL, NULL, now);
	char url[600];
	snprintf(url, sizeof url, "%s/sig-tamper/other.txt", s3i_moto_url(moto));
	expect_raw_refused(raw_send(ctx, &r, url, NULL, &eb, NULL), &eb, "another path");
	s3i_headers_free(&r.headers);

	/* STS: a signed header (the target of the query API is the body; here the Content-Type). */
	static const char *const form[] = { "Content-Type",
		"application/x-www-form-urlencoded; charset=utf-8", NULL };
	static const char sts_body[] = "Action=GetCallerIdentity&Version=2011-06-15";
	raw_sign(&r, "POST", "/", "sts", form, sts_body, now);
	assert_int_equal(raw_send(ctx, &r, NULL, sts_body, &eb, &body), 200);
	assert_non_null(strstr(body, ":user/ci</Arn>"));
	free(body);
	assert_int_equal(s3i_headers_set(&r.headers, "X-Amz-Date", date), 0);
	int status = raw_send(ctx, &r, NULL, sts_body, &eb, NULL);
	expect_raw_refused(status, &eb, "STS with a changed X-Amz-Date");
	s3i_headers_free(&r.headers);

	CHECK_OK(s3i_s3_delete_object(ctx, "sig-tamper", "obj.txt"));
	CHECK_OK(s3i_s3_delete_object(ctx, "sig-tamper", "other.txt"));
	CHECK_OK(s3i_s3_delete_bucket(ctx, "sig-tamper"));
	s3i_ctx_release(ctx);
}

static void test_tampered_body_is_refused(void **state)
{
	(void)state;
	begin();
	s3i_ctx *ctx = make_ctx(ak, sk);
	int64_t now = (int64_t)time(NULL);
	s3i_aws_error_body eb;
	char *body = NULL;
	static const char *const ddb[] = { "Content-Type", "application/x-amz-json-1.0",
		"X-Amz-Target", "DynamoDB_20120810.CreateTable", NULL };

	/* Signed body A sent as signed: accepted. */
	raw_req r;
	raw_sign(&r, "POST", "/", "dynamodb", ddb, TABLE_JSON, now);
	assert_int_equal(raw_send(ctx, &r, NULL, TABLE_JSON, &eb, &body), 200);
	assert_non_null(strstr(body, "sig_table"));
	free(body);
	s3i_headers_free(&r.headers);

	/* Signed body A, sent body B (another table name, same length): refused, nothing made. */
	static const char tampered[] = "{\"TableName\":\"sig_tablX\",\"AttributeDefinitions\":[{"
		"\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":"
		"\"pk\",\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}";
	assert_int_equal(strlen(tampered), strlen(TABLE_JSON));
	raw_sign(&r, "POST", "/", "dynamodb", ddb, TABLE_JSON, now);
	expect_raw_refused(raw_send(ctx, &r, NULL, tampered, &eb, NULL), &eb, "DynamoDB body");
	s3i_headers_free(&r.headers);

	/* The same through the target header: signed for ListTables, sent as DeleteTable. */
	static const char *const list[] = { "Content-Type", "application/x-amz-json-1.0",
		"X-Amz-Target", "DynamoDB_20120810.ListTables", NULL };
	raw_sign(&r, "POST", "/", "dynamodb", list, "{}", now);
	assert_non_null(strstr(s3i_headers_get(&r.headers, "Authorization"), "x-amz-target"));
	assert_int_equal(s3i_headers_set(&r.headers, "X-Amz-Target", "DynamoDB_20120810.DeleteTable"), 0);
	expect_raw_refused(raw_send(ctx, &r, NULL, "{\"TableName\":\"sig_table\"}", &eb, NULL), &eb,
		"DynamoDB target");
	s3i_headers_free(&r.headers);

	/* STS form body changed after signing. */
	static const char *const form[] = { "Content-Type",
		"application/x-www-form-urlencoded; charset=utf-8", NULL };
	raw_sign(&r, "POST", "/", "sts", form, "Action=GetCallerIdentity&Version=2011-06-15", now);
	expect_raw_refused(raw_send(ctx, &r, NULL, "Action=GetCallerIdentity&Version=2011-06-16",
		&eb, NULL), &eb, "STS body");
	s3i_headers_free(&r.headers);

	/* Only the table of the untampered call exists. */
	s3i_errinfo err;
	assert_int_equal(client_call(ctx, &svc_ddb, "ListTables", "{}", &err, &body), S3I_OK);
	assert_non_null(strstr(body, "\"sig_table\""));
	assert_null(strstr(body, "sig_tablX"));
	free(body);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_good_signatures_are_accepted),
		S3I_TEST(test_wrong_secret_is_refused),
		S3I_TEST(test_unknown_key_is_refused),
		S3I_TEST(test_tampered_signed_header_is_refused),
		S3I_TEST(test_tampered_body_is_refused),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
