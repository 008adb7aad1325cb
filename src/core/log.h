/*
 * Internal logging. Every line passes through s3i_log_redact() before it reaches the
 * user's callback, so a secret that slips into a format string still never leaves.
 */
#ifndef S3I_CORE_LOG_H
#define S3I_CORE_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include "s3insights/ctx.h"

typedef struct s3i_logger {
	s3i_log_fn fn;
	void *user;
	int level;
} s3i_logger;

/* Nonzero when a line at `level` would be emitted (skip building expensive messages). */
int s3i_log_enabled(const s3i_logger *lg, int level);

void s3i_log(const s3i_logger *lg, int level, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/* Rewrite `line` in place (it may shrink, never grow): the values of Authorization,
 * X-Amz-Security-Token, X-Amz-Signature, X-Amz-Credential, Credential=, Signature=,
 * aws_secret_access_key, aws_session_token, SecretAccessKey, SessionToken, Token and
 * AccessKeyId fields become [REDACTED]. */
void s3i_log_redact(char *line, size_t cap);

/* Whether a header's value must never be logged (Authorization, X-Amz-Security-Token,...). */
int s3i_header_is_secret(const char *name);

#endif
