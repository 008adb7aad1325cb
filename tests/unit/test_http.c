/*
 * HTTP transport (src/aws/http.c) against the loopback server: round trips per method,
 * Content-Type on every body, connection reuse (sequential, across threads, in batches),
 * timeouts and faults, 1 GiB streams both ways in bounded memory, body rewinds, sink aborts,
 * error bodies, interim responses, and what reaches the log.
 */
#include "test_alloc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aws/http.h"
#include "loopback.h"
#include "s3insights/ctx.h"

/* ------------------------------------------------------------------ server */

typedef struct seen {
	char method[16];
	char target[4096];
	char headers[8192];
	char body[4096];          /* first bytes of the body */
	size_t body_len;
	unsigned char md5[16];
	int kept;                 /* the server kept the body (<= 64 MiB) */
	int connection_index;
} seen;

static struct server {
	pthread_mutex_t lock;
	s3i_loopback *lb;
	seen last;
	int drop_next;            /* close the next /drop request without an answer */
	int in_flight, max_in_flight;
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void hex(char *out, const unsigned char *md5)
{
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", md5[i]);
}

static void handler(void *user, const s3i_lb_request *req, s3i_lb_response *resp)
{
	(void)user;
	const char *t = req->target;
	pthread_mutex_lock(&srv.lock);
	seen *s = &srv.last;
	snprintf(s->method, sizeof(s->method), "%s", req->method);
	snprintf(s->target, sizeof(s->target), "%s", t);
	snprintf(s->headers, sizeof(s->headers), "%s", req->headers);
	s->body_len = req->body_len;
	size_t n = req->body && req->body_len < sizeof(s->body) ? req->body_len : 0;
	if (req->body && n)
		memcpy(s->body, req->body, n);
	s->body[n] = '\0';
	memcpy(s->md5, req->body_md5, 16);
	s->kept = req->body != NULL;
	s->connection_index = req->connection_index;
	int drop = 0;
	if (!strncmp(t, "/drop", 5) && srv.drop_next) {
		srv.drop_next = 0;
		drop = 1;
	}
	pthread_mutex_unlock(&srv.lock);

	char md5[33];
	hex(md5, req->body_md5);
	if (drop) {
		resp->action = S3I_LB_CLOSE;
	} else if (!strncmp(t, "/echo", 5) || !strncmp(t, "/drop", 5)) {
		snprintf(resp->headers, sizeof(resp->headers), "X-Method: %s\r\nX-Body-Md5: %s\r\n"
			"Content-Type: application/octet-stream\r\n", req->method, md5);
		resp->body = req->body;  /* sent before the connection reads the next request */
		resp->body_len = req->body && req->body_len <= 65536 ? req->body_len : 0;
	} else if (!strncmp(t, "/status/", 8)) {
		resp->status = atoi(t + 8);
		snprintf(resp->headers, sizeof(resp->headers), "Content-Type: application/xml\r\n");
		resp->body = "<Error><Code>Nope</Code></Error>";
		resp->body_len = strlen(resp->body);
	} else if (!strncmp(t, "/biggen/", 8)) {   /* /biggen/<status>/<len> */
		char *p;
		resp->status = (int)strtol(t + 8, &p, 10);
		resp->generated_len = strtoll(p + 1, NULL, 10);
	} else if (!strncmp(t, "/gen/", 5)) {
		resp->generated_len = strtoll(t + 5, NULL, 10);
	} else if (!strcmp(t, "/nocontent")) {
		resp->status = 204;
	} else if (!strcmp(t, "/reset")) {
		resp->action = S3I_LB_RESET;
	} else if (!strcmp(t, "/hang")) {
		resp->action = S3I_LB_HANG;
	} else if (!strcmp(t, "/close")) {
		resp->action = S3I_LB_CLOSE;
	} else if (!strcmp(t, "/interim")) {
		resp->interim_status = 100;
		snprintf(resp->interim_headers, sizeof(resp->interim_headers),
			"X-Interim: leaked\r\nX-Shared: interim\r\n");
		snprintf(resp->headers, sizeof(resp->headers), "X-Final: yes\r\nX-Shared: final\r\n");
		resp->body = "final";
		resp->body_len = 5;
	} else if (!strncmp(t, "/item/", 6)) {
		pthread_mutex_lock(&srv.lock);
		if (++srv.in_flight > srv.max_in_flight)
			srv.max_in_flight = srv.in_flight;
		pthread_mutex_unlock(&srv.lock);
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);   /* keeps requests overlapping */
		pthread_mutex_lock(&srv.lock);
		srv.in_flight--;
		pthread_mutex_unlock(&srv.lock);
		/* the body must outlive the handler: a per-thread buffer serves one response */
		static _Thread_local char body[128];
		snprintf(body, sizeof(body), "item-%s md5=%s", t + 6, md5);
		snprintf(resp->headers, sizeof(resp->headers), "X-Index: %s\r\n", t + 6);
		resp->body = body;
		resp->body_len = strlen(body);
	} else {
		resp->status = 404;
	}
}

static seen last_seen(void)
{
	pthread_mutex_lock(&srv.lock);
	seen s = srv.last;
	pthread_mutex_unlock(&srv.lock);
	return s;
}

static int header_count(const seen *s, const char *name)
{
	s3i_lb_request r;
	memset(&r, 0, sizeof(r));
	snprintf(r.headers, sizeof(r.headers), "%s", s->headers);
	return s3i_lb_header_count(&r, name);
}

static int header_value(const seen *s, const char *name, char *out, size_t cap)
{
	s3i_lb_request r;
	memset(&r, 0, sizeof(r));
	snprintf(r.headers, sizeof(r.headers), "%s", s->headers);
	return s3i_lb_header(&r, name, out, cap);
}

static const char *url(const char *path)
{
	static _Thread_local char buf[4][256];
	static _Thread_local int i;
	char *b = buf[i++ % 4];
	snprintf(b, sizeof(buf[0]), "%s%s", s3i_loopback_url(srv.lb), path);
	return b;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long peak_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static s3i_http *new_http(const s3i_http_options *o)
{
	s3i_http *h = NULL;
	assert_int_equal(s3i_http_new(&h, s3i_test_alloc(), o, NULL), 0);
	return h;
}

static void md5_of(const void *data, size_t len, unsigned char out[16])
{
	EVP_Digest(data, len, out, NULL, EVP_md5(), NULL);
}

/* ------------------------------------------------------------------ round trips */

static void t_get_roundtrip(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_headers hs;
	s3i_headers_init(&hs, s3i_test_alloc());
	assert_int_equal(s3i_headers_add(&hs, "X-Custom", "value 1"), 0);
	assert_int_equal(s3i_headers_add(&hs, "X-Empty", ""), 0);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_http_request q = { .method = "GET", .url = url("/echo/get?list-type=2&prefix=a%2Fb"),
		.headers = &hs };
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.error, 0);
	assert_string_equal(s3i_headers_get(&r.headers, "X-Method"), "GET");
	assert_string_equal(s3i_headers_get(&r.headers, "content-length"), "0");
	assert_int_equal(r.body.size, 0);
	seen s = last_seen();
	assert_string_equal(s.method, "GET");
	assert_string_equal(s.target, "/echo/get?list-type=2&prefix=a%2Fb");
	char v[256];
	assert_int_equal(header_value(&s, "X-Custom", v, sizeof(v)), 7);
	assert_string_equal(v, "value 1");
	assert_int_equal(header_value(&s, "X-Empty", v, sizeof(v)), 0);  /* sent, empty */
	assert_int_equal(header_count(&s, "Content-Type"), 0);
	assert_int_equal(header_count(&s, "Content-Length"), 0);
	assert_int_equal(header_count(&s, "Expect"), 0);
	assert_int_equal(s.body_len, 0);
	/* the path goes out as given: S3 keys may have "." and ".." segments and "//" (S3 does
	 * not normalise paths, and the signature covers the path as sent) */
	static const char *const paths[] = { "/echo/./a/../b", "/echo/bkt/..", "/echo//x/./",
		"/echo/%2E%2E/k" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		q.url = url(paths[i]);
		assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
		assert_int_equal(r.status, 200);
		s = last_seen();
		assert_string_equal(s.target, paths[i]);
	}
	s3i_http_response_free(&r);
	s3i_headers_free(&hs);
	s3i_http_free(h);
}

static void t_put_roundtrip(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	static const char body[] = "binary\0body\r\nwith NULs\0";
	s3i_headers hs;
	s3i_headers_init(&hs, s3i_test_alloc());
	assert_int_equal(s3i_headers_add(&hs, "Content-Type", "text/plain"), 0);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_http_request q = { .method = "PUT", .url = url("/echo/put"), .headers = &hs,
		.body = body, .body_len = sizeof(body) };
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.bytes_sent, sizeof(body));
	assert_int_equal(r.body.size, sizeof(body));
	assert_memory_equal(r.body.ptr, body, sizeof(body));
	assert_string_equal(s3i_headers_get(&r.headers, "X-Method"), "PUT");
	seen s = last_seen();
	assert_string_equal(s.method, "PUT");
	assert_int_equal(s.body_len, sizeof(body));
	assert_int_equal(s.kept, 1);
	assert_memory_equal(s.body, body, sizeof(body));
	char v[64];
	assert_int_equal(header_count(&s, "Content-Type"), 1);
	header_value(&s, "Content-Type", v, sizeof(v));
	assert_string_equal(v, "text/plain");
	header_value(&s, "Content-Length", v, sizeof(v));
	assert_int_equal(atoi(v), sizeof(body));
	assert_int_equal(header_count(&s, "Transfer-Encoding"), 0);
	assert_int_equal(header_count(&s, "Expect"), 0);
	s3i_http_response_free(&r);
	s3i_headers_free(&hs);
	s3i_http_free(h);
}

static void t_post_roundtrip(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	const char *body = "Action=AssumeRole&Version=2011-06-15";
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_http_request q = { .method = "POST", .url = url("/echo/post"), .body = body,
		.body_len = strlen(body) };
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.size, strlen(body));
	assert_memory_equal(r.body.ptr, body, strlen(body));
	seen s = last_seen();
	assert_string_equal(s.method, "POST");
	assert_string_equal(s.body, body);
	char v[128];
	assert_int_equal(header_count(&s, "Content-Type"), 1);
	header_value(&s, "Content-Type", v, sizeof(v));
	assert_string_equal(v, "application/octet-stream");
	assert_int_equal(header_count(&s, "Expect"), 0);
	assert_int_equal(header_count(&s, "Transfer-Encoding"), 0);

	/* an empty POST carries no form content type */
	s3i_http_request e = { .method = "POST", .url = url("/echo/empty") };
	assert_int_equal(s3i_http_perform(h, &e, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	s = last_seen();
	assert_int_equal(s.body_len, 0);
	assert_int_equal(header_count(&s, "Content-Type"), 0);
	header_value(&s, "Content-Length", v, sizeof(v));
	assert_string_equal(v, "0");
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

static void t_head_and_delete(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_http_request q = { .method = "HEAD", .url = url("/gen/12345") };
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(s3i_headers_get(&r.headers, "Content-Length"), "12345");
	assert_int_equal(r.body.size, 0);
	assert_int_equal(r.bytes_received, 0);
	assert_string_equal(last_seen().method, "HEAD");

	s3i_http_request d = { .method = "DELETE", .url = url("/nocontent") };
	assert_int_equal(s3i_http_perform(h, &d, &r, NULL), 0);
	assert_int_equal(r.status, 204);
	assert_string_equal(last_seen().method, "DELETE");
	assert_int_equal(last_seen().body_len, 0);

	/* a DELETE with a body (a method curl has no switch for) */
	s3i_http_request db = { .method = "DELETE", .url = url("/echo/del"), .body = "xyz",
		.body_len = 3 };
	assert_int_equal(s3i_http_perform(h, &db, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(s3i_headers_get(&r.headers, "X-Method"), "DELETE");
	seen s = last_seen();
	assert_string_equal(s.body, "xyz");
	assert_int_equal(header_count(&s, "Content-Type"), 1);

	/* a 404 is a response, not a transport error */
	s3i_http_request nf = { .method = "GET", .url = url("/status/404") };
	assert_int_equal(s3i_http_perform(h, &nf, &r, NULL), 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body.ptr, "<Error><Code>Nope</Code></Error>");
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

/* ------------------------------------------------------------------ streamed bodies */

typedef struct gen_source {
	int64_t total;       /* bytes to produce; the source itself does not know a declared length */
	int64_t off;
	int64_t stop_at;     /* end early here (-1: never) */
	int fail_at_call;    /* return S3I_EIO on this call (0: never) */
	int calls;
	int rewinds;
	EVP_MD_CTX *md;
} gen_source;

static void gen_init(gen_source *g, int64_t total)
{
	memset(g, 0, sizeof(*g));
	g->total = total;
	g->stop_at = -1;
	g->md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(g->md, EVP_md5(), NULL);
}

static void gen_md5(gen_source *g, unsigned char out[16])
{
	EVP_DigestFinal_ex(g->md, out, NULL);
	EVP_MD_CTX_free(g->md);
	g->md = NULL;
}

static int gen_read(void *user, char *buf, size_t cap, size_t *out_len)
{
	gen_source *g = user;
	g->calls++;
	if (g->fail_at_call && g->calls == g->fail_at_call)
		return S3I_EIO;
	int64_t end = g->stop_at >= 0 && g->stop_at < g->total ? g->stop_at : g->total;
	size_t n = end - g->off < (int64_t)cap ? (size_t)(end - g->off) : cap;
	s3i_lb_pattern_fill(g->off, buf, n);
	if (g->md)
		EVP_DigestUpdate(g->md, buf, n);
	g->off += (int64_t)n;
	*out_len = n;
	return 0;
}

static int gen_rewind(void *user)
{
	gen_source *g = user;
	g->rewinds++;
	g->off = 0;
	if (g->md)
		EVP_DigestInit_ex(g->md, EVP_md5(), NULL);
	return 0;
}

static void t_content_type_on_every_body(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	char v[128];
	const char *methods[] = { "PUT", "POST" };
	for (int m = 0; m < 2; m++) {
		for (int known = 0; known < 2; known++) {
			gen_source g;
			gen_init(&g, 100000);
			s3i_http_request q = { .method = methods[m], .url = url("/echo/stream"),
				.body_read = gen_read, .body_rewind = gen_rewind, .body_user = &g,
				.body_length = known ? 100000 : -1 };
			assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
			assert_int_equal(r.status, 200);
			assert_int_equal(r.bytes_sent, 100000);
			unsigned char md5[16];
			gen_md5(&g, md5);
			seen s = last_seen();
			assert_string_equal(s.method, methods[m]);
			assert_int_equal(s.body_len, 100000);
			assert_memory_equal(s.md5, md5, 16);
			assert_int_equal(header_count(&s, "Content-Type"), 1);
			header_value(&s, "Content-Type", v, sizeof(v));
			assert_string_equal(v, "application/octet-stream");
			assert_int_equal(header_count(&s, "Expect"), 0);
			if (known) {
				assert_int_equal(header_count(&s, "Transfer-Encoding"), 0);
				header_value(&s, "Content-Length", v, sizeof(v));
				assert_string_equal(v, "100000");
			} else {
				header_value(&s, "Transfer-Encoding", v, sizeof(v));
				assert_string_equal(v, "chunked");
				assert_int_equal(header_count(&s, "Content-Length"), 0);
			}
		}
	}
	/* the caller's type is kept, and sent once, whatever its case */
	s3i_headers hs;
	s3i_headers_init(&hs, s3i_test_alloc());
	assert_int_equal(s3i_headers_add(&hs, "content-type", "application/x-amz-json-1.1"), 0);
	s3i_http_request q = { .method = "POST", .url = url("/echo/json"), .headers = &hs,
		.body = "{}", .body_len = 2 };
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	seen s = last_seen();
	assert_int_equal(header_count(&s, "Content-Type"), 1);
	header_value(&s, "Content-Type", v, sizeof(v));
	assert_string_equal(v, "application/x-amz-json-1.1");
	/* a large in-memory body (curl would ask for 100-continue above 1 MiB) */
	size_t big = 3u << 20;
	char *data = malloc(big);
	s3i_lb_pattern_fill(7, data, big);
	unsigned char md5[16];
	md5_of(data, big, md5);
	s3i_http_request p = { .method = "PUT", .url = url("/echo/big"), .body = data, .body_len = big };
	assert_int_equal(s3i_http_perform(h, &p, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	s = last_seen();
	assert_int_equal(s.body_len, big);
	assert_memory_equal(s.md5, md5, 16);
	assert_int_equal(header_count(&s, "Content-Type"), 1);
	assert_int_equal(header_count(&s, "Expect"), 0);
	free(data);
	s3i_headers_free(&hs);
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

/* ------------------------------------------------------------------ connection reuse */

static void t_reuse_sequential(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	int before = s3i_loopback_connections(srv.lb);
	for (int i = 0; i < 20; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/echo/seq/%d", i);
		s3i_http_request q = { .method = i % 2 ? "PUT" : "GET", .url = url(path),
			.body = i % 2 ? "x" : NULL, .body_len = i % 2 ? 1 : 0 };
		assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
		assert_int_equal(r.status, 200);
	}
	assert_int_equal(s3i_loopback_connections(srv.lb) - before, 1);
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

typedef struct thread_job {
	s3i_http *h;
	int n;
	int failures;
} thread_job;

static void *requester(void *arg)
{
	thread_job *j = arg;
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	for (int i = 0; i < j->n; i++) {
		s3i_http_request q = { .method = "GET", .url = url("/echo/thread") };
		if (s3i_http_perform(j->h, &q, &r, NULL) || r.status != 200)
			j->failures++;
	}
	s3i_http_response_free(&r);
	return NULL;
}

static void t_reuse_across_threads(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	int before = s3i_loopback_connections(srv.lb);
	/* one thread after the other: the second finds the first one's connection */
	thread_job a = { h, 10, 0 }, b = { h, 10, 0 };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, requester, &a);
	pthread_join(ta, NULL);
	pthread_create(&tb, NULL, requester, &b);
	pthread_join(tb, NULL);
	assert_int_equal(a.failures + b.failures, 0);
	assert_int_equal(s3i_loopback_connections(srv.lb) - before, 1);
	/* both at once: one more connection at most, however the requests interleave */
	thread_job c = { h, 20, 0 }, d = { h, 20, 0 };
	pthread_create(&ta, NULL, requester, &c);
	pthread_create(&tb, NULL, requester, &d);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(c.failures + d.failures, 0);
	assert_true(s3i_loopback_connections(srv.lb) - before <= 2);
	s3i_http_free(h);
}

/* ------------------------------------------------------------------ batches */

#define BATCH_TOTAL 200
#define BATCH_WINDOW 32

typedef struct batch_item {
	struct batch_state *bs;
	int index;
	char url[128];
	char body[64];
	s3i_http_request req;
	s3i_http_response resp;
	int done;
} batch_item;

typedef struct batch_state {
	s3i_http_batch *b;
	batch_item items[BATCH_TOTAL];
	int next, completed, wrong, max_flight;
} batch_state;

static void batch_start_next(batch_state *bs);

static void batch_done(void *user, s3i_http_response *resp)
{
	batch_item *it = user;
	batch_state *bs = it->bs;
	it->done++;
	bs->completed++;
	char want[128];
	if (it->body[0]) {
		unsigned char md5[16];
		char mhex[33];
		md5_of(it->body, strlen(it->body), md5);
		hex(mhex, md5);
		snprintf(want, sizeof(want), "item-%d md5=%s", it->index, mhex);
	} else {
		snprintf(want, sizeof(want), "item-%d md5=d41d8cd98f00b204e9800998ecf8427e", it->index);
	}
	char idx[16];
	snprintf(idx, sizeof(idx), "%d", it->index);
	const char *xi = s3i_headers_get(&resp->headers, "X-Index");
	if (resp != &it->resp || resp->error || resp->status != 200 || !resp->body.ptr ||
		strcmp(resp->body.ptr, want) || !xi || strcmp(xi, idx))
		bs->wrong++;
	size_t f = s3i_http_batch_in_flight(bs->b);
	if ((int)f > bs->max_flight)
		bs->max_flight = (int)f;
	batch_start_next(bs);   /* refill from inside the callback */
}

static void batch_start_next(batch_state *bs)
{
	if (bs->next >= BATCH_TOTAL)
		return;
	batch_item *it = &bs->items[bs->next];
	it->bs = bs;
	it->index = bs->next++;
	snprintf(it->url, sizeof(it->url), "%s/item/%d", s3i_loopback_url(srv.lb), it->index);
	s3i_http_response_init(&it->resp, s3i_test_alloc());
	memset(&it->req, 0, sizeof(it->req));
	it->req.url = it->url;
	it->req.method = "GET";
	if (it->index % 5 == 0) {
		snprintf(it->body, sizeof(it->body), "payload number %d", it->index);
		it->req.method = "POST";
		it->req.body = it->body;
		it->req.body_len = strlen(it->body);
	}
	assert_int_equal(s3i_http_batch_add(bs->b, &it->req, &it->resp, batch_done, it), 0);
}

static void t_batch_many_in_flight(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	batch_state *bs = calloc(1, sizeof(*bs));
	assert_int_equal(s3i_http_batch_new(&bs->b, h), 0);
	pthread_mutex_lock(&srv.lock);
	srv.max_in_flight = 0;
	pthread_mutex_unlock(&srv.lock);
	int before = s3i_loopback_connections(srv.lb);
	int64_t t0 = mono_ms();
	for (int i = 0; i < BATCH_WINDOW; i++)
		batch_start_next(bs);
	assert_int_equal(s3i_http_batch_in_flight(bs->b), BATCH_WINDOW);
	int left;
	while ((left = s3i_http_batch_run(bs->b, 1000)) > 0)
		assert_true(mono_ms() - t0 < 60000);
	assert_int_equal(left, 0);
	int64_t ms = mono_ms() - t0;
	assert_int_equal(bs->completed, BATCH_TOTAL);
	assert_int_equal(bs->wrong, 0);
	for (int i = 0; i < BATCH_TOTAL; i++)
		assert_int_equal(bs->items[i].done, 1);
	pthread_mutex_lock(&srv.lock);
	int server_max = srv.max_in_flight;
	pthread_mutex_unlock(&srv.lock);
	int conns = s3i_loopback_connections(srv.lb) - before;
	print_message("  batch: %d requests in %lld ms, %d at once at the server, %d connections\n",
		BATCH_TOTAL, (long long)ms, server_max, conns);
	assert_true(server_max >= 16);
	assert_true(conns <= BATCH_WINDOW);   /* connections are reused inside the batch */
	for (int i = 0; i < BATCH_TOTAL; i++)
		s3i_http_response_free(&bs->items[i].resp);
	s3i_http_batch_free(bs->b);

	/* a second batch on the same transport reuses the first one's connections */
	before = s3i_loopback_connections(srv.lb);
	s3i_http_batch *b2;
	assert_int_equal(s3i_http_batch_new(&b2, h), 0);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_http_request q = { .method = "GET", .url = url("/echo/again") };
	assert_int_equal(s3i_http_batch_add(b2, &q, &r, NULL, NULL), 0);
	while (s3i_http_batch_run(b2, 1000) > 0)
		;
	assert_int_equal(r.status, 200);
	assert_int_equal(s3i_loopback_connections(srv.lb) - before, 0);
	s3i_http_batch_free(b2);
	s3i_http_response_free(&r);
	free(bs);
	s3i_http_free(h);
}

static int done_calls;
static void count_done(void *user, s3i_http_response *resp)
{
	(void)user;
	(void)resp;
	done_calls++;
}

static void t_batch_free_aborts(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_batch *b;
	assert_int_equal(s3i_http_batch_new(&b, h), 0);
	s3i_http_response r[3];
	s3i_http_request q = { .method = "GET", .url = url("/hang") };
	done_calls = 0;
	for (int i = 0; i < 3; i++) {
		s3i_http_response_init(&r[i], s3i_test_alloc());
		assert_int_equal(s3i_http_batch_add(b, &q, &r[i], count_done, NULL), 0);
	}
	assert_int_equal(s3i_http_batch_run(b, 0), 3);
	int64_t t0 = mono_ms();
	assert_int_equal(s3i_http_batch_run(b, 200), 3);
	assert_true(mono_ms() - t0 >= 150);
	s3i_http_batch_free(b);
	assert_int_equal(done_calls, 0);
	for (int i = 0; i < 3; i++)
		s3i_http_response_free(&r[i]);
	s3i_http_free(h);
}

/* ------------------------------------------------------------------ timeouts and faults */

static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);   /* bound, never listening, now closed: connecting is refused */
	return ntohs(sa.sin_port);
}

static void t_connect_refused(void **state)
{
	(void)state;
	s3i_http_options o = { .connect_timeout_ms = 2000 };
	s3i_http *h = new_http(&o);
	char u[256];
	int port = closed_port();
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/bucket/key?X-Amz-Signature=0123456789abcdef"
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE", port);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_http_request q = { .method = "GET", .url = u };
	int64_t t0 = mono_ms();
	assert_int_equal(s3i_http_perform(h, &q, &r, &err), S3I_ENETWORK);
	assert_true(mono_ms() - t0 < 1500);
	assert_int_equal(r.error, S3I_ENETWORK);
	assert_int_equal(r.status, 0);
	assert_true(r.error_text[0] != '\0');
	assert_int_equal(err.pub.code, S3I_ENETWORK);
	char host[64];
	snprintf(host, sizeof(host), "GET 127.0.0.1:%d", port);
	assert_non_null(strstr(err.message, host));
	assert_string_equal(err.resource, host + 4);
	assert_null(strstr(err.message, "0123456789abcdef"));
	assert_null(strstr(err.message, "AKIA"));
	assert_null(strstr(r.error_text, "0123456789abcdef"));
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

static void t_total_timeout(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_http_request q = { .method = "GET", .url = url("/hang"), .timeout_ms = 300 };
	int64_t t0 = mono_ms();
	assert_int_equal(s3i_http_perform(h, &q, &r, &err), S3I_ETIMEOUT);
	int64_t ms = mono_ms() - t0;
	assert_true(ms >= 250 && ms < 2000);
	assert_int_equal(r.error, S3I_ETIMEOUT);
	assert_non_null(strstr(err.message, "GET 127.0.0.1:"));
	/* the same through a batch */
	s3i_http_batch *b;
	assert_int_equal(s3i_http_batch_new(&b, h), 0);
	done_calls = 0;
	t0 = mono_ms();
	assert_int_equal(s3i_http_batch_add(b, &q, &r, count_done, NULL), 0);
	while (s3i_http_batch_run(b, 1000) > 0)
		;
	ms = mono_ms() - t0;
	assert_int_equal(done_calls, 1);
	assert_int_equal(r.error, S3I_ETIMEOUT);
	assert_true(ms >= 250 && ms < 2000);
	s3i_http_batch_free(b);
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

static void t_reset_and_close(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_http_request q = { .method = "GET", .url = url("/reset") };
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), S3I_ENETWORK);
	assert_int_equal(r.error, S3I_ENETWORK);
	assert_true(r.error_text[0] != '\0');
	/* with a body, on a fresh transport (no connection to retry on) */
	s3i_http_free(h);
	h = new_http(NULL);
	s3i_http_request p = { .method = "PUT", .url = url("/reset"), .body = "abc", .body_len = 3 };
	assert_int_equal(s3i_http_perform(h, &p, &r, NULL), S3I_ENETWORK);
	s3i_http_request c = { .method = "GET", .url = url("/close") };
	assert_int_equal(s3i_http_perform(h, &c, &r, NULL), S3I_ENETWORK);
	assert_int_equal(r.status, 0);
	/* and the transport still works afterwards */
	s3i_http_request ok = { .method = "GET", .url = url("/echo/after") };
	assert_int_equal(s3i_http_perform(h, &ok, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

/* ------------------------------------------------------------------ 1 GiB streams */

#define GIB ((int64_t)1 << 30)
/* MD5 of pattern bytes 0 .. 1 GiB-1 (s3i_lb_pattern; checked against an independent
 * implementation of the formula in loopback.h) */
#define PATTERN_1GIB_MD5 "0ccd38cb4edaefc7abebcfd487ba25d6"

static void t_stream_put_1gib(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	gen_source g;
	gen_init(&g, GIB);
	EVP_MD_CTX_free(g.md);   /* the expected digest is known: spare the CPU */
	g.md = NULL;
	s3i_http_request q = { .method = "PUT", .url = url("/echo/huge"), .body_read = gen_read,
		.body_rewind = gen_rewind, .body_user = &g, .body_length = GIB };
	long rss0 = peak_rss_kib();
	int64_t t0 = mono_ms();
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	int64_t ms = mono_ms() - t0;
	long grown = peak_rss_kib() - rss0;
	print_message("  PUT 1 GiB: %lld ms (%.0f MiB/s), peak RSS +%ld KiB\n", (long long)ms,
		1024.0 * 1000.0 / (double)(ms ? ms : 1), grown);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.bytes_sent, GIB);
	seen s = last_seen();
	assert_int_equal(s.body_len, GIB);
	char got[33];
	hex(got, s.md5);
	assert_string_equal(got, PATTERN_1GIB_MD5);
	assert_int_equal(s.kept, 0);   /* counted and hashed, not kept */
	char v[32];
	header_value(&s, "Content-Length", v, sizeof(v));
	assert_string_equal(v, "1073741824");
	assert_true(grown < 64 * 1024);
	assert_true(ms < 60000);
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

typedef struct check_sink {
	int64_t off;
	int64_t bad_at;
	int64_t abort_after;    /* return abort_status once this much arrived (-1: never) */
	int abort_status;
	int calls;
} check_sink;

static int sink_check(void *user, const char *data, size_t len)
{
	check_sink *k = user;
	k->calls++;
	if (k->bad_at < 0) {
		int64_t bad = s3i_lb_pattern_check(k->off, data, len);
		if (bad >= 0)
			k->bad_at = k->off + bad;
	}
	k->off += (int64_t)len;
	if (k->abort_after >= 0 && k->off >= k->abort_after)
		return k->abort_status;
	return 0;
}

static void t_stream_get_1gib(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	check_sink k = { 0, -1, -1, 0, 0 };
	s3i_http_request q = { .method = "GET", .url = url("/gen/1073741824"), .sink = sink_check,
		.sink_user = &k };
	long rss0 = peak_rss_kib();
	int64_t t0 = mono_ms();
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	int64_t ms = mono_ms() - t0;
	long grown = peak_rss_kib() - rss0;
	print_message("  GET 1 GiB: %lld ms (%.0f MiB/s), peak RSS +%ld KiB, %d sink calls\n",
		(long long)ms, 1024.0 * 1000.0 / (double)(ms ? ms : 1), grown, k.calls);
	assert_int_equal(r.status, 200);
	assert_int_equal(k.off, GIB);
	assert_int_equal(k.bad_at, -1);
	assert_int_equal(r.bytes_received, GIB);
	assert_int_equal(r.body.size, 0);
	assert_true(grown < 64 * 1024);
	assert_true(ms < 60000);
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

/* ------------------------------------------------------------------ rewinds and callbacks */

static void t_rewind_on_second_perform(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	gen_source g;
	gen_init(&g, 200000);
	s3i_http_request q = { .method = "PUT", .url = url("/status/503"), .body_read = gen_read,
		.body_rewind = gen_rewind, .body_user = &g, .body_length = 200000 };
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(r.status, 503);
	seen first = last_seen();
	/* what the client does before a retry */
	assert_int_equal(q.body_rewind(q.body_user), 0);
	q.url = url("/echo/retry");
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	seen second = last_seen();
	assert_int_equal(second.body_len, 200000);
	assert_memory_equal(first.md5, second.md5, 16);

	/* libcurl resends on a fresh connection when a reused one is closed under the request:
	 * the body is rewound through the callback */
	int before = s3i_loopback_connections(srv.lb);
	g.rewinds = 0;
	assert_int_equal(g.rewinds, 0);
	gen_rewind(&g);
	g.rewinds = 0;
	pthread_mutex_lock(&srv.lock);
	srv.drop_next = 1;
	pthread_mutex_unlock(&srv.lock);
	q.url = url("/drop/streamed");
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(g.rewinds, 1);
	assert_int_equal(s3i_loopback_connections(srv.lb) - before, 1);
	unsigned char md5[16];
	gen_md5(&g, md5);
	seen s = last_seen();
	assert_int_equal(s.body_len, 200000);
	assert_memory_equal(s.md5, md5, 16);
	assert_memory_equal(s.md5, first.md5, 16);
	assert_int_equal(r.bytes_sent, 200000);

	/* an in-memory body needs no callback */
	pthread_mutex_lock(&srv.lock);
	srv.drop_next = 1;
	pthread_mutex_unlock(&srv.lock);
	s3i_http_request m = { .method = "POST", .url = url("/drop/memory"), .body = "memory body",
		.body_len = 11 };
	assert_int_equal(s3i_http_perform(h, &m, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(last_seen().body, "memory body");

	/* a stream that cannot rewind fails as a network error */
	gen_source nr;
	gen_init(&nr, 1000);
	pthread_mutex_lock(&srv.lock);
	srv.drop_next = 1;
	pthread_mutex_unlock(&srv.lock);
	s3i_http_request n = { .method = "PUT", .url = url("/drop/norewind"), .body_read = gen_read,
		.body_user = &nr, .body_length = 1000 };
	assert_int_equal(s3i_http_perform(h, &n, &r, NULL), S3I_ENETWORK);
	gen_md5(&nr, md5);
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

static void t_callback_aborts(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	/* a sink that stops */
	check_sink k = { 0, -1, 1 << 20, S3I_EUSER, 0 };
	s3i_http_request q = { .method = "GET", .url = url("/gen/10485760"), .sink = sink_check,
		.sink_user = &k };
	assert_int_equal(s3i_http_perform(h, &q, &r, &err), S3I_EUSER);
	assert_int_equal(r.error, S3I_EUSER);
	assert_int_equal(r.status, 200);
	assert_true(k.off >= 1 << 20 && k.off < 10485760);
	assert_non_null(strstr(r.error_text, "sink"));
	assert_int_equal(err.pub.code, S3I_EUSER);
	/* a sink failing with its own status */
	check_sink k2 = { 0, -1, 1, S3I_EIO, 0 };
	q.sink_user = &k2;
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), S3I_EIO);
	assert_int_equal(r.error, S3I_EIO);
	/* a body source failing */
	gen_source g;
	gen_init(&g, 1 << 20);
	g.fail_at_call = 2;
	s3i_http_request p = { .method = "PUT", .url = url("/echo/fail"), .body_read = gen_read,
		.body_rewind = gen_rewind, .body_user = &g, .body_length = 1 << 20 };
	assert_int_equal(s3i_http_perform(h, &p, &r, NULL), S3I_EIO);
	assert_non_null(strstr(r.error_text, "body source"));
	/* a body source ending before its declared length */
	gen_rewind(&g);
	g.fail_at_call = 0;
	g.stop_at = 5000;
	assert_int_equal(s3i_http_perform(h, &p, &r, NULL), S3I_EIO);
	assert_non_null(strstr(r.error_text, "declared length"));
	unsigned char md5[16];
	gen_md5(&g, md5);
	/* invalid requests never reach the network */
	s3i_headers hs;
	s3i_headers_init(&hs, s3i_test_alloc());
	assert_int_equal(s3i_headers_add(&hs, "X-Injected", "a\r\nHost: evil"), 0);
	s3i_http_request bad = { .method = "GET", .url = url("/echo/x"), .headers = &hs };
	assert_int_equal(s3i_http_perform(h, &bad, &r, NULL), S3I_EINVALID);
	s3i_http_request badm = { .method = "GE T", .url = url("/echo/x") };
	assert_int_equal(s3i_http_perform(h, &badm, &r, NULL), S3I_EINVALID);
	s3i_headers_free(&hs);
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

static int sink_never(void *user, const char *data, size_t len)
{
	(void)data;
	(void)len;
	(*(int *)user)++;
	return S3I_EUSER;
}

static void t_error_body_with_sink(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	int sink_calls = 0;
	s3i_http_request q = { .method = "GET", .url = url("/status/403"), .sink = sink_never,
		.sink_user = &sink_calls };
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(r.status, 403);
	assert_int_equal(sink_calls, 0);
	assert_string_equal(r.body.ptr, "<Error><Code>Nope</Code></Error>");
	assert_string_equal(s3i_headers_get(&r.headers, "Content-Type"), "application/xml");
	/* a huge error body is read to the end but kept only up to 1 MiB */
	q.url = url("/biggen/500/3145728");
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(r.status, 500);
	assert_int_equal(sink_calls, 0);
	assert_int_equal(r.body.size, 1 << 20);
	assert_int_equal(r.bytes_received, 3145728);
	assert_int_equal(s3i_lb_pattern_check(0, r.body.ptr, r.body.size), -1);
	/* without a sink a 2xx body is collected whole */
	s3i_http_request c = { .method = "GET", .url = url("/gen/2000000") };
	assert_int_equal(s3i_http_perform(h, &c, &r, NULL), 0);
	assert_int_equal(r.body.size, 2000000);
	assert_int_equal(s3i_lb_pattern_check(0, r.body.ptr, r.body.size), -1);
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

static void t_interim_headers_do_not_leak(void **state)
{
	(void)state;
	s3i_http *h = new_http(NULL);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	const char *methods[] = { "GET", "PUT", "POST" };
	for (int i = 0; i < 3; i++) {
		s3i_http_request q = { .method = methods[i], .url = url("/interim"),
			.body = i ? "data" : NULL, .body_len = i ? 4 : 0 };
		assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
		assert_int_equal(r.status, 200);
		assert_null(s3i_headers_get(&r.headers, "X-Interim"));
		assert_string_equal(s3i_headers_get(&r.headers, "X-Final"), "yes");
		assert_string_equal(s3i_headers_get(&r.headers, "X-Shared"), "final");
		int shared = 0;
		for (size_t j = 0; j < r.headers.count; j++)
			shared += !strcasecmp(r.headers.items[j].name, "X-Shared");
		assert_int_equal(shared, 1);
		assert_string_equal(r.body.ptr, "final");
	}
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

/* ------------------------------------------------------------------ logging */

typedef struct log_capture {
	char text[32768];
	size_t len;
	int warns;
} log_capture;

static void capture(void *user, s3i_log_level level, const char *line)
{
	log_capture *c = user;
	if (level == S3I_LOG_WARN)
		c->warns++;
	int n = snprintf(c->text + c->len, sizeof(c->text) - c->len, "%d %s\n", (int)level, line);
	if (n > 0 && (size_t)n < sizeof(c->text) - c->len)
		c->len += (size_t)n;
}

static void t_logging_without_secrets(void **state)
{
	(void)state;
	log_capture *cap = calloc(1, sizeof(*cap));
	s3i_logger lg = { capture, cap, S3I_LOG_TRACE };
	s3i_http_options o = { .logger = &lg };
	s3i_http *h = new_http(&o);
	s3i_headers hs;
	s3i_headers_init(&hs, s3i_test_alloc());
	assert_int_equal(s3i_headers_add(&hs, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x, Signature=feedfacefeedface"), 0);
	assert_int_equal(s3i_headers_add(&hs, "X-Amz-Security-Token", "TOKENTOKENTOKEN"), 0);
	assert_int_equal(s3i_headers_add(&hs, "X-Visible", "shown"), 0);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_http_request q = { .method = "GET", .headers = &hs,
		.url = url("/echo/logged/key?X-Amz-Signature=cafebabecafebabe&partNumber=1") };
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(cap->text, "4 http GET 127.0.0.1:"));
	assert_non_null(strstr(cap->text, "/echo/logged/key -> 200"));
	assert_non_null(strstr(cap->text, "5 http > X-Visible: shown"));
	assert_non_null(strstr(cap->text, "5 http > Authorization: [REDACTED]"));
	assert_non_null(strstr(cap->text, "5 http < X-Method: GET"));
	assert_null(strstr(cap->text, "cafebabe"));
	assert_null(strstr(cap->text, "partNumber"));
	assert_null(strstr(cap->text, "feedface"));
	assert_null(strstr(cap->text, "AKIAIOSFODNN7EXAMPLE"));
	assert_null(strstr(cap->text, "TOKENTOKEN"));
	assert_int_equal(cap->warns, 0);
	/* failures are logged the same way */
	cap->len = 0;
	cap->text[0] = '\0';
	char u[256];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x?X-Amz-Signature=cafebabecafebabe", closed_port());
	q.url = u;
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), S3I_ENETWORK);
	assert_non_null(strstr(cap->text, "4 http GET 127.0.0.1:"));
	assert_non_null(strstr(cap->text, "failed after"));
	assert_null(strstr(cap->text, "cafebabe"));
	s3i_http_free(h);

	/* insecure mode says so once */
	cap->len = 0;
	cap->warns = 0;
	s3i_http_options io = { .logger = &lg, .insecure_skip_verify = 1 };
	h = new_http(&io);
	q.url = url("/echo/insecure");
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(cap->warns, 1);
	s3i_http_free(h);
	s3i_headers_free(&hs);
	s3i_http_response_free(&r);
	free(cap);
}

/* ------------------------------------------------------------------ out of memory */

static void t_out_of_memory(void **state)
{
	(void)state;
	int ok = 0;
	for (long n = 0; n < 200 && !ok; n++) {
		s3i_test_alloc_fail_after(-1);
		s3i_http_response r;
		s3i_http_response_init(&r, s3i_test_alloc());
		s3i_headers hs;
		s3i_headers_init(&hs, s3i_test_alloc());
		assert_int_equal(s3i_headers_add(&hs, "X-One", "1"), 0);
		assert_int_equal(s3i_headers_add(&hs, "X-Two", "2"), 0);
		s3i_test_alloc_fail_after(n);
		s3i_http *h = NULL;
		int rc = s3i_http_new(&h, s3i_test_alloc(), NULL, NULL);
		if (rc == 0) {
			s3i_http_request q = { .method = "POST", .url = url("/echo/oom"), .headers = &hs,
				.body = "body", .body_len = 4 };
			rc = s3i_http_perform(h, &q, &r, NULL);
			if (rc == 0) {
				ok = r.status == 200 && r.body.size == 4 && r.headers.count > 0;
			} else {
				assert_int_equal(rc, S3I_ENOMEM);
			}
			s3i_http_batch *b = NULL;
			s3i_test_alloc_fail_after(0);
			assert_int_equal(s3i_http_batch_new(&b, h), S3I_ENOMEM);
			s3i_test_alloc_fail_after(-1);
			s3i_http_free(h);
		} else {
			assert_int_equal(rc, S3I_ENOMEM);
		}
		s3i_test_alloc_fail_after(-1);
		s3i_headers_free(&hs);
		s3i_http_response_free(&r);
	}
	assert_true(ok);
}

/* ------------------------------------------------------------------ more faults */

/* A listener whose accept queue is full: further SYNs are dropped, so connecting hangs. */
static void t_connect_timeout(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 0), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	int fillers[2];
	for (int i = 0; i < 2; i++) {   /* occupy the queue (a backlog of 0 still admits one) */
		fillers[i] = socket(AF_INET, SOCK_STREAM, 0);
		struct timeval tv = { 0, 200 * 1000 };
		setsockopt(fillers[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		(void)!connect(fillers[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	s3i_http_options o = { .connect_timeout_ms = 300 };
	s3i_http *h = new_http(&o);
	char u[128];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/never", ntohs(sa.sin_port));
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_http_request q = { .method = "GET", .url = u };
	int64_t t0 = mono_ms();
	int rc = s3i_http_perform(h, &q, &r, NULL);
	int64_t ms = mono_ms() - t0;
	print_message("  connect timeout: %s after %lld ms (%s)\n", s3i_strerror(rc), (long long)ms,
		r.error_text);
	assert_int_equal(rc, S3I_ETIMEOUT);
	assert_true(ms >= 250 && ms < 2000);
	assert_int_equal(r.status, 0);
	for (int i = 0; i < 2; i++)
		close(fillers[i]);
	close(fd);
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

/* No byte for low_speed_time_ms ends a transfer that has no overall timeout. */
static void t_stall_detected(void **state)
{
	(void)state;
	s3i_http_options o = { .low_speed_time_ms = 1000 };
	s3i_http *h = new_http(&o);
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_http_request q = { .method = "GET", .url = url("/hang") };
	int64_t t0 = mono_ms();
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), S3I_ETIMEOUT);
	int64_t ms = mono_ms() - t0;
	assert_true(ms >= 900 && ms < 4000);
	s3i_http_response_free(&r);
	s3i_http_free(h);
}

/* Stopping the server joins connection threads that are idle, hanging or blocked sending. */
static void t_loopback_stop_with_busy_connections(void **state)
{
	(void)state;
	s3i_loopback *lb = NULL;
	assert_int_equal(s3i_loopback_start(&lb, handler, NULL), 0);
	s3i_http *h = new_http(NULL);
	s3i_http_response r[3];
	char u[3][128];
	snprintf(u[0], sizeof(u[0]), "%s/echo/idle", s3i_loopback_url(lb));
	snprintf(u[1], sizeof(u[1]), "%s/hang", s3i_loopback_url(lb));
	snprintf(u[2], sizeof(u[2]), "%s/gen/1073741824", s3i_loopback_url(lb));
	for (int i = 0; i < 3; i++)
		s3i_http_response_init(&r[i], s3i_test_alloc());
	/* an idle keep-alive connection */
	s3i_http_request idle = { .method = "GET", .url = u[0] };
	assert_int_equal(s3i_http_perform(h, &idle, &r[0], NULL), 0);
	/* one waiting for an answer, one streaming into a client that stops reading */
	s3i_http_batch *b;
	assert_int_equal(s3i_http_batch_new(&b, h), 0);
	check_sink k = { 0, -1, -1, 0, 0 };
	s3i_http_request hang = { .method = "GET", .url = u[1] };
	s3i_http_request stream = { .method = "GET", .url = u[2], .sink = sink_check, .sink_user = &k };
	done_calls = 0;
	assert_int_equal(s3i_http_batch_add(b, &hang, &r[1], count_done, NULL), 0);
	assert_int_equal(s3i_http_batch_add(b, &stream, &r[2], count_done, NULL), 0);
	/* drive them until the server has both and the stream has started; neither can finish */
	int64_t begin = mono_ms();
	while (s3i_loopback_requests(lb) < 3 || k.off == 0) {
		int left = s3i_http_batch_run(b, 50);
		if (left != 2)
			fail_msg("%d of 2 requests in flight (hang: error %d status %d; stream: error %d "
				"status %d, %lld bytes)", left, r[1].error, r[1].status, r[2].error, r[2].status,
				(long long)k.off);
		if (mono_ms() - begin > 60000)
			fail_msg("the server saw %d requests in 60 s", (int)s3i_loopback_requests(lb));
	}
	int64_t t0 = mono_ms();
	s3i_loopback_stop(lb);   /* the batch is not driven now: the streaming thread is in send() */
	assert_true(mono_ms() - t0 < 2000);
	while (s3i_http_batch_run(b, 1000) > 0)
		;
	assert_int_equal(done_calls, 2);
	assert_int_equal(r[1].error, S3I_ENETWORK);
	assert_int_equal(r[2].error, S3I_ENETWORK);
	assert_int_equal(r[2].status, 200);
	assert_true(k.off < ((int64_t)1 << 30));
	assert_int_equal(k.bad_at, -1);
	s3i_http_batch_free(b);
	for (int i = 0; i < 3; i++)
		s3i_http_response_free(&r[i]);
	s3i_http_free(h);
}

/* ------------------------------------------------------------------ main */

static int group_setup(void **state)
{
	(void)state;
	if (s3i_global_init() < 0)
		return -1;
	return s3i_loopback_start(&srv.lb, handler, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	int64_t t0 = mono_ms();
	s3i_loopback_stop(srv.lb);
	print_message("  server stopped in %lld ms\n", (long long)(mono_ms() - t0));
	s3i_global_shutdown();
	return 0;
}

/* ------------------------------------------------------------------ TLS verification */

/* A one-certificate HTTPS server on 127.0.0.1 (a self-signed P-256 certificate for the IP
 * 127.0.0.1, made here), answering "ok" to every request on its connections. */
typedef struct tls_server {
	SSL_CTX *ctx;
	int fd;
	int port;
	pthread_t thread;
	atomic_int stop;
	char cert_path[64];
} tls_server;

static void *tls_serve(void *arg)
{
	tls_server *t = arg;
	while (!atomic_load(&t->stop)) {
		int c = accept(t->fd, NULL, NULL);
		if (c < 0)
			break;
		if (atomic_load(&t->stop)) {
			close(c);
			break;
		}
		SSL *ssl = SSL_new(t->ctx);
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) == 1) {   /* a client that refuses the certificate fails here */
			char req[4096];
			size_t got = 0;
			int n;
			while (got < sizeof(req) - 1 && (n = SSL_read(ssl, req + got, (int)(sizeof(req) - 1 - got))) > 0) {
				got += (size_t)n;
				req[got] = '\0';
				if (strstr(req, "\r\n\r\n"))
					break;
			}
			static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				"Content-Length: 2\r\nConnection: close\r\n\r\nok";
			SSL_write(ssl, answer, (int)sizeof(answer) - 1);
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(c);
	}
	return NULL;
}

static void tls_start(tls_server *t)
{
	memset(t, 0, sizeof(*t));
	/* a client that drops the connection must not kill the test with SIGPIPE on SSL_write */
	signal(SIGPIPE, SIG_IGN);
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);   /* OpenSSL 1.1 and 3 alike */
	assert_non_null(kc);
	assert_int_equal(EVP_PKEY_keygen_init(kc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1), 1);
	assert_int_equal(EVP_PKEY_keygen(kc, &key), 1);
	EVP_PKEY_CTX_free(kc);
	X509 *x = X509_new();
	assert_non_null(key);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	static const struct { int nid; const char *value; } exts[] = {
		{ NID_subject_alt_name, "IP:127.0.0.1" }, { NID_basic_constraints, "critical,CA:TRUE" },
	};
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value);
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	snprintf(t->cert_path, sizeof(t->cert_path), "/tmp/s3i-test-tls-XXXXXX");
	int cfd = mkstemp(t->cert_path);
	assert_true(cfd >= 0);
	FILE *f = fdopen(cfd, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	t->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(t->ctx);
	assert_int_equal(SSL_CTX_use_certificate(t->ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(t->ctx, key), 1);
	X509_free(x);
	EVP_PKEY_free(key);
	t->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(t->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(t->fd, 16), 0);
	assert_int_equal(getsockname(t->fd, (struct sockaddr *)&a, &alen), 0);
	t->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&t->thread, NULL, tls_serve, t), 0);
}

static void tls_stop(tls_server *t)
{
	atomic_store(&t->stop, 1);
	int c = socket(AF_INET, SOCK_STREAM, 0);   /* wake the accept */
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)t->port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) != 0)
		shutdown(t->fd, SHUT_RDWR);
	close(c);
	pthread_join(t->thread, NULL);
	close(t->fd);
	SSL_CTX_free(t->ctx);
	unlink(t->cert_path);
}

/* TLS peers are verified unless the caller switches it off, and switching it off is logged:
 * an unknown certificate is refused, the same one is accepted once it is a trusted CA
 * (ca_bundle), a host name it does not name is refused even then, and insecure mode accepts
 * anything but says so at WARN. */
static void t_tls_verification(void **state)
{
	(void)state;
	tls_server t;
	tls_start(&t);
	char by_ip[128], by_name[128];
	snprintf(by_ip, sizeof(by_ip), "https://127.0.0.1:%d/tls", t.port);
	snprintf(by_name, sizeof(by_name), "https://localhost:%d/tls", t.port);
	log_capture *cap = calloc(1, sizeof(*cap));
	s3i_logger lg = { capture, cap, S3I_LOG_DEBUG };
	s3i_http_response r;
	s3i_http_response_init(&r, s3i_test_alloc());
	s3i_http_request q = { .method = "GET", .url = by_ip };
	s3i_errinfo err;

	/* defaults: the system's CAs, which do not know this certificate */
	s3i_http_options o = { .logger = &lg };
	s3i_http *h = new_http(&o);
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_http_perform(h, &q, &r, &err), S3I_ENETWORK);
	assert_int_equal(r.status, 0);
	assert_true(strstr(err.message, "certificate") || strstr(err.message, "SSL"));
	s3i_http_free(h);

	/* trusted through ca_bundle: accepted, for the name the certificate holds */
	o.ca_bundle = t.cert_path;
	h = new_http(&o);
	s3i_errinfo_init(&err);
	int rc = s3i_http_perform(h, &q, &r, &err);
	if (rc)
		fail_msg("with the CA trusted: %d %s", rc, err.message);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.body.ptr, "ok", 2);
	q.url = by_name;                  /* "localhost" is not in the certificate */
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_http_perform(h, &q, &r, &err), S3I_ENETWORK);
	s3i_http_free(h);
	assert_int_equal(cap->warns, 0);

	/* insecure: accepted whatever the certificate and name, and said out loud */
	s3i_http_options io = { .logger = &lg, .insecure_skip_verify = 1 };
	h = new_http(&io);
	assert_int_equal(s3i_http_perform(h, &q, &r, NULL), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(cap->warns, 1);
	assert_non_null(strstr(cap->text, "verification is disabled"));
	s3i_http_free(h);

	s3i_http_response_free(&r);
	free(cap);
	tls_stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_stream_put_1gib),
		S3I_TEST(t_stream_get_1gib),
		S3I_TEST(t_get_roundtrip),
		S3I_TEST(t_put_roundtrip),
		S3I_TEST(t_post_roundtrip),
		S3I_TEST(t_head_and_delete),
		S3I_TEST(t_content_type_on_every_body),
		S3I_TEST(t_reuse_sequential),
		S3I_TEST(t_reuse_across_threads),
		S3I_TEST(t_batch_many_in_flight),
		S3I_TEST(t_batch_free_aborts),
		S3I_TEST(t_connect_refused),
		S3I_TEST(t_total_timeout),
		S3I_TEST(t_connect_timeout),
		S3I_TEST(t_stall_detected),
		S3I_TEST(t_loopback_stop_with_busy_connections),
		S3I_TEST(t_reset_and_close),
		S3I_TEST(t_rewind_on_second_perform),
		S3I_TEST(t_callback_aborts),
		S3I_TEST(t_error_body_with_sink),
		S3I_TEST(t_interim_headers_do_not_leak),
		S3I_TEST(t_logging_without_secrets),
		S3I_TEST(t_tls_verification),
		S3I_TEST(t_out_of_memory),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
