/*
 * The pieces of src/services/s3_bucket.c that need no server: the ListBuckets, inventory
 * configuration (get and list) and notification configuration parsers (AWS's documented
 * answers, moto's, and every way they can be wrong), the request bodies written for inventory
 * and notification configurations (exact text, XML escaping, what is refused before sending),
 * the optional-field names of the botocore model, and out-of-memory loops over all of them.
 * The operations themselves run against moto in tests/integration/test_s3_bucket.c; the
 * Content-MD5 of the bucket settings in tests/unit/test_s3_checksum_required.c.
 */
#include "test_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/errinfo.h"
#include "s3insights/errors.h"
#include "services/s3_bucket.h"

#define XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

/* ------------------------------------------------------------------ ListBuckets */

typedef struct buckets_seen {
	char lines[8][300];
	int n;
	int stop_at;
} buckets_seen;

static int on_bucket(void *p, const s3i_s3_bucket_info *b)
{
	buckets_seen *s = p;
	assert_true(s->n < 8);
	snprintf(s->lines[s->n], sizeof(s->lines[0]), "%s|%lld|%s|%s", b->name,
		(long long)b->creation_ms, b->region, b->arn);
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static const char aws_buckets[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ListAllMyBucketsResult xmlns=\"" XMLNS "\">\n  <Buckets>\n    <Bucket>\n"
	"      <BucketRegion>us-east-1</BucketRegion>\n"
	"      <CreationDate>2019-12-11T23:32:47+00:00</CreationDate>\n"
	"      <Name>amzn-s3-demo-bucket</Name>\n    </Bucket>\n    <Bucket>\n"
	"      <BucketArn>arn:aws:s3:::amzn-s3-demo-bucket1</BucketArn>\n"
	"      <BucketRegion>eu-west-1</BucketRegion>\n"
	"      <CreationDate>2019-11-10T23:32:13.000Z</CreationDate>\n"
	"      <Name>amzn-s3-demo-bucket1</Name>\n    </Bucket>\n  </Buckets>\n"
	"  <Owner>\n    <DisplayName>Account+Name</DisplayName>\n    <ID>AIDACKCEVSQ6C2EXAMPLE</ID>\n"
	"  </Owner>\n  <ContinuationToken>eyJNYXJrZXIiOiBudWxsfQ==</ContinuationToken>\n"
	"  <Prefix>amzn</Prefix>\n</ListAllMyBucketsResult>\n";

static int buckets(const char *body, buckets_seen *s, s3i_s3_bucket_page *page, s3i_errinfo *err)
{
	s3i_errinfo_init(err);
	return s3i_s3_parse_list_buckets(s3i_test_alloc(), body, strlen(body),
		"ListBuckets", on_bucket, s, page, err);
}

static void t_buckets_aws(void **state)
{
	(void)state;
	buckets_seen s = { 0 };
	s3i_s3_bucket_page page;
	s3i_s3_bucket_page_init(&page, s3i_test_alloc());
	s3i_errinfo err;
	assert_int_equal(buckets(aws_buckets, &s, &page, &err), S3I_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(page.buckets, 2);
	assert_string_equal(s.lines[0], "amzn-s3-demo-bucket|1576107167000|us-east-1|");
	assert_string_equal(s.lines[1], "amzn-s3-demo-bucket1|1573428733000|eu-west-1|"
		"arn:aws:s3:::amzn-s3-demo-bucket1");
	assert_string_equal(s3i_buf_cstr(&page.next_token), "eyJNYXJrZXIiOiBudWxsfQ==");
	assert_string_equal(page.owner_id, "AIDACKCEVSQ6C2EXAMPLE");

	/* moto's: no region, no token; the page is reset by every parse */
	memset(&s, 0, sizeof(s));
	assert_int_equal(buckets("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ListAllMyBucketsResult "
		"xmlns=\"" XMLNS "\"><Buckets><Bucket><Name>src-a</Name><CreationDate>"
		"2026-12-04T05:13:40.000Z</CreationDate></Bucket></Buckets><Owner><DisplayName>webfile"
		"</DisplayName><ID>bcaf1ffd86f41161ca5fb16fd081034f</ID></Owner></ListAllMyBucketsResult>",
		&s, &page, &err), S3I_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.lines[0], "src-a|1796361220000||");
	assert_string_equal(s3i_buf_cstr(&page.next_token), "");
	/* no buckets at all */
	memset(&s, 0, sizeof(s));
	assert_int_equal(buckets("<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>", &s,
		&page, &err), S3I_OK);
	assert_int_equal(page.buckets, 0);
	s3i_s3_bucket_page_free(&page);
}

static void t_buckets_bad(void **state)
{
	(void)state;
	static const struct { const char *body; int code; const char *says; } cases[] = {
		{ "", S3I_EPARSE, "ListBuckets" },
		{ "not xml", S3I_EPARSE, "ListBuckets" },
		{ "<ListAllMyBucketsResult><Buckets><Bucket><Name>a</Name>", S3I_EPARSE, "ListBuckets" },
		{ "<R><Buckets><Bucket><CreationDate>2019-12-11T23:32:47Z</CreationDate></Bucket>"
			"</Buckets></R>", S3I_EPARSE, "bucket 1: a Bucket without a Name" },
		{ "<R><Buckets><Bucket><Name></Name></Bucket></Buckets></R>", S3I_EPARSE,
			"an empty Name" },
		{ "<R><Buckets><Bucket><Name>a</Name><CreationDate>yesterday\n</CreationDate></Bucket>"
			"</Buckets></R>", S3I_EPARSE, "CreationDate 'yesterday?' is not an ISO 8601 time" },
		{ "<!DOCTYPE r [<!ENTITY e \"x\">]><R><Buckets><Bucket><Name>&e;</Name></Bucket></Buckets>"
			"</R>", S3I_EPARSE, "ListBuckets" },
		{ "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", S3I_EAUTH,
			"ListBuckets: the answer is an error document: AccessDenied: Access Denied" },
		{ "<Error><Code>InternalError</Code></Error>", S3I_ESERVICE, "InternalError" },
	};
	s3i_s3_bucket_page page;
	s3i_s3_bucket_page_init(&page, s3i_test_alloc());
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buckets_seen s = { 0 };
		s3i_errinfo err;
		int rc = buckets(cases[i].body, &s, &page, &err);
		if (rc != cases[i].code || !strstr(err.message, cases[i].says))
			fprintf(stderr, "case %zu: rc %d '%s'\n", i, rc, err.message);
		assert_int_equal(rc, cases[i].code);
		assert_int_equal(err.pub.code, rc);
		assert_non_null(strstr(err.message, cases[i].says));
		assert_null(strchr(err.message, '\n'));
		assert_string_equal(s3i_buf_cstr(&page.next_token), "");
	}
	/* a callback that stops */
	buckets_seen s = { .stop_at = 1 };
	s3i_errinfo err;
	assert_int_equal(buckets(aws_buckets, &s, &page, &err), S3I_EUSER);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(err.message, "stopped by the callback"));
	s3i_s3_bucket_page_free(&page);
}

/* ------------------------------------------------------------------ inventory: parsing */

static const char aws_inventory[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<InventoryConfiguration xmlns=\"" XMLNS "\">\n   <Id>report1</Id>\n"
	"   <IsEnabled>true</IsEnabled>\n   <Filter>\n      <Prefix>filterPrefix/</Prefix>\n"
	"   </Filter>\n   <Destination>\n      <S3BucketDestination>\n         <Format>CSV</Format>\n"
	"         <AccountId>123456789012</AccountId>\n"
	"         <Bucket>arn:aws:s3:::destination-bucket</Bucket>\n         <Prefix>prefix1</Prefix>\n"
	"         <Encryption>\n            <SSE-KMS>\n               <KeyId>arn:aws:kms:us-west-2:"
	"111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab</KeyId>\n            </SSE-KMS>\n"
	"         </Encryption>\n      </S3BucketDestination>\n   </Destination>\n   <Schedule>\n"
	"      <Frequency>Daily</Frequency>\n   </Schedule>\n"
	"   <IncludedObjectVersions>All</IncludedObjectVersions>\n   <OptionalFields>\n"
	"      <Field>Size</Field>\n      <Field>LastModifiedDate</Field>\n      <Field>ETag</Field>\n"
	"      <Field>StorageClass</Field>\n      <Field>IsMultipartUploaded</Field>\n"
	"      <Field>ReplicationStatus</Field>\n      <Field>EncryptionStatus</Field>\n"
	"      <Field>ObjectLockRetainUntilDate</Field>\n      <Field>ObjectLockMode</Field>\n"
	"      <Field>ObjectLockLegalHoldStatus</Field>\n   </OptionalFields>\n"
	"</InventoryConfiguration>\n";

static int inventory(const char *body, s3i_s3_inventory_config *c, s3i_buf *storage,
	s3i_errinfo *err)
{
	s3i_errinfo_init(err);
	return s3i_s3_parse_inventory_config(s3i_test_alloc(), body, strlen(body),
		"GetBucketInventoryConfiguration on inventory configuration 'report1' of bucket 'b'", c,
		storage, err);
}

static void t_inventory_aws(void **state)
{
	(void)state;
	s3i_s3_inventory_config c;
	s3i_buf storage;
	s3i_buf_init(&storage, s3i_test_alloc());
	s3i_errinfo err;
	assert_int_equal(inventory(aws_inventory, &c, &storage, &err), S3I_OK);
	assert_string_equal(c.id, "report1");
	assert_int_equal(c.enabled, 1);
	assert_string_equal(c.filter_prefix, "filterPrefix/");
	assert_int_equal(c.format, S3I_S3_INVENTORY_CSV);
	assert_string_equal(c.destination_account_id, "123456789012");
	assert_string_equal(c.destination_bucket_arn, "arn:aws:s3:::destination-bucket");
	assert_string_equal(c.destination_prefix, "prefix1");
	assert_int_equal(c.encryption, S3I_S3_INVENTORY_SSE_KMS);
	assert_string_equal(c.kms_key_id,
		"arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab");
	assert_int_equal(c.frequency, S3I_S3_INVENTORY_DAILY);
	assert_int_equal(c.versions, S3I_S3_INVENTORY_VERSIONS_ALL);
	assert_int_equal(c.optional_fields, (1u << 10) - 1u);   /* the model's first ten */
	assert_string_equal(c.other_fields, "");

	/* escaped text, SSE-S3 as an empty element, a field from a newer S3, unknown enums */
	assert_int_equal(inventory("<InventoryConfiguration><Destination><S3BucketDestination>"
		"<Bucket>arn:aws:s3:::d</Bucket><Format>JSON</Format><Encryption><SSE-S3/></Encryption>"
		"</S3BucketDestination></Destination><IsEnabled>false</IsEnabled><Filter><Prefix>a &amp; "
		"b &lt;c&gt;/&#9;</Prefix></Filter><Id>weekly&amp;x</Id><IncludedObjectVersions>Some"
		"</IncludedObjectVersions><OptionalFields><Field>ObjectOwner</Field><Field>FutureField"
		"</Field><Field>LifecycleExpirationDate</Field><Field>Other2</Field></OptionalFields>"
		"<Schedule><Frequency>Monthly</Frequency></Schedule></InventoryConfiguration>", &c,
		&storage, &err), S3I_OK);
	assert_string_equal(c.id, "weekly&x");
	assert_int_equal(c.enabled, 0);
	assert_string_equal(c.filter_prefix, "a & b <c>/\t");
	assert_int_equal(c.format, S3I_S3_INVENTORY_FORMAT_UNKNOWN);
	assert_int_equal(c.encryption, S3I_S3_INVENTORY_SSE_S3);
	assert_string_equal(c.kms_key_id, "");
	assert_string_equal(c.destination_account_id, "");
	assert_int_equal(c.versions, S3I_S3_INVENTORY_VERSIONS_UNKNOWN);
	assert_int_equal(c.frequency, S3I_S3_INVENTORY_FREQUENCY_UNKNOWN);
	assert_int_equal(c.optional_fields, S3I_S3_INVENTORY_FIELD_OBJECT_OWNER |
		S3I_S3_INVENTORY_FIELD_LIFECYCLE_EXPIRATION_DATE);
	assert_string_equal(c.other_fields, "FutureField,Other2");
	s3i_buf_dispose(&storage);
}

static void t_inventory_bad(void **state)
{
	(void)state;
	static const struct { const char *body; int code; const char *says; } cases[] = {
		{ "", S3I_EPARSE, "GetBucketInventoryConfiguration on inventory configuration 'report1'" },
		{ "<InventoryConfiguration><IsEnabled>true</IsEnabled></InventoryConfiguration>",
			S3I_EPARSE, "inventory configuration 1: no Id" },
		{ "<InventoryConfiguration><Id></Id></InventoryConfiguration>", S3I_EPARSE,
			"an empty Id" },
		{ "<InventoryConfiguration><Id>a</Id><IsEnabled>yes</IsEnabled></InventoryConfiguration>",
			S3I_EPARSE, "IsEnabled 'yes' is not true or false" },
		{ "<InventoryConfiguration><Id>a</Id><Destination><S3BucketDestination><Encryption>"
			"<SSE-S3/><SSE-KMS><KeyId>k</KeyId></SSE-KMS></Encryption></S3BucketDestination>"
			"</Destination></InventoryConfiguration>", S3I_EPARSE,
			"both SSE-S3 and SSE-KMS" },
		{ "<InventoryConfiguration><Id>a</Id><OptionalFields><Field>a,b</Field></OptionalFields>"
			"</InventoryConfiguration>", S3I_EPARSE, "optional Field 'a,b' is not a field name" },
		{ "<InventoryConfiguration><Id>a</Id><OptionalFields><Field></Field></OptionalFields>"
			"</InventoryConfiguration>", S3I_EPARSE, "optional Field '' is not a field name" },
		{ "<Error><Code>NoSuchInventoryConfig</Code><Message>The specified inventory "
			"configuration does not exist.</Message></Error>", S3I_ENOTFOUND,
			"an error document: NoSuchInventoryConfig" },
	};
	s3i_buf storage;
	s3i_buf_init(&storage, s3i_test_alloc());
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s3i_s3_inventory_config c;
		memset(&c, 0x5a, sizeof(c));
		s3i_errinfo err;
		int rc = inventory(cases[i].body, &c, &storage, &err);
		if (rc != cases[i].code || !strstr(err.message, cases[i].says))
			fprintf(stderr, "case %zu: rc %d '%s'\n", i, rc, err.message);
		assert_int_equal(rc, cases[i].code);
		assert_non_null(strstr(err.message, cases[i].says));
		assert_null(strchr(err.message, '\n'));
		assert_null(c.id);                /* out is zeroed on failure */
		assert_int_equal(storage.size, 0);
	}
	s3i_buf_dispose(&storage);
}

typedef struct inv_seen {
	char ids[8][64];
	int formats[8];
	int n;
	int stop_at;
} inv_seen;

static int on_inventory(void *p, const s3i_s3_inventory_config *c)
{
	inv_seen *s = p;
	assert_true(s->n < 8);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", c->id);
	s->formats[s->n] = (int)c->format;
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static void t_inventory_list(void **state)
{
	(void)state;
	const char *aws = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListInventoryConfigurationsResult xmlns=\"" XMLNS "\">\n"
		"  <InventoryConfiguration><Id>report1</Id><IsEnabled>true</IsEnabled><Destination>"
		"<S3BucketDestination><Format>CSV</Format><Bucket>arn:aws:s3:::d</Bucket>"
		"</S3BucketDestination></Destination></InventoryConfiguration>\n"
		"  <InventoryConfiguration><Id>report2</Id><Destination><S3BucketDestination><Format>ORC"
		"</Format></S3BucketDestination></Destination></InventoryConfiguration>\n"
		"  <IsTruncated>true</IsTruncated>\n  <ContinuationToken>Tok1</ContinuationToken>\n"
		"  <NextContinuationToken>Tok2</NextContinuationToken>\n"
		"</ListInventoryConfigurationsResult>\n";
	s3i_s3_inventory_page page;
	s3i_s3_inventory_page_init(&page, s3i_test_alloc());
	inv_seen s = { 0 };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_s3_parse_inventory_list(s3i_test_alloc(), aws, strlen(aws), NULL,
		on_inventory, &s, &page, &err), S3I_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(page.configs, 2);
	assert_string_equal(s.ids[0], "report1");
	assert_int_equal(s.formats[1], S3I_S3_INVENTORY_ORC);
	assert_true(page.truncated);
	assert_string_equal(s3i_buf_cstr(&page.next_token), "Tok2");

	/* moto's root name, the last page */
	const char *moto = "<ListBucketInventoryConfigurationsResponse xmlns=\"" XMLNS "\">"
		"<InventoryConfiguration><Id>x</Id></InventoryConfiguration><IsTruncated>false"
		"</IsTruncated></ListBucketInventoryConfigurationsResponse>";
	memset(&s, 0, sizeof(s));
	assert_int_equal(s3i_s3_parse_inventory_list(s3i_test_alloc(), moto, strlen(moto), NULL,
		on_inventory, &s, &page, &err), S3I_OK);
	assert_int_equal(s.n, 1);
	assert_false(page.truncated);
	assert_string_equal(s3i_buf_cstr(&page.next_token), "");

	static const struct { const char *body; int code; const char *says; } bad[] = {
		{ "<L><IsTruncated>true</IsTruncated></L>", S3I_EPARSE,
			"ListBucketInventoryConfigurations: a truncated page without NextContinuationToken" },
		{ "<L><IsTruncated>maybe</IsTruncated></L>", S3I_EPARSE, "IsTruncated 'maybe'" },
		{ "<L><InventoryConfiguration><IsEnabled>true</IsEnabled></InventoryConfiguration></L>",
			S3I_EPARSE, "inventory configuration 1: no Id" },
		{ "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist"
			"</Message><BucketName>b</BucketName></Error>", S3I_ENOTFOUND, "NoSuchBucket" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, 0, sizeof(s));
		int rc = s3i_s3_parse_inventory_list(s3i_test_alloc(), bad[i].body, strlen(bad[i].body),
			NULL, on_inventory, &s, &page, &err);
		if (rc != bad[i].code || !strstr(err.message, bad[i].says))
			fprintf(stderr, "case %zu: rc %d '%s'\n", i, rc, err.message);
		assert_int_equal(rc, bad[i].code);
		assert_non_null(strstr(err.message, bad[i].says));
		assert_false(page.truncated);
		assert_string_equal(s3i_buf_cstr(&page.next_token), "");
	}
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(s3i_s3_parse_inventory_list(s3i_test_alloc(), aws, strlen(aws), NULL,
		on_inventory, &s, &page, &err), S3I_EUSER);
	assert_int_equal(s.n, 1);
	s3i_s3_inventory_page_free(&page);
}

/* ------------------------------------------------------------------ inventory: writing */

static void t_inventory_fields(void **state)
{
	(void)state;
	/* the botocore model's InventoryOptionalField enum, in its order */
	static const char *const model[] = { "Size", "LastModifiedDate", "StorageClass", "ETag",
		"IsMultipartUploaded", "ReplicationStatus", "EncryptionStatus",
		"ObjectLockRetainUntilDate", "ObjectLockMode", "ObjectLockLegalHoldStatus",
		"IntelligentTieringAccessTier", "BucketKeyStatus", "ChecksumAlgorithm",
		"ObjectAccessControlList", "ObjectOwner", "LifecycleExpirationDate" };
	assert_int_equal(sizeof(model) / sizeof(model[0]), S3I_S3_INVENTORY_FIELD_COUNT);
	for (int i = 0; i < S3I_S3_INVENTORY_FIELD_COUNT; i++) {
		assert_string_equal(s3i_s3_inventory_field_name(1u << i), model[i]);
		assert_int_equal(s3i_s3_inventory_field_bit(model[i], strlen(model[i])), 1u << i);
	}
	assert_null(s3i_s3_inventory_field_name(0));
	assert_null(s3i_s3_inventory_field_name(3));
	assert_null(s3i_s3_inventory_field_name(1u << S3I_S3_INVENTORY_FIELD_COUNT));
	assert_int_equal(s3i_s3_inventory_field_bit("size", 4), 0);
	assert_int_equal(s3i_s3_inventory_field_bit("SizeX", 5), 0);
	assert_int_equal(s3i_s3_inventory_field_bit("SizeX", 4), S3I_S3_INVENTORY_FIELD_SIZE);
	assert_int_equal(S3I_S3_INVENTORY_FIELDS_ALL, 0xffffu);
}

static void t_inventory_xml(void **state)
{
	(void)state;
	s3i_s3_inventory_config c = { .id = "d1-r1-s3-inventory", .enabled = 1,
		.destination_bucket_arn = "arn:aws:s3:::d1-r1-dest-123456789012-us-east-1",
		.destination_account_id = "123456789012", .destination_prefix = "111111111111/eu-west-1",
		.format = S3I_S3_INVENTORY_PARQUET, .encryption = S3I_S3_INVENTORY_SSE_KMS,
		.kms_key_id = "k<1>", .versions = S3I_S3_INVENTORY_VERSIONS_CURRENT,
		.frequency = S3I_S3_INVENTORY_WEEKLY, .filter_prefix = "logs & \"x\"/",
		.optional_fields = S3I_S3_INVENTORY_FIELD_SIZE | S3I_S3_INVENTORY_FIELD_ETAG,
		.other_fields = "Future1,Future2" };
	s3i_buf out;
	s3i_buf_init(&out, s3i_test_alloc());
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_s3_inventory_xml(&out, &c, &err), S3I_OK);
	assert_string_equal(out.ptr, "<InventoryConfiguration xmlns=\"" XMLNS "\"><Destination>"
		"<S3BucketDestination><AccountId>123456789012</AccountId><Bucket>"
		"arn:aws:s3:::d1-r1-dest-123456789012-us-east-1</Bucket><Format>Parquet</Format><Prefix>"
		"111111111111/eu-west-1</Prefix><Encryption><SSE-KMS><KeyId>k&lt;1&gt;</KeyId></SSE-KMS>"
		"</Encryption></S3BucketDestination></Destination><IsEnabled>true</IsEnabled><Filter>"
		"<Prefix>logs &amp; &quot;x&quot;/</Prefix></Filter><Id>d1-r1-s3-inventory</Id>"
		"<IncludedObjectVersions>Current</IncludedObjectVersions><OptionalFields><Field>Size"
		"</Field><Field>ETag</Field><Field>Future1</Field><Field>Future2</Field></OptionalFields>"
		"<Schedule><Frequency>Weekly</Frequency></Schedule></InventoryConfiguration>");
	/* and it reads back as the same configuration */
	s3i_s3_inventory_config back;
	s3i_buf storage;
	s3i_buf_init(&storage, s3i_test_alloc());
	assert_int_equal(inventory(out.ptr, &back, &storage, &err), S3I_OK);
	assert_string_equal(back.filter_prefix, "logs & \"x\"/");
	assert_string_equal(back.kms_key_id, "k<1>");
	assert_string_equal(back.other_fields, "Future1,Future2");
	assert_int_equal(back.optional_fields, c.optional_fields);

	/* the smallest: SSE-S3, no optional parts */
	s3i_buf_clear(&out);
	s3i_s3_inventory_config small = { .id = "i", .destination_bucket_arn = "arn:aws:s3:::d",
		.format = S3I_S3_INVENTORY_CSV, .encryption = S3I_S3_INVENTORY_SSE_S3,
		.versions = S3I_S3_INVENTORY_VERSIONS_ALL, .frequency = S3I_S3_INVENTORY_DAILY };
	assert_int_equal(s3i_s3_inventory_xml(&out, &small, &err), S3I_OK);
	assert_string_equal(out.ptr, "<InventoryConfiguration xmlns=\"" XMLNS "\"><Destination>"
		"<S3BucketDestination><Bucket>arn:aws:s3:::d</Bucket><Format>CSV</Format><Encryption>"
		"<SSE-S3></SSE-S3></Encryption></S3BucketDestination></Destination><IsEnabled>false"
		"</IsEnabled><Id>i</Id><IncludedObjectVersions>All</IncludedObjectVersions><Schedule>"
		"<Frequency>Daily</Frequency></Schedule></InventoryConfiguration>");
	assert_int_equal(inventory(out.ptr, &back, &storage, &err), S3I_OK);
	assert_int_equal(back.encryption, S3I_S3_INVENTORY_SSE_S3);

	/* refused before anything is written; `out` keeps what it held */
	struct { s3i_s3_inventory_config c; const char *says; } bad[10];
	for (int i = 0; i < 10; i++)
		bad[i].c = small;
	bad[0].c.id = NULL; bad[0].says = "the id is empty";
	bad[1].c.destination_bucket_arn = "d"; bad[1].says = "bucket ARN";
	bad[2].c.destination_bucket_arn = "arn:aws:sqs:::d"; bad[2].says = "bucket ARN";
	bad[3].c.format = S3I_S3_INVENTORY_FORMAT_UNKNOWN; bad[3].says = "format 0";
	bad[4].c.versions = (s3i_s3_inventory_versions)9; bad[4].says = "included object versions 9";
	bad[5].c.frequency = S3I_S3_INVENTORY_FREQUENCY_UNKNOWN; bad[5].says = "frequency 0";
	bad[6].c.encryption = S3I_S3_INVENTORY_SSE_KMS; bad[6].says = "SSE-KMS needs a KMS key id";
	bad[7].c.optional_fields = 1u << 20; bad[7].says = "unknown optional field bits 0x100000";
	bad[8].c.other_fields = "Good,,Bad"; bad[8].says = "other_fields 'Good,,Bad'";
	bad[9].c.other_fields = "Size"; bad[9].says = "other_fields 'Size'";
	s3i_buf_clear(&out);
	assert_int_equal(s3i_buf_puts(&out, "kept"), S3I_OK);
	for (int i = 0; i < 10; i++) {
		s3i_errinfo_init(&err);
		int rc = s3i_s3_inventory_xml(&out, &bad[i].c, &err);
		if (rc != S3I_EINVALID || !strstr(err.message, bad[i].says))
			fprintf(stderr, "case %d: rc %d '%s'\n", i, rc, err.message);
		assert_int_equal(rc, S3I_EINVALID);
		assert_non_null(strstr(err.message, bad[i].says));
		assert_string_equal(out.ptr, "kept");
	}
	assert_int_equal(s3i_s3_inventory_xml(&out, NULL, &err), S3I_EINVALID);
	s3i_buf_dispose(&storage);
	s3i_buf_dispose(&out);
}

static void t_inventory_copy(void **state)
{
	(void)state;
	s3i_s3_inventory_config c = { .id = "a", .destination_bucket_arn = "arn:aws:s3:::b",
		.format = S3I_S3_INVENTORY_ORC, .optional_fields = 5 };
	s3i_buf storage;
	s3i_buf_init(&storage, s3i_test_alloc());
	s3i_s3_inventory_config d;
	assert_int_equal(s3i_s3_inventory_config_copy(&d, &storage, &c), S3I_OK);
	char id[] = "changed";
	c.id = id;
	assert_string_equal(d.id, "a");
	assert_string_equal(d.destination_bucket_arn, "arn:aws:s3:::b");
	assert_string_equal(d.kms_key_id, "");            /* NULL becomes "" */
	assert_string_equal(d.other_fields, "");
	assert_int_equal(d.format, S3I_S3_INVENTORY_ORC);
	assert_int_equal(d.optional_fields, 5);
	assert_true(d.id >= storage.ptr && d.id < storage.ptr + storage.size);
	s3i_buf_dispose(&storage);
}

/* ------------------------------------------------------------------ notifications */

typedef struct notify_seen {
	char lines[8][400];
	int n;
	int stop_at;
} notify_seen;

static int on_notification(void *p, const s3i_s3_notification *n)
{
	notify_seen *s = p;
	assert_true(s->n < 8);
	int at = snprintf(s->lines[s->n], sizeof(s->lines[0]), "%d|%s|%s|%s|%s|", (int)n->kind,
		n->id, n->arn, n->prefix, n->suffix);
	for (size_t i = 0; i < n->nevents; i++)
		at += snprintf(s->lines[s->n] + at, sizeof(s->lines[0]) - (size_t)at, "%s%s",
			i ? "," : "", n->events[i]);
	s->n++;
	return s->stop_at && s->n >= s->stop_at;
}

static int notifications(const char *body, notify_seen *s, int *eb, s3i_errinfo *err)
{
	s3i_errinfo_init(err);
	return s3i_s3_parse_notification_config(s3i_test_alloc(), body, strlen(body), NULL,
		on_notification, s, eb, err);
}

static void t_notifications(void **state)
{
	(void)state;
	const char *aws = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<NotificationConfiguration "
		"xmlns=\"" XMLNS "\">\n  <TopicConfiguration>\n    <Id>YjVkM2Y0YmU</Id>\n"
		"    <Topic>arn:aws:sns:us-east-1:123456789012:s3notificationtopic2</Topic>\n"
		"    <Event>s3:ReducedRedundancyLostObject</Event>\n    <Event>s3:ObjectCreated:*</Event>\n"
		"    <Filter><S3Key><FilterRule><Name>Prefix</Name><Value>images/</Value></FilterRule>"
		"<FilterRule><Name>Suffix</Name><Value>.jpg</Value></FilterRule></S3Key></Filter>\n"
		"  </TopicConfiguration>\n  <CloudFunctionConfiguration><Id>f</Id><CloudFunction>"
		"arn:aws:lambda:us-east-1:1:function:f</CloudFunction><Event>s3:ObjectRemoved:*</Event>"
		"</CloudFunctionConfiguration>\n  <QueueConfiguration><Queue>arn:aws:sqs:us-east-1:1:q"
		"</Queue><Event>s3:ObjectCreated:Put</Event><Filter><S3Key><FilterRule><Name>suffix"
		"</Name><Value>a&amp;b</Value></FilterRule></S3Key></Filter></QueueConfiguration>\n"
		"  <EventBridgeConfiguration></EventBridgeConfiguration>\n</NotificationConfiguration>\n";
	notify_seen s = { 0 };
	int eb = -1;
	s3i_errinfo err;
	assert_int_equal(notifications(aws, &s, &eb, &err), S3I_OK);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.lines[0], "1|YjVkM2Y0YmU|arn:aws:sns:us-east-1:123456789012:"
		"s3notificationtopic2|images/|.jpg|s3:ReducedRedundancyLostObject,s3:ObjectCreated:*");
	assert_string_equal(s.lines[1], "3|f|arn:aws:lambda:us-east-1:1:function:f|||"
		"s3:ObjectRemoved:*");
	assert_string_equal(s.lines[2], "2||arn:aws:sqs:us-east-1:1:q||a&b|s3:ObjectCreated:Put");
	assert_int_equal(eb, 1);

	/* moto's empty answer */
	memset(&s, 0, sizeof(s));
	assert_int_equal(notifications("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<GetBucketNotificationResponse xmlns=\"" XMLNS "\"/>", &s, &eb, &err), S3I_OK);
	assert_int_equal(s.n, 0);
	assert_int_equal(eb, 0);

	static const struct { const char *body; int code; const char *says; } bad[] = {
		{ "<N><QueueConfiguration><Event>e</Event></QueueConfiguration></N>", S3I_EPARSE,
			"notification configuration 1: no Queue ARN" },
		{ "<N><TopicConfiguration><Queue>arn:q</Queue></TopicConfiguration></N>", S3I_EPARSE,
			"no Topic ARN" },
		{ "<N><QueueConfiguration><Queue>arn:q</Queue><Event></Event></QueueConfiguration></N>",
			S3I_EPARSE, "an empty Event" },
		{ "<N><QueueConfiguration><Queue>arn:q</Queue><Filter><S3Key><FilterRule><Name>middle"
			"</Name><Value>x</Value></FilterRule></S3Key></Filter></QueueConfiguration></N>",
			S3I_EPARSE, "FilterRule Name 'middle' is neither prefix nor suffix" },
		{ "<N><QueueConfiguration><Queue>arn:q</Queue><Filter><S3Key><FilterRule><Value>x"
			"</Value></FilterRule></S3Key></Filter></QueueConfiguration></N>", S3I_EPARSE,
			"neither prefix nor suffix" },
		{ "<Error><Code>NoSuchBucket</Code></Error>", S3I_ENOTFOUND, "NoSuchBucket" },
		{ "<N><QueueConfiguration>", S3I_EPARSE, "GetBucketNotificationConfiguration" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, 0, sizeof(s));
		eb = -1;
		int rc = notifications(bad[i].body, &s, &eb, &err);
		if (rc != bad[i].code || !strstr(err.message, bad[i].says))
			fprintf(stderr, "case %zu: rc %d '%s'\n", i, rc, err.message);
		assert_int_equal(rc, bad[i].code);
		assert_non_null(strstr(err.message, bad[i].says));
		assert_int_equal(eb, 0);
	}
	/* 64 events are read, 65 are too many */
	char many[8192];
	int at = snprintf(many, sizeof(many), "<N><QueueConfiguration><Queue>arn:q</Queue>");
	for (int i = 0; i < 64; i++)
		at += snprintf(many + at, sizeof(many) - (size_t)at, "<Event>e%d</Event>", i);
	snprintf(many + at, sizeof(many) - (size_t)at, "</QueueConfiguration></N>");
	memset(&s, 0, sizeof(s));
	assert_int_equal(notifications(many, &s, NULL, &err), S3I_OK);
	snprintf(many + at, sizeof(many) - (size_t)at, "<Event>one-more</Event></QueueConfiguration>"
		"</N>");
	memset(&s, 0, sizeof(s));
	assert_int_equal(notifications(many, &s, NULL, &err), S3I_EPARSE);
	assert_non_null(strstr(err.message, "more than 64 events"));
	/* a callback that stops */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(notifications(aws, &s, &eb, &err), S3I_EUSER);
	assert_int_equal(s.n, 2);
}

static void t_notification_xml(void **state)
{
	(void)state;
	static const char *const ev[] = { "s3:ObjectCreated:*", "s3:ObjectRemoved:<x>" };
	s3i_s3_notification items[3] = {
		{ S3I_S3_NOTIFY_LAMBDA, NULL, "arn:aws:lambda:us-east-1:1:function:f", ev, 1, NULL, NULL },
		{ S3I_S3_NOTIFY_QUEUE, "q&1", "arn:aws:sqs:us-east-1:1:q", ev, 2, "inv/", ".json" },
		{ S3I_S3_NOTIFY_TOPIC, "t", "arn:aws:sns:us-east-1:1:t", ev, 1, "", "manifest.checksum" },
	};
	s3i_s3_notification_config cfg = { items, 3, 1, 0 };
	s3i_buf out;
	s3i_buf_init(&out, s3i_test_alloc());
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_s3_notification_xml(&out, &cfg, &err), S3I_OK);
	assert_string_equal(out.ptr, "<NotificationConfiguration xmlns=\"" XMLNS "\">"
		"<TopicConfiguration><Id>t</Id><Topic>arn:aws:sns:us-east-1:1:t</Topic><Event>"
		"s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>suffix</Name><Value>"
		"manifest.checksum</Value></FilterRule></S3Key></Filter></TopicConfiguration>"
		"<QueueConfiguration><Id>q&amp;1</Id><Queue>arn:aws:sqs:us-east-1:1:q</Queue><Event>"
		"s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:&lt;x&gt;</Event><Filter><S3Key>"
		"<FilterRule><Name>prefix</Name><Value>inv/</Value></FilterRule><FilterRule><Name>suffix"
		"</Name><Value>.json</Value></FilterRule></S3Key></Filter></QueueConfiguration>"
		"<CloudFunctionConfiguration><CloudFunction>arn:aws:lambda:us-east-1:1:function:f"
		"</CloudFunction><Event>s3:ObjectCreated:*</Event></CloudFunctionConfiguration>"
		"<EventBridgeConfiguration></EventBridgeConfiguration></NotificationConfiguration>");
	s3i_buf_clear(&out);
	s3i_s3_notification_config none = { NULL, 0, 0, 0 };
	assert_int_equal(s3i_s3_notification_xml(&out, &none, &err), S3I_OK);
	assert_string_equal(out.ptr, "<NotificationConfiguration xmlns=\"" XMLNS "\">"
		"</NotificationConfiguration>");

	static const char *const empty_event[] = { "" };
	struct { s3i_s3_notification n; const char *says; } bad[4] = {
		{ { (s3i_s3_notification_kind)0, NULL, "arn:x", ev, 1, NULL, NULL }, "kind 0" },
		{ { S3I_S3_NOTIFY_TOPIC, NULL, "", ev, 1, NULL, NULL }, "the Topic ARN is empty" },
		{ { S3I_S3_NOTIFY_QUEUE, NULL, "arn:q", NULL, 0, NULL, NULL }, "(arn:q): no events" },
		{ { S3I_S3_NOTIFY_QUEUE, NULL, "arn:q", empty_event, 1, NULL, NULL },
			"event 0 is empty" },
	};
	s3i_buf_clear(&out);
	for (int i = 0; i < 4; i++) {
		s3i_s3_notification two[2] = { items[0], bad[i].n };
		s3i_s3_notification_config c = { two, 2, 0, 0 };
		s3i_errinfo_init(&err);
		int rc = s3i_s3_notification_xml(&out, &c, &err);
		if (rc != S3I_EINVALID || !strstr(err.message, bad[i].says))
			fprintf(stderr, "case %d: rc %d '%s'\n", i, rc, err.message);
		assert_int_equal(rc, S3I_EINVALID);
		assert_non_null(strstr(err.message, "notification 1"));
		assert_non_null(strstr(err.message, bad[i].says));
		assert_int_equal(out.size, 0);
	}
	s3i_s3_notification_config holes = { NULL, 2, 0, 0 };
	assert_int_equal(s3i_s3_notification_xml(&out, &holes, &err), S3I_EINVALID);
	s3i_buf_dispose(&out);
}

/* ------------------------------------------------------------------ out of memory */

/* Each parser and writer with the Nth allocation failing, for every N until one succeeds:
 * S3I_ENOMEM (or S3I_EPARSE when expat reports its own allocation failure as such) and
 * nothing leaked (the teardown checks). */
static int run_all(void)
{
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc;
	{
		s3i_s3_bucket_page page;
		s3i_s3_bucket_page_init(&page, s3i_test_alloc());
		buckets_seen s = { 0 };
		rc = s3i_s3_parse_list_buckets(s3i_test_alloc(), aws_buckets, strlen(aws_buckets), NULL,
			on_bucket, &s, &page, &err);
		s3i_s3_bucket_page_free(&page);
		if (rc)
			return rc;
	}
	{
		s3i_s3_inventory_config c;
		s3i_buf storage;
		s3i_buf_init(&storage, s3i_test_alloc());
		rc = s3i_s3_parse_inventory_config(s3i_test_alloc(), aws_inventory,
			strlen(aws_inventory), NULL, &c, &storage, &err);
		if (!rc) {
			s3i_buf out;
			s3i_buf_init(&out, s3i_test_alloc());
			rc = s3i_s3_inventory_xml(&out, &c, &err);
			s3i_buf_dispose(&out);
		}
		s3i_buf_dispose(&storage);
		if (rc)
			return rc;
	}
	{
		const char *list = "<L><InventoryConfiguration><Id>a</Id><OptionalFields><Field>New"
			"</Field></OptionalFields></InventoryConfiguration><IsTruncated>true</IsTruncated>"
			"<NextContinuationToken>t</NextContinuationToken></L>";
		s3i_s3_inventory_page page;
		s3i_s3_inventory_page_init(&page, s3i_test_alloc());
		rc = s3i_s3_parse_inventory_list(s3i_test_alloc(), list, strlen(list), NULL, NULL, NULL,
			&page, &err);
		s3i_s3_inventory_page_free(&page);
		if (rc)
			return rc;
	}
	{
		const char *n = "<N><QueueConfiguration><Id>i</Id><Queue>arn:q</Queue><Event>e</Event>"
			"<Filter><S3Key><FilterRule><Name>prefix</Name><Value>p</Value></FilterRule>"
			"</S3Key></Filter></QueueConfiguration></N>";
		notify_seen s = { 0 };
		rc = s3i_s3_parse_notification_config(s3i_test_alloc(), n, strlen(n), NULL,
			on_notification, &s, NULL, &err);
		if (rc)
			return rc;
		static const char *const ev[] = { "e" };
		s3i_s3_notification item = { S3I_S3_NOTIFY_QUEUE, "i", "arn:q", ev, 1, "p", "s" };
		s3i_s3_notification_config cfg = { &item, 1, 1, 0 };
		s3i_buf out;
		s3i_buf_init(&out, s3i_test_alloc());
		rc = s3i_s3_notification_xml(&out, &cfg, &err);
		s3i_buf_dispose(&out);
	}
	return rc;
}

static void t_out_of_memory(void **state)
{
	(void)state;
	int failures = 0;
	for (long n = 0;; n++) {
		s3i_test_alloc_fail_after(n);
		int rc = run_all();
		s3i_test_alloc_fail_after(-1);
		assert_int_equal(s3i_test_alloc_outstanding(), 0);
		if (rc == S3I_OK)
			break;
		if (rc != S3I_ENOMEM && rc != S3I_EPARSE)
			fprintf(stderr, "allocation %ld failing gave %d\n", n, rc);
		assert_true(rc == S3I_ENOMEM || rc == S3I_EPARSE);
		failures++;
		assert_true(n < 10000);
	}
	assert_true(failures > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_buckets_aws),
		S3I_TEST(t_buckets_bad),
		S3I_TEST(t_inventory_aws),
		S3I_TEST(t_inventory_bad),
		S3I_TEST(t_inventory_list),
		S3I_TEST(t_inventory_fields),
		S3I_TEST(t_inventory_xml),
		S3I_TEST(t_inventory_copy),
		S3I_TEST(t_notifications),
		S3I_TEST(t_notification_xml),
		S3I_TEST(t_out_of_memory),
	};
	return cmocka_run_group_tests_name("s3_bucket_parse", tests, NULL, NULL);
}
