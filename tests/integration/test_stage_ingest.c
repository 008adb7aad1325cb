/*
 * The ingest stage (src/stages/ingest.c, partition.c) against moto_server.
 *
 * The S3 Inventory deliveries are written by ingest_fixture.h, independently of the library's
 * own writers: CSV rows quoted field by field with the key form-encoded there, gzip by zlib,
 * MD5 by OpenSSL, manifest.json by snprintf, in S3's order (data files, one of them by
 * multipart upload; the dated folder's manifest.json, then manifest.checksum;
 * hive/dt=.../symlink.txt). moto delivers no inventory and the staging buckets here have no
 * notification, so the S3 event messages are built there too, in AWS's documented format (raw
 * and inside an SNS envelope, s3:TestEvent), and sent to the queue.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ingest_fixture.h"

/* ------------------------------------------------------------------ tests */

static void test_new_rejects_bad_options(void **state)
{
	(void)state;
	s3i_ingest *st = NULL;
	s3i_ingest_options o = S3I_INGEST_OPTIONS_INIT;
	assert_int_equal(s3i_ingest_new(&st, NULL, &o), S3I_EINVALID);
	fx f;
	fx_open(&f);
	o.max_messages = 11;
	assert_int_equal(s3i_ingest_new(&st, f.d, &o), S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "max_messages"));
	o = (s3i_ingest_options)S3I_INGEST_OPTIONS_INIT;
	o.wait_seconds = 21;
	assert_int_equal(s3i_ingest_new(&st, f.d, &o), S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->message, "wait_seconds"));
	assert_null(st);
	assert_int_equal(s3i_ingest_error(NULL)->code, 0);
	s3i_ingest_free(NULL);
	fx_close(&f);
}

#define NA 40
#define NM 300
#define NB 25

static void test_inventory_delivery_end_to_end(void **state)
{
	(void)state;
	fx f;
	s3i_run_input *in = NULL;
	s3i_run *run = fx_open_run(&f, &in);
	add_region(&f, "r1", "eu-west-1");
	add_bucket(&f, run, HOST, "us-east-1", "src-a");
	add_bucket(&f, run, OTHER, "eu-west-1", "src-b");
	char staging_east[64], staging_west[64];
	staging_name(staging_east, "r1", "us-east-1");
	staging_name(staging_west, "r1", "eu-west-1");

	/* src-a: two data files in the run's schema, one of them uploaded by multipart */
	row *a1 = calloc(NA, sizeof(row)), *a2 = calloc(NM, sizeof(row)), *b1 = calloc(NB, sizeof(row));
	make_rows(a1, NA, "src-a", 1);
	make_rows(a2, NM, "src-a", 2);
	make_rows(b1, NB, "src-b", 3);
	data_file fa[2] = { { a1, NA, 0, 0, 0, "" }, { a2, NM, 0, 1, 0, "" } };
	delivery da = { "r1", HOST, "us-east-1", "src-a", "2026-12-04T00-00Z", fa, 2, 0, 0, "", 0 };
	write_delivery(&f, &da);
	/* src-b (another account, another region): a fileSchema without the optional fields */
	data_file fb[1] = { { b1, NB, 1, 0, 0, "" } };
	delivery db = { "r1", OTHER, "eu-west-1", "src-b", "2026-12-04T00-00Z", fb, 1, 0, 0, "", 0 };
	write_delivery(&f, &db);

	/* what the queue sees: a test event, events of data files and of the symlink (skipped),
	 * the checksums raw and inside an SNS envelope, one as a multipart completion */
	send_test_event(&f, staging_east);
	send_body(&f, f.queue_url, sns_wrap(s3_event("us-east-1", staging_east, fa[0].key, 10,
		"ObjectCreated:Put"), "r1"));
	send_body(&f, f.queue_url, s3_event("us-east-1", staging_east,
		"123456789012/us-east-1/src-a/dep1-r1-s3-inventory/hive/dt=2026-12-04-00-00/symlink.txt",
		10, "ObjectCreated:Put"));
	send_checksum_event(&f, &da, 0, "ObjectCreated:CompleteMultipartUpload");
	send_checksum_event(&f, &db, 1, NULL);

	s3i_ingest *st = new_ingest(&f, NULL);
	ingest_until_empty(st);
	s3i_ingest_stats stats = S3I_INGEST_STATS_INIT;
	CHECK_OK(s3i_ingest_get_stats(st, &stats));
	assert_int_equal(stats.messages_received, 5);
	assert_int_equal(stats.messages_deleted, 5);
	assert_int_equal(stats.messages_skipped, 3);
	assert_int_equal(stats.manifests_claimed, 2);
	assert_int_equal(stats.files_copied, 2);
	assert_int_equal(stats.files_rewritten, 1);
	assert_int_equal(stats.buckets_done, 2);

	s3i_state_bucket b;
	get_bucket(&f, "r1", HOST, "src-a", &b);
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	assert_int_equal(b.expected_files, 2);
	assert_int_equal(b.partitioned_files, 2);
	assert_int_equal(b.objects, NA + NM);
	assert_int_equal(b.bytes, rows_bytes(a1, NA) + rows_bytes(a2, NM));
	assert_int_equal(b.inventory_configured, 0);
	get_bucket(&f, "r1", OTHER, "src-b", &b);
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	assert_int_equal(b.objects, NB);
	assert_int_equal(b.bytes, rows_bytes(b1, NB));
	assert_false(has_inventory_config(&f, run, HOST, "us-east-1", "src-a"));
	assert_false(has_inventory_config(&f, run, OTHER, "eu-west-1", "src-b"));

	char **got = NULL, **want = NULL;
	int ngot = read_back(&f, "r1", &got), nwant = 0;
	nwant = expect_rows(&want, nwant, "r1", HOST, "us-east-1", "src-a", a1, NA, NCOL);
	nwant = expect_rows(&want, nwant, "r1", HOST, "us-east-1", "src-a", a2, NM, NCOL);
	nwant = expect_rows(&want, nwant, "r1", OTHER, "eu-west-1", "src-b", b1, NB, SHORT_NCOL);
	assert_same_rows(got, ngot, want, nwant);

	/* a later delivery for src-a (S3 may deliver once more) and a redelivered message: the
	 * first verified manifest stays, nothing is counted twice */
	row *a3 = calloc(5, sizeof(row));
	make_rows(a3, 5, "src-a", 4);
	data_file fa2[1] = { { a3, 5, 0, 0, 0, "" } };
	delivery da2 = { "r1", HOST, "us-east-1", "src-a", "2026-12-05T00-00Z", fa2, 1, 0, 0, "", 0 };
	write_delivery(&f, &da2);
	send_checksum_event(&f, &da2, 1, NULL);
	send_checksum_event(&f, &da, 0, NULL);
	send_checksum_event(&f, &db, 0, NULL);
	ingest_until_empty(st);
	CHECK_OK(s3i_ingest_get_stats(st, &stats));
	assert_int_equal(stats.messages_deleted, 8);
	assert_int_equal(stats.deliveries_ignored, 1);
	assert_int_equal(stats.files_copied, 2);
	assert_int_equal(stats.files_rewritten, 1);
	get_bucket(&f, "r1", HOST, "src-a", &b);
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	assert_int_equal(b.partitioned_files, 2);
	assert_int_equal(b.objects, NA + NM);
	assert_non_null(strstr(b.manifest_key, "2026-12-04T00-00Z/manifest.json"));
	ngot = read_back(&f, "r1", &got);
	nwant = 0;
	want = NULL;
	nwant = expect_rows(&want, nwant, "r1", HOST, "us-east-1", "src-a", a1, NA, NCOL);
	nwant = expect_rows(&want, nwant, "r1", HOST, "us-east-1", "src-a", a2, NM, NCOL);
	nwant = expect_rows(&want, nwant, "r1", OTHER, "eu-west-1", "src-b", b1, NB, SHORT_NCOL);
	assert_same_rows(got, ngot, want, nwant);

	s3i_ingest_free(st);
	for (int i = 0; i < NA; i++)
		row_free(&a1[i]);
	for (int i = 0; i < NM; i++)
		row_free(&a2[i]);
	for (int i = 0; i < NB; i++)
		row_free(&b1[i]);
	for (int i = 0; i < 5; i++)
		row_free(&a3[i]);
	free(a1);
	free(a2);
	free(b1);
	free(a3);
	fx_close_run(&f, run, in);
}

static int run_failed(fx *f, s3i_run *run)
{
	(void)f;
	s3i_run_status rs;
	memset(&rs, 0, sizeof(rs));
	rs.struct_size = sizeof(rs);
	CHECK_OK(s3i_run_status_read(run, &rs, NULL, NULL));
	return !strcmp(rs.phase, "failed");
}

static void test_refused_manifest_and_failed_data_file(void **state)
{
	(void)state;
	fx f;
	s3i_run_input *in = NULL;
	s3i_run *run = fx_open_run(&f, &in);
	add_bucket(&f, run, HOST, "us-east-1", "src-c");
	add_bucket(&f, run, HOST, "us-east-1", "src-d");
	add_bucket(&f, run, OTHER, "us-east-1", "src-e");
	row *c = seeded(7, "src-c", 5), *d = seeded(9, "src-d", 6), *e = seeded(11, "src-e", 7);

	/* src-c: a manifest.checksum that does not match manifest.json is refused */
	data_file fc[1] = { { c, 7, 0, 0, 0, "" } };
	delivery dc = { "r1", HOST, "us-east-1", "src-c", "2026-12-04T00-00Z", fc, 1, 1, 0, "", 0 };
	write_delivery(&f, &dc);
	/* src-d: a data file whose size is not the manifest's fails the bucket, not the run */
	data_file fd[2] = { { d, 4, 0, 0, 0, "" }, { d + 4, 5, 0, 0, 5, "" } };
	delivery dd = { "r1", HOST, "us-east-1", "src-d", "2026-12-04T00-00Z", fd, 2, 0, 0, "", 0 };
	write_delivery(&f, &dd);
	/* src-e: fine */
	data_file fe[1] = { { e, 11, 0, 0, 0, "" } };
	delivery de = { "r1", OTHER, "us-east-1", "src-e", "2026-12-04T00-00Z", fe, 1, 0, 0, "", 0 };
	write_delivery(&f, &de);
	send_checksum_event(&f, &dc, 0, NULL);
	send_checksum_event(&f, &dd, 1, NULL);
	send_checksum_event(&f, &de, 0, NULL);

	s3i_ingest *st = new_ingest(&f, NULL);
	ingest_until_empty(st);
	s3i_ingest_stats stats = S3I_INGEST_STATS_INIT;
	CHECK_OK(s3i_ingest_get_stats(st, &stats));
	assert_int_equal(stats.messages_deleted, 3);
	assert_int_equal(stats.deliveries_ignored, 1);
	assert_int_equal(stats.buckets_failed, 1);
	assert_int_equal(stats.buckets_done, 1);

	s3i_state_bucket b;
	get_bucket(&f, "r1", HOST, "src-c", &b);
	assert_int_equal(b.status, S3I_BUCKET_IN_PROGRESS);   /* still waiting for a good one */
	assert_string_equal(b.manifest_key, "");
	get_bucket(&f, "r1", HOST, "src-d", &b);
	assert_int_equal(b.status, S3I_BUCKET_FAILED);
	assert_non_null(strstr(b.reason, fd[1].key));
	assert_non_null(strstr(b.reason, "manifest says"));
	get_bucket(&f, "r1", OTHER, "src-e", &b);
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	assert_false(run_failed(&f, run));

	/* a later, intact delivery of src-c completes it */
	data_file fc2[1] = { { c, 7, 0, 0, 0, "" } };
	delivery dc2 = { "r1", HOST, "us-east-1", "src-c", "2026-12-05T00-00Z", fc2, 1, 0, 0, "", 0 };
	write_delivery(&f, &dc2);
	send_checksum_event(&f, &dc2, 0, NULL);
	ingest_until_empty(st);
	get_bucket(&f, "r1", HOST, "src-c", &b);
	assert_int_equal(b.status, S3I_BUCKET_DONE);

	/* the consolidated data: src-c and src-e whole; of src-d only its verified first file
	 * (the failed file's copy was removed; the bucket is failed and reported) */
	char **got = NULL, **want = NULL;
	int ngot = read_back(&f, "r1", &got), nwant = 0;
	nwant = expect_rows(&want, nwant, "r1", HOST, "us-east-1", "src-c", c, 7, NCOL);
	nwant = expect_rows(&want, nwant, "r1", HOST, "us-east-1", "src-d", d, 4, NCOL);
	nwant = expect_rows(&want, nwant, "r1", OTHER, "us-east-1", "src-e", e, 11, NCOL);
	assert_same_rows(got, ngot, want, nwant);

	s3i_ingest_free(st);
	free_rows(c, 7);
	free_rows(d, 9);
	free_rows(e, 11);
	fx_close_run(&f, run, in);
}

static void test_two_runs_interleave_on_one_queue(void **state)
{
	(void)state;
	fx f;
	fx_open(&f);
	s3i_run_input *in1 = NULL, *in2 = NULL;
	s3i_run *r1 = start_run(&f, "r1", &in1), *r2 = start_run(&f, "r2", &in2);
	add_region(&f, "r1", "us-east-1");
	add_region(&f, "r2", "us-east-1");
	add_region(&f, "r2", "eu-west-1");
	/* the same source bucket in both runs, and one more in r2 */
	add_bucket(&f, r1, HOST, "us-east-1", "shared");
	add_bucket(&f, r2, HOST, "us-east-1", "shared");
	add_bucket(&f, r2, OTHER, "eu-west-1", "only-r2");
	row *x1 = seeded(20, "shared", 8), *x2 = seeded(30, "shared", 9), *y = seeded(15, "only-r2", 10);
	data_file f1[2] = { { x1, 10, 0, 0, 0, "" }, { x1 + 10, 10, 0, 0, 0, "" } };
	delivery d1 = { "r1", HOST, "us-east-1", "shared", "2026-12-04T00-00Z", f1, 2, 0, 0, "", 0 };
	data_file f2[1] = { { x2, 30, 0, 0, 0, "" } };
	delivery d2 = { "r2", HOST, "us-east-1", "shared", "2026-12-04T01-00Z", f2, 1, 0, 0, "", 0 };
	data_file f3[1] = { { y, 15, 1, 0, 0, "" } };
	delivery d3 = { "r2", OTHER, "eu-west-1", "only-r2", "2026-12-04T01-00Z", f3, 1, 0, 0, "", 0 };
	write_delivery(&f, &d1);
	write_delivery(&f, &d2);
	write_delivery(&f, &d3);
	send_checksum_event(&f, &d2, 1, NULL);
	send_checksum_event(&f, &d1, 0, NULL);
	send_checksum_event(&f, &d3, 1, NULL);
	send_checksum_event(&f, &d1, 1, NULL);         /* a duplicate of r1's */

	/* two consumers, one message at a time each, taking turns */
	s3i_ingest_options o = S3I_INGEST_OPTIONS_INIT;
	o.wait_seconds = 1;
	o.max_messages = 1;
	o.visibility_timeout = 60;
	s3i_ingest *a = new_ingest(&f, &o), *b = new_ingest(&f, &o);
	int fa = 0, fb = 0;
	for (int i = 0; i < 20 && !(fa && fb); i++) {
		CHECK_OK(s3i_ingest_step(i % 2 ? b : a, 0, i % 2 ? &fb : &fa));
	}
	assert_true(fa && fb);
	s3i_ingest_stats sa = S3I_INGEST_STATS_INIT, sb = S3I_INGEST_STATS_INIT;
	CHECK_OK(s3i_ingest_get_stats(a, &sa));
	CHECK_OK(s3i_ingest_get_stats(b, &sb));
	assert_int_equal(sa.messages_deleted + sb.messages_deleted, 4);
	assert_true(sa.messages_deleted >= 1 && sb.messages_deleted >= 1);
	assert_int_equal(sa.files_copied + sb.files_copied, 3);
	assert_int_equal(sa.files_rewritten + sb.files_rewritten, 1);

	s3i_state_bucket bk;
	get_bucket(&f, "r1", HOST, "shared", &bk);
	assert_int_equal(bk.status, S3I_BUCKET_DONE);
	assert_int_equal(bk.objects, 20);
	get_bucket(&f, "r2", HOST, "shared", &bk);
	assert_int_equal(bk.status, S3I_BUCKET_DONE);
	assert_int_equal(bk.objects, 30);
	get_bucket(&f, "r2", OTHER, "only-r2", &bk);
	assert_int_equal(bk.status, S3I_BUCKET_DONE);
	assert_int_equal(bk.objects, 15);

	char **got = NULL, **want = NULL;
	int ngot = read_back(&f, "r1", &got), nwant = 0;
	nwant = expect_rows(&want, nwant, "r1", HOST, "us-east-1", "shared", x1, 20, NCOL);
	assert_same_rows(got, ngot, want, nwant);
	got = want = NULL;
	ngot = read_back(&f, "r2", &got);
	nwant = 0;
	nwant = expect_rows(&want, nwant, "r2", HOST, "us-east-1", "shared", x2, 30, NCOL);
	nwant = expect_rows(&want, nwant, "r2", OTHER, "eu-west-1", "only-r2", y, 15, SHORT_NCOL);
	assert_same_rows(got, ngot, want, nwant);

	s3i_ingest_free(a);
	s3i_ingest_free(b);
	free_rows(x1, 20);
	free_rows(x2, 30);
	free_rows(y, 15);
	s3i_run_free(r1);
	s3i_run_free(r2);
	s3i_run_input_free(in1);
	s3i_run_input_free(in2);
	fx_close(&f);
}

/* A checksum whose manifest.json never appears keeps failing: after maxReceiveCount the
 * message moves to the dead-letter queue and the bucket it names is marked failed. */
static void test_poison_message_goes_to_dlq_and_fails_its_bucket(void **state)
{
	(void)state;
	fx f;
	s3i_run_input *in = NULL;
	s3i_run *run = fx_open_run(&f, &in);
	add_bucket(&f, run, HOST, "us-east-1", "src-p");
	add_bucket(&f, run, HOST, "us-east-1", "src-q");

	char dlq[1024], q[1024], policy[512];
	CHECK_OK(s3i_sqs_create_queue_op(&f.host, "poison-dlq", NULL, 0, NULL, 0, dlq, sizeof(dlq),
		NULL));
	CHECK_OK(s3i_sqs_redrive_policy(policy, sizeof(policy),
		"arn:aws:sqs:us-east-1:" HOST ":poison-dlq", 2));
	s3i_sqs_kv attrs[] = { { "RedrivePolicy", policy } };
	CHECK_OK(s3i_sqs_create_queue_op(&f.host, "poison-q", attrs, 1, NULL, 0, q, sizeof(q),
		NULL));

	row *p = seeded(3, "src-p", 11), *g = seeded(4, "src-q", 12);
	data_file fp[1] = { { p, 3, 0, 0, 0, "" } };
	delivery dp = { "r1", HOST, "us-east-1", "src-p", "2026-12-04T00-00Z", fp, 1, 0, 1, "", 0 };
	write_delivery(&f, &dp);
	data_file fg[1] = { { g, 4, 0, 0, 0, "" } };
	delivery dg = { "r1", HOST, "us-east-1", "src-q", "2026-12-04T00-00Z", fg, 1, 0, 0, "", 0 };
	write_delivery(&f, &dg);
	char staging[64];
	staging_name(staging, "r1", "us-east-1");
	send_body(&f, q, s3_event("us-east-1", staging, dp.checksum_key, 33, "ObjectCreated:Put"));
	send_body(&f, q, s3_event("us-east-1", staging, dg.checksum_key, 33, "ObjectCreated:Put"));
	/* a body that is no S3 event at all is dropped at once */
	send_body(&f, q, strdup("this is not JSON"));

	s3i_ingest_options o = S3I_INGEST_OPTIONS_INIT;
	o.queue_url = q;
	o.dlq_url = dlq;
	o.wait_seconds = 1;
	o.visibility_timeout = 1;
	o.manifest_wait_ms = 100;
	s3i_ingest *st = new_ingest(&f, &o);
	s3i_state_bucket b;
	for (int i = 0; i < 30; i++) {
		int finished = 0;
		CHECK_OK(s3i_ingest_step(st, 0, &finished));
		get_bucket(&f, "r1", HOST, "src-p", &b);
		if (b.status == S3I_BUCKET_FAILED)
			break;
	}
	assert_int_equal(b.status, S3I_BUCKET_FAILED);
	assert_non_null(strstr(b.reason, "dead-letter"));
	assert_non_null(strstr(b.reason, dp.checksum_key));
	get_bucket(&f, "r1", HOST, "src-q", &b);
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	s3i_ingest_stats stats = S3I_INGEST_STATS_INIT;
	CHECK_OK(s3i_ingest_get_stats(st, &stats));
	assert_true(stats.messages_retried >= 2);
	assert_int_equal(stats.dlq_messages, 1);
	assert_true(stats.messages_skipped >= 1);
	assert_false(run_failed(&f, run));

	s3i_ingest_free(st);
	free_rows(p, 3);
	free_rows(g, 4);
	fx_close_run(&f, run, in);
}

/* S3 answers a CopyObject with 200 and an <Error> document now and then (moto never does:
 * served through the launcher's /_fault): the message stays, nothing is counted, and the
 * redelivery completes the bucket with exactly its rows. */
static void test_copy_error_in_200_leaves_the_message(void **state)
{
	(void)state;
	fx f;
	s3i_run_input *in = NULL;
	s3i_run *run = fx_open_run(&f, &in);
	add_bucket(&f, run, HOST, "us-east-1", "src-t");
	row *r = seeded(10, "src-t", 14);
	data_file ft[2] = { { r, 5, 0, 0, 0, "" }, { r + 5, 5, 0, 0, 0, "" } };
	delivery dt = { "r1", HOST, "us-east-1", "src-t", "2026-12-04T00-00Z", ft, 2, 0, 0, "", 0 };
	write_delivery(&f, &dt);
	send_checksum_event(&f, &dt, 0, NULL);
	char rule[1024];
	snprintf(rule, sizeof(rule), "{\"method\":\"PUT\",\"path\":\"^/%s/inventory/r1/\","
		"\"status\":200,\"body\":\"<Error><Code>InternalError</Code><Message>We encountered "
		"an internal error. Please try again.</Message><RequestId>4442587FB7D0A2F9</RequestId>"
		"<HostId>h</HostId></Error>\",\"count\":1}", s3i_deployment_consolidated_bucket(f.d));
	assert_int_equal(s3i_moto_add_fault(moto, rule), 0);

	s3i_ingest_options o = S3I_INGEST_OPTIONS_INIT;
	o.wait_seconds = 1;
	o.visibility_timeout = 1;
	s3i_ingest *st = new_ingest(&f, &o);
	int finished = 0;
	CHECK_OK(s3i_ingest_step(st, 0, &finished));
	assert_false(finished);
	assert_int_equal(s3i_ingest_error(st)->code, S3I_ESERVICE);
	assert_non_null(strstr(s3i_ingest_error(st)->message, "InternalError"));
	s3i_ingest_stats stats = S3I_INGEST_STATS_INIT;
	CHECK_OK(s3i_ingest_get_stats(st, &stats));
	assert_int_equal(stats.messages_retried, 1);
	assert_int_equal(stats.messages_deleted, 0);
	s3i_check_faults_used(moto);
	s3i_state_bucket b;
	get_bucket(&f, "r1", HOST, "src-t", &b);
	assert_int_equal(b.status, S3I_BUCKET_INGESTING);
	assert_int_equal(b.partitioned_files, 1);   /* the file that arrived intact is counted */

	for (int i = 0; i < 10 && b.status != S3I_BUCKET_DONE; i++) {
		CHECK_OK(s3i_ingest_step(st, 0, &finished));
		get_bucket(&f, "r1", HOST, "src-t", &b);
	}
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	ingest_until_empty(st);
	get_bucket(&f, "r1", HOST, "src-t", &b);
	assert_int_equal(b.objects, 10);
	char **got = NULL, **want = NULL;
	int ngot = read_back(&f, "r1", &got), nwant = 0;
	nwant = expect_rows(&want, nwant, "r1", HOST, "us-east-1", "src-t", r, 10, NCOL);
	assert_same_rows(got, ngot, want, nwant);

	s3i_ingest_free(st);
	free_rows(r, 10);
	fx_close_run(&f, run, in);
}

/* A step whose deadline leaves no time for the files claims the manifest, copies nothing and
 * makes the message visible again at once; the next step finishes it. */
static void test_deadline_requeues_the_message(void **state)
{
	(void)state;
	fx f;
	s3i_run_input *in = NULL;
	s3i_run *run = fx_open_run(&f, &in);
	add_bucket(&f, run, HOST, "us-east-1", "src-dl");
	row *r = seeded(6, "src-dl", 15);
	data_file fd[1] = { { r, 6, 0, 0, 0, "" } };
	delivery dd = { "r1", HOST, "us-east-1", "src-dl", "2026-12-04T00-00Z", fd, 1, 0, 0, "", 0 };
	write_delivery(&f, &dd);
	send_checksum_event(&f, &dd, 0, NULL);

	s3i_ingest *st = new_ingest(&f, NULL);           /* visibility timeout 30 s */
	int finished = 1;
	int64_t now = s3i_deployment_now_ms(f.d);
	CHECK_OK(s3i_ingest_step(st, now + 1500, &finished));
	assert_false(finished);
	s3i_ingest_stats stats = S3I_INGEST_STATS_INIT;
	CHECK_OK(s3i_ingest_get_stats(st, &stats));
	assert_int_equal(stats.messages_received, 1);
	assert_int_equal(stats.messages_deleted, 0);
	assert_int_equal(stats.manifests_claimed, 1);
	assert_int_equal(stats.files_copied, 0);
	s3i_state_bucket b;
	get_bucket(&f, "r1", HOST, "src-dl", &b);
	assert_int_equal(b.status, S3I_BUCKET_INGESTING);
	assert_int_equal(b.partitioned_files, 0);
	/* visible again at once, not after 30 s */
	CHECK_OK(s3i_ingest_step(st, 0, &finished));
	assert_false(finished);
	get_bucket(&f, "r1", HOST, "src-dl", &b);
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	assert_int_equal(b.objects, 6);
	ingest_until_empty(st);
	CHECK_OK(s3i_ingest_get_stats(st, &stats));
	assert_int_equal(stats.messages_deleted, 1);
	assert_int_equal(stats.files_copied, 1);

	s3i_ingest_free(st);
	free_rows(r, 6);
	fx_close_run(&f, run, in);
}

/* SIGKILL at a crash point in a child, then resume with a fresh handle in the parent: exactly
 * the seeded rows, nothing missing, nothing twice. */
static void crash_and_resume(const char *point, int finish_with_partition, int short_schema)
{
	fx f;
	s3i_run_input *in = NULL;
	s3i_run *run = fx_open_run(&f, &in);
	add_bucket(&f, run, HOST, "us-east-1", "src-k");
	row *k = seeded(24, "src-k", 13);
	/* short_schema: the files are rewritten, else copied */
	data_file fk[3] = { { k, 8, short_schema, 0, 0, "" }, { k + 8, 8, short_schema, 0, 0, "" },
		{ k + 16, 8, short_schema, 0, 0, "" } };
	delivery dk = { "r1", HOST, "us-east-1", "src-k", "2026-12-04T00-00Z", fk, 3, 0, 0, "", 0 };
	write_delivery(&f, &dk);
	send_checksum_event(&f, &dk, 1, NULL);

	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("S3I_TEST_CRASH_AT", point, 1);
		setenv("S3I_TEST_CRASH_SKIP", "1", 1);   /* after_copy: the second file */
		if (strcmp(point, "ingest.after_copy"))
			unsetenv("S3I_TEST_CRASH_SKIP");
		s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
		o.endpoint_url = s3i_moto_url(moto);
		o.region = "us-east-1";
		o.access_key_id = "testing";
		o.secret_access_key = "testing";
		s3i_ctx *ctx = NULL;
		s3i_deployment *d = NULL;
		s3i_deployment_options dopts = S3I_DEPLOYMENT_OPTIONS_INIT;
		dopts.name = "dep1";
		if (s3i_ctx_new(&ctx, &o) || s3i_deployment_open(&d, ctx, &dopts))
			_exit(2);
		s3i_ingest_options io = S3I_INGEST_OPTIONS_INIT;
		io.wait_seconds = 1;
		io.visibility_timeout = 1;
		s3i_ingest *st = NULL;
		int finished = 0;
		if (s3i_ingest_new(&st, d, &io) || s3i_ingest_step(st, 0, &finished))
			_exit(3);
		_exit(4);                                  /* the crash point was not reached */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status))
		fprintf(stderr, "child of %s exited with %d\n", point, WEXITSTATUS(status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	/* the child died where it was meant to */
	s3i_state_bucket b;
	get_bucket(&f, "r1", HOST, "src-k", &b);
	if (!strcmp(point, "ingest.after_copy")) {
		assert_int_equal(b.status, S3I_BUCKET_INGESTING);
		assert_int_equal(b.partitioned_files, 1);      /* the second file copied, not counted */
	} else if (!strcmp(point, "ingest.after_manifest_check")) {
		assert_int_equal(b.status, S3I_BUCKET_INGESTING);
		assert_int_equal(b.partitioned_files, 0);
	} else {
		assert_int_equal(b.status, S3I_BUCKET_DONE);   /* recorded, message not deleted */
	}
	if (finish_with_partition) {
		assert_int_equal(b.status, S3I_BUCKET_INGESTING);
		s3i_partition *pt = NULL;
		CHECK_OK(s3i_partition_new(&pt, run, NULL));
		CHECK_OK(s3i_partition_run(pt));
		int finished = 0;
		CHECK_OK(s3i_partition_step(pt, 0, &finished));
		assert_true(finished);
		s3i_partition_free(pt);
		get_bucket(&f, "r1", HOST, "src-k", &b);
		assert_int_equal(b.status, S3I_BUCKET_DONE);
	}
	/* the message comes back after its visibility timeout; the resumed ingest finishes */
	s3i_ingest *st = new_ingest(&f, NULL);
	for (int i = 0; i < 20; i++) {
		int finished = 0;
		CHECK_OK(s3i_ingest_step(st, 0, &finished));
		s3i_ingest_stats stats = S3I_INGEST_STATS_INIT;
		CHECK_OK(s3i_ingest_get_stats(st, &stats));
		if (stats.messages_deleted == 1)
			break;
	}
	s3i_ingest_stats stats = S3I_INGEST_STATS_INIT;
	CHECK_OK(s3i_ingest_get_stats(st, &stats));
	assert_int_equal(stats.messages_deleted, 1);
	ingest_until_empty(st);
	get_bucket(&f, "r1", HOST, "src-k", &b);
	assert_int_equal(b.status, S3I_BUCKET_DONE);
	assert_int_equal(b.partitioned_files, 3);
	assert_int_equal(b.objects, 24);
	assert_int_equal(b.bytes, rows_bytes(k, 24));
	assert_int_equal(b.inventory_configured, 0);
	assert_false(has_inventory_config(&f, run, HOST, "us-east-1", "src-k"));
	char **got = NULL, **want = NULL;
	int ngot = read_back(&f, "r1", &got), nwant = 0;
	nwant = expect_rows(&want, nwant, "r1", HOST, "us-east-1", "src-k", k, 24,
		short_schema ? SHORT_NCOL : NCOL);
	assert_same_rows(got, ngot, want, nwant);

	s3i_ingest_free(st);
	free_rows(k, 24);
	fx_close_run(&f, run, in);
}

static void test_crash_after_copy(void **state)
{
	(void)state;
	crash_and_resume("ingest.after_copy", 0, 0);
}

static void test_crash_before_delete_message(void **state)
{
	(void)state;
	crash_and_resume("ingest.before_delete_message", 0, 1);
}

static void test_crash_after_manifest_check_then_partition(void **state)
{
	(void)state;
	crash_and_resume("ingest.after_manifest_check", 1, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_new_rejects_bad_options),
		S3I_TEST(test_inventory_delivery_end_to_end),
		S3I_TEST(test_refused_manifest_and_failed_data_file),
		S3I_TEST(test_two_runs_interleave_on_one_queue),
		S3I_TEST(test_poison_message_goes_to_dlq_and_fails_its_bucket),
		S3I_TEST(test_copy_error_in_200_leaves_the_message),
		S3I_TEST(test_deadline_requeues_the_message),
		S3I_TEST(test_crash_after_copy),
		S3I_TEST(test_crash_before_delete_message),
		S3I_TEST(test_crash_after_manifest_check_then_partition),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
