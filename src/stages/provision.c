/*
 * The provision stage (DESIGN §4.1, docs/stages.md "Provision and teardown").
 *
 * A step goes through these parts, each idempotent, each recorded in the state table before
 * the next begins:
 *  1. the run's phase becomes `provisioning` (refused for a failed or finishing run);
 *  2. the SES sender is looked at (once per handle; only logged, never blocking);
 *  3. discovery: per input account ListBuckets and GetBucketLocation (fan-out), every bucket
 *     recorded with s3i_state_bucket_add (which leaves an existing item alone), then the
 *     account's marker (account#<id>, "discovered"). An account that cannot be listed gets a
 *     failure record (bucket "*"), then a "failed" marker, and the run goes on; only when no
 *     account can be listed does the run fail. Accounts with a marker are not listed again
 *     (a per-account step of a Map may have done them). Discovery is skipped by a new handle
 *     once region items exist: they are only written after a complete discovery;
 *  4. planning: one `pending` region item per region holding buckets to inventory, derived
 *     from the recorded buckets (so a crash between region writes loses nothing);
 *  5. per pending region: the stack (created once; an existing one is waited on), then the
 *     policies, subscription and notification moto's CloudFormation ignores, then the
 *     message route, then `provisioned`.
 *
 * With options.account_id (the per-account scope) a step does 1 and 3 for that one account
 * only, and is finished once its marker is written; it never fails the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3insights/stage_provision.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "core/json.h"
#include "core/log.h"
#include "core/str.h"
#include "services/cloudformation.h"
#include "services/fanout.h"
#include "services/s3_bucket.h"
#include "services/s3_head.h"
#include "services/ses.h"
#include "services/sns.h"
#include "services/sqs.h"
#include "stages/names.h"
#include "stages/run_internal.h"
#include "stages/stage_common.h"
#include "stages/state.h"
#include "stages/templates.h"

#define STAGE "provision"
#define DEFAULT_STACK_TIMEOUT_MS (30 * 60 * 1000)
#define DEFAULT_RETENTION_DAYS 7

/* An input account's discovery marker as the whole-run step found it. */
enum { MARK_NONE = 0, MARK_DISCOVERED = 1, MARK_FAILED = 2 };

/* One bucket found in an account, waiting for its state write. */
typedef struct found {
	char name[64];
	char region[S3I_S3_REGION_MAX];
	int status;               /* GetBucketLocation outcome */
	char *reason;             /* the error when it failed (owned) */
} found;

struct s3i_provision {
	s3i_run *run;
	s3i_deployment *d;
	s3i_state *state;
	const s3i_run_input *in;
	const s3i_allocator *alloc;
	s3i_client *client;
	const s3i_logger *log;
	s3i_provision_options opts;
	s3i_errinfo err;
	char run_id[16];
	char queue_url[S3I_SQS_URL_MAX];
	char queue_arn[512];

	int started;              /* phase checked and moved */
	int sender_checked;
	int discovered;           /* discovery complete (or found complete) */
	int planned;              /* region items written */
	size_t next_account;      /* discovery cursor */
	size_t accounts_ok;
	size_t accounts_failed;
	char first_account_error[1024];
	char account_id[16];      /* the per-account scope's account; "" for the whole run */
	int marks_loaded;         /* whole run: markers read once per handle */
	unsigned char *marks;     /* whole run: per input account, MARK_* */
	int account_done;         /* per-account scope: marker (or failure record) written */
	int marker_pending;       /* the found account's marker is still to be written */
	/* the account being written */
	found *found;
	size_t nfound;
	size_t next_write;
	char found_account[16];

	s3i_stage_stack_waits waits;   /* when this handle began to wait for each region's stack */
};

/* ------------------------------------------------------------------ helpers */

static int oom(s3i_provision *st)
{
	return s3i_err(&st->err, S3I_ENOMEM, NULL, "provision of run %s: out of memory", st->run_id);
}

static int64_t now_ms(const s3i_provision *st)
{
	return s3i_deployment_now_ms(st->d);
}

static int past(const s3i_provision *st, int64_t deadline_ms)
{
	return s3i_stage_past(st->d, deadline_ms);
}

static s3i_svc host_svc(const s3i_provision *st, const char *region)
{
	s3i_svc svc = { st->client, NULL, region ? region : s3i_deployment_host_region(st->d) };
	return svc;
}

/* A failure of the stage as a whole: recorded on the run unless it may pass by itself (then
 * the next step tries again). Returns rc. */
static int fail_run_now(s3i_provision *st, int rc)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	if (s3i_state_run_fail(st->state, st->run_id, STAGE, st->err.message, now_ms(st), &e))
		s3i_log(st->log, S3I_LOG_ERROR, "provision %s: the failure could not be recorded: %s",
			st->run_id, e.message);
	s3i_log(st->log, S3I_LOG_ERROR, "provision %s: run failed: %s", st->run_id, st->err.message);
	return rc;
}

static int fail_run(s3i_provision *st, int rc)
{
	return s3i_status_is_retryable(rc) ? rc : fail_run_now(st, rc);
}

static void free_found(s3i_provision *st)
{
	for (size_t i = 0; i < st->nfound; i++)
		s3i_free(st->alloc, st->found[i].reason);
	s3i_free(st->alloc, st->found);
	st->found = NULL;
	st->nfound = 0;
	st->next_write = 0;
}

/* ------------------------------------------------------------------ handle */

int s3i_provision_new(s3i_provision **out, s3i_run *run, const s3i_provision_options *opts)
{
	if (!out || !run)
		return s3i_err(NULL, S3I_EINVALID, NULL, "provision: out and run are required");
	*out = NULL;
	if (opts && opts->struct_size < sizeof(uint32_t))
		return s3i_err(NULL, S3I_EINVALID, "struct_size",
			"provision: options struct_size %u is too small", (unsigned)opts->struct_size);
	s3i_deployment *d = s3i_run_deployment(run);
	const s3i_allocator *a = s3i_deployment_alloc(d);
	s3i_provision *st = s3i_calloc(a, 1, sizeof(*st));
	if (!st)
		return s3i_err(NULL, S3I_ENOMEM, NULL, "provision: out of memory");
	st->run = run;
	st->d = d;
	st->state = s3i_run_state(run);
	st->in = s3i_run_get_input(run);
	st->alloc = a;
	st->client = s3i_deployment_client(d);
	st->log = s3i_ctx_logger(s3i_deployment_ctx(d));
	s3i_errinfo_init(&st->err);
	snprintf(st->run_id, sizeof(st->run_id), "%s", s3i_run_id(run));
	s3i_provision_options defaults = S3I_PROVISION_OPTIONS_INIT;
	st->opts = defaults;
	s3i_stage_options_copy(&st->opts, sizeof(st->opts), opts);
	if (st->opts.stack_timeout_ms <= 0)
		st->opts.stack_timeout_ms = DEFAULT_STACK_TIMEOUT_MS;
	if (st->opts.staging_retention_days <= 0)
		st->opts.staging_retention_days = DEFAULT_RETENTION_DAYS;
	const char *account = st->opts.account_id;
	st->opts.account_id = NULL;   /* the handle keeps its own copy, never the caller's */
	if (account) {
		if (!st->in || strlen(account) >= sizeof(st->account_id)
		    || s3i_run_input_find_account(st->in, account) < 0) {
			int rc = s3i_err(NULL, S3I_EINVALID, "account_id",
				"provision of run %s: account_id '%.64s' is not an account of the run's input",
				st->run_id, account);
			s3i_free(a, st);
			return rc;
		}
		memcpy(st->account_id, account, strlen(account) + 1);
	}
	*out = st;
	return S3I_OK;
}

void s3i_provision_free(s3i_provision *st)
{
	if (!st)
		return;
	free_found(st);
	s3i_free(st->alloc, st->marks);
	s3i_free(st->alloc, st);
}

const s3i_error *s3i_provision_error(const s3i_provision *st)
{
	static const s3i_error none = { sizeof(s3i_error), S3I_EINVALID, 0, "no provision handle",
		"", "", "" };
	return st ? &st->err.pub : &none;
}

/* ------------------------------------------------------------------ 1. phase */

static int start(s3i_provision *st)
{
	s3i_state_run r;
	memset(&r, 0, sizeof(r));
	int rc = s3i_state_run_get(st->state, st->run_id, &r, &st->err);
	if (rc)
		return rc;
	s3i_run_phase phase = r.phase;
	if (phase == S3I_PHASE_FAILED)
		rc = s3i_err(&st->err, S3I_ECONFLICT, st->run_id,
			"provision: run %s has failed (stage %s: %s); it can only be cleaned up",
			st->run_id, r.error_stage, r.error);
	else if (phase >= S3I_PHASE_TEARING_DOWN)
		rc = s3i_err(&st->err, S3I_ECONFLICT, st->run_id,
			"provision: run %s is %s; it cannot be provisioned again", st->run_id,
			s3i_run_phase_name(phase));
	s3i_state_run_dispose(&r);
	if (rc)
		return rc;
	rc = s3i_state_run_set_phase(st->state, st->run_id, S3I_PHASE_PROVISIONING, now_ms(st),
		NULL, &st->err);
	if (rc)
		return rc;
	st->started = 1;
	return S3I_OK;
}

/* ------------------------------------------------------------------ 2. SES sender */

/* Looks whether the sender (or its domain) is verified in the host region and asks SES to
 * verify the address when neither is nor is pending. Never fails the stage: the report is
 * the last thing of a run and verification takes a human click. */
static void check_sender(s3i_provision *st)
{
	const char *sender = s3i_run_input_get_sender(st->in);
	if (!sender || !*sender)
		return;
	const char *at = strrchr(sender, '@');
	const char *ids[2] = { sender, at && at[1] ? at + 1 : sender };
	s3i_ses_verification v[2] = { S3I_SES_VERIFY_ABSENT, S3I_SES_VERIFY_ABSENT };
	s3i_svc svc = host_svc(st, NULL);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	if (s3i_ses_get_verification_op(&svc, ids, 2, v, &e)) {
		s3i_log(st->log, S3I_LOG_WARN,
			"provision %s: could not read the SES verification of sender %s: %s", st->run_id,
			sender, e.message);
		return;
	}
	if (v[0] == S3I_SES_VERIFY_SUCCESS || v[1] == S3I_SES_VERIFY_SUCCESS) {
		s3i_log(st->log, S3I_LOG_DEBUG, "provision %s: SES sender %s is verified", st->run_id,
			sender);
		return;
	}
	if (v[0] == S3I_SES_VERIFY_PENDING || v[1] == S3I_SES_VERIFY_PENDING) {
		s3i_log(st->log, S3I_LOG_WARN,
			"provision %s: SES sender %s is not verified yet (verification pending): the "
			"report cannot be sent until it is", st->run_id, sender);
		return;
	}
	if (s3i_ses_verify_email_identity_op(&svc, sender, &e))
		s3i_log(st->log, S3I_LOG_WARN,
			"provision %s: SES sender %s is %s and asking SES to verify it failed: %s",
			st->run_id, sender, s3i_ses_verification_name(v[0]), e.message);
	else
		s3i_log(st->log, S3I_LOG_WARN,
			"provision %s: SES sender %s was %s; SES was asked to send it a verification "
			"mail", st->run_id, sender, s3i_ses_verification_name(v[0]));
}

/* ------------------------------------------------------------------ 3. discovery */

typedef struct list_ctx {
	s3i_provision *st;
	found *items;
	size_t count, cap;
	int rc;
} list_ctx;

static int on_listed(void *payload, const s3i_s3_bucket_info *b)
{
	list_ctx *lc = payload;
	if (lc->count == lc->cap) {
		size_t cap = lc->cap ? lc->cap * 2 : 64;
		found *n = s3i_realloc(lc->st->alloc, lc->items, cap * sizeof(*n));
		if (!n) {
			lc->rc = S3I_ENOMEM;
			return 1;
		}
		lc->items = n;
		lc->cap = cap;
	}
	found *f = &lc->items[lc->count];
	memset(f, 0, sizeof(*f));
	if (strlen(b->name) >= sizeof(f->name)) {
		/* not a name S3 gives out; recorded (cut) as unreadable rather than dropped */
		memcpy(f->name, b->name, sizeof(f->name) - 1);
		f->status = S3I_EINVALID;
	}
	else
		memcpy(f->name, b->name, strlen(b->name) + 1);
	lc->count++;
	return 0;
}

static int on_location(void *payload, size_t index, int status, const char *region,
	const s3i_errinfo *err)
{
	list_ctx *lc = payload;
	found *f = &lc->items[index];
	if (f->status)
		return 0;
	f->status = status;
	if (status == S3I_OK)
		snprintf(f->region, sizeof(f->region), "%s", region ? region : "");
	else {
		f->reason = s3i_strdup(lc->st->alloc, err && err->message[0] ? err->message
			: "GetBucketLocation failed");
		if (!f->reason) {
			lc->rc = S3I_ENOMEM;
			return 1;
		}
	}
	return 0;
}

/* Record that an account could not be listed: a bucket-less failure record (bucket "*"). */
static int record_account_failure(s3i_provision *st, const char *account, const char *why)
{
	char reason[1024];
	snprintf(reason, sizeof(reason), "account %s could not be listed: %s", account, why);
	s3i_log(st->log, S3I_LOG_WARN, "provision %s: %s", st->run_id, reason);
	if (!st->first_account_error[0])
		snprintf(st->first_account_error, sizeof(st->first_account_error), "%s", reason);
	st->accounts_failed++;
	int rc = s3i_state_bucket_add(st->state, st->run_id, account, "", "*", S3I_BUCKET_FAILED,
		reason, now_ms(st), NULL, &st->err);
	/* the marker after the failure record: a crash between them lists the account again */
	if (rc == S3I_OK)
		rc = s3i_state_account_put(st->state, st->run_id, account, 1, reason, 0, now_ms(st),
			NULL, &st->err);
	return rc;
}

/* ListBuckets and GetBucketLocation of one account into st->found. */
static int list_account(s3i_provision *st, const char *account)
{
	s3i_svc svc;
	s3i_credprov *hold = NULL;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_run_account_svc(st->run, account, s3i_deployment_host_region(st->d), &svc,
		&hold, &e);
	if (rc) {
		if (rc == S3I_ENOMEM)
			return oom(st);
		if (s3i_status_is_retryable(rc)) {   /* STS throttled or unreachable: try again */
			s3i_errinfo_copy(&st->err, &e);
			return rc;
		}
		return record_account_failure(st, account, e.message);
	}
	list_ctx lc = { .st = st };
	rc = s3i_s3_list_buckets_op(&svc, NULL, on_listed, &lc, &e);
	if (rc == S3I_EUSER && lc.rc)
		rc = lc.rc;
	if (rc == S3I_OK && lc.count) {
		const char **names = s3i_calloc(st->alloc, lc.count, sizeof(*names));
		if (!names)
			rc = S3I_ENOMEM;
		else {
			for (size_t i = 0; i < lc.count; i++)
				names[i] = lc.items[i].name;
			rc = s3i_fanout_bucket_locations(&svc, st->opts.max_in_flight, names, lc.count,
				on_location, &lc, NULL, &e);
			if (rc == S3I_EUSER && lc.rc)
				rc = lc.rc;
			s3i_free(st->alloc, names);
		}
	}
	if (hold)
		s3i_credprov_release(hold);
	if (rc) {
		for (size_t i = 0; i < lc.count; i++)
			s3i_free(st->alloc, lc.items[i].reason);
		s3i_free(st->alloc, lc.items);
		if (rc == S3I_ENOMEM)
			return oom(st);
		if (s3i_status_is_retryable(rc)) {
			s3i_errinfo_copy(&st->err, &e);
			return rc;
		}
		return record_account_failure(st, account, e.message);
	}
	st->accounts_ok++;
	st->found = lc.items;
	st->nfound = lc.count;
	st->next_write = 0;
	st->marker_pending = 1;
	snprintf(st->found_account, sizeof(st->found_account), "%s", account);
	s3i_log(st->log, S3I_LOG_INFO, "provision %s: account %s has %zu buckets", st->run_id,
		account, lc.count);
	return S3I_OK;
}

/* What a found bucket is recorded as. */
static s3i_bucket_state classify(s3i_provision *st, size_t account_index, const found *f,
	char *reason, size_t cap)
{
	const char *acct = st->found_account;
	const char *d = s3i_deployment_name(st->d);
	const char *host = s3i_deployment_host_account(st->d);
	reason[0] = 0;
	if (s3i_run_input_is_excluded(st->in, account_index, f->name)) {
		snprintf(reason, cap, "excluded by input");
		return S3I_BUCKET_EXCLUDED;
	}
	if (!strcmp(acct, host) && s3i_names_is_pipeline_bucket(f->name, d, host)) {
		snprintf(reason, cap, "pipeline bucket of deployment %s", d);
		return S3I_BUCKET_EXCLUDED;
	}
	if (f->status != S3I_OK) {
		snprintf(reason, cap, "%s", f->reason ? f->reason : "bucket name not usable");
		return S3I_BUCKET_FAILED;
	}
	if (!s3i_run_input_is_region_supported(st->in, f->region)) {
		snprintf(reason, cap, "region %s not in supported_regions", f->region);
		return S3I_BUCKET_SKIPPED_REGION;
	}
	return S3I_BUCKET_DISCOVERED;
}

/* Write the found buckets of the current account until done or past the deadline. */
static int write_found(s3i_provision *st, int64_t deadline_ms)
{
	int64_t ai = s3i_run_input_find_account(st->in, st->found_account);
	while (st->next_write < st->nfound) {
		const found *f = &st->found[st->next_write];
		char reason[1024];
		s3i_bucket_state bs = classify(st, ai < 0 ? (size_t)-1 : (size_t)ai, f, reason,
			sizeof(reason));
		int rc = s3i_state_bucket_add(st->state, st->run_id, st->found_account, f->region,
			f->name, bs, reason, now_ms(st), NULL, &st->err);
		if (rc)
			return rc;
		st->next_write++;
		if (past(st, deadline_ms))
			return S3I_OK;
	}
	/* every bucket of the account is recorded: only now is the account discovered, so a
	 * crash before this line lists the account again (its recorded buckets are kept) */
	s3i_crashpoint("provision.before_account_marker");
	int rc = s3i_state_account_put(st->state, st->run_id, st->found_account, 0, NULL,
		(int64_t)st->nfound, now_ms(st), NULL, &st->err);
	if (rc)
		return rc;
	st->marker_pending = 0;
	free_found(st);
	return S3I_OK;
}

static int any_region(void *user, const s3i_state_region *r)
{
	(void)r;
	*(int *)user = 1;
	return 0;
}

typedef struct marks_ctx {
	s3i_provision *st;
	size_t n;
} marks_ctx;

static int on_marker(void *user, const s3i_state_account *a)
{
	marks_ctx *mc = user;
	int64_t i = s3i_run_input_find_account(mc->st->in, a->account);
	if (i >= 0 && (size_t)i < mc->n)
		mc->st->marks[i] = a->failed ? MARK_FAILED : MARK_DISCOVERED;
	return 0;
}

/* The accounts discovered (or found unlistable) before this handle, by a per-account step
 * or an earlier whole-run handle: one Query of the run's account markers. */
static int load_marks(s3i_provision *st, size_t n)
{
	st->marks = s3i_calloc(st->alloc, n ? n : 1, 1);
	if (!st->marks)
		return oom(st);
	marks_ctx mc = { st, n };
	int rc = s3i_state_accounts_list(st->state, st->run_id, on_marker, &mc, &st->err);
	if (rc)
		return rc;
	st->marks_loaded = 1;
	return S3I_OK;
}

/* An account discovered before this handle counts for the "no account could be listed" rule
 * as it did then: a failed one with its reason. */
static int skip_marked(s3i_provision *st, size_t i, const char *account)
{
	if (st->marks[i] == MARK_DISCOVERED) {
		st->accounts_ok++;
		s3i_log(st->log, S3I_LOG_DEBUG, "provision %s: account %s was discovered before",
			st->run_id, account);
		return 1;
	}
	if (st->marks[i] == MARK_FAILED) {
		s3i_state_account a;
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		st->accounts_failed++;
		if (!st->first_account_error[0]) {
			if (s3i_state_account_get(st->state, st->run_id, account, &a, &e) == S3I_OK
			    && a.reason[0])
				snprintf(st->first_account_error, sizeof(st->first_account_error), "%s",
					a.reason);
			else
				snprintf(st->first_account_error, sizeof(st->first_account_error),
					"account %s could not be listed", account);
		}
		return 1;
	}
	return 0;
}

static int discover(s3i_provision *st, int64_t deadline_ms)
{
	int rc;
	if (st->next_account == 0 && !st->nfound && !st->accounts_failed && !st->accounts_ok) {
		/* a new handle: a run whose regions are planned was discovered completely before */
		int have = 0;
		if ((rc = s3i_state_regions_list(st->state, st->run_id, any_region, &have, &st->err)))
			return rc;
		if (have) {
			st->discovered = 1;
			return S3I_OK;
		}
	}
	size_t n = s3i_run_input_get_account_count(st->in);
	if (!st->marks_loaded && (rc = load_marks(st, n)))
		return rc;
	int listed = 0;   /* at least one account per step, whatever the deadline */
	for (;;) {
		if (st->marker_pending) {
			if ((rc = write_found(st, deadline_ms)))
				return rc;
			if (st->marker_pending)
				return S3I_OK;   /* deadline */
		}
		if (st->next_account >= n)
			break;
		const char *account = s3i_run_input_get_account_id(st->in, st->next_account);
		if (skip_marked(st, st->next_account, account)) {
			st->next_account++;
			continue;
		}
		if (listed && past(st, deadline_ms))
			return S3I_OK;
		if ((rc = list_account(st, account)))
			return rc;
		st->next_account++;
		listed++;
	}
	if (n && !st->accounts_ok) {
		rc = s3i_err(&st->err, S3I_EAUTH, st->first_account_error,
			"provision of run %s: no input account could be listed (%s)", st->run_id,
			st->first_account_error);
		return fail_run(st, rc);
	}
	st->discovered = 1;
	return S3I_OK;
}

/* The per-account scope: st->account_id only. *finished once its marker is written (or was). */
static int discover_account(s3i_provision *st, int64_t deadline_ms, int *finished)
{
	int rc;
	if (!st->marker_pending) {
		s3i_state_account a;
		rc = s3i_state_account_get(st->state, st->run_id, st->account_id, &a, &st->err);
		if (rc == S3I_OK) {
			*finished = 1;   /* discovered, or recorded as not listable, before */
			return S3I_OK;
		}
		if (rc != S3I_ENOTFOUND)
			return rc;
		s3i_errinfo_clear(&st->err);
		/* a run whose regions are planned had every account discovered by the whole-run
		 * step (before markers existed): a bucket recorded now would never be provisioned */
		int have = 0;
		if ((rc = s3i_state_regions_list(st->state, st->run_id, any_region, &have, &st->err)))
			return rc;
		if (have) {
			*finished = 1;
			return S3I_OK;
		}
		if ((rc = list_account(st, st->account_id)))
			return rc;
		if (!st->marker_pending) {   /* not listable: its failure record and marker written */
			*finished = 1;
			return S3I_OK;
		}
	}
	if ((rc = write_found(st, deadline_ms)))
		return rc;
	*finished = !st->marker_pending;
	if (*finished)
		s3i_log(st->log, S3I_LOG_INFO, "provision %s: account %s discovered", st->run_id,
			st->account_id);
	return S3I_OK;
}

/* ------------------------------------------------------------------ 4. planning */

typedef struct plan {
	char regions[S3I_STAGE_MAX_REGIONS][32];
	size_t count;
	int overflow;
} plan;

static int plan_bucket(void *user, const s3i_state_bucket *b)
{
	plan *p = user;
	if (b->status == S3I_BUCKET_EXCLUDED || b->status == S3I_BUCKET_SKIPPED_REGION
	    || !b->region[0] || !strcmp(b->bucket, "*"))
		return 0;
	/* a bucket that failed in discovery has no region; one that failed later had one */
	for (size_t i = 0; i < p->count; i++)
		if (!strcmp(p->regions[i], b->region))
			return 0;
	if (p->count == S3I_STAGE_MAX_REGIONS) {
		p->overflow = 1;
		return 1;
	}
	snprintf(p->regions[p->count++], sizeof(p->regions[0]), "%s", b->region);
	return 0;
}

static int collect_region(void *user, const s3i_state_region *r)
{
	plan *p = user;
	if (p->count < S3I_STAGE_MAX_REGIONS)
		snprintf(p->regions[p->count++], sizeof(p->regions[0]), "%s", r->region);
	return 0;
}

static int region_item(s3i_provision *st, const char *region, s3i_state_region *r)
{
	const char *d = s3i_deployment_name(st->d);
	const char *host = s3i_deployment_host_account(st->d);
	memset(r, 0, sizeof(*r));
	snprintf(r->region, sizeof(r->region), "%s", region);
	char topic[128];
	if (s3i_names_staging_bucket(r->staging_bucket, sizeof(r->staging_bucket), d, st->run_id,
	        host, region)
	    || s3i_names_stack(r->stack_name, sizeof(r->stack_name), d, st->run_id)
	    || s3i_names_topic(topic, sizeof(topic), d, st->run_id))
		return s3i_err(&st->err, S3I_EINVALID, region,
			"provision of run %s: no valid resource names for region '%s'", st->run_id,
			region);
	snprintf(r->topic_arn, sizeof(r->topic_arn), "arn:%s:sns:%s:%s:%s",
		s3i_deployment_partition(st->d), region, host, topic);
	snprintf(r->status, sizeof(r->status), "pending");
	return S3I_OK;
}

static int do_plan(s3i_provision *st)
{
	plan want, have;
	memset(&want, 0, sizeof(want));
	memset(&have, 0, sizeof(have));
	int rc = s3i_state_buckets_list(st->state, st->run_id, plan_bucket, &want, &st->err);
	if (rc == S3I_EUSER && want.overflow)
		rc = s3i_err(&st->err, S3I_EINVALID, st->run_id,
			"provision of run %s: source buckets in more than %d regions", st->run_id,
			S3I_STAGE_MAX_REGIONS);
	if (rc)
		return rc;
	if ((rc = s3i_state_regions_list(st->state, st->run_id, collect_region, &have, &st->err)))
		return rc;
	for (size_t i = 0; i < want.count; i++) {
		int known = 0;
		for (size_t j = 0; j < have.count && !known; j++)
			known = !strcmp(want.regions[i], have.regions[j]);
		if (known)
			continue;
		s3i_state_region r;
		if ((rc = region_item(st, want.regions[i], &r))
		    || (rc = s3i_state_region_put(st->state, st->run_id, &r, &st->err)))
			return rc;
		s3i_log(st->log, S3I_LOG_INFO, "provision %s: region %s planned (stack %s)",
			st->run_id, r.region, r.stack_name);
	}
	st->planned = 1;
	return S3I_OK;
}

/* ------------------------------------------------------------------ policies
 * Access policies are JSON documents: read with the yajl tree, written with the s3i_jw_*
 * writer. A policy "allows" when one Allow statement names the service principal (or "*"),
 * the action (wildcards as IAM matches them, case-insensitively) and an aws:SourceArn
 * condition whose value matches the source ARN. */

/* IAM's wildcard match: '*' any run, '?' any one character; case-insensitive when ci. */
static int glob_match(const char *pat, const char *s, int ci)
{
	const char *star = NULL, *resume = NULL;
	while (*s) {
		char p = *pat, c = *s;
		if (ci) {
			p = (char)(p >= 'A' && p <= 'Z' ? p + 32 : p);
			c = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat && (*pat == '?' || p == c)) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

/* A string, or an array of strings, holding one that matches `want` (as a pattern when
 * like, else exactly; ci: case-insensitively). */
static int json_has(s3i_json v, const char *want, int like, int ci)
{
	if (s3i_json_is_str(v)) {
		const char *s = s3i_json_str(v);
		if (like)
			return glob_match(s, want, ci);
		return ci ? s3i_strcaseeq(s, want) : !strcmp(s, want);
	}
	for (size_t i = 0; s3i_json_is_arr(v) && i < s3i_json_len(v); i++)
		if (json_has(s3i_json_at(v, i), want, like, ci))
			return 1;
	return 0;
}

static int principal_has(s3i_json p, const char *service)
{
	if (s3i_json_is_str(p))
		return !strcmp(s3i_json_str(p), "*");
	return json_has(s3i_json_get(p, "Service"), service, 0, 0);
}

/* 1 when the statement has an aws:SourceArn condition that lets `source_arn` through. A
 * statement without one is not ours (SNS's default topic policy allows "*" limited by
 * AWS:SourceOwner, which S3's deliveries never satisfy). */
static int source_arn_ok(s3i_json cond, const char *source_arn)
{
	for (size_t i = 0; s3i_json_is_obj(cond) && i < s3i_json_len(cond); i++) {
		const char *op = s3i_json_key_at(cond, i);
		s3i_json keys = s3i_json_val_at(cond, i);
		int like = strstr(op, "Like") != NULL;
		for (size_t j = 0; s3i_json_is_obj(keys) && j < s3i_json_len(keys); j++) {
			if (!s3i_strcaseeq(s3i_json_key_at(keys, j), "aws:SourceArn"))
				continue;
			if (json_has(s3i_json_val_at(keys, j), source_arn, like, 0))
				return 1;
		}
	}
	return 0;
}

static int policy_allows(const char *policy, const char *service, const char *action,
	const char *source_arn, int *ok)
{
	*ok = 0;
	if (!policy || !*policy)
		return S3I_OK;
	s3i_json doc = NULL;
	int rc = s3i_json_parse(&doc, policy, strlen(policy), "access policy", NULL);
	if (rc) {
		s3i_errinfo_clear(s3i_errinfo_thread());
		return rc;
	}
	s3i_json stmts = s3i_json_get(doc, "Statement");
	size_t n = s3i_json_is_arr(stmts) ? s3i_json_len(stmts) : s3i_json_is_obj(stmts) ? 1 : 0;
	for (size_t i = 0; i < n && !*ok; i++) {
		s3i_json s = s3i_json_is_arr(stmts) ? s3i_json_at(stmts, i) : stmts;
		const char *effect = s3i_json_str(s3i_json_get(s, "Effect"));
		*ok = effect && !strcmp(effect, "Allow")
			&& principal_has(s3i_json_get(s, "Principal"), service)
			&& json_has(s3i_json_get(s, "Action"), action, 1, 1)
			&& source_arn_ok(s3i_json_get(s, "Condition"), source_arn);
	}
	s3i_json_free(doc);
	return S3I_OK;
}

/* Any JSON value again, as it was. */
static void jw_value(s3i_json_writer *w, s3i_json v)
{
	if (s3i_json_is_str(v))
		s3i_jw_str(w, s3i_json_str(v));
	else if (s3i_json_is_num(v))
		s3i_jw_raw(w, s3i_json_num_text(v));
	else if (s3i_json_is_bool(v))
		s3i_jw_bool(w, s3i_json_bool(v, 0));
	else if (s3i_json_is_obj(v)) {
		s3i_jw_obj_open(w);
		for (size_t i = 0; i < s3i_json_len(v); i++) {
			s3i_jw_key(w, s3i_json_key_at(v, i));
			jw_value(w, s3i_json_val_at(v, i));
		}
		s3i_jw_obj_close(w);
	} else if (s3i_json_is_arr(v)) {
		s3i_jw_arr_open(w);
		for (size_t i = 0; i < s3i_json_len(v); i++)
			jw_value(w, s3i_json_at(v, i));
		s3i_jw_arr_close(w);
	} else
		s3i_jw_null(w);
}

static void jw_kv(s3i_json_writer *w, const char *k, const char *v)
{
	s3i_jw_key(w, k);
	s3i_jw_str(w, v);
}

static void jw_service_principal(s3i_json_writer *w, const char *service)
{
	s3i_jw_key(w, "Principal");
	s3i_jw_obj_open(w);
	jw_kv(w, "Service", service);
	s3i_jw_obj_close(w);
}

/* {"Version": "2012-10-17", "Statement": [ ... closed by jw_policy_finish. */
static void jw_policy_open(s3i_json_writer *w)
{
	s3i_jw_obj_open(w);
	jw_kv(w, "Version", "2012-10-17");
	s3i_jw_key(w, "Statement");
	s3i_jw_arr_open(w);
}

/* Ends the statement list and the policy; the writer's outcome. */
static int jw_policy_finish(s3i_json_writer *w)
{
	s3i_jw_arr_close(w);
	s3i_jw_obj_close(w);
	return s3i_jw_finish(w);
}

/* A statement allowing `service` to do `action` on `resource`, open in its Condition object
 * for the caller's jw_condition calls; jw_statement_close ends both. */
static void jw_allow_statement_open(s3i_json_writer *w, const char *sid, const char *service,
	const char *action, const char *resource)
{
	s3i_jw_obj_open(w);
	jw_kv(w, "Sid", sid);
	jw_kv(w, "Effect", "Allow");
	jw_service_principal(w, service);
	jw_kv(w, "Action", action);
	jw_kv(w, "Resource", resource);
	s3i_jw_key(w, "Condition");
	s3i_jw_obj_open(w);
}

static void jw_statement_close(s3i_json_writer *w)
{
	s3i_jw_obj_close(w);   /* Condition */
	s3i_jw_obj_close(w);
}

/* "<op>": {"<key>": "<value>"} in a Condition. */
static void jw_condition(s3i_json_writer *w, const char *op, const char *key, const char *value)
{
	s3i_jw_key(w, op);
	s3i_jw_obj_open(w);
	jw_kv(w, key, value);
	s3i_jw_obj_close(w);
}

/* The template's NotificationTopicPolicy. */
static int policy_topic(s3i_buf *out, const char *topic_arn, const char *account,
	const char *bucket_arn)
{
	s3i_json_writer w;
	s3i_jw_init(&w, out);
	jw_policy_open(&w);
	jw_allow_statement_open(&w, "AllowStagingBucketEvents", "s3.amazonaws.com", "sns:Publish",
		topic_arn);
	jw_condition(&w, "StringEquals", "aws:SourceAccount", account);
	jw_condition(&w, "ArnLike", "aws:SourceArn", bucket_arn);
	jw_statement_close(&w);
	return jw_policy_finish(&w);
}

/* The template's StagingBucketPolicy statement that lets S3 Inventory deliver, with the
 * bucket-owner-full-control condition of AWS's documented inventory destination policy. The
 * template's DenyInsecureTransport statement is left out: moto evaluates a Deny with
 * Principal "*" ignoring its conditions and then refuses every object call, and the library
 * only talks HTTPS to AWS anyway. */
static int policy_staging_bucket(s3i_buf *out, const char *partition, const char *bucket,
	const char *const *accounts, size_t naccounts)
{
	char objects[140], any[64];
	snprintf(objects, sizeof(objects), "arn:%s:s3:::%s/*", partition, bucket);
	snprintf(any, sizeof(any), "arn:%s:s3:::*", partition);
	s3i_json_writer w;
	s3i_jw_init(&w, out);
	jw_policy_open(&w);
	jw_allow_statement_open(&w, "InventoryAndAnalyticsExamplePolicy", "s3.amazonaws.com",
		"s3:PutObject", objects);
	jw_condition(&w, "ArnLike", "aws:SourceArn", any);
	s3i_jw_key(&w, "StringEquals");
	s3i_jw_obj_open(&w);
	s3i_jw_key(&w, "aws:SourceAccount");
	s3i_jw_arr_open(&w);
	for (size_t i = 0; i < naccounts; i++)
		s3i_jw_str(&w, accounts[i]);
	s3i_jw_arr_close(&w);
	jw_kv(&w, "s3:x-amz-acl", "bucket-owner-full-control");
	s3i_jw_obj_close(&w);   /* StringEquals */
	jw_statement_close(&w);
	return jw_policy_finish(&w);
}

/* The queue policy `existing` (NULL, or one that does not parse: none) with one more
 * statement letting every topic matching `topic_pattern` send to the queue. */
static int policy_add_queue_statement(s3i_buf *out, const char *existing,
	const char *queue_arn, const char *topic_pattern)
{
	s3i_json doc = NULL;
	if (existing && *existing
	    && s3i_json_parse(&doc, existing, strlen(existing), "queue policy", NULL)) {
		s3i_errinfo_clear(s3i_errinfo_thread());
		doc = NULL;
	}
	s3i_json version = s3i_json_get(doc, "Version");
	s3i_json id = s3i_json_get(doc, "Id");
	s3i_json stmts = s3i_json_get(doc, "Statement");
	s3i_json_writer w;
	s3i_jw_init(&w, out);
	s3i_jw_obj_open(&w);
	jw_kv(&w, "Version", s3i_json_is_str(version) ? s3i_json_str(version) : "2012-10-17");
	if (s3i_json_is_str(id))
		jw_kv(&w, "Id", s3i_json_str(id));
	s3i_jw_key(&w, "Statement");
	s3i_jw_arr_open(&w);
	if (s3i_json_is_arr(stmts))
		for (size_t i = 0; i < s3i_json_len(stmts); i++)
			jw_value(&w, s3i_json_at(stmts, i));
	else if (s3i_json_is_obj(stmts))
		jw_value(&w, stmts);
	jw_allow_statement_open(&w, "AllowStagingTopics", "sns.amazonaws.com", "sqs:SendMessage",
		queue_arn);
	jw_condition(&w, "ArnLike", "aws:SourceArn", topic_pattern);
	jw_statement_close(&w);
	int rc = jw_policy_finish(&w);
	s3i_json_free(doc);
	return rc;
}

/* ------------------------------------------------------------------ 5. regions */

static int queue_info(s3i_provision *st)
{
	if (st->queue_arn[0])
		return S3I_OK;
	int rc = s3i_deployment_queue_url(st->d, st->queue_url, sizeof(st->queue_url));
	if (rc) {
		s3i_errinfo_copy(&st->err, s3i_errinfo_thread());
		return rc;
	}
	s3i_svc svc = host_svc(st, NULL);
	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, st->alloc);
	const char *names[] = { "QueueArn" };
	rc = s3i_sqs_get_queue_attributes_op(&svc, st->queue_url, names, 1, &at, &st->err);
	if (rc == S3I_OK && !at.arn)
		rc = s3i_err(&st->err, S3I_EPARSE, st->queue_url,
			"provision: queue %s has no QueueArn attribute", st->queue_url);
	if (rc == S3I_OK)
		snprintf(st->queue_arn, sizeof(st->queue_arn), "%s", at.arn);
	s3i_sqs_attrs_free(&at);
	return rc;
}

static int source_accounts_csv(s3i_provision *st, s3i_buf *out)
{
	size_t n = s3i_run_input_get_account_count(st->in);
	for (size_t i = 0; i < n; i++)
		if ((i && s3i_buf_putc(out, ',')) || s3i_buf_puts(out, s3i_run_input_get_account_id(st->in, i)))
			return S3I_ENOMEM;
	return S3I_OK;
}

/* Keep a region's failure on its item too (for the status read-back); best effort. */
static void region_failed(s3i_provision *st, s3i_state_region *r)
{
	snprintf(r->reason, sizeof(r->reason), "%s", st->err.message);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	if (s3i_state_region_put(st->state, st->run_id, r, &e))
		s3i_log(st->log, S3I_LOG_WARN, "provision %s: region %s: %s", st->run_id, r->region,
			e.message);
}

/* The stack: created when it does not exist, then waited on. *ready = 0 when the wait must
 * go on in a later step. */
static int ensure_stack(s3i_provision *st, const s3i_svc *svc, s3i_state_region *r,
	int64_t deadline_ms, int *ready)
{
	*ready = 0;
	s3i_cfn_stack desc;
	s3i_cfn_stack_init(&desc, st->alloc);
	int rc = s3i_cfn_describe_stack_op(svc, r->stack_name, &desc, &st->err);
	if (rc == S3I_ENOTFOUND) {
		if ((rc = queue_info(st)))
			goto out;
		s3i_buf accounts = S3I_BUF_INIT;
		s3i_buf_init(&accounts, st->alloc);
		char days[16];
		snprintf(days, sizeof(days), "%d", (int)st->opts.staging_retention_days);
		if (source_accounts_csv(st, &accounts)) {
			s3i_buf_dispose(&accounts);
			rc = oom(st);
			goto out;
		}
		const s3i_cfn_kv params[] = {
			{ "DeploymentName", s3i_deployment_name(st->d) },
			{ "RunId", st->run_id },
			{ "SourceAccountIds", s3i_buf_cstr(&accounts) },
			{ "ConsolidationQueueArn", st->queue_arn },
			{ "StagingRetentionDays", days },
		};
		const s3i_cfn_kv tags[] = {
			{ "s3insights:deployment", s3i_deployment_name(st->d) },
			{ "s3insights:run", st->run_id },
		};
		s3i_cfn_create_stack req = {
			.stack_name = r->stack_name,
			.template_body = s3i_template_inventory_destination,
			.parameters = params, .nparameters = sizeof(params) / sizeof(params[0]),
			.tags = tags, .ntags = sizeof(tags) / sizeof(tags[0]),
		};
		char id[S3I_CFN_STACK_ID_SIZE] = "";
		rc = s3i_cfn_create_stack_op(svc, &req, id, &st->err);
		s3i_buf_dispose(&accounts);
		if (rc == S3I_EEXISTS) {
			rc = S3I_OK;   /* created meanwhile by another step: wait on it */
		} else if (rc) {
			s3i_err_prefix(&st->err, "provision of run %s: creating stack %s in %s: ",
				st->run_id, r->stack_name, r->region);
			rc = fail_run(st, rc);
			if (!s3i_status_is_retryable(rc))
				region_failed(st, r);
			goto out;
		} else {
			snprintf(r->stack_id, sizeof(r->stack_id), "%s", id);
			if ((rc = s3i_state_region_put(st->state, st->run_id, r, &st->err)))
				goto out;
			s3i_log(st->log, S3I_LOG_INFO, "provision %s: stack %s created in %s",
				st->run_id, r->stack_name, r->region);
		}
	} else if (rc) {
		goto out;
	}
	int64_t stack_left;
	int64_t left = s3i_stage_stack_wait_ms(&st->waits, r->region, st->opts.stack_timeout_ms,
		now_ms(st), deadline_ms, &stack_left);
	rc = s3i_cfn_wait_create_complete(svc, r->stack_name, left, &desc, &st->err);
	if (rc == S3I_ETIMEOUT && left < stack_left) {
		rc = S3I_OK;   /* the step's deadline, not the stack's: go on next step */
		goto out;
	}
	if (rc) {
		s3i_err_prefix(&st->err, "provision of run %s: stack %s in %s: ", st->run_id,
			r->stack_name, r->region);
		/* past the stack's own timeout the run fails, though a timeout is "retryable" */
		rc = rc == S3I_ETIMEOUT ? fail_run_now(st, rc) : fail_run(st, rc);
		if (rc == S3I_ETIMEOUT || !s3i_status_is_retryable(rc))
			region_failed(st, r);
		goto out;
	}
	if (!r->stack_id[0])
		snprintf(r->stack_id, sizeof(r->stack_id), "%s", desc.id);
	const char *bucket = s3i_cfn_stack_output(&desc, "StagingBucketName");
	if (bucket && *bucket && strcmp(bucket, r->staging_bucket))
		s3i_log(st->log, S3I_LOG_WARN,
			"provision %s: stack %s names staging bucket %s, expected %s", st->run_id,
			r->stack_name, bucket, r->staging_bucket);
	const char *topic = s3i_cfn_stack_output(&desc, "NotificationTopicArn");
	if (topic && *topic)
		snprintf(r->topic_arn, sizeof(r->topic_arn), "%s", topic);
	*ready = 1;
out:
	s3i_cfn_stack_free(&desc);
	return rc;
}

/* The topic policy: S3 events of the staging bucket may be published. */
static int ensure_topic_policy(s3i_provision *st, const s3i_state_region *r)
{
	s3i_svc svc = host_svc(st, r->region);
	const char *part = s3i_deployment_partition(st->d);
	const char *host = s3i_deployment_host_account(st->d);
	char bucket_arn[128];
	snprintf(bucket_arn, sizeof(bucket_arn), "arn:%s:s3:::%s", part, r->staging_bucket);
	s3i_params attrs;
	s3i_params_init(&attrs, st->alloc);
	int rc = s3i_sns_get_topic_attributes_op(&svc, r->topic_arn, &attrs, &st->err);
	if (rc == S3I_OK) {
		int ok = 0;
		rc = policy_allows(s3i_sns_attr_get(&attrs, "Policy"), "s3.amazonaws.com",
			"sns:Publish", bucket_arn, &ok);
		if (rc == S3I_OK && ok) {
			s3i_params_free(&attrs);
			return S3I_OK;
		}
		rc = S3I_OK;   /* a policy that does not parse is replaced */
	}
	s3i_params_free(&attrs);
	if (rc)
		return rc;
	s3i_buf doc = S3I_BUF_INIT;
	s3i_buf_init(&doc, st->alloc);
	rc = policy_topic(&doc, r->topic_arn, host, bucket_arn);
	if (rc == S3I_OK)
		rc = s3i_sns_set_topic_attribute_op(&svc, r->topic_arn, "Policy", s3i_buf_cstr(&doc),
			&st->err);
	else
		rc = oom(st);
	s3i_buf_dispose(&doc);
	if (rc == S3I_OK)
		s3i_log(st->log, S3I_LOG_INFO, "provision %s: topic policy of %s applied", st->run_id,
			r->topic_arn);
	return rc;
}

/* The central queue's policy must let the topic send; a statement is added when none does. */
static int ensure_queue_policy(s3i_provision *st, const s3i_state_region *r)
{
	s3i_svc svc = host_svc(st, NULL);
	s3i_sqs_attrs at;
	s3i_sqs_attrs_init(&at, st->alloc);
	const char *names[] = { "Policy" };
	int rc = s3i_sqs_get_queue_attributes_op(&svc, st->queue_url, names, 1, &at, &st->err);
	if (rc) {
		s3i_sqs_attrs_free(&at);
		return rc;
	}
	const char *policy = s3i_sqs_attrs_get(&at, "Policy");
	int ok = 0;
	if (policy_allows(policy, "sns.amazonaws.com", "sqs:SendMessage", r->topic_arn, &ok)
	        == S3I_OK && ok) {
		s3i_sqs_attrs_free(&at);
		return S3I_OK;
	}
	char pattern[256];
	snprintf(pattern, sizeof(pattern), "arn:%s:sns:*:%s:%s-*-sns-notification-topic",
		s3i_deployment_partition(st->d), s3i_deployment_host_account(st->d),
		s3i_deployment_name(st->d));
	s3i_buf doc = S3I_BUF_INIT;
	s3i_buf_init(&doc, st->alloc);
	rc = policy_add_queue_statement(&doc, policy, st->queue_arn, pattern);
	s3i_sqs_attrs_free(&at);
	if (rc) {
		s3i_buf_dispose(&doc);
		return oom(st);
	}
	s3i_sqs_kv kv = { "Policy", s3i_buf_cstr(&doc) };
	rc = s3i_sqs_set_queue_attributes_op(&svc, st->queue_url, &kv, 1, &st->err);
	s3i_buf_dispose(&doc);
	if (rc == S3I_OK)
		s3i_log(st->log, S3I_LOG_INFO, "provision %s: queue policy of %s now allows %s",
			st->run_id, st->queue_arn, pattern);
	return rc;
}

static int find_sub(void *payload, const s3i_sns_subscription *s)
{
	const char *queue_arn = ((const char **)payload)[0];
	if (s->protocol && !strcmp(s->protocol, "sqs") && s->endpoint
	    && !strcmp(s->endpoint, queue_arn))
		((const char **)payload)[1] = "found";
	return 0;
}

/* The topic's subscription to the central queue, raw delivery as the template says. */
static int ensure_subscription(s3i_provision *st, const s3i_state_region *r)
{
	s3i_svc svc = host_svc(st, r->region);
	const char *look[2] = { st->queue_arn, NULL };
	int rc = s3i_sns_list_subscriptions_op(&svc, r->topic_arn, find_sub, look, NULL, &st->err);
	if (rc || look[1])
		return rc;
	const s3i_sns_kv attrs[] = { { "RawMessageDelivery", "true" } };
	rc = s3i_sns_subscribe_op(&svc, r->topic_arn, "sqs", st->queue_arn, attrs, 1, NULL, 0,
		&st->err);
	if (rc == S3I_OK)
		s3i_log(st->log, S3I_LOG_INFO, "provision %s: %s subscribed to %s", st->run_id,
			st->queue_arn, r->topic_arn);
	return rc;
}

/* The staging bucket's policy. The service layer has no GetBucketPolicy, so it is put every
 * time (idempotent): the template's delivery statement plus the ACL condition AWS documents
 * for inventory destinations (see policy_staging_bucket). */
static int ensure_bucket_policy(s3i_provision *st, const s3i_state_region *r)
{
	s3i_svc svc = host_svc(st, r->region);
	size_t n = s3i_run_input_get_account_count(st->in);
	const char **accounts = s3i_calloc(st->alloc, n ? n : 1, sizeof(*accounts));
	if (!accounts)
		return oom(st);
	for (size_t i = 0; i < n; i++)
		accounts[i] = s3i_run_input_get_account_id(st->in, i);
	s3i_buf doc = S3I_BUF_INIT;
	s3i_buf_init(&doc, st->alloc);
	int rc = policy_staging_bucket(&doc, s3i_deployment_partition(st->d), r->staging_bucket,
		accounts, n);
	s3i_free(st->alloc, accounts);
	if (rc)
		rc = oom(st);
	else
		rc = s3i_s3_put_bucket_policy_op(&svc, r->staging_bucket, s3i_buf_cstr(&doc), &st->err);
	s3i_buf_dispose(&doc);
	return rc;
}

typedef struct notif_look {
	const char *topic_arn;
	int found;
} notif_look;

static int find_notification(void *payload, const s3i_s3_notification *n)
{
	notif_look *l = payload;
	if (n->kind != S3I_S3_NOTIFY_TOPIC || !n->arn || strcmp(n->arn, l->topic_arn))
		return 0;
	for (size_t i = 0; i < n->nevents; i++)
		if (!strcmp(n->events[i], "s3:ObjectCreated:*"))
			l->found = 1;
	return 0;
}

/* The staging bucket's notification: ObjectCreated:* of manifest.checksum to the topic (the
 * template's). The bucket is the run's own, so its configuration is ours alone. */
static int ensure_notification(s3i_provision *st, const s3i_state_region *r)
{
	s3i_svc svc = host_svc(st, r->region);
	notif_look look = { r->topic_arn, 0 };
	int rc = s3i_s3_get_bucket_notification_configuration_op(&svc, r->staging_bucket,
		find_notification, &look, NULL, &st->err);
	if (rc || look.found)
		return rc;
	static const char *const events[] = { "s3:ObjectCreated:*" };
	s3i_s3_notification n = {
		.kind = S3I_S3_NOTIFY_TOPIC,
		.id = "s3insights-inventory-delivery",
		.arn = r->topic_arn,
		.events = events, .nevents = 1,
		.suffix = "manifest.checksum",
	};
	s3i_s3_notification_config cfg = { .items = &n, .count = 1 };
	rc = s3i_s3_put_bucket_notification_configuration_op(&svc, r->staging_bucket, &cfg,
		&st->err);
	if (rc == S3I_OK)
		s3i_log(st->log, S3I_LOG_INFO, "provision %s: notification of %s to %s applied",
			st->run_id, r->staging_bucket, r->topic_arn);
	return rc;
}

static int provision_region(s3i_provision *st, s3i_state_region *r, int64_t deadline_ms,
	int *done)
{
	*done = 0;
	s3i_svc svc = host_svc(st, r->region);
	int ready = 0;
	int rc = ensure_stack(st, &svc, r, deadline_ms, &ready);
	if (rc || !ready)
		return rc;
	if ((rc = queue_info(st)))
		return rc;
	/* the topic policy before the notification: S3 checks the destination when it is put */
	if ((rc = ensure_topic_policy(st, r)) || (rc = ensure_queue_policy(st, r))
	    || (rc = ensure_subscription(st, r)) || (rc = ensure_bucket_policy(st, r))
	    || (rc = s3i_state_route_put(st->state, r->staging_bucket, st->run_id, r->region,
	            s3i_deployment_host_account(st->d), &st->err))
	    || (rc = ensure_notification(st, r))) {
		s3i_err_prefix(&st->err, "provision of run %s, region %s: ", st->run_id, r->region);
		return rc == S3I_ECONFLICT || s3i_status_is_retryable(rc) ? rc : fail_run(st, rc);
	}
	snprintf(r->status, sizeof(r->status), "provisioned");
	r->reason[0] = 0;
	if ((rc = s3i_state_region_put(st->state, st->run_id, r, &st->err)))
		return rc;
	s3i_log(st->log, S3I_LOG_INFO, "provision %s: region %s provisioned (staging bucket %s)",
		st->run_id, r->region, r->staging_bucket);
	*done = 1;
	return S3I_OK;
}

/* ------------------------------------------------------------------ step */

int s3i_provision_step(s3i_provision *st, int64_t deadline_ms, int *finished)
{
	if (finished)
		*finished = 0;
	if (!st || !finished)
		return s3i_err(st ? &st->err : NULL, S3I_EINVALID, NULL,
			"provision step: handle and finished are required");
	s3i_errinfo_clear(&st->err);
	int rc;
	if (!st->started && (rc = start(st)))
		return rc;
	if (st->account_id[0])
		return discover_account(st, deadline_ms, finished);
	if (!st->sender_checked) {
		if (!st->opts.skip_sender_check)
			check_sender(st);
		st->sender_checked = 1;
	}
	if (!st->discovered) {
		if ((rc = discover(st, deadline_ms)))
			return rc;
		if (!st->discovered)
			return S3I_OK;
	}
	if (!st->planned && (rc = do_plan(st)))
		return rc;
	s3i_stage_regions *regions = s3i_calloc(st->alloc, 1, sizeof(*regions));
	if (!regions)
		return oom(st);
	rc = s3i_state_regions_list(st->state, st->run_id, s3i_stage_keep_region, regions, &st->err);
	int all = 1, tried = 0;
	for (size_t i = 0; rc == S3I_OK && i < regions->count; i++) {
		s3i_state_region *r = &regions->items[i];
		if (strcmp(r->status, "pending"))
			continue;
		if (tried && past(st, deadline_ms)) {
			all = 0;
			break;
		}
		int done = 0;
		tried++;   /* at least one region per step, whatever the deadline */
		rc = provision_region(st, r, deadline_ms, &done);
		if (!done)
			all = 0;
	}
	s3i_free(st->alloc, regions);
	if (rc)
		return rc;
	*finished = all;
	if (all)
		s3i_log(st->log, S3I_LOG_INFO, "provision %s: finished", st->run_id);
	return S3I_OK;
}

int s3i_provision_run(s3i_provision *st)
{
	int finished = 0, rc;
	do {
		if ((rc = s3i_provision_step(st, 0, &finished)))
			return rc;
	} while (!finished);
	return S3I_OK;
}
