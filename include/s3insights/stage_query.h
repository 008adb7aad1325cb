/**
 * @file
 * libs3insights: the query stage (DESIGN §4.6), and reading a run's query results.
 *
 * The stage moves the run to the `querying` phase and runs every query of the run's input
 * (`athena_queries`) on Athena in the host region, with `{ATHENA_TABLE}` and
 * `{ATHENA_DATABASE}` substituted, the run's database as context and the results written to
 * `s3://<consolidated>/athena/<R>/`. For each query it records in the state table (item
 * `query#<nnn>`): the execution id — before the first poll, so a resumed stage polls the same
 * execution instead of starting the query twice — then its end state (SUCCEEDED, FAILED,
 * CANCELLED), the reason, the number of result rows (the header row not counted, every
 * result page read), the data scanned and the result file's location.
 *
 * A query that fails, is cancelled or times out (it is then stopped and recorded CANCELLED
 * with the reason "timed out ...") is recorded and reported, never the run's failure: the
 * stage fails only when it cannot go on (state table or Athena unreachable).
 *
 * Recorded queries and their results can be read back at any time afterwards with
 * s3i_query_list() and s3i_query_results().
 */
#ifndef S3INSIGHTS_STAGE_QUERY_H
#define S3INSIGHTS_STAGE_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"
#include "errors.h"
#include "run.h"

S3I_BEGIN_DECLS

/** A query stage of one run. Not thread-safe: one thread at a time. @since 0.1 */
typedef struct s3i_query s3i_query;

/** Options of s3i_query_new. Fields are only ever appended (STYLE R6). @since 0.1 */
typedef struct s3i_query_options {
	uint32_t struct_size;         /**< sizeof the struct, set by the INIT macro */
	/** First pause between two GetQueryExecution polls (pauses double up to
	 * max_poll_interval_ms); 0: 250 ms. */
	int64_t poll_interval_ms;
	/** Longest pause between two polls; 0: 5 s. */
	int64_t max_poll_interval_ms;
	/** How long one query may run, counted from its submission; 0: 30 minutes. A query
	 * still running then is stopped and recorded CANCELLED ("timed out after ..."). */
	int64_t query_timeout_ms;
	/** Queries running at once; 0: 4. They are started in input order. */
	int32_t max_concurrent;
	/** Athena workgroup; NULL: "primary". Copied. */
	const char *workgroup;
} s3i_query_options;

/** Default options. @since 0.1 */
#define S3I_QUERY_OPTIONS_INIT { sizeof(s3i_query_options), 0, 0, 0, 0, NULL }

/**
 * Create the query stage of `run`. Touches nothing in AWS.
 * @param out   receives the handle (free with s3i_query_free).
 * @param run   the run; must outlive the handle.
 * @param opts  may be NULL (the defaults); copied (struct_size bytes at most).
 * @return S3I_OK, S3I_EINVALID (a NULL argument, a bad struct_size), S3I_ENOMEM. Detail in
 *         s3i_error_last().  @since 0.1
 */
S3I_API int s3i_query_new(s3i_query **out, s3i_run *run, const s3i_query_options *opts);

/**
 * Start, poll and record queries until all have ended or the deadline comes.
 * @param st           the stage.
 * @param deadline_ms  wall-clock ms since the epoch by which the step returns (running
 *                     queries are polled again by the next step); 0: no deadline.
 * @param finished     receives 1 when every query has ended and is recorded, else 0.
 * @return S3I_OK (look at *finished; failed queries are recorded, not returned); or the
 *         error that stopped the stage (state table, Athena unreachable), also recorded on
 *         the run (phase `failed`, stage "query") when it is not retryable. Detail in
 *         s3i_query_error().  @since 0.1
 */
S3I_API int s3i_query_step(s3i_query *st, int64_t deadline_ms, int *finished);

/**
 * Step until finished, without a deadline.
 * @return S3I_OK when the stage finished, else the failing step's status.  @since 0.1
 */
S3I_API int s3i_query_run(s3i_query *st);

/**
 * The detail of the last failure of a call on this handle (never NULL; code S3I_OK when
 * none). Valid until the next call on the handle.  @since 0.1
 */
S3I_API const s3i_error *s3i_query_error(const s3i_query *st);

/** Free the handle (what it recorded stays). NULL is a no-op. @since 0.1 */
S3I_API void s3i_query_free(s3i_query *st);

/* ---- reading back ---- */

/** One query of a run as recorded. Strings valid during the callback only. @since 0.1 */
typedef struct s3i_query_info {
	uint32_t struct_size;         /**< sizeof the struct, set by the INIT macro */
	size_t index;                /**< position in the input's athena_queries */
	const char *name;            /**< the query's name in the input */
	const char *execution_id;    /**< "" when not started */
	const char *state;           /**< "SUCCEEDED", "FAILED", "CANCELLED", "QUEUED", "RUNNING",
	                                  or "" when not started */
	const char *reason;          /**< "" when none */
	int64_t rows;                /**< result rows, header not counted (SUCCEEDED only) */
	int64_t scanned_bytes;       /**< data scanned */
	const char *output_location; /**< `s3://.../<execution id>.csv`; "" when not known */
} s3i_query_info;

/** Return 0 to go on, anything else to stop (the call then fails with S3I_EUSER). */
typedef int (*s3i_query_info_fn)(void *user, const s3i_query_info *q);

/**
 * Call `fn` once per recorded query of `run`, in input order (queries the stage has not
 * reached yet are left out).
 * @param run   the run.
 * @param fn    called once per query.
 * @param user  handed to fn.
 * @return S3I_OK, S3I_EINVALID (NULL argument), S3I_EUSER, or the state table's error.
 *         Detail in s3i_error_last(). Thread-safe.  @since 0.1
 */
S3I_API int s3i_query_list(s3i_run *run, s3i_query_info_fn fn, void *user);

/** One row of a query's results. Everything borrowed for the callback only. @since 0.1 */
typedef struct s3i_query_row {
	uint32_t struct_size;         /**< sizeof the struct, set by the INIT macro */
	int64_t index;               /**< 0-based among the data rows (the header row is not one) */
	size_t count;                /**< values (and column names) */
	const char *const *values;   /**< NULL for an SQL NULL */
	const char *const *columns;  /**< the column names, count of them */
} s3i_query_row;

/** Return 0 to go on, anything else to stop (the call then fails with S3I_EUSER; stopping
 * is how a caller reads only the first rows). */
typedef int (*s3i_query_row_fn)(void *user, const s3i_query_row *row);

/**
 * Read the results of one query of `run` (a SUCCEEDED one), row by row, paging
 * GetQueryResults (one page in memory at a time; the header row Athena puts first is not
 * handed over: its names are in row->columns).
 * @param run    the run.
 * @param query  the query's name, or its index in athena_queries written in decimal ("0").
 *               A name is looked up first.
 * @param max_rows  stop after this many rows (then S3I_OK); 0: all.
 * @param fn     called once per row, in order.
 * @param user   handed to fn.
 * @return S3I_OK; S3I_ENOTFOUND when the run has no such query or it was never started;
 *         S3I_EINVALID when it did not succeed (the message says its state and reason);
 *         S3I_EUSER when fn stopped before max_rows; an Athena or state table error.
 *         Detail in s3i_error_last(). Thread-safe.  @since 0.1
 */
S3I_API int s3i_query_results(s3i_run *run, const char *query, int64_t max_rows,
	s3i_query_row_fn fn, void *user);

S3I_END_DECLS

#endif
