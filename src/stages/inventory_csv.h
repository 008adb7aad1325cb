/*
 * S3 Inventory CSV data files (s3-inventory-format.md §4): a streaming reader, a writer that
 * produces exactly what S3 writes, a rewriter from one fileSchema to another, and streaming
 * gzip in both directions. Everything works in bounded memory: data goes through in pieces
 * of any size and nothing holds more than one row (the reader, the rewriter) or one
 * compression window plus an output chunk (gzip).
 *
 * The format, as S3 writes it and as this writer writes it:
 *  - no header row; one row per object (version), ended by "\n";
 *  - every field in double quotes, a quote inside doubled (RFC 4180), empty values as "";
 *  - the columns in the order of the manifest's fileSchema;
 *  - the Key column URL-encoded form-style: bytes other than A-Z a-z 0-9 . - * _ as %XX
 *    (uppercase hex; '/' too), a space as '+' (what Java's URLEncoder does; readers decode
 *    with '+' as a space, so any equivalent encoding reads back the same);
 *  - booleans "true"/"false", sizes in decimal, dates ISO 8601 UTC with milliseconds
 *    ("2024-08-21T15:28:26.000Z").
 * The reader is lenient where S3 is not specified: unquoted fields, "\r\n" line ends and a
 * last row without "\n" are accepted.
 */
#ifndef S3I_STAGES_INVENTORY_CSV_H
#define S3I_STAGES_INVENTORY_CSV_H

#include <stddef.h>
#include <stdint.h>
#include "s3insights/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "stages/manifest.h"

/* Where output goes, piece by piece. Return 0 to go on; a negative s3i_status (or any other
 * non-zero value, reported as S3I_EUSER) stops the stream with that status. */
typedef int (*s3i_sink_fn)(void *user, const void *data, size_t len);

/* ---- keys ---- */

/* Append a key encoded as S3 Inventory writes it (see above). */
int s3i_inventory_key_encode(s3i_buf *out, const char *key, size_t len);
/* Append a key decoded from its inventory form ('+' is a space, %XX a byte; a '%' not
 * followed by two hex digits is kept). */
int s3i_inventory_key_decode(s3i_buf *out, const char *s, size_t len);

/* ---- reader ---- */

typedef struct s3i_csv_row {
	size_t n;                    /* number of fields */
	const char *const *fields;   /* unquoted, NUL-terminated; the Key still encoded */
	const size_t *lens;          /* their lengths (a field may hold a NUL byte) */
	uint64_t row;                /* 1-based; blank lines are not rows */
} s3i_csv_row;

/* Called once per row; the row is valid during the call. Non-zero stops the reader
 * (S3I_EUSER, or that status when it is a negative s3i_status). */
typedef int (*s3i_csv_row_fn)(void *user, const s3i_csv_row *row);

typedef struct s3i_csv_reader s3i_csv_reader;

#define S3I_CSV_DEFAULT_MAX_ROW (1u << 20)   /* bytes of one row, quotes included */
#define S3I_CSV_MAX_FIELDS 4096

/* what: names the file in messages ("data file 'k' of bucket 'b'"), copied. max_row 0: the
 * default. */
int s3i_csv_reader_new(s3i_csv_reader **out, const s3i_allocator *a, const char *what,
	size_t max_row, s3i_csv_row_fn fn, void *user);
/* Feed the next piece. S3I_EPARSE naming the row and field ("row 12, field 3: text after
 * the closing quote"); the row-size limit; the callback's status. Errors are sticky. */
int s3i_csv_reader_feed(s3i_csv_reader *r, const void *data, size_t len, s3i_errinfo *err);
/* End of input: a last row without "\n" is delivered; S3I_EPARSE when the input ends inside
 * a quoted field. */
int s3i_csv_reader_finish(s3i_csv_reader *r, s3i_errinfo *err);
uint64_t s3i_csv_reader_rows(const s3i_csv_reader *r);
void s3i_csv_reader_free(s3i_csv_reader *r);

/* ---- writer ---- */

/* Append one row: every field quoted, '\n' at the end. lens may be NULL (strlen each); a NULL
 * field is written "". */
int s3i_csv_put_row(s3i_buf *out, const char *const *fields, const size_t *lens, size_t n);

/* Typed values as S3 Inventory writes them. */
void s3i_inv_format_bool(char out[6], int v);           /* "true" / "false" */
void s3i_inv_format_i64(char out[21], int64_t v);
void s3i_inv_format_time(char out[25], int64_t epoch_ms); /* 2024-08-21T15:28:26.000Z */

/* Append the row of one object in `schema`'s column order. vals is indexed by
 * s3i_inv_column; NULL is an empty value; vals[S3I_COL_KEY] is the real (decoded) key, which
 * is written encoded. Columns the schema has but this library does not know are empty.
 * Note: S3 Inventory writes the version id of a "null" version as "" (not "null"). */
int s3i_inv_csv_put_object(s3i_buf *out, const s3i_inv_schema *schema,
	const char *const vals[S3I_COL_COUNT]);

/* ---- rewriter ---- */

/* Append `row` rearranged: output field j is input field map[j], or "" when map[j] is -1. */
int s3i_csv_rewrite_row(s3i_buf *out, const s3i_csv_row *row, const int32_t *map, size_t n_out);

typedef struct s3i_csv_rewriter s3i_csv_rewriter;

/* Rewrite a CSV data file written in `from`'s columns into `to`'s (s3i_inv_schema_map),
 * streaming: feed the decompressed input, the sink receives the output in pieces of at most
 * 64 KiB. Rows whose field count differs from `from` are S3I_EPARSE naming the row. The
 * rewriter also counts rows and adds up the Size column (when `from` has one). */
int s3i_csv_rewriter_new(s3i_csv_rewriter **out, const s3i_allocator *a, const char *what,
	const s3i_inv_schema *from, const s3i_inv_schema *to, s3i_sink_fn sink, void *user,
	s3i_errinfo *err);
int s3i_csv_rewriter_feed(s3i_csv_rewriter *rw, const void *data, size_t len, s3i_errinfo *err);
int s3i_csv_rewriter_finish(s3i_csv_rewriter *rw, s3i_errinfo *err);
uint64_t s3i_csv_rewriter_rows(const s3i_csv_rewriter *rw);
int64_t s3i_csv_rewriter_bytes(const s3i_csv_rewriter *rw);   /* sum of Size */
void s3i_csv_rewriter_free(s3i_csv_rewriter *rw);

/* ---- gzip ---- */

typedef struct s3i_gzip_writer s3i_gzip_writer;

/* level: 1-9, 0 for zlib's default. The sink receives compressed pieces of at most 64 KiB. */
int s3i_gzip_writer_new(s3i_gzip_writer **out, const s3i_allocator *a, int level,
	s3i_sink_fn sink, void *user, s3i_errinfo *err);
int s3i_gzip_writer_write(s3i_gzip_writer *w, const void *data, size_t len, s3i_errinfo *err);
/* Flush and end the stream; after it, out_bytes and md5 describe the whole .gz object. */
int s3i_gzip_writer_finish(s3i_gzip_writer *w, s3i_errinfo *err);
uint64_t s3i_gzip_writer_in_bytes(const s3i_gzip_writer *w);
uint64_t s3i_gzip_writer_out_bytes(const s3i_gzip_writer *w);   /* compressed, so far */
/* The MD5 of the compressed stream (32 lowercase hex); S3I_EINVALID before finish. */
int s3i_gzip_writer_md5(const s3i_gzip_writer *w, char out[33]);
void s3i_gzip_writer_free(s3i_gzip_writer *w);

typedef struct s3i_gunzip s3i_gunzip;

/* Decompress gzip (several members one after the other too, as concatenated .gz files are).
 * The sink receives pieces of at most 64 KiB. what: names the file in messages. */
int s3i_gunzip_new(s3i_gunzip **out, const s3i_allocator *a, const char *what,
	s3i_sink_fn sink, void *user, s3i_errinfo *err);
/* S3I_EPARSE for data that is not gzip or is corrupt (naming the file and the offset). */
int s3i_gunzip_feed(s3i_gunzip *g, const void *data, size_t len, s3i_errinfo *err);
/* S3I_EPARSE when the input stopped inside a member (a truncated file). */
int s3i_gunzip_finish(s3i_gunzip *g, s3i_errinfo *err);
uint64_t s3i_gunzip_out_bytes(const s3i_gunzip *g);
void s3i_gunzip_free(s3i_gunzip *g);

#endif
