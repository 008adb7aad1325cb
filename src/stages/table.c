/*
 * The create-table stage (DESIGN §4.5): see include/s3insights/stage_table.h.
 *
 * The statements are built once per handle, at its first step, from the run's input and its
 * recorded buckets; each one's progress is the state item run#R / table#<nnnnn>: index, what,
 * statement, execution_id, state, attempt, started_ms. An item whose statement equals the one
 * built is taken over: SUCCEEDED is skipped, an execution still running is polled (not
 * started again), a FAILED or CANCELLED one is started again with the next attempt number
 * (its ClientRequestToken then differs, so Athena really runs it again).
 *
 * A run of ORC/Parquet data (s3i_stage_counted_by_athena) then counts its buckets with one
 * more statement, run#R / count#00000 (same attributes): SELECT account, region, bucketname,
 * count(*), sum(size) ... GROUP BY 1,2,3, its rows read (paged) and each bucket that was not
 * counted yet given its numbers with s3i_state_bucket_set_counts (set once). The buckets to
 * count are read at the first step: a resumed stage whose buckets are all counted issues no
 * statement, one that stopped after the statement succeeded reads its results again. That
 * statement failing fails nothing: it is recorded, logged, and the buckets stay not counted.
 */
#include "s3insights/stage_table.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "services/athena.h"
#include "services/ddb_value.h"
#include "stages/run_internal.h"
#include "stages/stage_athena.h"
#include "stages/stage_common.h"
#include "stages/table_ddl.h"

#define STAGE "table"

typedef s3i_stage_statement stmt;

struct s3i_table {
	s3i_run *run;
	const s3i_allocator *alloc;
	s3i_table_options opts;
	char *workgroup;
	s3i_errinfo err;
	int prepared;
	stmt *stmts;
	size_t n;
	size_t next;                 /* the first statement not known to have succeeded */
	int64_t delay_ms;            /* the next pause between two polls */
	char *results_location;
	/* counting ORC/Parquet buckets with Athena (count_done: nothing (more) to count) */
	int count_done;
	stmt count;
	char (*uncounted)[2][64];    /* account, bucket of each bucket without a count */
	size_t nuncounted;
};

/* ------------------------------------------------------------------ handle */

int s3i_table_new(s3i_table **out, s3i_run *run, const s3i_table_options *opts)
{
	if (!out || !run)
		return s3i_err(NULL, S3I_EINVALID, NULL, "create table: out and run are required");
	*out = NULL;
	s3i_table_options o = S3I_TABLE_OPTIONS_INIT;
	if (opts) {
		if (opts->struct_size < sizeof(uint32_t) || opts->struct_size > 4096)
			return s3i_err(NULL, S3I_EINVALID, "struct_size", "create table: options "
				"struct_size %u is not a size this library knows", (unsigned)opts->struct_size);
	}
	s3i_stage_options_copy(&o, sizeof(o), opts);
	if (o.poll_interval_ms < 0 || o.max_poll_interval_ms < 0 || o.statement_timeout_ms < 0)
		return s3i_err(NULL, S3I_EINVALID, "options", "create table: negative interval or "
			"timeout in the options");
	s3i_stage_poll_defaults(&o.poll_interval_ms, &o.max_poll_interval_ms);
	if (!o.statement_timeout_ms)
		o.statement_timeout_ms = 10 * 60 * 1000;
	const s3i_allocator *a = s3i_deployment_alloc(s3i_run_deployment(run));
	s3i_table *st = s3i_calloc(a, 1, sizeof(*st));
	if (!st)
		return s3i_err(NULL, S3I_ENOMEM, s3i_run_id(run), "create table: out of memory");
	st->run = run;
	st->alloc = a;
	st->opts = o;
	s3i_errinfo_init(&st->err);
	if (s3i_str_set(a, &st->workgroup, o.workgroup ? o.workgroup : "primary")) {
		s3i_table_free(st);
		return s3i_err(NULL, S3I_ENOMEM, s3i_run_id(run), "create table: out of memory");
	}
	st->opts.workgroup = st->workgroup;
	st->delay_ms = o.poll_interval_ms;
	*out = st;
	return S3I_OK;
}

void s3i_table_free(s3i_table *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		s3i_free(st->alloc, st->stmts[i].sql);
	s3i_free(st->alloc, st->stmts);
	s3i_free(st->alloc, st->count.sql);
	s3i_free(st->alloc, st->uncounted);
	s3i_free(st->alloc, st->workgroup);
	s3i_free(st->alloc, st->results_location);
	s3i_free(st->alloc, st);
}

const s3i_error *s3i_table_error(const s3i_table *st)
{
	return st ? &st->err.pub : s3i_error_last();
}

/* ------------------------------------------------------------------ statements */

static int oom(s3i_table *st)
{
	return s3i_err(&st->err, S3I_ENOMEM, s3i_run_id(st->run), "create table of run %s: out of "
		"memory", s3i_run_id(st->run));
}

/* Append a statement; takes the buffer's text. */
static int add_stmt(s3i_table *st, s3i_buf *sql, const char *what)
{
	stmt *s = s3i_realloc(st->alloc, st->stmts, (st->n + 1) * sizeof(*s));
	if (!s)
		return oom(st);
	st->stmts = s;
	s = &st->stmts[st->n];
	memset(s, 0, sizeof(*s));
	s->sql = s3i_buf_detach(sql);
	if (!s->sql)
		return oom(st);
	snprintf(s->what, sizeof(s->what), "%s", what);
	st->n++;
	return S3I_OK;
}

typedef struct part_list {
	const s3i_allocator *a;
	s3i_ddl_partition *parts;
	char (*names)[3][64];
	size_t n, cap;
	int oom;
	s3i_table *st;               /* collects the buckets not counted yet */
	size_t ucap;
} part_list;

/* Keep a bucket whose data the counting statement is to count. */
static int keep_uncounted(part_list *l, const s3i_state_bucket *b)
{
	s3i_table *st = l->st;
	if (st->nuncounted == l->ucap) {
		size_t cap = l->ucap ? l->ucap * 2 : 64;
		char (*u)[2][64] = s3i_realloc(l->a, st->uncounted, cap * sizeof(*u));
		if (!u)
			return l->oom = 1;
		st->uncounted = u;
		l->ucap = cap;
	}
	snprintf(st->uncounted[st->nuncounted][0], 64, "%s", b->account);
	snprintf(st->uncounted[st->nuncounted][1], 64, "%s", b->bucket);
	st->nuncounted++;
	return 0;
}

/* A bucket whose data is (partly) in the consolidated layout gets its partition, whatever
 * its status: partitioned_files > 0 means files of it were copied (docs/stages.md). */
static int on_bucket(void *user, const s3i_state_bucket *b)
{
	part_list *l = user;
	if (b->partitioned_files <= 0 && b->objects <= 0)
		return 0;
	if (s3i_stage_bucket_not_counted(l->st->run, b) && keep_uncounted(l, b))
		return 1;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		s3i_ddl_partition *p = s3i_realloc(l->a, l->parts, cap * sizeof(*p));
		if (!p) {
			l->oom = 1;
			return 1;
		}
		l->parts = p;
		char (*nm)[3][64] = s3i_realloc(l->a, l->names, cap * sizeof(*nm));
		if (!nm) {
			l->oom = 1;
			return 1;
		}
		l->names = nm;
		l->cap = cap;
	}
	snprintf(l->names[l->n][0], 64, "%s", b->account);
	snprintf(l->names[l->n][1], 64, "%s", b->region);
	snprintf(l->names[l->n][2], 64, "%s", b->bucket);
	l->n++;
	return 0;
}

typedef struct load_walk {
	s3i_table *st;
} load_walk;

/* Take over a recorded statement when it is the same statement. */
static int on_item(void *user, const char *sortkey, const s3i_ddb_item *it)
{
	(void)sortkey;
	s3i_table *st = user;
	stmt *s = s3i_stage_statement_of(st->stmts, st->n, it);
	if (s && !s3i_stage_statement_take_over(s, it)) {
		/* another statement (the buckets changed): run this one afresh, after the recorded
		 * attempt */
		int64_t attempt = 0;
		s3i_ddb_item_get_i64(it, "attempt", &attempt);
		s->attempt = (int)attempt;
	}
	return 0;
}

/* Take over the recorded counting statement; one that succeeded keeps its execution id,
 * whose results are read (again) for the buckets still without a count. */
static int on_count_item(void *user, const char *sortkey, const s3i_ddb_item *it)
{
	s3i_table *st = user;
	if (strcmp(sortkey, "count#00000"))
		return 0;
	stmt *s = &st->count;
	if (!s3i_stage_statement_take_over(s, it)) {
		int64_t attempt = 0;
		s3i_ddb_item_get_i64(it, "attempt", &attempt);
		s->attempt = (int)attempt + 1;
	} else if (s->succeeded) {
		snprintf(s->execution_id, sizeof(s->execution_id), "%s",
			s3i_ddb_item_get_s(it, "execution_id"));
	}
	return 0;
}

/* Forget what a failed prepare left behind, so the next step starts it afresh. */
static void unprepare(s3i_table *st)
{
	for (size_t i = 0; i < st->n; i++)
		s3i_free(st->alloc, st->stmts[i].sql);
	s3i_free(st->alloc, st->stmts);
	st->stmts = NULL;
	st->n = 0;
	st->next = 0;
	s3i_free(st->alloc, st->results_location);
	st->results_location = NULL;
	s3i_free(st->alloc, st->count.sql);
	memset(&st->count, 0, sizeof(st->count));
	st->nuncounted = 0;
	st->count_done = 0;
}

static int prepare(s3i_table *st)
{
	s3i_run *run = st->run;
	unprepare(st);
	const s3i_run_input *in = s3i_run_get_input(run);
	const char *rid = s3i_run_id(run);
	s3i_buf loc, sql;
	s3i_buf_init(&loc, st->alloc);
	s3i_buf_init(&sql, st->alloc);
	part_list parts = { st->alloc, NULL, NULL, 0, 0, 0, st, 0 };
	int rc = s3i_stage_data_location(run, &loc);
	if (!rc)
		rc = s3i_stage_results_location(run, &sql);
	if (!rc && !(st->results_location = s3i_buf_detach(&sql)))
		rc = S3I_ENOMEM;
	if (rc) {
		rc = oom(st);
		goto done;
	}
	s3i_ddl_table t = { 0 };
	t.database = s3i_run_get_database(run);   /* a smoke test's random names */
	t.table = s3i_run_get_table(run);
	t.location = s3i_buf_cstr(&loc);
	switch (s3i_run_input_get_inventory_format(in)) {
	case S3I_INVENTORY_FORMAT_ORC: t.format = S3I_FORMAT_ORC; break;
	case S3I_INVENTORY_FORMAT_PARQUET: t.format = S3I_FORMAT_PARQUET; break;
	default: t.format = S3I_FORMAT_CSV; break;
	}
	/* the list snapshot always writes CSV */
	if (s3i_run_input_get_snapshot(in) == S3I_SNAPSHOT_LIST)
		t.format = S3I_FORMAT_CSV;
	t.all_versions = s3i_run_input_get_object_versions(in) == S3I_OBJECT_VERSIONS_ALL;
	char what[96];

	if ((rc = s3i_ddl_create_database(&sql, t.database)))
		goto ddl;
	snprintf(what, sizeof(what), "CREATE DATABASE %s", t.database);
	if ((rc = add_stmt(st, &sql, what)))
		goto done;
	if ((rc = s3i_ddl_create_table(&sql, &t)))
		goto ddl;
	snprintf(what, sizeof(what), "CREATE TABLE %s.%s%s", t.database, t.table,
		t.format == S3I_FORMAT_CSV ? "_raw" : "");
	if ((rc = add_stmt(st, &sql, what)))
		goto done;
	if (t.format == S3I_FORMAT_CSV) {
		if ((rc = s3i_ddl_create_view(&sql, &t)))
			goto ddl;
		snprintf(what, sizeof(what), "CREATE VIEW %s.%s", t.database, t.table);
		if ((rc = add_stmt(st, &sql, what)))
			goto done;
	}

	rc = s3i_state_buckets_list(s3i_run_state(run), rid, on_bucket, &parts, &st->err);
	if (parts.oom) {
		rc = oom(st);
		goto done;
	}
	if (rc) {
		s3i_err_prefix(&st->err, "create table of run %s: reading its buckets: ", rid);
		goto done;
	}
	for (size_t i = 0; i < parts.n; i++) {
		parts.parts[i].account = parts.names[i][0];
		parts.parts[i].region = parts.names[i][1];
		parts.parts[i].bucket = parts.names[i][2];
	}
	size_t batches = (parts.n + S3I_DDL_PARTITIONS_PER_STATEMENT - 1)
		/ S3I_DDL_PARTITIONS_PER_STATEMENT;
	for (size_t b = 0; b < batches; b++) {
		size_t first = b * S3I_DDL_PARTITIONS_PER_STATEMENT;
		size_t n = parts.n - first;
		if (n > S3I_DDL_PARTITIONS_PER_STATEMENT)
			n = S3I_DDL_PARTITIONS_PER_STATEMENT;
		if ((rc = s3i_ddl_add_partitions(&sql, &t, parts.parts + first, n)))
			goto ddl;
		snprintf(what, sizeof(what), "ADD PARTITION batch %zu of %zu (%zu partitions)", b + 1,
			batches, n);
		if ((rc = add_stmt(st, &sql, what)))
			goto done;
	}

	rc = s3i_stage_items_list(run, "table#", on_item, st, &st->err);
	if (rc) {
		s3i_err_prefix(&st->err, "create table of run %s: reading its progress: ", rid);
		goto done;
	}

	/* ORC/Parquet: the buckets' rows are counted here, once the partitions exist */
	st->count_done = !st->nuncounted;
	if (!st->count_done) {
		rc = s3i_buf_printf(&sql, "SELECT account, region, bucketname, count(*), sum(size) "
			"FROM \"%s\".\"%s\" GROUP BY 1, 2, 3", t.database, t.table);
		if (rc || !(st->count.sql = s3i_buf_detach(&sql))) {
			rc = oom(st);
			goto done;
		}
		snprintf(st->count.what, sizeof(st->count.what), "count of %s.%s", t.database, t.table);
		rc = s3i_stage_items_list(run, "count#", on_count_item, st, &st->err);
		if (rc)
			s3i_err_prefix(&st->err, "create table of run %s: reading its count: ", rid);
	}
	goto done;
ddl:
	rc = s3i_err(&st->err, rc, t.table, "create table of run %s: cannot write the statements "
		"for table %s.%s", rid, t.database, t.table);
done:
	s3i_buf_dispose(&loc);
	s3i_buf_dispose(&sql);
	s3i_free(st->alloc, parts.parts);
	s3i_free(st->alloc, parts.names);
	return rc;
}

/* ------------------------------------------------------------------ steps */

static int record(s3i_table *st, size_t i, const char *reason)
{
	stmt *s = &st->stmts[i];
	char sk[32];
	snprintf(sk, sizeof(sk), "table#%05zu", i);
	s3i_ddb_item *it = s3i_stage_statement_item(st->alloc, i, s, reason);
	int rc = it ? s3i_stage_item_put(st->run, sk, it, &st->err) : oom(st);
	s3i_ddb_item_free(it);
	return rc;
}

/* The stage cannot go on: record it on the run (unless it may pass on a retry). */
static int fail(s3i_table *st, int rc, int final)
{
	if (!final)
		return rc;
	s3i_deployment *d = s3i_run_deployment(st->run);
	s3i_state_run_fail(s3i_run_state(st->run), s3i_run_id(st->run), STAGE, st->err.message,
		s3i_deployment_now_ms(d), NULL);
	return rc;
}

static int start(s3i_table *st, size_t i, const s3i_svc *svc)
{
	stmt *s = &st->stmts[i];
	char token[160];
	if (s3i_stage_request_token(st->run, STAGE, (int)i, s->attempt, s->sql, token,
		sizeof(token)))
		token[0] = 0;
	s3i_athena_query q = { 0 };
	q.query = s->sql;
	q.database = i ? s3i_run_get_database(st->run) : NULL;   /* CREATE DATABASE: none yet */
	q.output_location = st->results_location;
	q.workgroup = st->workgroup;
	q.client_request_token = token[0] ? token : NULL;
	int rc = s3i_athena_start_query_op(svc, &q, s->execution_id, &st->err);
	if (rc) {
		s->execution_id[0] = 0;
		s3i_err_prefix(&st->err, "create table of run %s: starting statement %zu (%s): ",
			s3i_run_id(st->run), i + 1, s->what);
		return fail(st, rc, !s3i_status_is_retryable(rc));
	}
	s->started_ms = s3i_deployment_now_ms(s3i_run_deployment(st->run));
	snprintf(s->state, sizeof(s->state), "QUEUED");
	st->delay_ms = st->opts.poll_interval_ms;
	/* recorded before the first poll: a resumed stage polls this execution */
	return record(st, i, NULL);
}

/* ------------------------------------------------------------------ the count */

static const s3i_logger *logger(const s3i_table *st)
{
	return s3i_ctx_logger(s3i_deployment_ctx(s3i_run_deployment(st->run)));
}

static int record_count(s3i_table *st, const char *reason)
{
	s3i_ddb_item *it = s3i_stage_statement_item(st->alloc, 0, &st->count, reason);
	int rc = it ? s3i_stage_item_put(st->run, "count#00000", it, &st->err) : oom(st);
	s3i_ddb_item_free(it);
	return rc;
}

/* The count failed: recorded (state FAILED or CANCELLED, the reason) for the report, logged;
 * the buckets stay not counted and the stage goes on. Only a state-table failure to record
 * it is returned. */
static int count_given_up(s3i_table *st, const char *state, const char *why)
{
	stmt *s = &st->count;
	if (state != s->state)   /* FAILED, CANCELLED: it may be the state already */
		snprintf(s->state, sizeof(s->state), "%s", state);
	s3i_log(logger(st), S3I_LOG_WARN, "create table of run %s: counting the rows of %zu "
		"ORC/Parquet bucket%s with Athena failed, they stay not counted: %s",
		s3i_run_id(st->run), st->nuncounted, st->nuncounted == 1 ? "" : "s", why);
	st->count_done = 1;
	return record_count(st, why);
}

typedef struct count_walk {
	s3i_table *st;
	s3i_stage_count_row *rows;   /* strings owned (strdup) */
	size_t n, cap;
	int oom;
	s3i_errinfo bad;             /* the first row that could not be read */
	int nbad;
} count_walk;

static int on_count_row(void *user, int64_t index, size_t n, const char *const *values,
	const char *const *columns)
{
	(void)index;
	(void)columns;
	count_walk *w = user;
	const s3i_allocator *a = w->st->alloc;
	s3i_stage_count_row r;
	if (s3i_stage_count_row_parse(n, values, &r, &w->bad)) {
		w->nbad++;
		return 1;   /* unreadable results: nothing of them is trusted */
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		s3i_stage_count_row *p = s3i_realloc(a, w->rows, cap * sizeof(*p));
		if (!p)
			return w->oom = 1;
		w->rows = p;
		w->cap = cap;
	}
	s3i_stage_count_row *k = &w->rows[w->n];
	k->objects = r.objects;
	k->bytes = r.bytes;
	k->account = s3i_strdup(a, r.account);
	k->region = NULL;
	k->bucket = s3i_strdup(a, r.bucket);
	w->n++;
	if (!k->account || !k->bucket)
		return w->oom = 1;
	return 0;
}

static void count_walk_dispose(count_walk *w)
{
	for (size_t i = 0; i < w->n; i++) {
		s3i_free(w->st->alloc, (char *)w->rows[i].account);
		s3i_free(w->st->alloc, (char *)w->rows[i].bucket);
	}
	s3i_free(w->st->alloc, w->rows);
}

/* The counting statement succeeded: its rows, every page, then each bucket without a count
 * gets its row's numbers (a bucket with files but no row has none: 0). */
static int count_results(s3i_table *st, const s3i_svc *svc)
{
	stmt *s = &st->count;
	const char *rid = s3i_run_id(st->run);
	count_walk w;
	memset(&w, 0, sizeof(w));
	w.st = st;
	s3i_errinfo_init(&w.bad);
	s3i_errinfo rerr;
	s3i_errinfo_init(&rerr);
	int rc = s3i_stage_read_rows(svc, s->execution_id, 0, on_count_row, &w, NULL, &rerr);
	if (w.oom) {
		rc = oom(st);
		goto out;
	}
	if (w.nbad || rc) {
		char why[1400];
		snprintf(why, sizeof(why), "the results of query execution '%s' cannot be read: %s",
			s->execution_id, w.nbad ? w.bad.message : rerr.message);
		/* the statement itself succeeded; only its results are unusable */
		rc = count_given_up(st, "SUCCEEDED", why);
		goto out;
	}
	s3i_state *state = s3i_run_state(st->run);
	int64_t now = s3i_deployment_now_ms(s3i_run_deployment(st->run));
	for (size_t i = 0; i < st->nuncounted; i++) {
		const char *acct = st->uncounted[i][0], *bucket = st->uncounted[i][1];
		int64_t objects = 0, bytes = 0;
		for (size_t j = 0; j < w.n; j++) {
			if (!strcmp(w.rows[j].account, acct) && !strcmp(w.rows[j].bucket, bucket)) {
				objects = w.rows[j].objects;
				bytes = w.rows[j].bytes;
				break;
			}
		}
		rc = s3i_state_bucket_set_counts(state, rid, acct, bucket, objects, bytes, now, NULL,
			&st->err);
		if (rc) {
			s3i_err_prefix(&st->err, "create table of run %s: recording the count of bucket "
				"'%s' of account %s: ", rid, bucket, acct);
			goto out;
		}
	}
	s3i_log(logger(st), S3I_LOG_INFO, "create table of run %s: counted the rows of %zu "
		"ORC/Parquet bucket%s with Athena (query execution '%s')", rid, st->nuncounted,
		st->nuncounted == 1 ? "" : "s", s->execution_id);
	st->count_done = 1;
out:
	count_walk_dispose(&w);
	return rc;
}

/* Start, poll and read the counting statement until it is done or the deadline comes.
 * Athena's failures end the count (count_given_up), never the stage. */
static int count_step(s3i_table *st, const s3i_svc *svc, int64_t deadline_ms)
{
	stmt *s = &st->count;
	s3i_deployment *d = s3i_run_deployment(st->run);
	char why[1400];
	while (!st->count_done) {
		if (s->succeeded)
			return count_results(st, svc);
		if (deadline_ms && s3i_deployment_now_ms(d) >= deadline_ms)
			return S3I_OK;
		s3i_errinfo e;
		s3i_errinfo_init(&e);
		if (!s->execution_id[0]) {
			char token[160];
			if (s3i_stage_request_token(st->run, "count", 0, s->attempt, s->sql, token,
				sizeof(token)))
				token[0] = 0;
			s3i_athena_query q = { 0 };
			q.query = s->sql;
			q.database = s3i_run_get_database(st->run);
			q.output_location = st->results_location;
			q.workgroup = st->workgroup;
			q.client_request_token = token[0] ? token : NULL;
			int rc = s3i_athena_start_query_op(svc, &q, s->execution_id, &e);
			if (rc == S3I_ENOMEM)
				return oom(st);
			if (rc) {
				s->execution_id[0] = 0;
				snprintf(why, sizeof(why), "Athena refused to start it: %s", e.message);
				return count_given_up(st, "FAILED", why);
			}
			s->started_ms = s3i_deployment_now_ms(d);
			snprintf(s->state, sizeof(s->state), "QUEUED");
			st->delay_ms = st->opts.poll_interval_ms;
			int rrc = record_count(st, NULL);   /* before the first poll */
			if (rrc)
				return rrc;
		}
		s3i_athena_execution ex;
		int rc = s3i_athena_get_execution_op(svc, s->execution_id, &ex, &e);
		if (rc == S3I_ENOMEM)
			return oom(st);
		if (rc) {
			snprintf(why, sizeof(why), "query execution '%s' could not be polled: %s",
				s->execution_id, e.message);
			return count_given_up(st, "FAILED", why);
		}
		snprintf(s->state, sizeof(s->state), "%s", s3i_athena_state_name(ex.state));
		if (ex.state == S3I_ATHENA_SUCCEEDED) {
			if ((rc = record_count(st, NULL)))
				return rc;
			s->succeeded = 1;
			continue;
		}
		if (ex.state == S3I_ATHENA_FAILED || ex.state == S3I_ATHENA_CANCELLED) {
			snprintf(why, sizeof(why), "query execution '%s', %s: %s", s->execution_id,
				s->state, ex.reason[0] ? ex.reason : "no reason given");
			return count_given_up(st, s->state, why);
		}
		int64_t now = s3i_deployment_now_ms(d);
		int64_t since = ex.submitted_ms > 0 && ex.submitted_ms < now ? ex.submitted_ms
		                                                             : s->started_ms;
		if (since > 0 && now - since > st->opts.statement_timeout_ms) {
			s3i_athena_stop_query_op(svc, s->execution_id, NULL);
			snprintf(why, sizeof(why), "query execution '%s' timed out after %" PRId64
				" s (stopped)", s->execution_id, (now - since) / 1000);
			return count_given_up(st, "CANCELLED", why);
		}
		s3i_stage_sleep(st->run, st->delay_ms, deadline_ms);
		st->delay_ms *= 2;
		if (st->delay_ms > st->opts.max_poll_interval_ms)
			st->delay_ms = st->opts.max_poll_interval_ms;
	}
	return S3I_OK;
}

int s3i_table_step(s3i_table *st, int64_t deadline_ms, int *finished)
{
	if (finished)
		*finished = 0;
	if (!st || !finished)
		return s3i_err(st ? &st->err : NULL, S3I_EINVALID, NULL,
			"create table step: the handle and finished are required");
	s3i_errinfo_clear(&st->err);
	s3i_run *run = st->run;
	s3i_deployment *d = s3i_run_deployment(run);
	const char *rid = s3i_run_id(run);
	int rc;
	if (!st->prepared) {
		rc = s3i_state_run_set_phase(s3i_run_state(run), rid, S3I_PHASE_TABLE,
			s3i_deployment_now_ms(d), NULL, &st->err);
		if (rc) {
			s3i_err_prefix(&st->err, "create table of run %s: ", rid);
			return rc;
		}
		if ((rc = prepare(st)))
			return rc;
		st->prepared = 1;
	}
	s3i_svc svc;
	s3i_stage_host_svc(run, &svc);
	while (st->next < st->n) {
		stmt *s = &st->stmts[st->next];
		size_t i = st->next;
		if (s->succeeded) {
			st->next++;
			continue;
		}
		if (deadline_ms && s3i_deployment_now_ms(d) >= deadline_ms)
			return S3I_OK;
		if (!s->execution_id[0]) {
			/* a statement run now (a new partition, say) changes what the table holds: a
			 * count that succeeded before it is not reused */
			if (st->count.succeeded) {
				st->count.succeeded = 0;
				st->count.execution_id[0] = 0;
				st->count.state[0] = 0;
				st->count.attempt++;
			}
			if ((rc = start(st, i, &svc)))
				return rc;
		}
		s3i_athena_execution ex;
		rc = s3i_athena_get_execution_op(&svc, s->execution_id, &ex, &st->err);
		if (rc) {
			s3i_err_prefix(&st->err, "create table of run %s: statement %zu (%s): ", rid, i + 1,
				s->what);
			return fail(st, rc, !s3i_status_is_retryable(rc));
		}
		snprintf(s->state, sizeof(s->state), "%s", s3i_athena_state_name(ex.state));
		if (ex.state == S3I_ATHENA_SUCCEEDED) {
			if ((rc = record(st, i, NULL)))
				return rc;
			s->succeeded = 1;
			st->next++;
			st->delay_ms = st->opts.poll_interval_ms;
			continue;
		}
		if (ex.state == S3I_ATHENA_FAILED || ex.state == S3I_ATHENA_CANCELLED) {
			record(st, i, ex.reason);
			rc = s3i_err(&st->err, ex.error_retryable ? S3I_ESERVICE : S3I_EAWS, s->execution_id,
				"create table of run %s: statement %zu (%s), query execution '%s', %s: %s",
				rid, i + 1, s->what, s->execution_id, s->state,
				ex.reason[0] ? ex.reason : "no reason given");
			return fail(st, rc, 1);
		}
		int64_t now = s3i_deployment_now_ms(d);
		int64_t since = ex.submitted_ms > 0 && ex.submitted_ms < now ? ex.submitted_ms
		                                                             : s->started_ms;
		if (since > 0 && now - since > st->opts.statement_timeout_ms) {
			s3i_athena_stop_query_op(&svc, s->execution_id, NULL);
			snprintf(s->state, sizeof(s->state), "CANCELLED");
			char why[128];
			snprintf(why, sizeof(why), "timed out after %" PRId64 " s (stopped)",
				(now - since) / 1000);
			record(st, i, why);
			rc = s3i_err(&st->err, S3I_ETIMEOUT, s->execution_id, "create table of run %s: "
				"statement %zu (%s), query execution '%s', did not end within %" PRId64
				" s (last state %s); it was stopped", rid, i + 1, s->what, s->execution_id,
				st->opts.statement_timeout_ms / 1000, s3i_athena_state_name(ex.state));
			return fail(st, rc, 1);
		}
		s3i_stage_sleep(run, st->delay_ms, deadline_ms);
		st->delay_ms *= 2;
		if (st->delay_ms > st->opts.max_poll_interval_ms)
			st->delay_ms = st->opts.max_poll_interval_ms;
	}
	if (!st->count_done) {
		if ((rc = count_step(st, &svc, deadline_ms)) || !st->count_done)
			return rc;
	}
	*finished = 1;
	return S3I_OK;
}

int s3i_table_run(s3i_table *st)
{
	int finished = 0;
	while (!finished) {
		int rc = s3i_table_step(st, 0, &finished);
		if (rc)
			return rc;
	}
	return S3I_OK;
}
