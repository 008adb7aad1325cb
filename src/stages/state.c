/* The state store on DynamoDB: see state.h and docs/stages.md for the item layout. */
#include "stages/state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "services/dynamodb.h"

#define TERMINAL_RANK 9

struct s3i_state {
	s3i_svc svc;
	char *region;
	char *table;
	const s3i_allocator *alloc;
};

/* ---- names ---- */

static const char *const phase_names[] = {
	"provisioning", "configuring", "waiting", "table", "querying", "notifying",
	"tearing_down", "done", "failed", "cleaned",
};

const char *s3i_run_phase_name(s3i_run_phase p)
{
	return (unsigned)p < sizeof(phase_names) / sizeof(phase_names[0]) ? phase_names[p] : "unknown";
}

int s3i_run_phase_parse(const char *name, s3i_run_phase *out)
{
	for (size_t i = 0; name && i < sizeof(phase_names) / sizeof(phase_names[0]); i++) {
		if (!strcmp(name, phase_names[i])) {
			*out = (s3i_run_phase)i;
			return S3I_OK;
		}
	}
	return S3I_EINVALID;
}

int s3i_run_phase_is_finished(s3i_run_phase p)
{
	return p == S3I_PHASE_DONE || p == S3I_PHASE_CLEANED;
}

static const char *const bucket_state_names[] = {
	"discovered", "in_progress", "ingesting", "done", "excluded", "skipped_region", "empty",
	"failed", "timed_out",
};

const char *s3i_bucket_state_name(s3i_bucket_state st)
{
	return (unsigned)st < sizeof(bucket_state_names) / sizeof(bucket_state_names[0])
		? bucket_state_names[st] : "unknown";
}

int s3i_bucket_state_parse(const char *name, s3i_bucket_state *out)
{
	for (size_t i = 0; name && i < sizeof(bucket_state_names) / sizeof(bucket_state_names[0]); i++) {
		if (!strcmp(name, bucket_state_names[i])) {
			*out = (s3i_bucket_state)i;
			return S3I_OK;
		}
	}
	return S3I_EINVALID;
}

int s3i_bucket_state_rank(s3i_bucket_state st)
{
	return st >= S3I_BUCKET_DONE ? TERMINAL_RANK : (int)st;
}

int s3i_bucket_state_is_terminal(s3i_bucket_state st)
{
	return st >= S3I_BUCKET_DONE;
}

/* ---- small helpers ---- */

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static int oom(s3i_errinfo *err)
{
	return s3i_err(err, S3I_ENOMEM, NULL, "state store: out of memory");
}

/* A heap string from printf; NULL when out of memory. */
static char *fmt_alloc(const s3i_allocator *a, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
static char *fmt_alloc(const s3i_allocator *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = s3i_malloc(a, (size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* An item holding the key (pk, sk), or NULL when out of memory. */
static s3i_ddb_item *key_item(const s3i_state *s, const char *pk, const char *sk)
{
	s3i_ddb_item *it = NULL;
	if (s3i_ddb_item_new(&it, s->alloc))
		return NULL;
	if (s3i_ddb_item_set_s(it, "partitionkey", pk) || s3i_ddb_item_set_s(it, "sortkey", sk)) {
		s3i_ddb_item_free(it);
		return NULL;
	}
	return it;
}

static s3i_ddb_item *new_item(const s3i_state *s)
{
	s3i_ddb_item *it = NULL;
	return s3i_ddb_item_new(&it, s->alloc) ? NULL : it;
}

static int64_t get_i64(const s3i_ddb_item *it, const char *name, int64_t dflt)
{
	int64_t v;
	return s3i_ddb_item_get_i64(it, name, &v) ? dflt : v;
}

static const char *get_s(const s3i_ddb_item *it, const char *name)
{
	const char *v = s3i_ddb_item_get_s(it, name);
	return v ? v : "";
}

static int get_b(const s3i_ddb_item *it, const char *name)
{
	int v = 0;
	return s3i_ddb_item_get_bool(it, name, &v) ? 0 : v;
}

static char *run_pk(const s3i_state *s, const char *run_id)
{
	return fmt_alloc(s->alloc, "run#%s", run_id);
}

static char *bucket_sk(const s3i_state *s, const char *account, const char *bucket)
{
	return fmt_alloc(s->alloc, "bucket#%s#%s", account, bucket);
}

static int check_id(s3i_errinfo *err, const char *what, const char *v)
{
	if (!v || !*v)
		return s3i_err(err, S3I_EINVALID, what, "state store: %s is missing", what);
	return S3I_OK;
}

/* ---- lifecycle ---- */

int s3i_state_new(s3i_state **out, const s3i_svc *svc, const char *table, s3i_errinfo *err)
{
	if (!out || !svc || !svc->client || !table || !*table)
		return s3i_err(err, S3I_EINVALID, NULL, "state store: client and table are required");
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	s3i_state *s = s3i_calloc(a, 1, sizeof(*s));
	if (!s)
		return oom(err);
	s->alloc = a;
	s->svc = *svc;
	s->table = s3i_strdup(a, table);
	if (svc->region)
		s->region = s3i_strdup(a, svc->region);
	if (!s->table || (svc->region && !s->region)) {
		s3i_state_free(s);
		return oom(err);
	}
	s->svc.region = s->region;
	*out = s;
	return S3I_OK;
}

void s3i_state_free(s3i_state *s)
{
	if (!s)
		return;
	s3i_free(s->alloc, s->table);
	s3i_free(s->alloc, s->region);
	s3i_free(s->alloc, s);
}

const char *s3i_state_table(const s3i_state *s)
{
	return s->table;
}

int s3i_state_create_table(s3i_state *s, int64_t timeout_ms, s3i_errinfo *err)
{
	int rc = s3i_ddb_create_table_op(&s->svc, s->table, "partitionkey", "sortkey", NULL, 0, err);
	if (rc && rc != S3I_EEXISTS)
		return rc;
	return s3i_ddb_wait_table_active_op(&s->svc, s->table, timeout_ms, err);
}

/* ---- runs ---- */

void s3i_state_run_dispose(s3i_state_run *r)
{
	if (r && r->input_json) {
		s3i_free(r->alloc, r->input_json);
		r->input_json = NULL;
	}
}

int s3i_state_run_create(s3i_state *s, const char *run_id, const char *input_json,
	const char *host_account, const char *host_region, int64_t now_ms, s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)))
		return rc;
	char *pk = run_pk(s, run_id);
	s3i_ddb_item *index = key_item(s, "runs", run_id);
	s3i_ddb_item *run = pk ? key_item(s, pk, "#run") : NULL;
	s3i_ddb_tx_result res;
	s3i_ddb_tx_result_init(&res);
	if (!index || !run || s3i_ddb_item_set_s(index, "phase", s3i_run_phase_name(S3I_PHASE_PROVISIONING))
	    || s3i_ddb_item_set_bool(index, "finished", 0)
	    || s3i_ddb_item_set_n_i64(index, "created_ms", now_ms)
	    || s3i_ddb_item_set_n_i64(index, "updated_ms", now_ms)
	    || s3i_ddb_item_set_s(run, "input", input_json ? input_json : "{}")
	    || s3i_ddb_item_set_s(run, "phase", s3i_run_phase_name(S3I_PHASE_PROVISIONING))
	    || s3i_ddb_item_set_n_i64(run, "phase_rank", S3I_PHASE_PROVISIONING)
	    || s3i_ddb_item_set_bool(run, "finished", 0)
	    || s3i_ddb_item_set_s(run, "host_account", host_account ? host_account : "")
	    || s3i_ddb_item_set_s(run, "host_region", host_region ? host_region : "")
	    || s3i_ddb_item_set_n_i64(run, "created_ms", now_ms)
	    || s3i_ddb_item_set_n_i64(run, "updated_ms", now_ms)) {
		rc = oom(err);
		goto out;
	}
	s3i_ddb_tx_item tx[2] = {
		{ .kind = S3I_DDB_TX_PUT, .table = s->table, .item = index,
		  .condition = "attribute_not_exists(sortkey)" },
		{ .kind = S3I_DDB_TX_PUT, .table = s->table, .item = run,
		  .condition = "attribute_not_exists(sortkey)" },
	};
	rc = s3i_ddb_transact_write_op(&s->svc, tx, 2, NULL, &res, err);
	if (rc == S3I_ECONFLICT) {
		int exists = 0;
		for (size_t i = 0; i < res.count; i++)
			exists |= !strcmp(res.reasons[i].code, "ConditionalCheckFailed");
		if (exists)
			rc = s3i_err(err, S3I_EEXISTS, run_id, "run '%s' already exists", run_id);
	}
out:
	s3i_ddb_tx_result_free(&res);
	s3i_ddb_item_free(index);
	s3i_ddb_item_free(run);
	s3i_free(s->alloc, pk);
	return rc;
}

int s3i_state_run_get(s3i_state *s, const char *run_id, s3i_state_run *out, s3i_errinfo *err)
{
	int rc;
	memset(out, 0, sizeof(*out));
	out->alloc = s->alloc;
	if ((rc = check_id(err, "run_id", run_id)))
		return rc;
	char *pk = run_pk(s, run_id);
	s3i_ddb_item *key = pk ? key_item(s, pk, "#run") : NULL;
	s3i_ddb_item *it = NULL;
	if (!key) {
		rc = oom(err);
		goto out;
	}
	s3i_ddb_get_opts go = { .consistent_read = 1 };
	if ((rc = s3i_ddb_get_item_op(&s->svc, s->table, key, &go, &it, err)))
		goto out;
	if (!it) {
		rc = s3i_err(err, S3I_ENOTFOUND, run_id, "run '%s' does not exist in table '%s'",
			run_id, s->table);
		goto out;
	}
	copy_str(out->run_id, sizeof(out->run_id), run_id);
	if (s3i_run_phase_parse(get_s(it, "phase"), &out->phase)) {
		rc = s3i_err(err, S3I_EPARSE, run_id, "run '%s' has an unknown phase '%s'", run_id,
			get_s(it, "phase"));
		goto out;
	}
	out->finished = get_b(it, "finished");
	out->input_json = s3i_strdup(s->alloc, get_s(it, "input"));
	if (!out->input_json) {
		rc = oom(err);
		goto out;
	}
	copy_str(out->host_account, sizeof(out->host_account), get_s(it, "host_account"));
	copy_str(out->host_region, sizeof(out->host_region), get_s(it, "host_region"));
	copy_str(out->error, sizeof(out->error), get_s(it, "error"));
	copy_str(out->error_stage, sizeof(out->error_stage), get_s(it, "error_stage"));
	out->created_ms = get_i64(it, "created_ms", 0);
	out->updated_ms = get_i64(it, "updated_ms", 0);
	out->inventory_deadline_ms = get_i64(it, "inventory_deadline_ms", 0);
	copy_str(out->smoke_database, sizeof(out->smoke_database), get_s(it, "smoke_database"));
	copy_str(out->smoke_table, sizeof(out->smoke_table), get_s(it, "smoke_table"));
out:
	s3i_ddb_item_free(it);
	s3i_ddb_item_free(key);
	s3i_free(s->alloc, pk);
	return rc;
}

/* Update the run item and the runs index together: phase, finished, updated_ms, plus
 * optional error fields. cond guards the run item. */
static int write_phase(s3i_state *s, const char *run_id, s3i_run_phase phase,
	const char *cond, const char *stage, const char *message, int64_t now_ms, int *moved,
	s3i_errinfo *err)
{
	int rc;
	char *pk = run_pk(s, run_id);
	s3i_ddb_item *rkey = pk ? key_item(s, pk, "#run") : NULL;
	s3i_ddb_item *ikey = key_item(s, "runs", run_id);
	s3i_ddb_item *vals = new_item(s);
	s3i_ddb_tx_result res;
	s3i_ddb_tx_result_init(&res);
	int finished = s3i_run_phase_is_finished(phase);
	if (moved)
		*moved = 0;
	if (!rkey || !ikey || !vals
	    || s3i_ddb_item_set_s(vals, ":p", s3i_run_phase_name(phase))
	    || s3i_ddb_item_set_n_i64(vals, ":r", phase)
	    || s3i_ddb_item_set_bool(vals, ":f", finished)
	    || s3i_ddb_item_set_n_i64(vals, ":now", now_ms)
	    || (stage && s3i_ddb_item_set_s(vals, ":stage", stage))
	    || (stage && s3i_ddb_item_set_s(vals, ":msg", message ? message : ""))) {
		rc = oom(err);
		goto out;
	}
	const char *run_update = stage
		? "SET phase = :p, phase_rank = :r, finished = :f, updated_ms = :now, "
		  "error_stage = :stage, #e = :msg"
		: "SET phase = :p, phase_rank = :r, finished = :f, updated_ms = :now";
	s3i_ddb_item *names = NULL;
	if (stage) {
		names = new_item(s);
		if (!names || s3i_ddb_item_set_s(names, "#e", "error")) {
			s3i_ddb_item_free(names);
			rc = oom(err);
			goto out;
		}
	}
	s3i_ddb_item *ivals = new_item(s);
	if (!ivals || s3i_ddb_item_set_s(ivals, ":p", s3i_run_phase_name(phase))
	    || s3i_ddb_item_set_bool(ivals, ":f", finished)
	    || s3i_ddb_item_set_n_i64(ivals, ":now", now_ms)) {
		s3i_ddb_item_free(ivals);
		s3i_ddb_item_free(names);
		rc = oom(err);
		goto out;
	}
	s3i_ddb_tx_item tx[2] = {
		{ .kind = S3I_DDB_TX_UPDATE, .table = s->table, .item = rkey, .update = run_update,
		  .condition = cond, .names = names, .values = vals },
		{ .kind = S3I_DDB_TX_UPDATE, .table = s->table, .item = ikey,
		  .update = "SET phase = :p, finished = :f, updated_ms = :now",
		  .condition = "attribute_exists(sortkey)", .values = ivals },
	};
	rc = s3i_ddb_transact_write_op(&s->svc, tx, 2, NULL, &res, err);
	s3i_ddb_item_free(ivals);
	s3i_ddb_item_free(names);
	if (rc == S3I_ECONFLICT && res.count == 2
	    && !strcmp(res.reasons[0].code, "ConditionalCheckFailed")) {
		/* Either no such run, or it is already at or past `phase`. */
		s3i_state_run cur;
		int grc = s3i_state_run_get(s, run_id, &cur, err);
		s3i_state_run_dispose(&cur);
		rc = grc;
	} else if (rc == S3I_OK && moved) {
		*moved = 1;
	}
out:
	s3i_ddb_tx_result_free(&res);
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(rkey);
	s3i_ddb_item_free(ikey);
	s3i_free(s->alloc, pk);
	return rc;
}

static const char *phase_condition(s3i_run_phase phase)
{
	/* Only :p, :r, :f and :now exist (DynamoDB refuses unused values). A failed run (rank 8)
	 * cannot go back to a working phase or to done; the first failure wins; Cleanup may
	 * finish any unfinished run. */
	switch (phase) {
	case S3I_PHASE_FAILED:
		return "attribute_exists(sortkey) AND finished = :f AND phase_rank < :r";
	case S3I_PHASE_CLEANED:
		return "attribute_exists(sortkey) AND finished <> :f";
	default:
		return "attribute_exists(sortkey) AND phase_rank < :r";
	}
}

int s3i_state_run_set_phase(s3i_state *s, const char *run_id, s3i_run_phase phase,
	int64_t now_ms, int *moved, s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)))
		return rc;
	if ((unsigned)phase > S3I_PHASE_CLEANED)
		return s3i_err(err, S3I_EINVALID, run_id, "run '%s': unknown phase %d", run_id, (int)phase);
	return write_phase(s, run_id, phase, phase_condition(phase), NULL, NULL, now_ms, moved, err);
}

int s3i_state_run_fail(s3i_state *s, const char *run_id, const char *stage, const char *message,
	int64_t now_ms, s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)))
		return rc;
	char msg[1024];
	copy_str(msg, sizeof(msg), message);
	return write_phase(s, run_id, S3I_PHASE_FAILED, phase_condition(S3I_PHASE_FAILED),
		stage ? stage : "", msg, now_ms, NULL, err);
}

/* Update the run's item with `update` under `condition` (the attribute it sets not there
 * yet): the first value stays, and a conflict is success once the run is found to exist.
 * Takes vals; built = 0 when building vals ran out of memory. */
static int update_run_once(s3i_state *s, const char *run_id, s3i_ddb_item *vals, int built,
	const char *update, const char *condition, s3i_errinfo *err)
{
	int rc;
	char *pk = run_pk(s, run_id);
	s3i_ddb_item *key = pk ? key_item(s, pk, "#run") : NULL;
	if (!key || !vals || !built) {
		rc = oom(err);
		goto out;
	}
	s3i_ddb_write_opts wo = {
		.update = update,
		.condition = condition,
		.values = vals,
	};
	rc = s3i_ddb_update_item_op(&s->svc, s->table, key, &wo, NULL, err);
	if (rc == S3I_ECONFLICT) {
		/* Already set (the first value stays) or no such run. */
		s3i_state_run cur;
		rc = s3i_state_run_get(s, run_id, &cur, err);
		s3i_state_run_dispose(&cur);
	}
out:
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(key);
	s3i_free(s->alloc, pk);
	return rc;
}

int s3i_state_run_set_deadline(s3i_state *s, const char *run_id, int64_t deadline_ms,
	s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)))
		return rc;
	s3i_ddb_item *vals = new_item(s);
	int built = vals && !s3i_ddb_item_set_n_i64(vals, ":d", deadline_ms);
	return update_run_once(s, run_id, vals, built, "SET inventory_deadline_ms = :d",
		"attribute_exists(sortkey) AND attribute_not_exists(inventory_deadline_ms)", err);
}

int s3i_state_run_set_smoke_names(s3i_state *s, const char *run_id, const char *database,
	const char *table, s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)) || (rc = check_id(err, "database", database))
	    || (rc = check_id(err, "table", table)))
		return rc;
	s3i_ddb_item *vals = new_item(s);
	int built = vals && !s3i_ddb_item_set_s(vals, ":db", database)
		&& !s3i_ddb_item_set_s(vals, ":tb", table);
	return update_run_once(s, run_id, vals, built,
		"SET smoke_database = :db, smoke_table = :tb",
		"attribute_exists(sortkey) AND attribute_not_exists(smoke_database)", err);
}

typedef struct runs_walk {
	s3i_state_run_fn fn;
	void *user;
	int unfinished_only;
} runs_walk;

static int runs_item(void *payload, const s3i_ddb_item *it)
{
	runs_walk *w = payload;
	s3i_run_phase phase = S3I_PHASE_PROVISIONING;
	(void)s3i_run_phase_parse(get_s(it, "phase"), &phase);
	int finished = get_b(it, "finished");
	if (w->unfinished_only && finished)
		return 0;
	return w->fn(w->user, get_s(it, "sortkey"), phase, finished);
}

/* Query every item of partition pk whose sort key begins with prefix (NULL: all). */
static int query_partition(s3i_state *s, const char *pk, const char *prefix, s3i_ddb_item_fn fn,
	void *payload, s3i_errinfo *err)
{
	s3i_ddb_item *vals = new_item(s);
	if (!vals || s3i_ddb_item_set_s(vals, ":pk", pk)
	    || (prefix && s3i_ddb_item_set_s(vals, ":pre", prefix))) {
		s3i_ddb_item_free(vals);
		return oom(err);
	}
	s3i_ddb_query q = {
		.table = s->table,
		.key_condition = prefix ? "partitionkey = :pk AND begins_with(sortkey, :pre)"
					: "partitionkey = :pk",
		.values = vals,
		.consistent_read = 1,
	};
	int rc = s3i_ddb_query_op(&s->svc, &q, fn, payload, NULL, err);
	s3i_ddb_item_free(vals);
	return rc;
}

int s3i_state_runs_list(s3i_state *s, int unfinished_only, s3i_state_run_fn fn, void *user,
	s3i_errinfo *err)
{
	runs_walk w = { fn, user, unfinished_only };
	return query_partition(s, "runs", NULL, runs_item, &w, err);
}

/* ---- input accounts ---- */

#define ACCOUNT_DISCOVERED "discovered"
#define ACCOUNT_FAILED "failed"

static void account_from_item(const s3i_ddb_item *it, s3i_state_account *a)
{
	memset(a, 0, sizeof(*a));
	copy_str(a->account, sizeof(a->account), get_s(it, "account"));
	a->failed = strcmp(get_s(it, "status"), ACCOUNT_DISCOVERED) != 0;
	copy_str(a->reason, sizeof(a->reason), get_s(it, "reason"));
	a->buckets = get_i64(it, "buckets", 0);
	a->updated_ms = get_i64(it, "updated_ms", 0);
}

static s3i_ddb_item *account_key(const s3i_state *s, const char *run_id, const char *account)
{
	char *pk = run_pk(s, run_id);
	char *sk = fmt_alloc(s->alloc, "account#%s", account);
	s3i_ddb_item *it = pk && sk ? key_item(s, pk, sk) : NULL;
	s3i_free(s->alloc, sk);
	s3i_free(s->alloc, pk);
	return it;
}

int s3i_state_account_put(s3i_state *s, const char *run_id, const char *account, int failed,
	const char *reason, int64_t buckets, int64_t now_ms, int *written, s3i_errinfo *err)
{
	int rc;
	if (written)
		*written = 0;
	if ((rc = check_id(err, "run_id", run_id)) || (rc = check_id(err, "account", account)))
		return rc;
	char why[1024];
	copy_str(why, sizeof(why), failed ? reason : "");
	s3i_ddb_item *it = account_key(s, run_id, account);
	s3i_ddb_item *vals = new_item(s);
	s3i_ddb_item *names = new_item(s);
	if (!it || !vals || !names || s3i_ddb_item_set_s(it, "account", account)
	    || s3i_ddb_item_set_s(it, "status", failed ? ACCOUNT_FAILED : ACCOUNT_DISCOVERED)
	    || s3i_ddb_item_set_s(it, "reason", why)
	    || s3i_ddb_item_set_n_i64(it, "buckets", failed ? 0 : buckets)
	    || s3i_ddb_item_set_n_i64(it, "updated_ms", now_ms)
	    || s3i_ddb_item_set_s(vals, ":failed", ACCOUNT_FAILED)
	    || s3i_ddb_item_set_s(names, "#s", "status")) {
		rc = oom(err);
		goto out;
	}
	/* discovered is final: only an absent or failed marker is (re)written */
	s3i_ddb_write_opts wo = {
		.condition = "attribute_not_exists(sortkey) OR #s = :failed",
		.names = names,
		.values = vals,
	};
	rc = s3i_ddb_put_item_op(&s->svc, s->table, it, &wo, NULL, err);
	if (rc == S3I_ECONFLICT) {
		s3i_errinfo_clear(err ? err : s3i_errinfo_thread());
		rc = S3I_OK;
	} else if (rc == S3I_OK && written)
		*written = 1;
out:
	s3i_ddb_item_free(names);
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(it);
	return rc;
}

int s3i_state_account_get(s3i_state *s, const char *run_id, const char *account,
	s3i_state_account *out, s3i_errinfo *err)
{
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = check_id(err, "run_id", run_id)) || (rc = check_id(err, "account", account)))
		return rc;
	s3i_ddb_item *key = account_key(s, run_id, account);
	s3i_ddb_item *it = NULL;
	if (!key)
		return oom(err);
	s3i_ddb_get_opts go = { .consistent_read = 1 };
	rc = s3i_ddb_get_item_op(&s->svc, s->table, key, &go, &it, err);
	if (rc == S3I_OK && !it)
		rc = s3i_err(err, S3I_ENOTFOUND, account,
			"account %s of run '%s' is not discovered yet", account, run_id);
	else if (rc == S3I_OK)
		account_from_item(it, out);
	s3i_ddb_item_free(it);
	s3i_ddb_item_free(key);
	return rc;
}

typedef struct accounts_walk {
	s3i_state_account_fn fn;
	void *user;
} accounts_walk;

static int accounts_item(void *payload, const s3i_ddb_item *it)
{
	accounts_walk *w = payload;
	s3i_state_account a;
	account_from_item(it, &a);
	return w->fn(w->user, &a);
}

int s3i_state_accounts_list(s3i_state *s, const char *run_id, s3i_state_account_fn fn,
	void *user, s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)))
		return rc;
	char *pk = run_pk(s, run_id);
	if (!pk)
		return oom(err);
	accounts_walk w = { fn, user };
	rc = query_partition(s, pk, "account#", accounts_item, &w, err);
	s3i_free(s->alloc, pk);
	return rc;
}

/* ---- regions and routing ---- */

int s3i_state_region_put(s3i_state *s, const char *run_id, const s3i_state_region *r,
	s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)) || (rc = check_id(err, "region", r->region)))
		return rc;
	char *pk = run_pk(s, run_id);
	char *sk = fmt_alloc(s->alloc, "region#%s", r->region);
	s3i_ddb_item *it = pk && sk ? key_item(s, pk, sk) : NULL;
	if (!it || s3i_ddb_item_set_s(it, "region", r->region)
	    || s3i_ddb_item_set_s(it, "staging_bucket", r->staging_bucket)
	    || s3i_ddb_item_set_s(it, "stack_name", r->stack_name)
	    || s3i_ddb_item_set_s(it, "stack_id", r->stack_id)
	    || s3i_ddb_item_set_s(it, "topic_arn", r->topic_arn)
	    || s3i_ddb_item_set_s(it, "status", r->status[0] ? r->status : "pending")
	    || s3i_ddb_item_set_s(it, "reason", r->reason))
		rc = oom(err);
	else
		rc = s3i_ddb_put_item_op(&s->svc, s->table, it, NULL, NULL, err);
	s3i_ddb_item_free(it);
	s3i_free(s->alloc, sk);
	s3i_free(s->alloc, pk);
	return rc;
}

typedef struct regions_walk {
	s3i_state_region_fn fn;
	void *user;
} regions_walk;

static int regions_item(void *payload, const s3i_ddb_item *it)
{
	regions_walk *w = payload;
	s3i_state_region r;
	memset(&r, 0, sizeof(r));
	copy_str(r.region, sizeof(r.region), get_s(it, "region"));
	copy_str(r.staging_bucket, sizeof(r.staging_bucket), get_s(it, "staging_bucket"));
	copy_str(r.stack_name, sizeof(r.stack_name), get_s(it, "stack_name"));
	copy_str(r.stack_id, sizeof(r.stack_id), get_s(it, "stack_id"));
	copy_str(r.topic_arn, sizeof(r.topic_arn), get_s(it, "topic_arn"));
	copy_str(r.status, sizeof(r.status), get_s(it, "status"));
	copy_str(r.reason, sizeof(r.reason), get_s(it, "reason"));
	return w->fn(w->user, &r);
}

int s3i_state_regions_list(s3i_state *s, const char *run_id, s3i_state_region_fn fn, void *user,
	s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)))
		return rc;
	char *pk = run_pk(s, run_id);
	if (!pk)
		return oom(err);
	regions_walk w = { fn, user };
	rc = query_partition(s, pk, "region#", regions_item, &w, err);
	s3i_free(s->alloc, pk);
	return rc;
}

int s3i_state_route_put(s3i_state *s, const char *staging_bucket, const char *run_id,
	const char *region, const char *account, s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "staging bucket", staging_bucket)) || (rc = check_id(err, "run_id", run_id)))
		return rc;
	char *pk = fmt_alloc(s->alloc, "staging#%s", staging_bucket);
	s3i_ddb_item *it = pk ? key_item(s, pk, "#route") : NULL;
	s3i_ddb_item *vals = new_item(s);
	if (!it || !vals || s3i_ddb_item_set_s(it, "run_id", run_id)
	    || s3i_ddb_item_set_s(it, "region", region ? region : "")
	    || s3i_ddb_item_set_s(it, "account", account ? account : "")
	    || s3i_ddb_item_set_s(vals, ":run", run_id)) {
		rc = oom(err);
		goto out;
	}
	s3i_ddb_write_opts wo = {
		.condition = "attribute_not_exists(sortkey) OR run_id = :run",
		.values = vals,
		.return_old_on_condition_failure = 1,
	};
	s3i_ddb_item *old = NULL;
	rc = s3i_ddb_put_item_op(&s->svc, s->table, it, &wo, &old, err);
	if (rc == S3I_ECONFLICT)
		rc = s3i_err(err, S3I_ECONFLICT, staging_bucket,
			"staging bucket '%s' is already routed to run '%s', not '%s'", staging_bucket,
			old ? get_s(old, "run_id") : "?", run_id);
	s3i_ddb_item_free(old);
out:
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(it);
	s3i_free(s->alloc, pk);
	return rc;
}

int s3i_state_route_get(s3i_state *s, const char *staging_bucket, char *run_id, char *region,
	s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "staging bucket", staging_bucket)))
		return rc;
	char *pk = fmt_alloc(s->alloc, "staging#%s", staging_bucket);
	s3i_ddb_item *key = pk ? key_item(s, pk, "#route") : NULL;
	s3i_ddb_item *it = NULL;
	if (!key) {
		rc = oom(err);
		goto out;
	}
	s3i_ddb_get_opts go = { .consistent_read = 1 };
	if ((rc = s3i_ddb_get_item_op(&s->svc, s->table, key, &go, &it, err)))
		goto out;
	if (!it) {
		rc = s3i_err(err, S3I_ENOTFOUND, staging_bucket,
			"no run uses staging bucket '%s'", staging_bucket);
		goto out;
	}
	copy_str(run_id, 16, get_s(it, "run_id"));
	if (region)
		copy_str(region, 32, get_s(it, "region"));
out:
	s3i_ddb_item_free(it);
	s3i_ddb_item_free(key);
	s3i_free(s->alloc, pk);
	return rc;
}

int s3i_state_route_delete(s3i_state *s, const char *staging_bucket, s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "staging bucket", staging_bucket)))
		return rc;
	char *pk = fmt_alloc(s->alloc, "staging#%s", staging_bucket);
	s3i_ddb_item *key = pk ? key_item(s, pk, "#route") : NULL;
	rc = key ? s3i_ddb_delete_item_op(&s->svc, s->table, key, NULL, NULL, err) : oom(err);
	s3i_ddb_item_free(key);
	s3i_free(s->alloc, pk);
	return rc;
}

/* ---- source buckets ---- */

static void bucket_from_item(const s3i_ddb_item *it, s3i_state_bucket *b)
{
	memset(b, 0, sizeof(*b));
	copy_str(b->account, sizeof(b->account), get_s(it, "account"));
	copy_str(b->region, sizeof(b->region), get_s(it, "region"));
	copy_str(b->bucket, sizeof(b->bucket), get_s(it, "bucket"));
	if (s3i_bucket_state_parse(get_s(it, "status"), &b->status))
		b->status = S3I_BUCKET_FAILED;
	copy_str(b->reason, sizeof(b->reason), get_s(it, "reason"));
	b->inventory_configured = get_b(it, "inventory_configured");
	copy_str(b->manifest_key, sizeof(b->manifest_key), get_s(it, "manifest_key"));
	b->expected_files = get_i64(it, "expected_files", -1);
	b->partitioned_files = get_i64(it, "partitioned_files", 0);
	b->objects = get_i64(it, "objects", 0);
	b->bytes = get_i64(it, "bytes", 0);
	b->created_ms = get_i64(it, "created_ms", 0);
	b->updated_ms = get_i64(it, "updated_ms", 0);
	b->counted_ms = get_i64(it, "counted_ms", 0);
}

/* The bucket's key item; NULL when out of memory. */
static s3i_ddb_item *bucket_key(s3i_state *s, const char *run_id, const char *account,
	const char *bucket)
{
	char *pk = run_pk(s, run_id);
	char *sk = bucket_sk(s, account, bucket);
	s3i_ddb_item *key = pk && sk ? key_item(s, pk, sk) : NULL;
	s3i_free(s->alloc, pk);
	s3i_free(s->alloc, sk);
	return key;
}

static int check_bucket_args(s3i_errinfo *err, const char *run_id, const char *account,
	const char *bucket)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)) || (rc = check_id(err, "account", account))
	    || (rc = check_id(err, "bucket", bucket)))
		return rc;
	return S3I_OK;
}

int s3i_state_bucket_add(s3i_state *s, const char *run_id, const char *account,
	const char *region, const char *bucket, s3i_bucket_state st, const char *reason,
	int64_t now_ms, int *created, s3i_errinfo *err)
{
	int rc;
	if (created)
		*created = 0;
	if ((rc = check_bucket_args(err, run_id, account, bucket)))
		return rc;
	s3i_ddb_item *it = bucket_key(s, run_id, account, bucket);
	if (!it || s3i_ddb_item_set_s(it, "account", account)
	    || s3i_ddb_item_set_s(it, "region", region ? region : "")
	    || s3i_ddb_item_set_s(it, "bucket", bucket)
	    || s3i_ddb_item_set_s(it, "status", s3i_bucket_state_name(st))
	    || s3i_ddb_item_set_n_i64(it, "status_rank", s3i_bucket_state_rank(st))
	    || s3i_ddb_item_set_s(it, "reason", reason ? reason : "")
	    || s3i_ddb_item_set_bool(it, "inventory_configured", 0)
	    || s3i_ddb_item_set_n_i64(it, "partitioned_files", 0)
	    || s3i_ddb_item_set_n_i64(it, "objects", 0)
	    || s3i_ddb_item_set_n_i64(it, "bytes", 0)
	    || s3i_ddb_item_set_n_i64(it, "created_ms", now_ms)
	    || s3i_ddb_item_set_n_i64(it, "updated_ms", now_ms)) {
		s3i_ddb_item_free(it);
		return oom(err);
	}
	s3i_ddb_write_opts wo = { .condition = "attribute_not_exists(sortkey)" };
	rc = s3i_ddb_put_item_op(&s->svc, s->table, it, &wo, NULL, err);
	s3i_ddb_item_free(it);
	if (rc == S3I_ECONFLICT) {
		s3i_errinfo_clear(err ? err : s3i_errinfo_thread());
		return S3I_OK;
	}
	if (rc == S3I_OK && created)
		*created = 1;
	return rc;
}

/* After a refused conditional bucket write: S3I_ENOTFOUND when the bucket is not there,
 * S3I_OK otherwise (the refusal was the condition doing its job). */
static int bucket_exists_or_notfound(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, s3i_errinfo *err)
{
	s3i_state_bucket b;
	int rc = s3i_state_bucket_get(s, run_id, account, bucket, &b, err);
	if (rc == S3I_OK)
		s3i_errinfo_clear(err ? err : s3i_errinfo_thread());
	return rc;
}

int s3i_state_bucket_set_status(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, s3i_bucket_state st, const char *reason, int64_t now_ms, int *moved,
	s3i_errinfo *err)
{
	int rc;
	if (moved)
		*moved = 0;
	if ((rc = check_bucket_args(err, run_id, account, bucket)))
		return rc;
	if ((unsigned)st > S3I_BUCKET_TIMED_OUT)
		return s3i_err(err, S3I_EINVALID, bucket, "bucket '%s': unknown status %d", bucket, (int)st);
	char why[1024];
	copy_str(why, sizeof(why), reason);
	s3i_ddb_item *key = bucket_key(s, run_id, account, bucket);
	s3i_ddb_item *vals = new_item(s);
	s3i_ddb_item *names = new_item(s);
	if (!key || !vals || !names
	    || s3i_ddb_item_set_s(vals, ":st", s3i_bucket_state_name(st))
	    || s3i_ddb_item_set_n_i64(vals, ":rank", s3i_bucket_state_rank(st))
	    || s3i_ddb_item_set_n_i64(vals, ":terminal", TERMINAL_RANK)
	    || s3i_ddb_item_set_s(vals, ":why", why)
	    || s3i_ddb_item_set_n_i64(vals, ":now", now_ms)
	    || s3i_ddb_item_set_s(names, "#s", "status")) {
		rc = oom(err);
		goto out;
	}
	/* Same-rank non-terminal writes are allowed (idempotent); terminal is final. */
	s3i_ddb_write_opts wo = {
		.update = "SET #s = :st, status_rank = :rank, reason = :why, updated_ms = :now",
		.condition = "attribute_exists(sortkey) AND status_rank <= :rank AND status_rank < :terminal",
		.names = names,
		.values = vals,
	};
	rc = s3i_ddb_update_item_op(&s->svc, s->table, key, &wo, NULL, err);
	if (rc == S3I_OK && moved)
		*moved = 1;
	else if (rc == S3I_ECONFLICT)
		rc = bucket_exists_or_notfound(s, run_id, account, bucket, err);
out:
	s3i_ddb_item_free(names);
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(key);
	return rc;
}

int s3i_state_bucket_set_inventory_configured(s3i_state *s, const char *run_id,
	const char *account, const char *bucket, int configured, int64_t now_ms, s3i_errinfo *err)
{
	int rc;
	if ((rc = check_bucket_args(err, run_id, account, bucket)))
		return rc;
	s3i_ddb_item *key = bucket_key(s, run_id, account, bucket);
	s3i_ddb_item *vals = new_item(s);
	if (!key || !vals || s3i_ddb_item_set_bool(vals, ":c", configured != 0)
	    || s3i_ddb_item_set_n_i64(vals, ":now", now_ms)) {
		rc = oom(err);
	} else {
		s3i_ddb_write_opts wo = {
			.update = "SET inventory_configured = :c, updated_ms = :now",
			.condition = "attribute_exists(sortkey)",
			.values = vals,
		};
		rc = s3i_ddb_update_item_op(&s->svc, s->table, key, &wo, NULL, err);
		if (rc == S3I_ECONFLICT)
			rc = s3i_err(err, S3I_ENOTFOUND, bucket, "bucket '%s' of account %s is not part of run '%s'",
				bucket, account, run_id);
	}
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(key);
	return rc;
}

int s3i_state_bucket_claim_manifest(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, const char *manifest_key, int64_t expected_files, int64_t now_ms,
	int *won, s3i_errinfo *err)
{
	int rc;
	*won = 0;
	if ((rc = check_bucket_args(err, run_id, account, bucket))
	    || (rc = check_id(err, "manifest key", manifest_key)))
		return rc;
	s3i_ddb_item *key = bucket_key(s, run_id, account, bucket);
	s3i_ddb_item *vals = new_item(s);
	s3i_ddb_item *old = NULL;
	if (!key || !vals
	    || s3i_ddb_item_set_s(vals, ":k", manifest_key)
	    || s3i_ddb_item_set_n_i64(vals, ":n", expected_files)
	    || s3i_ddb_item_set_n_i64(vals, ":terminal", TERMINAL_RANK)
	    || s3i_ddb_item_set_n_i64(vals, ":now", now_ms)) {
		rc = oom(err);
		goto out;
	}
	/* A bucket already in a terminal status (timed out, failed) takes no manifest; the
	 * status then moves to INGESTING in a second, conditional write (idempotent, so a crash
	 * between the two is repaired by the next claim of the same manifest). */
	s3i_ddb_write_opts wo = {
		.update = "SET manifest_key = :k, expected_files = :n, updated_ms = :now",
		.condition = "attribute_exists(sortkey) AND ((attribute_not_exists(manifest_key) "
			     "AND status_rank < :terminal) OR manifest_key = :k)",
		.values = vals,
		.return_old_on_condition_failure = 1,
	};
	rc = s3i_ddb_update_item_op(&s->svc, s->table, key, &wo, &old, err);
	if (rc == S3I_OK) {
		*won = 1;
		rc = s3i_state_bucket_set_status(s, run_id, account, bucket, S3I_BUCKET_INGESTING,
			NULL, now_ms, NULL, err);
	} else if (rc == S3I_ECONFLICT) {
		if (!old)
			rc = s3i_err(err, S3I_ENOTFOUND, bucket,
				"bucket '%s' of account %s is not part of run '%s'", bucket, account, run_id);
		else {
			s3i_errinfo_clear(err ? err : s3i_errinfo_thread());
			rc = S3I_OK;
		}
	}
out:
	s3i_ddb_item_free(old);
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(key);
	return rc;
}

int s3i_state_file_done(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, const char *data_key, const char *dest_key, int64_t size,
	const char *md5, int64_t objects, int64_t bytes, int64_t now_ms, int *counted,
	s3i_errinfo *err)
{
	int rc;
	*counted = 0;
	if ((rc = check_bucket_args(err, run_id, account, bucket))
	    || (rc = check_id(err, "data file key", data_key)))
		return rc;
	char *pk = run_pk(s, run_id);
	char *sk = fmt_alloc(s->alloc, "file#%s#%s#%s", account, bucket, data_key);
	s3i_ddb_item *file = pk && sk ? key_item(s, pk, sk) : NULL;
	s3i_ddb_item *bkey = bucket_key(s, run_id, account, bucket);
	s3i_ddb_item *vals = new_item(s);
	s3i_ddb_tx_result res;
	s3i_ddb_tx_result_init(&res);
	if (!file || !bkey || !vals
	    || s3i_ddb_item_set_s(file, "account", account)
	    || s3i_ddb_item_set_s(file, "bucket", bucket)
	    || s3i_ddb_item_set_s(file, "data_key", data_key)
	    || s3i_ddb_item_set_s(file, "dest_key", dest_key ? dest_key : "")
	    || s3i_ddb_item_set_n_i64(file, "size", size)
	    || s3i_ddb_item_set_s(file, "md5", md5 ? md5 : "")
	    || s3i_ddb_item_set_n_i64(file, "objects", objects)
	    || s3i_ddb_item_set_n_i64(file, "bytes", bytes)
	    || s3i_ddb_item_set_n_i64(file, "done_ms", now_ms)
	    || s3i_ddb_item_set_n_i64(vals, ":one", 1)
	    || s3i_ddb_item_set_n_i64(vals, ":o", objects)
	    || s3i_ddb_item_set_n_i64(vals, ":b", bytes)
	    || s3i_ddb_item_set_n_i64(vals, ":now", now_ms)) {
		rc = oom(err);
		goto out;
	}
	s3i_ddb_tx_item tx[2] = {
		{ .kind = S3I_DDB_TX_PUT, .table = s->table, .item = file,
		  .condition = "attribute_not_exists(sortkey)" },
		{ .kind = S3I_DDB_TX_UPDATE, .table = s->table, .item = bkey,
		  .update = "ADD partitioned_files :one, objects :o, #b :b SET updated_ms = :now",
		  .condition = "attribute_exists(sortkey)", .values = vals },
	};
	s3i_ddb_item *names = new_item(s);
	if (!names || s3i_ddb_item_set_s(names, "#b", "bytes")) {
		s3i_ddb_item_free(names);
		rc = oom(err);
		goto out;
	}
	tx[1].names = names;
	rc = s3i_ddb_transact_write_op(&s->svc, tx, 2, NULL, &res, err);
	s3i_ddb_item_free(names);
	if (rc == S3I_OK) {
		*counted = 1;
	} else if (rc == S3I_ECONFLICT && res.count == 2) {
		if (!strcmp(res.reasons[0].code, "ConditionalCheckFailed")) {
			s3i_errinfo_clear(err ? err : s3i_errinfo_thread());
			rc = S3I_OK;    /* counted before */
		} else if (!strcmp(res.reasons[1].code, "ConditionalCheckFailed")) {
			rc = s3i_err(err, S3I_ENOTFOUND, bucket,
				"bucket '%s' of account %s is not part of run '%s'", bucket, account, run_id);
		}
	}
out:
	s3i_ddb_tx_result_free(&res);
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(bkey);
	s3i_ddb_item_free(file);
	s3i_free(s->alloc, sk);
	s3i_free(s->alloc, pk);
	return rc;
}

int s3i_state_bucket_set_counts(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, int64_t objects, int64_t bytes, int64_t now_ms, int *set,
	s3i_errinfo *err)
{
	int rc;
	if (set)
		*set = 0;
	if ((rc = check_bucket_args(err, run_id, account, bucket)))
		return rc;
	if (objects < 0 || bytes < 0)
		return s3i_err(err, S3I_EINVALID, bucket, "bucket '%s' of account %s: negative count",
			bucket, account);
	s3i_ddb_item *key = bucket_key(s, run_id, account, bucket);
	s3i_ddb_item *vals = new_item(s);
	s3i_ddb_item *names = new_item(s);
	s3i_ddb_item *old = NULL;
	if (!key || !vals || !names
	    || s3i_ddb_item_set_n_i64(vals, ":o", objects)
	    || s3i_ddb_item_set_n_i64(vals, ":b", bytes)
	    || s3i_ddb_item_set_n_i64(vals, ":now", now_ms > 0 ? now_ms : 1)
	    || s3i_ddb_item_set_s(names, "#b", "bytes")) {
		rc = oom(err);
		goto out;
	}
	/* set once: a resumed count finds counted_ms and changes nothing */
	s3i_ddb_write_opts wo = {
		.update = "SET objects = :o, #b = :b, counted_ms = :now, updated_ms = :now",
		.condition = "attribute_exists(sortkey) AND attribute_not_exists(counted_ms)",
		.names = names,
		.values = vals,
		.return_old_on_condition_failure = 1,
	};
	rc = s3i_ddb_update_item_op(&s->svc, s->table, key, &wo, &old, err);
	if (rc == S3I_OK) {
		if (set)
			*set = 1;
	} else if (rc == S3I_ECONFLICT) {
		if (!old)
			rc = s3i_err(err, S3I_ENOTFOUND, bucket,
				"bucket '%s' of account %s is not part of run '%s'", bucket, account, run_id);
		else {
			s3i_errinfo_clear(err ? err : s3i_errinfo_thread());
			rc = S3I_OK;
		}
	}
out:
	s3i_ddb_item_free(old);
	s3i_ddb_item_free(names);
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(key);
	return rc;
}

int s3i_state_bucket_try_complete(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, int64_t now_ms, int *done, s3i_errinfo *err)
{
	int rc;
	*done = 0;
	if ((rc = check_bucket_args(err, run_id, account, bucket)))
		return rc;
	s3i_ddb_item *key = bucket_key(s, run_id, account, bucket);
	s3i_ddb_item *vals = new_item(s);
	s3i_ddb_item *names = new_item(s);
	if (!key || !vals || !names
	    || s3i_ddb_item_set_s(vals, ":done", s3i_bucket_state_name(S3I_BUCKET_DONE))
	    || s3i_ddb_item_set_n_i64(vals, ":terminal", TERMINAL_RANK)
	    || s3i_ddb_item_set_n_i64(vals, ":now", now_ms)
	    || s3i_ddb_item_set_s(vals, ":none", "")
	    || s3i_ddb_item_set_s(names, "#s", "status")) {
		rc = oom(err);
		goto out;
	}
	s3i_ddb_write_opts wo = {
		.update = "SET #s = :done, status_rank = :terminal, reason = :none, updated_ms = :now",
		.condition = "attribute_exists(manifest_key) AND partitioned_files = expected_files "
			     "AND status_rank < :terminal",
		.names = names,
		.values = vals,
	};
	rc = s3i_ddb_update_item_op(&s->svc, s->table, key, &wo, NULL, err);
	if (rc == S3I_OK) {
		*done = 1;
	} else if (rc == S3I_ECONFLICT) {
		s3i_state_bucket b;
		rc = s3i_state_bucket_get(s, run_id, account, bucket, &b, err);
		if (rc == S3I_OK) {
			s3i_errinfo_clear(err ? err : s3i_errinfo_thread());
			*done = b.status == S3I_BUCKET_DONE;
		}
	}
out:
	s3i_ddb_item_free(names);
	s3i_ddb_item_free(vals);
	s3i_ddb_item_free(key);
	return rc;
}

int s3i_state_bucket_get(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, s3i_state_bucket *out, s3i_errinfo *err)
{
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = check_bucket_args(err, run_id, account, bucket)))
		return rc;
	s3i_ddb_item *key = bucket_key(s, run_id, account, bucket);
	s3i_ddb_item *it = NULL;
	if (!key)
		return oom(err);
	s3i_ddb_get_opts go = { .consistent_read = 1 };
	rc = s3i_ddb_get_item_op(&s->svc, s->table, key, &go, &it, err);
	if (rc == S3I_OK && !it)
		rc = s3i_err(err, S3I_ENOTFOUND, bucket, "bucket '%s' of account %s is not part of run '%s'",
			bucket, account, run_id);
	else if (rc == S3I_OK)
		bucket_from_item(it, out);
	s3i_ddb_item_free(it);
	s3i_ddb_item_free(key);
	return rc;
}

typedef struct buckets_walk {
	s3i_state_bucket_fn fn;
	void *user;
} buckets_walk;

static int buckets_item(void *payload, const s3i_ddb_item *it)
{
	buckets_walk *w = payload;
	s3i_state_bucket b;
	bucket_from_item(it, &b);
	return w->fn(w->user, &b);
}

int s3i_state_buckets_list(s3i_state *s, const char *run_id, s3i_state_bucket_fn fn,
	void *user, s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)))
		return rc;
	char *pk = run_pk(s, run_id);
	if (!pk)
		return oom(err);
	buckets_walk w = { fn, user };
	rc = query_partition(s, pk, "bucket#", buckets_item, &w, err);
	s3i_free(s->alloc, pk);
	return rc;
}

typedef struct files_walk {
	s3i_state_file_fn fn;
	void *user;
} files_walk;

static int files_item(void *payload, const s3i_ddb_item *it)
{
	files_walk *w = payload;
	s3i_state_file f = {
		.account = get_s(it, "account"),
		.bucket = get_s(it, "bucket"),
		.data_key = get_s(it, "data_key"),
		.dest_key = get_s(it, "dest_key"),
		.size = get_i64(it, "size", 0),
		.md5 = get_s(it, "md5"),
		.objects = get_i64(it, "objects", 0),
		.bytes = get_i64(it, "bytes", 0),
	};
	return w->fn(w->user, &f);
}

int s3i_state_files_list(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, s3i_state_file_fn fn, void *user, s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)))
		return rc;
	char *pk = run_pk(s, run_id);
	char *prefix = account && bucket ? fmt_alloc(s->alloc, "file#%s#%s#", account, bucket)
					 : fmt_alloc(s->alloc, "file#");
	if (!pk || !prefix) {
		rc = oom(err);
	} else {
		files_walk w = { fn, user };
		rc = query_partition(s, pk, prefix, files_item, &w, err);
	}
	s3i_free(s->alloc, prefix);
	s3i_free(s->alloc, pk);
	return rc;
}

int s3i_state_delivery_ignored(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, const char *manifest_key, const char *why, int64_t now_ms,
	s3i_errinfo *err)
{
	int rc;
	if ((rc = check_bucket_args(err, run_id, account, bucket))
	    || (rc = check_id(err, "manifest key", manifest_key)))
		return rc;
	char *pk = run_pk(s, run_id);
	char *sk = fmt_alloc(s->alloc, "delivery#%s#%s#%s", account, bucket, manifest_key);
	s3i_ddb_item *it = pk && sk ? key_item(s, pk, sk) : NULL;
	if (!it || s3i_ddb_item_set_s(it, "account", account)
	    || s3i_ddb_item_set_s(it, "bucket", bucket)
	    || s3i_ddb_item_set_s(it, "manifest_key", manifest_key)
	    || s3i_ddb_item_set_s(it, "reason", why ? why : "")
	    || s3i_ddb_item_set_n_i64(it, "seen_ms", now_ms))
		rc = oom(err);
	else
		rc = s3i_ddb_put_item_op(&s->svc, s->table, it, NULL, NULL, err);
	s3i_ddb_item_free(it);
	s3i_free(s->alloc, sk);
	s3i_free(s->alloc, pk);
	return rc;
}

/* ---- queries ---- */

int s3i_state_query_put(s3i_state *s, const char *run_id, const s3i_state_query *q,
	s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)))
		return rc;
	if (q->index < 0 || q->index > 999)
		return s3i_err(err, S3I_EINVALID, q->name, "query '%s': index %d out of range", q->name, q->index);
	char *pk = run_pk(s, run_id);
	char *sk = fmt_alloc(s->alloc, "query#%03d", q->index);
	s3i_ddb_item *it = pk && sk ? key_item(s, pk, sk) : NULL;
	if (!it || s3i_ddb_item_set_n_i64(it, "index", q->index)
	    || s3i_ddb_item_set_s(it, "name", q->name)
	    || s3i_ddb_item_set_s(it, "execution_id", q->execution_id)
	    || s3i_ddb_item_set_s(it, "state", q->state)
	    || s3i_ddb_item_set_s(it, "reason", q->reason)
	    || s3i_ddb_item_set_n_i64(it, "rows", q->rows)
	    || s3i_ddb_item_set_n_i64(it, "scanned_bytes", q->scanned_bytes)
	    || s3i_ddb_item_set_s(it, "output_location", q->output_location))
		rc = oom(err);
	else
		rc = s3i_ddb_put_item_op(&s->svc, s->table, it, NULL, NULL, err);
	s3i_ddb_item_free(it);
	s3i_free(s->alloc, sk);
	s3i_free(s->alloc, pk);
	return rc;
}

typedef struct queries_walk {
	s3i_state_query_fn fn;
	void *user;
} queries_walk;

static int queries_item(void *payload, const s3i_ddb_item *it)
{
	queries_walk *w = payload;
	s3i_state_query q;
	memset(&q, 0, sizeof(q));
	q.index = (int)get_i64(it, "index", 0);
	copy_str(q.name, sizeof(q.name), get_s(it, "name"));
	copy_str(q.execution_id, sizeof(q.execution_id), get_s(it, "execution_id"));
	copy_str(q.state, sizeof(q.state), get_s(it, "state"));
	copy_str(q.reason, sizeof(q.reason), get_s(it, "reason"));
	q.rows = get_i64(it, "rows", 0);
	q.scanned_bytes = get_i64(it, "scanned_bytes", 0);
	copy_str(q.output_location, sizeof(q.output_location), get_s(it, "output_location"));
	return w->fn(w->user, &q);
}

int s3i_state_queries_list(s3i_state *s, const char *run_id, s3i_state_query_fn fn, void *user,
	s3i_errinfo *err)
{
	int rc;
	if ((rc = check_id(err, "run_id", run_id)))
		return rc;
	char *pk = run_pk(s, run_id);
	if (!pk)
		return oom(err);
	queries_walk w = { fn, user };
	rc = query_partition(s, pk, "query#", queries_item, &w, err);
	s3i_free(s->alloc, pk);
	return rc;
}
