/*
 * The partition stage (src/stages/partition.c) against moto_server: the claimed manifests of a
 * run finished from the state table alone (as after an ingest that died right after its
 * claim), copy (multipart UploadPartCopy above the threshold) and rewrite paths, rows read
 * back, bucket failures, deadlines, and running it again changing nothing. The deliveries come
 * from ingest_fixture.h (written independently of the library's writers).
 */
#include "ingest_fixture.h"

static void manifest_key_of(const delivery *dv, char *out, size_t cap)
{
	snprintf(out, cap, "%s", dv->checksum_key);
	char *dot = strrchr(out, '/');
	assert_non_null(dot);
	snprintf(dot + 1, cap - (size_t)(dot + 1 - out), "manifest.json");
}

/* What ingest records when it verifies a manifest, without ingest. */
static void claim(fx *f, const delivery *dv)
{
	char mkey[600];
	manifest_key_of(dv, mkey, sizeof(mkey));
	int won = 0;
	CHECK_OK(s3i_state_bucket_claim_manifest(f->state, dv->run_id, dv->account, dv->bucket, mkey,
		dv->nfiles, (int64_t)time(NULL) * 1000, &won, NULL));
	assert_true(won);
}

static void test_new_rejects_bad_options(void **state)
{
	(void)state;
	s3i_partition *pt = NULL;
	assert_int_equal(s3i_partition_new(&pt, NULL, NULL), S3I_EINVALID);
	fx f;
	fx_open(&f);
	s3i_run_input *in = NULL;
	s3i_run *run = start_run(&f, "r1", &in);
	s3i_partition_options o = S3I_PARTITION_OPTIONS_INIT;
	o.concurrency = 65;
	assert_int_equal(s3i_partition_new(&pt, run, &o), S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "concurrency"));
	assert_null(pt);
	o.concurrency = 0;
	o.copy_threshold = -1;
	assert_int_equal(s3i_partition_new(&pt, run, &o), S3I_EINVALID);
	assert_int_equal(s3i_partition_error(NULL)->code, 0);
	s3i_partition_free(NULL);
	/* a run without claimed manifests: nothing to do */
	CHECK_OK(s3i_partition_new(&pt, run, NULL));
	int finished = 0;
	CHECK_OK(s3i_partition_step(pt, 0, &finished));
	assert_true(finished);
	s3i_partition_free(pt);
	fx_close_run(&f, run, in);
}

#define NBIG 300

static void test_partition_finishes_claimed_manifests(void **state)
{
	(void)state;
	fx f;
	s3i_run_input *in = NULL;
	s3i_run *run = fx_open_run(&f, &in);
	add_region(&f, "r1", "eu-west-1");
	add_bucket(&f, run, HOST, "us-east-1", "src-a");
	add_bucket(&f, run, OTHER, "eu-west-1", "src-b");
	add_bucket(&f, run, HOST, "eu-west-1", "src-waiting");
	row *a = seeded(NBIG + 10, "src-a", 1), *b = seeded(12, "src-b", 2);
	/* src-a: copied; its big file (multipart upload) above the copy threshold below */
	data_file fa[2] = { { a, NBIG, 0, 1, 0, "" }, { a + NBIG, 10, 0, 0, 0, "" } };
	delivery da = { "r1", HOST, "us-east-1", "src-a", "2026-12-04T00-00Z", fa, 2, 0, 0, "", 0 };
	/* src-b: rewritten into the run's columns */
	data_file fb[1] = { { b, 12, 1, 0, 0, "" } };
	delivery db = { "r1", OTHER, "eu-west-1", "src-b", "2026-12-04T00-00Z", fb, 1, 0, 0, "", 0 };
	write_delivery(&f, &da);
	write_delivery(&f, &db);
	claim(&f, &da);
	claim(&f, &db);

	s3i_partition_options o = S3I_PARTITION_OPTIONS_INIT;
	o.copy_threshold = 1024;
	s3i_partition *pt = NULL;
	CHECK_OK(s3i_partition_new(&pt, run, &o));
	/* too little time left: the step does nothing and says so */
	int finished = 1;
	CHECK_OK(s3i_partition_step(pt, (int64_t)time(NULL) * 1000 + 500, &finished));
	assert_false(finished);
	s3i_state_bucket bk;
	get_bucket(&f, "r1", HOST, "src-a", &bk);
	assert_int_equal(bk.partitioned_files, 0);

	CHECK_OK(s3i_partition_step(pt, 0, &finished));
	assert_true(finished);
	get_bucket(&f, "r1", HOST, "src-a", &bk);
	assert_int_equal(bk.status, S3I_BUCKET_DONE);
	assert_int_equal(bk.partitioned_files, 2);
	assert_int_equal(bk.objects, NBIG + 10);
	assert_int_equal(bk.bytes, rows_bytes(a, NBIG + 10));
	get_bucket(&f, "r1", OTHER, "src-b", &bk);
	assert_int_equal(bk.status, S3I_BUCKET_DONE);
	assert_int_equal(bk.objects, 12);
	get_bucket(&f, "r1", HOST, "src-waiting", &bk);
	assert_int_equal(bk.status, S3I_BUCKET_IN_PROGRESS);   /* no manifest: not partition's */
	assert_false(has_inventory_config(&f, run, HOST, "us-east-1", "src-a"));
	assert_false(has_inventory_config(&f, run, OTHER, "eu-west-1", "src-b"));
	assert_true(has_inventory_config(&f, run, HOST, "eu-west-1", "src-waiting"));

	char **got = NULL, **want = NULL;
	int ngot = read_back(&f, "r1", &got), nwant = 0;
	nwant = expect_rows(&want, nwant, "r1", HOST, "us-east-1", "src-a", a, NBIG + 10, NCOL);
	nwant = expect_rows(&want, nwant, "r1", OTHER, "eu-west-1", "src-b", b, 12, SHORT_NCOL);
	assert_same_rows(got, ngot, want, nwant);

	/* again: nothing left, nothing counted twice */
	CHECK_OK(s3i_partition_run(pt));
	get_bucket(&f, "r1", HOST, "src-a", &bk);
	assert_int_equal(bk.objects, NBIG + 10);
	s3i_partition_free(pt);
	free_rows(a, NBIG + 10);
	free_rows(b, 12);
	fx_close_run(&f, run, in);
}

static void test_partition_fails_buckets_not_the_stage(void **state)
{
	(void)state;
	fx f;
	s3i_run_input *in = NULL;
	s3i_run *run = fx_open_run(&f, &in);
	add_bucket(&f, run, HOST, "us-east-1", "src-bad-md5");
	add_bucket(&f, run, HOST, "us-east-1", "src-gone");
	add_bucket(&f, run, HOST, "us-east-1", "src-good");
	row *x = seeded(6, "src-bad-md5", 3), *y = seeded(5, "src-gone", 4), *z = seeded(4, "src-good", 5);
	data_file fx1[1] = { { x, 6, 0, 0, 0, "" } };
	delivery dx = { "r1", HOST, "us-east-1", "src-bad-md5", "2026-12-04T00-00Z", fx1, 1, 0, 0, "", 0 };
	data_file fy[1] = { { y, 5, 0, 0, 0, "" } };
	delivery dy = { "r1", HOST, "us-east-1", "src-gone", "2026-12-04T00-00Z", fy, 1, 0, 0, "", 0 };
	data_file fz[1] = { { z, 4, 0, 0, 0, "" } };
	delivery dz = { "r1", HOST, "us-east-1", "src-good", "2026-12-04T00-00Z", fz, 1, 0, 0, "", 0 };
	write_delivery(&f, &dx);
	write_delivery(&f, &dy);
	write_delivery(&f, &dz);
	claim(&f, &dx);
	claim(&f, &dy);
	claim(&f, &dz);
	/* src-bad-md5: its data file replaced by other bytes of the same size */
	char staging[64];
	staging_name(staging, "r1", "us-east-1");
	sbuf gz = { 0 };
	CHECK_OK(s3i_s3_get_object_op(&f.host, staging, fx1[0].key, sink_sb, NULL, &gz, NULL));
	gz.p[gz.n - 1] ^= 0x55;
	put(&f, "us-east-1", staging, fx1[0].key, gz.p, gz.n);
	free(gz.p);
	/* src-gone: its manifest disappeared (a lifecycle rule on the staging bucket) */
	char mkey[600];
	manifest_key_of(&dy, mkey, sizeof(mkey));
	CHECK_OK(s3i_s3_delete_object_op(&f.host, staging, mkey, NULL));

	s3i_partition *pt = NULL;
	CHECK_OK(s3i_partition_new(&pt, run, NULL));
	int finished = 0;
	CHECK_OK(s3i_partition_step(pt, 0, &finished));
	assert_true(finished);
	s3i_state_bucket bk;
	get_bucket(&f, "r1", HOST, "src-bad-md5", &bk);
	assert_int_equal(bk.status, S3I_BUCKET_FAILED);
	assert_non_null(strstr(bk.reason, "MD5"));
	assert_non_null(strstr(bk.reason, fx1[0].key));
	get_bucket(&f, "r1", HOST, "src-gone", &bk);
	assert_int_equal(bk.status, S3I_BUCKET_FAILED);
	assert_non_null(strstr(bk.reason, "manifest.json"));
	get_bucket(&f, "r1", HOST, "src-good", &bk);
	assert_int_equal(bk.status, S3I_BUCKET_DONE);
	/* only the good bucket's rows are in the consolidated layout */
	char **got = NULL, **want = NULL;
	int ngot = read_back(&f, "r1", &got), nwant = 0;
	nwant = expect_rows(&want, nwant, "r1", HOST, "us-east-1", "src-good", z, 4, NCOL);
	assert_same_rows(got, ngot, want, nwant);

	s3i_partition_free(pt);
	free_rows(x, 6);
	free_rows(y, 5);
	free_rows(z, 4);
	fx_close_run(&f, run, in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_new_rejects_bad_options),
		S3I_TEST(test_partition_finishes_claimed_manifests),
		S3I_TEST(test_partition_fails_buckets_not_the_stage),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
