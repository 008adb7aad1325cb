/* Internal growable buffer, the public s3i_buf plus helpers. Always NUL-terminated once used. */
#ifndef S3I_CORE_BUF_H
#define S3I_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include "s3insights/alloc.h"

void s3i_buf_init(s3i_buf *b, const s3i_allocator *a);
int s3i_buf_grow(s3i_buf *b, size_t extra);          /* room for `extra` more bytes + NUL */
int s3i_buf_put(s3i_buf *b, const void *data, size_t len);
int s3i_buf_puts(s3i_buf *b, const char *s);
int s3i_buf_putc(s3i_buf *b, char c);
int s3i_buf_printf(s3i_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
int s3i_buf_vprintf(s3i_buf *b, const char *fmt, va_list ap);
void s3i_buf_clear(s3i_buf *b);                     /* size = 0, keeps memory */
void s3i_buf_truncate(s3i_buf *b, size_t len);
char *s3i_buf_detach(s3i_buf *b);                   /* caller frees with b->alloc; never NULL on success */
const char *s3i_buf_cstr(const s3i_buf *b);         /* "" when empty */

#endif
