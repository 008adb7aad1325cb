/* Endpoints, regions and S3 addressing (src/aws/endpoint.c). */
#include "test_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/config_file.h"
#include "aws/endpoint.h"
#include "core/errinfo.h"

/* ------------------------------------------------------------------ environment */

static const char *const env_names[] = {
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SES",
	"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE",
	"AWS_SHARED_CREDENTIALS_FILE", NULL
};
static char *saved_env[32];
static int saved_set[32];

static int env_save(void **state)
{
	(void)state;
	for (int i = 0; env_names[i]; i++) {
		const char *v = getenv(env_names[i]);
		saved_set[i] = v != NULL;
		saved_env[i] = v ? strdup(v) : NULL;
	}
	return 0;
}

static int env_restore(void **state)
{
	(void)state;
	for (int i = 0; env_names[i]; i++) {
		if (saved_set[i])
			setenv(env_names[i], saved_env[i], 1);
		else
			unsetenv(env_names[i]);
		free(saved_env[i]);
		saved_env[i] = NULL;
	}
	return 0;
}

/* Every test starts from a clean slate, whatever the previous one left behind. */
static void env_clean(void)
{
	for (int i = 0; env_names[i]; i++)
		unsetenv(env_names[i]);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
}

static char config_path[256];

/* Write a config file, point AWS_CONFIG_FILE at it and load the profiles. */
static s3i_profile_set *load_config(const char *text)
{
	snprintf(config_path, sizeof(config_path), "/tmp/s3i-test-endpoint-XXXXXX");
	int fd = mkstemp(config_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	setenv("AWS_CONFIG_FILE", config_path, 1);
	s3i_profile_set *p = NULL;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_profiles_load(&p, s3i_test_alloc(), &err), S3I_OK);
	assert_non_null(p);
	unlink(config_path);
	return p;
}

/* ------------------------------------------------------------------ helpers */

static s3i_endpoint ep;

static const s3i_endpoint *resolve(const char *service, const char *region, const char *url,
	const s3i_profile_set *profiles, const char *profile)
{
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_endpoint_resolve(&ep, service, region, url, profiles, profile, &err);
	if (rc)
		fail_msg("resolve(%s, %s): %d %s", service, region ? region : "(null)", rc, err.message);
	return &ep;
}

#define assert_endpoint(service, region, want_base, want_host, want_custom) do { \
	const s3i_endpoint *e_ = resolve((service), (region), NULL, NULL, NULL); \
	assert_string_equal(e_->base, (want_base)); \
	assert_string_equal(e_->host, (want_host)); \
	assert_int_equal(e_->is_custom, (want_custom)); \
} while (0)

/* ------------------------------------------------------------------ standard endpoints */

static void t_standard_endpoints(void **state)
{
	(void)state;
	env_clean();
	assert_endpoint("s3", "us-east-1", "https://s3.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com", 0);
	assert_true(ep.is_https);
	assert_endpoint("dynamodb", "eu-west-1", "https://dynamodb.eu-west-1.amazonaws.com",
		"dynamodb.eu-west-1.amazonaws.com", 0);
	assert_endpoint("sts", "ap-southeast-2", "https://sts.ap-southeast-2.amazonaws.com",
		"sts.ap-southeast-2.amazonaws.com", 0);
	assert_endpoint("sqs", "us-gov-west-1", "https://sqs.us-gov-west-1.amazonaws.com",
		"sqs.us-gov-west-1.amazonaws.com", 0);
	/* China has its own DNS suffix */
	assert_endpoint("s3", "cn-north-1", "https://s3.cn-north-1.amazonaws.com.cn",
		"s3.cn-north-1.amazonaws.com.cn", 0);
	assert_endpoint("athena", "cn-northwest-1", "https://athena.cn-northwest-1.amazonaws.com.cn",
		"athena.cn-northwest-1.amazonaws.com.cn", 0);
	/* SES v1 is "email" */
	assert_endpoint("email", "eu-west-1", "https://email.eu-west-1.amazonaws.com",
		"email.eu-west-1.amazonaws.com", 0);
	/* global services */
	assert_endpoint("organizations", "eu-west-1", "https://organizations.us-east-1.amazonaws.com",
		"organizations.us-east-1.amazonaws.com", 0);
	assert_endpoint("organizations", "us-east-1", "https://organizations.us-east-1.amazonaws.com",
		"organizations.us-east-1.amazonaws.com", 0);
	assert_endpoint("organizations", "cn-north-1",
		"https://organizations.cn-northwest-1.amazonaws.com.cn",
		"organizations.cn-northwest-1.amazonaws.com.cn", 0);
	assert_endpoint("organizations", "us-gov-east-1",
		"https://organizations.us-gov-west-1.amazonaws.com",
		"organizations.us-gov-west-1.amazonaws.com", 0);
	assert_endpoint("iam", "eu-central-1", "https://iam.amazonaws.com", "iam.amazonaws.com", 0);
	assert_endpoint("iam", "cn-north-1", "https://iam.cn-north-1.amazonaws.com.cn",
		"iam.cn-north-1.amazonaws.com.cn", 0);
	assert_endpoint("iam", "us-gov-west-1", "https://iam.us-gov.amazonaws.com",
		"iam.us-gov.amazonaws.com", 0);
}

/* Global services sign in their partition's region (botocore's credentialScope), also
 * behind a custom endpoint; regional services in the call's region. */
static void t_global_signing_region(void **state)
{
	(void)state;
	env_clean();
	static const struct { const char *svc, *region, *base, *scope; } cases[] = {
		{ "iam", "us-east-1", "https://iam.amazonaws.com", "us-east-1" },
		{ "iam", "eu-west-3", "https://iam.amazonaws.com", "us-east-1" },
		{ "iam", "cn-north-1", "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1" },
		{ "iam", "cn-northwest-1", "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1" },
		{ "iam", "us-gov-east-1", "https://iam.us-gov.amazonaws.com", "us-gov-west-1" },
		{ "iam", "us-iso-west-1", "https://iam.us-iso-east-1.c2s.ic.gov", "us-iso-east-1" },
		{ "iam", "us-isob-east-1", "https://iam.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1" },
		{ "organizations", "ap-south-1", "https://organizations.us-east-1.amazonaws.com", "us-east-1" },
		{ "organizations", "cn-north-1", "https://organizations.cn-northwest-1.amazonaws.com.cn",
			"cn-northwest-1" },
		{ "organizations", "us-gov-east-1", "https://organizations.us-gov-west-1.amazonaws.com",
			"us-gov-west-1" },
		{ "sts", "cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn", "" },
		{ "s3", "us-gov-west-1", "https://s3.us-gov-west-1.amazonaws.com", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const s3i_endpoint *e = resolve(cases[i].svc, cases[i].region, NULL, NULL, NULL);
		if (strcmp(e->base, cases[i].base) || strcmp(e->signing_region, cases[i].scope))
			fail_msg("%s in %s: %s signing in '%s', want %s in '%s'", cases[i].svc,
				cases[i].region, e->base, e->signing_region, cases[i].base, cases[i].scope);
		const char *g = s3i_endpoint_global_region(cases[i].svc, cases[i].region);
		if (cases[i].scope[0])
			assert_string_equal(g, cases[i].scope);
		else
			assert_null(g);
		/* a custom endpoint keeps the partition's signing region */
		e = resolve(cases[i].svc, cases[i].region, "http://127.0.0.1:5000", NULL, NULL);
		assert_int_equal(e->is_custom, 1);
		assert_string_equal(e->signing_region, cases[i].scope);
	}
}

static void t_standard_needs_valid_region(void **state)
{
	(void)state;
	env_clean();
	static const char *const bad[] = { NULL, "", "US-EAST-1", "us-east-1.evil.com", "us east 1",
		"local", "us-east-1/x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s3i_errinfo err;
		s3i_errinfo_init(&err);
		assert_int_equal(s3i_endpoint_resolve(&ep, "s3", bad[i], NULL, NULL, NULL, &err), S3I_EINVALID);
		assert_string_equal(err.pub.resource, "region");
		assert_non_null(strstr(err.pub.message, "region"));
	}
	/* a custom endpoint needs no region */
	const s3i_endpoint *e = resolve("s3", NULL, "http://127.0.0.1:5000", NULL, NULL);
	assert_string_equal(e->base, "http://127.0.0.1:5000");
}

/* ------------------------------------------------------------------ overrides */

static void t_env_endpoint_url(void **state)
{
	(void)state;
	env_clean();
	setenv("AWS_ENDPOINT_URL", "http://localhost:4566/", 1);
	const s3i_endpoint *e = resolve("s3", "us-east-1", NULL, NULL, NULL);
	assert_string_equal(e->base, "http://localhost:4566");
	assert_string_equal(e->host, "localhost:4566");
	assert_int_equal(e->is_custom, 1);
	assert_int_equal(e->is_https, 0);
	e = resolve("dynamodb", "eu-west-1", NULL, NULL, NULL);
	assert_string_equal(e->base, "http://localhost:4566");
	e = resolve("email", "eu-west-1", NULL, NULL, NULL);
	assert_string_equal(e->base, "http://localhost:4566");
	/* region does not matter for a custom endpoint, even an odd one */
	e = resolve("sts", NULL, NULL, NULL, NULL);
	assert_string_equal(e->base, "http://localhost:4566");
	/* an empty variable counts as unset (ctest sets AWS_ENDPOINT_URL=) */
	setenv("AWS_ENDPOINT_URL", "", 1);
	e = resolve("s3", "us-east-1", NULL, NULL, NULL);
	assert_int_equal(e->is_custom, 0);
	assert_string_equal(e->base, "https://s3.us-east-1.amazonaws.com");
}

static void t_env_service_endpoint_wins(void **state)
{
	(void)state;
	env_clean();
	setenv("AWS_ENDPOINT_URL", "http://global:1", 1);
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://ddb.local:8000", 1);
	setenv("AWS_ENDPOINT_URL_SES", "http://ses.local:9000/base/", 1);
	const s3i_endpoint *e = resolve("dynamodb", "us-east-1", NULL, NULL, NULL);
	assert_string_equal(e->base, "https://ddb.local:8000");
	assert_string_equal(e->host, "ddb.local:8000");
	assert_int_equal(e->is_https, 1);
	e = resolve("email", "us-east-1", NULL, NULL, NULL);   /* SES's service id for "email" */
	assert_string_equal(e->base, "http://ses.local:9000/base");
	assert_string_equal(e->host, "ses.local:9000");
	e = resolve("s3", "us-east-1", NULL, NULL, NULL);
	assert_string_equal(e->base, "http://global:1");
	e = resolve("sqs", "us-east-1", NULL, NULL, NULL);
	assert_string_equal(e->base, "http://global:1");
	/* an empty service variable falls through to the global one */
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "", 1);
	e = resolve("dynamodb", "us-east-1", NULL, NULL, NULL);
	assert_string_equal(e->base, "http://global:1");
}

static void t_ignore_configured(void **state)
{
	(void)state;
	env_clean();
	setenv("AWS_ENDPOINT_URL", "http://global:1", 1);
	setenv("AWS_ENDPOINT_URL_S3", "http://s3.local:2", 1);
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	const s3i_endpoint *e = resolve("s3", "eu-west-1", NULL, NULL, NULL);
	assert_string_equal(e->base, "https://s3.eu-west-1.amazonaws.com");
	assert_int_equal(e->is_custom, 0);
	e = resolve("dynamodb", "eu-west-1", NULL, NULL, NULL);
	assert_string_equal(e->base, "https://dynamodb.eu-west-1.amazonaws.com");
	/* the explicit option is code, not configuration: still used */
	e = resolve("s3", "eu-west-1", "http://explicit:3", NULL, NULL);
	assert_string_equal(e->base, "http://explicit:3");
	assert_int_equal(e->is_custom, 1);
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE", 1);
	e = resolve("s3", "eu-west-1", NULL, NULL, NULL);
	assert_int_equal(e->is_custom, 0);
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
	e = resolve("s3", "eu-west-1", NULL, NULL, NULL);
	assert_string_equal(e->base, "http://s3.local:2");
}

static void t_explicit_wins(void **state)
{
	(void)state;
	env_clean();
	setenv("AWS_ENDPOINT_URL", "http://global:1", 1);
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://ddb:2", 1);
	s3i_profile_set *p = load_config("[default]\nendpoint_url = http://profile:3\n");
	const s3i_endpoint *e = resolve("dynamodb", "us-east-1", "https://explicit.example:4443/x/", p, NULL);
	assert_string_equal(e->base, "https://explicit.example:4443/x");
	assert_string_equal(e->host, "explicit.example:4443");
	assert_int_equal(e->is_custom, 1);
	/* an empty explicit URL means "not given" */
	e = resolve("dynamodb", "us-east-1", "", p, NULL);
	assert_string_equal(e->base, "http://ddb:2");
	s3i_profiles_free(p);
}

static const char PROFILE_CONFIG[] =
	"[default]\n"
	"region = eu-central-1\n"
	"endpoint_url = http://profile-global:1000\n"
	"services = local\n"
	"\n"
	"[services local]\n"
	"dynamodb =\n"
	"  endpoint_url = http://profile-ddb:2000\n"
	"ses =\n"
	"  endpoint_url = http://profile-ses:3000/ses\n"
	"\n"
	"[profile other]\n"
	"region = ap-southeast-2\n"
	"services = other-svcs\n"
	"\n"
	"[services other-svcs]\n"
	"s3 =\n"
	"  endpoint_url = https://other-s3:4000\n"
	"\n"
	"[profile ignoring]\n"
	"region = us-west-2\n"
	"endpoint_url = http://ignored:1\n"
	"ignore_configured_endpoint_urls = true\n"
	"\n"
	"[profile broken]\n"
	"endpoint_url = ftp://wrong:21\n";

static void t_profile_endpoints(void **state)
{
	(void)state;
	env_clean();
	s3i_profile_set *p = load_config(PROFILE_CONFIG);
	/* [services local] answers for the services it names, endpoint_url for the others */
	const s3i_endpoint *e = resolve("dynamodb", "us-east-1", NULL, p, NULL);
	assert_string_equal(e->base, "http://profile-ddb:2000");
	assert_int_equal(e->is_custom, 1);
	e = resolve("email", "us-east-1", NULL, p, NULL);
	assert_string_equal(e->base, "http://profile-ses:3000/ses");
	assert_string_equal(e->host, "profile-ses:3000");
	e = resolve("s3", "us-east-1", NULL, p, NULL);
	assert_string_equal(e->base, "http://profile-global:1000");
	e = resolve("s3", "us-east-1", NULL, p, "default");
	assert_string_equal(e->base, "http://profile-global:1000");
	/* another profile, by name and through AWS_PROFILE */
	e = resolve("s3", "us-east-1", NULL, p, "other");
	assert_string_equal(e->base, "https://other-s3:4000");
	e = resolve("dynamodb", "us-east-1", NULL, p, "other");
	assert_string_equal(e->base, "https://dynamodb.us-east-1.amazonaws.com");
	assert_int_equal(e->is_custom, 0);
	setenv("AWS_PROFILE", "other", 1);
	e = resolve("s3", "us-east-1", NULL, p, NULL);
	assert_string_equal(e->base, "https://other-s3:4000");
	unsetenv("AWS_PROFILE");
	/* the environment wins over the file: service variable, then the global one */
	setenv("AWS_ENDPOINT_URL", "http://env-global:5000", 1);
	e = resolve("dynamodb", "us-east-1", NULL, p, NULL);
	assert_string_equal(e->base, "http://env-global:5000");
	setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://env-ddb:6000", 1);
	e = resolve("dynamodb", "us-east-1", NULL, p, NULL);
	assert_string_equal(e->base, "http://env-ddb:6000");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
	/* ignore_configured_endpoint_urls in the profile */
	e = resolve("s3", "us-west-2", NULL, p, "ignoring");
	assert_string_equal(e->base, "https://s3.us-west-2.amazonaws.com");
	setenv("AWS_ENDPOINT_URL", "http://env-global:5000", 1);
	e = resolve("s3", "us-west-2", NULL, p, "ignoring");
	assert_int_equal(e->is_custom, 0);
	/* ... which the environment variable overrides when set */
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false", 1);
	e = resolve("s3", "us-west-2", NULL, p, "ignoring");
	assert_string_equal(e->base, "http://env-global:5000");
	unsetenv("AWS_ENDPOINT_URL");
	/* the variable ignores the file's URLs too */
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	e = resolve("dynamodb", "us-east-1", NULL, p, NULL);
	assert_string_equal(e->base, "https://dynamodb.us-east-1.amazonaws.com");
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	/* a bad URL in a profile names where it came from */
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_endpoint_resolve(&ep, "s3", "us-east-1", NULL, p, "broken", &err), S3I_EINVALID);
	assert_string_equal(err.pub.resource, "endpoint_url");
	assert_non_null(strstr(err.pub.message, "endpoint_url"));
	assert_non_null(strstr(err.pub.message, "ftp://wrong:21"));
	assert_non_null(strstr(err.pub.message, "broken"));
	s3i_profiles_free(p);
}

static void t_bad_urls(void **state)
{
	(void)state;
	env_clean();
	static const char *const bad[] = {
		"ftp://host", "localhost:4566", "127.0.0.1", "http://", "https:///path", "http:/host",
		"http://host?x=1", "http://host#frag", "http://host/path?x=1", "http://ho st:80",
		"http://host\n", "HTTP//host", "file:///etc/passwd", "http://:80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s3i_errinfo err;
		s3i_errinfo_init(&err);
		int rc = s3i_endpoint_resolve(&ep, "s3", "us-east-1", bad[i], NULL, NULL, &err);
		if (rc != S3I_EINVALID)
			fail_msg("'%s' accepted (rc %d)", bad[i], rc);
		assert_string_equal(err.pub.resource, "endpoint_url");
		if (!strstr(err.pub.message, "endpoint_url"))
			fail_msg("message for '%s' does not name endpoint_url: %s", bad[i], err.pub.message);
	}
	/* too long */
	char long_url[1024] = "http://h/";
	memset(long_url + 9, 'p', sizeof(long_url) - 10);
	long_url[sizeof(long_url) - 1] = '\0';
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_endpoint_resolve(&ep, "s3", "us-east-1", long_url, NULL, NULL, &err), S3I_EINVALID);
	assert_non_null(strstr(err.pub.message, "endpoint_url"));
	/* from the environment: the message names the variable */
	setenv("AWS_ENDPOINT_URL_S3", "localhost:9000", 1);
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_endpoint_resolve(&ep, "s3", "us-east-1", NULL, NULL, NULL, &err), S3I_EINVALID);
	assert_non_null(strstr(err.pub.message, "AWS_ENDPOINT_URL_S3"));
	assert_non_null(strstr(err.pub.message, "localhost:9000"));
	/* good ones */
	const s3i_endpoint *e = resolve("s3", NULL, "http://[::1]:9000", NULL, NULL);
	assert_string_equal(e->host, "[::1]:9000");
	e = resolve("s3", NULL, "https://minio.example.com", NULL, NULL);
	assert_string_equal(e->host, "minio.example.com");
	assert_int_equal(e->is_https, 1);
	e = resolve("s3", NULL, "http://127.0.0.1:5000///", NULL, NULL);
	assert_string_equal(e->base, "http://127.0.0.1:5000");
}

/* ------------------------------------------------------------------ regions */

static void t_region_resolve(void **state)
{
	(void)state;
	env_clean();
	s3i_profile_set *p = load_config(PROFILE_CONFIG);
	assert_null(s3i_region_resolve(NULL, NULL, NULL));
	/* the profile */
	assert_string_equal(s3i_region_resolve(NULL, p, NULL), "eu-central-1");
	assert_string_equal(s3i_region_resolve(NULL, p, "other"), "ap-southeast-2");
	setenv("AWS_PROFILE", "other", 1);
	assert_string_equal(s3i_region_resolve(NULL, p, NULL), "ap-southeast-2");
	unsetenv("AWS_PROFILE");
	assert_null(s3i_region_resolve(NULL, p, "broken"));
	assert_null(s3i_region_resolve(NULL, p, "no-such-profile"));
	/* AWS_DEFAULT_REGION over the profile */
	setenv("AWS_DEFAULT_REGION", "sa-east-1", 1);
	assert_string_equal(s3i_region_resolve(NULL, p, NULL), "sa-east-1");
	assert_string_equal(s3i_region_resolve(NULL, NULL, NULL), "sa-east-1");
	/* AWS_REGION over AWS_DEFAULT_REGION */
	setenv("AWS_REGION", "eu-north-1", 1);
	assert_string_equal(s3i_region_resolve(NULL, p, NULL), "eu-north-1");
	/* explicit over everything */
	assert_string_equal(s3i_region_resolve("me-south-1", p, NULL), "me-south-1");
	/* empty values count as unset */
	assert_string_equal(s3i_region_resolve("", p, NULL), "eu-north-1");
	setenv("AWS_REGION", "", 1);
	assert_string_equal(s3i_region_resolve(NULL, p, NULL), "sa-east-1");
	setenv("AWS_DEFAULT_REGION", "", 1);
	assert_string_equal(s3i_region_resolve(NULL, p, NULL), "eu-central-1");
	s3i_profiles_free(p);
}

static void t_region_is_valid(void **state)
{
	(void)state;
	static const char *const good[] = { "us-east-1", "eu-west-1", "ap-southeast-2",
		"us-gov-west-1", "cn-north-1", "cn-northwest-1", "us-iso-east-1", "us-isob-east-1",
		"il-central-1", "ca-west-1", "ap-southeast-5", "eu-south-2", "me-central-1", "eu-west-10" };
	static const char *const bad[] = { "", "us", "us-east", "useast1", "US-EAST-1", "us-east-1a",
		"us--east-1", "-us-east-1", "us-east-1-", "us east 1", "us-east-1.", "us-east-1/x",
		"us_east_1", "local", "us-east-\xc3\xa9", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-east-1" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!s3i_region_is_valid(good[i]))
			fail_msg("'%s' rejected", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (s3i_region_is_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
}

/* ------------------------------------------------------------------ S3 addressing */

static void t_bucket_dns_compatible(void **state)
{
	(void)state;
	static const char *const good[] = { "abc", "my-bucket", "1bucket", "bucket1", "a.b.c",
		"my.bucket.name", "a-b-c", "0123456789", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	static const char *const bad[] = { "", "ab", "My-Bucket", "my_bucket", "-bucket", "bucket-",
		"a..b", "a.-b", "a-.b", ".bucket", "bucket.", "192.168.1.1", "my bucket", "b\xc3\xa9",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!s3i_s3_bucket_is_dns_compatible(good[i]))
			fail_msg("'%s' rejected", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (s3i_s3_bucket_is_dns_compatible(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
}

typedef struct url_parts {
	char url[2048], path[2048], host[512];
} url_parts;

static url_parts parts;

static const url_parts *s3url(const s3i_endpoint *e, const char *bucket, const char *key, int force)
{
	s3i_buf url, path, host;
	s3i_buf_init(&url, s3i_test_alloc());
	s3i_buf_init(&path, s3i_test_alloc());
	s3i_buf_init(&host, s3i_test_alloc());
	assert_int_equal(s3i_s3_url(e, bucket, key, force, &url, &path, &host), S3I_OK);
	snprintf(parts.url, sizeof(parts.url), "%s", s3i_buf_cstr(&url));
	snprintf(parts.path, sizeof(parts.path), "%s", s3i_buf_cstr(&path));
	snprintf(parts.host, sizeof(parts.host), "%s", s3i_buf_cstr(&host));
	s3i_buf_dispose(&url);
	s3i_buf_dispose(&path);
	s3i_buf_dispose(&host);
	return &parts;
}

#define assert_url(u, want_url, want_path, want_host) do { \
	assert_string_equal((u)->url, (want_url)); \
	assert_string_equal((u)->path, (want_path)); \
	assert_string_equal((u)->host, (want_host)); \
} while (0)

static void t_s3_url_aws(void **state)
{
	(void)state;
	env_clean();
	s3i_endpoint e = *resolve("s3", "us-east-1", NULL, NULL, NULL);
	/* virtual-hosted for plain names */
	assert_url(s3url(&e, "mybucket", "a/b.txt", 0), "https://mybucket.s3.us-east-1.amazonaws.com/a/b.txt",
		"/a/b.txt", "mybucket.s3.us-east-1.amazonaws.com");
	assert_url(s3url(&e, "mybucket", NULL, 0), "https://mybucket.s3.us-east-1.amazonaws.com/",
		"/", "mybucket.s3.us-east-1.amazonaws.com");
	/* no bucket (ListBuckets) */
	assert_url(s3url(&e, NULL, NULL, 0), "https://s3.us-east-1.amazonaws.com/", "/",
		"s3.us-east-1.amazonaws.com");
	/* path-style for dotted names (the TLS certificate covers one label only) */
	assert_url(s3url(&e, "my.bucket", "k", 0), "https://s3.us-east-1.amazonaws.com/my.bucket/k",
		"/my.bucket/k", "s3.us-east-1.amazonaws.com");
	/* path-style for names that are no DNS label (legacy us-east-1 buckets) */
	assert_url(s3url(&e, "My_Bucket", "k", 0), "https://s3.us-east-1.amazonaws.com/My_Bucket/k",
		"/My_Bucket/k", "s3.us-east-1.amazonaws.com");
	/* forced */
	assert_url(s3url(&e, "mybucket", "k", 1), "https://s3.us-east-1.amazonaws.com/mybucket/k",
		"/mybucket/k", "s3.us-east-1.amazonaws.com");
	/* China */
	s3i_endpoint cn = *resolve("s3", "cn-north-1", NULL, NULL, NULL);
	assert_url(s3url(&cn, "b-1", "k", 0), "https://b-1.s3.cn-north-1.amazonaws.com.cn/k", "/k",
		"b-1.s3.cn-north-1.amazonaws.com.cn");
}

static void t_s3_url_custom(void **state)
{
	(void)state;
	env_clean();
	s3i_endpoint e = *resolve("s3", NULL, "http://127.0.0.1:5000", NULL, NULL);
	/* path-style for custom endpoints, whatever the name */
	assert_url(s3url(&e, "mybucket", "k", 0), "http://127.0.0.1:5000/mybucket/k", "/mybucket/k",
		"127.0.0.1:5000");
	assert_url(s3url(&e, "mybucket", NULL, 0), "http://127.0.0.1:5000/mybucket/", "/mybucket/",
		"127.0.0.1:5000");
	assert_url(s3url(&e, NULL, NULL, 0), "http://127.0.0.1:5000/", "/", "127.0.0.1:5000");
	/* base paths are kept */
	s3i_endpoint b = *resolve("s3", NULL, "https://gw.example.com:8443/storage/s3/", NULL, NULL);
	assert_url(s3url(&b, "bkt", "dir/f.csv", 0), "https://gw.example.com:8443/storage/s3/bkt/dir/f.csv",
		"/storage/s3/bkt/dir/f.csv", "gw.example.com:8443");
	assert_url(s3url(&b, NULL, NULL, 0), "https://gw.example.com:8443/storage/s3/",
		"/storage/s3/", "gw.example.com:8443");
}

static void t_s3_url_key_encoding(void **state)
{
	(void)state;
	env_clean();
	s3i_endpoint e = *resolve("s3", NULL, "http://h:1", NULL, NULL);
	static const char *const cases[][2] = {
		{ "a b", "/b/a%20b" },
		{ "a+b", "/b/a%2Bb" },
		{ "100%", "/b/100%25" },
		{ "a~b", "/b/a~b" },
		{ "a*b", "/b/a%2Ab" },
		{ "a=b&c", "/b/a=b%26c" },
		{ "account=1/region=x==/k", "/b/account=1/region=x==/k" },
		{ "dir//file", "/b/dir//file" },
		{ "/leading", "/b//leading" },
		{ "trailing/", "/b/trailing/" },
		{ "x?y#z", "/b/x%3Fy%23z" },
		{ "-_.~", "/b/-_.~" },
		{ "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt", "/b/caf%C3%A9/%E6%97%A5%E6%9C%AC.txt" },
		{ "emoji\xf0\x9f\x98\x80", "/b/emoji%F0%9F%98%80" },
		{ "tab\there", "/b/tab%09here" },
		{ "../x/./y", "/b/../x/./y" },
		{ "a:b@c!$'(),;", "/b/a%3Ab%40c%21%24%27%28%29%2C%3B" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const url_parts *u = s3url(&e, "b", cases[i][0], 0);
		if (strcmp(u->path, cases[i][1]))
			fail_msg("key '%s': path '%s', want '%s'", cases[i][0], u->path, cases[i][1]);
		char want_url[512];
		snprintf(want_url, sizeof(want_url), "http://h:1%s", cases[i][1]);
		assert_string_equal(u->url, want_url);
	}
	/* virtual-hosted encodes the key the same way */
	s3i_endpoint a = *resolve("s3", "eu-west-1", NULL, NULL, NULL);
	assert_url(s3url(&a, "bucket", "a b+c/d", 0), "https://bucket.s3.eu-west-1.amazonaws.com/a%20b%2Bc/d",
		"/a%20b%2Bc/d", "bucket.s3.eu-west-1.amazonaws.com");
}

static void t_s3_url_oom(void **state)
{
	(void)state;
	env_clean();
	s3i_endpoint e = *resolve("s3", NULL, "http://h:1/base", NULL, NULL);
	for (long n = 0;; n++) {
		s3i_buf url, path, host;
		s3i_buf_init(&url, s3i_test_alloc());
		s3i_buf_init(&path, s3i_test_alloc());
		s3i_buf_init(&host, s3i_test_alloc());
		s3i_test_alloc_fail_after(n);
		int rc = s3i_s3_url(&e, "bucket", "some key", 0, &url, &path, &host);
		s3i_test_alloc_fail_after(-1);
		s3i_buf_dispose(&url);
		s3i_buf_dispose(&path);
		s3i_buf_dispose(&host);
		assert_int_equal(s3i_test_alloc_outstanding(), 0);
		if (rc == S3I_OK)
			break;
		assert_int_equal(rc, S3I_ENOMEM);
		assert_true(n < 100);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_standard_endpoints),
		S3I_TEST(t_global_signing_region),
		S3I_TEST(t_standard_needs_valid_region),
		S3I_TEST(t_env_endpoint_url),
		S3I_TEST(t_env_service_endpoint_wins),
		S3I_TEST(t_ignore_configured),
		S3I_TEST(t_explicit_wins),
		S3I_TEST(t_profile_endpoints),
		S3I_TEST(t_bad_urls),
		S3I_TEST(t_region_resolve),
		S3I_TEST(t_region_is_valid),
		S3I_TEST(t_bucket_dns_compatible),
		S3I_TEST(t_s3_url_aws),
		S3I_TEST(t_s3_url_custom),
		S3I_TEST(t_s3_url_key_encoding),
		S3I_TEST(t_s3_url_oom),
	};
	return cmocka_run_group_tests(tests, env_save, env_restore);
}
