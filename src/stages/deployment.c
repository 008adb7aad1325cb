/* A deployment: names, host account and region, host resources, per-account service handles. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/run_internal.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "stages/names.h"
#include "services/s3.h"
#include "services/s3_bucket.h"
#include "services/sqs.h"

#define STATE_TABLE_TIMEOUT_MS 120000
#define DEFAULT_RETENTION_DAYS 90
/* Lambda's longest timeout is 900 s; a message must stay invisible while one handler works on
 * it, so 6x a typical handler budget as AWS advises for SQS event sources. */
#define QUEUE_VISIBILITY_S "900"
#define QUEUE_MAX_RECEIVES 5
#define DLQ_RETENTION_S "1209600"

struct s3i_deployment {
	s3i_ctx *ctx;
	const s3i_allocator *alloc;
	char name[16];
	char host_region[32];
	char host_account[16];
	char partition[16];
	char state_table[64];
	char consolidated[64];
	char queue[96];
	char dlq[96];
	char role_name[96];
	int32_t retention_days;
	s3i_state *state;
	pthread_mutex_t lock;          /* guards roles and the cached queue URLs */
	s3i_sts_role_cache *roles;
	char queue_url[1024];
	char dlq_url[1024];
};

static int copy_name(char *dst, size_t cap, const char *src, const char *what)
{
	size_t n = strlen(src);
	if (n >= cap)
		return s3i_err(NULL, S3I_EINVALID, what, "deployment: %s '%.64s' is too long", what, src);
	memcpy(dst, src, n + 1);
	return S3I_OK;
}

int s3i_deployment_open(s3i_deployment **out, s3i_ctx *ctx, const s3i_deployment_options *opts)
{
	if (!out || !ctx)
		return s3i_err(NULL, S3I_EINVALID, NULL, "deployment: out and ctx are required");
	*out = NULL;
	if (opts && opts->struct_size < sizeof(uint32_t) + 3 * sizeof(char *))
		return s3i_err(NULL, S3I_EINVALID, NULL, "deployment: options struct_size %u is too small",
			(unsigned)opts->struct_size);
	s3i_deployment_options o = S3I_DEPLOYMENT_OPTIONS_INIT;
	if (opts)
		memcpy(&o, opts, opts->struct_size < sizeof(o) ? opts->struct_size : sizeof(o));

	const char *name = o.name ? o.name : getenv("S3I_DEPLOYMENT");
	if (!name || !*name)
		return s3i_err(NULL, S3I_EINVALID, "deployment",
			"deployment: no name given (set the option or S3I_DEPLOYMENT)");
	int rc = s3i_names_check_deployment(name, NULL);
	if (rc)
		return rc;
	const char *region = o.host_region ? o.host_region : s3i_ctx_region(ctx);
	if (!region || !*region)
		return s3i_err(NULL, S3I_EINVALID, "host_region",
			"deployment %s: no host region (set the option or the context's region)", name);
	if (o.data_retention_days < 0 || o.data_retention_days > 36500)
		return s3i_err(NULL, S3I_EINVALID, "data_retention_days",
			"deployment %s: data_retention_days %d is outside 1..36500", name,
			(int)o.data_retention_days);

	const s3i_allocator *a = s3i_ctx_alloc(ctx);
	s3i_deployment *d = s3i_calloc(a, 1, sizeof(*d));
	if (!d)
		return s3i_err(NULL, S3I_ENOMEM, name, "deployment %s: out of memory", name);
	d->alloc = a;
	d->ctx = s3i_ctx_acquire(ctx);
	pthread_mutex_init(&d->lock, NULL);
	d->retention_days = o.data_retention_days ? o.data_retention_days : DEFAULT_RETENTION_DAYS;
	if ((rc = copy_name(d->name, sizeof(d->name), name, "deployment name")) ||
	    (rc = copy_name(d->host_region, sizeof(d->host_region), region, "host region")))
		goto fail;
	const char *partition = s3i_sts_partition_of_region(region);
	snprintf(d->partition, sizeof(d->partition), "%s", partition ? partition : "aws");

	if (o.host_account_id) {
		if ((rc = s3i_names_check_account(o.host_account_id, NULL)))
			goto fail;
		snprintf(d->host_account, sizeof(d->host_account), "%s", o.host_account_id);
	} else {
		s3i_svc svc = { s3i_ctx_client(ctx), NULL, d->host_region };
		s3i_sts_identity id;
		if ((rc = s3i_sts_get_caller_identity_op(&svc, &id, NULL))) {
			s3i_err_prefix(s3i_errinfo_thread(),
				"deployment %s: cannot find the host account: ", d->name);
			goto fail;
		}
		snprintf(d->host_account, sizeof(d->host_account), "%s", id.account);
	}
	if ((rc = s3i_names_state_table(d->state_table, sizeof(d->state_table), d->name)) ||
	    (rc = s3i_names_consolidated_bucket(d->consolidated, sizeof(d->consolidated), d->name,
		d->host_account)) ||
	    (rc = s3i_names_queue(d->queue, sizeof(d->queue), d->name)) ||
	    (rc = s3i_names_dlq(d->dlq, sizeof(d->dlq), d->name)) ||
	    (rc = s3i_names_cross_account_role(d->role_name, sizeof(d->role_name), d->name))) {
		s3i_err(NULL, rc, d->name, "deployment %s: cannot form its resource names", d->name);
		goto fail;
	}
	s3i_svc host = { s3i_ctx_client(ctx), NULL, d->host_region };
	if ((rc = s3i_state_new(&d->state, &host, d->state_table, NULL)))
		goto fail;
	*out = d;
	return S3I_OK;
fail:
	s3i_deployment_free(d);
	return rc;
}

void s3i_deployment_free(s3i_deployment *d)
{
	if (!d)
		return;
	s3i_state_free(d->state);
	s3i_sts_role_cache_free(d->roles);
	pthread_mutex_destroy(&d->lock);
	s3i_ctx *ctx = d->ctx;
	s3i_free(d->alloc, d);
	s3i_ctx_release(ctx);
}

const char *s3i_deployment_name(const s3i_deployment *d) { return d ? d->name : NULL; }
const char *s3i_deployment_host_region(const s3i_deployment *d) { return d ? d->host_region : NULL; }
const char *s3i_deployment_host_account(const s3i_deployment *d) { return d ? d->host_account : NULL; }
const char *s3i_deployment_state_table(const s3i_deployment *d) { return d ? d->state_table : NULL; }
const char *s3i_deployment_consolidated_bucket(const s3i_deployment *d) { return d ? d->consolidated : NULL; }
const char *s3i_deployment_queue_name(const s3i_deployment *d) { return d ? d->queue : NULL; }
const char *s3i_deployment_dlq_name(const s3i_deployment *d) { return d ? d->dlq : NULL; }

s3i_ctx *s3i_deployment_ctx(const s3i_deployment *d) { return d->ctx; }
s3i_client *s3i_deployment_client(const s3i_deployment *d) { return s3i_ctx_client(d->ctx); }
const s3i_allocator *s3i_deployment_alloc(const s3i_deployment *d) { return d->alloc; }
s3i_state *s3i_deployment_state(const s3i_deployment *d) { return d->state; }
const char *s3i_deployment_partition(const s3i_deployment *d) { return d->partition; }
int64_t s3i_deployment_now_ms(const s3i_deployment *d) { return s3i_client_now_ms(s3i_ctx_client(d->ctx)); }

/* ---- init ---- */

static s3i_svc host_svc(const s3i_deployment *d)
{
	s3i_svc svc = { s3i_ctx_client(d->ctx), NULL, d->host_region };
	return svc;
}

static int init_bucket(s3i_deployment *d)
{
	s3i_svc svc = host_svc(d);
	const char *b = d->consolidated;
	int rc = s3i_s3_create_bucket_op(&svc, b, d->host_region, NULL);
	if (rc)
		goto fail;
	s3i_s3_public_access_block pab = { 1, 1, 1, 1 };
	if ((rc = s3i_s3_put_public_access_block_op(&svc, b, &pab, NULL)))
		goto fail;
	s3i_s3_bucket_encryption enc = { 0, NULL, 0 };
	if ((rc = s3i_s3_put_bucket_encryption_op(&svc, b, &enc, NULL)))
		goto fail;
	/* A run's data and its query results are worth keeping for a while, not forever. */
	s3i_s3_lifecycle_rule rules[] = {
		{ "expire-old-runs", "inventory/", 1, d->retention_days, d->retention_days, 7 },
		{ "expire-old-query-results", "athena/", 1, d->retention_days, d->retention_days, 7 },
	};
	if ((rc = s3i_s3_put_bucket_lifecycle_configuration_op(&svc, b, rules, 2, NULL)))
		goto fail;
	return S3I_OK;
fail:
	s3i_err_prefix(s3i_errinfo_thread(), "deployment %s: init of consolidated bucket %s: ",
		d->name, b);
	return rc;
}

/* Create a queue with `attrs`, or complete an existing one with them. */
static int ensure_queue(s3i_deployment *d, const char *name, const s3i_sqs_kv *attrs, size_t n,
	char *url, size_t cap)
{
	s3i_svc svc = host_svc(d);
	s3i_errinfo err;
	s3i_errinfo_init(&err);
	int rc = s3i_sqs_create_queue_op(&svc, name, attrs, n, NULL, 0, url, cap, &err);
	if (rc == S3I_EEXISTS) {
		/* exists with other attributes: keep the queue (it may hold messages), set ours */
		if ((rc = s3i_sqs_get_queue_url_op(&svc, name, NULL, url, cap, NULL)) ||
		    (rc = s3i_sqs_set_queue_attributes_op(&svc, url, attrs, n, NULL)))
			return rc;
		return S3I_OK;
	}
	return rc;
}

static int queue_arn(s3i_deployment *d, const char *url, char *out, size_t cap)
{
	s3i_svc svc = host_svc(d);
	s3i_sqs_attrs attrs;
	s3i_sqs_attrs_init(&attrs, d->alloc);
	const char *names[] = { "QueueArn" };
	int rc = s3i_sqs_get_queue_attributes_op(&svc, url, names, 1, &attrs, NULL);
	if (!rc) {
		if (!attrs.arn || strlen(attrs.arn) >= cap)
			rc = s3i_err(NULL, S3I_EPARSE, url, "GetQueueAttributes of %s returned no QueueArn", url);
		else
			snprintf(out, cap, "%s", attrs.arn);
	}
	s3i_sqs_attrs_free(&attrs);
	return rc;
}

static int init_queues(s3i_deployment *d)
{
	char dlq_url[1024], dlq_arn[512], url[1024], arn[512], redrive[700];
	s3i_sqs_kv dlq_attrs[] = { { "MessageRetentionPeriod", DLQ_RETENTION_S } };
	int rc = ensure_queue(d, d->dlq, dlq_attrs, 1, dlq_url, sizeof(dlq_url));
	if (rc || (rc = queue_arn(d, dlq_url, dlq_arn, sizeof(dlq_arn))))
		goto fail;
	if ((rc = s3i_sqs_redrive_policy(redrive, sizeof(redrive), dlq_arn, QUEUE_MAX_RECEIVES))) {
		s3i_err(NULL, rc, d->dlq, "redrive policy for %s does not fit", dlq_arn);
		goto fail;
	}
	/* Only the deployment's own per-run topics may send: the account, the topic name pattern
	 * of DESIGN §2, any region that holds source buckets. */
	s3i_buf policy = S3I_BUF_INIT;
	s3i_buf_init(&policy, d->alloc);
	rc = s3i_buf_printf(&policy,
		"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AllowDeploymentTopics\","
		"\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"sns.amazonaws.com\"},"
		"\"Action\":\"sqs:SendMessage\",\"Resource\":\"arn:%s:sqs:%s:%s:%s\","
		"\"Condition\":{\"ArnLike\":{\"aws:SourceArn\":\"arn:%s:sns:*:%s:%s-*-sns-notification-topic\"}}}]}",
		d->partition, d->host_region, d->host_account, d->queue,
		d->partition, d->host_account, d->name);
	if (rc) {
		s3i_buf_dispose(&policy);
		rc = s3i_err(NULL, S3I_ENOMEM, d->queue, "queue policy: out of memory");
		goto fail;
	}
	s3i_sqs_kv attrs[] = {
		{ "VisibilityTimeout", QUEUE_VISIBILITY_S },
		{ "RedrivePolicy", redrive },
		{ "Policy", s3i_buf_cstr(&policy) },
	};
	rc = ensure_queue(d, d->queue, attrs, 3, url, sizeof(url));
	s3i_buf_dispose(&policy);
	if (rc || (rc = queue_arn(d, url, arn, sizeof(arn))))
		goto fail;
	pthread_mutex_lock(&d->lock);
	snprintf(d->queue_url, sizeof(d->queue_url), "%s", url);
	snprintf(d->dlq_url, sizeof(d->dlq_url), "%s", dlq_url);
	pthread_mutex_unlock(&d->lock);
	return S3I_OK;
fail:
	s3i_err_prefix(s3i_errinfo_thread(), "deployment %s: init of queues %s and %s: ", d->name,
		d->queue, d->dlq);
	return rc;
}

int s3i_deployment_init(s3i_deployment *d)
{
	if (!d)
		return s3i_err(NULL, S3I_EINVALID, NULL, "deployment init: no deployment");
	int rc = s3i_state_create_table(d->state, STATE_TABLE_TIMEOUT_MS, NULL);
	if (rc) {
		s3i_err_prefix(s3i_errinfo_thread(), "deployment %s: init of state table %s: ",
			d->name, d->state_table);
		return rc;
	}
	if ((rc = init_bucket(d)) || (rc = init_queues(d)))
		return rc;
	return S3I_OK;
}

static int cached_url(s3i_deployment *d, char *cache, const char *name, char *out, size_t cap)
{
	if (!d || !out || !cap)
		return s3i_err(NULL, S3I_EINVALID, NULL, "deployment: queue URL needs a buffer");
	char url[1024];
	pthread_mutex_lock(&d->lock);
	snprintf(url, sizeof(url), "%s", cache);
	pthread_mutex_unlock(&d->lock);
	if (!*url) {
		s3i_svc svc = host_svc(d);
		int rc = s3i_sqs_get_queue_url_op(&svc, name, NULL, url, sizeof(url), NULL);
		if (rc) {
			if (rc == S3I_ENOTFOUND)
				s3i_err_prefix(s3i_errinfo_thread(),
					"deployment %s has no queue (run init first): ", d->name);
			return rc;
		}
		pthread_mutex_lock(&d->lock);
		snprintf(cache, 1024, "%s", url);
		pthread_mutex_unlock(&d->lock);
	}
	if (strlen(url) >= cap)
		return s3i_err(NULL, S3I_EINVALID, name, "queue URL of %s does not fit %zu bytes", name, cap);
	memcpy(out, url, strlen(url) + 1);
	return S3I_OK;
}

int s3i_deployment_queue_url(s3i_deployment *d, char *out, size_t cap)
{
	return cached_url(d, d ? d->queue_url : NULL, d ? d->queue : NULL, out, cap);
}

int s3i_deployment_dlq_url(s3i_deployment *d, char *out, size_t cap)
{
	return cached_url(d, d ? d->dlq_url : NULL, d ? d->dlq : NULL, out, cap);
}

/* ---- per-account service handles ---- */

int s3i_deployment_account_svc(s3i_deployment *d, const char *account, const char *region,
	const char *role_name, const char *external_id, s3i_svc *out, s3i_credprov **hold,
	s3i_errinfo *err)
{
	*hold = NULL;
	out->client = s3i_ctx_client(d->ctx);
	out->creds = NULL;
	out->region = region ? region : d->host_region;
	if (!account || !strcmp(account, d->host_account))
		return S3I_OK;
	char arn[S3I_STS_ARN_SIZE];
	int rc = s3i_sts_role_arn(arn, sizeof(arn), d->partition, account,
		role_name && *role_name ? role_name : d->role_name, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&d->lock);
	if (!d->roles)
		rc = s3i_sts_role_cache_new_ctx(&d->roles, d->ctx, err);
	pthread_mutex_unlock(&d->lock);
	if (rc)
		return rc;
	char session[64];
	snprintf(session, sizeof(session), "s3insights-%s", d->name);
	s3i_sts_role role = { arn, session, external_id && *external_id ? external_id : NULL, 0 };
	if ((rc = s3i_sts_role_cache_get(d->roles, &role, hold, err)))
		return rc;
	out->creds = *hold;
	return S3I_OK;
}

/* ---- runs ---- */

typedef struct list_runs_walk {
	s3i_run_list_fn fn;
	void *user;
	int stopped;    /* fn's non-zero value */
} list_runs_walk;

static int list_runs_item(void *user, const char *run_id, s3i_run_phase phase, int finished)
{
	list_runs_walk *w = user;
	int v = w->fn(w->user, run_id, s3i_run_phase_name(phase), finished);
	if (v)
		w->stopped = v;
	return v;
}

int s3i_deployment_list_runs(s3i_deployment *d, int unfinished_only, s3i_run_list_fn fn,
	void *user)
{
	if (!d || !fn)
		return s3i_err(NULL, S3I_EINVALID, NULL, "deployment: list_runs needs a deployment and a "
			"callback");
	list_runs_walk w = { fn, user, 0 };
	int rc = s3i_state_runs_list(d->state, unfinished_only, list_runs_item, &w, NULL);
	if (w.stopped)
		return w.stopped;   /* the caller's value, as documented; the detail is not set */
	if (rc)
		s3i_err_prefix(s3i_errinfo_thread(), "deployment %s: listing the runs in %s: ", d->name,
			d->state_table);
	return rc;
}
