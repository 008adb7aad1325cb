/*
 * libs3insights: a run — one Harvester execution of a deployment, recorded in the state table
 * (docs/stages.md). Opening a run with an input records it (or resumes it when it exists and
 * is unfinished); the status call reads back everything the stages recorded.
 */
#ifndef S3INSIGHTS_RUN_H
#define S3INSIGHTS_RUN_H

#include "common.h"
#include "deployment.h"
#include "errors.h"
#include "run_input.h"

S3I_BEGIN_DECLS

/** A run handle. Thread-safe. @since 0.1 */
typedef struct s3i_run s3i_run;

/**
 * Start or resume run `input`'s run_id: records the run and its input when new; resumes when
 * it exists and is unfinished (the stored input is used; a different input is refused with
 * S3I_ECONFLICT); refuses a finished run with S3I_EEXISTS. Keeps a reference on nothing but d,
 * which must outlive the run.  @since 0.1
 */
S3I_API int s3i_run_start(s3i_run **out, s3i_deployment *d, const s3i_run_input *input);

/** Open an existing run by id (any phase). S3I_ENOTFOUND when there is none. @since 0.1 */
S3I_API int s3i_run_open(s3i_run **out, s3i_deployment *d, const char *run_id);

S3I_API const char *s3i_run_id(const s3i_run *run);
/** The run's input as recorded. Valid while run lives. @since 0.1 */
S3I_API const s3i_run_input *s3i_run_get_input(const s3i_run *run);

/** One source bucket's recorded state. Strings valid during the callback. @since 0.1 */
typedef struct s3i_bucket_status {
	uint32_t struct_size;
	const char *account;
	const char *region;
	const char *bucket;
	const char *status;        /**< see docs/stages.md: in_progress, done, excluded, ... */
	const char *reason;        /**< "" when none */
	int64_t expected_files;    /**< -1 before a manifest was verified */
	int64_t partitioned_files;
	int64_t objects;
	int64_t bytes;
	int64_t updated_ms;
} s3i_bucket_status;

/** The run as a whole. Strings valid while run lives, until the next s3i_run_status. */
typedef struct s3i_run_status {
	uint32_t struct_size;
	const char *run_id;
	const char *phase;         /**< provisioning, configuring, waiting, ..., done, failed, cleaned */
	int finished;
	const char *error;         /**< "" unless failed */
	const char *error_stage;
	int64_t created_ms;
	int64_t updated_ms;
	int64_t buckets_total;
	int64_t buckets_pending;   /**< not yet in a terminal status */
	int64_t objects;
	int64_t bytes;
} s3i_run_status;

typedef int (*s3i_bucket_status_fn)(void *user, const s3i_bucket_status *b);

/**
 * Read the run's status back from the state table (consistent reads), calling `fn` (may be
 * NULL) once per source bucket, ordered by account then bucket.  @since 0.1
 */
S3I_API int s3i_run_status_read(s3i_run *run, s3i_run_status *out, s3i_bucket_status_fn fn,
	void *user);

/** Free the handle (the run stays recorded). NULL is a no-op. @since 0.1 */
S3I_API void s3i_run_free(s3i_run *run);

S3I_END_DECLS

#endif
