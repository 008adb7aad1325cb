/*
 * S3 response parsers (src/services/s3.c): ListObjectsV2, ListObjectVersions, DeleteObjects,
 * InitiateMultipartUpload, CompleteMultipartUpload (also the 200-with-<Error> answer AWS
 * documents), CopyObjectResult and CopyPartResult; strictness, callbacks that stop, out of
 * memory. Plus the DeleteObjects request as it goes on the wire (Content-MD5, batches of 1000,
 * Quiet), which moto does not check but AWS insists on.
 *
 * URL-decoding: with encoding-type=url S3 encodes keys form-style: a space is '+', a '+' is
 * %2B, '%' is %25, UTF-8 bytes are %XX, '/' stays (measured on AWS; botocore decodes with
 * unquote_plus). moto encodes with Python's quote(): a space is %20, '+' is %2B. Decoding with
 * '+' as a space reads both right. moto's ListObjectVersions ignores encoding-type and sends
 * keys raw without <EncodingType>, which is why decoding depends on that element.
 */
#include "test_alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "core/str.h"
#include "loopback.h"
#include "s3insights/s3insights.h"
#include "services/s3.h"

/* ------------------------------------------------------------------ collecting */

typedef struct seen {
	char keys[16][200];
	char etags[16][64];
	char classes[16][32];
	char owners[16][80];
	char versions[16][80];
	int64_t sizes[16], modified[16];
	int latest[16], markers[16];
	int n;
	char prefixes[8][200];
	int np;
	int stop_at;        /* 0: never */
} seen;

static int on_object(void *p, const s3i_s3_object_info *o)
{
	seen *s = p;
	assert_true(o->struct_size >= sizeof(*o));
	assert_true(s->n < 16);
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", o->key);
	snprintf(s->etags[s->n], sizeof(s->etags[0]), "%s", o->etag);
	snprintf(s->classes[s->n], sizeof(s->classes[0]), "%s", o->storage_class);
	snprintf(s->owners[s->n], sizeof(s->owners[0]), "%s|%s", o->owner_id, o->owner_name);
	s->sizes[s->n] = o->size;
	s->modified[s->n] = o->last_modified_ms;
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static int on_version(void *p, const s3i_s3_version_info *v)
{
	seen *s = p;
	assert_true(v->struct_size >= sizeof(*v));
	assert_true(s->n < 16);
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", v->key);
	snprintf(s->etags[s->n], sizeof(s->etags[0]), "%s", v->etag);
	snprintf(s->classes[s->n], sizeof(s->classes[0]), "%s", v->storage_class);
	snprintf(s->owners[s->n], sizeof(s->owners[0]), "%s|%s", v->owner_id, v->owner_name);
	snprintf(s->versions[s->n], sizeof(s->versions[0]), "%s", v->version_id);
	s->sizes[s->n] = v->size;
	s->modified[s->n] = v->last_modified_ms;
	s->latest[s->n] = v->is_latest;
	s->markers[s->n] = v->is_delete_marker;
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static int on_prefix(void *p, const char *prefix)
{
	seen *s = p;
	assert_true(s->np < 8);
	snprintf(s->prefixes[s->np++], sizeof(s->prefixes[0]), "%s", prefix);
	return 0;
}

static int parse_v2(const char *xml, seen *s, s3i_s3_list_page *page, s3i_errinfo *e)
{
	memset(s, 0, sizeof(*s));
	s3i_errinfo_init(e);
	return s3i_s3_parse_list_objects(s3i_test_alloc(), xml, strlen(xml), "ListObjectsV2 on "
		"bucket 'b'", on_object, on_prefix, s, page, e);
}

static int parse_versions(const char *xml, seen *s, s3i_s3_list_page *page, s3i_errinfo *e)
{
	memset(s, 0, sizeof(*s));
	s3i_errinfo_init(e);
	return s3i_s3_parse_list_versions(s3i_test_alloc(), xml, strlen(xml), "ListObjectVersions "
		"on bucket 'b'", on_version, on_prefix, s, page, e);
}

static void expect_parse_error(int rc, const s3i_errinfo *e, const char *mention)
{
	if (rc != S3I_EPARSE || !strstr(e->message, mention))
		fail_msg("expected S3I_EPARSE mentioning '%s', got %d: %s", mention, rc, e->message);
	assert_int_equal(e->pub.code, S3I_EPARSE);
	assert_null(strchr(e->message, '\n'));
}

static int64_t t_ms(const char *iso)
{
	int64_t ms = 0;
	assert_int_equal(s3i_time_parse_iso8601(iso, &ms), 0);
	return ms;
}

/* ------------------------------------------------------------------ ListObjectsV2 */

/* AWS's element order (EncodingType before the entries), keys as AWS encodes them. */
static const char v2_aws[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	"<Name>bucket</Name><Prefix></Prefix><KeyCount>6</KeyCount><MaxKeys>6</MaxKeys>"
	"<Delimiter>%2F</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
	"<Contents><Key>a+b.txt</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
	"<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
	"<StorageClass>STANDARD</StorageClass></Contents>"
	"<Contents><Key>a%2Bb.txt</Key><LastModified>2009-10-12T17:50:31Z</LastModified>"
	"<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag><Size>0</Size>"
	"<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
	"<DisplayName>mtd@amazon.com</DisplayName></Owner>"
	"<StorageClass>GLACIER</StorageClass></Contents>"
	"<Contents><Key>100%25.csv</Key><LastModified>2024-02-29T23:59:59.999Z</LastModified>"
	"<ETag>\"e\"</ETag><Size>9223372036854775807</Size><StorageClass>STANDARD_IA</StorageClass>"
	"</Contents>"
	"<Contents><Key>%ED%95%9C%EA%B8%80/x.txt</Key><LastModified>2024-01-01T00:00:00.000Z"
	"</LastModified><ETag>\"f\"</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass>"
	"</Contents>"
	"<Contents><Key>tilde~star*eq%3Damp%26</Key><LastModified>2024-01-01T00:00:00.000Z"
	"</LastModified><ETag>\"g\"</ETag><Size>2</Size><StorageClass>STANDARD</StorageClass>"
	"</Contents>"
	"<CommonPrefixes><Prefix>run+books/</Prefix></CommonPrefixes>"
	"<CommonPrefixes><Prefix>%ED%95%9C%EA%B8%80/</Prefix></CommonPrefixes>"
	"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
	"</ListBucketResult>";

static void t_v2_aws_form_encoding(void **state)
{
	(void)state;
	seen s;
	s3i_errinfo e;
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, s3i_test_alloc());
	int rc = parse_v2(v2_aws, &s, &page, &e);
	if (rc)
		fail_msg("%s", e.message);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.keys[0], "a b.txt");          /* '+' is a space */
	assert_string_equal(s.keys[1], "a+b.txt");          /* %2B is a plus */
	assert_string_equal(s.keys[2], "100%.csv");
	assert_string_equal(s.keys[3], "\xed\x95\x9c\xea\xb8\x80/x.txt");
	assert_string_equal(s.keys[4], "tilde~star*eq=amp&");
	assert_string_equal(s.etags[0], "fba9dede5f27731c9771645a39863328");
	assert_string_equal(s.etags[1], "3858f62230ac3c915f300c664312c11f-9");
	assert_int_equal(s.sizes[0], 434234);
	assert_int_equal(s.sizes[1], 0);
	assert_true(s.sizes[2] == INT64_MAX);
	assert_string_equal(s.classes[1], "GLACIER");
	assert_string_equal(s.classes[2], "STANDARD_IA");
	assert_true(s.modified[0] == t_ms("2009-10-12T17:50:30Z"));
	assert_true(s.modified[1] == s.modified[0] + 1000);
	assert_true(s.modified[2] == t_ms("2024-03-01T00:00:00Z") - 1);
	assert_string_equal(s.owners[0], "|");
	assert_string_equal(s.owners[1],
		"75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a|mtd@amazon.com");
	assert_int_equal(s.np, 2);
	assert_string_equal(s.prefixes[0], "run books/");
	assert_string_equal(s.prefixes[1], "\xed\x95\x9c\xea\xb8\x80/");
	assert_true(page.truncated);
	assert_true(page.url_encoded);
	/* the token is opaque: not decoded, its '+' and '/' and '=' kept */
	assert_string_equal(s3i_buf_cstr(&page.next_token), "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	assert_int_equal(page.entries, 5);
	assert_int_equal(page.prefixes, 2);
	s3i_s3_list_page_free(&page);
}

/* moto's order (EncodingType after the entries) and its quote() encoding. */
static void t_v2_moto_order_and_encoding(void **state)
{
	(void)state;
	static const char xml[] =
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<IsTruncated>false</IsTruncated>"
		"<Contents><Key>a%20b%2Bc%25d</Key><LastModified>2026-12-04T04:17:15.000Z</LastModified>"
		"<ETag>\"5eb63bbbe01eeed093cb22bb8f5acdc3\"</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"
		"<Size>11</Size><StorageClass>STANDARD</StorageClass></Contents>"
		"<Name>pbk</Name><Prefix/><Delimiter>+</Delimiter><MaxKeys>1000</MaxKeys>"
		"<CommonPrefixes><Prefix>x%20y%2B</Prefix></CommonPrefixes>"
		"<EncodingType>url</EncodingType><KeyCount>2</KeyCount><StartAfter>a </StartAfter>"
		"</ListBucketResult>";
	seen s;
	s3i_errinfo e;
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, s3i_test_alloc());
	assert_int_equal(parse_v2(xml, &s, &page, &e), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.keys[0], "a b+c%d");
	assert_int_equal(s.np, 1);
	assert_string_equal(s.prefixes[0], "x y+");
	assert_false(page.truncated);
	assert_true(page.url_encoded);
	assert_int_equal(page.next_token.size, 0);
	s3i_s3_list_page_free(&page);
}

/* Without <EncodingType>url</EncodingType> keys are taken as they are. */
static void t_v2_not_encoded(void **state)
{
	(void)state;
	static const char xml[] =
		"<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>a+b %41%zz</Key><LastModified>2024-01-01T00:00:00Z</LastModified>"
		"<ETag>unquoted</ETag><Size>3</Size></Contents>"
		"<CommonPrefixes><Prefix>p+q/</Prefix></CommonPrefixes></ListBucketResult>";
	seen s;
	s3i_errinfo e;
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, s3i_test_alloc());
	assert_int_equal(parse_v2(xml, &s, &page, &e), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.keys[0], "a+b %41%zz");
	assert_string_equal(s.etags[0], "unquoted");
	assert_string_equal(s.classes[0], "");
	assert_string_equal(s.prefixes[0], "p+q/");
	assert_false(page.url_encoded);
	/* an invalid escape in an encoded page is kept literally */
	static const char enc[] =
		"<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
		"<Contents><Key>50%%zz%4</Key><LastModified>2024-01-01T00:00:00Z</LastModified>"
		"<Size>3</Size></Contents></ListBucketResult>";
	assert_int_equal(parse_v2(enc, &s, &page, &e), 0);
	assert_string_equal(s.keys[0], "50%%zz%4");
	/* an empty listing */
	assert_int_equal(parse_v2("<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount>"
		"<IsTruncated>false</IsTruncated></ListBucketResult>", &s, &page, &e), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(page.entries, 0);
	s3i_s3_list_page_free(&page);
}

static void t_v2_strictness(void **state)
{
	(void)state;
	seen s;
	s3i_errinfo e;
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, s3i_test_alloc());
#define ENTRY(fields) "<ListBucketResult><IsTruncated>false</IsTruncated><Contents>" fields \
	"</Contents></ListBucketResult>"
	expect_parse_error(parse_v2(ENTRY("<Key>k</Key><Size>-1</Size>"), &s, &page, &e), &e,
		"Size '-1'");
	expect_parse_error(parse_v2(ENTRY("<Key>k</Key><Size>12a</Size>"), &s, &page, &e), &e,
		"not a byte count");
	expect_parse_error(parse_v2(ENTRY("<Key>k</Key><Size>99999999999999999999</Size>"), &s,
		&page, &e), &e, "Size");
	expect_parse_error(parse_v2(ENTRY("<Key>k</Key><LastModified>yesterday</LastModified>"), &s,
		&page, &e), &e, "LastModified 'yesterday'");
	expect_parse_error(parse_v2(ENTRY("<Size>1</Size>"), &s, &page, &e), &e, "has no Key");
	expect_parse_error(parse_v2("<ListBucketResult><EncodingType>url</EncodingType>"
		"<Contents><Key>nul%00byte</Key></Contents></ListBucketResult>", &s, &page, &e), &e,
		"NUL byte");
	expect_parse_error(parse_v2("<ListBucketResult><IsTruncated>yes</IsTruncated>"
		"</ListBucketResult>", &s, &page, &e), &e, "IsTruncated 'yes'");
	expect_parse_error(parse_v2("<ListBucketResult><IsTruncated>true</IsTruncated>"
		"</ListBucketResult>", &s, &page, &e), &e, "without NextContinuationToken");
	expect_parse_error(parse_v2("<ListBucketResult><CommonPrefixes></CommonPrefixes>"
		"</ListBucketResult>", &s, &page, &e), &e, "has no Prefix");
	expect_parse_error(parse_v2("<ListBucketResult><Contents>", &s, &page, &e), &e,
		"ListObjectsV2 on bucket 'b'");
	expect_parse_error(parse_v2("", &s, &page, &e), &e, "ListObjectsV2");
	expect_parse_error(parse_v2("not xml at all", &s, &page, &e), &e, "ListObjectsV2");
	/* entity declarations are refused (no expansion attacks) */
	expect_parse_error(parse_v2("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult>&a;"
		"</ListBucketResult>", &s, &page, &e), &e, "ListObjectsV2");
	/* the entries before a bad one were handed out already: callers see them in order */
	expect_parse_error(parse_v2("<ListBucketResult><Contents><Key>ok</Key></Contents>"
		"<Contents><Key>bad</Key><Size>x</Size></Contents></ListBucketResult>", &s, &page, &e),
		&e, "entry 2");
	assert_int_equal(s.n, 1);
#undef ENTRY
	s3i_s3_list_page_free(&page);
}

static void t_v2_error_document_and_stop(void **state)
{
	(void)state;
	seen s;
	s3i_errinfo e;
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, s3i_test_alloc());
	int rc = parse_v2("  <?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>We "
		"encountered an internal error.</Message><RequestId>RID1</RequestId></Error>", &s,
		&page, &e);
	assert_int_equal(rc, S3I_ESERVICE);
	assert_string_equal(e.aws_code, "InternalError");
	assert_string_equal(e.request_id, "RID1");
	assert_non_null(strstr(e.message, "ListObjectsV2 on bucket 'b'"));
	assert_non_null(strstr(e.message, "internal error"));
	rc = parse_v2("<Error><Code>AccessDenied</Code></Error>", &s, &page, &e);
	assert_int_equal(rc, S3I_EAUTH);

	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	s3i_errinfo_init(&e);
	rc = s3i_s3_parse_list_objects(s3i_test_alloc(), v2_aws, strlen(v2_aws), "listing",
		on_object, on_prefix, &s, &page, &e);
	assert_int_equal(rc, S3I_EUSER);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.np, 0);
	assert_int_equal(e.pub.code, S3I_EUSER);
	/* NULL callbacks: entries are only counted */
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_s3_parse_list_objects(s3i_test_alloc(), v2_aws, strlen(v2_aws), NULL,
		NULL, NULL, NULL, &page, &e), 0);
	assert_int_equal(page.entries, 5);
	assert_int_equal(page.prefixes, 2);
	s3i_s3_list_page_free(&page);
}

/* ------------------------------------------------------------------ ListObjectVersions */

static const char versions_aws[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01\">"
	"<Name>bucket</Name><Prefix>my</Prefix><KeyMarker/><VersionIdMarker/><MaxKeys>5</MaxKeys>"
	"<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
	"<Version><Key>my-image.jpg</Key><VersionId>3/L4kqtJl40Nr8X8gdRQBpUMLUo</VersionId>"
	"<IsLatest>true</IsLatest><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
	"<ETag>\"fba9dede5f27731c9771645a39863328\"</ETag><Size>434234</Size>"
	"<StorageClass>STANDARD</StorageClass><Owner>"
	"<ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
	"<DisplayName>mtd@amazon.com</DisplayName></Owner></Version>"
	"<DeleteMarker><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
	"</ID><DisplayName>mtd@amazon.com</DisplayName></Owner><Key>my+second+image.jpg</Key>"
	"<VersionId>03jpff543dhffds434rfdsFDN943fdsFkdmqnh892</VersionId><IsLatest>true</IsLatest>"
	"<LastModified>2009-11-12T17:50:30.000Z</LastModified></DeleteMarker>"
	"<Version><Key>my+second+image.jpg</Key><VersionId>QUpfdndhfd8438MNFDN93jdnJFkdmqnh893"
	"</VersionId><IsLatest>false</IsLatest><LastModified>2009-10-10T17:50:30.000Z</LastModified>"
	"<ETag>\"9b2cf535f27731c974343645a3985328\"</ETag><Size>166434</Size>"
	"<StorageClass>STANDARD</StorageClass></Version>"
	"<Version><Key>my%2Bthird%25image</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>"
	"<LastModified>2009-10-10T17:50:30Z</LastModified><ETag>\"a\"</ETag><Size>1</Size>"
	"<StorageClass>DEEP_ARCHIVE</StorageClass></Version>"
	"<CommonPrefixes><Prefix>my+dir/</Prefix></CommonPrefixes>"
	"<NextKeyMarker>my%2Bthird%25image</NextKeyMarker>"
	"<NextVersionIdMarker>null</NextVersionIdMarker>"
	"</ListVersionsResult>";

static void t_versions_aws(void **state)
{
	(void)state;
	seen s;
	s3i_errinfo e;
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, s3i_test_alloc());
	int rc = parse_versions(versions_aws, &s, &page, &e);
	if (rc)
		fail_msg("%s", e.message);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.keys[0], "my-image.jpg");
	assert_string_equal(s.versions[0], "3/L4kqtJl40Nr8X8gdRQBpUMLUo");
	assert_true(s.latest[0]);
	assert_false(s.markers[0]);
	assert_int_equal(s.sizes[0], 434234);
	assert_string_equal(s.etags[0], "fba9dede5f27731c9771645a39863328");
	assert_string_equal(s.owners[0],
		"75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a|mtd@amazon.com");
	/* a delete marker: its owner came before its key, and it has no size, ETag or class */
	assert_string_equal(s.keys[1], "my second image.jpg");
	assert_true(s.markers[1]);
	assert_true(s.latest[1]);
	assert_string_equal(s.versions[1], "03jpff543dhffds434rfdsFDN943fdsFkdmqnh892");
	assert_int_equal(s.sizes[1], 0);
	assert_string_equal(s.etags[1], "");
	assert_string_equal(s.classes[1], "");
	assert_true(s.modified[1] == t_ms("2009-11-12T17:50:30Z"));
	assert_true(s.owners[1][0] == '7');
	assert_string_equal(s.keys[2], "my second image.jpg");
	assert_false(s.latest[2]);
	assert_false(s.markers[2]);
	assert_string_equal(s.owners[2], "|");   /* no owner on this one */
	assert_string_equal(s.keys[3], "my+third%image");
	assert_string_equal(s.versions[3], "null");
	assert_string_equal(s.classes[3], "DEEP_ARCHIVE");
	assert_int_equal(s.np, 1);
	assert_string_equal(s.prefixes[0], "my dir/");
	assert_true(page.truncated);
	assert_string_equal(s3i_buf_cstr(&page.next_key_marker), "my+third%image");   /* decoded */
	assert_string_equal(s3i_buf_cstr(&page.next_version_id_marker), "null");
	assert_int_equal(page.entries, 4);
	s3i_s3_list_page_free(&page);
}

/* moto's ListObjectVersions: no EncodingType, raw keys, every Version then every DeleteMarker. */
static void t_versions_moto_raw(void **state)
{
	(void)state;
	static const char xml[] =
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ListVersionsResult xmlns=\"http://s3."
		"amazonaws.com/doc/2006-03-01/\"><IsTruncated>false</IsTruncated><KeyMarker/>"
		"<VersionIdMarker/><Version><ETag>\"1b267619c4812cc46ee281747884ca50\"</ETag>"
		"<Size>2</Size><StorageClass>STANDARD</StorageClass><Key>a b+c%d</Key>"
		"<VersionId>beeaeb51-9d88-4e42-b48f-1a56e4417b84</VersionId><IsLatest>false</IsLatest>"
		"<LastModified>2026-12-04T04:17:15.000Z</LastModified><Owner><DisplayName>webfile"
		"</DisplayName><ID>75aa</ID></Owner></Version><DeleteMarker><Owner><DisplayName>webfile"
		"</DisplayName><ID>75aa</ID></Owner><Key>a b+c%d</Key><VersionId>4ef4fcf6</VersionId>"
		"<IsLatest>true</IsLatest><LastModified>2026-12-04T04:17:15.000Z</LastModified>"
		"</DeleteMarker><Name>pbk</Name><Prefix/><MaxKeys>1000</MaxKeys></ListVersionsResult>";
	seen s;
	s3i_errinfo e;
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, s3i_test_alloc());
	assert_int_equal(parse_versions(xml, &s, &page, &e), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.keys[0], "a b+c%d");
	assert_string_equal(s.keys[1], "a b+c%d");
	assert_true(s.markers[1]);
	assert_string_equal(s.owners[0], "75aa|webfile");
	assert_false(page.url_encoded);
	assert_false(page.truncated);
	s3i_s3_list_page_free(&page);
}

static void t_versions_strictness(void **state)
{
	(void)state;
	seen s;
	s3i_errinfo e;
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, s3i_test_alloc());
	expect_parse_error(parse_versions("<ListVersionsResult><IsTruncated>true</IsTruncated>"
		"<NextVersionIdMarker>v</NextVersionIdMarker></ListVersionsResult>", &s, &page, &e), &e,
		"without NextKeyMarker");
	expect_parse_error(parse_versions("<ListVersionsResult><Version><Key>k</Key><IsLatest>1"
		"</IsLatest></Version></ListVersionsResult>", &s, &page, &e), &e, "IsLatest '1'");
	expect_parse_error(parse_versions("<ListVersionsResult><DeleteMarker><VersionId>v"
		"</VersionId></DeleteMarker></ListVersionsResult>", &s, &page, &e), &e,
		"DeleteMarker has no Key");
	/* Contents is not an entry of a version listing, nor Version of an object listing */
	assert_int_equal(parse_versions("<ListVersionsResult><Contents><Key>k</Key></Contents>"
		"</ListVersionsResult>", &s, &page, &e), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(parse_v2("<ListBucketResult><Version><Key>k</Key></Version>"
		"</ListBucketResult>", &s, &page, &e), 0);
	assert_int_equal(s.n, 0);
	/* stopping on a delete marker */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	s3i_errinfo_init(&e);
	assert_int_equal(s3i_s3_parse_list_versions(s3i_test_alloc(), versions_aws,
		strlen(versions_aws), NULL, on_version, NULL, &s, &page, &e), S3I_EUSER);
	assert_int_equal(s.n, 2);
	s3i_s3_list_page_free(&page);
}

/* ------------------------------------------------------------------ DeleteObjects */

typedef struct del_seen {
	char deleted[8][120];
	char marker_versions[8][64];
	int markers[8];
	int nd;
	char errors[8][300];
	int ne;
	int stop_errors;
} del_seen;

static int on_del_error(void *p, const s3i_s3_delete_error *e)
{
	del_seen *d = p;
	assert_true(e->struct_size >= sizeof(*e));
	assert_true(d->ne < 8);
	snprintf(d->errors[d->ne++], sizeof(d->errors[0]), "%s|%s|%s|%s", e->key, e->version_id,
		e->code, e->message);
	return d->stop_errors;
}

static int on_deleted(void *p, const s3i_s3_deleted *x)
{
	del_seen *d = p;
	assert_true(d->nd < 8);
	snprintf(d->deleted[d->nd], sizeof(d->deleted[0]), "%s|%s", x->key, x->version_id);
	snprintf(d->marker_versions[d->nd], sizeof(d->marker_versions[0]), "%s",
		x->delete_marker_version_id);
	d->markers[d->nd++] = x->delete_marker;
	return 0;
}

static int parse_del(const char *xml, s3i_errinfo *e)
{
	s3i_errinfo_init(e);
	return s3i_s3_parse_delete_result(s3i_test_alloc(), xml, strlen(xml), "DeleteObjects on b",
		NULL, NULL, NULL, NULL, e);
}

static void t_delete_result(void **state)
{
	(void)state;
	static const char xml[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Deleted><Key>sample1.txt</Key></Deleted>"
		"<Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message>"
		"</Error>"
		"<Deleted><Key>a&amp;b&lt;c&#10;d</Key><VersionId>v1</VersionId></Deleted>"
		"<Deleted><Key>with space+plus</Key><DeleteMarker>true</DeleteMarker>"
		"<DeleteMarkerVersionId>dm-1</DeleteMarkerVersionId></Deleted>"
		"<Error><Key>locked</Key><VersionId>v9</VersionId><Code>InternalError</Code>"
		"<Message>We encountered an internal error. Please try again.</Message></Error>"
		"</DeleteResult>";
	del_seen d;
	memset(&d, 0, sizeof(d));
	s3i_s3_delete_stats st = { 0 };
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_s3_parse_delete_result(s3i_test_alloc(), xml, strlen(xml), NULL, on_del_error,
		on_deleted, &d, &st, &e);
	if (rc)
		fail_msg("%s", e.message);
	assert_int_equal(st.deleted, 3);
	assert_int_equal(st.failed, 2);
	assert_int_equal(d.nd, 3);
	assert_string_equal(d.deleted[0], "sample1.txt|");
	assert_string_equal(d.deleted[1], "a&b<c\nd|v1");      /* keys are XML-escaped, not url-encoded */
	assert_string_equal(d.deleted[2], "with space+plus|");
	assert_true(d.markers[2]);
	assert_false(d.markers[0]);
	assert_string_equal(d.marker_versions[2], "dm-1");
	assert_int_equal(d.ne, 2);
	assert_string_equal(d.errors[0], "sample2.txt||AccessDenied|Access Denied");
	assert_string_equal(d.errors[1], "locked|v9|InternalError|We encountered an internal error. "
		"Please try again.");

	/* Quiet mode on AWS: only errors, or nothing */
	memset(&d, 0, sizeof(d));
	memset(&st, 0, sizeof(st));
	assert_int_equal(s3i_s3_parse_delete_result(s3i_test_alloc(), "<DeleteResult xmlns=\"x\"/>",
		strlen("<DeleteResult xmlns=\"x\"/>"), NULL, on_del_error, on_deleted, &d, &st, &e), 0);
	assert_int_equal(st.deleted + st.failed, 0);
	/* callbacks may be NULL */
	assert_int_equal(s3i_s3_parse_delete_result(s3i_test_alloc(), xml, strlen(xml), NULL, NULL,
		NULL, NULL, &st, &e), 0);
	assert_int_equal(st.failed, 2);

	/* a callback that stops */
	memset(&d, 0, sizeof(d));
	d.stop_errors = 1;
	assert_int_equal(s3i_s3_parse_delete_result(s3i_test_alloc(), xml, strlen(xml), NULL,
		on_del_error, on_deleted, &d, NULL, &e), S3I_EUSER);
	assert_int_equal(d.ne, 1);

	/* strictness */
	expect_parse_error(parse_del("<DeleteResult><Error><Key>k</Key><Message>m</Message></Error>"
		"</DeleteResult>", &e), &e, "has no Code");
	expect_parse_error(parse_del("<DeleteResult><Deleted><VersionId>v</VersionId></Deleted>"
		"</DeleteResult>", &e), &e, "without a usable Key");
	expect_parse_error(parse_del("<DeleteResult><Deleted><Key>k</Key><DeleteMarker>maybe"
		"</DeleteMarker></Deleted></DeleteResult>", &e), &e, "DeleteMarker 'maybe'");
	expect_parse_error(parse_del("<DeleteResult>", &e), &e, "DeleteObjects on b");
	/* the whole request failed, answered with 200 */
	rc = parse_del("<Error><Code>SlowDown</Code></Error>", &e);
	assert_int_equal(rc, S3I_ETHROTTLED);
	assert_string_equal(e.aws_code, "SlowDown");
}

/* ------------------------------------------------------------------ small results */

static int parse_doc(const char *xml, s3i_s3_result_kind kind, s3i_s3_result_doc *doc,
	s3i_errinfo *e)
{
	s3i_errinfo_init(e);
	return s3i_s3_parse_result(s3i_test_alloc(), xml, strlen(xml), kind, NULL, doc, e);
}

static void t_initiate_result(void **state)
{
	(void)state;
	s3i_s3_result_doc doc;
	s3i_errinfo e;
	assert_int_equal(parse_doc("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Bucket>example-bucket</Bucket><Key>example-object</Key>"
		"<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
		"</InitiateMultipartUploadResult>", S3I_S3_RESULT_INITIATE, &doc, &e), 0);
	assert_false(doc.is_error);
	assert_string_equal(doc.upload_id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
	expect_parse_error(parse_doc("<InitiateMultipartUploadResult><Bucket>b</Bucket>"
		"</InitiateMultipartUploadResult>", S3I_S3_RESULT_INITIATE, &doc, &e), &e, "no UploadId");
	assert_string_equal(doc.upload_id, "");
	expect_parse_error(parse_doc("<InitiateMultipartUploadResult><UploadId></UploadId>"
		"</InitiateMultipartUploadResult>", S3I_S3_RESULT_INITIATE, &doc, &e), &e, "UploadId of 0");
	char big[1200 + 100];
	memset(big, 0, sizeof(big));
	strcpy(big, "<R><UploadId>");
	memset(big + strlen(big), 'u', 1100);
	strcat(big, "</UploadId></R>");
	expect_parse_error(parse_doc(big, S3I_S3_RESULT_INITIATE, &doc, &e), &e, "UploadId of 1100");
}

static void t_complete_result(void **state)
{
	(void)state;
	s3i_s3_result_doc doc;
	s3i_errinfo e;
	/* S3 keeps a long completion alive with whitespace before the document */
	assert_int_equal(parse_doc("   \n \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Location>http://Example-Bucket.s3.us-east-1.amazonaws.com/Example-Object</Location>"
		"<Bucket>Example-Bucket</Bucket><Key>Example-Object</Key>"
		"<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag></CompleteMultipartUploadResult>",
		S3I_S3_RESULT_COMPLETE, &doc, &e), 0);
	assert_false(doc.is_error);
	assert_string_equal(doc.etag, "3858f62230ac3c915f300c664312c11f-9");
	assert_int_equal(doc.last_modified_ms, 0);

	/* the 200 answer with an error inside, as the CompleteMultipartUpload docs show it */
	assert_int_equal(parse_doc("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error>\n"
		"<Code>InternalError</Code>\n<Message>We encountered an internal error. Please try again."
		"</Message>\n<RequestId>656c76696e6727732072657175657374</RequestId>\n"
		"<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>\n</Error>",
		S3I_S3_RESULT_COMPLETE, &doc, &e), 0);
	assert_true(doc.is_error);
	assert_string_equal(doc.error.code, "InternalError");
	assert_string_equal(doc.error.message, "We encountered an internal error. Please try again.");
	assert_string_equal(doc.error.request_id, "656c76696e6727732072657175657374");
	assert_string_equal(doc.etag, "");
	/* ... also when the keep-alive whitespace came first */
	assert_int_equal(parse_doc("\n   <Error><Code>SlowDown</Code></Error>",
		S3I_S3_RESULT_COMPLETE, &doc, &e), 0);
	assert_true(doc.is_error);
	assert_string_equal(doc.error.code, "SlowDown");

	expect_parse_error(parse_doc("<CompleteMultipartUploadResult><Key>k</Key>"
		"</CompleteMultipartUploadResult>", S3I_S3_RESULT_COMPLETE, &doc, &e), &e, "no ETag");
	expect_parse_error(parse_doc("", S3I_S3_RESULT_COMPLETE, &doc, &e), &e, "empty body");
	expect_parse_error(parse_doc("  \r\n ", S3I_S3_RESULT_COMPLETE, &doc, &e), &e, "empty body");
	/* a document cut off while S3 was still sending */
	expect_parse_error(parse_doc("<?xml version=\"1.0\"?>\n   <CompleteMultipartUploadResult>",
		S3I_S3_RESULT_COMPLETE, &doc, &e), &e, "CompleteMultipartUpload");
	assert_false(doc.is_error);
}

static void t_copy_results(void **state)
{
	(void)state;
	s3i_s3_result_doc doc;
	s3i_errinfo e;
	/* CopyObject's documented example carries a time without a zone */
	assert_int_equal(parse_doc("<CopyObjectResult><LastModified>2009-10-28T22:32:00"
		"</LastModified><ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyObjectResult>",
		S3I_S3_RESULT_COPY, &doc, &e), 0);
	assert_string_equal(doc.etag, "9b2cf535f27731c974343645a3985328");
	assert_true(doc.last_modified_ms == t_ms("2009-10-28T22:32:00Z"));
	assert_int_equal(parse_doc("<?xml version=\"1.0\" encoding=\"UTF-8\"?><CopyPartResult xmlns="
		"\"http://s3.amazonaws.com/doc/2006-03-01/\"><LastModified>2011-04-11T20:34:56.000Z"
		"</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>"
		"<ChecksumCRC32>AAAAAA==</ChecksumCRC32></CopyPartResult>", S3I_S3_RESULT_COPY, &doc, &e), 0);
	assert_string_equal(doc.etag, "9b2cf535f27731c974343645a3985328");
	assert_true(doc.last_modified_ms == t_ms("2011-04-11T20:34:56Z"));
	assert_int_equal(parse_doc("<Error><Code>InternalError</Code><Message>copy failed</Message>"
		"</Error>", S3I_S3_RESULT_COPY, &doc, &e), 0);
	assert_true(doc.is_error);
	assert_string_equal(doc.error.code, "InternalError");
	expect_parse_error(parse_doc("<CopyObjectResult><LastModified>2009-13-45</LastModified>"
		"<ETag>\"e\"</ETag></CopyObjectResult>", S3I_S3_RESULT_COPY, &doc, &e), &e,
		"LastModified '2009-13-45'");
	expect_parse_error(parse_doc("<CopyObjectResult></CopyObjectResult>", S3I_S3_RESULT_COPY,
		&doc, &e), &e, "no ETag");
	expect_parse_error(parse_doc("<CopyObjectResult><ETag>\"e\"</ETag>", S3I_S3_RESULT_COPY,
		&doc, &e), &e, "CopyObject");
}

/* ------------------------------------------------------------------ out of memory */

static void t_parsers_out_of_memory(void **state)
{
	(void)state;
	static const char del[] = "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key>"
		"<Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>";
	for (int which = 0; which < 4; which++) {
		int ok = 0;
		for (long n = 0; n < 400 && !ok; n++) {
			s3i_s3_list_page page;
			s3i_s3_list_page_init(&page, s3i_test_alloc());
			seen s;
			memset(&s, 0, sizeof(s));
			s3i_errinfo e;
			s3i_errinfo_init(&e);
			s3i_s3_result_doc doc;
			s3i_test_alloc_fail_after(n);
			int rc;
			if (which == 0)
				rc = s3i_s3_parse_list_objects(s3i_test_alloc(), v2_aws, strlen(v2_aws), NULL,
					on_object, on_prefix, &s, &page, &e);
			else if (which == 1)
				rc = s3i_s3_parse_list_versions(s3i_test_alloc(), versions_aws,
					strlen(versions_aws), NULL, on_version, on_prefix, &s, &page, &e);
			else if (which == 2)
				rc = s3i_s3_parse_delete_result(s3i_test_alloc(), del, strlen(del), NULL, NULL,
					NULL, NULL, NULL, &e);
			else
				rc = parse_doc("<CopyObjectResult><ETag>e</ETag></CopyObjectResult>",
					S3I_S3_RESULT_COPY, &doc, &e);
			s3i_test_alloc_fail_after(-1);
			s3i_s3_list_page_free(&page);
			if (rc == S3I_OK)
				ok = 1;
			else if (rc != S3I_ENOMEM)
				fail_msg("parser %d with %ld allocations: %d (%s)", which, n, rc, e.message);
			assert_int_equal(s3i_test_alloc_outstanding(), 0);
		}
		assert_true(ok);
	}
}

/* ------------------------------------------------------------------ DeleteObjects on the wire */

/* What the client sent, recorded by the loopback server's handler. */
typedef struct wire {
	pthread_mutex_t lock;
	int requests;
	int objects[8];
	int quiet[8];
	int md5_ok[8];
	char content_type[8][64];
	char target[8][128];
	char answer[8][4096];
} wire;

static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void delete_handler(void *user, const s3i_lb_request *req, s3i_lb_response *resp)
{
	wire *w = user;
	pthread_mutex_lock(&w->lock);
	int i = w->requests < 8 ? w->requests++ : 7;
	char md5[64], want[25];
	s3i_lb_header(req, "Content-MD5", md5, sizeof(md5));
	{
		s3i_buf b;
		s3i_buf_init(&b, NULL);
		s3i_base64_encode(&b, req->body_md5, 16);
		snprintf(want, sizeof(want), "%s", s3i_buf_cstr(&b));
		s3i_buf_dispose(&b);
	}
	w->md5_ok[i] = !strcmp(md5, want);
	s3i_lb_header(req, "Content-Type", w->content_type[i], sizeof(w->content_type[0]));
	snprintf(w->target[i], sizeof(w->target[0]), "%.10s %.100s", req->method, req->target);
	const char *body = req->body ? req->body : "";
	w->objects[i] = count_of(body, "<Object>");
	w->quiet[i] = strstr(body, "<Quiet>true</Quiet>") != NULL;
	/* every key "deny..." fails, as a bucket policy would make it */
	snprintf(w->answer[i], sizeof(w->answer[0]), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">%s</DeleteResult>",
		strstr(body, "<Key>deny-1</Key>") ? "<Error><Key>deny-1</Key><Code>AccessDenied</Code>"
		"<Message>Access Denied</Message></Error><Error><Key>deny-2</Key><VersionId>v2</VersionId>"
		"<Code>AccessDenied</Code><Message>Access Denied</Message></Error>" : "");
	resp->body = w->answer[i];
	resp->body_len = strlen(w->answer[i]);
	snprintf(resp->headers, sizeof(resp->headers), "Content-Type: application/xml\r\n"
		"x-amz-request-id: REQ%d\r\n", i);
	pthread_mutex_unlock(&w->lock);
}

static int collect_error(void *p, const s3i_s3_delete_error *e)
{
	del_seen *d = p;
	return on_del_error(d, e);
}

static void t_delete_objects_request(void **state)
{
	(void)state;
	wire w;
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.lock, NULL);
	s3i_loopback *lb = NULL;
	assert_int_equal(s3i_loopback_start(&lb, delete_handler, &w), 0);
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_loopback_url(lb);
	o.region = "us-east-1";
	o.access_key_id = "AKIDEXAMPLE";
	o.secret_access_key = "secret";
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), 0);

	/* 2,500 keys: three requests of 1000, 1000 and 500 */
	enum { N = 2500 };
	static char names[N][24];
	static s3i_s3_object_id ids[N];
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), i == 2100 ? "deny-1" : i == 2101 ? "deny-2"
			: "k/%05d", i);
		ids[i].key = names[i];
		ids[i].version_id = i == 2101 ? "v2" : NULL;
	}
	del_seen d;
	memset(&d, 0, sizeof(d));
	int rc = s3i_s3_delete_objects(ctx, "bkt", ids, N, collect_error, &d);
	assert_int_equal(rc, S3I_EAUTH);
	const s3i_error *e = s3i_error_last();
	assert_string_equal(e->aws_code, "AccessDenied");
	assert_non_null(strstr(e->message, "2 of 2500 keys were not deleted"));
	assert_non_null(strstr(e->message, "key 'deny-1' in bucket 'bkt'"));
	assert_non_null(strstr(e->resource, "deny-1"));
	assert_int_equal(d.ne, 2);
	assert_string_equal(d.errors[0], "deny-1||AccessDenied|Access Denied");
	assert_string_equal(d.errors[1], "deny-2|v2|AccessDenied|Access Denied");

	assert_int_equal(w.requests, 3);
	int sizes[3] = { 1000, 1000, 500 };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(w.objects[i], sizes[i]);
		assert_true(w.quiet[i]);
		assert_true(w.md5_ok[i]);            /* Content-MD5 of exactly the body sent */
		assert_string_equal(w.content_type[i], "application/xml");
		assert_string_equal(w.target[i], "POST /bkt/?delete");
	}

	/* nothing failed: success; an empty list sends nothing */
	w.requests = 0;
	assert_int_equal(s3i_s3_delete_objects(ctx, "bkt", ids, 10, NULL, NULL), 0);
	assert_int_equal(s3i_s3_delete_objects(ctx, "bkt", NULL, 0, NULL, NULL), 0);
	assert_int_equal(w.requests, 1);
	/* bad input fails before anything is sent */
	s3i_s3_object_id bad[2] = { { "ok", NULL }, { "", NULL } };
	assert_int_equal(s3i_s3_delete_objects(ctx, "bkt", bad, 2, NULL, NULL), S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "object 1 has an empty key"));
	assert_int_equal(s3i_s3_delete_objects(ctx, "", bad, 1, NULL, NULL), S3I_EINVALID);
	assert_int_equal(w.requests, 1);

	s3i_ctx_release(ctx);
	s3i_loopback_stop(lb);
	pthread_mutex_destroy(&w.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_v2_aws_form_encoding),
		S3I_TEST(t_v2_moto_order_and_encoding),
		S3I_TEST(t_v2_not_encoded),
		S3I_TEST(t_v2_strictness),
		S3I_TEST(t_v2_error_document_and_stop),
		S3I_TEST(t_versions_aws),
		S3I_TEST(t_versions_moto_raw),
		S3I_TEST(t_versions_strictness),
		S3I_TEST(t_delete_result),
		S3I_TEST(t_initiate_result),
		S3I_TEST(t_complete_result),
		S3I_TEST(t_copy_results),
		S3I_TEST(t_parsers_out_of_memory),
		S3I_TEST(t_delete_objects_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
