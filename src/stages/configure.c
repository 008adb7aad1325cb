/*
 * The configure stage (DESIGN §4.2, §5.2; include/s3insights/stage_configure.h).
 *
 * A step reads the run's `discovered` buckets from the state table and hands them to a small
 * pool of worker threads (the calls of one bucket depend on each other: the empty check, then
 * the configuration, then the state writes; a list snapshot is a chain of pages). Each worker
 * takes the next bucket, does its work with synchronous calls on the shared client (which is
 * thread-safe) and records the outcome before it takes another. Workers stop taking buckets
 * once the step's deadline has passed; the step always does at least one.
 *
 * The batch scope (options.buckets, one batch of a Map over the discovered buckets): the
 * handle copies the names; a name qualified with its account ("<account>/<bucket>", as the
 * Map's items give them) is a key of the state table as it stands, and only plain names make
 * the handle find their buckets with one read of the run's bucket items (the key needs the
 * account). From then on it rereads only those (GetItem) at each step; it never moves the run
 * to `waiting`. (A Map over B buckets in batches of b would otherwise read the run's B bucket
 * items B/b times.)
 *
 * What is a bucket's problem and what is the stage's: anything that goes wrong with a source
 * bucket, its account's role or its report in the staging bucket marks that bucket `failed`
 * with the message; only the state table failing stops the step (nothing could be recorded).
 */
#include "s3insights/stage_configure.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "stages/names.h"
#include "stages/run_internal.h"
#include "stages/snapshot.h"
#include "stages/table_ddl.h"

#define DEFAULT_CONCURRENCY 8
#define ACCOUNT_LEN 12
#define NAME_CAP (ACCOUNT_LEN + 1 + 63 + 1)   /* "<account>/<bucket>" and its NUL */
#define MAX_CONCURRENCY 64

typedef struct cfg_region {
	char region[32];
	char staging_bucket[64];
} cfg_region;

typedef struct cfg_bucket {
	char account[16];
	char region[32];
	char bucket[64];
	int64_t created_ms;
} cfg_bucket;

struct s3i_configure {
	s3i_run *run;
	s3i_deployment *d;
	s3i_state *state;
	const s3i_allocator *a;
	s3i_configure_options opts;
	s3i_errinfo err;
	int started;                 /* phase and deadline recorded by this handle */
	char run_id[16];
	char host_account[16];
	char inventory_id[128];
	int list_snapshot;
	int all_versions;
	s3i_s3_inventory_format format;
	int64_t max_objects;         /* list snapshot: 0 = no limit */
	uint32_t optional_fields;
	/* per step */
	cfg_region *regions;
	size_t n_regions, cap_regions;
	cfg_bucket *buckets;
	size_t n_buckets, cap_buckets;
	/* the batch scope: the names given (sorted, copied; plain or "<account>/<bucket>"), the
	 * run's buckets of those names (found once per handle) and which of them are known to
	 * be past `discovered` */
	char (*names)[NAME_CAP];
	size_t n_names, n_plain;
	int scoped;
	int resolved;
	cfg_bucket *targets;
	unsigned char *target_done;
	size_t n_targets, cap_targets;
	/* the worker pool of a step */
	pthread_mutex_t lock;
	size_t next;
	size_t taken;
	int64_t deadline_ms;
	int fatal;
	s3i_errinfo fatal_err;
};

/* ------------------------------------------------------------------ helpers */

static int64_t now_ms(const s3i_configure *st)
{
	return s3i_deployment_now_ms(st->d);
}

static const char *staging_of(const s3i_configure *st, const char *region)
{
	for (size_t i = 0; i < st->n_regions; i++)
		if (!strcmp(st->regions[i].region, region))
			return st->regions[i].staging_bucket;
	return NULL;
}

/* Record a bucket's final outcome. A state-table failure is the stage's (returned). */
static int set_bucket(s3i_configure *st, const cfg_bucket *b, s3i_bucket_state status,
	const char *reason, s3i_errinfo *err)
{
	int rc = s3i_state_bucket_set_status(st->state, st->run_id, b->account, b->bucket, status,
		reason, now_ms(st), NULL, err);
	if (rc)
		s3i_err_prefix(err, "configure: recording bucket '%s' of account %s as %s: ",
			b->bucket, b->account, s3i_bucket_state_name(status));
	return rc;
}

static int bucket_failed(s3i_configure *st, const cfg_bucket *b, const s3i_errinfo *why,
	s3i_errinfo *err)
{
	const char *msg = why->message[0] ? why->message : "unknown error";
	s3i_log(s3i_ctx_logger(s3i_deployment_ctx(st->d)), S3I_LOG_WARN,
		"configure: bucket '%s' of account %s failed: %s", b->bucket, b->account, msg);
	return set_bucket(st, b, S3I_BUCKET_FAILED, msg, err);
}

static const char *empty_reason(const s3i_configure *st)
{
	return st->all_versions ? "no object versions or delete markers"
		: "no objects (current versions)";
}

/* ------------------------------------------------------------------ inventory */

/* Whether the bucket holds anything the report would list: one listing entry is enough. */
static int is_empty(s3i_configure *st, const s3i_svc *svc, const char *bucket, int *empty,
	s3i_errinfo *err)
{
	s3i_s3_list_options lo = S3I_S3_LIST_OPTIONS_INIT;
	lo.max_keys = 1;
	s3i_s3_list_page page;
	s3i_s3_list_page_init(&page, st->a);
	int rc = st->all_versions
		? s3i_s3_list_object_versions_page_op(svc, bucket, &lo, NULL, NULL, &page, err)
		: s3i_s3_list_objects_page_op(svc, bucket, &lo, NULL, NULL, &page, err);
	if (!rc)
		*empty = page.entries == 0 && !page.truncated;
	s3i_s3_list_page_free(&page);
	return rc;
}

/* S3I_OK: the bucket's outcome is recorded; a negative status: the stage failed. */
static int configure_inventory(s3i_configure *st, const cfg_bucket *b, const s3i_svc *svc,
	const char *staging, s3i_errinfo *err)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int empty = 0;
	if (is_empty(st, svc, b->bucket, &empty, &e))
		return bucket_failed(st, b, &e, err);
	if (empty)
		return set_bucket(st, b, S3I_BUCKET_EMPTY, empty_reason(st), err);
	char arn[128], prefix[64];
	snprintf(arn, sizeof(arn), "arn:%s:s3:::%s", s3i_deployment_partition(st->d), staging);
	snprintf(prefix, sizeof(prefix), "%s/%s", b->account, b->region);
	s3i_s3_inventory_config cfg = {
		.id = st->inventory_id, .enabled = 1, .destination_bucket_arn = arn,
		.destination_account_id = st->host_account, .destination_prefix = prefix,
		.format = st->format, .encryption = S3I_S3_INVENTORY_SSE_NONE,
		.versions = st->all_versions ? S3I_S3_INVENTORY_VERSIONS_ALL
			: S3I_S3_INVENTORY_VERSIONS_CURRENT,
		.frequency = S3I_S3_INVENTORY_DAILY, .optional_fields = st->optional_fields };
	if (s3i_s3_put_bucket_inventory_configuration_op(svc, b->bucket, &cfg, &e))
		return bucket_failed(st, b, &e, err);
	int rc = s3i_state_bucket_set_inventory_configured(st->state, st->run_id, b->account,
		b->bucket, 1, now_ms(st), err);
	if (rc) {
		s3i_err_prefix(err, "configure: recording the inventory configuration of bucket '%s': ",
			b->bucket);
		return rc;
	}
	return set_bucket(st, b, S3I_BUCKET_IN_PROGRESS, NULL, err);
}

/* ------------------------------------------------------------------ list snapshot */

typedef struct snap_ctx {
	const s3i_svc *staging_svc;
	const char *staging;
} snap_ctx;

static int snap_put(void *user, const char *key, const void *data, size_t len,
	const char *content_type, s3i_errinfo *err)
{
	snap_ctx *c = user;
	return s3i_s3_put_object_op(c->staging_svc, c->staging, key, data, len, content_type, err);
}

static int list_snapshot(s3i_configure *st, const cfg_bucket *b, const s3i_svc *svc,
	const char *staging, s3i_errinfo *err)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	/* the staging bucket is the host account's, in the bucket's region */
	s3i_svc ssvc;
	s3i_credprov *shold = NULL;
	if (s3i_run_account_svc(st->run, st->host_account, b->region, &ssvc, &shold, &e))
		return bucket_failed(st, b, &e, err);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%s/%s", b->account, b->region);
	s3i_snapshot_spec spec = {
		.source_bucket = b->bucket, .staging_bucket = staging, .prefix = prefix,
		.config_id = st->inventory_id, .all_versions = st->all_versions,
		/* stable across re-runs, so a rewritten report lands on the same keys */
		.creation_ms = b->created_ms > 0 ? b->created_ms : now_ms(st),
		.file_bytes = st->opts.snapshot_file_bytes,
		.gzip_level = st->opts.snapshot_gzip_level };
	snap_ctx c = { .staging_svc = &ssvc, .staging = staging };
	s3i_snapshot_writer *w = NULL;
	int rc = s3i_snapshot_writer_new(&w, st->a, &spec, snap_put, &c, &e);
	if (!rc)
		rc = s3i_snapshot_list(w, svc, b->bucket, st->opts.snapshot_page_size,
			st->max_objects, &e);
	int outcome;
	if (rc) {
		outcome = bucket_failed(st, b, &e, err);
	} else if (!s3i_snapshot_writer_rows(w)) {
		outcome = set_bucket(st, b, S3I_BUCKET_EMPTY, empty_reason(st), err);
	} else if (s3i_snapshot_writer_finish(w, &e)) {
		outcome = bucket_failed(st, b, &e, err);
	} else {
		/* only now: a crash before this point lists the bucket again */
		outcome = set_bucket(st, b, S3I_BUCKET_IN_PROGRESS, NULL, err);
	}
	s3i_snapshot_writer_free(w);
	if (shold)
		s3i_credprov_release(shold);
	return outcome;
}

/* ------------------------------------------------------------------ one bucket */

/* S3I_OK when the bucket's outcome is recorded; a negative status when the stage failed. */
static int do_bucket(s3i_configure *st, const cfg_bucket *b, s3i_errinfo *err)
{
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	const char *staging = staging_of(st, b->region);
	if (!staging || !*staging) {
		s3i_err(&e, S3I_ENOTFOUND, b->region, "configure: no staging bucket is recorded for "
			"region %s (provision has not deployed it)", b->region);
		return bucket_failed(st, b, &e, err);
	}
	s3i_svc svc;
	s3i_credprov *hold = NULL;
	if (s3i_run_account_svc(st->run, b->account, b->region, &svc, &hold, &e))
		return bucket_failed(st, b, &e, err);
	int rc = st->list_snapshot ? list_snapshot(st, b, &svc, staging, err)
		: configure_inventory(st, b, &svc, staging, err);
	if (hold)
		s3i_credprov_release(hold);
	return rc;
}

/* ------------------------------------------------------------------ the worker pool */

static void *worker(void *arg)
{
	s3i_configure *st = arg;
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	for (;;) {
		pthread_mutex_lock(&st->lock);
		int go = !st->fatal && st->next < st->n_buckets &&
			!(st->taken && st->deadline_ms && now_ms(st) >= st->deadline_ms);
		size_t i = st->next;
		if (go) {
			st->next++;
			st->taken++;
		}
		pthread_mutex_unlock(&st->lock);
		if (!go)
			break;
		int rc = do_bucket(st, &st->buckets[i], &err);
		if (rc) {
			pthread_mutex_lock(&st->lock);
			if (!st->fatal) {
				st->fatal = rc;
				s3i_errinfo_copy(&st->fatal_err, &err);
			}
			pthread_mutex_unlock(&st->lock);
			break;
		}
	}
	return NULL;
}

static int run_pool(s3i_configure *st, int64_t deadline_ms)
{
	st->next = 0;
	st->taken = 0;
	st->fatal = 0;
	st->deadline_ms = deadline_ms;
	s3i_errinfo_init(&st->fatal_err);
	size_t n = (size_t)(st->opts.concurrency ? st->opts.concurrency : DEFAULT_CONCURRENCY);
	if (n > st->n_buckets)
		n = st->n_buckets;
	pthread_t tids[MAX_CONCURRENCY];
	size_t started = 0;
	/* the calling thread is one of the workers */
	for (size_t i = 1; i < n; i++) {
		if (pthread_create(&tids[started], NULL, worker, st))
			break;                /* fewer threads: still correct, only slower */
		started++;
	}
	worker(st);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (st->fatal) {
		s3i_errinfo_copy(&st->err, &st->fatal_err);
		return st->fatal;
	}
	return S3I_OK;
}

/* ------------------------------------------------------------------ reading the state */

static int collect_region(void *user, const s3i_state_region *r)
{
	s3i_configure *st = user;
	if (!strcmp(r->status, "torn_down"))
		return 0;
	if (st->n_regions == st->cap_regions) {
		size_t cap = st->cap_regions ? st->cap_regions * 2 : 8;
		cfg_region *p = s3i_realloc(st->a, st->regions, cap * sizeof(*p));
		if (!p)
			return S3I_ENOMEM;
		st->regions = p;
		st->cap_regions = cap;
	}
	cfg_region *x = &st->regions[st->n_regions++];
	snprintf(x->region, sizeof(x->region), "%s", r->region);
	snprintf(x->staging_bucket, sizeof(x->staging_bucket), "%s", r->staging_bucket);
	return 0;
}

/* Appends a bucket to one of the handle's lists (st->buckets or st->targets). */
static int push_bucket(s3i_configure *st, cfg_bucket **list, size_t *n, size_t *cap,
	const char *account, const char *region, const char *bucket, int64_t created_ms)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		cfg_bucket *p = s3i_realloc(st->a, *list, ncap * sizeof(*p));
		if (!p)
			return S3I_ENOMEM;
		*list = p;
		*cap = ncap;
	}
	cfg_bucket *x = &(*list)[(*n)++];
	snprintf(x->account, sizeof(x->account), "%s", account);
	snprintf(x->region, sizeof(x->region), "%s", region);
	snprintf(x->bucket, sizeof(x->bucket), "%s", bucket);
	x->created_ms = created_ms;
	return 0;
}

static int collect_bucket(void *user, const s3i_state_bucket *b)
{
	s3i_configure *st = user;
	if (b->status != S3I_BUCKET_DISCOVERED)
		return 0;
	return push_bucket(st, &st->buckets, &st->n_buckets, &st->cap_buckets, b->account,
		b->region, b->bucket, b->created_ms);
}

/* ------------------------------------------------------------------ the batch scope */

static int cmp_name(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int is_named(const s3i_configure *st, const char *bucket)
{
	return bsearch(bucket, st->names, st->n_names, sizeof(st->names[0]), cmp_name) != NULL;
}

static int add_target(s3i_configure *st, const char *account, const char *region,
	const char *bucket, int64_t created_ms)
{
	return push_bucket(st, &st->targets, &st->n_targets, &st->cap_targets, account, region,
		bucket, created_ms);
}

/* A bucket of the run named by a plain name, unless a qualified name took it already. */
static int collect_target(void *user, const s3i_state_bucket *b)
{
	s3i_configure *st = user;
	char qualified[sizeof(b->account) + sizeof(b->bucket)];   /* longer than any name given */
	if (!is_named(st, b->bucket))
		return 0;
	snprintf(qualified, sizeof(qualified), "%s/%s", b->account, b->bucket);
	if (is_named(st, qualified))
		return 0;
	return add_target(st, b->account, b->region, b->bucket, b->created_ms);
}

/* Once per handle: the run's buckets bearing the given names. Qualified names are taken as
 * they are (a bucket that is not the run's is found out at its GetItem); plain names cost one
 * read of the run's bucket items. A name of no bucket of the run is skipped (logged): a batch
 * may name a bucket of another run or a stale one. */
static int resolve_targets(s3i_configure *st)
{
	int rc;
	st->n_targets = 0;
	for (size_t i = 0; i < st->n_names; i++) {
		const char *slash = strchr(st->names[i], '/');
		if (!slash)
			continue;
		char account[ACCOUNT_LEN + 1];
		memcpy(account, st->names[i], ACCOUNT_LEN);
		account[ACCOUNT_LEN] = '\0';
		if ((rc = add_target(st, account, "", slash + 1, 0)))
			return rc;
	}
	size_t qualified = st->n_targets;
	if (st->n_plain &&
		(rc = s3i_state_buckets_list(st->state, st->run_id, collect_target, st, &st->err)))
		return rc;
	st->target_done = s3i_calloc(st->a, st->n_targets ? st->n_targets : 1, 1);
	if (!st->target_done)
		return S3I_ENOMEM;
	if (st->n_targets - qualified < st->n_plain)
		s3i_log(s3i_ctx_logger(s3i_deployment_ctx(st->d)), S3I_LOG_INFO,
			"configure %s: %zu of the %zu bucket names given are no bucket of the run; "
			"skipped", st->run_id, st->n_plain - (st->n_targets - qualified), st->n_plain);
	st->resolved = 1;
	return S3I_OK;
}

/* The targets still `discovered` (read again: another step may have taken them) into
 * st->buckets; the others are marked done and not read again by this handle. */
static int collect_targets(s3i_configure *st)
{
	int rc;
	if (!st->resolved && (rc = resolve_targets(st)))
		return rc;
	for (size_t i = 0; i < st->n_targets; i++) {
		if (st->target_done[i])
			continue;
		s3i_state_bucket b;
		rc = s3i_state_bucket_get(st->state, st->run_id, st->targets[i].account,
			st->targets[i].bucket, &b, &st->err);
		if (rc == S3I_ENOTFOUND) {
			s3i_errinfo_clear(&st->err);
			st->target_done[i] = 1;
			s3i_log(s3i_ctx_logger(s3i_deployment_ctx(st->d)), S3I_LOG_INFO,
				"configure %s: %s/%s is no bucket of the run; skipped", st->run_id,
				st->targets[i].account, st->targets[i].bucket);
			continue;
		}
		if (rc)
			return rc;
		if (b.status != S3I_BUCKET_DISCOVERED) {
			st->target_done[i] = 1;
			continue;
		}
		if ((rc = collect_bucket(st, &b)))
			return rc;
	}
	return S3I_OK;
}

/* Validates and copies the batch scope's names (sorted, for lookups). */
static int copy_names(s3i_configure *st, const s3i_configure_options *o, s3i_errinfo *te)
{
	if (o->bucket_count < 0)
		return s3i_err(te, S3I_EINVALID, "bucket_count", "s3i_configure_new: bucket_count %d "
			"is negative", (int)o->bucket_count);
	if (o->bucket_count > S3I_CONFIGURE_MAX_BUCKETS)
		return s3i_err(te, S3I_EINVALID, "bucket_count", "s3i_configure_new: bucket_count %d "
			"is more than %d", (int)o->bucket_count, S3I_CONFIGURE_MAX_BUCKETS);
	if (o->bucket_count > 0 && !o->buckets)
		return s3i_err(te, S3I_EINVALID, "buckets", "s3i_configure_new: bucket_count is %d "
			"but buckets is NULL", (int)o->bucket_count);
	if (o->bucket_count == 0 && o->buckets)
		return s3i_err(te, S3I_EINVALID, "bucket_count", "s3i_configure_new: buckets is given "
			"but bucket_count is 0");
	if (!o->buckets)
		return S3I_OK;
	size_t n = (size_t)o->bucket_count;
	for (size_t i = 0; i < n; i++) {
		const char *name = o->buckets[i];
		if (!name || !*name)
			return s3i_err(te, S3I_EINVALID, "buckets", "s3i_configure_new: buckets[%zu] is "
				"%s", i, name ? "empty" : "NULL");
		const char *slash = strchr(name, '/'), *bucket = slash ? slash + 1 : name;
		if (slash && (slash - name != ACCOUNT_LEN ||
			strspn(name, "0123456789") != ACCOUNT_LEN || strchr(bucket, '/') || !*bucket))
			return s3i_err(te, S3I_EINVALID, "buckets", "s3i_configure_new: buckets[%zu] "
				"'%.80s' is neither a bucket name nor \"<12-digit account>/<bucket>\"", i,
				name);
		if (strlen(bucket) > 63)
			return s3i_err(te, S3I_EINVALID, "buckets", "s3i_configure_new: buckets[%zu] "
				"'%.64s...' names a bucket longer than 63 bytes", i, name);
		if (!slash)
			st->n_plain++;
	}
	st->names = s3i_calloc(st->a, n, sizeof(st->names[0]));
	if (!st->names)
		return s3i_err(te, S3I_ENOMEM, NULL, "s3i_configure_new: out of memory");
	for (size_t i = 0; i < n; i++)
		memcpy(st->names[i], o->buckets[i], strlen(o->buckets[i]) + 1);
	qsort(st->names, n, sizeof(st->names[0]), cmp_name);
	st->n_names = n;
	st->scoped = 1;
	return S3I_OK;
}

/* ------------------------------------------------------------------ the handle */

int s3i_configure_new(s3i_configure **out, s3i_run *run, const s3i_configure_options *opts)
{
	s3i_errinfo *te = s3i_errinfo_thread();
	if (!out || !run)
		return s3i_err(te, S3I_EINVALID, NULL, "s3i_configure_new: NULL argument");
	*out = NULL;
	s3i_configure_options o = S3I_CONFIGURE_OPTIONS_INIT;
	if (opts) {
		if (opts->struct_size < sizeof(uint32_t) || opts->struct_size > sizeof(o))
			return s3i_err(te, S3I_EINVALID, "struct_size", "s3i_configure_new: bad struct_size "
				"%u", (unsigned)opts->struct_size);
		memcpy(&o, opts, opts->struct_size);
		o.struct_size = sizeof(o);
	}
	if (o.concurrency < 0 || o.concurrency > MAX_CONCURRENCY)
		return s3i_err(te, S3I_EINVALID, "concurrency", "s3i_configure_new: concurrency %d is "
			"not in 0..%d", (int)o.concurrency, MAX_CONCURRENCY);
	if (o.snapshot_file_bytes < 0)
		return s3i_err(te, S3I_EINVALID, "snapshot_file_bytes", "s3i_configure_new: "
			"snapshot_file_bytes is negative");
	if (o.snapshot_page_size < 0 || o.snapshot_page_size > 1000)
		return s3i_err(te, S3I_EINVALID, "snapshot_page_size", "s3i_configure_new: "
			"snapshot_page_size %d is not in 0..1000", (int)o.snapshot_page_size);
	if (o.snapshot_gzip_level < 0 || o.snapshot_gzip_level > 9)
		return s3i_err(te, S3I_EINVALID, "snapshot_gzip_level", "s3i_configure_new: "
			"snapshot_gzip_level %d is not in 0..9", (int)o.snapshot_gzip_level);
	if (o.snapshot_max_objects < 0)
		return s3i_err(te, S3I_EINVALID, "snapshot_max_objects", "s3i_configure_new: "
			"snapshot_max_objects is negative");
	s3i_deployment *d = s3i_run_deployment(run);
	const s3i_allocator *a = s3i_deployment_alloc(d);
	s3i_configure *st = s3i_calloc(a, 1, sizeof(*st));
	if (!st)
		return s3i_err(te, S3I_ENOMEM, NULL, "s3i_configure_new: out of memory");
	st->run = run;
	st->d = d;
	st->state = s3i_run_state(run);
	st->a = a;
	st->opts = o;
	st->opts.buckets = NULL;   /* the handle keeps its own copy, never the caller's */
	int rc = copy_names(st, &o, te);
	if (rc) {
		s3i_free(a, st->names);
		s3i_free(a, st);
		return rc;
	}
	s3i_errinfo_init(&st->err);
	s3i_errinfo_init(&st->fatal_err);
	const s3i_run_input *in = s3i_run_get_input(run);
	snprintf(st->run_id, sizeof(st->run_id), "%s", s3i_run_id(run));
	snprintf(st->host_account, sizeof(st->host_account), "%s", s3i_deployment_host_account(d));
	rc = s3i_names_inventory_id(st->inventory_id, sizeof(st->inventory_id),
		s3i_deployment_name(d), st->run_id);
	if (rc) {
		s3i_free(a, st->names);
		s3i_free(a, st);
		return s3i_err(te, rc, st->run_id, "s3i_configure_new: no inventory id for run '%s'",
			s3i_run_id(run));
	}
	st->list_snapshot = s3i_run_input_get_snapshot(in) == S3I_SNAPSHOT_LIST;
	st->all_versions = s3i_run_input_get_object_versions(in) == S3I_OBJECT_VERSIONS_ALL;
	switch (s3i_run_input_get_inventory_format(in)) {
	case S3I_INVENTORY_FORMAT_ORC: st->format = S3I_S3_INVENTORY_ORC; break;
	case S3I_INVENTORY_FORMAT_PARQUET: st->format = S3I_S3_INVENTORY_PARQUET; break;
	default: st->format = S3I_S3_INVENTORY_CSV; break;
	}
	st->max_objects = o.snapshot_max_objects;
	if (s3i_run_input_is_smoke_test(in) && (!st->max_objects ||
		st->max_objects > S3I_RUN_INPUT_SMOKE_TEST_MAX_OBJECTS))
		st->max_objects = S3I_RUN_INPUT_SMOKE_TEST_MAX_OBJECTS;
	/* every optional field of the canonical schema, so the reports hold exactly the columns
	 * the manifest and DDL code expects */
	const char *const *cols;
	size_t n = s3i_ddl_canonical_columns(1, &cols);
	for (size_t i = 0; i < n; i++)
		st->optional_fields |= s3i_s3_inventory_field_bit(cols[i], strlen(cols[i]));
	if (pthread_mutex_init(&st->lock, NULL)) {
		s3i_free(a, st->names);
		s3i_free(a, st);
		return s3i_err(te, S3I_ERROR, NULL, "s3i_configure_new: cannot create a mutex");
	}
	*out = st;
	return S3I_OK;
}

static int step_fail(s3i_configure *st, int rc)
{
	s3i_errinfo_copy(s3i_errinfo_thread(), &st->err);
	return rc;
}

int s3i_configure_step(s3i_configure *st, int64_t deadline_ms, int *finished)
{
	if (!st || !finished)
		return s3i_err(st ? &st->err : s3i_errinfo_thread(), S3I_EINVALID, NULL,
			"s3i_configure_step: NULL argument");
	*finished = 0;
	s3i_errinfo_clear(&st->err);
	int rc;
	if (!st->started) {
		/* a failed or finished run gets no new configurations (teardown may have removed
		 * the old ones already) */
		s3i_state_run r;
		if ((rc = s3i_state_run_get(st->state, st->run_id, &r, &st->err))) {
			s3i_err_prefix(&st->err, "configure: ");
			return step_fail(st, rc);
		}
		s3i_run_phase phase = r.phase;
		s3i_state_run_dispose(&r);
		if (phase == S3I_PHASE_FAILED || s3i_run_phase_is_finished(phase) ||
			phase == S3I_PHASE_TEARING_DOWN) {
			rc = s3i_err(&st->err, S3I_ECONFLICT, st->run_id, "configure: run %s is %s; no "
				"bucket is configured", st->run_id, s3i_run_phase_name(phase));
			return step_fail(st, rc);
		}
		if ((rc = s3i_state_run_set_phase(st->state, st->run_id, S3I_PHASE_CONFIGURING,
			now_ms(st), NULL, &st->err))) {
			s3i_err_prefix(&st->err, "configure: ");
			return step_fail(st, rc);
		}
		int64_t timeout = s3i_run_input_get_inventory_timeout_ms(s3i_run_get_input(st->run));
		if ((rc = s3i_state_run_set_deadline(st->state, st->run_id, now_ms(st) + timeout,
			&st->err))) {
			s3i_err_prefix(&st->err, "configure: ");
			return step_fail(st, rc);
		}
		st->started = 1;
	}
	st->n_regions = 0;
	st->n_buckets = 0;
	if ((rc = s3i_state_regions_list(st->state, st->run_id, collect_region, st, &st->err)) ||
		(rc = st->scoped ? collect_targets(st)
			: s3i_state_buckets_list(st->state, st->run_id, collect_bucket, st, &st->err))) {
		if (rc == S3I_EUSER || rc == S3I_ENOMEM)
			rc = s3i_err(&st->err, S3I_ENOMEM, NULL, "configure: out of memory reading the "
				"buckets of run %s", st->run_id);
		else
			s3i_err_prefix(&st->err, "configure: ");
		return step_fail(st, rc);
	}
	if (st->n_buckets) {
		if ((rc = run_pool(st, deadline_ms)))
			return step_fail(st, rc);
		if (st->next < st->n_buckets)
			return S3I_OK;         /* the deadline passed: more in the next step */
	}
	if (st->scoped) {
		/* every bucket taken has its outcome recorded: none of the batch is `discovered`;
		 * moving the run on is the whole-run step's (the sweep's) */
		*finished = 1;
		return S3I_OK;
	}
	if ((rc = s3i_state_run_set_phase(st->state, st->run_id, S3I_PHASE_WAITING, now_ms(st),
		NULL, &st->err))) {
		s3i_err_prefix(&st->err, "configure: ");
		return step_fail(st, rc);
	}
	*finished = 1;
	return S3I_OK;
}

int s3i_configure_run(s3i_configure *st)
{
	int finished = 0;
	while (!finished) {
		int rc = s3i_configure_step(st, 0, &finished);
		if (rc)
			return rc;
	}
	return S3I_OK;
}

const s3i_error *s3i_configure_error(const s3i_configure *st)
{
	return st ? &st->err.pub : &s3i_errinfo_thread()->pub;
}

void s3i_configure_free(s3i_configure *st)
{
	if (!st)
		return;
	pthread_mutex_destroy(&st->lock);
	s3i_free(st->a, st->regions);
	s3i_free(st->a, st->buckets);
	s3i_free(st->a, st->names);
	s3i_free(st->a, st->targets);
	s3i_free(st->a, st->target_done);
	s3i_free(st->a, st);
}
