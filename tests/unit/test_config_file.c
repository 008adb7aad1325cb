/* The shared config/credentials file parser (src/aws/config_file.c). */
#include "test_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/config_file.h"
#include "core/alloc.h"

static s3i_profile_set *parse(const char *text, int is_config)
{
	s3i_profile_set *p = NULL;
	assert_int_equal(s3i_profiles_parse(&p, s3i_test_alloc(), text, strlen(text), is_config, NULL), 0);
	assert_non_null(p);
	return p;
}

#define assert_get(p, prof, key, want) do { \
	const char *got_ = s3i_profiles_get((p), (prof), (key)); \
	if ((want) == NULL) assert_null(got_); \
	else { assert_non_null(got_); assert_string_equal(got_, (want)); } \
} while (0)

static void t_basic_config(void **state)
{
	(void)state;
	s3i_profile_set *p = parse(
		"[default]\n"
		"region = us-west-2\n"
		"output=json\n"
		"\n"
		"[profile dev]\n"
		"region = eu-west-1\n"
		"role_arn = arn:aws:iam::123456789012:role/dev\n", 1);
	assert_get(p, "default", "region", "us-west-2");
	assert_get(p, "default", "output", "json");
	assert_get(p, "dev", "region", "eu-west-1");
	assert_get(p, "dev", "role_arn", "arn:aws:iam::123456789012:role/dev");
	assert_get(p, "dev", "output", NULL);
	assert_true(s3i_profiles_has(p, "dev"));
	assert_false(s3i_profiles_has(p, "profile dev"));
	assert_false(s3i_profiles_has(p, "nope"));
	s3i_profiles_free(p);
}

static void t_config_requires_profile_prefix(void **state)
{
	(void)state;
	/* in the config file "[dev]" is not a profile; in credentials it is */
	s3i_profile_set *p = parse("[dev]\nregion = a\n[profile  prod]\nregion = b\n", 1);
	assert_false(s3i_profiles_has(p, "dev"));
	assert_get(p, "dev", "region", NULL);
	assert_get(p, "prod", "region", "b");
	s3i_profiles_free(p);
	p = parse("[dev]\nregion = a\n[profile prod]\nregion = b\n", 0);
	assert_get(p, "dev", "region", "a");
	assert_get(p, "profile prod", "region", "b");
	assert_get(p, "prod", "region", NULL);
	s3i_profiles_free(p);
}

static void t_profile_default_both_forms(void **state)
{
	(void)state;
	s3i_profile_set *p = parse("[profile default]\nregion = a\n[default]\noutput = text\n", 1);
	assert_get(p, "default", "region", "a");
	assert_get(p, "default", "output", "text");
	s3i_profiles_free(p);
}

static void t_quoted_profile_names(void **state)
{
	(void)state;
	s3i_profile_set *p = parse(
		"[profile \"my profile\"]\nregion = a\n"
		"[profile 'single q']\nregion = b\n"
		"[profile a b]\nregion = c\n"          /* three words: ignored as botocore does */
		"[profile \"unterminated]\nregion = d\n", 1);
	assert_get(p, "my profile", "region", "a");
	assert_get(p, "single q", "region", "b");
	assert_false(s3i_profiles_has(p, "a"));
	assert_false(s3i_profiles_has(p, "a b"));
	assert_false(s3i_profiles_has(p, "\"unterminated"));
	s3i_profiles_free(p);
}

static void t_comments(void **state)
{
	(void)state;
	s3i_profile_set *p = parse(
		"# leading comment\n"
		"; another\n"
		"[default] # header comment\n"
		"  # indented comment\n"
		"region = us-east-1 # trailing\n"
		"output = json ;trailing\n"
		"hash = a#b\n"
		"semi = a;b\n"
		"tab = x\t# tab comment\n"
		"url = http://h/#frag\n", 1);
	assert_get(p, "default", "region", "us-east-1");
	assert_get(p, "default", "output", "json");
	assert_get(p, "default", "hash", "a#b");
	assert_get(p, "default", "semi", "a;b");
	assert_get(p, "default", "tab", "x");
	assert_get(p, "default", "url", "http://h/#frag");
	s3i_profiles_free(p);
}

static void t_crlf_and_cr(void **state)
{
	(void)state;
	s3i_profile_set *p = parse("[default]\r\nregion = a\r\noutput = b\r\n[profile x]\rregion = c\r", 1);
	assert_get(p, "default", "region", "a");
	assert_get(p, "default", "output", "b");
	assert_get(p, "x", "region", "c");
	s3i_profiles_free(p);
}

static void t_bom(void **state)
{
	(void)state;
	s3i_profile_set *p = parse("\xEF\xBB\xBF[default]\naws_access_key_id = AKID\n", 0);
	assert_get(p, "default", "aws_access_key_id", "AKID");
	s3i_profiles_free(p);
}

static void t_duplicate_keys_last_wins(void **state)
{
	(void)state;
	s3i_profile_set *p = parse(
		"[default]\nregion = a\nregion = b\n[profile x]\nk = 1\n[default]\nregion = c\nother = d\n", 1);
	assert_get(p, "default", "region", "c");
	assert_get(p, "default", "other", "d");
	assert_get(p, "x", "k", "1");
	s3i_profiles_free(p);
}

static void t_empty_values(void **state)
{
	(void)state;
	s3i_profile_set *p = parse("[default]\nregion =\noutput = \nk=\n", 1);
	assert_get(p, "default", "region", "");
	assert_get(p, "default", "output", "");
	assert_get(p, "default", "k", "");
	s3i_profiles_free(p);
}

static void t_nested(void **state)
{
	(void)state;
	s3i_profile_set *p = parse(
		"[default]\n"
		"s3 =\n"
		"  addressing_style = path\n"
		"  Max_Concurrent_Requests=20\n"
		"\n"
		"  signature_version = s3v4 # comment\n"
		"region = us-east-1\n"
		"[profile other]\n"
		"s3 =\n"
		"    addressing_style = virtual\n", 1);
	assert_string_equal(s3i_profiles_get_sub(p, "default", "s3", "addressing_style"), "path");
	assert_string_equal(s3i_profiles_get_sub(p, "default", "s3", "Max_Concurrent_Requests"), "20");
	assert_string_equal(s3i_profiles_get_sub(p, "default", "s3", "signature_version"), "s3v4");
	assert_null(s3i_profiles_get_sub(p, "default", "s3", "max_concurrent_requests"));
	assert_null(s3i_profiles_get_sub(p, "default", "dynamodb", "x"));
	assert_get(p, "default", "s3", "");
	assert_get(p, "default", "region", "us-east-1");
	assert_get(p, "default", "addressing_style", NULL);
	assert_string_equal(s3i_profiles_get_sub(p, "other", "s3", "addressing_style"), "virtual");
	s3i_profiles_free(p);
}

static void t_nested_redefined_replaces(void **state)
{
	(void)state;
	s3i_profile_set *p = parse(
		"[default]\ns3 =\n  a = 1\n  b = 2\ns3 =\n  a = 3\n", 1);
	assert_string_equal(s3i_profiles_get_sub(p, "default", "s3", "a"), "3");
	assert_null(s3i_profiles_get_sub(p, "default", "s3", "b"));
	s3i_profiles_free(p);
}

static void t_multiline_value(void **state)
{
	(void)state;
	/* a non-empty first line makes a plain multi-line value, not a sub-section */
	s3i_profile_set *p = parse("[default]\nk = first\n  second\n\n  third\n\nn = 1\n", 1);
	assert_get(p, "default", "k", "first\nsecond\n\nthird");
	assert_get(p, "default", "n", "1");
	s3i_profiles_free(p);
}

static void t_malformed_lines(void **state)
{
	(void)state;
	s3i_profile_set *p = parse(
		"orphan = before any section\n"
		"[default]\n"
		"just some words\n"
		"= no key\n"
		"region = a\n"
		"[]\n"
		"stolen = 1\n"
		"[profile broken\n"
		"aws_secret_access_key = must-not-land-in-default\n"
		"[profile ok]\n"
		"region = b\n", 1);
	assert_get(p, "default", "region", "a");
	assert_get(p, "default", "orphan", NULL);
	assert_get(p, "default", "stolen", NULL);
	assert_get(p, "default", "aws_secret_access_key", NULL);
	assert_get(p, "ok", "region", "b");
	s3i_profiles_free(p);
}

static void t_colon_delimiter_and_spaces(void **state)
{
	(void)state;
	s3i_profile_set *p = parse(
		"[default]\n"
		"region: eu-central-1\n"
		"role_arn = arn:aws:iam::1:role/r\n"
		"key with spaces = v\n"
		"eq = a=b=c\n"
		"\t deeper = continues eq\n"
		"[profile x]\n"
		"  first = indented key\n"
		"  second = same indent\n", 1);
	assert_get(p, "default", "region", "eu-central-1");
	assert_get(p, "default", "role_arn", "arn:aws:iam::1:role/r");
	assert_get(p, "default", "key with spaces", "v");
	/* a deeper-indented line continues the previous value (configparser) */
	assert_get(p, "default", "eq", "a=b=c\ndeeper = continues eq");
	assert_get(p, "x", "first", "indented key");
	assert_get(p, "x", "second", "same indent");
	s3i_profiles_free(p);
}

static void t_keys_case_insensitive(void **state)
{
	(void)state;
	s3i_profile_set *p = parse("[Default]\nx = 1\n[default]\nAWS_Access_Key_ID = AK\n", 0);
	assert_get(p, "default", "aws_access_key_id", "AK");
	assert_get(p, "default", "AWS_ACCESS_KEY_ID", "AK");
	assert_get(p, "Default", "x", "1");
	assert_get(p, "default", "x", NULL);        /* section names stay case-sensitive */
	s3i_profiles_free(p);
}

static void t_sso_and_services_sections(void **state)
{
	(void)state;
	s3i_profile_set *p = parse(
		"[profile dev]\n"
		"sso_session = corp\n"
		"services = local\n"
		"[sso-session corp]\n"
		"sso_region = us-east-1\n"
		"sso_start_url = https://corp.awsapps.com/start\n"
		"[services local]\n"
		"s3 =\n"
		"  endpoint_url = http://127.0.0.1:5000\n"
		"sts =\n"
		"  endpoint_url = http://127.0.0.1:5001\n", 1);
	assert_get(p, "dev", "services", "local");
	assert_get(p, "sso-session corp", "sso_region", "us-east-1");
	assert_string_equal(s3i_profiles_get_sub(p, "services local", "s3", "endpoint_url"),
		"http://127.0.0.1:5000");
	assert_string_equal(s3i_profiles_get_sub(p, "services local", "sts", "endpoint_url"),
		"http://127.0.0.1:5001");
	assert_false(s3i_profiles_has(p, "corp"));
	assert_false(s3i_profiles_has(p, "local"));
	s3i_profiles_free(p);
}

static void t_defaults_section(void **state)
{
	(void)state;
	s3i_profile_set *p = parse("[DEFAULT]\nregion = d\n[profile a]\nx = 1\n[profile b]\nregion = own\n", 1);
	assert_get(p, "a", "region", "d");
	assert_get(p, "b", "region", "own");
	assert_false(s3i_profiles_has(p, "DEFAULT"));
	assert_get(p, "missing", "region", NULL);   /* only sections that exist inherit */
	s3i_profiles_free(p);
}

static void t_credentials_merge_over_config(void **state)
{
	(void)state;
	s3i_profile_set *p = parse("[profile dev]\nregion = cfg\naws_access_key_id = CFGKEY\n", 1);
	const char *creds = "[dev]\naws_access_key_id = CREDKEY\naws_secret_access_key = S\n";
	assert_int_equal(s3i_profiles_add_text(p, S3I_PROFILES_CREDENTIALS, creds, strlen(creds), NULL), 0);
	assert_int_equal(s3i_profiles_add_text(p, S3I_PROFILES_CREDENTIALS, creds, strlen(creds), NULL),
		S3I_EINVALID);
	assert_get(p, "dev", "aws_access_key_id", "CREDKEY");
	assert_get(p, "dev", "region", "cfg");
	assert_string_equal(s3i_profiles_get_in(p, S3I_PROFILES_CONFIG, "dev", "aws_access_key_id"), "CFGKEY");
	assert_null(s3i_profiles_get_in(p, S3I_PROFILES_CREDENTIALS, "dev", "region"));
	assert_true(s3i_profiles_has_in(p, S3I_PROFILES_CREDENTIALS, "dev"));
	assert_null(s3i_profiles_path(p, S3I_PROFILES_CONFIG));
	s3i_profiles_free(p);
}

static void t_null_and_empty(void **state)
{
	(void)state;
	s3i_profile_set *p = NULL;
	assert_int_equal(s3i_profiles_parse(&p, s3i_test_alloc(), NULL, 0, 1, NULL), 0);
	assert_false(s3i_profiles_has(p, "default"));
	assert_null(s3i_profiles_get(p, "default", "region"));
	s3i_profiles_free(p);
	p = parse("", 1);
	assert_null(s3i_profiles_get(p, NULL, "region"));
	s3i_profiles_free(p);
	assert_null(s3i_profiles_get(NULL, "default", "region"));
	s3i_profiles_free(NULL);
}

static void t_embedded_nul(void **state)
{
	(void)state;
	static const char text[] = "[default]\nregion = a\0b\nk = v\n";
	s3i_profile_set *p = NULL;
	assert_int_equal(s3i_profiles_parse(&p, s3i_test_alloc(), text, sizeof(text) - 1, 1, NULL), 0);
	assert_get(p, "default", "k", "v");
	s3i_profiles_free(p);
}

static void t_profile_name_env(void **state)
{
	(void)state;
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_DEFAULT_PROFILE");
	assert_string_equal(s3i_profile_name(NULL), "default");
	setenv("AWS_DEFAULT_PROFILE", "dp", 1);
	assert_string_equal(s3i_profile_name(NULL), "dp");
	setenv("AWS_PROFILE", "p", 1);
	assert_string_equal(s3i_profile_name(NULL), "p");
	assert_string_equal(s3i_profile_name(""), "p");
	assert_string_equal(s3i_profile_name("x"), "x");
	setenv("AWS_PROFILE", "", 1);
	assert_string_equal(s3i_profile_name(NULL), "dp");
	s3i_profile_set *p = parse("[profile dp]\nregion = r\n", 1);
	assert_get(p, NULL, "region", "r");
	s3i_profiles_free(p);
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_DEFAULT_PROFILE");
}

static void t_expand_path(void **state)
{
	(void)state;
	const s3i_allocator *a = s3i_test_alloc();
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", "/home/tester/", 1);
	setenv("S3I_CF_TEST_DIR", "/etc/x", 1);
	struct { const char *in, *want; } cases[] = {
		{ "~/.aws/config", "/home/tester/.aws/config" },
		{ "~", "/home/tester" },
		{ "$S3I_CF_TEST_DIR/config", "/etc/x/config" },
		{ "${S3I_CF_TEST_DIR}/c", "/etc/x/c" },
		{ "$S3I_CF_UNSET_VAR/c", "$S3I_CF_UNSET_VAR/c" },
		{ "${unterminated", "${unterminated" },
		{ "/abs/~/x", "/abs/~/x" },
		{ "~no_such_user_s3i/x", "~no_such_user_s3i/x" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = s3i_expand_path(a, cases[i].in);
		assert_non_null(got);
		assert_string_equal(got, cases[i].want);
		s3i_free(a, got);
	}
	if (old_home) {
		setenv("HOME", old_home, 1);
		free(old_home);
	} else {
		unsetenv("HOME");
	}
	unsetenv("S3I_CF_TEST_DIR");
}

static char *write_temp(const char *content)
{
	char tmpl[] = "/tmp/s3i_cf_XXXXXX";
	int fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return strdup(tmpl);
}

static void t_load_files_from_env(void **state)
{
	(void)state;
	char *cfg = write_temp("[profile dev]\nregion = eu-west-3\n[default]\nregion = r0\n");
	char *cred = write_temp("[dev]\naws_access_key_id = AK\naws_secret_access_key = SK\n");
	setenv("AWS_CONFIG_FILE", cfg, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
	s3i_profile_set *p = NULL;
	assert_int_equal(s3i_profiles_load(&p, s3i_test_alloc(), NULL), 0);
	assert_get(p, "dev", "region", "eu-west-3");
	assert_get(p, "dev", "aws_secret_access_key", "SK");
	assert_get(p, "default", "region", "r0");
	assert_string_equal(s3i_profiles_path(p, S3I_PROFILES_CONFIG), cfg);
	assert_string_equal(s3i_profiles_path(p, S3I_PROFILES_CREDENTIALS), cred);
	s3i_profiles_free(p);
	unlink(cfg);
	unlink(cred);
	free(cfg);
	free(cred);
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
}

static void t_load_missing_files(void **state)
{
	(void)state;
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/tmp", 1);  /* a directory counts as missing */
	s3i_profile_set *p = NULL;
	assert_int_equal(s3i_profiles_load(&p, s3i_test_alloc(), NULL), 0);
	assert_false(s3i_profiles_has(p, "default"));
	s3i_profiles_free(p);
	/* unset: the home directory is used */
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", "/nonexistent-home", 1);
	unsetenv("AWS_CONFIG_FILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	assert_int_equal(s3i_profiles_load(&p, s3i_test_alloc(), NULL), 0);
	assert_string_equal(s3i_profiles_path(p, S3I_PROFILES_CONFIG), "/nonexistent-home/.aws/config");
	assert_string_equal(s3i_profiles_path(p, S3I_PROFILES_CREDENTIALS),
		"/nonexistent-home/.aws/credentials");
	s3i_profiles_free(p);
	if (old_home) {
		setenv("HOME", old_home, 1);
		free(old_home);
	}
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
}

static void t_oom(void **state)
{
	(void)state;
	const char *text = "[default]\nregion = a\ns3 =\n  x = 1\n[profile \"b c\"]\nk = v\n  more\n"
		"[services s]\nsts =\n  endpoint_url = u\n";
	for (long n = 0; n < 200; n++) {
		s3i_test_alloc_fail_after(n);
		s3i_profile_set *p = NULL;
		int rc = s3i_profiles_parse(&p, s3i_test_alloc(), text, strlen(text), 1, NULL);
		s3i_test_alloc_fail_after(-1);
		if (rc == 0) {
			assert_get(p, "b c", "k", "v\nmore");
			assert_string_equal(s3i_profiles_get_sub(p, "services s", "sts", "endpoint_url"), "u");
			s3i_profiles_free(p);
			return;
		}
		assert_int_equal(rc, S3I_ENOMEM);
		assert_null(p);
		assert_int_equal(s3i_test_alloc_outstanding(), 0);
	}
	fail_msg("parse never succeeded");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_basic_config),
		S3I_TEST(t_config_requires_profile_prefix),
		S3I_TEST(t_profile_default_both_forms),
		S3I_TEST(t_quoted_profile_names),
		S3I_TEST(t_comments),
		S3I_TEST(t_crlf_and_cr),
		S3I_TEST(t_bom),
		S3I_TEST(t_duplicate_keys_last_wins),
		S3I_TEST(t_empty_values),
		S3I_TEST(t_nested),
		S3I_TEST(t_nested_redefined_replaces),
		S3I_TEST(t_multiline_value),
		S3I_TEST(t_malformed_lines),
		S3I_TEST(t_colon_delimiter_and_spaces),
		S3I_TEST(t_keys_case_insensitive),
		S3I_TEST(t_sso_and_services_sections),
		S3I_TEST(t_defaults_section),
		S3I_TEST(t_credentials_merge_over_config),
		S3I_TEST(t_null_and_empty),
		S3I_TEST(t_embedded_nul),
		S3I_TEST(t_profile_name_env),
		S3I_TEST(t_expand_path),
		S3I_TEST(t_load_files_from_env),
		S3I_TEST(t_load_missing_files),
		S3I_TEST(t_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
