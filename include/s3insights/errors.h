/**
 * @file
 * The one error model (STYLE R7/R8): every function that can fail returns S3I_OK (0) or a
 * negative s3i_status, and the detail of the failure is an s3i_error read from the handle
 * called or, for calls without a handle, from s3i_error_last(). See docs/error-handling.md.
 * @since 0.1
 */
#ifndef S3INSIGHTS_ERRORS_H
#define S3INSIGHTS_ERRORS_H

#include "common.h"

S3I_BEGIN_DECLS

/**
 * Status codes. 0 is success, every error is negative. Values are explicit and are never
 * renumbered or reused; retired codes keep their slot.
 * @since 0.1
 */
typedef enum s3i_status {
	S3I_OK = 0,               /**< success */
	S3I_ERROR = -1,           /**< generic failure; see the error detail */
	S3I_EINVALID = -2,        /**< an argument or input is invalid */
	S3I_ENOMEM = -3,          /**< out of memory */
	S3I_ENOTFOUND = -4,       /**< the named resource does not exist */
	S3I_EEXISTS = -5,         /**< the named resource already exists */
	S3I_ECONFLICT = -6,       /**< a condition or precondition failed */
	S3I_EIO = -7,             /**< local file or stream error */
	S3I_EPARSE = -8,          /**< a response or document could not be parsed */
	S3I_ETIMEOUT = -9,        /**< a deadline or timeout passed */
	S3I_EAUTH = -10,          /**< credentials missing, invalid, or access denied */
	S3I_ETHROTTLED = -11,     /**< the service throttled the request (retryable) */
	S3I_EAWS = -12,           /**< the service returned an error; see aws_code */
	S3I_ENETWORK = -13,       /**< connection, DNS or TLS failure (retryable) */
	S3I_ESERVICE = -14,       /**< the service failed with a 5xx (retryable) */
	S3I_ECHECKSUM = -15,      /**< a checksum or size did not match */
	S3I_EUNKNOWN_OPTION = -20,/**< an option id this library version does not know */
	S3I_EUSER = -30           /**< a callback asked to stop */
} s3i_status;

/**
 * Error detail. Owned by the handle (or the thread, for s3i_error_last()); valid until the
 * next call on that handle. Read it only after a call returned a negative status.
 * Every string field is non-NULL (possibly empty).
 * @since 0.1
 */
typedef struct s3i_error {
	uint32_t struct_size; /**< set by the library: read a member added later only when this covers it */
	int32_t code;         /**< an s3i_status */
	int32_t http_status;  /**< HTTP status of the failing response, 0 when none */
	const char *message;  /**< human-readable, names the thing at fault */
	const char *aws_code; /**< AWS error code, e.g. "NoSuchBucket"; "" when none */
	const char *request_id; /**< AWS request id; "" when none */
	const char *resource; /**< bucket, key, account, field... at fault; "" when none */
} s3i_error;

/**
 * Static English text for a status code.
 * @return a static string, never NULL; unknown codes give "unknown error". Thread-safe.
 * @since 0.1
 */
S3I_API const char *s3i_strerror(int status);

/**
 * Whether an operation that failed with this status may succeed if retried.
 * @return 1 for S3I_ETHROTTLED, S3I_ENETWORK, S3I_ESERVICE and S3I_ETIMEOUT, else 0. @since 0.1
 */
S3I_API int s3i_status_is_retryable(int status);

/**
 * The last error recorded on the calling thread, for failures that have no handle
 * (constructors and the context-level calls such as s3i_s3_get_object()).
 * @return never NULL; owned by the thread, valid until its next library call. It may be
 * stale: check the return code first.  @since 0.1
 */
S3I_API const s3i_error *s3i_error_last(void);

/** Reset the calling thread's last error. @since 0.1 */
S3I_API void s3i_error_clear(void);

S3I_END_DECLS

#endif
