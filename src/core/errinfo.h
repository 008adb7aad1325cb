/*
 * Internal error detail. Fixed-size storage so recording an error never allocates
 * (it must work when memory has run out). Every setter also mirrors into the calling
 * thread's s3i_error_last().
 */
#ifndef S3I_CORE_ERRINFO_H
#define S3I_CORE_ERRINFO_H

#include <stdarg.h>
#include "s3insights/errors.h"

typedef struct s3i_errinfo {
	s3i_error pub;
	char message[1024];
	char aws_code[128];
	char request_id[128];
	char resource[512];
} s3i_errinfo;

void s3i_errinfo_init(s3i_errinfo *e);
void s3i_errinfo_clear(s3i_errinfo *e);
void s3i_errinfo_copy(s3i_errinfo *dst, const s3i_errinfo *src);

/* Record `code` with a printf-style message naming `resource` (may be NULL). Returns code,
 * so `return s3i_err(e, S3I_EINVALID, "bucket", "bucket name %s is invalid", name);` works.
 * `e` may be NULL: then only the thread-local error is set. */
int s3i_err(s3i_errinfo *e, int code, const char *resource, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;
int s3i_verr(s3i_errinfo *e, int code, const char *resource, const char *fmt, va_list ap);

/* Record a service error. Any string may be NULL. */
int s3i_err_aws(s3i_errinfo *e, int code, int http_status, const char *aws_code,
	const char *request_id, const char *resource, const char *message);

/* Prefix the existing message with context ("configure inventory: "). Keeps the code. */
void s3i_err_prefix(s3i_errinfo *e, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* Rewrite the message of a failed AWS call in the service's words, keeping its AWS code,
 * HTTP status and request id: "<fmt...> (<aws code>: <aws message>, HTTP <n>, request id
 * <id>)". The AWS message is taken from the client's text ("<code>: <message> (HTTP ...").
 * Returns code. `e` may be NULL (the thread's error). */
int s3i_err_reword(s3i_errinfo *e, int code, const char *resource, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;

/* The calling thread's error storage. */
s3i_errinfo *s3i_errinfo_thread(void);

#endif
