/**
 * @file
 * Version macros and their runtime twins (STYLE R11). The macros give the version a program
 * was compiled against, the functions the version of the library it runs with; see
 * docs/api-stability.md for what each part of the version promises.
 * @since 0.1
 */
#ifndef S3INSIGHTS_VERSION_H
#define S3INSIGHTS_VERSION_H

#include "common.h"

#define S3I_VERSION_MAJOR 0  /**< major version compiled against. @since 0.1 */
#define S3I_VERSION_MINOR 1  /**< minor version compiled against. @since 0.1 */
#define S3I_VERSION_PATCH 0  /**< patch version compiled against. @since 0.1 */
/** The version compiled against as "major.minor.patch". @since 0.1 */
#define S3I_VERSION_STRING "0.1.0"
/** The version compiled against as one number, 0xMMmmpp (major, minor, patch). @since 0.1 */
#define S3I_VERSION_NUM ((S3I_VERSION_MAJOR << 16) | (S3I_VERSION_MINOR << 8) | S3I_VERSION_PATCH)
/** Non-zero when the headers are version x.y.z or later (compile time). @since 0.1 */
#define S3I_AT_LEAST_VERSION(x, y, z) (S3I_VERSION_NUM >= (((x) << 16) | ((y) << 8) | (z)))

S3I_BEGIN_DECLS

/* Feature bits returned by s3i_features(); bits are never reused. */
/** Contexts may be shared across threads (always set). @since 0.1 */
#define S3I_FEATURE_THREADS   (1u << 0)
/** libcurl was built with TLS, so https:// endpoints work. @since 0.1 */
#define S3I_FEATURE_HTTPS     (1u << 1)

/**
 * The version of the library running, as S3I_VERSION_NUM encodes it; compare it with
 * S3I_VERSION_NUM when a program needs at least the version it was compiled with.
 * Thread-safe; no initialisation needed.  @since 0.1
 */
S3I_API uint32_t s3i_version_num(void);
/**
 * The version of the library running as "major.minor.patch".
 * @return a static string, never NULL. Thread-safe.  @since 0.1
 */
S3I_API const char *s3i_version_string(void);
/**
 * The optional parts available in this build, so a binding can check before it uses one.
 * @return a bit set of S3I_FEATURE_* values. Thread-safe.  @since 0.1
 */
S3I_API uint32_t s3i_features(void);

S3I_END_DECLS

#endif
