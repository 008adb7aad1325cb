/**
 * @file harvest.h
 * The whole Harvester in one process — the stages of DESIGN §4 composed in
 * order, with the wait for inventory reports in between — and the Cleanup workflow.
 *
 * This is what the `s3insights run` and `cleanup` commands and the Python binding call. Every
 * stage is idempotent, so a harvest that was interrupted (a crash, SIGKILL, a lost network)
 * is resumed by calling s3i_harvest_run again on the same run: finished stages are skipped
 * by the run's recorded phase, the others continue where the state table says.
 */
#ifndef S3INSIGHTS_HARVEST_H
#define S3INSIGHTS_HARVEST_H

#include "common.h"
#include "errors.h"
#include "run.h"

S3I_BEGIN_DECLS

/** Where a harvest is, for a progress display. Valid during the callback. @since 0.1 */
typedef struct s3i_harvest_progress {
	uint32_t struct_size;           /**< sizeof(s3i_harvest_progress) as the library filled it */
	const char *stage;              /**< "provision", "configure", "wait", "table", "query",
	                                     "notify", "teardown", "cleanup" */
	const s3i_run_status *status;   /**< the run's status (read at most once per interval) */
	int64_t elapsed_ms;             /**< since s3i_harvest_run was called */
	int64_t wait_deadline_ms;       /**< when the wait for reports gives up; 0 outside it */
} s3i_harvest_progress;

/** A progress callback: called between stages and about once per interval while waiting.
 * Return 0 to go on, non-zero to stop the harvest (it returns S3I_EUSER; resumable). */
typedef int (*s3i_harvest_progress_fn)(void *user, const s3i_harvest_progress *p);

/** Options of s3i_harvest_run and s3i_cleanup_run. Fields are only ever appended. @since 0.1 */
typedef struct s3i_harvest_options {
	uint32_t struct_size;               /**< sizeof(s3i_harvest_options) as the caller compiled it */
	s3i_harvest_progress_fn progress;   /**< may be NULL */
	void *progress_user;                /**< passed to progress */
	int32_t progress_interval_ms;       /**< 0: 1000 */
	int32_t no_failure_report;          /**< 1: a failed run sends no failure e-mail */
	int32_t no_cleanup_on_failure;      /**< 1: a failed run keeps its transient resources
	                                         (for inspection; run cleanup later) */
	/** Seconds a message taken from the queue stays hidden while this process works on it;
	 * 0: 60. Short, so that after a crash the messages it held come back soon; a manifest
	 * that takes longer may be taken up by another consumer too, which is harmless (files
	 * are counted once). Lambda consumers use the queue's own timeout instead. */
	int32_t ingest_visibility_timeout_s;
} s3i_harvest_options;

/** Default options. @since 0.1 */
#define S3I_HARVEST_OPTIONS_INIT { sizeof(s3i_harvest_options), NULL, NULL, 0, 0, 0, 0 }

/**
 * Run (or resume) the Harvester for `run`: provision, configure inventory (or list snapshot),
 * wait while ingesting and partitioning deliveries from the deployment's queue until no bucket
 * is pending or the inventory timeout passes (remaining buckets become `timed_out`), create
 * the table, run the queries, notify, tear down. On a stage failure the run is recorded as
 * failed (stage and message), a failure report is e-mailed and the transient resources are
 * removed, unless the options say otherwise. During the wait, a failure that may pass
 * (throttling, a 5xx, the network) still there after the client's retries does not fail the
 * run: it is logged (warn) and the work is tried again every 5 s, until such failures have
 * lasted 15 minutes in a row; the inventory deadline bounds the wait as always.
 * @return S3I_OK when the run is done; the failing stage's status otherwise (detail in
 * s3i_error_last(), naming the stage); S3I_EUSER when the progress callback stopped it;
 * S3I_EEXISTS when the run had finished before; S3I_ECONFLICT when it had failed (run
 * s3i_cleanup_run). Blocks; one harvest per run at a time.  @since 0.1
 */
S3I_API int s3i_harvest_run(s3i_run *run, const s3i_harvest_options *opts);

/**
 * The Cleanup workflow: remove every transient resource of `run` (inventory configurations,
 * staging buckets, stacks, topics, routes). An unfinished run is first recorded as failed
 * ("cancelled by Cleanup"); afterwards the run is `cleaned` (or stays `done`). Safe to call
 * any number of times.
 * @return S3I_OK, or the teardown's failure (detail in s3i_error_last()).  @since 0.1
 */
S3I_API int s3i_cleanup_run(s3i_run *run, const s3i_harvest_options *opts);

/** Where the wait for inventory reports stands (s3i_harvest_wait_check). @since 0.1 */
typedef struct s3i_harvest_wait {
	uint32_t struct_size;     /**< set by the caller: sizeof(s3i_harvest_wait) as compiled */
	int over;                 /**< 1: the wait is over (nothing pending, or the deadline passed
	                               and the pending buckets are now `timed_out`) */
	int64_t pending;          /**< buckets not yet in a terminal status (0 when over) */
	int64_t timed_out;        /**< buckets this call recorded as `timed_out` */
	int64_t deadline_ms;      /**< when the wait gives up (wall-clock ms since the epoch) */
	int64_t now_ms;           /**< the time the check used */
} s3i_harvest_wait;

/** An initialised s3i_harvest_wait. @since 0.1 */
#define S3I_HARVEST_WAIT_INIT { sizeof(s3i_harvest_wait), 0, 0, 0, 0, 0 }

/**
 * One look at the wait for inventory reports, for a caller that waits elsewhere (a state
 * machine's Wait state) while ingest runs on its own (an SQS-triggered function). The same
 * decision s3i_harvest_run takes between its ingest steps: records the run's phase `waiting`
 * and its inventory deadline (now + inventory_timeout_hours) the first time; the wait is over
 * when no bucket is pending; when the deadline has passed, the pending buckets are recorded
 * as `timed_out` (the run goes on without them) and the wait is over. Idempotent.
 * @return S3I_OK, or the state table's error (detail in s3i_error_last()).  @since 0.1
 */
S3I_API int s3i_harvest_wait_check(s3i_run *run, s3i_harvest_wait *out);

/**
 * Record that `run` failed in `stage` with `message` (phase `failed`), as s3i_harvest_run
 * does when a stage fails; for a caller that runs the stages itself (a state machine's Catch).
 * A failure report and Cleanup follow as for any failed run (s3i_notify on a failed run sends
 * the failure report; s3i_teardown removes the resources). A finished run is left alone.
 * @return S3I_OK, or the state table's error (detail in s3i_error_last()).  @since 0.1
 */
S3I_API int s3i_harvest_record_failure(s3i_run *run, const char *stage, const char *message);

S3I_END_DECLS

#endif
