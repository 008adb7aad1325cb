/* An ordered list of HTTP headers with owned copies of names and values. */
#ifndef S3I_AWS_HEADERS_H
#define S3I_AWS_HEADERS_H

#include <stddef.h>
#include "s3insights/alloc.h"

typedef struct s3i_header {
	char *name;
	char *value;
} s3i_header;

typedef struct s3i_headers {
	s3i_header *items;
	size_t count;
	size_t cap;
	const s3i_allocator *alloc;
} s3i_headers;

void s3i_headers_init(s3i_headers *h, const s3i_allocator *a);
void s3i_headers_free(s3i_headers *h);
void s3i_headers_clear(s3i_headers *h);
int s3i_headers_add(s3i_headers *h, const char *name, const char *value);      /* appends */
int s3i_headers_addn(s3i_headers *h, const char *name, size_t nlen, const char *value, size_t vlen);
int s3i_headers_set(s3i_headers *h, const char *name, const char *value);      /* replaces all of that name */
void s3i_headers_remove(s3i_headers *h, const char *name);
const char *s3i_headers_get(const s3i_headers *h, const char *name);           /* case-insensitive, first */
int s3i_headers_copy(s3i_headers *dst, const s3i_headers *src);

#endif
