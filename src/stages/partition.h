/*
 * The partition code shared by the ingest stage (which partitions a manifest as soon as it is
 * verified) and the partition stage (which finishes claimed manifests from the state table):
 * reading and verifying a delivery's manifest, putting its data files into the consolidated
 * layout, counting each exactly once, and completing the bucket.
 *
 * Failures come in two kinds:
 *  - final for the bucket (a data file that does not match its manifest, a corrupt data file,
 *    a file the manifest lists that does not exist, a schema that cannot be rewritten): the
 *    bucket is marked `failed` with the message and the call returns S3I_OK with the outcome
 *    S3I_PART_FAILED;
 *  - anything that may pass (network, throttling, a missing consolidated bucket): the call
 *    returns the error and the caller tries again later (nothing is counted twice).
 */
#ifndef S3I_STAGES_PARTITION_H
#define S3I_STAGES_PARTITION_H

#include <stdint.h>
#include "s3insights/run.h"
#include "core/errinfo.h"
#include "stages/manifest.h"

#define S3I_PART_DEFAULT_CONCURRENCY 8
#define S3I_PART_MAX_CONCURRENCY 64
#define S3I_PART_DEFAULT_MANIFEST_WAIT_MS 10000

typedef struct s3i_part_cfg {
	int32_t concurrency;          /* 0: the default */
	int64_t copy_threshold;       /* 0: 5 GiB */
	/* Called before each batch of files (may be NULL): ingest keeps its message hidden. */
	void (*heartbeat)(void *user);
	void *heartbeat_user;
} s3i_part_cfg;

typedef struct s3i_part_stats {
	int64_t copied;
	int64_t rewritten;
	int64_t already;              /* found counted before */
	int64_t buckets_done;
	int64_t buckets_failed;
} s3i_part_stats;

/* Which source bucket a manifest belongs to, and where it lies. */
typedef struct s3i_part_target {
	const char *account;          /* the source bucket's account */
	const char *region;           /* the source bucket's region = the staging bucket's */
	const char *bucket;           /* the source bucket */
	const char *staging_bucket;
	const char *manifest_key;     /* the manifest.json key in the staging bucket */
} s3i_part_target;

typedef enum s3i_part_outcome {
	S3I_PART_COMPLETE = 0,        /* every file counted; the bucket is done */
	S3I_PART_UNFINISHED = 1,      /* the deadline came first; files are left */
	S3I_PART_FAILED = 2           /* the bucket was marked failed (reason recorded) */
} s3i_part_outcome;

/*
 * Read manifest.json at manifest_key in the staging bucket (region: its region) and the
 * manifest.checksum beside it, waiting up to wait_ms (bounded by deadline_ms, 0: none) while
 * either is not readable yet; check the MD5 and parse. *out must be disposed (also on failure).
 * S3I_ECHECKSUM: the checksum does not match; S3I_EPARSE: the manifest or the checksum cannot
 * be read; S3I_ENOTFOUND: still missing after the wait; other statuses as the service's.
 */
int s3i_part_fetch_manifest(s3i_deployment *d, const char *region, const char *staging_bucket,
	const char *manifest_key, int64_t wait_ms, int64_t deadline_ms, s3i_manifest *out,
	s3i_errinfo *err);

/*
 * Put every data file of the claimed manifest m that is not counted yet into the consolidated
 * layout, verify and count it, then complete the bucket (s3i_part_complete_bucket). Stops
 * before a file when deadline_ms (0: none) is near: *outcome S3I_PART_UNFINISHED.
 * stats may be NULL.
 */
int s3i_part_manifest(s3i_run *run, const s3i_part_target *t, const s3i_manifest *m,
	const s3i_part_cfg *cfg, int64_t deadline_ms, s3i_part_outcome *outcome,
	s3i_part_stats *stats, s3i_errinfo *err);

/*
 * Mark the bucket done when every file of its manifest is counted; then remove its inventory
 * configuration (as the bucket's account) and clear inventory_configured. A configuration that
 * cannot be removed is logged and left for teardown (the bucket stays done). *done (may be
 * NULL) says whether the bucket is done.
 */
int s3i_part_complete_bucket(s3i_run *run, const char *account, const char *region,
	const char *bucket, int *done, s3i_errinfo *err);

/* Mark a bucket failed with reason (a terminal status already there stays). */
int s3i_part_fail_bucket(s3i_run *run, const char *account, const char *bucket,
	const char *reason, s3i_errinfo *err);

/* The consolidated key of a data file: inventory/R/account=/region=/bucketname=/<file name>. */
int s3i_part_dest_key(char *out, size_t cap, const char *run_id, const char *account,
	const char *region, const char *bucket, const char *data_key);

#endif
