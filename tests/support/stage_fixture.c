#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stage_fixture.h"
#include "services/s3.h"
#include "stages/names.h"
#include "stages/run_internal.h"
#include "check.h"
#include "test_alloc.h"

int s3i_stage_fx_start_moto(s3i_moto **moto, const char *const *extra_env)
{
	setenv("S3I_RETRY_BASE_MS", "10", 1);
	return s3i_moto_start(moto, extra_env);
}

s3i_ctx *s3i_stage_fx_ctx(s3i_moto *moto, s3i_log_level log_level)
{
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	o.log_fn = s3i_check_log;
	o.log_level = log_level;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	return ctx;
}

void s3i_stage_fx_deploy(s3i_stage_fx *f, s3i_moto *moto, const char *deployment,
	s3i_log_level log_level)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(s3i_moto_reset(moto), 0);
	f->moto = moto;
	f->ctx = s3i_stage_fx_ctx(moto, log_level);
	s3i_deployment_options dopt = S3I_DEPLOYMENT_OPTIONS_INIT;
	dopt.name = deployment;
	CHECK_OK(s3i_deployment_open(&f->d, f->ctx, &dopt));
	CHECK_OK(s3i_deployment_init(f->d));
}

void s3i_stage_fx_start_run(s3i_stage_fx *f, const char *json)
{
	CHECK_OK(s3i_run_input_parse(&f->in, json, strlen(json), s3i_test_alloc(), NULL));
	CHECK_OK(s3i_run_start(&f->run, f->d, f->in));
	f->state = s3i_run_state(f->run);
}

void s3i_stage_fx_close(s3i_stage_fx *f)
{
	s3i_run_free(f->run);
	s3i_run_input_free(f->in);
	s3i_deployment_free(f->d);
	s3i_ctx_release(f->ctx);
}

s3i_svc s3i_stage_fx_svc_of(s3i_stage_fx *f, const char *account, const char *region,
	s3i_credprov **hold)
{
	s3i_svc svc;
	*hold = NULL;
	CHECK_OK(s3i_run_account_svc(f->run, account, region, &svc, hold, NULL));
	return svc;
}

void s3i_stage_fx_release(s3i_credprov *hold)
{
	if (hold)
		s3i_credprov_release(hold);
}

void s3i_stage_fx_seed_region(s3i_stage_fx *f, const char *region, char staging[64])
{
	CHECK_OK(s3i_names_staging_bucket(staging, 64, s3i_deployment_name(f->d), s3i_run_id(f->run), "123456789012", region));
	s3i_credprov *hold;
	s3i_svc svc = s3i_stage_fx_svc_of(f, "123456789012", region, &hold);
	CHECK_OK(s3i_s3_create_bucket_op(&svc, staging, region, NULL));
	s3i_stage_fx_release(hold);
	s3i_state_region r;
	memset(&r, 0, sizeof(r));
	snprintf(r.region, sizeof(r.region), "%s", region);
	snprintf(r.staging_bucket, sizeof(r.staging_bucket), "%s", staging);
	snprintf(r.status, sizeof(r.status), "provisioned");
	CHECK_OK(s3i_state_region_put(f->state, s3i_run_id(f->run), &r, NULL));
}

char *s3i_stage_fx_s3_raw(s3i_moto *moto, const char *method, const char *path,
	const char *region, const char *body, const char *account, int want_status)
{
	char account_header[64];
	const char *headers[2] = { NULL, NULL };
	if (account) {
		snprintf(account_header, sizeof(account_header), "x-moto-account-id: %s", account);
		headers[0] = account_header;
	}
	s3i_moto_req req = { .method = method, .path = path, .service = "s3", .region = region,
		.body = body, .content_type = body ? "application/octet-stream" : NULL,
		.headers = headers };
	int status = 0;
	char *out = NULL;
	assert_int_equal(s3i_moto_call(moto, &req, &out, &status), 0);
	if (status != want_status)
		fprintf(stderr, "%s %s -> %d: %s\n", method, path, status, out ? out : "");
	assert_int_equal(status, want_status);
	return out;
}

void s3i_stage_fx_make_bucket(s3i_moto *moto, const char *bucket, const char *region,
	const char *account)
{
	char path[256], body[512];
	snprintf(path, sizeof(path), "/%s", bucket);
	if (strcmp(region, "us-east-1")) {
		snprintf(body, sizeof(body), "<CreateBucketConfiguration><LocationConstraint>%s"
			"</LocationConstraint></CreateBucketConfiguration>", region);
		free(s3i_stage_fx_s3_raw(moto, "PUT", path, region, body, account, 200));
	} else {
		free(s3i_stage_fx_s3_raw(moto, "PUT", path, region, NULL, account, 200));
	}
}
