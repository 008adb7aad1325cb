/*
 * The run report the notify stage mails (DESIGN §4.7): a pure function from a snapshot of the
 * run's recorded state to a subject, a plain-text body and an HTML body, so unit tests can pin
 * it down without AWS.
 *
 * Every value that comes from outside (bucket names, reasons, query names, result cells,
 * error messages) is written as one line of valid UTF-8 (control characters become spaces,
 * invalid bytes U+FFFD, long values are cut with "...") and, in the HTML body, escaped
 * (& < > " '), so neither body can be broken or scripted by what a bucket or query holds.
 */
#ifndef S3I_STAGES_REPORT_H
#define S3I_STAGES_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/errinfo.h"

typedef struct s3i_report_bucket {
	const char *account;
	const char *region;
	const char *bucket;
	const char *status;          /* "done", "excluded", ... */
	const char *reason;          /* NULL or "": none */
	int64_t objects;             /* < 0: not counted (ORC/Parquet rows Athena did not count) */
	int64_t bytes;               /* < 0: not counted */
} s3i_report_bucket;

typedef struct s3i_report_query {
	const char *name;
	const char *state;           /* "SUCCEEDED", ...; "" or NULL: not run */
	const char *reason;          /* NULL or "": none */
	const char *execution_id;    /* NULL or "": not started (no console link) */
	const char *output_location; /* NULL or "": unknown */
	int64_t rows;                /* < 0: unknown */
	int64_t scanned_bytes;       /* < 0: unknown */
	size_t ncolumns;
	const char *const *columns;  /* ncolumns names */
	size_t nrows;                /* rows shown */
	const char *const *cells;    /* nrows * ncolumns values, row after row; NULL: SQL NULL */
	const char *rows_error;      /* NULL, or why the rows could not be read */
} s3i_report_query;

typedef struct s3i_report {
	const char *deployment;
	const char *run_id;
	int failed;                  /* a failure report */
	const char *error_stage;     /* failed: the stage at fault */
	const char *error;           /* failed: its message */
	const char *region;          /* host region: Athena console links */
	const char *partition;       /* "aws", "aws-cn", "aws-us-gov"; NULL: "aws" */
	const char *database;
	const char *table;
	const char *data_location;   /* s3://<consolidated>/inventory/R/ */
	const char *results_location;/* s3://<consolidated>/athena/R/ */
	const s3i_report_bucket *buckets;
	size_t nbuckets;
	size_t max_buckets_listed;   /* 0: every bucket */
	const s3i_report_query *queries;
	size_t nqueries;
	const char *count_note;      /* NULL or "": none; why buckets are not counted */
} s3i_report;

/* Append the subject (one line), the text body and the HTML body to the three buffers
 * (initialised by the caller; their allocator is used for temporary storage too).
 * S3I_EINVALID for a NULL argument, S3I_ENOMEM; the buffers may then hold a part. */
int s3i_report_build(const s3i_report *r, s3i_buf *subject, s3i_buf *text, s3i_buf *html,
	s3i_errinfo *err);

/* The pieces, for tests. */
/* `s` HTML-escaped (& < > " ' as entities), one line, valid UTF-8, cut after max_chars
 * characters (0: no limit) with "...". */
int s3i_report_put_html(s3i_buf *out, const char *s, size_t max_chars);
/* The same without the escaping (for the text part). */
int s3i_report_put_text(s3i_buf *out, const char *s, size_t max_chars);
/* "0 B", "999 B", "1.5 KiB", "2.0 GiB", ... (binary units, one decimal). */
void s3i_report_format_bytes(char *out, size_t cap, int64_t bytes);
/* "1,234,567". */
void s3i_report_format_count(char *out, size_t cap, int64_t n);
/* The Athena console page of an execution in `region` of `partition` (NULL: "aws"). */
int s3i_report_console_link(s3i_buf *out, const char *partition, const char *region,
	const char *execution_id);

#endif
