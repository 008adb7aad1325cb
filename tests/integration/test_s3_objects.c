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
#include "aws/ctx_internal.h"
#include "core/str.h"
#include "services/s3.h"
#include "moto.h"
#include "check.h"
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

/* WARN lines of the library, kept so tests can look at them (and shown, for diagnosis); every
 * line, TRACE included, in log_all for tests that look at what went on the wire. */
static char log_lines[8192];
static int log_warns;
static char log_all[1 << 18];
static size_t log_all_used;

static void test_log(void *user, s3i_log_level level, const char *line)
{
	(void)user;
	if (level <= S3I_LOG_WARN) {
		log_warns++;
		size_t used = strlen(log_lines);
		snprintf(log_lines + used, sizeof log_lines - used, "%s\n", line);
		fprintf(stderr, "  [s3i %d] %s\n", (int)level, line);
	}
	int n = snprintf(log_all + log_all_used, sizeof log_all - log_all_used, "%s\n", line);
	if (n > 0 && log_all_used + (size_t)n < sizeof log_all)
		log_all_used += (size_t)n;
}

/* Reset moto and open a context on it with the counting allocator and dummy keys. */
static s3i_ctx *begin_at(s3i_log_level level)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	log_lines[0] = '\0';
	log_warns = 0;
	log_all[0] = '\0';
	log_all_used = 0;
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
	assert_non_null(ctx);
	return ctx;
}

static s3i_ctx *begin(void) { return begin_at(S3I_LOG_WARN); }

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
	char owner[128];
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
	snprintf(e->owner, sizeof e->owner, "%s", info->owner_id);
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
		s3i_check_show_error(key, rc);
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
		s3i_check_show_error("expected failure", rc);
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

	/* all of them in one call: two DeleteObjects batches (1000 + 5) */
	static char names[MANY][16];
	static s3i_s3_object_id ids[MANY];
	for (int i = 0; i < MANY; i++) {
		snprintf(names[i], sizeof names[i], "page/%05d", i);
		ids[i].key = names[i];
		ids[i].version_id = NULL;
	}
	CHECK_OK(s3i_s3_delete_objects(ctx, "objs-many", ids, MANY, NULL, NULL));
	list_all(ctx, "objs-many", NULL, &c);
	assert_int_equal(c.count, 0);
	collected_free(&c);
	CHECK_OK(s3i_s3_delete_bucket(ctx, "objs-many"));
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
			s3i_check_show_error(special_keys[n], rc);
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

/* ------------------------------------------------------------------ listing options */

typedef struct prefixes {
	char items[16][128];
	int n;
	int stop_after;
} prefixes;

static int collect_prefix(void *payload, const char *prefix)
{
	prefixes *p = payload;
	assert_true(p->n < 16);
	snprintf(p->items[p->n++], sizeof p->items[0], "%s", prefix);
	return p->stop_after && p->n >= p->stop_after;
}

typedef struct both {
	collected c;      /* first: collect() casts the payload to collected */
	prefixes p;
} both;

static int both_prefix(void *payload, const char *prefix)
{
	return collect_prefix(&((both *)payload)->p, prefix);
}

static int list_both(s3i_ctx *ctx, const char *bucket, s3i_s3_list_options *o, both *b)
{
	memset(b, 0, sizeof *b);
	o->prefix_fn = both_prefix;
	return s3i_s3_list_objects_v2(ctx, bucket, o, collect, b);
}

static void test_list_objects_v2_options(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-opts", NULL));
	static const char *const keys[] = { "a/1", "a/2", "a/b/3", "b/4", "c", "d e/5", "d+e/6",
		"\xc3\xa9t\xc3\xa9/7", NULL };
	for (int i = 0; keys[i]; i++)
		CHECK_OK(s3i_s3_put_object(ctx, "objs-opts", keys[i], keys[i], strlen(keys[i])));
	both b;
	s3i_s3_list_options o = S3I_S3_LIST_OPTIONS_INIT;

	/* delimiter: top-level objects and "folders", decoded */
	o.delimiter = "/";
	CHECK_OK(list_both(ctx, "objs-opts", &o, &b));
	assert_int_equal(b.c.count, 1);
	assert_string_equal(b.c.items[0].key, "c");
	assert_int_equal(b.p.n, 5);
	static const char *const folders[] = { "a/", "b/", "d e/", "d+e/", "\xc3\xa9t\xc3\xa9/" };
	for (int i = 0; i < 5; i++)
		assert_string_equal(b.p.items[i], folders[i]);
	collected_free(&b.c);

	/* prefix and delimiter */
	o.prefix = "a/";
	CHECK_OK(list_both(ctx, "objs-opts", &o, &b));
	assert_int_equal(b.c.count, 2);
	assert_string_equal(b.c.items[0].key, "a/1");
	assert_string_equal(b.c.items[1].key, "a/2");
	assert_int_equal(b.p.n, 1);
	assert_string_equal(b.p.items[0], "a/b/");
	collected_free(&b.c);
	o.prefix = "d e/";
	CHECK_OK(list_both(ctx, "objs-opts", &o, &b));
	assert_int_equal(b.c.count, 1);
	assert_string_equal(b.c.items[0].key, "d e/5");
	collected_free(&b.c);

	/* start-after, and pages of two keys (more than one page: continuation tokens) */
	s3i_s3_list_options paged = S3I_S3_LIST_OPTIONS_INIT;
	paged.start_after = "a/2";
	paged.max_keys = 2;
	paged.fetch_owner = 1;
	CHECK_OK(list_both(ctx, "objs-opts", &paged, &b));
	assert_int_equal(b.c.count, 6);
	for (int i = 0; i < 6; i++) {
		assert_string_equal(b.c.items[i].key, keys[i + 2]);
		assert_true(b.c.items[i].owner[0] != '\0');     /* fetch-owner */
	}
	collected_free(&b.c);
	paged.start_after = NULL;
	paged.fetch_owner = 0;
	CHECK_OK(list_both(ctx, "objs-opts", &paged, &b));
	assert_int_equal(b.c.count, 8);
	assert_string_equal(b.c.items[0].owner, "");
	collected_free(&b.c);

	/* one page at a time, resumed from the token (what a resumable stage does) */
	s3i_svc svc = { s3i_ctx_client(ctx), NULL, NULL };
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, s3i_test_alloc());
	s3i_s3_list_options one = S3I_S3_LIST_OPTIONS_INIT;
	one.max_keys = 3;
	collected c;
	memset(&c, 0, sizeof c);
	char token[1024] = "";
	int pages = 0;
	do {
		one.continuation_token = token[0] ? token : NULL;
		CHECK_OK(s3i_s3_list_objects_page_op(&svc, "objs-opts", &one, collect, &c, &page, NULL));
		pages++;
		assert_int_equal(page.entries, pages < 3 ? 3 : 2);
		snprintf(token, sizeof token, "%s", s3i_buf_cstr(&page.next_token));
	} while (page.truncated);
	assert_int_equal(pages, 3);
	assert_int_equal(c.count, 8);
	assert_string_equal(c.items[7].key, keys[7]);
	collected_free(&c);
	s3i_s3_list_page_free(&page);

	/* only prefixes; a prefix callback that stops */
	prefixes p;
	memset(&p, 0, sizeof p);
	s3i_s3_list_options po = S3I_S3_LIST_OPTIONS_INIT;
	po.delimiter = "/";
	po.prefix_fn = collect_prefix;
	p.stop_after = 2;
	assert_int_equal(s3i_s3_list_objects_v2(ctx, "objs-opts", &po, NULL, &p), S3I_EUSER);
	assert_int_equal(p.n, 2);
	assert_int_equal(s3i_s3_list_objects_v2(ctx, "objs-opts", NULL, NULL, NULL), S3I_EINVALID);
	s3i_s3_list_options bad = S3I_S3_LIST_OPTIONS_INIT;
	bad.max_keys = -1;
	assert_int_equal(s3i_s3_list_objects_v2(ctx, "objs-opts", &bad, collect, &c), S3I_EINVALID);
	bad.struct_size = 2;
	assert_int_equal(s3i_s3_list_objects_v2(ctx, "objs-opts", &bad, collect, &c), S3I_EINVALID);

	/* a missing bucket, named */
	static const char *const names[] = { "ListObjectsV2", "bucket 'objs-none'", NULL };
	expect_error(s3i_s3_list_objects_v2(ctx, "objs-none", &o, collect, &c), S3I_ENOTFOUND,
		"NoSuchBucket", 404, names);
	for (int i = 0; keys[i]; i++)
		CHECK_OK(s3i_s3_delete_object(ctx, "objs-opts", keys[i]));
	s3i_ctx_release(ctx);
}

static int buf_put(void *payload, const char *data, size_t len)
{
	s3i_buf *b = payload;
	char *n = b->alloc->realloc(b->alloc->user, b->ptr, b->size + len + 1);
	if (!n)
		return S3I_ENOMEM;
	memcpy(n + b->size, data, len);
	b->ptr = n;
	b->size += len;
	b->ptr[b->size] = '\0';
	return 0;
}

static int buf_clear(void *payload)
{
	((s3i_buf *)payload)->size = 0;
	return 0;
}

/* Download a range into memory; returns the status, the bytes in *out (caller disposes). */
static int get_range(s3i_ctx *ctx, const char *bucket, const char *key, int64_t start,
	int64_t length, const char *if_match, s3i_s3_object_meta *meta, s3i_buf *out)
{
	memset(out, 0, sizeof *out);
	out->alloc = s3i_test_alloc();
	s3i_s3_get_options g = S3I_S3_GET_OPTIONS_INIT;
	g.range_start = start;
	g.range_length = length;
	g.if_match = if_match;
	return s3i_s3_get_object_to(ctx, bucket, key, &g, meta, buf_put, buf_clear, out);
}

/* ------------------------------------------------------------------ versions */

typedef struct vseen {
	char key[64][64];
	char version[64][80];
	char etag[64][40];
	int latest[64], marker[64];
	int64_t size[64];
	int n;
} vseen;

static int collect_version(void *payload, const s3i_s3_version_info *v)
{
	vseen *s = payload;
	assert_true(v->struct_size >= sizeof *v);
	assert_true(s->n < 64);
	snprintf(s->key[s->n], sizeof s->key[0], "%s", v->key);
	snprintf(s->version[s->n], sizeof s->version[0], "%s", v->version_id);
	snprintf(s->etag[s->n], sizeof s->etag[0], "%s", v->etag);
	s->latest[s->n] = v->is_latest;
	s->marker[s->n] = v->is_delete_marker;
	s->size[s->n] = v->size;
	s->n++;
	return 0;
}

typedef struct vboth {
	vseen v;          /* first: collect_version() casts the payload to vseen */
	prefixes p;
} vboth;

static int vboth_prefix(void *payload, const char *prefix)
{
	return collect_prefix(&((vboth *)payload)->p, prefix);
}

static int find_version(const vseen *s, const char *key, int marker, int latest)
{
	int found = -1;
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->key[i], key) && s->marker[i] == marker && s->latest[i] == latest) {
			assert_int_equal(found, -1);
			found = i;
		}
	return found;
}

static void enable_versioning(const char *bucket)
{
	char path[128], *body = NULL;
	snprintf(path, sizeof path, "/%s?versioning", bucket);
	s3i_moto_req req = { .method = "PUT", .path = path, .service = "s3",
		.content_type = "application/xml", .body = "<VersioningConfiguration xmlns=\"http://s3."
		"amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status></VersioningConfiguration>" };
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &req, &body, &status), 0);
	assert_int_equal(status, 200);
	free(body);
}

static void test_list_object_versions(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin();
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-vers", NULL));
	CHECK_OK(s3i_s3_put_object(ctx, "objs-vers", "before versioning", "0", 1));
	enable_versioning("objs-vers");
	const char *odd = "k 2+%~*=&//\xe2\x9c\xa8";   /* keys with characters that need care */
	CHECK_OK(s3i_s3_put_object(ctx, "objs-vers", "k1", "v1", 2));
	CHECK_OK(s3i_s3_put_object(ctx, "objs-vers", "k1", "v2!", 3));
	CHECK_OK(s3i_s3_put_object(ctx, "objs-vers", odd, "odd", 3));
	CHECK_OK(s3i_s3_delete_object(ctx, "objs-vers", "k1"));          /* a delete marker */
	CHECK_OK(s3i_s3_put_object(ctx, "objs-vers", "z", "z", 1));

	vseen all;
	memset(&all, 0, sizeof all);
	CHECK_OK(s3i_s3_list_object_versions(ctx, "objs-vers", NULL, collect_version, &all));
	assert_int_equal(all.n, 6);
	int m = find_version(&all, "k1", 1, 1);
	assert_true(m >= 0);
	assert_int_equal(all.size[m], 0);
	assert_string_equal(all.etag[m], "");
	int old = 0;
	for (int i = 0; i < all.n; i++)
		old += !strcmp(all.key[i], "k1") && !all.marker[i] && !all.latest[i];
	assert_int_equal(old, 2);
	int o = find_version(&all, odd, 0, 1);
	assert_true(o >= 0);
	char md5[33];
	md5_hex("odd", 3, md5);
	assert_string_equal(all.etag[o], md5);
	assert_int_equal(all.size[o], 3);
	int pre = find_version(&all, "before versioning", 0, 1);
	assert_true(pre >= 0);
	assert_string_equal(all.version[pre], "null");
	assert_true(find_version(&all, "z", 0, 1) >= 0);

	/* pages of two entries: the same entries, each once */
	s3i_s3_list_options paged = S3I_S3_LIST_OPTIONS_INIT;
	paged.max_keys = 2;
	vseen pg;
	memset(&pg, 0, sizeof pg);
	CHECK_OK(s3i_s3_list_object_versions(ctx, "objs-vers", &paged, collect_version, &pg));
	assert_int_equal(pg.n, all.n);
	for (int i = 0; i < all.n; i++) {
		int hits = 0;
		for (int j = 0; j < pg.n; j++)
			hits += !strcmp(all.key[i], pg.key[j]) && !strcmp(all.version[i], pg.version[j]);
		assert_int_equal(hits, 1);
	}

	/* a prefix, a delimiter */
	s3i_s3_list_options po = S3I_S3_LIST_OPTIONS_INIT;
	po.prefix = "k";
	po.delimiter = "/";
	po.prefix_fn = vboth_prefix;
	vboth ks;
	memset(&ks, 0, sizeof ks);
	CHECK_OK(s3i_s3_list_object_versions(ctx, "objs-vers", &po, collect_version, &ks));
	assert_int_equal(ks.v.n, 3);     /* k1: marker and two versions; the odd key rolls up */
	assert_int_equal(ks.p.n, 1);
	assert_string_equal(ks.p.items[0], "k 2+%~*=&/");

	/* an old version, by id, through a ranged download */
	int oldest = -1;
	for (int i = 0; i < all.n; i++)
		if (!strcmp(all.key[i], "k1") && !all.marker[i] && all.size[i] == 2)
			oldest = i;
	assert_true(oldest >= 0);
	s3i_s3_get_options g = S3I_S3_GET_OPTIONS_INIT;
	g.version_id = all.version[oldest];
	s3i_buf got = S3I_BUF_INIT;
	got.alloc = s3i_test_alloc();
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
	CHECK_OK(s3i_s3_get_object_to(ctx, "objs-vers", "k1", &g, &meta, buf_put, NULL, &got));
	assert_int_equal(got.size, 2);
	assert_memory_equal(got.ptr, "v1", 2);
	assert_string_equal(meta.version_id, all.version[oldest]);
	s3i_buf_dispose(&got);

	/* delete every version and marker by id: the bucket is empty */
	s3i_s3_object_id ids[64];
	for (int i = 0; i < all.n; i++) {
		ids[i].key = all.key[i];
		ids[i].version_id = all.version[i];
	}
	CHECK_OK(s3i_s3_delete_objects(ctx, "objs-vers", ids, (size_t)all.n, NULL, NULL));
	vseen none;
	memset(&none, 0, sizeof none);
	CHECK_OK(s3i_s3_list_object_versions(ctx, "objs-vers", NULL, collect_version, &none));
	assert_int_equal(none.n, 0);
	CHECK_OK(s3i_s3_delete_bucket(ctx, "objs-vers"));

	static const char *const names[] = { "ListObjectVersions", "bucket 'objs-vers'", NULL };
	expect_error(s3i_s3_list_object_versions(ctx, "objs-vers", NULL, collect_version, &none),
		S3I_ENOTFOUND, "NoSuchBucket", 404, names);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ ranged downloads */

static void test_ranged_get(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);
	s3i_ctx *ctx = begin();
	unsetenv("S3I_RETRY_BASE_MS");
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-range", NULL));
	static unsigned char data[1000];
	fill(11, data, sizeof data);
	const char *key = "ranges/a b+c.bin";
	CHECK_OK(s3i_s3_put_object(ctx, "objs-range", key, data, sizeof data));
	char md5[33];
	md5_hex(data, sizeof data, md5);
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
	s3i_buf b;

	CHECK_OK(get_range(ctx, "objs-range", key, 100, 50, NULL, &meta, &b));
	assert_int_equal(b.size, 50);
	assert_memory_equal(b.ptr, data + 100, 50);
	assert_int_equal(meta.partial, 1);
	assert_int_equal(meta.range_start, 100);
	assert_int_equal(meta.content_length, 50);
	assert_int_equal(meta.object_size, 1000);
	assert_string_equal(meta.etag, md5);
	assert_true(meta.last_modified_ms > 0);
	s3i_buf_dispose(&b);

	CHECK_OK(get_range(ctx, "objs-range", key, 990, 0, NULL, &meta, &b));   /* to the end */
	assert_int_equal(b.size, 10);
	assert_memory_equal(b.ptr, data + 990, 10);
	s3i_buf_dispose(&b);
	CHECK_OK(get_range(ctx, "objs-range", key, 995, 100, NULL, &meta, &b)); /* cut at the end */
	assert_int_equal(b.size, 5);
	assert_int_equal(meta.content_length, 5);
	s3i_buf_dispose(&b);
	CHECK_OK(get_range(ctx, "objs-range", key, 0, 0, md5, &meta, &b));      /* whole, If-Match */
	assert_int_equal(b.size, 1000);
	assert_int_equal(meta.partial, 0);
	assert_int_equal(meta.object_size, 1000);
	s3i_buf_dispose(&b);

	/* errors: beyond the end, another ETag, a missing key */
	static const char *const beyond[] = { "GetObject", "ranges/a b+c.bin", "objs-range", NULL };
	expect_error(get_range(ctx, "objs-range", key, 2000, 10, NULL, &meta, &b), S3I_EINVALID,
		"InvalidRange", 416, beyond);
	s3i_buf_dispose(&b);
	expect_error(get_range(ctx, "objs-range", key, 0, 10, "\"0123456789abcdef0123456789abcdef\"",
		&meta, &b), S3I_ECONFLICT, "PreconditionFailed", 412, beyond);
	s3i_buf_dispose(&b);
	static const char *const missing[] = { "GetObject", "no such", "objs-range", NULL };
	expect_error(get_range(ctx, "objs-range", "no such", 0, 10, NULL, &meta, &b), S3I_ENOTFOUND,
		"NoSuchKey", 404, missing);
	s3i_buf_dispose(&b);
	assert_int_equal(get_range(ctx, "objs-range", key, -1, 10, NULL, &meta, &b), S3I_EINVALID);
	s3i_buf_dispose(&b);

	/* a 503 first: the retry delivers the range once */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"GET\",\"path\":\"^/objs-range/ranges/\","
		"\"status\":503,\"body\":\"<Error><Code>SlowDown</Code></Error>\"}"), 0);
	CHECK_OK(get_range(ctx, "objs-range", key, 10, 20, NULL, &meta, &b));
	assert_int_equal(b.size, 20);
	assert_memory_equal(b.ptr, data + 10, 20);
	s3i_buf_dispose(&b);

	/* a server that ignores Range and sends the whole object (200): only the range arrives */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"GET\",\"path\":\"^/objs-range/whole$\","
		"\"status\":200,\"content_type\":\"application/octet-stream\",\"body\":\"0123456789\"}"), 0);
	CHECK_OK(get_range(ctx, "objs-range", "whole", 3, 4, NULL, &meta, &b));
	assert_int_equal(b.size, 4);
	assert_memory_equal(b.ptr, "3456", 4);
	assert_int_equal(meta.partial, 0);
	assert_int_equal(meta.object_size, 10);
	s3i_buf_dispose(&b);
	/* a 206 for another range than the one asked for is refused before a byte is delivered */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"GET\",\"path\":\"^/objs-range/wrong$\","
		"\"status\":206,\"content_type\":\"application/octet-stream\",\"body\":\"0123\","
		"\"headers\":{\"Content-Range\":\"bytes 0-3/10\"}}"), 0);
	static const char *const wrong[] = { "GetObject", "Content-Range 'bytes 0-3/10'", NULL };
	int rc = get_range(ctx, "objs-range", "wrong", 3, 4, NULL, &meta, &b);
	const s3i_error *e = s3i_error_last();
	if (rc != S3I_EPARSE)
		s3i_check_show_error("wrong range", rc);
	assert_int_equal(rc, S3I_EPARSE);
	for (int i = 0; wrong[i]; i++)
		assert_non_null(strstr(e->message, wrong[i]));
	assert_int_equal(b.size, 0);
	s3i_buf_dispose(&b);
	CHECK_OK(s3i_s3_delete_object(ctx, "objs-range", key));
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ copies */

static void test_copy_object(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);
	s3i_ctx *ctx = begin_at(S3I_LOG_TRACE);
	unsetenv("S3I_RETRY_BASE_MS");
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-csrc", NULL));
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-cdst", "eu-west-1"));
	int n = 0;
	for (; special_keys[n]; n++)
		CHECK_OK(s3i_s3_put_object(ctx, "objs-csrc", special_keys[n], special_keys[n],
			strlen(special_keys[n])));
	/* every special key copied to "copy/<key>" in another bucket (another region) */
	for (int i = 0; i < n; i++) {
		char dst[512];
		snprintf(dst, sizeof dst, "copy/%s", special_keys[i]);
		s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
		int rc = s3i_s3_copy_object(ctx, "objs-csrc", special_keys[i], "objs-cdst", dst, NULL, &meta);
		if (rc)
			s3i_check_show_error(special_keys[i], rc);
		assert_int_equal(rc, S3I_OK);
		char md5[33];
		md5_hex(special_keys[i], strlen(special_keys[i]), md5);
		assert_string_equal(meta.etag, md5);
		assert_int_equal(meta.parts, 0);
		assert_true(meta.last_modified_ms > 0);
	}
	/* the copy source header went out percent-encoded, '/' kept */
	assert_non_null(strstr(log_all, "x-amz-copy-source: objs-csrc/with%20space.txt"));
	assert_non_null(strstr(log_all, "x-amz-copy-source: objs-csrc/plus%2Bsign%2B.txt"));
	assert_non_null(strstr(log_all, "x-amz-copy-source: objs-csrc/double//slash"));
	assert_non_null(strstr(log_all, "x-amz-metadata-directive: COPY"));
	collected c;
	s3i_s3_list_options o = S3I_S3_LIST_OPTIONS_INIT;
	o.prefix = "copy/";
	memset(&c, 0, sizeof c);
	CHECK_OK(s3i_s3_list_objects_v2(ctx, "objs-cdst", &o, collect, &c));
	assert_int_equal(c.count, (size_t)n);
	for (size_t i = 0; i < c.count; i++) {
		int k = key_index(c.items[i].key + 5);
		assert_true(k >= 0);
		expect_object(ctx, "objs-cdst", c.items[i].key, special_keys[k], strlen(special_keys[k]));
	}
	collected_free(&c);

	/* the content type stays (metadata directive COPY) */
	s3i_s3_transfer_options up = S3I_S3_TRANSFER_OPTIONS_INIT;
	up.content_type = "text/csv; charset=utf-8";
	assert_int_equal(s3i_s3_upload(ctx, "objs-csrc", "typed.csv", 0, &up, NULL, NULL, NULL, NULL),
		S3I_EINVALID);   /* no source */
	static const char csv[] = "a,b\n1,2\n";
	char path[1024];
	temp_path(path, sizeof path, "typed.csv");
	write_all(path, csv, strlen(csv));
	CHECK_OK(s3i_s3_upload_file(ctx, "objs-csrc", "typed.csv", path, &up, NULL));
	unlink(path);
	CHECK_OK(s3i_s3_copy_object(ctx, "objs-csrc", "typed.csv", "objs-cdst", "typed copy.csv",
		NULL, NULL));
	s3i_buf b;
	s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
	CHECK_OK(get_range(ctx, "objs-cdst", "typed copy.csv", 0, 0, NULL, &meta, &b));
	assert_string_equal(meta.content_type, "text/csv; charset=utf-8");
	assert_int_equal(b.size, strlen(csv));
	s3i_buf_dispose(&b);

	/* S3 answered 200 with an error inside: tried again */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"PUT\",\"path\":\"^/objs-cdst/again$\","
		"\"status\":200,\"body\":\"<?xml version=\\\"1.0\\\" encoding=\\\"UTF-8\\\"?>\\n<Error>"
		"<Code>InternalError</Code><Message>We encountered an internal error. Please try again."
		"</Message><RequestId>R200</RequestId></Error>\"}"), 0);
	s3i_s3_transfer_options known = S3I_S3_TRANSFER_OPTIONS_INIT;
	known.source_size = (int64_t)strlen(csv);   /* known and small: no lookup, one CopyObject */
	CHECK_OK(s3i_s3_copy_object(ctx, "objs-csrc", "typed.csv", "objs-cdst", "again", &known, &meta));
	assert_non_null(strstr(log_lines, "CopyObject attempt 1/3 answered 200 with an error"));
	expect_object(ctx, "objs-cdst", "again", csv, strlen(csv));
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"PUT\",\"path\":\"^/objs-cdst/never$\","
		"\"status\":200,\"count\":3,\"body\":\"<Error><Code>InternalError</Code><Message>We "
		"encountered an internal error.</Message></Error>\"}"), 0);
	static const char *const never[] = { "after 3 attempts", "CopyObject", "key 'never' in bucket "
		"'objs-cdst'", "copied from key 'typed.csv' in bucket 'objs-csrc'", "HTTP 200", NULL };
	expect_error(s3i_s3_copy_object(ctx, "objs-csrc", "typed.csv", "objs-cdst", "never", &known,
		&meta), S3I_ESERVICE, "InternalError", 200, never);

	/* errors name the source or the destination */
	static const char *const no_src[] = { "key 'nope' in bucket 'objs-csrc'", NULL };
	expect_error(s3i_s3_copy_object(ctx, "objs-csrc", "nope", "objs-cdst", "x", NULL, NULL),
		S3I_ENOTFOUND, "NoSuchKey", 404, no_src);
	expect_error(s3i_s3_copy_object(ctx, "objs-csrc", "nope", "objs-cdst", "x", &known, NULL),
		S3I_ENOTFOUND, "NoSuchKey", 404, no_src);
	static const char *const no_dst[] = { "CopyObject", "bucket 'objs-cnone'", NULL };
	expect_error(s3i_s3_copy_object(ctx, "objs-csrc", "typed.csv", "objs-cnone", "x", &known,
		NULL), S3I_ENOTFOUND, "NoSuchBucket", 404, no_dst);
	assert_int_equal(s3i_s3_copy_object(ctx, "objs-csrc", "", "objs-cdst", "x", NULL, NULL),
		S3I_EINVALID);
	assert_int_equal(s3i_s3_copy_object(ctx, "objs-csrc", "a", "objs-cdst", NULL, NULL, NULL),
		S3I_EINVALID);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ DeleteObjects */

typedef struct del_errors {
	char lines[8][256];
	int n;
} del_errors;

static int collect_delete_error(void *payload, const s3i_s3_delete_error *e)
{
	del_errors *d = payload;
	assert_true(d->n < 8);
	snprintf(d->lines[d->n++], sizeof d->lines[0], "%s|%s|%s|%s", e->key, e->version_id, e->code,
		e->message);
	return 0;
}

static void test_delete_objects(void **state)
{
	(void)state;
	s3i_ctx *ctx = begin_at(S3I_LOG_TRACE);
	CHECK_OK(s3i_s3_create_bucket(ctx, "objs-del", NULL));
	s3i_s3_object_id ids[64];
	int n = 0;
	for (; special_keys[n]; n++) {
		CHECK_OK(s3i_s3_put_object(ctx, "objs-del", special_keys[n], "x", 1));
		ids[n].key = special_keys[n];
		ids[n].version_id = NULL;
	}
	CHECK_OK(s3i_s3_put_object(ctx, "objs-del", "stays", "x", 1));
	ids[n].key = "never-existed";     /* a missing key counts as deleted, as on S3 */
	ids[n].version_id = NULL;
	del_errors d;
	memset(&d, 0, sizeof d);
	CHECK_OK(s3i_s3_delete_objects(ctx, "objs-del", ids, (size_t)n + 1, collect_delete_error, &d));
	assert_int_equal(d.n, 0);
	collected c;
	list_all(ctx, "objs-del", NULL, &c);
	assert_int_equal(c.count, 1);
	assert_string_equal(c.items[0].key, "stays");
	collected_free(&c);
	/* what went out: POST ?delete, Quiet, Content-MD5 (AWS requires it; moto does not check) */
	assert_non_null(strstr(log_all, "http > Content-MD5: "));
	assert_non_null(strstr(log_all, "DeleteObjects"));

	/* per-key failures, as AWS reports them (moto never does): each reaches the callback, and
	 * the call fails naming the first */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"POST\",\"path\":\"^/objs-del/?$\","
		"\"query\":\"delete\",\"status\":200,\"body\":\"<?xml version=\\\"1.0\\\" encoding=\\\"UTF-8"
		"\\\"?>\\n<DeleteResult xmlns=\\\"http://s3.amazonaws.com/doc/2006-03-01/\\\"><Deleted><Key>"
		"stays</Key></Deleted><Error><Key>locked one</Key><Code>AccessDenied</Code><Message>Access "
		"Denied</Message></Error><Error><Key>busy</Key><VersionId>v7</VersionId><Code>InternalError"
		"</Code><Message>We encountered an internal error. Please try again.</Message></Error>"
		"</DeleteResult>\"}"), 0);
	s3i_s3_object_id three[3] = { { "stays", NULL }, { "locked one", NULL }, { "busy", "v7" } };
	memset(&d, 0, sizeof d);
	static const char *const names[] = { "DeleteObjects on bucket 'objs-del'",
		"2 of 3 keys were not deleted", "key 'locked one' in bucket 'objs-del'", "Access Denied",
		NULL };
	expect_error(s3i_s3_delete_objects(ctx, "objs-del", three, 3, collect_delete_error, &d),
		S3I_EAUTH, "AccessDenied", 200, names);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.lines[0], "locked one||AccessDenied|Access Denied");
	assert_string_equal(d.lines[1], "busy|v7|InternalError|We encountered an internal error. "
		"Please try again.");
	/* without a callback the failure is still reported */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"POST\",\"path\":\"^/objs-del/?$\","
		"\"query\":\"delete\",\"status\":200,\"body\":\"<DeleteResult><Error><Key>k</Key><Code>"
		"SlowDown</Code><Message>Reduce your request rate.</Message></Error></DeleteResult>\"}"), 0);
	static const char *const slow[] = { "1 of 1 keys were not deleted", "SlowDown", NULL };
	s3i_s3_object_id k = { "k", NULL };
	expect_error(s3i_s3_delete_objects(ctx, "objs-del", &k, 1, NULL, NULL), S3I_ETHROTTLED,
		"SlowDown", 200, slow);

	CHECK_OK(s3i_s3_delete_object(ctx, "objs-del", "stays"));
	CHECK_OK(s3i_s3_delete_bucket(ctx, "objs-del"));
	static const char *const gone[] = { "DeleteObjects", "bucket 'objs-del'", NULL };
	expect_error(s3i_s3_delete_objects(ctx, "objs-del", &k, 1, NULL, NULL), S3I_ENOTFOUND,
		"NoSuchBucket", 404, gone);
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
		S3I_TEST(test_list_objects_v2_options),
		S3I_TEST(test_list_object_versions),
		S3I_TEST(test_ranged_get),
		S3I_TEST(test_copy_object),
		S3I_TEST(test_delete_objects),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
