/*
 * Credentials: the value type, the caching provider core, fixed credentials and botocore's
 * default chain. The network and process sources live in credentials_sts.c,
 * credentials_http.c and credentials_process.c.
 */
#include "aws/credentials_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/str.h"

/* ---------------------------------------------------------------- the value type */

void s3i_credentials_init(s3i_credentials *c, const s3i_allocator *a)
{
	memset(c, 0, sizeof(*c));
	c->alloc = a ? a : s3i_allocator_default();
}

void s3i_credentials_free(s3i_credentials *c)
{
	if (!c)
		return;
	const s3i_allocator *a = c->alloc;
	s3i_free_secret(a, c->access_key_id);
	s3i_free_secret(a, c->secret_access_key);
	s3i_free_secret(a, c->session_token);
	s3i_credentials_init(c, a);
}

static void copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

int s3i_credentials_set(s3i_credentials *c, const char *access_key_id, const char *secret_access_key,
	const char *session_token, int64_t expiration_ms, const char *source, const char *account_id)
{
	const s3i_allocator *a = c->alloc;
	char *ak = s3i_strdup(a, access_key_id);
	char *sk = s3i_strdup(a, secret_access_key);
	char *tok = session_token && *session_token ? s3i_strdup(a, session_token) : NULL;
	if ((access_key_id && !ak) || (secret_access_key && !sk) ||
		(session_token && *session_token && !tok)) {
		s3i_free_secret(a, ak);
		s3i_free_secret(a, sk);
		s3i_free_secret(a, tok);
		return S3I_ENOMEM;
	}
	s3i_credentials_free(c);
	c->access_key_id = ak;
	c->secret_access_key = sk;
	c->session_token = tok;
	c->expiration_ms = expiration_ms;
	copy_field(c->source, sizeof(c->source), source);
	copy_field(c->account_id, sizeof(c->account_id), account_id);
	return S3I_OK;
}

/* dst is overwritten, not freed (it may be uninitialised); it takes src's allocator. */
int s3i_credentials_copy(s3i_credentials *dst, const s3i_credentials *src)
{
	s3i_credentials_init(dst, src->alloc);
	return s3i_credentials_set(dst, src->access_key_id, src->secret_access_key,
		src->session_token, src->expiration_ms, src->source, src->account_id);
}

/* ---------------------------------------------------------------- small helpers */

const char *s3i_env_get(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

int s3i_env_true(const char *name)
{
	const char *v = getenv(name);
	return v && !strcasecmp(v, "true");
}

int s3i_cred_read_file(const s3i_allocator *a, const char *path, s3i_buf *out, const char *what,
	s3i_errinfo *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return s3i_err(err, S3I_EAUTH, path, "cannot read the %s file %s: %s", what, path,
			strerror(errno));
	char chunk[4096];
	size_t n;
	int rc = S3I_OK;
	while (rc == S3I_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (out->size + n > (1u << 20))
			rc = s3i_err(err, S3I_EAUTH, path, "the %s file %s is larger than 1 MiB", what, path);
		else if (s3i_buf_put(out, chunk, n))
			rc = s3i_err(err, S3I_ENOMEM, path, "out of memory reading %s", path);
	}
	if (rc == S3I_OK && ferror(f))
		rc = s3i_err(err, S3I_EAUTH, path, "cannot read the %s file %s", what, path);
	fclose(f);
	(void)a;
	while (rc == S3I_OK && out->size && strchr(" \t\r\n", out->ptr[out->size - 1]))
		out->ptr[--out->size] = '\0';
	return rc;
}

int s3i_credentials_from_json(s3i_credentials *out, const char *body, size_t len,
	const char *token_key, const char *source, const char *what, s3i_errinfo *err)
{
	s3i_json doc = NULL;
	int rc = s3i_json_parse(&doc, body, len, what, err);
	if (rc)
		return s3i_err(err, S3I_EAUTH, NULL, "%s did not return a JSON credentials document",
			what);
	const char *ak = s3i_json_str(s3i_json_get(doc, "AccessKeyId"));
	const char *sk = s3i_json_str(s3i_json_get(doc, "SecretAccessKey"));
	const char *tok = s3i_json_str(s3i_json_get(doc, token_key));
	const char *exp = s3i_json_str(s3i_json_get(doc, "Expiration"));
	const char *acct = s3i_json_str(s3i_json_get(doc, "AccountId"));
	int64_t exp_ms = 0;
	if (!s3i_json_is_obj(doc) || !ak || !*ak || !sk || !*sk)
		rc = s3i_err(err, S3I_EAUTH, NULL, "%s returned no AccessKeyId/SecretAccessKey", what);
	else if (exp && s3i_time_parse_iso8601(exp, &exp_ms))
		rc = s3i_err(err, S3I_EAUTH, NULL, "%s returned an invalid Expiration '%.40s'", what, exp);
	else if ((rc = s3i_credentials_set(out, ak, sk, tok, exp_ms, source,
		acct && strlen(acct) < sizeof(out->account_id) ? acct : NULL)))
		rc = s3i_err(err, rc, NULL, "out of memory reading credentials from %s", what);
	s3i_json_free(doc);
	return rc;
}

/* ---------------------------------------------------------------- provider core */

int64_t s3i_credprov_now_ms(const s3i_credprov *p)
{
	if (p->clock && p->clock->now_ms)
		return p->clock->now_ms(p->clock->user);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void s3i_credprov_sleep_ms(const s3i_credprov *p, int64_t ms)
{
	if (ms <= 0)
		return;
	if (p->clock && p->clock->sleep_ms) {
		p->clock->sleep_ms(p->clock->user, ms);
		return;
	}
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void s3i_credprov_backoff(const s3i_credprov *p, int attempt)
{
	int64_t cap = 100LL << (attempt < 5 ? attempt : 5);
	unsigned seed = (unsigned)s3i_credprov_now_ms(p) ^ (unsigned)(uintptr_t)p;
	s3i_credprov_sleep_ms(p, (int64_t)(rand_r(&seed) % (unsigned)cap) + 1);
}

int s3i_credprov_http(s3i_credprov *p, s3i_http **out, s3i_errinfo *err)
{
	if (!p->http) {
		s3i_http_options ho = { 0 };
		ho.connect_timeout_ms = 2000;
		ho.logger = p->logger;
		int rc = s3i_http_new(&p->own_http, p->alloc, &ho, err);
		if (rc)
			return rc;
		p->http = p->own_http;
	}
	*out = p->http;
	return S3I_OK;
}

int s3i_credprov_create(s3i_credprov **out, const s3i_credprov_env *env,
	const s3i_credprov_ops *ops, void *impl, s3i_errinfo *err)
{
	const s3i_allocator *a = env && env->alloc ? env->alloc : s3i_allocator_default();
	s3i_credprov *p = s3i_calloc(a, 1, sizeof(*p));
	if (!p) {
		s3i_credprov tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.alloc = a;
		tmp.impl = impl;
		if (impl && ops->destroy)
			ops->destroy(&tmp);
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating a credentials provider");
	}
	p->ops = ops;
	snprintf(p->what, sizeof(p->what), "%s", ops->what);
	atomic_init(&p->refs, 1);
	p->alloc = a;
	p->impl = impl;
	if (env) {
		p->logger = env->logger;
		p->clock = env->clock;
		p->http = env->http;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	s3i_errinfo_init(&p->last_err);
	s3i_credentials_init(&p->cache, a);
	*out = p;
	return S3I_OK;
}

s3i_credprov *s3i_credprov_acquire(s3i_credprov *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void s3i_credprov_release(s3i_credprov *p)
{
	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	if (p->ops->destroy)
		p->ops->destroy(p);
	s3i_credentials_free(&p->cache);
	s3i_http_free(p->own_http);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	s3i_free(p->alloc, p);
}

static void err_out(s3i_errinfo *err, const s3i_errinfo *src)
{
	s3i_errinfo *dst = err ? err : s3i_errinfo_thread();
	s3i_errinfo_copy(dst, src);
	if (dst != s3i_errinfo_thread())
		s3i_errinfo_copy(s3i_errinfo_thread(), src);
}

static int cache_valid(const s3i_credprov *p, int64_t now)
{
	return p->have && (p->cache.expiration_ms == 0 || now < p->cache.expiration_ms);
}

static int64_t refresh_point(int64_t now, int64_t expiration_ms)
{
	if (!expiration_ms)
		return INT64_MAX;
	int64_t ahead = S3I_CRED_REFRESH_AHEAD_MS, life = expiration_ms - now;
	if (life / 4 < ahead)
		ahead = life > 0 ? life / 4 : 0;
	return expiration_ms - ahead;
}

/* Called with p->mu held after a fetch that started at `started`: store or keep, and hand
 * out a copy. The lifetime is measured from the start, so a slow fetch (or a clock that moved
 * meanwhile) does not shrink the refresh window. */
static int refresh_done(s3i_credprov *p, int64_t started, int rc, s3i_credentials *fresh,
	s3i_errinfo *e, s3i_credentials *out)
{
	int64_t now = s3i_credprov_now_ms(p);
	if (rc == S3I_OK && fresh->expiration_ms && fresh->expiration_ms <= now) {
		char when[25];
		s3i_time_iso8601(when, fresh->expiration_ms);
		rc = s3i_err(e, S3I_EAUTH, NULL, "%s returned credentials that expired at %s",
			p->what, when);
	}
	p->refreshing = 0;
	p->gen++;
	p->last_rc = rc;
	if (rc == S3I_OK) {
		s3i_credentials_free(&p->cache);
		p->cache = *fresh;
		s3i_credentials_init(fresh, p->alloc);
		p->have = 1;
		p->refresh_at_ms = refresh_point(started < now ? started : now, p->cache.expiration_ms);
		p->retry_after_ms = 0;
	} else {
		s3i_errinfo_copy(&p->last_err, e);
		if (cache_valid(p, now)) {
			char when[25];
			s3i_time_iso8601(when, p->cache.expiration_ms);
			s3i_log(p->logger, S3I_LOG_WARN, "credentials: refreshing %s credentials failed "
				"(%s); using the cached ones, valid until %s", p->what, e->message, when);
			p->retry_after_ms = now + S3I_CRED_RETRY_AFTER_MS;
			rc = S3I_OK;
		}
	}
	pthread_cond_broadcast(&p->cv);
	if (rc == S3I_OK && (rc = s3i_credentials_copy(out, &p->cache)))
		s3i_err(e, rc, NULL, "out of memory copying credentials");
	return rc;
}

static int cached_get(s3i_credprov *p, s3i_credentials *out, s3i_errinfo *err)
{
	pthread_mutex_lock(&p->mu);
	for (;;) {
		int64_t now = s3i_credprov_now_ms(p);
		if (cache_valid(p, now) &&
			(now < p->refresh_at_ms || p->refreshing || now < p->retry_after_ms)) {
			int rc = s3i_credentials_copy(out, &p->cache);
			pthread_mutex_unlock(&p->mu);
			return rc ? s3i_err(err, rc, NULL, "out of memory copying credentials") : S3I_OK;
		}
		if (!p->refreshing)
			break;
		unsigned gen = p->gen;
		while (p->refreshing && p->gen == gen)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->gen != gen && p->last_rc < 0 && !cache_valid(p, s3i_credprov_now_ms(p))) {
			int rc = p->last_rc;
			err_out(err, &p->last_err);
			pthread_mutex_unlock(&p->mu);
			return rc;
		}
	}
	p->refreshing = 1;
	pthread_mutex_unlock(&p->mu);
	int64_t started = s3i_credprov_now_ms(p);

	s3i_credentials fresh;
	s3i_credentials_init(&fresh, p->alloc);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = p->ops->fetch(p, &fresh, &e);

	pthread_mutex_lock(&p->mu);
	rc = refresh_done(p, started, rc, &fresh, &e, out);
	pthread_mutex_unlock(&p->mu);
	s3i_credentials_free(&fresh);
	if (rc)
		err_out(err, &e);
	return rc;
}

int s3i_credprov_get(s3i_credprov *p, s3i_credentials *out, s3i_errinfo *err)
{
	if (!p || !out)
		return s3i_err(err, S3I_EINVALID, NULL, "s3i_credprov_get: no provider");
	s3i_credentials_init(out, p->alloc);
	return p->ops->get ? p->ops->get(p, out, err) : cached_get(p, out, err);
}

void s3i_credprov_invalidate(s3i_credprov *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->ops->fetch) {   /* fixed credentials keep theirs */
		p->have = 0;
		s3i_credentials_free(&p->cache);
		p->retry_after_ms = 0;
	}
	pthread_mutex_unlock(&p->mu);
	if (p->ops->invalidate)
		p->ops->invalidate(p);
}

/* ---------------------------------------------------------------- fixed credentials */

static const s3i_credprov_ops static_ops = { "static credentials", NULL, NULL, NULL, NULL };

static int new_static(s3i_credprov **out, const s3i_credprov_env *env, const char *ak,
	const char *sk, const char *tok, const char *source, const char *account, s3i_errinfo *err)
{
	if (!ak || !*ak || !sk || !*sk)
		return s3i_err(err, S3I_EINVALID, NULL,
			"%s credentials need both an access key id and a secret access key", source);
	s3i_credprov *p = NULL;
	int rc = s3i_credprov_create(&p, env, &static_ops, NULL, err);
	if (rc)
		return rc;
	if ((rc = s3i_credentials_set(&p->cache, ak, sk, tok, 0, source, account))) {
		s3i_credprov_release(p);
		return s3i_err(err, rc, NULL, "out of memory creating a credentials provider");
	}
	p->have = 1;
	p->refresh_at_ms = INT64_MAX;
	*out = p;
	return S3I_OK;
}

int s3i_credprov_new_static(s3i_credprov **out, const s3i_allocator *a, const char *access_key_id,
	const char *secret_access_key, const char *session_token, s3i_errinfo *err)
{
	s3i_credprov_env env;
	memset(&env, 0, sizeof(env));
	env.alloc = a;
	return new_static(out, &env, access_key_id, secret_access_key, session_token, "static", NULL, err);
}

/* ---------------------------------------------------------------- the default chain */

typedef struct chain_impl {
	s3i_credprov_env env;          /* strings point at the copies below */
	char *profile;                 /* explicit profile (NULL: AWS_PROFILE / default) */
	char *region;
	char *endpoint_url;
	char *ak, *sk, *tok;           /* explicit credentials */
	s3i_profile_set *own_profiles; /* loaded when the environment gave none */
	pthread_mutex_t mu;            /* guards `chosen` and resolution */
	s3i_credprov *chosen;
} chain_impl;

/* What the chain tried, for the final error. */
typedef struct tried_list {
	char text[720];
	size_t len;
} tried_list;

static void tried_add(tried_list *t, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void tried_add(tried_list *t, const char *fmt, ...)
{
	if (t->len + 4 >= sizeof(t->text))
		return;
	if (t->len)
		t->len += (size_t)snprintf(t->text + t->len, sizeof(t->text) - t->len, "; ");
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->text + t->len, sizeof(t->text) - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n;
	if (t->len >= sizeof(t->text))
		t->len = sizeof(t->text) - 1;
}

typedef struct resolver {
	s3i_credprov *chain;
	chain_impl *c;
	const s3i_profile_set *profiles;
	s3i_credprov_env env;          /* for the sources: the chain's transport and clock */
	tried_list tried;
} resolver;

static const char *file_path(const resolver *r, int which)
{
	const char *p = s3i_profiles_path(r->profiles, which);
	return p ? p : (which == S3I_PROFILES_CONFIG ? "config file" : "credentials file");
}

static int env_source(resolver *r, s3i_credprov **out, s3i_errinfo *err)
{
	const char *ak = s3i_env_get("AWS_ACCESS_KEY_ID");
	if (!ak)
		return S3I_ENOTFOUND;
	const char *sk = s3i_env_get("AWS_SECRET_ACCESS_KEY");
	if (!sk)
		return s3i_err(err, S3I_EAUTH, "AWS_SECRET_ACCESS_KEY",
			"AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
	const char *tok = s3i_env_get("AWS_SESSION_TOKEN");
	if (!tok)
		tok = s3i_env_get("AWS_SECURITY_TOKEN");
	const char *acct = s3i_env_get("AWS_ACCOUNT_ID");
	return new_static(out, &r->env, ak, sk, tok, "env",
		acct && strlen(acct) < 16 ? acct : NULL, err);
}

/* Static keys of a profile in one file (shared credentials or config). */
static int file_source(resolver *r, int which, const char *profile, s3i_credprov **out,
	s3i_errinfo *err)
{
	const char *ak = s3i_profiles_get_in(r->profiles, which, profile, "aws_access_key_id");
	if (!ak || !*ak)
		return S3I_ENOTFOUND;
	const char *sk = s3i_profiles_get_in(r->profiles, which, profile, "aws_secret_access_key");
	if (!sk || !*sk)
		return s3i_err(err, S3I_EAUTH, profile,
			"profile '%s' in %s has aws_access_key_id but no aws_secret_access_key", profile,
			file_path(r, which));
	const char *tok = s3i_profiles_get_in(r->profiles, which, profile, "aws_session_token");
	if (!tok || !*tok)
		tok = s3i_profiles_get_in(r->profiles, which, profile, "aws_security_token");
	const char *acct = s3i_profiles_get_in(r->profiles, which, profile, "aws_account_id");
	return new_static(out, &r->env, ak, sk, tok,
		which == S3I_PROFILES_CONFIG ? "config-file" : "shared-file",
		acct && strlen(acct) < 16 ? acct : NULL, err);
}

static const char *prof_get(const resolver *r, const char *profile, const char *key)
{
	const char *v = s3i_profiles_get(r->profiles, profile, key);
	return v && *v ? v : NULL;
}

static int has_static_keys(const resolver *r, const char *profile)
{
	return prof_get(r, profile, "aws_access_key_id") != NULL;
}

static int profile_sources(resolver *r, const char *profile, int use_env, s3i_credprov **out,
	s3i_errinfo *err);

/* Web identity from the environment (when use_env) or the profile. */
static int web_identity_source(resolver *r, const char *profile, int use_env, s3i_credprov **out,
	s3i_errinfo *err)
{
	const char *file = use_env ? s3i_env_get("AWS_WEB_IDENTITY_TOKEN_FILE") : NULL;
	const char *arn = use_env ? s3i_env_get("AWS_ROLE_ARN") : NULL;
	const char *session = use_env ? s3i_env_get("AWS_ROLE_SESSION_NAME") : NULL;
	if (!file)
		file = prof_get(r, profile, "web_identity_token_file");
	if (!file)
		return S3I_ENOTFOUND;
	if (!arn)
		arn = prof_get(r, profile, "role_arn");
	if (!session)
		session = prof_get(r, profile, "role_session_name");
	if (!arn)
		return s3i_err(err, S3I_EAUTH, profile, "a web identity token file is configured "
			"(profile '%s' or AWS_WEB_IDENTITY_TOKEN_FILE) but no role ARN (AWS_ROLE_ARN or "
			"role_arn)", profile);
	return s3i_credprov_new_web_identity(out, &r->env, arn, file, session, err);
}

static int credential_source(resolver *r, const char *profile, const char *src,
	s3i_credprov **out, s3i_errinfo *err)
{
	int rc = S3I_ENOTFOUND;
	if (!strcmp(src, "Environment")) {
		rc = env_source(r, out, err);
	} else if (!strcmp(src, "EcsContainer")) {
		s3i_buf url;
		s3i_buf_init(&url, r->env.alloc);
		rc = s3i_container_url(&url, err);
		if (rc == S3I_OK)
			rc = s3i_credprov_new_container(out, &r->env, s3i_buf_cstr(&url), err);
		s3i_buf_dispose(&url);
	} else if (!strcmp(src, "Ec2InstanceMetadata")) {
		s3i_imds_config ic;
		s3i_imds_config_load(&ic, r->profiles, profile);
		rc = s3i_credprov_new_imds(out, &r->env, &ic, err);
	} else {
		return s3i_err(err, S3I_EAUTH, profile, "profile '%s': credential_source '%s' is not "
			"one of Environment, Ec2InstanceMetadata, EcsContainer", profile, src);
	}
	if (rc == S3I_ENOTFOUND)
		return s3i_err(err, S3I_EAUTH, profile, "profile '%s': credential_source %s has no "
			"credentials", profile, src);
	return rc;
}

/* role_arn profiles: the source credentials, then an AssumeRole provider over them.
 * `visited` holds the profiles on the way here (source_profile cycle detection). */
static int assume_role_source(resolver *r, const char *profile, const char **visited,
	int nvisited, s3i_credprov **out, s3i_errinfo *err)
{
	const char *arn = prof_get(r, profile, "role_arn");
	if (!arn || prof_get(r, profile, "web_identity_token_file"))
		return S3I_ENOTFOUND;
	if (prof_get(r, profile, "mfa_serial"))
		return s3i_err(err, S3I_EAUTH, profile, "profile '%s' sets mfa_serial: assuming a role "
			"with MFA is not supported (no way to prompt for a code)", profile);
	const char *sp = prof_get(r, profile, "source_profile");
	const char *cs = prof_get(r, profile, "credential_source");
	if (sp && cs)
		return s3i_err(err, S3I_EAUTH, profile, "profile '%s' has both source_profile and "
			"credential_source", profile);
	if (!sp && !cs)
		return s3i_err(err, S3I_EAUTH, profile, "profile '%s' has role_arn but neither "
			"source_profile nor credential_source", profile);
	int32_t duration = 0;
	const char *ds = prof_get(r, profile, "duration_seconds");
	if (ds) {
		char *end = NULL;
		long v = strtol(ds, &end, 10);
		if (!end || *end || v < 900 || v > 43200)
			return s3i_err(err, S3I_EAUTH, profile, "profile '%s': duration_seconds '%s' is "
				"not a number of seconds between 900 and 43200", profile, ds);
		duration = (int32_t)v;
	}
	s3i_credprov *source = NULL;
	int rc;
	if (cs) {
		rc = credential_source(r, profile, cs, &source, err);
	} else {
		if (!s3i_profiles_has(r->profiles, sp))
			return s3i_err(err, S3I_EAUTH, sp, "source_profile '%s' referenced in profile '%s' "
				"does not exist", sp, profile);
		int seen = 0;
		for (int i = 0; i < nvisited; i++)
			seen |= !strcmp(visited[i], sp);
		/* a profile may name itself to take static keys from its own section */
		if (seen && (strcmp(sp, profile) || !has_static_keys(r, sp)))
			return s3i_err(err, S3I_EAUTH, sp, "source_profile loop: profile '%s' leads back "
				"to '%s'", profile, sp);
		if (nvisited >= 16)
			return s3i_err(err, S3I_EAUTH, sp, "source_profile chain from '%s' is too long",
				visited[0]);
		if (has_static_keys(r, sp) || !prof_get(r, sp, "role_arn")) {
			rc = profile_sources(r, sp, 0, &source, err);
			if (rc == S3I_ENOTFOUND)
				rc = s3i_err(err, S3I_EAUTH, sp, "source_profile '%s' (of profile '%s') has "
					"no credentials", sp, profile);
		} else {
			visited[nvisited] = sp;
			rc = assume_role_source(r, sp, visited, nvisited + 1, &source, err);
		}
	}
	if (rc)
		return rc;
	s3i_credprov_env env = r->env;
	env.profile = profile;
	rc = s3i_credprov_new_assume_role(out, &env, source, arn,
		prof_get(r, profile, "role_session_name"), prof_get(r, profile, "external_id"),
		duration, err);
	s3i_credprov_release(source);
	return rc;
}

/* botocore's profile providers: web identity, (SSO), shared credentials file,
 * credential_process, config file. */
static int profile_sources(resolver *r, const char *profile, int use_env, s3i_credprov **out,
	s3i_errinfo *err)
{
	int rc = web_identity_source(r, profile, use_env, out, err);
	if (rc != S3I_ENOTFOUND)
		return rc;
	if (use_env)
		tried_add(&r->tried, "web identity (no AWS_WEB_IDENTITY_TOKEN_FILE or "
			"web_identity_token_file)");
	if (prof_get(r, profile, "sso_session") || prof_get(r, profile, "sso_start_url"))
		tried_add(&r->tried, "SSO (profile '%s' uses IAM Identity Center, which is not "
			"supported: export credentials or use credential_process)", profile);
	if ((rc = file_source(r, S3I_PROFILES_CREDENTIALS, profile, out, err)) != S3I_ENOTFOUND)
		return rc;
	tried_add(&r->tried, "shared credentials file (%s: no keys for '%s')",
		file_path(r, S3I_PROFILES_CREDENTIALS), profile);
	const char *cmd = prof_get(r, profile, "credential_process");
	if (cmd)
		return s3i_credprov_new_process(out, &r->env, cmd, profile,
			r->c->env.process_timeout_ms, err);
	tried_add(&r->tried, "credential_process (not set)");
	if ((rc = file_source(r, S3I_PROFILES_CONFIG, profile, out, err)) != S3I_ENOTFOUND)
		return rc;
	tried_add(&r->tried, "config file (%s: no keys for '%s')",
		file_path(r, S3I_PROFILES_CONFIG), profile);
	return S3I_ENOTFOUND;
}

/* Find the first source that has credentials; `out` gets a provider that produced them. */
static int chain_try(resolver *r, s3i_credprov *src, int rc, s3i_credprov **out, s3i_errinfo *err)
{
	if (rc)
		return rc;
	s3i_credentials probe;
	rc = s3i_credprov_get(src, &probe, err);
	if (rc == S3I_OK)
		s3i_log(r->c->env.logger, S3I_LOG_DEBUG, "credentials: using the %s source (profile '%s')",
			probe.source, s3i_profile_name(r->c->profile));
	s3i_credentials_free(&probe);
	if (rc) {
		s3i_credprov_release(src);
		return rc;
	}
	*out = src;
	return S3I_OK;
}

static int chain_resolve(resolver *r, s3i_credprov **out, s3i_errinfo *err)
{
	chain_impl *c = r->c;
	s3i_credprov *src = NULL;
	const char *profile = s3i_profile_name(c->profile);
	int rc;
	if (c->ak || c->sk) {
		rc = new_static(&src, &r->env, c->ak, c->sk, c->tok, "explicit", NULL, err);
		return chain_try(r, src, rc, out, err);
	}
	if (c->profile) {
		tried_add(&r->tried, "environment (skipped: a profile was chosen explicitly)");
	} else if ((rc = env_source(r, &src, err)) != S3I_ENOTFOUND) {
		return chain_try(r, src, rc, out, err);
	} else {
		tried_add(&r->tried, "environment (AWS_ACCESS_KEY_ID not set)");
	}
	int named = c->profile || s3i_env_get("AWS_PROFILE") || s3i_env_get("AWS_DEFAULT_PROFILE");
	if (named && strcmp(profile, "default") && !s3i_profiles_has(r->profiles, profile))
		return s3i_err(err, S3I_EAUTH, profile, "profile '%s' not found in %s or %s", profile,
			file_path(r, S3I_PROFILES_CONFIG), file_path(r, S3I_PROFILES_CREDENTIALS));
	const char *visited[17] = { profile };
	if ((rc = assume_role_source(r, profile, visited, 1, &src, err)) != S3I_ENOTFOUND)
		return chain_try(r, src, rc, out, err);
	tried_add(&r->tried, "assume-role profile (no role_arn in '%s')", profile);
	if ((rc = profile_sources(r, profile, 1, &src, err)) != S3I_ENOTFOUND)
		return chain_try(r, src, rc, out, err);

	s3i_buf url;
	s3i_buf_init(&url, r->env.alloc);
	rc = s3i_container_url(&url, err);
	if (rc == S3I_OK)
		rc = s3i_credprov_new_container(&src, &r->env, s3i_buf_cstr(&url), err);
	s3i_buf_dispose(&url);
	if (rc != S3I_ENOTFOUND)
		return chain_try(r, src, rc, out, err);
	tried_add(&r->tried, "container (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / FULL_URI not set)");

	if (s3i_env_true("AWS_EC2_METADATA_DISABLED")) {
		tried_add(&r->tried, "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
	} else {
		s3i_imds_config ic;
		s3i_imds_config_load(&ic, r->profiles, profile);
		s3i_errinfo ie;
		s3i_errinfo_init(&ie);
		/* botocore: an unreachable or role-less instance metadata service is "no credentials" */
		rc = s3i_credprov_new_imds(&src, &r->env, &ic, &ie);
		if ((rc = chain_try(r, src, rc, out, &ie)) == S3I_OK)
			return S3I_OK;
		if (rc == S3I_ENOMEM)
			return s3i_err(err, rc, NULL, "%s", ie.message);
		tried_add(&r->tried, "EC2 instance metadata (%.200s)", ie.message);
	}
	return s3i_err(err, S3I_EAUTH, profile, "no AWS credentials found (profile '%s'); tried: %s",
		profile, r->tried.text);
}

static int chain_get(s3i_credprov *p, s3i_credentials *out, s3i_errinfo *err)
{
	chain_impl *c = p->impl;
	pthread_mutex_lock(&c->mu);
	int rc = S3I_OK;
	if (!c->chosen) {
		resolver *r = s3i_calloc(p->alloc, 1, sizeof(*r));
		if (!r) {
			pthread_mutex_unlock(&c->mu);
			return s3i_err(err, S3I_ENOMEM, NULL, "out of memory resolving credentials");
		}
		r->chain = p;
		r->c = c;
		r->profiles = c->env.profiles;
		if (!r->profiles) {   /* loaded afresh on each resolution, so edits are seen */
			s3i_profiles_free(c->own_profiles);
			c->own_profiles = NULL;
			rc = s3i_profiles_load(&c->own_profiles, p->alloc, err);
			r->profiles = c->own_profiles;
		}
		r->env = c->env;
		r->env.profiles = r->profiles;
		if (rc == S3I_OK && (rc = s3i_credprov_http(p, &r->env.http, err)) == S3I_OK)
			rc = chain_resolve(r, &c->chosen, err);
		s3i_free(p->alloc, r);
	}
	s3i_credprov *src = rc == S3I_OK ? s3i_credprov_acquire(c->chosen) : NULL;
	pthread_mutex_unlock(&c->mu);
	if (rc)
		return rc;
	rc = s3i_credprov_get(src, out, err);
	s3i_credprov_release(src);
	return rc;
}

static void chain_invalidate(s3i_credprov *p)
{
	chain_impl *c = p->impl;
	pthread_mutex_lock(&c->mu);
	s3i_credprov *old = c->chosen;
	c->chosen = NULL;
	pthread_mutex_unlock(&c->mu);
	s3i_credprov_release(old);
}

static void chain_destroy(s3i_credprov *p)
{
	chain_impl *c = p->impl;
	if (!c)
		return;
	const s3i_allocator *a = p->alloc;
	s3i_credprov_release(c->chosen);
	s3i_profiles_free(c->own_profiles);
	s3i_free(a, c->profile);
	s3i_free(a, c->region);
	s3i_free(a, c->endpoint_url);
	s3i_free_secret(a, c->ak);
	s3i_free_secret(a, c->sk);
	s3i_free_secret(a, c->tok);
	pthread_mutex_destroy(&c->mu);
	s3i_free(a, c);
}

static const s3i_credprov_ops chain_ops = { "the default chain", NULL, chain_get,
	chain_invalidate, chain_destroy };

int s3i_credprov_new_chain(s3i_credprov **out, const s3i_credprov_env *env,
	const char *access_key_id, const char *secret_access_key, const char *session_token,
	s3i_errinfo *err)
{
	if (!env)
		return s3i_err(err, S3I_EINVALID, NULL, "s3i_credprov_new_chain: no environment");
	if ((access_key_id && *access_key_id) != (secret_access_key && *secret_access_key))
		return s3i_err(err, S3I_EINVALID, "access_key_id",
			"explicit credentials need both an access key id and a secret access key");
	const s3i_allocator *a = env->alloc ? env->alloc : s3i_allocator_default();
	chain_impl *c = s3i_calloc(a, 1, sizeof(*c));
	if (!c)
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating the credentials chain");
	pthread_mutex_init(&c->mu, NULL);
	c->env = *env;
	c->env.alloc = a;
	int bad = 0;
#define DUP(dst, src) do { if ((src) && *(src) && !((dst) = s3i_strdup(a, (src)))) bad = 1; } while (0)
	DUP(c->profile, env->profile);
	DUP(c->region, env->region);
	DUP(c->endpoint_url, env->endpoint_url);
	DUP(c->ak, access_key_id);
	DUP(c->sk, secret_access_key);
	DUP(c->tok, session_token);
#undef DUP
	c->env.profile = c->profile;
	c->env.region = c->region;
	c->env.endpoint_url = c->endpoint_url;
	s3i_credprov tmp;
	if (bad) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.alloc = a;
		tmp.impl = c;
		chain_destroy(&tmp);
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating the credentials chain");
	}
	return s3i_credprov_create(out, &c->env, &chain_ops, c, err);
}
