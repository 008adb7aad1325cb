#include "services/dynamodb.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/str.h"

const s3i_service s3i_svc_dynamodb = { "dynamodb", "dynamodb", S3I_PROTO_JSON_10,
	"DynamoDB_20120810", NULL, NULL };

#define BATCH_CHUNK 25
#define RES_MAX 1100          /* "table '<up to 1024 bytes of name or ARN>'" */
#define KEY_DESC_MAX 300

/* ------------------------------------------------------------------ plumbing */

static const char *table_res(char *buf, size_t cap, const char *table)
{
	snprintf(buf, cap, "table '%s'", table ? table : "");
	return buf;
}

/* Table names are 3-255 of [A-Za-z0-9_.-]; the API also takes an ARN (up to 1024). Only what
 * would break a request or a message is refused here; DynamoDB judges the rest. */
static int check_table(const char *op, const char *table, s3i_errinfo *err)
{
	if (!table || !*table)
		return s3i_err(err, S3I_EINVALID, "table", "%s: table name is empty", op);
	size_t n = strlen(table);
	if (n > 1024)
		return s3i_err(err, S3I_EINVALID, "table", "%s: table name is longer than 1024 bytes", op);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)table[i] < 0x20 || table[i] == '\'' || table[i] == 0x7f)
			return s3i_err(err, S3I_EINVALID, "table", "%s: table name holds a character "
				"DynamoDB does not allow", op);
	return S3I_OK;
}

/* x-amz-crc32 is the CRC32 of the body as sent; botocore checks it for DynamoDB. */
static int crc_ok(const s3i_http_response *resp)
{
	const char *h = s3i_headers_get(&resp->headers, "x-amz-crc32");
	if (!h || s3i_headers_get(&resp->headers, "Content-Encoding"))
		return 1;
	char *end;
	unsigned long long want = strtoull(h, &end, 10);
	if (end == h || *end)
		return 1;   /* not a number we understand: not ours to judge */
	uLong crc = crc32(0L, Z_NULL, 0);
	const unsigned char *p = (const unsigned char *)resp->body.ptr;
	size_t left = resp->body.size;
	while (left > 0) {
		uInt n = left > (1u << 30) ? (1u << 30) : (uInt)left;
		crc = crc32(crc, p, n);
		p += n;
		left -= n;
	}
	return (unsigned long long)crc == want;
}

/* One DynamoDB call; resp is reset and refilled. `read` operations are tried once more when
 * the body does not match its CRC32. */
static int dcall(const s3i_svc *svc, const char *op, const char *res, const s3i_buf *body,
	int read, s3i_http_response *resp, s3i_errinfo *err)
{
	for (int attempt = 0;; attempt++) {
		s3i_call call = { .svc = &s3i_svc_dynamodb, .operation = op, .resource = res,
			.creds = svc->creds, .region = svc->region, .body = body->ptr ? body->ptr : "{}",
			.body_len = body->ptr ? body->size : 2 };
		s3i_http_response_reset(resp);
		int rc = s3i_client_call(svc->client, &call, resp, err);
		if (rc || crc_ok(resp))
			return rc;
		if (!read || attempt >= 1)
			return s3i_err(err, S3I_ECHECKSUM, res, "%s on %s: the response does not match "
				"its x-amz-crc32 header", op, res);
	}
}

/* The errors every operation maps the same way. `key` may be NULL. */
static int map_error(int rc, s3i_errinfo *err, const char *op, const char *table, const char *key)
{
	char res[RES_MAX];
	table_res(res, sizeof(res), table);
	if (!strcmp(err->aws_code, "ConditionalCheckFailedException"))
		return s3i_err_reword(err, S3I_ECONFLICT, res, "%s on %s: the condition failed%s%s", op, res,
			key ? " for key " : "", key ? key : "");
	if (!strcmp(err->aws_code, "ResourceNotFoundException"))
		return s3i_err_reword(err, S3I_ENOTFOUND, res, "%s: %s does not exist", op, res);
	return rc;
}

/* ---- request bodies ---- */

static int check_names(const char *op, const s3i_ddb_item *names, s3i_errinfo *err)
{
	for (size_t i = 0; i < s3i_ddb_item_count(names); i++)
		if (s3i_ddb_value_type(s3i_ddb_item_value_at(names, i)) != S3I_DDB_S)
			return s3i_err(err, S3I_EINVALID, "ExpressionAttributeNames", "%s: "
				"ExpressionAttributeNames['%.200s'] is not an S value naming an attribute",
				op, s3i_ddb_item_name_at(names, i));
	return S3I_OK;
}

static void write_names(s3i_json_writer *w, const s3i_ddb_item *names)
{
	if (!s3i_ddb_item_count(names))
		return;
	s3i_jw_key(w, "ExpressionAttributeNames");
	s3i_jw_obj_open(w);
	for (size_t i = 0; i < s3i_ddb_item_count(names); i++) {
		s3i_jw_key(w, s3i_ddb_item_name_at(names, i));
		s3i_jw_str(w, s3i_ddb_value_s(s3i_ddb_item_value_at(names, i)));
	}
	s3i_jw_obj_close(w);
}

static void write_values(s3i_json_writer *w, const s3i_ddb_item *values)
{
	if (!s3i_ddb_item_count(values))
		return;
	s3i_jw_key(w, "ExpressionAttributeValues");
	s3i_ddb_item_write(w, values);
}

static void write_opt_str(s3i_json_writer *w, const char *key, const char *value)
{
	if (value && *value) {
		s3i_jw_key(w, key);
		s3i_jw_str(w, value);
	}
}

static void write_item_member(s3i_json_writer *w, const char *key, const s3i_ddb_item *it)
{
	s3i_jw_key(w, key);
	s3i_ddb_item_write(w, it);
}

static int finish_body(s3i_json_writer *w, const char *op, const char *res, s3i_errinfo *err)
{
	int rc = s3i_jw_finish(w);
	if (rc == S3I_ENOMEM)
		return s3i_err(err, rc, res, "%s on %s: out of memory building the request", op, res);
	if (rc)
		return s3i_err(err, rc, res, "%s on %s: could not build the request (an expression or "
			"name is not valid UTF-8)", op, res);
	return S3I_OK;
}

static const char *return_name(s3i_ddb_return r)
{
	switch (r) {
	case S3I_DDB_RETURN_ALL_OLD: return "ALL_OLD";
	case S3I_DDB_RETURN_ALL_NEW: return "ALL_NEW";
	case S3I_DDB_RETURN_UPDATED_OLD: return "UPDATED_OLD";
	case S3I_DDB_RETURN_UPDATED_NEW: return "UPDATED_NEW";
	case S3I_DDB_RETURN_NONE: return "NONE";
	default: return NULL;
	}
}

/* Parse a response body as a JSON object; S3I_EPARSE when it is not one. */
static int parse_body(const s3i_http_response *resp, const char *what, s3i_json *doc,
	s3i_errinfo *err)
{
	int rc = s3i_json_parse(doc, resp->body.ptr ? resp->body.ptr : "", resp->body.size, what, err);
	if (rc)
		return rc;
	if (!s3i_json_is_obj(*doc)) {
		s3i_json_free(*doc);
		*doc = NULL;
		return s3i_err(err, S3I_EPARSE, NULL, "%s is not a JSON object", what);
	}
	return S3I_OK;
}

/* An optional item member (Attributes, Item) of a response into *out (NULL when absent). */
static int take_item(const s3i_allocator *a, s3i_json doc, const char *member, const char *what,
	s3i_ddb_item **out, s3i_errinfo *err)
{
	s3i_json v = s3i_json_get(doc, member);
	if (!v || s3i_json_is_null(v))
		return S3I_OK;
	char w[200];
	(void)!snprintf(w, sizeof(w), "%s, %s", what, member);   /* only names the place */
	return s3i_ddb_item_from_json(out, a, v, w, err);
}

/* ------------------------------------------------------------------ sleeping and jitter */

/* Through the client, so a context's clock hook (s3i_io_hooks.sleep_ms) sees every wait. */
static void sleep_ms(const s3i_svc *svc, int64_t ms)
{
	s3i_client_sleep_ms(svc->client, ms);
}

static double jitter(void)
{
	static _Thread_local uint64_t state;
	if (!state) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&state
			^ 0x9E3779B97F4A7C15ull;
	}
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (double)(state >> 11) / (double)(1ull << 53);
}

/* ------------------------------------------------------------------ tables */

int s3i_ddb_create_table_op(const s3i_svc *svc, const char *table, const char *partition_key,
	const char *sort_key, const s3i_ddb_tag *tags, size_t ntags, s3i_errinfo *err)
{
	const char *op = "CreateTable";
	if (!err)
		err = s3i_errinfo_thread();
	int rc = check_table(op, table, err);
	if (rc)
		return rc;
	if (!partition_key)
		partition_key = "partitionkey";
	if (!*partition_key || (sort_key && (!*sort_key || !strcmp(sort_key, partition_key))))
		return s3i_err(err, S3I_EINVALID, table, "%s of table '%s': key attribute names must be "
			"non-empty and distinct", op, table);
	for (size_t i = 0; i < ntags; i++)
		if (!tags[i].key || !*tags[i].key || !tags[i].value)
			return s3i_err(err, S3I_EINVALID, table, "%s of table '%s': tag %zu has no key or "
				"no value", op, table, i);
	char res[RES_MAX];
	table_res(res, sizeof(res), table);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "TableName");
	s3i_jw_str(&w, table);
	s3i_jw_key(&w, "AttributeDefinitions");
	s3i_jw_arr_open(&w);
	for (int i = 0; i < (sort_key ? 2 : 1); i++) {
		s3i_jw_obj_open(&w);
		s3i_jw_key(&w, "AttributeName");
		s3i_jw_str(&w, i ? sort_key : partition_key);
		s3i_jw_key(&w, "AttributeType");
		s3i_jw_str(&w, "S");
		s3i_jw_obj_close(&w);
	}
	s3i_jw_arr_close(&w);
	s3i_jw_key(&w, "KeySchema");
	s3i_jw_arr_open(&w);
	for (int i = 0; i < (sort_key ? 2 : 1); i++) {
		s3i_jw_obj_open(&w);
		s3i_jw_key(&w, "AttributeName");
		s3i_jw_str(&w, i ? sort_key : partition_key);
		s3i_jw_key(&w, "KeyType");
		s3i_jw_str(&w, i ? "RANGE" : "HASH");
		s3i_jw_obj_close(&w);
	}
	s3i_jw_arr_close(&w);
	s3i_jw_key(&w, "BillingMode");
	s3i_jw_str(&w, "PAY_PER_REQUEST");
	if (ntags) {
		s3i_jw_key(&w, "Tags");
		s3i_jw_arr_open(&w);
		for (size_t i = 0; i < ntags; i++) {
			s3i_jw_obj_open(&w);
			s3i_jw_key(&w, "Key");
			s3i_jw_str(&w, tags[i].key);
			s3i_jw_key(&w, "Value");
			s3i_jw_str(&w, tags[i].value);
			s3i_jw_obj_close(&w);
		}
		s3i_jw_arr_close(&w);
	}
	s3i_jw_obj_close(&w);
	if ((rc = finish_body(&w, op, res, err))) {
		s3i_buf_dispose(&body);
		return rc;
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	rc = dcall(svc, op, res, &body, 0, &resp, err);
	if (rc && !strcmp(err->aws_code, "ResourceInUseException"))
		rc = s3i_err_reword(err, S3I_EEXISTS, res, "%s: %s already exists", op, res);
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

static void copy_str(char *dst, size_t cap, s3i_json v)
{
	const char *s = s3i_json_str(v);
	snprintf(dst, cap, "%s", s ? s : "");
}

static int describe_once(const s3i_svc *svc, const char *table, s3i_ddb_table_info *out,
	s3i_errinfo *err)
{
	const char *op = "DescribeTable";
	char res[RES_MAX];
	table_res(res, sizeof(res), table);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "TableName");
	s3i_jw_str(&w, table);
	s3i_jw_obj_close(&w);
	int rc = finish_body(&w, op, res, err);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if (!rc && (rc = dcall(svc, op, res, &body, 1, &resp, err)))
		rc = map_error(rc, err, op, table, NULL);
	s3i_json doc = NULL;
	if (!rc)
		rc = parse_body(&resp, "DynamoDB DescribeTable response", &doc, err);
	if (!rc) {
		s3i_json t = s3i_json_get(doc, "Table");
		if (!s3i_json_is_obj(t) || !s3i_json_is_str(s3i_json_get(t, "TableStatus"))) {
			rc = s3i_err(err, S3I_EPARSE, res, "DescribeTable of %s: the response has no "
				"Table.TableStatus", res);
		} else {
			memset(out, 0, sizeof(*out));
			copy_str(out->name, sizeof(out->name), s3i_json_get(t, "TableName"));
			copy_str(out->status, sizeof(out->status), s3i_json_get(t, "TableStatus"));
			copy_str(out->arn, sizeof(out->arn), s3i_json_get(t, "TableArn"));
			copy_str(out->billing_mode, sizeof(out->billing_mode),
				s3i_json_path(t, "BillingModeSummary.BillingMode"));
			s3i_json ks = s3i_json_get(t, "KeySchema");
			for (size_t i = 0; i < s3i_json_len(ks) && s3i_json_is_arr(ks); i++) {
				s3i_json k = s3i_json_at(ks, i);
				const char *type = s3i_json_str(s3i_json_get(k, "KeyType"));
				if (type && !strcmp(type, "HASH"))
					copy_str(out->partition_key, sizeof(out->partition_key),
						s3i_json_get(k, "AttributeName"));
				else if (type && !strcmp(type, "RANGE"))
					copy_str(out->sort_key, sizeof(out->sort_key),
						s3i_json_get(k, "AttributeName"));
			}
			if (s3i_json_i64(s3i_json_get(t, "ItemCount"), &out->item_count))
				out->item_count = -1;
			if (s3i_json_i64(s3i_json_get(t, "TableSizeBytes"), &out->size_bytes))
				out->size_bytes = -1;
			double created = s3i_json_double(s3i_json_get(t, "CreationDateTime"), 0.0);
			out->created_ms = created > 0 && created < 1e13 ? (int64_t)(created * 1000.0) : 0;
		}
	}
	s3i_json_free(doc);
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

int s3i_ddb_describe_table_op(const s3i_svc *svc, const char *table, s3i_ddb_table_info *out,
	s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	int rc = check_table("DescribeTable", table, err);
	if (rc)
		return rc;
	if (!out)
		return s3i_err(err, S3I_EINVALID, "out", "DescribeTable: out is NULL");
	return describe_once(svc, table, out, err);
}

int s3i_ddb_delete_table_op(const s3i_svc *svc, const char *table, s3i_errinfo *err)
{
	const char *op = "DeleteTable";
	if (!err)
		err = s3i_errinfo_thread();
	int rc = check_table(op, table, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	table_res(res, sizeof(res), table);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "TableName");
	s3i_jw_str(&w, table);
	s3i_jw_obj_close(&w);
	rc = finish_body(&w, op, res, err);
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if (!rc && (rc = dcall(svc, op, res, &body, 0, &resp, err))) {
		if (!strcmp(err->aws_code, "ResourceInUseException"))
			rc = s3i_err_reword(err, S3I_ECONFLICT, res, "%s: %s is in use (being created or updated)",
				op, res);
		else
			rc = map_error(rc, err, op, table, NULL);
	}
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

static int wait_table(const s3i_svc *svc, const char *table, int64_t timeout_ms, int for_active,
	s3i_errinfo *err)
{
	const char *op = for_active ? "waiting for ACTIVE" : "waiting for deletion";
	if (!err)
		err = s3i_errinfo_thread();
	int rc = check_table(op, table, err);
	if (rc)
		return rc;
	if (timeout_ms <= 0)
		return s3i_err(err, S3I_EINVALID, table, "%s of table '%s': the timeout must be positive",
			op, table);
	int64_t start = s3i_client_now_ms(svc->client), waited = 0, interval = 100;
	char last[32] = "not found";
	for (;;) {
		s3i_ddb_table_info info;
		rc = describe_once(svc, table, &info, err);
		if (rc == S3I_ENOTFOUND) {
			if (!for_active)
				return S3I_OK;
			snprintf(last, sizeof(last), "not found");
		} else if (rc) {
			return rc;
		} else {
			if (for_active && !strcmp(info.status, "ACTIVE"))
				return S3I_OK;
			snprintf(last, sizeof(last), "%s", info.status);
		}
		/* elapsed by the client's clock, and by the sum of our sleeps in case it is pinned */
		int64_t elapsed = s3i_client_now_ms(svc->client) - start;
		if (elapsed < waited)
			elapsed = waited;
		if (elapsed >= timeout_ms) {
			char res[RES_MAX];
			return s3i_err(err, S3I_ETIMEOUT, table_res(res, sizeof(res), table), "%s is still "
				"%s after %lld ms (%s)", res, last, (long long)elapsed, op);
		}
		int64_t nap = interval < timeout_ms - elapsed ? interval : timeout_ms - elapsed;
		sleep_ms(svc, nap);
		waited += nap;
		if (interval < 5000)
			interval = interval * 2 > 5000 ? 5000 : interval * 2;
	}
}

int s3i_ddb_wait_table_active_op(const s3i_svc *svc, const char *table, int64_t timeout_ms,
	s3i_errinfo *err)
{
	return wait_table(svc, table, timeout_ms, 1, err);
}

int s3i_ddb_wait_table_deleted_op(const s3i_svc *svc, const char *table, int64_t timeout_ms,
	s3i_errinfo *err)
{
	return wait_table(svc, table, timeout_ms, 0, err);
}

/* ------------------------------------------------------------------ single items */

typedef enum { OP_PUT, OP_UPDATE, OP_DELETE } write_kind;

/* The key for messages: a key item whole; for PutItem the state table's key attributes when
 * present, else the first two attributes. */
static void key_desc(write_kind kind, const s3i_ddb_item *item, char *out, size_t cap)
{
	static const char *const state_key[] = { "partitionkey", "sortkey" };
	if (kind != OP_PUT)
		s3i_ddb_item_describe(item, out, cap);
	else if (s3i_ddb_item_has(item, state_key[0]))
		s3i_ddb_item_describe_some(item, state_key, 2, out, cap);
	else
		s3i_ddb_item_describe_some(item, NULL, 2, out, cap);
}

static int write_item_op(const s3i_svc *svc, write_kind kind, const char *table,
	const s3i_ddb_item *item, const s3i_ddb_write_opts *opts, s3i_ddb_item **out, s3i_errinfo *err)
{
	static const char *const ops[] = { "PutItem", "UpdateItem", "DeleteItem" };
	const char *op = ops[kind];
	if (!err)
		err = s3i_errinfo_thread();
	if (out)
		*out = NULL;
	s3i_ddb_write_opts none = { 0 };
	if (!opts)
		opts = &none;
	int rc = check_table(op, table, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	table_res(res, sizeof(res), table);
	if (!item || !s3i_ddb_item_count(item))
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: the %s is empty", op, res,
			kind == OP_PUT ? "item" : "key");
	if (kind == OP_UPDATE && (!opts->update || !*opts->update))
		return s3i_err(err, S3I_EINVALID, res, "UpdateItem on %s: no update expression", res);
	const char *rv = return_name(opts->return_values);
	if (!rv || (kind != OP_UPDATE && opts->return_values != S3I_DDB_RETURN_NONE &&
		opts->return_values != S3I_DDB_RETURN_ALL_OLD))
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: ReturnValues %d is not allowed here",
			op, res, (int)opts->return_values);
	if ((rc = check_names(op, opts->names, err)))
		return rc;

	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "TableName");
	s3i_jw_str(&w, table);
	write_item_member(&w, kind == OP_PUT ? "Item" : "Key", item);
	if (kind == OP_UPDATE)
		write_opt_str(&w, "UpdateExpression", opts->update);
	write_opt_str(&w, "ConditionExpression", opts->condition);
	write_names(&w, opts->names);
	write_values(&w, opts->values);
	if (opts->return_values != S3I_DDB_RETURN_NONE)
		write_opt_str(&w, "ReturnValues", rv);
	if (opts->return_old_on_condition_failure)
		write_opt_str(&w, "ReturnValuesOnConditionCheckFailure", "ALL_OLD");
	s3i_jw_obj_close(&w);
	if ((rc = finish_body(&w, op, res, err))) {
		s3i_buf_dispose(&body);
		return rc;
	}

	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	char what[RES_MAX + 64];
	s3i_json doc = NULL;
	rc = dcall(svc, op, res, &body, 0, &resp, err);
	if (rc) {
		char key[KEY_DESC_MAX];
		key_desc(kind, item, key, sizeof(key));
		int conflict = !strcmp(err->aws_code, "ConditionalCheckFailedException");
		rc = map_error(rc, err, op, table, key);
		/* the item as it was, when asked for: the error body carries it */
		if (conflict && out && opts->return_old_on_condition_failure) {
			s3i_errinfo saved, perr;
			s3i_errinfo_copy(&saved, err);
			s3i_errinfo_init(&perr);
			snprintf(what, sizeof(what), "DynamoDB %s error on %s", op, res);
			if (!s3i_json_parse(&doc, resp.body.ptr ? resp.body.ptr : "", resp.body.size, what,
				&perr) && s3i_json_is_obj(doc))
				take_item(a, doc, "Item", what, out, &perr);
			/* restore the call's error (the thread's copy too) */
			s3i_err_aws(err, saved.pub.code, saved.pub.http_status, saved.aws_code,
				saved.request_id, saved.resource, saved.message);
		}
	} else if (opts->return_values != S3I_DDB_RETURN_NONE && out) {
		snprintf(what, sizeof(what), "DynamoDB %s response on %s", op, res);
		if (!(rc = parse_body(&resp, what, &doc, err)))
			rc = take_item(a, doc, "Attributes", what, out, err);
	}
	s3i_json_free(doc);
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

int s3i_ddb_put_item_op(const s3i_svc *svc, const char *table, const s3i_ddb_item *item,
	const s3i_ddb_write_opts *opts, s3i_ddb_item **out, s3i_errinfo *err)
{
	return write_item_op(svc, OP_PUT, table, item, opts, out, err);
}

int s3i_ddb_update_item_op(const s3i_svc *svc, const char *table, const s3i_ddb_item *key,
	const s3i_ddb_write_opts *opts, s3i_ddb_item **out, s3i_errinfo *err)
{
	return write_item_op(svc, OP_UPDATE, table, key, opts, out, err);
}

int s3i_ddb_delete_item_op(const s3i_svc *svc, const char *table, const s3i_ddb_item *key,
	const s3i_ddb_write_opts *opts, s3i_ddb_item **out, s3i_errinfo *err)
{
	return write_item_op(svc, OP_DELETE, table, key, opts, out, err);
}

int s3i_ddb_get_item_op(const s3i_svc *svc, const char *table, const s3i_ddb_item *key,
	const s3i_ddb_get_opts *opts, s3i_ddb_item **out, s3i_errinfo *err)
{
	const char *op = "GetItem";
	if (!err)
		err = s3i_errinfo_thread();
	if (!out)
		return s3i_err(err, S3I_EINVALID, "out", "GetItem: out is NULL");
	*out = NULL;
	s3i_ddb_get_opts none = { 0 };
	if (!opts)
		opts = &none;
	int rc = check_table(op, table, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	table_res(res, sizeof(res), table);
	if (!key || !s3i_ddb_item_count(key))
		return s3i_err(err, S3I_EINVALID, res, "GetItem on %s: the key is empty", res);
	if ((rc = check_names(op, opts->names, err)))
		return rc;
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "TableName");
	s3i_jw_str(&w, table);
	write_item_member(&w, "Key", key);
	if (opts->consistent_read) {
		s3i_jw_key(&w, "ConsistentRead");
		s3i_jw_bool(&w, 1);
	}
	write_opt_str(&w, "ProjectionExpression", opts->projection);
	write_names(&w, opts->names);
	s3i_jw_obj_close(&w);
	if ((rc = finish_body(&w, op, res, err))) {
		s3i_buf_dispose(&body);
		return rc;
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	s3i_json doc = NULL;
	char what[RES_MAX + 64];
	snprintf(what, sizeof(what), "DynamoDB GetItem response on %s", res);
	if ((rc = dcall(svc, op, res, &body, 1, &resp, err))) {
		char kd[KEY_DESC_MAX];
		s3i_ddb_item_describe(key, kd, sizeof(kd));
		rc = map_error(rc, err, op, table, kd);
	} else if (!(rc = parse_body(&resp, what, &doc, err))) {
		rc = take_item(a, doc, "Item", what, out, err);
	}
	s3i_json_free(doc);
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

/* ------------------------------------------------------------------ Query and Scan */

int s3i_ddb_page_parse(const s3i_allocator *a, const char *body, size_t len, const char *what,
	s3i_ddb_item_fn fn, void *payload, s3i_ddb_item **last_key, s3i_ddb_page_stats *stats,
	s3i_errinfo *err)
{
	if (!what)
		what = "DynamoDB page";
	if (!a)
		a = s3i_allocator_default();
	if (last_key)
		*last_key = NULL;
	s3i_json doc = NULL;
	int rc = s3i_json_parse(&doc, body ? body : "", body ? len : 0, what, err);
	if (rc)
		return rc;
	if (!s3i_json_is_obj(doc)) {
		s3i_json_free(doc);
		return s3i_err(err, S3I_EPARSE, NULL, "%s is not a JSON object", what);
	}
	s3i_json items = s3i_json_get(doc, "Items");
	s3i_json lek = s3i_json_get(doc, "LastEvaluatedKey");
	s3i_json count = s3i_json_get(doc, "Count"), scanned = s3i_json_get(doc, "ScannedCount");
	int64_t nscanned = 0, ncount = 0;
	if (items && !s3i_json_is_arr(items))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: Items is not an array", what);
	else if (lek && !s3i_json_is_null(lek) && !s3i_json_is_obj(lek))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: LastEvaluatedKey is not an object", what);
	else if ((count && (s3i_json_i64(count, &ncount) || ncount < 0)) ||
		(scanned && (s3i_json_i64(scanned, &nscanned) || nscanned < 0)))
		rc = s3i_err(err, S3I_EPARSE, NULL, "%s: Count or ScannedCount is not a count", what);
	s3i_ddb_item *key = NULL;
	if (!rc && lek && s3i_json_is_obj(lek)) {
		char w[300];
		snprintf(w, sizeof(w), "%s, LastEvaluatedKey", what);
		if (!(rc = s3i_ddb_item_from_json(&key, a, lek, w, err)) && !s3i_ddb_item_count(key)) {
			s3i_ddb_item_free(key);
			key = NULL;   /* an empty key is no key: paging ends */
		}
	}
	if (!rc && stats) {
		stats->pages++;
		stats->scanned += nscanned;
	}
	size_t n = s3i_json_len(items);
	for (size_t i = 0; !rc && i < n; i++) {
		char w[300];
		snprintf(w, sizeof(w), "%s, Items[%zu]", what, i);
		s3i_ddb_item *it = NULL;
		if ((rc = s3i_ddb_item_from_json(&it, a, s3i_json_at(items, i), w, err)))
			break;
		if (stats)
			stats->count++;
		if (fn && fn(payload, it))
			rc = s3i_err(err, S3I_EUSER, NULL, "%s: stopped by the callback at Items[%zu]",
				what, i);
		s3i_ddb_item_free(it);
	}
	s3i_json_free(doc);
	if (!rc && last_key)
		*last_key = key;
	else
		s3i_ddb_item_free(key);
	return rc;
}

static int page_op(const s3i_svc *svc, int scan, const s3i_ddb_query *q, s3i_ddb_item_fn fn,
	void *payload, s3i_ddb_item **last_key, s3i_ddb_page_stats *stats, s3i_errinfo *err)
{
	const char *op = scan ? "Scan" : "Query";
	if (last_key)
		*last_key = NULL;
	if (!q)
		return s3i_err(err, S3I_EINVALID, "query", "%s: no request", op);
	int rc = check_table(op, q->table, err);
	if (rc)
		return rc;
	char res[RES_MAX];
	table_res(res, sizeof(res), q->table);
	if (!scan && (!q->key_condition || !*q->key_condition))
		return s3i_err(err, S3I_EINVALID, res, "Query on %s: no key condition expression", res);
	if (q->limit < 0 || (scan && (q->total_segments < 0 || q->segment < 0 ||
		(q->total_segments && q->segment >= q->total_segments))))
		return s3i_err(err, S3I_EINVALID, res, "%s on %s: bad Limit or Segment", op, res);
	if ((rc = check_names(op, q->names, err)))
		return rc;
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "TableName");
	s3i_jw_str(&w, q->table);
	write_opt_str(&w, "IndexName", q->index);
	if (!scan)
		write_opt_str(&w, "KeyConditionExpression", q->key_condition);
	write_opt_str(&w, "FilterExpression", q->filter);
	write_opt_str(&w, "ProjectionExpression", q->projection);
	write_names(&w, q->names);
	write_values(&w, q->values);
	if (q->limit > 0) {
		s3i_jw_key(&w, "Limit");
		s3i_jw_i64(&w, q->limit);
	}
	if (q->consistent_read) {
		s3i_jw_key(&w, "ConsistentRead");
		s3i_jw_bool(&w, 1);
	}
	if (!scan && q->backward) {
		s3i_jw_key(&w, "ScanIndexForward");
		s3i_jw_bool(&w, 0);
	}
	if (scan && q->total_segments > 0) {
		s3i_jw_key(&w, "Segment");
		s3i_jw_i64(&w, q->segment);
		s3i_jw_key(&w, "TotalSegments");
		s3i_jw_i64(&w, q->total_segments);
	}
	if (q->start_key && s3i_ddb_item_count(q->start_key))
		write_item_member(&w, "ExclusiveStartKey", q->start_key);
	s3i_jw_obj_close(&w);
	if ((rc = finish_body(&w, op, res, err))) {
		s3i_buf_dispose(&body);
		return rc;
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if ((rc = dcall(svc, op, res, &body, 1, &resp, err))) {
		if (q->index && *q->index && !strcmp(err->aws_code, "ResourceNotFoundException"))
			rc = s3i_err_reword(err, S3I_ENOTFOUND, res, "%s: %s or its index '%.200s' does not exist",
				op, res, q->index);
		else
			rc = map_error(rc, err, op, q->table, NULL);
	} else {
		char what[RES_MAX + 64];
		snprintf(what, sizeof(what), "DynamoDB %s response on %s", op, res);
		rc = s3i_ddb_page_parse(a, resp.body.ptr, resp.body.size, what, fn, payload, last_key,
			stats, err);
	}
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

static int all_pages(const s3i_svc *svc, int scan, const s3i_ddb_query *q, s3i_ddb_item_fn fn,
	void *payload, s3i_ddb_page_stats *stats, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	s3i_ddb_page_stats local;
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (!q)
		return s3i_err(err, S3I_EINVALID, "query", "%s: no request", scan ? "Scan" : "Query");
	s3i_ddb_query page = *q;
	s3i_ddb_item *cur = NULL;
	int rc;
	for (;;) {
		s3i_ddb_item *next = NULL;
		rc = page_op(svc, scan, &page, fn, payload, &next, stats, err);
		s3i_ddb_item_free(cur);
		cur = next;
		if (rc || !cur)
			break;
		page.start_key = cur;
	}
	s3i_ddb_item_free(cur);
	return rc;
}

int s3i_ddb_query_op(const s3i_svc *svc, const s3i_ddb_query *q, s3i_ddb_item_fn fn,
	void *payload, s3i_ddb_page_stats *stats, s3i_errinfo *err)
{
	return all_pages(svc, 0, q, fn, payload, stats, err);
}

int s3i_ddb_scan_op(const s3i_svc *svc, const s3i_ddb_query *q, s3i_ddb_item_fn fn,
	void *payload, s3i_ddb_page_stats *stats, s3i_errinfo *err)
{
	return all_pages(svc, 1, q, fn, payload, stats, err);
}

int s3i_ddb_query_page_op(const s3i_svc *svc, const s3i_ddb_query *q, s3i_ddb_item_fn fn,
	void *payload, s3i_ddb_item **last_key, s3i_ddb_page_stats *stats, s3i_errinfo *err)
{
	return page_op(svc, 0, q, fn, payload, last_key, stats, err ? err : s3i_errinfo_thread());
}

int s3i_ddb_scan_page_op(const s3i_svc *svc, const s3i_ddb_query *q, s3i_ddb_item_fn fn,
	void *payload, s3i_ddb_item **last_key, s3i_ddb_page_stats *stats, s3i_errinfo *err)
{
	return page_op(svc, 1, q, fn, payload, last_key, stats, err ? err : s3i_errinfo_thread());
}

/* ------------------------------------------------------------------ BatchWriteItem */

/* The request body of one chunk: requests grouped by table in order of first appearance. */
static int batch_body(const s3i_ddb_write_request *reqs, size_t n, s3i_buf *body)
{
	s3i_json_writer w;
	s3i_jw_init(&w, body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "RequestItems");
	s3i_jw_obj_open(&w);
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < i && strcmp(reqs[j].table, reqs[i].table))
			j++;
		if (j < i)
			continue;   /* this table was written with its first request */
		s3i_jw_key(&w, reqs[i].table);
		s3i_jw_arr_open(&w);
		for (size_t k = i; k < n; k++) {
			if (strcmp(reqs[k].table, reqs[i].table))
				continue;
			s3i_jw_obj_open(&w);
			s3i_jw_key(&w, reqs[k].put ? "PutRequest" : "DeleteRequest");
			s3i_jw_obj_open(&w);
			write_item_member(&w, reqs[k].put ? "Item" : "Key",
				reqs[k].put ? reqs[k].put : reqs[k].delete_key);
			s3i_jw_obj_close(&w);
			s3i_jw_obj_close(&w);
		}
		s3i_jw_arr_close(&w);
	}
	s3i_jw_obj_close(&w);
	s3i_jw_obj_close(&w);
	return s3i_jw_finish(&w);
}

/* Rebuild a request from UnprocessedItems, checking its shape item by item. *count gets the
 * number of requests, tables (cap bytes) their names for messages. */
static int rebuild_unprocessed(const s3i_allocator *a, s3i_json un, const char *what,
	s3i_buf *body, size_t *count, char *tables, size_t cap, s3i_errinfo *err)
{
	*count = 0;
	tables[0] = '\0';
	if (!s3i_json_is_obj(un))
		return s3i_err(err, S3I_EPARSE, NULL, "%s: UnprocessedItems is not an object", what);
	s3i_buf_clear(body);
	s3i_json_writer w;
	s3i_jw_init(&w, body);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "RequestItems");
	s3i_jw_obj_open(&w);
	int rc = S3I_OK;
	for (size_t t = 0; !rc && t < s3i_json_len(un); t++) {
		const char *table = s3i_json_key_at(un, t);
		s3i_json list = s3i_json_val_at(un, t);
		if (!s3i_json_is_arr(list)) {
			rc = s3i_err(err, S3I_EPARSE, table, "%s: UnprocessedItems['%.200s'] is not an array",
				what, table);
			break;
		}
		if (!s3i_json_len(list))
			continue;
		size_t used = strlen(tables);
		snprintf(tables + used, cap - used, "%s'%s'", used ? ", " : "", table);
		s3i_jw_key(&w, table);
		s3i_jw_arr_open(&w);
		for (size_t i = 0; !rc && i < s3i_json_len(list); i++) {
			s3i_json r = s3i_json_at(list, i);
			s3i_json put = s3i_json_get(r, "PutRequest"), del = s3i_json_get(r, "DeleteRequest");
			s3i_json body_item = put ? s3i_json_get(put, "Item") : s3i_json_get(del, "Key");
			char w2[400];
			snprintf(w2, sizeof(w2), "%s, UnprocessedItems['%.100s'][%zu]", what, table, i);
			if (!s3i_json_is_obj(r) || s3i_json_len(r) != 1 || (!put && !del) ||
				!s3i_json_is_obj(body_item)) {
				rc = s3i_err(err, S3I_EPARSE, table, "%s is not a PutRequest with an Item or a "
					"DeleteRequest with a Key", w2);
				break;
			}
			s3i_ddb_item *it = NULL;
			if ((rc = s3i_ddb_item_from_json(&it, a, body_item, w2, err)))
				break;
			s3i_jw_obj_open(&w);
			s3i_jw_key(&w, put ? "PutRequest" : "DeleteRequest");
			s3i_jw_obj_open(&w);
			write_item_member(&w, put ? "Item" : "Key", it);
			s3i_jw_obj_close(&w);
			s3i_jw_obj_close(&w);
			s3i_ddb_item_free(it);
			(*count)++;
		}
		s3i_jw_arr_close(&w);
	}
	s3i_jw_obj_close(&w);
	s3i_jw_obj_close(&w);
	if (!rc && (rc = s3i_jw_finish(&w)))
		rc = s3i_err(err, rc, NULL, "%s: %s rebuilding the unprocessed items", what,
			rc == S3I_ENOMEM ? "out of memory" : "invalid text");
	return rc;
}

static int64_t batch_base_ms(const s3i_ddb_batch_opts *o)
{
	if (o && o->base_delay_ms > 0)
		return o->base_delay_ms;
	const char *v = getenv("S3I_RETRY_BASE_MS");
	return v && atoll(v) > 0 ? atoll(v) : 50;
}

static int batch_chunk(const s3i_svc *svc, const s3i_ddb_write_request *reqs, size_t n,
	const s3i_ddb_batch_opts *opts, s3i_errinfo *err)
{
	const char *op = "BatchWriteItem";
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	int max_rounds = opts && opts->max_rounds > 0 ? opts->max_rounds : 8;
	int64_t base = batch_base_ms(opts);
	int64_t cap = opts && opts->max_delay_ms > 0 ? opts->max_delay_ms : 5000;
	char res[RES_MAX];
	table_res(res, sizeof(res), reqs[0].table);
	s3i_buf body;
	s3i_buf_init(&body, a);
	int rc = batch_body(reqs, n, &body);
	if (rc) {
		s3i_buf_dispose(&body);
		return s3i_err(err, rc, res, "%s: %s building the request", op,
			rc == S3I_ENOMEM ? "out of memory" : "invalid text (not UTF-8)");
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	for (int round = 0;; round++) {
		if ((rc = dcall(svc, op, res, &body, 0, &resp, err))) {
			rc = map_error(rc, err, op, reqs[0].table, NULL);
			break;
		}
		s3i_json doc = NULL;
		char what[80];
		snprintf(what, sizeof(what), "DynamoDB %s response", op);
		if ((rc = parse_body(&resp, what, &doc, err)))
			break;
		s3i_json un = s3i_json_get(doc, "UnprocessedItems");
		size_t left = 0;
		char tables[400];
		if (un && !s3i_json_is_null(un))
			rc = rebuild_unprocessed(a, un, what, &body, &left, tables, sizeof(tables), err);
		s3i_json_free(doc);
		if (rc || !left)
			break;
		if (round >= max_rounds) {
			char where[sizeof(tables) + 16];
			snprintf(where, sizeof(where), "table%s %s", strchr(tables, ',') ? "s" : "", tables);
			rc = s3i_err(err, S3I_ETHROTTLED, where, "%s: %zu item%s still unprocessed in %s "
				"after %d retries", op, left, left == 1 ? "" : "s", where, max_rounds);
			break;
		}
		int64_t ceiling = base;
		for (int i = 0; i < round && ceiling < cap; i++)
			ceiling *= 2;
		if (ceiling > cap)
			ceiling = cap;
		sleep_ms(svc, (int64_t)(jitter() * (double)ceiling));
	}
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}

int s3i_ddb_batch_write_op(const s3i_svc *svc, const s3i_ddb_write_request *reqs, size_t n,
	const s3i_ddb_batch_opts *opts, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	if (n && !reqs)
		return s3i_err(err, S3I_EINVALID, "requests", "BatchWriteItem: requests are NULL");
	for (size_t i = 0; i < n; i++) {
		int rc = check_table("BatchWriteItem", reqs[i].table, err);
		if (rc)
			return rc;
		const s3i_ddb_item *it = reqs[i].put ? reqs[i].put : reqs[i].delete_key;
		if (!reqs[i].put == !reqs[i].delete_key || !s3i_ddb_item_count(it))
			return s3i_err(err, S3I_EINVALID, reqs[i].table, "BatchWriteItem: request %zu needs "
				"exactly one of a non-empty item to put or key to delete", i);
	}
	for (size_t at = 0; at < n; at += BATCH_CHUNK) {
		size_t k = n - at < BATCH_CHUNK ? n - at : BATCH_CHUNK;
		int rc = batch_chunk(svc, reqs + at, k, opts, err);
		if (rc) {
			if (at)
				s3i_err_prefix(err, "after %zu of %zu requests written: ", at, n);
			return rc;
		}
	}
	return S3I_OK;
}

/* ------------------------------------------------------------------ TransactWriteItems */

void s3i_ddb_tx_result_init(s3i_ddb_tx_result *r)
{
	if (r)
		memset(r, 0, sizeof(*r));
}

void s3i_ddb_tx_result_free(s3i_ddb_tx_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++)
		s3i_ddb_item_free(r->reasons[i].item);
	if (r->reasons)
		s3i_free(r->alloc, r->reasons);
	memset(r, 0, sizeof(*r));
}

static int make_token(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof(b)) != 1)
		return S3I_ERROR;
	b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
	char hex[33];
	s3i_hex_encode(hex, b, sizeof(b));
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return S3I_OK;
}

static int check_tx(const s3i_ddb_tx_item *items, size_t n, const char *token, s3i_errinfo *err)
{
	const char *op = "TransactWriteItems";
	if (!items || n == 0 || n > S3I_DDB_TX_MAX)
		return s3i_err(err, S3I_EINVALID, "items", "%s: %zu items (1 to %d allowed)", op,
			items ? n : 0, S3I_DDB_TX_MAX);
	if (token && (!*token || strlen(token) > 36))
		return s3i_err(err, S3I_EINVALID, "ClientRequestToken", "%s: the client request token "
			"must have 1 to 36 characters", op);
	for (size_t i = 0; i < n; i++) {
		const s3i_ddb_tx_item *t = &items[i];
		int rc = check_table(op, t->table, err);
		if (rc)
			return rc;
		if (t->kind < S3I_DDB_TX_PUT || t->kind > S3I_DDB_TX_CHECK)
			return s3i_err(err, S3I_EINVALID, t->table, "%s: item %zu has an unknown kind %d",
				op, i, (int)t->kind);
		if (!t->item || !s3i_ddb_item_count(t->item))
			return s3i_err(err, S3I_EINVALID, t->table, "%s: item %zu (table '%s') has no %s", op,
				i, t->table, t->kind == S3I_DDB_TX_PUT ? "item" : "key");
		if (t->kind == S3I_DDB_TX_UPDATE && (!t->update || !*t->update))
			return s3i_err(err, S3I_EINVALID, t->table, "%s: item %zu (table '%s') is an update "
				"without an update expression", op, i, t->table);
		if (t->kind == S3I_DDB_TX_CHECK && (!t->condition || !*t->condition))
			return s3i_err(err, S3I_EINVALID, t->table, "%s: item %zu (table '%s') is a "
				"condition check without a condition", op, i, t->table);
		if ((rc = check_names(op, t->names, err)))
			return rc;
	}
	return S3I_OK;
}

static void tx_body(s3i_json_writer *w, const s3i_ddb_tx_item *items, size_t n, const char *token)
{
	static const char *const kinds[] = { "", "Put", "Update", "Delete", "ConditionCheck" };
	s3i_jw_obj_open(w);
	s3i_jw_key(w, "TransactItems");
	s3i_jw_arr_open(w);
	for (size_t i = 0; i < n; i++) {
		const s3i_ddb_tx_item *t = &items[i];
		s3i_jw_obj_open(w);
		s3i_jw_key(w, kinds[t->kind]);
		s3i_jw_obj_open(w);
		s3i_jw_key(w, "TableName");
		s3i_jw_str(w, t->table);
		write_item_member(w, t->kind == S3I_DDB_TX_PUT ? "Item" : "Key", t->item);
		if (t->kind == S3I_DDB_TX_UPDATE)
			write_opt_str(w, "UpdateExpression", t->update);
		write_opt_str(w, "ConditionExpression", t->condition);
		write_names(w, t->names);
		write_values(w, t->values);
		if (t->return_old_on_condition_failure)
			write_opt_str(w, "ReturnValuesOnConditionCheckFailure", "ALL_OLD");
		s3i_jw_obj_close(w);
		s3i_jw_obj_close(w);
	}
	s3i_jw_arr_close(w);
	s3i_jw_key(w, "ClientRequestToken");
	s3i_jw_str(w, token);
	s3i_jw_obj_close(w);
}

static int is_throttle_reason(const char *code)
{
	return !strcmp(code, "ThrottlingError") || !strcmp(code, "ProvisionedThroughputExceeded") ||
		!strcmp(code, "RequestLimitExceeded");
}

/* TransactionCanceledException: the reasons into result and the message. */
static int tx_cancelled(const s3i_allocator *a, const s3i_http_response *resp,
	const s3i_ddb_tx_item *items, size_t n, const char *res, s3i_ddb_tx_result *result,
	s3i_errinfo *err)
{
	const char *op = "TransactWriteItems";
	s3i_errinfo perr, saved;   /* parsing errors must not replace the call's (err may be the
	                              thread's own, which every error setter also writes) */
	s3i_errinfo_init(&perr);
	s3i_errinfo_copy(&saved, err);
	s3i_json doc = NULL;
	s3i_json reasons = NULL;
	if (!s3i_json_parse(&doc, resp->body.ptr ? resp->body.ptr : "", resp->body.size,
		"TransactionCanceledException", &perr))
		reasons = s3i_json_get(doc, "CancellationReasons");
	size_t nr = s3i_json_is_arr(reasons) ? s3i_json_len(reasons) : 0;
	char list[700] = "";
	size_t used = 0;
	int throttled = 0, conflict = 0;
	if (result && nr) {
		result->reasons = s3i_calloc(a, nr, sizeof(*result->reasons));
		if (result->reasons) {
			result->alloc = a;
			result->count = nr;
		}
	}
	for (size_t i = 0; i < nr; i++) {
		s3i_json r = s3i_json_at(reasons, i);
		const char *code = s3i_json_str(s3i_json_get(r, "Code"));
		const char *msg = s3i_json_str(s3i_json_get(r, "Message"));
		if (!code)
			code = "";
		if (result && result->reasons) {
			s3i_ddb_cancel_reason *cr = &result->reasons[i];
			snprintf(cr->code, sizeof(cr->code), "%s", code);
			snprintf(cr->message, sizeof(cr->message), "%s", msg ? msg : "");
			s3i_json old = s3i_json_get(r, "Item");
			if (s3i_json_is_obj(old))
				s3i_ddb_item_from_json(&cr->item, a, old, "CancellationReasons Item", &perr);
		}
		if (!strcmp(code, "ConditionalCheckFailed"))
			conflict = 1;
		else if (is_throttle_reason(code))
			throttled = 1;
		if (used < sizeof(list)) {
			if (strcmp(code, "None") && *code && i < n) {
				char kd[KEY_DESC_MAX];
				key_desc(items[i].kind == S3I_DDB_TX_PUT ? OP_PUT : OP_UPDATE, items[i].item, kd,
					sizeof(kd));
				used += (size_t)snprintf(list + used, sizeof(list) - used,
					"%s[%zu] %s (table '%s' key %s)", i ? ", " : "", i, code, items[i].table, kd);
			} else {
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s[%zu] %s",
					i ? ", " : "", i, *code ? code : "?");
			}
		}
	}
	s3i_json_free(doc);
	s3i_errinfo_copy(err, &saved);
	int code = throttled && !conflict ? S3I_ETHROTTLED : S3I_ECONFLICT;
	return s3i_err_reword(err, code, res, "%s cancelled: %s", op,
		nr ? list : "no cancellation reasons given");
}

int s3i_ddb_transact_write_op(const s3i_svc *svc, const s3i_ddb_tx_item *items, size_t n,
	const char *client_token, s3i_ddb_tx_result *result, s3i_errinfo *err)
{
	const char *op = "TransactWriteItems";
	if (!err)
		err = s3i_errinfo_thread();
	s3i_ddb_tx_result_free(result);
	int rc = check_tx(items, n, client_token, err);
	if (rc)
		return rc;
	char token[37];
	if (!client_token) {
		if (make_token(token))
			return s3i_err(err, S3I_ERROR, NULL, "%s: no random bytes for the client request "
				"token", op);
		client_token = token;
	}
	char res[RES_MAX];
	table_res(res, sizeof(res), items[0].table);
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_buf body;
	s3i_buf_init(&body, a);
	s3i_json_writer w;
	s3i_jw_init(&w, &body);
	tx_body(&w, items, n, client_token);
	if ((rc = finish_body(&w, op, res, err))) {
		s3i_buf_dispose(&body);
		return rc;
	}
	s3i_http_response resp;
	s3i_http_response_init(&resp, a);
	if ((rc = dcall(svc, op, res, &body, 0, &resp, err))) {
		if (!strcmp(err->aws_code, "TransactionCanceledException"))
			rc = tx_cancelled(a, &resp, items, n, res, result, err);
		else
			rc = map_error(rc, err, op, items[0].table, NULL);
	}
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&body);
	return rc;
}
