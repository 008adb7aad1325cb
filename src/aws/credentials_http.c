/*
 * HTTP credential sources: the container credentials endpoint (ECS task roles, EKS Pod
 * Identity) and the EC2 instance metadata service (IMDSv2 with botocore's fallback to v1).
 */
#include "aws/credentials_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/str.h"

#define CONTAINER_HOST_URL "http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS 2000
#define CONTAINER_ATTEMPTS 3
#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_DEFAULT_ENDPOINT_V6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL "21600"
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

/* One request with up to `attempts` tries on transport errors and 5xx. Returns 0 when an
 * answer arrived (whatever its status; the last one after 5xx), else the transport error. */
static int http_try(s3i_credprov *p, const char *method, const char *url, const s3i_headers *h,
	int64_t timeout_ms, int attempts, s3i_http_response *resp, s3i_errinfo *err)
{
	s3i_http *http = NULL;
	int rc = s3i_credprov_http(p, &http, err);
	if (rc)
		return rc;
	s3i_http_request req;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.headers = h;
	req.timeout_ms = timeout_ms;
	for (int attempt = 1;; attempt++) {
		s3i_http_response_reset(resp);
		rc = s3i_http_perform(http, &req, resp, err);
		if ((rc == S3I_OK && resp->status < 500) || attempt >= attempts)
			return rc;
		s3i_credprov_backoff(p, attempt);
	}
}

/* ---------------------------------------------------------------- container */

typedef struct container_impl {
	char *url;
} container_impl;

/* Host of a URL without brackets, port or user info. */
static void url_host(const char *url, char *out, size_t cap)
{
	out[0] = '\0';
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	size_t n = strcspn(h, "/?#");
	const char *at = memchr(h, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	if (n && h[0] == '[') {
		const char *close = memchr(h, ']', n);
		n = close ? (size_t)(close - h) - 1 : 0;
		h++;
	} else {
		const char *colon = memchr(h, ':', n);
		if (colon)
			n = (size_t)(colon - h);
	}
	if (n < cap) {
		memcpy(out, h, n);
		out[n] = '\0';
	}
}

static int host_allowed(const char *host)
{
	unsigned char a4[4], a6[16], e6[16];
	if (!strcasecmp(host, "localhost") || !strcmp(host, "169.254.170.2") ||
		!strcmp(host, "169.254.170.23"))
		return 1;
	if (inet_pton(AF_INET, host, a4) == 1)
		return a4[0] == 127;
	if (inet_pton(AF_INET6, host, a6) == 1) {
		static const unsigned char loop6[16] = { [15] = 1 };
		if (!memcmp(a6, loop6, 16))
			return 1;
		return inet_pton(AF_INET6, "fd00:ec2::23", e6) == 1 && !memcmp(a6, e6, 16);
	}
	return 0;
}

int s3i_container_url_allowed(const char *url)
{
	if (!strncasecmp(url, "https://", 8))
		return 1;
	if (strncasecmp(url, "http://", 7))
		return 0;
	char host[256];
	url_host(url, host, sizeof(host));
	return host[0] && host_allowed(host);
}

int s3i_container_url(s3i_buf *out, s3i_errinfo *err)
{
	const char *rel = s3i_env_get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = s3i_env_get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	int rc;
	if (rel)
		rc = s3i_buf_printf(out, "%s%s%s", CONTAINER_HOST_URL, rel[0] == '/' ? "" : "/", rel);
	else if (!full)
		return S3I_ENOTFOUND;
	else if (!s3i_container_url_allowed(full))
		return s3i_err(err, S3I_EAUTH, "AWS_CONTAINER_CREDENTIALS_FULL_URI",
			"AWS_CONTAINER_CREDENTIALS_FULL_URI %s is not allowed: it must use https, a "
			"loopback host, or 169.254.170.2 / 169.254.170.23 / fd00:ec2::23", full);
	else
		rc = s3i_buf_puts(out, full);
	return rc ? s3i_err(err, rc, NULL, "out of memory reading the container endpoint") : S3I_OK;
}

/* Authorization: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every fetch) wins over
 * AWS_CONTAINER_AUTHORIZATION_TOKEN, as in botocore. */
static int container_auth(s3i_credprov *p, s3i_headers *h, s3i_errinfo *err)
{
	const char *file = s3i_env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tok = s3i_env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	s3i_buf b;
	s3i_buf_init(&b, p->alloc);
	int rc = S3I_OK;
	if (file) {
		rc = s3i_cred_read_file(p->alloc, file, &b, "container authorization token", err);
		tok = s3i_buf_cstr(&b);
	}
	if (rc == S3I_OK && tok && *tok) {
		if (strpbrk(tok, "\r\n"))
			rc = s3i_err(err, S3I_EAUTH, "AWS_CONTAINER_AUTHORIZATION_TOKEN",
				"the container authorization token contains a line break");
		else if ((rc = s3i_headers_set(h, "Authorization", tok)))
			rc = s3i_err(err, rc, NULL, "out of memory building the container request");
	}
	if (b.ptr)
		s3i_free_secret(p->alloc, s3i_buf_detach(&b));
	return rc;
}

static int container_fetch(s3i_credprov *p, s3i_credentials *out, s3i_errinfo *err)
{
	container_impl *c = p->impl;
	s3i_headers h;
	s3i_headers_init(&h, p->alloc);
	s3i_http_response resp;
	s3i_http_response_init(&resp, p->alloc);
	int rc = s3i_headers_set(&h, "Accept", "application/json");
	if (rc)
		rc = s3i_err(err, rc, NULL, "out of memory building the container request");
	if (!rc)
		rc = container_auth(p, &h, err);
	if (!rc && (rc = http_try(p, "GET", c->url, &h, CONTAINER_TIMEOUT_MS, CONTAINER_ATTEMPTS,
		&resp, err)))
		s3i_err_prefix(err, "container credentials from %s: ", c->url);
	if (!rc && resp.status != 200)
		rc = s3i_err_aws(err, S3I_EAUTH, resp.status, NULL, NULL, c->url,
			resp.status == 401 || resp.status == 403
			? "the container credentials endpoint refused the authorization token"
			: "the container credentials endpoint did not answer 200");
	if (!rc)
		rc = s3i_credentials_from_json(out, s3i_buf_cstr(&resp.body), resp.body.size, "Token",
			"container", "the container credentials endpoint", err);
	if (resp.body.ptr)
		s3i_free_secret(p->alloc, s3i_buf_detach(&resp.body));
	s3i_http_response_free(&resp);
	s3i_headers_free(&h);
	return rc;
}

static void container_destroy(s3i_credprov *p)
{
	container_impl *c = p->impl;
	if (c) {
		s3i_free(p->alloc, c->url);
		s3i_free(p->alloc, c);
	}
}

static const s3i_credprov_ops container_ops = { "container credentials", container_fetch, NULL,
	NULL, container_destroy };

int s3i_credprov_new_container(s3i_credprov **out, const s3i_credprov_env *env, const char *url,
	s3i_errinfo *err)
{
	const s3i_allocator *a = env->alloc ? env->alloc : s3i_allocator_default();
	container_impl *c = s3i_calloc(a, 1, sizeof(*c));
	if (!c || !(c->url = s3i_strdup(a, url))) {
		s3i_free(a, c);
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating a container provider");
	}
	return s3i_credprov_create(out, env, &container_ops, c, err);
}

/* ---------------------------------------------------------------- IMDS */

typedef struct imds_impl {
	char *endpoint;             /* no trailing slash */
	int64_t timeout_ms;
	int attempts;
	int v1_disabled;
} imds_impl;

static const char *env_or_profile(const char *env_name, const s3i_profile_set *profiles,
	const char *profile, const char *key)
{
	const char *v = s3i_env_get(env_name);
	if (!v && profiles)
		v = s3i_profiles_get(profiles, profile, key);
	return v && *v ? v : NULL;
}

void s3i_imds_config_load(s3i_imds_config *cfg, const s3i_profile_set *profiles, const char *profile)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->endpoint = env_or_profile("AWS_EC2_METADATA_SERVICE_ENDPOINT", profiles, profile,
		"ec2_metadata_service_endpoint");
	if (!cfg->endpoint) {
		const char *mode = env_or_profile("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", profiles,
			profile, "ec2_metadata_service_endpoint_mode");
		cfg->endpoint = mode && !strcasecmp(mode, "IPv6") ? IMDS_DEFAULT_ENDPOINT_V6
			: IMDS_DEFAULT_ENDPOINT;
	}
	const char *t = env_or_profile("AWS_METADATA_SERVICE_TIMEOUT", profiles, profile,
		"metadata_service_timeout");
	if (t && atof(t) > 0)
		cfg->timeout_ms = (int64_t)(atof(t) * 1000);
	const char *n = env_or_profile("AWS_METADATA_SERVICE_NUM_ATTEMPTS", profiles, profile,
		"metadata_service_num_attempts");
	if (n && atoi(n) > 0)
		cfg->attempts = atoi(n);
	const char *v1 = env_or_profile("AWS_EC2_METADATA_V1_DISABLED", profiles, profile,
		"ec2_metadata_v1_disabled");
	cfg->v1_disabled = v1 && !strcasecmp(v1, "true");
}

/* PUT /latest/api/token. *token stays empty when botocore would fall back to IMDSv1. */
static int imds_token(s3i_credprov *p, s3i_buf *token, s3i_errinfo *err)
{
	imds_impl *m = p->impl;
	s3i_headers h;
	s3i_headers_init(&h, p->alloc);
	s3i_http_response resp;
	s3i_http_response_init(&resp, p->alloc);
	s3i_buf url;
	s3i_buf_init(&url, p->alloc);
	s3i_errinfo e;
	s3i_errinfo_init(&e);
	int rc = s3i_headers_set(&h, "X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL);
	if (!rc)
		rc = s3i_buf_printf(&url, "%s/latest/api/token", m->endpoint);
	if (rc) {
		rc = s3i_err(err, rc, NULL, "out of memory building an IMDS request");
		goto done;
	}
	rc = http_try(p, "PUT", s3i_buf_cstr(&url), &h, m->timeout_ms, m->attempts, &resp, &e);
	if (rc == S3I_OK && resp.status == 200) {
		size_t n = resp.body.size;
		const char *t = s3i_str_trim(s3i_buf_cstr(&resp.body), &n);
		if ((rc = s3i_buf_put(token, t, n)))
			rc = s3i_err(err, rc, NULL, "out of memory reading the IMDS token");
	} else if (rc == S3I_OK && resp.status != 403 && resp.status != 404 && resp.status != 405) {
		rc = s3i_err_aws(err, S3I_EAUTH, resp.status, NULL, NULL, m->endpoint,
			"the instance metadata service refused a session token");
	} else if (m->v1_disabled) {
		if (rc)
			s3i_err(err, rc, m->endpoint, "%s (and IMDSv1 is disabled)", e.message);
		else
			rc = s3i_err_aws(err, S3I_EAUTH, resp.status, NULL, NULL, m->endpoint,
				"no IMDSv2 session token and IMDSv1 is disabled");
	} else {
		s3i_log(p->logger, S3I_LOG_DEBUG, "credentials: no IMDSv2 token (%s); trying IMDSv1",
			rc ? e.message : "token endpoint unavailable");
		rc = S3I_OK;
	}
done:
	if (resp.body.ptr)
		s3i_free_secret(p->alloc, s3i_buf_detach(&resp.body));
	s3i_http_response_free(&resp);
	s3i_headers_free(&h);
	s3i_buf_dispose(&url);
	return rc;
}

/* GET a metadata path with the token; 0 with the body on 200. */
static int imds_get(s3i_credprov *p, const char *token, const char *path, s3i_http_response *resp,
	s3i_errinfo *err)
{
	imds_impl *m = p->impl;
	s3i_headers h;
	s3i_headers_init(&h, p->alloc);
	s3i_buf url;
	s3i_buf_init(&url, p->alloc);
	int rc = s3i_buf_printf(&url, "%s%s", m->endpoint, path);
	if (!rc && *token)
		rc = s3i_headers_set(&h, "X-aws-ec2-metadata-token", token);
	if (rc)
		rc = s3i_err(err, rc, NULL, "out of memory building an IMDS request");
	else
		rc = http_try(p, "GET", s3i_buf_cstr(&url), &h, m->timeout_ms, m->attempts, resp, err);
	if (rc == S3I_OK && resp->status == 404)
		rc = s3i_err_aws(err, S3I_ENOTFOUND, 404, NULL, NULL, m->endpoint,
			"the instance has no IAM role (instance metadata answered 404)");
	else if (rc == S3I_OK && resp->status == 401)
		rc = s3i_err_aws(err, S3I_EAUTH, 401, NULL, NULL, m->endpoint,
			"the instance metadata service rejected the session token (401)");
	else if (rc == S3I_OK && resp->status != 200)
		rc = s3i_err_aws(err, S3I_EAUTH, resp->status, NULL, NULL, m->endpoint,
			"the instance metadata service did not answer 200");
	s3i_headers_free(&h);
	s3i_buf_dispose(&url);
	return rc;
}

static int imds_fetch(s3i_credprov *p, s3i_credentials *out, s3i_errinfo *err)
{
	/* botocore's fetcher refuses too, also for credential_source = Ec2InstanceMetadata */
	if (s3i_env_true("AWS_EC2_METADATA_DISABLED"))
		return s3i_err(err, S3I_EAUTH, NULL, "the instance metadata service is disabled "
			"(AWS_EC2_METADATA_DISABLED=true)");
	s3i_buf token, path;
	s3i_buf_init(&token, p->alloc);
	s3i_buf_init(&path, p->alloc);
	s3i_http_response resp;
	s3i_http_response_init(&resp, p->alloc);
	int rc = imds_token(p, &token, err);
	if (!rc)
		rc = imds_get(p, s3i_buf_cstr(&token), IMDS_CREDS_PATH, &resp, err);
	if (!rc) {
		const char *body = s3i_buf_cstr(&resp.body);
		size_t n = strcspn(body, "\r\n");
		const char *role = s3i_str_trim(body, &n);
		if (!n)
			rc = s3i_err(err, S3I_ENOTFOUND, NULL, "the instance has no IAM role");
		else if ((rc = s3i_buf_puts(&path, IMDS_CREDS_PATH)) ||
			(rc = s3i_uri_encode(&path, role, n, 0)))
			rc = s3i_err(err, rc, NULL, "out of memory building an IMDS request");
	}
	if (!rc)
		rc = imds_get(p, s3i_buf_cstr(&token), s3i_buf_cstr(&path), &resp, err);
	if (!rc) {
		s3i_json doc = NULL;
		/* a "Code" other than Success means the role's credentials are unavailable */
		if (s3i_json_parse(&doc, resp.body.ptr ? resp.body.ptr : "", resp.body.size,
			"IMDS credentials", NULL) == S3I_OK) {
			const char *code = s3i_json_str(s3i_json_get(doc, "Code"));
			if (code && strcmp(code, "Success"))
				rc = s3i_err(err, S3I_EAUTH, NULL, "instance metadata credentials: Code %.60s",
					code);
			s3i_json_free(doc);
		}
	}
	if (!rc)
		rc = s3i_credentials_from_json(out, s3i_buf_cstr(&resp.body), resp.body.size, "Token",
			"imds", "the instance metadata service", err);
	if (resp.body.ptr)
		s3i_free_secret(p->alloc, s3i_buf_detach(&resp.body));
	if (token.ptr)
		s3i_free_secret(p->alloc, s3i_buf_detach(&token));
	s3i_http_response_free(&resp);
	s3i_buf_dispose(&path);
	return rc;
}

static void imds_destroy(s3i_credprov *p)
{
	imds_impl *m = p->impl;
	if (m) {
		s3i_free(p->alloc, m->endpoint);
		s3i_free(p->alloc, m);
	}
}

static const s3i_credprov_ops imds_ops = { "EC2 instance metadata", imds_fetch, NULL, NULL,
	imds_destroy };

int s3i_credprov_new_imds(s3i_credprov **out, const s3i_credprov_env *env,
	const s3i_imds_config *cfg, s3i_errinfo *err)
{
	const s3i_allocator *a = env->alloc ? env->alloc : s3i_allocator_default();
	const char *ep = cfg && cfg->endpoint ? cfg->endpoint : IMDS_DEFAULT_ENDPOINT;
	imds_impl *m = s3i_calloc(a, 1, sizeof(*m));
	if (!m || !(m->endpoint = s3i_strdup(a, ep))) {
		s3i_free(a, m);
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating an IMDS provider");
	}
	size_t n = strlen(m->endpoint);
	while (n > 0 && m->endpoint[n - 1] == '/')
		m->endpoint[--n] = '\0';
	m->timeout_ms = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : 1000;
	m->attempts = cfg && cfg->attempts > 0 ? cfg->attempts : 1;
	m->v1_disabled = cfg ? cfg->v1_disabled : 0;
	return s3i_credprov_create(out, env, &imds_ops, m, err);
}
