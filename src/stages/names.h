/*
 * Resource names of a deployment and its runs (DESIGN §2), in one place so every stage,
 * template and test agrees. Each writer takes a buffer and its size and returns S3I_OK, or
 * S3I_EINVALID when an input is malformed or the name does not fit (a name that would be
 * truncated is never produced).
 */
#ifndef S3I_STAGES_NAMES_H
#define S3I_STAGES_NAMES_H

#include <stddef.h>
#include "core/errinfo.h"

/* D: 4-15 characters [a-z0-9]. err names the deployment and says what is wrong. */
int s3i_names_check_deployment(const char *d, s3i_errinfo *err);
/* R: 1-8 characters [a-z0-9]; uppercase gets its own message (it ends up in bucket names). */
int s3i_names_check_run_id(const char *r, s3i_errinfo *err);
/* A 12-digit account id. */
int s3i_names_check_account(const char *account, s3i_errinfo *err);

int s3i_names_state_table(char *out, size_t cap, const char *d);          /* D_configuration_table */
int s3i_names_consolidated_bucket(char *out, size_t cap, const char *d, const char *host_account);
int s3i_names_queue(char *out, size_t cap, const char *d);                /* D-sqs-consolidate-inventory-files */
int s3i_names_dlq(char *out, size_t cap, const char *d);                  /* D-sqs-dlq */
int s3i_names_cross_account_role(char *out, size_t cap, const char *d);   /* D-cross-account-iam-role */
int s3i_names_stack(char *out, size_t cap, const char *d, const char *r);  /* D-R-stack-dest-resources */
int s3i_names_staging_bucket(char *out, size_t cap, const char *d, const char *r,
	const char *host_account, const char *region);                    /* D-R-dest-<acct>-<region> */
int s3i_names_topic(char *out, size_t cap, const char *d, const char *r);  /* D-R-sns-notification-topic */
int s3i_names_inventory_id(char *out, size_t cap, const char *d, const char *r); /* D-R-s3-inventory */
/* inventory/R/account=<id>/region=<r>/bucketname=<b>/ */
int s3i_names_partition_prefix(char *out, size_t cap, const char *r, const char *account,
	const char *region, const char *bucket);
/* athena/R/ */
int s3i_names_query_prefix(char *out, size_t cap, const char *r);

/* Whether a bucket of the host account belongs to the pipeline (the consolidated bucket or
 * any D-*-dest-* staging bucket) and must never be inventoried. */
int s3i_names_is_pipeline_bucket(const char *bucket, const char *d, const char *host_account);

#endif
