/* Shared test assertions: see check.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "check.h"
#include "core/json.h"
#include <stdlib.h>

void s3i_check_show_error(const char *what, int rc)
{
	const s3i_error *e = s3i_error_last();
	fprintf(stderr, "%s -> %d (%s): %s [aws_code '%s', HTTP %d, resource '%s']\n", what, rc,
		s3i_strerror(rc), e->message, e->aws_code, (int)e->http_status, e->resource);
}

void s3i_check_expect_error(int rc, int code, const char *aws_code, const char *const *mentions)
{
	const s3i_error *e = s3i_error_last();
	if (rc != code)
		s3i_check_show_error("expected failure", rc);
	assert_int_equal(rc, code);
	assert_int_equal(e->code, code);
	if (aws_code)
		assert_string_equal(e->aws_code, aws_code);
	for (const char *const *m = mentions; m && *m; m++) {
		if (!strstr(e->message, *m))
			fprintf(stderr, "message '%s' does not mention '%s'\n", e->message, *m);
		assert_non_null(strstr(e->message, *m));
	}
}

void s3i_check_log(void *user, s3i_log_level level, const char *line)
{
	(void)user;
	fprintf(stderr, "  [s3i %d] %s\n", (int)level, line);
}

void s3i_check_moto_post(s3i_moto *m, const char *path, const char *body)
{
	int status = 0;
	assert_int_equal(s3i_moto_http(m, "POST", path, "application/json", body, NULL, &status), 0);
	assert_true(status >= 200 && status < 300);
}

void s3i_check_recorder_start(s3i_moto *m)
{
	s3i_check_moto_post(m, "/moto-api/recorder/reset-recording", "");
	s3i_check_moto_post(m, "/moto-api/recorder/start-recording", "");
}

void s3i_check_faults_used(s3i_moto *m)
{
	char *out = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(m, "GET", "/_fault", NULL, NULL, &out, &status), 0);
	s3i_json doc = NULL;
	assert_int_equal(s3i_json_parse(&doc, out, strlen(out), "faults", NULL), S3I_OK);
	for (size_t i = 0; i < s3i_json_len(doc); i++) {
		int64_t left = -2;
		assert_int_equal(s3i_json_i64(s3i_json_get(s3i_json_at(doc, i), "count"), &left), S3I_OK);
		if (left != 0)
			fail_msg("fault rule %zu has %lld answers left: %s", i, (long long)left, out);
	}
	s3i_json_free(doc);
	free(out);
}

void s3i_check_json_fault(s3i_moto *m, const char *target, int status, int count,
	const char *body)
{
	s3i_buf rule;
	s3i_buf_init(&rule, NULL);
	s3i_json_writer w;
	s3i_jw_init(&w, &rule);
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "target");
	s3i_jw_str(&w, target);
	s3i_jw_key(&w, "status");
	s3i_jw_i64(&w, status);
	s3i_jw_key(&w, "count");
	s3i_jw_i64(&w, count);
	s3i_jw_key(&w, "content_type");
	s3i_jw_str(&w, "application/x-amz-json-1.1");
	s3i_jw_key(&w, "body");
	s3i_jw_str(&w, body);
	s3i_jw_obj_close(&w);
	assert_int_equal(s3i_jw_finish(&w), S3I_OK);
	assert_int_equal(s3i_moto_add_fault(m, rule.ptr), 0);
	s3i_buf_dispose(&rule);
}
