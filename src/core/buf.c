#include "core/buf.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "s3insights/errors.h"

void s3i_buf_init(s3i_buf *b, const s3i_allocator *a)
{
	b->ptr = NULL;
	b->size = 0;
	b->asize = 0;
	b->alloc = a ? a : s3i_allocator_default();
}

void s3i_buf_dispose(s3i_buf *b)
{
	if (!b)
		return;
	if (b->ptr)
		s3i_free(b->alloc, b->ptr);
	b->ptr = NULL;
	b->size = 0;
	b->asize = 0;
}

int s3i_buf_grow(s3i_buf *b, size_t extra)
{
	if (!b->alloc)
		b->alloc = s3i_allocator_default();
	if (extra > (size_t)-1 - b->size - 1)
		return S3I_ENOMEM;
	size_t need = b->size + extra + 1;
	if (need <= b->asize)
		return S3I_OK;
	size_t n = b->asize ? b->asize : 64;
	while (n < need)
		n = n > (size_t)-1 / 2 ? need : n * 2;
	char *p = s3i_realloc(b->alloc, b->ptr, n);
	if (!p)
		return S3I_ENOMEM;
	b->ptr = p;
	b->asize = n;
	return S3I_OK;
}

int s3i_buf_put(s3i_buf *b, const void *data, size_t len)
{
	int rc = s3i_buf_grow(b, len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->ptr + b->size, data, len);
	b->size += len;
	b->ptr[b->size] = '\0';
	return S3I_OK;
}

int s3i_buf_puts(s3i_buf *b, const char *s) { return s3i_buf_put(b, s, strlen(s)); }
int s3i_buf_putc(s3i_buf *b, char c) { return s3i_buf_put(b, &c, 1); }

int s3i_buf_vprintf(s3i_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return S3I_ERROR;
	int rc = s3i_buf_grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->ptr + b->size, (size_t)n + 1, fmt, ap);
	b->size += (size_t)n;
	return S3I_OK;
}

int s3i_buf_printf(s3i_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = s3i_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void s3i_buf_clear(s3i_buf *b)
{
	b->size = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void s3i_buf_truncate(s3i_buf *b, size_t len)
{
	if (len < b->size) {
		b->size = len;
		b->ptr[len] = '\0';
	}
}

char *s3i_buf_detach(s3i_buf *b)
{
	if (!b->ptr && s3i_buf_grow(b, 0))
		return NULL;
	b->ptr[b->size] = '\0';
	char *p = b->ptr;
	b->ptr = NULL;
	b->size = b->asize = 0;
	return p;
}

const char *s3i_buf_cstr(const s3i_buf *b) { return b->ptr ? b->ptr : ""; }
