/*
 * Amazon SNS operations (query protocol, XML answers; botocore's sns 2010-03-31 model), plus
 * the reader of the JSON envelope SNS wraps around a message it delivers to SQS without raw
 * delivery.
 *
 * Regions. A topic lives in the region its ARN names, and moto finds a topic only when the
 * call is signed in that region; so every operation on a topic ARN is signed in (and sent to)
 * the ARN's region, whatever svc->region says. CreateTopic uses svc->region, else the
 * client's.
 *
 * Errors (besides the client's, see aws/client.h and aws/protocol.h). err->pub.resource is
 * "topic '<name>'":
 *  - NotFound -> S3I_ENOTFOUND naming the topic, its region and ARN; except in DeleteTopic,
 *    which, like AWS's own DeleteTopic, treats a missing topic as deleted (S3I_OK), so a
 *    teardown can run any number of times;
 *  - InvalidParameter(Value) -> S3I_EINVALID; AuthorizationError -> S3I_EAUTH;
 *  - Throttled (HTTP 429) and 5xx are retried by the client; when its attempts run out:
 *    S3I_ETHROTTLED / S3I_ESERVICE;
 *  - a response without the documented shape -> S3I_EPARSE.
 * Every function may be called from any thread; `err` may be NULL (the thread's error only).
 */
#ifndef S3I_SERVICES_SNS_H
#define S3I_SERVICES_SNS_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "services/svc.h"

extern const s3i_service s3i_svc_sns;

#define S3I_SNS_ARN_MAX 512        /* room for any topic or subscription ARN */
#define S3I_SNS_ID_MAX 128         /* room for a message id */

/* A name and a value: topic and subscription attributes, tags. */
typedef struct s3i_sns_kv {
	const char *key;
	const char *value;
} s3i_sns_kv;

/* The region and the name of a topic ARN (arn:<partition>:sns:<region>:<account>:<name>);
 * either output may be NULL. S3I_EINVALID for anything else or too small a buffer. */
int s3i_sns_topic_arn_parts(const char *topic_arn, char *region, size_t region_cap, char *name,
	size_t name_cap);

/* CreateTopic with attributes (DisplayName, Policy, KmsMasterKeyId, ...; may be NULL) and tags
 * (may be NULL). The ARN goes to arn_out (S3I_SNS_ARN_MAX bytes are enough). Creating a topic
 * that exists returns its ARN, as AWS does. */
int s3i_sns_create_topic_op(const s3i_svc *svc, const char *name, const s3i_sns_kv *attrs,
	size_t nattrs, const s3i_sns_kv *tags, size_t ntags, char *arn_out, size_t arn_cap,
	s3i_errinfo *err);

/* Subscribe `endpoint` (for protocol "sqs": the queue ARN) with attributes such as
 * RawMessageDelivery=true (may be NULL). ReturnSubscriptionArn is set, so arn_out (may be
 * NULL) gets the subscription ARN also while a confirmation is pending. */
int s3i_sns_subscribe_op(const s3i_svc *svc, const char *topic_arn, const char *protocol,
	const char *endpoint, const s3i_sns_kv *attrs, size_t nattrs, char *arn_out, size_t arn_cap,
	s3i_errinfo *err);

/* SetTopicAttributes: one attribute (Policy, DisplayName, DeliveryPolicy, ...). value may be
 * "" (AWS then resets it where that means something). */
int s3i_sns_set_topic_attribute_op(const s3i_svc *svc, const char *topic_arn, const char *name,
	const char *value, s3i_errinfo *err);

/* GetTopicAttributes: every attribute into `out` (emptied first; name -> value, in the
 * response's order). Read one with s3i_sns_attr_get. */
int s3i_sns_get_topic_attributes_op(const s3i_svc *svc, const char *topic_arn, s3i_params *out,
	s3i_errinfo *err);
/* The value of a named attribute in `attrs`, or NULL when absent. */
const char *s3i_sns_attr_get(const s3i_params *attrs, const char *name);

/* One subscription of a topic, borrowed for the duration of the callback. */
typedef struct s3i_sns_subscription {
	const char *subscription_arn;   /* "PendingConfirmation" while unconfirmed */
	const char *owner;
	const char *protocol;
	const char *endpoint;
	const char *topic_arn;
} s3i_sns_subscription;

/* Return 0 to go on, anything else to stop (the listing then fails with S3I_EUSER). */
typedef int (*s3i_sns_subscription_fn)(void *payload, const s3i_sns_subscription *s);

/* ListSubscriptionsByTopic, every page (NextToken) until the last; fn sees each subscription
 * once. *count (may be NULL) gets how many were seen, also on failure. */
int s3i_sns_list_subscriptions_op(const s3i_svc *svc, const char *topic_arn,
	s3i_sns_subscription_fn fn, void *payload, size_t *count, s3i_errinfo *err);

/* DeleteTopic (its subscriptions go with it). A topic that does not exist is S3I_OK: AWS's
 * DeleteTopic is idempotent too, and teardown must be repeatable. */
int s3i_sns_delete_topic_op(const s3i_svc *svc, const char *topic_arn, s3i_errinfo *err);

/* Publish a message (subject may be NULL); id_out may be NULL (else S3I_SNS_ID_MAX bytes). */
int s3i_sns_publish_op(const s3i_svc *svc, const char *topic_arn, const char *message,
	const char *subject, char *id_out, size_t id_cap, s3i_errinfo *err);

/* ---- the envelope of a delivery without RawMessageDelivery ---- */

typedef struct s3i_sns_envelope {
	const char *type;               /* "Notification" */
	const char *message_id;
	const char *topic_arn;
	const char *subject;            /* NULL when absent (moto never sends one) */
	const char *message;            /* the published text (an S3 event's JSON) */
	size_t message_len;
	const char *timestamp;          /* "2024-01-01T00:00:00.000Z", NULL when absent */
} s3i_sns_envelope;

typedef int (*s3i_sns_envelope_fn)(void *payload, const s3i_sns_envelope *env);

/* Read an SQS message body as an SNS envelope and hand it to fn (borrowed for the call).
 * S3I_ENOTFOUND (nothing recorded on err) when the body is not an envelope at all (not a JSON
 * object, or no "Type" with "TopicArn"): the body is then the raw message. S3I_EPARSE when it
 * claims to be one (Type and TopicArn present) but lacks a string MessageId or Message.
 * S3I_EUSER when fn returned non-zero; otherwise fn's S3I_OK. Signatures are not verified. */
int s3i_sns_envelope_parse(const char *body, size_t len, s3i_sns_envelope_fn fn, void *payload,
	s3i_errinfo *err);

/* ---- response parsers (exposed for unit tests and the fuzzer) ----
 * Each fails with S3I_EPARSE naming `what` for anything but the documented shape (an
 * <ErrorResponse> included), S3I_ENOMEM, and records the error on err (NULL: the thread's).
 * `a` NULL: the default allocator. */

/* The text of <op>Response/<op>Result/<member> (CreateTopic TopicArn, Subscribe
 * SubscriptionArn, Publish MessageId) into out; missing or empty is S3I_EPARSE, too long for
 * cap S3I_EINVALID. */
int s3i_sns_result_parse(const s3i_allocator *a, const char *body, size_t len, const char *op,
	const char *member, char *out, size_t cap, s3i_errinfo *err);
/* GetTopicAttributesResponse: every <entry><key/><value/></entry> into out (emptied first). A
 * key given twice or an entry without a key is S3I_EPARSE. */
int s3i_sns_attrs_parse(const s3i_allocator *a, const char *body, size_t len, const char *what,
	s3i_params *out, s3i_errinfo *err);
/* One ListSubscriptionsByTopicResponse page: each member to fn, NextToken into next_token
 * (cleared first; empty on the last page); *count (may be NULL) incremented per member. */
int s3i_sns_subscriptions_parse(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_sns_subscription_fn fn, void *payload, s3i_buf *next_token,
	size_t *count, s3i_errinfo *err);

#endif
