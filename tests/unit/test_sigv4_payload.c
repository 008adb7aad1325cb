/*
 * SigV4 with the body handed to the signer (s3i_sigv4_request.payload) instead of its hash
 * (payload_hash). The signer then hashes the body in shares between its other steps
 * (src/aws/sigv4.c, body_step), or all at once first when the hash is needed early (the
 * x-amz-content-sha256 header, presigning). Either way the result must be exactly what the
 * payload_hash path gives for s3i_sha256_hex of the same body, which test_sigv4 checks against
 * the published vectors: every request here is signed both ways and everything compared
 * (Authorization, the other headers, canonical request, string to sign, presigned query), on
 * fresh signers and on long-lived ones, with bodies of every length around the block
 * boundaries the shares are cut at. Plus: a known answer, malformed input, re-signing without
 * allocating, and an out-of-memory loop.
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
#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static const s3i_allocator *ta(void) { return s3i_test_alloc(); }

static unsigned long rnd_state = 12345;
static unsigned rnd(void)
{
	rnd_state = rnd_state * 6364136223846793005ul + 1442695040888963407ul;
	return (unsigned)(rnd_state >> 33);
}

typedef struct signed_out {
	int rc;
	s3i_headers h;
	s3i_buf creq, sts, query;
} signed_out;

static void out_init(signed_out *o)
{
	o->rc = -1;
	s3i_headers_init(&o->h, ta());
	s3i_buf_init(&o->creq, ta());
	s3i_buf_init(&o->sts, ta());
	s3i_buf_init(&o->query, ta());
}

static void out_free(signed_out *o)
{
	s3i_headers_free(&o->h);
	s3i_buf_dispose(&o->creq);
	s3i_buf_dispose(&o->sts);
	s3i_buf_dispose(&o->query);
}

static void expect_same_text(const char *what, const char *a, const char *b, const char *ctx)
{
	if (strcmp(a ? a : "(null)", b ? b : "(null)") != 0) {
		print_error("%s: %s differs\n  hash given: %s\n  body given: %s\n", ctx, what,
			a ? a : "(null)", b ? b : "(null)");
		fail();
	}
}

static void expect_same(const signed_out *a, const signed_out *b, const char *ctx)
{
	assert_int_equal(a->rc, b->rc);
	if (a->rc)
		return;
	expect_same_text("canonical request", s3i_buf_cstr(&a->creq), s3i_buf_cstr(&b->creq), ctx);
	expect_same_text("string to sign", s3i_buf_cstr(&a->sts), s3i_buf_cstr(&b->sts), ctx);
	expect_same_text("presigned query", s3i_buf_cstr(&a->query), s3i_buf_cstr(&b->query), ctx);
	if (a->h.count != b->h.count) {
		print_error("%s: %zu headers against %zu\n", ctx, a->h.count, b->h.count);
		fail();
	}
	for (size_t i = 0; i < a->h.count; i++) {
		expect_same_text("header name", a->h.items[i].name, b->h.items[i].name, ctx);
		expect_same_text(a->h.items[i].name, a->h.items[i].value, b->h.items[i].value, ctx);
	}
}

typedef struct shape {
	const char *method, *path, *query, *service;
	uint32_t flags;
	const char *token;
	int presign;
	int extra_headers;
} shape;

static const shape shapes[] = {
	{ "POST", "/", NULL, "dynamodb", 0, NULL, 0, 1 },
	{ "POST", "/", NULL, "dynamodb", 0, "token/+=", 0, 1 },
	{ "POST", "/", NULL, "sts", S3I_SIGV4_TOKEN_UNSIGNED, "tok", 0, 0 },
	{ "POST", "/a/./b/../c", "x=1&y", "sqs", 0, NULL, 0, 2 },
	{ "PUT", "/bucket/key%20with", "partNumber=1&uploadId=a", "s3", S3I_SIGV4_S3_PATH, NULL, 0, 1 },
	{ "POST", "/", NULL, "lambda", S3I_SIGV4_CONTENT_SHA256_HEADER, NULL, 0, 0 },
	{ "PUT", "/bucket/k", NULL, "s3", S3I_SIGV4_S3_PATH, "tok", 1, 0 },
	{ "POST", "/", "Action=List", "sns", 0, NULL, 1, 1 },
};

static void add_headers(s3i_headers *h, const shape *sh, unsigned variant)
{
	assert_int_equal(s3i_headers_add(h, "Host", "svc.us-east-1.amazonaws.com"), 0);
	if (sh->extra_headers >= 1) {
		assert_int_equal(s3i_headers_add(h, "Content-Type", "application/x-amz-json-1.0"), 0);
		assert_int_equal(s3i_headers_add(h, "X-Amz-Target", "DynamoDB_20120810.PutItem"), 0);
	}
	if (sh->extra_headers >= 2) {
		char v[32];
		snprintf(v, sizeof(v), "  value  %u ", variant % 3);
		assert_int_equal(s3i_headers_add(h, "X-Custom", v), 0);
	}
}

/* Sign request `sh` with `body` (len bytes) on signer s, either way. */
static void sign_one(s3i_signer *s, const shape *sh, const unsigned char *body, size_t len,
	int64_t t, int give_body, unsigned variant, signed_out *o)
{
	char hash[S3I_SHA256_HEX_LEN + 1];
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	add_headers(&o->h, sh, variant);
	s3i_sigv4_request req = {
		.method = sh->method, .path = sh->path, .query = sh->query, .headers = &o->h,
		.region = "us-east-1", .service = sh->service, .time_s = t, .flags = sh->flags,
	};
	if (give_body) {
		req.payload = body;
		req.payload_len = len;
	} else {
		assert_int_equal(s3i_sha256_hex(body, len, hash), 0);
		req.payload_hash = hash;
	}
	s3i_sigv4_creds c = { AKID, SECRET, sh->token };
	if (sh->presign)
		o->rc = s3i_sigv4_presign(s, &req, &c, 300, &o->query, &o->creq, &o->sts, &err);
	else
		o->rc = s3i_sigv4_sign(s, &req, &c, &o->creq, &o->sts, &err);
	if (o->rc)
		print_error("signing failed (%d): %s\n", o->rc, err.message);
}

/* The lengths around the edges: empty, within one block, the padding spilling into a second
 * block (56..63), whole blocks, and sizes where the shares are cut unevenly. */
static const size_t lengths[] = {
	0, 1, 13, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 191, 192, 500, 511, 512, 513,
	1000, 1023, 1024, 1025, 1087, 1088, 4096, 4099, 65536 + 7,
};

static unsigned char *make_body(size_t len, unsigned seed)
{
	unsigned char *b = malloc(len ? len : 1);
	assert_non_null(b);
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)(seed + i * 131 + (i >> 7));
	return b;
}

/* Every shape and length, each signed by two fresh signers, one given the hash and one the
 * body. */
static void t_same_as_hash_fresh(void **state)
{
	(void)state;
	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
		for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++) {
			unsigned char *body = make_body(lengths[li], (unsigned)li);
			char ctx[128];
			snprintf(ctx, sizeof(ctx), "shape %zu, %zu-byte body", si, lengths[li]);
			signed_out a, b;
			out_init(&a);
			out_init(&b);
			s3i_signer *sa = NULL, *sb = NULL;
			assert_int_equal(s3i_signer_new(&sa, ta()), 0);
			assert_int_equal(s3i_signer_new(&sb, ta()), 0);
			sign_one(sa, &shapes[si], body, lengths[li], T0, 0, 0, &a);
			sign_one(sb, &shapes[si], body, lengths[li], T0, 1, 0, &b);
			assert_int_equal(a.rc, 0);
			expect_same(&a, &b, ctx);
			s3i_signer_free(sa);
			s3i_signer_free(sb);
			out_free(&a);
			out_free(&b);
			free(body);
		}
	}
}

/* Two long-lived signers, one given hashes, one bodies, through a random mix of shapes,
 * lengths, bodies and times (repeats included), so what a signer keeps between signatures
 * (canonical request prefixes, header blocks, the string to sign's start) is exercised with
 * the body path too; and the body signer's results checked against the other's. */
static void t_same_as_hash_long_lived(void **state)
{
	(void)state;
	s3i_signer *sa = NULL, *sb = NULL;
	assert_int_equal(s3i_signer_new(&sa, ta()), 0);
	assert_int_equal(s3i_signer_new(&sb, ta()), 0);
	size_t prev_len = 0;
	unsigned prev_seed = 0;
	for (int i = 0; i < 3000; i++) {
		const shape *sh = &shapes[rnd() % (sizeof(shapes) / sizeof(shapes[0]))];
		size_t len = rnd() % 4 ? lengths[rnd() % (sizeof(lengths) / sizeof(lengths[0]) - 1)]
			: rnd() % 3000;
		unsigned seed = rnd() % 5;
		if (rnd() % 4 == 0) {     /* the very same body again, as a retry sends it */
			len = prev_len;
			seed = prev_seed;
		}
		int64_t t = T0 + (int64_t)(i / 50) + (rnd() % 10 == 0 ? 86400 : 0);
		unsigned variant = rnd();
		unsigned char *body = make_body(len, seed);
		char ctx[160];
		snprintf(ctx, sizeof(ctx), "round %d: shape %d, %zu-byte body", i,
			(int)(sh - shapes), len);
		signed_out a, b;
		out_init(&a);
		out_init(&b);
		sign_one(sa, sh, body, len, t, 0, variant, &a);
		sign_one(sb, sh, body, len, t, 1, variant, &b);
		assert_int_equal(a.rc, 0);
		expect_same(&a, &b, ctx);
		out_free(&a);
		out_free(&b);
		free(body);
		prev_len = len;
		prev_seed = seed;
	}
	s3i_signer_free(sa);
	s3i_signer_free(sb);
}

/* A known answer, independent of the other path: the AWS SigV4 suite's
 * post-x-www-form-urlencoded case, whose body is "Param1=value1". */
static void t_known_answer(void **state)
{
	(void)state;
	s3i_headers h;
	s3i_headers_init(&h, ta());
	assert_int_equal(s3i_headers_add(&h, "Content-Type", "application/x-www-form-urlencoded"), 0);
	assert_int_equal(s3i_headers_add(&h, "Host", "example.amazonaws.com"), 0);
	s3i_sigv4_request req = {
		.method = "POST", .path = "/", .headers = &h, .region = "us-east-1",
		.service = "service", .time_s = T0, .payload = "Param1=value1", .payload_len = 13,
	};
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	assert_int_equal(s3i_sigv4_sign(s, &req, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, NULL,
		NULL, NULL), 0);
	assert_string_equal(s3i_headers_get(&h, "Authorization"),
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=content-type;host;x-amz-date, "
		"Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
	s3i_signer_free(s);
	s3i_headers_free(&h);
}

/* A length without a body is refused, naming the payload; an empty body equals no body; a
 * given hash wins over a body. */
static void t_malformed_and_defaults(void **state)
{
	(void)state;
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	s3i_headers h;
	s3i_headers_init(&h, ta());
	assert_int_equal(s3i_headers_add(&h, "Host", "example.amazonaws.com"), 0);
	s3i_sigv4_creds c = { AKID, SECRET, NULL };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_sigv4_request req = {
		.method = "POST", .path = "/", .headers = &h, .region = "us-east-1",
		.service = "service", .time_s = T0, .payload = NULL, .payload_len = 5,
	};
	assert_int_equal(s3i_sigv4_sign(s, &req, &c, NULL, NULL, &err), S3I_EINVALID);
	assert_non_null(strstr(err.message, "payload"));
	assert_null(s3i_headers_get(&h, "Authorization"));

	s3i_buf creq;
	s3i_buf_init(&creq, ta());
	req.payload = "";
	req.payload_len = 0;
	assert_int_equal(s3i_sigv4_sign(s, &req, &c, &creq, NULL, NULL), 0);
	const char *tail = s3i_buf_cstr(&creq) + creq.size - S3I_SHA256_HEX_LEN;
	assert_string_equal(tail, S3I_EMPTY_SHA256);

	req.payload = "ignored";
	req.payload_len = 7;
	req.payload_hash = S3I_UNSIGNED_PAYLOAD;
	assert_int_equal(s3i_sigv4_sign(s, &req, &c, &creq, NULL, NULL), 0);
	tail = s3i_buf_cstr(&creq) + creq.size - strlen(S3I_UNSIGNED_PAYLOAD);
	assert_string_equal(tail, S3I_UNSIGNED_PAYLOAD);
	s3i_buf_dispose(&creq);
	s3i_headers_free(&h);
	s3i_signer_free(s);
}

/* Re-signing one request with its body (a retry) allocates nothing once warm. */
static void t_resign_no_alloc(void **state)
{
	(void)state;
	unsigned char *body = make_body(1024, 7);
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	s3i_headers h;
	s3i_headers_init(&h, ta());
	add_headers(&h, &shapes[0], 0);
	s3i_sigv4_request req = {
		.method = "POST", .path = "/", .headers = &h, .region = "us-east-1",
		.service = "dynamodb", .time_s = T0, .payload = body, .payload_len = 1024,
	};
	s3i_sigv4_creds c = { AKID, SECRET, NULL };
	for (int i = 0; i < 2; i++)    /* warm: the canonical request has two buffers, swapped */
		assert_int_equal(s3i_sigv4_sign(s, &req, &c, NULL, NULL, NULL), 0);
	long before = s3i_test_alloc_count();
	for (int i = 0; i < 100; i++) {
		req.time_s = T0 + i / 10;
		body[i] ^= 1;
		assert_int_equal(s3i_sigv4_sign(s, &req, &c, NULL, NULL, NULL), 0);
	}
	assert_int_equal(s3i_test_alloc_count(), before);
	s3i_headers_free(&h);
	s3i_signer_free(s);
	free(body);
}

/* Every allocation of a body signing failing in turn: a clean S3I_ENOMEM, no Authorization
 * left behind, nothing leaked; the run that gets through signs as the hash path does. */
static void t_oom(void **state)
{
	(void)state;
	unsigned char *body = make_body(700, 3);
	signed_out want;
	out_init(&want);
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	sign_one(s, &shapes[1], body, 700, T0, 0, 0, &want);
	assert_int_equal(want.rc, 0);
	s3i_signer_free(s);
	long first_ok = -1;
	for (long n = 0; first_ok < 0 || n < first_ok + 3; n++) {
		signed_out got;
		out_init(&got);
		add_headers(&got.h, &shapes[1], 0);
		s3i_test_alloc_fail_after(n);
		s = NULL;
		int rc = s3i_signer_new(&s, ta());
		if (!rc) {
			s3i_sigv4_request req = {
				.method = "POST", .path = "/", .headers = &got.h, .region = "us-east-1",
				.service = "dynamodb", .time_s = T0, .payload = body, .payload_len = 700,
			};
			rc = s3i_sigv4_sign(s, &req, &(s3i_sigv4_creds){ AKID, SECRET, "token/+=" },
				&got.creq, &got.sts, NULL);
		}
		s3i_test_alloc_fail_after(-1);
		s3i_signer_free(s);
		if (rc == S3I_OK) {
			got.rc = 0;
			/* the headers were added before the failing allocations: compare from there */
			expect_same_text("Authorization", s3i_headers_get(&want.h, "Authorization"),
				s3i_headers_get(&got.h, "Authorization"), "out of memory");
			expect_same_text("canonical request", s3i_buf_cstr(&want.creq),
				s3i_buf_cstr(&got.creq), "out of memory");
			if (first_ok < 0)
				first_ok = n;
		} else {
			assert_int_equal(rc, S3I_ENOMEM);
			assert_null(s3i_headers_get(&got.h, "Authorization"));
		}
		out_free(&got);
	}
	out_free(&want);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_same_as_hash_fresh),
		S3I_TEST(t_same_as_hash_long_lived),
		S3I_TEST(t_known_answer),
		S3I_TEST(t_malformed_and_defaults),
		S3I_TEST(t_resign_no_alloc),
		S3I_TEST(t_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
