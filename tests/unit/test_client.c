/*
 * The AWS call engine (src/aws/client.c) against a scripted loopback server, with an injected
 * clock: sleeps are recorded instead of slept, so retries, backoff, Retry-After and clock-skew
 * handling are checked exactly and fast.
 */
#include "test_alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "aws/client.h"
#include "aws/credentials_internal.h"
#include "core/str.h"
#include "loopback.h"
#include "s3insights/ctx.h"

/* ------------------------------------------------------------------ scripted server */

#define MAX_STEPS 8
#define MAX_REQS 256

typedef struct step {
	int action;              /* enum s3i_lb_action */
	int status;
	char headers[1024];
	const char *body;
} step;

typedef struct seen_req {
	char method[16];
	char target[4096];
	char headers[8192];
	char *body;
	size_t body_len;
	unsigned char md5[16];
	int64_t clock_ms;        /* the injected clock when the request arrived */
} seen_req;

typedef struct server {
	pthread_mutex_t lock;
	step steps[MAX_STEPS];
	int nsteps;
	seen_req reqs[MAX_REQS];
	int nreqs;
	int fail_first_per_target;   /* 503 on a target's first request, then 200 echoing it */
	s3i_loopback *lb;
} server;

static server srv;
static const char S3_503_BODY[] = "<Error><Code>ServiceUnavailable</Code><Message>busy</Message></Error>";

static int64_t fake_now(void);

static void handler(void *user, const s3i_lb_request *req, s3i_lb_response *resp)
{
	server *s = user;
	pthread_mutex_lock(&s->lock);
	int i = s->nreqs;
	if (i < MAX_REQS) {
		seen_req *r = &s->reqs[i];
		snprintf(r->method, sizeof(r->method), "%s", req->method);
		snprintf(r->target, sizeof(r->target), "%s", req->target);
		snprintf(r->headers, sizeof(r->headers), "%s", req->headers);
		r->body = malloc(req->body_len + 1);
		if (r->body) {
			memcpy(r->body, req->body ? req->body : "", req->body ? req->body_len : 0);
			r->body[req->body ? req->body_len : 0] = '\0';
		}
		r->body_len = req->body_len;
		memcpy(r->md5, req->body_md5, 16);
		r->clock_ms = fake_now();
		s->nreqs++;
	}
	if (s->fail_first_per_target) {
		int seen = 0;
		for (int k = 0; k < i && k < MAX_REQS; k++)
			seen += !strcmp(s->reqs[k].target, req->target);
		/* the echo goes in a header: resp->headers is copied, a body pointer must outlive the
		 * send (which runs after the lock is released) */
		resp->status = seen ? 200 : 503;
		resp->body = seen ? "ok" : S3_503_BODY;
		resp->body_len = strlen(resp->body);
		snprintf(resp->headers, sizeof(resp->headers), "x-echo-target: %.1000s\r\n", req->target);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	const step *st = &s->steps[i < s->nsteps ? i : s->nsteps - 1];
	resp->action = st->action;
	resp->status = st->status ? st->status : 200;
	snprintf(resp->headers, sizeof(resp->headers), "%s", st->headers);
	resp->body = st->body;
	resp->body_len = st->body ? strlen(st->body) : 0;
	pthread_mutex_unlock(&s->lock);
}

static void script_reset(void)
{
	pthread_mutex_lock(&srv.lock);
	for (int i = 0; i < srv.nreqs && i < MAX_REQS; i++)
		free(srv.reqs[i].body);
	memset(srv.reqs, 0, sizeof(srv.reqs));
	memset(srv.steps, 0, sizeof(srv.steps));
	srv.nreqs = 0;
	srv.nsteps = 0;
	srv.fail_first_per_target = 0;
	pthread_mutex_unlock(&srv.lock);
}

/* Append a step: what the server answers to the next request (the last one repeats). */
static void script(int action, int status, const char *headers, const char *body)
{
	pthread_mutex_lock(&srv.lock);
	assert_true(srv.nsteps < MAX_STEPS);
	step *st = &srv.steps[srv.nsteps++];
	st->action = action;
	st->status = status;
	snprintf(st->headers, sizeof(st->headers), "%s", headers ? headers : "");
	st->body = body;
	pthread_mutex_unlock(&srv.lock);
}

static int nreqs(void)
{
	pthread_mutex_lock(&srv.lock);
	int n = srv.nreqs;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* Value of a request header (case-insensitive name), copied into a static buffer. */
static const char *req_header(int i, const char *name)
{
	static char out[4][2048];
	static int slot;
	char *o = out[slot++ % 4];
	const char *h = srv.reqs[i].headers;
	size_t n = strlen(name);
	while (*h) {
		const char *eol = strstr(h, "\r\n");
		size_t len = eol ? (size_t)(eol - h) : strlen(h);
		if (len > n && !strncasecmp(h, name, n) && h[n] == ':') {
			const char *v = h + n + 1;
			while (*v == ' ')
				v++;
			size_t vlen = len - (size_t)(v - h);
			snprintf(o, 2048, "%.*s", (int)vlen, v);
			return o;
		}
		if (!eol)
			break;
		h = eol + 2;
	}
	return NULL;
}

/* The credential scope region of request i's Authorization header. */
static const char *auth_scope(int i)
{
	static char scope[256];
	const char *auth = req_header(i, "Authorization");
	assert_non_null(auth);
	const char *c = strstr(auth, "Credential=");
	assert_non_null(c);
	c += 11;
	size_t n = strcspn(c, ",");
	snprintf(scope, sizeof(scope), "%.*s", (int)n, c);
	return scope;   /* AKID/20240101/region/service/aws4_request */
}

/* ------------------------------------------------------------------ injected clock */

typedef struct fake_clock {
	atomic_llong now_ms;     /* read by the server thread too */
	int64_t sleeps[1024];
	atomic_int nsleeps;
} fake_clock;

static fake_clock clk;

static int64_t clock_now(void *user) { return atomic_load(&((fake_clock *)user)->now_ms); }

static void clock_sleep(void *user, int64_t ms)
{
	fake_clock *c = user;
	int i = atomic_fetch_add(&c->nsleeps, 1);
	if (i < 1024)
		c->sleeps[i] = ms;
	atomic_fetch_add(&c->now_ms, ms);
}

static int64_t fake_now(void) { return atomic_load(&clk.now_ms); }

/* The backoff before request i (1-based retries): what the client slept between attempts. */
static int64_t delay_before(int i)
{
	assert_true(i > 0 && i < srv.nreqs);
	return srv.reqs[i].clock_ms - srv.reqs[i - 1].clock_ms;
}

static s3i_io_hooks hooks = { sizeof(s3i_io_hooks), &clk, clock_now, clock_sleep };

static int64_t start_ms;   /* the fake "now": real time at start, on a whole second */

static void http_date(char *out, size_t cap, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* ------------------------------------------------------------------ client */

#define AKID "AKIDCLIENTTEST000001"
#define SECRET "clientTestSecretKey0123456789abcdefghijk"
#define TOKEN "clientTestSessionToken"

static const s3i_service svc_s3 = { "s3", "s3", S3I_PROTO_REST_XML, NULL, "2006-03-01", NULL };
static const s3i_service svc_sts = { "sts", "sts", S3I_PROTO_QUERY, NULL, "2011-06-15", NULL };
static const s3i_service svc_ddb = { "dynamodb", "dynamodb", S3I_PROTO_JSON_10, "DynamoDB_20120810", NULL, NULL };
static const s3i_service svc_athena = { "athena", "athena", S3I_PROTO_JSON_11, "AmazonAthena", NULL, NULL };

typedef struct fixture {
	s3i_http *http;
	s3i_credprov *creds;
	s3i_client *c;
	s3i_logger logger;
} fixture;

static fixture fx;

static void client_up_with(int max_attempts, int64_t base_ms, int64_t timeout_ms, s3i_credprov *creds)
{
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	memset(&fx, 0, sizeof(fx));
	atomic_store(&clk.now_ms, start_ms);
	atomic_store(&clk.nsleeps, 0);
	s3i_http_options ho;
	memset(&ho, 0, sizeof(ho));
	ho.connect_timeout_ms = 2000;
	int rc = s3i_http_new(&fx.http, s3i_test_alloc(), &ho, &err);
	if (rc)
		fail_msg("s3i_http_new: %s", err.message);
	if (creds) {
		fx.creds = creds;
	} else {
		rc = s3i_credprov_new_static(&fx.creds, s3i_test_alloc(), AKID, SECRET, TOKEN, &err);
		if (rc)
			fail_msg("s3i_credprov_new_static: %s", err.message);
	}
	s3i_client_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.alloc = s3i_test_alloc();
	cfg.logger = &fx.logger;
	cfg.region = "us-east-1";
	cfg.endpoint_url = s3i_loopback_url(srv.lb);
	cfg.http = fx.http;
	cfg.creds = fx.creds;
	cfg.max_attempts = max_attempts;
	cfg.retry_base_ms = base_ms;
	cfg.request_timeout_ms = timeout_ms;
	cfg.clock = &hooks;
	rc = s3i_client_new(&fx.c, &cfg, &err);
	if (rc)
		fail_msg("s3i_client_new: %s", err.message);
	s3i_credprov_release(fx.creds);   /* the client holds its own reference */
	script_reset();
}

static void client_up(int max_attempts) { client_up_with(max_attempts, 1000, 0, NULL); }

static void client_down(void)
{
	s3i_client_free(fx.c);
	s3i_http_free(fx.http);
	memset(&fx, 0, sizeof(fx));
	script_reset();
}

/* Run one call; the response body (if any) is copied into a static buffer. */
static char last_body[65536];
static int last_status;

static int call(const s3i_call *cl, s3i_errinfo *err)
{
	s3i_http_response resp;
	s3i_http_response_init(&resp, s3i_test_alloc());
	s3i_errinfo_init(err);
	int rc = s3i_client_call(fx.c, cl, &resp, err);
	snprintf(last_body, sizeof(last_body), "%.*s", (int)resp.body.size, s3i_buf_cstr(&resp.body));
	last_status = resp.status;
	s3i_http_response_free(&resp);
	return rc;
}

static s3i_call s3_get(const char *bucket, const char *key)
{
	s3i_call c;
	memset(&c, 0, sizeof(c));
	c.svc = &svc_s3;
	c.operation = "GetObject";
	c.resource = "key 'k' in bucket 'b'";
	c.method = "GET";
	c.bucket = bucket;
	c.key = key;
	return c;
}

static const char S3_503[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>ServiceUnavailable"
	"</Code><Message>Please reduce your request rate.</Message><RequestId>R503</RequestId></Error>";
static const char S3_SLOWDOWN[] = "<Error><Code>SlowDown</Code><Message>Please reduce your request "
	"rate.</Message><RequestId>RSLOW</RequestId></Error>";

/* ------------------------------------------------------------------ basic outcomes */

static void t_success_first_try(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESPOND, 200, "Content-Type: text/plain\r\n", "hello");
	s3i_call c = s3_get("bkt", "dir/key one.txt");
	s3i_errinfo err;
	int rc = call(&c, &err);
	if (rc)
		fail_msg("call: %d %s", rc, err.message);
	assert_int_equal(last_status, 200);
	assert_string_equal(last_body, "hello");
	assert_int_equal(nreqs(), 1);
	assert_int_equal(clk.nsleeps, 0);
	assert_string_equal(srv.reqs[0].method, "GET");
	assert_string_equal(srv.reqs[0].target, "/bkt/dir/key%20one.txt");
	/* signed with the injected clock, the static keys and the token */
	char amz[17];
	s3i_time_amz(amz, start_ms / 1000);
	assert_string_equal(req_header(0, "X-Amz-Date"), amz);
	char scope[128];
	snprintf(scope, sizeof(scope), AKID "/%.8s/us-east-1/s3/aws4_request", amz);
	assert_string_equal(auth_scope(0), scope);
	assert_non_null(strstr(req_header(0, "Authorization"), "AWS4-HMAC-SHA256 "));
	assert_non_null(strstr(req_header(0, "Authorization"), "Signature="));
	assert_string_equal(req_header(0, "X-Amz-Security-Token"), TOKEN);
	assert_non_null(req_header(0, "x-amz-content-sha256"));
	assert_non_null(req_header(0, "Host"));
	assert_null(strstr(srv.reqs[0].headers, SECRET));
	client_down();
}

static void t_503_then_200(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESPOND, 503, "Content-Type: application/xml\r\n", S3_503);
	script(S3I_LB_RESPOND, 200, "", "ok");
	s3i_call c = s3_get("bkt", "k");
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_string_equal(last_body, "ok");
	assert_int_equal(nreqs(), 2);
	assert_int_equal(clk.nsleeps, 1);          /* every retry waits (0 ms too) through the hook */
	assert_true(delay_before(1) >= 0 && delay_before(1) <= 1000);
	/* each attempt carries its own signature */
	assert_non_null(req_header(1, "Authorization"));
	client_down();
}

static void t_throttling_retried(void **state)
{
	(void)state;
	/* JSON protocol: 400 ThrottlingException */
	client_up(3);
	script(S3I_LB_RESPOND, 400, "Content-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: RT1\r\n",
		"{\"__type\":\"com.amazon.coral.availability#ThrottlingException\",\"message\":\"Rate exceeded\"}");
	script(S3I_LB_RESPOND, 200, "Content-Type: application/x-amz-json-1.0\r\n", "{\"TableNames\":[]}");
	s3i_call c;
	memset(&c, 0, sizeof(c));
	c.svc = &svc_ddb;
	c.operation = "ListTables";
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_string_equal(last_body, "{\"TableNames\":[]}");
	assert_int_equal(nreqs(), 2);
	assert_int_equal(clk.nsleeps, 1);
	client_down();

	/* S3: 503 SlowDown */
	client_up(3);
	script(S3I_LB_RESPOND, 503, "Content-Type: application/xml\r\n", S3_SLOWDOWN);
	script(S3I_LB_RESPOND, 200, "", "ok");
	c = s3_get("bkt", "k");
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_int_equal(nreqs(), 2);
	client_down();

	/* throttled on every attempt: S3I_ETHROTTLED after max_attempts */
	client_up(3);
	script(S3I_LB_RESPOND, 400, "Content-Type: application/x-amz-json-1.0\r\n",
		"{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}");
	memset(&c, 0, sizeof(c));
	c.svc = &svc_ddb;
	c.operation = "ListTables";
	assert_int_equal(call(&c, &err), S3I_ETHROTTLED);
	assert_int_equal(nreqs(), 3);
	assert_int_equal(clk.nsleeps, 2);
	assert_string_equal(err.pub.aws_code, "ThrottlingException");
	assert_non_null(strstr(err.pub.message, "3 attempts"));
	assert_true(s3i_status_is_retryable(err.pub.code));
	client_down();
}

static void t_max_attempts(void **state)
{
	(void)state;
	/* AWS_MAX_ATTEMPTS when the configuration says nothing */
	setenv("AWS_MAX_ATTEMPTS", "5", 1);
	client_up(0);
	script(S3I_LB_RESPOND, 503, "", S3_503);
	s3i_call c = s3_get("bkt", "k");
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_ESERVICE);
	assert_int_equal(nreqs(), 5);
	assert_int_equal(clk.nsleeps, 4);
	assert_int_equal(err.pub.http_status, 503);
	client_down();
	/* the configuration wins over the variable */
	client_up(2);
	script(S3I_LB_RESPOND, 503, "", S3_503);
	assert_int_equal(call(&c, &err), S3I_ESERVICE);
	assert_int_equal(nreqs(), 2);
	client_down();
	/* garbage in the variable: the default */
	setenv("AWS_MAX_ATTEMPTS", "lots", 1);
	client_up(0);
	script(S3I_LB_RESPOND, 503, "", S3_503);
	assert_int_equal(call(&c, &err), S3I_ESERVICE);
	assert_int_equal(nreqs(), 3);
	client_down();
	/* default 3 */
	unsetenv("AWS_MAX_ATTEMPTS");
	client_up(0);
	script(S3I_LB_RESPOND, 503, "", S3_503);
	assert_int_equal(call(&c, &err), S3I_ESERVICE);
	assert_int_equal(nreqs(), 3);
	assert_int_equal(clk.nsleeps, 2);
	client_down();
	/* one attempt: never retried */
	client_up(1);
	script(S3I_LB_RESPOND, 503, "", S3_503);
	assert_int_equal(call(&c, &err), S3I_ESERVICE);
	assert_int_equal(nreqs(), 1);
	assert_int_equal(clk.nsleeps, 0);
	client_down();
}

static void t_backoff_full_jitter(void **state)
{
	(void)state;
	int over_base_late = 0, nonzero = 0;
	for (int run = 0; run < 5; run++) {
		client_up_with(10, 1000, 0, NULL);
		script(S3I_LB_RESPOND, 503, "", S3_503);
		s3i_call c = s3_get("bkt", "k");
		s3i_errinfo err;
		assert_int_equal(call(&c, &err), S3I_ESERVICE);
		assert_int_equal(nreqs(), 10);
		for (int i = 1; i < 10; i++) {
			int64_t cap = 1000LL << (i - 1);   /* base * 2^(attempt-1) before attempt i+1 */
			if (cap > 20000)
				cap = 20000;
			int64_t d = delay_before(i);
			if (d < 0 || d > cap)
				fail_msg("retry %d waited %lld ms, outside [0, %lld]", i, (long long)d, (long long)cap);
			if (i >= 4 && d > 1000)
				over_base_late++;
			if (d > 0)
				nonzero++;
		}
		client_down();
	}
	/* the delays grow (full jitter over a growing window), and are random, not zero */
	assert_true(over_base_late > 0);
	assert_true(nonzero > 20);

	/* a smaller base from the environment */
	setenv("S3I_RETRY_BASE_MS", "10", 1);
	client_up_with(6, 0, 0, NULL);
	unsetenv("S3I_RETRY_BASE_MS");
	script(S3I_LB_RESPOND, 503, "", S3_503);
	s3i_call c = s3_get("bkt", "k");
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_ESERVICE);
	assert_int_equal(nreqs(), 6);
	for (int i = 1; i < 6; i++)
		assert_true(delay_before(i) >= 0 && delay_before(i) <= (10LL << (i - 1)));
	client_down();
}

static void t_retry_after(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESPOND, 503, "Retry-After: 7\r\n", S3_SLOWDOWN);
	script(S3I_LB_RESPOND, 200, "", "ok");
	s3i_call c = s3_get("bkt", "k");
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_int_equal(nreqs(), 2);
	assert_int_equal(clk.nsleeps, 1);
	assert_true(clk.sleeps[0] >= 7000);
	assert_true(clk.sleeps[0] <= 20000);
	client_down();

	/* as an HTTP date, 5 s after the (injected) now */
	client_up(3);
	char hdr[128], date[64];
	http_date(date, sizeof(date), start_ms + 5000);
	snprintf(hdr, sizeof(hdr), "Retry-After: %s\r\n", date);
	script(S3I_LB_RESPOND, 503, hdr, S3_SLOWDOWN);
	script(S3I_LB_RESPOND, 200, "", "ok");
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_int_equal(clk.nsleeps, 1);
	assert_true(clk.sleeps[0] >= 4000);
	assert_true(clk.sleeps[0] <= 20000);
	client_down();

	/* an absurd Retry-After is capped */
	client_up(2);
	script(S3I_LB_RESPOND, 503, "Retry-After: 86400\r\n", S3_SLOWDOWN);
	script(S3I_LB_RESPOND, 200, "", "ok");
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_int_equal(clk.nsleeps, 1);
	assert_true(clk.sleeps[0] <= 20000);
	client_down();
}

static void t_validation_not_retried(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESPOND, 400, "Content-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: REQ-VAL-1\r\n",
		"{\"__type\":\"com.amazon.coral.validate#ValidationException\",\"message\":\"1 validation "
		"error detected: Value null at 'tableName' failed to satisfy constraint\"}");
	s3i_call c;
	memset(&c, 0, sizeof(c));
	c.svc = &svc_ddb;
	c.operation = "PutItem";
	c.resource = "table 'orders'";
	c.body = "{\"TableName\":null}";
	c.body_len = strlen(c.body);
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_EINVALID);
	assert_int_equal(nreqs(), 1);
	assert_int_equal(clk.nsleeps, 0);
	assert_int_equal(err.pub.code, S3I_EINVALID);
	assert_int_equal(err.pub.http_status, 400);
	assert_string_equal(err.pub.aws_code, "ValidationException");
	assert_string_equal(err.pub.request_id, "REQ-VAL-1");
	assert_string_equal(err.pub.resource, "table 'orders'");
	const char *m = err.pub.message;
	assert_non_null(strstr(m, "PutItem"));
	assert_non_null(strstr(m, "table 'orders'"));
	assert_non_null(strstr(m, "ValidationException"));
	assert_non_null(strstr(m, "400"));
	assert_non_null(strstr(m, "REQ-VAL-1"));
	assert_non_null(strstr(m, "1 validation error detected"));
	/* mirrored into the thread's last error */
	assert_int_equal(s3i_error_last()->code, S3I_EINVALID);
	assert_string_equal(s3i_error_last()->request_id, "REQ-VAL-1");
	client_down();
}

static void t_not_found(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESPOND, 404, "Content-Type: application/xml\r\nx-amz-request-id: RNF\r\n",
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
		"specified key does not exist.</Message><Key>k</Key><RequestId>RNF</RequestId></Error>");
	s3i_call c = s3_get("bkt", "k");
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_ENOTFOUND);
	assert_int_equal(nreqs(), 1);
	assert_string_equal(err.pub.aws_code, "NoSuchKey");
	assert_int_equal(err.pub.http_status, 404);
	assert_string_equal(err.pub.request_id, "RNF");
	assert_non_null(strstr(err.pub.message, "GetObject"));
	assert_non_null(strstr(err.pub.message, "key 'k' in bucket 'b'"));
	client_down();

	/* HEAD: no body at all */
	client_up(3);
	script(S3I_LB_RESPOND, 404, "x-amz-request-id: RHEAD\r\n", NULL);
	c = s3_get("bkt", "k");
	c.method = "HEAD";
	c.operation = "HeadObject";
	assert_int_equal(call(&c, &err), S3I_ENOTFOUND);
	assert_int_equal(nreqs(), 1);
	assert_string_equal(srv.reqs[0].method, "HEAD");
	assert_string_equal(err.pub.aws_code, "NotFound");
	assert_int_equal(err.pub.http_status, 404);
	assert_string_equal(err.pub.request_id, "RHEAD");
	assert_non_null(strstr(err.pub.message, "HeadObject"));
	client_down();
}

/* ------------------------------------------------------------------ transport failures */

static void t_connection_reset(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESET, 0, "", NULL);
	s3i_call c = s3_get("bkt", "k");
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_ENETWORK);
	assert_int_equal(nreqs(), 3);
	assert_int_equal(clk.nsleeps, 2);
	assert_int_equal(err.pub.http_status, 0);
	assert_non_null(strstr(err.pub.message, "GetObject"));
	client_down();

	/* a reset, then an answer */
	client_up(3);
	script(S3I_LB_RESET, 0, "", NULL);
	script(S3I_LB_RESPOND, 200, "", "after reset");
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_string_equal(last_body, "after reset");
	assert_int_equal(nreqs(), 2);
	client_down();

	/* closed without an answer */
	client_up(2);
	script(S3I_LB_CLOSE, 0, "", NULL);
	assert_int_equal(call(&c, &err), S3I_ENETWORK);
	assert_int_equal(nreqs(), 2);
	client_down();
}

static int64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void t_hang_timeout(void **state)
{
	(void)state;
	client_up_with(2, 1000, 300, NULL);
	script(S3I_LB_HANG, 0, "", NULL);
	s3i_call c = s3_get("bkt", "k");
	s3i_errinfo err;
	int64_t t0 = real_ms();
	assert_int_equal(call(&c, &err), S3I_ETIMEOUT);
	int64_t took = real_ms() - t0;
	assert_int_equal(nreqs(), 2);                 /* timeouts are retried */
	assert_int_equal(clk.nsleeps, 1);
	assert_true(took >= 500);
	assert_true(took < 10000);
	assert_non_null(strstr(err.pub.message, "GetObject"));
	client_down();

	/* the call's own timeout wins over the client's */
	client_up_with(1, 1000, 60000, NULL);
	script(S3I_LB_HANG, 0, "", NULL);
	c.timeout_ms = 200;
	t0 = real_ms();
	assert_int_equal(call(&c, &err), S3I_ETIMEOUT);
	assert_true(real_ms() - t0 < 10000);
	client_down();
}

/* ------------------------------------------------------------------ corrections */

static int64_t amz_to_ms(const char *amz)
{
	assert_non_null(amz);
	int y, mo, d, h, mi, s;
	assert_int_equal(sscanf(amz, "%4d%2d%2dT%2d%2d%2dZ", &y, &mo, &d, &h, &mi, &s), 6);
	return s3i_time_from_utc(y, mo, d, h, mi, s) * 1000;
}

static void t_clock_skew(void **state)
{
	(void)state;
	client_up(3);
	char hdr[256], date[64];
	http_date(date, sizeof(date), start_ms + 3600 * 1000);
	snprintf(hdr, sizeof(hdr), "Date: %s\r\nContent-Type: application/xml\r\n", date);
	script(S3I_LB_RESPOND, 403, hdr, "<Error><Code>RequestTimeTooSkewed</Code><Message>The "
		"difference between the request time and the current time is too large.</Message></Error>");
	script(S3I_LB_RESPOND, 200, "", "ok");
	s3i_call c = s3_get("bkt", "k");
	s3i_errinfo err;
	int rc = call(&c, &err);
	if (rc)
		fail_msg("call: %d %s", rc, err.message);
	assert_int_equal(nreqs(), 2);
	assert_int_equal(clk.nsleeps, 0);         /* corrected at once, no backoff */
	int64_t first = amz_to_ms(req_header(0, "X-Amz-Date"));
	int64_t second = amz_to_ms(req_header(1, "X-Amz-Date"));
	assert_true(llabs(first - start_ms) <= 1000);
	assert_true(llabs(second - (start_ms + 3600 * 1000)) <= 2000);
	assert_true(llabs(s3i_client_clock_skew_ms(fx.c) - 3600 * 1000) <= 1000);
	assert_true(llabs(s3i_client_now_ms(fx.c) - (start_ms + 3600 * 1000)) <= 1000);
	/* the scope date follows the corrected clock too */
	char amz[17], day[16];
	s3i_time_amz(amz, (start_ms + 3600 * 1000) / 1000);
	snprintf(day, sizeof(day), "/%.8s/", amz);
	assert_non_null(strstr(auth_scope(1), day));
	/* the next call is signed with the corrected clock straight away */
	script_reset();
	script(S3I_LB_RESPOND, 200, "", "ok");
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_int_equal(nreqs(), 1);
	assert_true(llabs(amz_to_ms(req_header(0, "X-Amz-Date")) - (start_ms + 3600 * 1000)) <= 2000);
	client_down();

	/* skew corrected once per call: a server that keeps complaining ends the call */
	client_up(3);
	script(S3I_LB_RESPOND, 403, hdr, "<Error><Code>RequestTimeTooSkewed</Code><Message>x</Message></Error>");
	http_date(date, sizeof(date), start_ms - 2 * 3600 * 1000);
	char hdr2[256];
	snprintf(hdr2, sizeof(hdr2), "Date: %s\r\n", date);
	script(S3I_LB_RESPOND, 403, hdr2, "<Error><Code>RequestTimeTooSkewed</Code><Message>x</Message></Error>");
	assert_int_equal(call(&c, &err), S3I_EAUTH);
	assert_int_equal(nreqs(), 2);
	assert_string_equal(err.pub.aws_code, "RequestTimeTooSkewed");
	client_down();
}

static void t_signature_mismatch_not_skew(void **state)
{
	(void)state;
	client_up(3);
	char hdr[256], date[64];
	http_date(date, sizeof(date), start_ms);
	snprintf(hdr, sizeof(hdr), "Date: %s\r\nContent-Type: application/xml\r\n", date);
	script(S3I_LB_RESPOND, 403, hdr, "<Error><Code>SignatureDoesNotMatch</Code><Message>The request "
		"signature we calculated does not match the signature you provided.</Message></Error>");
	s3i_call c = s3_get("bkt", "k");
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_EAUTH);
	assert_int_equal(nreqs(), 1);
	assert_int_equal(clk.nsleeps, 0);
	assert_int_equal(s3i_client_clock_skew_ms(fx.c), 0);
	assert_string_equal(err.pub.aws_code, "SignatureDoesNotMatch");
	assert_int_equal(err.pub.http_status, 403);
	client_down();
}

/* A provider that hands out new keys on every fetch, so invalidation shows on the wire. */
static int fetches;

static int counting_fetch(s3i_credprov *p, s3i_credentials *out, s3i_errinfo *err)
{
	(void)p;
	(void)err;
	char ak[32];
	snprintf(ak, sizeof(ak), "AKIDFETCH%011d", ++fetches);
	return s3i_credentials_set(out, ak, "fetchedSecret", "fetchedToken", 0, "static", "");
}

static const s3i_credprov_ops counting_ops = { "counting test provider", counting_fetch, NULL, NULL, NULL };

static void t_expired_token(void **state)
{
	(void)state;
	static const char expired[] = "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>"
		"<Message>The security token included in the request is expired</Message></Error>"
		"<RequestId>REXP</RequestId></ErrorResponse>";
	fetches = 0;
	s3i_credprov *prov = NULL;
	s3i_credprov_env env;
	memset(&env, 0, sizeof(env));
	env.alloc = s3i_test_alloc();
	s3i_errinfo err;
	assert_int_equal(s3i_credprov_create(&prov, &env, &counting_ops, NULL, &err), S3I_OK);
	client_up_with(3, 1000, 0, prov);
	script(S3I_LB_RESPOND, 400, "Content-Type: text/xml\r\n", expired);
	script(S3I_LB_RESPOND, 200, "", "ok");
	s3i_call c = s3_get("bkt", "k");
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_int_equal(nreqs(), 2);
	assert_int_equal(fetches, 2);                  /* the cache was dropped */
	assert_int_equal(clk.nsleeps, 0);
	assert_non_null(strstr(auth_scope(0), "AKIDFETCH00000000001/"));
	assert_non_null(strstr(auth_scope(1), "AKIDFETCH00000000002/"));
	/* once per call: still expired after the refresh ends the call */
	script_reset();
	script(S3I_LB_RESPOND, 400, "Content-Type: text/xml\r\n", expired);
	assert_int_equal(call(&c, &err), S3I_EAUTH);
	assert_int_equal(nreqs(), 2);
	assert_int_equal(fetches, 3);
	assert_string_equal(err.pub.aws_code, "ExpiredToken");
	client_down();

	/* static credentials: retried once as well, then reported */
	client_up(3);
	script(S3I_LB_RESPOND, 400, "Content-Type: text/xml\r\n", expired);
	assert_int_equal(call(&c, &err), S3I_EAUTH);
	assert_int_equal(nreqs(), 2);
	client_down();
}

static void t_region_redirect(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESPOND, 301, "x-amz-bucket-region: eu-central-1\r\nContent-Type: application/xml\r\n",
		"<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must "
		"be addressed using the specified endpoint.</Message><Bucket>bkt</Bucket></Error>");
	script(S3I_LB_RESPOND, 200, "", "moved");
	s3i_call c = s3_get("bkt", "k");
	s3i_errinfo err;
	int rc = call(&c, &err);
	if (rc)
		fail_msg("call: %d %s", rc, err.message);
	assert_string_equal(last_body, "moved");
	assert_int_equal(nreqs(), 2);
	assert_int_equal(clk.nsleeps, 0);
	assert_non_null(strstr(auth_scope(0), "/us-east-1/s3/aws4_request"));
	assert_non_null(strstr(auth_scope(1), "/eu-central-1/s3/aws4_request"));
	client_down();

	/* 400 AuthorizationHeaderMalformed naming the region */
	client_up(3);
	script(S3I_LB_RESPOND, 400, "x-amz-bucket-region: ap-northeast-1\r\n",
		"<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is "
		"wrong; expecting 'ap-northeast-1'</Message><Region>ap-northeast-1</Region></Error>");
	script(S3I_LB_RESPOND, 200, "", "ok");
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_int_equal(nreqs(), 2);
	assert_non_null(strstr(auth_scope(1), "/ap-northeast-1/s3/aws4_request"));
	client_down();

	/* once per call; a junk region header is not followed */
	client_up(3);
	script(S3I_LB_RESPOND, 301, "x-amz-bucket-region: evil.example.com/x\r\n",
		"<Error><Code>PermanentRedirect</Code><Message>m</Message></Error>");
	assert_true(call(&c, &err) < 0);
	assert_int_equal(nreqs(), 1);
	client_down();
}

/* Waiters (DynamoDB, CloudFormation, Athena) sleep through the client, so the context's clock
 * hook sees every wait and tests run them without real waiting. */
static void t_client_sleep_hook(void **state)
{
	(void)state;
	client_up(1);
	s3i_client_sleep_ms(fx.c, 250);
	s3i_client_sleep_ms(fx.c, 0);
	s3i_client_sleep_ms(fx.c, -5);
	assert_int_equal(clk.nsleeps, 3);
	assert_int_equal(clk.sleeps[0], 250);
	assert_int_equal(clk.sleeps[1], 0);
	assert_int_equal(clk.sleeps[2], 0);
	assert_int_equal(s3i_client_now_ms(fx.c), start_ms + 250);
	client_down();

	/* without a hook: the system's sleep (and a zero or negative wait returns at once) */
	s3i_http *http = NULL;
	s3i_credprov *creds = NULL;
	s3i_client *c = NULL;
	s3i_http_options ho;
	memset(&ho, 0, sizeof(ho));
	assert_int_equal(s3i_http_new(&http, s3i_test_alloc(), &ho, NULL), S3I_OK);
	assert_int_equal(s3i_credprov_new_static(&creds, s3i_test_alloc(), AKID, SECRET, NULL, NULL), S3I_OK);
	s3i_client_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.alloc = s3i_test_alloc();
	cfg.region = "us-east-1";
	cfg.http = http;
	cfg.creds = creds;
	assert_int_equal(s3i_client_new(&c, &cfg, NULL), S3I_OK);
	s3i_credprov_release(creds);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s3i_client_sleep_ms(c, 20);
	s3i_client_sleep_ms(c, 0);
	s3i_client_sleep_ms(c, -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t slept_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(slept_ms >= 20);                 /* nanosleep never returns early */
	s3i_client_free(c);
	s3i_http_free(http);
}

/* IAM and Organizations sign in their partition's region whatever the call's region; the
 * service's own global_region is only a fallback. Regional services sign in the call's. */
static void t_global_service_signing_region(void **state)
{
	(void)state;
	static const s3i_service svc_iam = { "iam", "iam", S3I_PROTO_QUERY, NULL, "2010-05-08", "us-east-1" };
	static const s3i_service svc_org = { "organizations", "organizations", S3I_PROTO_JSON_11,
		"AWSOrganizationsV20161128", NULL, "us-east-1" };
	static const s3i_service svc_route53 = { "route53", "route53", S3I_PROTO_REST_XML, NULL,
		"2013-04-01", "us-east-1" };
	static const struct { const s3i_service *svc; const char *op, *region, *scope; } cases[] = {
		{ &svc_iam, "ListUsers", "eu-west-1", "/us-east-1/iam/aws4_request" },
		{ &svc_iam, "ListUsers", "cn-northwest-1", "/cn-north-1/iam/aws4_request" },
		{ &svc_iam, "ListUsers", "us-gov-east-1", "/us-gov-west-1/iam/aws4_request" },
		{ &svc_org, "ListAccounts", "ap-southeast-2", "/us-east-1/organizations/aws4_request" },
		{ &svc_org, "ListAccounts", "cn-north-1", "/cn-northwest-1/organizations/aws4_request" },
		{ &svc_org, "ListAccounts", "us-gov-east-1", "/us-gov-west-1/organizations/aws4_request" },
		{ &svc_route53, "ListHostedZones", "eu-west-1", "/us-east-1/route53/aws4_request" },
		{ &svc_sts, "GetCallerIdentity", "cn-north-1", "/cn-north-1/sts/aws4_request" },
		{ &svc_ddb, "ListTables", "us-gov-west-1", "/us-gov-west-1/dynamodb/aws4_request" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		client_up(1);
		script(S3I_LB_RESPOND, 200, "Content-Type: text/xml\r\n", "<ok/>");
		s3i_call c;
		memset(&c, 0, sizeof(c));
		c.svc = cases[i].svc;
		c.operation = cases[i].op;
		c.region = cases[i].region;
		s3i_errinfo err;
		int rc = call(&c, &err);
		if (rc)
			fail_msg("%s in %s: %d %s", cases[i].op, cases[i].region, rc, err.message);
		assert_int_equal(nreqs(), 1);
		if (!strstr(auth_scope(0), cases[i].scope))
			fail_msg("%s %s in %s signed with %s, want ...%s", cases[i].svc->endpoint_id,
				cases[i].op, cases[i].region, auth_scope(0), cases[i].scope);
		client_down();
	}
}

/* ------------------------------------------------------------------ protocols */

static void t_query_protocol(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESPOND, 200, "Content-Type: text/xml\r\n",
		"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account>"
		"</GetCallerIdentityResult></GetCallerIdentityResponse>");
	s3i_params p;
	s3i_params_init(&p, s3i_test_alloc());
	assert_int_equal(s3i_params_add(&p, "RoleArn", "arn:aws:iam::123456789012:role/a b"), S3I_OK);
	assert_int_equal(s3i_params_add(&p, "Tags.member.1.Value", "x+y=z&w~"), S3I_OK);
	s3i_call c;
	memset(&c, 0, sizeof(c));
	c.svc = &svc_sts;
	c.operation = "AssumeRole";
	c.params = &p;
	s3i_errinfo err;
	int rc = call(&c, &err);
	s3i_params_free(&p);
	if (rc)
		fail_msg("call: %d %s", rc, err.message);
	assert_int_equal(nreqs(), 1);
	assert_string_equal(srv.reqs[0].method, "POST");
	assert_string_equal(srv.reqs[0].target, "/");
	assert_string_equal(req_header(0, "Content-Type"), "application/x-www-form-urlencoded; charset=utf-8");
	assert_null(req_header(0, "X-Amz-Target"));
	assert_string_equal(srv.reqs[0].body, "Action=AssumeRole&Version=2011-06-15"
		"&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fa+b"
		"&Tags.member.1.Value=x%2By%3Dz%26w~");
	assert_non_null(strstr(auth_scope(0), "/us-east-1/sts/aws4_request"));
	/* no parameters */
	script_reset();
	script(S3I_LB_RESPOND, 200, "", "<r/>");
	c.params = NULL;
	c.operation = "GetCallerIdentity";
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_string_equal(srv.reqs[0].body, "Action=GetCallerIdentity&Version=2011-06-15");
	client_down();
}

static void t_json_protocol(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESPOND, 200, "Content-Type: application/x-amz-json-1.0\r\n", "{\"TableNames\":[\"t\"]}");
	s3i_call c;
	memset(&c, 0, sizeof(c));
	c.svc = &svc_ddb;
	c.operation = "ListTables";
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_string_equal(last_body, "{\"TableNames\":[\"t\"]}");
	assert_string_equal(srv.reqs[0].method, "POST");
	assert_string_equal(srv.reqs[0].target, "/");
	assert_string_equal(req_header(0, "Content-Type"), "application/x-amz-json-1.0");
	assert_string_equal(req_header(0, "X-Amz-Target"), "DynamoDB_20120810.ListTables");
	assert_string_equal(srv.reqs[0].body, "{}");      /* no body given: an empty object */
	assert_non_null(strstr(auth_scope(0), "/us-east-1/dynamodb/aws4_request"));
	assert_non_null(strstr(req_header(0, "Authorization"), "x-amz-target"));   /* signed */

	script_reset();
	script(S3I_LB_RESPOND, 200, "Content-Type: application/x-amz-json-1.1\r\n", "{\"QueryExecutionId\":\"q\"}");
	memset(&c, 0, sizeof(c));
	c.svc = &svc_athena;
	c.operation = "StartQueryExecution";
	c.region = "eu-west-1";
	c.body = "{\"QueryString\":\"SELECT 1\"}";
	c.body_len = strlen(c.body);
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_string_equal(req_header(0, "Content-Type"), "application/x-amz-json-1.1");
	assert_string_equal(req_header(0, "X-Amz-Target"), "AmazonAthena.StartQueryExecution");
	assert_string_equal(srv.reqs[0].body, "{\"QueryString\":\"SELECT 1\"}");
	assert_non_null(strstr(auth_scope(0), "/eu-west-1/athena/aws4_request"));
	client_down();
}

static void md5_b64(const void *data, size_t len, char out[25])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_md5(), NULL), 1);
	assert_int_equal(n, 16);
	assert_int_equal(EVP_EncodeBlock((unsigned char *)out, md, 16), 24);
}

static void t_content_md5(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESPOND, 200, "", NULL);
	const char body[] = "<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet></Delete>";
	s3i_params q;
	s3i_params_init(&q, s3i_test_alloc());
	assert_int_equal(s3i_params_add(&q, "delete", NULL), S3I_OK);
	s3i_call c;
	memset(&c, 0, sizeof(c));
	c.svc = &svc_s3;
	c.operation = "DeleteObjects";
	c.method = "POST";
	c.bucket = "bkt";
	c.params = &q;
	c.body = body;
	c.body_len = strlen(body);
	c.content_type = "application/xml";
	c.content_md5 = 1;
	s3i_errinfo err;
	int rc = call(&c, &err);
	s3i_params_free(&q);
	if (rc)
		fail_msg("call: %d %s", rc, err.message);
	char want[25];
	md5_b64(body, strlen(body), want);
	const char *got = req_header(0, "Content-MD5");
	assert_non_null(got);
	assert_string_equal(got, want);
	/* and it is what arrived */
	char arrived[25];
	assert_int_equal(EVP_EncodeBlock((unsigned char *)arrived, srv.reqs[0].md5, 16), 24);
	assert_string_equal(got, arrived);
	assert_string_equal(srv.reqs[0].target, "/bkt/?delete");
	assert_string_equal(req_header(0, "Content-Type"), "application/xml");
	assert_non_null(strstr(req_header(0, "Authorization"), "content-md5"));   /* signed */

	/* not asked for: not sent */
	script_reset();
	script(S3I_LB_RESPOND, 200, "", NULL);
	c.params = NULL;
	c.content_md5 = 0;
	c.method = "PUT";
	c.key = "k";
	c.operation = "PutObject";
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_null(req_header(0, "Content-MD5"));
	client_down();
}

/* ------------------------------------------------------------------ streamed bodies */

typedef struct mem_src {
	const char *data;
	size_t len, pos;
	int rewinds;
} mem_src;

static int mem_read(void *user, char *buf, size_t cap, size_t *out_len)
{
	mem_src *m = user;
	size_t n = m->len - m->pos < cap ? m->len - m->pos : cap;
	if (n > 1000)
		n = 1000;      /* small chunks */
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	*out_len = n;
	return 0;
}

static int mem_rewind(void *user)
{
	mem_src *m = user;
	m->pos = 0;
	m->rewinds++;
	return 0;
}

static void t_streamed_body_rewind(void **state)
{
	(void)state;
	static char data[40000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 23);
	unsigned char want_md5[16];
	unsigned int n = 0;
	EVP_Digest(data, sizeof(data), want_md5, &n, EVP_md5(), NULL);

	client_up(3);
	script(S3I_LB_RESPOND, 503, "", S3_503);
	script(S3I_LB_RESPOND, 200, "", NULL);
	mem_src src = { data, sizeof(data), 0, 0 };
	s3i_call c;
	memset(&c, 0, sizeof(c));
	c.svc = &svc_s3;
	c.operation = "PutObject";
	c.method = "PUT";
	c.bucket = "bkt";
	c.key = "big";
	c.body_read = mem_read;
	c.body_rewind = mem_rewind;
	c.body_user = &src;
	c.body_length = (int64_t)sizeof(data);
	s3i_errinfo err;
	int rc = call(&c, &err);
	if (rc)
		fail_msg("call: %d %s", rc, err.message);
	assert_int_equal(nreqs(), 2);
	assert_int_equal(src.rewinds, 1);
	assert_int_equal(srv.reqs[1].body_len, sizeof(data));
	assert_memory_equal(srv.reqs[1].md5, want_md5, 16);
	assert_string_equal(req_header(1, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
	client_down();

	/* without a rewind the body cannot be sent twice: no retry */
	client_up(3);
	script(S3I_LB_RESPOND, 503, "", S3_503);
	script(S3I_LB_RESPOND, 200, "", NULL);
	mem_src once = { data, sizeof(data), 0, 0 };
	c.body_rewind = NULL;
	c.body_user = &once;
	assert_int_equal(call(&c, &err), S3I_ESERVICE);
	assert_int_equal(nreqs(), 1);
	client_down();
}

typedef struct sink_state {
	char data[256];
	size_t len;
	int resets;
} sink_state;

static int sink_write(void *user, const char *data, size_t len)
{
	sink_state *s = user;
	if (s->len + len >= sizeof(s->data))
		return S3I_EIO;
	memcpy(s->data + s->len, data, len);
	s->len += len;
	return 0;
}

static int sink_reset(void *user)
{
	sink_state *s = user;
	s->len = 0;
	s->resets++;
	return 0;
}

static void t_sink_not_polluted_by_errors(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESPOND, 503, "", S3_503);
	script(S3I_LB_RESPOND, 200, "", "the real body");
	sink_state st;
	memset(&st, 0, sizeof(st));
	s3i_call c = s3_get("bkt", "k");
	c.sink = sink_write;
	c.sink_user = &st;
	c.sink_reset = sink_reset;
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_OK);
	assert_int_equal(st.len, strlen("the real body"));
	assert_memory_equal(st.data, "the real body", st.len);
	assert_int_equal(nreqs(), 2);
	client_down();
}

/* ------------------------------------------------------------------ retry quota */

static void t_retry_quota(void **state)
{
	(void)state;
	client_up_with(1000, 1, 0, NULL);
	script(S3I_LB_RESPOND, 503, "", S3_503);
	s3i_call c = s3_get("bkt", "k");
	s3i_errinfo err;
	assert_int_equal(call(&c, &err), S3I_ESERVICE);
	/* 500 tokens at 5 per retry: 100 retries (each one waits through the hook, a 0 ms
	 * jitter too), then the quota stops the call */
	assert_int_equal(nreqs(), 101);
	assert_int_equal(clk.nsleeps, 100);
	for (int i = 0; i < 100; i++) {
		int64_t cap = i < 15 ? (1LL << i) : 20000;   /* base 1 ms, doubling, capped at 20 s */
		if (cap > 20000)
			cap = 20000;
		if (clk.sleeps[i] < 0 || clk.sleeps[i] > cap)
			fail_msg("retry %d waited %lld ms, outside [0, %lld]", i + 1,
				(long long)clk.sleeps[i], (long long)cap);
		assert_int_equal(delay_before(i + 1), clk.sleeps[i]);
	}
	assert_non_null(strstr(err.pub.message, "quota"));
	/* later failing calls are not retried at all */
	for (int i = 0; i < 3; i++) {
		script_reset();
		script(S3I_LB_RESPOND, 503, "", S3_503);
		assert_int_equal(call(&c, &err), S3I_ESERVICE);
		assert_int_equal(nreqs(), 1);
	}
	/* successes refill slowly (1 token each); 5 of them pay for one retry */
	script_reset();
	script(S3I_LB_RESPOND, 200, "", "ok");
	for (int i = 0; i < 5; i++)
		assert_int_equal(call(&c, &err), S3I_OK);
	script_reset();
	script(S3I_LB_RESPOND, 503, "", S3_503);
	assert_int_equal(call(&c, &err), S3I_ESERVICE);
	assert_int_equal(nreqs(), 2);
	client_down();
	/* a new client has a full quota */
	client_up_with(4, 1, 0, NULL);
	script(S3I_LB_RESPOND, 503, "", S3_503);
	assert_int_equal(call(&c, &err), S3I_ESERVICE);
	assert_int_equal(nreqs(), 4);
	client_down();
}

static void t_client_oom(void **state)
{
	(void)state;
	client_up(3);
	script(S3I_LB_RESPOND, 200, "", "ok");
	s3i_call c = s3_get("bkt", "k");
	long n;
	for (n = 0; n < 10000; n++) {
		s3i_errinfo err;
		s3i_http_response resp;
		s3i_http_response_init(&resp, s3i_test_alloc());
		long before = s3i_test_alloc_outstanding();
		s3i_test_alloc_fail_after(n);
		int rc = s3i_client_call(fx.c, &c, &resp, &err);
		s3i_test_alloc_fail_after(-1);
		s3i_http_response_free(&resp);
		if (s3i_test_alloc_outstanding() > before + 16)   /* pooled signers may stay */
			fail_msg("allocation %ld failing leaked %ld block(s)", n,
				s3i_test_alloc_outstanding() - before);
		if (rc == S3I_OK)
			break;
		if (rc != S3I_ENOMEM)
			fail_msg("allocation %ld failing gave %d (%s)", n, rc, err.message);
	}
	assert_true(n > 0);
	client_down();
}

/* ------------------------------------------------------------------ many calls at once */

typedef struct done_rec {
	int calls;
	int status;
	char body[256];
} done_rec;

static void on_done(void *user, int status, s3i_http_response *resp, const s3i_errinfo *err)
{
	done_rec *d = user;
	d->calls++;
	d->status = status;
	const char *echo = s3i_headers_get(&resp->headers, "x-echo-target");
	snprintf(d->body, sizeof(d->body), "%s", echo ? echo : "");
	if (status)
		snprintf(d->body, sizeof(d->body), "%.200s", err->message);
}

static void t_batch_retries(void **state)
{
	(void)state;
	client_up_with(3, 50, 0, NULL);
	srv.fail_first_per_target = 1;
	enum { N = 24 };
	char keys[N][16];
	s3i_call calls[N];
	done_rec done[N];
	memset(done, 0, sizeof(done));
	s3i_client_batch *b = NULL;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_client_batch_new(&b, fx.c, 5, &err), S3I_OK);
	for (int i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "obj-%02d", i);
		calls[i] = s3_get("bkt", keys[i]);
		assert_int_equal(s3i_client_batch_add(b, &calls[i], on_done, &done[i], &err), S3I_OK);
	}
	int rc = s3i_client_batch_run(b, &err);
	if (rc)
		fail_msg("batch: %d %s", rc, err.message);
	s3i_client_batch_free(b);
	for (int i = 0; i < N; i++) {
		char want[sizeof(keys[i]) + 8];
		snprintf(want, sizeof(want), "/bkt/%.15s", keys[i]);
		assert_int_equal(done[i].calls, 1);
		if (done[i].status)
			fail_msg("%s: %d %s", keys[i], done[i].status, done[i].body);
		assert_string_equal(done[i].body, want);
	}
	assert_int_equal(nreqs(), 2 * N);
	client_down();
}

/* A call the transport refuses to start (a header name HTTP does not allow: the signer takes
 * it, libcurl's request would not) ends through the callback with the transport's status and
 * an error detail naming the operation, the resource and the reason, never an empty one. */
static void t_batch_start_failure_named(void **state)
{
	(void)state;
	client_up_with(3, 50, 0, NULL);
	script(S3I_LB_RESPOND, 200, "x-echo-target: fine\r\n", "ok");
	s3i_headers extra;
	s3i_headers_init(&extra, s3i_test_alloc());
	assert_int_equal(s3i_headers_add(&extra, "x-amz-meta-(bad)", "v"), S3I_OK);
	s3i_call calls[2] = { s3_get("bkt", "refused"), s3_get("bkt", "fine") };
	calls[0].headers = &extra;
	done_rec done[2];
	memset(done, 0, sizeof(done));
	s3i_client_batch *b = NULL;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_client_batch_new(&b, fx.c, 4, &err), S3I_OK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(s3i_client_batch_add(b, &calls[i], on_done, &done[i], &err), S3I_OK);
	assert_int_equal(s3i_client_batch_run(b, &err), S3I_OK);
	s3i_client_batch_free(b);
	s3i_headers_free(&extra);
	assert_int_equal(done[0].calls, 1);
	assert_int_equal(done[0].status, S3I_EINVALID);
	assert_non_null(strstr(done[0].body, "GetObject on key 'k' in bucket 'b'"));
	assert_non_null(strstr(done[0].body, "invalid name"));
	assert_int_equal(done[1].calls, 1);          /* the other call is not held back */
	if (done[1].status)
		fail_msg("fine: %d %s", done[1].status, done[1].body);
	assert_int_equal(nreqs(), 1);                /* not retried: the request is wrong */
	client_down();
}

typedef struct worker {
	int id;
	int failures;
	char msg[256];
} worker;

static void *worker_main(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < 10; i++) {
		char key[32];
		snprintf(key, sizeof(key), "t%d-%d", w->id, i);
		s3i_call c = s3_get("bkt", key);
		s3i_http_response resp;
		s3i_http_response_init(&resp, s3i_test_alloc());
		s3i_errinfo err;
		s3i_errinfo_init(&err);
		int rc = s3i_client_call(fx.c, &c, &resp, &err);
		char want[64];
		snprintf(want, sizeof(want), "/bkt/%s", key);
		const char *echo = s3i_headers_get(&resp.headers, "x-echo-target");
		if (rc || !echo || strcmp(echo, want)) {
			w->failures++;
			snprintf(w->msg, sizeof(w->msg), "%s: rc %d %.150s", key, rc, err.message);
		}
		s3i_http_response_free(&resp);
	}
	return NULL;
}

static void t_threads_share_client(void **state)
{
	(void)state;
	client_up_with(3, 10, 0, NULL);
	srv.fail_first_per_target = 1;
	pthread_t th[6];
	worker w[6];
	for (int i = 0; i < 6; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (w[i].failures)
			fail_msg("thread %d: %d failures, last %s", i, w[i].failures, w[i].msg);
	}
	assert_int_equal(nreqs(), 6 * 10 * 2);
	client_down();
}

static int group_setup(void **state)
{
	(void)state;
	unsetenv("AWS_MAX_ATTEMPTS");
	unsetenv("S3I_RETRY_BASE_MS");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
	unsetenv("AWS_ENDPOINT_URL_STS");
	unsetenv("AWS_ENDPOINT_URL_ATHENA");
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	if (s3i_global_init() < 1)
		return -1;
	start_ms = (int64_t)time(NULL) * 1000;
	pthread_mutex_init(&srv.lock, NULL);
	return s3i_loopback_start(&srv.lb, handler, &srv);
}

static int group_teardown(void **state)
{
	(void)state;
	s3i_loopback_stop(srv.lb);
	script_reset();
	pthread_mutex_destroy(&srv.lock);
	s3i_global_shutdown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_success_first_try),
		S3I_TEST(t_503_then_200),
		S3I_TEST(t_throttling_retried),
		S3I_TEST(t_max_attempts),
		S3I_TEST(t_backoff_full_jitter),
		S3I_TEST(t_retry_after),
		S3I_TEST(t_validation_not_retried),
		S3I_TEST(t_not_found),
		S3I_TEST(t_connection_reset),
		S3I_TEST(t_hang_timeout),
		S3I_TEST(t_clock_skew),
		S3I_TEST(t_signature_mismatch_not_skew),
		S3I_TEST(t_expired_token),
		S3I_TEST(t_region_redirect),
		S3I_TEST(t_query_protocol),
		S3I_TEST(t_json_protocol),
		S3I_TEST(t_content_md5),
		S3I_TEST(t_streamed_body_rewind),
		S3I_TEST(t_sink_not_polluted_by_errors),
		S3I_TEST(t_retry_quota),
		S3I_TEST(t_global_service_signing_region),
		S3I_TEST(t_client_sleep_hook),
		S3I_TEST(t_client_oom),
		S3I_TEST(t_batch_retries),
		S3I_TEST(t_batch_start_failure_named),
		S3I_TEST(t_threads_share_client),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
