/*
 * STS sources: AssumeRole (signed with the source credentials) and
 * AssumeRoleWithWebIdentity (unsigned, with a token read from a file on every refresh).
 * Query protocol: form-encoded POST, XML answer.
 */
#include "aws/credentials_internal.h"

#include <stdio.h>
#include <string.h>

#include "aws/endpoint.h"
#include "aws/protocol.h"
#include "aws/sigv4.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/str.h"
#include "core/xml.h"

#define STS_ATTEMPTS 3
#define STS_TIMEOUT_MS 30000

typedef struct sts_impl {
	int web_identity;
	s3i_credprov *source;       /* AssumeRole: where the signing credentials come from */
	char *role_arn;
	char *session_name;         /* NULL: s3insights-<epoch> per call */
	char *external_id;
	int32_t duration_s;
	char *token_file;           /* web identity */
	char *region;
	s3i_endpoint ep;
	s3i_signer *signer;
} sts_impl;

/* ---------------------------------------------------------------- response parsing */

typedef struct sts_result {
	s3i_buf ak, sk, token, expiration, arn;
} sts_result;

static int sts_end(void *user, const char *path, const char *name, int depth, const char *text,
	size_t len)
{
	(void)name;
	(void)depth;
	sts_result *r = user;
	static const struct { const char *suffix; size_t off; } fields[] = {
		{ "/Credentials/AccessKeyId", offsetof(sts_result, ak) },
		{ "/Credentials/SecretAccessKey", offsetof(sts_result, sk) },
		{ "/Credentials/SessionToken", offsetof(sts_result, token) },
		{ "/Credentials/Expiration", offsetof(sts_result, expiration) },
		{ "/AssumedRoleUser/Arn", offsetof(sts_result, arn) },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (s3i_str_endswith(path, fields[i].suffix)) {
			s3i_buf *b = (s3i_buf *)((char *)r + fields[i].off);
			s3i_buf_clear(b);
			return s3i_buf_put(b, text, len);
		}
	}
	return 0;
}

static int sts_start(void *user, const char *path, const char *name, int depth)
{
	(void)user;
	(void)path;
	(void)name;
	(void)depth;
	return 0;
}

/* The account id is the fifth field of arn:aws:sts::123456789012:assumed-role/r/s. */
static void account_from_arn(const char *arn, char *out, size_t cap)
{
	out[0] = '\0';
	const char *p = arn;
	for (int i = 0; i < 4 && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (!p)
		return;
	size_t n = strcspn(p, ":");
	if (n > 0 && n < cap) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
}

static int sts_parse(s3i_credprov *p, const char *action, const char *body, size_t len,
	s3i_credentials *out, s3i_errinfo *err)
{
	sts_impl *s = p->impl;
	sts_result r;
	s3i_buf *bufs[] = { &r.ak, &r.sk, &r.token, &r.expiration, &r.arn };
	for (size_t i = 0; i < 5; i++)
		s3i_buf_init(bufs[i], p->alloc);
	int64_t exp_ms = 0;
	char account[16];
	int rc = s3i_xml_parse(p->alloc, body, len, sts_start, sts_end, &r, err);
	if (rc)
		s3i_err_prefix(err, "%s into %s: ", action, s->role_arn);
	else if (!r.ak.size || !r.sk.size)
		rc = s3i_err(err, S3I_EPARSE, s->role_arn, "%s into %s: the answer has no Credentials",
			action, s->role_arn);
	else if (r.expiration.size && s3i_time_parse_iso8601(s3i_buf_cstr(&r.expiration), &exp_ms))
		rc = s3i_err(err, S3I_EPARSE, s->role_arn, "%s into %s: invalid Expiration '%.40s'",
			action, s->role_arn, s3i_buf_cstr(&r.expiration));
	if (rc == S3I_OK) {
		account_from_arn(s3i_buf_cstr(&r.arn), account, sizeof(account));
		rc = s3i_credentials_set(out, s3i_buf_cstr(&r.ak), s3i_buf_cstr(&r.sk),
			s3i_buf_cstr(&r.token), exp_ms, s->web_identity ? "web-identity" : "assume-role",
			account);
		if (rc)
			s3i_err(err, rc, NULL, "out of memory reading the %s answer", action);
	}
	for (size_t i = 0; i < 5; i++)
		if (bufs[i]->ptr)
			s3i_free_secret(p->alloc, s3i_buf_detach(bufs[i]));
	return rc;
}

/* ---------------------------------------------------------------- the call */

static int sts_params(s3i_credprov *p, s3i_params *params, const char *token)
{
	sts_impl *s = p->impl;
	int rc = s3i_params_add(params, "Action",
		s->web_identity ? "AssumeRoleWithWebIdentity" : "AssumeRole");
	if (!rc)
		rc = s3i_params_add(params, "Version", "2011-06-15");
	if (!rc)
		rc = s3i_params_add(params, "RoleArn", s->role_arn);
	if (!rc && s->session_name)
		rc = s3i_params_add(params, "RoleSessionName", s->session_name);
	else if (!rc)
		rc = s3i_params_addf(params, "RoleSessionName", "s3insights-%lld",
			(long long)(s3i_credprov_now_ms(p) / 1000));
	if (!rc && s->external_id)
		rc = s3i_params_add(params, "ExternalId", s->external_id);
	if (!rc && s->duration_s > 0)
		rc = s3i_params_addf(params, "DurationSeconds", "%d", (int)s->duration_s);
	if (!rc && token)
		rc = s3i_params_add(params, "WebIdentityToken", token);
	return rc;
}

/* Path part of the endpoint base ("/" when it has none). */
static const char *base_path(const s3i_endpoint *ep)
{
	const char *p = strstr(ep->base, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	return p ? p : "";
}

static int sts_headers(s3i_credprov *p, s3i_headers *h, const char *path, const s3i_buf *body,
	const s3i_credentials *cr, s3i_errinfo *err)
{
	sts_impl *s = p->impl;
	int rc = s3i_headers_set(h, "Host", s->ep.host);
	if (!rc)
		rc = s3i_headers_set(h, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
	if (!rc)
		rc = s3i_headers_set(h, "Accept", "text/xml");
	if (rc)
		return s3i_err(err, rc, NULL, "out of memory building an STS request");
	if (!cr)
		return S3I_OK;   /* AssumeRoleWithWebIdentity is not signed */
	if (!s->signer && (rc = s3i_signer_new(&s->signer, p->alloc)))
		return s3i_err(err, rc, NULL, "could not create a SigV4 signer");
	s3i_sigv4_request sr = {
		.method = "POST", .path = path, .query = NULL, .headers = h, .payload_hash = NULL,
		.region = s->region, .service = "sts", .time_s = s3i_credprov_now_ms(p) / 1000,
		.flags = 0,
		/* the signer hashes the body itself, overlapping that with the rest of its work */
		.payload = s3i_buf_cstr(body), .payload_len = body->size,
	};
	s3i_sigv4_creds sc = { cr->access_key_id, cr->secret_access_key, cr->session_token };
	return s3i_sigv4_sign(s->signer, &sr, &sc, NULL, NULL, err);
}

/* One attempt. Sets *retry when another attempt may succeed. */
static int sts_attempt(s3i_credprov *p, const char *action, const char *url, const char *path,
	const s3i_buf *body, const s3i_credentials *cr, s3i_credentials *out, int *retry,
	s3i_errinfo *err)
{
	sts_impl *s = p->impl;
	s3i_http *http = NULL;
	s3i_headers h;
	s3i_headers_init(&h, p->alloc);
	s3i_http_response resp;
	s3i_http_response_init(&resp, p->alloc);
	int rc = s3i_credprov_http(p, &http, err);
	if (!rc)
		rc = sts_headers(p, &h, path, body, cr, err);
	if (!rc) {
		s3i_http_request req;
		memset(&req, 0, sizeof(req));
		req.method = "POST";
		req.url = url;
		req.headers = &h;
		req.body = s3i_buf_cstr(body);
		req.body_len = body->size;
		req.timeout_ms = STS_TIMEOUT_MS;
		rc = s3i_http_perform(http, &req, &resp, err);
		if (rc) {
			*retry = 1;
			s3i_err_prefix(err, "%s into %s: ", action, s->role_arn);
		}
	}
	if (!rc && (resp.status < 200 || resp.status > 299)) {
		s3i_aws_error_body eb;
		s3i_aws_error_parse(&eb, resp.status, &resp.headers, s3i_buf_cstr(&resp.body),
			resp.body.size);
		*retry = s3i_aws_error_is_retryable(resp.status, eb.code) ||
			!strcmp(eb.code, "IDPCommunicationError");
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s into %s failed: %s%s%s", action, s->role_arn, eb.code,
			eb.message[0] ? ": " : "", eb.message);
		rc = s3i_err_aws(err, s3i_aws_error_status(resp.status, eb.code), resp.status, eb.code,
			eb.request_id, s->role_arn, msg);
	} else if (!rc) {
		rc = sts_parse(p, action, s3i_buf_cstr(&resp.body), resp.body.size, out, err);
	}
	s3i_http_response_free(&resp);
	s3i_headers_free(&h);
	return rc;
}

static int sts_fetch(s3i_credprov *p, s3i_credentials *out, s3i_errinfo *err)
{
	sts_impl *s = p->impl;
	const char *action = s->web_identity ? "AssumeRoleWithWebIdentity" : "AssumeRole";
	s3i_credentials src;
	s3i_credentials_init(&src, p->alloc);
	s3i_buf token, body, url, path;
	s3i_buf_init(&token, p->alloc);
	s3i_buf_init(&body, p->alloc);
	s3i_buf_init(&url, p->alloc);
	s3i_buf_init(&path, p->alloc);
	s3i_params params;
	s3i_params_init(&params, p->alloc);
	int rc;
	if (s->web_identity)
		rc = s3i_cred_read_file(p->alloc, s->token_file, &token, "web identity token", err);
	else if ((rc = s3i_credprov_get(s->source, &src, err)))
		s3i_err_prefix(err, "%s into %s: source credentials: ", action, s->role_arn);
	if (!rc && s->web_identity && !token.size)
		rc = s3i_err(err, S3I_EAUTH, s->token_file, "the web identity token file %s is empty",
			s->token_file);
	if (!rc && ((rc = sts_params(p, &params, s->web_identity ? s3i_buf_cstr(&token) : NULL)) ||
		(rc = s3i_params_encode(&params, &body)) ||
		(rc = s3i_buf_printf(&path, "%s/", base_path(&s->ep))) ||
		(rc = s3i_buf_printf(&url, "%s/", s->ep.base))))
		rc = s3i_err(err, rc, NULL, "out of memory building the %s request", action);
	for (int attempt = 1; rc == S3I_OK; attempt++) {
		int retry = 0;
		rc = sts_attempt(p, action, s3i_buf_cstr(&url), s3i_buf_cstr(&path), &body,
			s->web_identity ? NULL : &src, out, &retry, err);
		if (rc == S3I_OK || !retry || attempt >= STS_ATTEMPTS)
			break;
		s3i_log(p->logger, S3I_LOG_DEBUG, "credentials: %s into %s failed (%s); retrying",
			action, s->role_arn, s3i_strerror(rc));
		s3i_credprov_backoff(p, attempt);
		rc = S3I_OK;
	}
	if (rc == S3I_OK)
		s3i_log(p->logger, S3I_LOG_DEBUG, "credentials: %s into %s succeeded (account %s)",
			action, s->role_arn, out->account_id[0] ? out->account_id : "?");
	s3i_params_free(&params);
	if (token.ptr)
		s3i_free_secret(p->alloc, s3i_buf_detach(&token));
	if (body.ptr)
		s3i_free_secret(p->alloc, s3i_buf_detach(&body));
	s3i_buf_dispose(&url);
	s3i_buf_dispose(&path);
	s3i_credentials_free(&src);
	return rc;
}

static void sts_destroy(s3i_credprov *p)
{
	sts_impl *s = p->impl;
	if (!s)
		return;
	const s3i_allocator *a = p->alloc;
	s3i_credprov_release(s->source);
	s3i_free(a, s->role_arn);
	s3i_free(a, s->session_name);
	s3i_free(a, s->external_id);
	s3i_free(a, s->token_file);
	s3i_free(a, s->region);
	s3i_signer_free(s->signer);
	s3i_free(a, s);
}

static const s3i_credprov_ops assume_role_ops = { "AssumeRole", sts_fetch, NULL, NULL, sts_destroy };
static const s3i_credprov_ops web_identity_ops = { "AssumeRoleWithWebIdentity", sts_fetch, NULL,
	NULL, sts_destroy };

/* Common construction: copies, the region and the STS endpoint. */
static int sts_new(s3i_credprov **out, const s3i_credprov_env *env, sts_impl *s,
	const char *role_arn, const char *session_name, const char *external_id, s3i_errinfo *err)
{
	const s3i_allocator *a = env->alloc ? env->alloc : s3i_allocator_default();
	const char *profile = s3i_profile_name(env->profile);
	const char *region = env->region && *env->region ? env->region
		: s3i_region_resolve(NULL, env->profiles, profile);
	if (!region)
		region = "us-east-1";
	int rc = S3I_OK;
	if (!(s->role_arn = s3i_strdup(a, role_arn)) || !(s->region = s3i_strdup(a, region)) ||
		(session_name && *session_name && !(s->session_name = s3i_strdup(a, session_name))) ||
		(external_id && *external_id && !(s->external_id = s3i_strdup(a, external_id))))
		rc = s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating an STS provider");
	if (!rc && (rc = s3i_endpoint_resolve(&s->ep, "sts", region, env->endpoint_url,
		env->profiles, profile, err)))
		s3i_err_prefix(err, "credentials for %s: ", role_arn);
	if (rc) {
		s3i_credprov tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.alloc = a;
		tmp.impl = s;
		sts_destroy(&tmp);
		return rc;
	}
	rc = s3i_credprov_create(out, env, s->web_identity ? &web_identity_ops : &assume_role_ops,
		s, err);
	if (rc == S3I_OK)
		snprintf((*out)->what, sizeof((*out)->what), "%s into %.150s",
			s->web_identity ? "AssumeRoleWithWebIdentity" : "AssumeRole", role_arn);
	return rc;
}

int s3i_credprov_new_assume_role(s3i_credprov **out, const s3i_credprov_env *env,
	s3i_credprov *source, const char *role_arn, const char *session_name,
	const char *external_id, int32_t duration_s, s3i_errinfo *err)
{
	if (!env || !source || !role_arn || !*role_arn)
		return s3i_err(err, S3I_EINVALID, "role_arn",
			"s3i_credprov_new_assume_role needs an environment, a source and a role ARN");
	if (duration_s < 0)
		return s3i_err(err, S3I_EINVALID, role_arn, "AssumeRole into %s: negative duration",
			role_arn);
	const s3i_allocator *a = env->alloc ? env->alloc : s3i_allocator_default();
	sts_impl *s = s3i_calloc(a, 1, sizeof(*s));
	if (!s)
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating an AssumeRole provider");
	s->source = s3i_credprov_acquire(source);
	s->duration_s = duration_s;
	return sts_new(out, env, s, role_arn, session_name, external_id, err);
}

int s3i_credprov_new_web_identity(s3i_credprov **out, const s3i_credprov_env *env,
	const char *role_arn, const char *token_file, const char *session_name, s3i_errinfo *err)
{
	if (!env || !role_arn || !*role_arn || !token_file || !*token_file)
		return s3i_err(err, S3I_EINVALID, "role_arn",
			"web identity credentials need a role ARN and a token file");
	const s3i_allocator *a = env->alloc ? env->alloc : s3i_allocator_default();
	sts_impl *s = s3i_calloc(a, 1, sizeof(*s));
	if (!s)
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating a web identity provider");
	s->web_identity = 1;
	if (!(s->token_file = s3i_expand_path(a, token_file))) {
		s3i_free(a, s);
		return s3i_err(err, S3I_ENOMEM, NULL, "out of memory creating a web identity provider");
	}
	return sts_new(out, env, s, role_arn, session_name, NULL, err);
}
