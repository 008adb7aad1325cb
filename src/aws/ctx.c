#include "aws/ctx_internal.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"
#include "core/alloc.h"
#include "core/errinfo.h"

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static int global_count;

int s3i_global_init(void)
{
	pthread_mutex_lock(&global_lock);
	int rc = global_count + 1;
	if (global_count == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		rc = s3i_err(NULL, S3I_ERROR, "libcurl", "curl_global_init failed");
	if (rc > 0)
		global_count = rc;
	pthread_mutex_unlock(&global_lock);
	return rc;
}

int s3i_global_shutdown(void)
{
	pthread_mutex_lock(&global_lock);
	int rc;
	if (global_count == 0) {
		rc = s3i_err(NULL, S3I_EINVALID, NULL, "s3i_global_shutdown called more often than s3i_global_init");
	} else {
		rc = --global_count;
		if (rc == 0)
			curl_global_cleanup();
	}
	pthread_mutex_unlock(&global_lock);
	return rc;
}

int s3i_ctx_options_init(s3i_ctx_options *opts, uint32_t struct_size)
{
	if (!opts || struct_size < offsetof(s3i_ctx_options, allocator))
		return s3i_err(NULL, S3I_EINVALID, "opts", "s3i_ctx_options_init: bad struct size %u",
			(unsigned)struct_size);
	s3i_ctx_options defaults = S3I_CTX_OPTIONS_INIT;
	memcpy(opts, &defaults, struct_size < sizeof(defaults) ? struct_size : sizeof(defaults));
	opts->struct_size = struct_size;
	return S3I_OK;
}

/* Callers compiled against an older header pass a smaller struct: copy what they have and
 * leave the rest zero (the defaults). */
static int copy_options(s3i_ctx_options *dst, const s3i_ctx_options *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src)
		return S3I_OK;
	if (src->struct_size < offsetof(s3i_ctx_options, allocator))
		return s3i_err(NULL, S3I_EINVALID, "opts.struct_size",
			"s3i_ctx_options.struct_size is %u; use S3I_CTX_OPTIONS_INIT", (unsigned)src->struct_size);
	memcpy(dst, src, src->struct_size < sizeof(*dst) ? src->struct_size : sizeof(*dst));
	return S3I_OK;
}

static void ctx_destroy(s3i_ctx *ctx)
{
	s3i_client_free(ctx->client);
	s3i_credprov_release(ctx->creds);
	s3i_http_free(ctx->http);
	s3i_profiles_free(ctx->profiles);
	const s3i_allocator *a = ctx->alloc;
	s3i_free(a, ctx->region);
	s3i_free(a, ctx->endpoint_url);
	s3i_free(a, ctx->profile);
	/* the context holds the allocator copy it is freed with */
	s3i_allocator copy = ctx->alloc_copy;
	s3i_free(&copy, ctx);
	s3i_global_shutdown();
}

static int ctx_setup(s3i_ctx *ctx, const s3i_ctx_options *o, s3i_errinfo *err)
{
	const s3i_allocator *a = ctx->alloc;
	int rc;
	if ((rc = s3i_str_set(a, &ctx->profile, o->profile)) ||
		(rc = s3i_str_set(a, &ctx->endpoint_url, o->endpoint_url)))
		return s3i_err(err, rc, NULL, "out of memory creating the context");
	if ((rc = s3i_profiles_load(&ctx->profiles, a, err)))
		return rc;
	const char *profile = s3i_profile_name(ctx->profile);
	const char *region = s3i_region_resolve(o->region, ctx->profiles, profile);
	if (!region) {
		region = "us-east-1";
		s3i_log(&ctx->logger, S3I_LOG_INFO, "no region configured (AWS_REGION, "
			"AWS_DEFAULT_REGION or the profile); using us-east-1");
	}
	if (!s3i_region_is_valid(region))
		return s3i_err(err, S3I_EINVALID, "region", "region '%s' is not a valid AWS region", region);
	if ((rc = s3i_str_set(a, &ctx->region, region)))
		return s3i_err(err, rc, NULL, "out of memory creating the context");

	s3i_http_options ho = { 0 };
	ho.connect_timeout_ms = o->connect_timeout_ms;
	ho.max_connections = o->max_connections;
	ho.ca_bundle = o->ca_bundle;
	ho.insecure_skip_verify = o->insecure_skip_tls_verify;
	ho.logger = &ctx->logger;
	if ((rc = s3i_http_new(&ctx->http, a, &ho, err)))
		return rc;

	s3i_credprov_env env = { 0 };
	env.alloc = a;
	env.http = ctx->http;
	env.profiles = ctx->profiles;
	env.profile = ctx->profile;
	env.region = ctx->region;
	env.endpoint_url = ctx->endpoint_url;
	env.logger = &ctx->logger;
	env.clock = ctx->has_hooks ? &ctx->hooks : NULL;
	if ((rc = s3i_credprov_new_chain(&ctx->creds, &env, o->access_key_id, o->secret_access_key,
		o->session_token, err)))
		return rc;

	s3i_client_config cc = { 0 };
	cc.alloc = a;
	cc.logger = &ctx->logger;
	cc.region = ctx->region;
	cc.endpoint_url = ctx->endpoint_url;
	cc.profile = ctx->profile;
	cc.profiles = ctx->profiles;
	cc.http = ctx->http;
	cc.creds = ctx->creds;
	cc.max_attempts = o->max_attempts;
	cc.request_timeout_ms = o->request_timeout_ms;
	cc.clock = ctx->has_hooks ? &ctx->hooks : NULL;
	return s3i_client_new(&ctx->client, &cc, err);
}

int s3i_ctx_new(s3i_ctx **out, const s3i_ctx_options *opts)
{
	s3i_errinfo *err = s3i_errinfo_thread();
	if (!out)
		return s3i_err(err, S3I_EINVALID, "out", "s3i_ctx_new: out is NULL");
	s3i_ctx_options o;
	int rc = copy_options(&o, opts);
	if (rc)
		return rc;
	const s3i_allocator *user_alloc = o.allocator;
	if (user_alloc && (user_alloc->struct_size < sizeof(s3i_allocator) || !user_alloc->alloc ||
		!user_alloc->realloc || !user_alloc->free))
		return s3i_err(err, S3I_EINVALID, "opts.allocator",
			"s3i_ctx_options.allocator must set struct_size, alloc, realloc and free");
	if ((rc = s3i_global_init()) < 0)
		return rc;
	s3i_allocator copy = user_alloc ? *user_alloc : *s3i_allocator_default();
	s3i_ctx *ctx = s3i_calloc(&copy, 1, sizeof(*ctx));
	if (!ctx) {
		s3i_global_shutdown();
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating the context");
	}
	ctx->alloc_copy = copy;
	ctx->alloc = &ctx->alloc_copy;
	atomic_init(&ctx->refs, 1);
	ctx->logger.fn = o.log_fn;
	ctx->logger.user = o.log_user;
	ctx->logger.level = o.log_level > 0 ? o.log_level : S3I_LOG_WARN;
	if (o.io_hooks) {
		uint32_t n = o.io_hooks->struct_size < sizeof(ctx->hooks) ? o.io_hooks->struct_size : sizeof(ctx->hooks);
		memcpy(&ctx->hooks, o.io_hooks, n);
		ctx->has_hooks = 1;
	}
	if ((rc = ctx_setup(ctx, &o, err))) {
		ctx_destroy(ctx);
		return rc;
	}
	*out = ctx;
	return S3I_OK;
}

s3i_ctx *s3i_ctx_acquire(s3i_ctx *ctx)
{
	if (ctx)
		atomic_fetch_add(&ctx->refs, 1);
	return ctx;
}

void s3i_ctx_release(s3i_ctx *ctx)
{
	if (ctx && atomic_fetch_sub(&ctx->refs, 1) == 1)
		ctx_destroy(ctx);
}

const char *s3i_ctx_region(const s3i_ctx *ctx) { return ctx && ctx->region ? ctx->region : ""; }
