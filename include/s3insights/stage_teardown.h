/**
 * @file
 * The teardown stage (DESIGN §4.8), which is also the Cleanup workflow.
 *
 * It moves the run to the `tearing_down` phase; removes the run's inventory configuration
 * from every source bucket that still has one (as the bucket's account); then, region by
 * region, empties the staging bucket (every object version and delete marker) and deletes
 * it, deletes the regional stack and waits for DELETE_COMPLETE, deletes the staging topic if
 * it is still there, and removes the staging bucket's message route. A smoke test
 * (`is_smoke_test`) changes nothing lasting: its view, table and database (the run's random
 * names, s3i_run_get_database) are then dropped through Athena and its consolidated data and
 * query results deleted; a normal run's table and data stay. Finally the run's phase becomes
 * `done` (or `cleaned` when the run had failed).
 *
 * Safe to run any number of times, on a run in any phase (a half-provisioned run included):
 * whatever is already gone counts as removed.
 * @since 0.1
 */
#ifndef S3INSIGHTS_STAGE_TEARDOWN_H
#define S3INSIGHTS_STAGE_TEARDOWN_H

#include "common.h"
#include "errors.h"
#include "run.h"

S3I_BEGIN_DECLS

/** A teardown stage of one run. Not thread-safe: one thread at a time. @since 0.1 */
typedef struct s3i_teardown s3i_teardown;

/** Options of s3i_teardown_new. Fields are only ever appended (STYLE R6). @since 0.1 */
typedef struct s3i_teardown_options {
	uint32_t struct_size;   /**< sizeof(s3i_teardown_options) as the caller compiled it */
	/** How long a regional stack may take to reach DELETE_COMPLETE, counted from the first
	 * step that waits on it in this handle; 0: 30 minutes. A step's deadline also bounds
	 * each wait. */
	int64_t stack_timeout_ms;
	/** Non-zero: leave the run's phase alone at the end (a caller that tears down resources
	 * but records the outcome itself). 0: `done`, or `cleaned` for a failed run. */
	int keep_phase;
	/** Non-zero: this is the Cleanup workflow. A run that has neither failed nor reached
	 * `tearing_down` (one stopped midway) is first recorded as failed (stage "cleanup",
	 * "cancelled by Cleanup"), so it ends `cleaned`, not `done`. */
	int cleanup;
} s3i_teardown_options;

/** Default options. @since 0.1 */
#define S3I_TEARDOWN_OPTIONS_INIT { sizeof(s3i_teardown_options), 0, 0, 0 }

/**
 * Create the teardown stage of `run`. Touches nothing in AWS.
 * @param out   receives the handle (free with s3i_teardown_free).
 * @param run   the run (s3i_run_open gives one of any phase); must outlive the handle.
 * @param opts  may be NULL (the defaults); copied (struct_size bytes at most).
 * @return S3I_OK, S3I_EINVALID (a NULL argument, a bad struct_size), S3I_ENOMEM. Detail in
 *         s3i_error_last().  @since 0.1
 */
S3I_API int s3i_teardown_new(s3i_teardown **out, s3i_run *run,
	const s3i_teardown_options *opts);

/**
 * Remove a bounded amount of the run's transient resources and record it.
 * @param st           the stage.
 * @param deadline_ms  wall-clock ms since the epoch by which the step returns; 0: no deadline.
 * @param finished     receives 1 when nothing is left and the run's final phase is recorded.
 * @return S3I_OK (look at *finished), or the error of a removal that failed (the run's state
 *         is left as it was, so the next step or a later Cleanup tries again). Detail in
 *         s3i_teardown_error().  @since 0.1
 */
S3I_API int s3i_teardown_step(s3i_teardown *st, int64_t deadline_ms, int *finished);

/**
 * Step until finished, without a deadline.
 * @return S3I_OK when everything is removed, else the failing step's status.  @since 0.1
 */
S3I_API int s3i_teardown_run(s3i_teardown *st);

/**
 * The detail of the last failure of a call on this handle (never NULL; code S3I_OK when
 * none). Valid until the next call on the handle.  @since 0.1
 */
S3I_API const s3i_error *s3i_teardown_error(const s3i_teardown *st);

/** Free the handle. NULL is a no-op. @since 0.1 */
S3I_API void s3i_teardown_free(s3i_teardown *st);

S3I_END_DECLS

#endif
