/*
 * Organizations ListAccounts (src/services/organizations.c) against moto_server: an
 * organization with more accounts than fit a page, listed with MaxResults across pages (the
 * NextToken of each page seen arriving at moto through its recorder), max_pages and a callback
 * that stops; the call signed in us-east-1 whatever the region asked for (a global service);
 * AWSOrganizationsNotInUseException, AccessDeniedException and throttling as AWS documents them
 * through /_fault; and a second account, reached through AssumeRole, that lists only its own
 * organization. Every context uses the counting allocator.
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
#include "core/json.h"
#include "core/str.h"
#include "services/organizations.h"
#include "services/sts.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

static s3i_moto *moto;

#define RECORDING S3I_BINARY_DIR "/Testing/Temporary/moto-recording-organizations"
#define TARGET "AWSOrganizationsV20161128.ListAccounts"
#define JSON_11 "application/x-amz-json-1.1"
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

/* A /_fault rule answering ListAccounts with a JSON 1.1 body. */
static void add_fault(int status, int count, const char *body)
{
	s3i_buf rule;
	s3i_buf_init(&rule, NULL);
	s3i_json_writer w;
	s3i_jw_init(&w, &rule);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "target");
	s3i_jw_str(&w, TARGET);
	s3i_jw_key(&w, "status");
	s3i_jw_i64(&w, status);
	s3i_jw_key(&w, "count");
	s3i_jw_i64(&w, count);
	s3i_jw_key(&w, "content_type");
	s3i_jw_str(&w, JSON_11);
	s3i_jw_key(&w, "body");
	s3i_jw_str(&w, body);
	s3i_jw_obj_close(&w);
	assert_int_equal(s3i_jw_finish(&w), S3I_OK);
	assert_int_equal(s3i_moto_add_fault(moto, rule.ptr), 0);
	s3i_buf_dispose(&rule);
}

/* ---- moto's recorder ---- */

/* The recorded ListAccounts calls, one line each: "<Authorization header> <decoded body>". */
static char *recorded_list_calls(void)
{
	s3i_check_moto_post(moto, "/moto-api/recorder/stop-recording", "");
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/moto-api/recorder/download-recording", NULL,
		NULL, &out, &status), 0);
	assert_int_equal(status, 200);
	s3i_buf all;
	s3i_buf_init(&all, NULL);
	for (char *line = out; line && *line;) {
		char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		s3i_json doc = NULL;
		if (len && s3i_json_parse(&doc, line, len, "recording", NULL) == S3I_OK) {
			s3i_json headers = s3i_json_get(doc, "headers");
			const char *target = NULL, *auth = "";
			for (size_t i = 0; i < s3i_json_len(headers); i++) {
				const char *k = s3i_json_key_at(headers, i);
				const char *v = s3i_json_str(s3i_json_val_at(headers, i));
				if (k && v && s3i_strcaseeq(k, "X-Amz-Target"))
					target = v;
				if (k && v && s3i_strcaseeq(k, "Authorization"))
					auth = v;
			}
			const char *body = s3i_json_str(s3i_json_get(doc, "body"));
			if (target && !strcmp(target, TARGET)) {
				s3i_buf dec;
				s3i_buf_init(&dec, NULL);
				if (body && s3i_json_bool(s3i_json_get(doc, "body_encoded"), 0))
					assert_int_equal(s3i_base64_decode(&dec, body, strlen(body)), S3I_OK);
				else if (body)
					assert_int_equal(s3i_buf_puts(&dec, body), S3I_OK);
				assert_int_equal(s3i_buf_printf(&all, "%s %s\n", auth, s3i_buf_cstr(&dec)), S3I_OK);
				s3i_buf_dispose(&dec);
			}
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

/* ---- seeding an organization ---- */

typedef struct keys {
	const char *ak, *sk, *token;
} keys;

/* An Organizations call made around the library (signed in us-east-1); the answer's body. */
static char *org_call(const keys *k, const char *op, const char *json)
{
	char target[128];
	snprintf(target, sizeof(target), "X-Amz-Target: AWSOrganizationsV20161128.%s", op);
	const char *headers[] = { target, NULL };
	s3i_moto_req req = { .method = "POST", .path = "/", .service = "organizations",
		.content_type = JSON_11, .headers = headers, .body = json,
		.access_key_id = k ? k->ak : NULL, .secret_access_key = k ? k->sk : NULL,
		.session_token = k ? k->token : NULL };
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &req, &out, &status), 0);
	if (status != 200)
		fail_msg("%s -> %d: %s", op, status, out ? out : "");
	return out;
}

/* An organization with `n` member accounts named <prefix>0.. (the management account is
 * listed too). */
static void seed_org(const keys *k, const char *prefix, int n)
{
	free(org_call(k, "CreateOrganization", "{\"FeatureSet\":\"ALL\"}"));
	for (int i = 0; i < n; i++) {
		char body[200];
		snprintf(body, sizeof(body), "{\"AccountName\":\"%s%d\",\"Email\":\"%s%d@example.com\"}",
			prefix, i, prefix, i);
		free(org_call(k, "CreateAccount", body));
	}
}

typedef struct seen {
	char ids[32][16];
	char names[32][64];
	char emails[32][64];
	char status[32][24];
	char arns[32][128];
	int64_t joined[32];
	size_t n;
	size_t stop_after;
} seen;

static int collect(void *payload, const s3i_org_account *a)
{
	seen *s = payload;
	assert_true(s->n < 32);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", a->id);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", a->name);
	snprintf(s->emails[s->n], sizeof(s->emails[0]), "%s", a->email);
	snprintf(s->status[s->n], sizeof(s->status[0]), "%s", a->status);
	snprintf(s->arns[s->n], sizeof(s->arns[0]), "%s", a->arn);
	s->joined[s->n] = a->joined_ms;
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

static int index_of_name(const seen *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return (int)i;
	return -1;
}

/* ---- listing ---- */

static void test_list_accounts_across_pages(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	seed_org(NULL, "member", 6);
	s3i_check_recorder_start(moto);
	static seen s;
	memset(&s, 0, sizeof(s));
	s3i_org_list_opts opts = { .max_results = 2 };
	s3i_org_list_progress progress;
	CHECK_OK(s3i_org_list_accounts_op(&svc, &opts, collect, &s, &progress, NULL));
	assert_int_equal(s.n, 7);
	assert_int_equal(progress.accounts, 7);
	assert_int_equal(progress.pages, 4);
	/* every account once, the management account among them, with what moto made */
	for (size_t i = 0; i < s.n; i++)
		for (size_t j = i + 1; j < s.n; j++)
			assert_string_not_equal(s.ids[i], s.ids[j]);
	int mgmt = index_of_name(&s, "master");
	assert_true(mgmt >= 0);
	assert_string_equal(s.ids[mgmt], "123456789012");
	for (int i = 0; i < 6; i++) {
		char name[32], email[64];
		snprintf(name, sizeof(name), "member%d", i);
		snprintf(email, sizeof(email), "member%d@example.com", i);
		int k = index_of_name(&s, name);
		assert_true(k >= 0);
		assert_string_equal(s.emails[k], email);
		assert_string_equal(s.status[k], "ACTIVE");
		assert_non_null(strstr(s.arns[k], s.ids[k]));
		assert_true(strncmp(s.arns[k], "arn:aws:organizations::123456789012:account/o-", 46) == 0);
		assert_true(s.joined[k] > 1500000000000LL);
	}
	/* four requests: the first without a token, each later one with its predecessor's */
	char *calls = recorded_list_calls();
	assert_int_equal(count_lines(calls), 4);
	const char *second = strchr(calls, '\n') + 1;
	const char *first_token = strstr(calls, "\"NextToken\"");
	assert_true(first_token && first_token > second);
	assert_non_null(strstr(calls, "\"MaxResults\":2"));
	free(calls);

	/* one page only, then the rest without a page limit and MaxResults left to the service */
	memset(&s, 0, sizeof(s));
	opts.max_pages = 1;
	CHECK_OK(s3i_org_list_accounts_op(&svc, &opts, collect, &s, &progress, NULL));
	assert_int_equal(s.n, 2);
	assert_int_equal(progress.pages, 1);
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_org_list_accounts_op(&svc, NULL, collect, &s, NULL, NULL));
	assert_int_equal(s.n, 7);

	/* the callback stops in the second page */
	memset(&s, 0, sizeof(s));
	s.stop_after = 3;
	opts.max_pages = 0;
	int rc = s3i_org_list_accounts_op(&svc, &opts, collect, &s, &progress, NULL);
	const char *m[] = { "the account callback asked to stop", NULL };
	s3i_check_expect_error(rc, S3I_EUSER, NULL, m);
	assert_int_equal(s.n, 3);
	assert_int_equal(progress.accounts, 2);
	assert_int_equal(progress.pages, 1);

	/* refused before any call */
	opts.max_results = 21;
	assert_int_equal(s3i_org_list_accounts_op(&svc, &opts, collect, &s, NULL, NULL), S3I_EINVALID);
	s3i_ctx_release(ctx);
}

static void test_signed_in_us_east_1_from_any_region(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	seed_org(NULL, "acct", 2);
	s3i_check_recorder_start(moto);
	svc.region = "eu-west-1";
	static seen s;
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_org_list_accounts_op(&svc, NULL, collect, &s, NULL, NULL));
	assert_int_equal(s.n, 3);
	char *calls = recorded_list_calls();
	assert_int_equal(count_lines(calls), 1);
	if (!strstr(calls, "/us-east-1/organizations/aws4_request"))
		fail_msg("ListAccounts was not signed in us-east-1: %s", calls);
	free(calls);
	s3i_ctx_release(ctx);
}

static void test_not_in_an_organization(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	/* moto answers an empty list where AWS refuses: AWS's answer through /_fault */
	add_fault(400, 1, "{\"__type\":\"AWSOrganizationsNotInUseException\",\"Message\":\"Your "
		"account is not a member of an organization.\"}");
	static seen s;
	memset(&s, 0, sizeof(s));
	int rc = s3i_org_list_accounts_op(&svc, NULL, collect, &s, NULL, NULL);
	const char *m[] = { "ListAccounts: the account is not a member of an organization",
		"Your account is not a member of an organization.", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, "AWSOrganizationsNotInUseException", m);
	assert_string_equal(s3i_error_last()->resource, "organization");
	assert_int_equal(s3i_error_last()->http_status, 400);
	assert_int_equal(s.n, 0);
	s3i_check_faults_used(moto);

	/* a member account asking: AccessDeniedException */
	add_fault(400, 1, "{\"__type\":\"AccessDeniedException\",\"Message\":\"You don't have "
		"permissions to access this resource.\"}");
	rc = s3i_org_list_accounts_op(&svc, NULL, collect, &s, NULL, NULL);
	const char *m2[] = { "management account or a delegated administrator",
		"You don't have permissions to access this resource.", NULL };
	s3i_check_expect_error(rc, S3I_EAUTH, "AccessDeniedException", m2);
	s3i_check_faults_used(moto);

	/* a bad token */
	add_fault(400, 1, "{\"__type\":\"InvalidInputException\",\"Message\":\"You provided a value "
		"that does not match the required pattern.\",\"Reason\":\"INVALID_PAGINATION_TOKEN\"}");
	rc = s3i_org_list_accounts_op(&svc, NULL, collect, &s, NULL, NULL);
	const char *m3[] = { "refused its input", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, "InvalidInputException", m3);
	s3i_ctx_release(ctx);
}

static void test_throttling_then_success(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	seed_org(NULL, "t", 1);
	add_fault(400, 2, "{\"__type\":\"TooManyRequestsException\",\"Message\":\"AWS Organizations "
		"can't complete your request because another request is already in progress.\","
		"\"Type\":\"AWSOrganizations\"}");
	static seen s;
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_org_list_accounts_op(&svc, NULL, collect, &s, NULL, NULL));
	assert_int_equal(s.n, 2);
	s3i_check_faults_used(moto);
	/* a page of the wrong shape */
	add_fault(200, 1, "{\"Accounts\":[{\"Id\":\"12345\"}]}");
	memset(&s, 0, sizeof(s));
	int rc = s3i_org_list_accounts_op(&svc, NULL, collect, &s, NULL, NULL);
	const char *m[] = { "ListAccounts response (page 1): account 0 has no 12-digit Id", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m);
	assert_int_equal(s.n, 0);
	/* a service that hands back the token it was given would loop: refused */
	add_fault(200, 1, "{\"Accounts\":[],\"NextToken\":\"same\"}");
	add_fault(200, 1, "{\"Accounts\":[],\"NextToken\":\"same\"}");
	rc = s3i_org_list_accounts_op(&svc, NULL, collect, &s, NULL, NULL);
	const char *m2[] = { "gave back the NextToken it was asked for", NULL };
	s3i_check_expect_error(rc, S3I_EPARSE, NULL, m2);
	s3i_ctx_release(ctx);
}

/* ---- two accounts ---- */

static void test_second_account_through_assume_role(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	seed_org(NULL, "home", 1);
	s3i_sts_role_cache *cache = NULL;
	CHECK_OK(s3i_sts_role_cache_new_ctx(&cache, ctx, NULL));
	s3i_sts_role role = { "arn:aws:iam::" OTHER ":role/s3insights-discovery", "s3i-org", NULL, 0 };
	s3i_credprov *p = NULL;
	CHECK_OK(s3i_sts_role_cache_get(cache, &role, &p, NULL));
	/* the other account runs an organization of its own */
	s3i_credentials cr;
	s3i_credentials_init(&cr, s3i_ctx_alloc(ctx));
	CHECK_OK(s3i_credprov_get(p, &cr, NULL));
	keys k = { cr.access_key_id, cr.secret_access_key, cr.session_token };
	seed_org(&k, "away", 3);
	s3i_credentials_free(&cr);

	s3i_svc other = { svc.client, p, NULL };
	static seen s;
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_org_list_accounts_op(&other, NULL, collect, &s, NULL, NULL));
	assert_int_equal(s.n, 4);
	int mgmt = index_of_name(&s, "master");
	assert_true(mgmt >= 0);
	assert_string_equal(s.ids[mgmt], OTHER);
	assert_true(index_of_name(&s, "away2") >= 0);
	assert_true(index_of_name(&s, "home0") < 0);
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_org_list_accounts_op(&svc, NULL, collect, &s, NULL, NULL));
	assert_int_equal(s.n, 2);
	assert_true(index_of_name(&s, "home0") >= 0);
	s3i_credprov_release(p);
	s3i_sts_role_cache_free(cache);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_list_accounts_across_pages),
		S3I_TEST(test_signed_in_us_east_1_from_any_region),
		S3I_TEST(test_not_in_an_organization),
		S3I_TEST(test_throttling_then_success),
		S3I_TEST(test_second_account_through_assume_role),
	};
	return cmocka_run_group_tests_name("organizations", tests, group_setup, group_teardown);
}
