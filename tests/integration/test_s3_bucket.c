/*
 * S3 bucket operations (src/services/s3_bucket.c) against moto_server: ListBuckets (and its
 * continuation, which moto cannot page: AWS's documented pages are served through /_fault),
 * HeadBucket (exists, missing, 403 with the bucket's region), inventory configurations (put,
 * get, list across pages served through /_fault, delete, missing ones), notification
 * configurations, policy, public access block, default encryption, lifecycle and versioning
 * (each read back with raw calls that do not go through the library), missing buckets for
 * every operation, and a second account reached through AssumeRole. Every context uses the
 * counting allocator, so a leak fails the test that caused it.
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
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

#define XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

static s3i_moto *moto;

/* ------------------------------------------------------------------ helpers */

static int group_setup(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);   /* fast client retries */
	return s3i_moto_start(&moto, NULL);
}

/* rc must be `code`, and the thread's error must mention every string given. */
static void expect_error(int rc, int code, const char *aws_code, const char *const *mentions)
{
	const s3i_error *e = s3i_error_last();
	if (rc != code)
		s3i_check_show_error("expected failure", rc);
	assert_int_equal(rc, code);
	assert_int_equal(e->code, code);
	if (aws_code)
		assert_string_equal(e->aws_code, aws_code);
	for (const char *const *m = mentions; m && *m; m++) {
		if (!strstr(e->message, *m))
			fprintf(stderr, "message '%s' does not mention '%s'\n", e->message, *m);
		assert_non_null(strstr(e->message, *m));
	}
	assert_null(strchr(e->message, '\n'));
}

/* Reset moto and open a context on it with the counting allocator and dummy keys. */
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

/* A fault rule answering `status` with `body` (JSON-escaped here) to requests matching method,
 * path and (when not NULL) a substring of the query. headers_json: NULL or a JSON object. */
static void add_rule(const char *method, const char *path, const char *query, int status,
	const char *body, const char *headers_json, int count)
{
	size_t cap = strlen(body) * 2 + 1024;
	char *rule = malloc(cap);
	assert_non_null(rule);
	int n = snprintf(rule, cap, "{\"method\":\"%s\",\"path\":\"%s\",", method, path);
	if (query)
		n += snprintf(rule + n, cap - (size_t)n, "\"query\":\"%s\",", query);
	if (headers_json)
		n += snprintf(rule + n, cap - (size_t)n, "\"headers\":%s,", headers_json);
	n += snprintf(rule + n, cap - (size_t)n, "\"status\":%d,\"count\":%d,\"body\":\"", status,
		count);
	for (const char *p = body; *p; p++) {
		if (*p == '\n') {
			rule[n++] = '\\';
			rule[n++] = 'n';
			continue;
		}
		if (*p == '"' || *p == '\\')
			rule[n++] = '\\';
		rule[n++] = *p;
	}
	snprintf(rule + n, cap - (size_t)n, "\"}");
	assert_int_equal(s3i_moto_add_fault(moto, rule), 0);
	free(rule);
}

/* Every fault rule consumed: no positive count remains. */
static void expect_faults_used(void)
{
	char *body = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/_fault", NULL, NULL, &body, &status), 0);
	assert_int_equal(status, 200);
	for (int c = 1; c <= 9; c++) {
		char want[32];
		snprintf(want, sizeof(want), "\"count\": %d", c);
		if (strstr(body, want))
			fprintf(stderr, "unused fault rule: %s\n", body);
		assert_null(strstr(body, want));
	}
	free(body);
}

/* A raw signed S3 GET (not through the library); the body (free it) and the status. */
static char *raw_get(const char *path, int *status)
{
	s3i_moto_req req = { .service = "s3", .path = path };
	char *out = NULL;
	assert_int_equal(s3i_moto_call(moto, &req, &out, status), 0);
	assert_non_null(out);
	return out;
}

static void expect_raw(const char *path, const char *const *mentions)
{
	int status = 0;
	char *body = raw_get(path, &status);
	if (status != 200)
		fprintf(stderr, "GET %s -> %d: %s\n", path, status, body);
	assert_int_equal(status, 200);
	for (const char *const *m = mentions; *m; m++) {
		if (!strstr(body, *m))
			fprintf(stderr, "GET %s: '%s' not in %s\n", path, *m, body);
		assert_non_null(strstr(body, *m));
	}
	free(body);
}

/* ------------------------------------------------------------------ ListBuckets */

typedef struct buckets_seen {
	char names[16][64];
	char regions[16][32];
	int64_t created[16];
	int n;
	int stop_at;
} buckets_seen;

static int on_bucket(void *payload, const s3i_s3_bucket_info *b)
{
	buckets_seen *s = payload;
	assert_true(s->n < 16);
	assert_non_null(b->name);
	assert_non_null(b->region);
	assert_non_null(b->arn);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", b->name);
	snprintf(s->regions[s->n], sizeof(s->regions[0]), "%s", b->region);
	s->created[s->n] = b->creation_ms;
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static int has_bucket(const buckets_seen *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return 1;
	return 0;
}

static void test_list_buckets(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	buckets_seen s = { 0 };
	CHECK_OK(s3i_s3_list_buckets_op(&svc, NULL, on_bucket, &s, NULL));
	assert_int_equal(s.n, 0);

	CHECK_OK(s3i_s3_create_bucket_op(&svc, "lb-alpha", NULL, NULL));
	CHECK_OK(s3i_s3_create_bucket_op(&svc, "lb-beta", "eu-west-1", NULL));
	CHECK_OK(s3i_s3_create_bucket_op(&svc, "other-gamma", "us-west-2", NULL));
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_s3_list_buckets_op(&svc, NULL, on_bucket, &s, NULL));
	assert_int_equal(s.n, 3);
	assert_true(has_bucket(&s, "lb-alpha") && has_bucket(&s, "lb-beta") &&
		has_bucket(&s, "other-gamma"));
	for (int i = 0; i < s.n; i++) {
		assert_true(s.created[i] > 1500000000000LL);
		assert_string_equal(s.regions[i], "");          /* moto sends no BucketRegion */
	}

	/* the region filter is sent (moto honours it) */
	memset(&s, 0, sizeof(s));
	s3i_s3_list_buckets_opts o = { .bucket_region = "eu-west-1" };
	CHECK_OK(s3i_s3_list_buckets_op(&svc, &o, on_bucket, &s, NULL));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], "lb-beta");

	/* a callback that stops: S3I_EUSER */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	int rc = s3i_s3_list_buckets_op(&svc, NULL, on_bucket, &s, NULL);
	const char *stopped[] = { "ListBuckets", "stopped by the callback", NULL };
	expect_error(rc, S3I_EUSER, NULL, stopped);
	assert_int_equal(s.n, 1);

	/* bad options fail before anything is sent */
	o = (s3i_s3_list_buckets_opts){ .max_buckets = 10001 };
	rc = s3i_s3_list_buckets_op(&svc, &o, on_bucket, &s, NULL);
	const char *bad[] = { "max_buckets 10001", NULL };
	expect_error(rc, S3I_EINVALID, NULL, bad);
	s3i_ctx_release(ctx);
}

#define BUCKETS_PAGE(entries, token) \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult xmlns=\"" XMLNS "\">" \
	"<Buckets>" entries "</Buckets><Owner><DisplayName>owner</DisplayName>" \
	"<ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID></Owner>" \
	token "</ListAllMyBucketsResult>"
#define BUCKET(name, region) \
	"<Bucket><BucketRegion>" region "</BucketRegion><CreationDate>2019-12-11T23:32:47+00:00" \
	"</CreationDate><Name>" name "</Name></Bucket>"

static void test_list_buckets_continuation(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	/* moto truncates at max-buckets without a ContinuationToken: AWS's pages come from /_fault
	 * (the rule for the second page first: it is the more specific) */
	add_rule("GET", "^/$", "continuation-token=eyJNYXJrZXIiOiAicGFnZTIifQ%3D%3D", 200,
		BUCKETS_PAGE(BUCKET("page2-a", "ap-southeast-2"), ""), NULL, 1);
	add_rule("GET", "^/$", "max-buckets=2", 200,
		BUCKETS_PAGE(BUCKET("page1-a", "us-east-1") BUCKET("page1-b", "eu-west-1"),
		"<ContinuationToken>eyJNYXJrZXIiOiAicGFnZTIifQ==</ContinuationToken>"), NULL, 1);
	buckets_seen s = { 0 };
	s3i_s3_list_buckets_opts o = { .max_buckets = 2 };
	CHECK_OK(s3i_s3_list_buckets_op(&svc, &o, on_bucket, &s, NULL));
	assert_int_equal(s.n, 3);
	assert_string_equal(s.names[0], "page1-a");
	assert_string_equal(s.regions[0], "us-east-1");
	assert_string_equal(s.names[1], "page1-b");
	assert_string_equal(s.regions[1], "eu-west-1");
	assert_string_equal(s.names[2], "page2-a");
	assert_string_equal(s.regions[2], "ap-southeast-2");
	assert_int_equal(s.created[2], 1576107167000LL);
	expect_faults_used();

	/* one page at a time, for resumable work */
	add_rule("GET", "^/$", "continuation-token=t2", 200,
		BUCKETS_PAGE(BUCKET("p2", "us-east-1"), ""), NULL, 1);
	add_rule("GET", "^/$", "max-buckets=1", 200,
		BUCKETS_PAGE(BUCKET("p1", "us-east-1"), "<ContinuationToken>t2</ContinuationToken>"),
		NULL, 1);
	s3i_s3_bucket_page page;
	s3i_s3_bucket_page_init(&page, s3i_test_alloc());
	memset(&s, 0, sizeof(s));
	o = (s3i_s3_list_buckets_opts){ .max_buckets = 1 };
	CHECK_OK(s3i_s3_list_buckets_page_op(&svc, &o, on_bucket, &s, &page, NULL));
	assert_int_equal(page.buckets, 1);
	assert_string_equal(s3i_buf_cstr(&page.next_token), "t2");
	assert_string_equal(page.owner_id,
		"75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a");
	char token[64];
	snprintf(token, sizeof(token), "%s", s3i_buf_cstr(&page.next_token));
	o.continuation_token = token;
	CHECK_OK(s3i_s3_list_buckets_page_op(&svc, &o, on_bucket, &s, &page, NULL));
	assert_int_equal(page.buckets, 1);
	assert_string_equal(s3i_buf_cstr(&page.next_token), "");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.names[1], "p2");
	s3i_s3_bucket_page_free(&page);
	expect_faults_used();

	/* a server that answers the same token again would never end */
	add_rule("GET", "^/$", "max-buckets=1", 200,
		BUCKETS_PAGE(BUCKET("loop", "us-east-1"), "<ContinuationToken>same</ContinuationToken>"),
		NULL, 2);
	memset(&s, 0, sizeof(s));
	o = (s3i_s3_list_buckets_opts){ .max_buckets = 1 };
	int rc = s3i_s3_list_buckets_op(&svc, &o, on_bucket, &s, NULL);
	const char *loop[] = { "ListBuckets", "continuation token it was asked for again", NULL };
	expect_error(rc, S3I_EPARSE, NULL, loop);
	expect_faults_used();

	/* access denied (documented shape) and a 500 that stays: the client's statuses */
	add_rule("GET", "^/$", NULL, 403, "<Error><Code>AccessDenied</Code><Message>Access Denied"
		"</Message><RequestId>R1</RequestId></Error>", NULL, 1);
	rc = s3i_s3_list_buckets_op(&svc, NULL, on_bucket, &s, NULL);
	const char *denied[] = { "ListBuckets failed: AccessDenied", NULL };
	expect_error(rc, S3I_EAUTH, "AccessDenied", denied);
	add_rule("GET", "^/$", NULL, 200, "<ListAllMyBucketsResult><Buckets><Bucket><CreationDate>"
		"2019-12-11T23:32:47Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>", NULL,
		1);
	rc = s3i_s3_list_buckets_op(&svc, NULL, on_bucket, &s, NULL);
	const char *noname[] = { "ListBuckets", "a Bucket without a Name", NULL };
	expect_error(rc, S3I_EPARSE, NULL, noname);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ HeadBucket */

static void test_head_bucket(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	CHECK_OK(s3i_s3_create_bucket_op(&svc, "hb-east", NULL, NULL));
	CHECK_OK(s3i_s3_create_bucket_op(&svc, "hb-west", "eu-west-1", NULL));
	char region[S3I_S3_BUCKET_REGION_MAX];
	CHECK_OK(s3i_s3_head_bucket_op(&svc, "hb-east", region, NULL));
	assert_string_equal(region, "us-east-1");
	CHECK_OK(s3i_s3_head_bucket_op(&svc, "hb-west", region, NULL));
	assert_string_equal(region, "eu-west-1");
	CHECK_OK(s3i_s3_head_bucket_op(&svc, "hb-west", NULL, NULL));

	int rc = s3i_s3_head_bucket_op(&svc, "hb-missing", region, NULL);
	const char *missing[] = { "HeadBucket on bucket 'hb-missing'", "does not exist", "HTTP 404",
		NULL };
	expect_error(rc, S3I_ENOTFOUND, NULL, missing);
	assert_string_equal(region, "");
	assert_string_equal(s3i_error_last()->resource, "bucket 'hb-missing'");

	/* another account's bucket: a bare 403 that still says where the bucket is */
	add_rule("HEAD", "^/hb-theirs/?$", NULL, 403, "", "{\"x-amz-bucket-region\":\"eu-central-1\"}",
		1);
	rc = s3i_s3_head_bucket_op(&svc, "hb-theirs", region, NULL);
	const char *denied[] = { "HeadBucket on bucket 'hb-theirs'", "access denied", "HTTP 403",
		"eu-central-1", NULL };
	expect_error(rc, S3I_EAUTH, NULL, denied);
	assert_string_equal(region, "eu-central-1");
	expect_faults_used();

	rc = s3i_s3_head_bucket_op(&svc, "", region, NULL);
	expect_error(rc, S3I_EINVALID, NULL, NULL);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ inventory */

typedef struct inv_seen {
	char ids[16][64];
	int formats[16];
	uint32_t fields[16];
	int n;
} inv_seen;

static int on_inventory(void *payload, const s3i_s3_inventory_config *c)
{
	inv_seen *s = payload;
	assert_true(s->n < 16);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", c->id);
	s->formats[s->n] = (int)c->format;
	s->fields[s->n] = c->optional_fields;
	s->n++;
	return 0;
}

static void test_inventory_configurations(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	CHECK_OK(s3i_s3_create_bucket_op(&svc, "inv-src", NULL, NULL));
	CHECK_OK(s3i_s3_create_bucket_op(&svc, "inv-dest", NULL, NULL));

	/* what configure-inventory puts: every optional field, SSE-KMS, a filter that needs
	 * escaping */
	s3i_s3_inventory_config full = { .id = "d1-r1-s3-inventory", .enabled = 1,
		.destination_bucket_arn = "arn:aws:s3:::inv-dest",
		.destination_account_id = "123456789012", .destination_prefix = "123456789012/us-east-1",
		.format = S3I_S3_INVENTORY_CSV, .encryption = S3I_S3_INVENTORY_SSE_KMS,
		.kms_key_id = "arn:aws:kms:us-east-1:123456789012:key/1234abcd",
		.versions = S3I_S3_INVENTORY_VERSIONS_CURRENT, .frequency = S3I_S3_INVENTORY_WEEKLY,
		.filter_prefix = "data & <logs>/", .optional_fields = S3I_S3_INVENTORY_FIELDS_ALL };
	CHECK_OK(s3i_s3_put_bucket_inventory_configuration_op(&svc, "inv-src", &full, NULL));
	s3i_s3_inventory_config got;
	s3i_buf storage;
	s3i_buf_init(&storage, s3i_test_alloc());
	CHECK_OK(s3i_s3_get_bucket_inventory_configuration_op(&svc, "inv-src", "d1-r1-s3-inventory",
		&got, &storage, NULL));
	assert_string_equal(got.id, "d1-r1-s3-inventory");
	assert_int_equal(got.enabled, 1);
	assert_string_equal(got.destination_bucket_arn, "arn:aws:s3:::inv-dest");
	assert_string_equal(got.destination_account_id, "123456789012");
	assert_string_equal(got.destination_prefix, "123456789012/us-east-1");
	assert_int_equal(got.format, S3I_S3_INVENTORY_CSV);
	assert_int_equal(got.encryption, S3I_S3_INVENTORY_SSE_KMS);
	assert_string_equal(got.kms_key_id, "arn:aws:kms:us-east-1:123456789012:key/1234abcd");
	assert_int_equal(got.versions, S3I_S3_INVENTORY_VERSIONS_CURRENT);
	assert_int_equal(got.frequency, S3I_S3_INVENTORY_WEEKLY);
	assert_string_equal(got.filter_prefix, "data & <logs>/");
	assert_int_equal(got.optional_fields, S3I_S3_INVENTORY_FIELDS_ALL);
	assert_string_equal(got.other_fields, "");
	/* read back independently: the escaped prefix arrived as text */
	const char *raw[] = { "<Prefix>data &amp; &lt;logs&gt;/</Prefix>",
		"<Field>LifecycleExpirationDate</Field>", "<Field>ObjectAccessControlList</Field>", NULL };
	expect_raw("/inv-src?inventory&id=d1-r1-s3-inventory", raw);

	/* a second one, replaced once: Parquet, SSE-S3, one field, disabled */
	s3i_s3_inventory_config second = { .id = "second", .enabled = 1,
		.destination_bucket_arn = "arn:aws:s3:::inv-dest", .format = S3I_S3_INVENTORY_ORC,
		.versions = S3I_S3_INVENTORY_VERSIONS_ALL, .frequency = S3I_S3_INVENTORY_DAILY };
	CHECK_OK(s3i_s3_put_bucket_inventory_configuration_op(&svc, "inv-src", &second, NULL));
	second.enabled = 0;
	second.format = S3I_S3_INVENTORY_PARQUET;
	second.encryption = S3I_S3_INVENTORY_SSE_S3;
	second.optional_fields = S3I_S3_INVENTORY_FIELD_SIZE;
	CHECK_OK(s3i_s3_put_bucket_inventory_configuration_op(&svc, "inv-src", &second, NULL));
	CHECK_OK(s3i_s3_get_bucket_inventory_configuration_op(&svc, "inv-src", "second", &got,
		&storage, NULL));
	assert_string_equal(got.id, "second");
	assert_int_equal(got.enabled, 0);
	assert_int_equal(got.format, S3I_S3_INVENTORY_PARQUET);
	assert_int_equal(got.versions, S3I_S3_INVENTORY_VERSIONS_ALL);
	assert_int_equal(got.optional_fields, S3I_S3_INVENTORY_FIELD_SIZE);
	assert_string_equal(got.filter_prefix, "");
	assert_string_equal(got.destination_prefix, "");
	/* moto answers <Encryption/> for SSE-S3 (it drops the empty element); AWS keeps it */
	assert_true(got.encryption == S3I_S3_INVENTORY_SSE_S3 ||
		got.encryption == S3I_S3_INVENTORY_SSE_NONE);

	inv_seen s = { 0 };
	CHECK_OK(s3i_s3_list_bucket_inventory_configurations_op(&svc, "inv-src", on_inventory, &s,
		NULL));
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], "d1-r1-s3-inventory");
	assert_int_equal(s.formats[0], S3I_S3_INVENTORY_CSV);
	assert_int_equal(s.fields[0], S3I_S3_INVENTORY_FIELDS_ALL);
	assert_string_equal(s.ids[1], "second");
	assert_int_equal(s.fields[1], S3I_S3_INVENTORY_FIELD_SIZE);

	/* delete one; the bucket stays (the launcher's fix of moto) */
	CHECK_OK(s3i_s3_delete_bucket_inventory_configuration_op(&svc, "inv-src", "second", NULL));
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_s3_list_bucket_inventory_configurations_op(&svc, "inv-src", on_inventory, &s,
		NULL));
	assert_int_equal(s.n, 1);
	CHECK_OK(s3i_s3_head_bucket_op(&svc, "inv-src", NULL, NULL));

	/* missing configurations and buckets name the bucket and the id */
	int rc = s3i_s3_delete_bucket_inventory_configuration_op(&svc, "inv-src", "second", NULL);
	const char *del[] = { "DeleteBucketInventoryConfiguration on inventory configuration "
		"'second' of bucket 'inv-src'", "NoSuchInventoryConfig", NULL };
	expect_error(rc, S3I_ENOTFOUND, "NoSuchInventoryConfig", del);
	rc = s3i_s3_get_bucket_inventory_configuration_op(&svc, "inv-src", "nope", &got, &storage,
		NULL);
	const char *get[] = { "GetBucketInventoryConfiguration on inventory configuration 'nope' "
		"of bucket 'inv-src'", NULL };
	expect_error(rc, S3I_ENOTFOUND, "NoSuchInventoryConfig", get);
	assert_null(got.id);
	rc = s3i_s3_get_bucket_inventory_configuration_op(&svc, "inv-nobucket", "x", &got, &storage,
		NULL);
	const char *nob[] = { "bucket 'inv-nobucket'", "NoSuchBucket", NULL };
	expect_error(rc, S3I_ENOTFOUND, "NoSuchBucket", nob);
	rc = s3i_s3_put_bucket_inventory_configuration_op(&svc, "inv-nobucket", &full, NULL);
	const char *putnob[] = { "PutBucketInventoryConfiguration", "bucket 'inv-nobucket'",
		"NoSuchBucket", NULL };
	expect_error(rc, S3I_ENOTFOUND, "NoSuchBucket", putnob);
	memset(&s, 0, sizeof(s));
	rc = s3i_s3_list_bucket_inventory_configurations_op(&svc, "inv-nobucket", on_inventory, &s,
		NULL);
	const char *listnob[] = { "ListBucketInventoryConfigurations on bucket 'inv-nobucket'",
		NULL };
	expect_error(rc, S3I_ENOTFOUND, "NoSuchBucket", listnob);

	/* what S3 requires is checked before sending */
	s3i_s3_inventory_config bad = full;
	bad.destination_bucket_arn = "inv-dest";
	rc = s3i_s3_put_bucket_inventory_configuration_op(&svc, "inv-src", &bad, NULL);
	const char *arn[] = { "PutBucketInventoryConfiguration on bucket 'inv-src'",
		"inventory configuration 'd1-r1-s3-inventory'", "bucket ARN", NULL };
	expect_error(rc, S3I_EINVALID, NULL, arn);
	bad = full;
	bad.kms_key_id = NULL;
	rc = s3i_s3_put_bucket_inventory_configuration_op(&svc, "inv-src", &bad, NULL);
	const char *kms[] = { "SSE-KMS needs a KMS key id", NULL };
	expect_error(rc, S3I_EINVALID, NULL, kms);
	bad = full;
	bad.id = "";
	rc = s3i_s3_put_bucket_inventory_configuration_op(&svc, "inv-src", &bad, NULL);
	expect_error(rc, S3I_EINVALID, NULL, NULL);
	s3i_buf_dispose(&storage);
	s3i_ctx_release(ctx);
}

#define INV_CONFIG(id, format) \
	"<InventoryConfiguration><Destination><S3BucketDestination><AccountId>123456789012" \
	"</AccountId><Bucket>arn:aws:s3:::dest</Bucket><Format>" format "</Format><Prefix>p" \
	"</Prefix><Encryption><SSE-S3/></Encryption></S3BucketDestination></Destination>" \
	"<IsEnabled>true</IsEnabled><Filter><Prefix>x/</Prefix></Filter><Id>" id "</Id>" \
	"<IncludedObjectVersions>All</IncludedObjectVersions><OptionalFields><Field>Size</Field>" \
	"<Field>ETag</Field></OptionalFields><Schedule><Frequency>Daily</Frequency></Schedule>" \
	"</InventoryConfiguration>"
#define INV_PAGE(configs, tail) \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListInventoryConfigurationsResult xmlns=\"" \
	XMLNS "\">" configs tail "</ListInventoryConfigurationsResult>"

static void test_inventory_list_continuation(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	CHECK_OK(s3i_s3_create_bucket_op(&svc, "inv-paged", NULL, NULL));
	/* moto never truncates this listing: AWS's documented pages through /_fault */
	add_rule("GET", "^/inv-paged/?$", "continuation-token=page%2F2", 200,
		INV_PAGE(INV_CONFIG("c3", "ORC"), "<IsTruncated>false</IsTruncated>"), NULL, 1);
	add_rule("GET", "^/inv-paged/?$", "inventory", 200,
		INV_PAGE(INV_CONFIG("c1", "CSV") INV_CONFIG("c2", "Parquet"),
		"<IsTruncated>true</IsTruncated><NextContinuationToken>page/2</NextContinuationToken>"),
		NULL, 1);
	inv_seen s = { 0 };
	CHECK_OK(s3i_s3_list_bucket_inventory_configurations_op(&svc, "inv-paged", on_inventory, &s,
		NULL));
	assert_int_equal(s.n, 3);
	assert_string_equal(s.ids[0], "c1");
	assert_string_equal(s.ids[1], "c2");
	assert_string_equal(s.ids[2], "c3");
	assert_int_equal(s.formats[1], S3I_S3_INVENTORY_PARQUET);
	assert_int_equal(s.formats[2], S3I_S3_INVENTORY_ORC);
	assert_int_equal(s.fields[2], S3I_S3_INVENTORY_FIELD_SIZE | S3I_S3_INVENTORY_FIELD_ETAG);
	expect_faults_used();

	/* one page at a time */
	add_rule("GET", "^/inv-paged/?$", "inventory", 200,
		INV_PAGE(INV_CONFIG("only", "CSV"),
		"<IsTruncated>true</IsTruncated><NextContinuationToken>t9</NextContinuationToken>"), NULL,
		1);
	s3i_s3_inventory_page page;
	s3i_s3_inventory_page_init(&page, s3i_test_alloc());
	CHECK_OK(s3i_s3_list_bucket_inventory_configurations_page_op(&svc, "inv-paged", NULL, NULL,
		NULL, &page, NULL));
	assert_true(page.truncated);
	assert_int_equal(page.configs, 1);
	assert_string_equal(s3i_buf_cstr(&page.next_token), "t9");
	s3i_s3_inventory_page_free(&page);

	/* a truncated page that does not say where to go on */
	add_rule("GET", "^/inv-paged/?$", "inventory", 200,
		INV_PAGE(INV_CONFIG("c1", "CSV"), "<IsTruncated>true</IsTruncated>"), NULL, 1);
	memset(&s, 0, sizeof(s));
	int rc = s3i_s3_list_bucket_inventory_configurations_op(&svc, "inv-paged", on_inventory, &s,
		NULL);
	const char *trunc[] = { "ListBucketInventoryConfigurations on bucket 'inv-paged'",
		"truncated page without NextContinuationToken", NULL };
	expect_error(rc, S3I_EPARSE, NULL, trunc);
	/* throttled once, then the page: the client retries */
	add_rule("GET", "^/inv-paged/?$", "inventory", 503, "<Error><Code>SlowDown</Code><Message>"
		"Reduce your request rate.</Message></Error>", NULL, 1);
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_s3_list_bucket_inventory_configurations_op(&svc, "inv-paged", on_inventory, &s,
		NULL));
	assert_int_equal(s.n, 0);      /* moto's own (empty) answer after the injected 503 */
	expect_faults_used();
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ notifications */

typedef struct notify_seen {
	char lines[8][400];
	int n;
} notify_seen;

static int on_notification(void *payload, const s3i_s3_notification *n)
{
	notify_seen *s = payload;
	assert_true(s->n < 8);
	int at = snprintf(s->lines[s->n], sizeof(s->lines[0]), "%d|%s|%s|%s|%s|", (int)n->kind,
		n->id, n->arn, n->prefix, n->suffix);
	for (size_t i = 0; i < n->nevents; i++)
		at += snprintf(s->lines[s->n] + at, sizeof(s->lines[0]) - (size_t)at, "%s%s",
			i ? "," : "", n->events[i]);
	s->n++;
	return 0;
}

static void test_notification_configuration(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	CHECK_OK(s3i_s3_create_bucket_op(&svc, "nt-bkt", NULL, NULL));
	notify_seen s = { 0 };
	int eb = -1;
	CHECK_OK(s3i_s3_get_bucket_notification_configuration_op(&svc, "nt-bkt", on_notification,
		&s, &eb, NULL));
	assert_int_equal(s.n, 0);
	assert_int_equal(eb, 0);

	static const char *const created[] = { "s3:ObjectCreated:*" };
	static const char *const two[] = { "s3:ObjectCreated:Put", "s3:ObjectRemoved:*" };
	s3i_s3_notification items[3] = {
		{ S3I_S3_NOTIFY_QUEUE, "to-queue", "arn:aws:sqs:us-east-1:123456789012:q", two, 2,
			"inv/", ".json" },
		{ S3I_S3_NOTIFY_TOPIC, "to-topic", "arn:aws:sns:us-east-1:123456789012:t", created, 1,
			NULL, "manifest&checksum" },
		{ S3I_S3_NOTIFY_LAMBDA, "to-fn", "arn:aws:lambda:us-east-1:123456789012:function:f",
			created, 1, NULL, NULL },
	};
	s3i_s3_notification_config cfg = { items, 3, 1, 0 };
	CHECK_OK(s3i_s3_put_bucket_notification_configuration_op(&svc, "nt-bkt", &cfg, NULL));
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_s3_get_bucket_notification_configuration_op(&svc, "nt-bkt", on_notification,
		&s, &eb, NULL));
	assert_int_equal(s.n, 3);
	/* topics, queues, then functions, as the model orders them */
	assert_string_equal(s.lines[0], "1|to-topic|arn:aws:sns:us-east-1:123456789012:t||"
		"manifest&checksum|s3:ObjectCreated:*");
	assert_string_equal(s.lines[1], "2|to-queue|arn:aws:sqs:us-east-1:123456789012:q|inv/|"
		".json|s3:ObjectCreated:Put,s3:ObjectRemoved:*");
	assert_string_equal(s.lines[2], "3|to-fn|arn:aws:lambda:us-east-1:123456789012:function:f"
		"|||s3:ObjectCreated:*");
	/* moto stores EventBridgeConfiguration but never answers it (AWS does: see below) */
	assert_int_equal(eb, 0);

	/* AWS's answer (capitalised rule names, EventBridge on) served through /_fault */
	add_rule("GET", "^/nt-bkt/?$", "notification", 200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"\n<NotificationConfiguration xmlns=\"" XMLNS "\"><QueueConfiguration><Id>q</Id><Queue>"
		"arn:aws:sqs:eu-west-1:123456789012:x</Queue><Event>s3:ObjectCreated:*</Event><Filter>"
		"<S3Key><FilterRule><Name>Prefix</Name><Value>a/</Value></FilterRule><FilterRule><Name>"
		"Suffix</Name><Value>.gz</Value></FilterRule></S3Key></Filter></QueueConfiguration>"
		"<EventBridgeConfiguration></EventBridgeConfiguration></NotificationConfiguration>",
		NULL, 1);
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_s3_get_bucket_notification_configuration_op(&svc, "nt-bkt", on_notification,
		&s, &eb, NULL));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.lines[0], "2|q|arn:aws:sqs:eu-west-1:123456789012:x|a/|.gz|"
		"s3:ObjectCreated:*");
	assert_int_equal(eb, 1);
	expect_faults_used();

	/* an empty configuration removes every notification */
	s3i_s3_notification_config none = { NULL, 0, 0, 0 };
	CHECK_OK(s3i_s3_put_bucket_notification_configuration_op(&svc, "nt-bkt", &none, NULL));
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_s3_get_bucket_notification_configuration_op(&svc, "nt-bkt", on_notification,
		&s, NULL, NULL));
	assert_int_equal(s.n, 0);

	/* moto refuses a malformed ARN as AWS does */
	s3i_s3_notification badarn = { S3I_S3_NOTIFY_QUEUE, NULL, "not-an-arn", created, 1, NULL,
		NULL };
	s3i_s3_notification_config one = { &badarn, 1, 0, 0 };
	int rc = s3i_s3_put_bucket_notification_configuration_op(&svc, "nt-bkt", &one, NULL);
	const char *arn[] = { "PutBucketNotificationConfiguration on bucket 'nt-bkt'",
		"InvalidArgument", NULL };
	expect_error(rc, S3I_EINVALID, "InvalidArgument", arn);
	/* and what is wrong locally never leaves */
	badarn.nevents = 0;
	rc = s3i_s3_put_bucket_notification_configuration_op(&svc, "nt-bkt", &one, NULL);
	const char *noev[] = { "PutBucketNotificationConfiguration on bucket 'nt-bkt'",
		"notification 0 (not-an-arn): no events", NULL };
	expect_error(rc, S3I_EINVALID, NULL, noev);

	rc = s3i_s3_put_bucket_notification_configuration_op(&svc, "nt-missing", &cfg, NULL);
	const char *m1[] = { "PutBucketNotificationConfiguration on bucket 'nt-missing'",
		"NoSuchBucket", NULL };
	expect_error(rc, S3I_ENOTFOUND, "NoSuchBucket", m1);
	rc = s3i_s3_get_bucket_notification_configuration_op(&svc, "nt-missing", on_notification,
		&s, &eb, NULL);
	const char *m2[] = { "GetBucketNotificationConfiguration on bucket 'nt-missing'", NULL };
	expect_error(rc, S3I_ENOTFOUND, "NoSuchBucket", m2);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ bucket settings */

static void test_bucket_settings(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	CHECK_OK(s3i_s3_create_bucket_op(&svc, "set-bkt", NULL, NULL));

	const char *policy = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AllowS3\","
		"\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"s3.amazonaws.com\"},\"Action\":"
		"\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::set-bkt/*\",\"Condition\":{\"StringEquals\":"
		"{\"aws:SourceAccount\":\"123456789012\"}}}]}";
	CHECK_OK(s3i_s3_put_bucket_policy_op(&svc, "set-bkt", policy, NULL));
	int status = 0;
	char *body = raw_get("/set-bkt?policy", &status);
	assert_int_equal(status, 200);
	assert_string_equal(body, policy);
	free(body);
	int rc = s3i_s3_put_bucket_policy_op(&svc, "set-bkt", "{\"Version\": ", NULL);
	const char *notjson[] = { "PutBucketPolicy on bucket 'set-bkt'", "not a JSON object", NULL };
	expect_error(rc, S3I_EINVALID, NULL, notjson);
	rc = s3i_s3_put_bucket_policy_op(&svc, "set-bkt", "[1]", NULL);
	expect_error(rc, S3I_EINVALID, NULL, notjson);

	s3i_s3_public_access_block pab = { 1, 1, 1, 0 };
	CHECK_OK(s3i_s3_put_public_access_block_op(&svc, "set-bkt", &pab, NULL));
	const char *pabs[] = { "<BlockPublicAcls>true</BlockPublicAcls>",
		"<IgnorePublicAcls>true</IgnorePublicAcls>", "<BlockPublicPolicy>true</BlockPublicPolicy>",
		"<RestrictPublicBuckets>false</RestrictPublicBuckets>", NULL };
	expect_raw("/set-bkt?publicAccessBlock", pabs);

	s3i_s3_bucket_encryption kms = { 1, "arn:aws:kms:us-east-1:123456789012:key/k1", 1 };
	CHECK_OK(s3i_s3_put_bucket_encryption_op(&svc, "set-bkt", &kms, NULL));
	const char *encs[] = { "<SSEAlgorithm>aws:kms</SSEAlgorithm>",
		"<KMSMasterKeyID>arn:aws:kms:us-east-1:123456789012:key/k1</KMSMasterKeyID>",
		"<BucketKeyEnabled>true</BucketKeyEnabled>", NULL };
	expect_raw("/set-bkt?encryption", encs);
	s3i_s3_bucket_encryption sse = { 0, NULL, 0 };
	CHECK_OK(s3i_s3_put_bucket_encryption_op(&svc, "set-bkt", &sse, NULL));
	const char *aes[] = { "<SSEAlgorithm>AES256</SSEAlgorithm>", NULL };
	expect_raw("/set-bkt?encryption", aes);
	s3i_s3_bucket_encryption wrong = { 0, "k", 0 };
	rc = s3i_s3_put_bucket_encryption_op(&svc, "set-bkt", &wrong, NULL);
	expect_error(rc, S3I_EINVALID, NULL, NULL);

	s3i_s3_lifecycle_rule rules[2] = {
		{ "expire-tmp", "tmp/", 1, 7, 3, 2 },
		{ "abort-only", NULL, 0, 0, 0, 1 },
	};
	CHECK_OK(s3i_s3_put_bucket_lifecycle_configuration_op(&svc, "set-bkt", rules, 2, NULL));
	const char *lcs[] = { "<ID>expire-tmp</ID>", "<Prefix>tmp/</Prefix>", "<Days>7</Days>",
		"<NoncurrentDays>3</NoncurrentDays>", "<DaysAfterInitiation>2</DaysAfterInitiation>",
		"<ID>abort-only</ID>", "<Status>Disabled</Status>",
		"<DaysAfterInitiation>1</DaysAfterInitiation>", NULL };
	expect_raw("/set-bkt?lifecycle", lcs);
	s3i_s3_lifecycle_rule idle = { "idle", NULL, 1, 0, 0, 0 };
	rc = s3i_s3_put_bucket_lifecycle_configuration_op(&svc, "set-bkt", &idle, 1, NULL);
	const char *noaction[] = { "PutBucketLifecycleConfiguration on bucket 'set-bkt'",
		"rule 0 has no action", NULL };
	expect_error(rc, S3I_EINVALID, NULL, noaction);
	rc = s3i_s3_put_bucket_lifecycle_configuration_op(&svc, "set-bkt", rules, 0, NULL);
	expect_error(rc, S3I_EINVALID, NULL, NULL);

	CHECK_OK(s3i_s3_put_bucket_versioning_op(&svc, "set-bkt", S3I_S3_VERSIONING_ENABLED, NULL));
	const char *on[] = { "<Status>Enabled</Status>", NULL };
	expect_raw("/set-bkt?versioning", on);
	CHECK_OK(s3i_s3_put_bucket_versioning_op(&svc, "set-bkt", S3I_S3_VERSIONING_SUSPENDED, NULL));
	const char *off[] = { "<Status>Suspended</Status>", NULL };
	expect_raw("/set-bkt?versioning", off);
	rc = s3i_s3_put_bucket_versioning_op(&svc, "set-bkt", (s3i_s3_versioning)7, NULL);
	expect_error(rc, S3I_EINVALID, NULL, NULL);

	/* every setting on a missing bucket: S3I_ENOTFOUND naming the operation and the bucket */
	/* the error detail is per call: check each one right after it */
	const char *ops[] = { "PutBucketPolicy", "PutPublicAccessBlock", "PutBucketEncryption",
		"PutBucketLifecycleConfiguration", "PutBucketVersioning" };
	for (int i = 0; i < 5; i++) {
		switch (i) {
		case 0: rc = s3i_s3_put_bucket_policy_op(&svc, "set-none", policy, NULL); break;
		case 1: rc = s3i_s3_put_public_access_block_op(&svc, "set-none", &pab, NULL); break;
		case 2: rc = s3i_s3_put_bucket_encryption_op(&svc, "set-none", &kms, NULL); break;
		case 3: rc = s3i_s3_put_bucket_lifecycle_configuration_op(&svc, "set-none", rules, 2,
			NULL); break;
		default: rc = s3i_s3_put_bucket_versioning_op(&svc, "set-none",
			S3I_S3_VERSIONING_ENABLED, NULL); break;
		}
		char head[128];
		snprintf(head, sizeof(head), "%s on bucket 'set-none' failed: NoSuchBucket", ops[i]);
		const char *m[] = { head, NULL };
		expect_error(rc, S3I_ENOTFOUND, "NoSuchBucket", m);
		assert_string_equal(s3i_error_last()->resource, "bucket 'set-none'");
	}
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
		"arn:aws:iam::111111111111:role/d1-cross-account-iam-role", "s3-bucket-test", NULL, 900,
		NULL));
	s3i_svc other = { svc.client, role, NULL };

	CHECK_OK(s3i_s3_create_bucket_op(&svc, "acct-home", NULL, NULL));
	CHECK_OK(s3i_s3_create_bucket_op(&other, "acct-member-1", NULL, NULL));
	CHECK_OK(s3i_s3_create_bucket_op(&other, "acct-member-2", "eu-west-1", NULL));

	/* each account lists only its own buckets */
	buckets_seen home = { 0 }, member = { 0 };
	CHECK_OK(s3i_s3_list_buckets_op(&svc, NULL, on_bucket, &home, NULL));
	CHECK_OK(s3i_s3_list_buckets_op(&other, NULL, on_bucket, &member, NULL));
	assert_int_equal(home.n, 1);
	assert_string_equal(home.names[0], "acct-home");
	assert_int_equal(member.n, 2);
	assert_true(has_bucket(&member, "acct-member-1") && has_bucket(&member, "acct-member-2"));

	/* the member account's paged listing goes through the role's credentials too: the fault
	 * rules see the role's signing */
	add_rule("GET", "^/$", "continuation-token=m2", 200,
		BUCKETS_PAGE(BUCKET("acct-member-2", "eu-west-1"), ""), NULL, 1);
	add_rule("GET", "^/$", "max-buckets=1", 200,
		BUCKETS_PAGE(BUCKET("acct-member-1", "us-east-1"),
		"<ContinuationToken>m2</ContinuationToken>"), NULL, 1);
	memset(&member, 0, sizeof(member));
	s3i_s3_list_buckets_opts o = { .max_buckets = 1 };
	CHECK_OK(s3i_s3_list_buckets_op(&other, &o, on_bucket, &member, NULL));
	assert_int_equal(member.n, 2);
	assert_string_equal(member.regions[1], "eu-west-1");
	expect_faults_used();

	/* inventory configuration of a member bucket, written to the host's staging bucket */
	s3i_s3_inventory_config c = { .id = "d1-r1-s3-inventory", .enabled = 1,
		.destination_bucket_arn = "arn:aws:s3:::acct-home", .destination_account_id =
		"123456789012", .destination_prefix = "111111111111/eu-west-1",
		.format = S3I_S3_INVENTORY_CSV, .versions = S3I_S3_INVENTORY_VERSIONS_ALL,
		.frequency = S3I_S3_INVENTORY_DAILY, .optional_fields = S3I_S3_INVENTORY_FIELDS_ALL };
	CHECK_OK(s3i_s3_put_bucket_inventory_configuration_op(&other, "acct-member-2", &c, NULL));
	s3i_s3_inventory_config got;
	s3i_buf storage;
	s3i_buf_init(&storage, s3i_test_alloc());
	CHECK_OK(s3i_s3_get_bucket_inventory_configuration_op(&other, "acct-member-2",
		"d1-r1-s3-inventory", &got, &storage, NULL));
	assert_string_equal(got.destination_prefix, "111111111111/eu-west-1");
	assert_int_equal(got.optional_fields, S3I_S3_INVENTORY_FIELDS_ALL);
	inv_seen s = { 0 };
	CHECK_OK(s3i_s3_list_bucket_inventory_configurations_op(&other, "acct-member-2",
		on_inventory, &s, NULL));
	assert_int_equal(s.n, 1);
	char region[S3I_S3_BUCKET_REGION_MAX];
	CHECK_OK(s3i_s3_head_bucket_op(&other, "acct-member-2", region, NULL));
	assert_string_equal(region, "eu-west-1");
	CHECK_OK(s3i_s3_delete_bucket_inventory_configuration_op(&other, "acct-member-2",
		"d1-r1-s3-inventory", NULL));
	int rc = s3i_s3_get_bucket_inventory_configuration_op(&other, "acct-member-2",
		"d1-r1-s3-inventory", &got, &storage, NULL);
	expect_error(rc, S3I_ENOTFOUND, "NoSuchInventoryConfig", NULL);
	s3i_buf_dispose(&storage);
	s3i_credprov_release(role);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_list_buckets),
		S3I_TEST(test_list_buckets_continuation),
		S3I_TEST(test_head_bucket),
		S3I_TEST(test_inventory_configurations),
		S3I_TEST(test_inventory_list_continuation),
		S3I_TEST(test_notification_configuration),
		S3I_TEST(test_bucket_settings),
		S3I_TEST(test_second_account_through_assume_role),
	};
	return cmocka_run_group_tests_name("s3_bucket", tests, group_setup, NULL);
}
