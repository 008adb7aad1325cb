/*
 * DynamoDB operations (src/services/dynamodb.c) against moto_server: tables (create, describe,
 * wait, delete, tags), single items with conditions and ReturnValues, UpdateItem counters,
 * Query and Scan across pages, BatchWriteItem (chunks, injected UnprocessedItems and
 * throttling), TransactWriteItems (success and cancellation reasons), error mapping, response
 * checksums, and a second account reached through AssumeRole. Every context uses the counting
 * allocator, so a leak fails the test that caused it.
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
#include "services/dynamodb.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

static s3i_moto *moto;

static int group_setup(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);   /* fast client retries and batch backoff */
	return s3i_moto_start(&moto, NULL);
}

/* rc must be `code`, and the thread's error must mention every string given. */
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

static s3i_ddb_item *item_new(void)
{
	s3i_ddb_item *it = NULL;
	CHECK_OK(s3i_ddb_item_new(&it, s3i_test_alloc()));
	return it;
}

static s3i_ddb_item *key_of(const char *pk, const char *sk)
{
	s3i_ddb_item *k = item_new();
	CHECK_OK(s3i_ddb_item_set_s(k, "partitionkey", pk));
	if (sk)
		CHECK_OK(s3i_ddb_item_set_s(k, "sortkey", sk));
	return k;
}

static void make_table(const s3i_svc *svc, const char *name)
{
	CHECK_OK(s3i_ddb_create_table_op(svc, name, NULL, "sortkey", NULL, 0, NULL));
	CHECK_OK(s3i_ddb_wait_table_active_op(svc, name, 10000, NULL));
}

static void put_simple(const s3i_svc *svc, const char *table, const char *pk, const char *sk,
	int64_t n)
{
	s3i_ddb_item *it = key_of(pk, sk);
	CHECK_OK(s3i_ddb_item_set_n_i64(it, "n", n));
	CHECK_OK(s3i_ddb_put_item_op(svc, table, it, NULL, NULL, NULL));
	s3i_ddb_item_free(it);
}

/* Items seen by a Query or Scan, as "pk/sk" strings in order. */
typedef struct seen {
	char keys[400][64];
	int64_t nsum;
	size_t count;
	size_t stop_after;
} seen;

static int collect(void *payload, const s3i_ddb_item *it)
{
	seen *s = payload;
	assert_true(s->count < 400);
	snprintf(s->keys[s->count], sizeof(s->keys[0]), "%s/%s",
		s3i_ddb_item_get_s(it, "partitionkey"), s3i_ddb_item_get_s(it, "sortkey"));
	int64_t n;
	if (s3i_ddb_item_get_i64(it, "n", &n) == S3I_OK)
		s->nsum += n;
	s->count++;
	return s->stop_after && s->count >= s->stop_after;
}

static size_t count_items(const s3i_svc *svc, const char *table)
{
	static seen s;
	memset(&s, 0, sizeof(s));
	s3i_ddb_query q = { .table = table, .consistent_read = 1 };
	CHECK_OK(s3i_ddb_scan_op(svc, &q, collect, &s, NULL, NULL));
	return s.count;
}

static int has_key(const seen *s, const char *key)
{
	for (size_t i = 0; i < s->count; i++)
		if (!strcmp(s->keys[i], key))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ tables */

static void test_table_lifecycle(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	const s3i_ddb_tag tags[] = { { "project", "s3insights" }, { "run", "r1" } };
	CHECK_OK(s3i_ddb_create_table_op(&svc, "d1_configuration_table", NULL, "sortkey", tags, 2,
		NULL));
	CHECK_OK(s3i_ddb_wait_table_active_op(&svc, "d1_configuration_table", 10000, NULL));
	s3i_ddb_table_info info;
	CHECK_OK(s3i_ddb_describe_table_op(&svc, "d1_configuration_table", &info, NULL));
	assert_string_equal(info.name, "d1_configuration_table");
	assert_string_equal(info.status, "ACTIVE");
	assert_string_equal(info.partition_key, "partitionkey");
	assert_string_equal(info.sort_key, "sortkey");
	assert_string_equal(info.billing_mode, "PAY_PER_REQUEST");
	assert_non_null(strstr(info.arn, ":table/d1_configuration_table"));
	assert_non_null(strstr(info.arn, ":123456789012:"));
	assert_int_equal(info.item_count, 0);
	assert_true(info.created_ms > 1500000000000LL);

	/* the tags arrived (read back independently of the library) */
	char body[900];
	snprintf(body, sizeof(body), "{\"ResourceArn\":\"%s\"}", info.arn);
	const char *hdrs[] = { "X-Amz-Target: DynamoDB_20120810.ListTagsOfResource", NULL };
	s3i_moto_req req = { .service = "dynamodb", .path = "/", .body = body,
		.content_type = "application/x-amz-json-1.0", .headers = hdrs };
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &req, &out, &status), 0);
	assert_int_equal(status, 200);
	assert_non_null(strstr(out, "\"project\""));
	assert_non_null(strstr(out, "\"s3insights\""));
	assert_non_null(strstr(out, "\"r1\""));
	free(out);

	/* a second create: EEXISTS naming the table */
	int rc = s3i_ddb_create_table_op(&svc, "d1_configuration_table", NULL, "sortkey", NULL, 0, NULL);
	const char *dup[] = { "CreateTable", "table 'd1_configuration_table' already exists",
		"ResourceInUseException", NULL };
	s3i_check_expect_error(rc, S3I_EEXISTS, "ResourceInUseException", dup);
	assert_string_equal(s3i_error_last()->resource, "table 'd1_configuration_table'");

	/* a table with a partition key only, and named keys */
	CHECK_OK(s3i_ddb_create_table_op(&svc, "hash_only", "id", NULL, NULL, 0, NULL));
	CHECK_OK(s3i_ddb_describe_table_op(&svc, "hash_only", &info, NULL));
	assert_string_equal(info.partition_key, "id");
	assert_string_equal(info.sort_key, "");

	CHECK_OK(s3i_ddb_delete_table_op(&svc, "d1_configuration_table", NULL));
	CHECK_OK(s3i_ddb_wait_table_deleted_op(&svc, "d1_configuration_table", 10000, NULL));
	rc = s3i_ddb_describe_table_op(&svc, "d1_configuration_table", &info, NULL);
	const char *gone[] = { "DescribeTable", "table 'd1_configuration_table' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "ResourceNotFoundException", gone);
	rc = s3i_ddb_delete_table_op(&svc, "d1_configuration_table", NULL);
	const char *gone2[] = { "DeleteTable", "table 'd1_configuration_table' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "ResourceNotFoundException", gone2);

	/* waiting for a table that never comes: the deadline */
	rc = s3i_ddb_wait_table_active_op(&svc, "never_created", 350, NULL);
	const char *late[] = { "table 'never_created' is still not found after", NULL };
	s3i_check_expect_error(rc, S3I_ETIMEOUT, NULL, late);

	/* arguments checked before any call */
	assert_int_equal(s3i_ddb_create_table_op(&svc, "", NULL, NULL, NULL, 0, NULL), S3I_EINVALID);
	assert_int_equal(s3i_ddb_create_table_op(&svc, "t", "k", "k", NULL, 0, NULL), S3I_EINVALID);
	assert_int_equal(s3i_ddb_wait_table_active_op(&svc, "t", 0, NULL), S3I_EINVALID);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ single items */

static void test_put_get_delete_with_conditions(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	make_table(&svc, "state");

	s3i_ddb_item *it = key_of("run#r1", "bucket#b1");
	const char *regions[] = { "us-east-1", "eu-west-1" };
	s3i_ddb_item *m;
	s3i_ddb_list *l;
	CHECK_OK(s3i_ddb_item_set_s(it, "status", "in_progress \"quoted\" caf\xc3\xa9"));
	CHECK_OK(s3i_ddb_item_set_n_i64(it, "objects", 9007199254740993LL));
	CHECK_OK(s3i_ddb_item_set_n_text(it, "ratio", "0.25"));
	CHECK_OK(s3i_ddb_item_set_bool(it, "versioned", 1));
	CHECK_OK(s3i_ddb_item_set_null(it, "error"));
	CHECK_OK(s3i_ddb_item_set_ss(it, "regions", regions, 2));
	CHECK_OK(s3i_ddb_item_set_m(it, "stats", &m));
	CHECK_OK(s3i_ddb_item_set_n_i64(m, "bytes", 123));
	CHECK_OK(s3i_ddb_item_set_l(it, "history", &l));
	CHECK_OK(s3i_ddb_list_add_s(l, "created"));
	CHECK_OK(s3i_ddb_list_add_n_i64(l, 2));

	s3i_ddb_write_opts create_only = { .condition = "attribute_not_exists(partitionkey)" };
	s3i_ddb_item *out = (s3i_ddb_item *)(uintptr_t)1;
	CHECK_OK(s3i_ddb_put_item_op(&svc, "state", it, &create_only, &out, NULL));
	assert_null(out);   /* nothing asked for */

	s3i_ddb_item *key = key_of("run#r1", "bucket#b1");
	s3i_ddb_get_opts consistent = { .consistent_read = 1 };
	s3i_ddb_item *got = NULL;
	CHECK_OK(s3i_ddb_get_item_op(&svc, "state", key, &consistent, &got, NULL));
	assert_non_null(got);
	assert_true(s3i_ddb_item_equal(it, got));
	int64_t objects;
	CHECK_OK(s3i_ddb_item_get_i64(got, "objects", &objects));
	assert_true(objects == 9007199254740993LL);   /* beyond double precision, kept exact */
	s3i_ddb_item_free(got);

	/* projection with a name placeholder */
	s3i_ddb_item *names = item_new();
	CHECK_OK(s3i_ddb_item_set_s(names, "#s", "status"));
	s3i_ddb_get_opts proj = { .projection = "#s, objects", .names = names };
	CHECK_OK(s3i_ddb_get_item_op(&svc, "state", key, &proj, &got, NULL));
	assert_int_equal(s3i_ddb_item_count(got), 2);
	assert_true(s3i_ddb_item_has(got, "status"));
	s3i_ddb_item_free(got);

	/* a missing item is not an error */
	s3i_ddb_item *nokey = key_of("run#r1", "bucket#none");
	got = (s3i_ddb_item *)(uintptr_t)1;
	CHECK_OK(s3i_ddb_get_item_op(&svc, "state", nokey, NULL, &got, NULL));
	assert_null(got);

	/* the condition fails: ECONFLICT naming table and key, and the old item when asked */
	s3i_ddb_item *again = key_of("run#r1", "bucket#b1");
	CHECK_OK(s3i_ddb_item_set_s(again, "status", "overwritten"));
	int rc = s3i_ddb_put_item_op(&svc, "state", again, &create_only, &out, NULL);
	const char *conflict[] = { "PutItem on table 'state'", "condition failed",
		"partitionkey=\"run#r1\"", "sortkey=\"bucket#b1\"", "ConditionalCheckFailedException",
		NULL };
	s3i_check_expect_error(rc, S3I_ECONFLICT, "ConditionalCheckFailedException", conflict);
	assert_int_equal(s3i_error_last()->http_status, 400);
	assert_string_equal(s3i_error_last()->resource, "table 'state'");
	assert_null(out);
	create_only.return_old_on_condition_failure = 1;
	rc = s3i_ddb_put_item_op(&svc, "state", again, &create_only, &out, NULL);
	s3i_check_expect_error(rc, S3I_ECONFLICT, "ConditionalCheckFailedException", conflict);
	assert_non_null(out);
	assert_true(s3i_ddb_item_equal(out, it));
	s3i_ddb_item_free(out);
	out = NULL;

	/* unconditional overwrite returning ALL_OLD */
	s3i_ddb_write_opts old = { .return_values = S3I_DDB_RETURN_ALL_OLD };
	CHECK_OK(s3i_ddb_put_item_op(&svc, "state", again, &old, &out, NULL));
	assert_true(s3i_ddb_item_equal(out, it));
	s3i_ddb_item_free(out);
	/* ALL_NEW is not allowed on PutItem */
	s3i_ddb_write_opts bad = { .return_values = S3I_DDB_RETURN_ALL_NEW };
	assert_int_equal(s3i_ddb_put_item_op(&svc, "state", again, &bad, &out, NULL), S3I_EINVALID);

	/* DeleteItem with a condition that fails, then one that holds */
	s3i_ddb_item *vals = item_new();
	CHECK_OK(s3i_ddb_item_set_s(vals, ":s", "done"));
	s3i_ddb_write_opts del_if_done = { .condition = "#s = :s", .names = names, .values = vals,
		.return_values = S3I_DDB_RETURN_ALL_OLD };
	rc = s3i_ddb_delete_item_op(&svc, "state", key, &del_if_done, &out, NULL);
	const char *dconf[] = { "DeleteItem on table 'state'", "condition failed for key "
		"{partitionkey=\"run#r1\", sortkey=\"bucket#b1\"}", NULL };
	s3i_check_expect_error(rc, S3I_ECONFLICT, "ConditionalCheckFailedException", dconf);
	assert_null(out);
	CHECK_OK(s3i_ddb_item_set_s(vals, ":s", "overwritten"));
	CHECK_OK(s3i_ddb_delete_item_op(&svc, "state", key, &del_if_done, &out, NULL));
	assert_non_null(out);
	assert_string_equal(s3i_ddb_item_get_s(out, "status"), "overwritten");
	s3i_ddb_item_free(out);
	CHECK_OK(s3i_ddb_get_item_op(&svc, "state", key, &consistent, &got, NULL));
	assert_null(got);
	/* deleting what is not there succeeds, returning nothing */
	CHECK_OK(s3i_ddb_delete_item_op(&svc, "state", key, &old, &out, NULL));
	assert_null(out);

	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(again);
	s3i_ddb_item_free(nokey);
	s3i_ddb_item_free(names);
	s3i_ddb_item_free(key);
	s3i_ddb_item_free(it);
	s3i_ctx_release(ctx);
}

static void test_update_counters_and_return_values(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	make_table(&svc, "state");
	s3i_ddb_item *key = key_of("run#r1", "summary");
	s3i_ddb_item *names = item_new();
	CHECK_OK(s3i_ddb_item_set_s(names, "#c", "done_count"));
	CHECK_OK(s3i_ddb_item_set_s(names, "#st", "status"));
	s3i_ddb_item *vals = item_new();
	CHECK_OK(s3i_ddb_item_set_n_i64(vals, ":one", 1));
	CHECK_OK(s3i_ddb_item_set_s(vals, ":s", "running"));
	s3i_ddb_write_opts up = { .update = "ADD #c :one SET #st = :s", .names = names,
		.values = vals, .return_values = S3I_DDB_RETURN_UPDATED_NEW };
	s3i_ddb_item *out = NULL;
	int64_t c = 0;
	for (int i = 1; i <= 3; i++) {
		CHECK_OK(s3i_ddb_update_item_op(&svc, "state", key, &up, &out, NULL));
		CHECK_OK(s3i_ddb_item_get_i64(out, "done_count", &c));
		assert_int_equal(c, i);
		if (i > 1)   /* only what was updated (moto counts the key as new on creation) */
			assert_false(s3i_ddb_item_has(out, "partitionkey"));
		s3i_ddb_item_free(out);
	}
	up.return_values = S3I_DDB_RETURN_UPDATED_OLD;
	CHECK_OK(s3i_ddb_update_item_op(&svc, "state", key, &up, &out, NULL));
	CHECK_OK(s3i_ddb_item_get_i64(out, "done_count", &c));
	assert_int_equal(c, 3);
	s3i_ddb_item_free(out);
	up.return_values = S3I_DDB_RETURN_ALL_NEW;
	CHECK_OK(s3i_ddb_update_item_op(&svc, "state", key, &up, &out, NULL));
	CHECK_OK(s3i_ddb_item_get_i64(out, "done_count", &c));
	assert_int_equal(c, 5);
	assert_string_equal(s3i_ddb_item_get_s(out, "partitionkey"), "run#r1");
	assert_string_equal(s3i_ddb_item_get_s(out, "status"), "running");
	s3i_ddb_item_free(out);
	up.return_values = S3I_DDB_RETURN_ALL_OLD;
	CHECK_OK(s3i_ddb_update_item_op(&svc, "state", key, &up, &out, NULL));
	CHECK_OK(s3i_ddb_item_get_i64(out, "done_count", &c));
	assert_int_equal(c, 5);
	s3i_ddb_item_free(out);
	up.return_values = S3I_DDB_RETURN_NONE;
	out = (s3i_ddb_item *)(uintptr_t)1;
	CHECK_OK(s3i_ddb_update_item_op(&svc, "state", key, &up, &out, NULL));
	assert_null(out);

	/* ADD to a string set */
	s3i_ddb_item *sv = item_new();
	const char *add[] = { "b1", "b2" };
	CHECK_OK(s3i_ddb_item_set_ss(sv, ":b", add, 2));
	s3i_ddb_write_opts addset = { .update = "ADD buckets :b", .values = sv,
		.return_values = S3I_DDB_RETURN_UPDATED_NEW };
	CHECK_OK(s3i_ddb_update_item_op(&svc, "state", key, &addset, &out, NULL));
	assert_int_equal(s3i_ddb_item_get_ss_count(out, "buckets"), 2);
	s3i_ddb_item_free(out);
	const char *add2[] = { "b2", "b3" };
	CHECK_OK(s3i_ddb_item_set_ss(sv, ":b", add2, 2));
	CHECK_OK(s3i_ddb_update_item_op(&svc, "state", key, &addset, &out, NULL));
	assert_int_equal(s3i_ddb_item_get_ss_count(out, "buckets"), 3);
	s3i_ddb_item_free(out);

	/* a guarded update: the condition fails, the old item comes back */
	s3i_ddb_item *gv = item_new();
	CHECK_OK(s3i_ddb_item_set_n_i64(gv, ":one", 1));
	CHECK_OK(s3i_ddb_item_set_n_i64(gv, ":max", 3));
	s3i_ddb_write_opts guarded = { .update = "ADD #c :one", .condition = "#c < :max",
		.names = names, .values = gv, .return_values = S3I_DDB_RETURN_ALL_NEW,
		.return_old_on_condition_failure = 1 };
	s3i_ddb_item_remove(names, "#st");
	int rc = s3i_ddb_update_item_op(&svc, "state", key, &guarded, &out, NULL);
	const char *conf[] = { "UpdateItem on table 'state'", "partitionkey=\"run#r1\"",
		"sortkey=\"summary\"", NULL };
	s3i_check_expect_error(rc, S3I_ECONFLICT, "ConditionalCheckFailedException", conf);
	assert_non_null(out);
	CHECK_OK(s3i_ddb_item_get_i64(out, "done_count", &c));
	assert_int_equal(c, 7);
	s3i_ddb_item_free(out);

	/* a server-side validation error: EINVALID */
	s3i_ddb_write_opts missing_value = { .update = "SET x = :nope" };
	rc = s3i_ddb_update_item_op(&svc, "state", key, &missing_value, NULL, NULL);
	s3i_check_expect_error(rc, S3I_EINVALID, "ValidationException", NULL);
	/* checked locally */
	s3i_ddb_write_opts no_expr = { 0 };
	assert_int_equal(s3i_ddb_update_item_op(&svc, "state", key, &no_expr, NULL, NULL), S3I_EINVALID);
	s3i_ddb_item *bad_names = item_new();
	CHECK_OK(s3i_ddb_item_set_n_i64(bad_names, "#n", 1));
	s3i_ddb_write_opts bn = { .update = "SET #n = :v", .names = bad_names, .values = gv };
	rc = s3i_ddb_update_item_op(&svc, "state", key, &bn, NULL, NULL);
	const char *bnm[] = { "ExpressionAttributeNames['#n'] is not an S value", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, bnm);

	s3i_ddb_item_free(bad_names);
	s3i_ddb_item_free(gv);
	s3i_ddb_item_free(sv);
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(names);
	s3i_ddb_item_free(key);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ Query and Scan */

static void test_query_pages(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	make_table(&svc, "state");
	char sk[32];
	for (int i = 0; i < 25; i++) {
		snprintf(sk, sizeof(sk), "bucket#%02d", i);
		put_simple(&svc, "state", "run#r1", sk, i);
	}
	put_simple(&svc, "state", "run#r2", "bucket#00", 1000);
	put_simple(&svc, "state", "run#r1", "meta", 500);

	s3i_ddb_item *vals = item_new();
	CHECK_OK(s3i_ddb_item_set_s(vals, ":pk", "run#r1"));
	CHECK_OK(s3i_ddb_item_set_s(vals, ":p", "bucket#"));
	s3i_ddb_query q = { .table = "state", .key_condition = "partitionkey = :pk AND "
		"begins_with(sortkey, :p)", .values = vals, .limit = 4, .consistent_read = 1 };
	static seen s;
	memset(&s, 0, sizeof(s));
	s3i_ddb_page_stats st;
	CHECK_OK(s3i_ddb_query_op(&svc, &q, collect, &s, &st, NULL));
	assert_int_equal(s.count, 25);
	assert_int_equal(st.count, 25);
	assert_true(st.pages >= 7);           /* 25 items, 4 a page */
	for (int i = 0; i < 25; i++) {
		snprintf(sk, sizeof(sk), "run#r1/bucket#%02d", i);
		assert_string_equal(s.keys[i], sk);   /* in sort key order, each once */
	}
	assert_int_equal(s.nsum, 300);

	/* backwards */
	memset(&s, 0, sizeof(s));
	q.backward = 1;
	CHECK_OK(s3i_ddb_query_op(&svc, &q, collect, &s, NULL, NULL));
	assert_int_equal(s.count, 25);
	assert_string_equal(s.keys[0], "run#r1/bucket#24");
	q.backward = 0;

	/* a filter: Limit counts evaluated items, so pages carry fewer */
	CHECK_OK(s3i_ddb_item_set_n_i64(vals, ":min", 20));
	s3i_ddb_item *names = item_new();
	CHECK_OK(s3i_ddb_item_set_s(names, "#n", "n"));
	q.filter = "#n >= :min";
	q.names = names;
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_ddb_query_op(&svc, &q, collect, &s, &st, NULL));
	assert_int_equal(s.count, 5);
	assert_int_equal(st.scanned, 25);
	assert_true(st.pages >= 7);

	/* page by page, resuming from the last key as a Lambda step would */
	q.filter = NULL;
	q.names = NULL;
	q.limit = 10;
	memset(&s, 0, sizeof(s));
	s3i_ddb_item *last = NULL;
	int pages = 0;
	do {
		s3i_ddb_item *next = NULL;
		q.start_key = last;
		CHECK_OK(s3i_ddb_query_page_op(&svc, &q, collect, &s, &next, NULL, NULL));
		s3i_ddb_item_free(last);
		last = next;
		pages++;
		assert_true(pages < 10);
	} while (last);
	assert_int_equal(s.count, 25);
	assert_true(pages >= 3);
	q.start_key = NULL;

	/* the callback stops it */
	memset(&s, 0, sizeof(s));
	s.stop_after = 6;
	int rc = s3i_ddb_query_op(&svc, &q, collect, &s, &st, NULL);
	s3i_check_expect_error(rc, S3I_EUSER, NULL, NULL);
	assert_int_equal(s.count, 6);

	/* a missing table and a missing key condition */
	s3i_ddb_query missing = q;
	missing.table = "nope";
	rc = s3i_ddb_query_op(&svc, &missing, collect, &s, NULL, NULL);
	const char *nf[] = { "Query: table 'nope' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "ResourceNotFoundException", nf);
	missing.table = "state";
	missing.key_condition = NULL;
	assert_int_equal(s3i_ddb_query_op(&svc, &missing, collect, &s, NULL, NULL), S3I_EINVALID);
	s3i_ddb_item_free(names);
	s3i_ddb_item_free(vals);
	s3i_ctx_release(ctx);
}

static void test_scan_pages(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	make_table(&svc, "state");
	char pk[32];
	for (int i = 0; i < 30; i++) {
		snprintf(pk, sizeof(pk), "item#%02d", i);
		put_simple(&svc, "state", pk, "x", i);
	}
	static seen s;
	memset(&s, 0, sizeof(s));
	s3i_ddb_query q = { .table = "state", .limit = 7 };
	s3i_ddb_page_stats st;
	CHECK_OK(s3i_ddb_scan_op(&svc, &q, collect, &s, &st, NULL));
	assert_int_equal(s.count, 30);
	assert_true(st.pages >= 5);
	for (int i = 0; i < 30; i++) {
		snprintf(pk, sizeof(pk), "item#%02d/x", i);
		assert_true(has_key(&s, pk));
	}
	assert_int_equal(s.nsum, 435);

	/* filter and projection */
	s3i_ddb_item *vals = item_new();
	CHECK_OK(s3i_ddb_item_set_n_i64(vals, ":lt", 10));
	q.filter = "n < :lt";
	q.projection = "partitionkey, sortkey";
	q.values = vals;
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_ddb_scan_op(&svc, &q, collect, &s, &st, NULL));
	assert_int_equal(s.count, 10);
	assert_int_equal(s.nsum, 0);    /* n was not projected */
	assert_int_equal(st.scanned, 30);

	/* two parallel segments cover the table once between them */
	q.filter = NULL;
	q.projection = NULL;
	q.values = NULL;
	memset(&s, 0, sizeof(s));
	q.total_segments = 2;
	for (q.segment = 0; q.segment < 2; q.segment++)
		CHECK_OK(s3i_ddb_scan_op(&svc, &q, collect, &s, NULL, NULL));
	assert_int_equal(s.count, 30);
	q.segment = 2;
	assert_int_equal(s3i_ddb_scan_op(&svc, &q, collect, &s, NULL, NULL), S3I_EINVALID);

	s3i_ddb_query missing = { .table = "nope" };
	int rc = s3i_ddb_scan_op(&svc, &missing, collect, &s, NULL, NULL);
	const char *nf[] = { "Scan: table 'nope' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "ResourceNotFoundException", nf);
	s3i_ddb_item_free(vals);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ batches */

static void test_batch_write_chunks(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	make_table(&svc, "state");
	make_table(&svc, "other");
	enum { N = 60 };
	s3i_ddb_item *items[N];
	s3i_ddb_write_request reqs[N];
	char pk[32];
	for (int i = 0; i < N; i++) {
		snprintf(pk, sizeof(pk), "item#%02d", i);
		items[i] = key_of(pk, "x");
		CHECK_OK(s3i_ddb_item_set_n_i64(items[i], "n", i));
		reqs[i] = (s3i_ddb_write_request){ .table = i % 3 == 2 ? "other" : "state",
			.put = items[i] };
	}
	CHECK_OK(s3i_ddb_batch_write_op(&svc, reqs, N, NULL, NULL));
	assert_int_equal(count_items(&svc, "state"), 40);
	assert_int_equal(count_items(&svc, "other"), 20);
	/* deletes, mixed with a put of a new item */
	s3i_ddb_item *keys[10];
	for (int i = 0; i < 10; i++) {
		snprintf(pk, sizeof(pk), "item#%02d", i * 3);
		keys[i] = key_of(pk, "x");
		reqs[i] = (s3i_ddb_write_request){ .table = "state", .delete_key = keys[i] };
	}
	s3i_ddb_item *extra = key_of("extra", "x");
	reqs[10] = (s3i_ddb_write_request){ .table = "other", .put = extra };
	CHECK_OK(s3i_ddb_batch_write_op(&svc, reqs, 11, NULL, NULL));
	assert_int_equal(count_items(&svc, "state"), 30);
	assert_int_equal(count_items(&svc, "other"), 21);
	/* nothing to do is fine; malformed requests are refused before sending */
	CHECK_OK(s3i_ddb_batch_write_op(&svc, NULL, 0, NULL, NULL));
	s3i_ddb_write_request both = { .table = "state", .put = extra, .delete_key = keys[0] };
	assert_int_equal(s3i_ddb_batch_write_op(&svc, &both, 1, NULL, NULL), S3I_EINVALID);
	s3i_ddb_write_request missing = { .table = "nope", .put = extra };
	int rc = s3i_ddb_batch_write_op(&svc, &missing, 1, NULL, NULL);
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "ResourceNotFoundException", NULL);
	for (int i = 0; i < N; i++)
		s3i_ddb_item_free(items[i]);
	for (int i = 0; i < 10; i++)
		s3i_ddb_item_free(keys[i]);
	s3i_ddb_item_free(extra);
	s3i_ctx_release(ctx);
}

/* AWS answers 200 with UnprocessedItems: the client sends exactly those again. moto never
 * does, so the first answer is injected; the injected answer stands for AWS having written
 * the other items, which the test therefore writes beforehand (with another value). */
static void test_batch_unprocessed_items_are_resent(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	make_table(&svc, "state");
	enum { N = 10 };
	s3i_ddb_item *items[N];
	s3i_ddb_write_request reqs[N];
	char pk[32];
	for (int i = 0; i < N; i++) {
		snprintf(pk, sizeof(pk), "k%02d", i);
		s3i_ddb_item *seeded = key_of(pk, "x");
		CHECK_OK(s3i_ddb_item_set_s(seeded, "v", "seeded"));
		if (i != 2 && i != 5 && i != 7)
			CHECK_OK(s3i_ddb_put_item_op(&svc, "state", seeded, NULL, NULL, NULL));
		s3i_ddb_item_free(seeded);
		items[i] = key_of(pk, "x");
		CHECK_OK(s3i_ddb_item_set_s(items[i], "v", "batch"));
		reqs[i] = (s3i_ddb_write_request){ .table = "state", .put = items[i] };
	}
	assert_int_equal(count_items(&svc, "state"), 7);
	const char *fault =
		"{\"target\":\"DynamoDB_20120810.BatchWriteItem\",\"status\":200,"
		"\"content_type\":\"application/x-amz-json-1.0\",\"count\":1,"
		"\"body\":\"{\\\"UnprocessedItems\\\":{\\\"state\\\":["
		"{\\\"PutRequest\\\":{\\\"Item\\\":{\\\"partitionkey\\\":{\\\"S\\\":\\\"k02\\\"},"
		"\\\"sortkey\\\":{\\\"S\\\":\\\"x\\\"},\\\"v\\\":{\\\"S\\\":\\\"batch\\\"}}}},"
		"{\\\"PutRequest\\\":{\\\"Item\\\":{\\\"partitionkey\\\":{\\\"S\\\":\\\"k05\\\"},"
		"\\\"sortkey\\\":{\\\"S\\\":\\\"x\\\"},\\\"v\\\":{\\\"S\\\":\\\"batch\\\"}}}},"
		"{\\\"PutRequest\\\":{\\\"Item\\\":{\\\"partitionkey\\\":{\\\"S\\\":\\\"k07\\\"},"
		"\\\"sortkey\\\":{\\\"S\\\":\\\"x\\\"},\\\"v\\\":{\\\"S\\\":\\\"batch\\\"}}}}"
		"]},\\\"ConsumedCapacity\\\":[]}\"}";
	assert_int_equal(s3i_moto_add_fault(moto, fault), 0);
	CHECK_OK(s3i_ddb_batch_write_op(&svc, reqs, N, NULL, NULL));
	/* every item is there; only k02, k05 and k07 came from the second send */
	assert_int_equal(count_items(&svc, "state"), N);
	for (int i = 0; i < N; i++) {
		snprintf(pk, sizeof(pk), "k%02d", i);
		s3i_ddb_item *k = key_of(pk, "x"), *got = NULL;
		s3i_ddb_get_opts cr = { .consistent_read = 1 };
		CHECK_OK(s3i_ddb_get_item_op(&svc, "state", k, &cr, &got, NULL));
		assert_non_null(got);
		assert_string_equal(s3i_ddb_item_get_s(got, "v"),
			i == 2 || i == 5 || i == 7 ? "batch" : "seeded");
		s3i_ddb_item_free(got);
		s3i_ddb_item_free(k);
	}
	for (int i = 0; i < N; i++)
		s3i_ddb_item_free(items[i]);
	s3i_ctx_release(ctx);
}

/* UnprocessedItems every time: after the bounded rounds, ETHROTTLED with the count left. */
static void test_batch_unprocessed_gives_up(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	make_table(&svc, "state");
	s3i_ddb_item *a = key_of("a", "x"), *b = key_of("b", "x");
	s3i_ddb_write_request reqs[] = { { .table = "state", .put = a }, { .table = "state",
		.delete_key = b } };
	const char *fault =
		"{\"target\":\"DynamoDB_20120810.BatchWriteItem\",\"status\":200,"
		"\"content_type\":\"application/x-amz-json-1.0\",\"count\":-1,"
		"\"body\":\"{\\\"UnprocessedItems\\\":{\\\"state\\\":["
		"{\\\"PutRequest\\\":{\\\"Item\\\":{\\\"partitionkey\\\":{\\\"S\\\":\\\"a\\\"},"
		"\\\"sortkey\\\":{\\\"S\\\":\\\"x\\\"}}}},"
		"{\\\"DeleteRequest\\\":{\\\"Key\\\":{\\\"partitionkey\\\":{\\\"S\\\":\\\"b\\\"},"
		"\\\"sortkey\\\":{\\\"S\\\":\\\"x\\\"}}}}]}}\"}";
	assert_int_equal(s3i_moto_add_fault(moto, fault), 0);
	s3i_ddb_batch_opts opts = { .max_rounds = 3, .base_delay_ms = 5, .max_delay_ms = 20 };
	int rc = s3i_ddb_batch_write_op(&svc, reqs, 2, &opts, NULL);
	const char *left[] = { "BatchWriteItem: 2 items still unprocessed in table 'state' after 3 "
		"retries", NULL };
	s3i_check_expect_error(rc, S3I_ETHROTTLED, NULL, left);
	assert_true(s3i_status_is_retryable(rc));

	/* an answer that is not the documented shape */
	assert_int_equal(s3i_moto_clear_faults(moto), 0);
	assert_int_equal(s3i_moto_add_fault(moto,
		"{\"target\":\"DynamoDB_20120810.BatchWriteItem\",\"status\":200,"
		"\"content_type\":\"application/x-amz-json-1.0\",\"count\":1,"
		"\"body\":\"{\\\"UnprocessedItems\\\":{\\\"state\\\":[{\\\"Oops\\\":{}}]}}\"}"), 0);
	rc = s3i_ddb_batch_write_op(&svc, reqs, 2, &opts, NULL);
	const char *shape[] = { "UnprocessedItems['state'][0] is not a PutRequest", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, shape);
	s3i_ddb_item_free(a);
	s3i_ddb_item_free(b);
	s3i_ctx_release(ctx);
}

static void test_throttling_is_retried(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	make_table(&svc, "state");
	const char *rule =
		"{\"target\":\"DynamoDB_20120810.%s\",\"status\":400,"
		"\"content_type\":\"application/x-amz-json-1.0\",\"count\":%d,"
		"\"body\":\"{\\\"__type\\\":\\\"com.amazonaws.dynamodb.v20120810#"
		"ProvisionedThroughputExceededException\\\",\\\"message\\\":\\\"The level of configured "
		"provisioned throughput for the table was exceeded.\\\"}\"}";
	char fault[800];
	snprintf(fault, sizeof(fault), rule, "BatchWriteItem", 1);
	assert_int_equal(s3i_moto_add_fault(moto, fault), 0);
	s3i_ddb_item *a = key_of("a", "x");
	s3i_ddb_write_request req = { .table = "state", .put = a };
	CHECK_OK(s3i_ddb_batch_write_op(&svc, &req, 1, NULL, NULL));
	assert_int_equal(count_items(&svc, "state"), 1);
	snprintf(fault, sizeof(fault), rule, "PutItem", 2);
	assert_int_equal(s3i_moto_add_fault(moto, fault), 0);
	CHECK_OK(s3i_ddb_put_item_op(&svc, "state", a, NULL, NULL, NULL));
	/* without end: ETHROTTLED once the client's attempts are spent */
	snprintf(fault, sizeof(fault), rule, "GetItem", -1);
	assert_int_equal(s3i_moto_add_fault(moto, fault), 0);
	s3i_ddb_item *got = NULL;
	int rc = s3i_ddb_get_item_op(&svc, "state", a, NULL, &got, NULL);
	const char *thr[] = { "GetItem", "table 'state'", NULL };
	s3i_check_expect_error(rc, S3I_ETHROTTLED, "ProvisionedThroughputExceededException", thr);
	assert_null(got);
	s3i_ddb_item_free(a);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ transactions */

static void test_transactions(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	make_table(&svc, "state");
	put_simple(&svc, "state", "run#r1", "summary", 0);
	put_simple(&svc, "state", "run#r1", "bucket#old", 0);
	put_simple(&svc, "state", "run#r1", "lock", 0);

	s3i_ddb_item *newb = key_of("run#r1", "bucket#new");
	CHECK_OK(s3i_ddb_item_set_s(newb, "status", "in_progress"));
	s3i_ddb_item *summary = key_of("run#r1", "summary");
	s3i_ddb_item *old = key_of("run#r1", "bucket#old");
	s3i_ddb_item *lock = key_of("run#r1", "lock");
	s3i_ddb_item *vals = item_new();
	CHECK_OK(s3i_ddb_item_set_n_i64(vals, ":one", 1));
	s3i_ddb_item *zero = item_new();
	CHECK_OK(s3i_ddb_item_set_n_i64(zero, ":z", 0));
	s3i_ddb_tx_item tx[] = {
		{ .kind = S3I_DDB_TX_PUT, .table = "state", .item = newb,
			.condition = "attribute_not_exists(partitionkey)" },
		{ .kind = S3I_DDB_TX_UPDATE, .table = "state", .item = summary, .update = "ADD n :one",
			.values = vals },
		{ .kind = S3I_DDB_TX_DELETE, .table = "state", .item = old },
		{ .kind = S3I_DDB_TX_CHECK, .table = "state", .item = lock, .condition = "n = :z",
			.values = zero },
	};
	s3i_ddb_tx_result res;
	s3i_ddb_tx_result_init(&res);
	CHECK_OK(s3i_ddb_transact_write_op(&svc, tx, 4, "token-0001", &res, NULL));
	assert_int_equal(res.count, 0);
	CHECK_OK(s3i_ddb_transact_write_op(&svc, tx + 1, 1, NULL, &res, NULL));   /* random token */
	static seen s;
	memset(&s, 0, sizeof(s));
	s3i_ddb_query all = { .table = "state", .consistent_read = 1 };
	CHECK_OK(s3i_ddb_scan_op(&svc, &all, collect, &s, NULL, NULL));
	assert_int_equal(s.count, 3);
	assert_true(has_key(&s, "run#r1/bucket#new"));
	assert_false(has_key(&s, "run#r1/bucket#old"));
	assert_int_equal(s.nsum, 2);    /* summary counted twice */

	/* cancelled: the put's item exists now; the check holds; nothing is written */
	tx[0].return_old_on_condition_failure = 1;
	int rc = s3i_ddb_transact_write_op(&svc, tx, 4, NULL, &res, NULL);
	const char *cancel[] = { "TransactWriteItems cancelled", "[0] ConditionalCheckFailed "
		"(table 'state' key {partitionkey=\"run#r1\", sortkey=\"bucket#new\"})", "[1] None",
		"[3] None", NULL };
	s3i_check_expect_error(rc, S3I_ECONFLICT, "TransactionCanceledException", cancel);
	assert_int_equal(res.count, 4);
	assert_string_equal(res.reasons[0].code, "ConditionalCheckFailed");
	assert_string_equal(res.reasons[1].code, "None");
	assert_string_equal(res.reasons[2].code, "None");
	assert_string_equal(res.reasons[3].code, "None");
	if (res.reasons[0].item)   /* moto includes the old item when asked */
		assert_string_equal(s3i_ddb_item_get_s(res.reasons[0].item, "status"), "in_progress");
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_ddb_scan_op(&svc, &all, collect, &s, NULL, NULL));
	assert_int_equal(s.nsum, 2);    /* the update did not happen */

	/* throttled cancellation reasons (injected, as moto never throttles): ETHROTTLED */
	assert_int_equal(s3i_moto_add_fault(moto,
		"{\"target\":\"DynamoDB_20120810.TransactWriteItems\",\"status\":400,"
		"\"content_type\":\"application/x-amz-json-1.0\",\"count\":1,"
		"\"body\":\"{\\\"__type\\\":\\\"com.amazonaws.dynamodb.v20120810#"
		"TransactionCanceledException\\\",\\\"Message\\\":\\\"Transaction cancelled, please "
		"refer cancellation reasons for specific reasons [None, ThrottlingError]\\\","
		"\\\"CancellationReasons\\\":[{\\\"Code\\\":\\\"None\\\"},{\\\"Code\\\":"
		"\\\"ThrottlingError\\\",\\\"Message\\\":\\\"Throughput exceeds the current capacity.\\\"}]}\"}"),
		0);
	rc = s3i_ddb_transact_write_op(&svc, tx + 1, 2, NULL, &res, NULL);
	const char *thr[] = { "[1] ThrottlingError", NULL };
	s3i_check_expect_error(rc, S3I_ETHROTTLED, "TransactionCanceledException", thr);
	assert_int_equal(res.count, 2);
	assert_string_equal(res.reasons[1].message, "Throughput exceeds the current capacity.");

	/* refused locally */
	assert_int_equal(s3i_ddb_transact_write_op(&svc, tx, 0, NULL, &res, NULL), S3I_EINVALID);
	assert_int_equal(res.count, 0);
	s3i_ddb_tx_item nocond = { .kind = S3I_DDB_TX_CHECK, .table = "state", .item = lock };
	assert_int_equal(s3i_ddb_transact_write_op(&svc, &nocond, 1, NULL, &res, NULL), S3I_EINVALID);
	assert_int_equal(s3i_ddb_transact_write_op(&svc, tx, 1, "0123456789012345678901234567890123456",
		&res, NULL), S3I_EINVALID);
	/* a missing table */
	s3i_ddb_tx_item nt = { .kind = S3I_DDB_TX_PUT, .table = "nope", .item = newb };
	rc = s3i_ddb_transact_write_op(&svc, &nt, 1, NULL, NULL, NULL);
	assert_true(rc == S3I_ENOTFOUND || rc == S3I_ECONFLICT);   /* moto: ResourceNotFound */
	s3i_ddb_tx_result_free(&res);
	s3i_ddb_item_free(newb);
	s3i_ddb_item_free(summary);
	s3i_ddb_item_free(old);
	s3i_ddb_item_free(lock);
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(zero);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ errors and checksums */

static void test_missing_table_everywhere(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_ddb_item *k = key_of("a", "b"), *out = NULL;
	s3i_ddb_write_opts up = { .update = "SET x = :v" };
	s3i_ddb_item *v = item_new();
	CHECK_OK(s3i_ddb_item_set_s(v, ":v", "1"));
	up.values = v;
	const char *m[] = { "table 'missing_table' does not exist", NULL };
	s3i_check_expect_error(s3i_ddb_put_item_op(&svc, "missing_table", k, NULL, &out, NULL), S3I_ENOTFOUND,
		"ResourceNotFoundException", m);
	assert_string_equal(s3i_error_last()->resource, "table 'missing_table'");
	s3i_check_expect_error(s3i_ddb_get_item_op(&svc, "missing_table", k, NULL, &out, NULL), S3I_ENOTFOUND,
		"ResourceNotFoundException", m);
	s3i_check_expect_error(s3i_ddb_update_item_op(&svc, "missing_table", k, &up, &out, NULL), S3I_ENOTFOUND,
		"ResourceNotFoundException", m);
	s3i_check_expect_error(s3i_ddb_delete_item_op(&svc, "missing_table", k, NULL, &out, NULL), S3I_ENOTFOUND,
		"ResourceNotFoundException", m);
	assert_null(out);
	/* an explicit errinfo gets the detail too */
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_ddb_get_item_op(&svc, "missing_table", k, NULL, &out, &e), S3I_ENOTFOUND);
	assert_non_null(strstr(e.message, "GetItem: table 'missing_table' does not exist"));
	assert_string_equal(e.aws_code, "ResourceNotFoundException");
	assert_true(e.request_id[0] != '\0' || e.pub.http_status == 400);
	/* arguments */
	assert_int_equal(s3i_ddb_get_item_op(&svc, "t", NULL, NULL, &out, NULL), S3I_EINVALID);
	assert_int_equal(s3i_ddb_put_item_op(&svc, NULL, k, NULL, &out, NULL), S3I_EINVALID);
	assert_int_equal(s3i_ddb_get_item_op(&svc, "t", k, NULL, NULL, NULL), S3I_EINVALID);
	s3i_ddb_item_free(v);
	s3i_ddb_item_free(k);
	s3i_ctx_release(ctx);
}

static void test_crc32_mismatch(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	make_table(&svc, "state");
	put_simple(&svc, "state", "a", "b", 7);
	/* one damaged answer to a read: read again, and the right answer wins */
	const char *bad_get = "{\"target\":\"DynamoDB_20120810.GetItem\",\"status\":200,"
		"\"content_type\":\"application/x-amz-json-1.0\",\"count\":1,"
		"\"headers\":{\"x-amz-crc32\":\"12345\"},"
		"\"body\":\"{\\\"Item\\\":{\\\"partitionkey\\\":{\\\"S\\\":\\\"a\\\"},"
		"\\\"sortkey\\\":{\\\"S\\\":\\\"b\\\"},\\\"n\\\":{\\\"N\\\":\\\"8\\\"}}}\"}";
	assert_int_equal(s3i_moto_add_fault(moto, bad_get), 0);
	s3i_ddb_item *k = key_of("a", "b"), *got = NULL;
	CHECK_OK(s3i_ddb_get_item_op(&svc, "state", k, NULL, &got, NULL));
	int64_t n;
	CHECK_OK(s3i_ddb_item_get_i64(got, "n", &n));
	assert_int_equal(n, 7);
	s3i_ddb_item_free(got);
	/* a damaged answer to a write is reported, not replayed */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"target\":\"DynamoDB_20120810.PutItem\","
		"\"status\":200,\"content_type\":\"application/x-amz-json-1.0\",\"count\":1,"
		"\"headers\":{\"x-amz-crc32\":\"1\"},\"body\":\"{}\"}"), 0);
	int rc = s3i_ddb_put_item_op(&svc, "state", k, NULL, NULL, NULL);
	const char *cs[] = { "PutItem on table 'state'", "x-amz-crc32", NULL };
	s3i_check_expect_error(rc, S3I_ECHECKSUM, NULL, cs);
	/* an answer that is not JSON */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"target\":\"DynamoDB_20120810.GetItem\","
		"\"status\":200,\"content_type\":\"application/x-amz-json-1.0\",\"count\":1,"
		"\"body\":\"{\\\"Item\\\":{\\\"n\\\":{\\\"X\\\":\\\"1\\\"}}}\"}"), 0);
	rc = s3i_ddb_get_item_op(&svc, "state", k, NULL, &got, NULL);
	const char *pe[] = { "DynamoDB GetItem response on table 'state', Item", "attribute 'n'",
		"unknown type tag 'X'", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, pe);
	assert_null(got);
	s3i_ddb_item_free(k);
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
		"arn:aws:iam::111111111111:role/x", "ddb-test", NULL, 900, NULL));
	s3i_svc other = { svc.client, role, NULL };

	make_table(&svc, "home_only");
	make_table(&other, "member_only");
	make_table(&svc, "both");
	make_table(&other, "both");
	put_simple(&svc, "both", "who", "x", 1);
	put_simple(&other, "both", "who", "x", 2);

	s3i_ddb_table_info info;
	CHECK_OK(s3i_ddb_describe_table_op(&other, "member_only", &info, NULL));
	assert_non_null(strstr(info.arn, ":111111111111:table/member_only"));
	int rc = s3i_ddb_describe_table_op(&svc, "member_only", &info, NULL);
	const char *m[] = { "table 'member_only' does not exist", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "ResourceNotFoundException", m);
	rc = s3i_ddb_describe_table_op(&other, "home_only", &info, NULL);
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "ResourceNotFoundException", NULL);

	/* the same table name holds each account's own items */
	s3i_ddb_item *k = key_of("who", "x"), *got = NULL;
	int64_t n;
	CHECK_OK(s3i_ddb_get_item_op(&svc, "both", k, NULL, &got, NULL));
	CHECK_OK(s3i_ddb_item_get_i64(got, "n", &n));
	assert_int_equal(n, 1);
	s3i_ddb_item_free(got);
	CHECK_OK(s3i_ddb_get_item_op(&other, "both", k, NULL, &got, NULL));
	CHECK_OK(s3i_ddb_item_get_i64(got, "n", &n));
	assert_int_equal(n, 2);
	s3i_ddb_item_free(got);

	/* batches and transactions go to the role's account too */
	s3i_ddb_item *b = key_of("batch", "x");
	s3i_ddb_write_request req = { .table = "member_only", .put = b };
	CHECK_OK(s3i_ddb_batch_write_op(&other, &req, 1, NULL, NULL));
	s3i_ddb_tx_item tx = { .kind = S3I_DDB_TX_PUT, .table = "member_only", .item = k };
	CHECK_OK(s3i_ddb_transact_write_op(&other, &tx, 1, NULL, NULL, NULL));
	assert_int_equal(count_items(&other, "member_only"), 2);
	assert_int_equal(count_items(&svc, "home_only"), 0);
	s3i_ddb_item_free(b);
	s3i_ddb_item_free(k);
	s3i_credprov_release(role);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_table_lifecycle),
		S3I_TEST(test_put_get_delete_with_conditions),
		S3I_TEST(test_update_counters_and_return_values),
		S3I_TEST(test_query_pages),
		S3I_TEST(test_scan_pages),
		S3I_TEST(test_batch_write_chunks),
		S3I_TEST(test_batch_unprocessed_items_are_resent),
		S3I_TEST(test_batch_unprocessed_gives_up),
		S3I_TEST(test_throttling_is_retried),
		S3I_TEST(test_transactions),
		S3I_TEST(test_missing_table_everywhere),
		S3I_TEST(test_crc32_mismatch),
		S3I_TEST(test_second_account_through_assume_role),
	};
	return cmocka_run_group_tests_name("dynamodb", tests, group_setup, NULL);
}
