/*
 * Fan-out: many independent operations in flight at once over the client's shared connection
 * pool, built on s3i_client_batch.
 *
 * An operation is an s3i_fanout_op: an s3i_call (what to send), a parse function (what the
 * answer means) and a pointer to where the parse function writes its result. Operations come
 * from a source callback one at a time, when there is room, so a fan-out over a million data
 * files holds only a few dozen operations in memory; each one's outcome goes to a done
 * callback with its own status and its own error detail (never one error for all).
 *
 * Concurrency: at most max_in_flight requests are on the wire at once. Twice as many
 * operations are held ready, so while some wait out a retry backoff others use their
 * connections: a call's retries run on its own timer in the batch (aws/client.h) and never
 * hold back the rest. Retries, backoff, clock-skew, region redirects and error mapping are the
 * client's, exactly as for a single call.
 *
 * Typed helpers: s3i_s3_head_object_prepare / s3i_s3_bucket_location_prepare
 * (services/s3_head.h) fill an op; s3i_fanout_head_objects and s3i_fanout_bucket_locations
 * below run a whole array of them.
 *
 * Threading: a fan-out runs on the calling thread and every callback runs on it too, never on
 * a library thread. Any number of threads may run fan-outs on the same client at once.
 */
#ifndef S3I_SERVICES_FANOUT_H
#define S3I_SERVICES_FANOUT_H

#include <stddef.h>
#include <stdint.h>
#include "services/svc.h"
#include "services/s3_head.h"

#define S3I_FANOUT_DEFAULT_IN_FLIGHT 16
#define S3I_FANOUT_MAX_IN_FLIGHT 1024

typedef struct s3i_fanout_op s3i_fanout_op;

/* What an answer means. Runs once per operation, after the client's retries, with the
 * client's final status: S3I_OK with a 2xx answer in resp (headers; the body unless the call
 * had a sink), or a negative status with the client's detail already in err (resp then holds
 * whatever answer arrived: status and headers of an error, or status 0). Returns the
 * operation's final status; a failure it finds (an answer of the wrong shape) is recorded on
 * err with a message naming the resource. It may also refine a failure (a HeadObject 404 that
 * is a delete marker) but must keep a status < 0 for it. */
typedef int (*s3i_fanout_parse_fn)(s3i_fanout_op *op, int status, const s3i_http_response *resp,
	s3i_errinfo *err);

/* Strings kept for an operation's lifetime (its bucket, key, resource text). */
typedef struct s3i_fanout_text_chunk s3i_fanout_text_chunk;

struct s3i_fanout_op {
	/* Filled by the source (or a *_prepare helper). call.svc is required; call.creds and
	 * call.region default to the fan-out's s3i_svc. Everything the call points to must stay
	 * valid until the op is done: use the storage below for what does not. */
	s3i_call call;
	s3i_fanout_parse_fn parse;       /* NULL: the client's status is the outcome */
	void *result;                    /* where parse writes; the source's memory */
	void *user;                      /* the source's own, untouched by the library */
	size_t index;                    /* set by the fan-out: 0 for the first op, then 1, 2, ... */
	/* Storage owned by the op, emptied before each fill, for the call to point into. */
	s3i_params params;
	s3i_headers headers;
	/* internal */
	const s3i_allocator *alloc;
	s3i_fanout_text_chunk *text;
	s3i_errinfo err;                 /* the failure detail handed to done */
};

void s3i_fanout_op_init(s3i_fanout_op *op, const s3i_allocator *a);
/* Empty the op for its next use: call, parse, result, user, params, headers and strings.
 * Storage is kept. */
void s3i_fanout_op_reset(s3i_fanout_op *op);
void s3i_fanout_op_free(s3i_fanout_op *op);
/* A copy of s (NULL: NULL) that lives until the op is reset; its address never moves. NULL
 * only when out of memory (and s was not NULL). */
const char *s3i_fanout_op_strdup(s3i_fanout_op *op, const char *s);
/* parts[0..n-1] joined (n <= 16; a NULL part counts as ""), kept like s3i_fanout_op_strdup:
 * the resource texts errors name, without printf's cost. NULL when out of memory. */
const char *s3i_fanout_op_concat(s3i_fanout_op *op, const char *const *parts, size_t n);
/* The same with printf formatting. */
const char *s3i_fanout_op_printf(s3i_fanout_op *op, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* Run one prepared operation synchronously on the calling thread (the synchronous
 * s3i_s3_head_object_op and friends are this). err may be NULL (the thread's error). */
int s3i_fanout_op_run(const s3i_svc *svc, s3i_fanout_op *op, s3i_errinfo *err);

/* ---- the engine ---- */

/* Fill `op` (already reset) with the next operation. Return 1 when it was filled, 0 when
 * there are no more, or a negative status to stop (recorded on err, which is the fan-out's):
 * the operations in flight still finish and reach `done`, and the fan-out returns that
 * status. To fail one operation alone without sending it (a name that cannot be used), record
 * its error on op->err (as the *_prepare helpers do when given &op->err) and return 1: it goes
 * to parse and `done` with that status like any other failure. */
typedef int (*s3i_fanout_next_fn)(void *payload, s3i_fanout_op *op, s3i_errinfo *err);

/* One operation finished: status as parse returned it, err its own detail (cleared on
 * success; valid during the call only), op->result filled by parse. Return 0 to go on,
 * non-zero to start nothing more (what is in flight finishes and is reported; the fan-out
 * returns S3I_EUSER). */
typedef int (*s3i_fanout_done_fn)(void *payload, s3i_fanout_op *op, int status,
	const s3i_errinfo *err);

typedef struct s3i_fanout_stats {
	int64_t started;      /* operations the source filled */
	int64_t succeeded;
	int64_t failed;       /* finished with a status < 0 */
} s3i_fanout_stats;

/* Run operations from `next` until it has no more, at most max_in_flight requests at once
 * (<= 0: S3I_FANOUT_DEFAULT_IN_FLIGHT; capped at S3I_FANOUT_MAX_IN_FLIGHT). Each operation's
 * outcome goes to `done` (may be NULL) as soon as it is known, in completion order.
 * Returns S3I_OK once every operation finished, whatever their own outcomes (count them in
 * stats, which may be NULL and is zeroed first): a failed operation does not fail the
 * fan-out. Otherwise the status `next` stopped with, S3I_EUSER when `done` stopped it, or
 * S3I_ENOMEM / a batch failure (err names it; operations still in flight then are not
 * reported). err may be NULL (the thread's error). */
int s3i_fanout_run(const s3i_svc *svc, int max_in_flight, s3i_fanout_next_fn next,
	s3i_fanout_done_fn done, void *payload, s3i_fanout_stats *stats, s3i_errinfo *err);

/* ---- typed helpers over arrays ---- */

/* One HeadObject outcome: index into the objects array, status (S3I_OK, S3I_ENOTFOUND for a
 * missing key or bucket or a delete marker, S3I_EAUTH, ...), head (filled on success; for a
 * delete marker delete_marker and version_id), err this object's own detail. Return 0 to go
 * on, non-zero to stop (S3I_EUSER). */
typedef int (*s3i_fanout_head_fn)(void *payload, size_t index, int status,
	const s3i_s3_head_result *head, const s3i_errinfo *err);

/* HeadObject on each of `count` objects (version_id NULL: the current version). */
int s3i_fanout_head_objects(const s3i_svc *svc, int max_in_flight,
	const s3i_s3_object_ref *objects, size_t count, s3i_fanout_head_fn fn, void *payload,
	s3i_fanout_stats *stats, s3i_errinfo *err);

/* One GetBucketLocation outcome: region normalised ("us-east-1" for an empty answer,
 * "eu-west-1" for "EU"; "" on failure). */
typedef int (*s3i_fanout_location_fn)(void *payload, size_t index, int status,
	const char *region, const s3i_errinfo *err);

/* GetBucketLocation of each of `count` buckets. */
int s3i_fanout_bucket_locations(const s3i_svc *svc, int max_in_flight,
	const char *const *buckets, size_t count, s3i_fanout_location_fn fn, void *payload,
	s3i_fanout_stats *stats, s3i_errinfo *err);

#endif
