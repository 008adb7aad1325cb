/**
 * @file
 * libs3insights: the partition stage of a run (DESIGN §4.4).
 *
 * The ingest stage (stage_ingest.h) partitions a manifest's data files itself as soon as the
 * manifest is verified. This handle re-runs that work for one run, from the state table alone:
 * for every bucket whose manifest was claimed but whose files are not all counted (a process
 * killed midway, a step that ran out of time, a message that is not coming back soon), it
 * reads the claimed manifest.json from the staging bucket again, puts every data file not yet
 * counted into the consolidated layout (server-side copy when its fileSchema is the run's,
 * rewrite into the run's column order otherwise), checks it against the manifest's size and
 * MD5, counts it exactly once, and completes the bucket (status `done`, inventory
 * configuration removed). A data file that does not match its manifest fails its bucket.
 * Running it while an ingest stage works on the same bucket is harmless: both count each file
 * once and write the same consolidated keys.
 */
#ifndef S3INSIGHTS_STAGE_PARTITION_H
#define S3INSIGHTS_STAGE_PARTITION_H

#include <stdint.h>
#include "common.h"
#include "errors.h"
#include "run.h"

S3I_BEGIN_DECLS

/** A partition stage of one run. Not thread-safe: one thread at a time. @since 0.1 */
typedef struct s3i_partition s3i_partition;

/** Options of s3i_partition_new. Fields are only ever appended (STYLE R6). @since 0.1 */
typedef struct s3i_partition_options {
	uint32_t struct_size;         /**< sizeof the struct, set by the INIT macro */
	/** Data files copied and read back at once; 0: 8, at most 64. */
	int32_t concurrency;
	/** Copies of data files larger than this use multipart UploadPartCopy; 0: 5 GiB. */
	int64_t copy_threshold;
} s3i_partition_options;

/** Default options. @since 0.1 */
#define S3I_PARTITION_OPTIONS_INIT { sizeof(s3i_partition_options), 0, 0 }

/**
 * Create the partition stage of `run`. Touches nothing in AWS.
 * @param out   receives the handle (free with s3i_partition_free).
 * @param run   the run; must outlive the handle.
 * @param opts  may be NULL (the defaults); copied (struct_size bytes at most).
 * @return S3I_OK, S3I_EINVALID (a NULL argument, a bad struct_size, an option out of range),
 *         S3I_ENOMEM. Detail in s3i_error_last().  @since 0.1
 */
S3I_API int s3i_partition_new(s3i_partition **out, s3i_run *run,
	const s3i_partition_options *opts);

/**
 * Finish the partition of the run's claimed manifests, one bucket after the other, until the
 * deadline.
 * @param st           the stage.
 * @param deadline_ms  wall-clock ms since the epoch by which the step returns (a bucket not
 *                     finished is taken up again by the next step); 0: no deadline.
 * @param finished     receives 1 when no bucket of the run has a claimed manifest with files
 *                     left to count, else 0.
 * @return S3I_OK (look at *finished), also when buckets failed (recorded on them); the error
 *         when the stage cannot work (the state table unreachable); or, after the other
 *         buckets were worked on, the first failure that may pass (network, throttling, 5xx)
 *         of a bucket left for the next step. Detail in s3i_partition_error().  @since 0.1
 */
S3I_API int s3i_partition_step(s3i_partition *st, int64_t deadline_ms, int *finished);

/**
 * Step until finished, without a deadline. A step failing for a reason that may pass is
 * retried, up to 3 in a row, after the client's backoff.
 * @param st  the stage.
 * @return S3I_OK when the stage finished, else the failing step's status.  @since 0.1
 */
S3I_API int s3i_partition_run(s3i_partition *st);

/**
 * The detail of the last failure of a call on this handle (never NULL; code S3I_OK when
 * none). Valid until the next call on the handle.  @since 0.1
 */
S3I_API const s3i_error *s3i_partition_error(const s3i_partition *st);

/** Free the handle (what it recorded stays). NULL is a no-op. @since 0.1 */
S3I_API void s3i_partition_free(s3i_partition *st);

S3I_END_DECLS

#endif
