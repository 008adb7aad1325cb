/**
 * @file
 * libs3insights: the ingest-manifest stage (DESIGN §4.3, with the partition of §4.4 run in
 * the same process).
 *
 * Ingest is run-agnostic: it is created on a deployment, consumes the deployment's central
 * queue, and routes each S3 event to its run by the staging bucket it names (the state table's
 * `staging#<bucket>` route), so several runs share the queue safely. For each message:
 *  - s3:TestEvent, SNS messages that are no notification and keys that are no
 *    `manifest.checksum` of an inventory delivery are skipped (the message is deleted);
 *  - a `manifest.checksum` (any ObjectCreated:* event, multipart uploads too) makes ingest
 *    fetch the `manifest.json` beside it (waiting briefly when it is not readable yet), check
 *    its MD5 against the checksum, parse it and claim it for its source bucket: the first
 *    verified manifest of a bucket in a run wins, a later delivery is recorded and ignored;
 *  - every data file of a won manifest goes into the consolidated layout
 *    (`inventory/R/account=/region=/bucketname=/<file>`): copied server-side when its
 *    fileSchema is the run's, rewritten into the run's column order otherwise; the consolidated
 *    object is read back to check it against the manifest's size and MD5 and to count its
 *    objects and bytes, then counted exactly once in the state table;
 *  - when every file of the manifest is counted the bucket is `done` and its inventory
 *    configuration is removed.
 * A message is deleted only after its work is recorded. A message whose work fails for a
 * reason that may pass (a network error, throttling) is left on the queue: it comes back
 * after its visibility timeout, and after the queue's maxReceiveCount it moves to the
 * dead-letter queue, where ingest finds it and marks the bucket it names `failed`. A failure
 * that cannot pass (a data file that does not match its manifest, a manifest that cannot be
 * read) fails the bucket at once. Neither ever fails the step or the run.
 * docs/stages.md ("Ingest and partition") lists the decisions.
 */
#ifndef S3INSIGHTS_STAGE_INGEST_H
#define S3INSIGHTS_STAGE_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"
#include "deployment.h"
#include "errors.h"

S3I_BEGIN_DECLS

/** An ingest stage of a deployment. Not thread-safe: one thread at a time; several handles
 * (threads or processes) may consume the same queue at once. @since 0.1 */
typedef struct s3i_ingest s3i_ingest;

/** Options of s3i_ingest_new. Fields are only ever appended (STYLE R6). @since 0.1 */
typedef struct s3i_ingest_options {
	uint32_t struct_size;         /**< sizeof the struct, set by the INIT macro */
	/** The queue to consume; NULL: queue_name, else the deployment's central queue. */
	const char *queue_url;
	/** A queue name looked up in the host region (GetQueueUrl) when queue_url is NULL. */
	const char *queue_name;
	/** Messages taken per ReceiveMessage, 1..10; 0: 1. Messages received together wait
	 * hidden until their turn, and after a crash until their visibility timeout (their
	 * buckets wait as long), so more than one only pays off for many small manifests. */
	int32_t max_messages;
	/** Seconds a received message stays hidden from other consumers; 0: the queue's own
	 * VisibilityTimeout. Make it longer than the work of one manifest. */
	int32_t visibility_timeout;
	/** Long poll of one ReceiveMessage, 1..20 s; 0: 20. A step's deadline shortens it. */
	int32_t wait_seconds;
	/** Data files copied and read back at once; 0: 8, at most 64. */
	int32_t concurrency;
	/** Dead-letter handling: 0 (default) looks at the dead-letter queue once per step after
	 * the central queue (short poll) and marks the bucket each message names `failed`;
	 * S3I_INGEST_DLQ_NONE leaves the dead-letter queue alone. */
	int32_t dlq_mode;
	/** The dead-letter queue; NULL: the deployment's `D-sqs-dlq`. */
	const char *dlq_url;
	/** Copies of data files larger than this use multipart UploadPartCopy; 0: 5 GiB (the
	 * limit of one CopyObject on AWS). */
	int64_t copy_threshold;
	/** How long to wait for a manifest.json that is not readable yet; 0: 10 s. */
	int64_t manifest_wait_ms;
} s3i_ingest_options;

/** dlq_mode: look at the dead-letter queue once per step (the default). @since 0.1 */
#define S3I_INGEST_DLQ_DRAIN 0
/** dlq_mode: never look at the dead-letter queue. @since 0.1 */
#define S3I_INGEST_DLQ_NONE 1

/** Default options. @since 0.1 */
#define S3I_INGEST_OPTIONS_INIT { sizeof(s3i_ingest_options), NULL, NULL, 0, 0, 0, 0, 0, \
	NULL, 0, 0 }

/** What a handle did so far (counts since s3i_ingest_new). @since 0.1 */
typedef struct s3i_ingest_stats {
	uint32_t struct_size;         /**< sizeof the struct, set by the INIT macro */
	int64_t messages_received;   /**< from the central queue, redeliveries included */
	int64_t messages_deleted;    /**< their work recorded (or nothing to do) */
	int64_t messages_skipped;    /**< test events, other keys, unrouted staging buckets */
	int64_t messages_retried;    /**< left on the queue after a failure that may pass */
	int64_t manifests_claimed;   /**< verified manifests that won their bucket */
	int64_t deliveries_ignored;  /**< later deliveries, refused manifests */
	int64_t files_copied;        /**< data files copied server-side and counted */
	int64_t files_rewritten;     /**< data files rewritten into the run's columns and counted */
	int64_t files_already_done;  /**< data files found counted before (redeliveries) */
	int64_t buckets_done;        /**< buckets this handle completed */
	int64_t buckets_failed;      /**< buckets this handle marked failed (DLQ included) */
	int64_t dlq_messages;        /**< taken from the dead-letter queue */
} s3i_ingest_stats;

/** Zeroed stats with struct_size set. @since 0.1 */
#define S3I_INGEST_STATS_INIT { sizeof(s3i_ingest_stats), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * Create an ingest stage on deployment `d`. Touches nothing in AWS (queue URLs are looked up
 * at the first step).
 * @param out   receives the handle (free with s3i_ingest_free).
 * @param d     the deployment; must outlive the handle.
 * @param opts  may be NULL (the defaults); copied (struct_size bytes at most; strings copied).
 * @return S3I_OK, S3I_EINVALID (a NULL argument, a bad struct_size, an option out of range,
 *         naming it), S3I_ENOMEM. Detail in s3i_error_last().  @since 0.1
 */
S3I_API int s3i_ingest_new(s3i_ingest **out, s3i_deployment *d, const s3i_ingest_options *opts);

/** What s3i_ingest_process_message made of a message. @since 0.1 */
typedef enum s3i_ingest_outcome {
	/** Its work is recorded, or there was nothing to do (a test event, another key, not an
	 * S3 event at all): the caller deletes the message. */
	S3I_INGEST_MESSAGE_DONE = 0,
	/** Its work was cut short by the deadline and goes on from where it stopped: let the
	 * message come back (at once if the caller can). */
	S3I_INGEST_MESSAGE_UNFINISHED = 1,
	/** Its work failed for a reason that may pass: leave the message on its queue (it comes
	 * back after its visibility timeout, and goes to the dead-letter queue in the end). */
	S3I_INGEST_MESSAGE_RETRY = 2
} s3i_ingest_outcome;

/** s3i_ingest_process_message flags: the message comes from the dead-letter queue; the
 * bucket it names is marked `failed` instead of its work being done. @since 0.1 */
#define S3I_INGEST_MESSAGE_DEAD_LETTER 1

/**
 * Do the work of one message received by someone else (an SQS-triggered Lambda function gets
 * its messages in the event, not from ReceiveMessage): exactly what s3i_ingest_step does with
 * each message it receives, without receiving or deleting anything. The caller deletes (or
 * reports as processed) the messages whose outcome is S3I_INGEST_MESSAGE_DONE.
 * @param st           the stage (its queue options are not used).
 * @param message_id   the SQS message id, for the log and error messages.
 * @param body         the message body (raw S3 event or SNS envelope).
 * @param body_len     its length in bytes.
 * @param deadline_ms  wall-clock ms since the epoch by which the work stops; 0: none.
 * @param flags        0, or S3I_INGEST_MESSAGE_DEAD_LETTER.
 * @param outcome      receives what became of the message.
 * @return S3I_OK (look at *outcome), also when the message or its bucket failed (that is
 *         recorded); the error when the stage cannot work at all (the state table
 *         unreachable: *outcome is then S3I_INGEST_MESSAGE_RETRY). Detail in
 *         s3i_ingest_error().  @since 0.1
 */
S3I_API int s3i_ingest_process_message(s3i_ingest *st, const char *message_id, const char *body,
	size_t body_len, int64_t deadline_ms, int flags, s3i_ingest_outcome *outcome);

/**
 * Receive one batch of messages (a long poll bounded by the deadline), do their work, record
 * it, and delete the messages whose work is recorded; then, unless dlq_mode is
 * S3I_INGEST_DLQ_NONE, one short poll of the dead-letter queue. Work that would pass the
 * deadline is left for the next step (the message is made visible again at once; nothing
 * counted is lost or counted twice).
 * @param st           the stage.
 * @param deadline_ms  wall-clock ms since the epoch by which the step returns; 0: none.
 * @param finished     receives 1 when the central queue gave no message in this step (there
 *                     is nothing to do right now; more may come later), else 0.
 * @return S3I_OK (look at *finished), also when single messages or buckets failed (they are
 *         recorded); the error when the stage cannot work at all (the queue or the state
 *         table unreachable). Detail in s3i_ingest_error().  @since 0.1
 */
S3I_API int s3i_ingest_step(s3i_ingest *st, int64_t deadline_ms, int *finished);

/**
 * Step until a step finds the queue empty.
 * @return S3I_OK, else the failing step's status.  @since 0.1
 */
S3I_API int s3i_ingest_run(s3i_ingest *st);

/**
 * What this handle did so far.
 * @param st   the stage.
 * @param out  its struct_size set by the caller (S3I_INGEST_STATS_INIT); filled up to it.
 * @return S3I_OK, S3I_EINVALID for NULL arguments.  @since 0.1
 */
S3I_API int s3i_ingest_get_stats(const s3i_ingest *st, s3i_ingest_stats *out);

/**
 * The detail of the last failure of a call on this handle (never NULL; code S3I_OK when
 * none). Valid until the next call on the handle.  @since 0.1
 */
S3I_API const s3i_error *s3i_ingest_error(const s3i_ingest *st);

/** Free the handle (what it recorded stays). NULL is a no-op. @since 0.1 */
S3I_API void s3i_ingest_free(s3i_ingest *st);

S3I_END_DECLS

#endif
