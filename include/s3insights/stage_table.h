/**
 * @file
 * libs3insights: the create-table stage (DESIGN §4.5).
 *
 * It moves the run to the `table` phase and runs, through Athena in the host region, one
 * statement after the other, each started and polled until it ends:
 *  - `CREATE DATABASE IF NOT EXISTS <database>`;
 *  - for CSV reports the raw table `<table>_raw` (string columns, OpenCSVSerde, at
 *    `s3://<consolidated>/inventory/<R>/`, partitioned by account, region, bucketname) and the
 *    typed view `<table>` with S3Insights' column names and types; for ORC/Parquet reports
 *    the typed table `<table>`;
 *  - ALTER TABLE ... ADD IF NOT EXISTS PARTITION, at most 100 partitions per statement, for
 *    every source bucket with data in the consolidated layout (docs/stages.md says which);
 *  - for ORC/Parquet reports, when a bucket is not counted yet, one `SELECT account, region,
 *    bucketname, count(*), sum(size) ... GROUP BY 1,2,3` whose rows become the buckets'
 *    objects and bytes (written once). This one statement failing does not fail the stage:
 *    the buckets stay "not counted" and the reason is logged and reported.
 * Query results go to `s3://<consolidated>/athena/<R>/`.
 *
 * Every statement is idempotent (IF NOT EXISTS / OR REPLACE), and each one's execution id and
 * end state are recorded in the state table before the step goes on, so a resumed stage polls
 * the execution it started instead of starting a second one, and skips statements that
 * succeeded. Any other statement that fails, is cancelled or does not end within the timeout fails the
 * stage and the run (phase `failed`, stage "table"), the message naming the statement.
 */
#ifndef S3INSIGHTS_STAGE_TABLE_H
#define S3INSIGHTS_STAGE_TABLE_H

#include <stdint.h>
#include "common.h"
#include "errors.h"
#include "run.h"

S3I_BEGIN_DECLS

/** A create-table stage of one run. Not thread-safe: one thread at a time. @since 0.1 */
typedef struct s3i_table s3i_table;

/** Options of s3i_table_new. Fields are only ever appended (STYLE R6). @since 0.1 */
typedef struct s3i_table_options {
	uint32_t struct_size;         /**< sizeof the struct, set by the INIT macro */
	/** First pause between two GetQueryExecution polls of a statement (pauses double up to
	 * max_poll_interval_ms); 0: 250 ms. */
	int64_t poll_interval_ms;
	/** Longest pause between two polls; 0: 5 s. */
	int64_t max_poll_interval_ms;
	/** How long one statement may take, counted from its submission; 0: 10 minutes. */
	int64_t statement_timeout_ms;
	/** Athena workgroup; NULL: "primary". Copied. */
	const char *workgroup;
} s3i_table_options;

/** Default options. @since 0.1 */
#define S3I_TABLE_OPTIONS_INIT { sizeof(s3i_table_options), 0, 0, 0, NULL }

/**
 * Create the create-table stage of `run`. Touches nothing in AWS.
 * @param out   receives the handle (free with s3i_table_free).
 * @param run   the run; must outlive the handle.
 * @param opts  may be NULL (the defaults); copied (struct_size bytes at most).
 * @return S3I_OK, S3I_EINVALID (a NULL argument, a bad struct_size), S3I_ENOMEM. Detail in
 *         s3i_error_last().  @since 0.1
 */
S3I_API int s3i_table_new(s3i_table **out, s3i_run *run, const s3i_table_options *opts);

/**
 * Run statements until all succeeded or the deadline comes, recording each one's execution
 * in the state table.
 * @param st           the stage.
 * @param deadline_ms  wall-clock ms since the epoch by which the step returns (a statement
 *                     still running is polled again by the next step); 0: no deadline.
 * @param finished     receives 1 when every statement succeeded, else 0.
 * @return S3I_OK (look at *finished); S3I_EAWS / S3I_ESERVICE when a statement failed or was
 *         cancelled, S3I_ETIMEOUT when it did not end in time (both also recorded on the run:
 *         phase `failed`, stage "table"; the message names the statement); or the error of
 *         the state table or Athena. Detail in s3i_table_error().  @since 0.1
 */
S3I_API int s3i_table_step(s3i_table *st, int64_t deadline_ms, int *finished);

/**
 * Step until finished, without a deadline.
 * @return S3I_OK when the stage finished, else the failing step's status.  @since 0.1
 */
S3I_API int s3i_table_run(s3i_table *st);

/**
 * The detail of the last failure of a call on this handle (never NULL; code S3I_OK when
 * none). Valid until the next call on the handle.  @since 0.1
 */
S3I_API const s3i_error *s3i_table_error(const s3i_table *st);

/** Free the handle (what it recorded stays). NULL is a no-op. @since 0.1 */
S3I_API void s3i_table_free(s3i_table *st);

S3I_END_DECLS

#endif
