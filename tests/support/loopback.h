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
} s3i_lb_response;

/* Called on a connection thread; `resp` arrives zeroed with status 200. */
typedef void (*s3i_lb_handler)(void *user, const s3i_lb_request *req, s3i_lb_response *resp);

int s3i_loopback_start(s3i_loopback **out, s3i_lb_handler handler, void *user);
void s3i_loopback_stop(s3i_loopback *lb);
int s3i_loopback_port(const s3i_loopback *lb);
const char *s3i_loopback_url(const s3i_loopback *lb);   /* "http://127.0.0.1:PORT" */
int s3i_loopback_connections(const s3i_loopback *lb);   /* TCP connections accepted so far */
int s3i_loopback_requests(const s3i_loopback *lb);      /* requests answered so far */

/* Pattern byte i of generated bodies, so a receiver can verify streams. */
unsigned char s3i_lb_pattern(int64_t i);

#endif
