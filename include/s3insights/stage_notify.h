/**
 * @file
 * libs3insights: the notify stage (DESIGN §4.7) — the run's report by e-mail.
 *
 * It moves the run to the `notifying` phase (a failed run stays `failed`) and sends, through
 * SES SendRawEmail in the host region from the input's sender, one multipart/alternative
 * message (plain text, then HTML with every value escaped) per batch of at most 50 of the
 * input's recipients (120 recipients: 3 messages of 40). The report holds:
 *  - totals (buckets, objects, bytes) per account and region, and for the whole run;
 *  - every source bucket with its status and reason;
 *  - every query with its state, reason, row count, data scanned, its first rows and a link
 *    to the execution in the Athena console;
 * and, for a run whose phase is `failed`, a failure report naming the failing stage and its
 * error (with whatever the run had recorded until then).
 *
 * Each message sent is recorded in the state table (item `notify#<kind>#<nnn>`) right after
 * SES accepted it, so a resumed or repeated stage never sends a batch twice (a crash between
 * SES's answer and that write is the one window in which a batch can go out twice). A failure
 * report is recorded apart from the normal report: a run that fails after its report was sent
 * still sends its failure report once.
 */
#ifndef S3INSIGHTS_STAGE_NOTIFY_H
#define S3INSIGHTS_STAGE_NOTIFY_H

#include <stdint.h>
#include "common.h"
#include "errors.h"
#include "run.h"

S3I_BEGIN_DECLS

/** A notify stage of one run. Not thread-safe: one thread at a time. @since 0.1 */
typedef struct s3i_notify s3i_notify;

/** Options of s3i_notify_new. Fields are only ever appended (STYLE R6). @since 0.1 */
typedef struct s3i_notify_options {
	uint32_t struct_size;         /**< sizeof the struct, set by the INIT macro */
	/** Result rows shown per query; 0: 10; -1: none. */
	int32_t rows_per_query;
	/** Buckets listed one by one at most (the totals always count every bucket; the rest
	 * are summed up in one line); 0: 5000. */
	int32_t max_buckets_listed;
	/** Recipients per message, 1-50; 0: 50. */
	int32_t recipients_per_message;
	/** SES configuration set; NULL: none. Copied. */
	const char *configuration_set;
} s3i_notify_options;

/** Default options. @since 0.1 */
#define S3I_NOTIFY_OPTIONS_INIT { sizeof(s3i_notify_options), 0, 0, 0, NULL }

/**
 * Create the notify stage of `run`. Touches nothing in AWS.
 * @param out   receives the handle (free with s3i_notify_free).
 * @param run   the run; must outlive the handle.
 * @param opts  may be NULL (the defaults); copied (struct_size bytes at most).
 * @return S3I_OK, S3I_EINVALID (a NULL argument, a bad struct_size or option), S3I_ENOMEM.
 *         Detail in s3i_error_last().  @since 0.1
 */
S3I_API int s3i_notify_new(s3i_notify **out, s3i_run *run, const s3i_notify_options *opts);

/**
 * Read the run's state, build the report (once per handle) and send the batches not yet
 * recorded as sent, until all are sent or the deadline comes.
 * @param st           the stage.
 * @param deadline_ms  wall-clock ms since the epoch by which the step returns; 0: none.
 * @param finished     receives 1 when every batch is sent and recorded, else 0.
 * @return S3I_OK (look at *finished); or the error that stopped it (SES refused the sender
 *         or a message, the state table or Athena unreachable), also recorded on the run
 *         (phase `failed`, stage "notify") when SES refused the message. Detail in
 *         s3i_notify_error().  @since 0.1
 */
S3I_API int s3i_notify_step(s3i_notify *st, int64_t deadline_ms, int *finished);

/**
 * Step until finished, without a deadline.
 * @return S3I_OK when the stage finished, else the failing step's status.  @since 0.1
 */
S3I_API int s3i_notify_run(s3i_notify *st);

/**
 * The detail of the last failure of a call on this handle (never NULL; code S3I_OK when
 * none). Valid until the next call on the handle.  @since 0.1
 */
S3I_API const s3i_error *s3i_notify_error(const s3i_notify *st);

/**
 * The number of messages this handle sent (batches found already sent are not counted).
 * @since 0.1
 */
S3I_API int64_t s3i_notify_sent(const s3i_notify *st);

/** Free the handle (what it recorded stays). NULL is a no-op. @since 0.1 */
S3I_API void s3i_notify_free(s3i_notify *st);

S3I_END_DECLS

#endif
