/*
 * Logging never leaks secrets (src/core/log.c): redaction of every notation a secret can
 * appear in, and an end-to-end run of S3 calls at TRACE level against a loopback server whose
 * log must not contain the secret key, the session token, the access key id or any signature
 * the server received.
 */
#include "test_alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/ctx_internal.h"
#include "core/log.h"
#include "loopback.h"
#include "s3insights/s3insights.h"

/* ------------------------------------------------------------------ redaction */

static char line_buf[8192];

static const char *redact(const char *in)
{
	size_t n = strlen(in);
	assert_true(n < sizeof(line_buf));
	memcpy(line_buf, in, n + 1);
	s3i_log_redact(line_buf, sizeof(line_buf));
	return line_buf;
}

#define assert_absent(hay, needle) do { \
	if (strstr((hay), (needle))) \
		fail_msg("'%s' still in '%s'", (needle), (hay)); \
} while (0)
#define assert_present(hay, needle) do { \
	if (!strstr((hay), (needle))) \
		fail_msg("'%s' missing from '%s'", (needle), (hay)); \
} while (0)

#define AKID "AKIAIOSFODNN7EXAMPLE"
#define ASID "ASIAQWERTYUIOPASDFGH"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TOKEN "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token/value=="
#define SIG "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

static void t_redact_authorization_header(void **state)
{
	(void)state;
	const char *r = redact("Authorization: AWS4-HMAC-SHA256 Credential=" AKID
		"/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, "
		"Signature=" SIG);
	assert_absent(r, AKID);
	assert_absent(r, SIG);
	assert_absent(r, "20150830/us-east-1");
	assert_present(r, "Authorization: [REDACTED]");

	/* several headers on one line, any case */
	r = redact("> PUT /b/k HTTP/1.1 host: 127.0.0.1 x-amz-date: 20150830T123600Z "
		"authorization: AWS4-HMAC-SHA256 Credential=" AKID "/20150830/us-east-1/s3/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature=" SIG);
	assert_absent(r, AKID);
	assert_absent(r, SIG);
	assert_present(r, "x-amz-date: 20150830T123600Z");
	assert_present(r, "[REDACTED]");
	r = redact("AUTHORIZATION:AWS4-HMAC-SHA256 Credential=" ASID "/x, Signature=" SIG);
	assert_absent(r, ASID);
	assert_absent(r, SIG);

	/* JSON-rendered headers */
	r = redact("headers {\"Authorization\": \"AWS4-HMAC-SHA256 Credential=" AKID
		"/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" SIG
		"\", \"X-Amz-Date\": \"20150830T123600Z\"}");
	assert_absent(r, AKID);
	assert_absent(r, SIG);
	assert_present(r, "\"X-Amz-Date\": \"20150830T123600Z\"");
	assert_present(r, "[REDACTED]");

	/* the parts on their own */
	r = redact("scope Credential=" AKID "/20150830/us-east-1/s3/aws4_request, Signature=" SIG " done");
	assert_absent(r, AKID);
	assert_absent(r, SIG);
	assert_present(r, " done");
}

static void t_redact_security_token(void **state)
{
	(void)state;
	const char *r = redact("X-Amz-Security-Token: " TOKEN);
	assert_absent(r, TOKEN);
	assert_absent(r, "IQoJb3JpZ2lu");
	assert_present(r, "X-Amz-Security-Token: [REDACTED]");
	r = redact("x-amz-security-token:" TOKEN " x-amz-date:20150830T123600Z");
	assert_absent(r, "IQoJb3JpZ2lu");
	r = redact("{\"X-Amz-Security-Token\": \"" TOKEN "\", \"Host\": \"h\"}");
	assert_absent(r, "IQoJb3JpZ2lu");
	assert_present(r, "\"Host\": \"h\"");
	/* query form, URL-encoded */
	r = redact("GET /b/k?X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2FwEaCXVz%2Btoken%3D%3D"
		"&X-Amz-Date=20150830T123600Z HTTP/1.1");
	assert_absent(r, "IQoJb3JpZ2lu");
	assert_absent(r, "%2Btoken");
	assert_present(r, "X-Amz-Date=20150830T123600Z");
	assert_present(r, "X-Amz-Security-Token=[REDACTED]&");
	/* canonical request lines (as S3 echoes them in SignatureDoesNotMatch) */
	r = redact("host:example.com x-amz-security-token:" TOKEN);
	assert_absent(r, "IQoJb3JpZ2lu");
	/* IMDS and container tokens */
	r = redact("X-aws-ec2-metadata-token: AQAEAFakeImdsTokenValue0123456789==");
	assert_absent(r, "AQAEAFakeImdsTokenValue");
	r = redact("AWS_CONTAINER_AUTHORIZATION_TOKEN=Basic c2VjcmV0LWNvbnRhaW5lci10b2tlbg==");
	assert_absent(r, "c2VjcmV0LWNvbnRhaW5lci10b2tlbg");
}

static void t_redact_presigned_query(void **state)
{
	(void)state;
	const char *r = redact("GET https://examplebucket.s3.amazonaws.com/test.txt"
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" AKID "%2F20130524%2Fus-east-1%2Fs3"
		"%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	assert_absent(r, AKID);
	assert_absent(r, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	assert_absent(r, "aeeed9bbccd4");
	assert_present(r, "X-Amz-Algorithm=AWS4-HMAC-SHA256");
	assert_present(r, "X-Amz-Date=20130524T000000Z");
	assert_present(r, "X-Amz-Expires=86400");
	assert_present(r, "X-Amz-SignedHeaders=host");
	assert_present(r, "X-Amz-Credential=[REDACTED]&");
	assert_present(r, "X-Amz-Signature=[REDACTED]");
	/* lower-case names, signature not last */
	r = redact("url ?x-amz-signature=" SIG "&x-amz-credential=" ASID "%2Fx&a=b");
	assert_absent(r, SIG);
	assert_absent(r, ASID);
	assert_present(r, "&a=b");
}

static void t_redact_credential_process_json(void **state)
{
	(void)state;
	const char *r = redact("credential_process output: {\"Version\": 1, \"AccessKeyId\": \"" ASID
		"\", \"SecretAccessKey\": \"" SECRET "\", \"SessionToken\": \"" TOKEN
		"\", \"Expiration\": \"2030-01-01T00:00:00Z\"}");
	assert_absent(r, ASID);
	assert_absent(r, SECRET);
	assert_absent(r, "wJalrXUtnFEMI");
	assert_absent(r, "IQoJb3JpZ2lu");
	assert_present(r, "\"Version\": 1");
	assert_present(r, "\"Expiration\": \"2030-01-01T00:00:00Z\"");
	assert_present(r, "\"SecretAccessKey\": \"[REDACTED]\"");
	assert_present(r, "\"SessionToken\": \"[REDACTED]\"");
	/* compact, and as container credentials answer ("Token") */
	r = redact("{\"AccessKeyId\":\"" ASID "\",\"SecretAccessKey\":\"" SECRET "\",\"Token\":\""
		TOKEN "\",\"Expiration\":\"2030-01-01T00:00:00Z\"}");
	assert_absent(r, ASID);
	assert_absent(r, "wJalrXUtnFEMI");
	assert_absent(r, "IQoJb3JpZ2lu");
	assert_present(r, "\"Expiration\":\"2030-01-01T00:00:00Z\"");
	/* SSO GetRoleCredentials spelling */
	r = redact("{\"roleCredentials\":{\"accessKeyId\":\"" ASID "\",\"secretAccessKey\":\"" SECRET
		"\",\"sessionToken\":\"" TOKEN "\",\"expiration\":1700000000000}}");
	assert_absent(r, "wJalrXUtnFEMI");
	assert_absent(r, "IQoJb3JpZ2lu");
	assert_present(r, "\"expiration\":1700000000000");
	/* JSON quoted inside a JSON string */
	r = redact("{\"body\": \"{\\\"SecretAccessKey\\\": \\\"" SECRET "\\\", \\\"SessionToken\\\":\\\""
		TOKEN "\\\"}\"}");
	assert_absent(r, "wJalrXUtnFEMI");
	assert_absent(r, "IQoJb3JpZ2lu");
	/* Python-style single quotes */
	r = redact("{'SecretAccessKey': '" SECRET "', 'Token': '" TOKEN "'}");
	assert_absent(r, "wJalrXUtnFEMI");
	assert_absent(r, "IQoJb3JpZ2lu");
	/* odd spacing */
	r = redact("{ \"SecretAccessKey\" :\t\"" SECRET "\" }");
	assert_absent(r, "wJalrXUtnFEMI");
}

static void t_redact_sts_xml(void **state)
{
	(void)state;
	const char *r = redact("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
		"<AssumeRoleResult><Credentials><AccessKeyId>" ASID "</AccessKeyId>"
		"<SecretAccessKey>" SECRET "</SecretAccessKey><SessionToken>" TOKEN "</SessionToken>"
		"<Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>"
		"<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser>"
		"</AssumeRoleResult></AssumeRoleResponse>");
	assert_absent(r, ASID);
	assert_absent(r, SECRET);
	assert_absent(r, "wJalrXUtnFEMI");
	assert_absent(r, "IQoJb3JpZ2lu");
	assert_present(r, "<SecretAccessKey>[REDACTED]</SecretAccessKey>");
	assert_present(r, "<SessionToken>[REDACTED]</SessionToken>");
	assert_present(r, "<Expiration>2030-01-01T00:00:00Z</Expiration>");
	assert_present(r, "arn:aws:sts::123456789012:assumed-role/r/s");
	/* pretty-printed (newlines become spaces in log lines) */
	r = redact("<Credentials>   <SecretAccessKey>\n  " SECRET "\n  </SecretAccessKey>   <Expiration>x</Expiration>");
	assert_absent(r, "wJalrXUtnFEMI");
	assert_present(r, "<Expiration>x</Expiration>");
	/* attributes on the element */
	r = redact("<SessionToken xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">" TOKEN "</SessionToken>");
	assert_absent(r, "IQoJb3JpZ2lu");
	assert_present(r, "[REDACTED]</SessionToken>");
	/* S3 SignatureDoesNotMatch echoes the key id and the signature */
	r = redact("<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we "
		"calculated does not match the signature you provided.</Message><AWSAccessKeyId>" AKID
		"</AWSAccessKeyId><SignatureProvided>" SIG "</SignatureProvided></Error>");
	assert_absent(r, AKID);
	assert_absent(r, SIG);
	assert_present(r, "<Code>SignatureDoesNotMatch</Code>");
	assert_present(r, "does not match the signature you provided");
}

static void t_redact_query_form_body(void **state)
{
	(void)state;
	/* AssumeRoleWithWebIdentity sends the OIDC token in the form body */
	const char *r = redact("body Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws"
		"%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=s&WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.eyJzdWIi"
		"OiJ4In0.c2lnbmF0dXJl&DurationSeconds=3600");
	assert_absent(r, "eyJhbGciOiJSUzI1NiJ9");
	assert_present(r, "WebIdentityToken=[REDACTED]&DurationSeconds=3600");
	assert_present(r, "RoleSessionName=s");
	r = redact("proxy user:password=hunter2hunter2 host=x");
	assert_absent(r, "hunter2");
}

static void t_redact_ini_and_env(void **state)
{
	(void)state;
	const char *r = redact("aws_secret_access_key = " SECRET);
	assert_absent(r, "wJalrXUtnFEMI");
	assert_present(r, "aws_secret_access_key = [REDACTED]");
	r = redact("[default] aws_access_key_id=" AKID " aws_secret_access_key=" SECRET
		" aws_session_token = " TOKEN " region = eu-west-1");
	assert_absent(r, AKID);
	assert_absent(r, "wJalrXUtnFEMI");
	assert_absent(r, "IQoJb3JpZ2lu");
	assert_present(r, "region = eu-west-1");
	r = redact("aws_security_token: " TOKEN);
	assert_absent(r, "IQoJb3JpZ2lu");
	r = redact("AWS_SECRET_ACCESS_KEY=" SECRET " AWS_SESSION_TOKEN=" TOKEN);
	assert_absent(r, "wJalrXUtnFEMI");
	assert_absent(r, "IQoJb3JpZ2lu");
	r = redact("aws_secret_access_key = \"" SECRET " with space\"");
	assert_absent(r, "wJalrXUtnFEMI");
	assert_absent(r, "with space");
	/* short values cannot hold the marker and are blanked */
	r = redact("aws_secret_access_key=abc");
	assert_absent(r, "abc");
	assert_present(r, "aws_secret_access_key=***");
}

static void t_redact_bare_key_id(void **state)
{
	(void)state;
	const char *r = redact("credentials from env (" AKID ") expire never; role " ASID ".");
	assert_absent(r, AKID);
	assert_absent(r, ASID);
	assert_present(r, "credentials from env ([REDACTED])");
	/* not a key id: longer words, lower case */
	r = redact("XAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX akiaiosfodnn7example");
	assert_present(r, "XAKIAIOSFODNN7EXAMPLE");
	assert_present(r, "AKIAIOSFODNN7EXAMPLEX");
	assert_present(r, "akiaiosfodnn7example");
}

static void t_redact_keeps_harmless_text(void **state)
{
	(void)state;
	static const char *const keep[] = {
		"GetObject on key 'a' in bucket 'b' failed: SignatureDoesNotMatch (HTTP 403)",
		"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>",
		"ListObjectsV2 continuation-token=abc&list-type=2",
		"{\"NextToken\": \"abcdef0123456789\"}",
		"x-amz-date: 20150830T123600Z host: s3.amazonaws.com",
		"credential_source = Environment",
		"credentials from the shared file",
		"clock skew of 3600 s against s3; correcting and retrying PutObject",
		"SignedHeaders=host;x-amz-date",
		"",
	};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		assert_string_equal(redact(keep[i]), keep[i]);
}

static void t_redact_idempotent_and_bounds(void **state)
{
	(void)state;
	static char once[8192];
	snprintf(once, sizeof(once), "%s", redact("Authorization: AWS4 Signature=" SIG
		" {\"SessionToken\":\"" TOKEN "\"} <SecretAccessKey>" SECRET "</SecretAccessKey>"));
	assert_string_equal(redact(once), once);
	/* markers at the very end of the line, without a value */
	assert_string_equal(redact("Authorization:"), "Authorization:");
	assert_string_equal(redact("X-Amz-Signature="), "X-Amz-Signature=");
	assert_string_equal(redact("<SessionToken>"), "<SessionToken>");
	assert_string_equal(redact("\"Token\""), "\"Token\"");
	assert_string_equal(redact("AKIA"), "AKIA");
	/* the line never grows: a small buffer is safe */
	char small[32];
	snprintf(small, sizeof(small), "Signature=%s", "0123456789abcdef0123");
	s3i_log_redact(small, sizeof(small));
	assert_string_equal(small, "Signature=[REDACTED]");
	char tiny[8] = "Token=a";
	s3i_log_redact(tiny, sizeof(tiny));
	assert_string_equal(tiny, "Token=*");
	s3i_log_redact(NULL, 0);
}

static void t_header_is_secret(void **state)
{
	(void)state;
	assert_true(s3i_header_is_secret("Authorization"));
	assert_true(s3i_header_is_secret("authorization"));
	assert_true(s3i_header_is_secret("X-Amz-Security-Token"));
	assert_true(s3i_header_is_secret("x-aws-ec2-metadata-token"));
	assert_true(s3i_header_is_secret("Proxy-Authorization"));
	assert_true(s3i_header_is_secret("x-amz-server-side-encryption-customer-key"));
	assert_false(s3i_header_is_secret("X-Amz-Date"));
	assert_false(s3i_header_is_secret("Host"));
	assert_false(s3i_header_is_secret("x-amz-content-sha256"));
}

/* ------------------------------------------------------------------ s3i_log */

typedef struct captured {
	pthread_mutex_t lock;
	char **lines;
	int *levels;
	size_t count, cap;
} captured;

static void capture_fn(void *user, s3i_log_level level, const char *line)
{
	captured *c = user;
	pthread_mutex_lock(&c->lock);
	if (c->count == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->lines = realloc(c->lines, c->cap * sizeof(*c->lines));
		c->levels = realloc(c->levels, c->cap * sizeof(*c->levels));
		assert_non_null(c->lines);
		assert_non_null(c->levels);
	}
	c->lines[c->count] = strdup(line);
	c->levels[c->count] = (int)level;
	c->count++;
	pthread_mutex_unlock(&c->lock);
}

static void captured_init(captured *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

static void captured_free(captured *c)
{
	for (size_t i = 0; i < c->count; i++)
		free(c->lines[i]);
	free(c->lines);
	free(c->levels);
	pthread_mutex_destroy(&c->lock);
}

static void t_log_levels_and_lines(void **state)
{
	(void)state;
	captured c;
	captured_init(&c);
	s3i_logger lg = { capture_fn, &c, S3I_LOG_INFO };
	assert_true(s3i_log_enabled(&lg, S3I_LOG_ERROR));
	assert_true(s3i_log_enabled(&lg, S3I_LOG_INFO));
	assert_false(s3i_log_enabled(&lg, S3I_LOG_DEBUG));
	assert_false(s3i_log_enabled(&lg, S3I_LOG_NONE));
	assert_false(s3i_log_enabled(NULL, S3I_LOG_ERROR));
	s3i_logger off = { NULL, NULL, S3I_LOG_TRACE };
	assert_false(s3i_log_enabled(&off, S3I_LOG_ERROR));
	s3i_log(&off, S3I_LOG_ERROR, "dropped");
	s3i_log(NULL, S3I_LOG_ERROR, "dropped");

	s3i_log(&lg, S3I_LOG_DEBUG, "too verbose %d", 1);
	s3i_log(&lg, S3I_LOG_WARN, "two\nlines\r\nhere");
	s3i_log(&lg, S3I_LOG_INFO, "secret %s and %s", "aws_secret_access_key=" SECRET,
		"Authorization: AWS4-HMAC-SHA256 Credential=" AKID "/x, Signature=" SIG);
	assert_int_equal(c.count, 2);
	assert_int_equal(c.levels[0], S3I_LOG_WARN);
	assert_string_equal(c.lines[0], "two lines  here");
	assert_int_equal(c.levels[1], S3I_LOG_INFO);
	assert_absent(c.lines[1], "wJalrXUtnFEMI");
	assert_absent(c.lines[1], AKID);
	assert_absent(c.lines[1], SIG);
	assert_present(c.lines[1], "[REDACTED]");

	/* a very long line is cut, still redacted and terminated */
	static char huge[10000];
	memset(huge, 'x', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	s3i_log(&lg, S3I_LOG_ERROR, "X-Amz-Security-Token: " TOKEN " %s", huge);
	assert_int_equal(c.count, 3);
	assert_true(strlen(c.lines[2]) < 4096);
	assert_absent(c.lines[2], "IQoJb3JpZ2lu");
	captured_free(&c);
}

/* ------------------------------------------------------------------ end to end */

#define E2E_AKID "AKIAE2ETESTKEY000001"
#define E2E_SECRET "e2eSecretKey/Distinctive+Value0123456789ab"
#define E2E_TOKEN "E2eSessionToken//Distinctive+Token0123456789abcdefghijklmnopqrstuvwxyz=="

#define MAX_OBJS 16
#define MAX_SIGS 64

typedef struct mini_s3 {
	pthread_mutex_t lock;
	struct { char key[256]; char *body; size_t len; } objs[MAX_OBJS];
	int nobjs;
	char sigs[MAX_SIGS][65];
	int nsigs;
	int tokens_seen;
	int flaky_count;
	int requests;
	char reply[16384];
} mini_s3;

static void record_signature(mini_s3 *s, const char *headers)
{
	const char *p = strstr(headers, "Signature=");
	if (!p || s->nsigs >= MAX_SIGS)
		return;
	p += 10;
	size_t n = strspn(p, "0123456789abcdef");
	if (n != 64)
		return;
	memcpy(s->sigs[s->nsigs], p, 64);
	s->sigs[s->nsigs][64] = '\0';
	s->nsigs++;
}

static int ci_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

static int find_obj(mini_s3 *s, const char *key)
{
	for (int i = 0; i < s->nobjs; i++)
		if (!strcmp(s->objs[i].key, key))
			return i;
	return -1;
}

static void xml_error(mini_s3 *s, s3i_lb_response *resp, int status, const char *code,
	const char *extra)
{
	resp->status = status;
	snprintf(resp->headers, sizeof(resp->headers),
		"Content-Type: application/xml\r\nx-amz-request-id: REQE2E%04d\r\n", s->requests);
	snprintf(s->reply, sizeof(s->reply), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Error><Code>%s</Code><Message>%s failed</Message>%s<RequestId>REQE2E%04d</RequestId>"
		"</Error>", code, code, extra ? extra : "", s->requests);
	resp->body = s->reply;
	resp->body_len = strlen(s->reply);
}

/* Path-style S3: /bucket/key or /bucket?list-type=2. */
static void mini_s3_handler(void *user, const s3i_lb_request *req, s3i_lb_response *resp)
{
	mini_s3 *s = user;
	pthread_mutex_lock(&s->lock);
	s->requests++;
	record_signature(s, req->headers);
	if (ci_contains(req->headers, "x-amz-security-token: " E2E_TOKEN))
		s->tokens_seen++;
	char path[4096];
	snprintf(path, sizeof(path), "%s", req->target);
	char *q = strchr(path, '?');
	if (q)
		*q++ = '\0';
	char *key = strchr(path + 1, '/');
	if (key)
		*key++ = '\0';
	const char *bucket = path + 1;

	if (!strcmp(bucket, "denied")) {
		/* echo what S3 echoes on a bad signature: key id, signature, canonical request */
		char extra[4096];
		const char *sig = s->nsigs ? s->sigs[s->nsigs - 1] : "";
		snprintf(extra, sizeof(extra), "<AWSAccessKeyId>" E2E_AKID "</AWSAccessKeyId>"
			"<StringToSign>AWS4-HMAC-SHA256\n20240101T000000Z</StringToSign>"
			"<SignatureProvided>%s</SignatureProvided>"
			"<CanonicalRequest>GET\n/denied/k\n\nhost:127.0.0.1\nx-amz-security-token:"
			E2E_TOKEN "\n</CanonicalRequest>", sig);
		xml_error(s, resp, 403, "SignatureDoesNotMatch", extra);
	} else if (!strcmp(req->method, "PUT") && key && *key) {
		if (!strcmp(key, "flaky") && s->flaky_count++ == 0) {
			xml_error(s, resp, 503, "SlowDown", NULL);
		} else {
			int i = find_obj(s, key);
			if (i < 0 && s->nobjs < MAX_OBJS) {
				i = s->nobjs++;
				snprintf(s->objs[i].key, sizeof(s->objs[i].key), "%s", key);
			}
			if (i >= 0) {
				free(s->objs[i].body);
				s->objs[i].body = malloc(req->body_len + 1);
				memcpy(s->objs[i].body, req->body ? req->body : "", req->body_len);
				s->objs[i].len = req->body_len;
			}
			snprintf(resp->headers, sizeof(resp->headers), "ETag: \"0123\"\r\n");
		}
	} else if (!strcmp(req->method, "GET") && key && *key) {
		int i = find_obj(s, key);
		if (i < 0) {
			xml_error(s, resp, 404, "NoSuchKey", NULL);
		} else {
			resp->body = s->objs[i].body;
			resp->body_len = s->objs[i].len;
		}
	} else if (!strcmp(req->method, "GET")) {
		size_t n = (size_t)snprintf(s->reply, sizeof(s->reply),
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
			"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>%s</Name><KeyCount>%d</KeyCount>"
			"<IsTruncated>false</IsTruncated>", bucket, s->nobjs);
		for (int i = 0; i < s->nobjs; i++)
			n += (size_t)snprintf(s->reply + n, sizeof(s->reply) - n, "<Contents><Key>%s</Key>"
				"<LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>\"0123\"</ETag>"
				"<Size>%zu</Size><StorageClass>STANDARD</StorageClass></Contents>",
				s->objs[i].key, s->objs[i].len);
		snprintf(s->reply + n, sizeof(s->reply) - n, "</ListBucketResult>");
		snprintf(resp->headers, sizeof(resp->headers), "Content-Type: application/xml\r\n");
		resp->body = s->reply;
		resp->body_len = strlen(s->reply);
	} else if (!strcmp(req->method, "DELETE") && key) {
		int i = find_obj(s, key);
		if (i >= 0) {
			free(s->objs[i].body);
			s->objs[i] = s->objs[--s->nobjs];
		}
		resp->status = 204;
	} else {
		xml_error(s, resp, 400, "InvalidRequest", NULL);
	}
	pthread_mutex_unlock(&s->lock);
}

static void no_sleep(void *user, int64_t ms)
{
	(void)ms;
	(*(int *)user)++;
}

static int count_objects(void *payload, const s3i_s3_object_info *obj)
{
	(void)obj;
	(*(int *)payload)++;
	return 0;
}

static void t_e2e_no_secrets_in_trace_log(void **state)
{
	(void)state;
	mini_s3 *srv = calloc(1, sizeof(*srv));
	assert_non_null(srv);
	pthread_mutex_init(&srv->lock, NULL);
	s3i_loopback *lb = NULL;
	assert_int_equal(s3i_loopback_start(&lb, mini_s3_handler, srv), 0);

	captured cap;
	captured_init(&cap);
	int sleeps = 0;
	s3i_io_hooks hooks = S3I_IO_HOOKS_INIT;
	hooks.user = &sleeps;
	hooks.sleep_ms = no_sleep;
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.region = "us-east-1";
	o.endpoint_url = s3i_loopback_url(lb);
	o.access_key_id = E2E_AKID;
	o.secret_access_key = E2E_SECRET;
	o.session_token = E2E_TOKEN;
	o.log_fn = capture_fn;
	o.log_user = &cap;
	o.log_level = S3I_LOG_TRACE;
	o.io_hooks = &hooks;
	o.max_attempts = 3;
	s3i_ctx *ctx = NULL;
	int rc = s3i_ctx_new(&ctx, &o);
	if (rc)
		fail_msg("s3i_ctx_new: %d %s", rc, s3i_error_last()->message);

	const char body[] = "hello, secret-free world";
	rc = s3i_s3_put_object(ctx, "bkt", "dir/a.txt", body, strlen(body));
	if (rc)
		fail_msg("put: %d %s", rc, s3i_error_last()->message);
	s3i_buf got = S3I_BUF_INIT;
	assert_int_equal(s3i_s3_get_object(ctx, "bkt", "dir/a.txt", &got), S3I_OK);
	assert_int_equal(got.size, strlen(body));
	assert_memory_equal(got.ptr, body, got.size);
	s3i_buf_dispose(&got);

	/* retried once (503 SlowDown), then stored */
	rc = s3i_s3_put_object(ctx, "bkt", "flaky", "x", 1);
	if (rc)
		fail_msg("flaky put: %d %s", rc, s3i_error_last()->message);
	assert_int_equal(srv->flaky_count, 2);
	assert_true(sleeps >= 1);

	int n = 0;
	assert_int_equal(s3i_s3_list_objects(ctx, "bkt", NULL, count_objects, &n), S3I_OK);
	assert_int_equal(n, 2);

	/* failing calls: a missing key, and an error body that echoes credentials */
	assert_int_equal(s3i_s3_get_object(ctx, "bkt", "missing", &got), S3I_ENOTFOUND);
	assert_int_equal(s3i_error_last()->http_status, 404);
	assert_string_equal(s3i_error_last()->aws_code, "NoSuchKey");
	assert_int_equal(s3i_s3_get_object(ctx, "denied", "k", &got), S3I_EAUTH);
	assert_string_equal(s3i_error_last()->aws_code, "SignatureDoesNotMatch");
	/* the error detail handed to the caller is no place for secrets either */
	assert_absent(s3i_error_last()->message, E2E_SECRET);
	assert_absent(s3i_error_last()->message, E2E_TOKEN);

	/* a careless line through the context's own logger is caught too (and proves the checks
	 * below can see a leak: without redaction this line would fail them) */
	pthread_mutex_lock(&srv->lock);
	char careless[1024];
	snprintf(careless, sizeof(careless), "Authorization: AWS4-HMAC-SHA256 Credential=" E2E_AKID
		"/x/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=%s", srv->sigs[0]);
	pthread_mutex_unlock(&srv->lock);
	s3i_log(s3i_ctx_logger(ctx), S3I_LOG_DEBUG, "%s (secret " E2E_SECRET ", token " E2E_TOKEN ")",
		careless);

	assert_int_equal(s3i_s3_delete_object(ctx, "bkt", "dir/a.txt"), S3I_OK);
	assert_int_equal(s3i_s3_delete_object(ctx, "bkt", "flaky"), S3I_OK);
	n = 0;
	assert_int_equal(s3i_s3_list_objects(ctx, "bkt", "dir/", count_objects, &n), S3I_OK);
	assert_int_equal(n, 0);
	s3i_ctx_release(ctx);
	s3i_loopback_stop(lb);

	/* the server saw signed requests carrying the token, so there was something to leak */
	assert_true(srv->nsigs >= 8);
	assert_true(srv->tokens_seen >= 8);
	assert_true(cap.count > 0);
	int debug_lines = 0;
	for (size_t i = 0; i < cap.count; i++) {
		const char *l = cap.lines[i];
		if (cap.levels[i] == S3I_LOG_DEBUG)
			debug_lines++;
		assert_true(cap.levels[i] >= S3I_LOG_ERROR && cap.levels[i] <= S3I_LOG_TRACE);
		assert_absent(l, E2E_SECRET);
		assert_absent(l, "e2eSecretKey");
		assert_absent(l, "Distinctive+Value");
		assert_absent(l, E2E_TOKEN);
		assert_absent(l, "E2eSessionToken");
		assert_absent(l, "Distinctive+Token");
		assert_absent(l, E2E_AKID);
		for (int k = 0; k < srv->nsigs; k++) {
			char head[17];
			memcpy(head, srv->sigs[k], 16);
			head[16] = '\0';
			assert_absent(l, srv->sigs[k]);
			assert_absent(l, head);
		}
	}
	if (debug_lines == 0)
		fail_msg("no DEBUG line among %zu captured lines", cap.count);
	int redacted = 0;
	for (size_t i = 0; i < cap.count; i++)
		redacted += strstr(cap.lines[i], "[REDACTED]") != NULL;
	assert_true(redacted > 0);
	if (getenv("S3I_TEST_SHOW_LOG"))
		for (size_t i = 0; i < cap.count; i++)
			fprintf(stderr, "[%d] %s\n", cap.levels[i], cap.lines[i]);
	captured_free(&cap);
	for (int i = 0; i < srv->nobjs; i++)
		free(srv->objs[i].body);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

int main(void)
{
	/* no stray configuration from the machine running the tests */
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_MAX_ATTEMPTS");
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_redact_authorization_header),
		S3I_TEST(t_redact_security_token),
		S3I_TEST(t_redact_presigned_query),
		S3I_TEST(t_redact_credential_process_json),
		S3I_TEST(t_redact_sts_xml),
		S3I_TEST(t_redact_query_form_body),
		S3I_TEST(t_redact_ini_and_env),
		S3I_TEST(t_redact_bare_key_id),
		S3I_TEST(t_redact_keeps_harmless_text),
		S3I_TEST(t_redact_idempotent_and_bounds),
		S3I_TEST(t_header_is_secret),
		S3I_TEST(t_log_levels_and_lines),
		S3I_TEST(t_e2e_no_secrets_in_trace_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
