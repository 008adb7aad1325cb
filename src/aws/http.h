/*
 * HTTP transport on libcurl.
 *
 * An s3i_http is the shared, thread-safe connection pool plus the transport settings. Requests
 * run either one at a time on the calling thread (s3i_http_perform) or many at once through an
 * s3i_http_batch (a curl multi handle, used by one thread at a time). No retries here: the
 * AWS client above decides what to retry.
 *
 * Pooling: DNS and TLS sessions are shared through a CURLSH (guarded by a mutex per lock
 * data). Idle connections live in curl multi handles kept on a free-list in the s3i_http:
 * s3i_http_perform borrows one for its request, a batch holds one from _new to _free, and
 * both hand it back with its connections, so a later request on any thread reuses them.
 * (libcurl's own shared connection cache, CURL_LOCK_DATA_CONNECT, is documented as unsafe
 * between concurrent threads, so it is not used.) Easy handles are pooled too.
 *
 * Bodies stream both ways: a request body can come from a read callback (with a rewind
 * callback so the caller can retry) and a 2xx response body can go to a sink callback; a
 * non-2xx body is always collected into resp->body (up to 1 MiB; the rest is read and
 * dropped) so the error can be parsed.
 * A Content-Type header is always sent when there is a body (application/octet-stream when the
 * caller gave none): libcurl's default form type makes S3 servers drop the body. No
 * "Expect: 100-continue" is sent, a body of known length goes with Content-Length (never
 * chunked), one of unknown length (body_length -1) chunked. Redirects are not followed.
 * libcurl's receive and upload buffers grow to 128 KiB only where a body is large: a response
 * streamed to a sink, a streamed request body or one over 64 KiB (a small request pays for
 * neither).
 *
 * libcurl's global state must be set up before s3i_http_new: s3i_global_init() (an s3i_ctx
 * holds a reference for its lifetime).
 *
 * Logging: one DEBUG line per request (method, host, path without the query, status, bytes,
 * milliseconds); request and response headers at TRACE, secret ones as [REDACTED]. URLs may be
 * presigned, so no log line or error message carries a query string.
 */
#ifndef S3I_AWS_HTTP_H
#define S3I_AWS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "s3insights/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "core/log.h"
#include "aws/headers.h"

typedef struct s3i_http s3i_http;
typedef struct s3i_http_batch s3i_http_batch;

typedef struct s3i_http_options {
	int64_t connect_timeout_ms;   /* 0: 10000 */
	int32_t max_connections;      /* pool size; 0: 64 */
	const char *ca_bundle;        /* NULL: system default */
	int insecure_skip_verify;     /* 1: TLS peer/host checks off (logged once at WARN) */
	const s3i_logger *logger;     /* may be NULL; must outlive the s3i_http */
	int64_t low_speed_time_ms;    /* abort when < 1 byte/s for this long; 0: 60000 */
} s3i_http_options;

/* Body source callbacks. read: fill up to cap bytes, set *out_len (0 = end); return 0 or a
 * negative s3i_status to abort (it becomes resp->error). With a known body_length the source is
 * never asked for more than that, and ending early is S3I_EIO. rewind: restart from the
 * beginning; the caller calls it before a retry, and the transport calls it when libcurl
 * resends the request on a fresh connection (a reused one closed under it). Without rewind
 * that resend fails with S3I_ENETWORK. */
typedef int (*s3i_body_read_fn)(void *user, char *buf, size_t cap, size_t *out_len);
typedef int (*s3i_body_rewind_fn)(void *user);
/* Response sink for 2xx bodies: return 0, or a negative status to abort the transfer (it
 * becomes resp->error; a positive value counts as S3I_EUSER). */
typedef int (*s3i_body_write_fn)(void *user, const char *data, size_t len);

typedef struct s3i_http_request {
	const char *method;              /* GET PUT POST HEAD DELETE */
	const char *url;                 /* complete, already encoded */
	const s3i_headers *headers;      /* copied when the request starts */
	const char *body;                /* in-memory body (may contain NULs), or NULL */
	size_t body_len;
	s3i_body_read_fn body_read;      /* streamed body instead of `body` */
	s3i_body_rewind_fn body_rewind;
	void *body_user;
	int64_t body_length;             /* streamed length; -1 unknown (chunked) */
	s3i_body_write_fn sink;          /* NULL: 2xx body collected into resp->body */
	void *sink_user;
	int64_t timeout_ms;              /* whole transfer; 0: none */
} s3i_http_request;

typedef struct s3i_http_response {
	int status;                      /* HTTP status, 0 when no response arrived */
	s3i_headers headers;             /* names as received */
	s3i_buf body;
	int error;                       /* 0 or S3I_ENETWORK (connect, DNS, TLS, reset, no answer),
	                                    S3I_ETIMEOUT (timeout_ms, or stalled for
	                                    low_speed_time_ms), the status a callback returned
	                                    (S3I_EUSER, S3I_EIO...), S3I_EIO (a body source ended
	                                    early), S3I_EINVALID (bad request: URL, method, a
	                                    header with a line break), S3I_ENOMEM, S3I_ERROR */
	char error_text[256];            /* libcurl's explanation (or the callback's) when error != 0;
	                                    never holds the URL's query */
	int64_t bytes_sent;              /* request body bytes sent */
	int64_t bytes_received;          /* response body bytes received (also the ones dropped) */
} s3i_http_response;

int s3i_http_new(s3i_http **out, const s3i_allocator *a, const s3i_http_options *opts,
	s3i_errinfo *err);
void s3i_http_free(s3i_http *h);

void s3i_http_response_init(s3i_http_response *r, const s3i_allocator *a);
void s3i_http_response_reset(s3i_http_response *r);   /* before reuse (retries) */
void s3i_http_response_free(s3i_http_response *r);

/* One request on the calling thread (resp is reset first). Returns 0 when a response arrived
 * (whatever its status), else resp->error (and err, or the thread's error when NULL, names the
 * method, the URL's host and the reason). Thread-safe: any number of threads may call it on
 * the same s3i_http. */
int s3i_http_perform(s3i_http *h, const s3i_http_request *req, s3i_http_response *resp,
	s3i_errinfo *err);

typedef void (*s3i_http_done_fn)(void *user, s3i_http_response *resp);

/* A batch keeps its connections until it is freed; free batches before their s3i_http. */
int s3i_http_batch_new(s3i_http_batch **out, s3i_http *h);
/* Aborts what is still running; `done` is not called for those. Not from inside `done`. */
void s3i_http_batch_free(s3i_http_batch *b);
/* Start a request (resp is reset first). req (and what it points to) and resp must stay valid
 * until `done` runs. `done` (may be NULL) runs from inside s3i_http_batch_run on the same
 * thread, and may add requests. A request that cannot start returns its status (resp->error
 * set, `done` not called). */
int s3i_http_batch_add(s3i_http_batch *b, const s3i_http_request *req, s3i_http_response *resp,
	s3i_http_done_fn done, void *user);
/* Drive transfers for at most max_wait_ms (0: poll without waiting), running `done` for each
 * finished request; returns early once some request has finished. Returns the number still in
 * flight (>= 0) or a negative status. */
int s3i_http_batch_run(s3i_http_batch *b, int64_t max_wait_ms);
size_t s3i_http_batch_in_flight(const s3i_http_batch *b);

#endif
