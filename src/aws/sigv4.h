/*
 * AWS Signature Version 4: header signing and presigned URLs.
 *
 * Built for speed: an s3i_signer keeps prefetched OpenSSL EVP_MD / EVP_MAC objects and caches
 * the derived signing key per (secret, date, region, service), so a typical signature costs
 * about a microsecond. A signer is used by one thread at a time (give each thread or each
 * in-flight batch its own; they are cheap).
 */
#ifndef S3I_AWS_SIGV4_H
#define S3I_AWS_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include "s3insights/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "aws/headers.h"

#define S3I_SHA256_HEX_LEN 64
#define S3I_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define S3I_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct s3i_signer s3i_signer;

typedef struct s3i_sigv4_creds {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;     /* NULL or "" when none */
} s3i_sigv4_creds;

enum {
	/* S3: the path is signed exactly as sent (no second encoding, no dot-segment removal). */
	S3I_SIGV4_S3_PATH = 1u << 0,
	/* Generic services only: do not normalise the path (remove dot segments, collapse //). */
	S3I_SIGV4_NO_NORMALIZE = 1u << 1,
	/* Add x-amz-content-sha256 with the payload hash and sign it (always on for S3). */
	S3I_SIGV4_CONTENT_SHA256_HEADER = 1u << 2,
	/* Add X-Amz-Security-Token after signing instead of signing it (old STS quirk). */
	S3I_SIGV4_TOKEN_UNSIGNED = 1u << 3
};

typedef struct s3i_sigv4_request {
	const char *method;            /* "GET" */
	const char *path;              /* as sent on the wire, already percent-encoded, e.g. "/a%20b" */
	const char *query;             /* as sent on the wire without '?', or NULL */
	s3i_headers *headers;          /* must hold Host; the signer adds X-Amz-Date, the token, the
	                                  content hash header and Authorization */
	const char *payload_hash;      /* hex SHA-256 of the body, S3I_UNSIGNED_PAYLOAD, or NULL for
	                                  the empty body */
	const char *region;
	const char *service;
	int64_t time_s;                /* signing time, seconds since the epoch */
	uint32_t flags;                /* S3I_SIGV4_* */
} s3i_sigv4_request;

int s3i_signer_new(s3i_signer **out, const s3i_allocator *a);
void s3i_signer_free(s3i_signer *s);

/* Sign in place: adds X-Amz-Date, X-Amz-Security-Token (when a token is given),
 * x-amz-content-sha256 (with the flag) and Authorization to req->headers.
 * When canonical/string_to_sign are non-NULL they receive those intermediate texts (tests). */
int s3i_sigv4_sign(s3i_signer *s, const s3i_sigv4_request *req, const s3i_sigv4_creds *creds,
	s3i_buf *canonical, s3i_buf *string_to_sign, s3i_errinfo *err);

/* Presign: appends X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
 * X-Amz-SignedHeaders, X-Amz-Security-Token (when a token is given) and X-Amz-Signature to
 * the query string. `out_query` receives the complete wire query (without '?').
 * The payload hash defaults to UNSIGNED-PAYLOAD for S3 and the empty hash otherwise. */
int s3i_sigv4_presign(s3i_signer *s, const s3i_sigv4_request *req, const s3i_sigv4_creds *creds,
	int64_t expires_s, s3i_buf *out_query, s3i_buf *canonical, s3i_buf *string_to_sign,
	s3i_errinfo *err);

/* SHA-256 helpers (one-shot and streaming) with hex output. */
typedef struct s3i_sha256 s3i_sha256;
int s3i_sha256_hex(const void *data, size_t len, char out[S3I_SHA256_HEX_LEN + 1]);
s3i_sha256 *s3i_sha256_new(void);            /* OpenSSL-allocated; NULL on failure */
int s3i_sha256_update(s3i_sha256 *h, const void *data, size_t len);
int s3i_sha256_final_hex(s3i_sha256 *h, char out[S3I_SHA256_HEX_LEN + 1]);
void s3i_sha256_free(s3i_sha256 *h);

/* MD5 (Content-MD5 and ETag checks): raw 16 bytes, hex or base64 (into a 25-byte buffer). */
int s3i_md5(const void *data, size_t len, unsigned char out[16]);
int s3i_md5_base64(const void *data, size_t len, char out[25]);

#endif
