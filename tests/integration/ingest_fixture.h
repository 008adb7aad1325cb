/*
 * The fixture shared by test_stage_ingest.c and test_stage_partition.c: a deployment and runs
 * on moto, staging buckets and routes, configured source buckets, S3 Inventory deliveries
 * written independently of the library's own writers (rows quoted here, keys form-encoded
 * here, gzip by zlib, MD5 by OpenSSL, manifest.json by snprintf, in S3's order), S3 event
 * messages in AWS's documented format, and the consolidated rows read back.
 * Included by one test program each (static functions).
 */
#ifndef S3I_TEST_INGEST_FIXTURE_H
#define S3I_TEST_INGEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <zlib.h>
#include <openssl/evp.h>

#include "s3insights/s3insights.h"
#include "s3insights/stage_ingest.h"
#include "s3insights/stage_partition.h"
#include "stages/run_internal.h"
#include "stages/names.h"
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "services/sqs.h"
#include "moto.h"
#include "stage_fixture.h"
#include "check.h"
#include "test_alloc.h"

#define FX_FN static __attribute__((unused))

#define HOST "123456789012"
#define OTHER "111111111111"
#define NCOL 21
#define SHORT_NCOL 9

static const char *SCHEMA_ALL = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, "
	"LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, "
	"EncryptionStatus, ObjectLockRetainUntilDate, ObjectLockMode, ObjectLockLegalHoldStatus, "
	"IntelligentTieringAccessTier, BucketKeyStatus, ChecksumAlgorithm, "
	"ObjectAccessControlList, ObjectOwner, LifecycleExpirationDate";
static const char *SCHEMA_SHORT = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, "
	"LastModifiedDate, ETag, StorageClass";

static s3i_moto *moto;

FX_FN int group_setup(void **state)
{
	(void)state;
	static const char *const env[] = { "S3_UPLOAD_PART_MIN_SIZE=256", NULL };
	return s3i_stage_fx_start_moto(&moto, env);
}

FX_FN int group_teardown(void **state)
{
	(void)state;
	s3i_moto_stop(moto);
	return 0;
}

/* ------------------------------------------------------------------ small tools */

typedef struct sbuf {
	char *p;
	size_t n, cap;
} sbuf;

FX_FN void sb_put(sbuf *b, const void *d, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = 0;
}

FX_FN void sb_puts(sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

FX_FN void sb_printf(sbuf *b, const char *fmt, ...)
{
	char tmp[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	sb_put(b, tmp, (size_t)n);
}

/* Form-style URL encoding as S3 Inventory writes keys: space as '+', unreserved bytes kept,
 * everything else %XX; keep_slash for event keys (S3 events leave '/' alone). */
FX_FN void form_encode(sbuf *b, const char *s, int keep_slash)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			*p == '.' || *p == '-' || *p == '_' || *p == '*' || (keep_slash && *p == '/'))
			sb_put(b, p, 1);
		else if (*p == ' ')
			sb_puts(b, "+");
		else
			sb_printf(b, "%%%02X", *p);
	}
}

FX_FN void md5_hex(const void *d, size_t n, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mn = 0;
	assert_true(EVP_Digest(d, n, md, &mn, EVP_md5(), NULL));
	for (unsigned i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

FX_FN void gzip_bytes(const char *in, size_t n, sbuf *out)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&z, n) + 64;
	out->n = 0;
	sb_put(out, "", 0);
	out->p = realloc(out->p, cap);
	out->cap = cap;
	z.next_in = (unsigned char *)in;
	z.avail_in = (unsigned)n;
	z.next_out = (unsigned char *)out->p;
	z.avail_out = (unsigned)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	out->n = cap - z.avail_out;
	deflateEnd(&z);
}

FX_FN void gunzip_bytes(const char *in, size_t n, sbuf *out)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 31), Z_OK);
	z.next_in = (unsigned char *)in;
	z.avail_in = (unsigned)n;
	char chunk[16384];
	for (;;) {
		z.next_out = (unsigned char *)chunk;
		z.avail_out = sizeof(chunk);
		int rc = inflate(&z, Z_NO_FLUSH);
		sb_put(out, chunk, sizeof(chunk) - z.avail_out);
		if (rc == Z_STREAM_END) {
			if (!z.avail_in)
				break;
			inflateReset(&z);        /* another member */
			continue;
		}
		assert_int_equal(rc, Z_OK);
	}
	inflateEnd(&z);
}

/* A row: NCOL fields (strings owned by the row). */
typedef struct row {
	char *f[NCOL];
} row;

FX_FN void row_free(row *r)
{
	for (int i = 0; i < NCOL; i++)
		free(r->f[i]);
}

/* One quoted CSV line of n fields, quotes doubled. */
FX_FN void csv_line(sbuf *b, char *const *f, int n)
{
	for (int i = 0; i < n; i++) {
		sb_puts(b, i ? ",\"" : "\"");
		for (const char *p = f[i] ? f[i] : ""; *p; p++) {
			if (*p == '"')
				sb_puts(b, "\"\"");
			else
				sb_put(b, p, 1);
		}
		sb_puts(b, "\"");
	}
	sb_puts(b, "\n");
}

/* Parse one RFC 4180 line (every field quoted or not) into fields joined by '\x1f'. */
static const char *csv_parse_line(const char *p, sbuf *joined)
{
	int field = 0;
	for (;;) {
		if (field++)
			sb_puts(joined, "\x1f");
		if (*p == '"') {
			p++;
			for (;;) {
				assert_true(*p != 0);
				if (*p == '"' && p[1] == '"') {
					sb_puts(joined, "\"");
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					sb_put(joined, p++, 1);
				}
			}
		} else {
			while (*p && *p != ',' && *p != '\n')
				sb_put(joined, p++, 1);
		}
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '\n')
			p++;
		return p;
	}
}

FX_FN int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ------------------------------------------------------------------ the fixture */

typedef struct fx {
	s3i_ctx *ctx;
	s3i_deployment *d;
	s3i_state *state;
	char queue_url[1024];
	s3i_svc host;                /* us-east-1 */
} fx;

FX_FN void fx_open(fx *f)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(s3i_moto_reset(moto), 0);
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	CHECK_OK(s3i_ctx_new(&f->ctx, &o));
	s3i_deployment_options dopts = S3I_DEPLOYMENT_OPTIONS_INIT;
	dopts.name = "dep1";
	CHECK_OK(s3i_deployment_open(&f->d, f->ctx, &dopts));
	CHECK_OK(s3i_deployment_init(f->d));
	f->state = s3i_deployment_state(f->d);
	CHECK_OK(s3i_deployment_queue_url(f->d, f->queue_url, sizeof(f->queue_url)));
	f->host.client = s3i_ctx_client(f->ctx);
	f->host.region = "us-east-1";
}

FX_FN void fx_close(fx *f)
{
	s3i_deployment_free(f->d);
	s3i_ctx_release(f->ctx);
}

FX_FN s3i_run *start_run(fx *f, const char *run_id, s3i_run_input **in_out)
{
	char json[1024];
	snprintf(json, sizeof(json), "{\"run_id\":\"%s\",\"accounts\":[{\"id\":\"" HOST "\"},"
		"{\"id\":\"" OTHER "\"}],\"athena_queries\":[],\"sender_email_address\":"
		"\"a@example.com\",\"recipient_email_addresses\":[\"b@example.com\"],"
		"\"supported_regions\":[\"us-east-1\",\"eu-west-1\"]}", run_id);
	s3i_run_input *in = NULL;
	CHECK_OK(s3i_run_input_parse(&in, json, strlen(json), s3i_test_alloc(), NULL));
	s3i_run *run = NULL;
	CHECK_OK(s3i_run_start(&run, f->d, in));
	*in_out = in;
	return run;
}

FX_FN void staging_name(char *out, const char *run_id, const char *region)
{
	CHECK_OK(s3i_names_staging_bucket(out, 64, "dep1", run_id, HOST, region));
}

/* The run's staging bucket in region and its route (what provision does). */
FX_FN void add_region(fx *f, const char *run_id, const char *region)
{
	char staging[64];
	staging_name(staging, run_id, region);
	s3i_svc svc = { s3i_ctx_client(f->ctx), NULL, region };
	CHECK_OK(s3i_s3_create_bucket_op(&svc, staging, region, NULL));
	CHECK_OK(s3i_state_route_put(f->state, staging, run_id, region, HOST, NULL));
}

/* fx_open, then run r1 started (*in_out its input) with its staging bucket and route in
 * us-east-1; undone by fx_close_run. */
FX_FN s3i_run *fx_open_run(fx *f, s3i_run_input **in_out)
{
	fx_open(f);
	s3i_run *run = start_run(f, "r1", in_out);
	add_region(f, "r1", "us-east-1");
	return run;
}

FX_FN void fx_close_run(fx *f, s3i_run *run, s3i_run_input *in)
{
	s3i_run_free(run);
	s3i_run_input_free(in);
	fx_close(f);
}

/* A source bucket of the run, configured (what configure does): the bucket in its account,
 * its inventory configuration, its state item in_progress. */
FX_FN void add_bucket(fx *f, s3i_run *run, const char *account, const char *region,
	const char *bucket)
{
	const char *run_id = s3i_run_id(run);
	s3i_svc svc;
	s3i_credprov *hold = NULL;
	CHECK_OK(s3i_run_account_svc(run, account, region, &svc, &hold, NULL));
	CHECK_OK(s3i_s3_create_bucket_op(&svc, bucket, region, NULL));
	CHECK_OK(s3i_s3_put_object_op(&svc, bucket, "some object", "x", 1, NULL, NULL));
	char staging[64], id[64], prefix[64], arn[128];
	staging_name(staging, run_id, region);
	CHECK_OK(s3i_names_inventory_id(id, sizeof(id), "dep1", run_id));
	snprintf(prefix, sizeof(prefix), "%s/%s", account, region);
	snprintf(arn, sizeof(arn), "arn:aws:s3:::%s", staging);
	s3i_s3_inventory_config cfg = { 0 };
	cfg.id = id;
	cfg.enabled = 1;
	cfg.destination_bucket_arn = arn;
	cfg.destination_account_id = HOST;
	cfg.destination_prefix = prefix;
	cfg.format = S3I_S3_INVENTORY_CSV;
	cfg.versions = S3I_S3_INVENTORY_VERSIONS_ALL;
	cfg.frequency = S3I_S3_INVENTORY_DAILY;
	cfg.optional_fields = S3I_S3_INVENTORY_FIELDS_ALL;
	CHECK_OK(s3i_s3_put_bucket_inventory_configuration_op(&svc, bucket, &cfg, NULL));
	s3i_credprov_release(hold);
	int created = 0;
	int64_t now = (int64_t)time(NULL) * 1000;
	CHECK_OK(s3i_state_bucket_add(f->state, run_id, account, region, bucket,
		S3I_BUCKET_DISCOVERED, NULL, now, &created, NULL));
	CHECK_OK(s3i_state_bucket_set_status(f->state, run_id, account, bucket,
		S3I_BUCKET_IN_PROGRESS, NULL, now, NULL, NULL));
	CHECK_OK(s3i_state_bucket_set_inventory_configured(f->state, run_id, account, bucket, 1,
		now, NULL));
}

/* Whether the bucket's inventory configuration is still there. */
FX_FN int has_inventory_config(fx *f, s3i_run *run, const char *account, const char *region,
	const char *bucket)
{
	s3i_svc svc;
	s3i_credprov *hold = NULL;
	CHECK_OK(s3i_run_account_svc(run, account, region, &svc, &hold, NULL));
	char id[64];
	CHECK_OK(s3i_names_inventory_id(id, sizeof(id), "dep1", s3i_run_id(run)));
	s3i_s3_inventory_config cfg;
	s3i_buf storage;
	s3i_buf_init(&storage, s3i_test_alloc());
	int rc = s3i_s3_get_bucket_inventory_configuration_op(&svc, bucket, id, &cfg, &storage,
		NULL);
	s3i_buf_dispose(&storage);
	s3i_credprov_release(hold);
	assert_true(rc == S3I_OK || rc == S3I_ENOTFOUND);
	return rc == S3I_OK;
}

/* Seeded objects of a source bucket, as inventory rows (the key form-encoded). */
FX_FN void make_rows(row *rows, int n, const char *bucket, int seed)
{
	for (int i = 0; i < n; i++) {
		row *r = &rows[i];
		memset(r, 0, sizeof(*r));
		char key[256], tmp[64];
		/* spaces, a plus, a comma, non-ASCII: all of it goes through the form encoding */
		snprintf(key, sizeof(key), "dir %d/file+%d, \xc3\xa9t\xc3\xa9 %d.txt", seed, i, i * 7);
		sbuf enc = { 0 };
		form_encode(&enc, key, 0);
		r->f[0] = strdup(bucket);
		r->f[1] = enc.p;
		snprintf(tmp, sizeof(tmp), i % 3 == 0 ? "" : "v%d.%d", seed, i);
		r->f[2] = strdup(tmp);
		r->f[3] = strdup(i % 5 == 4 ? "false" : "true");
		r->f[4] = strdup("false");
		snprintf(tmp, sizeof(tmp), "%d", 1000 * seed + i * 13);
		r->f[5] = strdup(tmp);
		r->f[6] = strdup("2026-12-01T10:00:00.000Z");
		char md5[33];
		md5_hex(key, strlen(key), md5);
		r->f[7] = strdup(md5);
		r->f[8] = strdup(i % 4 ? "STANDARD" : "GLACIER_IR");
		for (int c = 9; c < NCOL; c++)
			r->f[c] = strdup("");
		if (i == 1)
			r->f[19] = (free(r->f[19]), strdup("owner \"quoted\", with a comma"));
	}
}

/* n rows of `bucket` made from `seed` (make_rows), freed with free_rows. */
FX_FN row *seeded(int n, const char *bucket, int seed)
{
	row *r = calloc((size_t)n, sizeof(row));
	make_rows(r, n, bucket, seed);
	return r;
}

FX_FN void free_rows(row *rows, int n)
{
	for (int i = 0; i < n; i++)
		row_free(&rows[i]);
	free(rows);
}

FX_FN int64_t rows_bytes(const row *rows, int n)
{
	int64_t b = 0;
	for (int i = 0; i < n; i++)
		b += atoll(rows[i].f[5]);
	return b;
}

/* One data file of a delivery. */
typedef struct data_file {
	const row *rows;
	int nrows;
	int short_schema;            /* written with SCHEMA_SHORT's 9 columns */
	int multipart;               /* uploaded by multipart */
	int64_t size_delta;          /* added to the manifest's size (a mismatch) */
	char key[512];               /* filled: its key in the staging bucket */
} data_file;

typedef struct delivery {
	const char *run_id;
	const char *account;
	const char *region;
	const char *bucket;
	const char *folder;          /* "2026-12-04T00-00Z" */
	data_file *files;
	int nfiles;
	int bad_checksum;            /* manifest.checksum that does not match */
	int no_manifest;             /* write only manifest.checksum (a poison delivery) */
	char checksum_key[512];      /* filled */
	int64_t checksum_size;
} delivery;

FX_FN void put(fx *f, const char *region, const char *bucket, const char *key, const void *d,
	size_t n)
{
	s3i_svc svc = { s3i_ctx_client(f->ctx), NULL, region };
	CHECK_OK(s3i_s3_put_object_op(&svc, bucket, key, d, n, "application/octet-stream", NULL));
}

typedef struct mem_src {
	const char *p;
	size_t n, off;
} mem_src;

FX_FN int mem_read(void *user, char *buf, size_t cap, size_t *out)
{
	mem_src *m = user;
	size_t k = m->n - m->off < cap ? m->n - m->off : cap;
	memcpy(buf, m->p + m->off, k);
	m->off += k;
	*out = k;
	return 0;
}

FX_FN int mem_rewind(void *user)
{
	((mem_src *)user)->off = 0;
	return 0;
}

/* Write the delivery in S3's order. */
FX_FN void write_delivery(fx *f, delivery *dv)
{
	char staging[64], id[64], base[300];
	staging_name(staging, dv->run_id, dv->region);
	CHECK_OK(s3i_names_inventory_id(id, sizeof(id), "dep1", dv->run_id));
	snprintf(base, sizeof(base), "%s/%s/%s/%s", dv->account, dv->region, dv->bucket, id);
	sbuf manifest = { 0 };
	sb_printf(&manifest, "{\"sourceBucket\":\"%s\",\"destinationBucket\":\"arn:aws:s3:::%s\","
		"\"version\":\"2016-11-30\",\"creationTimestamp\":\"1764806400000\","
		"\"fileFormat\":\"CSV\",\"fileSchema\":\"%s\",\"files\":[", dv->bucket, staging,
		dv->nfiles && dv->files[0].short_schema ? SCHEMA_SHORT : SCHEMA_ALL);
	for (int i = 0; i < dv->nfiles; i++) {
		data_file *df = &dv->files[i];
		sbuf csv = { 0 }, gz = { 0 };
		for (int r = 0; r < df->nrows; r++)
			csv_line(&csv, df->rows[r].f, df->short_schema ? SHORT_NCOL : NCOL);
		gzip_bytes(csv.p ? csv.p : "", csv.n, &gz);
		char md5[33];
		md5_hex(gz.p, gz.n, md5);
		snprintf(df->key, sizeof(df->key), "%s/data/%s-%s-%d-%08x.csv.gz", base, dv->folder,
			dv->bucket, i, (unsigned)(gz.n * 2654435761u));
		if (df->multipart) {
			assert_true(gz.n > 1024);
			s3i_svc svc = { s3i_ctx_client(f->ctx), NULL, dv->region };
			s3i_s3_transfer_options to = S3I_S3_TRANSFER_OPTIONS_INIT;
			to.multipart_threshold = 512;
			to.part_size = 512;
			s3i_s3_object_meta meta = S3I_S3_OBJECT_META_INIT;
			mem_src src = { gz.p, gz.n, 0 };
			CHECK_OK(s3i_s3_upload_op(&svc, staging, df->key, (int64_t)gz.n, &to, &meta,
				mem_read, mem_rewind, &src, NULL));
			assert_true(meta.parts > 1);
		} else {
			put(f, dv->region, staging, df->key, gz.p, gz.n);
		}
		sb_printf(&manifest, "%s{\"key\":\"%s\",\"size\":%lld,\"MD5checksum\":\"%s\"}",
			i ? "," : "", df->key, (long long)gz.n + (long long)df->size_delta, md5);
		free(csv.p);
		free(gz.p);
	}
	sb_puts(&manifest, "]}");
	char mkey[600], sum[33];
	snprintf(mkey, sizeof(mkey), "%s/%s/manifest.json", base, dv->folder);
	snprintf(dv->checksum_key, sizeof(dv->checksum_key), "%s/%s/manifest.checksum", base,
		dv->folder);
	md5_hex(manifest.p, manifest.n, sum);
	if (dv->bad_checksum)
		sum[0] = sum[0] == '0' ? '1' : '0';
	if (!dv->no_manifest)
		put(f, dv->region, staging, mkey, manifest.p, manifest.n);
	char sum_text[40];
	snprintf(sum_text, sizeof(sum_text), "%s\n", sum);
	put(f, dv->region, staging, dv->checksum_key, sum_text, strlen(sum_text));
	dv->checksum_size = (int64_t)strlen(sum_text);
	sbuf link = { 0 };
	for (int i = 0; i < dv->nfiles; i++)
		sb_printf(&link, "s3://%s/%s\n", staging, dv->files[i].key);
	char lkey[600];
	snprintf(lkey, sizeof(lkey), "%s/hive/dt=2026-12-04-00-00/symlink.txt", base);
	put(f, dv->region, staging, lkey, link.p ? link.p : "", link.n);
	free(link.p);
	free(manifest.p);
}

/* ------------------------------------------------------------------ events */

/* An S3 event notification as AWS documents it (event structure 2.1). */
FX_FN char *s3_event(const char *region, const char *bucket, const char *key, int64_t size,
	const char *event_name)
{
	sbuf k = { 0 }, b = { 0 };
	form_encode(&k, key, 1);
	sb_printf(&b, "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\","
		"\"awsRegion\":\"%s\",\"eventTime\":\"2026-12-04T00:05:00.000Z\",\"eventName\":\"%s\","
		"\"userIdentity\":{\"principalId\":\"AWS:AROAEXAMPLE:s3-inventory\"},"
		"\"requestParameters\":{\"sourceIPAddress\":\"10.0.0.1\"},"
		"\"responseElements\":{\"x-amz-request-id\":\"C3D13FE58DE4C810\","
		"\"x-amz-id-2\":\"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD\"},"
		"\"s3\":{\"s3SchemaVersion\":\"1.0\",\"configurationId\":\"inventory-delivered\","
		"\"bucket\":{\"name\":\"%s\",\"ownerIdentity\":{\"principalId\":\"A3NL1KOZZKExample\"},"
		"\"arn\":\"arn:aws:s3:::%s\"},\"object\":{\"key\":\"%s\",\"size\":%lld,"
		"\"eTag\":\"d41d8cd98f00b204e9800998ecf8427e\",\"sequencer\":\"0055AED6DCD90281E5\"}}}]}",
		region, event_name, bucket, bucket, k.p, (long long)size);
	free(k.p);
	return b.p;
}

/* The same inside an SNS envelope (SNS -> SQS without raw delivery). */
FX_FN char *sns_wrap(char *inner, const char *run_id)
{
	sbuf b = { 0 };
	sb_printf(&b, "{\"Type\":\"Notification\",\"MessageId\":\"22b80b92-fdea-4c2c-8f9d-"
		"bdfb0c7bf324\",\"TopicArn\":\"arn:aws:sns:us-east-1:" HOST ":dep1-%s-sns-"
		"notification-topic\",\"Subject\":\"Amazon S3 Notification\",\"Message\":\"", run_id);
	for (const char *p = inner; *p; p++) {
		if (*p == '"' || *p == '\\')
			sb_puts(&b, "\\");
		sb_put(&b, p, 1);
	}
	sb_puts(&b, "\",\"Timestamp\":\"2026-12-04T00:05:00.123Z\",\"SignatureVersion\":\"1\","
		"\"Signature\":\"EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7f"
		"UQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GW"
		"pV9eNd8/no2VhdF+c8U=\",\"SigningCertURL\":\"https://sns.us-east-1.amazonaws.com/"
		"SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem\",\"UnsubscribeURL\":"
		"\"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe\"}");
	free(inner);
	return b.p;
}

FX_FN void send_body(fx *f, const char *url, char *body)
{
	CHECK_OK(s3i_sqs_send_op(&f->host, url, body, 0, NULL, 0, NULL));
	free(body);
}

FX_FN void send_test_event(fx *f, const char *staging)
{
	char body[512];
	snprintf(body, sizeof(body), "{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\","
		"\"Time\":\"2026-12-04T00:00:00.000Z\",\"Bucket\":\"%s\",\"RequestId\":"
		"\"5582815E1AEA5ADF\",\"HostId\":\"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6K"
		"nuZHRWDI1mwTuQW6iE1Fu5hc=\"}", staging);
	CHECK_OK(s3i_sqs_send_op(&f->host, f->queue_url, body, 0, NULL, 0, NULL));
}

/* The checksum event of a delivery: raw or in an SNS envelope. */
FX_FN void send_checksum_event(fx *f, const delivery *dv, int via_sns, const char *event_name)
{
	char staging[64];
	staging_name(staging, dv->run_id, dv->region);
	char *body = s3_event(dv->region, staging, dv->checksum_key, dv->checksum_size,
		event_name ? event_name : "ObjectCreated:Put");
	if (via_sns)
		body = sns_wrap(body, dv->run_id);
	send_body(f, f->queue_url, body);
}

FX_FN s3i_ingest *new_ingest(fx *f, const s3i_ingest_options *o)
{
	s3i_ingest_options def = S3I_INGEST_OPTIONS_INIT;
	def.wait_seconds = 1;
	def.visibility_timeout = 30;
	s3i_ingest *st = NULL;
	CHECK_OK(s3i_ingest_new(&st, f->d, o ? o : &def));
	return st;
}

FX_FN void ingest_until_empty(s3i_ingest *st)
{
	int finished = 0;
	for (int i = 0; i < 50 && !finished; i++) {
		int rc = s3i_ingest_step(st, 0, &finished);
		if (rc)
			s3i_check_show_error("s3i_ingest_step", rc);
		assert_int_equal(rc, S3I_OK);
	}
	assert_true(finished);
}

FX_FN void get_bucket(fx *f, const char *run_id, const char *account, const char *bucket,
	s3i_state_bucket *b)
{
	CHECK_OK(s3i_state_bucket_get(f->state, run_id, account, bucket, b, NULL));
}

/* ------------------------------------------------------------------ reading back */

typedef struct listed {
	char keys[64][512];
	int n;
} listed;

FX_FN int list_cb(void *payload, const s3i_s3_object_info *o)
{
	listed *l = payload;
	if (l->n < 64)
		snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", o->key);
	l->n++;
	return 0;
}

FX_FN int sink_sb(void *user, const char *d, size_t n)
{
	sb_put(user, d, n);
	return 0;
}

/* Every row under inventory/<run>/, as "<partition path>\x1e<fields joined>", sorted. */
FX_FN int read_back(fx *f, const char *run_id, char ***out)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "inventory/%s/", run_id);
	listed *l = calloc(1, sizeof(*l));
	CHECK_OK(s3i_s3_list_objects_op(&f->host, s3i_deployment_consolidated_bucket(f->d), prefix,
		list_cb, l, NULL));
	assert_true(l->n <= 64);
	char **rows = NULL;
	int n = 0;
	for (int i = 0; i < l->n; i++) {
		sbuf gz = { 0 }, plain = { 0 };
		CHECK_OK(s3i_s3_get_object_op(&f->host, s3i_deployment_consolidated_bucket(f->d),
			l->keys[i], sink_sb, NULL, &gz, NULL));
		gunzip_bytes(gz.p, gz.n, &plain);
		const char *slash = strrchr(l->keys[i], '/');
		for (const char *p = plain.p; p && *p;) {
			sbuf j = { 0 };
			sb_put(&j, l->keys[i], (size_t)(slash - l->keys[i]));
			sb_puts(&j, "\x1e");
			p = csv_parse_line(p, &j);
			rows = realloc(rows, (size_t)(n + 1) * sizeof(*rows));
			rows[n++] = j.p;
		}
		free(gz.p);
		free(plain.p);
	}
	free(l);
	if (n)
		qsort(rows, (size_t)n, sizeof(*rows), cmp_strp);
	*out = rows;
	return n;
}

/* The rows expected for a source bucket's seeded rows (nfields of each, the rest empty). */
FX_FN int expect_rows(char ***acc, int n, const char *run_id, const char *account,
	const char *region, const char *bucket, const row *rows, int nrows, int nfields)
{
	for (int i = 0; i < nrows; i++) {
		sbuf j = { 0 };
		sb_printf(&j, "inventory/%s/account=%s/region=%s/bucketname=%s\x1e", run_id, account,
			region, bucket);
		for (int c = 0; c < NCOL; c++) {
			if (c)
				sb_puts(&j, "\x1f");
			sb_puts(&j, c < nfields ? rows[i].f[c] : "");
		}
		*acc = realloc(*acc, (size_t)(n + 1) * sizeof(**acc));
		(*acc)[n++] = j.p;
	}
	return n;
}

FX_FN void assert_same_rows(char **got, int ngot, char **want, int nwant)
{
	if (nwant)
		qsort(want, (size_t)nwant, sizeof(*want), cmp_strp);
	assert_int_equal(ngot, nwant);
	for (int i = 0; i < ngot; i++)
		assert_string_equal(got[i], want[i]);
	for (int i = 0; i < ngot; i++)
		free(got[i]);
	for (int i = 0; i < nwant; i++)
		free(want[i]);
	free(got);
	free(want);
}

#endif
