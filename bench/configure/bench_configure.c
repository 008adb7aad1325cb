/*
 * The configure stage (src/stages/configure.c, "snapshot": "inventory") on many buckets
 * against moto_server (tests/moto_launcher.py): BUCKETS source buckets spread over two
 * accounts (the host and 111111111111 through its cross-account role) and three regions,
 * each holding one object, recorded as discovered; then, for each concurrency asked for, a new
 * run configures all of them (empty check, PutBucketInventoryConfiguration, two state writes
 * per bucket) and the wall time, the buckets and requests per second and the client's own CPU
 * per bucket (getrusage of this process; moto is another process) are printed.
 *
 * usage: bench_configure ENDPOINT_URL [BUCKETS=2000] [CONCURRENCY list=1,8,32]
 * Output, one tab-separated line per concurrency:
 *     c<concurrency>  buckets  seconds  buckets_per_s  requests_per_s  cpu_us_per_bucket
 * Requests are counted as 4 per bucket (ListObjectVersions, PutBucketInventoryConfiguration,
 * two UpdateItem): the stage's own reads of the state table and the phase writes (a few
 * dozen) are left out. Every bucket must end in_progress, else exit status 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "s3insights/s3insights.h"
#include "s3insights/stage_configure.h"
#include "services/s3.h"
#include "stages/names.h"
#include "stages/run_internal.h"
#include "stages/state.h"

#define HOST "123456789012"
#define OTHER "111111111111"
#define DEP "benchcfg"

static const char *const regions[3] = { "us-east-1", "eu-west-1", "us-west-2" };

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

static int fail(const char *what)
{
	fprintf(stderr, "bench_configure: %s: %s\n", what, s3i_error_last()->message);
	return 1;
}

static void bucket_name(char *out, size_t cap, long i)
{
	snprintf(out, cap, "bench-src-%05ld", i);
}

static const char *account_of(long i) { return i % 2 ? OTHER : HOST; }
static const char *region_of(long i) { return regions[(i / 2) % 3]; }

typedef struct count {
	long in_progress, other;
} count;

static int on_bucket(void *user, const s3i_bucket_status *b)
{
	count *c = user;
	if (!strcmp(b->status, "in_progress"))
		c->in_progress++;
	else if (c->other++ < 3)
		fprintf(stderr, "bench_configure: bucket %s: %s (%s)\n", b->bucket, b->status, b->reason);
	return 0;
}

/* A new run with every bucket discovered and the staging buckets of its regions. */
static int start_run(s3i_deployment *d, const char *run_id, long buckets, s3i_run **out,
	s3i_run_input **in)
{
	char json[1024];
	snprintf(json, sizeof(json), "{\"run_id\":\"%s\",\"accounts\":[{\"id\":\"" HOST "\"},"
		"{\"id\":\"" OTHER "\"}],\"athena_queries\":[],\"sender_email_address\":\"a@example.com\","
		"\"recipient_email_addresses\":[\"b@example.com\"],\"supported_regions\":[\"us-east-1\","
		"\"eu-west-1\",\"us-west-2\"]}", run_id);
	if (s3i_run_input_parse(in, json, strlen(json), NULL, NULL))
		return fail("run input");
	if (s3i_run_start(out, d, *in))
		return fail("run start");
	s3i_state *st = s3i_run_state(*out);
	for (int r = 0; r < 3; r++) {
		s3i_state_region reg;
		memset(&reg, 0, sizeof(reg));
		snprintf(reg.region, sizeof(reg.region), "%s", regions[r]);
		if (s3i_names_staging_bucket(reg.staging_bucket, sizeof(reg.staging_bucket), DEP, run_id,
			HOST, regions[r]))
			return fail("staging name");
		snprintf(reg.status, sizeof(reg.status), "provisioned");
		s3i_svc svc;
		s3i_credprov *hold = NULL;
		if (s3i_run_account_svc(*out, HOST, regions[r], &svc, &hold, NULL) ||
			s3i_s3_create_bucket_op(&svc, reg.staging_bucket, regions[r], NULL) ||
			s3i_state_region_put(st, run_id, &reg, NULL))
			return fail("staging bucket");
		if (hold)
			s3i_credprov_release(hold);
	}
	for (long i = 0; i < buckets; i++) {
		char name[64];
		bucket_name(name, sizeof(name), i);
		int created;
		if (s3i_state_bucket_add(st, run_id, account_of(i), region_of(i), name,
			S3I_BUCKET_DISCOVERED, NULL, s3i_deployment_now_ms(d), &created, NULL))
			return fail("recording a bucket");
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s ENDPOINT_URL [BUCKETS] [CONCURRENCY,...]\n", argv[0]);
		return 2;
	}
	long buckets = argc > 2 ? atol(argv[2]) : 2000;
	const char *list = argc > 3 ? argv[3] : "1,8,32";
	if (buckets <= 0 || buckets > 99999) {
		fprintf(stderr, "bench_configure: BUCKETS must be 1..99999\n");
		return 2;
	}
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.endpoint_url = argv[1];
	o.region = "us-east-1";
	o.access_key_id = "testing";
	o.secret_access_key = "testing";
	s3i_ctx *ctx = NULL;
	if (s3i_ctx_new(&ctx, &o))
		return fail("context");
	s3i_deployment *d = NULL;
	s3i_deployment_options dopt = S3I_DEPLOYMENT_OPTIONS_INIT;
	dopt.name = DEP;
	if (s3i_deployment_open(&d, ctx, &dopt) || s3i_deployment_init(d))
		return fail("deployment");

	/* the source buckets, once: one object each, so none is empty */
	double t0 = now_s();
	{
		s3i_run_input *in = NULL;
		s3i_run *run = NULL;
		if (start_run(d, "seed", 0, &run, &in))
			return 1;
		for (long i = 0; i < buckets; i++) {
			char name[64];
			bucket_name(name, sizeof(name), i);
			s3i_svc svc;
			s3i_credprov *hold = NULL;
			if (s3i_run_account_svc(run, account_of(i), region_of(i), &svc, &hold, NULL) ||
				s3i_s3_create_bucket_op(&svc, name, region_of(i), NULL) ||
				s3i_s3_put_object_op(&svc, name, "data/object.txt", "hello", 5, "text/plain",
					NULL))
				return fail("seeding");
			if (hold)
				s3i_credprov_release(hold);
		}
		s3i_run_free(run);
		s3i_run_input_free(in);
	}
	fprintf(stderr, "bench_configure: %ld buckets seeded in %.1f s\n", buckets, now_s() - t0);

	int rc = 0, round = 0;
	for (const char *p = list; *p && !rc;) {
		int c = atoi(p);
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
		if (c <= 0 || c > 64) {
			fprintf(stderr, "bench_configure: bad concurrency list '%s'\n", list);
			return 2;
		}
		char run_id[16];
		snprintf(run_id, sizeof(run_id), "c%dr%d", c, round++);
		s3i_run_input *in = NULL;
		s3i_run *run = NULL;
		if (start_run(d, run_id, buckets, &run, &in))
			return 1;
		s3i_configure *st = NULL;
		s3i_configure_options co = S3I_CONFIGURE_OPTIONS_INIT;
		co.concurrency = c;
		if (s3i_configure_new(&st, run, &co))
			return fail("configure");
		double c0 = cpu_s(), w0 = now_s();
		rc = s3i_configure_run(st);
		double w1 = now_s(), c1 = cpu_s();
		if (rc)
			fprintf(stderr, "bench_configure: %s\n", s3i_configure_error(st)->message);
		s3i_configure_free(st);
		count n = { 0, 0 };
		s3i_run_status rs;
		memset(&rs, 0, sizeof(rs));
		rs.struct_size = sizeof(rs);
		if (!rc && s3i_run_status_read(run, &rs, on_bucket, &n))
			rc = fail("status");
		if (!rc && n.in_progress != buckets) {
			fprintf(stderr, "bench_configure: %ld of %ld buckets in_progress\n", n.in_progress,
				buckets);
			rc = 1;
		}
		if (!rc)
			printf("c%d\t%ld\t%.3f\t%.1f\t%.1f\t%.1f\n", c, buckets, w1 - w0,
				(double)buckets / (w1 - w0), 4.0 * (double)buckets / (w1 - w0),
				(c1 - c0) * 1e6 / (double)buckets);
		fflush(stdout);
		s3i_run_free(run);
		s3i_run_input_free(in);
	}
	s3i_deployment_free(d);
	s3i_ctx_release(ctx);
	return rc;
}
