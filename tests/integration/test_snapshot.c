/*
 * The immediate list snapshot ("snapshot": "list", src/stages/configure.c + snapshot.c)
 * against moto_server: the report each bucket gets in its region's staging bucket, read back
 * and checked independently of the writer (the staging folder listed, manifest.checksum
 * against manifest.json, every data file's size and MD5 against the manifest, the gzip CSV
 * rows against what was seeded, keys with spaces, unicode, commas and quotes), several data
 * files per bucket, S3's order of writes (from moto's request recorder), two accounts and two
 * regions, empty and failing buckets, the entry limit, and a crash in the middle of a data file
 * (SIGKILL at snapshot.mid_data_file) followed by a rerun that rewrites the same keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "s3insights/s3insights.h"
#include "s3insights/stage_configure.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/str.h"
#include "stages/inventory_csv.h"
#include "stages/manifest.h"
#include "stages/names.h"
#include "stages/run_internal.h"
#include "stages/state.h"
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "moto.h"
#include "stage_fixture.h"
#include "check.h"
#include "test_alloc.h"

#define HOST "123456789012"
#define OTHER "111111111111"
#define DEP "snapt"

static s3i_moto *moto;

static int group_setup(void **state)
{
	(void)state;
	unsetenv("S3I_TEST_CRASH_AT");
	unsetenv("S3I_TEST_CRASH_SKIP");
	return s3i_stage_fx_start_moto(&moto, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	s3i_moto_stop(moto);
	return 0;
}

/* ---------------------------------------------------------------- the fixture */

typedef s3i_stage_fx fx;

static s3i_ctx *make_ctx(void)
{
	return s3i_stage_fx_ctx(moto, S3I_LOG_ERROR);
}

static void fx_open(fx *f, const char *input_json)
{
	s3i_stage_fx_deploy(f, moto, DEP, S3I_LOG_ERROR);
	s3i_stage_fx_start_run(f, input_json);
}

static void fx_close(fx *f)
{
	s3i_stage_fx_close(f);
}

static void seed_region(fx *f, const char *region, char staging[64])
{
	s3i_stage_fx_seed_region(f, region, staging);
}

static void record_bucket(fx *f, const char *account, const char *region, const char *bucket)
{
	int created = 0;
	CHECK_OK(s3i_state_bucket_add(f->state, s3i_run_id(f->run), account, region, bucket,
		S3I_BUCKET_DISCOVERED, NULL, s3i_deployment_now_ms(f->d), &created, NULL));
	assert_int_equal(created, 1);
}

/* Keys no naive CSV writer survives. */
static const char *const hard_keys[] = {
	"plain.txt", "with space/and  more.txt", "\xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.bin",
	"comma,in,key.csv", "quote\"in\"key \"x\"", "plus+sign%25percent", "semi;colon=eq&amp",
	"tab\there", "deep/a/b/c/d/e/f/g.gz",
};
#define N_HARD (sizeof(hard_keys) / sizeof(hard_keys[0]))

/* `n` objects: the hard keys first, then numbered ones; body of key i is i+1 bytes. The
 * expected rows ("key|version flag|size") are appended to want. */
static void seed_objects(fx *f, const char *account, const char *region, const char *bucket,
	int n, int versioned, s3i_buf *want)
{
	s3i_credprov *hold;
	s3i_svc svc = s3i_stage_fx_svc_of(f, account, region, &hold);
	CHECK_OK(s3i_s3_create_bucket_op(&svc, bucket, region, NULL));
	if (versioned)
		CHECK_OK(s3i_s3_put_bucket_versioning_op(&svc, bucket, S3I_S3_VERSIONING_ENABLED, NULL));
	char body[4096];
	memset(body, 'x', sizeof(body));
	for (int i = 0; i < n; i++) {
		char key[128];
		if ((size_t)i < N_HARD)
			snprintf(key, sizeof(key), "%s", hard_keys[i]);
		else
			snprintf(key, sizeof(key), "numbered/object, %05d \"q\".dat", i);
		CHECK_OK(s3i_s3_put_object_op(&svc, bucket, key, body, (size_t)i + 1, "text/plain",
			NULL));
		if (want)
			s3i_buf_printf(want, "%s|obj|%d\n", key, i + 1);
		if (versioned && i % 3 == 0) {
			/* a second version, the first becomes noncurrent */
			CHECK_OK(s3i_s3_put_object_op(&svc, bucket, key, body, (size_t)i + 100,
				"text/plain", NULL));
			if (want)
				s3i_buf_printf(want, "%s|obj|%d\n", key, i + 100);
		}
		if (versioned && i % 4 == 1) {
			CHECK_OK(s3i_s3_delete_object_op(&svc, bucket, key, NULL));
			if (want)
				s3i_buf_printf(want, "%s|marker|\n", key);
		}
	}
	s3i_stage_fx_release(hold);
	record_bucket(f, account, region, bucket);
}

/* ---------------------------------------------------------------- reading a report back */

typedef struct rows {
	s3i_buf lines;           /* "key|obj|size" or "key|marker|" per row */
	int all_versions;
	int ncols;
	const char *bucket;
	int64_t latest;
} rows;

static int on_row(void *user, const s3i_csv_row *row)
{
	rows *r = user;
	assert_int_equal((int)row->n, r->ncols);
	assert_string_equal(row->fields[0], r->bucket);
	s3i_buf key;
	s3i_buf_init(&key, s3i_test_alloc());
	assert_int_equal(s3i_inventory_key_decode(&key, row->fields[1], row->lens[1]), 0);
	int dm = r->all_versions && !strcmp(row->fields[4], "true");
	if (r->all_versions && !strcmp(row->fields[3], "true"))
		r->latest++;
	int size_col = r->all_versions ? 5 : 2;
	s3i_buf_printf(&r->lines, "%s|%s|%s\n", s3i_buf_cstr(&key), dm ? "marker" : "obj",
		row->fields[size_col]);
	s3i_buf_dispose(&key);
	return 0;
}

static int sink_buf(void *user, const char *data, size_t len)
{
	return s3i_buf_put(user, data, len) ? S3I_ENOMEM : 0;
}

static int reset_buf(void *user)
{
	s3i_buf_clear(user);
	return 0;
}

static void get_object(const s3i_svc *svc, const char *bucket, const char *key, s3i_buf *out)
{
	s3i_buf_clear(out);
	CHECK_OK(s3i_s3_get_object_op(svc, bucket, key, sink_buf, reset_buf, out, NULL));
}

typedef struct listing {
	char keys[64][1100];
	int n;
} listing;

static int on_key(void *user, const s3i_s3_object_info *o)
{
	listing *l = user;
	assert_true(l->n < 64);
	snprintf(l->keys[l->n++], sizeof(l->keys[0]), "%s", o->key);
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static int to_csv(void *user, const void *data, size_t len)
{
	return s3i_csv_reader_feed(user, data, len, NULL);
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text sorted, as one string (malloc'd). */
static char *sorted(const char *text)
{
	char *copy = strdup(text);
	char *lines[4096];
	size_t n = 0;
	for (char *p = strtok(copy, "\n"); p; p = strtok(NULL, "\n")) {
		assert_true(n < 4096);
		lines[n++] = p;
	}
	qsort(lines, n, sizeof(lines[0]), cmp_lines);
	size_t len = strlen(text) + 2;
	char *out = calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	free(copy);
	return out;
}

typedef struct report {
	int files;
	char first_data_key[1100];
	int64_t rows;
	int64_t latest;
} report;

/* Read back the report of one source bucket from its staging bucket and compare its rows
 * with `want` (any order). */
static report read_report(fx *f, const char *account, const char *region, const char *bucket,
	const char *staging, int all_versions, const char *want)
{
	report rep;
	memset(&rep, 0, sizeof(rep));
	s3i_credprov *hold;
	s3i_svc svc = s3i_stage_fx_svc_of(f, HOST, region, &hold);
	char id[128], folder[512];
	CHECK_OK(s3i_names_inventory_id(id, sizeof(id), DEP, s3i_run_id(f->run)));
	snprintf(folder, sizeof(folder), "%s/%s/%s/%s/", account, region, bucket, id);
	listing *l = calloc(1, sizeof(*l));
	s3i_s3_list_options lo = S3I_S3_LIST_OPTIONS_INIT;
	lo.prefix = folder;
	CHECK_OK(s3i_s3_list_objects_v2_op(&svc, staging, &lo, on_key, l, NULL));
	const char *checksum_key = NULL;
	int data_objects = 0, symlinks = 0;
	for (int i = 0; i < l->n; i++) {
		if (ends_with(l->keys[i], "/manifest.checksum")) {
			assert_null(checksum_key);       /* one delivery */
			checksum_key = l->keys[i];
		}
		if (strstr(l->keys[i] + strlen(folder), "data/") == l->keys[i] + strlen(folder))
			data_objects++;
		if (ends_with(l->keys[i], "/symlink.txt"))
			symlinks++;
	}
	assert_non_null(checksum_key);
	assert_int_equal(symlinks, 1);
	char manifest_key[1100];
	snprintf(manifest_key, sizeof(manifest_key), "%.*s/manifest.json",
		(int)(strlen(checksum_key) - strlen("/manifest.checksum")), checksum_key);
	s3i_buf mj, mc, data;
	s3i_buf_init(&mj, s3i_test_alloc());
	s3i_buf_init(&mc, s3i_test_alloc());
	s3i_buf_init(&data, s3i_test_alloc());
	get_object(&svc, staging, manifest_key, &mj);
	get_object(&svc, staging, checksum_key, &mc);
	CHECK_OK(s3i_manifest_checksum_verify(mj.ptr, mj.size, mc.ptr, mc.size, manifest_key, NULL));
	s3i_manifest m;
	CHECK_OK(s3i_manifest_parse(&m, mj.ptr, mj.size, manifest_key, s3i_test_alloc(), NULL));
	assert_string_equal(m.source_bucket, bucket);
	char dest[128];
	snprintf(dest, sizeof(dest), "arn:aws:s3:::%s", staging);
	assert_string_equal(m.destination_bucket, dest);
	assert_string_equal(m.version, "2016-11-30");
	assert_int_equal(m.format, S3I_FORMAT_CSV);
	s3i_inv_schema canon;
	CHECK_OK(s3i_inv_schema_canonical(&canon, all_versions, s3i_test_alloc()));
	assert_true(s3i_inv_schema_equal(&m.schema, &canon));
	/* every data object in the folder is in the manifest: nothing left over from a crash */
	assert_int_equal((int)m.n_files, data_objects);
	rows r = { .all_versions = all_versions, .ncols = (int)canon.n, .bucket = bucket };
	s3i_buf_init(&r.lines, s3i_test_alloc());
	for (size_t i = 0; i < m.n_files; i++) {
		get_object(&svc, staging, m.files[i].key, &data);
		assert_int_equal((int64_t)data.size, m.files[i].size);
		char md5[33];
		CHECK_OK(s3i_md5_hex(data.ptr, data.size, md5));
		assert_string_equal(md5, m.files[i].md5);
		s3i_csv_reader *cr;
		CHECK_OK(s3i_csv_reader_new(&cr, s3i_test_alloc(), m.files[i].key, 0, on_row, &r));
		s3i_gunzip *gz;
		CHECK_OK(s3i_gunzip_new(&gz, s3i_test_alloc(), m.files[i].key, to_csv, cr, NULL));
		CHECK_OK(s3i_gunzip_feed(gz, data.ptr, data.size, NULL));
		CHECK_OK(s3i_gunzip_finish(gz, NULL));
		CHECK_OK(s3i_csv_reader_finish(cr, NULL));
		rep.rows += (int64_t)s3i_csv_reader_rows(cr);
		s3i_gunzip_free(gz);
		s3i_csv_reader_free(cr);
	}
	rep.files = (int)m.n_files;
	if (m.n_files)
		snprintf(rep.first_data_key, sizeof(rep.first_data_key), "%s", m.files[0].key);
	rep.latest = r.latest;
	char *got_sorted = sorted(s3i_buf_cstr(&r.lines));
	char *want_sorted = sorted(want);
	if (strcmp(got_sorted, want_sorted)) {
		FILE *fg = fopen("/tmp/snap_got.txt", "w"), *fw = fopen("/tmp/snap_want.txt", "w");
		if (fg && fw) {
			fputs(got_sorted, fg);
			fputs(want_sorted, fw);
		}
		if (fg)
			fclose(fg);
		if (fw)
			fclose(fw);
		fprintf(stderr, "rows of bucket %s differ (see /tmp/snap_got.txt, /tmp/snap_want.txt)\n",
			bucket);
	}
	assert_true(strcmp(got_sorted, want_sorted) == 0);
	free(got_sorted);
	free(want_sorted);
	s3i_buf_dispose(&r.lines);
	s3i_inv_schema_dispose(&canon);
	s3i_manifest_dispose(&m);
	s3i_buf_dispose(&mj);
	s3i_buf_dispose(&mc);
	s3i_buf_dispose(&data);
	free(l);
	s3i_stage_fx_release(hold);
	return rep;
}

static void expect_status(fx *f, const char *account, const char *bucket, s3i_bucket_state st,
	const char *reason_part)
{
	s3i_state_bucket b;
	CHECK_OK(s3i_state_bucket_get(f->state, s3i_run_id(f->run), account, bucket, &b, NULL));
	if (b.status != st)
		fprintf(stderr, "bucket %s: %s (%s), expected %s\n", bucket,
			s3i_bucket_state_name(b.status), b.reason, s3i_bucket_state_name(st));
	assert_int_equal(b.status, st);
	if (reason_part)
		assert_non_null(strstr(b.reason, reason_part));
	assert_false(b.inventory_configured);
}

/* The order of the PUTs into `staging` for one source bucket's folder, from the recorder: each
 * as 'd' (data file), 's' (symlink.txt), 'm' (manifest.json), 'c' (manifest.checksum). */
static void put_order(const char *staging, const char *bucket, char *out, size_t cap)
{
	s3i_check_moto_post(moto, "/moto-api/recorder/stop-recording", "");
	char *rec = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/moto-api/recorder/download-recording", NULL,
		NULL, &rec, &status), 0);
	assert_int_equal(status, 200);
	size_t n = 0;
	char needle[256];
	snprintf(needle, sizeof(needle), "/%s/", bucket);
	for (char *line = rec; line && *line;) {
		char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		s3i_json doc = NULL;
		if (len && s3i_json_parse(&doc, line, len, "recording", NULL) == S3I_OK) {
			const char *method = s3i_json_str(s3i_json_get(doc, "method"));
			const char *url = s3i_json_str(s3i_json_get(doc, "url"));
			if (method && url && !strcmp(method, "PUT") && strstr(url, staging) &&
				strstr(url, needle) && n + 1 < cap) {
				char c = strstr(url, "/data/") ? 'd' : strstr(url, "symlink.txt") ? 's'
					: strstr(url, "manifest.json") ? 'm' : strstr(url, "manifest.checksum")
					? 'c' : '?';
				out[n++] = c;
			}
		}
		s3i_json_free(doc);
		line = eol ? eol + 1 : NULL;
	}
	out[n] = '\0';
	free(rec);
}

#define INPUT(versions, extra) "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"" HOST "\"}," \
	"{\"id\":\"" OTHER "\"}]," \
	"\"athena_queries\":[{\"name\":\"q\",\"query\":\"select 1\"}]," \
	"\"sender_email_address\":\"a@example.com\",\"recipient_email_addresses\":[\"b@example.com\"]," \
	"\"supported_regions\":[\"us-east-1\",\"eu-west-1\"],\"object_versions\":\"" versions "\"," \
	"\"snapshot\":\"list\"" extra "}"

/* ---------------------------------------------------------------- tests */

static void test_all_versions_report_read_back(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT("All", ""));
	char st_use1[64], st_euw1[64];
	seed_region(&f, "us-east-1", st_use1);
	seed_region(&f, "eu-west-1", st_euw1);
	s3i_buf want_ver, want_plain, want_other;
	s3i_buf_init(&want_ver, s3i_test_alloc());
	s3i_buf_init(&want_plain, s3i_test_alloc());
	s3i_buf_init(&want_other, s3i_test_alloc());
	seed_objects(&f, HOST, "us-east-1", "snap-ver", 30, 1, &want_ver);
	seed_objects(&f, HOST, "eu-west-1", "snap-plain", 12, 0, &want_plain);
	seed_objects(&f, OTHER, "us-east-1", "snap-other", 25, 0, &want_other);
	seed_objects(&f, OTHER, "eu-west-1", "snap-empty", 0, 0, NULL);
	record_bucket(&f, HOST, "us-east-1", "snap-missing");

	s3i_check_recorder_start(moto);
	s3i_configure *st = NULL;
	s3i_configure_options o = S3I_CONFIGURE_OPTIONS_INIT;
	o.concurrency = 3;
	o.snapshot_file_bytes = 1500;   /* several data files per bucket */
	o.snapshot_page_size = 7;       /* several listing pages */
	CHECK_OK(s3i_configure_new(&st, f.run, &o));
	CHECK_OK(s3i_configure_run(st));
	s3i_configure_free(st);

	expect_status(&f, HOST, "snap-ver", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, HOST, "snap-plain", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, OTHER, "snap-other", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, OTHER, "snap-empty", S3I_BUCKET_EMPTY, "no object versions");
	expect_status(&f, HOST, "snap-missing", S3I_BUCKET_FAILED, "NoSuchBucket");

	/* S3's order for each bucket: every data file, symlink.txt, manifest.json, then the
	 * checksum */
	char order[256];
	put_order(st_use1, "snap-ver", order, sizeof(order));
	report r = read_report(&f, HOST, "us-east-1", "snap-ver", st_use1, 1,
		s3i_buf_cstr(&want_ver));
	assert_true(r.files >= 3);
	char want_order[256];
	memset(want_order, 'd', (size_t)r.files);
	snprintf(want_order + r.files, sizeof(want_order) - (size_t)r.files, "smc");
	assert_string_equal(order, want_order);
	/* one latest entry per key */
	assert_int_equal(r.latest, 30);

	r = read_report(&f, HOST, "eu-west-1", "snap-plain", st_euw1, 1, s3i_buf_cstr(&want_plain));
	assert_true(r.files >= 1);
	r = read_report(&f, OTHER, "us-east-1", "snap-other", st_use1, 1, s3i_buf_cstr(&want_other));
	assert_true(r.files >= 2);
	/* the other account's report is in the host's staging bucket under its own prefix */
	assert_int_equal(strncmp(r.first_data_key, OTHER "/us-east-1/snap-other/",
		strlen(OTHER "/us-east-1/snap-other/")), 0);

	s3i_state_run run;
	CHECK_OK(s3i_state_run_get(f.state, "r1", &run, NULL));
	assert_int_equal(run.phase, S3I_PHASE_WAITING);
	s3i_state_run_dispose(&run);
	s3i_buf_dispose(&want_ver);
	s3i_buf_dispose(&want_plain);
	s3i_buf_dispose(&want_other);
	fx_close(&f);
}

static void test_current_versions_and_limit(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT("Current", ""));
	char st_use1[64];
	seed_region(&f, "us-east-1", st_use1);
	s3i_buf want_cur, ignored;
	s3i_buf_init(&want_cur, s3i_test_alloc());
	s3i_buf_init(&ignored, s3i_test_alloc());
	/* a versioned bucket listed with current versions only: no markers, latest sizes */
	s3i_credprov *hold;
	s3i_svc svc = s3i_stage_fx_svc_of(&f, OTHER, "us-east-1", &hold);
	CHECK_OK(s3i_s3_create_bucket_op(&svc, "snap-cur", "us-east-1", NULL));
	CHECK_OK(s3i_s3_put_bucket_versioning_op(&svc, "snap-cur", S3I_S3_VERSIONING_ENABLED, NULL));
	for (size_t i = 0; i < N_HARD; i++) {
		CHECK_OK(s3i_s3_put_object_op(&svc, "snap-cur", hard_keys[i], "old", 3, NULL, NULL));
		if (i == 2) {
			CHECK_OK(s3i_s3_delete_object_op(&svc, "snap-cur", hard_keys[i], NULL));
			continue;
		}
		CHECK_OK(s3i_s3_put_object_op(&svc, "snap-cur", hard_keys[i], "newer", 5, NULL, NULL));
		s3i_buf_printf(&want_cur, "%s|obj|5\n", hard_keys[i]);
	}
	/* only a noncurrent version and a delete marker: empty with "Current" */
	CHECK_OK(s3i_s3_create_bucket_op(&svc, "snap-markers", "us-east-1", NULL));
	CHECK_OK(s3i_s3_put_bucket_versioning_op(&svc, "snap-markers", S3I_S3_VERSIONING_ENABLED,
		NULL));
	CHECK_OK(s3i_s3_put_object_op(&svc, "snap-markers", "gone", "x", 1, NULL, NULL));
	CHECK_OK(s3i_s3_delete_object_op(&svc, "snap-markers", "gone", NULL));
	s3i_stage_fx_release(hold);
	record_bucket(&f, OTHER, "us-east-1", "snap-cur");
	record_bucket(&f, OTHER, "us-east-1", "snap-markers");
	seed_objects(&f, HOST, "us-east-1", "snap-limit", 40, 0, &ignored);

	s3i_configure *st = NULL;
	s3i_configure_options o = S3I_CONFIGURE_OPTIONS_INIT;
	o.snapshot_max_objects = 15;
	o.snapshot_page_size = 4;
	CHECK_OK(s3i_configure_new(&st, f.run, &o));
	CHECK_OK(s3i_configure_run(st));
	s3i_configure_free(st);
	expect_status(&f, OTHER, "snap-cur", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, OTHER, "snap-markers", S3I_BUCKET_EMPTY, "no objects");
	expect_status(&f, HOST, "snap-limit", S3I_BUCKET_IN_PROGRESS, NULL);
	read_report(&f, OTHER, "us-east-1", "snap-cur", st_use1, 0, s3i_buf_cstr(&want_cur));
	/* the limit: the first 15 keys in listing order (moto lists in key order) */
	char *all = sorted(s3i_buf_cstr(&ignored));
	s3i_buf first;
	s3i_buf_init(&first, s3i_test_alloc());
	const char *p = all;
	for (int i = 0; i < 15; i++) {
		const char *eol = strchr(p, '\n');
		s3i_buf_put(&first, p, (size_t)(eol - p) + 1);
		p = eol + 1;
	}
	free(all);
	/* sorted by the whole line equals key order here: no key is a prefix of another */
	report r = read_report(&f, HOST, "us-east-1", "snap-limit", st_use1, 0,
		s3i_buf_cstr(&first));
	assert_int_equal(r.rows, 15);
	s3i_buf_dispose(&first);
	s3i_buf_dispose(&want_cur);
	s3i_buf_dispose(&ignored);
	fx_close(&f);
}

static void test_no_staging_bucket_fails_the_bucket(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT("All", ""));
	/* the region is recorded but its staging bucket is gone: the write fails, only this
	 * bucket is marked */
	char staging[64];
	CHECK_OK(s3i_names_staging_bucket(staging, 64, DEP, "r1", HOST, "us-east-1"));
	s3i_state_region reg;
	memset(&reg, 0, sizeof(reg));
	snprintf(reg.region, sizeof(reg.region), "us-east-1");
	snprintf(reg.staging_bucket, sizeof(reg.staging_bucket), "%s", staging);
	snprintf(reg.status, sizeof(reg.status), "provisioned");
	CHECK_OK(s3i_state_region_put(f.state, "r1", &reg, NULL));
	seed_objects(&f, HOST, "us-east-1", "snap-nowhere", 3, 0, NULL);
	s3i_configure *st = NULL;
	CHECK_OK(s3i_configure_new(&st, f.run, NULL));
	CHECK_OK(s3i_configure_run(st));
	s3i_configure_free(st);
	expect_status(&f, HOST, "snap-nowhere", S3I_BUCKET_FAILED, staging);
	fx_close(&f);
}

/* In a child process: run the stage with the crash point armed; it must die by SIGKILL. */
static void crash_child(const char *skip, int64_t file_bytes)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("S3I_TEST_CRASH_AT", "snapshot.mid_data_file", 1);
		setenv("S3I_TEST_CRASH_SKIP", skip, 1);
		s3i_ctx *ctx = make_ctx();
		s3i_deployment *d = NULL;
		s3i_deployment_options dopt = S3I_DEPLOYMENT_OPTIONS_INIT;
		dopt.name = DEP;
		s3i_run *run = NULL;
		s3i_configure *st = NULL;
		s3i_configure_options o = S3I_CONFIGURE_OPTIONS_INIT;
		o.concurrency = 1;
		o.snapshot_file_bytes = file_bytes;
		if (s3i_deployment_open(&d, ctx, &dopt) || s3i_run_open(&run, d, "r1") ||
			s3i_configure_new(&st, run, &o))
			_exit(3);
		s3i_configure_run(st);
		_exit(4);                  /* not reached when the crash point fired */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status))
		fprintf(stderr, "child exit status %d\n", WEXITSTATUS(status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

static void test_crash_mid_data_file_then_rerun(void **state)
{
	(void)state;
	fx f;
	fx_open(&f, INPUT("All", ""));
	char st_use1[64];
	seed_region(&f, "us-east-1", st_use1);
	s3i_buf want;
	s3i_buf_init(&want, s3i_test_alloc());
	seed_objects(&f, OTHER, "us-east-1", "snap-crash", 40, 1, &want);

	/* killed while writing the third data file: two are in the staging bucket, no manifest */
	crash_child("2", 1200);
	s3i_credprov *hold;
	s3i_svc svc = s3i_stage_fx_svc_of(&f, HOST, "us-east-1", &hold);
	listing *l = calloc(1, sizeof(*l));
	s3i_s3_list_options lo = S3I_S3_LIST_OPTIONS_INIT;
	lo.prefix = OTHER "/us-east-1/snap-crash/";
	CHECK_OK(s3i_s3_list_objects_v2_op(&svc, st_use1, &lo, on_key, l, NULL));
	assert_int_equal(l->n, 2);
	char left[2][1100];
	for (int i = 0; i < 2; i++) {
		assert_non_null(strstr(l->keys[i], "/data/"));
		snprintf(left[i], sizeof(left[i]), "%s", l->keys[i]);
	}
	s3i_state_bucket b;
	CHECK_OK(s3i_state_bucket_get(f.state, "r1", OTHER, "snap-crash", &b, NULL));
	assert_int_equal(b.status, S3I_BUCKET_DISCOVERED);

	/* the rerun lists the bucket again and writes the same keys: nothing twice */
	s3i_configure *st = NULL;
	s3i_configure_options o = S3I_CONFIGURE_OPTIONS_INIT;
	o.snapshot_file_bytes = 1200;
	CHECK_OK(s3i_configure_new(&st, f.run, &o));
	CHECK_OK(s3i_configure_run(st));
	s3i_configure_free(st);
	expect_status(&f, OTHER, "snap-crash", S3I_BUCKET_IN_PROGRESS, NULL);
	report r = read_report(&f, OTHER, "us-east-1", "snap-crash", st_use1, 1, s3i_buf_cstr(&want));
	assert_true(r.files > 3);
	memset(l, 0, sizeof(*l));
	CHECK_OK(s3i_s3_list_objects_v2_op(&svc, st_use1, &lo, on_key, l, NULL));
	int found = 0;
	for (int i = 0; i < l->n; i++)
		found += !strcmp(l->keys[i], left[0]) + !strcmp(l->keys[i], left[1]);
	assert_int_equal(found, 2);
	assert_int_equal(l->n, r.files + 3);    /* data files, symlink, manifest, checksum */

	/* a crash after the report but before the state write is the same: once the bucket is
	 * in_progress it is never listed again */
	s3i_check_recorder_start(moto);
	CHECK_OK(s3i_configure_new(&st, f.run, &o));
	CHECK_OK(s3i_configure_run(st));
	s3i_configure_free(st);
	char order[64];
	put_order(st_use1, "snap-crash", order, sizeof(order));
	assert_string_equal(order, "");
	free(l);
	s3i_stage_fx_release(hold);
	s3i_buf_dispose(&want);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_all_versions_report_read_back),
		S3I_TEST(test_current_versions_and_limit),
		S3I_TEST(test_no_staging_bucket_fails_the_bucket),
		S3I_TEST(test_crash_mid_data_file_then_rerun),
	};
	return cmocka_run_group_tests_name("snapshot", tests, group_setup, group_teardown);
}
