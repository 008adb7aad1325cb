/**
 * @file
 * The pluggable allocator (STYLE R9) and the byte buffer the library hands out.
 * @since 0.1
 */
#ifndef S3INSIGHTS_ALLOC_H
#define S3INSIGHTS_ALLOC_H

#include "common.h"

S3I_BEGIN_DECLS

/**
 * Allocator for the library's own memory. libcurl, OpenSSL, yajl and expat keep
 * their own allocators. Every field is required when a custom allocator is given.
 * `realloc(user, NULL, n)` must behave like `alloc`; `free(user, NULL)` must be a no-op.
 * @since 0.1
 */
typedef struct s3i_allocator {
	uint32_t struct_size;  /**< sizeof(s3i_allocator) as the caller was compiled */
	void *user;            /**< passed to every function below */
	void *(*alloc)(void *user, size_t size);  /**< like malloc; NULL when out of memory */
	void *(*realloc)(void *user, void *ptr, size_t size);  /**< like realloc */
	void (*free)(void *user, void *ptr);  /**< like free */
} s3i_allocator;

/**
 * The allocator used when none is given: malloc/realloc/free.
 * @return a static allocator, never NULL.  Thread-safe.  @since 0.1
 */
S3I_API const s3i_allocator *s3i_allocator_default(void);

/**
 * A growable byte buffer handed out by the library for large outputs.
 * `ptr` is NUL-terminated when non-NULL; `size` excludes the terminator.
 * Release it with s3i_buf_dispose(); the caller must not free `ptr`.
 * @since 0.1
 */
typedef struct s3i_buf {
	char *ptr;                  /**< the bytes, NUL-terminated; NULL while empty */
	size_t size;                /**< bytes used, without the terminator */
	size_t asize;               /**< bytes allocated */
	const s3i_allocator *alloc; /**< the allocator of ptr; NULL: set by the first call that fills it */
} s3i_buf;

/** An empty buffer, for `s3i_buf b = S3I_BUF_INIT;`. @since 0.1 */
#define S3I_BUF_INIT { NULL, 0, 0, NULL }

/**
 * Release the memory held by a buffer filled by the library and reset it to empty.
 * @param buf  may be NULL or already empty.  @since 0.1
 */
S3I_API void s3i_buf_dispose(s3i_buf *buf);

S3I_END_DECLS

#endif
