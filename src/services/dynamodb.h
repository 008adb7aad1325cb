/*
 * Amazon DynamoDB operations (JSON 1.0), with typed requests and results built on the
 * attribute-value API of services/ddb_value.h: no caller writes DynamoDB JSON.
 *
 * Errors (besides the client's, see aws/client.h and aws/protocol.h):
 *  - ConditionalCheckFailedException -> S3I_ECONFLICT, the message naming the table and the
 *    key ("PutItem on table 't': the condition failed for key {partitionkey="a", ...}");
 *  - TransactionCanceledException -> S3I_ECONFLICT, the message listing every reason code;
 *  - ResourceNotFoundException -> S3I_ENOTFOUND, the message naming the table;
 *  - ResourceInUseException -> S3I_EEXISTS from CreateTable ("table 't' already exists");
 *    from DeleteTable it means the table is being created or updated: S3I_ECONFLICT;
 *  - ValidationException -> S3I_EINVALID;
 *  - throttling (ProvisionedThroughputExceededException, ThrottlingException,
 *    RequestLimitExceeded) is retried by the client; when retries run out: S3I_ETHROTTLED.
 * err->pub.resource is "table 't'". A response whose x-amz-crc32 does not match its body
 * fails with S3I_ECHECKSUM (reads are tried once more first). Responses that do not have the
 * documented shape fail with S3I_EPARSE.
 *
 * Large results (Query, Scan) come one item at a time through a callback, one page in memory
 * at a time. Items handed to callbacks are borrowed for the duration of the call.
 * Every function may be called from any thread; `err` may be NULL (the thread's error only).
 */
#ifndef S3I_SERVICES_DYNAMODB_H
#define S3I_SERVICES_DYNAMODB_H

#include <stddef.h>
#include <stdint.h>
#include "services/ddb_value.h"
#include "services/svc.h"

extern const s3i_service s3i_svc_dynamodb;

/* ---- tables ---- */

typedef struct s3i_ddb_tag {
	const char *key;
	const char *value;
} s3i_ddb_tag;

/* CreateTable, on demand (PAY_PER_REQUEST), key partition_key (HASH, S) and, when sort_key is
 * not NULL, sort_key (RANGE, S); NULL partition_key: "partitionkey". tags may be NULL.
 * Returns once AWS accepted it (the table may still be CREATING: see
 * s3i_ddb_wait_table_active_op). S3I_EEXISTS when a table of that name exists. */
int s3i_ddb_create_table_op(const s3i_svc *svc, const char *table, const char *partition_key,
	const char *sort_key, const s3i_ddb_tag *tags, size_t ntags, s3i_errinfo *err);

typedef struct s3i_ddb_table_info {
	char name[256];
	char status[32];           /* CREATING, UPDATING, DELETING, ACTIVE, ARCHIVING, ... */
	char arn[512];
	char billing_mode[32];     /* PAY_PER_REQUEST or PROVISIONED ("" when not said) */
	char partition_key[256];
	char sort_key[256];        /* "" without one */
	int64_t item_count;        /* -1 when not said (AWS updates it about every 6 hours) */
	int64_t size_bytes;        /* -1 when not said */
	int64_t created_ms;        /* 0 when not said */
} s3i_ddb_table_info;

/* DescribeTable. S3I_ENOTFOUND when the table does not exist. */
int s3i_ddb_describe_table_op(const s3i_svc *svc, const char *table, s3i_ddb_table_info *out,
	s3i_errinfo *err);
/* DeleteTable (returns while the table is DELETING). S3I_ENOTFOUND when it does not exist. */
int s3i_ddb_delete_table_op(const s3i_svc *svc, const char *table, s3i_errinfo *err);
/* Poll DescribeTable until the table is ACTIVE (botocore's TableExists waiter: a table not
 * found yet is waited for), or until it is gone (TableNotExists). The interval starts at
 * 100 ms and doubles up to 5 s; the deadline follows the client's clock (s3i_client_now_ms)
 * and, should that be pinned, the time slept. Sleeps block the calling thread (nanosleep; a
 * client does not expose the context's sleep hook). S3I_ETIMEOUT naming the table and its last
 * status when timeout_ms (> 0) passes; other errors as they come. */
int s3i_ddb_wait_table_active_op(const s3i_svc *svc, const char *table, int64_t timeout_ms,
	s3i_errinfo *err);
int s3i_ddb_wait_table_deleted_op(const s3i_svc *svc, const char *table, int64_t timeout_ms,
	s3i_errinfo *err);

/* ---- single items ---- */

typedef enum s3i_ddb_return {
	S3I_DDB_RETURN_NONE = 0,
	S3I_DDB_RETURN_ALL_OLD = 1,
	S3I_DDB_RETURN_ALL_NEW = 2,
	S3I_DDB_RETURN_UPDATED_OLD = 3,
	S3I_DDB_RETURN_UPDATED_NEW = 4
} s3i_ddb_return;

/* Options of PutItem, UpdateItem and DeleteItem. Zero-initialise; everything is optional
 * except `update` for UpdateItem. names maps "#n" placeholders to attribute names (S values
 * only); values maps ":v" placeholders to values. */
typedef struct s3i_ddb_write_opts {
	const char *condition;               /* ConditionExpression */
	const char *update;                  /* UpdateExpression (UpdateItem only) */
	const s3i_ddb_item *names;           /* ExpressionAttributeNames */
	const s3i_ddb_item *values;          /* ExpressionAttributeValues */
	s3i_ddb_return return_values;        /* ReturnValues (Put/Delete: NONE or ALL_OLD) */
	int return_old_on_condition_failure; /* ReturnValuesOnConditionCheckFailure=ALL_OLD */
} s3i_ddb_write_opts;

/* PutItem / UpdateItem / DeleteItem. opts may be NULL (unconditional, nothing returned).
 * out may be NULL; otherwise *out receives (caller frees with s3i_ddb_item_free):
 *  - on S3I_OK: the Attributes ReturnValues asked for, or NULL when none came back;
 *  - on S3I_ECONFLICT with return_old_on_condition_failure: the item as it was, or NULL when
 *    there was none;
 *  - otherwise NULL.
 * The item/key is copied into the request; the caller keeps ownership. The message of a
 * failed condition names the key: for PutItem the item's "partitionkey" and "sortkey" when it
 * has them, else its first two attributes. */
int s3i_ddb_put_item_op(const s3i_svc *svc, const char *table, const s3i_ddb_item *item,
	const s3i_ddb_write_opts *opts, s3i_ddb_item **out, s3i_errinfo *err);
int s3i_ddb_update_item_op(const s3i_svc *svc, const char *table, const s3i_ddb_item *key,
	const s3i_ddb_write_opts *opts, s3i_ddb_item **out, s3i_errinfo *err);
int s3i_ddb_delete_item_op(const s3i_svc *svc, const char *table, const s3i_ddb_item *key,
	const s3i_ddb_write_opts *opts, s3i_ddb_item **out, s3i_errinfo *err);

typedef struct s3i_ddb_get_opts {
	int consistent_read;                 /* ConsistentRead */
	const char *projection;              /* ProjectionExpression */
	const s3i_ddb_item *names;           /* ExpressionAttributeNames */
} s3i_ddb_get_opts;

/* GetItem. S3I_OK with *out the item (caller frees), or *out NULL when there is no such item.
 * opts may be NULL. */
int s3i_ddb_get_item_op(const s3i_svc *svc, const char *table, const s3i_ddb_item *key,
	const s3i_ddb_get_opts *opts, s3i_ddb_item **out, s3i_errinfo *err);

/* ---- Query and Scan ---- */

/* Return 0 to go on, anything else to stop (the operation then fails with S3I_EUSER). */
typedef int (*s3i_ddb_item_fn)(void *payload, const s3i_ddb_item *item);

typedef struct s3i_ddb_query {
	const char *table;
	const char *index;                   /* IndexName */
	const char *key_condition;           /* KeyConditionExpression (Query: required) */
	const char *filter;                  /* FilterExpression */
	const char *projection;              /* ProjectionExpression */
	const s3i_ddb_item *names;           /* ExpressionAttributeNames */
	const s3i_ddb_item *values;          /* ExpressionAttributeValues */
	int32_t limit;                       /* Limit: items evaluated per page; 0: DynamoDB's */
	int consistent_read;
	int backward;                        /* Query: ScanIndexForward=false */
	int32_t segment, total_segments;     /* Scan: parallel segment (total 0: none) */
	const s3i_ddb_item *start_key;       /* ExclusiveStartKey to resume from; NULL: start */
} s3i_ddb_query;

typedef struct s3i_ddb_page_stats {
	int64_t count;                       /* items handed to the callback */
	int64_t scanned;                     /* ScannedCount summed */
	int64_t pages;
} s3i_ddb_page_stats;

/* Every page until LastEvaluatedKey is absent; fn sees each item once. stats may be NULL;
 * it is zeroed first and filled also on failure, with what was seen. S3I_ENOTFOUND names the
 * table (and the index when one was given). */
int s3i_ddb_query_op(const s3i_svc *svc, const s3i_ddb_query *q, s3i_ddb_item_fn fn,
	void *payload, s3i_ddb_page_stats *stats, s3i_errinfo *err);
int s3i_ddb_scan_op(const s3i_svc *svc, const s3i_ddb_query *q, s3i_ddb_item_fn fn,
	void *payload, s3i_ddb_page_stats *stats, s3i_errinfo *err);
/* One page only, for resumable work: *last_key receives LastEvaluatedKey (caller frees), NULL
 * on the last page; pass it back as start_key. The page's numbers are added to stats. */
int s3i_ddb_query_page_op(const s3i_svc *svc, const s3i_ddb_query *q, s3i_ddb_item_fn fn,
	void *payload, s3i_ddb_item **last_key, s3i_ddb_page_stats *stats, s3i_errinfo *err);
int s3i_ddb_scan_page_op(const s3i_svc *svc, const s3i_ddb_query *q, s3i_ddb_item_fn fn,
	void *payload, s3i_ddb_item **last_key, s3i_ddb_page_stats *stats, s3i_errinfo *err);

/* Parse a Query/Scan response body: each of Items to fn, LastEvaluatedKey into *last_key
 * (may be NULL), Count/ScannedCount added to stats (may be NULL). S3I_EPARSE for anything
 * but the documented shape (naming `what` and the item index), S3I_EUSER when fn stopped,
 * S3I_ENOMEM. Exposed for the fuzzer. */
int s3i_ddb_page_parse(const s3i_allocator *a, const char *body, size_t len, const char *what,
	s3i_ddb_item_fn fn, void *payload, s3i_ddb_item **last_key, s3i_ddb_page_stats *stats,
	s3i_errinfo *err);

/* ---- batches and transactions ---- */

typedef struct s3i_ddb_write_request {
	const char *table;
	const s3i_ddb_item *put;             /* PutRequest.Item, or */
	const s3i_ddb_item *delete_key;      /* DeleteRequest.Key: exactly one of the two */
} s3i_ddb_write_request;

typedef struct s3i_ddb_batch_opts {
	int32_t max_rounds;                  /* sends of a chunk's leftovers; 0: 8 */
	int64_t base_delay_ms;               /* backoff base; 0: S3I_RETRY_BASE_MS or 50 */
	int64_t max_delay_ms;                /* backoff cap; 0: 5000 */
} s3i_ddb_batch_opts;

/* BatchWriteItem in chunks of 25, in order. UnprocessedItems are sent again (exactly those)
 * after a delay drawn uniformly from [0, min(max, base * 2^round)] (full jitter), up to
 * max_rounds times per chunk; what is then still unprocessed fails the call with
 * S3I_ETHROTTLED naming how many items were left and in which tables. Not atomic: when a chunk
 * fails, earlier chunks stay written. opts may be NULL. */
int s3i_ddb_batch_write_op(const s3i_svc *svc, const s3i_ddb_write_request *reqs, size_t n,
	const s3i_ddb_batch_opts *opts, s3i_errinfo *err);

typedef enum s3i_ddb_tx_kind {
	S3I_DDB_TX_PUT = 1,
	S3I_DDB_TX_UPDATE = 2,
	S3I_DDB_TX_DELETE = 3,
	S3I_DDB_TX_CHECK = 4                 /* ConditionCheck */
} s3i_ddb_tx_kind;

typedef struct s3i_ddb_tx_item {
	s3i_ddb_tx_kind kind;
	const char *table;
	const s3i_ddb_item *item;            /* PUT: the item; the others: the key */
	const char *update;                  /* UPDATE: UpdateExpression */
	const char *condition;               /* ConditionExpression (CHECK: required) */
	const s3i_ddb_item *names;
	const s3i_ddb_item *values;
	int return_old_on_condition_failure;
} s3i_ddb_tx_item;

#define S3I_DDB_TX_MAX 100

typedef struct s3i_ddb_cancel_reason {
	char code[64];                       /* "None", "ConditionalCheckFailed", ... */
	char message[256];                   /* "" when none */
	s3i_ddb_item *item;                  /* the old item when asked for and given; else NULL */
} s3i_ddb_cancel_reason;

/* Per-item outcome of a cancelled transaction. Zero-initialise, or s3i_ddb_tx_result_init. */
typedef struct s3i_ddb_tx_result {
	size_t count;                        /* 0 unless cancelled with reasons */
	s3i_ddb_cancel_reason *reasons;      /* count entries, in the order of the items */
	const s3i_allocator *alloc;
} s3i_ddb_tx_result;

void s3i_ddb_tx_result_init(s3i_ddb_tx_result *r);
void s3i_ddb_tx_result_free(s3i_ddb_tx_result *r);   /* leaves it empty and reusable */

/* TransactWriteItems of 1..100 items. client_token NULL: a random one (the SDKs do the same),
 * so the client's own retries are idempotent. On TransactionCanceledException: S3I_ECONFLICT,
 * the message listing the reason codes and result (may be NULL) holding them. result is
 * emptied first. */
int s3i_ddb_transact_write_op(const s3i_svc *svc, const s3i_ddb_tx_item *items, size_t n,
	const char *client_token, s3i_ddb_tx_result *result, s3i_errinfo *err);

#endif
