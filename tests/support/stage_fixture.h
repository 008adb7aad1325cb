/*
 * What the stage integration tests share: moto_server started once per cmocka group (with
 * fast retries), and per test a context on the reset server (counting allocator, the test
 * log), a deployment opened and initialised, a run started from a JSON input; raw S3 calls
 * as any account for seeding.
 */
#ifndef S3I_TEST_STAGE_FIXTURE_H
#define S3I_TEST_STAGE_FIXTURE_H

#include "s3insights/s3insights.h"
#include "stages/run_internal.h"
#include "stages/state.h"
#include "moto.h"

typedef struct s3i_stage_fx {
	s3i_moto *moto;              /* the server the context talks to */
	s3i_ctx *ctx;
	s3i_deployment *d;
	s3i_run_input *in;
	s3i_run *run;
	s3i_state *state;            /* the run's state store */
} s3i_stage_fx;

/* A group's setup: S3I_RETRY_BASE_MS=10 (retries do not slow the tests), moto started into
 * *moto with extra_env (NULL-terminated "NAME=value" list, may be NULL). 0 on success, as
 * cmocka wants. */
int s3i_stage_fx_start_moto(s3i_moto **moto, const char *const *extra_env);

/* A context on moto: the test allocator, s3i_check_log at log_level, us-east-1, the
 * "testing" keys. Asserts. */
s3i_ctx *s3i_stage_fx_ctx(s3i_moto *moto, s3i_log_level log_level);

/* Reset moto; a context on it (the test allocator, s3i_check_log at log_level, us-east-1,
 * the "testing" keys), deployment `deployment` opened and initialised. Asserts. */
void s3i_stage_fx_deploy(s3i_stage_fx *f, s3i_moto *moto, const char *deployment,
	s3i_log_level log_level);

/* Parse `json` and start its run on the deployment (f->in, f->run, f->state). Asserts. */
void s3i_stage_fx_start_run(s3i_stage_fx *f, const char *json);

/* A service handle of `account` in `region` through the run (a second account through its
 * cross-account role); *hold (NULL for the host account) goes to s3i_stage_fx_release after
 * the last use. Asserts. */
s3i_svc s3i_stage_fx_svc_of(s3i_stage_fx *f, const char *account, const char *region,
	s3i_credprov **hold);
void s3i_stage_fx_release(s3i_credprov *hold);

/* What provision records for a region: the run's staging bucket (created here, named into
 * staging[64]) in the host account 123456789012, and the region item, provisioned. */
void s3i_stage_fx_seed_region(s3i_stage_fx *f, const char *region, char staging[64]);

/* Free the run, input, deployment and context (each may be NULL). */
void s3i_stage_fx_close(s3i_stage_fx *f);

/* A raw S3 request to moto in `region` as `account` (NULL: the default one), asserting
 * `want_status`; the response body (free()). */
char *s3i_stage_fx_s3_raw(s3i_moto *moto, const char *method, const char *path,
	const char *region, const char *body, const char *account, int want_status);

/* Create `bucket` in `region` as `account` (NULL: the default one). */
void s3i_stage_fx_make_bucket(s3i_moto *moto, const char *bucket, const char *region,
	const char *account);

#endif
