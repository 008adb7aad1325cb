/*
 * S3 Inventory manifests (s3-inventory-format.md §1-§4): manifest.json and manifest.checksum,
 * the column schema of the data files, and the layout of a delivery's keys.
 *
 *  - Reading: s3i_manifest_parse (what ingest fetched), s3i_manifest_checksum_verify (the
 *    MD5 of manifest.json against manifest.checksum), s3i_inv_schema_parse (a fileSchema of
 *    any format into a column list).
 *  - Comparing: s3i_inv_schema_map gives, for each column of the run's canonical schema, the
 *    column of a data file that holds it, so partition can rewrite a file whose fileSchema
 *    differs (missing columns empty, unknown ones dropped).
 *  - Writing: s3i_manifest_write produces manifest.json exactly as S3 does (member order,
 *    compact, destination as an ARN, creationTimestamp as a string of epoch milliseconds),
 *    and s3i_manifest_checksum_text the content of manifest.checksum, for the list snapshot.
 */
#ifndef S3I_STAGES_MANIFEST_H
#define S3I_STAGES_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include "s3insights/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "core/str.h"
#include "stages/table_ddl.h"


/* ---- columns ---- */

/* Every column S3 Inventory writes, in its fixed order (§4.3), the same order as
 * s3i_ddl_canonical_columns. */
typedef enum s3i_inv_column {
	S3I_COL_UNKNOWN = -1,            /* a column this library does not know (kept by name) */
	S3I_COL_BUCKET = 0,
	S3I_COL_KEY,
	S3I_COL_VERSION_ID,
	S3I_COL_IS_LATEST,
	S3I_COL_IS_DELETE_MARKER,
	S3I_COL_SIZE,
	S3I_COL_LAST_MODIFIED_DATE,
	S3I_COL_ETAG,
	S3I_COL_STORAGE_CLASS,
	S3I_COL_IS_MULTIPART_UPLOADED,
	S3I_COL_REPLICATION_STATUS,
	S3I_COL_ENCRYPTION_STATUS,
	S3I_COL_OBJECT_LOCK_RETAIN_UNTIL_DATE,
	S3I_COL_OBJECT_LOCK_MODE,
	S3I_COL_OBJECT_LOCK_LEGAL_HOLD_STATUS,
	S3I_COL_INTELLIGENT_TIERING_ACCESS_TIER,
	S3I_COL_BUCKET_KEY_STATUS,
	S3I_COL_CHECKSUM_ALGORITHM,
	S3I_COL_OBJECT_ACCESS_CONTROL_LIST,
	S3I_COL_OBJECT_OWNER,
	S3I_COL_LIFECYCLE_EXPIRATION_DATE,
	S3I_COL_COUNT
} s3i_inv_column;

/* The CSV fileSchema name ("LastModifiedDate") and the ORC/Parquet one
 * ("last_modified_date") of a column; NULL for anything else. */
const char *s3i_inv_column_field(int col);
const char *s3i_inv_column_snake(int col);
/* The column of a name in either spelling (case and underscores ignored), or
 * S3I_COL_UNKNOWN. */
int s3i_inv_column_lookup(const char *name, size_t len);

/* ---- schemas ---- */

typedef struct s3i_inv_schema {
	size_t n;
	char **names;                /* as written in the fileSchema */
	int *ids;                    /* s3i_inv_column of each, S3I_COL_UNKNOWN when not known */
	const s3i_allocator *alloc;
} s3i_inv_schema;

/* Parse a fileSchema: CSV "Bucket, Key, Size", ORC "struct<bucket:string,key:string>",
 * Parquet "message s3.inventory { required binary bucket (UTF8); ... }". S3I_EPARSE naming
 * what is wrong (an empty name, a column given twice, no columns); S3I_ENOMEM. */
int s3i_inv_schema_parse(s3i_inv_schema *out, s3i_report_format fmt, const char *text,
	size_t len, const s3i_allocator *a, s3i_errinfo *err);
/* The run's canonical schema (s3i_ddl_canonical_columns), with CSV names. */
int s3i_inv_schema_canonical(s3i_inv_schema *out, int all_versions, const s3i_allocator *a);
/* A schema of the given known columns, with CSV names (S3I_EINVALID for an unknown id or a
 * repeated one). */
int s3i_inv_schema_from_ids(s3i_inv_schema *out, const int *ids, size_t n,
	const s3i_allocator *a);
void s3i_inv_schema_dispose(s3i_inv_schema *s);
/* The same columns in the same order (spelling aside). */
int s3i_inv_schema_equal(const s3i_inv_schema *a, const s3i_inv_schema *b);
/* The index of a column, or -1. */
int s3i_inv_schema_find(const s3i_inv_schema *s, int col);
/* The CSV fileSchema text: names joined with ", " (S3's form), appended to out. */
int s3i_inv_schema_format(s3i_buf *out, const s3i_inv_schema *s);

/* For each column j of `to`, map[j] is the index of the same column in `from`, or -1 when
 * `from` lacks it (the rewritten value is empty). *dropped (may be NULL) counts the columns
 * of `from` that `to` lacks. S3I_EINVALID naming the column when `from` lacks Bucket or Key
 * (a file without them cannot be placed). map holds to->n entries. */
int s3i_inv_schema_map(const s3i_inv_schema *from, const s3i_inv_schema *to, int32_t *map,
	size_t *dropped, s3i_errinfo *err);

/* ---- manifest.json ---- */

typedef struct s3i_manifest_file {
	const char *key;             /* the data file's key in the destination bucket, verbatim */
	int64_t size;
	char md5[33];                /* lowercase hex */
} s3i_manifest_file;

typedef struct s3i_manifest {
	const char *source_bucket;
	const char *destination_bucket;  /* as written ("arn:aws:s3:::dest"); "" when absent */
	const char *version;             /* "2016-11-30"; "" when absent */
	const char *creation_timestamp;  /* as written; "" when absent */
	int64_t creation_ms;             /* -1 when absent */
	s3i_report_format format;
	const char *file_schema;         /* as written */
	s3i_inv_schema schema;           /* parsed from file_schema */
	size_t n_files;
	s3i_manifest_file *files;
	int64_t total_size;              /* sum of files[].size */
	/* private */
	const s3i_allocator *alloc;
	char *strings;
} s3i_manifest;

/* Parse manifest.json. `what` names it in messages (e.g. "manifest 'p/src/cfg/…/manifest.json'
 * in bucket 'staging'"). S3I_EPARSE naming the field ("files[2].MD5checksum is not 32 hex
 * digits"); S3I_ENOMEM. A key listed twice in files[] is an error (it would count twice). On
 * failure *out is empty (safe to dispose). */
int s3i_manifest_parse(s3i_manifest *out, const char *json, size_t len, const char *what,
	const s3i_allocator *a, s3i_errinfo *err);
void s3i_manifest_dispose(s3i_manifest *m);

/* The MD5 of data as 32 lowercase hex digits. S3I_ERROR when OpenSSL has no MD5. */
int s3i_md5_hex(const void *data, size_t len, char out[33]);

/* Check manifest.json against the content of manifest.checksum (32 hex digits, any case,
 * white space around ignored). S3I_OK; S3I_ECHECKSUM when they differ (the message gives
 * both); S3I_EPARSE when the checksum text is not an MD5. `what` names the manifest. */
int s3i_manifest_checksum_verify(const char *manifest, size_t len, const char *checksum,
	size_t checksum_len, const char *what, s3i_errinfo *err);

/* What a manifest.json describes, for the writer. */
typedef struct s3i_manifest_spec {
	const char *source_bucket;
	const char *destination_bucket;  /* a bucket name, written as "arn:aws:s3:::<name>" (an
	                                    ARN is written as given) */
	int64_t creation_ms;             /* the instant the listing began */
	const s3i_inv_schema *schema;    /* CSV names are written */
	const s3i_manifest_file *files;
	size_t n_files;
} s3i_manifest_spec;

/* Append manifest.json of a CSV report, byte for byte as S3 writes it:
 * {"sourceBucket":…,"destinationBucket":"arn:aws:s3:::…","version":"2016-11-30",
 *  "creationTimestamp":"<ms>","fileFormat":"CSV","fileSchema":"Bucket, Key, …",
 *  "files":[{"key":…,"size":…,"MD5checksum":…}]}
 * S3I_EINVALID naming the field for a missing bucket, an empty schema, a file without a key
 * or with a malformed MD5. */
int s3i_manifest_write(s3i_buf *out, const s3i_manifest_spec *spec, s3i_errinfo *err);

/* The content of manifest.checksum for a manifest.json: its MD5, 32 lowercase hex digits,
 * no newline. */
int s3i_manifest_checksum_text(const char *manifest, size_t len, char out[33]);

/* ---- the keys of a delivery (§1) ---- */

/* "2016-11-06T21-32Z" (the manifest folder) and "2016-11-06-21-32" (hive dt=) of an instant. */
void s3i_inventory_timestamp(char out[18], int64_t epoch_ms);
void s3i_inventory_hive_dt(char out[17], int64_t epoch_ms);
/* <prefix>/<bucket>/<config_id>/<timestamp>/<name> (no leading part when prefix is "" or
 * NULL), appended to out. */
int s3i_inventory_manifest_key(s3i_buf *out, const char *prefix, const char *bucket,
	const char *config_id, int64_t epoch_ms, const char *name);
/* <prefix>/<bucket>/<config_id>/data/<file_name> */
int s3i_inventory_data_key(s3i_buf *out, const char *prefix, const char *bucket,
	const char *config_id, const char *file_name);
/* <prefix>/<bucket>/<config_id>/hive/dt=<YYYY-MM-DD-HH-MM>/symlink.txt */
int s3i_inventory_symlink_key(s3i_buf *out, const char *prefix, const char *bucket,
	const char *config_id, int64_t epoch_ms);

#endif
