/*
 * The list snapshot (src/stages/snapshot.c: s3i_snapshot_list and the report writer) against
 * bench/snapshot's loopback S3 server: one bucket of N objects listed with ListObjectsV2 and
 * written as an S3 Inventory CSV report (gzip data files, symlink.txt, manifest.json,
 * manifest.checksum) into a staging bucket on the same server, as configure does it for one
 * bucket. One bucket per process, so the peak RSS is this bucket's.
 *
 * usage: bench_snapshot ENDPOINT_URL OBJECTS [FILE_BYTES=67108864]
 * Output, one tab-separated line (the same shape boto3_snapshot.py prints):
 *     c  objects  seconds  objects_per_s  cpu_us_per_object  peak_rss_kib  data_files
 * The rows written must equal OBJECTS, else exit status 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "s3insights/s3insights.h"
#include "aws/ctx_internal.h"
#include "services/s3.h"
#include "stages/snapshot.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int put(void *user, const char *key, const void *data, size_t len,
	const char *content_type, s3i_errinfo *err)
{
	return s3i_s3_put_object_op(user, "staging-bucket", key, data, len, content_type, err);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s ENDPOINT_URL OBJECTS [FILE_BYTES]\n", argv[0]);
		return 2;
	}
	long objects = atol(argv[2]);
	int64_t file_bytes = argc > 3 ? atoll(argv[3]) : 0;
	if (objects <= 0 || file_bytes < 0) {
		fprintf(stderr, "bench_snapshot: bad OBJECTS or FILE_BYTES\n");
		return 2;
	}
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.endpoint_url = argv[1];
	o.region = "us-east-1";
	o.access_key_id = "AKIAIOSFODNN7EXAMPLE";
	o.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	s3i_ctx *ctx = NULL;
	if (s3i_ctx_new(&ctx, &o)) {
		fprintf(stderr, "bench_snapshot: %s\n", s3i_error_last()->message);
		return 1;
	}
	s3i_svc svc = { s3i_ctx_client(ctx), NULL, NULL };
	char bucket[64];
	snprintf(bucket, sizeof(bucket), "bench-%ld", objects);
	s3i_snapshot_spec spec = { .source_bucket = bucket, .staging_bucket = "staging-bucket",
		.prefix = "123456789012/us-east-1", .config_id = "bench-r1-s3-inventory",
		.all_versions = 0, .creation_ms = 1733300000000LL, .file_bytes = file_bytes };
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	s3i_snapshot_writer *w = NULL;
	double c0 = cpu_s(), t0 = now_s();
	int rc = s3i_snapshot_writer_new(&w, NULL, &spec, put, &svc, &err);
	if (!rc)
		rc = s3i_snapshot_list(w, &svc, bucket, 1000, 0, &err);
	if (!rc)
		rc = s3i_snapshot_writer_finish(w, &err);
	double t1 = now_s(), c1 = cpu_s();
	if (rc || s3i_snapshot_writer_rows(w) != objects) {
		fprintf(stderr, "bench_snapshot: rc %d, %lld rows: %s\n", rc,
			(long long)s3i_snapshot_writer_rows(w), err.message);
		return 1;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("c\t%ld\t%.4f\t%.0f\t%.2f\t%ld\t%zu\n", objects, t1 - t0, (double)objects / (t1 - t0),
		(c1 - c0) * 1e6 / (double)objects, ru.ru_maxrss, s3i_snapshot_writer_files(w));
	s3i_snapshot_writer_free(w);
	s3i_ctx_release(ctx);
	return 0;
}
