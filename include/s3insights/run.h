/**
 * @file run.h
 * A run — one Harvester execution of a deployment, recorded in the state table
 * (docs/stages.md). Starting a run with an input records it (or resumes it when it exists and
 * is unfinished); the status call reads back everything the stages recorded.
 */
#ifndef S3INSIGHTS_RUN_H
#define S3INSIGHTS_RUN_H

#include "common.h"
#include "deployment.h"
#include "errors.h"
#include "run_input.h"

S3I_BEGIN_DECLS

/** A run handle. Thread-safe, except that concurrent s3i_run_status_read calls on one handle
 * share the status strings (see there). @since 0.1 */
typedef struct s3i_run s3i_run;

/**
 * Start or resume the run named by `input`'s run_id: records the run and its input when new;
 * resumes when it exists and is unfinished (with the stored input, which must equal
 * `input`); refuses a finished run. The run keeps a pointer to d, which must outlive it.
 * @param out    receives the handle (free with s3i_run_free); NULL on failure.
 * @param d      the deployment the run belongs to.
 * @param input  the run input (copied into the state table when the run is new).
 * @return S3I_OK; S3I_EEXISTS when the run has finished (a run id is used once);
 *         S3I_ECONFLICT when it is unfinished with another input; S3I_EINVALID for NULL
 *         arguments or an engine this version does not implement; S3I_ENOMEM; a state table
 *         error. Detail in s3i_error_last().  @since 0.1
 */
S3I_API int s3i_run_start(s3i_run **out, s3i_deployment *d, const s3i_run_input *input);

/**
 * Open an existing run by id, in any phase (for status, stages, cleanup).
 * @return S3I_OK; S3I_ENOTFOUND when the deployment has no such run; S3I_EINVALID for a
 *         malformed run id or NULL arguments; S3I_EPARSE when its stored input is unreadable;
 *         a state table error. Detail in s3i_error_last().  @since 0.1
 */
S3I_API int s3i_run_open(s3i_run **out, s3i_deployment *d, const char *run_id);

/** The run id (1-8 characters of a-z and 0-9), valid while run lives; NULL for NULL. @since 0.1 */
S3I_API const char *s3i_run_id(const s3i_run *run);
/** The run's input as recorded. Valid while run lives. @since 0.1 */
S3I_API const s3i_run_input *s3i_run_get_input(const s3i_run *run);

/**
 * The Athena database the run uses: the input's `athena_database_name`, or for a smoke test
 * (`is_smoke_test`) the random name chosen when the run was first recorded
 * (`s3i_smoke_` and 10 characters of a-z and 0-9), the same for every handle of the run.
 * A smoke test's database is dropped by its teardown.
 * @return the name ([a-z0-9_]{1,64}), valid while run lives; NULL for NULL.  @since 0.1
 */
S3I_API const char *s3i_run_get_database(const s3i_run *run);
/**
 * The Athena table the run uses: the input's `athena_table_name`, or for a smoke test the
 * random name chosen with the database (`smoke_` and the same 10 characters).
 * @return the name ([a-z0-9_]{1,64}), valid while run lives; NULL for NULL.  @since 0.1
 */
S3I_API const char *s3i_run_get_table(const s3i_run *run);

/** One source bucket's recorded state. Strings valid during the callback. @since 0.1 */
typedef struct s3i_bucket_status {
	uint32_t struct_size;      /**< sizeof(s3i_bucket_status) as the library filled it */
	const char *account;       /**< the bucket's account (12 digits) */
	const char *region;        /**< its region; "" when unknown (an account not listable) */
	const char *bucket;        /**< its name; "*" for an account that could not be listed */
	const char *status;        /**< see docs/stages.md: in_progress, done, excluded, ... */
	const char *reason;        /**< "" when none */
	int64_t expected_files;    /**< data files of its manifest; -1 before one was verified */
	int64_t partitioned_files; /**< data files in the consolidated layout */
	/** object versions counted; -1: not counted (ORC/Parquet data whose rows the create-table
	 * stage has not counted with Athena yet, or could not: docs/stages.md) */
	int64_t objects;
	int64_t bytes;             /**< bytes of those versions; -1 when objects is -1 */
	int64_t updated_ms;        /**< last change, ms since the epoch */
} s3i_bucket_status;

/** The run as a whole. @since 0.1 */
typedef struct s3i_run_status {
	uint32_t struct_size;      /**< set by the caller: sizeof(s3i_run_status) as compiled */
	const char *run_id;        /**< the run id */
	const char *phase;         /**< provisioning, configuring, waiting, ..., done, failed, cleaned */
	int32_t finished;          /**< 1 when done or cleaned: the run id cannot be used again */
	const char *error;         /**< "" unless failed */
	const char *error_stage;   /**< the stage that failed; "" unless failed */
	int64_t created_ms;        /**< when the run was recorded, ms since the epoch */
	int64_t updated_ms;        /**< its last change */
	int64_t buckets_total;     /**< source buckets recorded */
	int64_t buckets_pending;   /**< not yet in a terminal status */
	/** object versions in the consolidated data; -1 when buckets_not_counted > 0 (the total
	 * is not known) */
	int64_t objects;
	int64_t bytes;             /**< their bytes; -1 when buckets_not_counted > 0 */
	/** buckets with data whose objects and bytes are not counted (-1 in their
	 * s3i_bucket_status). @since 0.1 */
	int64_t buckets_not_counted;
} s3i_run_status;

/** Called once per source bucket; return 0 to go on, non-zero to stop. @since 0.1 */
typedef int (*s3i_bucket_status_fn)(void *user, const s3i_bucket_status *b);

/**
 * Read the run's status back from the state table (consistent reads), calling `fn` (may be
 * NULL) once per source bucket, ordered by account then bucket.
 * @param run  the run.
 * @param fn   called per bucket; may be NULL.
 * @param user passed to fn.
 * @param out  its struct_size must be set by the caller (fields beyond it are not written).
 *             Its strings live in the run handle and stay valid until the next
 *             s3i_run_status_read on the same handle: threads sharing a run read status one
 *             at a time, or each through its own s3i_run_open handle.
 * @return S3I_OK; S3I_EINVALID for NULL arguments or a struct_size too small; S3I_EUSER when
 *         fn stopped the walk; S3I_ENOTFOUND when the run is gone; a state table error.
 *         Detail in s3i_error_last().  @since 0.1
 */
S3I_API int s3i_run_status_read(s3i_run *run, s3i_run_status *out, s3i_bucket_status_fn fn,
	void *user);

/** Free the handle (the run stays recorded). NULL is a no-op. @since 0.1 */
S3I_API void s3i_run_free(s3i_run *run);

S3I_END_DECLS

#endif
