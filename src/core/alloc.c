#include "core/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "s3insights/errors.h"

/* While a test asks for it, blocks of the default allocator are counted too: memory that
 * reached it because an allocator was not passed down still has to be freed by the end of
 * the test. One relaxed load per call otherwise. */
static atomic_int count_default;
static atomic_long default_blocks;

static void *default_alloc(void *user, size_t size)
{
	(void)user;
	void *p = malloc(size);
	if (p && atomic_load_explicit(&count_default, memory_order_relaxed))
		atomic_fetch_add_explicit(&default_blocks, 1, memory_order_relaxed);
	return p;
}

static void *default_realloc(void *user, void *p, size_t size)
{
	if (!p)
		return default_alloc(user, size);
	return realloc(p, size);
}

static void default_free(void *user, void *p)
{
	(void)user;
	if (p && atomic_load_explicit(&count_default, memory_order_relaxed))
		atomic_fetch_sub_explicit(&default_blocks, 1, memory_order_relaxed);
	free(p);
}

void s3i_alloc_count_default(int on) { atomic_store(&count_default, on != 0); }
long s3i_alloc_default_blocks(void) { return atomic_load(&default_blocks); }

static const s3i_allocator default_allocator = {
	sizeof(s3i_allocator), NULL, default_alloc, default_realloc, default_free
};

const s3i_allocator *s3i_allocator_default(void) { return &default_allocator; }

static const s3i_allocator *pick(const s3i_allocator *a) { return a ? a : &default_allocator; }

void *s3i_malloc(const s3i_allocator *a, size_t size)
{
	a = pick(a);
	return a->alloc(a->user, size ? size : 1);
}

void *s3i_calloc(const s3i_allocator *a, size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size)
		return NULL;
	void *p = s3i_malloc(a, n * size);
	if (p)
		memset(p, 0, (n * size) != 0 ? n * size : 1);
	return p;
}

void *s3i_realloc(const s3i_allocator *a, void *ptr, size_t size)
{
	a = pick(a);
	return a->realloc(a->user, ptr, size ? size : 1);
}

void s3i_free(const s3i_allocator *a, void *ptr)
{
	if (!ptr)
		return;
	a = pick(a);
	a->free(a->user, ptr);
}

char *s3i_strndup(const s3i_allocator *a, const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *d = s3i_malloc(a, n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *s3i_strdup(const s3i_allocator *a, const char *s)
{
	return s ? s3i_strndup(a, s, strlen(s)) : NULL;
}

int s3i_str_set(const s3i_allocator *a, char **slot, const char *s)
{
	char *copy = NULL;
	if (s && !(copy = s3i_strdup(a, s)))
		return S3I_ENOMEM;
	s3i_free(a, *slot);
	*slot = copy;
	return S3I_OK;
}

void s3i_free_secret(const s3i_allocator *a, char *ptr)
{
	if (!ptr)
		return;
	OPENSSL_cleanse(ptr, strlen(ptr));
	s3i_free(a, ptr);
}
