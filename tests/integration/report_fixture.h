/*
 * The fixture of the create-table, query and notify stage tests (test_stage_table.c,
 * test_stage_query.c, test_stage_notify.c): a deployment "dep1" on moto with its host
 * resources, a run started from an input with two accounts, and an estate of source buckets
 * in three regions seeded through the state store (state.h) with every kind of status;
 * Athena read back through raw calls (ListQueryExecutions, GetQueryExecution) and canned
 * results; SES's sent mail read back from moto's /moto-api/data.json.
 *
 * Included by one test program each (static functions).
 */
#ifndef S3I_TEST_REPORT_FIXTURE_H
#define S3I_TEST_REPORT_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "s3insights/stage_table.h"
#include "s3insights/stage_query.h"
#include "s3insights/stage_notify.h"
#include "aws/ctx_internal.h"
#include "core/json.h"
#include "services/athena.h"
#include "services/ses.h"
#include "stages/run_internal.h"
#include "stages/state.h"
#include "stages/table_ddl.h"
#include "moto.h"
#include "stage_fixture.h"
#include "check.h"
#include "test_alloc.h"

#define FX_FN static __attribute__((unused))

#define HOST "123456789012"
#define OTHER "111111111111"
#define SENDER "reports@example.com"

static s3i_moto *moto;

FX_FN int group_setup(void **state)
{
	(void)state;
	return s3i_stage_fx_start_moto(&moto, NULL);
}

FX_FN int group_teardown(void **state)
{
	(void)state;
	s3i_check_moto_post(moto, "/moto-api/state-manager/unset-transition",
		"{\"model_name\":\"athena::execution\"}");
	return 0;
}

typedef s3i_stage_fx fx;

/* Athena executions go QUEUED, RUNNING x times, then SUCCEEDED, one step per poll. */
FX_FN void athena_slow(int times)
{
	char body[160];
	snprintf(body, sizeof(body), "{\"model_name\":\"athena::execution\",\"transition\":"
		"{\"progression\":\"manual\",\"times\":%d}}", times);
	s3i_check_moto_post(moto, "/moto-api/state-manager/set-transition", body);
}

FX_FN void athena_fast(void)
{
	s3i_check_moto_post(moto, "/moto-api/state-manager/unset-transition",
		"{\"model_name\":\"athena::execution\"}");
}

/* Reset moto, open "dep1" and init it, verify the sender; start run `run_id` from `json`. */
FX_FN void fx_open(fx *f, const char *json)
{
	s3i_stage_fx_deploy(f, moto, "dep1", S3I_LOG_WARN);
	athena_fast();   /* survives reset */
	s3i_svc svc = { s3i_deployment_client(f->d), NULL, "us-east-1" };
	CHECK_OK(s3i_ses_verify_email_identity_op(&svc, SENDER, NULL));
	s3i_stage_fx_start_run(f, json);
}

FX_FN void fx_close(fx *f)
{
	s3i_stage_fx_close(f);
}

/* A run input: run r1, two accounts, `queries` (a JSON array), `recipients` (JSON array). */
FX_FN char *input_json(const char *queries, const char *recipients)
{
	const char *fmt = "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"" HOST "\"},{\"id\":\"" OTHER
		"\"}],\"athena_queries\":%s,\"sender_email_address\":\"" SENDER "\","
		"\"recipient_email_addresses\":%s,\"supported_regions\":[\"us-east-1\",\"eu-west-1\","
		"\"ap-northeast-1\"]}";
	size_t n = strlen(fmt) + strlen(queries) + strlen(recipients) + 1;
	char *s = malloc(n);
	snprintf(s, n, fmt, queries, recipients);
	return s;
}

/* fx_open with input_json(queries, recipients). */
FX_FN void fx_open_input(fx *f, const char *queries, const char *recipients)
{
	char *json = input_json(queries, recipients);
	fx_open(f, json);
	free(json);
}

/* ---- the estate, through the state store ---- */

/* A bucket with `files` counted data files out of `expected`, objects spread over them;
 * done when all are counted. */
FX_FN void seed_data_bucket(fx *f, const char *account, const char *region, const char *bucket,
	int expected, int files, int64_t objects, int64_t bytes)
{
	s3i_state *s = s3i_run_state(f->run);
	const char *r = s3i_run_id(f->run);
	int created = 0, won = 0, counted = 0, done = 0;
	CHECK_OK(s3i_state_bucket_add(s, r, account, region, bucket, S3I_BUCKET_DISCOVERED, NULL,
		1000, &created, NULL));
	CHECK_OK(s3i_state_bucket_set_status(s, r, account, bucket, S3I_BUCKET_IN_PROGRESS, NULL,
		1001, NULL, NULL));
	char mkey[256];
	snprintf(mkey, sizeof(mkey), "%s/%s/%s/inv/2026-12-04T00-00Z/manifest.json", account,
		region, bucket);
	CHECK_OK(s3i_state_bucket_claim_manifest(s, r, account, bucket, mkey, expected, 1002, &won,
		NULL));
	assert_int_equal(won, 1);
	for (int i = 0; i < files; i++) {
		char key[256], dest[256];
		snprintf(key, sizeof(key), "%s/%s/%s/inv/data/f%d.csv.gz", account, region, bucket, i);
		snprintf(dest, sizeof(dest), "inventory/r1/account=%s/region=%s/bucketname=%s/f%d.csv.gz",
			account, region, bucket, i);
		int64_t o = objects / files + (i == 0 ? objects % files : 0);
		int64_t b = bytes / files + (i == 0 ? bytes % files : 0);
		CHECK_OK(s3i_state_file_done(s, r, account, bucket, key, dest, 100, "0123456789abcdef"
			"0123456789abcdef", o, b, 1003, &counted, NULL));
		assert_int_equal(counted, 1);
	}
	CHECK_OK(s3i_state_bucket_try_complete(s, r, account, bucket, 1004, &done, NULL));
	assert_int_equal(done, files == expected);
}

FX_FN void seed_terminal_bucket(fx *f, const char *account, const char *region,
	const char *bucket, s3i_bucket_state status, const char *reason)
{
	int created = 0;
	CHECK_OK(s3i_state_bucket_add(s3i_run_state(f->run), s3i_run_id(f->run), account, region,
		bucket, status, reason, 1000, &created, NULL));
	assert_int_equal(created, 1);
}

#define SCRIPT_REASON "<script>alert('pwned')</script> AccessDenied & co"

/* 2 accounts, 3 regions; done, empty, excluded, failed (a <script> reason), and a bucket
 * timed out with 1 of 2 files in the layout. Partitions: the four with data. */
FX_FN void seed_estate(fx *f)
{
	seed_data_bucket(f, HOST, "us-east-1", "a1-data-east", 1, 1, 3, 300);
	seed_data_bucket(f, HOST, "eu-west-1", "a1-data-west", 2, 2, 2, 2048);
	seed_terminal_bucket(f, HOST, "us-east-1", "a1-empty", S3I_BUCKET_EMPTY,
		"the bucket holds no objects");
	seed_terminal_bucket(f, HOST, "us-east-1", "a1-excluded", S3I_BUCKET_EXCLUDED,
		"excluded by the input");
	seed_data_bucket(f, OTHER, "ap-northeast-1", "a2-data-tokyo", 1, 1, 4, 4096);
	seed_terminal_bucket(f, OTHER, "eu-west-1", "a2-failed", S3I_BUCKET_FAILED, SCRIPT_REASON);
	seed_data_bucket(f, OTHER, "eu-west-1", "a2-partial", 2, 1, 5, 500);
	CHECK_OK(s3i_state_bucket_set_status(s3i_run_state(f->run), s3i_run_id(f->run), OTHER,
		"a2-partial", S3I_BUCKET_TIMED_OUT, "no inventory report within 60 hours", 1005, NULL,
		NULL));
}

/* ---- Athena, raw ---- */

/* A raw Athena JSON call on the host; the parsed answer (free with s3i_json_free). */
FX_FN s3i_json athena_raw(fx *f, const char *op, const char *body)
{
	s3i_call c = { 0 };
	c.svc = &s3i_svc_athena;
	c.operation = op;
	c.body = body;
	c.body_len = strlen(body);
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_test_alloc());
	CHECK_OK(s3i_client_call(s3i_deployment_client(f->d), &c, &resp, NULL));
	s3i_json doc = NULL;
	CHECK_OK(s3i_json_parse(&doc, resp.body.ptr ? resp.body.ptr : "{}", resp.body.size, op, NULL));
	s3i_http_response_free(&resp);
	return doc;
}

/* Every execution id moto holds (ListQueryExecutions: all of them, one page). */
FX_FN size_t list_executions(fx *f, char ids[][S3I_ATHENA_ID_SIZE], size_t cap)
{
	s3i_json doc = athena_raw(f, "ListQueryExecutions", "{}");
	s3i_json list = s3i_json_get(doc, "QueryExecutionIds");
	size_t n = s3i_json_len(list);
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++)
		snprintf(ids[i], S3I_ATHENA_ID_SIZE, "%s", s3i_json_str(s3i_json_at(list, i)));
	s3i_json_free(doc);
	return n;
}

/* The query text of an execution (GetQueryExecution), malloc'd. */
FX_FN char *execution_query(fx *f, const char *id)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"QueryExecutionId\":\"%s\"}", id);
	s3i_json doc = athena_raw(f, "GetQueryExecution", body);
	const char *q = s3i_json_str(s3i_json_path(doc, "QueryExecution.Query"));
	assert_non_null(q);
	char *out = strdup(q);
	s3i_json_free(doc);
	return out;
}

/* Enqueue one canned result for the next StartQueryExecution in the host account and region:
 * `rows_json` is a JSON array of rows, each an array of strings (null: an SQL NULL); the
 * first row is the header; columns are named by it. */
FX_FN void canned_result(const char *rows_json)
{
	s3i_json rows = NULL;
	CHECK_OK(s3i_json_parse(&rows, rows_json, strlen(rows_json), "rows", NULL));
	s3i_buf b;
	s3i_buf_init(&b, NULL);
	s3i_json_writer w;
	s3i_jw_init(&w, &b);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "account_id");
	s3i_jw_str(&w, HOST);
	s3i_jw_key(&w, "region");
	s3i_jw_str(&w, "us-east-1");
	s3i_jw_key(&w, "results");
	s3i_jw_arr_open(&w);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "rows");
	s3i_jw_arr_open(&w);
	for (size_t i = 0; i < s3i_json_len(rows); i++) {
		s3i_json row = s3i_json_at(rows, i);
		s3i_jw_obj_open(&w);
		s3i_jw_key(&w, "Data");
		s3i_jw_arr_open(&w);
		for (size_t j = 0; j < s3i_json_len(row); j++) {
			s3i_jw_obj_open(&w);
			const char *v = s3i_json_str(s3i_json_at(row, j));
			if (v) {
				s3i_jw_key(&w, "VarCharValue");
				s3i_jw_str(&w, v);
			}
			s3i_jw_obj_close(&w);
		}
		s3i_jw_arr_close(&w);
		s3i_jw_obj_close(&w);
	}
	s3i_jw_arr_close(&w);
	s3i_jw_key(&w, "column_info");
	s3i_jw_arr_open(&w);
	s3i_json head = s3i_json_at(rows, 0);
	for (size_t j = 0; j < s3i_json_len(head); j++) {
		s3i_jw_obj_open(&w);
		s3i_jw_key(&w, "Name");
		s3i_jw_str(&w, s3i_json_str(s3i_json_at(head, j)));
		s3i_jw_key(&w, "Type");
		s3i_jw_str(&w, "varchar");
		s3i_jw_obj_close(&w);
	}
	s3i_jw_arr_close(&w);
	s3i_jw_obj_close(&w);
	s3i_jw_arr_close(&w);
	s3i_jw_obj_close(&w);
	assert_int_equal(s3i_jw_finish(&w), S3I_OK);
	s3i_check_moto_post(moto, "/moto-api/static/athena/query-results", b.ptr);
	s3i_buf_dispose(&b);
	s3i_json_free(rows);
}

/* A /_fault rule answering Athena operation `op` with a JSON body, `count` times. */
FX_FN void athena_fault(const char *op, int status, int count, const char *body)
{
	char target[128];
	snprintf(target, sizeof(target), "AmazonAthena.%s", op);
	s3i_check_json_fault(moto, target, status, count, body);
}

/* The run's recorded phase, error stage and error. */
FX_FN void run_record(fx *f, s3i_state_run *out)
{
	CHECK_OK(s3i_state_run_get(s3i_run_state(f->run), s3i_run_id(f->run), out, NULL));
}

FX_FN void assert_phase(fx *f, const char *phase)
{
	s3i_state_run r;
	run_record(f, &r);
	assert_string_equal(s3i_run_phase_name(r.phase), phase);
	s3i_state_run_dispose(&r);
}

#endif
