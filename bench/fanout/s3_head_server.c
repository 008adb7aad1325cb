/*
 * A fast loopback HTTP/1.1 server for bench/fanout that answers HeadObject like S3: every HEAD
 * gets 200 with the headers S3 sends for a 434234-byte STANDARD object (x-amz-id-2, a fresh
 * x-amz-request-id, Date, Last-Modified, ETag, Accept-Ranges, Content-Type, Content-Length,
 * Server) and no body. Anything else gets 405 MethodNotAllowed with S3's XML error body.
 *
 * One thread, epoll, non-blocking sockets, keep-alive (Connection: close honoured), requests
 * of a connection answered in order (pipelining works). A request body announced by
 * Content-Length is read and dropped. No TLS. The response is built once; per response only
 * the request id (a counter) and, once a second, the Date are written into it.
 *
 * usage: s3_head_server [-p PORT] [--port-file FILE]
 * PORT 0 (the default) picks a free one; it is printed on stdout ("port N") and written to
 * FILE once the server listens. SIGTERM or SIGINT stop it; it then prints how many requests
 * it answered and its CPU time on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define IN_CAP 16384
#define OBJECT_SIZE "434234"

typedef struct conn {
	int fd;
	size_t in_len;
	int64_t body_left;        /* request body bytes still to drop */
	char *out;                /* pending response bytes (when the socket was full) */
	size_t out_len, out_off, out_cap;
	int close_after;
	char in[IN_CAP];
} conn;

static volatile sig_atomic_t stopping;
static uint64_t answered;

static char head_resp[1024];
static size_t head_len;
static size_t reqid_off, date_off;    /* where the request id and date go in head_resp */
static char err_resp[1024];
static size_t err_len;
static size_t err_reqid_off, err_date_off;
static time_t date_for;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void http_date(char out[30], time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 30, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Build a response with 16-character request id and 29-character date placeholders. */
static size_t build(char *buf, size_t cap, const char *status, const char *extra,
	const char *body, size_t *reqid, size_t *date)
{
	int n = snprintf(buf, cap,
		"HTTP/1.1 %s\r\n"
		"x-amz-id-2: ef8yU9AS1ed4OpIszj7UDNEHGran/JCl+2H3sK4Bh7mYM5OYv9Bo1Q7ePzBnrA7Y=\r\n"
		"x-amz-request-id: %s\r\n"
		"Date: %s\r\n"
		"%s"
		"Server: AmazonS3\r\n"
		"\r\n%s",
		status, "0000000000000000", "Thu, 01 Jan 1970 00:00:00 GMT", extra, body);
	*reqid = (size_t)(strstr(buf, "x-amz-request-id: ") - buf) + 18;
	*date = (size_t)(strstr(buf, "Date: ") - buf) + 6;
	return (size_t)n;
}

static void prepare_responses(void)
{
	head_len = build(head_resp, sizeof(head_resp), "200 OK",
		"Last-Modified: Sun, 01 Jan 2006 12:00:00 GMT\r\n"
		"ETag: \"fba9dede5f27731c9771645a39863328\"\r\n"
		"Accept-Ranges: bytes\r\n"
		"Content-Type: text/csv\r\n"
		"Content-Length: " OBJECT_SIZE "\r\n", "", &reqid_off, &date_off);
	static const char body[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
		"MethodNotAllowed</Code><Message>The specified method is not allowed against this "
		"resource.</Message></Error>";
	char extra[128];
	snprintf(extra, sizeof(extra), "Content-Type: application/xml\r\nContent-Length: %zu\r\n",
		sizeof(body) - 1);
	err_len = build(err_resp, sizeof(err_resp), "405 Method Not Allowed", extra, body,
		&err_reqid_off, &err_date_off);
}

static void stamp(char *resp, size_t reqid, size_t date)
{
	static const char hex[] = "0123456789ABCDEF";
	uint64_t id = ++answered * 0x9E3779B97F4A7C15ull;
	for (int i = 15; i >= 0; i--, id >>= 4)
		resp[reqid + (size_t)i] = hex[id & 15];
	time_t now = time(NULL);
	if (now != date_for) {
		char d[30];
		http_date(d, now);
		memcpy(head_resp + date_off, d, 29);
		memcpy(err_resp + err_date_off, d, 29);
		date_for = now;
	}
	(void)date;
}

static int queue_out(conn *c, const char *data, size_t len)
{
	if (c->out_len + len > c->out_cap) {
		size_t cap = (c->out_len + len) * 2;
		char *p = realloc(c->out, cap);
		if (!p)
			return -1;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

/* Send what is pending; 0 when all went, 1 when the socket is full, -1 on error. */
static int flush_out(conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static int64_t header_value_int(const char *head, size_t len, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = head; p && p < head + len;) {
		const char *eol = memchr(p, '\n', (size_t)(head + len - p));
		if ((size_t)(head + len - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':')
			return strtoll(p + nl + 1, NULL, 10);
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}

static int header_has(const char *head, size_t len, const char *name, const char *value)
{
	size_t nl = strlen(name);
	for (const char *p = head; p && p < head + len;) {
		const char *eol = memchr(p, '\n', (size_t)(head + len - p));
		if ((size_t)(head + len - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			return !strncasecmp(v, value, strlen(value));
		}
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}

/* Answer every complete request in c->in. -1: close the connection. */
static int serve(conn *c)
{
	size_t off = 0;
	for (;;) {
		if (c->body_left > 0) {
			size_t drop = c->in_len - off < (size_t)c->body_left ? c->in_len - off
				: (size_t)c->body_left;
			off += drop;
			c->body_left -= (int64_t)drop;
			if (c->body_left > 0)
				break;
		}
		char *start = c->in + off;
		size_t avail = c->in_len - off;
		char *end = avail >= 4 ? memmem(start, avail, "\r\n\r\n", 4) : NULL;
		if (!end)
			break;
		size_t head = (size_t)(end - start) + 4;
		int is_head = avail >= 5 && !memcmp(start, "HEAD ", 5);
		c->body_left = header_value_int(start, head, "Content-Length");
		if (header_has(start, head, "Connection", "close"))
			c->close_after = 1;
		if (is_head) {
			stamp(head_resp, reqid_off, date_off);
			if (queue_out(c, head_resp, head_len))
				return -1;
		} else {
			stamp(err_resp, err_reqid_off, err_date_off);
			if (queue_out(c, err_resp, err_len))
				return -1;
		}
		off += head;
	}
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	if (c->in_len == IN_CAP)   /* a request head larger than the buffer */
		return -1;
	return 0;
}

static void conn_close(int ep, conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
}

int main(int argc, char **argv)
{
	int port = 0;
	const char *port_file = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
			port_file = argv[++i];
		else {
			fprintf(stderr, "usage: %s [-p PORT] [--port-file FILE]\n", argv[0]);
			return 2;
		}
	}
	prepare_responses();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof(addr)) || listen(ls, 1024)) {
		perror("s3_head_server: listen");
		return 1;
	}
	socklen_t alen = sizeof(addr);
	getsockname(ls, (struct sockaddr *)&addr, &alen);
	port = ntohs(addr.sin_port);
	printf("port %d\n", port);
	fflush(stdout);
	if (port_file) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) || rename(tmp, port_file)) {
			perror(port_file);
			return 1;
		}
	}

	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	struct epoll_event events[MAX_EVENTS];
	while (!stopping) {
		int n = epoll_wait(ep, events, MAX_EVENTS, 500);
		for (int i = 0; i < n; i++) {
			conn *c = events[i].data.ptr;
			if (!c) {   /* the listener: accept everything waiting */
				for (;;) {
					int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					conn *nc = calloc(1, sizeof(*nc));
					if (!nc) {
						close(fd);
						continue;
					}
					nc->fd = fd;
					struct epoll_event cev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
				}
				continue;
			}
			int dead = 0;
			if (events[i].events & EPOLLOUT) {
				int r = flush_out(c);
				if (r < 0)
					dead = 1;
				else if (r == 0) {
					struct epoll_event cev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
					if (c->close_after)
						dead = 1;
				}
			}
			if (!dead && (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
				ssize_t got = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
				if (got <= 0 && !(got < 0 && (errno == EAGAIN || errno == EINTR)))
					dead = 1;
				else if (got > 0) {
					c->in_len += (size_t)got;
					if (serve(c))
						dead = 1;
				}
				if (!dead && c->out_len) {
					int r = flush_out(c);
					if (r < 0) {
						dead = 1;
					} else if (r == 1) {
						struct epoll_event cev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP,
							.data.ptr = c };
						epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
					} else if (c->close_after) {
						dead = 1;
					}
				}
			}
			if (dead)
				conn_close(ep, c);
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "s3_head_server: %llu requests answered, %.3f s CPU\n",
		(unsigned long long)answered, (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	return 0;
}
