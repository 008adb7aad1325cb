/*
 * libs3insights: common definitions shared by every public header.
 */
#ifndef S3INSIGHTS_COMMON_H
#define S3INSIGHTS_COMMON_H

#include <stddef.h>
#include <stdint.h>

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

#if defined(__GNUC__) || defined(__clang__)
#  define S3I_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#  define S3I_DEPRECATED(msg)
#endif

#ifdef __cplusplus
#  define S3I_BEGIN_DECLS extern "C" {
#  define S3I_END_DECLS }
#else
#  define S3I_BEGIN_DECLS
#  define S3I_END_DECLS
#endif

#endif
