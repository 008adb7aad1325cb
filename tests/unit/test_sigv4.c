/*
 * SigV4 (src/aws/sigv4.c) against every published vector in tests/fixtures/sigv4 (see its
 * README.md): the 34 cases of the AWS SigV4 test suite, the aws-c-auth v4 cases signed both in
 * headers and as presigned URLs, and the Amazon S3 worked examples. Case directories are found
 * by walking the fixture tree, so a case that goes missing fails the count checks.
 *
 * Paths. The signer takes the wire path (already percent-encoded). For S3 it signs that path
 * as it is; for other services it encodes it once more, which is AWS's double encoding. The
 * suite and aws-c-auth vectors are for a generic service and their request lines carry raw
 * paths ("/example space/", raw UTF-8, "$"), whose canonical URI is that raw path encoded once:
 * exactly what the signer makes of a path it is handed, so those raw paths go to the signer as
 * they are (botocore's and aws-c-auth's own harnesses do the same). Encoding them first and
 * then encoding again would give "%2524" where the vectors have "%24". The wire path (the raw
 * path percent-encoded once) is what the S3 checks use: each suite and aws-c-auth case is also
 * signed in S3 mode, whose canonical URI must be that wire path unchanged (no normalisation),
 * and the S3 examples are signed from wire paths only. Queries are sent on the wire encoded
 * (raw UTF-8 becomes %XX); the signer decodes and re-encodes them.
 *
 * All the vectors are signed again by one signer, so nothing it keeps between signatures (the
 * signing key, kept digest states) can leak into the next request. Then the behaviours no
 * vector covers: session tokens signed and unsigned, UNSIGNED-PAYLOAD, S3 paths with '//' and
 * '.', the signing-key cache (secrets, dates, regions and services changing), canonical
 * requests sharing prefixes, header values and names of every shape, re-signing without
 * allocating, malformed input, the hash helpers, and an out-of-memory loop.
 */
#include "test_alloc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "aws/headers.h"
#include "aws/sigv4.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "core/json.h"
#include "core/str.h"
#include "s3insights/errors.h"

#define SUITE_CASES 34
#define CRT_CASES 38
#define SUITE_TIME INT64_C(1440938160)   /* 20150830T123600Z */
#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static char current[512];   /* the case being checked, for failure messages */

/* ------------------------------------------------------------------ small helpers */

static const s3i_allocator *ta(void) { return s3i_test_alloc(); }

static void expect_text(const char *what, const char *got, const char *want)
{
	if (strcmp(got ? got : "(null)", want ? want : "(null)") != 0) {
		print_error("%s: %s differs\n--- got:\n%s\n--- want:\n%s\n", current, what,
			got ? got : "(null)", want ? want : "(null)");
		fail();
	}
}

static char *read_rel(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;

/* A fixture file under tests/fixtures/sigv4/, allocated with the test allocator. */
static char *read_rel(const char *fmt, ...)
{
	char rel[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	char path[1200];
	snprintf(path, sizeof(path), "sigv4/%s", rel);
	char *text = s3i_test_read_file(s3i_test_fixture(path), NULL);
	if (!text) {
		print_error("%s: missing fixture %s\n", current, path);
		fail();
	}
	return text;
}

static void tfree(void *p) { s3i_free(ta(), p); }

static char *tdup(const char *s, size_t n) { char *d = s3i_strndup(ta(), s, n); assert_non_null(d); return d; }

static void sha_hex(const char *data, size_t len, char out[65])
{
	assert_int_equal(s3i_sha256_hex(data, len, out), S3I_OK);
}

/* Percent-encode what cannot travel raw in a URL (spaces, controls, bytes >= 0x80). */
static char *wire_query(const char *q)
{
	s3i_buf b;
	s3i_buf_init(&b, ta());
	for (const unsigned char *p = (const unsigned char *)q; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f)
			assert_int_equal(s3i_buf_printf(&b, "%%%02X", *p), 0);
		else
			assert_int_equal(s3i_buf_putc(&b, (char)*p), 0);
	}
	return s3i_buf_detach(&b);
}

/* The raw path percent-encoded once ('/' kept): what is sent on the wire. */
static char *wire_path(const char *raw)
{
	s3i_buf b;
	s3i_buf_init(&b, ta());
	assert_int_equal(s3i_uri_encode(&b, raw, strlen(raw), 1), 0);
	return s3i_buf_detach(&b);
}

/* Line `n` (0-based) of a text, into a static buffer. */
static const char *line_of(const char *text, int n)
{
	static char line[4096];
	for (; n > 0 && text; n--) {
		text = strchr(text, '\n');
		text = text ? text + 1 : NULL;
	}
	if (!text)
		return "";
	size_t len = strcspn(text, "\n");
	snprintf(line, sizeof(line), "%.*s", (int)len, text);
	return line;
}

/* ------------------------------------------------------------------ raw HTTP requests */

typedef struct http_req {
	char *method, *path, *query;   /* path and query as written in the request line */
	s3i_headers headers;
	char *body;
	size_t body_len;
} http_req;

static void req_free(http_req *r)
{
	tfree(r->method);
	tfree(r->path);
	tfree(r->query);
	tfree(r->body);
	s3i_headers_free(&r->headers);
}

/* "GET /a b/?q HTTP/1.1": the method ends at the first space, the protocol starts at the last
 * (get-space has a raw space in its path). */
static void parse_request_line(const char *line, size_t len, http_req *r)
{
	const char *sp1 = memchr(line, ' ', len), *sp2 = line + len;
	assert_non_null(sp1);
	while (sp2 > sp1 && sp2[-1] != ' ')
		sp2--;
	assert_true(sp2 > sp1 + 1);
	r->method = tdup(line, (size_t)(sp1 - line));
	const char *target = sp1 + 1, *end = sp2 - 1;
	const char *q = memchr(target, '?', (size_t)(end - target));
	r->path = tdup(target, (size_t)((q ? q : end) - target));
	r->query = q ? tdup(q + 1, (size_t)(end - q - 1)) : NULL;
}

/* Append a folded continuation line to the last header: one space, then the trimmed text. */
static void unfold(s3i_headers *h, const char *text, size_t len)
{
	assert_true(h->count > 0);
	size_t tl = len;
	const char *t = s3i_str_trim(text, &tl);
	s3i_header *last = &h->items[h->count - 1];
	s3i_buf b;
	s3i_buf_init(&b, h->alloc);
	assert_int_equal(s3i_buf_printf(&b, "%s %.*s", last->value, (int)tl, t), 0);
	assert_int_equal(s3i_headers_set_value(h, h->count - 1, b.ptr, b.size), 0);
	s3i_buf_dispose(&b);
}

static void parse_request(const char *text, http_req *r)
{
	memset(r, 0, sizeof(*r));
	s3i_headers_init(&r->headers, ta());
	const char *p = text, *nl = strchr(p, '\n');
	size_t len = nl ? (size_t)(nl - p) : strlen(p);
	parse_request_line(p, len, r);
	p = nl ? nl + 1 : p + len;
	while (*p) {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len && p[len - 1] == '\r')
			len--;
		if (len == 0) {           /* blank line: the body follows */
			p = nl ? nl + 1 : p + len;
			break;
		}
		if (*p == ' ' || *p == '\t') {
			unfold(&r->headers, p, len);
		} else {
			const char *colon = memchr(p, ':', len);
			assert_non_null(colon);
			assert_int_equal(s3i_headers_addn(&r->headers, p, (size_t)(colon - p), colon + 1,
				(size_t)(p + len - colon - 1)), 0);
		}
		p = nl ? nl + 1 : p + len;
	}
	r->body_len = strlen(p);
	r->body = tdup(p, r->body_len);
}

/* ------------------------------------------------------------------ signing helpers */

typedef struct result {
	s3i_buf creq, sts, query;
	int rc;
	s3i_errinfo err;
} result;

static void result_init(result *res)
{
	s3i_buf_init(&res->creq, ta());
	s3i_buf_init(&res->sts, ta());
	s3i_buf_init(&res->query, ta());
	s3i_errinfo_init(&res->err);
	res->rc = -999;
}

static void result_free(result *res)
{
	s3i_buf_dispose(&res->creq);
	s3i_buf_dispose(&res->sts);
	s3i_buf_dispose(&res->query);
}

static void sign_with(s3i_signer *s, const s3i_sigv4_request *req, const s3i_sigv4_creds *c,
	int64_t presign_expires, result *res)
{
	if (presign_expires)
		res->rc = s3i_sigv4_presign(s, req, c, presign_expires, &res->query, &res->creq,
			&res->sts, &res->err);
	else
		res->rc = s3i_sigv4_sign(s, req, c, &res->creq, &res->sts, &res->err);
	if (res->rc)
		print_error("%s: signing failed (%d): %s\n", current, res->rc, res->err.message);
}

/* Sign with a fresh signer. */
static void sign_once(const s3i_sigv4_request *req, const s3i_sigv4_creds *c,
	int64_t presign_expires, result *res)
{
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	sign_with(s, req, c, presign_expires, res);
	s3i_signer_free(s);
}

/* The vector runs sign with a fresh signer, or all with one (g_shared), which checks that
 * nothing a signer keeps between signatures (the key, the digest states of the string to sign
 * and canonical request prefixes) leaks from one request into the next. */
static s3i_signer *g_shared;

static void sign_case(const s3i_sigv4_request *req, const s3i_sigv4_creds *c,
	int64_t presign_expires, result *res)
{
	if (g_shared)
		sign_with(g_shared, req, c, presign_expires, res);
	else
		sign_once(req, c, presign_expires, res);
}

static const char *signature_of(const char *authz)
{
	const char *p = authz ? strstr(authz, "Signature=") : NULL;
	return p ? p + 10 : "";
}

/* ------------------------------------------------------------------ fixture discovery */

typedef void (*case_fn)(const char *dir_rel, const char *name);

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_name(const void *a, const void *b) { return strcmp(a, b); }

/* Sorted subdirectory names of sigv4/<rel>. */
static size_t list_dirs(const char *rel, char names[][128], size_t max)
{
	char abs[1024];
	snprintf(abs, sizeof(abs), "%s/sigv4/%s", S3I_FIXTURES_DIR, rel);
	DIR *d = opendir(abs);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char sub[1400];
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", abs, e->d_name);
		if (!is_dir(sub))
			continue;
		assert_true(n < max);
		snprintf(names[n++], 128, "%.127s", e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_name);
	return n;
}

/* Walk sigv4/<rel>: a directory holding <its name>.req is a suite case; others are groups
 * (normalize-path/, post-sts-token/) walked in turn. Returns the number of cases run. */
static int walk_suite(const char *rel, case_fn fn)
{
	static char names[8][256][128];
	static int depth;
	assert_true(depth < 8);
	char (*mine)[128] = names[depth];
	size_t n = list_dirs(rel, mine, 256);
	int cases = 0;
	for (size_t i = 0; i < n; i++) {
		char sub[512], req[1024];
		snprintf(sub, sizeof(sub), "%s/%s", rel, mine[i]);
		snprintf(req, sizeof(req), "%s/sigv4/%s/%s.req", S3I_FIXTURES_DIR, sub, mine[i]);
		if (is_file(req)) {
			fn(sub, mine[i]);
			cases++;
		} else {
			depth++;
			cases += walk_suite(sub, fn);
			depth--;
		}
	}
	return cases;
}

/* ------------------------------------------------------------------ the AWS SigV4 test suite */

/* The token of a case is the X-Amz-Security-Token of its signed request (.sreq). */
static char *header_in_text(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;
			return tdup(v, strcspn(v, "\n"));
		}
	}
	return NULL;
}

/* In S3 mode the canonical URI is the wire path itself, never normalised. */
static void check_s3_uri(const http_req *r, const char *token)
{
	char *wp = wire_path(r->path);
	s3i_headers h;
	s3i_headers_init(&h, ta());
	assert_int_equal(s3i_headers_copy(&h, &r->headers), 0);
	s3i_sigv4_request req = {
		.method = r->method, .path = wp, .query = NULL, .headers = &h, .region = "us-east-1",
		.service = "s3", .time_s = SUITE_TIME, .flags = S3I_SIGV4_S3_PATH,
	};
	result res;
	result_init(&res);
	sign_once(&req, &(s3i_sigv4_creds){ AKID, SECRET, token }, 0, &res);
	assert_int_equal(res.rc, 0);
	expect_text("S3 canonical URI", line_of(res.creq.ptr, 1), wp);
	result_free(&res);
	s3i_headers_free(&h);
	tfree(wp);
}

static void run_suite_case(const char *dir, const char *name)
{
	snprintf(current, sizeof(current), "suite/%s", dir);
	char *text = read_rel("%s/%s.req", dir, name), *creq = read_rel("%s/%s.creq", dir, name);
	char *sts = read_rel("%s/%s.sts", dir, name), *authz = read_rel("%s/%s.authz", dir, name);
	char *sreq = read_rel("%s/%s.sreq", dir, name);
	http_req r;
	parse_request(text, &r);
	char *token = header_in_text(sreq, "X-Amz-Security-Token");
	int token_unsigned = token && !strstr(creq, "x-amz-security-token:");
	char hash[65], *query = r.query ? wire_query(r.query) : NULL;
	sha_hex(r.body, r.body_len, hash);
	s3i_sigv4_request req = {
		.method = r.method, .path = r.path, .query = query, .headers = &r.headers,
		.payload_hash = hash, .region = "us-east-1", .service = "service",
		.time_s = SUITE_TIME, .flags = token_unsigned ? S3I_SIGV4_TOKEN_UNSIGNED : 0,
	};
	check_s3_uri(&r, token);
	result res;
	result_init(&res);
	sign_case(&req, &(s3i_sigv4_creds){ AKID, SECRET, token }, 0, &res);
	assert_int_equal(res.rc, 0);
	expect_text("canonical request", res.creq.ptr, creq);
	expect_text("string to sign", res.sts.ptr, sts);
	expect_text("Authorization", s3i_headers_get(&r.headers, "Authorization"), authz);
	expect_text("X-Amz-Date", s3i_headers_get(&r.headers, "X-Amz-Date"), "20150830T123600Z");
	if (token)
		expect_text("token header", s3i_headers_get(&r.headers, "X-Amz-Security-Token"), token);
	result_free(&res);
	req_free(&r);
	char *all[] = { text, creq, sts, authz, sreq, token, query };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		tfree(all[i]);
}

static void t_suite(void **state)
{
	(void)state;
	int n = walk_suite("suite", run_suite_case);
	assert_int_equal(n, SUITE_CASES);
	print_message("suite: %d cases signed and checked\n", n);
}

static void t_aws_c_auth(void **state);
static void t_s3_examples(void **state);

/* Every vector again, all signed by one signer, twice over. */
static void t_vectors_one_signer(void **state)
{
	assert_int_equal(s3i_signer_new(&g_shared, ta()), 0);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(walk_suite("suite", run_suite_case), SUITE_CASES);
		t_aws_c_auth(state);
		t_s3_examples(state);
	}
	s3i_signer_free(g_shared);
	g_shared = NULL;
}

/* ------------------------------------------------------------------ aws-c-auth v4 suite */

typedef struct crt_ctx {
	s3i_json doc;
	s3i_sigv4_creds creds;
	const char *region, *service;
	int64_t time_s, expires;
	uint32_t flags;
} crt_ctx;

static void crt_context(const char *name, crt_ctx *c)
{
	char *text = read_rel("aws-c-auth-v4/%s/context.json", name);
	assert_int_equal(s3i_json_parse(&c->doc, text, strlen(text), "context.json", NULL), 0);
	tfree(text);
	s3i_json d = c->doc;
	c->creds.access_key_id = s3i_json_str(s3i_json_path(d, "credentials.access_key_id"));
	c->creds.secret_access_key = s3i_json_str(s3i_json_path(d, "credentials.secret_access_key"));
	c->creds.session_token = s3i_json_str(s3i_json_path(d, "credentials.token"));
	c->region = s3i_json_str(s3i_json_get(d, "region"));
	c->service = s3i_json_str(s3i_json_get(d, "service"));
	assert_non_null(c->creds.access_key_id);
	assert_non_null(c->region);
	assert_non_null(c->service);
	int64_t ms;
	assert_int_equal(s3i_time_parse_iso8601(s3i_json_str(s3i_json_get(d, "timestamp")), &ms), 0);
	c->time_s = ms / 1000;
	assert_int_equal(s3i_json_i64(s3i_json_get(d, "expiration_in_seconds"), &c->expires), 0);
	c->flags = 0;
	if (!s3i_json_bool(s3i_json_get(d, "normalize"), 1))
		c->flags |= S3I_SIGV4_NO_NORMALIZE;
	if (s3i_json_bool(s3i_json_get(d, "sign_body"), 0))
		c->flags |= S3I_SIGV4_CONTENT_SHA256_HEADER;
	if (s3i_json_bool(s3i_json_get(d, "omit_session_token"), 0))
		c->flags |= S3I_SIGV4_TOKEN_UNSIGNED;
}

/* "name:value" for every header, the name lowercased, sorted: compares header sets. */
static size_t header_lines(const s3i_headers *h, char *out[], size_t max)
{
	assert_true(h->count <= max);
	for (size_t i = 0; i < h->count; i++) {
		s3i_buf b;
		s3i_buf_init(&b, ta());
		for (const char *p = h->items[i].name; *p; p++)
			assert_int_equal(s3i_buf_putc(&b, (char)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p)), 0);
		assert_int_equal(s3i_buf_printf(&b, ":%s", h->items[i].value), 0);
		out[i] = s3i_buf_detach(&b);
	}
	qsort(out, h->count, sizeof(out[0]), cmp_str);
	return h->count;
}

/* Our headers after signing are exactly those of the expected signed request. */
static void expect_same_headers(const s3i_headers *got, const http_req *want)
{
	char *g[32], *w[32];
	size_t gn = header_lines(got, g, 32), wn = header_lines(&want->headers, w, 32);
	for (size_t i = 0; i < gn || i < wn; i++) {
		expect_text("signed request header", i < gn ? g[i] : NULL, i < wn ? w[i] : NULL);
		if (i < gn)
			tfree(g[i]);
		if (i < wn)
			tfree(w[i]);
	}
}

static void crt_header_variant(const char *name, const crt_ctx *c, const http_req *r,
	const char *hash, const char *query)
{
	char *creq = read_rel("aws-c-auth-v4/%s/header-canonical-request.txt", name);
	char *sts = read_rel("aws-c-auth-v4/%s/header-string-to-sign.txt", name);
	char *sig = read_rel("aws-c-auth-v4/%s/header-signature.txt", name);
	char *signed_text = read_rel("aws-c-auth-v4/%s/header-signed-request.txt", name);
	http_req want;
	parse_request(signed_text, &want);
	s3i_headers h;
	s3i_headers_init(&h, ta());
	assert_int_equal(s3i_headers_copy(&h, &r->headers), 0);
	s3i_sigv4_request req = {
		.method = r->method, .path = r->path, .query = query, .headers = &h,
		.payload_hash = hash, .region = c->region, .service = c->service,
		.time_s = c->time_s, .flags = c->flags,
	};
	result res;
	result_init(&res);
	sign_case(&req, &c->creds, 0, &res);
	assert_int_equal(res.rc, 0);
	expect_text("header canonical request", res.creq.ptr, creq);
	expect_text("header string to sign", res.sts.ptr, sts);
	expect_text("header signature", signature_of(s3i_headers_get(&h, "Authorization")), sig);
	expect_same_headers(&h, &want);
	result_free(&res);
	s3i_headers_free(&h);
	req_free(&want);
	tfree(creq); tfree(sts); tfree(sig); tfree(signed_text);
}

/* "a=b&c=d" decoded and sorted, one "name=value" per entry, for order-free comparison. */
static size_t decoded_params(const char *q, char *out[], size_t max)
{
	size_t n = 0;
	for (const char *p = q; p && *p;) {
		size_t len = strcspn(p, "&");
		s3i_buf b;
		s3i_buf_init(&b, ta());
		assert_int_equal(s3i_uri_decode(&b, p, len, 0), 0);
		assert_true(n < max);
		out[n++] = s3i_buf_detach(&b);
		p += len;
		if (*p == '&')
			p++;
	}
	qsort(out, n, sizeof(out[0]), cmp_str);
	return n;
}

static void expect_same_query(const char *got, const char *want)
{
	char *g[64], *w[64];
	size_t gn = decoded_params(got, g, 64), wn = decoded_params(want, w, 64);
	if (gn != wn) {
		print_error("%s: presigned query\n--- got:\n%s\n--- want:\n%s\n", current, got, want);
		fail();
	}
	for (size_t i = 0; i < gn; i++) {
		expect_text("presigned query parameter", g[i], w[i]);
		tfree(g[i]);
		tfree(w[i]);
	}
}

static void crt_query_variant(const char *name, const crt_ctx *c, const http_req *r,
	const char *hash, const char *query)
{
	char *creq = read_rel("aws-c-auth-v4/%s/query-canonical-request.txt", name);
	char *sts = read_rel("aws-c-auth-v4/%s/query-string-to-sign.txt", name);
	char *sig = read_rel("aws-c-auth-v4/%s/query-signature.txt", name);
	char *signed_text = read_rel("aws-c-auth-v4/%s/query-signed-request.txt", name);
	http_req want;
	parse_request(signed_text, &want);
	s3i_sigv4_request req = {
		.method = r->method, .path = r->path, .query = query, .headers = (s3i_headers *)&r->headers,
		.payload_hash = hash, .region = c->region, .service = c->service,
		.time_s = c->time_s, .flags = c->flags,
	};
	size_t before = r->headers.count;
	result res;
	result_init(&res);
	sign_case(&req, &c->creds, c->expires, &res);
	assert_int_equal(res.rc, 0);
	expect_text("query canonical request", res.creq.ptr, creq);
	expect_text("query string to sign", res.sts.ptr, sts);
	const char *got_sig = strstr(res.query.ptr, "X-Amz-Signature=");
	assert_non_null(got_sig);
	expect_text("query signature", got_sig + 16, sig);
	expect_same_query(res.query.ptr, want.query);
	assert_int_equal(r->headers.count, before);    /* presigning leaves the headers alone */
	result_free(&res);
	req_free(&want);
	tfree(creq); tfree(sts); tfree(sig); tfree(signed_text);
}

static void run_crt_case(const char *name)
{
	snprintf(current, sizeof(current), "aws-c-auth-v4/%s", name);
	crt_ctx c;
	crt_context(name, &c);
	char *text = read_rel("aws-c-auth-v4/%s/request.txt", name);
	http_req r;
	parse_request(text, &r);
	char hash[65], *query = r.query ? wire_query(r.query) : NULL;
	sha_hex(r.body, r.body_len, hash);
	crt_header_variant(name, &c, &r, hash, query);
	crt_query_variant(name, &c, &r, hash, query);
	if (c.flags & S3I_SIGV4_NO_NORMALIZE)
		check_s3_uri(&r, c.creds.session_token);
	req_free(&r);
	tfree(text);
	tfree(query);
	s3i_json_free(c.doc);
}

static void t_aws_c_auth(void **state)
{
	(void)state;
	static char names[256][128];
	size_t n = list_dirs("aws-c-auth-v4", names, 256);
	for (size_t i = 0; i < n; i++) {
		char ctx[1024];
		snprintf(ctx, sizeof(ctx), "%s/sigv4/aws-c-auth-v4/%s/context.json", S3I_FIXTURES_DIR,
			names[i]);
		if (!is_file(ctx)) {
			print_error("aws-c-auth-v4/%s has no context.json\n", names[i]);
			fail();
		}
		run_crt_case(names[i]);
	}
	assert_int_equal(n, CRT_CASES);
	if (!g_shared)
		print_message("aws-c-auth-v4: %zu cases signed and checked, as headers and presigned\n", n);
}

/* ------------------------------------------------------------------ S3 worked examples */

static int64_t parse_amz_date(const char *s)
{
	int y, mo, d, h, mi, sec;
	assert_int_equal(sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &y, &mo, &d, &h, &mi, &sec), 6);
	return s3i_time_from_utc(y, mo, d, h, mi, sec);
}

static const char *jstr(s3i_json obj, const char *key)
{
	const char *v = s3i_json_str(s3i_json_path(obj, key));
	if (!v) {
		print_error("%s: no string %s\n", current, key);
		fail();
	}
	return v;
}

/* The documentation prints "Credential=...,SignedHeaders=...": compare without our spaces. */
static void expect_authorization(const char *got, const char *want)
{
	s3i_buf b;
	s3i_buf_init(&b, ta());
	for (const char *p = got; *p; p++) {
		assert_int_equal(s3i_buf_putc(&b, *p), 0);
		if (*p == ',' && p[1] == ' ')
			p++;
	}
	expect_text("Authorization", b.ptr, want);
	s3i_buf_dispose(&b);
}

static void run_s3_example(s3i_json top, s3i_json ex, int *presigned)
{
	snprintf(current, sizeof(current), "s3-examples/%s", jstr(ex, "name"));
	const char *line = jstr(ex, "request_line");
	http_req r;
	memset(&r, 0, sizeof(r));
	s3i_headers_init(&r.headers, ta());
	parse_request_line(line, strlen(line), &r);
	char raw[512];
	snprintf(raw, sizeof(raw), "%s%s", r.path[0] == '/' ? "" : "/", r.path);  /* "PUT test$file" */
	char *wp = wire_path(raw);
	s3i_json hs = s3i_json_get(ex, "headers");
	for (size_t i = 0; i < s3i_json_len(hs); i++)
		assert_int_equal(s3i_headers_add(&r.headers, s3i_json_str(s3i_json_at(s3i_json_at(hs, i), 0)),
			s3i_json_str(s3i_json_at(s3i_json_at(hs, i), 1))), 0);
	const char *payload = jstr(ex, "payload"), *hash = jstr(ex, "payload_sha256");
	char h[65];
	if (strcmp(hash, S3I_UNSIGNED_PAYLOAD)) {
		sha_hex(payload, strlen(payload), h);
		expect_text("payload hash", h, hash);
	}
	s3i_sigv4_request req = {
		.method = r.method, .path = wp, .query = r.query, .headers = &r.headers,
		.payload_hash = hash, .region = jstr(top, "region"), .service = jstr(top, "service"),
		.time_s = parse_amz_date(jstr(top, "amz_date")), .flags = S3I_SIGV4_S3_PATH,
	};
	s3i_sigv4_creds creds = { jstr(top, "credentials.access_key_id"),
		jstr(top, "credentials.secret_access_key"), NULL };
	int64_t expires = 0;
	s3i_json url = s3i_json_get(ex, "presigned_url");
	if (url)
		assert_int_equal(s3i_json_i64(s3i_json_get(ex, "expires"), &expires), 0);
	result res;
	result_init(&res);
	sign_case(&req, &creds, expires, &res);
	assert_int_equal(res.rc, 0);
	expect_text("canonical request", res.creq.ptr, jstr(ex, "canonical_request"));
	sha_hex(res.creq.ptr, res.creq.size, h);
	expect_text("canonical request hash", h, jstr(ex, "canonical_request_sha256"));
	expect_text("string to sign", res.sts.ptr, jstr(ex, "string_to_sign"));
	if (url) {
		char full[2048];
		snprintf(full, sizeof(full), "https://%s%s?%s", jstr(top, "host"), wp, res.query.ptr);
		expect_text("presigned URL", full, s3i_json_str(url));
		*presigned += 1;
	} else {
		const char *authz = s3i_headers_get(&r.headers, "Authorization");
		expect_text("signature", signature_of(authz), jstr(ex, "signature"));
		expect_authorization(authz, jstr(ex, "authorization"));
	}
	result_free(&res);
	req_free(&r);
	tfree(wp);
}

static void t_s3_examples(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "s3-examples.json");
	char *text = read_rel("s3-examples.json");
	s3i_json top;
	assert_int_equal(s3i_json_parse(&top, text, strlen(text), "s3-examples.json", NULL), 0);
	tfree(text);
	s3i_json exs = s3i_json_get(top, "examples");
	size_t n = s3i_json_len(exs);
	int presigned = 0;
	for (size_t i = 0; i < n; i++)
		run_s3_example(top, s3i_json_at(exs, i), &presigned);
	assert_int_equal(n, 5);
	assert_int_equal(presigned, 1);
	if (!g_shared)
		print_message("s3-examples.json: %zu examples (%d presigned) signed and checked\n", n,
			presigned);
	s3i_json_free(top);
}

/* ------------------------------------------------------------------ behaviour */

/* A request with its own headers, for the tests below. */
typedef struct fixture_req {
	s3i_headers h;
	s3i_sigv4_request req;
} fixture_req;

static void make_req(fixture_req *f, const char *method, const char *path, const char *query,
	const char *service, uint32_t flags)
{
	s3i_headers_init(&f->h, ta());
	assert_int_equal(s3i_headers_add(&f->h, "Host", "example.amazonaws.com"), 0);
	f->req = (s3i_sigv4_request){
		.method = method, .path = path, .query = query, .headers = &f->h,
		.payload_hash = NULL, .region = "us-east-1", .service = service,
		.time_s = SUITE_TIME, .flags = flags,
	};
}

static int signed_header_listed(const char *authz, const char *name)
{
	const char *sh = strstr(authz, "SignedHeaders=");
	assert_non_null(sh);
	size_t len = strcspn(sh + 14, ",");
	char list[512];
	snprintf(list, sizeof(list), ";%.*s;", (int)len, sh + 14);
	char want[128];
	snprintf(want, sizeof(want), ";%s;", name);
	return strstr(list, want) != NULL;
}

static void t_session_token(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "session token");
	const char *tok = "FwoGZXIvYXdzEXAMPLE+/=";
	fixture_req none, sgn, uns;
	make_req(&none, "GET", "/", NULL, "service", 0);
	make_req(&sgn, "GET", "/", NULL, "service", 0);
	make_req(&uns, "GET", "/", NULL, "service", S3I_SIGV4_TOKEN_UNSIGNED);
	result r0, r1, r2;
	result_init(&r0); result_init(&r1); result_init(&r2);
	sign_once(&none.req, &(s3i_sigv4_creds){ AKID, SECRET, "" }, 0, &r0);
	sign_once(&sgn.req, &(s3i_sigv4_creds){ AKID, SECRET, tok }, 0, &r1);
	sign_once(&uns.req, &(s3i_sigv4_creds){ AKID, SECRET, tok }, 0, &r2);
	assert_int_equal(r0.rc | r1.rc | r2.rc, 0);
	/* "" means no token */
	assert_null(s3i_headers_get(&none.h, "X-Amz-Security-Token"));
	/* signed: in the canonical request and SignedHeaders */
	expect_text("token", s3i_headers_get(&sgn.h, "X-Amz-Security-Token"), tok);
	assert_non_null(strstr(r1.creq.ptr, "\nx-amz-security-token:FwoGZXIvYXdzEXAMPLE+/=\n"));
	assert_true(signed_header_listed(s3i_headers_get(&sgn.h, "Authorization"), "x-amz-security-token"));
	/* unsigned: sent, but the signature is that of the request without a token */
	expect_text("token", s3i_headers_get(&uns.h, "X-Amz-Security-Token"), tok);
	assert_null(strstr(r2.creq.ptr, "x-amz-security-token"));
	assert_false(signed_header_listed(s3i_headers_get(&uns.h, "Authorization"), "x-amz-security-token"));
	expect_text("unsigned-token Authorization", s3i_headers_get(&uns.h, "Authorization"),
		s3i_headers_get(&none.h, "Authorization"));
	assert_string_not_equal(s3i_headers_get(&sgn.h, "Authorization"),
		s3i_headers_get(&none.h, "Authorization"));
	/* re-signing the unsigned variant (a retry) keeps the token out of the signature */
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	result_free(&r2);
	result_init(&r2);
	sign_with(s, &uns.req, &(s3i_sigv4_creds){ AKID, SECRET, tok }, 0, &r2);
	assert_int_equal(r2.rc, 0);
	expect_text("re-signed Authorization", s3i_headers_get(&uns.h, "Authorization"),
		s3i_headers_get(&none.h, "Authorization"));
	assert_int_equal(uns.h.count, 4);   /* Host, X-Amz-Date, Authorization, the token */
	/* presigned: token in the query, signed or not */
	result_free(&r1);
	result_init(&r1);
	sign_with(s, &sgn.req, &(s3i_sigv4_creds){ AKID, SECRET, tok }, 60, &r1);
	assert_non_null(strstr(r1.creq.ptr, "X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE%2B%2F%3D"));
	assert_non_null(strstr(r1.query.ptr, "&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE%2B%2F%3D&"));
	sign_with(s, &uns.req, &(s3i_sigv4_creds){ AKID, SECRET, tok }, 60, &r2);
	assert_null(strstr(r2.creq.ptr, "X-Amz-Security-Token"));
	assert_non_null(strstr(r2.query.ptr, "&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE%2B%2F%3D&"));
	s3i_signer_free(s);
	result_free(&r0); result_free(&r1); result_free(&r2);
	s3i_headers_free(&none.h); s3i_headers_free(&sgn.h); s3i_headers_free(&uns.h);
}

static void t_unsigned_payload(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "UNSIGNED-PAYLOAD");
	fixture_req f;
	make_req(&f, "PUT", "/bucket/key", NULL, "s3", S3I_SIGV4_S3_PATH);
	f.req.payload_hash = S3I_UNSIGNED_PAYLOAD;
	result r;
	result_init(&r);
	sign_once(&f.req, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, 0, &r);
	assert_int_equal(r.rc, 0);
	expect_text("content hash header", s3i_headers_get(&f.h, "x-amz-content-sha256"),
		S3I_UNSIGNED_PAYLOAD);
	expect_text("payload line", line_of(r.creq.ptr, 8), S3I_UNSIGNED_PAYLOAD);
	expect_text("signed headers", line_of(r.creq.ptr, 7), "host;x-amz-content-sha256;x-amz-date");
	/* no payload hash: S3 signs the empty body's hash in header mode... */
	result_free(&r);
	result_init(&r);
	f.req.payload_hash = NULL;
	sign_once(&f.req, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, 0, &r);
	expect_text("empty payload", s3i_headers_get(&f.h, "x-amz-content-sha256"), S3I_EMPTY_SHA256);
	assert_int_equal(f.h.count, 4);   /* the content hash header was replaced, not added */
	/* ...and UNSIGNED-PAYLOAD when presigning, without adding the header to the URL */
	s3i_headers_free(&f.h);
	make_req(&f, "GET", "/bucket/key", NULL, "s3", S3I_SIGV4_S3_PATH);
	result_free(&r);
	result_init(&r);
	sign_once(&f.req, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, 300, &r);
	assert_int_equal(r.rc, 0);
	expect_text("presigned payload line", line_of(r.creq.ptr, 6), S3I_UNSIGNED_PAYLOAD);
	assert_non_null(strstr(r.query.ptr, "X-Amz-SignedHeaders=host&"));
	/* other services presign the empty hash */
	f.req.flags = 0;
	f.req.service = "service";
	result_free(&r);
	result_init(&r);
	sign_once(&f.req, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, 300, &r);
	expect_text("generic presigned payload line", line_of(r.creq.ptr, 6), S3I_EMPTY_SHA256);
	result_free(&r);
	s3i_headers_free(&f.h);
}

static void t_s3_path_kept(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "S3 path");
	static const struct { const char *wire, *s3, *generic; } cases[] = {
		{ "/bucket//a/./b/../c%20d", "/bucket//a/./b/../c%20d", "/bucket/a/c%2520d" },
		{ "//", "//", "/" },
		{ "/./", "/./", "/" },
		{ "/a/..", "/a/..", "/" },
		{ "/key%2Fwith%2Fslashes", "/key%2Fwith%2Fslashes", "/key%252Fwith%252Fslashes" },
		{ "/caf%C3%A9/", "/caf%C3%A9/", "/caf%25C3%25A9/" },
		{ "", "/", "/" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fixture_req f;
		result r;
		make_req(&f, "GET", cases[i].wire, NULL, "s3", S3I_SIGV4_S3_PATH);
		result_init(&r);
		sign_once(&f.req, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, 0, &r);
		assert_int_equal(r.rc, 0);
		expect_text("S3 canonical URI", line_of(r.creq.ptr, 1), cases[i].s3);
		result_free(&r);
		f.req.flags = 0;
		f.req.service = "service";
		result_init(&r);
		sign_once(&f.req, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, 0, &r);
		expect_text("generic canonical URI", line_of(r.creq.ptr, 1), cases[i].generic);
		result_free(&r);
		s3i_headers_free(&f.h);
	}
	/* NO_NORMALIZE keeps the segments but still encodes again */
	fixture_req f;
	result r;
	make_req(&f, "GET", "/a//./b%20", NULL, "service", S3I_SIGV4_NO_NORMALIZE);
	result_init(&r);
	sign_once(&f.req, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, 0, &r);
	expect_text("unnormalised URI", line_of(r.creq.ptr, 1), "/a//./b%2520");
	result_free(&r);
	s3i_headers_free(&f.h);
}

/* The Authorization a fresh signer gives, for comparison with a reused one. */
static void fresh_authorization(const s3i_sigv4_request *in, const s3i_sigv4_creds *c, char *out,
	size_t cap)
{
	s3i_headers h;
	s3i_headers_init(&h, ta());
	assert_int_equal(s3i_headers_copy(&h, in->headers), 0);
	s3i_sigv4_request req = *in;
	req.headers = &h;
	result r;
	result_init(&r);
	sign_once(&req, c, 0, &r);
	assert_int_equal(r.rc, 0);
	snprintf(out, cap, "%s", s3i_headers_get(&h, "Authorization"));
	result_free(&r);
	s3i_headers_free(&h);
}

static void t_key_cache(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "signing-key cache");
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	fixture_req f;
	make_req(&f, "GET", "/", NULL, "service", 0);
	const char *secrets[] = { SECRET, "another/secret+EXAMPLEKEY0123456789abcd" };
	static const struct { int secret; int64_t dt; const char *region, *service; } steps[] = {
		{ 0, 0, "us-east-1", "service" }, { 1, 0, "us-east-1", "service" },
		{ 0, 0, "us-east-1", "service" }, { 1, 0, "us-east-1", "service" },
		{ 0, 86400, "us-east-1", "service" }, { 0, 0, "us-east-1", "service" },
		{ 0, 60, "us-east-1", "service" },    /* same day: the cached key still fits */
		{ 0, 0, "eu-west-1", "service" }, { 0, 0, "us-east-1", "service" },
		{ 0, 0, "us-east-1", "sts" }, { 1, 0, "us-east-1", "sts" }, { 0, 0, "us-east-1", "service" },
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		f.req.time_s = SUITE_TIME + steps[i].dt;
		f.req.region = steps[i].region;
		f.req.service = steps[i].service;
		s3i_sigv4_creds c = { AKID, secrets[steps[i].secret], NULL };
		char want[512];
		fresh_authorization(&f.req, &c, want, sizeof(want));
		result r;
		result_init(&r);
		sign_with(s, &f.req, &c, 0, &r);
		assert_int_equal(r.rc, 0);
		snprintf(current, sizeof(current), "signing-key cache step %zu", i);
		expect_text("Authorization", s3i_headers_get(&f.h, "Authorization"), want);
		result_free(&r);
	}
	s3i_signer_free(s);
	s3i_headers_free(&f.h);
}

/* HMAC chain computed independently with OpenSSL's HMAC(), for secrets longer than a block. */
static void reference_signature(const char *secret, const char *sts, char out[65])
{
	unsigned char k[32], tmp[32];
	unsigned int n = 0;
	size_t slen = strlen(secret);
	char *k0 = s3i_malloc(ta(), slen + 5);
	assert_non_null(k0);
	snprintf(k0, slen + 5, "AWS4%s", secret);
	assert_non_null(HMAC(EVP_sha256(), k0, (int)(slen + 4), (const unsigned char *)"20150830", 8, k, &n));
	const char *parts[] = { "us-east-1", "service", "aws4_request" };
	for (int i = 0; i < 3; i++) {
		assert_non_null(HMAC(EVP_sha256(), k, 32, (const unsigned char *)parts[i], strlen(parts[i]), tmp, &n));
		memcpy(k, tmp, 32);
	}
	assert_non_null(HMAC(EVP_sha256(), k, 32, (const unsigned char *)sts, strlen(sts), tmp, &n));
	s3i_hex_encode(out, tmp, 32);
	tfree(k0);
}

static void t_long_secret(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "long secret");
	char secret[300];
	for (size_t len = 59; len < sizeof(secret); len += 70) {   /* key of 63, 133, 203, 273 bytes */
		memset(secret, 'k', len);
		secret[len] = '\0';
		fixture_req f;
		make_req(&f, "GET", "/", NULL, "service", 0);
		result r;
		result_init(&r);
		sign_once(&f.req, &(s3i_sigv4_creds){ AKID, secret, NULL }, 0, &r);
		assert_int_equal(r.rc, 0);
		char want[65];
		reference_signature(secret, r.sts.ptr, want);
		expect_text("signature", signature_of(s3i_headers_get(&f.h, "Authorization")), want);
		result_free(&r);
		s3i_headers_free(&f.h);
	}
}

/* Signing the same headers again (a retry) replaces what was set and, once warm, allocates
 * nothing at all. */
static void t_resign_no_alloc(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "re-signing");
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	fixture_req f;
	make_req(&f, "GET", "/bucket/photos/2024/img.jpg", "versionId=3&x=y%20z", "s3",
		S3I_SIGV4_S3_PATH);
	assert_int_equal(s3i_headers_add(&f.h, "Range", "bytes=0-9"), 0);
	f.req.payload_hash = S3I_UNSIGNED_PAYLOAD;
	s3i_sigv4_creds c = { AKID, SECRET, "token/value+=" };
	for (int i = 0; i < 3; i++)
		assert_int_equal(s3i_sigv4_sign(s, &f.req, &c, NULL, NULL, NULL), 0);
	size_t count = f.h.count;
	assert_int_equal(count, 6);   /* Host, Range, X-Amz-Date, token, content hash, Authorization */
	long before = s3i_test_alloc_count();
	for (int i = 0; i < 100; i++) {
		f.req.time_s = SUITE_TIME + i;
		assert_int_equal(s3i_sigv4_sign(s, &f.req, &c, NULL, NULL, NULL), 0);
	}
	assert_int_equal(s3i_test_alloc_count() - before, 0);
	assert_int_equal(f.h.count, count);
	char want[512];
	fresh_authorization(&f.req, &c, want, sizeof(want));
	expect_text("Authorization after re-signing", s3i_headers_get(&f.h, "Authorization"), want);
	/* duplicates of the headers the signer owns collapse into one */
	assert_int_equal(s3i_headers_add(&f.h, "x-amz-date", "20000101T000000Z"), 0);
	assert_int_equal(s3i_headers_add(&f.h, "AUTHORIZATION", "stale"), 0);
	assert_int_equal(s3i_sigv4_sign(s, &f.req, &c, NULL, NULL, NULL), 0);
	assert_int_equal(f.h.count, count);
	expect_text("Authorization after duplicates", s3i_headers_get(&f.h, "Authorization"), want);
	s3i_signer_free(s);
	s3i_headers_free(&f.h);
}

static void t_canonical_headers(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "canonical headers");
	fixture_req f;
	make_req(&f, "GET", "/", NULL, "service", 0);
	const char *hs[][2] = {
		{ "My-Header", "  a \t\t b   c  " }, { "my-header", "second" }, { "Zeta", "" },
		{ "User-Agent", "curl/8" }, { "Expect", "100-continue" }, { "X-Amzn-Trace-Id", "Root=1" },
		{ "Authorization", "old" }, { "Content-Type", "text/plain" }, { "A-B", "\tx" },
	};
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
		assert_int_equal(s3i_headers_add(&f.h, hs[i][0], hs[i][1]), 0);
	result r;
	result_init(&r);
	sign_once(&f.req, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, 0, &r);
	assert_int_equal(r.rc, 0);
	expect_text("canonical request", r.creq.ptr,
		"GET\n/\n\na-b:x\ncontent-type:text/plain\nhost:example.amazonaws.com\n"
		"my-header:a b c,second\nx-amz-date:20150830T123600Z\nzeta:\n\n"
		"a-b;content-type;host;my-header;x-amz-date;zeta\n" S3I_EMPTY_SHA256);
	/* the headers left out of the signature are still sent */
	expect_text("User-Agent", s3i_headers_get(&f.h, "User-Agent"), "curl/8");
	result_free(&r);
	s3i_headers_free(&f.h);
}

static void t_canonical_query(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "canonical query");
	static const struct { const char *wire, *canonical; } cases[] = {
		{ "", "" },
		{ "b=2&a=1", "a=1&b=2" },
		{ "lifecycle", "lifecycle=" },
		{ "a=1&&b&c=", "a=1&b=&c=" },
		{ "k=v+w", "k=v%2Bw" },                      /* '+' is a plus, not a space */
		{ "k=%7e%2f%41", "k=~%2FA" },                 /* decoded, then strictly encoded */
		{ "k=a%2", "k=a%252" },                       /* a broken escape stands for itself */
		{ "k=%zz", "k=%25zz" },
		{ "k=a=b", "k=a%3Db" },
		{ "k=b&k=a&K=c&k=", "K=c&k=&k=a&k=b" },     /* by name, then value, bytewise */
		{ "prefix=photos/2024/&delimiter=/", "delimiter=%2F&prefix=photos%2F2024%2F" },
		{ "%E1%88%B4=1&Z=2", "%E1%88%B4=1&Z=2" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fixture_req f;
		make_req(&f, "GET", "/", cases[i].wire, "service", 0);
		result r;
		result_init(&r);
		sign_once(&f.req, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, 0, &r);
		assert_int_equal(r.rc, 0);
		snprintf(current, sizeof(current), "canonical query of \"%s\"", cases[i].wire);
		expect_text("canonical query", line_of(r.creq.ptr, 2), cases[i].canonical);
		result_free(&r);
		s3i_headers_free(&f.h);
	}
}

static void expect_refused(fixture_req *f, const s3i_sigv4_creds *c, int64_t expires, int code)
{
	result r;
	result_init(&r);
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	r.rc = expires ? s3i_sigv4_presign(s, &f->req, c, expires, &r.query, NULL, NULL, &r.err)
		: s3i_sigv4_sign(s, &f->req, c, NULL, NULL, &r.err);
	s3i_signer_free(s);
	assert_int_equal(r.rc, code);
	assert_int_equal(r.err.pub.code, code);
	assert_true(r.err.message[0] != '\0');
	/* never a secret or token in the message */
	assert_null(strstr(r.err.message, SECRET));
	assert_null(strstr(r.err.message, "TOKENSECRET"));
	assert_null(s3i_headers_get(&f->h, "Authorization"));
	result_free(&r);
}

static void t_invalid(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "invalid input");
	s3i_sigv4_creds good = { AKID, SECRET, NULL };
	fixture_req f;
	make_req(&f, "GET", "/", NULL, "service", 0);
	/* credentials */
	expect_refused(&f, &(s3i_sigv4_creds){ AKID, "", NULL }, 0, S3I_EAUTH);
	expect_refused(&f, &(s3i_sigv4_creds){ NULL, SECRET, NULL }, 0, S3I_EAUTH);
	expect_refused(&f, &(s3i_sigv4_creds){ "AK/ID", SECRET, NULL }, 0, S3I_EAUTH);
	expect_refused(&f, &(s3i_sigv4_creds){ AKID, SECRET, "TOKENSECRET\r\nX: y" }, 0, S3I_EAUTH);
	/* request fields */
	const char *regions[] = { "us/east", "", NULL, "us east" };
	for (size_t i = 0; i < 4; i++) {
		f.req.region = regions[i];
		expect_refused(&f, &good, 0, S3I_EINVALID);
	}
	f.req.region = "us-east-1";
	f.req.service = NULL;
	expect_refused(&f, &good, 0, S3I_EINVALID);
	f.req.service = "service";
	f.req.method = "GE T";
	expect_refused(&f, &good, 0, S3I_EINVALID);
	f.req.method = "GET";
	f.req.time_s = -1;
	expect_refused(&f, &good, 0, S3I_EINVALID);
	f.req.time_s = INT64_C(253402300800);   /* year 10000 */
	expect_refused(&f, &good, 0, S3I_EINVALID);
	f.req.time_s = SUITE_TIME;
	f.req.payload_hash = "abc def";
	expect_refused(&f, &good, 0, S3I_EINVALID);
	f.req.payload_hash = NULL;
	/* presign lifetime */
	expect_refused(&f, &good, -5, S3I_EINVALID);
	expect_refused(&f, &good, S3I_SIGV4_MAX_EXPIRES + 1, S3I_EINVALID);
	/* headers: a value or name that cannot be sent; a missing Host */
	assert_int_equal(s3i_headers_add(&f.h, "X-Injected", "a\r\nEvil: 1"), 0);
	expect_refused(&f, &good, 0, S3I_EINVALID);
	expect_refused(&f, &good, 60, S3I_EINVALID);
	s3i_headers_remove(&f.h, "X-Injected");
	assert_int_equal(s3i_headers_add(&f.h, "Bad Name", "v"), 0);
	expect_refused(&f, &good, 0, S3I_EINVALID);
	s3i_headers_remove(&f.h, "Bad Name");
	assert_int_equal(s3i_headers_add(&f.h, "", "v"), 0);
	expect_refused(&f, &good, 0, S3I_EINVALID);
	s3i_headers_remove(&f.h, "");
	s3i_headers_remove(&f.h, "Host");
	expect_refused(&f, &good, 0, S3I_EINVALID);
	expect_refused(&f, &good, 60, S3I_EINVALID);
	/* a failed signature never leaves an Authorization header behind */
	assert_int_equal(s3i_headers_add(&f.h, "Authorization", "AWS4-HMAC-SHA256 stale"), 0);
	expect_refused(&f, &good, 0, S3I_EINVALID);
	/* NULL arguments */
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_sigv4_sign(NULL, &f.req, &good, NULL, NULL, &err), S3I_EINVALID);
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	assert_int_equal(s3i_sigv4_sign(s, NULL, &good, NULL, NULL, &err), S3I_EINVALID);
	assert_int_equal(s3i_headers_add(&f.h, "Host", "h"), 0);
	assert_int_equal(s3i_sigv4_presign(s, &f.req, &good, 60, NULL, NULL, NULL, &err), S3I_EINVALID);
	s3i_signer_free(s);
	s3i_signer_free(NULL);
	s3i_headers_free(&f.h);
}

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* Canonical requests sharing prefixes of every length with the one before (around the 64-byte
 * blocks whose digest states the signer keeps), signed by one signer and by fresh ones. */
static void t_prefix_reuse(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "canonical-request prefix reuse");
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	char pad[200], var[40], hash[65];
	for (int i = 0; i < 3000; i++) {
		fixture_req f;
		make_req(&f, "POST", i % 7 ? "/" : "/other", NULL, "service", 0);
		size_t plen = rnd() % 150;
		memset(pad, 'p', plen);
		pad[plen] = '\0';
		snprintf(var, sizeof(var), "%u", rnd() % 4);          /* often the same as before */
		snprintf(hash, sizeof(hash), "%064u", rnd() % 3);
		f.req.payload_hash = hash;
		f.req.time_s = SUITE_TIME + rnd() % 3;
		assert_int_equal(s3i_headers_add(&f.h, "X-Pad", pad), 0);
		assert_int_equal(s3i_headers_add(&f.h, "X-Var", var), 0);
		char want[512];
		s3i_sigv4_creds c = { AKID, SECRET, NULL };
		fresh_authorization(&f.req, &c, want, sizeof(want));
		assert_int_equal(s3i_sigv4_sign(s, &f.req, &c, NULL, NULL, NULL), 0);
		snprintf(current, sizeof(current), "prefix reuse, request %d", i);
		expect_text("Authorization", s3i_headers_get(&f.h, "Authorization"), want);
		s3i_headers_free(&f.h);
	}
	s3i_signer_free(s);
}

/* Sign (or presign) `in` with a fresh signer and with `s`, on copies of its headers, and
 * compare everything: status, canonical request, Authorization or presigned query. */
static void same_as_fresh(s3i_signer *s, const s3i_sigv4_request *in, const s3i_sigv4_creds *c,
	int64_t presign_expires)
{
	s3i_headers h1, h2;
	s3i_headers_init(&h1, ta());
	s3i_headers_init(&h2, ta());
	assert_int_equal(s3i_headers_copy(&h1, in->headers), 0);
	assert_int_equal(s3i_headers_copy(&h2, in->headers), 0);
	s3i_sigv4_request r1 = *in, r2 = *in;
	r1.headers = &h1;
	r2.headers = &h2;
	s3i_signer *fresh = NULL;
	assert_int_equal(s3i_signer_new(&fresh, ta()), 0);
	s3i_buf c1, c2, q1, q2;
	s3i_buf_init(&c1, ta());
	s3i_buf_init(&c2, ta());
	s3i_buf_init(&q1, ta());
	s3i_buf_init(&q2, ta());
	int rc1, rc2;
	if (presign_expires) {
		rc1 = s3i_sigv4_presign(fresh, &r1, c, presign_expires, &q1, &c1, NULL, NULL);
		rc2 = s3i_sigv4_presign(s, &r2, c, presign_expires, &q2, &c2, NULL, NULL);
	} else {
		rc1 = s3i_sigv4_sign(fresh, &r1, c, &c1, NULL, NULL);
		rc2 = s3i_sigv4_sign(s, &r2, c, &c2, NULL, NULL);
	}
	assert_int_equal(rc2, rc1);
	if (!rc1) {
		expect_text("canonical request", s3i_buf_cstr(&c2), s3i_buf_cstr(&c1));
		if (presign_expires) {
			expect_text("presigned query", s3i_buf_cstr(&q2), s3i_buf_cstr(&q1));
		} else {
			assert_int_equal(h2.count, h1.count);
			for (size_t i = 0; i < h1.count; i++) {
				expect_text("header name", h2.items[i].name, h1.items[i].name);
				expect_text("header value", h2.items[i].value, h1.items[i].value);
			}
		}
	}
	s3i_buf_dispose(&c1);
	s3i_buf_dispose(&c2);
	s3i_buf_dispose(&q1);
	s3i_buf_dispose(&q2);
	s3i_signer_free(fresh);
	s3i_headers_free(&h1);
	s3i_headers_free(&h2);
}

/* The reused canonical header block (same headers as the signing before) against a fresh
 * signer, over requests that differ from the one before in every way that matters: a header's
 * value, case, order or presence, the date, a session token appearing (which turns a
 * caller's X-Amz-Security-Token header into the signer's own), the content-hash and token
 * flags, a refused value, and presigning in between. */
static void t_header_block_reuse(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "canonical header block reuse");
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	static const char *const hosts[] = { "example.amazonaws.com", "Example.amazonaws.com" };
	static const char *const names[] = { "X-Var", "x-var", "X-Other", "Content-Type",
		"X-Amz-Security-Token", "X-Amz-Date", "x-amz-content-sha256", "x-amz-security-token" };
	static const char *const values[] = { "a", "a  b", " a b ", "x,y", "", "tok" };
	/* a token is signed as it is; the same text in a caller's header is canonicalised */
	static const char *const tokens[] = { NULL, "TOKEN1", "a  b" };
	static const uint32_t flag_sets[] = { 0, S3I_SIGV4_S3_PATH, S3I_SIGV4_CONTENT_SHA256_HEADER,
		S3I_SIGV4_TOKEN_UNSIGNED };
	char hash[65];
	sha_hex("body", 4, hash);
	for (int i = 0; i < 4000; i++) {
		snprintf(current, sizeof(current), "header block reuse, request %d", i);
		fixture_req f;
		make_req(&f, rnd() % 2 ? "GET" : "POST", "/", NULL, "service", flag_sets[rnd() % 4]);
		assert_int_equal(s3i_headers_set(&f.h, "Host", hosts[rnd() % 2 ? 0 : (rnd() % 2)]), 0);
		for (unsigned k = 0, n = rnd() % 4; k < n; k++)
			assert_int_equal(s3i_headers_add(&f.h, names[rnd() % 8], values[rnd() % 6]), 0);
		if (rnd() % 60 == 0)
			assert_int_equal(s3i_headers_add(&f.h, "X-Bad", "line\nbreak"), 0);
		f.req.time_s = SUITE_TIME + rnd() % 2;
		f.req.payload_hash = rnd() % 2 ? hash : NULL;
		s3i_sigv4_creds c = { AKID, SECRET, tokens[rnd() % 3] };
		same_as_fresh(s, &f.req, &c, rnd() % 10 == 0 ? 60 : 0);
		s3i_headers_free(&f.h);
	}
	s3i_signer_free(s);
}

/* The canonical form of a value: blanks trimmed, runs of spaces and tabs as one space. */
static void reference_value(const char *v, char *out)
{
	int pending = 0;
	char *o = out;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			pending = o != out;
		} else {
			if (pending)
				*o++ = ' ';
			pending = 0;
			*o++ = *v;
		}
	}
	*o = '\0';
}

/* Header values of every shape (blanks at either end, runs crossing 8-byte chunks, tabs,
 * commas), canonicalised as the reference does. */
static void t_header_values(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "header values");
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	const char alphabet[] = "ab  \t,x";
	for (int i = 0; i < 3000; i++) {
		char v[64], want[64], line[96];
		size_t n = rnd() % 40;
		for (size_t k = 0; k < n; k++)
			v[k] = alphabet[rnd() % (sizeof(alphabet) - 1)];
		v[n] = '\0';
		reference_value(v, want);
		fixture_req f;
		make_req(&f, "GET", "/", NULL, "service", 0);
		assert_int_equal(s3i_headers_add(&f.h, "X-Value", v), 0);
		result r;
		result_init(&r);
		sign_with(s, &f.req, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, 0, &r);
		assert_int_equal(r.rc, 0);
		snprintf(line, sizeof(line), "x-value:%s", want);
		snprintf(current, sizeof(current), "header value \"%s\"", v);
		expect_text("canonical header", line_of(r.creq.ptr, 5), line);
		result_free(&r);
		s3i_headers_free(&f.h);
	}
	s3i_signer_free(s);
}

/* The headers the signer sets are recognised whatever their case, and only by their exact
 * names: a look-alike with a control character is an invalid name. */
static void t_header_names(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "header names");
	const char *dates[] = { "X-AMZ-DATE", "x-amz-date", "X-Amz-DaTe" };
	for (int i = 0; i < 3; i++) {
		fixture_req f;
		make_req(&f, "GET", "/", NULL, "service", 0);
		assert_int_equal(s3i_headers_add(&f.h, dates[i], "19990101T000000Z"), 0);
		assert_int_equal(s3i_headers_add(&f.h, "X-AMZ-SECURITY-TOKEN", "old-token"), 0);
		assert_int_equal(s3i_headers_add(&f.h, "AUTHORIZATION", "old"), 0);
		result r;
		result_init(&r);
		sign_once(&f.req, &(s3i_sigv4_creds){ AKID, SECRET, "new-token" }, 0, &r);
		assert_int_equal(r.rc, 0);
		assert_int_equal(f.h.count, 4);
		expect_text("date", s3i_headers_get(&f.h, "x-amz-date"), "20150830T123600Z");
		expect_text("token", s3i_headers_get(&f.h, "x-amz-security-token"), "new-token");
		expect_text("signed headers", line_of(r.creq.ptr, 7), "host;x-amz-date;x-amz-security-token");
		result_free(&r);
		s3i_headers_free(&f.h);
	}
	const char *lookalikes[] = { "x\ramz-date", "x-amz-dat\x05", "x-amz\x0d" "date", "host\n" };
	for (int i = 0; i < 4; i++) {
		fixture_req f;
		make_req(&f, "GET", "/", NULL, "service", 0);
		assert_int_equal(s3i_headers_add(&f.h, lookalikes[i], "v"), 0);
		expect_refused(&f, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, 0, S3I_EINVALID);
		s3i_headers_free(&f.h);
	}
}

/* Secrets of every length up to past two pad lengths, alternated with one differing only in
 * its last byte: the masked comparison never mistakes one for the other. */
static void t_secret_lengths(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "secret lengths");
	s3i_signer *s = NULL;
	assert_int_equal(s3i_signer_new(&s, ta()), 0);
	char a[200], b[200];
	for (size_t len = 1; len < 140; len++) {
		for (size_t k = 0; k < len; k++)
			a[k] = b[k] = (char)('A' + (k * 7 + len) % 26);
		a[len] = b[len] = '\0';
		b[len - 1] ^= 1;
		const char *seq[] = { a, b, a, a, b };
		for (int i = 0; i < 5; i++) {
			fixture_req f;
			make_req(&f, "GET", "/", NULL, "service", 0);
			s3i_sigv4_creds c = { AKID, seq[i], NULL };
			char want[512];
			fresh_authorization(&f.req, &c, want, sizeof(want));
			assert_int_equal(s3i_sigv4_sign(s, &f.req, &c, NULL, NULL, NULL), 0);
			expect_text("Authorization", s3i_headers_get(&f.h, "Authorization"), want);
			s3i_headers_free(&f.h);
		}
	}
	s3i_signer_free(s);
}

static void t_hash_helpers(void **state)
{
	(void)state;
	char hex[65];
	assert_int_equal(s3i_sha256_hex(NULL, 0, hex), 0);
	assert_string_equal(hex, S3I_EMPTY_SHA256);
	assert_int_equal(s3i_sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* streaming equals one-shot, across uneven chunks, and the object restarts after final */
	char big[3000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	char want[65];
	assert_int_equal(s3i_sha256_hex(big, sizeof(big), want), 0);
	s3i_sha256 *h = s3i_sha256_new();
	assert_non_null(h);
	for (int round = 0; round < 2; round++) {
		for (size_t off = 0, step = 1; off < sizeof(big); off += step, step = step * 3 % 257 + 1)
			assert_int_equal(s3i_sha256_update(h, big + off,
				off + step > sizeof(big) ? sizeof(big) - off : step), 0);
		assert_int_equal(s3i_sha256_final_hex(h, hex), 0);
		assert_string_equal(hex, want);
	}
	/* every length around the block and padding boundaries, against OpenSSL's EVP_Digest */
	for (size_t len = 0; len <= 300; len++) {
		unsigned char ref[32];
		char refhex[65];
		assert_true(EVP_Digest(big, len, ref, NULL, EVP_sha256(), NULL));
		s3i_hex_encode(refhex, ref, 32);
		assert_int_equal(s3i_sha256_hex(big, len, hex), 0);
		assert_string_equal(hex, refhex);
	}
	assert_int_equal(s3i_sha256_update(h, NULL, 0), 0);
	assert_int_equal(s3i_sha256_final_hex(h, hex), 0);
	assert_string_equal(hex, S3I_EMPTY_SHA256);
	s3i_sha256_free(h);
	s3i_sha256_free(NULL);
	/* MD5 (RFC 1321 test suite) */
	unsigned char raw[16];
	char b64[25];
	assert_int_equal(s3i_md5("", 0, raw), 0);
	s3i_hex_encode(hex, raw, 16);
	assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
	assert_int_equal(s3i_md5("message digest", 14, raw), 0);
	s3i_hex_encode(hex, raw, 16);
	assert_string_equal(hex, "f96b697d7cb7938d525a2f31aaf161d0");
	assert_int_equal(s3i_md5_base64(NULL, 0, b64), 0);
	assert_string_equal(b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
	assert_int_equal(s3i_md5_base64("Welcome to Amazon S3.", 21, b64), 0);
	assert_int_equal(strlen(b64), 24);
}

/* ------------------------------------------------------------------ out of memory */

typedef struct oom_out {
	char auth[512];
	s3i_buf query, creq;
} oom_out;

/* Everything a client does with a signer, with a long secret so the key derivation takes its
 * allocating branch too. Returns the first failure. */
static int oom_scenario(s3i_headers *h1, s3i_headers *h2, oom_out *o, int *code_recorded)
{
	static char secret[200];
	memset(secret, 'q', sizeof(secret) - 1);
	s3i_signer *s = NULL;
	int rc = s3i_signer_new(&s, ta());
	if (rc) {
		*code_recorded = s3i_error_last()->code == rc;
		return rc;
	}
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_sigv4_request get = {
		.method = "GET", .path = "/b/k%20ey", .query = "list-type=2&prefix=a%2Fb&x",
		.headers = h1, .payload_hash = NULL, .region = "us-east-1", .service = "s3",
		.time_s = SUITE_TIME, .flags = S3I_SIGV4_S3_PATH,
	};
	s3i_sigv4_request post = get;
	post.method = "POST";
	post.path = "/a/./b/../c";
	post.query = NULL;
	post.headers = h2;
	post.service = "dynamodb";
	post.flags = 0;
	s3i_sigv4_creds c = { AKID, secret, "token+/=" };
	if (!(rc = s3i_sigv4_sign(s, &get, &c, &o->creq, NULL, &err)) &&
		!(rc = s3i_sigv4_sign(s, &post, &(s3i_sigv4_creds){ AKID, SECRET, NULL }, NULL, NULL, &err)))
		rc = s3i_sigv4_presign(s, &get, &c, 900, &o->query, NULL, NULL, &err);
	if (rc)
		*code_recorded = err.pub.code == rc;
	s3i_signer_free(s);
	if (!rc)
		snprintf(o->auth, sizeof(o->auth), "%s|%s", s3i_headers_get(h1, "Authorization"),
			s3i_headers_get(h2, "Authorization"));
	return rc;
}

static void oom_headers(s3i_headers *h1, s3i_headers *h2)
{
	s3i_headers_init(h1, ta());
	s3i_headers_init(h2, ta());
	assert_int_equal(s3i_headers_add(h1, "Host", "b.s3.amazonaws.com"), 0);
	assert_int_equal(s3i_headers_add(h2, "Host", "dynamodb.us-east-1.amazonaws.com"), 0);
	assert_int_equal(s3i_headers_add(h2, "X-Amz-Target", "DynamoDB_20120810.PutItem"), 0);
}

/* Fail the scenario's allocations one after the other (the Nth for N = 0, 1, ...) until a run
 * gets through, and a few more runs after that: every failure is a clean S3I_ENOMEM with the
 * detail recorded and nothing leaked, and every run that gets through signs correctly. */
static void t_oom(void **state)
{
	(void)state;
	snprintf(current, sizeof(current), "out of memory");
	s3i_headers h1, h2;
	oom_out want;
	int recorded = 0;
	s3i_buf_init(&want.query, ta());
	s3i_buf_init(&want.creq, ta());
	oom_headers(&h1, &h2);
	assert_int_equal(oom_scenario(&h1, &h2, &want, &recorded), 0);
	s3i_headers_free(&h1);
	s3i_headers_free(&h2);
	long base = s3i_test_alloc_outstanding(), first_ok = -1;
	for (long n = 0; first_ok < 0 || n < first_ok + 5; n++) {
		oom_out got;
		s3i_buf_init(&got.query, ta());
		s3i_buf_init(&got.creq, ta());
		oom_headers(&h1, &h2);
		s3i_test_alloc_fail_after(n);
		recorded = 0;
		int rc = oom_scenario(&h1, &h2, &got, &recorded);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK) {
			expect_text("Authorization", got.auth, want.auth);
			expect_text("presigned query", got.query.ptr, want.query.ptr);
			expect_text("canonical request", got.creq.ptr, want.creq.ptr);
			if (first_ok < 0)
				first_ok = n;
		} else {
			if (rc != S3I_ENOMEM || first_ok >= 0)
				print_error("allocation %ld failing gave %d\n", n, rc);
			assert_int_equal(rc, S3I_ENOMEM);
			assert_true(first_ok < 0);     /* no allocation is optional */
			assert_true(recorded);
		}
		s3i_buf_dispose(&got.query);
		s3i_buf_dispose(&got.creq);
		s3i_headers_free(&h1);
		s3i_headers_free(&h2);
		assert_int_equal(s3i_test_alloc_outstanding(), base);
	}
	assert_true(first_ok > 10);
	s3i_buf_dispose(&want.query);
	s3i_buf_dispose(&want.creq);
}

/* ------------------------------------------------------------------ main */

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_suite),
		S3I_TEST(t_aws_c_auth),
		S3I_TEST(t_s3_examples),
		S3I_TEST(t_vectors_one_signer),
		S3I_TEST(t_session_token),
		S3I_TEST(t_unsigned_payload),
		S3I_TEST(t_s3_path_kept),
		S3I_TEST(t_key_cache),
		S3I_TEST(t_long_secret),
		S3I_TEST(t_resign_no_alloc),
		S3I_TEST(t_canonical_headers),
		S3I_TEST(t_canonical_query),
		S3I_TEST(t_invalid),
		S3I_TEST(t_prefix_reuse),
		S3I_TEST(t_header_block_reuse),
		S3I_TEST(t_header_values),
		S3I_TEST(t_header_names),
		S3I_TEST(t_secret_lengths),
		S3I_TEST(t_hash_helpers),
		S3I_TEST(t_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
