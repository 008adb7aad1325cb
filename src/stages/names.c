/* Resource names: see names.h. */
#include "stages/names.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int lower_alnum(const char *s, size_t min, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n < min || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static int has_upper(const char *s)
{
	for (; s && *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 1;
	return 0;
}

int s3i_names_check_deployment(const char *d, s3i_errinfo *err)
{
	if (lower_alnum(d, 4, 15))
		return S3I_OK;
	return s3i_err(err, S3I_EINVALID, "deployment",
		"deployment name \"%s\" must be 4-15 characters of a-z and 0-9%s", d ? d : "",
		has_upper(d) ? " (no uppercase: it ends up in bucket names)" : "");
}

int s3i_names_check_run_id(const char *r, s3i_errinfo *err)
{
	if (lower_alnum(r, 1, 8))
		return S3I_OK;
	return s3i_err(err, S3I_EINVALID, "run_id",
		"run_id \"%s\" must be 1-8 characters of a-z and 0-9%s", r ? r : "",
		has_upper(r) ? " (no uppercase: it ends up in bucket names)" : "");
}

int s3i_names_check_account(const char *account, s3i_errinfo *err)
{
	size_t n = account ? strlen(account) : 0;
	int ok = n == 12;
	for (size_t i = 0; ok && i < n; i++)
		ok = account[i] >= '0' && account[i] <= '9';
	if (ok)
		return S3I_OK;
	return s3i_err(err, S3I_EINVALID, "account", "\"%s\" is not a 12-digit account id",
		account ? account : "");
}

static int put(char *out, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
static int put(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			out[0] = '\0';
		return S3I_EINVALID;
	}
	return S3I_OK;
}

#define NEED(x) do { if (!(x) || !*(x)) { if (cap) out[0] = '\0'; return S3I_EINVALID; } } while (0)

int s3i_names_state_table(char *out, size_t cap, const char *d)
{
	NEED(d);
	return put(out, cap, "%s_configuration_table", d);
}

int s3i_names_consolidated_bucket(char *out, size_t cap, const char *d, const char *host_account)
{
	NEED(d);
	NEED(host_account);
	return put(out, cap, "%s-%s-consolidated", d, host_account);
}

int s3i_names_queue(char *out, size_t cap, const char *d)
{
	NEED(d);
	return put(out, cap, "%s-sqs-consolidate-inventory-files", d);
}

int s3i_names_dlq(char *out, size_t cap, const char *d)
{
	NEED(d);
	return put(out, cap, "%s-sqs-dlq", d);
}

int s3i_names_cross_account_role(char *out, size_t cap, const char *d)
{
	NEED(d);
	return put(out, cap, "%s-cross-account-iam-role", d);
}

int s3i_names_stack(char *out, size_t cap, const char *d, const char *r)
{
	NEED(d);
	NEED(r);
	return put(out, cap, "%s-%s-stack-dest-resources", d, r);
}

int s3i_names_staging_bucket(char *out, size_t cap, const char *d, const char *r,
	const char *host_account, const char *region)
{
	NEED(d);
	NEED(r);
	NEED(host_account);
	NEED(region);
	/* S3 bucket names are at most 63 characters. */
	if (put(out, cap, "%s-%s-dest-%s-%s", d, r, host_account, region) || strlen(out) > 63) {
		if (cap)
			out[0] = '\0';
		return S3I_EINVALID;
	}
	return S3I_OK;
}

int s3i_names_topic(char *out, size_t cap, const char *d, const char *r)
{
	NEED(d);
	NEED(r);
	return put(out, cap, "%s-%s-sns-notification-topic", d, r);
}

int s3i_names_inventory_id(char *out, size_t cap, const char *d, const char *r)
{
	NEED(d);
	NEED(r);
	return put(out, cap, "%s-%s-s3-inventory", d, r);
}

int s3i_names_partition_prefix(char *out, size_t cap, const char *r, const char *account,
	const char *region, const char *bucket)
{
	NEED(r);
	NEED(account);
	NEED(region);
	NEED(bucket);
	return put(out, cap, "inventory/%s/account=%s/region=%s/bucketname=%s/", r, account, region,
		bucket);
}

int s3i_names_query_prefix(char *out, size_t cap, const char *r)
{
	NEED(r);
	return put(out, cap, "athena/%s/", r);
}

int s3i_names_is_pipeline_bucket(const char *bucket, const char *d, const char *host_account)
{
	char name[128];
	if (!bucket || !d || !host_account)
		return 0;
	if (!s3i_names_consolidated_bucket(name, sizeof(name), d, host_account) && !strcmp(bucket, name))
		return 1;
	/* D-<R>-dest-<host account>-<region>, whatever the run */
	size_t dl = strlen(d);
	if (strncmp(bucket, d, dl) || bucket[dl] != '-')
		return 0;
	const char *rest = bucket + dl + 1;
	const char *dash = strchr(rest, '-');
	if (!dash || dash == rest)
		return 0;
	snprintf(name, sizeof(name), "-dest-%s-", host_account);
	return !strncmp(dash, name, strlen(name));
}
