/*
 * STS credential sources against moto_server: role_arn profiles (source_profile, chained,
 * external_id), the direct cross-account AssumeRole the workflow uses, web identity (env and
 * profile), caching and refresh, STS errors and retries. moto's request recorder shows what
 * went over the wire (parameters, which key signed, how many calls).
 */
#include "test_alloc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/str.h"
#include "moto.h"

static s3i_moto *moto;
static char tmpdir[256], cfg_path[512], cred_path[512], rec_path[512];

/* ---------------------------------------------------------------- moto's recorder */

typedef struct recorded {
	char body[4096];           /* decoded form body */
	char auth[512];            /* Authorization header, "" when unsigned */
} recorded;

static void moto_post(const char *path)
{
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "POST", path, NULL, "", NULL, &status), 0);
	assert_true(status >= 200 && status < 300);
}

static void recorder_restart(void)
{
	moto_post("/moto-api/recorder/reset-recording");
	moto_post("/moto-api/recorder/start-recording");
}

/* The recorded STS calls whose body holds `action` ("Action=AssumeRole&"). */
static int recorded_calls(const char *action, recorded *out, int cap)
{
	char *text = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/moto-api/recorder/download-recording", NULL,
		NULL, &text, &status), 0);
	assert_int_equal(status, 200);
	int n = 0;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		s3i_json doc = NULL;
		if (len && s3i_json_parse(&doc, line, len, "recording", NULL) == 0) {
			const char *b = s3i_json_str(s3i_json_get(doc, "body"));
			s3i_buf dec;
			s3i_buf_init(&dec, s3i_test_alloc());
			if (b && s3i_json_bool(s3i_json_get(doc, "body_encoded"), 0))
				s3i_base64_decode(&dec, b, strlen(b));
			else if (b)
				s3i_buf_puts(&dec, b);
			if (strstr(s3i_buf_cstr(&dec), action)) {
				if (out && n < cap) {
					snprintf(out[n].body, sizeof(out[n].body), "%s", s3i_buf_cstr(&dec));
					const char *auth = s3i_json_str(s3i_json_path(doc, "headers.Authorization"));
					snprintf(out[n].auth, sizeof(out[n].auth), "%s", auth ? auth : "");
				}
				n++;
			}
			s3i_buf_dispose(&dec);
			s3i_json_free(doc);
		}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	return n;
}

/* ---------------------------------------------------------------- fixtures */

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int test_setup(void **state)
{
	s3i_test_alloc_setup(state);
	if (s3i_moto_reset(moto))
		return -1;
	/* moto's dummy keys would win over every profile */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	unsetenv("AWS_ROLE_ARN");
	unsetenv("AWS_ROLE_SESSION_NAME");
	setenv("AWS_CONFIG_FILE", cfg_path, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unlink(cfg_path);
	unlink(cred_path);
	recorder_restart();
	return 0;
}

#define STS_TEST(fn) cmocka_unit_test_setup_teardown(fn, test_setup, s3i_test_alloc_teardown)

static atomic_llong fake_now;
static int64_t fake_now_ms(void *user) { (void)user; return atomic_load(&fake_now); }
static s3i_io_hooks fake_clock = { sizeof(s3i_io_hooks), NULL, fake_now_ms, NULL };

static s3i_credprov_env make_env(void)
{
	s3i_credprov_env env;
	memset(&env, 0, sizeof(env));
	env.alloc = s3i_test_alloc();
	env.region = "us-east-1";
	return env;
}

static void get_ok(s3i_credprov *p, s3i_credentials *c)
{
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_credprov_get(p, c, &err);
	if (rc)
		fail_msg("get failed (%d): %s", rc, err.message);
}

/* GetCallerIdentity signed with `c`; returns the Account from the answer. */
static void caller_account(const s3i_credentials *c, char *account, size_t cap)
{
	char tokhdr[4096];
	snprintf(tokhdr, sizeof(tokhdr), "X-Amz-Security-Token: %s", c->session_token ? c->session_token : "");
	const char *headers[] = { tokhdr, NULL };
	s3i_moto_req req = { .method = "POST", .path = "/", .service = "sts",
		.access_key_id = c->access_key_id, .secret_access_key = c->secret_access_key,
		.content_type = "application/x-www-form-urlencoded",
		.headers = c->session_token ? headers : NULL,
		.body = "Action=GetCallerIdentity&Version=2011-06-15" };
	char *body = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &req, &body, &status), 0);
	assert_int_equal(status, 200);
	account[0] = '\0';
	const char *a = strstr(body, "<Account>");
	const char *e = a ? strstr(a, "</Account>") : NULL;
	if (a && e && (size_t)(e - a - 9) < cap) {
		memcpy(account, a + 9, (size_t)(e - a - 9));
		account[e - a - 9] = '\0';
	}
	free(body);
}

/* ---------------------------------------------------------------- tests */

static void t_source_profile(void **state)
{
	(void)state;
	write_file(cred_path, "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = basesecret\n");
	write_file(cfg_path, "[profile target]\nrole_arn = arn:aws:iam::111111111111:role/target\n"
		"source_profile = base\nexternal_id = ext-123\nrole_session_name = sess-one\n"
		"duration_seconds = 1800\n");
	s3i_credprov_env env = make_env();
	env.profile = "target";
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, NULL, NULL, NULL, NULL), 0);
	s3i_credentials c;
	get_ok(p, &c);
	assert_string_equal(c.source, "assume-role");
	assert_string_equal(c.account_id, "111111111111");
	assert_non_null(c.session_token);
	assert_true(c.expiration_ms > 0);
	char account[32];
	caller_account(&c, account, sizeof(account));
	assert_string_equal(account, "111111111111");
	s3i_credentials_free(&c);
	/* cached: a second get makes no STS call */
	get_ok(p, &c);
	s3i_credentials_free(&c);
	recorded r[4];
	assert_int_equal(recorded_calls("Action=AssumeRole&", r, 4), 1);
	assert_non_null(strstr(r[0].body, "RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Ftarget"));
	assert_non_null(strstr(r[0].body, "ExternalId=ext-123"));
	assert_non_null(strstr(r[0].body, "RoleSessionName=sess-one"));
	assert_non_null(strstr(r[0].body, "DurationSeconds=1800"));
	assert_non_null(strstr(r[0].body, "Version=2011-06-15"));
	assert_non_null(strstr(r[0].auth, "Credential=AKIDBASE/"));
	assert_non_null(strstr(r[0].auth, "/us-east-1/sts/aws4_request"));
	s3i_credprov_release(p);
}

static void t_chained_roles(void **state)
{
	(void)state;
	write_file(cfg_path,
		"[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n"
		"[profile mid]\nrole_arn = arn:aws:iam::222222222222:role/mid\nsource_profile = base\n"
		"[default]\nrole_arn = arn:aws:iam::333333333333:role/top\nsource_profile = mid\n");
	s3i_credprov_env env = make_env();
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, NULL, NULL, NULL, NULL), 0);
	s3i_credentials c;
	get_ok(p, &c);
	assert_string_equal(c.account_id, "333333333333");
	char account[32];
	caller_account(&c, account, sizeof(account));
	assert_string_equal(account, "333333333333");
	s3i_credentials_free(&c);
	recorded r[4];
	assert_int_equal(recorded_calls("Action=AssumeRole&", r, 4), 2);
	assert_non_null(strstr(r[0].body, "role%2Fmid"));
	assert_non_null(strstr(r[0].auth, "Credential=AKIDBASE/"));
	assert_non_null(strstr(r[1].body, "role%2Ftop"));
	assert_null(strstr(r[1].auth, "AKIDBASE"));         /* signed with mid's session keys */
	assert_non_null(strstr(r[1].body, "RoleSessionName=s3insights-"));
	s3i_credprov_release(p);
}

static void t_self_source_with_static_keys(void **state)
{
	(void)state;
	write_file(cfg_path, "[default]\naws_access_key_id = AKIDSELF\naws_secret_access_key = s\n"
		"role_arn = arn:aws:iam::444444444444:role/self\nsource_profile = default\n");
	s3i_credprov_env env = make_env();
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, NULL, NULL, NULL, NULL), 0);
	s3i_credentials c;
	get_ok(p, &c);
	assert_string_equal(c.source, "assume-role");
	assert_string_equal(c.account_id, "444444444444");
	s3i_credentials_free(&c);
	recorded r[2];
	assert_int_equal(recorded_calls("Action=AssumeRole&", r, 2), 1);
	assert_non_null(strstr(r[0].auth, "Credential=AKIDSELF/"));
	s3i_credprov_release(p);
}

static void t_cross_account_direct(void **state)
{
	(void)state;
	/* what the workflow does: its own credentials as the source, a role in another account */
	s3i_credprov *src = NULL;
	assert_int_equal(s3i_credprov_new_static(&src, s3i_test_alloc(), "AKIDWORKFLOW", "s", NULL, NULL), 0);
	s3i_credprov_env env = make_env();
	atomic_store(&fake_now, s3i_credprov_now_ms(src));
	env.clock = &fake_clock;
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_assume_role(&p, &env, src,
		"arn:aws:iam::555555555555:role/s3insights-audit", NULL, "tenant-42", 900, NULL), 0);
	s3i_credprov_release(src);   /* the provider keeps its own reference */
	s3i_credentials c;
	get_ok(p, &c);
	assert_string_equal(c.account_id, "555555555555");
	int64_t first_exp = c.expiration_ms;
	char account[32];
	caller_account(&c, account, sizeof(account));
	assert_string_equal(account, "555555555555");
	s3i_credentials_free(&c);
	get_ok(p, &c);
	s3i_credentials_free(&c);
	recorded r[4];
	assert_int_equal(recorded_calls("Action=AssumeRole&", r, 4), 1);
	assert_non_null(strstr(r[0].body, "ExternalId=tenant-42"));
	assert_non_null(strstr(r[0].body, "DurationSeconds=900"));
	/* a 15-minute session refreshes in its last quarter, not on every call */
	atomic_fetch_add(&fake_now, 10 * 60 * 1000);
	get_ok(p, &c);
	s3i_credentials_free(&c);
	assert_int_equal(recorded_calls("Action=AssumeRole&", NULL, 0), 1);
	if (first_exp > 0) {
		atomic_store(&fake_now, first_exp - 60 * 1000);
		get_ok(p, &c);
		s3i_credentials_free(&c);
		assert_int_equal(recorded_calls("Action=AssumeRole&", NULL, 0), 2);
	}
	/* invalidate forces a new session */
	s3i_credprov_invalidate(p);
	get_ok(p, &c);
	s3i_credentials_free(&c);
	assert_int_equal(recorded_calls("Action=AssumeRole&", NULL, 0), 3);
	s3i_credprov_release(p);
}

static void t_web_identity_env(void **state)
{
	(void)state;
	char token_path[600];
	snprintf(token_path, sizeof(token_path), "%s/token", tmpdir);
	write_file(token_path, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwb2QifQ.c2ln\n");
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_path, 1);
	setenv("AWS_ROLE_ARN", "arn:aws:iam::666666666666:role/web", 1);
	setenv("AWS_ROLE_SESSION_NAME", "pod-session", 1);
	s3i_credprov_env env = make_env();
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, NULL, NULL, NULL, NULL), 0);
	s3i_credentials c;
	get_ok(p, &c);
	assert_string_equal(c.source, "web-identity");
	assert_string_equal(c.account_id, "666666666666");
	assert_non_null(c.session_token);
	s3i_credentials_free(&c);
	get_ok(p, &c);
	s3i_credentials_free(&c);
	recorded r[2];
	assert_int_equal(recorded_calls("Action=AssumeRoleWithWebIdentity", r, 2), 1);
	assert_non_null(strstr(r[0].body, "WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwb2QifQ.c2ln"));
	assert_null(strstr(r[0].body, "%0A"));              /* the file's newline is not sent */
	assert_non_null(strstr(r[0].body, "RoleSessionName=pod-session"));
	assert_string_equal(r[0].auth, "");                  /* unsigned */
	s3i_credprov_release(p);
	unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	unsetenv("AWS_ROLE_ARN");
	unsetenv("AWS_ROLE_SESSION_NAME");
}

static void t_web_identity_profile(void **state)
{
	(void)state;
	char token_path[600], cfg[1200];
	snprintf(token_path, sizeof(token_path), "%s/token2", tmpdir);
	write_file(token_path, "profile-token");
	snprintf(cfg, sizeof(cfg), "[profile web]\nweb_identity_token_file = %s\n"
		"role_arn = arn:aws:iam::777777777777:role/webprof\n", token_path);
	write_file(cfg_path, cfg);
	setenv("AWS_PROFILE", "web", 1);
	s3i_credprov_env env = make_env();
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, NULL, NULL, NULL, NULL), 0);
	s3i_credentials c;
	get_ok(p, &c);
	assert_string_equal(c.source, "web-identity");
	assert_string_equal(c.account_id, "777777777777");
	s3i_credentials_free(&c);
	recorded r[2];
	assert_int_equal(recorded_calls("Action=AssumeRoleWithWebIdentity", r, 2), 1);
	assert_non_null(strstr(r[0].body, "WebIdentityToken=profile-token"));
	assert_non_null(strstr(r[0].body, "RoleSessionName=s3insights-"));
	s3i_credprov_release(p);
	unsetenv("AWS_PROFILE");
}

/* The chain's order around its STS sources (botocore's): environment, then a role_arn profile,
 * then web identity, then the shared credentials file; each wins only when the ones before
 * it have nothing. */
static void chain_source(const char *source, const char *akid_prefix)
{
	s3i_credprov_env env = make_env();
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, NULL, NULL, NULL, NULL), 0);
	s3i_credentials c;
	get_ok(p, &c);
	if (strcmp(c.source, source) || strncmp(c.access_key_id, akid_prefix, strlen(akid_prefix)))
		fail_msg("credentials from %s (%.8s...), want %s (%s...)", c.source, c.access_key_id,
			source, akid_prefix);
	s3i_credentials_free(&c);
	s3i_credprov_release(p);
}

static void t_chain_precedence(void **state)
{
	(void)state;
	char token_path[600];
	snprintf(token_path, sizeof(token_path), "%s/token3", tmpdir);
	write_file(token_path, "precedence-token");
	write_file(cred_path, "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n"
		"[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n");
	write_file(cfg_path, "[default]\nrole_arn = arn:aws:iam::121212121212:role/top\n"
		"source_profile = base\n");
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token_path, 1);
	setenv("AWS_ROLE_ARN", "arn:aws:iam::343434343434:role/web", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
	chain_source("env", "AKIDENV");
	assert_int_equal(recorded_calls("Action=AssumeRole", NULL, 0), 0);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	/* the role_arn profile beats web identity and the profile's own keys in the file */
	chain_source("assume-role", "");
	recorded r[2];
	assert_int_equal(recorded_calls("Action=AssumeRole&", r, 2), 1);
	assert_non_null(strstr(r[0].auth, "Credential=AKIDBASE/"));
	assert_int_equal(recorded_calls("Action=AssumeRoleWithWebIdentity", NULL, 0), 0);
	/* without the role: web identity beats the shared credentials file */
	write_file(cfg_path, "[default]\nregion = us-east-1\n");
	chain_source("web-identity", "");
	assert_int_equal(recorded_calls("Action=AssumeRoleWithWebIdentity", NULL, 0), 1);
	unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	unsetenv("AWS_ROLE_ARN");
	chain_source("shared-file", "AKIDFILE");
}

static void t_sts_errors_and_retries(void **state)
{
	(void)state;
	s3i_credprov *src = NULL;
	assert_int_equal(s3i_credprov_new_static(&src, s3i_test_alloc(), "AKIDX", "s", NULL, NULL), 0);
	s3i_credprov_env env = make_env();
	s3i_credprov *p = NULL;
	const char *arn = "arn:aws:iam::888888888888:role/denied";
	assert_int_equal(s3i_credprov_new_assume_role(&p, &env, src, arn, NULL, NULL, 0, NULL), 0);
	/* AccessDenied: S3I_EAUTH naming the role, no retry */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\": \"POST\", \"path\": \"^/$\", "
		"\"status\": 403, \"count\": 1, \"content_type\": \"text/xml\", \"body\": "
		"\"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is "
		"not authorized to perform: sts:AssumeRole</Message></Error><RequestId>req-1</RequestId>"
		"</ErrorResponse>\"}"), 0);
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_credprov_get(p, &c, &err), S3I_EAUTH);
	assert_non_null(strstr(err.message, arn));
	assert_non_null(strstr(err.message, "AccessDenied"));
	assert_string_equal(err.pub.aws_code, "AccessDenied");
	assert_int_equal(err.pub.http_status, 403);
	assert_string_equal(err.pub.resource, arn);
	/* two 500s, then success: retried within one get */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\": \"POST\", \"path\": \"^/$\", "
		"\"status\": 500, \"count\": 2}"), 0);
	get_ok(p, &c);
	assert_string_equal(c.account_id, "888888888888");
	s3i_credentials_free(&c);
	s3i_credprov_release(p);
	s3i_credprov_release(src);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/s3i_sts_XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	snprintf(cfg_path, sizeof(cfg_path), "%s/config", tmpdir);
	snprintf(cred_path, sizeof(cred_path), "%s/credentials", tmpdir);
	snprintf(rec_path, sizeof(rec_path), "MOTO_RECORDER_FILEPATH=%s/recording", tmpdir);
	const char *extra_env[] = { rec_path, NULL };
	if (s3i_moto_start(&moto, extra_env) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		STS_TEST(t_source_profile),
		STS_TEST(t_chained_roles),
		STS_TEST(t_self_source_with_static_keys),
		STS_TEST(t_cross_account_direct),
		STS_TEST(t_web_identity_env),
		STS_TEST(t_web_identity_profile),
		STS_TEST(t_chain_precedence),
		STS_TEST(t_sts_errors_and_retries),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return failed;
}
