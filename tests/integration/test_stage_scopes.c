/*
 * The narrowed scopes the Harvester's distributed Maps use, against moto_server:
 *  - provision with options.account_id: one account discovered per step (the host, then
 *    111111111111 through its cross-account role), its marker written only after all its
 *    buckets; the whole-run step then lists neither again (a ListBuckets refusal waiting
 *    through /_fault is never used); an account id not in the input; an account whose role
 *    cannot be assumed (recorded, never the run's failure, not listed again by the whole-run
 *    step; the run fails only when no account could be listed);
 *  - configure with options.buckets: exactly the named buckets are configured, unknown names
 *    skipped, the run stays `configuring`; the whole-run sweep then moves it to `waiting`;
 *    the option checks; the names are copied;
 *  - s3i_deployment_list_runs over two runs, one finished.
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
#include "s3insights/stage_provision.h"
#include "stages/names.h"
#include "stages/run_internal.h"
#include "stages/state.h"
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "moto.h"
#include "provision_estate.h"
#include "stage_fixture.h"
#include "check.h"
#include "test_alloc.h"

#define HOST "123456789012"
#define OTHER "111111111111"

static s3i_moto *moto;

static int group_setup(void **state)
{
	(void)state;
	return s3i_stage_fx_start_moto(&moto, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	s3i_moto_stop(moto);
	return 0;
}

typedef s3i_stage_fx fx;

static s3i_run_phase phase_of(fx *f)
{
	s3i_state_run r;
	memset(&r, 0, sizeof(r));
	CHECK_OK(s3i_state_run_get(f->state, s3i_run_id(f->run), &r, NULL));
	s3i_run_phase p = r.phase;
	s3i_state_run_dispose(&r);
	return p;
}

static int bucket_status(fx *f, const char *account, const char *bucket, s3i_state_bucket *b)
{
	return s3i_state_bucket_get(f->state, s3i_run_id(f->run), account, bucket, b, NULL);
}

static void expect_status(fx *f, const char *account, const char *bucket, s3i_bucket_state st,
	const char *reason_part)
{
	s3i_state_bucket b;
	int rc = bucket_status(f, account, bucket, &b);
	if (rc || b.status != st)
		fprintf(stderr, "bucket %s/%s: rc %d, %s (%s), expected %s\n", account, bucket, rc,
			rc ? "-" : s3i_bucket_state_name(b.status), rc ? "" : b.reason,
			s3i_bucket_state_name(st));
	CHECK_OK(rc);
	assert_int_equal(b.status, st);
	if (reason_part)
		assert_non_null(strstr(b.reason, reason_part));
}

static void expect_absent(fx *f, const char *account, const char *bucket)
{
	s3i_state_bucket b;
	assert_int_equal(bucket_status(f, account, bucket, &b), S3I_ENOTFOUND);
}

static int count_region(void *user, const s3i_state_region *r)
{
	(void)r;
	(*(int *)user)++;
	return 0;
}

static int regions_of(fx *f)
{
	int n = 0;
	CHECK_OK(s3i_state_regions_list(f->state, "r1", count_region, &n, NULL));
	return n;
}

/* One per-account handle stepped to the end with deadline `step_ms` from now (0: none). */
static int discover_account(fx *f, const char *account, int64_t step_ms, int *steps)
{
	s3i_provision_options o = S3I_PROVISION_OPTIONS_INIT;
	o.account_id = account;
	o.skip_sender_check = 1;
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f->run, &o));
	int finished = 0, rc = S3I_OK, n = 0;
	while (!finished && rc == S3I_OK) {
		rc = s3i_provision_step(p, step_ms ? s3i_deployment_now_ms(f->d) + step_ms : 0,
			&finished);
		n++;
		assert_true(n < 100);
		if (!finished && rc == S3I_OK) {
			/* not finished: the marker is not there yet, whatever is recorded */
			s3i_state_account a;
			assert_int_equal(s3i_state_account_get(f->state, "r1", account, &a, NULL),
				S3I_ENOTFOUND);
		}
	}
	if (rc)
		fprintf(stderr, "  per-account provision of %s: %s\n", account,
			s3i_provision_error(p)->message);
	s3i_provision_free(p);
	if (steps)
		*steps = n;
	return rc;
}

/* A rule refusing ListBuckets `count` times, with a message to find it by in /_fault. */
#define LIST_REFUSED(count) "{\"service\":\"s3\",\"method\":\"GET\",\"path\":\"^/$\"," \
	"\"status\":403,\"count\":" count ",\"body\":\"<Error><Code>AccessDenied</Code><Message>" \
	"listed a second time</Message><RequestId>L2</RequestId></Error>\"}"

/* A /_fault rule whose message is `marker` is still there with `count` left. */
static void expect_fault_unused(const char *marker, const char *count)
{
	char *rules = NULL;
	int status = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/_fault", NULL, NULL, &rules, &status), 0);
	const char *at = strstr(rules, marker);
	if (!at)
		fprintf(stderr, "rules: %s\n", rules);
	assert_non_null(at);
	/* the rule's own "count" (rules are listed one per object) */
	const char *start = at;
	while (start > rules && *start != '{')
		start--;
	const char *end = strchr(at, '}');
	assert_non_null(end);
	char want[32];
	snprintf(want, sizeof(want), "\"count\": %s", count);
	char *rule = strndup(start, (size_t)(end - start));
	if (!strstr(rule, want))
		fprintf(stderr, "rule: %s\n", rule);
	assert_non_null(strstr(rule, want));
	free(rule);
	free(rules);
}

/* ------------------------------------------------------------------ provision */

static void test_provision_per_account_then_whole_run(void **state)
{
	(void)state;
	fx f;
	s3i_provision_estate_open(&f, moto, S3I_PROVISION_ESTATE_INPUT);

	/* the host account, with tiny deadlines: one bucket written per step, the marker last */
	int steps = 0;
	CHECK_OK(discover_account(&f, HOST, 1, &steps));
	assert_true(steps > 2);
	assert_int_equal(phase_of(&f), S3I_PHASE_PROVISIONING);
	expect_status(&f, HOST, "src-east", S3I_BUCKET_DISCOVERED, NULL);
	expect_status(&f, HOST, "legacy-eu", S3I_BUCKET_DISCOVERED, NULL);
	expect_status(&f, HOST, "excluded-one", S3I_BUCKET_EXCLUDED, "excluded by input");
	expect_status(&f, HOST, "far-away", S3I_BUCKET_SKIPPED_REGION, NULL);
	expect_status(&f, HOST, "unreadable", S3I_BUCKET_FAILED, "AccessDenied");
	expect_absent(&f, OTHER, "other-west");
	s3i_state_account a;
	CHECK_OK(s3i_state_account_get(f.state, "r1", HOST, &a, NULL));
	assert_int_equal(a.failed, 0);
	assert_int_equal(a.buckets, 8);   /* the estate's 7 host buckets + the consolidated one */
	assert_int_equal(regions_of(&f), 0);   /* nothing planned, nothing deployed */

	/* the second account through its role */
	CHECK_OK(discover_account(&f, OTHER, 0, NULL));
	expect_status(&f, OTHER, "other-west", S3I_BUCKET_DISCOVERED, NULL);
	expect_status(&f, OTHER, "other-east", S3I_BUCKET_DISCOVERED, NULL);
	CHECK_OK(s3i_state_account_get(f.state, "r1", OTHER, &a, NULL));
	assert_int_equal(a.failed, 0);
	assert_int_equal(a.buckets, 2);
	assert_int_equal(regions_of(&f), 0);

	/* from now on a ListBuckets would be refused: neither a repeated per-account step nor the
	 * whole-run step may list again */
	assert_int_equal(s3i_moto_add_fault(moto, LIST_REFUSED("3")), 0);
	CHECK_OK(discover_account(&f, HOST, 0, &steps));
	assert_int_equal(steps, 1);
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	CHECK_OK(s3i_provision_run(p));
	s3i_provision_free(p);
	expect_fault_unused("listed a second time", "3");
	s3i_estate_expect_provisioned(&f);
	expect_status(&f, OTHER, "other-west", S3I_BUCKET_DISCOVERED, NULL);
	expect_status(&f, HOST, "src-west", S3I_BUCKET_DISCOVERED, NULL);
	assert_int_equal(phase_of(&f), S3I_PHASE_PROVISIONING);

	/* a per-account step after the run moved on: nothing listed, the phase stays */
	CHECK_OK(s3i_state_run_set_phase(f.state, "r1", S3I_PHASE_CONFIGURING,
		s3i_deployment_now_ms(f.d), NULL, NULL));
	CHECK_OK(discover_account(&f, OTHER, 0, &steps));
	assert_int_equal(steps, 1);
	assert_int_equal(phase_of(&f), S3I_PHASE_CONFIGURING);
	expect_fault_unused("listed a second time", "3");
	s3i_stage_fx_close(&f);
}

/* A whole-run step that lists an account itself writes its marker too: a new handle (after
 * a step failed, a crash) does not list it again. */
static void test_whole_run_writes_markers(void **state)
{
	(void)state;
	fx f;
	s3i_provision_estate_open(&f, moto, S3I_PROVISION_ESTATE_INPUT);
	/* STS unavailable for the second account: a transient error fails the step after the
	 * host account was discovered, and records nothing for the second */
	assert_int_equal(s3i_moto_add_fault(moto, "{\"service\":\"sts\",\"action\":\"AssumeRole\","
		"\"status\":503,\"count\":-1,\"content_type\":\"text/xml\",\"body\":\"<ErrorResponse>"
		"<Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>try later</Message>"
		"</Error><RequestId>u-1</RequestId></ErrorResponse>\"}"), 0);
	s3i_provision_options o = S3I_PROVISION_OPTIONS_INIT;
	o.skip_sender_check = 1;
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f.run, &o));
	int finished = 0;
	int rc = s3i_provision_step(p, 0, &finished);
	assert_true(rc < 0);
	assert_int_equal(finished, 0);
	s3i_provision_free(p);
	s3i_state_account a;
	CHECK_OK(s3i_state_account_get(f.state, "r1", HOST, &a, NULL));
	assert_int_equal(a.failed, 0);
	assert_int_equal(a.buckets, 8);
	assert_int_equal(s3i_state_account_get(f.state, "r1", OTHER, &a, NULL), S3I_ENOTFOUND);
	expect_absent(&f, OTHER, "*");
	assert_int_equal(regions_of(&f), 0);
	assert_int_equal(phase_of(&f), S3I_PHASE_PROVISIONING);
	/* STS is back; a host bucket made now would be recorded by a second listing */
	CHECK_OK(s3i_moto_clear_faults(moto));
	s3i_stage_fx_make_bucket(moto, "late-host", "us-east-1", NULL);
	CHECK_OK(s3i_provision_new(&p, f.run, &o));
	CHECK_OK(s3i_provision_run(p));
	s3i_provision_free(p);
	expect_absent(&f, HOST, "late-host");
	expect_status(&f, OTHER, "other-west", S3I_BUCKET_DISCOVERED, NULL);
	CHECK_OK(s3i_state_account_get(f.state, "r1", OTHER, &a, NULL));
	assert_int_equal(a.failed, 0);
	s3i_estate_expect_provisioned(&f);
	s3i_stage_fx_close(&f);
}

/* Killed after every bucket of the account was recorded, before its marker: the account is
 * not discovered, and the next per-account step lists it again and writes the marker (the
 * buckets already recorded are kept, one made meanwhile is added). */
static void test_provision_per_account_crash_before_marker(void **state)
{
	(void)state;
	fx f;
	s3i_provision_estate_open(&f, moto, S3I_PROVISION_ESTATE_INPUT);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("S3I_TEST_CRASH_AT", "provision.before_account_marker", 1);
		s3i_provision_options o = S3I_PROVISION_OPTIONS_INIT;
		o.account_id = OTHER;
		s3i_provision *p = NULL;
		int finished = 0;
		if (s3i_provision_new(&p, f.run, &o) == S3I_OK)
			s3i_provision_step(p, 0, &finished);
		_exit(3);   /* the crash point was not reached */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	expect_status(&f, OTHER, "other-west", S3I_BUCKET_DISCOVERED, NULL);
	expect_status(&f, OTHER, "other-east", S3I_BUCKET_DISCOVERED, NULL);
	s3i_state_account a;
	assert_int_equal(s3i_state_account_get(f.state, "r1", OTHER, &a, NULL), S3I_ENOTFOUND);

	s3i_stage_fx_make_bucket(moto, "other-late", "us-east-1", OTHER);
	CHECK_OK(discover_account(&f, OTHER, 0, NULL));
	expect_status(&f, OTHER, "other-late", S3I_BUCKET_DISCOVERED, NULL);
	expect_status(&f, OTHER, "other-west", S3I_BUCKET_DISCOVERED, NULL);
	CHECK_OK(s3i_state_account_get(f.state, "r1", OTHER, &a, NULL));
	assert_int_equal(a.failed, 0);
	assert_int_equal(a.buckets, 3);
	s3i_stage_fx_close(&f);
}

static void test_provision_per_account_bad_id(void **state)
{
	(void)state;
	fx f;
	s3i_provision_estate_open(&f, moto, S3I_PROVISION_ESTATE_INPUT);
	s3i_provision_options o = S3I_PROVISION_OPTIONS_INIT;
	o.account_id = "999999999999";
	s3i_provision *p = (s3i_provision *)&o;   /* must be cleared */
	int rc = s3i_provision_new(&p, f.run, &o);
	const char *m[] = { "999999999999", "account_id", "r1", NULL };
	s3i_check_expect_error(rc, S3I_EINVALID, NULL, m);
	assert_null(p);
	o.account_id = "";
	assert_int_equal(s3i_provision_new(&p, f.run, &o), S3I_EINVALID);
	o.account_id = "1234567890123456789012345";
	assert_int_equal(s3i_provision_new(&p, f.run, &o), S3I_EINVALID);
	/* nothing was recorded or moved */
	expect_absent(&f, HOST, "src-east");
	/* an older caller's options (without account_id) are the whole-run step */
	o.account_id = "999999999999";
	o.struct_size = (uint32_t)offsetof(s3i_provision_options, account_id);
	CHECK_OK(s3i_provision_new(&p, f.run, &o));
	s3i_provision_free(p);
	/* the copy: the caller's string may go once the handle exists */
	char *id = strdup(OTHER);
	o = (s3i_provision_options)S3I_PROVISION_OPTIONS_INIT;
	o.account_id = id;
	o.skip_sender_check = 1;
	CHECK_OK(s3i_provision_new(&p, f.run, &o));
	memset(id, 'x', strlen(id));
	free(id);
	int finished = 0;
	CHECK_OK(s3i_provision_step(p, 0, &finished));
	assert_int_equal(finished, 1);
	s3i_provision_free(p);
	expect_status(&f, OTHER, "other-east", S3I_BUCKET_DISCOVERED, NULL);
	expect_absent(&f, HOST, "src-east");
	s3i_stage_fx_close(&f);
}

#define DENY_ROLE(count) "{\"service\":\"sts\",\"action\":\"AssumeRole\",\"status\":403," \
	"\"count\":" count ",\"content_type\":\"text/xml\",\"body\":\"<ErrorResponse><Error><Type>" \
	"Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform " \
	"sts:AssumeRole</Message></Error><RequestId>deny-1</RequestId></ErrorResponse>\"}"

static void test_provision_per_account_role_denied(void **state)
{
	(void)state;
	fx f;
	s3i_provision_estate_open(&f, moto, S3I_PROVISION_ESTATE_INPUT);
	/* refused once: the whole-run step could assume it afterwards, but does not try */
	assert_int_equal(s3i_moto_add_fault(moto, DENY_ROLE("1")), 0);
	int steps = 0;
	CHECK_OK(discover_account(&f, OTHER, 0, &steps));
	assert_int_equal(steps, 1);
	expect_status(&f, OTHER, "*", S3I_BUCKET_FAILED, "account " OTHER " could not be listed");
	expect_status(&f, OTHER, "*", S3I_BUCKET_FAILED, "AccessDenied");
	s3i_state_account a;
	CHECK_OK(s3i_state_account_get(f.state, "r1", OTHER, &a, NULL));
	assert_int_equal(a.failed, 1);
	assert_non_null(strstr(a.reason, "AccessDenied"));
	assert_int_equal(phase_of(&f), S3I_PHASE_PROVISIONING);   /* not failed */
	expect_fault_unused("sts:AssumeRole", "0");

	/* a repeated per-account step: the account's outcome is recorded, nothing is tried */
	CHECK_OK(discover_account(&f, OTHER, 0, &steps));
	assert_int_equal(steps, 1);
	expect_absent(&f, OTHER, "other-west");

	/* the whole run: the host is listed, the failed account is left as recorded */
	s3i_provision *p = NULL;
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	CHECK_OK(s3i_provision_run(p));
	s3i_provision_free(p);
	expect_status(&f, HOST, "src-east", S3I_BUCKET_DISCOVERED, NULL);
	expect_absent(&f, OTHER, "other-west");
	expect_status(&f, OTHER, "*", S3I_BUCKET_FAILED, "AccessDenied");
	s3i_estate_expect_provisioned(&f);
	s3i_stage_fx_close(&f);

	/* only that account: its per-account step still succeeds; the whole-run step fails the
	 * run, naming the account and the recorded reason */
	s3i_provision_estate_open(&f, moto, "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"" OTHER
		"\"}],\"athena_queries\":[],\"sender_email_address\":\"sender@example.com\","
		"\"recipient_email_addresses\":[\"b@example.com\"]}");
	assert_int_equal(s3i_moto_add_fault(moto, DENY_ROLE("-1")), 0);
	CHECK_OK(discover_account(&f, OTHER, 0, NULL));
	assert_int_equal(phase_of(&f), S3I_PHASE_PROVISIONING);
	CHECK_OK(s3i_provision_new(&p, f.run, NULL));
	int rc = s3i_provision_run(p);
	assert_int_equal(rc, S3I_EAUTH);
	const char *msg = s3i_provision_error(p)->message;
	fprintf(stderr, "  provision reports: %s\n", msg);
	assert_non_null(strstr(msg, "no input account"));
	assert_non_null(strstr(msg, OTHER));
	assert_non_null(strstr(msg, "AccessDenied"));
	s3i_provision_free(p);
	assert_int_equal(phase_of(&f), S3I_PHASE_FAILED);
	s3i_stage_fx_close(&f);
}

typedef struct seen_accounts {
	s3i_state_account a[4];
	int n;
} seen_accounts;

static int on_account(void *user, const s3i_state_account *a)
{
	seen_accounts *s = user;
	assert_true(s->n < 4);
	s->a[s->n++] = *a;
	return 0;
}

/* The markers: a failed one may become discovered, a discovered one stays. */
static void test_account_markers(void **state)
{
	(void)state;
	fx f;
	s3i_stage_fx_deploy(&f, moto, "scp0", S3I_LOG_WARN);
	s3i_stage_fx_start_run(&f, "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"" HOST "\"}],"
		"\"athena_queries\":[],\"sender_email_address\":\"a@example.com\","
		"\"recipient_email_addresses\":[\"b@example.com\"]}");
	int written = -1;
	s3i_state_account a;
	assert_int_equal(s3i_state_account_get(f.state, "r1", OTHER, &a, NULL), S3I_ENOTFOUND);
	CHECK_OK(s3i_state_account_put(f.state, "r1", OTHER, 1, "denied", 5, 10, &written, NULL));
	assert_int_equal(written, 1);
	CHECK_OK(s3i_state_account_get(f.state, "r1", OTHER, &a, NULL));
	assert_int_equal(a.failed, 1);
	assert_string_equal(a.reason, "denied");
	assert_int_equal(a.buckets, 0);
	CHECK_OK(s3i_state_account_put(f.state, "r1", OTHER, 0, "ignored", 3, 20, &written, NULL));
	assert_int_equal(written, 1);
	CHECK_OK(s3i_state_account_put(f.state, "r1", OTHER, 1, "late failure", 0, 30, &written,
		NULL));
	assert_int_equal(written, 0);
	CHECK_OK(s3i_state_account_get(f.state, "r1", OTHER, &a, NULL));
	assert_int_equal(a.failed, 0);
	assert_string_equal(a.reason, "");
	assert_int_equal(a.buckets, 3);
	assert_int_equal(a.updated_ms, 20);
	CHECK_OK(s3i_state_account_put(f.state, "r1", HOST, 0, NULL, 0, 40, NULL, NULL));
	/* listed in account order, and no other item of the run (a bucket) among them */
	CHECK_OK(s3i_state_bucket_add(f.state, "r1", HOST, "us-east-1", "b", S3I_BUCKET_DISCOVERED,
		NULL, 1, NULL, NULL));
	seen_accounts s;
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_state_accounts_list(f.state, "r1", on_account, &s, NULL));
	assert_int_equal(s.n, 2);
	assert_string_equal(s.a[0].account, OTHER);
	assert_string_equal(s.a[1].account, HOST);
	assert_int_equal(s3i_state_account_put(f.state, "r1", "", 0, NULL, 0, 1, NULL, NULL),
		S3I_EINVALID);
	s3i_stage_fx_close(&f);
}

/* ------------------------------------------------------------------ configure */

#define CFG_INPUT "{\"run_id\":\"r1\",\"accounts\":[{\"id\":\"" HOST "\"},{\"id\":\"" OTHER \
	"\"}],\"athena_queries\":[],\"sender_email_address\":\"a@example.com\"," \
	"\"recipient_email_addresses\":[\"b@example.com\"],\"supported_regions\":[\"us-east-1\"]}"

static void seed_bucket(fx *f, const char *account, const char *bucket)
{
	s3i_credprov *hold;
	s3i_svc svc = s3i_stage_fx_svc_of(f, account, "us-east-1", &hold);
	CHECK_OK(s3i_s3_create_bucket_op(&svc, bucket, "us-east-1", NULL));
	CHECK_OK(s3i_s3_put_object_op(&svc, bucket, "k.txt", "hello", 5, "text/plain", NULL));
	s3i_stage_fx_release(hold);
	CHECK_OK(s3i_state_bucket_add(f->state, "r1", account, "us-east-1", bucket,
		S3I_BUCKET_DISCOVERED, NULL, s3i_deployment_now_ms(f->d), NULL, NULL));
}

/* Deployment `dep` with the configure run started and its us-east-1 staging bucket seeded. */
static void cfg_open(fx *f, const char *dep)
{
	char staging[64];
	s3i_stage_fx_deploy(f, moto, dep, S3I_LOG_WARN);
	s3i_stage_fx_start_run(f, CFG_INPUT);
	s3i_stage_fx_seed_region(f, "us-east-1", staging);
}

static int has_config(fx *f, const char *account, const char *bucket)
{
	s3i_credprov *hold;
	s3i_svc svc = s3i_stage_fx_svc_of(f, account, "us-east-1", &hold);
	s3i_s3_inventory_page page;
	s3i_s3_inventory_page_init(&page, s3i_test_alloc());
	CHECK_OK(s3i_s3_list_bucket_inventory_configurations_page_op(&svc, bucket, NULL, NULL, NULL,
		&page, NULL));
	int n = (int)page.configs;
	s3i_s3_inventory_page_free(&page);
	s3i_stage_fx_release(hold);
	return n;
}

static int configure_batch(fx *f, const char *const *names, int32_t n, int64_t step_ms,
	int *steps)
{
	s3i_configure_options o = S3I_CONFIGURE_OPTIONS_INIT;
	o.buckets = names;
	o.bucket_count = n;
	o.concurrency = 1;
	s3i_configure *st = NULL;
	CHECK_OK(s3i_configure_new(&st, f->run, &o));
	int finished = 0, rc = S3I_OK, k = 0;
	while (!finished && rc == S3I_OK) {
		rc = s3i_configure_step(st, step_ms ? s3i_deployment_now_ms(f->d) + step_ms : 0,
			&finished);
		assert_true(++k < 50);
	}
	s3i_configure_free(st);
	if (steps)
		*steps = k;
	return rc;
}

static void test_configure_batch_then_sweep(void **state)
{
	(void)state;
	fx f;
	cfg_open(&f, "scp1");
	seed_bucket(&f, HOST, "batch-a");
	seed_bucket(&f, HOST, "batch-b");
	seed_bucket(&f, HOST, "sweep-c");
	seed_bucket(&f, OTHER, "batch-d");
	seed_bucket(&f, OTHER, "sweep-e");

	/* batch-a twice, a name of no bucket of the run; tiny deadlines: one bucket a step */
	const char *batch1[] = { "batch-a", "batch-d", "no-such-bucket", "batch-a" };
	int steps = 0;
	CHECK_OK(configure_batch(&f, batch1, 4, 1, &steps));
	assert_true(steps >= 2);
	expect_status(&f, HOST, "batch-a", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, OTHER, "batch-d", S3I_BUCKET_IN_PROGRESS, NULL);
	assert_int_equal(has_config(&f, HOST, "batch-a"), 1);
	assert_int_equal(has_config(&f, OTHER, "batch-d"), 1);
	expect_status(&f, HOST, "batch-b", S3I_BUCKET_DISCOVERED, NULL);
	expect_status(&f, HOST, "sweep-c", S3I_BUCKET_DISCOVERED, NULL);
	expect_status(&f, OTHER, "sweep-e", S3I_BUCKET_DISCOVERED, NULL);
	assert_int_equal(has_config(&f, HOST, "batch-b"), 0);
	assert_int_equal(phase_of(&f), S3I_PHASE_CONFIGURING);
	s3i_state_run r;
	CHECK_OK(s3i_state_run_get(f.state, "r1", &r, NULL));
	assert_true(r.inventory_deadline_ms > 0);   /* set like a whole-run step */
	s3i_state_run_dispose(&r);

	/* a batch of buckets no longer discovered (and a failed one): finished at once, nothing
	 * put again (a PUT would be refused) */
	CHECK_OK(s3i_state_bucket_set_status(f.state, "r1", HOST, "batch-b", S3I_BUCKET_FAILED,
		"failed elsewhere", s3i_deployment_now_ms(f.d), NULL, NULL));
	assert_int_equal(s3i_moto_add_fault(moto, "{\"method\":\"PUT\",\"query\":\"inventory\","
		"\"status\":500,\"count\":1,\"body\":\"<Error><Code>InternalError</Code><Message>"
		"configured twice</Message></Error>\"}"), 0);
	const char *batch2[] = { "batch-a", "batch-b" };
	CHECK_OK(configure_batch(&f, batch2, 2, 0, &steps));
	assert_int_equal(steps, 1);
	expect_fault_unused("configured twice", "1");
	CHECK_OK(s3i_moto_clear_faults(moto));
	expect_status(&f, HOST, "batch-b", S3I_BUCKET_FAILED, "failed elsewhere");
	assert_int_equal(phase_of(&f), S3I_PHASE_CONFIGURING);

	/* only unknown names: finished, nothing changes */
	const char *batch3[] = { "no-such-bucket" };
	CHECK_OK(configure_batch(&f, batch3, 1, 0, &steps));
	assert_int_equal(steps, 1);
	assert_int_equal(phase_of(&f), S3I_PHASE_CONFIGURING);

	/* the sweep takes the rest and the run waits */
	s3i_configure *st = NULL;
	CHECK_OK(s3i_configure_new(&st, f.run, NULL));
	CHECK_OK(s3i_configure_run(st));
	s3i_configure_free(st);
	expect_status(&f, HOST, "sweep-c", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, OTHER, "sweep-e", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, HOST, "batch-b", S3I_BUCKET_FAILED, "failed elsewhere");
	assert_int_equal(phase_of(&f), S3I_PHASE_WAITING);

	/* a batch after the run waits: nothing to do, the phase stays */
	CHECK_OK(configure_batch(&f, batch1, 4, 0, &steps));
	assert_int_equal(phase_of(&f), S3I_PHASE_WAITING);
	s3i_stage_fx_close(&f);
}

/* Names qualified with their account ("<account>/<bucket>", as the Map's items give them) are
 * keys: the handle reads those buckets by key and never queries the run's bucket items (a
 * fault on that Query stays unused), and takes only that account's bucket; a plain name in
 * the batch brings the one read of the run back (the fault then fails the step). */
static void test_configure_batch_qualified(void **state)
{
	(void)state;
	fx f;
	cfg_open(&f, "scp4");
	seed_bucket(&f, HOST, "qual-a");
	seed_bucket(&f, HOST, "qual-b");
	seed_bucket(&f, OTHER, "qual-d");
	seed_bucket(&f, HOST, "plain-c");

	assert_int_equal(s3i_moto_add_fault(moto, "{\"target\":\"DynamoDB_20120810.Query\","
		"\"body_contains\":\"bucket#\","
		"\"status\":400,\"count\":1000,\"content_type\":\"application/x-amz-json-1.0\","
		"\"body\":\"{\\\"__type\\\":\\\"com.amazon.coral.validate#ValidationException\\\","
		"\\\"message\\\":\\\"the run was read whole\\\"}\"}"), 0);
	/* qual-b under the wrong account: not the run's bucket of that key, so skipped */
	const char *batch1[] = { HOST "/qual-a", OTHER "/qual-d", OTHER "/qual-b",
		HOST "/no-such-bucket" };
	int steps = 0;
	CHECK_OK(configure_batch(&f, batch1, 4, 0, &steps));
	char *rules = NULL;   /* the one rule, untouched */
	int http = 0;
	assert_int_equal(s3i_moto_http(moto, "GET", "/_fault", NULL, NULL, &rules, &http), 0);
	if (!strstr(rules, "\"count\": 1000"))
		fprintf(stderr, "rules: %s\n", rules);
	assert_non_null(strstr(rules, "\"count\": 1000"));
	free(rules);
	expect_status(&f, HOST, "qual-a", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, OTHER, "qual-d", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, HOST, "qual-b", S3I_BUCKET_DISCOVERED, NULL);
	expect_absent(&f, OTHER, "qual-b");
	assert_int_equal(has_config(&f, HOST, "qual-b"), 0);

	/* a plain name among them: the run's bucket items are read once (here: refused) */
	const char *batch2[] = { HOST "/qual-b", "plain-c" };
	int rc = configure_batch(&f, batch2, 2, 0, &steps);
	assert_int_not_equal(rc, S3I_OK);
	CHECK_OK(s3i_moto_clear_faults(moto));
	CHECK_OK(configure_batch(&f, batch2, 2, 0, &steps));
	expect_status(&f, HOST, "qual-b", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, HOST, "plain-c", S3I_BUCKET_IN_PROGRESS, NULL);

	/* malformed qualified names name the entry */
	static const char *bad[][1] = {
		{ "12345/qual-a" }, { "1234567890ab/qual-a" }, { HOST "/" }, { HOST "/a/b" },
		{ "/qual-a" },
		{ HOST "/a234567890123456789012345678901234567890123456789012345678901234" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s3i_configure_options o = S3I_CONFIGURE_OPTIONS_INIT;
		o.buckets = bad[i];
		o.bucket_count = 1;
		s3i_configure *st = NULL;
		const char *m[] = { "buckets[0]", NULL };
		s3i_check_expect_error(s3i_configure_new(&st, f.run, &o), S3I_EINVALID, NULL, m);
		assert_null(st);
	}
	s3i_stage_fx_close(&f);
}

static void test_configure_batch_options(void **state)
{
	(void)state;
	fx f;
	s3i_stage_fx_deploy(&f, moto, "scp2", S3I_LOG_WARN);
	s3i_stage_fx_start_run(&f, CFG_INPUT);
	s3i_configure *st = NULL;
	s3i_configure_options o = S3I_CONFIGURE_OPTIONS_INIT;
	const char *one[] = { "b" };
	const char *with_null[] = { "a", NULL };
	const char *with_empty[] = { "a", "" };
	static const char *long_name[] = {
		"a234567890123456789012345678901234567890123456789012345678901234" };
	struct { const char *const *names; int32_t n; const char *field; } bad[] = {
		{ one, -1, "bucket_count" },
		{ NULL, 2, "buckets" },
		{ one, 0, "bucket_count" },
		{ with_null, 2, "buckets[1]" },
		{ with_empty, 2, "buckets[1]" },
		{ long_name, 1, "buckets[0]" },
		{ one, S3I_CONFIGURE_MAX_BUCKETS + 1, "bucket_count" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.buckets = bad[i].names;
		o.bucket_count = bad[i].n;
		int rc = s3i_configure_new(&st, f.run, &o);
		const char *m[] = { bad[i].field, NULL };
		s3i_check_expect_error(rc, S3I_EINVALID, NULL, m);
		assert_null(st);
	}

	/* the names are copied: the caller's memory may change or go once the handle exists */
	char staging[64];
	s3i_stage_fx_seed_region(&f, "us-east-1", staging);
	seed_bucket(&f, HOST, "copied-a");
	seed_bucket(&f, HOST, "copied-b");
	char *name = strdup("copied-a");
	const char **names = malloc(sizeof(*names));
	names[0] = name;
	o.buckets = names;
	o.bucket_count = 1;
	CHECK_OK(s3i_configure_new(&st, f.run, &o));
	memcpy(name, "copied-b", 8);
	free(name);
	free(names);
	int finished = 0;
	CHECK_OK(s3i_configure_step(st, 0, &finished));
	assert_int_equal(finished, 1);
	s3i_configure_free(st);
	expect_status(&f, HOST, "copied-a", S3I_BUCKET_IN_PROGRESS, NULL);
	expect_status(&f, HOST, "copied-b", S3I_BUCKET_DISCOVERED, NULL);
	/* an older caller's options (without the batch) are the whole-run sweep */
	o.buckets = (const char *const *)(uintptr_t)1;   /* beyond struct_size: never read */
	o.bucket_count = -5;
	o.struct_size = (uint32_t)offsetof(s3i_configure_options, buckets);
	CHECK_OK(s3i_configure_new(&st, f.run, &o));
	CHECK_OK(s3i_configure_run(st));
	s3i_configure_free(st);
	expect_status(&f, HOST, "copied-b", S3I_BUCKET_IN_PROGRESS, NULL);
	assert_int_equal(phase_of(&f), S3I_PHASE_WAITING);
	s3i_stage_fx_close(&f);
}

/* ------------------------------------------------------------------ list_runs */

typedef struct seen_runs {
	char ids[8][16];
	char phases[8][16];
	int finished[8];
	int n;
	int stop_at;   /* stop (returning 42) when this many were seen; 0: never */
} seen_runs;

static int on_run(void *user, const char *run_id, const char *phase, int finished)
{
	seen_runs *s = user;
	assert_true(s->n < 8);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", run_id);
	snprintf(s->phases[s->n], sizeof(s->phases[0]), "%s", phase);
	s->finished[s->n] = finished;
	s->n++;
	return s->stop_at && s->n == s->stop_at ? 42 : 0;
}

static void test_list_runs(void **state)
{
	(void)state;
	fx f;
	s3i_stage_fx_deploy(&f, moto, "scp3", S3I_LOG_WARN);
	seen_runs s;
	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_deployment_list_runs(f.d, 0, on_run, &s));
	assert_int_equal(s.n, 0);   /* no run yet */

	/* runs "b2" (then finished) and "a1" (unfinished): listed in id order */
	s3i_stage_fx_start_run(&f, "{\"run_id\":\"b2\",\"accounts\":[{\"id\":\"" HOST "\"}],"
		"\"athena_queries\":[],\"sender_email_address\":\"a@example.com\","
		"\"recipient_email_addresses\":[\"b@example.com\"]}");
	CHECK_OK(s3i_state_run_set_phase(f.state, "b2", S3I_PHASE_DONE,
		s3i_deployment_now_ms(f.d), NULL, NULL));
	s3i_run_input *in2 = NULL;
	const char *j2 = "{\"run_id\":\"a1\",\"accounts\":[{\"id\":\"" HOST "\"}],"
		"\"athena_queries\":[],\"sender_email_address\":\"a@example.com\","
		"\"recipient_email_addresses\":[\"b@example.com\"]}";
	CHECK_OK(s3i_run_input_parse(&in2, j2, strlen(j2), s3i_test_alloc(), NULL));
	s3i_run *run2 = NULL;
	CHECK_OK(s3i_run_start(&run2, f.d, in2));
	CHECK_OK(s3i_state_run_fail(f.state, "a1", "provision", "broken",
		s3i_deployment_now_ms(f.d), NULL));

	CHECK_OK(s3i_deployment_list_runs(f.d, 0, on_run, &s));
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], "a1");
	assert_string_equal(s.phases[0], "failed");   /* failed, not cleaned: unfinished */
	assert_int_equal(s.finished[0], 0);
	assert_string_equal(s.ids[1], "b2");
	assert_string_equal(s.phases[1], "done");
	assert_int_equal(s.finished[1], 1);

	memset(&s, 0, sizeof(s));
	CHECK_OK(s3i_deployment_list_runs(f.d, 1, on_run, &s));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "a1");

	/* the callback stops the walk: its value comes back */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(s3i_deployment_list_runs(f.d, 0, on_run, &s), 42);
	assert_int_equal(s.n, 1);

	assert_int_equal(s3i_deployment_list_runs(NULL, 0, on_run, &s), S3I_EINVALID);
	assert_int_equal(s3i_deployment_list_runs(f.d, 0, NULL, &s), S3I_EINVALID);

	/* a deployment without a state table: the error names the table */
	s3i_deployment_options o = S3I_DEPLOYMENT_OPTIONS_INIT;
	o.name = "scpnone";
	o.host_account_id = HOST;
	s3i_deployment *none = NULL;
	CHECK_OK(s3i_deployment_open(&none, f.ctx, &o));
	int rc = s3i_deployment_list_runs(none, 0, on_run, &s);
	const char *m[] = { "scpnone_configuration_table", NULL };
	s3i_check_expect_error(rc, S3I_ENOTFOUND, NULL, m);
	s3i_deployment_free(none);

	s3i_run_free(run2);
	s3i_run_input_free(in2);
	s3i_stage_fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(test_account_markers),
		S3I_TEST(test_provision_per_account_then_whole_run),
		S3I_TEST(test_whole_run_writes_markers),
		S3I_TEST(test_provision_per_account_crash_before_marker),
		S3I_TEST(test_provision_per_account_bad_id),
		S3I_TEST(test_provision_per_account_role_denied),
		S3I_TEST(test_configure_batch_then_sweep),
		S3I_TEST(test_configure_batch_options),
		S3I_TEST(test_configure_batch_qualified),
		S3I_TEST(test_list_runs),
	};
	return cmocka_run_group_tests_name("stage_scopes", tests, group_setup, group_teardown);
}
