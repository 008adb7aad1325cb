#include "aws/protocol.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/json.h"
#include "core/str.h"
#include "core/xml.h"
#include "s3insights/errors.h"

/* ---------------------------------------------------------------- query parameters */

void s3i_params_init(s3i_params *p, const s3i_allocator *a)
{
	memset(p, 0, sizeof(*p));
	p->alloc = a ? a : s3i_allocator_default();
}

void s3i_params_free(s3i_params *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->count; i++) {
		s3i_free(p->alloc, p->keys[i]);
		s3i_free(p->alloc, p->values[i]);
	}
	s3i_free(p->alloc, p->keys);
	s3i_free(p->alloc, p->values);
	const s3i_allocator *a = p->alloc;
	memset(p, 0, sizeof(*p));
	p->alloc = a;
}

static int params_reserve(s3i_params *p)
{
	if (p->count < p->cap)
		return S3I_OK;
	size_t ncap = p->cap ? p->cap * 2 : 8;
	if (ncap > (size_t)-1 / sizeof(char *))
		return S3I_ENOMEM;
	/* grow both arrays; a failure after the first succeeded leaves a larger but valid keys */
	char **k = s3i_realloc(p->alloc, p->keys, ncap * sizeof(char *));
	if (!k)
		return S3I_ENOMEM;
	p->keys = k;
	char **v = s3i_realloc(p->alloc, p->values, ncap * sizeof(char *));
	if (!v)
		return S3I_ENOMEM;
	p->values = v;
	p->cap = ncap;
	return S3I_OK;
}

int s3i_params_add(s3i_params *p, const char *key, const char *value)
{
	if (!p || !key)
		return S3I_EINVALID;
	if (!p->alloc)
		p->alloc = s3i_allocator_default();
	if (params_reserve(p))
		return S3I_ENOMEM;
	char *k = s3i_strdup(p->alloc, key);
	char *v = value ? s3i_strdup(p->alloc, value) : NULL;
	if (!k || (value && !v)) {
		s3i_free(p->alloc, k);
		s3i_free(p->alloc, v);
		return S3I_ENOMEM;
	}
	p->keys[p->count] = k;
	p->values[p->count] = v;
	p->count++;
	return S3I_OK;
}

int s3i_params_addf(s3i_params *p, const char *key, const char *fmt, ...)
{
	if (!p || !key || !fmt)
		return S3I_EINVALID;
	s3i_buf b;
	s3i_buf_init(&b, p->alloc);
	va_list ap;
	va_start(ap, fmt);
	int rc = s3i_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (!rc)
		rc = s3i_params_add(p, key, s3i_buf_cstr(&b));
	s3i_buf_dispose(&b);
	return rc;
}

/* One name or value as application/x-www-form-urlencoded: RFC 3986 percent-encoding with a
 * space written as '+', the form botocore sends (urllib's urlencode). AWS reads either, but
 * a server that re-encodes the parsed form to check the signature (moto) only matches this. */
static int form_encode(s3i_buf *out, const char *s)
{
	int rc = S3I_OK;
	while (*s && !rc) {
		size_t n = strcspn(s, " ");
		if (n)
			rc = s3i_uri_encode(out, s, n, 0);
		s += n;
		for (; *s == ' ' && !rc; s++)
			rc = s3i_buf_putc(out, '+');
	}
	return rc;
}

int s3i_params_encode(const s3i_params *p, s3i_buf *out)
{
	size_t mark = out->size;
	int rc = S3I_OK;
	for (size_t i = 0; p && i < p->count && !rc; i++) {
		const char *v = p->values[i] ? p->values[i] : "";
		if (i)
			rc = s3i_buf_putc(out, '&');
		if (!rc)
			rc = form_encode(out, p->keys[i]);
		if (!rc)
			rc = s3i_buf_putc(out, '=');
		if (!rc)
			rc = form_encode(out, v);
	}
	if (!rc && !out->ptr)
		rc = s3i_buf_put(out, "", 0);   /* an empty encoding is still a string */
	if (rc)
		s3i_buf_truncate(out, mark);
	return rc;
}

/* ---------------------------------------------------------------- error bodies */

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/*
 * Copy text into a fixed field as one line: control characters and runs of whitespace become
 * one space, ends are trimmed, and a cut never splits a UTF-8 sequence.
 */
static void put_field(char *dst, size_t cap, const char *src, size_t n)
{
	size_t o = 0;
	int space = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = o > 0;
			continue;
		}
		if (space) {
			if (o + 2 >= cap)
				break;
			dst[o++] = ' ';
			space = 0;
		}
		dst[o++] = (char)c;
	}
	/* a multi-byte sequence cut short at the end: drop its start */
	size_t k = o;
	while (k > 0 && ((unsigned char)dst[k - 1] & 0xC0) == 0x80)
		k--;
	if (k > 0 && (unsigned char)dst[k - 1] >= 0xC0) {
		unsigned char lead = (unsigned char)dst[k - 1];
		size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
		if (o - (k - 1) < want)
			o = k - 1;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

static void put_field_if_empty(char *dst, size_t cap, const char *src, size_t n)
{
	if (!dst[0] && src)
		put_field(dst, cap, src, n);
}

/* "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException:http://..." -> the code. */
static void put_code(char *dst, size_t cap, const char *src, size_t n)
{
	const char *hash = NULL;
	for (size_t i = 0; i < n; i++)
		if (src[i] == '#')
			hash = src + i;
	if (hash) {
		n -= (size_t)(hash + 1 - src);
		src = hash + 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (src[i] == ':') {
			n = i;
			break;
		}
	}
	put_field(dst, cap, src, n);
}

/* Scratch while reading an XML error document. */
typedef struct xml_error_state {
	s3i_aws_error_body *out;
	char bucket[256];
	char key[256];
	char title[256];
	int errors_seen;   /* </Error> elements closed */
} xml_error_state;

/* Name of the element enclosing the one at `path` (whose own name is `name`). */
static int parent_is(const char *path, const char *name, const char *want)
{
	size_t plen = (size_t)(name - path);
	if (plen < 1)
		return 0;
	plen--;   /* the '/' before name */
	size_t wl = strlen(want);
	return plen >= wl && !memcmp(path + plen - wl, want, wl) &&
		(plen == wl || path[plen - wl - 1] == '/');
}

static int xml_error_end(void *user, const char *path, const char *name, int depth,
	const char *text, size_t len)
{
	xml_error_state *st = user;
	s3i_aws_error_body *out = st->out;
	if (!strcmp(name, "Error")) {
		st->errors_seen++;
		return S3I_OK;
	}
	if ((!strcmp(name, "RequestId") || !strcmp(name, "RequestID")) && depth <= 3) {
		put_field_if_empty(out->request_id, sizeof(out->request_id), text, len);
		return S3I_OK;
	}
	if (!strcasecmp(name, "title")) {
		put_field_if_empty(st->title, sizeof(st->title), text, len);
		return S3I_OK;
	}
	/* only the first <Error> counts */
	if (st->errors_seen > 0 || !parent_is(path, name, "Error"))
		return S3I_OK;
	if (!strcmp(name, "Code")) {
		if (!out->code[0])
			put_code(out->code, sizeof(out->code), text, len);
	}
	else if (!strcmp(name, "Message"))
		put_field_if_empty(out->message, sizeof(out->message), text, len);
	else if (!strcmp(name, "Resource"))
		put_field_if_empty(out->resource, sizeof(out->resource), text, len);
	else if (!strcmp(name, "BucketName"))
		put_field_if_empty(st->bucket, sizeof(st->bucket), text, len);
	else if (!strcmp(name, "Key"))
		put_field_if_empty(st->key, sizeof(st->key), text, len);
	return S3I_OK;
}

static void parse_xml_error(s3i_aws_error_body *out, const char *body, size_t len,
	char *title, size_t title_cap)
{
	xml_error_state st;
	memset(&st, 0, sizeof(st));
	st.out = out;
	s3i_errinfo scratch;
	s3i_errinfo_init(&scratch);
	/* a failed parse keeps whatever was read before the failure */
	(void)s3i_xml_parse(NULL, body, len, NULL, xml_error_end, &st, &scratch);
	if (!out->resource[0] && (st.bucket[0] || st.key[0])) {
		char both[sizeof(st.bucket) + sizeof(st.key) + 1];
		snprintf(both, sizeof(both), "%s%s%s", st.bucket, st.bucket[0] && st.key[0] ? "/" : "",
			st.key);
		put_field(out->resource, sizeof(out->resource), both, strlen(both));
	}
	snprintf(title, title_cap, "%s", st.title);
}

static void put_json_str(char *dst, size_t cap, s3i_json v, int is_code)
{
	const char *s = s3i_json_str(v);
	if (dst[0] || !s || !*s)
		return;
	if (is_code)
		put_code(dst, cap, s, strlen(s));
	else
		put_field(dst, cap, s, strlen(s));
}

static int parse_json_error(s3i_aws_error_body *out, const char *body, size_t len)
{
	s3i_json doc = NULL;
	s3i_errinfo scratch;
	s3i_errinfo_init(&scratch);
	if (s3i_json_parse(&doc, body, len, "error response", &scratch))
		return -1;
	s3i_json err = s3i_json_get(doc, "Error");
	static const char *const code_keys[] = { "__type", "code", "Code" };
	static const char *const msg_keys[] = { "message", "Message", "errorMessage" };
	for (size_t i = 0; i < 3; i++) {
		put_json_str(out->code, sizeof(out->code), s3i_json_get(doc, code_keys[i]), 1);
		put_json_str(out->code, sizeof(out->code), s3i_json_get(err, code_keys[i]), 1);
	}
	for (size_t i = 0; i < 3; i++) {
		put_json_str(out->message, sizeof(out->message), s3i_json_get(doc, msg_keys[i]), 0);
		put_json_str(out->message, sizeof(out->message), s3i_json_get(err, msg_keys[i]), 0);
	}
	put_json_str(out->request_id, sizeof(out->request_id), s3i_json_get(doc, "RequestId"), 0);
	s3i_json_free(doc);
	return 0;
}

/* Case-insensitive search for needle (ASCII) in s[0..n). */
static const char *find_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= n; i++)
		if (!strncasecmp(s + i, needle, m))
			return s + i;
	return NULL;
}

/* The <title> of an HTML page, when there is one. */
static void html_title(const char *body, size_t len, char *dst, size_t cap)
{
	const char *t = find_ci(body, len, "<title");
	if (!t)
		return;
	const char *gt = memchr(t, '>', len - (size_t)(t - body));
	if (!gt)
		return;
	gt++;
	size_t rest = len - (size_t)(gt - body);
	const char *end = find_ci(gt, rest, "</title");
	put_field(dst, cap, gt, end ? (size_t)(end - gt) : rest);
}

static const char *code_from_status(int status)
{
	switch (status) {
	case 301: return "PermanentRedirect";
	case 307: return "TemporaryRedirect";
	case 304: return "NotModified";
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 409: return "Conflict";
	case 412: return "PreconditionFailed";
	case 413: return "RequestEntityTooLarge";
	case 416: return "InvalidRange";
	case 429: return "TooManyRequestsException";
	case 500: return "InternalError";
	case 502: return "BadGateway";
	case 503: return "ServiceUnavailable";
	case 504: return "GatewayTimeout";
	default: return NULL;
	}
}

static const char *header(const s3i_headers *h, const char *name)
{
	const char *v = h ? s3i_headers_get(h, name) : NULL;
	return v && *v ? v : NULL;
}

void s3i_aws_error_parse(s3i_aws_error_body *out, int http_status, const s3i_headers *headers,
	const char *body, size_t len)
{
	memset(out, 0, sizeof(*out));
	if (!body)
		len = 0;
	/* parsing records errors; the thread's last error is not ours to change */
	s3i_errinfo saved;
	s3i_errinfo_copy(&saved, s3i_errinfo_thread());

	const char *type = header(headers, "x-amzn-ErrorType");
	if (type)
		put_code(out->code, sizeof(out->code), type, strlen(type));

	const char *b = body;
	size_t n = len;
	if (n >= 3 && !memcmp(b, "\xEF\xBB\xBF", 3)) {
		b += 3;
		n -= 3;
	}
	while (n > 0 && is_ws((unsigned char)*b)) {
		b++;
		n--;
	}
	char title[256] = "";
	int structured = 0;
	if (n > 0 && *b == '{') {
		structured = parse_json_error(out, b, n) == 0;
	} else if (n > 0 && *b == '<') {
		parse_xml_error(out, b, n, title, sizeof(title));
		if (!title[0])
			html_title(b, n, title, sizeof(title));
		structured = out->code[0] || out->message[0];
	}
	if (!out->message[0] && title[0])
		put_field(out->message, sizeof(out->message), title, strlen(title));
	if (!out->message[0] && !structured && n > 0)
		put_field(out->message, sizeof(out->message), b, n > 256 ? 256 : n);

	const char *rid = header(headers, "x-amzn-RequestId");
	if (!rid)
		rid = header(headers, "x-amz-request-id");
	if (rid)
		put_field_if_empty(out->request_id, sizeof(out->request_id), rid, strlen(rid));
	const char *date = header(headers, "Date");
	if (date)
		put_field(out->server_date, sizeof(out->server_date), date, strlen(date));

	if (!out->code[0]) {
		const char *c = code_from_status(http_status);
		if (c)
			snprintf(out->code, sizeof(out->code), "%s", c);
		else
			snprintf(out->code, sizeof(out->code), "HTTP%d", http_status);
	}
	s3i_errinfo_copy(s3i_errinfo_thread(), &saved);
}

/* ---------------------------------------------------------------- classification */

static int in_list(const char *code, const char *const *list)
{
	if (!code || !*code)
		return 0;
	for (; *list; list++)
		if (!strcasecmp(code, *list))
			return 1;
	return 0;
}

static int ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcasecmp(s + n - m, suffix);
}

static const char *const throttle_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
	"TooManyRequestsException", "ProvisionedThroughputExceededException",
	"TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
	"LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
	"EC2ThrottledException", NULL
};

static const char *const transient_codes[] = {
	"RequestTimeout", "RequestTimeoutException", "InternalError", "InternalServerError",
	"InternalFailure", "ServiceUnavailable", NULL
};

static const char *const skew_codes[] = {
	"RequestTimeTooSkewed", "RequestExpired", "InvalidSignatureException",
	"SignatureDoesNotMatch", "AuthFailure", "RequestInTheFuture", NULL
};

static const char *const auth_codes[] = {
	"AccessDenied", "AccessDeniedException", "InvalidAccessKeyId", "InvalidClientTokenId",
	"UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException",
	"SignatureDoesNotMatch", "MissingAuthenticationToken", "MissingAuthenticationTokenException",
	"IncompleteSignature", "IncompleteSignatureException", "InvalidToken",
	"TokenRefreshRequired", "AuthFailure", "UnauthorizedOperation", "NotAuthorized",
	"AuthorizationError", "InvalidSignatureException", "RequestTimeTooSkewed", "RequestExpired",
	"RequestInTheFuture", "AllAccessDisabled", "AccountProblem", "InvalidSecurity",
	"OptInRequired", "Unauthorized", "Forbidden", NULL
};

static const char *const notfound_codes[] = {
	"NotFound", "NotFoundException", "ResourceNotFoundException", "QueueDoesNotExist",
	"AWS.SimpleQueueService.NonExistentQueue", "NoSuchEntity", NULL
};

static const char *const conflict_codes[] = {
	"ConditionalCheckFailedException", "TransactionCanceledException", "PreconditionFailed",
	"TransactionConflictException", "ConditionalRequestConflict", "BucketNotEmpty",
	"OperationAborted", "Conflict", NULL
};

static const char *const exists_codes[] = {
	"BucketAlreadyExists", "BucketAlreadyOwnedByYou", "ResourceInUseException",
	"AlreadyExistsException", "EntityAlreadyExists", "QueueAlreadyExists", "QueueNameExists",
	"TableAlreadyExistsException", NULL
};

static const char *const invalid_codes[] = {
	"ValidationException", "InvalidParameterValue", "InvalidParameterValueException",
	"InvalidParameterCombination", "InvalidParameterException", "InvalidParameter",
	"InvalidArgument", "MalformedXML", "InvalidRequest", "InvalidRequestException",
	"InvalidBucketName", "MissingParameter", "InvalidInput", "InvalidQueryParameter",
	"SerializationException", "MalformedQueryString", "InvalidAction",
	"KeyTooLongError", "EntityTooLarge", "EntityTooSmall", "InvalidPart", "InvalidPartOrder",
	"InvalidRange", "InvalidStorageClass", "InvalidDigest", "BadDigest", "InvalidObjectState",
	"InvalidBucketState", "InvalidAttributeName", "InvalidAttributeValue",
	"InvalidMessageContents", "InvalidBatchEntryId", "MissingRequiredParameter",
	"UnsupportedOperation", NULL
};

int s3i_aws_error_is_throttle(const char *code) { return in_list(code, throttle_codes); }

int s3i_aws_error_is_clock_skew(const char *code) { return in_list(code, skew_codes); }

int s3i_aws_error_is_retryable(int http_status, const char *code)
{
	if (s3i_aws_error_is_throttle(code) || in_list(code, transient_codes))
		return 1;
	return http_status == 500 || http_status == 502 || http_status == 503 ||
		http_status == 504 || http_status == 429;
}

int s3i_aws_error_status(int http_status, const char *code)
{
	if (!code)
		code = "";
	if (s3i_aws_error_is_throttle(code) || http_status == 429)
		return S3I_ETHROTTLED;
	if (!strcasecmp(code, "RequestTimeout") || !strcasecmp(code, "RequestTimeoutException"))
		return S3I_ETIMEOUT;
	if (in_list(code, transient_codes) || http_status >= 500)
		return S3I_ESERVICE;
	if (in_list(code, auth_codes))
		return S3I_EAUTH;
	if (in_list(code, notfound_codes) || !strncasecmp(code, "NoSuch", 6) ||
		(*code && (ends_with_ci(code, "NotFound") || ends_with_ci(code, "NotFoundException") ||
		ends_with_ci(code, ".NonExistentQueue"))))
		return S3I_ENOTFOUND;
	if (in_list(code, conflict_codes))
		return S3I_ECONFLICT;
	if (in_list(code, exists_codes) || ends_with_ci(code, "AlreadyExists") ||
		ends_with_ci(code, "AlreadyExistsException"))
		return S3I_EEXISTS;
	if (in_list(code, invalid_codes))
		return S3I_EINVALID;
	/* a code we do not know: the status decides */
	switch (http_status) {
	case 401:
	case 403:
		return S3I_EAUTH;
	case 404:
		return S3I_ENOTFOUND;
	case 409:
	case 412:
		return S3I_ECONFLICT;
	default:
		return S3I_EAWS;
	}
}
