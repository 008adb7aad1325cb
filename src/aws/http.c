/*
 * HTTP transport on libcurl (see http.h).
 *
 * Pooling. libcurl keeps idle connections in a connection cache that belongs to a multi handle
 * (or to a share object with CURL_LOCK_DATA_CONNECT). libcurl documents that sharing one
 * connection cache between concurrently running threads is not supported (CURLSHOPT_SHARE(3);
 * KNOWN_BUGS "A shared connection cache is not thread-safe"), so the CURLSH here shares only
 * DNS and TLS sessions, which are safe across threads behind the lock callbacks. Connections
 * are reused across threads another way: every transfer runs inside a multi handle taken from
 * a free-list on the s3i_http (s3i_http_perform takes one for a single request, a batch holds
 * one for its lifetime) and handed back afterwards with its idle connections, so the next
 * caller, on whatever thread, finds them warm. Each multi handle (and its cache) is used by
 * one thread at a time. Easy handles come from a second free-list (curl_easy_reset on reuse).
 *
 * Secrets: URLs may be presigned, so logs and error messages carry the host and the path
 * without the query; headers are logged at TRACE only, secret ones as [REDACTED].
 */
#include "aws/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/str.h"
#include "s3insights/errors.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_MAX_CONNECTIONS 64
#define DEFAULT_LOW_SPEED_TIME_MS 60000
#define ERROR_BODY_CAP ((size_t)1 << 20)     /* non-2xx bodies are kept up to this size */
#define MAX_IDLE_CONN_AGE_S 50L               /* older idle connections are not reused: servers
                                                 drop idle ones and a dead one costs a resend */
#define IO_BUFFER_SIZE (128L * 1024)          /* curl's receive and upload buffers for
                                                 streamed and large bodies */
#define LARGE_UPLOAD_BYTES (64 * 1024)        /* libcurl's own upload buffer holds this */
#define POOL_EASY_MAX 64
#define POOL_MULTI_MAX 16
#define TCP_KEEPIDLE_S 30L
#define TCP_KEEPINTVL_S 15L

#ifndef CURL_WRITEFUNC_ERROR                   /* before libcurl 7.87: any short count fails */
#define CURL_WRITEFUNC_ERROR 0
#endif

struct s3i_http {
	const s3i_allocator *alloc;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;               /* guards the two free-lists */
	CURL *easy[POOL_EASY_MAX];
	int n_easy;
	CURLM *multi[POOL_MULTI_MAX];
	int n_multi;
	long connect_timeout_ms;
	long max_connections;
	long low_speed_time_s;
	char *ca_bundle;
	int insecure;
	const s3i_logger *logger;
};

/* One request in progress. */
typedef struct xfer {
	s3i_http *h;
	CURL *easy;
	const s3i_http_request *req;
	s3i_http_response *resp;
	s3i_http_done_fn done;
	void *user;
	struct curl_slist *hdrs;
	const char *method;
	size_t mem_off;             /* position in an in-memory body */
	int64_t body_sent;          /* body bytes handed to libcurl in this attempt */
	int64_t body_total;         /* declared body length, -1 unknown */
	int cb_status;              /* why one of our callbacks stopped the transfer */
	const char *cb_reason;
	int64_t start_ms;
	char errbuf[CURL_ERROR_SIZE];
	struct xfer *prev, *next;   /* in the batch */
} xfer;

struct s3i_http_batch {
	s3i_http *h;
	CURLM *multi;
	xfer *active;
	size_t in_flight;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ URL pieces for messages */

/* Host (with port, without user info) of a URL. */
static void url_host(const char *url, char *out, size_t cap)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	size_t n = strcspn(h, "/?#");
	const char *at = memchr(h, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, h, n);
	out[n] = '\0';
}

/* Path of a URL without query or fragment ("/" when empty). */
static void url_path(const char *url, char *out, size_t cap)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	const char *p = h + strcspn(h, "/?#");
	size_t n = *p == '/' ? strcspn(p, "?#") : 0;
	if (!n) {
		snprintf(out, cap, "/");
		return;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Make text safe to show: a query string ("?..." up to white space) becomes "?[query]" and
 * known secret fields are redacted. Never grows the text beyond cap. */
static void scrub(char *text, size_t cap)
{
	static const char marker[] = "?[query]";
	for (char *q = strchr(text, '?'); q; q = strchr(q + 1, '?')) {
		size_t n = strcspn(q + 1, " \t\r\n'\"");
		if (!n)
			continue;
		size_t tail = strlen(q + 1 + n);
		if (n + 1 >= sizeof(marker) - 1) {
			memcpy(q, marker, sizeof(marker) - 1);
			memmove(q + sizeof(marker) - 1, q + 1 + n, tail + 1);
			q += sizeof(marker) - 2;
		} else { /* shorter than the marker: blank it out in place */
			memset(q + 1, '*', n);
			q += n;
		}
	}
	s3i_log_redact(text, cap);
}

/* ------------------------------------------------------------------ share and pools */

static void share_lock(CURL *e, curl_lock_data d, curl_lock_access a, void *user)
{
	(void)e;
	(void)a;
	s3i_http *h = user;
	if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&h->share_locks[d]);
}

static void share_unlock(CURL *e, curl_lock_data d, void *user)
{
	(void)e;
	s3i_http *h = user;
	if ((int)d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&h->share_locks[d]);
}

static CURL *easy_take(s3i_http *h)
{
	CURL *e = NULL;
	pthread_mutex_lock(&h->pool_lock);
	if (h->n_easy)
		e = h->easy[--h->n_easy];
	pthread_mutex_unlock(&h->pool_lock);
	return e ? e : curl_easy_init();
}

static void easy_give(s3i_http *h, CURL *e)
{
	if (!e)
		return;
	curl_easy_reset(e);
	pthread_mutex_lock(&h->pool_lock);
	if (h->n_easy < POOL_EASY_MAX) {
		h->easy[h->n_easy++] = e;
		e = NULL;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (e)
		curl_easy_cleanup(e);
}

/* A multi handle, most recently used first (its idle connections are the warmest). */
static CURLM *multi_take(s3i_http *h)
{
	CURLM *m = NULL;
	pthread_mutex_lock(&h->pool_lock);
	if (h->n_multi)
		m = h->multi[--h->n_multi];
	pthread_mutex_unlock(&h->pool_lock);
	if (!m && (m = curl_multi_init()) != NULL)
		curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, h->max_connections);
	return m;
}

static void multi_give(s3i_http *h, CURLM *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&h->pool_lock);
	if (h->n_multi < POOL_MULTI_MAX) {
		h->multi[h->n_multi++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (m)
		curl_multi_cleanup(m);
}

int s3i_http_new(s3i_http **out, const s3i_allocator *a, const s3i_http_options *opts,
	s3i_errinfo *err)
{
	if (!a)
		a = s3i_allocator_default();
	s3i_http_options none;
	memset(&none, 0, sizeof(none));
	if (!opts)
		opts = &none;
	s3i_http *h = s3i_calloc(a, 1, sizeof(*h));
	if (!h)
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating the HTTP transport");
	h->alloc = a;
	h->connect_timeout_ms = (long)(opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
		: DEFAULT_CONNECT_TIMEOUT_MS);
	h->max_connections = opts->max_connections > 0 ? opts->max_connections
		: DEFAULT_MAX_CONNECTIONS;
	int64_t low = opts->low_speed_time_ms > 0 ? opts->low_speed_time_ms
		: DEFAULT_LOW_SPEED_TIME_MS;
	h->low_speed_time_s = (long)((low + 999) / 1000);
	h->insecure = opts->insecure_skip_verify != 0;
	h->logger = opts->logger;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	pthread_mutex_init(&h->pool_lock, NULL);
	if (s3i_str_set(a, &h->ca_bundle, opts->ca_bundle)) {
		s3i_http_free(h);
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating the HTTP transport");
	}
	h->share = curl_share_init();
	if (!h->share ||
		curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
		curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
		curl_share_setopt(h->share, CURLSHOPT_USERDATA, h) != CURLSHE_OK ||
		curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
		curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
		s3i_http_free(h);
		return s3i_err(err, S3I_ENOMEM, "libcurl", "could not create the libcurl share handle");
	}
	if (h->insecure)
		s3i_log(h->logger, S3I_LOG_WARN, "TLS certificate and host name verification is "
			"disabled (insecure_skip_verify): connections can be intercepted");
	*out = h;
	return S3I_OK;
}

void s3i_http_free(s3i_http *h)
{
	if (!h)
		return;
	/* connections live in the multi handles; the easy handles still point at the share */
	for (int i = 0; i < h->n_multi; i++)
		curl_multi_cleanup(h->multi[i]);
	for (int i = 0; i < h->n_easy; i++)
		curl_easy_cleanup(h->easy[i]);
	if (h->share)
		curl_share_cleanup(h->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->share_locks[i]);
	pthread_mutex_destroy(&h->pool_lock);
	s3i_free(h->alloc, h->ca_bundle);
	s3i_free(h->alloc, h);
}

/* ------------------------------------------------------------------ responses */

void s3i_http_response_init(s3i_http_response *r, const s3i_allocator *a)
{
	memset(r, 0, sizeof(*r));
	s3i_headers_init(&r->headers, a);
	s3i_buf_init(&r->body, a);
}

void s3i_http_response_reset(s3i_http_response *r)
{
	s3i_headers_clear(&r->headers);
	s3i_buf_clear(&r->body);
	r->status = 0;
	r->error = 0;
	r->error_text[0] = '\0';
	r->bytes_sent = 0;
	r->bytes_received = 0;
}

void s3i_http_response_free(s3i_http_response *r)
{
	if (!r)
		return;
	s3i_headers_free(&r->headers);
	s3i_buf_dispose(&r->body);
	r->status = 0;
}

/* ------------------------------------------------------------------ libcurl callbacks */

static int callback_status(int rc)
{
	return rc < 0 ? rc : S3I_EUSER;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
	xfer *x = user;
	size_t len = size * nmemb;
	s3i_http_response *r = x->resp;
	if (len >= 5 && !memcmp(data, "HTTP/", 5)) {
		/* a new status line: 1xx, a proxy's CONNECT answer or the final response */
		s3i_headers_clear(&r->headers);
		const char *p = memchr(data, ' ', len);
		r->status = 0;
		if (p)
			for (p++; p < data + len && *p >= '0' && *p <= '9' && r->status < 1000; p++)
				r->status = r->status * 10 + (*p - '0');
		return len;
	}
	size_t n = len;
	while (n && (data[n - 1] == '\r' || data[n - 1] == '\n'))
		n--;
	const char *colon = n ? memchr(data, ':', n) : NULL;
	if (!colon || colon == data)
		return len; /* the blank line ending a block, or not a header */
	size_t nlen = (size_t)(colon - data);
	const char *v = colon + 1, *e = data + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (s3i_headers_addn(&r->headers, data, nlen, v, (size_t)(e - v))) {
		x->cb_status = S3I_ENOMEM;
		x->cb_reason = "out of memory storing the response headers";
		return 0;
	}
	return len;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *user)
{
	xfer *x = user;
	size_t len = size * nmemb;
	s3i_http_response *r = x->resp;
	const s3i_http_request *q = x->req;
	r->bytes_received += (int64_t)len;
	int ok = r->status >= 200 && r->status < 300;
	if (ok && q->sink) {
		int rc = q->sink(q->sink_user, data, len);
		if (rc) {
			x->cb_status = callback_status(rc);
			x->cb_reason = "the response sink stopped the transfer";
			return CURL_WRITEFUNC_ERROR;
		}
		return len;
	}
	size_t keep = len;
	if (!ok) /* error bodies are only read for their message */
		keep = r->body.size >= ERROR_BODY_CAP ? 0
			: (ERROR_BODY_CAP - r->body.size < len ? ERROR_BODY_CAP - r->body.size : len);
	if (keep && s3i_buf_put(&r->body, data, keep)) {
		x->cb_status = S3I_ENOMEM;
		x->cb_reason = "out of memory storing the response body";
		return CURL_WRITEFUNC_ERROR;
	}
	return len;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *user)
{
	xfer *x = user;
	size_t cap = size * nmemb;
	const s3i_http_request *q = x->req;
	if (x->body_total >= 0) {
		int64_t left = x->body_total - x->body_sent;
		if (left <= 0)
			return 0;
		if ((int64_t)cap > left)
			cap = (size_t)left;
	}
	size_t got = 0;
	if (q->body_read) {
		int rc = q->body_read(q->body_user, buf, cap, &got);
		if (rc || got > cap) {
			x->cb_status = rc ? callback_status(rc) : S3I_EINVALID;
			x->cb_reason = rc ? "the request body source failed"
				: "the request body source returned more bytes than asked for";
			return CURL_READFUNC_ABORT;
		}
		if (!got && x->body_total >= 0) {
			x->cb_status = S3I_EIO;
			x->cb_reason = "the request body source ended before its declared length";
			return CURL_READFUNC_ABORT;
		}
	} else if (q->body) {
		got = q->body_len - x->mem_off < cap ? q->body_len - x->mem_off : cap;
		memcpy(buf, q->body + x->mem_off, got);
		x->mem_off += got;
	}
	x->body_sent += (int64_t)got;
	x->resp->bytes_sent = x->body_sent;
	return got;
}

/* libcurl rewinds the body when it resends a request on a fresh connection (a reused one
 * closed under it). */
static int on_seek(void *user, curl_off_t offset, int origin)
{
	xfer *x = user;
	const s3i_http_request *q = x->req;
	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (q->body_read) {
		if (!q->body_rewind)
			return CURL_SEEKFUNC_CANTSEEK;
		int rc = q->body_rewind(q->body_user);
		if (rc) {
			x->cb_status = callback_status(rc);
			x->cb_reason = "the request body could not be rewound";
			return CURL_SEEKFUNC_FAIL;
		}
	}
	x->mem_off = 0;
	x->body_sent = 0;
	x->resp->bytes_sent = 0;
	return CURL_SEEKFUNC_OK;
}

/* ------------------------------------------------------------------ request setup */

static int valid_token(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 127 || strchr("()<>@,;:\\\"/[]?={}", *s))
			return 0;
	return 1;
}

static int has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

static int add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *n = curl_slist_append(*list, line);
	if (!n)
		return S3I_ENOMEM;
	*list = n;
	return S3I_OK;
}

/* The header list: the caller's, then Content-Type, Expect and Transfer-Encoding fixes. */
static int build_headers(xfer *x, int has_body, const char **why)
{
	const s3i_http_request *q = x->req;
	const s3i_headers *hs = q->headers;
	char small[512];
	s3i_buf big;
	s3i_buf_init(&big, x->h->alloc);
	int rc = S3I_OK;
	for (size_t i = 0; hs && i < hs->count && !rc; i++) {
		const char *name = hs->items[i].name, *value = hs->items[i].value;
		if (!valid_token(name) || has_crlf(value)) {
			*why = "a request header has an invalid name or a line break in its value";
			rc = S3I_EINVALID;
			break;
		}
		/* "Name: value" put together directly (a printf per header line was a tenth of a
		 * small request's instructions), on the stack unless it is long. "Name;" sends an
		 * empty header; "Name:" would remove it. */
		size_t nlen = hs->items[i].nlen, vlen = value ? hs->items[i].vlen : 0;
		size_t need = nlen + 2 + vlen + 1;
		char *w = small;
		if (need > sizeof(small)) {
			s3i_buf_clear(&big);
			if ((rc = s3i_buf_grow(&big, need)) != S3I_OK)
				break;
			w = big.ptr;
		}
		memcpy(w, name, nlen);
		size_t n = nlen;
		if (vlen) {
			w[n++] = ':';
			w[n++] = ' ';
			memcpy(w + n, value, vlen);
			n += vlen;
		} else {
			w[n++] = ';';
		}
		w[n] = '\0';
		rc = add_header(&x->hdrs, w);
	}
	s3i_buf_dispose(&big);
	const char *ct = hs ? s3i_headers_get(hs, "Content-Type") : NULL;
	if (!rc && !ct && has_body)
		rc = add_header(&x->hdrs, "Content-Type: application/octet-stream");
	else if (!rc && !ct && !strcmp(x->method, "POST"))
		rc = add_header(&x->hdrs, "Content-Type:"); /* no form type on an empty POST */
	if (!rc && (!hs || !s3i_headers_get(hs, "Expect")))
		rc = add_header(&x->hdrs, "Expect:");
	if (!rc && has_body && x->body_total >= 0 && (!hs || !s3i_headers_get(hs, "Transfer-Encoding")))
		rc = add_header(&x->hdrs, "Transfer-Encoding:");
	if (rc == S3I_ENOMEM)
		*why = "out of memory building the request headers";
	return rc;
}

static void log_request_headers(const xfer *x)
{
	const s3i_logger *lg = x->h->logger;
	if (!s3i_log_enabled(lg, S3I_LOG_TRACE) || !x->req->headers)
		return;
	const s3i_headers *hs = x->req->headers;
	for (size_t i = 0; i < hs->count; i++)
		s3i_log(lg, S3I_LOG_TRACE, "http > %s: %s", hs->items[i].name,
			s3i_header_is_secret(hs->items[i].name) ? "[REDACTED]" : hs->items[i].value);
}

static void log_response_headers(const xfer *x)
{
	const s3i_logger *lg = x->h->logger;
	if (!s3i_log_enabled(lg, S3I_LOG_TRACE))
		return;
	const s3i_headers *hs = &x->resp->headers;
	for (size_t i = 0; i < hs->count; i++)
		s3i_log(lg, S3I_LOG_TRACE, "http < %s: %s", hs->items[i].name,
			s3i_header_is_secret(hs->items[i].name) ? "[REDACTED]" : hs->items[i].value);
}

static void xfer_release(xfer *x)
{
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	easy_give(x->h, x->easy);
	x->easy = NULL;
}

/* Prepare x and its easy handle. On failure returns the status with the reason in *why. */
static int xfer_setup(xfer *x, s3i_http *h, const s3i_http_request *q, s3i_http_response *resp,
	const char **why)
{
	memset(x, 0, sizeof(*x));
	x->h = h;
	x->req = q;
	x->resp = resp;
	x->method = q->method ? q->method : "GET";
	x->start_ms = now_ms();
	s3i_http_response_reset(resp);
	if (!q->url || !*q->url || has_crlf(q->url)) {
		*why = "the request has no valid URL";
		return S3I_EINVALID;
	}
	if (!valid_token(x->method)) {
		*why = "the request method is not a valid HTTP token";
		return S3I_EINVALID;
	}
	int streamed = q->body_read != NULL;
	int has_body = streamed || (q->body && q->body_len > 0);
	x->body_total = streamed ? (q->body_length >= 0 ? q->body_length : -1)
		: (int64_t)(q->body ? q->body_len : 0);
	if (!(x->easy = easy_take(h))) {
		*why = "out of memory creating a libcurl handle";
		return S3I_ENOMEM;
	}
	int rc = build_headers(x, has_body, why);
	if (rc) {
		xfer_release(x);
		return rc;
	}
	CURL *e = x->easy;
	CURLcode c = curl_easy_setopt(e, CURLOPT_URL, q->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_SHARE, h->share);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* The URL path is already percent-encoded and signed exactly as it is:
	 * S3 keys may hold "." and ".." segments (S3 never normalises paths), so
	 * libcurl must not squash them or the signature and the key both change. */
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(q->timeout_ms > 0 ? q->timeout_ms : 0));
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, h->low_speed_time_s);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, TCP_KEEPIDLE_S);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, TCP_KEEPINTVL_S);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_MAXCONNECTS, h->max_connections);
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, MAX_IDLE_CONN_AGE_S);
	/* Large buffers only where bodies are large: each costs an allocation (an mmap at this
	 * size) per transfer, most of a small request's page faults. */
	if (q->sink)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, IO_BUFFER_SIZE);
	if (streamed || x->body_total > LARGE_UPLOAD_BYTES)
		curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, IO_BUFFER_SIZE);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->insecure ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->insecure ? 0L : 2L);
	if (!c && h->ca_bundle)
		c = curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_bundle);
	if (!c)
		c = curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);

	const char *m = x->method;
	if (!c && !strcmp(m, "HEAD")) {
		c = curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (!c && !strcmp(m, "GET") && !has_body) {
		c = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (!c && !strcmp(m, "POST")) {
		/* the body always comes through the read callback, never CURLOPT_POSTFIELDS */
		c = curl_easy_setopt(e, CURLOPT_POST, 1L);
		if (!c)
			c = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_total);
	} else if (!c && (has_body || !strcmp(m, "PUT"))) {
		c = curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		if (!c)
			c = curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->body_total);
		if (!c && strcmp(m, "PUT"))
			c = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
	} else if (!c) {
		c = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
	}
	if (!c) {
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, x);
	}
	if (c) {
		*why = c == CURLE_OUT_OF_MEMORY ? "out of memory configuring libcurl"
			: "libcurl rejected the request settings";
		xfer_release(x);
		return c == CURLE_OUT_OF_MEMORY ? S3I_ENOMEM : S3I_EINVALID;
	}
	log_request_headers(x);
	return S3I_OK;
}

/* ------------------------------------------------------------------ completion */

static int map_curl_code(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return S3I_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return S3I_ETIMEOUT;
	case CURLE_OUT_OF_MEMORY:
		return S3I_ENOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_UNKNOWN_OPTION:
		return S3I_EINVALID;
	case CURLE_ABORTED_BY_CALLBACK:
		return S3I_EUSER;
	case CURLE_READ_ERROR:
	case CURLE_WRITE_ERROR:
		return S3I_EIO;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_FAIL_REWIND:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_INTERFACE_FAILED:
	case CURLE_AGAIN:
	case CURLE_PROXY:
	case CURLE_BAD_CONTENT_ENCODING:
		return S3I_ENETWORK;
	default:
		return S3I_ERROR;
	}
}

/* Fill in the outcome of a finished transfer, log it and release libcurl's resources. */
static void xfer_finish(xfer *x, CURLcode c)
{
	s3i_http_response *r = x->resp;
	if (r->status < 200) /* only an interim answer, or none */
		r->status = 0;
	if (c != CURLE_OK) {
		r->error = x->cb_status ? x->cb_status : map_curl_code(c);
		const char *text = x->cb_status && x->cb_reason ? x->cb_reason
			: x->errbuf[0] ? x->errbuf : curl_easy_strerror(c);
		snprintf(r->error_text, sizeof(r->error_text), "%s", text);
		scrub(r->error_text, sizeof(r->error_text));
	} else if (x->cb_status) { /* a failure libcurl did not notice */
		r->error = x->cb_status;
		snprintf(r->error_text, sizeof(r->error_text), "%s",
			x->cb_reason ? x->cb_reason : "stopped by a callback");
	}
	const s3i_logger *lg = x->h->logger;
	if (s3i_log_enabled(lg, S3I_LOG_DEBUG)) {
		char host[256], path[512];
		url_host(x->req->url, host, sizeof(host));
		url_path(x->req->url, path, sizeof(path));
		long long ms = (long long)(now_ms() - x->start_ms);
		if (r->error)
			s3i_log(lg, S3I_LOG_DEBUG, "http %s %s%s failed after %lld ms: %s (%s)", x->method,
				host, path, ms, s3i_strerror(r->error), r->error_text);
		else
			s3i_log(lg, S3I_LOG_DEBUG, "http %s %s%s -> %d, %lld B received, %lld B sent, %lld ms",
				x->method, host, path, r->status, (long long)r->bytes_received,
				(long long)r->bytes_sent, ms);
	}
	log_response_headers(x);
	xfer_release(x);
}

/* Record a failed transfer on err: method, host and reason (never the query). */
static int xfer_error(s3i_errinfo *err, const s3i_http_request *q, const char *method, int code,
	const char *reason)
{
	char host[256];
	url_host(q->url ? q->url : "", host, sizeof(host));
	char msg[512];
	snprintf(msg, sizeof(msg), "%s %s: %s (%s)", method, host, s3i_strerror(code), reason);
	scrub(msg, sizeof(msg));
	return s3i_err(err, code, host, "%s", msg);
}

/* ------------------------------------------------------------------ one request */

int s3i_http_perform(s3i_http *h, const s3i_http_request *req, s3i_http_response *resp,
	s3i_errinfo *err)
{
	xfer x;
	const char *why = NULL;
	const char *method = req->method ? req->method : "GET";
	int rc = xfer_setup(&x, h, req, resp, &why);
	if (rc) {
		resp->error = rc;
		snprintf(resp->error_text, sizeof(resp->error_text), "%s", why);
		return xfer_error(err, req, method, rc, why);
	}
	CURLM *m = multi_take(h);
	if (!m || curl_multi_add_handle(m, x.easy) != CURLM_OK) {
		multi_give(h, m);
		xfer_release(&x);
		resp->error = S3I_ENOMEM;
		snprintf(resp->error_text, sizeof(resp->error_text), "could not start the transfer");
		return xfer_error(err, req, method, S3I_ENOMEM, resp->error_text);
	}
	CURLcode result = CURLE_OK;
	for (int finished = 0; !finished;) {
		int running = 0;
		CURLMcode mc = curl_multi_perform(m, &running);
		int left;
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(m, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == x.easy) {
				result = msg->data.result;
				finished = 1;
			}
		if (!finished && mc == CURLM_OK)
			mc = curl_multi_poll(m, NULL, 0, 1000, NULL);
		if (!finished && mc != CURLM_OK) {
			result = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_RECV_ERROR;
			snprintf(x.errbuf, sizeof(x.errbuf), "libcurl multi error: %s", curl_multi_strerror(mc));
			finished = 1;
		}
	}
	curl_multi_remove_handle(m, x.easy);
	xfer_finish(&x, result);
	multi_give(h, m);
	if (resp->error)
		return xfer_error(err, req, method, resp->error, resp->error_text);
	return S3I_OK;
}

/* ------------------------------------------------------------------ batches */

int s3i_http_batch_new(s3i_http_batch **out, s3i_http *h)
{
	s3i_http_batch *b = s3i_calloc(h->alloc, 1, sizeof(*b));
	if (!b)
		return s3i_err(NULL, S3I_ENOMEM, NULL, "out of memory creating an HTTP batch");
	b->h = h;
	if (!(b->multi = multi_take(h))) {
		s3i_free(h->alloc, b);
		return s3i_err(NULL, S3I_ENOMEM, "libcurl", "could not create a libcurl multi handle");
	}
	*out = b;
	return S3I_OK;
}

static void batch_unlink(s3i_http_batch *b, xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		b->active = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
	b->in_flight--;
}

void s3i_http_batch_free(s3i_http_batch *b)
{
	if (!b)
		return;
	s3i_http *h = b->h;
	while (b->active) {
		xfer *x = b->active;
		batch_unlink(b, x);
		curl_multi_remove_handle(b->multi, x->easy);
		xfer_release(x);
		s3i_free(h->alloc, x);
	}
	multi_give(h, b->multi);
	s3i_free(h->alloc, b);
}

int s3i_http_batch_add(s3i_http_batch *b, const s3i_http_request *req, s3i_http_response *resp,
	s3i_http_done_fn done, void *user)
{
	s3i_http *h = b->h;
	const char *method = req->method ? req->method : "GET";
	xfer *x = s3i_malloc(h->alloc, sizeof(*x));
	if (!x) {
		s3i_http_response_reset(resp);
		resp->error = S3I_ENOMEM;
		snprintf(resp->error_text, sizeof(resp->error_text), "out of memory starting the request");
		return xfer_error(NULL, req, method, S3I_ENOMEM, resp->error_text);
	}
	const char *why = NULL;
	int rc = xfer_setup(x, h, req, resp, &why);
	if (!rc && curl_multi_add_handle(b->multi, x->easy) != CURLM_OK) {
		xfer_release(x);
		rc = S3I_ENOMEM;
		why = "could not add the request to the libcurl multi handle";
	}
	if (rc) {
		s3i_free(h->alloc, x);
		resp->error = rc;
		snprintf(resp->error_text, sizeof(resp->error_text), "%s", why);
		return xfer_error(NULL, req, method, rc, why);
	}
	x->done = done;
	x->user = user;
	x->next = b->active;
	if (b->active)
		b->active->prev = x;
	b->active = x;
	b->in_flight++;
	return S3I_OK;
}

/* Finish every transfer libcurl reports done. Returns how many. */
static int batch_collect(s3i_http_batch *b)
{
	int n = 0;
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(b->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *e = msg->easy_handle;
		CURLcode result = msg->data.result;
		char *priv = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
		xfer *x = (xfer *)(void *)priv;
		if (!x)
			continue;
		batch_unlink(b, x);
		curl_multi_remove_handle(b->multi, e);
		xfer_finish(x, result);
		s3i_http_done_fn done = x->done;
		void *user = x->user;
		s3i_http_response *resp = x->resp;
		s3i_free(b->h->alloc, x);
		n++;
		if (done)
			done(user, resp);
	}
	return n;
}

int s3i_http_batch_run(s3i_http_batch *b, int64_t max_wait_ms)
{
	int64_t deadline = now_ms() + (max_wait_ms > 0 ? max_wait_ms : 0);
	for (;;) {
		int running = 0;
		CURLMcode mc = curl_multi_perform(b->multi, &running);
		if (mc != CURLM_OK)
			return s3i_err(NULL, mc == CURLM_OUT_OF_MEMORY ? S3I_ENOMEM : S3I_ERROR, "libcurl",
				"HTTP batch: %s", curl_multi_strerror(mc));
		int finished = batch_collect(b);
		int64_t left = deadline - now_ms();
		if (finished || !b->in_flight || left <= 0)
			return (int)b->in_flight;
		mc = curl_multi_poll(b->multi, NULL, 0, left > 1000 ? 1000 : (int)left, NULL);
		if (mc != CURLM_OK)
			return s3i_err(NULL, S3I_ERROR, "libcurl", "HTTP batch: %s", curl_multi_strerror(mc));
	}
}

size_t s3i_http_batch_in_flight(const s3i_http_batch *b)
{
	return b->in_flight;
}
