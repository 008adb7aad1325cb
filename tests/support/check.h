/*
 * Assertions shared by the integration tests: a library status that must be S3I_OK, a failure
 * that must carry a given status, AWS code and words in its message, and a log callback that
 * prints to stderr. On failure they print the thread's error detail first, so a red test says
 * what the library said.
 */
#ifndef S3I_TEST_CHECK_H
#define S3I_TEST_CHECK_H

#include "s3insights/s3insights.h"
#include "moto.h"

/* Print `what -> rc (text): message [aws_code, HTTP status, resource]` to stderr. */
void s3i_check_show_error(const char *what, int rc);
/* rc and the thread's error must be `code`; aws_code (may be NULL) must match; the message
 * must mention every string of the NULL-terminated list `mentions` (may be NULL). */
void s3i_check_expect_error(int rc, int code, const char *aws_code, const char *const *mentions);
/* An s3i_log_fn printing "  [s3i LEVEL] line" to stderr. */
void s3i_check_log(void *user, s3i_log_level level, const char *line);

/* POST a JSON body to a moto control path; the answer must be 2xx. */
void s3i_check_moto_post(s3i_moto *m, const char *path, const char *body);
/* Reset and start moto's request recorder. */
void s3i_check_recorder_start(s3i_moto *m);
/* Every /_fault rule added since the last reset must have been used up (count 0). */
void s3i_check_faults_used(s3i_moto *m);
/* A /_fault rule answering JSON-protocol operation `target` ("AmazonAthena.GetQueryResults")
 * with HTTP `status` and the JSON `body` (application/x-amz-json-1.1), `count` times. */
void s3i_check_json_fault(s3i_moto *m, const char *target, int status, int count,
	const char *body);

#define CHECK_OK(call) do { \
	int rc_ = (call); \
	if (rc_ != S3I_OK) \
		s3i_check_show_error(#call, rc_); \
	assert_int_equal(rc_, S3I_OK); \
} while (0)

#endif
