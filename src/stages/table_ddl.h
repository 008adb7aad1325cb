/*
 * The Athena statements of the create-table stage (DESIGN §4.5), as pure functions so golden
 * tests can pin them down.
 *
 * CSV reports: a raw table `<table>_raw` of string columns (OpenCSVSerde, the SerDe for
 * quoted values) partitioned by account/region/bucketname, and a view `<table>` exposing
 * S3Insights' column names and types: key URL-decoded ('+' is a space), size bigint,
 * last_modified_date timestamp, flags boolean — so the reference system's documented
 * queries run unchanged. ORC/Parquet reports: one typed table `<table>` (no view needed).
 *
 * Identifiers must already be valid ([a-z0-9_]{1,64}, checked by the run input); they are
 * still quoted. Every statement is one string without a trailing semicolon (Athena takes one
 * statement per StartQueryExecution).
 */
#ifndef S3I_STAGES_TABLE_DDL_H
#define S3I_STAGES_TABLE_DDL_H

#include <stddef.h>
#include "core/buf.h"

typedef enum s3i_report_format {
	S3I_FORMAT_CSV = 0,
	S3I_FORMAT_ORC = 1,
	S3I_FORMAT_PARQUET = 2
} s3i_report_format;

/* The run's canonical columns, in S3 Inventory's fixed order: Bucket, Key, the three version
 * columns when all versions are wanted, then every optional field. Names are the CSV
 * fileSchema names ("LastModifiedDate"); s3i_ddl_column_name gives the snake_case one. */
size_t s3i_ddl_canonical_columns(int all_versions, const char *const **out);
/* "LastModifiedDate" -> "last_modified_date", "ETag" -> "e_tag"; NULL for an unknown field. */
const char *s3i_ddl_column_name(const char *field);

typedef struct s3i_ddl_table {
	const char *database;
	const char *table;
	const char *location;        /* s3://<consolidated>/inventory/<R>/ */
	s3i_report_format format;
	int all_versions;
} s3i_ddl_table;

int s3i_ddl_create_database(s3i_buf *out, const char *database);
/* CSV: the raw table; ORC/Parquet: the typed table. */
int s3i_ddl_create_table(s3i_buf *out, const s3i_ddl_table *t);
/* CSV only: the typed view over the raw table (S3I_EINVALID for other formats). */
int s3i_ddl_create_view(s3i_buf *out, const s3i_ddl_table *t);
/* The table partitions live in (the raw table for CSV). Writes the quoted name. */
int s3i_ddl_partition_table(s3i_buf *out, const s3i_ddl_table *t);

typedef struct s3i_ddl_partition {
	const char *account;
	const char *region;
	const char *bucket;
} s3i_ddl_partition;

/* One ALTER TABLE ... ADD IF NOT EXISTS statement for parts[0..n), each PARTITION with its
 * LOCATION <location>account=<a>/region=<r>/bucketname=<b>/. */
int s3i_ddl_add_partitions(s3i_buf *out, const s3i_ddl_table *t, const s3i_ddl_partition *parts,
	size_t n);
/* How many partitions go into one statement (keeps it far below Athena's 256 KiB limit). */
#define S3I_DDL_PARTITIONS_PER_STATEMENT 100

/* DROP VIEW / DROP TABLE IF EXISTS, for the smoke test's cleanup. */
int s3i_ddl_drop(s3i_buf *out, const s3i_ddl_table *t, int view);
/* DROP DATABASE IF EXISTS `<database>` CASCADE (its tables and views with it), for the smoke
 * test's cleanup. */
int s3i_ddl_drop_database(s3i_buf *out, const char *database);

#endif
