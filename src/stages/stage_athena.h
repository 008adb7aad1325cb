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

/* Sleep ms (through the client's clock hook) but not past deadline_ms (0: none). */
void s3i_stage_sleep(s3i_run *run, int64_t ms, int64_t deadline_ms);

#endif
