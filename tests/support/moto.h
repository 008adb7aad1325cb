/*
 * moto_server for integration tests. One server per test program, started on a free
 * loopback port through tests/moto_launcher.py (inventory fixes + the /_fault endpoint),
 * reset between tests. Sets AWS_ENDPOINT_URL and dummy credentials in the environment.
 *
 * Raw calls here use libcurl directly (its own SigV4 for signed calls), never the library,
 * so a test can seed and inspect moto independently of the code under test. Uses plain
 * malloc. Not thread-safe: call it from the test's main thread (the server is tied to the
 * thread that started it and dies with it, also when the test crashes).
 */
#ifndef S3I_TEST_MOTO_H
#define S3I_TEST_MOTO_H

#include <stddef.h>

typedef struct s3i_moto s3i_moto;

/* Start (or reuse the process-wide) server. extra_env: NULL or "NAME=value" strings for the
 * server process, e.g. "S3_UPLOAD_PART_MIN_SIZE=1024" (only the call that starts it uses
 * them). Every call (re)sets AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID=testing,
 * AWS_SECRET_ACCESS_KEY=testing and AWS_REGION=us-east-1 and unsets AWS_SESSION_TOKEN and
 * AWS_PROFILE. Returns 0 or -1 (message and the server log's tail on stderr). */
int s3i_moto_start(s3i_moto **out, const char *const *extra_env);
/* SIGTERM, wait for the exit (SIGKILL after 10 s). A later s3i_moto_start starts a new one.
 * Also done at exit; NULL is a no-op. */
void s3i_moto_stop(s3i_moto *m);
const char *s3i_moto_url(const s3i_moto *m);        /* "http://127.0.0.1:PORT" */
int s3i_moto_port(const s3i_moto *m);
int s3i_moto_pid(const s3i_moto *m);                 /* the server process; 0 once stopped */
const char *s3i_moto_log_path(const s3i_moto *m);    /* server stdout+stderr */
void s3i_moto_print_log_tail(const s3i_moto *m, int lines);   /* to stderr */

/* Clears the /_fault rules, switches signature checking off and POSTs /moto-api/reset
 * (every backend emptied). Not reset, as in moto: /moto-api/config settings and
 * state-manager transitions. */
int s3i_moto_reset(s3i_moto *m);

/* Turn SigV4 checking on: creates IAM user "ci" with an allow-all policy and returns its keys
 * (buffers of at least 64 and 128 bytes). From then on every call needs those keys and a good
 * signature (moto-notes §2 lists what moto then wrongly rejects). Undone by s3i_moto_reset.
 * Call it once after a reset. */
int s3i_moto_enable_auth(s3i_moto *m, char *access_key_id, char *secret_access_key);

/* /_fault rules (JSON text, one rule or a list) and clearing them; see tests/moto_launcher.py
 * for the rule fields. */
int s3i_moto_add_fault(s3i_moto *m, const char *rule_json);
int s3i_moto_clear_faults(s3i_moto *m);

/* Raw helper: method + path against the server; the response body (malloc'd) in *out_body. */
int s3i_moto_http(s3i_moto *m, const char *method, const char *path, const char *content_type,
	const char *body, char **out_body, int *out_status);

/* A raw call, signed with libcurl's SigV4 (CURLOPT_AWS_SIGV4) when service is set. */
typedef struct s3i_moto_req {
	const char *method;              /* NULL: GET, or POST when there is a body */
	const char *path;                /* path and query, e.g. "/bucket/key" */
	const char *service;             /* "s3", "dynamodb", "sts", "iam", ...; NULL: unsigned */
	const char *region;              /* NULL: us-east-1 */
	const char *access_key_id;       /* NULL: "testing" */
	const char *secret_access_key;   /* NULL: "testing" */
	const char *content_type;        /* NULL: none sent (the header is suppressed) */
	const char *const *headers;      /* NULL or NULL-terminated "Name: value" lines */
	const char *body;                /* NULL: no body */
	size_t body_len;                 /* 0 with a body: strlen(body) */
	const char *session_token;       /* NULL: none; else sent (and signed) as X-Amz-Security-Token */
} s3i_moto_req;

/* Returns 0 when a response arrived (any status: *out_status), -1 on a transport error.
 * out_body (NUL-terminated, free() it) and out_status may be NULL. */
int s3i_moto_call(s3i_moto *m, const s3i_moto_req *req, char **out_body, int *out_status);

#endif
