/*
 * moto_server for integration tests. One server per test program, started on a free
 * loopback port through tests/moto_launcher.py (inventory fixes + the /_fault endpoint),
 * reset between tests. Sets AWS_ENDPOINT_URL and dummy credentials in the environment.
 */
#ifndef S3I_TEST_MOTO_H
#define S3I_TEST_MOTO_H

#include <stddef.h>

typedef struct s3i_moto s3i_moto;

/* Start (or reuse the process-wide) server. extra_env: NULL or "NAME=value" strings for the
 * server process, e.g. "S3_UPLOAD_PART_MIN_SIZE=1024". Returns 0 or -1 (message on stderr). */
int s3i_moto_start(s3i_moto **out, const char *const *extra_env);
void s3i_moto_stop(s3i_moto *m);
const char *s3i_moto_url(const s3i_moto *m);        /* "http://127.0.0.1:PORT" */
int s3i_moto_port(const s3i_moto *m);

/* POST /moto-api/reset (and switches signature checking back off). */
int s3i_moto_reset(s3i_moto *m);

/* Turn SigV4 checking on: creates IAM user "ci" with an allow-all policy and returns its keys
 * (buffers of at least 64 and 128 bytes). Undone by s3i_moto_reset. */
int s3i_moto_enable_auth(s3i_moto *m, char *access_key_id, char *secret_access_key);

/* /_fault rules (JSON text, one rule or a list) and clearing them. */
int s3i_moto_add_fault(s3i_moto *m, const char *rule_json);
int s3i_moto_clear_faults(s3i_moto *m);

/* Raw helper: method + path against the server; the response body (malloc'd) in *out_body. */
int s3i_moto_http(s3i_moto *m, const char *method, const char *path, const char *content_type,
	const char *body, char **out_body, int *out_status);

#endif
