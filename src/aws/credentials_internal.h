/*
 * Inside the credential providers: the shared caching core and the constructors of the
 * individual sources, which the chain (credentials.c) puts together.
 *
 * Caching and refresh (every refreshable source):
 *  - credentials are refreshed ahead of expiry, S3I_CRED_REFRESH_AHEAD_MS (15 min, botocore's
 *    advisory window) before it, or a quarter of their lifetime when that is shorter (so a
 *    15-minute AssumeRole session is not refreshed on every call);
 *  - one thread refreshes; the others keep using the cached copy while it has not expired,
 *    and wait for the refresh only when there is nothing valid to hand out;
 *  - a failed refresh while the cached credentials are still valid logs a WARN, keeps them,
 *    and is not retried for S3I_CRED_RETRY_AFTER_MS (or until they expire);
 *  - credentials that arrive already expired are an S3I_EAUTH error.
 */
#ifndef S3I_AWS_CREDENTIALS_INTERNAL_H
#define S3I_AWS_CREDENTIALS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include "aws/credentials.h"
#include "aws/config_file.h"
#include "aws/http.h"

#define S3I_CRED_REFRESH_AHEAD_MS (15 * 60 * 1000LL)
#define S3I_CRED_RETRY_AFTER_MS (30 * 1000LL)
#define S3I_CRED_PROCESS_TIMEOUT_MS (60 * 1000LL)

typedef struct s3i_credprov_ops {
	const char *what;   /* for messages: "AssumeRole", "IMDS", ... */
	/* Fetch fresh credentials. Never called by two threads at once for one provider. */
	int (*fetch)(s3i_credprov *p, s3i_credentials *out, s3i_errinfo *err);
	/* Replaces the caching get when set (the chain delegates to the source it chose). */
	int (*get)(s3i_credprov *p, s3i_credentials *out, s3i_errinfo *err);
	void (*invalidate)(s3i_credprov *p);      /* optional, after the cache is dropped */
	void (*destroy)(s3i_credprov *p);         /* frees p->impl */
} s3i_credprov_ops;

struct s3i_credprov {
	const s3i_credprov_ops *ops;
	char what[192];                 /* names this provider in messages ("AssumeRole into ...") */
	atomic_int refs;
	const s3i_allocator *alloc;
	const s3i_logger *logger;       /* borrowed, may be NULL */
	const s3i_io_hooks *clock;      /* borrowed, may be NULL */
	s3i_http *http;                 /* borrowed, or created on first use (own_http) */
	s3i_http *own_http;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refreshing;
	unsigned gen;                   /* completed refreshes */
	int last_rc;
	s3i_errinfo last_err;
	int have;
	s3i_credentials cache;
	int64_t refresh_at_ms;
	int64_t retry_after_ms;
	void *impl;
};

/* Allocate and set up the common part; `impl` is owned by the provider from then on
 * (ops->destroy frees it, also when this fails). */
int s3i_credprov_create(s3i_credprov **out, const s3i_credprov_env *env,
	const s3i_credprov_ops *ops, void *impl, s3i_errinfo *err);

int64_t s3i_credprov_now_ms(const s3i_credprov *p);
void s3i_credprov_sleep_ms(const s3i_credprov *p, int64_t ms);
/* The transport, created on first use when the environment gave none. */
int s3i_credprov_http(s3i_credprov *p, s3i_http **out, s3i_errinfo *err);
/* Delay before retry `attempt` (1-based): full jitter on 100 ms * 2^attempt. */
void s3i_credprov_backoff(const s3i_credprov *p, int attempt);

/* Fill `c` (already initialised); strings are copied. */
int s3i_credentials_set(s3i_credentials *c, const char *access_key_id, const char *secret_access_key,
	const char *session_token, int64_t expiration_ms, const char *source, const char *account_id);

/* The JSON credential document of the container endpoint, IMDS and credential_process:
 * AccessKeyId, SecretAccessKey, Token (token_key), Expiration, AccountId. `what` names the
 * source in errors. */
int s3i_credentials_from_json(s3i_credentials *out, const char *body, size_t len,
	const char *token_key, const char *source, const char *what, s3i_errinfo *err);

/* Read a small file whole (tokens); trailing whitespace removed. */
int s3i_cred_read_file(const s3i_allocator *a, const char *path, s3i_buf *out, const char *what,
	s3i_errinfo *err);

/* Environment variable set to "true" (any case). */
int s3i_env_true(const char *name);
/* Environment variable value, NULL when unset or empty. */
const char *s3i_env_get(const char *name);

/* Sources (credentials_http.c, credentials_process.c, credentials_sts.c). Strings are
 * copied. */
int s3i_credprov_new_container(s3i_credprov **out, const s3i_credprov_env *env, const char *url,
	s3i_errinfo *err);
/* Whether AWS_CONTAINER_CREDENTIALS_FULL_URI may be used: https, a loopback host, or one of
 * the ECS/EKS hosts (169.254.170.2, 169.254.170.23, fd00:ec2::23), as botocore allows. */
int s3i_container_url_allowed(const char *url);
/* The container endpoint from the environment into out; 0 when configured, S3I_ENOTFOUND
 * when not, S3I_EINVALID (err set) for a FULL_URI that is not allowed. */
int s3i_container_url(s3i_buf *out, s3i_errinfo *err);

typedef struct s3i_imds_config {
	const char *endpoint;       /* NULL: AWS_EC2_METADATA_SERVICE_ENDPOINT / profile / default */
	int64_t timeout_ms;         /* 0: 1000 */
	int attempts;               /* 0: 1 */
	int v1_disabled;
} s3i_imds_config;
/* Fill an IMDS configuration from the environment and the profile, as botocore reads it.
 * Strings point into the environment or the profile set. */
void s3i_imds_config_load(s3i_imds_config *cfg, const s3i_profile_set *profiles, const char *profile);
int s3i_credprov_new_imds(s3i_credprov **out, const s3i_credprov_env *env,
	const s3i_imds_config *cfg, s3i_errinfo *err);

int s3i_credprov_new_process(s3i_credprov **out, const s3i_credprov_env *env, const char *command,
	const char *profile_name, int64_t timeout_ms, s3i_errinfo *err);

int s3i_credprov_new_web_identity(s3i_credprov **out, const s3i_credprov_env *env,
	const char *role_arn, const char *token_file, const char *session_name, s3i_errinfo *err);

#endif
