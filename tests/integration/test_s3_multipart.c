/*
 * Multipart uploads and copies (src/services/s3_multipart.c) against moto_server at small
 * sizes: this program's server starts with S3_UPLOAD_PART_MIN_SIZE=1024, so parts of a few
 * KiB are accepted as 5 MiB parts are on AWS. Covered: uploads of known and unknown length,
 * the threshold, ETags of the multipart form checked byte for byte, a throttled part retried
 * while the other parts go on, parts and completions that fail for good (the upload is
 * aborted, nothing is left), CompleteMultipartUpload and UploadPartCopy answering 200 with an
 * <Error> document (AWS documents both; served through the fault endpoint), UploadPartCopy
 * with the source's metadata carried over, and copy errors naming the source.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "aws/credentials.h"
#include "aws/ctx_internal.h"
#include "aws/sigv4.h"
#include "core/str.h"
#include "services/s3.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

#ifndef S3I_BINARY_DIR
#define S3I_BINARY_DIR "."
#endif

#define PART_MIN 1024

static s3i_moto *moto;

static int group_setup(void **state)
{
	(void)state;
	/* parts of 1 KiB are enough; a bucket of another account is AccessDenied (as on AWS
	 * without a bucket policy), so a part sent with the wrong credentials fails */
	static const char *const env[] = { "S3_UPLOAD_PART_MIN_SIZE=1024",
		"MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS=false", NULL };
	setenv("S3I_RETRY_BASE_MS", "10", 1);   /* read when a context is created */
	return s3i_moto_start(&moto, env);
}

/* ------------------------------------------------------------------ helpers */

/* Log lines up to DEBUG, kept in order so tests can look at what happened when. */
static char log_text[1 << 18];
static size_t log_used;

static void test_log(void *user, s3i_log_level level, const char *line)
{
	(void)user;
	if (level <= S3I_LOG_WARN)
		fprintf(stderr, "  [s3i %d] %s\n", (int)level, line);
	int n = snprintf(log_text + log_used, sizeof log_text - log_used, "%d %s\n", (int)level, line);
	if (n > 0 && log_used + (size_t)n < sizeof log_text)
		log_used += (size_t)n;
}

static s3i_ctx *begin_at(s3i_log_level level)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	log_used = 0;
	log_text[0] = '\0';
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	o.log_fn = test_log;
	o.log_level = level;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	return ctx;
}

static s3i_ctx *begin(void) { return begin_at(S3I_LOG_DEBUG); }

static void fill(uint64_t seed, unsigned char *buf, size_t len)
{
	uint64_t s = seed | 1;
	for (size_t i = 0; i < len; i++) {
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		buf[i] = (unsigned char)((s * 0x2545F4914F6CDD1Dull) >> 56);
	}
}

static void md5_hex(const void *data, size_t len, char out[33])
{
	unsigned char raw[16];
	assert_int_equal(s3i_md5(data, len, raw), 0);
	s3i_hex_encode(out, raw, sizeof raw);
}

/* S3's ETag of a multipart object: MD5 of the parts' binary MD5s, "-" and the part count. */
static void multipart_etag(const unsigned char *data, size_t len, size_t part, char *out, size_t cap)
{
	size_t n = (len + part - 1) / part;
	unsigned char *md5s = malloc(n * 16);
	assert_non_null(md5s);
	for (size_t i = 0; i < n; i++) {
		size_t at = i * part, l = len - at < part ? len - at : part;
		assert_int_equal(s3i_md5(data + at, l, md5s + i * 16), 0);
	}
	char hex[33];
	md5_hex(md5s, n * 16, hex);
	snprintf(out, cap, "%s-%zu", hex, n);
	free(md5s);
}

static int buf_sink(void *p, const char *data, size_t len)
{
	s3i_buf *b = p;
	char *n = b->alloc->realloc(b->alloc->user, b->ptr, b->size + len + 1);
	if (!n)
		return S3I_ENOMEM;
	memcpy(n + b->size, data, len);
	b->ptr = n;
	b->size += len;
	b->ptr[b->size] = '\0';
	return 0;
}

static void expect_object(s3i_ctx *ctx, const char *bucket, const char *key, const void *data,
	size_t len)
{
	s3i_buf got = S3I_BUF_INIT;
	int rc = s3i_s3_get_object(ctx, bucket, key, &got);
	if (rc)
		s3i_check_show_error(key, rc);
	assert_int_equal(rc, S3I_OK);
	assert_int_equal(got.size, len);
	assert_memory_equal(got.ptr, len ? data : "", len);
	s3i_buf_dispose(&got);
}

static void expect_error(int rc, int code, const char *aws_code, const char *const *mentions)
{
	const s3i_error *e = s3i_error_last();
	if (rc != code || (aws_code && strcmp(e->aws_code, aws_code)))
		s3i_check_show_error("expected failure", rc);
	fprintf(stderr, "  expected error: %s\n", e->message);
	assert_int_equal(rc, code);
	if (aws_code)
		assert_string_equal(e->aws_code, aws_code);
	assert_null(strchr(e->message, '\n'));
	for (const char *const *m = mentions; m && *m; m++) {
		if (!strstr(e->message, *m))
			fprintf(stderr, "message '%s' does not mention '%s'\n", e->message, *m);
		assert_non_null(strstr(e->message, *m));
	}
}

/* A source over memory that counts its reads and can fail at an offset. */
typedef struct mem_src {
	const unsigned char *data;
	size_t len, pos;
	size_t max_chunk;       /* 0: as much as asked */
	size_t fail_at;         /* 0: never */
	int reads, rewinds;
} mem_src;

static int mem_read(void *p, char *buf, size_t cap, size_t *out_len)
{
	mem_src *m = p;
	m->reads++;
	if (m->fail_at && m->pos >= m->fail_at)
		return S3I_EIO;
	size_t n = m->len - m->pos;
	if (n > cap)
		n = cap;
	if (m->max_chunk && n > m->max_chunk)
		n = m->max_chunk;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	*out_len = n;
	return 0;
}

static int mem_rewind(void *p)
{
	mem_src *m = p;
	m->rewinds++;
	m->pos = 0;
	return 0;
}

static int raw_s3(const char *method, const char *path, const char *const *headers,
	const char *body, char **out)
{
	s3i_moto_req req = { .method = method, .path = path, .service = "s3", .headers = headers,
		.body = body, .content_type = body ? "application/octet-stream" : NULL };
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &req, out, &status), 0);
	return status;
}

/* No multipart upload may be left in the bucket. */
static void expect_no_uploads(const char *bucket)
{
	char path[256], *body = NULL;
	snprintf(path, sizeof path, "/%s?uploads", bucket);
	assert_int_equal(raw_s3("GET", path, NULL, NULL, &body), 200);
	if (strstr(body, "<Upload>"))
		fprintf(stderr, "uploads left behind: %s\n", body);
	assert_null(strstr(body, "<Upload>"));
	free(body);
}

static s3i_s3_transfer_options small_parts(int64_t threshold, int64_t part, int concurrency)
{
	s3i_s3_transfer_options o = S3I_S3_TRANSFER_OPTIONS_INIT;
	o.multipart_threshold = threshold;
	o.part_size = part;
	o.copy_threshold = threshold;
	o.copy_part_size = part;
	o.max_concurrency = concurrency;
	return o;
}

/* Case-insensitive strstr: header names come in whatever case the server chose. */
static const char *ci_strstr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return hay;
	return NULL;
}

/* Position of the first log line holding both strings (b may be NULL), from `from` on, case
 * ignored; -1 if none. */
static long log_find(long from, const char *a, const char *b)
{
	const char *p = log_text + from;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[2048];
		snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), p);
		if (ci_strstr(line, a) && (!b || ci_strstr(line, b)))
			return (long)(p - log_text);
		p += n + (nl ? 1 : 0);
	}
	return -1;
}

/* ------------------------------------------------------------------ uploads */

static void test_upload_known_length(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "mp-up", NULL));
	enum { LEN = 50000, PART = 8192 };
	static unsigned char data[LEN];
	fill(1, data, LEN);
	mem_src src = { data, LEN, 0, 1000, 0, 0, 0 };   /* a source that hands out small chunks */
	s3i_s3_transfer_options o = small_parts(10000, PART, 3);
	o.content_type = "application/x-test";
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
	CHECK_OK(s3i_s3_upload(ctx, "mp-up", "big/known.bin", LEN, &o, &meta, mem_read, mem_rewind,
		&src));
	assert_int_equal(meta.parts, 7);                 /* 6 x 8192 + 848 */
	assert_int_equal(meta.object_size, LEN);
	char want[64];
	multipart_etag(data, LEN, PART, want, sizeof want);
	assert_string_equal(meta.etag, want);
	assert_int_equal(src.pos, LEN);
	assert_int_equal(src.rewinds, 0);
	expect_object(ctx, "mp-up", "big/known.bin", data, LEN);
	/* the object's type was given to CreateMultipartUpload */
	s3i_s3_object_meta got = S3I_S3_OBJECT_META_INIT;
	s3i_s3_get_options g = S3I_S3_GET_OPTIONS_INIT;
	g.range_length = 1;
	s3i_buf first = S3I_BUF_INIT;
	first.alloc = s3i_test_alloc();
	CHECK_OK(s3i_s3_get_object_to(ctx, "mp-up", "big/known.bin", &g, &got, buf_sink, NULL, &first));
	assert_string_equal(got.content_type, "application/x-test");
	assert_int_equal(got.object_size, LEN);
	assert_int_equal(first.size, 1);
	assert_int_equal((unsigned char)first.ptr[0], data[0]);
	assert_string_equal(got.etag, want);
	s3i_buf_dispose(&first);
	expect_no_uploads("mp-up");

	/* at the threshold: one PutObject, the plain MD5 ETag */
	mem_src small = { data, 10000, 0, 0, 0, 0, 0 };
	CHECK_OK(s3i_s3_upload(ctx, "mp-up", "small", 10000, &o, &meta, mem_read, mem_rewind, &small));
	assert_int_equal(meta.parts, 0);
	md5_hex(data, 10000, want);
	assert_string_equal(meta.etag, want);
	expect_object(ctx, "mp-up", "small", data, 10000);
	/* an empty object */
	mem_src none = { data, 0, 0, 0, 0, 0, 0 };
	CHECK_OK(s3i_s3_upload(ctx, "mp-up", "empty", 0, &o, &meta, mem_read, NULL, &none));
	assert_string_equal(meta.etag, "d41d8cd98f00b204e9800998ecf8427e");
	expect_object(ctx, "mp-up", "empty", "", 0);
	s3i_ctx_release(ctx);
}

static void test_upload_unknown_length(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "mp-stream", NULL));
	static unsigned char data[30000];
	fill(2, data, sizeof data);
	s3i_s3_transfer_options o = small_parts(10000, 8192, 2);
	char want[64];
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
	static const struct { const char *key; size_t len; int parts; } cases[] = {
		{ "s/30000", 30000, 4 },
		{ "s/16384", 16384, 2 },     /* ends on a part boundary: no empty third part */
		{ "s/9000", 9000, 2 },       /* more than a part, under the threshold: still parts */
		{ "s/5000", 5000, 0 },       /* ends within the first part: one PutObject */
		{ "s/0", 0, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		mem_src src = { data, cases[i].len, 0, 777, 0, 0, 0 };
		int rc = s3i_s3_upload(ctx, "mp-stream", cases[i].key, -1, &o, &meta, mem_read, NULL, &src);
		if (rc)
			s3i_check_show_error(cases[i].key, rc);
		assert_int_equal(rc, S3I_OK);
		assert_int_equal(meta.parts, cases[i].parts);
		assert_int_equal(meta.object_size, (int64_t)cases[i].len);
		if (cases[i].parts)
			multipart_etag(data, cases[i].len, 8192, want, sizeof want);
		else
			md5_hex(data, cases[i].len, want);
		assert_string_equal(meta.etag, want);
		expect_object(ctx, "mp-stream", cases[i].key, data, cases[i].len);
	}
	expect_no_uploads("mp-stream");
	s3i_ctx_release(ctx);
}

static void test_upload_file(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "mp-file", NULL));
	static unsigned char data[100000];
	fill(3, data, sizeof data);
	char path[1024];
	snprintf(path, sizeof path, "%s/Testing/Temporary/s3_multipart-%d.bin", S3I_BINARY_DIR,
		(int)getpid());
	FILE *f = fopen(path, "wb");
	if (!f) {
		snprintf(path, sizeof path, "/tmp/s3_multipart-%d.bin", (int)getpid());
		f = fopen(path, "wb");
	}
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, sizeof data, f), sizeof data);
	fclose(f);
	s3i_s3_transfer_options o = small_parts(20000, 16384, 4);
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
	CHECK_OK(s3i_s3_upload_file(ctx, "mp-file", "from/file \xc3\xa9+%.bin", path, &o, &meta));
	assert_int_equal(meta.parts, 7);
	char want[64];
	multipart_etag(data, sizeof data, 16384, want, sizeof want);
	assert_string_equal(meta.etag, want);
	expect_object(ctx, "mp-file", "from/file \xc3\xa9+%.bin", data, sizeof data);
	/* a caller built against a smaller struct: only the fields it knows, the rest defaults
	 * (a 100 kB file is below the default threshold: one PutObject) */
	s3i_s3_transfer_options old = S3I_S3_TRANSFER_OPTIONS_INIT;
	old.struct_size = (uint32_t)offsetof(s3i_s3_transfer_options, part_size);
	old.multipart_threshold = 20000;
	old.part_size = 1;   /* beyond its struct_size: ignored */
	CHECK_OK(s3i_s3_upload_file(ctx, "mp-file", "old-caller", path, &old, &meta));
	assert_int_equal(meta.parts, 1);   /* above its threshold; one part of the default 8 MiB */
	unlink(path);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ faults */

#define SLOWDOWN_PART(part, count, retry_after) \
	"{\"method\":\"PUT\",\"path\":\"^/mp-slow/k$\",\"query\":\"partNumber=" #part "&\"," \
	"\"status\":503,\"count\":" #count ",\"headers\":{\"Retry-After\":\"" #retry_after "\"}," \
	"\"body\":\"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>" \
	"<RequestId>INJECTED</RequestId></Error>\"}"

static void test_throttled_part_is_retried_while_others_proceed(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "mp-slow", NULL));
	enum { LEN = 8 * 4096 };
	static unsigned char data[LEN];
	fill(4, data, LEN);
	/* part 2 is throttled once and told to come back in a second */
	assert_int_equal(s3i_moto_add_fault(moto, SLOWDOWN_PART(2, 1, 1)), 0);
	mem_src src = { data, LEN, 0, 0, 0, 0, 0 };
	s3i_s3_transfer_options o = small_parts(4096, 4096, 3);
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
	CHECK_OK(s3i_s3_upload(ctx, "mp-slow", "k", LEN, &o, &meta, mem_read, NULL, &src));
	assert_int_equal(meta.parts, 8);
	expect_object(ctx, "mp-slow", "k", data, LEN);

	/* part 2's first attempt failed and was retried (its second attempt succeeded) ... */
	long failed = log_find(0, "UploadPart attempt 1/3 failed", "part 2 of key 'k'");
	long retried = log_find(0, "UploadPart", "part 2 of key 'k' in bucket 'mp-slow' -> 200");
	if (failed < 0 || retried < 0)
		fprintf(stderr, "log:\n%s\n", log_text);
	assert_true(failed >= 0 && retried > failed);
	assert_non_null(strstr(log_text + retried, "(attempt 2)"));
	/* ... while the other parts went on: parts started after part 2 failed finished before
	 * its retry did (it waited for Retry-After; the others had free slots) */
	long later = log_find(failed, "UploadPart", "part 8 of key 'k' in bucket 'mp-slow' -> 200");
	if (later < 0 || later > retried)
		fprintf(stderr, "log:\n%s\n", log_text);
	assert_true(later > failed && later < retried);
	expect_no_uploads("mp-slow");
	s3i_ctx_release(ctx);
}

static void test_failed_part_aborts_the_upload(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "mp-slow", NULL));
	enum { LEN = 6 * 4096 };
	static unsigned char data[LEN];
	fill(5, data, LEN);
	/* part 3 is throttled for good */
	assert_int_equal(s3i_moto_add_fault(moto, SLOWDOWN_PART(3, -1, 0)), 0);
	mem_src src = { data, LEN, 0, 0, 0, 0, 0 };
	s3i_s3_transfer_options o = small_parts(4096, 4096, 2);
	static const char *const names[] = { "UploadPart", "part 3 of key 'k' in bucket 'mp-slow'",
		"3 attempts", "aborted", NULL };
	expect_error(s3i_s3_upload(ctx, "mp-slow", "k", LEN, &o, NULL, mem_read, NULL, &src),
		S3I_ETHROTTLED, "SlowDown", names);
	assert_string_equal(s3i_error_last()->request_id, "INJECTED");
	assert_int_equal(s3i_error_last()->http_status, 503);
	assert_non_null(log_find(0, "AbortMultipartUpload", "-> 204") >= 0 ? "" : NULL);
	s3i_moto_clear_faults(moto);
	expect_no_uploads("mp-slow");
	s3i_buf b = S3I_BUF_INIT;
	assert_int_equal(s3i_s3_get_object(ctx, "mp-slow", "k", &b), S3I_ENOTFOUND);

	/* the source failing part-way is as bad: EIO, aborted */
	mem_src broken = { data, LEN, 0, 0, 3 * 4096 + 10, 0, 0 };
	static const char *const src_names[] = { "source failed", "key 'k' in bucket 'mp-slow'",
		"aborted", NULL };
	expect_error(s3i_s3_upload(ctx, "mp-slow", "k", LEN, &o, NULL, mem_read, NULL, &broken),
		S3I_EIO, NULL, src_names);
	expect_no_uploads("mp-slow");
	/* ... and a source shorter than it said */
	mem_src shorter = { data, LEN - 100, 0, 0, 0, 0, 0 };
	static const char *const short_names[] = { "ended after 24476 of 24576 bytes", NULL };
	expect_error(s3i_s3_upload(ctx, "mp-slow", "k", LEN, &o, NULL, mem_read, NULL, &shorter),
		S3I_EIO, NULL, short_names);
	expect_no_uploads("mp-slow");
	/* a missing bucket fails at CreateMultipartUpload, naming it */
	mem_src any = { data, LEN, 0, 0, 0, 0, 0 };
	static const char *const nb[] = { "CreateMultipartUpload", "bucket 'mp-none'", NULL };
	expect_error(s3i_s3_upload(ctx, "mp-none", "k", LEN, &o, NULL, mem_read, NULL, &any),
		S3I_ENOTFOUND, "NoSuchBucket", nb);
	s3i_ctx_release(ctx);
}

#define COMPLETE_ERROR(key, count) \
	"{\"method\":\"POST\",\"path\":\"^/mp-done/" key "$\",\"query\":\"uploadId=\",\"status\":200," \
	"\"count\":" #count ",\"body\":\"<?xml version=\\\"1.0\\\" encoding=\\\"UTF-8\\\"?>\\n\\n" \
	"<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try " \
	"again.</Message><RequestId>656c76696e6727732072657175657374</RequestId></Error>\"}"

static void test_complete_answering_200_with_error(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "mp-done", NULL));
	enum { LEN = 3 * 2048 + 5 };
	static unsigned char data[LEN];
	fill(6, data, LEN);
	s3i_s3_transfer_options o = small_parts(2048, 2048, 4);

	/* once: retried, and the object is complete */
	assert_int_equal(s3i_moto_add_fault(moto, COMPLETE_ERROR("k", 1)), 0);
	mem_src src = { data, LEN, 0, 0, 0, 0, 0 };
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
	CHECK_OK(s3i_s3_upload(ctx, "mp-done", "k", LEN, &o, &meta, mem_read, NULL, &src));
	assert_int_equal(meta.parts, 4);
	assert_true(log_find(0, "CompleteMultipartUpload attempt 1/3 answered 200 with an error",
		"InternalError") >= 0);
	expect_object(ctx, "mp-done", "k", data, LEN);

	/* every time: the failure is S3's, the upload is aborted */
	assert_int_equal(s3i_moto_add_fault(moto, COMPLETE_ERROR("k2", 3)), 0);
	mem_src again = { data, LEN, 0, 0, 0, 0, 0 };
	static const char *const names[] = { "CompleteMultipartUpload", "key 'k2' in bucket 'mp-done'",
		"InternalError", "HTTP 200", "after 3 attempts", "aborted", NULL };
	expect_error(s3i_s3_upload(ctx, "mp-done", "k2", LEN, &o, NULL, mem_read, NULL, &again),
		S3I_ESERVICE, "InternalError", names);
	assert_string_equal(s3i_error_last()->request_id, "656c76696e6727732072657175657374");
	expect_no_uploads("mp-done");
	s3i_buf b = S3I_BUF_INIT;
	assert_int_equal(s3i_s3_get_object(ctx, "mp-done", "k2", &b), S3I_ENOTFOUND);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ UploadPartCopy */

static void put_with_metadata(const char *bucket, const char *key_path, const void *data,
	size_t len)
{
	static const char *const headers[] = { "Content-Type: text/csv", "Cache-Control: max-age=60",
		"Content-Disposition: attachment; filename=\"x.csv\"", "x-amz-meta-color: blue",
		"x-amz-meta-run: r1", NULL };
	char path[512];
	snprintf(path, sizeof path, "/%s/%s", bucket, key_path);
	s3i_moto_req req = { .method = "PUT", .path = path, .service = "s3", .headers = headers,
		.body = data, .body_len = len, .content_type = "text/csv" };
	int status = 0;
	char *body = NULL;
	assert_int_equal(s3i_moto_call(moto, &req, &body, &status), 0);
	assert_int_equal(status, 200);
	free(body);
}

static void test_upload_part_copy(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin_at(S3I_LOG_TRACE);
	CHECK_OK(s3i_s3_create_bucket(ctx, "mp-src", NULL));
	CHECK_OK(s3i_s3_create_bucket(ctx, "mp-dst", NULL));
	enum { LEN = 40000, PART = 8192 };
	static unsigned char data[LEN];
	fill(7, data, LEN);
	/* "src dir/ü+%.csv", percent-encoded in the raw path */
	put_with_metadata("mp-src", "src%20dir/%C3%BC%2B%25.csv", data, LEN);
	const char *src_key = "src dir/\xc3\xbc+%.csv";
	const char *dst_key = "dst/copy of \xc3\xbc+%.csv";

	s3i_s3_transfer_options o = small_parts(10000, PART, 4);
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
	CHECK_OK(s3i_s3_copy_object(ctx, "mp-src", src_key, "mp-dst", dst_key, &o, &meta));
	assert_int_equal(meta.parts, 5);
	char want[64];
	multipart_etag(data, LEN, PART, want, sizeof want);
	assert_string_equal(meta.etag, want);
	/* the source went out percent-encoded, the parts as ranges pinned to its ETag */
	assert_true(log_find(0, "http > x-amz-copy-source: mp-src/src%20dir/%C3%BC%2B%25.csv", NULL) >= 0);
	assert_true(log_find(0, "http > x-amz-copy-source-range: bytes=32768-39999", NULL) >= 0);
	char md5[33], pin[96];
	md5_hex(data, LEN, md5);
	snprintf(pin, sizeof pin, "http > x-amz-copy-source-if-match: \"%s\"", md5);
	assert_true(log_find(0, pin, NULL) >= 0);

	/* content and metadata as CopyObject with COPY would give them */
	log_used = 0;
	log_text[0] = '\0';
	expect_object(ctx, "mp-dst", dst_key, data, LEN);
	assert_true(log_find(0, "http < Content-Type: text/csv", NULL) >= 0);
	assert_true(log_find(0, "http < x-amz-meta-color: blue", NULL) >= 0);
	assert_true(log_find(0, "http < x-amz-meta-run: r1", NULL) >= 0);
	assert_true(log_find(0, "http < Cache-Control: max-age=60", NULL) >= 0);
	assert_true(log_find(0, "http < Content-Disposition: attachment; filename=\"x.csv\"", NULL) >= 0);
	expect_no_uploads("mp-dst");

	/* at the threshold (size known or looked up): one CopyObject */
	o.copy_threshold = LEN;
	CHECK_OK(s3i_s3_copy_object(ctx, "mp-src", src_key, "mp-dst", "single-lookup", &o, &meta));
	assert_int_equal(meta.parts, 0);
	assert_string_equal(meta.etag, md5);
	o.source_size = LEN;
	CHECK_OK(s3i_s3_copy_object(ctx, "mp-src", src_key, "mp-dst", "single-known", &o, &meta));
	assert_int_equal(meta.parts, 0);
	expect_object(ctx, "mp-dst", "single-known", data, LEN);
	s3i_ctx_release(ctx);
}

#define PART_COPY_ERROR(part, count) \
	"{\"method\":\"PUT\",\"path\":\"^/mp-dst/d$\",\"query\":\"partNumber=" #part "&\"," \
	"\"status\":200,\"count\":" #count ",\"body\":\"<Error><Code>InternalError</Code>" \
	"<Message>We encountered an internal error. Please try again.</Message></Error>\"}"

static void test_upload_part_copy_faults_and_errors(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "mp-src", NULL));
	CHECK_OK(s3i_s3_create_bucket(ctx, "mp-dst", NULL));
	enum { LEN = 5 * 2048 };
	static unsigned char data[LEN];
	fill(8, data, LEN);
	CHECK_OK(s3i_s3_put_object(ctx, "mp-src", "s", data, LEN));
	s3i_s3_transfer_options o = small_parts(2048, 2048, 3);
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;

	/* a part answered 200 with an error: copied again, the others unaffected */
	assert_int_equal(s3i_moto_add_fault(moto, PART_COPY_ERROR(2, 1)), 0);
	CHECK_OK(s3i_s3_copy_object(ctx, "mp-src", "s", "mp-dst", "d", &o, &meta));
	assert_int_equal(meta.parts, 5);
	assert_true(log_find(0, "UploadPartCopy attempt 1/3 answered 200 with an error",
		"part 2 of key 'd'") >= 0);
	expect_object(ctx, "mp-dst", "d", data, LEN);
	/* every time: fails naming the part, aborted */
	assert_int_equal(s3i_moto_add_fault(moto, PART_COPY_ERROR(4, -1)), 0);
	static const char *const names[] = { "UploadPartCopy", "part 4 of key 'd' in bucket 'mp-dst'",
		"InternalError", "after 3 attempts", "aborted", NULL };
	expect_error(s3i_s3_copy_object(ctx, "mp-src", "s", "mp-dst", "d", &o, &meta),
		S3I_ESERVICE, "InternalError", names);
	s3i_moto_clear_faults(moto);
	expect_no_uploads("mp-dst");

	/* errors name the source when it is at fault */
	static const char *const no_key[] = { "key 'missing' in bucket 'mp-src'", "copy source", NULL };
	expect_error(s3i_s3_copy_object(ctx, "mp-src", "missing", "mp-dst", "d2", &o, &meta),
		S3I_ENOTFOUND, "NoSuchKey", no_key);
	static const char *const no_bucket[] = { "bucket 'mp-gone'", NULL };
	expect_error(s3i_s3_copy_object(ctx, "mp-gone", "s", "mp-dst", "d2", &o, &meta),
		S3I_ENOTFOUND, "NoSuchBucket", no_bucket);
	static const char *const no_dst[] = { "CreateMultipartUpload", "bucket 'mp-nodst'", NULL };
	expect_error(s3i_s3_copy_object(ctx, "mp-src", "s", "mp-nodst", "d2", &o, &meta),
		S3I_ENOTFOUND, "NoSuchBucket", no_dst);
	/* the source must still have the ETag the caller knows */
	o.source_if_match = "0123456789abcdef0123456789abcdef";
	static const char *const changed[] = { "key 's' in bucket 'mp-src'", NULL };
	expect_error(s3i_s3_copy_object(ctx, "mp-src", "s", "mp-dst", "d2", &o, &meta),
		S3I_ECONFLICT, "PreconditionFailed", changed);
	char md5[33];
	md5_hex(data, LEN, md5);
	o.source_if_match = md5;
	CHECK_OK(s3i_s3_copy_object(ctx, "mp-src", "s", "mp-dst", "d2", &o, &meta));
	o.source_if_match = NULL;
	/* an empty source cannot be ranged: one CopyObject */
	CHECK_OK(s3i_s3_put_object(ctx, "mp-src", "empty", NULL, 0));
	CHECK_OK(s3i_s3_copy_object(ctx, "mp-src", "empty", "mp-dst", "empty-copy", &o, &meta));
	assert_int_equal(meta.parts, 0);
	assert_string_equal(meta.etag, "d41d8cd98f00b204e9800998ecf8427e");
	expect_object(ctx, "mp-dst", "empty-copy", "", 0);
	expect_no_uploads("mp-dst");
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ two accounts */

typedef struct count_versions {
	int versions, markers;
} count_versions;

static int count_version(void *p, const s3i_s3_version_info *v)
{
	count_versions *c = p;
	if (v->is_delete_marker)
		c->markers++;
	else
		c->versions++;
	return 0;
}

/* Every call of an upload, a multipart copy, a listing and a delete runs with the credentials
 * of the svc it was given: here an AssumeRole session in account 111111111111, whose bucket
 * the home account may not touch. */
static void test_second_account_through_assume_role(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	s3i_svc home = { s3i_ctx_client(ctx), NULL, NULL };
	s3i_credprov_env env = { .alloc = s3i_ctx_alloc(ctx), .http = ctx->http,
		.region = "us-east-1", .endpoint_url = s3i_moto_url(moto), .logger = s3i_ctx_logger(ctx) };
	s3i_credprov *role = NULL;
	CHECK_OK(s3i_credprov_new_assume_role(&role, &env, ctx->creds,
		"arn:aws:iam::111111111111:role/s3-test", "s3-multipart-test", NULL, 900, NULL));
	s3i_svc other = { home.client, role, NULL };

	CHECK_OK(s3i_s3_create_bucket_op(&other, "mp-member", NULL, NULL));
	enum { LEN = 6 * 2048 + 1 };
	static unsigned char data[LEN];
	fill(9, data, LEN);
	s3i_s3_transfer_options o = small_parts(2048, 2048, 3);
	mem_src src = { data, LEN, 0, 0, 0, 0, 0 };
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
	CHECK_OK(s3i_s3_upload_op(&other, "mp-member", "up", LEN, &o, &meta, mem_read, NULL, &src,
		NULL));
	assert_int_equal(meta.parts, 7);
	CHECK_OK(s3i_s3_copy_object_op(&other, "mp-member", "up", "mp-member", "copy", &o, &meta,
		NULL));
	assert_int_equal(meta.parts, 7);
	count_versions cv = { 0, 0 };
	CHECK_OK(s3i_s3_list_object_versions_op(&other, "mp-member", NULL, count_version, &cv, NULL));
	assert_int_equal(cv.versions, 2);

	/* the home account is refused everywhere in that bucket */
	mem_src again = { data, LEN, 0, 0, 0, 0, 0 };
	int rc = s3i_s3_upload_op(&home, "mp-member", "up2", LEN, &o, NULL, mem_read, NULL, &again,
		NULL);
	expect_error(rc, S3I_EAUTH, "AccessDenied", NULL);
	rc = s3i_s3_list_object_versions_op(&home, "mp-member", NULL, count_version, &cv, NULL);
	expect_error(rc, S3I_EAUTH, "AccessDenied", NULL);

	/* the member account deletes its objects and its bucket */
	s3i_s3_object_id ids[2] = { { "up", NULL }, { "copy", NULL } };
	s3i_s3_delete_stats st;
	CHECK_OK(s3i_s3_delete_objects_op(&other, "mp-member", ids, 2, 1, NULL, NULL, NULL, &st, NULL));
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.failed, 0);
	cv.versions = cv.markers = 0;
	CHECK_OK(s3i_s3_list_object_versions_op(&other, "mp-member", NULL, count_version, &cv, NULL));
	assert_int_equal(cv.versions + cv.markers, 0);
	CHECK_OK(s3i_s3_delete_bucket_op(&other, "mp-member", NULL));
	s3i_credprov_release(role);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_upload_known_length),
		S3I_TEST(test_upload_unknown_length),
		S3I_TEST(test_upload_file),
		S3I_TEST(test_throttled_part_is_retried_while_others_proceed),
		S3I_TEST(test_failed_part_aborts_the_upload),
		S3I_TEST(test_complete_answering_200_with_error),
		S3I_TEST(test_upload_part_copy),
		S3I_TEST(test_upload_part_copy_faults_and_errors),
		S3I_TEST(test_second_account_through_assume_role),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
