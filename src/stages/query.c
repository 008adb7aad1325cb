/*
 * The query stage (DESIGN §4.6): see include/s3insights/stage_query.h.
 *
 * Per input query i the state item run#R / query#<iii> (state.h) is the whole progress: it is
 * written with the execution id and state QUEUED right after StartQueryExecution, before any
 * poll, and again when the execution ended, with the row count. A handle takes over what is
 * recorded: ended queries are skipped, started ones polled. Queries are started in input
 * order (moto's canned results are consumed in that order), at most max_concurrent at once.
 */
#include "s3insights/stage_query.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/str.h"
#include "services/athena.h"
#include "stages/run_internal.h"
#include "stages/stage_athena.h"
#include "stages/stage_common.h"

#define STAGE "query"

typedef struct qslot {
	char execution_id[S3I_ATHENA_ID_SIZE];
	int started;
	int ended;                   /* terminal and recorded */
	int64_t started_ms;          /* by this handle's clock; 0: taken over */
} qslot;

struct s3i_query {
	s3i_run *run;
	const s3i_allocator *alloc;
	s3i_query_options opts;
	char *workgroup;
	s3i_errinfo err;
	int prepared;
	qslot *q;
	size_t n;
	int64_t delay_ms;
	char *results_location;
};

/* ------------------------------------------------------------------ handle */

int s3i_query_new(s3i_query **out, s3i_run *run, const s3i_query_options *opts)
{
	if (!out || !run)
		return s3i_err(NULL, S3I_EINVALID, NULL, "query: out and run are required");
	*out = NULL;
	s3i_query_options o = S3I_QUERY_OPTIONS_INIT;
	if (opts) {
		if (opts->struct_size < sizeof(uint32_t) || opts->struct_size > 4096)
			return s3i_err(NULL, S3I_EINVALID, "struct_size", "query: options struct_size %u "
				"is not a size this library knows", (unsigned)opts->struct_size);
	}
	s3i_stage_options_copy(&o, sizeof(o), opts);
	if (o.poll_interval_ms < 0 || o.max_poll_interval_ms < 0 || o.query_timeout_ms < 0
	    || o.max_concurrent < 0)
		return s3i_err(NULL, S3I_EINVALID, "options", "query: negative interval, timeout or "
			"concurrency in the options");
	s3i_stage_poll_defaults(&o.poll_interval_ms, &o.max_poll_interval_ms);
	if (!o.query_timeout_ms)
		o.query_timeout_ms = 30 * 60 * 1000;
	if (!o.max_concurrent)
		o.max_concurrent = 4;
	const s3i_allocator *a = s3i_deployment_alloc(s3i_run_deployment(run));
	s3i_query *st = s3i_calloc(a, 1, sizeof(*st));
	if (!st)
		return s3i_err(NULL, S3I_ENOMEM, s3i_run_id(run), "query: out of memory");
	st->run = run;
	st->alloc = a;
	st->opts = o;
	s3i_errinfo_init(&st->err);
	if (s3i_str_set(a, &st->workgroup, o.workgroup ? o.workgroup : "primary")) {
		s3i_query_free(st);
		return s3i_err(NULL, S3I_ENOMEM, s3i_run_id(run), "query: out of memory");
	}
	st->opts.workgroup = st->workgroup;
	st->delay_ms = o.poll_interval_ms;
	*out = st;
	return S3I_OK;
}

void s3i_query_free(s3i_query *st)
{
	if (!st)
		return;
	s3i_free(st->alloc, st->q);
	s3i_free(st->alloc, st->workgroup);
	s3i_free(st->alloc, st->results_location);
	s3i_free(st->alloc, st);
}

const s3i_error *s3i_query_error(const s3i_query *st)
{
	return st ? &st->err.pub : s3i_error_last();
}

static int oom(s3i_query *st)
{
	return s3i_err(&st->err, S3I_ENOMEM, s3i_run_id(st->run), "query stage of run %s: out of "
		"memory", s3i_run_id(st->run));
}

static int is_terminal(const char *state)
{
	return !strcmp(state, "SUCCEEDED") || !strcmp(state, "FAILED")
		|| !strcmp(state, "CANCELLED");
}

/* ------------------------------------------------------------------ progress */

static int on_recorded(void *user, const s3i_state_query *q)
{
	s3i_query *st = user;
	if (q->index < 0 || (size_t)q->index >= st->n)
		return 0;
	qslot *s = &st->q[q->index];
	if (is_terminal(q->state)) {
		s->started = s->ended = 1;
	} else if (q->execution_id[0] && strlen(q->execution_id) < sizeof(s->execution_id)) {
		snprintf(s->execution_id, sizeof(s->execution_id), "%s", q->execution_id);
		s->started = 1;
	}
	return 0;
}

static int prepare(s3i_query *st)
{
	const s3i_run_input *in = s3i_run_get_input(st->run);
	/* a failed earlier prepare: start afresh */
	s3i_free(st->alloc, st->q);
	s3i_free(st->alloc, st->results_location);
	st->q = NULL;
	st->results_location = NULL;
	st->n = s3i_run_input_get_query_count(in);
	st->q = s3i_calloc(st->alloc, st->n ? st->n : 1, sizeof(*st->q));
	if (!st->q)
		return oom(st);
	s3i_buf loc;
	s3i_buf_init(&loc, st->alloc);
	if (s3i_stage_results_location(st->run, &loc) || !(st->results_location = s3i_buf_detach(&loc))) {
		s3i_buf_dispose(&loc);
		return oom(st);
	}
	int rc = s3i_state_queries_list(s3i_run_state(st->run), s3i_run_id(st->run), on_recorded,
		st, &st->err);
	if (rc)
		s3i_err_prefix(&st->err, "query stage of run %s: reading its progress: ",
			s3i_run_id(st->run));
	return rc;
}

static int record(s3i_query *st, size_t i, const char *id, const char *state,
	const char *reason, int64_t rows, int64_t scanned, const char *output)
{
	const s3i_run_input *in = s3i_run_get_input(st->run);
	s3i_state_query q;
	memset(&q, 0, sizeof(q));
	q.index = (int)i;
	snprintf(q.name, sizeof(q.name), "%s", s3i_run_input_get_query_name(in, i));
	snprintf(q.execution_id, sizeof(q.execution_id), "%s", id ? id : "");
	snprintf(q.state, sizeof(q.state), "%s", state);
	s3i_str_one_line(q.reason, sizeof(q.reason), reason);   /* cut on a character boundary */
	q.rows = rows;
	q.scanned_bytes = scanned;
	snprintf(q.output_location, sizeof(q.output_location), "%s", output ? output : "");
	int rc = s3i_state_query_put(s3i_run_state(st->run), s3i_run_id(st->run), &q, &st->err);
	if (rc)
		s3i_err_prefix(&st->err, "query stage of run %s: recording query '%s': ",
			s3i_run_id(st->run), q.name);
	return rc;
}

static int fail(s3i_query *st, int rc)
{
	if (s3i_status_is_retryable(rc))
		return rc;   /* the next step may get through */
	s3i_deployment *d = s3i_run_deployment(st->run);
	s3i_state_run_fail(s3i_run_state(st->run), s3i_run_id(st->run), STAGE, st->err.message,
		s3i_deployment_now_ms(d), NULL);
	return rc;
}

/* ------------------------------------------------------------------ one query */

static int start(s3i_query *st, size_t i, const s3i_svc *svc)
{
	const s3i_run_input *in = s3i_run_get_input(st->run);
	const char *name = s3i_run_input_get_query_name(in, i);
	qslot *s = &st->q[i];
	s3i_buf sql;
	s3i_buf_init(&sql, st->alloc);
	/* the run's names: a smoke test's are its random ones, not the input's */
	if (s3i_query_substitute(&sql, s3i_run_input_get_query_text(in, i),
	        s3i_run_get_database(st->run), s3i_run_get_table(st->run))) {
		s3i_buf_dispose(&sql);
		return oom(st);
	}
	char token[160];
	if (s3i_stage_request_token(st->run, STAGE, (int)i, 0, s3i_buf_cstr(&sql), token,
		sizeof(token)))
		token[0] = 0;
	s3i_athena_query q = { 0 };
	q.query = s3i_buf_cstr(&sql);
	q.database = s3i_run_get_database(st->run);
	q.output_location = st->results_location;
	q.workgroup = st->workgroup;
	q.client_request_token = token[0] ? token : NULL;
	int rc = s3i_athena_start_query_op(svc, &q, s->execution_id, &st->err);
	s3i_buf_dispose(&sql);
	if (rc && s3i_status_is_retryable(rc)) {
		s->execution_id[0] = 0;
		s3i_err_prefix(&st->err, "query stage of run %s: starting query '%s': ",
			s3i_run_id(st->run), name);
		return rc;
	}
	if (rc) {
		/* Athena refused this query (syntax, permissions...): the query failed, not the run */
		s->execution_id[0] = 0;
		char reason[1024];
		snprintf(reason, sizeof(reason), "%s", st->err.message);
		s->started = s->ended = 1;
		return record(st, i, "", "FAILED", reason, 0, 0, "");
	}
	s->started = 1;
	s->started_ms = s3i_deployment_now_ms(s3i_run_deployment(st->run));
	st->delay_ms = st->opts.poll_interval_ms;
	/* recorded before the first poll: a resumed stage polls this execution */
	return record(st, i, s->execution_id, "QUEUED", "", 0, 0, "");
}

/* Poll once; record the end. */
static int poll(s3i_query *st, size_t i, const s3i_svc *svc)
{
	qslot *s = &st->q[i];
	s3i_deployment *d = s3i_run_deployment(st->run);
	const char *name = s3i_run_input_get_query_name(s3i_run_get_input(st->run), i);
	s3i_athena_execution ex;
	int rc = s3i_athena_get_execution_op(svc, s->execution_id, &ex, &st->err);
	if (rc == S3I_EINVALID || rc == S3I_ENOTFOUND) {
		/* Athena no longer knows the execution: the query is recorded as failed */
		s->ended = 1;
		return record(st, i, s->execution_id, "FAILED", st->err.message, 0, 0, "");
	}
	if (rc) {
		s3i_err_prefix(&st->err, "query stage of run %s: query '%s': ", s3i_run_id(st->run),
			name);
		return rc;
	}
	int64_t scanned = ex.data_scanned_bytes < 0 ? 0 : ex.data_scanned_bytes;
	if (ex.state == S3I_ATHENA_SUCCEEDED) {
		int64_t rows = 0;
		char reason[1024] = "";
		rc = s3i_stage_read_rows(svc, s->execution_id, 0, NULL, NULL, &rows, &st->err);
		if (rc && s3i_status_is_retryable(rc)) {
			s3i_err_prefix(&st->err, "query stage of run %s: query '%s': ",
				s3i_run_id(st->run), name);
			return rc;
		}
		if (rc) {
			char msg[960];
			s3i_str_one_line(msg, sizeof(msg), st->err.message);
			snprintf(reason, sizeof(reason), "its results could not be read: %s", msg);
			rows = -1;
		}
		s->ended = 1;
		return record(st, i, s->execution_id, "SUCCEEDED", reason, rows, scanned,
			ex.output_location);
	}
	if (ex.state == S3I_ATHENA_FAILED || ex.state == S3I_ATHENA_CANCELLED) {
		s->ended = 1;
		return record(st, i, s->execution_id, s3i_athena_state_name(ex.state),
			ex.reason[0] ? ex.reason : "no reason given", 0, scanned, ex.output_location);
	}
	int64_t now = s3i_deployment_now_ms(d);
	int64_t since = ex.submitted_ms > 0 && ex.submitted_ms <= now ? ex.submitted_ms
	                                                              : s->started_ms;
	if (!since) {
		s->started_ms = now;   /* taken over without a submission time: count from now */
		return S3I_OK;
	}
	if (now - since > st->opts.query_timeout_ms) {
		s3i_athena_stop_query_op(svc, s->execution_id, NULL);
		char reason[160];
		snprintf(reason, sizeof(reason), "timed out after %" PRId64 " s in state %s; it was "
			"stopped", (now - since) / 1000, s3i_athena_state_name(ex.state));
		s->ended = 1;
		return record(st, i, s->execution_id, "CANCELLED", reason, 0, scanned,
			ex.output_location);
	}
	return S3I_OK;
}

int s3i_query_step(s3i_query *st, int64_t deadline_ms, int *finished)
{
	if (finished)
		*finished = 0;
	if (!st || !finished)
		return s3i_err(st ? &st->err : NULL, S3I_EINVALID, NULL,
			"query step: the handle and finished are required");
	s3i_errinfo_clear(&st->err);
	s3i_run *run = st->run;
	s3i_deployment *d = s3i_run_deployment(run);
	int rc;
	if (!st->prepared) {
		rc = s3i_state_run_set_phase(s3i_run_state(run), s3i_run_id(run), S3I_PHASE_QUERYING,
			s3i_deployment_now_ms(d), NULL, &st->err);
		if (rc) {
			s3i_err_prefix(&st->err, "query stage of run %s: ", s3i_run_id(run));
			return rc;
		}
		if ((rc = prepare(st)))
			return fail(st, rc);
		st->prepared = 1;
	}
	s3i_svc svc;
	s3i_stage_host_svc(run, &svc);
	for (;;) {
		size_t running = 0, open = 0;
		for (size_t i = 0; i < st->n; i++)
			if (st->q[i].started && !st->q[i].ended)
				running++;
		for (size_t i = 0; i < st->n && running < (size_t)st->opts.max_concurrent; i++) {
			if (st->q[i].started)
				continue;
			if (deadline_ms && s3i_deployment_now_ms(d) >= deadline_ms)
				return S3I_OK;
			if ((rc = start(st, i, &svc)))
				return fail(st, rc);
			if (!st->q[i].ended)
				running++;
		}
		for (size_t i = 0; i < st->n; i++) {
			if (!st->q[i].started || st->q[i].ended)
				continue;
			if ((rc = poll(st, i, &svc)))
				return fail(st, rc);
		}
		for (size_t i = 0; i < st->n; i++)
			if (!st->q[i].ended)
				open++;
		if (!open) {
			*finished = 1;
			return S3I_OK;
		}
		if (deadline_ms && s3i_deployment_now_ms(d) >= deadline_ms)
			return S3I_OK;
		/* sleep only when every running query was polled and none could be started */
		int startable = 0;
		running = 0;
		for (size_t i = 0; i < st->n; i++) {
			if (!st->q[i].started)
				startable = 1;
			else if (!st->q[i].ended)
				running++;
		}
		if (startable && running < (size_t)st->opts.max_concurrent)
			continue;
		s3i_stage_sleep(run, st->delay_ms, deadline_ms);
		st->delay_ms *= 2;
		if (st->delay_ms > st->opts.max_poll_interval_ms)
			st->delay_ms = st->opts.max_poll_interval_ms;
	}
}

int s3i_query_run(s3i_query *st)
{
	int finished = 0;
	while (!finished) {
		int rc = s3i_query_step(st, 0, &finished);
		if (rc)
			return rc;
	}
	return S3I_OK;
}

/* ------------------------------------------------------------------ reading back */

typedef struct list_walk {
	s3i_query_info_fn fn;
	void *user;
	int stopped;
} list_walk;

static void to_info(const s3i_state_query *q, s3i_query_info *out)
{
	memset(out, 0, sizeof(*out));
	out->struct_size = sizeof(*out);
	out->index = (size_t)q->index;
	out->name = q->name;
	out->execution_id = q->execution_id;
	out->state = q->state;
	out->reason = q->reason;
	out->rows = q->rows;
	out->scanned_bytes = q->scanned_bytes;
	out->output_location = q->output_location;
}

static int list_cb(void *user, const s3i_state_query *q)
{
	list_walk *w = user;
	s3i_query_info info;
	to_info(q, &info);
	int rc = w->fn(w->user, &info);
	if (rc)
		w->stopped = 1;
	return rc;
}

int s3i_query_list(s3i_run *run, s3i_query_info_fn fn, void *user)
{
	if (!run || !fn)
		return s3i_err(NULL, S3I_EINVALID, NULL, "query list: run and fn are required");
	list_walk w = { fn, user, 0 };
	int rc = s3i_state_queries_list(s3i_run_state(run), s3i_run_id(run), list_cb, &w, NULL);
	if (rc && w.stopped)
		return s3i_err(NULL, S3I_EUSER, s3i_run_id(run), "query list of run %s: the callback "
			"stopped the walk", s3i_run_id(run));
	return rc;
}

typedef struct find_walk {
	const char *name;
	long index;                  /* -1: not a number */
	s3i_state_query by_name;
	s3i_state_query by_index;
	int found_name, found_index;
} find_walk;

static int find_cb(void *user, const s3i_state_query *q)
{
	find_walk *w = user;
	if (!w->found_name && !strcmp(q->name, w->name)) {
		w->by_name = *q;
		w->found_name = 1;
	}
	if (!w->found_index && w->index >= 0 && q->index == w->index) {
		w->by_index = *q;
		w->found_index = 1;
	}
	return 0;
}

typedef struct results_walk {
	s3i_query_row_fn fn;
	void *user;
	int stopped;
} results_walk;

static int results_cb(void *user, int64_t index, size_t n, const char *const *values,
	const char *const *columns)
{
	results_walk *w = user;
	s3i_query_row row = { sizeof(row), index, n, values, columns };
	int rc = w->fn(w->user, &row);
	if (rc)
		w->stopped = 1;
	return rc;
}

int s3i_query_results(s3i_run *run, const char *query, int64_t max_rows, s3i_query_row_fn fn,
	void *user)
{
	if (!run || !query || !fn || max_rows < 0)
		return s3i_err(NULL, S3I_EINVALID, NULL, "query results: run, query and fn are "
			"required, max_rows >= 0");
	const char *rid = s3i_run_id(run);
	find_walk *w = s3i_calloc(s3i_deployment_alloc(s3i_run_deployment(run)), 1, sizeof(*w));
	if (!w)
		return s3i_err(NULL, S3I_ENOMEM, rid, "query results of run %s: out of memory", rid);
	w->name = query;
	w->index = -1;
	char *end = NULL;
	long idx = strtol(query, &end, 10);
	if (*query >= '0' && *query <= '9' && end && !*end && idx >= 0)
		w->index = idx;
	int rc = s3i_state_queries_list(s3i_run_state(run), rid, find_cb, w, NULL);
	const s3i_state_query *q = w->found_name ? &w->by_name : w->found_index ? &w->by_index : NULL;
	if (!rc && (!q || !q->execution_id[0]))
		rc = s3i_err(NULL, S3I_ENOTFOUND, query, "query results of run %s: query '%s' %s", rid,
			query, q ? "was never started" : "is not recorded (no query of that name or index "
			"was run)");
	else if (!rc && strcmp(q->state, "SUCCEEDED"))
		rc = s3i_err(NULL, S3I_EINVALID, query, "query results of run %s: query '%s' "
			"(execution '%s') did not succeed: %s%s%s", rid, q->name, q->execution_id,
			q->state[0] ? q->state : "not ended", q->reason[0] ? ": " : "", q->reason);
	if (!rc) {
		s3i_svc svc;
		s3i_stage_host_svc(run, &svc);
		results_walk rw = { fn, user, 0 };
		rc = s3i_stage_read_rows(&svc, q->execution_id, max_rows, results_cb, &rw, NULL, NULL);
		if (rc == S3I_EUSER && rw.stopped)
			s3i_err(NULL, S3I_EUSER, q->name, "query results of run %s: the callback stopped "
				"reading query '%s'", rid, q->name);
		else if (rc)
			s3i_err_prefix(s3i_errinfo_thread(), "query results of run %s, query '%s': ", rid,
				q->name);
	}
	s3i_free(s3i_deployment_alloc(s3i_run_deployment(run)), w);
	return rc;
}
