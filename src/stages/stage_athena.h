/*
 * What the create-table, query and notify stages share: Athena in the host region with the
 * run's result location, tokens that make a restarted StartQueryExecution idempotent, the
 * run's own state items these stages keep besides state.h's (`table#<nnn>`, `notify#...`),
 * and reading a query's result rows.
 */
#ifndef S3I_STAGES_STAGE_ATHENA_H
#define S3I_STAGES_STAGE_ATHENA_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/errinfo.h"
#include "services/athena.h"
#include "services/ddb_value.h"
#include "stages/run_internal.h"
#include "stages/state.h"

/* The host account in the host region (Athena, SES and the state table live there). */
void s3i_stage_host_svc(s3i_run *run, s3i_svc *out);

/* s3://<consolidated>/athena/<R>/ into out (appended). */
int s3i_stage_results_location(s3i_run *run, s3i_buf *out);
/* s3://<consolidated>/inventory/<R>/ into out (appended). */
int s3i_stage_data_location(s3i_run *run, s3i_buf *out);

/* A ClientRequestToken for statement `index` of `kind` ("table", "query") of the run, attempt
 * `attempt`, bound to the text: "s3i-<D>-<R>-<kind>-<index>-<attempt>-<hash of text>"
 * (32-128 characters). */
int s3i_stage_request_token(s3i_run *run, const char *kind, int index, int attempt,
	const char *text, char *out, size_t cap);

/* ---- the run's extra items: partitionkey run#<R>, sortkey given ---- */

/* Put `attrs` (attributes besides the key; not changed) as item `sortkey` of the run,
 * replacing it. */
int s3i_stage_item_put(s3i_run *run, const char *sortkey, const s3i_ddb_item *attrs,
	s3i_errinfo *err);
typedef int (*s3i_stage_item_fn)(void *user, const char *sortkey, const s3i_ddb_item *item);
/* Every item of the run whose sortkey begins with prefix, in sortkey order (consistent). */
int s3i_stage_items_list(s3i_run *run, const char *prefix, s3i_stage_item_fn fn, void *user,
	s3i_errinfo *err);

/* ---- statements a stage runs one by one, each recorded as a run item (table#, drop#) ---- */

typedef struct s3i_stage_statement {
	char *sql;                   /* owned by the stage */
	char what[96];               /* "CREATE DATABASE s3insights", "DROP VIEW db.t" */
	char execution_id[S3I_ATHENA_ID_SIZE];
	char state[32];              /* "" (not started), QUEUED, RUNNING, SUCCEEDED, ... */
	int attempt;                 /* in the request token: a new attempt, a new execution */
	int64_t started_ms;
	int succeeded;
} s3i_stage_statement;

/* The attributes recording statement `index` (index, what, statement, execution_id, state,
 * reason (NULL: ""), attempt, started_ms) for s3i_stage_item_put; NULL when out of memory. */
s3i_ddb_item *s3i_stage_statement_item(const s3i_allocator *a, size_t index,
	const s3i_stage_statement *s, const char *reason);

/* The statement of stmts[n] whose recorded item `it` is, by its index; NULL: none. */
s3i_stage_statement *s3i_stage_statement_of(s3i_stage_statement *stmts, size_t n,
	const s3i_ddb_item *it);

/*
 * Take over what item `it` recorded of s, when it recorded the same text: its attempt; its
 * state, and succeeded for SUCCEEDED; for an execution that has not ended, its id and start,
 * so it is polled rather than started again; after FAILED or CANCELLED the next attempt (a
 * new token, a new execution), state "". Returns 0 (s unchanged) for another text or no
 * usable execution id: the statement runs afresh.
 */
int s3i_stage_statement_take_over(s3i_stage_statement *s, const s3i_ddb_item *it);

/* The polling defaults of the options: 0 (unset) interval 250 ms, 0 maximum 5 s, and the
 * maximum at least the interval. */
void s3i_stage_poll_defaults(int64_t *interval_ms, int64_t *max_interval_ms);

/* ---- result rows ---- */

typedef struct s3i_stage_rows {
	size_t ncolumns;
	char **columns;              /* owned */
	size_t nrows;
	char **cells;                /* nrows * ncolumns, owned; NULL for an SQL NULL */
	const s3i_allocator *alloc;
} s3i_stage_rows;

void s3i_stage_rows_dispose(s3i_stage_rows *r);

/* Row callback of s3i_stage_read_rows: columns and values borrowed for the call. Return 0
 * to go on. */
typedef int (*s3i_stage_row_fn)(void *user, int64_t index, size_t n, const char *const *values,
	const char *const *columns);

/* Page GetQueryResults of execution `id` on svc, handing each data row (not the header) to
 * fn, at most max_rows (0: all). *count (may be NULL) receives the data rows handed over.
 * S3I_EUSER when fn stopped before max_rows. */
int s3i_stage_read_rows(const s3i_svc *svc, const char *id, int64_t max_rows,
	s3i_stage_row_fn fn, void *user, int64_t *count, s3i_errinfo *err);

/* The first max_rows rows of execution `id`, kept in *out (initialised here). */
int s3i_stage_first_rows(const s3i_svc *svc, const char *id, int64_t max_rows,
	const s3i_allocator *a, s3i_stage_rows *out, s3i_errinfo *err);

/* ---- buckets counted by Athena (ORC/Parquet data the library does not read) ---- */

/* 1 when the run's data files are ORC or Parquet (an inventory snapshot asking for them):
 * partition copies and verifies them but counts no rows, and the create-table stage counts
 * them with one Athena statement after the partitions are added (docs/stages.md). */
int s3i_stage_counted_by_athena(const s3i_run *run);
/* 1 when bucket b of such a run has data in the consolidated layout but no recorded count:
 * its objects and bytes are unknown ("not counted"), not 0. Always 0 for other runs. */
int s3i_stage_bucket_not_counted(const s3i_run *run, const s3i_state_bucket *b);

/* One row of the counting statement (SELECT account, region, bucketname, count(*),
 * sum(size) ... GROUP BY 1,2,3); pointers into the row's values. */
typedef struct s3i_stage_count_row {
	const char *account;
	const char *region;
	const char *bucket;
	int64_t objects;
	int64_t bytes;               /* sum(size) is NULL when every row is a delete marker: 0 */
} s3i_stage_count_row;

/* Parse a result row of n values (an SQL NULL is a NULL pointer): the account, region and
 * bucket present and non-empty, the count a decimal number >= 0, the sum one or NULL.
 * S3I_EPARSE naming the row's bucket and the field otherwise. */
int s3i_stage_count_row_parse(size_t n, const char *const *values, s3i_stage_count_row *out,
	s3i_errinfo *err);

/* Sleep ms (through the client's clock hook) but not past deadline_ms (0: none). */
void s3i_stage_sleep(s3i_run *run, int64_t ms, int64_t deadline_ms);

#endif
