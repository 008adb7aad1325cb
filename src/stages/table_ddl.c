/* Athena DDL for the consolidated inventory: see table_ddl.h. */
#include "stages/table_ddl.h"

#include <string.h>

#include "s3insights/errors.h"

typedef enum col_type { T_STRING, T_BOOL, T_BIGINT, T_TIMESTAMP } col_type;

typedef struct column {
	const char *field;      /* CSV fileSchema name */
	const char *name;       /* snake_case (ORC/Parquet schema, Athena column) */
	col_type type;
	int version_only;
} column;

/* S3 Inventory's fixed column order (s3-inventory-format.md §4.3) and the ORC/Parquet
 * types (§4.5). object_lock_retain_until_date is a timestamp as in the ORC manifest; AWS's
 * ORC Athena template says bigint, but the Parquet schema is TIMESTAMP_MILLIS too. */
static const column columns[] = {
	{ "Bucket", "bucket", T_STRING, 0 },
	{ "Key", "key", T_STRING, 0 },
	{ "VersionId", "version_id", T_STRING, 1 },
	{ "IsLatest", "is_latest", T_BOOL, 1 },
	{ "IsDeleteMarker", "is_delete_marker", T_BOOL, 1 },
	{ "Size", "size", T_BIGINT, 0 },
	{ "LastModifiedDate", "last_modified_date", T_TIMESTAMP, 0 },
	{ "ETag", "e_tag", T_STRING, 0 },
	{ "StorageClass", "storage_class", T_STRING, 0 },
	{ "IsMultipartUploaded", "is_multipart_uploaded", T_BOOL, 0 },
	{ "ReplicationStatus", "replication_status", T_STRING, 0 },
	{ "EncryptionStatus", "encryption_status", T_STRING, 0 },
	{ "ObjectLockRetainUntilDate", "object_lock_retain_until_date", T_TIMESTAMP, 0 },
	{ "ObjectLockMode", "object_lock_mode", T_STRING, 0 },
	{ "ObjectLockLegalHoldStatus", "object_lock_legal_hold_status", T_STRING, 0 },
	{ "IntelligentTieringAccessTier", "intelligent_tiering_access_tier", T_STRING, 0 },
	{ "BucketKeyStatus", "bucket_key_status", T_STRING, 0 },
	{ "ChecksumAlgorithm", "checksum_algorithm", T_STRING, 0 },
	{ "ObjectAccessControlList", "object_access_control_list", T_STRING, 0 },
	{ "ObjectOwner", "object_owner", T_STRING, 0 },
	{ "LifecycleExpirationDate", "lifecycle_expiration_date", T_STRING, 0 },
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static const char *const fields_all[NCOLUMNS] = {
	"Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "LastModifiedDate",
	"ETag", "StorageClass", "IsMultipartUploaded", "ReplicationStatus", "EncryptionStatus",
	"ObjectLockRetainUntilDate", "ObjectLockMode", "ObjectLockLegalHoldStatus",
	"IntelligentTieringAccessTier", "BucketKeyStatus", "ChecksumAlgorithm",
	"ObjectAccessControlList", "ObjectOwner", "LifecycleExpirationDate",
};
static const char *const fields_current[NCOLUMNS - 3] = {
	"Bucket", "Key", "Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded",
	"ReplicationStatus", "EncryptionStatus", "ObjectLockRetainUntilDate", "ObjectLockMode",
	"ObjectLockLegalHoldStatus", "IntelligentTieringAccessTier", "BucketKeyStatus",
	"ChecksumAlgorithm", "ObjectAccessControlList", "ObjectOwner", "LifecycleExpirationDate",
};

size_t s3i_ddl_canonical_columns(int all_versions, const char *const **out)
{
	if (all_versions) {
		*out = fields_all;
		return NCOLUMNS;
	}
	*out = fields_current;
	return NCOLUMNS - 3;
}

const char *s3i_ddl_column_name(const char *field)
{
	for (size_t i = 0; field && i < NCOLUMNS; i++)
		if (!strcmp(columns[i].field, field))
			return columns[i].name;
	return NULL;
}

static int valid_ident(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int check_table(const s3i_ddl_table *t)
{
	if (!t || !valid_ident(t->database) || !valid_ident(t->table) || !t->location
	    || strncmp(t->location, "s3://", 5) || t->location[strlen(t->location) - 1] != '/')
		return S3I_EINVALID;
	return S3I_OK;
}

/* A SQL string literal: single quotes doubled. */
static int put_literal(s3i_buf *out, const char *s)
{
	int rc = s3i_buf_putc(out, '\'');
	for (; !rc && *s; s++)
		rc = *s == '\'' ? s3i_buf_puts(out, "''") : s3i_buf_putc(out, *s);
	return rc ? rc : s3i_buf_putc(out, '\'');
}

int s3i_ddl_create_database(s3i_buf *out, const char *database)
{
	if (!valid_ident(database))
		return S3I_EINVALID;
	return s3i_buf_printf(out, "CREATE DATABASE IF NOT EXISTS `%s`", database);
}

static const char *hive_type(col_type t)
{
	switch (t) {
	case T_BOOL: return "boolean";
	case T_BIGINT: return "bigint";
	case T_TIMESTAMP: return "timestamp";
	default: return "string";
	}
}

static int put_partitioned_by(s3i_buf *out)
{
	return s3i_buf_puts(out, "PARTITIONED BY (\n  `account` string,\n  `region` string,\n"
		"  `bucketname` string)\n");
}

int s3i_ddl_create_table(s3i_buf *out, const s3i_ddl_table *t)
{
	if (check_table(t))
		return S3I_EINVALID;
	int csv = t->format == S3I_FORMAT_CSV;
	int rc = s3i_buf_printf(out, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s`.`%s%s` (\n",
		t->database, t->table, csv ? "_raw" : "");
	int first = 1;
	for (size_t i = 0; !rc && i < NCOLUMNS; i++) {
		if (columns[i].version_only && !t->all_versions)
			continue;
		rc = s3i_buf_printf(out, "%s  `%s` %s", first ? "" : ",\n", columns[i].name,
			csv ? "string" : hive_type(columns[i].type));
		first = 0;
	}
	if (!rc)
		rc = s3i_buf_puts(out, ")\n");
	if (!rc)
		rc = put_partitioned_by(out);
	if (rc)
		return rc;
	switch (t->format) {
	case S3I_FORMAT_CSV:
		rc = s3i_buf_puts(out,
			"ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n"
			"WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"', 'escapeChar' = '\\\\')\n"
			"STORED AS TEXTFILE\n");
		break;
	case S3I_FORMAT_ORC:
		rc = s3i_buf_puts(out, "STORED AS ORC\n");
		break;
	case S3I_FORMAT_PARQUET:
		rc = s3i_buf_puts(out, "STORED AS PARQUET\n");
		break;
	default:
		return S3I_EINVALID;
	}
	if (!rc)
		rc = s3i_buf_puts(out, "LOCATION ");
	if (!rc)
		rc = put_literal(out, t->location);
	return rc;
}

/* How the view turns a raw string column into S3Insights' typed column. Empty strings
 * (absent values in S3 Inventory CSV) become NULL. */
static int put_view_expr(s3i_buf *out, const column *c)
{
	switch (c->type) {
	case T_BOOL:
		return s3i_buf_printf(out,
			"  CASE lower(\"%s\") WHEN 'true' THEN true WHEN 'false' THEN false END AS \"%s\"",
			c->name, c->name);
	case T_BIGINT:
		return s3i_buf_printf(out, "  TRY_CAST(NULLIF(\"%s\", '') AS bigint) AS \"%s\"", c->name,
			c->name);
	case T_TIMESTAMP:
		return s3i_buf_printf(out,
			"  CAST(from_iso8601_timestamp(NULLIF(\"%s\", '')) AS timestamp) AS \"%s\"",
			c->name, c->name);
	default:
		if (!strcmp(c->name, "key"))
			return s3i_buf_puts(out, "  url_decode(replace(\"key\", '+', ' ')) AS \"key\"");
		return s3i_buf_printf(out, "  \"%s\"", c->name);
	}
}

int s3i_ddl_create_view(s3i_buf *out, const s3i_ddl_table *t)
{
	if (check_table(t) || t->format != S3I_FORMAT_CSV)
		return S3I_EINVALID;
	int rc = s3i_buf_printf(out, "CREATE OR REPLACE VIEW \"%s\".\"%s\" AS\nSELECT\n", t->database,
		t->table);
	for (size_t i = 0; !rc && i < NCOLUMNS; i++) {
		if (columns[i].version_only && !t->all_versions)
			continue;
		rc = put_view_expr(out, &columns[i]);
		if (!rc)
			rc = s3i_buf_puts(out, ",\n");
	}
	if (!rc)
		rc = s3i_buf_printf(out, "  \"account\",\n  \"region\",\n  \"bucketname\"\nFROM \"%s\".\"%s_raw\"",
			t->database, t->table);
	return rc;
}

int s3i_ddl_partition_table(s3i_buf *out, const s3i_ddl_table *t)
{
	if (check_table(t))
		return S3I_EINVALID;
	return s3i_buf_printf(out, "`%s`.`%s%s`", t->database, t->table,
		t->format == S3I_FORMAT_CSV ? "_raw" : "");
}

/* '<location>account=<a>/region=<r>/bucketname=<b>/' with quotes doubled. */
static int put_location(s3i_buf *out, const char *location, const s3i_ddl_partition *p)
{
	const char *parts[] = { location, "account=", p->account, "/region=", p->region,
		"/bucketname=", p->bucket, "/" };
	int rc = s3i_buf_putc(out, '\'');
	for (size_t i = 0; !rc && i < sizeof(parts) / sizeof(parts[0]); i++)
		for (const char *s = parts[i]; !rc && *s; s++)
			rc = *s == '\'' ? s3i_buf_puts(out, "''") : s3i_buf_putc(out, *s);
	return rc ? rc : s3i_buf_putc(out, '\'');
}

int s3i_ddl_add_partitions(s3i_buf *out, const s3i_ddl_table *t, const s3i_ddl_partition *parts,
	size_t n)
{
	if (check_table(t) || n == 0 || n > S3I_DDL_PARTITIONS_PER_STATEMENT)
		return S3I_EINVALID;
	int rc = s3i_buf_puts(out, "ALTER TABLE ");
	if (!rc)
		rc = s3i_ddl_partition_table(out, t);
	if (!rc)
		rc = s3i_buf_puts(out, " ADD IF NOT EXISTS");
	for (size_t i = 0; !rc && i < n; i++) {
		const s3i_ddl_partition *p = &parts[i];
		if (!p->account || !p->region || !p->bucket)
			return S3I_EINVALID;
		rc = s3i_buf_puts(out, "\n  PARTITION (`account` = ");
		if (!rc)
			rc = put_literal(out, p->account);
		if (!rc)
			rc = s3i_buf_puts(out, ", `region` = ");
		if (!rc)
			rc = put_literal(out, p->region);
		if (!rc)
			rc = s3i_buf_puts(out, ", `bucketname` = ");
		if (!rc)
			rc = put_literal(out, p->bucket);
		if (!rc)
			rc = s3i_buf_puts(out, ") LOCATION ");
		if (!rc)
			rc = put_location(out, t->location, p);
	}
	return rc;
}

int s3i_ddl_drop(s3i_buf *out, const s3i_ddl_table *t, int view)
{
	if (check_table(t))
		return S3I_EINVALID;
	if (view)
		return s3i_buf_printf(out, "DROP VIEW IF EXISTS \"%s\".\"%s\"", t->database, t->table);
	return s3i_buf_printf(out, "DROP TABLE IF EXISTS `%s`.`%s%s`", t->database, t->table,
		t->format == S3I_FORMAT_CSV ? "_raw" : "");
}

int s3i_ddl_drop_database(s3i_buf *out, const char *database)
{
	if (!valid_ident(database))
		return S3I_EINVALID;
	return s3i_buf_printf(out, "DROP DATABASE IF EXISTS `%s` CASCADE", database);
}
