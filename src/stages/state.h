/*
 * The state store: a run's progress in the deployment's DynamoDB table (docs/stages.md).
 *
 * Every write that moves something forward is conditional, so a retried, duplicated or
 * late step can never move a status backwards or count a data file twice:
 *  - bucket statuses carry a rank; a write needs the stored rank <= the new one, and terminal
 *    statuses (rank 9) are final — the first one written wins;
 *  - the first verified manifest of a bucket wins;
 *  - a data file is counted by one transaction that creates its file item and adds its
 *    numbers to its bucket; a second attempt finds the file item and adds nothing.
 * A write refused by its condition is not an error: the out-parameter says what happened.
 *
 * Thread-safe: one s3i_state may be used from many threads at once.
 */
#ifndef S3I_STAGES_STATE_H
#define S3I_STAGES_STATE_H

#include <stddef.h>
#include <stdint.h>
#include "core/errinfo.h"
#include "services/svc.h"

typedef struct s3i_state s3i_state;

/* svc: the client and host region (copied); table: D_configuration_table (copied). */
int s3i_state_new(s3i_state **out, const s3i_svc *svc, const char *table, s3i_errinfo *err);
void s3i_state_free(s3i_state *s);
const char *s3i_state_table(const s3i_state *s);

/* Create the table (idempotent: an existing one is fine) and wait until it is ACTIVE. */
int s3i_state_create_table(s3i_state *s, int64_t timeout_ms, s3i_errinfo *err);

/* ---- runs ---- */

typedef enum s3i_run_phase {
	S3I_PHASE_PROVISIONING = 0,
	S3I_PHASE_CONFIGURING = 1,
	S3I_PHASE_WAITING = 2,
	S3I_PHASE_TABLE = 3,
	S3I_PHASE_QUERYING = 4,
	S3I_PHASE_NOTIFYING = 5,
	S3I_PHASE_TEARING_DOWN = 6,
	S3I_PHASE_DONE = 7,          /* finished */
	S3I_PHASE_FAILED = 8,        /* a stage failed; teardown (Cleanup) still to run */
	S3I_PHASE_CLEANED = 9        /* finished: failed and cleaned up */
} s3i_run_phase;

const char *s3i_run_phase_name(s3i_run_phase p);
int s3i_run_phase_parse(const char *name, s3i_run_phase *out);   /* S3I_EINVALID if unknown */
int s3i_run_phase_is_finished(s3i_run_phase p);                 /* DONE, CLEANED */

typedef struct s3i_state_run {
	char run_id[16];
	s3i_run_phase phase;
	int finished;
	char *input_json;            /* owned; s3i_state_run_dispose frees it */
	char host_account[16];
	char host_region[32];
	char error[1024];            /* "" unless failed */
	char error_stage[32];
	int64_t created_ms;
	int64_t updated_ms;
	int64_t inventory_deadline_ms;   /* 0: not set yet */
	char smoke_database[72];     /* a smoke test's random names; "" until recorded */
	char smoke_table[72];
	const s3i_allocator *alloc;
} s3i_state_run;

void s3i_state_run_dispose(s3i_state_run *r);

/* Record a new run (the `runs` index item and the run item, in one transaction).
 * S3I_EEXISTS when a run of that id exists (use s3i_state_run_get to see its phase). */
int s3i_state_run_create(s3i_state *s, const char *run_id, const char *input_json,
	const char *host_account, const char *host_region, int64_t now_ms, s3i_errinfo *err);
/* S3I_ENOTFOUND when there is no such run. Consistent read. */
int s3i_state_run_get(s3i_state *s, const char *run_id, s3i_state_run *out, s3i_errinfo *err);
/* Move the run to `phase` unless it is already there or further (*moved says which; may be
 * NULL). FAILED may be entered from any unfinished phase; CLEANED only from FAILED or
 * TEARING_DOWN. */
int s3i_state_run_set_phase(s3i_state *s, const char *run_id, s3i_run_phase phase,
	int64_t now_ms, int *moved, s3i_errinfo *err);
/* Record a failure: phase FAILED, the stage and the message (truncated to fit). */
int s3i_state_run_fail(s3i_state *s, const char *run_id, const char *stage, const char *message,
	int64_t now_ms, s3i_errinfo *err);
/* Set the inventory wait deadline once (the first value written stays). */
int s3i_state_run_set_deadline(s3i_state *s, const char *run_id, int64_t deadline_ms,
	s3i_errinfo *err);

/* Record a smoke test's random database and table names once: the first names written stay,
 * a later call changes nothing (read the names that won back with s3i_state_run_get).
 * S3I_ENOTFOUND when there is no such run. */
int s3i_state_run_set_smoke_names(s3i_state *s, const char *run_id, const char *database,
	const char *table, s3i_errinfo *err);

typedef int (*s3i_state_run_fn)(void *user, const char *run_id, s3i_run_phase phase,
	int finished);
/* Every run of the deployment, in run id order (unfinished_only: those not finished). */
int s3i_state_runs_list(s3i_state *s, int unfinished_only, s3i_state_run_fn fn, void *user,
	s3i_errinfo *err);

/* ---- input accounts (provision's discovery markers) ---- */

/* The outcome of an input account's discovery, written after it (item account#<account>). */
typedef struct s3i_state_account {
	char account[16];
	int failed;                  /* 0: every bucket of the account is recorded; 1: it could not
	                                be listed (its failure record, bucket "*", is written) */
	char reason[1024];           /* why it failed; "" when discovered */
	int64_t buckets;             /* buckets recorded (0 when failed) */
	int64_t updated_ms;
} s3i_state_account;

/* Record an account as discovered (failed 0) or as not listable (failed 1, with reason).
 * A discovered account stays discovered: a later failed write changes nothing (*written = 0;
 * may be NULL), a discovered write replaces a failed one. */
int s3i_state_account_put(s3i_state *s, const char *run_id, const char *account, int failed,
	const char *reason, int64_t buckets, int64_t now_ms, int *written, s3i_errinfo *err);
/* S3I_ENOTFOUND when the account has no marker (not discovered yet). Consistent read. */
int s3i_state_account_get(s3i_state *s, const char *run_id, const char *account,
	s3i_state_account *out, s3i_errinfo *err);
typedef int (*s3i_state_account_fn)(void *user, const s3i_state_account *a);
/* Every account marker of the run, in account order. */
int s3i_state_accounts_list(s3i_state *s, const char *run_id, s3i_state_account_fn fn,
	void *user, s3i_errinfo *err);

/* ---- regions and routing ---- */

typedef struct s3i_state_region {
	char region[32];
	char staging_bucket[64];
	char stack_name[128];
	char stack_id[512];
	char topic_arn[256];
	char status[16];             /* "pending", "provisioned", "torn_down" */
	char reason[1024];
} s3i_state_region;

/* Create or replace the run's item for r->region. */
int s3i_state_region_put(s3i_state *s, const char *run_id, const s3i_state_region *r,
	s3i_errinfo *err);
typedef int (*s3i_state_region_fn)(void *user, const s3i_state_region *r);
int s3i_state_regions_list(s3i_state *s, const char *run_id, s3i_state_region_fn fn, void *user,
	s3i_errinfo *err);

/* Route messages about staging_bucket to run_id (idempotent; a different run already
 * routed there: S3I_ECONFLICT naming both). */
int s3i_state_route_put(s3i_state *s, const char *staging_bucket, const char *run_id,
	const char *region, const char *account, s3i_errinfo *err);
/* S3I_ENOTFOUND when no run uses that bucket. run_id: 16 bytes, region: 32 (may be NULL). */
int s3i_state_route_get(s3i_state *s, const char *staging_bucket, char *run_id, char *region,
	s3i_errinfo *err);
int s3i_state_route_delete(s3i_state *s, const char *staging_bucket, s3i_errinfo *err);

/* ---- source buckets ---- */

typedef enum s3i_bucket_state {
	S3I_BUCKET_DISCOVERED = 0,
	S3I_BUCKET_IN_PROGRESS,
	S3I_BUCKET_INGESTING,
	S3I_BUCKET_DONE,             /* terminal from here on */
	S3I_BUCKET_EXCLUDED,
	S3I_BUCKET_SKIPPED_REGION,
	S3I_BUCKET_EMPTY,
	S3I_BUCKET_FAILED,
	S3I_BUCKET_TIMED_OUT
} s3i_bucket_state;

const char *s3i_bucket_state_name(s3i_bucket_state st);
int s3i_bucket_state_parse(const char *name, s3i_bucket_state *out);
int s3i_bucket_state_rank(s3i_bucket_state st);    /* 0, 1, 2, or 9 for terminal */
int s3i_bucket_state_is_terminal(s3i_bucket_state st);

typedef struct s3i_state_bucket {
	char account[16];
	char region[32];
	char bucket[64];
	s3i_bucket_state status;
	char reason[1024];
	int inventory_configured;
	char manifest_key[1100];     /* "" until a manifest was claimed */
	int64_t expected_files;      /* -1 until a manifest was claimed */
	int64_t partitioned_files;
	int64_t objects;
	int64_t bytes;
	int64_t created_ms;
	int64_t updated_ms;
	int64_t counted_ms;          /* when s3i_state_bucket_set_counts recorded its counts; 0: never */
} s3i_state_bucket;

/* Record a discovered bucket (DISCOVERED), or with a terminal status and reason directly
 * (EXCLUDED, SKIPPED_REGION, ...). An existing item is left alone (*created = 0). */
int s3i_state_bucket_add(s3i_state *s, const char *run_id, const char *account,
	const char *region, const char *bucket, s3i_bucket_state st, const char *reason,
	int64_t now_ms, int *created, s3i_errinfo *err);
/* Move to st (with reason, may be NULL) unless the stored rank is higher or the bucket is
 * already terminal; *moved (may be NULL) says whether it moved. S3I_ENOTFOUND when the
 * bucket was never added. */
int s3i_state_bucket_set_status(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, s3i_bucket_state st, const char *reason, int64_t now_ms, int *moved,
	s3i_errinfo *err);
int s3i_state_bucket_set_inventory_configured(s3i_state *s, const char *run_id,
	const char *account, const char *bucket, int configured, int64_t now_ms, s3i_errinfo *err);
/* The first verified manifest wins: *won = 1 when manifest_key is (now) the bucket's
 * manifest, 0 when another one was claimed first. Moves the bucket to INGESTING. */
int s3i_state_bucket_claim_manifest(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, const char *manifest_key, int64_t expected_files, int64_t now_ms,
	int *won, s3i_errinfo *err);
/* Count one data file exactly once: *counted = 1 when this call counted it, 0 when it had
 * been counted before. */
int s3i_state_file_done(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, const char *data_key, const char *dest_key, int64_t size,
	const char *md5, int64_t objects, int64_t bytes, int64_t now_ms, int *counted,
	s3i_errinfo *err);
/* Record the bucket's objects and bytes counted some other way than file by file (Athena,
 * for ORC/Parquet data the library cannot read): SET, not added, and only the first time
 * (counted_ms is written with them); *set (may be NULL) = 1 when this call recorded them,
 * 0 when a count was recorded before. S3I_ENOTFOUND when the bucket was never added. */
int s3i_state_bucket_set_counts(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, int64_t objects, int64_t bytes, int64_t now_ms, int *set,
	s3i_errinfo *err);
/* DONE when every file of the claimed manifest is counted; *done says whether the bucket is
 * (now or already) done. */
int s3i_state_bucket_try_complete(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, int64_t now_ms, int *done, s3i_errinfo *err);
/* S3I_ENOTFOUND when absent. Consistent read. */
int s3i_state_bucket_get(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, s3i_state_bucket *out, s3i_errinfo *err);
typedef int (*s3i_state_bucket_fn)(void *user, const s3i_state_bucket *b);
/* Every bucket of the run, ordered by account then bucket, one page in memory at a time. */
int s3i_state_buckets_list(s3i_state *s, const char *run_id, s3i_state_bucket_fn fn,
	void *user, s3i_errinfo *err);

typedef struct s3i_state_file {
	const char *account;
	const char *bucket;
	const char *data_key;
	const char *dest_key;
	int64_t size;
	const char *md5;
	int64_t objects;
	int64_t bytes;
} s3i_state_file;
typedef int (*s3i_state_file_fn)(void *user, const s3i_state_file *f);
/* The counted files of one bucket (account and bucket given) or of the whole run (NULL). */
int s3i_state_files_list(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, s3i_state_file_fn fn, void *user, s3i_errinfo *err);

/* Record a delivery that was ignored (a later manifest), for the report. Idempotent. */
int s3i_state_delivery_ignored(s3i_state *s, const char *run_id, const char *account,
	const char *bucket, const char *manifest_key, const char *why, int64_t now_ms,
	s3i_errinfo *err);

/* ---- queries ---- */

typedef struct s3i_state_query {
	int index;                   /* position in the input's athena_queries */
	char name[256];
	char execution_id[128];
	char state[32];              /* QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, "" */
	char reason[1024];
	int64_t rows;
	int64_t scanned_bytes;
	char output_location[1100];
} s3i_state_query;

int s3i_state_query_put(s3i_state *s, const char *run_id, const s3i_state_query *q,
	s3i_errinfo *err);
typedef int (*s3i_state_query_fn)(void *user, const s3i_state_query *q);
int s3i_state_queries_list(s3i_state *s, const char *run_id, s3i_state_query_fn fn, void *user,
	s3i_errinfo *err);

#endif
