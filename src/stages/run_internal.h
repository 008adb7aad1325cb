/*
 * The insides of deployments and runs, for the stage code (the files in src/stages) and its tests.
 *
 * A stage reaches everything through its run: the deployment (context, state store, role
 * cache, names), the run's recorded input, and per-account service handles that assume the
 * account's cross-account role when the account is not the host's.
 */
#ifndef S3I_STAGES_RUN_INTERNAL_H
#define S3I_STAGES_RUN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "s3insights/deployment.h"
#include "s3insights/run.h"
#include "aws/ctx_internal.h"
#include "core/errinfo.h"
#include "services/svc.h"
#include "services/sts.h"
#include "stages/state.h"

/* ---- deployment ---- */

s3i_ctx *s3i_deployment_ctx(const s3i_deployment *d);
s3i_client *s3i_deployment_client(const s3i_deployment *d);
const s3i_allocator *s3i_deployment_alloc(const s3i_deployment *d);
s3i_state *s3i_deployment_state(const s3i_deployment *d);
/* "aws", "aws-cn", "aws-us-gov": the host region's partition. */
const char *s3i_deployment_partition(const s3i_deployment *d);
/* Wall-clock ms since the epoch through the context's clock hook. */
int64_t s3i_deployment_now_ms(const s3i_deployment *d);

/*
 * A service handle for `account` in `region` (NULL: the host region). The host account uses
 * the context's credentials; any other account assumes
 * arn:<partition>:iam::<account>:role/<role_name> (role_name NULL: D-cross-account-iam-role)
 * with external_id (may be NULL), through the deployment's role cache (one AssumeRole per role
 * until near expiry). *hold receives a credentials reference the caller releases with
 * s3i_credprov_release after its last use of *out (NULL for the host account); out->region
 * points into `region`, which must outlive *out.
 * S3I_EAUTH naming the role ARN when the role cannot be assumed.
 */
int s3i_deployment_account_svc(s3i_deployment *d, const char *account, const char *region,
	const char *role_name, const char *external_id, s3i_svc *out, s3i_credprov **hold,
	s3i_errinfo *err);

/* ---- run ---- */

s3i_deployment *s3i_run_deployment(const s3i_run *run);
s3i_state *s3i_run_state(const s3i_run *run);
/* The same as s3i_deployment_account_svc with the role name and external id the run's input
 * gives for that account (the per-account ones first, then the run-wide external id).
 * An account not in the input is the host's, or S3I_EINVALID naming it. */
int s3i_run_account_svc(s3i_run *run, const char *account, const char *region, s3i_svc *out,
	s3i_credprov **hold, s3i_errinfo *err);

/*
 * Crash points for the crash-and-resume tests: when the environment variable
 * S3I_TEST_CRASH_AT equals `point`, the process kills itself with SIGKILL right there (after
 * S3I_TEST_CRASH_SKIP further passes, default 0). Points are named
 * "<stage>.<where>", e.g. "ingest.after_copy", and listed in docs/stages.md.
 * A no-op when the variable is unset.
 */
void s3i_crashpoint(const char *point);

#endif
