/*
 * The moto test harness itself (tests/support/moto.c, tests/moto_launcher.py): start and
 * reuse, reset, fault injection, signature-checking mode, stop. Raw libcurl calls only.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <cmocka.h>

#include "moto.h"
#include "test_alloc.h"

static s3i_moto *moto;

static int group_setup(void **state)
{
	(void)state;
	return s3i_moto_start(&moto, NULL);
}

static int reset_setup(void **state)
{
	s3i_test_alloc_setup(state);
	return s3i_moto_reset(moto);
}

/* A signed S3 call with curl's own SigV4; keys NULL = the dummy "testing" pair. */
static int s3(const char *method, const char *path, const char *ak, const char *sk, char **body)
{
	s3i_moto_req req = { .method = method, .path = path, .service = "s3",
		.access_key_id = ak, .secret_access_key = sk };
	int status = -1;
	assert_int_equal(s3i_moto_call(moto, &req, body, &status), 0);
	return status;
}

static void test_start_reuses_server_and_sets_env(void **state)
{
	(void)state;
	s3i_moto *again = NULL;
	assert_int_equal(s3i_moto_start(&again, NULL), 0);
	assert_ptr_equal(again, moto);
	assert_true(s3i_moto_port(moto) > 0);
	assert_true(s3i_moto_pid(moto) > 0);
	assert_string_equal(getenv("AWS_ENDPOINT_URL"), s3i_moto_url(moto));
	assert_string_equal(getenv("AWS_ACCESS_KEY_ID"), "testing");
	assert_string_equal(getenv("AWS_SECRET_ACCESS_KEY"), "testing");
	assert_string_equal(getenv("AWS_REGION"), "us-east-1");
	assert_null(getenv("AWS_SESSION_TOKEN"));
	assert_null(getenv("AWS_PROFILE"));

	char *body = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/moto-api/config", NULL, NULL, &body, &status), 0);
	assert_int_equal(status, 201);
	free(body);
}

static void test_reset_clears_buckets(void **state)
{
	(void)state;
	char *body = NULL;
	assert_int_equal(s3("PUT", "/harness-bucket", NULL, NULL, NULL), 200);
	assert_int_equal(s3("GET", "/", NULL, NULL, &body), 200);
	assert_non_null(strstr(body, "<Name>harness-bucket</Name>"));
	free(body);

	assert_int_equal(s3i_moto_reset(moto), 0);
	assert_int_equal(s3("GET", "/", NULL, NULL, &body), 200);
	assert_null(strstr(body, "harness-bucket"));
	free(body);
}

static void test_fault_is_served_then_consumed(void **state)
{
	(void)state;
	char *body = NULL;
	assert_int_equal(s3("PUT", "/fault-bucket", NULL, NULL, NULL), 200);
	assert_int_equal(s3i_moto_add_fault(moto,
		"{\"method\":\"GET\",\"path\":\"^/fault-bucket$\",\"status\":503,\"count\":1,"
		"\"headers\":{\"Retry-After\":\"0\"},"
		"\"body\":\"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>\"}"), 0);

	assert_int_equal(s3("GET", "/fault-bucket", NULL, NULL, &body), 503);
	assert_non_null(strstr(body, "<Code>SlowDown</Code>"));
	free(body);
	assert_int_equal(s3("GET", "/fault-bucket", NULL, NULL, NULL), 200);   /* consumed */
	assert_int_equal(s3("GET", "/", NULL, NULL, NULL), 200);                /* never matched */

	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/_fault", NULL, NULL, &body, &status), 0);
	assert_int_equal(status, 200);
	assert_non_null(strstr(body, "\"count\": 0"));
	free(body);

	assert_int_equal(s3i_moto_clear_faults(moto), 0);
	assert_int_equal(s3i_moto_http(moto, "GET", "/_fault", NULL, NULL, &body, &status), 0);
	assert_string_equal(body, "[]");
	free(body);

	/* Query-protocol calls all POST to "/": rules pick them by service and Action. The
	 * non-matching rule reads the form body, which moto must still see. */
	assert_int_equal(s3i_moto_add_fault(moto,
		"[{\"service\":\"sts\",\"action\":\"AssumeRole\",\"status\":500},"
		" {\"service\":\"sts\",\"region\":\"eu-west-1\",\"status\":500},"
		" {\"service\":\"sts\",\"action\":\"GetCallerIdentity\",\"status\":400,"
		"  \"content_type\":\"text/xml\",\"body\":\"<ErrorResponse><Error><Code>Throttling</Code>"
		"</Error></ErrorResponse>\"}]"), 0);
	s3i_moto_req sts = { .method = "POST", .path = "/", .service = "sts",
		.content_type = "application/x-www-form-urlencoded; charset=utf-8",
		.body = "Action=GetCallerIdentity&Version=2011-06-15" };
	assert_int_equal(s3i_moto_call(moto, &sts, &body, &status), 0);
	assert_int_equal(status, 400);
	assert_non_null(strstr(body, "Throttling"));
	free(body);
	assert_int_equal(s3i_moto_call(moto, &sts, &body, &status), 0);
	assert_int_equal(status, 200);
	assert_non_null(strstr(body, "<Account>123456789012</Account>"));
	free(body);
	assert_int_equal(s3i_moto_clear_faults(moto), 0);

	/* A malformed rule is refused, not stored. */
	assert_int_equal(s3i_moto_http(moto, "POST", "/_fault", "application/json", "[1]", &body,
		&status), 0);
	assert_int_equal(status, 400);
	free(body);
}

static void test_auth_mode_checks_signatures_until_reset(void **state)
{
	(void)state;
	char ak[64], sk[128], *body = NULL;
	assert_int_equal(s3i_moto_enable_auth(moto, ak, sk), 0);
	assert_int_equal(strncmp(ak, "AKIA", 4), 0);
	assert_true(strlen(sk) >= 20);

	assert_int_equal(s3("PUT", "/auth-bucket", ak, sk, NULL), 200);
	assert_int_equal(s3("GET", "/", ak, sk, &body), 200);
	assert_non_null(strstr(body, "auth-bucket"));
	free(body);

	assert_int_equal(s3("GET", "/", NULL, NULL, &body), 403);           /* dummy key */
	assert_non_null(strstr(body, "InvalidAccessKeyId"));
	free(body);
	assert_int_equal(s3("GET", "/", ak, "wrong-secret", &body), 403);   /* bad signature */
	assert_non_null(strstr(body, "SignatureDoesNotMatch"));
	free(body);
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/auth-bucket", NULL, NULL, &body, &status), 0);
	assert_int_equal(status, 403);          /* unsigned (stock moto: 500; the launcher fixes it) */
	assert_non_null(strstr(body, "AccessDenied"));
	free(body);

	/* Query protocol too: STS knows the new user. */
	s3i_moto_req sts = { .method = "POST", .path = "/", .service = "sts",
		.access_key_id = ak, .secret_access_key = sk,
		.content_type = "application/x-www-form-urlencoded; charset=utf-8",
		.body = "Action=GetCallerIdentity&Version=2011-06-15" };
	assert_int_equal(s3i_moto_call(moto, &sts, &body, &status), 0);
	assert_int_equal(status, 200);
	assert_non_null(strstr(body, ":user/ci<"));
	free(body);

	assert_int_equal(s3i_moto_reset(moto), 0);
	assert_int_equal(s3("GET", "/", NULL, NULL, NULL), 200);            /* checking is off */
	assert_int_equal(s3("GET", "/", "AKIAUNKNOWN", "whatever", NULL), 200);
}

static void xml_text(const char *xml, const char *tag, char *out, size_t len)
{
	char otag[64];
	snprintf(otag, sizeof otag, "<%s>", tag);
	const char *a = strstr(xml, otag);
	assert_non_null(a);
	a += strlen(otag);
	const char *b = strchr(a, '<');
	assert_non_null(b);
	assert_true((size_t)(b - a) < len);
	memcpy(out, a, (size_t)(b - a));
	out[b - a] = '\0';
}

static void test_signed_call_with_session_token(void **state)
{
	(void)state;
	char ak[64], sk[128], token[1024], *body = NULL;
	int status = 0;
	s3i_moto_req assume = { .method = "POST", .path = "/", .service = "sts",
		.content_type = "application/x-www-form-urlencoded; charset=utf-8",
		.body = "Action=AssumeRole&Version=2011-06-15&RoleSessionName=harness"
			"&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fmember" };
	assert_int_equal(s3i_moto_call(moto, &assume, &body, &status), 0);
	assert_int_equal(status, 200);
	xml_text(body, "AccessKeyId", ak, sizeof ak);
	xml_text(body, "SecretAccessKey", sk, sizeof sk);
	xml_text(body, "SessionToken", token, sizeof token);
	free(body);

	/* moto maps assumed-role keys to the role's account. */
	s3i_moto_req who = { .method = "POST", .path = "/", .service = "sts",
		.access_key_id = ak, .secret_access_key = sk, .session_token = token,
		.content_type = "application/x-www-form-urlencoded; charset=utf-8",
		.body = "Action=GetCallerIdentity&Version=2011-06-15" };
	assert_int_equal(s3i_moto_call(moto, &who, &body, &status), 0);
	assert_int_equal(status, 200);
	assert_non_null(strstr(body, "arn:aws:sts::111122223333:assumed-role/member/harness"));
	free(body);
}

static void test_stop_leaves_no_process(void **state)
{
	(void)state;
	pid_t pid = (pid_t)s3i_moto_pid(moto);
	assert_true(pid > 0);
	assert_int_equal(kill(pid, 0), 0);
	s3i_moto_stop(moto);
	errno = 0;
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(s3i_moto_pid(moto), 0);
	s3i_moto_stop(moto);   /* twice is harmless */
	s3i_moto_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* the harness uses no library memory; the leak check is here as in every test */
		S3I_TEST(test_start_reuses_server_and_sets_env),
		cmocka_unit_test_setup_teardown(test_reset_clears_buckets, reset_setup, s3i_test_alloc_teardown),
		cmocka_unit_test_setup_teardown(test_fault_is_served_then_consumed, reset_setup,
			s3i_test_alloc_teardown),
		cmocka_unit_test_setup_teardown(test_auth_mode_checks_signatures_until_reset, reset_setup,
			s3i_test_alloc_teardown),
		cmocka_unit_test_setup_teardown(test_signed_call_with_session_token, reset_setup,
			s3i_test_alloc_teardown),
		S3I_TEST(test_stop_leaves_no_process),
	};
	return cmocka_run_group_tests_name("integration/moto_harness", tests, group_setup, NULL);
}
