/**
 * @file
 * Common definitions shared by every public header: the export macro, the deprecation
 * marker and the C++ linkage guards. Include <s3insights/s3insights.h> rather than this.
 * @since 0.1
 */
#ifndef S3INSIGHTS_COMMON_H
#define S3INSIGHTS_COMMON_H

#include <stddef.h>
#include <stdint.h>

/**
 * @def S3I_API
 * Marks a function the library exports (STYLE R10). Everything else is built with hidden
 * visibility and is not part of the ABI. @since 0.1
 */
#if defined(_WIN32) && !defined(S3I_STATIC)
#  if defined(S3I_BUILDING)
#    define S3I_API __declspec(dllexport)
#  else
#    define S3I_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define S3I_API __attribute__((visibility("default")))
#else
#  define S3I_API
#endif

/**
 * @def S3I_DEPRECATED
 * Marks a declaration as deprecated: callers get a compiler warning naming `msg` (what to use
 * instead). The symbol stays exported until the SONAME changes (docs/api-stability.md).
 * @since 0.1
 */
#if defined(__GNUC__) || defined(__clang__)
#  define S3I_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#  define S3I_DEPRECATED(msg)
#endif

/**
 * @def S3I_BEGIN_DECLS
 * Opens C linkage (`extern "C" {`) around declarations when compiled as C++. @since 0.1
 * @def S3I_END_DECLS
 * Closes what S3I_BEGIN_DECLS opened. @since 0.1
 */
#ifdef __cplusplus
#  define S3I_BEGIN_DECLS extern "C" {
#  define S3I_END_DECLS }
#else
#  define S3I_BEGIN_DECLS
#  define S3I_END_DECLS
#endif

#endif
