/*
 * The handler table of the bootstrap: one handler per state of the Harvester and Cleanup state
 * machines (templates/harvester.asl.json, templates/cleanup.asl.json), the SQS-triggered
 * inventory processor, and `ping`. The Harvester fans out with distributed Maps: `discover`
 * runs per account (DiscoverAccounts), `plan_configure` writes the discovered buckets as the
 * items file ConfigureBuckets reads, and `configure` with an `Items` batch configures only
 * those buckets; the whole-run provision and configure steps then do what the Maps left. Every handler is a thin shell over the library's public
 * stage API: a stage handler calls the stage's _step once with the invocation's deadline
 * (minus a safety margin) and answers {"run_id", "stage", "finished"}; the state machine loops
 * until finished. All progress lives in the state table, so a retried or timed-out invocation
 * is redone by the next one without duplicating work (docs/stages.md).
 *
 * What survives across warm invocations of one execution environment: the library context
 * (runtime.c), the deployment, the last run opened, the last stage handle (reused when the
 * next invocation is the same stage of the same run, so e.g. a stack wait keeps its timer),
 * and the ingest handle (which caches the runs it routes to).
 *
 * Errors are answered with an errorType the state machines' Retry and Catch match:
 *   S3i.Throttled, S3i.Retryable       a failure that may pass (retried with backoff)
 *   S3i.DeadlineExceeded               the invocation had no time left (retried)
 *   S3i.InvalidEvent, S3i.InvalidInput the event or the run input is wrong (not retried)
 *   S3i.RunFinished, S3i.Conflict      the run cannot be started (not retried)
 *   S3i.NotFound, S3i.AccessDenied, S3i.Failed   anything else (not retried)
 */
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include <s3insights/deployment.h>
#include <s3insights/harvest.h>
#include <s3insights/run.h>
#include <s3insights/s3.h>
#include <s3insights/stage_configure.h>
#include <s3insights/stage_ingest.h>
#include <s3insights/stage_notify.h>
#include <s3insights/stage_partition.h>
#include <s3insights/stage_provision.h>
#include <s3insights/stage_query.h>
#include <s3insights/stage_table.h>
#include <s3insights/stage_teardown.h>

/* ping stops this long before the deadline. */
#define S3I_LAMBDA_SAFETY_MS 500
/* A stage step stops this share of the time left before the deadline, within these bounds,
 * so the state write in hand, the response and a bucket that overruns its deadline a little
 * (configure finishes the bucket in hand) still get out. S3I_LAMBDA_MARGIN_MS overrides. */
#define S3I_LAMBDA_MARGIN_SHARE 10
#define S3I_LAMBDA_MARGIN_MIN_MS 1000
#define S3I_LAMBDA_MARGIN_MAX_MS 30000
/* The Harvester's Wait state between two wait checks: at least 5 minutes, and long enough
 * that the whole wait takes at most S3I_LAMBDA_WAIT_MAX_CHECKS checks, whatever
 * inventory_timeout_hours is (docs/deploy.md has the history-event arithmetic).
 * S3I_LAMBDA_WAIT_SECONDS raises the 5 minutes (never lowers it). */
#define S3I_LAMBDA_WAIT_MIN_S 300
#define S3I_LAMBDA_WAIT_MAX_CHECKS 1500
/* The items file plan_configure writes to the consolidated bucket for ConfigureBuckets'
 * ItemReader (%s: the run id). Outside inventory/ (the Athena table's location, which a
 * teardown deletes) and athena/ (query results): nothing takes it for data. host.yaml expires
 * the prefix after 7 days and lets only the Harvester's role read it. */
#define S3I_LAMBDA_ITEMS_KEY "stepfunctions/%s/configure-items.json"
/* The most bucket names one configure invocation takes (a batch is MaxItemsPerBatch, 100). */
#define S3I_LAMBDA_MAX_BATCH 1000

/* ------------------------------------------------------------------ state kept warm */

/* What narrows a stage step to a part of the run: one account (discover) or a batch of
 * buckets (configure with Items). All empty: the whole run. */
typedef struct stage_args {
	const char *account_id;
	const char *const *buckets;
	int32_t bucket_count;
} stage_args;

typedef struct stage_kind {
	const char *name;                /* the handler name and "stage" in the response */
	int (*create)(void **out, s3i_run *run, const stage_args *args);
	int (*step)(void *st, int64_t deadline_ms, int *finished);
	const s3i_error *(*error)(const void *st);
	void (*destroy)(void *st);
} stage_kind;

static struct {
	s3i_deployment *d;
	s3i_ctx *d_ctx;                  /* the context d was opened on */
	s3i_run *run;
	char run_id[64];
	const stage_kind *kind;          /* the cached stage handle's kind, on run */
	void *stage;
	char stage_key[32];              /* what the handle is narrowed to: "", an account, a batch */
	char **buckets;                  /* the batch the handle was made with (it may keep them) */
	int32_t bucket_count;
	s3i_ingest *ingest;
} warm;

static void free_batch(char **buckets, int32_t n)
{
	for (int32_t i = 0; buckets && i < n; i++)
		free(buckets[i]);
	free(buckets);
}

static void drop_stage(void)
{
	if (warm.kind && warm.stage)
		warm.kind->destroy(warm.stage);
	warm.kind = NULL;
	warm.stage = NULL;
	warm.stage_key[0] = '\0';
	free_batch(warm.buckets, warm.bucket_count);
	warm.buckets = NULL;
	warm.bucket_count = 0;
}

/* ------------------------------------------------------------------ small tools */

static int64_t now_epoch_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The deadline handed to a stage step: the invocation's, minus the safety margin. */
static int64_t step_deadline(const s3i_lambda_invocation *inv)
{
	int64_t left = s3i_lambda_remaining_ms(inv);
	int64_t margin = left / S3I_LAMBDA_MARGIN_SHARE;
	if (margin < S3I_LAMBDA_MARGIN_MIN_MS)
		margin = S3I_LAMBDA_MARGIN_MIN_MS;
	if (margin > S3I_LAMBDA_MARGIN_MAX_MS)
		margin = S3I_LAMBDA_MARGIN_MAX_MS;
	const char *env = getenv("S3I_LAMBDA_MARGIN_MS");
	if (env && *env)
		margin = strtoll(env, NULL, 10);
	return inv->deadline_ms - margin;
}

/* The errorType of a library status (the names the state machines match). */
static const char *error_type_of(int status)
{
	switch (status) {
	case S3I_ETHROTTLED: return "S3i.Throttled";
	case S3I_ENETWORK:
	case S3I_ESERVICE:
	case S3I_ETIMEOUT: return "S3i.Retryable";
	case S3I_EINVALID: return "S3i.InvalidInput";
	case S3I_ENOTFOUND: return "S3i.NotFound";
	case S3I_EEXISTS: return "S3i.RunFinished";
	case S3I_ECONFLICT: return "S3i.Conflict";
	case S3I_EAUTH: return "S3i.AccessDenied";
	default: return s3i_status_is_retryable(status) ? "S3i.Retryable" : "S3i.Failed";
	}
}

/* Fail with the library's status and detail (e, or the thread's last error). */
static int fail_status(s3i_lambda_result *out, int status, const s3i_error *e, const char *what,
	const char *run_id)
{
	if (!e || !e->code)
		e = s3i_error_last();
	return s3i_lambda_fail(out, error_type_of(status), "%s%s%s: %s: %s", what,
		run_id ? " of run " : "", run_id ? run_id : "", s3i_strerror(status),
		e && e->message[0] ? e->message : "no detail");
}

/* Parse the event as a JSON object; NULL after setting an S3i.InvalidEvent result. */
static yajl_val parse_event(const s3i_lambda_invocation *inv, const char *handler,
	s3i_lambda_result *out)
{
	char err[256] = "";
	yajl_val root = yajl_tree_parse(inv->event_len ? inv->event : "{}", err, sizeof err);
	if (!root || !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		s3i_lambda_fail(out, "S3i.InvalidEvent", "%s: the event is not a JSON object%s%s",
			handler, err[0] ? ": " : "", err);
		return NULL;
	}
	return root;
}

static const char *get_string(yajl_val root, const char *name)
{
	const char *path[] = { name, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_string);
	return v ? YAJL_GET_STRING(v) : NULL;
}

/* The account of arn:aws:lambda:<region>:<account>:function:<name>, or NULL. */
static const char *account_of_arn(const char *arn, char *buf, size_t cap)
{
	const char *p = arn;
	for (int colons = 0; p && colons < 4; colons++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (!p)
		return NULL;
	size_t n = strcspn(p, ":");
	if (n != 12 || n >= cap || strspn(p, "0123456789") < 12)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/* The deployment ($S3I_DEPLOYMENT), opened once. The host account comes from the function's
 * own ARN, which saves an STS call on every cold start. */
static int get_deployment(s3i_ctx *ctx, const s3i_lambda_invocation *inv, s3i_lambda_result *out)
{
	if (warm.d && warm.d_ctx == ctx)
		return 0;
	s3i_deployment_free(warm.d);
	warm.d = NULL;
	char account[16];
	s3i_deployment_options o = S3I_DEPLOYMENT_OPTIONS_INIT;
	o.host_account_id = account_of_arn(inv->function_arn, account, sizeof account);
	int rc = s3i_deployment_open(&warm.d, ctx, &o);
	if (rc)
		return fail_status(out, rc, NULL, "opening the deployment ($S3I_DEPLOYMENT)", NULL);
	warm.d_ctx = ctx;
	return 0;
}

/* The run of run_id, kept open across invocations. */
static int get_run(s3i_ctx *ctx, const s3i_lambda_invocation *inv, const char *run_id,
	s3i_lambda_result *out)
{
	if (get_deployment(ctx, inv, out))
		return 1;
	if (warm.run && strcmp(warm.run_id, run_id) == 0)
		return 0;
	drop_stage();
	s3i_run_free(warm.run);
	warm.run = NULL;
	warm.run_id[0] = '\0';
	if (strlen(run_id) >= sizeof warm.run_id)
		return s3i_lambda_fail(out, "S3i.InvalidEvent", "field run_id is too long (%zu bytes)",
			strlen(run_id));
	int rc = s3i_run_open(&warm.run, warm.d, run_id);
	if (rc)
		return fail_status(out, rc, NULL, "opening the run", run_id);
	snprintf(warm.run_id, sizeof warm.run_id, "%s", run_id);
	return 0;
}

/* ------------------------------------------------------------------ responses */

typedef struct resp {
	yajl_gen g;
} resp;

static void resp_begin(resp *r)
{
	r->g = yajl_gen_alloc(NULL);
	if (r->g)
		yajl_gen_map_open(r->g);
}

static void resp_str(resp *r, const char *key, const char *value)
{
	if (!r->g)
		return;
	yajl_gen_string(r->g, (const unsigned char *)key, strlen(key));
	if (value)
		yajl_gen_string(r->g, (const unsigned char *)value, strlen(value));
	else
		yajl_gen_null(r->g);
}

static void resp_int(resp *r, const char *key, long long value)
{
	if (!r->g)
		return;
	yajl_gen_string(r->g, (const unsigned char *)key, strlen(key));
	yajl_gen_integer(r->g, value);
}

static void resp_bool(resp *r, const char *key, int value)
{
	if (!r->g)
		return;
	yajl_gen_string(r->g, (const unsigned char *)key, strlen(key));
	yajl_gen_bool(r->g, value != 0);
}

static void resp_key(resp *r, const char *key)
{
	if (r->g)
		yajl_gen_string(r->g, (const unsigned char *)key, strlen(key));
}

/* Close the object and hand it to the runtime. */
static int resp_end(resp *r, const char *handler, s3i_lambda_result *out)
{
	const unsigned char *buf = NULL;
	size_t len = 0;
	if (r->g && yajl_gen_map_close(r->g) == yajl_gen_status_ok
		&& yajl_gen_get_buf(r->g, &buf, &len) == yajl_gen_status_ok)
		out->response = strndup((const char *)buf, len);
	yajl_gen_free(r->g);
	r->g = NULL;
	return out->response ? 0 : s3i_lambda_fail(out, "S3i.Failed", "%s: out of memory", handler);
}

/* ------------------------------------------------------------------ stage kinds */

#define STAGE_KIND(name, type, opts_init, ...)                                              \
	static int create_##name(void **out, s3i_run *run, const stage_args *args)          \
	{                                                                                   \
		s3i_##type##_options o = opts_init;                                         \
		(void)args;                                                                 \
		__VA_ARGS__;                                                                \
		return s3i_##type##_new((s3i_##type **)out, run, &o);                       \
	}                                                                                   \
	static int step_##name(void *st, int64_t deadline_ms, int *finished)                 \
	{                                                                                   \
		return s3i_##type##_step(st, deadline_ms, finished);                        \
	}                                                                                   \
	static const s3i_error *error_##name(const void *st) { return s3i_##type##_error(st); } \
	static void destroy_##name(void *st) { s3i_##type##_free(st); }                      \
	static const stage_kind kind_##name = { #name, create_##name, step_##name,          \
		error_##name, destroy_##name };

STAGE_KIND(provision, provision, S3I_PROVISION_OPTIONS_INIT, (void)0)
/* one account's discovery only (DiscoverAccounts' children) */
STAGE_KIND(discover, provision, S3I_PROVISION_OPTIONS_INIT, o.account_id = args->account_id)
/* the whole run, or a batch of buckets (ConfigureBuckets' children) */
STAGE_KIND(configure, configure, S3I_CONFIGURE_OPTIONS_INIT,
	o.buckets = args->buckets; o.bucket_count = args->bucket_count)
STAGE_KIND(partition, partition, S3I_PARTITION_OPTIONS_INIT, (void)0)
STAGE_KIND(table, table, S3I_TABLE_OPTIONS_INIT, (void)0)
STAGE_KIND(query, query, S3I_QUERY_OPTIONS_INIT, (void)0)
STAGE_KIND(notify, notify, S3I_NOTIFY_OPTIONS_INIT, (void)0)
STAGE_KIND(teardown, teardown, S3I_TEARDOWN_OPTIONS_INIT, (void)0)
STAGE_KIND(cleanup, teardown, S3I_TEARDOWN_OPTIONS_INIT, o.cleanup = 1)

/* FNV-1a over the batch's names, as the key of the handle made for it. */
static void batch_key(char **buckets, int32_t n, char *out, size_t cap)
{
	uint64_t h = 1469598103934665603ull;
	for (int32_t i = 0; i < n; i++) {
		for (const char *p = buckets[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull;   /* the separator */
	}
	snprintf(out, cap, "batch:%d:%016llx", (int)n, (unsigned long long)h);
}

/* The bucket names of a configure event's `Items` (ConfigureBuckets' batch: the items file's
 * {"bucket", "account_id"} objects, or plain names), as s3i_configure_options.buckets takes
 * them: "<account_id>/<bucket>" when the item has its account (so the stage reads those
 * buckets by key, not the whole run's), else the plain name. Returns 0 with *out (NULL and 0
 * for an empty batch), or 1 after setting an S3i.InvalidEvent result. */
static int parse_items(yajl_val items, char ***out, int32_t *n, s3i_lambda_result *res)
{
	*out = NULL;
	*n = 0;
	if (!YAJL_IS_ARRAY(items))
		return s3i_lambda_fail(res, "S3i.InvalidEvent", "configure: field Items is not an "
			"array (ConfigureBuckets' batch of {\"bucket\", \"account_id\"})");
	size_t len = YAJL_GET_ARRAY(items)->len;
	if (len > S3I_LAMBDA_MAX_BATCH)
		return s3i_lambda_fail(res, "S3i.InvalidEvent", "configure: field Items has %zu "
			"buckets, more than the %d one invocation takes", len, S3I_LAMBDA_MAX_BATCH);
	if (!len)
		return 0;
	char **names = calloc(len, sizeof *names);
	if (!names)
		return s3i_lambda_fail(res, "S3i.Failed", "configure: out of memory");
	for (size_t i = 0; i < len; i++) {
		yajl_val it = YAJL_GET_ARRAY(items)->values[i];
		const char *name = YAJL_IS_STRING(it) ? YAJL_GET_STRING(it)
			: YAJL_IS_OBJECT(it) ? get_string(it, "bucket") : NULL;
		if (!name || !*name || strlen(name) > 63) {
			free_batch(names, (int32_t)i);
			return s3i_lambda_fail(res, "S3i.InvalidEvent", "configure: Items[%zu] is neither "
				"a bucket name nor an object with a bucket name (field bucket)", i);
		}
		const char *account = YAJL_IS_OBJECT(it) ? get_string(it, "account_id") : NULL;
		if (account && (strlen(account) != 12 || strspn(account, "0123456789") != 12)) {
			free_batch(names, (int32_t)i);
			return s3i_lambda_fail(res, "S3i.InvalidEvent", "configure: Items[%zu].account_id "
				"'%.40s' is not a 12-digit account id", i, account);
		}
		if (account) {
			size_t cap = 12 + 1 + strlen(name) + 1;
			if ((names[i] = malloc(cap)))
				snprintf(names[i], cap, "%s/%s", account, name);
		} else {
			names[i] = strdup(name);
		}
		if (!names[i]) {
			free_batch(names, (int32_t)i);
			return s3i_lambda_fail(res, "S3i.Failed", "configure: out of memory");
		}
	}
	*out = names;
	*n = (int32_t)len;
	return 0;
}

/* The run's items file (plan_configure's, this layer's own) goes with the run's other
 * transient resources once its teardown or cleanup has finished; none there is fine (a run
 * without ConfigureBuckets, a retried teardown). Returns 0, or 1 after setting the failure
 * (the step is then retried and finishes again, the library's teardown being idempotent). */
static int delete_items_file(s3i_ctx *ctx, s3i_lambda_result *out)
{
	char key[128];
	snprintf(key, sizeof key, S3I_LAMBDA_ITEMS_KEY, warm.run_id);
	const char *bucket = s3i_deployment_consolidated_bucket(warm.d);
	int rc = s3i_s3_delete_object(ctx, bucket, key);
	if (!rc || rc == S3I_ENOTFOUND)
		return 0;
	char what[256];
	snprintf(what, sizeof what, "teardown: deleting s3://%s/%s", bucket, key);
	return fail_status(out, rc, NULL, what, warm.run_id);
}

/*
 * One step of a stage. Event: {"run_id": "R", ...} (other members are ignored, so the state
 * machine can pass its whole state); `discover` also takes "account_id" (required), and
 * `configure` "Items" (optional: a batch of buckets, see parse_items). Response: {"run_id":
 * "R", "stage": "<name>", "finished": true|false}. A step that fails drops its handle (the
 * next invocation starts the stage afresh from the state table) and answers the stage's
 * error. The handle stays warm for the next invocation of the same stage, run and part.
 */
static int stage_handler(const stage_kind *k, s3i_ctx *ctx, const s3i_lambda_invocation *inv,
	s3i_lambda_result *out)
{
	yajl_val root = parse_event(inv, k->name, out);
	if (!root)
		return 1;
	const char *run_id = get_string(root, "run_id");
	if (!run_id || !*run_id) {
		yajl_tree_free(root);
		return s3i_lambda_fail(out, "S3i.InvalidEvent", "%s: field run_id (a string) is "
			"required", k->name);
	}
	char key[32] = "";
	char **batch = NULL;
	int32_t batch_n = 0;
	int has_batch = 0;
	if (k == &kind_discover) {
		const char *account = get_string(root, "account_id");
		if (!account || strlen(account) != 12 || strspn(account, "0123456789") != 12) {
			yajl_tree_free(root);
			return s3i_lambda_fail(out, "S3i.InvalidEvent", "discover: field account_id (12 "
				"digits) is required");
		}
		snprintf(key, sizeof key, "%s", account);
	} else if (k == &kind_configure) {
		const char *ipath[] = { "Items", NULL };
		yajl_val items = yajl_tree_get(root, ipath, yajl_t_any);
		if (items) {
			has_batch = 1;
			if (parse_items(items, &batch, &batch_n, out)) {
				yajl_tree_free(root);
				return 1;
			}
			batch_key(batch, batch_n, key, sizeof key);
		}
	}
	int failed = get_run(ctx, inv, run_id, out);
	yajl_tree_free(root);
	if (failed) {
		free_batch(batch, batch_n);
		return 1;
	}
	if (has_batch && batch_n == 0) {
		/* an empty batch names nothing: done (the library would read it as the whole run) */
		resp r;
		resp_begin(&r);
		resp_str(&r, "run_id", warm.run_id);
		resp_str(&r, "stage", k->name);
		resp_bool(&r, "finished", 1);
		resp_int(&r, "remaining_ms", (long long)s3i_lambda_remaining_ms(inv));
		return resp_end(&r, k->name, out);
	}
	int64_t deadline = step_deadline(inv);
	if (deadline <= now_epoch_ms()) {
		free_batch(batch, batch_n);
		return s3i_lambda_fail(out, "S3i.DeadlineExceeded", "%s of run %s: no time left "
			"before the deadline of request %s", k->name, warm.run_id, inv->request_id);
	}
	if (warm.kind != k || strcmp(warm.stage_key, key) != 0) {
		drop_stage();
		/* the handle may keep the names: they live in warm until it is dropped */
		warm.buckets = batch;
		warm.bucket_count = batch_n;
		batch = NULL;
		snprintf(warm.stage_key, sizeof warm.stage_key, "%s", key);
		stage_args args = { NULL, NULL, 0 };
		if (k == &kind_discover)
			args.account_id = warm.stage_key;
		args.buckets = (const char *const *)warm.buckets;
		args.bucket_count = warm.bucket_count;
		int rc = k->create(&warm.stage, warm.run, &args);
		if (rc) {
			warm.stage = NULL;
			drop_stage();
			return fail_status(out, rc, NULL, k->name, warm.run_id);
		}
		warm.kind = k;
	}
	free_batch(batch, batch_n);   /* the same batch as the warm handle's */
	int finished = 0;
	int rc = k->step(warm.stage, deadline, &finished);
	if (rc) {
		int r = fail_status(out, rc, k->error(warm.stage), k->name, warm.run_id);
		drop_stage();
		return r;
	}
	if (finished && (k == &kind_teardown || k == &kind_cleanup) &&
		(rc = delete_items_file(ctx, out))) {
		drop_stage();
		return rc;
	}
	resp r;
	resp_begin(&r);
	resp_str(&r, "run_id", warm.run_id);
	resp_str(&r, "stage", k->name);
	resp_bool(&r, "finished", finished);
	resp_int(&r, "remaining_ms", (long long)s3i_lambda_remaining_ms(inv));
	if (finished)
		drop_stage();
	return resp_end(&r, k->name, out);
}

#define STAGE_HANDLER(name)                                                                 \
	int s3i_lambda_handler_##name(s3i_ctx *ctx, const s3i_lambda_invocation *inv,        \
		s3i_lambda_result *out);                                                    \
	int s3i_lambda_handler_##name(s3i_ctx *ctx, const s3i_lambda_invocation *inv,        \
		s3i_lambda_result *out)                                                     \
	{                                                                                   \
		return stage_handler(&kind_##name, ctx, inv, out);                          \
	}

STAGE_HANDLER(provision)
STAGE_HANDLER(discover)
STAGE_HANDLER(configure)
STAGE_HANDLER(partition)
STAGE_HANDLER(table)
STAGE_HANDLER(query)
STAGE_HANDLER(notify)
STAGE_HANDLER(teardown)
STAGE_HANDLER(cleanup)

/* ------------------------------------------------------------------ start */

int s3i_lambda_handler_start(s3i_ctx *ctx, const s3i_lambda_invocation *inv, s3i_lambda_result *out);

/*
 * start: the execution's input is the run input (DESIGN §3). Parses and validates it, then
 * records the run (or resumes it when it exists unfinished with the same input).
 * Response: {"run_id": "R", "phase": "<phase>", "finished": true, "accounts": ["<12
 * digits>", ...]} (the run's accounts, which DiscoverAccounts fans out over).
 * S3i.InvalidInput lists every problem of the input; S3i.RunFinished when the run finished
 * before; S3i.Conflict when it failed before or has another input.
 */
int s3i_lambda_handler_start(s3i_ctx *ctx, const s3i_lambda_invocation *inv, s3i_lambda_result *out)
{
	yajl_val root = parse_event(inv, "start", out);
	if (!root)
		return 1;
	yajl_tree_free(root);
	if (get_deployment(ctx, inv, out))
		return 1;
	s3i_run_input *in = NULL;
	int rc = s3i_run_input_parse(&in, inv->event, inv->event_len, NULL, NULL);
	if (rc)
		return fail_status(out, rc, NULL, "start: the run input", NULL);
	s3i_run *run = NULL;
	rc = s3i_run_start(&run, warm.d, in);
	if (rc) {
		int r = fail_status(out, rc, NULL, "start", s3i_run_input_get_run_id(in));
		s3i_run_input_free(in);
		return r;
	}
	s3i_run_input_free(in);
	/* keep it warm for the provision step that follows */
	drop_stage();
	s3i_run_free(warm.run);
	warm.run = run;
	snprintf(warm.run_id, sizeof warm.run_id, "%s", s3i_run_id(run));
	s3i_run_status st;
	memset(&st, 0, sizeof st);
	st.struct_size = sizeof st;
	rc = s3i_run_status_read(run, &st, NULL, NULL);
	if (rc)
		return fail_status(out, rc, NULL, "start: reading back", warm.run_id);
	resp r;
	resp_begin(&r);
	resp_str(&r, "run_id", warm.run_id);
	resp_str(&r, "phase", st.phase);
	resp_bool(&r, "finished", 1);
	/* the run's accounts, for DiscoverAccounts to fan out over */
	resp_key(&r, "accounts");
	const s3i_run_input *in_run = s3i_run_get_input(run);
	if (r.g) {
		yajl_gen_array_open(r.g);
		for (size_t i = 0; i < s3i_run_input_get_account_count(in_run); i++) {
			const char *id = s3i_run_input_get_account_id(in_run, i);
			yajl_gen_string(r.g, (const unsigned char *)id, strlen(id));
		}
		yajl_gen_array_close(r.g);
	}
	return resp_end(&r, "start", out);
}

/* ------------------------------------------------------------------ wait_check */

int s3i_lambda_handler_wait_check(s3i_ctx *ctx, const s3i_lambda_invocation *inv,
	s3i_lambda_result *out);

/*
 * wait_check: one look at the wait for inventory reports (s3i_harvest_wait_check); ingest
 * runs meanwhile in the SQS-triggered `ingest` function. Event {"run_id": "R"}. Response:
 * {"run_id", "finished": <the wait is over>, "pending", "timed_out", "deadline_ms",
 * "wait_seconds": <how long the Wait state waits before the next check>}.
 */
int s3i_lambda_handler_wait_check(s3i_ctx *ctx, const s3i_lambda_invocation *inv,
	s3i_lambda_result *out)
{
	yajl_val root = parse_event(inv, "wait_check", out);
	if (!root)
		return 1;
	const char *run_id = get_string(root, "run_id");
	int failed = !run_id || !*run_id
		? s3i_lambda_fail(out, "S3i.InvalidEvent", "wait_check: field run_id (a string) is required")
		: get_run(ctx, inv, run_id, out);
	yajl_tree_free(root);
	if (failed)
		return 1;
	s3i_harvest_wait w = S3I_HARVEST_WAIT_INIT;
	int rc = s3i_harvest_wait_check(warm.run, &w);
	if (rc)
		return fail_status(out, rc, NULL, "wait_check", warm.run_id);

	int64_t timeout_s = s3i_run_input_get_inventory_timeout_ms(s3i_run_get_input(warm.run)) / 1000;
	int64_t wait_s = S3I_LAMBDA_WAIT_MIN_S;
	const char *env = getenv("S3I_LAMBDA_WAIT_SECONDS");
	if (env && strtoll(env, NULL, 10) > wait_s)
		wait_s = strtoll(env, NULL, 10);
	if ((timeout_s + S3I_LAMBDA_WAIT_MAX_CHECKS - 1) / S3I_LAMBDA_WAIT_MAX_CHECKS > wait_s)
		wait_s = (timeout_s + S3I_LAMBDA_WAIT_MAX_CHECKS - 1) / S3I_LAMBDA_WAIT_MAX_CHECKS;
	/* no point in sleeping far past the deadline: the next check ends the wait (but a Wait
	 * state is never shorter than the minimum) */
	int64_t to_deadline_s = (w.deadline_ms - w.now_ms + 999) / 1000;
	if (to_deadline_s < wait_s)
		wait_s = to_deadline_s > S3I_LAMBDA_WAIT_MIN_S ? to_deadline_s : S3I_LAMBDA_WAIT_MIN_S;

	resp r;
	resp_begin(&r);
	resp_str(&r, "run_id", warm.run_id);
	resp_str(&r, "stage", "wait");
	resp_bool(&r, "finished", w.over);
	resp_int(&r, "pending", (long long)w.pending);
	resp_int(&r, "timed_out", (long long)w.timed_out);
	resp_int(&r, "deadline_ms", (long long)w.deadline_ms);
	resp_int(&r, "wait_seconds", (long long)wait_s);
	return resp_end(&r, "wait_check", out);
}

/* ------------------------------------------------------------------ fail */

int s3i_lambda_handler_fail(s3i_ctx *ctx, const s3i_lambda_invocation *inv, s3i_lambda_result *out);

/*
 * fail: a Catch's target. Event: {"run_id": "R" (absent when start itself failed),
 * "stage": "<the state that failed>", "error": {"Error": "<errorType>", "Cause": "<the
 * error's JSON or text>"}}. Records the run as failed with the stage and the message (the
 * Cause's errorMessage when it is a Lambda error document). Response: {"run_id", "recorded":
 * bool, "finished": true}. The failure report (notify) and the teardown follow in the
 * state machine.
 */
int s3i_lambda_handler_fail(s3i_ctx *ctx, const s3i_lambda_invocation *inv, s3i_lambda_result *out)
{
	yajl_val root = parse_event(inv, "fail", out);
	if (!root)
		return 1;
	const char *run_id = get_string(root, "run_id");
	const char *stage = get_string(root, "stage");
	const char *epath[] = { "error", "Error", NULL }, *cpath[] = { "error", "Cause", NULL };
	yajl_val ev = yajl_tree_get(root, epath, yajl_t_string);
	yajl_val cv = yajl_tree_get(root, cpath, yajl_t_string);
	const char *error = ev ? YAJL_GET_STRING(ev) : "States.Unknown";
	const char *cause = cv ? YAJL_GET_STRING(cv) : "";
	/* A Lambda error's Cause is {"errorMessage", "errorType", "stackTrace"}. */
	yajl_val cause_doc = cause[0] == '{' ? yajl_tree_parse(cause, NULL, 0) : NULL;
	const char *mpath[] = { "errorMessage", NULL };
	yajl_val mv = cause_doc ? yajl_tree_get(cause_doc, mpath, yajl_t_string) : NULL;
	char message[1024];
	snprintf(message, sizeof message, "%s: %s", error, mv ? YAJL_GET_STRING(mv) : cause);
	char stage_buf[32];
	snprintf(stage_buf, sizeof stage_buf, "%s", stage && *stage ? stage : "unknown");

	int recorded = 0, failed = 0;
	char run_buf[64] = "";
	if (run_id && *run_id) {
		snprintf(run_buf, sizeof run_buf, "%s", run_id);
		failed = get_run(ctx, inv, run_id, out);
		if (!failed) {
			int rc = s3i_harvest_record_failure(warm.run, stage_buf, message);
			if (rc)
				failed = fail_status(out, rc, NULL, "fail: recording the failure", run_id);
			else
				recorded = 1;
		} else if (s3i_error_last()->code == S3I_ENOTFOUND) {
			/* no such run: nothing to record (start failed before recording it) */
			free(out->error_type);
			free(out->error_message);
			out->error_type = out->error_message = NULL;
			failed = 0;
		}
	}
	yajl_tree_free(cause_doc);
	yajl_tree_free(root);
	if (failed)
		return 1;
	fprintf(stderr, "s3i-lambda: run %s failed in %s: %s\n", run_buf[0] ? run_buf : "(none)",
		stage_buf, message);
	resp r;
	resp_begin(&r);
	resp_str(&r, "run_id", run_buf[0] ? run_buf : NULL);
	resp_str(&r, "stage", stage_buf);
	resp_bool(&r, "recorded", recorded);
	resp_bool(&r, "finished", 1);
	return resp_end(&r, "fail", out);
}

/* ------------------------------------------------------------------ ingest (SQS) */

int s3i_lambda_handler_ingest(s3i_ctx *ctx, const s3i_lambda_invocation *inv, s3i_lambda_result *out);

/* Whether an event source ARN names the deployment's dead-letter queue. */
static int is_dead_letter_source(const char *arn)
{
	const char *name = arn ? strrchr(arn, ':') : NULL;
	return name && strcmp(name + 1, s3i_deployment_dlq_name(warm.d)) == 0;
}

/*
 * ingest: the SQS-triggered inventory processor (ingest + partition), wired to the central
 * queue (and to the dead-letter queue, whose messages fail the bucket they name) with
 * ReportBatchItemFailures. Event: {"Records": [{"messageId", "receiptHandle", "body",
 * "eventSourceARN", ...}]}. Each message's work is done on its own
 * (s3i_ingest_process_message); the response lists the messages that must come back:
 * {"batchItemFailures": [{"itemIdentifier": "<messageId>"}]}, so Lambda deletes the others
 * and one bad message never re-runs the whole batch. A message whose work ran out of time is
 * listed too (its work goes on from where it stopped); once the deadline is near, the rest
 * are listed without being looked at. Only an event that is not an SQS batch fails the
 * invocation (S3i.InvalidEvent).
 */
int s3i_lambda_handler_ingest(s3i_ctx *ctx, const s3i_lambda_invocation *inv, s3i_lambda_result *out)
{
	yajl_val root = parse_event(inv, "ingest", out);
	if (!root)
		return 1;
	const char *rpath[] = { "Records", NULL };
	yajl_val records = yajl_tree_get(root, rpath, yajl_t_array);
	if (!records) {
		yajl_tree_free(root);
		return s3i_lambda_fail(out, "S3i.InvalidEvent", "ingest: the event has no Records "
			"array (not an SQS event)");
	}
	if (get_deployment(ctx, inv, out)) {
		yajl_tree_free(root);
		return 1;
	}
	if (!warm.ingest) {
		s3i_ingest_options o = S3I_INGEST_OPTIONS_INIT;
		const char *mw = getenv("S3I_LAMBDA_MANIFEST_WAIT_MS");
		if (mw && *mw)
			o.manifest_wait_ms = strtoll(mw, NULL, 10);
		int rc = s3i_ingest_new(&warm.ingest, warm.d, &o);
		if (rc) {
			yajl_tree_free(root);
			return fail_status(out, rc, NULL, "ingest: creating the stage", NULL);
		}
	}
	resp r;
	resp_begin(&r);
	resp_key(&r, "batchItemFailures");
	if (r.g)
		yajl_gen_array_open(r.g);
	int64_t deadline = step_deadline(inv);
	long long done = 0, listed = 0;
	int stage_down = 0;
	for (size_t i = 0; i < YAJL_GET_ARRAY(records)->len; i++) {
		yajl_val rec = YAJL_GET_ARRAY(records)->values[i];
		const char *id = YAJL_IS_OBJECT(rec) ? get_string(rec, "messageId") : NULL;
		const char *body = YAJL_IS_OBJECT(rec) ? get_string(rec, "body") : NULL;
		if (!id)
			continue;   /* nothing to name: Lambda treats it as processed */
		s3i_ingest_outcome outcome = S3I_INGEST_MESSAGE_RETRY;
		if (!stage_down && body && now_epoch_ms() < deadline) {
			int flags = is_dead_letter_source(get_string(rec, "eventSourceARN"))
				? S3I_INGEST_MESSAGE_DEAD_LETTER : 0;
			int rc = s3i_ingest_process_message(warm.ingest, id, body, strlen(body), deadline,
				flags, &outcome);
			if (rc) {
				/* the state table is unreachable: leave this and the rest for later */
				stage_down = 1;
				fprintf(stderr, "s3i-lambda: ingest: message %s and the rest of the batch "
					"left for later: %s\n", id, s3i_ingest_error(warm.ingest)->message);
			} else if (outcome != S3I_INGEST_MESSAGE_DONE) {
				fprintf(stderr, "s3i-lambda: ingest: message %s comes back (%s): %s\n", id,
					outcome == S3I_INGEST_MESSAGE_UNFINISHED ? "unfinished" : "retry",
					s3i_ingest_error(warm.ingest)->message);
			}
		} else if (!body && !stage_down) {
			outcome = S3I_INGEST_MESSAGE_DONE;   /* no body: nothing it could ever do */
		}
		if (outcome == S3I_INGEST_MESSAGE_DONE) {
			done++;
			continue;
		}
		listed++;
		if (r.g) {
			yajl_gen_map_open(r.g);
			resp_str(&r, "itemIdentifier", id);
			yajl_gen_map_close(r.g);
		}
	}
	if (r.g)
		yajl_gen_array_close(r.g);
	yajl_tree_free(root);
	fprintf(stderr, "s3i-lambda: ingest: %lld message(s) done, %lld left for later\n", done,
		listed);
	return resp_end(&r, "ingest", out);
}

/* ------------------------------------------------------------------ plan_configure */

int s3i_lambda_handler_plan_configure(s3i_ctx *ctx, const s3i_lambda_invocation *inv,
	s3i_lambda_result *out);

typedef struct plan {
	yajl_gen g;
	long long count;
} plan;

static int plan_bucket(void *user, const s3i_bucket_status *b)
{
	plan *p = user;
	/* "*" stands for an account that could not be listed: nothing to configure */
	if (strcmp(b->status, "discovered") != 0 || strcmp(b->bucket, "*") == 0)
		return 0;
	yajl_gen_map_open(p->g);
	yajl_gen_string(p->g, (const unsigned char *)"bucket", 6);
	yajl_gen_string(p->g, (const unsigned char *)b->bucket, strlen(b->bucket));
	yajl_gen_string(p->g, (const unsigned char *)"account_id", 10);
	yajl_gen_string(p->g, (const unsigned char *)b->account, strlen(b->account));
	yajl_gen_map_close(p->g);
	p->count++;
	return 0;
}

/*
 * plan_configure: the run's `discovered` buckets, written as a JSON array [{"bucket",
 * "account_id"}, ...] to S3I_LAMBDA_ITEMS_KEY in the consolidated bucket, where
 * ConfigureBuckets' ItemReader reads them. Event {"run_id": "R"}. Response: {"run_id",
 * "stage": "plan_configure", "finished": true, "bucket_count", "items_bucket", "items_key"}.
 * Idempotent: a retry writes the file again from the state table (buckets configured since
 * are left out).
 */
int s3i_lambda_handler_plan_configure(s3i_ctx *ctx, const s3i_lambda_invocation *inv,
	s3i_lambda_result *out)
{
	yajl_val root = parse_event(inv, "plan_configure", out);
	if (!root)
		return 1;
	const char *run_id = get_string(root, "run_id");
	int failed = !run_id || !*run_id
		? s3i_lambda_fail(out, "S3i.InvalidEvent", "plan_configure: field run_id (a string) is required")
		: get_run(ctx, inv, run_id, out);
	yajl_tree_free(root);
	if (failed)
		return 1;
	plan p = { yajl_gen_alloc(NULL), 0 };
	if (!p.g)
		return s3i_lambda_fail(out, "S3i.Failed", "plan_configure of run %s: out of memory",
			warm.run_id);
	yajl_gen_array_open(p.g);
	s3i_run_status st;
	memset(&st, 0, sizeof st);
	st.struct_size = sizeof st;
	int rc = s3i_run_status_read(warm.run, &st, plan_bucket, &p);
	if (rc) {
		yajl_gen_free(p.g);
		return fail_status(out, rc, NULL, "plan_configure: reading the buckets", warm.run_id);
	}
	yajl_gen_array_close(p.g);
	const unsigned char *buf = NULL;
	size_t len = 0;
	if (yajl_gen_get_buf(p.g, &buf, &len) != yajl_gen_status_ok) {
		yajl_gen_free(p.g);
		return s3i_lambda_fail(out, "S3i.Failed", "plan_configure of run %s: writing the "
			"items failed", warm.run_id);
	}
	char key[128];
	snprintf(key, sizeof key, S3I_LAMBDA_ITEMS_KEY, warm.run_id);
	const char *bucket = s3i_deployment_consolidated_bucket(warm.d);
	rc = s3i_s3_put_object(ctx, bucket, key, buf, len);
	yajl_gen_free(p.g);
	if (rc) {
		char what[256];
		snprintf(what, sizeof what, "plan_configure: writing s3://%s/%s", bucket, key);
		return fail_status(out, rc, NULL, what, warm.run_id);
	}
	resp r;
	resp_begin(&r);
	resp_str(&r, "run_id", warm.run_id);
	resp_str(&r, "stage", "plan_configure");
	resp_bool(&r, "finished", 1);
	resp_int(&r, "bucket_count", p.count);
	resp_str(&r, "items_bucket", bucket);
	resp_str(&r, "items_key", key);
	return resp_end(&r, "plan_configure", out);
}

/* ------------------------------------------------------------------ list_runs */

int s3i_lambda_handler_list_runs(s3i_ctx *ctx, const s3i_lambda_invocation *inv,
	s3i_lambda_result *out);

typedef struct run_list {
	yajl_gen g;
	long long count;
} run_list;

static int list_run(void *user, const char *run_id, const char *phase, int finished)
{
	run_list *l = user;
	(void)phase;
	if (finished)
		return 0;   /* asked for unfinished runs only; a finished one is never cleaned again */
	yajl_gen_string(l->g, (const unsigned char *)run_id, strlen(run_id));
	l->count++;
	return 0;
}

/*
 * list_runs: the Cleanup machine's ListRuns. Event: the Cleanup input, checked by
 * s3i_cleanup_input_parse: {"manual_cleanup": true} lists every unfinished run of the
 * deployment (s3i_deployment_list_runs), {"run_id": "R"} names that run. Response:
 * {"run_ids": [...], "run_count": n}; no unfinished run is an empty list, not an error.
 * An input naming nothing is S3i.InvalidInput (not retried).
 */
int s3i_lambda_handler_list_runs(s3i_ctx *ctx, const s3i_lambda_invocation *inv,
	s3i_lambda_result *out)
{
	s3i_cleanup_input *c = NULL;
	int rc = s3i_cleanup_input_parse(&c, inv->event_len ? inv->event : "{}",
		inv->event_len ? inv->event_len : 2, NULL, NULL);
	if (rc == S3I_EPARSE || rc == S3I_EINVALID) {
		/* not retried: the same input would be refused again */
		const s3i_error *e = s3i_error_last();
		return s3i_lambda_fail(out, "S3i.InvalidInput", "list_runs: the Cleanup input: %s",
			e && e->message[0] ? e->message : s3i_strerror(rc));
	}
	if (rc)
		return fail_status(out, rc, NULL, "list_runs: the Cleanup input", NULL);
	run_list l = { NULL, 0 };
	resp r;
	resp_begin(&r);
	resp_key(&r, "run_ids");
	if (r.g)
		yajl_gen_array_open(r.g);
	l.g = r.g;
	const char *named = s3i_cleanup_input_get_run_id(c);
	if (named) {
		if (r.g)
			yajl_gen_string(r.g, (const unsigned char *)named, strlen(named));
		l.count = 1;
	} else if (!r.g) {
		rc = S3I_ENOMEM;
	} else if (get_deployment(ctx, inv, out)) {
		yajl_gen_free(r.g);
		s3i_cleanup_input_free(c);
		return 1;
	} else {
		rc = s3i_deployment_list_runs(warm.d, 1, list_run, &l);
	}
	s3i_cleanup_input_free(c);
	if (rc) {
		yajl_gen_free(r.g);
		return fail_status(out, rc, NULL, "list_runs: listing the unfinished runs", NULL);
	}
	if (r.g)
		yajl_gen_array_close(r.g);
	resp_int(&r, "run_count", l.count);
	return resp_end(&r, "list_runs", out);
}

/* ------------------------------------------------------------------ ping */

int s3i_lambda_handler_ping(s3i_ctx *ctx, const s3i_lambda_invocation *inv, s3i_lambda_result *out);

/*
 * ping: answers the library version and the time left. Event: {} or {"wait_ms": N} to keep
 * "working" N ms, which stops early (S3i.DeadlineExceeded) when the deadline gets close; an
 * event that is not a JSON object fails with S3i.InvalidEvent.
 */
int s3i_lambda_handler_ping(s3i_ctx *ctx, const s3i_lambda_invocation *inv, s3i_lambda_result *out)
{
	char err[256] = "";
	yajl_val root = yajl_tree_parse(inv->event_len ? inv->event : "{}", err, sizeof err);
	if (!root || !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return s3i_lambda_fail(out, "S3i.InvalidEvent", "ping: the event is not a JSON object%s%s",
			err[0] ? ": " : "", err);
	}
	static const char *wait_path[] = { "wait_ms", NULL };
	yajl_val w = yajl_tree_get(root, wait_path, yajl_t_any);
	if (w && !YAJL_IS_INTEGER(w)) {
		yajl_tree_free(root);
		return s3i_lambda_fail(out, "S3i.InvalidEvent", "ping: field wait_ms is not an integer");
	}
	long long wait_ms = w ? YAJL_GET_INTEGER(w) : 0;
	yajl_tree_free(root);

	for (long long waited = 0; waited < wait_ms; waited += 10) {
		if (s3i_lambda_remaining_ms(inv) < S3I_LAMBDA_SAFETY_MS)
			return s3i_lambda_fail(out, "S3i.DeadlineExceeded",
				"ping: stopped after %lld of %lld ms, %lld ms before the deadline of request %s",
				waited, wait_ms, (long long)s3i_lambda_remaining_ms(inv), inv->request_id);
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}

	char buf[512];
	int n = snprintf(buf, sizeof buf,
		"{\"handler\":\"ping\",\"version\":\"%s\",\"region\":\"%s\",\"remaining_ms\":%lld",
		s3i_version_string(), s3i_ctx_region(ctx), (long long)s3i_lambda_remaining_ms(inv));
	if (getenv("S3I_LAMBDA_DEBUG")) {
		/* For the runtime's tests: the context counter and the trace id the runtime exported
		 * (trace ids are [A-Za-z0-9=;-], nothing to escape; others are left out). */
		const char *trace = getenv("_X_AMZN_TRACE_ID");
		if (!trace || strspn(trace, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789=;-")
			!= strlen(trace) || strlen(trace) > 200)
			trace = "";
		n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"contexts_created\":%d,\"trace_env\":\"%s\"",
			s3i_lambda_contexts_created(), trace);
	}
	snprintf(buf + n, sizeof buf - (size_t)n, "}");
	out->response = strdup(buf);
	return out->response ? 0 : s3i_lambda_fail(out, "S3i.OutOfMemory", "ping: out of memory");
}

/* Free what the handlers keep warm (the runtime calls this before it exits). */
void s3i_lambda_handlers_shutdown(void)
{
	drop_stage();
	s3i_ingest_free(warm.ingest);
	s3i_run_free(warm.run);
	s3i_deployment_free(warm.d);
	memset(&warm, 0, sizeof warm);
}

const s3i_lambda_handler s3i_lambda_handlers[] = {
	{ "ping", s3i_lambda_handler_ping },
	{ "start", s3i_lambda_handler_start },
	{ "discover", s3i_lambda_handler_discover },
	{ "provision", s3i_lambda_handler_provision },
	{ "plan_configure", s3i_lambda_handler_plan_configure },
	{ "configure", s3i_lambda_handler_configure },
	{ "wait_check", s3i_lambda_handler_wait_check },
	{ "partition", s3i_lambda_handler_partition },
	{ "table", s3i_lambda_handler_table },
	{ "query", s3i_lambda_handler_query },
	{ "notify", s3i_lambda_handler_notify },
	{ "teardown", s3i_lambda_handler_teardown },
	{ "fail", s3i_lambda_handler_fail },
	{ "list_runs", s3i_lambda_handler_list_runs },
	{ "cleanup", s3i_lambda_handler_cleanup },
	{ "ingest", s3i_lambda_handler_ingest },
	{ NULL, NULL }
};
