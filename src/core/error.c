#include "core/errinfo.h"
#include "core/str.h"

#include <stdio.h>
#include <string.h>

static _Thread_local s3i_errinfo tls_error;
static _Thread_local int tls_ready;

/* Every field of the error detail is one line of text, cut on a character boundary. */
static void copy_str(char *dst, size_t cap, const char *src)
{
	s3i_str_one_line(dst, cap, src);
}

static void link_fields(s3i_errinfo *e)
{
	e->pub.struct_size = sizeof(s3i_error);
	e->pub.message = e->message;
	e->pub.aws_code = e->aws_code;
	e->pub.request_id = e->request_id;
	e->pub.resource = e->resource;
}

void s3i_errinfo_init(s3i_errinfo *e)
{
	memset(e, 0, sizeof(*e));
	link_fields(e);
}

void s3i_errinfo_clear(s3i_errinfo *e) { s3i_errinfo_init(e); }

s3i_errinfo *s3i_errinfo_thread(void)
{
	if (!tls_ready) {
		s3i_errinfo_init(&tls_error);
		tls_ready = 1;
	}
	return &tls_error;
}

void s3i_errinfo_copy(s3i_errinfo *dst, const s3i_errinfo *src)
{
	if (dst == src)
		return;
	memcpy(dst, src, sizeof(*dst));
	link_fields(dst);
}

static void mirror(const s3i_errinfo *e)
{
	s3i_errinfo *t = s3i_errinfo_thread();
	if (e != t)
		s3i_errinfo_copy(t, e);
}

int s3i_verr(s3i_errinfo *e, int code, const char *resource, const char *fmt, va_list ap)
{
	if (!e)
		e = s3i_errinfo_thread();
	/* the arguments may point into e itself ("again: %s", e->message): copy them first */
	/* twice the room, so a long text is cut by copy_str, on a character boundary */
	char msg[2 * sizeof(e->message)], res[sizeof(e->resource)];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	copy_str(res, sizeof(res), resource);
	s3i_errinfo_init(e);
	e->pub.code = code;
	copy_str(e->message, sizeof(e->message), msg);
	copy_str(e->resource, sizeof(e->resource), res);
	mirror(e);
	return code;
}

int s3i_err(s3i_errinfo *e, int code, const char *resource, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	s3i_verr(e, code, resource, fmt, ap);
	va_end(ap);
	return code;
}

int s3i_err_aws(s3i_errinfo *e, int code, int http_status, const char *aws_code,
	const char *request_id, const char *resource, const char *message)
{
	if (!e)
		e = s3i_errinfo_thread();
	s3i_errinfo tmp;   /* the strings may point into e itself */
	s3i_errinfo_init(&tmp);
	tmp.pub.code = code;
	tmp.pub.http_status = http_status;
	copy_str(tmp.message, sizeof(tmp.message), message);
	copy_str(tmp.aws_code, sizeof(tmp.aws_code), aws_code);
	copy_str(tmp.request_id, sizeof(tmp.request_id), request_id);
	copy_str(tmp.resource, sizeof(tmp.resource), resource);
	s3i_errinfo_copy(e, &tmp);
	mirror(e);
	return code;
}

void s3i_err_prefix(s3i_errinfo *e, const char *fmt, ...)
{
	if (!e)
		e = s3i_errinfo_thread();
	char pre[512], old[sizeof(e->message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	copy_str(old, sizeof(old), e->message);
	char joined[sizeof(pre) + sizeof(old)];
	snprintf(joined, sizeof(joined), "%s%s", pre, old);
	copy_str(e->message, sizeof(e->message), joined);
	mirror(e);
}

int s3i_err_reword(s3i_errinfo *e, int code, const char *resource, const char *fmt, ...)
{
	if (!e)
		e = s3i_errinfo_thread();
	char aws_code[sizeof(e->aws_code)], req[sizeof(e->request_id)], head[700];
	char aws_msg[300] = "";
	int http = e->pub.http_status;
	copy_str(aws_code, sizeof(aws_code), e->aws_code);
	copy_str(req, sizeof(req), e->request_id);
	/* the AWS message follows "<code>: " in the client's text, up to " (HTTP" */
	const char *m = aws_code[0] ? strstr(e->message, aws_code) : NULL;
	if (m && !strncmp(m + strlen(aws_code), ": ", 2)) {
		m += strlen(aws_code) + 2;
		const char *end = strstr(m, " (HTTP ");
		int n = end ? (int)(end - m) : (int)strlen(m);
		snprintf(aws_msg, sizeof(aws_msg), "%.*s", n, m);
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	char msg[2 * sizeof(e->message)];
	snprintf(msg, sizeof(msg), "%.560s (%.100s%s%.200s%sHTTP %d%s%.80s)", head, aws_code,
		aws_msg[0] ? ": " : "", aws_msg, aws_code[0] ? ", " : "", http,
		req[0] ? ", request id " : "", req);
	return s3i_err_aws(e, code, http, aws_code, req, resource, msg);
}

const s3i_error *s3i_error_last(void) { return &s3i_errinfo_thread()->pub; }
void s3i_error_clear(void) { s3i_errinfo_init(s3i_errinfo_thread()); }

const char *s3i_strerror(int status)
{
	switch (status) {
	case S3I_OK: return "success";
	case S3I_ERROR: return "error";
	case S3I_EINVALID: return "invalid argument or input";
	case S3I_ENOMEM: return "out of memory";
	case S3I_ENOTFOUND: return "not found";
	case S3I_EEXISTS: return "already exists";
	case S3I_ECONFLICT: return "condition failed";
	case S3I_EIO: return "I/O error";
	case S3I_EPARSE: return "parse error";
	case S3I_ETIMEOUT: return "timed out";
	case S3I_EAUTH: return "authentication or authorization failed";
	case S3I_ETHROTTLED: return "throttled by the service";
	case S3I_EAWS: return "AWS service error";
	case S3I_ENETWORK: return "network error";
	case S3I_ESERVICE: return "service unavailable or internal error";
	case S3I_ECHECKSUM: return "checksum or size mismatch";
	case S3I_EUNKNOWN_OPTION: return "unknown option";
	case S3I_EUSER: return "stopped by callback";
	default: return "unknown error";
	}
}

int s3i_status_is_retryable(int status)
{
	return status == S3I_ETHROTTLED || status == S3I_ENETWORK || status == S3I_ESERVICE ||
		status == S3I_ETIMEOUT;
}
