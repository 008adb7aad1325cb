/*
 * AWS Signature Version 4: header signing and presigned URLs.
 *
 * Built for speed (docs/performance.md): an s3i_signer keeps its digest state and scratch
 * buffers between calls, caches the derived signing key per (secret, date, region, service)
 * together with the hashed states of its HMAC pads, and reuses work on input that is byte for
 * byte the same as last time (the start of the string to sign within a second, the leading
 * blocks of a canonical request, the canonical header block of the same headers). Handed a
 * request's body (s3i_sigv4_request.payload) it hashes that itself, overlapping the hashing
 * with the rest of its work: faster than s3i_sha256_hex first and payload_hash. Once warm it
 * allocates nothing, except to add headers
 * the request did not have yet; re-signing the same s3i_headers (a retry) overwrites the values
 * it set last time. The secret is kept only masked with a random per-signer pad and compared in
 * constant time. A signer is used by one thread at a time (give each thread or each in-flight
 * batch its own; they are cheap).
 *
 * What is signed (the AWS "canonical request"):
 * - URI: with S3I_SIGV4_S3_PATH the wire path exactly as given. Otherwise (every other service)
 *   the wire path with dot segments removed and runs of '/' collapsed (unless
 *   S3I_SIGV4_NO_NORMALIZE), then percent-encoded once more, which is the double encoding AWS
 *   expects: the wire path "/a%20b" signs as "/a%2520b". An empty path signs as "/".
 * - Query: every parameter of the wire query is percent-decoded and re-encoded strictly
 *   (RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are; '+' is a literal plus, not a space),
 *   a parameter without '=' gets an empty value, empty pieces ("a=1&&b=2") are dropped, and the
 *   parameters are sorted by encoded name, then by encoded value.
 * - Headers: every header of req->headers except Authorization, User-Agent, Expect and
 *   X-Amzn-Trace-Id (which proxies and HTTP stacks rewrite; botocore leaves them out too).
 *   Names are lowercased; values are trimmed and runs of spaces/tabs become one space; repeated
 *   names are joined with ',' in the order they appear.
 *
 * Refused with S3I_EINVALID, as they could not be sent or would break the signed structure: a
 * header value with a line break; a header name that is empty or holds a control character,
 * space, DEL or ':'; no Host header; a method with a blank; a region or service that is empty
 * or holds '/' or a blank; a payload hash with a blank. S3I_EAUTH: no access key id or secret,
 * an access key id holding '/', ',' or a blank, a session token with a line break.
 *
 * Errors are recorded on `err` (or the thread's error when NULL) and never quote a secret, a
 * session token or a signature.
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
#define S3I_SIGV4_MAX_EXPIRES 604800   /* a presigned URL lives at most 7 days */

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
	/* Add x-amz-content-sha256 with the payload hash and sign it (always on for S3).
	 * Header signing only: a presigned URL never carries it. */
	S3I_SIGV4_CONTENT_SHA256_HEADER = 1u << 2,
	/* Add X-Amz-Security-Token after signing instead of signing it (old STS quirk). With
	 * presigning the token is still appended to the query, but left out of the signature. */
	S3I_SIGV4_TOKEN_UNSIGNED = 1u << 3
};

typedef struct s3i_sigv4_request {
	const char *method;            /* "GET" */
	const char *path;              /* as sent on the wire, already percent-encoded, e.g. "/a%20b" */
	const char *query;             /* as sent on the wire without '?', or NULL */
	s3i_headers *headers;          /* must hold Host; the signer adds X-Amz-Date, the token, the
	                                  content hash header and Authorization */
	const char *payload_hash;      /* hex SHA-256 of the body, S3I_UNSIGNED_PAYLOAD, or NULL:
	                                  the body is `payload` (below) */
	const char *region;
	const char *service;
	int64_t time_s;                /* signing time, seconds since the epoch */
	uint32_t flags;                /* S3I_SIGV4_* */
	/* The body itself, when payload_hash is NULL: the signer hashes it (payload_len bytes),
	 * overlapping that with the rest of its work, which is faster than hashing it first and
	 * passing the hash. NULL with payload_len 0: the empty body. Ignored when payload_hash is
	 * set. */
	const void *payload;
	size_t payload_len;
} s3i_sigv4_request;

/* A new signer allocating through `a` (NULL: the default allocator).
 * Returns S3I_OK, S3I_ENOMEM, or S3I_ERROR when OpenSSL has no SHA-256 or its random number
 * generator fails (thread-local error). */
int s3i_signer_new(s3i_signer **out, const s3i_allocator *a);
/* Frees the signer and wipes the cached signing key and masked secret. NULL is a no-op. */
void s3i_signer_free(s3i_signer *s);

/* Whether the end of a signature with a payload runs on the x86 SHA extensions
 * (sha256_shani.h): on by default where the CPU has them. Off, or where the CPU or the build
 * lacks them, OpenSSL does all the hashing; the results are the same (the unit tests compare
 * the two). Returns whether it is now on. */
int s3i_signer_use_shani(s3i_signer *s, int on);

/* Sign in place: sets X-Amz-Date, X-Amz-Security-Token (when a token is given),
 * x-amz-content-sha256 (S3, or with the flag) and Authorization on req->headers, replacing
 * any earlier values of those headers (so a request can be signed again for a retry).
 * When canonical/string_to_sign are non-NULL they receive those intermediate texts (tests);
 * their earlier content is replaced.
 * Returns S3I_OK; S3I_EINVALID for a malformed request (no Host, a bad header, an empty
 * region...); S3I_EAUTH when the access key id or secret is missing; S3I_ENOMEM. After a
 * failure the request must not be sent as it is: its Authorization header is removed, and
 * X-Amz-Date, the token and the content hash header may already hold their new values. */
int s3i_sigv4_sign(s3i_signer *s, const s3i_sigv4_request *req, const s3i_sigv4_creds *creds,
	s3i_buf *canonical, s3i_buf *string_to_sign, s3i_errinfo *err);

/* Presign: appends X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
 * X-Amz-SignedHeaders, X-Amz-Security-Token (when a token is given) and X-Amz-Signature, in
 * that order, to the query string. `out_query` receives the complete wire query (without '?'):
 * req->query as given, then those parameters. req->headers is not changed; every header in it
 * (Host at least) is signed, so the user of the URL must send exactly those.
 * The payload hash defaults to UNSIGNED-PAYLOAD for S3 and the empty hash otherwise.
 * `expires_s` is 1..S3I_SIGV4_MAX_EXPIRES. Return codes as s3i_sigv4_sign. */
int s3i_sigv4_presign(s3i_signer *s, const s3i_sigv4_request *req, const s3i_sigv4_creds *creds,
	int64_t expires_s, s3i_buf *out_query, s3i_buf *canonical, s3i_buf *string_to_sign,
	s3i_errinfo *err);

/* SHA-256 helpers (one-shot and streaming) with lowercase hex output. `data` may be NULL when
 * `len` is 0. They return S3I_OK, or S3I_ERROR when OpenSSL fails (thread-local error). */
typedef struct s3i_sha256 s3i_sha256;
int s3i_sha256_hex(const void *data, size_t len, char out[S3I_SHA256_HEX_LEN + 1]);
s3i_sha256 *s3i_sha256_new(void);            /* OpenSSL-allocated; NULL on failure */
int s3i_sha256_update(s3i_sha256 *h, const void *data, size_t len);
/* Finishes the digest; the object may then be freed or reused (it restarts empty). */
int s3i_sha256_final_hex(s3i_sha256 *h, char out[S3I_SHA256_HEX_LEN + 1]);
void s3i_sha256_free(s3i_sha256 *h);          /* NULL is a no-op */

/* MD5 (Content-MD5 and ETag checks): raw 16 bytes, or base64 (24 characters + NUL).
 * S3I_ERROR when OpenSSL offers no MD5 (FIPS mode). */
int s3i_md5(const void *data, size_t len, unsigned char out[16]);
int s3i_md5_base64(const void *data, size_t len, char out[25]);

#endif
