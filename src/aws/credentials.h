/*
 * Credentials and botocore's default provider chain (DESIGN §6), in botocore's order:
 *   explicit (context options) -> environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *   AWS_SESSION_TOKEN or the legacy AWS_SECURITY_TOKEN; skipped when a profile is chosen
 *   explicitly, as botocore does) -> assume-role profiles (role_arn with source_profile
 *   [chained, loops refused] or credential_source Environment / Ec2InstanceMetadata /
 *   EcsContainer; external_id, role_session_name, duration_seconds; mfa_serial is refused) ->
 *   web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME], or the
 *   profile's web_identity_token_file + role_arn) -> shared credentials file ->
 *   credential_process -> config file -> container credentials
 *   (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE])
 *   -> IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED).
 * botocore's ProfileProviderBuilder runs credential_process before the config file's static
 * keys; we follow it (it only matters for a profile that has both).
 * A source that is configured but fails (STS refuses, the process exits non-zero, the
 * container endpoint errs) ends the search with its error; an unreachable instance metadata
 * service counts as "no credentials", as in botocore.
 *
 * A provider is reference-counted and thread-safe: it caches what it fetched and refreshes
 * 15 minutes before expiry (botocore's advisory window; a quarter of the lifetime when that is
 * shorter), with one thread refreshing while the others keep the still-valid copy. A failed
 * refresh keeps still-valid credentials (WARN) and is retried after 30 s. Details in
 * credentials_internal.h.
 */
#ifndef S3I_AWS_CREDENTIALS_H
#define S3I_AWS_CREDENTIALS_H

#include <stdint.h>
#include "s3insights/alloc.h"
#include "s3insights/sys/io.h"
#include "core/errinfo.h"
#include "core/log.h"

struct s3i_http;
struct s3i_profile_set;

typedef struct s3i_credentials {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;      /* NULL when none */
	int64_t expiration_ms;    /* 0: does not expire */
	char source[32];          /* "explicit", "env", "assume-role", "web-identity", "shared-file",
	                             "config-file", "process", "container", "imds", "static" */
	char account_id[16];      /* when the source says (assume-role, process), else "" */
	const s3i_allocator *alloc;
} s3i_credentials;

void s3i_credentials_init(s3i_credentials *c, const s3i_allocator *a);
void s3i_credentials_free(s3i_credentials *c);           /* wipes the secrets */
/* dst is overwritten without being freed (it may be uninitialised) and takes src's allocator. */
int s3i_credentials_copy(s3i_credentials *dst, const s3i_credentials *src);

typedef struct s3i_credprov s3i_credprov;

/* What the chain needs from its surroundings. Everything is borrowed and must outlive the
 * provider, except strings, which are copied. */
typedef struct s3i_credprov_env {
	const s3i_allocator *alloc;
	struct s3i_http *http;                 /* for STS, container and IMDS calls */
	const struct s3i_profile_set *profiles;/* NULL: loaded on demand */
	const char *profile;                   /* NULL: AWS_PROFILE / default */
	const char *region;                    /* for STS endpoints; NULL: us-east-1 */
	const char *endpoint_url;              /* explicit endpoint override (context option) */
	const s3i_logger *logger;
	const s3i_io_hooks *clock;             /* NULL: system clock */
	int64_t process_timeout_ms;            /* credential_process deadline; 0: 60000 */
} s3i_credprov_env;

/* The default chain. Explicit keys (may all be NULL) come first. */
int s3i_credprov_new_chain(s3i_credprov **out, const s3i_credprov_env *env,
	const char *access_key_id, const char *secret_access_key, const char *session_token,
	s3i_errinfo *err);

/* Fixed credentials. */
int s3i_credprov_new_static(s3i_credprov **out, const s3i_allocator *a, const char *access_key_id,
	const char *secret_access_key, const char *session_token, s3i_errinfo *err);

/* sts:AssumeRole with credentials from `source` (a reference is taken). external_id and
 * session_name may be NULL (session name then "s3insights-<epoch>"); duration_s 0: 3600.
 * The STS endpoint is s3i_endpoint_resolve("sts", env->region (else the profile's region, else
 * us-east-1), env->endpoint_url, env->profiles, env->profile), fixed at creation. Network
 * errors, 5xx and throttling are retried (3 attempts). Errors name the role ARN; the account
 * id of AssumedRoleUser/Arn lands in s3i_credentials.account_id. */
int s3i_credprov_new_assume_role(s3i_credprov **out, const s3i_credprov_env *env,
	s3i_credprov *source, const char *role_arn, const char *session_name,
	const char *external_id, int32_t duration_s, s3i_errinfo *err);

s3i_credprov *s3i_credprov_acquire(s3i_credprov *p);
void s3i_credprov_release(s3i_credprov *p);

/* Current credentials (refreshed when needed), copied into *out (call s3i_credentials_free).
 * S3I_EAUTH when no source in the chain has any, naming what was tried. */
int s3i_credprov_get(s3i_credprov *p, s3i_credentials *out, s3i_errinfo *err);

/* Drop the cache so the next get fetches again (after an ExpiredToken answer). */
void s3i_credprov_invalidate(s3i_credprov *p);

#endif
