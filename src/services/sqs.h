/*
 * Amazon SQS operations. botocore's current model (sqs 2012-11-05) speaks JSON 1.0
 * (X-Amz-Target AmazonSQS.<Operation>), with awsQueryCompatible error codes; moto 5.2.1
 * accepts it, and so does every AWS region.
 *
 * Regions. A queue lives in one region and every call about it must be signed in (and sent
 * to) that region: moto even picks the queue by the signing region, since its queue URLs carry
 * none. Operations on a queue URL therefore take the region from the URL
 * (s3i_sqs_queue_url_region: https://sqs.<region>.amazonaws.com/..., the legacy
 * https://<region>.queue.amazonaws.com/..., https://queue.amazonaws.com/... = us-east-1, VPC
 * and dual-stack names); only a URL that names no region (a custom endpoint such as moto's
 * http://127.0.0.1:PORT/<account>/<name>) uses svc->region, else the client's. Operations
 * that take a queue name (CreateQueue, GetQueueUrl) use svc->region, else the client's.
 *
 * Errors (besides the client's, see aws/client.h and aws/protocol.h). err->pub.resource is
 * "queue '<name>'" and every message names the queue and its region:
 *  - QueueDoesNotExist (AWS.SimpleQueueService.NonExistentQueue) -> S3I_ENOTFOUND;
 *  - QueueNameExists (CreateQueue with other attributes than the existing queue's) ->
 *    S3I_EEXISTS; QueueDeletedRecently -> S3I_ECONFLICT (wait 60 s);
 *  - ReceiptHandleIsInvalid, InvalidAttributeName/Value, InvalidMessageContents and other
 *    input errors -> S3I_EINVALID; MessageNotInflight -> S3I_ECONFLICT;
 *  - throttling (RequestThrottled, ThrottlingException) and 5xx are retried by the client;
 *    when its attempts run out: S3I_ETHROTTLED / S3I_ESERVICE;
 *  - an MD5OfBody (ReceiveMessage) or MD5OfMessageBody (SendMessage) that does not match the
 *    body -> S3I_ECHECKSUM naming the message id;
 *  - a response without the documented shape -> S3I_EPARSE.
 * Every function may be called from any thread; `err` may be NULL (the thread's error only).
 */
#ifndef S3I_SERVICES_SQS_H
#define S3I_SERVICES_SQS_H

#include <stddef.h>
#include <stdint.h>
#include "services/svc.h"

extern const s3i_service s3i_svc_sqs;

#define S3I_SQS_URL_MAX 1024       /* room for any queue URL this library hands out */
#define S3I_SQS_ID_MAX 128         /* room for a message id */
#define S3I_SQS_BATCH_MAX 10       /* entries per batch request, messages per receive */
#define S3I_SQS_WAIT_MAX 20        /* longest long poll, in seconds */

/* A name and a value: queue attributes, tags. */
typedef struct s3i_sqs_kv {
	const char *key;
	const char *value;
} s3i_sqs_kv;

/* ---- queue URLs ---- */

/* The region a queue URL names, into out (cap bytes): S3I_OK. A URL whose host names no region
 * (a custom endpoint) gives `fallback` (S3I_OK), or S3I_EINVALID when fallback is NULL or
 * empty. S3I_EINVALID for anything that is not http(s)://host/.../<name>, or when out is too
 * small. Never touches the network. */
int s3i_sqs_queue_url_region(const char *queue_url, const char *fallback, char *out, size_t cap);

/* The queue's name: the last path segment of its URL (S3I_EINVALID when there is none or
 * out is too small). */
int s3i_sqs_queue_url_name(const char *queue_url, char *out, size_t cap);

/* A RedrivePolicy attribute value: {"deadLetterTargetArn":"<arn>","maxReceiveCount":<n>}.
 * S3I_EINVALID for an empty ARN, n outside 1..1000 or too small a buffer. */
int s3i_sqs_redrive_policy(char *out, size_t cap, const char *dead_letter_arn,
	int32_t max_receive_count);

/* ---- queues ---- */

/* CreateQueue with attributes (VisibilityTimeout, MessageRetentionPeriod, RedrivePolicy,
 * Policy, ... as strings; may be NULL) and tags (may be NULL). The queue URL goes to url_out
 * (S3I_SQS_URL_MAX bytes are always enough). Creating a queue that exists with the same
 * attributes returns its URL (as AWS does); with other attributes: S3I_EEXISTS. */
int s3i_sqs_create_queue_op(const s3i_svc *svc, const char *name, const s3i_sqs_kv *attrs,
	size_t nattrs, const s3i_sqs_kv *tags, size_t ntags, char *url_out, size_t url_cap,
	s3i_errinfo *err);

/* GetQueueUrl; owner_account NULL: the caller's. S3I_ENOTFOUND naming the queue. */
int s3i_sqs_get_queue_url_op(const s3i_svc *svc, const char *name, const char *owner_account,
	char *url_out, size_t url_cap, s3i_errinfo *err);

/* DeleteQueue. S3I_ENOTFOUND when it does not exist (a teardown may treat that as done). */
int s3i_sqs_delete_queue_op(const s3i_svc *svc, const char *queue_url, s3i_errinfo *err);

/* Queue attributes as returned: every name/value pair, and the common ones typed. */
typedef struct s3i_sqs_attrs {
	s3i_params all;            /* every attribute returned, in the response's order */
	const char *arn;           /* QueueArn, or NULL when not returned */
	int64_t messages;          /* ApproximateNumberOfMessages; -1 when not returned */
	int64_t not_visible;       /* ApproximateNumberOfMessagesNotVisible; -1 */
	int64_t delayed;           /* ApproximateNumberOfMessagesDelayed; -1 */
} s3i_sqs_attrs;

void s3i_sqs_attrs_init(s3i_sqs_attrs *a, const s3i_allocator *alloc);   /* alloc NULL: default */
void s3i_sqs_attrs_free(s3i_sqs_attrs *a);                            /* leaves it empty, reusable */
/* The value of a named attribute, or NULL when it was not returned. */
const char *s3i_sqs_attrs_get(const s3i_sqs_attrs *a, const char *name);
/* A named attribute as an integer: S3I_OK; S3I_ENOTFOUND when not returned; S3I_EPARSE when
 * it is not a whole number (out untouched). */
int s3i_sqs_attrs_i64(const s3i_sqs_attrs *a, const char *name, int64_t *out);

/* GetQueueAttributes for the names given (NULL or n 0: "All"). `out` is emptied first. */
int s3i_sqs_get_queue_attributes_op(const s3i_svc *svc, const char *queue_url,
	const char *const *names, size_t n, s3i_sqs_attrs *out, s3i_errinfo *err);

/* SetQueueAttributes (Policy, RedrivePolicy, VisibilityTimeout, ...); n >= 1. */
int s3i_sqs_set_queue_attributes_op(const s3i_svc *svc, const char *queue_url,
	const s3i_sqs_kv *attrs, size_t n, s3i_errinfo *err);

/* ---- messages ---- */

/* One received message, borrowed for the duration of the callback. */
typedef struct s3i_sqs_message {
	const char *message_id;
	const char *receipt_handle;
	const char *body;            /* checked against MD5OfBody before any callback runs */
	size_t body_len;
	const char *md5_of_body;     /* hex, as SQS sent it */
	int32_t receive_count;       /* ApproximateReceiveCount; 0 when not returned */
	int64_t sent_ms;             /* SentTimestamp; 0 when not returned */
	int64_t first_receive_ms;    /* ApproximateFirstReceiveTimestamp; 0 when not returned */
	const void *internal_;       /* for s3i_sqs_message_attribute */
} s3i_sqs_message;

/* A system attribute of the message (SenderId, AWSTraceHeader, DeadLetterQueueSourceArn, ...)
 * as SQS sent it, or NULL. */
const char *s3i_sqs_message_attribute(const s3i_sqs_message *m, const char *name);

/* Return 0 to go on, anything else to stop (ReceiveMessage then fails with S3I_EUSER; the
 * messages not handled reappear once their visibility timeout passes). */
typedef int (*s3i_sqs_message_fn)(void *payload, const s3i_sqs_message *m);

typedef struct s3i_sqs_receive_opts {
	int32_t max_messages;          /* 1..10; 0: 10 */
	int32_t wait_seconds;          /* long poll, 0..20 (0: a short poll, not the queue's default) */
	int32_t visibility_timeout;    /* seconds, 0..43200, sent when use_visibility_timeout */
	int use_visibility_timeout;    /* 0: the queue's VisibilityTimeout */
	const char *const *attribute_names;  /* MessageSystemAttributeNames; NULL: "All" */
	size_t nattribute_names;
} s3i_sqs_receive_opts;

/* ReceiveMessage once (opts may be NULL: 10 messages, short poll). Every message's body is
 * checked against its MD5OfBody first; then fn sees each in order. *received (may be NULL)
 * gets the number of messages the response held, also on failure. The HTTP timeout of a long
 * poll is the poll plus a margin, whatever the client's default, so a quiet queue is not an
 * error: it gives S3I_OK with 0 messages. */
int s3i_sqs_receive_op(const s3i_svc *svc, const char *queue_url, const s3i_sqs_receive_opts *opts,
	s3i_sqs_message_fn fn, void *payload, size_t *received, s3i_errinfo *err);

typedef struct s3i_sqs_delete_entry {
	const char *message_id;      /* what failures are reported by (may be NULL) */
	const char *receipt_handle;
} s3i_sqs_delete_entry;

/* Called for each entry SQS did not delete, with its error code and message (never NULL) and
 * whether SQS blamed the request (sender_fault). Return 0 to go on; anything else stops
 * after the current chunk (S3I_EUSER). */
typedef int (*s3i_sqs_delete_failed_fn)(void *payload, const s3i_sqs_delete_entry *entry,
	const char *code, const char *message, int sender_fault);

/* DeleteMessageBatch in chunks of 10, in order. Every failed entry goes to fn (may be NULL);
 * *failed (may be NULL) counts them. S3I_OK when every entry was deleted; when some were not,
 * all chunks are still sent and the result is S3I_EINVALID (every failure was
 * ReceiptHandleIsInvalid or another sender fault) or S3I_EAWS, the message naming how many
 * failed and the first failed message id. A failed request stops at that chunk (earlier
 * chunks stay deleted). */
int s3i_sqs_delete_batch_op(const s3i_svc *svc, const char *queue_url,
	const s3i_sqs_delete_entry *entries, size_t n, s3i_sqs_delete_failed_fn fn, void *payload,
	size_t *failed, s3i_errinfo *err);

/* ChangeMessageVisibility (0..43200 s; 0 makes the message visible at once). */
int s3i_sqs_change_visibility_op(const s3i_svc *svc, const char *queue_url,
	const char *receipt_handle, int32_t visibility_timeout, s3i_errinfo *err);

/* SendMessage; delay_seconds 0..900 (0: the queue's DelaySeconds). message_id_out may be NULL
 * (else S3I_SQS_ID_MAX bytes are enough). S3I_ECHECKSUM when MD5OfMessageBody does not match
 * what was sent (the message may have been stored: SQS answered). */
int s3i_sqs_send_op(const s3i_svc *svc, const char *queue_url, const char *body,
	int32_t delay_seconds, char *message_id_out, size_t id_cap, s3i_errinfo *err);

/* ---- response parsers (exposed for unit tests and the fuzzer) ----
 * Each fails with S3I_EPARSE naming `what` for anything but the documented shape, S3I_ENOMEM,
 * and records the error on err (NULL: the thread's); outputs are then left empty. */

/* {"QueueUrl": "..."} (CreateQueue, GetQueueUrl) into out. */
int s3i_sqs_queue_url_parse(const char *body, size_t len, const char *what, char *out,
	size_t cap, s3i_errinfo *err);
/* {"Attributes": {name: "value", ...}} (GetQueueAttributes); `out` is emptied first. */
int s3i_sqs_attrs_parse(const char *body, size_t len, const char *what, s3i_sqs_attrs *out,
	s3i_errinfo *err);
/* {"Messages": [...]} (ReceiveMessage; {} is no message). Every message needs MessageId,
 * ReceiptHandle, Body and MD5OfBody; the MD5s are all checked before fn sees any message
 * (S3I_ECHECKSUM naming the message id). *count (may be NULL) gets the number of messages. */
int s3i_sqs_receive_parse(const char *body, size_t len, const char *what, s3i_sqs_message_fn fn,
	void *payload, size_t *count, s3i_errinfo *err);
/* {"Successful": [{"Id"}], "Failed": [{"Id","Code","Message","SenderFault"}]} for a chunk of n
 * entries whose Ids are "0".."n-1". Every Id must be one of them and appear once overall; an
 * entry the response does not mention is S3I_EPARSE. fn (may be NULL) sees each failure with
 * its index; *nfailed / *sender_faults (may be NULL) count the failures and those SQS blamed on
 * the sender. S3I_EUSER when fn stopped. */
typedef int (*s3i_sqs_batch_failure_fn)(void *payload, size_t index, const char *code,
	const char *message, int sender_fault);
int s3i_sqs_delete_batch_parse(const char *body, size_t len, const char *what, size_t n,
	s3i_sqs_batch_failure_fn fn, void *payload, size_t *nfailed, size_t *sender_faults,
	s3i_errinfo *err);
/* {"MessageId", "MD5OfMessageBody"} (SendMessage) checked against the body sent; the id into
 * id_out (may be NULL). */
int s3i_sqs_send_parse(const char *body, size_t len, const char *what, const char *sent,
	size_t sent_len, char *id_out, size_t id_cap, s3i_errinfo *err);

#endif
