#include "aws/headers.h"

#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "s3insights/errors.h"

void s3i_headers_init(s3i_headers *h, const s3i_allocator *a)
{
	memset(h, 0, sizeof(*h));
	h->alloc = a ? a : s3i_allocator_default();
}

void s3i_headers_clear(s3i_headers *h)
{
	for (size_t i = 0; i < h->count; i++) {
		s3i_free(h->alloc, h->items[i].name);
		if (h->items[i].value)
			s3i_free_secret(h->alloc, h->items[i].value);
	}
	h->count = 0;
}

void s3i_headers_free(s3i_headers *h)
{
	s3i_headers_clear(h);
	s3i_free(h->alloc, h->items);
	h->items = NULL;
	h->cap = 0;
}

int s3i_headers_addn(s3i_headers *h, const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (!h->alloc)
		h->alloc = s3i_allocator_default();
	if (h->count == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 16;
		s3i_header *items = s3i_realloc(h->alloc, h->items, ncap * sizeof(*items));
		if (!items)
			return S3I_ENOMEM;
		h->items = items;
		h->cap = ncap;
	}
	char *n = s3i_strndup(h->alloc, name, nlen);
	char *v = s3i_strndup(h->alloc, value, vlen);
	if (!n || !v) {
		s3i_free(h->alloc, n);
		s3i_free(h->alloc, v);
		return S3I_ENOMEM;
	}
	h->items[h->count].name = n;
	h->items[h->count].value = v;
	h->count++;
	return S3I_OK;
}

int s3i_headers_add(s3i_headers *h, const char *name, const char *value)
{
	return s3i_headers_addn(h, name, strlen(name), value ? value : "", value ? strlen(value) : 0);
}

void s3i_headers_remove(s3i_headers *h, const char *name)
{
	size_t j = 0;
	for (size_t i = 0; i < h->count; i++) {
		if (!strcasecmp(h->items[i].name, name)) {
			s3i_free(h->alloc, h->items[i].name);
			s3i_free_secret(h->alloc, h->items[i].value);
		} else {
			h->items[j++] = h->items[i];
		}
	}
	h->count = j;
}

int s3i_headers_set(s3i_headers *h, const char *name, const char *value)
{
	s3i_headers_remove(h, name);
	return s3i_headers_add(h, name, value);
}

const char *s3i_headers_get(const s3i_headers *h, const char *name)
{
	for (size_t i = 0; i < h->count; i++)
		if (!strcasecmp(h->items[i].name, name))
			return h->items[i].value;
	return NULL;
}

int s3i_headers_copy(s3i_headers *dst, const s3i_headers *src)
{
	for (size_t i = 0; i < src->count; i++) {
		int rc = s3i_headers_add(dst, src->items[i].name, src->items[i].value);
		if (rc)
			return rc;
	}
	return S3I_OK;
}
