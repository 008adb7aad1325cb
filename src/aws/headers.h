/*
 * An ordered list of HTTP headers with owned copies of names and values.
 *
 * The text lives in a few chunks the list owns (names and values NUL-terminated, lengths
 * kept beside them), not in one allocation per string: building a request's headers and
 * signing them (which adds X-Amz-Date, Authorization...) costs one or two allocations in all,
 * and a cleared list keeps its first chunk, so a retry that rebuilds its headers allocates
 * nothing. Header values may be secrets (Authorization, X-Amz-Security-Token): the bytes of a
 * removed or replaced header and every chunk are wiped before they are reused or freed.
 *
 * Pointers into the list (items[i].name, .value, what s3i_headers_get returns) stay valid
 * until that header is removed or replaced, or the list is cleared or freed.
 */
#ifndef S3I_AWS_HEADERS_H
#define S3I_AWS_HEADERS_H

#include <stddef.h>
#include "s3insights/alloc.h"

typedef struct s3i_header {
	char *name;
	char *value;
	size_t nlen;                   /* strlen(name) */
	size_t vlen;                   /* strlen(value) */
} s3i_header;

typedef struct s3i_headers_chunk s3i_headers_chunk;

typedef struct s3i_headers {
	s3i_header *items;
	size_t count;
	size_t cap;
	const s3i_allocator *alloc;
	s3i_headers_chunk *text;       /* newest first */
} s3i_headers;

void s3i_headers_init(s3i_headers *h, const s3i_allocator *a);
void s3i_headers_free(s3i_headers *h);
void s3i_headers_clear(s3i_headers *h);                                         /* keeps storage */
int s3i_headers_add(s3i_headers *h, const char *name, const char *value);      /* appends */
int s3i_headers_addn(s3i_headers *h, const char *name, size_t nlen, const char *value, size_t vlen);
int s3i_headers_set(s3i_headers *h, const char *name, const char *value);      /* replaces all of that name */
/* Replace the value of items[i] (in place when it fits). S3I_OK or S3I_ENOMEM (then the old
 * value is kept). */
int s3i_headers_set_value(s3i_headers *h, size_t i, const char *value, size_t vlen);
/* The same two, for a value written in place: room for vlen bytes (and the NUL, already set)
 * is returned for the caller to fill, so a value built piece by piece is not copied again.
 * NULL when out of memory (then nothing changed). */
char *s3i_headers_add_space(s3i_headers *h, const char *name, size_t nlen, size_t vlen);
char *s3i_headers_value_space(s3i_headers *h, size_t i, size_t vlen);
void s3i_headers_remove(s3i_headers *h, const char *name);
const char *s3i_headers_get(const s3i_headers *h, const char *name);           /* case-insensitive, first */
int s3i_headers_copy(s3i_headers *dst, const s3i_headers *src);

#endif
