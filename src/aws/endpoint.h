/*
 * Endpoints and regions, as the AWS SDKs define them.
 *  - standard endpoints: https://<prefix>.<region>.<dnsSuffix> (amazonaws.com, amazonaws.com.cn
 *    for cn-*), with the SES prefix "email";
 *  - overrides: AWS_ENDPOINT_URL_<SERVICE> (service id upper-cased, spaces as '_'), then
 *    AWS_ENDPOINT_URL, then the profile's `endpoint_url` / services section; unless
 *    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true;
 *  - region: explicit, AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`.
 *  - S3 addressing: path-style for custom endpoints, dotted bucket names and non-DNS names;
 *    virtual-hosted otherwise.
 */
#ifndef S3I_AWS_ENDPOINT_H
#define S3I_AWS_ENDPOINT_H

#include "core/buf.h"
#include "core/errinfo.h"
#include "aws/config_file.h"

typedef struct s3i_endpoint {
	char base[512];      /* scheme://host[:port][/base-path], no trailing slash */
	char host[256];      /* host[:port] as it goes in the Host header */
	int is_custom;       /* an override was used */
	int is_https;
	char signing_region[32];  /* global services: the region to sign in; "" for the call's */
} s3i_endpoint;

/* service_id: "s3", "sts", "dynamodb", "sqs", "sns", "cloudformation", "athena", "email"
 * (SES), "organizations". `explicit_url` (the context option) wins over the environment.
 * `profiles` may be NULL. */
int s3i_endpoint_resolve(s3i_endpoint *out, const char *service_id, const char *region,
	const char *explicit_url, const s3i_profile_set *profiles, const char *profile,
	s3i_errinfo *err);

/* Global services (IAM, Organizations) have one endpoint per partition and sign in that
 * partition's region (botocore's credentialScope): IAM in us-east-1 (aws), cn-north-1
 * (aws-cn), us-gov-west-1 (aws-us-gov); Organizations in us-east-1, cn-northwest-1,
 * us-gov-west-1. NULL for a regional service. */
const char *s3i_endpoint_global_region(const char *service_id, const char *region);

/* Region in effect: explicit, AWS_REGION, AWS_DEFAULT_REGION, profile `region`; NULL if none. */
const char *s3i_region_resolve(const char *explicit_region, const s3i_profile_set *profiles,
	const char *profile);

int s3i_region_is_valid(const char *region);   /* [a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9] */

/* Whether a bucket name can be used in a virtual-hosted URL. */
int s3i_s3_bucket_is_dns_compatible(const char *bucket);

/* Build the S3 URL for bucket (may be NULL) and key (raw, may be NULL) on `ep`:
 * out_url gets the full URL without query; out_path gets the wire path (percent-encoded,
 * '/' kept) used for signing; out_host the Host header value. */
int s3i_s3_url(const s3i_endpoint *ep, const char *bucket, const char *key, int force_path_style,
	s3i_buf *out_url, s3i_buf *out_path, s3i_buf *out_host);

#endif
