/**
 * @file deployment.h
 * A deployment — one installation of the system (DESIGN §2): its name, host account and host
 * region, the names of its resources, and `init`, which creates the host resources a
 * standalone runner needs (the state table, the consolidated bucket, the queue and its
 * dead-letter queue).
 */
#ifndef S3INSIGHTS_DEPLOYMENT_H
#define S3INSIGHTS_DEPLOYMENT_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"
#include "ctx.h"
#include "errors.h"

S3I_BEGIN_DECLS

/** A deployment handle. Thread-safe once opened. @since 0.1 */
typedef struct s3i_deployment s3i_deployment;

/** Options of s3i_deployment_open. Fields are only ever appended. @since 0.1 */
typedef struct s3i_deployment_options {
	uint32_t struct_size;         /**< sizeof(s3i_deployment_options) as the caller compiled it */
	const char *name;             /**< D: 4-15 chars [a-z0-9]; NULL: $S3I_DEPLOYMENT */
	const char *host_region;      /**< NULL: the context's region */
	const char *host_account_id;  /**< NULL: from STS GetCallerIdentity */
	int32_t data_retention_days;  /**< init: consolidated data and query results of a run
	                                   expire after this many days; 0: 90 */
} s3i_deployment_options;

/** Default options. @since 0.1 */
#define S3I_DEPLOYMENT_OPTIONS_INIT { sizeof(s3i_deployment_options), NULL, NULL, NULL, 0 }

/**
 * Open a deployment: validates the name, resolves the host account. Touches nothing.
 * Takes a reference on ctx.
 * @return S3I_OK, S3I_EINVALID (bad name; the message says why), or an AWS error from
 * GetCallerIdentity. Detail in s3i_error_last().  @since 0.1
 */
S3I_API int s3i_deployment_open(s3i_deployment **out, s3i_ctx *ctx,
	const s3i_deployment_options *opts);

/**
 * Create, idempotently, the host resources of a standalone deployment: the state table, the
 * consolidated bucket (default encryption, public-access block, lifecycle rule expiring old
 * runs' data), the central queue with its dead-letter queue and policy. Existing resources
 * are checked and completed, never replaced.
 * @return S3I_OK or the first failure (detail in s3i_error_last()).  @since 0.1
 */
S3I_API int s3i_deployment_init(s3i_deployment *d);

/**
 * The central queue's URL (GetQueueUrl on first use, then cached).
 * @param d    the deployment.
 * @param out  receives the URL.
 * @param cap  bytes at out (1024 are always enough).
 * @return S3I_OK, S3I_ENOTFOUND when the queue does not exist (run init), S3I_EINVALID when
 * cap is too small, or an AWS error. Detail in s3i_error_last().  @since 0.1
 */
S3I_API int s3i_deployment_queue_url(s3i_deployment *d, char *out, size_t cap);
/**
 * The dead-letter queue's URL, as s3i_deployment_queue_url.
 * @return S3I_OK, S3I_ENOTFOUND, S3I_EINVALID or an AWS error, as s3i_deployment_queue_url.
 * @since 0.1
 */
S3I_API int s3i_deployment_dlq_url(s3i_deployment *d, char *out, size_t cap);

/**
 * Called by s3i_deployment_list_runs once per run.
 * @param user      the user pointer given to s3i_deployment_list_runs.
 * @param run_id    the run's id (valid during the call only).
 * @param phase     the run's phase name: "provisioning", "configuring", "waiting", "table",
 *                  "querying", "notifying", "tearing_down", "done", "failed", "cleaned"
 *                  (valid during the call only).
 * @param finished  1 when the run is finished (done or cleaned), else 0.
 * @return 0 to go on; non-zero stops the walk and is what s3i_deployment_list_runs returns.
 * @since 0.1
 */
typedef int (*s3i_run_list_fn)(void *user, const char *run_id, const char *phase, int finished);

/**
 * Every run of the deployment in run id order (the state table's run index, read page by
 * page: memory stays bounded whatever the number of runs). Used by the Cleanup workflow's
 * manual cleanup (DESIGN §3), which cleans every unfinished run.
 * @param d                the deployment (its state table must exist: s3i_deployment_init).
 * @param unfinished_only  non-zero: only runs not finished (neither done nor cleaned; a
 *                         failed run not cleaned yet is unfinished).
 * @param fn               called once per run, on the calling thread.
 * @param user             handed to fn.
 * @return S3I_OK after the last run; fn's non-zero value when it stopped the walk (detail not
 *         set); S3I_EINVALID for a NULL d or fn; S3I_ENOTFOUND when the state table does not
 *         exist; else the AWS error. Detail in s3i_error_last().  @since 0.1
 */
S3I_API int s3i_deployment_list_runs(s3i_deployment *d, int unfinished_only, s3i_run_list_fn fn,
	void *user);

/** @name Names */
/** @{ */
/**
 * The deployment's names (DESIGN §2): D, the host region and account, the state table
 * `D_configuration_table`, the consolidated bucket, the queue
 * `D-sqs-consolidate-inventory-files` and the dead-letter queue `D-sqs-dlq`. Each returns
 * a string valid while d lives, or NULL when d is NULL. Thread-safe.  @since 0.1
 */
S3I_API const char *s3i_deployment_name(const s3i_deployment *d);
S3I_API const char *s3i_deployment_host_region(const s3i_deployment *d);
S3I_API const char *s3i_deployment_host_account(const s3i_deployment *d);
S3I_API const char *s3i_deployment_state_table(const s3i_deployment *d);
S3I_API const char *s3i_deployment_consolidated_bucket(const s3i_deployment *d);
S3I_API const char *s3i_deployment_queue_name(const s3i_deployment *d);
S3I_API const char *s3i_deployment_dlq_name(const s3i_deployment *d);
/** @} */

/** Free the handle (and its reference on the context). NULL is a no-op. @since 0.1 */
S3I_API void s3i_deployment_free(s3i_deployment *d);

S3I_END_DECLS

#endif
