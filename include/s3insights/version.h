/*
 * libs3insights: version macros and their runtime twins (STYLE R11).
 */
#ifndef S3INSIGHTS_VERSION_H
#define S3INSIGHTS_VERSION_H

#include "common.h"

#define S3I_VERSION_MAJOR 0
#define S3I_VERSION_MINOR 1
#define S3I_VERSION_PATCH 0
#define S3I_VERSION_STRING "0.1.0"
#define S3I_VERSION_NUM ((S3I_VERSION_MAJOR << 16) | (S3I_VERSION_MINOR << 8) | S3I_VERSION_PATCH)
#define S3I_AT_LEAST_VERSION(x, y, z) (S3I_VERSION_NUM >= (((x) << 16) | ((y) << 8) | (z)))

S3I_BEGIN_DECLS

/** Feature bits returned by s3i_features(). @since 0.1 */
#define S3I_FEATURE_THREADS   (1u << 0)  /**< contexts may be shared across threads */
#define S3I_FEATURE_HTTPS     (1u << 1)  /**< libcurl was built with TLS */

/** The library's version as S3I_VERSION_NUM encodes it. @since 0.1 */
S3I_API uint32_t s3i_version_num(void);
/** The library's version as "major.minor.patch". Never NULL. @since 0.1 */
S3I_API const char *s3i_version_string(void);
/** Bit set of S3I_FEATURE_* available in this build. @since 0.1 */
S3I_API uint32_t s3i_features(void);

S3I_END_DECLS

#endif
