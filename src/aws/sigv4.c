/*
 * AWS Signature Version 4 (see sigv4.h for what is signed and how).
 *
 * Where the time goes: SHA-256. A GET costs seven blocks (four for its canonical request, two
 * and one for the HMAC of the string to sign), a 1 KiB PutItem seventeen more for its body;
 * one block is ~40 ns with SHA-NI. So the rest is kept to straight copies into buffers the
 * signer owns and reuses (nothing is allocated once it is warm, except for headers the
 * request did not have yet), and hashing is avoided where the input is byte for byte what it
 * was last time: the derived signing key is cached with the hashed states of its HMAC pads,
 * the HMAC state after the first block of the string to sign is kept for the rest of the
 * second, and so are the digest states after the leading blocks of the canonical request
 * (see hash_creq); the canonical header block is reused when the headers are the same as last
 * time (see hb_match), which for requests to one endpoint within a second they are. The hex
 * digits of the three digests are made sixteen bytes at a time (put_hex32). A 1 KiB PutItem
 * is bound by SHA-256 itself: its 22 blocks take ~0.8 us of its ~1 us. Given the body rather
 * than its hash, the signer hashes it in shares with the rest of its work in between, which
 * then runs while the blocks are being hashed (see body_step). Where the CPU has the SHA
 * extensions, the payload's shares and everything after its last one run on our own SHA-NI
 * code (sha256_shani.h), which keeps digest states in the instructions' own layout and the
 * hex digests between the last four digests in registers: 4-6% off a 1 KiB PutItem, 3-6% off
 * a GET. docs/performance.md has the figures.
 */

/* Digest backend. OpenSSL 3.0's EVP layer frees and reallocates its provider context on every
 * EVP_DigestInit and EVP_MD_CTX_copy_ex; measured end to end, signing through EVP is 15-20%
 * slower. The SHA256_CTX interface is a plain struct, so keeping and restoring a digest state
 * is a struct copy and nothing is allocated. It is deprecated in 3.0 but built into every 3.x
 * unless OpenSSL was configured without deprecated interfaces; then, or with -DS3I_SIGV4_EVP,
 * the EVP path is used (same results; the unit tests pass with either). */
#if !defined(S3I_SIGV4_EVP)
#define OPENSSL_SUPPRESS_DEPRECATED 1
#endif

#include "aws/sigv4.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "aws/sha256_shani.h"
#include "core/alloc.h"
#include "core/str.h"
#include "s3insights/errors.h"

#if !defined(S3I_SIGV4_EVP) && defined(OPENSSL_NO_DEPRECATED_3_0)
#define S3I_SIGV4_EVP 1
#endif

/* The steps of header signing are called from two places (with and without a payload being
 * hashed), which made gcc keep them out of line: the calls and the spills around them cost a GET
 * 3-4% (0.013-0.018 us, measured interleaved against the code before). Forced inline, each path
 * gets its own copy. */
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

#define ALGORITHM "AWS4-HMAC-SHA256"
#define SCOPE_TERM "aws4_request"
#define AMZ_DATE_LEN 16
#define MAX_TIME_S INT64_C(253402300799)   /* 9999-12-31T23:59:59Z: X-Amz-Date has 4 year digits */

/* ------------------------------------------------------------------ digests */

static const EVP_MD *md_sha256;
static const EVP_MD *md_md5;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

/* Fetched once for the process: implicit fetching (EVP_sha256() with OpenSSL 3) looks the
 * algorithm up again on every init, which is what makes one-shot SHA256() slow. */
static void md_fetch(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
#else
	md_sha256 = EVP_sha256();
	md_md5 = EVP_md5();
#endif
}

static const EVP_MD *md_get(int md5)
{
	pthread_once(&md_once, md_fetch);
	return md5 ? md_md5 : md_sha256;
}

typedef struct digest {
#if defined(S3I_SIGV4_EVP)
	EVP_MD_CTX *ctx;
#else
	SHA256_CTX ctx;
#endif
} digest;

#if defined(S3I_SIGV4_EVP)

static int dg_open(digest *d)
{
	d->ctx = md_get(0) ? EVP_MD_CTX_new() : NULL;
	return d->ctx && EVP_DigestInit_ex(d->ctx, md_get(0), NULL) ? 0 : -1;
}

static void dg_close(digest *d) { EVP_MD_CTX_free(d->ctx); d->ctx = NULL; }
static int dg_init(digest *d) { return EVP_DigestInit_ex(d->ctx, md_get(0), NULL) ? 0 : -1; }
static int dg_update(digest *d, const void *p, size_t n)
{
	return EVP_DigestUpdate(d->ctx, p, n) ? 0 : -1;
}
static int dg_final(digest *d, unsigned char out[32])
{
	return EVP_DigestFinal_ex(d->ctx, out, NULL) ? 0 : -1;
}
static int dg_copy(digest *dst, const digest *src)
{
	return EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) ? 0 : -1;
}

#else

static int dg_open(digest *d) { return SHA256_Init(&d->ctx) ? 0 : -1; }
static void dg_close(digest *d) { OPENSSL_cleanse(&d->ctx, sizeof(d->ctx)); }
static int dg_init(digest *d) { return SHA256_Init(&d->ctx) ? 0 : -1; }
static int dg_update(digest *d, const void *p, size_t n)
{
	return SHA256_Update(&d->ctx, p, n) ? 0 : -1;
}
static int dg_final(digest *d, unsigned char out[32])
{
	return SHA256_Final(out, &d->ctx) ? 0 : -1;
}
static int dg_copy(digest *dst, const digest *src)
{
	dst->ctx = src->ctx;
	return 0;
}

#endif

static int dg_last(digest *d, const void *p, size_t n, unsigned char out[32])
{
	return dg_update(d, p, n) || dg_final(d, out) ? -1 : 0;
}

static int dg_once(digest *d, const void *p, size_t n, unsigned char out[32])
{
	return dg_init(d) || dg_last(d, p, n, out) ? -1 : 0;
}

/* HMAC-SHA256 (RFC 2104) as two digests over pads, so the pads of a key can be kept. */
static void hmac_pads(digest *d, const unsigned char *key, size_t klen, unsigned char ipad[64],
	unsigned char opad[64])
{
	unsigned char k[64] = { 0 };
	if (klen > 64) {
		dg_once(d, key, klen, k);   /* a failure leaves k zero: the result is then just wrong */
	} else {
		memcpy(k, key, klen);
	}
	for (int i = 0; i < 64; i++) {
		ipad[i] = (unsigned char)(k[i] ^ 0x36);
		opad[i] = (unsigned char)(k[i] ^ 0x5c);
	}
	OPENSSL_cleanse(k, sizeof(k));
}

static int hmac(digest *d, const unsigned char *key, size_t klen, const void *msg, size_t mlen,
	unsigned char out[32])
{
	unsigned char ipad[64], opad[64], inner[32];
	hmac_pads(d, key, klen, ipad, opad);
	int rc = dg_init(d) || dg_update(d, ipad, 64) || dg_update(d, msg, mlen) ||
		dg_final(d, inner) || dg_init(d) || dg_update(d, opad, 64) ||
		dg_update(d, inner, 32) || dg_final(d, out) ? -1 : 0;
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
	OPENSSL_cleanse(inner, sizeof(inner));
	return rc;
}

/* ------------------------------------------------------------------ signer */

typedef struct hdr_ref {
	const char *name;             /* lowercase once lower_names() has run */
	const char *value;
	size_t nlen;
	size_t vlen;
	uint64_t key;                 /* the name's first 8 bytes, lowercase, big-endian, zero-padded */
	int ours;                     /* set by the signer: name lowercase, value canonical */
} hdr_ref;

typedef struct qparam {         /* offsets of an encoded name and value in s->qbuf */
	size_t key, klen, val, vlen;
} qparam;

#define PREFIX_BLOCKS 8           /* canonical-request blocks whose digest state is kept */
#define SECRET_PAD 64

struct s3i_signer {
	const s3i_allocator *alloc;
	digest work;
	digest ipad, opad;            /* pads of the cached signing key, already hashed */
	digest sts_head;              /* ipad plus the first block of the string to sign */
	int64_t sts_head_s;           /* the signing time sts_head is for; -1: none */
	s3i_buf prev_creq;            /* the last canonical request hashed (then swapped with creq) */
	digest creq_state[PREFIX_BLOCKS];  /* the digest after each of its first full blocks */
	size_t creq_states;           /* how many of those are valid */
	int have_key;
	unsigned char pad[SECRET_PAD];  /* random, per signer */
	s3i_buf masked;               /* the secret the cached key came from, XOR pad */
	s3i_buf key_scope;            /* "date/region/service/aws4_request" of the cached key */
	int64_t date_s;
	char amz_date[AMZ_DATE_LEN + 1];
	s3i_buf scope, creq, sts, sh, names, qbuf, qout, norm, auth;
	/* The canonical header block (header lines, blank line, signed header list) of the last
	 * header signing, and the headers it came from: requests to one endpoint within one
	 * second usually have the very same ones, and then the block is copied (see hdr_block). */
	s3i_buf hb_in;                /* the headers signed: per header a hb_rec, name, value */
	s3i_buf hb_out;               /* the block */
	size_t hb_count;              /* headers in hb_in */
	size_t hb_sh;                 /* offset of the signed header list in hb_out */
	int hb_valid;
	hdr_ref *refs;
	size_t refs_cap;
	qparam *qs;
	size_t qs_cap;
	digest body;                  /* the payload, when the signer hashes it */
	char body_hex[S3I_SHA256_HEX_LEN + 1];  /* its hash, when needed before signing */
	digest creq_dg;               /* the canonical request */
	int shani;                    /* the end of a signature on SHA-NI (see sha256_shani.h) */
	s3i_shani_state body_ni;      /* the payload's state then, while it is hashed in shares */
};

#define SIGNER_BUFS(s) { &(s)->key_scope, &(s)->scope, &(s)->creq, &(s)->sts, &(s)->sh, \
	&(s)->names, &(s)->qbuf, &(s)->qout, &(s)->norm, &(s)->auth, &(s)->prev_creq, &(s)->masked, \
	&(s)->hb_in, &(s)->hb_out }

int s3i_signer_new(s3i_signer **out, const s3i_allocator *a)
{
	*out = NULL;
	if (!md_get(0))
		return s3i_err(NULL, S3I_ERROR, NULL, "OpenSSL offers no SHA-256");
	s3i_signer *s = s3i_calloc(a, 1, sizeof(*s));
	if (!s)
		return s3i_err(NULL, S3I_ENOMEM, NULL, "out of memory creating a SigV4 signer");
	s->alloc = a ? a : s3i_allocator_default();
	s->date_s = -1;
	s3i_buf *bufs[] = SIGNER_BUFS(s);
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		s3i_buf_init(bufs[i], s->alloc);
	s->sts_head_s = -1;
	s3i_signer_use_shani(s, 1);
	int rc = RAND_bytes(s->pad, SECRET_PAD) != 1 || dg_open(&s->work) || dg_open(&s->body) ||
		dg_open(&s->creq_dg) || dg_open(&s->ipad) || dg_open(&s->opad) || dg_open(&s->sts_head);
	for (int i = 0; i < PREFIX_BLOCKS && !rc; i++)
		rc = dg_open(&s->creq_state[i]);
	if (rc) {
		s3i_signer_free(s);
		return s3i_err(NULL, S3I_ERROR, NULL, "OpenSSL could not start SHA-256 or its RNG");
	}
	*out = s;
	return S3I_OK;
}

void s3i_signer_free(s3i_signer *s)
{
	if (!s)
		return;
	dg_close(&s->work);
	dg_close(&s->body);
	dg_close(&s->creq_dg);
	dg_close(&s->ipad);
	dg_close(&s->opad);
	dg_close(&s->sts_head);
	for (int i = 0; i < PREFIX_BLOCKS; i++)
		dg_close(&s->creq_state[i]);
	OPENSSL_cleanse(s->pad, sizeof(s->pad));
	if (s->masked.ptr)
		OPENSSL_cleanse(s->masked.ptr, s->masked.asize);
	if (s->hb_in.ptr)             /* they may hold a session token */
		OPENSSL_cleanse(s->hb_in.ptr, s->hb_in.asize);
	if (s->hb_out.ptr)
		OPENSSL_cleanse(s->hb_out.ptr, s->hb_out.asize);
	s3i_buf *bufs[] = SIGNER_BUFS(s);
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		s3i_buf_dispose(bufs[i]);
	s3i_free(s->alloc, s->refs);
	s3i_free(s->alloc, s->qs);
	s3i_free(s->alloc, s);
}

/* ------------------------------------------------------------------ one signing job */

/* Headers the signer treats specially. */
enum hkind { HK_NORMAL, HK_UNSIGNED, HK_HOST, HK_AUTH, HK_DATE, HK_TOKEN, HK_CSHA };
enum { SP_AUTH, SP_DATE, SP_TOKEN, SP_CSHA, SP_N };   /* headers the signer sets */

static const char *const sp_name[SP_N] = {
	"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "x-amz-content-sha256"
};
static const size_t sp_len[SP_N] = { 13, 10, 20, 20 };

typedef struct job {
	const s3i_sigv4_request *req;
	const s3i_sigv4_creds *creds;
	s3i_errinfo *err;
	int presign;
	const char *hash;             /* payload hash line */
	const char *token;            /* NULL when none */
	int token_signed;
	int set_csha;                 /* we set x-amz-content-sha256 */
	int64_t expires;
	size_t mlen, rlen, svlen, aklen, hlen, tlen;
	size_t nrefs;
	size_t names_len;             /* of the names lower_names() copies */
	const char *sh;               /* the signed header list ("host;x-amz-date") */
	size_t shlen;
	size_t sp_idx[SP_N];
	int sp_count[SP_N];
	int host_seen;
	int scope_ready;              /* s->scope is for this region and service */
	char sig[S3I_SHA256_HEX_LEN + 1];
	/* The payload when the signer hashes it (see body_begin). */
	const unsigned char *body;
	size_t body_len;
	size_t body_done;             /* bytes of it hashed so far */
	size_t body_step;             /* bytes per body_step() */
	int body_failed;
	int body_ni;                  /* hashed on SHA-NI into s->body_ni (then shani_finish) */
	size_t creq_k;                /* leading blocks of the canonical request in s->creq_dg */
	int creq_rel;                 /* it begins as the last one did: 1, 0, -1 not known yet */
	size_t sts_done;              /* bytes of the string to sign in s->work */
	char *auth_sig;               /* where the signature goes in the Authorization header */
} job;

/* Length of s when it is non-empty and holds none of the bytes in `reject`, else 0: strcspn
 * measures and checks in one vectorised pass. What is refused is what would break the
 * structure the string goes into: a line break anywhere (header injection), a space in the
 * request line, '/' in the credential scope, ',' in the Authorization header. */
static size_t clean_len(const char *s, const char *reject)
{
	if (!s)
		return 0;
	size_t n = strcspn(s, reject);
	return s[n] ? 0 : n;
}

#define LINE_BREAKS "\r\n"
#define BLANKS " \t\r\n"

/* Whether the signer's scope was built for this region and service (and so from strings that
 * passed the checks below): then they need neither checking nor copying again. */
static int scope_is_for(const s3i_signer *s, const char *region, size_t rlen, const char *service,
	size_t svlen)
{
	const char *p = s->scope.ptr;
	return s->scope.size == 8 + 1 + rlen + 1 + svlen + sizeof("/" SCOPE_TERM) - 1 &&
		!memcmp(p + 9, region, rlen) && p[9 + rlen] == '/' &&
		!memcmp(p + 10 + rlen, service, svlen);
}

static int check_request(const s3i_signer *s, job *j, const s3i_sigv4_request *req,
	const s3i_sigv4_creds *c, s3i_errinfo *err)
{
	if (!req || !req->headers || !req->path)
		return s3i_err(err, S3I_EINVALID, NULL, "SigV4: no request, path or headers to sign");
	if (!(j->mlen = clean_len(req->method, BLANKS)))
		return s3i_err(err, S3I_EINVALID, "method", "SigV4: the HTTP method is missing or invalid");
	size_t rl = req->region ? strlen(req->region) : 0, sl = req->service ? strlen(req->service) : 0;
	if (rl && sl && scope_is_for(s, req->region, rl, req->service, sl)) {
		j->rlen = rl;
		j->svlen = sl;
		j->scope_ready = 1;
	} else if (!(j->rlen = clean_len(req->region, "/" BLANKS))) {
		return s3i_err(err, S3I_EINVALID, "region", "SigV4: the signing region is missing or invalid");
	} else if (!(j->svlen = clean_len(req->service, "/" BLANKS))) {
		return s3i_err(err, S3I_EINVALID, "service", "SigV4: the signing service is missing or invalid");
	}
	if (req->payload_hash && !(j->hlen = clean_len(req->payload_hash, BLANKS)))
		return s3i_err(err, S3I_EINVALID, "payload_hash", "SigV4: the payload hash is invalid");
	if (req->time_s < 0 || req->time_s > MAX_TIME_S)
		return s3i_err(err, S3I_EINVALID, "time", "SigV4: signing time %lld is out of range",
			(long long)req->time_s);
	if (!c || !c->access_key_id || !*c->access_key_id || !c->secret_access_key ||
		!*c->secret_access_key)
		return s3i_err(err, S3I_EAUTH, NULL, "SigV4: no access key id or secret to sign with");
	if (!(j->aklen = clean_len(c->access_key_id, "/," BLANKS)))
		return s3i_err(err, S3I_EAUTH, "access_key_id", "SigV4: the access key id is malformed");
	const char *t = c->session_token;
	if (t && t[j->tlen = strcspn(t, LINE_BREAKS)])
		return s3i_err(err, S3I_EAUTH, "session_token", "SigV4: the session token is malformed");
	return S3I_OK;
}

/* "20150830/us-east-1/service/aws4_request", and the X-Amz-Date it goes with. */
static int make_scope(s3i_signer *s, const job *j)
{
	const s3i_sigv4_request *req = j->req;
	if (s->date_s != req->time_s) {
		s3i_time_amz(s->amz_date, req->time_s);
		s->date_s = req->time_s;
	}
	if (j->scope_ready && !memcmp(s->scope.ptr, s->amz_date, 8))
		return S3I_OK;            /* same day, region and service as last time */
	size_t n = 8 + 1 + j->rlen + 1 + j->svlen + sizeof("/" SCOPE_TERM) - 1;
	s3i_buf_clear(&s->scope);
	if (s3i_buf_grow(&s->scope, n))
		return S3I_ENOMEM;
	char *p = s->scope.ptr;
	memcpy(p, s->amz_date, 8);
	p[8] = '/';
	memcpy(p += 9, req->region, j->rlen);
	*(p += j->rlen) = '/';
	memcpy(p + 1, req->service, j->svlen);
	memcpy(p + 1 + j->svlen, "/" SCOPE_TERM, sizeof("/" SCOPE_TERM));
	s->scope.size = n;
	return S3I_OK;
}

static char *put_hex32(char *p, const unsigned char d[32]);

/* A payload the signer hashes itself (req->payload) is hashed in BODY_STEPS shares placed
 * between the other steps of signing. SHA-256 is a chain of blocks, each waiting on the one
 * before, which leaves most of the CPU idle: work that comes after a couple of blocks in
 * program order runs in their shadow (out of order) instead of after them, as long as it is
 * small enough to fit in the CPU's reorder window. So checking the request, canonicalising the
 * headers, building the canonical request and the start of the string to sign are done in
 * seven pieces, each after a share of two or so blocks, and after the payload's last block
 * only the work that needs its hash is left. For a 1 KiB body that saves 0.02-0.05 us of
 * ~1 us against hashing it first and passing payload_hash (docs/performance.md). */
#define BODY_STEPS 8

static void body_begin(s3i_signer *s, job *j, const void *p, size_t n, int ni)
{
	j->body = p;
	j->body_len = n;
	j->body_done = 0;
	j->body_step = (n / 64 + BODY_STEPS - 1) / BODY_STEPS * 64;
	j->body_ni = ni;
	if (ni)
		s3i_shani_start(&s->body_ni);
	else
		j->body_failed = dg_init(&s->body) != 0;
}

/* The next share of the payload's full blocks. */
static void body_step(s3i_signer *s, job *j)
{
	size_t n = (j->body_len & ~(size_t)63) - j->body_done;
	if (!j->body || !n)
		return;
	if (n > j->body_step)
		n = j->body_step;
	if (j->body_ni)
		s3i_shani_blocks(&s->body_ni, j->body + j->body_done, n / 64);
	else
		j->body_failed |= dg_update(&s->body, j->body + j->body_done, n) != 0;
	j->body_done += n;
}

/* The rest of the payload; its hash goes in hex to `hex` (64 characters, no NUL). */
static int body_finish(s3i_signer *s, job *j, char *hex)
{
	unsigned char d[32];
	int rc = j->body_failed ||
		dg_last(&s->body, j->body + j->body_done, j->body_len - j->body_done, d);
	j->body = NULL;
	if (rc)
		return s3i_err(j->err, S3I_ERROR, NULL, "SigV4: SHA-256 of the payload failed");
	put_hex32(hex, d);
	return S3I_OK;
}

/* Whether req->payload is hashed in shares while signing: its hash must not be needed before
 * the canonical request is complete, as it is in the x-amz-content-sha256 header. */
static int body_interleaved(const s3i_sigv4_request *req, int presign)
{
	return req && !req->payload_hash && req->payload && !presign &&
		!(req->flags & (S3I_SIGV4_S3_PATH | S3I_SIGV4_CONTENT_SHA256_HEADER));
}

static int job_init(s3i_signer *s, job *j, const s3i_sigv4_request *req,
	const s3i_sigv4_creds *creds, int presign, s3i_errinfo *err)
{
	memset(j, 0, sizeof(*j));
	j->req = req;
	j->creds = creds;
	j->err = err;
	j->presign = presign;
	j->creq_rel = -1;
	if (s && body_interleaved(req, presign)) {
		body_begin(s, j, req->payload, req->payload_len, s->shani);
		body_step(s, j);
	}
	int rc = s ? check_request(s, j, req, creds, err)
		: s3i_err(err, S3I_EINVALID, NULL, "SigV4: no signer");
	if (rc)
		return rc;
	int s3 = (req->flags & S3I_SIGV4_S3_PATH) != 0;
	if (req->payload_hash) {
		j->hash = req->payload_hash;
	} else if (req->payload) {
		/* hashed while signing, or (its hash needed early) now */
		j->hash = s->body_hex;
		j->hlen = S3I_SHA256_HEX_LEN;
		if (!j->body) {
			body_begin(s, j, req->payload, req->payload_len, 0);
			if ((rc = body_finish(s, j, s->body_hex)))
				return rc;
		}
	} else if (req->payload_len) {
		return s3i_err(err, S3I_EINVALID, "payload", "SigV4: a payload length of %zu but no "
			"payload", req->payload_len);
	} else {
		j->hash = presign && s3 ? S3I_UNSIGNED_PAYLOAD : S3I_EMPTY_SHA256;
		j->hlen = strlen(j->hash);
	}
	j->token = j->tlen ? creds->session_token : NULL;
	j->token_signed = j->token && !(req->flags & S3I_SIGV4_TOKEN_UNSIGNED);
	j->set_csha = !presign && (s3 || (req->flags & S3I_SIGV4_CONTENT_SHA256_HEADER));
	if (make_scope(s, j))
		return s3i_err(err, S3I_ENOMEM, NULL, "SigV4: out of memory");
	return S3I_OK;
}

/* ------------------------------------------------------------------ headers */

static inline unsigned char lower(unsigned char c)
{
	return (unsigned char)(c + (((unsigned)c - 'A' < 26u) << 5));
}

static inline uint64_t load64(const char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

#define ONES UINT64_C(0x0101010101010101)

/* Bytes of x that are below n (n <= 128) get their top bit set, others a clear one (exact
 * for the question "is there one", which is all it is used for). */
static inline uint64_t bytes_below(uint64_t x, unsigned n)
{
	return (x - ONES * n) & ~x & ONES * 0x80;
}

static inline uint64_t bytes_equal(uint64_t x, unsigned c)
{
	return bytes_below(x ^ (ONES * c), 1);
}

/* Whether name[0..n) equals the literal `lit` (of length n, made of lowercase letters, digits
 * and '-'), ignoring ASCII case. Eight bytes at a time: OR-ing 0x20 into each byte folds the
 * letters, and as it would also turn a control character into '-' or a digit, a chunk holding a
 * byte below 0x20 never matches. */
static int name_is(const char *name, const char *lit, size_t n)
{
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if (lower((unsigned char)name[i]) != (unsigned char)lit[i])
				return 0;
		return 1;
	}
	for (size_t i = 0;; i += 8) {
		if (i + 8 > n)
			i = n - 8;                    /* the last chunk overlaps the one before */
		uint64_t x = load64(name + i);
		if ((x | ONES * 0x20) != load64(lit + i) || bytes_below(x, 0x20))
			return 0;
		if (i + 8 == n)
			return 1;
	}
}

/* The length decides first, so most headers cost one switch. */
static enum hkind classify(const char *name, size_t n)
{
	switch (n) {
	case 4: return name_is(name, "host", 4) ? HK_HOST : HK_NORMAL;
	case 6: return name_is(name, "expect", 6) ? HK_UNSIGNED : HK_NORMAL;
	case 10:
		if (name_is(name, "x-amz-date", 10))
			return HK_DATE;
		return name_is(name, "user-agent", 10) ? HK_UNSIGNED : HK_NORMAL;
	case 13: return name_is(name, "authorization", 13) ? HK_AUTH : HK_NORMAL;
	case 15: return name_is(name, "x-amzn-trace-id", 15) ? HK_UNSIGNED : HK_NORMAL;
	case 20:
		if (name_is(name, "x-amz-security-token", 20))
			return HK_TOKEN;
		return name_is(name, "x-amz-content-sha256", 20) ? HK_CSHA : HK_NORMAL;
	default: return HK_NORMAL;
	}
}

/* A lowercase name's sort key: its first eight bytes as a big-endian number (zero-padded, and
 * a name holds no NUL), so comparing keys orders names as memcmp would, up to eight bytes. */
static inline uint64_t name_key(const char *lowered, size_t n)
{
	uint64_t k = 0;
	if (n >= 8) {
		memcpy(&k, lowered, 8);
		return __builtin_bswap64(k);
	}
	for (size_t i = 0; i < n; i++)
		k |= (uint64_t)(unsigned char)lowered[i] << (56 - 8 * i);
	return k;
}

/* Which header the signer sets itself (SP_*), or -1 when the header is signed as it is. */
static int special_slot(const job *j, enum hkind k)
{
	if (j->presign)
		return -1;
	switch (k) {
	case HK_AUTH: return SP_AUTH;
	case HK_DATE: return SP_DATE;
	case HK_TOKEN: return j->token ? SP_TOKEN : -1;
	case HK_CSHA: return j->set_csha ? SP_CSHA : -1;
	default: return -1;
	}
}

static int refs_reserve(s3i_signer *s, size_t n)
{
	if (n <= s->refs_cap)
		return S3I_OK;
	size_t cap = n < 16 ? 16 : n * 2;
	hdr_ref *r = s3i_realloc(s->alloc, s->refs, cap * sizeof(*r));
	if (!r)
		return S3I_ENOMEM;
	s->refs = r;
	s->refs_cap = cap;
	return S3I_OK;
}

/* One pass over the headers: the ones signed as they are go to s->refs, the ones the signer
 * sets are located (sp_idx) so they can be overwritten in place. Returns 1 when one of those
 * appears more than once (the caller removes the copies and calls again). */
static int scan_headers(s3i_signer *s, job *j)
{
	const s3i_headers *h = j->req->headers;
	j->nrefs = 0;
	j->names_len = 0;
	j->host_seen = 0;
	memset(j->sp_count, 0, sizeof(j->sp_count));
	int dup = 0;
	for (size_t i = 0; i < h->count; i++) {
		const char *name = h->items[i].name;
		size_t nlen = h->items[i].nlen;
		enum hkind k = classify(name, nlen);
		int slot = special_slot(j, k);
		j->host_seen |= k == HK_HOST;
		if (slot >= 0) {
			j->sp_idx[slot] = i;
			dup |= ++j->sp_count[slot] > 1;
		} else if (k != HK_UNSIGNED && k != HK_AUTH && !(k == HK_TOKEN && j->token)) {
			s->refs[j->nrefs++] = (hdr_ref){ name, h->items[i].value, nlen, h->items[i].vlen, 0, 0 };
			j->names_len += nlen;
		}
	}
	return dup;
}

static ALWAYS_INLINE int collect_headers(s3i_signer *s, job *j)
{
	s3i_headers *h = j->req->headers;
	if (refs_reserve(s, h->count + SP_N))
		return s3i_err(j->err, S3I_ENOMEM, NULL, "SigV4: out of memory");
	while (scan_headers(s, j)) {
		for (int k = 0; k < SP_N; k++)
			if (j->sp_count[k] > 1)
				s3i_headers_remove(h, sp_name[k]);
	}
	if (!j->host_seen)
		return s3i_err(j->err, S3I_EINVALID, "Host", "SigV4: the request has no Host header");
	return S3I_OK;
}

/* Set a header the signer owns. A retry signs the same headers again: the value from last time
 * is overwritten in place when the length matches, so a steady state allocates nothing. */
static int header_put(s3i_headers *h, const job *j, int slot, const char *value, size_t vlen)
{
	if (!j->sp_count[slot])
		return s3i_headers_addn(h, sp_name[slot], sp_len[slot], value, vlen);
	return s3i_headers_set_value(h, j->sp_idx[slot], value, vlen);
}

/* Before signing: the date, the token and the content hash, and their canonical entries. */
static ALWAYS_INLINE int set_signed_headers(s3i_signer *s, job *j)
{
	s3i_headers *h = j->req->headers;
	int rc = header_put(h, j, SP_DATE, s->amz_date, AMZ_DATE_LEN);
	if (!rc && j->token_signed)
		rc = header_put(h, j, SP_TOKEN, j->token, j->tlen);
	if (!rc && j->set_csha)
		rc = header_put(h, j, SP_CSHA, j->hash, j->hlen);
	if (rc)
		return s3i_err(j->err, rc, NULL, "SigV4: out of memory setting headers");
	s->refs[j->nrefs++] = (hdr_ref){ "x-amz-date", s->amz_date, 10, AMZ_DATE_LEN,
		name_key("x-amz-date", 10), 1 };
	if (j->token_signed)
		s->refs[j->nrefs++] = (hdr_ref){ "x-amz-security-token", j->token, 20, j->tlen,
			name_key("x-amz-security-token", 20), 1 };
	if (j->set_csha)
		s->refs[j->nrefs++] = (hdr_ref){ "x-amz-content-sha256", j->hash, 20, j->hlen,
			name_key("x-amz-content-sha256", 20), 1 };
	return S3I_OK;
}

/* Eight name bytes lowercased; nonzero in `bad` for a byte that cannot be in a name (controls,
 * space, DEL, ':'). Only 'A'-'Z' have bit 0x40 set and a value, below 0x80, in 0x41..0x5a. */
static inline uint64_t lower8(uint64_t x, uint64_t *bad)
{
	uint64_t low7 = x & ONES * 0x7f;
	uint64_t upper = (low7 + ONES * (0x80 - 'A')) ^ (low7 + ONES * (0x7f - 'Z'));
	upper &= ~x & ONES * 0x80;
	*bad |= bytes_below(x, 0x21) | bytes_equal(x, 0x7f) | bytes_equal(x, ':');
	return x | upper >> 2;
}

/* Copy a header name lowercased, eight bytes at a time (a short tail overlaps the chunk before:
 * lowercasing twice changes nothing). Nonzero when the name holds a byte it cannot hold. */
static int lower_name(char *out, const char *name, size_t n)
{
	uint64_t bad = 0;
	if (n < 8) {
		for (size_t k = 0; k < n; k++) {
			unsigned char c = (unsigned char)name[k];
			bad |= c <= 0x20 || c == 0x7f || c == ':';
			out[k] = (char)lower(c);
		}
		return bad != 0;
	}
	for (size_t i = 0;; i += 8) {
		if (i + 8 > n)
			i = n - 8;
		uint64_t x = lower8(load64(name + i), &bad);
		memcpy(out + i, &x, 8);
		if (i + 8 == n)
			return bad != 0;
	}
}

/* Lowercase every name once into s->names (checking it can be sent), so sorting and writing
 * them are plain memcmp/memcpy. */
static int lower_names(s3i_signer *s, job *j)
{
	s3i_buf_clear(&s->names);
	if (s3i_buf_grow(&s->names, j->names_len))
		return s3i_err(j->err, S3I_ENOMEM, NULL, "SigV4: out of memory");
	char *p = s->names.ptr;
	for (size_t i = 0; i < j->nrefs; i++) {
		hdr_ref *r = &s->refs[i];
		if (r->ours)
			continue;
		if (!r->nlen || lower_name(p, r->name, r->nlen))
			return s3i_err(j->err, S3I_EINVALID, "header", "SigV4: header name \"%.*s\" is "
				"invalid", (int)(r->nlen > 64 ? 64 : r->nlen), r->name);
		r->name = p;
		r->key = name_key(p, r->nlen);
		p += r->nlen;
	}
	return S3I_OK;
}

static int name_cmp(const hdr_ref *a, const hdr_ref *b)
{
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	int c = memcmp(a->name, b->name, a->nlen < b->nlen ? a->nlen : b->nlen);
	return c ? c : (a->nlen > b->nlen) - (a->nlen < b->nlen);
}

/* Insertion sort: a request has a handful of headers, and it is stable, so repeated names
 * keep their order as the canonical form requires. */
static void sort_refs(hdr_ref *r, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		hdr_ref cur = r[i];
		size_t k = i;
		while (k > 0 && name_cmp(&r[k - 1], &cur) > 0) {
			r[k] = r[k - 1];
			k--;
		}
		r[k] = cur;
	}
}

static int same_name(const hdr_ref *a, const hdr_ref *b)
{
	return a->key == b->key && a->nlen == b->nlen && !memcmp(a->name, b->name, a->nlen);
}

/* "host;x-amz-date" into s->sh. */
static int signed_headers(s3i_signer *s, job *j)
{
	size_t need = 0;
	for (size_t i = 0; i < j->nrefs; i++)
		need += s->refs[i].nlen + 1;
	s3i_buf_clear(&s->sh);
	if (s3i_buf_grow(&s->sh, need))
		return s3i_err(j->err, S3I_ENOMEM, NULL, "SigV4: out of memory");
	char *p = s->sh.ptr;
	for (size_t i = 0; i < j->nrefs; i++) {
		const hdr_ref *r = &s->refs[i];
		if (i > 0 && same_name(&s->refs[i - 1], r))
			continue;
		if (i > 0)
			*p++ = ';';
		memcpy(p, r->name, r->nlen);
		p += r->nlen;
	}
	s->sh.size = (size_t)(p - s->sh.ptr);
	*p = '\0';
	return S3I_OK;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Whether a value is canonical already: no blank at either end, no tab or control character,
 * no run of spaces. Most are, and are then copied in one go. Eight bytes at a time: only a
 * chunk holding a byte <= ' ' (the subtraction borrows into its top bit) is looked at closely. */
static int plain_value(const char *v, size_t n)
{
	if (n && (v[0] == ' ' || v[n - 1] == ' '))
		return 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		if (!bytes_below(load64(v + i), 0x21))
			continue;
		for (size_t k = i; k < i + 8; k++)
			if ((unsigned char)v[k] <= ' ' && (v[k] != ' ' || v[k + 1] == ' '))
				return 0;
	}
	for (; i < n; i++)                  /* v[n] is the NUL */
		if ((unsigned char)v[i] <= ' ' && (v[i] != ' ' || v[i + 1] == ' '))
			return 0;
	return 1;
}

/* Copy a value trimmed, with runs of blanks as one space. NULL when it holds a line break. */
static char *put_value(char *p, const char *v, size_t n)
{
	if (plain_value(v, n)) {
		memcpy(p, v, n);
		return p + n;
	}
	while (n && is_blank(v[n - 1]))
		n--;
	size_t i = 0;
	while (i < n && is_blank(v[i]))
		i++;
	for (; i < n; i++) {
		char c = v[i];
		if (is_blank(c)) {
			if (!is_blank(v[i - 1]))
				*p++ = ' ';
		} else if (c == '\r' || c == '\n') {
			return NULL;
		} else {
			*p++ = c;
		}
	}
	return p;
}

/* The canonical header lines ("name:value\n" each, sorted), written at p. */
static char *put_headers(s3i_signer *s, job *j, char *p)
{
	for (size_t i = 0; i < j->nrefs; i++) {
		const hdr_ref *r = &s->refs[i];
		if (i > 0 && same_name(&s->refs[i - 1], r)) {
			p[-1] = ',';                  /* a repeated name: join onto the previous line */
		} else {
			memcpy(p, r->name, r->nlen);
			p += r->nlen;
			*p++ = ':';
		}
		if (r->ours) {
			memcpy(p, r->value, r->vlen);
			p += r->vlen;
		} else if (!(p = put_value(p, r->value, r->vlen))) {
			s3i_err(j->err, S3I_EINVALID, "header", "SigV4: the value of header %.*s holds a "
				"line break", (int)(r->nlen > 64 ? 64 : r->nlen), r->name);
			return NULL;
		}
		*p++ = '\n';
	}
	return p;
}

/* ------------------------------------------------------------------ URI and query */

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '_' || c == '.' || c == '~';
}

static const char HEXU[] = "0123456789ABCDEF";

static char *put_encoded_byte(char *p, unsigned char c)
{
	if (unreserved(c)) {
		*p++ = (char)c;
	} else {
		*p++ = '%';
		*p++ = HEXU[c >> 4];
		*p++ = HEXU[c & 15];
	}
	return p;
}

/* Percent-encode s (keeping '/' when asked); at most 3 bytes per input byte. */
static char *put_encoded(char *p, const char *s, size_t n, int keep_slash)
{
	for (size_t i = 0; i < n; i++) {
		if (keep_slash && s[i] == '/')
			*p++ = '/';
		else
			p = put_encoded_byte(p, (unsigned char)s[i]);
	}
	return p;
}

/* Dot-segment removal and '//' collapsing for generic services (RFC 3986 5.2.4, plus AWS's
 * empty-segment rule): "/a/./b/../c//" becomes "/a/c/". The result goes to s->norm. */
static int normalize_path(s3i_signer *s, const char *path, size_t n)
{
	s3i_buf_clear(&s->norm);
	if (s3i_buf_grow(&s->norm, n + 1))
		return S3I_ENOMEM;
	char *out = s->norm.ptr;
	size_t len = 0;
	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e < n && path[e] != '/')
			e++;
		size_t seg = e - i;
		if (seg == 2 && path[i] == '.' && path[i + 1] == '.') {
			while (len > 0 && out[--len] != '/')
				;
		} else if (seg > 0 && !(seg == 1 && path[i] == '.')) {
			out[len++] = '/';
			memcpy(out + len, path + i, seg);
			len += seg;
		}
		i = e + 1;
	}
	if (len == 0 || (n > 0 && path[n - 1] == '/'))
		out[len++] = '/';
	s->norm.size = len;
	out[len] = '\0';
	return S3I_OK;
}

/* The canonical URI's source and whether it is encoded again. */
static int uri_source(s3i_signer *s, const job *j, const char **src, size_t *n, int *encode)
{
	const s3i_sigv4_request *req = j->req;
	*src = req->path;
	*n = strlen(req->path);
	*encode = !(req->flags & S3I_SIGV4_S3_PATH);
	if (*encode && !(req->flags & S3I_SIGV4_NO_NORMALIZE)) {
		if (normalize_path(s, *src, *n))
			return s3i_err(j->err, S3I_ENOMEM, NULL, "SigV4: out of memory");
		*src = s->norm.ptr;
		*n = s->norm.size;
	}
	if (*n == 0) {
		*src = "/";
		*n = 1;
	}
	return S3I_OK;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Decode one wire query component and encode it strictly, appending to s->qbuf (which has
 * room). A '%' that starts no valid escape stands for itself. */
static size_t requote(s3i_signer *s, const char *w, size_t n)
{
	char *start = s->qbuf.ptr + s->qbuf.size, *p = start;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];
		int hi, lo;
		if (c == '%' && i + 2 < n && (hi = hexval(w[i + 1])) >= 0 &&
			(lo = hexval(w[i + 2])) >= 0) {
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		p = put_encoded_byte(p, c);
	}
	s->qbuf.size += (size_t)(p - start);
	return (size_t)(p - start);
}

static int qs_reserve(s3i_signer *s, size_t n)
{
	if (n <= s->qs_cap)
		return S3I_OK;
	size_t cap = n < 16 ? 16 : n * 2;
	qparam *q = s3i_realloc(s->alloc, s->qs, cap * sizeof(*q));
	if (!q)
		return S3I_ENOMEM;
	s->qs = q;
	s->qs_cap = cap;
	return S3I_OK;
}

/* Split the wire query into s->qs, names and values re-encoded into s->qbuf. */
static int parse_query(s3i_signer *s, const char *q, size_t *count)
{
	size_t n = strlen(q), pieces = 1;
	for (size_t i = 0; i < n; i++)
		pieces += q[i] == '&';
	if (qs_reserve(s, pieces + 8) || s3i_buf_grow(&s->qbuf, 3 * n))
		return S3I_ENOMEM;
	size_t c = 0;
	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e < n && q[e] != '&')
			e++;
		if (e > i) {
			const char *eq = memchr(q + i, '=', e - i);
			size_t klen = eq ? (size_t)(eq - (q + i)) : e - i;
			qparam *p = &s->qs[c++];
			p->key = s->qbuf.size;
			p->klen = requote(s, q + i, klen);
			p->val = s->qbuf.size;
			p->vlen = eq ? requote(s, eq + 1, (size_t)(q + e - eq - 1)) : 0;
		}
		i = e + 1;
	}
	*count = c;
	return S3I_OK;
}

/* Append a parameter whose value is raw (encoded here). */
static int add_param(s3i_signer *s, size_t *count, const char *key, const char *raw, size_t rlen)
{
	if (qs_reserve(s, *count + 1) || s3i_buf_grow(&s->qbuf, strlen(key) + 3 * rlen))
		return S3I_ENOMEM;
	qparam *p = &s->qs[(*count)++];
	p->key = s->qbuf.size;
	p->klen = strlen(key);
	memcpy(s->qbuf.ptr + s->qbuf.size, key, p->klen);
	s->qbuf.size += p->klen;
	p->val = s->qbuf.size;
	char *start = s->qbuf.ptr + s->qbuf.size;
	p->vlen = (size_t)(put_encoded(start, raw, rlen, 0) - start);
	s->qbuf.size += p->vlen;
	return S3I_OK;
}

static int span_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

static int param_cmp(const char *base, const qparam *a, const qparam *b)
{
	int c = span_cmp(base + a->key, a->klen, base + b->key, b->klen);
	return c ? c : span_cmp(base + a->val, a->vlen, base + b->val, b->vlen);
}

static void sort_params(const char *base, qparam *q, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		qparam cur = q[i];
		size_t k = i;
		while (k > 0 && param_cmp(base, &q[k - 1], &cur) > 0) {
			q[k] = q[k - 1];
			k--;
		}
		q[k] = cur;
	}
}

/* The presigned URL's own parameters (all but the signature), values raw. */
typedef struct auth_param {
	const char *key;
	const char *val;
	size_t vlen;
	int sign;                     /* part of the canonical query */
} auth_param;

#define N_AUTH_PARAMS 6

static void auth_params(s3i_signer *s, const job *j, char *expires, char *cred, size_t cred_len,
	auth_param ap[N_AUTH_PARAMS])
{
	ap[0] = (auth_param){ "X-Amz-Algorithm", ALGORITHM, sizeof(ALGORITHM) - 1, 1 };
	ap[1] = (auth_param){ "X-Amz-Credential", cred, cred_len, 1 };
	ap[2] = (auth_param){ "X-Amz-Date", s->amz_date, AMZ_DATE_LEN, 1 };
	ap[3] = (auth_param){ "X-Amz-Expires", expires, strlen(expires), 1 };
	ap[4] = (auth_param){ "X-Amz-SignedHeaders", s->sh.ptr, s->sh.size, 1 };
	ap[5] = (auth_param){ "X-Amz-Security-Token", j->token, j->tlen, j->token_signed };
}

/* "AKID/20150830/us-east-1/service/aws4_request" into s->auth (scratch while presigning). */
static int credential(s3i_signer *s, const job *j)
{
	s3i_buf_clear(&s->auth);
	if (s3i_buf_put(&s->auth, j->creds->access_key_id, j->aklen) ||
		s3i_buf_putc(&s->auth, '/') || s3i_buf_put(&s->auth, s->scope.ptr, s->scope.size))
		return S3I_ENOMEM;
	return S3I_OK;
}

static int add_auth_params(s3i_signer *s, const job *j, size_t *count)
{
	char expires[24];
	snprintf(expires, sizeof(expires), "%lld", (long long)j->expires);
	if (credential(s, j))
		return S3I_ENOMEM;
	auth_param ap[N_AUTH_PARAMS];
	auth_params(s, j, expires, s->auth.ptr, s->auth.size, ap);
	for (int i = 0; i < N_AUTH_PARAMS; i++)
		if (ap[i].val && ap[i].sign && add_param(s, count, ap[i].key, ap[i].val, ap[i].vlen))
			return S3I_ENOMEM;
	return S3I_OK;
}

/* The canonical query into s->qout. */
static int canonical_query(s3i_signer *s, job *j)
{
	s3i_buf_clear(&s->qout);
	const char *q = j->req->query;
	if ((!q || !*q) && !j->presign)
		return S3I_OK;
	size_t n = 0;
	s3i_buf_clear(&s->qbuf);
	if ((q && parse_query(s, q, &n)) || (j->presign && add_auth_params(s, j, &n)))
		return s3i_err(j->err, S3I_ENOMEM, NULL, "SigV4: out of memory");
	sort_params(s->qbuf.ptr, s->qs, n);
	if (s3i_buf_grow(&s->qout, s->qbuf.size + 2 * n))
		return s3i_err(j->err, S3I_ENOMEM, NULL, "SigV4: out of memory");
	char *p = s->qout.ptr;
	for (size_t i = 0; i < n; i++) {
		const qparam *qp = &s->qs[i];
		if (i > 0)
			*p++ = '&';
		memcpy(p, s->qbuf.ptr + qp->key, qp->klen);
		p += qp->klen;
		*p++ = '=';
		memcpy(p, s->qbuf.ptr + qp->val, qp->vlen);
		p += qp->vlen;
	}
	s->qout.size = (size_t)(p - s->qout.ptr);
	*p = '\0';
	return S3I_OK;
}

/* ------------------------------------------------------------------ canonical request */

static char *put(char *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

/* The canonical header block of header signing depends only on the headers signed (names and
 * values as given, and which ones the signer set), so the block of the last signing is kept
 * with those headers and reused when they are the same, which they are for consecutive
 * requests to one endpoint within one second (the date is one of them): lowercasing, sorting,
 * trimming and joining are then one comparison and one copy. Presigning neither uses nor
 * changes it. */
typedef struct hb_rec {
	uint32_t nlen, vlen;
	uint32_t ours;
} hb_rec;

static int hb_match(const s3i_signer *s, const job *j)
{
	if (!s->hb_valid || s->hb_count != j->nrefs)
		return 0;
	const char *p = s->hb_in.ptr;
	for (size_t i = 0; i < j->nrefs; i++) {
		const hdr_ref *r = &s->refs[i];
		hb_rec rec;
		memcpy(&rec, p, sizeof(rec));
		p += sizeof(rec);
		if (rec.nlen != r->nlen || rec.vlen != r->vlen || rec.ours != (uint32_t)r->ours ||
			memcmp(p, r->name, r->nlen) || memcmp(p + r->nlen, r->value, r->vlen))
			return 0;
		p += r->nlen + r->vlen;
	}
	return 1;
}

/* Remember the headers about to be canonicalised (before lower_names rewrites the names).
 * Returns 0 when they were recorded; otherwise this signing just goes uncached. */
static int hb_record_input(s3i_signer *s, const job *j)
{
	size_t need = 0;
	for (size_t i = 0; i < j->nrefs; i++) {
		if (s->refs[i].nlen > UINT32_MAX || s->refs[i].vlen > UINT32_MAX)
			return -1;
		need += sizeof(hb_rec) + s->refs[i].nlen + s->refs[i].vlen;
	}
	s3i_buf_clear(&s->hb_in);
	if (s3i_buf_grow(&s->hb_in, need))
		return -1;
	char *p = s->hb_in.ptr;
	for (size_t i = 0; i < j->nrefs; i++) {
		const hdr_ref *r = &s->refs[i];
		hb_rec rec = { (uint32_t)r->nlen, (uint32_t)r->vlen, (uint32_t)r->ours };
		memcpy(p, &rec, sizeof(rec));
		p = put(p + sizeof(rec), r->name, r->nlen);
		p = put(p, r->value, r->vlen);
	}
	s->hb_in.size = need;
	s->hb_count = j->nrefs;
	return 0;
}

static void hb_record_output(s3i_signer *s, const char *block, size_t n, size_t sh_off)
{
	s3i_buf_clear(&s->hb_out);
	if (s3i_buf_put(&s->hb_out, block, n))
		return;
	s->hb_sh = sh_off;
	s->hb_valid = 1;
}

static int canonical_request(s3i_signer *s, job *j)
{
	int encode, rc;
	const char *uri;
	size_t ulen;
	int hit = !j->presign && hb_match(s, j), record = 0;
	if (!hit) {
		s->hb_valid = 0;
		record = !j->presign && !hb_record_input(s, j);
		if ((rc = lower_names(s, j)))
			return rc;
		sort_refs(s->refs, j->nrefs);
		if ((rc = signed_headers(s, j)))
			return rc;
	}
	if ((rc = canonical_query(s, j)) || (rc = uri_source(s, j, &uri, &ulen, &encode)))
		return rc;
	size_t need = j->mlen + (encode ? 3 * ulen : ulen) + s->qout.size + j->hlen + 3;
	if (hit) {
		need += s->hb_out.size;
	} else {
		need += s->sh.size + 2;
		for (size_t i = 0; i < j->nrefs; i++)
			need += s->refs[i].nlen + s->refs[i].vlen + 2;
	}
	s3i_buf_clear(&s->creq);
	if (s3i_buf_grow(&s->creq, need))
		return s3i_err(j->err, S3I_ENOMEM, NULL, "SigV4: out of memory");
	char *p = put(s->creq.ptr, j->req->method, j->mlen);
	*p++ = '\n';
	p = encode ? put_encoded(p, uri, ulen, 1) : put(p, uri, ulen);
	*p++ = '\n';
	p = put(p, s->qout.ptr ? s->qout.ptr : "", s->qout.size);
	*p++ = '\n';
	if (hit) {
		p = put(p, s->hb_out.ptr, s->hb_out.size);
		j->sh = s->hb_out.ptr + s->hb_sh;
		j->shlen = s->hb_out.size - s->hb_sh - 1;
	} else {
		char *block = p;
		if (!(p = put_headers(s, j, p)))
			return S3I_EINVALID;
		*p++ = '\n';
		size_t sh_off = (size_t)(p - block);
		p = put(p, s->sh.ptr, s->sh.size);
		*p++ = '\n';
		if (record)
			hb_record_output(s, block, (size_t)(p - block), sh_off);
		j->sh = s->sh.ptr;
		j->shlen = s->sh.size;
	}
	p = put(p, j->hash, j->hlen);
	s->creq.size = (size_t)(p - s->creq.ptr);
	*p = '\0';
	return S3I_OK;
}

/* ------------------------------------------------------------------ signature */

/* 32 bytes as 64 lowercase hex digits (no NUL). Three of these go into every signature (the
 * canonical request's hash, the signature, a body's hash), so they are done sixteen bytes at a
 * time with SSE2, which every x86-64 has: split the nibbles, turn each into '0'-'9' or 'a'-'f'
 * with a compare, interleave. Elsewhere a table gives two digits per lookup. */
#if defined(__SSE2__)

static char *put_hex32(char *p, const unsigned char d[32])
{
	const __m128i low4 = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9);
	const __m128i zero = _mm_set1_epi8('0'), gap = _mm_set1_epi8('a' - '0' - 10);
	for (int i = 0; i < 32; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(d + i));
		__m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), low4), lo = _mm_and_si128(x, low4);
		hi = _mm_add_epi8(_mm_add_epi8(hi, zero), _mm_and_si128(_mm_cmpgt_epi8(hi, nine), gap));
		lo = _mm_add_epi8(_mm_add_epi8(lo, zero), _mm_and_si128(_mm_cmpgt_epi8(lo, nine), gap));
		_mm_storeu_si128((__m128i *)(p + 2 * i), _mm_unpacklo_epi8(hi, lo));
		_mm_storeu_si128((__m128i *)(p + 2 * i + 16), _mm_unpackhi_epi8(hi, lo));
	}
	return p + 64;
}

#else

static const char HEX_PAIRS[] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static char *put_hex32(char *p, const unsigned char d[32])
{
	for (int i = 0; i < 32; i++)
		memcpy(p + 2 * i, HEX_PAIRS + 2 * d[i], 2);
	return p + 64;
}

#endif

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
 * kept as the hashed states of its two HMAC pads. */
static int derive_key(s3i_signer *s, const job *j)
{
	const char *secret = j->creds->secret_access_key;
	size_t slen = strlen(secret);
	unsigned char stack_k0[132];   /* AWS secrets are 40 characters: no allocation */
	unsigned char *k0 = slen + 4 <= sizeof(stack_k0) ? stack_k0 : s3i_malloc(s->alloc, slen + 4);
	if (!k0)
		return S3I_ENOMEM;
	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, secret, slen);
	unsigned char a[32], b[32], ipad[64], opad[64];
	int rc = hmac(&s->work, k0, slen + 4, s->amz_date, 8, a) ||
		hmac(&s->work, a, 32, j->req->region, j->rlen, b) ||
		hmac(&s->work, b, 32, j->req->service, j->svlen, a) ||
		hmac(&s->work, a, 32, SCOPE_TERM, sizeof(SCOPE_TERM) - 1, b) ? -1 : 0;
	OPENSSL_cleanse(k0, slen + 4);
	if (k0 != stack_k0)
		s3i_free(s->alloc, k0);
	hmac_pads(&s->work, b, 32, ipad, opad);
	if (!rc)
		rc = dg_init(&s->ipad) || dg_update(&s->ipad, ipad, 64) ||
			dg_init(&s->opad) || dg_update(&s->opad, opad, 64) ? -1 : 0;
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
	return rc ? S3I_ERROR : S3I_OK;
}

/* Whether `secret` is the one the cached key came from. That one is kept only masked with the
 * signer's random pad, so the signer never holds it in the clear, and compared exactly: a
 * SHA-256 fingerprint would cost a block per signature, a tenth of a GET's. The time taken
 * does not depend on where the secrets differ, so probing with chosen secrets reveals
 * nothing (their length aside). */
static int same_secret(const s3i_signer *s, const char *secret, size_t n)
{
	if (n != s->masked.size)
		return 0;
	const char *m = s->masked.ptr, *pad = (const char *)s->pad;
	uint64_t diff = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8)           /* SECRET_PAD is a multiple of 8 */
		diff |= load64(secret + i) ^ load64(pad + i % SECRET_PAD) ^ load64(m + i);
	for (; i < n; i++)
		diff |= (unsigned char)(secret[i] ^ pad[i % SECRET_PAD] ^ m[i]);
	return diff == 0;
}

static int remember_secret(s3i_signer *s, const char *secret, size_t n)
{
	s3i_buf_clear(&s->masked);
	if (s3i_buf_grow(&s->masked, n))
		return S3I_ENOMEM;
	unsigned char *m = (unsigned char *)s->masked.ptr;
	for (size_t i = 0; i < n; i++)
		m[i] = (unsigned char)((unsigned char)secret[i] ^ s->pad[i % SECRET_PAD]);
	s->masked.size = n;
	return S3I_OK;
}

/* Reuse the cached key when the secret and the scope are the same. */
static int signing_key(s3i_signer *s, const job *j)
{
	const char *secret = j->creds->secret_access_key;
	size_t slen = strlen(secret);
	if (s->have_key && s->key_scope.size == s->scope.size &&
		!memcmp(s->key_scope.ptr, s->scope.ptr, s->scope.size) && same_secret(s, secret, slen))
		return S3I_OK;
	s->have_key = 0;
	s->sts_head_s = -1;
	s3i_buf_clear(&s->key_scope);
	int rc = s3i_buf_put(&s->key_scope, s->scope.ptr, s->scope.size);
	if (!rc)
		rc = remember_secret(s, secret, slen);
	if (!rc)
		rc = derive_key(s, j);
	if (rc)
		return s3i_err(j->err, rc, NULL, rc == S3I_ENOMEM ? "SigV4: out of memory"
			: "SigV4: deriving the signing key failed");
	s->have_key = 1;
	return S3I_OK;
}

/* SHA-256 of the canonical request. Requests to one endpoint often begin alike (a DynamoDB,
 * STS or SQS POST is the same up to its date, so within a second up to its payload hash): the
 * digest state after each full block of the previous canonical request is kept, and leading
 * blocks that are byte for byte the same are not hashed again. Blocks are recorded only when
 * the first one matched last time's, so unrelated requests (S3 GETs of different keys) pay
 * just a 64-byte compare. Only blocks wholly before the payload hash are kept: a block holding
 * it matches the next request's only when the whole request is the same (a retry within the
 * same second), so keeping it would cost every request an extra SHA256_Update call and a state
 * copy on the critical path (~5-7 ns of a PutItem) to save a block on that retry. Afterwards the
 * request just hashed becomes s->prev_creq (the two buffers are swapped, nothing is copied).
 *
 * In two parts while the payload is still being hashed: creq_hash_begin hashes (or finds kept)
 * the leading full blocks, which do not depend on its hash, and creq_hash_end the rest once it
 * is in. Otherwise creq_hash_end does it all, in one go. */
static ALWAYS_INLINE int creq_hash_begin(s3i_signer *s, job *j)
{
	const char *c = s->creq.ptr, *prev = s->prev_creq.ptr;
	size_t n = s->creq.size, full = n / 64, stable = (j->body ? n - S3I_SHA256_HEX_LEN : n) / 64;
	digest *d = &s->creq_dg;
	j->creq_k = 0;
	j->creq_rel = -1;             /* creq_hash_end decides everything */
	if (full > PREFIX_BLOCKS)
		full = PREFIX_BLOCKS;
	if (!j->body || !stable)
		return S3I_OK;
	size_t k = 0;
	while (k < s->creq_states && k < stable && k < full && !memcmp(c + 64 * k, prev + 64 * k, 64))
		k++;
	j->creq_rel = k > 0 || (s->prev_creq.size >= 64 && !memcmp(c, prev, 64));
	if (!j->creq_rel) {           /* unrelated: nothing to record, and nothing kept is for it */
		s->creq_states = 0;
		if (dg_init(d) || dg_update(d, c, 64 * stable))
			goto fail;
		j->creq_k = stable;
		return S3I_OK;
	}
	if (k ? dg_copy(d, &s->creq_state[k - 1]) : dg_init(d))
		goto fail;
	if (k < stable && k < full) {
		s->creq_states = k;
		for (; k < stable && k < full; k++) {
			if (dg_update(d, c + 64 * k, 64) || dg_copy(&s->creq_state[k], d))
				goto fail;
			s->creq_states = k + 1;
		}
	}
	j->creq_k = k;
	return S3I_OK;
fail:
	s->creq_states = 0;           /* the states may be half about another request */
	return s3i_err(j->err, S3I_ERROR, NULL, "SigV4: SHA-256 failed");
}

/* The canonical request's digest brought up to its last block before the payload hash (kept
 * states used and recorded as above); *done: the bytes hashed. */
static ALWAYS_INLINE int creq_hash_lead(s3i_signer *s, job *j, size_t *done)
{
	const char *c = s->creq.ptr, *prev = s->prev_creq.ptr;
	size_t n = s->creq.size, full = (n - j->hlen) / 64, k = j->creq_k;  /* before the hash */
	digest *d = &s->creq_dg;
	*done = 0;
	if (full > PREFIX_BLOCKS)
		full = PREFIX_BLOCKS;
	if (j->creq_rel != 0) {
		size_t m = k;
		while (m < s->creq_states && m < full && !memcmp(c + 64 * m, prev + 64 * m, 64))
			m++;
		if (j->creq_rel < 0)
			j->creq_rel = m > 0 || (full > 0 && s->prev_creq.size >= 64 && !memcmp(c, prev, 64));
		if (m > k ? dg_copy(d, &s->creq_state[m - 1]) : !k && dg_init(d))
			goto fail;
		k = m;
		s->creq_states = k;
		for (; j->creq_rel && k < full; k++) {
			if (dg_update(d, c + 64 * k, 64) || dg_copy(&s->creq_state[k], d))
				goto fail;
			s->creq_states = k + 1;
		}
	}
	*done = 64 * k;
	return S3I_OK;
fail:
	s->creq_states = 0;
	return s3i_err(j->err, S3I_ERROR, NULL, "SigV4: SHA-256 failed");
}

/* The request just hashed becomes the previous one (the buffers are swapped, not copied). */
static ALWAYS_INLINE void creq_done(s3i_signer *s)
{
	s3i_buf t = s->prev_creq;
	s->prev_creq = s->creq;
	s->creq = t;
}

static ALWAYS_INLINE int creq_hash_end(s3i_signer *s, job *j, unsigned char out[32])
{
	size_t done;
	int rc = creq_hash_lead(s, j, &done);
	if (rc)
		return rc;
	if (dg_last(&s->creq_dg, s->creq.ptr + done, s->creq.size - done, out)) {
		s->creq_states = 0;
		return s3i_err(j->err, S3I_ERROR, NULL, "SigV4: SHA-256 failed");
	}
	creq_done(s);
	return S3I_OK;
}

/* The first 64 bytes of the string to sign are "AWS4-HMAC-SHA256\n", the date and the start of
 * the scope: the same for every signature made in the same second with the same key. The HMAC
 * state after them is kept, which saves one SHA-256 block per signature at request rates where
 * signing speed matters. (A scope shorter than 29 bytes would reach into the request's hash.) */
static int hmac_inner_start(s3i_signer *s, const job *j, size_t *done)
{
	*done = 0;
	if (s->scope.size < 64 - (sizeof(ALGORITHM) + AMZ_DATE_LEN + 1))
		return dg_copy(&s->work, &s->ipad);
	if (s->sts_head_s != j->req->time_s) {
		s->sts_head_s = -1;
		if (dg_copy(&s->sts_head, &s->ipad) || dg_update(&s->sts_head, s->sts.ptr, 64))
			return -1;
		s->sts_head_s = j->req->time_s;
	}
	*done = 64;
	return dg_copy(&s->work, &s->sts_head);
}

/* "AWS4-HMAC-SHA256\n<date>\n<scope>\n" into s->sts, leaving room for the hex SHA-256 of the
 * canonical request; the signing key; its HMAC started over what is there. */
static ALWAYS_INLINE int sts_begin(s3i_signer *s, job *j)
{
	size_t n = sizeof(ALGORITHM) + AMZ_DATE_LEN + 1 + s->scope.size + 1 + S3I_SHA256_HEX_LEN;
	s3i_buf_clear(&s->sts);
	if (s3i_buf_grow(&s->sts, n))
		return s3i_err(j->err, S3I_ENOMEM, NULL, "SigV4: out of memory");
	char *p = put(s->sts.ptr, ALGORITHM "\n", sizeof(ALGORITHM));
	p = put(p, s->amz_date, AMZ_DATE_LEN);
	*p++ = '\n';
	p = put(p, s->scope.ptr, s->scope.size);
	*p = '\n';
	s->sts.ptr[n] = '\0';
	s->sts.size = n;
	int rc = signing_key(s, j);
	if (rc)
		return rc;
	if (hmac_inner_start(s, j, &j->sts_done))
		return s3i_err(j->err, S3I_ERROR, NULL, "SigV4: HMAC-SHA256 failed");
	return S3I_OK;
}

/* The canonical request's hash `d` into the string to sign, and the HMAC of that with the
 * signing key: the signature, in hex at `out` (64 characters, no NUL). */
static ALWAYS_INLINE int hmac_finish(s3i_signer *s, job *j, unsigned char d[32], char *out)
{
	unsigned char inner[32];
	put_hex32(s->sts.ptr + s->sts.size - S3I_SHA256_HEX_LEN, d);
	if (dg_last(&s->work, s->sts.ptr + j->sts_done, s->sts.size - j->sts_done, inner) ||
		dg_copy(&s->work, &s->opad) || dg_last(&s->work, inner, 32, d))
		return s3i_err(j->err, S3I_ERROR, NULL, "SigV4: HMAC-SHA256 failed");
	put_hex32(out, d);
	return S3I_OK;
}

/* After sts_begin: the rest of the canonical request's hash, then hmac_finish. */
static int sign_finish(s3i_signer *s, job *j, char *out)
{
	unsigned char d[32];
	int rc = creq_hash_end(s, j, d);
	return rc ? rc : hmac_finish(s, j, d, out);
}

#if !defined(S3I_SIGV4_EVP)
/* The rest of a signature with a payload on SHA-NI, in one call (see sha256_shani.h): the
 * payload's last block(s), the canonical request's last blocks, the string to sign's and the
 * outer HMAC's. What that call reads is laid out here first, in the shadow of the payload's
 * last share of blocks; the blocks before the payload hash in the canonical request and
 * before the canonical request's hash in the string to sign are hashed here too (through
 * OpenSSL, as elsewhere), since they do not wait on anything. */
static ALWAYS_INLINE int shani_finish(s3i_signer *s, job *j, char *sig_out)
{
	unsigned char body_tail[192], creq_tail[192], sts_tail[192];
	size_t full = j->body_len & ~(size_t)63, cd, sd = j->sts_done;
	size_t before = s->creq.size - S3I_SHA256_HEX_LEN, sb = s->sts.size - S3I_SHA256_HEX_LEN;
	int rc = creq_hash_lead(s, j, &cd);
	if (rc) {
		j->body = NULL;
		return rc;
	}
	size_t cmore = (before - cd) & ~(size_t)63, smore = (sb - sd) & ~(size_t)63;
	if ((cmore && dg_update(&s->creq_dg, s->creq.ptr + cd, cmore)) ||
		(smore && dg_update(&s->work, s->sts.ptr + sd, smore))) {
		j->body = NULL;
		s->creq_states = 0;
		return s3i_err(j->err, S3I_ERROR, NULL, "SigV4: SHA-256 failed");
	}
	cd += cmore;
	sd += smore;
	s3i_shani_chain c = {
		.body = { NULL, body_tail, 0,
			s3i_shani_layout(body_tail, j->body + full, j->body_len - full, 0, j->body_len) },
		.body_state = &s->body_ni,    /* and the full blocks no share took: */
		.body_full = j->body + j->body_done, .body_full_blocks = (full - j->body_done) / 64,
		.creq = { s->creq_dg.ctx.h, creq_tail, before - cd,
			s3i_shani_layout(creq_tail, s->creq.ptr + cd, before - cd, 1, s->creq.size) },
		.sts = { s->work.ctx.h, sts_tail, sb - sd,
			s3i_shani_layout(sts_tail, s->sts.ptr + sd, sb - sd, 1, 64 + s->sts.size) },
		.outer_h = s->opad.ctx.h,
		.creq_hex = s->creq.ptr + before, .sts_hex = s->sts.ptr + sb, .sig_hex = sig_out,
	};
	s3i_shani_sign_chain(&c);
	j->body = NULL;
	creq_done(s);
	return S3I_OK;
}

/* The same without a payload to hash: the canonical request's last blocks (its hash at the
 * end is text like the rest), the string to sign's and the outer HMAC's. After
 * creq_hash_lead, put_authorization and sts_begin, so that those run while the canonical
 * request's leading blocks are hashed. */
static ALWAYS_INLINE int shani_finish_known(s3i_signer *s, job *j, size_t cd, char *sig_out)
{
	unsigned char creq_tail[192], sts_tail[192];
	size_t sd = j->sts_done, sb = s->sts.size - S3I_SHA256_HEX_LEN;
	size_t cmore = (s->creq.size - cd) & ~(size_t)63, smore = (sb - sd) & ~(size_t)63;
	if (cmore > 64)               /* the tail keeps a full block or more when it can: <= 3 */
		cmore -= 64;
	else
		cmore = 0;
	if ((cmore && dg_update(&s->creq_dg, s->creq.ptr + cd, cmore)) ||
		(smore && dg_update(&s->work, s->sts.ptr + sd, smore))) {
		s->creq_states = 0;
		return s3i_err(j->err, S3I_ERROR, NULL, "SigV4: SHA-256 failed");
	}
	cd += cmore;
	sd += smore;
	s3i_shani_chain c = {
		.body = { NULL, NULL, 0, 0 },
		.creq = { s->creq_dg.ctx.h, creq_tail, 0,
			s3i_shani_layout(creq_tail, s->creq.ptr + cd, s->creq.size - cd, 0, s->creq.size) },
		.sts = { s->work.ctx.h, sts_tail, sb - sd,
			s3i_shani_layout(sts_tail, s->sts.ptr + sd, sb - sd, 1, 64 + s->sts.size) },
		.outer_h = s->opad.ctx.h,
		.creq_hex = NULL, .sts_hex = s->sts.ptr + sb, .sig_hex = sig_out,
	};
	s3i_shani_sign_chain(&c);
	creq_done(s);
	return S3I_OK;
}
#endif

int s3i_signer_use_shani(s3i_signer *s, int on)
{
#if !defined(S3I_SIGV4_EVP)
	s->shani = on && s3i_shani_available();
#else
	(void)on;
	s->shani = 0;
#endif
	return s->shani;
}

/* The signature in hex into j->sig, without a payload being hashed: the canonical request is
 * hashed first, so that the string to sign and the signing key are seen to while it is. */
static int signature(s3i_signer *s, job *j)
{
	unsigned char d[32];
	int rc;
	if ((rc = creq_hash_begin(s, j)) || (rc = creq_hash_end(s, j, d)) ||
		(rc = sts_begin(s, j)) || (rc = hmac_finish(s, j, d, j->sig)))
		return rc;
	j->sig[S3I_SHA256_HEX_LEN] = '\0';
	return S3I_OK;
}

static int copy_out(s3i_buf *dst, const s3i_buf *src, s3i_errinfo *err)
{
	if (!dst)
		return S3I_OK;
	s3i_buf_clear(dst);
	if (s3i_buf_put(dst, s3i_buf_cstr(src), src->size))
		return s3i_err(err, S3I_ENOMEM, NULL, "SigV4: out of memory");
	return S3I_OK;
}

/* ------------------------------------------------------------------ header signing */

#define AUTH_CRED ALGORITHM " Credential="
#define AUTH_SH ", SignedHeaders="
#define AUTH_SIG ", Signature="

/* The Authorization value is written straight into the request's header storage, all but the
 * signature, whose place is kept in j->auth_sig (a failure later removes the header). */
static ALWAYS_INLINE int put_authorization(s3i_signer *s, job *j)
{
	size_t n = sizeof(AUTH_CRED) - 1 + j->aklen + 1 + s->scope.size + sizeof(AUTH_SH) - 1 +
		j->shlen + sizeof(AUTH_SIG) - 1 + S3I_SHA256_HEX_LEN;
	s3i_headers *h = j->req->headers;
	char *p = j->sp_count[SP_AUTH] ? s3i_headers_value_space(h, j->sp_idx[SP_AUTH], n)
		: s3i_headers_add_space(h, sp_name[SP_AUTH], sp_len[SP_AUTH], n);
	if (!p)
		return s3i_err(j->err, S3I_ENOMEM, NULL, "SigV4: out of memory setting headers");
	p = put(p, AUTH_CRED, sizeof(AUTH_CRED) - 1);
	p = put(p, j->creds->access_key_id, j->aklen);
	*p++ = '/';
	p = put(p, s->scope.ptr, s->scope.size);
	p = put(p, AUTH_SH, sizeof(AUTH_SH) - 1);
	p = put(p, j->sh, j->shlen);
	j->auth_sig = put(p, AUTH_SIG, sizeof(AUTH_SIG) - 1);
	return S3I_OK;
}

/* A session token that is not signed goes in after signing. */
static ALWAYS_INLINE int put_unsigned_token(job *j)
{
	if (j->token && !j->token_signed &&
		header_put(j->req->headers, j, SP_TOKEN, j->token, j->tlen))
		return s3i_err(j->err, S3I_ENOMEM, NULL, "SigV4: out of memory setting headers");
	return S3I_OK;
}

static int sign_steps(s3i_signer *s, job *j)
{
	int rc;
	if (!j->body) {               /* no payload to hash: one step after the other */
		/* The canonical request is hashed first; writing Authorization (all but the
		 * signature) and starting the string to sign run while it is, and the signature then
		 * goes straight into its place in the header. */
		unsigned char d[32];
#if !defined(S3I_SIGV4_EVP)
		if (s->shani) {
			size_t cd;
			/* Here Authorization is written after the SHA-NI call, in the shadow of its
			 * last blocks (1-2% off a GET; with a payload, before it was better). */
			if ((rc = collect_headers(s, j)) || (rc = set_signed_headers(s, j)) ||
				(rc = canonical_request(s, j)) || (rc = creq_hash_lead(s, j, &cd)) ||
				(rc = sts_begin(s, j)) ||
				(rc = shani_finish_known(s, j, cd, j->sig)) || (rc = put_authorization(s, j)))
				return rc;
			memcpy(j->auth_sig, j->sig, S3I_SHA256_HEX_LEN);
			return put_unsigned_token(j);
		}
#endif
		if ((rc = collect_headers(s, j)) || (rc = set_signed_headers(s, j)) ||
			(rc = canonical_request(s, j)) || (rc = creq_hash_begin(s, j)) ||
			(rc = creq_hash_end(s, j, d)) || (rc = put_authorization(s, j)) ||
			(rc = sts_begin(s, j)) || (rc = hmac_finish(s, j, d, j->auth_sig)))
			return rc;
		return put_unsigned_token(j);
	}
	/* Everything that does not need the payload's hash is done between shares of it, in
	 * pieces small enough to run while the blocks before them are being hashed (see
	 * body_step); then the canonical request's last blocks, the string to sign's HMAC, and the
	 * signature into its place in the Authorization header. */
	body_step(s, j);
	if ((rc = collect_headers(s, j)))
		return rc;
	body_step(s, j);
	if ((rc = set_signed_headers(s, j)))
		return rc;
	body_step(s, j);
	if ((rc = canonical_request(s, j)))
		return rc;
	body_step(s, j);
	if ((rc = creq_hash_begin(s, j)))
		return rc;
	body_step(s, j);
	if ((rc = sts_begin(s, j)))
		return rc;
	body_step(s, j);
	if ((rc = put_authorization(s, j)))
		return rc;
	body_step(s, j);
#if !defined(S3I_SIGV4_EVP)
	if (j->body_ni) {             /* the payload's shares ran on SHA-NI: so does the rest */
		if ((rc = shani_finish(s, j, j->auth_sig)))
			return rc;
		return put_unsigned_token(j);
	}
#endif
	if ((rc = body_finish(s, j, s->creq.ptr + s->creq.size - S3I_SHA256_HEX_LEN)) ||
		(rc = sign_finish(s, j, j->auth_sig)))
		return rc;
	return put_unsigned_token(j);
}

int s3i_sigv4_sign(s3i_signer *s, const s3i_sigv4_request *req, const s3i_sigv4_creds *creds,
	s3i_buf *canonical, s3i_buf *string_to_sign_out, s3i_errinfo *err)
{
	job j;
	int rc = job_init(s, &j, req, creds, 0, err);
	if (!rc)
		rc = sign_steps(s, &j);
	if (!rc && !(rc = copy_out(canonical, &s->prev_creq, err)))
		rc = copy_out(string_to_sign_out, &s->sts, err);
	if (rc && req && req->headers)
		s3i_headers_remove(req->headers, "Authorization");   /* never leave a stale one */
	return rc;
}

/* ------------------------------------------------------------------ presigning */

static int put_param(s3i_buf *b, const char *key, const char *raw, size_t rlen)
{
	if (s3i_buf_grow(b, strlen(key) + 2 + 3 * rlen))
		return S3I_ENOMEM;
	if (b->size)
		b->ptr[b->size++] = '&';
	s3i_buf_puts(b, key);
	s3i_buf_putc(b, '=');
	char *end = put_encoded(b->ptr + b->size, raw, rlen, 0);
	b->size = (size_t)(end - b->ptr);
	*end = '\0';
	return S3I_OK;
}

/* req->query, then the authentication parameters in their documented order. */
static int presigned_query(s3i_signer *s, const job *j, s3i_buf *out)
{
	char expires[24];
	snprintf(expires, sizeof(expires), "%lld", (long long)j->expires);
	if (credential(s, j))
		return S3I_ENOMEM;
	auth_param ap[N_AUTH_PARAMS];
	auth_params(s, j, expires, s->auth.ptr, s->auth.size, ap);
	s3i_buf_clear(out);
	if (j->req->query && s3i_buf_puts(out, j->req->query))
		return S3I_ENOMEM;
	for (int i = 0; i < N_AUTH_PARAMS; i++)
		if (ap[i].val && put_param(out, ap[i].key, ap[i].val, ap[i].vlen))
			return S3I_ENOMEM;
	return put_param(out, "X-Amz-Signature", j->sig, S3I_SHA256_HEX_LEN);
}

int s3i_sigv4_presign(s3i_signer *s, const s3i_sigv4_request *req, const s3i_sigv4_creds *creds,
	int64_t expires_s, s3i_buf *out_query, s3i_buf *canonical, s3i_buf *string_to_sign,
	s3i_errinfo *err)
{
	job j;
	int rc = job_init(s, &j, req, creds, 1, err);
	if (rc)
		return rc;
	if (!out_query)
		return s3i_err(err, S3I_EINVALID, NULL, "SigV4: no buffer for the presigned query");
	if (expires_s < 1 || expires_s > S3I_SIGV4_MAX_EXPIRES)
		return s3i_err(err, S3I_EINVALID, "expires", "SigV4: a presigned URL must expire in 1 to "
			"%d seconds, not %lld", S3I_SIGV4_MAX_EXPIRES, (long long)expires_s);
	j.expires = expires_s;
	if ((rc = collect_headers(s, &j)) || (rc = canonical_request(s, &j)) ||
		(rc = signature(s, &j)))
		return rc;
	if (presigned_query(s, &j, out_query)) {
		s3i_buf_clear(out_query);
		return s3i_err(err, S3I_ENOMEM, NULL, "SigV4: out of memory");
	}
	if ((rc = copy_out(canonical, &s->prev_creq, err)) ||
		(rc = copy_out(string_to_sign, &s->sts, err)))
		return rc;
	return S3I_OK;
}

/* ------------------------------------------------------------------ SHA-256 and MD5 helpers */

int s3i_sha256_hex(const void *data, size_t len, char out[S3I_SHA256_HEX_LEN + 1])
{
	unsigned char d[32];
	digest dg;
	if (dg_open(&dg))
		return s3i_err(NULL, S3I_ERROR, NULL, "OpenSSL could not start a SHA-256 digest");
	int rc = dg_last(&dg, len ? data : "", len, d);
#if defined(S3I_SIGV4_EVP)
	dg_close(&dg);
#endif
	if (rc)   /* (a body's digest state is not secret: the plain context is not wiped) */
		return s3i_err(NULL, S3I_ERROR, NULL, "SHA-256 failed");
	*put_hex32(out, d) = '\0';
	return S3I_OK;
}

/* The streaming object is an EVP_MD_CTX (allocated by OpenSSL, never dereferenced as ours). */
s3i_sha256 *s3i_sha256_new(void)
{
	const EVP_MD *md = md_get(0);
	EVP_MD_CTX *c = md ? EVP_MD_CTX_new() : NULL;
	if (c && !EVP_DigestInit_ex(c, md, NULL)) {
		EVP_MD_CTX_free(c);
		c = NULL;
	}
	return (s3i_sha256 *)c;
}

int s3i_sha256_update(s3i_sha256 *h, const void *data, size_t len)
{
	if (!h)
		return s3i_err(NULL, S3I_EINVALID, NULL, "SHA-256: no digest");
	if (len && !EVP_DigestUpdate((EVP_MD_CTX *)h, data, len))
		return s3i_err(NULL, S3I_ERROR, NULL, "SHA-256 failed");
	return S3I_OK;
}

int s3i_sha256_final_hex(s3i_sha256 *h, char out[S3I_SHA256_HEX_LEN + 1])
{
	unsigned char d[32];
	EVP_MD_CTX *c = (EVP_MD_CTX *)h;
	if (!c)
		return s3i_err(NULL, S3I_EINVALID, NULL, "SHA-256: no digest");
	if (!EVP_DigestFinal_ex(c, d, NULL) || !EVP_DigestInit_ex(c, md_get(0), NULL))
		return s3i_err(NULL, S3I_ERROR, NULL, "SHA-256 failed");
	s3i_hex_encode(out, d, sizeof(d));
	return S3I_OK;
}

void s3i_sha256_free(s3i_sha256 *h) { EVP_MD_CTX_free((EVP_MD_CTX *)h); }

int s3i_md5(const void *data, size_t len, unsigned char out[16])
{
	const EVP_MD *md = md_get(1);
	if (!md)
		return s3i_err(NULL, S3I_ERROR, NULL, "OpenSSL offers no MD5 (FIPS mode?)");
	if (!EVP_Digest(len ? data : "", len, out, NULL, md, NULL))
		return s3i_err(NULL, S3I_ERROR, NULL, "MD5 failed");
	return S3I_OK;
}

int s3i_md5_base64(const void *data, size_t len, char out[25])
{
	unsigned char d[16];
	int rc = s3i_md5(data, len, d);
	if (rc)
		return rc;
	EVP_EncodeBlock((unsigned char *)out, d, sizeof(d));   /* 24 characters and a NUL */
	return S3I_OK;
}
