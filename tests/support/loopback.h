/*
 * A small loopback HTTP/1.1 server for tests of protocols that have no emulator here
 * (IMDS, container credentials, fault injection, the Lambda Runtime API) and for benchmarks.
 * It listens on 127.0.0.1 on a free port, serves each connection on its own thread with
 * keep-alive, and asks a handler what to answer. Uses plain malloc (it is not the library).
 */
#ifndef S3I_TEST_LOOPBACK_H
#define S3I_TEST_LOOPBACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct s3i_loopback s3i_loopback;

typedef struct s3i_lb_request {
	char method[16];
	char target[4096];          /* path and query as sent */
	char headers[8192];         /* raw header lines "Name: value\r\n..." */
	char *body;                 /* NUL-terminated copy (bodies > 64 MiB are counted, not kept) */
	size_t body_len;            /* bytes received (also when not kept) */
	unsigned char body_md5[16]; /* MD5 of the whole received body */
	int connection_index;       /* which accepted connection carried it (0-based) */
	int request_index;          /* global request number (0-based) */
} s3i_lb_request;

enum s3i_lb_action {
	S3I_LB_RESPOND = 0,   /* send status, headers, body */
	S3I_LB_RESET = 1,     /* close the socket with RST and send nothing */
	S3I_LB_HANG = 2,      /* send nothing and keep the socket open until the client gives up */
	S3I_LB_CLOSE = 3      /* close without a response (EOF) */
};

typedef struct s3i_lb_response {
	int action;              /* enum s3i_lb_action */
	int status;              /* default 200 */
	char headers[4096];      /* extra header lines "Name: value\r\n" (Content-Length is added) */
	const char *body;        /* static or owned by the handler's user data; may be NULL */
	size_t body_len;
	int64_t generated_len;   /* >0: send this many pattern bytes instead of body (streaming tests) */
	int delay_ms;            /* wait before answering */
	int close_after;         /* close the connection after this response */
	/* Added: an informational (1xx) response sent before the final one, e.g. 100 with
	 * interim_headers "X-Interim: 1\r\n", to check a client keeps its headers apart. */
	int interim_status;      /* 0: none */
	char interim_headers[512];
} s3i_lb_response;

/*
 * Details of the server:
 * - Requests: Content-Length or chunked bodies; "Expect: 100-continue" is answered with
 *   "100 Continue" before the body is read. A body is kept (req->body, NUL-terminated) when it
 *   is at most 64 MiB, else req->body is NULL and only body_len and body_md5 are set.
 * - Responses: Content-Length is added unless resp->headers has its own Content-Length or
 *   Transfer-Encoding (then the body is sent as given: a way to send a short or pre-encoded
 *   body). HEAD, 1xx, 204 and 304 answers carry no body (HEAD keeps the Content-Length).
 * - The connection is kept alive unless the request asks for close (or is HTTP/1.0 without
 *   keep-alive), resp->close_after is set, or resp->headers has "Connection: close".
 * - Counters (connections, requests) are updated before the answer is sent, so a client that
 *   has its response can read them.
 */

/* Called on a connection thread (several may run at once); `resp` arrives zeroed with status
 * 200. */
typedef void (*s3i_lb_handler)(void *user, const s3i_lb_request *req, s3i_lb_response *resp);

int s3i_loopback_start(s3i_loopback **out, s3i_lb_handler handler, void *user);
void s3i_loopback_stop(s3i_loopback *lb);
int s3i_loopback_port(const s3i_loopback *lb);
const char *s3i_loopback_url(const s3i_loopback *lb);   /* "http://127.0.0.1:PORT" */
int s3i_loopback_connections(const s3i_loopback *lb);   /* TCP connections accepted so far */
int s3i_loopback_requests(const s3i_loopback *lb);      /* requests answered so far */

/* Pattern byte i of generated bodies, so a receiver can verify streams:
 * (i % 251 + 7 * (i / 251)) mod 256, which repeats every 64256 bytes. */
unsigned char s3i_lb_pattern(int64_t i);
/* Added: fill buf with pattern bytes offset .. offset+len-1 (fast, for generators). */
void s3i_lb_pattern_fill(int64_t offset, void *buf, size_t len);
/* Added: -1 when buf holds pattern bytes offset .. offset+len-1, else the index in buf of the
 * first byte that differs. */
int64_t s3i_lb_pattern_check(int64_t offset, const void *buf, size_t len);

/* Added: the value of the first request header `name` (case-insensitive) copied to out
 * (truncated to cap-1 bytes, NUL-terminated). Returns its full length, or -1 when absent (out
 * is then ""). */
int s3i_lb_header(const s3i_lb_request *req, const char *name, char *out, size_t cap);
/* Added: how many times header `name` occurs in the request. */
int s3i_lb_header_count(const s3i_lb_request *req, const char *name);

#endif
