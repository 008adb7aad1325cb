/*
 * Credentials and botocore's default provider chain (DESIGN §6):
 *   explicit (context options) -> environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *   AWS_SESSION_TOKEN) -> assume-role profiles (role_arn with source_profile or
 *   credential_source, external_id, role_session_name, duration_seconds) -> web identity
 *   (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, or the profile's web_identity_token_file) ->
 *   shared credentials file -> config file -> credential_process -> container credentials
 *   (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE])
 *   -> IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED).
 *
 * A provider is reference-counted and thread-safe: it caches what it fetched and refreshes
 * before expiry (5 minutes ahead; 15 minutes for IMDS, as botocore does), with one thread
 * refreshing while the others keep the still-valid copy.
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
 * Cached until 5 minutes before expiry. */
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
