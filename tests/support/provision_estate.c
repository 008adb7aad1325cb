#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "provision_estate.h"

#define HOST "123456789012"
#define OTHER "111111111111"

void s3i_provision_estate_seed(s3i_moto *moto)
{
	s3i_stage_fx_make_bucket(moto, "src-east", "us-east-1", NULL);
	s3i_stage_fx_make_bucket(moto, "src-west", "us-west-2", NULL);
	s3i_stage_fx_make_bucket(moto, "excluded-one", "us-east-1", NULL);
	s3i_stage_fx_make_bucket(moto, "dep1-old-dest-" HOST "-us-east-1", "us-east-1",
		NULL);   /* another run's */
	s3i_stage_fx_make_bucket(moto, "far-away", "ap-south-1", NULL);
	s3i_stage_fx_make_bucket(moto, "legacy-eu", "eu-west-1", NULL);
	s3i_stage_fx_make_bucket(moto, "unreadable", "us-east-1", NULL);
	s3i_stage_fx_make_bucket(moto, "other-west", "us-west-2", OTHER);
	s3i_stage_fx_make_bucket(moto, "other-east", "us-east-1", OTHER);
	/* what moto cannot say: the legacy "EU" answer, and AccessDenied (AWS's documented body) */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"GET\",\"path\":\"^/legacy-eu/?$\","
		"\"query\":\"location\",\"status\":200,\"count\":-1,\"body\":\"<?xml version=\\\"1.0\\\" "
		"encoding=\\\"UTF-8\\\"?>\\n<LocationConstraint xmlns=\\\"http://s3.amazonaws.com/doc/"
		"2006-03-01/\\\">EU</LocationConstraint>\"}"), 0);
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"GET\",\"path\":\"^/unreadable/?$\","
		"\"query\":\"location\",\"status\":403,\"count\":-1,\"body\":\"<Error><Code>AccessDenied"
		"</Code><Message>Access Denied</Message><RequestId>DENY1</RequestId></Error>\"}"), 0);
}

void s3i_provision_estate_open(s3i_stage_fx *f, s3i_moto *moto, const char *input)
{
	s3i_stage_fx_deploy(f, moto, "dep1", S3I_LOG_WARN);
	s3i_provision_estate_seed(moto);
	s3i_stage_fx_start_run(f, input);
}
