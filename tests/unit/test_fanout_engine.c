/*
 * The fan-out engine (src/services/fanout.c) against the loopback HTTP server, where moto
 * would be too slow or cannot fail on demand: thousands of operations in memory that does not
 * grow with their number, every operation reported exactly once with its own outcome, operations
 * that fail before they are sent, bad arguments, and an out-of-memory loop over a whole
 * fan-out (every allocation failing in turn: no crash, no leak, a failure is reported for the
 * fan-out or for the operations it hit). The behaviour against S3 (moto) is in
 * tests/integration/test_fanout.c.
 */
#include "test_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3insights/s3insights.h"
#include "aws/ctx_internal.h"
#include "loopback.h"
#include "services/fanout.h"
#include "services/s3_head.h"

static s3i_loopback *lb;

/* HEAD /bkt/<key>: 404 without a body for keys under missing/, else 200 as S3 answers. */
static void handler(void *user, const s3i_lb_request *req, s3i_lb_response *resp)
{
	(void)user;
	if (strcmp(req->method, "HEAD")) {
		resp->status = 405;
		return;
	}
	if (strstr(req->target, "/missing/")) {
		resp->status = 404;
		snprintf(resp->headers, sizeof(resp->headers), "x-amz-request-id: R404\r\n");
		return;
	}
	resp->status = 200;
	resp->body = "hello";   /* HEAD: only its Content-Length is sent */
	resp->body_len = 5;
	snprintf(resp->headers, sizeof(resp->headers), "ETag: \"5d41402abc4b2a76b9719d911017c592\"\r\n"
		"Last-Modified: Sun, 01 Jan 2006 12:00:00 GMT\r\nx-amz-request-id: R200\r\n");
}

static int group_setup(void **state)
{
	(void)state;
	return s3i_loopback_start(&lb, handler, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	s3i_loopback_stop(lb);
	return 0;
}

static s3i_ctx *open_ctx(s3i_svc *svc)
{
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.endpoint_url = s3i_loopback_url(lb);
	o.region = "us-east-1";
	o.access_key_id = "AKIDEXAMPLE";
	o.secret_access_key = "secret";
	o.max_attempts = 1;
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	svc->client = s3i_ctx_client(ctx);
	svc->creds = NULL;
	svc->region = NULL;
	return ctx;
}

/* ------------------------------------------------------------------ many operations */

#define MANY 5000

static struct {
	unsigned char seen[MANY];
	size_t ok, missing, other, reported;
	long blocks_early, blocks_late;   /* live allocations at two points of the run */
} many;

static int on_many(void *payload, size_t index, int status, const s3i_s3_head_result *head,
	const s3i_errinfo *err)
{
	(void)payload;
	assert_true(index < MANY);
	assert_int_equal(many.seen[index], 0);
	many.seen[index] = 1;
	many.reported++;
	if (many.reported == 1000)
		many.blocks_early = s3i_test_alloc_outstanding();
	else if (many.reported == 4000)
		many.blocks_late = s3i_test_alloc_outstanding();
	if (status == S3I_OK) {
		assert_int_equal(head->content_length, 5);
		assert_string_equal(head->etag, "5d41402abc4b2a76b9719d911017c592");
		assert_int_equal(head->last_modified_ms, 1136116800000LL);
		many.ok++;
	} else if (status == S3I_ENOTFOUND) {
		assert_non_null(strstr(err->message, "missing/"));
		assert_string_equal(err->request_id, "R404");
		many.missing++;
	} else {
		many.other++;
	}
	return 0;
}

static void t_many_in_bounded_memory(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = open_ctx(&svc);
	static s3i_s3_object_ref refs[MANY];
	static char keys[MANY][40];
	for (int i = 0; i < MANY; i++) {
		snprintf(keys[i], sizeof(keys[i]), i % 7 == 3 ? "missing/k%05d" : "data/k%05d", i);
		refs[i].bucket = "bkt";
		refs[i].key = keys[i];
	}
	memset(&many, 0, sizeof(many));
	int before = s3i_loopback_requests(lb);
	s3i_fanout_stats st;
	assert_int_equal(s3i_fanout_head_objects(&svc, 8, refs, MANY, on_many, NULL, &st, NULL),
		S3I_OK);
	assert_int_equal(st.started, MANY);
	assert_int_equal(st.succeeded + st.failed, MANY);
	assert_int_equal(many.other, 0);
	assert_int_equal(many.missing, (MANY + 3) / 7);
	assert_int_equal(st.failed, (int64_t)many.missing);
	assert_int_equal(s3i_loopback_requests(lb) - before, MANY);
	/* what the run holds depends on the operations in flight, not on how many ran: the
	 * client batch reuses the record of every finished call (3,000 calls between the two
	 * counts; a slot or a record more may have been warmed up in between) */
	assert_true(many.blocks_early > 0);
	assert_in_range(many.blocks_late, many.blocks_early - 8, many.blocks_early + 8);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ generic operations */

typedef struct gen {
	size_t made, total;
	int status[32];
	char message[32][1024];
	s3i_s3_head_result res[32];
} gen;

/* Operation 2 has no service, operation 4 a bad key (failed by the source), 6 is missing. */
static int gen_next(void *payload, s3i_fanout_op *op, s3i_errinfo *err)
{
	(void)err;
	gen *g = payload;
	if (g->made >= g->total)
		return 0;
	size_t i = g->made++;
	const char *key = i == 4 ? "" : i == 6 ? "missing/x" : "data/x";
	s3i_s3_head_object_prepare(op, "bkt", key, NULL, &g->res[i], &op->err);
	if (i == 2)
		op->call.svc = NULL;
	op->user = (void *)(uintptr_t)i;
	return 1;
}

static int gen_done(void *payload, s3i_fanout_op *op, int status, const s3i_errinfo *err)
{
	gen *g = payload;
	size_t i = (size_t)(uintptr_t)op->user;
	assert_int_equal(op->index, i);       /* the fan-out numbers them in the order made */
	g->status[i] = status;
	snprintf(g->message[i], sizeof(g->message[i]), "%s", err->message);
	return 0;
}

static void t_operations_fail_alone(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = open_ctx(&svc);
	static gen g;
	memset(&g, 0, sizeof(g));
	g.total = 10;
	s3i_fanout_stats st;
	assert_int_equal(s3i_fanout_run(&svc, 0, gen_next, gen_done, &g, &st, NULL), S3I_OK);
	assert_int_equal(st.started, 10);
	assert_int_equal(st.failed, 3);
	for (int i = 0; i < 10; i++) {
		if (i == 2) {
			assert_int_equal(g.status[i], S3I_EINVALID);
			assert_non_null(strstr(g.message[i], "has no service"));
		} else if (i == 4) {
			assert_int_equal(g.status[i], S3I_EINVALID);
			assert_non_null(strstr(g.message[i], "object key is empty"));
		} else if (i == 6) {
			assert_int_equal(g.status[i], S3I_ENOTFOUND);
			assert_non_null(strstr(g.message[i], "key 'missing/x' in bucket 'bkt'"));
		} else {
			assert_int_equal(g.status[i], S3I_OK);
			assert_string_equal(g.message[i], "");
			assert_int_equal(g.res[i].content_length, 5);
		}
	}

	/* bad arguments */
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	assert_int_equal(s3i_fanout_run(NULL, 4, gen_next, gen_done, &g, &st, &err), S3I_EINVALID);
	assert_int_equal(s3i_fanout_run(&svc, 4, NULL, gen_done, &g, &st, &err), S3I_EINVALID);
	assert_int_equal(s3i_fanout_head_objects(&svc, 4, NULL, 3, NULL, NULL, NULL, &err),
		S3I_EINVALID);
	assert_int_equal(s3i_fanout_bucket_locations(&svc, 4, NULL, 3, NULL, NULL, NULL, &err),
		S3I_EINVALID);
	/* callbacks may be NULL */
	s3i_s3_object_ref one = { "bkt", "data/y", NULL };
	assert_int_equal(s3i_fanout_head_objects(&svc, 100000, &one, 1, NULL, NULL, &st, NULL),
		S3I_OK);
	assert_int_equal(st.succeeded, 1);
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ out of memory */

static struct {
	size_t reported;
	size_t failed_nomem;
} oom;

static int on_oom(void *payload, size_t index, int status, const s3i_s3_head_result *head,
	const s3i_errinfo *err)
{
	(void)payload;
	(void)head;
	assert_true(index < 12);
	assert_int_equal(err->pub.code, status < 0 ? status : 0);
	oom.reported++;
	if (status == S3I_ENOMEM)
		oom.failed_nomem++;
	else
		assert_true(status == S3I_OK || status == S3I_ENOTFOUND || status == S3I_ENETWORK ||
			status == S3I_ERROR || status == S3I_EAUTH);
	return 0;
}

static void t_out_of_memory(void **state)
{
	(void)state;
	s3i_svc svc;
	s3i_ctx *ctx = open_ctx(&svc);
	s3i_s3_object_ref refs[12];
	char keys[12][32];
	for (int i = 0; i < 12; i++) {
		snprintf(keys[i], sizeof(keys[i]), i == 5 ? "missing/%d" : "data/%d", i);
		refs[i].bucket = "bkt";
		refs[i].key = keys[i];
		refs[i].version_id = i == 7 ? "v7" : NULL;
	}
	/* a first run resolves and caches the credentials and fills the client's pools: what
	 * stays allocated after it is the baseline every later run must come back to */
	memset(&oom, 0, sizeof(oom));
	assert_int_equal(s3i_fanout_head_objects(&svc, 3, refs, 12, on_oom, NULL, NULL, NULL),
		S3I_OK);
	long baseline = s3i_test_alloc_outstanding();
	long before = s3i_test_alloc_count();
	assert_int_equal(s3i_fanout_head_objects(&svc, 3, refs, 12, NULL, NULL, NULL, NULL), S3I_OK);
	long per_run = s3i_test_alloc_count() - before;
	int clean = 0;
	long n = 0;
	for (; n < 20000 && !clean; n += n < 400 ? 1 : 7) {
		memset(&oom, 0, sizeof(oom));
		s3i_fanout_stats st;
		s3i_test_alloc_fail_after(n);
		int rc = s3i_fanout_head_objects(&svc, 3, refs, 12, on_oom, NULL, &st, NULL);
		s3i_test_alloc_fail_after(-1);
		if (s3i_test_alloc_outstanding() != baseline)
			fprintf(stderr, "allocation %ld failing: rc %d, %ld allocations left over\n", n, rc,
				s3i_test_alloc_outstanding() - baseline);
		assert_int_equal(s3i_test_alloc_outstanding(), baseline);
		if (rc == S3I_OK) {
			assert_int_equal(oom.reported, 12);
			assert_int_equal(st.started, 12);
			clean = oom.failed_nomem == 0 && st.failed == 1;
		} else {
			assert_int_equal(rc, S3I_ENOMEM);
			assert_true(oom.reported <= 12);
		}
	}
	assert_true(clean);
	fprintf(stderr, "  %ld allocations per run; every one failed in turn up to %ld\n",
		per_run, n - 1);
	assert_true(n > per_run);   /* the loop went past the last allocation of a run */
	s3i_ctx_release(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_many_in_bounded_memory),
		S3I_TEST(t_operations_fail_alone),
		S3I_TEST(t_out_of_memory),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
