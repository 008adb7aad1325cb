/*
 * The end of a header signature on the x86 SHA extensions (src/aws/sha256_shani.c) against the
 * same signature hashed by OpenSSL alone (s3i_signer_use_shani(s, 0)).
 *
 * The SHA-NI chain places each hex digest into the next message by byte shuffles that depend
 * on where the digest starts within its 64-byte block, lays out padding and lengths itself,
 * and takes the payload's tail, the canonical request's and the string to sign's remaining
 * bytes in one, two or three blocks. So the requests here move every one of those through
 * all its cases: a header whose value grows a byte at a time (the payload hash at each of
 * the 64 offsets in the canonical request), regions of 1 to 100 characters (the canonical
 * request's hash at each offset in the string to sign, with and without its first block kept,
 * and a scope longer than a block), bodies around the block edges, given or hashed by the
 * signer, no payload, UNSIGNED-PAYLOAD, S3's x-amz-content-sha256, session tokens, and
 * canonical requests longer than the signer's kept prefix. Everything is compared:
 * Authorization and every other header, the canonical request and the string to sign.
 * (test_sigv4 checks the default signer, which uses the chain wherever the CPU has SHA-NI,
 * against the published vectors.)
 */
#include "test_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/headers.h"
#include "aws/sigv4.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "s3insights/errors.h"

#define T0 INT64_C(1440938160)   /* 20150830T123600Z */

static const s3i_allocator *ta(void) { return s3i_test_alloc(); }

typedef struct result {
	int rc;
	s3i_headers h;
	s3i_buf creq, sts;
} result;

typedef struct req_shape {
	size_t pad;                   /* length of the X-Pad header's value */
	size_t region_len;
	size_t long_header;           /* length of an extra header's value (0: none) */
	long body_len;                /* -1: no payload */
	int give;                     /* 0: body to the signer, 1: its hash given,
	                               * 2: UNSIGNED-PAYLOAD given */
	int s3;                       /* S3I_SIGV4_S3_PATH (x-amz-content-sha256 set) */
	const char *token;
	uint32_t flags;
	int64_t t;
} req_shape;

static void sign(s3i_signer *s, const req_shape *r, result *o)
{
	char region[128], pad[80], hash[S3I_SHA256_HEX_LEN + 1], *longv = NULL;
	unsigned char *body = NULL;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_headers_init(&o->h, ta());
	s3i_buf_init(&o->creq, ta());
	s3i_buf_init(&o->sts, ta());
	assert_true(r->region_len >= 1 && r->region_len < sizeof(region));
	for (size_t i = 0; i < r->region_len; i++)
		region[i] = (char)('a' + i % 26);
	region[r->region_len] = '\0';
	memset(pad, 'p', r->pad);
	pad[r->pad] = '\0';
	assert_int_equal(s3i_headers_add(&o->h, "Host", "svc.example.amazonaws.com"), 0);
	assert_int_equal(s3i_headers_add(&o->h, "X-Pad", pad), 0);
	if (r->long_header) {
		longv = malloc(r->long_header + 1);
		assert_non_null(longv);
		for (size_t i = 0; i < r->long_header; i++)
			longv[i] = (char)('A' + i % 23);
		longv[r->long_header] = '\0';
		assert_int_equal(s3i_headers_add(&o->h, "X-Long", longv), 0);
	}
	s3i_sigv4_request req = {
		.method = r->body_len >= 0 ? "POST" : "GET", .path = r->s3 ? "/bucket/some%20key" : "/",
		.headers = &o->h, .region = region, .service = r->s3 ? "s3" : "svc", .time_s = r->t,
		.flags = r->flags | (r->s3 ? S3I_SIGV4_S3_PATH : 0),
	};
	if (r->body_len >= 0) {
		body = malloc((size_t)r->body_len + 1);
		assert_non_null(body);
		for (long i = 0; i < r->body_len; i++)
			body[i] = (unsigned char)(i * 7 + r->pad);
		if (r->give == 0) {
			req.payload = body;
			req.payload_len = (size_t)r->body_len;
		} else if (r->give == 1) {
			assert_int_equal(s3i_sha256_hex(body, (size_t)r->body_len, hash), 0);
			req.payload_hash = hash;
		} else {
			req.payload_hash = S3I_UNSIGNED_PAYLOAD;
		}
	}
	s3i_sigv4_creds c = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", r->token };
	o->rc = s3i_sigv4_sign(s, &req, &c, &o->creq, &o->sts, &err);
	if (o->rc)
		print_error("signing failed (%d): %s\n", o->rc, err.message);
	free(body);
	free(longv);
}

static void result_free(result *o)
{
	s3i_headers_free(&o->h);
	s3i_buf_dispose(&o->creq);
	s3i_buf_dispose(&o->sts);
}

static void describe(const req_shape *r, char *ctx, size_t n)
{
	snprintf(ctx, n, "pad %zu, region of %zu, long header %zu, body %ld (%s)%s%s", r->pad,
		r->region_len, r->long_header, r->body_len,
		r->give == 0 ? "given" : r->give == 1 ? "hash given" : "UNSIGNED-PAYLOAD",
		r->s3 ? ", S3" : "", r->token ? ", token" : "");
}

static void expect_same_text(const char *what, const char *a, const char *b, const char *ctx)
{
	if (strcmp(a ? a : "(null)", b ? b : "(null)") != 0) {
		print_error("%s: %s differs\n  OpenSSL: %s\n  SHA-NI:  %s\n", ctx, what,
			a ? a : "(null)", b ? b : "(null)");
		fail();
	}
}

/* Signs r on both signers and compares everything. */
static void compare(s3i_signer *ossl, s3i_signer *ni, const req_shape *r)
{
	char ctx[200];
	describe(r, ctx, sizeof(ctx));
	result a, b;
	sign(ossl, r, &a);
	sign(ni, r, &b);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	expect_same_text("canonical request", s3i_buf_cstr(&a.creq), s3i_buf_cstr(&b.creq), ctx);
	expect_same_text("string to sign", s3i_buf_cstr(&a.sts), s3i_buf_cstr(&b.sts), ctx);
	assert_int_equal(a.h.count, b.h.count);
	for (size_t i = 0; i < a.h.count; i++) {
		expect_same_text("header name", a.h.items[i].name, b.h.items[i].name, ctx);
		expect_same_text(a.h.items[i].name, a.h.items[i].value, b.h.items[i].value, ctx);
	}
	assert_non_null(s3i_headers_get(&b.h, "Authorization"));
	result_free(&a);
	result_free(&b);
}

/* Two signers, one with the chain and one without; returns 0 (and the test is skipped) where
 * the CPU or the build has no SHA-NI. */
static int pair(s3i_signer **ossl, s3i_signer **ni)
{
	assert_int_equal(s3i_signer_new(ossl, ta()), 0);
	assert_int_equal(s3i_signer_new(ni, ta()), 0);
	assert_int_equal(s3i_signer_use_shani(*ossl, 0), 0);
	if (!s3i_signer_use_shani(*ni, 1)) {
		s3i_signer_free(*ossl);
		s3i_signer_free(*ni);
		print_message("no SHA-NI on this CPU or in this build: nothing to compare\n");
		return 0;
	}
	return 1;
}

static const long bodies[] = { 0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1024, 1087 };
#define NBODIES (sizeof(bodies) / sizeof(bodies[0]))

/* The payload hash at every offset of its block in the canonical request, for bodies around
 * the block edges, given and hashed by the signer. */
static void t_payload_hash_offsets(void **state)
{
	(void)state;
	s3i_signer *ossl, *ni;
	if (!pair(&ossl, &ni))
		skip();
	for (size_t pad = 0; pad < 64; pad++)
		for (size_t b = 0; b < NBODIES; b++)
			for (int give = 0; give < 2; give++)
				compare(ossl, ni, &(req_shape){ .pad = pad, .region_len = 9,
					.body_len = bodies[b], .give = give, .t = T0 });
	s3i_signer_free(ossl);
	s3i_signer_free(ni);
}

/* The canonical request's hash at every offset in the string to sign: regions of 1 to 100
 * characters (a scope shorter than 29 bytes keeps no first block; a long one spans more than
 * a block before the hash), with and without a payload, each on fresh signers and again a
 * second later on the same ones. */
static void t_string_to_sign_offsets(void **state)
{
	(void)state;
	for (size_t rl = 1; rl <= 100; rl++) {
		s3i_signer *ossl, *ni;
		if (!pair(&ossl, &ni))
			skip();
		for (int k = 0; k < 4; k++)
			compare(ossl, ni, &(req_shape){ .pad = rl % 64, .region_len = rl,
				.body_len = k < 2 ? 1024 : -1, .t = T0 + (k & 1) });
		s3i_signer_free(ossl);
		s3i_signer_free(ni);
	}
}

/* The paths without a payload hashed by the signer, session tokens, S3, and canonical requests
 * longer than the kept prefix (8 blocks), with the pad moving the hash through its block. */
static void t_other_shapes(void **state)
{
	(void)state;
	s3i_signer *ossl, *ni;
	if (!pair(&ossl, &ni))
		skip();
	static const size_t longs[] = { 0, 300, 520, 700 };
	for (size_t pad = 0; pad < 64; pad += 3) {
		for (size_t l = 0; l < sizeof(longs) / sizeof(longs[0]); l++) {
			req_shape base = { .pad = pad, .region_len = 9, .long_header = longs[l], .t = T0 };
			req_shape r = base;
			r.body_len = -1;                                     /* a GET */
			compare(ossl, ni, &r);
			r.s3 = 1;                                            /* S3 GET */
			compare(ossl, ni, &r);
			r = base;
			r.body_len = 200;
			r.give = 2;                                          /* UNSIGNED-PAYLOAD */
			r.s3 = 1;
			compare(ossl, ni, &r);
			r.give = 0;                                          /* S3 PUT: hashed first */
			compare(ossl, ni, &r);
			r = base;
			r.body_len = 1024;
			r.token = "FQoGZXIvYXdzEXAMPLE//token+=";            /* signed token */
			compare(ossl, ni, &r);
			r.flags = S3I_SIGV4_TOKEN_UNSIGNED;                  /* added after signing */
			compare(ossl, ni, &r);
			r.flags = S3I_SIGV4_CONTENT_SHA256_HEADER;           /* hash needed first */
			r.token = NULL;
			compare(ossl, ni, &r);
			r.flags = 0;
			r.give = 1;
			r.long_header = longs[l] + 64;                       /* hash given, longer */
			compare(ossl, ni, &r);
		}
	}
	s3i_signer_free(ossl);
	s3i_signer_free(ni);
}

/* A long-lived pair through a random mix (what a signer keeps between signatures: kept
 * prefix states, header blocks, the string to sign's first block, the signing key). */
static void t_random_mix(void **state)
{
	(void)state;
	s3i_signer *ossl, *ni;
	if (!pair(&ossl, &ni))
		skip();
	unsigned long x = 99;
	for (int i = 0; i < 4000; i++) {
		x = x * 6364136223846793005ul + 1442695040888963407ul;
		unsigned v = (unsigned)(x >> 33);
		req_shape r = {
			.pad = v % 64, .region_len = 1 + (v >> 6) % 40,
			.long_header = (v >> 12) % 5 == 0 ? 100 + (v >> 15) % 600 : 0,
			.body_len = (v >> 20) % 5 == 0 ? -1 : (long)((v >> 8) % 1500),
			.give = (int)((v >> 24) % 3), .s3 = (v >> 27) % 4 == 0,
			.token = (v >> 29) % 3 == 0 ? "tok" : NULL,
			.t = T0 + i / 300 + ((v >> 30) & 1 ? 86400 : 0),
		};
		if (!r.s3 && r.give == 2)
			r.give = 1;
		compare(ossl, ni, &r);
	}
	s3i_signer_free(ossl);
	s3i_signer_free(ni);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_payload_hash_offsets),
		S3I_TEST(t_string_to_sign_offsets),
		S3I_TEST(t_other_shapes),
		S3I_TEST(t_random_mix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
