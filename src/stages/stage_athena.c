/* Shared by the create-table, query and notify stages: see stage_athena.h. */
#include "stages/stage_athena.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "services/dynamodb.h"
#include "stages/names.h"

void s3i_stage_host_svc(s3i_run *run, s3i_svc *out)
{
	s3i_deployment *d = s3i_run_deployment(run);
	out->client = s3i_deployment_client(d);
	out->creds = NULL;
	out->region = s3i_deployment_host_region(d);
}

static int location(s3i_run *run, s3i_buf *out, int results)
{
	s3i_deployment *d = s3i_run_deployment(run);
	char prefix[128];
	int rc = S3I_OK;
	if (results)
		rc = s3i_names_query_prefix(prefix, sizeof(prefix), s3i_run_id(run));
	else   /* inventory/R/: where every partition of the run lives (names.h's prefix, cut) */
		snprintf(prefix, sizeof(prefix), "inventory/%s/", s3i_run_id(run));
	if (rc)
		return rc;
	return s3i_buf_printf(out, "s3://%s/%s", s3i_deployment_consolidated_bucket(d), prefix);
}

int s3i_stage_results_location(s3i_run *run, s3i_buf *out)
{
	return location(run, out, 1);
}

int s3i_stage_data_location(s3i_run *run, s3i_buf *out)
{
	return location(run, out, 0);
}

int s3i_stage_request_token(s3i_run *run, const char *kind, int index, int attempt,
	const char *text, char *out, size_t cap)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a 64 */
	for (const unsigned char *p = (const unsigned char *)text; p && *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	int n = snprintf(out, cap, "s3i-%s-%s-%s-%03d-%d-%016llx",
		s3i_deployment_name(s3i_run_deployment(run)), s3i_run_id(run), kind, index, attempt,
		(unsigned long long)h);
	if (n < 0 || (size_t)n >= cap || n > 128)
		return S3I_EINVALID;
	return S3I_OK;
}

/* ------------------------------------------------------------------ items */

static s3i_state *state_of(s3i_run *run) { return s3i_run_state(run); }

int s3i_stage_item_put(s3i_run *run, const char *sortkey, const s3i_ddb_item *attrs,
	s3i_errinfo *err)
{
	const s3i_allocator *a = s3i_deployment_alloc(s3i_run_deployment(run));
	s3i_svc svc;
	s3i_stage_host_svc(run, &svc);
	s3i_ddb_item *it = NULL;
	char pk[32];
	snprintf(pk, sizeof(pk), "run#%s", s3i_run_id(run));
	int rc = attrs ? s3i_ddb_item_copy(&it, attrs, a) : s3i_ddb_item_new(&it, a);
	if (!rc)
		rc = s3i_ddb_item_set_s(it, "partitionkey", pk);
	if (!rc)
		rc = s3i_ddb_item_set_s(it, "sortkey", sortkey);
	if (rc)
		rc = s3i_err(err, S3I_ENOMEM, sortkey, "run %s: out of memory writing item %s",
			s3i_run_id(run), sortkey);
	else
		rc = s3i_ddb_put_item_op(&svc, s3i_state_table(state_of(run)), it, NULL, NULL, err);
	s3i_ddb_item_free(it);
	return rc;
}

typedef struct items_walk {
	s3i_stage_item_fn fn;
	void *user;
} items_walk;

static int items_cb(void *payload, const s3i_ddb_item *it)
{
	items_walk *w = payload;
	const char *sk = s3i_ddb_item_get_s(it, "sortkey");
	return w->fn(w->user, sk ? sk : "", it);
}

int s3i_stage_items_list(s3i_run *run, const char *prefix, s3i_stage_item_fn fn, void *user,
	s3i_errinfo *err)
{
	const s3i_allocator *a = s3i_deployment_alloc(s3i_run_deployment(run));
	s3i_svc svc;
	s3i_stage_host_svc(run, &svc);
	char pk[32];
	snprintf(pk, sizeof(pk), "run#%s", s3i_run_id(run));
	s3i_ddb_item *values = NULL;
	int rc = s3i_ddb_item_new(&values, a);
	if (!rc)
		rc = s3i_ddb_item_set_s(values, ":pk", pk);
	if (!rc)
		rc = s3i_ddb_item_set_s(values, ":p", prefix);
	if (rc) {
		s3i_ddb_item_free(values);
		return s3i_err(err, S3I_ENOMEM, prefix, "run %s: out of memory listing %s items",
			s3i_run_id(run), prefix);
	}
	s3i_ddb_query q = { 0 };
	q.table = s3i_state_table(state_of(run));
	q.key_condition = "partitionkey = :pk AND begins_with(sortkey, :p)";
	q.values = values;
	q.consistent_read = 1;
	items_walk w = { fn, user };
	rc = s3i_ddb_query_op(&svc, &q, items_cb, &w, NULL, err);
	s3i_ddb_item_free(values);
	return rc;
}

/* ------------------------------------------------------------------ rows */

void s3i_stage_rows_dispose(s3i_stage_rows *r)
{
	if (!r || !r->alloc)
		return;
	for (size_t i = 0; i < r->ncolumns; i++)
		s3i_free(r->alloc, r->columns[i]);
	s3i_free(r->alloc, r->columns);
	for (size_t i = 0; i < r->nrows * r->ncolumns; i++)
		s3i_free(r->alloc, r->cells[i]);
	s3i_free(r->alloc, r->cells);
	memset(r, 0, sizeof(*r));
}

typedef struct rows_walk {
	const s3i_allocator *a;
	s3i_stage_row_fn fn;
	void *user;
	int64_t max_rows;
	int64_t count;
	int reached;                 /* stopped because max_rows were handed over */
	int oom;
	size_t ncolumns;
	char **columns;
	const char **values;         /* scratch: ncolumns, a row padded or cut to the columns */
} rows_walk;

static int on_columns(void *payload, const s3i_athena_column *cols, size_t n)
{
	rows_walk *w = payload;
	if (w->columns)
		return 0;
	w->columns = s3i_calloc(w->a, n ? n : 1, sizeof(char *));
	w->values = s3i_calloc(w->a, n ? n : 1, sizeof(char *));
	if (!w->columns || !w->values) {
		w->oom = 1;
		return 1;
	}
	w->ncolumns = n;
	for (size_t i = 0; i < n; i++)
		if (!(w->columns[i] = s3i_strdup(w->a, cols[i].name))) {
			w->oom = 1;
			return 1;
		}
	return 0;
}

static int on_row(void *payload, const s3i_athena_row *row)
{
	rows_walk *w = payload;
	if (row->is_header)
		return 0;
	if (w->max_rows && w->count >= w->max_rows) {
		w->reached = 1;
		return 1;
	}
	/* rows without column info (no metadata): name the columns by position */
	if (!w->columns) {
		s3i_athena_column *cols = s3i_calloc(w->a, row->count ? row->count : 1, sizeof(*cols));
		char (*names)[24] = s3i_calloc(w->a, row->count ? row->count : 1, sizeof(*names));
		int rc = 0;
		if (!cols || !names) {
			w->oom = 1;
			rc = 1;
		} else {
			for (size_t i = 0; i < row->count; i++) {
				snprintf(names[i], sizeof(names[i]), "_col%zu", i);
				cols[i].name = names[i];
				cols[i].type = "";
			}
			rc = on_columns(w, cols, row->count);
		}
		s3i_free(w->a, cols);
		s3i_free(w->a, names);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < w->ncolumns; i++)
		w->values[i] = i < row->count ? row->values[i] : NULL;
	int rc = w->fn ? w->fn(w->user, w->count, w->ncolumns, w->values,
		(const char *const *)w->columns) : 0;
	w->count++;
	if (!rc && w->max_rows && w->count >= w->max_rows) {
		w->reached = 1;
		return 1;
	}
	return rc;
}

int s3i_stage_read_rows(const s3i_svc *svc, const char *id, int64_t max_rows,
	s3i_stage_row_fn fn, void *user, int64_t *count, s3i_errinfo *err)
{
	const s3i_allocator *a = s3i_client_alloc(svc->client);
	rows_walk w = { 0 };
	w.a = a;
	w.fn = fn;
	w.user = user;
	w.max_rows = max_rows;
	s3i_athena_reader r;
	s3i_athena_reader_init(&r, on_columns, on_row, &w);
	r.alloc = a;
	s3i_athena_results_opts o = { 0 };
	if (max_rows > 0 && max_rows < S3I_ATHENA_MAX_RESULTS)
		o.max_results = (int32_t)max_rows + 1;   /* the header row comes first */
	int rc = s3i_athena_get_results_op(svc, id, &o, &r, err);
	if (rc == S3I_EUSER && w.oom)
		rc = s3i_err(err, S3I_ENOMEM, id, "reading the results of query execution '%s': out of "
			"memory", id);
	else if (rc == S3I_EUSER && w.reached)
		rc = S3I_OK;
	if (count)
		*count = w.count;
	for (size_t i = 0; i < w.ncolumns; i++)
		s3i_free(a, w.columns[i]);
	s3i_free(a, w.columns);
	s3i_free(a, w.values);
	return rc;
}

typedef struct keep_walk {
	s3i_stage_rows *out;
	size_t cap;
	int oom;
} keep_walk;

static int keep_row(void *user, int64_t index, size_t n, const char *const *values,
	const char *const *columns)
{
	(void)index;
	keep_walk *k = user;
	s3i_stage_rows *o = k->out;
	if (!o->columns) {
		o->columns = s3i_calloc(o->alloc, n ? n : 1, sizeof(char *));
		if (!o->columns)
			goto oom;
		o->ncolumns = n;
		for (size_t i = 0; i < n; i++)
			if (!(o->columns[i] = s3i_strdup(o->alloc, columns[i])))
				goto oom;
	}
	if (o->nrows == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		char **cells = s3i_realloc(o->alloc, o->cells, cap * (n ? n : 1) * sizeof(char *));
		if (!cells)
			goto oom;
		o->cells = cells;
		k->cap = cap;
	}
	for (size_t i = 0; i < n; i++)
		o->cells[o->nrows * n + i] = NULL;
	o->nrows++;
	for (size_t i = 0; i < n; i++)
		if (values[i] && !(o->cells[(o->nrows - 1) * n + i] = s3i_strdup(o->alloc, values[i])))
			goto oom;
	return 0;
oom:
	k->oom = 1;
	return 1;
}

int s3i_stage_first_rows(const s3i_svc *svc, const char *id, int64_t max_rows,
	const s3i_allocator *a, s3i_stage_rows *out, s3i_errinfo *err)
{
	memset(out, 0, sizeof(*out));
	out->alloc = a;
	keep_walk k = { out, 0, 0 };
	int rc = s3i_stage_read_rows(svc, id, max_rows, keep_row, &k, NULL, err);
	if (k.oom)
		rc = s3i_err(err, S3I_ENOMEM, id, "keeping the first rows of query execution '%s': out "
			"of memory", id);
	if (rc)
		s3i_stage_rows_dispose(out);
	out->alloc = a;
	return rc;
}

/* ------------------------------------------------------------------ counts */

int s3i_stage_counted_by_athena(const s3i_run *run)
{
	const s3i_run_input *in = run ? s3i_run_get_input(run) : NULL;
	if (!in || s3i_run_input_get_snapshot(in) != S3I_SNAPSHOT_INVENTORY)
		return 0;   /* a list snapshot writes CSV, counted while it is written */
	s3i_inventory_format f = s3i_run_input_get_inventory_format(in);
	return f == S3I_INVENTORY_FORMAT_ORC || f == S3I_INVENTORY_FORMAT_PARQUET;
}

int s3i_stage_bucket_not_counted(const s3i_run *run, const s3i_state_bucket *b)
{
	return b && b->partitioned_files > 0 && b->counted_ms <= 0 && s3i_stage_counted_by_athena(run);
}

/* A decimal number 0..INT64_MAX; -1 when s is anything else. */
static int64_t parse_count(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (!n || n > 19)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		int d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	return v;
}

int s3i_stage_count_row_parse(size_t n, const char *const *values, s3i_stage_count_row *out,
	s3i_errinfo *err)
{
	memset(out, 0, sizeof(*out));
	if (n != 5 || !values)
		return s3i_err(err, S3I_EPARSE, "count", "a counting result row has %zu columns, not 5 "
			"(account, region, bucketname, count, sum of size)", n);
	static const char *const names[3] = { "account", "region", "bucketname" };
	for (size_t i = 0; i < 3; i++)
		if (!values[i] || !values[i][0])
			return s3i_err(err, S3I_EPARSE, names[i], "a counting result row has no %s",
				names[i]);
	out->account = values[0];
	out->region = values[1];
	out->bucket = values[2];
	out->objects = parse_count(values[3]);
	if (out->objects < 0)
		return s3i_err(err, S3I_EPARSE, values[2], "the counting result row of bucket '%.64s' "
			"of account %.16s: the count is not a number of rows", values[2], values[0]);
	out->bytes = values[4] ? parse_count(values[4]) : 0;
	if (out->bytes < 0)
		return s3i_err(err, S3I_EPARSE, values[2], "the counting result row of bucket '%.64s' "
			"of account %.16s: the sum of size is not a number of bytes", values[2], values[0]);
	return S3I_OK;
}

void s3i_stage_sleep(s3i_run *run, int64_t ms, int64_t deadline_ms)
{
	s3i_deployment *d = s3i_run_deployment(run);
	if (deadline_ms) {
		int64_t left = deadline_ms - s3i_deployment_now_ms(d);
		if (left < ms)
			ms = left;
	}
	if (ms > 0)
		s3i_client_sleep_ms(s3i_deployment_client(d), ms);
}

s3i_ddb_item *s3i_stage_statement_item(const s3i_allocator *a, size_t index,
	const s3i_stage_statement *s, const char *reason)
{
	s3i_ddb_item *it = NULL;
	int rc = s3i_ddb_item_new(&it, a);
	if (!rc)
		rc = s3i_ddb_item_set_n_i64(it, "index", (int64_t)index);
	if (!rc)
		rc = s3i_ddb_item_set_s(it, "what", s->what);
	if (!rc)
		rc = s3i_ddb_item_set_s(it, "statement", s->sql);
	if (!rc)
		rc = s3i_ddb_item_set_s(it, "execution_id", s->execution_id);
	if (!rc)
		rc = s3i_ddb_item_set_s(it, "state", s->state);
	if (!rc)
		rc = s3i_ddb_item_set_s(it, "reason", reason ? reason : "");
	if (!rc)
		rc = s3i_ddb_item_set_n_i64(it, "attempt", s->attempt);
	if (!rc)
		rc = s3i_ddb_item_set_n_i64(it, "started_ms", s->started_ms);
	if (rc) {
		s3i_ddb_item_free(it);
		return NULL;
	}
	return it;
}

s3i_stage_statement *s3i_stage_statement_of(s3i_stage_statement *stmts, size_t n,
	const s3i_ddb_item *it)
{
	int64_t index = -1;
	if (s3i_ddb_item_get_i64(it, "index", &index) || index < 0 || (size_t)index >= n)
		return NULL;
	return &stmts[index];
}

int s3i_stage_statement_take_over(s3i_stage_statement *s, const s3i_ddb_item *it)
{
	int64_t attempt = 0, started = 0;
	const char *sql = s3i_ddb_item_get_s(it, "statement");
	const char *id = s3i_ddb_item_get_s(it, "execution_id");
	const char *state = s3i_ddb_item_get_s(it, "state");
	s3i_ddb_item_get_i64(it, "attempt", &attempt);
	s3i_ddb_item_get_i64(it, "started_ms", &started);
	if (!sql || strcmp(sql, s->sql) || !id || !*id || strlen(id) >= sizeof(s->execution_id))
		return 0;
	s->attempt = (int)attempt;
	snprintf(s->state, sizeof(s->state), "%s", state ? state : "");
	if (!strcmp(s->state, "SUCCEEDED")) {
		s->succeeded = 1;
	} else if (!strcmp(s->state, "FAILED") || !strcmp(s->state, "CANCELLED")) {
		s->attempt++;
		s->state[0] = 0;
	} else {
		snprintf(s->execution_id, sizeof(s->execution_id), "%s", id);
		s->started_ms = started;
	}
	return 1;
}

void s3i_stage_poll_defaults(int64_t *interval_ms, int64_t *max_interval_ms)
{
	if (!*interval_ms)
		*interval_ms = 250;
	if (!*max_interval_ms)
		*max_interval_ms = 5000;
	if (*max_interval_ms < *interval_ms)
		*max_interval_ms = *interval_ms;
}
