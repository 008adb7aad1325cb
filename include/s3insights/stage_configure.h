/**
 * @file
 * The configure stage (DESIGN §4.2) — after provision, before the wait.
 *
 * It moves the run to the `configuring` phase, sets the run's inventory deadline (now +
 * `inventory_timeout_hours`, once) and then takes every source bucket the state table holds
 * as `discovered`, several at once:
 *
 *  - `"snapshot": "inventory"` (the default): an empty check (ListObjectVersions with one key
 *    when all versions are wanted, so a bucket holding only noncurrent versions or delete
 *    markers is not empty; ListObjectsV2 with one key for current versions), then
 *    PutBucketInventoryConfiguration `D-R-s3-inventory`: daily, enabled, the input's versions
 *    and format, every optional field S3 offers, destination the staging bucket of the
 *    bucket's region (the ARN of `D-R-dest-<host>-<region>`, account the host's, prefix
 *    `<account>/<region>`). The bucket becomes `in_progress` with `inventory_configured`.
 *  - `"snapshot": "list"` (DESIGN §5.2): the bucket is listed (ListObjectVersions for all
 *    versions, ListObjectsV2 for current ones; at most 1,000 entries in a smoke test) and a
 *    report in exactly S3 Inventory's CSV layout is written into the staging bucket in S3's
 *    order — gzip data files of bounded size, then manifest.json, then manifest.checksum —
 *    so the queue-driven ingest takes it like a real delivery. The bucket becomes
 *    `in_progress` once manifest.checksum is written. Memory stays bounded whatever the
 *    bucket's size (one data file's compressed bytes at most).
 *
 * An empty bucket becomes `empty` with its reason; any error on a bucket (AccessDenied,
 * NoSuchBucket, ...) makes it `failed` with the error message and never fails the stage.
 * When no bucket is `discovered` any more the run moves to `waiting` and the stage is
 * finished.
 *
 * Every step is idempotent and its progress is in the state table (docs/stages.md): a step
 * that is killed midway is redone by the next. A bucket whose configuration was put but not
 * yet recorded is configured again (a PUT with the same id replaces it); a half-written list
 * snapshot is written again under the same keys (data file names are derived from the run,
 * the bucket and the file's number, never random).
 */
#ifndef S3INSIGHTS_STAGE_CONFIGURE_H
#define S3INSIGHTS_STAGE_CONFIGURE_H

#include <stdint.h>
#include "common.h"
#include "errors.h"
#include "run.h"

S3I_BEGIN_DECLS

/** A configure stage of one run. Not thread-safe: one thread at a time. @since 0.1 */
typedef struct s3i_configure s3i_configure;

/** Options of s3i_configure_new. Fields are only ever appended (STYLE R6). @since 0.1 */
typedef struct s3i_configure_options {
	uint32_t struct_size;  /**< sizeof(s3i_configure_options) as the caller was compiled */
	/** Buckets worked on at once (each by its own worker thread of the step); 0: 8; at
	 * most 64. */
	int32_t concurrency;
	/** List snapshot: a data file is closed once this many CSV bytes (before gzip) are in
	 * it, so a bucket gives ceil(size / this) files; 0: 64 MiB. A file holds whole rows
	 * (one row longer than this makes a file of its own). */
	int64_t snapshot_file_bytes;
	/** List snapshot: entries listed per page (1..1000); 0: 1000. */
	int32_t snapshot_page_size;
	/** List snapshot: gzip level 1-9; 0: zlib's default (6). */
	int32_t snapshot_gzip_level;
	/** List snapshot: list at most this many entries per bucket; 0: no limit (a smoke
	 * test's 1,000 applies whatever this says, the smaller one wins). */
	int64_t snapshot_max_objects;
	/** Batch scope (one item batch of a Map over the discovered buckets). Non-NULL with
	 * bucket_count > 0: the step only takes these buckets, skipping any that is not a
	 * bucket of the run or no longer `discovered` (configured meanwhile, failed, ...), and
	 * never moves the run to `waiting`; finished when none of them is `discovered`. It
	 * moves the run to `configuring` and sets the inventory deadline like a whole-run step.
	 * The names are copied at s3i_configure_new (the handle keeps none of the caller's
	 * pointers). An entry is a bucket name, or "<account>/<bucket>" with the 12-digit
	 * account id (as the Map's items give them): a plain name held by buckets of several
	 * accounts takes each of them, a qualified one only that account's. Cost: qualified
	 * entries are read by key (one GetItem each per step); any plain name makes the handle
	 * read the run's bucket items once (one paged Query of the run) to find its buckets,
	 * which a Map over B buckets in batches of b would do B/b times.
	 * NULL with bucket_count 0 (the default): the whole-run step, the sweep that takes
	 * every `discovered` bucket and moves the run to `waiting`. @since 0.1 */
	const char *const *buckets;
	/** Entries at `buckets`: 0 (with buckets NULL) for the whole run, else 1..10000. A
	 * negative count, a count with NULL buckets (or buckets with count 0), a NULL or empty
	 * name, a bucket name longer than 63 bytes, an account that is not 12 digits or more
	 * than 10000 names are S3I_EINVALID naming the field. @since 0.1 */
	int32_t bucket_count;
} s3i_configure_options;

/** Most names in s3i_configure_options.buckets. @since 0.1 */
#define S3I_CONFIGURE_MAX_BUCKETS 10000

/** Default options. @since 0.1 */
#define S3I_CONFIGURE_OPTIONS_INIT { sizeof(s3i_configure_options), 0, 0, 0, 0, 0, NULL, 0 }

/**
 * Create the configure stage of `run`. Touches nothing in AWS.
 * @param out   receives the handle (free with s3i_configure_free).
 * @param run   the run; must outlive the handle.
 * @param opts  may be NULL (the defaults); copied (struct_size bytes at most).
 * @return S3I_OK, S3I_EINVALID (a NULL argument, a bad struct_size, an option out of range),
 *         S3I_ENOMEM. Detail in s3i_error_last().  @since 0.1
 */
S3I_API int s3i_configure_new(s3i_configure **out, s3i_run *run,
	const s3i_configure_options *opts);

/**
 * Configure (or snapshot) a bounded number of buckets and record each outcome in the state
 * table before returning.
 * @param st           the stage.
 * @param deadline_ms  wall-clock ms since the epoch after which no further bucket is started
 *                     (buckets already started finish first; every step makes progress on
 *                     at least one bucket); 0: no deadline, every discovered bucket is done.
 * @param finished     receives 1 when no bucket is `discovered` any more and the run moved
 *                     to `waiting` (batch scope: when none of the handle's buckets is
 *                     `discovered`; the phase stays `configuring`), else 0.
 * @return S3I_OK (look at *finished); S3I_ECONFLICT when the run has failed, is being torn
 *         down or is finished (nothing is configured then); on a failure of the stage as a
 *         whole (the state table unreachable, the run unreadable) the error. Problems with single buckets are
 *         recorded on them and do not fail the step. Detail in s3i_configure_error().
 *         Runs its worker threads inside the call; none is left running when it returns.
 *         The context's log callback may be called from them during the call.
 *         @since 0.1
 */
S3I_API int s3i_configure_step(s3i_configure *st, int64_t deadline_ms, int *finished);

/**
 * Step until finished, without a deadline.
 * @return S3I_OK when the stage finished, else the failing step's status.  @since 0.1
 */
S3I_API int s3i_configure_run(s3i_configure *st);

/**
 * The detail of the last failure of a call on this handle (never NULL; code S3I_OK when
 * none). Valid until the next call on the handle.  @since 0.1
 */
S3I_API const s3i_error *s3i_configure_error(const s3i_configure *st);

/** Free the handle (what it recorded stays). NULL is a no-op. @since 0.1 */
S3I_API void s3i_configure_free(s3i_configure *st);

S3I_END_DECLS

#endif
