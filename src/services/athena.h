/*
 * Amazon Athena operations (JSON 1.1, target prefix AmazonAthena): start a query, read its
 * execution, wait for it to end, page through its results, stop it.
 *
 * Errors (besides the client's, see aws/client.h and aws/protocol.h):
 *  - InvalidRequestException -> S3I_EINVALID, the message naming the query execution id (or,
 *    for StartQueryExecution, the query's first characters, database and workgroup) and
 *    carrying Athena's message ("QueryExecution ... was not found", "WorkGroup does not exist");
 *  - TooManyRequestsException and other throttling codes are retried by the client; when the
 *    retries run out: S3I_ETHROTTLED;
 *  - InternalServerException / 5xx -> S3I_ESERVICE after retries.
 * err->pub.resource is "query execution '<id>'" (or "query '<first characters>'").
 * Responses that do not have the documented shape fail with S3I_EPARSE.
 *
 * Results come one row at a time through a callback, one page in memory at a time. Athena puts
 * the column names as the first row of a SELECT's first page; that row is handed over like the
 * others, flagged as the header (never silently dropped), so callers count data rows right.
 * Every function may be called from any thread; `err` may be NULL (the thread's error only).
 */
#ifndef S3I_SERVICES_ATHENA_H
#define S3I_SERVICES_ATHENA_H

#include <stddef.h>
#include <stdint.h>
#include "services/svc.h"

extern const s3i_service s3i_svc_athena;

#define S3I_ATHENA_ID_SIZE 129       /* QueryExecutionId: 1-128 characters + NUL */
#define S3I_ATHENA_TOKEN_SIZE 1025   /* NextToken: 1-1024 characters + NUL */
#define S3I_ATHENA_MAX_RESULTS 1000  /* rows per GetQueryResults page */

/* ---- starting and stopping ---- */

typedef struct s3i_athena_query {
	const char *query;               /* QueryString, required (1-262144 bytes) */
	const char *database;            /* QueryExecutionContext.Database; NULL: none */
	const char *catalog;             /* QueryExecutionContext.Catalog; NULL: AwsDataCatalog */
	const char *output_location;     /* ResultConfiguration.OutputLocation "s3://b/p/"; NULL:
	                                    the workgroup's */
	const char *workgroup;           /* WorkGroup; NULL: primary */
	const char *client_request_token;/* 32-128 characters; NULL: a random one. Pass the same
	                                    token when starting the same query again after a crash:
	                                    Athena then returns the first execution instead of
	                                    running the query twice */
} s3i_athena_query;

/* StartQueryExecution. out_id receives the execution id (S3I_ATHENA_ID_SIZE bytes). */
int s3i_athena_start_query_op(const s3i_svc *svc, const s3i_athena_query *q,
	char out_id[S3I_ATHENA_ID_SIZE], s3i_errinfo *err);

/* StopQueryExecution (the execution becomes CANCELLED; stopping an ended one is harmless). */
int s3i_athena_stop_query_op(const s3i_svc *svc, const char *id, s3i_errinfo *err);

/* ---- executions ---- */

typedef enum s3i_athena_state {
	S3I_ATHENA_STATE_UNKNOWN = 0,    /* a state this library does not know */
	S3I_ATHENA_QUEUED = 1,
	S3I_ATHENA_RUNNING = 2,
	S3I_ATHENA_SUCCEEDED = 3,
	S3I_ATHENA_FAILED = 4,
	S3I_ATHENA_CANCELLED = 5
} s3i_athena_state;

/* "QUEUED", ... ("UNKNOWN" for anything else). */
const char *s3i_athena_state_name(s3i_athena_state state);
/* SUCCEEDED, FAILED or CANCELLED. */
int s3i_athena_state_is_terminal(s3i_athena_state state);

typedef struct s3i_athena_execution {
	char id[S3I_ATHENA_ID_SIZE];
	s3i_athena_state state;
	char state_text[32];             /* as Athena wrote it */
	char reason[1024];               /* Status.StateChangeReason (else AthenaError.ErrorMessage);
	                                    "" when none; cut at a character boundary */
	int32_t error_category;          /* AthenaError.ErrorCategory (1 system, 2 user, 3 other); 0 */
	int32_t error_type;              /* AthenaError.ErrorType; 0 when none */
	int error_retryable;             /* AthenaError.Retryable */
	char statement_type[16];         /* DDL, DML, UTILITY; "" when not said */
	char output_location[1100];      /* ResultConfiguration.OutputLocation: the result file */
	char database[256];
	char workgroup[130];
	int64_t data_scanned_bytes;      /* Statistics.DataScannedInBytes; -1 when not said */
	int64_t engine_ms;               /* Statistics.EngineExecutionTimeInMillis; -1 */
	int64_t total_ms;                /* Statistics.TotalExecutionTimeInMillis; -1 */
	int64_t submitted_ms;            /* Status.SubmissionDateTime (epoch ms); 0 when not said */
	int64_t completed_ms;            /* Status.CompletionDateTime; 0 */
} s3i_athena_execution;

/* GetQueryExecution. */
int s3i_athena_get_execution_op(const s3i_svc *svc, const char *id, s3i_athena_execution *out,
	s3i_errinfo *err);

/* Parse a GetQueryExecution response body into *out (untouched on failure). S3I_EPARSE for
 * anything but the documented shape, naming `what`. Exposed for the fuzzer and tests. */
int s3i_athena_execution_parse(s3i_athena_execution *out, const char *body, size_t len,
	const char *what, s3i_errinfo *err);

typedef struct s3i_athena_wait_opts {
	int64_t timeout_ms;              /* required, > 0 */
	int64_t first_delay_ms;          /* first pause; 0: 250 */
	int64_t max_delay_ms;            /* pauses double up to this; 0: 5000 */
} s3i_athena_wait_opts;

/* Poll GetQueryExecution until the execution ends. S3I_OK when it SUCCEEDED. FAILED ->
 * S3I_EAWS (S3I_ESERVICE when Athena says a retry may succeed: AthenaError.Retryable) and
 * CANCELLED -> S3I_EAWS, the message naming the execution id, its state and the reason.
 * S3I_ETIMEOUT naming the execution id and its last state when timeout_ms passes (the query is
 * left running: stop it if it should not go on). out (may be NULL) holds the last execution
 * read, whatever the outcome. Pauses go through the context's clock hook; the deadline
 * follows the client's clock and, should that be pinned, the time slept. */
int s3i_athena_wait_op(const s3i_svc *svc, const char *id, const s3i_athena_wait_opts *opts,
	s3i_athena_execution *out, s3i_errinfo *err);

/* ---- results ---- */

typedef struct s3i_athena_column {
	const char *name;                /* never NULL */
	const char *type;                /* "varchar", "bigint", ...; never NULL */
	const char *label;               /* "" when not said */
	int32_t precision;               /* 0 when not said */
	int32_t scale;
	const char *nullable;            /* "NOT_NULL", "NULLABLE", "UNKNOWN"; "" when not said */
} s3i_athena_column;

typedef struct s3i_athena_row {
	size_t count;                    /* values */
	const char *const *values;       /* NULL for a null value (a Datum without VarCharValue) */
	int is_header;                   /* the column-name row at the head of a SELECT's results */
	int64_t index;                   /* 0-based position among all rows read, header included */
} s3i_athena_row;

/* Return 0 to go on, anything else to stop (the operation then fails with S3I_EUSER).
 * Everything handed over is borrowed for the duration of the call. */
typedef int (*s3i_athena_columns_fn)(void *payload, const s3i_athena_column *cols, size_t n);
typedef int (*s3i_athena_row_fn)(void *payload, const s3i_athena_row *row);

typedef enum s3i_athena_header {
	/* the first row of the first page is the header when its values are the column names,
	   in order (a SELECT; DDL and SHOW results have no such row) */
	S3I_ATHENA_HEADER_AUTO = 0,
	S3I_ATHENA_HEADER_FIRST_ROW = 1, /* it is, whatever it holds */
	S3I_ATHENA_HEADER_NONE = 2       /* there is none */
} s3i_athena_header;

/* Reads result pages, one after the other: the column info goes to on_columns once (with the
 * first page that has any), then every row to on_row. Either callback may be NULL. */
typedef struct s3i_athena_reader {
	s3i_athena_columns_fn on_columns;
	s3i_athena_row_fn on_row;
	void *payload;
	s3i_athena_header header;
	const s3i_allocator *alloc;      /* NULL: the default */
	/* progress, kept up by s3i_athena_reader_page */
	int columns_delivered;
	size_t ncolumns;
	int64_t pages;
	int64_t rows;                    /* data rows handed over (the header not counted) */
	int64_t header_rows;             /* 0 or 1 */
	int64_t update_count;            /* UpdateCount of the last page; -1 when not said */
	char next_token[S3I_ATHENA_TOKEN_SIZE];   /* "" once the last page was read */
} s3i_athena_reader;

/* Zero the reader and set its callbacks (header mode AUTO, alloc default). */
void s3i_athena_reader_init(s3i_athena_reader *r, s3i_athena_columns_fn on_columns,
	s3i_athena_row_fn on_row, void *payload);

/* Parse one GetQueryResults response body. Header detection applies to the first page read
 * only, and only when the reader did not start from a token. S3I_EPARSE for anything but the
 * documented shape (naming `what` and the row), S3I_EUSER when a callback stopped, S3I_ENOMEM.
 * Exposed for the fuzzer and for callers that fetch pages themselves. */
int s3i_athena_reader_page(s3i_athena_reader *r, const char *body, size_t len, const char *what,
	s3i_errinfo *err);

typedef struct s3i_athena_results_opts {
	int32_t max_results;             /* rows per page, 1-1000; 0: 1000 */
	const char *next_token;          /* resume from this token; NULL: the first page */
	int64_t max_pages;               /* stop after this many pages; 0: all */
} s3i_athena_results_opts;

/* GetQueryResults of execution `id`, page after page, following NextToken until there is none
 * (or max_pages were read). `r` is initialised by the caller (s3i_athena_reader_init) and
 * keeps the progress, so after a failure or max_pages, r->next_token is where to go on.
 * opts may be NULL. */
int s3i_athena_get_results_op(const s3i_svc *svc, const char *id,
	const s3i_athena_results_opts *opts, s3i_athena_reader *r, s3i_errinfo *err);

#endif
