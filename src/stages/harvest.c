/* The Harvester and Cleanup workflows in one process: the stages composed in order. */
#include <stdio.h>
#include <string.h>

#include "s3insights/harvest.h"
#include "s3insights/stage_provision.h"
#include "s3insights/stage_configure.h"
#include "s3insights/stage_ingest.h"
#include "s3insights/stage_partition.h"
#include "s3insights/stage_table.h"
#include "s3insights/stage_query.h"
#include "s3insights/stage_notify.h"
#include "s3insights/stage_teardown.h"
#include "aws/client.h"
#include "stages/run_internal.h"

#define DEFAULT_INTERVAL_MS 1000
/* One ingest step polls the queue this long at most, so progress and the inventory deadline
 * are looked at in between. */
#define INGEST_SLICE_MS 5000
#define DEFAULT_VISIBILITY_S 60
/* During the wait a failure that may pass (throttling, 5xx, the network), left after the
 * client's own retries, does not fail the run: the work is tried again after
 * WAIT_RETRY_MS, until such failures have lasted WAIT_GRACE_MS in a row. */
#define WAIT_RETRY_MS 5000
#define WAIT_GRACE_MS (15 * 60 * 1000)

typedef struct harvest {
	s3i_run *run;
	s3i_deployment *d;
	s3i_state *state;
	s3i_harvest_options o;
	int64_t started_ms;
	int64_t last_progress_ms;
	int64_t wait_deadline_ms;
	s3i_run_status status;
} harvest;

static int64_t now_ms(const harvest *h) { return s3i_deployment_now_ms(h->d); }

static int report(harvest *h, const char *stage, int force)
{
	if (!h->o.progress)
		return S3I_OK;
	int64_t now = now_ms(h);
	int interval = h->o.progress_interval_ms > 0 ? h->o.progress_interval_ms : DEFAULT_INTERVAL_MS;
	if (!force && now - h->last_progress_ms < interval)
		return S3I_OK;
	h->last_progress_ms = now;
	h->status.struct_size = sizeof(h->status);
	if (s3i_run_status_read(h->run, &h->status, NULL, NULL))
		return S3I_OK;     /* a progress display is not worth failing the run for */
	s3i_harvest_progress p = { sizeof(p), stage, &h->status, now - h->started_ms,
		h->wait_deadline_ms };
	if (h->o.progress(h->o.progress_user, &p))
		return s3i_err(NULL, S3I_EUSER, s3i_run_id(h->run),
			"run %s: stopped by the progress callback during %s (resume with the same input)",
			s3i_run_id(h->run), stage);
	return S3I_OK;
}

/* Copy a stage handle's error detail into the thread's, prefixed with the stage. */
static int stage_failed(const char *stage, int rc, const s3i_error *e)
{
	if (e && e->code)
		return s3i_err_aws(NULL, rc, e->http_status, e->aws_code, e->request_id, e->resource,
			e->message);
	(void)stage;
	return rc;
}

/* Each stage: new, run to the end, free. The macro keeps the eight stages uniform. */
#define RUN_STAGE(name, type, ...)                                                         \
	do {                                                                                \
		s3i_##type *st_ = NULL;                                                     \
		int rc_ = s3i_##type##_new(&st_, __VA_ARGS__);                              \
		if (!rc_) {                                                                 \
			rc_ = s3i_##type##_run(st_);                                        \
			if (rc_)                                                            \
				stage_failed(name, rc_, s3i_##type##_error(st_));            \
		}                                                                           \
		s3i_##type##_free(st_);                                                     \
		if (rc_)                                                                    \
			return rc_;                                                         \
	} while (0)

static int do_provision(harvest *h) { RUN_STAGE("provision", provision, h->run, NULL); return S3I_OK; }
static int do_configure(harvest *h) { RUN_STAGE("configure", configure, h->run, NULL); return S3I_OK; }
static int do_partition(harvest *h) { RUN_STAGE("partition", partition, h->run, NULL); return S3I_OK; }
static int do_table(harvest *h) { RUN_STAGE("table", table, h->run, NULL); return S3I_OK; }
static int do_query(harvest *h) { RUN_STAGE("query", query, h->run, NULL); return S3I_OK; }
static int do_notify(harvest *h) { RUN_STAGE("notify", notify, h->run, NULL); return S3I_OK; }

static int do_teardown(harvest *h, int keep_phase, int cleanup)
{
	s3i_teardown_options o = S3I_TEARDOWN_OPTIONS_INIT;
	o.keep_phase = keep_phase;
	o.cleanup = cleanup;
	RUN_STAGE("teardown", teardown, h->run, &o);
	return S3I_OK;
}

typedef struct expire_walk {
	s3i_run *run;
	int64_t now;
	const char *reason;
	int64_t expired;
	int rc;
} expire_walk;

static int expire_one(void *user, const s3i_state_bucket *b)
{
	expire_walk *w = user;
	if (s3i_bucket_state_is_terminal(b->status))
		return 0;
	int moved = 0;
	int rc = s3i_state_bucket_set_status(s3i_run_state(w->run), s3i_run_id(w->run), b->account,
		b->bucket, S3I_BUCKET_TIMED_OUT, w->reason, w->now, &moved, NULL);
	if (rc) {
		w->rc = rc;
		return 1;
	}
	w->expired += moved != 0;
	return 0;
}

/* The wait's decision, shared by do_wait and s3i_harvest_wait_check: the deadline recorded
 * once, over when nothing is pending, or when the deadline passed (the rest timed out). */
static int wait_check(s3i_run *run, s3i_harvest_wait *w)
{
	s3i_deployment *d = s3i_run_deployment(run);
	s3i_state *state = s3i_run_state(run);
	const char *run_id = s3i_run_id(run);
	int64_t timeout_ms = s3i_run_input_get_inventory_timeout_ms(s3i_run_get_input(run));
	w->over = 0;
	w->timed_out = 0;
	w->now_ms = s3i_deployment_now_ms(d);
	s3i_state_run rec;
	int rc = s3i_state_run_get(state, run_id, &rec, NULL);
	if (rc)
		return rc;
	w->deadline_ms = rec.inventory_deadline_ms;
	s3i_state_run_dispose(&rec);
	if (!w->deadline_ms) {
		if ((rc = s3i_state_run_set_deadline(state, run_id, w->now_ms + timeout_ms, NULL)))
			return rc;
		/* the first value written stays: read back the one that won */
		if ((rc = s3i_state_run_get(state, run_id, &rec, NULL)))
			return rc;
		w->deadline_ms = rec.inventory_deadline_ms;
		s3i_state_run_dispose(&rec);
	}
	s3i_run_status s = { .struct_size = sizeof(s) };
	if ((rc = s3i_run_status_read(run, &s, NULL, NULL)))
		return rc;
	w->pending = s.buckets_pending;
	if (w->pending == 0) {
		w->over = 1;
		return S3I_OK;
	}
	if (w->now_ms < w->deadline_ms)
		return S3I_OK;
	char reason[160];
	snprintf(reason, sizeof(reason),
		"no complete inventory report within inventory_timeout_hours (%lld h)",
		(long long)(timeout_ms / 3600000));
	expire_walk ew = { run, w->now_ms, reason, 0, 0 };
	rc = s3i_state_buckets_list(state, run_id, expire_one, &ew, NULL);
	if (ew.rc)
		rc = ew.rc;
	w->timed_out = ew.expired;
	if (!rc) {
		w->over = 1;
		w->pending = 0;
	}
	return rc;
}

/* Failures during the wait that may pass: counted from the first of a row. */
typedef struct wait_trouble {
	int64_t since_ms;        /* 0: the last attempt worked */
} wait_trouble;

/* rc of one attempt of the wait's work: S3I_OK when it worked or failed in a way that may
 * pass within the grace (logged; *retry_at_ms says when to try again), rc otherwise. */
static int tolerate(harvest *h, wait_trouble *t, const char *what, int rc, int64_t *retry_at_ms)
{
	int64_t now = now_ms(h);
	if (!rc) {
		t->since_ms = 0;
		return S3I_OK;
	}
	if (!s3i_status_is_retryable(rc))
		return rc;
	if (!t->since_ms)
		t->since_ms = now;
	if (now - t->since_ms >= WAIT_GRACE_MS) {
		s3i_err_prefix(NULL, "%s still failing after %d minutes: ", what,
			WAIT_GRACE_MS / 60000);
		return rc;
	}
	s3i_log(s3i_ctx_logger(s3i_deployment_ctx(h->d)), S3I_LOG_WARN,
		"run %s: %s failed for now, trying again in %d s: %s", s3i_run_id(h->run), what,
		WAIT_RETRY_MS / 1000, s3i_error_last()->message);
	*retry_at_ms = now + WAIT_RETRY_MS;
	return S3I_OK;
}

/* Wait for the reports: ingest (which also partitions) until no bucket is pending, or the
 * inventory deadline passes and the rest are recorded as timed out. */
static int do_wait(harvest *h)
{
	s3i_harvest_wait w = S3I_HARVEST_WAIT_INIT;
	int rc = wait_check(h->run, &w);
	if (rc)
		return rc;
	h->wait_deadline_ms = w.deadline_ms;
	/* Manifests claimed before a crash whose files are not all counted yet. Their buckets
	 * stay pending until this has worked (or the deadline times them out). */
	wait_trouble partition_trouble = { 0 }, ingest_trouble = { 0 };
	int64_t partition_at = 0, ingest_at = 0;
	int partitioned = 0;
	if ((rc = tolerate(h, &partition_trouble, "the partition of claimed manifests",
		do_partition(h), &partition_at)))
		return rc;
	partitioned = !partition_at;

	s3i_ingest *ing = NULL;
	s3i_ingest_options io = S3I_INGEST_OPTIONS_INIT;
	io.visibility_timeout = h->o.ingest_visibility_timeout_s > 0
		? h->o.ingest_visibility_timeout_s : DEFAULT_VISIBILITY_S;
	if ((rc = s3i_ingest_new(&ing, h->d, &io)))
		return rc;
	s3i_client *client = s3i_deployment_client(h->d);
	wait_trouble check_trouble = { 0 };
	for (;;) {
		int64_t check_at = 0;
		if ((rc = tolerate(h, &check_trouble, "checking the wait", wait_check(h->run, &w),
			&check_at)))
			break;
		if (check_at) {
			s3i_client_sleep_ms(client, WAIT_RETRY_MS);
			continue;
		}
		if (w.over)
			break;
		if ((rc = report(h, "wait", 0)))
			break;
		if (!partitioned && w.now_ms >= partition_at) {
			partition_at = 0;
			if ((rc = tolerate(h, &partition_trouble, "the partition of claimed manifests",
				do_partition(h), &partition_at)))
				break;
			partitioned = !partition_at;
		}
		if (w.now_ms < ingest_at) {
			int64_t next = ingest_at;
			if (!partitioned && partition_at < next)
				next = partition_at;
			s3i_client_sleep_ms(client, next > w.now_ms ? next - w.now_ms : 0);
			continue;
		}
		int64_t slice = w.now_ms + INGEST_SLICE_MS;
		if (slice > h->wait_deadline_ms)
			slice = h->wait_deadline_ms;
		int finished = 0;
		ingest_at = 0;
		rc = s3i_ingest_step(ing, slice, &finished);
		if (rc)
			stage_failed("ingest", rc, s3i_ingest_error(ing));
		if ((rc = tolerate(h, &ingest_trouble, "ingest", rc, &ingest_at)))
			break;
	}
	s3i_ingest_free(ing);
	return rc;
}

int s3i_harvest_wait_check(s3i_run *run, s3i_harvest_wait *out)
{
	if (!run || !out || out->struct_size < sizeof(uint32_t))
		return s3i_err(NULL, S3I_EINVALID, "wait",
			"s3i_harvest_wait_check: run and out (with its struct_size) are required");
	s3i_harvest_wait w = S3I_HARVEST_WAIT_INIT;
	/* the phase `waiting` has no stage of its own to move it (never moves backwards) */
	int rc = s3i_state_run_set_phase(s3i_run_state(run), s3i_run_id(run), S3I_PHASE_WAITING,
		s3i_deployment_now_ms(s3i_run_deployment(run)), NULL, NULL);
	if (!rc)
		rc = wait_check(run, &w);
	if (rc)
		s3i_err_prefix(NULL, "run %s: checking the wait for inventory reports: ",
			s3i_run_id(run));
	uint32_t size = out->struct_size < sizeof(w) ? out->struct_size : (uint32_t)sizeof(w);
	memcpy(out, &w, size);
	out->struct_size = size;
	return rc;
}

int s3i_harvest_record_failure(s3i_run *run, const char *stage, const char *message)
{
	if (!run || !stage || !message)
		return s3i_err(NULL, S3I_EINVALID, "run",
			"s3i_harvest_record_failure: run, stage and message are required");
	int rc = s3i_state_run_fail(s3i_run_state(run), s3i_run_id(run), stage, message,
		s3i_deployment_now_ms(s3i_run_deployment(run)), NULL);
	if (rc)
		s3i_err_prefix(NULL, "run %s: recording its failure in %s: ", s3i_run_id(run), stage);
	return rc;
}

static s3i_run_phase current_phase(harvest *h, int *finished, int *rc)
{
	s3i_state_run rec;
	*rc = s3i_state_run_get(h->state, s3i_run_id(h->run), &rec, NULL);
	if (*rc)
		return S3I_PHASE_FAILED;
	s3i_run_phase p = rec.phase;
	*finished = rec.finished;
	s3i_state_run_dispose(&rec);
	return p;
}

static void init_harvest(harvest *h, s3i_run *run, const s3i_harvest_options *opts)
{
	memset(h, 0, sizeof(*h));
	h->run = run;
	h->d = s3i_run_deployment(run);
	h->state = s3i_run_state(run);
	s3i_harvest_options o = S3I_HARVEST_OPTIONS_INIT;
	if (opts)
		memcpy(&o, opts, opts->struct_size < sizeof(o) ? opts->struct_size : sizeof(o));
	o.struct_size = sizeof(o);
	h->o = o;
	h->started_ms = now_ms(h);
}

/* After a failure: record it, report it, clean up. The original error stays the thread's. */
static int fail_run(harvest *h, const char *stage, int rc)
{
	s3i_errinfo saved;
	s3i_errinfo_copy(&saved, s3i_errinfo_thread());
	const char *run_id = s3i_run_id(h->run);
	s3i_state_run_fail(h->state, run_id, stage, saved.message, now_ms(h), NULL);
	if (!h->o.no_failure_report && do_notify(h))
		s3i_log(s3i_ctx_logger(s3i_deployment_ctx(h->d)), S3I_LOG_WARN,
			"run %s: the failure report could not be sent: %s", run_id,
			s3i_error_last()->message);
	if (!h->o.no_cleanup_on_failure && do_teardown(h, 0, 0))
		s3i_log(s3i_ctx_logger(s3i_deployment_ctx(h->d)), S3I_LOG_WARN,
			"run %s: cleanup after the failure did not finish (run cleanup again): %s",
			run_id, s3i_error_last()->message);
	s3i_errinfo_copy(s3i_errinfo_thread(), &saved);
	s3i_err_prefix(NULL, "run %s failed in %s: ", run_id, stage);
	return rc;
}

int s3i_harvest_run(s3i_run *run, const s3i_harvest_options *opts)
{
	if (!run)
		return s3i_err(NULL, S3I_EINVALID, NULL, "harvest: no run");
	if (opts && opts->struct_size < sizeof(uint32_t))
		return s3i_err(NULL, S3I_EINVALID, NULL, "harvest: options struct_size is too small");
	harvest h;
	init_harvest(&h, run, opts);
	const char *run_id = s3i_run_id(run);
	int rc, finished = 0;
	s3i_run_phase p = current_phase(&h, &finished, &rc);
	if (rc)
		return rc;
	if (finished)
		return s3i_err(NULL, S3I_EEXISTS, run_id, "run %s has finished (%s)", run_id,
			s3i_run_phase_name(p));
	if (p == S3I_PHASE_FAILED)
		return s3i_err(NULL, S3I_ECONFLICT, run_id,
			"run %s failed before; run cleanup for it and start a new run id", run_id);

	static const struct {
		s3i_run_phase upto;
		const char *name;
		int (*fn)(harvest *);
	} plan[] = {
		{ S3I_PHASE_PROVISIONING, "provision", do_provision },
		{ S3I_PHASE_CONFIGURING, "configure", do_configure },
		{ S3I_PHASE_WAITING, "wait", do_wait },
		{ S3I_PHASE_TABLE, "table", do_table },
		{ S3I_PHASE_QUERYING, "query", do_query },
		{ S3I_PHASE_NOTIFYING, "notify", do_notify },
	};
	for (size_t i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
		if (p > plan[i].upto)
			continue;
		if ((rc = report(&h, plan[i].name, 1)))
			return rc;
		if (plan[i].upto == S3I_PHASE_WAITING) {
			/* the wait has no stage of its own to move the phase */
			s3i_state_run_set_phase(h.state, run_id, S3I_PHASE_WAITING, now_ms(&h), NULL, NULL);
		}
		if ((rc = plan[i].fn(&h))) {
			if (rc == S3I_EUSER)
				return rc;
			return fail_run(&h, plan[i].name, rc);
		}
	}
	if ((rc = report(&h, "teardown", 1)))
		return rc;
	if ((rc = do_teardown(&h, 0, 0)))
		return fail_run(&h, "teardown", rc);
	report(&h, "done", 1);
	return S3I_OK;
}

int s3i_cleanup_run(s3i_run *run, const s3i_harvest_options *opts)
{
	if (!run)
		return s3i_err(NULL, S3I_EINVALID, NULL, "cleanup: no run");
	harvest h;
	init_harvest(&h, run, opts);
	const char *run_id = s3i_run_id(run);
	int rc, finished = 0;
	current_phase(&h, &finished, &rc);
	if (rc)
		return rc;
	if ((rc = report(&h, "cleanup", 1)))
		return rc;
	/* The teardown's Cleanup mode records an unfinished run as cancelled first; a finished
	 * run keeps its phase (done stays done), a failed one becomes cleaned. */
	if ((rc = do_teardown(&h, finished, 1)))
		s3i_err_prefix(NULL, "cleanup of run %s: ", run_id);
	return rc;
}
