/*
 * libs3insights: basic S3 object operations on a context.
 *
 * These calls have no handle of their own: on failure the detail (code, message, AWS error
 * code, request id, HTTP status, the bucket or key at fault) is in s3i_error_last() on the
 * calling thread. Every call may run concurrently on a shared s3i_ctx.
 */
#ifndef S3INSIGHTS_S3_H
#define S3INSIGHTS_S3_H

#include "common.h"
#include "alloc.h"
#include "ctx.h"

S3I_BEGIN_DECLS

/** One object of a listing. Strings are valid during the callback only. @since 0.1 */
typedef struct s3i_s3_object_info {
	uint32_t struct_size;
	const char *key;            /**< decoded UTF-8 key */
	int64_t size;               /**< bytes */
	int64_t last_modified_ms;   /**< milliseconds since the epoch, UTC */
	const char *etag;           /**< without quotes */
	const char *storage_class;  /**< "STANDARD", ... */
} s3i_s3_object_info;

/** Listing callback: return 0 to go on, non-zero to stop (the call then returns S3I_EUSER). */
typedef int (*s3i_s3_object_fn)(void *payload, const s3i_s3_object_info *obj);

/**
 * Create a bucket in `region` (NULL: the context's region). An existing bucket of yours is
 * not an error.
 * @return S3I_OK, S3I_EEXISTS (owned by someone else), S3I_EINVALID, or another status.
 * @since 0.1
 */
S3I_API int s3i_s3_create_bucket(s3i_ctx *ctx, const char *bucket, const char *region);

/** Delete an empty bucket. @return S3I_OK, S3I_ENOTFOUND, S3I_ECONFLICT (not empty). @since 0.1 */
S3I_API int s3i_s3_delete_bucket(s3i_ctx *ctx, const char *bucket);

/** Upload `len` bytes from memory as one object. @since 0.1 */
S3I_API int s3i_s3_put_object(s3i_ctx *ctx, const char *bucket, const char *key,
	const void *data, size_t len);

/** Upload a local file, streamed (never held in memory whole). @return S3I_EIO for local
 * file errors. @since 0.1 */
S3I_API int s3i_s3_put_object_file(s3i_ctx *ctx, const char *bucket, const char *key,
	const char *path);

/** Download an object into `out` (release with s3i_buf_dispose). @return S3I_ENOTFOUND for a
 * missing key or bucket. @since 0.1 */
S3I_API int s3i_s3_get_object(s3i_ctx *ctx, const char *bucket, const char *key, s3i_buf *out);

/** Download an object into a local file, streamed; the file is replaced only when the whole
 * object arrived. @since 0.1 */
S3I_API int s3i_s3_get_object_file(s3i_ctx *ctx, const char *bucket, const char *key,
	const char *path);

/** Delete one object (a missing key is not an error, as on S3). @since 0.1 */
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

S3I_END_DECLS

#endif
