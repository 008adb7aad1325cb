#include "aws/client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/endpoint.h"
#include "aws/sigv4.h"
#include "core/alloc.h"
#include "core/str.h"

#define RETRY_QUOTA_INITIAL 500
#define RETRY_COST 5
#define RETRY_TIMEOUT_COST 10
#define MAX_BACKOFF_MS 20000
#define SKEW_THRESHOLD_MS (4 * 60 * 1000)
#define SIGNER_POOL 16
#define USER_AGENT "libs3insights/" "0.1"
#define RECYCLE_KEEP_BYTES (16 * 1024)  /* a reused batch record keeps buffers up to this */

struct s3i_client {
	const s3i_allocator *alloc;
	const s3i_logger *logger;
	char *region;
	char *endpoint_url;
	char *profile;
	const s3i_profile_set *profiles;
	s3i_http *http;
	s3i_credprov *creds;
	int max_attempts;
	int64_t retry_base_ms;
	int64_t request_timeout_ms;
	const s3i_io_hooks *clock;
	atomic_llong skew_ms;
	atomic_int retry_tokens;
	pthread_mutex_t signer_lock;
	s3i_signer *signers[SIGNER_POOL];
	int nsigners;
};

static int64_t system_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t raw_now_ms(const s3i_client *c)
{
	return c->clock && c->clock->now_ms ? c->clock->now_ms(c->clock->user) : system_now_ms();
}

int64_t s3i_client_now_ms(const s3i_client *c) { return raw_now_ms(c) + atomic_load(&((s3i_client *)c)->skew_ms); }
int64_t s3i_client_clock_skew_ms(const s3i_client *c) { return atomic_load(&((s3i_client *)c)->skew_ms); }
const char *s3i_client_region(const s3i_client *c) { return c->region; }
const s3i_allocator *s3i_client_alloc(const s3i_client *c) { return c->alloc; }
const s3i_logger *s3i_client_logger(const s3i_client *c) { return c->logger; }

void s3i_client_sleep_ms(const s3i_client *c, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (c->clock && c->clock->sleep_ms) {
		c->clock->sleep_ms(c->clock->user, ms);   /* zero too: every retry is seen */
		return;
	}
	if (!ms)
		return;
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Full jitter needs a uniform random number per retry; quality matters little, contention does. */
static double jitter(void)
{
	static _Thread_local uint64_t state;
	if (!state)
		state = (uint64_t)system_now_ms() ^ (uint64_t)(uintptr_t)&state ^ 0x9E3779B97F4A7C15ull;
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (double)(state >> 11) / (double)(1ull << 53);
}

int s3i_client_new(s3i_client **out, const s3i_client_config *cfg, s3i_errinfo *err)
{
	const s3i_allocator *a = cfg->alloc ? cfg->alloc : s3i_allocator_default();
	s3i_client *c = s3i_calloc(a, 1, sizeof(*c));
	if (!c)
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating the AWS client");
	c->alloc = a;
	c->logger = cfg->logger;
	c->profiles = cfg->profiles;
	c->http = cfg->http;
	c->clock = cfg->clock;
	c->request_timeout_ms = cfg->request_timeout_ms;
	c->max_attempts = cfg->max_attempts;
	if (c->max_attempts <= 0) {
		const char *v = getenv("AWS_MAX_ATTEMPTS");
		c->max_attempts = v && atoi(v) > 0 ? atoi(v) : 3;
	}
	c->retry_base_ms = cfg->retry_base_ms;
	if (c->retry_base_ms <= 0) {
		const char *v = getenv("S3I_RETRY_BASE_MS");
		c->retry_base_ms = v && atoll(v) > 0 ? atoll(v) : 1000;
	}
	atomic_init(&c->skew_ms, 0);
	atomic_init(&c->retry_tokens, RETRY_QUOTA_INITIAL);
	pthread_mutex_init(&c->signer_lock, NULL);
	if (s3i_str_set(a, &c->region, cfg->region ? cfg->region : "us-east-1") ||
		s3i_str_set(a, &c->endpoint_url, cfg->endpoint_url) ||
		s3i_str_set(a, &c->profile, cfg->profile)) {
		s3i_client_free(c);
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating the AWS client");
	}
	c->creds = cfg->creds ? s3i_credprov_acquire(cfg->creds) : NULL;
	*out = c;
	return S3I_OK;
}

void s3i_client_free(s3i_client *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nsigners; i++)
		s3i_signer_free(c->signers[i]);
	pthread_mutex_destroy(&c->signer_lock);
	s3i_credprov_release(c->creds);
	s3i_free(c->alloc, c->region);
	s3i_free(c->alloc, c->endpoint_url);
	s3i_free(c->alloc, c->profile);
	s3i_free(c->alloc, c);
}

static int signer_take(s3i_client *c, s3i_signer **out)
{
	pthread_mutex_lock(&c->signer_lock);
	s3i_signer *s = c->nsigners ? c->signers[--c->nsigners] : NULL;
	pthread_mutex_unlock(&c->signer_lock);
	if (s) {
		*out = s;
		return S3I_OK;
	}
	return s3i_signer_new(out, c->alloc);
}

static void signer_give(s3i_client *c, s3i_signer *s)
{
	pthread_mutex_lock(&c->signer_lock);
	if (c->nsigners < SIGNER_POOL) {
		c->signers[c->nsigners++] = s;
		s = NULL;
	}
	pthread_mutex_unlock(&c->signer_lock);
	s3i_signer_free(s);
}

int s3i_client_endpoint(s3i_client *c, const s3i_service *svc, const char *region,
	s3i_endpoint *out, s3i_errinfo *err)
{
	return s3i_endpoint_resolve(out, svc->endpoint_id, region ? region : c->region,
		c->endpoint_url, c->profiles, c->profile, err);
}

/* Copy src into dst[cap], cut to fit: the per-call path copies short names, and
 * snprintf("%s") costs a format parse each time. */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* REST query strings: sub-resources without a value go out bare ("?inventory&id=x"). */
static int encode_url_query(const s3i_params *p, s3i_buf *out)
{
	int rc = S3I_OK;
	for (size_t i = 0; p && i < p->count && !rc; i++) {
		if (i)
			rc = s3i_buf_putc(out, '&');
		if (!rc)
			rc = s3i_uri_encode(out, p->keys[i], strlen(p->keys[i]), 0);
		if (!rc && p->values[i]) {
			rc = s3i_buf_putc(out, '=');
			if (!rc)
				rc = s3i_uri_encode(out, p->values[i], strlen(p->values[i]), 0);
		}
	}
	return rc;
}

/* Everything one attempt needs, built once per region. */
typedef struct prepared {
	s3i_buf url, path, host, query, body;
	s3i_headers headers;       /* unsigned base headers */
	char sign_region[64];
	char payload_hash[S3I_SHA256_HEX_LEN + 1];
	const char *body_ptr;
	size_t body_len;
} prepared;

static void prepared_init(prepared *p, const s3i_allocator *a)
{
	memset(p, 0, sizeof(*p));
	s3i_buf_init(&p->url, a);
	s3i_buf_init(&p->path, a);
	s3i_buf_init(&p->host, a);
	s3i_buf_init(&p->query, a);
	s3i_buf_init(&p->body, a);
	s3i_headers_init(&p->headers, a);
}

static void prepared_free(prepared *p)
{
	s3i_buf_dispose(&p->url);
	s3i_buf_dispose(&p->path);
	s3i_buf_dispose(&p->host);
	s3i_buf_dispose(&p->query);
	s3i_buf_dispose(&p->body);
	s3i_headers_free(&p->headers);
}

/* Empty a buffer for its next call, keeping its memory unless it grew large (a big request
 * or response body is not worth holding between calls). */
static void buf_recycle(s3i_buf *b)
{
	if (b->asize > RECYCLE_KEEP_BYTES)
		s3i_buf_dispose(b);
	else
		s3i_buf_clear(b);
}

/* Empty p for the next call's prepare(), keeping its storage. */
static void prepared_recycle(prepared *p)
{
	buf_recycle(&p->url);
	buf_recycle(&p->path);
	buf_recycle(&p->host);
	buf_recycle(&p->query);
	buf_recycle(&p->body);
	s3i_headers_clear(&p->headers);
	p->sign_region[0] = '\0';
	p->payload_hash[0] = '\0';
	p->body_ptr = NULL;
	p->body_len = 0;
}

static const char *default_content_type(s3i_protocol proto)
{
	switch (proto) {
	case S3I_PROTO_QUERY: return "application/x-www-form-urlencoded; charset=utf-8";
	case S3I_PROTO_JSON_10: return "application/x-amz-json-1.0";
	case S3I_PROTO_JSON_11: return "application/x-amz-json-1.1";
	default: return "application/octet-stream";
	}
}

static int prepare(s3i_client *c, const s3i_call *call, const char *region, prepared *p,
	s3i_errinfo *err)
{
	const s3i_service *svc = call->svc;
	s3i_endpoint ep;
	int rc = s3i_endpoint_resolve(&ep, svc->endpoint_id, region, c->endpoint_url, c->profiles,
		c->profile, err);
	if (rc)
		return rc;
	/* A global service signs in its partition's region (IAM: us-east-1, cn-north-1,
	 * us-gov-west-1), also behind a custom endpoint; svc->global_region covers services the
	 * endpoint table does not know. */
	const char *sign_region = ep.signing_region[0] ? ep.signing_region
		: svc->global_region ? svc->global_region : region;
	copy_str(p->sign_region, sizeof(p->sign_region), sign_region);

	if (svc->protocol == S3I_PROTO_REST_XML) {
		if ((rc = s3i_s3_url(&ep, call->bucket, call->key, call->force_path_style, &p->url,
			&p->path, &p->host)) || (rc = encode_url_query(call->params, &p->query)))
			goto oom;
		if (p->query.size && ((rc = s3i_buf_putc(&p->url, '?')) ||
			(rc = s3i_buf_put(&p->url, p->query.ptr, p->query.size))))
			goto oom;
		p->body_ptr = call->body;
		p->body_len = call->body_len;
	} else {
		const char *base_path = strchr(strstr(ep.base, "://") + 3, '/');
		if ((rc = s3i_buf_printf(&p->url, "%s/", ep.base)) ||
			(rc = s3i_buf_printf(&p->path, "%s/", base_path ? base_path : "")) ||
			(rc = s3i_buf_puts(&p->host, ep.host)))
			goto oom;
		if (svc->protocol == S3I_PROTO_QUERY) {
			if ((rc = s3i_buf_printf(&p->body, "Action=%s&Version=%s", call->operation,
				svc->api_version)))
				goto oom;
			if (call->params && call->params->count) {
				if ((rc = s3i_buf_putc(&p->body, '&')) ||
					(rc = s3i_params_encode(call->params, &p->body)))
					goto oom;
			}
			p->body_ptr = p->body.ptr;
			p->body_len = p->body.size;
		} else {
			char target[256];
			snprintf(target, sizeof(target), "%s.%s", svc->target_prefix, call->operation);
			if ((rc = s3i_headers_add(&p->headers, "X-Amz-Target", target)))
				goto oom;
			p->body_ptr = call->body ? call->body : "{}";
			p->body_len = call->body ? call->body_len : 2;
		}
	}
	if ((rc = s3i_headers_add(&p->headers, "Host", s3i_buf_cstr(&p->host))) ||
		(rc = s3i_headers_add(&p->headers, "User-Agent", USER_AGENT)))
		goto oom;
	int has_body = p->body_ptr != NULL || call->body_read != NULL;
	if (has_body && (rc = s3i_headers_add(&p->headers, "Content-Type",
		call->content_type ? call->content_type : default_content_type(svc->protocol))))
		goto oom;
	if (call->content_md5 && !call->body_read) {
		char md5[25];
		if ((rc = s3i_md5_base64(p->body_ptr ? p->body_ptr : "", p->body_len, md5)) ||
			(rc = s3i_headers_add(&p->headers, "Content-MD5", md5)))
			goto oom;
	}
	if (call->headers && (rc = s3i_headers_copy(&p->headers, call->headers)))
		goto oom;
	if (call->body_read) {
		if (svc->protocol != S3I_PROTO_REST_XML)
			return s3i_err(err, S3I_EINVALID, call->resource,
				"%s: streamed bodies are only supported for S3", call->operation);
		copy_str(p->payload_hash, sizeof(p->payload_hash), S3I_UNSIGNED_PAYLOAD);
	} else if (call->unsigned_payload && svc->protocol == S3I_PROTO_REST_XML) {
		copy_str(p->payload_hash, sizeof(p->payload_hash), S3I_UNSIGNED_PAYLOAD);
	} else if (svc->protocol != S3I_PROTO_REST_XML) {
		/* The signer hashes the body itself, overlapping it with the rest of its work
		 * (s3i_sigv4_request.payload); S3 needs the hash up front for its header. */
		p->payload_hash[0] = '\0';
	} else if ((rc = s3i_sha256_hex(p->body_ptr ? p->body_ptr : "", p->body_len, p->payload_hash))) {
		return s3i_err(err, rc, NULL, "%s: hashing the request body failed", call->operation);
	}
	return S3I_OK;
oom:
	return s3i_err(err, rc, call->resource, "%s: could not build the request", call->operation);
}

static int sign_attempt(s3i_client *c, const s3i_call *call, prepared *p, s3i_headers *headers,
	s3i_errinfo *err)
{
	s3i_credprov *prov = call->creds ? call->creds : c->creds;
	if (!prov)
		return s3i_err(err, S3I_EAUTH, call->resource, "%s: no credentials provider",
			call->operation);
	s3i_credentials cr;
	s3i_credentials_init(&cr, c->alloc);
	int rc = s3i_credprov_get(prov, &cr, err);
	if (rc)
		return rc;
	s3i_signer *signer = NULL;
	if ((rc = signer_take(c, &signer))) {
		s3i_credentials_free(&cr);
		return s3i_err(err, rc, NULL, "%s: could not create a signer", call->operation);
	}
	s3i_sigv4_creds sc = { cr.access_key_id, cr.secret_access_key, cr.session_token };
	s3i_sigv4_request sr = {
		.method = call->method ? call->method : (call->svc->protocol == S3I_PROTO_REST_XML ? "GET" : "POST"),
		.path = s3i_buf_cstr(&p->path),
		.query = p->query.size ? p->query.ptr : NULL,
		.headers = headers,
		.payload_hash = p->payload_hash[0] ? p->payload_hash : NULL,
		.payload = p->body_ptr,
		.payload_len = p->body_ptr ? p->body_len : 0,
		.region = p->sign_region,
		.service = call->svc->signing_name,
		.time_s = s3i_client_now_ms(c) / 1000,
		.flags = call->svc->protocol == S3I_PROTO_REST_XML
			? (S3I_SIGV4_S3_PATH | S3I_SIGV4_CONTENT_SHA256_HEADER) : 0,
	};
	rc = s3i_sigv4_sign(signer, &sr, &sc, NULL, NULL, err);
	signer_give(c, signer);
	s3i_credentials_free(&cr);
	return rc;
}

static int describe_failure(const s3i_call *call, const s3i_http_response *resp,
	const char *region, s3i_aws_error_body *eb, s3i_errinfo *err)
{
	const char *res = call->resource ? call->resource : "";
	if (resp->error) {
		return s3i_err(err, resp->error, res, "%s%s%s (%s): %s", call->operation,
			*res ? " on " : "", res, region, resp->error_text[0] ? resp->error_text
			: s3i_strerror(resp->error));
	}
	int code = s3i_aws_error_status(resp->status, eb->code);
	char msg[1024];   /* the size of the error detail's message; a long AWS message is cut */
	snprintf(msg, sizeof(msg), "%s%s%s failed: %s%s%.600s (HTTP %d%s%s)", call->operation,
		*res ? " on " : "", res, eb->code, eb->message[0] ? ": " : "", eb->message,
		resp->status, eb->request_id[0] ? ", request id " : "", eb->request_id);
	return s3i_err_aws(err, code, resp->status, eb->code, eb->request_id, res, msg);
}

static int take_retry_tokens(s3i_client *c, int cost)
{
	int have = atomic_load(&c->retry_tokens);
	while (have >= cost)
		if (atomic_compare_exchange_weak(&c->retry_tokens, &have, have - cost))
			return 1;
	return 0;
}

static void refund_tokens(s3i_client *c, int n)
{
	int have = atomic_load(&c->retry_tokens);
	while (have < RETRY_QUOTA_INITIAL)
		if (atomic_compare_exchange_weak(&c->retry_tokens, &have,
			have + n > RETRY_QUOTA_INITIAL ? RETRY_QUOTA_INITIAL : have + n))
			break;
}

int64_t s3i_client_backoff_ms(const s3i_client *c, int attempt)
{
	int64_t cap = c->retry_base_ms;
	for (int i = 1; i < attempt && cap < MAX_BACKOFF_MS; i++)
		cap *= 2;
	if (cap > MAX_BACKOFF_MS)
		cap = MAX_BACKOFF_MS;
	return (int64_t)(jitter() * (double)cap);
}

static int64_t backoff_ms(const s3i_client *c, int attempt, const s3i_http_response *resp)
{
	int64_t delay = s3i_client_backoff_ms(c, attempt);
	const char *ra = s3i_headers_get(&resp->headers, "Retry-After");
	if (ra) {
		int64_t secs = atoll(ra);
		int64_t when_ms;
		if (secs <= 0 && s3i_time_parse_http(ra, &when_ms) == S3I_OK)
			secs = (when_ms - raw_now_ms(c)) / 1000;
		if (secs > 0 && secs * 1000 > delay)
			delay = secs * 1000 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : secs * 1000;
	}
	return delay;
}

/* Whether a failed attempt may be repeated: the body must be replayable. */
static int can_replay(const s3i_call *call, const s3i_http_response *resp)
{
	if (call->body_read && !call->body_rewind)
		return 0;
	if (call->sink && resp->status >= 200 && resp->status < 300 && resp->bytes_received > 0 &&
		!call->sink_reset)
		return 0;
	return 1;
}

static int restart_streams(const s3i_call *call)
{
	int rc = S3I_OK;
	if (call->body_read && call->body_rewind)
		rc = call->body_rewind(call->body_user);
	if (!rc && call->sink && call->sink_reset)
		rc = call->sink_reset(call->sink_user);
	return rc;
}

/* One operation in progress: the prepared request, the signed headers of the current attempt
 * and what has been corrected so far. Shared by the synchronous path and the batch. */
typedef struct op {
	s3i_client *c;
	const s3i_call *call;
	s3i_http_response *resp;
	s3i_errinfo *err;
	prepared p;
	s3i_headers headers;
	s3i_http_request hr;
	char region[64];
	const char *method;
	int attempt;
	int skew_fixed, creds_refreshed, region_redirected, retried;
	int64_t started_ms;
} op;

enum { OP_DONE = 0, OP_RETRY = 1 };

/* The storage of an op, once; op_start then fills it for a call (again and again in a batch). */
static void op_storage_init(op *o, s3i_client *c)
{
	memset(o, 0, sizeof(*o));
	prepared_init(&o->p, c->alloc);
	s3i_headers_init(&o->headers, c->alloc);
}

/* Set o up for `call` (its storage empty) and build the request. */
static int op_start(op *o, s3i_client *c, const s3i_call *call, s3i_http_response *resp,
	s3i_errinfo *err)
{
	o->c = c;
	o->call = call;
	o->resp = resp;
	o->err = err;
	memset(&o->hr, 0, sizeof(o->hr));
	o->attempt = 0;
	o->skew_fixed = o->creds_refreshed = o->region_redirected = o->retried = 0;
	o->started_ms = 0;
	copy_str(o->region, sizeof(o->region), call->region ? call->region : c->region);
	o->method = call->method ? call->method
		: (call->svc->protocol == S3I_PROTO_REST_XML ? "GET" : "POST");
	return prepare(c, call, o->region, &o->p, err);
}

static int op_init(op *o, s3i_client *c, const s3i_call *call, s3i_http_response *resp,
	s3i_errinfo *err)
{
	op_storage_init(o, c);
	return op_start(o, c, call, resp, err);
}

/* Empty o for another call, keeping its storage. */
static void op_recycle(op *o)
{
	prepared_recycle(&o->p);
	s3i_headers_clear(&o->headers);
	o->call = NULL;
}

static void op_free(op *o)
{
	s3i_headers_free(&o->headers);
	prepared_free(&o->p);
}

/* Sign the next attempt and fill o->hr. */
static int op_begin_attempt(op *o)
{
	const s3i_call *call = o->call;
	o->attempt++;
	s3i_headers_clear(&o->headers);
	s3i_http_response_reset(o->resp);
	if (s3i_headers_copy(&o->headers, &o->p.headers))
		return s3i_err(o->err, S3I_ENOMEM, NULL, "%s: out of memory", call->operation);
	int rc = sign_attempt(o->c, call, &o->p, &o->headers, o->err);
	if (rc)
		return rc;
	s3i_http_request hr = {
		.method = o->method, .url = s3i_buf_cstr(&o->p.url), .headers = &o->headers,
		.body = call->body_read ? NULL : o->p.body_ptr,
		.body_len = call->body_read ? 0 : o->p.body_len,
		.body_read = call->body_read, .body_rewind = call->body_rewind,
		.body_user = call->body_user, .body_length = call->body_length,
		.sink = call->sink, .sink_user = call->sink_user,
		.timeout_ms = call->timeout_ms ? call->timeout_ms : o->c->request_timeout_ms,
	};
	o->hr = hr;
	o->started_ms = raw_now_ms(o->c);
	return S3I_OK;
}

/* Decide what an attempt's outcome means. Returns OP_DONE with *rc set, or OP_RETRY with
 * *delay_ms set (the streams have been restarted): the backoff of a retry (0 or more), or -1
 * for a correction that is sent again at once (clock skew, refreshed credentials, region). */
static int op_evaluate(op *o, int *rc, int64_t *delay_ms)
{
	s3i_client *c = o->c;
	const s3i_call *call = o->call;
	s3i_http_response *resp = o->resp;
	s3i_errinfo *err = o->err;
	*delay_ms = -1;
	if (!resp->error && resp->status >= 200 && resp->status < 300) {
		s3i_log(c->logger, S3I_LOG_DEBUG, "%s %s %s %s -> %d in %lld ms (attempt %d)",
			call->svc->endpoint_id, call->operation, o->region,
			call->resource ? call->resource : "", resp->status,
			(long long)(raw_now_ms(c) - o->started_ms), o->attempt);
		refund_tokens(c, o->retried ? RETRY_COST : 1);
		*rc = S3I_OK;
		return OP_DONE;
	}
	if (resp->error == S3I_EUSER || resp->error == S3I_EIO) {
		*rc = s3i_err(err, resp->error, call->resource, "%s: %s", call->operation,
			resp->error_text[0] ? resp->error_text : "stopped by a callback");
		return OP_DONE;
	}
	s3i_aws_error_body eb;
	memset(&eb, 0, sizeof(eb));
	if (!resp->error)
		s3i_aws_error_parse(&eb, resp->status, &resp->headers, resp->body.ptr, resp->body.size);
	int fail = describe_failure(call, resp, o->region, &eb, err);
	*rc = fail;

	/* Corrections that do not count against the retry budget. */
	if (!resp->error && !o->skew_fixed && s3i_aws_error_is_clock_skew(eb.code)) {
		int64_t server_ms;
		const char *date = eb.server_date[0] ? eb.server_date : s3i_headers_get(&resp->headers, "Date");
		if (date && s3i_time_parse_http(date, &server_ms) == S3I_OK) {
			int64_t skew = server_ms - raw_now_ms(c);
			if (llabs(skew - atomic_load(&c->skew_ms)) > SKEW_THRESHOLD_MS) {
				atomic_store(&c->skew_ms, skew);
				s3i_log(c->logger, S3I_LOG_WARN, "clock skew of %lld s against %s; "
					"correcting and retrying %s", (long long)(skew / 1000),
					call->svc->endpoint_id, call->operation);
				o->skew_fixed = 1;
				o->attempt--;
				goto restart;
			}
		}
	}
	if (!resp->error && !o->creds_refreshed && (s3i_strcaseeq(eb.code, "ExpiredToken") ||
		s3i_strcaseeq(eb.code, "ExpiredTokenException") ||
		s3i_strcaseeq(eb.code, "TokenRefreshRequired"))) {
		s3i_credprov_invalidate(call->creds ? call->creds : c->creds);
		o->creds_refreshed = 1;
		o->attempt--;
		goto restart;
	}
	const char *bucket_region = s3i_headers_get(&resp->headers, "x-amz-bucket-region");
	if (!resp->error && !o->region_redirected && call->svc->protocol == S3I_PROTO_REST_XML &&
		bucket_region && strcmp(bucket_region, o->region) && s3i_region_is_valid(bucket_region) &&
		(resp->status == 301 || resp->status == 400 || resp->status == 307)) {
		s3i_log(c->logger, S3I_LOG_INFO, "%s: bucket is in %s, not %s; retrying there",
			call->operation, bucket_region, o->region);
		copy_str(o->region, sizeof(o->region), bucket_region);
		o->region_redirected = 1;
		o->attempt--;
		prepared_free(&o->p);
		prepared_init(&o->p, c->alloc);
		if ((*rc = prepare(c, call, o->region, &o->p, err)))
			return OP_DONE;
		goto restart;
	}

	int retryable = resp->error ? (resp->error == S3I_ENETWORK || resp->error == S3I_ETIMEOUT)
		: s3i_aws_error_is_retryable(resp->status, eb.code);
	if (!retryable || o->attempt >= c->max_attempts || !can_replay(call, resp)) {
		if (retryable && o->attempt >= c->max_attempts && c->max_attempts > 1)
			s3i_err_prefix(err, "after %d attempts: ", o->attempt);
		return OP_DONE;
	}
	if (!take_retry_tokens(c, resp->error == S3I_ETIMEOUT ? RETRY_TIMEOUT_COST : RETRY_COST)) {
		s3i_err_prefix(err, "retry quota exhausted: ");
		return OP_DONE;
	}
	*delay_ms = backoff_ms(c, o->attempt, resp);
	s3i_log(c->logger, S3I_LOG_WARN, "%s attempt %d/%d failed (%s); retrying in %lld ms",
		call->operation, o->attempt, c->max_attempts, err->message, (long long)*delay_ms);
	o->retried = 1;
restart:
	if ((*rc = restart_streams(call))) {
		*rc = s3i_err(err, *rc, call->resource, "%s: could not restart the body for a retry",
			call->operation);
		return OP_DONE;
	}
	return OP_RETRY;
}

int s3i_client_call(s3i_client *c, const s3i_call *call, s3i_http_response *resp, s3i_errinfo *err)
{
	if (!err)
		err = s3i_errinfo_thread();
	op o;
	int rc = op_init(&o, c, call, resp, err);
	while (!rc) {
		if ((rc = op_begin_attempt(&o)))
			break;
		s3i_errinfo transport;
		s3i_errinfo_init(&transport);
		s3i_http_perform(c->http, &o.hr, resp, &transport);
		int64_t delay;
		if (op_evaluate(&o, &rc, &delay) == OP_DONE)
			break;
		rc = S3I_OK;
		if (delay >= 0)
			s3i_client_sleep_ms(c, delay);
	}
	op_free(&o);
	return rc;
}

/* ---- many operations in flight ----
 *
 * Records. Each call in a batch has a record (the op with its prepared request and signed
 * headers, the response, the error detail: about 3 KiB). A finished record goes to a spare
 * list and the next call added reuses it with its storage (buffers, header arrays, the
 * response's header text), so a batch holds as many records as it ever had calls queued or
 * in flight at once, however many calls run through it, and a warm batch allocates nothing
 * of its own per call. */

typedef struct batch_op {
	op o;
	s3i_http_response resp;
	s3i_errinfo err;
	s3i_call_done_fn done;
	void *user;
	int64_t due_ms;              /* when the next attempt may start */
	struct s3i_client_batch *batch;
	struct batch_op *next;       /* in the waiting list or the spare list */
} batch_op;

struct s3i_client_batch {
	s3i_client *c;
	s3i_http_batch *http;
	int max_in_flight;
	int in_flight;
	batch_op *waiting;           /* not started or backing off, in submission order */
	batch_op **waiting_tail;     /* the last `next` of the waiting list */
	batch_op *spare;             /* finished records for reuse */
	batch_op **all;              /* every record, to free them */
	size_t count, cap;
};

int s3i_client_batch_new(s3i_client_batch **out, s3i_client *c, int max_in_flight, s3i_errinfo *err)
{
	s3i_client_batch *b = s3i_calloc(c->alloc, 1, sizeof(*b));
	if (!b)
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating a batch");
	b->c = c;
	b->max_in_flight = max_in_flight > 0 ? max_in_flight : 16;
	b->waiting_tail = &b->waiting;
	int rc = s3i_http_batch_new(&b->http, c->http);
	if (rc) {
		s3i_free(c->alloc, b);
		return s3i_err(err, rc, NULL, "could not create an HTTP batch");
	}
	*out = b;
	return S3I_OK;
}

static void batch_op_free(s3i_client *c, batch_op *bo)
{
	op_free(&bo->o);
	s3i_http_response_free(&bo->resp);
	s3i_free(c->alloc, bo);
}

void s3i_client_batch_free(s3i_client_batch *b)
{
	if (!b)
		return;
	s3i_http_batch_free(b->http);
	for (size_t i = 0; i < b->count; i++)
		batch_op_free(b->c, b->all[i]);
	s3i_free(b->c->alloc, b->all);
	s3i_free(b->c->alloc, b);
}

static void push_waiting(s3i_client_batch *b, batch_op *bo)
{
	bo->next = NULL;
	*b->waiting_tail = bo;
	b->waiting_tail = &bo->next;
}

/* A spare record, or a new one. NULL when out of memory. */
static batch_op *record_take(s3i_client_batch *b)
{
	batch_op *bo = b->spare;
	if (bo) {
		b->spare = bo->next;
		return bo;
	}
	s3i_client *c = b->c;
	if (b->count == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		batch_op **all = s3i_realloc(c->alloc, b->all, ncap * sizeof(*all));
		if (!all)
			return NULL;
		b->all = all;
		b->cap = ncap;
	}
	if (!(bo = s3i_malloc(c->alloc, sizeof(*bo))))
		return NULL;
	op_storage_init(&bo->o, c);
	s3i_http_response_init(&bo->resp, c->alloc);
	s3i_errinfo_init(&bo->err);
	bo->batch = b;
	b->all[b->count++] = bo;
	return bo;
}

/* Report a call's outcome, then keep its record for the next call. The response's body and
 * large buffers are let go (a batch of thousands must not hold every body). */
static void finish(s3i_client_batch *b, batch_op *bo, int rc)
{
	bo->done(bo->user, rc, &bo->resp, &bo->err);
	op_recycle(&bo->o);
	s3i_http_response_reset(&bo->resp);
	buf_recycle(&bo->resp.body);
	if (bo->err.pub.code)
		s3i_errinfo_clear(&bo->err);
	bo->done = NULL;
	bo->user = NULL;
	bo->due_ms = 0;
	bo->next = b->spare;
	b->spare = bo;
}

int s3i_client_batch_add(s3i_client_batch *b, const s3i_call *call, s3i_call_done_fn done,
	void *user, s3i_errinfo *err)
{
	batch_op *bo = record_take(b);
	if (!bo)
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory queueing %s", call->operation);
	bo->done = done;
	bo->user = user;
	bo->due_ms = 0;
	int rc = op_start(&bo->o, b->c, call, &bo->resp, &bo->err);
	if (rc) { /* reported through the callback like any other failure */
		finish(b, bo, rc);
		return S3I_OK;
	}
	push_waiting(b, bo);
	return S3I_OK;
}

/* An attempt ended (its answer, or the transport's failure in bo->resp): finish the call or
 * queue its next attempt. */
static void attempt_over(s3i_client_batch *b, batch_op *bo)
{
	int rc;
	int64_t delay;
	if (op_evaluate(&bo->o, &rc, &delay) == OP_DONE) {
		finish(b, bo, rc);
		return;
	}
	bo->due_ms = raw_now_ms(b->c) + (delay > 0 ? delay : 0);
	push_waiting(b, bo);
}

static void on_http_done(void *user, s3i_http_response *resp)
{
	(void)resp;
	batch_op *bo = user;
	bo->batch->in_flight--;
	attempt_over(bo->batch, bo);
}

int s3i_client_batch_run(s3i_client_batch *b, s3i_errinfo *err)
{
	for (;;) {
		int64_t now = raw_now_ms(b->c);
		int64_t next_due = -1;
		/* start whatever is due while there is room */
		for (batch_op **pp = &b->waiting; *pp && b->in_flight < b->max_in_flight;) {
			batch_op *bo = *pp;
			if (bo->due_ms > now) {
				if (next_due < 0 || bo->due_ms < next_due)
					next_due = bo->due_ms;
				pp = &bo->next;
				continue;
			}
			if (!(*pp = bo->next))
				b->waiting_tail = pp;
			int rc = op_begin_attempt(&bo->o);
			if (rc) {
				finish(b, bo, rc);
				continue;
			}
			if (s3i_http_batch_add(b->http, &bo->o.hr, &bo->resp, on_http_done, bo)) {
				/* the transport refused to start it (resp->error says why): the same as a
				 * transfer that failed, so the error detail names the operation and the
				 * failure is retried when that makes sense */
				attempt_over(b, bo);
				continue;
			}
			b->in_flight++;
		}
		if (!b->in_flight && !b->waiting)
			return S3I_OK;
		int64_t wait = 1000;
		if (next_due >= 0 && next_due - now < wait)
			wait = next_due - now > 0 ? next_due - now : 0;
		if (!b->in_flight) { /* only backoffs pending */
			s3i_client_sleep_ms(b->c, wait);
			continue;
		}
		int rc = s3i_http_batch_run(b->http, wait);
		if (rc < 0)
			return s3i_err(err, rc, NULL, "HTTP batch failed");
	}
}
