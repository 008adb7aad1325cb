/* S3 Inventory manifests, checksums and schemas (src/stages/manifest.c). The samples follow
 * AWS's "Locating your inventory list" page (CSV, ORC and Parquet manifests). */
#include "test_alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "stages/manifest.h"

static const char csv_manifest[] =
	"{\n"
	"    \"sourceBucket\": \"example-source-bucket\",\n"
	"    \"destinationBucket\": \"arn:aws:s3:::example-inventory-destination-bucket\",\n"
	"    \"version\": \"2016-11-30\",\n"
	"    \"creationTimestamp\" : \"1514944800000\",\n"
	"    \"fileFormat\": \"CSV\",\n"
	"    \"fileSchema\": \"Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ObjectLockRetainUntilDate, ObjectLockMode, ObjectLockLegalHoldStatus, IntelligentTieringAccessTier, BucketKeyStatus, ChecksumAlgorithm, ObjectAccessControlList, ObjectOwner\",\n"
	"    \"files\": [\n"
	"        {\n"
	"            \"key\": \"Inventory/example-source-bucket/2016-11-06T21-32Z/files/939c6d46-85a9-4ba8-87bd-9db705a579ce.csv.gz\",\n"
	"            \"size\": 2147483647,\n"
	"            \"MD5checksum\": \"F11166069F1990ABEB9C97ACE9CDFABC\"\n"
	"        },\n"
	"        {\"key\": \"Inventory/example-source-bucket/data/2.csv.gz\", \"size\": 10, \"MD5checksum\": \"d41d8cd98f00b204e9800998ecf8427e\"}\n"
	"    ]\n"
	"}\n";

static const char orc_schema[] =
	"struct<bucket:string,key:string,version_id:string,is_latest:boolean,is_delete_marker:boolean,"
	"size:bigint,last_modified_date:timestamp,e_tag:string,storage_class:string,"
	"is_multipart_uploaded:boolean,replication_status:string,encryption_status:string,"
	"object_lock_retain_until_date:timestamp,object_lock_mode:string,"
	"object_lock_legal_hold_status:string,intelligent_tiering_access_tier:string,"
	"bucket_key_status:string,checksum_algorithm:string,object_access_control_list:string,"
	"object_owner:string,lifecycle_expiration_date:timestamp>";

static const char parquet_schema[] =
	"message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); "
	"optional binary version_id (UTF8); optional boolean is_latest; optional boolean "
	"is_delete_marker; optional int64 size; optional int64 last_modified_date "
	"(TIMESTAMP_MILLIS); optional binary e_tag (UTF8); optional binary storage_class (UTF8); "
	"optional boolean is_multipart_uploaded; optional binary replication_status (UTF8); "
	"optional binary encryption_status (UTF8); optional int64 object_lock_retain_until_date "
	"(TIMESTAMP_MILLIS); optional binary object_lock_mode (UTF8); optional binary "
	"object_lock_legal_hold_status (UTF8); optional binary intelligent_tiering_access_tier "
	"(UTF8); optional binary bucket_key_status (UTF8); optional binary checksum_algorithm "
	"(UTF8); optional binary object_access_control_list (UTF8); optional binary object_owner "
	"(UTF8); optional binary lifecycle_expiration_date (UTF8);}";

static void parse_ok(const char *json, s3i_manifest *m)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_manifest_parse(m, json, strlen(json), "manifest 'x/manifest.json'",
		s3i_test_alloc(), &e);
	if (rc)
		fail_msg("parse failed (%d): %s", rc, e.message);
}

static void parse_bad(const char *json, int want, const char *part)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_manifest m;
	int rc = s3i_manifest_parse(&m, json, strlen(json), "manifest 'x/manifest.json'",
		s3i_test_alloc(), &e);
	assert_int_equal(rc, want);
	assert_int_equal(m.n_files, 0);
	assert_null(m.files);
	assert_int_equal(m.schema.n, 0);
	assert_null(strchr(e.message, '\n'));
	assert_non_null(strstr(e.message, "manifest 'x/manifest.json'"));
	if (!strstr(e.message, part))
		fail_msg("'%s' lacks '%s'", e.message, part);
	s3i_manifest_dispose(&m);
}

static void t_csv_manifest(void **state)
{
	(void)state;
	s3i_manifest m;
	parse_ok(csv_manifest, &m);
	assert_string_equal(m.source_bucket, "example-source-bucket");
	assert_string_equal(m.destination_bucket, "arn:aws:s3:::example-inventory-destination-bucket");
	assert_string_equal(m.version, "2016-11-30");
	assert_string_equal(m.creation_timestamp, "1514944800000");
	assert_int_equal(m.creation_ms, INT64_C(1514944800000));
	assert_int_equal(m.format, S3I_FORMAT_CSV);
	assert_int_equal(m.schema.n, 20);
	assert_int_equal(m.schema.ids[0], S3I_COL_BUCKET);
	assert_int_equal(m.schema.ids[7], S3I_COL_ETAG);
	assert_string_equal(m.schema.names[19], "ObjectOwner");
	assert_int_equal(m.n_files, 2);
	assert_string_equal(m.files[0].key,
		"Inventory/example-source-bucket/2016-11-06T21-32Z/files/939c6d46-85a9-4ba8-87bd-9db705a579ce.csv.gz");
	assert_int_equal(m.files[0].size, 2147483647);
	assert_string_equal(m.files[0].md5, "f11166069f1990abeb9c97ace9cdfabc");
	assert_int_equal(m.total_size, INT64_C(2147483657));
	s3i_manifest_dispose(&m);
	s3i_manifest_dispose(&m);
}

static void t_other_formats(void **state)
{
	(void)state;
	char json[4096];
	snprintf(json, sizeof(json), "{\"sourceBucket\":\"src\",\"fileFormat\":\"ORC\",\"fileSchema\":"
		"\"%s\",\"files\":[{\"key\":\"inventory/src/data/d794c570-95bb-4271-9128-26023c8b4900.orc\","
		"\"size\":56291,\"MD5checksum\":\"5925f4e78e1695c2d020b9f6eexample\"}]}", orc_schema);
	s3i_manifest m;
	/* AWS's sample MD5s are placeholders ending in "example": not an MD5 */
	parse_bad(json, S3I_EPARSE, "files[0].MD5checksum is not 32 hex digits");
	snprintf(json, sizeof(json), "{\"sourceBucket\":\"src\",\"fileFormat\":\"ORC\",\"fileSchema\":"
		"\"%s\",\"files\":[{\"key\":\"inventory/src/data/1.orc\",\"size\":56291,"
		"\"MD5checksum\":\"5925f4e78e1695c2d020b9f6e0123456\"}],\"creationTimestamp\":1514944800000}",
		orc_schema);
	parse_ok(json, &m);
	assert_int_equal(m.format, S3I_FORMAT_ORC);
	assert_int_equal(m.schema.n, 21);
	assert_string_equal(m.schema.names[6], "last_modified_date");
	assert_int_equal(m.schema.ids[6], S3I_COL_LAST_MODIFIED_DATE);
	assert_int_equal(m.creation_ms, INT64_C(1514944800000));
	assert_string_equal(m.destination_bucket, "");
	assert_string_equal(m.version, "");
	s3i_inv_schema canon;
	assert_int_equal(s3i_inv_schema_canonical(&canon, 1, s3i_test_alloc()), S3I_OK);
	assert_true(s3i_inv_schema_equal(&m.schema, &canon));   /* spellings differ, columns not */
	s3i_inv_schema_dispose(&canon);
	s3i_manifest_dispose(&m);

	snprintf(json, sizeof(json), "{\"sourceBucket\":\"src\",\"fileFormat\":\"Parquet\",\"fileSchema\":"
		"\"%s\",\"files\":[]}", parquet_schema);
	parse_ok(json, &m);
	assert_int_equal(m.format, S3I_FORMAT_PARQUET);
	assert_int_equal(m.schema.n, 21);
	assert_string_equal(m.schema.names[0], "bucket");
	assert_string_equal(m.schema.names[6], "last_modified_date");
	assert_string_equal(m.schema.names[20], "lifecycle_expiration_date");
	assert_int_equal(m.n_files, 0);
	s3i_manifest_dispose(&m);
}

static void t_schema_parse(void **state)
{
	(void)state;
	s3i_inv_schema s;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	const char *csv = "Bucket,Key ,  Size,LastModifiedDate,ObjectLockEventHoldStatus";
	assert_int_equal(s3i_inv_schema_parse(&s, S3I_FORMAT_CSV, csv, strlen(csv), s3i_test_alloc(), &e),
		S3I_OK);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.names[1], "Key");
	assert_int_equal(s.ids[2], S3I_COL_SIZE);
	assert_int_equal(s.ids[4], S3I_COL_UNKNOWN);     /* a field this library does not know */
	assert_int_equal(s3i_inv_schema_find(&s, S3I_COL_SIZE), 2);
	assert_int_equal(s3i_inv_schema_find(&s, S3I_COL_ETAG), -1);
	assert_int_equal(s3i_inv_schema_find(&s, S3I_COL_UNKNOWN), -1);
	s3i_buf b = S3I_BUF_INIT;
	b.alloc = s3i_test_alloc();
	assert_int_equal(s3i_inv_schema_format(&b, &s), S3I_OK);
	assert_string_equal(b.ptr, "Bucket, Key, Size, LastModifiedDate, ObjectLockEventHoldStatus");
	s3i_buf_dispose(&b);
	s3i_inv_schema_dispose(&s);

	struct { s3i_report_format f; const char *text; const char *part; } bad[] = {
		{ S3I_FORMAT_CSV, "", "fileSchema is empty" },
		{ S3I_FORMAT_CSV, "Bucket, , Key", "an empty column name (column 2)" },
		{ S3I_FORMAT_CSV, "Bucket, Key, key", "names the column 'key' twice (columns 2 and 3)" },
		{ S3I_FORMAT_CSV, "Bucket, Key, Is_Latest, IsLatest", "twice" },
		{ S3I_FORMAT_CSV, "Bucket, Foo, foo", "twice" },
		{ S3I_FORMAT_CSV, "Bucket,\x01Key", "control character" },
		{ S3I_FORMAT_ORC, "bucket:string,key:string", "ORC fileSchema is not struct<...>" },
		{ S3I_FORMAT_ORC, "struct<bucket:string,key>", "column 2 has no type" },
		{ S3I_FORMAT_ORC, "struct<>", "column 1 has no type" },
		{ S3I_FORMAT_PARQUET, "message s3.inventory { }", "no columns" },
		{ S3I_FORMAT_PARQUET, "message s3.inventory { required binary key (UTF8);",
			"is not message <name> { ... }" },
		{ S3I_FORMAT_PARQUET, "message m { optional group g { optional int32 x; } }", "nested group" },
		{ S3I_FORMAT_PARQUET, "message m { key; }", "column 1 has no type" },
		{ (s3i_report_format)9, "Bucket", "unknown format" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s3i_errinfo_init(&e);
		int rc = s3i_inv_schema_parse(&s, bad[i].f, bad[i].text, strlen(bad[i].text),
			s3i_test_alloc(), &e);
		if (rc == S3I_OK)
			fail_msg("case %zu parsed", i);
		assert_int_equal(s.n, 0);
		if (!strstr(e.message, bad[i].part))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.message, bad[i].part);
		s3i_inv_schema_dispose(&s);
	}
	assert_int_equal(s3i_inv_schema_parse(&s, S3I_FORMAT_CSV, NULL, 0, NULL, &e), S3I_EPARSE);
	assert_int_equal(s3i_inv_schema_parse(NULL, S3I_FORMAT_CSV, "a", 1, NULL, &e), S3I_EINVALID);
	/* a comma-bomb is refused before it allocates */
	char many[3000];
	memset(many, ',', sizeof(many) - 1);
	many[sizeof(many) - 1] = '\0';
	assert_int_equal(s3i_inv_schema_parse(&s, S3I_FORMAT_CSV, many, strlen(many), NULL, &e),
		S3I_EPARSE);
}

static void t_utf8(void **state)
{
	(void)state;
	struct { const char *s; size_t n; int ok; } cases[] = {
		{ "plain", 5, 1 }, { "", 0, 1 }, { "caf\xc3\xa9", 5, 1 }, { "\xe2\x9c\x93", 3, 1 },
		{ "\xf0\x9f\x98\x80", 4, 1 }, { "\xf4\x8f\xbf\xbf", 4, 1 }, { "a\0b", 3, 1 },
		{ "\xc0\xaf", 2, 0 },             /* overlong '/' */
		{ "\xe0\x80\xaf", 3, 0 },         /* overlong */
		{ "\xed\xa0\x80", 3, 0 },         /* a surrogate */
		{ "\xf4\x90\x80\x80", 4, 0 },     /* above U+10FFFF */
		{ "\xff", 1, 0 }, { "\x80", 1, 0 },
		{ "\xc3", 1, 0 },                 /* cut short */
		{ "\xe2\x9c", 2, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (s3i_utf8_valid(cases[i].s, cases[i].n) != cases[i].ok)
			fail_msg("case %zu", i);
}

static void t_columns(void **state)
{
	(void)state;
	assert_string_equal(s3i_inv_column_field(S3I_COL_ETAG), "ETag");
	assert_string_equal(s3i_inv_column_snake(S3I_COL_ETAG), "e_tag");
	assert_null(s3i_inv_column_field(S3I_COL_COUNT));
	assert_null(s3i_inv_column_snake(-1));
	assert_int_equal(s3i_inv_column_lookup("e_tag", 5), S3I_COL_ETAG);
	assert_int_equal(s3i_inv_column_lookup("ETAG", 4), S3I_COL_ETAG);
	assert_int_equal(s3i_inv_column_lookup("IsMultipartUploaded", 19), S3I_COL_IS_MULTIPART_UPLOADED);
	assert_int_equal(s3i_inv_column_lookup("nothing", 7), S3I_COL_UNKNOWN);
	assert_int_equal(s3i_inv_column_lookup(NULL, 0), S3I_COL_UNKNOWN);
	char longname[100];
	memset(longname, 'a', sizeof(longname));
	assert_int_equal(s3i_inv_column_lookup(longname, sizeof(longname)), S3I_COL_UNKNOWN);
	/* the column list agrees with the DDL's canonical order */
	const char *const *fields;
	size_t n = s3i_ddl_canonical_columns(1, &fields);
	assert_int_equal(n, S3I_COL_COUNT);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(fields[i], s3i_inv_column_field((int)i));
		assert_string_equal(s3i_ddl_column_name(fields[i]), s3i_inv_column_snake((int)i));
	}
	s3i_inv_schema cur;
	assert_int_equal(s3i_inv_schema_canonical(&cur, 0, s3i_test_alloc()), S3I_OK);
	assert_int_equal(cur.n, S3I_COL_COUNT - 3);
	assert_int_equal(s3i_inv_schema_find(&cur, S3I_COL_VERSION_ID), -1);
	s3i_inv_schema_dispose(&cur);
	int bad_ids[] = { S3I_COL_BUCKET, S3I_COL_BUCKET };
	assert_int_equal(s3i_inv_schema_from_ids(&cur, bad_ids, 2, s3i_test_alloc()), S3I_EINVALID);
	int bad_id[] = { 99 };
	assert_int_equal(s3i_inv_schema_from_ids(&cur, bad_id, 1, s3i_test_alloc()), S3I_EINVALID);
}

static void t_schema_map(void **state)
{
	(void)state;
	s3i_inv_schema from, to;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	/* an older configuration: fewer fields, another order, one unknown field */
	const char *f = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, ETag, LastModifiedDate, "
		"StorageClass, ObjectLockEventHoldStatus";
	assert_int_equal(s3i_inv_schema_parse(&from, S3I_FORMAT_CSV, f, strlen(f), s3i_test_alloc(), &e),
		S3I_OK);
	assert_int_equal(s3i_inv_schema_canonical(&to, 1, s3i_test_alloc()), S3I_OK);
	assert_false(s3i_inv_schema_equal(&from, &to));
	int32_t map[S3I_COL_COUNT];
	size_t dropped = 99;
	assert_int_equal(s3i_inv_schema_map(&from, &to, map, &dropped, &e), S3I_OK);
	assert_int_equal(dropped, 1);
	assert_int_equal(map[S3I_COL_BUCKET], 0);
	assert_int_equal(map[S3I_COL_KEY], 1);
	assert_int_equal(map[S3I_COL_SIZE], 5);
	assert_int_equal(map[S3I_COL_LAST_MODIFIED_DATE], 7);
	assert_int_equal(map[S3I_COL_ETAG], 6);
	assert_int_equal(map[S3I_COL_STORAGE_CLASS], 8);
	assert_int_equal(map[S3I_COL_REPLICATION_STATUS], -1);
	assert_int_equal(map[S3I_COL_LIFECYCLE_EXPIRATION_DATE], -1);
	/* the identity map of a schema onto itself */
	assert_int_equal(s3i_inv_schema_map(&to, &to, map, &dropped, &e), S3I_OK);
	assert_int_equal(dropped, 0);
	for (int i = 0; i < S3I_COL_COUNT; i++)
		assert_int_equal(map[i], i);
	s3i_inv_schema_dispose(&from);
	/* no Key column: nothing can be placed */
	assert_int_equal(s3i_inv_schema_parse(&from, S3I_FORMAT_CSV, "Bucket, Size", 12, s3i_test_alloc(),
		&e), S3I_OK);
	assert_int_equal(s3i_inv_schema_map(&from, &to, map, NULL, &e), S3I_EINVALID);
	assert_non_null(strstr(e.message, "has no Key column"));
	assert_string_equal(e.resource, "Key");
	s3i_inv_schema_dispose(&from);
	s3i_inv_schema_dispose(&to);
}

static void t_malformed(void **state)
{
	(void)state;
	parse_bad("not json", S3I_EPARSE, "is not valid JSON");
	parse_bad("[]", S3I_EPARSE, "it is not a JSON object");
	parse_bad("{}", S3I_EPARSE, "sourceBucket is missing");
	parse_bad("{\"sourceBucket\":\"\"}", S3I_EPARSE, "sourceBucket is not a non-empty string");
	parse_bad("{\"sourceBucket\":\"s\",\"destinationBucket\":5}", S3I_EPARSE,
		"destinationBucket is not a string");
	parse_bad("{\"sourceBucket\":\"s\",\"creationTimestamp\":\"yesterday\"}", S3I_EPARSE,
		"creationTimestamp is not a number of milliseconds");
	parse_bad("{\"sourceBucket\":\"s\",\"creationTimestamp\":\"-5\"}", S3I_EPARSE, "creationTimestamp");
	parse_bad("{\"sourceBucket\":\"s\"}", S3I_EPARSE, "fileFormat is missing");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"JSON\"}", S3I_EPARSE,
		"fileFormat \"JSON\" is not CSV, ORC or Parquet");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\"}", S3I_EPARSE, "fileSchema is missing");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key, Key\"}",
		S3I_EPARSE, "manifest 'x/manifest.json': fileSchema names the column 'Key' twice");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key\"}",
		S3I_EPARSE, "files is missing");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key\","
		"\"files\":{}}", S3I_EPARSE, "files is not an array");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key\","
		"\"files\":[1]}", S3I_EPARSE, "files[0] is not an object");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key\","
		"\"files\":[{\"size\":1}]}", S3I_EPARSE, "files[0].key is missing");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key\","
		"\"files\":[{\"key\":\"k\"}]}", S3I_EPARSE, "files[0].size is missing");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key\","
		"\"files\":[{\"key\":\"k\",\"size\":-3}]}", S3I_EPARSE, "files[0].size is not a number of bytes");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key\","
		"\"files\":[{\"key\":\"k\",\"size\":3}]}", S3I_EPARSE, "files[0].MD5checksum is missing");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key\","
		"\"files\":[{\"key\":\"k\",\"size\":3,\"MD5checksum\":\"d41d8cd98f00b204e9800998ecf8427e\"},"
		"{\"key\":\"k2\",\"size\":3,\"MD5checksum\":\"d41d8cd98f00b204e9800998ecf8427e\"},"
		"{\"key\":\"k\",\"size\":4,\"MD5checksum\":\"d41d8cd98f00b204e9800998ecf8427e\"}]}",
		S3I_EPARSE, "files[2].key repeats files[0].key");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key\","
		"\"files\":[{\"key\":\"a\",\"size\":9223372036854775807,\"MD5checksum\":\"d41d8cd98f00b204e9800998ecf8427e\"},"
		"{\"key\":\"b\",\"size\":1,\"MD5checksum\":\"d41d8cd98f00b204e9800998ecf8427e\"}]}",
		S3I_EPARSE, "add up to more than 2^63 bytes");
	parse_bad("{\"sourceBucket\":\"s\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key\","
		"\"files\":[{\"key\":\"k\xc0\xaf\",\"size\":1,\"MD5checksum\":\"d41d8cd98f00b204e9800998ecf8427e\"}]}",
		S3I_EPARSE, "files[0].key is not valid UTF-8");
	parse_bad("{\"sourceBucket\":\"s\xed\xa0\x80\"}", S3I_EPARSE, "sourceBucket is not valid UTF-8");
	s3i_manifest m;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_manifest_parse(NULL, "{}", 2, NULL, NULL, &e), S3I_EINVALID);
	assert_int_equal(s3i_manifest_parse(&m, NULL, 0, NULL, NULL, &e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "manifest.json: no text given"));
}

static void t_checksum(void **state)
{
	(void)state;
	const char *doc = "{\"sourceBucket\":\"s\"}";
	char md5[33];
	assert_int_equal(s3i_md5_hex(doc, strlen(doc), md5), S3I_OK);
	assert_int_equal(s3i_manifest_checksum_text(doc, strlen(doc), md5), S3I_OK);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_manifest_checksum_verify(doc, strlen(doc), md5, 32, "m", &e), S3I_OK);
	/* upper case, surrounded by white space and a newline */
	char upper[64];
	snprintf(upper, sizeof(upper), "  %s\r\n", md5);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	assert_int_equal(s3i_manifest_checksum_verify(doc, strlen(doc), upper, strlen(upper), "m", &e),
		S3I_OK);
	/* a different manifest */
	assert_int_equal(s3i_manifest_checksum_verify("{}", 2, md5, 32, "manifest 'k' in bucket 'b'", &e),
		S3I_ECHECKSUM);
	assert_non_null(strstr(e.message, "manifest 'k' in bucket 'b' does not match its manifest.checksum: MD5 "
		"99914b932bd37a50b983c5e7c90ae93b, checksum "));
	assert_string_equal(e.resource, "manifest 'k' in bucket 'b'");
	/* not an MD5 */
	assert_int_equal(s3i_manifest_checksum_verify(doc, strlen(doc), "hello", 5, "m", &e), S3I_EPARSE);
	assert_non_null(strstr(e.message, "does not hold an MD5"));
	assert_int_equal(s3i_manifest_checksum_verify(doc, strlen(doc), md5, 31, "m", &e), S3I_EPARSE);
	assert_int_equal(s3i_manifest_checksum_verify(doc, strlen(doc), "", 0, NULL, &e), S3I_EPARSE);
	assert_int_equal(s3i_manifest_checksum_verify(NULL, 0, md5, 32, NULL, &e), S3I_EINVALID);
	assert_int_equal(s3i_manifest_checksum_text(NULL, 0, md5), S3I_EINVALID);
}

static void t_writer(void **state)
{
	(void)state;
	s3i_inv_schema schema;
	int ids[] = { S3I_COL_BUCKET, S3I_COL_KEY, S3I_COL_VERSION_ID, S3I_COL_IS_LATEST,
		S3I_COL_IS_DELETE_MARKER, S3I_COL_SIZE, S3I_COL_LAST_MODIFIED_DATE, S3I_COL_ETAG,
		S3I_COL_STORAGE_CLASS };
	assert_int_equal(s3i_inv_schema_from_ids(&schema, ids, 9, s3i_test_alloc()), S3I_OK);
	s3i_manifest_file files[2] = {
		{ "123456789012/us-east-1/src/dep1-r1-s3-inventory/data/a.csv.gz", 1234, "0123456789abcdef0123456789ABCDEF" },
		{ "123456789012/us-east-1/src/dep1-r1-s3-inventory/data/b.csv.gz", 0, "d41d8cd98f00b204e9800998ecf8427e" },
	};
	s3i_manifest_spec spec = { "src", "dep1-r1-dest-123456789012-us-east-1", INT64_C(1514944800000),
		&schema, files, 2 };
	s3i_buf b = S3I_BUF_INIT;
	b.alloc = s3i_test_alloc();
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_manifest_write(&b, &spec, &e), S3I_OK);
	assert_string_equal(b.ptr,
		"{\"sourceBucket\":\"src\",\"destinationBucket\":\"arn:aws:s3:::dep1-r1-dest-123456789012-us-east-1\","
		"\"version\":\"2016-11-30\",\"creationTimestamp\":\"1514944800000\",\"fileFormat\":\"CSV\","
		"\"fileSchema\":\"Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass\","
		"\"files\":[{\"key\":\"123456789012/us-east-1/src/dep1-r1-s3-inventory/data/a.csv.gz\",\"size\":1234,"
		"\"MD5checksum\":\"0123456789abcdef0123456789abcdef\"},"
		"{\"key\":\"123456789012/us-east-1/src/dep1-r1-s3-inventory/data/b.csv.gz\",\"size\":0,"
		"\"MD5checksum\":\"d41d8cd98f00b204e9800998ecf8427e\"}]}");
	/* what the writer writes, the reader reads, and its checksum verifies */
	s3i_manifest m;
	parse_ok(b.ptr, &m);
	assert_true(s3i_inv_schema_equal(&m.schema, &schema));
	assert_int_equal(m.n_files, 2);
	assert_string_equal(m.files[0].md5, "0123456789abcdef0123456789abcdef");
	assert_int_equal(m.creation_ms, INT64_C(1514944800000));
	s3i_manifest_dispose(&m);
	char sum[33];
	assert_int_equal(s3i_manifest_checksum_text(b.ptr, b.size, sum), S3I_OK);
	assert_int_equal(strlen(sum), 32);
	assert_int_equal(s3i_manifest_checksum_verify(b.ptr, b.size, sum, 32, "m", &e), S3I_OK);

	/* an ARN destination is written as given; no files is an empty list */
	s3i_buf_clear(&b);
	s3i_manifest_spec spec2 = { "src", "arn:aws:s3:::dest", 0, &schema, NULL, 0 };
	assert_int_equal(s3i_manifest_write(&b, &spec2, &e), S3I_OK);
	assert_non_null(strstr(b.ptr, "\"destinationBucket\":\"arn:aws:s3:::dest\""));
	assert_non_null(strstr(b.ptr, "\"creationTimestamp\":\"0\""));
	assert_non_null(strstr(b.ptr, "\"files\":[]}"));

	/* refusals leave the buffer as it was */
	s3i_buf_clear(&b);
	s3i_buf_puts(&b, "kept");
	s3i_manifest_spec bad = spec;
	bad.source_bucket = "";
	assert_int_equal(s3i_manifest_write(&b, &bad, &e), S3I_EINVALID);
	bad = spec;
	bad.destination_bucket = NULL;
	assert_int_equal(s3i_manifest_write(&b, &bad, &e), S3I_EINVALID);
	bad = spec;
	bad.schema = NULL;
	assert_int_equal(s3i_manifest_write(&b, &bad, &e), S3I_EINVALID);
	s3i_manifest_file badfile = { "k", 1, "xyz" };
	bad = spec;
	bad.files = &badfile;
	bad.n_files = 1;
	assert_int_equal(s3i_manifest_write(&b, &bad, &e), S3I_EINVALID);
	assert_non_null(strstr(e.message, "files[0] needs a key, a size and an MD5"));
	bad.files = NULL;
	assert_int_equal(s3i_manifest_write(&b, &bad, &e), S3I_EINVALID);
	bad = spec;
	bad.source_bucket = "bad\xff";
	assert_int_equal(s3i_manifest_write(&b, &bad, &e), S3I_EINVALID);
	assert_string_equal(b.ptr, "kept");
	s3i_buf_dispose(&b);
	s3i_inv_schema_dispose(&schema);
}

static void t_delivery_keys(void **state)
{
	(void)state;
	char ts[18], dt[17];
	s3i_inventory_timestamp(ts, INT64_C(1478467920000));      /* 2016-11-06T21:32:00Z */
	assert_string_equal(ts, "2016-11-06T21-32Z");
	s3i_inventory_hive_dt(dt, INT64_C(1478467920000));
	assert_string_equal(dt, "2016-11-06-21-32");
	s3i_buf b = S3I_BUF_INIT;
	b.alloc = s3i_test_alloc();
	assert_int_equal(s3i_inventory_manifest_key(&b, "123456789012/us-east-1", "src", "cfg",
		INT64_C(1478467920000), "manifest.json"), S3I_OK);
	assert_string_equal(b.ptr, "123456789012/us-east-1/src/cfg/2016-11-06T21-32Z/manifest.json");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_inventory_manifest_key(&b, "", "src", "cfg", 0, "manifest.checksum"), S3I_OK);
	assert_string_equal(b.ptr, "src/cfg/1970-01-01T00-00Z/manifest.checksum");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_inventory_data_key(&b, "p/", "src", "cfg", "x.csv.gz"), S3I_OK);
	assert_string_equal(b.ptr, "p/src/cfg/data/x.csv.gz");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_inventory_symlink_key(&b, NULL, "src", "cfg", INT64_C(1478467920000)), S3I_OK);
	assert_string_equal(b.ptr, "src/cfg/hive/dt=2016-11-06-21-32/symlink.txt");
	s3i_buf_clear(&b);
	assert_int_equal(s3i_inventory_data_key(&b, "p", "", "cfg", "x"), S3I_EINVALID);
	assert_int_equal(s3i_inventory_data_key(&b, "p", "src", "cfg", ""), S3I_EINVALID);
	assert_int_equal(s3i_inventory_manifest_key(&b, "p", "src", NULL, 0, "m"), S3I_EINVALID);
	assert_int_equal(b.size, 0);
	s3i_buf_dispose(&b);
}

static void t_oom(void **state)
{
	(void)state;
	int done = 0;
	for (long n = 0; n < 1000 && !done; n++) {
		s3i_manifest m;
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		s3i_test_alloc_fail_after(n);
		int rc = s3i_manifest_parse(&m, csv_manifest, strlen(csv_manifest), NULL, s3i_test_alloc(), &e);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK) {
			s3i_buf b = S3I_BUF_INIT;
			b.alloc = s3i_test_alloc();
			s3i_manifest_spec spec = { m.source_bucket, m.destination_bucket, m.creation_ms,
				&m.schema, m.files, m.n_files };
			for (long k = 0; k < 100; k++) {
				s3i_test_alloc_fail_after(k);
				int wrc = s3i_manifest_write(&b, &spec, &e);
				s3i_test_alloc_fail_after(-1);
				if (wrc == S3I_OK)
					break;
				assert_int_equal(wrc, S3I_ENOMEM);
				assert_int_equal(b.size, 0);
			}
			s3i_buf_dispose(&b);
			s3i_manifest_dispose(&m);
			done = 1;
		} else {
			assert_int_equal(rc, S3I_ENOMEM);
		}
		assert_int_equal(s3i_test_alloc_outstanding(), 0);
	}
	assert_true(done);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_csv_manifest),
		S3I_TEST(t_other_formats),
		S3I_TEST(t_schema_parse),
		S3I_TEST(t_utf8),
		S3I_TEST(t_columns),
		S3I_TEST(t_schema_map),
		S3I_TEST(t_malformed),
		S3I_TEST(t_checksum),
		S3I_TEST(t_writer),
		S3I_TEST(t_delivery_keys),
		S3I_TEST(t_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
