#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provision_estate.h"
#include "check.h"
#include "test_alloc.h"
#include "services/cloudformation.h"
#include "services/sns.h"
#include "stages/names.h"

#define HOST "123456789012"
#define OTHER "111111111111"
#define STACK "dep1-r1-stack-dest-resources"

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

static int on_region(void *user, const s3i_state_region *r)
{
	s3i_estate_regions *s = user;
	assert_true(s->n < 8);
	s->r[s->n++] = *r;
	return 0;
}

s3i_estate_regions s3i_estate_regions_of(s3i_stage_fx *f)
{
	s3i_estate_regions s;
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_state_regions_list(s3i_run_state(f->run), "r1", on_region, &s, NULL));
	return s;
}

s3i_run_phase s3i_estate_phase_of(s3i_stage_fx *f, char *error, size_t cap)
{
	s3i_state_run r;
	memset(&r, 0, sizeof(r));
	CHECK_OK(s3i_state_run_get(s3i_run_state(f->run), "r1", &r, NULL));
	if (error)
		snprintf(error, cap, "%s", r.error);
	s3i_run_phase p = r.phase;
	s3i_state_run_dispose(&r);
	return p;
}

void s3i_estate_expect_provisioned(s3i_stage_fx *f)
{
	s3i_estate_regions rs = s3i_estate_regions_of(f);
	assert_int_equal(rs.n, 3);
	char url[1024];
	CHECK_OK(s3i_deployment_queue_url(f->d, url, sizeof(url)));
	for (size_t i = 0; i < rs.n; i++) {
		const s3i_state_region *r = &rs.r[i];
		char want[128];
		assert_string_equal(r->status, "provisioned");
		assert_int_equal(s3i_names_staging_bucket(want, sizeof(want), "dep1", "r1", HOST,
			r->region), 0);
		assert_string_equal(r->staging_bucket, want);
		assert_string_equal(r->stack_name, STACK);
		assert_non_null(strstr(r->topic_arn, r->region));
		s3i_svc svc = { s3i_deployment_client(f->d), NULL, r->region };
		/* the stack */
		s3i_cfn_stack desc;
		s3i_cfn_stack_init(&desc, s3i_test_alloc());
		CHECK_OK(s3i_cfn_describe_stack_op(&svc, STACK, &desc, NULL));
		assert_string_equal(desc.status, "CREATE_COMPLETE");
		s3i_cfn_stack_free(&desc);
		/* the topic policy: S3 events of this staging bucket only */
		s3i_params attrs;
		s3i_params_init(&attrs, s3i_test_alloc());
		CHECK_OK(s3i_sns_get_topic_attributes_op(&svc, r->topic_arn, &attrs, NULL));
		const char *policy = s3i_sns_attr_get(&attrs, "Policy");
		assert_non_null(policy);
		assert_non_null(strstr(policy, "s3.amazonaws.com"));
		assert_non_null(strstr(policy, "aws:SourceAccount"));
		assert_non_null(strstr(policy, r->staging_bucket));
		s3i_params_free(&attrs);
		/* the route */
		char run_id[16], region[32];
		CHECK_OK(s3i_state_route_get(s3i_run_state(f->run), r->staging_bucket, run_id, region,
			NULL));
		assert_string_equal(run_id, "r1");
		assert_string_equal(region, r->region);
		/* the bucket policy (read raw: the library has no GetBucketPolicy) */
		char path[128];
		snprintf(path, sizeof(path), "/%s?policy", r->staging_bucket);
		char *bp = s3i_stage_fx_s3_raw(f->moto, "GET", path, r->region, NULL, NULL, 200);
		assert_non_null(strstr(bp, "s3:PutObject"));
		assert_non_null(strstr(bp, OTHER));
		assert_non_null(strstr(bp, HOST));
		assert_non_null(strstr(bp, "bucket-owner-full-control"));
		assert_non_null(strstr(bp, "arn:aws:s3:::*"));
		free(bp);
	}
}
