/*
 * The teardown stage, also the Cleanup workflow (DESIGN §4.8, docs/stages.md "Provision and
 * teardown").
 *
 * Everything it removes may already be gone (a repeated teardown, a half-provisioned run, a
 * stack that deleted its topic): "not found" is success everywhere. Progress is in the state
 * table: a bucket's inventory_configured flag is cleared after its configuration is deleted,
 * a region becomes torn_down after its staging bucket, stack, topic and route are gone, and
 * the run's phase becomes done / cleaned last. A removal that fails is logged and the rest
 * goes on; the step then returns the first failure, unfinished, so a later step (or a later
 * Cleanup) tries again.
 *
 * A smoke test changes nothing lasting (DESIGN §3): after the regions, its view, table and
 * database (the run's random names) are dropped through Athena, each statement recorded as
 * run#R / drop#<nnn> (statement, execution_id, state, attempt) so a resumed teardown polls a
 * running one instead of starting it again and skips what succeeded; then the run's
 * consolidated data (inventory/R/) and query results (athena/R/) are deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3insights/stage_teardown.h"
#include "s3insights/s3.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"
#include "core/log.h"
#include "services/athena.h"
#include "services/cloudformation.h"
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "services/sns.h"
#include "stages/names.h"
#include "stages/run_internal.h"
#include "stages/stage_athena.h"
#include "stages/stage_common.h"
#include "stages/state.h"
#include "stages/table_ddl.h"

#define STAGE "teardown"
#define DEFAULT_STACK_TIMEOUT_MS (30 * 60 * 1000)
#define DROP_TIMEOUT_MS (10 * 60 * 1000)
#define DROP_MAX 3

struct s3i_teardown {
	s3i_run *run;
	s3i_deployment *d;
	s3i_state *state;
	const s3i_allocator *alloc;
	s3i_client *client;
	const s3i_logger *log;
	s3i_teardown_options opts;
	s3i_errinfo err;
	s3i_errinfo first_failure;   /* of the current step */
	char run_id[16];
	char inventory_id[128];
	int started;
	int failed_run;              /* the run failed (or was cancelled): it ends `cleaned` */
	int regions_handled;
	s3i_stage_stack_waits waits;   /* when this handle began to wait for each region's stack */
	int smoke_done;              /* a smoke test's database and data are gone */
};

/* ------------------------------------------------------------------ helpers */

static int oom(s3i_teardown *st)
{
	return s3i_err(&st->err, S3I_ENOMEM, NULL, "teardown of run %s: out of memory", st->run_id);
}

static int64_t now_ms(const s3i_teardown *st)
{
	return s3i_deployment_now_ms(st->d);
}

static int past(const s3i_teardown *st, int64_t deadline_ms)
{
	return s3i_stage_past(st->d, deadline_ms);
}

/* Remember a failed removal (the first of the step is what the step returns) and go on. */
static void note_failure(s3i_teardown *st, const s3i_errinfo *e)
{
	s3i_log(st->log, S3I_LOG_WARN, "teardown %s: %s", st->run_id, e->message);
	if (st->first_failure.pub.code == S3I_OK)
		s3i_errinfo_copy(&st->first_failure, e);
}

/* ------------------------------------------------------------------ handle */

int s3i_teardown_new(s3i_teardown **out, s3i_run *run, const s3i_teardown_options *opts)
{
	if (!out || !run)
		return s3i_err(NULL, S3I_EINVALID, NULL, "teardown: out and run are required");
	*out = NULL;
	if (opts && opts->struct_size < sizeof(uint32_t))
		return s3i_err(NULL, S3I_EINVALID, "struct_size",
			"teardown: options struct_size %u is too small", (unsigned)opts->struct_size);
	s3i_deployment *d = s3i_run_deployment(run);
	const s3i_allocator *a = s3i_deployment_alloc(d);
	s3i_teardown *st = s3i_calloc(a, 1, sizeof(*st));
	if (!st)
		return s3i_err(NULL, S3I_ENOMEM, NULL, "teardown: out of memory");
	st->run = run;
	st->d = d;
	st->state = s3i_run_state(run);
	st->alloc = a;
	st->client = s3i_deployment_client(d);
	st->log = s3i_ctx_logger(s3i_deployment_ctx(d));
	s3i_errinfo_init(&st->err);
	s3i_errinfo_init(&st->first_failure);
	snprintf(st->run_id, sizeof(st->run_id), "%s", s3i_run_id(run));
	s3i_teardown_options defaults = S3I_TEARDOWN_OPTIONS_INIT;
	st->opts = defaults;
	s3i_stage_options_copy(&st->opts, sizeof(st->opts), opts);
	if (st->opts.stack_timeout_ms <= 0)
		st->opts.stack_timeout_ms = DEFAULT_STACK_TIMEOUT_MS;
	if (s3i_names_inventory_id(st->inventory_id, sizeof(st->inventory_id),
	        s3i_deployment_name(d), st->run_id)) {
		s3i_free(a, st);
		return s3i_err(NULL, S3I_EINVALID, "run_id", "teardown: no inventory id for run %s",
			s3i_run_id(run));
	}
	*out = st;
	return S3I_OK;
}

void s3i_teardown_free(s3i_teardown *st)
{
	if (st)
		s3i_free(st->alloc, st);
}

const s3i_error *s3i_teardown_error(const s3i_teardown *st)
{
	static const s3i_error none = { sizeof(s3i_error), S3I_EINVALID, 0, "no teardown handle",
		"", "", "" };
	return st ? &st->err.pub : &none;
}

/* ------------------------------------------------------------------ phase */

static int start(s3i_teardown *st)
{
	s3i_state_run r;
	memset(&r, 0, sizeof(r));
	int rc = s3i_state_run_get(st->state, st->run_id, &r, &st->err);
	if (rc)
		return rc;
	s3i_run_phase phase = r.phase;
	st->failed_run = phase == S3I_PHASE_FAILED || phase == S3I_PHASE_CLEANED || r.error[0];
	s3i_state_run_dispose(&r);
	if (st->opts.cleanup && !st->failed_run && phase < S3I_PHASE_TEARING_DOWN) {
		if ((rc = s3i_state_run_fail(st->state, st->run_id, "cleanup", "cancelled by Cleanup",
		        now_ms(st), &st->err)))
			return rc;
		st->failed_run = 1;
		s3i_log(st->log, S3I_LOG_INFO, "teardown %s: run cancelled by Cleanup (it was %s)",
			st->run_id, s3i_run_phase_name(phase));
	}
	/* refused quietly for a failed or finished run: its phase is further along */
	if (!st->failed_run && !s3i_run_phase_is_finished(phase)
	    && (rc = s3i_state_run_set_phase(st->state, st->run_id, S3I_PHASE_TEARING_DOWN,
	            now_ms(st), NULL, &st->err)))
		return rc;
	st->started = 1;
	return S3I_OK;
}

/* ------------------------------------------------------------------ inventory configurations */

typedef struct configured {
	char account[16];
	char bucket[64];
	char region[32];
} configured;

typedef struct configured_list {
	s3i_teardown *st;
	configured *items;
	size_t count, cap;
	int rc;
} configured_list;

static int on_bucket(void *user, const s3i_state_bucket *b)
{
	configured_list *l = user;
	if (!b->inventory_configured)
		return 0;
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		configured *n = s3i_realloc(l->st->alloc, l->items, cap * sizeof(*n));
		if (!n) {
			l->rc = S3I_ENOMEM;
			return 1;
		}
		l->items = n;
		l->cap = cap;
	}
	configured *c = &l->items[l->count++];
	snprintf(c->account, sizeof(c->account), "%s", b->account);
	snprintf(c->bucket, sizeof(c->bucket), "%s", b->bucket);
	snprintf(c->region, sizeof(c->region), "%s", b->region);
	return 0;
}

/* Delete the run's inventory configuration of one bucket, as the bucket's account. */
static int remove_inventory(s3i_teardown *st, const configured *c)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	s3i_svc svc;
	s3i_credprov *hold = NULL;
	const char *region = c->region[0] ? c->region : NULL;
	int rc = s3i_run_account_svc(st->run, c->account, region, &svc, &hold, &e);
	if (rc == S3I_OK) {
		rc = s3i_s3_delete_bucket_inventory_configuration_op(&svc, c->bucket, st->inventory_id,
			&e);
		if (rc == S3I_ENOTFOUND)
			rc = S3I_OK;   /* no configuration (or no bucket) left: nothing to remove */
	}
	if (hold)
		s3i_credprov_release(hold);
	if (rc == S3I_OK)
		rc = s3i_state_bucket_set_inventory_configured(st->state, st->run_id, c->account,
			c->bucket, 0, now_ms(st), &e);
	if (rc) {
		s3i_err_prefix(&e, "inventory configuration %s of bucket %s (account %s): ",
			st->inventory_id, c->bucket, c->account);
		note_failure(st, &e);
	}
	return rc;
}

/* *done = 0 when the deadline passed first. */
static int remove_inventories(s3i_teardown *st, int64_t deadline_ms, int *done)
{
	*done = 0;
	configured_list l = { .st = st };
	int rc = s3i_state_buckets_list(st->state, st->run_id, on_bucket, &l, &st->err);
	if (rc == S3I_EUSER && l.rc)
		rc = oom(st);
	size_t i = 0;
	for (; rc == S3I_OK && i < l.count; i++) {
		if (i && past(st, deadline_ms))
			break;   /* at least one per step, whatever the deadline */
		remove_inventory(st, &l.items[i]);
	}
	if (rc == S3I_OK && i == l.count)
		*done = 1;
	s3i_free(st->alloc, l.items);
	return rc;
}

/* ------------------------------------------------------------------ regions */

typedef struct version_batch {
	s3i_teardown *st;
	s3i_s3_object_id *ids;
	size_t count;
	s3i_buf text;                /* keys and version ids, NUL-separated */
	size_t *offsets;             /* pairs: key, version id (SIZE_MAX: none) */
	int rc;
} version_batch;

static int on_version(void *payload, const s3i_s3_version_info *v)
{
	version_batch *b = payload;
	if (b->count >= S3I_S3_DELETE_BATCH)
		return 0;
	size_t k = b->text.size;
	if (s3i_buf_put(&b->text, v->key, strlen(v->key) + 1)) {
		b->rc = S3I_ENOMEM;
		return 1;
	}
	size_t vid = (size_t)-1;
	if (v->version_id && *v->version_id) {
		vid = b->text.size;
		if (s3i_buf_put(&b->text, v->version_id, strlen(v->version_id) + 1)) {
			b->rc = S3I_ENOMEM;
			return 1;
		}
	}
	b->offsets[2 * b->count] = k;
	b->offsets[2 * b->count + 1] = vid;
	b->count++;
	return 0;
}

/* Empty a staging bucket (or only what is under prefix, when not NULL), every version and
 * delete marker, a listing page (and one DeleteObjects) at a time. *gone = 1 when the bucket
 * does not exist. *done = 0 when the deadline came first. */
static int empty_bucket(s3i_teardown *st, const s3i_svc *svc, const char *bucket,
	const char *prefix, int64_t deadline_ms, int *gone, int *done, s3i_errinfo *e)
{
	*gone = 0;
	*done = 0;
	version_batch b = { .st = st };
	s3i_buf_init(&b.text, st->alloc);
	b.ids = s3i_calloc(st->alloc, S3I_S3_DELETE_BATCH, sizeof(*b.ids));
	b.offsets = s3i_calloc(st->alloc, 2 * S3I_S3_DELETE_BATCH, sizeof(*b.offsets));
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, st->alloc);
	int rc = b.ids && b.offsets ? S3I_OK : S3I_ENOMEM;
	int64_t deleted = 0;
	while (rc == S3I_OK) {
		b.count = 0;
		s3i_buf_clear(&b.text);
		s3i_s3_list_options lo = S3I_S3_LIST_OPTIONS_INIT;
		lo.max_keys = S3I_S3_DELETE_BATCH;
		lo.prefix = prefix;
		/* deleting what a page listed moves the listing on: always start from the top */
		rc = s3i_s3_list_object_versions_page_op(svc, bucket, &lo, on_version, &b, &page, e);
		if (rc == S3I_EUSER && b.rc)
			rc = S3I_ENOMEM;
		if (rc == S3I_ENOTFOUND) {
			s3i_errinfo_clear(e);
			*gone = 1;
			*done = 1;
			rc = S3I_OK;
			break;
		}
		if (rc)
			break;
		if (!b.count) {
			*done = 1;
			break;
		}
		for (size_t i = 0; i < b.count; i++) {
			b.ids[i].key = b.text.ptr + b.offsets[2 * i];
			b.ids[i].version_id = b.offsets[2 * i + 1] == (size_t)-1 ? NULL
				: b.text.ptr + b.offsets[2 * i + 1];
		}
		rc = s3i_s3_delete_objects_op(svc, bucket, b.ids, b.count, 1, NULL, NULL, NULL, NULL, e);
		if (rc)
			break;
		deleted += (int64_t)b.count;
		if (past(st, deadline_ms))
			break;
	}
	if (rc == S3I_ENOMEM)
		s3i_err(e, S3I_ENOMEM, bucket, "emptying staging bucket %s: out of memory", bucket);
	if (deleted)
		s3i_log(st->log, S3I_LOG_INFO, "teardown %s: %lld objects deleted from %s/%s",
			st->run_id, (long long)deleted, bucket, prefix ? prefix : "");
	s3i_s3_list_page_free(&page);
	s3i_buf_dispose(&b.text);
	s3i_free(st->alloc, b.ids);
	s3i_free(st->alloc, b.offsets);
	return rc;
}

/* Remove one region's resources. *done = 0 when the deadline came first (not a failure). */
static int teardown_region(s3i_teardown *st, s3i_state_region *r, int64_t deadline_ms,
	int *done)
{
	*done = 0;
	s3i_svc svc = { st->client, NULL, r->region };
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = S3I_OK, gone = 0, emptied = 0;
	const char *what = "staging bucket";
	if (r->staging_bucket[0]) {
		for (int attempt = 0; attempt < 2 && !gone; attempt++) {
			rc = empty_bucket(st, &svc, r->staging_bucket, NULL, deadline_ms, &gone, &emptied,
				&e);
			if (rc || !emptied)
				break;
			if (gone)
				break;
			rc = s3i_s3_delete_bucket_op(&svc, r->staging_bucket, &e);
			if (rc == S3I_ENOTFOUND || rc == S3I_OK) {
				s3i_errinfo_clear(&e);
				rc = S3I_OK;
				gone = 1;
			} else if (rc != S3I_ECONFLICT) {
				break;   /* BucketNotEmpty: something arrived meanwhile; empty it again */
			}
		}
		if (rc == S3I_OK && !emptied)
			return S3I_OK;   /* the deadline */
		if (rc == S3I_OK && !gone)
			rc = s3i_err(&e, S3I_ECONFLICT, r->staging_bucket,
				"staging bucket %s keeps receiving objects", r->staging_bucket);
	}
	if (rc == S3I_OK && r->stack_name[0]) {
		what = "stack";
		const char *stack = r->stack_id[0] ? r->stack_id : r->stack_name;
		rc = s3i_cfn_delete_stack_op(&svc, stack, &e);
		if (rc == S3I_ENOTFOUND)
			rc = S3I_OK;
		if (rc == S3I_OK) {
			int64_t stack_left;
			int64_t left = s3i_stage_stack_wait_ms(&st->waits, r->region,
				st->opts.stack_timeout_ms, now_ms(st), deadline_ms, &stack_left);
			rc = s3i_cfn_wait_delete_complete(&svc, stack, left, &e);
			if (rc == S3I_ETIMEOUT && left < stack_left) {
				s3i_errinfo_clear(&e);
				return S3I_OK;   /* the step's deadline: wait on next step */
			}
		}
	}
	if (rc == S3I_OK && r->topic_arn[0]) {
		what = "topic";
		rc = s3i_sns_delete_topic_op(&svc, r->topic_arn, &e);   /* a missing topic is OK */
	}
	if (rc == S3I_OK && r->staging_bucket[0]) {
		what = "route";
		rc = s3i_state_route_delete(st->state, r->staging_bucket, &e);
		if (rc == S3I_ENOTFOUND)
			rc = S3I_OK;
	}
	if (rc == S3I_OK) {
		what = "region item";
		snprintf(r->status, sizeof(r->status), "torn_down");
		r->reason[0] = 0;
		rc = s3i_state_region_put(st->state, st->run_id, r, &e);
	}
	if (rc) {
		s3i_err_prefix(&e, "region %s, %s: ", r->region, what);
		note_failure(st, &e);
		return rc;
	}
	s3i_log(st->log, S3I_LOG_INFO, "teardown %s: region %s torn down", st->run_id, r->region);
	*done = 1;
	return S3I_OK;
}

/* ------------------------------------------------------------------ smoke test */

typedef s3i_stage_statement drop_stmt;

typedef struct drop_plan {
	drop_stmt s[DROP_MAX];
	size_t n;                    /* the last one is DROP DATABASE ... CASCADE */
	const s3i_allocator *alloc;
} drop_plan;

static void drop_plan_dispose(drop_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		s3i_free(p->alloc, p->s[i].sql);
	p->n = 0;
}

static int drop_add(drop_plan *p, s3i_buf *sql, const char *what)
{
	drop_stmt *s = &p->s[p->n];
	memset(s, 0, sizeof(*s));
	if (!(s->sql = s3i_buf_detach(sql)))
		return S3I_ENOMEM;
	snprintf(s->what, sizeof(s->what), "%s", what);
	p->n++;
	return S3I_OK;
}

/* The statements undoing the create-table stage, with the run's (random) names: for CSV the
 * view and the raw table, for ORC/Parquet the typed table, then the database with CASCADE,
 * which takes whatever is left in it. */
static int drop_plan_build(s3i_teardown *st, drop_plan *p, s3i_errinfo *e)
{
	const s3i_run_input *in = s3i_run_get_input(st->run);
	s3i_buf loc, sql;
	s3i_buf_init(&loc, st->alloc);
	s3i_buf_init(&sql, st->alloc);
	s3i_ddl_table t = { 0 };
	t.database = s3i_run_get_database(st->run);
	t.table = s3i_run_get_table(st->run);
	switch (s3i_run_input_get_inventory_format(in)) {
	case S3I_INVENTORY_FORMAT_ORC: t.format = S3I_FORMAT_ORC; break;
	case S3I_INVENTORY_FORMAT_PARQUET: t.format = S3I_FORMAT_PARQUET; break;
	default: t.format = S3I_FORMAT_CSV; break;
	}
	if (s3i_run_input_get_snapshot(in) == S3I_SNAPSHOT_LIST)
		t.format = S3I_FORMAT_CSV;   /* as the create-table stage decides */
	char what[96];
	int rc = s3i_stage_data_location(st->run, &loc);
	t.location = s3i_buf_cstr(&loc);
	if (!rc && t.format == S3I_FORMAT_CSV) {
		snprintf(what, sizeof(what), "DROP VIEW %s.%s", t.database, t.table);
		if (!(rc = s3i_ddl_drop(&sql, &t, 1)))
			rc = drop_add(p, &sql, what);
	}
	if (!rc) {
		snprintf(what, sizeof(what), "DROP TABLE %s.%s%s", t.database, t.table,
			t.format == S3I_FORMAT_CSV ? "_raw" : "");
		if (!(rc = s3i_ddl_drop(&sql, &t, 0)))
			rc = drop_add(p, &sql, what);
	}
	if (!rc) {
		snprintf(what, sizeof(what), "DROP DATABASE %s", t.database);
		if (!(rc = s3i_ddl_drop_database(&sql, t.database)))
			rc = drop_add(p, &sql, what);
	}
	if (rc)
		rc = s3i_err(e, rc, t.database, "cannot write the statements dropping %s.%s", t.database,
			t.table);
	s3i_buf_dispose(&loc);
	s3i_buf_dispose(&sql);
	return rc;
}

/* Take over a recorded statement when it is the same statement. */
static int on_drop_item(void *user, const char *sortkey, const s3i_ddb_item *it)
{
	(void)sortkey;
	drop_plan *p = user;
	drop_stmt *s = s3i_stage_statement_of(p->s, p->n, it);
	if (s)
		s3i_stage_statement_take_over(s, it);
	return 0;
}

static int drop_record(s3i_teardown *st, size_t i, const drop_stmt *s, const char *reason,
	s3i_errinfo *e)
{
	char sk[32];
	snprintf(sk, sizeof(sk), "drop#%03zu", i);
	s3i_ddb_item *it = s3i_stage_statement_item(st->alloc, i, s, reason);
	int rc = it ? s3i_stage_item_put(st->run, sk, it, e)
		: s3i_err(e, S3I_ENOMEM, sk, "out of memory recording %s", sk);
	s3i_ddb_item_free(it);
	return rc;
}

/* Start statement i (unless it runs already) and poll it to its end. *ended = 0 when the
 * deadline came first (the next step polls the recorded execution). */
static int drop_one(s3i_teardown *st, drop_plan *p, size_t i, const s3i_svc *svc,
	const char *results, int64_t deadline_ms, int *ended, s3i_errinfo *e)
{
	drop_stmt *s = &p->s[i];
	*ended = 0;
	int rc;
	if (!s->execution_id[0]) {
		char token[160];
		if (s3i_stage_request_token(st->run, "drop", (int)i, s->attempt, s->sql, token,
		        sizeof(token)))
			token[0] = 0;
		s3i_athena_query q = { 0 };
		q.query = s->sql;
		q.output_location = results;
		q.workgroup = "primary";
		q.client_request_token = token[0] ? token : NULL;
		if ((rc = s3i_athena_start_query_op(svc, &q, s->execution_id, e))) {
			s->execution_id[0] = 0;
			return rc;
		}
		s->started_ms = now_ms(st);
		snprintf(s->state, sizeof(s->state), "QUEUED");
		/* recorded before the first poll: a resumed teardown polls this execution */
		if ((rc = drop_record(st, i, s, NULL, e)))
			return rc;
	}
	int64_t delay = 250;
	s3i_athena_execution ex;
	for (;;) {
		if ((rc = s3i_athena_get_execution_op(svc, s->execution_id, &ex, e)))
			return rc;
		snprintf(s->state, sizeof(s->state), "%s", s3i_athena_state_name(ex.state));
		if (s3i_athena_state_is_terminal(ex.state))
			break;
		if (s->started_ms > 0 && now_ms(st) - s->started_ms > DROP_TIMEOUT_MS) {
			s3i_athena_stop_query_op(svc, s->execution_id, NULL);
			snprintf(s->state, sizeof(s->state), "CANCELLED");
			snprintf(ex.reason, sizeof(ex.reason), "did not end within %d s; it was stopped",
				DROP_TIMEOUT_MS / 1000);
			break;
		}
		if (past(st, deadline_ms))
			return S3I_OK;
		s3i_stage_sleep(st->run, delay, deadline_ms);
		delay = delay * 2 > 5000 ? 5000 : delay * 2;
	}
	*ended = 1;
	if ((rc = drop_record(st, i, s, ex.reason, e)))
		return rc;
	if (!strcmp(s->state, "SUCCEEDED"))
		return S3I_OK;
	return s3i_err(e, S3I_EAWS, s->execution_id, "%s, query execution '%s', %s: %s", s->what,
		s->execution_id, s->state, ex.reason[0] ? ex.reason : "no reason given");
}

/* Delete what is under an s3://<bucket>/<prefix> location of the consolidated bucket. */
static int delete_location(s3i_teardown *st, const s3i_svc *svc, const char *location,
	int64_t deadline_ms, int *done, s3i_errinfo *e)
{
	const char *bucket = location + 5;   /* after "s3://" */
	const char *slash = strchr(bucket, '/');
	char name[64];
	if (!slash || (size_t)(slash - bucket) >= sizeof(name))
		return s3i_err(e, S3I_EINVALID, location, "malformed location %s", location);
	memcpy(name, bucket, (size_t)(slash - bucket));
	name[slash - bucket] = '\0';
	int gone = 0;
	int rc = empty_bucket(st, svc, name, slash + 1, deadline_ms, &gone, done, e);
	if (rc)
		s3i_err_prefix(e, "deleting %s: ", location);
	return rc;
}

/* Drop the smoke test's view, table and database, then delete its consolidated data and
 * query results. *done = 0 when the deadline came first. A DROP of the view or table that
 * fails is only logged when the DROP DATABASE ... CASCADE that follows succeeds (it takes
 * them with it; a run that failed before CREATE DATABASE has nothing to drop either). */
static int drop_smoke(s3i_teardown *st, int64_t deadline_ms, int *done)
{
	*done = 0;
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	drop_plan p;
	memset(&p, 0, sizeof(p));
	p.alloc = st->alloc;
	s3i_buf results, data;
	s3i_buf_init(&results, st->alloc);
	s3i_buf_init(&data, st->alloc);
	s3i_svc svc;
	s3i_stage_host_svc(st->run, &svc);
	const char *db = s3i_run_get_database(st->run);
	int rc = drop_plan_build(st, &p, &e);
	if (!rc && (s3i_stage_results_location(st->run, &results)
	        || s3i_stage_data_location(st->run, &data)))
		rc = s3i_err(&e, S3I_ENOMEM, db, "out of memory");
	if (!rc)
		rc = s3i_stage_items_list(st->run, "drop#", on_drop_item, &p, &e);
	size_t last = p.n - 1, handled = 0;
	int ended = 1;
	for (size_t i = 0; rc == S3I_OK && i < p.n; i++) {
		if (!strcmp(p.s[last].state, "SUCCEEDED"))
			break;   /* the database is gone, and whatever was in it */
		if (!strcmp(p.s[i].state, "SUCCEEDED"))
			continue;
		if (handled++ && past(st, deadline_ms)) {
			ended = 0;
			break;
		}
		rc = drop_one(st, &p, i, &svc, s3i_buf_cstr(&results), deadline_ms, &ended, &e);
		if (!ended && !rc)
			break;
		if (rc && i < last && ended) {
			s3i_log(st->log, S3I_LOG_WARN, "teardown %s: %s; DROP DATABASE %s CASCADE follows",
				st->run_id, e.message, db);
			s3i_errinfo_clear(&e);
			rc = S3I_OK;
		}
	}
	if (rc == S3I_OK && ended) {
		int data_done = 0, results_done = 0;
		rc = delete_location(st, &svc, s3i_buf_cstr(&data), deadline_ms, &data_done, &e);
		if (!rc && data_done)
			rc = delete_location(st, &svc, s3i_buf_cstr(&results), deadline_ms, &results_done,
				&e);
		*done = !rc && data_done && results_done;
		if (*done)
			s3i_log(st->log, S3I_LOG_INFO, "teardown %s: smoke test database %s dropped, its "
				"data and query results deleted", st->run_id, db);
	}
	if (rc) {
		s3i_err_prefix(&e, "smoke test database %s: ", db);
		note_failure(st, &e);
	}
	drop_plan_dispose(&p);
	s3i_buf_dispose(&results);
	s3i_buf_dispose(&data);
	return rc;
}

/* ------------------------------------------------------------------ step */

int s3i_teardown_step(s3i_teardown *st, int64_t deadline_ms, int *finished)
{
	if (finished)
		*finished = 0;
	if (!st || !finished)
		return s3i_err(st ? &st->err : NULL, S3I_EINVALID, NULL,
			"teardown step: handle and finished are required");
	s3i_errinfo_clear(&st->err);
	s3i_errinfo_init(&st->first_failure);
	int rc;
	if (!st->started && (rc = start(st))) {
		s3i_err_prefix(&st->err, "teardown of run %s: ", st->run_id);
		return rc;
	}
	int inv_done = 0;
	if ((rc = remove_inventories(st, deadline_ms, &inv_done))) {
		s3i_err_prefix(&st->err, "teardown of run %s: ", st->run_id);
		return rc;
	}
	int all = inv_done, tried = 0;
	s3i_stage_regions *regions = s3i_calloc(st->alloc, 1, sizeof(*regions));
	if (!regions)
		return oom(st);
	rc = s3i_state_regions_list(st->state, st->run_id, s3i_stage_keep_region, regions, &st->err);
	for (size_t i = 0; rc == S3I_OK && i < regions->count; i++) {
		s3i_state_region *r = &regions->items[i];
		if (!strcmp(r->status, "torn_down"))
			continue;
		if (tried && past(st, deadline_ms)) {
			all = 0;
			break;
		}
		int done = 0;
		tried++;   /* at least one region per step, whatever the deadline */
		teardown_region(st, r, deadline_ms, &done);
		if (!done)
			all = 0;
		if (done && st->regions_handled++ == 0)
			s3i_crashpoint("teardown.mid");
	}
	s3i_free(st->alloc, regions);
	/* a smoke test changes nothing lasting: its database and data go too (after the regions,
	 * so no delivery can still arrive for it) */
	if (rc == S3I_OK && all && !st->smoke_done
	    && s3i_run_input_is_smoke_test(s3i_run_get_input(st->run))) {
		if (tried && past(st, deadline_ms))
			all = 0;
		else if (drop_smoke(st, deadline_ms, &st->smoke_done) || !st->smoke_done)
			all = 0;
	}
	if (rc) {
		s3i_err_prefix(&st->err, "teardown of run %s: ", st->run_id);
		return rc;
	}
	if (st->first_failure.pub.code != S3I_OK) {
		s3i_errinfo_copy(&st->err, &st->first_failure);
		s3i_err_prefix(&st->err, "teardown of run %s: ", st->run_id);
		return st->err.pub.code;
	}
	if (!all)
		return S3I_OK;
	if (!st->opts.keep_phase) {
		s3i_run_phase final = st->failed_run ? S3I_PHASE_CLEANED : S3I_PHASE_DONE;
		if ((rc = s3i_state_run_set_phase(st->state, st->run_id, final, now_ms(st), NULL,
		        &st->err))) {
			s3i_err_prefix(&st->err, "teardown of run %s: ", st->run_id);
			return rc;
		}
		s3i_log(st->log, S3I_LOG_INFO, "teardown %s: finished, run %s", st->run_id,
			s3i_run_phase_name(final));
	}
	*finished = 1;
	return S3I_OK;
}

int s3i_teardown_run(s3i_teardown *st)
{
	int finished = 0, rc;
	do {
		if ((rc = s3i_teardown_step(st, 0, &finished)))
			return rc;
	} while (!finished);
	return S3I_OK;
}
