/*
 * PutObjectTagging (s3i_s3_put_object_tagging): the XML body of botocore's Tagging shape, the
 * checks made before anything is sent (count, lengths in characters, UTF-8, repeated keys),
 * and what goes on the wire against the loopback server: PUT /<bucket>/<key>?tagging (with
 * versionId; DELETE for no tags), Content-MD5 of exactly the body (requestChecksumRequired in
 * the model), and the mapping of S3's error document. GetObjectTagging
 * (s3i_s3_get_object_tagging): the parser of its answer (tags in order, UTF-8 and escapes, an
 * empty set, refused shapes, a stop from the callback, running out of memory) and its request.
 */
#include "test_alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/errinfo.h"
#include "core/str.h"
#include "loopback.h"
#include "s3insights/s3insights.h"
#include "services/s3.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Tagging xmlns=\"" \
	"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>"

static int body_of(const s3i_s3_tag *tags, size_t n, s3i_buf *b, s3i_errinfo *err)
{
	s3i_buf_init(b, s3i_test_alloc());
	s3i_errinfo_init(err);
	return s3i_s3_tagging_body(b, tags, n, "PutObjectTagging on key 'k' in bucket 'b'", err);
}

static void t_body(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_errinfo err;
	s3i_s3_tag tags[] = { { "s3insights", "secret" }, { "a&b<c>", "\"ünï\" ✓" },
		{ "empty", NULL } };
	assert_int_equal(body_of(tags, 3, &b, &err), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), HEAD
		"<Tag><Key>s3insights</Key><Value>secret</Value></Tag>"
		"<Tag><Key>a&amp;b&lt;c&gt;</Key><Value>&quot;ünï&quot; ✓</Value></Tag>"
		"<Tag><Key>empty</Key><Value></Value></Tag></TagSet></Tagging>");
	s3i_buf_dispose(&b);
	/* no tags: an empty set (removes every tag) */
	assert_int_equal(body_of(NULL, 0, &b, &err), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), HEAD "</TagSet></Tagging>");
	s3i_buf_dispose(&b);
}

static void t_limits_count_characters(void **state)
{
	(void)state;
	/* 128 characters of 3 bytes each as a key, 256 two-byte characters as a value */
	char key[128 * 3 + 1] = "", value[256 * 2 + 1] = "";
	for (int i = 0; i < 128; i++)
		strcat(key, "✓");
	for (int i = 0; i < 256; i++)
		strcat(value, "é");
	s3i_s3_tag ok[] = { { key, value } };
	s3i_buf b;
	s3i_errinfo err;
	assert_int_equal(body_of(ok, 1, &b, &err), S3I_OK);
	s3i_buf_dispose(&b);

	s3i_s3_tag ten[10];
	char names[10][8];
	for (int i = 0; i < 10; i++) {
		snprintf(names[i], sizeof(names[i]), "t%d", i);
		ten[i].key = names[i];
		ten[i].value = "v";
	}
	assert_int_equal(body_of(ten, 10, &b, &err), S3I_OK);
	s3i_buf_dispose(&b);
}

static void expect_refused(const s3i_s3_tag *tags, size_t n, const char *needle)
{
	s3i_buf b;
	s3i_errinfo err;
	assert_int_equal(body_of(tags, n, &b, &err), S3I_EINVALID);
	assert_int_equal(b.size, 0);
	if (!strstr(err.message, needle))
		fprintf(stderr, "message '%s' lacks '%s'\n", err.message, needle);
	assert_non_null(strstr(err.message, needle));
	assert_non_null(strstr(err.message, "PutObjectTagging on key 'k' in bucket 'b'"));
	s3i_buf_dispose(&b);
}

static void t_refused_before_sending(void **state)
{
	(void)state;
	s3i_s3_tag eleven[11];
	for (int i = 0; i < 11; i++)
		eleven[i] = (s3i_s3_tag){ "k", "v" };
	expect_refused(eleven, 11, "11 tags");
	expect_refused(NULL, 2, "no tags given");
	s3i_s3_tag empty[] = { { "a", "1" }, { "", "2" } };
	expect_refused(empty, 2, "tag 1 has an empty key");
	s3i_s3_tag null_key[] = { { NULL, "2" } };
	expect_refused(null_key, 1, "tag 0 has an empty key");
	char long_key[130];
	memset(long_key, 'x', 129);
	long_key[129] = '\0';
	s3i_s3_tag too_long[] = { { long_key, "" } };
	expect_refused(too_long, 1, "longer than 128 characters");
	char long_value[258];
	memset(long_value, 'y', 257);
	long_value[257] = '\0';
	s3i_s3_tag value_too_long[] = { { "big", long_value } };
	expect_refused(value_too_long, 1, "value of tag 'big' is longer than 256");
	s3i_s3_tag twice[] = { { "dup", "1" }, { "other", "2" }, { "dup", "3" } };
	expect_refused(twice, 3, "tag key 'dup' given twice");
	s3i_s3_tag bad_utf8[] = { { "bad\xff", "1" } };
	expect_refused(bad_utf8, 1, "not valid UTF-8");
	s3i_s3_tag bad_value[] = { { "k", "\xc3" } };
	expect_refused(bad_value, 1, "value of tag 'k' is not valid UTF-8");
	/* a key with a line break is shown on one line */
	s3i_s3_tag multi[] = { { "a\nb", "1" }, { "a\nb", "2" } };
	s3i_buf b;
	s3i_errinfo err;
	assert_int_equal(body_of(multi, 2, &b, &err), S3I_EINVALID);
	assert_null(strchr(err.message, '\n'));
	s3i_buf_dispose(&b);
}

static void t_out_of_memory(void **state)
{
	(void)state;
	s3i_s3_tag tags[] = { { "k", "v" } };
	for (long n = 0; n < 4; n++) {
		s3i_buf b;
		s3i_errinfo err;
		s3i_test_alloc_fail_after(n);
		int rc = body_of(tags, 1, &b, &err);
		s3i_test_alloc_fail_after(-1);
		assert_true(rc == S3I_OK || rc == S3I_ENOMEM);
		if (rc)
			assert_non_null(strstr(err.message, "out of memory"));
		s3i_buf_dispose(&b);
	}
}

/* ------------------------------------------------------------------ the wire */

typedef struct wire {
	pthread_mutex_t lock;
	int requests;
	char target[600];
	char content_md5[64];
	char body_md5_b64[32];
	char content_type[64];
	char body[2048];
	int status;
	const char *answer;
} wire;

static void handler(void *user, const s3i_lb_request *req, s3i_lb_response *resp)
{
	wire *w = user;
	pthread_mutex_lock(&w->lock);
	w->requests++;
	snprintf(w->target, sizeof(w->target), "%.10s %.500s", req->method, req->target);
	if (s3i_lb_header(req, "Content-MD5", w->content_md5, sizeof(w->content_md5)) < 0)
		w->content_md5[0] = '\0';
	s3i_lb_header(req, "Content-Type", w->content_type, sizeof(w->content_type));
	s3i_buf b;
	s3i_buf_init(&b, NULL);
	s3i_base64_encode(&b, req->body_md5, 16);
	snprintf(w->body_md5_b64, sizeof(w->body_md5_b64), "%s", s3i_buf_cstr(&b));
	s3i_buf_dispose(&b);
	snprintf(w->body, sizeof(w->body), "%s", req->body ? req->body : "");
	resp->status = w->status ? w->status : 200;
	resp->body = w->answer;
	resp->body_len = w->answer ? strlen(w->answer) : 0;
	snprintf(resp->headers, sizeof(resp->headers), "Content-Type: application/xml\r\n"
		"x-amz-request-id: LOOPBACK\r\n");
	pthread_mutex_unlock(&w->lock);
}

static void t_on_the_wire(void **state)
{
	(void)state;
	wire w;
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.lock, NULL);
	s3i_loopback *lb = NULL;
	assert_int_equal(s3i_loopback_start(&lb, handler, &w), 0);
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_loopback_url(lb);
	o.region = "us-east-1";
	o.access_key_id = "AKIDEXAMPLE";
	o.secret_access_key = "secret";
	o.max_attempts = 1;
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), 0);

	s3i_s3_tag tags[] = { { "s3insights", "secret" }, { "run", "r1" } };
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "bkt", "dir/a b+c.pem", NULL, tags, 2),
		S3I_OK);
	pthread_mutex_lock(&w.lock);
	assert_int_equal(w.requests, 1);
	assert_string_equal(w.target, "PUT /bkt/dir/a%20b%2Bc.pem?tagging");
	assert_string_equal(w.content_md5, w.body_md5_b64);
	assert_int_equal(strlen(w.content_md5), 24);
	assert_string_equal(w.content_type, "application/xml");
	assert_string_equal(w.body, HEAD "<Tag><Key>s3insights</Key><Value>secret</Value></Tag>"
		"<Tag><Key>run</Key><Value>r1</Value></Tag></TagSet></Tagging>");
	pthread_mutex_unlock(&w.lock);

	/* no tags: DeleteObjectTagging, without a body */
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "bkt", "k", "v1", NULL, 0), S3I_OK);
	pthread_mutex_lock(&w.lock);
	assert_string_equal(w.target, "DELETE /bkt/k?tagging&versionId=v1");
	assert_string_equal(w.body, "");
	assert_string_equal(w.content_md5, "");
	pthread_mutex_unlock(&w.lock);

	/* a version */
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "bkt", "k", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
		tags, 1), S3I_OK);
	pthread_mutex_lock(&w.lock);
	assert_string_equal(w.target, "PUT /bkt/k?tagging&versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY");
	pthread_mutex_unlock(&w.lock);

	/* refused before sending: nothing on the wire */
	s3i_s3_tag eleven[11];
	for (int i = 0; i < 11; i++)
		eleven[i] = (s3i_s3_tag){ "k", "v" };
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "bkt", "k", NULL, eleven, 11), S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "11 tags"));
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "bkt", "", NULL, tags, 1), S3I_EINVALID);
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "", "k", NULL, tags, 1), S3I_EINVALID);
	assert_int_equal(s3i_s3_put_object_tagging(NULL, "bkt", "k", NULL, tags, 1), S3I_EINVALID);
	pthread_mutex_lock(&w.lock);
	assert_int_equal(w.requests, 3);
	/* S3's error document: a missing key is S3I_ENOTFOUND naming it */
	w.status = 404;
	w.answer = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>"
		"<Message>The specified key does not exist.</Message><Key>gone.txt</Key>"
		"<RequestId>REQ123</RequestId></Error>";
	pthread_mutex_unlock(&w.lock);
	assert_int_equal(s3i_s3_put_object_tagging(ctx, "bkt", "gone.txt", NULL, tags, 1),
		S3I_ENOTFOUND);
	const s3i_error *e = s3i_error_last();
	assert_string_equal(e->aws_code, "NoSuchKey");
	assert_int_equal(e->http_status, 404);
	assert_non_null(strstr(e->message, "PutObjectTagging"));
	assert_non_null(strstr(e->message, "gone.txt"));

	s3i_ctx_release(ctx);
	s3i_loopback_stop(lb);
	pthread_mutex_destroy(&w.lock);
}

/* ------------------------------------------------------------------ GetObjectTagging answers */

typedef struct seen {
	char text[1024];
	int calls;
	int stop_at;      /* call number to stop at with stop_rc; 0: never */
	int stop_rc;
} seen;

static int on_tag(void *payload, const char *key, const char *value)
{
	seen *s = payload;
	assert_non_null(key);
	assert_non_null(value);
	s->calls++;
	size_t n = strlen(s->text);
	snprintf(s->text + n, sizeof(s->text) - n, "%s=%s;", key, value);
	return s->calls == s->stop_at ? s->stop_rc : 0;
}

static int parse(const char *doc, seen *s, s3i_errinfo *err)
{
	s3i_errinfo_init(err);
	return s3i_s3_parse_tagging(s3i_test_alloc(), doc, doc ? strlen(doc) : 0,
		"GetObjectTagging on key 'k' in bucket 'b'", on_tag, s, err);
}

#define TAGGING "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Tagging xmlns=\"" \
	"http://s3.amazonaws.com/doc/2006-03-01/\">"

static void t_parse_tag_set(void **state)
{
	(void)state;
	seen s = { 0 };
	s3i_errinfo err;
	/* AWS's documented example, with UTF-8, escapes, an empty and a self-closed value */
	assert_int_equal(parse(TAGGING "\n  <TagSet>\n    <Tag>\n      <Key>tag1</Key>\n"
		"      <Value>val1</Value>\n    </Tag>\n    <Tag><Key>ファイル</Key><Value>ünï ✓</Value>"
		"</Tag><Tag><Value>v</Value><Key>a&amp;b</Key></Tag><Tag><Key>empty</Key><Value></Value>"
		"</Tag><Tag><Key>closed</Key><Value/></Tag><Tag><Key>absent</Key></Tag>"
		"<Tag><Key>spaced</Key><Value> a b </Value><Extra>x</Extra></Tag>\n  </TagSet>\n"
		"</Tagging>", &s, &err), S3I_OK);
	assert_string_equal(s.text, "tag1=val1;ファイル=ünï ✓;a&b=v;empty=;closed=;absent=;"
		"spaced= a b ;");
	assert_int_equal(s.calls, 7);

	/* no tags: fn is never called (an empty set, a self-closed one, none at all) */
	const char *none[] = { TAGGING "<TagSet></TagSet></Tagging>", TAGGING "<TagSet/></Tagging>",
		"<Tagging/>", "  \n<Tagging><TagSet>\n</TagSet></Tagging>" };
	for (size_t i = 0; i < sizeof(none) / sizeof(*none); i++) {
		memset(&s, 0, sizeof(s));
		assert_int_equal(parse(none[i], &s, &err), S3I_OK);
		assert_int_equal(s.calls, 0);
	}
	/* Tag elements elsewhere are not the tag set */
	memset(&s, 0, sizeof(s));
	assert_int_equal(parse("<Tagging><Other><Tag><Key>x</Key></Tag></Other><TagSet><Tag><Key>a"
		"</Key><Value>1</Value><Tag><Key>inner</Key></Tag></Tag></TagSet></Tagging>", &s, &err),
		S3I_OK);
	assert_string_equal(s.text, "a=1;");
}

static void expect_bad_answer(const char *doc, int code, const char *needle)
{
	seen s = { 0 };
	s3i_errinfo err;
	assert_int_equal(parse(doc, &s, &err), code);
	assert_int_equal(err.pub.code, code);
	if (!strstr(err.message, needle))
		fprintf(stderr, "message '%s' lacks '%s'\n", err.message, needle);
	assert_non_null(strstr(err.message, needle));
	assert_non_null(strstr(err.message, "GetObjectTagging on key 'k' in bucket 'b'"));
	assert_null(strchr(err.message, '\n'));
	assert_int_equal(s.calls, 0);
}

static void t_parse_refused(void **state)
{
	(void)state;
	expect_bad_answer(TAGGING "<TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>",
		S3I_EPARSE, "without a usable Key");
	expect_bad_answer(TAGGING "<TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>",
		S3I_EPARSE, "without a usable Key");
	expect_bad_answer("<Tagging><TagSet><Tag><Key>a</Key><Key>b</Key></Tag></TagSet></Tagging>",
		S3I_EPARSE, "two <Key> elements");
	expect_bad_answer("<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value><Value>2</Value></Tag>"
		"</TagSet></Tagging>", S3I_EPARSE, "two <Value> elements");
	expect_bad_answer("<ListBucketResult><Name>b</Name></ListBucketResult>", S3I_EPARSE,
		"<ListBucketResult> document");
	expect_bad_answer("<Tagging><TagSet><Tag><Key>a</Key>", S3I_EPARSE, "line");
	expect_bad_answer("", S3I_EPARSE, "GetObjectTagging");
	expect_bad_answer(NULL, S3I_EPARSE, "GetObjectTagging");
	expect_bad_answer("<!DOCTYPE t [<!ENTITY x \"y\">]><Tagging/>", S3I_EPARSE, "GetObjectTagging");
	/* an error document, as S3 may send with 200 */
	expect_bad_answer("<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified"
		" key does not exist.</Message></Error>", S3I_ENOTFOUND, "NoSuchKey");
	expect_bad_answer("<Error><Code>InternalError</Code></Error>", S3I_ESERVICE, "InternalError");
}

static void t_parse_stopped(void **state)
{
	(void)state;
	const char *doc = "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key>"
		"<Value>2</Value></Tag><Tag><Key>c</Key><Value>3</Value></Tag></TagSet></Tagging>";
	/* fn's value is what the call returns, whatever it is */
	int stops[] = { 1, 42, S3I_ENOMEM, S3I_EUSER };
	for (size_t i = 0; i < sizeof(stops) / sizeof(*stops); i++) {
		seen s = { .stop_at = 2, .stop_rc = stops[i] };
		s3i_errinfo err;
		assert_int_equal(parse(doc, &s, &err), stops[i]);
		assert_int_equal(s.calls, 2);
		assert_string_equal(s.text, "a=1;b=2;");
		assert_int_equal(err.pub.code, S3I_EUSER);
		assert_non_null(strstr(err.message, "stopped by the callback"));
	}
}

static void t_parse_out_of_memory(void **state)
{
	(void)state;
	const char *doc = TAGGING "<TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>";
	int ok = 0;
	for (long n = 0; n < 200 && !ok; n++) {
		seen s = { 0 };
		s3i_errinfo err;
		s3i_test_alloc_fail_after(n);
		int rc = parse(doc, &s, &err);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK) {
			ok = 1;
			assert_string_equal(s.text, "a=1;");
		} else {
			assert_int_equal(rc, S3I_ENOMEM);
			assert_int_equal(err.pub.code, S3I_ENOMEM);
		}
	}
	assert_true(ok);
}

static void t_get_on_the_wire(void **state)
{
	(void)state;
	wire w;
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.lock, NULL);
	s3i_loopback *lb = NULL;
	assert_int_equal(s3i_loopback_start(&lb, handler, &w), 0);
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_loopback_url(lb);
	o.region = "us-east-1";
	o.access_key_id = "AKIDEXAMPLE";
	o.secret_access_key = "secret";
	o.max_attempts = 1;
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), 0);

	w.answer = TAGGING "<TagSet><Tag><Key>cost</Key><Value>team-a</Value></Tag><Tag><Key>ret"
		"</Key><Value></Value></Tag></TagSet></Tagging>";
	seen s = { 0 };
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "bkt", "dir/a b+c.pem", NULL, on_tag, &s),
		S3I_OK);
	assert_string_equal(s.text, "cost=team-a;ret=;");
	pthread_mutex_lock(&w.lock);
	assert_int_equal(w.requests, 1);
	assert_string_equal(w.target, "GET /bkt/dir/a%20b%2Bc.pem?tagging");
	assert_string_equal(w.body, "");
	pthread_mutex_unlock(&w.lock);

	memset(&s, 0, sizeof(s));
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "bkt", "k", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
		on_tag, &s), S3I_OK);
	pthread_mutex_lock(&w.lock);
	assert_string_equal(w.target, "GET /bkt/k?tagging&versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY");
	pthread_mutex_unlock(&w.lock);

	/* a stop from fn comes back as it is */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	s.stop_rc = 7;
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "bkt", "k", "", on_tag, &s), 7);
	assert_int_equal(s.calls, 1);

	/* refused before sending: nothing on the wire */
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "bkt", "k", NULL, NULL, NULL), S3I_EINVALID);
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "bkt", "", NULL, on_tag, &s), S3I_EINVALID);
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "", "k", NULL, on_tag, &s), S3I_EINVALID);
	assert_int_equal(s3i_s3_get_object_tagging(NULL, "bkt", "k", NULL, on_tag, &s), S3I_EINVALID);
	pthread_mutex_lock(&w.lock);
	assert_int_equal(w.requests, 3);
	/* S3's error document for a version that is not there: ENOTFOUND naming all three */
	w.status = 404;
	w.answer = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchVersion</Code>"
		"<Message>The specified version does not exist.</Message><Key>k</Key>"
		"<VersionId>v9</VersionId><RequestId>REQ123</RequestId></Error>";
	pthread_mutex_unlock(&w.lock);
	memset(&s, 0, sizeof(s));
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "bkt", "gone.txt", "v9", on_tag, &s),
		S3I_ENOTFOUND);
	const s3i_error *e = s3i_error_last();
	assert_string_equal(e->aws_code, "NoSuchVersion");
	assert_int_equal(e->http_status, 404);
	assert_non_null(strstr(e->message, "GetObjectTagging"));
	assert_non_null(strstr(e->message, "gone.txt"));
	assert_non_null(strstr(e->message, "'bkt'"));
	assert_non_null(strstr(e->message, "v9"));
	assert_int_equal(s.calls, 0);
	/* 200 with something that is not a tag set */
	pthread_mutex_lock(&w.lock);
	w.status = 200;
	w.answer = "<Tagging><TagSet><Tag><Value>1</Value></Tag></TagSet></Tagging>";
	pthread_mutex_unlock(&w.lock);
	assert_int_equal(s3i_s3_get_object_tagging(ctx, "bkt", "k", NULL, on_tag, &s), S3I_EPARSE);
	assert_non_null(strstr(s3i_error_last()->message, "GetObjectTagging on key 'k' in bucket "
		"'bkt'"));

	s3i_ctx_release(ctx);
	s3i_loopback_stop(lb);
	pthread_mutex_destroy(&w.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_body),
		S3I_TEST(t_limits_count_characters),
		S3I_TEST(t_refused_before_sending),
		S3I_TEST(t_out_of_memory),
		S3I_TEST(t_on_the_wire),
		S3I_TEST(t_parse_tag_set),
		S3I_TEST(t_parse_refused),
		S3I_TEST(t_parse_stopped),
		S3I_TEST(t_parse_out_of_memory),
		S3I_TEST(t_get_on_the_wire),
	};
	return cmocka_run_group_tests_name("s3_tagging", tests, NULL, NULL);
}
