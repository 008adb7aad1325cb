/**
 * @file
 * Basic S3 object operations on a context.
 *
 * These calls have no handle of their own: on failure the detail (code, message, AWS error
 * code, request id, HTTP status, the bucket or key at fault) is in s3i_error_last() on the
 * calling thread. Every call may run concurrently on a shared s3i_ctx. Callbacks run on the
 * calling thread, before the call returns. Strings are UTF-8; keys are passed and reported
 * decoded (the library does the URL encoding).
 * @since 0.1
 */
#ifndef S3INSIGHTS_S3_H
#define S3INSIGHTS_S3_H

#include "common.h"
#include "alloc.h"
#include "ctx.h"

S3I_BEGIN_DECLS

/** One object of a listing. Strings are valid during the callback only. @since 0.1 */
typedef struct s3i_s3_object_info {
	uint32_t struct_size;       /**< set by the library */
	const char *key;            /**< decoded UTF-8 key */
	int64_t size;               /**< bytes */
	int64_t last_modified_ms;   /**< milliseconds since the epoch, UTC */
	const char *etag;           /**< without quotes */
	const char *storage_class;  /**< "STANDARD", ... */
	const char *owner_id;       /**< canonical user id; "" unless the listing returned one
	                                 (s3i_s3_list_options.fetch_owner) */
	const char *owner_name;     /**< owner DisplayName; "" when absent */
} s3i_s3_object_info;

/** Listing callback: return 0 to go on, non-zero to stop (the call then returns S3I_EUSER).
 * @since 0.1 */
typedef int (*s3i_s3_object_fn)(void *payload, const s3i_s3_object_info *obj);

/**
 * One entry of a version listing: an object version or a delete marker. Strings are valid
 * during the callback only and never NULL.  @since 0.1
 */
typedef struct s3i_s3_version_info {
	uint32_t struct_size;       /**< set by the library */
	const char *key;            /**< decoded UTF-8 key */
	const char *version_id;     /**< "null" for what was written before versioning was enabled */
	int32_t is_latest;          /**< 1 for the current version (or delete marker) of the key */
	int32_t is_delete_marker;   /**< 1: a delete marker (size 0, etag and storage_class "") */
	int64_t size;               /**< bytes */
	int64_t last_modified_ms;   /**< milliseconds since the epoch, UTC */
	const char *etag;           /**< without quotes */
	const char *storage_class;  /**< "STANDARD", ...; "" for a delete marker */
	const char *owner_id;       /**< "" when absent */
	const char *owner_name;     /**< "" when absent */
} s3i_s3_version_info;

/** Version listing callback: return 0 to go on, non-zero to stop (S3I_EUSER). @since 0.1 */
typedef int (*s3i_s3_version_fn)(void *payload, const s3i_s3_version_info *version);

/** Common prefix callback (a "folder" under the delimiter, decoded): return 0 to go on,
 * non-zero to stop (S3I_EUSER). @since 0.1 */
typedef int (*s3i_s3_prefix_fn)(void *payload, const char *prefix);

/**
 * Listing options. Zero (or NULL) fields mean S3's defaults; initialise with
 * S3I_S3_LIST_OPTIONS_INIT. Fields are only ever appended.  @since 0.1
 */
typedef struct s3i_s3_list_options {
	uint32_t struct_size;            /**< sizeof(s3i_s3_list_options) as the caller was compiled */
	const char *prefix;              /**< only keys starting with this */
	const char *delimiter;           /**< roll keys up to common prefixes at this string */
	const char *start_after;         /**< ListObjectsV2: begin after this key */
	int32_t max_keys;                /**< entries per page (1..1000); 0: 1000 */
	int32_t fetch_owner;             /**< ListObjectsV2: 1 asks for each object's owner */
	const char *continuation_token;  /**< ListObjectsV2: resume a listing from this token */
	const char *key_marker;          /**< ListObjectVersions: resume after this key ... */
	const char *version_id_marker;   /**< ... and this version of it */
	s3i_s3_prefix_fn prefix_fn;      /**< called per common prefix; NULL: not reported */
} s3i_s3_list_options;

/** Default listing options. @since 0.1 */
#define S3I_S3_LIST_OPTIONS_INIT { sizeof(s3i_s3_list_options), NULL, NULL, NULL, 0, 0, NULL, \
	NULL, NULL, NULL }

/** Identifies one object (version) to delete. @since 0.1 */
typedef struct s3i_s3_object_id {
	const char *key;            /**< the key, UTF-8, not encoded */
	const char *version_id;     /**< NULL: the current version (a delete marker on versioned buckets) */
} s3i_s3_object_id;

/** A key DeleteObjects did not delete. Strings valid during the callback, never NULL. @since 0.1 */
typedef struct s3i_s3_delete_error {
	uint32_t struct_size;       /**< set by the library */
	const char *key;            /**< the key S3 did not delete */
	const char *version_id;     /**< "" when none was given */
	const char *code;           /**< AWS error code, e.g. "AccessDenied" */
	const char *message;        /**< S3's message for it */
} s3i_s3_delete_error;

/** Per-key DeleteObjects failure: return 0 to go on, non-zero to stop (S3I_EUSER). @since 0.1 */
typedef int (*s3i_s3_delete_error_fn)(void *payload, const s3i_s3_delete_error *error);

/** Body source: fill up to `cap` bytes and set *out_len (0 at the end); return 0 or a
 * negative s3i_status to stop. @since 0.1 */
typedef int (*s3i_s3_read_fn)(void *payload, char *buf, size_t cap, size_t *out_len);
/** Body sink: take `len` bytes; return 0 or a negative s3i_status to stop. @since 0.1 */
typedef int (*s3i_s3_write_fn)(void *payload, const char *data, size_t len);
/** Restart a source from its beginning, or empty a sink, before a retry. @since 0.1 */
typedef int (*s3i_s3_reset_fn)(void *payload);

/**
 * What the library learnt about an object from a download, upload or copy. The caller sets
 * struct_size (S3I_S3_OBJECT_META_INIT); the library fills the fields that fit.  @since 0.1
 */
typedef struct s3i_s3_object_meta {
	uint32_t struct_size;       /**< sizeof(s3i_s3_object_meta) as the caller was compiled */
	int64_t content_length;     /**< bytes of this transfer's body (a range: its length) */
	int64_t object_size;        /**< size of the whole object; -1 when unknown */
	int64_t range_start;        /**< first byte of a ranged download; 0 otherwise */
	int64_t last_modified_ms;   /**< 0 when unknown */
	int32_t partial;            /**< 1 when S3 answered 206 Partial Content */
	int32_t parts;              /**< uploads and copies: parts used; 0 for a single request */
	char etag[128];             /**< without quotes; "" when unknown */
	char version_id[128];       /**< "" when the bucket is not versioned */
	char content_type[256];     /**< Content-Type of the object; "" when unknown */
} s3i_s3_object_meta;

/** An empty s3i_s3_object_meta for the library to fill. @since 0.1 */
#define S3I_S3_OBJECT_META_INIT { sizeof(s3i_s3_object_meta), 0, 0, 0, 0, 0, 0, { 0 }, { 0 }, { 0 } }

/**
 * Download options. All zero: the whole current version. Initialise with
 * S3I_S3_GET_OPTIONS_INIT. Fields are only ever appended.  @since 0.1
 */
typedef struct s3i_s3_get_options {
	uint32_t struct_size;       /**< sizeof(s3i_s3_get_options) as the caller was compiled */
	int64_t range_start;        /**< first byte (Range: bytes=range_start-...) */
	int64_t range_length;       /**< bytes from range_start; 0: to the end of the object */
	const char *if_match;       /**< ETag the object must have (If-Match), quoted or not */
	const char *version_id;     /**< NULL: the current version */
} s3i_s3_get_options;

/** Default download options: the whole current version. @since 0.1 */
#define S3I_S3_GET_OPTIONS_INIT { sizeof(s3i_s3_get_options), 0, 0, NULL, NULL }

/**
 * Upload and copy settings. Zero fields take the defaults below; initialise with
 * S3I_S3_TRANSFER_OPTIONS_INIT. Part sizes grow on their own when an object would need more
 * than S3's 10,000 parts. AWS requires parts (all but the last) of at least 5 MiB; smaller
 * sizes are for S3-compatible test servers. Fields are only ever appended.  @since 0.1
 */
typedef struct s3i_s3_transfer_options {
	uint32_t struct_size;         /**< sizeof(s3i_s3_transfer_options) as the caller was compiled */
	int64_t multipart_threshold;  /**< uploads larger than this go multipart; 0: 8 MiB */
	int64_t part_size;            /**< upload part size; 0: 8 MiB */
	int64_t copy_threshold;       /**< copies larger than this use UploadPartCopy; 0: 5 GiB
	                                   (CopyObject's limit) */
	int64_t copy_part_size;       /**< 0: 512 MiB */
	int32_t max_concurrency;      /**< parts in flight at once; 0: 10; at most 256 */
	const char *content_type;     /**< uploads; NULL: application/octet-stream */
	const char *source_version_id; /**< copies: the source version; NULL: the current one */
	const char *source_if_match;  /**< copies: the ETag the source must have throughout */
	int64_t source_size;          /**< copies: the source's size when known; at most
	                                   copy_threshold saves the lookup (a one-byte ranged
	                                   GetObject), larger copies look the source up anyway for
	                                   its metadata and ETag; 0: unknown */
} s3i_s3_transfer_options;

/** Default upload and copy settings. @since 0.1 */
#define S3I_S3_TRANSFER_OPTIONS_INIT { sizeof(s3i_s3_transfer_options), 0, 0, 0, 0, 0, NULL, \
	NULL, NULL, 0 }

/**
 * Create a bucket in `region` (NULL: the context's region). An existing bucket of yours is
 * not an error.
 * @return S3I_OK, S3I_EEXISTS (owned by someone else), S3I_EINVALID, or another status.
 * @since 0.1
 */
S3I_API int s3i_s3_create_bucket(s3i_ctx *ctx, const char *bucket, const char *region);

/** Delete an empty bucket.
 * @return S3I_OK, S3I_ENOTFOUND, S3I_ECONFLICT (not empty), or another status.  @since 0.1 */
S3I_API int s3i_s3_delete_bucket(s3i_ctx *ctx, const char *bucket);

/** Upload `len` bytes from memory as one object (one PutObject; `data` may hold any bytes).
 * @return S3I_OK, S3I_ENOTFOUND (no such bucket), S3I_EINVALID (a bad bucket or key), or
 * another status.  @since 0.1 */
S3I_API int s3i_s3_put_object(s3i_ctx *ctx, const char *bucket, const char *key,
	const void *data, size_t len);

/** Upload a local file, streamed (never held in memory whole); a file larger than 5 GiB
 * (the limit of one PutObject) goes as a multipart upload with the default settings.
 * @return S3I_OK, S3I_EIO for local file errors, S3I_ENOTFOUND (no such bucket), or another
 * status.  @since 0.1 */
S3I_API int s3i_s3_put_object_file(s3i_ctx *ctx, const char *bucket, const char *key,
	const char *path);

/** Download an object into `out`, which must be empty (S3I_BUF_INIT): the call sets it up
 * with the context's allocator; release it with s3i_buf_dispose(). On failure it is empty.
 * @return S3I_OK, S3I_ENOTFOUND for a missing key or bucket, or another status.  @since 0.1 */
S3I_API int s3i_s3_get_object(s3i_ctx *ctx, const char *bucket, const char *key, s3i_buf *out);

/** Download an object into a local file, streamed; the file is replaced only when the whole
 * object arrived.
 * @return S3I_OK, S3I_ENOTFOUND (key or bucket), S3I_EIO for local file errors, or another
 * status.  @since 0.1 */
S3I_API int s3i_s3_get_object_file(s3i_ctx *ctx, const char *bucket, const char *key,
	const char *path);

/** Delete one object (a missing key is not an error, as on S3).
 * @return S3I_OK, S3I_ENOTFOUND (no such bucket), or another status.  @since 0.1 */
S3I_API int s3i_s3_delete_object(s3i_ctx *ctx, const char *bucket, const char *key);

/**
 * List the objects under `prefix` (NULL: all), page by page (ListObjectsV2 with
 * encoding-type=url), calling `fn` once per object in key order. Memory use is bounded by
 * one page whatever the bucket size.
 * @return S3I_OK, S3I_ENOTFOUND (no such bucket), S3I_EUSER (fn stopped), or another status.
 * @since 0.1
 */
S3I_API int s3i_s3_list_objects(s3i_ctx *ctx, const char *bucket, const char *prefix,
	s3i_s3_object_fn fn, void *payload);

/**
 * ListObjectsV2 with options (prefix, delimiter and common prefixes, start-after, page size,
 * owners, resuming from a continuation token), page by page with encoding-type=url: keys and
 * prefixes reach the callbacks decoded. Within a page, objects come before common prefixes.
 * `opts` may be NULL. `fn` may be NULL when only prefixes are wanted (opts->prefix_fn).
 * @return S3I_OK, S3I_ENOTFOUND (no such bucket), S3I_EUSER (a callback stopped), S3I_EPARSE
 * (a page of an unexpected shape), or another status.  @since 0.1
 */
S3I_API int s3i_s3_list_objects_v2(s3i_ctx *ctx, const char *bucket,
	const s3i_s3_list_options *opts, s3i_s3_object_fn fn, void *payload);

/**
 * ListObjectVersions: every version and delete marker under opts->prefix (opts may be NULL),
 * in S3's order (key, then newest first), paged by key and version-id marker.
 * @return as s3i_s3_list_objects_v2.  @since 0.1
 */
S3I_API int s3i_s3_list_object_versions(s3i_ctx *ctx, const char *bucket,
	const s3i_s3_list_options *opts, s3i_s3_version_fn fn, void *payload);

/**
 * Download an object, or a byte range of it (opts), streamed to `sink`. `reset` (may be NULL)
 * empties the sink before a retry starts the body again; without it a download that fails
 * after some bytes arrived is not retried. `meta` (may be NULL) receives length, range, size,
 * ETag and last-modified time.
 * @return S3I_OK, S3I_ENOTFOUND (key or bucket), S3I_ECONFLICT (if_match did not match),
 * S3I_EINVALID (a range beyond the end), or another status.  @since 0.1
 */
S3I_API int s3i_s3_get_object_to(s3i_ctx *ctx, const char *bucket, const char *key,
	const s3i_s3_get_options *opts, s3i_s3_object_meta *meta, s3i_s3_write_fn sink,
	s3i_s3_reset_fn reset, void *payload);

/**
 * Upload `length` bytes (-1: until the source ends) from `read`. Up to the multipart threshold
 * one PutObject streams the source; above it the object goes up in parts read one after the
 * other into memory (at most max_concurrency parts at once), uploaded in parallel, each with
 * its own retries; when a part fails for good the upload is aborted, so nothing is left
 * behind. With length -1 a source that ends within the first part goes up as one PutObject,
 * anything longer in parts. `rewind` (may be NULL) lets a single streamed PutObject be
 * retried (parts are retried from memory). meta (may be NULL) receives the ETag (of the
 * "<md5>-<parts>" form for multipart objects), the version id and the part count.
 * @return S3I_OK, S3I_ENOTFOUND (bucket), S3I_EIO (the source failed or ended early), or
 * another status.  @since 0.1
 */
S3I_API int s3i_s3_upload(s3i_ctx *ctx, const char *bucket, const char *key, int64_t length,
	const s3i_s3_transfer_options *opts, s3i_s3_object_meta *meta, s3i_s3_read_fn read,
	s3i_s3_reset_fn rewind, void *payload);

/** s3i_s3_upload() from a local file.
 * @return as s3i_s3_upload(); S3I_EIO for local file errors.  @since 0.1 */
S3I_API int s3i_s3_upload_file(s3i_ctx *ctx, const char *bucket, const char *key,
	const char *path, const s3i_s3_transfer_options *opts, s3i_s3_object_meta *meta);

/**
 * Server-side copy with metadata directive COPY: CopyObject up to the copy threshold,
 * multipart UploadPartCopy (parts in parallel, each with its own retries, aborted on failure)
 * above it; then content type, encoding, disposition, language, cache control, expiry and
 * user metadata are carried over from the source as CopyObject would. meta->etag is the new
 * object's ETag. S3 answers 200 with an embedded error for these calls now and then; those are
 * retried too.
 * @return S3I_OK, S3I_ENOTFOUND (naming the source or the destination), S3I_ECONFLICT
 * (source_if_match), or another status.  @since 0.1
 */
S3I_API int s3i_s3_copy_object(s3i_ctx *ctx, const char *src_bucket, const char *src_key,
	const char *dst_bucket, const char *dst_key, const s3i_s3_transfer_options *opts,
	s3i_s3_object_meta *meta);

/**
 * Delete objects in DeleteObjects batches of 1000 (Quiet mode, Content-MD5 as S3 requires).
 * A key S3 could not delete is reported to `on_error` (may be NULL) with its code and message;
 * the call then fails after every batch was sent, with the status of the first such error
 * and a message naming it and how many failed. Missing keys count as deleted, as on S3.
 * @return S3I_OK when every object was deleted, S3I_ENOTFOUND (bucket), S3I_EUSER (on_error
 * stopped), or another status.  @since 0.1
 */
S3I_API int s3i_s3_delete_objects(s3i_ctx *ctx, const char *bucket,
	const s3i_s3_object_id *objects, size_t count, s3i_s3_delete_error_fn on_error,
	void *payload);

/** One object tag: a key (1 to 128 characters) and a value (0 to 256 characters; NULL is
 * ""), both UTF-8. @since 0.1 */
typedef struct s3i_s3_tag {
	const char *key;     /**< the tag's key */
	const char *value;   /**< the tag's value; NULL: "" */
} s3i_s3_tag;

/** Most tags S3 keeps on one object. @since 0.1 */
#define S3I_S3_MAX_OBJECT_TAGS 10

/**
 * Replace the whole tag set of an object with `tags` (PutObjectTagging, with the Content-MD5
 * S3 requires). A count of 0 removes every tag (DeleteObjectTagging). Tags are checked before
 * anything is sent. To add a tag to those an object has, read them first: this call does
 * not merge.
 * @param ctx         the context.
 * @param bucket      the object's bucket.
 * @param key         the object's key.
 * @param version_id  the version to tag; NULL or "": the current version.
 * @param tags        `count` tags (may be NULL when count is 0); copied into the request.
 * @param count       at most S3I_S3_MAX_OBJECT_TAGS.
 * @return S3I_OK; S3I_EINVALID (an empty bucket or key, more than 10 tags, an empty, too
 * long, repeated or invalid UTF-8 tag key, a too long or invalid UTF-8 value; the message
 * names the tag); S3I_ENOTFOUND (bucket, key or version); or another status. Detail in
 * s3i_error_last(). Thread-safe.  @since 0.1
 */
S3I_API int s3i_s3_put_object_tagging(s3i_ctx *ctx, const char *bucket, const char *key,
	const char *version_id, const s3i_s3_tag *tags, size_t count);

/** Object tag callback: one tag of the set, `key` and `value` (never NULL; value may be "")
 * valid only during the call. Return 0 to go on, non-zero to stop (the call then returns that
 * value). @since 0.1 */
typedef int (*s3i_s3_tag_fn)(void *payload, const char *key, const char *value);

/**
 * Read the tag set of an object (GetObjectTagging) and hand each tag to `fn`, in the order S3
 * lists them. An object without tags is not an error: `fn` is then never called. Together
 * with s3i_s3_put_object_tagging this is how tags are added without losing the others.
 * @param ctx         the context.
 * @param bucket      the object's bucket.
 * @param key         the object's key.
 * @param version_id  the version to read; NULL or "": the current version.
 * @param fn          called once per tag; non-zero stops the call, which returns that value
 *                    (s3i_error_last() then says S3I_EUSER).
 * @param payload     passed to fn.
 * @return S3I_OK; S3I_EINVALID (NULL ctx or fn, an empty bucket or key); S3I_ENOTFOUND
 * (no such bucket, key or version; the message names them); S3I_EPARSE (an answer that is
 * not a tag set); fn's non-zero value; or another status. Detail in s3i_error_last().
 * Thread-safe.  @since 0.1
 */
S3I_API int s3i_s3_get_object_tagging(s3i_ctx *ctx, const char *bucket, const char *key,
	const char *version_id, s3i_s3_tag_fn fn, void *payload);

S3I_END_DECLS

#endif
