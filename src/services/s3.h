/*
 * Amazon S3 object operations (REST-XML), shapes from botocore's s3 model.
 *
 * Errors (besides the client's, see aws/client.h and aws/protocol.h): messages name the
 * operation and what it was about ("GetObject on key 'k' in bucket 'b' failed: NoSuchKey: ...");
 * NoSuchBucket/NoSuchKey/NoSuchUpload -> S3I_ENOTFOUND, PreconditionFailed -> S3I_ECONFLICT,
 * InvalidRange -> S3I_EINVALID. CopyObject, UploadPartCopy and CompleteMultipartUpload can
 * answer 200 with an <Error> document (AWS documents it): that is a failure like any other,
 * retried (up to S3I_S3_200_ERROR_ATTEMPTS times) because S3 means a transient one.
 *
 * Listings use encoding-type=url. S3 then percent-encodes keys and prefixes in form style
 * (a space is '+', a '+' is %2B; botocore decodes with unquote_plus), so they are decoded with
 * '+' as a space, but only when the response says <EncodingType>url</EncodingType>: a server
 * that ignores the parameter (moto's ListObjectVersions) sends keys as they are.
 *
 * Large results come one entry at a time through callbacks, one page in memory at a time.
 * Strings handed to callbacks are borrowed for the duration of the call. Every function may be
 * called from any thread; `err` may be NULL (the thread's error only).
 */
#ifndef S3I_SERVICES_S3_H
#define S3I_SERVICES_S3_H

#include <stddef.h>
#include <stdint.h>
#include "s3insights/s3.h"
#include "aws/protocol.h"
#include "services/svc.h"

extern const s3i_service s3i_svc_s3;

#define S3I_S3_MAX_PARTS 10000
#define S3I_S3_DELETE_BATCH 1000
#define S3I_S3_200_ERROR_ATTEMPTS 3

/* ---- buckets and single objects ---- */

int s3i_s3_create_bucket_op(const s3i_svc *svc, const char *bucket, const char *region, s3i_errinfo *err);
int s3i_s3_delete_bucket_op(const s3i_svc *svc, const char *bucket, s3i_errinfo *err);
int s3i_s3_put_object_op(const s3i_svc *svc, const char *bucket, const char *key, const void *data,
	size_t len, const char *content_type, s3i_errinfo *err);
/* Streamed upload from a read callback of known length (one PutObject, at most 5 GiB). */
int s3i_s3_put_object_stream_op(const s3i_svc *svc, const char *bucket, const char *key,
	s3i_body_read_fn read, s3i_body_rewind_fn rewind, void *user, int64_t length,
	const char *content_type, s3i_errinfo *err);
int s3i_s3_get_object_op(const s3i_svc *svc, const char *bucket, const char *key,
	s3i_body_write_fn sink, int (*sink_reset)(void *), void *user, s3i_errinfo *err);
/* GetObject with a range, If-Match and version (opts may be NULL: the whole object), streamed
 * to sink. A 206 answer is checked against the range asked for (Content-Range); a 200 answer
 * to a ranged request (the server ignored Range) delivers only the bytes asked for. meta (may
 * be NULL) is filled from the answer's headers. */
int s3i_s3_get_object_range_op(const s3i_svc *svc, const char *bucket, const char *key,
	const s3i_s3_get_options *opts, s3i_s3_object_meta *meta, s3i_body_write_fn sink,
	int (*sink_reset)(void *), void *user, s3i_errinfo *err);
int s3i_s3_delete_object_op(const s3i_svc *svc, const char *bucket, const char *key, s3i_errinfo *err);

/* ---- listings ---- */

/* Where a listing stands after a page, and what the page held. */
typedef struct s3i_s3_list_page {
	int truncated;
	int url_encoded;                 /* the page said <EncodingType>url</EncodingType> */
	s3i_buf next_token;              /* ListObjectsV2 NextContinuationToken ("" when none) */
	s3i_buf next_key_marker;         /* ListObjectVersions NextKeyMarker, decoded */
	s3i_buf next_version_id_marker;  /* ListObjectVersions NextVersionIdMarker */
	int64_t entries;                 /* objects, versions and delete markers in the page */
	int64_t prefixes;                /* common prefixes in the page */
} s3i_s3_list_page;

void s3i_s3_list_page_init(s3i_s3_list_page *page, const s3i_allocator *a);
void s3i_s3_list_page_free(s3i_s3_list_page *page);

/* Every page of ListObjectsV2 (opts may be NULL; fn may be NULL). */
int s3i_s3_list_objects_v2_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_list_options *opts, s3i_s3_object_fn fn, void *payload, s3i_errinfo *err);
/* The same with only a prefix: the original entry point, kept for its callers. */
int s3i_s3_list_objects_op(const s3i_svc *svc, const char *bucket, const char *prefix,
	s3i_s3_object_fn fn, void *payload, s3i_errinfo *err);
/* One page, for resumable work: resume with opts->continuation_token = page->next_token
 * (ListObjectsV2) or opts->key_marker/version_id_marker = page->next_* (versions) while
 * page->truncated. page is reset first. */
int s3i_s3_list_objects_page_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_list_options *opts, s3i_s3_object_fn fn, void *payload, s3i_s3_list_page *page,
	s3i_errinfo *err);
int s3i_s3_list_object_versions_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_list_options *opts, s3i_s3_version_fn fn, void *payload, s3i_errinfo *err);
int s3i_s3_list_object_versions_page_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_list_options *opts, s3i_s3_version_fn fn, void *payload, s3i_s3_list_page *page,
	s3i_errinfo *err);

/* ---- deleting many ---- */

typedef struct s3i_s3_deleted {
	const char *key;
	const char *version_id;               /* "" when none */
	int delete_marker;                    /* a delete marker was created or removed */
	const char *delete_marker_version_id; /* "" when none */
} s3i_s3_deleted;

typedef int (*s3i_s3_deleted_fn)(void *payload, const s3i_s3_deleted *d);

typedef struct s3i_s3_delete_stats {
	int64_t deleted;                      /* keys reported deleted (0 in Quiet mode on AWS) */
	int64_t failed;                       /* keys reported as <Error> */
	int64_t requests;                     /* DeleteObjects calls made */
} s3i_s3_delete_stats;

/* DeleteObjects in batches of S3I_S3_DELETE_BATCH, in order, with Content-MD5. quiet: ask for
 * errors only (on_deleted then sees only what a server reports anyway). Per-key errors go to
 * on_error (may be NULL); when any key failed the call returns, after every batch, the status
 * of the first failure (s3i_aws_error_status of its code) with a message naming that key, its
 * code and message, and how many keys failed. stats (may be NULL) is zeroed first. */
int s3i_s3_delete_objects_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_object_id *objects, size_t count, int quiet, s3i_s3_delete_error_fn on_error,
	s3i_s3_deleted_fn on_deleted, void *payload, s3i_s3_delete_stats *stats, s3i_errinfo *err);

/* ---- object tagging ---- */

/* The PutObjectTagging body for `tags` (checked first: count, key and value lengths in
 * characters, UTF-8, repeated keys; S3I_EINVALID naming the tag, with `what` in front). */
int s3i_s3_tagging_body(s3i_buf *out, const s3i_s3_tag *tags, size_t count, const char *what,
	s3i_errinfo *err);
/* PutObjectTagging (Content-MD5, as botocore's model requires); no tags: DeleteObjectTagging.
 * version_id may be NULL. */
int s3i_s3_put_object_tagging_op(const s3i_svc *svc, const char *bucket, const char *key,
	const char *version_id, const s3i_s3_tag *tags, size_t count, s3i_errinfo *err);
/* A GetObjectTagging answer (Tagging/TagSet/Tag/{Key,Value}): each tag to fn, in document
 * order. A Tag without a usable Key (missing, empty, with a NUL byte) or with two Keys or
 * Values is S3I_EPARSE; a missing Value is "". An <Error> document maps to its status. fn
 * non-zero stops: its value is returned and S3I_EUSER recorded. Messages start with `what`. */
int s3i_s3_parse_tagging(const s3i_allocator *a, const char *body, size_t len, const char *what,
	s3i_s3_tag_fn fn, void *payload, s3i_errinfo *err);
/* GetObjectTagging (version_id may be NULL): the tags to fn, as s3i_s3_parse_tagging. */
int s3i_s3_get_object_tagging_op(const s3i_svc *svc, const char *bucket, const char *key,
	const char *version_id, s3i_s3_tag_fn fn, void *payload, s3i_errinfo *err);

/* ---- uploads and copies (s3_multipart.c) ---- */

/* The settings in force: zero fields of opts replaced by the defaults (opts may be NULL). */
void s3i_s3_transfer_defaults(s3i_s3_transfer_options *out, const s3i_s3_transfer_options *opts);
/* The part size to use for `total` bytes: `part_size` grown so at most S3I_S3_MAX_PARTS parts
 * are needed. */
int64_t s3i_s3_part_size_for(int64_t total, int64_t part_size);

/* Upload from a source: one streamed PutObject up to the threshold, multipart above it (see
 * s3i_s3_upload in the public header). length -1: unknown (read until the source ends; a
 * source that ends below the threshold goes as one PutObject from memory). */
int s3i_s3_upload_op(const s3i_svc *svc, const char *bucket, const char *key, int64_t length,
	const s3i_s3_transfer_options *opts, s3i_s3_object_meta *meta, s3i_body_read_fn read,
	s3i_body_rewind_fn rewind, void *user, s3i_errinfo *err);

/* Server-side copy (see s3i_s3_copy_object in the public header). */
int s3i_s3_copy_object_op(const s3i_svc *svc, const char *src_bucket, const char *src_key,
	const char *dst_bucket, const char *dst_key, const s3i_s3_transfer_options *opts,
	s3i_s3_object_meta *meta, s3i_errinfo *err);

/* One CopyObject (MetadataDirective COPY), 200-with-<Error> answers retried. */
int s3i_s3_copy_single_op(const s3i_svc *svc, const char *src_bucket, const char *src_key,
	const char *dst_bucket, const char *dst_key, const s3i_s3_transfer_options *opts,
	s3i_s3_object_meta *meta, s3i_errinfo *err);

/* ---- response parsers (exposed for the unit tests and the fuzzer) ----
 * Each parses a whole response body. S3I_EPARSE (naming `what` and the element) for anything
 * but the documented shape, S3I_EUSER when a callback stopped, S3I_ENOMEM. Root element names
 * are not checked (moto names some differently), except <Error>. */

/* ListObjectsV2 (ListBucketResult). page (required) is reset and filled. */
int s3i_s3_parse_list_objects(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_object_fn fn, s3i_s3_prefix_fn prefix_fn, void *payload,
	s3i_s3_list_page *page, s3i_errinfo *err);
/* ListObjectVersions (ListVersionsResult): Version and DeleteMarker entries in document order. */
int s3i_s3_parse_list_versions(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_version_fn fn, s3i_s3_prefix_fn prefix_fn, void *payload,
	s3i_s3_list_page *page, s3i_errinfo *err);
/* DeleteObjects (DeleteResult): each Deleted to on_deleted, each Error to on_error (either may
 * be NULL); counts added to stats (may be NULL). */
int s3i_s3_parse_delete_result(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_delete_error_fn on_error, s3i_s3_deleted_fn on_deleted,
	void *payload, s3i_s3_delete_stats *stats, s3i_errinfo *err);

/* The small results: InitiateMultipartUploadResult (upload_id), CompleteMultipartUploadResult,
 * CopyObjectResult and CopyPartResult (etag, last_modified_ms), or an <Error> document
 * (is_error, error) which S3 may send with a 200 status. */
typedef struct s3i_s3_result_doc {
	int is_error;
	s3i_aws_error_body error;     /* when is_error */
	char etag[128];               /* without quotes */
	int64_t last_modified_ms;     /* 0 when absent */
	char upload_id[1024];
} s3i_s3_result_doc;

typedef enum s3i_s3_result_kind {
	S3I_S3_RESULT_INITIATE = 1,   /* UploadId required */
	S3I_S3_RESULT_COMPLETE = 2,   /* ETag required */
	S3I_S3_RESULT_COPY = 3        /* CopyObjectResult / CopyPartResult: ETag required */
} s3i_s3_result_kind;

/* S3I_OK with out filled (also for an <Error> document: out->is_error). Leading whitespace is
 * skipped (S3 keeps a long CompleteMultipartUpload alive with spaces). An empty body is
 * S3I_EPARSE. */
int s3i_s3_parse_result(const s3i_allocator *a, const char *body, size_t len,
	s3i_s3_result_kind kind, const char *what, s3i_s3_result_doc *out, s3i_errinfo *err);

/* ---- shared by the S3 service files ---- */

/* "key 'k' in bucket 'b'" (key NULL: "bucket 'b'"); cut to fit `cap`. */
const char *s3i_s3_describe(char *buf, size_t cap, const char *bucket, const char *key);
int s3i_s3_check_names(const char *op, const char *bucket, const char *key, int need_key,
	s3i_errinfo *err);
/* Run one call with the svc's credentials and region; resp must be initialised. */
int s3i_s3_run(const s3i_svc *svc, s3i_call *call, s3i_http_response *resp, s3i_errinfo *err);
/* Record a failure from an <Error> document that came with a 2xx status, as the client
 * records any other AWS error (operation, resource, code, message, request id). */
int s3i_s3_embedded_error(const s3i_call *call, const s3i_http_response *resp,
	const s3i_aws_error_body *eb, s3i_errinfo *err);
/* x-amz-copy-source: "bucket/key" percent-encoded ('/' kept), "?versionId=..." appended. */
int s3i_s3_copy_source(s3i_buf *out, const char *bucket, const char *key, const char *version_id);
/* ETag header or element text without its quotes, into out (cut to cap). */
void s3i_s3_etag_copy(char *out, size_t cap, const char *etag, size_t len);
/* An ETag for If-Match headers: quoted (added when missing); NULL or "" gives "". */
void s3i_s3_etag_quote(char *out, size_t cap, const char *etag);

#endif
