/*
 * Amazon S3 bucket-level operations (REST-XML), shapes from botocore's s3 model: ListBuckets,
 * HeadBucket, inventory configurations, notification configurations, and the settings the
 * tests, the demo and the templates' stand-ins need (policy, public access block, default
 * encryption, lifecycle, versioning). CreateBucket and DeleteBucket are in services/s3.h.
 *
 * Requests: every value a caller gives is XML-escaped (s3i_xml_element) and checked before
 * anything is sent; a bad argument is S3I_EINVALID naming the field. Operations whose botocore
 * model says requestChecksumRequired (PutBucketPolicy, PutPublicAccessBlock,
 * PutBucketEncryption, PutBucketLifecycleConfiguration, PutBucketVersioning) send Content-MD5:
 * AWS refuses them without it, moto does not care (tests/unit/test_s3_checksum_required.c).
 *
 * Errors (besides the client's, see aws/client.h and aws/protocol.h) name the operation and
 * the bucket ("PutBucketPolicy on bucket 'b' failed: NoSuchBucket: ..."; for inventory
 * configurations "... on inventory configuration 'id' of bucket 'b' ..."):
 *  - NoSuchBucket, NoSuchInventoryConfig, HeadBucket's bare 404 -> S3I_ENOTFOUND;
 *  - AccessDenied, HeadBucket's bare 403 -> S3I_EAUTH;
 *  - MalformedXML, InvalidArgument, MalformedPolicy... -> S3I_EINVALID;
 *  - an answer that is not the documented shape -> S3I_EPARSE naming the element;
 *  - an <Error> document with a 200 status -> the status its code maps to.
 *
 * Results are parsed with the streaming expat reader (core/xml.h). Listings come one entry at
 * a time through callbacks; strings handed to a callback are borrowed for the duration of the
 * call. A callback returning non-zero stops the listing: S3I_EUSER. Every function may be
 * called from any thread; `err` may be NULL (the thread's error only).
 */
#ifndef S3I_SERVICES_S3_BUCKET_H
#define S3I_SERVICES_S3_BUCKET_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/errinfo.h"
#include "services/svc.h"

/* ------------------------------------------------------------------ ListBuckets */

typedef struct s3i_s3_bucket_info {
	const char *name;
	int64_t creation_ms;      /* CreationDate, ms since the epoch UTC; 0 when absent */
	const char *region;       /* BucketRegion; "" when absent (moto never sends it) */
	const char *arn;          /* BucketArn; "" when absent */
} s3i_s3_bucket_info;

typedef int (*s3i_s3_bucket_fn)(void *payload, const s3i_s3_bucket_info *bucket);

typedef struct s3i_s3_list_buckets_opts {
	int32_t max_buckets;            /* max-buckets per page, 1..10000; 0: not sent (S3 then
	                                   answers up to 10,000 buckets in one page) */
	const char *prefix;             /* only names starting with it; NULL: all */
	const char *bucket_region;      /* only buckets in that region; NULL: all */
	const char *continuation_token; /* resume from an earlier page's token; NULL: the start */
} s3i_s3_list_buckets_opts;

/* Where a ListBuckets listing stands after a page. */
typedef struct s3i_s3_bucket_page {
	s3i_buf next_token;       /* ContinuationToken of the answer; "" on the last page */
	int64_t buckets;          /* buckets in the page */
	char owner_id[128];       /* Owner/ID; "" when absent */
} s3i_s3_bucket_page;

void s3i_s3_bucket_page_init(s3i_s3_bucket_page *page, const s3i_allocator *a);
void s3i_s3_bucket_page_free(s3i_s3_bucket_page *page);

/* Every page of ListBuckets (opts may be NULL), each bucket to fn (may be NULL). A page's
 * ContinuationToken asks for the next one; a token equal to the one just sent is S3I_EPARSE
 * (it would never end). */
int s3i_s3_list_buckets_op(const s3i_svc *svc, const s3i_s3_list_buckets_opts *opts,
	s3i_s3_bucket_fn fn, void *payload, s3i_errinfo *err);
/* One page, for resumable work: go on with opts->continuation_token = page->next_token while
 * it is not empty. page is reset first. */
int s3i_s3_list_buckets_page_op(const s3i_svc *svc, const s3i_s3_list_buckets_opts *opts,
	s3i_s3_bucket_fn fn, void *payload, s3i_s3_bucket_page *page, s3i_errinfo *err);

/* ------------------------------------------------------------------ HeadBucket */

#define S3I_S3_BUCKET_REGION_MAX 64

/* HeadBucket: S3I_OK when the bucket exists and these credentials may use it;
 * S3I_ENOTFOUND when it does not exist (a bare 404); S3I_EAUTH when it exists but access is
 * denied (a bare 403: another account's bucket, or a policy). region_out (may be NULL, at
 * least S3I_S3_BUCKET_REGION_MAX bytes) receives x-amz-bucket-region when the answer has it,
 * the 403 included, else "". A bucket in another region than the call's is followed there by
 * the client (301 with x-amz-bucket-region). */
int s3i_s3_head_bucket_op(const s3i_svc *svc, const char *bucket, char *region_out,
	s3i_errinfo *err);

/* ------------------------------------------------------------------ inventory configurations */

typedef enum s3i_s3_inventory_format {
	S3I_S3_INVENTORY_FORMAT_UNKNOWN = 0,  /* in answers: a value this library does not know */
	S3I_S3_INVENTORY_CSV = 1,
	S3I_S3_INVENTORY_ORC = 2,
	S3I_S3_INVENTORY_PARQUET = 3
} s3i_s3_inventory_format;

typedef enum s3i_s3_inventory_encryption {
	S3I_S3_INVENTORY_SSE_NONE = 0,
	S3I_S3_INVENTORY_SSE_S3 = 1,
	S3I_S3_INVENTORY_SSE_KMS = 2          /* with kms_key_id */
} s3i_s3_inventory_encryption;

typedef enum s3i_s3_inventory_versions {
	S3I_S3_INVENTORY_VERSIONS_UNKNOWN = 0,
	S3I_S3_INVENTORY_VERSIONS_ALL = 1,
	S3I_S3_INVENTORY_VERSIONS_CURRENT = 2
} s3i_s3_inventory_versions;

typedef enum s3i_s3_inventory_frequency {
	S3I_S3_INVENTORY_FREQUENCY_UNKNOWN = 0,
	S3I_S3_INVENTORY_DAILY = 1,
	S3I_S3_INVENTORY_WEEKLY = 2
} s3i_s3_inventory_frequency;

/* Optional fields (InventoryOptionalField of the botocore model), as bits in the model's
 * order. S3I_S3_INVENTORY_FIELDS_ALL is every field S3 offers. */
#define S3I_S3_INVENTORY_FIELD_SIZE                          (1u << 0)
#define S3I_S3_INVENTORY_FIELD_LAST_MODIFIED_DATE            (1u << 1)
#define S3I_S3_INVENTORY_FIELD_STORAGE_CLASS                 (1u << 2)
#define S3I_S3_INVENTORY_FIELD_ETAG                          (1u << 3)
#define S3I_S3_INVENTORY_FIELD_IS_MULTIPART_UPLOADED         (1u << 4)
#define S3I_S3_INVENTORY_FIELD_REPLICATION_STATUS            (1u << 5)
#define S3I_S3_INVENTORY_FIELD_ENCRYPTION_STATUS             (1u << 6)
#define S3I_S3_INVENTORY_FIELD_OBJECT_LOCK_RETAIN_UNTIL_DATE (1u << 7)
#define S3I_S3_INVENTORY_FIELD_OBJECT_LOCK_MODE              (1u << 8)
#define S3I_S3_INVENTORY_FIELD_OBJECT_LOCK_LEGAL_HOLD_STATUS (1u << 9)
#define S3I_S3_INVENTORY_FIELD_INTELLIGENT_TIERING_ACCESS_TIER (1u << 10)
#define S3I_S3_INVENTORY_FIELD_BUCKET_KEY_STATUS             (1u << 11)
#define S3I_S3_INVENTORY_FIELD_CHECKSUM_ALGORITHM            (1u << 12)
#define S3I_S3_INVENTORY_FIELD_OBJECT_ACCESS_CONTROL_LIST    (1u << 13)
#define S3I_S3_INVENTORY_FIELD_OBJECT_OWNER                  (1u << 14)
#define S3I_S3_INVENTORY_FIELD_LIFECYCLE_EXPIRATION_DATE     (1u << 15)
#define S3I_S3_INVENTORY_FIELD_COUNT 16
#define S3I_S3_INVENTORY_FIELDS_ALL ((1u << S3I_S3_INVENTORY_FIELD_COUNT) - 1u)

/* The S3 name of a field bit ("Size", "LastModifiedDate", ...); NULL for anything but one
 * known bit. */
const char *s3i_s3_inventory_field_name(uint32_t bit);
/* The bit of an S3 field name (exact, case-sensitive); 0 when unknown. */
uint32_t s3i_s3_inventory_field_bit(const char *name, size_t len);

/* One inventory configuration, as put and as read back. Strings NULL or "" mean absent. */
typedef struct s3i_s3_inventory_config {
	const char *id;                       /* required */
	int enabled;                          /* IsEnabled */
	const char *destination_bucket_arn;   /* required: "arn:aws:s3:::<bucket>" */
	const char *destination_account_id;   /* AccountId (the destination's owner) */
	const char *destination_prefix;       /* Prefix under which reports are written */
	s3i_s3_inventory_format format;       /* required */
	s3i_s3_inventory_encryption encryption;
	const char *kms_key_id;               /* SSE-KMS KeyId (required with SSE_KMS) */
	s3i_s3_inventory_versions versions;   /* IncludedObjectVersions, required */
	s3i_s3_inventory_frequency frequency; /* Schedule/Frequency, required */
	const char *filter_prefix;            /* Filter/Prefix: only these keys */
	uint32_t optional_fields;             /* S3I_S3_INVENTORY_FIELD_* bits */
	/* In answers: optional field names this library does not know, comma-separated ("" when
	 * none); when putting, they are sent as given after the known ones. */
	const char *other_fields;
} s3i_s3_inventory_config;

typedef int (*s3i_s3_inventory_fn)(void *payload, const s3i_s3_inventory_config *cfg);

/* Copy cfg into dst with every string in `storage` (appended to; dst's strings point into it
 * and stay valid until storage is cleared, disposed or appended to again). NULL strings
 * become "". S3I_ENOMEM (dst untouched). */
int s3i_s3_inventory_config_copy(s3i_s3_inventory_config *dst, s3i_buf *storage,
	const s3i_s3_inventory_config *cfg);

/* The <InventoryConfiguration> request body of cfg, appended to out. S3I_EINVALID naming the
 * field when cfg lacks something S3 requires (id, destination bucket ARN, format, versions,
 * frequency, the KMS key id of SSE-KMS) or holds an unknown enum value or field bit. */
int s3i_s3_inventory_xml(s3i_buf *out, const s3i_s3_inventory_config *cfg, s3i_errinfo *err);

/* PutBucketInventoryConfiguration (?inventory&id=cfg->id): creates or replaces. */
int s3i_s3_put_bucket_inventory_configuration_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_inventory_config *cfg, s3i_errinfo *err);
/* GetBucketInventoryConfiguration: *out filled, its strings in `storage` (cleared first; the
 * caller disposes it). S3I_ENOTFOUND naming the bucket and the id when there is no such
 * configuration (or bucket). */
int s3i_s3_get_bucket_inventory_configuration_op(const s3i_svc *svc, const char *bucket,
	const char *id, s3i_s3_inventory_config *out, s3i_buf *storage, s3i_errinfo *err);
/* DeleteBucketInventoryConfiguration. S3I_ENOTFOUND when there is no such configuration. */
int s3i_s3_delete_bucket_inventory_configuration_op(const s3i_svc *svc, const char *bucket,
	const char *id, s3i_errinfo *err);

/* Where a ListBucketInventoryConfigurations listing stands after a page. */
typedef struct s3i_s3_inventory_page {
	int truncated;             /* IsTruncated */
	s3i_buf next_token;        /* NextContinuationToken ("" when none) */
	int64_t configs;           /* configurations in the page */
} s3i_s3_inventory_page;

void s3i_s3_inventory_page_init(s3i_s3_inventory_page *page, const s3i_allocator *a);
void s3i_s3_inventory_page_free(s3i_s3_inventory_page *page);

/* Every page of ListBucketInventoryConfigurations (S3 answers at most 100 a page), each
 * configuration to fn (may be NULL). */
int s3i_s3_list_bucket_inventory_configurations_op(const s3i_svc *svc, const char *bucket,
	s3i_s3_inventory_fn fn, void *payload, s3i_errinfo *err);
/* One page from continuation_token (NULL or "": the first); page is reset first. */
int s3i_s3_list_bucket_inventory_configurations_page_op(const s3i_svc *svc, const char *bucket,
	const char *continuation_token, s3i_s3_inventory_fn fn, void *payload,
	s3i_s3_inventory_page *page, s3i_errinfo *err);

/* ------------------------------------------------------------------ notifications */

typedef enum s3i_s3_notification_kind {
	S3I_S3_NOTIFY_TOPIC = 1,              /* SNS: <TopicConfiguration><Topic> */
	S3I_S3_NOTIFY_QUEUE = 2,              /* SQS: <QueueConfiguration><Queue> */
	S3I_S3_NOTIFY_LAMBDA = 3              /* Lambda: <CloudFunctionConfiguration><CloudFunction> */
} s3i_s3_notification_kind;

#define S3I_S3_NOTIFY_MAX_EVENTS 64       /* events read back per configuration */

/* One topic, queue or Lambda configuration. Strings NULL or "" mean absent. */
typedef struct s3i_s3_notification {
	s3i_s3_notification_kind kind;
	const char *id;                       /* NULL or "": S3 assigns one */
	const char *arn;                      /* the topic, queue or function ARN; required */
	const char *const *events;            /* "s3:ObjectCreated:*", ...; at least one */
	size_t nevents;
	const char *prefix;                   /* key filter rule "prefix" */
	const char *suffix;                   /* key filter rule "suffix" */
} s3i_s3_notification;

typedef struct s3i_s3_notification_config {
	const s3i_s3_notification *items;
	size_t count;
	int eventbridge;                      /* <EventBridgeConfiguration/>: events to EventBridge */
	int skip_destination_validation;      /* x-amz-skip-destination-validation: true */
} s3i_s3_notification_config;

typedef int (*s3i_s3_notification_fn)(void *payload, const s3i_s3_notification *n);

/* The <NotificationConfiguration> request body, appended to out (topics, then queues, then
 * Lambda functions, then EventBridge, as the model orders them). S3I_EINVALID naming the
 * configuration and field for a missing ARN, no events, an empty event or an unknown kind. */
int s3i_s3_notification_xml(s3i_buf *out, const s3i_s3_notification_config *cfg,
	s3i_errinfo *err);

/* PutBucketNotificationConfiguration: replaces the whole configuration (an empty one removes
 * every notification). */
int s3i_s3_put_bucket_notification_configuration_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_notification_config *cfg, s3i_errinfo *err);
/* GetBucketNotificationConfiguration: each configuration to fn (may be NULL), in document
 * order; *eventbridge (may be NULL) says whether EventBridge delivery is on. */
int s3i_s3_get_bucket_notification_configuration_op(const s3i_svc *svc, const char *bucket,
	s3i_s3_notification_fn fn, void *payload, int *eventbridge, s3i_errinfo *err);

/* ------------------------------------------------------------------ bucket settings */

/* PutBucketPolicy: `policy` is the JSON text, checked to be a JSON object before sending. */
int s3i_s3_put_bucket_policy_op(const s3i_svc *svc, const char *bucket, const char *policy,
	s3i_errinfo *err);

typedef struct s3i_s3_public_access_block {
	int block_public_acls;
	int ignore_public_acls;
	int block_public_policy;
	int restrict_public_buckets;
} s3i_s3_public_access_block;

int s3i_s3_put_public_access_block_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_public_access_block *pab, s3i_errinfo *err);

/* Default encryption: SSE-S3 (AES256), or SSE-KMS with kms_key_id (NULL or "": the AWS
 * managed key) and optionally an S3 Bucket Key. */
typedef struct s3i_s3_bucket_encryption {
	int kms;                              /* 0: SSE-S3, 1: SSE-KMS */
	const char *kms_key_id;               /* KMSMasterKeyID, SSE-KMS only */
	int bucket_key;                       /* BucketKeyEnabled */
} s3i_s3_bucket_encryption;

int s3i_s3_put_bucket_encryption_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_bucket_encryption *enc, s3i_errinfo *err);

/* One lifecycle rule. Days 0 mean "no such action"; a rule needs at least one action. */
typedef struct s3i_s3_lifecycle_rule {
	const char *id;                       /* ID, at most 255 characters; NULL: S3 assigns one */
	const char *prefix;                   /* Filter/Prefix; NULL or "": the whole bucket */
	int enabled;                          /* Status Enabled / Disabled */
	int32_t expiration_days;              /* Expiration/Days */
	int32_t noncurrent_days;              /* NoncurrentVersionExpiration/NoncurrentDays */
	int32_t abort_multipart_days;         /* AbortIncompleteMultipartUpload/DaysAfterInitiation */
} s3i_s3_lifecycle_rule;

#define S3I_S3_LIFECYCLE_MAX_RULES 1000

/* PutBucketLifecycleConfiguration: replaces every rule (1..1000 rules). */
int s3i_s3_put_bucket_lifecycle_configuration_op(const s3i_svc *svc, const char *bucket,
	const s3i_s3_lifecycle_rule *rules, size_t count, s3i_errinfo *err);

typedef enum s3i_s3_versioning {
	S3I_S3_VERSIONING_ENABLED = 1,
	S3I_S3_VERSIONING_SUSPENDED = 2
} s3i_s3_versioning;

int s3i_s3_put_bucket_versioning_op(const s3i_svc *svc, const char *bucket,
	s3i_s3_versioning status, s3i_errinfo *err);

/* ------------------------------------------------------------------ response parsers
 * Exposed for the unit tests and the fuzzer. Each parses a whole response body; `what` names
 * the operation and bucket in messages. S3I_EPARSE for anything but the documented shape,
 * S3I_EUSER when a callback stopped, S3I_ENOMEM; an <Error> document maps to the status of its
 * code. Root element names are not checked (moto names some differently), except <Error>. */

/* ListAllMyBucketsResult. page (required) is reset and filled. A bucket without a Name, or
 * a CreationDate that is not an ISO 8601 time, is S3I_EPARSE. */
int s3i_s3_parse_list_buckets(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_bucket_fn fn, void *payload, s3i_s3_bucket_page *page,
	s3i_errinfo *err);
/* One <InventoryConfiguration> (GetBucketInventoryConfiguration): out's strings in storage
 * (cleared first). A configuration without an Id, or IsEnabled other than true/false, is
 * S3I_EPARSE; unknown enum values read as the *_UNKNOWN values. */
int s3i_s3_parse_inventory_config(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_inventory_config *out, s3i_buf *storage, s3i_errinfo *err);
/* ListInventoryConfigurationsResult. page (required) is reset and filled; a truncated page
 * without NextContinuationToken is S3I_EPARSE. */
int s3i_s3_parse_inventory_list(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_inventory_fn fn, void *payload, s3i_s3_inventory_page *page,
	s3i_errinfo *err);
/* NotificationConfiguration. A configuration without its ARN or with more than
 * S3I_S3_NOTIFY_MAX_EVENTS events is S3I_EPARSE. */
int s3i_s3_parse_notification_config(const s3i_allocator *a, const char *body, size_t len,
	const char *what, s3i_s3_notification_fn fn, void *payload, int *eventbridge,
	s3i_errinfo *err);

#endif
