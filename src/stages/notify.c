/*
 * The notify stage (DESIGN §4.7): see include/s3insights/stage_notify.h.
 *
 * Progress: one state item run#R / notify#<kind>#<nnn> per message SES accepted (kind
 * "report", or "failure" for a failed run's report; nnn the recipient batch), written right
 * after SendRawEmail answered: message_id, recipients, subject, sent_ms. A batch with an item
 * is never sent again. The report is built (report.h) only when some batch is still unsent.
 */
#include "s3insights/stage_notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/str.h"
#include "services/ses.h"
#include "stages/report.h"
#include "stages/run_internal.h"
#include "stages/stage_athena.h"
#include "stages/stage_common.h"

#define STAGE "notify"

typedef struct kept_bucket {
	char *account, *region, *bucket, *status, *reason;
	int64_t objects, bytes;
} kept_bucket;

struct s3i_notify {
	s3i_run *run;
	const s3i_allocator *alloc;
	s3i_notify_options opts;
	char *configuration_set;
	s3i_errinfo err;
	int prepared;
	int failed_run;              /* the run's phase is `failed`: a failure report */
	const char *kind;            /* "report" or "failure" */
	int64_t *sent_batches;       /* batch numbers recorded as sent */
	size_t nsent_batches;
	int built;
	s3i_buf subject, text, html;
	int64_t sent;                /* messages this handle sent */
};

/* ------------------------------------------------------------------ handle */

int s3i_notify_new(s3i_notify **out, s3i_run *run, const s3i_notify_options *opts)
{
	if (!out || !run)
		return s3i_err(NULL, S3I_EINVALID, NULL, "notify: out and run are required");
	*out = NULL;
	s3i_notify_options o = S3I_NOTIFY_OPTIONS_INIT;
	if (opts) {
		if (opts->struct_size < sizeof(uint32_t) || opts->struct_size > 4096)
			return s3i_err(NULL, S3I_EINVALID, "struct_size", "notify: options struct_size %u "
				"is not a size this library knows", (unsigned)opts->struct_size);
	}
	s3i_stage_options_copy(&o, sizeof(o), opts);
	if (o.rows_per_query < -1 || o.max_buckets_listed < 0 || o.recipients_per_message < 0
	    || o.recipients_per_message > S3I_SES_MAX_RECIPIENTS)
		return s3i_err(NULL, S3I_EINVALID, "options", "notify: rows_per_query must be >= -1, "
			"max_buckets_listed >= 0 and recipients_per_message 0-%d", S3I_SES_MAX_RECIPIENTS);
	if (!o.rows_per_query)
		o.rows_per_query = 10;
	if (!o.max_buckets_listed)
		o.max_buckets_listed = 5000;
	if (!o.recipients_per_message)
		o.recipients_per_message = S3I_SES_MAX_RECIPIENTS;
	const s3i_allocator *a = s3i_deployment_alloc(s3i_run_deployment(run));
	s3i_notify *st = s3i_calloc(a, 1, sizeof(*st));
	if (!st)
		return s3i_err(NULL, S3I_ENOMEM, s3i_run_id(run), "notify: out of memory");
	st->run = run;
	st->alloc = a;
	st->opts = o;
	s3i_errinfo_init(&st->err);
	s3i_buf_init(&st->subject, a);
	s3i_buf_init(&st->text, a);
	s3i_buf_init(&st->html, a);
	if (o.configuration_set && s3i_str_set(a, &st->configuration_set, o.configuration_set)) {
		s3i_notify_free(st);
		return s3i_err(NULL, S3I_ENOMEM, s3i_run_id(run), "notify: out of memory");
	}
	st->opts.configuration_set = st->configuration_set;
	*out = st;
	return S3I_OK;
}

void s3i_notify_free(s3i_notify *st)
{
	if (!st)
		return;
	s3i_buf_dispose(&st->subject);
	s3i_buf_dispose(&st->text);
	s3i_buf_dispose(&st->html);
	s3i_free(st->alloc, st->sent_batches);
	s3i_free(st->alloc, st->configuration_set);
	s3i_free(st->alloc, st);
}

const s3i_error *s3i_notify_error(const s3i_notify *st)
{
	return st ? &st->err.pub : s3i_error_last();
}

int64_t s3i_notify_sent(const s3i_notify *st)
{
	return st ? st->sent : 0;
}

static int oom(s3i_notify *st)
{
	return s3i_err(&st->err, S3I_ENOMEM, s3i_run_id(st->run), "notify stage of run %s: out of "
		"memory", s3i_run_id(st->run));
}

/* ------------------------------------------------------------------ progress */

static int on_sent_item(void *user, const char *sortkey, const s3i_ddb_item *it)
{
	(void)it;
	s3i_notify *st = user;
	const char *num = strrchr(sortkey, '#');
	if (!num || !num[1])
		return 0;
	char *end = NULL;
	long long b = strtoll(num + 1, &end, 10);
	if (!end || *end || b < 0)
		return 0;
	int64_t *p = s3i_realloc(st->alloc, st->sent_batches,
		(st->nsent_batches + 1) * sizeof(*p));
	if (!p)
		return 1;
	st->sent_batches = p;
	st->sent_batches[st->nsent_batches++] = b;
	return 0;
}

static int batch_sent(const s3i_notify *st, size_t batch)
{
	for (size_t i = 0; i < st->nsent_batches; i++)
		if (st->sent_batches[i] == (int64_t)batch)
			return 1;
	return 0;
}

static int prepare(s3i_notify *st)
{
	s3i_run *run = st->run;
	s3i_deployment *d = s3i_run_deployment(run);
	const char *rid = s3i_run_id(run);
	st->nsent_batches = 0;   /* a failed earlier prepare: read them again */
	s3i_state_run rec;
	int rc = s3i_state_run_get(s3i_run_state(run), rid, &rec, &st->err);
	if (rc) {
		s3i_err_prefix(&st->err, "notify stage of run %s: ", rid);
		return rc;
	}
	st->failed_run = rec.phase == S3I_PHASE_FAILED;
	s3i_state_run_dispose(&rec);
	st->kind = st->failed_run ? "failure" : "report";
	if (!st->failed_run) {
		rc = s3i_state_run_set_phase(s3i_run_state(run), rid, S3I_PHASE_NOTIFYING,
			s3i_deployment_now_ms(d), NULL, &st->err);
		if (rc) {
			s3i_err_prefix(&st->err, "notify stage of run %s: ", rid);
			return rc;
		}
	}
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "notify#%s#", st->kind);
	rc = s3i_stage_items_list(run, prefix, on_sent_item, st, &st->err);
	if (rc == S3I_EUSER)
		return oom(st);
	if (rc)
		s3i_err_prefix(&st->err, "notify stage of run %s: reading what was sent: ", rid);
	return rc;
}

/* ------------------------------------------------------------------ the report */

typedef struct snapshot {
	s3i_notify *st;
	kept_bucket *kb;
	s3i_report_bucket *buckets;
	size_t nbuckets, cap;
	s3i_state_query *sq;         /* one per input query */
	int *recorded;
	s3i_report_query *queries;
	s3i_stage_rows *rows;
	char **rows_errors;
	size_t nqueries;
	int oom;
	int64_t not_counted;         /* buckets of ORC/Parquet data without a count */
	char count_note[1200];       /* why, from the counting statement's record */
} snapshot;

static int keep_bucket(void *user, const s3i_state_bucket *b)
{
	snapshot *s = user;
	const s3i_allocator *a = s->st->alloc;
	if (s->nbuckets == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		kept_bucket *kb = s3i_realloc(a, s->kb, cap * sizeof(*kb));
		if (!kb)
			goto oom;
		s->kb = kb;
		s->cap = cap;
	}
	kept_bucket *k = &s->kb[s->nbuckets];
	memset(k, 0, sizeof(*k));
	s->nbuckets++;
	k->account = s3i_strdup(a, b->account);
	k->region = s3i_strdup(a, b->region);
	k->bucket = s3i_strdup(a, b->bucket);
	k->status = s3i_strdup(a, s3i_bucket_state_name(b->status));
	k->reason = s3i_strdup(a, b->reason);
	/* ORC/Parquet data Athena has not counted: unknown, not 0 */
	int not_counted = s3i_stage_bucket_not_counted(s->st->run, b);
	s->not_counted += not_counted;
	k->objects = not_counted ? -1 : b->objects;
	k->bytes = not_counted ? -1 : b->bytes;
	if (!k->account || !k->region || !k->bucket || !k->status || !k->reason)
		goto oom;
	return 0;
oom:
	s->oom = 1;
	return 1;
}

/* The counting statement's record (table stage): why the buckets are not counted. */
static int keep_count(void *user, const char *sortkey, const s3i_ddb_item *it)
{
	snapshot *s = user;
	if (strcmp(sortkey, "count#00000"))
		return 0;
	const char *state = s3i_ddb_item_get_s(it, "state");
	const char *reason = s3i_ddb_item_get_s(it, "reason");
	if (reason && *reason)
		snprintf(s->count_note, sizeof(s->count_note), "counting them with Athena failed (%s)",
			reason);
	else if (state && *state && strcmp(state, "SUCCEEDED"))
		snprintf(s->count_note, sizeof(s->count_note), "counting them with Athena ended %s",
			state);
	return 0;
}

static int keep_query(void *user, const s3i_state_query *q)
{
	snapshot *s = user;
	if (q->index < 0 || (size_t)q->index >= s->nqueries)
		return 0;
	s->sq[q->index] = *q;
	s->recorded[q->index] = 1;
	return 0;
}

static void snapshot_dispose(snapshot *s)
{
	const s3i_allocator *a = s->st->alloc;
	for (size_t i = 0; i < s->nbuckets; i++) {
		s3i_free(a, s->kb[i].account);
		s3i_free(a, s->kb[i].region);
		s3i_free(a, s->kb[i].bucket);
		s3i_free(a, s->kb[i].status);
		s3i_free(a, s->kb[i].reason);
	}
	s3i_free(a, s->kb);
	s3i_free(a, s->buckets);
	for (size_t i = 0; s->rows && i < s->nqueries; i++)
		s3i_stage_rows_dispose(&s->rows[i]);
	for (size_t i = 0; s->rows_errors && i < s->nqueries; i++)
		s3i_free(a, s->rows_errors[i]);
	s3i_free(a, s->rows);
	s3i_free(a, s->rows_errors);
	s3i_free(a, s->sq);
	s3i_free(a, s->recorded);
	s3i_free(a, s->queries);
}

static int build(s3i_notify *st)
{
	s3i_run *run = st->run;
	s3i_deployment *d = s3i_run_deployment(run);
	const s3i_run_input *in = s3i_run_get_input(run);
	const char *rid = s3i_run_id(run);
	const s3i_allocator *a = st->alloc;
	snapshot s;
	memset(&s, 0, sizeof(s));
	s.st = st;
	s.nqueries = s3i_run_input_get_query_count(in);
	size_t nq = s.nqueries ? s.nqueries : 1;
	s.sq = s3i_calloc(a, nq, sizeof(*s.sq));
	s.recorded = s3i_calloc(a, nq, sizeof(*s.recorded));
	s.queries = s3i_calloc(a, nq, sizeof(*s.queries));
	s.rows = s3i_calloc(a, nq, sizeof(*s.rows));
	s.rows_errors = s3i_calloc(a, nq, sizeof(*s.rows_errors));
	s3i_state_run rec;
	int have_rec = 0;
	s3i_buf data_loc, results_loc;
	s3i_buf_init(&data_loc, a);
	s3i_buf_init(&results_loc, a);
	int rc;
	if (!s.sq || !s.recorded || !s.queries || !s.rows || !s.rows_errors) {
		rc = oom(st);
		goto done;
	}
	if ((rc = s3i_state_run_get(s3i_run_state(run), rid, &rec, &st->err)))
		goto state_error;
	have_rec = 1;
	rc = s3i_state_buckets_list(s3i_run_state(run), rid, keep_bucket, &s, &st->err);
	if (s.oom) {
		rc = oom(st);
		goto done;
	}
	if (rc)
		goto state_error;
	if ((rc = s3i_state_queries_list(s3i_run_state(run), rid, keep_query, &s, &st->err)))
		goto state_error;
	if (s.not_counted) {
		if ((rc = s3i_stage_items_list(run, "count#", keep_count, &s, &st->err)))
			goto state_error;
		if (!s.count_note[0])
			snprintf(s.count_note, sizeof(s.count_note), "the create-table stage has not "
				"counted them with Athena");
	}
	s.buckets = s3i_calloc(a, s.nbuckets ? s.nbuckets : 1, sizeof(*s.buckets));
	if (!s.buckets) {
		rc = oom(st);
		goto done;
	}
	for (size_t i = 0; i < s.nbuckets; i++) {
		s3i_report_bucket *b = &s.buckets[i];
		b->account = s.kb[i].account;
		b->region = s.kb[i].region;
		b->bucket = s.kb[i].bucket;
		b->status = s.kb[i].status;
		b->reason = s.kb[i].reason;
		b->objects = s.kb[i].objects;
		b->bytes = s.kb[i].bytes;
	}
	s3i_svc svc;
	s3i_stage_host_svc(run, &svc);
	for (size_t i = 0; i < s.nqueries; i++) {
		s3i_report_query *q = &s.queries[i];
		const s3i_state_query *r = &s.sq[i];
		q->name = s3i_run_input_get_query_name(in, i);
		q->rows = -1;
		q->scanned_bytes = -1;
		if (!s.recorded[i])
			continue;
		q->state = r->state;
		q->reason = r->reason;
		q->execution_id = r->execution_id;
		q->output_location = r->output_location;
		q->rows = r->rows;
		q->scanned_bytes = r->scanned_bytes;
		if (strcmp(r->state, "SUCCEEDED") || !r->execution_id[0] || st->opts.rows_per_query < 0
		    || r->rows < 0)
			continue;
		s3i_errinfo rerr;
		s3i_errinfo_init(&rerr);
		int rrc = s3i_stage_first_rows(&svc, r->execution_id, st->opts.rows_per_query, a,
			&s.rows[i], &rerr);
		if (rrc == S3I_ENOMEM) {
			rc = oom(st);
			goto done;
		}
		if (rrc) {
			/* the report goes out all the same, saying why the rows are missing */
			if (!(s.rows_errors[i] = s3i_strdup(a, rerr.message))) {
				rc = oom(st);
				goto done;
			}
			q->rows_error = s.rows_errors[i];
			continue;
		}
		q->ncolumns = s.rows[i].ncolumns;
		q->columns = (const char *const *)s.rows[i].columns;
		q->nrows = s.rows[i].nrows;
		q->cells = (const char *const *)s.rows[i].cells;
	}
	if (s3i_stage_data_location(run, &data_loc) || s3i_stage_results_location(run, &results_loc)) {
		rc = oom(st);
		goto done;
	}
	s3i_report r = { 0 };
	r.deployment = s3i_deployment_name(d);
	r.run_id = rid;
	r.failed = st->failed_run;
	r.error_stage = rec.error_stage[0] ? rec.error_stage : "(not recorded)";
	r.error = rec.error[0] ? rec.error : "(no message recorded)";
	r.region = s3i_deployment_host_region(d);
	r.partition = s3i_deployment_partition(d);
	r.database = s3i_run_get_database(run);
	r.table = s3i_run_get_table(run);
	r.data_location = s3i_buf_cstr(&data_loc);
	r.results_location = s3i_buf_cstr(&results_loc);
	r.buckets = s.buckets;
	r.nbuckets = s.nbuckets;
	r.max_buckets_listed = (size_t)st->opts.max_buckets_listed;
	r.queries = s.queries;
	r.nqueries = s.nqueries;
	r.count_note = s.count_note;
	rc = s3i_report_build(&r, &st->subject, &st->text, &st->html, &st->err);
	if (!rc)
		st->built = 1;
	goto done;
state_error:
	s3i_err_prefix(&st->err, "notify stage of run %s: reading its state: ", rid);
done:
	if (have_rec)
		s3i_state_run_dispose(&rec);
	s3i_buf_dispose(&data_loc);
	s3i_buf_dispose(&results_loc);
	snapshot_dispose(&s);
	if (rc) {
		s3i_buf_clear(&st->subject);
		s3i_buf_clear(&st->text);
		s3i_buf_clear(&st->html);
	}
	return rc;
}

/* ------------------------------------------------------------------ sending */

typedef struct send_walk {
	s3i_notify *st;
	int64_t deadline_ms;
	int count_only;
	size_t unsent;               /* count_only: batches not yet sent */
	int rc;                      /* the failure that stopped the walk */
	int deadline_reached;
} send_walk;

static int record_sent(s3i_notify *st, size_t batch, const char *message_id, size_t n)
{
	char sk[64];
	snprintf(sk, sizeof(sk), "notify#%s#%03zu", st->kind, batch);
	s3i_ddb_item *it = NULL;
	int rc = s3i_ddb_item_new(&it, st->alloc);
	if (!rc)
		rc = s3i_ddb_item_set_s(it, "message_id", message_id);
	if (!rc)
		rc = s3i_ddb_item_set_n_i64(it, "recipients", (int64_t)n);
	if (!rc)
		rc = s3i_ddb_item_set_s(it, "subject", s3i_buf_cstr(&st->subject));
	if (!rc)
		rc = s3i_ddb_item_set_n_i64(it, "sent_ms",
			s3i_deployment_now_ms(s3i_run_deployment(st->run)));
	if (rc)
		rc = oom(st);
	else
		rc = s3i_stage_item_put(st->run, sk, it, &st->err);
	s3i_ddb_item_free(it);
	if (rc)
		s3i_err_prefix(&st->err, "notify stage of run %s: message %zu was sent but not "
			"recorded: ", s3i_run_id(st->run), batch + 1);
	return rc;
}

static int on_batch(void *payload, const char *const *recipients, size_t n, size_t batch)
{
	send_walk *w = payload;
	s3i_notify *st = w->st;
	if (batch_sent(st, batch))
		return 0;
	if (w->count_only) {
		w->unsent++;
		return 0;
	}
	s3i_deployment *d = s3i_run_deployment(st->run);
	if (w->deadline_ms && s3i_deployment_now_ms(d) >= w->deadline_ms) {
		w->deadline_reached = 1;
		return 1;
	}
	const s3i_run_input *in = s3i_run_get_input(st->run);
	s3i_mime_address *to = s3i_calloc(st->alloc, n ? n : 1, sizeof(*to));
	if (!to) {
		w->rc = oom(st);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		to[i].address = recipients[i];
	s3i_mime_message m = { 0 };
	m.from.name = "S3Insights";
	m.from.address = s3i_run_input_get_sender(in);
	m.to = to;
	m.nto = n;
	m.subject = s3i_buf_cstr(&st->subject);
	m.text = s3i_buf_cstr(&st->text);
	m.html = s3i_buf_cstr(&st->html);
	s3i_svc svc;
	s3i_stage_host_svc(st->run, &svc);
	char message_id[S3I_SES_MESSAGE_ID_SIZE];
	/* SendRawEmail without Destinations: the To header names the batch (moto adds the
	   headers' addresses to Destinations, which would send everything twice) */
	int rc = s3i_ses_send_message_op(&svc, &m, message_id, &st->err);
	s3i_free(st->alloc, to);
	if (rc) {
		s3i_err_prefix(&st->err, "notify stage of run %s: sending message %zu (%zu "
			"recipients): ", s3i_run_id(st->run), batch + 1, n);
		w->rc = rc;
		return 1;
	}
	st->sent++;
	s3i_crashpoint("notify.after_send");
	if ((rc = record_sent(st, batch, message_id, n))) {
		w->rc = rc;
		return 1;
	}
	int64_t *p = s3i_realloc(st->alloc, st->sent_batches, (st->nsent_batches + 1) * sizeof(*p));
	if (!p) {
		w->rc = oom(st);
		return 1;
	}
	st->sent_batches = p;
	st->sent_batches[st->nsent_batches++] = (int64_t)batch;
	return 0;
}

static int walk_batches(s3i_notify *st, send_walk *w)
{
	const s3i_run_input *in = s3i_run_get_input(st->run);
	size_t n = s3i_run_input_get_recipient_count(in);
	const char **list = s3i_calloc(st->alloc, n ? n : 1, sizeof(*list));
	if (!list)
		return oom(st);
	for (size_t i = 0; i < n; i++)
		list[i] = s3i_run_input_get_recipient(in, i);
	/* the splitter's own error apart: when a batch failed, st->err holds why */
	s3i_errinfo split_err;
	s3i_errinfo_init(&split_err);
	int rc = s3i_ses_recipient_batches(st->alloc, list, n,
		(size_t)st->opts.recipients_per_message, on_batch, w, &split_err);
	s3i_free(st->alloc, list);
	if (rc == S3I_EUSER && w->deadline_reached)
		return S3I_OK;
	if (rc == S3I_EUSER && w->rc)
		return w->rc;
	if (rc) {
		s3i_errinfo_copy(&st->err, &split_err);
		s3i_err_prefix(&st->err, "notify stage of run %s: recipients: ", s3i_run_id(st->run));
	}
	return rc;
}

static int fail(s3i_notify *st, int rc)
{
	/* SES refusing the sender or the message will not pass on a retry; a failed run keeps
	   the failure it had */
	if (s3i_status_is_retryable(rc) || st->failed_run || rc == S3I_ENOMEM)
		return rc;
	s3i_deployment *d = s3i_run_deployment(st->run);
	s3i_state_run_fail(s3i_run_state(st->run), s3i_run_id(st->run), STAGE, st->err.message,
		s3i_deployment_now_ms(d), NULL);
	return rc;
}

int s3i_notify_step(s3i_notify *st, int64_t deadline_ms, int *finished)
{
	if (finished)
		*finished = 0;
	if (!st || !finished)
		return s3i_err(st ? &st->err : NULL, S3I_EINVALID, NULL,
			"notify step: the handle and finished are required");
	s3i_errinfo_clear(&st->err);
	int rc;
	if (!st->prepared) {
		if ((rc = prepare(st)))
			return rc;
		st->prepared = 1;
	}
	send_walk w = { st, deadline_ms, 1, 0, 0, 0 };
	if ((rc = walk_batches(st, &w)))
		return fail(st, rc);
	if (!w.unsent) {
		*finished = 1;
		return S3I_OK;
	}
	if (!st->built && (rc = build(st)))
		return fail(st, rc);
	memset(&w, 0, sizeof(w));
	w.st = st;
	w.deadline_ms = deadline_ms;
	if ((rc = walk_batches(st, &w)))
		return fail(st, rc);
	if (w.deadline_reached)
		return S3I_OK;
	*finished = 1;
	return S3I_OK;
}

int s3i_notify_run(s3i_notify *st)
{
	int finished = 0;
	while (!finished) {
		int rc = s3i_notify_step(st, 0, &finished);
		if (rc)
			return rc;
	}
	return S3I_OK;
}
