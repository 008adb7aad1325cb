/*
 * A fast loopback HTTP/1.1 server for bench/snapshot that answers like S3 for what a list
 * snapshot does (moto re-sorts the whole bucket for every page, so 200k keys would take
 * minutes there):
 *
 *  - GET /bench-<N>?list-type=2[&max-keys=M][&continuation-token=T][&encoding-type=url]:
 *    a ListObjectsV2 page of a synthetic bucket of N objects, in key order. Key i is
 *    "photos/<i%1000>/IMG_<i> copy.jpg" (sent as "+"-encoded with encoding-type=url, as S3
 *    does), with a size, a date, an ETag (every 16th a multipart one), a storage class and an
 *    owner, so the parser and the CSV writer see what S3 sends. Tokens are the next index.
 *  - PUT (any path): the body is read and dropped; 200 with an ETag (the staging writes).
 *    "Expect: 100-continue" is answered.
 *  - anything else: 404 NoSuchKey.
 *
 * One thread per connection, blocking sockets, keep-alive. No TLS.
 *
 * usage: list_server [--port-file FILE]
 * Listens on a free port, prints "port N" on stdout and writes N to FILE. SIGTERM or SIGINT
 * stop it; it then prints how many requests it answered on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_long answered;
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

typedef struct out {
	char *p;
	size_t n, cap;
} out;

static void out_put(out *o, const char *s, size_t n)
{
	if (o->n + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 65536;
		while (cap < o->n + n + 1)
			cap *= 2;
		o->p = realloc(o->p, cap);
		if (!o->p)
			abort();
		o->cap = cap;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void out_printf(out *o, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_put(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* The value of query parameter `name` (copied, at most cap-1 bytes), or NULL. */
static const char *query_param(const char *q, const char *name, char *buf, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = q; p && *p;) {
		if (!strncmp(p, name, nl) && (p[nl] == '=' || p[nl] == '&' || !p[nl])) {
			const char *v = p[nl] == '=' ? p + nl + 1 : p + nl;
			size_t n = strcspn(v, "&");
			if (n >= cap)
				n = cap - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		p = strchr(p, '&');
		if (p)
			p++;
	}
	return NULL;
}

static void list_page(out *body, const char *bucket, long total, long start, long max, int url)
{
	long end = start + max < total ? start + max : total;
	out_printf(body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
		"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>%s</Name><Prefix></Prefix>"
		"<KeyCount>%ld</KeyCount><MaxKeys>%ld</MaxKeys>%s<IsTruncated>%s</IsTruncated>",
		bucket, end - start, max, url ? "<EncodingType>url</EncodingType>" : "",
		end < total ? "true" : "false");
	if (start)
		out_printf(body, "<ContinuationToken>%ld</ContinuationToken>", start);
	if (end < total)
		out_printf(body, "<NextContinuationToken>%ld</NextContinuationToken>", end);
	for (long i = start; i < end; i++) {
		/* keys sort like their numbers: zero-padded */
		out_printf(body, "<Contents><Key>photos/%03ld/IMG_%09ld%scopy.jpg</Key>"
			"<LastModified>2024-%02ld-%02ldT%02ld:%02ld:%02ld.000Z</LastModified>"
			"<ETag>&quot;%08lx%024lx%s&quot;</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"
			"<Size>%ld</Size><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
			"</ID><DisplayName>webfile</DisplayName></Owner><StorageClass>%s</StorageClass>"
			"</Contents>",
			i % 1000, i, url ? "+" : " ", i % 12 + 1, i % 28 + 1, i % 24, i % 60, (i / 60) % 60,
			(unsigned long)i * 2654435761u, (unsigned long)i, i % 16 == 0 ? "-3" : "",
			(i * 7919) % 5000000, i % 5 ? "STANDARD" : "STANDARD_IA");
	}
	out_put(body, "</ListBucketResult>", 19);
}

static void serve(int fd)
{
	size_t cap = 65536, len = 0;
	char *in = malloc(cap);
	char *discard = malloc(1 << 16);
	out body = { 0 }, head = { 0 };
	if (!in || !discard)
		abort();
	for (;;) {
		char *end;
		while (!(end = memmem(in, len, "\r\n\r\n", 4))) {
			if (len == cap)
				goto done;
			ssize_t r = recv(fd, in + len, cap - len, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				goto done;
			len += (size_t)r;
		}
		size_t hlen = (size_t)(end - in) + 4;
		in[hlen - 2] = '\0';
		char method[16] = "", target[4096] = "";
		sscanf(in, "%15s %4095s", method, target);
		long long clen = 0;
		int expect = 0, close_after = 0;
		for (char *line = strstr(in, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
			char *h = line + 2;
			if (!strncasecmp(h, "Content-Length:", 15))
				clen = atoll(h + 15);
			else if (!strncasecmp(h, "Expect:", 7) && strcasestr(h, "100-continue"))
				expect = 1;
			else if (!strncasecmp(h, "Connection:", 11) && strcasestr(h, "close"))
				close_after = 1;
		}
		if (expect && clen > 0 && write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25))
			goto done;
		/* drop the body: what is already read, then the rest */
		size_t have = len - hlen;
		if ((long long)have > clen)
			have = (size_t)clen;
		long long left = clen - (long long)have;
		memmove(in, in + hlen + have, len - hlen - have);
		len -= hlen + have;
		while (left > 0) {
			ssize_t r = recv(fd, discard, left < (1 << 16) ? (size_t)left : (1 << 16), 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				goto done;
			left -= r;
		}
		body.n = 0;
		head.n = 0;
		int status = 200;
		const char *ctype = "application/xml";
		char *q = strchr(target, '?');
		if (q)
			*q++ = '\0';
		char v[256];
		if (!strcmp(method, "GET") && q && query_param(q, "list-type", v, sizeof(v)) &&
			!strncmp(target, "/bench-", 7)) {
			long total = atol(target + 7);
			long start = query_param(q, "continuation-token", v, sizeof(v)) ? atol(v) : 0;
			long max = query_param(q, "max-keys", v, sizeof(v)) ? atol(v) : 1000;
			if (max <= 0 || max > 1000)
				max = 1000;
			list_page(&body, target + 1, total, start, max,
				query_param(q, "encoding-type", v, sizeof(v)) != NULL);
		} else if (!strcmp(method, "PUT")) {
			ctype = NULL;
		} else {
			status = 404;
			out_printf(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey"
				"</Code><Message>The specified key does not exist.</Message><RequestId>%ld"
				"</RequestId></Error>", atomic_load(&answered));
		}
		out_printf(&head, "HTTP/1.1 %d %s\r\nx-amz-request-id: %ld\r\nServer: AmazonS3\r\n"
			"Content-Length: %zu\r\n", status, status == 200 ? "OK" : "Not Found",
			atomic_fetch_add(&answered, 1), body.n);
		if (ctype)
			out_printf(&head, "Content-Type: %s\r\n", ctype);
		if (!strcmp(method, "PUT"))
			out_printf(&head, "ETag: \"d41d8cd98f00b204e9800998ecf8427e\"\r\n");
		out_printf(&head, "%s\r\n", close_after ? "Connection: close\r\n" : "");
		if (write_all(fd, head.p, head.n) || (body.n && write_all(fd, body.p, body.n)))
			goto done;
		if (close_after)
			goto done;
	}
done:
	close(fd);
	free(in);
	free(discard);
	free(body.p);
	free(head.p);
}

static void *conn_thread(void *arg)
{
	serve((int)(intptr_t)arg);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *port_file = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port-file") && i + 1 < argc) {
			port_file = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--port-file FILE]\n", argv[0]);
			return 2;
		}
	}
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 128) ||
		getsockname(ls, (struct sockaddr *)&a, &al)) {
		perror("list_server: listen");
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int port = ntohs(a.sin_port);
	printf("port %d\n", port);
	fflush(stdout);
	if (port_file) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) || rename(tmp, port_file)) {
			perror("list_server: port file");
			return 1;
		}
	}
	while (!stopping) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_t t;
		if (pthread_create(&t, NULL, conn_thread, (void *)(intptr_t)fd))
			close(fd);
		else
			pthread_detach(t);
	}
	fprintf(stderr, "list_server: %ld requests answered\n", atomic_load(&answered));
	return 0;
}
