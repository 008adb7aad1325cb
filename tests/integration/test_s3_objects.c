/*
 * S3 object calls of the public API (include/s3insights/s3.h) against moto_server, signature
 * checking off: buckets (regions, re-creation), put/get/list/delete round trips, listings
 * across pages, keys that need encoding, error mapping, streamed files and transparent
 * retries of injected 503 SlowDown answers. Every context uses the counting allocator, so a
 * leak fails the test that caused it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "aws/sigv4.h"
#include "core/str.h"
#include "moto.h"
#include "test_alloc.h"

#ifndef S3I_BINARY_DIR
#define S3I_BINARY_DIR "."
#endif

static s3i_moto *moto;

/* ------------------------------------------------------------------ helpers */

static int group_setup(void **state)
{
	(void)state;
	return s3i_moto_start(&moto, NULL);
}

/* WARN lines of the library, kept so tests can look at them (and shown, for diagnosis). */
static char log_lines[8192];
static int log_warns;

static void test_log(void *user, s3i_log_level level, const char *line)
{
	(void)user;
	if (level <= S3I_LOG_WARN) {
		log_warns++;
		size_t used = strlen(log_lines);
		snprintf(log_lines + used, sizeof log_lines - used, "%s\n", line);
	}
	fprintf(stderr, "  [s3i %d] %s\n", (int)level, line);
}

static void show_error(const char *what, int rc)
{
	const s3i_error *e = s3i_error_last();
	fprintf(stderr, "%s -> %d (%s): %s [aws_code '%s', HTTP %d, resource '%s']\n", what, rc,
		s3i_strerror(rc), e->message, e->aws_code, (int)e->http_status, e->resource);
}

#define CHECK_OK(call) do { \
	int rc_ = (call); \
	if (rc_ != S3I_OK) \
		show_error(#call, rc_); \
	assert_int_equal(rc_, S3I_OK); \
} while (0)

/* Reset moto and open a context on it with the counting allocator and dummy keys. */
static s3i_ctx *begin(void)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	log_lines[0] = '\0';
	log_warns = 0;
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	o.log_fn = test_log;
	o.log_level = S3I_LOG_WARN;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	assert_non_null(ctx);
	return ctx;
}

static void md5_hex(const void *data, size_t len, char out[33])
{
	unsigned char raw[16];
	assert_int_equal(s3i_md5(data, len, raw), 0);
	s3i_hex_encode(out, raw, sizeof raw);
}

/* Deterministic bytes (xorshift64*). */
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

static void temp_path(char *out, size_t len, const char *tag)
{
	char dir[900];
	snprintf(dir, sizeof dir, "%s/Testing", S3I_BINARY_DIR);
	mkdir(dir, 0755);
	snprintf(dir, sizeof dir, "%s/Testing/Temporary", S3I_BINARY_DIR);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		snprintf(dir, sizeof dir, "/tmp");
	snprintf(out, len, "%s/s3_objects-%d-%s", dir, (int)getpid(), tag);
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void write_all(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A listing collected into plain-malloc'd memory. */
typedef struct entry {
	char *key;
	int64_t size;
	int64_t last_modified_ms;
	char etag[80];
	char storage_class[32];
} entry;

typedef struct collected {
	entry *items;
	size_t count, cap;
	size_t stop_after;   /* 0: never stop */
} collected;

static int collect(void *payload, const s3i_s3_object_info *info)
{
	collected *c = payload;
	assert_true(info->struct_size >= sizeof(s3i_s3_object_info));
	if (c->count == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->items = realloc(c->items, c->cap * sizeof *c->items);
		assert_non_null(c->items);
	}
	entry *e = &c->items[c->count++];
	e->key = strdup(info->key);
	e->size = info->size;
	e->last_modified_ms = info->last_modified_ms;
	snprintf(e->etag, sizeof e->etag, "%s", info->etag);
	snprintf(e->storage_class, sizeof e->storage_class, "%s", info->storage_class);
	return c->stop_after && c->count >= c->stop_after;
}

static void collected_free(collected *c)
{
	for (size_t i = 0; i < c->count; i++)
		free(c->items[i].key);
	free(c->items);
	memset(c, 0, sizeof *c);
}

static void list_all(s3i_ctx *ctx, const char *bucket, const char *prefix, collected *out)
{
	memset(out, 0, sizeof *out);
	CHECK_OK(s3i_s3_list_objects(ctx, bucket, prefix, collect, out));
}

static void expect_object(s3i_ctx *ctx, const char *bucket, const char *key, const void *data,
	size_t len)
{
	s3i_buf got = S3I_BUF_INIT;
	int rc = s3i_s3_get_object(ctx, bucket, key, &got);
	if (rc)
		show_error(key, rc);
	assert_int_equal(rc, S3I_OK);
	assert_int_equal(got.size, len);
	assert_non_null(got.ptr);
	assert_memory_equal(got.ptr, len ? data : "", len);
	s3i_buf_dispose(&got);
}

/* The error detail after a failed call: code, AWS code, HTTP status, and text it must hold. */
static void expect_error(int rc, int code, const char *aws_code, int http_status,
	const char *const *mentions)
{
	const s3i_error *e = s3i_error_last();
	if (rc != code || strcmp(e->aws_code, aws_code))
		show_error("expected failure", rc);
	assert_int_equal(rc, code);
	assert_int_equal(e->code, code);
	assert_string_equal(e->aws_code, aws_code);
	assert_int_equal(e->http_status, http_status);
	for (const char *const *m = mentions; m && *m; m++) {
		if (!strstr(e->message, *m))
			fprintf(stderr, "message '%s' does not mention '%s'\n", e->message, *m);
		assert_non_null(strstr(e->message, *m));
	}
}

/* Raw view of moto (its own libcurl signer), independent of the library. */
static int raw_s3(const char *method, const char *path, char **body)
{
	s3i_moto_req req = { .method = method, .path = path, .service = "s3" };
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &req, body, &status), 0);
	return status;
}

/* ------------------------------------------------------------------ buckets */

static void test_create_and_delete_buckets(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	char *body = NULL;

	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-east", NULL));
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-east", NULL));          /* ours already: fine */
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-east", "us-east-1"));   /* no LocationConstraint */

	/* Another region: LocationConstraint is sent and stored. */
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-west", "eu-west-1"));
	assert_int_equal(raw_s3("GET", "/objs-west?location", &body), 200);
	assert_non_null(strstr(body, "eu-west-1"));
	free(body);
	assert_int_equal(raw_s3("GET", "/objs-east?location", &body), 200);
	assert_null(strstr(body, "eu-west-1"));
	free(body);
	/* Re-creating it there answers BucketAlreadyOwnedByYou, which is success for us. */
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-west", "eu-west-1"));

	assert_int_equal(raw_s3("GET", "/", &body), 200);
	assert_non_null(strstr(body, "<Name>objs-east</Name>"));
	assert_non_null(strstr(body, "<Name>objs-west</Name>"));
	free(body);

	CHECK_OK(s3i_s3_delete_bucket(ctx, "objs-east"));
	CHECK_OK(s3i_s3_delete_bucket(ctx, "objs-west"));
	assert_int_equal(raw_s3("GET", "/", &body), 200);
	assert_null(strstr(body, "objs-east"));
	assert_null(strstr(body, "objs-west"));
	free(body);

	static const char *const names[] = { "DeleteBucket", "objs-east", NULL };
	expect_error(s3i_s3_delete_bucket(ctx, "objs-east"), S3I_ENOTFOUND, "NoSuchBucket", 404, names);

	/* Bad arguments fail before anything is sent. */
	assert_int_equal(s3i_s3_create_bucket(ctx, "", NULL), S3I_EINVALID);
	assert_int_equal(s3i_s3_create_bucket(ctx, NULL, NULL), S3I_EINVALID);
	assert_int_equal(s3i_s3_create_bucket(NULL, "objs-east", NULL), S3I_EINVALID);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ objects */

static void test_put_get_list_delete(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-rt", NULL));

	static unsigned char bin[70000];
	fill(7, bin, sizeof bin);
	bin[0] = bin[100] = 0;
	const char *hello = "hello, world\n";
	int64_t before_ms = (int64_t)time(NULL) * 1000;
	CHECK_OK(s3i_s3_put_object(ctx, "objs-rt", "a/hello.txt", hello, strlen(hello)));
	CHECK_OK(s3i_s3_put_object(ctx, "objs-rt", "a/binary.bin", bin, sizeof bin));
	CHECK_OK(s3i_s3_put_object(ctx, "objs-rt", "b/empty", NULL, 0));
	CHECK_OK(s3i_s3_put_object(ctx, "objs-rt", "top", "x", 1));
	/* overwrite */
	CHECK_OK(s3i_s3_put_object(ctx, "objs-rt", "top", "second version", 14));

	expect_object(ctx, "objs-rt", "a/hello.txt", hello, strlen(hello));
	expect_object(ctx, "objs-rt", "a/binary.bin", bin, sizeof bin);
	expect_object(ctx, "objs-rt", "b/empty", "", 0);
	expect_object(ctx, "objs-rt", "top", "second version", 14);

	collected c;
	list_all(ctx, "objs-rt", NULL, &c);
	assert_int_equal(c.count, 4);
	static const char *const order[] = { "a/binary.bin", "a/hello.txt", "b/empty", "top" };
	const int64_t sizes[] = { sizeof bin, 13, 0, 14 };
	const void *datas[] = { bin, hello, "", "second version" };
	for (size_t i = 0; i < 4; i++) {
		char md5[33];
		md5_hex(datas[i], (size_t)sizes[i], md5);
		assert_string_equal(c.items[i].key, order[i]);
		assert_int_equal(c.items[i].size, sizes[i]);
		assert_string_equal(c.items[i].etag, md5);          /* quotes removed */
		assert_string_equal(c.items[i].storage_class, "STANDARD");
		assert_true(c.items[i].last_modified_ms >= before_ms - 120000);
		assert_true(c.items[i].last_modified_ms <= (int64_t)time(NULL) * 1000 + 120000);
	}
	collected_free(&c);

	list_all(ctx, "objs-rt", "a/", &c);                       /* prefix */
	assert_int_equal(c.count, 2);
	assert_string_equal(c.items[0].key, "a/binary.bin");
	assert_string_equal(c.items[1].key, "a/hello.txt");
	collected_free(&c);
	list_all(ctx, "objs-rt", "nothing-here/", &c);
	assert_int_equal(c.count, 0);
	collected_free(&c);

	/* The callback can stop the listing. */
	memset(&c, 0, sizeof c);
	c.stop_after = 2;
	assert_int_equal(s3i_s3_list_objects(ctx, "objs-rt", NULL, collect, &c), S3I_EUSER);
	assert_int_equal(c.count, 2);
	assert_int_equal(s3i_error_last()->code, S3I_EUSER);
	collected_free(&c);

	CHECK_OK(s3i_s3_delete_object(ctx, "objs-rt", "a/hello.txt"));
	CHECK_OK(s3i_s3_delete_object(ctx, "objs-rt", "a/hello.txt"));   /* missing: not an error */
	CHECK_OK(s3i_s3_delete_object(ctx, "objs-rt", "never-existed"));
	list_all(ctx, "objs-rt", NULL, &c);
	assert_int_equal(c.count, 3);
	collected_free(&c);
	CHECK_OK(s3i_s3_delete_object(ctx, "objs-rt", "a/binary.bin"));
	CHECK_OK(s3i_s3_delete_object(ctx, "objs-rt", "b/empty"));
	CHECK_OK(s3i_s3_delete_object(ctx, "objs-rt", "top"));
	list_all(ctx, "objs-rt", NULL, &c);
	assert_int_equal(c.count, 0);
	collected_free(&c);
	CHECK_OK(s3i_s3_delete_bucket(ctx, "objs-rt"));

	assert_int_equal(s3i_s3_put_object(ctx, "objs-rt", "", "x", 1), S3I_EINVALID);
	assert_int_equal(s3i_s3_put_object(ctx, "objs-rt", NULL, "x", 1), S3I_EINVALID);
	s3i_buf none = S3I_BUF_INIT;
	assert_int_equal(s3i_s3_get_object(ctx, "objs-rt", "k", NULL), S3I_EINVALID);
	assert_int_equal(s3i_s3_list_objects(ctx, "objs-rt", NULL, NULL, NULL), S3I_EINVALID);
	assert_null(none.ptr);
	s3i_ctx_release(ctx);
}

/* 1,005 keys: one more page than S3's default of 1,000 keys per ListObjectsV2 answer. */
#define MANY 1005

static void test_listing_crosses_pages(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-many", NULL));
	char key[64];
	for (int i = 0; i < MANY; i++) {
		snprintf(key, sizeof key, "page/%05d", i);
		CHECK_OK(s3i_s3_put_object(ctx, "objs-many", key, key, strlen(key)));
	}
	/* The server really pages: a raw first page stops at 1,000 and says so. */
	char *body = NULL;
	assert_int_equal(raw_s3("GET", "/objs-many?list-type=2", &body), 200);
	assert_non_null(strstr(body, "<IsTruncated>true</IsTruncated>"));
	assert_non_null(strstr(body, "<KeyCount>1000</KeyCount>"));
	free(body);

	collected c;
	list_all(ctx, "objs-many", NULL, &c);
	assert_int_equal(c.count, MANY);
	for (int i = 0; i < MANY; i++) {   /* every key once, in order */
		snprintf(key, sizeof key, "page/%05d", i);
		assert_string_equal(c.items[i].key, key);
		assert_int_equal(c.items[i].size, (int64_t)strlen(key));
	}
	collected_free(&c);

	/* Stopping inside the second page. */
	memset(&c, 0, sizeof c);
	c.stop_after = 1002;
	assert_int_equal(s3i_s3_list_objects(ctx, "objs-many", NULL, collect, &c), S3I_EUSER);
	assert_int_equal(c.count, 1002);
	collected_free(&c);

	list_all(ctx, "objs-many", "page/0100", &c);   /* prefix inside the first page */
	assert_int_equal(c.count, 5);                 /* page/01000 .. page/01004 */
	collected_free(&c);
	s3i_ctx_release(ctx);
}

/* Keys that need percent-encoding in the path, XML escaping or URL-decoding in listings. */
static const char *const special_keys[] = {
	"with space.txt",
	"  two  spaces  ",
	"plus+sign+.txt",
	"percent%20not-an-escape%",
	"percent%2Fslash%25",
	"tilde~name~",
	"star*name*",
	"query=1&and=2",
	"a&b<c>d\"e'f",
	"double//slash",
	"trailing/slash/",
	"/leading-slash",
	"//two-leading",
	"question?mark#hash",
	"mix !$()*,;:@[]{}|^`\\.txt",
	"caf\xc3\xa9/\xc3\xbc" "ber.txt",                          /* é, ü */
	"\xe4\xb8\xad\xe6\x96\x87/\xe6\x96\x87\xe4\xbb\xb6.txt",   /* 中文/文件.txt */
	"emoji \xf0\x9f\x9a\x80\xe2\x9c\xa8.bin",                  /* 🚀✨ */
	"tab\there",
	NULL
};

static int key_index(const char *key)
{
	for (int i = 0; special_keys[i]; i++)
		if (!strcmp(special_keys[i], key))
			return i;
	return -1;
}

static void test_special_keys_round_trip(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-keys", NULL));
	int n = 0;
	for (; special_keys[n]; n++) {
		/* body: the key itself plus a NUL and its index, so a mix-up is caught */
		char body[512];
		size_t len = (size_t)snprintf(body, sizeof body, "%s", special_keys[n]) + 1;
		body[len++] = (char)n;
		int rc = s3i_s3_put_object(ctx, "objs-keys", special_keys[n], body, len);
		if (rc)
			show_error(special_keys[n], rc);
		assert_int_equal(rc, S3I_OK);
	}

	collected c;
	list_all(ctx, "objs-keys", NULL, &c);
	int seen[64] = { 0 };
	for (size_t i = 0; i < c.count; i++) {
		int k = key_index(c.items[i].key);
		if (k < 0)
			fprintf(stderr, "listing returned an unknown key '%s'\n", c.items[i].key);
		assert_true(k >= 0);
		seen[k]++;
		assert_int_equal(c.items[i].size, (int64_t)strlen(special_keys[k]) + 2);
		if (i)   /* S3 lists in UTF-8 byte order; strcmp compares unsigned bytes */
			assert_true(strcmp(c.items[i - 1].key, c.items[i].key) < 0);
	}
	for (int i = 0; i < n; i++) {
		if (seen[i] != 1)
			fprintf(stderr, "key '%s' listed %d times\n", special_keys[i], seen[i]);
		assert_int_equal(seen[i], 1);
	}
	assert_int_equal(c.count, (size_t)n);
	collected_free(&c);

	/* A prefix with non-ASCII letters and one with a space. */
	list_all(ctx, "objs-keys", "caf\xc3\xa9/", &c);
	assert_int_equal(c.count, 1);
	assert_string_equal(c.items[0].key, special_keys[key_index("caf\xc3\xa9/\xc3\xbc" "ber.txt")]);
	collected_free(&c);
	list_all(ctx, "objs-keys", "with sp", &c);
	assert_int_equal(c.count, 1);
	collected_free(&c);
	list_all(ctx, "objs-keys", "plus+", &c);
	assert_int_equal(c.count, 1);
	assert_string_equal(c.items[0].key, "plus+sign+.txt");
	collected_free(&c);

	for (int i = 0; i < n; i++) {
		char body[512];
		size_t len = (size_t)snprintf(body, sizeof body, "%s", special_keys[i]) + 1;
		body[len++] = (char)i;
		expect_object(ctx, "objs-keys", special_keys[i], body, len);
	}
	for (int i = 0; i < n; i++) {
		CHECK_OK(s3i_s3_delete_object(ctx, "objs-keys", special_keys[i]));
		s3i_buf gone = S3I_BUF_INIT;
		assert_int_equal(s3i_s3_get_object(ctx, "objs-keys", special_keys[i], &gone), S3I_ENOTFOUND);
		assert_null(gone.ptr);
	}
	list_all(ctx, "objs-keys", NULL, &c);
	assert_int_equal(c.count, 0);
	collected_free(&c);
	CHECK_OK(s3i_s3_delete_bucket(ctx, "objs-keys"));
	s3i_ctx_release(ctx);
}

/* "." and ".." are ordinary key characters in S3: the path must go out as it is, not with its
 * dot segments removed as URL libraries do by default (the transport sets CURLOPT_PATH_AS_IS). */
static void test_dot_segment_keys(void **state)
{
	(void)state;
	static const char *const keys[] = { "dots/./and/../x", "./here", "b/./c", "d/e/../f", "..",
		"../up", NULL };
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-dots", NULL));
	int n = 0;
	for (; keys[n]; n++)
		CHECK_OK(s3i_s3_put_object(ctx, "objs-dots", keys[n], keys[n], strlen(keys[n])));
	collected c;
	list_all(ctx, "objs-dots", NULL, &c);
	for (size_t i = 0; i < c.count; i++)
		fprintf(stderr, "  stored as '%s'\n", c.items[i].key);
	assert_int_equal(c.count, (size_t)n);
	for (size_t i = 0; i < c.count; i++) {
		int found = 0;
		for (int k = 0; keys[k]; k++)
			found += !strcmp(keys[k], c.items[i].key);
		assert_int_equal(found, 1);
	}
	collected_free(&c);
	for (int i = 0; keys[i]; i++)
		expect_object(ctx, "objs-dots", keys[i], keys[i], strlen(keys[i]));
	for (int i = 0; keys[i]; i++)
		CHECK_OK(s3i_s3_delete_object(ctx, "objs-dots", keys[i]));
	list_all(ctx, "objs-dots", NULL, &c);
	assert_int_equal(c.count, 0);
	collected_free(&c);
	CHECK_OK(s3i_s3_delete_bucket(ctx, "objs-dots"));
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ errors */

static void test_errors_are_mapped_and_named(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-err", NULL));
	s3i_buf out = S3I_BUF_INIT;

	static const char *const missing_key[] = { "GetObject", "no/such key", "objs-err", NULL };
	expect_error(s3i_s3_get_object(ctx, "objs-err", "no/such key", &out), S3I_ENOTFOUND,
		"NoSuchKey", 404, missing_key);
	assert_null(out.ptr);
	assert_non_null(strstr(s3i_error_last()->resource, "no/such key"));
	assert_non_null(strstr(s3i_error_last()->resource, "objs-err"));

	static const char *const missing_bucket[] = { "GetObject", "objs-nope", NULL };
	expect_error(s3i_s3_get_object(ctx, "objs-nope", "k", &out), S3I_ENOTFOUND, "NoSuchBucket",
		404, missing_bucket);
	static const char *const put_missing[] = { "PutObject", "objs-nope", NULL };
	expect_error(s3i_s3_put_object(ctx, "objs-nope", "k", "x", 1), S3I_ENOTFOUND, "NoSuchBucket",
		404, put_missing);
	static const char *const list_missing[] = { "ListObjectsV2", "objs-nope", NULL };
	expect_error(s3i_s3_list_objects(ctx, "objs-nope", NULL, collect, NULL), S3I_ENOTFOUND,
		"NoSuchBucket", 404, list_missing);

	CHECK_OK(s3i_s3_put_object(ctx, "objs-err", "keep", "x", 1));
	static const char *const not_empty[] = { "DeleteBucket", "objs-err", NULL };
	expect_error(s3i_s3_delete_bucket(ctx, "objs-err"), S3I_ECONFLICT, "BucketNotEmpty", 409,
		not_empty);

	/* File variants: nothing is left behind by a failed download; a missing file is EIO. */
	char path[1024], partial[1100];
	temp_path(path, sizeof path, "missing-download");
	snprintf(partial, sizeof partial, "%s.s3i-partial", path);
	unlink(path);
	assert_int_equal(s3i_s3_get_object_file(ctx, "objs-err", "no/such key", path), S3I_ENOTFOUND);
	assert_string_equal(s3i_error_last()->aws_code, "NoSuchKey");
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(partial, F_OK), -1);
	temp_path(path, sizeof path, "does-not-exist");
	unlink(path);
	assert_int_equal(s3i_s3_put_object_file(ctx, "objs-err", "k", path), S3I_EIO);
	assert_non_null(strstr(s3i_error_last()->message, path));

	CHECK_OK(s3i_s3_delete_object(ctx, "objs-err", "keep"));
	CHECK_OK(s3i_s3_delete_bucket(ctx, "objs-err"));
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ streams */

#define BIG (20u * 1024 * 1024)

static void test_streamed_file_round_trip(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-big", NULL));
	unsigned char *data = malloc(BIG);
	assert_non_null(data);
	fill(20, data, BIG);
	char up[1024], down[1024];
	temp_path(up, sizeof up, "up.bin");
	temp_path(down, sizeof down, "down.bin");
	write_all(up, data, BIG);
	write_all(down, "old contents", 12);   /* replaced only once the whole object arrived */

	CHECK_OK(s3i_s3_put_object_file(ctx, "objs-big", "big/20MiB.bin", up));
	CHECK_OK(s3i_s3_get_object_file(ctx, "objs-big", "big/20MiB.bin", down));
	size_t len = 0;
	unsigned char *got = read_all(down, &len);
	assert_non_null(got);
	assert_int_equal(len, BIG);
	assert_memory_equal(got, data, BIG);
	free(got);

	collected c;
	list_all(ctx, "objs-big", NULL, &c);
	assert_int_equal(c.count, 1);
	assert_int_equal(c.items[0].size, (int64_t)BIG);
	char md5[33];
	md5_hex(data, BIG, md5);
	assert_string_equal(c.items[0].etag, md5);
	collected_free(&c);

	/* the same object into memory */
	expect_object(ctx, "objs-big", "big/20MiB.bin", data, BIG);

	/* an empty file both ways */
	write_all(up, "", 0);
	CHECK_OK(s3i_s3_put_object_file(ctx, "objs-big", "empty", up));
	CHECK_OK(s3i_s3_get_object_file(ctx, "objs-big", "empty", down));
	got = read_all(down, &len);
	assert_non_null(got);
	assert_int_equal(len, 0);
	free(got);

	unlink(up);
	unlink(down);
	free(data);
	CHECK_OK(s3i_s3_delete_object(ctx, "objs-big", "big/20MiB.bin"));
	CHECK_OK(s3i_s3_delete_object(ctx, "objs-big", "empty"));
	CHECK_OK(s3i_s3_delete_bucket(ctx, "objs-big"));
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ retries */

#define SLOWDOWN(method, path, count) \
	"{\"method\":\"" method "\",\"path\":\"" path "\",\"status\":503,\"count\":" #count "," \
	"\"body\":\"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message>" \
	"<RequestId>INJECTED</RequestId></Error>\"}"

static int fault_count_left(void)
{
	char *body = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/_fault", NULL, NULL, &body, &status), 0);
	assert_int_equal(status, 200);
	/* every rule consumed: no positive count remains */
	int left = strstr(body, "\"count\": 1") || strstr(body, "\"count\": 2") ||
		strstr(body, "\"count\": 3");
	free(body);
	return left;
}

static void test_slowdown_is_retried(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);   /* read when the context is created */
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-retry", NULL));

	/* One 503 SlowDown on the first PUT: the caller sees success. */
	assert_int_equal(s3i_moto_add_fault(moto, SLOWDOWN("PUT", "^/objs-retry/", 1)), 0);
	CHECK_OK(s3i_s3_put_object(ctx, "objs-retry", "k1", "payload", 7));
	assert_false(fault_count_left());
	assert_int_equal(log_warns, 1);               /* the retry was logged at WARN */
	assert_non_null(strstr(log_lines, "PutObject"));
	expect_object(ctx, "objs-retry", "k1", "payload", 7);

	/* A streamed upload is rewound and sent again. */
	char path[1024];
	temp_path(path, sizeof path, "retry.bin");
	static unsigned char data[300000];
	fill(3, data, sizeof data);
	write_all(path, data, sizeof data);
	assert_int_equal(s3i_moto_add_fault(moto, SLOWDOWN("PUT", "^/objs-retry/k2$", 2)), 0);
	CHECK_OK(s3i_s3_put_object_file(ctx, "objs-retry", "k2", path));
	assert_false(fault_count_left());
	expect_object(ctx, "objs-retry", "k2", data, sizeof data);

	/* A download that fails first starts over cleanly (no doubled bytes). */
	assert_int_equal(s3i_moto_add_fault(moto, SLOWDOWN("GET", "^/objs-retry/k2$", 1)), 0);
	expect_object(ctx, "objs-retry", "k2", data, sizeof data);
	assert_int_equal(s3i_moto_add_fault(moto, SLOWDOWN("GET", "^/objs-retry/k2$", 1)), 0);
	char down[1024];
	temp_path(down, sizeof down, "retry-down.bin");
	CHECK_OK(s3i_s3_get_object_file(ctx, "objs-retry", "k2", down));
	size_t len = 0;
	unsigned char *got = read_all(down, &len);
	assert_int_equal(len, sizeof data);
	assert_memory_equal(got, data, sizeof data);
	free(got);
	unlink(down);
	unlink(path);

	/* More failures than attempts (3 by default): throttled, after the retries. */
	assert_int_equal(s3i_moto_add_fault(moto, SLOWDOWN("PUT", "^/objs-retry/k3$", 3)), 0);
	static const char *const names[] = { "PutObject", "k3", "objs-retry", "3 attempts", NULL };
	expect_error(s3i_s3_put_object(ctx, "objs-retry", "k3", "x", 1), S3I_ETHROTTLED, "SlowDown",
		503, names);
	assert_string_equal(s3i_error_last()->request_id, "INJECTED");
	assert_true(s3i_status_is_retryable(S3I_ETHROTTLED));
	assert_false(fault_count_left());

	CHECK_OK(s3i_s3_delete_object(ctx, "objs-retry", "k1"));
	CHECK_OK(s3i_s3_delete_object(ctx, "objs-retry", "k2"));
	CHECK_OK(s3i_s3_delete_bucket(ctx, "objs-retry"));
	s3i_ctx_release(ctx);
	unsetenv("S3I_RETRY_BASE_MS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_create_and_delete_buckets),
		S3I_TEST(test_put_get_list_delete),
		S3I_TEST(test_listing_crosses_pages),
		S3I_TEST(test_special_keys_round_trip),
		S3I_TEST(test_dot_segment_keys),
		S3I_TEST(test_errors_are_mapped_and_named),
		S3I_TEST(test_streamed_file_round_trip),
		S3I_TEST(test_slowdown_is_retried),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
