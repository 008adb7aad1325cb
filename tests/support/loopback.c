/*
 * Loopback HTTP/1.1 server for tests and benchmarks (see loopback.h).
 *
 * One accept thread plus one thread per connection. Everything a connection needs (read
 * buffer, body copy, MD5 context, request and response records) lives in its lb_conn, so a
 * request costs no allocation once the connection is warm. Stopping wakes every thread: the
 * ones waiting (accept, delay, hang) watch a pipe, the ones blocked in recv/send are woken by
 * shutdown() on their socket; then each thread is joined and freed.
 */
#include "loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define LB_MAX_KEPT_BODY ((size_t)64 << 20)  /* larger bodies are counted, not kept */
#define LB_IO_BUF (256 * 1024)                /* socket read buffer and generator chunk */
#define LB_HEAD_MAX (64 * 1024)               /* longest request head accepted */
#define LB_BODY_KEEP_CAP (4u << 20)           /* body buffers above this are freed after use */

typedef struct lb_conn {
	s3i_loopback *lb;
	pthread_t thread;
	pthread_mutex_t lock;        /* guards fd against close here vs shutdown in stop */
	int fd;
	int index;
	atomic_int done;             /* the thread has finished and may be joined */
	struct lb_conn *next;

	char *in;                    /* LB_IO_BUF bytes read from the socket */
	size_t in_pos, in_len;
	char *out;                   /* LB_IO_BUF: generated bodies */
	char *body;                  /* kept request body */
	size_t body_cap;
	EVP_MD_CTX *md;
	s3i_lb_request req;
	s3i_lb_response resp;
} lb_conn;

struct s3i_loopback {
	int listen_fd;
	int port;
	char url[64];
	int wake[2];                 /* written once on stop; stays readable */
	s3i_lb_handler handler;
	void *user;
	pthread_t accept_thread;
	pthread_mutex_t lock;        /* guards conns */
	lb_conn *conns;
	EVP_MD *md5;                 /* fetched once (OpenSSL 3), NULL: EVP_md5() */
	atomic_int stopping;
	atomic_int connections;
	atomic_int requests_seen;
	atomic_int requests_answered;
};

/* ------------------------------------------------------------------ pattern */

/* The pattern repeats every 251 * 256 bytes: fills and checks copy from one period. */
#define LB_PERIOD (251 * 256)
static unsigned char period_tab[LB_PERIOD];
static pthread_once_t period_once = PTHREAD_ONCE_INIT;

static void period_init(void)
{
	for (int64_t i = 0; i < LB_PERIOD; i++)
		period_tab[i] = s3i_lb_pattern(i);
}

unsigned char s3i_lb_pattern(int64_t i)
{
	return (unsigned char)(i % 251 + 7 * (i / 251));
}

void s3i_lb_pattern_fill(int64_t offset, void *buf, size_t len)
{
	pthread_once(&period_once, period_init);
	unsigned char *p = buf;
	size_t pos = (size_t)(offset % LB_PERIOD);
	while (len) {
		size_t n = LB_PERIOD - pos < len ? LB_PERIOD - pos : len;
		memcpy(p, period_tab + pos, n);
		p += n;
		len -= n;
		pos = 0;
	}
}

int64_t s3i_lb_pattern_check(int64_t offset, const void *buf, size_t len)
{
	pthread_once(&period_once, period_init);
	const unsigned char *p = buf;
	size_t pos = (size_t)(offset % LB_PERIOD), done = 0;
	while (done < len) {
		size_t n = LB_PERIOD - pos < len - done ? LB_PERIOD - pos : len - done;
		if (memcmp(period_tab + pos, p + done, n)) {
			for (size_t i = 0; i < n; i++)
				if (period_tab[pos + i] != p[done + i])
					return (int64_t)(done + i);
		}
		done += n;
		pos = 0;
	}
	return -1;
}

/* ------------------------------------------------------------------ header blocks */

/* Find header `name` in a block of "Name: value\r\n" lines; the value (trimmed) goes to
 * val and vlen. Starts at *from and leaves *from after the line found. */
static int block_find(const char **from, const char *name, const char **val, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = *from;
	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		const char *next = eol ? eol + 2 : p + ll;
		if (ll > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1, *e = p + ll;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*val = v;
			*vlen = (size_t)(e - v);
			*from = next;
			return 1;
		}
		p = next;
	}
	*from = p;
	return 0;
}

static int block_has(const char *block, const char *name)
{
	const char *v;
	size_t vl;
	return block_find(&block, name, &v, &vl);
}

/* Whether header `name` holds `token` in its comma-separated value. */
static int block_has_token(const char *block, const char *name, const char *token)
{
	const char *v;
	size_t vl, tl = strlen(token);
	while (block_find(&block, name, &v, &vl)) {
		const char *e = v + vl;
		while (v < e) {
			while (v < e && (*v == ' ' || *v == ','))
				v++;
			const char *s = v;
			while (v < e && *v != ',')
				v++;
			const char *t = v;
			while (t > s && t[-1] == ' ')
				t--;
			if ((size_t)(t - s) == tl && !strncasecmp(s, token, tl))
				return 1;
		}
	}
	return 0;
}

int s3i_lb_header(const s3i_lb_request *req, const char *name, char *out, size_t cap)
{
	const char *from = req->headers, *v;
	size_t vl;
	if (cap)
		out[0] = '\0';
	if (!block_find(&from, name, &v, &vl))
		return -1;
	if (cap) {
		size_t n = vl < cap - 1 ? vl : cap - 1;
		memcpy(out, v, n);
		out[n] = '\0';
	}
	return (int)vl;
}

int s3i_lb_header_count(const s3i_lb_request *req, const char *name)
{
	const char *from = req->headers, *v;
	size_t vl;
	int n = 0;
	while (block_find(&from, name, &v, &vl))
		n++;
	return n;
}

/* ------------------------------------------------------------------ socket I/O */

static int is_stopping(const s3i_loopback *lb)
{
	return atomic_load(&((s3i_loopback *)lb)->stopping);
}

/* Wait ms milliseconds; returns 1 when the server is stopping. */
static int wait_ms(s3i_loopback *lb, int ms)
{
	struct pollfd p = { lb->wake[0], POLLIN, 0 };
	while (!is_stopping(lb)) {
		int rc = poll(&p, 1, ms);
		if (rc == 0)
			return 0;
		if (rc < 0 && errno == EINTR)
			continue;
		return 1;
	}
	return 1;
}

static int send_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		struct msghdr m;
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)n;
		ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		size_t left = (size_t)w;
		while (n > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

static int send_str(int fd, const char *s, size_t len)
{
	struct iovec v = { (void *)s, len };
	return send_all(fd, &v, 1);
}

/* Read more into the input buffer. Returns bytes read, 0 on EOF, -1 on error or when the
 * buffer is full of an unfinished head. */
static ssize_t fill(lb_conn *c)
{
	if (c->in_pos == c->in_len) {
		c->in_pos = c->in_len = 0;
	} else if (c->in_pos > 0 && c->in_len == LB_IO_BUF) {
		memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len -= c->in_pos;
		c->in_pos = 0;
	}
	if (c->in_len == LB_IO_BUF)
		return -1;
	for (;;) {
		ssize_t r = recv(c->fd, c->in + c->in_len, LB_IO_BUF - c->in_len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0)
			c->in_len += (size_t)r;
		return r < 0 ? -1 : r;
	}
}

/* One CRLF-terminated line (without the CRLF) into out. Returns 1, or 0 on EOF/error. */
static int read_line(lb_conn *c, char *out, size_t cap)
{
	for (;;) {
		char *s = c->in + c->in_pos;
		size_t avail = c->in_len - c->in_pos;
		char *nl = memchr(s, '\n', avail);
		if (nl) {
			size_t n = (size_t)(nl - s);
			c->in_pos += n + 1;
			if (n && s[n - 1] == '\r')
				n--;
			if (n >= cap)
				n = cap - 1;
			memcpy(out, s, n);
			out[n] = '\0';
			return 1;
		}
		if (avail > 4096 || fill(c) <= 0)
			return 0;
	}
}

static int keep_reserve(lb_conn *c, size_t need)
{
	if (need + 1 <= c->body_cap)
		return 0;
	size_t cap = c->body_cap ? c->body_cap : 4096;
	while (cap < need + 1)
		cap *= 2;
	char *p = realloc(c->body, cap);
	if (!p)
		return -1;
	c->body = p;
	c->body_cap = cap;
	return 0;
}

/* Consume n body bytes: hash them and keep them while *keep. Returns 0 or -1. */
static int take_body(lb_conn *c, size_t n, int *keep)
{
	s3i_lb_request *r = &c->req;
	while (n > 0) {
		if (c->in_pos == c->in_len && fill(c) <= 0)
			return -1;
		size_t avail = c->in_len - c->in_pos;
		size_t k = avail < n ? avail : n;
		const char *p = c->in + c->in_pos;
		EVP_DigestUpdate(c->md, p, k);
		if (*keep) {
			if (r->body_len + k > LB_MAX_KEPT_BODY || keep_reserve(c, r->body_len + k)) {
				*keep = 0;
			} else {
				memcpy(c->body + r->body_len, p, k);
			}
		}
		r->body_len += k;
		c->in_pos += k;
		n -= k;
	}
	return 0;
}

static int read_chunked(lb_conn *c, int *keep)
{
	char line[256];
	for (;;) {
		if (!read_line(c, line, sizeof(line)))
			return -1;
		char *end;
		unsigned long long n = strtoull(line, &end, 16);
		if (end == line)
			return -1;
		if (n == 0)
			break;
		if (take_body(c, (size_t)n, keep) || !read_line(c, line, sizeof(line)) || line[0])
			return -1;
	}
	do { /* trailers up to the empty line */
		if (!read_line(c, line, sizeof(line)))
			return -1;
	} while (line[0]);
	return 0;
}

/* ------------------------------------------------------------------ requests */

typedef struct req_info {
	int close;         /* the client asked to close */
	int head;          /* HEAD request */
} req_info;

/* Read one request. Returns 1, 0 on a clean EOF between requests, -1 on a broken request. */
static int read_request(lb_conn *c, req_info *info)
{
	s3i_lb_request *r = &c->req;
	char *head, *end;
	/* skip stray CRLFs between requests, then wait for the whole head */
	for (;;) {
		while (c->in_pos < c->in_len && (c->in[c->in_pos] == '\r' || c->in[c->in_pos] == '\n'))
			c->in_pos++;
		head = c->in + c->in_pos;
		end = NULL;
		size_t avail = c->in_len - c->in_pos;
		for (size_t i = 3; i < avail; i++)
			if (head[i] == '\n' && head[i - 1] == '\r' && head[i - 2] == '\n' && head[i - 3] == '\r') {
				end = head + i + 1;
				break;
			}
		if (end)
			break;
		if (avail > LB_HEAD_MAX)
			return -1;
		ssize_t n = fill(c);
		if (n <= 0)
			return c->in_len == c->in_pos ? 0 : -1;
	}
	size_t head_len = (size_t)(end - head);
	c->in_pos += head_len;

	memset(r, 0, offsetof(s3i_lb_request, body));
	r->body = NULL;
	r->body_len = 0;
	r->connection_index = c->index;
	r->request_index = atomic_fetch_add(&c->lb->requests_seen, 1);

	/* request line */
	char *eol = memchr(head, '\n', head_len);
	char *line_end = eol > head && eol[-1] == '\r' ? eol - 1 : eol;
	char *sp1 = memchr(head, ' ', (size_t)(line_end - head));
	if (!sp1)
		return -1;
	char *sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
	if (!sp2)
		return -1;
	size_t ml = (size_t)(sp1 - head), tl = (size_t)(sp2 - sp1 - 1);
	if (ml >= sizeof(r->method))
		ml = sizeof(r->method) - 1;
	if (tl >= sizeof(r->target))
		tl = sizeof(r->target) - 1;
	memcpy(r->method, head, ml);
	memcpy(r->target, sp1 + 1, tl);
	int http10 = (size_t)(line_end - sp2 - 1) == 8 && !strncmp(sp2 + 1, "HTTP/1.0", 8);

	/* header lines, kept whole up to the record's size */
	char *h = eol + 1;
	size_t hl = (size_t)(end - h) - 2, kept = 0;
	while (hl > 0) {
		char *nl = memchr(h, '\n', hl);
		size_t ll = nl ? (size_t)(nl - h) + 1 : hl;
		if (kept + ll < sizeof(r->headers)) {
			memcpy(r->headers + kept, h, ll);
			kept += ll;
		}
		h += ll;
		hl -= ll;
	}
	r->headers[kept] = '\0';

	info->head = !strcmp(r->method, "HEAD");
	info->close = block_has_token(r->headers, "Connection", "close") ||
		(http10 && !block_has_token(r->headers, "Connection", "keep-alive"));
	int chunked = block_has_token(r->headers, "Transfer-Encoding", "chunked");
	long long length = 0;
	char cl[32];
	if (!chunked && s3i_lb_header(r, "Content-Length", cl, sizeof(cl)) >= 0) {
		char *e;
		errno = 0;
		length = strtoll(cl, &e, 10);
		if (e == cl || *e || length < 0 || errno)
			return -1;
	}
	if ((chunked || length > 0) && block_has_token(r->headers, "Expect", "100-continue") &&
		send_str(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25))
		return -1;

	EVP_DigestInit_ex(c->md, c->lb->md5 ? c->lb->md5 : EVP_md5(), NULL);
	int keep = chunked || (size_t)length <= LB_MAX_KEPT_BODY;
	if (keep && !chunked && keep_reserve(c, (size_t)length))
		keep = 0;
	if (chunked ? read_chunked(c, &keep) : take_body(c, (size_t)length, &keep))
		return -1;
	EVP_DigestFinal_ex(c->md, r->body_md5, NULL);
	if (keep && !keep_reserve(c, r->body_len)) {
		c->body[r->body_len] = '\0';
		r->body = c->body;
	}
	return 1;
}

/* ------------------------------------------------------------------ responses */

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 102: return "Processing";
	case 103: return "Early Hints";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static int send_generated(lb_conn *c, int64_t len)
{
	int64_t off = 0;
	while (off < len) {
		size_t n = len - off < LB_IO_BUF ? (size_t)(len - off) : LB_IO_BUF;
		s3i_lb_pattern_fill(off, c->out, n);
		if (send_str(c->fd, c->out, n))
			return -1;
		off += (int64_t)n;
	}
	return 0;
}

/* Returns 0 to keep the connection, 1 to close it, -1 on a send error. */
static int send_response(lb_conn *c, const req_info *info)
{
	s3i_lb_response *p = &c->resp;
	int status = p->status ? p->status : 200;
	char head[sizeof(p->headers) + sizeof(p->interim_headers) + 256];
	size_t n = 0;   /* the pieces are bounded (4 KiB + 512 + short lines), so head cannot overflow */
	if (p->interim_status >= 100 && p->interim_status < 200)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "HTTP/1.1 %d %s\r\n%s\r\n",
			p->interim_status, reason(p->interim_status), p->interim_headers);
	int close = info->close || p->close_after ||
		block_has_token(p->headers, "Connection", "close");
	int no_body = info->head || status < 200 || status == 204 || status == 304;
	int64_t body_len = p->generated_len > 0 ? p->generated_len : (int64_t)p->body_len;
	n += (size_t)snprintf(head + n, sizeof(head) - n, "HTTP/1.1 %d %s\r\n", status, reason(status));
	int own_framing = block_has(p->headers, "Content-Length") ||
		block_has(p->headers, "Transfer-Encoding");
	if (!own_framing && status >= 200 && status != 204 && status != 304)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "Content-Length: %lld\r\n",
			(long long)body_len);
	n += (size_t)snprintf(head + n, sizeof(head) - n, "%s%s\r\n", p->headers,
		close && !block_has(p->headers, "Connection") ? "Connection: close\r\n" : "");
	if (n >= sizeof(head))
		n = sizeof(head) - 1;
	struct iovec iov[2] = { { head, n }, { (void *)p->body, 0 } };
	int iovn = 1;
	if (!no_body && p->generated_len <= 0 && p->body && p->body_len) {
		iov[1].iov_len = p->body_len;
		iovn = 2;
	}
	if (send_all(c->fd, iov, iovn))
		return -1;
	if (!no_body && p->generated_len > 0 && send_generated(c, p->generated_len))
		return -1;
	return close;
}

/* Wait until the client closes the connection or the server stops. */
static void hang(lb_conn *c)
{
	struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { c->lb->wake[0], POLLIN, 0 } };
	char scratch[4096];
	while (!is_stopping(c->lb)) {
		int rc = poll(p, 2, -1);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[1].revents)
			return;
		if (p[0].revents) {
			ssize_t r = recv(c->fd, scratch, sizeof(scratch), 0);
			if (r == 0 || (r < 0 && errno != EINTR))
				return;
		}
	}
}

static void close_conn(lb_conn *c, int reset)
{
	pthread_mutex_lock(&c->lock);
	if (c->fd >= 0) {
		if (reset) {
			struct linger l = { 1, 0 };
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(c->fd);
		c->fd = -1;
	}
	pthread_mutex_unlock(&c->lock);
}

static void *conn_main(void *arg)
{
	lb_conn *c = arg;
	s3i_loopback *lb = c->lb;
	int reset = 0;
	while (!is_stopping(lb)) {
		req_info info;
		if (read_request(c, &info) <= 0)
			break;
		memset(&c->resp, 0, sizeof(c->resp));
		c->resp.status = 200;
		lb->handler(lb->user, &c->req, &c->resp);
		if (c->resp.delay_ms > 0 && wait_ms(lb, c->resp.delay_ms))
			break;
		atomic_fetch_add(&lb->requests_answered, 1);
		int action = c->resp.action;
		if (action == S3I_LB_RESET) {
			reset = 1;
			break;
		}
		if (action == S3I_LB_CLOSE)
			break;
		if (action == S3I_LB_HANG) {
			hang(c);
			break;
		}
		if (send_response(c, &info))
			break;
		if (c->body_cap > LB_BODY_KEEP_CAP) { /* the response may have echoed it: now free */
			free(c->body);
			c->body = NULL;
			c->body_cap = 0;
		}
	}
	close_conn(c, reset);
	atomic_store(&c->done, 1);
	return NULL;
}

/* ------------------------------------------------------------------ server */

static void conn_free(lb_conn *c)
{
	pthread_mutex_destroy(&c->lock);
	EVP_MD_CTX_free(c->md);
	free(c->in);
	free(c->out);
	free(c->body);
	free(c);
}

/* Join and free finished connections. */
static void reap(s3i_loopback *lb)
{
	pthread_mutex_lock(&lb->lock);
	for (lb_conn **pp = &lb->conns; *pp;) {
		lb_conn *c = *pp;
		if (atomic_load(&c->done)) {
			*pp = c->next;
			pthread_join(c->thread, NULL);
			conn_free(c);
		} else {
			pp = &c->next;
		}
	}
	pthread_mutex_unlock(&lb->lock);
}

static void start_conn(s3i_loopback *lb, int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	lb_conn *c = calloc(1, sizeof(*c));
	if (c) {
		c->in = malloc(LB_IO_BUF);
		c->out = malloc(LB_IO_BUF);
		c->md = EVP_MD_CTX_new();
	}
	if (!c || !c->in || !c->out || !c->md) {
		if (c)
			conn_free(c);
		close(fd);
		return;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->lb = lb;
	c->fd = fd;
	c->index = atomic_fetch_add(&lb->connections, 1);
	pthread_mutex_lock(&lb->lock);
	if (pthread_create(&c->thread, NULL, conn_main, c)) {
		pthread_mutex_unlock(&lb->lock);
		close(fd);
		conn_free(c);
		return;
	}
	c->next = lb->conns;
	lb->conns = c;
	pthread_mutex_unlock(&lb->lock);
}

static void *accept_main(void *arg)
{
	s3i_loopback *lb = arg;
	struct pollfd p[2] = { { lb->listen_fd, POLLIN, 0 }, { lb->wake[0], POLLIN, 0 } };
	while (!is_stopping(lb)) {
		int rc = poll(p, 2, -1);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents || is_stopping(lb))
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept(lb->listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
				wait_ms(lb, 10);
			continue;
		}
		reap(lb);
		start_conn(lb, fd);
	}
	return NULL;
}

int s3i_loopback_start(s3i_loopback **out, s3i_lb_handler handler, void *user)
{
	*out = NULL;
	s3i_loopback *lb = calloc(1, sizeof(*lb));
	if (!lb)
		return -1;
	lb->listen_fd = -1;
	lb->wake[0] = lb->wake[1] = -1;
	lb->handler = handler;
	lb->user = user;
	pthread_mutex_init(&lb->lock, NULL);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	lb->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
#endif
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	if (pipe(lb->wake))
		goto fail;
	fcntl(lb->wake[0], F_SETFD, FD_CLOEXEC);
	fcntl(lb->wake[1], F_SETFD, FD_CLOEXEC);
	lb->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (lb->listen_fd < 0)
		goto fail;
	fcntl(lb->listen_fd, F_SETFD, FD_CLOEXEC);
	if (bind(lb->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		listen(lb->listen_fd, 1024) ||
		getsockname(lb->listen_fd, (struct sockaddr *)&sa, &sl))
		goto fail;
	lb->port = ntohs(sa.sin_port);
	snprintf(lb->url, sizeof(lb->url), "http://127.0.0.1:%d", lb->port);
	if (pthread_create(&lb->accept_thread, NULL, accept_main, lb))
		goto fail;
	*out = lb;
	return 0;
fail:
	if (lb->listen_fd >= 0)
		close(lb->listen_fd);
	if (lb->wake[0] >= 0) {
		close(lb->wake[0]);
		close(lb->wake[1]);
	}
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	EVP_MD_free(lb->md5);
#endif
	pthread_mutex_destroy(&lb->lock);
	free(lb);
	return -1;
}

void s3i_loopback_stop(s3i_loopback *lb)
{
	if (!lb)
		return;
	atomic_store(&lb->stopping, 1);
	ssize_t w;
	do
		w = write(lb->wake[1], "x", 1);
	while (w < 0 && errno == EINTR);
	pthread_join(lb->accept_thread, NULL);
	close(lb->listen_fd);
	/* wake the connection threads blocked in recv/send, then join them all */
	pthread_mutex_lock(&lb->lock);
	for (lb_conn *c = lb->conns; c; c = c->next) {
		pthread_mutex_lock(&c->lock);
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
		pthread_mutex_unlock(&c->lock);
	}
	lb_conn *all = lb->conns;
	lb->conns = NULL;
	pthread_mutex_unlock(&lb->lock);
	while (all) {
		lb_conn *next = all->next;
		pthread_join(all->thread, NULL);
		conn_free(all);
		all = next;
	}
	close(lb->wake[0]);
	close(lb->wake[1]);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	EVP_MD_free(lb->md5);
#endif
	pthread_mutex_destroy(&lb->lock);
	free(lb);
}

int s3i_loopback_port(const s3i_loopback *lb) { return lb->port; }
const char *s3i_loopback_url(const s3i_loopback *lb) { return lb->url; }

int s3i_loopback_connections(const s3i_loopback *lb)
{
	return atomic_load(&((s3i_loopback *)lb)->connections);
}

int s3i_loopback_requests(const s3i_loopback *lb)
{
	return atomic_load(&((s3i_loopback *)lb)->requests_answered);
}
