/* Core helpers: buffers, encodings, time, error detail and allocation (src/core). */
#include "test_alloc.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "core/str.h"
#include "s3insights/errors.h"

/* ------------------------------------------------------------------ s3i_buf */

static void t_err_one_line(void **state)
{
	(void)state;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_err(&e, S3I_EPARSE, "key 'a\nb'", "bad value \"%s\"", "x\r\ny\t\x7f");
	assert_string_equal(e.pub.message, "bad value \"x??y??\"");
	assert_string_equal(e.pub.resource, "key 'a?b'");
	s3i_err_aws(&e, S3I_EAWS, 500, "Code\n", "id\n", NULL, "line1\nline2");
	assert_string_equal(e.pub.message, "line1?line2");
	assert_string_equal(e.pub.aws_code, "Code?");
	assert_string_equal(e.pub.request_id, "id?");
	/* a cut never leaves half a UTF-8 character */
	char big[2000];
	memset(big, 'a', sizeof(big));
	size_t at = sizeof(e.message) - 2;       /* "é" straddles the last byte kept */
	big[at] = (char)0xC3;
	big[at + 1] = (char)0xA9;
	big[sizeof(big) - 1] = '\0';
	s3i_err(&e, S3I_EINVALID, NULL, "%s", big);
	assert_int_equal(strlen(e.pub.message), at);
	char buf[4];
	assert_string_equal(s3i_str_one_line(buf, sizeof(buf), "ab\xc3\xa9"), "ab");
	assert_string_equal(s3i_str_one_line(buf, sizeof(buf), NULL), "");
}

static void t_err_reword(void **state)
{
	(void)state;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_err_aws(&e, S3I_EAWS, 400, "QueueDoesNotExist", "req-1", "queue 'q'",
		"SendMessage: QueueDoesNotExist: The queue does not exist. (HTTP 400)");
	assert_int_equal(s3i_err_reword(&e, S3I_ENOTFOUND, "queue 'q'", "queue '%s' does not exist in %s",
		"q", "eu-west-1"), S3I_ENOTFOUND);
	assert_string_equal(e.pub.message, "queue 'q' does not exist in eu-west-1 "
		"(QueueDoesNotExist: The queue does not exist., HTTP 400, request id req-1)");
	assert_int_equal(e.pub.code, S3I_ENOTFOUND);
	assert_string_equal(e.pub.aws_code, "QueueDoesNotExist");
	assert_string_equal(e.pub.request_id, "req-1");
	assert_int_equal(e.pub.http_status, 400);
	/* no AWS code, no request id: only the HTTP status is added */
	s3i_errinfo_init(&e);
	s3i_err_aws(&e, S3I_ESERVICE, 503, NULL, NULL, NULL, "upstream said 503");
	s3i_err_reword(&e, S3I_ESERVICE, NULL, "stack '%s'", "s");
	assert_string_equal(e.pub.message, "stack 's' (HTTP 503)");
}

static void t_buf_growth(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_null(b.ptr);
	assert_int_equal(b.size, 0);
	assert_string_equal(s3i_buf_cstr(&b), "");
	/* many small appends: contents stay exact across reallocations, always NUL-terminated */
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(s3i_buf_putc(&b, (char)('a' + i % 26)), S3I_OK);
		assert_int_equal(b.size, (size_t)i + 1);
		assert_true(b.asize > b.size);
		assert_int_equal(b.ptr[b.size], '\0');
	}
	for (int i = 0; i < 5000; i++)
		assert_int_equal(b.ptr[i], 'a' + i % 26);
	/* one large append */
	char big[100000];
	memset(big, 'x', sizeof(big));
	assert_int_equal(s3i_buf_put(&b, big, sizeof(big)), S3I_OK);
	assert_int_equal(b.size, 5000 + sizeof(big));
	assert_int_equal(b.ptr[b.size], '\0');
	assert_int_equal(b.ptr[5000], 'x');
	/* binary data with NULs */
	s3i_buf_clear(&b);
	assert_int_equal(b.size, 0);
	assert_string_equal(s3i_buf_cstr(&b), "");
	assert_int_equal(s3i_buf_put(&b, "a\0b", 3), S3I_OK);
	assert_int_equal(b.size, 3);
	assert_memory_equal(b.ptr, "a\0b", 4);
	/* empty appends are fine */
	assert_int_equal(s3i_buf_put(&b, NULL, 0), S3I_OK);
	assert_int_equal(s3i_buf_puts(&b, ""), S3I_OK);
	assert_int_equal(b.size, 3);
	s3i_buf_dispose(&b);
	assert_null(b.ptr);
	assert_int_equal(b.size, 0);
	assert_int_equal(b.asize, 0);
}

static void t_buf_printf(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_buf_printf(&b, "%s-%d", "abc", 42), S3I_OK);
	assert_string_equal(b.ptr, "abc-42");
	assert_int_equal(s3i_buf_printf(&b, "/%05.1f/%x", 3.14159, 255u), S3I_OK);
	assert_string_equal(b.ptr, "abc-42/003.1/ff");
	assert_int_equal(b.size, strlen("abc-42/003.1/ff"));
	/* longer than any initial capacity */
	char big[3000];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(s3i_buf_printf(&b, "[%s]", big), S3I_OK);
	assert_int_equal(b.size, strlen("abc-42/003.1/ff") + 2 + 2999);
	assert_int_equal(b.ptr[b.size - 1], ']');
	assert_int_equal(b.ptr[b.size], '\0');
	/* an empty format adds nothing */
	size_t before = b.size;
	assert_int_equal(s3i_buf_printf(&b, "%s", ""), S3I_OK);
	assert_int_equal(b.size, before);
	s3i_buf_dispose(&b);
}

static void t_buf_detach_truncate(void **state)
{
	(void)state;
	const s3i_allocator *a = s3i_test_alloc();
	s3i_buf b;
	s3i_buf_init(&b, a);
	assert_int_equal(s3i_buf_puts(&b, "hello world"), S3I_OK);
	s3i_buf_truncate(&b, 5);
	assert_int_equal(b.size, 5);
	assert_string_equal(b.ptr, "hello");
	s3i_buf_truncate(&b, 50);      /* longer than the contents: no change */
	assert_string_equal(b.ptr, "hello");
	char *s = s3i_buf_detach(&b);
	assert_non_null(s);
	assert_string_equal(s, "hello");
	assert_null(b.ptr);
	assert_int_equal(b.size, 0);
	assert_int_equal(b.asize, 0);
	s3i_free(a, s);
	/* detaching an empty buffer gives an allocated "" */
	s3i_buf_init(&b, a);
	s = s3i_buf_detach(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	s3i_free(a, s);
	/* the buffer is reusable after a detach */
	assert_int_equal(s3i_buf_puts(&b, "again"), S3I_OK);
	assert_string_equal(b.ptr, "again");
	s3i_buf_truncate(&b, 0);
	assert_string_equal(s3i_buf_cstr(&b), "");
	s3i_buf_dispose(&b);
	assert_int_equal(s3i_test_alloc_outstanding(), 0);
}

static void t_buf_dispose_null_and_empty(void **state)
{
	(void)state;
	s3i_buf_dispose(NULL);
	s3i_buf b = S3I_BUF_INIT;
	s3i_buf_dispose(&b);
	s3i_buf_dispose(&b);
	assert_null(b.ptr);
	/* a zero-initialised buffer (no allocator) falls back to the default allocator */
	assert_int_equal(s3i_buf_puts(&b, "x"), S3I_OK);
	assert_ptr_equal(b.alloc, s3i_allocator_default());
	s3i_buf_dispose(&b);
	s3i_buf_dispose(&b);
	assert_null(b.ptr);
	assert_int_equal(b.size, 0);
}

static void t_buf_oom(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	s3i_test_alloc_fail_after(0);
	assert_int_equal(s3i_buf_puts(&b, "x"), S3I_ENOMEM);
	assert_int_equal(s3i_buf_putc(&b, 'x'), S3I_ENOMEM);
	assert_int_equal(s3i_buf_printf(&b, "%d", 1), S3I_ENOMEM);
	assert_int_equal(s3i_buf_grow(&b, 10), S3I_ENOMEM);
	assert_null(s3i_buf_detach(&b));
	assert_null(b.ptr);
	assert_int_equal(b.size, 0);
	s3i_test_alloc_fail_after(-1);
	assert_int_equal(s3i_buf_puts(&b, "abc"), S3I_OK);
	/* a failed growth keeps what the buffer held */
	s3i_test_alloc_fail_after(0);
	char big[1000];
	memset(big, 'z', sizeof(big));
	assert_int_equal(s3i_buf_put(&b, big, sizeof(big)), S3I_ENOMEM);
	assert_int_equal(b.size, 3);
	assert_string_equal(b.ptr, "abc");
	/* sizes that would overflow fail without allocating */
	s3i_test_alloc_fail_after(-1);
	long count = s3i_test_alloc_count();
	assert_int_equal(s3i_buf_grow(&b, SIZE_MAX), S3I_ENOMEM);
	assert_int_equal(s3i_buf_grow(&b, SIZE_MAX - 3), S3I_ENOMEM);
	assert_int_equal(s3i_test_alloc_count(), count);
	assert_string_equal(b.ptr, "abc");
	s3i_buf_dispose(&b);
}

static void t_str_oom(void **state)
{
	(void)state;
	const s3i_allocator *a = s3i_test_alloc();
	s3i_test_alloc_fail_after(0);
	assert_null(s3i_strdup(a, "abc"));
	assert_null(s3i_strndup(a, "abc", 2));
	assert_null(s3i_malloc(a, 10));
	assert_null(s3i_calloc(a, 2, 10));
	char *slot = NULL;
	assert_int_equal(s3i_str_set(a, &slot, "value"), S3I_ENOMEM);
	assert_null(slot);
	s3i_test_alloc_fail_after(-1);
	assert_int_equal(s3i_str_set(a, &slot, "value"), S3I_OK);
	assert_string_equal(slot, "value");
	s3i_test_alloc_fail_after(0);
	assert_int_equal(s3i_str_set(a, &slot, "other"), S3I_ENOMEM);
	assert_string_equal(slot, "value");      /* untouched on failure */
	assert_int_equal(s3i_str_set(a, &slot, NULL), S3I_OK);   /* clearing never allocates */
	assert_null(slot);
	s3i_test_alloc_fail_after(-1);

	/* encoders report ENOMEM too */
	s3i_buf b;
	s3i_buf_init(&b, a);
	s3i_test_alloc_fail_after(0);
	assert_int_equal(s3i_uri_encode(&b, "a b", 3, 0), S3I_ENOMEM);
	assert_int_equal(s3i_uri_decode(&b, "a%20b", 5, 0), S3I_ENOMEM);
	assert_int_equal(s3i_base64_encode(&b, (const unsigned char *)"abc", 3), S3I_ENOMEM);
	assert_int_equal(s3i_base64_decode(&b, "YWJj", 4), S3I_ENOMEM);
	s3i_test_alloc_fail_after(-1);
	s3i_buf_dispose(&b);
}

/* ------------------------------------------------------------------ allocator */

static void t_allocator_default(void **state)
{
	(void)state;
	const s3i_allocator *d = s3i_allocator_default();
	assert_non_null(d);
	assert_ptr_equal(d, s3i_allocator_default());
	assert_int_equal(d->struct_size, sizeof(s3i_allocator));
	assert_non_null(d->alloc);
	assert_non_null(d->realloc);
	assert_non_null(d->free);
	char *p = d->alloc(d->user, 16);
	assert_non_null(p);
	memcpy(p, "0123456789abcde", 16);
	p = d->realloc(d->user, p, 4096);
	assert_non_null(p);
	assert_string_equal(p, "0123456789abcde");
	d->free(d->user, p);
	d->free(d->user, NULL);
	p = d->realloc(d->user, NULL, 8);     /* realloc(NULL) behaves as alloc */
	assert_non_null(p);
	d->free(d->user, p);

	/* the internal helpers: NULL allocator means the default one */
	p = s3i_malloc(NULL, 0);              /* zero-size requests still give a pointer */
	assert_non_null(p);
	s3i_free(NULL, p);
	s3i_free(NULL, NULL);
	unsigned char *z = s3i_calloc(NULL, 100, 3);
	assert_non_null(z);
	for (int i = 0; i < 300; i++)
		assert_int_equal(z[i], 0);
	s3i_free(NULL, z);
	assert_null(s3i_calloc(NULL, SIZE_MAX / 2, 3));   /* overflow */
	char *s = s3i_strndup(NULL, "abcdef", 3);
	assert_string_equal(s, "abc");
	s3i_free(NULL, s);
	assert_null(s3i_strdup(NULL, NULL));
	assert_null(s3i_strndup(NULL, NULL, 4));
	s = s3i_strdup(NULL, "secret-value");
	s3i_free_secret(NULL, s);
	s3i_free_secret(NULL, NULL);
}

static void t_allocator_counted(void **state)
{
	(void)state;
	const s3i_allocator *a = s3i_test_alloc();
	long before = s3i_test_alloc_count();
	char *s = s3i_strdup(a, "abc");
	assert_non_null(s);
	assert_int_equal(s3i_test_alloc_outstanding(), 1);
	assert_int_equal(s3i_test_alloc_count(), before + 1);
	s = s3i_realloc(a, s, 100);
	assert_non_null(s);
	assert_string_equal(s, "abc");
	s3i_free_secret(a, s);
	assert_int_equal(s3i_test_alloc_outstanding(), 0);
}

/* ------------------------------------------------------------------ URI encoding */

static char *enc(const char *s, size_t len, int keep_slash)
{
	static char out[1024];
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_uri_encode(&b, s, len, keep_slash), S3I_OK);
	snprintf(out, sizeof(out), "%s", s3i_buf_cstr(&b));
	s3i_buf_dispose(&b);
	return out;
}

static void t_uri_encode(void **state)
{
	(void)state;
	const char *unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
	assert_string_equal(enc(unreserved, strlen(unreserved), 0), unreserved);
	assert_string_equal(enc("", 0, 0), "");
	assert_string_equal(enc("a b/c", 5, 0), "a%20b%2Fc");
	assert_string_equal(enc("a b/c", 5, 1), "a%20b/c");
	assert_string_equal(enc("//x//", 5, 1), "//x//");
	assert_string_equal(enc("+*=&%?#[]@!$'(),;:", 18, 0),
		"%2B%2A%3D%26%25%3F%23%5B%5D%40%21%24%27%28%29%2C%3B%3A");
	/* UTF-8 bytes, upper-case hex */
	assert_string_equal(enc("\xc3\xa9t\xc3\xa9", 5, 0), "%C3%A9t%C3%A9");
	assert_string_equal(enc("\xe2\x82\xac", 3, 1), "%E2%82%AC");
	assert_string_equal(enc("\xf0\x9f\x98\x80", 4, 1), "%F0%9F%98%80");
	/* explicit length: embedded NUL and control bytes */
	assert_string_equal(enc("a\0b\n\x7f\xff", 6, 0), "a%00b%0A%7F%FF");
	assert_string_equal(enc("abc", 2, 0), "ab");

	/* appends to what the buffer holds */
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_buf_puts(&b, "/bucket/"), S3I_OK);
	assert_int_equal(s3i_uri_encode(&b, "a key", 5, 1), S3I_OK);
	assert_string_equal(b.ptr, "/bucket/a%20key");
	s3i_buf_dispose(&b);
}

static char *dec(const char *s, int plus_is_space, size_t *len)
{
	static char out[1024];
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_uri_decode(&b, s, strlen(s), plus_is_space), S3I_OK);
	memcpy(out, s3i_buf_cstr(&b), b.size + 1);
	if (len)
		*len = b.size;
	s3i_buf_dispose(&b);
	return out;
}

static void t_uri_decode(void **state)
{
	(void)state;
	assert_string_equal(dec("abc-_.~", 0, NULL), "abc-_.~");
	assert_string_equal(dec("%41%42c", 0, NULL), "ABc");
	assert_string_equal(dec("%c3%a9%C3%A9", 0, NULL), "\xc3\xa9\xc3\xa9");
	assert_string_equal(dec("a%2Fb/c", 0, NULL), "a/b/c");
	/* '+' */
	assert_string_equal(dec("a+b", 1, NULL), "a b");
	assert_string_equal(dec("a+b", 0, NULL), "a+b");
	assert_string_equal(dec("a%2Bb+c", 1, NULL), "a+b c");
	assert_string_equal(dec("a%20b", 1, NULL), "a b");
	/* invalid escapes are kept literally */
	assert_string_equal(dec("100%", 0, NULL), "100%");
	assert_string_equal(dec("%", 0, NULL), "%");
	assert_string_equal(dec("%4", 0, NULL), "%4");
	assert_string_equal(dec("%zz%4g%g4", 0, NULL), "%zz%4g%g4");
	assert_string_equal(dec("a%%41", 0, NULL), "a%A");
	assert_string_equal(dec("x%41", 0, NULL), "xA");    /* escape at the very end */
	/* %00 gives a NUL byte inside the result */
	size_t n = 0;
	char *r = dec("a%00b", 0, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(r, "a\0b", 3);
	/* round trip of every byte value */
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	s3i_buf e, d;
	s3i_buf_init(&e, s3i_test_alloc());
	s3i_buf_init(&d, s3i_test_alloc());
	assert_int_equal(s3i_uri_encode(&e, all, sizeof(all), 0), S3I_OK);
	assert_int_equal(s3i_uri_decode(&d, e.ptr, e.size, 1), S3I_OK);
	assert_int_equal(d.size, 256);
	assert_memory_equal(d.ptr, all, 256);
	s3i_buf_dispose(&e);
	s3i_buf_dispose(&d);
}

/* ------------------------------------------------------------------ hex, base64 */

static void t_hex(void **state)
{
	(void)state;
	char out[64];
	const unsigned char in[] = { 0x00, 0xff, 0x10, 0xab, 0x7f, 0x80 };
	s3i_hex_encode(out, in, sizeof(in));
	assert_string_equal(out, "00ff10ab7f80");
	s3i_hex_encode(out, in, 0);
	assert_string_equal(out, "");
}

static void t_base64(void **state)
{
	(void)state;
	static const char *const vec[][2] = {   /* RFC 4648 §10 */
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		s3i_buf_clear(&b);
		assert_int_equal(s3i_base64_encode(&b, (const unsigned char *)vec[i][0], strlen(vec[i][0])), S3I_OK);
		assert_string_equal(s3i_buf_cstr(&b), vec[i][1]);
		s3i_buf_clear(&b);
		assert_int_equal(s3i_base64_decode(&b, vec[i][1], strlen(vec[i][1])), S3I_OK);
		assert_int_equal(b.size, strlen(vec[i][0]));
		assert_string_equal(s3i_buf_cstr(&b), vec[i][0]);
	}
	/* every byte value, every length 0..300 */
	unsigned char data[300];
	for (int i = 0; i < 300; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	s3i_buf e;
	s3i_buf_init(&e, s3i_test_alloc());
	for (size_t len = 0; len <= sizeof(data); len++) {
		s3i_buf_clear(&e);
		s3i_buf_clear(&b);
		assert_int_equal(s3i_base64_encode(&e, data, len), S3I_OK);
		assert_int_equal(e.size, (len + 2) / 3 * 4);
		assert_int_equal(s3i_base64_decode(&b, e.ptr ? e.ptr : "", e.size), S3I_OK);
		assert_int_equal(b.size, len);
		if (len)
			assert_memory_equal(b.ptr, data, len);
	}
	/* line breaks are skipped (PEM-style input) */
	s3i_buf_clear(&b);
	assert_int_equal(s3i_base64_decode(&b, "Zm9v\r\nYmFy\n", 11), S3I_OK);
	assert_string_equal(b.ptr, "foobar");
	/* Content-MD5 of "" */
	s3i_buf_clear(&b);
	const unsigned char md5_empty[16] = { 0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04,
		0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e };
	assert_int_equal(s3i_base64_encode(&b, md5_empty, 16), S3I_OK);
	assert_string_equal(b.ptr, "1B2M2Y8AsgTpgAmY7PhCfg==");
	s3i_buf_dispose(&e);
	s3i_buf_dispose(&b);
}

static void t_base64_bad_input(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"Zm9v!", "Zm9v*mFy", "Zm=9", "Zg==Zg==", "Zm9v YmFy\x01", "Z", "Zm9vY", "Zg===",
		"\xc3\xa9\xc3\xa9", "Zm9v-_==",
	};
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_buf_puts(&b, "keep"), S3I_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = s3i_base64_decode(&b, bad[i], strlen(bad[i]));
		if (rc != S3I_EPARSE)
			fail_msg("base64 '%s' decoded (rc %d) instead of S3I_EPARSE", bad[i], rc);
		/* a failed decode leaves the buffer as it was */
		assert_int_equal(b.size, 4);
		assert_string_equal(b.ptr, "keep");
	}
	/* an embedded NUL is not base64 */
	assert_int_equal(s3i_base64_decode(&b, "Zm\0v", 4), S3I_EPARSE);
	assert_string_equal(b.ptr, "keep");
	s3i_buf_dispose(&b);
}

/* ------------------------------------------------------------------ time */

static void t_time_format(void **state)
{
	(void)state;
	char amz[17], iso[25];
	s3i_time_amz(amz, 0);
	assert_string_equal(amz, "19700101T000000Z");
	s3i_time_amz(amz, 1440938160);
	assert_string_equal(amz, "20150830T123600Z");
	s3i_time_amz(amz, 951782400);       /* 2000-02-29, a leap day */
	assert_string_equal(amz, "20000229T000000Z");
	s3i_time_amz(amz, 4107542399);      /* 2100-02-28T23:59:59: 2100 is no leap year */
	assert_string_equal(amz, "21000228T235959Z");
	s3i_time_amz(amz, 4107542400);
	assert_string_equal(amz, "21000301T000000Z");

	s3i_time_iso8601(iso, 0);
	assert_string_equal(iso, "1970-01-01T00:00:00.000Z");
	s3i_time_iso8601(iso, 1440938160123);
	assert_string_equal(iso, "2015-08-30T12:36:00.123Z");
	s3i_time_iso8601(iso, 1456704000007);   /* 2016-02-29 */
	assert_string_equal(iso, "2016-02-29T00:00:00.007Z");
	s3i_time_iso8601(iso, -1);
	assert_string_equal(iso, "1969-12-31T23:59:59.999Z");
	s3i_time_iso8601(iso, 253402300799999);
	assert_string_equal(iso, "9999-12-31T23:59:59.999Z");
}

static void t_time_from_utc(void **state)
{
	(void)state;
	assert_int_equal(s3i_time_from_utc(1970, 1, 1, 0, 0, 0), 0);
	assert_int_equal(s3i_time_from_utc(2015, 8, 30, 12, 36, 0), 1440938160);
	assert_int_equal(s3i_time_from_utc(1969, 12, 31, 23, 59, 59), -1);
	/* leap years: 2000 and 2016 are, 1900 and 2100 are not */
	assert_int_equal(s3i_time_from_utc(2000, 3, 1, 0, 0, 0) - s3i_time_from_utc(2000, 2, 28, 0, 0, 0), 2 * 86400);
	assert_int_equal(s3i_time_from_utc(2016, 3, 1, 0, 0, 0) - s3i_time_from_utc(2016, 2, 28, 0, 0, 0), 2 * 86400);
	assert_int_equal(s3i_time_from_utc(1900, 3, 1, 0, 0, 0) - s3i_time_from_utc(1900, 2, 28, 0, 0, 0), 86400);
	assert_int_equal(s3i_time_from_utc(2100, 3, 1, 0, 0, 0) - s3i_time_from_utc(2100, 2, 28, 0, 0, 0), 86400);
	assert_int_equal(s3i_time_from_utc(2017, 1, 1, 0, 0, 0) - s3i_time_from_utc(2016, 1, 1, 0, 0, 0), 366 * 86400);
	assert_int_equal(s3i_time_from_utc(2018, 1, 1, 0, 0, 0) - s3i_time_from_utc(2017, 1, 1, 0, 0, 0), 365 * 86400);
	/* agrees with the formatter over a range of days */
	for (int64_t t = -86400LL * 400; t < 86400LL * 365 * 140; t += 86400LL * 37 + 3607) {
		char iso[25];
		int64_t ms;
		s3i_time_iso8601(iso, t * 1000);
		assert_int_equal(s3i_time_parse_iso8601(iso, &ms), S3I_OK);
		assert_int_equal(ms, t * 1000);
	}
}

static int64_t iso(const char *s)
{
	int64_t ms = -42;
	int rc = s3i_time_parse_iso8601(s, &ms);
	if (rc)
		fail_msg("'%s' did not parse (rc %d)", s, rc);
	return ms;
}

static void t_time_parse_iso8601(void **state)
{
	(void)state;
	assert_int_equal(iso("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(iso("1970-01-01T00:00:00.000Z"), 0);
	assert_int_equal(iso("2015-08-30T12:36:00Z"), 1440938160000);
	assert_int_equal(iso("2015-08-30T12:36:00.123Z"), 1440938160123);
	assert_int_equal(iso("2015-08-30T12:36:00.5Z"), 1440938160500);
	assert_int_equal(iso("2015-08-30T12:36:00.12Z"), 1440938160120);
	assert_int_equal(iso("2015-08-30T12:36:00.123456Z"), 1440938160123);  /* micros cut */
	assert_int_equal(iso("2015-08-30T12:36:00"), 1440938160000);           /* no zone: UTC */
	/* offsets: local time = UTC + offset */
	assert_int_equal(iso("2015-08-30T14:36:00+02:00"), 1440938160000);
	assert_int_equal(iso("2015-08-30T07:06:00-05:30"), 1440938160000);
	assert_int_equal(iso("2015-08-30T18:06:00.250+05:30"), 1440938160250);
	assert_int_equal(iso("2015-08-30T12:36:00+00:00"), 1440938160000);
	assert_int_equal(iso("2015-08-30T18:06:00+0530"), 1440938160000);      /* basic format */
	assert_int_equal(iso("2015-08-30T14:36:00+02"), 1440938160000);
	/* crossing midnight and a leap day */
	assert_int_equal(iso("2016-02-29T23:30:00-01:00"), s3i_time_from_utc(2016, 3, 1, 0, 30, 0) * 1000);
	assert_int_equal(iso("2016-02-29T12:00:00Z"), s3i_time_from_utc(2016, 2, 29, 12, 0, 0) * 1000);

	static const char *const bad[] = {
		NULL, "", "garbage", "2015-08-30", "2015-13-01T00:00:00Z", "2015-00-01T00:00:00Z",
		"2015-08-32T00:00:00Z", "2015-08-30T24:00:00Z", "2015-08-30T12:60:00Z",
		"2015-08-30T12:36:00X", "2015-08-30T12:36:00+", "2015-08-30 12:36:00Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = 77;
		if (s3i_time_parse_iso8601(bad[i], &ms) != S3I_EPARSE)
			fail_msg("'%s' parsed", bad[i] ? bad[i] : "(null)");
		assert_int_equal(ms, 77);   /* untouched */
	}
}

static void t_time_parse_http(void **state)
{
	(void)state;
	int64_t ms = -1;
	assert_int_equal(s3i_time_parse_http("Thu, 01 Jan 1970 00:00:00 GMT", &ms), S3I_OK);
	assert_int_equal(ms, 0);
	assert_int_equal(s3i_time_parse_http("Sun, 06 Nov 1994 08:49:37 GMT", &ms), S3I_OK);
	assert_int_equal(ms, 784111777000);
	assert_int_equal(s3i_time_parse_http("Sun, 30 Aug 2015 12:36:00 GMT", &ms), S3I_OK);
	assert_int_equal(ms, 1440938160000);
	assert_int_equal(s3i_time_parse_http("Mon, 29 Feb 2016 23:59:59 GMT", &ms), S3I_OK);
	assert_int_equal(ms, s3i_time_from_utc(2016, 2, 29, 23, 59, 59) * 1000);
	assert_int_equal(s3i_time_parse_http("Tue, 31 Dec 2024 10:00:00 GMT", &ms), S3I_OK);
	assert_int_equal(ms, s3i_time_from_utc(2024, 12, 31, 10, 0, 0) * 1000);
	assert_int_equal(s3i_time_parse_http("Sun, 6 Nov 1994 08:49:37 GMT", &ms), S3I_OK);
	assert_int_equal(ms, 784111777000);
	assert_int_equal(s3i_time_parse_http("Sat, 31 Dec 2016 23:59:60 GMT", &ms), S3I_OK);
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	for (int m = 0; m < 12; m++) {
		char s[64];
		snprintf(s, sizeof(s), "Wed, 15 %s 2020 01:02:03 GMT", months[m]);
		assert_int_equal(s3i_time_parse_http(s, &ms), S3I_OK);
		assert_int_equal(ms, s3i_time_from_utc(2020, m + 1, 15, 1, 2, 3) * 1000);
	}
	static const char *const bad[] = {
		NULL, "", "garbage", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 ebM 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994", "2015-08-30T12:36:00Z", "Sun, 32 Nov 1994 08:49:37 GMT",
		"Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
		"Sun, 06 Nov 1994 8:49:37 GMT", "Sun 06 Nov 1994 08:49:37 GMT", "S1n, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 nov 1994 08:49:37 GMT",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 77;
		if (s3i_time_parse_http(bad[i], &ms) != S3I_EPARSE)
			fail_msg("'%s' parsed", bad[i] ? bad[i] : "(null)");
		assert_int_equal(ms, 77);
	}
}

/* ------------------------------------------------------------------ string helpers */

static void t_str_helpers(void **state)
{
	(void)state;
	assert_true(s3i_strcaseeq("Content-Type", "content-type"));
	assert_false(s3i_strcaseeq("a", "b"));
	assert_false(s3i_strcaseeq(NULL, "a"));
	assert_false(s3i_strcaseeq("a", NULL));
	assert_true(s3i_str_startswith("arn:aws:iam", "arn:"));
	assert_true(s3i_str_startswith("abc", ""));
	assert_false(s3i_str_startswith("ar", "arn"));
	assert_true(s3i_str_endswith("file.csv.gz", ".gz"));
	assert_true(s3i_str_endswith("abc", ""));
	assert_false(s3i_str_endswith("gz", ".gz"));
	size_t n = 8;
	const char *t = s3i_str_trim("  a b \t\n", &n);
	assert_int_equal(n, 3);
	assert_memory_equal(t, "a b", 3);
	n = 3;
	t = s3i_str_trim("   ", &n);
	assert_int_equal(n, 0);
	n = 0;
	t = s3i_str_trim("", &n);
	assert_int_equal(n, 0);
}

/* ------------------------------------------------------------------ error detail */

static void t_err_fills_fields(void **state)
{
	(void)state;
	s3i_error_clear();
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(e.pub.struct_size, sizeof(s3i_error));
	assert_int_equal(e.pub.code, 0);
	assert_string_equal(e.pub.message, "");
	assert_string_equal(e.pub.aws_code, "");
	assert_string_equal(e.pub.request_id, "");
	assert_string_equal(e.pub.resource, "");

	int rc = s3i_err(&e, S3I_EINVALID, "bucket", "bucket name '%s' is invalid (%d)", "Bad_Name", 7);
	assert_int_equal(rc, S3I_EINVALID);
	assert_int_equal(e.pub.code, S3I_EINVALID);
	assert_int_equal(e.pub.http_status, 0);
	assert_string_equal(e.pub.message, "bucket name 'Bad_Name' is invalid (7)");
	assert_string_equal(e.pub.resource, "bucket");
	assert_string_equal(e.pub.aws_code, "");
	assert_string_equal(e.pub.request_id, "");
	assert_ptr_equal(e.pub.message, e.message);

	/* mirrored into the thread's last error */
	const s3i_error *last = s3i_error_last();
	assert_non_null(last);
	assert_int_equal(last->struct_size, sizeof(s3i_error));
	assert_int_equal(last->code, S3I_EINVALID);
	assert_string_equal(last->message, "bucket name 'Bad_Name' is invalid (7)");
	assert_string_equal(last->resource, "bucket");

	/* a second error replaces the first completely */
	rc = s3i_err_aws(&e, S3I_ENOTFOUND, 404, "NoSuchKey", "REQ123", "key 'k' in bucket 'b'",
		"GetObject failed: NoSuchKey");
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_int_equal(e.pub.http_status, 404);
	assert_string_equal(e.pub.aws_code, "NoSuchKey");
	assert_string_equal(e.pub.request_id, "REQ123");
	assert_string_equal(e.pub.resource, "key 'k' in bucket 'b'");
	assert_string_equal(e.pub.message, "GetObject failed: NoSuchKey");
	assert_int_equal(s3i_error_last()->code, S3I_ENOTFOUND);
	assert_string_equal(s3i_error_last()->aws_code, "NoSuchKey");
	assert_int_equal(s3i_error_last()->http_status, 404);

	rc = s3i_err(&e, S3I_EIO, NULL, "no resource");
	assert_string_equal(e.pub.resource, "");
	assert_string_equal(e.pub.aws_code, "");
	assert_int_equal(e.pub.http_status, 0);
	rc = s3i_err_aws(&e, S3I_EAWS, 500, NULL, NULL, NULL, NULL);
	assert_string_equal(e.pub.message, "");
	assert_string_equal(e.pub.aws_code, "");
	assert_string_equal(e.pub.request_id, "");
	assert_string_equal(e.pub.resource, "");

	/* NULL target: only the thread's error */
	rc = s3i_err(NULL, S3I_EAUTH, "profile", "no credentials in profile %s", "dev");
	assert_int_equal(rc, S3I_EAUTH);
	assert_int_equal(s3i_error_last()->code, S3I_EAUTH);
	assert_string_equal(s3i_error_last()->message, "no credentials in profile dev");
	assert_int_equal(e.pub.code, S3I_EAWS);

	s3i_error_clear();
	assert_int_equal(s3i_error_last()->code, 0);
	assert_string_equal(s3i_error_last()->message, "");
	assert_string_equal(s3i_error_last()->resource, "");
	assert_string_equal(s3i_error_last()->aws_code, "");
	assert_string_equal(s3i_error_last()->request_id, "");
}

static void t_err_self_reference(void **state)
{
	(void)state;
	/* re-recording an error from its own fields must not lose them */
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_err_aws(&e, S3I_EAWS, 400, "Code1", "Req1", "bucket 'b'", "first");
	s3i_err(&e, S3I_EINVALID, e.resource, "again: %s", e.message);
	assert_string_equal(e.pub.message, "again: first");
	assert_string_equal(e.pub.resource, "bucket 'b'");
	s3i_err_aws(&e, S3I_EAWS, 500, "Code2", "Req2", "bucket 'c'", "second");
	s3i_err_aws(&e, S3I_ESERVICE, e.pub.http_status, e.aws_code, e.request_id, e.resource, e.message);
	assert_int_equal(e.pub.code, S3I_ESERVICE);
	assert_int_equal(e.pub.http_status, 500);
	assert_string_equal(e.pub.aws_code, "Code2");
	assert_string_equal(e.pub.request_id, "Req2");
	assert_string_equal(e.pub.resource, "bucket 'c'");
	assert_string_equal(e.pub.message, "second");
	/* same through the thread's own storage */
	s3i_errinfo *t = s3i_errinfo_thread();
	s3i_err(t, S3I_EIO, "file 'x'", "cannot read");
	s3i_err(NULL, S3I_EIO, t->resource, "%s (retry)", t->message);
	assert_string_equal(s3i_error_last()->resource, "file 'x'");
	assert_string_equal(s3i_error_last()->message, "cannot read (retry)");
}

static void t_err_truncation(void **state)
{
	(void)state;
	static char huge[8000];
	memset(huge, 'm', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_err(&e, S3I_ERROR, huge, "%s%s", huge, huge);
	assert_int_equal(strlen(e.pub.message), sizeof(e.message) - 1);
	assert_int_equal(strlen(e.pub.resource), sizeof(e.resource) - 1);
	assert_int_equal(e.pub.message[0], 'm');
	s3i_err_aws(&e, S3I_EAWS, 400, huge, huge, huge, huge);
	assert_int_equal(strlen(e.pub.message), sizeof(e.message) - 1);
	assert_int_equal(strlen(e.pub.aws_code), sizeof(e.aws_code) - 1);
	assert_int_equal(strlen(e.pub.request_id), sizeof(e.request_id) - 1);
	assert_int_equal(strlen(e.pub.resource), sizeof(e.resource) - 1);
	assert_int_equal(strlen(s3i_error_last()->message), sizeof(e.message) - 1);
	/* a prefix on a full message keeps the prefix and stays terminated */
	s3i_err_prefix(&e, "stage %s: ", "ingest");
	assert_int_equal(strlen(e.pub.message), sizeof(e.message) - 1);
	assert_true(!strncmp(e.pub.message, "stage ingest: mmm", 17));
	/* a huge prefix is cut, never overflows */
	s3i_err_prefix(&e, "%s", huge);
	assert_int_equal(strlen(e.pub.message), sizeof(e.message) - 1);
	assert_int_equal(e.pub.code, S3I_EAWS);   /* prefixing keeps the code */
}

static void t_err_prefix(void **state)
{
	(void)state;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_err(&e, S3I_ENOTFOUND, "bucket 'b'", "no such bucket");
	s3i_err_prefix(&e, "configure inventory (%s): ", "acct 1");
	assert_string_equal(e.pub.message, "configure inventory (acct 1): no such bucket");
	assert_int_equal(e.pub.code, S3I_ENOTFOUND);
	assert_string_equal(e.pub.resource, "bucket 'b'");
	assert_string_equal(s3i_error_last()->message, "configure inventory (acct 1): no such bucket");
	/* on the thread's error directly */
	s3i_err(NULL, S3I_EIO, NULL, "disk full");
	s3i_err_prefix(NULL, "write state: ");
	assert_string_equal(s3i_error_last()->message, "write state: disk full");
	assert_int_equal(s3i_error_last()->code, S3I_EIO);
	/* copy relinks the pointers to the copy's own storage */
	s3i_errinfo c;
	s3i_errinfo_copy(&c, &e);
	assert_ptr_equal(c.pub.message, c.message);
	assert_ptr_equal(c.pub.resource, c.resource);
	assert_ptr_equal(c.pub.aws_code, c.aws_code);
	assert_ptr_equal(c.pub.request_id, c.request_id);
	assert_string_equal(c.pub.message, e.pub.message);
	s3i_errinfo_copy(&c, &c);
	assert_string_equal(c.pub.message, e.pub.message);
	s3i_errinfo_clear(&c);
	assert_int_equal(c.pub.code, 0);
	assert_string_equal(c.pub.message, "");
}

typedef struct thread_seen {
	int code_before;
	char msg_before[64];
	int code_after;
	char msg_after[64];
} thread_seen;

static void *other_thread(void *arg)
{
	thread_seen *s = arg;
	s->code_before = s3i_error_last()->code;
	snprintf(s->msg_before, sizeof(s->msg_before), "%s", s3i_error_last()->message);
	s3i_err(NULL, S3I_ETIMEOUT, "queue", "other thread's error");
	s->code_after = s3i_error_last()->code;
	snprintf(s->msg_after, sizeof(s->msg_after), "%s", s3i_error_last()->message);
	return NULL;
}

static void t_err_thread_local(void **state)
{
	(void)state;
	s3i_err(NULL, S3I_EINVALID, "region", "main thread's error");
	thread_seen seen;
	memset(&seen, 0, sizeof(seen));
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, other_thread, &seen), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(seen.code_before, 0);
	assert_string_equal(seen.msg_before, "");
	assert_int_equal(seen.code_after, S3I_ETIMEOUT);
	assert_string_equal(seen.msg_after, "other thread's error");
	/* the main thread's error is untouched */
	assert_int_equal(s3i_error_last()->code, S3I_EINVALID);
	assert_string_equal(s3i_error_last()->message, "main thread's error");
}

static void t_strerror(void **state)
{
	(void)state;
	static const int known[] = { S3I_OK, S3I_ERROR, S3I_EINVALID, S3I_ENOMEM, S3I_ENOTFOUND,
		S3I_EEXISTS, S3I_ECONFLICT, S3I_EIO, S3I_EPARSE, S3I_ETIMEOUT, S3I_EAUTH,
		S3I_ETHROTTLED, S3I_EAWS, S3I_ENETWORK, S3I_ESERVICE, S3I_ECHECKSUM,
		S3I_EUNKNOWN_OPTION, S3I_EUSER };
	const char *unknown = s3i_strerror(-9999);
	assert_non_null(unknown);
	assert_string_equal(unknown, "unknown error");
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const char *s = s3i_strerror(known[i]);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_not_equal(s, unknown);
		for (size_t j = 0; j < i; j++)   /* distinct texts */
			assert_string_not_equal(s, s3i_strerror(known[j]));
	}
	for (int i = -1000; i <= 1000; i++) {
		const char *s = s3i_strerror(i);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
	}
	const int extremes[] = { INT_MIN, INT_MIN + 1, INT_MAX, -21, -29, -31, 1, 2 };
	for (size_t i = 0; i < sizeof(extremes) / sizeof(extremes[0]); i++)
		assert_string_equal(s3i_strerror(extremes[i]), unknown);
	/* the enum keeps its explicit values (STYLE R7) */
	assert_int_equal(S3I_EAUTH, -10);
	assert_int_equal(S3I_EUNKNOWN_OPTION, -20);
	assert_int_equal(S3I_EUSER, -30);
}

static void t_status_is_retryable(void **state)
{
	(void)state;
	for (int i = -100; i <= 100; i++) {
		int want = i == S3I_ETHROTTLED || i == S3I_ENETWORK || i == S3I_ESERVICE || i == S3I_ETIMEOUT;
		if (s3i_status_is_retryable(i) != want)
			fail_msg("s3i_status_is_retryable(%d) = %d", i, s3i_status_is_retryable(i));
	}
	assert_false(s3i_status_is_retryable(INT_MIN));
	assert_false(s3i_status_is_retryable(INT_MAX));
}

/* The leak check also covers memory that went to the default allocator (an allocator not
 * passed down): the test allocator's teardown fails while any of it is outstanding. */
static void t_default_allocator_counted(void **state)
{
	(void)state;
	long before = s3i_alloc_default_blocks();
	char *a = s3i_malloc(NULL, 10);
	char *b = s3i_strdup(NULL, "x");
	char *c = s3i_realloc(NULL, NULL, 5);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(s3i_alloc_default_blocks() - before, 3);
	c = s3i_realloc(NULL, c, 500);
	assert_int_equal(s3i_alloc_default_blocks() - before, 3);
	assert_int_not_equal(s3i_test_alloc_teardown(NULL), 0);   /* a leak while they are out */
	s3i_free(NULL, a);
	s3i_free(s3i_allocator_default(), b);
	s3i_free(NULL, c);
	assert_int_equal(s3i_alloc_default_blocks(), before);
	assert_int_equal(s3i_test_alloc_teardown(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_default_allocator_counted),
		S3I_TEST(t_err_one_line),
		S3I_TEST(t_err_reword),
		S3I_TEST(t_buf_growth),
		S3I_TEST(t_buf_printf),
		S3I_TEST(t_buf_detach_truncate),
		S3I_TEST(t_buf_dispose_null_and_empty),
		S3I_TEST(t_buf_oom),
		S3I_TEST(t_str_oom),
		S3I_TEST(t_allocator_default),
		S3I_TEST(t_allocator_counted),
		S3I_TEST(t_uri_encode),
		S3I_TEST(t_uri_decode),
		S3I_TEST(t_hex),
		S3I_TEST(t_base64),
		S3I_TEST(t_base64_bad_input),
		S3I_TEST(t_time_format),
		S3I_TEST(t_time_from_utc),
		S3I_TEST(t_time_parse_iso8601),
		S3I_TEST(t_time_parse_http),
		S3I_TEST(t_str_helpers),
		S3I_TEST(t_err_fills_fields),
		S3I_TEST(t_err_self_reference),
		S3I_TEST(t_err_truncation),
		S3I_TEST(t_err_prefix),
		S3I_TEST(t_err_thread_local),
		S3I_TEST(t_strerror),
		S3I_TEST(t_status_is_retryable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
