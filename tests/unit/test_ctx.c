/* The root context: options, creation, reference counting, global init, version (src/aws/ctx.c,
 * src/core/version.c). */
#include "test_alloc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ctx_internal.h"
#include "s3insights/s3insights.h"

static const char *const env_names[] = {
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE",
	"AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS",
	"AWS_EC2_METADATA_DISABLED", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	NULL
};
static char *saved_env[32];
static int saved_set[32];

static int env_save(void **state)
{
	(void)state;
	for (int i = 0; env_names[i]; i++) {
		const char *v = getenv(env_names[i]);
		saved_set[i] = v != NULL;
		saved_env[i] = v ? strdup(v) : NULL;
	}
	return 0;
}

static int env_restore(void **state)
{
	(void)state;
	for (int i = 0; env_names[i]; i++) {
		if (saved_set[i])
			setenv(env_names[i], saved_env[i], 1);
		else
			unsetenv(env_names[i]);
		free(saved_env[i]);
	}
	return 0;
}

static void env_clean(void)
{
	for (int i = 0; env_names[i]; i++)
		unsetenv(env_names[i]);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static s3i_ctx_options test_options(void)
{
	s3i_ctx_options o = S3I_CTX_OPTIONS_INIT;
	o.allocator = s3i_test_alloc();
	o.region = "eu-west-1";
	o.access_key_id = "AKIDTESTCTX";
	o.secret_access_key = "secret";
	return o;
}

/* ------------------------------------------------------------------ options */

static void t_options_init(void **state)
{
	(void)state;
	s3i_ctx_options o;
	memset(&o, 0x5a, sizeof(o));
	assert_int_equal(s3i_ctx_options_init(&o, sizeof(o)), S3I_OK);
	assert_int_equal(o.struct_size, sizeof(o));
	assert_null(o.allocator);
	assert_null(o.region);
	assert_null(o.endpoint_url);
	assert_null(o.log_fn);
	assert_int_equal(o.log_level, 0);
	assert_int_equal(o.max_attempts, 0);
	assert_null(o.io_hooks);
	assert_null(o.ca_bundle);
	assert_int_equal(o.insecure_skip_tls_verify, 0);
	s3i_ctx_options init = S3I_CTX_OPTIONS_INIT;
	assert_memory_equal(&o, &init, sizeof(o));
}

static void t_options_init_old_caller(void **state)
{
	(void)state;
	/* a caller compiled when the struct ended at log_user: nothing past it is written */
	uint32_t old = (uint32_t)offsetof(s3i_ctx_options, log_level);
	unsigned char raw[sizeof(s3i_ctx_options) + 16];
	memset(raw, 0x5a, sizeof(raw));
	s3i_ctx_options *o = (s3i_ctx_options *)(void *)raw;
	assert_int_equal(s3i_ctx_options_init(o, old), S3I_OK);
	assert_int_equal(o->struct_size, old);
	assert_null(o->region);
	assert_null(o->log_user);
	for (size_t i = old; i < sizeof(raw); i++)
		if (raw[i] != 0x5a)
			fail_msg("byte %zu past the caller's struct (size %u) was written", i, old);
	/* the smallest valid struct: just struct_size (and its padding) */
	memset(raw, 0x5a, sizeof(raw));
	uint32_t tiny = (uint32_t)offsetof(s3i_ctx_options, allocator);
	assert_int_equal(s3i_ctx_options_init(o, tiny), S3I_OK);
	assert_int_equal(o->struct_size, tiny);
	for (size_t i = tiny; i < sizeof(raw); i++)
		assert_int_equal(raw[i], 0x5a);
	/* a newer caller's larger struct: our part initialised, the size kept */
	memset(raw, 0x5a, sizeof(raw));
	assert_int_equal(s3i_ctx_options_init(o, (uint32_t)sizeof(raw)), S3I_OK);
	assert_int_equal(o->struct_size, sizeof(raw));
	assert_null(o->region);
	assert_null(o->io_hooks);
}

static void t_options_init_too_small(void **state)
{
	(void)state;
	s3i_ctx_options o;
	static const uint32_t sizes[] = { 0, 1, 3, 4, 7 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (sizes[i] >= offsetof(s3i_ctx_options, allocator))
			continue;
		memset(&o, 0x5a, sizeof(o));
		s3i_error_clear();
		assert_int_equal(s3i_ctx_options_init(&o, sizes[i]), S3I_EINVALID);
		assert_int_equal(s3i_error_last()->code, S3I_EINVALID);
		assert_non_null(strstr(s3i_error_last()->resource, "opts"));
		unsigned char *raw = (unsigned char *)&o;
		for (size_t k = 0; k < sizeof(o); k++)
			assert_int_equal(raw[k], 0x5a);     /* nothing written */
	}
	assert_int_equal(s3i_ctx_options_init(NULL, sizeof(o)), S3I_EINVALID);
}

/* ------------------------------------------------------------------ creation */

static void t_ctx_new_defaults(void **state)
{
	(void)state;
	env_clean();
	s3i_ctx_options o = test_options();
	o.region = NULL;
	s3i_ctx *ctx = NULL;
	int rc = s3i_ctx_new(&ctx, &o);
	if (rc)
		fail_msg("s3i_ctx_new: %d %s", rc, s3i_error_last()->message);
	assert_non_null(ctx);
	assert_string_equal(s3i_ctx_region(ctx), "us-east-1");   /* nothing configured */
	assert_int_equal(ctx->logger.level, S3I_LOG_WARN);       /* 0 means WARN */
	assert_ptr_equal(s3i_ctx_alloc(ctx)->alloc, s3i_test_alloc()->alloc);
	assert_true(s3i_test_alloc_outstanding() > 0);          /* it used our allocator */
	s3i_ctx_release(ctx);
	assert_int_equal(s3i_test_alloc_outstanding(), 0);

	/* region from the environment; explicit wins */
	setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	assert_string_equal(s3i_ctx_region(ctx), "ap-south-1");
	s3i_ctx_release(ctx);
	setenv("AWS_REGION", "eu-north-1", 1);
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	assert_string_equal(s3i_ctx_region(ctx), "eu-north-1");
	s3i_ctx_release(ctx);
	o.region = "sa-east-1";
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	assert_string_equal(s3i_ctx_region(ctx), "sa-east-1");
	s3i_ctx_release(ctx);
	assert_string_equal(s3i_ctx_region(NULL), "");
}

static void t_ctx_new_copies_options(void **state)
{
	(void)state;
	env_clean();
	char region[32] = "eu-west-3";
	char url[64] = "http://127.0.0.1:1";
	s3i_ctx_options o = test_options();
	o.region = region;
	o.endpoint_url = url;
	o.log_level = S3I_LOG_DEBUG;
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	memset(region, 'x', sizeof(region) - 1);
	memset(url, 'y', sizeof(url) - 1);
	memset(&o, 0, sizeof(o));
	assert_string_equal(s3i_ctx_region(ctx), "eu-west-3");
	assert_string_equal(ctx->endpoint_url, "http://127.0.0.1:1");
	assert_int_equal(ctx->logger.level, S3I_LOG_DEBUG);
	s3i_ctx_release(ctx);
}

static int64_t fixed_now(void *user) { (void)user; return 1440938160000; }

static void t_ctx_new_io_hooks(void **state)
{
	(void)state;
	env_clean();
	s3i_io_hooks hooks = S3I_IO_HOOKS_INIT;
	hooks.now_ms = fixed_now;
	s3i_ctx_options o = test_options();
	o.io_hooks = &hooks;
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	memset(&hooks, 0, sizeof(hooks));     /* copied, not borrowed */
	assert_int_equal(s3i_client_now_ms(s3i_ctx_client(ctx)), 1440938160000);
	s3i_ctx_release(ctx);
}

static void t_ctx_new_old_struct(void **state)
{
	(void)state;
	env_clean();
	/* an old caller's struct ends before log_level: the fields after it hold garbage that must
	 * never be read (a bad io_hooks pointer would crash) */
	unsigned char raw[sizeof(s3i_ctx_options)];
	memset(raw, 0xff, sizeof(raw));
	s3i_ctx_options *o = (s3i_ctx_options *)(void *)raw;
	uint32_t old = (uint32_t)offsetof(s3i_ctx_options, log_level);
	assert_int_equal(s3i_ctx_options_init(o, old), S3I_OK);
	o->allocator = s3i_test_alloc();
	o->region = "us-west-1";
	o->access_key_id = "AKIDOLD";
	o->secret_access_key = "secret";
	s3i_ctx *ctx = NULL;
	int rc = s3i_ctx_new(&ctx, o);
	if (rc)
		fail_msg("s3i_ctx_new: %d %s", rc, s3i_error_last()->message);
	assert_string_equal(s3i_ctx_region(ctx), "us-west-1");
	assert_int_equal(ctx->has_hooks, 0);
	assert_int_equal(ctx->logger.level, S3I_LOG_WARN);
	s3i_ctx_release(ctx);
}

static void t_ctx_new_bad_struct_size(void **state)
{
	(void)state;
	env_clean();
	s3i_ctx_options o = test_options();
	o.struct_size = 2;
	s3i_ctx *ctx = (s3i_ctx *)(uintptr_t)0x1234;
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_EINVALID);
	assert_ptr_equal(ctx, (s3i_ctx *)(uintptr_t)0x1234);   /* untouched on failure */
	assert_int_equal(s3i_error_last()->code, S3I_EINVALID);
	assert_non_null(strstr(s3i_error_last()->resource, "struct_size"));
	assert_int_equal(s3i_ctx_new(NULL, NULL), S3I_EINVALID);
	assert_string_equal(s3i_error_last()->resource, "out");
}

static void *bad_alloc(void *user, size_t n) { (void)user; (void)n; return NULL; }

static void t_ctx_new_bad_allocator(void **state)
{
	(void)state;
	env_clean();
	const s3i_allocator *good = s3i_test_alloc();
	s3i_allocator bad[4];
	bad[0] = *good;
	bad[0].struct_size = 0;                        /* not initialised */
	bad[1] = *good;
	bad[1].alloc = NULL;
	bad[2] = *good;
	bad[2].realloc = NULL;
	bad[3] = *good;
	bad[3].free = NULL;
	for (int i = 0; i < 4; i++) {
		s3i_ctx_options o = test_options();
		o.allocator = &bad[i];
		s3i_ctx *ctx = NULL;
		s3i_error_clear();
		assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_EINVALID);
		assert_null(ctx);
		assert_int_equal(s3i_error_last()->code, S3I_EINVALID);
		assert_string_equal(s3i_error_last()->resource, "opts.allocator");
		assert_non_null(strstr(s3i_error_last()->message, "allocator"));
	}
	/* an allocator that always fails is valid, but gives ENOMEM */
	s3i_allocator empty = *good;
	empty.alloc = bad_alloc;
	s3i_ctx_options o = test_options();
	o.allocator = &empty;
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_ENOMEM);
	assert_null(ctx);
	assert_int_equal(s3i_error_last()->code, S3I_ENOMEM);
	assert_int_equal(s3i_global_shutdown(), S3I_EINVALID);   /* no global reference kept */
}

static void t_ctx_new_invalid_region(void **state)
{
	(void)state;
	env_clean();
	s3i_ctx_options o = test_options();
	o.region = "Not-A-Region";
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_EINVALID);
	assert_null(ctx);
	assert_string_equal(s3i_error_last()->resource, "region");
	assert_non_null(strstr(s3i_error_last()->message, "Not-A-Region"));
	/* from the environment too */
	o.region = NULL;
	setenv("AWS_REGION", "us-east-1; rm -rf /", 1);
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_EINVALID);
	assert_string_equal(s3i_error_last()->resource, "region");
	assert_null(ctx);
	unsetenv("AWS_REGION");
	assert_int_equal(s3i_global_shutdown(), S3I_EINVALID);   /* failures release the global ref */
}

static void t_ctx_new_null_options(void **state)
{
	(void)state;
	env_clean();
	setenv("AWS_REGION", "ca-central-1", 1);
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, NULL), S3I_OK);
	assert_string_equal(s3i_ctx_region(ctx), "ca-central-1");
	assert_int_equal(s3i_test_alloc_outstanding(), 0);      /* the default allocator */
	s3i_ctx_release(ctx);
}

/* ------------------------------------------------------------------ references */

static void *hold_and_use(void *arg)
{
	s3i_ctx *ctx = arg;
	for (int i = 0; i < 20000; i++) {
		s3i_ctx *again = s3i_ctx_acquire(ctx);
		assert_ptr_equal(again, ctx);
		s3i_ctx_release(again);
	}
	return NULL;
}

static void *use_after_owner_left(void *arg)
{
	s3i_ctx *ctx = arg;             /* the creator already released its reference */
	const char *r = s3i_ctx_region(ctx);
	int ok = r && !strcmp(r, "eu-west-1");
	s3i_ctx_release(ctx);
	return ok ? arg : NULL;
}

static void t_ctx_refcount(void **state)
{
	(void)state;
	env_clean();
	s3i_ctx_options o = test_options();
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	assert_int_equal(atomic_load(&ctx->refs), 1);
	assert_ptr_equal(s3i_ctx_acquire(ctx), ctx);
	assert_ptr_equal(s3i_ctx_acquire(ctx), ctx);
	assert_int_equal(atomic_load(&ctx->refs), 3);
	s3i_ctx_release(ctx);
	s3i_ctx_release(ctx);
	assert_int_equal(atomic_load(&ctx->refs), 1);
	assert_string_equal(s3i_ctx_region(ctx), "eu-west-1");
	assert_null(s3i_ctx_acquire(NULL));
	s3i_ctx_release(NULL);

	/* many threads acquiring and releasing at once */
	pthread_t th[8];
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hold_and_use, ctx), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(atomic_load(&ctx->refs), 1);

	/* the creator lets go first; the other holder frees it */
	s3i_ctx_acquire(ctx);
	pthread_t other;
	s3i_ctx_release(ctx);
	assert_true(s3i_test_alloc_outstanding() > 0);          /* still alive */
	assert_int_equal(pthread_create(&other, NULL, use_after_owner_left, ctx), 0);
	void *ret = NULL;
	assert_int_equal(pthread_join(other, &ret), 0);
	assert_non_null(ret);
	assert_int_equal(s3i_test_alloc_outstanding(), 0);      /* freed by the last holder */
}

/* ------------------------------------------------------------------ global init */

static void t_global_init_counting(void **state)
{
	(void)state;
	env_clean();
	/* no context alive: the count is 0 */
	assert_int_equal(s3i_global_shutdown(), S3I_EINVALID);
	assert_int_equal(s3i_error_last()->code, S3I_EINVALID);
	assert_int_equal(s3i_global_init(), 1);
	assert_int_equal(s3i_global_init(), 2);
	assert_int_equal(s3i_global_shutdown(), 1);
	/* a context holds a reference of its own */
	s3i_ctx_options o = test_options();
	s3i_ctx *ctx = NULL;
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	assert_int_equal(s3i_global_init(), 3);
	assert_int_equal(s3i_global_shutdown(), 2);
	s3i_ctx_release(ctx);
	assert_int_equal(s3i_global_shutdown(), 0);
	assert_int_equal(s3i_global_shutdown(), S3I_EINVALID);
	/* libcurl works again after a full cycle */
	assert_int_equal(s3i_global_init(), 1);
	assert_int_equal(s3i_ctx_new(&ctx, &o), S3I_OK);
	s3i_ctx_release(ctx);
	assert_int_equal(s3i_global_shutdown(), 0);
}

static void *init_shutdown_loop(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		int n = s3i_global_init();
		if (n < 1)
			return NULL;
		if (s3i_global_shutdown() < 0)
			return NULL;
	}
	return arg;
}

static void t_global_init_threads(void **state)
{
	(void)state;
	assert_int_equal(s3i_global_init(), 1);   /* keep libcurl up while threads count */
	pthread_t th[4];
	int tag = 1;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, init_shutdown_loop, &tag), 0);
	for (int i = 0; i < 4; i++) {
		void *ret = NULL;
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_non_null(ret);
	}
	assert_int_equal(s3i_global_shutdown(), 0);
}

/* ------------------------------------------------------------------ version */

static void t_version(void **state)
{
	(void)state;
	assert_int_equal(s3i_version_num(), S3I_VERSION_NUM);
	assert_int_equal(s3i_version_num(),
		(S3I_VERSION_MAJOR << 16) | (S3I_VERSION_MINOR << 8) | S3I_VERSION_PATCH);
	assert_non_null(s3i_version_string());
	assert_string_equal(s3i_version_string(), S3I_VERSION_STRING);
	char want[32];
	snprintf(want, sizeof(want), "%d.%d.%d", S3I_VERSION_MAJOR, S3I_VERSION_MINOR, S3I_VERSION_PATCH);
	assert_string_equal(s3i_version_string(), want);
	assert_true(S3I_AT_LEAST_VERSION(0, 0, 0));
	assert_true(S3I_AT_LEAST_VERSION(S3I_VERSION_MAJOR, S3I_VERSION_MINOR, S3I_VERSION_PATCH));
	assert_false(S3I_AT_LEAST_VERSION(S3I_VERSION_MAJOR, S3I_VERSION_MINOR, S3I_VERSION_PATCH + 1));
	assert_false(S3I_AT_LEAST_VERSION(S3I_VERSION_MAJOR + 1, 0, 0));

	uint32_t f = s3i_features();
	assert_true(f & S3I_FEATURE_THREADS);
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	int https = v && (v->features & CURL_VERSION_SSL);
	assert_int_equal(!!(f & S3I_FEATURE_HTTPS), https);
	assert_int_equal(f & ~(S3I_FEATURE_THREADS | S3I_FEATURE_HTTPS), 0);   /* no unknown bits */
}

/* ------------------------------------------------------------------ out of memory */

static void t_ctx_new_oom_loop(void **state)
{
	(void)state;
	env_clean();
	s3i_ctx_options o = test_options();
	o.endpoint_url = "http://127.0.0.1:1";
	o.session_token = "token";
	o.profile = "default";
	long n;
	for (n = 0; n < 100000; n++) {
		s3i_test_alloc_fail_after(n);
		s3i_ctx *ctx = NULL;
		s3i_error_clear();
		int rc = s3i_ctx_new(&ctx, &o);
		s3i_test_alloc_fail_after(-1);
		if (rc == S3I_OK) {
			assert_non_null(ctx);
			assert_string_equal(s3i_ctx_region(ctx), "eu-west-1");
			s3i_ctx_release(ctx);
			break;
		}
		if (rc != S3I_ENOMEM)
			fail_msg("allocation %ld failing gave %d (%s), not S3I_ENOMEM", n, rc,
				s3i_error_last()->message);
		assert_null(ctx);
		assert_int_equal(s3i_error_last()->code, S3I_ENOMEM);
		if (s3i_test_alloc_outstanding() != 0)
			fail_msg("allocation %ld failing leaked %ld block(s)", n, s3i_test_alloc_outstanding());
	}
	assert_true(n > 3);          /* it did allocate through our allocator */
	assert_int_equal(s3i_test_alloc_outstanding(), 0);
	assert_int_equal(s3i_global_shutdown(), S3I_EINVALID);   /* every failure let go */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		S3I_TEST(t_options_init),
		S3I_TEST(t_options_init_old_caller),
		S3I_TEST(t_options_init_too_small),
		S3I_TEST(t_ctx_new_defaults),
		S3I_TEST(t_ctx_new_copies_options),
		S3I_TEST(t_ctx_new_io_hooks),
		S3I_TEST(t_ctx_new_old_struct),
		S3I_TEST(t_ctx_new_bad_struct_size),
		S3I_TEST(t_ctx_new_bad_allocator),
		S3I_TEST(t_ctx_new_invalid_region),
		S3I_TEST(t_ctx_new_null_options),
		S3I_TEST(t_ctx_refcount),
		S3I_TEST(t_global_init_counting),
		S3I_TEST(t_global_init_threads),
		S3I_TEST(t_version),
		S3I_TEST(t_ctx_new_oom_loop),
	};
	return cmocka_run_group_tests(tests, env_save, env_restore);
}
