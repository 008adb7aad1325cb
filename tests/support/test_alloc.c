#include "test_alloc.h"
#include "core/alloc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each block carries its size in a header so frees can be counted. */
typedef struct { size_t size; size_t pad; } hdr;

static atomic_long outstanding;
static atomic_long total;
static atomic_long fail_after = -1;

static int should_fail(void)
{
	long n = atomic_load(&fail_after);
	if (n < 0)
		return 0;
	if (n == 0)
		return 1;
	atomic_fetch_sub(&fail_after, 1);
	return 0;
}

static void *t_alloc(void *user, size_t size)
{
	(void)user;
	if (should_fail())
		return NULL;
	hdr *h = malloc(sizeof(hdr) + size);
	if (!h)
		return NULL;
	h->size = size;
	atomic_fetch_add(&outstanding, 1);
	atomic_fetch_add(&total, 1);
	return h + 1;
}

static void t_free(void *user, void *ptr)
{
	(void)user;
	if (!ptr)
		return;
	hdr *h = (hdr *)ptr - 1;
	atomic_fetch_sub(&outstanding, 1);
	free(h);
}

static void *t_realloc(void *user, void *ptr, size_t size)
{
	if (!ptr)
		return t_alloc(user, size);
	if (should_fail())
		return NULL;
	hdr *h = (hdr *)ptr - 1;
	hdr *n = realloc(h, sizeof(hdr) + size);
	if (!n)
		return NULL;
	n->size = size;
	return n + 1;
}

static const s3i_allocator counting = { sizeof(s3i_allocator), NULL, t_alloc, t_realloc, t_free };

const s3i_allocator *s3i_test_alloc(void) { return &counting; }
long s3i_test_alloc_outstanding(void) { return atomic_load(&outstanding); }
long s3i_test_alloc_count(void) { return atomic_load(&total); }
void s3i_test_alloc_fail_after(long n) { atomic_store(&fail_after, n); }

static long default_at_setup;

int s3i_test_alloc_setup(void **state)
{
	(void)state;
	atomic_store(&outstanding, 0);
	atomic_store(&total, 0);
	atomic_store(&fail_after, -1);
	s3i_alloc_count_default(1);
	default_at_setup = s3i_alloc_default_blocks();
	return 0;
}

int s3i_test_alloc_teardown(void **state)
{
	(void)state;
	atomic_store(&fail_after, -1);
	long n = atomic_load(&outstanding);
	if (n != 0) {
		fprintf(stderr, "leak: %ld allocation(s) of the library still outstanding\n", n);
		return -1;
	}
	/* what went to the default allocator (no allocator passed down) must be back too */
	long d = s3i_alloc_default_blocks() - default_at_setup;
	if (d > 0) {
		fprintf(stderr, "leak: %ld allocation(s) of the library's default allocator still "
			"outstanding\n", d);
		return -1;
	}
	return 0;
}

char *s3i_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = t_alloc(NULL, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		t_free(NULL, buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
	return buf;
}

const char *s3i_test_fixture(const char *rel)
{
	static _Thread_local char path[4096];
	snprintf(path, sizeof(path), "%s/%s", S3I_FIXTURES_DIR, rel);
	return path;
}
