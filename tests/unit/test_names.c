/* Resource names (src/stages/names.c): DESIGN §2's table, validation messages, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "stages/names.h"
#include "test_alloc.h"

static void test_design_table(void **state)
{
	(void)state;
	char b[256];
	assert_int_equal(s3i_names_state_table(b, sizeof(b), "dep1"), S3I_OK);
	assert_string_equal(b, "dep1_configuration_table");
	assert_int_equal(s3i_names_consolidated_bucket(b, sizeof(b), "dep1", "123456789012"), S3I_OK);
	assert_string_equal(b, "dep1-123456789012-consolidated");
	assert_int_equal(s3i_names_queue(b, sizeof(b), "dep1"), S3I_OK);
	assert_string_equal(b, "dep1-sqs-consolidate-inventory-files");
	assert_int_equal(s3i_names_dlq(b, sizeof(b), "dep1"), S3I_OK);
	assert_string_equal(b, "dep1-sqs-dlq");
	assert_int_equal(s3i_names_cross_account_role(b, sizeof(b), "dep1"), S3I_OK);
	assert_string_equal(b, "dep1-cross-account-iam-role");
	assert_int_equal(s3i_names_stack(b, sizeof(b), "dep1", "r1"), S3I_OK);
	assert_string_equal(b, "dep1-r1-stack-dest-resources");
	assert_int_equal(s3i_names_staging_bucket(b, sizeof(b), "dep1", "r1", "123456789012",
		"eu-west-1"), S3I_OK);
	assert_string_equal(b, "dep1-r1-dest-123456789012-eu-west-1");
	assert_int_equal(s3i_names_topic(b, sizeof(b), "dep1", "r1"), S3I_OK);
	assert_string_equal(b, "dep1-r1-sns-notification-topic");
	assert_int_equal(s3i_names_inventory_id(b, sizeof(b), "dep1", "r1"), S3I_OK);
	assert_string_equal(b, "dep1-r1-s3-inventory");
	assert_int_equal(s3i_names_partition_prefix(b, sizeof(b), "r1", "123456789012", "us-east-1",
		"my.bucket"), S3I_OK);
	assert_string_equal(b, "inventory/r1/account=123456789012/region=us-east-1/bucketname=my.bucket/");
	assert_int_equal(s3i_names_query_prefix(b, sizeof(b), "r1"), S3I_OK);
	assert_string_equal(b, "athena/r1/");
}

static void test_limits(void **state)
{
	(void)state;
	char b[256], small[8];
	/* the longest deployment and run ids with the longest region still fit in 63 */
	assert_int_equal(s3i_names_staging_bucket(b, sizeof(b), "abcdefghijklmno", "abcdefgh",
		"123456789012", "ap-southeast-2"), S3I_OK);
	assert_true(strlen(b) <= 63);
	assert_int_equal(s3i_names_staging_bucket(b, sizeof(b), "abcdefghijklmno", "abcdefgh",
		"123456789012", "us-gov-west-1-and-much-longer-x"), S3I_EINVALID);
	assert_string_equal(b, "");
	assert_int_equal(s3i_names_queue(small, sizeof(small), "dep1"), S3I_EINVALID);
	assert_string_equal(small, "");
	assert_int_equal(s3i_names_queue(b, sizeof(b), ""), S3I_EINVALID);
	assert_int_equal(s3i_names_stack(b, sizeof(b), "dep1", NULL), S3I_EINVALID);
}

static void test_validation(void **state)
{
	(void)state;
	assert_int_equal(s3i_names_check_deployment("dep1", NULL), S3I_OK);
	assert_int_equal(s3i_names_check_deployment("abcdefghijklmno", NULL), S3I_OK);
	assert_int_equal(s3i_names_check_deployment("abc", NULL), S3I_EINVALID);
	assert_int_equal(s3i_names_check_deployment("abcdefghijklmnop", NULL), S3I_EINVALID);
	assert_int_equal(s3i_names_check_deployment("Dep1", NULL), S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "uppercase"));
	assert_non_null(strstr(s3i_error_last()->message, "Dep1"));
	assert_int_equal(s3i_names_check_deployment("de-p1", NULL), S3I_EINVALID);
	assert_int_equal(s3i_names_check_deployment(NULL, NULL), S3I_EINVALID);
	assert_int_equal(s3i_names_check_run_id("r1", NULL), S3I_OK);
	assert_int_equal(s3i_names_check_run_id("abcdefgh", NULL), S3I_OK);
	assert_int_equal(s3i_names_check_run_id("abcdefghi", NULL), S3I_EINVALID);
	assert_int_equal(s3i_names_check_run_id("", NULL), S3I_EINVALID);
	assert_int_equal(s3i_names_check_run_id("Run1", NULL), S3I_EINVALID);
	assert_string_equal(s3i_error_last()->resource, "run_id");
	assert_non_null(strstr(s3i_error_last()->message, "uppercase"));
	assert_int_equal(s3i_names_check_account("123456789012", NULL), S3I_OK);
	assert_int_equal(s3i_names_check_account("12345", NULL), S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "\"12345\" is not a 12-digit account id"));
	assert_int_equal(s3i_names_check_account("12345678901a", NULL), S3I_EINVALID);
}

static void test_pipeline_buckets(void **state)
{
	(void)state;
	const char *acct = "123456789012";
	assert_true(s3i_names_is_pipeline_bucket("dep1-123456789012-consolidated", "dep1", acct));
	assert_true(s3i_names_is_pipeline_bucket("dep1-r1-dest-123456789012-us-east-1", "dep1", acct));
	assert_true(s3i_names_is_pipeline_bucket("dep1-other-dest-123456789012-eu-west-1", "dep1", acct));
	assert_false(s3i_names_is_pipeline_bucket("dep2-r1-dest-123456789012-us-east-1", "dep1", acct));
	assert_false(s3i_names_is_pipeline_bucket("dep1-r1-dest-999999999999-us-east-1", "dep1", acct));
	assert_false(s3i_names_is_pipeline_bucket("dep1", "dep1", acct));
	assert_false(s3i_names_is_pipeline_bucket("dep1--dest-123456789012-x", "dep1", acct));
	assert_false(s3i_names_is_pipeline_bucket("customer-data", "dep1", acct));
	assert_false(s3i_names_is_pipeline_bucket(NULL, "dep1", acct));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_design_table),
		S3I_TEST(test_limits),
		S3I_TEST(test_validation),
		S3I_TEST(test_pipeline_buckets),
	};
	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
