#include "aws/headers.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

#include "core/alloc.h"
#include "s3insights/errors.h"

/* Text storage: strings are appended and never move, so items can point into it. */
struct s3i_headers_chunk {
	s3i_headers_chunk *next;
	size_t used;
	size_t cap;
	char data[];
};

/* Room for a typical request's headers once signed (Host, Content-Type, X-Amz-Target,
 * X-Amz-Date, a session token, Authorization) or a typical response's. */
#define CHUNK_TEXT (2048 - sizeof(s3i_headers_chunk))
#define FIRST_ITEMS 16

void s3i_headers_init(s3i_headers *h, const s3i_allocator *a)
{
	memset(h, 0, sizeof(*h));
	h->alloc = a ? a : s3i_allocator_default();
}

static void wipe_chunk(s3i_headers_chunk *c)
{
	if (c->used)
		OPENSSL_cleanse(c->data, c->used);
	c->used = 0;
}

/* Empty the list. The newest (largest) chunk and the items array are kept for reuse. */
void s3i_headers_clear(s3i_headers *h)
{
	s3i_headers_chunk *c = h->text;
	if (c) {
		s3i_headers_chunk *older = c->next;
		wipe_chunk(c);
		c->next = NULL;
		while (older) {
			s3i_headers_chunk *next = older->next;
			wipe_chunk(older);
			s3i_free(h->alloc, older);
			older = next;
		}
	}
	h->count = 0;
}

void s3i_headers_free(s3i_headers *h)
{
	s3i_headers_clear(h);
	if (h->text) {
		s3i_free(h->alloc, h->text);
		h->text = NULL;
	}
	s3i_free(h->alloc, h->items);
	h->items = NULL;
	h->cap = 0;
	h->count = 0;
}

/* Make sure the newest chunk has `need` free bytes. */
static int text_reserve(s3i_headers *h, size_t need)
{
	s3i_headers_chunk *c = h->text;
	if (c && c->cap - c->used >= need)
		return S3I_OK;
	size_t cap = CHUNK_TEXT;
	if (c && c->cap <= (SIZE_MAX - sizeof(*c)) / 2 && c->cap * 2 > cap)
		cap = c->cap * 2;
	if (need > cap)
		cap = need;
	if (cap > SIZE_MAX - sizeof(*c))
		return S3I_ENOMEM;
	s3i_headers_chunk *n = s3i_malloc(h->alloc, sizeof(*n) + cap);
	if (!n)
		return S3I_ENOMEM;
	n->next = c;
	n->used = 0;
	n->cap = cap;
	h->text = n;
	return S3I_OK;
}

/* Copy s[0..n) and a NUL into the newest chunk, which has room. */
static char *text_put(s3i_headers *h, const char *s, size_t n)
{
	s3i_headers_chunk *c = h->text;
	char *p = c->data + c->used;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	c->used += n + 1;
	return p;
}

static int items_reserve(s3i_headers *h, size_t n)
{
	if (n <= h->cap)
		return S3I_OK;
	size_t ncap = h->cap ? h->cap * 2 : FIRST_ITEMS;
	if (ncap < n)
		ncap = n;
	if (ncap > SIZE_MAX / sizeof(s3i_header))
		return S3I_ENOMEM;
	s3i_header *items = s3i_realloc(h->alloc, h->items, ncap * sizeof(*items));
	if (!items)
		return S3I_ENOMEM;
	h->items = items;
	h->cap = ncap;
	return S3I_OK;
}

int s3i_headers_addn(s3i_headers *h, const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (!h->alloc)
		h->alloc = s3i_allocator_default();
	if (!value)
		vlen = 0;
	if (nlen > SIZE_MAX / 2 - 2 || vlen > SIZE_MAX / 2 - 2)
		return S3I_ENOMEM;
	if (items_reserve(h, h->count + 1) || text_reserve(h, nlen + vlen + 2))
		return S3I_ENOMEM;
	s3i_header *it = &h->items[h->count++];
	it->name = text_put(h, name, nlen);
	it->value = text_put(h, value, vlen);
	it->nlen = nlen;
	it->vlen = vlen;
	return S3I_OK;
}

char *s3i_headers_add_space(s3i_headers *h, const char *name, size_t nlen, size_t vlen)
{
	if (!h->alloc)
		h->alloc = s3i_allocator_default();
	if (nlen > SIZE_MAX / 2 - 2 || vlen > SIZE_MAX / 2 - 2)
		return NULL;
	if (items_reserve(h, h->count + 1) || text_reserve(h, nlen + vlen + 2))
		return NULL;
	s3i_header *it = &h->items[h->count++];
	it->name = text_put(h, name, nlen);
	s3i_headers_chunk *c = h->text;
	it->value = c->data + c->used;
	it->value[vlen] = '\0';
	c->used += vlen + 1;
	it->nlen = nlen;
	it->vlen = vlen;
	return it->value;
}

char *s3i_headers_value_space(s3i_headers *h, size_t i, size_t vlen)
{
	s3i_header *it = &h->items[i];
	if (vlen <= it->vlen) {
		if (it->vlen > vlen)
			OPENSSL_cleanse(it->value + vlen, it->vlen - vlen);
		it->value[vlen] = '\0';
		it->vlen = vlen;
		return it->value;
	}
	if (vlen > SIZE_MAX / 2 || text_reserve(h, vlen + 1))
		return NULL;
	s3i_headers_chunk *c = h->text;
	char *v = c->data + c->used;
	v[vlen] = '\0';
	c->used += vlen + 1;
	OPENSSL_cleanse(it->value, it->vlen);
	it->value = v;
	it->vlen = vlen;
	return v;
}

int s3i_headers_add(s3i_headers *h, const char *name, const char *value)
{
	return s3i_headers_addn(h, name, strlen(name), value, value ? strlen(value) : 0);
}

int s3i_headers_set_value(s3i_headers *h, size_t i, const char *value, size_t vlen)
{
	s3i_header *it = &h->items[i];
	if (vlen <= it->vlen) {
		/* in place; what is left of a longer old value is wiped */
		memmove(it->value, value, vlen);
		if (it->vlen > vlen)
			OPENSSL_cleanse(it->value + vlen, it->vlen - vlen);
		it->value[vlen] = '\0';
		it->vlen = vlen;
		return S3I_OK;
	}
	if (text_reserve(h, vlen + 1))
		return S3I_ENOMEM;
	char *v = text_put(h, value, vlen);
	OPENSSL_cleanse(it->value, it->vlen);
	it->value = v;
	it->vlen = vlen;
	return S3I_OK;
}

void s3i_headers_remove(s3i_headers *h, const char *name)
{
	size_t n = strlen(name), j = 0;
	for (size_t i = 0; i < h->count; i++) {
		s3i_header *it = &h->items[i];
		if (it->nlen == n && !strcasecmp(it->name, name)) {
			OPENSSL_cleanse(it->value, it->vlen);   /* the space is reused after a clear */
		} else {
			h->items[j++] = *it;
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
	size_t n = strlen(name);
	for (size_t i = 0; i < h->count; i++)
		if (h->items[i].nlen == n && !strcasecmp(h->items[i].name, name))
			return h->items[i].value;
	return NULL;
}

int s3i_headers_copy(s3i_headers *dst, const s3i_headers *src)
{
	if (!dst->alloc)
		dst->alloc = s3i_allocator_default();
	size_t text = 0;
	for (size_t i = 0; i < src->count; i++)
		text += src->items[i].nlen + src->items[i].vlen + 2;
	if (items_reserve(dst, dst->count + src->count) || text_reserve(dst, text))
		return S3I_ENOMEM;
	for (size_t i = 0; i < src->count; i++) {
		const s3i_header *it = &src->items[i];
		int rc = s3i_headers_addn(dst, it->name, it->nlen, it->value, it->vlen);
		if (rc)
			return rc;
	}
	return S3I_OK;
}
