/*
 * The fan-out (src/services/fanout.c) and S3 HeadObject / GetBucketLocation
 * (src/services/s3_head.c) against moto_server: 500 HeadObject calls with per-object results
 * and per-object errors for the missing ones, the concurrency limit (requests on the wire
 * counted from the transport's TRACE log), injected 503s retried on their own timers while the
 * rest go on, mixed HeadObject and GetBucketLocation in one fan-out, region normalisation (null
 * and the legacy EU), AccessDenied and missing buckets, delete markers and versions, callbacks
 * that stop the fan-out, and a second account reached through AssumeRole. State is seeded
 * with raw calls (tests/support/moto.h), not with the code under test. Every context uses the
 * counting allocator, so a leak fails the test that caused it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "aws/ctx_internal.h"
#include "aws/sigv4.h"
#include "core/str.h"
#include "services/fanout.h"
#include "services/s3_head.h"
#include "moto.h"
#include "check.h"
#include "test_alloc.h"

#define NOBJ 500
#define MISSING_EVERY 10      /* every 10th key of the 500 is never written */
#define LIMIT 8

static s3i_moto *moto;

static int group_setup(void **state)
{
	(void)state;
	setenv("S3I_RETRY_BASE_MS", "10", 1);   /* backoff without Retry-After stays short */
	return s3i_moto_start(&moto, NULL);
}

/* ------------------------------------------------------------------ log: requests on the wire */

/* The transport logs every request's headers at TRACE when it starts it ("http > Name: v")
 * and one DEBUG line when it ends ("http HEAD host/path -> 200, ..." or "... failed after"),
 * so the difference is what is on the wire at that moment. */
static struct {
	int in_flight, max_in_flight;
	int started, ended;
	int retry_warnings;
	char warnings[8192];
} wire;

static void test_log(void *user, s3i_log_level level, const char *line)
{
	(void)user;
	if (!strncmp(line, "http > Authorization:", 21)) {
		wire.started++;
		if (++wire.in_flight > wire.max_in_flight)
			wire.max_in_flight = wire.in_flight;
	} else if (!strncmp(line, "http ", 5) && line[5] >= 'A' && line[5] <= 'Z' &&
		(strstr(line, " -> ") || strstr(line, " failed after "))) {
		wire.ended++;
		wire.in_flight--;
	}
	if (level <= S3I_LOG_WARN) {
		if (strstr(line, "retrying in"))
			wire.retry_warnings++;
		size_t used = strlen(wire.warnings);
		snprintf(wire.warnings + used, sizeof(wire.warnings) - used, "%s\n", line);
		fprintf(stderr, "  [s3i %d] %s\n", (int)level, line);
	}
}

static void assert_mentions(const char *message, const char *part)
{
	if (!strstr(message, part))
		fprintf(stderr, "message '%s' does not mention '%s'\n", message, part);
	assert_non_null(strstr(message, part));
}

/* Reset moto and open a context on it: counting allocator, dummy keys, TRACE log. */
static s3i_ctx *begin(s3i_svc *svc)
{
	assert_int_equal(s3i_moto_reset(moto), 0);
	memset(&wire, 0, sizeof(wire));
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_moto_url(moto);
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	o.log_fn = test_log;
	o.log_level = S3I_LOG_TRACE;
	s3i_ctx *ctx = NULL;
	CHECK_OK(s3i_ctx_new(&ctx, &o));
	svc->client = s3i_ctx_client(ctx);
	svc->creds = NULL;
	svc->region = NULL;
	return ctx;
}

/* ------------------------------------------------------------------ seeding (raw calls) */

static void raw(const char *method, const char *path, const char *region, const char *body,
	const char *account, int want_status)
{
	char account_header[64];
	const char *headers[2] = { NULL, NULL };
	if (account) {
		snprintf(account_header, sizeof(account_header), "x-moto-account-id: %s", account);
		headers[0] = account_header;
	}
	s3i_moto_req req = { .method = method, .path = path, .service = "s3", .region = region,
		.body = body, .content_type = body ? "application/octet-stream" : NULL,
		.headers = headers };
	int status = 0;
	char *out = NULL;
	assert_int_equal(s3i_moto_call(moto, &req, &out, &status), 0);
	if (status != want_status)
		fprintf(stderr, "%s %s -> %d: %s\n", method, path, status, out ? out : "");
	assert_int_equal(status, want_status);
	free(out);
}

static void make_bucket(const char *bucket, const char *region, const char *account)
{
	char path[256], body[512];
	snprintf(path, sizeof(path), "/%s", bucket);
	if (region && strcmp(region, "us-east-1")) {
		snprintf(body, sizeof(body), "<CreateBucketConfiguration><LocationConstraint>%s"
			"</LocationConstraint></CreateBucketConfiguration>", region);
		raw("PUT", path, region, body, account, 200);
	} else {
		raw("PUT", path, "us-east-1", NULL, account, 200);
	}
}

/* Object i of the 500: i % 97 + 1 bytes, all 'a' + i % 26. */
static size_t object_body(int i, char *buf)
{
	size_t n = (size_t)(i % 97) + 1;
	memset(buf, 'a' + i % 26, n);
	buf[n] = '\0';
	return n;
}

static void object_key(int i, char *key, size_t cap)
{
	if (i % MISSING_EVERY == MISSING_EVERY - 1)
		snprintf(key, cap, "missing/obj-%04d", i);
	else
		snprintf(key, cap, "data/obj-%04d.csv", i);
}

static void md5_hex(const char *data, size_t len, char out[33])
{
	unsigned char d[16];
	assert_int_equal(s3i_md5(data, len, d), S3I_OK);
	s3i_hex_encode(out, d, 16);
}

static void seed_objects(const char *bucket)
{
	make_bucket(bucket, "us-east-1", NULL);
	for (int i = 0; i < NOBJ; i++) {
		char key[64], path[128], body[128];
		object_key(i, key, sizeof(key));
		if (!strncmp(key, "missing/", 8))
			continue;
		object_body(i, body);
		snprintf(path, sizeof(path), "/%s/%s", bucket, key);
		raw("PUT", path, NULL, body, NULL, 200);
	}
}

/* ------------------------------------------------------------------ 500 HeadObject */

typedef struct head_outcome {
	int done;
	int status;
	s3i_s3_head_result head;
	char message[1024];
	char resource[512];
	int http_status;
	int order;                   /* completion order */
} head_outcome;

static struct {
	head_outcome out[NOBJ];
	int finished;
	int stop_after;
} heads;

static int on_head(void *payload, size_t index, int status, const s3i_s3_head_result *head,
	const s3i_errinfo *err)
{
	(void)payload;
	assert_true(index < NOBJ);
	head_outcome *o = &heads.out[index];
	assert_int_equal(o->done, 0);        /* reported once */
	o->done = 1;
	o->status = status;
	o->head = *head;
	o->order = heads.finished++;
	assert_non_null(err);
	if (status < 0) {
		assert_int_equal(err->pub.code, status);
		snprintf(o->message, sizeof(o->message), "%s", err->message);
		snprintf(o->resource, sizeof(o->resource), "%s", err->resource);
		o->http_status = err->pub.http_status;
	} else {
		assert_int_equal(err->pub.code, 0);
	}
	return heads.stop_after && heads.finished >= heads.stop_after;
}

static s3i_s3_object_ref refs[NOBJ];
static char keys[NOBJ][64];

static void make_refs(const char *bucket)
{
	for (int i = 0; i < NOBJ; i++) {
		object_key(i, keys[i], sizeof(keys[i]));
		refs[i].bucket = bucket;
		refs[i].key = keys[i];
		refs[i].version_id = NULL;
	}
	memset(&heads, 0, sizeof(heads));
}

static void check_head_outcomes(const char *bucket, int except)
{
	for (int i = 0; i < NOBJ; i++) {
		head_outcome *o = &heads.out[i];
		if (i == except)
			continue;
		assert_int_equal(o->done, 1);
		if (!strncmp(keys[i], "missing/", 8)) {
			if (o->status != S3I_ENOTFOUND)
				fprintf(stderr, "object %d: %d %s\n", i, o->status, o->message);
			assert_int_equal(o->status, S3I_ENOTFOUND);
			assert_int_equal(o->http_status, 404);
			assert_mentions(o->message, "HeadObject");
			assert_mentions(o->message, keys[i]);
			assert_mentions(o->message, bucket);
			assert_mentions(o->resource, keys[i]);
			assert_int_equal(o->head.content_length, -1);
			continue;
		}
		if (o->status)
			fprintf(stderr, "object %d: %d %s\n", i, o->status, o->message);
		assert_int_equal(o->status, S3I_OK);
		char body[128], etag[33];
		size_t n = object_body(i, body);
		md5_hex(body, n, etag);
		assert_int_equal(o->head.content_length, (int64_t)n);
		assert_string_equal(o->head.etag, etag);
		assert_string_equal(o->head.storage_class, "STANDARD");
		assert_true(o->head.last_modified_ms > 1600000000000LL);
		assert_int_equal(o->head.delete_marker, 0);
	}
}

static void test_500_head_objects(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	seed_objects("fanout");
	make_refs("fanout");
	memset(&wire, 0, sizeof(wire));

	s3i_fanout_stats st;
	CHECK_OK(s3i_fanout_head_objects(&svc, LIMIT, refs, NOBJ, on_head, NULL, &st, NULL));
	assert_int_equal(st.started, NOBJ);
	assert_int_equal(st.failed, NOBJ / MISSING_EVERY);
	assert_int_equal(st.succeeded, NOBJ - NOBJ / MISSING_EVERY);
	assert_int_equal(heads.finished, NOBJ);
	check_head_outcomes("fanout", -1);

	/* every request went out once (moto closes each connection, so each is a new one), never
	 * more than LIMIT at once, and the limit was used */
	assert_int_equal(wire.started, NOBJ);
	assert_int_equal(wire.ended, NOBJ);
	assert_int_equal(wire.in_flight, 0);
	fprintf(stderr, "  most requests on the wire at once: %d (limit %d)\n", wire.max_in_flight,
		LIMIT);
	assert_int_equal(wire.max_in_flight, LIMIT);

	/* a smaller limit is kept too */
	memset(&wire, 0, sizeof(wire));
	memset(&heads, 0, sizeof(heads));
	CHECK_OK(s3i_fanout_head_objects(&svc, 3, refs, 60, on_head, NULL, &st, NULL));
	assert_int_equal(st.started, 60);
	assert_int_equal(wire.max_in_flight, 3);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ retries on their own timers */

static void test_retries_do_not_block_the_others(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	seed_objects("fanout");
	make_refs("fanout");

	/* objects 0..4: one 503 SlowDown each, with Retry-After: 3 (so each waits 3 s before its
	 * retry); object 20: 503 for ever (it fails alone after its attempts) */
	for (int i = 0; i < 5; i++) {
		char rule[256];
		snprintf(rule, sizeof(rule), "{\"method\":\"HEAD\",\"path\":\"^/fanout/%s$\","
			"\"status\":503,\"count\":1,\"headers\":{\"Retry-After\":\"3\"},"
			"\"body\":\"<Error><Code>SlowDown</Code></Error>\"}", keys[i]);
		assert_int_equal(s3i_moto_add_fault(moto, rule), 0);
	}
	char rule[256];
	snprintf(rule, sizeof(rule), "{\"method\":\"HEAD\",\"path\":\"^/fanout/%s$\","
		"\"status\":503,\"count\":-1}", keys[20]);
	assert_int_equal(s3i_moto_add_fault(moto, rule), 0);
	memset(&wire, 0, sizeof(wire));

	s3i_fanout_stats st;
	CHECK_OK(s3i_fanout_head_objects(&svc, LIMIT, refs, NOBJ, on_head, NULL, &st, NULL));
	assert_int_equal(st.started, NOBJ);
	assert_int_equal(heads.finished, NOBJ);
	assert_int_equal(st.failed, NOBJ / MISSING_EVERY + 1);

	/* the five were retried and succeeded; while each waited its 3 s, the others went on:
	 * far more than the slots a blocking retry could have left running finished before
	 * any of them (a blocked batch would have finished at most a round of LIMIT) */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(heads.out[i].status, S3I_OK);
		fprintf(stderr, "  object %d (503 once, Retry-After 3) finished as number %d of %d\n",
			i, heads.out[i].order, NOBJ);
		assert_true(heads.out[i].order >= 4 * LIMIT);
	}
	/* object 20 failed alone after its three attempts, naming its key */
	head_outcome *o = &heads.out[20];
	fprintf(stderr, "  object 20: %s\n", o->message);
	assert_true(o->status == S3I_ESERVICE || o->status == S3I_ETHROTTLED);
	assert_int_equal(o->http_status, 503);
	assert_mentions(o->message, keys[20]);
	assert_mentions(o->message, "after 3 attempts");
	/* requests: 500 + 5 retries + 2 more attempts of object 20; the limit held throughout */
	assert_int_equal(wire.started, NOBJ + 5 + 2);
	assert_true(wire.max_in_flight <= LIMIT);
	assert_int_equal(wire.retry_warnings, 5 + 2);
	/* the rest as in the plain run */
	check_head_outcomes("fanout", 20);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ mixed operations */

typedef struct mixed {
	size_t n;                          /* operations made so far */
	size_t total;
	s3i_s3_head_result heads[64];      /* by slot of the source's own: index % 64 */
	char regions[64][S3I_S3_REGION_MAX];
	const char *const *buckets;
	size_t nbuckets;
	/* outcomes, by operation number */
	int status[200];
	char what[200][96];
	char got[200][160];
	char message[200][1024];
	int done;
} mixed;

/* Even operations: GetBucketLocation of the buckets in turn; odd: HeadObject of data files. */
static int mixed_next(void *payload, s3i_fanout_op *op, s3i_errinfo *err)
{
	mixed *m = payload;
	(void)err;
	if (m->n >= m->total)
		return 0;
	size_t i = m->n++;
	if (i % 2 == 0) {
		const char *b = m->buckets[(i / 2) % m->nbuckets];
		assert_int_equal(s3i_s3_bucket_location_prepare(op, b, m->regions[i % 64], &op->err), 0);
		snprintf(m->what[i], sizeof(m->what[i]), "location %s", b);
	} else {
		char key[64];
		object_key((int)(i / 2) % 9, key, sizeof(key));   /* 0..8: all present */
		assert_int_equal(s3i_s3_head_object_prepare(op, "fanout", key, NULL, &m->heads[i % 64],
			&op->err), 0);
		snprintf(m->what[i], sizeof(m->what[i]), "head %s", key);
	}
	op->user = (void *)(uintptr_t)i;
	return 1;
}

static int mixed_done(void *payload, s3i_fanout_op *op, int status, const s3i_errinfo *err)
{
	mixed *m = payload;
	size_t i = (size_t)(uintptr_t)op->user;
	m->status[i] = status;
	m->done++;
	if (status < 0)
		snprintf(m->message[i], sizeof(m->message[i]), "%s", err->message);
	else if (i % 2 == 0)
		snprintf(m->got[i], sizeof(m->got[i]), "%s", (const char *)op->result);
	else
		snprintf(m->got[i], sizeof(m->got[i]), "%lld %s",
			(long long)((s3i_s3_head_result *)op->result)->content_length,
			((s3i_s3_head_result *)op->result)->etag);
	return 0;
}

static struct {
	int done, status;
	char region[S3I_S3_REGION_MAX];
	char message[1024], resource[512];
} locs[16];

static int on_location(void *payload, size_t index, int status, const char *region,
	const s3i_errinfo *err)
{
	(void)payload;
	assert_true(index < 16);
	assert_non_null(region);
	locs[index].done++;
	locs[index].status = status;
	snprintf(locs[index].region, sizeof(locs[index].region), "%s", region);
	snprintf(locs[index].message, sizeof(locs[index].message), "%s", err->message);
	snprintf(locs[index].resource, sizeof(locs[index].resource), "%s", err->resource);
	return 0;
}

static void test_mixed_head_and_location(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	seed_objects("fanout");
	make_bucket("loc-east", "us-east-1", NULL);
	make_bucket("loc-ireland", "eu-west-1", NULL);
	make_bucket("loc-sydney", "ap-southeast-2", NULL);
	make_bucket("loc-legacy-eu", "us-east-1", NULL);
	make_bucket("loc-denied", "us-east-1", NULL);
	/* what moto cannot say: the legacy "EU" answer, and AccessDenied (AWS's documented body) */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"GET\",\"path\":\"^/loc-legacy-eu/?$\","
		"\"query\":\"location\",\"status\":200,\"count\":-1,\"body\":\"<?xml version=\\\"1.0\\\" "
		"encoding=\\\"UTF-8\\\"?>\\n<LocationConstraint xmlns=\\\"http://s3.amazonaws.com/doc/"
		"2006-03-01/\\\">EU</LocationConstraint>\"}"), 0);
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"GET\",\"path\":\"^/loc-denied/?$\","
		"\"query\":\"location\",\"status\":403,\"count\":-1,\"body\":\"<Error><Code>AccessDenied"
		"</Code><Message>Access Denied</Message><RequestId>DENY1</RequestId></Error>\"}"), 0);

	static const char *const buckets[] = { "loc-east", "loc-ireland", "loc-sydney",
		"loc-legacy-eu", "loc-denied", "loc-nowhere" };
	static const char *const want[] = { "us-east-1", "eu-west-1", "ap-southeast-2", "eu-west-1",
		NULL, NULL };
	static mixed m;
	memset(&m, 0, sizeof(m));
	m.total = 120;
	m.buckets = buckets;
	m.nbuckets = 6;
	s3i_fanout_stats st;
	CHECK_OK(s3i_fanout_run(&svc, 16, mixed_next, mixed_done, &m, &st, NULL));
	assert_int_equal(m.done, 120);
	assert_int_equal(st.started, 120);
	assert_int_equal(st.failed, 20);   /* 10 denied + 10 missing buckets */
	for (size_t i = 0; i < 120; i++) {
		if (i % 2) {
			char body[128], etag[33], expect[128];
			int obj = (int)(i / 2) % 9;
			size_t n = object_body(obj, body);
			md5_hex(body, n, etag);
			snprintf(expect, sizeof(expect), "%zu %s", n, etag);
			assert_int_equal(m.status[i], S3I_OK);
			assert_string_equal(m.got[i], expect);
			continue;
		}
		size_t b = (i / 2) % 6;
		if (want[b]) {
			if (m.status[i])
				fprintf(stderr, "%s: %s\n", m.what[i], m.message[i]);
			assert_int_equal(m.status[i], S3I_OK);
			assert_string_equal(m.got[i], want[b]);
		} else if (b == 4) {
			assert_int_equal(m.status[i], S3I_EAUTH);
			assert_mentions(m.message[i], "GetBucketLocation on bucket 'loc-denied'");
			assert_mentions(m.message[i], "AccessDenied");
		} else {
			assert_int_equal(m.status[i], S3I_ENOTFOUND);
			assert_mentions(m.message[i], "GetBucketLocation on bucket 'loc-nowhere'");
			assert_mentions(m.message[i], "NoSuchBucket");
		}
	}

	/* the typed array helper gives the same, object by object */
	memset(&locs, 0, sizeof(locs));
	CHECK_OK(s3i_fanout_bucket_locations(&svc, 4, buckets, 6, on_location, NULL, &st, NULL));
	assert_int_equal(st.started, 6);
	assert_int_equal(st.failed, 2);
	for (size_t b = 0; b < 6; b++) {
		assert_int_equal(locs[b].done, 1);
		if (want[b]) {
			assert_int_equal(locs[b].status, S3I_OK);
			assert_string_equal(locs[b].region, want[b]);
		} else {
			assert_int_equal(locs[b].status, b == 4 ? S3I_EAUTH : S3I_ENOTFOUND);
			assert_string_equal(locs[b].region, "");
			assert_mentions(locs[b].message, buckets[b]);
			assert_mentions(locs[b].resource, buckets[b]);
		}
	}
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ synchronous calls */

/* The VersionId of the n-th <Version> (0-based) of a raw ListObjectVersions answer. */
static void nth_version_id(const char *body, int n, char *out, size_t cap)
{
	const char *p = body;
	for (int i = 0; i <= n; i++) {
		p = strstr(p, "<Version>");
		assert_non_null(p);
		p += 9;
	}
	const char *v = strstr(p, "<VersionId>");
	assert_non_null(v);
	v += 11;
	size_t len = strcspn(v, "<");
	assert_true(len < cap);
	memcpy(out, v, len);
	out[len] = '\0';
}

static void test_sync_head_versions_and_delete_markers(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	make_bucket("sync", "us-east-1", NULL);
	make_bucket("sync-dublin", "eu-west-1", NULL);
	raw("PUT", "/sync?versioning", NULL, "<VersioningConfiguration><Status>Enabled</Status>"
		"</VersioningConfiguration>", NULL, 200);
	raw("PUT", "/sync/k", NULL, "one", NULL, 200);
	raw("PUT", "/sync/k", NULL, "three", NULL, 200);
	const char *cold[] = { "x-amz-storage-class: GLACIER", NULL };
	s3i_moto_req put_cold = { .method = "PUT", .path = "/sync/cold", .service = "s3",
		.body = "brr", .content_type = "text/csv", .headers = cold };
	int status = 0;
	assert_int_equal(s3i_moto_call(moto, &put_cold, NULL, &status), 0);
	assert_int_equal(status, 200);

	/* the current version */
	s3i_s3_head_result h;
	char etag[33];
	CHECK_OK(s3i_s3_head_object_op(&svc, "sync", "k", NULL, &h, NULL));
	md5_hex("three", 5, etag);
	assert_int_equal(h.content_length, 5);
	assert_string_equal(h.etag, etag);
	assert_true(h.version_id[0] != '\0');
	char current[S3I_S3_VERSION_ID_MAX + 1];
	memcpy(current, h.version_id, sizeof(current));

	/* an older version by its id */
	char *list = NULL;
	s3i_moto_req versions = { .path = "/sync?versions&prefix=k", .service = "s3" };
	assert_int_equal(s3i_moto_call(moto, &versions, &list, &status), 0);
	assert_int_equal(status, 200);
	char v0[256], v1[256], old[256];
	nth_version_id(list, 0, v0, sizeof(v0));
	nth_version_id(list, 1, v1, sizeof(v1));
	free(list);
	snprintf(old, sizeof(old), "%s", strcmp(v0, current) ? v0 : v1);
	CHECK_OK(s3i_s3_head_object_op(&svc, "sync", "k", old, &h, NULL));
	assert_int_equal(h.content_length, 3);
	assert_string_equal(h.version_id, old);

	/* storage class and content type as stored */
	CHECK_OK(s3i_s3_head_object_op(&svc, "sync", "cold", NULL, &h, NULL));
	assert_string_equal(h.storage_class, "GLACIER");
	assert_string_equal(h.content_type, "text/csv");
	assert_int_equal(h.content_length, 3);

	/* a missing key, a missing bucket: a HEAD 404 has no body, the message names both */
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_s3_head_object_op(&svc, "sync", "no/such.key", NULL, &h, &err);
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_int_equal(err.pub.http_status, 404);
	assert_mentions(err.message, "HeadObject on key 'no/such.key' in bucket 'sync'");
	assert_mentions(err.message, "does not exist");
	assert_string_equal(s3i_error_last()->message, err.message);
	rc = s3i_s3_head_object_op(&svc, "no-such-bucket", "k", NULL, &h, NULL);
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_mentions(s3i_error_last()->message, "bucket 'no-such-bucket'");
	assert_int_equal(h.delete_marker, 0);

	/* deleted: the current version is a delete marker */
	raw("DELETE", "/sync/k", NULL, NULL, NULL, 204);
	rc = s3i_s3_head_object_op(&svc, "sync", "k", NULL, &h, &err);
	fprintf(stderr, "  after DELETE: %s\n", err.message);
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_mentions(err.message, "key 'k' in bucket 'sync'");
	assert_mentions(err.message, "delete marker");
	assert_int_equal(h.delete_marker, 1);
	assert_true(h.version_id[0] != '\0');
	/* the old versions are still there */
	CHECK_OK(s3i_s3_head_object_op(&svc, "sync", "k", old, &h, NULL));
	assert_int_equal(h.content_length, 3);

	/* bad names fail before any request */
	int before = wire.started;
	rc = s3i_s3_head_object_op(&svc, "sync", "", NULL, &h, NULL);
	assert_int_equal(rc, S3I_EINVALID);
	assert_mentions(s3i_error_last()->message, "HeadObject");
	assert_int_equal(wire.started, before);

	/* GetBucketLocation, one at a time */
	char region[S3I_S3_REGION_MAX];
	CHECK_OK(s3i_s3_bucket_location_op(&svc, "sync", region, NULL));
	assert_string_equal(region, "us-east-1");
	CHECK_OK(s3i_s3_bucket_location_op(&svc, "sync-dublin", region, NULL));
	assert_string_equal(region, "eu-west-1");
	rc = s3i_s3_bucket_location_op(&svc, "sync-nowhere", region, &err);
	assert_int_equal(rc, S3I_ENOTFOUND);
	assert_string_equal(region, "");
	assert_mentions(err.message, "GetBucketLocation on bucket 'sync-nowhere'");
	assert_string_equal(err.resource, "bucket 'sync-nowhere'");
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ stopping */

typedef struct counted {
	size_t made, limit_made;     /* ops made; limit_made: return an error after that many */
	int fail_status;
	size_t done, stop_after;
	s3i_s3_head_result res[2 * S3I_FANOUT_MAX_IN_FLIGHT];
} counted;

static int counted_next(void *payload, s3i_fanout_op *op, s3i_errinfo *err)
{
	counted *c = payload;
	if (c->limit_made && c->made >= c->limit_made)
		return s3i_err(err, c->fail_status, "manifest 'm.json'", "reading manifest 'm.json' "
			"failed at line %zu", c->made + 1);
	char key[64];
	object_key((int)(c->made % 9), key, sizeof(key));
	assert_int_equal(s3i_s3_head_object_prepare(op, "fanout", key, NULL,
		&c->res[c->made % (2 * S3I_FANOUT_MAX_IN_FLIGHT)], &op->err), 0);
	c->made++;
	return 1;
}

static int counted_done(void *payload, s3i_fanout_op *op, int status, const s3i_errinfo *err)
{
	(void)op;
	(void)err;
	counted *c = payload;
	assert_int_equal(status, S3I_OK);
	c->done++;
	return c->stop_after && c->done >= c->stop_after;
}

static void test_callbacks_stop_the_fanout(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	seed_objects("fanout");

	/* done says stop after 30: what is in flight finishes, nothing new starts */
	static counted c;
	memset(&c, 0, sizeof(c));
	c.stop_after = 30;
	s3i_fanout_stats st;
	int rc = s3i_fanout_run(&svc, LIMIT, counted_next, counted_done, &c, &st, NULL);
	assert_int_equal(rc, S3I_EUSER);
	assert_mentions(s3i_error_last()->message, "stopped by its done callback");
	assert_int_equal(st.started, (int64_t)c.made);
	assert_int_equal(c.done, c.made);           /* every started op was reported */
	assert_true(c.made >= 30 && c.made <= 30 + 2 * LIMIT);
	assert_int_equal(st.succeeded, (int64_t)c.done);

	/* the source fails after 25: its status and message come back, the 25 all finish */
	memset(&c, 0, sizeof(c));
	c.limit_made = 25;
	c.fail_status = S3I_EPARSE;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	rc = s3i_fanout_run(&svc, LIMIT, counted_next, counted_done, &c, &st, &err);
	assert_int_equal(rc, S3I_EPARSE);
	assert_mentions(err.message, "reading manifest 'm.json' failed at line 26");
	assert_string_equal(err.resource, "manifest 'm.json'");
	assert_int_equal(c.made, 25);
	assert_int_equal(c.done, 25);
	assert_int_equal(st.started, 25);

	/* an unusable name fails that object alone, before any request */
	make_refs("fanout");
	refs[3].key = "";
	refs[7].bucket = "";
	memset(&wire, 0, sizeof(wire));
	CHECK_OK(s3i_fanout_head_objects(&svc, LIMIT, refs, 40, on_head, NULL, &st, NULL));
	assert_int_equal(st.started, 40);
	assert_int_equal(wire.started, 38);
	assert_int_equal(heads.out[3].status, S3I_EINVALID);
	assert_mentions(heads.out[3].message, "object key is empty");
	assert_int_equal(heads.out[7].status, S3I_EINVALID);
	assert_mentions(heads.out[7].message, "bucket name is empty");
	assert_int_equal(heads.out[4].status, S3I_OK);

	/* nothing to do */
	CHECK_OK(s3i_fanout_head_objects(&svc, LIMIT, refs, 0, on_head, NULL, &st, NULL));
	assert_int_equal(st.started, 0);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ two accounts */

/* Bucket locations where each operation names its own credentials. */
typedef struct per_account {
	s3i_credprov *role;
	size_t n;
	char region[4][S3I_S3_REGION_MAX];
} per_account;

static int per_account_next(void *payload, s3i_fanout_op *op, s3i_errinfo *err)
{
	(void)err;
	static const char *const buckets[] = { "home-a", "member-a", "member-b", "member-c" };
	per_account *pa = payload;
	if (pa->n >= 4)
		return 0;
	assert_int_equal(s3i_s3_bucket_location_prepare(op, buckets[pa->n], pa->region[pa->n],
		&op->err), 0);
	if (pa->n > 0)
		op->call.creds = pa->role;
	pa->n++;
	return 1;
}

static int per_account_done(void *payload, s3i_fanout_op *op, int status, const s3i_errinfo *err)
{
	(void)payload;
	(void)op;
	if (status)
		fprintf(stderr, "%s\n", err->message);
	assert_int_equal(status, S3I_OK);
	return 0;
}

static void test_second_account_through_assume_role(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = begin(&svc);
	const char *member = "111111111111";
	make_bucket("home-a", "us-east-1", NULL);
	make_bucket("member-a", "eu-west-1", member);
	make_bucket("member-b", "ap-southeast-2", member);
	make_bucket("member-c", "us-east-1", member);
	raw("PUT", "/member-b/data/file.csv", "ap-southeast-2", "12345", member, 200);

	s3i_credprov_env env = { .alloc = s3i_ctx_alloc(ctx), .http = ctx->http,
		.region = "us-east-1", .endpoint_url = s3i_moto_url(moto),
		.logger = s3i_ctx_logger(ctx) };
	s3i_credprov *role = NULL;
	CHECK_OK(s3i_credprov_new_assume_role(&role, &env, ctx->creds,
		"arn:aws:iam::111111111111:role/inventory", "fanout-test", NULL, 900, NULL));
	s3i_svc other = { svc.client, role, NULL };

	static const char *const buckets[] = { "member-a", "member-b", "member-c" };
	static const char *const want[] = { "eu-west-1", "ap-southeast-2", "us-east-1" };
	memset(&locs, 0, sizeof(locs));
	s3i_fanout_stats st;
	CHECK_OK(s3i_fanout_bucket_locations(&other, 2, buckets, 3, on_location, NULL, &st, NULL));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(locs[i].status, S3I_OK);
		assert_string_equal(locs[i].region, want[i]);
	}
	/* HeadObject in the member's bucket, signed for its region through the role */
	s3i_svc other_sydney = { svc.client, role, "ap-southeast-2" };
	s3i_s3_head_result h;
	CHECK_OK(s3i_s3_head_object_op(&other_sydney, "member-b", "data/file.csv", NULL, &h, NULL));
	assert_int_equal(h.content_length, 5);

	/* one fan-out, operations with different credentials: each op may carry its own */
	static per_account pa;
	memset(&pa, 0, sizeof(pa));
	pa.role = role;
	CHECK_OK(s3i_fanout_run(&svc, 4, per_account_next, per_account_done, &pa, &st, NULL));
	assert_int_equal(st.succeeded, 4);
	assert_string_equal(pa.region[0], "us-east-1");        /* home-a, home credentials */
	assert_string_equal(pa.region[1], "eu-west-1");        /* member-a, the role */
	assert_string_equal(pa.region[2], "ap-southeast-2");   /* member-b, the role */
	assert_string_equal(pa.region[3], "us-east-1");        /* member-c, the role */
	s3i_credprov_release(role);
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_500_head_objects),
		S3I_TEST(test_retries_do_not_block_the_others),
		S3I_TEST(test_mixed_head_and_location),
		S3I_TEST(test_sync_head_versions_and_delete_markers),
		S3I_TEST(test_callbacks_stop_the_fanout),
		S3I_TEST(test_second_account_through_assume_role),
	};
	return cmocka_run_group_tests_name("fanout", tests, group_setup, NULL);
}
