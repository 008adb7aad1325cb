/*
 * The rows of the create-table stage's counting statement for ORC/Parquet data
 * (s3i_stage_count_row_parse in src/stages/stage_athena.c): account, region, bucketname,
 * count(*) and sum(size) as Athena's GetQueryResults gives them (strings; an SQL NULL is a
 * NULL pointer). A NULL sum (only delete markers) is 0 bytes; anything else that is not a
 * number, a missing name, or another column count is refused naming the bucket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "s3insights/errors.h"
#include "stages/stage_athena.h"
#include "test_alloc.h"

static int parse(const char *a, const char *r, const char *b, const char *n, const char *sum,
	s3i_stage_count_row *out, s3i_errinfo *err)
{
	const char *v[5] = { a, r, b, n, sum };
	return s3i_stage_count_row_parse(5, v, out, err);
}

static void test_rows(void **state)
{
	(void)state;
	s3i_stage_count_row row;
	assert_int_equal(parse("123456789012", "us-east-1", "b1", "3000000", "123456789012345",
		&row, NULL), S3I_OK);
	assert_string_equal(row.account, "123456789012");
	assert_string_equal(row.region, "us-east-1");
	assert_string_equal(row.bucket, "b1");
	assert_int_equal(row.objects, 3000000);
	assert_int_equal(row.bytes, 123456789012345LL);
	/* only delete markers: sum(size) NULL */
	assert_int_equal(parse("1", "r", "b", "12", NULL, &row, NULL), S3I_OK);
	assert_int_equal(row.objects, 12);
	assert_int_equal(row.bytes, 0);
	assert_int_equal(parse("1", "r", "b", "0", "0", &row, NULL), S3I_OK);
	assert_int_equal(parse("1", "r", "b", "9223372036854775807", "9223372036854775807", &row,
		NULL), S3I_OK);
	assert_int_equal(row.objects, INT64_MAX);
}

static void test_refused(void **state)
{
	(void)state;
	s3i_stage_count_row row;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(parse("1", "r", "bkt", "lots", "1", &row, &e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "'bkt'"));
	assert_non_null(strstr(e.message, "count"));
	assert_int_equal(parse("1", "r", "bkt", "1", "-5", &row, &e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "sum of size"));
	assert_int_equal(parse("1", "r", "bkt", NULL, "1", &row, &e), S3I_EPARSE);
	assert_int_equal(parse("1", "r", "bkt", "", "1", &row, &e), S3I_EPARSE);
	assert_int_equal(parse("1", "r", "bkt", "9223372036854775808", "1", &row, &e), S3I_EPARSE);
	assert_int_equal(parse("1", "r", "bkt", "12345678901234567890", "1", &row, &e), S3I_EPARSE);
	assert_int_equal(parse("1", "r", "bkt", "1.5", "1", &row, &e), S3I_EPARSE);
	assert_int_equal(parse("1", "r", "bkt", " 1", "1", &row, &e), S3I_EPARSE);
	assert_int_equal(parse(NULL, "r", "bkt", "1", "1", &row, &e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "account"));
	assert_int_equal(parse("1", "", "bkt", "1", "1", &row, &e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "region"));
	assert_int_equal(parse("1", "r", NULL, "1", "1", &row, &e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "bucketname"));
	const char *four[4] = { "1", "r", "b", "1" };
	assert_int_equal(s3i_stage_count_row_parse(4, four, &row, &e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "4 columns"));
	assert_int_equal(s3i_stage_count_row_parse(5, NULL, &row, NULL), S3I_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_rows),
		S3I_TEST(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
