/*
 * The Lambda Runtime API loop (see runtime.h). HTTP goes over libcurl directly: the Runtime API
 * is plain HTTP on a local address, with no signing, so the library's AWS client is not needed.
 */
#include "runtime.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S3I_LAMBDA_API_PREFIX "/2018-06-01/runtime"

static int s3i_lambda_context_count;

int s3i_lambda_contexts_created(void)
{
	return s3i_lambda_context_count;
}

static int64_t now_epoch_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t s3i_lambda_remaining_ms(const s3i_lambda_invocation *inv)
{
	return inv->deadline_ms - now_epoch_ms();
}

static char *vformat(const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (s)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

int s3i_lambda_fail(s3i_lambda_result *out, const char *type, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(out->error_message);
	out->error_message = vformat(fmt, ap);
	va_end(ap);
	free(out->error_type);
	out->error_type = strdup(type);
	return 1;
}

/* A growing byte buffer for response bodies (plain malloc: this is the runtime, not the library). */
typedef struct body_buf {
	char *data;
	size_t len, cap;
	int oom;
} body_buf;

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *user)
{
	body_buf *b = user;
	size_t n = size * nmemb;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p) {
			b->oom = 1;
			return 0;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* The headers of GET invocation/next the runtime needs. */
typedef struct next_headers {
	char request_id[256];
	char function_arn[1024];
	char trace_id[1024];
	char deadline[32];
} next_headers;

static void copy_header_value(char *dst, size_t cap, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t header_write(char *line, size_t size, size_t nitems, void *user)
{
	next_headers *h = user;
	size_t n = size * nitems;
	static const struct {
		const char *name;
		size_t offset, cap;
	} wanted[] = {
		{ "Lambda-Runtime-Aws-Request-Id", offsetof(next_headers, request_id), sizeof h->request_id },
		{ "Lambda-Runtime-Invoked-Function-Arn", offsetof(next_headers, function_arn), sizeof h->function_arn },
		{ "Lambda-Runtime-Trace-Id", offsetof(next_headers, trace_id), sizeof h->trace_id },
		{ "Lambda-Runtime-Deadline-Ms", offsetof(next_headers, deadline), sizeof h->deadline },
	};
	for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
		size_t k = strlen(wanted[i].name);
		if (n > k && line[k] == ':' && strncasecmp(line, wanted[i].name, k) == 0)
			copy_header_value((char *)h + wanted[i].offset, wanted[i].cap, line + k + 1, n - k - 1);
	}
	return n;
}

typedef struct runtime {
	CURL *curl;
	char base[512];   /* "http://host:port/2018-06-01/runtime" */
} runtime;

/* One request to the Runtime API. Returns the HTTP status, or -1 when the API is unreachable
 * (message on stderr, naming the URL). */
static long api_call(runtime *rt, const char *method, const char *path, const char *body,
	const char *error_type, body_buf *out, next_headers *hdrs)
{
	char url[1024];
	snprintf(url, sizeof url, "%s%s", rt->base, path);
	CURL *c = rt->curl;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	/* invocation/next is a long poll: no total timeout, only one for connecting. */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	struct curl_slist *h = NULL;
	char type_header[512];
	if (error_type) {
		snprintf(type_header, sizeof type_header, "Lambda-Runtime-Function-Error-Type: %s", error_type);
		h = curl_slist_append(h, type_header);
	}
	if (strcmp(method, "POST") == 0) {
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
	}
	if (h)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	body_buf sink = { 0 };
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out ? out : &sink);
	if (hdrs) {
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_write);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, hdrs);
	}
	CURLcode rc = curl_easy_perform(c);
	long status = -1;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		fprintf(stderr, "s3i-lambda: %s %s failed: %s\n", method, url, curl_easy_strerror(rc));
	curl_slist_free_all(h);
	free(sink.data);
	return status;
}

/* Append s as a JSON string (quoted, escaped) to a malloc'd string. */
static char *json_string(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(n * 6 + 3), *p = o;
	if (!o)
		return NULL;
	*p++ = '"';
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if (*q == '"' || *q == '\\') {
			*p++ = '\\';
			*p++ = (char)*q;
		} else if (*q < 0x20) {
			p += sprintf(p, "\\u%04x", *q);
		} else {
			*p++ = (char)*q;
		}
	}
	*p++ = '"';
	*p = '\0';
	return o;
}

/* The documented error body: {"errorMessage": ..., "errorType": ..., "stackTrace": []}. */
static char *error_body(const char *type, const char *message)
{
	char *t = json_string(type), *m = json_string(message);
	char *out = NULL;
	if (t && m) {
		size_t n = strlen(t) + strlen(m) + 64;
		out = malloc(n);
		if (out)
			snprintf(out, n, "{\"errorMessage\":%s,\"errorType\":%s,\"stackTrace\":[]}", m, t);
	}
	free(t);
	free(m);
	return out;
}

static int post_init_error(runtime *rt, const char *type, const char *message)
{
	fprintf(stderr, "s3i-lambda: init error %s: %s\n", type, message);
	char *body = error_body(type, message);
	long st = api_call(rt, "POST", "/init/error", body ? body : "{}", type, NULL, NULL);
	free(body);
	return st == 202 ? 1 : 2;
}

static const s3i_lambda_handler *find_handler(const s3i_lambda_handler *handlers, const char *name)
{
	for (const s3i_lambda_handler *h = handlers; h->name; h++)
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}

/* Run one invocation; returns 0 to continue, nonzero when the Runtime API is gone. */
static int invoke_once(runtime *rt, s3i_ctx *ctx, const s3i_lambda_handler *handler)
{
	next_headers hdrs;
	memset(&hdrs, 0, sizeof hdrs);
	body_buf event = { 0 };
	long st = api_call(rt, "GET", "/invocation/next", NULL, NULL, &event, &hdrs);
	if (st != 200 || event.oom || !hdrs.request_id[0]) {
		free(event.data);
		if (st == 200)
			fprintf(stderr, "s3i-lambda: invocation/next answered without %s\n",
				event.oom ? "memory for the event" : "Lambda-Runtime-Aws-Request-Id");
		else if (st > 0)
			fprintf(stderr, "s3i-lambda: invocation/next answered HTTP %ld\n", st);
		return 1;
	}
	if (hdrs.trace_id[0])
		setenv("_X_AMZN_TRACE_ID", hdrs.trace_id, 1);
	else
		unsetenv("_X_AMZN_TRACE_ID");

	s3i_lambda_invocation inv = {
		.request_id = hdrs.request_id,
		.function_arn = hdrs.function_arn,
		.trace_id = hdrs.trace_id,
		/* Without a deadline header, assume Lambda's maximum of 15 minutes. */
		.deadline_ms = hdrs.deadline[0] ? strtoll(hdrs.deadline, NULL, 10) : now_epoch_ms() + 900000,
		.event = event.data ? event.data : "",
		.event_len = event.len,
	};
	s3i_lambda_result res = { 0 };
	int failed = handler->fn(ctx, &inv, &res);
	char path[512];
	if (!failed) {
		snprintf(path, sizeof path, "/invocation/%s/response", hdrs.request_id);
		st = api_call(rt, "POST", path, res.response ? res.response : "null", NULL, NULL, NULL);
	} else {
		const char *type = res.error_type ? res.error_type : "Runtime.HandlerFailed";
		const char *msg = res.error_message ? res.error_message : "handler failed";
		fprintf(stderr, "s3i-lambda: request %s: %s: %s\n", hdrs.request_id, type, msg);
		char *body = error_body(type, msg);
		snprintf(path, sizeof path, "/invocation/%s/error", hdrs.request_id);
		st = api_call(rt, "POST", path, body ? body : "{}", type, NULL, NULL);
		free(body);
	}
	if (st != 202)
		fprintf(stderr, "s3i-lambda: request %s: posting the %s answered HTTP %ld\n",
			hdrs.request_id, failed ? "error" : "response", st);
	free(res.response);
	free(res.error_type);
	free(res.error_message);
	free(event.data);
	/* 413 (payload too large) concerns this invocation only; the loop goes on. */
	return st < 0;
}

int s3i_lambda_run(const s3i_lambda_handler *handlers)
{
	const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
	if (!api || !*api) {
		fprintf(stderr, "s3i-lambda: AWS_LAMBDA_RUNTIME_API is not set (not running in Lambda?)\n");
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "s3i-lambda: curl_global_init failed\n");
		return 2;
	}
	runtime rt = { .curl = curl_easy_init() };
	if (!rt.curl) {
		fprintf(stderr, "s3i-lambda: curl_easy_init failed\n");
		return 2;
	}
	snprintf(rt.base, sizeof rt.base, "http://%s" S3I_LAMBDA_API_PREFIX, api);

	int rc = 0;
	s3i_ctx *ctx = NULL;
	const char *name = getenv("_HANDLER");
	const s3i_lambda_handler *handler = name ? find_handler(handlers, name) : NULL;
	if (!handler) {
		char msg[512];
		snprintf(msg, sizeof msg, "unknown handler \"%s\" (_HANDLER); this bootstrap has:",
			name ? name : "(unset)");
		for (const s3i_lambda_handler *h = handlers; h->name; h++) {
			size_t l = strlen(msg);
			snprintf(msg + l, sizeof msg - l, " %s", h->name);
		}
		rc = post_init_error(&rt, "Runtime.UnknownHandler", msg);
		goto out;
	}
	/* Once per execution environment: credentials, connection pool and caches survive across
	 * warm invocations. */
	int st = s3i_ctx_new(&ctx, NULL);
	if (st != S3I_OK) {
		const s3i_error *e = s3i_error_last();
		char msg[1024];
		snprintf(msg, sizeof msg, "creating the library context failed: %s: %s",
			s3i_strerror(st), e && e->message[0] ? e->message : "no detail");
		rc = post_init_error(&rt, "Runtime.ContextInitFailed", msg);
		goto out;
	}
	s3i_lambda_context_count++;
	if (getenv("S3I_LAMBDA_DEBUG"))
		fprintf(stderr, "s3i-lambda: context created (%d)\n", s3i_lambda_context_count);

	while (invoke_once(&rt, ctx, handler) == 0)
		;
	rc = 1;
out:
	s3i_lambda_handlers_shutdown();
	s3i_ctx_release(ctx);
	curl_easy_cleanup(rt.curl);
	curl_global_cleanup();
	return rc;
}
