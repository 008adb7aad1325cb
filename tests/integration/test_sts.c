/*
 * STS operations (src/services/sts.c) against moto_server: GetCallerIdentity for the home
 * account and for a second account reached through AssumeRole from the role cache; the cache
 * hands one provider per distinct role, session name, external id and duration (also to
 * threads racing for a new role), assumes each role once while its credentials last and again
 * once they near expiry (a pinned clock moved past it); AccessDenied from a role whose trust
 * policy leaves us out (moto with signature checking on) and AWS's documented AccessDenied
 * through /_fault, both S3I_EAUTH naming the role ARN; malformed roles refused before any
 * call; throttling then success and answers of the wrong shape through /_fault.
 * Every context uses the counting allocator.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "aws/ctx_internal.h"
#include "core/json.h"
#include "core/str.h"
#include "services/sts.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

static s3i_moto *moto;

#define RECORDING S3I_BINARY_DIR "/Testing/Temporary/moto-recording-sts"
#define OTHER "111111111111"

static int group_setup(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);   /* fast client retries */
	const char *env[] = { "MOTO_RECORDER_FILEPATH=" RECORDING, NULL };
	return s3i_moto_start(&moto, env);
}

static int group_teardown(void **state)
{
	(void)state;
	remove(RECORDING);
	return 0;
}

/* A pinned clock: the real time plus an offset the test moves. */
static atomic_llong clock_offset_ms;

static int64_t shifted_now_ms(void *user)
{
	(void)user;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atomic_load(&clock_offset_ms);
}

static s3i_io_hooks shifted_clock = { sizeof(s3i_io_hooks), NULL, shifted_now_ms, NULL };

static s3i_ctx *make_ctx(const char *ak, const char *sk, const s3i_io_hooks *hooks)
{
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = ak;
	o.secret_access_key = sk;
	o.log_fn = s3i_check_log;
	o.log_level = S3I_LOG_WARN;
	o.io_hooks = hooks;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	return ctx;
}

static s3i_ctx *begin(s3i_svc *svc)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	s3i_ctx *ctx = make_ctx("testing", "testing", NULL);
	svc->client = s3i_ctx_client(ctx);
	svc->creds = NULL;
	svc->region = NULL;
	return ctx;
}

/* A /_fault rule answering the STS query action `action` with an XML body. */
static void add_fault(const char *action, int status, int count, const char *body)
{
	s3i_buf rule;
	s3i_buf_init(&rule, NULL);
	s3i_json_writer w;
	s3i_jw_init(&w, &rule);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "service");
	s3i_jw_str(&w, "sts");
	s3i_jw_key(&w, "action");
	s3i_jw_str(&w, action);
	s3i_jw_key(&w, "status");
	s3i_jw_i64(&w, status);
	s3i_jw_key(&w, "count");
	s3i_jw_i64(&w, count);
	s3i_jw_key(&w, "content_type");
	s3i_jw_str(&w, "text/xml");
	s3i_jw_key(&w, "body");
	s3i_jw_str(&w, body);
	s3i_jw_obj_close(&w);
	assert_int_equal(s3i_jw_finish(&w), S3I_OK);
	assert_int_equal(s3i_moto_add_fault(moto, rule.ptr), 0);
	s3i_buf_dispose(&rule);
}

/* ---- moto's recorder ---- */

/* The decoded form bodies of the recorded calls holding "Action=<action>&", one per line. */
static char *recorder_bodies(const char *action)
{
	s3i_check_moto_post(moto, "/moto-api/recorder/stop-recording", "");
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/moto-api/recorder/download-recording", NULL,
		NULL, &out, &status), 0);
	assert_int_equal(status, 200);
	char want[120];
	snprintf(want, sizeof(want), "Action=%s&", action);
	s3i_buf all;
	s3i_buf_init(&all, NULL);
	for (char *line = out; line && *line;) {
		char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		s3i_json doc = NULL;
		if (len && s3i_json_parse(&doc, line, len, "recording", NULL) == S3I_OK) {
			const char *body = s3i_json_str(s3i_json_get(doc, "body"));
			s3i_buf dec;
			s3i_buf_init(&dec, NULL);
			if (body && s3i_json_bool(s3i_json_get(doc, "body_encoded"), 0))
				assert_int_equal(s3i_base64_decode(&dec, body, strlen(body)), S3I_OK);
			else if (body)
				assert_int_equal(s3i_buf_puts(&dec, body), S3I_OK);
			if (dec.ptr && strstr(dec.ptr, want)) {
				assert_int_equal(s3i_buf_put(&all, dec.ptr, dec.size), S3I_OK);
				assert_int_equal(s3i_buf_putc(&all, '\n'), S3I_OK);
			}
			s3i_buf_dispose(&dec);
		}
		s3i_json_free(doc);
		line = eol ? eol + 1 : NULL;
	}
	free(out);
	char *r = strdup(all.ptr ? all.ptr : "");
	s3i_buf_dispose(&all);
	return r;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- GetCallerIdentity ---- */

static void test_caller_identity(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_sts_identity who;
	CHECK_OK(s3i_sts_get_caller_identity_op(&svc, &who, NULL));
	assert_string_equal(who.account, "123456789012");
	assert_string_equal(who.arn, "arn:aws:sts::123456789012:user/moto");
	assert_true(who.user_id[0] != 0);
	/* any region answers for the same account */
	svc.region = "eu-central-1";
	CHECK_OK(s3i_sts_get_caller_identity_op(&svc, &who, NULL));
	assert_string_equal(who.account, "123456789012");
	assert_int_equal(s3i_sts_get_caller_identity_op(&svc, NULL, NULL), S3I_EINVALID);
	s3i_ctx_release(ctx);
}

/* ---- the role cache and the second account ---- */

static void test_second_account_through_role_cache(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_sts_role_cache *cache = NULL;
	CHECK_OK(s3i_sts_role_cache_new_ctx(&cache, ctx, NULL));
	char arn[S3I_STS_ARN_SIZE];
	CHECK_OK(s3i_sts_role_arn(arn, sizeof(arn), s3i_sts_partition_of_region("us-east-1"), OTHER,
		"s3insights-harvest", NULL));
	assert_string_equal(arn, "arn:aws:iam::" OTHER ":role/s3insights-harvest");

	s3i_check_recorder_start(moto);
	s3i_sts_role role = { arn, "s3i-test", "ext-id-1", 900 };
	s3i_credprov *p1 = NULL, *p2 = NULL;
	CHECK_OK(s3i_sts_role_cache_get(cache, &role, &p1, NULL));
	s3i_svc other = { svc.client, p1, NULL };
	s3i_sts_identity who;
	for (int i = 0; i < 3; i++) {
		CHECK_OK(s3i_sts_get_caller_identity_op(&other, &who, NULL));
		assert_string_equal(who.account, OTHER);
		assert_string_equal(who.arn, "arn:aws:sts::" OTHER ":assumed-role/s3insights-harvest/"
			"s3i-test");
	}
	/* the same role again: the same provider, no second AssumeRole */
	CHECK_OK(s3i_sts_role_cache_get(cache, &role, &p2, NULL));
	assert_ptr_equal(p1, p2);
	assert_int_equal(s3i_sts_role_cache_size(cache), 1);
	char *calls = recorder_bodies("AssumeRole");
	assert_int_equal(count_lines(calls), 1);
	/* what went to STS: the role, session name, external id and duration */
	assert_non_null(strstr(calls, "RoleArn=arn%3Aaws%3Aiam%3A%3A" OTHER "%3Arole%2Fs3insights-"
		"harvest"));
	assert_non_null(strstr(calls, "RoleSessionName=s3i-test"));
	assert_non_null(strstr(calls, "ExternalId=ext-id-1"));
	assert_non_null(strstr(calls, "DurationSeconds=900"));
	free(calls);
	/* the home account is still the home account */
	CHECK_OK(s3i_sts_get_caller_identity_op(&svc, &who, NULL));
	assert_string_equal(who.account, "123456789012");

	/* each part of the key makes another provider */
	s3i_sts_role variants[] = {
		{ arn, "s3i-other", "ext-id-1", 900 },
		{ arn, "s3i-test", "ext-id-2", 900 },
		{ arn, "s3i-test", NULL, 900 },
		{ arn, "s3i-test", "ext-id-1", 1800 },
		{ "arn:aws:iam::222222222222:role/s3insights-harvest", "s3i-test", "ext-id-1", 900 },
	};
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		s3i_credprov *pv = NULL;
		CHECK_OK(s3i_sts_role_cache_get(cache, &variants[i], &pv, NULL));
		assert_ptr_not_equal(pv, p1);
		assert_int_equal(s3i_sts_role_cache_size(cache), i + 2);
		s3i_credprov_release(pv);
	}
	s3i_credprov *pv = NULL;
	CHECK_OK(s3i_sts_role_cache_get(cache, &variants[4], &pv, NULL));
	s3i_svc third = { svc.client, pv, NULL };
	CHECK_OK(s3i_sts_get_caller_identity_op(&third, &who, NULL));
	assert_string_equal(who.account, "222222222222");
	s3i_credprov_release(pv);

	/* providers outlive the cache for as long as their holders keep them */
	s3i_sts_role_cache_free(cache);
	CHECK_OK(s3i_sts_get_caller_identity_op(&other, &who, NULL));
	assert_string_equal(who.account, OTHER);
	s3i_credprov_release(p1);
	s3i_credprov_release(p2);
	s3i_ctx_release(ctx);
}

static void test_credentials_refreshed_near_expiry(void **state)
{
	(void)state;
	assert_int_equal(s3i_moto_reset(moto), 0);
	atomic_store(&clock_offset_ms, 0);
	s3i_ctx *ctx = make_ctx("testing", "testing", &shifted_clock);
	s3i_sts_role_cache *cache = NULL;
	CHECK_OK(s3i_sts_role_cache_new_ctx(&cache, ctx, NULL));
	s3i_check_recorder_start(moto);
	s3i_sts_role role = { "arn:aws:iam::" OTHER ":role/refresh", "s3i-refresh", NULL, 900 };
	s3i_credprov *p = NULL;
	CHECK_OK(s3i_sts_role_cache_get(cache, &role, &p, NULL));
	s3i_svc other = { s3i_ctx_client(ctx), p, NULL };
	s3i_sts_identity who;
	CHECK_OK(s3i_sts_get_caller_identity_op(&other, &who, NULL));
	/* 14 minutes on, the 900 s credentials are within their last quarter: fetched again */
	atomic_store(&clock_offset_ms, 14 * 60 * 1000);
	CHECK_OK(s3i_sts_get_caller_identity_op(&other, &who, NULL));
	assert_string_equal(who.account, OTHER);
	s3i_credprov *again = NULL;
	CHECK_OK(s3i_sts_role_cache_get(cache, &role, &again, NULL));
	assert_ptr_equal(again, p);
	char *calls = recorder_bodies("AssumeRole");
	assert_int_equal(count_lines(calls), 2);
	free(calls);
	atomic_store(&clock_offset_ms, 0);
	s3i_credprov_release(again);
	s3i_credprov_release(p);
	s3i_sts_role_cache_free(cache);
	s3i_ctx_release(ctx);
}

typedef struct racer {
	s3i_sts_role_cache *cache;
	const s3i_sts_role *role;
	s3i_credprov *got;
	int rc;
	pthread_barrier_t *start;
} racer;

static void *race(void *arg)
{
	racer *r = arg;
	pthread_barrier_wait(r->start);
	r->rc = s3i_sts_role_cache_get(r->cache, r->role, &r->got, NULL);
	return NULL;
}

static void test_threads_share_one_provider(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_sts_role_cache *cache = NULL;
	CHECK_OK(s3i_sts_role_cache_new_ctx(&cache, ctx, NULL));
	s3i_sts_role role = { "arn:aws:iam::" OTHER ":role/race", "s3i-race", NULL, 0 };
	enum { N = 6 };
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, N);
	racer r[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		r[i] = (racer){ cache, &role, NULL, -99, &start };
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < N; i++) {
		assert_int_equal(r[i].rc, S3I_OK);
		assert_ptr_equal(r[i].got, r[0].got);
	}
	assert_int_equal(s3i_sts_role_cache_size(cache), 1);
	for (int i = 0; i < N; i++)
		s3i_credprov_release(r[i].got);
	s3i_sts_role_cache_free(cache);
	s3i_ctx_release(ctx);
}

/* ---- refusals ---- */

/* A form-encoded IAM call with the given keys (signature checking may be on). */
static void iam_call(const char *ak, const char *sk, const char *form)
{
	s3i_moto_req req = { .method = "POST", .path = "/", .service = "iam", .access_key_id = ak,
		.secret_access_key = sk, .content_type = "application/x-www-form-urlencoded",
		.body = form };
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &req, &out, &status), 0);
	if (status != 200)
		fail_msg("IAM call %s -> %d: %s", form, status, out ? out : "");
	free(out);
}

static void test_assume_role_access_denied(void **state)
{
	(void)state;
	assert_int_equal(s3i_moto_reset(moto), 0);
	char ak[64], sk[128];
	assert_int_equal(s3i_moto_enable_auth(moto, ak, sk), 0);
	/* a role that trusts another account only */
	s3i_buf form;
	s3i_buf_init(&form, NULL);
	const char *trust = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
		"\"Principal\":{\"AWS\":\"arn:aws:iam::999999999999:root\"},\"Action\":\"sts:AssumeRole\"}]}";
	assert_int_equal(s3i_buf_puts(&form, "Action=CreateRole&Version=2010-05-08&RoleName=locked"
		"&AssumeRolePolicyDocument="), S3I_OK);
	assert_int_equal(s3i_uri_encode(&form, trust, strlen(trust), 0), S3I_OK);
	iam_call(ak, sk, form.ptr);
	s3i_buf_dispose(&form);

	s3i_ctx *ctx = make_ctx(ak, sk, NULL);
	s3i_sts_role_cache *cache = NULL;
	CHECK_OK(s3i_sts_role_cache_new_ctx(&cache, ctx, NULL));
	const char *arn = "arn:aws:iam::123456789012:role/locked";
	s3i_sts_role role = { arn, "s3i-denied", NULL, 0 };
	s3i_credprov *p = (s3i_credprov *)&role;   /* must be cleared */
	int rc = s3i_sts_role_cache_get(cache, &role, &p, NULL);
	const char *m[] = { "AssumeRole into arn:aws:iam::123456789012:role/locked", "AccessDenied",
		NULL };
	s3i_check_expect_error(rc, S3I_EAUTH, "AccessDenied", m);
	assert_string_equal(s3i_error_last()->resource, arn);
	assert_null(p);
	/* not cached: asking again asks STS again, and is refused again */
	assert_int_equal(s3i_sts_role_cache_size(cache), 0);
	assert_int_equal(s3i_sts_role_cache_get(cache, &role, &p, NULL), S3I_EAUTH);
	/* our own identity still answers with the checked keys */
	s3i_svc svc = { s3i_ctx_client(ctx), NULL, NULL };
	s3i_sts_identity who;
	CHECK_OK(s3i_sts_get_caller_identity_op(&svc, &who, NULL));
	assert_string_equal(who.arn, "arn:aws:iam::123456789012:user/ci");
	s3i_sts_role_cache_free(cache);
	s3i_ctx_release(ctx);
	assert_int_equal(s3i_moto_reset(moto), 0);
}

static void test_documented_access_denied(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_sts_role_cache *cache = NULL;
	CHECK_OK(s3i_sts_role_cache_new_ctx(&cache, ctx, NULL));
	/* AWS's answer when the trust policy or the external id does not let us in */
	add_fault("AssumeRole", 403, 1, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
		"2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: "
		"arn:aws:iam::123456789012:user/runner is not authorized to perform: sts:AssumeRole on "
		"resource: arn:aws:iam::" OTHER ":role/s3insights-harvest</Message></Error><RequestId>"
		"c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>");
	const char *arn = "arn:aws:iam::" OTHER ":role/s3insights-harvest";
	s3i_sts_role role = { arn, NULL, "wrong-external-id", 0 };
	s3i_credprov *p = NULL;
	int rc = s3i_sts_role_cache_get(cache, &role, &p, NULL);
	const char *m[] = { "AssumeRole into arn:aws:iam::" OTHER ":role/s3insights-harvest",
		"is not authorized to perform: sts:AssumeRole", NULL };
	s3i_check_expect_error(rc, S3I_EAUTH, "AccessDenied", m);
	assert_string_equal(s3i_error_last()->resource, arn);
	assert_string_equal(s3i_error_last()->request_id, "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
	assert_int_equal(s3i_error_last()->http_status, 403);
	assert_null(p);
	s3i_check_faults_used(moto);
	/* the fault is spent: the same role now works (moto lets anyone in) */
	CHECK_OK(s3i_sts_role_cache_get(cache, &role, &p, NULL));
	assert_int_equal(s3i_sts_role_cache_size(cache), 1);
	s3i_credprov_release(p);
	s3i_sts_role_cache_free(cache);
	s3i_ctx_release(ctx);
}

static void test_malformed_roles_refused(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_sts_role_cache *cache = NULL;
	CHECK_OK(s3i_sts_role_cache_new_ctx(&cache, ctx, NULL));
	const char *good = "arn:aws:iam::" OTHER ":role/r";
	struct { s3i_sts_role role; const char *mention; } bad[] = {
		{ { NULL, NULL, NULL, 0 }, "no role ARN" },
		{ { "arn:aws:s3:::bucket", NULL, NULL, 0 }, "is not a role ARN" },
		{ { "arn:aws:iam::1111:role/r", NULL, NULL, 0 }, "is not a role ARN" },
		{ { "arn:aws:iam::" OTHER ":user/r", NULL, NULL, 0 }, "is not a role ARN" },
		{ { "arn:aws:iam::" OTHER ":role/", NULL, NULL, 0 }, "is not a role ARN" },
		{ { good, "x", NULL, 0 }, "session name 'x'" },
		{ { good, "has space", NULL, 0 }, "session name 'has space'" },
		{ { good, NULL, "bad id!", 0 }, "external id" },
		{ { good, NULL, NULL, 899 }, "duration 899 s" },
		{ { good, NULL, NULL, 43201 }, "duration 43201 s" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s3i_credprov *p = NULL;
		int rc = s3i_sts_role_cache_get(cache, &bad[i].role, &p, NULL);
		const char *m[] = { bad[i].mention, NULL };
		s3i_check_expect_error(rc, S3I_EINVALID, NULL, m);
		assert_null(p);
	}
	assert_int_equal(s3i_sts_role_cache_size(cache), 0);
	assert_int_equal(s3i_sts_role_cache_get(cache, NULL, NULL, NULL), S3I_EINVALID);
	s3i_sts_role_cache *none = NULL;
	assert_int_equal(s3i_sts_role_cache_new(&none, NULL, NULL, NULL), S3I_EINVALID);
	assert_null(none);
	s3i_sts_role_cache_free(NULL);
	s3i_sts_role_cache_free(cache);
	s3i_ctx_release(ctx);
}

/* ---- faults ---- */

static void test_throttling_then_success(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	add_fault("GetCallerIdentity", 400, 2, "<ErrorResponse><Error><Type>Sender</Type><Code>"
		"Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>t1</RequestId>"
		"</ErrorResponse>");
	s3i_sts_identity who;
	CHECK_OK(s3i_sts_get_caller_identity_op(&svc, &who, NULL));
	assert_string_equal(who.account, "123456789012");
	s3i_check_faults_used(moto);
	/* throttled for good: S3I_ETHROTTLED once the client's attempts are spent */
	add_fault("GetCallerIdentity", 400, -1, "<ErrorResponse><Error><Type>Sender</Type><Code>"
		"Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>t2</RequestId>"
		"</ErrorResponse>");
	int rc = s3i_sts_get_caller_identity_op(&svc, &who, NULL);
	const char *m[] = { "GetCallerIdentity", "Rate exceeded", NULL };
	s3i_check_expect_error(rc, S3I_ETHROTTLED, "Throttling", m);
	assert_string_equal(who.account, "");
	s3i_ctx_release(ctx);
}

static void test_answers_of_the_wrong_shape(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	s3i_sts_identity who;
	add_fault("GetCallerIdentity", 200, 1, "<GetCallerIdentityResponse><GetCallerIdentityResult>"
		"<Arn>arn:aws:sts::123456789012:user/x</Arn></GetCallerIdentityResult>"
		"</GetCallerIdentityResponse>");
	int rc = s3i_sts_get_caller_identity_op(&svc, &who, NULL);
	const char *m[] = { "GetCallerIdentity response has no Account", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m);
	add_fault("GetCallerIdentity", 200, 1, "<html><body>proxy</body></html>");
	rc = s3i_sts_get_caller_identity_op(&svc, &who, NULL);
	const char *m2[] = { "not a <GetCallerIdentityResponse>", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m2);
	assert_string_equal(who.account, "");
	/* the documented expired-token answer */
	add_fault("GetCallerIdentity", 400, 1, "<ErrorResponse><Error><Type>Sender</Type><Code>"
		"ExpiredToken</Code><Message>The security token included in the request is expired"
		"</Message></Error><RequestId>x</RequestId></ErrorResponse>");
	add_fault("GetCallerIdentity", 400, 1, "<ErrorResponse><Error><Type>Sender</Type><Code>"
		"ExpiredToken</Code><Message>The security token included in the request is expired"
		"</Message></Error><RequestId>y</RequestId></ErrorResponse>");
	rc = s3i_sts_get_caller_identity_op(&svc, &who, NULL);
	const char *m3[] = { "expired", NULL };
	s3i_check_expect_error(rc, S3I_EAUTH, "ExpiredToken", m3);
	s3i_moto_clear_faults(moto);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_caller_identity),
		S3I_TEST(test_second_account_through_role_cache),
		S3I_TEST(test_credentials_refreshed_near_expiry),
		S3I_TEST(test_threads_share_one_provider),
		S3I_TEST(test_assume_role_access_denied),
		S3I_TEST(test_documented_access_denied),
		S3I_TEST(test_malformed_roles_refused),
		S3I_TEST(test_throttling_then_success),
		S3I_TEST(test_answers_of_the_wrong_shape),
	};
	return cmocka_run_group_tests_name("sts", tests, group_setup, group_teardown);
}
