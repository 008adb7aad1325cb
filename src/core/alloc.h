/* Internal allocation helpers: every library allocation goes through an s3i_allocator. */
#ifndef S3I_CORE_ALLOC_H
#define S3I_CORE_ALLOC_H

#include <stddef.h>
#include "s3insights/alloc.h"

void *s3i_malloc(const s3i_allocator *a, size_t size);
void *s3i_calloc(const s3i_allocator *a, size_t n, size_t size);
void *s3i_realloc(const s3i_allocator *a, void *ptr, size_t size);
void s3i_free(const s3i_allocator *a, void *ptr);
char *s3i_strdup(const s3i_allocator *a, const char *s);        /* NULL in, NULL out */
char *s3i_strndup(const s3i_allocator *a, const char *s, size_t n);

/* Replace *slot with a copy of s (NULL clears). Returns 0 or S3I_ENOMEM. */
int s3i_str_set(const s3i_allocator *a, char **slot, const char *s);

/* Tests: count the blocks of the default allocator (allocations minus frees while counting),
 * so the test allocator's leak check also sees memory that bypassed it. */
void s3i_alloc_count_default(int on);
long s3i_alloc_default_blocks(void);

/* Overwrite then free memory that held a secret. */
void s3i_free_secret(const s3i_allocator *a, char *ptr);

#endif
