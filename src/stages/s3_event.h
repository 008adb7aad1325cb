/*
 * S3 event notifications as the ingest stage receives them from the central queue
 * (DESIGN §4.3, s3-inventory-format.md §9-§10), and the keys of an S3 Inventory delivery
 * (s3-inventory-format.md §1).
 *
 * An SQS message body is one of:
 *  - an S3 event notification, {"Records": [...]} (raw delivery, or S3 -> SQS directly);
 *  - S3's test message, {"Service": "Amazon S3", "Event": "s3:TestEvent", ...};
 *  - either of these as the "Message" string of an SNS envelope ({"Type": "Notification",
 *    "TopicArn": ..., "Message": "..."}), SNS -> SQS without raw delivery;
 *  - another SNS message type (SubscriptionConfirmation, UnsubscribeConfirmation): not an
 *    event; reported as S3I_S3_EVENT_OTHER so the caller can drop it.
 * Object keys arrive URL-encoded form-style ('+' is a space, "%2F" a slash); the parser
 * decodes them.
 */
#ifndef S3I_STAGES_S3_EVENT_H
#define S3I_STAGES_S3_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include "s3insights/alloc.h"
#include "core/buf.h"
#include "core/errinfo.h"

typedef enum s3i_s3_event_kind {
	S3I_S3_EVENT_RECORDS = 0,    /* records[0..n_records) */
	S3I_S3_EVENT_TEST = 1,       /* s3:TestEvent: skip it */
	S3I_S3_EVENT_OTHER = 2       /* an SNS message that is no notification: skip it */
} s3i_s3_event_kind;

typedef struct s3i_s3_event_record {
	const char *event_name;      /* "ObjectCreated:Put" (an "s3:" prefix is removed) */
	const char *event_time;      /* as sent ("2024-01-01T00:00:00.000Z"); "" when absent */
	const char *region;          /* awsRegion; "" when absent */
	const char *bucket;          /* s3.bucket.name */
	const char *key;             /* s3.object.key, decoded */
	size_t key_len;              /* strlen(key) */
	int64_t size;                /* s3.object.size; -1 when absent (removals) */
	const char *etag;            /* s3.object.eTag without quotes; "" when absent */
	const char *version_id;      /* "" when absent */
	const char *sequencer;       /* "" when absent */
} s3i_s3_event_record;

typedef struct s3i_s3_event {
	s3i_s3_event_kind kind;
	int via_sns;                 /* it came inside an SNS envelope */
	const char *topic_arn;       /* the envelope's TopicArn; "" without one */
	const char *sns_type;        /* the envelope's Type ("Notification"); "" without one */
	const char *test_bucket;     /* S3I_S3_EVENT_TEST: its "Bucket"; "" when absent */
	size_t n_records;
	s3i_s3_event_record *records;
	/* private */
	const s3i_allocator *alloc;
	char *strings;               /* one block holding every string above */
} s3i_s3_event;

/* Parse an SQS message body. S3I_OK with *out filled (dispose it); S3I_EPARSE naming the
 * field at fault ("Records[1].s3.object.key is missing", "Records[0].eventVersion \"3.0\"
 * is not a supported S3 event version (2.x)"); S3I_ENOMEM. On failure *out is empty (safe to
 * dispose). `a` NULL: the default allocator. Messages never quote more than a short piece of
 * the input. */
int s3i_s3_event_parse(s3i_s3_event *out, const char *body, size_t len, const s3i_allocator *a,
	s3i_errinfo *err);
void s3i_s3_event_dispose(s3i_s3_event *ev);

/* Whether a record reports an object created, by any means ("ObjectCreated:Put", ":Post",
 * ":Copy", ":CompleteMultipartUpload", ...). */
int s3i_s3_event_is_created(const s3i_s3_event_record *r);

/* ---- inventory delivery keys ---- */

typedef enum s3i_inventory_key_kind {
	S3I_INVKEY_OTHER = 0,             /* not part of an inventory delivery */
	S3I_INVKEY_MANIFEST_CHECKSUM = 1, /* <p>/<src>/<id>/<YYYY-MM-DDTHH-MMZ>/manifest.checksum */
	S3I_INVKEY_MANIFEST_JSON = 2,     /* <p>/<src>/<id>/<YYYY-MM-DDTHH-MMZ>/manifest.json */
	S3I_INVKEY_DATA = 3,              /* <p>/<src>/<id>/data/<name> */
	S3I_INVKEY_SYMLINK = 4            /* <p>/<src>/<id>/hive/dt=<YYYY-MM-DD-HH-MM>/symlink.txt */
} s3i_inventory_key_kind;

/* A piece of the key: key + off, len bytes. len 0: absent. */
typedef struct s3i_key_span {
	size_t off;
	size_t len;
} s3i_key_span;

typedef struct s3i_inventory_key {
	s3i_inventory_key_kind kind;
	s3i_key_span prefix;         /* the destination prefix (may hold '/'; may be empty) */
	s3i_key_span account;        /* when the prefix is <12-digit account>/<region> (our layout) */
	s3i_key_span region;
	s3i_key_span source_bucket;
	s3i_key_span config_id;
	s3i_key_span timestamp;      /* "2016-11-06T21-32Z" (manifests), "2016-11-06-21-32" (hive) */
	s3i_key_span folder;         /* everything up to and including the last '/' */
	s3i_key_span name;           /* the last segment */
} s3i_inventory_key;

/* Classify a (decoded) key and find its parts. Anything that is not laid out as S3
 * Inventory writes is S3I_INVKEY_OTHER with every span empty. Never fails. */
void s3i_inventory_key_parse(const char *key, size_t len, s3i_inventory_key *out);

/* Copy a span of key into out (cap bytes with the NUL); S3I_EINVALID when it does not fit
 * (out is then ""). */
int s3i_key_span_copy(const char *key, s3i_key_span sp, char *out, size_t cap);

/* The key of `name` in the same folder as `key` ("…/manifest.checksum" -> "…/manifest.json"),
 * appended to out. */
int s3i_inventory_sibling_key(s3i_buf *out, const char *key, size_t len, const char *name);

#endif
