/*
 * The credential providers and the default chain (src/aws/credentials*.c): explicit, env,
 * files, credential_process, precedence, container and IMDSv2 against the loopback server,
 * refresh with an injected clock, thread safety and the no-credentials error. STS sources
 * are covered against moto in tests/integration/test_credentials_sts.c.
 */
#include "test_alloc.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/config_file.h"
#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "core/str.h"
#include "loopback.h"

/* ---------------------------------------------------------------- environment */

static const char *const managed_env[] = {
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_ACCOUNT_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE",
	"AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
	"AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
	"AWS_METADATA_SERVICE_TIMEOUT", "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
	"AWS_EC2_METADATA_V1_DISABLED", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
	NULL
};
static char *saved_env[64];
static char tmpdir[256];
static char cfg_path[512], cred_path[512];

static void env_save(void)
{
	for (int i = 0; managed_env[i]; i++) {
		const char *v = getenv(managed_env[i]);
		saved_env[i] = v ? strdup(v) : NULL;
	}
}

static void env_restore(void)
{
	for (int i = 0; managed_env[i]; i++) {
		if (saved_env[i])
			setenv(managed_env[i], saved_env[i], 1);
		else
			unsetenv(managed_env[i]);
		free(saved_env[i]);
		saved_env[i] = NULL;
	}
}

/* Every test starts from here: nothing configured, both files empty, IMDS off. */
static void env_reset(void)
{
	for (int i = 0; managed_env[i]; i++)
		unsetenv(managed_env[i]);
	setenv("AWS_CONFIG_FILE", cfg_path, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unlink(cfg_path);
	unlink(cred_path);
}

static void write_file(const char *path, const char *content, int mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	if (mode)
		chmod(path, (mode_t)mode);
}

static const char *tmp_path(const char *name)
{
	static char buf[8][600];
	static int next;
	char *b = buf[next++ % 8];
	snprintf(b, 600, "%s/%s", tmpdir, name);
	return b;
}

/* ---------------------------------------------------------------- clock and logger */

static atomic_llong fake_now;
static int64_t fake_now_ms(void *user) { (void)user; return atomic_load(&fake_now); }
static void fake_sleep_ms(void *user, int64_t ms) { (void)user; (void)ms; }
static s3i_io_hooks fake_clock = { sizeof(s3i_io_hooks), NULL, fake_now_ms, fake_sleep_ms };
#define T0 1700000000000LL   /* 2023-11-14T22:13:20Z */

static char log_text[16384];
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static void capture_log(void *user, s3i_log_level level, const char *line)
{
	(void)user;
	(void)level;
	pthread_mutex_lock(&log_mu);
	size_t n = strlen(log_text);
	snprintf(log_text + n, sizeof(log_text) - n, "%s\n", line);
	pthread_mutex_unlock(&log_mu);
}
static s3i_logger test_logger = { capture_log, NULL, S3I_LOG_DEBUG };

static s3i_credprov_env make_env(void)
{
	s3i_credprov_env env;
	memset(&env, 0, sizeof(env));
	env.alloc = s3i_test_alloc();
	env.logger = &test_logger;
	env.region = "us-east-1";
	log_text[0] = '\0';
	return env;
}

/* Resolve the chain once; returns the status and fills c (freed by the caller). */
static int chain_get(const s3i_credprov_env *env, s3i_credentials *c, s3i_errinfo *err)
{
	s3i_credprov *p = NULL;
	int rc = s3i_credprov_new_chain(&p, env, NULL, NULL, NULL, err);
	assert_int_equal(rc, 0);
	rc = s3i_credprov_get(p, c, err);
	s3i_credprov_release(p);
	return rc;
}

static void expect_source(const s3i_credprov_env *env, const char *source, const char *akid)
{
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = chain_get(env, &c, &err);
	if (rc)
		fail_msg("expected %s credentials, got %d: %s", source, rc, err.message);
	assert_string_equal(c.source, source);
	assert_string_equal(c.access_key_id, akid);
	s3i_credentials_free(&c);
}

/* ---------------------------------------------------------------- simple sources */

static void t_credentials_copy_and_free(void **state)
{
	(void)state;
	env_reset();
	s3i_credentials a, b;
	s3i_credentials_init(&a, s3i_test_alloc());
	s3i_credentials_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_credentials_set(&a, "AK", "SK", "TOK", 42, "env", "123456789012"), 0);
	assert_int_equal(s3i_credentials_copy(&b, &a), 0);
	assert_string_equal(b.access_key_id, "AK");
	assert_string_equal(b.secret_access_key, "SK");
	assert_string_equal(b.session_token, "TOK");
	assert_int_equal(b.expiration_ms, 42);
	assert_string_equal(b.source, "env");
	assert_string_equal(b.account_id, "123456789012");
	s3i_credentials_free(&a);
	s3i_credentials_free(&b);
	assert_null(b.access_key_id);
	s3i_credentials_free(NULL);
}

static void t_explicit(void **state)
{
	(void)state;
	env_reset();
	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
	s3i_credprov_env env = make_env();
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, "AKEXPLICIT", "SKEXPLICIT", "TOK", NULL), 0);
	s3i_credentials c;
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.source, "explicit");
	assert_string_equal(c.access_key_id, "AKEXPLICIT");
	assert_string_equal(c.secret_access_key, "SKEXPLICIT");
	assert_string_equal(c.session_token, "TOK");
	assert_int_equal(c.expiration_ms, 0);
	s3i_credentials_free(&c);
	s3i_credprov_invalidate(p);
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.source, "explicit");
	s3i_credentials_free(&c);
	s3i_credprov_release(p);
	/* half of a pair is refused up front */
	p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, "AK", NULL, NULL, NULL), S3I_EINVALID);
	assert_null(p);
	/* no secrets in the log */
	assert_null(strstr(log_text, "SKEXPLICIT"));
}

static void t_static(void **state)
{
	(void)state;
	env_reset();
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_static(&p, s3i_test_alloc(), "AK", "SK", NULL, NULL), 0);
	assert_ptr_equal(s3i_credprov_acquire(p), p);
	s3i_credprov_release(p);
	s3i_credentials c;
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.source, "static");
	assert_null(c.session_token);
	s3i_credentials_free(&c);
	s3i_credprov_invalidate(p);
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.access_key_id, "AK");
	s3i_credentials_free(&c);
	s3i_credprov_release(p);
	s3i_credprov_release(NULL);
	assert_int_equal(s3i_credprov_new_static(&p, s3i_test_alloc(), "AK", "", NULL, NULL), S3I_EINVALID);
}

static void t_env(void **state)
{
	(void)state;
	env_reset();
	s3i_credprov_env env = make_env();
	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
	setenv("AWS_SECURITY_TOKEN", "LEGACY", 1);
	s3i_credentials c;
	assert_int_equal(chain_get(&env, &c, NULL), 0);
	assert_string_equal(c.source, "env");
	assert_string_equal(c.session_token, "LEGACY");
	s3i_credentials_free(&c);
	setenv("AWS_SESSION_TOKEN", "MODERN", 1);
	assert_int_equal(chain_get(&env, &c, NULL), 0);
	assert_string_equal(c.session_token, "MODERN");
	s3i_credentials_free(&c);
	assert_non_null(strstr(log_text, "env"));
	assert_null(strstr(log_text, "ENVSECRET"));
	assert_null(strstr(log_text, "MODERN"));
	/* a key without its secret is an error, not a fall-through */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	assert_non_null(strstr(err.message, "AWS_SECRET_ACCESS_KEY"));
}

static void t_env_skipped_for_explicit_profile(void **state)
{
	(void)state;
	env_reset();
	write_file(cred_path, "[work]\naws_access_key_id = FILEKEY\naws_secret_access_key = S\n", 0);
	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
	s3i_credprov_env env = make_env();
	/* AWS_PROFILE keeps the environment first ... */
	setenv("AWS_PROFILE", "work", 1);
	expect_source(&env, "env", "ENVKEY");
	/* ... a profile chosen by the caller skips it, as botocore does */
	env.profile = "work";
	expect_source(&env, "shared-file", "FILEKEY");
}

static void t_shared_file(void **state)
{
	(void)state;
	env_reset();
	write_file(cred_path,
		"# my keys\n[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n"
		"aws_security_token = FILETOKEN\naws_account_id = 123456789012\n", 0);
	s3i_credprov_env env = make_env();
	s3i_credentials c;
	assert_int_equal(chain_get(&env, &c, NULL), 0);
	assert_string_equal(c.source, "shared-file");
	assert_string_equal(c.access_key_id, "FILEKEY");
	assert_string_equal(c.secret_access_key, "FILESECRET");
	assert_string_equal(c.session_token, "FILETOKEN");
	assert_string_equal(c.account_id, "123456789012");
	s3i_credentials_free(&c);
	/* a key without a secret names the file and the profile */
	write_file(cred_path, "[default]\naws_access_key_id = FILEKEY\n", 0);
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	assert_non_null(strstr(err.message, "aws_secret_access_key"));
	assert_non_null(strstr(err.message, cred_path));
}

static void t_config_file(void **state)
{
	(void)state;
	env_reset();
	write_file(cfg_path, "[default]\nregion = eu-west-1\naws_access_key_id = CFGKEY\n"
		"aws_secret_access_key = CFGSECRET\naws_session_token = CFGTOKEN\n", 0);
	s3i_credprov_env env = make_env();
	s3i_credentials c;
	assert_int_equal(chain_get(&env, &c, NULL), 0);
	assert_string_equal(c.source, "config-file");
	assert_string_equal(c.access_key_id, "CFGKEY");
	assert_string_equal(c.session_token, "CFGTOKEN");
	s3i_credentials_free(&c);
	/* given profiles are used instead of loading the files */
	const char *text = "[profile x]\naws_access_key_id = GIVEN\naws_secret_access_key = S\n";
	s3i_profile_set *ps = NULL;
	assert_int_equal(s3i_profiles_parse(&ps, s3i_test_alloc(), text, strlen(text), 1, NULL), 0);
	env.profiles = ps;
	env.profile = "x";
	expect_source(&env, "config-file", "GIVEN");
	s3i_profiles_free(ps);
}

static void t_profile_selection(void **state)
{
	(void)state;
	env_reset();
	write_file(cred_path,
		"[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = S\n"
		"[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = S\n", 0);
	write_file(cfg_path, "[profile prod]\naws_access_key_id = PRODKEY\naws_secret_access_key = S\n", 0);
	s3i_credprov_env env = make_env();
	expect_source(&env, "shared-file", "DEFKEY");
	setenv("AWS_DEFAULT_PROFILE", "prod", 1);
	expect_source(&env, "config-file", "PRODKEY");
	setenv("AWS_PROFILE", "dev", 1);
	expect_source(&env, "shared-file", "DEVKEY");
	env.profile = "prod";
	expect_source(&env, "config-file", "PRODKEY");
	/* a named profile that exists nowhere is an error naming it */
	env.profile = "nosuch";
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	assert_non_null(strstr(err.message, "'nosuch' not found"));
}

/* ---------------------------------------------------------------- credential_process */

/* A script printing the contents of out.json and counting its runs in calls. */
static const char *process_script(void)
{
	const char *script = tmp_path("creds.sh");
	char text[1024];
	snprintf(text, sizeof(text), "#!/bin/sh\necho run >> '%s/calls'\ncat '%s/out.json'\n",
		tmpdir, tmpdir);
	write_file(script, text, 0755);
	unlink(tmp_path("calls"));
	return script;
}

static int process_calls(void)
{
	FILE *f = fopen(tmp_path("calls"), "r");
	if (!f)
		return 0;
	int n = 0;
	char line[64];
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

static void set_process_profile(const char *command)
{
	char text[1200];
	snprintf(text, sizeof(text), "[default]\ncredential_process = %s\n", command);
	write_file(cfg_path, text, 0);
}

static void t_process(void **state)
{
	(void)state;
	env_reset();
	const char *script = process_script();
	write_file(tmp_path("out.json"), "{\"Version\": 1, \"AccessKeyId\": \"PROCKEY\", "
		"\"SecretAccessKey\": \"PROCSECRET\", \"SessionToken\": \"PROCTOKEN\", "
		"\"Expiration\": \"2099-01-01T00:00:00Z\", \"AccountId\": \"210987654321\"}\n", 0);
	set_process_profile(script);
	s3i_credprov_env env = make_env();
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, NULL, NULL, NULL, NULL), 0);
	s3i_credentials c;
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.source, "process");
	assert_string_equal(c.access_key_id, "PROCKEY");
	assert_string_equal(c.secret_access_key, "PROCSECRET");
	assert_string_equal(c.session_token, "PROCTOKEN");
	assert_string_equal(c.account_id, "210987654321");
	int64_t want;
	assert_int_equal(s3i_time_parse_iso8601("2099-01-01T00:00:00Z", &want), 0);
	assert_int_equal(c.expiration_ms, want);
	s3i_credentials_free(&c);
	/* cached: a second get does not run the command again */
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	s3i_credentials_free(&c);
	assert_int_equal(process_calls(), 1);
	/* invalidate runs it again */
	s3i_credprov_invalidate(p);
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	s3i_credentials_free(&c);
	assert_int_equal(process_calls(), 2);
	s3i_credprov_release(p);
	assert_null(strstr(log_text, "PROCSECRET"));
}

static void t_process_no_expiration_and_shell(void **state)
{
	(void)state;
	env_reset();
	/* run through /bin/sh -c: quoting and pipes work */
	set_process_profile("printf '%s' '{\"Version\":1,\"AccessKeyId\":\"A B\",' && "
		"echo '\"SecretAccessKey\":\"S\"}' | cat");
	s3i_credprov_env env = make_env();
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = chain_get(&env, &c, &err);
	if (rc)
		fail_msg("%s", err.message);
	assert_string_equal(c.access_key_id, "A B");
	assert_null(c.session_token);
	assert_int_equal(c.expiration_ms, 0);
	s3i_credentials_free(&c);
}

static void expect_process_error(const char *command, int64_t timeout_ms, const char *needle,
	const char *forbidden)
{
	set_process_profile(command);
	s3i_credprov_env env = make_env();
	env.process_timeout_ms = timeout_ms;
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	if (!strstr(err.message, needle))
		fail_msg("'%s' not in '%s'", needle, err.message);
	assert_non_null(strstr(err.message, "profile 'default'"));
	if (forbidden)
		assert_null(strstr(err.message, forbidden));
	assert_null(strstr(log_text, "TOPSECRET"));
}

static void t_process_failures(void **state)
{
	(void)state;
	env_reset();
	expect_process_error("echo 'aws_secret_access_key=TOPSECRET failed' >&2; exit 3",
		0, "exited with status 3", "TOPSECRET");
	expect_process_error("echo 'token expired, run aws sso login' >&2; exit 1", 0,
		"run aws sso login", NULL);
	expect_process_error("echo not json", 0, "did not print a JSON document", NULL);
	expect_process_error("echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}'",
		0, "Version", NULL);
	expect_process_error("echo '{\"Version\": 1, \"AccessKeyId\": \"A\"}'", 0,
		"no AccessKeyId/SecretAccessKey", NULL);
	expect_process_error("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
		"\"Expiration\": \"yesterday\"}'", 0, "invalid Expiration", NULL);
	expect_process_error("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
		"\"Expiration\": \"2001-01-01T00:00:00Z\"}'", 0, "expired", NULL);
	expect_process_error("kill -9 $$", 0, "killed by signal 9", NULL);
	expect_process_error("/nonexistent/helper", 0, "exited with status 127", NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_process_error("sleep 5", 300, "did not finish within 300 ms", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 3);
}

static void t_process_expiry_refresh(void **state)
{
	(void)state;
	env_reset();
	atomic_store(&fake_now, T0);
	const char *script = process_script();
	char exp[25], json[512];
	s3i_time_iso8601(exp, T0 + 3600 * 1000);
	snprintf(json, sizeof(json), "{\"Version\":1,\"AccessKeyId\":\"GEN1\",\"SecretAccessKey\":\"S\","
		"\"Expiration\":\"%s\"}", exp);
	write_file(tmp_path("out.json"), json, 0);
	set_process_profile(script);
	s3i_credprov_env env = make_env();
	env.clock = &fake_clock;
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, NULL, NULL, NULL, NULL), 0);
	s3i_credentials c;
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.access_key_id, "GEN1");
	s3i_credentials_free(&c);
	/* 40 minutes later: still outside the 15-minute window */
	atomic_store(&fake_now, T0 + 40 * 60 * 1000);
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	s3i_credentials_free(&c);
	assert_int_equal(process_calls(), 1);
	/* 50 minutes: inside the window, refreshed */
	s3i_time_iso8601(exp, T0 + 2 * 3600 * 1000);
	snprintf(json, sizeof(json), "{\"Version\":1,\"AccessKeyId\":\"GEN2\",\"SecretAccessKey\":\"S\","
		"\"Expiration\":\"%s\"}", exp);
	write_file(tmp_path("out.json"), json, 0);
	atomic_store(&fake_now, T0 + 50 * 60 * 1000);
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.access_key_id, "GEN2");
	s3i_credentials_free(&c);
	assert_int_equal(process_calls(), 2);
	/* a failing refresh keeps the still-valid credentials and says so at WARN */
	write_file(tmp_path("out.json"), "broken", 0);
	atomic_store(&fake_now, T0 + 110 * 60 * 1000);
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.access_key_id, "GEN2");
	s3i_credentials_free(&c);
	assert_int_equal(process_calls(), 3);
	assert_non_null(strstr(log_text, "using the cached ones"));
	/* ... and does not retry at once */
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	s3i_credentials_free(&c);
	assert_int_equal(process_calls(), 3);
	/* once they have expired the failure is reported */
	atomic_store(&fake_now, T0 + 121 * 60 * 1000);
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_credprov_get(p, &c, &err), S3I_EAUTH);
	assert_non_null(strstr(err.message, "JSON"));
	s3i_credprov_release(p);
}

/* ---------------------------------------------------------------- precedence */

static void t_precedence(void **state)
{
	(void)state;
	env_reset();
	const char *script = process_script();
	write_file(tmp_path("out.json"), "{\"Version\":1,\"AccessKeyId\":\"PROCKEY\",\"SecretAccessKey\":\"S\"}", 0);
	char cfg[1024];
	snprintf(cfg, sizeof(cfg), "[default]\naws_access_key_id = CFGKEY\naws_secret_access_key = S\n"
		"credential_process = %s\n", script);
	write_file(cfg_path, cfg, 0);
	write_file(cred_path, "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = S\n", 0);
	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
	s3i_credprov_env env = make_env();
	expect_source(&env, "env", "ENVKEY");
	unsetenv("AWS_ACCESS_KEY_ID");
	expect_source(&env, "shared-file", "FILEKEY");
	write_file(cred_path, "[default]\nregion = x\n", 0);
	/* botocore runs credential_process before the config file's keys */
	expect_source(&env, "process", "PROCKEY");
	write_file(cfg_path, "[default]\naws_access_key_id = CFGKEY\naws_secret_access_key = S\n", 0);
	expect_source(&env, "config-file", "CFGKEY");
	/* explicit beats everything */
	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, "EXPL", "S", NULL, NULL), 0);
	s3i_credentials c;
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.source, "explicit");
	s3i_credentials_free(&c);
	s3i_credprov_release(p);
}

static void t_invalidate_rereads_files(void **state)
{
	(void)state;
	env_reset();
	write_file(cred_path, "[default]\naws_access_key_id = OLD\naws_secret_access_key = S\n", 0);
	s3i_credprov_env env = make_env();
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, NULL, NULL, NULL, NULL), 0);
	s3i_credentials c;
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.access_key_id, "OLD");
	s3i_credentials_free(&c);
	write_file(cred_path, "[default]\naws_access_key_id = NEW\naws_secret_access_key = S\n", 0);
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.access_key_id, "OLD");
	s3i_credentials_free(&c);
	s3i_credprov_invalidate(p);
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_string_equal(c.access_key_id, "NEW");
	s3i_credentials_free(&c);
	s3i_credprov_release(p);
}

/* ---------------------------------------------------------------- assume-role configuration */

static void expect_config_error(const char *cfg, const char *needle)
{
	write_file(cfg_path, cfg, 0);
	s3i_credprov_env env = make_env();
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	if (!strstr(err.message, needle))
		fail_msg("'%s' not in '%s'", needle, err.message);
}

static void t_assume_role_config_errors(void **state)
{
	(void)state;
	env_reset();
	const char *arn = "role_arn = arn:aws:iam::111122223333:role/r\n";
	char cfg[1024];
	snprintf(cfg, sizeof(cfg), "[default]\n%ssource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/u\n"
		"[profile base]\naws_access_key_id = A\naws_secret_access_key = S\n", arn);
	expect_config_error(cfg, "MFA is not supported");
	snprintf(cfg, sizeof(cfg), "[default]\n%ssource_profile = base\ncredential_source = Environment\n"
		"[profile base]\naws_access_key_id = A\naws_secret_access_key = S\n", arn);
	expect_config_error(cfg, "both source_profile and credential_source");
	snprintf(cfg, sizeof(cfg), "[default]\n%s", arn);
	expect_config_error(cfg, "neither source_profile nor credential_source");
	snprintf(cfg, sizeof(cfg), "[default]\n%ssource_profile = ghost\n", arn);
	expect_config_error(cfg, "source_profile 'ghost' referenced in profile 'default' does not exist");
	snprintf(cfg, sizeof(cfg), "[default]\n%ssource_profile = a\n[profile a]\n%ssource_profile = b\n"
		"[profile b]\n%ssource_profile = a\n", arn, arn, arn);
	expect_config_error(cfg, "loop");
	snprintf(cfg, sizeof(cfg), "[default]\n%ssource_profile = default\n", arn);
	expect_config_error(cfg, "loop");
	snprintf(cfg, sizeof(cfg), "[default]\n%ssource_profile = empty\n[profile empty]\nregion = x\n", arn);
	expect_config_error(cfg, "has no credentials");
	snprintf(cfg, sizeof(cfg), "[default]\n%scredential_source = Somewhere\n", arn);
	expect_config_error(cfg, "credential_source 'Somewhere'");
	snprintf(cfg, sizeof(cfg), "[default]\n%scredential_source = Environment\n", arn);
	expect_config_error(cfg, "credential_source Environment has no credentials");
	snprintf(cfg, sizeof(cfg), "[default]\n%ssource_profile = base\nduration_seconds = 12\n"
		"[profile base]\naws_access_key_id = A\naws_secret_access_key = S\n", arn);
	expect_config_error(cfg, "duration_seconds");
	write_file(cfg_path, "", 0);
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/token", 1);
	expect_config_error("", "no role ARN");
	unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
}

/* ---------------------------------------------------------------- no credentials */

static void t_no_credentials(void **state)
{
	(void)state;
	env_reset();
	s3i_credprov_env env = make_env();
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	const char *need[] = { "no AWS credentials found", "profile 'default'", "environment",
		"assume-role", "web identity", "shared credentials file", cred_path, "credential_process",
		"config file", cfg_path, "container", "EC2 instance metadata", "AWS_EC2_METADATA_DISABLED" };
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!strstr(err.message, need[i]))
			fail_msg("'%s' not in '%s'", need[i], err.message);
	assert_int_equal(err.pub.code, S3I_EAUTH);
	assert_int_equal(s3i_error_last()->code, S3I_EAUTH);
}

/* ---------------------------------------------------------------- loopback: container and IMDS */

typedef struct server_state {
	atomic_int token_puts, role_gets, cred_gets, container_gets;
	atomic_llong last_expiration_ms;   /* of the credentials handed out last */
	atomic_int fail_5xx;          /* answer 500 this many times first */
	int token_status;             /* 0: 200 */
	int role_status;              /* 0: 200 */
	int require_token;            /* GETs without the token header get 401 */
	int expire_after_ms;          /* credential lifetime from the fake clock; 0: one hour */
	char last_auth[256];
	char last_ttl[64];
	char last_token_hdr[128];
	char body[2048];              /* per-response scratch, guarded by mu */
	pthread_mutex_t mu;
} server_state;

static server_state srv = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void header_value(const s3i_lb_request *req, const char *name, char *out, size_t cap)
{
	out[0] = '\0';
	size_t nl = strlen(name);
	for (const char *p = req->headers; p && *p;) {
		const char *eol = strstr(p, "\r\n");
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = ll - (size_t)(v - p);
			if (vl >= cap)
				vl = cap - 1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return;
		}
		p = eol ? eol + 2 : NULL;
	}
}

static void creds_body(server_state *s, const char *key, s3i_lb_response *resp, int with_code)
{
	char exp[25];
	int64_t life = s->expire_after_ms ? s->expire_after_ms : 3600 * 1000;
	int64_t expires = atomic_load(&fake_now) + life;
	s3i_time_iso8601(exp, expires);
	atomic_store(&s->last_expiration_ms, expires / 1000 * 1000);   /* ISO 8601 has seconds */
	pthread_mutex_lock(&s->mu);
	static _Thread_local char body[1024];
	snprintf(body, sizeof(body), "{%s\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"LBSECRET\","
		"\"Token\":\"LBTOKEN\",\"Expiration\":\"%s\"}", with_code ? "\"Code\":\"Success\"," : "",
		key, exp);
	pthread_mutex_unlock(&s->mu);
	resp->body = body;
	resp->body_len = strlen(body);
}

static void handler(void *user, const s3i_lb_request *req, s3i_lb_response *resp)
{
	server_state *s = user;
	if (atomic_load(&s->fail_5xx) > 0) {
		atomic_fetch_sub(&s->fail_5xx, 1);
		resp->status = 500;
		return;
	}
	char tok[128];
	header_value(req, "X-aws-ec2-metadata-token", tok, sizeof(tok));
	if (!strcmp(req->method, "PUT") && !strcmp(req->target, "/latest/api/token")) {
		atomic_fetch_add(&s->token_puts, 1);
		header_value(req, "X-aws-ec2-metadata-token-ttl-seconds", s->last_ttl, sizeof(s->last_ttl));
		resp->status = s->token_status ? s->token_status : 200;
		resp->body = "IMDSTOKEN";
		resp->body_len = 9;
		return;
	}
	if (!strcmp(req->target, "/latest/meta-data/iam/security-credentials/")) {
		atomic_fetch_add(&s->role_gets, 1);
		snprintf(s->last_token_hdr, sizeof(s->last_token_hdr), "%s", tok);
		if (s->require_token && strcmp(tok, "IMDSTOKEN")) {
			resp->status = 401;
			return;
		}
		resp->status = s->role_status ? s->role_status : 200;
		resp->body = "my-role\n";
		resp->body_len = 8;
		return;
	}
	if (!strcmp(req->target, "/latest/meta-data/iam/security-credentials/my-role")) {
		atomic_fetch_add(&s->cred_gets, 1);
		if (s->require_token && strcmp(tok, "IMDSTOKEN")) {
			resp->status = 401;
			return;
		}
		creds_body(s, "IMDSKEY", resp, 1);
		return;
	}
	if (!strcmp(req->target, "/creds")) {
		atomic_fetch_add(&s->container_gets, 1);
		header_value(req, "Authorization", s->last_auth, sizeof(s->last_auth));
		creds_body(s, "CONTAINERKEY", resp, 0);
		return;
	}
	resp->status = 404;
}

static s3i_loopback *lb;

static void server_reset(void)
{
	atomic_store(&srv.token_puts, 0);
	atomic_store(&srv.role_gets, 0);
	atomic_store(&srv.cred_gets, 0);
	atomic_store(&srv.container_gets, 0);
	atomic_store(&srv.last_expiration_ms, 0);
	atomic_store(&srv.fail_5xx, 0);
	srv.token_status = 0;
	srv.role_status = 0;
	srv.require_token = 1;
	srv.expire_after_ms = 0;
	srv.last_auth[0] = srv.last_ttl[0] = srv.last_token_hdr[0] = '\0';
	atomic_store(&fake_now, T0);
	if (!lb)
		assert_int_equal(s3i_loopback_start(&lb, handler, &srv), 0);
}

static void t_container_allowed_hosts(void **state)
{
	(void)state;
	env_reset();
	const char *ok[] = { "http://127.0.0.1:8080/creds", "http://127.1.2.3/x", "http://localhost/x",
		"http://[::1]:9/x", "http://169.254.170.2/v2/credentials", "http://169.254.170.23/v1/x",
		"http://[fd00:ec2::23]/x", "https://example.com/creds", "HTTPS://example.com/",
		"http://user@127.0.0.1/x" };
	const char *bad[] = { "http://example.com/creds", "http://169.254.169.254/x",
		"http://10.0.0.1/x", "ftp://127.0.0.1/x", "http://127.0.0.1.evil.com/x", "file:///etc/passwd",
		"http://[fd00:ec2::24]/x", "" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!s3i_container_url_allowed(ok[i]))
			fail_msg("%s should be allowed", ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (s3i_container_url_allowed(bad[i]))
			fail_msg("%s should be refused", bad[i]);
	/* RELATIVE_URI always goes to 169.254.170.2 and wins over FULL_URI */
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/x", 1);
	s3i_buf url;
	s3i_buf_init(&url, s3i_test_alloc());
	assert_int_equal(s3i_container_url(&url, NULL), 0);
	assert_string_equal(s3i_buf_cstr(&url), "http://169.254.170.2/v2/credentials/abc");
	s3i_buf_dispose(&url);
	/* a FULL_URI that is not allowed is an error of the chain */
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds", 1);
	s3i_credprov_env env = make_env();
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	assert_non_null(strstr(err.message, "not allowed"));
}

static void t_container(void **state)
{
	(void)state;
	env_reset();
	server_reset();
	char url[128];
	snprintf(url, sizeof(url), "%s/creds", s3i_loopback_url(lb));
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic abc", 1);
	s3i_credprov_env env = make_env();
	env.clock = &fake_clock;
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = chain_get(&env, &c, &err);
	if (rc)
		fail_msg("%s", err.message);
	assert_string_equal(c.source, "container");
	assert_string_equal(c.access_key_id, "CONTAINERKEY");
	assert_string_equal(c.session_token, "LBTOKEN");
	assert_int_equal(c.expiration_ms, T0 + 3600 * 1000);
	s3i_credentials_free(&c);
	assert_string_equal(srv.last_auth, "Basic abc");
	/* the token file wins and is read on every fetch */
	write_file(tmp_path("ctoken"), "eks-pod-identity-token\n", 0);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tmp_path("ctoken"), 1);
	assert_int_equal(chain_get(&env, &c, NULL), 0);
	s3i_credentials_free(&c);
	assert_string_equal(srv.last_auth, "eks-pod-identity-token");
	/* 5xx answers are retried */
	atomic_store(&srv.fail_5xx, 2);
	assert_int_equal(chain_get(&env, &c, NULL), 0);
	s3i_credentials_free(&c);
	assert_int_equal(atomic_load(&srv.container_gets), 3);
	/* a token with a line break inside is refused */
	write_file(tmp_path("ctoken"), "a\nb", 0);
	s3i_errinfo_init(&err);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	assert_non_null(strstr(err.message, "line break"));
	/* a missing token file is an error */
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tmp_path("nosuch"), 1);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	/* a 404 from the endpoint is an error, not a fall-through */
	snprintf(url, sizeof(url), "%s/elsewhere", s3i_loopback_url(lb));
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	assert_int_equal(err.pub.http_status, 404);
	assert_null(strstr(log_text, "LBSECRET"));
}

static void use_imds(void)
{
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", s3i_loopback_url(lb), 1);
}

/* The end of the chain: the files and credential_process beat the container endpoint, which
 * beats instance metadata; each only when the ones before it have nothing. (The STS sources'
 * places, assume-role and web identity, are checked against moto in test_credentials_sts.) */
static void t_precedence_late_sources(void **state)
{
	(void)state;
	env_reset();
	server_reset();
	use_imds();
	s3i_credprov_env env = make_env();
	env.clock = &fake_clock;
	char url[128];
	snprintf(url, sizeof(url), "%s/creds", s3i_loopback_url(lb));
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	write_file(cfg_path, "[default]\naws_access_key_id = CFGKEY\naws_secret_access_key = S\n", 0);
	write_file(cred_path, "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = S\n", 0);
	expect_source(&env, "shared-file", "FILEKEY");
	write_file(cred_path, "", 0);
	expect_source(&env, "config-file", "CFGKEY");
	write_file(cfg_path, "[default]\nregion = eu-west-1\n", 0);
	expect_source(&env, "container", "CONTAINERKEY");
	assert_int_equal(atomic_load(&srv.cred_gets), 0);        /* IMDS not even asked */
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	expect_source(&env, "imds", "IMDSKEY");
	assert_int_equal(atomic_load(&srv.container_gets), 1);
}

static void t_imds(void **state)
{
	(void)state;
	env_reset();
	server_reset();
	use_imds();
	s3i_credprov_env env = make_env();
	env.clock = &fake_clock;
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, NULL, NULL, NULL, NULL), 0);
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_credprov_get(p, &c, &err);
	if (rc)
		fail_msg("%s", err.message);
	assert_string_equal(c.source, "imds");
	assert_string_equal(c.access_key_id, "IMDSKEY");
	assert_string_equal(c.secret_access_key, "LBSECRET");
	assert_string_equal(c.session_token, "LBTOKEN");
	assert_int_equal(c.expiration_ms, T0 + 3600 * 1000);
	s3i_credentials_free(&c);
	assert_int_equal(atomic_load(&srv.token_puts), 1);
	assert_int_equal(atomic_load(&srv.role_gets), 1);
	assert_int_equal(atomic_load(&srv.cred_gets), 1);
	assert_string_equal(srv.last_ttl, "21600");
	assert_string_equal(srv.last_token_hdr, "IMDSTOKEN");
	/* cached until 15 minutes before expiry */
	atomic_store(&fake_now, T0 + 44 * 60 * 1000);
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	s3i_credentials_free(&c);
	assert_int_equal(atomic_load(&srv.cred_gets), 1);
	atomic_store(&fake_now, T0 + 46 * 60 * 1000);
	assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
	assert_int_equal(c.expiration_ms, T0 + 46 * 60 * 1000 + 3600 * 1000);
	s3i_credentials_free(&c);
	assert_int_equal(atomic_load(&srv.token_puts), 2);
	assert_int_equal(atomic_load(&srv.cred_gets), 2);
	s3i_credprov_release(p);
	assert_null(strstr(log_text, "LBSECRET"));
	assert_null(strstr(log_text, "IMDSTOKEN"));
}

static void t_imds_v1_fallback_and_errors(void **state)
{
	(void)state;
	env_reset();
	server_reset();
	use_imds();
	s3i_credprov_env env = make_env();
	env.clock = &fake_clock;
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	/* token endpoint 404 (IMDSv1 only): the GETs go without a token */
	srv.token_status = 404;
	srv.require_token = 0;
	int rc = chain_get(&env, &c, &err);
	if (rc)
		fail_msg("%s", err.message);
	assert_string_equal(c.source, "imds");
	s3i_credentials_free(&c);
	assert_string_equal(srv.last_token_hdr, "");
	/* ... unless IMDSv1 is disabled */
	setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	assert_non_null(strstr(err.message, "IMDSv1 is disabled"));
	unsetenv("AWS_EC2_METADATA_V1_DISABLED");
	/* no role: the chain reports no credentials, naming the instance metadata answer */
	srv.token_status = 0;
	srv.require_token = 1;
	srv.role_status = 404;
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	assert_non_null(strstr(err.message, "no AWS credentials found"));
	assert_non_null(strstr(err.message, "no IAM role"));
	/* a rejected token (401) */
	srv.role_status = 401;
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	assert_non_null(strstr(err.message, "401"));
	/* 5xx is retried when more attempts are configured */
	srv.role_status = 0;
	atomic_store(&srv.fail_5xx, 1);
	setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "2", 1);
	assert_int_equal(chain_get(&env, &c, &err), 0);
	s3i_credentials_free(&c);
	/* AWS_EC2_METADATA_DISABLED wins */
	setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
	int before = atomic_load(&srv.token_puts);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	assert_int_equal(atomic_load(&srv.token_puts), before);
}

static void t_imds_unreachable_is_quick(void **state)
{
	(void)state;
	env_reset();
	unsetenv("AWS_EC2_METADATA_DISABLED");
	/* a port nobody listens on: refused at once; the chain still ends in "no credentials" */
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
	s3i_credprov_env env = make_env();
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(chain_get(&env, &c, &err), S3I_EAUTH);
	assert_non_null(strstr(err.message, "EC2 instance metadata"));
}

static void t_credential_source_imds(void **state)
{
	(void)state;
	env_reset();
	server_reset();
	use_imds();
	/* the AssumeRole fails against a dead STS endpoint, after the source credentials were
	 * fetched from IMDS */
	write_file(cfg_path, "[default]\nrole_arn = arn:aws:iam::111122223333:role/r\n"
		"credential_source = Ec2InstanceMetadata\n", 0);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
	s3i_credprov_env env = make_env();
	env.clock = &fake_clock;
	s3i_credentials c;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(chain_get(&env, &c, &err), S3I_ENETWORK);
	assert_non_null(strstr(err.message, "arn:aws:iam::111122223333:role/r"));
	assert_int_equal(atomic_load(&srv.cred_gets), 1);
}

/* ---------------------------------------------------------------- threads */

typedef struct worker {
	s3i_credprov *p;
	atomic_int *stop;
	int failures;
	long gets;
} worker;

static void *worker_main(void *arg)
{
	worker *w = arg;
	while (!atomic_load(w->stop)) {
		s3i_credentials c;
		s3i_errinfo err;
		s3i_errinfo_init(&err);
		if (s3i_credprov_get(w->p, &c, &err) != 0 || strcmp(c.access_key_id, "IMDSKEY"))
			w->failures++;
		else
			s3i_credentials_free(&c);
		w->gets++;
		sched_yield();   /* 8 threads on 2 cores: leave the server and the fetcher some CPU */
	}
	return NULL;
}

/* Wait (without a deadline that load could break; only a hang guard) until the provider
 * hands out the credentials the server issued last, i.e. the refresh has completed. */
static void wait_refreshed(s3i_credprov *p, int fetches)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	for (long spin = 0;; spin++) {
		if (spin > 60L * 500)
			fail_msg("no refresh after 60 s (%d fetches seen, %d wanted)",
				atomic_load(&srv.cred_gets), fetches);
		if (atomic_load(&srv.cred_gets) >= fetches) {
			s3i_credentials c;
			assert_int_equal(s3i_credprov_get(p, &c, NULL), 0);
			int64_t exp = c.expiration_ms;
			s3i_credentials_free(&c);
			if (exp == atomic_load(&srv.last_expiration_ms))
				return;
		}
		nanosleep(&ts, NULL);
	}
}

/* Eight threads share one IMDS provider while the clock moves into the refresh window again
 * and again: each window costs exactly one fetch, and no thread ever sees an error. The clock
 * only moves once the previous refresh is complete, so the count depends on no timing. */
static void t_threads_one_fetch_per_window(void **state)
{
	(void)state;
	env_reset();
	server_reset();
	use_imds();
	/* a loaded machine (ASan, parallel tests) must not turn into an IMDS timeout */
	setenv("AWS_METADATA_SERVICE_TIMEOUT", "60", 1);
	s3i_credprov_env env = make_env();
	env.clock = &fake_clock;
	s3i_credprov *p = NULL;
	assert_int_equal(s3i_credprov_new_chain(&p, &env, NULL, NULL, NULL, NULL), 0);
	atomic_int stop = 0;
	worker w[8];
	pthread_t th[8];
	for (int i = 0; i < 8; i++) {
		w[i] = (worker){ p, &stop, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	const int windows = 6;
	wait_refreshed(p, 1);       /* the first fetch, before the clock moves */
	for (int k = 1; k <= windows; k++) {
		/* 50 minutes on: inside the refresh window of the hour-long credentials */
		atomic_fetch_add(&fake_now, 50 * 60 * 1000);
		wait_refreshed(p, k + 1);
	}
	atomic_store(&stop, 1);
	long gets = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
		gets += w[i].gets;
	}
	if (atomic_load(&srv.cred_gets) != windows + 1)
		fprintf(stderr, "LOG:\n%s\n", log_text);
	assert_int_equal(atomic_load(&srv.cred_gets), windows + 1);
	assert_int_equal(atomic_load(&srv.token_puts), windows + 1);
	assert_true(gets >= windows + 1);   /* a worker started each fetch */
	s3i_credprov_release(p);
}

/* ---------------------------------------------------------------- main */

int main(void)
{
	env_save();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/s3i_creds_XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cfg_path, sizeof(cfg_path), "%s/config", tmpdir);
	snprintf(cred_path, sizeof(cred_path), "%s/credentials", tmpdir);
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_credentials_copy_and_free),
		S3I_TEST(t_explicit),
		S3I_TEST(t_static),
		S3I_TEST(t_env),
		S3I_TEST(t_env_skipped_for_explicit_profile),
		S3I_TEST(t_shared_file),
		S3I_TEST(t_config_file),
		S3I_TEST(t_profile_selection),
		S3I_TEST(t_process),
		S3I_TEST(t_process_no_expiration_and_shell),
		S3I_TEST(t_process_failures),
		S3I_TEST(t_process_expiry_refresh),
		S3I_TEST(t_precedence),
		S3I_TEST(t_invalidate_rereads_files),
		S3I_TEST(t_assume_role_config_errors),
		S3I_TEST(t_no_credentials),
		S3I_TEST(t_container_allowed_hosts),
		S3I_TEST(t_container),
		S3I_TEST(t_imds),
		S3I_TEST(t_imds_v1_fallback_and_errors),
		S3I_TEST(t_imds_unreachable_is_quick),
		S3I_TEST(t_credential_source_imds),
		S3I_TEST(t_precedence_late_sources),
		S3I_TEST(t_threads_one_fetch_per_window),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (lb)
		s3i_loopback_stop(lb);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	env_restore();
	return failed;
}
