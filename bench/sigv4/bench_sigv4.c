/*
 * SigV4 signing throughput on one core, for the two requests docs/performance.md tracks:
 *   s3-get       GET of an object (virtual-hosted bucket, us-east-1), UNSIGNED-PAYLOAD
 *   ddb-putitem  DynamoDB PutItem POST with a 1 KiB JSON body; the body's SHA-256 is computed
 *                for every signature, as botocore's SigV4Auth.add_auth does; it goes to the
 *                signer as s3i_sigv4_request.payload, which hashes it (BENCH_HASH_FIRST=1:
 *                s3i_sha256_hex first, passed as payload_hash)
 * Every request is a new one, as in real traffic: the object key and the item change each time
 * (img_000001.jpg, img_000002.jpg...; user#000001...), so nothing can be reused from signing
 * an identical request. A request is built, signed and freed one at a time (as a client does,
 * so the allocator behaves as it would there) and only the signing is timed: what a client pays
 * per request, i.e. hashing the body, signing, adding X-Amz-Date and Authorization to the
 * headers. The clock's own cost, measured at start, is subtracted from each sample. The
 * "-resign" rows sign one request again and again (what a retry costs). BENCH_SHANI=0 in the
 * environment turns off the SHA-NI end of the signature (src/aws/sha256_shani.c), so OpenSSL
 * does all the hashing, as on a CPU without SHA extensions.
 *
 * Output: one tab-separated line per scenario:
 *   name  signatures  seconds  signatures_per_s  us_per_signature
 * Usage: bench_sigv4 [seconds per scenario, default 2] [scenario name, default all]
 *        bench_sigv4 --print-auth EPOCH   (request 0 of each scenario signed at that time: run.sh
 *                                          checks botocore_sigv4.py signs the same requests)
 *        bench_sigv4 --ab [seconds]       (PutItem three ways in one process, one picked at random
 *                                          for every sample so that load and clock speed hit all
 *                                          alike: the body given to the signer, its hash given,
 *                                          the bare chain of the same 22 SHA-256 blocks through
 *                                          OpenSSL with their hex conversions and nothing else,
 *                                          the body given with SHA-NI off, and the bare chain on
 *                                          SHA-NI as the signer runs it; the mean of
 *                                          the fastest 60% of each (the fastest 1% left out).
 *                                          For comparing changes on a busy machine)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The bare chain of --ab uses the plain SHA256_CTX interface, as the signer does. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

#include "aws/headers.h"
#include "aws/sha256_shani.h"
#include "aws/sigv4.h"

#define BODY_LEN 1024

static const s3i_sigv4_creds creds = {
	"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL
};

typedef struct request {
	s3i_headers headers;
	char path[64];
	char body[BODY_LEN + 1];
	int ddb;
	int64_t time_s;               /* 0: now */
} request;

/* Request number i of a scenario; botocore_sigv4.py builds the same ones. */
static int build(request *r, int ddb, long i)
{
	s3i_headers_init(&r->headers, NULL);
	r->ddb = ddb;
	if (!ddb) {
		snprintf(r->path, sizeof(r->path), "/photos/2024/01/img_%06ld.jpg", i % 1000000);
		return s3i_headers_add(&r->headers, "Host", "examplebucket.s3.us-east-1.amazonaws.com");
	}
	/* a PutItem body of exactly BODY_LEN bytes */
	int h = snprintf(r->body, sizeof(r->body), "{\"TableName\":\"bench\",\"Item\":{\"pk\":{\"S\":"
		"\"user#%06ld\"},\"data\":{\"S\":\"", i % 1000000);
	const char *tail = "\"}}}";
	size_t t = strlen(tail);
	memset(r->body + h, 'x', BODY_LEN - (size_t)h - t);
	memcpy(r->body + BODY_LEN - t, tail, t + 1);
	return s3i_headers_add(&r->headers, "Host", "dynamodb.us-east-1.amazonaws.com") ||
		s3i_headers_add(&r->headers, "Content-Type", "application/x-amz-json-1.0") ||
		s3i_headers_add(&r->headers, "X-Amz-Target", "DynamoDB_20120810.PutItem");
}

/* What a client does per request: hash the body (DynamoDB) and sign. The signer hashes the body
 * itself, overlapping that with the rest of its work; BENCH_HASH_FIRST=1 in the environment
 * hashes it first with s3i_sha256_hex and passes payload_hash instead (the slower way). */
static int hash_first;

static int sign_one(s3i_signer *s, request *r)
{
	char hash[S3I_SHA256_HEX_LEN + 1];
	s3i_sigv4_request req = {
		.method = "GET", .path = r->path, .query = NULL, .headers = &r->headers,
		.payload_hash = S3I_UNSIGNED_PAYLOAD, .region = "us-east-1", .service = "s3",
		.time_s = r->time_s ? r->time_s : (int64_t)time(NULL), .flags = S3I_SIGV4_S3_PATH,
	};
	if (r->ddb) {
		if (hash_first) {
			if (s3i_sha256_hex(r->body, BODY_LEN, hash))
				return -1;
			req.payload_hash = hash;
		} else {
			req.payload_hash = NULL;
			req.payload = r->body;
			req.payload_len = BODY_LEN;
		}
		req.method = "POST";
		req.path = "/";
		req.service = "dynamodb";
		req.flags = 0;
	}
	return s3i_sigv4_sign(s, &req, &creds, NULL, NULL, NULL);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What one clock reading costs, as seen by a sample (the mean of back-to-back pairs). */
static double clock_cost(void)
{
	double sum = 0;
	for (int i = 0; i < 100000; i++) {
		double t0 = now_s();
		sum += now_s() - t0;
	}
	return sum / 100000;
}

typedef struct scenario {
	const char *name;
	int ddb;
	int resign;
} scenario;

static const scenario scenarios[] = {
	{ "s3-get", 0, 0 }, { "ddb-putitem", 1, 0 },
	{ "s3-get-resign", 0, 1 }, { "ddb-putitem-resign", 1, 1 },
};

/* Signs until `seconds` of signing time have accumulated (after a warm-up). */
static int no_shani;              /* BENCH_SHANI=0: OpenSSL does all the hashing */

static int run(const scenario *sc, double seconds, double clock)
{
	static request r;
	s3i_signer *s = NULL;
	if (s3i_signer_new(&s, NULL) || (sc->resign && build(&r, sc->ddb, 0)))
		return -1;
	if (no_shani)
		s3i_signer_use_shani(s, 0);
	double spent = 0;
	long done = 0;
	int rc = 0;
	for (long i = 0; !rc && spent < seconds; i++) {
		if (!sc->resign && (rc = build(&r, sc->ddb, i)))
			break;
		double t0 = now_s();
		rc = sign_one(s, &r);
		double dt = now_s() - t0 - clock;
		if (!sc->resign)
			s3i_headers_free(&r.headers);
		if (i >= 1000) {               /* the first ones warm caches and the signer */
			spent += dt;
			done++;
		}
	}
	if (sc->resign)
		s3i_headers_free(&r.headers);
	s3i_signer_free(s);
	if (rc) {
		fprintf(stderr, "%s: signing failed (%d)\n", sc->name, rc);
		return -1;
	}
	printf("%s\t%ld\t%.3f\t%.0f\t%.3f\n", sc->name, done, spent, done / spent,
		spent / done * 1e6);
	fflush(stdout);
	return 0;
}

/* --ab: the bare chain. The canonical request's and the string to sign's leading blocks are
 * hashed once, as the signer keeps them; each sample hashes the body (17 blocks), the
 * canonical request's last 76 bytes (2 blocks), the string to sign's last 75 (2) and the outer
 * HMAC (1), with the hex digits between them, as a signature needs. */
typedef struct bare {
	char creq[268], sts[139], sig[65];
	SHA256_CTX creq_head, sts_head, opad;
	/* the same on SHA-NI as the signer does it (sha256_shani.h): laid out once */
	unsigned char body_tail[192], creq_tail[192], sts_tail[192];
	int body_blocks, creq_blocks, sts_blocks;
} bare;

static void hex32(char *p, const unsigned char d[32])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		p[2 * i] = digits[d[i] >> 4];
		p[2 * i + 1] = digits[d[i] & 15];
	}
}

static void bare_init(bare *b)
{
	memset(b, 'c', sizeof(*b));
	SHA256_Init(&b->creq_head);
	SHA256_Update(&b->creq_head, b->creq, 192);
	SHA256_Init(&b->sts_head);
	SHA256_Update(&b->sts_head, b->sts, 128);   /* ipad block + the string to sign's first */
	SHA256_Init(&b->opad);
	SHA256_Update(&b->opad, b->sts, 64);
	b->body_blocks = s3i_shani_layout(b->body_tail, "", 0, 0, BODY_LEN);
	b->creq_blocks = s3i_shani_layout(b->creq_tail, b->creq + 192, 12, 1, 268);
	b->sts_blocks = s3i_shani_layout(b->sts_tail, b->sts + 64, 11, 1, 64 + 139);
}

/* The bare chain on SHA-NI: the body's 16 blocks, then the rest in one call. */
static void bare_chain_ni(bare *b, const char *body)
{
	s3i_shani_state st;
	s3i_shani_start(&st);
	s3i_shani_blocks(&st, (const unsigned char *)body, BODY_LEN / 64);
	s3i_shani_chain c = {
		.body = { NULL, b->body_tail, 0, b->body_blocks }, .body_state = &st,
		.creq = { b->creq_head.h, b->creq_tail, 12, b->creq_blocks },
		.sts = { b->sts_head.h, b->sts_tail, 11, b->sts_blocks },
		.outer_h = b->opad.h,
		.creq_hex = b->creq + 204, .sts_hex = b->sts + 75, .sig_hex = b->sig,
	};
	s3i_shani_sign_chain(&c);
}

static void bare_chain(bare *b, const char *body)
{
	unsigned char d[32];
	SHA256_CTX c;
	SHA256_Init(&c);
	SHA256_Update(&c, body, BODY_LEN);
	SHA256_Final(d, &c);
	hex32(b->creq + 204, d);
	c = b->creq_head;
	SHA256_Update(&c, b->creq + 192, 76);
	SHA256_Final(d, &c);
	hex32(b->sts + 75, d);
	c = b->sts_head;
	SHA256_Update(&c, b->sts + 64, 75);
	SHA256_Final(d, &c);
	c = b->opad;
	SHA256_Update(&c, d, 32);
	SHA256_Final(d, &c);
	hex32(b->sig, d);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Mean of the samples between the fastest 1% and the fastest 60%, in us. */
static double fast_mean(double *v, long n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	long a = n / 100, z = n * 6 / 10;
	double sum = 0;
	for (long k = a; k < z; k++)
		sum += v[k];
	return z > a ? sum / (double)(z - a) * 1e6 : 0;
}

static int ab(double seconds, double clock)
{
	enum { WAYS = 5, MAX_SAMPLES = 1000000 };
	static const char *const way_name[WAYS] = {
		"body given to the signer", "hash given (s3i_sha256_hex first)",
		"bare 22-block chain, OpenSSL", "body given, SHA-NI off", "bare 22-block chain, SHA-NI"
	};
	static double samples[WAYS][MAX_SAMPLES];
	static request r;
	static bare b;
	long n[WAYS] = { 0 };
	s3i_signer *s[WAYS] = { NULL, NULL, NULL, NULL, NULL };
	int ni = s3i_shani_available();
	if (s3i_signer_new(&s[0], NULL) || s3i_signer_new(&s[1], NULL) ||
		s3i_signer_new(&s[3], NULL))
		return 1;
	s3i_signer_use_shani(s[3], 0);
	bare_init(&b);
	unsigned long rnd = 1;
	double spent = 0;
	int rc = 0;
	int full = 0;                 /* a way's samples are all taken: stop */
	for (long i = 0; !rc && !full && spent < seconds * WAYS; i++) {
		rnd = rnd * 6364136223846793005ul + 1442695040888963407ul;
		int way = (int)((rnd >> 33) % WAYS);
		if (way == 4 && !ni)
			continue;             /* no SHA-NI here: that way stays empty */
		if ((rc = build(&r, 1, i)))
			break;
		double t0 = now_s();
		if (way == 2) {
			bare_chain(&b, r.body);
		} else if (way == 4) {
			bare_chain_ni(&b, r.body);
		} else {
			hash_first = way == 1;
			rc = sign_one(s[way], &r);
		}
		double dt = now_s() - t0 - clock;
		s3i_headers_free(&r.headers);
		if (i >= 3000) {
			samples[way][n[way]++] = dt;
			spent += dt;
			full = n[way] == MAX_SAMPLES;
		}
	}
	for (int w = 0; w < WAYS; w++)
		s3i_signer_free(s[w]);
	if (rc) {
		fprintf(stderr, "--ab: signing failed (%d)\n", rc);
		return 1;
	}
	for (int w = 0; w < WAYS; w++)
		printf("ddb-putitem, %s\t%ld\t%.3f\n", way_name[w], n[w], fast_mean(samples[w], n[w]));
	return 0;
}

static int print_auth(int64_t epoch)
{
	for (int ddb = 0; ddb < 2; ddb++) {
		static request r;
		s3i_signer *s = NULL;
		if (s3i_signer_new(&s, NULL) || build(&r, ddb, 0))
			return 1;
		r.time_s = epoch;
		int rc = sign_one(s, &r);
		if (!rc)
			printf("%s\t%s\n", scenarios[ddb].name, s3i_headers_get(&r.headers, "Authorization"));
		s3i_headers_free(&r.headers);
		s3i_signer_free(s);
		if (rc)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *hf = getenv("BENCH_HASH_FIRST");
	hash_first = hf && *hf == '1';
	const char *ns = getenv("BENCH_SHANI");
	no_shani = ns && *ns == '0';
	if (argc == 3 && !strcmp(argv[1], "--print-auth"))
		return print_auth(strtoll(argv[2], NULL, 10));
	if (argc >= 2 && !strcmp(argv[1], "--ab"))
		return ab(argc > 2 ? atof(argv[2]) : 2.0, clock_cost());
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	if (seconds <= 0) {
		fprintf(stderr, "usage: %s [seconds per scenario] [scenario]\n"
			"       %s --print-auth EPOCH\n", argv[0], argv[0]);
		return 2;
	}
	double clock = clock_cost();
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if ((argc < 3 || !strcmp(argv[2], scenarios[i].name)) && run(&scenarios[i], seconds, clock))
			return 1;
	return 0;
}
