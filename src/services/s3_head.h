/*
 * S3 HeadObject and GetBucketLocation: synchronous, and as prepared operations for the
 * fan-out (services/fanout.h), which is how the stages run them by the thousand.
 *
 * Each operation comes in three pieces sharing one code path:
 *  - s3i_s3_*_prepare fills an s3i_fanout_op (the call, the parse function, the result);
 *  - the parse function turns the client's outcome into the typed result;
 *  - s3i_s3_*_op prepares, runs (s3i_fanout_op_run) and parses in one synchronous call.
 *
 * Errors name the operation and the resource ("HeadObject on key 'k' in bucket 'b' ...",
 * "GetBucketLocation on bucket 'b' ..."):
 *  - HeadObject: a 404 has no body, so S3 cannot say whether the key or the bucket is missing;
 *    S3I_ENOTFOUND with a message that says so, aws_code "NotFound". A delete marker (404 or
 *    405 with x-amz-delete-marker: true) is S3I_ENOTFOUND too, the result's delete_marker and
 *    version_id set. 403 -> S3I_EAUTH (also a bare 403: no body on HEAD).
 *  - GetBucketLocation: NoSuchBucket -> S3I_ENOTFOUND; AccessDenied -> S3I_EAUTH (the bucket
 *    policy of another account governs this call: ask from the owner's account).
 *  - An answer of the wrong shape: S3I_EPARSE naming the header or element.
 * Any thread may call these; `err` may be NULL (the thread's error only).
 */
#ifndef S3I_SERVICES_S3_HEAD_H
#define S3I_SERVICES_S3_HEAD_H

#include <stddef.h>
#include <stdint.h>
#include "aws/http.h"
#include "services/svc.h"

typedef struct s3i_fanout_op s3i_fanout_op;

#define S3I_S3_VERSION_ID_MAX 1024
#define S3I_S3_REGION_MAX 64

/* One object (version) to look at. */
typedef struct s3i_s3_object_ref {
	const char *bucket;
	const char *key;
	const char *version_id;         /* NULL or "": the current version */
} s3i_s3_object_ref;

/* What HeadObject says about an object. */
typedef struct s3i_s3_head_result {
	int64_t content_length;          /* bytes; -1 when the answer had no Content-Length */
	int64_t last_modified_ms;        /* ms since the epoch, UTC; 0 when absent */
	int32_t delete_marker;           /* 1: the version is a delete marker (status ENOTFOUND) */
	char etag[128];                  /* without quotes; "" when absent */
	char storage_class[32];          /* "STANDARD" when S3 sends none (it omits STANDARD) */
	char version_id[S3I_S3_VERSION_ID_MAX + 1]; /* "" when the bucket is not versioned */
	char content_type[256];          /* "" when absent */
} s3i_s3_head_result;

/* ---- HeadObject ---- */

/* Fill op (reset first) with a HeadObject of bucket/key (version_id NULL or "": the current
 * version); the strings are copied into the op. The result goes to *out (initialised now).
 * S3I_EINVALID for an empty bucket or key, S3I_ENOMEM. */
int s3i_s3_head_object_prepare(s3i_fanout_op *op, const char *bucket, const char *key,
	const char *version_id, s3i_s3_head_result *out, s3i_errinfo *err);
/* Synchronous HeadObject. out is filled on success and for a delete marker. */
int s3i_s3_head_object_op(const s3i_svc *svc, const char *bucket, const char *key,
	const char *version_id, s3i_s3_head_result *out, s3i_errinfo *err);

/* The parse function HeadObject ops use (op->result is an s3i_s3_head_result). */
int s3i_s3_head_object_parse(s3i_fanout_op *op, int status, const s3i_http_response *resp,
	s3i_errinfo *err);

/* The headers of a 2xx HeadObject answer into out (reset first). `what` names the object in
 * messages. S3I_EPARSE for a Content-Length that is not a decimal number, a Last-Modified that
 * is not an HTTP date, an x-amz-delete-marker other than true/false, or a value too long for
 * its field; out is then left reset. */
int s3i_s3_parse_head_headers(const s3i_headers *headers, const char *what,
	s3i_s3_head_result *out, s3i_errinfo *err);
void s3i_s3_head_result_init(s3i_s3_head_result *out);

/* ---- GetBucketLocation ---- */

/* Fill op (reset first) with a GetBucketLocation of bucket (copied). The region goes to
 * region_out (at least S3I_S3_REGION_MAX bytes; "" until it is known). */
int s3i_s3_bucket_location_prepare(s3i_fanout_op *op, const char *bucket, char *region_out,
	s3i_errinfo *err);
/* Synchronous GetBucketLocation. region_out: at least S3I_S3_REGION_MAX bytes. */
int s3i_s3_bucket_location_op(const s3i_svc *svc, const char *bucket, char *region_out,
	s3i_errinfo *err);

/* The parse function GetBucketLocation ops use (op->result is the region buffer). */
int s3i_s3_bucket_location_parse(s3i_fanout_op *op, int status, const s3i_http_response *resp,
	s3i_errinfo *err);

/* A GetBucketLocation body (<LocationConstraint>) into a normalised region: empty (AWS's
 * null) -> "us-east-1", "EU" -> "eu-west-1", anything else as it is when it looks like a
 * region name (lower-case letters, digits and '-', starting with a letter, at most 63
 * characters). region_out: at least S3I_S3_REGION_MAX bytes, "" on failure. S3I_EPARSE
 * (naming the bucket) for another root element, child elements, or a value that is no region
 * name; S3I_ENOMEM. Leading whitespace is skipped. */
int s3i_s3_parse_bucket_location(const s3i_allocator *a, const char *body, size_t len,
	const char *bucket, char *region_out, s3i_errinfo *err);

/* The normalisation alone: "" / NULL -> "us-east-1", "EU" -> "eu-west-1"; S3I_EPARSE when
 * `constraint` is not a region name. */
int s3i_s3_normalise_location(const char *constraint, char *region_out);

#endif
