/*
 * HeadObject through the fan-out (src/services/fanout.c) against bench/fanout's loopback S3
 * server: N calls at each concurrency asked for, timed on the wall clock, with the client's
 * own CPU time (getrusage: user + system of this process, which is only the client).
 *
 * usage: bench_fanout ENDPOINT_URL [requests=2000] [concurrency list=1,16,64]
 * Output, one tab-separated line per concurrency (the same shape boto3_fanout.py prints):
 *     c<concurrency>  requests  seconds  requests_per_s  cpu_us_per_request
 * Every answer is checked (status OK, Content-Length 434234, the ETag): a wrong one ends the
 * run with exit status 1. Before the timed runs, 200 calls at the highest concurrency warm
 * up the connection pool, as the Python side warms up its own.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "s3insights/s3insights.h"
#include "aws/ctx_internal.h"
#include "services/fanout.h"
#include "services/s3_head.h"

#define EXPECT_LENGTH 434234
#define EXPECT_ETAG "fba9dede5f27731c9771645a39863328"
#define WARMUP 200

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

typedef struct tally {
	size_t ok, bad;
	char first_problem[1200];
} tally;

static int on_head(void *payload, size_t index, int status, const s3i_s3_head_result *head,
	const s3i_errinfo *err)
{
	tally *t = payload;
	if (status == S3I_OK && head->content_length == EXPECT_LENGTH &&
		!strcmp(head->etag, EXPECT_ETAG)) {
		t->ok++;
		return 0;
	}
	if (!t->bad++)
		snprintf(t->first_problem, sizeof(t->first_problem), "call %zu: status %d (%s), "
			"length %lld, etag '%s'", index, status, status ? err->message : "",
			(long long)head->content_length, head->etag);
	return 0;
}

static int run(s3i_svc *svc, const s3i_s3_object_ref *refs, size_t n, int concurrency,
	int print)
{
	tally t;
	memset(&t, 0, sizeof(t));
	s3i_fanout_stats st;
	double c0 = cpu_s(), t0 = now_s();
	int rc = s3i_fanout_head_objects(svc, concurrency, refs, n, on_head, &t, &st, NULL);
	double t1 = now_s(), c1 = cpu_s();
	if (rc || t.bad || t.ok != n) {
		fprintf(stderr, "bench_fanout: c%d: rc %d, %zu ok, %zu wrong; %s %s\n", concurrency, rc,
			t.ok, t.bad, t.first_problem, rc ? s3i_error_last()->message : "");
		return 1;
	}
	if (print)
		printf("c%d\t%zu\t%.4f\t%.1f\t%.2f\n", concurrency, n, t1 - t0, (double)n / (t1 - t0),
			(c1 - c0) * 1e6 / (double)n);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s ENDPOINT_URL [requests] [concurrency,...]\n", argv[0]);
		return 2;
	}
	size_t n = argc > 2 ? (size_t)atol(argv[2]) : 2000;
	const char *list = argc > 3 ? argv[3] : "1,16,64";
	if (!n) {
		fprintf(stderr, "bench_fanout: requests must be > 0\n");
		return 2;
	}

	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.endpoint_url = argv[1];
	o.region = "us-east-1";
	o.access_key_id = "AKIAIOSFODNN7EXAMPLE";
	o.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	s3i_ctx *ctx = NULL;
	if (s3i_ctx_new(&ctx, &o)) {
		fprintf(stderr, "bench_fanout: %s\n", s3i_error_last()->message);
		return 1;
	}
	s3i_svc svc = { s3i_ctx_client(ctx), NULL, NULL };

	/* keys as inventory data files are named; every call asks for a different one */
	s3i_s3_object_ref *refs = calloc(n, sizeof(*refs));
	char (*keys)[96] = calloc(n, sizeof(*keys));
	if (!refs || !keys)
		return 1;
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "inventory/source-bucket/config/data/"
			"%08zx-5c1e-4a7b-9d2f-%012zx.csv.gz", i * 2654435761u % 0xffffffffu, i);
		refs[i].bucket = "bench-bucket";
		refs[i].key = keys[i];
	}

	int max_c = 1;
	int cs[16], nc = 0;
	for (const char *p = list; *p && nc < 16;) {
		cs[nc] = atoi(p);
		if (cs[nc] <= 0) {
			fprintf(stderr, "bench_fanout: bad concurrency list '%s'\n", list);
			return 2;
		}
		if (cs[nc] > max_c)
			max_c = cs[nc];
		nc++;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	int rc = run(&svc, refs, n < WARMUP ? n : WARMUP, max_c, 0);
	for (int i = 0; i < nc && !rc; i++)
		rc = run(&svc, refs, n, cs[i], 1);
	free(keys);
	free(refs);
	s3i_ctx_release(ctx);
	return rc;
}
