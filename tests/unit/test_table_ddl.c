/*
 * Athena DDL of the create-table stage (src/stages/table_ddl.c): golden statements in
 * tests/fixtures/ddl/ for CSV (raw table + typed view) with and without versions, ORC and
 * Parquet typed tables, partition batches, drops; canonical column order; refusals.
 * S3I_UPDATE_GOLDEN=1 rewrites the golden files (review the diff before committing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "s3insights/errors.h"
#include "stages/table_ddl.h"
#include "test_alloc.h"

static void check_golden(const char *name, const s3i_buf *got)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/ddl/%s.sql", S3I_FIXTURES_DIR, name);
	const char *text = s3i_buf_cstr(got);
	if (getenv("S3I_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		fprintf(f, "%s\n", text);
		fclose(f);
	}
	FILE *f = fopen(path, "rb");
	if (!f)
		fprintf(stderr, "missing golden file %s\n", path);
	assert_non_null(f);
	static char want[16384];
	size_t n = fread(want, 1, sizeof(want) - 1, f);
	fclose(f);
	want[n] = '\0';
	if (n && want[n - 1] == '\n')
		want[n - 1] = '\0';
	if (strcmp(want, text))
		fprintf(stderr, "%s differs:\n--- want\n%s\n--- got\n%s\n", name, want, text);
	assert_string_equal(want, text);
}

static const s3i_ddl_table csv_all = { "s3insights", "r1inventorytable",
	"s3://dep1-123456789012-consolidated/inventory/r1/", S3I_FORMAT_CSV, 1 };

static void test_database(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_ddl_create_database(&b, "s3insights"), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "CREATE DATABASE IF NOT EXISTS `s3insights`");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_ddl_create_database(&b, "bad-name"), S3I_EINVALID);
	assert_int_equal(s3i_ddl_create_database(&b, "Upper"), S3I_EINVALID);
	assert_int_equal(s3i_ddl_create_database(&b, "x`; DROP"), S3I_EINVALID);
	assert_int_equal(s3i_ddl_create_database(&b, ""), S3I_EINVALID);
	s3i_buf_dispose(&b);
}

static void golden_pair(const s3i_ddl_table *t, const char *name_table, const char *name_view)
{
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_ddl_create_table(&b, t), S3I_OK);
	check_golden(name_table, &b);
	s3i_buf_clear(&b);
	if (name_view) {
		assert_int_equal(s3i_ddl_create_view(&b, t), S3I_OK);
		check_golden(name_view, &b);
	} else {
		assert_int_equal(s3i_ddl_create_view(&b, t), S3I_EINVALID);
	}
	s3i_buf_dispose(&b);
}

static void test_csv_all_versions(void **state)
{
	(void)state;
	golden_pair(&csv_all, "csv_all_table", "csv_all_view");
}

static void test_csv_current(void **state)
{
	(void)state;
	s3i_ddl_table t = csv_all;
	t.all_versions = 0;
	golden_pair(&t, "csv_current_table", "csv_current_view");
}

static void test_orc_and_parquet(void **state)
{
	(void)state;
	s3i_ddl_table t = csv_all;
	t.format = S3I_FORMAT_ORC;
	golden_pair(&t, "orc_all_table", NULL);
	t.format = S3I_FORMAT_PARQUET;
	t.all_versions = 0;
	golden_pair(&t, "parquet_current_table", NULL);
}

static void test_partitions(void **state)
{
	(void)state;
	s3i_ddl_partition parts[] = {
		{ "111111111111", "us-east-1", "logs.example.com" },
		{ "222222222222", "eu-west-1", "o'brien-data" },
	};
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_ddl_add_partitions(&b, &csv_all, parts, 2), S3I_OK);
	check_golden("csv_partitions", &b);
	s3i_buf_clear(&b);
	s3i_ddl_table orc = csv_all;
	orc.format = S3I_FORMAT_ORC;
	assert_int_equal(s3i_ddl_add_partitions(&b, &orc, parts, 1), S3I_OK);
	assert_non_null(strstr(s3i_buf_cstr(&b), "ALTER TABLE `s3insights`.`r1inventorytable` ADD"));
	s3i_buf_clear(&b);
	assert_int_equal(s3i_ddl_add_partitions(&b, &csv_all, parts, 0), S3I_EINVALID);
	assert_int_equal(s3i_ddl_add_partitions(&b, &csv_all, parts,
		S3I_DDL_PARTITIONS_PER_STATEMENT + 1), S3I_EINVALID);
	s3i_buf_dispose(&b);
}

static void test_drops(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	assert_int_equal(s3i_ddl_drop(&b, &csv_all, 1), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "DROP VIEW IF EXISTS \"s3insights\".\"r1inventorytable\"");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_ddl_drop(&b, &csv_all, 0), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "DROP TABLE IF EXISTS `s3insights`.`r1inventorytable_raw`");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_ddl_drop_database(&b, "s3i_smoke_0a1b2c3d4e"), S3I_OK);
	assert_string_equal(s3i_buf_cstr(&b), "DROP DATABASE IF EXISTS `s3i_smoke_0a1b2c3d4e` CASCADE");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_ddl_drop_database(&b, "bad; name"), S3I_EINVALID);
	s3i_buf_dispose(&b);
}

static void test_columns(void **state)
{
	(void)state;
	const char *const *cols;
	size_t n = s3i_ddl_canonical_columns(1, &cols);
	assert_int_equal(n, 21);
	assert_string_equal(cols[0], "Bucket");
	assert_string_equal(cols[2], "VersionId");
	assert_string_equal(cols[7], "ETag");          /* ETag before StorageClass in files */
	assert_string_equal(cols[8], "StorageClass");
	n = s3i_ddl_canonical_columns(0, &cols);
	assert_int_equal(n, 18);
	assert_string_equal(cols[2], "Size");
	for (size_t i = 0; i < n; i++)
		assert_non_null(s3i_ddl_column_name(cols[i]));
	assert_string_equal(s3i_ddl_column_name("ETag"), "e_tag");
	assert_string_equal(s3i_ddl_column_name("IsDeleteMarker"), "is_delete_marker");
	assert_null(s3i_ddl_column_name("Nope"));
}

static void test_refusals(void **state)
{
	(void)state;
	s3i_buf b;
	s3i_buf_init(&b, s3i_test_alloc());
	s3i_ddl_table t = csv_all;
	t.table = "Bad";
	assert_int_equal(s3i_ddl_create_table(&b, &t), S3I_EINVALID);
	t = csv_all;
	t.location = "https://example.com/";
	assert_int_equal(s3i_ddl_create_table(&b, &t), S3I_EINVALID);
	t.location = "s3://bucket/no-slash";
	assert_int_equal(s3i_ddl_create_table(&b, &t), S3I_EINVALID);
	t = csv_all;
	t.format = (s3i_report_format)7;
	assert_int_equal(s3i_ddl_create_table(&b, &t), S3I_EINVALID);
	s3i_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_database),
		S3I_TEST(test_csv_all_versions),
		S3I_TEST(test_csv_current),
		S3I_TEST(test_orc_and_parquet),
		S3I_TEST(test_partitions),
		S3I_TEST(test_drops),
		S3I_TEST(test_columns),
		S3I_TEST(test_refusals),
	};
	return cmocka_run_group_tests_name("table_ddl", tests, NULL, NULL);
}
