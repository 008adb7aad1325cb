/*
 * The ingest-manifest stage (DESIGN §4.3): S3 events from the central queue, routed to their
 * run by staging bucket, each verified manifest's data files partitioned at once
 * (stages/partition.h). See stage_ingest.h for the contract and docs/stages.md ("Ingest and
 * partition") for the decisions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "s3insights/stage_ingest.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "services/sqs.h"
#include "stages/manifest.h"
#include "stages/names.h"
#include "stages/partition.h"
#include "stages/run_internal.h"
#include "stages/stage_common.h"
#include "stages/s3_event.h"

#define MAX_RUNS 32
#define RECEIVE_MARGIN_S 3   /* a long poll leaves this much of the step for the work */
#define DEFAULT_WAIT_S 20
#define DLQ_VISIBILITY_S 60

typedef struct run_slot {
	char id[16];
	s3i_run *run;
} run_slot;

/* A received message, copied out of the receive callback. */
typedef struct held_msg {
	char *id;
	char *receipt;
	char *body;
	size_t body_len;
	int32_t receive_count;
} held_msg;

typedef struct held_batch {
	const s3i_allocator *a;
	held_msg m[S3I_SQS_BATCH_MAX];
	size_t n;
} held_batch;

/* What becomes of a message: worst wins. */
enum { DISP_DELETE = 0, DISP_REQUEUE = 1, DISP_KEEP = 2 };

struct s3i_ingest {
	s3i_deployment *d;
	const s3i_allocator *alloc;
	s3i_ingest_options o;
	char *opt_queue_url, *opt_queue_name, *opt_dlq_url;
	char queue_url[S3I_SQS_URL_MAX];
	char dlq_url[S3I_SQS_URL_MAX];
	int dlq_missing;
	int32_t visibility_s;        /* how long a received message stays hidden */
	s3i_part_cfg cfg;
	s3i_errinfo err;
	s3i_ingest_stats stats;
	run_slot runs[MAX_RUNS];
	size_t n_runs;
};

static const s3i_logger *logger(const s3i_ingest *st)
{
	return s3i_client_logger(s3i_deployment_client(st->d));
}

static s3i_svc host_svc(const s3i_ingest *st)
{
	s3i_svc svc = { s3i_deployment_client(st->d), NULL, s3i_deployment_host_region(st->d) };
	return svc;
}

/* ------------------------------------------------------------------ handle */

int s3i_ingest_new(s3i_ingest **out, s3i_deployment *d, const s3i_ingest_options *opts)
{
	if (!out || !d)
		return s3i_err(NULL, S3I_EINVALID, "ingest", "s3i_ingest_new: out and d are required");
	*out = NULL;
	s3i_ingest_options o = S3I_INGEST_OPTIONS_INIT;
	if (opts) {
		if (opts->struct_size < sizeof(uint32_t) || opts->struct_size > 4096)
			return s3i_err(NULL, S3I_EINVALID, "ingest", "s3i_ingest_new: opts->struct_size "
				"%u is not a size of s3i_ingest_options", (unsigned)opts->struct_size);
	}
	s3i_stage_options_copy(&o, sizeof(o), opts);
	if (o.max_messages < 0 || o.max_messages > S3I_SQS_BATCH_MAX)
		return s3i_err(NULL, S3I_EINVALID, "max_messages", "s3i_ingest_new: max_messages %d "
			"is outside 0..%d", (int)o.max_messages, S3I_SQS_BATCH_MAX);
	if (o.visibility_timeout < 0 || o.visibility_timeout > 43200)
		return s3i_err(NULL, S3I_EINVALID, "visibility_timeout", "s3i_ingest_new: "
			"visibility_timeout %d is outside 0..43200 s", (int)o.visibility_timeout);
	if (o.wait_seconds < 0 || o.wait_seconds > S3I_SQS_WAIT_MAX)
		return s3i_err(NULL, S3I_EINVALID, "wait_seconds", "s3i_ingest_new: wait_seconds %d "
			"is outside 0..%d", (int)o.wait_seconds, S3I_SQS_WAIT_MAX);
	if (o.concurrency < 0 || o.concurrency > S3I_PART_MAX_CONCURRENCY)
		return s3i_err(NULL, S3I_EINVALID, "concurrency", "s3i_ingest_new: concurrency %d is "
			"outside 0..%d", (int)o.concurrency, S3I_PART_MAX_CONCURRENCY);
	if (o.dlq_mode != S3I_INGEST_DLQ_DRAIN && o.dlq_mode != S3I_INGEST_DLQ_NONE)
		return s3i_err(NULL, S3I_EINVALID, "dlq_mode", "s3i_ingest_new: dlq_mode %d is "
			"neither S3I_INGEST_DLQ_DRAIN nor S3I_INGEST_DLQ_NONE", (int)o.dlq_mode);
	if (o.copy_threshold < 0 || o.manifest_wait_ms < 0)
		return s3i_err(NULL, S3I_EINVALID, o.copy_threshold < 0 ? "copy_threshold" :
			"manifest_wait_ms", "s3i_ingest_new: copy_threshold and manifest_wait_ms must "
			"not be negative");
	const s3i_allocator *a = s3i_deployment_alloc(d);
	s3i_ingest *st = s3i_calloc(a, 1, sizeof(*st));
	if (!st)
		return s3i_err(NULL, S3I_ENOMEM, "ingest", "s3i_ingest_new: out of memory");
	st->d = d;
	st->alloc = a;
	st->o = o;
	if ((o.queue_url && !(st->opt_queue_url = s3i_strdup(a, o.queue_url))) ||
		(o.queue_name && !(st->opt_queue_name = s3i_strdup(a, o.queue_name))) ||
		(o.dlq_url && !(st->opt_dlq_url = s3i_strdup(a, o.dlq_url)))) {
		s3i_ingest_free(st);
		return s3i_err(NULL, S3I_ENOMEM, "ingest", "s3i_ingest_new: out of memory");
	}
	st->o.queue_url = st->opt_queue_url;
	st->o.queue_name = st->opt_queue_name;
	st->o.dlq_url = st->opt_dlq_url;
	if (!st->o.max_messages)
		st->o.max_messages = 1;      /* nothing waits hidden behind the message being worked on */
	if (!st->o.wait_seconds)
		st->o.wait_seconds = DEFAULT_WAIT_S;
	if (!st->o.manifest_wait_ms)
		st->o.manifest_wait_ms = S3I_PART_DEFAULT_MANIFEST_WAIT_MS;
	st->cfg.concurrency = o.concurrency ? o.concurrency : S3I_PART_DEFAULT_CONCURRENCY;
	st->cfg.copy_threshold = o.copy_threshold;
	s3i_errinfo_init(&st->err);
	st->stats.struct_size = sizeof(st->stats);
	*out = st;
	return S3I_OK;
}

void s3i_ingest_free(s3i_ingest *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_runs; i++)
		s3i_run_free(st->runs[i].run);
	s3i_free(st->alloc, st->opt_queue_url);
	s3i_free(st->alloc, st->opt_queue_name);
	s3i_free(st->alloc, st->opt_dlq_url);
	s3i_free(st->alloc, st);
}

const s3i_error *s3i_ingest_error(const s3i_ingest *st)
{
	static const s3i_error none = { sizeof(s3i_error), 0, 0, "", "", "", "" };
	return st ? &st->err.pub : &none;
}

int s3i_ingest_get_stats(const s3i_ingest *st, s3i_ingest_stats *out)
{
	if (!st || !out || out->struct_size < sizeof(uint32_t))
		return s3i_err(NULL, S3I_EINVALID, "stats", "s3i_ingest_get_stats: st and out (with "
			"its struct_size) are required");
	uint32_t size = out->struct_size < sizeof(*out) ? out->struct_size : sizeof(*out);
	memcpy(out, &st->stats, size);
	out->struct_size = size;
	return S3I_OK;
}

/* The run of an id, opened once per handle. NULL with the error on err. */
static s3i_run *get_run(s3i_ingest *st, const char *run_id, s3i_errinfo *err)
{
	for (size_t i = 0; i < st->n_runs; i++)
		if (!strcmp(st->runs[i].id, run_id))
			return st->runs[i].run;
	s3i_run *run = NULL;
	int rc = s3i_run_open(&run, st->d, run_id);
	if (rc) {
		s3i_errinfo_copy(err, s3i_errinfo_thread());
		return NULL;
	}
	if (st->n_runs == MAX_RUNS) {
		s3i_run_free(st->runs[0].run);
		memmove(&st->runs[0], &st->runs[1], (MAX_RUNS - 1) * sizeof(run_slot));
		st->n_runs--;
	}
	snprintf(st->runs[st->n_runs].id, sizeof(st->runs[0].id), "%s", run_id);
	st->runs[st->n_runs++].run = run;
	return run;
}

static int resolve_queues(s3i_ingest *st)
{
	if (st->queue_url[0])
		return S3I_OK;
	int rc;
	if (st->o.queue_url) {
		snprintf(st->queue_url, sizeof(st->queue_url), "%s", st->o.queue_url);
	} else if (st->o.queue_name) {
		s3i_svc svc = host_svc(st);
		if ((rc = s3i_sqs_get_queue_url_op(&svc, st->o.queue_name, NULL, st->queue_url,
			sizeof(st->queue_url), &st->err)))
			return rc;
	} else if ((rc = s3i_deployment_queue_url(st->d, st->queue_url, sizeof(st->queue_url)))) {
		s3i_errinfo_copy(&st->err, s3i_errinfo_thread());
		st->queue_url[0] = 0;
		return rc;
	}
	st->visibility_s = st->o.visibility_timeout;
	if (!st->visibility_s) {
		/* the queue's own VisibilityTimeout, for keep_hidden; without it nothing is extended */
		s3i_svc svc = host_svc(st);
		s3i_sqs_attrs attrs;
		s3i_sqs_attrs_init(&attrs, st->alloc);
		const char *names[] = { "VisibilityTimeout" };
		int64_t v = 0;
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		if (!s3i_sqs_get_queue_attributes_op(&svc, st->queue_url, names, 1, &attrs, &e) &&
			!s3i_sqs_attrs_i64(&attrs, "VisibilityTimeout", &v) && v > 0 && v <= 43200)
			st->visibility_s = (int32_t)v;
		s3i_sqs_attrs_free(&attrs);
	}
	if (st->o.dlq_mode == S3I_INGEST_DLQ_NONE)
		return S3I_OK;
	if (st->o.dlq_url) {
		snprintf(st->dlq_url, sizeof(st->dlq_url), "%s", st->o.dlq_url);
	} else if ((rc = s3i_deployment_dlq_url(st->d, st->dlq_url, sizeof(st->dlq_url)))) {
		st->dlq_url[0] = 0;
		st->dlq_missing = 1;
		s3i_log(logger(st), S3I_LOG_WARN, "ingest: no dead-letter queue to look at: %s",
			s3i_error_last()->message);
	}
	return S3I_OK;
}

/* ------------------------------------------------------------------ receiving */

static void held_free(held_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		s3i_free(b->a, b->m[i].id);
		s3i_free(b->a, b->m[i].receipt);
		s3i_free(b->a, b->m[i].body);
	}
	b->n = 0;
}

static int hold_message(void *payload, const s3i_sqs_message *m)
{
	held_batch *b = payload;
	if (b->n == S3I_SQS_BATCH_MAX)
		return 0;
	held_msg *h = &b->m[b->n];
	memset(h, 0, sizeof(*h));
	h->id = s3i_strdup(b->a, m->message_id);
	h->receipt = s3i_strdup(b->a, m->receipt_handle);
	h->body = s3i_strndup(b->a, m->body, m->body_len);
	h->body_len = m->body_len;
	h->receive_count = m->receive_count;
	b->n++;
	if (!h->id || !h->receipt || !h->body)
		return S3I_ENOMEM;
	return 0;
}

static int receive(s3i_ingest *st, const char *url, int32_t max, int32_t wait_s,
	int32_t visibility, held_batch *b, s3i_errinfo *err)
{
	s3i_svc svc = host_svc(st);
	s3i_sqs_receive_opts ro = { 0 };
	ro.max_messages = max;
	ro.wait_seconds = wait_s;
	ro.visibility_timeout = visibility;
	ro.use_visibility_timeout = visibility > 0;
	int rc = s3i_sqs_receive_op(&svc, url, &ro, hold_message, b, NULL, err);
	if (rc == S3I_EUSER)
		rc = s3i_err(err, S3I_ENOMEM, url, "ingest: out of memory holding messages of %s", url);
	return rc;
}

/* ------------------------------------------------------------------ one event record */

typedef struct rec_ctx {
	s3i_ingest *st;
	const held_msg *msg;
	int64_t deadline_ms;
	s3i_errinfo *err;
	int stage_failed;          /* the state table could not be read: the step fails */
	int64_t hidden_since_ms;   /* when the message's visibility timeout last started */
} rec_ctx;

/* Between batches of a long manifest: once half the visibility timeout has passed, hide the
 * message again for a whole one, so no other consumer starts the same work meanwhile (which
 * would be harmless, only wasted). */
static void keep_hidden(void *user)
{
	rec_ctx *c = user;
	s3i_ingest *st = c->st;
	if (!c->msg->receipt[0] || !st->queue_url[0])
		return;                  /* a message handed in (s3i_ingest_process_message) */
	int64_t now = s3i_deployment_now_ms(st->d);
	if (now - c->hidden_since_ms < (int64_t)st->visibility_s * 500)
		return;
	s3i_svc svc = host_svc(st);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	if (s3i_sqs_change_visibility_op(&svc, st->queue_url, c->msg->receipt, st->visibility_s, &e))
		s3i_log(logger(st), S3I_LOG_INFO, "ingest: message %s not kept hidden: %s", c->msg->id,
			e.message);
	else
		c->hidden_since_ms = now;
}

static void ignored(rec_ctx *c, s3i_run *run, const char *account, const char *bucket,
	const char *manifest_key, const char *why)
{
	s3i_ingest *st = c->st;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_state_delivery_ignored(s3i_run_state(run), s3i_run_id(run), account, bucket,
		manifest_key, why, s3i_deployment_now_ms(st->d), &e);
	st->stats.deliveries_ignored++;
	s3i_log(logger(st), rc ? S3I_LOG_WARN : S3I_LOG_INFO, "ingest: run %s, bucket '%s' of "
		"account %s: delivery '%s' ignored%s: %s%s%s", s3i_run_id(run), bucket, account,
		manifest_key, rc ? " (not recorded)" : "", why, rc ? "; " : "", rc ? e.message : "");
}

static int skip(rec_ctx *c, const char *fmt, const char *a1, const char *a2)
{
	s3i_log(logger(c->st), S3I_LOG_INFO, fmt, a1, a2);
	return DISP_DELETE;
}

/* A manifest.checksum record: the disposition of its message. */
static int ingest_checksum(rec_ctx *c, const s3i_s3_event_record *r)
{
	s3i_ingest *st = c->st;
	s3i_errinfo *err = c->err;
	char run_id[16], route_region[32];
	int rc = s3i_state_route_get(s3i_deployment_state(st->d), r->bucket, run_id, route_region,
		err);
	if (rc == S3I_ENOTFOUND)
		return skip(c, "ingest: '%s' in bucket '%s' skipped: no run uses that staging bucket",
			r->key, r->bucket);
	if (rc) {
		c->stage_failed = 1;
		return DISP_KEEP;
	}
	s3i_run *run = get_run(st, run_id, err);
	if (!run) {
		if (err->pub.code == S3I_ENOTFOUND)
			return skip(c, "ingest: '%s' in bucket '%s' skipped: its run is gone", r->key,
				r->bucket);
		return DISP_KEEP;
	}
	s3i_inventory_key k;
	s3i_inventory_key_parse(r->key, r->key_len, &k);
	char account[16], key_region[32], source[64];
	if (s3i_key_span_copy(r->key, k.account, account, sizeof(account)) || !account[0] ||
		s3i_key_span_copy(r->key, k.region, key_region, sizeof(key_region)) ||
		s3i_key_span_copy(r->key, k.source_bucket, source, sizeof(source)) || !source[0])
		return skip(c, "ingest: '%s' in bucket '%s' skipped: not under an "
			"<account>/<region>/ destination prefix", r->key, r->bucket);
	s3i_state_bucket b;
	rc = s3i_state_bucket_get(s3i_run_state(run), run_id, account, source, &b, err);
	if (rc == S3I_ENOTFOUND) {
		s3i_log(logger(st), S3I_LOG_WARN, "ingest: run %s: delivery '%s' in bucket '%s' "
			"skipped: bucket '%s' of account %s is not part of the run", run_id, r->key,
			r->bucket, source, account);
		return DISP_DELETE;
	}
	if (rc)
		return DISP_KEEP;
	s3i_buf mkey;
	s3i_buf_init(&mkey, st->alloc);
	if (s3i_inventory_sibling_key(&mkey, r->key, r->key_len, "manifest.json")) {
		s3i_buf_dispose(&mkey);
		s3i_err(err, S3I_ENOMEM, r->key, "ingest: out of memory");
		return DISP_KEEP;
	}
	int disp = DISP_DELETE;
	char why[1400];
	if (b.manifest_key[0] && strcmp(b.manifest_key, mkey.ptr)) {
		snprintf(why, sizeof(why), "the bucket's first verified manifest is '%s'",
			b.manifest_key);
		ignored(c, run, account, source, mkey.ptr, why);
		goto out;
	}
	if (s3i_bucket_state_is_terminal(b.status)) {
		if (b.status == S3I_BUCKET_DONE) {
			/* a redelivery of the winning manifest: only the removal of the inventory
			 * configuration may be left (a crash right after the bucket was done) */
			if (b.inventory_configured &&
				s3i_part_complete_bucket(run, account, b.region, source, NULL, err))
				disp = DISP_KEEP;
		} else {
			snprintf(why, sizeof(why), "the bucket is already %s",
				s3i_bucket_state_name(b.status));
			ignored(c, run, account, source, mkey.ptr, why);
		}
		goto out;
	}
	s3i_manifest m;
	rc = s3i_part_fetch_manifest(st->d, route_region, r->bucket, mkey.ptr,
		st->o.manifest_wait_ms, c->deadline_ms, &m, err);
	if (rc == S3I_ECHECKSUM) {
		/* not an intact delivery: refused; a later, intact one can still complete the bucket */
		snprintf(why, sizeof(why), "refused: %s", err->message);
		ignored(c, run, account, source, mkey.ptr, why);
	} else if (rc == S3I_EPARSE) {
		if (s3i_part_fail_bucket(run, account, source, err->message, err))
			disp = DISP_KEEP;
		else
			st->stats.buckets_failed++;
	} else if (rc) {
		s3i_log(logger(st), S3I_LOG_WARN, "ingest: run %s: manifest '%s' in bucket '%s' not "
			"read (the message will come back): %s", run_id, mkey.ptr, r->bucket,
			err->message);
		disp = DISP_KEEP;
	} else if (strcmp(m.source_bucket, source)) {
		snprintf(why, sizeof(why), "its manifest names source bucket '%s', its key '%s'",
			m.source_bucket, source);
		ignored(c, run, account, source, mkey.ptr, why);
	} else {
		int won = 0;
		rc = s3i_state_bucket_claim_manifest(s3i_run_state(run), run_id, account, source,
			mkey.ptr, (int64_t)m.n_files, s3i_deployment_now_ms(st->d), &won, err);
		if (rc) {
			disp = DISP_KEEP;
		} else if (!won) {
			ignored(c, run, account, source, mkey.ptr, "another manifest of the bucket was "
				"verified first");
		} else {
			st->stats.manifests_claimed++;
			s3i_crashpoint("ingest.after_manifest_check");
			s3i_part_target t = { account, b.region, source, r->bucket, mkey.ptr };
			s3i_part_outcome outcome = S3I_PART_UNFINISHED;
			s3i_part_stats ps = { 0 };
			s3i_part_cfg cfg = st->cfg;
			if (st->visibility_s > 0) {
				cfg.heartbeat = keep_hidden;
				cfg.heartbeat_user = c;
			}
			rc = s3i_part_manifest(run, &t, &m, &cfg, c->deadline_ms, &outcome, &ps, err);
			st->stats.files_copied += ps.copied;
			st->stats.files_rewritten += ps.rewritten;
			st->stats.files_already_done += ps.already;
			st->stats.buckets_done += ps.buckets_done;
			st->stats.buckets_failed += ps.buckets_failed;
			if (rc) {
				s3i_log(logger(st), S3I_LOG_WARN, "ingest: run %s: partition of manifest "
					"'%s' in bucket '%s' stopped (the message will come back): %s",
					run_id, mkey.ptr, r->bucket, err->message);
				disp = DISP_KEEP;
			} else if (outcome == S3I_PART_UNFINISHED) {
				disp = DISP_REQUEUE;
			}
		}
	}
	s3i_manifest_dispose(&m);
out:
	s3i_buf_dispose(&mkey);
	return disp;
}

static int process_message(s3i_ingest *st, const held_msg *msg, int64_t deadline_ms,
	int64_t received_ms, int *stage_failed)
{
	s3i_s3_event ev;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_s3_event_parse(&ev, msg->body, msg->body_len, st->alloc, &e);
	if (rc == S3I_ENOMEM) {
		s3i_errinfo_copy(&st->err, &e);
		return DISP_KEEP;
	}
	if (rc) {
		/* nothing in it can ever be read: no bucket to report, no reason to retry */
		s3i_log(logger(st), S3I_LOG_WARN, "ingest: message %s deleted: not an S3 event: %s",
			msg->id, e.message);
		st->stats.messages_skipped++;
		return DISP_DELETE;
	}
	int disp = DISP_DELETE, relevant = 0;
	rec_ctx c = { st, msg, deadline_ms, &e, 0, received_ms };
	for (size_t i = 0; ev.kind == S3I_S3_EVENT_RECORDS && i < ev.n_records; i++) {
		const s3i_s3_event_record *r = &ev.records[i];
		if (!s3i_s3_event_is_created(r))
			continue;
		s3i_inventory_key k;
		s3i_inventory_key_parse(r->key, r->key_len, &k);
		if (k.kind != S3I_INVKEY_MANIFEST_CHECKSUM)
			continue;
		relevant = 1;
		s3i_errinfo_clear(&e);
		int d = ingest_checksum(&c, r);
		if (d != DISP_DELETE && e.pub.code)
			s3i_errinfo_copy(&st->err, &e);
		if (d > disp)
			disp = d;
	}
	if (!relevant)
		st->stats.messages_skipped++;
	if (c.stage_failed)
		*stage_failed = 1;
	s3i_s3_event_dispose(&ev);
	return disp;
}

/* ------------------------------------------------------------------ dead letters */

static int dead_letter(s3i_ingest *st, const held_msg *msg)
{
	s3i_s3_event ev;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	if (s3i_s3_event_parse(&ev, msg->body, msg->body_len, st->alloc, &e)) {
		s3i_log(logger(st), S3I_LOG_WARN, "ingest: dead-letter message %s deleted: not an "
			"S3 event: %s", msg->id, e.message);
		return DISP_DELETE;
	}
	int disp = DISP_DELETE;
	for (size_t i = 0; ev.kind == S3I_S3_EVENT_RECORDS && i < ev.n_records; i++) {
		const s3i_s3_event_record *r = &ev.records[i];
		s3i_inventory_key k;
		s3i_inventory_key_parse(r->key, r->key_len, &k);
		char run_id[16], account[16], source[64];
		if (k.kind != S3I_INVKEY_MANIFEST_CHECKSUM ||
			s3i_key_span_copy(r->key, k.account, account, sizeof(account)) || !account[0] ||
			s3i_key_span_copy(r->key, k.source_bucket, source, sizeof(source)) || !source[0])
			continue;
		int rc = s3i_state_route_get(s3i_deployment_state(st->d), r->bucket, run_id, NULL, &e);
		if (rc == S3I_ENOTFOUND)
			continue;
		s3i_run *run = rc ? NULL : get_run(st, run_id, &e);
		if (!run) {
			if (e.pub.code != S3I_ENOTFOUND)
				disp = DISP_KEEP;
			continue;
		}
		char reason[1600];
		snprintf(reason, sizeof(reason), "the S3 event of its inventory delivery '%s' in "
			"bucket '%s' kept failing and was moved to the dead-letter queue", r->key,
			r->bucket);
		int moved = 0;
		rc = s3i_state_bucket_set_status(s3i_run_state(run), run_id, account, source,
			S3I_BUCKET_FAILED, reason, s3i_deployment_now_ms(st->d), &moved, &e);
		if (rc && rc != S3I_ENOTFOUND) {
			disp = DISP_KEEP;
			continue;
		}
		if (moved) {
			st->stats.buckets_failed++;
			s3i_log(logger(st), S3I_LOG_WARN, "ingest: run %s: bucket '%s' of account %s "
				"failed: %s", run_id, source, account, reason);
		}
	}
	if (disp == DISP_KEEP)
		s3i_errinfo_copy(&st->err, &e);
	s3i_s3_event_dispose(&ev);
	return disp;
}

/* ------------------------------------------------------------------ steps */

static int delete_done(s3i_ingest *st, const char *url, const held_batch *b, const int *disp,
	int64_t *deleted)
{
	s3i_sqs_delete_entry entries[S3I_SQS_BATCH_MAX];
	size_t n = 0;
	for (size_t i = 0; i < b->n; i++)
		if (disp[i] == DISP_DELETE) {
			entries[n].message_id = b->m[i].id;
			entries[n].receipt_handle = b->m[i].receipt;
			n++;
		}
	if (!n)
		return S3I_OK;
	s3i_svc svc = host_svc(st);
	size_t failed = 0;
	int rc = s3i_sqs_delete_batch_op(&svc, url, entries, n, NULL, NULL, &failed, &st->err);
	*deleted += (int64_t)(n - failed);
	if (rc)
		s3i_log(logger(st), S3I_LOG_WARN, "ingest: %zu message(s) of %s not deleted (their "
			"work is recorded; a redelivery counts nothing twice): %s", failed ? failed : n,
			url, st->err.message);
	return S3I_OK;
}

static void requeue(s3i_ingest *st, const char *url, const held_msg *m)
{
	s3i_svc svc = host_svc(st);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	if (s3i_sqs_change_visibility_op(&svc, url, m->receipt, 0, &e))
		s3i_log(logger(st), S3I_LOG_INFO, "ingest: message %s left hidden until its "
			"visibility timeout: %s", m->id, e.message);
}

static int drain_dlq(s3i_ingest *st)
{
	if (st->o.dlq_mode == S3I_INGEST_DLQ_NONE || !st->dlq_url[0])
		return S3I_OK;
	held_batch b = { .a = st->alloc };
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = receive(st, st->dlq_url, S3I_SQS_BATCH_MAX, 0, DLQ_VISIBILITY_S, &b, &e);
	if (rc) {
		s3i_log(logger(st), S3I_LOG_WARN, "ingest: dead-letter queue not read: %s", e.message);
		held_free(&b);
		return S3I_OK;
	}
	int disp[S3I_SQS_BATCH_MAX] = { 0 };
	for (size_t i = 0; i < b.n; i++) {
		st->stats.dlq_messages++;
		disp[i] = dead_letter(st, &b.m[i]);
	}
	int64_t deleted = 0;
	delete_done(st, st->dlq_url, &b, disp, &deleted);
	held_free(&b);
	return S3I_OK;
}

int s3i_ingest_step(s3i_ingest *st, int64_t deadline_ms, int *finished)
{
	if (!st || !finished)
		return s3i_err(st ? &st->err : NULL, S3I_EINVALID, "ingest",
			"s3i_ingest_step: st and finished are required");
	*finished = 0;
	s3i_errinfo_clear(&st->err);
	int rc = resolve_queues(st);
	if (rc)
		return rc;
	int32_t wait = st->o.wait_seconds;
	if (deadline_ms) {
		int64_t left_s = (deadline_ms - s3i_deployment_now_ms(st->d)) / 1000 - RECEIVE_MARGIN_S;
		if (left_s < wait)
			wait = left_s > 0 ? (int32_t)left_s : 0;
	}
	held_batch b = { .a = st->alloc };
	if ((rc = receive(st, st->queue_url, st->o.max_messages, wait, st->o.visibility_timeout, &b,
		&st->err))) {
		held_free(&b);
		return rc;
	}
	st->stats.messages_received += (int64_t)b.n;
	int64_t received_ms = s3i_deployment_now_ms(st->d);
	int disp[S3I_SQS_BATCH_MAX] = { 0 };
	int stage_failed = 0;
	s3i_errinfo last;
	s3i_errinfo_init(&last);
	for (size_t i = 0; i < b.n; i++) {
		if (stage_failed) {
			disp[i] = DISP_KEEP;
			continue;
		}
		disp[i] = process_message(st, &b.m[i], deadline_ms, received_ms, &stage_failed);
		if (disp[i] != DISP_DELETE) {
			st->stats.messages_retried++;
			s3i_errinfo_copy(&last, &st->err);
		}
	}
	int any_delete = 0;
	for (size_t i = 0; i < b.n; i++)
		any_delete |= disp[i] == DISP_DELETE;
	if (any_delete)
		s3i_crashpoint("ingest.before_delete_message");
	delete_done(st, st->queue_url, &b, disp, &st->stats.messages_deleted);
	for (size_t i = 0; i < b.n; i++)
		if (disp[i] == DISP_REQUEUE || (stage_failed && disp[i] == DISP_KEEP))
			requeue(st, st->queue_url, &b.m[i]);
	*finished = b.n == 0;
	held_free(&b);
	if (stage_failed) {
		s3i_errinfo_copy(&st->err, &last);
		return st->err.pub.code < 0 ? st->err.pub.code : S3I_ERROR;
	}
	drain_dlq(st);
	/* the detail of a message left for later stays readable through s3i_ingest_error */
	s3i_errinfo_copy(&st->err, &last);
	return S3I_OK;
}

int s3i_ingest_run(s3i_ingest *st)
{
	int finished = 0, rc;
	while (!(rc = s3i_ingest_step(st, 0, &finished)) && !finished)
		;
	return rc;
}

int s3i_ingest_process_message(s3i_ingest *st, const char *message_id, const char *body,
	size_t body_len, int64_t deadline_ms, int flags, s3i_ingest_outcome *outcome)
{
	if (outcome)
		*outcome = S3I_INGEST_MESSAGE_RETRY;
	if (!st || !outcome || (!body && body_len))
		return s3i_err(st ? &st->err : NULL, S3I_EINVALID, "ingest",
			"s3i_ingest_process_message: st, outcome and body are required");
	s3i_errinfo_clear(&st->err);
	/* The same work as a received message; the handle's copies only live for this call. */
	held_msg m = { (char *)(message_id ? message_id : "(no id)"), (char *)"",
		(char *)(body ? body : ""), body_len, 0 };
	int stage_failed = 0, disp;
	if (flags & S3I_INGEST_MESSAGE_DEAD_LETTER) {
		st->stats.dlq_messages++;
		disp = dead_letter(st, &m);
	} else {
		st->stats.messages_received++;
		disp = process_message(st, &m, deadline_ms, s3i_deployment_now_ms(st->d),
			&stage_failed);
		if (stage_failed)
			disp = DISP_KEEP;
		if (disp == DISP_DELETE)
			st->stats.messages_deleted++;
		else
			st->stats.messages_retried++;
	}
	*outcome = disp == DISP_DELETE ? S3I_INGEST_MESSAGE_DONE :
		disp == DISP_REQUEUE ? S3I_INGEST_MESSAGE_UNFINISHED : S3I_INGEST_MESSAGE_RETRY;
	if (stage_failed)
		return st->err.pub.code < 0 ? st->err.pub.code : S3I_ERROR;
	return S3I_OK;
}
