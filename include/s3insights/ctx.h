/**
 * @file
 * The reference-counted root context (STYLE R4, R6, R12): credentials, region, endpoint, the
 * HTTP connection pool and logging, shared by every call and handle made from it. A context
 * is immutable once created and may be used by any number of threads at once
 * (docs/threading.md).
 * @since 0.1
 */
#ifndef S3INSIGHTS_CTX_H
#define S3INSIGHTS_CTX_H

#include "common.h"
#include "alloc.h"
#include "errors.h"
#include "sys/io.h"

S3I_BEGIN_DECLS

/** Log levels, most severe first. @since 0.1 */
typedef enum s3i_log_level {
	S3I_LOG_NONE = 0,   /**< nothing (as a context's level: the default, S3I_LOG_WARN) */
	S3I_LOG_ERROR = 1,  /**< a call failed */
	S3I_LOG_WARN = 2,   /**< something was wrong but worked around (a retry, TLS checks off) */
	S3I_LOG_INFO = 3,   /**< progress: a stage's steps, resources created */
	S3I_LOG_DEBUG = 4,  /**< each request and its outcome */
	S3I_LOG_TRACE = 5   /**< wire-level detail (headers, with secrets redacted) */
} s3i_log_level;

/**
 * Log callback. `line` is one NUL-terminated line without a trailing newline; it never holds
 * secrets (access keys, secret keys, session tokens, signatures, Authorization or
 * X-Amz-Security-Token values are replaced by "[REDACTED]"). Called on the thread that made
 * the library call.  @since 0.1
 */
typedef void (*s3i_log_fn)(void *user, s3i_log_level level, const char *line);

/** Handle on the library's root context. Thread-safe once created. @since 0.1 */
typedef struct s3i_ctx s3i_ctx;

/**
 * Context options. Every string is copied. NULL means "from the environment", as the AWS
 * SDKs do: region from AWS_REGION / AWS_DEFAULT_REGION / the profile; endpoint from
 * AWS_ENDPOINT_URL[_<SERVICE>]; credentials from botocore's default chain.
 * Fields are only ever appended.  @since 0.1
 */
typedef struct s3i_ctx_options {
	uint32_t struct_size;             /**< sizeof(s3i_ctx_options) as the caller was compiled */
	const s3i_allocator *allocator;   /**< NULL: s3i_allocator_default() */
	const char *region;               /**< default region for calls */
	const char *endpoint_url;         /**< overrides every service's endpoint */
	const char *profile;              /**< AWS_PROFILE when NULL */
	const char *access_key_id;        /**< explicit credentials (first in the chain) */
	const char *secret_access_key;    /**< with access_key_id */
	const char *session_token;        /**< with access_key_id, for temporary credentials */
	s3i_log_fn log_fn;                /**< NULL: no logging */
	void *log_user;                   /**< passed to log_fn */
	int32_t log_level;                /**< an s3i_log_level; 0 means S3I_LOG_WARN */
	int32_t max_attempts;             /**< 0: AWS_MAX_ATTEMPTS or 3 */
	int32_t connect_timeout_ms;       /**< 0: 10000 */
	int32_t request_timeout_ms;       /**< total per attempt; 0: no limit (streams may be long) */
	int32_t max_connections;          /**< connection pool size; 0: 64 */
	const s3i_io_hooks *io_hooks;     /**< NULL: system clock */
	const char *ca_bundle;            /**< PEM file of trusted CAs; NULL: system default */
	int32_t insecure_skip_tls_verify; /**< 1 turns TLS verification off; logged at WARN */
} s3i_ctx_options;

/** Default options, for `s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;`. @since 0.1 */
#define S3I_CTX_OPTIONS_INIT { sizeof(s3i_ctx_options), NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
	NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, 0 }

/**
 * Initialise options to their defaults for a caller compiled against `struct_size`.
 * @return S3I_OK, or S3I_EINVALID when opts is NULL or struct_size is too small.  @since 0.1
 */
S3I_API int s3i_ctx_options_init(s3i_ctx_options *opts, uint32_t struct_size);

/**
 * Reference-counted global initialisation. The first call initialises libcurl and OpenSSL.
 * @return the new init count (> 0), or a negative s3i_status.  Thread-safe.  @since 0.1
 */
S3I_API int s3i_global_init(void);

/**
 * Drop one global reference; the last releases libcurl's global state.
 * @return the remaining count, or a negative s3i_status when not initialised.  @since 0.1
 */
S3I_API int s3i_global_shutdown(void);

/**
 * Create a context with one reference. Calls s3i_global_init() itself.
 * @param out  receives the context; untouched on failure.
 * @param opts may be NULL for all defaults; copied.
 * @return S3I_OK, S3I_EINVALID (bad option; detail in s3i_error_last()) or S3I_ENOMEM.
 * @since 0.1
 */
S3I_API int s3i_ctx_new(s3i_ctx **out, const s3i_ctx_options *opts);

/** Add a reference, for a second owner (each calls s3i_ctx_release()). Thread-safe.
 * @return ctx (NULL for NULL).  @since 0.1 */
S3I_API s3i_ctx *s3i_ctx_acquire(s3i_ctx *ctx);

/** Drop a reference; the last one frees the context. NULL is a no-op. Thread-safe. @since 0.1 */
S3I_API void s3i_ctx_release(s3i_ctx *ctx);

/** The region calls default to (the option, else AWS_REGION,
 * AWS_DEFAULT_REGION or the profile's, else "us-east-1").
 * @return never NULL; valid while ctx lives. Thread-safe.  @since 0.1 */
S3I_API const char *s3i_ctx_region(const s3i_ctx *ctx);

S3I_END_DECLS

#endif
