/*
 * AWS STS (query protocol, API version 2011-06-15, XML answers): who the credentials belong to
 * (GetCallerIdentity), and assumed roles in other accounts handed out from a cache of
 * credential providers, one per distinct (role ARN, session name, external id, duration).
 *
 * AssumeRole itself lives in the credential providers (aws/credentials.h,
 * s3i_credprov_new_assume_role): each provider caches its credentials and refreshes them
 * before they expire (15 minutes ahead, or a quarter of their lifetime when that is shorter),
 * one thread refreshing while the others use the still-valid copy. The cache here only makes
 * sure that every caller asking for the same role shares one provider, so a run over many
 * buckets of one member account assumes its role once per credential lifetime, not once per
 * call.
 *
 * Errors (besides the client's, see aws/client.h and aws/protocol.h):
 *  - AccessDenied from AssumeRole (the role does not trust us, the external id is wrong, the
 *    role does not exist on AWS) -> S3I_EAUTH, the message and resource naming the role ARN;
 *  - ExpiredToken / InvalidClientTokenId (our own credentials) -> S3I_EAUTH;
 *  - throttling and 5xx are retried (by the client, or for AssumeRole by the provider).
 * Responses that do not have the documented shape fail with S3I_EPARSE.
 * Every function may be called from any thread; `err` may be NULL (the thread's error only).
 */
#ifndef S3I_SERVICES_STS_H
#define S3I_SERVICES_STS_H

#include <stddef.h>
#include <stdint.h>
#include "aws/credentials.h"
#include "services/svc.h"

struct s3i_ctx;

extern const s3i_service s3i_svc_sts;

#define S3I_STS_ACCOUNT_SIZE 16
#define S3I_STS_ARN_SIZE 2048           /* arnType: at most 2048 characters */
#define S3I_STS_USER_ID_SIZE 256

/* ---- GetCallerIdentity ---- */

typedef struct s3i_sts_identity {
	char account[S3I_STS_ACCOUNT_SIZE];  /* "123456789012" */
	char arn[S3I_STS_ARN_SIZE];          /* "arn:aws:sts::123456789012:assumed-role/X/session" */
	char user_id[S3I_STS_USER_ID_SIZE];  /* "AIDA..." or "AROA...:session" */
} s3i_sts_identity;

/* GetCallerIdentity with svc's credentials (an assumed role's provider reports the other
 * account). `out` is zeroed first. */
int s3i_sts_get_caller_identity_op(const s3i_svc *svc, s3i_sts_identity *out, s3i_errinfo *err);

/* Parse a GetCallerIdentity response. Account and Arn must be there and fit; UserId may be
 * absent (""). `out` is zeroed first and stays zeroed on failure. */
int s3i_sts_caller_identity_parse(const s3i_allocator *a, const char *body, size_t len,
	s3i_sts_identity *out, s3i_errinfo *err);

/* ---- role ARNs ---- */

/* The partition of a region: "aws-cn" for cn-*, "aws-us-gov" for us-gov-*, "aws-iso" for
 * us-iso-*, "aws-iso-b" for us-isob-*, "aws-iso-f" for us-isof-*, "aws-iso-e" for eu-isoe-*,
 * "aws" for everything else (NULL included). */
const char *s3i_sts_partition_of_region(const char *region);

/* "arn:<partition>:iam::<account>:role/<name>" into out (cap bytes). partition NULL: "aws".
 * account: 12 digits. name: a role name ([A-Za-z0-9+=,.@_-], 1 to 64 characters), optionally
 * after a path ("service-role/name": segments of the same characters, no empty one).
 * S3I_EINVALID naming the account or the role name; out is "" then. */
int s3i_sts_role_arn(char *out, size_t cap, const char *partition, const char *account,
	const char *name, s3i_errinfo *err);

/* ---- the role-credentials cache ---- */

typedef struct s3i_sts_role_cache s3i_sts_role_cache;

/* What a role is assumed with. Strings are copied by the cache. */
typedef struct s3i_sts_role {
	const char *role_arn;       /* required: arn:<partition>:iam::<account>:role/<name> */
	const char *session_name;   /* RoleSessionName, 2-64 of [\w+=,.@-]; NULL: "s3insights-<epoch>" */
	const char *external_id;    /* ExternalId, 2-1224 of [\w+=,.@:/-]; NULL: none */
	int32_t duration_s;         /* DurationSeconds, 900-43200; 0: 3600 */
} s3i_sts_role;

/* A cache whose providers call STS as `env` says (its pointers are borrowed and must outlive
 * the cache; its strings are copied) and sign AssumeRole with `source` (a reference is taken). */
int s3i_sts_role_cache_new(s3i_sts_role_cache **out, const s3i_credprov_env *env,
	s3i_credprov *source, s3i_errinfo *err);

/* The same for a context: its allocator, HTTP pool, region, endpoint, profiles, logger, clock
 * hooks and credentials. The cache holds a reference on ctx. */
int s3i_sts_role_cache_new_ctx(s3i_sts_role_cache **out, struct s3i_ctx *ctx, s3i_errinfo *err);

/* NULL is a no-op. Providers handed out stay valid for as long as their holders keep them. */
void s3i_sts_role_cache_free(s3i_sts_role_cache *cache);

/* The provider for `role` (a new reference: s3i_credprov_release it). The first request for a
 * role creates its provider and fetches credentials at once, so a role we may not assume
 * fails here (S3I_EAUTH naming the role ARN) and is not cached: a later request tries again.
 * Later requests return the cached provider, which refreshes by itself near expiry.
 * S3I_EINVALID for a missing or malformed role ARN, session name, external id or duration. */
int s3i_sts_role_cache_get(s3i_sts_role_cache *cache, const s3i_sts_role *role,
	s3i_credprov **out, s3i_errinfo *err);

/* How many distinct roles the cache holds. */
size_t s3i_sts_role_cache_size(s3i_sts_role_cache *cache);

#endif
