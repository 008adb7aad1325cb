/**
 * @file
 * The provision stage (DESIGN §4.1) — the first stage of a run.
 *
 * It moves the run to the `provisioning` phase; checks that the SES sender is verified in the
 * host region (asking SES to verify it when it is not: never blocks the run); discovers the
 * source buckets of every input account (ListBuckets through the account's cross-account role,
 * GetBucketLocation) and records each one in the state table — to be inventoried, or left out
 * with its reason (excluded by the input, a pipeline bucket, a region outside
 * `supported_regions`); then, in every region holding buckets to inventory, deploys the
 * inventory-destination stack `D-R-stack-dest-resources`, waits for CREATE_COMPLETE, and
 * verifies (and applies where missing) the topic policy, the staging bucket policy, the
 * topic's subscription to the central queue, the queue policy and the staging bucket's
 * notification. The stage is finished when every such region is provisioned.
 *
 * Every step is idempotent and its progress is in the state table (docs/stages.md), so a step
 * that is interrupted is redone by the next without creating anything twice: a stack that
 * exists is waited on, not created again.
 * @since 0.1
 */
#ifndef S3INSIGHTS_STAGE_PROVISION_H
#define S3INSIGHTS_STAGE_PROVISION_H

#include "common.h"
#include "errors.h"
#include "run.h"

S3I_BEGIN_DECLS

/** A provision stage of one run. Not thread-safe: one thread at a time. @since 0.1 */
typedef struct s3i_provision s3i_provision;

/** Options of s3i_provision_new. Fields are only ever appended (STYLE R6). @since 0.1 */
typedef struct s3i_provision_options {
	uint32_t struct_size;   /**< sizeof(s3i_provision_options) as the caller compiled it */
	/** GetBucketLocation requests in flight at once; 0: 16. */
	int32_t max_in_flight;
	/** How long a regional stack may take to reach CREATE_COMPLETE, counted from the first
	 * step that waits on it in this handle; 0: 30 minutes. A step's deadline also bounds
	 * each wait (the step then returns unfinished and the next step waits on). */
	int64_t stack_timeout_ms;
	/** Days after which objects left in a staging bucket expire (template parameter
	 * StagingRetentionDays); 0: 7. */
	int32_t staging_retention_days;
	/** Non-zero: do not look at the SES sender's verification at all. */
	int skip_sender_check;
	/** Per-account scope (one item of a Map over the run's accounts). Non-NULL: the step
	 * only discovers the buckets of this one input account (its 12-digit id as in the run
	 * input; any other id is S3I_EINVALID naming it) — ListBuckets and GetBucketLocation
	 * through the account's role, every bucket recorded as in a whole-run step — and then
	 * records the account as discovered (a marker item written after all its buckets, see
	 * docs/stages.md). It checks no SES sender, plans and deploys nothing. It moves the run
	 * to `provisioning` like any step (never backwards). When the account cannot be listed
	 * (its role cannot be assumed, ListBuckets refused) the account's failure record is
	 * written, no marker, and the step still returns S3I_OK with *finished = 1: it never
	 * fails the run (the whole-run step decides that). A transient error (throttling, 5xx)
	 * fails the step and records nothing. Finished once the account is discovered or its
	 * failure recorded; a later per-account step on such an account (or on a run whose
	 * regions are planned) lists nothing again. The string is copied at s3i_provision_new.
	 * NULL (the default): the whole-run step, which skips every account with a marker
	 * (discovered, or recorded as not listable: that one is not retried), lists the
	 * others, fails the run only when no account could be listed (a recorded failure
	 * counts as not listed), then plans and deploys. @since 0.1 */
	const char *account_id;
} s3i_provision_options;

/** Default options. @since 0.1 */
#define S3I_PROVISION_OPTIONS_INIT { sizeof(s3i_provision_options), 0, 0, 0, 0, NULL }

/**
 * Create the provision stage of `run`. Touches nothing in AWS.
 * @param out   receives the handle (free with s3i_provision_free).
 * @param run   the run; must outlive the handle.
 * @param opts  may be NULL (the defaults); copied (struct_size bytes at most).
 * @return S3I_OK, S3I_EINVALID (a NULL argument, a bad struct_size, an account_id that is
 *         not an account of the run's input: the message names it), S3I_ENOMEM. Detail in
 *         s3i_error_last().  @since 0.1
 */
S3I_API int s3i_provision_new(s3i_provision **out, s3i_run *run,
	const s3i_provision_options *opts);

/**
 * Do a bounded amount of provisioning and record it in the state table.
 * @param st           the stage.
 * @param deadline_ms  wall-clock ms since the epoch by which the step returns (a stack still
 *                     being created is then waited on by the next step); 0: no deadline.
 * @param finished     receives 1 when every region holding buckets to inventory is
 *                     provisioned (the stage has nothing left to do), else 0.
 * @return S3I_OK (look at *finished); on a failure of the stage as a whole (the state table
 *         unreachable, no input account could be listed, a stack that failed) the error,
 *         also recorded on the run (phase `failed`, stage "provision") when the failure is
 *         final. Problems with single buckets or accounts are recorded on them and do not
 *         fail the step. Detail in s3i_provision_error().  @since 0.1
 */
S3I_API int s3i_provision_step(s3i_provision *st, int64_t deadline_ms, int *finished);

/**
 * Step until finished, without a deadline.
 * @return S3I_OK when the stage finished, else the failing step's status.  @since 0.1
 */
S3I_API int s3i_provision_run(s3i_provision *st);

/**
 * The detail of the last failure of a call on this handle (never NULL; code S3I_OK when
 * none). Valid until the next call on the handle.  @since 0.1
 */
S3I_API const s3i_error *s3i_provision_error(const s3i_provision *st);

/** Free the handle (what it recorded stays). NULL is a no-op. @since 0.1 */
S3I_API void s3i_provision_free(s3i_provision *st);

S3I_END_DECLS

#endif
