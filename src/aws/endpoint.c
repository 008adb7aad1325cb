#include "aws/endpoint.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

/* Endpoint prefix -> the service id the SDKs use in AWS_ENDPOINT_URL_<ID> and in the config
 * file's `services` sections (upper-cased for the variable, lower-cased for the file). */
static const struct { const char *endpoint_id, *service_id; } service_ids[] = {
	{ "s3", "S3" }, { "sts", "STS" }, { "dynamodb", "DYNAMODB" }, { "sqs", "SQS" },
	{ "sns", "SNS" }, { "cloudformation", "CLOUDFORMATION" }, { "athena", "ATHENA" },
	{ "email", "SES" }, { "organizations", "ORGANIZATIONS" }, { "iam", "IAM" },
	{ "states", "SFN" }, { "lambda", "LAMBDA" }, { "glue", "GLUE" }, { NULL, NULL }
};

static const char *service_id_of(const char *endpoint_id)
{
	for (int i = 0; service_ids[i].endpoint_id; i++)
		if (!strcmp(service_ids[i].endpoint_id, endpoint_id))
			return service_ids[i].service_id;
	return NULL;
}

static int env_true(const char *name)
{
	const char *v = getenv(name);
	return v && (s3i_strcaseeq(v, "true") || !strcmp(v, "1"));
}

/* `source` says where the URL came from, for the error message ("AWS_ENDPOINT_URL_S3"). */
static int parse_url(s3i_endpoint *out, const char *url, const char *source, s3i_errinfo *err)
{
	const char *p = strstr(url, "://");
	if (!p || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return s3i_err(err, S3I_EINVALID, "endpoint_url",
			"endpoint_url '%.200s' (%s) must start with http:// or https://", url, source);
	size_t n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n >= sizeof(out->base))
		return s3i_err(err, S3I_EINVALID, "endpoint_url",
			"endpoint_url '%.200s...' (%s) is too long", url, source);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return s3i_err(err, S3I_EINVALID, "endpoint_url",
				"endpoint_url '%.200s' (%s) contains a space or control character", url, source);
	memcpy(out->base, url, n);
	out->base[n] = '\0';
	const char *host = p + 3;
	size_t hlen = strcspn(host, "/?#");
	if (hlen == 0 || hlen >= sizeof(out->host) || host[0] == ':')
		return s3i_err(err, S3I_EINVALID, "endpoint_url", "endpoint_url '%.200s' (%s) has no host",
			url, source);
	if (strpbrk(host, "?#"))
		return s3i_err(err, S3I_EINVALID, "endpoint_url",
			"endpoint_url '%.200s' (%s) must not carry a query or fragment", url, source);
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->is_https = !strncmp(url, "https://", 8);
	return S3I_OK;
}

static const char *configured_url(const char *endpoint_id, const s3i_profile_set *profiles,
	const char *profile, char *source, size_t source_cap)
{
	const char *sid = service_id_of(endpoint_id);
	/* the variable, when set, decides over the profile setting (SDK settings precedence) */
	const char *ign_env = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	if (ign_env && *ign_env) {
		if (env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
			return NULL;
	} else if (profiles) {
		const char *ign = s3i_profiles_get(profiles, profile, "ignore_configured_endpoint_urls");
		if (ign && s3i_strcaseeq(ign, "true"))
			return NULL;
	}
	if (sid) {
		char name[64];
		snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", sid);
		const char *v = getenv(name);
		if (v && *v) {
			snprintf(source, source_cap, "from %s", name);
			return v;
		}
	}
	const char *v = getenv("AWS_ENDPOINT_URL");
	if (v && *v) {
		snprintf(source, source_cap, "from AWS_ENDPOINT_URL");
		return v;
	}
	if (!profiles)
		return NULL;
	if (sid) {
		/* services = NAME in the profile, then [services NAME] with "<service> =" sub-sections */
		const char *section = s3i_profiles_get(profiles, profile, "services");
		if (section) {
			char lower[64];
			size_t i = 0;
			for (; sid[i] && i + 1 < sizeof(lower); i++)
				lower[i] = (char)tolower((unsigned char)sid[i]);
			lower[i] = '\0';
			char sname[256];
			snprintf(sname, sizeof(sname), "services %s", section);
			const char *u = s3i_profiles_get_sub(profiles, sname, lower, "endpoint_url");
			if (u && *u) {
				snprintf(source, source_cap, "from [%.100s] %s in the config file", sname, lower);
				return u;
			}
		}
	}
	v = s3i_profiles_get(profiles, profile, "endpoint_url");
	if (v && *v) {
		snprintf(source, source_cap, "from profile '%.100s'", s3i_profile_name(profile));
		return v;
	}
	return NULL;
}

/* The partitions (botocore's endpoints.json) by region prefix: DNS suffix, and the endpoint
 * and credential-scope region of the global services in each. */
typedef struct partition {
	const char *region_prefix;     /* "" matches every region: the aws partition, last */
	const char *dns_suffix;
	const char *iam_host;          /* IAM's one endpoint in the partition */
	const char *iam_region;        /* ... and the region it signs in */
	const char *org_region;        /* Organizations: organizations.<org_region>.<suffix> */
} partition;

static const partition partitions[] = {
	{ "cn-", "amazonaws.com.cn", "iam.cn-north-1.amazonaws.com.cn", "cn-north-1", "cn-northwest-1" },
	{ "us-gov-", "amazonaws.com", "iam.us-gov.amazonaws.com", "us-gov-west-1", "us-gov-west-1" },
	{ "us-iso-", "c2s.ic.gov", "iam.us-iso-east-1.c2s.ic.gov", "us-iso-east-1", "us-iso-east-1" },
	{ "us-isob-", "sc2s.sgov.gov", "iam.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1",
		"us-isob-east-1" },
	{ "us-isof-", "csp.hci.ic.gov", "iam.us-isof-south-1.csp.hci.ic.gov", "us-isof-south-1",
		"us-isof-south-1" },
	{ "eu-isoe-", "cloud.adc-e.uk", NULL, NULL, "eu-isoe-west-1" },
	{ "", "amazonaws.com", "iam.amazonaws.com", "us-east-1", "us-east-1" },
};

static const partition *partition_of(const char *region)
{
	size_t i = 0;
	while (strncmp(region, partitions[i].region_prefix, strlen(partitions[i].region_prefix)))
		i++;
	return &partitions[i];
}

const char *s3i_endpoint_global_region(const char *service_id, const char *region)
{
	const partition *p = partition_of(region ? region : "");
	if (!strcmp(service_id, "iam"))
		return p->iam_region ? p->iam_region : partitions[0].iam_region;
	if (!strcmp(service_id, "organizations"))
		return p->org_region;
	return NULL;
}

int s3i_endpoint_resolve(s3i_endpoint *out, const char *service_id, const char *region,
	const char *explicit_url, const s3i_profile_set *profiles, const char *profile,
	s3i_errinfo *err)
{
	memset(out, 0, sizeof(*out));
	char source[256] = "the endpoint_url option";
	const char *url = explicit_url && *explicit_url ? explicit_url
		: configured_url(service_id, profiles, profile, source, sizeof(source));
	const char *global = region && s3i_region_is_valid(region)
		? s3i_endpoint_global_region(service_id, region) : NULL;
	if (url) {
		out->is_custom = 1;
		if (global)
			snprintf(out->signing_region, sizeof(out->signing_region), "%s", global);
		return parse_url(out, url, source, err);
	}
	if (!region || !s3i_region_is_valid(region))
		return s3i_err(err, S3I_EINVALID, "region", "region '%s' is not a valid AWS region",
			region ? region : "(none)");
	const partition *p = partition_of(region);
	char buf[512];
	if (!strcmp(service_id, "iam") && p->iam_host)
		snprintf(buf, sizeof(buf), "https://%s", p->iam_host);
	else if (!strcmp(service_id, "organizations"))
		snprintf(buf, sizeof(buf), "https://organizations.%s.%s", p->org_region, p->dns_suffix);
	else
		snprintf(buf, sizeof(buf), "https://%s.%s.%s", service_id, region, p->dns_suffix);
	if (global)
		snprintf(out->signing_region, sizeof(out->signing_region), "%s", global);
	return parse_url(out, buf, "standard endpoint", err);
}

const char *s3i_region_resolve(const char *explicit_region, const s3i_profile_set *profiles,
	const char *profile)
{
	if (explicit_region && *explicit_region)
		return explicit_region;
	const char *v = getenv("AWS_REGION");
	if (v && *v)
		return v;
	v = getenv("AWS_DEFAULT_REGION");
	if (v && *v)
		return v;
	if (profiles) {
		v = s3i_profiles_get(profiles, profile, "region");
		if (v && *v)
			return v;
	}
	return NULL;
}

int s3i_region_is_valid(const char *r)
{
	/* letters-and-digits groups joined by single dashes, ending in a number: us-east-1,
	 * us-gov-west-1, us-isob-east-1, ap-southeast-2, cn-north-1. */
	size_t n = strlen(r);
	if (n < 4 || n > 32 || !isdigit((unsigned char)r[n - 1]))
		return 0;
	int groups = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)r[i];
		if (c == '-') {
			if (i == 0 || r[i - 1] == '-' || i + 1 == n)
				return 0;
			groups++;
		} else if (!(islower(c) || isdigit(c))) {
			return 0;
		}
	}
	return groups >= 3;
}

int s3i_s3_bucket_is_dns_compatible(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];
		if (!(islower(c) || isdigit(c) || c == '-' || c == '.'))
			return 0;
		if (c == '.' && (i == 0 || b[i - 1] == '.' || b[i - 1] == '-' || b[i + 1] == '-'))
			return 0;
	}
	if (!isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
		return 0;
	int dots = 0, digits_only = 1;
	for (size_t i = 0; i < n; i++) {
		if (b[i] == '.')
			dots++;
		else if (!isdigit((unsigned char)b[i]))
			digits_only = 0;
	}
	return !(dots == 3 && digits_only); /* not formatted like an IP address */
}

int s3i_s3_url(const s3i_endpoint *ep, const char *bucket, const char *key, int force_path_style,
	s3i_buf *out_url, s3i_buf *out_path, s3i_buf *out_host)
{
	int rc;
	int path_style = force_path_style || ep->is_custom || (bucket && (strchr(bucket, '.') ||
		!s3i_s3_bucket_is_dns_compatible(bucket)));
	s3i_buf_clear(out_path);
	s3i_buf_clear(out_host);
	s3i_buf_clear(out_url);
	/* A custom endpoint may carry a base path ("http://host:port/s3"); keep it. */
	const char *base_path = strstr(ep->base, "://");
	base_path = base_path ? strchr(base_path + 3, '/') : NULL;
	if (base_path && (rc = s3i_buf_puts(out_path, base_path)))
		return rc;
	if (bucket && path_style) {
		if ((rc = s3i_buf_putc(out_path, '/')) ||
			(rc = s3i_uri_encode(out_path, bucket, strlen(bucket), 0)))
			return rc;
	}
	if ((rc = s3i_buf_putc(out_path, '/')))
		return rc;
	if (key && (rc = s3i_uri_encode_s3_key(out_path, key, strlen(key))))
		return rc;
	if (bucket && !path_style)
		rc = s3i_buf_printf(out_host, "%s.%s", bucket, ep->host);
	else
		rc = s3i_buf_puts(out_host, ep->host);
	if (rc)
		return rc;
	return s3i_buf_printf(out_url, "%s://%s%s", ep->is_https ? "https" : "http",
		s3i_buf_cstr(out_host), s3i_buf_cstr(out_path));
}
