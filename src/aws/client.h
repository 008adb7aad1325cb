/*
 * The AWS call engine: endpoint, credentials, signing, transport, retries and error mapping
 * for one operation. Services describe what to send; the client does the rest.
 *
 * Retries follow the SDKs' "standard" mode: up to max_attempts (AWS_MAX_ATTEMPTS, default 3)
 * on throttling codes, transient codes, 5xx, timeouts and connection errors; the delay is
 * random in [0, min(20 s, base * 2^(attempt-1))] (full jitter), at least Retry-After when the
 * server sends one; a shared retry quota (500 tokens, 5 per retry, 10 per timeout retry)
 * stops retry storms. Clock skew (RequestTimeTooSkewed & co. with a server Date more than
 * 4 minutes off) is corrected once per call and remembered. ExpiredToken refreshes the
 * credentials once. S3 answers naming another region (301/400 with x-amz-bucket-region)
 * are retried once in that region.
 *
 * A client is thread-safe: calls may run on any number of threads at once.
 */
#ifndef S3I_AWS_CLIENT_H
#define S3I_AWS_CLIENT_H

#include <stdint.h>
#include "core/errinfo.h"
#include "core/log.h"
#include "aws/config_file.h"
#include "aws/credentials.h"
#include "aws/endpoint.h"
#include "aws/http.h"
#include "aws/protocol.h"

typedef struct s3i_service {
	const char *endpoint_id;   /* endpoint prefix and s3i_endpoint_resolve id: "s3", "email" */
	const char *signing_name;  /* SigV4 service name: "s3", "ses" */
	s3i_protocol protocol;
	const char *target_prefix; /* JSON: X-Amz-Target = prefix "." operation */
	const char *api_version;   /* query: Version= */
	const char *global_region; /* a global service the endpoint table does not know: sign in
	                              this region whatever the call's (IAM and Organizations sign
	                              in their partition's region by themselves) */
} s3i_service;

typedef struct s3i_client s3i_client;

typedef struct s3i_client_config {
	const s3i_allocator *alloc;
	const s3i_logger *logger;          /* borrowed */
	const char *region;                /* default region (copied) */
	const char *endpoint_url;          /* explicit override for every service (copied) */
	const char *profile;               /* copied */
	const s3i_profile_set *profiles;   /* borrowed, may be NULL */
	s3i_http *http;                    /* borrowed */
	s3i_credprov *creds;               /* a reference is taken */
	int32_t max_attempts;              /* 0: AWS_MAX_ATTEMPTS or 3 */
	int64_t retry_base_ms;             /* 0: S3I_RETRY_BASE_MS or 1000 */
	int64_t request_timeout_ms;        /* per attempt; 0: none */
	const s3i_io_hooks *clock;         /* borrowed, may be NULL */
} s3i_client_config;

typedef struct s3i_call {
	const s3i_service *svc;
	const char *operation;      /* "PutObject"; JSON protocols send it in X-Amz-Target */
	const char *resource;       /* what errors name: "bucket 'b'", "queue 'q'"; may be NULL */
	const char *region;         /* NULL: the client's */
	s3i_credprov *creds;        /* NULL: the client's (e.g. an AssumeRole provider instead) */
	const char *method;         /* NULL: POST for query/JSON, GET for REST */
	/* REST-XML (S3) addressing */
	const char *bucket;
	const char *key;            /* raw object key */
	int force_path_style;
	/* URL query (REST) or form parameters (query protocol) */
	const s3i_params *params;
	const s3i_headers *headers; /* extra headers */
	/* body: in memory or streamed */
	const char *body;
	size_t body_len;
	const char *content_type;   /* default per protocol */
	s3i_body_read_fn body_read;
	s3i_body_rewind_fn body_rewind;
	void *body_user;
	int64_t body_length;
	int content_md5;            /* send Content-MD5 of the in-memory body (requestChecksumRequired) */
	int unsigned_payload;       /* sign UNSIGNED-PAYLOAD (S3 streams over TLS) */
	/* 2xx response body streaming; sink_reset runs before a retry restarts the body */
	s3i_body_write_fn sink;
	void *sink_user;
	int (*sink_reset)(void *user);
	int64_t timeout_ms;         /* per attempt; 0: client default */
} s3i_call;

int s3i_client_new(s3i_client **out, const s3i_client_config *cfg, s3i_errinfo *err);
void s3i_client_free(s3i_client *c);

/* Run one operation. S3I_OK on a 2xx answer (resp holds status, headers and, without a
 * sink, the body). Otherwise a negative status with err naming the operation, the
 * resource, the AWS code and message, the HTTP status and the request id. resp must be
 * initialised by the caller (s3i_http_response_init) and freed by it. */
int s3i_client_call(s3i_client *c, const s3i_call *call, s3i_http_response *resp, s3i_errinfo *err);

const char *s3i_client_region(const s3i_client *c);
const s3i_allocator *s3i_client_alloc(const s3i_client *c);
const s3i_logger *s3i_client_logger(const s3i_client *c);
int64_t s3i_client_now_ms(const s3i_client *c);        /* clock hook aware, skew-corrected */
int64_t s3i_client_clock_skew_ms(const s3i_client *c);
/* Block the calling thread for `ms` milliseconds through the context's clock hook
 * (s3i_io_hooks.sleep_ms) when there is one, else the system's. Waiters and pollers use it
 * so tests with an injected clock run without real waiting. Every call reaches the hook, a
 * zero wait too (a full-jitter backoff can be 0 ms), so a test counts the retries exactly;
 * without a hook ms <= 0 returns at once. */
void s3i_client_sleep_ms(const s3i_client *c, int64_t ms);
/* The client's backoff before retry `attempt` (1 = the first retry): full jitter over
 * min(20 s, base * 2^(attempt-1)), base as configured. For retries a service makes itself
 * (an S3 200-with-Error answer) so they follow the client's settings. */
int64_t s3i_client_backoff_ms(const s3i_client *c, int attempt);

/* Many operations in flight over the shared connection pool, at most max_in_flight at once.
 * Each call's retries wait on their own timer without holding back the others. `done` runs
 * on the thread that runs the batch, once per call, with the final status, the response (its
 * body when the call had no sink) and the error detail; both are only valid during the
 * callback. Every s3i_call (and what it points to) must stay valid until its `done` ran. */
typedef struct s3i_client_batch s3i_client_batch;
typedef void (*s3i_call_done_fn)(void *user, int status, s3i_http_response *resp,
	const s3i_errinfo *err);
int s3i_client_batch_new(s3i_client_batch **out, s3i_client *c, int max_in_flight, s3i_errinfo *err);
int s3i_client_batch_add(s3i_client_batch *b, const s3i_call *call, s3i_call_done_fn done,
	void *user, s3i_errinfo *err);
/* Run until every added call is done (calls may add more from their callbacks). */
int s3i_client_batch_run(s3i_client_batch *b, s3i_errinfo *err);
void s3i_client_batch_free(s3i_client_batch *b);

/* Resolve the endpoint a call would use (for presigning and tests). */
int s3i_client_endpoint(s3i_client *c, const s3i_service *svc, const char *region,
	s3i_endpoint *out, s3i_errinfo *err);

#endif
